/*
 * The exporter's HTTP side, on libmicrohttpd (opened at start, see
 * mhd_lazy.c): routes /, /probe and /metrics, bounds requests, turns the
 * scrape's timeout header into the probe's deadline, shares probes in
 * flight and serves the exporter's own metrics.  What a probe does is the
 * caller's (a callback), so this file knows nothing of checks or domains.
 */
#ifndef SD_EXPORTER_SERVER_H
#define SD_EXPORTER_SERVER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "exporter/exporter.h"

/* Runs one probe of q by deadline_ms (monotonic; deadline_s seconds from
 * the request) and fills *out: 200 and a metrics page, or 400 and a
 * sentence when the target is refused. */
typedef void (*sd_exporter_probe_fn)(void *arg, const sd_exporter_query *q,
    int64_t deadline_ms, double deadline_s, sd_flight_answer *out);

typedef struct sd_exporter_server {
	int listen_fd;          /* bound and listening */
	double timeout_s;       /* --timeout: each probe's deadline */
	double offset_s;        /* --timeout-offset: what the scrape's
	                           timeout header is lowered by */
	unsigned slots;         /* --concurrency */
	int verbose;            /* -v: a line per request on stderr */
	sd_exporter_probe_fn probe;
	void *probe_arg;
	sd_guard *guard;        /* for the count on /metrics */
} sd_exporter_server;

/* Concurrent connections served; more wait in the listen queue. */
#define SD_EXPORTER_CONNECTIONS 512
/* Memory one connection may use for its request (headers and URL):
 * a larger request is answered 431 or 414 by the library. */
#define SD_EXPORTER_REQUEST_MEMORY (32 * 1024)
/* Seconds an idle kept-alive connection stays open. */
#define SD_EXPORTER_IDLE_S 60
/* What the scrape's timeout header is lowered by unless --timeout-offset
 * says (docs/exporter.md). */
#define SD_EXPORTER_TIMEOUT_OFFSET_S 0.5
/* Out of the scrape's deadline, a probe keeps a tenth for its answer, at
 * most this much: the probe ends by then, and the scrape is answered by
 * its deadline whatever the probe does (docs/exporter.md). */
#define SD_EXPORTER_ANSWER_RESERVE_MS 1000
/* At the stop, how long probes still running get after their cancel. */
#define SD_EXPORTER_STOP_MS 3000

/*
 * Serves until SIGINT or SIGTERM arrives (the caller blocks them in every
 * thread first, so this thread takes them with sigwait).  Returns 0, the
 * number of probes still running after their cancel and SD_EXPORTER_STOP_MS
 * (the caller then ends the process without running the libraries'
 * destructors under them), or -1 with the reason in err when the server
 * could not start.
 */
int sd_exporter_serve(const sd_exporter_server *s, const sigset_t *stop,
    char *err, size_t errlen);

#endif
