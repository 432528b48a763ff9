/*
 * The rules of `domain`: pure functions from the facts of a domain report
 * (stage "domain" and "reputation", written by probe/domain.c) to its
 * findings and one verdict.  They read r->facts and nothing else, so a
 * saved report can be judged again offline.
 *
 * The verdict is the finding that most endangers delivery: errors before
 * warnings, and within each, the order of sd_domain_verdict_order (what a
 * receiver meets first and what stops the most mail comes first).  When no
 * error is proven but checks did not finish by the deadline, the verdict
 * is inconclusive; with nothing wrong, ok.
 */
#ifndef SD_DOMAIN_RULES_H
#define SD_DOMAIN_RULES_H

#include "report/report.h"

/* Verdict codes in order of precedence, NULL-terminated. */
extern const char *const sd_domain_verdict_order[];

/* Adds findings and sets the verdict of a domain report from its facts. */
void sd_domain_rules(sd_report *r);

/*
 * The domain audit among r's facts (stage "domain", and "reputation" but
 * for this machine's own blocklist facts), as a domain report judged by
 * the domain rules; NULL when r holds none (no "domain.inputs").  The
 * caller frees it.  check judges its sender domain with it, bounce its
 * recheck.
 */
sd_report *sd_domain_rules_of(const sd_report *r);


/*
 * An SPF record with `term` ("ip4:192.0.2.1") added before its "all"
 * mechanism (or its end, or before redirect=), for a fix.  malloc'd, or
 * NULL when `record` is not an SPF record.
 */
char *sd_domain_spf_add_term(const char *record, const char *term);

#endif
