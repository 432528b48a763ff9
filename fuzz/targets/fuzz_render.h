/* Shared by the harnesses that judge: both renderers over a report. */
#ifndef SD_FUZZ_RENDER_H
#define SD_FUZZ_RENDER_H

#include <stdio.h>
#include <stdlib.h>

#include "report/report.h"

/* Renders r as JSON and as verbose text (to /dev/null). */
static inline void fuzz_render(const sd_report *r)
{
	char *out = sd_report_to_json(r);
	free(out);
	FILE *null = fopen("/dev/null", "w");
	if (null) {
		sd_report_write_text(r, null, SD_TEXT_VERBOSE);
		fclose(null);
	}
}

#endif
