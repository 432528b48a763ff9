/*
 * The blocklist probe, one for every command: one address (or domain) on
 * one zone, as one fact of kind "dnsbl" (or "dbl" for a domain list).
 * The caller says how a name is looked up, so that `domain` records its
 * queries as evidence while `check` asks beside its own probes.
 */
#ifndef SD_PROBE_DNSBL_H
#define SD_PROBE_DNSBL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dns/dns.h"

/* Looks NAME up as TYPE into OUT; writes the evidence id of the query into
 * ID (an empty string when the caller keeps no evidence). */
typedef sd_dns_status (*sd_dnsbl_lookup_fn)(void *ctx, const char *name,
    uint16_t type, sd_dns_answer *out, char *id, size_t id_len);

/* The fact for SUBJECT (an address, or a domain when DOMAIN_LIST) on ZONE,
 * with the id FACT_ID: the query, the DNS status, each answer with its
 * class and meaning, and the list's TXT words when listed.  NULL when out
 * of memory. */
json_t *sd_dnsbl_probe(const char *fact_id, const char *subject,
    const char *zone, int domain_list, sd_dnsbl_lookup_fn lookup, void *ctx);

/* The first of a blocklist fact's answers whose class is CLS ("listed",
 * "policy", "error"), or NULL: what the rules and the -v line read. */
const json_t *sd_dnsbl_answer(const json_t *fact, const char *cls);

#endif
