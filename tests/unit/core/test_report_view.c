/* The report for people: words for every code, a fixed order, escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <time.h>

#include "report/report.h"
#include "report/report_view.h"
#include "util/util.h"

static void every_code_has_words(void **state)
{
	(void)state;
	static const char *const codes[] = {
#define CODE(c, cat, st, words) c,
#include "../../../data/codes.def"
#undef CODE
	};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		/* an info finding never heads a report */
		sd_code row;
		if (strcmp(sd_code_lookup(codes[i], &row)->variants, "info") == 0)
			continue;
		if (!sd_code_words(codes[i]))
			fail_msg("%s has no words in data/codes.def: add "
			    "them in plain words", codes[i]);
	}
}

static json_t *tcp_fact(const char *addr, int port, const char *role,
    int ok)
{
	char id[80], detail[160];
	snprintf(id, sizeof id, "%stcp.%d.%s", strcmp(role, "fix") == 0 ?
	    "fix." : "", port, addr);
	snprintf(detail, sizeof detail, "%s port %d: %s", addr, port,
	    ok ? "connected" : "refused");
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:b, s:s, s:I}",
	    "id", id, "stage", "network", "role", role, "host", "mail.example",
	    "addr", addr, "port", port, "family", strchr(addr, ':') ? 6 : 4,
	    "ok", ok, "detail", detail, "elapsed_ms", (json_int_t)port);
}

/* A report whose facts arrive in the order of `perm`. */
static sd_report *report_in_order(const int *perm, size_t n)
{
	static const struct { const char *addr; int port; const char *role;
	    int ok; } facts[] = {
		{ "192.0.2.10", 587, "main", 0 },
		{ "192.0.2.10", 465, "alternative", 1 },
		{ "2001:db8::10", 587, "alternative", 1 },
		{ "192.0.2.10", 25, "alternative", 0 },
		{ "198.51.100.1", 25, "control", 1 },
		{ "192.0.2.10", 465, "fix", 1 },
	};
	assert_int_equal(n, sizeof facts / sizeof facts[0]);
	sd_report *r = sd_report_new("check");
	r->started = 0;
	for (size_t i = 0; i < n; i++) {
		int k = perm[i];
		sd_fact_add(r, "tcp", tcp_fact(facts[k].addr, facts[k].port,
		    facts[k].role, facts[k].ok));
	}
	sd_report_set_extra(r, "config", json_pack("{s:s, s:i, s:s, s:b, "
	    "s:b, s:[s]}", "server", "mail.example", "port", 587, "tls",
	    "starttls", "user", 0, "password", 0, "controls",
	    "198.51.100.1:25"));
	sd_finding_add(r, "info.ports", "info", "192.0.2.10", "b", NULL);
	sd_finding_add(r, "network.port_blocked", "error", "mail.example",
	    "blocked", NULL);
	sd_finding_add(r, "info.ports", "info", "2001:db8::10", "a", NULL);
	sd_verdict_set(r, "network.port_blocked", -1, "port 587 is blocked",
	    json_pack("[s]", "use port 465"), NULL);
	return r;
}

static char *text_of(const sd_report *r, int flags)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	sd_report_write_text(r, fp, flags);
	fclose(fp);
	return buf;
}

static void order_does_not_depend_on_arrival(void **state)
{
	(void)state;
	static const int a[] = { 0, 1, 2, 3, 4, 5 };
	static const int b[] = { 5, 3, 4, 2, 0, 1 };
	for (int verbose = 0; verbose <= 1; verbose++) {
		sd_report *ra = report_in_order(a, 6);
		sd_report *rb = report_in_order(b, 6);
		char *ta = text_of(ra, verbose ? SD_TEXT_VERBOSE : 0);
		char *tb = text_of(rb, verbose ? SD_TEXT_VERBOSE : 0);
		assert_string_equal(ta, tb);
		free(ta);
		free(tb);
		sd_report_free(ra);
		sd_report_free(rb);
	}
}

static void verdict_first_in_words(void **state)
{
	(void)state;
	static const int a[] = { 0, 1, 2, 3, 4, 5 };
	sd_report *r = report_in_order(a, 6);
	char *t = text_of(r, 0);
	const char *fail = strstr(t, "FAIL: port 587 is blocked");
	const char *network = strstr(t, "Network (TCP)");
	assert_non_null(fail);
	assert_non_null(network);
	assert_true(fail < network);
	/* the code explained, the fix, the controls named with their note */
	assert_non_null(strstr(t, "Cause: a firewall between this machine "
	    "and the server blocks the configured port (network.port_blocked)"));
	assert_non_null(strstr(t, "    - use port 465"));
	assert_non_null(strstr(t, "Independent hosts contacted: 198.51.100.1:25"));
	assert_non_null(strstr(t, "--no-control turns this off"));
	assert_null(strstr(t, "Verdict:"));
	/* the configured path before its alternative, errors first */
	assert_true(strstr(t, "192.0.2.10 port 587") <
	    strstr(t, "(working alternative)"));
	assert_true(strstr(t, "error   network.port_blocked") <
	    strstr(t, "info    info.ports"));
	free(t);
	sd_report_free(r);
}

static void settings_say_where_they_came_from(void **state)
{
	(void)state;
	sd_report *r = sd_report_new("check");
	sd_report_set_extra(r, "config", json_pack("{s:s, s:i, s:s, s:b, s:b, "
	    "s:s, s:s, s:[]}", "server", "smtp.example.com", "port", 465, "tls",
	    "implicit", "user", 1, "password", 1, "source", "srv",
	    "source_detail", "_submissions._tcp.example.com SRV 0 1 465 "
	    "smtp.example.com.", "controls"));
	sd_verdict_set(r, "ok", -1, "works", NULL, NULL);
	char *t = text_of(r, 0);
	assert_non_null(strstr(t, "Settings tested: smtp.example.com, port 465, "
	    "SSL/TLS (TLS from the first byte), login with a password"));
	assert_non_null(strstr(t, "(discovered from the domain's SRV records: "
	    "_submissions._tcp.example.com SRV 0 1 465 smtp.example.com.)"));
	assert_non_null(strstr(t, "OK: works"));
	assert_null(strstr(t, "Cause:"));
	free(t);
	sd_report_free(r);
}

static void foreign_text_is_escaped(void **state)
{
	(void)state;
	sd_report *r = sd_report_new("check");
	/* ESC sequences, a C1 control and a right-to-left override */
	sd_fact_add(r, "greeting", json_pack("{s:s, s:s, s:s, s:b, s:s}", "id",
	    "greeting.587.192.0.2.10", "stage", "greeting", "role", "main",
	    "ok", 1, "detail", "220 \x1b[2J\x1b]0;owned\x07 hi \xc2\x9b "
	    "\xe2\x80\xae txt.exe"));
	sd_verdict_set(r, "ok", -1, "works \x1b[31m red", NULL, NULL);
	char *t = text_of(r, SD_TEXT_VERBOSE);
	assert_null(strchr(t, '\x1b'));
	assert_null(strchr(t, '\x07'));
	assert_null(strstr(t, "\xc2\x9b"));
	assert_null(strstr(t, "\xe2\x80\xae"));
	assert_non_null(strstr(t, "\\x1b[2J"));
	free(t);
	sd_report_free(r);
}

static void certificate_shown_for_its_verdict(void **state)
{
	(void)state;
	sd_report *r = sd_report_new("check");
	sd_fact_add(r, "tls", json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:[{s:s, s:s, "
	    "s:[s, s], s:s, s:s, s:b}], s:{s:b, s:i, s:s}}", "id",
	    "tls.587.192.0.2.10", "stage", "tls", "role", "main", "host",
	    "mail.example", "ok", 0, "detail", "certificate expired", "chain",
	    "subject", "CN=mail.example", "issuer", "CN=Example CA", "sans",
	    "mail.example", "smtp.example", "not_before", "2024-01-01",
	    "not_after", "2025-01-01", "self_signed", 0, "verify", "ok", 0,
	    "code", 10, "reason", "certificate has expired"));
	sd_verdict_set(r, "settings.certificate_invalid", -1, "expired", NULL,
	    NULL);
	char *t = text_of(r, 0);
	assert_non_null(strstr(t, "certificate for: CN=mail.example"));
	assert_non_null(strstr(t, "names (SANs): mail.example, smtp.example"));
	assert_non_null(strstr(t, "issued by: CN=Example CA"));
	assert_non_null(strstr(t, "valid from 2024-01-01 to 2025-01-01"));
	assert_non_null(strstr(t, "verification failed: certificate has "
	    "expired (error 10)"));
	free(t);
	sd_report_free(r);
}

static void domain_records_with_tags(void **state)
{
	(void)state;
	sd_report *r = sd_report_new("domain");
	sd_fact_add(r, "dmarc", json_pack("{s:s, s:s, s:s, s:s, s:s}", "id",
	    "domain.dmarc", "stage", "domain", "check", "dmarc", "domain",
	    "example.com", "record", "v=DMARC1; p=reject; rua=mailto:d@example.com"));
	sd_fact_add(r, "dkim_key", json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, "
	    "s:i, s:b, s:b}}", "id", "domain.dkim.s1", "stage", "domain",
	    "check", "dkim_key", "domain", "example.com", "name",
	    "s1._domainkey.example.com", "record", "v=DKIM1; k=rsa; p=MIIB",
	    "key", "status", "valid", "type", "rsa", "bits", 2048, "weak", 0,
	    "testing", 1));
	sd_fact_add(r, "tlsrpt", json_pack("{s:s, s:s, s:s, s:s, s:s, s:[]}", "id",
	    "domain.tlsrpt", "stage", "domain", "check", "tlsrpt", "name",
	    "_smtp._tls.example.com", "status", "timeout", "records"));
	sd_verdict_set(r, "ok", -1, "fine", NULL, NULL);
	char *t = text_of(r, 0);
	assert_non_null(strstr(t, "Checked: the domain example.com"));
	/* a lookup that failed is not a record that is missing */
	assert_non_null(strstr(t, "!! TLS-RPT record at _smtp._tls.example.com: "
	    "not known, the lookup failed"));
	assert_non_null(strstr(t, "DMARC record at example.com: \"v=DMARC1; "
	    "p=reject; rua=mailto:d@example.com\""));
	assert_non_null(strstr(t, "tags: v=DMARC1 | p=reject | "
	    "rua=mailto:d@example.com"));
	assert_non_null(strstr(t, "key: rsa, 2048 bits, valid, testing mode"));
	free(t);
	sd_report_free(r);
}

/* The report's start time is written without the C library's calendar
 * (util.h says why): the same text as gmtime_r() and strftime() give,
 * across leap days, centuries and before the epoch. */
static void utc_text_as_the_c_library(void **state)
{
	(void)state;
	static const int64_t fixed[] = { 0, -1, 86399, 86400, 951782400,
	    951868800, 4107542400, 4107456000, 1796601600, -2208988800,
	    253402300799 };
	char want[40], got[40];
	for (int64_t i = 0; i < 20000 + (int64_t)(sizeof fixed /
	    sizeof fixed[0]); i++) {
		/* the fixed ones, then a walk of irregular steps from 1900 */
		time_t t = (time_t)(i < (int64_t)(sizeof fixed / sizeof fixed[0]) ?
		    fixed[i] : -2208988800 + i * 1000003 * 7 + i % 86400);
		struct tm tm;
		assert_non_null(gmtime_r(&t, &tm));
		strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
		sd_utc_text((int64_t)t, got, sizeof got);
		assert_string_equal(got, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_code_has_words),
		cmocka_unit_test(order_does_not_depend_on_arrival),
		cmocka_unit_test(verdict_first_in_words),
		cmocka_unit_test(settings_say_where_they_came_from),
		cmocka_unit_test(foreign_text_is_escaped),
		cmocka_unit_test(certificate_shown_for_its_verdict),
		cmocka_unit_test(domain_records_with_tags),
		cmocka_unit_test(utc_text_as_the_c_library),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
