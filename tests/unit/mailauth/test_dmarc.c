/*
 * DMARC: records as receivers read them, discovery through a fake
 * resolver, alignment and disposition, the From domain, the proposed
 * record.  The organizational domain comes from tests/data/psl/.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dns/dns.h"
#include "mailauth/dmarc.h"
#include "util/util.h"

static sd_psl *psl;

/* ---- records ---- */

static void test_is_record(void **state)
{
	(void)state;
	const char *yes[] = { "v=DMARC1", "v=DMARC1; p=none", "V=DMARC1;p=none",
		"v = DMARC1 ; p=reject", " v=DMARC1;" };
	const char *no[] = { "", "v=dmarc1; p=none", "v=DMARC1 p=none",
		"p=none; v=DMARC1", "v=DMARC10; p=none", "v=spf1 -all",
		"v=DMARC", "x v=DMARC1;" };
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		if (!sd_dmarc_is_record(yes[i], strlen(yes[i])))
			fail_msg("should be a record: %s", yes[i]);
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		if (sd_dmarc_is_record(no[i], strlen(no[i])))
			fail_msg("should not be a record: %s", no[i]);
}

typedef struct rcase {
	const char *text;
	int valid, acts_as_none;
	sd_dmarc_policy p, sp, np;
	int pct, adkim_s, aspf_s;
	const char *words;  /* in reason (invalid) or warnings (valid) */
} rcase;

static void test_record_parse(void **state)
{
	(void)state;
	const sd_dmarc_policy N = SD_DMARC_POLICY_NONE,
	    Q = SD_DMARC_POLICY_QUARANTINE, R = SD_DMARC_POLICY_REJECT;
	const rcase t[] = {
		{ "v=DMARC1; p=none", 1, 0, N, N, N, 100, 0, 0, "" },
		{ "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=s; pct=25",
		  1, 0, R, Q, Q, 25, 1, 1, "" },
		{ "v=DMARC1; p=Reject; np=none", 1, 0, R, R, N, 100, 0, 0, "" },
		{ "v=DMARC1;p=quarantine;rua=mailto:a@example.com!10m,"
		  "mailto:b@example.net;ruf=mailto:f@example.com;fo=1:d;rf=afrf;"
		  "ri=3600", 1, 0, Q, Q, Q, 100, 0, 0, "" },
		{ "v=DMARC1; p=reject;", 1, 0, R, R, R, 100, 0, 0, "" },
		/* bad optional values: defaults apply, the user is told */
		{ "v=DMARC1; p=reject; pct=150", 1, 0, R, R, R, 100, 0, 0,
		  "pct=150" },
		{ "v=DMARC1; p=reject; adkim=x", 1, 0, R, R, R, 100, 0, 0,
		  "adkim=x" },
		{ "v=DMARC1; p=none; foo=bar", 1, 0, N, N, N, 100, 0, 0,
		  "unknown tag foo=" },
		{ "v=DMARC1; p=none; rua=dmarc@example.com", 1, 0, N, N, N, 100, 0,
		  0, "not a report address" },
		{ "v=DMARC1; p=none; np=never", 1, 0, N, N, N, 100, 0, 0,
		  "np=never" },
		{ "v=DMARC1; p=none; p=reject", 1, 0, N, N, N, 100, 0, 0,
		  "appears twice" },
		{ "v=DMARC1; p=none; fo=2", 1, 0, N, N, N, 100, 0, 0, "fo=2" },
		/* what receivers ignore */
		{ "v=DMARC1", 0, 0, N, N, N, 100, 0, 0, "no p= tag" },
		{ "v=DMARC1; p=rejected", 0, 0, N, N, N, 100, 0, 0,
		  "p=rejected" },
		{ "v=DMARC1; p=rejected; rua=mailto:r@example.com", 0, 1, N, N, N,
		  100, 0, 0, "act as if p=none" },
		{ "v=DMARC1; p=reject; sp=bogus", 0, 0, N, N, N, 100, 0, 0,
		  "sp=bogus" },
		{ "v=DMARC1 p=reject", 0, 0, N, N, N, 100, 0, 0,
		  "does not start with v=DMARC1" },
		{ "p=reject; v=DMARC1", 0, 0, N, N, N, 100, 0, 0,
		  "does not start with v=DMARC1" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		sd_dmarc_record r;
		assert_int_equal(sd_dmarc_record_parse(t[i].text,
		    strlen(t[i].text), &r), SD_OK);
		const char *text = t[i].valid ? r.warnings : r.reason;
		if (r.valid != t[i].valid || r.acts_as_none != t[i].acts_as_none ||
		    r.p != t[i].p || r.sp != t[i].sp || r.np != t[i].np ||
		    r.pct != t[i].pct || r.adkim_strict != t[i].adkim_s ||
		    r.aspf_strict != t[i].aspf_s ||
		    (t[i].words[0] && !strstr(text, t[i].words)) ||
		    (!t[i].words[0] && text[0]))
			fail_msg("%s: valid %d none %d p %s sp %s np %s pct %d "
			    "adkim %d aspf %d; reason \"%s\" warnings \"%s\"",
			    t[i].text, r.valid, r.acts_as_none,
			    sd_dmarc_policy_name(r.p), sd_dmarc_policy_name(r.sp),
			    sd_dmarc_policy_name(r.np), r.pct, r.adkim_strict,
			    r.aspf_strict, r.reason, r.warnings);
		sd_dmarc_record_clear(&r);
	}

	sd_dmarc_record r;
	const char *rua = "v=DMARC1; p=none; rua=mailto:a@example.com, "
	    "mailto:b@example.net!5k";
	assert_int_equal(sd_dmarc_record_parse(rua, strlen(rua), &r), SD_OK);
	assert_int_equal(r.n_rua, 2);
	assert_string_equal(r.rua[0], "mailto:a@example.com");
	assert_string_equal(r.rua[1], "mailto:b@example.net!5k");
	sd_dmarc_record_clear(&r);
}

static void test_select(void **state)
{
	(void)state;
	sd_dmarc_policy_info pi;
	memset(&pi, 0, sizeof pi);
	const char *one[] = { "v=spf1 -all", "v=DMARC1; p=quarantine" };
	size_t one_len[] = { strlen(one[0]), strlen(one[1]) };
	assert_int_equal(sd_dmarc_select(one, one_len, 2, &pi), SD_OK);
	assert_int_equal(pi.found, SD_DMARC_FOUND);
	assert_int_equal(pi.record.p, SD_DMARC_POLICY_QUARANTINE);
	assert_string_equal(pi.record_text, "v=DMARC1; p=quarantine");

	const char *two[] = { "v=DMARC1; p=none", "v=DMARC1; p=reject" };
	size_t two_len[] = { strlen(two[0]), strlen(two[1]) };
	assert_int_equal(sd_dmarc_select(two, two_len, 2, &pi), SD_OK);
	assert_int_equal(pi.found, SD_DMARC_MULTIPLE);
	assert_non_null(strstr(pi.reason, "2 DMARC records"));

	const char *near[] = { "v=dmarc1; p=reject" };
	size_t near_len[] = { strlen(near[0]) };
	assert_int_equal(sd_dmarc_select(near, near_len, 1, &pi), SD_OK);
	assert_int_equal(pi.found, SD_DMARC_NOT_FOUND);
	assert_true(pi.looks_like_dmarc);
	assert_non_null(strstr(pi.reason, "looks like DMARC"));

	assert_int_equal(sd_dmarc_select(NULL, NULL, 0, &pi), SD_OK);
	assert_int_equal(pi.found, SD_DMARC_NOT_FOUND);
	assert_false(pi.looks_like_dmarc);
	sd_dmarc_policy_info_clear(&pi);
}

/* ---- discovery through a fake resolver ---- */

typedef struct fake_rr {
	const char *name;
	sd_dns_status status;
	const char *txt[3];
} fake_rr;

typedef struct fake {
	const fake_rr *zone;
	size_t n;
	char asked[4][128];
	size_t n_asked;
} fake;

static sd_dns_status fake_query(void *impl, const char *name, uint16_t type,
    int64_t deadline_ms, sd_dns_answer *out)
{
	fake *f = impl;
	(void)deadline_ms;
	assert_int_equal(type, SD_DNS_TXT);
	if (f->n_asked < 4)
		snprintf(f->asked[f->n_asked++], sizeof f->asked[0], "%s", name);
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->zone[i].name, name) != 0)
			continue;
		out->status = f->zone[i].status;
		size_t n = 0;
		while (n < 3 && f->zone[i].txt[n])
			n++;
		if (n) {
			out->rr = calloc(n, sizeof *out->rr);
			for (size_t k = 0; k < n; k++) {
				out->rr[k].type = SD_DNS_TXT;
				out->rr[k].text = strdup(f->zone[i].txt[k]);
				out->rr[k].text_len = strlen(f->zone[i].txt[k]);
				out->rr[k].rdata = calloc(1, 1);
			}
			out->n_rr = n;
		}
		return out->status;
	}
	out->status = SD_DNS_NXDOMAIN;
	return out->status;
}

static const sd_resolver_ops fake_ops = { fake_query, NULL };

static const fake_rr zone[] = {
	{ "_dmarc.example.com", SD_DNS_OK,
	  { "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com" } },
	{ "_dmarc.own.example.com", SD_DNS_OK, { "v=DMARC1; p=none" } },
	{ "_dmarc.two.example", SD_DNS_OK,
	  { "v=DMARC1; p=none", "v=DMARC1; p=reject" } },
	{ "_dmarc.broken.example", SD_DNS_SERVFAIL, { NULL } },
	{ "_dmarc.sub.slow.example", SD_DNS_TIMEOUT, { NULL } },
	{ "_dmarc.near.example", SD_DNS_OK, { "v=DMARC1 p=reject" } },
	{ "_dmarc.spf.example", SD_DNS_OK, { "v=spf1 -all" } },
	{ "_dmarc.uk.example.co.uk", SD_DNS_NODATA, { NULL } },
	{ "_dmarc.example.co.uk", SD_DNS_OK, { "v=DMARC1; p=quarantine" } },
};

typedef struct dcase {
	const char *from;
	sd_dmarc_found found;
	const char *record_domain;  /* NULL when none */
	int at_org;
	const char *asked[3];       /* the names queried, in order */
	const char *words;          /* in the reason */
} dcase;

static void test_discover(void **state)
{
	(void)state;
	const dcase t[] = {
		{ "example.com", SD_DMARC_FOUND, "example.com", 0,
		  { "_dmarc.example.com" }, "p=reject" },
		{ "Mail.Example.COM.", SD_DMARC_FOUND, "example.com", 1,
		  { "_dmarc.mail.example.com", "_dmarc.example.com" }, "p=reject" },
		{ "own.example.com", SD_DMARC_FOUND, "own.example.com", 0,
		  { "_dmarc.own.example.com" }, "p=none" },
		{ "two.example", SD_DMARC_MULTIPLE, "two.example", 0,
		  { "_dmarc.two.example" }, "2 DMARC records" },
		/* a failed lookup stops discovery: no guess from the org */
		{ "broken.example", SD_DMARC_LOOKUP_FAILED, NULL, 0,
		  { "_dmarc.broken.example" }, "servfail" },
		{ "sub.slow.example", SD_DMARC_LOOKUP_FAILED, NULL, 0,
		  { "_dmarc.sub.slow.example" }, "timeout" },
		{ "a.broken.example", SD_DMARC_LOOKUP_FAILED, NULL, 0,
		  { "_dmarc.a.broken.example", "_dmarc.broken.example" },
		  "servfail" },
		{ "nothing.example", SD_DMARC_NOT_FOUND, NULL, 0,
		  { "_dmarc.nothing.example" }, "no DMARC record at" },
		{ "x.nothing.example", SD_DMARC_NOT_FOUND, NULL, 0,
		  { "_dmarc.x.nothing.example", "_dmarc.nothing.example" },
		  "nor at _dmarc.nothing.example" },
		{ "near.example", SD_DMARC_NOT_FOUND, NULL, 0,
		  { "_dmarc.near.example" }, "looks like DMARC" },
		{ "spf.example", SD_DMARC_NOT_FOUND, NULL, 0,
		  { "_dmarc.spf.example" }, "no DMARC record" },
		/* the organizational domain comes from the PSL: co.uk */
		{ "uk.example.co.uk", SD_DMARC_FOUND, "example.co.uk", 1,
		  { "_dmarc.uk.example.co.uk", "_dmarc.example.co.uk" },
		  "p=quarantine" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		fake f = { zone, sizeof zone / sizeof zone[0], { "" }, 0 };
		sd_resolver *res = sd_resolver_new_custom(&fake_ops, &f);
		sd_dmarc_policy_info pi;
		assert_int_equal(sd_dmarc_discover(res, psl, t[i].from,
		    sd_now_ms() + 5000, &pi), SD_OK);
		size_t want_asked = 0;
		while (want_asked < 3 && t[i].asked[want_asked])
			want_asked++;
		int ok = pi.found == t[i].found && pi.at_org == t[i].at_org &&
		    f.n_asked == want_asked && strstr(pi.reason, t[i].words);
		for (size_t k = 0; ok && k < want_asked; k++)
			ok = strcmp(f.asked[k], t[i].asked[k]) == 0;
		if (t[i].record_domain)
			ok = ok && pi.record_domain &&
			    strcmp(pi.record_domain, t[i].record_domain) == 0;
		else
			ok = ok && !pi.record_domain;
		if (!ok)
			fail_msg("%s: found %d at_org %d asked %zu (%s, %s) record at "
			    "%s reason \"%s\"", t[i].from, pi.found, pi.at_org,
			    f.n_asked, f.asked[0], f.n_asked > 1 ? f.asked[1] : "-",
			    pi.record_domain ? pi.record_domain : "-", pi.reason);
		sd_dmarc_policy_info_clear(&pi);
		sd_resolver_free(res);
	}

	fake f = { zone, 1, { "" }, 0 };
	sd_resolver *res = sd_resolver_new_custom(&fake_ops, &f);
	sd_dmarc_policy_info pi;
	assert_int_equal(sd_dmarc_discover(res, psl, "not a domain",
	    sd_now_ms() + 5000, &pi), SD_ERR_USAGE);
	assert_int_equal(f.n_asked, 0);
	sd_dmarc_policy_info_clear(&pi);
	sd_resolver_free(res);
}

/* ---- alignment and disposition ---- */

static void test_aligned(void **state)
{
	(void)state;
	assert_true(sd_dmarc_aligned(psl, "example.com", "EXAMPLE.com.", 1));
	assert_true(sd_dmarc_aligned(psl, "mail.example.com", "example.com", 0));
	assert_false(sd_dmarc_aligned(psl, "mail.example.com", "example.com", 1));
	assert_true(sd_dmarc_aligned(psl, "a.example.co.uk", "b.example.co.uk",
	    0));
	assert_false(sd_dmarc_aligned(psl, "example.co.uk", "other.co.uk", 0));
	/* blogspot.com is a (private) public suffix: two blogs are two orgs */
	assert_false(sd_dmarc_aligned(psl, "foo.blogspot.com",
	    "bar.blogspot.com", 0));
	assert_false(sd_dmarc_aligned(psl, "example.com", "example.net", 0));
	assert_false(sd_dmarc_aligned(psl, "example.com", NULL, 0));
}

/* A policy as discovery would return it. */
static void policy(sd_dmarc_policy_info *pi, const char *record, int at_org)
{
	memset(pi, 0, sizeof *pi);
	const char *txt[] = { record };
	size_t len[] = { strlen(record) };
	assert_int_equal(sd_dmarc_select(txt, len, 1, pi), SD_OK);
	pi->at_org = at_org;
}

typedef struct ecase {
	const char *record;        /* NULL: no policy found */
	int at_org;
	const char *from, *spf_domain;
	int spf_pass;
	const char *dkim[2];
	int exists;
	sd_dmarc_result result;
	int spf_aligned, dkim_aligned;
	const char *tag;
	sd_dmarc_policy disposition, unsampled;
	const char *words;
} ecase;

static void test_evaluate(void **state)
{
	(void)state;
	const sd_dmarc_policy N = SD_DMARC_POLICY_NONE,
	    Q = SD_DMARC_POLICY_QUARANTINE, R = SD_DMARC_POLICY_REJECT;
	const sd_dmarc_result P = SD_DMARC_RESULT_PASS, F = SD_DMARC_RESULT_FAIL;
	const ecase t[] = {
		/* DKIM from a subdomain aligns relaxed, not strict */
		{ "v=DMARC1; p=reject", 0, "example.com", NULL, 0,
		  { "mail.example.com" }, 1, P, 0, 1, "p", N, N, "DKIM aligns" },
		{ "v=DMARC1; p=reject; adkim=s", 0, "example.com", NULL, 0,
		  { "mail.example.com" }, 1, F, 0, 0, "p", R, R, "reject" },
		/* SPF: only a pass counts, for the MAIL FROM domain */
		{ "v=DMARC1; p=quarantine", 0, "example.com", "bounce.example.com",
		  1, { NULL }, 1, P, 1, 0, "p", N, N, "SPF aligns" },
		{ "v=DMARC1; p=quarantine; aspf=s", 0, "example.com",
		  "bounce.example.com", 1, { NULL }, 1, F, 0, 0, "p", Q, Q,
		  "quarantine" },
		{ "v=DMARC1; p=quarantine", 0, "example.com", "example.com", 0,
		  { NULL }, 1, F, 0, 0, "p", Q, Q, "did not pass" },
		/* a third party's pass aligns nothing */
		{ "v=DMARC1; p=reject", 0, "example.com", "esp.example.net", 1,
		  { "esp.example.net", "example.org" }, 1, F, 0, 0, "p", R, R,
		  "neither SPF" },
		/* pct: the rest gets the next milder policy */
		{ "v=DMARC1; p=reject; pct=30", 0, "example.com", NULL, 0,
		  { NULL }, 1, F, 0, 0, "p", R, Q, "pct=30" },
		{ "v=DMARC1; p=quarantine; pct=0", 0, "example.com", NULL, 0,
		  { NULL }, 1, F, 0, 0, "p", Q, N, "pct=0" },
		/* found at the org domain: sp= applies, then np= for a name that
		 * does not exist */
		{ "v=DMARC1; p=reject; sp=none", 1, "news.example.com", NULL, 0,
		  { NULL }, 1, F, 0, 0, "sp", N, N, "only report" },
		{ "v=DMARC1; p=reject; sp=none; np=reject", 1, "ghost.example.com",
		  NULL, 0, { NULL }, 0, F, 0, 0, "np", R, R, "np=reject" },
		{ "v=DMARC1; p=quarantine", 1, "ghost.example.com", NULL, 0,
		  { NULL }, 0, F, 0, 0, "np", Q, Q, "np=quarantine" },
		/* invalid p= with a valid rua=: receivers act as p=none */
		{ "v=DMARC1; p=strict; rua=mailto:r@example.com", 0, "example.com",
		  NULL, 0, { NULL }, 1, F, 0, 0, "p", N, N, "only report" },
		{ "v=DMARC1; p=strict", 0, "example.com", NULL, 0, { NULL }, 1,
		  SD_DMARC_RESULT_PERMERROR, 0, 0, "p", N, N, "invalid" },
		/* no policy: alignment is still worked out */
		{ NULL, 0, "example.com", NULL, 0, { "example.com" }, 1,
		  SD_DMARC_RESULT_NONE, 0, 1, "p", N, N, "no DMARC policy" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		sd_dmarc_policy_info pi;
		memset(&pi, 0, sizeof pi);
		if (t[i].record)
			policy(&pi, t[i].record, t[i].at_org);
		else
			pi.found = SD_DMARC_NOT_FOUND;
		size_t nd = t[i].dkim[1] ? 2 : t[i].dkim[0] ? 1 : 0;
		sd_dmarc_input in = { t[i].from, t[i].spf_pass, t[i].spf_domain,
			t[i].dkim, nd, t[i].exists };
		sd_dmarc_eval e;
		assert_int_equal(sd_dmarc_evaluate(&pi, psl, &in, &e), SD_OK);
		if (e.result != t[i].result || e.spf_aligned != t[i].spf_aligned ||
		    e.dkim_aligned != t[i].dkim_aligned ||
		    strcmp(e.policy_tag, t[i].tag) != 0 ||
		    e.disposition != t[i].disposition ||
		    e.disposition_unsampled != t[i].unsampled ||
		    !strstr(e.reason, t[i].words))
			fail_msg("case %zu (%s, From %s): result %s spf %d dkim %d "
			    "tag %s disposition %s/%s: %s", i,
			    t[i].record ? t[i].record : "-", t[i].from,
			    sd_dmarc_result_name(e.result), e.spf_aligned,
			    e.dkim_aligned, e.policy_tag,
			    sd_dmarc_policy_name(e.disposition),
			    sd_dmarc_policy_name(e.disposition_unsampled), e.reason);
		sd_dmarc_eval_clear(&e);
		sd_dmarc_policy_info_clear(&pi);
	}

	sd_dmarc_policy_info pi;
	memset(&pi, 0, sizeof pi);
	pi.found = SD_DMARC_LOOKUP_FAILED;
	sd_dmarc_input in = { "example.com", 1, "example.com", NULL, 0, 1 };
	sd_dmarc_eval e;
	assert_int_equal(sd_dmarc_evaluate(&pi, psl, &in, &e), SD_OK);
	assert_int_equal(e.result, SD_DMARC_RESULT_TEMPERROR);
	assert_true(e.spf_aligned);
	sd_dmarc_eval_clear(&e);
	pi.found = SD_DMARC_MULTIPLE;
	assert_int_equal(sd_dmarc_evaluate(&pi, psl, &in, &e), SD_OK);
	assert_int_equal(e.result, SD_DMARC_RESULT_PERMERROR);
	assert_non_null(strstr(e.reason, "several records"));
	sd_dmarc_eval_clear(&e);
	in.from_domain = NULL;
	assert_int_equal(sd_dmarc_evaluate(&pi, psl, &in, &e), SD_ERR_USAGE);
}

/* ---- the From domain ---- */

static void test_from_domain(void **state)
{
	(void)state;
	struct { const char *msg; const char *domain; const char *words; } t[] = {
		{ "From: joe@Example.COM\r\n\r\nbody", "example.com", NULL },
		{ "From: Joe SixPack <joe@football.example.com>\n\n",
		  "football.example.com", NULL },
		{ "From: \"Doe, John\" <j@example.org>\n\n", "example.org", NULL },
		{ "From: \"a@evil.example\" <j@example.org>\n\n", "example.org",
		  NULL },
		{ "From: j@example.org (Joe <x@evil.example>)\n\n", "example.org",
		  NULL },
		{ "From: Joe\r\n <joe@folded.example>\r\n\r\n", "folded.example",
		  NULL },
		{ "From: <@route.example:joe@real.example>\n\n", "real.example",
		  NULL },
		{ "From: =?utf-8?q?J=C3=B6?= <jo@example.net>\n\n", "example.net",
		  NULL },
		{ "To: a@b.example\n\n", NULL, "no From field" },
		{ "From: a@x.example\nFrom: b@y.example\n\n", NULL,
		  "2 From fields" },
		{ "From: a@x.example, b@y.example\n\n", NULL, "2 addresses" },
		{ "From: undisclosed-recipients:;\n\n", NULL, "no domain" },
		{ "From: joe@[192.0.2.1]\n\n", NULL, "not a valid domain" },
		{ "From: joe@exa mple.com\n\n", NULL, "not a valid domain" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char *d = NULL, why[200];
		assert_int_equal(sd_dmarc_from_domain(t[i].msg, strlen(t[i].msg),
		    &d, why, sizeof why), SD_OK);
		int ok = t[i].domain ? d && strcmp(d, t[i].domain) == 0 :
		    !d && strstr(why, t[i].words);
		if (!ok)
			fail_msg("%s: got %s (%s)", t[i].msg, d ? d : "null", why);
		free(d);
	}

	/* the RFC 6376 sample message */
	FILE *f = fopen("tests/data/dkim/rfc6376.msg", "rb");
	assert_non_null(f);
	char buf[2048];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	char *d = NULL;
	assert_int_equal(sd_dmarc_from_domain(buf, n, &d, NULL, 0), SD_OK);
	assert_string_equal(d, "football.example.com");
	free(d);
}

static void test_propose(void **state)
{
	(void)state;
	char *r = sd_dmarc_propose_record("Example.COM.");
	assert_string_equal(r, "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com");
	/* the proposal is itself a valid record */
	sd_dmarc_record rec;
	assert_int_equal(sd_dmarc_record_parse(r, strlen(r), &rec), SD_OK);
	assert_true(rec.valid);
	assert_string_equal(rec.warnings, "");
	assert_int_equal(rec.n_rua, 1);
	sd_dmarc_record_clear(&rec);
	free(r);

	char *fix = sd_dmarc_propose_fix("example.com");
	assert_non_null(strstr(fix, "TXT record at _dmarc.example.com"));
	assert_non_null(strstr(fix, "\"v=DMARC1; p=none; "
	    "rua=mailto:dmarc-reports@example.com\""));
	free(fix);
	assert_null(sd_dmarc_propose_record("not a domain"));
	assert_null(sd_dmarc_propose_record(NULL));
	assert_null(sd_dmarc_propose_fix(""));
}

int main(void)
{
	char why[256];
	psl = sd_psl_load("tests/data/psl/public_suffix_list.dat", why,
	    sizeof why);
	if (!psl) {
		fprintf(stderr, "%s\n", why);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_record),
		cmocka_unit_test(test_record_parse),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_discover),
		cmocka_unit_test(test_aligned),
		cmocka_unit_test(test_evaluate),
		cmocka_unit_test(test_from_domain),
		cmocka_unit_test(test_propose),
	};
	int failed = cmocka_run_group_tests_name("dmarc", tests, NULL, NULL);
	sd_psl_free(psl);
	return failed;
}
