/*
 * A fake DNS zone for the SPF tests, served through sd_resolver_new_custom.
 * It follows the conventions of the SPF test suites' drivers: names are
 * case-insensitive; a name that is absent is NXDOMAIN, a name without
 * records of the asked type is NODATA; a TIMEOUT entry makes a query time
 * out unless a record of the asked type came before it in the name's list;
 * CNAMEs are followed (a loop is SERVFAIL, as a resolver would say).
 */
#ifndef TEST_SPF_ZONE_H
#define TEST_SPF_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"

#define SPFZ_TIMEOUT 0xffff   /* entry type: queries time out here */
#define SPFZ_HANG 0xfffe      /* entry type: wait for the deadline */

typedef struct spfz_entry {
	char *owner;            /* lower case, no trailing dot */
	uint16_t type;
	char *text;             /* address, target name, or TXT bytes */
	size_t len;
	uint16_t pref;          /* MX */
} spfz_entry;

typedef struct spfz_zone {
	spfz_entry *e;
	size_t n, cap;
	unsigned long queries;
	int64_t latest_deadline;  /* the latest deadline a query was given */
} spfz_zone;

spfz_zone *spfz_new(void);
void spfz_free(spfz_zone *z);
/* Adds a record; text may hold NUL bytes (len counts them). */
void spfz_add(spfz_zone *z, const char *owner, uint16_t type,
    const char *text, size_t len, uint16_t pref);
/* Convenience: NUL-terminated text. */
void spfz_adds(spfz_zone *z, const char *owner, uint16_t type,
    const char *text);
/* A resolver answering from z (z stays owned by the caller). */
sd_resolver *spfz_resolver(spfz_zone *z);

#endif
