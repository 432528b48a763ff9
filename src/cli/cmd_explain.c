/*
 * `smtpdoctor explain [FILE|-]`: judges a saved --json report again.
 * The rules read facts and nothing else, so a report a user sends to the
 * help desk can be re-diagnosed offline, with this version's rules and in
 * words, without touching the network.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "probe/check.h"
#include "report/report.h"
#include "rules/check_rules.h"
#include "rules/domain_rules.h"

/* A saved report bigger than this is not one of ours: a check run keeps
 * at most SD_RUN_TEXT_BUDGET bytes of peer text.  Refusing it bounds what
 * explain holds. */
#define EXPLAIN_MAX_BYTES (16u << 20)
/* JSON values (objects, arrays, members, elements) of a report: the parser
 * spends ~100 bytes on each whatever its size on disk, so a file of tiny
 * values would cost ten times its size.  Reports of ours hold far fewer. */
#define EXPLAIN_MAX_VALUES 250000

/* Feeds the JSON parser from a file, counting bytes and values as they
 * pass, and stops the parse at either limit. */
typedef struct reader {
	FILE *f;
	size_t bytes, values;
	int in_string, escaped;
	int too_big, too_many;
} reader;

static size_t read_some(void *buf, size_t len, void *arg)
{
	reader *rd = arg;
	size_t n = fread(buf, 1, len, rd->f);
	const char *p = buf;
	for (size_t i = 0; i < n; i++) {
		if (rd->in_string) {
			if (rd->escaped)
				rd->escaped = 0;
			else if (p[i] == '\\')
				rd->escaped = 1;
			else if (p[i] == '"')
				rd->in_string = 0;
		} else if (p[i] == '"') {
			rd->in_string = 1;
		} else if (p[i] == '{' || p[i] == '[' || p[i] == ',' ||
		    p[i] == ':') {
			rd->values++;
		}
	}
	rd->bytes += n;
	rd->too_big = rd->bytes > EXPLAIN_MAX_BYTES;
	rd->too_many = rd->values > EXPLAIN_MAX_VALUES;
	return rd->too_big || rd->too_many ? (size_t)-1 : n;
}

/*
 * --timeout for explain: reading (stdin may never end) and judging stop at
 * the deadline.  A watchdog thread then prints an inconclusive report and
 * ends the process with exit status 3, unless the result is already being
 * printed.
 */
enum { JUDGING, PRINTING, EXPIRED };
static atomic_int explain_state = JUDGING;

typedef struct watchdog {
	const sd_cli *cli;
	struct timespec until;   /* CLOCK_MONOTONIC */
} watchdog;

static void *watch(void *arg)
{
	watchdog *w = arg;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &w->until,
	    NULL) == EINTR)
		;
	if (atomic_exchange(&explain_state, EXPIRED) != JUDGING)
		return NULL;
	sd_report *r = sd_report_new("explain");
	char msg[200];
	snprintf(msg, sizeof msg, "the --timeout deadline (%g s) came before "
	    "the saved report was read and judged", w->cli->opt.timeout);
	if (r)
		sd_verdict_set(r, "inconclusive", -1, msg, NULL, NULL);
	_exit(sd_cli_render(w->cli, r));
}

static void watchdog_start(const sd_cli *cli)
{
	static watchdog w;
	w.cli = cli;
	clock_gettime(CLOCK_MONOTONIC, &w.until);
	double whole = (double)(long)cli->opt.timeout;
	w.until.tv_sec += (time_t)whole;
	w.until.tv_nsec += (long)((cli->opt.timeout - whole) * 1e9);
	if (w.until.tv_nsec >= 1000000000L) {
		w.until.tv_sec++;
		w.until.tv_nsec -= 1000000000L;
	}
	pthread_t th;
	if (pthread_create(&th, NULL, watch, &w) == 0)
		pthread_detach(th);
}

/* Called before printing the result: when the watchdog came first, it
 * prints and exits; wait for it. */
static void watchdog_stop(void)
{
	if (atomic_exchange(&explain_state, PRINTING) == EXPIRED)
		for (;;)
			pause();
}

/* A usage error (exit 2) once the watchdog runs: it must not print too. */
static int refuse(const sd_cli *cli, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	watchdog_stop();
	return sd_cli_usage_error(cli, "%s", msg);
}

/* The facts of one stage set, as a report of their own. */
static sd_report *subset(json_t *facts, const char *command)
{
	sd_report *dr = sd_report_new(command);
	size_t i;
	json_t *f;
	json_array_foreach(facts, i, f) {
		const char *st = json_string_value(json_object_get(f, "stage"));
		const char *id = json_string_value(json_object_get(f, "id"));
		if (!dr || !st || !id || strcmp(id, "sender_domain") == 0)
			continue;
		if (strcmp(st, "domain") == 0 || (strcmp(st, "reputation") == 0 &&
		    strncmp(id, "dnsbl.", 6) != 0))
			json_array_append(dr->facts, f);
	}
	return dr;
}

/* "2026-12-06T16:30:44Z" and nothing else: it is shown in the header */
static int rfc3339_utc(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	if (!s || strlen(s) != sizeof shape - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') :
		    s[i] != shape[i])
			return 0;
	return 1;
}

int sd_cmd_explain(sd_cli *cli)
{
	if (cli->n_positional > 1)
		return sd_cli_usage_error(cli, "explain takes one FILE (or -)");
	const char *path = cli->n_positional ? cli->positional[0] : "-";
	watchdog_start(cli);
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return refuse(cli, "%s: %s", path, strerror(errno));
	reader rd = { .f = f };
	json_error_t jerr;
	/* parsed as it is read: the text itself is never held whole */
	json_t *doc = json_load_callback(read_some, &rd, 0, &jerr);
	int read_err = ferror(f);
	if (f != stdin)
		fclose(f);
	if (rd.too_big || rd.too_many || read_err) {
		json_decref(doc);
		if (read_err)
			return refuse(cli, "%s: read error", path);
		return refuse(cli, "%s: not a smtpdoctor report "
		    "(more than %s)", path, rd.too_big ? "16 MiB" :
		    "250000 JSON values");
	}
	const char *schema = json_string_value(json_object_get(doc, "schema"));
	const char *command = json_string_value(json_object_get(doc, "command"));
	json_t *facts = json_object_get(doc, "facts");
	if (!doc || !schema || strcmp(schema, SD_SCHEMA) != 0 || !command ||
	    !json_is_array(facts)) {
		json_decref(doc);
		return refuse(cli, "%s: not a smtpdoctor report (%s)",
		    path, doc ? "no smtpdoctor/1 schema, command or facts" :
		    jerr.text);
	}
	if (strcmp(command, "check") != 0 && strcmp(command, "domain") != 0) {
		json_decref(doc);
		return refuse(cli, "%s: explain judges check and "
		    "domain reports, not %s", path, command);
	}
	sd_report *r = sd_report_new(command);
	if (!r) {
		json_decref(doc);
		watchdog_stop();
		return sd_cli_render(cli, NULL);
	}
	size_t i;
	json_t *x;
	/* the facts as they were recorded (a malformed one is dropped) */
	json_array_foreach(facts, i, x)
		if (json_is_object(x))
			sd_fact_add(r, json_incref(x));  /* doc is dropped */
	json_t *cfg = json_object_get(doc, "config");
	/* reports of smtpdoctor 0.1 before its release kept it as a fact */
	if (!json_is_object(cfg))
		cfg = sd_fact_get(facts, "config");
	if (json_is_object(cfg))
		sd_report_set_extra(r, "config", json_deep_copy(cfg));
	json_t *tr = json_object_get(doc, "transcript");
	if (json_is_array(tr)) {
		json_array_extend(r->transcript, tr);
		sd_report_clean(r, r->transcript);  /* the file's: escaped */
	}
	/* the time of the run judged, not of this reading */
	json_t *at = json_object_get(doc, "started_at");
	if (rfc3339_utc(json_string_value(at)))
		sd_report_set_extra(r, "started_at", json_copy(at));
	json_t *el = json_object_get(doc, "elapsed_ms");
	r->elapsed_ms = json_is_integer(el) ? (int64_t)json_integer_value(el) : 0;
	if (strcmp(command, "domain") == 0) {
		sd_domain_rules(r);
	} else {
		/* the sender's domain is judged first, as check does */
		sd_report *dr = subset(r->facts, "domain");
		json_t *sd = json_object_get(doc, "facts");
		const char *domain = NULL;
		json_array_foreach(sd, i, x) {
			const char *id = json_string_value(json_object_get(x, "id"));
			if (id && strcmp(id, "sender_domain") == 0)
				domain = json_string_value(json_object_get(x, "domain"));
		}
		if (dr && domain && json_array_size(dr->facts)) {
			/* drop the saved judgement: it is judged again */
			json_array_foreach(r->facts, i, x) {
				const char *id = json_string_value(json_object_get(x,
				    "id"));
				if (id && strcmp(id, "sender_domain") == 0) {
					json_array_remove(r->facts, i);
					break;
				}
			}
			sd_domain_rules(dr);
			sd_check_merge_domain(r, dr, domain);
		}
		sd_report_free(dr);
		sd_rules_check(r);
	}
	json_decref(doc);
	watchdog_stop();
	int rc = sd_cli_render(cli, r);
	sd_report_free(r);
	return rc;
}
