/*
 * What one domain run is asked, checked as the user wrote it: on the
 * command line (`domain DOMAIN --ip ... --selector ...`) or on one line
 * of `domain --batch` (`DOMAIN ip=ADDR selector=NAME ...`).  Every check
 * ends in 0, or 1 with a sentence in err naming the word.
 */
#ifndef SD_PROBE_DOMAIN_INPUT_H
#define SD_PROBE_DOMAIN_INPUT_H

#include <arpa/inet.h>
#include <stddef.h>

#include "probe/domain.h"

typedef struct sd_domain_input {
	char domain[256];            /* lowercase, no trailing dot */
	char ipbuf[SD_DOMAIN_MAX_IPS][INET6_ADDRSTRLEN];
	const char *ips[SD_DOMAIN_MAX_IPS];   /* canonical text, in ipbuf */
	size_t n_ips;
	const char *selectors[SD_DOMAIN_MAX_SELECTORS];  /* into the input */
	size_t n_selectors;
} sd_domain_input;

/* DOMAIN: ASCII, not an address, a host name; stored lowercased. */
int sd_domain_input_domain(sd_domain_input *in, const char *arg, char *err,
    size_t errlen);
/* One sending address (what: the option or key named in err). */
int sd_domain_input_ip(sd_domain_input *in, const char *what,
    const char *arg, char *err, size_t errlen);
/* One DKIM selector; the input keeps pointing at arg. */
int sd_domain_input_selector(sd_domain_input *in, const char *what,
    const char *arg, char *err, size_t errlen);
/* One batch line (split in place): DOMAIN, then ip= and selector= words. */
int sd_domain_input_line(sd_domain_input *in, char *text, char *err,
    size_t errlen);

#endif
