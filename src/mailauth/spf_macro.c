/*
 * SPF macros (RFC 7208 §7): syntax check and expansion, plus the small
 * string helpers the SPF files share.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/spf.h"
#include "mailauth/spf_int.h"

/* --- shared helpers ------------------------------------------------- */

char sd_spfi_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

int sd_spfi_caseeq_n(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (sd_spfi_lower(a[i]) != sd_spfi_lower(b[i]))
			return 0;
	}
	return 1;
}

void sd_spfi_errf(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int buf_grow(sd_spfi_buf *b, size_t more)
{
	if (b->oom || b->overflow)
		return -1;
	size_t max = b->max ? b->max : SD_SPF_EXPAND_MAX;
	if (b->len + more > max) {
		b->overflow = 1;
		return -1;
	}
	if (b->len + more + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void sd_spfi_buf_add(sd_spfi_buf *b, const char *s, size_t n)
{
	if (buf_grow(b, n) != 0)
		return;
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sd_spfi_buf_adds(sd_spfi_buf *b, const char *s)
{
	sd_spfi_buf_add(b, s, strlen(s));
}

void sd_spfi_buf_addc(sd_spfi_buf *b, char c)
{
	sd_spfi_buf_add(b, &c, 1);
}

void sd_spfi_buf_vprintf(sd_spfi_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || buf_grow(b, (size_t)n) != 0)
		return;
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void sd_spfi_buf_printf(sd_spfi_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sd_spfi_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *sd_spfi_buf_take(sd_spfi_buf *b)
{
	if (b->oom) {
		sd_spfi_buf_free(b);
		return NULL;
	}
	char *p = b->p ? b->p : strdup("");
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void sd_spfi_buf_free(sd_spfi_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Appends s[0..n) as far as b's cap lets it, and overflows b when not all
 * of it fits: what n appends of one byte each would leave. */
static void buf_add_upto(sd_spfi_buf *b, const char *s, size_t n)
{
	size_t max = b->max ? b->max : SD_SPF_EXPAND_MAX;
	size_t room = b->len < max ? max - b->len : 0;
	sd_spfi_buf_add(b, s, n < room ? n : room);
	if (n > room && !b->oom)
		b->overflow = 1;
}

void sd_spfi_buf_add_clean(sd_spfi_buf *b, const char *s, size_t n, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t lim = n > max ? max : n;
	for (size_t i = 0; i < lim;) {
		/* most text is printable ASCII: a run of it at once */
		size_t run = i;
		while (run < lim && (unsigned char)s[run] >= 0x20 &&
		    (unsigned char)s[run] < 0x7f)
			run++;
		if (run > i) {
			buf_add_upto(b, s + i, run - i);
			i = run;
			continue;
		}
		unsigned char c = (unsigned char)s[i++];
		char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
		sd_spfi_buf_add(b, esc, 4);
	}
	if (n > max)
		sd_spfi_buf_adds(b, "...");
}

char *sd_spfi_clean(const char *s, size_t n, size_t max)
{
	sd_spfi_buf b = { .max = max * 4 + 8 };
	sd_spfi_buf_add_clean(&b, s ? s : "", s ? n : 0, max);
	return sd_spfi_buf_take(&b);
}

int sd_spfi_valid_toplabel(const char *s, size_t n)
{
	/*
	 * toplabel = ( *alphanum ALPHA *alphanum ) /
	 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
	 * i.e. an LDH label that neither starts nor ends with "-" and is not
	 * all digits (so "a:192.0.2.1" is caught as a mistake).
	 */
	if (n == 0 || n > 63)
		return 0;
	int alpha = 0, dash = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			alpha = 1;
		else if (c == '-')
			dash = 1;
		else if (!(c >= '0' && c <= '9'))
			return 0;
	}
	if (s[0] == '-' || s[n - 1] == '-')
		return 0;
	return alpha || dash;
}

/* --- macro syntax ---------------------------------------------------- */

/* Largest DIGIT transformer kept; RFC 7208 §7.3 requires at least 128. */
#define MACRO_MAX_PARTS 128

typedef struct macro_tok {
	char letter;        /* lower case */
	int upper;          /* URL-escape the result */
	int digits;         /* 0 = all parts */
	int reverse;
	const char *delims; /* into the string */
	size_t n_delims;
} macro_tok;

static int is_delim(char c)
{
	return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' ||
	    c == '_' || c == '=';
}

/*
 * Parses "%{...}" at s[i] (s[i] == '%', s[i+1] == '{').  Returns the index
 * after '}', or -1 with err set.
 */
static long parse_macro(const char *s, size_t len, size_t i, int exp_text,
    macro_tok *t, char *err, size_t errlen)
{
	size_t j = i + 2;
	if (j >= len) {
		sd_spfi_errf(err, errlen, "macro \"%%{\" is not closed");
		return -1;
	}
	char l = sd_spfi_lower(s[j]);
	if (!strchr("slodiphcrtv", l) || l == '\0') {
		unsigned char c = (unsigned char)s[j];
		if (c >= 0x21 && c < 0x7f)
			sd_spfi_errf(err, errlen, "unknown macro letter '%c'", c);
		else
			sd_spfi_errf(err, errlen,
			    "unknown macro letter (byte 0x%02x)", c);
		return -1;
	}
	if (!exp_text && (l == 'c' || l == 'r' || l == 't')) {
		sd_spfi_errf(err, errlen, "macro %%{%c} is allowed only in "
		    "explanation text (RFC 7208 section 7.2)", s[j]);
		return -1;
	}
	t->letter = l;
	t->upper = s[j] != l;
	j++;
	int have_digits = 0;
	long val = 0;
	while (j < len && s[j] >= '0' && s[j] <= '9') {
		have_digits = 1;
		if (val <= 100000)   /* cap: anything past 128 means "all" */
			val = val * 10 + (s[j] - '0');
		j++;
	}
	if (have_digits && val == 0) {
		sd_spfi_errf(err, errlen, "macro transformer 0 is not allowed "
		    "(RFC 7208 section 7.3)");
		return -1;
	}
	t->digits = val > MACRO_MAX_PARTS ? MACRO_MAX_PARTS : (int)val;
	t->reverse = 0;
	if (j < len && (s[j] == 'r' || s[j] == 'R')) {
		t->reverse = 1;
		j++;
	}
	t->delims = s + j;
	t->n_delims = 0;
	while (j < len && is_delim(s[j])) {
		j++;
		t->n_delims++;
	}
	if (j >= len || s[j] != '}') {
		sd_spfi_errf(err, errlen, "bad macro: expected '}' after "
		    "%%{%c, transformers and delimiters", s[i + 2]);
		return -1;
	}
	return (long)(j + 1);
}

static int is_literal(unsigned char c, int exp_text)
{
	/* macro-literal = %x21-24 / %x26-7E; explain-string adds SP */
	return (c >= 0x21 && c <= 0x7e && c != '%') || (exp_text && c == ' ');
}

long sd_spfi_macro_scan(const char *s, size_t len, int exp_text,
    char *err, size_t errlen)
{
	size_t i = 0, lit_start = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 1 >= len) {
				sd_spfi_errf(err, errlen, "a '%%' at the end: "
				    "write %%%% for a percent sign");
				return -1;
			}
			char n = s[i + 1];
			if (n == '%' || n == '_' || n == '-') {
				i += 2;
				lit_start = i;
				continue;
			}
			if (n != '{') {
				sd_spfi_errf(err, errlen, "'%%' must be followed "
				    "by '{', '%%', '_' or '-' (RFC 7208 section "
				    "7.1)");
				return -1;
			}
			macro_tok t;
			long next = parse_macro(s, len, i, exp_text, &t, err,
			    errlen);
			if (next < 0)
				return -1;
			i = (size_t)next;
			lit_start = i;
			continue;
		}
		if (!is_literal(c, exp_text)) {
			if (c == 0)
				sd_spfi_errf(err, errlen, "a NUL byte");
			else if (c == ' ')
				sd_spfi_errf(err, errlen, "a space");
			else if (c >= 0x80)
				sd_spfi_errf(err, errlen, "a non-ASCII byte "
				    "0x%02x (SPF records are 7-bit ASCII)", c);
			else
				sd_spfi_errf(err, errlen,
				    "a control character 0x%02x", c);
			return -1;
		}
		i++;
	}
	return (long)lit_start;
}

int sd_spf_macro_check(const char *s, size_t len, int exp_text,
    char *err, size_t errlen)
{
	return sd_spfi_macro_scan(s, len, exp_text, err, errlen) < 0 ? -1 : 0;
}

/* --- expansion -------------------------------------------------------- */

static void url_escape(sd_spfi_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		/* unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" */
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			sd_spfi_buf_addc(b, (char)c);
		} else {
			char esc[3] = { '%', hex[c >> 4], hex[c & 15] };
			sd_spfi_buf_add(b, esc, 3);
		}
	}
}

/* Appends s[0..n) to b, URL-escaped when `upper`. */
static void put(sd_spfi_buf *b, const char *s, size_t n, int upper)
{
	if (upper)
		url_escape(b, s, n);
	else
		sd_spfi_buf_add(b, s, n);
}

/*
 * Applies the transformers of t to value[0..vlen), appending to b: split on
 * the delimiters (default "."; empty parts are kept), reverse if asked,
 * keep the last `digits` parts, join with ".".
 *
 * The work is proportional to what is appended, never to the whole value:
 * a record of many "%{l1}" over a long local-part must not cost
 * macros x value length.  The value is scanned only as far as the parts
 * kept reach, and the expansion stops at the first overflow of b.
 */
static void transform(sd_spfi_buf *b, const char *value, size_t vlen,
    const macro_tok *t)
{
	unsigned char delim[256] = { 0 };
	if (t->n_delims) {
		for (size_t i = 0; i < t->n_delims; i++)
			delim[(unsigned char)t->delims[i]] = 1;
	} else {
		delim['.'] = 1;
	}
#define IS_DELIM(c) (delim[(unsigned char)(c)])
	size_t keep = t->digits > 0 ? (size_t)t->digits : SIZE_MAX;
	if (!t->reverse) {
		/* the last `keep` parts: start after the keep-th delimiter
		 * counted from the end, then copy forward */
		size_t start = vlen, seen = 0;
		while (start > 0 && !(IS_DELIM(value[start - 1]) &&
		    ++seen == keep))
			start--;
		size_t i = start;
		while (i <= vlen && !b->overflow && !b->oom) {
			size_t j = i;
			while (j < vlen && !IS_DELIM(value[j]))
				j++;
			if (i > start)
				sd_spfi_buf_addc(b, '.');
			put(b, value + i, j - i, t->upper);
			i = j + 1;
		}
	} else {
		/* reversed, the last `keep` parts are the first `keep` of the
		 * value, last one first: find where they end, copy backward */
		size_t end = 0, seen = 0;
		while (end < vlen && !(IS_DELIM(value[end]) && ++seen == keep))
			end++;
		size_t hi = end;
		for (int first = 1; !b->overflow && !b->oom; first = 0) {
			size_t lo = hi;
			while (lo > 0 && !IS_DELIM(value[lo - 1]))
				lo--;
			if (!first)
				sd_spfi_buf_addc(b, '.');
			put(b, value + lo, hi - lo, t->upper);
			if (lo == 0)
				break;
			hi = lo - 1;
		}
	}
#undef IS_DELIM
}

static const char *macro_value(const macro_tok *t, const sd_spf_macro_ctx *c,
    char *tbuf, size_t tlen)
{
	const char *v = NULL;
	switch (t->letter) {
	case 's': v = c->sender; break;
	case 'l': v = c->local; break;
	case 'o': v = c->sender_domain; break;
	case 'd': v = c->domain; break;
	case 'i': v = c->ip_dotted; break;
	case 'c': v = c->ip_text; break;
	case 'v': v = c->ip_version; break;
	case 'h': v = c->helo; break;
	case 'r': v = c->receiver; break;
	case 'p':
		v = c->get_p ? c->get_p(c->p_arg, c->domain) : NULL;
		break;
	case 't':
		snprintf(tbuf, tlen, "%lld", c->now);
		v = tbuf;
		break;
	default:
		break;
	}
	return v ? v : "unknown";
}

int sd_spf_macro_expand(const char *s, size_t len, const sd_spf_macro_ctx *ctx,
    int exp_text, char **out, char *err, size_t errlen)
{
	*out = NULL;
	if (sd_spfi_macro_scan(s, len, exp_text, err, errlen) < 0)
		return -1;
	sd_spfi_buf b = { .max = SD_SPF_EXPAND_MAX };
	/* Each letter's value and length, looked up once: a string of many
	 * macros must not measure a long value again for every one. */
	const char *val[26] = { 0 };
	size_t vlen[26] = { 0 };
	char tbuf[32];
	size_t i = 0;
	while (i < len && !b.oom && !b.overflow) {
		if (s[i] != '%') {
			size_t j = i;
			while (j < len && s[j] != '%')
				j++;
			sd_spfi_buf_add(&b, s + i, j - i);
			i = j;
			continue;
		}
		char n = s[i + 1];   /* the scan guarantees it exists */
		if (n == '%') {
			sd_spfi_buf_addc(&b, '%');
			i += 2;
		} else if (n == '_') {
			sd_spfi_buf_addc(&b, ' ');
			i += 2;
		} else if (n == '-') {
			sd_spfi_buf_adds(&b, "%20");
			i += 2;
		} else {
			macro_tok t;
			long next = parse_macro(s, len, i, exp_text, &t, err,
			    errlen);
			if (next < 0) {
				sd_spfi_buf_free(&b);
				return -1;
			}
			int k = t.letter - 'a';   /* parse_macro: one of a-z */
			if (!val[k]) {
				val[k] = macro_value(&t, ctx, tbuf, sizeof tbuf);
				vlen[k] = strlen(val[k]);
			}
			transform(&b, val[k], vlen[k], &t);
			i = (size_t)next;
		}
	}
	if (b.oom) {
		sd_spfi_buf_free(&b);
		return -2;
	}
	if (b.overflow) {
		sd_spfi_buf_free(&b);
		sd_spfi_errf(err, errlen, "macro expansion longer than %d bytes",
		    SD_SPF_EXPAND_MAX);
		return -1;
	}
	*out = sd_spfi_buf_take(&b);
	return *out ? 0 : -2;
}
