/*
 * RFC 5322 messages split into header fields and body, and DKIM's simple
 * and relaxed canonicalization (RFC 6376 §3.4).
 *
 * Canonical output goes to a sink callback, so that a 64 MiB body is hashed
 * as it is canonicalized, never copied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/dkim.h"
#include "util/util.h"

static int is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static void set_why(char *why, size_t size, const char *text)
{
	if (why && size)
		snprintf(why, size, "%s", text);
}

/* Copies the message with every bare LF made CRLF.  Returns NULL on ENOMEM. */
static char *to_crlf(const char *msg, size_t len, size_t *outlen, int *lf_only)
{
	size_t bare = 0;
	for (size_t i = 0; i < len; i++)
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			bare++;
	char *buf = malloc(len + bare + 1);
	if (!buf)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			buf[o++] = '\r';
		buf[o++] = msg[i];
	}
	buf[o] = '\0';
	*outlen = o;
	*lf_only = bare > 0;
	return buf;
}

/* End of the line starting at `pos` (index of its CR, or `len`). */
static size_t line_end(const char *s, size_t len, size_t pos)
{
	while (pos < len) {
		const char *cr = memchr(s + pos, '\r', len - pos);
		if (!cr)
			return len;
		size_t at = (size_t)(cr - s);
		if (at + 1 < len && s[at + 1] == '\n')
			return at;
		pos = at + 1;  /* a bare CR stays part of the line */
	}
	return len;
}

sd_error sd_mail_msg_parse(const char *msg, size_t len, sd_mail_msg *out,
    char *why, size_t why_size)
{
	memset(out, 0, sizeof *out);
	set_why(why, why_size, "");
	if (!msg)
		return SD_ERR_USAGE;
	if (len > SD_DKIM_MESSAGE_MAX) {
		if (why && why_size)
			snprintf(why, why_size, "the message is %zu bytes, more "
			    "than the %zu this tool reads", len,
			    (size_t)SD_DKIM_MESSAGE_MAX);
		return SD_ERR_USAGE;
	}
	out->buf = to_crlf(msg, len, &out->len, &out->lf_only);
	if (!out->buf)
		return SD_ERR_NOMEM;
	const char *s = out->buf;
	size_t n = out->len, pos = 0;

	/* An mbox separator ("From " with a space, no colon) is not a field. */
	if (n >= 5 && memcmp(s, "From ", 5) == 0) {
		size_t e = line_end(s, n, 0);
		pos = e < n ? e + 2 : n;
	}

	size_t cap = 0;
	sd_mail_field *cur = NULL;
	while (pos < n) {
		size_t e = line_end(s, n, pos);
		size_t next = e < n ? e + 2 : n;
		if (e == pos) {  /* the empty line */
			out->has_body_sep = 1;
			pos = next;
			break;
		}
		if (is_wsp(s[pos])) {  /* a folded continuation */
			if (cur)
				cur->raw_len = e - (size_t)(cur->raw - s);
			else
				out->n_malformed++;
		} else {
			const char *colon = memchr(s + pos, ':', e - pos);
			if (!colon) {
				out->n_malformed++;
				cur = NULL;
				pos = next;
				continue;
			}
			if (out->n_field >= SD_DKIM_MAX_FIELDS) {
				set_why(why, why_size, "the message has too many "
				    "header fields");
				sd_mail_msg_clear(out);
				return SD_ERR_USAGE;
			}
			if (out->n_field == cap) {
				size_t ncap = cap ? cap * 2 : 32;
				sd_mail_field *f = realloc(out->field,
				    ncap * sizeof *f);
				if (!f) {
					sd_mail_msg_clear(out);
					return SD_ERR_NOMEM;
				}
				out->field = f;
				cap = ncap;
			}
			cur = &out->field[out->n_field++];
			cur->name = s + pos;
			cur->name_len = (size_t)(colon - (s + pos));
			while (cur->name_len && is_wsp(cur->name[cur->name_len - 1]))
				cur->name_len--;
			cur->raw = s + pos;
			cur->raw_len = e - pos;
		}
		pos = next;
	}
	for (size_t i = 0; i < out->n_field; i++) {
		sd_mail_field *f = &out->field[i];
		const char *colon = memchr(f->raw, ':', f->raw_len);
		f->value = colon + 1;
		f->value_len = f->raw_len - (size_t)(f->value - f->raw);
	}
	out->body = s + pos;
	out->body_len = n - pos;
	return SD_OK;
}

void sd_mail_msg_clear(sd_mail_msg *m)
{
	if (!m)
		return;
	free(m->buf);
	free(m->field);
	memset(m, 0, sizeof *m);
}

/* ---- canonicalization ---- */

/* Collects output into small chunks before handing it to the sink. */
typedef struct outbuf {
	char b[1024];
	size_t n;
	sd_dkim_sink sink;
	void *ctx;
	int stop;
} outbuf;

static void ob_flush(outbuf *o)
{
	if (o->n && !o->stop)
		o->stop = o->sink(o->ctx, o->b, o->n);
	o->n = 0;
}

static void ob_put(outbuf *o, const char *p, size_t len)
{
	while (len && !o->stop) {
		if (o->n == sizeof o->b)
			ob_flush(o);
		size_t k = sizeof o->b - o->n;
		if (k > len)
			k = len;
		memcpy(o->b + o->n, p, k);
		o->n += k;
		p += k;
		len -= k;
	}
}

static void ob_putc(outbuf *o, char c)
{
	ob_put(o, &c, 1);
}

int sd_dkim_canon_header(sd_dkim_canon c, const char *raw, size_t len,
    sd_dkim_sink sink, void *ctx)
{
	outbuf o = { .sink = sink, .ctx = ctx };
	if (c == SD_DKIM_CANON_SIMPLE) {
		ob_put(&o, raw, len);
		ob_put(&o, "\r\n", 2);
		ob_flush(&o);
		return o.stop;
	}
	const char *colon = memchr(raw, ':', len);
	size_t name_len = colon ? (size_t)(colon - raw) : len;
	while (name_len && (is_wsp(raw[name_len - 1]) ||
	    raw[name_len - 1] == '\r' || raw[name_len - 1] == '\n'))
		name_len--;
	for (size_t i = 0; i < name_len; i++)
		ob_putc(&o, sd_tolower(raw[i]));
	if (colon) {
		ob_putc(&o, ':');
		int space = 0, any = 0;
		for (size_t i = (size_t)(colon - raw) + 1; i < len; i++) {
			char ch = raw[i];
			if (ch == '\r' && i + 1 < len && raw[i + 1] == '\n') {
				i++;  /* unfold: the CRLF goes, the WSP after it counts */
				continue;
			}
			if (is_wsp(ch)) {
				space = 1;
				continue;
			}
			if (space && any)
				ob_putc(&o, ' ');
			ob_putc(&o, ch);
			space = 0;
			any = 1;
		}
	}
	ob_put(&o, "\r\n", 2);
	ob_flush(&o);
	return o.stop;
}

int sd_dkim_canon_body(sd_dkim_canon c, const char *body, size_t len,
    sd_dkim_sink sink, void *ctx)
{
	outbuf o = { .sink = sink, .ctx = ctx };
	size_t blank = 0;      /* empty lines held back: dropped if trailing */
	int emitted = 0;
	size_t pos = 0;
	while (pos < len && !o.stop) {
		size_t e = line_end(body, len, pos);
		size_t next = e < len ? e + 2 : len;
		int content = 0;
		if (c == SD_DKIM_CANON_SIMPLE) {
			if (e > pos) {
				for (; blank; blank--)
					ob_put(&o, "\r\n", 2);
				ob_put(&o, body + pos, e - pos);
				content = 1;
			}
		} else {
			int space = 0;
			size_t i = pos;
			while (i < e) {
				if (is_wsp(body[i])) {
					space = 1;
					i++;
					continue;
				}
				size_t run = i;
				while (run < e && !is_wsp(body[run]))
					run++;
				if (!content)
					for (; blank; blank--)
						ob_put(&o, "\r\n", 2);
				if (space)
					ob_putc(&o, ' ');
				ob_put(&o, body + i, run - i);
				space = 0;
				content = 1;
				i = run;
			}
		}
		if (content) {
			ob_put(&o, "\r\n", 2);
			emitted = 1;
		} else {
			blank++;
		}
		pos = next;
	}
	/* RFC 6376 §3.4.3: simple turns an empty body into one CRLF; relaxed
	 * leaves it empty (§3.4.4, erratum 3192). */
	if (c == SD_DKIM_CANON_SIMPLE && !emitted)
		ob_put(&o, "\r\n", 2);
	ob_flush(&o);
	return o.stop;
}
