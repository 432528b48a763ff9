/*
 * The rule of content scoring: a scorer's fact ("score.*", written by
 * probe/score.h) becomes content.spam_score (warning) when the message
 * scored at or over the filter's threshold, an info finding when it
 * scored under, and info.scorer_unreachable when no scorer answered.
 * content.spam_score never makes a verdict worse than warn: in check it
 * is a rule of the table (check_rules.c, after every other warning the
 * path can carry); in domain it replaces an ok verdict (the domain is
 * fine, but receivers will file or refuse the message).
 */
#ifndef SD_SCORE_RULES_H
#define SD_SCORE_RULES_H

#include "report/report.h"

/* What the scorers' facts show. */
typedef struct sd_score_seen {
	/* "content.spam_score", "info.spam_score", "info.scorer_unreachable",
	 * "info.score_skipped", or NULL when nothing was scored */
	const char *code;
	const char *subject;    /* the address scored, or "" */
	char summary[1600];
	json_t *evidence;       /* fact ids; the caller owns it */
	json_t *fix;            /* with content.spam_score; the caller owns it */
} sd_score_seen;

/* Reads the score facts among `facts` into *s. */
void sd_score_see(const json_t *facts, sd_score_seen *s);

/* domain: the finding, and content.spam_score in place of an ok verdict. */
void sd_score_rules(sd_report *r);

#endif
