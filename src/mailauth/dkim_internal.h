/* Helpers shared by the dkim_*.c files; not part of the module's API. */
#ifndef SD_MAILAUTH_DKIM_INTERNAL_H
#define SD_MAILAUTH_DKIM_INTERNAL_H

#include "mailauth/dkim.h"

/* True when the colon-separated list `v` holds `item` (ASCII, any case). */
int sd_dkim_list_has(const char *v, size_t len, const char *item);

/*
 * Strict base64: whitespace skipped, a truncated quantum or stray byte is
 * refused (*malformed = 1).  Returns malloc'd bytes or NULL.
 */
unsigned char *sd_dkim_b64_decode(const char *in, size_t len, size_t *outlen,
    int *malformed);

/*
 * Sets out->name to "<s>._domainkey.<d>" (lowercased), or out->result to
 * SD_DKIM_LOOKUP_BAD_NAME.  SD_ERR_NOMEM on allocation failure.
 */
sd_error sd_dkim_key_name(const char *selector, const char *domain,
    sd_dkim_key_lookup *out);

/* Marks out as FOUND with `text` as its record and judges the key. */
sd_error sd_dkim_key_found(sd_dkim_key_lookup *out, const char *text,
    size_t len);

#endif
