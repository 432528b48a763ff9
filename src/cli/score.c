/*
 * --score and --scorer for check --send and domain --message: the message
 * goes to a content filter after the command's own probes, and the
 * verdict takes its answer into account (rules/score_rules.h).
 */
#include "cli/cli.h"
#include "probe/score.h"
#include "report/report.h"
#include "rules/score_rules.h"
#include "util/util.h"

/* Time a scorer gets when the run's deadline has (nearly) passed:
 * spamd answers a short message in well under a second. */
#define SCORE_MIN_MS 1000

int sd_cli_score_check(const sd_cli *cli, sd_scorer *sc, int *use)
{
	*use = 0;
	if (!cli->scorer)
		return 0;
	const char *why = NULL;
	if (sd_scorer_parse(cli->scorer, sc, &why) != 0)
		return sd_cli_usage_error(cli, "--scorer '%s': %s", cli->scorer,
		    why);
	*use = 1;
	return 0;
}

void sd_cli_score(const sd_cli *cli, const sd_scorer *sc, sd_report *r,
    const char *msg, size_t len)
{
	if (!r)
		return;
	int64_t deadline = r->t0_ms + (int64_t)(cli->opt.timeout * 1000);
	if (sd_remaining_ms(deadline) < SCORE_MIN_MS)
		deadline = sd_now_ms() + SCORE_MIN_MS;
	sd_score_message(r, &cli->opt, sc, msg, len, deadline);
	sd_score_rules(r);
}
