/*
 * DKIM key records (RFC 6376 §3.6.1, RFC 8463 §4.2): parse, judge, fetch.
 *
 * A record is judged the way receivers will treat it: revoked (empty p=),
 * malformed (they ignore it), too short (RFC 8301 §3.2: RSA below 1024 bits
 * must not be accepted), unusable for mail (s= or h= exclude it), or fine,
 * possibly weak (1024-bit RSA) or in testing mode (t=y).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mailauth/dkim.h"
#include "mailauth/dkim_internal.h"
#include "util/util.h"

static sd_dkim_key_status judge(sd_dkim_key *key, sd_dkim_key_status st,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static sd_dkim_key_status judge(sd_dkim_key *key, sd_dkim_key_status st,
    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(key->reason, sizeof key->reason, fmt, ap);
	va_end(ap);
	key->status = st;
	if (st != SD_DKIM_KEY_OK && st != SD_DKIM_KEY_UNUSABLE && key->pkey) {
		EVP_PKEY_free(key->pkey);
		key->pkey = NULL;
	}
	return st;
}

/* True when the colon-separated list `v` holds `item` (ASCII, any case). */
int sd_dkim_list_has(const char *v, size_t len, const char *item)
{
	size_t ilen = strlen(item), i = 0;
	while (i <= len) {
		size_t j = i;
		while (j < len && v[j] != ':')
			j++;
		size_t a = i, b = j;
		while (a < b && (v[a] == ' ' || v[a] == '\t' || v[a] == '\r' ||
		    v[a] == '\n'))
			a++;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t' ||
		    v[b - 1] == '\r' || v[b - 1] == '\n'))
			b--;
		if (b - a == ilen && sd_strncaseeq(v + a, item, ilen))
			return 1;
		i = j + 1;
	}
	return 0;
}

static int tag_is(const sd_tag *t, const char *s)
{
	size_t n = strlen(s);
	return t && t->value_len == n && sd_strncaseeq(t->value, s, n);
}

unsigned char *sd_dkim_b64_decode(const char *in, size_t len, size_t *outlen,
    int *malformed)
{
	/* util's decoder skips whitespace but forgives a truncated last
	 * quantum; DKIM wants "malformed base64" reported, so count first. */
	size_t chars = 0, pad = 0;
	*malformed = 0;
	*outlen = 0;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=')
			pad++;
		else if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/'))
			break;  /* left for the decoder to refuse */
		chars++;
	}
	if (chars % 4 != 0 || pad > 2) {
		*malformed = 1;
		return NULL;
	}
	unsigned char *out = sd_base64_decode(in, len, outlen);
	if (!out)
		*malformed = 1;
	return out;
}

static EVP_PKEY *decode_rsa(const unsigned char *der, size_t len, int *spki,
    int *other_type)
{
	const unsigned char *p = der;
	*other_type = 0;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)len);
	if (k && p == der + len) {
		if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
			*spki = 1;
			return k;
		}
		*other_type = EVP_PKEY_get_base_id(k);
	}
	EVP_PKEY_free(k);
	/* RFC 6376 §3.6.1 names RSAPublicKey; most signers publish SPKI.
	 * Receivers accept both, and so do we. */
	p = der;
	k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
	if (k && p == der + len) {
		*spki = 0;
		return k;
	}
	EVP_PKEY_free(k);
	return NULL;
}

/* h= (hash algorithms), t= (flags) and s= (service types). */
static void read_flags(sd_dkim_key *key, const sd_tag_list *tl)
{
	const sd_tag *h = sd_tag_list_get(tl, "h");
	if (h) {
		key->allows_sha1 = sd_dkim_list_has(h->value, h->value_len, "sha1");
		key->allows_sha256 = sd_dkim_list_has(h->value, h->value_len,
		    "sha256");
	}
	const sd_tag *t = sd_tag_list_get(tl, "t");
	if (t) {
		key->testing = sd_dkim_list_has(t->value, t->value_len, "y");
		key->strict_identity = sd_dkim_list_has(t->value, t->value_len,
		    "s");
	}
	const sd_tag *s = sd_tag_list_get(tl, "s");
	key->for_email = !s || sd_dkim_list_has(s->value, s->value_len, "*") ||
	    sd_dkim_list_has(s->value, s->value_len, "email");
}

/* RFC 8463 §4.2: an ed25519 p= is the raw 32-byte public key. */
static int load_ed25519(sd_dkim_key *key, const unsigned char *der,
    size_t der_len)
{
	if (der_len != 32) {
		judge(key, SD_DKIM_KEY_MALFORMED, "an ed25519 key is 32 bytes, "
		    "p= holds %zu", der_len);
		return -1;
	}
	key->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der,
	    der_len);
	key->bits = 256;
	if (!key->pkey) {
		ERR_clear_error();
		judge(key, SD_DKIM_KEY_MALFORMED, "p= is not a usable ed25519 "
		    "key");
		return -1;
	}
	return 0;
}

/* An RSA p= in either DER form, of a size receivers accept (RFC 8301). */
static int load_rsa(sd_dkim_key *key, const unsigned char *der,
    size_t der_len)
{
	int other = 0;
	key->pkey = decode_rsa(der, der_len, &key->spki, &other);
	ERR_clear_error();
	if (!key->pkey) {
		if (other == EVP_PKEY_ED25519)
			judge(key, SD_DKIM_KEY_MALFORMED, "p= holds an ed25519 key "
			    "but the record says k=rsa");
		else
			judge(key, SD_DKIM_KEY_MALFORMED, "p= is not an RSA public "
			    "key (neither SubjectPublicKeyInfo nor RSAPublicKey "
			    "DER)");
		return -1;
	}
	int bits = EVP_PKEY_get_bits(key->pkey);
	key->bits = bits > 0 ? (unsigned)bits : 0;
	if (key->bits < SD_DKIM_RSA_MIN_BITS) {
		judge(key, SD_DKIM_KEY_TOO_SHORT, "the RSA key is %u bits: "
		    "receivers refuse keys under %d bits (RFC 8301); publish a "
		    "2048-bit key", key->bits, SD_DKIM_RSA_MIN_BITS);
		return -1;
	}
	if (key->bits > SD_DKIM_RSA_MAX_BITS) {
		judge(key, SD_DKIM_KEY_MALFORMED, "the RSA key is %u bits: "
		    "receivers need only accept up to 4096 bits (RFC 8301), this "
		    "tool stops at %d", key->bits, SD_DKIM_RSA_MAX_BITS);
		return -1;
	}
	key->weak = key->bits < SD_DKIM_RSA_WEAK_BITS;
	return 0;
}

/* The public key of a non-empty p=, of the record's type. */
static int load_key(sd_dkim_key *key, const sd_tag *p)
{
	size_t der_len;
	int bad64;
	unsigned char *der = sd_dkim_b64_decode(p->value, p->value_len,
	    &der_len, &bad64);
	if (!der) {
		judge(key, SD_DKIM_KEY_MALFORMED, bad64 ?
		    "p= is not valid base64" : "out of memory decoding p=");
		return -1;
	}
	int r = key->type == SD_DKIM_KEY_TYPE_ED25519 ?
	    load_ed25519(key, der, der_len) : load_rsa(key, der, der_len);
	free(der);
	return r;
}

sd_dkim_key_status sd_dkim_key_parse(const char *text, size_t len,
    sd_dkim_key *key)
{
	memset(key, 0, sizeof *key);
	key->status = SD_DKIM_KEY_MALFORMED;
	key->allows_sha1 = key->allows_sha256 = 1;
	if (!text)
		return judge(key, SD_DKIM_KEY_MALFORMED, "no key record");
	if (len > SD_DKIM_KEY_RECORD_MAX)
		return judge(key, SD_DKIM_KEY_MALFORMED, "the key record is %zu "
		    "bytes, more than the %d a key needs", len,
		    SD_DKIM_KEY_RECORD_MAX);
	sd_tag_list tl;
	if (sd_tag_list_parse(text, len, &tl) < 0)
		return judge(key, SD_DKIM_KEY_MALFORMED, "the key record is not "
		    "a valid tag list: %s", tl.error);

	const sd_tag *v = sd_tag_list_get(&tl, "v");
	if (v && v != &tl.tag[0])
		return judge(key, SD_DKIM_KEY_MALFORMED, "v= must be the first "
		    "tag of the key record");
	if (v && !(v->value_len == 5 && memcmp(v->value, "DKIM1", 5) == 0)) {
		char *shown = sd_sanitize(v->value, v->value_len, 40);
		judge(key, SD_DKIM_KEY_MALFORMED, "v=\"%s\": the version must "
		    "be exactly DKIM1", shown ? shown : "?");
		free(shown);
		return key->status;
	}

	const sd_tag *k = sd_tag_list_get(&tl, "k");
	if (!k || tag_is(k, "rsa")) {
		key->type = SD_DKIM_KEY_TYPE_RSA;
	} else if (tag_is(k, "ed25519")) {
		key->type = SD_DKIM_KEY_TYPE_ED25519;
	} else {
		char *shown = sd_sanitize(k->value, k->value_len, 40);
		judge(key, SD_DKIM_KEY_MALFORMED, "unknown key type k=\"%s\" "
		    "(expected rsa or ed25519)", shown ? shown : "?");
		free(shown);
		return key->status;
	}

	read_flags(key, &tl);
	const sd_tag *p = sd_tag_list_get(&tl, "p");
	if (!p)
		return judge(key, SD_DKIM_KEY_MALFORMED, "the key record has no "
		    "p= tag");
	if (p->value_len == 0)
		return judge(key, SD_DKIM_KEY_REVOKED, "the key has been revoked "
		    "(empty p=)");
	if (load_key(key, p) < 0)
		return key->status;

	if (!key->for_email)
		return judge(key, SD_DKIM_KEY_UNUSABLE, "s= does not list email or "
		    "*: the key may not sign e-mail");
	if (!key->allows_sha256)
		return judge(key, SD_DKIM_KEY_UNUSABLE, "h= does not allow sha256: "
		    "the key can only make rsa-sha1 signatures, which receivers "
		    "refuse (RFC 8301)");

	const char *flags = key->testing ? "; t=y: the domain is testing DKIM" :
	    "";
	if (key->type == SD_DKIM_KEY_TYPE_ED25519)
		return judge(key, SD_DKIM_KEY_OK, "ed25519 key%s", flags);
	if (key->weak)
		return judge(key, SD_DKIM_KEY_OK, "RSA %u-bit key: weak, accepted "
		    "today but 2048 bits is the recommended size%s", key->bits,
		    flags);
	return judge(key, SD_DKIM_KEY_OK, "RSA %u-bit key%s", key->bits, flags);
}

void sd_dkim_key_clear(sd_dkim_key *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	memset(key, 0, sizeof *key);
}

const char *sd_dkim_key_status_name(sd_dkim_key_status s)
{
	switch (s) {
	case SD_DKIM_KEY_NONE: return "none";
	case SD_DKIM_KEY_OK: return "ok";
	case SD_DKIM_KEY_REVOKED: return "revoked";
	case SD_DKIM_KEY_MALFORMED: return "malformed";
	case SD_DKIM_KEY_TOO_SHORT: return "too_short";
	case SD_DKIM_KEY_UNUSABLE: return "unusable";
	}
	return "unknown";
}

const char *sd_dkim_lookup_name(sd_dkim_lookup l)
{
	switch (l) {
	case SD_DKIM_LOOKUP_NOT_DONE: return "not_done";
	case SD_DKIM_LOOKUP_FOUND: return "found";
	case SD_DKIM_LOOKUP_NONE: return "none";
	case SD_DKIM_LOOKUP_FAILED: return "failed";
	case SD_DKIM_LOOKUP_MULTIPLE: return "multiple";
	case SD_DKIM_LOOKUP_BAD_NAME: return "bad_name";
	}
	return "unknown";
}

/* ---- fetching ---- */

static void set_reason(sd_dkim_key_lookup *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_reason(sd_dkim_key_lookup *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof out->reason, fmt, ap);
	va_end(ap);
}

sd_error sd_dkim_key_name(const char *selector, const char *domain,
    sd_dkim_key_lookup *out)
{
	size_t slen = selector ? strlen(selector) : 0;
	size_t dlen = domain ? strlen(domain) : 0;
	if (dlen && domain[dlen - 1] == '.')
		dlen--;  /* a caller's fully-qualified name */
	if (!sd_dkim_valid_domain(selector, slen, 1) ||
	    !sd_dkim_valid_domain(domain, dlen, 1) ||
	    slen + dlen + sizeof "._domainkey." > 254) {
		out->result = SD_DKIM_LOOKUP_BAD_NAME;
		set_reason(out, "the selector or domain "
		    "is not a valid DNS name");
		return SD_OK;
	}
	out->name = malloc(slen + dlen + sizeof "._domainkey.");
	if (!out->name)
		return SD_ERR_NOMEM;
	sprintf(out->name, "%s._domainkey.%.*s", selector, (int)dlen, domain);
	for (char *c = out->name; *c; c++)
		*c = sd_tolower(*c);
	return SD_OK;
}

/* Judges a record found for out->name; `text` is borrowed. */
sd_error sd_dkim_key_found(sd_dkim_key_lookup *out, const char *text,
    size_t len)
{
	out->result = SD_DKIM_LOOKUP_FOUND;
	out->record = sd_sanitize(text, len, SD_DKIM_KEY_RECORD_MAX);
	if (!out->record)
		return SD_ERR_NOMEM;
	sd_dkim_key_parse(text, len, &out->key);
	set_reason(out, "%s: %s", out->name,
	    out->key.reason);
	return SD_OK;
}

sd_error sd_dkim_key_fetch(sd_resolver *res, const char *selector,
    const char *domain, int64_t deadline_ms, sd_dkim_key_lookup *out)
{
	memset(out, 0, sizeof *out);
	if (!res)
		return SD_ERR_USAGE;
	sd_error err = sd_dkim_key_name(selector, domain, out);
	if (err != SD_OK || out->result == SD_DKIM_LOOKUP_BAD_NAME)
		return err;

	sd_dns_answer ans;
	memset(&ans, 0, sizeof ans);
	sd_dns_status st = sd_dns_query(res, out->name, SD_DNS_TXT, deadline_ms,
	    &ans);
	out->dns_status = st;
	out->secure = ans.secure;
	size_t n_txt = 0, first = 0;
	for (size_t i = 0; st == SD_DNS_OK && i < ans.n_rr; i++) {
		if (ans.rr[i].type != SD_DNS_TXT)
			continue;
		if (n_txt++ == 0)
			first = i;
	}
	if (sd_dns_status_is_failure(st) || st == SD_DNS_ERROR) {
		out->result = SD_DKIM_LOOKUP_FAILED;
		set_reason(out, "the lookup of %s "
		    "failed (%s): no conclusion about the key", out->name,
		    sd_dns_status_name(st));
	} else if (n_txt == 0) {
		out->result = SD_DKIM_LOOKUP_NONE;
		set_reason(out, "no DKIM key is "
		    "published at %s (%s)", out->name,
		    st == SD_DNS_NXDOMAIN ? "the name does not exist" :
		    "no TXT record");
	} else {
		err = sd_dkim_key_found(out, ans.rr[first].text,
		    ans.rr[first].text_len);
		if (err == SD_OK && n_txt > 1) {
			out->result = SD_DKIM_LOOKUP_MULTIPLE;
			set_reason(out, "%s has %zu TXT "
			    "records: the result is undefined (RFC 6376 §3.6.2.2), "
			    "receivers may pick any; publish exactly one",
			    out->name, n_txt);
		}
	}
	sd_dns_answer_clear(&ans);
	return err;
}

void sd_dkim_key_lookup_clear(sd_dkim_key_lookup *l)
{
	if (!l)
		return;
	free(l->name);
	free(l->record);
	sd_dkim_key_clear(&l->key);
	memset(l, 0, sizeof *l);
}
