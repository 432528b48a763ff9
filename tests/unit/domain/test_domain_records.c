/* Parsers of the domain checks: MTA-STS, TLS-RPT, SOA/TLSA rdata, names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "probe/domain_records.h"

#define S(x) x, sizeof(x) - 1

/* ---- MTA-STS record ---- */

static void sts_record_valid(void **state)
{
	(void)state;
	sd_mtasts_record r;
	assert_int_equal(sd_mtasts_record_parse(S("v=STSv1; id=20160831085700Z;"),
	    &r), 0);
	assert_string_equal(r.id, "20160831085700Z");
	assert_string_equal(r.error, "");
	assert_int_equal(sd_mtasts_record_parse(S("v=STSv1;id=abc"), &r), 0);
	assert_string_equal(r.id, "abc");
	/* extensions are allowed, whitespace around ';' too */
	assert_int_equal(sd_mtasts_record_parse(
	    S("v=STSv1 ;  ext_1.x=val ; id=A1"), &r), 0);
	assert_string_equal(r.id, "A1");
}

static void sts_record_invalid(void **state)
{
	(void)state;
	sd_mtasts_record r;
	assert_int_equal(sd_mtasts_record_parse(S("v=STSv1;"), &r), -1);
	assert_non_null(strstr(r.error, "no id="));
	assert_int_equal(sd_mtasts_record_parse(S("v=STSv1; id=a-b"), &r), -1);
	assert_non_null(strstr(r.error, "letters and digits"));
	assert_int_equal(sd_mtasts_record_parse(
	    S("v=STSv1; id=123456789012345678901234567890123"), &r), -1);
	assert_non_null(strstr(r.error, "32"));
	assert_int_equal(sd_mtasts_record_parse(S("v=STSv1; id=1; id=2"), &r),
	    -1);
	assert_non_null(strstr(r.error, "twice"));
	assert_int_equal(sd_mtasts_record_parse(S("v=STSv1 id=1"), &r), -1);
	assert_int_equal(sd_mtasts_record_parse(S("v=STSv2; id=1"), &r), -1);
	assert_int_equal(sd_mtasts_record_parse("v=STSv1; id=a\0b", 14, &r), -1);
	assert_non_null(strstr(r.error, "NUL"));
	assert_int_equal(sd_mtasts_record_parse(S("v=STSv1; id=1; =x"), &r), -1);
	assert_int_equal(sd_mtasts_record_parse(S("v=STSv1; id=1; x="), &r), -1);
	assert_int_equal(sd_mtasts_record_parse(S(""), &r), -1);
}

static void sts_record_is_sts(void **state)
{
	(void)state;
	assert_true(sd_mtasts_record_is_sts(S("v=STSv1; id=1")));
	assert_true(sd_mtasts_record_is_sts(S("v=STSv1")));
	assert_false(sd_mtasts_record_is_sts(S("v=STSv10; id=1")));
	assert_false(sd_mtasts_record_is_sts(S("v=spf1 -all")));
	assert_false(sd_mtasts_record_is_sts(S("v=STS")));
}

/* ---- MTA-STS policy ---- */

static void sts_policy_valid(void **state)
{
	(void)state;
	sd_mtasts_policy p;
	const char body[] = "version: STSv1\r\nmode: enforce\r\n"
	    "mx: mail.example.com\r\nmx: *.example.net\r\n"
	    "mx: backupmx.example.com\r\nmax_age: 604800\r\n";
	assert_int_equal(sd_mtasts_policy_parse(S(body), &p), 0);
	assert_true(p.has_version);
	assert_int_equal(p.mode, SD_MTASTS_MODE_ENFORCE);
	assert_int_equal(p.max_age, 604800);
	assert_int_equal(p.n_mx, 3);
	assert_string_equal(p.mx[1], "*.example.net");
	/* LF endings, trailing spaces, unknown keys, blank lines */
	const char b2[] = "version: STSv1\nmode: testing  \n\nfoo: bar\n"
	    "mx: MX.Example.COM\nmax_age: 0";
	assert_int_equal(sd_mtasts_policy_parse(S(b2), &p), 0);
	assert_int_equal(p.mode, SD_MTASTS_MODE_TESTING);
	assert_int_equal(p.max_age, 0);
	assert_string_equal(p.mx[0], "mx.example.com");
	/* mode none needs no mx */
	assert_int_equal(sd_mtasts_policy_parse(
	    S("version: STSv1\nmode: none\nmax_age: 86400\n"), &p), 0);
	assert_int_equal(p.mode, SD_MTASTS_MODE_NONE);
}

static void sts_policy_invalid(void **state)
{
	(void)state;
	sd_mtasts_policy p;
	assert_int_equal(sd_mtasts_policy_parse(
	    S("mode: enforce\nmx: a.example\nmax_age: 1\n"), &p), -1);
	assert_non_null(strstr(p.error, "version"));
	assert_int_equal(sd_mtasts_policy_parse(
	    S("version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n"), &p),
	    -1);
	assert_non_null(strstr(p.error, "strict"));
	assert_int_equal(sd_mtasts_policy_parse(
	    S("version: STSv1\nmode: enforce\nmax_age: 1\n"), &p), -1);
	assert_non_null(strstr(p.error, "no mx"));
	assert_int_equal(sd_mtasts_policy_parse(
	    S("version: STSv1\nmode: enforce\nmx: a.example\n"
	    "max_age: 99999999999\n"), &p), -1);
	assert_int_equal(sd_mtasts_policy_parse(
	    S("version: STSv1\nmode: enforce\nmx: a.example\n"
	    "max_age: 31557601\n"), &p), -1);
	assert_non_null(strstr(p.error, "one year"));
	assert_int_equal(sd_mtasts_policy_parse(
	    S("version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 1\n"),
	    &p), -1);
	assert_int_equal(sd_mtasts_policy_parse(
	    S("version: STSv1\nmode: enforce\nmx: *.com\nmax_age: 1\n"), &p),
	    -1);
	assert_int_equal(sd_mtasts_policy_parse(
	    S("version: STSv1\nthis is not a field\nmode: none\nmax_age: 1\n"),
	    &p), -1);
	assert_non_null(strstr(p.error, "line 2"));
	assert_int_equal(sd_mtasts_policy_parse(
	    S("version: STSv1\nversion: STSv1\nmode: none\nmax_age: 1\n"), &p),
	    -1);
	assert_non_null(strstr(p.error, "twice"));
	/* an HTML error page served with status 200 */
	assert_int_equal(sd_mtasts_policy_parse(
	    S("<html><body>Not found</body></html>"), &p), -1);
	char nul[] = "version: STSv1\nmode: none\0x\nmax_age: 1\n";
	assert_int_equal(sd_mtasts_policy_parse(nul, sizeof nul - 1, &p), -1);
	assert_non_null(strstr(p.error, "NUL"));
}

static void sts_policy_many_mx(void **state)
{
	(void)state;
	size_t cap = 100 * 40 + 200;
	char *b = malloc(cap);
	assert_non_null(b);
	int o = sprintf(b, "version: STSv1\nmode: enforce\nmax_age: 10\n");
	for (int i = 0; i < 100; i++)
		o += sprintf(b + o, "mx: mx%d.example.com\n", i);
	sd_mtasts_policy p;
	assert_int_equal(sd_mtasts_policy_parse(b, (size_t)o, &p), 0);
	assert_int_equal(p.n_mx, SD_MTASTS_MX_MAX);
	assert_int_equal(p.n_mx_total, 100);
	free(b);
}

static void sts_mx_match(void **state)
{
	(void)state;
	assert_true(sd_mtasts_mx_match("mail.example.com", "mail.example.com"));
	assert_true(sd_mtasts_mx_match("mail.example.com", "MAIL.example.com."));
	assert_true(sd_mtasts_mx_match("*.example.com", "mx1.example.com"));
	assert_false(sd_mtasts_mx_match("*.example.com", "example.com"));
	assert_false(sd_mtasts_mx_match("*.example.com", "a.b.example.com"));
	assert_false(sd_mtasts_mx_match("mail.example.com", "mx.example.com"));
	assert_false(sd_mtasts_mx_match("*.example.com", ".example.com"));
	assert_false(sd_mtasts_mx_match("", "example.com"));
}

/* ---- TLS-RPT ---- */

static void tlsrpt_valid(void **state)
{
	(void)state;
	sd_tlsrpt_record t;
	assert_int_equal(sd_tlsrpt_parse(
	    S("v=TLSRPTv1; rua=mailto:reports@example.com"), &t), 0);
	assert_int_equal(t.n_rua, 1);
	assert_string_equal(t.rua[0], "mailto:reports@example.com");
	assert_int_equal(sd_tlsrpt_parse(S("v=TLSRPTv1;rua=mailto:a@example.com"
	    " , https://reporting.example.com/v1/tlsrpt;"), &t), 0);
	assert_int_equal(t.n_rua, 2);
	assert_string_equal(t.rua[1], "https://reporting.example.com/v1/tlsrpt");
	assert_int_equal(sd_tlsrpt_parse(
	    S("v=TLSRPTv1; ext=1; rua=mailto:a@b.example"), &t), 0);
	assert_true(sd_tlsrpt_is_record(S("v=TLSRPTv1;rua=mailto:a@b")));
	assert_false(sd_tlsrpt_is_record(S("v=TLSRPTv10;rua=mailto:a@b")));
}

static void tlsrpt_invalid(void **state)
{
	(void)state;
	sd_tlsrpt_record t;
	assert_int_equal(sd_tlsrpt_parse(S("v=TLSRPTv1"), &t), -1);
	assert_non_null(strstr(t.error, "rua="));
	assert_int_equal(sd_tlsrpt_parse(S("v=TLSRPTv1; rua=ftp://x.example"),
	    &t), -1);
	assert_non_null(strstr(t.error, "neither mailto"));
	assert_int_equal(sd_tlsrpt_parse(S("v=TLSRPTv1; rua=mailto:nobody"),
	    &t), -1);
	assert_int_equal(sd_tlsrpt_parse(S("v=TLSRPTv1; rua=https:///x"), &t),
	    -1);
	assert_int_equal(sd_tlsrpt_parse(
	    S("v=TLSRPTv1; rua=mailto:a@b.example; rua=mailto:c@d.example"),
	    &t), -1);
	assert_non_null(strstr(t.error, "twice"));
	assert_int_equal(sd_tlsrpt_parse(S("v=TLSRPTv1; rua=mailto:a@b,"), &t),
	    -1);
	assert_int_equal(sd_tlsrpt_parse(S("v=TLSRPTv1 rua=mailto:a@b"), &t),
	    -1);
	assert_int_equal(sd_tlsrpt_parse(S("v=TLSRPTv1; rua=mailto:\xff@b"), &t),
	    -1);
	assert_int_equal(sd_tlsrpt_parse("v=TLSRPTv1; rua=mailto:a@b\0", 27,
	    &t), -1);
	assert_non_null(strstr(t.error, "NUL"));
}

/* ---- rdata ---- */

static void soa_serial(void **state)
{
	(void)state;
	/* ns1.example. hostmaster.example. 2024010101 ... */
	unsigned char rd[] = {
		3, 'n', 's', '1', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
		10, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r',
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
		0x78, 0xa4, 0xb7, 0x35, 0, 0, 0, 60, 0, 0, 0, 60,
		0, 0, 2, 88, 0, 0, 0, 5,
	};
	uint32_t serial = 0;
	assert_int_equal(sd_rdata_soa_serial(rd, sizeof rd, &serial), 0);
	assert_int_equal(serial, 2024060725u);
	/* compression pointers end a name */
	unsigned char cp[] = { 0xc0, 12, 0xc0, 20, 0, 0, 0, 7,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	assert_int_equal(sd_rdata_soa_serial(cp, sizeof cp, &serial), 0);
	assert_int_equal(serial, 7);
	assert_int_equal(sd_rdata_soa_serial(rd, 30, &serial), -1);
	unsigned char bad[] = { 64, 'a' };
	assert_int_equal(sd_rdata_soa_serial(bad, sizeof bad, &serial), -1);
	assert_int_equal(sd_rdata_soa_serial(NULL, 0, &serial), -1);
}

static void tlsa(void **state)
{
	(void)state;
	unsigned char rd[35] = { 3, 1, 1 };
	for (int i = 0; i < 32; i++)
		rd[3 + i] = (unsigned char)i;
	sd_tlsa t;
	assert_int_equal(sd_rdata_tlsa(rd, sizeof rd, &t), 0);
	assert_int_equal(t.usage, 3);
	assert_int_equal(t.len, 32);
	assert_true(sd_tlsa_usable(&t, NULL));
	char *s = sd_tlsa_text(&t, 8);
	assert_string_equal(s, "3 1 1 00010203...");
	free(s);
	const char *why = NULL;
	rd[0] = 1;
	sd_rdata_tlsa(rd, sizeof rd, &t);
	assert_false(sd_tlsa_usable(&t, &why));
	assert_non_null(strstr(why, "RFC 7672"));
	rd[0] = 2;
	sd_rdata_tlsa(rd, 20, &t);
	assert_false(sd_tlsa_usable(&t, &why));
	assert_non_null(strstr(why, "32 bytes"));
	rd[2] = 7;
	sd_rdata_tlsa(rd, sizeof rd, &t);
	assert_false(sd_tlsa_usable(&t, &why));
	assert_int_equal(sd_rdata_tlsa(rd, 2, &t), -1);
}

/* ---- names ---- */

static void names(void **state)
{
	(void)state;
	char buf[300];
	assert_int_equal(sd_reverse_name("192.0.2.10", buf, sizeof buf), 0);
	assert_string_equal(buf, "10.2.0.192.in-addr.arpa");
	assert_int_equal(sd_reverse_name("2001:db8::1", buf, sizeof buf), 0);
	assert_string_equal(buf, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.8.b.d.0.1.0.0.2.ip6.arpa");
	assert_int_equal(sd_dnsbl_query_name("192.0.2.99", "zen.spamhaus.org.",
	    buf, sizeof buf), 0);
	assert_string_equal(buf, "99.2.0.192.zen.spamhaus.org");
	assert_int_equal(sd_dnsbl_query_name("not-an-ip", "x.example", buf,
	    sizeof buf), -1);
	assert_int_equal(sd_dnsbl_query_name("192.0.2.1", "x.example", buf, 10),
	    -1);

	assert_true(sd_hostname_valid("example.com"));
	assert_true(sd_hostname_valid("example.com."));
	assert_true(sd_hostname_valid("_dmarc.example.com"));
	assert_true(sd_hostname_valid("localhost"));
	assert_false(sd_hostname_valid(""));
	assert_false(sd_hostname_valid("."));
	assert_false(sd_hostname_valid("a..b"));
	assert_false(sd_hostname_valid("exa mple.com"));
	assert_false(sd_hostname_valid("ex\xc3\xa4mple.com"));
	char longlabel[80];
	memset(longlabel, 'a', 64);
	strcpy(longlabel + 64, ".com");
	assert_false(sd_hostname_valid(longlabel));
	char longname[300];
	for (int i = 0; i < 290; i += 2) {
		longname[i] = 'a';
		longname[i + 1] = '.';
	}
	strcpy(longname + 290, "com");
	assert_false(sd_hostname_valid(longname));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sts_record_valid),
		cmocka_unit_test(sts_record_invalid),
		cmocka_unit_test(sts_record_is_sts),
		cmocka_unit_test(sts_policy_valid),
		cmocka_unit_test(sts_policy_invalid),
		cmocka_unit_test(sts_policy_many_mx),
		cmocka_unit_test(sts_mx_match),
		cmocka_unit_test(tlsrpt_valid),
		cmocka_unit_test(tlsrpt_invalid),
		cmocka_unit_test(soa_serial),
		cmocka_unit_test(tlsa),
		cmocka_unit_test(names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
