/*
 * The rules of `check`: pure functions from the facts of a report to its
 * findings and one verdict (docs/verdicts.md).  They read
 * r->facts and nothing else, so a saved report can be diagnosed again.
 */
#ifndef SD_CHECK_RULES_H
#define SD_CHECK_RULES_H

#include <stddef.h>

#include "report/report.h"

/* Adds findings and sets the verdict of a check report from its facts. */
void sd_rules_check(sd_report *r);

/* The name of the i-th rule in check's precedence table, or NULL past its
 * end (for the test that holds the table against docs/verdicts.md). */
const char *sd_check_rule_name(size_t i);

/* What an SMTP reply means (provider table first, then generic rules).
 * `stage`: "connect", "ehlo", "starttls", "auth", "mail", "rcpt", "data",
 * "data_end".  Returns a verdict code; *explain and *hint (may be NULL)
 * get static texts for people. */
const char *sd_rules_reply_cause(const char *stage, int code,
    const char *enhanced, const char *text, const char **provider,
    const char **explain, const char **hint);

/* The product named by a certificate issuer on the interception list, or
 * NULL. */
const char *sd_rules_interception_product(const char *issuer);

/* The mail shield or proxy named by a greeting/EHLO text, or NULL. */
const char *sd_rules_proxy_product(const char *text);

#endif
