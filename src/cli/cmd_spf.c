/*
 * smtpdoctor spf IP DOMAIN_OR_SENDER [--helo NAME]
 *
 * Runs check_host() through the tool's own resolver and reports the
 * result with its trace: the "spf" member of SPEC §4, one fact per DNS
 * query (stage "domain"), a finding per problem, and a verdict.  Exit 0 for
 * every definite result (scripts read spf.result), 3 for temperror.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/batch.h"
#include "cli/cli.h"
#include "dns/dns.h"
#include "mailauth/spf.h"
#include "report/report.h"
#include "util/util.h"

/* Lookups from which the count is worth a warning (the limit is 10). */
#define SPF_LOOKUPS_WARN 8

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *string_array(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/*
 * One fact per DNS query; quiet in text (the trace tells the same).
 * Returns the id of the checked domain's record lookup (malloc'd) or NULL.
 */
static char *add_query_facts(sd_report *r, const sd_spf_result *res)
{
	char *record_id = NULL;
	for (size_t i = 0; i < res->n_dns; i++) {
		const sd_spf_dns_query *q = &res->dns[i];
		char id[400], detail[600];
		char lower[8];
		const char *tn = sd_dns_type_name(q->type);
		size_t k;
		for (k = 0; tn[k] && k + 1 < sizeof lower; k++)
			lower[k] = sd_tolower(tn[k]);
		lower[k] = '\0';
		snprintf(id, sizeof id, "dns.%s.%s", lower, q->name);
		snprintf(detail, sizeof detail, "%s %s: %s%s%s", tn, q->name,
		    sd_dns_status_name(q->status),
		    q->n_answers ? ", " : "",
		    q->n_answers ? q->answers[0] : "");
		json_t *f = json_object();
		json_object_set_new(f, "id", json_string(id));
		json_object_set_new(f, "stage", json_string("domain"));
		json_object_set_new(f, "name", json_string(q->name));
		json_object_set_new(f, "type", json_string(tn));
		json_object_set_new(f, "purpose", json_string(q->purpose));
		json_object_set_new(f, "status",
		    json_string(sd_dns_status_name(q->status)));
		json_object_set_new(f, "answers",
		    string_array(q->answers, q->n_answers));
		json_object_set_new(f, "ok", json_boolean(
		    !sd_dns_status_is_failure(q->status)));
		json_object_set_new(f, "took_ms", json_integer(q->elapsed_ms));
		json_object_set_new(f, "detail", json_string(detail));
		json_object_set_new(f, "quiet", json_true());
		const char *fid = sd_fact_add(r, f);
		if (i == 0 && fid && strcmp(q->purpose, "record") == 0)
			record_id = strdup(fid);
	}
	return record_id;
}

static json_t *spf_object(const sd_spf_result *res)
{
	json_t *o = json_object();
	json_object_set_new(o, "result",
	    json_string(sd_spf_code_name(res->result)));
	if (res->result == SD_SPF_FAIL && res->explanation)
		json_object_set_new(o, "explanation",
		    json_string(res->explanation));
	json_object_set_new(o, "lookups", json_integer(res->lookups));
	json_object_set_new(o, "void_lookups",
	    json_integer(res->void_lookups));
	json_object_set_new(o, "trace", string_array(res->trace, res->n_trace));
	json_object_set_new(o, "ip", str_or_null(res->ip));
	json_object_set_new(o, "domain", str_or_null(res->domain));
	json_object_set_new(o, "sender", str_or_null(res->sender));
	json_object_set_new(o, "helo", str_or_null(res->helo));
	json_object_set_new(o, "record", str_or_null(res->record));
	json_object_set_new(o, "mechanism", str_or_null(res->mechanism));
	json_object_set_new(o, "mechanism_domain",
	    str_or_null(res->mechanism_domain));
	json_object_set_new(o, "problem", str_or_null(res->problem));
	return o;
}

/* "\"-all\" in the record of example.com", or the default. */
static void decided_by(const sd_spf_result *res, char *buf, size_t n)
{
	if (res->mechanism)
		snprintf(buf, n, "\"%s\" in the record of %s", res->mechanism,
		    res->mechanism_domain ? res->mechanism_domain : "?");
	else
		snprintf(buf, n, "no mechanism matched (the default)");
}

/* A JSON array of the fact ids given (NULL entries skipped). */
static json_t *evidence(const char *const ids[2])
{
	json_t *a = json_array();
	for (int i = 0; i < 2; i++)
		if (ids[i])
			json_array_append_new(a, json_string(ids[i]));
	return a;
}

static json_t *fix1(const char *s)
{
	json_t *a = json_array();
	json_array_append_new(a, json_string(s));
	return a;
}

/* The fix for a permerror, from what the evaluator said is wrong. */
static json_t *permerror_fix(const sd_spf_result *res)
{
	const char *p = res->problem ? res->problem : "";
	const char *d = res->domain ? res->domain : "the domain";
	char buf[700];
	if (strstr(p, "too many DNS lookups"))
		snprintf(buf, sizeof buf, "cut the DNS lookups of the SPF record "
		    "of %s to 10 or fewer: drop includes of services no longer "
		    "used, replace a and mx with ip4:/ip6: where the addresses "
		    "are stable", d);
	else if (strstr(p, "void lookups"))
		snprintf(buf, sizeof buf, "remove the terms of the SPF record of "
		    "%s that point at names that do not exist", d);
	else if (strstr(p, "SPF records; exactly one"))
		snprintf(buf, sizeof buf, "merge the SPF records of %s into one "
		    "TXT record starting with \"v=spf1\"", d);
	else if (strstr(p, "loop"))
		snprintf(buf, sizeof buf, "break the include/redirect loop: %s",
		    p);
	else if (strstr(p, "which has no SPF record"))
		snprintf(buf, sizeof buf, "remove or correct the include or "
		    "redirect that points at a domain without an SPF record: %s",
		    p);
	else
		snprintf(buf, sizeof buf, "correct the SPF record: %s", p);
	return fix1(buf);
}

/* fact_ids: the spf.DOMAIN fact and the record lookup's fact. */
static void verdict_and_findings(sd_report *r, const sd_spf_result *res,
    const char *const fact_ids[2])
{
	const char *d = res->domain ? res->domain : "?";
	const char *ip = res->ip ? res->ip : "?";
	char by[700], sum[1400], fix[900];
	decided_by(res, by, sizeof by);
	const char *net = strchr(ip, ':') ? "ip6" : "ip4";

	switch (res->result) {
	case SD_SPF_PASS:
		snprintf(sum, sizeof sum, "SPF pass: %s authorizes %s (%s)", d,
		    ip, by);
		sd_finding_add(r, "spf.pass", "info", "dns", d, sum,
		    evidence(fact_ids));
		sd_verdict_set(r, "ok", -1, sum, NULL, evidence(fact_ids));
		break;
	case SD_SPF_FAIL:
	case SD_SPF_SOFTFAIL:
	case SD_SPF_NEUTRAL: {
		const char *how = res->result == SD_SPF_FAIL ?
		    "does not authorize" : res->result == SD_SPF_SOFTFAIL ?
		    "probably does not authorize" : "makes no statement about";
		snprintf(sum, sizeof sum, "SPF %s: %s %s %s (%s)%s%s%s",
		    sd_spf_code_name(res->result), d, how, ip, by,
		    res->explanation ? "; its explanation: \"" : "",
		    res->explanation ? res->explanation : "",
		    res->explanation ? "\"" : "");
		sd_finding_add(r, "dns.spf_fail", res->result == SD_SPF_FAIL ?
		    "error" : "warning", "dns", d, sum, evidence(fact_ids));
		json_t *fx = json_array();
		snprintf(fix, sizeof fix, "if %s should send for %s, add "
		    "\"%s:%s\" (or the include: its provider documents) to the "
		    "SPF record of %s", ip, d, net, ip, d);
		json_array_append_new(fx, json_string(fix));
		snprintf(fix, sizeof fix, "otherwise send through a server "
		    "the SPF record of %s already authorizes", d);
		json_array_append_new(fx, json_string(fix));
		sd_verdict_set(r, "dns.spf_fail", SD_STATUS_WARN, sum, fx,
		    evidence(fact_ids));
		break;
	}
	case SD_SPF_NONE:
		snprintf(sum, sizeof sum, "SPF none: %s", res->problem ?
		    res->problem : "no SPF record");
		sd_finding_add(r, "dns.spf_missing", "error", "dns", d, sum,
		    evidence(fact_ids));
		snprintf(fix, sizeof fix, "publish one TXT record at %s listing "
		    "every server that sends its mail, for example \"v=spf1 "
		    "%s:%s ~all\"", d, net, ip);
		sd_verdict_set(r, "dns.spf_missing", SD_STATUS_WARN, sum,
		    fix1(fix), evidence(fact_ids));
		break;
	case SD_SPF_PERMERROR:
		snprintf(sum, sizeof sum, "SPF permerror: the SPF policy of %s "
		    "is broken: %s", d, res->problem ? res->problem : "?");
		sd_finding_add(r, "dns.spf_permerror", "error", "dns", d, sum,
		    evidence(fact_ids));
		sd_verdict_set(r, "dns.spf_permerror", SD_STATUS_WARN, sum,
		    permerror_fix(res), evidence(fact_ids));
		break;
	case SD_SPF_TEMPERROR:
		snprintf(sum, sizeof sum, "SPF temperror: a DNS lookup failed, "
		    "so the result is unknown: %s", res->problem ?
		    res->problem : "?");
		sd_finding_add(r, "dns.resolution_failed", "warning", "dns", d,
		    sum, evidence(fact_ids));
		sd_verdict_set(r, "inconclusive", SD_STATUS_INCONCLUSIVE, sum,
		    fix1("run again later; if it persists, check that the name "
		    "servers of the domains in the trace answer"),
		    evidence(fact_ids));
		break;
	}

	/* what endangers a result that is not broken yet */
	if (res->result != SD_SPF_PERMERROR &&
	    res->lookups >= SPF_LOOKUPS_WARN) {
		snprintf(sum, sizeof sum, "this evaluation used %u of the 10 "
		    "DNS lookups SPF allows; a sender matched later in the "
		    "record, or one more include, gives permerror", res->lookups);
		sd_finding_add(r, "spf.lookups_near_limit", "warning", "dns", d,
		    sum, evidence(fact_ids));
	}
	if (res->result != SD_SPF_PERMERROR &&
	    res->void_lookups == SD_SPF_MAX_VOID_LOOKUPS) {
		snprintf(sum, sizeof sum, "%u lookups found nothing; one more "
		    "gives permerror (RFC 7208 section 4.6.4)",
		    res->void_lookups);
		sd_finding_add(r, "spf.void_lookups_at_limit", "warning", "dns",
		    d, sum, evidence(fact_ids));
	}
	for (size_t i = 0; i < res->n_dns; i++) {
		if (strcmp(res->dns[i].purpose, "ptr") == 0) {
			sd_finding_add(r, "spf.ptr_used", "warning", "dns", d,
			    "the policy needed the client's PTR names (a ptr "
			    "mechanism or %{p} macro): RFC 7208 says not to use "
			    "them, and large receivers may skip them",
			    evidence(fact_ids));
			break;
		}
	}
	if (res->result == SD_SPF_PASS && res->mechanism) {
		const char *m = res->mechanism;
		if (m[0] == '+')
			m++;
		if (sd_strcaseeq(m, "all")) {
			snprintf(sum, sizeof sum, "\"%s\" in the record of %s "
			    "authorizes every address on the Internet to send "
			    "as %s", res->mechanism, res->mechanism_domain ?
			    res->mechanism_domain : d, d);
			sd_finding_add(r, "spf.allows_all", "warning", "dns", d,
			    sum, evidence(fact_ids));
		}
	}
}

/* The resolver could not be made: an inconclusive report saying why. */
static int no_resolver(const sd_cli *cli, const char *err)
{
	sd_report *r = sd_report_new("spf");
	if (!r)
		return sd_cli_render(cli, NULL);
	char msg[300];
	snprintf(msg, sizeof msg, "the DNS resolver could not be set up: %s",
	    err ? err : "unknown error");
	json_t *f = json_pack("{s:s, s:s, s:b, s:s}", "id", "dns.resolver",
	    "stage", "dns", "ok", 0, "detail", msg);
	const char *ids[2] = { sd_fact_add(r, f), NULL };
	sd_finding_add(r, "dns.resolution_failed", "error", "dns", NULL, msg,
	    evidence(ids));
	sd_verdict_set(r, "inconclusive", SD_STATUS_INCONCLUSIVE, msg,
	    fix1("check --resolver and --trust-anchor, or the system's "
	    "resolver configuration"), evidence(ids));
	int code = sd_cli_render(cli, r);
	sd_report_free(r);
	return code;
}

/* What is wrong with these arguments (into err), or 0 when nothing. */
static int bad_args(const char *ip, const char *sender, const char *helo,
    char *err, size_t errlen)
{
	sd_spf_ip parsed;
	if (sd_spf_parse_ip(ip, &parsed) != 0) {
		snprintf(err, errlen, "spf: not an IP address: '%s'", ip);
		return 1;
	}
	if (sender[0] == '\0' && (!helo || !helo[0])) {
		snprintf(err, errlen, "spf: an empty sender (the null "
		    "reverse-path) needs --helo NAME");
		return 1;
	}
	return 0;
}

/* Evaluates check_host() on res and judges it: the whole report, or NULL
 * with the usage problem in err. */
static sd_report *spf_report(sd_resolver *res, const char *ip,
    const char *sender, const char *helo, double timeout, char *err,
    size_t errlen)
{
	if (bad_args(ip, sender, helo, err, errlen))
		return NULL;
	sd_report *r = sd_report_new("spf");
	if (!r)
		return NULL;
	sd_spf_result out;
	memset(&out, 0, sizeof out);
	sd_spf_params p = {
		.ip = ip, .sender = sender, .helo = helo,
		.deadline_ms = sd_now_ms() + (int64_t)(timeout * 1000.0),
	};
	if (sd_spf_check(res, &p, &out) == SD_ERR_USAGE) {
		sd_report_free(r);
		sd_spf_result_clear(&out);
		snprintf(err, errlen, "spf: not an IP address: '%s'", ip);
		return NULL;
	}

	char *record_id = add_query_facts(r, &out);
	char id[400], detail[900], by[700];
	snprintf(id, sizeof id, "spf.%s", out.domain ? out.domain : "?");
	decided_by(&out, by, sizeof by);
	snprintf(detail, sizeof detail, "SPF of %s for %s: %s (%s)",
	    out.domain ? out.domain : "?", out.ip ? out.ip : ip,
	    sd_spf_code_name(out.result), out.mechanism ? by :
	    out.problem ? out.problem : by);
	json_t *f = json_object();
	json_object_set_new(f, "id", json_string(id));
	json_object_set_new(f, "stage", json_string("domain"));
	json_object_set_new(f, "ok", json_boolean(out.result == SD_SPF_PASS));
	json_object_set_new(f, "detail", json_string(detail));
	json_object_set_new(f, "result",
	    json_string(sd_spf_code_name(out.result)));
	json_object_set_new(f, "ip", str_or_null(out.ip));
	json_object_set_new(f, "sender", str_or_null(out.sender));
	json_object_set_new(f, "helo", str_or_null(out.helo));
	json_object_set_new(f, "mechanism", str_or_null(out.mechanism));
	json_object_set_new(f, "lookups", json_integer(out.lookups));
	json_object_set_new(f, "void_lookups", json_integer(out.void_lookups));
	const char *fid = sd_fact_add(r, f);
	char *fid_copy = fid ? strdup(fid) : NULL;

	sd_report_set_extra(r, "spf", spf_object(&out));
	const char *ids[2] = { fid_copy, record_id };
	verdict_and_findings(r, &out, ids);
	free(record_id);
	free(fid_copy);
	sd_spf_result_clear(&out);
	return r;
}

/* One line of spf --batch: IP SENDER [HELO]. */
static sd_report *batch_line(const sd_cli *cli, sd_resolver *res,
    char *text, char *err, size_t errlen)
{
	char *save = NULL;
	char *ip = strtok_r(text, " \t", &save);
	char *sender = strtok_r(NULL, " \t", &save);
	char *helo = strtok_r(NULL, " \t", &save);
	if (!ip || !sender || strtok_r(NULL, " \t", &save)) {
		snprintf(err, errlen, "spf --batch: expected IP SENDER [HELO] "
		    "on the line");
		return NULL;
	}
	/* the null reverse-path has no word of its own on a line: "<>" */
	if (strcmp(sender, "<>") == 0)
		sender[0] = '\0';
	return spf_report(res, ip, sender, helo ? helo : cli->helo,
	    cli->opt.timeout, err, errlen);
}

int sd_cmd_spf(sd_cli *cli)
{
	int brc = sd_cli_batch_options(cli);
	if (brc >= 0)
		return brc;
	if (cli->batch)
		return sd_cli_batch(cli, batch_line);
	if (cli->n_positional != 2)
		return sd_cli_usage_error(cli, "spf needs two arguments: IP "
		    "DOMAIN_OR_SENDER");
	const char *ip = cli->positional[0];
	const char *sender = cli->positional[1];
	char err[512];
	if (bad_args(ip, sender, cli->helo, err, sizeof err))
		return sd_cli_usage_error(cli, "%s", err);

	const char *rerr = NULL;
	sd_resolver *res = sd_resolver_new_unbound(cli->opt.resolvers,
	    cli->opt.n_resolvers, cli->opt.trust_anchor, &rerr);
	if (!res)
		return no_resolver(cli, rerr);
	sd_report *r = spf_report(res, ip, sender, cli->helo, cli->opt.timeout,
	    err, sizeof err);
	sd_resolver_free(res);
	if (!r)
		return err[0] ? sd_cli_usage_error(cli, "%s", err) :
		    sd_cli_render(cli, NULL);
	int code = sd_cli_render(cli, r);
	sd_report_free(r);
	return code;
}
