/* The rules of `spf`; see spf_rules.h. */
#include "rules/spf_rules.h"

#include <stdio.h>
#include <string.h>

#include "mailauth/spf.h"
#include "rules/judge.h"
#include "util/util.h"

typedef struct spf_view {
	const json_t *spf;      /* the report's "spf" member */
	const char *result, *domain, *ip, *problem, *mechanism, *mdomain;
	const char *net;        /* "ip4" or "ip6", for a term of a fix */
	char by[700];           /* what decided, for people */
	json_t *facts;
	const char *ids[2];     /* the spf.DOMAIN fact, the record lookup */
} spf_view;

/* A string member, `none` when absent. */
#define get sd_jstr

static json_t *evidence(const spf_view *v)
{
	json_t *a = json_array();
	for (int i = 0; i < 2; i++)
		if (v->ids[i])
			json_array_append_new(a, json_string(v->ids[i]));
	return a;
}

static json_t *fixes(const char *a, const char *b)
{
	json_t *arr = json_array();
	json_array_append_new(arr, json_string(a));
	if (b)
		json_array_append_new(arr, json_string(b));
	return arr;
}

static void view_init(spf_view *v, sd_report *r)
{
	memset(v, 0, sizeof *v);
	v->spf = json_object_get(r->extra, "spf");
	v->facts = r->facts;
	v->result = get(v->spf, "result", "");
	v->domain = get(v->spf, "domain", "?");
	v->ip = get(v->spf, "ip", "?");
	v->problem = get(v->spf, "problem", NULL);
	v->mechanism = get(v->spf, "mechanism", NULL);
	v->mdomain = get(v->spf, "mechanism_domain", "?");
	v->net = strchr(v->ip, ':') ? "ip6" : "ip4";
	if (v->mechanism)
		snprintf(v->by, sizeof v->by, "\"%s\" in the record of %s",
		    v->mechanism, v->mdomain);
	else
		snprintf(v->by, sizeof v->by, "no mechanism matched (the "
		    "default)");
	size_t i;
	json_t *f;
	json_array_foreach(r->facts, i, f) {
		const char *id = get(f, "id", "");
		if (strncmp(id, "spf.", 4) == 0 && !v->ids[0])
			v->ids[0] = id;
		/* the first query is the checked domain's record */
		if (i == 0 && strcmp(get(f, "purpose", ""), "record") == 0)
			v->ids[1] = id;
	}
}

/* The fix for a permerror, by the class of what is wrong.  A fix that
 * names the domain takes it; one that needs the evaluator's words (which
 * terms loop, which include) ends with them. */
static json_t *permerror_fix(const spf_view *v)
{
	static const struct {
		const char *class, *words;
		int with_problem;
	} fixes_of[] = {
		{ "lookup_limit", "cut the DNS lookups of the SPF record of %s to "
		    "10 or fewer: drop includes of services no longer used, "
		    "replace a and mx with ip4:/ip6: where the addresses are "
		    "stable", 0 },
		{ "void_limit", "remove the terms of the SPF record of %s that "
		    "point at names that do not exist", 0 },
		{ "multiple_records", "merge the SPF records of %s into one TXT "
		    "record starting with \"v=spf1\"", 0 },
		{ "loop", "break the include/redirect loop", 1 },
		{ "include_none", "remove or correct the include or redirect "
		    "that points at a domain without an SPF record", 1 },
	};
	const char *class = get(v->spf, "problem_class", "");
	const char *problem = v->problem ? v->problem : "";
	char words[500], buf[1100];
	snprintf(buf, sizeof buf, "correct the SPF record: %s", problem);
	for (size_t i = 0; i < sizeof fixes_of / sizeof fixes_of[0]; i++) {
		if (strcmp(class, fixes_of[i].class) != 0)
			continue;
		snprintf(words, sizeof words, fixes_of[i].words, v->domain);
		snprintf(buf, sizeof buf, "%s%s%s", words,
		    fixes_of[i].with_problem ? ": " : "",
		    fixes_of[i].with_problem ? problem : "");
	}
	return fixes(buf, NULL);
}

/* ---- one rule per result: the candidate that is the verdict ---- */

static sd_cand *rule_pass(sd_judge *j, const spf_view *v)
{
	return sd_judge_add(j, "spf.pass", SD_SEV_INFO, v->domain, evidence(v),
	    NULL, "SPF pass: %s authorizes %s (%s)", v->domain, v->ip, v->by);
}

static sd_cand *rule_not_authorized(sd_judge *j, const spf_view *v)
{
	int hard = strcmp(v->result, "fail") == 0;
	const char *how = hard ? "does not authorize" :
	    strcmp(v->result, "softfail") == 0 ? "probably does not authorize" :
	    "makes no statement about";
	const char *exp = get(v->spf, "explanation", NULL);
	char a[900], b[900];
	snprintf(a, sizeof a, "if %s should send for %s, add \"%s:%s\" (or the "
	    "include: its provider documents) to the SPF record of %s", v->ip,
	    v->domain, v->net, v->ip, v->domain);
	snprintf(b, sizeof b, "otherwise send through a server the SPF record "
	    "of %s already authorizes", v->domain);
	return sd_judge_add(j, "dns.spf_fail", hard ? SD_SEV_ERROR :
	    SD_SEV_WARN, v->domain, evidence(v), fixes(a, b), "SPF %s: %s %s %s "
	    "(%s)%s%s%s", v->result, v->domain, how, v->ip, v->by, exp ?
	    "; its explanation: \"" : "", exp ? exp : "", exp ? "\"" : "");
}

static sd_cand *rule_none(sd_judge *j, const spf_view *v)
{
	char fix[900];
	/* A name that is not a domain can hold no record: what to correct
	 * is the address (or HELO name) that carried it. */
	if (strcmp(get(v->spf, "problem_class", ""), "bad_domain") == 0)
		snprintf(fix, sizeof fix, "correct the domain %s where it is "
		    "set (the envelope sender's address, or the HELO name when "
		    "the sender is empty): it is not a valid domain name, so no "
		    "SPF record can be published for it", v->domain);
	else
		snprintf(fix, sizeof fix, "publish one TXT record at %s listing "
		    "every server that sends its mail, for example \"v=spf1 "
		    "%s:%s ~all\"", v->domain, v->net, v->ip);
	return sd_judge_add(j, "dns.spf_missing", SD_SEV_ERROR, v->domain,
	    evidence(v), fixes(fix, NULL), "SPF none: %s", v->problem ?
	    v->problem : "no SPF record");
}

static sd_cand *rule_permerror(sd_judge *j, const spf_view *v)
{
	return sd_judge_add(j, "dns.spf_permerror", SD_SEV_ERROR, v->domain,
	    evidence(v), permerror_fix(v), "SPF permerror: the SPF policy of %s "
	    "is broken: %s", v->domain, v->problem ? v->problem : "?");
}

static sd_cand *rule_temperror(sd_judge *j, const spf_view *v)
{
	return sd_judge_add(j, "dns.resolution_failed", SD_SEV_WARN, v->domain,
	    evidence(v), fixes("run again later; if it persists, check that "
	    "the name servers of the domains in the trace answer", NULL),
	    "SPF temperror: a DNS lookup failed, so the result is unknown: %s",
	    v->problem ? v->problem : "?");
}

/* Each result, its rule, and the verdict it gives: `spf` exits 0 for
 * every definite result (scripts read spf.result), so a result that
 * endangers mail is a warning, and temperror is inconclusive. */
static const struct {
	const char *result;
	sd_cand *(*rule)(sd_judge *j, const spf_view *v);
	const char *verdict;    /* NULL: the candidate's code */
	sd_status status;
} results[] = {
	{ "pass", rule_pass, "ok", SD_STATUS_OK },
	{ "fail", rule_not_authorized, NULL, SD_STATUS_WARN },
	{ "softfail", rule_not_authorized, NULL, SD_STATUS_WARN },
	{ "neutral", rule_not_authorized, NULL, SD_STATUS_WARN },
	{ "none", rule_none, NULL, SD_STATUS_WARN },
	{ "permerror", rule_permerror, NULL, SD_STATUS_WARN },
	{ "temperror", rule_temperror, "inconclusive", SD_STATUS_INCONCLUSIVE },
};

/* ---- what endangers a result that is not broken yet ---- */

const char *sd_spf_who(unsigned families)
{
	families &= SD_SPF_WIDE_V4 | SD_SPF_WIDE_V6;
	if (families == (SD_SPF_WIDE_V4 | SD_SPF_WIDE_V6))
		return "every address on the Internet";
	if (families == SD_SPF_WIDE_V4)
		return "every IPv4 address";
	return families == SD_SPF_WIDE_V6 ? "every IPv6 address" : NULL;
}

const char *sd_spf_open_to(const char *term, const char *net)
{
	char txt[700];
	sd_spf_record *rec = NULL;
	if ((size_t)snprintf(txt, sizeof txt, "v=spf1 %s", term) >=
	    sizeof txt || sd_spf_parse(txt, strlen(txt), &rec, NULL, 0) != 0)
		return NULL;
	const char *who = NULL;
	if (rec->n_terms == 1) {
		const sd_spf_term *t = &rec->terms[0];
		unsigned fam = strcmp(net, "ip6") == 0 ? SD_SPF_WIDE_V6 :
		    SD_SPF_WIDE_V4;
		unsigned wide = sd_spf_term_wide(t);
		if (wide & fam)
			who = sd_spf_who(t->kind == SD_SPF_ALL ? wide : fam);
	}
	sd_spf_record_free(rec);
	return who;
}

void sd_spf_warn_allows_all(sd_judge *j, const char *domain, json_t *ev,
    const char *term, const char *term_domain, const char *via,
    const char *via_domain, const char *who)
{
	char by[700] = "";
	if (via && via_domain && (strcmp(via, term) != 0 ||
	    strcmp(via_domain, term_domain) != 0))
		snprintf(by, sizeof by, " (reached through \"%s\" in the record "
		    "of %s)", via, via_domain);
	sd_judge_add(j, "spf.allows_all", SD_SEV_WARN, domain, ev, NULL,
	    "\"%s\" in the record of %s%s authorizes %s to send as %s", term,
	    term_domain, by, who, domain);
}

/* A pass any address would get.  The term that matched may sit in a
 * record an include points at ("matched"; a report saved before that
 * member names only the decider). */
static void rule_allows_all(sd_judge *j, const spf_view *v)
{
	if (strcmp(v->result, "pass") != 0 || !v->mechanism)
		return;
	const char *m = get(v->spf, "matched", v->mechanism);
	const char *md = get(v->spf, "matched_domain", v->mdomain);
	const char *who = sd_spf_open_to(m, v->net);
	if (who)
		sd_spf_warn_allows_all(j, v->domain, evidence(v), m, md,
		    v->mechanism, v->mdomain, who);
}

/* An id into an evidence array, once. */
static void evidence_add(json_t *ev, const char *id)
{
	size_t i;
	json_t *e;
	json_array_foreach(ev, i, e)
		if (strcmp(json_string_value(e), id) == 0)
			return;
	json_array_append_new(ev, json_string(id));
}

void sd_spf_warn_ptr(sd_judge *j, const char *domain, json_t *ev,
    const json_t *terms, const json_t *facts, int beside_permerror,
    const char *how)
{
	char where[700] = "", id[400];
	size_t o = 0, i;
	json_t *f;
	json_array_foreach(terms, i, f) {
		const char *d = get(f, "domain", "?");
		if (o < sizeof where)
			o += (size_t)snprintf(where + o, sizeof where - o,
			    "%s\"%s\" in the record of %s", o ? ", " : "",
			    get(f, "term", "?"), d);
		snprintf(id, sizeof id, "dns.TXT.%s", d);
		if (sd_fact_get(facts, id))
			evidence_add(ev, id);
	}
	sd_judge_add(j, "spf.ptr_used", SD_SEV_WARN, domain, ev, NULL,
	    "%sthe policy uses %s, which RFC 7208 section 5.5 says not to use: "
	    "reverse DNS is slow and less reliable, and a PTR lookup that "
	    "fails makes ptr not match; %s", beside_permerror ? "apart from "
	    "the permerror, " : "", where[0] ? where : "a ptr mechanism or "
	    "the %{p} macro", how);
}

/*
 * ptr and %{p}, which RFC 7208 sections 5.5 and 7.3 say not to use: in
 * any record the evaluation fetched ("ptr_terms"), whether it reached the
 * term or not (the record asks for PTR names for the next sender), or,
 * in a report saved before that member, a PTR lookup made.  Beside a
 * permerror it is a defect of its own, worded so, not the cause.
 */
static void rule_ptr_used(sd_judge *j, const spf_view *v)
{
	const char *ptr_id = NULL;   /* the PTR lookup, when one was made */
	size_t i;
	json_t *f;
	json_array_foreach(v->facts, i, f)
		if (!ptr_id && strcmp(get(f, "purpose", ""), "ptr") == 0)
			ptr_id = get(f, "id", "");
	json_t *terms = json_object_get(v->spf, "ptr_terms");
	if (!ptr_id && json_array_size(terms) == 0)
		return;
	json_t *ev = evidence(v);
	char how[100] = "this evaluation looked up the client's PTR names";
	if (ptr_id)
		evidence_add(ev, ptr_id);
	else
		snprintf(how, sizeof how, "this evaluation did not reach %s, one "
		    "that does looks up the client's PTR names",
		    json_array_size(terms) > 1 ? "them" : "it");
	sd_spf_warn_ptr(j, v->domain, ev, terms, v->facts,
	    strcmp(v->result, "permerror") == 0, how);
}

void sd_spf_warn_lookups(sd_judge *j, const char *domain, json_t *ev,
    const char *lead, long long lookups, int whole_tree)
{
	long long left = SD_SPF_MAX_LOOKUP_TERMS - lookups;
	char rest[40] = "none left";
	if (left > 0)
		snprintf(rest, sizeof rest, "%lld left", left);
	sd_judge_add(j, "spf.lookups_near_limit", SD_SEV_WARN, domain, ev, NULL,
	    "%s %lld of the %d DNS lookups SPF allows, %s (RFC 7208 section "
	    "4.6.4): %s", lead, lookups, SD_SPF_MAX_LOOKUP_TERMS, rest,
	    whole_tree ? "one more include may need more than are left and give "
	    "permerror" :
	    "a sender matched later in the record, or one more include, may "
	    "need more and get permerror");
}

void sd_spf_warn_voids(sd_judge *j, const char *domain, json_t *ev,
    const char *lead, long long voids)
{
	sd_judge_add(j, "spf.void_lookups_at_limit", SD_SEV_WARN, domain, ev,
	    NULL, "%s%lld lookups found nothing; one more gives permerror "
	    "(RFC 7208 section 4.6.4)", lead, voids);
}

static void rule_warnings(sd_judge *j, const spf_view *v)
{
	int broken = strcmp(v->result, "permerror") == 0;
	long long lookups = json_integer_value(json_object_get(v->spf,
	    "lookups"));
	long long voids = json_integer_value(json_object_get(v->spf,
	    "void_lookups"));
	if (!broken && lookups >= SD_SPF_LOOKUPS_WARN)
		sd_spf_warn_lookups(j, v->domain, evidence(v), "this evaluation "
		    "used", lookups, 0);
	if (!broken && voids == SD_SPF_MAX_VOID_LOOKUPS)
		sd_spf_warn_voids(j, v->domain, evidence(v), "", voids);
	rule_ptr_used(j, v);
	rule_allows_all(j, v);
}

/* No resolver could be set up: nothing was evaluated. */
static int rule_no_resolver(sd_report *r)
{
	json_t *f = sd_fact_get(r->facts, "dns.resolver");
	if (!f)
		return 0;
	sd_judge j = SD_JUDGE_INIT;
	const char *id = get(f, "id", "");
	json_t *ev = json_pack("[s]", id);
	sd_cand *c = sd_judge_add(&j, "dns.resolution_failed", SD_SEV_ERROR,
	    NULL, ev, fixes("check --resolver and --trust-anchor, or the "
	    "system's resolver configuration", NULL), "%s", get(f, "detail",
	    "the DNS resolver could not be set up"));
	sd_verdict_set(r, "inconclusive", SD_STATUS_INCONCLUSIVE, c ?
	    c->summary : "", c && c->fix ? json_deep_copy(c->fix) : NULL,
	    json_pack("[s]", id));
	sd_judge_finish(&j, r);
	return 1;
}

void sd_spf_rules(sd_report *r)
{
	if (rule_no_resolver(r))
		return;
	spf_view v;
	view_init(&v, r);
	sd_judge j = SD_JUDGE_INIT;
	for (size_t i = 0; i < sizeof results / sizeof results[0]; i++) {
		if (strcmp(results[i].result, v.result) != 0)
			continue;
		const sd_cand *c = results[i].rule(&j, &v);
		if (!c)
			break;
		sd_verdict_set(r, results[i].verdict ? results[i].verdict :
		    c->code, (int)results[i].status, c->summary, c->fix ?
		    json_deep_copy(c->fix) : NULL, json_deep_copy(c->evidence));
		break;
	}
	rule_warnings(&j, &v);
	if (!r->verdict)
		sd_verdict_set(r, "inconclusive", -1, "no SPF result to judge",
		    NULL, NULL);
	sd_judge_finish(&j, r);
}
