/* What a TLS session shows: protocol, cipher, the peer chain, and whether
 * the chain and the name verify (OpenSSL backend in tlsinfo_openssl.c). */
#ifndef SD_TLSINFO_H
#define SD_TLSINFO_H

#include <jansson.h>
#include <openssl/ssl.h>

/*
 * Adds to `fact`: version, cipher, chain [{subject, issuer, sans,
 * not_before, not_after, self_signed}], verify {ok, class, code, reason},
 * name_match, root_issuer, expired.  verify.class is what rules read:
 * "ok", "expired", "not_yet_valid", "name", "self_signed", "untrusted",
 * "revoked", "other", "no_certificate"; code and reason are OpenSSL's,
 * for people.  Returns 1 when the chain verifies
 * and the name matches.
 */
int sd_tls_describe(SSL *ssl, const char *host, json_t *fact);

#endif
