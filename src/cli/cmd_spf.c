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

#include "cli/batch.h"
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
		const char *tn = sd_dns_type_name(q->type);
		/* the one form of a DNS lookup's id (docs/json.md) */
		snprintf(id, sizeof id, "dns.%s.%s", tn, q->name);
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
	json_object_set_new(o, "matched", str_or_null(res->matched));
	json_object_set_new(o, "matched_domain",
	    str_or_null(res->matched_domain));
	json_t *ptr = json_array();
	for (size_t i = 0; i < res->n_ptr_terms; i++)
		json_array_append_new(ptr, json_pack("{s:o, s:o}", "term",
		    str_or_null(res->ptr_terms[i].term), "domain",
		    str_or_null(res->ptr_terms[i].domain)));
	json_object_set_new(o, "ptr_terms", ptr);
	json_object_set_new(o, "problem", str_or_null(res->problem));
	json_object_set_new(o, "problem_class",
	    str_or_null(res->problem_class));
	return o;
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
	sd_fact_add(r, "resolver", json_pack("{s:s, s:s, s:b, s:s}", "id",
	    "dns.resolver", "stage", "dns", "ok", 0, "detail", msg));
	sd_rules_judge(r);
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
 * with the usage problem in err (empty: out of memory).  With `last`, res
 * is freed as soon as the evaluation is done: the report's memory then
 * takes the pages c-ares had, and a page a process touches first is dear
 * (one `spf`, two questions: 104 page faults before, 99 after). */
static sd_report *spf_report(sd_resolver *res, int last, const char *ip,
    const char *sender, const char *helo, double timeout, char *err,
    size_t errlen)
{
	err[0] = '\0';
	sd_report *r = bad_args(ip, sender, helo, err, errlen) ? NULL :
	    sd_report_new("spf");
	if (!r) {
		if (last)
			sd_resolver_free(res);
		return NULL;
	}
	sd_spf_result out;
	memset(&out, 0, sizeof out);
	sd_spf_params p = {
		.ip = ip, .sender = sender, .helo = helo,
		.deadline_ms = sd_now_ms() + (int64_t)(timeout * 1000.0),
	};
	int rc = sd_spf_check(res, &p, &out);
	if (last)
		sd_resolver_free(res);
	if (rc == SD_ERR_USAGE) {
		sd_report_free(r);
		sd_spf_result_clear(&out);
		snprintf(err, errlen, "spf: not an IP address: '%s'", ip);
		return NULL;
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
	return r;
}

/* One line of spf --batch: IP SENDER [HELO]. */
static sd_report *batch_line(const sd_cli *cli, sd_resolver *res,
    char *text, char *err, size_t errlen)
{
	int bad = 0;
	char *ip = sd_word_next(&text, &bad);
	char *sender = ip ? sd_word_next(&text, &bad) : NULL;
	char *helo = sender ? sd_word_next(&text, &bad) : NULL;
	if (bad || !ip || !sender || (helo && sd_word_next(&text, &bad))) {
		snprintf(err, errlen, "spf --batch: expected IP SENDER [HELO] "
		    "on the line (a word holding a space in double quotes)");
		return NULL;
	}
	/* the null reverse-path has no word of its own on a line: "<>" */
	if (strcmp(sender, "<>") == 0)
		sender[0] = '\0';
	return spf_report(res, 0, ip, sender, helo ? helo : cli->helo,
	    cli->opt.timeout, err, errlen);
}

/*
 * SPF needs no DNSSEC: the stub resolver, far cheaper to start than
 * libunbound (src/dns/dns_stub.c says how much), unless --trust-anchor
 * asks for validated answers.
 */
static sd_resolver *spf_resolver(const sd_cli *cli, const char **err)
{
	if (cli->opt.trust_anchor)
		return sd_resolver_new_unbound(cli->opt.resolvers,
		    cli->opt.n_resolvers, cli->opt.trust_anchor, err);
	return sd_resolver_new_stub(cli->opt.resolvers, cli->opt.n_resolvers,
	    err);
}

int sd_cmd_spf(sd_cli *cli)
{
	int brc = sd_cli_batch_options(cli);
	if (brc >= 0)
		return brc;
	/* a line is one thread's work; with the stub resolver it waits
	 * only for its answers */
	if (cli->batch)
		return sd_cli_batch(cli, batch_line, spf_resolver,
		    SD_BATCH_ONE_THREAD | (cli->opt.trust_anchor ? 0 :
		    SD_BATCH_CPU_BOUND));
	if (cli->n_positional != 2)
		return sd_cli_usage_error(cli, "spf needs two arguments: IP "
		    "DOMAIN_OR_SENDER");
	const char *ip = cli->positional[0];
	const char *sender = cli->positional[1];
	char err[512];
	if (bad_args(ip, sender, cli->helo, err, sizeof err))
		return sd_cli_usage_error(cli, "%s", err);

	const char *rerr = NULL;
	sd_resolver *res = spf_resolver(cli, &rerr);
	if (!res)
		return no_resolver(cli, rerr);
	sd_report *r = spf_report(res, 1, ip, sender, cli->helo,
	    cli->opt.timeout, err, sizeof err);
	if (!r)
		return err[0] ? sd_cli_usage_error(cli, "%s", err) :
		    sd_cli_render(cli, NULL);
	return sd_cli_render_last(cli, r);
}
