/* TLS session facts through OpenSSL; see tlsinfo.h. */
#include "tls/tlsinfo.h"

#include <arpa/inet.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/util.h"

static json_t *name_str(X509_NAME *n)
{
	char buf[512];
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return json_string("");
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	int l = BIO_read(b, buf, sizeof buf - 1);
	BIO_free(b);
	/* the peer wrote it: escaped like any foreign text (and a name cut
	 * at the buffer's end keeps its fact) */
	char *e = sd_sanitize(buf, l > 0 ? (size_t)l : 0, sizeof buf);
	json_t *j = json_string(e ? e : "");
	free(e);
	return j;
}

static json_t *time_str(const ASN1_TIME *t)
{
	struct tm tm;
	char buf[32];
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return json_null();
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/* A DNS name is at most 253 octets; a longer SAN is shown cut. */
#define SAN_SHOW_MAX 255

static json_t *sans(X509 *x)
{
	json_t *a = json_array();
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL);
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS) {
			const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
			int l = ASN1_STRING_length(g->d.dNSName);
			char *e = sd_sanitize((const char *)d, l > 0 ? (size_t)l : 0,
			    SAN_SHOW_MAX);
			json_array_append_new(a, json_string(e ? e : ""));
			free(e);
		} else if (g->type == GEN_IPADD) {
			char buf[INET6_ADDRSTRLEN];
			int l = ASN1_STRING_length(g->d.iPAddress);
			const unsigned char *d = ASN1_STRING_get0_data(g->d.iPAddress);
			/* from the peer, before verification: only 4 or 16 */
			if ((l == 4 || l == 16) && inet_ntop(l == 4 ? AF_INET :
			    AF_INET6, d, buf, sizeof buf))
				json_array_append_new(a, json_string(buf));
		}
	}
	GENERAL_NAMES_free(gens);
	return a;
}

int sd_tls_describe(SSL *ssl, const char *host, json_t *fact)
{
	json_object_set_new(fact, "version", json_string(SSL_get_version(ssl)));
	json_object_set_new(fact, "cipher",
	    json_string(SSL_CIPHER_get_name(SSL_get_current_cipher(ssl))));
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	X509 *leaf = SSL_get0_peer_certificate(ssl);
	json_t *arr = json_array();
	int expired = 0;
	X509 *top = NULL;
	for (int i = 0; chain && i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		top = x;
		json_t *c = json_object();
		json_object_set_new(c, "subject", name_str(X509_get_subject_name(x)));
		json_object_set_new(c, "issuer", name_str(X509_get_issuer_name(x)));
		json_object_set_new(c, "sans", sans(x));
		json_object_set_new(c, "not_before", time_str(X509_get0_notBefore(x)));
		json_object_set_new(c, "not_after", time_str(X509_get0_notAfter(x)));
		json_object_set_new(c, "self_signed", json_boolean(
		    X509_check_issued(x, x) == X509_V_OK));
		/* the server's own certificate: an unused expired extra in
		 * the chain is not why it fails */
		if (x == leaf && X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
			expired = 1;
		json_array_append_new(arr, c);
	}
	json_object_set_new(fact, "chain", arr);
	json_object_set_new(fact, "root_issuer", top ?
	    name_str(X509_get_issuer_name(top)) : json_null());
	json_object_set_new(fact, "expired", json_boolean(expired));

	long vr = SSL_get_verify_result(ssl);
	int chain_ok = leaf && vr == X509_V_OK;
	json_object_set_new(fact, "verify", json_pack("{s:b, s:I, s:s}",
	    "ok", chain_ok, "code", (json_int_t)vr, "reason",
	    leaf ? X509_verify_cert_error_string(vr) : "no certificate"));

	int name_ok = 0;
	if (leaf && host) {
		unsigned char buf[16];
		if (inet_pton(AF_INET, host, buf) == 1 ||
		    inet_pton(AF_INET6, host, buf) == 1)
			name_ok = X509_check_ip_asc(leaf, host, 0) == 1;
		else
			name_ok = X509_check_host(leaf, host, 0, 0, NULL) == 1;
	}
	json_object_set_new(fact, "name_match", json_boolean(name_ok));
	return chain_ok && name_ok;
}
