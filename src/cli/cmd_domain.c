/*
 * `smtpdoctor domain DOMAIN`: check the inputs, run the domain audit,
 * render, exit as docs/smtpdoctor.md says.
 */
#include <arpa/inet.h>
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

/* DOMAIN checked and lowercased into domain (256 bytes), without its
 * trailing dot; 0, or 1 with the problem in err. */
static int domain_arg(const char *arg, char *domain, char *err, size_t errlen)
{
	if (strchr(arg, '@')) {
		snprintf(err, errlen, "domain: '%s' is an address; give its "
		    "domain (the part after '@')", arg);
		return 1;
	}
	for (const unsigned char *p = (const unsigned char *)arg; *p; p++)
		if (*p >= 0x80) {
			snprintf(err, errlen, "domain: '%s' is not ASCII; give "
			    "the xn-- (A-label) form", arg);
			return 1;
		}
	if (strlen(arg) >= 256 || !sd_hostname_valid(arg)) {
		snprintf(err, errlen, "domain: '%s' is not a domain name", arg);
		return 1;
	}
	size_t n = 0;
	for (; arg[n]; n++)
		domain[n] = sd_tolower(arg[n]);
	domain[n] = '\0';
	if (n && domain[n - 1] == '.')
		domain[n - 1] = '\0';
	return 0;
}

/* One sending address, canonical, appended to ips (storage in buf). */
static int ip_arg(const char *what, const char *arg, char (*buf)[INET6_ADDRSTRLEN],
    const char **ips, size_t *n_ips, char *err, size_t errlen)
{
	if (*n_ips >= SD_DOMAIN_MAX_IPS) {
		snprintf(err, errlen, "domain: at most %d %s",
		    SD_DOMAIN_MAX_IPS, what);
		return 1;
	}
	if (!canonical_ip(arg, buf[*n_ips], sizeof buf[0])) {
		snprintf(err, errlen, "%s: '%s' is not an IPv4 or IPv6 "
		    "address", what, arg);
		return 1;
	}
	ips[*n_ips] = buf[*n_ips];
	(*n_ips)++;
	return 0;
}

static int selector_arg(const char *what, const char *arg, const char **sel,
    size_t *n_sel, char *err, size_t errlen)
{
	if (*n_sel >= SD_DOMAIN_MAX_SELECTORS) {
		snprintf(err, errlen, "domain: at most %d %s",
		    SD_DOMAIN_MAX_SELECTORS, what);
		return 1;
	}
	if (!sd_dkim_valid_domain(arg, strlen(arg), 1)) {
		snprintf(err, errlen, "%s: '%s' is not a DKIM selector", what,
		    arg);
		return 1;
	}
	sel[(*n_sel)++] = arg;
	return 0;
}

/* One line of domain --batch (and one exporter probe): DOMAIN [ip=ADDR]
 * [selector=NAME] ...; the command line's --ip and --selector apply to
 * lines that name none. */
sd_report *sd_cli_domain_line(const sd_cli *cli, sd_resolver *res,
    char *text, char *err, size_t errlen)
{
	char domain[256], ipbuf[SD_DOMAIN_MAX_IPS][INET6_ADDRSTRLEN];
	const char *ips[SD_DOMAIN_MAX_IPS], *sel[SD_DOMAIN_MAX_SELECTORS];
	size_t n_ips = 0, n_sel = 0;
	char *save = NULL;
	char *word = strtok_r(text, " \t", &save);
	if (!word || domain_arg(word, domain, err, errlen))
		return NULL;
	while ((word = strtok_r(NULL, " \t", &save))) {
		int bad = 1;
		if (strncmp(word, "ip=", 3) == 0)
			bad = ip_arg("ip=", word + 3, ipbuf, ips, &n_ips, err,
			    errlen);
		else if (strncmp(word, "selector=", 9) == 0)
			bad = selector_arg("selector=", word + 9, sel, &n_sel,
			    err, errlen);
		else
			snprintf(err, errlen, "domain --batch: '%s' is not "
			    "ip=ADDR or selector=NAME", word);
		if (bad)
			return NULL;
	}
	for (size_t i = 0; !n_sel && i < cli->n_selectors; i++)
		sel[i] = cli->selectors[i];
	if (!n_sel)
		n_sel = cli->n_selectors;   /* checked before the batch began */
	for (size_t i = 0; !n_ips && i < cli->n_ips; i++)
		if (ip_arg("--ip", cli->ips[i], ipbuf, ips, &n_ips, err, errlen))
			return NULL;
	int own = 0;
	if (!n_ips && cli->opt.public_ip) {
		if (ip_arg("--public-ip", cli->opt.public_ip, ipbuf, ips, &n_ips,
		    err, errlen))
			return NULL;
		own = 1;
	}
	sd_domain_params p = {
		.domain = domain, .ips = ips, .n_ips = n_ips,
		.ips_are_own = own, .selectors = sel, .n_selectors = n_sel,
	};
	return sd_domain_run_shared(&cli->opt, &p, res);
}

/* The options every run takes (checked once for a batch); -1 or the usage
 * error's status. */
static int common_options(const sd_cli *cli)
{
	char err[512];
	const char *sel[SD_DOMAIN_MAX_SELECTORS];
	size_t n_sel = 0;
	for (size_t i = 0; i < cli->n_selectors; i++)
		if (selector_arg("--selector", cli->selectors[i], sel, &n_sel,
		    err, sizeof err))
			return sd_cli_usage_error(cli, "%s", err);
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

	return -1;
}

/*
 * The batch's one resolver.  With --resolver and no --trust-anchor nothing
 * is validated (libunbound has no chain to trust), so the stub resolver
 * asks the same questions and gets the same answers for half the CPU of
 * libunbound's thread handoffs (measured on 1,000 generated domains:
 * identical reports, 5.3 s of CPU against 9.8 s).  Otherwise NULL: the
 * batch makes its libunbound context, which validates.
 */
static sd_resolver *batch_resolver(const sd_cli *cli)
{
	if (!cli->opt.n_resolvers || cli->opt.trust_anchor)
		return NULL;
	const char *err = NULL;
	return sd_resolver_new_stub(cli->opt.resolvers, cli->opt.n_resolvers,
	    &err);
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
		return sd_cli_batch(cli, sd_cli_domain_line,
		    batch_resolver(cli));
	}
	if (cli->n_positional != 1)
		return sd_cli_usage_error(cli, "domain: expected one DOMAIN "
		    "(smtpdoctor domain example.com)");
	char domain[256], err[512];
	if (domain_arg(cli->positional[0], domain, err, sizeof err))
		return sd_cli_usage_error(cli, "%s", err);

	/* the sending addresses: --ip, else this machine's --public-ip */
	static char ipbuf[SD_DOMAIN_MAX_IPS][INET6_ADDRSTRLEN];
	const char *ips[SD_DOMAIN_MAX_IPS];
	size_t n_ips = 0;
	int own = 0;
	for (size_t i = 0; i < cli->n_ips; i++)
		if (ip_arg("--ip", cli->ips[i], ipbuf, ips, &n_ips, err,
		    sizeof err))
			return sd_cli_usage_error(cli, "%s", err);
	if (!n_ips && cli->opt.public_ip) {
		if (ip_arg("--public-ip", cli->opt.public_ip, ipbuf, ips, &n_ips,
		    err, sizeof err))
			return sd_cli_usage_error(cli, "%s", err);
		own = 1;
	}

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
