/* The rules of `bounce`; see bounce_rules.h. */
#include "rules/bounce_rules.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/domain_rules.h"
#include "rules/judge.h"
#include "util/util.h"

#define SD_REPLY_TABLE_DEF "../../data/bounces.def"
#include "rules/reply_table.inc"

/* Quoted diagnostic text kept in a summary. */
#define SUMMARY_DIAG_MAX 300

const sd_reply_rule *sd_bounce_table(size_t *n)
{
	return table_rows(n);
}

int sd_bounce_sender_side(const char *cause)
{
	return cause && strncmp(cause, "recipient.", 10) != 0 &&
	    strcmp(cause, "inconclusive") != 0 && strcmp(cause, "ok") != 0;
}

static sd_smtp_stage stage_named(const char *s)
{
	sd_smtp_stage st;
	if (s && sd_reply_stage_parse(s, &st) == 0)
		return st;
	/* a bounce most often quotes the answer to the message itself */
	return SD_STAGE_DATA_END;
}

/* Causes a bounce shares with the provider reply table (the rest of that
 * table is about submitting: AUTH, relaying, TLS to one's own server). */
static int shared_cause(const char *cause)
{
	static const char *const ok[] = { "reputation.ip_listed",
	    "isp.rate_limited", "content.rejected", "content.too_large",
	    "sender.rejected", NULL };
	for (size_t i = 0; ok[i]; i++)
		if (strcmp(cause, ok[i]) == 0)
			return 1;
	return 0;
}

const sd_reply_rule *sd_bounce_classify(const char *smtp_stage, int code,
    const char *status, const char *diagnostic)
{
	const char *t = diagnostic ? diagnostic : "";
	/* the reply code is passed apart, as the SMTP reader splits it */
	if (code && strlen(t) >= 3 && t[0] >= '2' && t[0] <= '5' &&
	    t[1] >= '0' && t[1] <= '9' && t[2] >= '0' && t[2] <= '9') {
		t += 3;
		while (*t == ' ' || *t == '-' || *t == ':')
			t++;
	}
	char enh[16] = "";
	if ((t[0] == '2' || t[0] == '4' || t[0] == '5') && t[1] == '.') {
		size_t n = strcspn(t, " ;,\t");
		if (n < sizeof enh) {
			memcpy(enh, t, n);
			enh[n] = '\0';
		}
	} else if (status && strlen(status) < sizeof enh) {
		strcpy(enh, status);
	}
	sd_smtp_stage st = stage_named(smtp_stage);
	const sd_reply_rule *table = sd_bounce_table(NULL);
	const sd_reply_rule *row = sd_reply_classify_in(table, N_ROWS, st, code,
	    enh, t, 0);
	if (!row) {
		const sd_reply_rule *p = sd_reply_classify(st, code, enh, t);
		if (p && !p->generic && shared_cause(p->cause))
			row = p;
	}
	if (!row && enh[0] == '4') {
		enh[0] = '5';
		row = sd_reply_classify_in(table, N_ROWS, st, code, enh, t, 0);
	}
	return row;
}

/* A string member, NULL when absent. */
#define jstr(o, key) sd_jstr((o), (key), NULL)

/* One recipient, judged. */
typedef struct judged {
	json_t *fact;
	const char *id, *action, *cause;
	const sd_reply_rule *row;
} judged;

static int is_action(const judged *j, const char *a)
{
	return j->action && strcmp(j->action, a) == 0;
}

/* The diagnostic quoted for a summary: one line, capped. */
static void quote_diag(const char *diag, char *out, size_t max)
{
	if (!diag || !*diag) {
		out[0] = '\0';
		return;
	}
	size_t n = strlen(diag);
	if (n > SUMMARY_DIAG_MAX)
		snprintf(out, max, " (\"%.*s...\")", SUMMARY_DIAG_MAX, diag);
	else
		snprintf(out, max, " (\"%s\")", diag);
}

/* The precedence of the verdict (docs/bounce.md), within a severity (a
 * failure, then a delay, then a delivery): a cause on the sender's side
 * before one at the receiving side, a failure no row explains before a
 * delay; among equals, the first recipient.  An entry ending in "."
 * names a family of codes (judge.h). */
const char *const sd_bounce_verdict_order[] = {
	"inconclusive",
	"dns.", "reputation.", "isp.", "sender.", "content.",
	"recipient.",
	"*",
	NULL
};

/* One recipient's candidate: its cause as code (error when it failed,
 * warning when delayed), inconclusive (warning) when no row explains a
 * failure, info.delivered for a delivery; the address is its subject. */
static void propose(sd_judge *jd, const judged *j)
{
	const char *rcpt = jstr(j->fact, "recipient");
	const char *code = j->cause;
	sd_sev sev = SD_SEV_ERROR;
	char q[SUMMARY_DIAG_MAX + 16];
	quote_diag(jstr(j->fact, "diagnostic"), q, sizeof q);
	if (is_action(j, "failed")) {
		if (!code)
			code = "inconclusive", sev = SD_SEV_WARN;
	} else if (is_action(j, "delayed")) {
		sev = SD_SEV_WARN;
		if (!code)
			code = "settings.temporary_failure";
	} else {
		sev = SD_SEV_INFO;
		code = "info.delivered";
	}
	sd_judge_add(jd, code, sev, rcpt, json_pack("[s]", j->id), NULL,
	    "%s: %s%s", j->action ? j->action : "failed", j->row ?
	    j->row->explain : sev == SD_SEV_INFO ?
	    "the report confirms the delivery" :
	    "the report does not say why in words this tool knows", q);
}

/* Every recipient's candidate into jd, ranked; the recipient that gives
 * the verdict, or NULL when there is none. */
static const judged *rank(sd_judge *jd, const judged *js, size_t n)
{
	for (size_t i = 0; i < n; i++)
		propose(jd, &js[i]);
	sd_judge_rank(jd, sd_bounce_verdict_order);
	const sd_cand *top = sd_judge_top(jd, sd_bounce_verdict_order,
	    SD_SEV_INFO);
	const char *id = top ? json_string_value(json_array_get(top->evidence,
	    0)) : NULL;
	for (size_t i = 0; id && i < n; i++)
		if (strcmp(js[i].id, id) == 0)
			return &js[i];
	return NULL;
}

static json_t *rcpt_member(const judged *j)
{
	json_t *o = json_object();
	static const char *const keys[] = { "recipient", "original_recipient",
	    "action", "status", "remote_mta", "diagnostic", "smtp_stage" };
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		const char *v = jstr(j->fact, keys[k]);
		json_object_set_new(o, keys[k], v ? json_string(v) : json_null());
	}
	json_t *code = json_object_get(j->fact, "code");
	if (json_is_integer(code))
		json_object_set(o, "code", code);
	json_object_set_new(o, "cause", j->cause ? json_string(j->cause) :
	    json_null());
	json_object_set_new(o, "rule", j->row ? json_string(j->row->id) :
	    json_null());
	json_object_set_new(o, "fact", json_string(j->id));
	return o;
}

/* The "bounce" member: the verdict's recipient on top, all in a list. */
static json_t *bounce_member(const json_t *msg, const judged *js, size_t n,
    const judged *top)
{
	json_t *b = top ? rcpt_member(top) : json_object();
	json_object_del(b, "fact");
	const char *fmt = jstr(msg, "format");
	json_object_set_new(b, "format", json_string(fmt ? fmt : "text"));
	const char *gen = jstr(msg, "generator");
	json_object_set_new(b, "generator", gen ? json_string(gen) : json_null());
	const char *rm = jstr(msg, "reporting_mta");
	json_object_set_new(b, "reporting_mta", rm ? json_string(rm) :
	    json_null());
	if (!top) {
		static const char *const keys[] = { "recipient", "action",
		    "status", "remote_mta", "diagnostic" };
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
			json_object_set_new(b, keys[k], json_null());
	}
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, rcpt_member(&js[i]));
	json_object_set_new(b, "recipients", list);
	json_t *rc = json_object();
	json_object_set_new(rc, "ran", json_false());
	json_object_set_new(rc, "holds", json_null());
	json_object_set_new(rc, "evidence", json_array());
	json_object_set_new(b, "recheck", rc);
	return b;
}

static void verdict_for(sd_report *r, const json_t *msg, const judged *top)
{
	json_t *ev = json_array(), *fix = json_array();
	json_array_append_new(ev, json_string("bounce.message"));
	char summary[1200], q[SUMMARY_DIAG_MAX + 16];
	const char *kind = jstr(msg, "message");
	if (!top) {
		sd_verdict_set(r, "inconclusive", -1, kind &&
		    strcmp(kind, "report") == 0 ? "the report names no "
		    "recipient, so the tool cannot tell what failed" :
		    "this message is not a delivery report: no recipient, "
		    "action or reply of a remote server was found", fix, ev);
		return;
	}
	json_array_append_new(ev, json_string(top->id));
	const char *rcpt = jstr(top->fact, "recipient");
	const char *remote = jstr(top->fact, "remote_mta");
	quote_diag(jstr(top->fact, "diagnostic"), q, sizeof q);
	if (!rcpt)
		rcpt = "the recipient";
	if (is_action(top, "failed") && top->cause) {
		snprintf(summary, sizeof summary, "%s refused the mail to %s: "
		    "%s%s", remote ? remote : "the receiving side", rcpt,
		    top->row->explain, q);
		json_array_append_new(fix, json_string(top->row->hint));
		if (sd_fact_get(r->facts, "bounce.sending_ip") &&
		    sd_bounce_sender_side(top->cause))
			json_array_append_new(ev, json_string("bounce.sending_ip"));
		sd_verdict_set(r, top->cause, SD_STATUS_FAIL, summary, fix, ev);
	} else if (is_action(top, "failed")) {
		snprintf(summary, sizeof summary, "delivery to %s failed, but "
		    "the report does not say why in words this tool knows%s",
		    rcpt, q);
		json_array_append_new(fix, json_string("read the remote "
		    "server's words above; the postmaster of the recipient's "
		    "domain can say what they mean"));
		sd_verdict_set(r, "inconclusive", -1, summary, fix, ev);
	} else if (is_action(top, "delayed")) {
		snprintf(summary, sizeof summary, "delivery to %s is delayed "
		    "and still being retried: %s%s", rcpt, top->row ?
		    top->row->explain : "the receiving side answered with a "
		    "temporary error", q);
		json_array_append_new(fix, json_string(top->row ?
		    top->row->hint : "nothing to do yet: the sending server "
		    "retries; a report follows if it gives up"));
		sd_verdict_set(r, top->cause ? top->cause :
		    "settings.temporary_failure", SD_STATUS_WARN, summary, fix,
		    ev);
	} else {
		snprintf(summary, sizeof summary, "the report says the message "
		    "was %s for %s", top->action ? top->action : "delivered",
		    rcpt);
		json_decref(fix);
		sd_verdict_set(r, "ok", -1, summary, NULL, ev);
	}
}

/* Every recipient of the facts, judged (no findings yet); *n the count. */
static judged *judge_all(const json_t *facts, size_t *n)
{
	size_t i, k = 0;
	json_t *f;
	json_array_foreach(facts, i, f) {
		const char *id = jstr(f, "id");
		k += id && strncmp(id, "bounce.rcpt.", 12) == 0;
	}
	judged *js = calloc(k ? k : 1, sizeof *js);
	if (!js)
		return NULL;
	k = 0;
	json_array_foreach(facts, i, f) {
		const char *id = jstr(f, "id");
		if (!id || strncmp(id, "bounce.rcpt.", 12) != 0)
			continue;
		judged *j = &js[k++];
		j->fact = f;
		j->id = id;
		j->action = jstr(f, "action");
		if (!j->action)
			j->action = "failed";
		json_t *code = json_object_get(f, "code");
		j->row = sd_bounce_classify(jstr(f, "smtp_stage"),
		    json_is_integer(code) ? (int)json_integer_value(code) : 0,
		    jstr(f, "status"), jstr(f, "diagnostic"));
		j->cause = j->row ? j->row->cause : NULL;
	}
	*n = k;
	return js;
}

/* ---- --recheck ---------------------------------------------------------- */

/* The domain checks that can confirm a cause: the domain rules' codes
 * that mean it still holds, and whether the sending address is needed. */
/* Codes as arrays ("" for none), not pointers, so that the loader does
 * not write the table at every start (util/strtab.h says why that costs). */
#define CONFIRM_CODE_MAX 32
#define CONFIRM_CODES 4
typedef struct confirm {
	char cause[CONFIRM_CODE_MAX];
	char codes[CONFIRM_CODES][CONFIRM_CODE_MAX];
	int needs_ip, needs_message;
} confirm;

static const confirm confirms[] = {
	{ "dns.spf_fail", { "dns.spf_fail", "dns.spf_missing",
	    "dns.spf_permerror" }, 1, 0 },
	{ "dns.spf_permerror", { "dns.spf_permerror" }, 0, 0 },
	{ "dns.spf_missing", { "dns.spf_missing" }, 0, 0 },
	{ "dns.dkim_invalid", { "dns.dkim_invalid", "dns.dkim_missing" },
	    0, 1 },
	{ "dns.dmarc_reject_unaligned", { "dns.dmarc_reject_unaligned" },
	    0, 0 },
	{ "dns.ptr_missing", { "dns.ptr_missing", "dns.fcrdns_mismatch" },
	    1, 0 },
	{ "reputation.ip_listed", { "reputation.ip_listed" }, 1, 0 },
	{ "reputation.domain_listed", { "reputation.domain_listed" },
	    0, 0 },
	{ "dns.mx_missing", { "dns.mx_missing" }, 0, 0 },
	{ "dns.resolution_failed", { "dns.resolution_failed" }, 0, 0 },
	{ "recipient.tls_required", { "" }, 0, 0 },
};

static const confirm *confirm_of(const char *cause)
{
	for (size_t i = 0; cause && i < sizeof confirms / sizeof confirms[0];
	    i++)
		if (strcmp(confirms[i].cause, cause) == 0)
			return &confirms[i];
	return NULL;
}

/* The domain part of an address ("<a@b>" too), into out. */
static int domain_of(const char *addr, char *out, size_t max)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	if (!at || !at[1])
		return 0;
	size_t n = strcspn(at + 1, "> ");
	if (n == 0 || n >= max)
		return 0;
	for (size_t i = 0; i < n; i++)
		out[i] = sd_tolower(at[1 + i]);
	out[n] = '\0';
	return 1;
}

/* The blocklist zone a reply names ("blocked using zen.spamhaus.org",
 * "listed at bl.example.com"), into out; 1 when found. */
static int zone_named(const char *diag, char *out, size_t max)
{
	static const char *const lead[] = { "blocked using ", "listed at ",
	    "listed in ", "listed on ", NULL };
	for (size_t i = 0; diag && lead[i]; i++) {
		const char *p = sd_strcasestr(diag, lead[i]);
		if (!p)
			continue;
		p += strlen(lead[i]);
		size_t n = 0, dots = 0;
		while ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' &&
		    p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9') ||
		    p[n] == '-' || p[n] == '.')
			dots += p[n++] == '.';
		while (n > 0 && p[n - 1] == '.')
			n--, dots--;
		if (dots >= 1 && n < max) {
			for (size_t k = 0; k < n; k++)
				out[k] = sd_tolower(p[k]);
			out[n] = '\0';
			return 1;
		}
	}
	return 0;
}

void sd_bounce_recheck_plan(const json_t *facts, sd_bounce_plan *p)
{
	memset(p, 0, sizeof *p);
	size_t n = 0;
	judged *js = judge_all(facts, &n);
	sd_judge jd = SD_JUDGE_INIT;
	const judged *top = js ? rank(&jd, js, n) : NULL;
	sd_judge_free(&jd);
	p->cause = top ? top->cause : NULL;
	const confirm *c = confirm_of(p->cause);
	if (!c) {
		p->why = p->cause ? "no probe from here can confirm this cause: "
		    "it is the receiving side's own state" :
		    "the bounce names no cause to confirm";
		free(js);
		return;
	}
	json_t *ret = sd_fact_get(facts, "bounce.returned");
	json_t *msg = sd_fact_get(facts, "bounce.message");
	json_t *ip = sd_fact_get(facts, "bounce.sending_ip");
	if (strcmp(c->cause, "recipient.tls_required") == 0) {
		p->target = "recipient";
		if (!domain_of(jstr(top->fact, "recipient"), p->domain_buf,
		    sizeof p->domain_buf))
			p->target = NULL, p->why = "the recipient's domain is not known";
	} else {
		/* SPF judges the envelope sender; then the author, then the
		 * address the report went back to */
		p->target = "sender";
		const char *env = jstr(ret, "envelope_domain");
		const char *from = jstr(ret, "from_domain");
		if (env || from)
			snprintf(p->domain_buf, sizeof p->domain_buf, "%s",
			    env ? env : from);
		else if (!domain_of(jstr(msg, "to"), p->domain_buf,
		    sizeof p->domain_buf))
			p->target = NULL, p->why = "the sender's domain is not known";
		p->ip = jstr(ip, "ip");
		if (strcmp(c->cause, "reputation.ip_listed") == 0)
			zone_named(jstr(top->fact, "diagnostic"), p->zone,
			    sizeof p->zone);
		p->with_message = ret && !json_is_true(json_object_get(ret,
		    "headers_only"));
	}
	if (p->target)
		p->domain = p->domain_buf;
	free(js);
}

/* For a TLS-required bounce: the recipient domain's MTA-STS in enforce
 * mode or DNSSEC-secure TLSA records prove the requirement; their absence
 * proves nothing (a server may insist on STARTTLS without publishing). */
static int tls_required_holds(const json_t *facts, json_t *ev)
{
	size_t i;
	json_t *f;
	int found = 0;
	json_array_foreach(facts, i, f) {
		const char *id = jstr(f, "id");
		if (!id)
			continue;
		const char *mode = jstr(json_object_get(f, "policy"), "mode");
		if (strcmp(id, "domain.mta_sts") == 0 && mode &&
		    strcmp(mode, "enforce") == 0) {
			json_array_append_new(ev, json_string(id));
			found = 1;
		}
		if (strncmp(id, "domain.dane.", 12) == 0 &&
		    json_is_true(json_object_get(f, "secure")) &&
		    json_array_size(json_object_get(f, "records"))) {
			json_array_append_new(ev, json_string(id));
			found = 1;
		}
	}
	return found;
}

/*
 * Whether the cause still holds: 1, 0, or -1 (cannot tell).  Fills the
 * evidence (fact ids) and a sentence for people.
 */
static int recheck_holds(sd_report *r, const json_t *rc, const char *cause,
    json_t *ev, json_t *fix, char *why, size_t why_max)
{
	const confirm *c = confirm_of(cause);
	if (!c || !json_is_true(json_object_get(rc, "ran"))) {
		snprintf(why, why_max, "%s", jstr(rc, "why") ? jstr(rc, "why") :
		    "nothing was probed");
		return -1;
	}
	if (strcmp(cause, "recipient.tls_required") == 0) {
		if (tls_required_holds(r->facts, ev)) {
			snprintf(why, why_max, "the recipient's domain publishes "
			    "a TLS requirement (MTA-STS in enforce mode or DANE)");
			return 1;
		}
		snprintf(why, why_max, "the recipient's domain publishes no "
		    "MTA-STS policy in enforce mode and no DANE records: its "
		    "server's own TLS requirement does not show in DNS");
		return -1;
	}
	if (c->needs_ip && !jstr(rc, "ip")) {
		snprintf(why, why_max, "the bounce names no sending address to "
		    "check (give it with --ip)");
		return -1;
	}
	/* the domain and reputation facts the recheck added, judged as
	 * `domain` would */
	sd_report *dr = sd_domain_rules_of(r);
	if (!dr)
		return -1;
	int holds = 0, failed_lookup = 0;
	size_t i;
	json_t *f;
	json_array_foreach(dr->findings, i, f) {
		const char *code = jstr(f, "code");
		const char *sev = jstr(f, "severity");
		if (!code || !sev || strcmp(sev, "info") == 0)
			continue;
		failed_lookup |= strcmp(code, "dns.resolution_failed") == 0;
		for (size_t k = 0; k < CONFIRM_CODES && c->codes[k][0]; k++)
			if (strcmp(code, c->codes[k]) == 0 && !holds) {
				holds = 1;
				json_array_extend(ev, json_object_get(f, "evidence"));
				snprintf(why, why_max, "%s", jstr(f, "summary") ?
				    jstr(f, "summary") : code);
			}
	}
	/* the audit's own fix is concrete (the SPF record with the address
	 * added, the list's removal page) */
	json_t *dfix = dr->verdict ? json_object_get(dr->verdict, "fix") : NULL;
	if (holds && json_is_array(dfix))
		json_array_extend(fix, dfix);
	if (!holds && failed_lookup) {
		snprintf(why, why_max, "lookups failed, so the cause could not be "
		    "checked again");
		holds = -1;
	} else if (!holds) {
		/* what was checked and passed */
		json_array_foreach(r->facts, i, f) {
			const char *st = jstr(f, "stage");
			if (st && (strcmp(st, "domain") == 0 ||
			    strcmp(st, "reputation") == 0) &&
			    json_array_size(ev) < 16)
				json_array_append_new(ev, json_string(jstr(f,
				    "id")));
		}
		snprintf(why, why_max, "checked again now, %s no longer shows: "
		    "it was fixed since, or the receiver saw something else "
		    "(another sending address, a record since changed)", cause);
	}
	sd_report_free(dr);
	return holds;
}

/* Fills the bounce member's "recheck" and adds its finding. */
static void recheck(sd_report *r, json_t *bounce, const char *cause)
{
	json_t *rc = sd_fact_get(r->facts, "bounce.recheck");
	if (!rc)
		return;
	json_t *ev = json_array(), *dfix = json_array();
	char why[600];
	int holds = recheck_holds(r, rc, cause, ev, dfix, why, sizeof why);
	json_t *o = json_object_get(bounce, "recheck");
	json_object_set_new(o, "ran", json_boolean(json_is_true(
	    json_object_get(rc, "ran"))));
	json_object_set_new(o, "holds", holds < 0 ? json_null() :
	    json_boolean(holds));
	json_object_set_new(o, "evidence", ev);
	json_object_set_new(o, "summary", json_string(why));
	const char *d = jstr(rc, "domain"), *ip = jstr(rc, "ip");
	json_object_set_new(o, "domain", d ? json_string(d) : json_null());
	json_object_set_new(o, "ip", ip ? json_string(ip) : json_null());
	char summary[800];
	snprintf(summary, sizeof summary, "%s: %s", holds > 0 ?
	    "the cause still holds" : holds == 0 ? "the cause no longer holds" :
	    "the recheck could not tell", why);
	json_t *fev = json_array();
	json_array_append_new(fev, json_string("bounce.recheck"));
	sd_finding_add(r, "info.recheck", "info", d ? d : "", summary, fev);
	/* the verdict tells what happened; the fix says what to do now */
	json_t *fix = r->verdict ? json_object_get(r->verdict, "fix") : NULL;
	if (holds == 0 && json_is_array(fix))
		json_array_append_new(fix, json_string("the cause no longer "
		    "shows now: send the message again"));
	if (holds > 0 && json_is_array(fix))
		json_array_extend(fix, dfix);
	json_decref(dfix);
}

void sd_bounce_rules(sd_report *r)
{
	json_t *msg = sd_fact_get(r->facts, "bounce.message");
	size_t n = 0;
	judged *js = judge_all(r->facts, &n);
	if (!js)
		return;
	sd_judge jd = SD_JUDGE_INIT;
	const judged *top = rank(&jd, js, n);
	sd_judge_finish(&jd, r);
	verdict_for(r, msg, top);
	json_t *b = bounce_member(msg, js, n, top);
	recheck(r, b, top ? top->cause : NULL);
	sd_report_set_extra(r, "bounce", b);
	free(js);
}
