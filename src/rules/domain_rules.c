/*
 * The rules of `domain`: facts -> findings -> one verdict.  Each rule reads
 * the facts of one check (their "check" member names it) and adds
 * candidate findings; the verdict is the first candidate in precedence
 * order.  Findings of passing checks are "info" with codes of their own
 * (info.*), listed in docs/domain.md.
 */
#include "rules/domain_rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/dmarc.h"
#include "mailauth/spf.h"
#include "probe/domain_records.h"
#include "report/facts.h"
#include "rules/judge.h"
#include "rules/spf_rules.h"
#include "util/util.h"

const char *const sd_domain_verdict_order[] = {
	"dns.resolution_failed",      /* nothing can be judged, nor resolved */
	"reputation.ip_listed",       /* refused at connect, whatever else */
	"reputation.domain_listed",
	"dns.mx_missing",             /* the domain cannot receive replies */
	"dns.dmarc_reject_unaligned", /* proven: this mail is refused */
	"dns.spf_permerror",
	"dns.spf_fail",
	"dns.spf_missing",
	"dns.dkim_invalid",
	"dns.dkim_missing",
	"dns.dmarc_invalid",
	"dns.ptr_missing",
	"dns.fcrdns_mismatch",
	"dns.dane_mismatch",          /* inbound: DANE senders cannot deliver */
	"dns.dmarc_missing",
	"dns.inconsistent",
	"reputation.dnsbl_refused",
	"dns.mta_sts_invalid",
	"dns.tlsrpt_invalid",
	NULL,
};

typedef struct judge {
	sd_report *r;
	sd_judge k;           /* the candidates */
	json_t *unfinished;   /* checks the deadline cut short */
	const char *domain;
	int resolver_dead;    /* no lookup answered at all */
	int names_dead;       /* the domain's name servers answer nothing */
	int validating;       /* DNSSEC trust anchors were configured */
	json_t *spf_tree;     /* "domain.spf", while rule_spf runs */
	json_t *spf_evals;    /* the SPF evaluation facts, one per --ip */
} judge;

/* ---- fact access ---- */

/* Typed reads, checked against the schema in test builds (facts.h). */
#define str sd_fact_str
#define is sd_fact_is
#define yes sd_fact_bool
#define num sd_fact_int

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* The answer says something (yes or no): not a failed lookup. */
static int answered(const char *status)
{
	return strcmp(status, "ok") == 0 || strcmp(status, "nxdomain") == 0 ||
	    strcmp(status, "nodata") == 0;
}

static json_t *fact_of(judge *j, const char *id)
{
	return sd_fact_get(j->r->facts, id);
}

/* The fact's id and the ids it names as evidence. */
static json_t *ev_of(const json_t *f)
{
	json_t *ev = json_array();
	if (!f)
		return ev;
	json_array_append_new(ev, json_string(str(f, "id")));
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(f, "evidence"), i, e)
		if (json_is_string(e))
			json_array_append(ev, e);
	return ev;
}

/* Appends the ids of `more` to `ev`; steals `more`. */
static void ev_join(json_t *ev, json_t *more)
{
	json_array_extend(ev, more);
	json_decref(more);
}

static json_t *fixes(const char *a, const char *b)
{
	json_t *arr = json_array();
	if (a)
		json_array_append_new(arr, json_string(a));
	if (b)
		json_array_append_new(arr, json_string(b));
	return arr;
}

static void unfinished(judge *j, const char *what)
{
	size_t i;
	json_t *e;
	json_array_foreach(j->unfinished, i, e)
		if (strcmp(json_string_value(e), what) == 0)
			return;
	json_array_append_new(j->unfinished, json_string(what));
}

/* Joins the strings of an array: "a, b, c" (or `none`). */
static void join(char *out, size_t len, const json_t *arr, const char *none)
{
	size_t i, o = 0;
	json_t *e;
	out[0] = '\0';
	json_array_foreach(arr, i, e) {
		const char *s = json_string_value(e);
		if (!s)
			continue;
		int n = snprintf(out + o, len - o, "%s%s", o ? ", " : "", s);
		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
	if (!out[0])
		snprintf(out, len, "%s", none);
}

/* Proposes a candidate finding (sd_judge_add). */
#define add(j, ...) sd_judge_add(&(j)->k, __VA_ARGS__)

#define FOREACH_CHECK(j, name, f) \
	for (size_t _i = 0; _i < json_array_size((j)->r->facts); _i++) \
		if (((f) = json_array_get((j)->r->facts, _i)) && \
		    is((f), "kind", (name)))

/* ---- lookups: failures of the resolver itself ---- */

/* A lookup through the run's resolver (not one asked of an authoritative
 * server directly, "ns.<address>.dns..."). */
static int by_resolver(const json_t *f)
{
	return !has_prefix(str(f, "id"), "ns.");
}

/* A lookup of a name at or below the domain, through the resolver. */
static int of_domain(judge *j, const json_t *f)
{
	return by_resolver(f) && sd_name_under(str(f, "name"), j->domain);
}

/* A name outside the domain the same resolver answered in this run:
 * check's lookups of its server (stage "dns"), the sending addresses'
 * PTR names, the lists' zones, the control lookup (probe/domain.h).  Then
 * the resolver is alive, whatever the domain's own lookups did. */
static const json_t *answered_elsewhere(judge *j)
{
	json_t *f;
	FOREACH_CHECK(j, "dns", f)
		if (is(f, "stage", "dns") && is(f, "status", "ok"))
			return f;
	FOREACH_CHECK(j, "lookup", f)
		if (by_resolver(f) && !of_domain(j, f) &&
		    answered(str(f, "status")))
			return f;
	return NULL;
}

/* What the answer that shows the resolver alive was for. */
static const char *alive_name(const json_t *alive)
{
	if (is(alive, "kind", "dns"))
		return str(alive, "host");
	if (is(alive, "id", "domain.control"))
		return "the root zone's name servers";
	return str(alive, "name");
}

/* Appends "TYPE name" of a failed lookup to the list in `out`. */
static void list_lookup(char *out, size_t len, const char *type,
    const char *name, const char *what)
{
	size_t o = strlen(out);
	if (o + 1 < len)
		snprintf(out + o, len - o, "%s%s %s%s", o ? ", " : "", type, name,
		    what);
}

/* No lookup of the domain answered (each timed out or failed: SERVFAIL,
 * REFUSED) while the resolver answered others: the domain's name servers
 * do not answer for it (dead, firewalled, lame, a delegation to the wrong
 * address).  One finding names the lookups, the SPF and DMARC ones first;
 * its evidence (`ids`, stolen) gets those and the answer that shows the
 * resolver alive. */
static void names_unanswered(judge *j, json_t *ids, const json_t *alive,
    int all_timeouts)
{
	char names[900] = "";
	const json_t *spf = fact_of(j, "domain.spf");
	const json_t *dmarc = fact_of(j, "domain.dmarc");
	if (spf && is(spf, "status", "temperror")) {
		list_lookup(names, sizeof names, "TXT", j->domain, " (SPF)");
		json_array_append_new(ids, json_string(str(spf, "id")));
	}
	if (dmarc && is(dmarc, "found", "lookup_failed")) {
		char name[300];
		snprintf(name, sizeof name, "_dmarc.%s", j->domain);
		list_lookup(names, sizeof names, "TXT", name, " (DMARC)");
		json_array_append_new(ids, json_string(str(dmarc, "id")));
	}
	json_t *f;
	FOREACH_CHECK(j, "lookup", f)
		if (of_domain(j, f) && !answered(str(f, "status")))
			list_lookup(names, sizeof names, str(f, "type"),
			    str(f, "name"), "");
	json_array_append_new(ids, json_string(str(alive, "id")));
	j->names_dead = 1;
	char fix[400];
	snprintf(fix, sizeof fix, "check the name servers of %s (its NS "
	    "records at the parent zone, and what answers at their "
	    "addresses): each must answer for the domain on port 53, over UDP "
	    "and TCP", j->domain);
	add(j, "dns.resolution_failed", SD_SEV_ERROR, j->domain, ids,
	    fixes(fix, NULL), "%s of %s %s (%s), while the same resolver "
	    "answered for %s: the domain's name servers do not answer",
	    all_timeouts ? "no lookup" : "every lookup", j->domain,
	    all_timeouts ? "was answered before the deadline" :
	    "failed with SERVFAIL or no answer", names, alive_name(alive));
}

/* No lookup of the domain has an answer, nor a bogus one. */
static int nothing_answered(judge *j)
{
	json_t *f;
	size_t total = 0;
	FOREACH_CHECK(j, "lookup", f) {
		if (!of_domain(j, f))
			continue;
		if (answered(str(f, "status")) || is(f, "status", "bogus"))
			return 0;
		total++;
	}
	return total > 0;
}

/* Nothing of the domain answered and no other name either: the control
 * lookup `domain` asks then (probe/domain.h), when it failed too.  Then
 * the resolver itself fails, even for the root zone's name servers every
 * resolver has.  A control whose turn came after its deadline was never
 * asked, and shows nothing. */
static const json_t *control_failed(judge *j)
{
	const json_t *control = fact_of(j, "domain.control");
	return control && !answered(str(control, "status")) &&
	    !json_is_false(json_object_get(control, "asked")) ? control : NULL;
}

static void resolver_fails(judge *j, json_t *ids, size_t total,
    size_t timeouts, const json_t *control)
{
	j->resolver_dead = 1;
	char also[200] = "";
	if (control)
		snprintf(also, sizeof also, ", not even the root zone's name "
		    "servers (NS .), which every resolver has");
	add(j, "dns.resolution_failed", SD_SEV_ERROR, "resolver", ids,
	    fixes("check the resolver: is it reachable over UDP and TCP port "
	    "53 (see --resolver, or /etc/resolv.conf)?", NULL),
	    "the resolver answered none of %zu queries%s%s", total,
	    timeouts == total ? " before the deadline" : "", also);
}

static void rule_lookups(judge *j)
{
	json_t *f;
	size_t total = 0, ok = 0, timeouts = 0, own = 0, own_timeouts = 0;
	json_t *failed = json_array();   /* the evidence of the one cause */
	/* healthy runs stop at their first answer of the domain */
	int blind = nothing_answered(j);
	const json_t *alive = blind ? answered_elsewhere(j) : NULL;
	const json_t *control = blind && !alive ? control_failed(j) : NULL;
	int dead_names = alive != NULL;
	FOREACH_CHECK(j, "lookup", f) {
		const char *id = str(f, "id");
		if (!by_resolver(f) || !is(f, "stage", "domain"))
			continue;   /* the servers' own and the lists' answers */
		if (is(f, "id", "domain.control") &&
		    json_is_false(json_object_get(f, "asked")))
			continue;   /* never asked: it says nothing */
		total++;
		const char *st = str(f, "status");
		int timeout = strcmp(st, "timeout") == 0;
		char subject[320];
		snprintf(subject, sizeof subject, "%s", str(f, "name"));
		if (answered(st)) {
			ok++;
		} else if (strcmp(st, "bogus") == 0) {
			add(j, "dns.resolution_failed", SD_SEV_ERROR, subject,
			    ev_of(f), fixes("re-sign the zone or correct the DS "
			    "record at the parent zone; until then, validating "
			    "receivers cannot resolve these names", NULL),
			    "DNSSEC validation of %s (%s) fails (bogus: %s): "
			    "validating receivers treat the name as unresolvable",
			    subject, str(f, "type"), json_object_get(f,
			    "why_bogus") ? str(f, "why_bogus") :
			    "no reason given");
		} else if (timeout || control || (dead_names &&
		    of_domain(j, f))) {
			timeouts += timeout;
			if (of_domain(j, f)) {
				own++;
				own_timeouts += timeout;
			}
			json_array_append_new(failed, json_string(id));
		} else {
			add(j, "dns.resolution_failed", SD_SEV_ERROR, subject,
			    ev_of(f), fixes("check the domain's authoritative "
			    "servers: each must answer for the name (look for "
			    "lame delegation or a broken zone)", NULL),
			    "the lookup of %s (%s) failed (%s): the answer says "
			    "nothing, and receivers that see the same defer or "
			    "refuse the mail", subject, str(f, "type"), st);
		}
	}
	if (dead_names) {
		names_unanswered(j, failed, alive, own_timeouts == own);
		return;
	}
	if (control || (timeouts && !ok)) {
		resolver_fails(j, failed, total, timeouts, control);
		return;
	}
	json_decref(failed);
	if (timeouts)
		unfinished(j, "some DNS lookups");
}

/* ---- MX ---- */

static void rule_mx(judge *j)
{
	json_t *mx = fact_of(j, "domain.mx");
	if (!mx) {
		unfinished(j, "MX");
		return;
	}
	const char *st = str(mx, "status");
	if (!answered(st))
		return;   /* rule_lookups says why */
	if (strcmp(st, "ok") != 0) {
		json_t *fb = json_object_get(mx, "fallback");
		if (json_array_size(json_object_get(fb, "addresses"))) {
			add(j, "info.mx_implicit", SD_SEV_INFO, j->domain, ev_of(mx),
			    NULL, "%s has no MX record: mail for it goes to its "
			    "own address (implicit MX, RFC 5321 section 5.1)",
			    j->domain);
			return;
		}
		int nx = strcmp(st, "nxdomain") == 0;
		char fix[400];
		snprintf(fix, sizeof fix, "publish an MX record for %s naming "
		    "the host that receives its mail (for example "
		    "'%s. MX 10 mail.%s.')", j->domain, j->domain, j->domain);
		add(j, "dns.mx_missing", SD_SEV_ERROR, j->domain, ev_of(mx),
		    fixes(fix, NULL), nx ? "%s does not exist in DNS: receivers "
		    "refuse mail from a domain that does not resolve" :
		    "%s has no MX record and no address: it cannot receive "
		    "replies or bounces, and receivers refuse mail from it",
		    j->domain);
		return;
	}
	if (yes(mx, "null_mx")) {
		char fix[300];
		snprintf(fix, sizeof fix, "remove the null MX ('0 .') of %s and "
		    "publish the hosts that receive its mail", j->domain);
		add(j, "dns.mx_missing", SD_SEV_ERROR, j->domain, ev_of(mx),
		    fixes(fix, NULL), "%s publishes a null MX (RFC 7505): it "
		    "says it accepts no mail, and receivers refuse mail from "
		    "it", j->domain);
		return;
	}
	json_t *hosts = json_object_get(mx, "hosts");
	size_t n = json_array_size(hosts), usable = 0, unknown = 0;
	char *why[64] = { 0 };
	json_t *h;
	size_t i;
	json_array_foreach(hosts, i, h) {
		if (i >= 64)
			break;
		const char *host = str(h, "host");
		char buf[600];
		if (yes(h, "literal")) {
			snprintf(buf, sizeof buf, "MX host %s is an address, "
			    "not a name: senders look it up as a name and fail",
			    host);
			why[i] = strdup(buf);
			continue;
		}
		char id[400];
		snprintf(id, sizeof id, "domain.mx_host.%s", host);
		json_t *hf = fact_of(j, id);
		if (!hf) {
			unknown++;
			unfinished(j, "MX host addresses");
			continue;
		}
		const char *a = str(hf, "a"), *aaaa = str(hf, "aaaa");
		if (json_is_string(json_object_get(hf, "cname"))) {
			snprintf(buf, sizeof buf, "MX host %s is an alias (CNAME "
			    "to %s); RFC 5321 section 5.1 requires the real "
			    "name", host, str(hf, "cname"));
			why[i] = strdup(buf);
		} else if (json_array_size(json_object_get(hf, "addresses"))) {
			usable++;
		} else if (answered(a) && answered(aaaa)) {
			snprintf(buf, sizeof buf, "MX host %s has no address "
			    "(A %s, AAAA %s)", host, a, aaaa);
			why[i] = strdup(buf);
		} else {
			unknown++;
		}
	}
	int all_bad = usable == 0 && unknown == 0;
	json_array_foreach(hosts, i, h) {
		if (i >= 64 || !why[i])
			continue;
		char id[400];
		snprintf(id, sizeof id, "domain.mx_host.%s", str(h, "host"));
		json_t *ev = ev_of(mx);
		json_t *hf = fact_of(j, id);
		if (hf)
			ev_join(ev, ev_of(hf));
		char fix[500];
		snprintf(fix, sizeof fix, "point the MX of %s at a host name "
		    "with its own A/AAAA records (not a CNAME, not an "
		    "address)", j->domain);
		if (all_bad)
			add(j, "dns.mx_missing", SD_SEV_ERROR, str(h, "host"), ev,
			    fixes(fix, NULL), "%s has no usable MX: %s",
			    j->domain, why[i]);
		else
			add(j, "dns.mx_host_unusable", SD_SEV_WARN, str(h, "host"),
			    ev, fixes(fix, NULL), "%s", why[i]);
		free(why[i]);
	}
	if (usable && usable == n)
		add(j, "info.mx_ok", SD_SEV_INFO, j->domain, ev_of(mx), NULL,
		    "%s has %zu MX host%s, each with an address", j->domain,
		    usable, usable == 1 ? "" : "s");
}

/* ---- SPF ---- */

char *sd_domain_spf_add_term(const char *record, const char *term)
{
	if (!record || !sd_strncaseeq(record, "v=spf1", 6) ||
	    (record[6] && record[6] != ' '))
		return NULL;
	size_t rl = strlen(record), tl = strlen(term);
	char *out = malloc(rl + tl + 3);
	if (!out)
		return NULL;
	/* before the first "all" (with any qualifier) or redirect= */
	const char *p = record + 6, *at = NULL;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *t = p;
		while (*p && *p != ' ')
			p++;
		const char *m = t;
		if (*m == '+' || *m == '-' || *m == '~' || *m == '?')
			m++;
		if (((size_t)(p - m) == 3 && sd_strncaseeq(m, "all", 3)) ||
		    ((size_t)(p - t) > 9 && sd_strncaseeq(t, "redirect=", 9))) {
			at = t;
			break;
		}
	}
	if (at) {
		size_t head = (size_t)(at - record);
		memcpy(out, record, head);
		memcpy(out + head, term, tl);
		out[head + tl] = ' ';
		memcpy(out + head + tl + 1, at, rl - head + 1);
	} else {
		size_t n = rl;
		while (n && record[n - 1] == ' ')
			n--;
		memcpy(out, record, n);
		out[n] = ' ';
		memcpy(out + n + 1, term, tl + 1);
	}
	return out;
}

static const char *ip_term_prefix(const char *ip)
{
	return strchr(ip, ':') ? "ip6:" : "ip4:";
}

/* "v=spf1 ip4:a ip6:b ~all" for the sending addresses, or with mx. */
static char *proposed_spf(judge *j)
{
	json_t *in = fact_of(j, "domain.inputs");
	json_t *ips = json_object_get(in, "ips");
	char rec[1200] = "v=spf1";
	size_t o = strlen(rec), i;
	json_t *e;
	if (!yes(in, "ips_are_own"))
		json_array_foreach(ips, i, e) {
			const char *ip = json_string_value(e);
			int n = snprintf(rec + o, sizeof rec - o, " %s%s",
			    ip_term_prefix(ip), ip);
			if (n < 0 || (size_t)n >= sizeof rec - o)
				break;
			o += (size_t)n;
		}
	if (o == 6)
		snprintf(rec + o, sizeof rec - o, " mx");
	o = strlen(rec);
	snprintf(rec + o, sizeof rec - o, " ~all");
	return strdup(rec);
}

/* The domain's own SPF record: missing, broken, over the lookup limit. */
static void rule_spf_record(judge *j, json_t *t)
{
	char fix[1600];
	if (!t) {
		unfinished(j, "SPF record");
		return;
	}
	const char *st = str(t, "status");
	const char *problem = str(t, "problem");
	long long terms = num(t, "lookup_terms");
	if (strcmp(st, "none") == 0) {
		char *prop = proposed_spf(j);
		snprintf(fix, sizeof fix, "publish a TXT record at %s: "
		    "\"%s\" (add the include: of any service that sends "
		    "for you, then tighten ~all to -all)", j->domain,
		    prop ? prop : "v=spf1 mx ~all");
		free(prop);
		add(j, "dns.spf_missing", SD_SEV_ERROR, j->domain, ev_of(t),
		    fixes(fix, NULL), "%s has no SPF record: receivers "
		    "cannot tell which servers may send its mail, and "
		    "many refuse or junk it", j->domain);
	} else if (strcmp(st, "permerror") == 0 ||
	    json_object_get(t, "syntax_error")) {
		const char *why = problem[0] ? problem :
		    str(t, "syntax_error");
		add(j, "dns.spf_permerror", SD_SEV_ERROR, j->domain,
		    ev_of(t), fixes("correct the SPF record so that "
		    "receivers can evaluate it (one record, valid "
		    "terms, every include: publishing a record)", NULL),
		    "the SPF record of %s is broken: %s", j->domain,
		    why[0] ? why : "permerror");
	} else if (strcmp(st, "temperror") == 0) {
		if (j->names_dead || j->resolver_dead)
			return;   /* rule_lookups names its lookup */
		if (yes(t, "timed_out"))
			unfinished(j, "SPF record");
		else
			add(j, "dns.resolution_failed", SD_SEV_ERROR,
			    j->domain, ev_of(t), NULL, "the SPF record "
			    "of %s could not be fetched: %s", j->domain,
			    problem);
	} else if (terms > 10) {
		snprintf(fix, sizeof fix, "bring the lookups down to 10: "
		    "replace include: of services with the ip4:/ip6: "
		    "ranges they publish, and remove services you no "
		    "longer use");
		char *prop = proposed_spf(j);
		char alt[1400] = "";
		if (prop && strstr(prop, "ip"))
			snprintf(alt, sizeof alt, "the addresses checked "
			    "here alone fit in a record with no lookups: "
			    "\"%s\" (keep the include: of every service "
			    "that still sends for you)", prop);
		free(prop);
		add(j, "dns.spf_permerror", SD_SEV_ERROR, j->domain,
		    ev_of(t), fixes(fix, alt[0] ? alt : NULL),
		    "the SPF record of %s needs %lld "
		    "DNS lookups; RFC 7208 allows 10, so receivers "
		    "answer permerror for every sender matched after "
		    "the tenth", j->domain, terms);
	} else if (strcmp(st, "pass") == 0) {
		add(j, "info.spf_record", SD_SEV_INFO, j->domain, ev_of(t),
		    NULL, "%s publishes one SPF record needing %lld of "
		    "10 DNS lookups", j->domain, terms);
	}
}

/* The SPF result for one sending address. */
static void rule_spf_result(judge *j, const json_t *t, json_t *f)
{
	char fix[1600];
	const char *ip = str(f, "ip"), *res = str(f, "result");
	const char *dom = str(f, "domain");
	const char *who = yes(f, "own") ? " (this machine's address)" :
	    "";
	if (!dom[0])
		dom = j->domain;
	if (strcmp(res, "pass") == 0) {
		add(j, "info.spf_pass", SD_SEV_INFO, ip, ev_of(f), NULL,
		    "SPF passes for %s%s (%s)", ip, who,
		    str(f, "mechanism"));
	} else if (strcmp(res, "fail") == 0 ||
	    strcmp(res, "softfail") == 0 ||
	    strcmp(res, "neutral") == 0) {
		char term[80];
		snprintf(term, sizeof term, "%s%s", ip_term_prefix(ip),
		    ip);
		char *nr = sd_domain_spf_add_term(str(f, "record"), term);
		if (nr)
			snprintf(fix, sizeof fix, "authorize %s in the "
			    "SPF record of %s: \"%s\"", ip, dom, nr);
		else
			snprintf(fix, sizeof fix, "add %s to the SPF "
			    "record of %s", term, dom);
		free(nr);
		int hard = strcmp(res, "fail") == 0;
		add(j, "dns.spf_fail", hard ? SD_SEV_ERROR : SD_SEV_WARN, ip,
		    ev_of(f), fixes(fix, "or send through a server the "
		    "record already authorizes"), "SPF gives %s for "
		    "%s%s sending as %s: %s", res, ip, who, dom, hard ?
		    "receivers refuse or junk its mail" :
		    "receivers treat its mail with suspicion");
	} else if (strcmp(res, "none") == 0) {
		if (!t || !is(t, "status", "none") ||
		    strcmp(dom, j->domain) != 0) {
			char *prop = proposed_spf(j);
			snprintf(fix, sizeof fix, "publish a TXT record "
			    "at %s: \"%s\"", dom,
			    prop ? prop : "v=spf1 mx ~all");
			free(prop);
			add(j, "dns.spf_missing", SD_SEV_ERROR, dom, ev_of(f),
			    fixes(fix, NULL), "%s has no SPF record "
			    "(checked for %s)", dom, ip);
		}
	} else if (strcmp(res, "permerror") == 0) {
		add(j, "dns.spf_permerror", SD_SEV_ERROR, ip, ev_of(f),
		    fixes("correct the SPF record so that receivers can "
		    "evaluate it", NULL), "SPF evaluation for %s ends "
		    "in permerror: %s", ip, str(f, "problem"));
	} else if (strcmp(res, "temperror") == 0) {
		const char *p = str(f, "problem");
		if ((j->names_dead || j->resolver_dead) &&
		    sd_name_under(dom, j->domain))
			return;   /* the same cause, said once */
		if (is(f, "problem_class", "lookup_timeout"))
			unfinished(j, "SPF evaluation");
		else
			add(j, "dns.resolution_failed", SD_SEV_ERROR, ip,
			    ev_of(f), NULL, "SPF evaluation for %s hit a "
			    "failed lookup (temperror): %s", ip, p);
	}
}

/* ---- SPF: what endangers a policy that still works, as `spf` says it
 * (spf_rules.h): from the record tree for every domain, and from the
 * evaluation of each --ip. ---- */

/* The domain an evaluation checked: its sender's. */
static const char *spf_domain_of(judge *j, const json_t *f)
{
	const char *d = str(f, "domain");
	return d[0] ? d : j->domain;
}

/* A permerror stands for the SPF policy of `dom` (its record tree's, or
 * an evaluation's): the limit warnings are moot beside it. */
static int spf_broken(judge *j, const char *dom)
{
	json_t *t = j->spf_tree, *f;
	if (t && sd_strcaseeq(dom, j->domain) && (is(t, "status", "permerror")
	    || json_object_get(t, "syntax_error") || (is(t, "status", "pass") &&
	    num(t, "lookup_terms") > SD_SPF_MAX_LOOKUP_TERMS)))
		return 1;
	size_t i;
	json_array_foreach(j->spf_evals, i, f)
		if (sd_strcaseeq(spf_domain_of(j, f), dom) &&
		    is(f, "result", "permerror"))
			return 1;
	return 0;
}

/* The record tree: lookups an evaluation reaching every term needs, and
 * terms that let everyone pass. */
static void spf_tree_warnings(judge *j, json_t *t)
{
	if (!t || !is(t, "status", "pass") || spf_broken(j, j->domain))
		return;
	long long terms = num(t, "lookup_terms");
	char lead[400];
	if (terms >= SD_SPF_LOOKUPS_WARN) {
		snprintf(lead, sizeof lead, "an evaluation that reaches every "
		    "term of the SPF record of %s uses", j->domain);
		sd_spf_warn_lookups(&j->k, j->domain, ev_of(t), lead, terms, 1);
	}
	size_t i, k;
	json_t *o, *fam;
	json_array_foreach(json_object_get(t, "open_terms"), i, o) {
		unsigned families = 0;
		json_array_foreach(json_object_get(o, "families"), k, fam) {
			const char *name = json_string_value(fam);
			if (name && strcmp(name, "ip4") == 0)
				families |= SD_SPF_WIDE_V4;
			if (name && strcmp(name, "ip6") == 0)
				families |= SD_SPF_WIDE_V6;
		}
		const char *who = sd_spf_who(families);
		const char *via = str(o, "via");
		if (who)
			sd_spf_warn_allows_all(&j->k, j->domain, ev_of(t),
			    str(o, "term"), str(o, "domain"), via[0] ? via : NULL,
			    str(o, "via_domain"), who);
	}
}

/* One evaluation: its lookups, void lookups, and a pass anyone gets. */
static void spf_ip_warnings(judge *j, json_t *f)
{
	const char *dom = spf_domain_of(j, f), *ip = str(f, "ip");
	long long lookups = num(f, "lookups"), voids = num(f, "void_lookups");
	char lead[300];
	int near = lookups >= SD_SPF_LOOKUPS_WARN;
	int at = voids == SD_SPF_MAX_VOID_LOOKUPS;
	if ((near || at) && !spf_broken(j, dom)) {
		snprintf(lead, sizeof lead, "the evaluation for %s used", ip);
		if (near)
			sd_spf_warn_lookups(&j->k, dom, ev_of(f), lead, lookups,
			    0);
		snprintf(lead, sizeof lead, "in the evaluation for %s, ", ip);
		if (at)
			sd_spf_warn_voids(&j->k, dom, ev_of(f), lead, voids);
	}
	const char *m = str(f, "matched");
	const char *who = is(f, "result", "pass") && m[0] ?
	    sd_spf_open_to(m, strchr(ip, ':') ? "ip6" : "ip4") : NULL;
	if (who)
		sd_spf_warn_allows_all(&j->k, dom, ev_of(f), m,
		    str(f, "matched_domain"), str(f, "mechanism"),
		    str(f, "mechanism_domain"), who);
}

/* Appends the {"term", "domain"} of `more` not in `terms` yet; the count
 * added. */
static size_t spf_terms_add(json_t *terms, const json_t *more)
{
	size_t i, k, n = 0;
	json_t *a, *b;
	json_array_foreach(more, i, a) {
		int seen = 0;
		json_array_foreach(terms, k, b)
			seen |= strcmp(str(a, "term"), str(b, "term")) == 0 &&
			    sd_strcaseeq(str(a, "domain"), str(b, "domain"));
		if (!seen && json_is_object(a) && ++n)
			json_array_append(terms, a);
	}
	return n;
}

/* Did an evaluation ask for the client's PTR names (ptr, %{p})? */
static int spf_asked_ptr(const json_t *f)
{
	size_t i;
	json_t *q;
	json_array_foreach(json_object_get(f, "dns"), i, q)
		if (strcmp(str(q, "type"), "PTR") == 0)
			return 1;
	return 0;
}

/* ptr and %{p} in any record of the tree of `dom` or one an evaluation
 * fetched (a report saved before the lists: the tree's count of ptr). */
static void spf_ptr_warning(judge *j, const char *dom)
{
	json_t *t = j->spf_tree, *f;
	json_t *terms = json_array(), *ev = json_array();
	const char *asked = NULL;   /* an address whose evaluation did */
	int old = 0;
	if (t && sd_strcaseeq(dom, j->domain)) {
		json_t *list = json_object_get(t, "ptr_term_list");
		old = !list && num(t, "ptr_terms") > 0;
		if (spf_terms_add(terms, list) || old)
			ev_join(ev, ev_of(t));
	}
	size_t i;
	json_array_foreach(j->spf_evals, i, f) {
		if (!sd_strcaseeq(spf_domain_of(j, f), dom))
			continue;
		int did = spf_asked_ptr(f);
		if (did && !asked)
			asked = str(f, "ip");
		if (spf_terms_add(terms, json_object_get(f, "ptr_terms")) || did)
			ev_join(ev, ev_of(f));
	}
	char how[300];
	if (asked)
		snprintf(how, sizeof how, "the evaluation for %s looked up the "
		    "client's PTR names", asked);
	else
		snprintf(how, sizeof how, "an evaluation that reaches %s looks up "
		    "the client's PTR names", json_array_size(terms) > 1 ?
		    "them" : "it");
	if (json_array_size(terms) || old || asked)
		sd_spf_warn_ptr(&j->k, dom, ev, terms, j->r->facts,
		    spf_broken(j, dom), how);
	else
		json_decref(ev);
	json_decref(terms);
}

static void rule_spf(judge *j)
{
	json_t *t = fact_of(j, "domain.spf"), *f;
	rule_spf_record(j, t);
	j->spf_tree = t;
	j->spf_evals = json_array();
	FOREACH_CHECK(j, "spf", f) {
		rule_spf_result(j, t, f);
		json_array_append(j->spf_evals, f);
	}
	spf_tree_warnings(j, t);
	spf_ptr_warning(j, j->domain);
	size_t i;
	json_array_foreach(j->spf_evals, i, f) {
		spf_ip_warnings(j, f);
		if (!sd_strcaseeq(spf_domain_of(j, f), j->domain))
			spf_ptr_warning(j, spf_domain_of(j, f));
	}
	json_decref(j->spf_evals);
	j->spf_evals = NULL;
	j->spf_tree = NULL;
}

/* ---- DKIM ---- */

static void dkim_subject(char *out, size_t len, const char *sel,
    const char *d, const char *domain)
{
	if (d[0] && strcmp(d, domain) != 0)
		snprintf(out, len, "%s (d=%s)", sel, d);
	else
		snprintf(out, len, "%s", sel);
}

static void rule_dkim(judge *j)
{
	json_t *f;
	size_t found = 0, guessed = 0;
	FOREACH_CHECK(j, "dkim_key", f) {
		const char *sel = str(f, "selector"), *src = str(f, "source");
		const char *lookup = str(f, "lookup");
		int guess = strcmp(src, "common") == 0;
		char subject[320], fix[600];
		dkim_subject(subject, sizeof subject, sel, str(f, "domain"),
		    j->domain);
		if (strcmp(lookup, "none") == 0 ||
		    strcmp(lookup, "bad_name") == 0) {
			if (guess) {
				guessed++;
				continue;
			}
			snprintf(fix, sizeof fix, "publish the selector's public "
			    "key as a TXT record at %s (\"v=DKIM1; k=rsa; "
			    "p=...\"), or sign with a selector that has one",
			    str(f, "name"));
			add(j, "dns.dkim_missing", SD_SEV_ERROR, subject, ev_of(f),
			    fixes(fix, NULL), "no DKIM key at %s: %s",
			    str(f, "name"), str(f, "reason"));
			continue;
		}
		if (strcmp(lookup, "failed") == 0) {
			if (j->names_dead || j->resolver_dead)
				continue;   /* the same cause, said once */
			if (is(f, "dns_status", "timeout"))
				unfinished(j, "DKIM keys");
			else
				add(j, "dns.resolution_failed", SD_SEV_ERROR,
				    str(f, "name"), ev_of(f), NULL, "the lookup of "
				    "the DKIM key %s failed (%s)", str(f, "name"),
				    str(f, "dns_status"));
			continue;
		}
		found++;
		json_t *key = json_object_get(f, "key");
		const char *ks = str(key, "status");
		if (strcmp(lookup, "multiple") == 0) {
			add(j, "dns.dkim_invalid", guess ? SD_SEV_WARN : SD_SEV_ERROR,
			    subject, ev_of(f), fixes("keep exactly one TXT record "
			    "at the selector name", NULL), "%s holds several TXT "
			    "records: receivers cannot tell which key to use",
			    str(f, "name"));
		} else if (strcmp(ks, "ok") == 0) {
			add(j, "info.dkim_key", SD_SEV_INFO, subject, ev_of(f), NULL,
			    "DKIM key %s: %s", str(f, "name"), str(key, "reason"));
		} else if (strcmp(ks, "revoked") == 0 && guess) {
			add(j, "info.dkim_key_revoked", SD_SEV_INFO, subject,
			    ev_of(f), NULL, "the DKIM key at %s is revoked (p= "
			    "empty): fine if nothing signs with it any more",
			    str(f, "name"));
		} else {
			snprintf(fix, sizeof fix, "publish a valid key at %s "
			    "(RSA of 2048 bits, or ed25519 beside it) and sign "
			    "with it", str(f, "name"));
			add(j, "dns.dkim_invalid", guess ? SD_SEV_WARN : SD_SEV_ERROR,
			    subject, ev_of(f), fixes(fix, NULL), "the DKIM key "
			    "at %s is %s: %s", str(f, "name"),
			    strcmp(ks, "too_short") == 0 ? "too short" : ks,
			    str(key, "reason"));
		}
	}
	json_t *in = fact_of(j, "domain.inputs");
	if (guessed && !found && !json_object_get(in, "message"))
		add(j, "info.dkim_not_found", SD_SEV_INFO, j->domain,
		    ev_of(in), NULL, "none of the %zu common DKIM selectors "
		    "has a key at %s; name yours with --selector, or give a "
		    "signed message with --message", guessed, j->domain);

	json_t *m = fact_of(j, "domain.message");
	if (!m)
		return;
	size_t i;
	json_t *s;
	if (!yes(m, "readable")) {
		add(j, "info.message_unreadable", SD_SEV_INFO, str(m, "file"),
		    ev_of(m), NULL, "the message could not be read: %s",
		    str(m, "reason"));
		return;
	}
	if (json_array_size(json_object_get(m, "signatures")) == 0)
		add(j, "info.message_unsigned", SD_SEV_INFO, str(m, "file"),
		    ev_of(m), NULL, "the message carries no DKIM signature");
	json_array_foreach(json_object_get(m, "signatures"), i, s) {
		char subject[320];
		dkim_subject(subject, sizeof subject, str(s, "s"), str(s, "d"),
		    j->domain);
		const char *res = str(s, "result"), *why = str(s, "why");
		if (strcmp(res, "pass") == 0) {
			add(j, "info.dkim_pass", SD_SEV_INFO, subject, ev_of(m), NULL,
			    "the DKIM signature d=%s s=%s verifies", str(s, "d"),
			    str(s, "s"));
		} else if (strcmp(why, "key_missing") == 0) {
			add(j, "dns.dkim_missing", SD_SEV_ERROR, subject, ev_of(m),
			    fixes("publish the public key of the selector the "
			    "message is signed with", NULL), "the message is "
			    "signed with selector %s of %s, which has no key: %s",
			    str(s, "s"), str(s, "d"), str(s, "reason"));
		} else if (strcmp(res, "temperror") == 0) {
			unfinished(j, "DKIM signature check");
		} else {
			add(j, "dns.dkim_invalid", SD_SEV_ERROR, subject, ev_of(m),
			    fixes("check what changes the message after signing "
			    "(a footer, a relay rewriting headers), or the key "
			    "published for the selector", NULL),
			    "the DKIM signature d=%s s=%s does not verify: %s",
			    str(s, "d"), str(s, "s"), str(s, "reason"));
		}
	}
}

/* ---- DMARC ---- */

static void rule_dmarc_record(judge *j, json_t *f)
{
	const char *found = str(f, "found"), *dom = str(f, "domain");
	char *prop = sd_dmarc_propose_fix(dom);
	if (strcmp(found, "not_found") == 0) {
		if (yes(f, "looks_like_dmarc"))
			add(j, "dns.dmarc_invalid", SD_SEV_ERROR, dom, ev_of(f),
			    fixes(prop, NULL), "the TXT record at _dmarc.%s is "
			    "almost a DMARC record, and receivers ignore it: "
			    "\"%s\"", dom, str(f, "record"));
		else
			add(j, "dns.dmarc_missing", SD_SEV_WARN, dom, ev_of(f),
			    fixes(prop, NULL), "%s has no DMARC record: large "
			    "receivers (Gmail, Yahoo) require one from bulk "
			    "senders, and nobody reports abuse of the domain",
			    dom);
	} else if (strcmp(found, "multiple") == 0) {
		add(j, "dns.dmarc_invalid", SD_SEV_ERROR, dom, ev_of(f),
		    fixes("keep exactly one v=DMARC1 TXT record at the _dmarc "
		    "name", NULL), "%s: %s", dom, str(f, "reason"));
	} else if (strcmp(found, "lookup_failed") == 0) {
		unfinished(j, "DMARC");
	} else if (!yes(f, "valid")) {
		add(j, "dns.dmarc_invalid", SD_SEV_ERROR, dom, ev_of(f),
		    fixes(prop, NULL), "receivers ignore the DMARC record of "
		    "%s: %s", dom, str(f, "record_error"));
	} else if (yes(f, "acts_as_none")) {
		add(j, "dns.dmarc_invalid", SD_SEV_WARN, dom, ev_of(f),
		    fixes("correct p= (none, quarantine or reject)", NULL),
		    "the DMARC policy of %s is not valid, so receivers act as "
		    "if it said p=none: %s", dom, str(f, "record_error"));
	} else {
		json_t *p = json_object_get(f, "policy");
		add(j, "info.dmarc", SD_SEV_INFO, dom, ev_of(f), NULL,
		    "DMARC policy of %s: p=%s, pct=%lld (at _dmarc.%s)%s%s",
		    dom, str(p, "p"), num(p, "pct"), str(f, "record_domain"),
		    json_object_get(f, "warnings") ? "; " : "",
		    str(f, "warnings"));
	}
	free(prop);
}

/* Alignment of the message's identities with the From domain's policy,
 * for each sending address (SPF passes per address). */
static void rule_dmarc_message(judge *j, json_t *m)
{
	const char *from = str(m, "from_domain");
	if (!from[0]) {
		add(j, "info.message_problem", SD_SEV_INFO, str(m, "file"),
		    ev_of(m), NULL, "DMARC not judged for the message: %s",
		    json_object_get(m, "from_problem") ?
		    str(m, "from_problem") : "no From domain");
		return;
	}
	json_t *pf = fact_of(j, strcmp(from, j->domain) == 0 ? "domain.dmarc" :
	    "domain.dmarc_from");
	if (!pf || !is(pf, "found", "found") || !yes(pf, "valid"))
		return;   /* no policy to apply: rule_dmarc_record says why */

	sd_dmarc_policy_info pol = { 0 };
	pol.found = SD_DMARC_FOUND;
	pol.from_domain = (char *)from;
	pol.org_domain = (char *)str(pf, "org_domain");
	pol.record_domain = (char *)str(pf, "record_domain");
	pol.at_org = yes(pf, "at_org");
	const char *rt = str(pf, "record");
	if (sd_dmarc_record_parse(rt, strlen(rt), &pol.record) != SD_OK)
		return;

	const char *dk[16];
	size_t nd = 0, i;
	json_t *s;
	json_array_foreach(json_object_get(m, "signatures"), i, s)
		if (is(s, "result", "pass") && nd < 16)
			dk[nd++] = str(s, "d");

	json_t *f;
	int any_ip = 0;
	FOREACH_CHECK(j, "spf", f) {
		any_ip = 1;
		const char *ip = str(f, "ip");
		sd_dmarc_input in = {
			.from_domain = from, .spf_pass = is(f, "result", "pass"),
			.spf_domain = str(f, "domain"), .dkim_domains = dk,
			.n_dkim_domains = nd, .from_domain_exists = -1,
		};
		sd_dmarc_eval ev = { 0 };
		if (sd_dmarc_evaluate(&pol, NULL, &in, &ev) != SD_OK) {
			sd_dmarc_eval_clear(&ev);
			continue;
		}
		json_t *e = ev_of(m);
		ev_join(e, ev_of(f));
		ev_join(e, ev_of(pf));
		if (ev.result == SD_DMARC_RESULT_PASS) {
			add(j, "info.dmarc_pass", SD_SEV_INFO, ip, e, NULL, "DMARC "
			    "passes for the message sent from %s (%s aligned)",
			    ip, ev.dkim_aligned ? "DKIM" : "SPF");
		} else if (ev.result == SD_DMARC_RESULT_FAIL &&
		    ev.policy != SD_DMARC_POLICY_NONE) {
			char fix1[400], fix2[400];
			snprintf(fix1, sizeof fix1, "sign the mail with DKIM as "
			    "d=%s (or a subdomain) with a published key", from);
			snprintf(fix2, sizeof fix2, "or authorize %s in the SPF "
			    "record of %s and send with a Return-Path in %s",
			    ip, from, from);
			add(j, "dns.dmarc_reject_unaligned", SD_SEV_ERROR, ip, e,
			    fixes(fix1, fix2), "%s=%s for %s: mail from %s fails "
			    "DMARC (SPF %s for %s, %s; no DKIM signature aligned "
			    "with %s), so receivers %s it%s", ev.policy_tag,
			    sd_dmarc_policy_name(ev.policy), from, ip,
			    str(f, "result"), str(f, "domain"),
			    ev.spf_aligned ? "aligned" : "not aligned", from,
			    ev.policy == SD_DMARC_POLICY_REJECT ? "reject" :
			    "quarantine", ev.pct < 100 ? " (pct below 100: some "
			    "of it)" : "");
		} else if (ev.result == SD_DMARC_RESULT_FAIL) {
			add(j, "info.dmarc_fail_not_enforced", SD_SEV_INFO, ip, e,
			    NULL, "DMARC fails for mail from %s, but the policy "
			    "is p=none: it is delivered and reported", ip);
		} else {
			json_decref(e);
		}
		sd_dmarc_eval_clear(&ev);
	}
	if (!any_ip)
		add(j, "info.dmarc_unjudged", SD_SEV_INFO, from, ev_of(m), NULL,
		    "DMARC alignment of the message needs the sending address "
		    "(--ip) for its SPF half%s", nd ? "" :
		    "; no DKIM signature passed");
	sd_dmarc_record_clear(&pol.record);
}

static void rule_dmarc(judge *j)
{
	json_t *f = fact_of(j, "domain.dmarc");
	if (!f)
		unfinished(j, "DMARC");
	else
		rule_dmarc_record(j, f);
	json_t *ff = fact_of(j, "domain.dmarc_from");
	if (ff)
		rule_dmarc_record(j, ff);
	json_t *m = fact_of(j, "domain.message");
	if (m)
		rule_dmarc_message(j, m);
}

/* ---- reverse DNS ---- */

static void rule_ptr(judge *j)
{
	json_t *f;
	FOREACH_CHECK(j, "ptr", f) {
		const char *ip = str(f, "ip"), *st = str(f, "status");
		const char *who = yes(f, "own") ? " (this machine's address)" :
		    "";
		char fix[1200];
		if (strcmp(st, "nxdomain") == 0 || strcmp(st, "nodata") == 0) {
			snprintf(fix, sizeof fix, "ask whoever runs %s (the ISP "
			    "or hosting provider) to set its reverse name (PTR) "
			    "to a name that resolves back to it, such as "
			    "mail.%s", ip, j->domain);
			add(j, "dns.ptr_missing", SD_SEV_ERROR, ip, ev_of(f),
			    fixes(fix, NULL), "%s%s has no reverse name (PTR): "
			    "many receivers refuse mail from such addresses",
			    ip, who);
		} else if (strcmp(st, "ok") == 0) {
			char names[600];
			join(names, sizeof names, json_object_get(f, "names"),
			    "(none)");
			if (yes(f, "confirmed")) {
				add(j, "info.fcrdns_ok", SD_SEV_INFO, ip, ev_of(f),
				    NULL, "%s has reverse name %s, which resolves "
				    "back to it", ip, names);
				continue;
			}
			/* a forward lookup that failed proves nothing */
			size_t i;
			json_t *fw;
			int failed = 0;
			json_array_foreach(json_object_get(f, "forward"), i, fw)
				if (!answered(str(fw, "status")) &&
				    !is(fw, "status", "invalid_name"))
					failed = 1;
			if (failed)
				continue;
			snprintf(fix, sizeof fix, "make the reverse name of %s "
			    "resolve back to %s (an A/AAAA record for %s), or "
			    "change the PTR to a name that does", ip, ip, names);
			add(j, "dns.fcrdns_mismatch", SD_SEV_ERROR, ip, ev_of(f),
			    fixes(fix, NULL), "the reverse name of %s%s (%s) "
			    "does not resolve back to it: receivers treat the "
			    "address as unidentified", ip, who, names);
		}
	}
}

/* ---- authoritative servers ---- */

static void server_label(char *out, size_t len, const json_t *s)
{
	snprintf(out, len, "%s (%s)", str(s, "ns"), str(s, "address"));
}

static void rule_ns(judge *j)
{
	json_t *ns = fact_of(j, "domain.ns");
	if (!ns) {
		unfinished(j, "authoritative servers");
		return;
	}
	size_t expected = json_array_size(json_object_get(ns, "servers"));
	json_t *servers[16];
	size_t n = 0, seen = 0;
	json_t *f;
	FOREACH_CHECK(j, "ns_server", f) {
		seen++;
		const char *st = str(json_object_get(f, "soa"), "status");
		if (!json_object_get(f, "error") && answered(st) && n < 16)
			servers[n++] = f;
	}
	FOREACH_CHECK(j, "ns_server", f) {
		const char *st = str(json_object_get(f, "soa"), "status");
		if (!json_object_get(f, "error") && answered(st))
			continue;
		char label[400];
		server_label(label, sizeof label, f);
		const char *why = json_object_get(f, "error") ?
		    str(f, "error") : st;
		/* another address of the same server answered: this one is
		 * out of our reach (often IPv6 on an IPv4-only network) */
		int other = 0;
		for (size_t i = 0; i < n; i++)
			other |= strcmp(str(servers[i], "ns"), str(f, "ns")) == 0;
		if (other) {
			add(j, "info.ns_unreachable", SD_SEV_INFO, label, ev_of(f),
			    NULL, "%s could not be asked from here (%s), while "
			    "another address of the same server answered", label,
			    why);
			continue;
		}
		add(j, "dns.inconsistent", SD_SEV_WARN, label, ev_of(f),
		    fixes("fix or remove the server from the NS records: "
		    "resolvers that pick it get no answer", NULL),
		    "authoritative server %s does not answer for %s (%s)",
		    label, str(f, "zone"), why);
	}
	if (seen < expected)
		unfinished(j, "authoritative servers");
	if (n < 2) {
		if (n == 1)
			add(j, "info.ns_single", SD_SEV_INFO, j->domain, ev_of(ns),
			    NULL, "one authoritative server address answered "
			    "for %s", str(ns, "zone"));
		return;
	}
	static const char *const keys[] = { "soa", "mx", "spf", "dmarc" };
	static const char *const what[] = { "the zone serial", "the MX set",
	    "the SPF record", "the DMARC record" };
	int agree = 1;
	for (size_t k = 0; k < 4; k++) {
		char *first = json_dumps(json_object_get(servers[0], keys[k]),
		    JSON_SORT_KEYS | JSON_COMPACT);
		size_t diff = 0;
		for (size_t i = 1; i < n; i++) {
			char *o = json_dumps(json_object_get(servers[i], keys[k]),
			    JSON_SORT_KEYS | JSON_COMPACT);
			if (first && o && strcmp(first, o) != 0 && !diff)
				diff = i;
			free(o);
		}
		free(first);
		if (!diff)
			continue;
		agree = 0;
		char a[600], b[600], la[400], lb[400];
		join(a, sizeof a, json_object_get(json_object_get(servers[0],
		    keys[k]), "records"), "nothing");
		join(b, sizeof b, json_object_get(json_object_get(
		    servers[diff], keys[k]), "records"), "nothing");
		server_label(la, sizeof la, servers[0]);
		server_label(lb, sizeof lb, servers[diff]);
		json_t *ev = ev_of(servers[0]);
		ev_join(ev, ev_of(servers[diff]));
		char subject[400];
		snprintf(subject, sizeof subject, "%s %s", j->domain, keys[k]);
		add(j, "dns.inconsistent", SD_SEV_WARN, subject, ev,
		    fixes("wait for the change to reach every server (or fix "
		    "zone transfers to the one that lags); until then "
		    "receivers see either version", NULL), "the authoritative "
		    "servers of %s disagree on %s: %s says %s, %s says %s",
		    str(ns, "zone"), what[k], la, a, lb, b);
	}
	if (agree)
		add(j, "info.ns_consistent", SD_SEV_INFO, j->domain, ev_of(ns),
		    NULL, "the %zu authoritative server addresses of %s agree "
		    "(serial, MX, SPF, DMARC)", n, str(ns, "zone"));
}

/* ---- MTA-STS, TLS-RPT ---- */

static void rule_mtasts(judge *j)
{
	json_t *f = fact_of(j, "domain.mta_sts");
	if (!f) {
		unfinished(j, "MTA-STS");
		return;
	}
	size_t nrec = json_array_size(json_object_get(f, "records"));
	if (nrec == 0) {
		if (answered(str(f, "status")))
			add(j, "info.mta_sts_none", SD_SEV_INFO, j->domain, ev_of(f),
			    NULL, "%s publishes no MTA-STS policy", j->domain);
		return;
	}
	const char *fix = "publish \"v=STSv1; id=<new id>\" at _mta-sts and "
	    "a policy at https://mta-sts.<domain>/.well-known/mta-sts.txt "
	    "(version: STSv1, mode, mx: lines for every MX, max_age)";
	int bad = 0;
	if (json_object_get(f, "record_error")) {
		add(j, "dns.mta_sts_invalid", SD_SEV_WARN, str(f, "name"), ev_of(f),
		    fixes(fix, NULL), "the MTA-STS record of %s is broken: %s",
		    j->domain, str(f, "record_error"));
		bad = 1;
	}
	if (yes(f, "deadline")) {
		unfinished(j, "MTA-STS policy");
		return;
	}
	if (json_object_get(f, "fetch_error")) {
		add(j, "dns.mta_sts_invalid", SD_SEV_WARN, str(f, "url"), ev_of(f),
		    fixes(fix, NULL), "the MTA-STS policy of %s cannot be "
		    "fetched from %s: %s", j->domain, str(f, "url"),
		    str(f, "fetch_error"));
		return;
	}
	if (json_object_get(f, "content_type_error")) {
		add(j, "dns.mta_sts_invalid", SD_SEV_WARN, str(f, "url"), ev_of(f),
		    fixes("serve the policy as Content-Type: text/plain", NULL),
		    "%s (it is '%s')", str(f, "content_type_error"),
		    str(f, "content_type"));
		bad = 1;
	}
	json_t *pol = json_object_get(f, "policy");
	if (json_object_get(f, "policy_error")) {
		add(j, "dns.mta_sts_invalid", SD_SEV_WARN, str(f, "url"), ev_of(f),
		    fixes(fix, NULL), "the MTA-STS policy of %s is broken: %s",
		    j->domain, str(f, "policy_error"));
		return;
	}
	if (!pol)
		return;
	const char *mode = str(pol, "mode");
	if (strcmp(mode, "none") != 0) {
		json_t *mx = fact_of(j, "domain.mx");
		size_t i, k;
		json_t *h, *p;
		json_array_foreach(json_object_get(mx, "hosts"), i, h) {
			const char *host = str(h, "host");
			int covered = 0;
			json_array_foreach(json_object_get(pol, "mx"), k, p)
				if (sd_mtasts_mx_match(json_string_value(p),
				    host))
					covered = 1;
			if (covered)
				continue;
			char pats[600], fx[800];
			join(pats, sizeof pats, json_object_get(pol, "mx"),
			    "none");
			snprintf(fx, sizeof fx, "add 'mx: %s' to the policy and "
			    "change the id= of the _mta-sts record", host);
			json_t *ev = ev_of(f);
			ev_join(ev, ev_of(mx));
			add(j, "dns.mta_sts_invalid", SD_SEV_WARN, host, ev,
			    fixes(fx, NULL), "MX host %s is not in the MTA-STS "
			    "policy of %s (mx: %s): in mode %s, senders %s", host,
			    j->domain, pats, mode, strcmp(mode, "enforce") == 0 ?
			    "refuse to deliver to it" : "report failures for it");
			bad = 1;
		}
	}
	if (!bad)
		add(j, "info.mta_sts", SD_SEV_INFO, j->domain, ev_of(f), NULL,
		    "MTA-STS policy of %s: mode %s, max_age %lld, covering "
		    "every MX", j->domain, mode, num(pol, "max_age"));
}

static void rule_tlsrpt(judge *j)
{
	json_t *f = fact_of(j, "domain.tlsrpt");
	if (!f) {
		unfinished(j, "TLS-RPT");
		return;
	}
	size_t n = json_array_size(json_object_get(f, "records"));
	if (json_object_get(f, "error")) {
		add(j, "dns.tlsrpt_invalid", SD_SEV_WARN, str(f, "name"), ev_of(f),
		    fixes("publish one TXT record \"v=TLSRPTv1; "
		    "rua=mailto:tls-reports@<domain>\" at _smtp._tls", NULL),
		    "the TLS-RPT record of %s is broken: %s", j->domain,
		    str(f, "error"));
	} else if (n == 1) {
		char rua[600];
		join(rua, sizeof rua, json_object_get(f, "rua"), "nowhere");
		add(j, "info.tlsrpt", SD_SEV_INFO, j->domain, ev_of(f), NULL,
		    "TLS reports for %s go to %s", j->domain, rua);
	} else if (answered(str(f, "status"))) {
		add(j, "info.tlsrpt_none", SD_SEV_INFO, j->domain, ev_of(f), NULL,
		    "%s publishes no TLS-RPT record", j->domain);
	}
}

/* ---- DANE, DNSSEC ---- */

static void rule_dane(judge *j)
{
	json_t *f;
	FOREACH_CHECK(j, "dane", f) {
		const char *host = str(f, "host");
		if (!is(f, "status", "ok"))
			continue;
		if (!yes(f, "secure")) {
			if (!j->validating)
				add(j, "info.dane_unvalidated", SD_SEV_INFO, host,
				    ev_of(f), NULL, "%s has TLSA records, but "
				    "no DNSSEC trust anchor was given "
				    "(--trust-anchor), so DANE was not judged",
				    str(f, "name"));
			else
				add(j, "info.dane_insecure", SD_SEV_INFO, host,
				    ev_of(f), NULL, "%s has TLSA records that "
				    "are not DNSSEC-validated: senders ignore "
				    "them", str(f, "name"));
			continue;
		}
		if (num(f, "usable") == 0) {
			add(j, "info.dane_unusable", SD_SEV_INFO, host, ev_of(f),
			    NULL, "none of the TLSA records at %s can be used "
			    "for SMTP (RFC 7672: usages 2 and 3 only)",
			    str(f, "name"));
			continue;
		}
		char fix[600];
		if (json_object_get(f, "leaf_spki_sha256"))
			snprintf(fix, sizeof fix, "publish a TLSA record at %s "
			    "that matches the certificate %s presents, e.g. "
			    "\"3 1 1 %s\" (keep the old record until the "
			    "change has spread)", str(f, "name"), host,
			    str(f, "leaf_spki_sha256"));
		else
			snprintf(fix, sizeof fix, "publish a TLSA record at %s "
			    "that matches the certificate %s presents (keep "
			    "the old record until the change has spread)",
			    str(f, "name"), host);
		if (yes(f, "checked") && !yes(f, "matched")) {
			json_t *recs = json_object_get(f, "records");
			add(j, "dns.dane_mismatch", SD_SEV_ERROR, host, ev_of(f),
			    fixes(fix, NULL), "none of the %zu TLSA records at "
			    "%s matches the certificate chain %s presents: "
			    "senders that use DANE will not deliver to it",
			    json_array_size(recs), str(f, "name"), host);
			continue;
		}
		size_t i;
		json_t *a;
		int no_tls = 0;
		json_array_foreach(json_object_get(f, "attempts"), i, a)
			if (json_is_false(json_object_get(a, "starttls_offered")))
				no_tls = 1;
		if (!yes(f, "checked") && no_tls) {
			add(j, "dns.dane_mismatch", SD_SEV_ERROR, host, ev_of(f),
			    fixes("enable STARTTLS on the MX, with a certificate "
			    "matching its TLSA records", NULL), "%s publishes "
			    "TLSA records but does not offer STARTTLS: senders "
			    "that use DANE will not deliver to it", host);
		} else if (!yes(f, "checked")) {
			char errs[600] = "";
			json_array_foreach(json_object_get(f, "attempts"), i, a) {
				size_t o = strlen(errs);
				snprintf(errs + o, sizeof errs - o, "%s%s: %s",
				    o ? "; " : "", str(a, "address"),
				    json_object_get(a, "error") ? str(a, "error") :
				    str(a, "connect"));
			}
			add(j, "info.dane_unchecked", SD_SEV_INFO, host, ev_of(f),
			    NULL, "the TLSA records of %s could not be compared "
			    "with its certificate: no TLS session on port 25 "
			    "(%s); port 25 is often blocked outbound", host,
			    errs[0] ? errs : "no address");
		} else {
			add(j, "info.dane_ok", SD_SEV_INFO, host, ev_of(f), NULL,
			    "the certificate of %s matches its DNSSEC-signed "
			    "TLSA records", host);
		}
	}
}

static void rule_dnssec(judge *j)
{
	json_t *f = fact_of(j, "domain.dnssec");
	if (!f || !answered(str(f, "status")))
		return;
	if (yes(f, "secure"))
		add(j, "info.dnssec_signed", SD_SEV_INFO, j->domain, ev_of(f), NULL,
		    "%s is DNSSEC-signed and validates", j->domain);
	else if (j->validating)
		add(j, "info.dnssec_unsigned", SD_SEV_INFO, j->domain, ev_of(f),
		    NULL, "%s is not DNSSEC-validated (unsigned, or no trust "
		    "anchor covers it)", j->domain);
	else
		add(j, "info.dnssec_unvalidated", SD_SEV_INFO, j->domain,
		    ev_of(f), NULL, "DNSSEC was not validated (no "
		    "--trust-anchor given)");
}

/* ---- blocklists ---- */

static void rule_lists(judge *j)
{
	json_t *f;
	const char *clean_ip[16];
	size_t clean_n[16], n_clean = 0, clean_dom = 0;
	for (int dl = 0; dl < 2; dl++) {
		FOREACH_CHECK(j, dl ? "dbl" : "dnsbl", f) {
			const char *zone = str(f, "zone");
			const char *who = dl ? str(f, "domain") : str(f, "ip");
			const char *st = str(f, "status");
			char subject[400];
			snprintf(subject, sizeof subject, "%s", who);
			if (strcmp(st, "skipped") == 0) {
				add(j, "info.dnsbl_skipped", SD_SEV_INFO, zone, ev_of(f), NULL,
				    "%s not asked about %s: this list does not "
				    "answer for IPv6", zone, who);
				continue;
			}
			if (strcmp(st, "nxdomain") == 0 ||
			    strcmp(st, "nodata") == 0) {
				if (dl) {
					clean_dom++;
					continue;
				}
				size_t k = 0;
				while (k < n_clean && strcmp(clean_ip[k], who))
					k++;
				if (k == n_clean && n_clean < 16) {
					clean_ip[n_clean] = who;
					clean_n[n_clean++] = 0;
				}
				if (k < n_clean)
					clean_n[k]++;
				continue;
			}
			if (strcmp(st, "ok") != 0) {
				if (j->resolver_dead || (j->names_dead &&
				    strcmp(st, "timeout") == 0))
					continue;   /* the same cause, said once */
				snprintf(subject, sizeof subject, "%s", zone);
				add(j, "reputation.dnsbl_refused", SD_SEV_WARN,
				    subject, ev_of(f), fixes("query the list "
				    "through a resolver it accepts (your own, "
				    "not a public one), or check it later",
				    NULL), "%s did not answer the query about %s "
				    "(%s): not checked", zone, who, st);
				continue;
			}
			size_t i;
			json_t *a;
			int listed = 0, policy = 0, error = 0;
			char meaning[300] = "";
			json_array_foreach(json_object_get(f, "answers"), i, a) {
				const char *cls = str(a, "class");
				if (strcmp(cls, "listed") == 0 && !listed++)
					snprintf(meaning, sizeof meaning, "%s",
					    str(a, "meaning"));
				else if (strcmp(cls, "policy") == 0 && !policy++ &&
				    !listed)
					snprintf(meaning, sizeof meaning, "%s",
					    str(a, "meaning"));
				else if (strcmp(cls, "error") == 0 && !error++ &&
				    !listed && !policy)
					snprintf(meaning, sizeof meaning, "%s",
					    str(a, "meaning"));
			}
			const char *txt = str(f, "txt");
			char fix[700];
			if (txt[0])
				snprintf(fix, sizeof fix, "find and stop the cause "
				    "(the list says: %s), then ask %s for removal",
				    txt, zone);
			else
				snprintf(fix, sizeof fix, "find and stop the "
				    "cause, then ask %s for removal", zone);
			if (listed || (policy && !yes(f, "own") && !dl)) {
				add(j, dl ? "reputation.domain_listed" :
				    "reputation.ip_listed", SD_SEV_ERROR, subject,
				    ev_of(f), fixes(fix, policy && !listed ?
				    "or send through your provider's submission "
				    "server (port 587 with AUTH)" : NULL),
				    "%s is listed on %s: %s%s%s", who, zone,
				    meaning, txt[0] ? " - " : "", txt);
			} else if (policy) {
				add(j, "info.ip_policy_listed", SD_SEV_INFO,
				    who, ev_of(f), NULL, "%s (this machine) is on a policy "
				    "list: %s; fine when it sends through a "
				    "provider's submission server with AUTH",
				    who, meaning);
			} else if (error) {
				snprintf(subject, sizeof subject, "%s", zone);
				add(j, "reputation.dnsbl_refused", SD_SEV_WARN,
				    subject, ev_of(f), fixes("query the list "
				    "through a resolver it accepts (your own "
				    "recursive resolver, not a public one), or "
				    "register with the list", NULL),
				    "%s answered %s with an error code, so the "
				    "check did not happen: %s", zone, who,
				    meaning);
			}
		}
	}
	for (size_t k = 0; k < n_clean; k++) {
		char count[32];
		snprintf(count, sizeof count, "%zu", clean_n[k]);
		add(j, "info.not_listed", SD_SEV_INFO, clean_ip[k], NULL, NULL,
		    "%s is not on the %s IP blocklists that answered about it",
		    clean_ip[k], count);
	}
	if (clean_dom)
		add(j, "info.domain_not_listed", SD_SEV_INFO, j->domain, NULL,
		    NULL, "%s is on none of the domain blocklists asked",
		    j->domain);
}

static void rule_inputs(judge *j)
{
	json_t *in = fact_of(j, "domain.inputs");
	if (in && json_array_size(json_object_get(in, "ips")) == 0)
		add(j, "info.no_sending_ip", SD_SEV_INFO, j->domain, ev_of(in),
		    NULL, "no sending address given (--ip or --public-ip): "
		    "SPF evaluation, reverse DNS and IP blocklists were not "
		    "checked");
	if (in && json_object_get(in, "message_problem"))
		add(j, "info.message_problem", SD_SEV_INFO, str(in, "message"),
		    ev_of(in), NULL, "the message could not be read: %s",
		    str(in, "message_problem"));
	if (fact_of(j, "domain.deadline"))
		unfinished(j, "checks still running at the deadline");
}

/* ---- the verdict ---- */

void sd_domain_rules(sd_report *r)
{
	judge j = { .r = r, .unfinished = json_array() };
	json_t *in = sd_fact_get(r->facts, "domain.inputs");
	j.domain = in ? str(in, "domain") : "";
	/* reports without the member come from runs that validated */
	j.validating = !in || !json_object_get(in, "trust_anchor") ||
	    json_is_string(json_object_get(in, "trust_anchor"));
	size_t fi;
	json_t *ff;
	/* a validated answer shows it, in a fact of any kind */
	json_array_foreach(r->facts, fi, ff)
		if (json_is_true(json_object_get(ff, "secure")))
			j.validating = 1;

	json_t *res = sd_fact_get(r->facts, "domain.resolver");
	if (res) {
		add(&j, "dns.resolution_failed", SD_SEV_ERROR, "resolver",
		    ev_of(res), fixes("check --resolver and --trust-anchor, "
		    "or the system's /etc/resolv.conf", NULL),
		    "no DNS resolver could be set up: %s", str(res, "error"));
	} else {
		rule_lookups(&j);
		rule_inputs(&j);
		rule_dnssec(&j);
		rule_mx(&j);
		rule_spf(&j);
		rule_dkim(&j);
		rule_dmarc(&j);
		rule_ptr(&j);
		rule_ns(&j);
		rule_mtasts(&j);
		rule_tlsrpt(&j);
		rule_dane(&j);
		rule_lists(&j);
	}

	sd_judge_rank(&j.k, sd_domain_verdict_order);
	size_t errors = 0, warnings = 0;
	for (size_t i = 0; i < j.k.n; i++) {
		errors += j.k.c[i].sev == SD_SEV_ERROR;
		warnings += j.k.c[i].sev == SD_SEV_WARN;
	}
	const sd_cand *top = sd_judge_top(&j.k, sd_domain_verdict_order,
	    SD_SEV_WARN);
	char what[600];
	join(what, sizeof what, j.unfinished, "");
	if (top && top->sev == SD_SEV_ERROR) {
		char summary[1800];
		snprintf(summary, sizeof summary, "%s%s", top->summary,
		    errors > 1 ? " (more problems below)" : "");
		sd_judge_verdict(r, top, SD_STATUS_FAIL, summary);
	} else if (json_array_size(j.unfinished)) {
		char summary[1200];
		snprintf(summary, sizeof summary, "the deadline came first: %s "
		    "did not finish%s%s", what, top ? "; so far: " : "; nothing "
		    "found so far stops mail", top ? top->summary : "");
		sd_verdict_set(r, "inconclusive", -1, summary,
		    fixes("run again with a longer --timeout", NULL), NULL);
	} else if (top) {
		char summary[1800];
		snprintf(summary, sizeof summary, "%s%s", top->summary,
		    warnings > 1 ? " (more warnings below)" : "");
		sd_judge_verdict(r, top, SD_STATUS_WARN, summary);
	} else {
		char summary[600];
		snprintf(summary, sizeof summary, "nothing found that would "
		    "stop mail from %s", j.domain);
		sd_verdict_set(r, "ok", -1, summary, NULL, NULL);
	}
	sd_judge_finish(&j.k, r);
	json_decref(j.unfinished);
}

sd_report *sd_domain_rules_of(const sd_report *r)
{
	if (!sd_fact_get(r->facts, "domain.inputs"))
		return NULL;
	sd_report *dr = sd_report_new("domain");
	size_t i;
	json_t *f;
	json_array_foreach(r->facts, i, f) {
		const char *st = json_string_value(json_object_get(f, "stage"));
		const char *kind = json_string_value(json_object_get(f, "kind"));
		const char *id = json_string_value(json_object_get(f, "id"));
		/* "self.": check's own address on the lists, judged by check */
		if (!dr || !st || !kind || !id ||
		    strcmp(kind, "sender_domain") == 0 ||
		    strncmp(id, "self.", 5) == 0)
			continue;
		/* check's own address lookups show the resolver alive */
		if (strcmp(st, "domain") == 0 || strcmp(st, "reputation") == 0 ||
		    (strcmp(st, "dns") == 0 && strcmp(kind, "dns") == 0))
			json_array_append(dr->facts, f);
	}
	if (dr)
		sd_domain_rules(dr);
	return dr;
}
