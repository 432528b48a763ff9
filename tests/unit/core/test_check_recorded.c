/*
 * The rules of check on the facts the probes really wrote: every report
 * in tests/unit/core/recorded/ was kept by `tests/lab/run --record` from a
 * lab scenario that passed (real servers, real faults).  Judged again, each
 * must give the verdict and exit status the lab saw.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "report/facts.h"
#include "report/report.h"
#include "rules/rules.h"

#define RECORDED "tests/unit/core/recorded/"

static const char *get(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* A recorded run's facts (and `extra`, a fact of our own, when given),
 * judged; NULL when the file cannot be read. */
static sd_report *judged(const char *name, json_t **doc, const char *extra)
{
	char path[512];
	snprintf(path, sizeof path, RECORDED "%s", name);
	json_error_t e;
	*doc = json_load_file(path, 0, &e);
	if (!*doc) {
		print_error("%s: %s\n", path, e.text);
		return NULL;
	}
	sd_report *r = sd_report_new(get(*doc, "command"));
	assert_non_null(r);
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(*doc, "facts"), i, f)
		assert_int_equal(sd_fact_add_saved(r, json_deep_copy(f), NULL, 0), 0);
	if (extra)
		assert_int_equal(sd_fact_add_saved(r, json_loads(extra, 0, NULL),
		    NULL, 0), 0);
	if (json_is_object(json_object_get(*doc, "config")))
		sd_report_set_extra(r, "config", json_deep_copy(
		    json_object_get(*doc, "config")));
	assert_int_equal(sd_rules_judge(r), 0);
	return r;
}

/* Judges one recorded run; 0 when the verdict comes back. */
static int replay(const char *name)
{
	json_t *doc;
	sd_report *r = judged(name, &doc, NULL);
	if (!r)
		return 1;
	json_t *want = json_object_get(doc, "expect");
	int bad = strcmp(sd_report_cause(r), get(want, "cause")) != 0 ||
	    sd_report_exit_code(r) != json_integer_value(json_object_get(want,
	    "exit"));
	if (bad)
		print_error("%s: verdict %s (exit %d), the lab saw %s (exit %d)\n",
		    name, sd_report_cause(r), sd_report_exit_code(r),
		    get(want, "cause"), (int)json_integer_value(
		    json_object_get(want, "exit")));
	sd_report_free(r);
	json_decref(doc);
	return bad;
}

static void recorded_verdicts(void **state)
{
	(void)state;
	DIR *d = opendir(RECORDED);
	assert_non_null(d);
	struct dirent *de;
	int n = 0, bad = 0;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		n++;
		bad += replay(de->d_name);
	}
	closedir(d);
	/* one per scenario of the lab */
	assert_true(n >= 60);
	assert_int_equal(bad, 0);
}

/* What spamd says of a message over its threshold (the shape the score
 * probe writes). */
static const char spam_fact[] = "{\"id\": \"score.spamd.127.0.0.1:783\", "
    "\"kind\": \"score\", \"stage\": \"content\", \"check\": \"score\", "
    "\"scorer\": \"spamd\", \"address\": \"127.0.0.1:783\", \"result\": "
    "\"scored\", \"score\": 7.5, \"threshold\": 5.0, \"spam\": true, "
    "\"ok\": true, \"detail\": \"spamd scored 7.5\", \"rules\": [{\"name\": "
    "\"MISSING_DATE\", \"score\": 7.5, \"description\": \"no Date\"}]}";

/* The finding of `code` in r, or NULL. */
static const json_t *finding(const sd_report *r, const char *code)
{
	size_t i;
	json_t *f;
	json_array_foreach(r->findings, i, f)
		if (strcmp(get(f, "code"), code) == 0)
			return f;
	return NULL;
}

/* How many findings of `code` r holds. */
static size_t findings_of(const sd_report *r, const char *code)
{
	size_t i, n = 0;
	json_t *f;
	json_array_foreach(r->findings, i, f)
		n += strcmp(get(f, "code"), code) == 0;
	return n;
}

/* content.spam_score is a rule of check's table: it decides a working
 * path, after the published settings, and is a finding beside any other
 * verdict (docs/verdicts.md, "When the configured path works"). */
static void spam_score_in_the_table(void **state)
{
	(void)state;
	static const struct {
		const char *run, *cause;
	} cases[] = {
		{ "send-ok.json", "content.spam_score" },
		{ "published-differs.json", "settings.differs_from_published" },
		{ "bad-credentials.json", "auth.bad_credentials" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *doc;
		sd_report *r = judged(cases[i].run, &doc, spam_fact);
		assert_non_null(r);
		assert_string_equal(sd_report_cause(r), cases[i].cause);
		const json_t *f = finding(r, "content.spam_score");
		assert_non_null(f);
		assert_string_equal(get(f, "severity"), "warning");
		assert_non_null(strstr(get(f, "summary"), "MISSING_DATE"));
		if (i == 0) {
			assert_string_equal(get(r->verdict, "status"), "warn");
			assert_int_equal(sd_report_exit_code(r), 0);
			/* one finding for the verdict and the rule beside it */
			assert_int_equal(findings_of(r, "content.spam_score"), 1);
		}
		sd_report_free(r);
		json_decref(doc);
	}
}

/* A working path while the sender domain's name servers answer nothing
 * (the lab's unanswered.example: timeouts; refused.example: SERVFAIL):
 * one finding, about the domain, naming its SPF and DMARC lookups, and
 * those lookups in the verdict's evidence. */
static void sender_domain_lookups(void **state)
{
	(void)state;
	static const char *const runs[] = { "sender-domain-lookups-fail.json",
	    "sender-domain-servfail.json" };
	for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
		json_t *doc;
		sd_report *r = judged(runs[i], &doc, NULL);
		assert_non_null(r);
		assert_string_equal(sd_report_cause(r), "dns.resolution_failed");
		const char *sum = get(r->verdict, "summary");
		assert_non_null(strstr(sum, "sending works on port 587"));
		assert_non_null(strstr(sum, "(SPF), TXT _dmarc."));
		assert_non_null(strstr(sum, "the domain's name servers do not "
		    "answer"));
		char *ev = json_dumps(json_object_get(r->verdict, "evidence"), 0);
		assert_non_null(strstr(ev, "\"domain.spf\", \"domain.dmarc\""));
		free(ev);
		assert_int_equal(findings_of(r, "dns.resolution_failed"), 1);
		sd_report_free(r);
		json_decref(doc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(recorded_verdicts),
		cmocka_unit_test(spam_score_in_the_table),
		cmocka_unit_test(sender_domain_lookups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
