/*
 * The rules of `spf`: the report's "spf" member and its facts (one per DNS
 * query, stage "domain", and "spf.DOMAIN" with the result) to findings and
 * one verdict.  The result decides the verdict (docs/spf.md); what
 * endangers a result that still works is a warning beside it.  They read
 * the report and nothing else, so a saved report can be judged again.
 */
#ifndef SD_SPF_RULES_H
#define SD_SPF_RULES_H

#include "report/report.h"

/* Lookups from which the count is worth a warning (the limit is 10). */
#define SD_SPF_LOOKUPS_WARN 8

void sd_spf_rules(sd_report *r);

#endif
