/*
 * The addresses of one host: the one way the probes ask for a host's A
 * and AAAA records (the server and controls of check, discovery's hosts;
 * domain records each lookup as a fact: sd_dctx_host in domain_int.h).
 */
#ifndef SD_PROBE_HOST_H
#define SD_PROBE_HOST_H

#include <stdint.h>

#include "dns/dns.h"

typedef struct sd_dns_host_answer {
	sd_dns_answer a[2];     /* [0] A, [1] AAAA */
	int asked[2];           /* which of the two were asked */
} sd_dns_host_answer;

/*
 * Looks up the A and AAAA records of `host` at once (two jobs of the probe
 * engine, probe/jobs.h), or only one of them when `family` is 4 or 6,
 * each before deadline_ms.  `out` is filled whole; free it with
 * sd_dns_host_clear().
 */
void sd_dns_host(sd_resolver *res, const char *host, int family,
    int64_t deadline_ms, sd_dns_host_answer *out);
void sd_dns_host_clear(sd_dns_host_answer *h);

#endif
