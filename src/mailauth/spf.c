/*
 * SPF evaluation: check_host() of RFC 7208 §4, with a trace a person can
 * follow.  Records are fetched as TXT only (RFC 7208 §3.1 retired type
 * SPF).  Every DNS query goes through sd_dns_query() with the one deadline
 * of the evaluation; "the lookup failed" gives temperror, "the answer says
 * no" is an answer (and maybe a void lookup).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mailauth/spf.h"
#include "mailauth/spf_int.h"
#include "util/util.h"

/*
 * Queries per evaluation.  The limits of RFC 7208 §4.6.4 already bound
 * them (10 terms of at most 1 + 10 queries, 11 records, exp, %{p}); this
 * is a second fence in case a bug lets a loop through.
 */
#define SPF_MAX_QUERIES 250
/* Nesting of include/redirect; the 10-term limit stops well before. */
#define SPF_MAX_DEPTH 24
/* Answers kept per query for the report. */
#define SPF_MAX_ANSWERS_KEPT 32
/* Bytes of a record or answer quoted in the trace. */
#define SPF_QUOTE_MAX 400
/* Records fetched by sd_spf_count_lookups before it gives up. */
#define SPF_TREE_MAX_RECORDS 30

typedef enum { M_NOMATCH, M_MATCH, M_TEMPERROR, M_PERMERROR } mres;

typedef struct ev {
	sd_resolver *res;
	int64_t deadline;
	sd_spf_ip ip;
	char ip_dotted[80];
	char ip_text[INET6_ADDRSTRLEN];
	const char *ip_version;
	char *sender, *local, *sender_domain, *helo;
	const char *receiver;
	long long now;
	unsigned lookups, voids, queries;
	int depth;
	/* the domains being evaluated, outermost first (loop detection) */
	const char *path[SPF_MAX_DEPTH + 2];
	int n_path;
	/* the client's PTR names, looked up once (ptr and %{p}) */
	int ptr_done;
	sd_dns_status ptr_status;
	size_t n_ptr_names;
	char **validated;
	size_t n_validated;
	char *p_value;
	char *problem;
	const char *problem_class;   /* sd_spf_result.problem_class */
	sd_spf_result *out;
	size_t trace_cap, dns_cap;
	int trace_full, force_trace;
	int oom;
} ev;

/* --- trace and query log ---------------------------------------------- */

/*
 * Output goes to people and into JSON (which must be UTF-8): anything a
 * macro copied from the sender or HELO that is not printable ASCII becomes
 * '?'.  Record text is quoted with \xNN escapes before it gets here.
 */
static void make_printable(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static void trace_add(char ***lines, size_t *n, size_t *cap, int *full,
    int *oom, int depth, int force, const char *fmt, va_list ap)
{
	if (*full && !force)
		return;
	if (force)
		*full = 0;   /* the closing line always goes in */
	else if (*n + 2 >= SD_SPF_TRACE_MAX) {
		*full = 1;
		depth = 0;
		fmt = "... trace cut here (over %d lines)";
	}
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		char **nl = realloc(*lines, nc * sizeof *nl);
		if (!nl) {
			*oom = 1;
			return;
		}
		*lines = nl;
		*cap = nc;
	}
	sd_spfi_buf b = { .max = SD_SPF_TRACE_LINE_MAX };
	for (int i = 0; i < depth && i < 16; i++)
		sd_spfi_buf_adds(&b, "  ");
	if (*full) {
		sd_spfi_buf_printf(&b, fmt, SD_SPF_TRACE_MAX);
	} else {
		char *text = NULL;
		int n_text = vasprintf(&text, fmt, ap);
		if (n_text < 0) {
			*oom = 1;
			sd_spfi_buf_free(&b);
			return;
		}
		size_t room = b.max - b.len - 8;
		if ((size_t)n_text > room) {
			/* keep what fits and say it was cut */
			sd_spfi_buf_add(&b, text, room);
			sd_spfi_buf_adds(&b, " [...]");
		} else {
			sd_spfi_buf_add(&b, text, (size_t)n_text);
		}
		free(text);
	}
	char *line = sd_spfi_buf_take(&b);
	if (!line) {
		*oom = 1;
		return;
	}
	make_printable(line);
	(*lines)[(*n)++] = line;
}

static void trace(ev *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(ev *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	trace_add(&e->out->trace, &e->out->n_trace, &e->trace_cap,
	    &e->trace_full, &e->oom, e->depth, e->force_trace, fmt, ap);
	va_end(ap);
}

static void set_problem(ev *e, const char *class, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_problem(ev *e, const char *class, const char *fmt, ...)
{
	e->problem_class = class;
	sd_spfi_buf b = { .max = 1000 };
	va_list ap;
	va_start(ap, fmt);
	sd_spfi_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(e->problem);
	e->problem = sd_spfi_buf_take(&b);
	if (!e->problem)
		e->oom = 1;
	make_printable(e->problem);
}

static const char *status_text(sd_dns_status s)
{
	switch (s) {
	case SD_DNS_OK: return "ok";
	case SD_DNS_NXDOMAIN: return "NXDOMAIN";
	case SD_DNS_NODATA: return "no data";
	case SD_DNS_SERVFAIL: return "SERVFAIL";
	case SD_DNS_TIMEOUT: return "timeout";
	case SD_DNS_BOGUS: return "DNSSEC bogus";
	case SD_DNS_ERROR: return "error";
	}
	return "?";
}

static int is_failure(sd_dns_status s)
{
	return sd_dns_status_is_failure(s);
}

/* Presentation text of one answer, for the report (malloc'd). */
static char *rr_text(const sd_dns_rr *rr)
{
	if (rr->type == SD_DNS_MX) {
		sd_spfi_buf b = { .max = 600 };
		sd_spfi_buf_printf(&b, "%u ", rr->pref);
		sd_spfi_buf_add_clean(&b, rr->text ? rr->text : "",
		    rr->text ? strlen(rr->text) : 0, 300);
		return sd_spfi_buf_take(&b);
	}
	if (rr->type == SD_DNS_TXT)
		return sd_spfi_clean(rr->text, rr->text ? rr->text_len : 0,
		    SPF_QUOTE_MAX);
	return sd_spfi_clean(rr->text, rr->text ? strlen(rr->text) : 0, 300);
}

static size_t count_type(const sd_dns_answer *a, uint16_t type)
{
	size_t n = 0;
	if (a->status != SD_DNS_OK)
		return 0;
	for (size_t i = 0; i < a->n_rr; i++)
		if (a->rr[i].type == type)
			n++;
	return n;
}

/* Logs a finished query in out->dns. */
static void log_query(ev *e, const char *name, uint16_t type,
    const char *purpose, const sd_dns_answer *a, int64_t elapsed)
{
	sd_spf_result *o = e->out;
	if (o->n_dns == e->dns_cap) {
		size_t nc = e->dns_cap ? e->dns_cap * 2 : 16;
		sd_spf_dns_query *nq = realloc(o->dns, nc * sizeof *nq);
		if (!nq) {
			e->oom = 1;
			return;
		}
		o->dns = nq;
		e->dns_cap = nc;
	}
	sd_spf_dns_query *q = &o->dns[o->n_dns];
	memset(q, 0, sizeof *q);
	q->name = sd_spfi_clean(name, strlen(name), 300);
	q->purpose = strdup(purpose);
	q->type = type;
	q->status = a->status;
	q->elapsed_ms = elapsed;
	if (!q->name || !q->purpose) {
		free(q->name);
		free(q->purpose);
		e->oom = 1;
		return;
	}
	o->n_dns++;
	size_t n = count_type(a, type);
	if (n > SPF_MAX_ANSWERS_KEPT)
		n = SPF_MAX_ANSWERS_KEPT;
	if (n == 0)
		return;
	q->answers = calloc(n, sizeof *q->answers);
	if (!q->answers) {
		e->oom = 1;
		return;
	}
	for (size_t i = 0; i < a->n_rr && q->n_answers < n; i++) {
		if (a->rr[i].type != type)
			continue;
		char *t = rr_text(&a->rr[i]);
		if (!t) {
			e->oom = 1;
			return;
		}
		q->answers[q->n_answers++] = t;
	}
}

static sd_dns_status query(ev *e, const char *name, uint16_t type,
    const char *purpose, sd_dns_answer *a)
{
	memset(a, 0, sizeof *a);
	int64_t t0 = sd_now_ms();
	if (e->queries >= SPF_MAX_QUERIES) {
		a->status = SD_DNS_ERROR;
		trace(e, "not querying %s %s: over %d queries in one "
		    "evaluation", sd_dns_type_name(type), name, SPF_MAX_QUERIES);
	} else if (t0 >= e->deadline) {
		a->status = SD_DNS_TIMEOUT;
		trace(e, "not querying %s %s: the deadline has passed",
		    sd_dns_type_name(type), name);
	} else {
		e->queries++;
		a->status = sd_dns_query(e->res, name, type, e->deadline, a);
	}
	log_query(e, name, type, purpose, a, sd_now_ms() - t0);
	return a->status;
}

/* --- names -------------------------------------------------------------- */

/*
 * Makes an expanded target ready for DNS: drops one trailing dot, cuts
 * labels from the left while it is longer than 253 bytes (RFC 7208 §7.3),
 * and checks the labels.  Returns NULL when fine, else why not.
 */
static const char *prepare_name(char *name)
{
	size_t n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		name[--n] = '\0';
	while (n > 253) {
		char *dot = strchr(name, '.');
		if (!dot)
			return "it is longer than 253 bytes";
		size_t cut = (size_t)(dot - name) + 1;
		memmove(name, name + cut, n - cut + 1);
		n -= cut;
	}
	if (n == 0)
		return "it is empty";
	size_t label = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || name[i] == '.') {
			if (label == 0)
				return "it has an empty label";
			if (label > 63)
				return "it has a label longer than 63 bytes";
			label = 0;
		} else if (name[i] == '\\') {
			return "it holds a backslash";
		} else if ((unsigned char)name[i] < 0x20 ||
		    (unsigned char)name[i] > 0x7e) {
			/* only from macros copying the sender or HELO */
			return "it holds a control or non-ASCII byte";
		} else {
			label++;
		}
	}
	return NULL;
}

/* RFC 7208 §4.3: is this a domain check_host() can look at at all? */
static const char *check_initial_domain(const char *d)
{
	size_t n = strlen(d);
	if (n == 0)
		return "it is empty";
	if (d[0] == '[')
		return "it is an address literal, not a domain name";
	if (n > 0 && d[n - 1] == '.')
		n--;
	if (n > 253)
		return "it is longer than 253 bytes";
	size_t label = 0, labels = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || d[i] == '.') {
			if (label == 0)
				return "it has an empty label";
			if (label > 63)
				return "it has a label longer than 63 bytes";
			labels++;
			label = 0;
		} else if ((unsigned char)d[i] <= 0x20 ||
		    (unsigned char)d[i] >= 0x7f) {
			return "it holds a space, control or non-ASCII byte";
		} else {
			label++;
		}
	}
	if (labels < 2)
		return "it is not a multi-label domain name";
	return NULL;
}

/* --- addresses ------------------------------------------------------------ */

static int rr_addr(const sd_dns_rr *rr, int v6, unsigned char *b)
{
	size_t want = v6 ? 16 : 4;
	if (rr->rdata && rr->rdlen == want) {
		memcpy(b, rr->rdata, want);
		return 0;
	}
	if (rr->text && inet_pton(v6 ? AF_INET6 : AF_INET, rr->text, b) == 1)
		return 0;
	return -1;
}

static int prefix_match(const unsigned char *a, const unsigned char *b,
    int bits)
{
	int full = bits / 8, rest = bits % 8;
	if (full && memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		if ((a[full] & mask) != (b[full] & mask))
			return 0;
	}
	return 1;
}

static void addr_text(int v6, const unsigned char *b, char *out, size_t n)
{
	if (!inet_ntop(v6 ? AF_INET6 : AF_INET, b, out, (socklen_t)n))
		snprintf(out, n, "?");
}

/* --- the client's validated names (ptr and %{p}) ------------------------- */

static void reverse_name(const sd_spf_ip *ip, char *out, size_t n)
{
	if (!ip->v6) {
		snprintf(out, n, "%u.%u.%u.%u.in-addr.arpa", ip->b[3], ip->b[2],
		    ip->b[1], ip->b[0]);
		return;
	}
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;
	for (int i = 15; i >= 0 && k + 4 < n; i--) {
		out[k++] = hex[ip->b[i] & 15];
		out[k++] = '.';
		out[k++] = hex[ip->b[i] >> 4];
		out[k++] = '.';
	}
	snprintf(out + k, n - k, "ip6.arpa");
}

/*
 * Looks up the client's PTR names and keeps those whose addresses include
 * the client (RFC 7208 §5.5), once per evaluation.
 */
static void find_validated(ev *e)
{
	if (e->ptr_done)
		return;
	e->ptr_done = 1;
	char rev[80];
	reverse_name(&e->ip, rev, sizeof rev);
	sd_dns_answer a;
	e->ptr_status = query(e, rev, SD_DNS_PTR, "ptr", &a);
	size_t n = count_type(&a, SD_DNS_PTR);
	if (is_failure(e->ptr_status)) {
		trace(e, "PTR %s: lookup failed (%s)", rev,
		    status_text(e->ptr_status));
		sd_dns_answer_clear(&a);
		return;
	}
	if (n == 0) {
		trace(e, "PTR %s: no names (%s)", rev,
		    status_text(e->ptr_status));
		e->ptr_status = SD_DNS_NODATA;
		sd_dns_answer_clear(&a);
		return;
	}
	e->n_ptr_names = n;
	sd_spfi_buf list = { .max = 400 };
	for (size_t i = 0, k = 0; i < a.n_rr && k < SD_SPF_MAX_PTR_NAMES; i++) {
		if (a.rr[i].type != SD_DNS_PTR || !a.rr[i].text)
			continue;
		if (k++)
			sd_spfi_buf_addc(&list, ' ');
		sd_spfi_buf_add_clean(&list, a.rr[i].text,
		    strlen(a.rr[i].text), 100);
	}
	trace(e, "PTR %s -> %s%s", rev, list.p ? list.p : "",
	    list.overflow ? " ..." : "");
	sd_spfi_buf_free(&list);
	if (n > SD_SPF_MAX_PTR_NAMES)
		trace(e, "PTR %s: %zu names; only the first %d are checked "
		    "(RFC 7208 section 4.6.4)", rev, n, SD_SPF_MAX_PTR_NAMES);
	e->validated = calloc(n < SD_SPF_MAX_PTR_NAMES ? n :
	    SD_SPF_MAX_PTR_NAMES, sizeof *e->validated);
	if (!e->validated) {
		e->oom = 1;
		sd_dns_answer_clear(&a);
		return;
	}
	uint16_t type = e->ip.v6 ? SD_DNS_AAAA : SD_DNS_A;
	size_t seen = 0;
	for (size_t i = 0; i < a.n_rr && seen < SD_SPF_MAX_PTR_NAMES; i++) {
		if (a.rr[i].type != SD_DNS_PTR || !a.rr[i].text)
			continue;
		seen++;
		char *name = strdup(a.rr[i].text);
		if (!name) {
			e->oom = 1;
			break;
		}
		char *clean = sd_spfi_clean(name, strlen(name), 300);
		const char *bad = prepare_name(name);
		if (bad) {
			trace(e, "PTR name \"%s\" skipped: %s", clean ? clean : "?",
			    bad);
			free(clean);
			free(name);
			continue;
		}
		sd_dns_answer aa;
		sd_dns_status st = query(e, name, type, "ptr-validate", &aa);
		int ok = 0;
		for (size_t j = 0; j < aa.n_rr && st == SD_DNS_OK; j++) {
			unsigned char b[16];
			if (aa.rr[j].type == type &&
			    rr_addr(&aa.rr[j], e->ip.v6, b) == 0 &&
			    memcmp(b, e->ip.b, e->ip.v6 ? 16 : 4) == 0)
				ok = 1;
		}
		sd_dns_answer_clear(&aa);
		if (is_failure(st))
			trace(e, "PTR name %s: %s lookup failed (%s): skipped "
			    "(RFC 7208 section 5.5)", clean ? clean : "?",
			    sd_dns_type_name(type), status_text(st));
		else
			trace(e, "PTR name %s: %s", clean ? clean : "?",
			    ok ? "its addresses include the client: validated"
			    : "its addresses do not include the client: not "
			    "validated");
		free(clean);
		if (ok)
			e->validated[e->n_validated++] = name;
		else
			free(name);
	}
	sd_dns_answer_clear(&a);
}

/* %{p}: RFC 7208 §7.3 prefers <domain> itself, then a subdomain of it. */
static const char *get_p(void *arg, const char *domain)
{
	ev *e = arg;
	if (!e->res)
		return "unknown";
	find_validated(e);
	const char *best = NULL;
	for (size_t i = 0; i < e->n_validated && !best; i++)
		if (sd_name_eq(e->validated[i], domain))
			best = e->validated[i];
	for (size_t i = 0; i < e->n_validated && !best; i++)
		if (sd_name_under(e->validated[i], domain))
			best = e->validated[i];
	if (!best && e->n_validated)
		best = e->validated[0];
	return best ? best : "unknown";
}

/* --- macros ----------------------------------------------------------------- */

static void macro_ctx(ev *e, const char *domain, sd_spf_macro_ctx *c)
{
	memset(c, 0, sizeof *c);
	c->sender = e->sender;
	c->local = e->local;
	c->sender_domain = e->sender_domain;
	c->domain = domain;
	c->ip_dotted = e->ip_dotted;
	c->ip_text = e->ip_text;
	c->ip_version = e->ip_version;
	c->helo = e->helo;
	c->receiver = e->receiver ? e->receiver : "unknown";
	c->now = e->now;
	c->get_p = get_p;
	c->p_arg = e;
}

/*
 * The name a term points at: its domain-spec expanded, or the current
 * domain.  Returns 0 with *out set, 1 when the expansion is not a usable
 * DNS name (traced; the caller treats it as a name that does not exist),
 * -1 on a macro error (problem set), -2 out of memory.
 */
static int target_name(ev *e, const sd_spf_term *t, const char *domain,
    char **out)
{
	*out = NULL;
	if (!t->domain_spec) {
		*out = strdup(domain);
		return *out ? 0 : -2;
	}
	sd_spf_macro_ctx c;
	macro_ctx(e, domain, &c);
	char err[200];
	char *x = NULL;
	int rc = sd_spf_macro_expand(t->domain_spec, strlen(t->domain_spec),
	    &c, 0, &x, err, sizeof err);
	if (rc == -2)
		return -2;
	if (rc != 0) {
		set_problem(e, "bad_term",
		    "%s: \"%s\": %s", domain, t->text, err);
		trace(e, "%s: %s", t->text, err);
		return -1;
	}
	if (strchr(t->domain_spec, '%')) {
		char *clean = sd_spfi_clean(x, strlen(x), 300);
		trace(e, "%s: macros expand to \"%s\"", t->text,
		    clean ? clean : "?");
		free(clean);
	}
	const char *bad = prepare_name(x);
	if (bad) {
		char *clean = sd_spfi_clean(x, strlen(x), 300);
		trace(e, "%s: \"%s\" is not a usable domain name (%s): "
		    "treated as a name that does not exist", t->text,
		    clean ? clean : "?", bad);
		free(clean);
		free(x);
		return 1;
	}
	*out = x;
	return 0;
}

/* --- mechanisms ------------------------------------------------------------- */

static int is_lookup_term(sd_spf_term_kind k)
{
	return k == SD_SPF_INCLUDE || k == SD_SPF_A || k == SD_SPF_MX ||
	    k == SD_SPF_PTR || k == SD_SPF_EXISTS || k == SD_SPF_REDIRECT;
}

/* Counts a term toward the limit of 10; 0 when still within it. */
static int count_lookup(ev *e, const sd_spf_term *t, const char *domain)
{
	e->lookups++;
	if (e->lookups > SD_SPF_MAX_LOOKUP_TERMS) {
		set_problem(e, "lookup_limit",
		    "too many DNS lookups: \"%s\" in the record of "
		    "%s is DNS-querying term number %u, over the limit of %d "
		    "(RFC 7208 section 4.6.4)", t->text, domain, e->lookups,
		    SD_SPF_MAX_LOOKUP_TERMS);
		trace(e, "%s: DNS-querying term number %u: over the limit "
		    "of %d -> permerror", t->text, e->lookups,
		    SD_SPF_MAX_LOOKUP_TERMS);
		return -1;
	}
	trace(e, "%s: DNS-querying term %u of %d", t->text, e->lookups,
	    SD_SPF_MAX_LOOKUP_TERMS);
	return 0;
}

/* Counts a void lookup; -1 (problem set) past the limit of 2. */
static int count_void(ev *e, const char *what)
{
	e->voids++;
	if (e->voids > SD_SPF_MAX_VOID_LOOKUPS) {
		set_problem(e, "void_limit",
		    "too many void lookups: %s is lookup number %u "
		    "that found nothing, over the limit of %d (RFC 7208 "
		    "section 4.6.4)", what, e->voids, SD_SPF_MAX_VOID_LOOKUPS);
		trace(e, "void lookup %u (%s): over the limit of %d -> "
		    "permerror", e->voids, what, SD_SPF_MAX_VOID_LOOKUPS);
		return -1;
	}
	trace(e, "void lookup %u of %d (%s found nothing)", e->voids,
	    SD_SPF_MAX_VOID_LOOKUPS, what);
	return 0;
}

static mres lookup_failed(ev *e, const sd_spf_term *t, const char *domain,
    const char *name, uint16_t type, sd_dns_status st)
{
	/* a lookup the deadline cut is unfinished, not a broken domain */
	set_problem(e, st == SD_DNS_TIMEOUT ? "lookup_timeout" : "lookup_failed",
	    "the %s lookup of %s failed (%s), needed by \"%s\" in "
	    "the record of %s", sd_dns_type_name(type), name, status_text(st),
	    t->text, domain);
	trace(e, "%s: %s %s: lookup failed (%s) -> temperror", t->text,
	    sd_dns_type_name(type), name, status_text(st));
	return M_TEMPERROR;
}

/*
 * Looks up the addresses of `name` of the client's family and compares
 * them with the client using the term's prefix lengths.  *matched gets 1
 * on a match; returns the query status.
 */
static sd_dns_status match_addrs(ev *e, const sd_spf_term *t, const char *name,
    const char *purpose, int *matched, size_t *count)
{
	uint16_t type = e->ip.v6 ? SD_DNS_AAAA : SD_DNS_A;
	int bits = e->ip.v6 ? t->cidr6 : t->cidr4;
	sd_dns_answer a;
	sd_dns_status st = query(e, name, type, purpose, &a);
	*matched = 0;
	*count = count_type(&a, type);
	sd_spfi_buf list = { .max = 300 };
	size_t shown = 0;
	for (size_t i = 0; i < a.n_rr && st == SD_DNS_OK; i++) {
		unsigned char b[16];
		if (a.rr[i].type != type || rr_addr(&a.rr[i], e->ip.v6, b))
			continue;
		char txt[INET6_ADDRSTRLEN];
		addr_text(e->ip.v6, b, txt, sizeof txt);
		if (shown++ < 8)
			sd_spfi_buf_printf(&list, "%s%s", shown > 1 ? " " : "",
			    txt);
		if (prefix_match(b, e->ip.b, bits))
			*matched = 1;
	}
	if (shown > 8)
		sd_spfi_buf_printf(&list, " (+%zu more)", shown - 8);
	if (st == SD_DNS_OK && *count) {
		char *clean = sd_spfi_clean(name, strlen(name), 200);
		trace(e, "%s %s -> %s%s", sd_dns_type_name(type), clean ? clean : "?",
		    list.p ? list.p : "", *matched ? "  (includes the client)"
		    : "");
		if (*matched && bits != (e->ip.v6 ? 128 : 32))
			trace(e, "  (compared as /%d)", bits);
		free(clean);
	}
	sd_spfi_buf_free(&list);
	sd_dns_answer_clear(&a);
	return st;
}

static mres mech_a(ev *e, const sd_spf_term *t, const char *domain,
    const char *name)
{
	int matched;
	size_t n;
	uint16_t type = e->ip.v6 ? SD_DNS_AAAA : SD_DNS_A;
	sd_dns_status st = match_addrs(e, t, name, "a", &matched, &n);
	if (is_failure(st))
		return lookup_failed(e, t, domain, name, type, st);
	if (n == 0) {
		trace(e, "%s: no %s records for %s (%s): no match", t->text,
		    sd_dns_type_name(type), name, status_text(st));
		char what[300];
		snprintf(what, sizeof what, "%s %s", sd_dns_type_name(type), name);
		return count_void(e, what) ? M_PERMERROR : M_NOMATCH;
	}
	return matched ? M_MATCH : M_NOMATCH;
}

static mres mech_mx(ev *e, const sd_spf_term *t, const char *domain,
    const char *name)
{
	sd_dns_answer a;
	sd_dns_status st = query(e, name, SD_DNS_MX, "mx", &a);
	if (is_failure(st)) {
		sd_dns_answer_clear(&a);
		return lookup_failed(e, t, domain, name, SD_DNS_MX, st);
	}
	size_t n = count_type(&a, SD_DNS_MX);
	if (n == 0) {
		sd_dns_answer_clear(&a);
		trace(e, "%s: no MX records for %s (%s): no match (no "
		    "fallback to A, RFC 7208 section 5.4)", t->text, name,
		    status_text(st));
		char what[300];
		snprintf(what, sizeof what, "MX %s", name);
		return count_void(e, what) ? M_PERMERROR : M_NOMATCH;
	}
	if (n > SD_SPF_MAX_MX_NAMES) {
		sd_dns_answer_clear(&a);
		set_problem(e, "mx_limit",
		    "%s has %zu MX records; an mx mechanism may "
		    "look up at most %d (RFC 7208 section 4.6.4), \"%s\" in "
		    "the record of %s", name, n, SD_SPF_MAX_MX_NAMES, t->text,
		    domain);
		trace(e, "%s: %zu MX records, over the limit of %d -> "
		    "permerror", t->text, n, SD_SPF_MAX_MX_NAMES);
		return M_PERMERROR;
	}
	trace(e, "%s: MX %s -> %zu name%s", t->text, name, n, n == 1 ? "" : "s");
	mres r = M_NOMATCH;
	for (size_t i = 0; i < a.n_rr && r == M_NOMATCH; i++) {
		if (a.rr[i].type != SD_DNS_MX)
			continue;
		const char *host = a.rr[i].text ? a.rr[i].text : "";
		if (host[0] == '\0' || strcmp(host, ".") == 0) {
			trace(e, "  MX \".\" (null MX, RFC 7505): no host");
			continue;
		}
		char *h = strdup(host);
		if (!h) {
			e->oom = 1;
			break;
		}
		const char *bad = prepare_name(h);
		if (bad) {
			char *clean = sd_spfi_clean(host, strlen(host), 200);
			trace(e, "  MX name \"%s\" skipped: %s",
			    clean ? clean : "?", bad);
			free(clean);
			free(h);
			continue;
		}
		int matched;
		size_t cnt;
		e->depth++;
		st = match_addrs(e, t, h, "mx-host", &matched, &cnt);
		e->depth--;
		if (is_failure(st))
			r = lookup_failed(e, t, domain, h,
			    e->ip.v6 ? SD_DNS_AAAA : SD_DNS_A, st);
		else if (matched)
			r = M_MATCH;
		else if (cnt == 0)
			trace(e, "  %s has no %s records", h,
			    e->ip.v6 ? "AAAA" : "A");
		free(h);
	}
	sd_dns_answer_clear(&a);
	return r;
}

static mres mech_ptr(ev *e, const sd_spf_term *t, const char *name)
{
	int cached = e->ptr_done;
	find_validated(e);
	if (cached)
		trace(e, "%s: using the PTR names looked up before", t->text);
	if (is_failure(e->ptr_status)) {
		trace(e, "%s: the PTR lookup failed: no match (RFC 7208 "
		    "section 5.5)", t->text);
		return M_NOMATCH;
	}
	if (e->n_ptr_names == 0) {
		trace(e, "%s: the client has no PTR names: no match", t->text);
		return count_void(e, "PTR of the client") ? M_PERMERROR :
		    M_NOMATCH;
	}
	for (size_t i = 0; i < e->n_validated; i++) {
		if (sd_name_under(e->validated[i], name)) {
			trace(e, "%s: validated name %s is %s or under it",
			    t->text, e->validated[i], name);
			return M_MATCH;
		}
	}
	trace(e, "%s: no validated name is %s or under it: no match",
	    t->text, name);
	return M_NOMATCH;
}

static mres mech_exists(ev *e, const sd_spf_term *t, const char *domain,
    const char *name)
{
	sd_dns_answer a;
	/* RFC 7208 §5.7: always an A query, whatever the client's family */
	sd_dns_status st = query(e, name, SD_DNS_A, "exists", &a);
	size_t n = count_type(&a, SD_DNS_A);
	sd_dns_answer_clear(&a);
	if (is_failure(st))
		return lookup_failed(e, t, domain, name, SD_DNS_A, st);
	if (n == 0) {
		trace(e, "%s: A %s: none (%s): no match", t->text, name,
		    status_text(st));
		char what[300];
		snprintf(what, sizeof what, "A %s", name);
		return count_void(e, what) ? M_PERMERROR : M_NOMATCH;
	}
	trace(e, "%s: A %s exists", t->text, name);
	return M_MATCH;
}

static sd_spf_code check_host(ev *e, const char *domain, int chain,
    char **exp_out);
static sd_spf_code eval_record(ev *e, const sd_spf_record *rec,
    const char *domain, int chain, char **exp_out);

static mres mech_include(ev *e, const sd_spf_term *t, const char *domain,
    const char *name)
{
	trace(e, "%s: evaluating the record of %s", t->text, name);
	e->depth++;
	sd_spf_code r = check_host(e, name, 0, NULL);
	e->depth--;
	switch (r) {
	case SD_SPF_PASS:
		trace(e, "%s: %s gives pass: include matches", t->text, name);
		return M_MATCH;
	case SD_SPF_FAIL:
	case SD_SPF_SOFTFAIL:
	case SD_SPF_NEUTRAL:
		trace(e, "%s: %s gives %s: include does not match", t->text,
		    name, sd_spf_code_name(r));
		return M_NOMATCH;
	case SD_SPF_TEMPERROR:
		trace(e, "%s: %s gives temperror -> temperror", t->text, name);
		return M_TEMPERROR;
	case SD_SPF_NONE:
		set_problem(e, "include_none",
		    "\"%s\" in the record of %s points at %s, which "
		    "has no SPF record (%s)", t->text, domain, name,
		    e->problem ? e->problem : "none");
		trace(e, "%s: %s has no SPF record -> permerror (RFC 7208 "
		    "section 5.2)", t->text, name);
		return M_PERMERROR;
	case SD_SPF_PERMERROR:
	default:
		trace(e, "%s: %s gives permerror -> permerror", t->text, name);
		return M_PERMERROR;
	}
}

static mres eval_mech(ev *e, const sd_spf_term *t, const char *domain)
{
	switch (t->kind) {
	case SD_SPF_ALL:
		trace(e, "%s: matches", t->text);
		return M_MATCH;
	case SD_SPF_IP4:
	case SD_SPF_IP6: {
		int v6 = t->kind == SD_SPF_IP6;
		if (e->ip.v6 != v6) {
			trace(e, "%s: the client is %s: no match", t->text,
			    e->ip.v6 ? "IPv6" : "IPv4");
			return M_NOMATCH;
		}
		int m = prefix_match(t->net.b, e->ip.b,
		    v6 ? t->cidr6 : t->cidr4);
		trace(e, "%s: %s", t->text, m ? "matches" : "no match");
		return m ? M_MATCH : M_NOMATCH;
	}
	default:
		break;
	}
	char *name = NULL;
	int rc = target_name(e, t, domain, &name);
	if (rc == -2) {
		e->oom = 1;
		set_problem(e, "no_memory", "out of memory");
		return M_TEMPERROR;
	}
	if (rc == -1)
		return M_PERMERROR;
	if (rc == 1) {
		if (t->kind == SD_SPF_INCLUDE) {
			set_problem(e, "bad_term",
			    "\"%s\" in the record of %s does not "
			    "expand to a usable domain name", t->text, domain);
			return M_PERMERROR;
		}
		return count_void(e, t->text) ? M_PERMERROR : M_NOMATCH;
	}
	mres r;
	switch (t->kind) {
	case SD_SPF_A: r = mech_a(e, t, domain, name); break;
	case SD_SPF_MX: r = mech_mx(e, t, domain, name); break;
	case SD_SPF_PTR: r = mech_ptr(e, t, name); break;
	case SD_SPF_EXISTS: r = mech_exists(e, t, domain, name); break;
	case SD_SPF_INCLUDE: r = mech_include(e, t, domain, name); break;
	default: r = M_PERMERROR; break;
	}
	free(name);
	return r;
}

/* --- exp= --------------------------------------------------------------------- */

/*
 * RFC 7208 §6.2: any problem with exp= (macros, DNS, not exactly one TXT
 * record, bad text) means "proceed as if there were no exp=".  The lookup
 * counts toward no limit.
 */
static char *explain(ev *e, const sd_spf_term *t, const char *domain)
{
	sd_spf_macro_ctx c;
	macro_ctx(e, domain, &c);
	char err[200];
	char *name = NULL;
	if (sd_spf_macro_expand(t->domain_spec, strlen(t->domain_spec), &c, 0,
	    &name, err, sizeof err) != 0) {
		trace(e, "%s: %s: ignored", t->text, err);
		return NULL;
	}
	const char *bad = prepare_name(name);
	if (bad) {
		trace(e, "%s: not a usable domain name (%s): ignored", t->text,
		    bad);
		free(name);
		return NULL;
	}
	sd_dns_answer a;
	sd_dns_status st = query(e, name, SD_DNS_TXT, "exp", &a);
	size_t n = count_type(&a, SD_DNS_TXT);
	char *result = NULL;
	if (n != 1) {
		trace(e, "%s: TXT %s: %s: ignored", t->text, name,
		    is_failure(st) ? "lookup failed" : n == 0 ? "no record" :
		    "more than one record");
		goto out;
	}
	const sd_dns_rr *rr = NULL;
	for (size_t i = 0; i < a.n_rr; i++)
		if (a.rr[i].type == SD_DNS_TXT)
			rr = &a.rr[i];
	const char *txt = rr->text ? rr->text : "";
	size_t len = rr->text ? rr->text_len : 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)txt[i];
		if (ch < 0x20 || ch > 0x7e) {
			trace(e, "%s: TXT %s holds byte 0x%02x (explanations "
			    "are ASCII text): ignored", t->text, name, ch);
			goto out;
		}
	}
	if (sd_spf_macro_expand(txt, len, &c, 1, &result, err,
	    sizeof err) != 0) {
		trace(e, "%s: the explanation text has %s: ignored", t->text,
		    err);
		result = NULL;
		goto out;
	}
	char *clean = sd_spfi_clean(result, strlen(result), SPF_QUOTE_MAX);
	trace(e, "%s: explanation \"%s\"", t->text, clean ? clean : "?");
	free(clean);
out:
	sd_dns_answer_clear(&a);
	free(name);
	return result;
}

/* --- check_host() --------------------------------------------------------- */

static sd_spf_code qualifier_result(char q)
{
	switch (q) {
	case '-': return SD_SPF_FAIL;
	case '~': return SD_SPF_SOFTFAIL;
	case '?': return SD_SPF_NEUTRAL;
	default: return SD_SPF_PASS;
	}
}

/* A term as written and the domain whose record holds it, into a pair of
 * fields (replacing what they held); -1 when out of memory. */
static int dup_term(char **term, char **where, const char *text,
    const char *domain)
{
	free(*term);
	free(*where);
	*term = strdup(text);
	*where = strdup(domain);
	if (!*term || !*where)
		return -1;
	make_printable(*where);
	return 0;
}

static void keep_term(ev *e, char **term, char **where, const sd_spf_term *t,
    const char *domain)
{
	if (dup_term(term, where, t->text, domain))
		e->oom = 1;
}

static void set_decider(ev *e, const sd_spf_term *t, const char *domain)
{
	keep_term(e, &e->out->mechanism, &e->out->mechanism_domain, t, domain);
}

/* A term that matched; an include's match is the match inside it, which
 * came before, so the last one set is the innermost of the decision. */
static void set_matched(ev *e, const sd_spf_term *t, const char *domain)
{
	if (t->kind != SD_SPF_INCLUDE)
		keep_term(e, &e->out->matched, &e->out->matched_domain, t,
		    domain);
}

/* Does a domain-spec expand %{p}?  (%% is a literal percent sign.) */
static int uses_p_macro(const char *s)
{
	for (; s && *s; s++) {
		if (*s != '%')
			continue;
		if (s[1] == '{' && (s[2] == 'p' || s[2] == 'P'))
			return 1;
		if (s[1])
			s++;
	}
	return 0;
}

/* Adds the terms of a fetched record that need the client's PTR names,
 * reached or not: the record asks for them either way, for the next
 * sender it is checked for (no lookup is made for this).  -1 when out of
 * memory. */
static int keep_ptr_terms(sd_spf_term_ref **refs, size_t *n,
    const sd_spf_record *rec, const char *domain)
{
	for (size_t i = 0; i < rec->n_terms; i++) {
		const sd_spf_term *t = &rec->terms[i];
		if (t->kind != SD_SPF_PTR && !uses_p_macro(t->domain_spec))
			continue;
		int seen = 0;
		for (size_t k = 0; k < *n && !seen; k++)
			seen = (*refs)[k].term && (*refs)[k].domain &&
			    strcmp((*refs)[k].term, t->text) == 0 &&
			    sd_name_eq((*refs)[k].domain, domain);
		if (seen || *n == SD_SPF_PTR_TERMS_KEPT)
			continue;
		if (!*refs) {
			*refs = calloc(SD_SPF_PTR_TERMS_KEPT, sizeof **refs);
			if (!*refs)
				return -1;
		}
		sd_spf_term_ref *ref = &(*refs)[(*n)++];
		if (dup_term(&ref->term, &ref->domain, t->text, domain))
			return -1;
	}
	return 0;
}

static void free_term_refs(sd_spf_term_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(refs[i].term);
		free(refs[i].domain);
	}
}

/*
 * Fetches the SPF record of `domain`.  Returns SD_SPF_PASS with *rec set,
 * or the result to give (none, temperror, permerror) with the problem set.
 */
static sd_spf_code fetch_record(ev *e, const char *domain, int top,
    sd_spf_record **rec)
{
	*rec = NULL;
	sd_dns_answer a;
	sd_dns_status st = query(e, domain, SD_DNS_TXT, "record", &a);
	if (is_failure(st)) {
		sd_dns_answer_clear(&a);
		set_problem(e, "lookup_failed",
		    "the TXT lookup of %s failed (%s)", domain,
		    status_text(st));
		trace(e, "TXT %s: lookup failed (%s) -> temperror", domain,
		    status_text(st));
		return SD_SPF_TEMPERROR;
	}
	size_t n_txt = count_type(&a, SD_DNS_TXT), n_spf = 0;
	const sd_dns_rr *spf = NULL;
	for (size_t i = 0; i < a.n_rr; i++) {
		const sd_dns_rr *rr = &a.rr[i];
		if (rr->type == SD_DNS_TXT && rr->text &&
		    sd_spf_is_record(rr->text, rr->text_len)) {
			n_spf++;
			spf = rr;
		}
	}
	if (n_spf == 0) {
		sd_dns_answer_clear(&a);
		if (n_txt == 0) {
			set_problem(e, "no_record",
			    "%s has no SPF record (no TXT records: "
			    "%s)", domain, status_text(st));
			trace(e, "TXT %s: none (%s) -> no SPF record", domain,
			    status_text(st));
		} else {
			set_problem(e, "no_record",
			    "%s has no SPF record (%zu TXT "
			    "record%s, none starting with \"v=spf1\")", domain,
			    n_txt, n_txt == 1 ? "" : "s");
			trace(e, "TXT %s: %zu record%s, none is SPF (\"v=spf1\" "
			    "and a space) -> no SPF record", domain, n_txt,
			    n_txt == 1 ? "" : "s");
		}
		return SD_SPF_NONE;
	}
	if (n_spf > 1) {
		sd_dns_answer_clear(&a);
		set_problem(e, "multiple_records",
		    "%s has %zu SPF records; exactly one is allowed "
		    "(RFC 7208 section 4.5)", domain, n_spf);
		trace(e, "TXT %s: %zu SPF records -> permerror", domain, n_spf);
		return SD_SPF_PERMERROR;
	}
	char *clean = sd_spfi_clean(spf->text, spf->text_len, SPF_QUOTE_MAX);
	trace(e, "TXT %s: \"%s\"", domain, clean ? clean : "?");
	free(clean);
	if (top && !e->out->record) {
		e->out->record = sd_spfi_clean(spf->text, spf->text_len,
		    SD_SPF_RECORD_SHOWN_MAX);
		if (!e->out->record)
			e->oom = 1;
	}
	char err[400];
	int rc = sd_spf_parse(spf->text, spf->text_len, rec, err, sizeof err);
	sd_dns_answer_clear(&a);
	if (rc == -2) {
		e->oom = 1;
		set_problem(e, "no_memory", "out of memory");
		return SD_SPF_TEMPERROR;
	}
	if (rc != 0) {
		set_problem(e, "syntax",
		    "the SPF record of %s has a syntax error: %s",
		    domain, err);
		trace(e, "syntax error: %s -> permerror", err);
		return SD_SPF_PERMERROR;
	}
	return SD_SPF_PASS;
}

static sd_spf_code check_host(ev *e, const char *domain, int chain,
    char **exp_out)
{
	if (e->depth > SPF_MAX_DEPTH) {
		set_problem(e, "depth",
		    "records nested deeper than %d", SPF_MAX_DEPTH);
		trace(e, "nested deeper than %d -> permerror", SPF_MAX_DEPTH);
		return SD_SPF_PERMERROR;
	}
	for (int i = 0; i < e->n_path; i++) {
		if (!sd_name_eq(e->path[i], domain))
			continue;
		/*
		 * The same domain again: evaluation from here repeats what is
		 * already under way, so it could only end at the lookup limit.
		 */
		sd_spfi_buf b = { .max = 800 };
		for (int j = i; j < e->n_path; j++)
			sd_spfi_buf_printf(&b, "%s -> ", e->path[j]);
		sd_spfi_buf_adds(&b, domain);
		set_problem(e, "loop",
		    "a loop of include/redirect: %s", b.p ? b.p :
		    domain);
		trace(e, "%s is already being evaluated (%s): a loop -> "
		    "permerror", domain, b.p ? b.p : "");
		sd_spfi_buf_free(&b);
		return SD_SPF_PERMERROR;
	}
	sd_spf_record *rec;
	sd_spf_code r = fetch_record(e, domain, e->depth == 0, &rec);
	if (r != SD_SPF_PASS)
		return r;
	if (keep_ptr_terms(&e->out->ptr_terms, &e->out->n_ptr_terms, rec,
	    domain))
		e->oom = 1;
	e->path[e->n_path++] = domain;
	r = eval_record(e, rec, domain, chain, exp_out);
	e->n_path--;
	sd_spf_record_free(rec);
	return r;
}

static sd_spf_code eval_record(ev *e, const sd_spf_record *rec,
    const char *domain, int chain, char **exp_out)
{
	sd_spf_code r;

	const sd_spf_term *decided = NULL;
	r = SD_SPF_NEUTRAL;
	int matched = 0;
	for (size_t i = 0; i < rec->n_terms && !matched; i++) {
		const sd_spf_term *t = &rec->terms[i];
		if (t->kind >= SD_SPF_REDIRECT)
			continue;
		if (is_lookup_term(t->kind) && count_lookup(e, t, domain)) {
			r = SD_SPF_PERMERROR;
			decided = t;
			break;
		}
		mres m = eval_mech(e, t, domain);
		if (m == M_NOMATCH)
			continue;
		decided = t;
		if (m == M_MATCH) {
			r = qualifier_result(t->qualifier);
			matched = 1;
			set_matched(e, t, domain);
			trace(e, "\"%s\" matched in the record of %s -> %s",
			    t->text, domain, sd_spf_code_name(r));
		} else {
			r = m == M_TEMPERROR ? SD_SPF_TEMPERROR :
			    SD_SPF_PERMERROR;
			break;
		}
	}
	if (decided) {
		if (chain)
			set_decider(e, decided, domain);
	} else if (rec->redirect >= 0) {
		const sd_spf_term *t = &rec->terms[rec->redirect];
		if (count_lookup(e, t, domain)) {
			r = SD_SPF_PERMERROR;
		} else {
			char *name = NULL;
			int rc = target_name(e, t, domain, &name);
			if (rc == -2) {
				e->oom = 1;
				r = SD_SPF_TEMPERROR;
			} else if (rc == -1) {
				r = SD_SPF_PERMERROR;
			} else if (rc == 1) {
				set_problem(e, "bad_term",
				    "\"%s\" in the record of %s does "
				    "not give a usable domain name", t->text,
				    domain);
				r = SD_SPF_PERMERROR;
			} else {
				trace(e, "no mechanism matched: following %s",
				    t->text);
				e->depth++;
				r = check_host(e, name, chain, exp_out);
				e->depth--;
				if (r == SD_SPF_NONE) {
					set_problem(e, "include_none",
					    "\"%s\" in the record of "
					    "%s points at %s, which has no SPF "
					    "record", t->text, domain, name);
					trace(e, "%s: %s has no SPF record -> "
					    "permerror (RFC 7208 section 6.1)",
					    t->text, name);
					r = SD_SPF_PERMERROR;
				} else {
					trace(e, "%s gives %s", t->text,
					    sd_spf_code_name(r));
				}
			}
			free(name);
		}
		if (chain && !e->out->mechanism && (r == SD_SPF_PERMERROR ||
		    r == SD_SPF_TEMPERROR))
			set_decider(e, t, domain);
	} else {
		trace(e, "no mechanism matched in the record of %s -> neutral "
		    "(the default, RFC 7208 section 4.7)", domain);
	}

	if (r == SD_SPF_FAIL && matched && chain && exp_out &&
	    rec->exp >= 0) {
		free(*exp_out);
		*exp_out = explain(e, &rec->terms[rec->exp], domain);
	}
	return r;
}

/* --- the entry points ------------------------------------------------------ */

static void ip_strings(ev *e)
{
	addr_text(e->ip.v6, e->ip.b, e->ip_text, sizeof e->ip_text);
	if (!e->ip.v6) {
		snprintf(e->ip_dotted, sizeof e->ip_dotted, "%s", e->ip_text);
		e->ip_version = "in-addr";
		return;
	}
	/* %{i} of IPv6: 32 dot-separated nibbles (RFC 7208 §7.3).  Upper
	   case as the RFC 7208 test suite expects; DNS ignores the case. */
	static const char hex[] = "0123456789ABCDEF";
	size_t k = 0;
	for (int i = 0; i < 16; i++) {
		e->ip_dotted[k++] = hex[e->ip.b[i] >> 4];
		e->ip_dotted[k++] = '.';
		e->ip_dotted[k++] = hex[e->ip.b[i] & 15];
		e->ip_dotted[k++] = '.';
	}
	e->ip_dotted[k - 1] = '\0';
	e->ip_version = "ip6";
}

static void ev_free(ev *e)
{
	free(e->sender);
	free(e->local);
	free(e->sender_domain);
	free(e->helo);
	for (size_t i = 0; i < e->n_validated; i++)
		free(e->validated[i]);
	free(e->validated);
	free(e->p_value);
	free(e->problem);
}

/* The identity checked (RFC 7208 §2.4 and §4.3): the sender, or
 * postmaster@ the HELO name for an empty MAIL FROM, and the HELO name
 * %{h} expands to.  Returns SD_ERR_NOMEM, or SD_OK with out->problem set
 * when there is nothing to check. */
static sd_error read_identity(ev *e, const sd_spf_params *p,
    sd_spf_result *out)
{
	const char *sender = p->sender ? p->sender : "";
	const char *helo = p->helo && p->helo[0] ? p->helo : NULL;
	int null_path = sender[0] == '\0';
	const char *at = strrchr(sender, '@');
	if (null_path && !helo) {
		out->problem = strdup("no sender and no HELO name to check");
		return out->problem ? SD_OK : SD_ERR_NOMEM;
	}
	if (null_path || !at || at == sender)
		e->local = strdup("postmaster");
	else
		e->local = strndup(sender, (size_t)(at - sender));
	e->sender_domain = strdup(null_path ? helo : at ? at + 1 : sender);
	e->helo = strdup(helo ? helo : e->sender_domain ? e->sender_domain :
	    "");
	if (e->local && e->sender_domain) {
		size_t n = strlen(e->local) + strlen(e->sender_domain) + 2;
		e->sender = malloc(n);
		if (e->sender)
			snprintf(e->sender, n, "%s@%s", e->local, e->sender_domain);
	}
	out->domain = e->sender_domain ? sd_spfi_clean(e->sender_domain,
	    strlen(e->sender_domain), 300) : NULL;
	out->sender = e->sender ? sd_spfi_clean(e->sender, strlen(e->sender),
	    600) : NULL;
	out->helo = e->helo ? sd_spfi_clean(e->helo, strlen(e->helo), 300) :
	    NULL;
	out->ip = strdup(e->ip_text);
	if (!e->local || !e->sender_domain || !e->helo || !e->sender ||
	    !out->domain || !out->sender || !out->helo || !out->ip)
		return SD_ERR_NOMEM;

	trace(e, "check_host(ip=%s, domain=%s, sender=%s)", e->ip_text,
	    out->domain, out->sender);
	if (null_path)
		trace(e, "empty MAIL FROM (null reverse-path): checking "
		    "postmaster@%s, the HELO name (RFC 7208 section 2.4)",
		    out->helo);
	else if (!at)
		trace(e, "no local-part given: using postmaster@%s", out->domain);
	else if (at == sender)
		trace(e, "empty local-part: using \"postmaster\" (RFC 7208 "
		    "section 4.3)");
	if (!helo && !null_path)
		trace(e, "no HELO name given: %%{h} expands to %s", out->helo);
	return SD_OK;
}

/* The evaluation's result, explanation and problem into out, and the
 * trace's last line. */
static void give_result(ev *e, sd_spf_result *out, sd_spf_code r, char *exp)
{
	if (e->oom) {
		r = SD_SPF_TEMPERROR;
		free(exp);
		exp = NULL;
		set_problem(e, "no_memory", "out of memory");
	}
	out->result = r;
	/* a match in an include that did not match is no decision */
	if (!out->mechanism || r == SD_SPF_PERMERROR ||
	    r == SD_SPF_TEMPERROR) {
		free(out->matched);
		free(out->matched_domain);
		out->matched = out->matched_domain = NULL;
	}
	out->lookups = e->lookups;
	out->void_lookups = e->voids;
	if (r == SD_SPF_FAIL && exp) {
		make_printable(exp);
		out->explanation = exp;
	} else {
		free(exp);
	}
	if (r == SD_SPF_NONE || r == SD_SPF_TEMPERROR ||
	    r == SD_SPF_PERMERROR) {
		out->problem = e->problem;
		out->problem_class = e->problem_class;
		e->problem = NULL;
	}
	e->force_trace = 1;
	e->depth = 0;
	if (out->mechanism)
		trace(e, "result: %s, decided by \"%s\" in the record of %s",
		    sd_spf_code_name(r), out->mechanism, out->mechanism_domain);
	else
		trace(e, "result: %s%s%s", sd_spf_code_name(r),
		    out->problem ? ": " : "", out->problem ? out->problem : "");
}

sd_error sd_spf_check(sd_resolver *res, const sd_spf_params *p,
    sd_spf_result *out)
{
	ev e;
	memset(&e, 0, sizeof e);
	e.res = res;
	e.out = out;
	e.deadline = p->deadline_ms;
	e.receiver = p->receiver;
	e.now = p->now ? p->now : (long long)time(NULL);
	out->result = SD_SPF_NONE;

	if (!p->ip || sd_spf_parse_ip(p->ip, &e.ip) != 0) {
		out->problem = sd_spfi_clean(p->ip ? p->ip : "",
		    p->ip ? strlen(p->ip) : 0, 100);
		sd_spfi_buf b = { .max = 300 };
		sd_spfi_buf_printf(&b, "not an IP address: \"%s\"",
		    out->problem ? out->problem : "");
		free(out->problem);
		out->problem = sd_spfi_buf_take(&b);
		return SD_ERR_USAGE;
	}
	ip_strings(&e);
	sd_error err = read_identity(&e, p, out);
	if (err != SD_OK || out->problem) {
		ev_free(&e);
		if (err != SD_OK)
			out->result = SD_SPF_TEMPERROR;
		return err;
	}

	const char *bad = check_initial_domain(e.sender_domain);
	char *exp = NULL;
	sd_spf_code r;
	if (bad) {
		set_problem(&e, "bad_domain", "%s is not a domain SPF can check: "
		    "%s (RFC 7208 section 4.3)", out->domain, bad);
		trace(&e, "%s: %s -> none (RFC 7208 section 4.3)", out->domain,
		    bad);
		r = SD_SPF_NONE;
	} else {
		r = check_host(&e, e.sender_domain, 1, &exp);
	}
	give_result(&e, out, r, exp);
	int oom = e.oom;
	ev_free(&e);
	return oom ? SD_ERR_NOMEM : SD_OK;
}

sd_error sd_spf_eval(sd_resolver *res, const char *ip, const char *sender,
    const char *helo, int64_t deadline_ms, sd_spf_result *out)
{
	sd_spf_params p = {
		.ip = ip, .sender = sender, .helo = helo,
		.deadline_ms = deadline_ms,
	};
	return sd_spf_check(res, &p, out);
}

void sd_spf_result_clear(sd_spf_result *r)
{
	if (!r)
		return;
	free(r->explanation);
	free(r->problem);
	free(r->mechanism);
	free(r->mechanism_domain);
	free(r->matched);
	free(r->matched_domain);
	free_term_refs(r->ptr_terms, r->n_ptr_terms);
	free(r->ptr_terms);
	free(r->domain);
	free(r->sender);
	free(r->helo);
	free(r->ip);
	free(r->record);
	for (size_t i = 0; i < r->n_trace; i++)
		free(r->trace[i]);
	free(r->trace);
	for (size_t i = 0; i < r->n_dns; i++) {
		free(r->dns[i].name);
		free(r->dns[i].purpose);
		for (size_t j = 0; j < r->dns[i].n_answers; j++)
			free(r->dns[i].answers[j]);
		free(r->dns[i].answers);
	}
	free(r->dns);
	memset(r, 0, sizeof *r);
}

/* --- lookup count of a record tree ----------------------------------------- */

typedef struct tree_walk {
	sd_resolver *res;
	int64_t deadline;
	sd_spf_tree *out;
	size_t trace_cap;
	int trace_full, oom;
	const char *path[SPF_TREE_MAX_RECORDS + 1];
	int depth;
	/* the include: term of the checked chain being followed, and the
	   domain whose record holds it; NULL in the chain itself */
	const char *via_term, *via_domain;
} tree_walk;

static void tree_trace(tree_walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tree_trace(tree_walk *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	trace_add(&w->out->trace, &w->out->n_trace, &w->trace_cap,
	    &w->trace_full, &w->oom, w->depth, 0, fmt, ap);
	va_end(ap);
}

static void tree_fail(tree_walk *w, sd_spf_code c, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void tree_fail(tree_walk *w, sd_spf_code c, const char *fmt, ...)
{
	if (w->out->status != SD_SPF_PASS)
		return;   /* keep the first problem */
	w->out->status = c;
	sd_spfi_buf b = { .max = 1000 };
	va_list ap;
	va_start(ap, fmt);
	sd_spfi_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	w->out->problem = sd_spfi_buf_take(&b);
	if (!w->out->problem)
		w->oom = 1;
	make_printable(w->out->problem);
}

static unsigned tree_visit(tree_walk *w, const char *domain, const char *via,
    unsigned reach);

/* A term that opens the policy to every address of `families` that
 * reached it; kept once per family. */
static void tree_open(tree_walk *w, const sd_spf_term *t, const char *domain,
    unsigned families)
{
	sd_spf_tree *o = w->out;
	for (size_t i = 0; i < o->n_open; i++)
		families &= ~o->open[i].families;
	if (!families || o->n_open == sizeof o->open / sizeof o->open[0])
		return;
	sd_spf_open_term *ot = &o->open[o->n_open++];
	ot->families = families;
	if (dup_term(&ot->at.term, &ot->at.domain, t->text, domain) ||
	    (w->via_term && dup_term(&ot->via.term, &ot->via.domain,
	    w->via_term, w->via_domain)))
		w->oom = 1;
}

/*
 * Follows the include and redirect targets of one record and returns the
 * families it gives pass for whatever the address.  `reach`: the families
 * whose addresses get here undecided along terms that pass on a match
 * (a redirect, a "+" include); an "all" or /0 term with "+" among them
 * opens the checked domain's policy.  Terms after "all" are never
 * evaluated, but their lookups are still counted.
 */
static unsigned tree_terms(tree_walk *w, const sd_spf_record *rec,
    const char *domain, unsigned reach)
{
	sd_spf_tree *o = w->out;
	unsigned left = SD_SPF_WIDE_V4 | SD_SPF_WIDE_V6, passes = 0;
	for (size_t i = 0; i < rec->n_terms; i++) {
		const sd_spf_term *t = &rec->terms[i];
		unsigned wide = sd_spf_term_wide(t) & left;
		if (sd_spf_term_wide(t) & SD_SPF_WIDE_IF_NAME)
			wide = 0;   /* a/0, mx/0: only a lookup tells */
		if (wide && t->qualifier == '+') {
			passes |= wide;
			tree_open(w, t, domain, wide & reach);
		}
		left &= ~wide;
		int include = t->kind == SD_SPF_INCLUDE;
		if (!include && !(t->kind == SD_SPF_REDIRECT && !rec->has_all))
			continue;
		if (strchr(t->domain_spec, '%')) {
			o->n_macro_targets++;
			tree_trace(w, "%s: holds macros; not followed", t->text);
			continue;
		}
		char *name = strdup(t->domain_spec);
		if (!name) {
			w->oom = 1;
			break;
		}
		if (prepare_name(name)) {
			tree_fail(w, SD_SPF_PERMERROR, "\"%s\" in the record "
			    "of %s is not a usable domain name", t->text,
			    domain);
			free(name);
			continue;
		}
		/* the include: of the checked chain names what it reaches */
		int chain = include && !w->via_term;
		if (chain) {
			w->via_term = t->text;
			w->via_domain = domain;
		}
		w->depth++;
		unsigned sub = tree_visit(w, name, t->text, include &&
		    t->qualifier != '+' ? 0 : reach & left);
		w->depth--;
		if (chain)
			w->via_term = w->via_domain = NULL;
		free(name);
		/* an include matches where its record passes; a redirect's
		 * record gives the result */
		if (!include || t->qualifier == '+')
			passes |= sub & left;
		if (include)
			left &= ~sub;
	}
	return passes;
}

static unsigned tree_visit(tree_walk *w, const char *domain, const char *via,
    unsigned reach)
{
	sd_spf_tree *o = w->out;
	for (int i = 0; i < w->depth; i++) {
		if (sd_name_eq(w->path[i], domain)) {
			tree_fail(w, SD_SPF_PERMERROR, "a loop: %s leads back "
			    "to %s", via, domain);
			tree_trace(w, "%s: loop back to %s", via, domain);
			return 0;
		}
	}
	if (o->n_records >= SPF_TREE_MAX_RECORDS) {
		tree_fail(w, SD_SPF_PERMERROR, "more than %d records in the "
		    "tree", SPF_TREE_MAX_RECORDS);
		return 0;
	}
	if (sd_now_ms() >= w->deadline) {
		w->out->timed_out = 1;
		tree_fail(w, SD_SPF_TEMPERROR, "the deadline passed before "
		    "%s was looked up", domain);
		return 0;
	}
	sd_dns_answer a;
	memset(&a, 0, sizeof a);
	sd_dns_status st = sd_dns_query(w->res, domain, SD_DNS_TXT,
	    w->deadline, &a);
	if (is_failure(st)) {
		w->out->timed_out = st == SD_DNS_TIMEOUT;
		tree_fail(w, SD_SPF_TEMPERROR, "the TXT lookup of %s failed "
		    "(%s)", domain, status_text(st));
		tree_trace(w, "TXT %s: lookup failed (%s)", domain,
		    status_text(st));
		sd_dns_answer_clear(&a);
		return 0;
	}
	const sd_dns_rr *spf = NULL;
	size_t n_spf = 0;
	for (size_t i = 0; st == SD_DNS_OK && i < a.n_rr; i++) {
		if (a.rr[i].type == SD_DNS_TXT && a.rr[i].text &&
		    sd_spf_is_record(a.rr[i].text, a.rr[i].text_len)) {
			spf = &a.rr[i];
			n_spf++;
		}
	}
	if (n_spf != 1) {
		if (n_spf > 1)
			tree_fail(w, SD_SPF_PERMERROR, "%s has %zu SPF records",
			    domain, n_spf);
		else if (w->depth == 0)
			tree_fail(w, SD_SPF_NONE, "%s has no SPF record",
			    domain);
		else
			tree_fail(w, SD_SPF_PERMERROR, "%s points at %s, "
			    "which has no SPF record", via, domain);
		tree_trace(w, "TXT %s: %zu SPF records", domain, n_spf);
		sd_dns_answer_clear(&a);
		return 0;
	}
	char *clean = sd_spfi_clean(spf->text, spf->text_len, SPF_QUOTE_MAX);
	if (w->depth == 0)
		o->record = sd_spfi_clean(spf->text, spf->text_len,
		    SD_SPF_RECORD_SHOWN_MAX);
	sd_spf_record *rec = NULL;
	char err[400];
	int rc = sd_spf_parse(spf->text, spf->text_len, &rec, err, sizeof err);
	sd_dns_answer_clear(&a);
	o->n_records++;
	if (rc != 0) {
		if (rc == -2)
			w->oom = 1;
		tree_fail(w, SD_SPF_PERMERROR, "the SPF record of %s has a "
		    "syntax error: %s", domain, rc == -2 ? "out of memory" :
		    err);
		tree_trace(w, "%s: \"%s\": syntax error", domain,
		    clean ? clean : "?");
		free(clean);
		return 0;
	}
	o->lookup_terms += rec->lookup_terms;
	o->n_ptr += rec->n_ptr;
	if (keep_ptr_terms(&o->ptr_terms, &o->n_ptr_terms, rec, domain))
		w->oom = 1;
	tree_trace(w, "%s: \"%s\": %u DNS-querying term%s", domain,
	    clean ? clean : "?", rec->lookup_terms,
	    rec->lookup_terms == 1 ? "" : "s");
	free(clean);
	w->path[w->depth] = domain;
	unsigned passes = tree_terms(w, rec, domain, reach);
	sd_spf_record_free(rec);
	return passes;
}

sd_error sd_spf_count_lookups(sd_resolver *res, const char *domain,
    int64_t deadline_ms, sd_spf_tree *out)
{
	tree_walk w;
	memset(&w, 0, sizeof w);
	w.res = res;
	w.deadline = deadline_ms;
	w.out = out;
	out->status = SD_SPF_PASS;
	const char *bad = check_initial_domain(domain ? domain : "");
	if (bad) {
		tree_fail(&w, SD_SPF_NONE, "not a domain SPF can check: %s",
		    bad);
		return w.oom ? SD_ERR_NOMEM : SD_OK;
	}
	tree_visit(&w, domain, domain, SD_SPF_WIDE_V4 | SD_SPF_WIDE_V6);
	if (out->status == SD_SPF_PASS)
		tree_trace(&w, "%u DNS-querying terms in %u record%s%s",
		    out->lookup_terms, out->n_records,
		    out->n_records == 1 ? "" : "s",
		    out->lookup_terms > SD_SPF_MAX_LOOKUP_TERMS ?
		    ": over the limit of 10" : "");
	return w.oom ? SD_ERR_NOMEM : SD_OK;
}

void sd_spf_tree_clear(sd_spf_tree *t)
{
	if (!t)
		return;
	free(t->problem);
	free(t->record);
	free_term_refs(t->ptr_terms, t->n_ptr_terms);
	free(t->ptr_terms);
	for (size_t i = 0; i < t->n_open; i++) {
		free_term_refs(&t->open[i].at, 1);
		free_term_refs(&t->open[i].via, 1);
	}
	for (size_t i = 0; i < t->n_trace; i++)
		free(t->trace[i]);
	free(t->trace);
	memset(t, 0, sizeof *t);
}
