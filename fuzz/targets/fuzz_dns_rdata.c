/* Fuzzes the decoding of DNS rdata as a hostile server could send it (the
 * first byte picks the type), the stub resolver's reading of a whole
 * answer message (the same byte picks the question's type; its name is
 * example.com: the msg_* seeds), and the --resolver value parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = { SD_DNS_A, SD_DNS_AAAA, SD_DNS_CNAME,
	    SD_DNS_NS, SD_DNS_PTR, SD_DNS_MX, SD_DNS_SRV, SD_DNS_TXT,
	    SD_DNS_TLSA, SD_DNS_SOA };
	if (size < 1)
		return 0;
	sd_dns_rr rr;
	memset(&rr, 0, sizeof rr);
	sd_dns_rr_from_wire(&rr, types[data[0] % (sizeof types / sizeof types[0])],
	    data + 1, size - 1);
	free(rr.text);
	free(rr.rdata);

	/* any status, never a read outside the message, every kept record
	 * decoded whole */
	sd_dns_answer a;
	memset(&a, 0, sizeof a);
	uint32_t ttl;
	sd_dns_status st = sd_dns_stub_parse(data + 1, size - 1, "example.com",
	    types[data[0] % (sizeof types / sizeof types[0])], &a, &ttl);
	if ((st == SD_DNS_OK) != (a.n_rr > 0))
		abort();
	for (size_t i = 0; i < a.n_rr; i++)
		if (!a.rr[i].text || !a.rr[i].rdata)
			abort();
	sd_dns_answer_clear(&a);

	char spec[256], out[300];
	size_t n = size - 1 < sizeof spec - 1 ? size - 1 : sizeof spec - 1;
	memcpy(spec, data + 1, n);
	spec[n] = '\0';
	sd_dns_server_spec(spec, out, sizeof out);
	return 0;
}
