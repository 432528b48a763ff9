/* Fuzzes the SMTP reply parser and the EHLO capability parser with what a
 * hostile server could send: arbitrary lines, split at LF. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/reply.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sd_reply *r = malloc(sizeof *r);
	if (!r)
		return 0;
	sd_reply_init(r);
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		sd_reply_rc rc = sd_reply_feed(r, p, len);
		if (rc == SD_REPLY_DONE) {
			sd_caps caps;
			sd_caps_parse(&caps, r->text);
			sd_reply_init(r);
		} else if (rc != SD_REPLY_MORE) {
			sd_reply_init(r);
		}
		p += len + (nl ? 1 : 0);
	}
	char *clean = sd_sanitize((const char *)data, size, 512);
	free(clean);
	size_t n;
	unsigned char *dec = sd_base64_decode((const char *)data, size, &n);
	free(dec);
	free(r);
	return 0;
}
