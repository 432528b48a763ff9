/*
 * `smtpdoctor domain DOMAIN`: check the inputs, run the domain audit,
 * render, exit per SPEC §3.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "mailauth/dkim.h"
#include "probe/domain.h"
#include "probe/score.h"
#include "probe/domain_records.h"
#include "report/report.h"
#include "util/util.h"

static int readable(const char *path)
{
	FILE *fp = fopen(path, "r");
	if (!fp)
		return 0;
	fclose(fp);
	return 1;
}

/* Canonical text of an address ("2001:DB8::1" -> "2001:db8::1"). */
static int canonical_ip(const char *in, char *out, size_t len)
{
	unsigned char b[16];
	if (inet_pton(AF_INET, in, b) == 1)
		return inet_ntop(AF_INET, b, out, (socklen_t)len) != NULL;
	if (inet_pton(AF_INET6, in, b) == 1)
		return inet_ntop(AF_INET6, b, out, (socklen_t)len) != NULL;
	return 0;
}

int sd_cmd_domain(sd_cli *cli)
{
	if (cli->n_positional != 1)
		return sd_cli_usage_error(cli, "domain: expected one DOMAIN "
		    "(smtpdoctor domain example.com)");
	const char *arg = cli->positional[0];
	char domain[256];
	if (strchr(arg, '@'))
		return sd_cli_usage_error(cli, "domain: '%s' is an address; "
		    "give its domain (the part after '@')", arg);
	for (const unsigned char *p = (const unsigned char *)arg; *p; p++)
		if (*p >= 0x80)
			return sd_cli_usage_error(cli, "domain: '%s' is not "
			    "ASCII; give the xn-- (A-label) form", arg);
	if (strlen(arg) >= sizeof domain || !sd_hostname_valid(arg))
		return sd_cli_usage_error(cli, "domain: '%s' is not a domain "
		    "name", arg);
	size_t n = 0;
	for (; arg[n]; n++)
		domain[n] = sd_tolower(arg[n]);
	domain[n] = '\0';
	if (n && domain[n - 1] == '.')
		domain[n - 1] = '\0';

	/* the sending addresses: --ip, else this machine's --public-ip */
	static char ipbuf[SD_CLI_MAX_LIST][INET6_ADDRSTRLEN];
	const char *ips[SD_CLI_MAX_LIST];
	size_t n_ips = 0;
	int own = 0;
	if (cli->n_ips > SD_DOMAIN_MAX_IPS)
		return sd_cli_usage_error(cli, "domain: at most %d --ip",
		    SD_DOMAIN_MAX_IPS);
	for (size_t i = 0; i < cli->n_ips; i++) {
		if (!canonical_ip(cli->ips[i], ipbuf[n_ips], sizeof ipbuf[0]))
			return sd_cli_usage_error(cli, "--ip: '%s' is not an "
			    "IPv4 or IPv6 address", cli->ips[i]);
		ips[n_ips] = ipbuf[n_ips];
		n_ips++;
	}
	if (!n_ips && cli->opt.public_ip) {
		if (!canonical_ip(cli->opt.public_ip, ipbuf[0], sizeof ipbuf[0]))
			return sd_cli_usage_error(cli, "--public-ip: '%s' is not "
			    "an IPv4 or IPv6 address", cli->opt.public_ip);
		ips[n_ips++] = ipbuf[0];
		own = 1;
	}
	if (cli->n_selectors > SD_DOMAIN_MAX_SELECTORS)
		return sd_cli_usage_error(cli, "domain: at most %d --selector",
		    SD_DOMAIN_MAX_SELECTORS);
	for (size_t i = 0; i < cli->n_selectors; i++)
		if (!sd_dkim_valid_domain(cli->selectors[i],
		    strlen(cli->selectors[i]), 1))
			return sd_cli_usage_error(cli, "--selector: '%s' is not "
			    "a DKIM selector", cli->selectors[i]);
	for (size_t i = 0; i < cli->opt.n_dnsbl; i++)
		if (!sd_hostname_valid(cli->opt.dnsbl[i]))
			return sd_cli_usage_error(cli, "--dnsbl: '%s' is not a "
			    "zone name", cli->opt.dnsbl[i]);
	for (size_t i = 0; i < cli->opt.n_dbl; i++)
		if (!sd_hostname_valid(cli->opt.dbl[i]))
			return sd_cli_usage_error(cli, "--dbl: '%s' is not a "
			    "zone name", cli->opt.dbl[i]);
	if (cli->opt.trust_anchor && !readable(cli->opt.trust_anchor))
		return sd_cli_usage_error(cli, "--trust-anchor: cannot read "
		    "'%s'", cli->opt.trust_anchor);
	if (cli->opt.ca_file && !readable(cli->opt.ca_file))
		return sd_cli_usage_error(cli, "--ca-file: cannot read '%s'",
		    cli->opt.ca_file);

	sd_scorer scorer;
	int named_scorer = 0;
	if (cli->score && !cli->message_file)
		return sd_cli_usage_error(cli, "--score needs --message FILE "
		    "(the message to score)");
	if (sd_cli_score_check(cli, &scorer, &named_scorer))
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
		.domain = domain, .ips = ips, .n_ips = n_ips,
		.ips_are_own = own, .selectors = cli->selectors,
		.n_selectors = cli->n_selectors, .message = message,
		.message_len = message_len, .message_name = cli->message_file,
	};
	if (cli->opt.verbose > 0)
		fprintf(stderr, "smtpdoctor: checking %s (deadline %.1f s)\n",
		    domain, cli->opt.timeout);
	sd_cli_progress *progress = sd_cli_progress_start(&cli->opt,
	    cli->json);
	sd_report *r = sd_domain_run(&cli->opt, &p);
	sd_cli_progress_stop(progress, &cli->opt);
	if (cli->score)
		sd_cli_score(cli, named_scorer ? &scorer : NULL, r, message,
		    message_len);
	free(message);
	int rc = sd_cli_render(cli, r);
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
