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

/* After the path's rules: findings about the source, and the warn
 * verdict (docs/verdicts.md) when the path works. */
void sd_rules_discovery_last(sd_report *r);

#endif
