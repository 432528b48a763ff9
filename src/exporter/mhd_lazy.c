/*
 * libmicrohttpd, loaded when the exporter starts.
 *
 * Only `smtpdoctor exporter` serves HTTP; every other command must not pay
 * for loading an HTTP server at start-up (as with libcurl, see
 * src/net/curl_lazy.c).  So the binary does not link libmicrohttpd: this
 * file defines the few entry points the exporter calls and forwards them
 * to the real ones, opened with dlopen() the first time.  The exporter
 * keeps calling the ordinary libmicrohttpd API.
 *
 * When the library cannot be loaded, MHD_start_daemon() returns NULL and
 * sd_mhd_error() says why.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "exporter/server.h"

/* The soname of the ABI the headers describe (Debian's libmicrohttpd12). */
#define SD_LIBMHD_SONAME "libmicrohttpd.so.12"

static struct {
	struct MHD_Daemon *(*start_va)(unsigned int, uint16_t,
	    MHD_AcceptPolicyCallback, void *, MHD_AccessHandlerCallback,
	    void *, va_list);
	void (*stop)(struct MHD_Daemon *);
	const char *(*lookup)(struct MHD_Connection *, enum MHD_ValueKind,
	    const char *);
	struct MHD_Response *(*from_buffer)(size_t, void *,
	    enum MHD_ResponseMemoryMode);
	enum MHD_Result (*add_header)(struct MHD_Response *, const char *,
	    const char *);
	enum MHD_Result (*queue)(struct MHD_Connection *, unsigned int,
	    struct MHD_Response *);
	void (*destroy)(struct MHD_Response *);
	int ready;
	char why[200];
} lm;

static pthread_once_t lm_once = PTHREAD_ONCE_INIT;

static void *sym(void *h, const char *name, int *missing)
{
	void *p = dlsym(h, name);
	if (!p)
		*missing = 1;
	return p;
}

static void load(void)
{
	void *h = dlopen(SD_LIBMHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(lm.why, sizeof lm.why, "libmicrohttpd could not be "
		    "loaded (%s): install Debian's libmicrohttpd12",
		    e ? e : SD_LIBMHD_SONAME);
		return;
	}
	int missing = 0;
	/* object pointers to function pointers: what POSIX dlsym() implies */
	*(void **)&lm.start_va = sym(h, "MHD_start_daemon_va", &missing);
	*(void **)&lm.stop = sym(h, "MHD_stop_daemon", &missing);
	*(void **)&lm.lookup = sym(h, "MHD_lookup_connection_value", &missing);
	*(void **)&lm.from_buffer = sym(h, "MHD_create_response_from_buffer",
	    &missing);
	*(void **)&lm.add_header = sym(h, "MHD_add_response_header", &missing);
	*(void **)&lm.queue = sym(h, "MHD_queue_response", &missing);
	*(void **)&lm.destroy = sym(h, "MHD_destroy_response", &missing);
	if (missing) {
		snprintf(lm.why, sizeof lm.why, "%s lacks a function this "
		    "program needs", SD_LIBMHD_SONAME);
		return;
	}
	lm.ready = 1;
}

static int loaded(void)
{
	pthread_once(&lm_once, load);
	return lm.ready;
}

const char *sd_mhd_error(void)
{
	return loaded() ? "" : lm.why;
}

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port,
    MHD_AcceptPolicyCallback apc, void *apc_cls,
    MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
	if (!loaded())
		return NULL;
	va_list ap;
	va_start(ap, dh_cls);
	struct MHD_Daemon *d = lm.start_va(flags, port, apc, apc_cls, dh,
	    dh_cls, ap);
	va_end(ap);
	return d;
}

void MHD_stop_daemon(struct MHD_Daemon *d)
{
	if (d && loaded())
		lm.stop(d);
}

const char *MHD_lookup_connection_value(struct MHD_Connection *c,
    enum MHD_ValueKind kind, const char *key)
{
	return loaded() ? lm.lookup(c, kind, key) : NULL;
}

struct MHD_Response *MHD_create_response_from_buffer(size_t size,
    void *buffer, enum MHD_ResponseMemoryMode mode)
{
	return loaded() ? lm.from_buffer(size, buffer, mode) : NULL;
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *r,
    const char *header, const char *content)
{
	return loaded() ? lm.add_header(r, header, content) : MHD_NO;
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *c,
    unsigned int status, struct MHD_Response *r)
{
	return loaded() ? lm.queue(c, status, r) : MHD_NO;
}

void MHD_destroy_response(struct MHD_Response *r)
{
	if (r && loaded())
		lm.destroy(r);
}
