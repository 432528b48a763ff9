/*
 * Public Suffix List through libpsl: where the list is loaded from, and the
 * organizational domain lookups DMARC needs.
 */
#include <libpsl.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mailauth/psl.h"
#include "sd_config.h"

/* Bytes of a list file searched for the ICANN section marker; it sits in
 * the first few kilobytes of every published list. */
#define SD_PSL_MARKER_WINDOW 65536
#define SD_PSL_FILE "public_suffix_list.dat"

struct sd_psl {
	psl_ctx_t *ctx;          /* owned, NULL when builtin is used */
	const psl_ctx_t *use;    /* ctx or libpsl's built-in one */
	sd_psl_origin origin;
	char source[1024];
	char note[1200];
};

static void set_note(sd_psl *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_note(sd_psl *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->note, sizeof p->note, fmt, ap);
	va_end(ap);
}

static void say(char *why, size_t size, const char *fmt, const char *arg)
{
	if (why && size)
		snprintf(why, size, fmt, arg);
}

/* Is `path` a Public Suffix List?  libpsl loads any text as rules, so a
 * wrong file would otherwise give nonsense answers without complaint. */
static int looks_like_psl(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	char *buf = malloc(SD_PSL_MARKER_WINDOW + 1);
	size_t n = buf ? fread(buf, 1, SD_PSL_MARKER_WINDOW, f) : 0;
	fclose(f);
	if (!buf)
		return 0;
	buf[n] = '\0';
	int ok = strstr(buf, "===BEGIN ICANN DOMAINS===") != NULL;
	free(buf);
	return ok;
}

static sd_psl *load_file(const char *path, sd_psl_origin origin, char *why,
    size_t why_size)
{
	if (!looks_like_psl(path)) {
		say(why, why_size, "%s is not a Public Suffix List (no ICANN "
		    "section): run tools/refresh-psl to fetch one", path);
		return NULL;
	}
	sd_psl *p = calloc(1, sizeof *p);
	if (!p) {
		say(why, why_size, "out of memory loading %s", path);
		return NULL;
	}
	p->ctx = psl_load_file(path);
	if (!p->ctx || psl_suffix_count(p->ctx) <= 0) {
		say(why, why_size, "libpsl could not load %s", path);
		psl_free(p->ctx);
		free(p);
		return NULL;
	}
	p->use = p->ctx;
	p->origin = origin;
	snprintf(p->source, sizeof p->source, "%s", path);
	return p;
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

sd_psl *sd_psl_load(const char *path, char *why, size_t why_size)
{
	say(why, why_size, "%s", "");
	if (!path)
		return sd_psl_load_dirs(SD_SRCDATADIR, SD_DATADIR, why, why_size);
	if (!exists(path)) {
		say(why, why_size, "cannot read the Public Suffix List %s", path);
		return NULL;
	}
	return load_file(path, SD_PSL_FROM_FILE, why, why_size);
}

sd_psl *sd_psl_load_dirs(const char *srcdir, const char *datadir, char *why,
    size_t why_size)
{
	say(why, why_size, "%s", "");
	char note[1200] = "";
	const char *env = getenv("SMTPDOCTOR_PSL");
	if (env && *env) {
		if (exists(env))
			return load_file(env, SD_PSL_FROM_ENV, why, why_size);
		snprintf(note, sizeof note, "SMTPDOCTOR_PSL names %.1000s, which "
		    "does not exist; ", env);
	}
	struct { const char *dir; sd_psl_origin origin; } dirs[] = {
		{ srcdir, SD_PSL_FROM_SRCDIR },
		{ datadir, SD_PSL_FROM_DATADIR },
	};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char file[1024];
		if (!dirs[i].dir)
			continue;
		snprintf(file, sizeof file, "%.990s/%s", dirs[i].dir, SD_PSL_FILE);
		if (!exists(file))
			continue;
		sd_psl *p = load_file(file, dirs[i].origin, why, why_size);
		if (p && note[0])
			set_note(p, "%susing %s", note, file);
		return p;
	}
	const psl_ctx_t *b = psl_builtin();
	if (!b || psl_suffix_count(b) <= 0) {
		say(why, why_size, "no Public Suffix List found (%s/"
		    SD_PSL_FILE ", or set SMTPDOCTOR_PSL) and libpsl has no "
		    "built-in list", datadir);
		return NULL;
	}
	sd_psl *p = calloc(1, sizeof *p);
	if (!p) {
		say(why, why_size, "%s", "out of memory");
		return NULL;
	}
	p->use = b;
	p->origin = SD_PSL_FROM_BUILTIN;
	snprintf(p->source, sizeof p->source, "libpsl built-in list");
	set_note(p, "%sno " SD_PSL_FILE " in %.400s or "
	    "%.400s: using libpsl's built-in list, which may be out of date "
	    "(tools/refresh-psl fetches a current one)", note, srcdir, datadir);
	return p;
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static sd_psl *default_psl;

static void load_default(void)
{
	default_psl = sd_psl_load(NULL, NULL, 0);
}

const sd_psl *sd_psl_default(void)
{
	pthread_once(&default_once, load_default);
	return default_psl;
}

void sd_psl_free(sd_psl *psl)
{
	if (!psl)
		return;
	psl_free(psl->ctx);
	free(psl);
}

sd_psl_origin sd_psl_get_origin(const sd_psl *psl)
{
	return psl->origin;
}

const char *sd_psl_source(const sd_psl *psl)
{
	return psl->source;
}

const char *sd_psl_note(const sd_psl *psl)
{
	return psl->note;
}

size_t sd_psl_rule_count(const sd_psl *psl)
{
	int n = psl_suffix_count(psl->use);
	return n > 0 ? (size_t)n : 0;
}

/* Strict UTF-8 with no control bytes or spaces: what a name may hold. */
static int valid_name_bytes(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c <= 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
		if (!len || c > 0xf4 || i + len > n)
			return 0;
		unsigned cp = c & (0x7f >> len);
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += len;
	}
	return 1;
}

/* Lowercased copy of a domain with one trailing dot dropped; NULL when it
 * is no domain name (empty, leading dot, empty label, bad UTF-8). */
static char *normalise(const char *domain)
{
	if (!domain)
		return NULL;
	size_t len = strlen(domain);
	if (len && domain[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || domain[0] == '.' ||
	    !valid_name_bytes((const unsigned char *)domain, len))
		return NULL;
	char *copy = strndup(domain, len);
	if (!copy)
		return NULL;
	if (strstr(copy, "..") || copy[len - 1] == '.') {
		free(copy);
		return NULL;
	}
	/* ASCII by hand, the rest by libpsl with the language pinned: with
	 * NULL it follows the locale, and tr_TR leaves "I" uppercase. */
	for (char *c = copy; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	char *lower = NULL;
	int rc = psl_str_to_utf8lower(copy, "utf-8", "en", &lower);
	free(copy);
	if (rc != PSL_SUCCESS || !lower)
		return NULL;
	char *out = strdup(lower);
	psl_free_string(lower);
	return out;
}

char *sd_psl_org_domain(const sd_psl *psl, const char *domain)
{
	if (!psl)
		return NULL;
	char *d = normalise(domain);
	if (!d)
		return NULL;
	const char *reg = psl_registrable_domain(psl->use, d);
	char *out = reg ? strdup(reg) : NULL;
	free(d);
	return out;
}

int sd_psl_is_public_suffix(const sd_psl *psl, const char *domain)
{
	if (!psl)
		return 0;
	char *d = normalise(domain);
	if (!d)
		return 0;
	int r = psl_is_public_suffix(psl->use, d);
	free(d);
	return r;
}
