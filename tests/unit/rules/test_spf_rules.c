/*
 * The rules of spf against recorded facts: each case builds the report a
 * run of `spf` would write (or one saved by an older version) and asserts
 * the findings a user would see.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "report/report.h"
#include "rules/rules.h"
#include "rules/spf_rules.h"

#define IP "192.0.2.10"

/* The fact of one DNS query of the evaluation, as cmd_spf.c writes it. */
static void query(sd_report *r, const char *type, const char *name,
    const char *purpose)
{
	char id[300];
	snprintf(id, sizeof id, "dns.%s.%s", type, name);
	sd_fact_add(r, "spf_query", json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, "
	    "s:[], s:b, s:i}", "id", id, "stage", "domain", "name", name,
	    "type", type, "purpose", purpose, "status", "ok", "answers", "ok",
	    1, "took_ms", 1));
}

/* A report of `spf` for DOMAIN with this result; `ptr_terms` is the
 * member's JSON, or NULL for a report saved before it existed. */
static sd_report *report(const char *domain, const char *result,
    int lookups, const char *ptr_terms)
{
	sd_report *r = sd_report_new("spf");
	query(r, "TXT", domain, "record");
	json_t *spf = json_pack("{s:s, s:i, s:i, s:[], s:s, s:s, s:n, s:n}",
	    "result", result, "lookups", lookups, "void_lookups", 0, "trace",
	    "ip", IP, "domain", domain, "mechanism", "mechanism_domain");
	if (strcmp(result, "permerror") == 0) {
		json_object_set_new(spf, "problem", json_string("too many DNS "
		    "lookups"));
		json_object_set_new(spf, "problem_class",
		    json_string("lookup_limit"));
	}
	if (ptr_terms) {
		json_error_t e;
		json_t *t = json_loads(ptr_terms, 0, &e);
		assert_non_null(t);
		json_object_set_new(spf, "ptr_terms", t);
	}
	sd_report_set_extra(r, "spf", spf);
	return r;
}

static const json_t *finding(const sd_report *r, const char *code)
{
	size_t i;
	json_t *f;
	json_array_foreach(r->findings, i, f)
		if (strcmp(json_string_value(json_object_get(f, "code")),
		    code) == 0)
			return f;
	return NULL;
}

static const char *summary(const json_t *f)
{
	return json_string_value(json_object_get(f, "summary"));
}

static int has_evidence(const json_t *f, const char *id)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(f, "evidence"), i, e)
		if (strcmp(json_string_value(e), id) == 0)
			return 1;
	return 0;
}

static void assert_contains(const char *s, const char *needle)
{
	if (!s || !strstr(s, needle))
		fail_msg("\"%s\" lacks \"%s\"", s ? s : "(null)", needle);
}

/* A ptr the evaluation never reached (no PTR lookup) in a record it
 * fetched: named, with the record's lookup as evidence. */
static void ptr_not_reached(void **state)
{
	(void)state;
	sd_report *r = report("late.example", "pass", 1, "[{\"term\": \"ptr\", "
	    "\"domain\": \"late.example\"}, {\"term\": \"exists:%{p}.x.example\", "
	    "\"domain\": \"_spf.late.example\"}]");
	query(r, "TXT", "_spf.late.example", "record");
	sd_rules_judge(r);
	assert_string_equal(sd_report_cause(r), "ok");
	const json_t *f = finding(r, "spf.ptr_used");
	assert_non_null(f);
	assert_string_equal(json_string_value(json_object_get(f, "severity")),
	    "warning");
	assert_contains(summary(f), "the policy uses \"ptr\" in the record of "
	    "late.example, \"exists:%{p}.x.example\" in the record of "
	    "_spf.late.example, which RFC 7208 section 5.5 says not to use");
	assert_contains(summary(f), "this evaluation did not reach them");
	assert_null(strstr(summary(f), "permerror"));
	assert_true(has_evidence(f, "dns.TXT.late.example"));
	assert_true(has_evidence(f, "dns.TXT._spf.late.example"));
	sd_report_free(r);
}

/* Beside a permerror the ptr warning stays (the record's defect outlives
 * the error's fix) and says it is apart from it; the limit warnings,
 * which the permerror makes moot, do not appear. */
static void ptr_beside_a_permerror(void **state)
{
	(void)state;
	sd_report *r = report("broken.example", "permerror", 11,
	    "[{\"term\": \"ptr\", \"domain\": \"broken.example\"}]");
	query(r, "PTR", "10.2.0.192.in-addr.arpa", "ptr");
	sd_rules_judge(r);
	assert_string_equal(sd_report_cause(r), "dns.spf_permerror");
	const json_t *f = finding(r, "spf.ptr_used");
	assert_non_null(f);
	assert_contains(summary(f), "apart from the permerror, the policy uses "
	    "\"ptr\" in the record of broken.example");
	assert_contains(summary(f), "this evaluation looked up the client's "
	    "PTR names");
	assert_true(has_evidence(f, "dns.PTR.10.2.0.192.in-addr.arpa"));
	assert_null(finding(r, "spf.lookups_near_limit"));
	sd_report_free(r);
}

/* A report saved before "ptr_terms": the PTR lookup alone tells. */
static void saved_before_ptr_terms(void **state)
{
	(void)state;
	sd_report *r = report("old.example", "fail", 1, NULL);
	query(r, "PTR", "10.2.0.192.in-addr.arpa", "ptr");
	sd_rules_judge(r);
	const json_t *f = finding(r, "spf.ptr_used");
	assert_non_null(f);
	assert_contains(summary(f), "the policy uses a ptr mechanism or the "
	    "%{p} macro, which RFC 7208 section 5.5 says not to use");
	sd_report_free(r);

	r = report("old.example", "pass", 1, NULL);
	sd_rules_judge(r);
	assert_null(finding(r, "spf.ptr_used"));
	sd_report_free(r);
	r = report("clean.example", "pass", 1, "[]");
	sd_rules_judge(r);
	assert_null(finding(r, "spf.ptr_used"));
	sd_report_free(r);
}

/* The words `spf` gives (and `domain` shares, rules/spf_rules.h): a pass
 * by a /0 inside an include names the include; 9 lookups say 1 left. */
static void shared_words(void **state)
{
	(void)state;
	sd_report *r = report("wide.example", "pass", 9, "[]");
	json_t *spf = json_object_get(r->extra, "spf");
	json_object_set_new(spf, "mechanism", json_string(
	    "include:_spf.wide.example"));
	json_object_set_new(spf, "mechanism_domain", json_string(
	    "wide.example"));
	json_object_set_new(spf, "matched", json_string("ip4:0.0.0.0/0"));
	json_object_set_new(spf, "matched_domain", json_string(
	    "_spf.wide.example"));
	json_object_set_new(spf, "void_lookups", json_integer(2));
	sd_rules_judge(r);
	assert_string_equal(sd_report_cause(r), "ok");
	assert_string_equal(summary(finding(r, "spf.allows_all")),
	    "\"ip4:0.0.0.0/0\" in the record of _spf.wide.example (reached "
	    "through \"include:_spf.wide.example\" in the record of "
	    "wide.example) authorizes every IPv4 address to send as "
	    "wide.example");
	assert_string_equal(summary(finding(r, "spf.lookups_near_limit")),
	    "this evaluation used 9 of the 10 DNS lookups SPF allows, 1 left "
	    "(RFC 7208 section 4.6.4): a sender matched later in the record, or "
	    "one more include, may need more and get permerror");
	assert_string_equal(summary(finding(r, "spf.void_lookups_at_limit")),
	    "2 lookups found nothing; one more gives permerror (RFC 7208 "
	    "section 4.6.4)");
	sd_report_free(r);

	assert_string_equal(sd_spf_open_to("+all", "ip6"),
	    "every address on the Internet");
	assert_string_equal(sd_spf_open_to("a/0//0", "ip6"),
	    "every IPv6 address");
	assert_null(sd_spf_open_to("ip4:0.0.0.0/0", "ip6"));
	assert_null(sd_spf_open_to("ip4:0.0.0.0/1", "ip4"));
	assert_null(sd_spf_open_to("include:x.example", "ip4"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ptr_not_reached),
		cmocka_unit_test(ptr_beside_a_permerror),
		cmocka_unit_test(saved_before_ptr_terms),
		cmocka_unit_test(shared_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
