/*
 * DMARC: the record parser, record selection from a TXT set (one string
 * per input line), the From-domain extraction, alignment and the proposed
 * record, with the Public Suffix List of the source tree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/dmarc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LINES 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;

	sd_dmarc_record rec;
	if (sd_dmarc_record_parse(text, size, &rec) == SD_OK) {
		if (!rec.valid && !rec.reason[0])
			abort();
		if (rec.pct < 0 || rec.pct > 100 || rec.n_rua > SD_DMARC_MAX_URIS)
			abort();
		sd_dmarc_record_clear(&rec);
	}

	const char *txt[FUZZ_LINES];
	size_t len[FUZZ_LINES], n = 0, start = 0;
	for (size_t i = 0; i <= size && n < FUZZ_LINES; i++) {
		if (i == size || text[i] == '\n') {
			txt[n] = text + start;
			len[n++] = i - start;
			start = i + 1;
		}
	}
	sd_dmarc_policy_info pi;
	memset(&pi, 0, sizeof pi);
	if (sd_dmarc_select(txt, len, n, &pi) == SD_OK && !pi.reason[0])
		abort();

	char *dom = NULL, why[200];
	sd_dmarc_from_domain(text, size, &dom, why, sizeof why);
	if (!dom && !why[0])
		abort();

	/* NUL-terminated copies for the string APIs */
	char *s = malloc(size + 1);
	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
		char *half = s + strlen(s) / 2;
		const char *dk[1] = { half };
		sd_dmarc_input in = { s, size & 1, half, dk, 1, (int)(size % 3) - 1 };
		sd_dmarc_eval e;
		if (sd_dmarc_evaluate(&pi, NULL, &in, &e) == SD_OK) {
			if (!e.reason[0])
				abort();
			sd_dmarc_eval_clear(&e);
		}
		free(sd_dmarc_propose_fix(s));
		free(sd_psl_org_domain(sd_psl_default(), s));
		if (dom)
			(void)sd_dmarc_aligned(NULL, dom, s, 0);
		free(s);
	}
	free(dom);
	sd_dmarc_policy_info_clear(&pi);
	return 0;
}
