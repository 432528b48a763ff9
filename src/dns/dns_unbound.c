/*
 * The libunbound backend of the resolver interface.
 *
 * libunbound has no per-query timeout (a dead server answers SERVFAIL after
 * some 17 s), so each query is asynchronous and the calling thread cancels
 * it at its own deadline.  One pump thread per context, started with the
 * first query, waits on the context's fd and hands each answer to its
 * query's thread through that query's condition variable: with thousands
 * of queries in flight (a batch), an answer wakes the one thread waiting
 * for it, not every waiting thread.  One mutex serialises calls into the
 * context.
 *
 * libunbound sends the queries in flight to one server down one TCP
 * connection (after a truncated UDP answer, say).  A server that closes
 * the connection after each answer, as many do, loses every query but the
 * first, and libunbound answers those SERVFAIL: the lookup did not fail,
 * the transport did.  So a SERVFAIL is asked once more, one query at a
 * time, on a second context of the same settings (no pipelining there),
 * made by the first retry, if the deadline leaves time; a server that
 * really fails fails again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>
#include <unistd.h>

#include "dns/dns.h"
#include "util/util.h"

/* Longest name we render from rdata (RFC 1035: 255 octets, escaped x4). */
#define NAME_TEXT_MAX 1100
/* The root zone's trust anchor (Debian package dns-root-data). */
#define ROOT_ANCHOR "/usr/share/dns/root.key"
/* Poll slice: how often a query waiting for the retry context looks. */
#define POLL_SLICE_MS 20

/* How many queries a context is made for (backend_new's `wide`). */
enum { SD_UB_NARROW, SD_UB_RUN, SD_UB_BATCH };

/* Time a retry needs at least to be worth sending. */
#define RETRY_MIN_MS 100

typedef struct ub_backend {
	struct ub_ctx *ctx;
	pthread_mutex_t lock;
	int cancelled;      /* queries given up at our deadline */
	int inflight;       /* queries sent and not yet answered or given up */
	int permissive;     /* the default root anchor: bogus is not fatal */
	/* same settings, one query at a time: made by the first retry (a
	 * context costs millions of instructions of random seeding, and most
	 * runs never retry); set under retry_lock, read atomically */
	struct ub_backend *retry;
	pthread_mutex_t retry_lock; /* held while a retry is in flight */
	int primary;        /* the resolver's own context, not its retry one */
	char **servers;     /* the primary's settings, for the retry context */
	size_t n_servers;
	char *trust_anchor;
	pthread_t pump;
	int pump_started;   /* under lock */
	int wake[2];        /* a byte here ends the pump */
} ub_backend;

typedef struct pending {
	int done;
	int err;
	struct ub_result *result;
	pthread_cond_t cond;  /* signalled by on_result */
} pending;

/* Runs inside ub_process(), under the backend's lock. */
static void on_result(void *arg, int err, struct ub_result *result)
{
	pending *p = arg;
	p->err = err;
	p->result = result;
	p->done = 1;
	pthread_cond_signal(&p->cond);
}

/* The pump: answers in, callbacks run, until a byte arrives on wake. */
static void *pump(void *arg)
{
	ub_backend *b = arg;
	struct pollfd pfd[2] = {
		{ .fd = ub_fd(b->ctx), .events = POLLIN },
		{ .fd = b->wake[0], .events = POLLIN },
	};
	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (pfd[0].revents) {
			pthread_mutex_lock(&b->lock);
			ub_process(b->ctx);
			pthread_mutex_unlock(&b->lock);
		}
	}
	return NULL;
}

/* Under lock: the pump runs from the first query on; 0 if it cannot. */
static int pump_running(ub_backend *b)
{
	if (b->pump_started)
		return 1;
	if (pipe2(b->wake, O_CLOEXEC) != 0)
		return 0;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 256 * 1024);
	if (pthread_create(&b->pump, &a, pump, b) != 0) {
		close(b->wake[0]);
		close(b->wake[1]);
		pthread_attr_destroy(&a);
		return 0;
	}
	pthread_attr_destroy(&a);
	b->pump_started = 1;
	return 1;
}

/* Decodes an uncompressed wire-format name at rd[*off]; 0 on error. */
static int decode_name(const unsigned char *rd, size_t len, size_t *off,
    char *out, size_t outlen)
{
	size_t o = 0, i = *off;
	int labels = 0;
	while (i < len) {
		unsigned l = rd[i++];
		if (l == 0) {
			if (o == 0 && outlen > 1)
				out[o++] = '.';
			out[o] = '\0';
			*off = i;
			return 1;
		}
		if (l > 63 || i + l > len || ++labels > 127)
			return 0;
		if (o && o + 1 < outlen)
			out[o++] = '.';
		for (unsigned k = 0; k < l; k++) {
			unsigned char c = rd[i + k];
			if (o + 5 >= outlen)
				return 0;
			if (c == '.' || c == '\\') {
				out[o++] = '\\';
				out[o++] = (char)c;
			} else if (c <= 0x20 || c >= 0x7f) {
				o += (size_t)snprintf(out + o, outlen - o,
				    "\\%03u", c);
			} else {
				out[o++] = (char)c;
			}
		}
		i += l;
	}
	return 0;
}

int sd_dns_rr_from_wire(sd_dns_rr *rr, uint16_t type,
    const unsigned char *rd, size_t len)
{
	char name[NAME_TEXT_MAX];
	size_t off = 0;
	rr->type = type;
	rr->rdata = malloc(len ? len : 1);
	if (!rr->rdata)
		return 0;
	memcpy(rr->rdata, rd, len);
	rr->rdlen = len;
	switch (type) {
	case SD_DNS_A:
	case SD_DNS_AAAA: {
		char buf[INET6_ADDRSTRLEN];
		int af = type == SD_DNS_A ? AF_INET : AF_INET6;
		if (len != (type == SD_DNS_A ? 4u : 16u) ||
		    !inet_ntop(af, rd, buf, sizeof buf))
			return 0;
		rr->text = strdup(buf);
		break;
	}
	case SD_DNS_CNAME:
	case SD_DNS_NS:
	case SD_DNS_PTR:
		if (!decode_name(rd, len, &off, name, sizeof name))
			return 0;
		rr->text = strdup(name);
		break;
	case SD_DNS_MX:
		if (len < 3)
			return 0;
		rr->pref = (uint16_t)(rd[0] << 8 | rd[1]);
		off = 2;
		if (!decode_name(rd, len, &off, name, sizeof name))
			return 0;
		rr->text = strdup(name);
		break;
	case SD_DNS_SRV:
		if (len < 7)
			return 0;
		rr->pref = (uint16_t)(rd[0] << 8 | rd[1]);
		rr->weight = (uint16_t)(rd[2] << 8 | rd[3]);
		rr->port = (uint16_t)(rd[4] << 8 | rd[5]);
		off = 6;
		if (!decode_name(rd, len, &off, name, sizeof name))
			return 0;
		rr->text = strdup(name);
		break;
	case SD_DNS_TXT:
	case SD_DNS_SPF: {
		/* character-strings concatenated; NUL bytes kept */
		char *t = malloc(len + 1);
		size_t o = 0;
		if (!t)
			return 0;
		for (size_t i = 0; i < len;) {
			size_t l = rd[i++];
			if (i + l > len) {
				free(t);
				return 0;
			}
			memcpy(t + o, rd + i, l);
			o += l;
			i += l;
		}
		t[o] = '\0';
		rr->text = t;
		rr->text_len = o;
		return 1;
	}
	default:
		rr->text = strdup("");
		break;
	}
	if (!rr->text)
		return 0;
	rr->text_len = strlen(rr->text);
	return 1;
}

static sd_dns_status convert(struct ub_result *res, uint16_t type,
    sd_dns_answer *out, int permissive)
{
	out->rcode = res->rcode;
	out->secure = res->secure;
	if (res->canonname)
		out->canonname = strdup(res->canonname);
	if (res->bogus && permissive) {
		/* validation against the root's anchor that we chose, not the
		 * user: an upstream that strips signatures must not make every
		 * answer a failure; the answer is kept as insecure */
		out->why_bogus = strdup(res->why_bogus ? res->why_bogus :
		    "DNSSEC validation failed");
	} else if (res->bogus) {
		out->why_bogus = strdup(res->why_bogus ? res->why_bogus :
		    "DNSSEC validation failed");
		return out->status = SD_DNS_BOGUS;
	}
	if (res->nxdomain || res->rcode == 3)
		return out->status = SD_DNS_NXDOMAIN;
	if (res->rcode != 0)
		return out->status = SD_DNS_SERVFAIL;
	if (!res->havedata)
		return out->status = SD_DNS_NODATA;
	size_t n = 0;
	while (res->data[n])
		n++;
	out->rr = calloc(n ? n : 1, sizeof *out->rr);
	if (!out->rr)
		return out->status = SD_DNS_ERROR;
	for (size_t i = 0; i < n; i++) {
		sd_dns_rr *rr = &out->rr[out->n_rr];
		rr->ttl = (uint32_t)res->ttl;
		if (sd_dns_rr_from_wire(rr, type, (unsigned char *)res->data[i],
		    (size_t)res->len[i]))
			out->n_rr++;
		else {
			free(rr->text);
			free(rr->rdata);
			*rr = (sd_dns_rr){ 0 };
		}
	}
	return out->status = out->n_rr ? SD_DNS_OK : SD_DNS_NODATA;
}

/* One query on b's context, waited for until the deadline. */
static sd_dns_status resolve_on(ub_backend *b, const char *name,
    uint16_t type, int64_t deadline_ms, sd_dns_answer *out)
{
	pending p = { 0 };
	int id = 0;
	int64_t t0 = sd_now_ms();
	if (sd_remaining_ms(deadline_ms) <= 0) {
		/* nothing to wait for: not asked (what libunbound has cached
		 * would only come by a callback that could not be waited for) */
		out->unasked = 1;
		return out->status = SD_DNS_TIMEOUT;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p.cond, &ca);
	pthread_condattr_destroy(&ca);

	pthread_mutex_lock(&b->lock);
	int rc = pump_running(b) ? ub_resolve_async(b->ctx, name, type, 1, &p,
	    on_result, &id) : -1;
	if (rc == 0)
		b->inflight++;
	struct timespec until;
	sd_deadline_timespec(deadline_ms, &until);
	while (rc == 0 && !p.done && sd_remaining_ms(deadline_ms) > 0)
		pthread_cond_timedwait(&p.cond, &b->lock, &until);
	if (rc == 0) {
		b->inflight--;
		if (!p.done) {
			/* our deadline: cancel so the callback never fires */
			ub_cancel(b->ctx, id);
			b->cancelled++;
		}
	}
	pthread_mutex_unlock(&b->lock);
	pthread_cond_destroy(&p.cond);
	out->elapsed_ms = sd_now_ms() - t0;
	if (rc != 0) {
		out->status = SD_DNS_ERROR;
		return out->status;
	}
	if (!p.done) {
		out->status = SD_DNS_TIMEOUT;
		return out->status;
	}
	if (p.err || !p.result) {
		if (p.result)
			ub_resolve_free(p.result);
		out->status = SD_DNS_SERVFAIL;
		return out->status;
	}
	convert(p.result, type, out, b->permissive);
	ub_resolve_free(p.result);
	return out->status;
}

static ub_backend *backend_new(const char **servers, size_t n_servers,
    const char *trust_anchor, int wide, const char **err);

/* Under retry_lock: the retry context, made the first time; NULL if it
 * cannot be (the first answer then stands). */
static ub_backend *retry_backend(ub_backend *b)
{
	if (!b->retry) {
		const char *err;
		/* one query at a time needs no width */
		ub_backend *r = backend_new((const char **)b->servers,
		    b->n_servers, b->trust_anchor, 0, &err);
		__atomic_store_n(&b->retry, r, __ATOMIC_RELEASE);
	}
	return b->retry;
}

/* Takes the retry lock, or gives up at the deadline. */
static int lock_until(pthread_mutex_t *m, int64_t deadline_ms)
{
	while (pthread_mutex_trylock(m) != 0) {
		if (sd_remaining_ms(deadline_ms) < RETRY_MIN_MS)
			return 0;
		poll(NULL, 0, POLL_SLICE_MS);
	}
	return 1;
}

static sd_dns_status ub_query(void *impl, const char *name, uint16_t type,
    int64_t deadline_ms, sd_dns_answer *out)
{
	ub_backend *b = impl;
	int64_t t0 = sd_now_ms();
	sd_dns_status st = resolve_on(b, name, type, deadline_ms, out);
	if (st != SD_DNS_SERVFAIL || !b->primary ||
	    sd_remaining_ms(deadline_ms) < RETRY_MIN_MS ||
	    !lock_until(&b->retry_lock, deadline_ms))
		return st;
	ub_backend *rb = retry_backend(b);
	if (!rb) {
		pthread_mutex_unlock(&b->retry_lock);
		return st;
	}
	sd_dns_answer again = { 0 };
	sd_dns_status st2 = resolve_on(rb, name, type, deadline_ms, &again);
	pthread_mutex_unlock(&b->retry_lock);
	if (st2 == SD_DNS_TIMEOUT) {
		/* the first answer is the one to report */
		sd_dns_answer_clear(&again);
		return st;
	}
	sd_dns_answer_clear(out);
	*out = again;
	out->elapsed_ms = sd_now_ms() - t0;
	return st2;
}

static void ub_delete_now(ub_backend *b)
{
	if (b->retry)
		ub_delete_now(b->retry);
	for (size_t i = 0; i < b->n_servers; i++)
		free(b->servers[i]);
	free(b->servers);
	free(b->trust_anchor);
	if (b->pump_started) {
		/* write() never blocks on one byte to an empty pipe */
		if (write(b->wake[1], "x", 1) != 1)
			pthread_cancel(b->pump);
		pthread_join(b->pump, NULL);
		close(b->wake[0]);
		close(b->wake[1]);
	}
	ub_ctx_delete(b->ctx);
	pthread_mutex_destroy(&b->lock);
	pthread_mutex_destroy(&b->retry_lock);
	free(b);
}

static void *ub_delete_thread(void *arg)
{
	ub_delete_now(arg);
	return NULL;
}

static void ub_free_backend(void *impl)
{
	ub_backend *b = impl;
	if (!b)
		return;
	/* ub_ctx_delete waits for the worker, which waits out the retries of
	 * the queries we cancelled (seconds against a dead server): let a
	 * detached thread do that instead of the caller */
	pthread_t th;
	pthread_attr_t a;
	pthread_mutex_lock(&b->lock);
	int busy = b->cancelled || b->inflight;
	pthread_mutex_unlock(&b->lock);
	ub_backend *rb = __atomic_load_n(&b->retry, __ATOMIC_ACQUIRE);
	if (rb) {
		pthread_mutex_lock(&rb->lock);
		busy |= rb->cancelled || rb->inflight;
		pthread_mutex_unlock(&rb->lock);
	}
	if (busy && pthread_attr_init(&a) == 0) {
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		int rc = pthread_create(&th, &a, ub_delete_thread, b);
		pthread_attr_destroy(&a);
		if (rc == 0)
			return;
	}
	ub_delete_now(b);
}

static const sd_resolver_ops ub_ops = { ub_query, ub_free_backend };

/* "ADDR", "ADDR:PORT", "[V6]:PORT", "V6" -> unbound's "ADDR@PORT". */
int sd_dns_server_spec(const char *in, char *out, size_t outlen)
{
	char host[128];
	const char *port = NULL;
	if (in[0] == '[') {
		const char *end = strchr(in, ']');
		if (!end || (size_t)(end - in - 1) >= sizeof host)
			return 0;
		memcpy(host, in + 1, (size_t)(end - in - 1));
		host[end - in - 1] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return 0;
	} else {
		const char *colon = strchr(in, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* bare IPv6 */
		size_t hl = colon ? (size_t)(colon - in) : strlen(in);
		if (hl >= sizeof host)
			return 0;
		memcpy(host, in, hl);
		host[hl] = '\0';
		if (colon)
			port = colon + 1;
	}
	unsigned char buf[16];
	if (inet_pton(AF_INET, host, buf) != 1 &&
	    inet_pton(AF_INET6, host, buf) != 1)
		return 0;
	if (port) {
		char *end;
		long p = strtol(port, &end, 10);
		if (*end || p < 1 || p > 65535)
			return 0;
		snprintf(out, outlen, "%s@%ld", host, p);
	} else {
		snprintf(out, outlen, "%s", host);
	}
	return 1;
}

/* Local zones unbound answers itself by default (RFC 6303, 6761) that a
 * lab, or a private network, serves for real.  libunbound 1.17 ignores
 * "nodefault" set through ub_ctx_set_option; "transparent" works. */
static const char *const undefault_zones[] = {
	"test.", "invalid.", "local.", "localhost.", "onion.", "home.arpa.",
	"10.in-addr.arpa.", "168.192.in-addr.arpa.", "254.169.in-addr.arpa.",
	"16.172.in-addr.arpa.", "17.172.in-addr.arpa.", "18.172.in-addr.arpa.",
	"19.172.in-addr.arpa.", "20.172.in-addr.arpa.", "21.172.in-addr.arpa.",
	"22.172.in-addr.arpa.", "23.172.in-addr.arpa.", "24.172.in-addr.arpa.",
	"25.172.in-addr.arpa.", "26.172.in-addr.arpa.", "27.172.in-addr.arpa.",
	"28.172.in-addr.arpa.", "29.172.in-addr.arpa.", "30.172.in-addr.arpa.",
	"31.172.in-addr.arpa.", "2.0.192.in-addr.arpa.",
	"100.51.198.in-addr.arpa.", "113.0.203.in-addr.arpa.",
	"127.in-addr.arpa.", "d.f.ip6.arpa.", "8.e.f.ip6.arpa.",
	"9.e.f.ip6.arpa.", "a.e.f.ip6.arpa.", "b.e.f.ip6.arpa.",
	"8.b.d.0.1.0.0.2.ip6.arpa.", NULL,
};

/* Outgoing sockets and queries in flight, and cache sizes (bounded: they
 * are most of a batch's memory). */
static const char *const lib_limits[][2] = {
	{ "outgoing-range:", "1024" },
	{ "num-queries-per-thread:", "1024" },
	{ "msg-cache-size:", "16m" },
	{ "rrset-cache-size:", "32m" },
	{ "neg-cache-size:", "4m" },
	{ NULL, NULL },
};

/* One run (a check): a few dozen names at once.  libunbound makes every
 * outgoing UDP slot up front (some 1.6 KiB each: 1.6 MiB for the batch's
 * 1024) and a 64 KiB buffer per TCP stream; the caches grow as answers
 * come. */
static const char *const run_limits[][2] = {
	{ "outgoing-range:", "128" },
	{ "num-queries-per-thread:", "256" },
	{ "outgoing-num-tcp:", "2" },
	{ NULL, NULL },
};

/* Does resolv.conf name only IPv4 servers?  (0 when unknown.) */
static int resolvconf_v4_only(void)
{
	FILE *f = fopen("/etc/resolv.conf", "r");
	if (!f)
		return 0;
	char line[512], addr[256];
	int n = 0, v6 = 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, " nameserver %255s", addr) == 1) {
			n++;
			v6 |= strchr(addr, ':') != NULL;
		}
	fclose(f);
	return n && !v6;
}

/* One context with the resolver's settings; `wide` (SD_UB_*) for the queries
 * of a run (else libunbound's small defaults). */
static ub_backend *backend_new(const char **servers, size_t n_servers,
    const char *trust_anchor, int wide, const char **err)
{
	ub_backend *b = calloc(1, sizeof *b);
	*err = "out of memory";
	if (!b)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	pthread_mutex_init(&b->retry_lock, NULL);
	b->ctx = ub_ctx_create();
	if (!b->ctx) {
		*err = "could not create the DNS resolver";
		goto fail;
	}
	/* a thread, not a forked process, does the work */
	ub_ctx_async(b->ctx, 1);
	/* libunbound's library defaults keep 16 queries on the wire and a
	 * 1 MB cache: a batch of thousands of lookups would queue behind
	 * the 16 (measured: 300 queries a second at 50 ms, whatever the
	 * threads) and forget its answers */
	const char *const (*limits)[2] = wide == SD_UB_BATCH ? lib_limits :
	    wide == SD_UB_RUN ? run_limits : NULL;
	for (size_t i = 0; limits && limits[i][0]; i++)
		ub_ctx_set_option(b->ctx, limits[i][0], limits[i][1]);
	/* every question goes to the forwarders: with none on IPv6,
	 * libunbound needs no IPv6 sockets (nor their 237 KiB table of
	 * ports) */
	int v6 = !n_servers && !resolvconf_v4_only();
	if (n_servers) {
		ub_ctx_set_option(b->ctx, "do-not-query-localhost:", "no");
		for (size_t i = 0; i < n_servers; i++) {
			char spec[200];
			if (!sd_dns_server_spec(servers[i], spec, sizeof spec) ||
			    ub_ctx_set_fwd(b->ctx, spec) != 0) {
				*err = "invalid --resolver address (use ADDR, "
				    "ADDR:PORT or [IPV6]:PORT)";
				goto fail;
			}
			v6 |= strchr(spec, ':') != NULL;
		}
		for (size_t i = 0; undefault_zones[i]; i++) {
			char z[64];
			snprintf(z, sizeof z, "%s transparent", undefault_zones[i]);
			ub_ctx_set_option(b->ctx, "local-zone:", z);
		}
	} else {
		if ((*err = sd_dns_system_resolver_refused()) != NULL)
			goto fail;
		if (ub_ctx_resolvconf(b->ctx, NULL) != 0) {
			*err = "could not read the system's resolver "
			    "configuration (/etc/resolv.conf)";
			goto fail;
		}
		ub_ctx_hosts(b->ctx, NULL);
	}
	if (!v6)
		ub_ctx_set_option(b->ctx, "do-ip6:", "no");
	if (trust_anchor) {
		if (ub_ctx_add_ta_file(b->ctx, trust_anchor) != 0) {
			*err = "could not read the --trust-anchor file";
			goto fail;
		}
	} else if (!n_servers && access(ROOT_ANCHOR, R_OK) == 0 &&
	    ub_ctx_add_ta_file(b->ctx, ROOT_ANCHOR) == 0) {
		/* the root's anchor by default (--trust-anchor replaces
		 * it); with --resolver and no anchor, answers are not
		 * validated (a lab or private resolver has no chain to it) */
		ub_ctx_set_option(b->ctx, "val-permissive-mode:", "yes");
		b->permissive = 1;
	}
	return b;
fail:
	ub_free_backend(b);
	return NULL;
}

static sd_resolver *resolver_new(const char **servers, size_t n_servers,
    const char *trust_anchor, int wide, const char **err)
{
	ub_backend *b = backend_new(servers, n_servers, trust_anchor, wide, err);
	if (!b)
		return NULL;
	/* the settings of the second context, made by the first retry (see
	 * the top of this file) */
	b->primary = 1;
	b->servers = calloc(n_servers ? n_servers : 1, sizeof *b->servers);
	int ok = b->servers != NULL;
	for (size_t i = 0; ok && i < n_servers; i++)
		ok = (b->servers[b->n_servers++] = strdup(servers[i])) != NULL;
	if (ok && trust_anchor)
		ok = (b->trust_anchor = strdup(trust_anchor)) != NULL;
	sd_resolver *r = ok ? sd_resolver_new_custom(&ub_ops, b) : NULL;
	if (!r) {
		*err = "out of memory";
		if (!ok)
			ub_free_backend(b);
	}
	return r;
}

sd_resolver *sd_resolver_new_unbound(const char **servers, size_t n_servers,
    const char *trust_anchor, const char **err)
{
	return resolver_new(servers, n_servers, trust_anchor, SD_UB_BATCH, err);
}

sd_resolver *sd_resolver_new_unbound_run(const char **servers,
    size_t n_servers, const char *trust_anchor, const char **err)
{
	return resolver_new(servers, n_servers, trust_anchor, SD_UB_RUN, err);
}
