/*
 * DKIM tag lists: the raw parser, a DKIM-Signature value, and a key
 * record (which also runs the base64 and DER decoding of p=).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	sd_tag_list tl;
	if (sd_tag_list_parse(text, size, &tl) == 0) {
		for (size_t i = 0; i < tl.n; i++) {
			const sd_tag *t = &tl.tag[i];
			/* every tag lies inside the input, in order */
			if (t->name < text || t->name + t->name_len > text + size ||
			    t->value < text || t->value + t->value_len > text + size ||
			    t->span_start > t->span_end || t->span_end > size)
				abort();
		}
		(void)sd_tag_list_get(&tl, "b");
	} else if (!tl.error[0]) {
		abort();  /* a failure always says why */
	}

	sd_dkim_sig sig;
	if (sd_dkim_sig_parse(text, size, &sig) < 0 && !sig.reason[0])
		abort();
	sd_dkim_sig_clear(&sig);

	sd_dkim_key key;
	sd_dkim_key_parse(text, size, &key);
	if (!key.reason[0] || (key.status == SD_DKIM_KEY_OK && !key.pkey))
		abort();
	sd_dkim_key_clear(&key);

	(void)sd_dkim_valid_domain(text, size, size & 1);
	return 0;
}
