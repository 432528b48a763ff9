/* `smtpdoctor check`: build the inputs, run, render (docs/smtpdoctor.md). */
#include <arpa/inet.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "cli/secret.h"
#include "probe/score.h"
#include "probe/session.h"
#include "report/report.h"
#include "smtp/sasl.h"
#include "settings/clientconf.h"
#include "settings/server.h"
#include "util/util.h"

/* What the file says fills what the flags left open (flags win). */
int sd_cli_account_load(const char *spec, sd_cli_account *a,
    sd_check_params *cp, char *err, size_t errlen)
{
	sd_client_conf *c = &a->conf;
	if (sd_client_conf_load(spec, c) != 0) {
		snprintf(err, errlen, "--config: %s", c->error);
		return -1;
	}
	if (!cp->server) {
		/* the file's host goes through the same reading as --server */
		char serr[300];
		if (sd_server_parse(c->host, &a->spec, serr, sizeof serr) != 0) {
			sd_client_conf_wipe(c);
			snprintf(err, errlen, "--config: %s line %d: %s",
			    c->host_file[0] ? c->host_file : c->file,
			    c->host_line, serr + 10);
			return -1;
		}
		cp->server = a->spec.host;
	}
	if (!cp->port)
		cp->port = c->port;
	if (!cp->tls)
		cp->tls = c->tls;
	if (!cp->user && !c->no_auth && c->user[0])
		cp->user = c->user;
	if (!cp->from && c->from[0])
		cp->from = c->from;
	if (!cp->auth_mech && c->auth[0] && sd_sasl_find(c->auth))
		cp->auth_mech = c->auth;
	/* a server set in an included file: its lines are the ones to
	 * change, there */
	const char *where = c->host_file[0] ? c->host_file : c->file;
	snprintf(a->detail, sizeof a->detail, "%.500s line %d (%s%s%.255s%s"
	    "%.300s)", where, c->host_line, c->format, c->account[0] ? ", " :
	    "", c->account, c->host_file[0] ? "; included from " : "",
	    c->host_file[0] ? c->file : "");
	cp->source = "config";
	cp->source_detail = a->detail;
	a->src = (sd_client_source){ c->format, where, c->account,
	    c->git_prefix, c->url_user, { NULL }, c->n_notes };
	for (int i = 0; i < c->n_notes && i < 4; i++)
		a->src.notes[i] = c->notes[i];
	cp->client = &a->src;
	return 0;
}

/*
 * The password the file holds or names, when no flag gives one: a
 * passwordeval runs only when the file is the invoking user's own and
 * nobody else may write it (someone else's file must not run commands as
 * this user), under the --password-cmd limit and half the run's --timeout.
 */
int sd_cli_account_secret(sd_cli_account *a, sd_check_params *cp,
    double timeout_s, char **secret)
{
	sd_client_conf *c = &a->conf;
	char what[1200], why[200], err[1400];
	if (c->password) {
		*secret = strdup(c->password);
		sd_client_conf_wipe(c);
		return *secret ? 0 : -1;
	}
	if (!c->password_cmd[0] || !cp->user)
		return 0;
	snprintf(what, sizeof what, "passwordeval in %s line %d", c->file,
	    c->password_cmd_line);
	if (!sd_client_conf_owned(c->file, why, sizeof why)) {
		snprintf(a->note, sizeof a->note, "%.380s was not run: %.190s",
		    what, why);
		cp->password_note = a->note;
		return 0;
	}
	/* the command may take half the run: the rest is the check's own,
	 * so a hanging command still leaves time to say what it cost */
	double limit = timeout_s * 500 < SD_SECRET_CMD_MS ? timeout_s * 500 :
	    SD_SECRET_CMD_MS;
	*secret = sd_secret_from_command(c->password_cmd, (int64_t)limit, what,
	    err, sizeof err);
	/* a file's command that fails is a finding, not a usage error: the
	 * check goes on without AUTH and says why */
	if (!*secret) {
		snprintf(a->note, sizeof a->note, "%.590s", err);
		cp->password_note = a->note;
	}
	return 0;
}

int sd_cmd_check(sd_cli *cli)
{
	if (cli->score && !cli->check.send)
		return sd_cli_usage_error(cli, "--score needs --send (the test "
		    "message is what gets scored)");
	if (sd_cli_score_check(cli))
		return 2;
	sd_check_params *cp = &cli->check;
	static sd_cli_account acct;
	char cerr[1500];
	if (cli->config && sd_cli_account_load(cli->config, &acct, cp, cerr,
	    sizeof cerr) != 0)
		return sd_cli_usage_error(cli, "%s", cerr);
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
	/* -4/-6 and a server address of the other family: nothing could
	 * be probed, and no verdict would say why */
	unsigned char addr[16];
	if (cp->server && cli->opt.family > 0 && inet_pton(cli->opt.family ==
	    6 ? AF_INET : AF_INET6, cp->server, addr) == 1)
		return sd_cli_usage_error(cli, "-%d: the server %s is an IPv%d "
		    "address", cli->opt.family, cp->server,
		    cli->opt.family == 6 ? 4 : 6);
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
	int flag_secret = cli->password_file || cli->password_env ||
	    cli->password_cmd;
	int64_t t_secret = sd_now_ms();
	if (cli->config && !flag_secret && sd_cli_account_secret(&acct, cp,
	    cli->opt.timeout, &secret) != 0)
		return sd_cli_usage_error(cli, "out of memory");
	/* --timeout is the whole run's: a slow passwordeval spent part of it */
	double spent = (double)(sd_now_ms() - t_secret) / 1000;
	if (spent > 0.05)
		cli->opt.timeout = cli->opt.timeout - spent > 0.3 ?
		    cli->opt.timeout - spent : 0.3;
	sd_client_conf_wipe(&acct.conf);
	if (!secret && (cp->user || flag_secret) && !cp->password_note) {
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
	cp->score = cli->score;
	cp->scorer = cli->scorer;
	/* the run's 30-odd threads (probes, discovery's sources, lookups,
	 * the sender's audit) wait on the network, not on malloc's lock:
	 * one arena each would keep ~0.5 MiB of freed memory between them */
	mallopt(M_ARENA_MAX, 2);
	sd_cli_progress *progress = sd_cli_progress_start(&cli->opt,
	    cli->json);
	sd_report *r = sd_check(&cli->opt, cp);
	sd_cli_progress_stop(progress, &cli->opt);
	cp->password = NULL;
	sd_secret_free(secret);
	int rc = sd_cli_render(cli, r);
	sd_report_free(r);
	return rc;
}
