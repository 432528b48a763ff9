/* Fuzzes the decoding of DNS rdata as a hostile server could send it (the
 * first byte picks the type), and the --resolver value parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = { SD_DNS_A, SD_DNS_AAAA, SD_DNS_CNAME,
	    SD_DNS_NS, SD_DNS_PTR, SD_DNS_MX, SD_DNS_SRV, SD_DNS_TXT,
	    SD_DNS_TLSA };
	if (size < 1)
		return 0;
	sd_dns_rr rr;
	memset(&rr, 0, sizeof rr);
	sd_dns_rr_from_wire(&rr, types[data[0] % (sizeof types / sizeof types[0])],
	    data + 1, size - 1);
	free(rr.text);
	free(rr.rdata);

	char spec[256], out[300];
	size_t n = size - 1 < sizeof spec - 1 ? size - 1 : sizeof spec - 1;
	memcpy(spec, data + 1, n);
	spec[n] = '\0';
	sd_dns_server_spec(spec, out, sizeof out);
	return 0;
}
