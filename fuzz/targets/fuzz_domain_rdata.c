/*
 * What the domain probe reads out of DNS answers: SOA serials, TLSA
 * records, blocklist answers, and the names it builds from addresses.  The
 * first byte picks the reader.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/domain_dnsbl.h"
#include "probe/domain_records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of at most 299 bytes. */
static void text(const uint8_t *p, size_t n, char out[300])
{
	if (n > 299)
		n = 299;
	memcpy(out, p, n);
	out[n] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	char buf[300], out[400];
	switch (data[0] % 5) {
	case 0: {
		uint32_t serial;
		sd_rdata_soa_serial(p, n, &serial);
		break;
	}
	case 1: {
		sd_tlsa t;
		if (sd_rdata_tlsa(p, n, &t) != 0)
			break;
		if (t.data + t.len != p + n)
			abort();
		const char *why = NULL;
		if (!sd_tlsa_usable(&t, &why) && !why)
			abort();
		char *s = sd_tlsa_text(&t, 40);
		if (s && strlen(s) > 16 + 40 + 3)
			abort();
		free(s);
		break;
	}
	case 2: {
		static const char *const zones[] = { "zen.spamhaus.org",
			"dbl.spamhaus.org", "multi.surbl.org", "multi.uribl.com",
			"bl.example.net" };
		text(p, n, buf);
		char meaning[SD_DNSBL_MEANING_MAX];
		for (size_t i = 0; i < 5; i++) {
			sd_dnsbl_class c = sd_dnsbl_classify(zones[i],
			    buf, meaning, sizeof meaning);
			if (c > SD_DNSBL_ERROR || !memchr(meaning, '\0',
			    sizeof meaning))
				abort();
		}
		break;
	}
	case 3:
		text(p, n, buf);
		if (sd_reverse_name(buf, out, sizeof out) == 0 &&
		    strlen(out) > 253)
			abort();
		sd_dnsbl_query_name(buf, "zen.spamhaus.org", out, sizeof out);
		sd_dnsbl_query_name(buf, buf, out, 20);
		break;
	default:
		text(p, n, buf);
		sd_hostname_valid(buf);
		break;
	}
	return 0;
}
