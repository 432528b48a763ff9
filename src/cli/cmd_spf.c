/*
 * smtpdoctor spf IP DOMAIN_OR_SENDER [--helo NAME]
 *
 * Runs check_host() through the tool's own resolver and reports the
 * result with its trace: the "spf" member (docs/json.md), one fact per DNS
 * query (stage "domain"); the rules (rules/spf_rules.c) add a finding per
 * problem and the verdict.  Exit 0 for every definite result (scripts read
 * spf.result), 3 for temperror.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "dns/dns.h"
#include "mailauth/spf.h"
#include "report/report.h"
#include "rules/rules.h"
#include "util/util.h"

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

/* One fact per DNS query; quiet in text (the trace tells the same). */
static void add_query_facts(sd_report *r, const sd_spf_result *res)
{
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
		sd_fact_add(r, "spf_query", f);
	}
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
	json_object_set_new(o, "problem_class",
	    str_or_null(res->problem_class));
	return o;
}

int sd_cmd_spf(sd_cli *cli)
{
	if (cli->n_positional != 2)
		return sd_cli_usage_error(cli, "spf needs two arguments: IP "
		    "DOMAIN_OR_SENDER");
	const char *ip = cli->positional[0];
	const char *sender = cli->positional[1];
	sd_spf_ip parsed;
	if (sd_spf_parse_ip(ip, &parsed) != 0)
		return sd_cli_usage_error(cli, "spf: not an IP address: '%s'",
		    ip);
	if (sender[0] == '\0' && (!cli->helo || !cli->helo[0]))
		return sd_cli_usage_error(cli, "spf: an empty sender (the null "
		    "reverse-path) needs --helo NAME");

	sd_report *r = sd_report_new("spf");
	if (!r)
		return sd_cli_render(cli, NULL);
	int64_t deadline = sd_now_ms() + (int64_t)(cli->opt.timeout * 1000.0);
	const char *err = NULL;
	sd_resolver *res = sd_resolver_new_unbound(cli->opt.resolvers,
	    cli->opt.n_resolvers, cli->opt.trust_anchor, &err);

	sd_spf_result out;
	memset(&out, 0, sizeof out);
	if (!res) {
		char msg[300];
		snprintf(msg, sizeof msg, "the DNS resolver could not be set "
		    "up: %s", err ? err : "unknown error");
		sd_fact_add(r, "resolver", json_pack("{s:s, s:s, s:b, s:s}", "id",
		    "dns.resolver", "stage", "dns", "ok", 0, "detail", msg));
		sd_rules_judge(r);
		int code = sd_cli_render(cli, r);
		sd_report_free(r);
		return code;
	}

	sd_spf_params p = {
		.ip = ip, .sender = sender, .helo = cli->helo,
		.deadline_ms = deadline,
	};
	sd_error rc = sd_spf_check(res, &p, &out);
	sd_resolver_free(res);
	if (rc == SD_ERR_USAGE) {
		sd_report_free(r);
		sd_spf_result_clear(&out);
		return sd_cli_usage_error(cli, "spf: not an IP address: '%s'",
		    ip);
	}

	add_query_facts(r, &out);
	char id[400], detail[900], by[700];
	snprintf(id, sizeof id, "spf.%s", out.domain ? out.domain : "?");
	if (out.mechanism)
		snprintf(by, sizeof by, "\"%s\" in the record of %s",
		    out.mechanism, out.mechanism_domain ? out.mechanism_domain :
		    "?");
	snprintf(detail, sizeof detail, "SPF of %s for %s: %s (%s)",
	    out.domain ? out.domain : "?", out.ip ? out.ip : ip,
	    sd_spf_code_name(out.result), out.mechanism ? by : out.problem ?
	    out.problem : "no mechanism matched (the default)");
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
	sd_fact_add(r, "spf_result", f);
	sd_report_set_extra(r, "spf", spf_object(&out));
	sd_spf_result_clear(&out);
	sd_rules_judge(r);

	int code = sd_cli_render(cli, r);
	sd_report_free(r);
	return code;
}
