/* git's [includeIf "CONDITION"] for --config (conf_gitif.c says which). */
#ifndef SD_SETTINGS_CONF_GITIF_H
#define SD_SETTINGS_CONF_GITIF_H

#include <stddef.h>

typedef enum sd_gitif {
	SD_GITIF_UNDECIDED,   /* not a condition the file can decide */
	SD_GITIF_HOLDS,
	SD_GITIF_FAILS,
} sd_gitif;

/*
 * Decides `cond` (the section's subsection, unquoted) for a parse of the
 * file `top` (canonical: the one --config names) while reading `file`
 * (canonical: the one holding the condition).  `why` gets a sentence for
 * the user's notes.
 */
sd_gitif sd_gitif_eval(const char *cond, const char *top, const char *file,
    char *why, size_t whylen);

#endif
