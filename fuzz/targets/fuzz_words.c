/*
 * Fuzzes the word splitter of batch lines with any line: it ends, every
 * word lies inside the line, an unquoted word holds no space or tab, a
 * quoted one no double quote, and a line it calls bad yields no word
 * after that.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_text.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_text(data, size);
	if (!line)
		return 0;
	size_t len = strlen(line);
	char *cur = line, *w;
	int bad = 0;
	size_t words = 0;
	while ((w = sd_word_next(&cur, &bad)) != NULL) {
		if (w < line || w > line + len || cur < w ||
		    cur > line + len || ++words > len)
			abort();
		if (w > line && w[-1] == '"' ? strchr(w, '"') != NULL :
		    strpbrk(w, " \t") != NULL)
			abort();
	}
	if (bad && cur < line)
		abort();
	free(line);
	return 0;
}
