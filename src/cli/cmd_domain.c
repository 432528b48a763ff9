/*
 * `smtpdoctor domain DOMAIN`: check the inputs, run the domain audit,
 * render, exit as docs/smtpdoctor.md says.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/batch.h"
#include "cli/cli.h"
#include "cli/progress.h"
#include "mailauth/dkim.h"
#include "probe/domain.h"
#include "probe/domain_input.h"
#include "probe/score.h"
#include "probe/domain_records.h"
#include "report/report.h"
#include "util/util.h"

/* The command line's sending addresses: --ip, else this machine's
 * --public-ip (*own = 1). */
static int sd_cli_domain_ips(const sd_cli *cli, sd_domain_input *in,
    int *own, char *err, size_t errlen)
{
	for (size_t i = 0; i < cli->n_ips; i++)
		if (sd_domain_input_ip(in, "--ip", cli->ips[i], err, errlen))
			return 1;
	if (!in->n_ips && cli->opt.public_ip) {
		if (sd_domain_input_ip(in, "--public-ip", cli->opt.public_ip,
		    err, errlen))
			return 1;
		*own = 1;
	}
	return 0;
}

/* One line of domain --batch (and one exporter probe): DOMAIN [ip=ADDR]
 * [selector=NAME] ...; the command line's --ip and --selector apply to
 * lines that name none. */
sd_report *sd_cli_domain_line(const sd_cli *cli, sd_resolver *res,
    char *text, char *err, size_t errlen)
{
	sd_domain_input in = {0};
	if (sd_domain_input_line(&in, text, err, errlen))
		return NULL;
	/* checked before the batch began */
	for (size_t i = 0; !in.n_selectors && i < cli->n_selectors; i++)
		in.selectors[i] = cli->selectors[i];
	if (!in.n_selectors)
		in.n_selectors = cli->n_selectors;
	int own = 0;
	if (!in.n_ips && sd_cli_domain_ips(cli, &in, &own, err, errlen))
		return NULL;
	sd_domain_params p = {
		.domain = in.domain, .ips = in.ips, .n_ips = in.n_ips,
		.ips_are_own = own, .selectors = in.selectors,
		.n_selectors = in.n_selectors,
	};
	return sd_domain_run_shared(&cli->opt, &p, res);
}

/* The options every run takes (checked once for a batch); -1 or the usage
 * error's status. */
static int common_options(const sd_cli *cli)
{
	char err[512];
	sd_domain_input in = {0};
	for (size_t i = 0; i < cli->n_selectors; i++)
		if (sd_domain_input_selector(&in, "--selector",
		    cli->selectors[i], err, sizeof err))
			return sd_cli_usage_error(cli, "%s", err);
	/* the global options' values were checked before (main.c) */
	return -1;
}

/*
 * The batch's one resolver.  With --resolver and no --trust-anchor nothing
 * is validated (libunbound has no chain to trust), so the stub resolver
 * asks the same questions and gets the same answers for half the CPU of
 * libunbound's thread handoffs (measured on 1,000 generated domains:
 * identical reports, 5.3 s of CPU against 9.8 s).  Otherwise libunbound,
 * which validates.
 */
static sd_resolver *batch_resolver(const sd_cli *cli, const char **err)
{
	if (!cli->opt.n_resolvers || cli->opt.trust_anchor)
		return sd_resolver_new_unbound(cli->opt.resolvers,
		    cli->opt.n_resolvers, cli->opt.trust_anchor, err);
	return sd_resolver_new_stub(cli->opt.resolvers, cli->opt.n_resolvers,
	    err);
}

int sd_cmd_domain(sd_cli *cli)
{
	int rc = sd_cli_batch_options(cli);
	if (rc < 0)
		rc = common_options(cli);
	if (rc >= 0)
		return rc;
	if (cli->batch) {
		if (cli->message_file || cli->score)
			return sd_cli_usage_error(cli, "domain --batch takes no "
			    "--message or --score");
		return sd_cli_batch(cli, sd_cli_domain_line, batch_resolver,
		    0);
	}
	if (cli->n_positional != 1)
		return sd_cli_usage_error(cli, "domain: expected one DOMAIN "
		    "(smtpdoctor domain example.com)");
	sd_domain_input in = {0};
	char err[512];
	int own = 0;
	if (sd_domain_input_domain(&in, cli->positional[0], err, sizeof err) ||
	    sd_cli_domain_ips(cli, &in, &own, err, sizeof err))
		return sd_cli_usage_error(cli, "%s", err);

	if (cli->score && !cli->message_file)
		return sd_cli_usage_error(cli, "--score needs --message FILE "
		    "(the message to score)");
	if (sd_cli_score_check(cli))
		return 2;
	char *message = NULL;
	size_t message_len = 0;
	if (cli->message_file) {
		message = sd_cli_read(cli->message_file, SD_DKIM_MESSAGE_MAX,
		    &message_len);
		if (!message)
			return sd_cli_usage_error(cli, "--message: cannot read "
			    "'%s': %s", cli->message_file, errno == EFBIG ?
			    "larger than the limit" : strerror(errno));
	}

	sd_domain_params p = {
		.domain = in.domain, .ips = in.ips, .n_ips = in.n_ips,
		.ips_are_own = own, .selectors = cli->selectors,
		.n_selectors = cli->n_selectors, .message = message,
		.message_len = message_len, .message_name = cli->message_file,
	};
	if (cli->opt.verbose > 0)
		fprintf(stderr, "smtpdoctor: checking %s (deadline %.1f s)\n",
		    in.domain, cli->opt.timeout);
	sd_cli_progress *progress = sd_cli_progress_start(&cli->opt,
	    cli->json);
	sd_report *r = sd_domain_run(&cli->opt, &p);
	sd_cli_progress_stop(progress, &cli->opt);
	if (cli->score)
		sd_cli_score(cli, r, message, message_len);
	free(message);
	rc = sd_cli_render(cli, r);
	int abandoned = r && sd_fact_get(r->facts, "domain.deadline");
	sd_report_free(r);
	if (abandoned) {
		/* checks cut off by the deadline still hold OpenSSL and the
		 * resolver: leave without running library destructors under
		 * them */
		fflush(stdout);
		fflush(stderr);
		_exit(rc);
	}
	return rc;
}
