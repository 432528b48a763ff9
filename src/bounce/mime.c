/* A bounded reader of Internet messages; see mime.h. */
#include "bounce/mime.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

size_t sd_mime_body_offset(const char *msg, size_t len)
{
	/* an empty first line: no headers at all */
	if (len >= 1 && msg[0] == '\n')
		return 1;
	if (len >= 2 && msg[0] == '\r' && msg[1] == '\n')
		return 2;
	for (size_t i = 0; i + 1 < len; i++) {
		if (msg[i] != '\n')
			continue;
		if (msg[i + 1] == '\n')
			return i + 2;
		if (msg[i + 1] == '\r' && i + 2 < len && msg[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

void sd_mime_fields_init(sd_mime_fields *c, const char *p, size_t len)
{
	c->p = p;
	c->end = p + len;
}

/* The end of the line at p (the '\n' or end), and of its text (before
 * a '\r'). */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl : end;
}

static int is_blank_line(const char *p, const char *eol)
{
	return eol == p || (eol == p + 1 && *p == '\r');
}

/* Appends text[0..n) to out (capped), white space runs made one space. */
static void append_folded(char *out, size_t max, size_t *o, const char *text,
    size_t n)
{
	for (size_t i = 0; i < n && *o + 1 < max; i++) {
		char ch = text[i];
		if (ch == '\r' || ch == '\t' || ch == '\n')
			ch = ' ';
		if (ch == ' ' && (*o == 0 || out[*o - 1] == ' '))
			continue;
		out[(*o)++] = ch;
	}
}

int sd_mime_fields_next(sd_mime_fields *c, char *name, size_t name_max,
    char *value, size_t value_max)
{
	while (c->p < c->end) {
		const char *eol = line_end(c->p, c->end);
		if (is_blank_line(c->p, eol))
			return 0;
		const char *colon = memchr(c->p, ':', (size_t)(eol - c->p));
		const char *line = c->p;
		c->p = eol < c->end ? eol + 1 : c->end;
		/* a continuation line with no field before it, or not a field
		 * (RFC 5322 §2.2: the name is printable ASCII, no space) */
		int field = colon && colon > line && *line != ' ' && *line != '\t';
		for (const char *q = line; field && q < colon; q++)
			field = *q > 32 && *q < 127;
		if (!field)
			continue;
		size_t nl = (size_t)(colon - line);
		if (nl >= name_max)
			nl = name_max - 1;
		memcpy(name, line, nl);
		name[nl] = '\0';
		size_t o = 0;
		append_folded(value, value_max, &o, colon + 1,
		    (size_t)(eol - colon - 1));
		/* folded continuation lines (RFC 5322 §2.2.3) */
		while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) {
			const char *e2 = line_end(c->p, c->end);
			if (o + 1 < value_max && o > 0 && value[o - 1] != ' ')
				value[o++] = ' ';
			append_folded(value, value_max, &o, c->p,
			    (size_t)(e2 - c->p));
			c->p = e2 < c->end ? e2 + 1 : c->end;
		}
		while (o > 0 && value[o - 1] == ' ')
			o--;
		value[o] = '\0';
		return 1;
	}
	return 0;
}

char *sd_mime_header(const char *hdrs, size_t len, const char *name)
{
	sd_mime_fields c;
	char fname[80];
	char *value = malloc(SD_MIME_MAX_FIELD);
	if (!value)
		return NULL;
	sd_mime_fields_init(&c, hdrs, len);
	while (sd_mime_fields_next(&c, fname, sizeof fname, value,
	    SD_MIME_MAX_FIELD)) {
		if (sd_strcaseeq(fname, name)) {
			char *v = strdup(value);
			free(value);
			return v;
		}
	}
	free(value);
	return NULL;
}

int sd_mime_param(const char *value, const char *param, char *out,
    size_t out_max)
{
	size_t pl = strlen(param);
	const char *p = value;
	while ((p = strchr(p, ';'))) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!sd_strncaseeq(p, param, pl))
			continue;
		const char *q = p + pl;
		while (*q == ' ')
			q++;
		if (*q != '=')
			continue;
		q++;
		while (*q == ' ')
			q++;
		size_t o = 0;
		if (*q == '"') {
			for (q++; *q && *q != '"' && o + 1 < out_max; q++) {
				if (*q == '\\' && q[1])
					q++;
				out[o++] = *q;
			}
		} else {
			for (; *q && *q != ';' && *q != ' ' && o + 1 < out_max;
			    q++)
				out[o++] = *q;
		}
		out[o] = '\0';
		return o > 0;
	}
	return 0;
}

/* The lower-cased first token of a value ("text/plain" of
 * "Text/Plain; charset=x"), cut to max - 1. */
static void first_token(const char *value, char *out, size_t max)
{
	size_t o = 0;
	while (*value == ' ')
		value++;
	for (; *value && *value != ';' && *value != ' ' && o + 1 < max; value++)
		out[o++] = sd_tolower(*value);
	out[o] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Base64 that skips what is not base64 (line breaks, junk a mail client
 * added) and stops at the padding: mail in the wild is not strict. */
static size_t b64_loose(const char *in, size_t len, char *out, size_t max)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < len && o < max; i++) {
		if (in[i] == '=')
			break;
		int v = sd_base64_value(in[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	return o;
}

/* Quoted-printable (RFC 2045 §6.7); `underscore` for RFC 2047's Q. */
static size_t qp_decode(const char *in, size_t len, char *out, size_t max,
    int underscore)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o < max; i++) {
		char ch = in[i];
		if (ch == '=' && i + 1 < len) {
			if (in[i + 1] == '\n') {          /* soft line break */
				i++;
				continue;
			}
			if (in[i + 1] == '\r' && i + 2 < len &&
			    in[i + 2] == '\n') {
				i += 2;
				continue;
			}
			int h = i + 2 < len ? hexval(in[i + 1]) : -1;
			int l = i + 2 < len ? hexval(in[i + 2]) : -1;
			if (h >= 0 && l >= 0) {
				out[o++] = (char)(h * 16 + l);
				i += 2;
				continue;
			}
		}
		out[o++] = underscore && ch == '_' ? ' ' : ch;
	}
	return o;
}

char *sd_mime_decode(const char *body, size_t len, const char *encoding,
    size_t max, size_t *out_len)
{
	size_t cap = len < max ? len : max;
	char *out = malloc(cap + 1);
	if (!out)
		return NULL;
	size_t n;
	if (encoding && sd_strcaseeq(encoding, "base64"))
		n = b64_loose(body, len, out, cap);
	else if (encoding && sd_strcaseeq(encoding, "quoted-printable"))
		n = qp_decode(body, len, out, cap, 0);
	else {
		n = cap;
		memcpy(out, body, n);
	}
	out[n] = '\0';
	if (out_len)
		*out_len = n;
	return out;
}

/* Appends one Latin-1 byte as UTF-8. */
static void put_latin1(char *out, size_t *o, unsigned char c)
{
	if (c < 0x80) {
		out[(*o)++] = (char)c;
	} else {
		out[(*o)++] = (char)(0xc0 | (c >> 6));
		out[(*o)++] = (char)(0x80 | (c & 0x3f));
	}
}

/* One encoded word at p ("=?cs?E?text?="): decoded into out, returns the
 * bytes consumed or 0 when p holds none. */
static size_t one_word(const char *p, char *out, size_t *o)
{
	const char *cs = p + 2;
	const char *q1 = strchr(cs, '?');
	if (!q1 || q1 - cs > 40 || !q1[1] || q1[2] != '?')
		return 0;
	char enc = sd_tolower(q1[1]);
	const char *text = q1 + 3;
	const char *close = strstr(text, "?=");
	if (!close || (enc != 'b' && enc != 'q'))
		return 0;
	size_t tl = (size_t)(close - text);
	char tmp[SD_MIME_MAX_FIELD];
	size_t n = enc == 'b' ? b64_loose(text, tl, tmp, sizeof tmp) :
	    qp_decode(text, tl, tmp, sizeof tmp, 1);
	int latin1 = sd_strncaseeq(cs, "iso-8859-1?", 11) ||
	    sd_strncaseeq(cs, "windows-1252?", 13) ||
	    sd_strncaseeq(cs, "iso-8859-15?", 12);
	for (size_t i = 0; i < n; i++) {
		if (latin1)
			put_latin1(out, o, (unsigned char)tmp[i]);
		else
			out[(*o)++] = tmp[i];
	}
	return (size_t)(close + 2 - p);
}

char *sd_mime_decode_words(const char *in)
{
	size_t len = strlen(in);
	/* decoded text is never longer than twice its encoding (Latin-1) */
	char *out = malloc(2 * len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		if (in[i] == '=' && in[i + 1] == '?') {
			size_t used = one_word(in + i, out, &o);
			if (used) {
				i += used;
				/* white space between two words is dropped
				 * (RFC 2047 §6.2) */
				size_t j = i;
				while (in[j] == ' ' || in[j] == '\t')
					j++;
				if (in[j] == '=' && in[j + 1] == '?')
					i = j;
				continue;
			}
		}
		out[o++] = in[i++];
	}
	out[o] = '\0';
	return out;
}

/* Block elements that end a line of text. */
static int block_tag(const char *tag, size_t n)
{
	static const char *const tags[] = { "br", "p", "/p", "div", "/div",
	    "tr", "/tr", "li", "/li", "h1", "h2", "h3", "/h1", "/h2", "/h3",
	    "table", "/table", "/td", NULL };
	for (size_t i = 0; tags[i]; i++)
		if (strlen(tags[i]) == n && sd_strncaseeq(tag, tags[i], n))
			return 1;
	return 0;
}

/* A character entity at p ("&amp;"): its text, *used its length. */
static const char *entity(const char *p, size_t left, size_t *used)
{
	static const struct { const char *name, *text; } ents[] = {
		{ "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" },
		{ "&quot;", "\"" }, { "&#39;", "'" }, { "&apos;", "'" },
		{ "&nbsp;", " " }, { "&#160;", " " },
	};
	for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
		size_t n = strlen(ents[i].name);
		if (n <= left && sd_strncaseeq(p, ents[i].name, n)) {
			*used = n;
			return ents[i].text;
		}
	}
	return NULL;
}

char *sd_mime_html_text(const char *in, size_t len, size_t *out_len)
{
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		if (in[i] == '<') {
			const char *gt = memchr(in + i, '>', len - i);
			if (!gt)
				break;
			const char *tag = in + i + 1;
			size_t tn = 0;
			while (tag + tn < gt && tag[tn] != ' ' && tag[tn] != '/' &&
			    tag[tn] != '\t' && tag[tn] != '\n')
				tn++;
			if (tn == 0 && tag[0] == '/')
				for (tn = 1; tag + tn < gt && tag[tn] != ' '; tn++)
					;
			i = (size_t)(gt - in) + 1;
			if ((tn == 5 && sd_strncaseeq(tag, "style", 5)) ||
			    (tn == 6 && sd_strncaseeq(tag, "script", 6))) {
				/* skip to the closing tag */
				const char *close = NULL;
				for (size_t j = i; j + 2 < len; j++)
					if (in[j] == '<' && in[j + 1] == '/') {
						close = in + j;
						break;
					}
				i = close ? (size_t)(close - in) : len;
				continue;
			}
			if (block_tag(tag, tn) && o > 0 && out[o - 1] != '\n')
				out[o++] = '\n';
			continue;
		}
		size_t used;
		const char *t = in[i] == '&' ? entity(in + i, len - i, &used) :
		    NULL;
		if (t) {
			size_t tl = strlen(t);
			if (tl <= used) {     /* never longer than its entity */
				memcpy(out + o, t, tl);
				o += tl;
			}
			i += used;
			continue;
		}
		out[o++] = in[i] == '\r' ? ' ' : in[i];
		i++;
	}
	out[o] = '\0';
	if (out_len)
		*out_len = o;
	return out;
}

typedef struct walker {
	sd_mime_cb cb;
	void *ctx;
	unsigned flags;
	size_t parts;
} walker;

static void walk(walker *w, const char *p, size_t len, int depth);

/* The delimiter line "--boundary" at the start of a line in p[0..len), from
 * `from`; returns its offset or len. */
static size_t find_delim(const char *p, size_t len, size_t from,
    const char *b, size_t bl)
{
	size_t i = from;
	while (i + 2 + bl <= len) {
		if ((i == 0 || p[i - 1] == '\n') && p[i] == '-' &&
		    p[i + 1] == '-' && memcmp(p + i + 2, b, bl) == 0)
			return i;
		const char *nl = memchr(p + i, '\n', len - i);
		if (!nl)
			break;
		i = (size_t)(nl - p) + 1;
	}
	return len;
}

/* The parts of a multipart body, each walked one level deeper. */
static void walk_multipart(walker *w, const char *p, size_t len,
    const char *b, int depth)
{
	size_t bl = strlen(b);
	size_t at = find_delim(p, len, 0, b, bl);
	while (at < len) {
		if (at + 2 + bl + 2 <= len && p[at + 2 + bl] == '-' &&
		    p[at + 3 + bl] == '-')
			return;   /* the close-delimiter */
		const char *nl = memchr(p + at, '\n', len - at);
		if (!nl)
			break;
		size_t start = (size_t)(nl - p) + 1;
		size_t next = find_delim(p, len, start, b, bl);
		size_t end = next;
		/* the line break before a delimiter belongs to it */
		if (end > start && p[end - 1] == '\n')
			end--;
		if (end > start && p[end - 1] == '\r')
			end--;
		if (next >= len)
			w->flags |= SD_MIME_UNTERMINATED;
		walk(w, p + start, end - start, depth + 1);
		if (w->flags & SD_MIME_TOO_MANY_PARTS)
			return;
		at = next;
	}
	w->flags |= SD_MIME_UNTERMINATED;
}

static void walk(walker *w, const char *p, size_t len, int depth)
{
	if (depth > SD_MIME_MAX_DEPTH) {
		w->flags |= SD_MIME_TOO_DEEP;
		return;
	}
	if (w->parts >= SD_MIME_MAX_PARTS) {
		w->flags |= SD_MIME_TOO_MANY_PARTS;
		return;
	}
	w->parts++;
	sd_mime_part part;
	memset(&part, 0, sizeof part);
	size_t body = sd_mime_body_offset(p, len);
	part.headers = p;
	part.headers_len = body;
	part.body = p + body;
	part.body_len = len - body;
	part.depth = depth;
	char *ct = sd_mime_header(p, body, "content-type");
	char *cte = sd_mime_header(p, body, "content-transfer-encoding");
	strcpy(part.type, "text/plain");
	if (ct) {
		first_token(ct, part.type, sizeof part.type);
		if (sd_mime_param(ct, "charset", part.charset,
		    sizeof part.charset))
			for (char *c = part.charset; *c; c++)
				*c = sd_tolower(*c);
	}
	if (cte)
		first_token(cte, part.encoding, sizeof part.encoding);
	free(cte);
	w->cb(w->ctx, &part);
	char b[SD_MIME_MAX_BOUNDARY + 1];
	if (strncmp(part.type, "multipart/", 10) == 0) {
		if (ct && sd_mime_param(ct, "boundary", b, sizeof b) &&
		    strlen(b) < SD_MIME_MAX_BOUNDARY)
			walk_multipart(w, part.body, part.body_len, b, depth);
		else
			w->flags |= SD_MIME_NO_BOUNDARY;
	}
	free(ct);
}

size_t sd_mime_walk(const char *msg, size_t len, sd_mime_cb cb, void *ctx,
    unsigned *flags)
{
	walker w = { cb, ctx, 0, 0 };
	walk(&w, msg, len, 0);
	if (flags)
		*flags = w.flags;
	return w.parts;
}
