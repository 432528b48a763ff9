/*
 * MTA-STS parsers (probe/domain_records.h): the _mta-sts TXT record, the
 * policy file fetched over HTTPS, and mx pattern matching.  The first byte
 * picks the parser; the rest is its input, as it came from the network.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/domain_records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_terminated(const char *s, size_t cap)
{
	if (!memchr(s, '\0', cap))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	switch (data[0] % 3) {
	case 0: {
		sd_mtasts_record r;
		int sts = sd_mtasts_record_is_sts(p, n);
		int rc = sd_mtasts_record_parse(p, n, &r);
		check_terminated(r.id, sizeof r.id);
		check_terminated(r.error, sizeof r.error);
		if (rc == 0 && (!sts || !r.id[0] || r.error[0]))
			abort();
		if (rc != 0 && !r.error[0])
			abort();
		break;
	}
	case 1: {
		sd_mtasts_policy *pol = malloc(sizeof *pol);
		if (!pol)
			return 0;
		int rc = sd_mtasts_policy_parse(p, n, pol);
		check_terminated(pol->error, sizeof pol->error);
		if (pol->n_mx > SD_MTASTS_MX_MAX || pol->n_mx > pol->n_mx_total)
			abort();
		if (rc == 0 && (pol->error[0] || !pol->has_version ||
		    pol->max_age < 0 || pol->max_age > SD_MTASTS_MAX_AGE_MAX))
			abort();
		for (size_t i = 0; i < pol->n_mx; i++) {
			check_terminated(pol->mx[i], sizeof pol->mx[i]);
			sd_mtasts_mx_match(pol->mx[i], "mx.example.com");
		}
		free(pol);
		break;
	}
	default: {
		/* "pattern\nhost" */
		char pat[300], host[300];
		const char *nl = memchr(p, '\n', n);
		size_t pl = nl ? (size_t)(nl - p) : n;
		size_t hl = nl ? n - pl - 1 : 0;
		if (pl >= sizeof pat || hl >= sizeof host)
			return 0;
		memcpy(pat, p, pl);
		pat[pl] = '\0';
		if (nl)
			memcpy(host, nl + 1, hl);
		host[hl] = '\0';
		int m = sd_mtasts_mx_match(pat, host);
		/* a name always matches itself, when it is not a wildcard
		 * (nor the root, ".") */
		size_t sl = strlen(pat);
		if (sl && pat[sl - 1] == '.')
			sl--;
		if (sl && pat[0] != '*' && !sd_mtasts_mx_match(pat, pat))
			abort();
		(void)m;
		break;
	}
	}
	return 0;
}
