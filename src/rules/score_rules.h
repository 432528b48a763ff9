/*
 * The rule of content scoring: a scorer's fact ("score.*", written by
 * probe/score.h) becomes content.spam_score (warning) when the message
 * scored at or over the filter's threshold, an info finding when it
 * scored under, and info.scorer_unreachable when no scorer answered.
 * content.spam_score never makes a verdict worse than warn: it replaces
 * an ok verdict (the path works, but receivers will file or refuse the
 * message) and leaves any other as it is.
 */
#ifndef SD_SCORE_RULES_H
#define SD_SCORE_RULES_H

#include "report/report.h"

void sd_score_rules(sd_report *r);

#endif
