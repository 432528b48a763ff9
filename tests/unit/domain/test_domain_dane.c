/* DANE matching (RFC 7672): TLSA records against made-up chains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "probe/domain_dane.h"

static long serial = 1;

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	assert_non_null(k);
	return k;
}

/* A certificate for `cn` (SAN DNS:cn), signed by issuer/ikey or itself. */
static X509 *new_cert(EVP_PKEY *k, const char *cn, X509 *issuer,
    EVP_PKEY *ikey, int ca, long from_days, long to_days)
{
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400);
	X509_set_pubkey(x, k);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	char san[300];
	snprintf(san, sizeof san, "DNS:%s", cn);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx,
	    ca ? NID_basic_constraints : NID_subject_alt_name,
	    ca ? "critical,CA:TRUE" : san);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	assert_true(X509_sign(x, ikey ? ikey : k, EVP_sha256()) > 0);
	return x;
}

/* TLSA data for `x` with this selector and matching type. */
static size_t tlsa_data(X509 *x, int selector, int mtype, unsigned char *out)
{
	unsigned char *der = NULL;
	int n = selector ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der) :
	    i2d_X509(x, &der);
	assert_true(n > 0);
	size_t len = (size_t)n;
	if (mtype == 0) {
		memcpy(out, der, len);
	} else {
		unsigned md = 0;
		EVP_Digest(der, len, out, &md, mtype == 1 ? EVP_sha256() :
		    EVP_sha512(), NULL);
		len = md;
	}
	OPENSSL_free(der);
	return len;
}

static unsigned char buf[8192];

static sd_tlsa record(int usage, int selector, int mtype, X509 *x)
{
	sd_tlsa t = { (uint8_t)usage, (uint8_t)selector, (uint8_t)mtype, buf,
		tlsa_data(x, selector, mtype, buf) };
	return t;
}

typedef struct world {
	EVP_PKEY *cakey, *leafkey, *otherkey;
	X509 *ca, *leaf, *expired, *other_ca;
	STACK_OF(X509) *chain;
} world;

static int setup(void **state)
{
	static world w;
	w.cakey = new_key();
	w.leafkey = new_key();
	w.otherkey = new_key();
	w.ca = new_cert(w.cakey, "Test CA", NULL, NULL, 1, -1, 30);
	w.leaf = new_cert(w.leafkey, "mx.example.com", w.ca, w.cakey, 0, -1, 30);
	w.expired = new_cert(w.leafkey, "mx.example.com", w.ca, w.cakey, 0,
	    -30, -1);
	/* same name as the CA, another key: looks like it, signs nothing */
	w.other_ca = new_cert(w.otherkey, "Test CA", NULL, NULL, 1, -1, 30);
	w.chain = sk_X509_new_null();
	sk_X509_push(w.chain, w.leaf);
	sk_X509_push(w.chain, w.ca);
	*state = &w;
	return 0;
}

static int teardown(void **state)
{
	world *w = *state;
	sk_X509_free(w->chain);
	X509_free(w->ca);
	X509_free(w->leaf);
	X509_free(w->expired);
	X509_free(w->other_ca);
	EVP_PKEY_free(w->cakey);
	EVP_PKEY_free(w->leafkey);
	EVP_PKEY_free(w->otherkey);
	return 0;
}

static void dane_ee(void **state)
{
	world *w = *state;
	char why[200];
	for (int sel = 0; sel <= 1; sel++)
		for (int mt = 0; mt <= 2; mt++) {
			sd_tlsa t = record(3, sel, mt, w->leaf);
			assert_int_equal(sd_dane_match(&t, w->chain,
			    "mx.example.com", why, sizeof why), 0);
		}
	/* DANE-EE ignores names and dates (RFC 7672 section 3.1.1) */
	sd_tlsa t = record(3, 1, 1, w->leaf);
	assert_int_equal(sd_dane_match(&t, w->chain, "other.example", why,
	    sizeof why), 0);
	STACK_OF(X509) *old = sk_X509_new_null();
	sk_X509_push(old, w->expired);
	assert_int_equal(sd_dane_match(&t, old, "mx.example.com", why,
	    sizeof why), 0);   /* same key, renewed certificate */
	sd_tlsa c = record(3, 0, 1, w->leaf);
	assert_int_equal(sd_dane_match(&c, old, "mx.example.com", why,
	    sizeof why), -1);  /* the certificate itself changed */
	sk_X509_free(old);
	/* the CA's digest is not the server's */
	sd_tlsa bad = record(3, 1, 1, w->ca);
	assert_int_equal(sd_dane_match(&bad, w->chain, "mx.example.com", why,
	    sizeof why), -1);
	assert_non_null(strstr(why, "does not match"));
}

static void dane_ta(void **state)
{
	world *w = *state;
	char why[200];
	sd_tlsa t = record(2, 0, 1, w->ca);
	assert_int_equal(sd_dane_match(&t, w->chain, "mx.example.com", why,
	    sizeof why), 1);
	t = record(2, 1, 1, w->ca);
	assert_int_equal(sd_dane_match(&t, w->chain, "MX.example.com", why,
	    sizeof why), 1);
	/* the name is checked for DANE-TA */
	assert_int_equal(sd_dane_match(&t, w->chain, "mail.example.net", why,
	    sizeof why), -1);
	assert_non_null(strstr(why, "name"));
	/* a TA record never matches the leaf itself */
	sd_tlsa leaf = record(2, 1, 1, w->leaf);
	assert_int_equal(sd_dane_match(&leaf, w->chain, "mx.example.com", why,
	    sizeof why), -1);
	/* an issuer that did not sign the leaf */
	STACK_OF(X509) *forged = sk_X509_new_null();
	sk_X509_push(forged, w->leaf);
	sk_X509_push(forged, w->other_ca);
	sd_tlsa o = record(2, 0, 1, w->other_ca);
	assert_int_equal(sd_dane_match(&o, forged, "mx.example.com", why,
	    sizeof why), -1);
	assert_non_null(strstr(why, "not signed"));
	sk_X509_free(forged);
	/* an expired leaf under a matching TA */
	STACK_OF(X509) *old = sk_X509_new_null();
	sk_X509_push(old, w->expired);
	sk_X509_push(old, w->ca);
	t = record(2, 1, 1, w->ca);   /* (records share one buffer) */
	assert_int_equal(sd_dane_match(&t, old, "mx.example.com", why,
	    sizeof why), -1);
	if (!strstr(why, "dates"))
		fail_msg("why: %s", why);
	sk_X509_free(old);
}

static void odd_inputs(void **state)
{
	world *w = *state;
	char why[200];
	sd_tlsa t = record(3, 1, 1, w->leaf);
	assert_int_equal(sd_dane_match(&t, NULL, "mx.example.com", why,
	    sizeof why), -1);
	STACK_OF(X509) *empty = sk_X509_new_null();
	assert_int_equal(sd_dane_match(&t, empty, "mx.example.com", NULL, 0),
	    -1);
	sk_X509_free(empty);
	t.selector = 9;
	assert_int_equal(sd_dane_match(&t, w->chain, "mx.example.com", why,
	    sizeof why), -1);
	/* a digest of the wrong length matches nothing */
	t = record(3, 1, 1, w->leaf);
	t.len = 31;
	assert_int_equal(sd_dane_match(&t, w->chain, "mx.example.com", why,
	    sizeof why), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dane_ee),
		cmocka_unit_test(dane_ta),
		cmocka_unit_test(odd_inputs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
