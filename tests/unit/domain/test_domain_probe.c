/*
 * The domain probe end to end on a fake resolver (no network): the facts
 * it records lead the rules to the right verdict, and a resolver that
 * hangs, or ignores its deadline, never holds the run past the deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "dns/dns.h"
#include "probe/domain.h"
#include "probe/jobs.h"
#include "report/facts.h"
#include "report/report.h"
#include "rules/domain_rules.h"
#include "util/util.h"

#define KEY2048 \
	"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApzj/7+dxezhgknbU2h0V" \
	"ABc3e/aXPLAiCDCKN6EK3odamoIWJDzxfU/LDVJFhUMAcRowQtVoFz8IaZ/Dxb+a" \
	"xPPRkVRnGkaxvY4CxnKgCSzKJpydlFq2Kg2iYd5Y+e217FGZy5nQZd8u2Jnrl7N+" \
	"UO6gUAiZtgp+OrCA22saacNvBYBhQZz5RejkGfhE0+uqi5vOJNURe60qSJAcABQY" \
	"wluycpOaeLy0BtT8O7xgE+newCP1ulztRideExZiSrIHN0qZWT+TLMRwrFUa9XUt" \
	"GkNFoJtJjtLu5elT4yWl1mSfoogYuT1+FbTipLd+hHBe2ifrr4HkLs9oqZZV5xjT" \
	"bwIDAQAB"

typedef struct rec {
	const char *name;
	uint16_t type;
	const char *text;
	uint16_t pref;
} rec;

static const rec zone[] = {
	{ "example.com", SD_DNS_MX, "mx.example.com", 10 },
	{ "example.com", SD_DNS_TXT, "v=spf1 ip4:192.0.2.1 -all", 0 },
	{ "example.com", SD_DNS_TXT, "google-site-verification=abc", 0 },
	{ "mx.example.com", SD_DNS_A, "192.0.2.25", 0 },
	{ "_dmarc.example.com", SD_DNS_TXT,
	  "v=DMARC1; p=reject; rua=mailto:d@example.com", 0 },
	{ "s1._domainkey.example.com", SD_DNS_TXT,
	  "v=DKIM1; k=rsa; p=" KEY2048, 0 },
	{ "1.2.0.192.in-addr.arpa", SD_DNS_PTR, "mail.example.com", 0 },
	{ "mail.example.com", SD_DNS_A, "192.0.2.1", 0 },
	{ "_smtp._tls.example.com", SD_DNS_TXT,
	  "v=TLSRPTv1; rua=mailto:tls@example.com", 0 },
	/* a sender whose servers are listed by an include */
	{ "inc.example", SD_DNS_TXT,
	  "v=spf1 include:_spf.inc.example -all exp=why.inc.example", 0 },
	{ "_spf.inc.example", SD_DNS_TXT, "v=spf1 ip4:192.0.2.0/28 -all", 0 },
	{ "why.inc.example", SD_DNS_TXT, "%{i} may not send for %{d}", 0 },
	/* a policy `spf` warns about: ptr, %{p}, +all inside an include */
	{ "open.example", SD_DNS_TXT,
	  "v=spf1 ptr include:_spf.open.example -all", 0 },
	{ "_spf.open.example", SD_DNS_TXT,
	  "v=spf1 exists:%{p}.x.open.example +all", 0 },
	/* the root zone's name servers: the control lookup */
	{ ".", SD_DNS_NS, "a.root-servers.net", 0 },
};

/* FAKE_LAME: every name at or below dead.example fails (SERVFAIL), as
 * from a lame delegation; FAKE_DEAD_NS: they hang until the deadline, as
 * when its servers are down; other names answer as FAKE_ANSWER. */
enum { FAKE_ANSWER, FAKE_HANG, FAKE_OVERRUN, FAKE_LAME, FAKE_DEAD_NS };

typedef struct fake {
	int mode;
} fake;

/* questions that reached the backend, and whether it was freed */
static atomic_int asked, freed;
/* the latest deadline a question was given */
static _Atomic int64_t latest;

static void sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static int name_eq(const char *a, const char *b)
{
	return sd_name_under(a, b) && sd_name_under(b, a);
}

/* Wire rdata for the types the zone holds. */
static void fill(sd_dns_rr *rr, const rec *z)
{
	rr->type = z->type;
	rr->pref = z->pref;
	rr->text = strdup(z->text);
	rr->text_len = strlen(z->text);
	size_t n = strlen(z->text);
	if (z->type == SD_DNS_A) {
		rr->rdata = malloc(4);
		inet_pton(AF_INET, z->text, rr->rdata);
		rr->rdlen = 4;
	} else if (z->type == SD_DNS_TXT) {
		rr->rdata = malloc(n + n / 255 + 2);
		size_t o = 0;
		for (size_t i = 0; i < n || i == 0; i += 255) {
			size_t l = n - i < 255 ? n - i : 255;
			rr->rdata[o++] = (unsigned char)l;
			memcpy(rr->rdata + o, z->text + i, l);
			o += l;
			if (n == 0)
				break;
		}
		rr->rdlen = o;
	} else {
		rr->rdata = (unsigned char *)strdup(z->text);
		rr->rdlen = n;
	}
}

static sd_dns_status fake_query(void *impl, const char *name, uint16_t type,
    int64_t deadline_ms, sd_dns_answer *out)
{
	fake *f = impl;
	asked++;
	int64_t was = latest;
	while (deadline_ms > was &&
	    !atomic_compare_exchange_weak(&latest, &was, deadline_ms))
		;
	int dead = sd_name_under(name, "dead.example");
	if (dead && f->mode == FAKE_LAME)
		return out->status = SD_DNS_SERVFAIL;
	if (f->mode == FAKE_HANG || (dead && f->mode == FAKE_DEAD_NS)) {
		sleep_ms(sd_remaining_ms(deadline_ms));
		return out->status = SD_DNS_TIMEOUT;
	}
	if (f->mode == FAKE_OVERRUN) {
		/* a backend that ignores the deadline, once per query made
		 * before it */
		if (sd_remaining_ms(deadline_ms) > 0)
			sleep_ms(sd_remaining_ms(deadline_ms) + 3000);
		return out->status = SD_DNS_TIMEOUT;
	}
	size_t n = 0, exists = 0;
	for (size_t i = 0; i < sizeof zone / sizeof zone[0]; i++)
		if (name_eq(name, zone[i].name)) {
			exists = 1;
			n += zone[i].type == type;
		}
	if (!n)
		return out->status = exists ? SD_DNS_NODATA : SD_DNS_NXDOMAIN;
	out->rr = calloc(n, sizeof *out->rr);
	for (size_t i = 0; i < sizeof zone / sizeof zone[0]; i++)
		if (name_eq(name, zone[i].name) && zone[i].type == type)
			fill(&out->rr[out->n_rr++], &zone[i]);
	return out->status = SD_DNS_OK;
}

static void fake_free(void *impl)
{
	freed++;
	free(impl);
}

static const sd_resolver_ops fake_ops = { fake_query, fake_free };

static sd_resolver *fake_resolver(int mode)
{
	fake *f = calloc(1, sizeof *f);
	f->mode = mode;
	return sd_resolver_new_custom(&fake_ops, f);
}

static sd_options options(void)
{
	static const char *zones[] = { "bl.test.example" };
	sd_options o;
	sd_options_init(&o);
	o.dnsbl = zones;
	o.n_dnsbl = 1;
	o.dnsbl_set = 1;
	o.dbl_set = 1;
	return o;
}

static json_t *finding(const sd_report *r, const char *code,
    const char *subject)
{
	size_t i;
	json_t *f;
	json_array_foreach(r->findings, i, f)
		if (strcmp(json_string_value(json_object_get(f, "code")),
		    code) == 0 && (!subject || strcmp(json_string_value(
		    json_object_get(f, "subject")), subject) == 0))
			return f;
	return NULL;
}

static void good_domain(void **state)
{
	(void)state;
	sd_resolver *res = fake_resolver(FAKE_ANSWER);
	sd_options o = options();
	const char *ips[] = { "192.0.2.1" };
	const char *sels[] = { "s1" };
	sd_domain_params p = { .domain = "example.com", .ips = ips, .n_ips = 1,
		.selectors = sels, .n_selectors = 1 };
	sd_report *r = sd_report_new("domain");
	assert_int_equal(sd_domain_probe(r, res, &o, &p, sd_now_ms() + 5000),
	    0);
	sd_domain_rules(r);
	assert_string_equal(sd_report_cause(r), "ok");
	assert_non_null(finding(r, "info.spf_pass", "192.0.2.1"));
	assert_non_null(finding(r, "info.dkim_key", "s1"));
	assert_non_null(finding(r, "info.fcrdns_ok", "192.0.2.1"));
	assert_non_null(finding(r, "info.mx_ok", "example.com"));
	assert_non_null(finding(r, "info.dmarc", "example.com"));
	assert_non_null(finding(r, "info.tlsrpt", "example.com"));
	/* every lookup left a fact with its time */
	json_t *mx = sd_fact_get(r->facts, "dns.MX.example.com");
	assert_non_null(mx);
	assert_string_equal(json_string_value(json_object_get(mx, "status")),
	    "ok");
	assert_true(json_is_integer(json_object_get(mx, "elapsed_ms")));
	assert_non_null(sd_fact_get(r->facts,
	    "reputation.dnsbl.bl.test.example.192.0.2.1"));
	sd_report_free(r);

	/* the same zone judged for an address SPF does not authorise */
	const char *other[] = { "192.0.2.99" };
	p.ips = other;
	r = sd_report_new("domain");
	sd_domain_probe(r, res, &o, &p, sd_now_ms() + 5000);
	sd_domain_rules(r);
	assert_string_equal(sd_report_cause(r), "dns.spf_fail");
	assert_non_null(finding(r, "dns.ptr_missing", "192.0.2.99"));
	sd_report_free(r);
	sd_resolver_free(res);
}

static void common_selectors_and_message(void **state)
{
	(void)state;
	sd_resolver *res = fake_resolver(FAKE_ANSWER);
	sd_options o = options();
	const char *ips[] = { "192.0.2.1" };
	/* unsigned mail from example.com with p=reject: SPF passes and is
	 * aligned, so DMARC passes */
	const char msg[] = "From: a@example.com\r\nTo: b@example.net\r\n"
	    "Subject: hi\r\n\r\nhello\r\n";
	sd_domain_params p = { .domain = "example.com", .ips = ips, .n_ips = 1,
		.message = msg, .message_len = sizeof msg - 1,
		.message_name = "msg.eml" };
	sd_report *r = sd_report_new("domain");
	sd_domain_probe(r, res, &o, &p, sd_now_ms() + 5000);
	sd_domain_rules(r);
	assert_string_equal(sd_report_cause(r), "ok");
	assert_non_null(finding(r, "info.dmarc_pass", "192.0.2.1"));
	assert_non_null(finding(r, "info.message_unsigned", NULL));
	sd_report_free(r);

	/* no selector named, no signature: the common ones are guessed and
	 * s1 is found */
	p.message = NULL;
	r = sd_report_new("domain");
	sd_domain_probe(r, res, &o, &p, sd_now_ms() + 5000);
	sd_domain_rules(r);
	assert_string_equal(sd_report_cause(r), "ok");
	assert_non_null(finding(r, "info.dkim_key", "s1"));
	assert_null(finding(r, "dns.dkim_missing", NULL));
	sd_report_free(r);
	sd_resolver_free(res);
}

static const char *member(const sd_report *r, const char *id,
    const char *name)
{
	json_t *f = sd_fact_get(r->facts, id);
	assert_non_null(f);
	return json_string_value(json_object_get(f, name));
}

/* The SPF fact of an address names the decisive term and the term that
 * matched, which an include may hold; a fail carries the exp= text. */
static void spf_matched_inside_an_include(void **state)
{
	(void)state;
	sd_resolver *res = fake_resolver(FAKE_ANSWER);
	sd_options o = options();
	o.n_dnsbl = 0;
	const char *ips[] = { "192.0.2.1", "192.0.2.99" };
	sd_domain_params p = { .domain = "inc.example", .ips = ips, .n_ips = 2 };
	sd_report *r = sd_report_new("domain");
	sd_domain_probe(r, res, &o, &p, sd_now_ms() + 5000);
	sd_domain_rules(r);
	const char *pass = "domain.spf.192.0.2.1", *fail = "domain.spf.192.0.2.99";
	assert_string_equal(member(r, pass, "result"), "pass");
	assert_string_equal(member(r, pass, "mechanism"),
	    "include:_spf.inc.example");
	assert_string_equal(member(r, pass, "mechanism_domain"), "inc.example");
	assert_string_equal(member(r, pass, "matched"), "ip4:192.0.2.0/28");
	assert_string_equal(member(r, pass, "matched_domain"),
	    "_spf.inc.example");
	/* the -all inside the include did not decide: the record's own did */
	assert_string_equal(member(r, fail, "result"), "fail");
	assert_string_equal(member(r, fail, "matched"), "-all");
	assert_string_equal(member(r, fail, "matched_domain"), "inc.example");
	assert_string_equal(member(r, fail, "explanation"),
	    "192.0.2.99 may not send for inc.example");
	assert_non_null(finding(r, "dns.spf_fail", "192.0.2.99"));
	/* every fact fits the schema (test builds stop at one that does not;
	 * a saved report is read back through the same check) */
	size_t i;
	json_t *f;
	char why[400];
	json_array_foreach(r->facts, i, f)
		if (sd_fact_check(f, why, sizeof why) != 0)
			fail_msg("%s", why);
	sd_report_free(r);
	sd_resolver_free(res);
}

/* The record tree names its ptr terms and the term open to everyone, an
 * evaluation its own ptr terms, and the rules warn as `spf` does: from
 * the tree alone without an address, and the same with one. */
static void spf_warnings_from_the_tree(void **state)
{
	(void)state;
	sd_resolver *res = fake_resolver(FAKE_ANSWER);
	sd_options o = options();
	o.n_dnsbl = 0;
	const char *ips[] = { "192.0.2.1" };
	sd_domain_params p = { .domain = "open.example", .ips = ips };
	for (size_t n = 0; n < 2; n++) {
		p.n_ips = n;
		sd_report *r = sd_report_new("domain");
		sd_domain_probe(r, res, &o, &p, sd_now_ms() + 5000);
		sd_domain_rules(r);
		json_t *t = sd_fact_get(r->facts, "domain.spf");
		json_t *open = json_array_get(json_object_get(t, "open_terms"), 0);
		assert_string_equal(json_string_value(json_object_get(open,
		    "term")), "+all");
		assert_string_equal(json_string_value(json_object_get(open,
		    "via")), "include:_spf.open.example");
		assert_int_equal(json_array_size(json_object_get(t,
		    "ptr_term_list")), 2);
		json_t *f = finding(r, "spf.allows_all", "open.example");
		assert_non_null(f);
		assert_string_equal(json_string_value(json_object_get(f,
		    "summary")), "\"+all\" in the record of _spf.open.example "
		    "(reached through \"include:_spf.open.example\" in the "
		    "record of open.example) authorizes every address on the "
		    "Internet to send as open.example");
		f = finding(r, "spf.ptr_used", "open.example");
		assert_non_null(f);
		const char *s = json_string_value(json_object_get(f, "summary"));
		assert_non_null(strstr(s, n ? "the evaluation for 192.0.2.1 "
		    "looked up the client's PTR names" : "an evaluation that "
		    "reaches them looks up"));
		if (n)
			assert_int_equal(json_array_size(json_object_get(
			    sd_fact_get(r->facts, "domain.spf.192.0.2.1"),
			    "ptr_terms")), 2);
		sd_report_free(r);
	}
	sd_resolver_free(res);
}

/* A lookup whose turn came after the deadline was never asked, and its
 * fact says so (the stub resolver, nothing listening at its address):
 * with the deadline gone every lookup is a timeout with asked false; with
 * time left each is asked (the kernel refuses it) and none says so. */
static void lookups_never_asked_say_so(void **state)
{
	(void)state;
	const char *err = NULL;
	sd_resolver *res = sd_resolver_new_stub(
	    (const char *[]){ "127.0.0.1:1" }, 1, &err);
	assert_non_null(res);
	sd_options o = options();
	o.n_dnsbl = 0;
	sd_domain_params p = { .domain = "example.com" };
	for (int late = 0; late < 2; late++) {
		sd_report *r = sd_report_new("domain");
		assert_int_equal(sd_domain_probe(r, res, &o, &p, late ?
		    sd_now_ms() - 1 : sd_now_ms() + 10000), 0);
		size_t lookups = 0, unasked = 0, i;
		json_t *f;
		json_array_foreach(r->facts, i, f) {
			const char *check = json_string_value(
			    json_object_get(f, "check"));
			if (!check || strcmp(check, "lookup") != 0)
				continue;
			lookups++;
			json_t *said = json_object_get(f, "asked");
			if (!said)
				continue;
			assert_true(json_is_false(said));
			assert_string_equal(json_string_value(json_object_get(f,
			    "status")), "timeout");
			unasked++;
		}
		assert_true(lookups >= 3);   /* MX, SPF, DMARC at least */
		assert_int_equal(unasked, late ? lookups : 0);
		sd_report_free(r);
	}
	sd_resolver_free(res);
}

static void hanging_resolver(void **state)
{
	(void)state;
	sd_resolver *res = fake_resolver(FAKE_HANG);
	sd_options o = options();
	const char *ips[] = { "192.0.2.1" };
	sd_domain_params p = { .domain = "example.com", .ips = ips, .n_ips = 1 };
	sd_report *r = sd_report_new("domain");
	latest = 0;
	int64_t t0 = sd_now_ms();
	int abandoned = sd_domain_probe(r, res, &o, &p, t0 + 400);
	int64_t took = sd_now_ms() - t0;
	sd_domain_rules(r);
	/* no question outlives the run: each ends by its deadline, and the
	 * run waits for them (0) unless this machine stalled them past the
	 * grace after it (0.3 s) */
	assert_true(latest > t0 && latest <= t0 + 400);
	assert_true(abandoned == 0 || took >= 400 + 300);
	/* the deadline and the grace: 0.7 s at most, short of a stall */
	assert_true(took < 2000);
	assert_string_equal(sd_report_cause(r), "dns.resolution_failed");
	sd_report_free(r);
	sd_resolver_free(res);
	for (int i = 0; i < 300 && sd_jobs_orphans(); i++)
		sleep_ms(10);
}

static void overrunning_resolver(void **state)
{
	(void)state;
	sd_resolver *res = fake_resolver(FAKE_OVERRUN);
	sd_options o = options();
	const char *ips[] = { "192.0.2.1" };
	sd_domain_params p = { .domain = "example.com", .ips = ips, .n_ips = 1 };
	sd_report *r = sd_report_new("domain");
	int64_t t0 = sd_now_ms();
	/* the checks are abandoned at the deadline plus the grace */
	asked = freed = 0;
	assert_int_equal(sd_domain_probe(r, res, &o, &p, t0 + 300), 1);
	int64_t took = sd_now_ms() - t0;
	/* the deadline and the grace (0.6 s), not the backend's 3.3 s */
	assert_true(took < 1800);
	sd_domain_rules(r);
	assert_non_null(r->verdict);
	/* the caller frees what is its own at once: the report, and its
	 * reference to the resolver (the stragglers hold their own) */
	sd_report_free(r);
	sd_resolver_free(res);
	int at_return = asked;
	assert_true(sd_jobs_orphans() > 0);
	assert_int_equal(freed, 0);
	/* the stragglers were cancelled: they ask nothing more, end on their
	 * own (the backend overran by 3 s), and the last frees the resolver */
	for (int i = 0; i < 600 && (sd_jobs_orphans() || !freed); i++)
		sleep_ms(10);
	assert_int_equal(sd_jobs_orphans(), 0);
	assert_int_equal(freed, 1);
	assert_int_equal(asked, at_return);
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

/* The status of the control lookup's fact, or NULL when it was not asked. */
static const char *control_status(const sd_report *r)
{
	json_t *f = sd_fact_get(r->facts, "domain.control");
	return f ? json_string_value(json_object_get(f, "status")) : NULL;
}

/* `domain` alone (no --ip, no lists) for a domain whose every lookup
 * fails: the control lookup tells dead or lame name servers from a dead
 * resolver; healthy runs never ask it. */
static void control_lookup(void **state)
{
	(void)state;
	static const struct {
		int mode;
		const char *domain, *control, *subject;
	} cases[] = {
		{ FAKE_ANSWER, "example.com", NULL, NULL },
		{ FAKE_LAME, "dead.example", "ok", "dead.example" },
		{ FAKE_DEAD_NS, "dead.example", "ok", "dead.example" },
		{ FAKE_HANG, "dead.example", "timeout", "resolver" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sd_resolver *res = fake_resolver(cases[i].mode);
		sd_options o = options();
		int64_t t0 = sd_now_ms();
		sd_domain_params p = { .domain = cases[i].domain,
			.control_deadline = t0 + 700 };
		sd_report *r = sd_report_new("domain");
		latest = 0;
		int abandoned = sd_domain_probe(r, res, &o, &p, t0 + 400);
		int64_t took = sd_now_ms() - t0;
		sd_domain_rules(r);
		const char *st = control_status(r);
		/* a stall past the grace abandons the checks: no control then */
		if (abandoned) {
			assert_true(took >= 400 + 300);
			assert_null(st);
		} else if (!cases[i].control) {
			assert_null(st);
			assert_string_equal(sd_report_cause(r), "ok");
		} else {
			assert_non_null(st);
			assert_string_equal(st, cases[i].control);
			assert_string_equal(sd_report_cause(r),
			    "dns.resolution_failed");
			/* one finding, none a guessed selector */
			assert_int_equal(count_code(r,
			    "dns.resolution_failed"), 1);
			assert_non_null(finding(r, "dns.resolution_failed",
			    cases[i].subject));
			/* the control ends by its own deadline */
			assert_true(latest <= t0 + 700);
		}
		/* 0.4 s, the control's 0.3 s, short of a stall */
		assert_true(took < 2500);
		sd_report_free(r);
		sd_resolver_free(res);
	}
	for (int i = 0; i < 300 && sd_jobs_orphans(); i++)
		sleep_ms(10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_domain),
		cmocka_unit_test(common_selectors_and_message),
		cmocka_unit_test(spf_matched_inside_an_include),
		cmocka_unit_test(spf_warnings_from_the_tree),
		cmocka_unit_test(lookups_never_asked_say_so),
		cmocka_unit_test(hanging_resolver),
		cmocka_unit_test(overrunning_resolver),
		cmocka_unit_test(control_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
