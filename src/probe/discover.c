/*
 * Discovery for `check ADDRESS` (see discover.h).  Each source is a
 * thread of its own with the same deadline, so the slowest source costs
 * its own wait and no more; what each returned becomes a fact, so a report
 * with no candidate names every source tried and its answer.
 *
 * Privacy: the address itself is never sent anywhere here; autoconfig URLs
 * carry no query string, DNS asks only for names built from the domain.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailauth/psl.h"
#include "net/https.h"
#include "probe/discover.h"
#include "probe/host.h"
#include "probe/jobs.h"
#include "settings/autoconfig.h"
#include "settings/server.h"
#include "util/util.h"

/* Candidates one source may add; records beyond are not used. */
#define PER_SOURCE_MAX 8
/* Addresses of an autoconfig host pinned for libcurl. */
#define PIN_ADDRS_MAX 4

static const char *const source_names[] = {
	[SD_SRC_SRV] = "srv", [SD_SRC_AUTOCONFIG] = "autoconfig",
	[SD_SRC_PROVIDER] = "provider", [SD_SRC_MX] = "mx",
	[SD_SRC_GUESS] = "guess",
};

const char *sd_source_name(sd_source s)
{
	return source_names[s];
}

struct disc_state;

/* What one source found, filled by its thread. */
typedef struct job {
	struct disc_state *st;
	void *(*fn)(void *);           /* the source's lookups */
	sd_source src;                 /* the source's rank */
	int finished;                  /* under st->mu */
	sd_report *r;
	sd_resolver *res;
	const sd_run *run;
	const char *domain;
	int64_t deadline;
	sd_candidate found[PER_SOURCE_MAX];
	size_t n;
	const sd_provider *provider;   /* the MX job's match */
	int variant;                   /* which SRV name */
} job;

static sd_candidate *add(job *j, sd_source src, const char *host, int port,
    sd_tls_mode tls)
{
	if (j->n >= PER_SOURCE_MAX || !host || !*host || strlen(host) > 253)
		return NULL;
	sd_candidate *c = &j->found[j->n];
	memset(c, 0, sizeof *c);
	snprintf(c->host, sizeof c->host, "%s", host);
	c->port = port;
	c->tls = tls;
	c->source = src;
	c->order = (int)j->n++;
	c->works = -1;
	return c;
}

static void fact(sd_report *r, const char *id, const char *source,
    const char *detail, int found, json_t *extra)
{
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:i, s:b}", "id", id,
	    "stage", "discovery", "source", source, "detail", detail,
	    "candidates", found, "quiet", 1);
	if (extra) {
		json_object_update(f, extra);
		json_decref(extra);
	}
	sd_fact_add(r, "discovery", f);
}

/* ---- SRV: RFC 6186 and RFC 8314 ---------------------------------------- */

static void *srv_thread(void *arg)
{
	job *j = arg;
	/* RFC 8314 §5.1: implicit TLS first */
	const char *label = j->variant ? "_submission._tcp" : "_submissions._tcp";
	sd_tls_mode tls = j->variant ? SD_TLS_STARTTLS : SD_TLS_IMPLICIT;
	char name[300], id[340], d[600];
	snprintf(name, sizeof name, "%s.%s", label, j->domain);
	sd_dns_answer a = { 0 };
	sd_dns_query(j->res, name, SD_DNS_SRV, j->deadline, &a);
	json_t *recs = json_array();
	int dot = 0;
	for (size_t i = 0; i < a.n_rr; i++) {
		const sd_dns_rr *rr = &a.rr[i];
		char text[400];
		snprintf(text, sizeof text, "%u %u %u %s", rr->pref, rr->weight,
		    rr->port, *rr->text ? rr->text : ".");
		json_array_append_new(recs, json_string(text));
		/* RFC 6186 §4: target "." says "not offered" */
		if (!*rr->text || strcmp(rr->text, ".") == 0) {
			dot = 1;
			continue;
		}
		sd_candidate *c = add(j, SD_SRC_SRV, rr->text, rr->port, tls);
		if (c) {
			c->prio = rr->pref;
			c->weight = rr->weight;
			snprintf(c->detail, sizeof c->detail, "%.250s SRV "
			    "%.140s", name, text);
		}
	}
	snprintf(d, sizeof d, "SRV %s: %s", name, a.status == SD_DNS_OK ?
	    (j->n ? "names a server" : dot ? "target \".\": not offered" :
	    "no usable record") : a.status == SD_DNS_NXDOMAIN ||
	    a.status == SD_DNS_NODATA ? "no such record" :
	    sd_dns_status_name(a.status));
	snprintf(id, sizeof id, "discovery.srv.%s", name);
	fact(j->r, id, "srv", d, (int)j->n, json_pack("{s:s, s:s, s:o}",
	    "name", name, "status", sd_dns_status_name(a.status), "records",
	    recs));
	sd_dns_answer_clear(&a);
	return NULL;
}

/* ---- names to addresses ------------------------------------------------- */

/* First address of host (A before AAAA, within -4/-6); 0 when none. */
static int first_addr(sd_resolver *res, const char *host, int family,
    int64_t deadline, char *addr, size_t addrlen, int *fam,
    sd_dns_status *st)
{
	unsigned char b[16];
	if (inet_pton(AF_INET, host, b) == 1 || inet_pton(AF_INET6, host, b) == 1) {
		*fam = strchr(host, ':') ? 6 : 4;
		if (family && family != *fam)
			return 0;
		snprintf(addr, addrlen, "%s", host);
		return 1;
	}
	*st = SD_DNS_ERROR;
	sd_dns_host_answer h;
	sd_dns_host(res, host, family, deadline, &h);
	int found = 0;
	for (int k = 0; k < 2 && !found; k++) {
		const sd_dns_answer *a = &h.a[k];
		if (!h.asked[k])
			continue;
		if (k == 0 || *st != SD_DNS_OK)
			*st = a->status;
		if (a->status == SD_DNS_OK && a->n_rr) {
			snprintf(addr, addrlen, "%s", a->rr[0].text);
			*fam = k ? 6 : 4;
			found = 1;
		}
	}
	sd_dns_host_clear(&h);
	return found;
}

/* "host:port:a,b,[c]" for CURLOPT_RESOLVE; 0 when the host has no address. */
static size_t pin_for(sd_resolver *res, const char *host, int port,
    int family, int64_t deadline, char *pin, size_t pinlen)
{
	size_t n = 0;
	int o = snprintf(pin, pinlen, "%s:%d:", host, port);
	sd_dns_host_answer h;
	sd_dns_host(res, host, family, deadline, &h);
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < h.a[k].n_rr && i < PIN_ADDRS_MAX; i++)
			if (!sd_https_pin_add(pin, pinlen, &o, &n,
			    h.a[k].rr[i].text, k))
				break;
	sd_dns_host_clear(&h);
	return n;
}

/* ---- autoconfig ---------------------------------------------------------- */

/* Fetches and parses one URL; adds its fact; returns the servers found
 * (candidates of source src). */
static size_t autoconfig_one(job *j, const char *host, const char *path,
    int http, sd_source src)
{
	char url[600], pin[900], id[700], d[1200];
	snprintf(url, sizeof url, "%s://%s%s", http ? "http" : "https", host,
	    path);
	snprintf(id, sizeof id, "discovery.autoconfig.%s", url);
	json_t *x = json_pack("{s:s}", "url", url);
	size_t before = j->n;
	if (!pin_for(j->res, host, http ? 80 : 443, j->run->opt->family,
	    j->deadline, pin, sizeof pin)) {
		snprintf(d, sizeof d, "%s: %s has no address", url, host);
		fact(j->r, id, sd_source_name(src), d, 0, x);
		return 0;
	}
	sd_https_req req = { url, pin, SD_AUTOCONFIG_MAX_BYTES, j->deadline,
	    j->run->connect_ms, j->run->opt->ca_file, j->run->opt->family, http };
	sd_https_resp resp;
	sd_https_get(&req, &resp);
	json_object_set_new(x, "http_status", json_integer(resp.status));
	json_object_set_new(x, "bytes", json_integer((json_int_t)resp.len));
	if (resp.error[0]) {
		snprintf(d, sizeof d, "%s: %s", url, resp.error);
	} else if (resp.status >= 300 && resp.status < 400) {
		/* a redirect could lead to another host or to http: the
		 * document must come from the domain's own name */
		snprintf(d, sizeof d, "%s: HTTP %ld redirect to %s, not "
		    "followed", url, resp.status, resp.redirect[0] ?
		    resp.redirect : "(no target)");
	} else if (resp.status != 200) {
		snprintf(d, sizeof d, "%s: HTTP status %ld", url, resp.status);
	} else {
		sd_autoconfig ac;
		if (sd_autoconfig_parse(resp.body ? resp.body : "", resp.len,
		    &ac) != 0) {
			snprintf(d, sizeof d, "%s line %d: %s", url, ac.error_line,
			    ac.error);
			json_object_set_new(x, "error", json_string(ac.error));
			json_object_set_new(x, "line", json_integer(ac.error_line));
		} else {
			for (size_t i = 0; i < ac.n_servers; i++) {
				sd_autoconfig_server *s = &ac.servers[i];
				sd_tls_mode t = s->tls ? s->tls : SD_TLS_STARTTLS;
				int port = s->port ? s->port :
				    t == SD_TLS_IMPLICIT ? 465 : 587;
				sd_candidate *c = add(j, src, s->host, port, t);
				if (!c)
					break;
				c->http_only = http;
				snprintf(c->detail, sizeof c->detail, "%.380s line "
				    "%d", url, s->line);
			}
			snprintf(d, sizeof d, "%s: %zu outgoing server(s)%s", url,
			    j->n - before, http ? " (plain http: unconfirmed)" :
			    "");
		}
	}
	fact(j->r, id, sd_source_name(src), d, (int)(j->n - before), x);
	sd_https_resp_clear(&resp);
	return j->n - before;
}

static void *autoconfig_thread(void *arg)
{
	job *j = arg;
	char host[300];
	snprintf(host, sizeof host, "autoconfig.%s", j->domain);
	/* the address is not sent: no ?emailaddress= */
	if (autoconfig_one(j, host, "/mail/config-v1.1.xml", 0,
	    SD_SRC_AUTOCONFIG))
		return NULL;
	if (autoconfig_one(j, j->domain,
	    "/.well-known/autoconfig/mail/config-v1.1.xml", 0, SD_SRC_AUTOCONFIG))
		return NULL;
	/* the labelled last resort: never trusted with credentials */
	autoconfig_one(j, host, "/mail/config-v1.1.xml", 1, SD_SRC_AUTOCONFIG);
	return NULL;
}

/* ---- the provider table, by MX ------------------------------------------ */

static void add_provider(job *j, const sd_provider *p, sd_source src,
    const char *why)
{
	sd_provider_server sv[PER_SOURCE_MAX];
	size_t n = sd_provider_servers(p, sv, PER_SOURCE_MAX);
	for (size_t i = 0; i < n; i++) {
		sd_candidate *c = add(j, src, sv[i].host, sv[i].port, sv[i].tls);
		if (c)
			snprintf(c->detail, sizeof c->detail, "provider table: "
			    "%s (%s)", p->name, why);
	}
}

/*
 * No provider by MX host: the best MX host's registrable domain, as
 * Thunderbird asks it when the domain publishes nothing.  A domain hosted
 * elsewhere names its hoster there: the table by that domain, else that
 * domain's own autoconfig document.
 */
static void mx_domain(job *j, const sd_dns_answer *a)
{
	const sd_psl *psl = sd_psl_default();
	const sd_dns_rr *best = NULL;
	for (size_t i = 0; a->status == SD_DNS_OK && i < a->n_rr; i++)
		if (a->rr[i].text[0] && (!best || a->rr[i].pref < best->pref))
			best = &a->rr[i];
	char *org = psl && best ? sd_psl_org_domain(psl, best->text) : NULL;
	char *own = org ? sd_psl_org_domain(psl, j->domain) : NULL;
	if (org && !(own && sd_strcaseeq(org, own))) {
		const sd_provider *p = sd_provider_by_domain(org);
		char why[400], host[300];
		if (p) {
			j->provider = p;
			snprintf(why, sizeof why, "MX %s, domain %s", best->text, org);
			add_provider(j, p, SD_SRC_MX, why);
		} else {
			snprintf(host, sizeof host, "autoconfig.%s", org);
			autoconfig_one(j, host, "/mail/config-v1.1.xml", 0,
			    SD_SRC_MX);
		}
	}
	free(org);
	free(own);
}

static void *mx_thread(void *arg)
{
	job *j = arg;
	sd_dns_answer a = { 0 };
	sd_dns_query(j->res, j->domain, SD_DNS_MX, j->deadline, &a);
	json_t *hosts = json_array();
	const char *matched = NULL;
	/* best preference first: the MX a provider's customers must use */
	for (int pass = 0; pass < 2 && !matched; pass++)
		for (size_t i = 0; i < a.n_rr; i++) {
			if (pass == 0)
				json_array_append_new(hosts, json_string(a.rr[i].text));
			const sd_provider *p = sd_provider_by_mx(a.rr[i].text);
			if (pass == 1 && p && (!matched || a.rr[i].pref <
			    a.rr[0].pref)) {
				matched = a.rr[i].text;
				j->provider = p;
			}
		}
	char why[400], d[800], id[340];
	if (j->provider) {
		snprintf(why, sizeof why, "MX %s", matched);
		add_provider(j, j->provider, SD_SRC_MX, why);
	} else {
		mx_domain(j, &a);
	}
	snprintf(d, sizeof d, "MX %s: %s%s%s", j->domain, a.status == SD_DNS_OK ?
	    "" : sd_dns_status_name(a.status), j->provider ? "hosted at " :
	    j->n ? "the MX host's domain publishes its settings" :
	    a.status == SD_DNS_OK ? "no known provider" : "", j->provider ?
	    j->provider->name : "");
	snprintf(id, sizeof id, "discovery.mx.%s", j->domain);
	fact(j->r, id, "mx", d, (int)j->n, json_pack("{s:s, s:o, s:s?}",
	    "status", sd_dns_status_name(a.status), "mx", hosts, "provider",
	    j->provider ? j->provider->id : NULL));
	sd_dns_answer_clear(&a);
	return NULL;
}

/* ---- guesses ------------------------------------------------------------- */

static void *guess_thread(void *arg)
{
	job *j = arg;
	static const char *const prefixes[] = { "smtp.", "mail.", "" };
	for (size_t i = 0; i < 3; i++) {
		char host[300], addr[64], d[500], id[340];
		snprintf(host, sizeof host, "%s%s", prefixes[i], j->domain);
		int fam = 0;
		sd_dns_status st = SD_DNS_ERROR;
		int ok = first_addr(j->res, host, j->run->opt->family,
		    j->deadline, addr, sizeof addr, &fam, &st);
		/* a guessed name that does not resolve is no candidate */
		for (int k = 0; ok && k < 2; k++) {
			sd_candidate *c = add(j, SD_SRC_GUESS, host, k ? 587 : 465,
			    k ? SD_TLS_STARTTLS : SD_TLS_IMPLICIT);
			if (!c)
				break;
			snprintf(c->addr, sizeof c->addr, "%s", addr);
			c->family = fam;
			snprintf(c->detail, sizeof c->detail, "guessed: %s "
			    "resolves to %s", host, addr);
		}
		snprintf(d, sizeof d, "guess %s: %s", host, ok ? addr :
		    sd_dns_status_name(st));
		snprintf(id, sizeof id, "discovery.guess.%s", host);
		fact(j->r, id, "guess", d, ok ? 2 : 0, json_pack("{s:s, s:b}",
		    "host", host, "resolves", ok));
	}
	return NULL;
}

/* ---- ranking -------------------------------------------------------------- */

static int rank_cmp(const void *pa, const void *pb)
{
	const sd_candidate *a = pa, *b = pb;
	if (a->source != b->source)
		return (int)a->source - (int)b->source;
	if (a->http_only != b->http_only)
		return a->http_only - b->http_only;
	if (a->prio != b->prio)
		return a->prio - b->prio;
	if (a->weight != b->weight)
		return b->weight - a->weight;
	/* RFC 8314 §3.3: implicit TLS before STARTTLS */
	if (a->tls != b->tls)
		return a->tls == SD_TLS_IMPLICIT ? -1 : b->tls == SD_TLS_IMPLICIT;
	return a->order - b->order;
}

static int same_path(const char *host, int port, sd_tls_mode tls,
    const sd_candidate *c)
{
	return sd_strcaseeq(host, c->host) && port == c->port && tls == c->tls;
}

static void collect(sd_discovery *out, job *jobs, size_t nj)
{
	for (size_t i = 0; i < nj; i++)
		for (size_t k = 0; k < jobs[i].n && out->n < SD_DISCOVER_MAX; k++)
			out->c[out->n++] = jobs[i].found[k];
	qsort(out->c, out->n, sizeof out->c[0], rank_cmp);
	/* one candidate per host, port and mode: the best-ranked source */
	size_t w = 0;
	for (size_t i = 0; i < out->n; i++) {
		int dup = 0;
		for (size_t k = 0; k < w && !dup; k++)
			dup = same_path(out->c[i].host, out->c[i].port,
			    out->c[i].tls, &out->c[k]);
		if (!dup)
			out->c[w++] = out->c[i];
	}
	out->n = w;
}

/* ---- the run's state: sources, then candidates as they arrive ----------- */

/* Jobs: SRV twice, autoconfig, MX, guesses, and the provider table by
 * domain (no lookup: finished at once). */
#define NJOBS 6
#define JOB_PROVIDER 5

/* One host, port and mode, probed once however many sources named it. */
typedef struct slot {
	struct disc_state *st;
	sd_candidate c;        /* host, port, tls; addr when already known */
	int taken;             /* the caller's own path: not probed here */
	sd_probe p;
	int started;           /* queued as a job */
} slot;

struct disc_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	sd_jobgroup *g;           /* the sources and the candidates' probes */
	job jobs[NJOBS];
	slot slots[SD_DISCOVER_MAX];
	size_t nslots;
	sd_resolver *res;
	int probe;                /* SD_DISCOVER_PROBE */
	int speculate;            /* SD_DISCOVER_TOP */
	int top_state;            /* 0 not yet known, 1 top holds it, 2 none */
	sd_candidate top;
	sd_run pr;                /* the candidates' run: no credentials */
	sd_report *scratch;       /* their facts, not the report's */
	sd_check_params params;
	int64_t deadline;
};

/*
 * The top candidate is known once every source ranked above it has
 * answered: the best of the first rank (in source order) whose jobs have
 * all finished with a candidate.  Under st->mu.
 */
static void settle(struct disc_state *st)
{
	if (st->top_state)
		return;
	for (int rank = SD_SRC_SRV; rank <= SD_SRC_GUESS; rank++) {
		const sd_candidate *best = NULL;
		for (int i = 0; i < NJOBS; i++) {
			job *j = &st->jobs[i];
			if ((int)j->src != rank || !j->fn)
				continue;
			if (!j->finished)
				return;
			for (size_t k = 0; k < j->n; k++)
				if (!best || rank_cmp(&j->found[k], best) < 0)
					best = &j->found[k];
		}
		if (best) {
			st->top = *best;
			st->top_state = 1;
			return;
		}
	}
	st->top_state = 2;
}

/* A candidate up to EHLO after TLS, then QUIT: no credentials. */
static void slot_run(void *arg)
{
	slot *sl = arg;
	sd_candidate *c = &sl->c;
	struct disc_state *st = sl->st;
	sd_dns_status dst;
	if (!c->addr[0] && (!st->res || !first_addr(st->res, c->host,
	    st->pr.opt->family, st->deadline, c->addr, sizeof c->addr,
	    &c->family, &dst))) {
		c->resolve_failed = 1;
		return;
	}
	sd_probe *p = &sl->p;
	if (!sd_probe_set_addr(p, c->addr, c->family, c->port))
		return;
	p->run = &st->pr;
	p->role = SD_ROLE_ALT;
	snprintf(p->host, sizeof p->host, "%s", c->host);
	p->mode = c->tls == SD_TLS_IMPLICIT ? SD_MODE_IMPLICIT : SD_MODE_PLAIN;
	p->starttls = c->tls != SD_TLS_NONE;
	sd_probe_run(p);
	int tls_ok = c->tls == SD_TLS_NONE || (p->tls_ok && p->cert_ok);
	c->works = p->greeted && tls_ok && p->auth_offered;
	return;
}

/* A finished job's candidates: each new host, port and mode is probed at
 * once (but the top one, which the caller checks itself).  Under st->mu. */
static void enqueue(struct disc_state *st, job *j)
{
	for (size_t k = 0; k < j->n; k++) {
		const sd_candidate *c = &j->found[k];
		size_t i = 0;
		while (i < st->nslots && !same_path(c->host, c->port, c->tls,
		    &st->slots[i].c))
			i++;
		if (i < st->nslots || st->nslots >= SD_DISCOVER_MAX)
			continue;
		slot *sl = &st->slots[st->nslots++];
		sl->st = st;
		sl->c = *c;
		sl->c.works = -1;
		sl->taken = st->speculate && st->top_state == 1 && same_path(c->host, c->port,
		    c->tls, &st->top);
		if (sl->taken || !st->probe)
			continue;
		sl->started = 1;
		sd_jobgroup_add(st->g, slot_run, NULL, sl);
	}
}

static void job_done(job *j)
{
	struct disc_state *st = j->st;
	pthread_mutex_lock(&st->mu);
	j->finished = 1;
	settle(st);
	enqueue(st, j);
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
}

/* One source's lookups as a job of the probe engine. */
static void source_run(void *arg)
{
	job *j = arg;
	j->fn(j);
	job_done(j);
}

/* the provider table by domain needs no lookup */
static void *provider_job(void *arg)
{
	job *j = arg;
	const sd_provider *p = sd_provider_by_domain(j->domain);
	char d[600], id[340];
	if (p)
		add_provider(j, p, SD_SRC_PROVIDER, j->domain);
	j->provider = p;
	snprintf(d, sizeof d, "provider table, %s: %s", j->domain, p ? p->name :
	    "no entry");
	snprintf(id, sizeof id, "discovery.provider.%s", j->domain);
	fact(j->r, id, "provider", d, (int)j->n, json_pack("{s:s?}", "provider",
	    p ? p->id : NULL));
	return NULL;
}

/* The candidates' run: the caller's settings, a report of its own. */
static void candidates_run(struct disc_state *st, const sd_run *run)
{
	if (run->params)
		st->params = *run->params;
	sd_run *pr = &st->pr;
	pr->report = st->scratch;
	pr->params = &st->params;
	pr->opt = run->opt;
	pr->tls = run->tls;
	pr->ehlo_name = run->ehlo_name;
	pr->deadline_ms = st->deadline;
	pr->connect_ms = run->connect_ms;
	pr->reply_ms = run->reply_ms;
	pr->sniff_ms = run->sniff_ms;
}

int sd_discover_start(sd_discovery *out, sd_report *r, sd_resolver *res,
    sd_run *run, const char *domain, int64_t deadline, int flags)
{
	memset(out, 0, sizeof *out);
	struct disc_state *st = calloc(1, sizeof *st);
	if (!st || !(st->scratch = sd_report_new("check"))) {
		free(st);
		return 0;
	}
	out->st = st;
	pthread_mutex_init(&st->mu, NULL);
	pthread_cond_init(&st->cv, NULL);
	st->deadline = deadline;
	st->res = res;
	st->probe = (flags & SD_DISCOVER_PROBE) && run->tls;
	st->speculate = (flags & SD_DISCOVER_TOP) != 0;
	candidates_run(st, run);
	static void *(*const fn[NJOBS])(void *) = { srv_thread, srv_thread,
	    autoconfig_thread, mx_thread, guess_thread, provider_job };
	static const sd_source src[NJOBS] = { SD_SRC_SRV, SD_SRC_SRV,
	    SD_SRC_AUTOCONFIG, SD_SRC_MX, SD_SRC_GUESS, SD_SRC_PROVIDER };
	/* published settings are what the domain says, never a guess */
	for (int i = 0; i < NJOBS; i++) {
		if (i == 4 && (flags & SD_DISCOVER_PUBLISHED))
			continue;
		if (!res && i != JOB_PROVIDER)
			continue;
		st->jobs[i] = (job){ .st = st, .fn = fn[i], .src = src[i], .r = r,
		    .res = res, .run = run, .domain = domain, .deadline = deadline,
		    .variant = i == 1 };
	}
	/* with no group (out of memory), each job runs here and now */
	st->g = sd_jobgroup_new(0);
	for (int i = 0; i < NJOBS; i++) {
		job *j = &st->jobs[i];
		if (j->fn && i != JOB_PROVIDER)
			sd_jobgroup_add(st->g, source_run, NULL, j);
	}
	source_run(&st->jobs[JOB_PROVIDER]);
	return 1;
}

int sd_discover_top(sd_discovery *d, sd_candidate *top)
{
	struct disc_state *st = d->st;
	if (!st)
		return 0;
	pthread_mutex_lock(&st->mu);
	while (!st->top_state) {
		/* in slices: when every worker of the pool is busy, this
		 * thread runs the group's queued jobs itself */
		pthread_mutex_unlock(&st->mu);
		sd_jobgroup_wait(st->g, sd_now_ms());
		pthread_mutex_lock(&st->mu);
		if (st->top_state)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&st->cv, &st->mu, &ts);
	}
	int found = st->top_state == 1;
	if (found) {
		*top = st->top;
		/* the caller checks it: its slot (if already there) is not
		 * probed a second time when not yet started */
		for (size_t i = 0; i < st->nslots; i++)
			if (same_path(top->host, top->port, top->tls,
			    &st->slots[i].c) && !st->slots[i].started)
				st->slots[i].taken = 1;
	}
	pthread_mutex_unlock(&st->mu);
	return found;
}

/* A fact per ranked candidate: what the probe saw of it. */
static void candidate_facts(sd_report *r, const sd_discovery *out)
{
	for (size_t i = 0; i < out->n; i++) {
		const sd_candidate *c = &out->c[i];
		char cid[340], cd[900];
		snprintf(cid, sizeof cid, "discovery.candidate.%s.%d", c->host,
		    c->port);
		snprintf(cd, sizeof cd, "%s port %d (%s) from %s: %s", c->host,
		    c->port, sd_tls_mode_name(c->tls), sd_source_name(c->source),
		    c->works == 1 ? "greeting, EHLO, TLS and AUTH offered" :
		    c->resolve_failed ? "the name does not resolve" :
		    c->works == 0 ? "did not work" : "not probed");
		sd_fact_add(r, "discovery_candidate", json_pack("{s:s, s:s, s:s, "
		    "s:i, s:s, s:s, s:s, s:o, s:b, s:s, s:b}", "id", cid, "stage", "discovery", "host",
		    c->host, "port", c->port, "tls", sd_tls_mode_name(c->tls),
		    "source", sd_source_name(c->source), "source_detail",
		    c->detail, "works", c->works < 0 ? json_null() :
		    json_boolean(c->works), "http_only", c->http_only, "detail",
		    cd, "quiet", 1));
	}
}

void sd_discover_end(sd_discovery *out, int top_works, const char *top_addr)
{
	struct disc_state *st = out->st;
	if (!st)
		return;
	/* the sources first (they queue the candidates' probes), then the
	 * probes: each job ends by its own deadline */
	if (sd_jobgroup_join(st->g, st->deadline + SD_JOBS_JOIN_GRACE_MS)) {
		/* a job outlived its deadline and still holds st: left to it
		 * (never freed under it); no candidates from this run */
		out->st = NULL;
		return;
	}
	job *pj = &st->jobs[JOB_PROVIDER];
	out->provider = pj->provider ? pj->provider : st->jobs[3].provider;
	snprintf(out->provider_by, sizeof out->provider_by, "%s", pj->provider ?
	    "domain" : st->jobs[3].provider ? "mx" : "");
	collect(out, st->jobs, NJOBS);
	for (size_t i = 0; st->probe && i < out->n; i++) {
		sd_candidate *c = &out->c[i];
		for (size_t k = 0; k < st->nslots; k++) {
			const slot *sl = &st->slots[k];
			if (!same_path(c->host, c->port, c->tls, &sl->c))
				continue;
			/* the caller's own check stands for the one it took */
			if (sl->taken && top_works >= 0) {
				c->works = top_works;
				snprintf(c->addr, sizeof c->addr, "%s", top_addr ?
				    top_addr : "");
				c->resolve_failed = !c->addr[0];
			} else if (!sl->taken) {
				c->works = sl->c.works;
				snprintf(c->addr, sizeof c->addr, "%s", sl->c.addr);
				c->family = sl->c.family;
				c->resolve_failed = sl->c.resolve_failed;
			}
		}
	}
	if (st->probe)
		candidate_facts(st->jobs[JOB_PROVIDER].r, out);
	sd_report_free(st->scratch);
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mu);
	free(st);
	out->st = NULL;
}

void sd_discover(sd_report *r, sd_resolver *res, sd_run *run,
    const char *domain, int64_t deadline, int flags, sd_discovery *out)
{
	if (sd_discover_start(out, r, res, run, domain, deadline, flags))
		sd_discover_end(out, -1, NULL);
}

/* The published lookup of one run, into d (its own: two runs can look at
 * once). */
static void published(sd_report *r, sd_resolver *res, sd_run *run,
    const char *domain, const char *server, int64_t deadline,
    sd_discovery *d)
{
	int probe = !run->opt->no_control && run->tls;
	if (domain && res) {
		sd_discover(r, res, run, domain, deadline, SD_DISCOVER_PUBLISHED |
		    (probe ? SD_DISCOVER_PROBE : 0), d);
	} else {
		/* no address: the provider table by the server's own name
		 * (an address literal names no provider: 127.0.0.1 is any
		 * local relay, not only Proton's Bridge) */
		job pj = { .r = r, .run = run };
		unsigned char b[16];
		const sd_provider *p = inet_pton(AF_INET, server, b) == 1 ||
		    inet_pton(AF_INET6, server, b) == 1 ? NULL :
		    sd_provider_by_server(server);
		if (p)
			add_provider(&pj, p, SD_SRC_PROVIDER, server);
		collect(d, &pj, 1);
	}
	if (!d->n)
		return;
	char det[500];
	snprintf(det, sizeof det, "%zu published server(s) for %s, best: %s "
	    "port %d (%s)", d->n, domain ? domain : server, d->c[0].host,
	    d->c[0].port, sd_source_name(d->c[0].source));
	sd_fact_add(r, "published", json_pack("{s:s, s:s, s:s, s:o, s:s, s:b}",
	    "id", "published.settings", "stage", "discovery", "domain", domain ?
	    domain : server, "servers", sd_discovery_json(d), "detail", det,
	    "quiet", 1));
}

void sd_discover_published(sd_report *r, sd_resolver *res, sd_run *run,
    const char *domain, const char *server, int64_t deadline)
{
	sd_discovery *d = calloc(1, sizeof *d);
	if (!d)
		return;
	published(r, res, run, domain, server, deadline, d);
	free(d);
}

json_t *sd_discovery_json(const sd_discovery *d)
{
	json_t *a = json_array();
	for (size_t i = 0; i < d->n; i++) {
		const sd_candidate *c = &d->c[i];
		json_array_append_new(a, json_pack("{s:s, s:i, s:s, s:s, s:s, "
		    "s:o}", "host", c->host, "port", c->port, "tls",
		    sd_tls_mode_name(c->tls), "source", sd_source_name(c->source),
		    "source_detail", c->detail, "works", c->works < 0 ?
		    json_null() : json_boolean(c->works)));
	}
	return a;
}

const sd_candidate *sd_discovery_choose(const sd_discovery *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->c[i].works == 1)
			return &d->c[i];
	for (size_t i = 0; i < d->n; i++)
		if (d->c[i].addr[0])
			return &d->c[i];
	return d->n ? &d->c[0] : NULL;
}
