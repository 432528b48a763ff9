/*
 * The stub backend of the resolver interface: questions go to the
 * configured recursive servers (--resolver, or the nameserver lines of
 * /etc/resolv.conf) over UDP, and over TCP when an answer is truncated,
 * with no validation of its own.
 *
 * It exists for `spf`: an SPF evaluation needs no DNSSEC, and creating a
 * libunbound context costs more CPU than the whole evaluation (the library
 * loads with libevent, nettle, hogweed and gmp, and seeds a random
 * generator for the context and again for its worker thread: some 30
 * million instructions here).  A stub answers the same questions at the
 * cost of a socket per question.  Commands that judge DNSSEC (domain's
 * DANE, check's answers) keep libunbound.
 *
 * One resolver serves a whole batch: answers are cached by name and type
 * for their TTL (negative answers for the SOA's, RFC 2308), the cache
 * bounded in entries; every question has its own socket, so threads ask at
 * once without waiting for each other.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/dns.h"
#include "util/util.h"

/* Servers one resolver asks in turn (--resolver may name several). */
#define STUB_MAX_SERVERS 8
/* resolv.conf's first 3 nameservers count (the C library's MAXNS). */
#define STUB_RESOLV_CONF_MAX 3
/* The UDP payload we advertise (EDNS0) and accept: the DNS flag day 2020
 * size, which needs no fragmentation on common paths. */
#define STUB_UDP_SIZE 1232
/* A TCP answer is at most 64 KiB by its length prefix. */
#define STUB_TCP_MAX 65535
/* First wait for a UDP answer; doubled on each retransmission. */
#define STUB_FIRST_WAIT_MS 400
/* CNAMEs followed inside one answer before giving up (a loop). */
#define STUB_MAX_CNAMES 16
/* Answers kept in the cache of one resolver; the oldest leave first. */
#define STUB_CACHE_MAX 50000
/* 256 KiB of chain heads: above malloc's mmap threshold, so the zeroed
 * pages come from the kernel as they are first touched, and a one-answer
 * run does not pay for clearing them all. */
#define STUB_CACHE_BUCKETS 32768
/* Negative answers without an SOA are kept this long (seconds). */
#define STUB_NEG_TTL_DEFAULT 60
/* Longest wire-format name (RFC 1035). */
#define STUB_NAME_MAX 255

typedef struct centry {
	struct centry *next;       /* bucket chain */
	struct centry *older, *newer;  /* insertion order */
	uint16_t type;
	int64_t expires_ms;
	sd_dns_answer ans;
	char name[];               /* lowercased, no trailing dot */
} centry;

typedef struct stub {
	struct sockaddr_storage addr[STUB_MAX_SERVERS];
	socklen_t addrlen[STUB_MAX_SERVERS];
	size_t n;
	pthread_mutex_t lock;      /* the cache */
	centry **bucket;           /* STUB_CACHE_BUCKETS chains */
	centry *oldest, *newest;
	size_t cached;
} stub;

/* ---- names ---- */

/* Presentation name -> wire format (\X and \DDD escapes); 0 if invalid. */
static size_t name_to_wire(const char *s, unsigned char *out)
{
	size_t o = 0;
	if (s[0] == '.' && s[1] == '\0') {
		out[0] = 0;
		return 1;
	}
	while (*s) {
		size_t lenpos = o++, l = 0;
		while (*s && *s != '.') {
			unsigned c = (unsigned char)*s++;
			if (c == '\\') {
				if (s[0] >= '0' && s[0] <= '9' && s[1] >= '0' &&
				    s[1] <= '9' && s[2] >= '0' && s[2] <= '9') {
					c = (unsigned)((s[0] - '0') * 100 +
					    (s[1] - '0') * 10 + (s[2] - '0'));
					s += 3;
					if (c > 255)
						return 0;
				} else if (*s) {
					c = (unsigned char)*s++;
				} else {
					return 0;
				}
			}
			if (++l > 63 || o + 1 >= STUB_NAME_MAX)
				return 0;
			out[o++] = (unsigned char)c;
		}
		if (l == 0)
			return 0;   /* an empty label */
		out[lenpos] = (unsigned char)l;
		if (*s == '.' && *++s == '\0')
			break;      /* the trailing dot */
	}
	out[o++] = 0;
	return o;
}

/*
 * Reads a possibly compressed name at msg[*off] into wire format (out holds
 * STUB_NAME_MAX bytes); *off moves past the name as it sits in the
 * message.  0 on a malformed name or a pointer loop.
 */
static size_t read_name(const unsigned char *msg, size_t len, size_t *off,
    unsigned char *out)
{
	size_t i = *off, o = 0;
	int jumped = 0, hops = 0;
	for (;;) {
		if (i >= len)
			return 0;
		unsigned l = msg[i];
		if ((l & 0xc0) == 0xc0) {
			if (i + 1 >= len || ++hops > 64)
				return 0;
			if (!jumped)
				*off = i + 2;
			jumped = 1;
			i = (size_t)(l & 0x3f) << 8 | msg[i + 1];
			continue;
		}
		if (l > 63 || i + 1 + l > len || o + 1 + l >= STUB_NAME_MAX)
			return 0;
		memcpy(out + o, msg + i, l + 1);
		o += l + 1;
		i += l + 1;
		if (l == 0)
			break;
	}
	if (!jumped)
		*off = i;
	return o;
}

static int wire_eq(const unsigned char *a, const unsigned char *b)
{
	for (;;) {
		unsigned l = *a;
		if (l != *b)
			return 0;
		if (l == 0)
			return 1;
		for (unsigned k = 1; k <= l; k++) {
			unsigned char x = a[k], y = b[k];
			if (x >= 'A' && x <= 'Z')
				x = (unsigned char)(x + 32);
			if (y >= 'A' && y <= 'Z')
				y = (unsigned char)(y + 32);
			if (x != y)
				return 0;
		}
		a += l + 1;
		b += l + 1;
	}
}

/* Wire name -> text, through the backends' common rdata decoder. */
static char *wire_text(const unsigned char *w, size_t wl)
{
	sd_dns_rr rr = { 0 };
	if (!sd_dns_rr_from_wire(&rr, SD_DNS_CNAME, w, wl)) {
		free(rr.text);
		free(rr.rdata);
		return NULL;
	}
	free(rr.rdata);
	return rr.text;
}

/* ---- the cache ---- */

static unsigned bucket_of(const char *name, uint16_t type)
{
	unsigned h = 2166136261u ^ type;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h % STUB_CACHE_BUCKETS;
}

static void key_of(const char *name, char *key, size_t size)
{
	size_t i = 0;
	for (; name[i] && i + 1 < size; i++)
		key[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ?
		    name[i] + 32 : name[i]);
	if (i > 1 && key[i - 1] == '.')
		i--;
	key[i] = '\0';
}

static int copy_answer(const sd_dns_answer *a, sd_dns_answer *out)
{
	*out = *a;
	out->rr = NULL;
	out->n_rr = 0;
	out->why_bogus = NULL;
	out->canonname = a->canonname ? strdup(a->canonname) : NULL;
	if (a->canonname && !out->canonname)
		return 0;
	if (!a->n_rr)
		return 1;
	out->rr = calloc(a->n_rr, sizeof *out->rr);
	if (!out->rr)
		return 0;
	for (size_t i = 0; i < a->n_rr; i++) {
		sd_dns_rr *d = &out->rr[i];
		*d = a->rr[i];
		d->text = malloc(a->rr[i].text_len + 1);
		d->rdata = malloc(a->rr[i].rdlen ? a->rr[i].rdlen : 1);
		out->n_rr = i + 1;
		if (!d->text || !d->rdata)
			return 0;
		memcpy(d->text, a->rr[i].text, a->rr[i].text_len + 1);
		memcpy(d->rdata, a->rr[i].rdata, a->rr[i].rdlen);
	}
	return 1;
}

static void unlink_entry(stub *s, centry *e)
{
	centry **p = &s->bucket[bucket_of(e->name, e->type)];
	while (*p && *p != e)
		p = &(*p)->next;
	if (*p)
		*p = e->next;
	if (e->older)
		e->older->newer = e->newer;
	else
		s->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		s->newest = e->older;
	s->cached--;
	sd_dns_answer_clear(&e->ans);
	free(e);
}

/* A fresh cached answer copied into out; 1 if there was one. */
static int cache_get(stub *s, const char *key, uint16_t type,
    sd_dns_answer *out)
{
	int hit = 0;
	pthread_mutex_lock(&s->lock);
	for (centry *e = s->bucket[bucket_of(key, type)]; e; e = e->next) {
		if (e->type != type || strcmp(e->name, key) != 0)
			continue;
		if (e->expires_ms <= sd_now_ms()) {
			unlink_entry(s, e);
			break;
		}
		hit = copy_answer(&e->ans, out);
		if (!hit)
			sd_dns_answer_clear(out);
		break;
	}
	pthread_mutex_unlock(&s->lock);
	if (hit)
		out->elapsed_ms = 0;
	return hit;
}

static void cache_put(stub *s, const char *key, uint16_t type,
    const sd_dns_answer *a, uint32_t ttl)
{
	if (!ttl)
		return;
	size_t kl = strlen(key);
	centry *e = calloc(1, sizeof *e + kl + 1);
	if (!e)
		return;
	memcpy(e->name, key, kl + 1);
	e->type = type;
	e->expires_ms = sd_now_ms() + (int64_t)ttl * 1000;
	if (!copy_answer(a, &e->ans)) {
		sd_dns_answer_clear(&e->ans);
		free(e);
		return;
	}
	pthread_mutex_lock(&s->lock);
	unsigned b = bucket_of(key, type);
	for (centry *o = s->bucket[b]; o; o = o->next)
		if (o->type == type && strcmp(o->name, key) == 0) {
			unlink_entry(s, o);   /* a racing thread's copy */
			break;
		}
	if (s->cached >= STUB_CACHE_MAX)
		unlink_entry(s, s->oldest);
	e->next = s->bucket[b];
	s->bucket[b] = e;
	e->older = s->newest;
	if (s->newest)
		s->newest->newer = e;
	else
		s->oldest = e;
	s->newest = e;
	s->cached++;
	pthread_mutex_unlock(&s->lock);
}

/* ---- one exchange ---- */

/* The question: header, name, type, class IN, and an EDNS0 OPT record. */
static size_t build_query(unsigned char *q, uint16_t id,
    const unsigned char *wname, size_t wl, uint16_t type)
{
	static const unsigned char opt[] = { 0, 0, 41, STUB_UDP_SIZE >> 8,
	    STUB_UDP_SIZE & 0xff, 0, 0, 0, 0, 0, 0 };
	memset(q, 0, 12);
	q[0] = (unsigned char)(id >> 8);
	q[1] = (unsigned char)id;
	q[2] = 0x01;              /* RD: the server recurses for us */
	q[5] = 1;                 /* one question */
	q[11] = 1;                /* one additional record: OPT */
	memcpy(q + 12, wname, wl);
	size_t o = 12 + wl;
	q[o++] = (unsigned char)(type >> 8);
	q[o++] = (unsigned char)type;
	q[o++] = 0;
	q[o++] = 1;
	memcpy(q + o, opt, sizeof opt);
	return o + sizeof opt;
}

/* Is msg the answer to q (id, QR, the same question)? */
static int answers(const unsigned char *msg, size_t len,
    const unsigned char *q, size_t qlen)
{
	if (len < 12 || msg[0] != q[0] || msg[1] != q[1] || !(msg[2] & 0x80) ||
	    msg[4] != 0 || msg[5] != 1)
		return 0;
	/* the question section is echoed as sent, case aside */
	size_t off = 12;
	unsigned char name[STUB_NAME_MAX];
	if (!read_name(msg, len, &off, name) || off + 4 > len ||
	    !wire_eq(name, q + 12))
		return 0;
	size_t qe = qlen - 11;    /* the question's end, before OPT */
	return memcmp(msg + off, q + qe - 4, 4) == 0;
}

static int wait_fd(int fd, short events, int64_t until_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	for (;;) {
		int64_t left = sd_remaining_ms(until_ms);
		if (left <= 0)
			return 0;
		int rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

/* Reads exactly n bytes from a TCP socket before the deadline. */
static int read_full(int fd, unsigned char *buf, size_t n, int64_t deadline)
{
	size_t got = 0;
	while (got < n) {
		if (wait_fd(fd, POLLIN, deadline) <= 0)
			return 0;
		ssize_t r = recv(fd, buf + got, n - got, 0);
		if (r <= 0 && !(r < 0 && (errno == EINTR || errno == EAGAIN)))
			return 0;
		if (r > 0)
			got += (size_t)r;
	}
	return 1;
}

/* The question over TCP (after a truncated answer); the answer's length
 * or 0.  *timed_out tells a deadline from a refusal. */
static size_t ask_tcp(const stub *s, size_t i, const unsigned char *q,
    size_t qlen, unsigned char *ans, int64_t deadline, int *timed_out)
{
	int fd = socket(s->addr[i].ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	size_t n = 0;
	*timed_out = 0;
	if (fd < 0)
		return 0;
	if (connect(fd, (const struct sockaddr *)&s->addr[i],
	    s->addrlen[i]) != 0 && errno != EINPROGRESS)
		goto out;
	int err = 0;
	socklen_t el = sizeof err;
	int w = wait_fd(fd, POLLOUT, deadline);
	if (w <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 ||
	    err) {
		*timed_out = w == 0;
		goto out;
	}
	unsigned char pre[2] = { (unsigned char)(qlen >> 8),
	    (unsigned char)qlen };
	struct iovec iov[2] = { { pre, 2 }, { (void *)q, qlen } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)(qlen + 2))
		goto out;
	unsigned char lp[2];
	if (!read_full(fd, lp, 2, deadline)) {
		*timed_out = sd_remaining_ms(deadline) <= 0;
		goto out;
	}
	size_t l = (size_t)lp[0] << 8 | lp[1];
	if (read_full(fd, ans, l, deadline) && answers(ans, l, q, qlen))
		n = l;
	else
		*timed_out = sd_remaining_ms(deadline) <= 0;
out:
	close(fd);
	return n;
}

/* One UDP socket per question, connected to the server asked, so that only
 * that server's datagrams reach it; a datagram that is not the answer (a
 * late one, a forgery) is dropped and the wait goes on.  The answer's
 * length, 0 at `until`, -1 when the server cannot be asked (an ICMP
 * unreachable: nothing listens there). */
static ssize_t ask_udp(const stub *s, size_t i, const unsigned char *q,
    size_t qlen, unsigned char *ans, int64_t until)
{
	int fd = socket(s->addr[i].ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	ssize_t n = -1;
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&s->addr[i],
	    s->addrlen[i]) != 0 || send(fd, q, qlen, 0) != (ssize_t)qlen)
		goto out;
	n = 0;
	while (wait_fd(fd, POLLIN, until) > 0) {
		ssize_t r = recv(fd, ans, STUB_UDP_SIZE, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0) {
			n = -1;
			break;
		}
		if (answers(ans, (size_t)r, q, qlen)) {
			n = r;
			break;
		}
	}
out:
	close(fd);
	return n;
}

/* ---- reading the answer ---- */

typedef struct rrview {
	uint16_t type;
	uint32_t ttl;
	size_t rd;                      /* rdata offset in the message */
	uint16_t rdlen;
} rrview;

/* Walks one record at *off; 0 when malformed. */
static int next_rr(const unsigned char *m, size_t len, size_t *off,
    rrview *v, unsigned char *owner)
{
	if (!read_name(m, len, off, owner) || *off + 10 > len)
		return 0;
	const unsigned char *p = m + *off;
	v->type = (uint16_t)(p[0] << 8 | p[1]);
	v->ttl = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
	    (uint32_t)p[6] << 8 | p[7];
	if (v->ttl > 0x7fffffff)
		v->ttl = 0;          /* RFC 2181 8: "treated as zero" */
	v->rdlen = (uint16_t)(p[8] << 8 | p[9]);
	v->rd = *off + 10;
	if (v->rd + v->rdlen > len)
		return 0;
	*off = v->rd + v->rdlen;
	return 1;
}

/*
 * The rdata of one record as the backends' decoder takes it: names inside
 * CNAME, NS, PTR, MX and SRV records decompressed.  Returns its length in
 * out (STUB_TCP_MAX bytes), 0 when malformed.
 */
static size_t expand_rdata(const unsigned char *m, size_t len,
    const rrview *v, unsigned char *out)
{
	size_t fixed;
	switch (v->type) {
	case SD_DNS_CNAME: case SD_DNS_NS: case SD_DNS_PTR: fixed = 0; break;
	case SD_DNS_MX: fixed = 2; break;
	case SD_DNS_SRV: fixed = 6; break;
	default:
		memcpy(out, m + v->rd, v->rdlen);
		return v->rdlen ? v->rdlen : (size_t)-1;
	}
	if (v->rdlen < fixed + 1)
		return 0;
	memcpy(out, m + v->rd, fixed);
	size_t off = v->rd + fixed;
	size_t wl = read_name(m, len, &off, out + fixed);
	return wl && off == v->rd + v->rdlen ? fixed + wl : 0;
}

/* The offset after n records from off (len when malformed). */
static size_t skip_section(const unsigned char *m, size_t len, size_t off,
    unsigned n)
{
	unsigned char owner[STUB_NAME_MAX];
	for (unsigned k = 0; k < n; k++) {
		rrview v;
		if (!next_rr(m, len, &off, &v, owner))
			return len;
	}
	return off;
}

/* Follows the CNAMEs from the question's name in the answer section;
 * cur ends as the name whose records answer the question. */
static int follow_cnames(const unsigned char *m, size_t len, size_t an_off,
    unsigned an, uint16_t type, unsigned char *cur, int *followed)
{
	unsigned char owner[STUB_NAME_MAX];
	*followed = 0;
	if (type == SD_DNS_CNAME)
		return 1;
	for (int hop = 0; hop < STUB_MAX_CNAMES; hop++) {
		size_t off = an_off;
		int moved = 0;
		for (unsigned k = 0; k < an && !moved; k++) {
			rrview v;
			if (!next_rr(m, len, &off, &v, owner))
				return 0;
			if (v.type != SD_DNS_CNAME || !wire_eq(owner, cur))
				continue;
			size_t t = v.rd;
			if (!read_name(m, len, &t, cur))
				return 0;
			moved = *followed = 1;
		}
		if (!moved)
			return 1;
	}
	return 0;   /* a CNAME loop */
}

/* The negative answer's TTL: the SOA's own TTL or its MINIMUM, the lower
 * (RFC 2308 5). */
static uint32_t negative_ttl(const unsigned char *m, size_t len, size_t off,
    unsigned ns)
{
	unsigned char owner[STUB_NAME_MAX], skip[STUB_NAME_MAX];
	for (unsigned k = 0; k < ns; k++) {
		rrview v;
		if (!next_rr(m, len, &off, &v, owner))
			break;
		if (v.type != SD_DNS_SOA)
			continue;
		size_t t = v.rd;
		if (!read_name(m, len, &t, skip) || !read_name(m, len, &t, skip) ||
		    t + 20 > v.rd + v.rdlen)
			break;
		const unsigned char *p = m + t + 16;
		uint32_t min = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
		return min < v.ttl ? min : v.ttl;
	}
	return STUB_NEG_TTL_DEFAULT;
}

/* Fills out from an answer message; *ttl is how long it may be cached. */
static sd_dns_status parse(const unsigned char *m, size_t len,
    const unsigned char *wq, uint16_t type, sd_dns_answer *out,
    uint32_t *ttl)
{
	unsigned an = (unsigned)(m[6] << 8 | m[7]);
	unsigned ns = (unsigned)(m[8] << 8 | m[9]);
	unsigned char cur[STUB_NAME_MAX], owner[STUB_NAME_MAX];
	size_t off = 12;
	int followed;
	*ttl = 0;
	out->rcode = m[3] & 0x0f;
	if (!read_name(m, len, &off, owner))
		return out->status = SD_DNS_SERVFAIL;
	off += 4;
	memcpy(cur, wq, STUB_NAME_MAX);
	if (!follow_cnames(m, len, off, an, type, cur, &followed))
		return out->status = SD_DNS_SERVFAIL;
	if (followed)
		out->canonname = wire_text(cur, STUB_NAME_MAX);
	if (out->rcode == 3) {
		*ttl = negative_ttl(m, len, skip_section(m, len, off, an), ns);
		return out->status = SD_DNS_NXDOMAIN;
	}
	if (out->rcode != 0)
		return out->status = SD_DNS_SERVFAIL;
	out->rr = calloc(an ? an : 1, sizeof *out->rr);
	unsigned char *rd = malloc(STUB_TCP_MAX);
	if (!out->rr || !rd) {
		free(rd);
		return out->status = SD_DNS_ERROR;
	}
	uint32_t min_ttl = UINT32_MAX;
	for (unsigned k = 0; k < an; k++) {
		rrview v;
		if (!next_rr(m, len, &off, &v, owner)) {
			/* a broken answer: the lookup failed, whatever it
			 * held before the break */
			free(rd);
			return out->status = SD_DNS_SERVFAIL;
		}
		if (v.type != type || !wire_eq(owner, cur))
			continue;
		size_t rl = expand_rdata(m, len, &v, rd);
		if (rl == (size_t)-1)
			rl = 0;
		else if (!rl)
			continue;
		sd_dns_rr *rr = &out->rr[out->n_rr];
		rr->ttl = v.ttl;
		if (sd_dns_rr_from_wire(rr, type, rd, rl)) {
			out->n_rr++;
			min_ttl = v.ttl < min_ttl ? v.ttl : min_ttl;
		} else {
			free(rr->text);
			free(rr->rdata);
			*rr = (sd_dns_rr){ 0 };
		}
	}
	free(rd);
	if (!out->n_rr) {
		*ttl = negative_ttl(m, len, off, ns);
		return out->status = SD_DNS_NODATA;
	}
	*ttl = min_ttl;
	return out->status = SD_DNS_OK;
}

/* ---- the exchange: servers in turn, retransmissions, TCP on TC ---- */

typedef struct exchange {
	int dead[STUB_MAX_SERVERS];  /* refused, unreachable or failed */
	int failed_rcode;            /* a server's SERVFAIL/REFUSED, or 0 */
} exchange;

/* Asks server i once; the answer's length, 0 for none by `until`. */
static size_t ask_one(const stub *s, size_t i, exchange *x,
    const unsigned char *q, size_t qlen, unsigned char *ans, int64_t until,
    int64_t deadline)
{
	ssize_t n = ask_udp(s, i, q, qlen, ans, until);
	if (n < 0)
		x->dead[i] = 1;
	if (n <= 0)
		return 0;
	if (ans[2] & 0x02) {
		/* truncated: the whole answer over TCP, within the deadline */
		int timed_out;
		n = (ssize_t)ask_tcp(s, i, q, qlen, ans, deadline, &timed_out);
		if (!n) {
			x->dead[i] = !timed_out;
			return 0;
		}
	}
	int rcode = ans[3] & 0x0f;
	if (rcode != 0 && rcode != 3) {
		/* SERVFAIL, REFUSED, FORMERR, NOTIMP: another server may do
		 * better; if none does, the lookup failed */
		x->failed_rcode = rcode;
		x->dead[i] = 1;
		return 0;
	}
	return (size_t)n;
}

/* The answer's length in ans, or 0 with out->status saying why not. */
static size_t exchange_all(const stub *s, const unsigned char *q,
    size_t qlen, unsigned char *ans, int64_t deadline, sd_dns_answer *out)
{
	exchange x = { { 0 }, 0 };
	int64_t wait = STUB_FIRST_WAIT_MS;
	for (;;) {
		int asked = 0;
		for (size_t i = 0; i < s->n; i++) {
			if (x.dead[i])
				continue;
			if (sd_remaining_ms(deadline) <= 0) {
				out->status = SD_DNS_TIMEOUT;
				return 0;
			}
			asked = 1;
			int64_t until = sd_now_ms() + wait;
			size_t n = ask_one(s, i, &x, q, qlen, ans,
			    until < deadline ? until : deadline, deadline);
			if (n)
				return n;
		}
		if (!asked) {
			/* every server refused or failed: the lookup failed */
			out->rcode = x.failed_rcode ? x.failed_rcode : 2;
			out->status = SD_DNS_SERVFAIL;
			return 0;
		}
		wait *= 2;
	}
}

sd_dns_status sd_dns_stub_parse(const unsigned char *msg, size_t len,
    const char *name, uint16_t type, sd_dns_answer *out, uint32_t *ttl)
{
	unsigned char wname[STUB_NAME_MAX];
	unsigned char q[12 + STUB_NAME_MAX + 4 + 11];
	size_t wl = name_to_wire(name, wname);
	*ttl = 0;
	if (!wl || len < 2)
		return out->status = SD_DNS_ERROR;
	size_t qlen = build_query(q, (uint16_t)(msg[0] << 8 | msg[1]), wname,
	    wl, type);
	if (!answers(msg, len, q, qlen))
		return out->status = SD_DNS_ERROR;
	return parse(msg, len, wname, type, out, ttl);
}

static sd_dns_status stub_query(void *impl, const char *name, uint16_t type,
    int64_t deadline_ms, sd_dns_answer *out)
{
	stub *s = impl;
	int64_t t0 = sd_now_ms();
	char key[STUB_NAME_MAX * 4 + 8];
	unsigned char wname[STUB_NAME_MAX];
	key_of(name, key, sizeof key);
	if (cache_get(s, key, type, out))
		return out->status;
	size_t wl = strlen(name) < sizeof key - 1 ? name_to_wire(name, wname) :
	    0;
	if (!wl)
		return out->status = SD_DNS_ERROR;
	uint16_t id;
	if (getrandom(&id, sizeof id, 0) != (ssize_t)sizeof id)
		id = (uint16_t)(sd_now_ms() ^ (uintptr_t)&id);
	unsigned char q[12 + STUB_NAME_MAX + 4 + 11];
	size_t qlen = build_query(q, id, wname, wl, type);
	unsigned char *ans = malloc(STUB_TCP_MAX);
	if (!ans)
		return out->status = SD_DNS_ERROR;
	size_t n = exchange_all(s, q, qlen, ans, deadline_ms, out);
	uint32_t ttl = 0;
	if (n)
		parse(ans, n, wname, type, out, &ttl);
	free(ans);
	out->elapsed_ms = sd_now_ms() - t0;
	if (n && out->status != SD_DNS_ERROR && out->status != SD_DNS_SERVFAIL)
		cache_put(s, key, type, out, ttl);
	return out->status;
}

static void stub_free(void *impl)
{
	stub *s = impl;
	if (!s)
		return;
	while (s->oldest)
		unlink_entry(s, s->oldest);
	pthread_mutex_destroy(&s->lock);
	free(s->bucket);
	free(s);
}

static const sd_resolver_ops stub_ops = { stub_query, stub_free };

/* ---- configuration ---- */

/* "ADDR" or "ADDR@PORT" (sd_dns_server_spec's form) -> a socket address. */
static int add_server(stub *s, const char *spec)
{
	char host[128];
	int port = 53;
	const char *at = strchr(spec, '@');
	size_t hl = at ? (size_t)(at - spec) : strlen(spec);
	if (s->n >= STUB_MAX_SERVERS || hl >= sizeof host)
		return 0;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (at)
		port = atoi(at + 1);
	struct sockaddr_in *a4 = (struct sockaddr_in *)&s->addr[s->n];
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&s->addr[s->n];
	memset(&s->addr[s->n], 0, sizeof s->addr[s->n]);
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		s->addrlen[s->n++] = sizeof *a4;
		return 1;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		s->addrlen[s->n++] = sizeof *a6;
		return 1;
	}
	return 0;
}

/* The nameserver lines of resolv.conf (as the C library reads them: the
 * first three; none means the local host). */
static int read_resolv_conf(stub *s)
{
	FILE *f = fopen("/etc/resolv.conf", "re");
	char line[512];
	while (f && s->n < STUB_RESOLV_CONF_MAX && fgets(line, sizeof line, f)) {
		char word[16], addr[128];
		if (sscanf(line, "%15s %127s", word, addr) != 2 ||
		    strcmp(word, "nameserver") != 0)
			continue;
		char *pct = strchr(addr, '%');
		if (pct)
			*pct = '\0';   /* a link-local's zone: not kept */
		add_server(s, addr);
	}
	if (f)
		fclose(f);
	return s->n ? 1 : add_server(s, "127.0.0.1");
}

sd_resolver *sd_resolver_new_stub(const char **servers, size_t n_servers,
    const char **err)
{
	stub *s = calloc(1, sizeof *s);
	*err = "out of memory";
	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->bucket = calloc(STUB_CACHE_BUCKETS, sizeof *s->bucket);
	if (!s->bucket)
		goto fail;
	for (size_t i = 0; i < n_servers; i++) {
		char spec[200];
		if (!sd_dns_server_spec(servers[i], spec, sizeof spec) ||
		    !add_server(s, spec)) {
			*err = "invalid --resolver address (use ADDR, ADDR:PORT "
			    "or [IPV6]:PORT; at most 8)";
			goto fail;
		}
	}
	if (!n_servers && (*err = sd_dns_system_resolver_refused()) != NULL)
		goto fail;
	if (!n_servers && !read_resolv_conf(s)) {
		*err = "could not read the system's resolver configuration "
		    "(/etc/resolv.conf)";
		goto fail;
	}
	return sd_resolver_new_custom(&stub_ops, s);
fail:
	stub_free(s);
	return NULL;
}
