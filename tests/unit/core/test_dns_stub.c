/*
 * The stub resolver (src/dns/dns_stub.c; c-ares asks, it reads):
 * its reading of answers (compressed names, CNAME chains and loops, the
 * names inside SOA records, negative answers' cache lifetime, messages
 * that answer another question, malformed records); its refusals before
 * any packet leaves (bad names) or when nothing listens; and, against a
 * scripted server on the loopback, the status each rcode becomes, the
 * deadline, TCP after a truncated answer, the cache and one question on
 * the wire for many askers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

static void test_soa_names_unpacked(void **state)
{
	(void)state;
	msg m;
	/* example.com SOA ns.<example.com> host.<example.com> 7 ...: the
	 * names point into the question; the record hands them over whole */
	head(&m, "example.com", SD_DNS_SOA, 0, 1, 0);
	put(&m, ptr_qname, 2);
	size_t len_at = m.n + 9;     /* rdlength's low byte */
	rr(&m, SD_DNS_SOA, 300, 3 + 2 + 5 + 2 + 20);
	put(&m, "\002ns", 3);
	put(&m, ptr_qname, 2);
	put(&m, "\004host", 5);
	put(&m, ptr_qname, 2);
	u32(&m, 7);
	u32(&m, 7200);
	u32(&m, 900);
	u32(&m, 86400);
	u32(&m, 30);
	sd_dns_answer a;
	assert_int_equal(parse_as(&m, "example.com", SD_DNS_SOA, &a),
	    SD_DNS_OK);
	assert_int_equal(a.n_rr, 1);
	static const unsigned char want[] = "\002ns\007example\003com\0"
	    "\004host\007example\003com\0" "\0\0\0\007";
	assert_int_equal(a.rr[0].rdlen, 16 + 18 + 20);
	assert_memory_equal(a.rr[0].rdata, want, sizeof want - 1);
	sd_dns_answer_clear(&a);
	/* a byte after the counters: malformed, the record is dropped */
	m.b[m.n++] = 0;
	m.b[len_at]++;
	assert_int_equal(parse_as(&m, "example.com", SD_DNS_SOA, &a),
	    SD_DNS_NODATA);
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
	assert_true(sd_now_ms() - t0 < 2500);   /* not a timeout (5 s) */
	sd_dns_answer_clear(&a);
	sd_resolver_free(r);

	/* a --resolver value that is not an address */
	assert_null(sd_resolver_new_stub((const char *[]){ "dns.example" }, 1,
	    &err));
	assert_non_null(err);
}

/* ---- a scripted server on the loopback ---- */

/*
 * Answers by the question's first label: "refused" REFUSED, "formerr"
 * FORMERR (with an OPT record, so no retry without EDNS), "servfail"
 * SERVFAIL, "silent" nothing, "big" truncated over UDP and a 2,000-byte
 * TXT over TCP, "slow" (after 150 ms) and anything else one TXT record
 * "v=spf1 -all" (TTL 60).  Counts the questions it reads: a question
 * sent again (the same ID, name and transport: a retransmission, which a
 * slow run can see) counts once; "sent" counts every one.
 */
#define SEEN_MAX 2048

typedef struct server {
	int udp, tcp, stop[2];
	unsigned short port;
	int questions, sent;
	size_t n_seen;
	uint64_t seen[SEEN_MAX];
	pthread_t thread;
} server;

/* Counts a question read: q the message, n its length. */
static void count_question(server *sv, const unsigned char *q, size_t n,
    int tcp)
{
	uint64_t key = 1469598103934665603u;   /* FNV-1a: ID, question */
	for (size_t i = 0; i < n; i++)
		if (i < 2 || i >= 12)
			key = (key ^ q[i]) * 1099511628211u;
	key = key << 1 | (uint64_t)tcp;
	__atomic_add_fetch(&sv->sent, 1, __ATOMIC_RELAXED);
	for (size_t i = 0; i < sv->n_seen; i++)
		if (sv->seen[i] == key)
			return;
	if (sv->n_seen < SEEN_MAX)
		sv->seen[sv->n_seen++] = key;
	__atomic_add_fetch(&sv->questions, 1, __ATOMIC_RELAXED);
}

static size_t reply(const unsigned char *q, size_t qn, int tcp,
    unsigned char *r)
{
	size_t qe = 12;
	while (qe < qn && q[qe])
		qe += q[qe] + 1u;
	qe += 5;                          /* root, type, class */
	if (qe > qn)
		return 0;
	char label[64];
	memcpy(label, q + 13, q[12]);
	label[q[12]] = '\0';
	memcpy(r, q, qe);
	r[2] = 0x81;
	r[3] = 0x80;
	memset(r + 6, 0, 6);
	size_t n = qe;
	if (strcmp(label, "silent") == 0)
		return 0;
	if (strcmp(label, "slow") == 0)
		usleep(150 * 1000);
	if (strcmp(label, "refused") == 0 || strcmp(label, "servfail") == 0) {
		r[3] |= label[0] == 'r' ? 5 : 2;
		return n;
	}
	if (strcmp(label, "formerr") == 0) {
		static const unsigned char opt[] = { 0, 0, 41, 4, 208, 0, 0, 0,
		    0, 0, 0 };
		r[3] |= 1;
		r[11] = 1;
		memcpy(r + n, opt, sizeof opt);
		return n + sizeof opt;
	}
	int big = strcmp(label, "big") == 0;
	if (big && !tcp) {
		r[2] |= 0x02;                 /* TC */
		return n;
	}
	size_t tl = big ? 2000 : 11;
	r[7] = 1;
	static const unsigned char rrh[] = { 0xc0, 12, 0, 16, 0, 1, 0, 0, 0,
	    60 };
	memcpy(r + n, rrh, sizeof rrh);
	n += sizeof rrh;
	size_t rdl = tl + (tl + 254) / 255;
	r[n++] = (unsigned char)(rdl >> 8);
	r[n++] = (unsigned char)rdl;
	for (size_t left = tl; left;) {
		size_t c = left > 255 ? 255 : left;
		r[n++] = (unsigned char)c;
		memset(r + n, 'x', c);
		if (!big)
			memcpy(r + n, "v=spf1 -all", 11);
		n += c;
		left -= c;
	}
	return n;
}

static void serve_tcp(server *sv)
{
	unsigned char q[600], r[4096];
	int c = accept(sv->tcp, NULL, NULL);
	if (c < 0)
		return;
	/* the length, then that many bytes */
	size_t ql = recv(c, q, 2, MSG_WAITALL) == 2 ?
	    (size_t)(q[0] << 8 | q[1]) : 0;
	if (ql >= 12 && ql <= sizeof q - 2 &&
	    recv(c, q + 2, ql, MSG_WAITALL) == (ssize_t)ql) {
		count_question(sv, q + 2, ql, 1);
		size_t n = reply(q + 2, ql, 1, r + 2);
		r[0] = (unsigned char)(n >> 8);
		r[1] = (unsigned char)n;
		if (n && send(c, r, n + 2, MSG_NOSIGNAL) < 0)
			n = 0;
	}
	close(c);
}

static void *serve(void *arg)
{
	server *sv = arg;
	for (;;) {
		struct pollfd p[3] = { { sv->udp, POLLIN, 0 },
		    { sv->tcp, POLLIN, 0 }, { sv->stop[0], POLLIN, 0 } };
		if (poll(p, 3, 5000) <= 0 || p[2].revents)
			return NULL;
		if (p[1].revents)
			serve_tcp(sv);
		if (!p[0].revents)
			continue;
		unsigned char q[600], r[4096];
		struct sockaddr_storage from;
		socklen_t fl = sizeof from;
		ssize_t got = recvfrom(sv->udp, q, sizeof q, 0,
		    (struct sockaddr *)&from, &fl);
		if (got < 12)
			continue;
		count_question(sv, q, (size_t)got, 0);
		size_t n = reply(q, (size_t)got, 0, r);
		if (n)
			sendto(sv->udp, r, n, 0, (struct sockaddr *)&from, fl);
	}
}

/* A UDP and a TCP socket on one loopback port.  The kernel picks the UDP
 * port; that port can be taken for TCP by another program (a connection's
 * local end), so a pair that does not bind is tried again on another. */
static void bind_pair(server *sv)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t al = sizeof a;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sv->udp = socket(AF_INET, SOCK_DGRAM, 0);
		assert_int_equal(bind(sv->udp, (struct sockaddr *)&a, sizeof a),
		    0);
		assert_int_equal(getsockname(sv->udp, (struct sockaddr *)&a,
		    &al), 0);
		sv->port = ntohs(a.sin_port);
		sv->tcp = socket(AF_INET, SOCK_STREAM, 0);
		if (bind(sv->tcp, (struct sockaddr *)&a, sizeof a) == 0)
			return;
		close(sv->udp);
		close(sv->tcp);
	}
	fail_msg("no loopback port free for both UDP and TCP in 50 tries");
}

static void server_start(server *sv)
{
	bind_pair(sv);
	assert_int_equal(listen(sv->tcp, 4), 0);
	assert_int_equal(pipe(sv->stop), 0);
	sv->questions = sv->sent = 0;
	sv->n_seen = 0;
	assert_int_equal(pthread_create(&sv->thread, NULL, serve, sv), 0);
}

static void server_stop(server *sv)
{
	assert_int_equal(write(sv->stop[1], "x", 1), 1);
	pthread_join(sv->thread, NULL);
	close(sv->udp);
	close(sv->tcp);
	close(sv->stop[0]);
	close(sv->stop[1]);
}

static sd_resolver *resolver_for(const server *sv)
{
	char addr[40];
	const char *err = NULL;
	snprintf(addr, sizeof addr, "127.0.0.1:%u", sv->port);
	sd_resolver *r = sd_resolver_new_stub((const char *[]){ addr }, 1,
	    &err);
	assert_non_null(r);
	return r;
}

static void test_rcodes_are_failures(void **state)
{
	(void)state;
	server sv;
	server_start(&sv);
	sd_resolver *r = resolver_for(&sv);
	sd_dns_answer a = { 0 };
	/* the rcode as the server said it; asked once each, not cached */
	static const struct { const char *name; int rcode; } c[] = {
		{ "refused.example", 5 }, { "servfail.example", 2 },
		{ "formerr.example", 1 }, { "refused.example", 5 },
	};
	int64_t slow = 0;    /* the last asking took past a retransmission */
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		int sent = __atomic_load_n(&sv.sent, __ATOMIC_RELAXED);
		assert_int_equal(sd_dns_query(r, c[i].name, SD_DNS_TXT,
		    sd_now_ms() + 3000, &a), SD_DNS_SERVFAIL);
		assert_int_equal(a.rcode, c[i].rcode);
		assert_true(a.elapsed_ms < 2000);   /* not a timeout (3 s) */
		/* not sent again for the rcode: a second sending is only a
		 * retransmission, which comes 400 ms on (and may be read
		 * after the answer to the first) */
		slow = slow || a.elapsed_ms >= 390;
		sent = __atomic_load_n(&sv.sent, __ATOMIC_RELAXED) - sent;
		assert_true(sent == 1 || (sent > 1 && slow));
		slow = a.elapsed_ms >= 390;
		sd_dns_answer_clear(&a);
	}
	sd_resolver_free(r);
	server_stop(&sv);
}

static void test_deadline_truncation_cache(void **state)
{
	(void)state;
	server sv;
	server_start(&sv);
	sd_resolver *r = resolver_for(&sv);
	sd_dns_answer a = { 0 };
	/* no answer: a timeout at the deadline (1.3 s), not at the next
	 * retransmission after it (2.8 s) */
	int64_t t0 = sd_now_ms();
	assert_int_equal(sd_dns_query(r, "silent.example", SD_DNS_TXT,
	    t0 + 1300, &a), SD_DNS_TIMEOUT);
	int64_t took = sd_now_ms() - t0;
	assert_true(took >= 1300 && took < 2200);
	sd_dns_answer_clear(&a);
	/* a deadline already gone: nothing asked */
	int before = __atomic_load_n(&sv.questions, __ATOMIC_RELAXED);
	assert_int_equal(sd_dns_query(r, "x.example", SD_DNS_TXT,
	    sd_now_ms() - 1, &a), SD_DNS_TIMEOUT);
	assert_int_equal(__atomic_load_n(&sv.questions, __ATOMIC_RELAXED),
	    before);
	sd_dns_answer_clear(&a);
	/* truncated over UDP: asked again over TCP, the whole record */
	assert_int_equal(sd_dns_query(r, "big.example", SD_DNS_TXT,
	    sd_now_ms() + 3000, &a), SD_DNS_OK);
	assert_int_equal(a.n_rr, 1);
	assert_int_equal(a.rr[0].text_len, 2000);
	sd_dns_answer_clear(&a);
	/* an answer is kept for its TTL: the second asking sends nothing */
	before = __atomic_load_n(&sv.questions, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(sd_dns_query(r, i ? "SPF.example." :
		    "spf.example", SD_DNS_TXT, sd_now_ms() + 3000, &a),
		    SD_DNS_OK);
		assert_string_equal(a.rr[0].text, "v=spf1 -all");
		assert_int_equal(a.rr[0].ttl, 60);
		sd_dns_answer_clear(&a);
	}
	assert_int_equal(__atomic_load_n(&sv.questions, __ATOMIC_RELAXED),
	    before + 1);
	/* and answers past the first few chains (they grow twice over on
	 * the way) are all kept: asked again, none is sent */
	before = __atomic_load_n(&sv.questions, __ATOMIC_RELAXED);
	char name[40];
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < 300; i++) {
			snprintf(name, sizeof name, "n%d.example", i);
			assert_int_equal(sd_dns_query(r, name, SD_DNS_TXT,
			    sd_now_ms() + 3000, &a), SD_DNS_OK);
			sd_dns_answer_clear(&a);
		}
	assert_int_equal(__atomic_load_n(&sv.questions, __ATOMIC_RELAXED),
	    before + 300);
	sd_resolver_free(r);
	server_stop(&sv);
}

/* Threads asking one question at once. */
typedef struct asker {
	sd_resolver *r;
	const char *name;
	int64_t wait_ms;           /* the deadline (default 3 s) */
	int64_t took_ms;
	pthread_barrier_t *go;
	sd_dns_status st;
	int rcode;
	char text[20];
} asker;

static void *ask_once(void *arg)
{
	asker *k = arg;
	sd_dns_answer a = { 0 };
	pthread_barrier_wait(k->go);
	int64_t t0 = sd_now_ms();
	k->st = sd_dns_query(k->r, k->name, SD_DNS_TXT, t0 + (k->wait_ms ?
	    k->wait_ms : 3000), &a);
	k->took_ms = sd_now_ms() - t0;
	k->rcode = a.rcode;
	snprintf(k->text, sizeof k->text, "%s", a.n_rr ? a.rr[0].text : "");
	sd_dns_answer_clear(&a);
	return NULL;
}

/* n threads ask name at once, the first with a deadline first_ms away,
 * the others rest_ms (0: 3 s); returns the questions the server read */
static int ask_together(server *sv, sd_resolver *r, const char *name,
    asker *k, int n, int64_t first_ms, int64_t rest_ms)
{
	pthread_t t[8];
	pthread_barrier_t go;
	int before = __atomic_load_n(&sv->questions, __ATOMIC_RELAXED);
	pthread_barrier_init(&go, NULL, (unsigned)n);
	for (int i = 0; i < n; i++) {
		k[i] = (asker){ .r = r, .name = name, .go = &go,
		    .wait_ms = i ? rest_ms : first_ms };
		assert_int_equal(pthread_create(&t[i], NULL, ask_once, &k[i]),
		    0);
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
	return __atomic_load_n(&sv->questions, __ATOMIC_RELAXED) - before;
}

static void test_one_question_on_the_wire(void **state)
{
	(void)state;
	server sv;
	server_start(&sv);
	sd_resolver *r = resolver_for(&sv);
	asker k[8];
	/* eight threads ask what none has in the cache: the question is
	 * sent once, and each reads the answer from the cache */
	assert_int_equal(ask_together(&sv, r, "slow.example", k, 8, 0, 0), 1);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(k[i].st, SD_DNS_OK);
		assert_string_equal(k[i].text, "v=spf1 -all");
	}
	/* each waits to its own deadline: the first asks a silent server
	 * for 3 s, the others give up at their 0.3 s (not at the first's
	 * 3 s; the first not at the retransmission after it, at 6 s) */
	ask_together(&sv, r, "silent.example", k, 3, 3000, 300);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(k[i].st, SD_DNS_TIMEOUT);
		assert_true(k[i].took_ms >= (i ? 290 : 2990));
		assert_true(k[i].took_ms < (i ? 1500 : 4500));
	}
	/* a failed lookup is not cached, nor shared: each asks for itself
	 * (at least four sent; a slow run may see one retransmitted) */
	int sent = __atomic_load_n(&sv.sent, __ATOMIC_RELAXED);
	ask_together(&sv, r, "servfail.example", k, 4, 0, 0);
	assert_true(__atomic_load_n(&sv.sent, __ATOMIC_RELAXED) - sent >= 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(k[i].st, SD_DNS_SERVFAIL);
		assert_int_equal(k[i].rcode, 2);
	}
	sd_resolver_free(r);
	server_stop(&sv);
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
		cmocka_unit_test(test_soa_names_unpacked),
		cmocka_unit_test(test_rcodes_are_failures),
		cmocka_unit_test(test_deadline_truncation_cache),
		cmocka_unit_test(test_one_question_on_the_wire),
		cmocka_unit_test(test_bad_names_and_no_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
