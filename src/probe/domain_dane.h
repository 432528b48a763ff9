/*
 * DANE for SMTP (RFC 7672, RFC 6698): matching TLSA records against the
 * certificate chain an MX presents after STARTTLS.
 */
#ifndef SD_PROBE_DOMAIN_DANE_H
#define SD_PROBE_DOMAIN_DANE_H

#include <openssl/x509.h>
#include <stddef.h>

#include "probe/domain_records.h"

/*
 * Does TLSA record `t` match `chain` (the server's certificates, leaf
 * first) for MX host `host`?
 *   DANE-EE(3): the leaf's certificate or key; names and dates unchecked.
 *   DANE-TA(2): an issuer in the chain; the leaf must then chain to it by
 *     signatures, carry the MX name and be within its dates.
 *   PKIX-TA(0) / PKIX-EE(1): matched like 2 / 3 without the PKIX checks
 *     (SMTP does not use them; the caller reports them as unusable).
 * Returns the depth that matched, or -1 with `why` (may be NULL) saying
 * what did not fit.
 */
int sd_dane_match(const sd_tlsa *t, STACK_OF(X509) *chain, const char *host,
    char *why, size_t whylen);

#endif
