/*
 * Fuzzes the provider reply matcher with what a hostile server could send.
 *
 * Input: byte 0 picks the stage, bytes 1-2 the reply code (0..999, so the
 * out-of-range ones are tried too); the rest is the reply text, or, when
 * it holds a TAB, "enhanced TAB text".  Checks what must hold for every
 * input: a returned row matches the input, carries a cause, and is a
 * confirmed row unless unconfirmed ones were asked for.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/replies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Longer inputs are cut: the matcher itself stops at SD_REPLY_SCAN_MAX,
 * and a little more shows that it does. */
#define FUZZ_MAX_TEXT (SD_REPLY_SCAN_MAX + 1024)

static void check(sd_smtp_stage stage, int code, const char *enh,
    const char *text, unsigned options)
{
	const sd_reply_rule *r = sd_reply_classify_ex(stage, code, enh, text,
	    options);
	if (!r)
		return;
	if (!r->cause || !r->id || !r->explain || !r->hint)
		abort();
	if (!sd_reply_rule_matches(r, stage, code, enh, text))
		abort();
	if ((r->flags & SD_REPLY_UNCONFIRMED) &&
	    !(options & SD_REPLY_WITH_UNCONFIRMED))
		abort();
	if (r->generic != ((r->flags & SD_REPLY_GENERIC) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	/* signed on purpose: values past the last stage must be refused */
	sd_smtp_stage stage = (sd_smtp_stage)((int)(data[0] % 12) - 1);
	int code = ((data[1] << 8) | data[2]) % 1000;
	size_t len = size - 3;
	if (len > FUZZ_MAX_TEXT)
		len = FUZZ_MAX_TEXT;
	char *buf = malloc(len + 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 3, len);
	buf[len] = '\0';
	const char *enh = NULL, *text = buf;
	char *tab = memchr(buf, '\t', len);
	if (tab) {
		*tab = '\0';
		enh = buf;
		text = tab + 1;
	}
	check(stage, code, enh, text, 0);
	check(stage, code, enh, text, SD_REPLY_WITH_UNCONFIRMED);
	check(stage, code, NULL, text, 0);
	(void)sd_reply_stage_name(stage);
	free(buf);
	return 0;
}
