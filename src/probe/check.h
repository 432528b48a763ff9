/* `check` orchestration lives in check.c; its entry point is sd_check()
 * in the public header. */
#ifndef SD_PROBE_CHECK_H
#define SD_PROBE_CHECK_H
#include "smtpdoctor/smtpdoctor.h"
#endif
