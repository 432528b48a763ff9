/*
 * Fuzzes the escaper with any bytes, in each of its modes: the result is
 * valid UTF-8 with no control character (a line break only where asked
 * for), no C1 or bidi control, quotes around it where asked for, and
 * escaping it again changes nothing.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *s, int flags)
{
	size_t n = strlen(s);
	json_t *j = json_stringn(s, n);   /* NULL unless valid UTF-8 */
	if (!j)
		abort();
	json_decref(j);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && !(c == '\n' && (flags & SD_ESC_KEEP_NL))) ||
		    c == 0x7f)
			abort();
		/* C1 (C2 80..9F), U+061C (D8 9C), U+200E/F, U+202A..E,
		 * U+2028/9 (E2 80 ..), U+2066..9 (E2 81 A6..A9) */
		if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] <= 0x9f)
			abort();
		if (c == 0xd8 && i + 1 < n && (unsigned char)s[i + 1] == 0x9c)
			abort();
		if (c == 0xe2 && i + 2 < n) {
			unsigned char b = (unsigned char)s[i + 1],
			    d = (unsigned char)s[i + 2];
			if (b == 0x80 && (d == 0x8e || d == 0x8f ||
			    (d >= 0xa8 && d <= 0xae)))
				abort();
			if (b == 0x81 && d >= 0xa6 && d <= 0xa9)
				abort();
		}
	}
	if ((flags & SD_ESC_QUOTE) && (n < 2 || s[0] != '"' || s[n - 1] != '"'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int modes[] = { 0, SD_ESC_KEEP_NL, SD_ESC_QUOTE };
	for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
		char *s = sd_escape((const char *)data, size, size, modes[m]);
		if (!s)
			continue;
		check(s, modes[m]);
		if (modes[m] != SD_ESC_QUOTE) {
			char *again = sd_escape(s, strlen(s), strlen(s), modes[m]);
			if (!again || strcmp(again, s) != 0)
				abort();
			free(again);
		}
		free(s);
	}
	/* a cap anywhere, never half a character */
	char *cut = sd_sanitize((const char *)data, size, size / 2);
	if (cut)
		check(cut, 0);
	free(cut);
	return 0;
}
