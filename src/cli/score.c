/*
 * --score and --scorer.  check --send scores its test message inside the
 * run (sd_check_params.score), where content.spam_score is a rule of the
 * table; domain --message scores the message after the domain's probes,
 * and the verdict takes its answer into account (rules/score_rules.h).
 */
#include "cli/cli.h"
#include "probe/score.h"
#include "report/report.h"
#include "rules/score_rules.h"

int sd_cli_score_check(const sd_cli *cli)
{
	sd_scorer sc;
	const char *why = NULL;
	if (cli->scorer && sd_scorer_parse(cli->scorer, &sc, &why) != 0)
		return sd_cli_usage_error(cli, "--scorer '%s': %s", cli->scorer,
		    why);
	return 0;
}

void sd_cli_score(const sd_cli *cli, sd_report *r, const char *msg,
    size_t len)
{
	if (!r)
		return;
	sd_score_with(r, cli->scorer, msg, len,
	    r->t0_ms + (int64_t)(cli->opt.timeout * 1000));
	sd_score_rules(r);
}
