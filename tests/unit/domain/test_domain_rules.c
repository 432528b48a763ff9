/*
 * The rules of `domain`, run on facts recorded from the lab
 * (tests/unit/domain/recorded/, made by tests/domain/run with
 * SD_RECORD_DIR) and on variations of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "report/facts.h"
#include "report/report.h"
#include "rules/domain_rules.h"

#define RECORDED "tests/unit/domain/recorded/"

static json_t *load(const char *name)
{
	char path[256];
	snprintf(path, sizeof path, RECORDED "%s.json", name);
	json_error_t err;
	json_t *doc = json_load_file(path, 0, &err);
	if (!doc)
		fail_msg("cannot read %s: %s", path, err.text);
	json_t *facts = json_incref(json_object_get(doc, "facts"));
	json_decref(doc);
	assert_true(json_is_array(facts));
	return facts;
}

static sd_report *judge(const json_t *facts)
{
	sd_report *r = sd_report_new("domain");
	assert_non_null(r);
	size_t i;
	json_t *f;
	json_array_foreach(facts, i, f)
		assert_int_equal(sd_fact_add_saved(r, json_deep_copy(f), NULL, 0), 0);
	sd_domain_rules(r);
	assert_non_null(r->verdict);
	return r;
}

static const char *vstr(const sd_report *r, const char *k)
{
	const char *s = json_string_value(json_object_get(r->verdict, k));
	return s ? s : "";
}

static json_t *finding(const sd_report *r, const char *code,
    const char *subject)
{
	size_t i;
	json_t *f;
	json_array_foreach(r->findings, i, f) {
		if (strcmp(json_string_value(json_object_get(f, "code")), code))
			continue;
		if (!subject || strcmp(json_string_value(json_object_get(f,
		    "subject")), subject) == 0)
			return f;
	}
	return NULL;
}

static json_t *fact(json_t *facts, const char *id)
{
	json_t *f = sd_fact_get(facts, id);
	if (!f)
		fail_msg("no fact %s", id);
	return f;
}

static const char *fix_text(const sd_report *r)
{
	static char buf[4096];
	buf[0] = '\0';
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(r->verdict, "fix"), i, s) {
		strncat(buf, json_string_value(s), sizeof buf - strlen(buf) - 2);
		strcat(buf, "\n");
	}
	return buf;
}

/* ---- recorded reports: the verdict comes back from the facts ---- */

static void recorded(void **state)
{
	(void)state;
	static const struct { const char *file, *cause; int exit; } cases[] = {
		{ "good", "ok", 0 },
		{ "nospf", "dns.spf_missing", 1 },
		{ "spf11", "dns.spf_permerror", 1 },
		{ "twospf", "dns.spf_permerror", 1 },
		{ "spffail", "dns.spf_fail", 1 },
		{ "softfail", "dns.spf_fail", 0 },
		{ "nodmarc", "dns.dmarc_missing", 0 },
		{ "baddmarc", "dns.dmarc_invalid", 1 },
		{ "reject-unsigned", "dns.dmarc_reject_unaligned", 1 },
		{ "reject-signed", "dns.spf_fail", 1 },
		{ "nullmx", "dns.mx_missing", 1 },
		{ "cnamemx", "dns.mx_missing", 1 },
		{ "noptr", "dns.ptr_missing", 1 },
		{ "fcrdns", "dns.fcrdns_mismatch", 1 },
		{ "dkim-revoked", "dns.dkim_invalid", 1 },
		{ "dkim-short", "dns.dkim_invalid", 1 },
		{ "inconsistent", "dns.inconsistent", 0 },
		{ "dnsbl-listed", "reputation.ip_listed", 1 },
		{ "dnsbl-listed-v6", "reputation.ip_listed", 1 },
		{ "dnsbl-refused", "reputation.dnsbl_refused", 0 },
		{ "dbl-listed", "reputation.domain_listed", 1 },
		{ "pbl-own", "ok", 0 },
		{ "sts-mismatch", "dns.mta_sts_invalid", 0 },
		{ "tlsrpt-bad", "dns.tlsrpt_invalid", 0 },
		{ "dane-mismatch", "dns.dane_mismatch", 1 },
		{ "dane-ok", "ok", 0 },
		{ "bogus", "dns.resolution_failed", 1 },
		{ "spf-allows-all", "ok", 0 },
		{ "spf-allows-all-include", "ok", 0 },
		{ "spf-near-limit", "ok", 0 },
		{ "spf-voids", "ok", 0 },
		{ "spf-ptr-reached", "dns.spf_fail", 1 },
		{ "spf-ptr-permerror", "dns.spf_permerror", 1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *facts = load(cases[i].file);
		sd_report *r = judge(facts);
		if (strcmp(sd_report_cause(r), cases[i].cause) != 0)
			fail_msg("%s: verdict %s, expected %s (%s)",
			    cases[i].file, sd_report_cause(r), cases[i].cause,
			    vstr(r, "summary"));
		assert_int_equal(sd_report_exit_code(r), cases[i].exit);
		/* every finding names its code, severity, category, subject */
		size_t k;
		json_t *f;
		json_array_foreach(r->findings, k, f) {
			assert_non_null(json_string_value(json_object_get(f,
			    "severity")));
			assert_non_null(json_string_value(json_object_get(f,
			    "category")));
			assert_true(strlen(json_string_value(json_object_get(f,
			    "subject"))) > 0);
		}
		sd_report_free(r);
		json_decref(facts);
	}
}

static void recorded_details(void **state)
{
	(void)state;
	json_t *facts = load("reject-unsigned");
	sd_report *r = judge(facts);
	json_t *f = finding(r, "dns.dmarc_reject_unaligned", "198.18.0.1");
	assert_non_null(f);
	assert_non_null(strstr(json_string_value(json_object_get(f, "summary")),
	    "reject"));
	assert_non_null(finding(r, "dns.spf_fail", "198.18.0.1"));
	assert_non_null(strstr(fix_text(r), "DKIM"));
	sd_report_free(r);
	json_decref(facts);

	facts = load("pbl-own");
	r = judge(facts);
	assert_non_null(finding(r, "info.ip_policy_listed", "198.18.0.88"));
	assert_null(finding(r, "reputation.ip_listed", NULL));
	sd_report_free(r);
	json_decref(facts);

	facts = load("dane-mismatch");
	r = judge(facts);
	const char *spki = json_string_value(json_object_get(
	    fact(facts, "domain.dane.mx.dane.example"), "leaf_spki_sha256"));
	assert_non_null(spki);
	assert_non_null(strstr(fix_text(r), spki));
	sd_report_free(r);
	json_decref(facts);
}

/* The spf.* warnings of the lab's runs come back, word for word, when
 * their facts are judged again (a saved report, or `explain`). */
static void recorded_spf_warnings(void **state)
{
	(void)state;
	static const char *const files[] = { "spf-allows-all",
	    "spf-allows-all-include", "spf-near-limit", "spf-voids",
	    "spf-ptr-reached", "spf-ptr-permerror" };
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char path[256];
		snprintf(path, sizeof path, RECORDED "%s.json", files[i]);
		json_t *doc = json_load_file(path, 0, NULL);
		assert_non_null(doc);
		json_t *facts = load(files[i]);
		sd_report *r = judge(facts);
		size_t k, n = 0;
		json_t *f;
		json_array_foreach(json_object_get(doc, "findings"), k, f) {
			const char *code = json_string_value(json_object_get(f,
			    "code"));
			if (strncmp(code, "spf.", 4) != 0)
				continue;
			n++;
			json_t *g = finding(r, code, json_string_value(
			    json_object_get(f, "subject")));
			if (!g || !json_equal(json_object_get(f, "summary"),
			    json_object_get(g, "summary")))
				fail_msg("%s: %s not given again as recorded",
				    files[i], code);
		}
		assert_int_equal(n, 1);
		sd_report_free(r);
		json_decref(facts);
		json_decref(doc);
	}
}

/* ---- variations of the good domain ---- */

static void null_mx(void **state)
{
	(void)state;
	json_t *facts = load("good");
	json_object_set_new(fact(facts, "domain.mx"), "null_mx", json_true());
	json_object_set_new(fact(facts, "domain.mx"), "hosts", json_array());
	sd_report *r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.mx_missing");
	assert_non_null(strstr(vstr(r, "summary"), "null MX"));
	sd_report_free(r);
	json_decref(facts);
}

static void spf_missing_proposes_record(void **state)
{
	(void)state;
	json_t *facts = load("good");
	json_t *t = fact(facts, "domain.spf");
	json_object_set_new(t, "status", json_string("none"));
	json_object_set_new(t, "record", json_null());
	json_t *ip = fact(facts, "domain.spf.198.18.0.1");
	json_object_set_new(ip, "result", json_string("none"));
	sd_report *r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.spf_missing");
	assert_non_null(strstr(fix_text(r), "\"v=spf1 ip4:198.18.0.1 ~all\""));
	/* one finding for one missing record */
	size_t n = 0, i;
	json_t *f;
	json_array_foreach(r->findings, i, f)
		n += strcmp(json_string_value(json_object_get(f, "code")),
		    "dns.spf_missing") == 0;
	assert_int_equal(n, 1);
	sd_report_free(r);
	json_decref(facts);
}

static void spf_too_many_lookups(void **state)
{
	(void)state;
	json_t *facts = load("good");
	json_object_set_new(fact(facts, "domain.spf"), "lookup_terms",
	    json_integer(12));
	sd_report *r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.spf_permerror");
	assert_non_null(strstr(vstr(r, "summary"), "12"));
	sd_report_free(r);
	json_decref(facts);
}

static void softfail_is_warn_and_listing_wins(void **state)
{
	(void)state;
	json_t *facts = load("good");
	json_t *ip = fact(facts, "domain.spf.198.18.0.1");
	json_object_set_new(ip, "result", json_string("softfail"));
	sd_report *r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.spf_fail");
	assert_string_equal(vstr(r, "status"), "warn");
	assert_int_equal(sd_report_exit_code(r), 0);
	assert_non_null(strstr(fix_text(r), "ip4:198.18.0.1 -all"));
	sd_report_free(r);

	/* a listing stops mail before SPF is even looked at */
	json_t *bl = fact(facts, "reputation.dnsbl.dnsbl.lab.example.198.18.0.1");
	json_object_set_new(bl, "status", json_string("ok"));
	json_object_set_new(bl, "answers", json_pack("[{s:s, s:s, s:s}]",
	    "address", "127.0.0.2", "class", "listed", "meaning", "spam"));
	json_object_set_new(bl, "txt", json_string("see http://x.example/"));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "reputation.ip_listed");
	assert_string_equal(vstr(r, "status"), "fail");
	assert_non_null(strstr(vstr(r, "summary"), "see http://x.example/"));
	assert_non_null(finding(r, "dns.spf_fail", "198.18.0.1"));
	sd_report_free(r);

	/* an error code is a refusal, never a listing */
	json_object_set_new(bl, "answers", json_pack("[{s:s, s:s, s:s}]",
	    "address", "127.255.255.254", "class", "error", "meaning", "x"));
	json_object_set_new(ip, "result", json_string("pass"));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "reputation.dnsbl_refused");
	assert_string_equal(vstr(r, "status"), "warn");
	assert_null(finding(r, "reputation.ip_listed", NULL));
	sd_report_free(r);
	json_decref(facts);
}

static size_t count_code(const sd_report *r, const char *code)
{
	size_t i, n = 0;
	json_t *f;
	json_array_foreach(r->findings, i, f)
		n += strcmp(json_string_value(json_object_get(f, "code")),
		    code) == 0;
	return n;
}

/* The verdict's evidence is `want` (compact JSON). */
static void evidence_is(const sd_report *r, const char *want)
{
	char *ev = json_dumps(json_object_get(r->verdict, "evidence"),
	    JSON_COMPACT);
	assert_string_equal(ev, want);
	free(ev);
}

static void dead_resolver(void **state)
{
	(void)state;
	json_t *facts = json_pack("[{s:s, s:s, s:s, s:s, s:[s]}, "
	    "{s:s, s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s, s:s}]",
	    "id", "domain.inputs", "stage", "domain", "check", "inputs",
	    "domain", "example.com", "ips", "192.0.2.1",
	    "id", "dns.MX.example.com", "stage", "domain", "check", "lookup",
	    "name", "example.com", "type", "MX", "status", "timeout",
	    "id", "dns.SOA.example.com", "stage", "domain", "check", "lookup",
	    "name", "example.com", "type", "SOA", "status", "timeout");
	sd_report *r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.resolution_failed");
	assert_non_null(finding(r, "dns.resolution_failed", "resolver"));
	sd_report_free(r);
	json_decref(facts);
}

/* Every lookup of the domain timed out, while the same resolver answered
 * check's lookup of its server: the domain's name servers are dead, not
 * the resolver (the lab's sender-domain-lookups-fail). */
static void dead_name_servers(void **state)
{
	(void)state;
	json_t *facts = json_pack("[{s:s, s:s, s:s, s:s, s:[]}, "
	    "{s:s, s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s, s:s}, "
	    "{s:s, s:s, s:s, s:s, s:s, s:b}, {s:s, s:s, s:s, s:s, s:s}, "
	    "{s:s, s:s, s:s, s:s, s:s, s:s}]",
	    "id", "domain.inputs", "stage", "domain", "check", "inputs",
	    "domain", "example.com", "ips",
	    "id", "dns.MX.example.com", "stage", "domain", "check", "lookup",
	    "name", "example.com", "type", "MX", "status", "timeout",
	    "id", "dns.SOA.example.com", "stage", "domain", "check", "lookup",
	    "name", "example.com", "type", "SOA", "status", "timeout",
	    "id", "domain.spf", "stage", "domain", "check", "spf_record",
	    "domain", "example.com", "status", "temperror", "timed_out", 1,
	    "id", "domain.dmarc", "stage", "domain", "check", "dmarc",
	    "domain", "example.com", "found", "lookup_failed",
	    "id", "dns.A.smtp.example.net", "kind", "dns", "stage", "dns",
	    "host", "smtp.example.net", "type", "A", "status", "ok");
	sd_report *r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.resolution_failed");
	assert_null(finding(r, "dns.resolution_failed", "resolver"));
	json_t *f = finding(r, "dns.resolution_failed", "example.com");
	assert_non_null(f);
	const char *sum = vstr(r, "summary");
	assert_non_null(strstr(sum, "(TXT example.com (SPF), TXT "
	    "_dmarc.example.com (DMARC), MX example.com, SOA example.com)"));
	assert_non_null(strstr(sum, "answered for smtp.example.net"));
	assert_null(strstr(sum, "resolver answered none"));
	assert_non_null(strstr(fix_text(r), "name servers of example.com"));
	evidence_is(r, "[\"dns.MX.example.com\",\"dns.SOA.example.com\","
	    "\"domain.spf\",\"domain.dmarc\",\"dns.A.smtp.example.net\"]");
	sd_report_free(r);

	/* SERVFAIL (a lame delegation) the same: one finding, not one a
	 * lookup */
	for (size_t i = 0; i < json_array_size(facts); i++) {
		json_t *l = json_array_get(facts, i);
		const char *c = json_string_value(json_object_get(l, "check"));
		if (c && strcmp(c, "lookup") == 0)
			json_object_set_new(l, "status", json_string("servfail"));
	}
	r = judge(facts);
	assert_non_null(strstr(vstr(r, "summary"), "every lookup of example.com "
	    "failed with SERVFAIL or no answer (TXT example.com (SPF), TXT "
	    "_dmarc.example.com (DMARC), MX example.com, SOA example.com)"));
	assert_int_equal(count_code(r, "dns.resolution_failed"), 1);
	sd_report_free(r);

	/* without that answer, nothing says the resolver is alive, nor that
	 * the domain's servers are the ones that fail */
	json_array_remove(facts, json_array_size(facts) - 1);
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.resolution_failed");
	assert_null(strstr(vstr(r, "summary"), "name servers do not answer"));
	sd_report_free(r);
	json_decref(facts);
}

/* The facts of `domain` alone for a domain whose every lookup failed
 * (`st`): no check lookups of a server beside them. */
static json_t *blind_facts(const char *st)
{
	return json_pack("[{s:s, s:s, s:s, s:s, s:[s], s:[s]}, "
	    "{s:s, s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s, s:s}, "
	    "{s:s, s:s, s:s, s:s, s:s, s:b}, {s:s, s:s, s:s, s:s, s:s}, "
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}, "
	    "{s:s, s:s, s:s, s:s, s:s, s:s}]",
	    "id", "domain.inputs", "stage", "domain", "check", "inputs",
	    "domain", "example.com", "ips", "192.0.2.1", "selectors", "s1",
	    "id", "dns.MX.example.com", "stage", "domain", "check", "lookup",
	    "name", "example.com", "type", "MX", "status", st,
	    "id", "dns.SOA.example.com", "stage", "domain", "check", "lookup",
	    "name", "example.com", "type", "SOA", "status", st,
	    "id", "domain.spf", "stage", "domain", "check", "spf_record",
	    "domain", "example.com", "status", "temperror", "timed_out",
	    strcmp(st, "timeout") == 0,
	    "id", "domain.dmarc", "stage", "domain", "check", "dmarc",
	    "domain", "example.com", "found", "lookup_failed",
	    "id", "domain.dkim.s1", "stage", "domain", "check", "dkim_key",
	    "selector", "s1", "domain", "example.com", "name",
	    "s1._domainkey.example.com", "source", "common", "lookup",
	    "failed", "dns_status", st,
	    "id", "domain.spf.192.0.2.1", "stage", "domain", "check", "spf",
	    "ip", "192.0.2.1", "result", "temperror", "problem",
	    "the TXT lookup of example.com failed (SERVFAIL)");
}

/* `domain` alone: the answers it had outside the domain (the sending
 * address's PTR name, a list's zone) or its control lookup of the root
 * zone's name servers show the resolver alive; a failed control shows it
 * dead.  Either way one finding, not one a lookup. */
static void blind_domain(void **state)
{
	(void)state;
	json_t *facts = blind_facts("servfail");
	sd_report *r = judge(facts);
	/* nothing proves the resolver alive: a lookup at a time, as before */
	assert_int_equal(count_code(r, "dns.resolution_failed") > 1, 1);
	sd_report_free(r);

	/* the sending address's reverse name answered */
	json_array_append_new(facts, json_pack("{s:s, s:s, s:s, s:s, s:s, "
	    "s:s}", "id", "dns.PTR.1.2.0.192.in-addr.arpa", "stage", "domain",
	    "check", "lookup", "name", "1.2.0.192.in-addr.arpa", "type", "PTR",
	    "status", "nxdomain"));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.resolution_failed");
	assert_int_equal(count_code(r, "dns.resolution_failed"), 1);
	assert_non_null(finding(r, "dns.resolution_failed", "example.com"));
	assert_non_null(strstr(vstr(r, "summary"), "every lookup of example.com "
	    "failed with SERVFAIL or no answer (TXT example.com (SPF), TXT "
	    "_dmarc.example.com (DMARC), MX example.com, SOA example.com), "
	    "while the same resolver answered for 1.2.0.192.in-addr.arpa: "
	    "the domain's name servers do not answer"));
	assert_null(finding(r, "dns.resolution_failed", "s1"));
	assert_null(finding(r, "dns.resolution_failed", "192.0.2.1"));
	sd_report_free(r);
	json_array_remove(facts, json_array_size(facts) - 1);

	/* a list's zone answered (the name ends in the zone, not the
	 * domain) */
	json_array_append_new(facts, json_pack("{s:s, s:s, s:s, s:s, s:s, "
	    "s:s}", "id", "dns.A.example.com.dbl.example.net", "stage",
	    "reputation", "check", "lookup", "name",
	    "example.com.dbl.example.net", "type", "A", "status", "nxdomain"));
	r = judge(facts);
	assert_int_equal(count_code(r, "dns.resolution_failed"), 1);
	assert_non_null(strstr(vstr(r, "summary"),
	    "answered for example.com.dbl.example.net"));
	sd_report_free(r);
	json_array_remove(facts, json_array_size(facts) - 1);

	/* the control lookup answered */
	json_t *control = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id",
	    "domain.control", "stage", "domain", "check", "lookup", "name",
	    ".", "type", "NS", "status", "ok");
	json_array_append(facts, control);
	r = judge(facts);
	assert_int_equal(count_code(r, "dns.resolution_failed"), 1);
	assert_non_null(strstr(vstr(r, "summary"), "while the same resolver "
	    "answered for the root zone's name servers: the domain's name "
	    "servers do not answer"));
	assert_non_null(strstr(fix_text(r), "name servers of example.com"));
	evidence_is(r, "[\"dns.MX.example.com\",\"dns.SOA.example.com\","
	    "\"domain.spf\",\"domain.dmarc\",\"domain.control\"]");
	sd_report_free(r);

	/* the control failed too: the resolver, once */
	json_object_set_new(control, "status", json_string("timeout"));
	r = judge(facts);
	assert_int_equal(count_code(r, "dns.resolution_failed"), 1);
	assert_non_null(finding(r, "dns.resolution_failed", "resolver"));
	assert_string_equal(vstr(r, "summary"), "the resolver answered none "
	    "of 3 queries, not even the root zone's name servers (NS .), "
	    "which every resolver has");
	assert_non_null(strstr(fix_text(r), "check the resolver"));
	sd_report_free(r);
	/* a control never asked (its deadline had passed) proves nothing:
	 * as with no control, a finding a lookup */
	json_object_set_new(control, "asked", json_false());
	r = judge(facts);
	assert_null(finding(r, "dns.resolution_failed", "resolver"));
	assert_int_equal(count_code(r, "dns.resolution_failed") > 1, 1);
	sd_report_free(r);
	json_decref(control);
	json_decref(facts);

	/* every lookup timed out, the control too */
	facts = blind_facts("timeout");
	json_array_append_new(facts, json_pack("{s:s, s:s, s:s, s:s, s:s, "
	    "s:s}", "id", "domain.control", "stage", "domain", "check",
	    "lookup", "name", ".", "type", "NS", "status", "timeout"));
	r = judge(facts);
	assert_int_equal(count_code(r, "dns.resolution_failed"), 1);
	assert_non_null(strstr(vstr(r, "summary"), "the resolver answered "
	    "none of 3 queries before the deadline, not even"));
	sd_report_free(r);
	json_decref(facts);
}

static void deadline_is_inconclusive(void **state)
{
	(void)state;
	json_t *facts = load("good");
	json_array_append_new(facts, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
	    "id", "dns.TXT.x._domainkey.good.example", "stage", "domain",
	    "check", "lookup", "name", "x._domainkey.good.example",
	    "type", "TXT", "status", "timeout"));
	sd_report *r = judge(facts);
	assert_string_equal(sd_report_cause(r), "inconclusive");
	assert_int_equal(sd_report_exit_code(r), 3);
	sd_report_free(r);

	/* a check that never reported is named */
	size_t i;
	json_t *f;
	json_array_foreach(facts, i, f)
		if (strcmp(json_string_value(json_object_get(f, "id")),
		    "domain.mx") == 0) {
			json_array_remove(facts, i);
			break;
		}
	json_array_remove(facts, json_array_size(facts) - 1);
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "inconclusive");
	assert_non_null(strstr(vstr(r, "summary"), "MX"));
	sd_report_free(r);
	json_decref(facts);
}

static void bogus_lookup(void **state)
{
	(void)state;
	json_t *facts = load("good");
	json_array_append_new(facts, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, "
	    "s:s}", "id", "dns.TLSA._25._tcp.mx.good.example", "stage",
	    "domain", "check", "lookup", "name", "_25._tcp.mx.good.example",
	    "type", "TLSA", "status", "bogus", "why_bogus", "signature expired"));
	sd_report *r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.resolution_failed");
	assert_non_null(strstr(vstr(r, "summary"), "signature expired"));
	assert_non_null(finding(r, "dns.resolution_failed",
	    "_25._tcp.mx.good.example"));
	sd_report_free(r);
	json_decref(facts);
}

static void servers_disagree(void **state)
{
	(void)state;
	json_t *facts = load("good");
	json_t *s = fact(facts, "domain.ns_server.127.0.0.3");
	json_object_set_new(s, "soa", json_pack("{s:s, s:[s]}", "status", "ok",
	    "records", "serial 1"));
	sd_report *r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.inconsistent");
	assert_non_null(strstr(vstr(r, "summary"), "serial 1"));
	assert_non_null(strstr(vstr(r, "summary"), "serial 2"));
	sd_report_free(r);
	/* another address of the same server answered: out of reach here */
	json_t *s2 = fact(facts, "domain.ns_server.127.0.0.2");
	json_object_set_new(s, "ns", json_string(json_string_value(
	    json_object_get(s2, "ns"))));
	json_object_set_new(s, "soa", json_pack("{s:s, s:[]}", "status",
	    "servfail", "records"));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "ok");
	assert_non_null(finding(r, "info.ns_unreachable", NULL));
	sd_report_free(r);
	json_object_set_new(s, "ns", json_string("ns2.lab.example"));
	/* a server that does not answer */
	json_object_set_new(s, "soa", json_pack("{s:s, s:[]}", "status",
	    "timeout", "records"));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.inconsistent");
	assert_non_null(strstr(vstr(r, "summary"), "does not answer"));
	sd_report_free(r);
	json_decref(facts);
}

static void mta_sts_modes(void **state)
{
	(void)state;
	json_t *facts = load("good");
	json_t *f = fact(facts, "domain.mta_sts");
	json_object_set_new(f, "records", json_pack("[s]", "v=STSv1; id=1"));
	json_object_set_new(f, "policy", json_pack("{s:b, s:s, s:i, s:[s]}",
	    "version_ok", 1, "mode", "enforce", "max_age", 86400, "mx",
	    "*.other.example"));
	sd_report *r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.mta_sts_invalid");
	assert_non_null(finding(r, "dns.mta_sts_invalid", "mx.good.example"));
	assert_non_null(strstr(vstr(r, "summary"), "refuse"));
	sd_report_free(r);
	json_object_set_new(json_object_get(f, "policy"), "mx",
	    json_pack("[s]", "*.good.example"));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "ok");
	assert_non_null(finding(r, "info.mta_sts", NULL));
	sd_report_free(r);
	json_object_set_new(f, "fetch_error", json_string("HTTP status 404"));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.mta_sts_invalid");
	assert_non_null(strstr(vstr(r, "summary"), "404"));
	sd_report_free(r);
	json_decref(facts);
}

static void dane_rules(void **state)
{
	(void)state;
	json_t *facts = load("good");
	json_t *d = fact(facts, "domain.dane.mx.good.example");
	json_object_set_new(d, "status", json_string("ok"));
	json_object_set_new(d, "secure", json_false());
	json_object_set_new(d, "usable", json_integer(1));
	json_object_set_new(d, "records", json_pack("[{s:s}]", "record",
	    "3 1 1 00"));
	sd_report *r = judge(facts);
	/* no --trust-anchor: nothing was validated, DANE is not judged */
	assert_string_equal(sd_report_cause(r), "ok");
	assert_non_null(finding(r, "info.dane_unvalidated", "mx.good.example"));
	sd_report_free(r);
	json_object_set_new(fact(facts, "domain.inputs"), "trust_anchor",
	    json_string("/etc/root.key"));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "ok");   /* not in force */
	assert_non_null(finding(r, "info.dane_insecure", "mx.good.example"));
	sd_report_free(r);
	json_object_set_new(d, "secure", json_true());
	json_object_set_new(d, "checked", json_false());
	json_object_set_new(d, "attempts", json_pack("[{s:s, s:s}]",
	    "address", "192.0.2.25", "connect", "timeout"));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "ok");   /* port 25 blocked */
	assert_non_null(finding(r, "info.dane_unchecked", "mx.good.example"));
	sd_report_free(r);
	json_object_set_new(d, "attempts", json_pack("[{s:s, s:s, s:b}]",
	    "address", "192.0.2.25", "connect", "connected",
	    "starttls_offered", 0));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.dane_mismatch");
	assert_non_null(strstr(vstr(r, "summary"), "STARTTLS"));
	sd_report_free(r);
	json_decref(facts);
}

static void resolver_setup_failed(void **state)
{
	(void)state;
	json_t *facts = json_pack("[{s:s, s:s, s:s, s:s}]", "id",
	    "domain.resolver", "stage", "domain", "check", "resolver",
	    "error", "invalid --resolver address");
	sd_report *r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.resolution_failed");
	assert_non_null(strstr(vstr(r, "summary"), "invalid --resolver"));
	sd_report_free(r);
	json_decref(facts);
}

static void spf_add_term(void **state)
{
	(void)state;
	char *s = sd_domain_spf_add_term("v=spf1 mx -all", "ip4:192.0.2.1");
	assert_string_equal(s, "v=spf1 mx ip4:192.0.2.1 -all");
	free(s);
	s = sd_domain_spf_add_term("v=spf1 include:_spf.example.com ~ALL",
	    "ip6:2001:db8::1");
	assert_string_equal(s, "v=spf1 include:_spf.example.com "
	    "ip6:2001:db8::1 ~ALL");
	free(s);
	s = sd_domain_spf_add_term("v=spf1 a redirect=_spf.example.com",
	    "ip4:192.0.2.1");
	assert_string_equal(s, "v=spf1 a ip4:192.0.2.1 redirect=_spf.example.com");
	free(s);
	s = sd_domain_spf_add_term("v=spf1 a  ", "ip4:192.0.2.1");
	assert_string_equal(s, "v=spf1 a ip4:192.0.2.1");
	free(s);
	/* "allow" is not "all" */
	s = sd_domain_spf_add_term("v=spf1 exists:allow.example.com -all",
	    "ip4:192.0.2.1");
	assert_string_equal(s, "v=spf1 exists:allow.example.com ip4:192.0.2.1 "
	    "-all");
	free(s);
	assert_null(sd_domain_spf_add_term("v=spf10 -all", "ip4:192.0.2.1"));
	assert_null(sd_domain_spf_add_term(NULL, "ip4:192.0.2.1"));
}

/* ---- the warnings of `spf` about the same record ---- */

static void assert_summary(const sd_report *r, const char *code,
    const char *subject, const char *want)
{
	json_t *f = finding(r, code, subject);
	if (!f)
		fail_msg("no finding %s [%s]; verdict %s: %s", code, subject,
		    sd_report_cause(r), vstr(r, "summary"));
	const char *got = json_string_value(json_object_get(f, "summary"));
	assert_string_equal(json_string_value(json_object_get(f, "severity")),
	    "warning");
	if (!strstr(got, want))
		fail_msg("%s [%s]: \"%s\" lacks \"%s\"", code, subject, got,
		    want);
}

static size_t n_findings(const sd_report *r, const char *code)
{
	size_t n = 0, i;
	json_t *f;
	json_array_foreach(r->findings, i, f)
		n += strcmp(json_string_value(json_object_get(f, "code")),
		    code) == 0;
	return n;
}

static json_t *ref(const char *term, const char *domain)
{
	return json_pack("{s:s, s:s}", "term", term, "domain", domain);
}

/* +all, or a /0 term inside an include: from the record tree alone (no
 * --ip, as batch lines come) and from an address's pass; never the
 * verdict, which stays what it was. */
static void spf_allows_all(void **state)
{
	(void)state;
	json_t *facts = load("good");
	json_t *t = fact(facts, "domain.spf");
	json_object_set_new(t, "open_terms", json_pack("[{s:s, s:s, s:n, "
	    "s:n, s:[ss]}]", "term", "+all", "domain", "good.example", "via",
	    "via_domain", "families", "ip4", "ip6"));
	sd_report *r = judge(facts);
	assert_string_equal(sd_report_cause(r), "ok");
	assert_int_equal(sd_report_exit_code(r), 0);
	assert_summary(r, "spf.allows_all", "good.example", "\"+all\" in the "
	    "record of good.example authorizes every address on the Internet "
	    "to send as good.example");
	sd_report_free(r);

	/* beside a softfail, the verdict is still the softfail */
	json_t *ip = fact(facts, "domain.spf.198.18.0.1");
	json_object_set_new(ip, "result", json_string("softfail"));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.spf_fail");
	assert_non_null(finding(r, "spf.allows_all", "good.example"));
	sd_report_free(r);

	/* the pass of an address by a /0 inside an include */
	json_object_set_new(t, "open_terms", json_array());
	json_object_set_new(ip, "result", json_string("pass"));
	json_object_set_new(ip, "mechanism", json_string(
	    "include:_spf.good.example"));
	json_object_set_new(ip, "matched", json_string("ip4:0.0.0.0/0"));
	json_object_set_new(ip, "matched_domain", json_string(
	    "_spf.good.example"));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "ok");
	assert_summary(r, "spf.allows_all", "good.example", "\"ip4:0.0.0.0/0\" "
	    "in the record of _spf.good.example (reached through "
	    "\"include:_spf.good.example\" in the record of good.example) "
	    "authorizes every IPv4 address to send as good.example");
	sd_report_free(r);

	/* a record over the limit is broken, not open */
	json_object_set_new(ip, "matched", json_string("ip4:198.18.0.0/24"));
	json_object_set_new(t, "open_terms", json_pack("[{s:s, s:s, s:[s]}]",
	    "term", "+all", "domain", "good.example", "families", "ip4"));
	json_object_set_new(t, "lookup_terms", json_integer(11));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.spf_permerror");
	assert_null(finding(r, "spf.allows_all", NULL));
	sd_report_free(r);
	json_decref(facts);
}

/* 8 to 10 lookups: a warning saying how many are left; over 10 the
 * permerror alone, as `spf` does. */
static void spf_lookups_near_limit(void **state)
{
	(void)state;
	json_t *facts = load("good");
	json_t *t = fact(facts, "domain.spf");
	json_object_set_new(t, "lookup_terms", json_integer(7));
	sd_report *r = judge(facts);
	assert_null(finding(r, "spf.lookups_near_limit", NULL));
	sd_report_free(r);
	json_object_set_new(t, "lookup_terms", json_integer(9));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "ok");
	assert_summary(r, "spf.lookups_near_limit", "good.example", "an "
	    "evaluation that reaches every term of the SPF record of "
	    "good.example uses 9 of the 10 DNS lookups SPF allows, 1 left "
	    "(RFC 7208 section 4.6.4)");
	sd_report_free(r);
	json_object_set_new(t, "lookup_terms", json_integer(10));
	r = judge(facts);
	assert_summary(r, "spf.lookups_near_limit", "good.example",
	    "10 of the 10 DNS lookups SPF allows, none left");
	sd_report_free(r);
	json_object_set_new(t, "lookup_terms", json_integer(11));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.spf_permerror");
	assert_null(finding(r, "spf.lookups_near_limit", NULL));
	sd_report_free(r);

	/* an evaluation that used more than the tree could count (an
	 * include with macros): its own words, one finding */
	json_object_set_new(t, "lookup_terms", json_integer(7));
	json_t *ip = fact(facts, "domain.spf.198.18.0.1");
	json_object_set_new(ip, "lookups", json_integer(8));
	r = judge(facts);
	assert_summary(r, "spf.lookups_near_limit", "good.example", "the "
	    "evaluation for 198.18.0.1 used 8 of the 10 DNS lookups SPF "
	    "allows, 2 left");
	assert_int_equal(n_findings(r, "spf.lookups_near_limit"), 1);
	sd_report_free(r);
	/* its permerror makes the limit warnings moot */
	json_object_set_new(ip, "result", json_string("permerror"));
	json_object_set_new(ip, "void_lookups", json_integer(2));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.spf_permerror");
	assert_null(finding(r, "spf.lookups_near_limit", NULL));
	assert_null(finding(r, "spf.void_lookups_at_limit", NULL));
	sd_report_free(r);
	json_decref(facts);
}

static void spf_void_lookups(void **state)
{
	(void)state;
	json_t *facts = load("good");
	json_t *ip = fact(facts, "domain.spf.198.18.0.1");
	json_object_set_new(ip, "void_lookups", json_integer(1));
	sd_report *r = judge(facts);
	assert_null(finding(r, "spf.void_lookups_at_limit", NULL));
	sd_report_free(r);
	json_object_set_new(ip, "void_lookups", json_integer(2));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "ok");
	assert_summary(r, "spf.void_lookups_at_limit", "good.example", "in the "
	    "evaluation for 198.18.0.1, 2 lookups found nothing; one more "
	    "gives permerror (RFC 7208 section 4.6.4)");
	sd_report_free(r);
	json_decref(facts);
}

/* ptr and %{p} in the tree and in what the evaluations fetched, each term
 * once; beside a permerror, apart from it; a report saved before the
 * lists has the tree's count of ptr. */
static void spf_ptr_used(void **state)
{
	(void)state;
	json_t *facts = load("good");
	json_t *t = fact(facts, "domain.spf");
	json_t *ip = fact(facts, "domain.spf.198.18.0.1");
	json_object_set_new(t, "ptr_term_list", json_pack("[o]",
	    ref("ptr", "good.example")));
	json_object_set_new(ip, "ptr_terms", json_pack("[o, o]",
	    ref("ptr", "GOOD.example"), ref("exists:%{p}.x.example",
	    "_spf.good.example")));
	sd_report *r = judge(facts);
	assert_string_equal(sd_report_cause(r), "ok");
	assert_summary(r, "spf.ptr_used", "good.example", "the policy uses "
	    "\"ptr\" in the record of good.example, \"exists:%{p}.x.example\" "
	    "in the record of _spf.good.example, which RFC 7208 section 5.5 "
	    "says not to use: reverse DNS is slow and less reliable, and a PTR "
	    "lookup that fails makes ptr not match; an evaluation that reaches "
	    "them looks up the client's PTR names");
	assert_int_equal(n_findings(r, "spf.ptr_used"), 1);
	sd_report_free(r);

	json_object_set_new(ip, "dns", json_pack("[{s:s, s:s, s:s}]", "name",
	    "1.0.18.198.in-addr.arpa", "type", "PTR", "status", "ok"));
	json_object_set_new(t, "lookup_terms", json_integer(12));
	r = judge(facts);
	assert_string_equal(sd_report_cause(r), "dns.spf_permerror");
	assert_summary(r, "spf.ptr_used", "good.example", "apart from the "
	    "permerror, the policy uses \"ptr\" in the record of good.example");
	assert_summary(r, "spf.ptr_used", "good.example", "; the evaluation "
	    "for 198.18.0.1 looked up the client's PTR names");
	sd_report_free(r);

	json_object_del(t, "ptr_term_list");
	json_object_del(ip, "ptr_terms");
	json_object_set_new(ip, "dns", json_array());
	json_object_set_new(t, "lookup_terms", json_integer(1));
	json_object_set_new(t, "ptr_terms", json_integer(1));
	r = judge(facts);
	assert_summary(r, "spf.ptr_used", "good.example", "the policy uses a "
	    "ptr mechanism or the %{p} macro");
	sd_report_free(r);
	json_object_set_new(t, "ptr_terms", json_integer(0));
	r = judge(facts);
	assert_null(finding(r, "spf.ptr_used", NULL));
	sd_report_free(r);
	json_decref(facts);
}

static void order_uses_spec_codes(void **state)
{
	(void)state;
	size_t n = 0;
	for (size_t i = 0; sd_domain_verdict_order[i]; i++, n++) {
		sd_code row;
		const sd_code *c = sd_code_lookup(sd_domain_verdict_order[i],
		    &row);
		if (!c)
			fail_msg("%s is not a verdict code",
			    sd_domain_verdict_order[i]);
	}
	assert_true(n >= 19);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(recorded),
		cmocka_unit_test(recorded_details),
		cmocka_unit_test(recorded_spf_warnings),
		cmocka_unit_test(null_mx),
		cmocka_unit_test(spf_missing_proposes_record),
		cmocka_unit_test(spf_too_many_lookups),
		cmocka_unit_test(softfail_is_warn_and_listing_wins),
		cmocka_unit_test(dead_resolver),
		cmocka_unit_test(dead_name_servers),
		cmocka_unit_test(blind_domain),
		cmocka_unit_test(deadline_is_inconclusive),
		cmocka_unit_test(bogus_lookup),
		cmocka_unit_test(servers_disagree),
		cmocka_unit_test(mta_sts_modes),
		cmocka_unit_test(dane_rules),
		cmocka_unit_test(resolver_setup_failed),
		cmocka_unit_test(spf_add_term),
		cmocka_unit_test(spf_allows_all),
		cmocka_unit_test(spf_lookups_near_limit),
		cmocka_unit_test(spf_void_lookups),
		cmocka_unit_test(spf_ptr_used),
		cmocka_unit_test(order_uses_spec_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
