/*
 * What every run of the program calls first (smtpdoctor.h).
 *
 * A file of its own, first in the library (src/meson.build): its code and
 * constants land beside the program's own start-up code and constants, on
 * pages the start reads anyway, not on pages of their own (a page fault
 * each at every start: bench/startup/RESULTS.md).  "hot" puts the code
 * with main.
 */
#include <string.h>

#include "sd_config.h"
#include "smtpdoctor/smtpdoctor.h"

__attribute__((hot)) const char *sd_version(void)
{
	/* an array among this file's constants, not a literal somewhere in
	 * the program's merged strings */
	static const char version[] = SD_VERSION;
	return version;
}

__attribute__((hot)) void sd_options_init(sd_options *opt)
{
	memset(opt, 0, sizeof *opt);
	opt->timeout = 30;
	opt->connect_timeout = 5;
}
