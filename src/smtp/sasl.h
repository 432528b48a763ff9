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
/* The preferred mechanism we implement among those offered, or NULL. */
const sd_sasl_mech *sd_sasl_choose(const char (*offered)[24], int n);

#endif
