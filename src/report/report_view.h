/*
 * What a report for people shows, and in which order: one view shared by
 * the text, Markdown and HTML renderers, so that they differ only in how
 * they format it.  Every string in a view is one line, escaped (text from
 * a peer, a record or a file never reaches a renderer raw).
 *
 * The view is a JSON object:
 *   "header":   { "tool", "started_at", "elapsed_ms", "command",
 *                 "settings", "source", "controls" (array of "HOST:PORT"),
 *                 "controls_note", "subject" }
 *   "verdict":  { "status", "headline" ("OK", "FAIL", ...), "summary",
 *                 "cause", "cause_words", "fix_title", "fix": [..] }
 *   "sections": [ { "stage", "title",
 *                   "lines": [ { "mark": "ok"|"fail"|"info", "text",
 *                                "role", "id", "detail": [..] } ] } ]
 *   "findings": [ { "severity", "code", "subject", "summary" } ]
 *   "transcript": { "conn", "lines": [ { "t_ms", "dir", "line" } ] }
 *   "path":     { "controls": the independent hosts in a line,
 *                 "rows": [ { "role" ("main", "fix"), "label", "server",
 *                             "failed",
 *                             "stages": [ { "stage", "title", "mark",
 *                                           "text", "failing" } ] } ] }
 *               (check only: the configured session, then the verified
 *               alternative; "failing" marks the first stage that failed)
 * Lines come in a fixed order (role, address family, address, port, id),
 * so two reports of the same check differ only where the facts differ.
 */
#ifndef SD_REPORT_VIEW_H
#define SD_REPORT_VIEW_H

#include <jansson.h>

#include "report/report.h"

/* The view of r; `verbose` adds every fact, their values and timings.
 * Returns a new reference, or NULL when out of memory. */
json_t *sd_report_view(const sd_report *r, int verbose);

/* Plain words for a verdict code (its row of data/codes.def), or NULL
 * for an info-only code. */
const char *sd_code_words(const char *code);

#endif
