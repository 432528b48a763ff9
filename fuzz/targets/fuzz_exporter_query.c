/*
 * Fuzzes the exporter's request parser with any request target: it
 * answers one of its statuses, a probe it accepts has a command, a target
 * and a key of allowed characters only (no space inside a value, nothing
 * that could end a batch line or a label), and the sentence of a refusal
 * is escaped text.  The timeout header's parser gets the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/exporter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sd_exporter_query q;
	char err[300];
	int rc = sd_exporter_query_parse((const char *)data, size, &q, err,
	    sizeof err);
	if (rc != 200 && rc != 400 && rc != 404 && rc != 414)
		abort();
	if (rc != 200) {
		if (!*err)
			abort();
		printable(err);
		return 0;
	}
	if (q.page == SD_XQ_PROBE) {
		if (!q.command || !q.target[0] || strchr(q.target, ' ') ||
		    strchr(q.target, ':') || strchr(q.target, '/'))
			abort();
		printable(q.key);
		if (q.command == SD_XQ_CHECK && q.extra[0])
			abort();
	}
	char hdr[64];
	size_t n = size < sizeof hdr - 1 ? size : sizeof hdr - 1;
	memcpy(hdr, data, n);
	hdr[n] = '\0';
	double s;
	if (sd_exporter_scrape_timeout(hdr, &s) && !(s >= 0 && s <= 86400))
		abort();
	return 0;
}
