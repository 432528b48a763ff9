/*
 * The stub resolver's reading of answers (src/dns/dns_stub.c): compressed
 * names, CNAME chains and loops, negative answers' cache lifetime,
 * messages that answer another question, malformed records; and its
 * refusals before any packet leaves (bad names) or when nothing listens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "util/util.h"

typedef struct msg {
	unsigned char b[2048];
	size_t n;
} msg;

static void put(msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void u16(msg *m, unsigned v)
{
	m->b[m->n++] = (unsigned char)(v >> 8);
	m->b[m->n++] = (unsigned char)v;
}

static void u32(msg *m, unsigned long v)
{
	u16(m, (unsigned)(v >> 16));
	u16(m, (unsigned)(v & 0xffff));
}

/* A name in wire format from "a.b.c" (no compression). */
static void name(msg *m, const char *s)
{
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		m->b[m->n++] = (unsigned char)l;
		put(m, s, l);
		s += l + (dot ? 1 : 0);
	}
	m->b[m->n++] = 0;
}

/* Header and question: id 0x1234, QR RD RA, the given rcode and counts. */
static void head(msg *m, const char *qname, unsigned type, unsigned rcode,
    unsigned an, unsigned ns)
{
	m->n = 0;
	u16(m, 0x1234);
	u16(m, 0x8180 | rcode);
	u16(m, 1);
	u16(m, an);
	u16(m, ns);
	u16(m, 0);
	name(m, qname);
	u16(m, type);
	u16(m, 1);
}

/* A record's fixed part after its owner: type, class IN, ttl, rdlength. */
static void rr(msg *m, unsigned type, unsigned long ttl, unsigned rdlen)
{
	u16(m, type);
	u16(m, 1);
	u32(m, ttl);
	u16(m, rdlen);
}

static const unsigned char ptr_qname[2] = { 0xc0, 12 };

/* m read as the answer to qname/type (the cache lifetime dropped) */
static sd_dns_status parse_as(const msg *m, const char *qname, uint16_t type,
    sd_dns_answer *a)
{
	uint32_t ttl;
	memset(a, 0, sizeof *a);
	return sd_dns_stub_parse(m->b, m->n, qname, type, a, &ttl);
}

/* The question's name CNAME target (written whole); a pointer to the
 * target's name, for the records that follow, in to[2]. */
static void cname_from_qname(msg *m, const char *target, unsigned char *to)
{
	to[0] = 0xc0;
	to[1] = (unsigned char)(m->n + 12);
	put(m, ptr_qname, 2);
	rr(m, SD_DNS_CNAME, 60, (unsigned)strlen(target) + 2);
	name(m, target);
}

static void test_a_compressed_owner(void **state)
{
	(void)state;
	msg m;
	head(&m, "mail.example.com", SD_DNS_A, 0, 2, 0);
	put(&m, ptr_qname, 2);
	rr(&m, SD_DNS_A, 300, 4);
	put(&m, "\xc0\x00\x02\x01", 4);
	put(&m, ptr_qname, 2);
	rr(&m, SD_DNS_A, 120, 4);
	put(&m, "\xc0\x00\x02\x02", 4);
	sd_dns_answer a = { 0 };
	uint32_t ttl;
	assert_int_equal(sd_dns_stub_parse(m.b, m.n, "MAIL.example.com.",
	    SD_DNS_A, &a, &ttl), SD_DNS_OK);
	assert_int_equal(a.n_rr, 2);
	assert_string_equal(a.rr[0].text, "192.0.2.1");
	assert_string_equal(a.rr[1].text, "192.0.2.2");
	assert_int_equal(ttl, 120);   /* the lowest of the set */
	assert_null(a.canonname);
	sd_dns_answer_clear(&a);
}

static void test_cname_chain_and_mx(void **state)
{
	(void)state;
	msg m;
	/* www.example.com CNAME b.example.net; b.example.net MX 10 mx.<b> */
	head(&m, "www.example.com", SD_DNS_MX, 0, 2, 0);
	unsigned char to_target[2];
	cname_from_qname(&m, "b.example.net", to_target);
	put(&m, to_target, 2);
	rr(&m, SD_DNS_MX, 60, 7);
	u16(&m, 10);
	put(&m, "\x02mx", 3);
	put(&m, to_target, 2);
	sd_dns_answer a;
	assert_int_equal(parse_as(&m, "www.example.com", SD_DNS_MX, &a),
	    SD_DNS_OK);
	assert_int_equal(a.n_rr, 1);
	assert_int_equal(a.rr[0].pref, 10);
	assert_string_equal(a.rr[0].text, "mx.b.example.net");
	assert_non_null(a.canonname);
	assert_string_equal(a.canonname, "b.example.net");
	sd_dns_answer_clear(&a);
}

static void test_cname_loop_fails(void **state)
{
	(void)state;
	msg m;
	/* a CNAME b, b CNAME a: no answer, the lookup failed */
	head(&m, "a.example", SD_DNS_TXT, 0, 2, 0);
	unsigned char to_b[2];
	cname_from_qname(&m, "b.example", to_b);
	put(&m, to_b, 2);
	rr(&m, SD_DNS_CNAME, 60, 2);
	put(&m, ptr_qname, 2);
	sd_dns_answer a;
	assert_int_equal(parse_as(&m, "a.example", SD_DNS_TXT, &a),
	    SD_DNS_SERVFAIL);
	sd_dns_answer_clear(&a);
}

static void test_negative_ttl_from_soa(void **state)
{
	(void)state;
	msg m;
	head(&m, "nope.example.com", SD_DNS_TXT, 3, 0, 1);
	name(&m, "example.com");
	size_t len_at = m.n + 8;
	rr(&m, SD_DNS_SOA, 3600, 0);
	size_t start = m.n;
	name(&m, "ns.example.com");
	name(&m, "host.example.com");
	u32(&m, 1);
	u32(&m, 7200);
	u32(&m, 900);
	u32(&m, 86400);
	u32(&m, 30);        /* MINIMUM: lower than the SOA's own TTL */
	m.b[len_at] = (unsigned char)((m.n - start) >> 8);
	m.b[len_at + 1] = (unsigned char)(m.n - start);
	sd_dns_answer a = { 0 };
	uint32_t ttl;
	assert_int_equal(sd_dns_stub_parse(m.b, m.n, "nope.example.com",
	    SD_DNS_TXT, &a, &ttl), SD_DNS_NXDOMAIN);
	assert_int_equal(ttl, 30);
	sd_dns_answer_clear(&a);

	/* no data and no SOA: kept the default minute */
	head(&m, "example.com", SD_DNS_TXT, 0, 0, 0);
	assert_int_equal(sd_dns_stub_parse(m.b, m.n, "example.com",
	    SD_DNS_TXT, &a, &ttl), SD_DNS_NODATA);
	assert_int_equal(ttl, 60);
	sd_dns_answer_clear(&a);
}

static void test_not_the_answer(void **state)
{
	(void)state;
	msg m;
	sd_dns_answer a = { 0 };
	uint32_t ttl;
	head(&m, "example.com", SD_DNS_TXT, 0, 0, 0);
	/* another name, another type, a query instead of a response */
	assert_int_equal(sd_dns_stub_parse(m.b, m.n, "example.org",
	    SD_DNS_TXT, &a, &ttl), SD_DNS_ERROR);
	assert_int_equal(sd_dns_stub_parse(m.b, m.n, "example.com",
	    SD_DNS_A, &a, &ttl), SD_DNS_ERROR);
	m.b[2] &= 0x7f;
	assert_int_equal(sd_dns_stub_parse(m.b, m.n, "example.com",
	    SD_DNS_TXT, &a, &ttl), SD_DNS_ERROR);
	/* cut inside the header */
	assert_int_equal(sd_dns_stub_parse(m.b, 7, "example.com",
	    SD_DNS_TXT, &a, &ttl), SD_DNS_ERROR);
	sd_dns_answer_clear(&a);
}

static void test_malformed_records(void **state)
{
	(void)state;
	msg m;
	sd_dns_answer a = { 0 };
	uint32_t ttl;
	/* an owner that points at itself: a broken answer (the lookup
	 * failed), not an empty one; no hang */
	head(&m, "example.com", SD_DNS_TXT, 0, 1, 0);
	unsigned char self[2] = { 0xc0, (unsigned char)m.n };
	put(&m, self, 2);
	rr(&m, SD_DNS_TXT, 60, 4);
	put(&m, "\003abc", 4);
	assert_int_equal(sd_dns_stub_parse(m.b, m.n, "example.com",
	    SD_DNS_TXT, &a, &ttl), SD_DNS_SERVFAIL);
	sd_dns_answer_clear(&a);
	/* rdata longer than the message */
	head(&m, "example.com", SD_DNS_TXT, 0, 1, 0);
	put(&m, ptr_qname, 2);
	rr(&m, SD_DNS_TXT, 60, 200);
	put(&m, "\003abc", 4);
	assert_int_equal(sd_dns_stub_parse(m.b, m.n, "example.com",
	    SD_DNS_TXT, &a, &ttl), SD_DNS_SERVFAIL);
	sd_dns_answer_clear(&a);
	/* a TXT of two strings, concatenated */
	head(&m, "example.com", SD_DNS_TXT, 0, 1, 0);
	put(&m, ptr_qname, 2);
	rr(&m, SD_DNS_TXT, 60, 8);
	put(&m, "\003v=s\003pf1", 8);
	assert_int_equal(sd_dns_stub_parse(m.b, m.n, "example.com",
	    SD_DNS_TXT, &a, &ttl), SD_DNS_OK);
	assert_string_equal(a.rr[0].text, "v=spf1");
	sd_dns_answer_clear(&a);
}

static void test_bad_names_and_no_server(void **state)
{
	(void)state;
	const char *err = NULL;
	/* port 1 of the loopback: nothing listens, the kernel says so */
	sd_resolver *r = sd_resolver_new_stub((const char *[]){ "127.0.0.1:1" },
	    1, &err);
	assert_non_null(r);
	sd_dns_answer a = { 0 };
	char label[80];
	memset(label, 'a', 64);
	strcpy(label + 64, ".example");
	const char *bad[] = { "a..example", ".example", label, "x\\" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(sd_dns_query(r, bad[i], SD_DNS_TXT,
		    sd_now_ms() + 2000, &a), SD_DNS_ERROR);
		sd_dns_answer_clear(&a);
	}
	int64_t t0 = sd_now_ms();
	assert_int_equal(sd_dns_query(r, "example.com", SD_DNS_TXT,
	    sd_now_ms() + 5000, &a), SD_DNS_SERVFAIL);
	assert_true(sd_now_ms() - t0 < 2000);   /* not a timeout */
	sd_dns_answer_clear(&a);
	sd_resolver_free(r);

	/* a --resolver value that is not an address */
	assert_null(sd_resolver_new_stub((const char *[]){ "dns.example" }, 1,
	    &err));
	assert_non_null(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_compressed_owner),
		cmocka_unit_test(test_cname_chain_and_mx),
		cmocka_unit_test(test_cname_loop_fails),
		cmocka_unit_test(test_negative_ttl_from_soa),
		cmocka_unit_test(test_not_the_answer),
		cmocka_unit_test(test_malformed_records),
		cmocka_unit_test(test_bad_names_and_no_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
