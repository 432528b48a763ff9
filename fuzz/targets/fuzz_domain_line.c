/*
 * Fuzzes the domain --batch line reader (and the exporter's domain probe
 * input) with any line: it ends; a line it accepts names a domain of
 * lowercase host-name characters without a trailing dot, addresses in
 * canonical form and selectors it checked, each within its limit; a line
 * it refuses says why.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_text.h"
#include "probe/domain_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void canonical(const char *ip)
{
	unsigned char b[16];
	char back[INET6_ADDRSTRLEN];
	int af = strchr(ip, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(af, ip, b) != 1 ||
	    !inet_ntop(af, b, back, sizeof back) || strcmp(back, ip) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = fuzz_text(data, size);
	if (!line)
		return 0;
	sd_domain_input in = {0};
	char err[512] = "";
	if (sd_domain_input_line(&in, line, err, sizeof err)) {
		if (!err[0])
			abort();
		free(line);
		return 0;
	}
	size_t n = strlen(in.domain);
	if (n == 0 || n >= sizeof in.domain || in.domain[n - 1] == '.' ||
	    strpbrk(in.domain, " \t@"))
		abort();
	for (const char *p = in.domain; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			abort();
	if (in.n_ips > SD_DOMAIN_MAX_IPS ||
	    in.n_selectors > SD_DOMAIN_MAX_SELECTORS)
		abort();
	for (size_t i = 0; i < in.n_ips; i++)
		canonical(in.ips[i]);
	for (size_t i = 0; i < in.n_selectors; i++)
		if (!in.selectors[i][0] || strpbrk(in.selectors[i], " \t"))
			abort();
	free(line);
	return 0;
}
