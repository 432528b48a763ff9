/*
 * `smtpdoctor bounce [FILE|-]`: explains a message that came back.  Reads
 * the bounce (bounce/bounce.h), records it as facts, optionally runs the
 * probes that confirm the cause now (--recheck), and judges
 * (rules/bounce_rules.h).  Exit: 1 failed delivery, 0 delayed (warn) or
 * delivered, 3 cause not named, 2 not a message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "bounce/bounce.h"
#include "cli/cli.h"
#include "probe/domain.h"
#include "probe/domain_dnsbl.h"
#include "report/report.h"
#include "rules/bounce_rules.h"

/*
 * --recheck: audits the domain the cause is about (the sender's for SPF,
 * DKIM, DMARC, reverse DNS and blocklists, with the sending address and
 * the returned message; the recipient's for a TLS requirement) as
 * `domain` does, and adds its facts and a "bounce.recheck" fact saying
 * what was probed.  Returns 1 when lookups were cut off by the deadline
 * (they still hold the resolver: the process must leave with _exit).
 */
static int run_recheck(sd_cli *cli, sd_report *r, const sd_bounce *b)
{
	sd_bounce_plan plan;
	sd_bounce_recheck_plan(r->facts, &plan);
	const char *ips[1] = { plan.ip };
	/* an address the user gives wins over the one the bounce names */
	if (cli->n_ips)
		plan.ip = cli->ips[0], ips[0] = plan.ip;
	json_t *f = json_pack("{s:s, s:s, s:b}", "id", "bounce.recheck",
	    "stage", "content", "ran", plan.target != NULL);
	if (plan.cause)
		json_object_set_new(f, "cause", json_string(plan.cause));
	if (!plan.target) {
		json_object_set_new(f, "why", json_string(plan.why));
		json_object_set_new(f, "detail", json_string(plan.why));
		sd_fact_add(r, f);
		return 0;
	}
	sd_domain_params p = {
		.domain = plan.domain,
		.ips = ips, .n_ips = plan.ip ? 1 : 0,
		.selectors = cli->selectors, .n_selectors = cli->n_selectors,
		.message = plan.with_message ? b->returned : NULL,
		.message_len = plan.with_message ? b->returned_len : 0,
		.message_name = plan.with_message ? "the returned message" : NULL,
	};
	if (cli->opt.verbose > 0)
		fprintf(stderr, "smtpdoctor: rechecking %s (%s)\n", plan.domain,
		    plan.cause);
	/* the list the refusal names is asked too, unless --dnsbl chose */
	sd_options opt = cli->opt;
	const char *zones[SD_DOMAIN_MAX_ZONES + 1];
	if (plan.zone[0] && !opt.dnsbl_set) {
		size_t nz = sd_dnsbl_defaults(0, zones, SD_DOMAIN_MAX_ZONES);
		int known = 0;
		for (size_t i = 0; i < nz; i++)
			known |= strcmp(zones[i], plan.zone) == 0;
		if (!known)
			zones[nz++] = plan.zone;
		opt.dnsbl = zones;
		opt.n_dnsbl = nz;
		opt.dnsbl_set = 1;
		json_object_set_new(f, "zone", json_string(plan.zone));
	}
	sd_report *dr = sd_domain_run(&opt, &p);
	int abandoned = dr && sd_fact_get(dr->facts, "domain.deadline");
	size_t i;
	json_t *x;
	if (dr)
		json_array_foreach(dr->facts, i, x)
			sd_fact_add(r, json_deep_copy(x));
	json_object_set_new(f, "target", json_string(plan.target));
	json_object_set_new(f, "domain", json_string(plan.domain));
	if (plan.ip)
		json_object_set_new(f, "ip", json_string(plan.ip));
	char detail[400];
	snprintf(detail, sizeof detail, "rechecked %s%s%s for %s", plan.domain,
	    plan.ip ? " and " : "", plan.ip ? plan.ip : "", plan.cause);
	json_object_set_new(f, "detail", json_string(detail));
	sd_fact_add(r, f);
	sd_report_free(dr);
	return abandoned;
}

int sd_cmd_bounce(sd_cli *cli)
{
	if (cli->n_positional > 1)
		return sd_cli_usage_error(cli, "bounce takes one FILE (or -)");
	const char *path = cli->n_positional ? cli->positional[0] : "-";
	size_t len = 0;
	char *text = sd_cli_read(path, SD_BOUNCE_MAX_INPUT, &len);
	int err = errno;
	if (!text)
		return sd_cli_usage_error(cli, "%s: %s", path, err == EFBIG ?
		    "larger than 64 MiB: not a bounce this tool reads" :
		    strerror(err));
	sd_bounce b;
	int rc = sd_bounce_parse(text, len, &b);
	if (rc == 0 && b.kind == SD_BOUNCE_NOT_MESSAGE) {
		int binary = b.binary;
		sd_bounce_free(&b);
		free(text);
		return sd_cli_usage_error(cli, "%s: not a message (%s)", path,
		    len == 0 ? "empty" : binary ? "binary data" :
		    "no mail header fields and no delivery report in it");
	}
	sd_report *r = rc == 0 ? sd_report_new("bounce") : NULL;
	int abandoned = 0;
	if (r) {
		sd_bounce_facts(r, &b);
		if (cli->recheck)
			abandoned = run_recheck(cli, r, &b);
		sd_bounce_rules(r);
		r->elapsed_ms = sd_report_t_ms(r);
	}
	sd_bounce_free(&b);
	free(text);
	int ex = sd_cli_render(cli, r);
	sd_report_free(r);
	if (abandoned) {
		/* lookups cut off by the deadline still hold the resolver */
		fflush(stdout);
		fflush(stderr);
		_exit(ex);
	}
	return ex;
}
