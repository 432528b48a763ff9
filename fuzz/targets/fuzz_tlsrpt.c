/* The TLS-RPT record parser (RFC 8460) on arbitrary TXT data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/domain_records.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sd_tlsrpt_record t;
	const char *p = (const char *)data;
	int is = sd_tlsrpt_is_record(p, size);
	int rc = sd_tlsrpt_parse(p, size, &t);
	if (!memchr(t.error, '\0', sizeof t.error) ||
	    t.n_rua > SD_TLSRPT_RUA_MAX)
		abort();
	if (rc == 0 && (!is || t.error[0] || t.n_rua_total == 0 ||
	    t.n_rua > t.n_rua_total))
		abort();
	if (rc != 0 && !t.error[0])
		abort();
	for (size_t i = 0; i < t.n_rua; i++)
		if (!memchr(t.rua[i], '\0', sizeof t.rua[i]) ||
		    (!sd_strncaseeq(t.rua[i], "mailto:", 7) &&
		    !sd_strncaseeq(t.rua[i], "https://", 8)))
			abort();
	return 0;
}
