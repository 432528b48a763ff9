/* Progress on stderr while a run waits (see progress.c). */
#ifndef SD_CLI_PROGRESS_H
#define SD_CLI_PROGRESS_H

#include "smtpdoctor/smtpdoctor.h"

typedef struct sd_cli_progress sd_cli_progress;

/*
 * Starts the display when it belongs: the waiting line when stderr is a
 * terminal, not -q and not JSON; each stage as it ends with -v (not JSON).
 * Sets opt->progress.  NULL when there is nothing to show.
 */
sd_cli_progress *sd_cli_progress_start(sd_options *opt, int json);

/* Clears the line, before the report is written.  NULL is fine. */
void sd_cli_progress_stop(sd_cli_progress *p, sd_options *opt);

#endif
