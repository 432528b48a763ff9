/*
 * The fuzzer's bytes as a NUL-terminated string (a copy; NULL when out of
 * memory), for harnesses of parsers that read C strings: a NUL inside the
 * bytes simply ends the text early.
 */
#ifndef SD_FUZZ_TEXT_H
#define SD_FUZZ_TEXT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline char *fuzz_text(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (text) {
		memcpy(text, data, size);
		text[size] = '\0';
	}
	return text;
}

#endif
