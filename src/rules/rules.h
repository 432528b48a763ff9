/*
 * Judging a report: the one call that turns a report's facts into its
 * findings and verdict, for every command.  sd_check(), sd_domain(), the
 * spf and bounce commands call it after probing or reading; `explain` calls it on a saved
 * report.  The rules read the facts (and the report's "config" and "spf"
 * members) and nothing else.
 */
#ifndef SD_RULES_H
#define SD_RULES_H

#include "report/report.h"

/*
 * Adds the findings and sets the verdict of r by its command ("check",
 * "domain", "spf", "bounce").  For check, the sender domain's facts (stage
 * "domain", and "reputation" but for this machine's "self.dnsbl.*") are judged
 * first by the domain rules, and that verdict becomes the fact
 * "sender_domain" the check rules read (replacing one a saved report
 * had).  Returns 0, or -1 for a command without rules.
 */
int sd_rules_judge(sd_report *r);

#endif
