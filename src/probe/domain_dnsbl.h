/*
 * DNS blocklists: the built-in zones and what their answers mean
 * (data/dnsbl.def).  Pure functions, shared by the probe (which zones to
 * ask, whether IPv6 is asked) and the rules (what an answer means).
 */
#ifndef SD_PROBE_DOMAIN_DNSBL_H
#define SD_PROBE_DOMAIN_DNSBL_H

#include <stddef.h>

typedef enum sd_dnsbl_class {
	SD_DNSBL_LISTED = 0,   /* a listing */
	SD_DNSBL_POLICY,       /* a policy listing (PBL): no direct-to-MX */
	SD_DNSBL_ERROR,        /* the list refused or failed: no verdict */
} sd_dnsbl_class;

const char *sd_dnsbl_class_name(sd_dnsbl_class c);

/* Longest meaning text written by sd_dnsbl_classify(). */
#define SD_DNSBL_MEANING_MAX 200

/*
 * What answer address `answer` (dotted IPv4 text) from `zone` means (the
 * zone says whether it lists addresses or domains).  Writes a one-line
 * explanation into `meaning` (may be NULL).
 */
sd_dnsbl_class sd_dnsbl_classify(const char *zone, const char *answer,
    char *meaning, size_t meaning_len);

/*
 * The built-in zones of one kind (domain_list 0: IP lists, 1: domain
 * lists).  Fills at most `max` pointers to static strings; returns the
 * count.
 */
size_t sd_dnsbl_defaults(int domain_list, const char **out, size_t max);

/*
 * Non-zero when `zone` should be asked about IPv6 addresses: the known
 * lists say whether they answer nibble queries; a zone the user named and
 * the table does not know is asked.
 */
int sd_dnsbl_zone_ipv6(const char *zone);

#endif
