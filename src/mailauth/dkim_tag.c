/*
 * Tag=value lists (RFC 6376 §3.2), shared by DKIM-Signature fields and key
 * records, and the domain-name syntax check used for d=, s= and key names.
 *
 * The parser is a cursor with a sticky error: the first problem stops it
 * and is kept, in words, in list->error.
 */
#include <stdio.h>
#include <string.h>

#include "mailauth/dkim.h"

typedef struct cursor {
	const char *s;
	size_t len, pos;
	sd_tag_list *out;
} cursor;

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* FWS in a header value may carry the CRLF of a fold; DNS text has none. */
static int is_fws(char c)
{
	return is_wsp(c) || c == '\r' || c == '\n';
}

static int is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* VALCHAR: %x21-3A / %x3C-7E, every visible ASCII byte but ';'. */
static int is_valchar(char c)
{
	unsigned char u = (unsigned char)c;
	return u >= 0x21 && u <= 0x7e && u != ';';
}

static int fail(cursor *c, const char *fmt, size_t arg)
{
	if (!c->out->error[0])
		snprintf(c->out->error, sizeof c->out->error, fmt, arg);
	return -1;
}

static void skip_fws(cursor *c)
{
	while (c->pos < c->len && is_fws(c->s[c->pos]))
		c->pos++;
}

static int name_eq(const sd_tag *t, const char *name, size_t len)
{
	return t->name_len == len && memcmp(t->name, name, len) == 0;
}

static int parse_spec(cursor *c)
{
	size_t start = c->pos;
	if (!is_alpha(c->s[c->pos]))
		return fail(c, "a tag name must start with a letter (offset %zu)",
		    c->pos);
	while (c->pos < c->len && (is_alpha(c->s[c->pos]) ||
	    is_digit(c->s[c->pos]) || c->s[c->pos] == '_'))
		c->pos++;
	size_t name_len = c->pos - start;
	skip_fws(c);
	if (c->pos >= c->len || c->s[c->pos] != '=')
		return fail(c, "tag at offset %zu has no '='", start);
	c->pos++;

	sd_tag t = { .name = c->s + start, .name_len = name_len,
		.span_start = c->pos };
	skip_fws(c);
	size_t vstart = c->pos, vend = c->pos;
	while (c->pos < c->len && c->s[c->pos] != ';') {
		char ch = c->s[c->pos];
		if (is_valchar(ch))
			vend = c->pos + 1;
		else if (!is_fws(ch))
			return fail(c, "byte 0x%02zx is not allowed in a tag value",
			    (size_t)(unsigned char)ch);
		c->pos++;
	}
	t.value = c->s + vstart;
	t.value_len = vend - vstart;
	t.span_end = c->pos;

	for (size_t i = 0; i < c->out->n; i++)
		if (name_eq(&c->out->tag[i], t.name, t.name_len))
			return fail(c, "a tag appears twice (offset %zu)", start);
	if (c->out->n >= SD_TAG_LIST_MAX)
		return fail(c, "more than %zu tags", (size_t)SD_TAG_LIST_MAX);
	c->out->tag[c->out->n++] = t;
	return 0;
}

int sd_tag_list_parse(const char *text, size_t len, sd_tag_list *out)
{
	memset(out, 0, sizeof *out);
	cursor c = { .s = text, .len = len, .out = out };
	if (!text) {
		snprintf(out->error, sizeof out->error, "no text");
		return -1;
	}
	for (;;) {
		skip_fws(&c);
		if (c.pos >= c.len)
			break;  /* empty input, or the optional ';' at the end */
		if (c.s[c.pos] == ';')
			return fail(&c, "empty tag before ';' at offset %zu", c.pos);
		if (parse_spec(&c) < 0)
			return -1;
		if (c.pos < c.len)
			c.pos++;  /* the ';' */
	}
	return 0;
}

const sd_tag *sd_tag_list_get(const sd_tag_list *l, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < l->n; i++)
		if (name_eq(&l->tag[i], name, len))
			return &l->tag[i];
	return NULL;
}

int sd_dkim_valid_domain(const char *name, size_t len, int allow_underscore)
{
	/* RFC 6376 sub-domain: Let-dig [Ldh-str]; 253 bytes and 63-byte labels
	 * are the DNS limits (RFC 1035 §2.3.4). */
	if (!name || len == 0 || len > 253)
		return 0;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];
		if (ch == '.') {
			if (label == 0 || name[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		int ok = is_alpha(ch) || is_digit(ch) ||
		    (ch == '-' && label > 0) || (ch == '_' && allow_underscore);
		if (!ok || ++label > 63)
			return 0;
	}
	return label > 0 && name[len - 1] != '-';
}
