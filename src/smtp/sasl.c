/* SASL mechanisms; see sasl.h. */
#include "smtp/sasl.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/redact.h"
#include "util/util.h"

static int put(unsigned char *out, size_t cap, size_t *o, const char *s,
    size_t n)
{
	if (*o + n > cap)
		return 0;
	memcpy(out + *o, s, n);
	*o += n;
	return 1;
}

static int plain_step(const sd_sasl_creds *cr, int step,
    const unsigned char *ch, size_t clen, unsigned char *out, size_t cap,
    int *has_initial)
{
	(void)ch;
	(void)clen;
	if (step > 0)
		return -1;
	size_t o = 0;
	*has_initial = 1;
	/* authzid (empty) NUL authcid NUL passwd (RFC 4616) */
	if (!put(out, cap, &o, "", 1) ||
	    !put(out, cap, &o, cr->user, strlen(cr->user)) ||
	    !put(out, cap, &o, "", 1) ||
	    !put(out, cap, &o, cr->secret, strlen(cr->secret)))
		return -1;
	return (int)o;
}

static int login_step(const sd_sasl_creds *cr, int step,
    const unsigned char *ch, size_t clen, unsigned char *out, size_t cap,
    int *has_initial)
{
	(void)ch;
	(void)clen;
	size_t o = 0;
	*has_initial = 0;
	if (step == 0)
		return 0;
	const char *v = step == 1 ? cr->user : step == 2 ? cr->secret : NULL;
	if (!v || !put(out, cap, &o, v, strlen(v)))
		return -1;
	return (int)o;
}

static int cram_step(const sd_sasl_creds *cr, int step,
    const unsigned char *ch, size_t clen, unsigned char *out, size_t cap,
    int *has_initial)
{
	*has_initial = 0;
	if (step == 0)
		return 0;
	if (step > 1)
		return -1;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	if (!HMAC(EVP_md5(), cr->secret, (int)strlen(cr->secret), ch, clen,
	    mac, &maclen))
		return -1;
	size_t o = 0;
	if (!put(out, cap, &o, cr->user, strlen(cr->user)) ||
	    !put(out, cap, &o, " ", 1))
		return -1;
	for (unsigned i = 0; i < maclen; i++) {
		char hex[3];
		snprintf(hex, sizeof hex, "%02x", mac[i]);
		if (!put(out, cap, &o, hex, 2))
			return -1;
	}
	sd_wipe(mac, sizeof mac);
	return (int)o;
}

static int xoauth2_step(const sd_sasl_creds *cr, int step,
    const unsigned char *ch, size_t clen, unsigned char *out, size_t cap,
    int *has_initial)
{
	(void)ch;
	(void)clen;
	*has_initial = 1;
	if (step == 0) {
		int n = snprintf((char *)out, cap, "user=%s\001auth=Bearer %s"
		    "\001\001", cr->user, cr->secret);
		return n < 0 || (size_t)n >= cap ? -1 : n;
	}
	/* after an error challenge the client sends an empty response */
	return step == 1 ? 0 : -1;
}

static int oauthbearer_step(const sd_sasl_creds *cr, int step,
    const unsigned char *ch, size_t clen, unsigned char *out, size_t cap,
    int *has_initial)
{
	(void)ch;
	(void)clen;
	*has_initial = 1;
	if (step == 0) {
		/* RFC 7628 §3.1: gs2 header, then key=value pairs */
		int n = snprintf((char *)out, cap, "n,a=%s,\001host=%s\001port=%d"
		    "\001auth=Bearer %s\001\001", cr->user,
		    cr->host ? cr->host : "", cr->port, cr->secret);
		return n < 0 || (size_t)n >= cap ? -1 : n;
	}
	if (step == 1) {
		out[0] = 0x01; /* dummy response after an error challenge */
		return 1;
	}
	return -1;
}

/* The longest client message we build: an AUTH line's payload (RFC 4954
 * §4, 12288 octets of base64). */
#define SASL_FORM_MAX 16384

static const sd_sasl_mech mechs[] = {
	{ "CRAM-MD5", cram_step, 1, 0 },
	{ "PLAIN", plain_step, 3, 1 },
	{ "LOGIN", login_step, 2, 1 },
	{ "XOAUTH2", xoauth2_step, 0, 0 },
	{ "OAUTHBEARER", oauthbearer_step, 0, 0 },
};

const sd_sasl_mech *sd_sasl_find(const char *name)
{
	for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
		if (sd_strcaseeq(mechs[i].name, name))
			return &mechs[i];
	return NULL;
}

const sd_sasl_mech *sd_sasl_choose(const char (*offered)[24], int n)
{
	const sd_sasl_mech *best = NULL;
	for (int i = 0; i < n; i++) {
		const sd_sasl_mech *m = sd_sasl_find(offered[i]);
		/* OAuth mechanisms need a token, not a password: only when
		 * configured */
		if (m && m->preference > 0 &&
		    (!best || m->preference > best->preference))
			best = m;
	}
	return best;
}

int sd_sasl_secret_forms(const sd_sasl_creds *cr, sd_secrets *s)
{
	size_t sl = strlen(cr->secret);
	int ok = sd_secrets_add_secret(s, cr->secret, sl);
	unsigned char *buf = malloc(SASL_FORM_MAX);
	if (!buf)
		return 0;
	for (size_t m = 0; m < sizeof mechs / sizeof mechs[0]; m++) {
		int has_initial;
		/* an empty challenge at each step: the messages that do not
		 * depend on the server's (CRAM-MD5 sends only a digest, never
		 * the secret, so none of its messages holds it) */
		for (int step = 0; step < 4; step++) {
			int n = mechs[m].step(cr, step, (const unsigned char *)"", 0,
			    buf, SASL_FORM_MAX, &has_initial);
			if (n < 0)
				break;
			if (n > 0 && memmem(buf, (size_t)n, cr->secret, sl))
				ok &= sd_secrets_add(s, buf, (size_t)n);
		}
	}
	sd_wipe(buf, SASL_FORM_MAX);
	free(buf);
	return ok;
}
