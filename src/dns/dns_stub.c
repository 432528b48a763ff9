/*
 * The stub backend of the resolver interface: questions go to the
 * configured recursive servers (--resolver, or the nameserver lines of
 * /etc/resolv.conf), with no validation of its own.
 *
 * It exists for `spf` (and for asking one authoritative server a few
 * questions): an SPF evaluation needs no DNSSEC, and creating a libunbound
 * context costs more CPU than the whole evaluation (the library loads with
 * libevent, nettle, hogweed and gmp, and seeds a random generator for the
 * context and again for its worker thread: some 30 million instructions
 * here).  Commands that judge DNSSEC (domain's DANE, check's answers) keep
 * libunbound, unless nothing is validated (--resolver without
 * --trust-anchor): then check and domain --batch ask here too.
 *
 * Little of the protocol is ours: c-ares asks (UDP with EDNS0, TCP when
 * an answer is truncated, retransmission with a doubling wait, answers
 * matched to their question, random ids and source ports: a channel keeps
 * its socket between questions, as c-ares does, for STUB_SOCKET_QUESTIONS
 * questions at most) and the C
 * library reads the names in the answer (compression, escapes).  Ours are
 * the walk over the answer's records (below, with why) and what the
 * resolver interface promises on top: a deadline per question with every
 * wait bounded, the status of dns.h told apart exactly (SERVFAIL, REFUSED,
 * FORMERR and a server nothing listens on are a failed lookup, not a
 * timeout), CNAME chains followed, and a cache.
 *
 * One resolver serves a whole batch: answers are cached by name and type
 * for their TTL (negative answers for the SOA's, RFC 2308), the cache
 * bounded in entries and bytes.  A c-ares channel is not safe to share
 * between threads, so a question takes an idle channel of the resolver's
 * own (or makes one) and gives it back when answered: threads ask at once
 * without waiting for each other, and no pump thread sits between them.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "util/util.h"

/* Servers one resolver asks in turn (--resolver may name several). */
#define STUB_MAX_SERVERS 8
/* resolv.conf's first 3 nameservers count (the C library's MAXNS). */
#define STUB_RESOLV_CONF_MAX 3
/* The UDP payload we advertise (EDNS0) and accept: the DNS flag day 2020
 * size, which needs no fragmentation on common paths. */
#define STUB_UDP_SIZE 1232
/* First wait for an answer; c-ares doubles it on each round of the
 * servers.  Eight rounds wait 100 s in all: the question's own deadline,
 * not this, is what ends the wait. */
#define STUB_FIRST_WAIT_MS 400
#define STUB_TRIES 8
/* Idle channels kept for the next question: one for each thread of the
 * job pool (SD_JOBS_THREADS_MAX), each of which asks one question at a
 * time, so that a batch's questions never make and destroy channels (with
 * 64, a domain --batch of 128 domains at once made and destroyed one to
 * three channels a domain).  A channel holds no socket while idle, only
 * c-ares' tables (some 75 KiB), and the channels kept are the ones the
 * busiest moment made. */
#define STUB_IDLE_CHANNELS 512
/* Questions a channel asks before it is made anew.  A channel keeps its
 * UDP socket open between questions (ARES_FLAG_STAYOPEN): a socket a
 * question cost six system calls (socket, three fcntl, connect, close),
 * 40% of domain --batch's.  A new channel has a new socket, on a new
 * random port, as c-ares' own limit on a socket's queries
 * (ARES_OPT_UDP_MAX_QUERIES, c-ares 1.20) would give it. */
#define STUB_SOCKET_QUESTIONS 32
/* CNAMEs followed inside one answer before giving up (a loop). */
#define STUB_MAX_CNAMES 16
/* Answers kept in the cache of one resolver, and the bytes they may hold
 * (a TXT answer can be 64 KiB); the oldest leave first. */
#define STUB_CACHE_MAX 50000
#define STUB_CACHE_BYTES (64u << 20)
/* Chain heads: a few to start with (one `spf` asks a handful of
 * questions, and every page a process touches or maps costs it), twice
 * as many whenever the answers outnumber them twice, up to 256 KiB of
 * heads for a full cache. */
#define STUB_BUCKETS_FIRST 64
#define STUB_BUCKETS_MAX 32768
/* Chains of the questions on the wire (a power of two): domain --batch
 * has a few hundred on the wire at once, and one list under the cache's
 * lock, walked by every question twice, cost it 8% of its CPU. */
#define STUB_FLIGHT_BUCKETS 256
/* Negative answers without an SOA are kept this long (seconds). */
#define STUB_NEG_TTL_DEFAULT 60
/* Longest wire-format name (RFC 1035). */
#define STUB_NAME_MAX 255
/* The longest rdata that holds names, with them unpacked: an SOA's two
 * names and five counters (MX, SRV, CNAME, NS and PTR hold less).  Other
 * rdata is read where it lies in the message. */
#define STUB_NAMED_RDATA_MAX (2 * STUB_NAME_MAX + 20)

typedef struct centry {
	struct centry *next;       /* bucket chain */
	struct centry *older, *newer;  /* insertion order */
	uint16_t type;
	int64_t expires_ms;
	size_t bytes;              /* what the entry holds, counted */
	sd_dns_answer ans;
	char name[];               /* lowercased, no trailing dot */
} centry;

/* A c-ares channel and the questions it has asked. */
typedef struct chan {
	ares_channel ch;
	unsigned asked;
} chan;

typedef struct stub {
	struct ares_addr_port_node server[STUB_MAX_SERVERS];
	size_t n;
	pthread_mutex_t idle_lock; /* the idle channels */
	chan idle[STUB_IDLE_CHANNELS];
	size_t n_idle;
	pthread_mutex_t lock;      /* the cache */
	centry **bucket;           /* n_buckets chains, a power of two */
	size_t n_buckets;
	centry *oldest, *newest;
	size_t cached;
	size_t bytes;              /* of all entries */
	/* questions on the wire (under lock), chained by name and type */
	struct flight *flights[STUB_FLIGHT_BUCKETS];
} stub;

/* ---- names ---- */

/* The length of the uncompressed wire name at w. */
static size_t wire_len(const unsigned char *w)
{
	size_t i = 0;
	while (w[i])
		i += w[i] + 1u;
	return i + 1;
}

/* A presentation name (\X and \DDD escapes, an optional trailing dot) in
 * wire format, read by the C library, which refuses empty labels, labels
 * over 63 bytes and names over 255; its length, 0 if invalid. */
static size_t wire_of(const char *name, unsigned char *w)
{
	return ns_name_pton(name, w, STUB_NAME_MAX) < 0 ? 0 : wire_len(w);
}

/* Do two presentation names name the same node (ASCII case aside)? */
static int same_name(const char *a, const char *b)
{
	unsigned char wa[STUB_NAME_MAX], wb[STUB_NAME_MAX];
	size_t la = wire_of(a, wa), lb = wire_of(b, wb);
	if (!la || la != lb)
		return 0;
	/* length bytes are below 64, so folding letters leaves them alone */
	for (size_t i = 0; i < la; i++) {
		unsigned char x = wa[i], y = wb[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 32);
		if (x != y)
			return 0;
	}
	return 1;
}

/*
 * The name as c-ares writes it into a question.  c-ares reads "\X" as the
 * byte X but not RFC 1035's "\DDD", so the name goes through wire format
 * and comes back with "\X" where a byte needs it.  0 when the name is
 * invalid or holds a NUL byte (out holds 2 * STUB_NAME_MAX + 2 bytes).
 */
static int ares_name_of(const char *name, char *out)
{
	unsigned char w[STUB_NAME_MAX];
	size_t o = 0;
	if (!wire_of(name, w))
		return 0;
	for (size_t i = 0; w[i]; i += w[i] + 1u) {
		for (unsigned k = 1; k <= w[i]; k++) {
			unsigned char c = w[i + k];
			if (c == 0)
				return 0;
			if (c == '.' || c == '\\')
				out[o++] = '\\';
			out[o++] = (char)c;
		}
		out[o++] = '.';
	}
	if (!o)
		out[o++] = '.';   /* the root */
	out[o] = '\0';
	return 1;
}

/* ---- the cache ---- */

static unsigned name_hash(const char *name, uint16_t type)
{
	unsigned h = 2166136261u ^ type;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
}

static size_t bucket_of(const stub *s, const char *name, uint16_t type)
{
	return name_hash(name, type) & (s->n_buckets - 1);
}

/* Twice the chains once the answers outnumber them twice, so that a chain
 * stays short; the entries are rechained from the age list.  When the
 * memory cannot be had the chains just grow longer. */
static void maybe_grow(stub *s)
{
	size_t n = s->n_buckets * 2;
	if (s->cached < 2 * s->n_buckets || n > STUB_BUCKETS_MAX)
		return;
	centry **b = calloc(n, sizeof *b);
	if (!b)
		return;
	free(s->bucket);
	s->bucket = b;
	s->n_buckets = n;
	for (centry *e = s->oldest; e; e = e->newer) {
		size_t k = bucket_of(s, e->name, e->type);
		e->next = b[k];
		b[k] = e;
	}
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
	centry **p = &s->bucket[bucket_of(s, e->name, e->type)];
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
	s->bytes -= e->bytes;
	sd_dns_answer_clear(&e->ans);
	free(e);
}

/* A fresh cached answer copied into out; 1 if there was one. */
static int cache_get(stub *s, const char *key, uint16_t type,
    sd_dns_answer *out)
{
	int hit = 0;
	pthread_mutex_lock(&s->lock);
	for (centry *e = s->bucket[bucket_of(s, key, type)]; e;
	    e = e->next) {
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
	e->bytes = sizeof *e + kl + 1 + a->n_rr * sizeof *a->rr;
	for (size_t i = 0; i < a->n_rr; i++)
		e->bytes += a->rr[i].text_len + 1 + a->rr[i].rdlen;
	e->expires_ms = sd_now_ms() + (int64_t)ttl * 1000;
	if (!copy_answer(a, &e->ans)) {
		sd_dns_answer_clear(&e->ans);
		free(e);
		return;
	}
	pthread_mutex_lock(&s->lock);
	maybe_grow(s);
	size_t b = bucket_of(s, key, type);
	for (centry *o = s->bucket[b]; o; o = o->next)
		if (o->type == type && strcmp(o->name, key) == 0) {
			unlink_entry(s, o);   /* a racing thread's copy */
			break;
		}
	while (s->oldest && (s->cached >= STUB_CACHE_MAX ||
	    s->bytes + e->bytes > STUB_CACHE_BYTES))
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
	s->bytes += e->bytes;
	pthread_mutex_unlock(&s->lock);
}

/* ---- reading the answer ---- */

/*
 * The message's frame (RFC 1035 4.1): the header's counts, where each
 * section starts, every record checked to lie inside the message and
 * nothing left after the last one, as libresolv's ns_initparse() checks
 * it.  This little is ours so that a process need not open libresolv for
 * it: that cost every `spf` 15 system calls and 7 pages of memory, dear on
 * a virtual machine, where a new page can cost more than 20 us.  The
 * names are read by the C library itself (dn_skipname, dn_expand,
 * ns_name_*).
 */
enum { SEC_QD, SEC_AN, SEC_NS, SEC_AR };

typedef struct dmsg {
	const unsigned char *base, *end;
	const unsigned char *sect[4];   /* first record of each section */
	unsigned count[4];
	int at_sect;                    /* where the last record read ended: */
	unsigned at_k;                  /* section, index of the next one, */
	const unsigned char *at;        /* and its first byte */
} dmsg;

/* One record (or question: no TTL, no rdata). */
typedef struct drr {
	char name[NS_MAXDNAME];         /* the owner, presentation text */
	uint16_t type, rclass;
	uint32_t ttl;
	const unsigned char *rdata;
	uint16_t rdlen;
} drr;

/* The record of section sec at p: into rr (its owner expanded) unless
 * rr is NULL; the first byte after it, NULL when it does not fit in the
 * message or its owner cannot be read. */
static const unsigned char *read_rr(const dmsg *m, int sec,
    const unsigned char *p, drr *rr)
{
	int n = dn_skipname(p, m->end);
	if (n < 0 || m->end - p - n < (sec == SEC_QD ? 4 : 10))
		return NULL;
	if (rr && dn_expand(m->base, m->end, p, rr->name,
	    sizeof rr->name) < 0)
		return NULL;
	const unsigned char *q = p + n;
	uint16_t type, rclass, rdlen = 0;
	uint32_t ttl = 0;
	NS_GET16(type, q);
	NS_GET16(rclass, q);
	if (sec != SEC_QD) {
		NS_GET32(ttl, q);
		NS_GET16(rdlen, q);
		if (m->end - q < rdlen)
			return NULL;
	}
	if (rr) {
		rr->type = type;
		rr->rclass = rclass;
		rr->ttl = ttl;
		rr->rdata = q;
		rr->rdlen = rdlen;
	}
	return q + rdlen;
}

/* The frame of msg (len bytes, a header's worth at least); 0, or -1 when
 * a record runs past the end or bytes follow the last one. */
static int msg_init(dmsg *m, const unsigned char *msg, size_t len)
{
	const unsigned char *p = msg + NS_HFIXEDSZ;
	m->base = msg;
	m->end = msg + len;
	for (int s = SEC_QD; s <= SEC_AR; s++) {
		m->count[s] = (unsigned)msg[4 + 2 * s] << 8 | msg[5 + 2 * s];
		m->sect[s] = p;
		for (unsigned k = 0; k < m->count[s] && p; k++)
			p = read_rr(m, s, p, NULL);
		if (!p)
			return -1;
	}
	m->at_sect = SEC_QD;
	m->at_k = 0;
	m->at = m->sect[SEC_QD];
	return p == m->end ? 0 : -1;
}

/* Record k of section sec into rr; 0, or -1 when its owner cannot be
 * read.  Reading the records of a section in turn walks it once. */
static int msg_rr(dmsg *m, int sec, unsigned k, drr *rr)
{
	if (k >= m->count[sec])
		return -1;
	if (m->at_sect != sec || m->at_k > k) {
		m->at_sect = sec;
		m->at_k = 0;
		m->at = m->sect[sec];
	}
	/* msg_init() has walked these: each one fits */
	for (; m->at_k < k; m->at_k++)
		m->at = read_rr(m, sec, m->at, NULL);
	const unsigned char *next = read_rr(m, sec, m->at, rr);
	if (!next)
		return -1;
	m->at = next;
	m->at_k++;
	return 0;
}

/* A record's TTL as RFC 2181 8 reads it: above 2^31 - 1 it is zero. */
static uint32_t ttl_of(const drr *rr)
{
	return rr->ttl > 0x7fffffff ? 0 : rr->ttl;
}

/*
 * rr's rdata as the backends' common decoder takes it, in *rd: with the
 * names inside CNAME, NS, PTR, MX, SRV and SOA records unpacked into buf
 * (STUB_NAMED_RDATA_MAX bytes; c-ares hands us the message as sent,
 * compressed), any other rdata where it lies.  Its length, or -1 when the
 * rdata is malformed.
 */
static long rdata_of(const dmsg *m, const drr *rr, unsigned char *buf,
    const unsigned char **rd)
{
	const unsigned char *p = rr->rdata;
	const unsigned char *end = p + rr->rdlen;
	size_t fixed = 0, tail = 0, o;
	int names = 1;
	switch (rr->type) {
	case ns_t_cname: case ns_t_ns: case ns_t_ptr: break;
	case ns_t_mx: fixed = 2; break;
	case ns_t_srv: fixed = 6; break;
	case ns_t_soa: names = 2; tail = 20; break;   /* five counters */
	default:
		*rd = p;
		return rr->rdlen;
	}
	if ((size_t)(end - p) < fixed)
		return -1;
	memcpy(buf, p, fixed);
	o = fixed;
	p += fixed;
	for (int k = 0; k < names; k++) {
		int used = ns_name_unpack(m->base, m->end, p, buf + o,
		    STUB_NAMED_RDATA_MAX - o);
		if (used < 0 || used > end - p)
			return -1;
		o += wire_len(buf + o);
		p += used;
	}
	if ((size_t)(end - p) != tail)
		return -1;
	memcpy(buf + o, p, tail);
	*rd = buf;
	return (long)(o + tail);
}

/* Decodes the record r into rr (through the common decoder); 1 if it was
 * kept. */
static int decode_rr(const dmsg *m, const drr *r, sd_dns_rr *rr)
{
	unsigned char buf[STUB_NAMED_RDATA_MAX];
	const unsigned char *rd;
	long rl = rdata_of(m, r, buf, &rd);
	if (rl < 0)
		return 0;
	rr->ttl = ttl_of(r);
	if (sd_dns_rr_from_wire(rr, r->type, rd, (size_t)rl))
		return 1;
	free(rr->text);
	free(rr->rdata);
	*rr = (sd_dns_rr){ 0 };
	return 0;
}

/* Follows the CNAMEs from the question's name (cur, NS_MAXDNAME bytes) in
 * the answer section; cur ends as the name whose records answer the
 * question, *last as the CNAME record followed last (-1: none).  0 on a
 * loop or a record that cannot be read. */
static int follow_cnames(dmsg *m, uint16_t type, char *cur, int *last)
{
	*last = -1;
	if (type == ns_t_cname)
		return 1;
	for (int hop = 0; hop < STUB_MAX_CNAMES; hop++) {
		int moved = 0;
		for (unsigned k = 0; k < m->count[SEC_AN] && !moved; k++) {
			drr rr;
			if (msg_rr(m, SEC_AN, k, &rr) < 0)
				return 0;
			if (rr.type != ns_t_cname || !same_name(rr.name, cur))
				continue;
			if (ns_name_uncompress(m->base, m->end, rr.rdata, cur,
			    NS_MAXDNAME) < 0)
				return 0;
			*last = (int)k;
			moved = 1;
		}
		if (!moved)
			return 1;
	}
	return 0;   /* a CNAME loop */
}

/* The canonical name: the target of CNAME record k, as the common decoder
 * writes names; NULL when it cannot be had. */
static char *canonname_of(dmsg *m, int k)
{
	drr r;
	sd_dns_rr rr = { 0 };
	if (msg_rr(m, SEC_AN, (unsigned)k, &r) < 0 ||
	    !decode_rr(m, &r, &rr))
		return NULL;
	free(rr.rdata);
	return rr.text;
}

/* The negative answer's TTL: the SOA's own TTL or its MINIMUM, the lower
 * (RFC 2308 5). */
static uint32_t negative_ttl(dmsg *m)
{
	for (unsigned k = 0; k < m->count[SEC_NS]; k++) {
		drr rr;
		if (msg_rr(m, SEC_NS, k, &rr) < 0)
			break;
		if (rr.type != ns_t_soa)
			continue;
		const unsigned char *p = rr.rdata;
		const unsigned char *end = p + rr.rdlen;
		if (ns_name_skip(&p, end) < 0 || ns_name_skip(&p, end) < 0 ||
		    end - p < 20)
			break;
		uint32_t min;
		p += 16;
		NS_GET32(min, p);
		return min < ttl_of(&rr) ? min : ttl_of(&rr);
	}
	return STUB_NEG_TTL_DEFAULT;
}

/* Is the message a response to name/type, class IN? */
static int answers(dmsg *m, const char *name, uint16_t type)
{
	drr q;
	return (m->base[2] & 0x80) && m->count[SEC_QD] == 1 &&
	    msg_rr(m, SEC_QD, 0, &q) == 0 && q.type == type &&
	    q.rclass == ns_c_in && same_name(q.name, name);
}

/* The records of the type asked for, owned by cur, into out; *ttl the
 * lowest of their TTLs.  1, 0 when a record cannot be read, -1 when out
 * of memory. */
static int collect(dmsg *m, const char *cur, uint16_t type,
    sd_dns_answer *out, uint32_t *ttl)
{
	unsigned an = m->count[SEC_AN];
	out->rr = calloc(an ? an : 1, sizeof *out->rr);
	if (!out->rr)
		return -1;
	*ttl = UINT32_MAX;
	for (unsigned k = 0; k < an; k++) {
		drr r;
		if (msg_rr(m, SEC_AN, k, &r) < 0)
			return 0;
		if (r.type != type || !same_name(r.name, cur))
			continue;
		/* a record whose rdata is malformed is dropped, as the
		 * libunbound backend drops it */
		if (decode_rr(m, &r, &out->rr[out->n_rr])) {
			*ttl = ttl_of(&r) < *ttl ? ttl_of(&r) : *ttl;
			out->n_rr++;
		}
	}
	return 1;
}

sd_dns_status sd_dns_stub_parse(const unsigned char *msg, size_t len,
    const char *name, uint16_t type, sd_dns_answer *out, uint32_t *ttl)
{
	dmsg m;
	char cur[NS_MAXDNAME];
	int last;
	*ttl = 0;
	if (len < NS_HFIXEDSZ || len > NS_MAXMSG ||
	    strlen(name) >= sizeof cur)
		return out->status = SD_DNS_ERROR;
	/* a message whose records run past its end, or that holds bytes
	 * after its last record, is a broken answer: the lookup failed */
	if (msg_init(&m, msg, len) < 0) {
		out->rcode = msg[3] & 0x0f;
		return out->status = SD_DNS_SERVFAIL;
	}
	if (!answers(&m, name, type))
		return out->status = SD_DNS_ERROR;
	out->rcode = msg[3] & 0x0f;
	strcpy(cur, name);
	if (!follow_cnames(&m, type, cur, &last))
		return out->status = SD_DNS_SERVFAIL;
	if (last >= 0) {
		/* without it (no memory) the answer still stands */
		out->canonname = canonname_of(&m, last);
	}
	if (out->rcode == ns_r_nxdomain) {
		*ttl = negative_ttl(&m);
		return out->status = SD_DNS_NXDOMAIN;
	}
	if (out->rcode != ns_r_noerror)
		return out->status = SD_DNS_SERVFAIL;
	int got = collect(&m, cur, type, out, ttl);
	if (got <= 0) {
		/* a broken answer: the lookup failed, whatever it held
		 * before the break */
		*ttl = 0;
		return out->status = got < 0 ? SD_DNS_ERROR : SD_DNS_SERVFAIL;
	}
	if (!out->n_rr) {
		*ttl = negative_ttl(&m);
		return out->status = SD_DNS_NODATA;
	}
	return out->status = SD_DNS_OK;
}

/* ---- asking (c-ares) ---- */

/* in .data, on a page the program's start has written already: alone on
 * a page of .bss, pthread_once's read and then its write cost every
 * process two page faults */
static pthread_once_t ares_once __attribute__((section(".data"))) =
    PTHREAD_ONCE_INIT;
static int ares_ready __attribute__((section(".data")));

static void ares_start(void)
{
	ares_ready = ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS;
}

/*
 * A channel asking the resolver's servers: EDNS0 with our payload size,
 * our first wait and rounds, and nothing read from the system's files
 * (every setting that would be is given; the servers are set right
 * after).  With one server, c-ares hands over a SERVFAIL, REFUSED or
 * NOTIMP answer as it is, so its rcode is known; with several, such a
 * server is skipped and the next one asked, as the C library does.
 */
static ares_channel channel_new(const stub *s)
{
	struct ares_options o;
	memset(&o, 0, sizeof o);
	o.flags = ARES_FLAG_EDNS | ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES |
	    ARES_FLAG_STAYOPEN | (s->n == 1 ? ARES_FLAG_NOCHECKRESP : 0);
	o.timeout = STUB_FIRST_WAIT_MS;
	o.tries = STUB_TRIES;
	o.ednspsz = STUB_UDP_SIZE;
	o.ndots = 1;
	o.lookups = (char *)"b";
	int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	    ARES_OPT_EDNSPSZ | ARES_OPT_NDOTS | ARES_OPT_LOOKUPS |
	    ARES_OPT_SERVERS | ARES_OPT_DOMAINS | ARES_OPT_SORTLIST;
	ares_channel ch;
	if (ares_init_options(&ch, &o, mask) != ARES_SUCCESS)
		return NULL;
	if (ares_set_servers_ports(ch,
	    (struct ares_addr_port_node *)s->server) != ARES_SUCCESS) {
		ares_destroy(ch);
		return NULL;
	}
	return ch;
}

/* An idle channel, or a new one; its ch NULL when none can be made. */
static chan channel_take(stub *s)
{
	chan c = { 0 };
	pthread_mutex_lock(&s->idle_lock);
	if (s->n_idle)
		c = s->idle[--s->n_idle];
	pthread_mutex_unlock(&s->idle_lock);
	if (!c.ch)
		c.ch = channel_new(s);
	return c;
}

/*
 * A channel that has asked one more question: kept for the next one, or
 * destroyed (its socket closed) once it has asked its share, or when it
 * holds a TCP connection (a truncated answer was asked again over TCP):
 * c-ares watches a TCP connection while it asks, and the server closing
 * it, idle, would make c-ares send the next question over UDP again.
 * With no question on its way, only a TCP socket is reported.
 */
static void channel_give(stub *s, chan c)
{
	ares_socket_t fd[ARES_GETSOCK_MAXNUM];
	if (++c.asked < STUB_SOCKET_QUESTIONS &&
	    !ares_getsock(c.ch, fd, ARES_GETSOCK_MAXNUM)) {
		pthread_mutex_lock(&s->idle_lock);
		if (s->n_idle < STUB_IDLE_CHANNELS) {
			s->idle[s->n_idle++] = c;
			c.ch = NULL;
		}
		pthread_mutex_unlock(&s->idle_lock);
	}
	if (c.ch)
		ares_destroy(c.ch);
}

/* One question on its way. */
typedef struct ask {
	const char *name;
	uint16_t type;
	sd_dns_answer *out;
	uint32_t ttl;      /* how long the answer may be cached */
	int done;
} ask;

/* c-ares' status of a question that ended without an answer in hand, as
 * dns.h tells them apart; *rcode the one a server would have said. */
static sd_dns_status status_of(int st, int *rcode)
{
	switch (st) {
	case ARES_ETIMEOUT:
	case ARES_ECANCELLED:      /* our deadline */
		return SD_DNS_TIMEOUT;
	case ARES_ECONNREFUSED:
		/* every server answered SERVFAIL, REFUSED or NOTIMP, or
		 * could not be reached (nothing listens there): the lookup
		 * failed, it did not time out */
	case ARES_ESERVFAIL:
	case ARES_EREFUSED:
	case ARES_EFORMERR:
	case ARES_ENOTIMP:
	case ARES_EBADRESP:
		*rcode = ns_r_servfail;
		return SD_DNS_SERVFAIL;
	case ARES_ENOTFOUND:
		/* c-ares answers .onion names itself (RFC 7686) */
		*rcode = ns_r_nxdomain;
		return SD_DNS_NXDOMAIN;
	default:                   /* a bad name, no memory */
		return SD_DNS_ERROR;
	}
}

static void on_answer(void *arg, int status, int timeouts,
    unsigned char *abuf, int alen)
{
	ask *q = arg;
	(void)timeouts;
	q->done = 1;
	/* c-ares turns the rcode into its status but hands over the answer
	 * too: read it for the records, the rcode and the TTLs */
	if (abuf && alen > 0)
		sd_dns_stub_parse(abuf, (size_t)alen, q->name, q->type, q->out,
		    &q->ttl);
	else
		q->out->status = status_of(status, &q->out->rcode);
}

/* The channel's sockets, as poll() takes them; their number. */
static nfds_t channel_fds(ares_channel ch, struct pollfd *p)
{
	ares_socket_t fd[ARES_GETSOCK_MAXNUM];
	/* read as unsigned: c-ares' own ARES_GETSOCK_WRITABLE shifts a
	 * signed 1 into the sign bit for the last socket */
	unsigned bits = (unsigned)ares_getsock(ch, fd, ARES_GETSOCK_MAXNUM);
	nfds_t n = 0;
	for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
		short ev = (short)((bits >> i & 1u ? POLLIN : 0) |
		    (bits >> (i + ARES_GETSOCK_MAXNUM) & 1u ? POLLOUT : 0));
		if (ev)
			p[n++] = (struct pollfd){ .fd = fd[i], .events = ev };
	}
	return n;
}

/*
 * Runs the channel until the question is answered or its deadline comes,
 * when it is cancelled (a timeout).  Every wait ends at c-ares' next
 * retransmission or at the deadline, whichever is first, and is told
 * (sd_wait_begin): a batch's next line may use the CPU meanwhile.  0, or
 * -1 when poll() fails.
 */
static int pump(ares_channel ch, const ask *q, int64_t deadline)
{
	while (!q->done) {
		int64_t left = sd_remaining_ms(deadline);
		if (left <= 0) {
			ares_cancel(ch);
			return 0;
		}
		struct pollfd p[ARES_GETSOCK_MAXNUM];
		nfds_t n = channel_fds(ch, p);
		struct timeval max = { (time_t)(left / 1000),
		    (suseconds_t)(left % 1000) * 1000 }, tv;
		const struct timeval *t = ares_timeout(ch, &max, &tv);
		int64_t wait = (int64_t)t->tv_sec * 1000 +
		    (t->tv_usec + 999) / 1000;
		sd_wait_begin();
		int rc = poll(p, n, (int)wait);
		sd_wait_end();
		if (rc < 0 && errno != EINTR) {
			ares_cancel(ch);
			return -1;
		}
		if (rc <= 0) {
			/* retransmissions due */
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (nfds_t i = 0; i < n; i++) {
			short r = p[i].revents;
			if (!r)
				continue;
			/* an error (an ICMP unreachable) is read as such */
			ares_process_fd(ch,
			    r & (POLLIN | POLLERR | POLLHUP) ? p[i].fd :
			    ARES_SOCKET_BAD,
			    r & POLLOUT ? p[i].fd : ARES_SOCKET_BAD);
		}
	}
	return 0;
}

/* ---- questions on the wire ---- */

/*
 * A question already on the wire is not sent again: the lines of a batch
 * that start together ask the same questions together (a provider's
 * include, the same test over and over), and each asker would take a
 * channel and a socket of its own.  The others wait for the first one's
 * answer to reach the cache, each until its own deadline, and read it
 * there; an answer that is not cached (a failed lookup, a timeout, a TTL
 * of 0) sends each of them to ask for itself, as if it had come later.
 */
typedef struct flight {
	struct flight *next;
	uint16_t type;
	int landed;                /* the asker is done */
	size_t waiters;
	pthread_cond_t cond;       /* landed (CLOCK_MONOTONIC) */
	char key[];
} flight;

/* The chain of the questions on the wire that key/type would be on. */
static flight **flight_chain(stub *s, const char *key, uint16_t type)
{
	return &s->flights[name_hash(key, type) & (STUB_FLIGHT_BUCKETS - 1)];
}

/* Under s->lock: the question key/type on the wire, or NULL. */
static flight *flight_find(stub *s, const char *key, uint16_t type)
{
	for (flight *f = *flight_chain(s, key, type); f; f = f->next)
		if (f->type == type && strcmp(f->key, key) == 0)
			return f;
	return NULL;
}

/*
 * Joins the question key/type on the wire, waiting until it lands or the
 * deadline passes (1), or, when none is, puts one there for the caller to
 * ask (0, *mine the flight to land; NULL when out of memory).
 */
static int flight_join(stub *s, const char *key, uint16_t type,
    int64_t deadline_ms, flight **mine)
{
	*mine = NULL;
	pthread_mutex_lock(&s->lock);
	flight *f = flight_find(s, key, type);
	if (!f) {
		size_t kl = strlen(key);
		f = calloc(1, sizeof *f + kl + 1);
		if (f && sd_cond_init_monotonic(&f->cond) == 0) {
			memcpy(f->key, key, kl + 1);
			f->type = type;
			flight **chain = flight_chain(s, key, type);
			f->next = *chain;
			*chain = f;
			*mine = f;
		} else {
			free(f);
		}
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	f->waiters++;
	pthread_mutex_unlock(&s->lock);
	sd_wait_begin();
	pthread_mutex_lock(&s->lock);
	struct timespec ts;
	sd_deadline_timespec(deadline_ms, &ts);
	while (!f->landed && sd_remaining_ms(deadline_ms) > 0)
		pthread_cond_timedwait(&f->cond, &s->lock, &ts);
	int last = --f->waiters == 0 && f->landed;
	pthread_mutex_unlock(&s->lock);
	sd_wait_end();
	if (last) {
		pthread_cond_destroy(&f->cond);
		free(f);
	}
	return 1;
}

/* The caller's question has its answer, in the cache or not: off the
 * wire, its waiters woken (the last one frees it). */
static void flight_land(stub *s, flight *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&s->lock);
	flight **p = flight_chain(s, f->key, f->type);
	while (*p != f)
		p = &(*p)->next;
	*p = f->next;
	f->landed = 1;
	int none = !f->waiters;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&s->lock);
	if (none) {
		pthread_cond_destroy(&f->cond);
		free(f);
	}
}

/* Asks the servers (name as c-ares writes it in qname) and caches what
 * may be cached. */
static sd_dns_status ask_servers(stub *s, const char *name, const char *qname,
    const char *key, uint16_t type, int64_t deadline_ms, sd_dns_answer *out)
{
	if (sd_remaining_ms(deadline_ms) <= 0) {
		out->unasked = 1;
		return out->status = SD_DNS_TIMEOUT;
	}
	chan c = channel_take(s);
	if (!c.ch)
		return out->status = SD_DNS_ERROR;
	ask q = { .name = name, .type = type, .out = out };
	ares_query(c.ch, qname, ns_c_in, type, on_answer, &q);
	if (pump(c.ch, &q, deadline_ms) < 0)
		out->status = SD_DNS_ERROR;
	channel_give(s, c);
	if (out->status == SD_DNS_OK || out->status == SD_DNS_NXDOMAIN ||
	    out->status == SD_DNS_NODATA)
		cache_put(s, key, type, out, q.ttl);
	return out->status;
}

static sd_dns_status stub_query(void *impl, const char *name, uint16_t type,
    int64_t deadline_ms, sd_dns_answer *out)
{
	stub *s = impl;
	int64_t t0 = sd_now_ms();
	char key[STUB_NAME_MAX * 4 + 8], qname[2 * STUB_NAME_MAX + 2];
	if (strlen(name) >= sizeof key - 1 || !ares_name_of(name, qname))
		return out->status = SD_DNS_ERROR;
	key_of(name, key, sizeof key);
	if (cache_get(s, key, type, out))
		return out->status;
	flight *mine;
	if (flight_join(s, key, type, deadline_ms, &mine) &&
	    cache_get(s, key, type, out)) {
		out->elapsed_ms = sd_now_ms() - t0;
		return out->status;
	}
	ask_servers(s, name, qname, key, type, deadline_ms, out);
	flight_land(s, mine);
	out->elapsed_ms = sd_now_ms() - t0;
	return out->status;
}

static void stub_free(void *impl)
{
	stub *s = impl;
	if (!s)
		return;
	while (s->n_idle)
		ares_destroy(s->idle[--s->n_idle].ch);
	while (s->oldest)
		unlink_entry(s, s->oldest);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->idle_lock);
	free(s->bucket);
	free(s);
}

static const sd_resolver_ops stub_ops = { stub_query, stub_free };

/* ---- configuration ---- */

/*
 * "ADDR" or "ADDR@PORT" (sd_dns_server_spec's form) as a server of
 * c-ares.  (Its ares_set_servers_ports_csv reads the --resolver form
 * itself, but c-ares 1.18 misreads the port of any server after the
 * first, counting colons across the whole list.)
 */
static int add_server(stub *s, const char *spec)
{
	char host[128];
	const char *at = strchr(spec, '@');
	size_t hl = at ? (size_t)(at - spec) : strlen(spec);
	if (s->n >= STUB_MAX_SERVERS || hl >= sizeof host)
		return 0;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	struct ares_addr_port_node *a = &s->server[s->n];
	memset(a, 0, sizeof *a);
	a->udp_port = a->tcp_port = at ? atoi(at + 1) : 53;
	if (inet_pton(AF_INET, host, &a->addr.addr4) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, host, &a->addr.addr6) == 1)
		a->family = AF_INET6;
	else
		return 0;
	s->n++;
	return 1;
}

/* The system's servers, as c-ares reads them from resolv.conf (the first
 * three, as the C library reads them; none means the local host). */
static int system_servers(stub *s)
{
	ares_channel ch;
	struct ares_addr_port_node *list = NULL;
	if (ares_init(&ch) != ARES_SUCCESS)
		return 0;
	if (ares_get_servers_ports(ch, &list) == ARES_SUCCESS)
		for (const struct ares_addr_port_node *a = list;
		    a && s->n < STUB_RESOLV_CONF_MAX; a = a->next) {
			s->server[s->n] = *a;
			if (!s->server[s->n].udp_port)
				s->server[s->n].udp_port = 53;
			if (!s->server[s->n].tcp_port)
				s->server[s->n].tcp_port = 53;
			s->n++;
		}
	ares_free_data(list);
	ares_destroy(ch);
	return s->n > 0;
}

/* Reads the --resolver values, or the system's servers when none is
 * given; NULL or why not. */
static const char *configure(stub *s, const char **servers, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char spec[200];
		if (!sd_dns_server_spec(servers[i], spec, sizeof spec) ||
		    !add_server(s, spec))
			return "invalid --resolver address (use ADDR, ADDR:PORT "
			    "or [IPV6]:PORT; at most 8)";
	}
	if (!n && sd_dns_system_resolver_refused())
		return sd_dns_system_resolver_refused();
	if (!n && !system_servers(s))
		return "could not read the system's resolver configuration "
		    "(/etc/resolv.conf)";
	for (size_t i = 0; i + 1 < s->n; i++)
		s->server[i].next = &s->server[i + 1];
	s->server[s->n - 1].next = NULL;
	return NULL;
}

sd_resolver *sd_resolver_new_stub(const char **servers, size_t n_servers,
    const char **err)
{
	stub *s = calloc(1, sizeof *s);
	*err = "out of memory";
	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->idle_lock, NULL);
	pthread_once(&ares_once, ares_start);
	s->n_buckets = STUB_BUCKETS_FIRST;
	s->bucket = calloc(s->n_buckets, sizeof *s->bucket);
	if (!s->bucket)
		goto fail;
	if (!ares_ready) {
		*err = "c-ares could not be initialised";
		goto fail;
	}
	const char *why = configure(s, servers, n_servers);
	if (why) {
		*err = why;
		goto fail;
	}
	/* the first channel now: a resolver that cannot make one fails
	 * here, not at its first question */
	if ((s->idle[0].ch = channel_new(s)) == NULL) {
		*err = "could not set up a c-ares channel";
		goto fail;
	}
	s->n_idle = 1;
	return sd_resolver_new_custom(&stub_ops, s);
fail:
	stub_free(s);
	return NULL;
}
