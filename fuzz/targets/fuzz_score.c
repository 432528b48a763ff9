/*
 * Fuzzes what a content filter answers and what a user types: the spamd
 * REPORT table parser and the --scorer parser, over any bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_text.h"
#include "probe/score.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	if (!text)
		return 0;
	json_decref(sd_score_spamd_rules(text));
	sd_scorer s;
	const char *why;
	(void)sd_scorer_parse(text, &s, &why);
	free(text);
	return 0;
}
