/*
 * The exporter without its HTTP server: the request's parser, the scrape
 * timeout header, the Prometheus text a probe's report becomes (escaping
 * included), the lockout guard and the sharing of probes in flight.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "exporter/exporter.h"
#include "report/report.h"
#include "util/util.h"

static int parse(const char *uri, sd_exporter_query *q, char *err)
{
	return sd_exporter_query_parse(uri, strlen(uri), q, err, 300);
}

static void query_pages_and_probes(void **state)
{
	(void)state;
	sd_exporter_query q;
	char err[300];
	assert_int_equal(parse("/", &q, err), 200);
	assert_int_equal(q.page, SD_XQ_INDEX);
	assert_int_equal(parse("/metrics", &q, err), 200);
	assert_int_equal(q.page, SD_XQ_METRICS);
	assert_int_equal(parse("/probe?command=domain&target=example.com", &q,
	    err), 200);
	assert_int_equal(q.page, SD_XQ_PROBE);
	assert_int_equal(q.command, SD_XQ_DOMAIN);
	assert_string_equal(q.target, "example.com");
	assert_string_equal(q.key, "domain example.com");
	/* escapes undone, values in query order, a fragment ignored */
	assert_int_equal(parse("/probe?target=example%2Ecom&command=domain&"
	    "ip=192.0.2.1&selector=s1&ip=2001%3Adb8%3A%3A1#frag", &q, err),
	    200);
	assert_string_equal(q.key, "domain example.com ip=192.0.2.1 "
	    "selector=s1 ip=2001:db8::1");
	assert_string_equal(q.extra, " ip=192.0.2.1 selector=s1 "
	    "ip=2001:db8::1");
	assert_int_equal(parse("/probe?command=check&target=alice%40example.net",
	    &q, err), 200);
	assert_int_equal(q.command, SD_XQ_CHECK);
	assert_string_equal(q.key, "check alice@example.net");
	/* empty pairs are nothing */
	assert_int_equal(parse("/probe?&command=check&&target=lab&", &q, err),
	    200);
	assert_string_equal(q.target, "lab");
}

static void query_refusals(void **state)
{
	(void)state;
	sd_exporter_query q;
	char err[300];
	assert_int_equal(parse("/nothing", &q, err), 404);
	assert_non_null(strstr(err, "/nothing"));
	assert_int_equal(parse("/probe", &q, err), 400);
	assert_non_null(strstr(err, "command= is missing"));
	assert_int_equal(parse("/probe?command=domain", &q, err), 400);
	assert_non_null(strstr(err, "target= is missing"));
	assert_int_equal(parse("/probe?command=spf&target=x", &q, err), 400);
	assert_non_null(strstr(err, "expected domain or check"));
	assert_int_equal(parse("/probe?command=domain&command=check&target=x",
	    &q, err), 400);
	assert_int_equal(parse("/probe?command=domain&target=a&target=b", &q,
	    err), 400);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(parse("/probe?command=domain&target=", &q, err), 400);
	/* a space (from '+') or a line break cannot enter a target */
	assert_int_equal(parse("/probe?command=domain&target=a+b", &q, err),
	    400);
	assert_int_equal(parse("/probe?command=domain&target=a%0Ab", &q, err),
	    400);
	assert_int_equal(parse("/probe?command=domain&target=a%00b", &q, err),
	    400);
	assert_int_equal(parse("/probe?command=domain&target=a%G1", &q, err),
	    400);
	assert_int_equal(parse("/probe?command=check&target=../../etc/x", &q,
	    err), 400);
	assert_int_equal(parse("/probe?command=check&target=a%3Ab", &q, err),
	    400);
	assert_int_equal(parse("/probe?command=check&target=lab&ip=192.0.2.1",
	    &q, err), 400);
	assert_non_null(strstr(err, "belong to command=domain"));
	assert_int_equal(parse("/probe?command=domain&target=x&ip=1.2.3.4;rm",
	    &q, err), 400);
	char uri[SD_XQ_URI_MAX + 10];
	memset(uri, 'a', sizeof uri - 1);
	uri[0] = '/';
	uri[sizeof uri - 1] = '\0';
	assert_int_equal(parse(uri, &q, err), 414);
	char many[1200] = "/probe?command=domain&target=x";
	for (int i = 0; i < 17; i++)
		strcat(many, "&ip=192.0.2.1");
	assert_int_equal(parse(many, &q, err), 400);
	assert_non_null(strstr(err, "more than 16"));
}

/* Credentials in a URL are refused, and no value of a parameter the
 * exporter does not know is ever repeated back. */
static void query_never_echoes_secrets(void **state)
{
	(void)state;
	sd_exporter_query q;
	char err[300];
	assert_int_equal(parse("/probe?command=check&target=lab&password="
	    "hunter2", &q, err), 400);
	assert_non_null(strstr(err, "credentials never come from the URL"));
	assert_null(strstr(err, "hunter2"));
	assert_int_equal(parse("/probe?command=check&target=lab&PASS=hunter2",
	    &q, err), 400);
	assert_null(strstr(err, "hunter2"));
	assert_int_equal(parse("/probe?command=check&target=lab&hunter2", &q,
	    err), 400);
	assert_null(strstr(err, "hunter2"));
	assert_int_equal(parse("/probe?command=check&target=lab&x=hunter2", &q,
	    err), 400);
	assert_null(strstr(err, "hunter2"));
	assert_non_null(strstr(err, "unknown parameter"));
}

static void scrape_timeout_header(void **state)
{
	(void)state;
	double s = -1;
	assert_true(sd_exporter_scrape_timeout("10", &s));
	assert_true(s == 10);
	assert_true(sd_exporter_scrape_timeout("9.5", &s));
	assert_true(s == 9.5);
	assert_true(sd_exporter_scrape_timeout("0.25", &s));
	assert_true(s > 0.2499 && s < 0.2501);
	static const char *const bad[] = { "", " 10", "10 ", "1e3", "-1",
	    "10.", ".5", "86401", "nan", "inf", "0x10", "1234567", NULL };
	for (int i = 0; bad[i]; i++)
		assert_false(sd_exporter_scrape_timeout(bad[i], &s));
}

/* Label values: foreign text escaped first (no control character, valid
 * UTF-8), then as the format wants (\\, \", \n). */
static void prom_escaping(void **state)
{
	(void)state;
	sd_prom p;
	sd_prom_init(&p);
	sd_prom_family(&p, "m", "gauge", "a \\ and a\nbreak");
	sd_prom_sample(&p, "m", (const char *[]){ "v",
	    "q\"uote\\back\nline\x01\x1b[31m\xff\xe2\x80\xae", NULL }, 2);
	sd_prom_sample(&p, "m", NULL, 0.125);
	size_t len;
	char *s = sd_prom_finish(&p, &len);
	assert_non_null(s);
	assert_int_equal(len, strlen(s));
	assert_string_equal(s,
	    "# HELP m a \\\\ and a\\nbreak\n"
	    "# TYPE m gauge\n"
	    "m{v=\"q\\\"uote\\\\back\\\\nline\\\\x01\\\\x1b[31m\\\\xff"
	    "\\\\u202e\"} 2\n"
	    "m 0.125\n");
	free(s);
	/* a value longer than the cap is cut, never half a character */
	char big[600];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	sd_prom_init(&p);
	sd_prom_sample(&p, "m", (const char *[]){ "v", big, NULL }, 1);
	s = sd_prom_finish(&p, &len);
	assert_non_null(s);
	assert_true(len < SD_XQ_VALUE_MAX + 20);
	free(s);
}

static sd_report *report_with(const char *cause, int status)
{
	sd_report *r = sd_report_new("domain");
	assert_non_null(r);
	sd_finding_add(r, "dns.resolution_failed", "error", "x", "s", NULL);
	sd_finding_add(r, "info.no_sending_ip", "info", "a", "s", NULL);
	sd_finding_add(r, "info.no_sending_ip", "info", "b", "s", NULL);
	sd_verdict_set(r, cause, status, "summary", NULL, NULL);
	return r;
}

static void probe_page(void **state)
{
	(void)state;
	sd_report *r = report_with("dns.resolution_failed", -1);
	sd_probe_info pi = { .duration_s = 1.2345, .deadline_s = 9.5,
	    .started_unix = 1796585803.5432 };
	size_t len;
	char *s = sd_exporter_probe_page(r, &pi, &len);
	assert_non_null(s);
	assert_non_null(strstr(s, "\nsmtpdoctor_probe_success 0\n"));
	assert_non_null(strstr(s, "\nsmtpdoctor_probe_timed_out 0\n"));
	assert_non_null(strstr(s, "\nsmtpdoctor_verdict{cause=\""
	    "dns.resolution_failed\",status=\"fail\"} 1\n"));
	/* one series per code and severity, counting the findings */
	assert_non_null(strstr(s, "\nsmtpdoctor_finding{code=\""
	    "info.no_sending_ip\",severity=\"info\"} 2\n"));
	assert_non_null(strstr(s, "\nsmtpdoctor_finding{code=\""
	    "dns.resolution_failed\",severity=\"error\"} 1\n"));
	assert_non_null(strstr(s, "\nsmtpdoctor_probe_duration_seconds "
	    "1.234\n"));
	assert_non_null(strstr(s, "\nsmtpdoctor_probe_deadline_seconds 9.5\n"));
	assert_non_null(strstr(s, "\nsmtpdoctor_probe_started_timestamp_seconds"
	    " 1796585803.543\n"));
	assert_null(strstr(s, "smtpdoctor_auth_withheld"));
	assert_non_null(strstr(s, "# TYPE smtpdoctor_verdict gauge\n"));
	free(s);
	sd_report_free(r);

	/* a warn verdict is a success; a check says whether it withheld */
	r = report_with("isp.rate_limited", SD_STATUS_WARN);
	pi.is_check = 1;
	s = sd_exporter_probe_page(r, &pi, &len);
	assert_non_null(strstr(s, "\nsmtpdoctor_probe_success 1\n"));
	assert_non_null(strstr(s, "status=\"warn\"} 1\n"));
	assert_non_null(strstr(s, "\nsmtpdoctor_auth_withheld 0\n"));
	assert_null(strstr(s, "smtpdoctor_auth_retry_timestamp_seconds"));
	free(s);
	pi.withheld = 1;
	pi.retry_unix = 1796589403.9;
	pi.held_cause = "auth.bad_credentials";
	s = sd_exporter_probe_page(r, &pi, &len);
	assert_non_null(strstr(s, "\nsmtpdoctor_auth_withheld{cause=\""
	    "auth.bad_credentials\"} 1\n"));
	assert_non_null(strstr(s, "\nsmtpdoctor_auth_retry_timestamp_seconds "
	    "1796589403\n"));
	free(s);
	sd_report_free(r);
}

/* A fact of the session probe's AUTH stage, added as it records them. */
static void auth_fact(sd_report *r, const char *mech, const char *result)
{
	json_t *f = json_pack("{s:s, s:s, s:s}", "id", "auth.587.192.0.2.1",
	    "stage", "auth", "result", result);
	if (mech)
		json_object_set_new(f, "mech", json_string(mech));
	json_array_append_new(r->facts, f);
}

static void auth_outcomes(void **state)
{
	(void)state;
	static const struct { const char *mech, *result; sd_auth_outcome o; }
	    cases[] = {
		{ NULL, "no_secret", SD_AUTH_NOT_SENT },
		{ NULL, "not_offered", SD_AUTH_NOT_SENT },
		{ "PLAIN", "mechanism_unsupported", SD_AUTH_NOT_SENT },
		{ NULL, "plaintext_refused", SD_AUTH_NOT_SENT },
		{ NULL, "no_time", SD_AUTH_NOT_SENT },
		{ NULL, "skipped_once", SD_AUTH_NOT_SENT },
		{ "PLAIN", "ok", SD_AUTH_ACCEPTED },
		{ "PLAIN", "rejected", SD_AUTH_REJECTED },
		/* sent, then the server hung up or went silent: counted as a
		 * failed login, on the safe side */
		{ "LOGIN", "timeout", SD_AUTH_REJECTED },
		{ "LOGIN", "closed", SD_AUTH_REJECTED },
		{ "LOGIN", "reset", SD_AUTH_REJECTED },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sd_report *r = sd_report_new("check");
		auth_fact(r, cases[i].mech, cases[i].result);
		assert_int_equal(sd_exporter_auth_outcome(r), cases[i].o);
		sd_report_free(r);
	}
	sd_report *r = sd_report_new("check");
	assert_int_equal(sd_exporter_auth_outcome(r), SD_AUTH_NOT_SENT);
	auth_fact(r, "PLAIN", "ok");
	auth_fact(r, "PLAIN", "rejected");
	assert_int_equal(sd_exporter_auth_outcome(r), SD_AUTH_REJECTED);
	sd_report_free(r);
}

static void guard_holds_until_file_or_time(void **state)
{
	(void)state;
	char path[] = "/tmp/sd-guard-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "a", 1), 1);
	sd_file_ids ids = { 0 }, now = { 0 };
	sd_file_ids_add(&ids, path);
	sd_guard *g = sd_guard_new(60000);
	sd_guard_hold h;
	assert_false(sd_guard_held(g, "lab", &ids, 1000, &h));
	/* not sent: nothing to remember; accepted: nothing held */
	assert_int_equal(sd_guard_record(g, "lab", &ids, 1000,
	    SD_AUTH_NOT_SENT, "inconclusive"), 0);
	assert_false(sd_guard_held(g, "lab", &ids, 1000, &h));
	sd_guard_record(g, "lab", &ids, 1000, SD_AUTH_REJECTED,
	    "auth.bad_credentials");
	assert_true(sd_guard_held(g, "lab", &ids, 2000, &h));
	assert_int_equal(h.until_ms, 61000);
	assert_string_equal(h.cause, "auth.bad_credentials");
	assert_false(sd_guard_held(g, "other", &ids, 2000, &h));
	assert_int_equal(sd_guard_count(g, 2000), 1);
	/* held until --auth-retry-after passes */
	assert_true(sd_guard_held(g, "lab", &ids, 60999, &h));
	assert_false(sd_guard_held(g, "lab", &ids, 61000, &h));
	assert_int_equal(sd_guard_count(g, 61000), 0);
	/* or until the file changes (here: grows) */
	sd_guard_record(g, "lab", &ids, 70000, SD_AUTH_REJECTED, "auth.x");
	assert_true(sd_guard_held(g, "lab", &ids, 70001, &h));
	assert_int_equal(write(fd, "b", 1), 1);
	sd_file_ids_add(&now, path);
	assert_false(sd_guard_held(g, "lab", &now, 70002, &h));
	/* an accepted login forgets a hold */
	sd_guard_record(g, "lab", &now, 80000, SD_AUTH_REJECTED, "auth.x");
	sd_guard_record(g, "lab", &now, 80001, SD_AUTH_ACCEPTED, "ok");
	assert_false(sd_guard_held(g, "lab", &now, 80002, &h));
	/* a file that vanished is a change too */
	sd_guard_record(g, "lab", &now, 90000, SD_AUTH_REJECTED, "auth.x");
	unlink(path);
	sd_file_ids gone = { 0 };
	sd_file_ids_add(&gone, path);
	assert_false(sd_guard_held(g, "lab", &gone, 90001, &h));
	close(fd);
	sd_guard_free(g);
}

/* At its limit the guard fails closed: the rejection it cannot keep
 * withholds every account it does not know, so that login is not retried
 * before --auth-retry-after. */
static void guard_full_fails_closed(void **state)
{
	(void)state;
	sd_file_ids ids = { 0 };
	sd_file_ids_add(&ids, NULL);
	sd_guard *g = sd_guard_new(60000);
	sd_guard_hold h;
	char name[32];
	for (int i = 0; i < SD_GUARD_MAX; i++) {
		snprintf(name, sizeof name, "acct%d", i);
		assert_int_equal(sd_guard_record(g, name, &ids, 1000 + i,
		    SD_AUTH_REJECTED, "auth.bad_credentials"), 0);
	}
	assert_false(sd_guard_full(g, 10000));
	assert_false(sd_guard_held(g, "extra", &ids, 10000, &h));
	assert_int_equal(sd_guard_record(g, "extra", &ids, 10000,
	    SD_AUTH_REJECTED, "auth.bad_credentials"), -1);
	assert_true(sd_guard_full(g, 10001));
	/* the rejected one and every other unknown account: withheld */
	assert_true(sd_guard_held(g, "extra", &ids, 10001, &h));
	assert_string_equal(h.cause, SD_GUARD_FULL_CAUSE);
	assert_int_equal(h.until_ms, 70000);
	assert_true(sd_guard_held(g, "never-seen", &ids, 10001, &h));
	/* the known ones keep their own hold */
	assert_true(sd_guard_held(g, "acct5", &ids, 10001, &h));
	assert_string_equal(h.cause, "auth.bad_credentials");
	/* an account accepted meanwhile is still withheld: it cannot be told
	 * from the one that was rejected */
	sd_guard_record(g, "other", &ids, 20000, SD_AUTH_ACCEPTED, "ok");
	assert_true(sd_guard_held(g, "other", &ids, 20001, &h));
	/* the retry time passes: holds whose time is up make room */
	assert_false(sd_guard_held(g, "extra", &ids, 70000, &h));
	assert_false(sd_guard_full(g, 70000));
	assert_int_equal(sd_guard_record(g, "extra", &ids, 80000,
	    SD_AUTH_REJECTED, "auth.bad_credentials"), 0);
	assert_true(sd_guard_held(g, "extra", &ids, 80001, &h));
	assert_string_equal(h.cause, "auth.bad_credentials");
	assert_false(sd_guard_held(g, "never-seen", &ids, 80001, &h));
	assert_int_equal(sd_guard_count(g, 80001), 1);
	sd_guard_free(g);
}

/* ---- flights: threads asking for one key at once ----------------------- */

static atomic_int runs, ended, saw_cancel;

/* arg: milliseconds the probe takes; a negative count is a probe that
 * never looks at its cancel scope */
static void slow_probe(void *arg, int64_t deadline_ms, sd_flight_answer *out)
{
	(void)deadline_ms;
	intptr_t ms = (intptr_t)arg;
	int heeds = ms >= 0;
	int64_t until = sd_now_ms() + (ms < 0 ? -ms : ms);
	atomic_fetch_add(&runs, 1);
	while (sd_now_ms() < until && !(heeds && sd_cancelled()))
		usleep(2000);
	if (sd_cancelled())
		atomic_fetch_add(&saw_cancel, 1);
	out->status = 200;
	out->body = strdup("page\n");
	out->len = 5;
	atomic_fetch_add(&ended, 1);
}

typedef struct asker {
	sd_flights *f;
	const char *key;
	int64_t deadline_ms;
	int sleep_ms;
	sd_flight_answer a;
	sd_flight_wait w;
	int64_t took_ms;
} asker;

static asker mk(sd_flights *f, const char *key, int64_t deadline_ms,
    int sleep_ms)
{
	asker k;
	memset(&k, 0, sizeof k);
	k.f = f;
	k.key = key;
	k.deadline_ms = deadline_ms;
	k.sleep_ms = sleep_ms;
	return k;
}

static void *ask(void *arg)
{
	asker *k = arg;
	int64_t t0 = sd_now_ms();
	sd_flight_probe p = { slow_probe, (void *)(intptr_t)k->sleep_ms, NULL,
	    k->deadline_ms, 1.0 };
	sd_flights_run(k->f, k->key, k->deadline_ms, &p, &k->a, &k->w);
	k->took_ms = sd_now_ms() - t0;
	/* the body is borrowed until released: the asker keeps a copy */
	if (k->a.body)
		k->a.body = strdup(k->a.body);
	sd_flights_release(k->f, &k->w);
	return NULL;
}

static void reset_probes(void)
{
	atomic_store(&runs, 0);
	atomic_store(&ended, 0);
	atomic_store(&saw_cancel, 0);
}

/* Waits (ten seconds at most) until no probe of f runs. */
static void until_idle(sd_flights *f, sd_flight_stats *st)
{
	for (int i = 0; i < 1000; i++) {
		sd_flights_stats(f, st);
		if (!st->running)
			return;
		usleep(10000);
	}
}

static void flights_share_one_probe(void **state)
{
	(void)state;
	sd_flights *f = sd_flights_new(4);
	asker k[8];
	pthread_t t[8];
	reset_probes();
	/* a probe long enough that all eight ask before it ends (one that
	 * asked after would start a second probe, rightly); a deadline far
	 * enough that the lag reserve a stall brings (three times the lag)
	 * does not cut it */
	for (int i = 0; i < 8; i++) {
		k[i] = mk(f, "check lab", sd_now_ms() + 10000, 2000);
		pthread_create(&t[i], NULL, ask, &k[i]);
	}
	int shared = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(k[i].a.status, 200);
		assert_string_equal(k[i].a.body, "page\n");
		assert_false(k[i].w.timed_out);
		assert_true(k[i].w.started_unix > 0);
		shared += k[i].w.shared;
		free(k[i].a.body);
	}
	assert_int_equal(atomic_load(&runs), 1);
	assert_int_equal(shared, 7);
	sd_flight_stats st;
	until_idle(f, &st);
	assert_int_equal(st.probes, 1);
	assert_int_equal(st.shared, 7);
	assert_int_equal(st.running, 0);
	assert_int_equal(st.timed_out, 0);
	/* once it ended, the next scrape starts a new probe */
	k[0] = mk(f, "check lab", sd_now_ms() + 5000, 1);
	ask(&k[0]);
	assert_false(k[0].w.shared);
	free(k[0].a.body);
	assert_int_equal(atomic_load(&runs), 2);
	assert_int_equal(sd_flights_free(f, sd_now_ms() + 1000), 0);
}

static void flights_bound_the_probes(void **state)
{
	(void)state;
	sd_flights *f = sd_flights_new(1);
	asker a = mk(f, "domain a.example", sd_now_ms() + 8000, 3000);
	pthread_t ta;
	reset_probes();
	pthread_create(&ta, NULL, ask, &a);
	/* a's probe holds the one slot */
	for (int i = 0; i < 500 && !atomic_load(&runs); i++)
		usleep(10000);
	assert_int_equal(atomic_load(&runs), 1);
	asker b = mk(f, "domain b.example", sd_now_ms() + 200, 1);
	ask(&b);
	/* no slot came free by b's deadline: 503, at that deadline (200 ms),
	 * not when a's probe ends (3 s) */
	assert_int_equal(b.a.status, 503);
	assert_non_null(strstr(b.a.body, "--concurrency"));
	assert_true(b.took_ms < 1500);
	pthread_join(ta, NULL);
	assert_int_equal(a.a.status, 200);
	assert_int_equal(atomic_load(&runs), 1);
	sd_flight_stats st;
	until_idle(f, &st);
	assert_int_equal(st.late, 1);
	free(a.a.body);
	free(b.a.body);
	assert_int_equal(sd_flights_free(f, sd_now_ms() + 1000), 0);
}

/*
 * A probe slower than its scrape: the scrape is answered at its deadline
 * (no answer: timed out), the probe keeps its slot while it runs, scrapes
 * of the same target join it instead of starting another, and once no
 * scrape waits it is cancelled and gives its slot back.
 */
static void flights_answer_by_the_deadline(void **state)
{
	(void)state;
	sd_flights *f = sd_flights_new(1);
	reset_probes();
	/* the probe would take 6 s; the scrape has 300 ms */
	asker a = mk(f, "check slow", sd_now_ms() + 300, 6000);
	ask(&a);
	assert_true(a.w.timed_out);
	assert_int_equal(a.a.status, 0);
	assert_null(a.a.body);
	assert_true(a.w.started_unix > 0);
	assert_true(a.w.deadline_s == 1.0);
	/* answered at its deadline, not at the probe's end (margin: a loaded
	 * machine; the probe alone would take twenty times as long) */
	assert_true(a.took_ms >= 290 && a.took_ms < 2500);
	/* nobody waits: cancelled, and it heeds the cancel */
	sd_flight_stats st;
	until_idle(f, &st);
	assert_int_equal(st.running, 0);
	assert_int_equal(st.overrunning, 0);
	assert_int_equal(st.timed_out, 1);
	assert_int_equal(st.cancelled, 1);
	assert_int_equal(atomic_load(&saw_cancel), 1);
	assert_int_equal(atomic_load(&ended), 1);

	/* one that never looks at the cancel: its slot stays taken until it
	 * really ends, so another target waits for it (503); it runs 4 s,
	 * long after the three scrapes below (0.6 s) on a loaded machine */
	reset_probes();
	asker b = mk(f, "check deaf", sd_now_ms() + 200, -4000);
	ask(&b);
	assert_true(b.w.timed_out);
	sd_flights_stats(f, &st);
	assert_int_equal(st.running, 1);
	assert_int_equal(st.overrunning, 1);
	asker c = mk(f, "check other", sd_now_ms() + 200, 1);
	ask(&c);
	assert_int_equal(c.a.status, 503);
	free(c.a.body);
	/* a scrape of the deaf target joins the probe running: no second */
	asker d = mk(f, "check deaf", sd_now_ms() + 200, 1);
	ask(&d);
	assert_true(d.w.shared);
	assert_true(d.w.timed_out);
	assert_int_equal(atomic_load(&runs), 1);
	until_idle(f, &st);
	assert_int_equal(st.running, 0);
	assert_int_equal(st.overrunning, 0);
	assert_int_equal(atomic_load(&ended), 1);
	/* the slot is free again: a quick probe answers */
	asker e = mk(f, "check other", sd_now_ms() + 2000, 1);
	ask(&e);
	assert_int_equal(e.a.status, 200);
	free(e.a.body);
	assert_int_equal(sd_flights_free(f, sd_now_ms() + 1000), 0);
}

/* A sharer whose deadline comes before the starter's gives up alone: the
 * probe is not cancelled while its starter still waits, and the starter
 * gets the answer. */
static void flights_sharer_leaves_alone(void **state)
{
	(void)state;
	sd_flights *f = sd_flights_new(2);
	reset_probes();
	asker a = mk(f, "domain s.example", sd_now_ms() + 8000, 2000);
	pthread_t ta;
	pthread_create(&ta, NULL, ask, &a);
	/* b asks once a's probe runs, well before it ends */
	for (int i = 0; i < 500 && !atomic_load(&runs); i++)
		usleep(10000);
	asker b = mk(f, "domain s.example", sd_now_ms() + 150, 2000);
	ask(&b);
	assert_true(b.w.shared);
	assert_true(b.w.timed_out);
	pthread_join(ta, NULL);
	assert_false(a.w.timed_out);
	assert_int_equal(a.a.status, 200);
	free(a.a.body);
	assert_int_equal(atomic_load(&saw_cancel), 0);
	sd_flight_stats st;
	until_idle(f, &st);
	assert_int_equal(st.cancelled, 0);
	assert_int_equal(sd_flights_free(f, sd_now_ms() + 1000), 0);
}

/* The lag: the largest of the current window and the one before. */
static void lag_window(void **state)
{
	(void)state;
	sd_lag l = { 0 };
	int64_t t = 1000000;
	assert_int_equal(sd_lag_recent(&l, t), 0);
	sd_lag_add(&l, t, 40);
	sd_lag_add(&l, t + 10, 300);
	sd_lag_add(&l, t + 20, 100);
	assert_int_equal(sd_lag_recent(&l, t + 20), 300);
	/* the next window remembers it */
	sd_lag_add(&l, t + SD_LAG_WINDOW_MS + 5, 50);
	assert_int_equal(sd_lag_recent(&l, t + SD_LAG_WINDOW_MS + 5), 300);
	/* the one after forgets it, not what came since */
	assert_int_equal(sd_lag_recent(&l, t + 2 * SD_LAG_WINDOW_MS + 5), 50);
	/* two windows with nothing: no lag */
	assert_int_equal(sd_lag_recent(&l, t + 5 * SD_LAG_WINDOW_MS), 0);
}

/* Three times the lag, less half the offset, within the cap. */
static void lag_reserve(void **state)
{
	(void)state;
	assert_int_equal(sd_lag_reserve_ms(0, 500, 1500), 0);
	/* up to 83 ms the offset's half absorbs it */
	assert_int_equal(sd_lag_reserve_ms(80, 500, 1500), 0);
	assert_int_equal(sd_lag_reserve_ms(100, 500, 1500), 50);
	assert_int_equal(sd_lag_reserve_ms(300, 500, 1500), 650);
	assert_int_equal(sd_lag_reserve_ms(900, 500, 1500), 1500);
	assert_int_equal(sd_lag_reserve_ms(100, 0, 1500), 300);
}

/* A lag seen (an answer handed over late) brings the next scrape's
 * answer forward by the reserve; /metrics' figures say so. */
static void flights_answer_early_when_lagging(void **state)
{
	(void)state;
	sd_flights *f = sd_flights_new(2);
	reset_probes();
	sd_flights_lag(f, 300);
	sd_flight_stats st;
	sd_flights_stats(f, &st);
	assert_int_equal(st.lag_ms, 300);
	assert_int_equal(st.reserve_ms, 650);
	assert_int_equal(sd_flights_reserve_ms(f, 1000), 500);
	/* a lag of 800 ms: a reserve of 2150 ms (under half of a 5 s span,
	 * so the wait's end does not depend on when the scrape began) */
	sd_flights_lag(f, 800);
	sd_flights_stats(f, &st);
	assert_int_equal(st.reserve_ms, 2150);
	/* 5 s to the deadline, the probe would take 6: the wait ends 2150 ms
	 * early, timed out; one that ran to the deadline took 5 s */
	int64_t t0 = sd_now_ms();
	asker a = mk(f, "check lagging", t0 + 5000, 6000);
	ask(&a);
	assert_true(a.w.timed_out);
	assert_true(a.w.ended_ms > t0 && a.w.ended_ms <= t0 + 2850);
	assert_true(a.took_ms < 5000);
	/* no lag with an offset that absorbs it: twice three times the lag
	 * (800 ms, or what the wait above measured of this machine's own) */
	sd_flights_stats(f, &st);
	assert_true(st.lag_ms >= 800);
	sd_flights_set_offset(f, 6 * st.lag_ms);
	assert_int_equal(sd_flights_reserve_ms(f, 10000), 0);
	until_idle(f, &st);
	assert_int_equal(st.running, 0);
	assert_int_equal(sd_flights_free(f, sd_now_ms() + 1000), 0);
}

static void timeout_page(void **state)
{
	(void)state;
	sd_probe_info pi = { .duration_s = 8.6, .deadline_s = 8.55,
	    .started_unix = 1796585803.5, .is_check = 1 };
	size_t len;
	char *s = sd_exporter_timeout_page(&pi, &len);
	assert_non_null(s);
	assert_non_null(strstr(s, "\nsmtpdoctor_probe_success 0\n"));
	assert_non_null(strstr(s, "\nsmtpdoctor_probe_timed_out 1\n"));
	assert_non_null(strstr(s, "\nsmtpdoctor_probe_deadline_seconds 8.55\n"));
	assert_null(strstr(s, "smtpdoctor_verdict"));
	assert_null(strstr(s, "smtpdoctor_auth_withheld"));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(query_pages_and_probes),
		cmocka_unit_test(query_refusals),
		cmocka_unit_test(query_never_echoes_secrets),
		cmocka_unit_test(scrape_timeout_header),
		cmocka_unit_test(prom_escaping),
		cmocka_unit_test(probe_page),
		cmocka_unit_test(auth_outcomes),
		cmocka_unit_test(guard_holds_until_file_or_time),
		cmocka_unit_test(guard_full_fails_closed),
		cmocka_unit_test(flights_share_one_probe),
		cmocka_unit_test(flights_bound_the_probes),
		cmocka_unit_test(flights_answer_by_the_deadline),
		cmocka_unit_test(flights_sharer_leaves_alone),
		cmocka_unit_test(lag_window),
		cmocka_unit_test(lag_reserve),
		cmocka_unit_test(flights_answer_early_when_lagging),
		cmocka_unit_test(timeout_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
