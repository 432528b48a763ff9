/*
 * Redaction: the one place that keeps a secret out of text.
 *
 * A run builds the forms its secret can take on the wire before any
 * connection starts (the password, the SASL messages that carry it, each
 * of them raw, escaped as the report shows it, base64, hex and URL-encoded)
 * and every text that enters the report passes through sd_redact().  The
 * redactor reads its input once and writes into an output of explicit
 * capacity: it never works in place and never looks at its own mask, so no
 * secret, however short, and no input, however long, makes it write past
 * the output or loop.
 */
#ifndef SD_REDACT_H
#define SD_REDACT_H

#include <stddef.h>

#define SD_REDACT_MASK "<redacted>"

typedef struct sd_secrets sd_secrets;

/* An empty set (redacts nothing until forms are added); NULL when out of
 * memory. */
sd_secrets *sd_secrets_new(void);

/* Wipes every form and frees the set.  NULL is fine. */
void sd_secrets_free(sd_secrets *s);

/*
 * Adds a message that carries the secret (the password itself, a SASL
 * payload): its raw bytes, its escaped forms, its base64 (padded and not),
 * hex (either case) and URL encoding (%XX either case, '+' for a space).
 * Returns 0 when out of memory (the set then redacts everything).
 */
int sd_secrets_add(sd_secrets *s, const void *msg, size_t len);

/*
 * Adds the secret itself: sd_secrets_add() plus the base64 characters that
 * encode it at each of the three byte offsets inside a longer message, so
 * a server that base64-encodes anything holding the secret is caught too.
 */
int sd_secrets_add_secret(sd_secrets *s, const void *secret, size_t len);

/* 1 when the set has forms (a run with a password). */
int sd_secrets_active(const sd_secrets *s);

/*
 * Copies in[0..len) to out, every stretch of bytes covered by a form
 * replaced by one SD_REDACT_MASK.  At most cap - 1 bytes are written and
 * out is NUL-terminated whenever cap > 0.  Returns the length of the whole
 * result (like snprintf: a return >= cap means out was cut).  A NULL or
 * empty set copies.
 */
size_t sd_redact(const sd_secrets *s, const char *in, size_t len, char *out,
    size_t cap);

/* The same into malloc'd memory (*outlen may be NULL); NULL when out of
 * memory. */
char *sd_redact_dup(const sd_secrets *s, const char *in, size_t len,
    size_t *outlen);

#endif
