/*
 * The exporter's HTTP server (server.h).  libmicrohttpd runs a thread per
 * connection; a probe runs on a thread of its own (flights.c), and the
 * scrape's thread waits for it until the scrape's deadline at most, then
 * answers with what is known.  The probes are bounded by the flights'
 * slots, those that overran included.  How late an answer is handed over
 * after its wait ended is a sample of the exporter's lag (flights.c).
 */
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>

#include "exporter/server.h"
#include "probe/jobs.h"
#include "util/util.h"

/* Answers counted on /metrics, by page (sd_xq_page's order, then the
 * rest) and status. */
static const char *const pages[] = { "index", "probe", "metrics", "other" };
static const int codes[] = { 200, 400, 404, 405, 413, 414, 500, 503 };
#define N_PAGES (sizeof pages / sizeof pages[0])
#define N_CODES (sizeof codes / sizeof codes[0])
/* The text format's type */
#define PROM_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct server {
	const sd_exporter_server *p;
	sd_flights *flights;
	time_t started;
	atomic_ulong answers[N_PAGES][N_CODES];
} server;

/* One request: its target as sent, taken before the library parses it,
 * and when its request line came (the scrape's deadline counts from
 * there, not from the end of its headers); for a probe's, when its wait
 * ended (0: not a probe's answer). */
typedef struct request {
	char *uri;
	size_t len;
	int64_t t0;
	int64_t ended_ms;
} request;

/* The request target as the client sent it (query string included). */
static void *take_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)c;
	request *rq = calloc(1, sizeof *rq);
	if (!rq)
		return NULL;
	rq->t0 = sd_now_ms();
	size_t n = strlen(uri);
	/* one byte past the limit is enough to say "too long" */
	rq->len = n > SD_XQ_URI_MAX ? SD_XQ_URI_MAX + 1 : n;
	rq->uri = malloc(rq->len + 1);
	if (!rq->uri) {
		free(rq);
		return NULL;
	}
	memcpy(rq->uri, uri, rq->len);
	rq->uri[rq->len] = '\0';
	return rq;
}

static void request_done(void *cls, struct MHD_Connection *c, void **req_cls,
    enum MHD_RequestTerminationCode why)
{
	server *sv = cls;
	(void)c;
	request *rq = *req_cls;
	/* the answer is with the kernel now: how long after its wait ended */
	if (rq && rq->ended_ms && why == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		sd_flights_lag(sv->flights, sd_now_ms() - rq->ended_ms);
	if (rq) {
		free(rq->uri);
		free(rq);
	}
	*req_cls = NULL;
}

/* The library's own complaints, escaped, on stderr. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	/* a request line it quotes may hold a query, and a query may hold
	 * what someone wrongly put in a URL: never the query */
	char *query = strchr(msg, '?');
	if (query)
		snprintf(query, sizeof msg - (size_t)(query - msg),
		    "?<query not shown>");
	char *shown = sd_sanitize(msg, strlen(msg), 400);
	fprintf(stderr, "smtpdoctor exporter: http: %s\n", shown ? shown : "?");
	free(shown);
}

static void count(server *sv, int page, int status)
{
	for (size_t i = 0; i < N_CODES; i++)
		if (codes[i] == status)
			atomic_fetch_add(&sv->answers[page][i], 1);
}

/* Queues body (malloc'd; taken) with status; MHD_NO when it could not. */
static enum MHD_Result answer(server *sv, struct MHD_Connection *c, int page,
    int status, char *body, size_t len)
{
	count(sv, page, status);
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body,
	    MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", status == 200 && page != 0 ?
	    PROM_TYPE : "text/plain; charset=utf-8");
	if (status == 405)
		MHD_add_response_header(r, "Allow", "GET, HEAD");
	enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result answer_text(server *sv, struct MHD_Connection *c,
    int page, int status, const char *text)
{
	char *body = malloc(strlen(text) + 2);
	if (!body)
		return MHD_NO;
	size_t n = (size_t)sprintf(body, "%s\n", text);
	if (sv->p->verbose && status != 200)
		fprintf(stderr, "smtpdoctor exporter: %d: %s\n", status, text);
	return answer(sv, c, page, status, body, n);
}

static const char index_page[] =
    "smtpdoctor exporter: why can't this account or domain send mail?\n\n"
    "/probe?command=domain&target=DOMAIN   audit a sending domain "
    "(&ip=ADDR, &selector=NAME: repeatable)\n"
    "/probe?command=check&target=ACCOUNT   diagnose an account of the "
    "--config file\n"
    "/metrics                               the exporter's own metrics\n\n"
    "man smtpdoctor; docs/exporter.md names every metric.";

/* ---- the exporter's own metrics -------------------------------------- */

static void process_metrics(sd_prom *p, time_t started)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	long pages_total = 0, pages_rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages_total, &pages_rss) != 2)
			pages_total = pages_rss = 0;
		fclose(f);
	}
	double page = (double)sysconf(_SC_PAGESIZE);
	unsigned fds = 0;
	DIR *d = opendir("/proc/self/fd");
	for (struct dirent *e; d && (e = readdir(d));)
		fds += e->d_name[0] != '.';
	if (d) {
		closedir(d);
		fds--;   /* the directory's own descriptor */
	}
	sd_prom_family(p, "process_cpu_seconds_total", "counter",
	    "CPU time the exporter used, user and system");
	sd_prom_sample(p, "process_cpu_seconds_total", NULL,
	    (double)(int64_t)(cpu * 1000) / 1000);
	sd_prom_family(p, "process_resident_memory_bytes", "gauge",
	    "Resident memory of the exporter");
	sd_prom_sample(p, "process_resident_memory_bytes", NULL,
	    pages_rss * page);
	sd_prom_family(p, "process_virtual_memory_bytes", "gauge",
	    "Virtual memory of the exporter");
	sd_prom_sample(p, "process_virtual_memory_bytes", NULL,
	    pages_total * page);
	sd_prom_family(p, "process_open_fds", "gauge",
	    "Open file descriptors");
	sd_prom_sample(p, "process_open_fds", NULL, fds);
	sd_prom_family(p, "process_start_time_seconds", "gauge",
	    "When the exporter started (Unix time)");
	sd_prom_sample(p, "process_start_time_seconds", NULL, (double)started);
}

/* A family of one sample without labels. */
static void one(sd_prom *p, const char *name, const char *type,
    const char *help, double value)
{
	sd_prom_family(p, name, type, help);
	sd_prom_sample(p, name, NULL, value);
}

static void flight_metrics(sd_prom *p, sd_flights *fl)
{
	sd_flight_stats st;
	sd_flights_stats(fl, &st);
	one(p, "smtpdoctor_exporter_probes_total", "counter", "Probes run",
	    (double)st.probes);
	one(p, "smtpdoctor_exporter_probes_shared_total", "counter",
	    "Scrapes that took the answer of a probe of the same target "
	    "another scrape had started", (double)st.shared);
	one(p, "smtpdoctor_exporter_probes_late_total", "counter",
	    "Scrapes answered 503: no probe slot came free, or the shared "
	    "probe did not end, by their deadline", (double)st.late);
	one(p, "smtpdoctor_exporter_probes_timed_out_total", "counter",
	    "Scrapes answered before their probe ended "
	    "(smtpdoctor_probe_timed_out 1)", (double)st.timed_out);
	one(p, "smtpdoctor_exporter_probes_cancelled_total", "counter",
	    "Probes cancelled: every scrape waiting for them had "
	    "been answered", (double)st.cancelled);
	one(p, "smtpdoctor_exporter_probes_running", "gauge",
	    "Probes running now, those past their deadline included",
	    st.running);
	one(p, "smtpdoctor_exporter_probes_overrunning", "gauge",
	    "Probes running now whose scrape was answered timed out (each "
	    "holds its slot until it ends)", st.overrunning);
	one(p, "smtpdoctor_exporter_orphan_jobs", "gauge",
	    "Jobs of probes (lookups, connections) still running after the "
	    "part of the probe that started them gave up at its deadline",
	    (double)sd_jobs_orphans());
	one(p, "smtpdoctor_exporter_probes_waiting", "gauge",
	    "Probes waiting for a slot now", st.waiting);
	one(p, "smtpdoctor_exporter_probe_slots", "gauge",
	    "Probes that may run at once (--concurrency)", st.slots);
	one(p, "smtpdoctor_exporter_lag_seconds", "gauge",
	    "The exporter's own lag: the largest of the last 30 to 60 s, "
	    "how late its timed waits woke and its answers were handed over "
	    "past the times it had set (the machine or its CPU quota short)",
	    (double)st.lag_ms / 1000);
	one(p, "smtpdoctor_exporter_lag_reserve_seconds", "gauge",
	    "How much earlier than their deadline scrapes are answered now "
	    "for that lag: three times it, less half of --timeout-offset "
	    "(at most half of a scrape's time)", (double)st.reserve_ms / 1000);
}

static char *own_metrics(server *sv, size_t *len)
{
	sd_prom p;
	sd_prom_init(&p);
	sd_prom_family(&p, "smtpdoctor_exporter_build_info", "gauge",
	    "The exporter's version");
	sd_prom_sample(&p, "smtpdoctor_exporter_build_info", (const char *[]){
	    "version", sd_version(), NULL }, 1);
	sd_prom_family(&p, "smtpdoctor_exporter_requests_total", "counter",
	    "HTTP answers by page and status");
	for (size_t i = 0; i < N_PAGES; i++)
		for (size_t j = 0; j < N_CODES; j++) {
			char code[8];
			snprintf(code, sizeof code, "%d", codes[j]);
			sd_prom_sample(&p, "smtpdoctor_exporter_requests_total",
			    (const char *[]){ "page", pages[i], "code", code,
			    NULL }, (double)atomic_load(&sv->answers[i][j]));
		}
	flight_metrics(&p, sv->flights);
	sd_prom_family(&p, "smtpdoctor_exporter_auth_withheld_accounts",
	    "gauge", "Accounts whose credentials are withheld after a "
	    "rejection");
	sd_prom_sample(&p, "smtpdoctor_exporter_auth_withheld_accounts", NULL,
	    sv->p->guard ? (double)sd_guard_count(sv->p->guard, sd_now_ms()) :
	    0);
	sd_prom_family(&p, "smtpdoctor_exporter_auth_guard_full", "gauge",
	    "1 while the lockout guard, its table full, withholds the "
	    "credentials of every account it does not hold already");
	sd_prom_sample(&p, "smtpdoctor_exporter_auth_guard_full", NULL,
	    sv->p->guard ? sd_guard_full(sv->p->guard, sd_now_ms()) : 0);
	process_metrics(&p, sv->started);
	return sd_prom_finish(&p, len);
}

/* ---- /probe ---------------------------------------------------------- */

/* A probe's own copy of what it needs: it may outlive its scrape. */
typedef struct flight_arg {
	server *sv;
	sd_exporter_query q;
	double deadline_s;
} flight_arg;

static void run_probe(void *arg, int64_t deadline_ms, sd_flight_answer *out)
{
	flight_arg *fa = arg;
	fa->sv->p->probe(fa->sv->p->probe_arg, &fa->q, deadline_ms,
	    fa->deadline_s, out);
}

/* The time a probe keeps for its answer, out of the scrape's seconds: a
 * tenth, at most SD_EXPORTER_ANSWER_RESERVE_MS. */
static int64_t reserve_ms(double secs)
{
	int64_t r = (int64_t)(secs * 100);
	return r < SD_EXPORTER_ANSWER_RESERVE_MS ? r :
	    SD_EXPORTER_ANSWER_RESERVE_MS;
}

/* A probe's answer made ready before its wait: the response (a reader of
 * `body`, its type set) and room for the timed-out page.  Once the wait
 * has ended nothing is allocated or freed until the answer is sent: the
 * allocator's locks are shared with the probes' threads, and one of those
 * (nice 10) held up while holding one held the answer up, 70 to 600 ms
 * past its deadline when the exporter was short of CPU. */
typedef struct kit {
	server *sv;
	struct MHD_Response *r;
	const char *body;       /* the flight's answer, or the page's */
	size_t len;
	sd_prom page;           /* the timed-out page */
	sd_flight_wait w;       /* holds the flight's answer until sent */
	int status;
	int64_t t0;
	char *key;              /* -v: the probe's, for its line */
} kit;

static ssize_t kit_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	kit *k = cls;
	if (pos >= k->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t n = k->len - (size_t)pos;
	n = n < max ? n : max;
	memcpy(buf, k->body + pos, n);
	return (ssize_t)n;
}

/* The response is done with (sent, or not used): -v's line, then the
 * flight's answer given back. */
static void kit_free(void *cls)
{
	kit *k = cls;
	/* the probe's own line says its verdict; this one what it shared */
	if (k->key && (k->w.shared || k->w.timed_out || k->status != 200)) {
		char *key = sd_sanitize(k->key, strlen(k->key), 300);
		fprintf(stderr, "smtpdoctor exporter: %s: %d in %.2f s%s%s\n",
		    key ? key : "?", k->status,
		    (double)(sd_now_ms() - k->t0) / 1000,
		    k->w.shared ? " (shared)" : "", k->w.timed_out ?
		    " (timed out: the probe goes on, holding its slot)" : "");
		free(key);
	}
	free(k->key);
	sd_flights_release(k->sv->flights, &k->w);
	sd_prom_free(&k->page);
	free(k);
}

static kit *kit_new(server *sv, const sd_exporter_query *q, int64_t t0)
{
	kit *k = calloc(1, sizeof *k);
	if (!k)
		return NULL;
	k->sv = sv;
	k->t0 = t0;
	sd_prom_init(&k->page);
	sd_prom_reserve(&k->page);
	k->key = sv->p->verbose ? strdup(q->key) : NULL;
	/* its length is not known yet: sent chunked */
	k->r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
	    kit_read, k, kit_free);
	if (!k->r) {
		kit_free(k);
		return NULL;
	}
	if (k->page.failed || (sv->p->verbose && !k->key) ||
	    MHD_add_response_header(k->r, "Content-Type", PROM_TYPE) !=
	    MHD_YES) {
		MHD_destroy_response(k->r);
		return NULL;
	}
	return k;
}

/* The page of a scrape whose deadline came first: what is known. */
static void timed_out_page(const sd_exporter_query *q, kit *k)
{
	sd_probe_info pi = { .deadline_s = k->w.deadline_s,
	    .started_unix = k->w.started_unix,
	    .is_check = q->command == SD_XQ_CHECK };
	if (k->w.started_unix > 0)
		pi.duration_s = sd_wall_now() - k->w.started_unix;
	sd_exporter_timeout_page_to(&k->page, &pi);
	k->body = k->page.buf;
	k->len = k->page.len;
}

/* The scrape's seconds: --timeout, lowered to the scrape's timeout header
 * minus --timeout-offset; 0 with a sentence in err when the header is
 * bad. */
static double probe_seconds(server *sv, struct MHD_Connection *c, char *err,
    size_t errlen)
{
	double s = sv->p->timeout_s, scrape;
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-Prometheus-Scrape-Timeout-Seconds");
	if (!h)
		return s;
	if (!sd_exporter_scrape_timeout(h, &scrape)) {
		snprintf(err, errlen, "X-Prometheus-Scrape-Timeout-Seconds: "
		    "expected a number of seconds");
		return 0;
	}
	double off = sv->p->offset_s;
	if (scrape - off <= 0) {
		snprintf(err, errlen, "X-Prometheus-Scrape-Timeout-Seconds: "
		    "%.3g s leaves no time for a probe (it is lowered by %.3g s, "
		    "--timeout-offset)", scrape, off);
		return 0;
	}
	return scrape - off < s ? scrape - off : s;
}

/* A sentence (400 for a target refused, 500, 503) instead of the kit's
 * page: made now, with its own type. */
static enum MHD_Result probe_text(server *sv, struct MHD_Connection *c,
    kit *k)
{
	int status = k->body ? k->status : 500;
	char *text = k->body ? strndup(k->body, k->len) : NULL;
	size_t len = k->len;
	k->status = status;
	MHD_destroy_response(k->r);   /* the kit too */
	if (!text)
		return answer_text(sv, c, 1, 500, "out of memory");
	return answer(sv, c, 1, status, text, len);
}

static enum MHD_Result probe(server *sv, struct MHD_Connection *c,
    const sd_exporter_query *q, int64_t t0, int64_t *ended_ms)
{
	char err[200];
	double secs = probe_seconds(sv, c, err, sizeof err);
	if (secs <= 0)
		return answer_text(sv, c, 1, 400, err);
	int64_t deadline_ms = t0 + (int64_t)(secs * 1000);
	/* the scrape is answered earlier by the lag reserve, and its probe
	 * ends a tenth of that before */
	int64_t until_ms = deadline_ms - sd_flights_reserve_ms(sv->flights,
	    deadline_ms - t0);
	double run_s = (double)(until_ms - t0) / 1000;
	flight_arg *fa = malloc(sizeof *fa);
	kit *k = fa ? kit_new(sv, q, t0) : NULL;
	if (!k) {
		free(fa);
		return answer_text(sv, c, 1, 500, "out of memory");
	}
	*fa = (flight_arg){ sv, *q, run_s - (double)reserve_ms(run_s) / 1000 };
	sd_flight_probe p = { run_probe, fa, free,
	    until_ms - reserve_ms(run_s), fa->deadline_s };
	sd_flight_answer a;
	sd_flights_run(sv->flights, q->key, deadline_ms, &p, &a, &k->w);
	/* from here until it is sent, nothing is allocated (the kit) */
	*ended_ms = k->w.ended_ms;
	k->status = k->w.timed_out ? 200 : a.status;
	if (k->w.timed_out) {
		timed_out_page(q, k);
	} else {
		k->body = a.body;
		k->len = a.len;
	}
	if (k->status != 200 || !k->body || k->page.failed)
		return probe_text(sv, c, k);
	count(sv, 1, 200);
	enum MHD_Result rc = MHD_queue_response(c, 200, k->r);
	MHD_destroy_response(k->r);   /* the kit goes once it is sent */
	return rc;
}

/* ---- routing --------------------------------------------------------- */

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	server *sv = cls;
	request *rq = *req_cls;
	(void)url;
	(void)version;
	(void)upload_data;
	if (*upload_data_size) {
		/* a body after the 413 below was queued: not read */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!rq)
		return answer_text(sv, c, 3, 500, "out of memory");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return answer_text(sv, c, 3, 405, "only GET (and HEAD) are "
		    "served here");
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "Content-Length");
	if ((cl && strcmp(cl, "0") != 0) || MHD_lookup_connection_value(c,
	    MHD_HEADER_KIND, "Transfer-Encoding"))
		return answer_text(sv, c, 3, 413, "a request here has no body");
	sd_exporter_query q;
	char err[300];
	int status = sd_exporter_query_parse(rq->uri, rq->len, &q, err,
	    sizeof err);
	/* pages[] follows sd_xq_page; a refused request counts as /probe's
	 * when it asked for /probe */
	int page = status == 200 ? (int)q.page :
	    strncmp(rq->uri, "/probe", 6) == 0 ? SD_XQ_PROBE : 3;
	if (status != 200)
		return answer_text(sv, c, page, status, err);
	if (q.page == SD_XQ_INDEX)
		return answer_text(sv, c, 0, 200, index_page);
	if (q.page == SD_XQ_METRICS) {
		size_t len;
		char *body = own_metrics(sv, &len);
		return body ? answer(sv, c, 2, 200, body, len) :
		    answer_text(sv, c, 2, 500, "out of memory");
	}
	return probe(sv, c, &q, rq->t0, &rq->ended_ms);
}

int sd_exporter_serve(const sd_exporter_server *s, const sigset_t *stop,
    char *err, size_t errlen)
{
	static server sv;   /* lives as long as the process serves */
	sv.p = s;
	sv.started = time(NULL);
	sv.flights = sd_flights_new(s->slots);
	if (!sv.flights) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	sd_flights_set_offset(sv.flights, (int64_t)(s->offset_s * 1000));
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, handle, &sv,
	    /* first, or the library's earlier messages go elsewhere */
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)SD_EXPORTER_CONNECTIONS,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)SD_EXPORTER_REQUEST_MEMORY,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SD_EXPORTER_IDLE_S,
	    MHD_OPTION_URI_LOG_CALLBACK, take_uri, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, request_done, &sv,
	    MHD_OPTION_END);
	if (!d) {
		snprintf(err, errlen, "the HTTP server did not start");
		sd_flights_free(sv.flights, sd_now_ms());
		return -1;
	}
	int sig = 0;
	while (sigwait(stop, &sig) != 0)
		;
	if (s->verbose)
		fprintf(stderr, "smtpdoctor exporter: signal %d: stopping\n",
		    sig);
	/* waits for the connections' threads: each ends by its scrape's
	 * deadline; then the probes still running are cancelled */
	MHD_stop_daemon(d);
	int left = sd_flights_free(sv.flights, sd_now_ms() +
	    SD_EXPORTER_STOP_MS);
	if (left && s->verbose)
		fprintf(stderr, "smtpdoctor exporter: %d probes still running "
		    "at the stop: left to the process's end\n", left);
	return left;
}
