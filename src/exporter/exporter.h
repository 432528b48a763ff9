/*
 * `smtpdoctor exporter`: Prometheus metrics for fleets (docs/exporter.md).
 *
 * The parts that need no HTTP server live here, in the library, so that
 * unit tests and the fuzzer reach them: the request line's parser, the
 * Prometheus text format, the lockout guard and the table of probes in
 * flight.  The server itself (exporter/server.c) only glues them to
 * libmicrohttpd.
 */
#ifndef SD_EXPORTER_H
#define SD_EXPORTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "smtpdoctor/smtpdoctor.h"
#include "util/util.h"

/* ---- the request ------------------------------------------------------ */

/* A request target longer than this is refused (414): a probe's query is
 * a command, a target and a few ip= and selector= values. */
#define SD_XQ_URI_MAX 2048
/* One decoded value (a domain is at most 253 characters). */
#define SD_XQ_VALUE_MAX 255
/* ip= and selector= values one probe takes (domain's own limits). */
#define SD_XQ_MAX_IPS 16
#define SD_XQ_MAX_SELECTORS 32
/* " ip=" or " selector=" and a value (an IPv6 address in its longest
 * form is 45 characters, a selector is a DNS label): room for them all */
#define SD_XQ_EXTRA_MAX ((SD_XQ_MAX_IPS + SD_XQ_MAX_SELECTORS) * 80)
/* Parameters one query may hold, repeated ones counted. */
#define SD_XQ_MAX_PARAMS 64

typedef enum sd_xq_page {
	SD_XQ_INDEX,     /* "/": a page saying what is here */
	SD_XQ_PROBE,     /* "/probe?command=...&target=..." */
	SD_XQ_METRICS,   /* "/metrics": the exporter's own */
} sd_xq_page;

typedef enum sd_xq_command {
	SD_XQ_NONE = 0,
	SD_XQ_DOMAIN,
	SD_XQ_CHECK,
} sd_xq_command;

typedef struct sd_exporter_query {
	sd_xq_page page;
	sd_xq_command command;
	char target[SD_XQ_VALUE_MAX + 1];
	/* " ip=ADDR selector=NAME ..." in query order, each value of the
	 * characters its kind allows (no space): appended to the target it
	 * makes a `domain --batch` line */
	char extra[SD_XQ_EXTRA_MAX];
	/* "domain example.com ip=..." : probes with one key share one run */
	char key[SD_XQ_VALUE_MAX + 16 + SD_XQ_EXTRA_MAX];
} sd_exporter_query;

/*
 * Parses a request target as the client sent it ("/probe?command=domain&
 * target=example.com"), percent-escapes and '+' undone.  Returns the HTTP
 * status: 200 with *q filled, else 400 (a bad query), 404 (no such page)
 * or 414 (too long) with a sentence for the client in err.  err never
 * holds the value of a parameter it does not know (a password put in a
 * URL stays out of the answer and the log).
 */
int sd_exporter_query_parse(const char *uri, size_t len,
    sd_exporter_query *q, char *err, size_t errlen);

/*
 * The value of X-Prometheus-Scrape-Timeout-Seconds ("10", "9.5"): 1 with
 * *seconds set, or 0 when it is not a plain decimal number of seconds
 * from 0 to 86400.
 */
int sd_exporter_scrape_timeout(const char *value, double *seconds);

/* ---- the Prometheus text format --------------------------------------- */

/* A metrics page under construction: a growing buffer with a sticky
 * out-of-memory flag and a cap (SD_PROM_MAX). */
#define SD_PROM_MAX (4u << 20)
typedef sd_buf sd_prom;

void sd_prom_init(sd_prom *p);
/* "# HELP name help\n# TYPE name type\n" (help escaped as the format
 * wants it). */
void sd_prom_family(sd_prom *p, const char *name, const char *type,
    const char *help);
/* One sample: labels are NULL-terminated name, value pairs (NULL: none);
 * each value is escaped as foreign text (sd_escape) and then as the
 * format's label value (\\, \", \n), capped at SD_XQ_VALUE_MAX bytes. */
void sd_prom_sample(sd_prom *p, const char *name, const char *const *labels,
    double value);
/* The page (malloc'd, NUL-terminated, *len its length), or NULL when out
 * of memory or over the cap; p is reset either way. */
char *sd_prom_finish(sd_prom *p, size_t *len);
/* Drops the page under construction. */
void sd_prom_free(sd_prom *p);
/* Room for a page of a few KiB, allocated now: appending the timed-out
 * page (below) then allocates nothing (p->failed when out of memory). */
void sd_prom_reserve(sd_prom *p);

/* The exporter's words on one probe, besides what the report holds. */
typedef struct sd_probe_info {
	double duration_s;      /* how long the probe ran */
	double deadline_s;      /* the deadline it ran under */
	double started_unix;    /* when it began (wall clock) */
	int is_check;           /* command=check: the guard's metrics apply */
	int withheld;           /* the credentials were withheld */
	double retry_unix;      /* withheld: when they will be sent again */
	const char *held_cause; /* withheld: the rejection's verdict cause */
} sd_probe_info;

/*
 * A probe's page: smtpdoctor_probe_success, smtpdoctor_verdict,
 * smtpdoctor_finding, smtpdoctor_probe_duration_seconds and the others of
 * docs/exporter.md.  Findings of one code and severity are one series
 * whose value is their number (a page may not repeat a series).  Returns
 * malloc'd text or NULL when out of memory.
 */
char *sd_exporter_probe_page(const sd_report *r, const sd_probe_info *pi,
    size_t *len);

/*
 * The page of a scrape whose deadline came before its probe's end: what
 * is known (smtpdoctor_probe_success 0, smtpdoctor_probe_timed_out 1,
 * how long the probe had run, its deadline, when it began), no verdict.
 */
char *sd_exporter_timeout_page(const sd_probe_info *pi, size_t *len);
/* The same appended to p (in the room sd_prom_reserve made). */
void sd_exporter_timeout_page_to(sd_prom *p, const sd_probe_info *pi);

/* ---- the lockout guard ------------------------------------------------ */

/* What a file was when it was read: a change of any of these is "the file
 * changed" (an editor's new inode, a write, a touch, a chmod). */
typedef struct sd_file_id {
	int exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
} sd_file_id;

/* The files an account's credentials come from (the configuration file,
 * and Postfix's sasl_passwd beside main.cf). */
#define SD_GUARD_FILES 2
typedef struct sd_file_ids {
	sd_file_id f[SD_GUARD_FILES];
	int n;
} sd_file_ids;

/* Adds path's identity to ids (a missing file counts as "absent"). */
void sd_file_ids_add(sd_file_ids *ids, const char *path);

/* What a check did with its credentials, read from its facts. */
typedef enum sd_auth_outcome {
	SD_AUTH_NOT_SENT = 0,   /* no credentials left this machine */
	SD_AUTH_ACCEPTED,       /* the server accepted them */
	SD_AUTH_REJECTED,       /* they were sent and not accepted (a 5xx or
	                           4xx answer, or the server hung up or went
	                           silent after them) */
} sd_auth_outcome;

sd_auth_outcome sd_exporter_auth_outcome(const sd_report *r);

/* Accounts held at once at most (a configuration file names a few). */
#define SD_GUARD_MAX 4096
/* The cause of a hold of an account the guard could not tell apart: a
 * rejection found the table full (sd_guard_record). */
#define SD_GUARD_FULL_CAUSE "exporter.guard_full"

typedef struct sd_guard sd_guard;

/* A guard that holds an account's credentials back for retry_after_ms
 * after a rejection, or until its files change.  NULL when out of
 * memory. */
sd_guard *sd_guard_new(int64_t retry_after_ms);
void sd_guard_free(sd_guard *g);

typedef struct sd_guard_hold {
	int64_t until_ms;       /* monotonic: when they may be sent again */
	char cause[64];         /* the rejection's verdict cause */
} sd_guard_hold;

/*
 * Before a probe of `account` whose files are now `ids`: 1 (and *hold
 * filled) while its credentials must not be sent, 0 when they may be.  A
 * hold whose time is up, or whose files changed since the rejection, is
 * forgotten here.  While the table is full (below), every account it does
 * not hold is held too, with SD_GUARD_FULL_CAUSE.
 */
int sd_guard_held(sd_guard *g, const char *account, const sd_file_ids *ids,
    int64_t now_ms, sd_guard_hold *hold);

/*
 * After a probe that read the files as `ids` (before it began: an edit
 * during the probe counts as a change): a rejection holds the account,
 * an acceptance forgets it, NOT_SENT changes nothing.  -1 when the table
 * is full (SD_GUARD_MAX accounts held at once, after dropping the holds
 * whose time is up): the guard cannot name the account, so it fails
 * closed and holds every account it does not hold already for the retry
 * time from now (the caller logs it).
 */
int sd_guard_record(sd_guard *g, const char *account, const sd_file_ids *ids,
    int64_t now_ms, sd_auth_outcome outcome, const char *cause);

/* Accounts held now. */
size_t sd_guard_count(sd_guard *g, int64_t now_ms);
/* 1 while the table-full hold of every other account lasts. */
int sd_guard_full(sd_guard *g, int64_t now_ms);

/* ---- the exporter's own lag ------------------------------------------ */

/*
 * How far behind the times it sets itself the exporter's work runs: a
 * timed wait that wakes late, an answer handed to the kernel late after
 * the time its wait ended (a machine short of CPU, the exporter's CPU
 * quota spent, its threads waiting their turn).  What counts is the
 * largest lag of the last SD_LAG_WINDOW_MS to twice that: a spike is
 * remembered for a while, and forgotten once the CPU is back.  The caller
 * locks.
 */
#define SD_LAG_WINDOW_MS 30000
typedef struct sd_lag {
	int64_t start_ms;       /* when the current window began */
	int64_t cur_ms;         /* the largest lag in it */
	int64_t prev_ms;        /* the largest in the window before */
} sd_lag;

void sd_lag_add(sd_lag *l, int64_t now_ms, int64_t lag_ms);
int64_t sd_lag_recent(sd_lag *l, int64_t now_ms);

/*
 * How much earlier than its deadline a scrape is answered for a lag of
 * lag_ms: the answer is late by the lag when it is handed over, and its
 * request was read late by about as much (twice more on a new connection:
 * the accept, then the connection's thread), so three times the lag.
 * --timeout-offset (offset_ms) keeps half of itself for the network and
 * the scraper and gives the other half to the lag: what is taken off the
 * deadline is 3 * lag_ms - offset_ms / 2 when positive, at most cap_ms.
 */
int64_t sd_lag_reserve_ms(int64_t lag_ms, int64_t offset_ms, int64_t cap_ms);

/* ---- probes in flight ------------------------------------------------- */

/* What one probe answers: an HTTP status and its body. */
typedef struct sd_flight_answer {
	int status;             /* 200, or 400 for a target the probe refused */
	char *body;             /* malloc'd */
	size_t len;
} sd_flight_answer;

/* Runs the probe by `deadline_ms` (monotonic) and fills *out.  It runs on
 * a thread of its own under a cancel scope (util.h) that is fired when no
 * scrape waits for it any more. */
typedef void (*sd_flight_fn)(void *arg, int64_t deadline_ms,
    sd_flight_answer *out);

/* A probe to run: fn(arg) by deadline_ms.  arg is the probe's own (it
 * may outlive the scrape): arg_free(arg) runs once, when the probe has
 * ended, or at once when no probe of it runs. */
typedef struct sd_flight_probe {
	sd_flight_fn fn;
	void *arg;
	void (*arg_free)(void *arg);
	int64_t deadline_ms;
	double deadline_s;      /* the same, as shown on the page */
} sd_flight_probe;

/* How a scrape's wait went, besides its answer. */
typedef struct sd_flight_wait {
	int shared;             /* the probe was another scrape's */
	int64_t ended_ms;       /* when the wait was to end: the probe's
	                           answer in, or the wait's own end (its
	                           deadline less the lag reserve) */
	int timed_out;          /* the scrape's deadline came first: no
	                           answer (the caller says it timed out) */
	double started_unix;    /* when the probe began (0: it never did) */
	double deadline_s;      /* the probe's own deadline, as shown */
	void *held;             /* the flight whose answer *out borrows */
} sd_flight_wait;

typedef struct sd_flights sd_flights;

/* The nice value a probe's thread takes (and the job workers it starts
 * with it): below the threads that answer scrapes, so that a machine short
 * of CPU delays the probes, not the answers. */
#define SD_FLIGHT_NICE 10

/* At most `slots` probes run at once.  The lag reserve counts with an
 * offset of SD_FLIGHT_OFFSET_MS until sd_flights_set_offset. */
#define SD_FLIGHT_OFFSET_MS 500
sd_flights *sd_flights_new(unsigned slots);
void sd_flights_set_offset(sd_flights *f, int64_t offset_ms);

/*
 * Cancels the probes still running and waits for them until deadline_ms;
 * frees f and returns 0 when none is left, else returns their number and
 * leaves f to them (the process is ending).
 */
int sd_flights_free(sd_flights *f, int64_t deadline_ms);

/*
 * The answer for `key`, by this scrape's deadline_ms: when a probe of
 * that key is in flight, its answer (w->shared), else that of a new probe
 * p started on a thread of its own once a slot is free.  The wait ends
 * before deadline_ms by the lag reserve (sd_flights_reserve_ms, counted
 * again at each wake, so that a scrape already waiting heeds a lag that
 * grows), waking at least every SD_LAG_STEP_MS: how late those wakes come
 * is a sample of the lag.  No slot by then: status 503 and a sentence.
 * The probe not ended by then: no answer (status 0, no body) and
 * w->timed_out; the probe goes on, holding its slot, until it ends or
 * (once no scrape waits for it) is cancelled.  *out's body is borrowed
 * (every sharer reads the one answer): it stays as it is until the caller
 * gives it back with sd_flights_release, once the answer is sent.  From
 * the wait's end to the return nothing is allocated or freed.
 */
#define SD_LAG_STEP_MS 100
void sd_flights_run(sd_flights *f, const char *key, int64_t deadline_ms,
    const sd_flight_probe *p, sd_flight_answer *out, sd_flight_wait *w);

/* Gives back what w holds (the answer's body); then frees what nobody
 * holds any more. */
void sd_flights_release(sd_flights *f, sd_flight_wait *w);

/* A sample of the lag seen elsewhere (how late an answer was handed
 * over after its w->ended_ms). */
void sd_flights_lag(sd_flights *f, int64_t lag_ms);
/* The lag reserve now, for a scrape of span_ms (at most half of it). */
int64_t sd_flights_reserve_ms(sd_flights *f, int64_t span_ms);

typedef struct sd_flight_stats {
	uint64_t probes;        /* probes run */
	uint64_t shared;        /* answers taken from another's probe */
	uint64_t late;          /* 503s: no slot by the deadline */
	uint64_t timed_out;     /* scrapes answered before their probe ended */
	uint64_t cancelled;     /* probes cancelled: nobody waited any more */
	unsigned running;       /* probes running now, overrunning included */
	unsigned overrunning;   /* of them, past a scrape that timed out */
	unsigned waiting;       /* probes waiting for a slot now */
	unsigned slots;
	int64_t lag_ms;         /* the recent lag (sd_lag_recent) */
	int64_t reserve_ms;     /* the lag reserve it makes, uncapped */
} sd_flight_stats;

void sd_flights_stats(sd_flights *f, sd_flight_stats *s);

#endif
