/* libcurl, loaded on first use.
 *
 * Only an MTA-STS policy, an autoconfig document or an rspamd score is
 * fetched over HTTP(S), yet linking libcurl makes every process load it and
 * the thirty libraries it pulls in (GnuTLS, Kerberos, LDAP, SASL, RTMP, SSH)
 * and run its global initialisation: most of the start-up time of a
 * `--version` or an `spf` run.  So the binary does not link it: this file
 * defines the few libcurl entry points the code calls and forwards them to
 * the real ones, opened with dlopen() the first time a transfer starts.
 * The code that fetches keeps calling the ordinary libcurl API.
 *
 * When the library cannot be loaded, curl_easy_init() returns NULL (every
 * caller already treats that as "could not start an HTTPS client") and
 * curl_easy_strerror() says why. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

/* The soname of libcurl's ABI 4, the one the headers describe. */
#define SD_LIBCURL_SONAME "libcurl.so.4"

static struct {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	int ready;           /* every symbol found and global init done */
	char why[160];       /* otherwise, why not */
} lc;

static pthread_once_t lc_once = PTHREAD_ONCE_INIT;

/*
 * Debian's libcurl brings GnuTLS in (through librtmp and libldap, for
 * protocols we never enable), and GnuTLS initialises itself as it loads:
 * its algorithms, its configuration, the PKCS#11 modules of p11-kit.  Some
 * 0.8 MiB of memory that nothing here uses (the HTTPS of libcurl is
 * OpenSSL's).  This is GnuTLS's documented way out for a program
 * (GNUTLS_SKIP_GLOBAL_INIT in gnutls.h): a library that does use GnuTLS
 * calls gnutls_global_init() itself, as it must.  The program exports it
 * (meson.build) so that the library, opened later, finds it.
 */
int _gnutls_global_init_skip(void);
int _gnutls_global_init_skip(void)
{
	return 1;
}

static void *sym(void *h, const char *name, int *missing)
{
	void *p = dlsym(h, name);
	if (!p)
		*missing = 1;
	return p;
}

/* Runs once per process (pthread_once): libcurl's global initialisation is
 * not safe to run twice at the same time, and every thread may ask first. */
static void load(void)
{
	void *h = dlopen(SD_LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(lc.why, sizeof lc.why, "libcurl could not be loaded "
		    "(%s)", e ? e : SD_LIBCURL_SONAME);
		return;
	}
	int missing = 0;
	/* object pointers to function pointers: what POSIX dlsym() implies */
	*(void **)&lc.global_init = sym(h, "curl_global_init", &missing);
	*(void **)&lc.easy_init = sym(h, "curl_easy_init", &missing);
	*(void **)&lc.easy_setopt = sym(h, "curl_easy_setopt", &missing);
	*(void **)&lc.easy_perform = sym(h, "curl_easy_perform", &missing);
	*(void **)&lc.easy_getinfo = sym(h, "curl_easy_getinfo", &missing);
	*(void **)&lc.easy_cleanup = sym(h, "curl_easy_cleanup", &missing);
	*(void **)&lc.easy_strerror = sym(h, "curl_easy_strerror", &missing);
	*(void **)&lc.slist_append = sym(h, "curl_slist_append", &missing);
	*(void **)&lc.slist_free_all = sym(h, "curl_slist_free_all", &missing);
	if (missing) {
		snprintf(lc.why, sizeof lc.why, "%s lacks a function this "
		    "program needs", SD_LIBCURL_SONAME);
		return;
	}
	if (lc.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(lc.why, sizeof lc.why, "libcurl did not initialise");
		return;
	}
	lc.ready = 1;
}

static int loaded(void)
{
	pthread_once(&lc_once, load);
	return lc.ready;
}

CURL *curl_easy_init(void)
{
	return loaded() ? lc.easy_init() : NULL;
}

/* The value's type follows from the option's number, as libcurl itself
 * reads it: longs below 10000, then object pointers, function pointers,
 * curl_off_t and blobs, each in a band of 10000. */
CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	if (!h || !loaded())
		return CURLE_BAD_FUNCTION_ARGUMENT;
	va_list ap;
	va_start(ap, opt);
	CURLcode rc;
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = lc.easy_setopt(h, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = lc.easy_setopt(h, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_BLOB)
		rc = lc.easy_setopt(h, opt, va_arg(ap, curl_off_t));
	else
		rc = lc.easy_setopt(h, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLcode curl_easy_perform(CURL *h)
{
	return h && loaded() ? lc.easy_perform(h) : CURLE_FAILED_INIT;
}

/* Every CURLINFO_* value is returned through a pointer. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	if (!h || !loaded())
		return CURLE_BAD_FUNCTION_ARGUMENT;
	va_list ap;
	va_start(ap, info);
	CURLcode rc = lc.easy_getinfo(h, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

void curl_easy_cleanup(CURL *h)
{
	if (h && loaded())
		lc.easy_cleanup(h);
}

const char *curl_easy_strerror(CURLcode rc)
{
	if (!loaded())
		return lc.why;
	return lc.easy_strerror(rc);
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
	return loaded() ? lc.slist_append(l, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *l)
{
	if (l && loaded())
		lc.slist_free_all(l);
}
