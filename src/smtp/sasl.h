/*
 * SASL mechanisms for SMTP AUTH (RFC 4954): one table, one signature.
 * Each step gets the server's decoded challenge and writes the client's
 * response (raw, to be base64-encoded by the caller).  Responses carry the
 * secret: the caller wipes them and never logs them.
 */
#ifndef SD_SASL_H
#define SD_SASL_H

#include <stddef.h>

typedef struct sd_sasl_creds {
	const char *user;
	const char *secret;     /* password, or OAuth2 token for XOAUTH2 /
	                           OAUTHBEARER */
	const char *host;       /* for OAUTHBEARER */
	int port;
} sd_sasl_creds;

/* Returns the response length, or -1 when the mechanism is done / the
 * challenge is unexpected.  step 0 is the initial response (may be empty:
 * returns 0 and sets *has_initial = 0). */
typedef int (*sd_sasl_step_fn)(const sd_sasl_creds *cr, int step,
    const unsigned char *challenge, size_t clen, unsigned char *out,
    size_t outcap, int *has_initial);

typedef struct sd_sasl_mech {
	const char *name;
	sd_sasl_step_fn step;
	int preference;         /* higher is tried first when unconfigured */
	int sends_password;     /* the secret itself travels (PLAIN, LOGIN) */
} sd_sasl_mech;

const sd_sasl_mech *sd_sasl_find(const char *name);

struct sd_secrets;
/*
 * Adds to `s` the secret and every message a mechanism of the table would
 * send that carries it (PLAIN's payload with the user name, LOGIN's
 * password, the OAuth2 payloads), so that a server echoing any of them, in
 * any encoding, is redacted.  Returns 0 when out of memory.
 */
int sd_sasl_secret_forms(const sd_sasl_creds *cr, struct sd_secrets *s);
/* The preferred mechanism we implement among those offered, or NULL. */
const sd_sasl_mech *sd_sasl_choose(const char (*offered)[24], int n);

#endif
