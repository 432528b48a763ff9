/* Redaction; see redact.h. */
#include "util/redact.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

typedef enum form_kind {
	/* byte by byte: the byte itself, %XX (either case), '+' for a space;
	 * so one form covers the raw message and every URL encoding of it */
	F_TEXT,
	F_EXACT,  /* base64: case matters */
	F_FOLD,   /* hex: either case */
} form_kind;

typedef struct form {
	unsigned char *b;
	size_t n;
	form_kind kind;
	int pct;   /* holds a '%': it may come raw or as %25 */
} form;

/* Encoded forms shorter than this would mask ordinary words and numbers
 * (the hex of one byte is two digits); the secret itself is masked at any
 * length. */
#define MIN_ENCODED 4

struct sd_secrets {
	form *f;
	size_t n, cap;
	int failed;               /* out of memory: mask everything */
	/* the forms that can start with each byte: by_first[start[c] ..
	 * start[c + 1]) (so a byte no form starts with costs one lookup) */
	unsigned short *by_first;
	size_t start[257];
};

/* Whether form f can start with byte c. */
static int starts_with(const form *f, unsigned char c)
{
	unsigned char b = f->b[0];
	if (c == b)
		return 1;
	if (f->kind == F_FOLD)
		return b >= 'a' && b <= 'z' && c == b - 'a' + 'A';
	return f->kind == F_TEXT && (c == '%' || (b == ' ' && c == '+'));
}

/* Rebuilds the index by first byte after forms were added. */
static int reindex(sd_secrets *s)
{
	size_t total = 0;
	for (int c = 0; c < 256; c++)
		for (size_t k = 0; k < s->n; k++)
			total += starts_with(&s->f[k], (unsigned char)c);
	unsigned short *idx = malloc((total ? total : 1) * sizeof *idx);
	if (!idx || s->n > 65535) {
		free(idx);
		s->failed = 1;
		return 0;
	}
	size_t o = 0;
	for (int c = 0; c < 256; c++) {
		s->start[c] = o;
		for (size_t k = 0; k < s->n; k++)
			if (starts_with(&s->f[k], (unsigned char)c))
				idx[o++] = (unsigned short)k;
	}
	s->start[256] = o;
	free(s->by_first);
	s->by_first = idx;
	return 1;
}

sd_secrets *sd_secrets_new(void)
{
	return calloc(1, sizeof(sd_secrets));
}

void sd_secrets_free(sd_secrets *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		sd_wipe(s->f[i].b, s->f[i].n);
		free(s->f[i].b);
	}
	free(s->f);
	free(s->by_first);
	sd_wipe(s, sizeof *s);
	free(s);
}

int sd_secrets_active(const sd_secrets *s)
{
	return s && (s->n || s->failed);
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)sd_tolower((char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Takes `b` (malloc'd); a duplicate is dropped. */
static int add_form(sd_secrets *s, unsigned char *b, size_t n, form_kind k)
{
	if (!b) {
		s->failed = 1;
		return 0;
	}
	int dup = n == 0;
	for (size_t i = 0; i < s->n && !dup; i++)
		dup = s->f[i].kind == k && s->f[i].n == n &&
		    memcmp(s->f[i].b, b, n) == 0;
	if (dup) {
		sd_wipe(b, n);
		free(b);
		return 1;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		form *more = realloc(s->f, cap * sizeof *more);
		if (!more) {
			sd_wipe(b, n);
			free(b);
			s->failed = 1;
			return 0;
		}
		s->f = more;
		s->cap = cap;
	}
	s->f[s->n++] = (form){ b, n, k, memchr(b, '%', n) != NULL };
	return reindex(s);
}

static unsigned char *dup_bytes(const void *p, size_t n)
{
	unsigned char *b = malloc(n + 1);
	if (b) {
		memcpy(b, p, n);
		b[n] = '\0';
	}
	return b;
}

/* An encoded form (a malloc'd string, wiped here when too short). */
static int add_encoded(sd_secrets *s, char *enc, form_kind k)
{
	if (enc && strlen(enc) < MIN_ENCODED) {
		sd_wipe(enc, strlen(enc));
		free(enc);
		return 1;
	}
	return add_form(s, (unsigned char *)enc, enc ? strlen(enc) : 0, k);
}

static char *hex_of(const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *h = malloc(n * 2 + 1);
	if (!h)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		h[2 * i] = digits[p[i] >> 4];
		h[2 * i + 1] = digits[p[i] & 15];
	}
	h[n * 2] = '\0';
	return h;
}

int sd_secrets_add(sd_secrets *s, const void *msg, size_t len)
{
	if (!s || !len)
		return s != NULL;
	const unsigned char *p = msg;
	int ok = add_form(s, dup_bytes(p, len), len, F_TEXT);
	/* as the report shows it: escaped, and escaped inside quotes */
	static const int esc[] = { 0, SD_ESC_QUOTE };
	for (size_t i = 0; i < sizeof esc / sizeof esc[0]; i++) {
		char *e = sd_escape((const char *)p, len, len, esc[i]);
		if (e && esc[i] == SD_ESC_QUOTE) {
			/* the inside of the quotes */
			size_t el = strlen(e);
			memmove(e, e + 1, el - 2);
			e[el - 2] = '\0';
		}
		if (e && strlen(e) == len && memcmp(e, p, len) == 0) {
			free(e);  /* nothing escaped: the raw form covers it */
			continue;
		}
		ok &= add_form(s, (unsigned char *)e, e ? strlen(e) : 0, F_TEXT);
	}
	char *b64 = sd_base64_encode(p, len);
	if (b64) {
		/* some servers drop the padding */
		char *bare = strdup(b64);
		if (bare)
			bare[strcspn(bare, "=")] = '\0';
		ok &= add_encoded(s, bare, F_EXACT);
	}
	ok &= add_encoded(s, b64, F_EXACT);
	ok &= add_encoded(s, hex_of(p, len), F_FOLD);
	return ok && !s->failed;
}

/* The base64 characters that depend on the secret's bits alone when it
 * starts `off` bytes into a message. */
static char *b64_core(const unsigned char *p, size_t len, size_t off)
{
	unsigned char *buf = calloc(len + 4, 1);
	if (!buf)
		return NULL;
	memcpy(buf + off, p, len);
	char *enc = sd_base64_encode(buf, len + off + 2);
	sd_wipe(buf, len + 4);
	free(buf);
	if (!enc)
		return NULL;
	/* character j covers bits [6j, 6j + 6); the secret's bits are
	 * [8 off, 8 (off + len)) */
	size_t from = (8 * off + 5) / 6, to = 8 * (off + len) / 6;
	size_t n = to > from ? to - from : 0;
	memmove(enc, enc + from, n);
	sd_wipe(enc + n, strlen(enc) - n);
	enc[n] = '\0';
	return enc;
}

int sd_secrets_add_secret(sd_secrets *s, const void *secret, size_t len)
{
	int ok = sd_secrets_add(s, secret, len);
	for (size_t off = 0; s && len && off < 3; off++)
		ok &= add_encoded(s, b64_core(secret, len, off), F_EXACT);
	return ok;
}

/* An F_TEXT form: each byte of the message as itself, as %XX, or a space
 * as '+'; `decode` prefers %XX where both readings fit. */
static size_t match_text(const form *f, const unsigned char *p, size_t left,
    int decode)
{
	size_t j = 0;
	for (size_t i = 0; i < f->n; i++) {
		unsigned char b = f->b[i];
		int lit = j < left && (p[j] == b || (b == ' ' && p[j] == '+'));
		int enc = j + 2 < left && p[j] == '%' && hexval(p[j + 1]) >= 0 &&
		    hexval(p[j + 2]) >= 0 &&
		    hexval(p[j + 1]) * 16 + hexval(p[j + 2]) == b;
		if (enc && (decode || !lit))
			j += 3;
		else if (lit)
			j++;
		else
			return 0;
	}
	return j;
}

/* How many bytes of p[0..left) form f covers from p[0], or 0. */
static size_t match_at(const form *f, const unsigned char *p, size_t left)
{
	if (f->kind == F_EXACT)
		return f->n <= left && memcmp(f->b, p, f->n) == 0 ? f->n : 0;
	if (f->kind == F_FOLD) {
		if (f->n > left)
			return 0;
		for (size_t i = 0; i < f->n; i++)
			if (sd_tolower((char)p[i]) != (char)f->b[i])
				return 0;
		return f->n;
	}
	/* a '%' of the message may come raw or as %25: try the encoded
	 * reading first, then the raw one */
	size_t a = match_text(f, p, left, 1), b = f->pct ?
	    match_text(f, p, left, 0) : 0;
	return a > b ? a : b;
}

static void put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, (*o)++)
		if (*o + 1 < cap)
			out[*o] = s[i];
}

size_t sd_redact(const sd_secrets *s, const char *in, size_t len, char *out,
    size_t cap)
{
	static const char mask[] = SD_REDACT_MASK;
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;
	if (s && s->failed) {
		/* forms are missing: show nothing of what came */
		if (len)
			put(out, cap, &o, mask, sizeof mask - 1);
	} else {
		/* every form is tried where it could start; the input is read
		 * once, the output is never read.  A mask already in the input
		 * (text redacted before) is kept whole, so redacting twice
		 * changes nothing; a form that runs past its end still counts
		 * (so a password like ">d" also takes the 'd' after a mask:
		 * more masked, never less). */
		size_t cover = 0, kept = 0, ml = sizeof mask - 1;
		int masked = 0;
		for (size_t i = 0; i < len; i++) {
			if (p[i] == '<' && i >= cover && i >= kept &&
			    len - i >= ml && memcmp(p + i, mask, ml) == 0)
				kept = i + ml;
			for (size_t j = s ? s->start[p[i]] : 0;
			    s && j < s->start[p[i] + 1]; j++) {
				size_t m = match_at(&s->f[s->by_first[j]], p + i,
				    len - i);
				if (m && i + m > cover && i + m > kept)
					cover = i + m;
			}
			if (i < cover || i < kept) {
				if (!masked)
					put(out, cap, &o, mask, ml);
				masked = 1;
				continue;
			}
			masked = 0;
			if (o + 1 < cap)
				out[o] = (char)p[i];
			o++;
		}
	}
	if (cap)
		out[o < cap ? o : cap - 1] = '\0';
	return o;
}

char *sd_redact_dup(const sd_secrets *s, const char *in, size_t len,
    size_t *outlen)
{
	/* room for a few masks first: most texts need one pass */
	size_t cap = len + 4 * sizeof SD_REDACT_MASK;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	size_t n = sd_redact(s, in, len, out, cap);
	if (n >= cap) {
		char *more = realloc(out, n + 1);
		if (!more) {
			free(out);
			return NULL;
		}
		out = more;
		sd_redact(s, in, len, out, n + 1);
	}
	if (outlen)
		*outlen = n;
	return out;
}
