/*
 * SPF beyond the suites: hostile and broken input (huge records, loops,
 * deep include chains, bytes that are not ASCII, NUL bytes, a resolver
 * that never answers), the macro examples of RFC 7208 §7.4, the syntax
 * parser's messages and the lookup counter of a record tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/spf.h"
#include "util/util.h"
#include "test_spf_zone.h"

/* the deadline of the last eval_in */
static int64_t eval_deadline;

/* Evaluates against zone z with a deadline `ms` from now. */
static sd_error eval_in(spfz_zone *z, const char *ip, const char *sender,
    const char *helo, int64_t ms, sd_spf_result *out)
{
	sd_resolver *res = spfz_resolver(z);
	assert_non_null(res);
	memset(out, 0, sizeof *out);
	eval_deadline = sd_now_ms() + ms;
	sd_error rc = sd_spf_eval(res, ip, sender, helo, eval_deadline, out);
	sd_resolver_free(res);
	return rc;
}

/* Non-zero when some trace line contains `needle`. */
static int trace_has(const sd_spf_result *r, const char *needle)
{
	for (size_t i = 0; i < r->n_trace; i++)
		if (strstr(r->trace[i], needle))
			return 1;
	return 0;
}

static void dump(const sd_spf_result *r)
{
	print_message("# result %s, problem: %s\n", sd_spf_code_name(r->result),
	    r->problem ? r->problem : "-");
	for (size_t i = 0; i < r->n_trace; i++)
		print_message("#   %s\n", r->trace[i]);
}

static void assert_trace_bounded(const sd_spf_result *r)
{
	assert_true(r->n_trace > 0);
	assert_true(r->n_trace <= SD_SPF_TRACE_MAX);
	for (size_t i = 0; i < r->n_trace; i++) {
		assert_true(strlen(r->trace[i]) <= SD_SPF_TRACE_LINE_MAX + 16);
		for (const char *p = r->trace[i]; *p; p++)
			assert_true((unsigned char)*p >= 0x20 &&
			    (unsigned char)*p < 0x7f);
	}
	/* the last line always says the result */
	assert_non_null(strstr(r->trace[r->n_trace - 1], "result: "));
}

/* --- hostile records ----------------------------------------------------- */

static void test_long_record_of_ip4(void **state)
{
	(void)state;
	char rec[4100] = "v=spf1";
	size_t n = strlen(rec);
	for (int i = 0; n < 3990; i++)
		n += (size_t)snprintf(rec + n, sizeof rec - n,
		    " ip4:10.%d.%d.0/24", i / 250, i % 250);
	snprintf(rec + n, sizeof rec - n, " -all");
	assert_true(strlen(rec) >= 4000);
	spfz_zone *z = spfz_new();
	spfz_adds(z, "big.example", SD_DNS_TXT, rec);
	sd_spf_result r;
	assert_int_equal(eval_in(z, "192.0.2.1", "a@big.example", NULL, 5000,
	    &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_FAIL);
	assert_string_equal(r.mechanism, "-all");
	assert_int_equal(r.lookups, 0);
	assert_trace_bounded(&r);
	/* the record is quoted in the trace, cut */
	assert_true(trace_has(&r, "TXT big.example: \"v=spf1 ip4:10.0.0.0/24"));
	sd_spf_result_clear(&r);

	/* a client inside the last network still passes */
	assert_int_equal(eval_in(z, "10.0.200.7", "a@big.example", NULL, 5000,
	    &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_PASS);
	sd_spf_result_clear(&r);
	spfz_free(z);
}

static void test_long_garbage_term(void **state)
{
	(void)state;
	char rec[4100] = "v=spf1 ";
	size_t n = strlen(rec);
	memset(rec + n, 'q', 4000 - n);
	rec[4000] = '\0';
	spfz_zone *z = spfz_new();
	spfz_adds(z, "junk.example", SD_DNS_TXT, rec);
	sd_spf_result r;
	assert_int_equal(eval_in(z, "192.0.2.1", "junk.example", NULL, 5000,
	    &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_PERMERROR);
	assert_non_null(r.problem);
	assert_non_null(strstr(r.problem, "unknown mechanism"));
	assert_true(strlen(r.problem) < 1100);
	assert_trace_bounded(&r);
	sd_spf_result_clear(&r);
	spfz_free(z);
}

static void test_huge_domain_spec_is_cut(void **state)
{
	(void)state;
	/* a:<4000-byte name>: cut to 253 bytes from the left (RFC 7208 §7.3) */
	char rec[4200] = "v=spf1 a:";
	size_t n = strlen(rec);
	while (n < 4000)
		n += (size_t)snprintf(rec + n, sizeof rec - n, "abcdefgh.");
	snprintf(rec + n, sizeof rec - n, "example -all");
	spfz_zone *z = spfz_new();
	spfz_adds(z, "cut.example", SD_DNS_TXT, rec);
	sd_spf_result r;
	assert_int_equal(eval_in(z, "192.0.2.1", "x@cut.example", NULL, 5000,
	    &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_FAIL);
	int found = 0;
	for (size_t i = 0; i < r.n_dns; i++) {
		if (r.dns[i].type == SD_DNS_A) {
			found = 1;
			assert_true(strlen(r.dns[i].name) <= 253);
		}
	}
	assert_true(found);
	sd_spf_result_clear(&r);
	spfz_free(z);
}

static void test_include_loop(void **state)
{
	(void)state;
	spfz_zone *z = spfz_new();
	spfz_adds(z, "a.example", SD_DNS_TXT, "v=spf1 include:b.example -all");
	spfz_adds(z, "b.example", SD_DNS_TXT, "v=spf1 include:c.example");
	spfz_adds(z, "c.example", SD_DNS_TXT, "v=spf1 include:A.example.");
	sd_spf_result r;
	assert_int_equal(eval_in(z, "192.0.2.1", "u@a.example", NULL, 5000,
	    &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_PERMERROR);
	assert_non_null(r.problem);
	assert_non_null(strstr(r.problem, "loop"));
	assert_non_null(strstr(r.problem,
	    "a.example -> b.example -> c.example -> A.example"));
	assert_string_equal(r.mechanism, "include:b.example");
	assert_trace_bounded(&r);
	sd_spf_result_clear(&r);

	/* a redirect to itself */
	spfz_adds(z, "self.example", SD_DNS_TXT,
	    "v=spf1 ip4:198.51.100.1 redirect=self.example");
	assert_int_equal(eval_in(z, "192.0.2.1", "u@self.example", NULL, 5000,
	    &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_PERMERROR);
	assert_non_null(strstr(r.problem, "loop"));
	sd_spf_result_clear(&r);
	spfz_free(z);
}

static void test_thirty_nested_includes(void **state)
{
	(void)state;
	spfz_zone *z = spfz_new();
	for (int i = 0; i < 30; i++) {
		char owner[64], rec[128];
		snprintf(owner, sizeof owner, "d%d.example", i);
		if (i < 29)
			snprintf(rec, sizeof rec, "v=spf1 include:d%d.example "
			    "-all", i + 1);
		else
			snprintf(rec, sizeof rec, "v=spf1 +all");
		spfz_adds(z, owner, SD_DNS_TXT, rec);
	}
	sd_spf_result r;
	assert_int_equal(eval_in(z, "192.0.2.1", "u@d0.example", NULL, 5000,
	    &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_PERMERROR);
	assert_int_equal(r.lookups, SD_SPF_MAX_LOOKUP_TERMS + 1);
	assert_non_null(strstr(r.problem, "too many DNS lookups"));
	assert_true(trace_has(&r, "over the limit of 10"));
	assert_true(z->queries <= 12);
	assert_trace_bounded(&r);
	sd_spf_result_clear(&r);
	spfz_free(z);
}

static void test_non_ascii_and_nul(void **state)
{
	(void)state;
	spfz_zone *z = spfz_new();
	static const char utf8[] = "v=spf1 ip4:192.0.2.1 \xff\xfe\xc3( -all";
	spfz_add(z, "utf.example", SD_DNS_TXT, utf8, sizeof utf8 - 1, 0);
	static const char nul[] = "v=spf1 ip4:192.0.2.1\0 -all";
	spfz_add(z, "nul.example", SD_DNS_TXT, nul, sizeof nul - 1, 0);
	static const char lead[] = "\0v=spf1 +all";
	spfz_add(z, "lead.example", SD_DNS_TXT, lead, sizeof lead - 1, 0);
	static const char exp_rec[] = "v=spf1 -all exp=why.example";
	spfz_add(z, "exp.example", SD_DNS_TXT, exp_rec, sizeof exp_rec - 1, 0);
	static const char why[] = "bad \xe9 text\0 here";
	spfz_add(z, "why.example", SD_DNS_TXT, why, sizeof why - 1, 0);

	sd_spf_result r;
	assert_int_equal(eval_in(z, "192.0.2.1", "u@utf.example", NULL, 5000,
	    &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_PERMERROR);
	assert_non_null(strstr(r.problem, "non-ASCII byte 0xff"));
	assert_true(trace_has(&r, "\\xff\\xfe"));
	assert_trace_bounded(&r);
	sd_spf_result_clear(&r);

	assert_int_equal(eval_in(z, "192.0.2.1", "u@nul.example", NULL, 5000,
	    &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_PERMERROR);
	assert_non_null(strstr(r.problem, "NUL byte"));
	assert_true(trace_has(&r, "\\x00"));
	sd_spf_result_clear(&r);

	/* a NUL before "v=spf1": not an SPF record at all */
	assert_int_equal(eval_in(z, "192.0.2.1", "u@lead.example", NULL, 5000,
	    &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_NONE);
	sd_spf_result_clear(&r);

	/* an explanation with bad bytes is ignored, the fail stays */
	assert_int_equal(eval_in(z, "192.0.2.1", "u@exp.example", NULL, 5000,
	    &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_FAIL);
	assert_null(r.explanation);
	assert_true(trace_has(&r, "ignored"));
	sd_spf_result_clear(&r);
	spfz_free(z);
}

static void test_resolver_never_answers(void **state)
{
	(void)state;
	spfz_zone *z = spfz_new();
	spfz_adds(z, "slow.example", SPFZ_HANG, "");
	sd_spf_result r;
	int64_t t0 = sd_now_ms();
	assert_int_equal(eval_in(z, "192.0.2.1", "u@slow.example", NULL, 300,
	    &r), SD_OK);
	int64_t took = sd_now_ms() - t0;
	assert_int_equal(r.result, SD_SPF_TEMPERROR);
	/* no lookup is given longer than the evaluation (the zone hangs until
	 * the deadline it is given); the time, short of a stall */
	assert_true(z->latest_deadline > t0 &&
	    z->latest_deadline <= eval_deadline);
	assert_true(took >= 250 && took < 2500);
	assert_non_null(strstr(r.problem, "timeout"));
	assert_true(trace_has(&r, "lookup failed (timeout)"));
	assert_trace_bounded(&r);
	sd_spf_result_clear(&r);

	/* a record that works, an include whose server never answers */
	spfz_adds(z, "ok.example", SD_DNS_TXT,
	    "v=spf1 ip4:198.51.100.0/24 include:slow.example "
	    "include:slow2.example -all");
	spfz_adds(z, "slow2.example", SPFZ_HANG, "");
	t0 = sd_now_ms();
	z->latest_deadline = 0;
	assert_int_equal(eval_in(z, "192.0.2.1", "u@ok.example", NULL, 300,
	    &r), SD_OK);
	took = sd_now_ms() - t0;
	assert_int_equal(r.result, SD_SPF_TEMPERROR);
	/* one deadline for both includes: the second is not queried */
	assert_true(z->latest_deadline > t0 &&
	    z->latest_deadline <= eval_deadline);
	assert_true(took < 2500);
	assert_string_equal(r.mechanism, "include:slow.example");
	sd_spf_result_clear(&r);

	/* past the deadline nothing more is queried */
	unsigned long before = z->queries;
	assert_int_equal(eval_in(z, "192.0.2.1", "u@ok.example", NULL, -1,
	    &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_TEMPERROR);
	assert_int_equal(z->queries, before);
	assert_true(trace_has(&r, "the deadline has passed"));
	sd_spf_result_clear(&r);
	spfz_free(z);
}

static void test_errors_kept_apart(void **state)
{
	(void)state;
	spfz_zone *z = spfz_new();
	spfz_adds(z, "two.example", SD_DNS_TXT, "v=spf1 -all");
	spfz_adds(z, "two.example", SD_DNS_TXT, "v=spf1 +all");
	spfz_adds(z, "two.example", SD_DNS_TXT, "google-site-verification=x");
	spfz_adds(z, "fail.example", SPFZ_TIMEOUT, "");
	spfz_adds(z, "nolookup.example", SD_DNS_TXT,
	    "v=spf1 a:nx1.example a:nx2.example a:nx3.example +all");
	spfz_adds(z, "other.example", SD_DNS_TXT, "hello");
	sd_spf_result r;

	assert_int_equal(eval_in(z, "192.0.2.1", "u@two.example", NULL, 5000,
	    &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_PERMERROR);
	assert_non_null(strstr(r.problem, "2 SPF records"));
	sd_spf_result_clear(&r);

	assert_int_equal(eval_in(z, "192.0.2.1", "u@fail.example", NULL, 5000,
	    &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_TEMPERROR);
	sd_spf_result_clear(&r);

	assert_int_equal(eval_in(z, "192.0.2.1", "u@nolookup.example", NULL,
	    5000, &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_PERMERROR);
	assert_int_equal(r.void_lookups, 3);
	assert_non_null(strstr(r.problem, "void lookups"));
	sd_spf_result_clear(&r);

	assert_int_equal(eval_in(z, "192.0.2.1", "u@other.example", NULL, 5000,
	    &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_NONE);
	assert_non_null(strstr(r.problem, "none starting with \"v=spf1\""));
	sd_spf_result_clear(&r);

	assert_int_equal(eval_in(z, "192.0.2.1", "u@nxdomain.example", NULL,
	    5000, &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_NONE);
	assert_non_null(strstr(r.problem, "NXDOMAIN"));
	sd_spf_result_clear(&r);
	spfz_free(z);
}

static void test_identity(void **state)
{
	(void)state;
	spfz_zone *z = spfz_new();
	spfz_adds(z, "helo.example", SD_DNS_TXT, "v=spf1 -all exp=e.example");
	spfz_adds(z, "e.example", SD_DNS_TXT, "%{s} via %{h} from %{c}");
	sd_spf_result r;

	/* null reverse-path: postmaster@HELO */
	assert_int_equal(eval_in(z, "2001:db8::1", "", "helo.example", 5000,
	    &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_FAIL);
	assert_string_equal(r.sender, "postmaster@helo.example");
	assert_string_equal(r.explanation,
	    "postmaster@helo.example via helo.example from 2001:db8::1");
	sd_spf_result_clear(&r);

	/* a bare domain is postmaster@domain; no HELO: %{h} is the domain */
	assert_int_equal(eval_in(z, "::ffff:192.0.2.9", "helo.example", NULL,
	    5000, &r), SD_OK);
	assert_string_equal(r.sender, "postmaster@helo.example");
	assert_string_equal(r.ip, "192.0.2.9");
	assert_string_equal(r.explanation,
	    "postmaster@helo.example via helo.example from 192.0.2.9");
	sd_spf_result_clear(&r);

	/* no sender and no HELO: nothing to check */
	assert_int_equal(eval_in(z, "192.0.2.1", "", NULL, 5000, &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_NONE);
	assert_non_null(r.problem);
	sd_spf_result_clear(&r);

	/* a sender domain SPF cannot check: result none, its own class, and
	 * the domain's bytes are text, never a format (they once were) */
	assert_int_equal(eval_in(z, "192.0.2.1", "a@%s%s%s%n..example", NULL,
	    5000, &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_NONE);
	assert_string_equal(r.problem_class, "bad_domain");
	assert_string_equal(r.problem, "%s%s%s%n..example is not a domain SPF "
	    "can check: it has an empty label (RFC 7208 section 4.3)");
	sd_spf_result_clear(&r);

	/* a bad address is the caller's mistake */
	assert_int_equal(eval_in(z, "192.0.2.300", "a@helo.example", NULL,
	    5000, &r), SD_ERR_USAGE);
	assert_non_null(strstr(r.problem, "not an IP address"));
	sd_spf_result_clear(&r);
	spfz_free(z);
}

static void test_hostile_sender(void **state)
{
	(void)state;
	spfz_zone *z = spfz_new();
	spfz_adds(z, "h.example", SD_DNS_TXT,
	    "v=spf1 a:%{l}.%{h}.h.example -all exp=x.h.example");
	spfz_adds(z, "x.h.example", SD_DNS_TXT, "%{l} from %{h}");
	sd_spf_result r;
	/* control bytes and UTF-8 from the command line reach the macros */
	assert_int_equal(eval_in(z, "192.0.2.1", "j\x01\xc3\xa9@h.example",
	    "bad\thelo\x7f", 5000, &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_FAIL);
	assert_trace_bounded(&r);
	assert_non_null(r.explanation);
	assert_string_equal(r.explanation, "j??? from bad?helo?");
	for (const char *p = r.sender; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
	sd_spf_result_clear(&r);
	spfz_free(z);
}

static void test_trace_and_decider(void **state)
{
	(void)state;
	spfz_zone *z = spfz_new();
	spfz_adds(z, "corp.example", SD_DNS_TXT,
	    "v=spf1 mx include:_spf.esp.example ~all");
	spfz_add(z, "corp.example", SD_DNS_MX, "mx1.corp.example", 16, 10);
	spfz_adds(z, "mx1.corp.example", SD_DNS_A, "198.51.100.25");
	spfz_adds(z, "_spf.esp.example", SD_DNS_TXT,
	    "v=spf1 ip4:203.0.113.0/24 -all");
	sd_spf_result r;

	assert_int_equal(eval_in(z, "203.0.113.77", "me@corp.example", NULL,
	    5000, &r), SD_OK);
	if (r.result != SD_SPF_PASS)
		dump(&r);
	assert_int_equal(r.result, SD_SPF_PASS);
	assert_string_equal(r.mechanism, "include:_spf.esp.example");
	assert_string_equal(r.mechanism_domain, "corp.example");
	/* what matched inside the include */
	assert_string_equal(r.matched, "ip4:203.0.113.0/24");
	assert_string_equal(r.matched_domain, "_spf.esp.example");
	assert_int_equal(r.lookups, 2);
	assert_true(trace_has(&r, "MX corp.example -> 1 name"));
	assert_true(trace_has(&r, "A mx1.corp.example -> 198.51.100.25"));
	assert_true(trace_has(&r, "ip4:203.0.113.0/24: matches"));
	assert_string_equal(r.record, "v=spf1 mx include:_spf.esp.example ~all");
	/* every query is in the log: TXT, MX, A, TXT */
	assert_int_equal(r.n_dns, 4);
	assert_string_equal(r.dns[1].purpose, "mx");
	assert_string_equal(r.dns[1].answers[0], "10 mx1.corp.example");
	sd_spf_result_clear(&r);

	assert_int_equal(eval_in(z, "192.0.2.1", "me@corp.example", NULL,
	    5000, &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_SOFTFAIL);
	assert_string_equal(r.mechanism, "~all");
	assert_string_equal(r.matched, "~all");
	assert_string_equal(r.matched_domain, "corp.example");
	assert_null(r.explanation);
	sd_spf_result_clear(&r);

	/* the -all inside the include matched, but nothing decided */
	spfz_adds(z, "open.example", SD_DNS_TXT,
	    "v=spf1 include:_spf.esp.example");
	assert_int_equal(eval_in(z, "192.0.2.1", "me@open.example", NULL,
	    5000, &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_NEUTRAL);
	assert_null(r.mechanism);
	assert_null(r.matched);
	assert_null(r.matched_domain);
	sd_spf_result_clear(&r);
	spfz_free(z);
}

static size_t n_ptr_terms(spfz_zone *z, const char *sender)
{
	sd_spf_result r;
	assert_int_equal(eval_in(z, "192.0.2.1", sender, NULL, 5000, &r),
	    SD_OK);
	size_t n = r.n_ptr_terms;
	sd_spf_result_clear(&r);
	return n;
}

/* The terms needing PTR names in every record fetched, reached or not,
 * without a lookup for them; an include never fetched says nothing. */
static void test_ptr_terms(void **state)
{
	(void)state;
	spfz_zone *z = spfz_new();
	spfz_adds(z, "top.example", SD_DNS_TXT, "v=spf1 include:mid.example "
	    "include:mid.example ip4:192.0.2.1 ptr:a.example "
	    "exists:%%{p}.lit.example a:%{P}.up.example "
	    "include:never.example -all");
	spfz_adds(z, "mid.example", SD_DNS_TXT, "v=spf1 -all ptr:b.example");
	spfz_adds(z, "never.example", SD_DNS_TXT, "v=spf1 ptr -all");
	sd_spf_result r;
	assert_int_equal(eval_in(z, "192.0.2.1", "me@top.example", NULL, 5000,
	    &r), SD_OK);
	assert_int_equal(r.result, SD_SPF_PASS);
	assert_int_equal(r.n_ptr_terms, 3);
	assert_string_equal(r.ptr_terms[0].term, "ptr:a.example");
	assert_string_equal(r.ptr_terms[0].domain, "top.example");
	assert_string_equal(r.ptr_terms[1].term, "a:%{P}.up.example");
	assert_string_equal(r.ptr_terms[1].domain, "top.example");
	/* mid.example, evaluated twice, is named once */
	assert_string_equal(r.ptr_terms[2].term, "ptr:b.example");
	assert_string_equal(r.ptr_terms[2].domain, "mid.example");
	/* three TXT lookups and nothing else: no PTR query */
	assert_int_equal(r.n_dns, 3);
	sd_spf_result_clear(&r);

	char rec[600] = "v=spf1 ip4:192.0.2.1";
	for (int i = 0; i < SD_SPF_PTR_TERMS_KEPT + 3; i++)
		snprintf(rec + strlen(rec), sizeof rec - strlen(rec),
		    " ptr:a%d.example", i);
	spfz_adds(z, "many.example", SD_DNS_TXT, rec);
	assert_int_equal(n_ptr_terms(z, "me@many.example"),
	    SD_SPF_PTR_TERMS_KEPT);
	assert_int_equal(n_ptr_terms(z, "me@mid.example"), 1);
	spfz_adds(z, "clean.example", SD_DNS_TXT, "v=spf1 ip4:192.0.2.1 -all");
	assert_int_equal(n_ptr_terms(z, "me@clean.example"), 0);
	spfz_free(z);
}

/* --- macros (RFC 7208 §7.4) ------------------------------------------------ */

static void expect_expand(const char *macro, const char *ip, int exp_text,
    const char *want)
{
	sd_spf_macro_ctx c = {
		.sender = "strong-bad@email.example.com",
		.local = "strong-bad",
		.sender_domain = "email.example.com",
		.domain = "email.example.com",
		.helo = "mx.example.org",
		.receiver = "example.net",
		.now = 1700000000,
	};
	if (strchr(ip, ':')) {
		c.ip_dotted = "2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		    "0.0.0.0.0.C.B.0.1";
		c.ip_text = ip;
		c.ip_version = "ip6";
	} else {
		c.ip_dotted = ip;
		c.ip_text = ip;
		c.ip_version = "in-addr";
	}
	char err[200] = "";
	char *out = NULL;
	int rc = sd_spf_macro_expand(macro, strlen(macro), &c, exp_text, &out,
	    err, sizeof err);
	if (rc != 0)
		fail_msg("%s: %s", macro, err);
	assert_string_equal(out, want);
	free(out);
}

static void expect_macro_error(const char *macro, int exp_text,
    const char *msg)
{
	sd_spf_macro_ctx c = { .domain = "example.com" };
	char err[200] = "";
	char *out = NULL;
	assert_int_equal(sd_spf_macro_expand(macro, strlen(macro), &c,
	    exp_text, &out, err, sizeof err), -1);
	assert_null(out);
	if (!strstr(err, msg))
		fail_msg("%s: message \"%s\" lacks \"%s\"", macro, err, msg);
}

static void test_macro_examples(void **state)
{
	(void)state;
	const char *v4 = "192.0.2.3";
	expect_expand("%{s}", v4, 0, "strong-bad@email.example.com");
	expect_expand("%{o}", v4, 0, "email.example.com");
	expect_expand("%{d}", v4, 0, "email.example.com");
	expect_expand("%{d4}", v4, 0, "email.example.com");
	expect_expand("%{d3}", v4, 0, "email.example.com");
	expect_expand("%{d2}", v4, 0, "example.com");
	expect_expand("%{d1}", v4, 0, "com");
	expect_expand("%{dr}", v4, 0, "com.example.email");
	expect_expand("%{d2r}", v4, 0, "example.email");
	expect_expand("%{l}", v4, 0, "strong-bad");
	expect_expand("%{l-}", v4, 0, "strong.bad");
	expect_expand("%{lr}", v4, 0, "strong-bad");
	expect_expand("%{lr-}", v4, 0, "bad.strong");
	expect_expand("%{l1r-}", v4, 0, "strong");
	expect_expand("%{ir}.%{v}._spf.%{d2}", v4, 0,
	    "3.2.0.192.in-addr._spf.example.com");
	expect_expand("%{lr-}.lp._spf.%{d2}", v4, 0,
	    "bad.strong.lp._spf.example.com");
	expect_expand("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", v4, 0,
	    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
	expect_expand("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", v4, 0,
	    "3.2.0.192.in-addr.strong.lp._spf.example.com");
	expect_expand("%{d2}.trusted-domains.example.net", v4, 0,
	    "example.com.trusted-domains.example.net");
	expect_expand("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01", 0,
	    "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2"
	    ".ip6._spf.example.com");
	/* %% %_ %- and URL escaping of upper-case letters */
	expect_expand("a%%b%_c%-d", v4, 0, "a%b c%20d");
	expect_expand("%{L}", v4, 0, "strong-bad");
	expect_expand("%{S}", v4, 0, "strong-bad%40email.example.com");
	/* c, r, t in explanation text only */
	expect_expand("%{c} for %{r} at %{t}", "2001:db8::cb01", 1,
	    "2001:db8::cb01 for example.net at 1700000000");
	/* a huge digit transformer means "all parts" */
	expect_expand("%{d99999999999999}", v4, 0, "email.example.com");
	/* without a PTR lookup %{p} is "unknown" */
	expect_expand("%{p}", v4, 0, "unknown");
}

static void test_macro_errors(void **state)
{
	(void)state;
	expect_macro_error("%{d0}", 0, "transformer 0");
	expect_macro_error("foo%", 0, "at the end");
	expect_macro_error("%(ir)", 0, "must be followed");
	expect_macro_error("%{x}", 0, "unknown macro letter 'x'");
	expect_macro_error("%{c}", 0, "explanation text");
	expect_macro_error("%{d", 0, "expected '}'");
	expect_macro_error("%{", 0, "not closed");
	expect_macro_error("a b", 0, "a space");
	expect_macro_error("caf\xc3\xa9", 0, "non-ASCII");
	/* an expansion that would grow past the cap */
	char big[4001];
	for (size_t i = 0; i + 4 <= 4000; i += 4)
		memcpy(big + i, "%{d}", 4);
	big[4000] = '\0';
	sd_spf_macro_ctx c = { .domain =
	    "a-rather-long-domain-name-that-repeats.example.com" };
	char err[200];
	char *out = NULL;
	assert_int_equal(sd_spf_macro_expand(big, strlen(big), &c, 0, &out,
	    err, sizeof err), -1);
	assert_non_null(strstr(err, "longer than"));
}

/* --- the parser ----------------------------------------------------------- */

static void expect_parse_error(const char *rec, const char *msg)
{
	sd_spf_record *r = NULL;
	char err[400] = "";
	assert_int_equal(sd_spf_parse(rec, strlen(rec), &r, err, sizeof err),
	    -1);
	assert_null(r);
	if (!strstr(err, msg))
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", rec, err, msg);
}

static void test_parse(void **state)
{
	(void)state;
	sd_spf_record *r = NULL;
	char err[400];
	const char *rec = "v=spf1 a mx/24//64 include:_spf.example.com ptr "
	    "exists:%{i}.x.example.com ip4:192.0.2.0/24 ip6:2001:db8::/32 "
	    "redirect=other.example.com exp=why.example.com foo=bar";
	assert_int_equal(sd_spf_parse(rec, strlen(rec), &r, err, sizeof err), 0);
	assert_int_equal(r->n_terms, 10);
	assert_int_equal(r->lookup_terms, 6);
	assert_int_equal(r->n_ptr, 1);
	assert_int_equal(r->redirect, 7);
	assert_int_equal(r->exp, 8);
	assert_int_equal(r->terms[1].kind, SD_SPF_MX);
	assert_int_equal(r->terms[1].cidr4, 24);
	assert_int_equal(r->terms[1].cidr6, 64);
	assert_int_equal(r->terms[6].cidr6, 32);
	assert_int_equal(r->terms[9].kind, SD_SPF_UNKNOWN_MODIFIER);
	sd_spf_record_free(r);

	/* with "all", redirect is never used and costs nothing */
	rec = "V=SPF1 -ALL redirect=x.example.com";
	assert_int_equal(sd_spf_parse(rec, strlen(rec), &r, err, sizeof err), 0);
	assert_int_equal(r->lookup_terms, 0);
	assert_int_equal(r->terms[0].qualifier, '-');
	sd_spf_record_free(r);

	expect_parse_error("v=spf10", "not an SPF record");
	expect_parse_error("spf1 -all", "not an SPF record");
	expect_parse_error("v=spf1 a:192.0.2.1", "all digits");
	expect_parse_error("v=spf1 ip4:192.0.2.1/33", "prefix length");
	expect_parse_error("v=spf1 ip4:2001:db8::1", "IPv6 address");
	expect_parse_error("v=spf1 ip6:192.0.2.1", "IPv4 address");
	expect_parse_error("v=spf1 include:", "empty");
	expect_parse_error("v=spf1 redirect:x.example.com",
	    "redirect is a modifier");
	expect_parse_error("v=spf1 exp=a.example exp=b.example", "second exp");
	expect_parse_error("v=spf1 -all moo", "term 2 \"moo\": unknown mechanism");
	expect_parse_error("v=spf1 1x=y", "modifier name");
	expect_parse_error("v=spf1 a/024", "prefix length");
	expect_parse_error("v=spf1 ptr/24", "no prefix length");
	expect_parse_error("v=spf1 a:\texample.com", "control character 0x09");
}

/* --- the lookup count of a tree -------------------------------------------- */

static void count_tree(spfz_zone *z, const char *domain, sd_spf_tree *t)
{
	sd_resolver *res = spfz_resolver(z);
	memset(t, 0, sizeof *t);
	assert_int_equal(sd_spf_count_lookups(res, domain, sd_now_ms() + 5000,
	    t), SD_OK);
	sd_resolver_free(res);
}

static void test_count_lookups(void **state)
{
	(void)state;
	spfz_zone *z = spfz_new();
	spfz_adds(z, "big.example", SD_DNS_TXT,
	    "v=spf1 a mx include:esp1.example include:esp2.example "
	    "include:%{d}.esp3.example redirect=tail.example");
	spfz_adds(z, "esp1.example", SD_DNS_TXT,
	    "v=spf1 include:esp1b.example ip4:192.0.2.0/24 ~all");
	spfz_adds(z, "esp1b.example", SD_DNS_TXT, "v=spf1 a a a ptr -all");
	spfz_adds(z, "esp2.example", SD_DNS_TXT, "v=spf1 exists:x.esp2.example -all");
	spfz_adds(z, "tail.example", SD_DNS_TXT, "v=spf1 mx -all");
	sd_spf_tree t;
	count_tree(z, "big.example", &t);
	/* big: a mx 3 includes redirect = 6; esp1: 1; esp1b: 4; esp2: 1;
	   tail: 1 */
	assert_int_equal(t.status, SD_SPF_PASS);
	assert_int_equal(t.lookup_terms, 13);
	assert_int_equal(t.n_records, 5);
	assert_int_equal(t.n_ptr, 1);
	assert_int_equal(t.n_macro_targets, 1);
	assert_non_null(t.record);
	sd_spf_tree_clear(&t);

	spfz_adds(z, "loop.example", SD_DNS_TXT, "v=spf1 include:loop2.example");
	spfz_adds(z, "loop2.example", SD_DNS_TXT, "v=spf1 include:loop.example");
	count_tree(z, "loop.example", &t);
	assert_int_equal(t.status, SD_SPF_PERMERROR);
	assert_non_null(strstr(t.problem, "loop"));
	sd_spf_tree_clear(&t);

	spfz_adds(z, "dangling.example", SD_DNS_TXT,
	    "v=spf1 include:gone.example -all");
	count_tree(z, "dangling.example", &t);
	assert_int_equal(t.status, SD_SPF_PERMERROR);
	assert_non_null(strstr(t.problem, "no SPF record"));
	sd_spf_tree_clear(&t);

	count_tree(z, "nothing.example", &t);
	assert_int_equal(t.status, SD_SPF_NONE);
	sd_spf_tree_clear(&t);
	spfz_free(z);
}

/* The one open term of `domain`'s tree (or none: term NULL), as
 * "TERM@DOMAIN via VIA@VDOMAIN families". */
static void expect_open(spfz_zone *z, const char *domain, size_t i,
    const char *want)
{
	sd_spf_tree t;
	count_tree(z, domain, &t);
	char got[600] = "none";
	if (i < t.n_open) {
		const sd_spf_open_term *o = &t.open[i];
		snprintf(got, sizeof got, "%s@%s via %s@%s %s%s", o->at.term,
		    o->at.domain, o->via.term ? o->via.term : "-",
		    o->via.domain ? o->via.domain : "-",
		    o->families & SD_SPF_WIDE_V4 ? "4" : "",
		    o->families & SD_SPF_WIDE_V6 ? "6" : "");
	}
	if (strcmp(got, want) != 0)
		fail_msg("%s, open term %zu: \"%s\", expected \"%s\"", domain,
		    i, got, want);
	sd_spf_tree_clear(&t);
}

/* Terms that let every address of a family pass, found by the tree
 * without a lookup: in the chain, through "+" includes and redirects,
 * never after "all", behind a "~" include, or for a family decided
 * before. */
static void test_tree_open_terms(void **state)
{
	(void)state;
	spfz_zone *z = spfz_new();
	spfz_adds(z, "plus.example", SD_DNS_TXT, "v=spf1 mx +all");
	expect_open(z, "plus.example", 0, "+all@plus.example via -@- 46");
	spfz_adds(z, "bare.example", SD_DNS_TXT, "v=spf1 all");
	expect_open(z, "bare.example", 0, "all@bare.example via -@- 46");
	spfz_adds(z, "half.example", SD_DNS_TXT, "v=spf1 -ip4:0.0.0.0/0 +all");
	expect_open(z, "half.example", 0, "+all@half.example via -@- 6");
	spfz_adds(z, "esp.example", SD_DNS_TXT, "v=spf1 ip4:0.0.0.0/0");
	spfz_adds(z, "incl.example", SD_DNS_TXT, "v=spf1 include:esp.example "
	    "ip6:::/0 -all");
	expect_open(z, "incl.example", 0, "ip4:0.0.0.0/0@esp.example via "
	    "include:esp.example@incl.example 4");
	expect_open(z, "incl.example", 1, "ip6:::/0@incl.example via -@- 6");
	expect_open(z, "incl.example", 2, "none");
	spfz_adds(z, "deep.example", SD_DNS_TXT, "v=spf1 include:mid.example "
	    "-all");
	spfz_adds(z, "mid.example", SD_DNS_TXT, "v=spf1 a include:plus.example "
	    "-all");
	expect_open(z, "deep.example", 0, "+all@plus.example via "
	    "include:mid.example@deep.example 46");
	spfz_adds(z, "redir.example", SD_DNS_TXT, "v=spf1 redirect=plus.example");
	expect_open(z, "redir.example", 0, "+all@plus.example via -@- 46");
	/* an include that passes everyone decides: the +all after it is not
	 * named again */
	spfz_adds(z, "twice.example", SD_DNS_TXT, "v=spf1 include:plus.example "
	    "+all");
	expect_open(z, "twice.example", 0, "+all@plus.example via "
	    "include:plus.example@twice.example 46");
	expect_open(z, "twice.example", 1, "none");
	/* not open: softfail include, a term after all, ?all, a/0 (needs the
	 * name's addresses), an include that fails everyone first */
	spfz_adds(z, "soft.example", SD_DNS_TXT, "v=spf1 ~include:plus.example "
	    "-all");
	expect_open(z, "soft.example", 0, "none");
	spfz_adds(z, "after.example", SD_DNS_TXT, "v=spf1 -all ip4:0.0.0.0/0 "
	    "include:plus.example");
	expect_open(z, "after.example", 0, "none");
	spfz_adds(z, "neutral.example", SD_DNS_TXT, "v=spf1 ?all");
	expect_open(z, "neutral.example", 0, "none");
	spfz_adds(z, "a0.example", SD_DNS_TXT, "v=spf1 a/0 mx//0 -all");
	expect_open(z, "a0.example", 0, "none");
	spfz_adds(z, "closed.example", SD_DNS_TXT, "v=spf1 -include:plus.example "
	    "+all");
	expect_open(z, "closed.example", 0, "none");
	spfz_free(z);
}

/* The tree names the ptr and %{p} terms of every record it fetched. */
static void test_tree_ptr_terms(void **state)
{
	(void)state;
	spfz_zone *z = spfz_new();
	spfz_adds(z, "top.example", SD_DNS_TXT, "v=spf1 ip4:192.0.2.1 ptr "
	    "include:esp.example include:esp.example -all");
	spfz_adds(z, "esp.example", SD_DNS_TXT, "v=spf1 exists:%{p}.x.example "
	    "-all");
	sd_spf_tree t;
	count_tree(z, "top.example", &t);
	assert_int_equal(t.n_ptr, 1);
	assert_int_equal(t.n_ptr_terms, 2);
	assert_string_equal(t.ptr_terms[0].term, "ptr");
	assert_string_equal(t.ptr_terms[0].domain, "top.example");
	assert_string_equal(t.ptr_terms[1].term, "exists:%{p}.x.example");
	assert_string_equal(t.ptr_terms[1].domain, "esp.example");
	sd_spf_tree_clear(&t);
	spfz_free(z);
}

static void test_parse_ip(void **state)
{
	(void)state;
	sd_spf_ip ip;
	assert_int_equal(sd_spf_parse_ip("::ffff:192.0.2.1", &ip), 0);
	assert_int_equal(ip.v6, 0);
	assert_int_equal(ip.b[3], 1);
	assert_int_equal(sd_spf_parse_ip("2001:db8::1", &ip), 0);
	assert_int_equal(ip.v6, 1);
	assert_int_equal(sd_spf_parse_ip("192.0.2.01", &ip), -1);
	assert_int_equal(sd_spf_parse_ip("example.com", &ip), -1);
	assert_int_equal(sd_spf_parse_ip("", &ip), -1);
	assert_int_equal(sd_spf_parse_ip(NULL, &ip), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_record_of_ip4),
		cmocka_unit_test(test_long_garbage_term),
		cmocka_unit_test(test_huge_domain_spec_is_cut),
		cmocka_unit_test(test_include_loop),
		cmocka_unit_test(test_thirty_nested_includes),
		cmocka_unit_test(test_non_ascii_and_nul),
		cmocka_unit_test(test_resolver_never_answers),
		cmocka_unit_test(test_errors_kept_apart),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_hostile_sender),
		cmocka_unit_test(test_trace_and_decider),
		cmocka_unit_test(test_ptr_terms),
		cmocka_unit_test(test_macro_examples),
		cmocka_unit_test(test_macro_errors),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_count_lookups),
		cmocka_unit_test(test_tree_open_terms),
		cmocka_unit_test(test_tree_ptr_terms),
		cmocka_unit_test(test_parse_ip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
