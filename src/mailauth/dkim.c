/*
 * DKIM-Signature parsing and verification (RFC 6376 §3.5, §5.4, §6.1;
 * RFC 8463; RFC 8301).
 *
 * Every signature gets a result and one reason.  The body hash and the
 * header signature are both computed whenever they can be, so that "the
 * body changed" and "a signed header field changed" can be told apart.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "mailauth/dkim.h"
#include "mailauth/dkim_internal.h"
#include "util/util.h"

/* t= this far in the future is noted; less is clock skew between hosts. */
#define SD_DKIM_CLOCK_SKEW 300
/* Longest tag text copied into a result, for display. */
#define SD_DKIM_SHOW_MAX 256

/* Parsed pieces of one signature that verification needs beyond sd_dkim_sig. */
typedef struct parsed {
	sd_tag_list tl;
	unsigned char *b, *bh;
	size_t b_len, bh_len;
	const char *h[SD_DKIM_MAX_H];  /* h= names, pointing into the value */
	size_t h_len[SD_DKIM_MAX_H];
	size_t n_h;
} parsed;

/* Where keys come from: the resolver, or records in hand. */
typedef struct keysrc {
	sd_resolver *res;
	int64_t deadline_ms;
	const sd_dkim_keyrec *keys;
	size_t n_keys;
} keysrc;

static int conclude(sd_dkim_sig *sig, sd_dkim_result r, sd_dkim_why w,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int conclude(sd_dkim_sig *sig, sd_dkim_result r, sd_dkim_why w,
    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sig->reason, sizeof sig->reason, fmt, ap);
	va_end(ap);
	sig->result = r;
	sig->why = w;
	return -1;
}

static int is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char *show(const sd_tag *t)
{
	return sd_sanitize(t->value, t->value_len, SD_DKIM_SHOW_MAX);
}

static int value_is(const sd_tag *t, const char *s)
{
	size_t n = strlen(s);
	return t->value_len == n && sd_strncaseeq(t->value, s, n);
}

/* Decimal digits into *out; 0 when not all digits or over 18 of them. */
static int parse_uint(const sd_tag *t, uint64_t *out)
{
	if (t->value_len == 0 || t->value_len > 18)
		return 0;
	uint64_t v = 0;
	for (size_t i = 0; i < t->value_len; i++) {
		if (t->value[i] < '0' || t->value[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(t->value[i] - '0');
	}
	*out = v;
	return 1;
}

/* Same, for l=: RFC 6376 allows 76 digits; more than 18 saturates. */
static int parse_length(const sd_tag *t, uint64_t *out)
{
	if (t->value_len == 0 || t->value_len > 76)
		return 0;
	for (size_t i = 0; i < t->value_len; i++)
		if (t->value[i] < '0' || t->value[i] > '9')
			return 0;
	if (!parse_uint(t, out))
		*out = UINT64_MAX;
	return 1;
}

static char *lower_dup(const char *s, size_t len)
{
	char *d = sd_sanitize(s, len, SD_DKIM_SHOW_MAX);
	for (char *c = d; c && *c; c++)
		*c = sd_tolower(*c);
	return d;
}

static int parse_canon(const sd_tag *c, sd_dkim_sig *sig)
{
	sig->header_canon = sig->body_canon = SD_DKIM_CANON_SIMPLE;
	if (!c)
		return 0;
	const char *slash = memchr(c->value, '/', c->value_len);
	size_t hl = slash ? (size_t)(slash - c->value) : c->value_len;
	const char *b = slash ? slash + 1 : NULL;
	size_t bl = slash ? c->value_len - hl - 1 : 0;
	if (hl == 7 && sd_strncaseeq(c->value, "relaxed", 7))
		sig->header_canon = SD_DKIM_CANON_RELAXED;
	else if (!(hl == 6 && sd_strncaseeq(c->value, "simple", 6)))
		return -1;
	if (!b)
		return 0;
	if (bl == 7 && sd_strncaseeq(b, "relaxed", 7))
		sig->body_canon = SD_DKIM_CANON_RELAXED;
	else if (!(bl == 6 && sd_strncaseeq(b, "simple", 6)))
		return -1;
	return 0;
}

/* Splits h= into names; checks each is a field name. */
static int parse_h(const sd_tag *h, parsed *p, sd_dkim_sig *sig)
{
	size_t i = 0, cap = h->value_len * 2 + 1;
	char *norm = malloc(cap), *o = norm;
	if (!norm)
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX,
		    "out of memory reading h=");
	while (i <= h->value_len) {
		size_t j = i;
		while (j < h->value_len && h->value[j] != ':')
			j++;
		size_t a = i, b = j;
		while (a < b && is_fws(h->value[a]))
			a++;
		while (b > a && is_fws(h->value[b - 1]))
			b--;
		for (size_t k = a; k < b; k++) {
			unsigned char ch = (unsigned char)h->value[k];
			if (ch <= 0x20 || ch >= 0x7f) {
				free(norm);
				return conclude(sig, SD_DKIM_PERMERROR,
				    SD_DKIM_WHY_SYNTAX, "h= holds a name that is "
				    "not a header field name");
			}
		}
		if (a == b) {
			free(norm);
			return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX,
			    "h= holds an empty header field name");
		}
		if (p->n_h >= SD_DKIM_MAX_H) {
			free(norm);
			return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX,
			    "h= names more than %d header fields",
			    SD_DKIM_MAX_H);
		}
		p->h[p->n_h] = h->value + a;
		p->h_len[p->n_h++] = b - a;
		if (o != norm)
			*o++ = ':';
		for (size_t k = a; k < b; k++)
			*o++ = sd_tolower(h->value[k]);
		i = j + 1;
	}
	*o = '\0';
	sig->headers = norm;
	return 0;
}

static int h_count(const parsed *p, const char *name)
{
	int n = 0;
	size_t len = strlen(name);
	for (size_t i = 0; i < p->n_h; i++)
		if (p->h_len[i] == len && sd_strncaseeq(p->h[i], name, len))
			n++;
	return n;
}

static int decode_b64_tag(const sd_tag *t, unsigned char **out, size_t *len)
{
	int bad;
	*out = sd_dkim_b64_decode(t->value, t->value_len, len, &bad);
	return *out ? 0 : -1;
}

static void parsed_clear(parsed *p)
{
	free(p->b);
	free(p->bh);
	p->b = p->bh = NULL;
}

/* What can be shown of the signature (d=, s=, a=, i=) is kept before
 * anything is judged, so that even a rejected signature names itself. */
static int sig_keep_shown(const parsed *p, sd_dkim_sig *sig)
{
	const sd_tag *a = sd_tag_list_get(&p->tl, "a");
	const sd_tag *d = sd_tag_list_get(&p->tl, "d");
	const sd_tag *s = sd_tag_list_get(&p->tl, "s");
	const sd_tag *i = sd_tag_list_get(&p->tl, "i");
	if (d)
		sig->domain = lower_dup(d->value, d->value_len);
	if (s)
		sig->selector = sd_sanitize(s->value, s->value_len,
		    SD_DKIM_SHOW_MAX);
	if (a) {
		sig->algorithm = show(a);
		if (value_is(a, "rsa-sha256"))
			sig->alg = SD_DKIM_ALG_RSA_SHA256;
		else if (value_is(a, "rsa-sha1"))
			sig->alg = SD_DKIM_ALG_RSA_SHA1;
		else if (value_is(a, "ed25519-sha256"))
			sig->alg = SD_DKIM_ALG_ED25519_SHA256;
	}
	if (i)
		sig->identity = show(i);
	if ((d && !sig->domain) || (s && !sig->selector) ||
	    (a && !sig->algorithm) || (i && !sig->identity))
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX,
		    "out of memory reading the signature");
	return 0;
}

/* The required tags, the version, the algorithm, d=, s=, c= and q=. */
static int sig_check_tags(parsed *p, sd_dkim_sig *sig)
{
	static const char *const required[] = { "v", "a", "b", "bh", "d",
		"h", "s" };
	for (size_t k = 0; k < sizeof required / sizeof required[0]; k++)
		if (!sd_tag_list_get(&p->tl, required[k]))
			return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX,
			    "the signature has no %s= tag", required[k]);
	const sd_tag *v = sd_tag_list_get(&p->tl, "v");
	const sd_tag *d = sd_tag_list_get(&p->tl, "d");
	const sd_tag *s = sd_tag_list_get(&p->tl, "s");
	const sd_tag *c = sd_tag_list_get(&p->tl, "c");
	const sd_tag *q = sd_tag_list_get(&p->tl, "q");
	if (!(v->value_len == 1 && v->value[0] == '1')) {
		char *vs = show(v);
		conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_VERSION, "v=%s: "
		    "only DKIM version 1 exists", vs ? vs : "?");
		free(vs);
		return -1;
	}
	if (sig->alg == SD_DKIM_ALG_UNKNOWN)
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_ALGORITHM,
		    "a=%s is not a DKIM algorithm (rsa-sha256, ed25519-sha256)",
		    sig->algorithm ? sig->algorithm : "?");
	if (!sd_dkim_valid_domain(d->value, d->value_len, 0))
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_BAD_DOMAIN,
		    "d=%s is not a valid domain name",
		    sig->domain ? sig->domain : "?");
	if (!sd_dkim_valid_domain(s->value, s->value_len, 1))
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_BAD_DOMAIN,
		    "s=%s is not a valid selector",
		    sig->selector ? sig->selector : "?");
	if (parse_canon(c, sig) < 0) {
		char *cs = show(c);
		conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX, "c=%s is not "
		    "a canonicalization (simple or relaxed)", cs ? cs : "?");
		free(cs);
		return -1;
	}
	if (q && !sd_dkim_list_has(q->value, q->value_len, "dns/txt"))
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX,
		    "q= names no key query method this verifier knows (dns/txt)");
	return 0;
}

/* i= defaults to "@" d=; given, its domain is d= or a subdomain of it
 * (RFC 6376 §3.5). */
static int sig_identity(const parsed *p, sd_dkim_sig *sig)
{
	const sd_tag *i = sd_tag_list_get(&p->tl, "i");
	const sd_tag *d = sd_tag_list_get(&p->tl, "d");
	if (!i) {
		size_t n = strlen(sig->domain) + 2;
		sig->identity = malloc(n);
		if (!sig->identity)
			return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX,
			    "out of memory reading the signature");
		snprintf(sig->identity, n, "@%s", sig->domain);
		return 0;
	}
	const char *at = NULL;
	for (size_t k = 0; k < i->value_len; k++)
		if (i->value[k] == '@')
			at = i->value + k;
	if (!at)
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX,
		    "i=%s has no '@'", sig->identity ? sig->identity : "?");
	size_t il = i->value_len - (size_t)(at + 1 - i->value);
	const char *idom = at + 1;
	int ok = il == d->value_len && sd_strncaseeq(idom, d->value, il);
	if (!ok && il > d->value_len) {
		const char *tail = idom + (il - d->value_len);
		ok = tail[-1] == '.' && sd_strncaseeq(tail, d->value, d->value_len);
	}
	if (!ok)
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_IDENTITY,
		    "i=%s is not in d=%s or a subdomain of it",
		    sig->identity ? sig->identity : "?", sig->domain);
	return 0;
}

/* The body length l=, the signing time t= and the expiry x=. */
static int sig_limits(const parsed *p, sd_dkim_sig *sig)
{
	const sd_tag *l = sd_tag_list_get(&p->tl, "l");
	const sd_tag *t = sd_tag_list_get(&p->tl, "t");
	const sd_tag *x = sd_tag_list_get(&p->tl, "x");
	if (l) {
		sig->has_length = 1;
		if (!parse_length(l, &sig->length))
			return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX,
			    "l= is not a decimal length");
	}
	uint64_t u;
	if (t) {
		if (!parse_uint(t, &u))
			return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX,
			    "t= is not a time in seconds");
		sig->timestamp = (int64_t)u;
	}
	if (x) {
		if (!parse_uint(x, &u))
			return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX,
			    "x= is not a time in seconds");
		sig->expiration = (int64_t)u;
		if (sig->timestamp >= 0 && sig->expiration < sig->timestamp)
			return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX,
			    "x= is earlier than t=: the signature was never valid");
	}
	return 0;
}

/* The body hash bh= (of the algorithm's size) and the signature b=. */
static int sig_hashes(parsed *p, sd_dkim_sig *sig)
{
	const sd_tag *b = sd_tag_list_get(&p->tl, "b");
	const sd_tag *bh = sd_tag_list_get(&p->tl, "bh");
	if (decode_b64_tag(bh, &p->bh, &p->bh_len) < 0)
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX,
		    "bh= is not valid base64");
	size_t want = sig->alg == SD_DKIM_ALG_RSA_SHA1 ? 20 : 32;
	if (p->bh_len != want)
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX,
		    "bh= holds %zu bytes, a %s body hash has %zu", p->bh_len,
		    want == 20 ? "sha1" : "sha256", want);
	if (decode_b64_tag(b, &p->b, &p->b_len) < 0 || p->b_len == 0)
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX,
		    "b= is empty or not valid base64");
	return 0;
}

static int parse_sig(const char *value, size_t len, sd_dkim_sig *sig,
    parsed *p)
{
	memset(p, 0, sizeof *p);
	sig->timestamp = sig->expiration = -1;
	sig->body_hash_ok = sig->signature_ok = -1;
	if (sd_tag_list_parse(value, len, &p->tl) < 0)
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX,
		    "the DKIM-Signature is not a valid tag list: %s",
		    p->tl.error);
	if (sig_keep_shown(p, sig) < 0 || sig_check_tags(p, sig) < 0 ||
	    parse_h(sd_tag_list_get(&p->tl, "h"), p, sig) < 0)
		return -1;
	if (h_count(p, "from") == 0)
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_FROM_UNSIGNED,
		    "h= does not include From, which every signature must sign "
		    "(RFC 6376 §6.1.1)");
	if (sig_identity(p, sig) < 0 || sig_limits(p, sig) < 0)
		return -1;
	return sig_hashes(p, sig);
}

int sd_dkim_sig_parse(const char *value, size_t len, sd_dkim_sig *sig)
{
	memset(sig, 0, sizeof *sig);
	parsed *p = malloc(sizeof *p);
	if (!p)
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX,
		    "out of memory");
	int r = value ? parse_sig(value, len, sig, p) :
	    conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_SYNTAX, "no value");
	parsed_clear(p);
	free(p);
	return r;
}

void sd_dkim_sig_clear(sd_dkim_sig *sig)
{
	if (!sig)
		return;
	free(sig->domain);
	free(sig->selector);
	free(sig->identity);
	free(sig->algorithm);
	free(sig->headers);
	sd_dkim_key_lookup_clear(&sig->key);
	memset(sig, 0, sizeof *sig);
}

/* ---- keys ---- */

static int name_matches(const char *want, const char *have)
{
	size_t wl = strlen(want), hl = strlen(have);
	if (hl && have[hl - 1] == '.')
		hl--;
	return wl == hl && sd_strncaseeq(want, have, wl);
}

static sd_error key_get(const keysrc *src, const char *selector,
    const char *domain, sd_dkim_key_lookup *out)
{
	if (src->res)
		return sd_dkim_key_fetch(src->res, selector, domain,
		    src->deadline_ms, out);
	memset(out, 0, sizeof *out);
	sd_error err = sd_dkim_key_name(selector, domain, out);
	if (err != SD_OK || out->result == SD_DKIM_LOOKUP_BAD_NAME)
		return err;
	for (size_t i = 0; i < src->n_keys; i++) {
		if (!src->keys[i].name || !name_matches(out->name,
		    src->keys[i].name))
			continue;
		if (!src->keys[i].record) {
			out->result = SD_DKIM_LOOKUP_FAILED;
			out->dns_status = SD_DNS_SERVFAIL;
			snprintf(out->reason, sizeof out->reason, "the lookup of %s "
			    "failed (%s): no conclusion about the key", out->name,
			    sd_dns_status_name(out->dns_status));
			return SD_OK;
		}
		out->dns_status = SD_DNS_OK;
		return sd_dkim_key_found(out, src->keys[i].record,
		    strlen(src->keys[i].record));
	}
	out->result = SD_DKIM_LOOKUP_NONE;
	out->dns_status = SD_DNS_NXDOMAIN;
	snprintf(out->reason, sizeof out->reason, "no DKIM key is published at "
	    "%s (the name does not exist)", out->name);
	return SD_OK;
}

/* ---- hashing ---- */

typedef struct hsink {
	EVP_MD_CTX *md;
	int limited;
	uint64_t left;   /* bytes still to hash under l= */
	uint64_t total;  /* canonical body bytes, all of them */
	int err;
} hsink;

static int hsink_put(void *ctx, const char *data, size_t len)
{
	hsink *h = ctx;
	h->total += len;
	size_t k = len;
	if (h->limited) {
		if (k > h->left)
			k = (size_t)h->left;
		h->left -= k;
	}
	if (k && EVP_DigestUpdate(h->md, data, k) != 1)
		h->err = 1;
	return h->err;
}

typedef struct gbuf {
	char *p;
	size_t n, cap;
	int nomem;
} gbuf;

static int gbuf_put(void *ctx, const char *data, size_t len)
{
	gbuf *g = ctx;
	if (g->n + len > g->cap) {
		size_t ncap = g->cap ? g->cap : 1024;
		while (ncap < g->n + len)
			ncap *= 2;
		char *np = realloc(g->p, ncap);
		if (!np) {
			g->nomem = 1;
			return 1;
		}
		g->p = np;
		g->cap = ncap;
	}
	memcpy(g->p + g->n, data, len);
	g->n += len;
	return 0;
}

/* Body hash of one (canonicalization, hash, l=) combination. */
typedef struct bodymemo {
	sd_dkim_canon canon;
	int sha1;
	int limited;
	uint64_t length;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len;
	uint64_t total;
} bodymemo;

typedef struct vctx {
	const sd_mail_msg *m;
	int64_t now;
	const keysrc *src;
	bodymemo memo[SD_DKIM_MAX_SIGNATURES];
	size_t n_memo;
} vctx;

static const bodymemo *body_hash(vctx *v, const sd_dkim_sig *sig)
{
	int sha1 = sig->alg == SD_DKIM_ALG_RSA_SHA1;
	for (size_t i = 0; i < v->n_memo; i++) {
		const bodymemo *b = &v->memo[i];
		if (b->canon == sig->body_canon && b->sha1 == sha1 &&
		    b->limited == sig->has_length &&
		    (!b->limited || b->length == sig->length))
			return b;
	}
	if (v->n_memo >= SD_DKIM_MAX_SIGNATURES)
		return NULL;
	bodymemo *b = &v->memo[v->n_memo];
	memset(b, 0, sizeof *b);
	b->canon = sig->body_canon;
	b->sha1 = sha1;
	b->limited = sig->has_length;
	b->length = sig->length;
	hsink h = { .md = EVP_MD_CTX_new(), .limited = sig->has_length,
		.left = sig->length };
	if (!h.md)
		return NULL;
	if (EVP_DigestInit_ex(h.md, sha1 ? EVP_sha1() : EVP_sha256(), NULL) != 1)
		h.err = 1;
	if (!h.err)
		sd_dkim_canon_body(sig->body_canon, v->m->body, v->m->body_len,
		    hsink_put, &h);
	if (!h.err && EVP_DigestFinal_ex(h.md, b->md, &b->md_len) != 1)
		h.err = 1;
	EVP_MD_CTX_free(h.md);
	ERR_clear_error();
	if (h.err)
		return NULL;
	b->total = h.total;
	v->n_memo++;
	return b;
}

static int name_is(const sd_mail_field *f, const char *name, size_t len)
{
	return f->name_len == len && sd_strncaseeq(f->name, name, len);
}

/*
 * The data the header signature covers (RFC 6376 §3.7): the fields h=
 * names, each picked from the bottom up, then this DKIM-Signature with the
 * value of b= emptied and no final CRLF.  Returns -1 on ENOMEM.
 */
static int header_data(const vctx *v, size_t self, const sd_dkim_sig *sig,
    const parsed *p, gbuf *g)
{
	const sd_mail_msg *m = v->m;
	size_t picked[SD_DKIM_MAX_H];
	for (size_t j = 0; j < p->n_h; j++) {
		size_t start = m->n_field;
		for (size_t k = j; k-- > 0;) {
			if (p->h_len[k] == p->h_len[j] &&
			    sd_strncaseeq(p->h[k], p->h[j], p->h_len[j])) {
				start = picked[k] == SIZE_MAX ? 0 : picked[k];
				break;
			}
		}
		picked[j] = SIZE_MAX;
		for (size_t i = start; i-- > 0;) {
			if (i == self || !name_is(&m->field[i], p->h[j], p->h_len[j]))
				continue;
			picked[j] = i;
			break;
		}
		if (picked[j] == SIZE_MAX)
			continue;  /* absent: signed as nothing (over-signing) */
		const sd_mail_field *f = &m->field[picked[j]];
		sd_dkim_canon_header(sig->header_canon, f->raw, f->raw_len,
		    gbuf_put, g);
	}

	const sd_mail_field *f = &m->field[self];
	const sd_tag *b = sd_tag_list_get(&p->tl, "b");
	size_t vo = (size_t)(f->value - f->raw);
	size_t cut_a = vo + b->span_start, cut_b = vo + b->span_end;
	gbuf tmp = { 0 };
	gbuf_put(&tmp, f->raw, cut_a);
	gbuf_put(&tmp, f->raw + cut_b, f->raw_len - cut_b);
	if (!tmp.nomem)
		sd_dkim_canon_header(sig->header_canon, tmp.p ? tmp.p : "", tmp.n,
		    gbuf_put, g);
	free(tmp.p);
	if (tmp.nomem || g->nomem)
		return -1;
	g->n -= 2;  /* the signature's own field goes in without its CRLF */
	return 0;
}

static int verify_crypto(const sd_dkim_sig *sig, EVP_PKEY *pk,
    const char *data, size_t n, const unsigned char *s, size_t slen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = 0;
	if (!ctx)
		return -1;
	if (sig->alg == SD_DKIM_ALG_ED25519_SHA256) {
		/* RFC 8463 §3: Ed25519 (pure) signs the SHA-256 of the data. */
		unsigned char md[32];
		unsigned mdlen = 0;
		ok = EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL) == 1 &&
		    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
		    EVP_DigestVerify(ctx, s, slen, md, mdlen) == 1;
	} else {
		const EVP_MD *md = sig->alg == SD_DKIM_ALG_RSA_SHA1 ? EVP_sha1() :
		    EVP_sha256();
		ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, pk) == 1 &&
		    EVP_DigestVerifyUpdate(ctx, data, n) == 1 &&
		    EVP_DigestVerifyFinal(ctx, s, slen) == 1;
	}
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

static void utc(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm))
		strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		snprintf(buf, size, "%lld", (long long)t);
}

/* Is the key unusable for this signature?  Sets the reason when so. */
static int key_refuses(sd_dkim_sig *sig)
{
	const sd_dkim_key_lookup *kl = &sig->key;
	const sd_dkim_key *k = &kl->key;
	switch (kl->result) {
	case SD_DKIM_LOOKUP_FOUND:
		break;
	case SD_DKIM_LOOKUP_FAILED:
		return conclude(sig, SD_DKIM_TEMPERROR, SD_DKIM_WHY_KEY_LOOKUP,
		    "%s", kl->reason);
	case SD_DKIM_LOOKUP_MULTIPLE:
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_KEY_INVALID,
		    "%s", kl->reason);
	case SD_DKIM_LOOKUP_NOT_DONE:
	case SD_DKIM_LOOKUP_NONE:
	case SD_DKIM_LOOKUP_BAD_NAME:
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_KEY_MISSING,
		    "%s", kl->reason);
	}
	switch (k->status) {
	case SD_DKIM_KEY_OK:
		break;
	case SD_DKIM_KEY_REVOKED:
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_KEY_REVOKED,
		    "the key at %s has been revoked (empty p=)", kl->name);
	case SD_DKIM_KEY_NONE:
	case SD_DKIM_KEY_MALFORMED:
	case SD_DKIM_KEY_TOO_SHORT:
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_KEY_INVALID,
		    "the key at %s is invalid: %s", kl->name, k->reason);
	case SD_DKIM_KEY_UNUSABLE:
		/* A sha1-only key under an rsa-sha1 signature: the hash is the
		 * problem to name (RFC 8301), and the checks below will. */
		if (k->for_email && k->allows_sha1 &&
		    sig->alg == SD_DKIM_ALG_RSA_SHA1)
			break;
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_KEY_MISMATCH,
		    "the key at %s does not fit: %s", kl->name, k->reason);
	}
	int want_ed = sig->alg == SD_DKIM_ALG_ED25519_SHA256;
	if (want_ed != (k->type == SD_DKIM_KEY_TYPE_ED25519))
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_KEY_MISMATCH,
		    "the signature is %s but the key at %s is %s",
		    sd_dkim_alg_name(sig->alg), kl->name,
		    want_ed ? "RSA" : "ed25519");
	if (sig->alg == SD_DKIM_ALG_RSA_SHA1 ? !k->allows_sha1 :
	    !k->allows_sha256)
		return conclude(sig, SD_DKIM_PERMERROR, SD_DKIM_WHY_KEY_MISMATCH,
		    "the key at %s excludes the signature's hash (h= of the "
		    "key)", kl->name);
	if (k->strict_identity) {
		const char *at = strrchr(sig->identity, '@');
		if (!at || !sd_strcaseeq(at + 1, sig->domain))
			return conclude(sig, SD_DKIM_PERMERROR,
			    SD_DKIM_WHY_KEY_MISMATCH, "the key at %s has t=s, so "
			    "i= must be in d=%s itself, not a subdomain",
			    kl->name, sig->domain);
	}
	return 0;
}

static size_t count_from(const sd_mail_msg *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->n_field; i++)
		if (name_is(&m->field[i], "from", 4))
			n++;
	return n;
}

static void pass_reason(sd_dkim_sig *sig, const bodymemo *bm)
{
	char notes[SD_DKIM_REASON_MAX] = "";
	size_t o = 0;
	const sd_dkim_key *k = &sig->key.key;
	if (k->weak)
		o += (size_t)snprintf(notes + o, sizeof notes - o, "; the key is "
		    "only %u bits (weak: use 2048)", k->bits);
	if (k->testing && o < sizeof notes)
		o += (size_t)snprintf(notes + o, sizeof notes - o, "; the key is "
		    "in testing mode (t=y)");
	if (sig->body_truncated && o < sizeof notes)
		o += (size_t)snprintf(notes + o, sizeof notes - o, "; l= leaves "
		    "%llu bytes of the body unsigned",
		    (unsigned long long)(bm->total - sig->length));
	if (sig->timestamp_future && o < sizeof notes)
		snprintf(notes + o, sizeof notes - o, "; t= is in the future "
		    "(clocks differ)");
	char bits[32] = "";
	if (k->type == SD_DKIM_KEY_TYPE_RSA)
		snprintf(bits, sizeof bits, ", %u-bit key", k->bits);
	conclude(sig, SD_DKIM_PASS, SD_DKIM_WHY_NONE, "the signature verifies "
	    "(%s%s, d=%s, s=%s)%s", sd_dkim_alg_name(sig->alg), bits,
	    sig->domain, sig->selector, notes);
}

static sd_error verify_one(vctx *v, size_t self, sd_dkim_sig *sig)
{
	const sd_mail_field *f = &v->m->field[self];
	sig->field_index = self;
	parsed *p = malloc(sizeof *p);
	if (!p)
		return SD_ERR_NOMEM;
	sd_error err = SD_OK;
	if (parse_sig(f->value, f->value_len, sig, p) < 0)
		goto done;

	err = key_get(v->src, sig->selector, sig->domain, &sig->key);
	if (err != SD_OK)
		goto done;

	/* The body hash needs no key: always computed, always reported. */
	const bodymemo *bm = body_hash(v, sig);
	if (!bm) {
		err = SD_ERR_NOMEM;
		goto done;
	}
	int body_short = sig->has_length && bm->total < sig->length;
	sig->body_truncated = sig->has_length && bm->total > sig->length;
	sig->body_hash_ok = bm->md_len == p->bh_len &&
	    memcmp(bm->md, p->bh, p->bh_len) == 0;
	sig->timestamp_future = sig->timestamp > v->now + SD_DKIM_CLOCK_SKEW;

	if (key_refuses(sig))
		goto done;

	gbuf g = { 0 };
	if (header_data(v, self, sig, p, &g) < 0) {
		free(g.p);
		err = SD_ERR_NOMEM;
		goto done;
	}
	int ok = verify_crypto(sig, sig->key.key.pkey, g.p, g.n, p->b,
	    p->b_len);
	free(g.p);
	if (ok < 0) {
		err = SD_ERR_NOMEM;
		goto done;
	}
	sig->signature_ok = ok;

	size_t froms = count_from(v->m);
	int signed_froms = h_count(p, "from");
	if (body_short)
		conclude(sig, SD_DKIM_FAIL, SD_DKIM_WHY_BODY_LENGTH, "l=%llu but "
		    "the body has only %llu bytes after canonicalization: part "
		    "of the body was removed after signing",
		    (unsigned long long)sig->length,
		    (unsigned long long)bm->total);
	else if (!sig->body_hash_ok)
		conclude(sig, SD_DKIM_FAIL, SD_DKIM_WHY_BODY_HASH, "the body hash "
		    "does not match (bh=): the body was changed after signing%s",
		    ok ? "; the signed header fields are intact" :
		    "; the header signature fails too");
	else if (!ok)
		conclude(sig, SD_DKIM_FAIL, SD_DKIM_WHY_SIGNATURE, "the signature "
		    "does not verify although the body hash matches: a signed "
		    "header field was changed after signing, or %s holds "
		    "another key than the one that signed", sig->key.name);
	else if (sig->alg == SD_DKIM_ALG_RSA_SHA1)
		conclude(sig, SD_DKIM_FAIL, SD_DKIM_WHY_SHA1, "the signature is "
		    "valid but uses rsa-sha1, which receivers refuse (RFC 8301): "
		    "sign with rsa-sha256");
	else if (sig->expiration >= 0 && sig->expiration < v->now) {
		char when[40];
		utc(sig->expiration, when, sizeof when);
		conclude(sig, SD_DKIM_FAIL, SD_DKIM_WHY_EXPIRED, "the signature "
		    "expired at %s (x=%lld)", when,
		    (long long)sig->expiration);
	} else if (froms > (size_t)signed_froms)
		conclude(sig, SD_DKIM_FAIL, SD_DKIM_WHY_FROM_ADDED, "the message "
		    "has %zu From fields but the signature covers %d: a From "
		    "field was added after signing", froms, signed_froms);
	else
		pass_reason(sig, bm);
done:
	parsed_clear(p);
	free(p);
	return err;
}

static sd_error verify_all(const keysrc *src, const char *msg, size_t len,
    int64_t now, sd_dkim_results *out)
{
	memset(out, 0, sizeof *out);
	if (!msg)
		return SD_ERR_USAGE;
	sd_mail_msg m;
	char why[SD_DKIM_REASON_MAX];
	sd_error err = sd_mail_msg_parse(msg, len, &m, why, sizeof why);
	if (err == SD_ERR_NOMEM)
		return err;
	if (err != SD_OK) {
		snprintf(out->reason, sizeof out->reason, "%s", why);
		return SD_OK;
	}
	out->message_ok = 1;
	for (size_t i = 0; i < m.n_field; i++)
		if (name_is(&m.field[i], "dkim-signature", 14))
			out->n_sig_seen++;
	size_t n = out->n_sig_seen < SD_DKIM_MAX_SIGNATURES ?
	    out->n_sig_seen : SD_DKIM_MAX_SIGNATURES;
	vctx *v = calloc(1, sizeof *v);
	out->sig = n ? calloc(n, sizeof *out->sig) : NULL;
	if (!v || (n && !out->sig)) {
		free(v);
		sd_mail_msg_clear(&m);
		sd_dkim_results_clear(out);
		return SD_ERR_NOMEM;
	}
	v->m = &m;
	v->now = now ? now : (int64_t)time(NULL);
	v->src = src;
	size_t pass = 0;
	for (size_t i = 0; i < m.n_field && out->n_sig < n; i++) {
		if (!name_is(&m.field[i], "dkim-signature", 14))
			continue;
		err = verify_one(v, i, &out->sig[out->n_sig++]);
		if (err != SD_OK)
			break;
		if (out->sig[out->n_sig - 1].result == SD_DKIM_PASS)
			pass++;
	}
	free(v);
	sd_mail_msg_clear(&m);
	if (err != SD_OK) {
		sd_dkim_results_clear(out);
		return err;
	}
	if (out->n_sig_seen == 0)
		snprintf(out->reason, sizeof out->reason, "the message has no "
		    "DKIM-Signature");
	else
		snprintf(out->reason, sizeof out->reason, "%zu of %zu DKIM "
		    "signatures verify%s", pass, out->n_sig_seen,
		    out->n_sig_seen > n ? " (only the first ones were checked)" :
		    "");
	return SD_OK;
}

sd_error sd_dkim_verify_message(sd_resolver *res, int64_t deadline_ms,
    const char *msg, size_t len, int64_t now, sd_dkim_results *out)
{
	if (!out)
		return SD_ERR_USAGE;
	if (!res) {
		memset(out, 0, sizeof *out);
		return SD_ERR_USAGE;
	}
	keysrc src = { .res = res, .deadline_ms = deadline_ms };
	return verify_all(&src, msg, len, now, out);
}

sd_error sd_dkim_verify_message_keys(const sd_dkim_keyrec *keys,
    size_t n_keys, const char *msg, size_t len, int64_t now,
    sd_dkim_results *out)
{
	if (!out)
		return SD_ERR_USAGE;
	keysrc src = { .keys = keys, .n_keys = keys ? n_keys : 0 };
	return verify_all(&src, msg, len, now, out);
}

void sd_dkim_results_clear(sd_dkim_results *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_sig; i++)
		sd_dkim_sig_clear(&r->sig[i]);
	free(r->sig);
	memset(r, 0, sizeof *r);
}

size_t sd_dkim_pass_domains(const sd_dkim_results *r, const char **out,
    size_t max)
{
	size_t n = 0;
	for (size_t i = 0; r && i < r->n_sig; i++) {
		if (r->sig[i].result != SD_DKIM_PASS)
			continue;
		if (n < max && out)
			out[n] = r->sig[i].domain;
		n++;
	}
	return n;
}

const char *sd_dkim_result_name(sd_dkim_result r)
{
	switch (r) {
	case SD_DKIM_UNCHECKED: return "unchecked";
	case SD_DKIM_PASS: return "pass";
	case SD_DKIM_FAIL: return "fail";
	case SD_DKIM_PERMERROR: return "permerror";
	case SD_DKIM_TEMPERROR: return "temperror";
	}
	return "unknown";
}

const char *sd_dkim_why_name(sd_dkim_why w)
{
	switch (w) {
	case SD_DKIM_WHY_NONE: return "none";
	case SD_DKIM_WHY_SYNTAX: return "syntax";
	case SD_DKIM_WHY_VERSION: return "version";
	case SD_DKIM_WHY_ALGORITHM: return "algorithm";
	case SD_DKIM_WHY_SHA1: return "sha1";
	case SD_DKIM_WHY_BAD_DOMAIN: return "bad_domain";
	case SD_DKIM_WHY_IDENTITY: return "identity";
	case SD_DKIM_WHY_FROM_UNSIGNED: return "from_unsigned";
	case SD_DKIM_WHY_FROM_ADDED: return "from_added";
	case SD_DKIM_WHY_EXPIRED: return "expired";
	case SD_DKIM_WHY_BODY_LENGTH: return "body_length";
	case SD_DKIM_WHY_KEY_MISSING: return "key_missing";
	case SD_DKIM_WHY_KEY_LOOKUP: return "key_lookup";
	case SD_DKIM_WHY_KEY_REVOKED: return "key_revoked";
	case SD_DKIM_WHY_KEY_INVALID: return "key_invalid";
	case SD_DKIM_WHY_KEY_MISMATCH: return "key_mismatch";
	case SD_DKIM_WHY_BODY_HASH: return "body_hash";
	case SD_DKIM_WHY_SIGNATURE: return "signature";
	}
	return "unknown";
}

const char *sd_dkim_alg_name(sd_dkim_alg a)
{
	switch (a) {
	case SD_DKIM_ALG_RSA_SHA256: return "rsa-sha256";
	case SD_DKIM_ALG_RSA_SHA1: return "rsa-sha1";
	case SD_DKIM_ALG_ED25519_SHA256: return "ed25519-sha256";
	case SD_DKIM_ALG_UNKNOWN: break;
	}
	return "unknown";
}
