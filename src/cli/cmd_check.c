/* `smtpdoctor check`: build the inputs, run, render (SPEC §2). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "cli/secret.h"
#include "probe/score.h"
#include "probe/session.h"
#include "report/report.h"
#include "smtp/sasl.h"
#include "settings/server.h"

/* A reserved form: exit 2, with the JSON error document under --json. */
static int reserved(const sd_cli *cli, const char *what)
{
	return sd_cli_usage_error(cli, "%s: not implemented yet", what);
}

int sd_cmd_check(sd_cli *cli)
{
	sd_scorer scorer;
	int named_scorer = 0;
	if (cli->score && !cli->check.send)
		return sd_cli_usage_error(cli, "--score needs --send (the test "
		    "message is what gets scored)");
	if (sd_cli_score_check(cli, &scorer, &named_scorer))
		return 2;
	sd_check_params *cp = &cli->check;
	if (cli->config)
		return reserved(cli, "--config");
	/* the forms people type (HOST:PORT, URLs) are read here, so that
	 * none of them reaches DNS as a "name" */
	if (cp->server) {
		static sd_server_spec spec;
		char serr[300];
		if (sd_server_parse(cp->server, &spec, serr, sizeof serr) != 0 ||
		    sd_server_merge(&spec, &cp->port, &cp->tls, &cp->user, serr,
		    sizeof serr) != 0)
			return sd_cli_usage_error(cli, "%s", serr);
		cp->server = spec.host;
	}
	if (cli->n_positional > 1)
		return sd_cli_usage_error(cli, "check takes at most one ADDRESS");
	if (cli->n_positional == 1) {
		cp->address = cli->positional[0];
		if (!strchr(cp->address, '@'))
			return sd_cli_usage_error(cli, "'%s' is not an e-mail "
			    "address", cp->address);
		if (!cp->from)
			cp->from = cp->address;
		if (!cp->user)
			cp->user = cp->address;
	}
	if (!cp->server && !cp->address)
		return sd_cli_usage_error(cli, "check needs an ADDRESS, "
		    "--server HOST or --config FILE");
	if (cp->auth_mech && !sd_sasl_find(cp->auth_mech))
		return sd_cli_usage_error(cli, "--auth: unknown mechanism '%.40s' "
		    "(smtpdoctor speaks PLAIN, LOGIN, CRAM-MD5, XOAUTH2 and "
		    "OAUTHBEARER)", cp->auth_mech);
	/* RFC 5321 §4.5.3.1: 254 octets of path, 255 of domain */
	if ((cp->from && strlen(cp->from) > 254) || (cp->to &&
	    strlen(cp->to) > 254))
		return sd_cli_usage_error(cli, "--from/--to: an address is at "
		    "most 254 characters");
	if (cp->ehlo && (strlen(cp->ehlo) > 255 || !*cp->ehlo))
		return sd_cli_usage_error(cli, "--ehlo: a name of 1 to 255 "
		    "characters");
	if (cp->user && strlen(cp->user) > 512)
		return sd_cli_usage_error(cli, "--user: too long");
	if (!cp->to)
		cp->to = cp->from;

	char *secret = NULL;
	char err[400] = "";
	if (cp->user || cli->password_file || cli->password_env ||
	    cli->password_cmd) {
		sd_secret_rc rc = sd_secret_read(cli->password_file,
		    cli->password_env, cli->password_cmd, cp->user, &secret, err,
		    sizeof err);
		if (rc == SD_SECRET_ERROR)
			return sd_cli_usage_error(cli, "%s", err);
		if (rc == SD_SECRET_NONE)
			cp->password_note = "no --password-file, --password-env or "
			    "--password-cmd, and no terminal to ask on";
		if (!cp->user && secret) {
			sd_secret_free(secret);
			return sd_cli_usage_error(cli, "a password source needs "
			    "--user");
		}
	}
	cp->password = secret;
	sd_cli_progress *progress = sd_cli_progress_start(&cli->opt,
	    cli->json);
	sd_report *r = sd_check(&cli->opt, cp);
	sd_cli_progress_stop(progress, &cli->opt);
	cp->password = NULL;
	sd_secret_free(secret);
	if (cli->score) {
		/* the message the run sent (or would have sent) */
		const char *from = cp->from ? cp->from : cp->address;
		const char *to = cp->to ? cp->to : from;
		char msg[2048];
		int n = from ? sd_check_test_message(msg, sizeof msg, cp->ehlo,
		    from, to) : -1;
		if (n > 0)
			sd_cli_score(cli, named_scorer ? &scorer : NULL, r, msg,
			    (size_t)n);
	}
	int rc = sd_cli_render(cli, r);
	sd_report_free(r);
	return rc;
}
