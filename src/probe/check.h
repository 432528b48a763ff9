/* `check` orchestration (check.c); its entry point is sd_check() in the
 * public header. */
#ifndef SD_PROBE_CHECK_H
#define SD_PROBE_CHECK_H

#include "report/report.h"

/*
 * Adds a judged domain report's findings to the check report r, and its
 * verdict as the fact "sender_domain" that the check rules read.  Used by
 * check for the sender's domain, and by explain when it judges a saved
 * report again.
 */
void sd_check_merge_domain(sd_report *r, const sd_report *dr,
    const char *domain);

#endif
