/*
 * The domain probe: every check of `smtpdoctor domain` as a job of one
 * group on the probe engine's pool (probe/jobs.h), every lookup under the
 * run's deadline, every observation a fact.  Nothing here judges:
 * rules/domain_rules.c does.
 *
 * Lifetime: the run state (sd_dctx) is shared by the caller and the jobs
 * (each queued job holds a reference) and freed by whoever leaves last.
 * When the deadline passes with jobs still running, the caller closes the
 * run (late facts are dropped, jobs not started are dropped) and fires
 * the run's cancel scope (their new lookups fail at once, their
 * connections end at their next look at it) and goes on; the stragglers
 * finish on their own deadlines at the latest, counted meanwhile by the
 * job model (sd_jobs_orphans), and free the state.  The state holds a
 * reference to the resolver, so the caller frees its own whenever it
 * likes.
 */
#include "probe/domain.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailauth/dkim.h"
#include "mailauth/dmarc.h"
#include "mailauth/spf.h"
#include "probe/dnsbl.h"
#include "probe/domain_dnsbl.h"
#include "probe/domain_int.h"
#include "probe/domain_records.h"
#include "probe/jobs.h"
#include "rules/rules.h"
#include "util/util.h"

/* After the deadline, how long the caller waits for stragglers. */
#define DOMAIN_GRACE_MS 300
/* A lookup to one authoritative server gets at most this long, so that a
 * dead server does not hold the run to its deadline. */
#define NS_QUERY_MAX_MS 4000
/* Trace lines of an SPF evaluation kept in a fact. */
#define SPF_TRACE_KEEP 200
/* Answers shown in one lookup fact. */
#define LOOKUP_ANSWERS_MAX 32
/* The control lookup (sd_domain_params.control_deadline) gets at most
 * this long: a resolver that is alive has the root's name servers at hand. */
#define CONTROL_MAX_MS 1000

const char *const sd_domain_common_selectors[] = {
	"google", "selector1", "selector2", "default", "s1", "s2", "k1",
	"k2", "dkim", "mail", "smtp", "key1", "key2", NULL,
};

typedef struct sd_job sd_job;
typedef void (*job_fn)(sd_dctx *c, const sd_job *j);

struct sd_job {
	job_fn fn;
	char a[300], b[300], z[300];
	int n;
	sd_dctx *c;
};

struct sd_dctx {
	pthread_mutex_t lock;
	sd_jobgroup *jobs;  /* the run's checks */
	sd_cancel *scope;  /* theirs: fired when the caller leaves */
	int refs;          /* the caller + queued and running jobs */
	int closed;        /* the report is no longer ours */
	sd_report *r;
	sd_dctx_conf conf;
	/* --message, copied */
	char *message;
	size_t message_len;
	char *message_name;
	char *spf_sender;  /* identity SPF is checked for */
	char *from_domain; /* the message's From domain, or NULL */
	char *from_problem; /* why there is none */
	/* the run resolver's lookups so far: of names at or below the
	 * domain, failed and answered (bogus counts as an answer); of other
	 * names, answered */
	size_t own_failed, own_answered, other_answered;
};

/* ------------------------------------------------------------------ */
/* run state                                                           */

const sd_dctx_conf *sd_dctx_conf_of(const sd_dctx *c)
{
	return &c->conf;
}

static void dctx_free(sd_dctx *c)
{
	sd_resolver_free(c->conf.res);
	sd_cancel_unref(c->scope);
	free(c->conf.domain);
	for (size_t i = 0; i < c->conf.n_ips; i++)
		free(c->conf.ips[i]);
	free(c->conf.ips);
	free(c->conf.ca_file);
	free(c->message);
	free(c->message_name);
	free(c->spf_sender);
	free(c->from_domain);
	free(c->from_problem);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Drops one reference; frees the state when it was the last. */
static void dctx_unref_locked(sd_dctx *c)
{
	int last = --c->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (last)
		dctx_free(c);
}

int sd_dctx_fact(sd_dctx *c, json_t *fact, char *id_out, size_t id_len)
{
	if (!fact)
		return -1;
	pthread_mutex_lock(&c->lock);
	if (c->closed) {
		pthread_mutex_unlock(&c->lock);
		json_decref(fact);
		return -1;
	}
	/* a domain fact's kind is its check */
	const char *id = sd_fact_add(c->r, json_string_value(json_object_get(
	    fact, "check")), fact);
	if (id && id_out)
		snprintf(id_out, id_len, "%s", id);
	pthread_mutex_unlock(&c->lock);
	return id ? 0 : -1;
}

void sd_dctx_transcript(sd_dctx *c, const char *conn, char dir,
    const char *line, size_t len)
{
	pthread_mutex_lock(&c->lock);
	if (!c->closed)
		sd_transcript_add(c->r, conn, dir, line, len);
	pthread_mutex_unlock(&c->lock);
}

/* A job of the run ends, run or dropped: its reference goes. */
static void job_drop(void *arg)
{
	sd_job *j = arg;
	sd_dctx *c = j->c;
	free(j);
	pthread_mutex_lock(&c->lock);
	dctx_unref_locked(c);
}

static void job_run(void *arg)
{
	sd_job *j = arg;
	pthread_mutex_lock(&j->c->lock);
	int closed = j->c->closed;   /* too late to start anything */
	pthread_mutex_unlock(&j->c->lock);
	if (!closed)
		j->fn(j->c, j);
	job_drop(j);
}

static void enqueue(sd_dctx *c, job_fn fn, const char *a, const char *b,
    const char *z, int n)
{
	sd_job *j = calloc(1, sizeof *j);
	if (!j)
		return;
	j->fn = fn;
	j->c = c;
	snprintf(j->a, sizeof j->a, "%s", a ? a : "");
	snprintf(j->b, sizeof j->b, "%s", b ? b : "");
	snprintf(j->z, sizeof j->z, "%s", z ? z : "");
	j->n = n;
	pthread_mutex_lock(&c->lock);
	c->refs++;
	pthread_mutex_unlock(&c->lock);
	sd_jobgroup_add(c->jobs, job_run, job_drop, j);
}

/* ------------------------------------------------------------------ */
/* helpers                                                             */

void sd_dctx_host(sd_dctx *c, const char *host, int by_family,
    sd_dns_host_answer *out, json_t **ev)
{
	static const uint16_t types[] = { SD_DNS_A, SD_DNS_AAAA };
	memset(out, 0, sizeof *out);
	for (int k = 0; k < 2; k++) {
		out->asked[k] = !by_family || c->conf.family != (k ? 4 : 6);
		if (!out->asked[k])
			continue;
		char id[SD_DOMAIN_ID_MAX];
		sd_dctx_lookup(c, NULL, host, types[k], 0, "domain", NULL,
		    &out->a[k], id, sizeof id);
		*ev = sd_evidence_add(*ev, id);
	}
}

json_t *sd_evidence_add(json_t *arr, const char *id)
{
	if (!arr)
		arr = json_array();
	if (arr && id && id[0])
		json_array_append_new(arr, json_string(id));
	return arr;
}

/* A TXT string as JSON: escaped (NUL, controls, bad UTF-8 as \xNN), capped. */
static json_t *txt_json(const sd_dns_rr *rr)
{
	char *s = sd_sanitize(rr->text ? rr->text : "", rr->text_len,
	    SD_DOMAIN_TXT_MAX);
	json_t *v = json_string(s ? s : "");
	free(s);
	return v;
}

/* The presentation form of one answer record, for a fact. */
static json_t *rr_json(const sd_dns_rr *rr)
{
	char buf[600];
	switch (rr->type) {
	case SD_DNS_TXT:
	case SD_DNS_SPF:
		return txt_json(rr);
	case SD_DNS_MX:
		snprintf(buf, sizeof buf, "%u %s", rr->pref,
		    rr->text ? rr->text : "");
		return json_string(buf);
	case SD_DNS_SOA: {
		uint32_t serial;
		if (sd_rdata_soa_serial(rr->rdata, rr->rdlen, &serial) == 0)
			snprintf(buf, sizeof buf, "serial %u", serial);
		else
			snprintf(buf, sizeof buf, "malformed SOA (%zu bytes)",
			    rr->rdlen);
		return json_string(buf);
	}
	case SD_DNS_TLSA: {
		sd_tlsa t;
		if (sd_rdata_tlsa(rr->rdata, rr->rdlen, &t) != 0)
			return json_string("malformed TLSA");
		char *s = sd_tlsa_text(&t, 128);
		json_t *v = json_string(s ? s : "");
		free(s);
		return v;
	}
	default: {
		char *s = sd_sanitize(rr->text ? rr->text : "", rr->text_len,
		    512);
		json_t *v = json_string(s ? s : "");
		free(s);
		return v;
	}
	}
}

/* Counts a lookup of the run's resolver for the control decision. */
static void count_lookup(sd_dctx *c, const char *name, sd_dns_status st)
{
	int answer = !sd_dns_status_is_failure(st) || st == SD_DNS_BOGUS;
	pthread_mutex_lock(&c->lock);
	if (!sd_name_under(name, c->conf.domain))
		c->other_answered += answer;
	else if (answer)
		c->own_answered++;
	else
		c->own_failed++;
	pthread_mutex_unlock(&c->lock);
}

/* sd_dctx_lookup with the fact's id given and `deadline` as it is. */
static sd_dns_status lookup_as(sd_dctx *c, sd_resolver *res,
    const char *name, uint16_t type, int64_t deadline, const char *stage,
    const char *id, sd_dns_answer *out, char *id_out, size_t id_len)
{
	if (id_out && id_len)
		id_out[0] = '\0';  /* no fact, no id: callers read it always */
	if (!res)
		res = c->conf.res;
	int64_t t0 = sd_now_ms();
	sd_dns_query(res, name, type, deadline, out);
	int64_t took = sd_now_ms() - t0;
	/* every record has text from here on (backends may leave it NULL) */
	for (size_t i = 0; i < out->n_rr;) {
		sd_dns_rr *rr = &out->rr[i];
		if (!rr->text) {
			rr->text_len = 0;
			if ((rr->text = calloc(1, 1)) == NULL) {
				/* out of memory: drop the record */
				free(rr->rdata);
				*rr = out->rr[--out->n_rr];
				out->rr[out->n_rr] = (sd_dns_rr){ 0 };
				continue;
			}
		}
		i++;
	}

	if (res == c->conf.res)
		count_lookup(c, name, out->status);
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:I}",
	    "id", id, "stage", stage, "check", "lookup", "name", name,
	    "type", sd_dns_type_name(type),
	    "status", sd_dns_status_name(out->status), "rcode", out->rcode,
	    "secure", out->secure, "elapsed_ms", (json_int_t)took);
	if (!f)
		return out->status;
	if (out->unasked)   /* a timeout, but nothing went out */
		json_object_set_new(f, "asked", json_false());
	if (out->why_bogus) {
		char *s = sd_sanitize(out->why_bogus, strlen(out->why_bogus),
		    400);
		json_object_set_new(f, "why_bogus", json_string(s ? s : ""));
		free(s);
	}
	if (out->canonname && !sd_name_eq(out->canonname, name)) {
		char *s = sd_sanitize(out->canonname, strlen(out->canonname),
		    300);
		json_object_set_new(f, "canonname", json_string(s ? s : ""));
		free(s);
	}
	if (out->n_rr) {
		json_t *ans = json_array();
		for (size_t i = 0; i < out->n_rr && i < LOOKUP_ANSWERS_MAX; i++)
			json_array_append_new(ans, rr_json(&out->rr[i]));
		json_object_set_new(f, "answers", ans);
		if (out->n_rr > LOOKUP_ANSWERS_MAX)
			json_object_set_new(f, "answers_total",
			    json_integer((json_int_t)out->n_rr));
	}
	sd_dctx_fact(c, f, id_out, id_len);
	return out->status;
}

sd_dns_status sd_dctx_lookup(sd_dctx *c, sd_resolver *res, const char *name,
    uint16_t type, int64_t deadline, const char *stage, const char *prefix,
    sd_dns_answer *out, char *id_out, size_t id_len)
{
	if (!deadline || deadline > c->conf.deadline)
		deadline = c->conf.deadline;
	char id[SD_DOMAIN_ID_MAX];
	snprintf(id, sizeof id, "%sdns.%s.%s", prefix ? prefix : "",
	    sd_dns_type_name(type), name);
	return lookup_as(c, res, name, type, deadline, stage, id, out, id_out,
	    id_len);
}

static int is_address(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

json_t *sd_jstr_sanitized(const char *s, size_t max)
{
	if (!s)
		return json_null();
	char *t = sd_sanitize(s, strlen(s), max);
	json_t *v = json_string(t ? t : "");
	free(t);
	return v;
}

static void lower_copy(char *dst, size_t dstlen, const char *src)
{
	size_t i = 0;
	for (; src[i] && i + 1 < dstlen; i++)
		dst[i] = sd_tolower(src[i]);
	dst[i] = '\0';
	if (i && dst[i - 1] == '.')
		dst[i - 1] = '\0';
}

/* ------------------------------------------------------------------ */
/* MX                                                                  */

static void job_mx_host(sd_dctx *c, const sd_job *j);
static void job_dane(sd_dctx *c, const sd_job *j);

static int cmp_pref(const void *a, const void *b)
{
	const sd_dns_rr *x = a, *y = b;
	return (int)x->pref - (int)y->pref;
}

static void job_mx(sd_dctx *c, const sd_job *j)
{
	(void)j;
	const char *domain = c->conf.domain;
	sd_dns_answer a = { 0 };
	char id[SD_DOMAIN_ID_MAX];
	sd_dns_status st = sd_dctx_lookup(c, NULL, domain, SD_DNS_MX, 0,
	    "domain", NULL, &a, id, sizeof id);
	json_t *ev = sd_evidence_add(NULL, id);
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", "domain.mx",
	    "stage", "domain", "check", "mx", "domain", domain,
	    "status", sd_dns_status_name(st));
	if (!f) {
		json_decref(ev);
		sd_dns_answer_clear(&a);
		return;
	}
	if (st == SD_DNS_OK) {
		json_t *hosts = json_array();
		int null_mx = 0;
		qsort(a.rr, a.n_rr, sizeof *a.rr, cmp_pref);
		size_t kept = 0;
		for (size_t i = 0; i < a.n_rr; i++) {
			const char *t = a.rr[i].text ? a.rr[i].text : "";
			if (strcmp(t, ".") == 0 || t[0] == '\0') {
				null_mx = 1;   /* RFC 7505: "0 ." */
				continue;
			}
			if (kept >= SD_DOMAIN_MAX_MX)
				continue;
			kept++;
			char host[300];
			lower_copy(host, sizeof host, t);
			int literal = is_address(host) || host[0] == '[';
			json_array_append_new(hosts, json_pack("{s:s, s:i, s:b}",
			    "host", host, "pref", a.rr[i].pref,
			    "literal", literal));
			if (!literal) {
				enqueue(c, job_mx_host, host, NULL, NULL,
				    a.rr[i].pref);
				enqueue(c, job_dane, host, NULL, NULL, 0);
			}
		}
		json_object_set_new(f, "null_mx", json_boolean(null_mx));
		json_object_set_new(f, "hosts", hosts);
		json_object_set_new(f, "hosts_total",
		    json_integer((json_int_t)(a.n_rr - (size_t)null_mx)));
	} else if (st == SD_DNS_NODATA || st == SD_DNS_NXDOMAIN) {
		/* RFC 5321 §5.1: no MX, the domain's own address is used */
		json_t *fb = json_object();
		json_t *addrs = json_array();
		sd_dns_host_answer h;
		sd_dctx_host(c, domain, 0, &h, &ev);
		for (size_t k = 0; k < 2; k++) {
			json_object_set_new(fb, k ? "AAAA" : "A", json_string(
			    sd_dns_status_name(h.a[k].status)));
			for (size_t i = 0; i < h.a[k].n_rr; i++)
				json_array_append_new(addrs,
				    json_string(h.a[k].rr[i].text));
		}
		sd_dns_host_clear(&h);
		json_object_set_new(fb, "addresses", addrs);
		json_object_set_new(f, "fallback", fb);
	}
	json_object_set_new(f, "evidence", ev);
	sd_dctx_fact(c, f, NULL, 0);
	sd_dns_answer_clear(&a);
}

/* The addresses of `host`: A and AAAA, CNAME noticed. */
static void job_mx_host(sd_dctx *c, const sd_job *j)
{
	const char *host = j->a;
	char fid[SD_DOMAIN_ID_MAX];
	snprintf(fid, sizeof fid, "domain.mx_host.%s", host);
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:i}", "id", fid,
	    "stage", "domain", "check", "mx_host", "host", host, "pref", j->n);
	json_t *ev = NULL, *addrs = json_array();
	char *cname = NULL;
	sd_dns_host_answer h;
	sd_dctx_host(c, host, 0, &h, &ev);
	for (size_t k = 0; k < 2; k++) {
		const sd_dns_answer *a = &h.a[k];
		json_object_set_new(f, k ? "aaaa" : "a",
		    json_string(sd_dns_status_name(a->status)));
		for (size_t i = 0; i < a->n_rr; i++)
			json_array_append_new(addrs, json_string(a->rr[i].text));
		if (!cname && a->canonname && !sd_name_eq(a->canonname, host)) {
			char t[300];
			lower_copy(t, sizeof t, a->canonname);
			cname = strdup(t);
		}
	}
	sd_dns_host_clear(&h);
	json_object_set_new(f, "addresses", addrs);
	json_object_set_new(f, "cname", cname ? json_string(cname) :
	    json_null());
	free(cname);
	json_object_set_new(f, "evidence", ev);
	sd_dctx_fact(c, f, NULL, 0);
}

static void job_dane(sd_dctx *c, const sd_job *j)
{
	sd_domain_check_dane(c, j->a);
}

/* ------------------------------------------------------------------ */
/* SPF                                                                 */

static json_t *string_array(char **v, size_t n, size_t keep, size_t max)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n && i < keep; i++)
		json_array_append_new(arr, sd_jstr_sanitized(v[i], max));
	if (n > keep) {
		char buf[64];
		snprintf(buf, sizeof buf, "... %zu more lines", n - keep);
		json_array_append_new(arr, json_string(buf));
	}
	return arr;
}

/* [{"term", "domain"}]: terms of SPF records and the record holding each. */
static json_t *term_refs(const sd_spf_term_ref *refs, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:o, s:o}", "term",
		    sd_jstr_sanitized(refs[i].term, 300), "domain",
		    sd_jstr_sanitized(refs[i].domain, 300)));
	return arr;
}

/* The terms of the tree that let every address of a family pass. */
static json_t *open_terms(const sd_spf_tree *t)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < t->n_open; i++) {
		const sd_spf_open_term *o = &t->open[i];
		json_t *fam = json_array();
		if (o->families & SD_SPF_WIDE_V4)
			json_array_append_new(fam, json_string("ip4"));
		if (o->families & SD_SPF_WIDE_V6)
			json_array_append_new(fam, json_string("ip6"));
		json_array_append_new(arr, json_pack("{s:o, s:o, s:o, s:o, s:o}",
		    "term", sd_jstr_sanitized(o->at.term, 300), "domain",
		    sd_jstr_sanitized(o->at.domain, 300), "via",
		    sd_jstr_sanitized(o->via.term, 300), "via_domain",
		    sd_jstr_sanitized(o->via.domain, 300), "families", fam));
	}
	return arr;
}

static void job_spf_tree(sd_dctx *c, const sd_job *j)
{
	(void)j;
	sd_spf_tree t = { 0 };
	int64_t t0 = sd_now_ms();
	sd_spf_count_lookups(c->conf.res, c->conf.domain, c->conf.deadline, &t);
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, "
	    "s:I}", "id", "domain.spf", "stage", "domain", "check",
	    "spf_record", "domain", c->conf.domain,
	    "status", sd_spf_code_name(t.status),
	    "lookup_terms", (int)t.lookup_terms, "records", (int)t.n_records,
	    "ptr_terms", (int)t.n_ptr, "macro_targets", (int)t.n_macro_targets,
	    "elapsed_ms", (json_int_t)(sd_now_ms() - t0));
	if (f) {
		json_object_set_new(f, "problem", sd_jstr_sanitized(t.problem,
		    600));
		json_object_set_new(f, "timed_out", json_boolean(t.timed_out));
		json_object_set_new(f, "record", sd_jstr_sanitized(t.record,
		    SD_DOMAIN_TXT_MAX));
		if (t.record) {
			char err[300] = "";
			sd_spf_record *rec = NULL;
			int rc = sd_spf_parse(t.record, strlen(t.record), &rec,
			    err, sizeof err);
			if (rc == -1)
				json_object_set_new(f, "syntax_error",
				    sd_jstr_sanitized(err, 300));
			sd_spf_record_free(rec);
		}
		json_object_set_new(f, "ptr_term_list", term_refs(t.ptr_terms,
		    t.n_ptr_terms));
		json_object_set_new(f, "open_terms", open_terms(&t));
		json_object_set_new(f, "trace", string_array(t.trace,
		    t.n_trace, SPF_TRACE_KEEP, 600));
		sd_dctx_fact(c, f, NULL, 0);
	}
	sd_spf_tree_clear(&t);
}

static void job_spf_ip(sd_dctx *c, const sd_job *j)
{
	const char *ip = j->a;
	sd_spf_result res = { 0 };
	sd_spf_params p = {
		.ip = ip, .sender = c->spf_sender, .helo = NULL,
		.deadline_ms = c->conf.deadline,
	};
	int64_t t0 = sd_now_ms();
	sd_spf_check(c->conf.res, &p, &res);
	char fid[SD_DOMAIN_ID_MAX];
	snprintf(fid, sizeof fid, "domain.spf.%s", ip);
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:I}",
	    "id", fid, "stage", "domain", "check", "spf", "ip", ip,
	    "sender", c->spf_sender, "result", sd_spf_code_name(res.result),
	    "lookups", (int)res.lookups, "void_lookups", (int)res.void_lookups,
	    "elapsed_ms", (json_int_t)(sd_now_ms() - t0));
	if (!f) {
		sd_spf_result_clear(&res);
		return;
	}
	json_object_set_new(f, "own", json_boolean(c->conf.ips_own));
	json_object_set_new(f, "domain", sd_jstr_sanitized(res.domain, 300));
	json_object_set_new(f, "record", sd_jstr_sanitized(res.record,
	    SD_DOMAIN_TXT_MAX));
	json_object_set_new(f, "mechanism", sd_jstr_sanitized(res.mechanism, 300));
	json_object_set_new(f, "mechanism_domain",
	    sd_jstr_sanitized(res.mechanism_domain, 300));
	json_object_set_new(f, "matched", sd_jstr_sanitized(res.matched, 300));
	json_object_set_new(f, "matched_domain",
	    sd_jstr_sanitized(res.matched_domain, 300));
	json_object_set_new(f, "ptr_terms", term_refs(res.ptr_terms,
	    res.n_ptr_terms));
	json_object_set_new(f, "explanation", sd_jstr_sanitized(res.explanation,
	    600));
	json_object_set_new(f, "problem", sd_jstr_sanitized(res.problem, 600));
	if (res.problem_class)
		json_object_set_new(f, "problem_class",
		    json_string(res.problem_class));
	json_object_set_new(f, "trace", string_array(res.trace, res.n_trace,
	    SPF_TRACE_KEEP, 600));
	json_t *dns = json_array();
	for (size_t i = 0; i < res.n_dns && i < 64; i++)
		json_array_append_new(dns, json_pack("{s:o, s:s, s:s, s:I}",
		    "name", sd_jstr_sanitized(res.dns[i].name, 300),
		    "type", sd_dns_type_name(res.dns[i].type),
		    "status", sd_dns_status_name(res.dns[i].status),
		    "elapsed_ms", (json_int_t)res.dns[i].elapsed_ms));
	json_object_set_new(f, "dns", dns);
	sd_dctx_fact(c, f, NULL, 0);
	sd_spf_result_clear(&res);
}

/* ------------------------------------------------------------------ */
/* DKIM                                                                */

/* j->a selector, j->b source ("option", "message", "common"),
 * j->z the signing domain (empty: DOMAIN). */
static void job_dkim(sd_dctx *c, const sd_job *j)
{
	const char *domain = j->z[0] ? j->z : c->conf.domain;
	sd_dkim_key_lookup l = { 0 };
	int64_t t0 = sd_now_ms();
	if (sd_dkim_key_fetch(c->conf.res, j->a, domain, c->conf.deadline,
	    &l) != SD_OK) {
		sd_dkim_key_lookup_clear(&l);
		return;
	}
	char fid[SD_DOMAIN_ID_MAX];
	snprintf(fid, sizeof fid, "domain.dkim.%s", j->a);
	if (j->z[0] && !sd_name_eq(j->z, c->conf.domain))
		snprintf(fid, sizeof fid, "domain.dkim.%s.%s", j->a, j->z);
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, "
	    "s:I}", "id", fid, "stage", "domain", "check", "dkim_key",
	    "selector", j->a, "domain", domain, "source", j->b,
	    "lookup", sd_dkim_lookup_name(l.result),
	    "dns_status", sd_dns_status_name(l.dns_status),
	    "secure", l.secure, "elapsed_ms", (json_int_t)(sd_now_ms() - t0));
	if (!f) {
		sd_dkim_key_lookup_clear(&l);
		return;
	}
	json_object_set_new(f, "name", sd_jstr_sanitized(l.name, 300));
	json_object_set_new(f, "record", sd_jstr_sanitized(l.record,
	    SD_DOMAIN_TXT_MAX));
	json_object_set_new(f, "reason", sd_jstr_sanitized(l.reason,
	    SD_DKIM_REASON_MAX));
	if (l.result == SD_DKIM_LOOKUP_FOUND) {
		const char *type = l.key.type == SD_DKIM_KEY_TYPE_RSA ? "rsa" :
		    l.key.type == SD_DKIM_KEY_TYPE_ED25519 ? "ed25519" :
		    "unknown";
		json_object_set_new(f, "key", json_pack("{s:s, s:s, s:i, s:b, "
		    "s:b, s:o}", "status",
		    sd_dkim_key_status_name(l.key.status), "type", type,
		    "bits", (int)l.key.bits, "weak", l.key.weak,
		    "testing", l.key.testing,
		    "reason", sd_jstr_sanitized(l.key.reason,
		    SD_DKIM_REASON_MAX)));
	}
	sd_dctx_fact(c, f, NULL, 0);
	sd_dkim_key_lookup_clear(&l);
}

/* ------------------------------------------------------------------ */
/* the message: DKIM signatures, identities for DMARC                  */

/* The domain of the first address in a From/Return-Path value. */
static char *address_domain(const char *v, size_t len)
{
	char buf[1024];
	if (len >= sizeof buf)
		len = sizeof buf - 1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	char *start = buf, *end = buf + len;
	char *lt = strchr(buf, '<');
	if (lt) {
		start = lt + 1;
		char *gt = strchr(start, '>');
		if (gt)
			end = gt;
	} else {
		char *comma = strchr(buf, ',');
		if (comma)
			end = comma;
	}
	*end = '\0';
	char *at = strrchr(start, '@');
	if (!at)
		return NULL;
	char *d = at + 1;
	while (*d == ' ' || *d == '\t')
		d++;
	size_t n = strcspn(d, " \t\r\n()>;,");
	if (n == 0 || n > 253)
		return NULL;
	d[n] = '\0';
	char out[256];
	lower_copy(out, sizeof out, d);
	if (!sd_hostname_valid(out))
		return NULL;
	return strdup(out);
}

static void job_message(sd_dctx *c, const sd_job *j)
{
	(void)j;
	sd_dkim_results res = { 0 };
	int64_t t0 = sd_now_ms();
	sd_dkim_verify_message(c->conf.res, c->conf.deadline, c->message,
	    c->message_len, 0, &res);
	json_t *f = json_pack("{s:s, s:s, s:s, s:o, s:b, s:i, s:I}",
	    "id", "domain.message", "stage", "domain", "check", "message",
	    "file", sd_jstr_sanitized(c->message_name, 300),
	    "readable", res.message_ok, "signatures_seen", (int)res.n_sig_seen,
	    "elapsed_ms", (json_int_t)(sd_now_ms() - t0));
	if (!f) {
		sd_dkim_results_clear(&res);
		return;
	}
	json_object_set_new(f, "reason", sd_jstr_sanitized(res.reason, 400));
	json_object_set_new(f, "from_domain", c->from_domain ?
	    json_string(c->from_domain) : json_null());
	if (c->from_problem)
		json_object_set_new(f, "from_problem",
		    sd_jstr_sanitized(c->from_problem, 300));
	json_object_set_new(f, "spf_sender", json_string(c->spf_sender));
	json_t *sigs = json_array();
	for (size_t i = 0; i < res.n_sig; i++) {
		const sd_dkim_sig *s = &res.sig[i];
		json_array_append_new(sigs, json_pack("{s:o, s:o, s:o, s:s, "
		    "s:s, s:o, s:s}",
		    "d", sd_jstr_sanitized(s->domain, 300),
		    "s", sd_jstr_sanitized(s->selector, 300),
		    "algorithm", sd_jstr_sanitized(s->algorithm, 64),
		    "result", sd_dkim_result_name(s->result),
		    "why", sd_dkim_why_name(s->why),
		    "reason", sd_jstr_sanitized(s->reason, SD_DKIM_REASON_MAX),
		    "key", sd_dkim_lookup_name(s->key.result)));
	}
	json_object_set_new(f, "signatures", sigs);
	sd_dctx_fact(c, f, NULL, 0);
	sd_dkim_results_clear(&res);
}

/*
 * Reads what the checks need from the message before they start: the From
 * and Return-Path domains and the selectors of its signatures.  Adds the
 * selectors (source "message") to the queue.  Returns how many.
 */
static size_t scan_message(sd_dctx *c, json_t **problem)
{
	sd_mail_msg m = { 0 };
	char why[256] = "";
	size_t n_sel = 0;
	if (sd_mail_msg_parse(c->message, c->message_len, &m, why,
	    sizeof why) != SD_OK) {
		*problem = json_string(why[0] ? why : "unreadable message");
		return 0;
	}
	char fwhy[256] = "";
	sd_dmarc_from_domain(c->message, c->message_len, &c->from_domain, fwhy,
	    sizeof fwhy);
	if (!c->from_domain)
		c->from_problem = strdup(fwhy[0] ? fwhy : "no From domain");
	for (size_t i = 0; i < m.n_field; i++) {
		const sd_mail_field *fl = &m.field[i];
		if (fl->name_len == 11 &&
		    sd_strncaseeq(fl->name, "return-path", 11) &&
		    !c->spf_sender) {
			char *d = address_domain(fl->value, fl->value_len);
			if (d) {
				size_t n = strlen(d) + 20;
				c->spf_sender = malloc(n);
				if (c->spf_sender)
					snprintf(c->spf_sender, n,
					    "postmaster@%s", d);
				free(d);
			}
		}
		if (fl->name_len == 14 &&
		    sd_strncaseeq(fl->name, "dkim-signature", 14) &&
		    n_sel < SD_DOMAIN_MAX_SELECTORS) {
			sd_dkim_sig sig = { 0 };
			sd_dkim_sig_parse(fl->value, fl->value_len, &sig);
			if (sig.selector && sig.domain &&
			    sd_dkim_valid_domain(sig.selector,
			    strlen(sig.selector), 1) &&
			    sd_dkim_valid_domain(sig.domain,
			    strlen(sig.domain), 0)) {
				enqueue(c, job_dkim, sig.selector, "message",
				    sig.domain, 0);
				n_sel++;
			}
			sd_dkim_sig_clear(&sig);
		}
	}
	sd_mail_msg_clear(&m);
	return n_sel;
}

/* ------------------------------------------------------------------ */
/* DMARC                                                               */

static int is_dmarc(const char *t, size_t len)
{
	return sd_dmarc_is_record(t, len);
}

static json_t *policy_json(const sd_dmarc_record *rec)
{
	json_t *rua = json_array();
	for (size_t i = 0; i < rec->n_rua; i++)
		json_array_append_new(rua, sd_jstr_sanitized(rec->rua[i], 300));
	return json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:o}",
	    "p", sd_dmarc_policy_name(rec->p),
	    "sp", sd_dmarc_policy_name(rec->sp),
	    "np", sd_dmarc_policy_name(rec->np), "pct", rec->pct,
	    "adkim", rec->adkim_strict ? "s" : "r",
	    "aspf", rec->aspf_strict ? "s" : "r", "rua", rua);
}

static const char *dmarc_found_name(sd_dmarc_found f)
{
	switch (f) {
	case SD_DMARC_FOUND: return "found";
	case SD_DMARC_NOT_FOUND: return "not_found";
	case SD_DMARC_MULTIPLE: return "multiple";
	case SD_DMARC_LOOKUP_FAILED: return "lookup_failed";
	}
	return "lookup_failed";
}

/* j->a: the domain whose policy is looked up; j->b: fact id. */
static void job_dmarc(sd_dctx *c, const sd_job *j)
{
	sd_dmarc_policy_info info = { 0 };
	int64_t t0 = sd_now_ms();
	if (sd_dmarc_discover(c->conf.res, NULL, j->a, c->conf.deadline,
	    &info) != SD_OK) {
		sd_dmarc_policy_info_clear(&info);
		return;
	}
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:I}",
	    "id", j->b, "stage", "domain", "check", "dmarc", "domain", j->a,
	    "found", dmarc_found_name(info.found), "at_org", info.at_org,
	    "looks_like_dmarc", info.looks_like_dmarc,
	    "elapsed_ms", (json_int_t)(sd_now_ms() - t0));
	if (!f) {
		sd_dmarc_policy_info_clear(&info);
		return;
	}
	json_object_set_new(f, "org_domain", sd_jstr_sanitized(info.org_domain,
	    300));
	json_object_set_new(f, "record_domain",
	    sd_jstr_sanitized(info.record_domain, 300));
	json_object_set_new(f, "record", sd_jstr_sanitized(info.record_text,
	    SD_DOMAIN_TXT_MAX));
	json_object_set_new(f, "reason", sd_jstr_sanitized(info.reason,
	    SD_DMARC_REASON_MAX));
	json_t *lk = json_array();
	for (size_t i = 0; i < info.n_lookup && i < 2; i++)
		json_array_append_new(lk, json_pack("{s:o, s:s, s:i, s:i}",
		    "name", sd_jstr_sanitized(info.lookup[i].name, 300),
		    "status", sd_dns_status_name(info.lookup[i].status),
		    "txt", (int)info.lookup[i].n_txt,
		    "dmarc", (int)info.lookup[i].n_dmarc));
	json_object_set_new(f, "lookups", lk);
	if (info.found == SD_DMARC_FOUND) {
		const sd_dmarc_record *rec = &info.record;
		json_object_set_new(f, "valid", json_boolean(rec->valid));
		json_object_set_new(f, "acts_as_none",
		    json_boolean(rec->acts_as_none));
		if (rec->reason[0])
			json_object_set_new(f, "record_error",
			    sd_jstr_sanitized(rec->reason, SD_DMARC_REASON_MAX));
		if (rec->warnings[0])
			json_object_set_new(f, "warnings",
			    sd_jstr_sanitized(rec->warnings, SD_DMARC_REASON_MAX));
		json_object_set_new(f, "policy", policy_json(rec));
	}
	sd_dctx_fact(c, f, NULL, 0);
	sd_dmarc_policy_info_clear(&info);
}

/* ------------------------------------------------------------------ */
/* reverse DNS                                                         */

static void job_ptr(sd_dctx *c, const sd_job *j)
{
	const char *ip = j->a;
	char rev[128], id[SD_DOMAIN_ID_MAX], fid[SD_DOMAIN_ID_MAX];
	if (sd_reverse_name(ip, rev, sizeof rev) != 0)
		return;
	unsigned char want[16];
	int v6 = strchr(ip, ':') != NULL;
	inet_pton(v6 ? AF_INET6 : AF_INET, ip, want);

	sd_dns_answer a = { 0 };
	sd_dns_status st = sd_dctx_lookup(c, NULL, rev, SD_DNS_PTR, 0,
	    "domain", NULL, &a, id, sizeof id);
	json_t *ev = sd_evidence_add(NULL, id);
	snprintf(fid, sizeof fid, "domain.ptr.%s", ip);
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", fid,
	    "stage", "domain", "check", "ptr", "ip", ip, "reverse", rev,
	    "status", sd_dns_status_name(st));
	json_t *names = json_array(), *fwd = json_array();
	int confirmed = 0;
	for (size_t i = 0; i < a.n_rr && i < SD_DOMAIN_MAX_NAMES; i++) {
		char name[300];
		lower_copy(name, sizeof name, a.rr[i].text);
		json_array_append_new(names, json_string(name));
		if (!sd_hostname_valid(name)) {
			json_array_append_new(fwd, json_pack("{s:s, s:s}",
			    "name", name, "status", "invalid_name"));
			continue;
		}
		sd_dns_answer b = { 0 };
		char bid[SD_DOMAIN_ID_MAX];
		sd_dns_status bs = sd_dctx_lookup(c, NULL, name,
		    v6 ? SD_DNS_AAAA : SD_DNS_A, 0, "domain", NULL, &b, bid,
		    sizeof bid);
		ev = sd_evidence_add(ev, bid);
		json_t *addrs = json_array();
		int match = 0;
		for (size_t k = 0; k < b.n_rr; k++) {
			json_array_append_new(addrs, json_string(b.rr[k].text));
			if (b.rr[k].rdlen == (v6 ? 16u : 4u) &&
			    memcmp(b.rr[k].rdata, want, b.rr[k].rdlen) == 0)
				match = 1;
		}
		confirmed |= match;
		json_array_append_new(fwd, json_pack("{s:s, s:s, s:o, s:b}",
		    "name", name, "status", sd_dns_status_name(bs),
		    "addresses", addrs, "matches", match));
		sd_dns_answer_clear(&b);
	}
	json_object_set_new(f, "names", names);
	json_object_set_new(f, "forward", fwd);
	json_object_set_new(f, "confirmed", json_boolean(confirmed));
	json_object_set_new(f, "own", json_boolean(c->conf.ips_own));
	json_object_set_new(f, "evidence", ev);
	sd_dctx_fact(c, f, NULL, 0);
	sd_dns_answer_clear(&a);
}

/* ------------------------------------------------------------------ */
/* the authoritative servers                                           */

static void job_ns_server(sd_dctx *c, const sd_job *j);

/* The zone holding DOMAIN: the nearest name upwards with NS records. */
static void job_ns(sd_dctx *c, const sd_job *j)
{
	(void)j;
	char name[300], zone[300] = "", id[SD_DOMAIN_ID_MAX];
	snprintf(name, sizeof name, "%s", c->conf.domain);
	json_t *ev = NULL, *nsnames = json_array();
	sd_dns_answer a = { 0 };
	sd_dns_status st = SD_DNS_ERROR;
	for (int depth = 0; depth < 10; depth++) {
		sd_dns_answer_clear(&a);
		st = sd_dctx_lookup(c, NULL, name, SD_DNS_NS, 0, "domain", NULL,
		    &a, id, sizeof id);
		ev = sd_evidence_add(ev, id);
		if (st == SD_DNS_OK) {
			snprintf(zone, sizeof zone, "%s", name);
			break;
		}
		if (sd_dns_status_is_failure(st))
			break;
		const char *dot = strchr(name, '.');
		/* stop below the top-level domain */
		if (!dot || !strchr(dot + 1, '.'))
			break;
		memmove(name, dot + 1, strlen(dot + 1) + 1);
	}
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", "domain.ns",
	    "stage", "domain", "check", "ns", "domain", c->conf.domain,
	    "status", sd_dns_status_name(st));
	json_object_set_new(f, "zone", zone[0] ? json_string(zone) :
	    json_null());
	json_t *servers = json_array();
	size_t n_addr = 0;
	for (size_t i = 0; zone[0] && i < a.n_rr && i < SD_DOMAIN_MAX_NAMES;
	    i++) {
		char ns[300];
		lower_copy(ns, sizeof ns, a.rr[i].text);
		json_array_append_new(nsnames, json_string(ns));
		sd_dns_host_answer h;
		sd_dctx_host(c, ns, 1, &h, &ev);
		for (int k = 0; k < 2; k++) {
			const sd_dns_answer *b = &h.a[k];
			for (size_t m = 0; m < b->n_rr; m++) {
				if (n_addr >= SD_DOMAIN_MAX_NS_ADDRS)
					break;
				n_addr++;
				json_array_append_new(servers, json_pack(
				    "{s:s, s:s}", "ns", ns, "address",
				    b->rr[m].text));
				enqueue(c, job_ns_server, b->rr[m].text, ns,
				    zone, 0);
			}
		}
		sd_dns_host_clear(&h);
	}
	json_object_set_new(f, "names", nsnames);
	json_object_set_new(f, "servers", servers);
	json_object_set_new(f, "evidence", ev);
	sd_dctx_fact(c, f, NULL, 0);
	sd_dns_answer_clear(&a);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Answers of one question as a sorted array, for comparison. */
static json_t *ns_question(sd_dctx *c, sd_resolver *res, const char *name,
    uint16_t type, const char *prefix, int64_t deadline, int only,
    json_t **ev)
{
	sd_dns_answer a = { 0 };
	char id[SD_DOMAIN_ID_MAX];
	sd_dns_status st = sd_dctx_lookup(c, res, name, type, deadline,
	    "domain", prefix, &a, id, sizeof id);
	*ev = sd_evidence_add(*ev, id);
	char *vals[LOOKUP_ANSWERS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < a.n_rr && n < LOOKUP_ANSWERS_MAX; i++) {
		const sd_dns_rr *rr = &a.rr[i];
		if (only == 1 && !sd_spf_is_record(rr->text, rr->text_len))
			continue;
		if (only == 2 && !is_dmarc(rr->text, rr->text_len))
			continue;
		json_t *v = rr_json(rr);
		const char *s = json_string_value(v);
		char *low = NULL;
		if (s && type == SD_DNS_MX) {
			char tmp[600];
			lower_copy(tmp, sizeof tmp, s);
			low = strdup(tmp);
		} else if (s) {
			low = strdup(s);
		}
		json_decref(v);
		if (low)
			vals[n++] = low;
	}
	qsort(vals, n, sizeof *vals, cmp_str);
	json_t *recs = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(recs, json_string(vals[i]));
		free(vals[i]);
	}
	json_t *o = json_pack("{s:s, s:o}", "status", sd_dns_status_name(st),
	    "records", recs);
	sd_dns_answer_clear(&a);
	return o;
}

/* j->a address, j->b NS name, j->z zone. */
static void job_ns_server(sd_dctx *c, const sd_job *j)
{
	const char *addr = j->a;
	const char *err = NULL;
	char fid[SD_DOMAIN_ID_MAX], prefix[400], dmarc[320];
	snprintf(fid, sizeof fid, "domain.ns_server.%s", addr);
	snprintf(prefix, sizeof prefix, "ns.%s.", addr);
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", fid,
	    "stage", "domain", "check", "ns_server", "ns", j->b,
	    "address", addr, "zone", j->z);
	/* a stub, not a libunbound context: the questions need no DNSSEC,
	 * and a context costs more CPU than the rest of a domain's checks */
	sd_resolver *res = sd_resolver_new_stub((const char *[]){ addr }, 1,
	    &err);
	if (!res) {
		json_object_set_new(f, "error", json_string(err ? err :
		    "could not make a resolver"));
		sd_dctx_fact(c, f, NULL, 0);
		return;
	}
	/* one server that does not answer must not hold the whole run */
	int64_t deadline = sd_deadline_min(c->conf.deadline,
	    sd_now_ms() + NS_QUERY_MAX_MS);
	json_t *ev = NULL;
	json_object_set_new(f, "soa", ns_question(c, res, j->z, SD_DNS_SOA,
	    prefix, deadline, 0, &ev));
	json_object_set_new(f, "mx", ns_question(c, res, c->conf.domain,
	    SD_DNS_MX, prefix, deadline, 0, &ev));
	json_object_set_new(f, "spf", ns_question(c, res, c->conf.domain,
	    SD_DNS_TXT, prefix, deadline, 1, &ev));
	snprintf(dmarc, sizeof dmarc, "_dmarc.%s", c->conf.domain);
	json_object_set_new(f, "dmarc", ns_question(c, res, dmarc, SD_DNS_TXT,
	    prefix, deadline, 2, &ev));
	json_object_set_new(f, "evidence", ev);
	sd_dctx_fact(c, f, NULL, 0);
	sd_resolver_free(res);
}

/* ------------------------------------------------------------------ */
/* TLS-RPT, DNSSEC                                                     */

static void job_tlsrpt(sd_dctx *c, const sd_job *j)
{
	(void)j;
	char name[320], id[SD_DOMAIN_ID_MAX];
	snprintf(name, sizeof name, "_smtp._tls.%s", c->conf.domain);
	sd_dns_answer a = { 0 };
	sd_dns_status st = sd_dctx_lookup(c, NULL, name, SD_DNS_TXT, 0,
	    "domain", NULL, &a, id, sizeof id);
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "id",
	    "domain.tlsrpt", "stage", "domain", "check", "tlsrpt",
	    "name", name, "status", sd_dns_status_name(st),
	    "evidence", sd_evidence_add(NULL, id));
	json_t *recs = json_array();
	const sd_dns_rr *rec = NULL;
	for (size_t i = 0; i < a.n_rr; i++)
		if (sd_tlsrpt_is_record(a.rr[i].text, a.rr[i].text_len)) {
			json_array_append_new(recs, txt_json(&a.rr[i]));
			rec = &a.rr[i];
		}
	json_object_set_new(f, "records", recs);
	if (json_array_size(recs) > 1) {
		json_object_set_new(f, "error", json_string("more than one "
		    "v=TLSRPTv1 record: senders use none of them "
		    "(RFC 8460 section 3)"));
	} else if (rec) {
		sd_tlsrpt_record t;
		if (sd_tlsrpt_parse(rec->text, rec->text_len, &t) != 0)
			json_object_set_new(f, "error", json_string(t.error));
		json_t *rua = json_array();
		for (size_t i = 0; i < t.n_rua; i++)
			json_array_append_new(rua, sd_jstr_sanitized(t.rua[i],
			    SD_TLSRPT_URI_MAX));
		json_object_set_new(f, "rua", rua);
	}
	sd_dctx_fact(c, f, NULL, 0);
	sd_dns_answer_clear(&a);
}

static void job_dnssec(sd_dctx *c, const sd_job *j)
{
	(void)j;
	char id[SD_DOMAIN_ID_MAX];
	sd_dns_answer a = { 0 };
	sd_dns_status st = sd_dctx_lookup(c, NULL, c->conf.domain, SD_DNS_SOA,
	    0, "domain", NULL, &a, id, sizeof id);
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o}", "id",
	    "domain.dnssec", "stage", "domain", "check", "dnssec",
	    "name", c->conf.domain, "status", sd_dns_status_name(st),
	    "secure", a.secure, "evidence", sd_evidence_add(NULL, id));
	if (a.why_bogus)
		json_object_set_new(f, "why_bogus", sd_jstr_sanitized(a.why_bogus,
		    400));
	sd_dctx_fact(c, f, NULL, 0);
	sd_dns_answer_clear(&a);
}

/* ------------------------------------------------------------------ */
/* blocklists                                                          */

/* The domain's lookups: recorded as DNS facts, their ids the evidence. */
static sd_dns_status list_lookup(void *ctx, const char *name, uint16_t type,
    sd_dns_answer *out, char *id, size_t id_len)
{
	return sd_dctx_lookup(ctx, NULL, name, type, 0, "reputation", NULL, out,
	    id, id_len);
}

/* j->a: the address or domain; j->b: the zone; j->n: 1 for a domain list */
static void job_list(sd_dctx *c, const sd_job *j)
{
	int domain_list = j->n;
	char fid[SD_DOMAIN_ID_MAX];
	snprintf(fid, sizeof fid, "reputation.%s.%s.%s",
	    domain_list ? "dbl" : "dnsbl", j->b, j->a);
	json_t *f = sd_dnsbl_probe(fid, j->a, j->b, domain_list, list_lookup, c);
	if (!f)
		return;
	if (!domain_list)
		json_object_set_new(f, "own", json_boolean(c->conf.ips_own));
	sd_dctx_fact(c, f, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* the run                                                             */

static void job_mtasts(sd_dctx *c, const sd_job *j)
{
	(void)j;
	sd_domain_check_mtasts(c);
}

/* Lists the checks run and the inputs, so the report says what was asked. */
static void add_inputs_fact(sd_dctx *c, const sd_options *opt,
    const char **zones, size_t nz, const char **dbl, size_t nd,
    json_t *selectors, json_t *message_problem)
{
	json_t *ips = json_array(), *jz = json_array(), *jd = json_array();
	for (size_t i = 0; i < c->conf.n_ips; i++)
		json_array_append_new(ips, json_string(c->conf.ips[i]));
	for (size_t i = 0; i < nz; i++)
		json_array_append_new(jz, sd_jstr_sanitized(zones[i], 300));
	for (size_t i = 0; i < nd; i++)
		json_array_append_new(jd, sd_jstr_sanitized(dbl[i], 300));
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:o, s:b, s:o, s:o, s:o, "
	    "s:f}", "id", "domain.inputs", "stage", "domain", "check",
	    "inputs", "domain", c->conf.domain, "ips", ips,
	    "ips_are_own", c->conf.ips_own, "dnsbl", jz, "dbl", jd,
	    "selectors", selectors, "timeout_s", opt->timeout);
	if (!f)
		return;
	json_object_set_new(f, "spf_sender", json_string(c->spf_sender));
	/* whether DNSSEC is validated at all: without trust anchors,
	 * "not secure" says nothing about the domain */
	json_object_set_new(f, "trust_anchor", opt->trust_anchor ?
	    sd_jstr_sanitized(opt->trust_anchor, 300) : json_null());
	if (c->message_name)
		json_object_set_new(f, "message", sd_jstr_sanitized(
		    c->message_name, 300));
	if (c->from_domain)
		json_object_set_new(f, "from_domain",
		    json_string(c->from_domain));
	if (message_problem)
		json_object_set_new(f, "message_problem", message_problem);
	json_object_set_new(f, "elapsed_ms", json_integer(0));
	sd_dctx_fact(c, f, NULL, 0);
}

static sd_dctx *dctx_new(sd_report *r, sd_resolver *res,
    const sd_options *opt, const sd_domain_params *p, int64_t deadline)
{
	sd_dctx *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->refs = 1;
	/* the jobs' scope: a child of the caller's (an exporter that gives
	 * the probe up stops them too) */
	c->scope = sd_cancel_new();
	sd_cancel *prev = sd_cancel_enter(c->scope);
	c->jobs = sd_jobgroup_new(p->max_workers > 0 ?
	    (size_t)p->max_workers : 0);
	sd_cancel_enter(prev);
	c->r = r;
	c->conf.res = sd_resolver_ref(res);
	c->conf.deadline = deadline;
	c->conf.family = opt->family;
	c->conf.have_resolver_option = opt->n_resolvers > 0;
	c->conf.connect_timeout_ms = (int64_t)(opt->connect_timeout * 1000);
	if (c->conf.connect_timeout_ms <= 0)
		c->conf.connect_timeout_ms = 5000;
	c->conf.domain = strdup(p->domain);
	c->conf.ca_file = opt->ca_file ? strdup(opt->ca_file) : NULL;
	size_t n = p->n_ips < SD_DOMAIN_MAX_IPS ? p->n_ips : SD_DOMAIN_MAX_IPS;
	c->conf.ips = calloc(n ? n : 1, sizeof *c->conf.ips);
	for (size_t i = 0; c->conf.ips && i < n; i++)
		if ((c->conf.ips[i] = strdup(p->ips[i])))
			c->conf.n_ips++;
	c->conf.ips_own = p->ips_are_own;
	if (p->message) {
		c->message = malloc(p->message_len + 1);
		if (c->message) {
			memcpy(c->message, p->message, p->message_len);
			c->message[p->message_len] = '\0';
			c->message_len = p->message_len;
		}
		c->message_name = strdup(p->message_name ? p->message_name :
		    "-");
	}
	if (!c->jobs || !c->conf.domain || !c->conf.ips ||
	    (p->message && !c->message)) {
		sd_jobgroup_close(c->jobs);
		dctx_free(c);
		return NULL;
	}
	return c;
}

/* DKIM selectors: named, else the message's, else common guesses; queues
 * a job for each and returns them for the inputs fact. */
static json_t *enqueue_selectors(sd_dctx *c, const sd_domain_params *p,
    size_t n_msg_sel)
{
	json_t *selectors = json_array();
	if (p->n_selectors) {
		for (size_t i = 0; i < p->n_selectors &&
		    i < SD_DOMAIN_MAX_SELECTORS; i++) {
			enqueue(c, job_dkim, p->selectors[i], "option", NULL, 0);
			json_array_append_new(selectors,
			    sd_jstr_sanitized(p->selectors[i], 300));
		}
	} else if (!n_msg_sel) {
		for (size_t i = 0; sd_domain_common_selectors[i]; i++) {
			enqueue(c, job_dkim, sd_domain_common_selectors[i],
			    "common", NULL, 0);
			json_array_append_new(selectors,
			    json_string(sd_domain_common_selectors[i]));
		}
	}
	return selectors;
}

/* The blocklist zones to ask: the user's (--dnsbl / --dbl), else the
 * built-in ones. */
static size_t list_zones(int set, const char **given, size_t n_given,
    int domain_lists, const char **out)
{
	if (!set)
		return sd_dnsbl_defaults(domain_lists, out,
		    SD_DOMAIN_MAX_ZONES);
	size_t n = 0;
	for (size_t i = 0; i < n_given && n < SD_DOMAIN_MAX_ZONES; i++)
		out[n++] = given[i];
	return n;
}

/* Every lookup of the domain failed and no other name was answered: one
 * question the resolver must answer, the root zone's name servers, shows
 * whether it is alive, so that the rules can tell a dead resolver from
 * the domain's own dead or lame name servers.  Healthy runs never ask it. */
static void ask_control(sd_dctx *c, int64_t latest)
{
	pthread_mutex_lock(&c->lock);
	int blind = c->own_failed && !c->own_answered && !c->other_answered;
	pthread_mutex_unlock(&c->lock);
	if (!blind)
		return;
	sd_dns_answer a = { 0 };
	lookup_as(c, NULL, ".", SD_DNS_NS, sd_deadline_min(latest,
	    sd_now_ms() + CONTROL_MAX_MS), "domain", "domain.control", &a,
	    NULL, 0);
	sd_dns_answer_clear(&a);
}

int sd_domain_probe(sd_report *r, sd_resolver *res, const sd_options *opt,
    const sd_domain_params *p, int64_t deadline_ms)
{
	sd_dctx *c = dctx_new(r, res, opt, p, deadline_ms);
	if (!c)
		return 0;
	const char *domain = c->conf.domain;

	/* the checks that need nothing but the domain */
	enqueue(c, job_dnssec, NULL, NULL, NULL, 0);
	enqueue(c, job_mx, NULL, NULL, NULL, 0);
	enqueue(c, job_spf_tree, NULL, NULL, NULL, 0);
	enqueue(c, job_dmarc, domain, "domain.dmarc", NULL, 0);
	enqueue(c, job_ns, NULL, NULL, NULL, 0);
	enqueue(c, job_mtasts, NULL, NULL, NULL, 0);
	enqueue(c, job_tlsrpt, NULL, NULL, NULL, 0);

	/* the message first: it may name the selectors and identities */
	json_t *message_problem = NULL;
	size_t n_msg_sel = 0;
	if (c->message)
		n_msg_sel = scan_message(c, &message_problem);
	/* before any job that reads it (the message's, SPF per address) is
	 * queued: the jobs run on other threads at once */
	if (!c->spf_sender) {
		size_t n = strlen(domain) + 20;
		c->spf_sender = malloc(n);
		if (c->spf_sender)
			snprintf(c->spf_sender, n, "postmaster@%s", domain);
	}
	if (c->message) {
		enqueue(c, job_message, NULL, NULL, NULL, 0);
		if (c->from_domain && !sd_name_eq(c->from_domain, domain))
			enqueue(c, job_dmarc, c->from_domain,
			    "domain.dmarc_from", NULL, 0);
	}

	json_t *selectors = enqueue_selectors(c, p, n_msg_sel);
	const char *zones[SD_DOMAIN_MAX_ZONES], *dbl[SD_DOMAIN_MAX_ZONES];
	size_t nz = list_zones(opt->dnsbl_set, opt->dnsbl, opt->n_dnsbl, 0,
	    zones);
	size_t nd = list_zones(opt->dbl_set, opt->dbl, opt->n_dbl, 1, dbl);
	/* per sending address: SPF, reverse DNS, blocklists */
	for (size_t i = 0; i < c->conf.n_ips; i++) {
		const char *ip = c->conf.ips[i];
		enqueue(c, job_spf_ip, ip, NULL, NULL, 0);
		enqueue(c, job_ptr, ip, NULL, NULL, 0);
		for (size_t k = 0; k < nz; k++)
			enqueue(c, job_list, ip, zones[k], NULL, 0);
	}
	for (size_t k = 0; k < nd; k++)
		enqueue(c, job_list, domain, dbl[k], NULL, 1);
	add_inputs_fact(c, opt, zones, nz, dbl, nd, selectors,
	    message_problem);

	/* the pool runs the jobs; this thread helps until the deadline */
	int abandoned = sd_jobgroup_wait(c->jobs, deadline_ms +
	    DOMAIN_GRACE_MS);
	if (!abandoned && p->control_deadline)
		ask_control(c, p->control_deadline);
	pthread_mutex_lock(&c->lock);
	c->closed = 1;
	pthread_mutex_unlock(&c->lock);
	sd_cancel_fire(c->scope);
	sd_jobgroup_close(c->jobs);
	pthread_mutex_lock(&c->lock);
	dctx_unref_locked(c);
	return abandoned;
}

/* The run itself, on a resolver the caller made (and frees, unless the
 * deadline abandoned checks that still hold it: *abandoned says so). */
static sd_report *run_on(const sd_options *opt, const sd_domain_params *p,
    sd_resolver *res, const char *res_err, int *abandoned)
{
	*abandoned = 0;
	sd_report *r = sd_report_new("domain");
	if (!r)
		return NULL;
	sd_report_watch(r, opt);
	/* the deadline of every lookup: the run's, less time to judge and
	 * render */
	int64_t budget = (int64_t)(opt->timeout * 1000);
	int64_t deadline = r->t0_ms + (budget > 1000 ? budget - 400 :
	    budget * 6 / 10);
	if (!res) {
		json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "id",
		    "domain.resolver", "stage", "domain", "check", "resolver",
		    "error", res_err ? res_err : "could not make a resolver");
		sd_fact_add(r, "resolver", f);
		sd_rules_judge(r);
		return r;
	}
	sd_report_waiting(r, p->domain, "DNS lookups", 1,
	    (double)sd_remaining_ms(deadline) / 1000.0);
	/* the control lookup may take half of the time left to judge */
	sd_domain_params dp = *p;
	dp.control_deadline = deadline + (r->t0_ms + budget - deadline) / 2;
	*abandoned = sd_domain_probe(r, res, opt, &dp, deadline);
	sd_report_waiting(r, p->domain, NULL, 0, 0);
	if (*abandoned) {
		json_t *f = json_pack("{s:s, s:s, s:s, s:b}", "id",
		    "domain.deadline", "stage", "domain", "check", "deadline",
		    "abandoned", 1);
		sd_fact_add(r, "deadline", f);
	}
	sd_rules_judge(r);
	return r;
}

sd_report *sd_domain_run_shared(const sd_options *opt,
    const sd_domain_params *p, sd_resolver *res)
{
	int abandoned;
	return run_on(opt, p, res, NULL, &abandoned);
}

sd_report *sd_domain_run(const sd_options *opt, const sd_domain_params *p)
{
	const char *err = NULL;
	sd_resolver *res = sd_resolver_new_unbound(opt->n_resolvers ?
	    opt->resolvers : NULL, opt->n_resolvers, opt->trust_anchor, &err);
	int abandoned;
	sd_report *r = run_on(opt, p, res, err, &abandoned);
	/* checks still running hold a reference of their own */
	sd_resolver_free(res);
	return r;
}
