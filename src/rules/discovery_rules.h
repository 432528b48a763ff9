/*
 * The rules about where the settings came from (docs/discovery.md): no source
 * named a server (settings.not_discovered); a server only plain-http
 * autoconfig named; configured settings that differ from what the
 * provider publishes (settings.differs_from_published).
 */
#ifndef SD_DISCOVERY_RULES_H
#define SD_DISCOVERY_RULES_H

#include "report/report.h"

/* Before the path's rules: returns 1 when it set the verdict (nothing
 * was found to probe). */
int sd_rules_discovery_first(sd_report *r);

/*
 * The configured settings against what their provider publishes (the
 * fact "published.settings"): 1 when they match none of its servers,
 * with the summary in sum, the fact in *pub and, appended to fix (when
 * not NULL), the change in the client's own terms; else 0.  check's rule
 * differs_from_published and its finding read it.
 */
int sd_rules_published_differs(const sd_report *r, char *sum, size_t n,
    const json_t **pub, json_t *fix);

/* After the path's rules: the finding about a plain-http source, and
 * the fix of a failed verdict in the client's own terms (with the
 * published settings when they differ). */
void sd_rules_discovery_last(sd_report *r);

#endif
