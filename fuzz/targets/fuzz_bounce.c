/*
 * Fuzzes `bounce`'s input: any bytes, read as a bounce (MIME, DSN fields,
 * plain-text reports), written as facts, judged by the bounce rules, and
 * rendered as JSON and text.  Nothing may crash, hang or read out of
 * bounds, whatever the boundaries, encodings and recipients say.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce/bounce.h"
#include "bounce/mime.h"
#include "fuzz_render.h"
#include "report/report.h"
#include "rules/bounce_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sd_bounce b;
	if (sd_bounce_parse((const char *)data, size, &b) == 0 &&
	    b.kind != SD_BOUNCE_NOT_MESSAGE) {
		sd_report *r = sd_report_new("bounce");
		if (r) {
			sd_bounce_facts(r, &b);
			sd_bounce_rules(r);
			fuzz_render(r);
			sd_report_free(r);
		}
	}
	sd_bounce_free(&b);
	/* the decoders on their own, over the same bytes */
	char *copy = malloc(size + 1);
	if (copy) {
		memcpy(copy, data, size);
		copy[size] = '\0';
		size_t n;
		free(sd_mime_decode_words(copy));
		free(sd_mime_html_text(copy, size, &n));
		free(sd_mime_decode(copy, size, "base64", 4096, &n));
		free(sd_mime_decode(copy, size, "quoted-printable", 4096, &n));
		free(copy);
	}
	return 0;
}
