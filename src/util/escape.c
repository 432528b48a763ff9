/*
 * The one escaping routine for text that did not come from smtpdoctor: a
 * peer's reply, a certificate name, a DNS record, a file, a saved report.
 *
 * A terminal obeys more than the C0 controls: C1 controls (U+0080-U+009F,
 * CSI among them) and Unicode bidi controls reorder or hide what follows,
 * and a line break lets a server start a line that looks like our own
 * ("Verdict: ok (ok)").  Each of them is written as a visible escape, so the
 * text stays on one line and says what the peer sent.
 */
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (at most `left` bytes), or 0.
 * Overlong forms, surrogates and code points past U+10FFFF are invalid
 * (RFC 3629 §4), as jansson holds them. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
	size_t n;
	unsigned lo = 0x80, hi = 0xbf;  /* range of the second byte */
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n > left || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

static unsigned utf8_cp(const unsigned char *p, size_t n)
{
	if (n == 2)
		return (p[0] & 0x1fu) << 6 | (p[1] & 0x3fu);
	if (n == 3)
		return (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
	return (p[0] & 0x07u) << 18 | (p[1] & 0x3fu) << 12 |
	    (p[2] & 0x3fu) << 6 | (p[3] & 0x3fu);
}

/* Code points a terminal acts on or that reorder text: C1 controls, the
 * Bidi_Control set (Unicode UAX #9) and the line/paragraph separators. */
static int cp_is_control(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
	    cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

/* The longest prefix of p[0..len) that ends on a character boundary and
 * has at most max bytes: a cap never splits a character into escapes. */
static size_t cut_at(const unsigned char *p, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t i = 0;
	while (i < max) {
		size_t n = p[i] >= 0x80 ? utf8_len(p + i, len - i) : 1;
		if (!n)
			n = 1;
		if (i + n > max)
			break;
		i += n;
	}
	return i;
}

/* Writes the escaped text to out (when not NULL); returns its length.
 * Run twice, to measure and to write: memory is what the result needs. */
static size_t escape_to(const unsigned char *p, size_t len, int flags,
    char *out)
{
	int quote = flags & SD_ESC_QUOTE;
	char tmp[8];
	size_t o = 0;
#define EMIT(s, n) \
	do { if (out) memcpy(out + o, (s), (n)); o += (n); } while (0)
	if (quote)
		EMIT("\"", 1);
	for (size_t i = 0; i < len;) {
		/* most text is printable ASCII: a run of it is copied at once */
		size_t run = i;
		while (run < len && p[run] >= 0x20 && p[run] < 0x7f &&
		    !(quote && p[run] == '"'))
			run++;
		if (run > i) {
			EMIT(p + i, run - i);
			i = run;
			continue;
		}
		unsigned char c = p[i];
		size_t n = c >= 0x80 ? utf8_len(p + i, len - i) : 1;
		if ((c >= 0x20 && c < 0x7f && !(quote && c == '"')) ||
		    (c == '\n' && (flags & SD_ESC_KEEP_NL)) ||
		    (c >= 0x80 && n && !cp_is_control(utf8_cp(p + i, n)))) {
			EMIT(p + i, n);
		} else if (c == '"') {
			EMIT("\\\"", 2);
		} else if (c >= 0x80 && n) {
			EMIT(tmp, (size_t)snprintf(tmp, sizeof tmp, "\\u%04x",
			    utf8_cp(p + i, n)));
		} else if (c == '\n' || c == '\r' || c == '\t') {
			EMIT(c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t", 2);
			n = 1;
		} else {
			EMIT(tmp, (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", c));
			n = 1;
		}
		i += n;
	}
	if (quote)
		EMIT("\"", 1);
#undef EMIT
	return o;
}

char *sd_escape(const char *in, size_t len, size_t max, int flags)
{
	const unsigned char *p = (const unsigned char *)(in ? in : "");
	if (!in)
		len = 0;
	len = cut_at(p, len, max);
	char *out = malloc(escape_to(p, len, flags, NULL) + 1);
	if (!out)
		return NULL;
	out[escape_to(p, len, flags, out)] = '\0';
	return out;
}

size_t sd_escaped_len(const char *in, size_t len, int flags)
{
	return in ? escape_to((const unsigned char *)in, len, flags, NULL) : 0;
}

char *sd_sanitize(const char *in, size_t len, size_t max)
{
	return sd_escape(in, len, max, 0);
}

char *sd_sanitize_text(const char *in, size_t len)
{
	return sd_escape(in, len, len, SD_ESC_KEEP_NL);
}

char *sd_quote(const char *in, size_t len, size_t max)
{
	return sd_escape(in, len, max, SD_ESC_QUOTE);
}
