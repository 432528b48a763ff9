/* SMTP reply and EHLO parsing; see reply.h. */
#include "smtp/reply.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

const char *sd_reply_rc_text(sd_reply_rc rc)
{
	switch (rc) {
	case SD_REPLY_MORE: return "incomplete reply";
	case SD_REPLY_DONE: return "complete reply";
	case SD_REPLY_BAD_SYNTAX: return "not an SMTP reply line";
	case SD_REPLY_MIXED_CODES: return "reply lines with different codes";
	case SD_REPLY_TOO_MANY: return "a reply of too many lines";
	}
	return "bad reply";
}

void sd_reply_init(sd_reply *r)
{
	memset(r, 0, sizeof *r);
}

static int isdig(char c)
{
	return c >= '0' && c <= '9';
}

int sd_parse_enhanced(const char *text, size_t len, char *out)
{
	/* class "." subject "." detail: 2,4,5 . 1-3 digits . 1-3 digits */
	size_t i = 0;
	if (len < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5') ||
	    text[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t start = i;
		while (i < len && isdig(text[i]) && i - start < 3)
			i++;
		if (i == start)
			return 0;
		if (part == 0) {
			if (i >= len || text[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && text[i] != ' ' && text[i] != '\t')
		return 0;
	if (i >= 16)
		return 0;
	memcpy(out, text, i);
	out[i] = '\0';
	return 1;
}

sd_reply_rc sd_reply_feed(sd_reply *r, const char *line, size_t len)
{
	if (len < 3 || !isdig(line[0]) || !isdig(line[1]) || !isdig(line[2]) ||
	    line[0] < '1' || line[0] > '5' ||
	    (len > 3 && line[3] != ' ' && line[3] != '-'))
		return SD_REPLY_BAD_SYNTAX;
	int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (r->n_lines && code != r->code)
		return SD_REPLY_MIXED_CODES;
	if (++r->n_lines > SD_REPLY_MAX_LINES)
		return SD_REPLY_TOO_MANY;
	r->code = code;
	const char *t = len > 4 ? line + 4 : "";
	size_t tl = len > 4 ? len - 4 : 0;
	if (r->n_lines == 1 && !r->enhanced[0])
		sd_parse_enhanced(t, tl, r->enhanced);
	sd_caps_feed(&r->caps, t, tl, r->n_lines == 1);
	if (r->text_len && r->text_len + 1 < sizeof r->text)
		r->text[r->text_len++] = '\n';
	size_t room = sizeof r->text - 1 - r->text_len;
	if (tl > room) {
		r->text_dropped += tl - room;
		tl = room;
	}
	memcpy(r->text + r->text_len, t, tl);
	r->text_len += tl;
	r->text[r->text_len] = '\0';
	if (len == 3 || line[3] == ' ') {
		r->done = 1;
		return SD_REPLY_DONE;
	}
	return SD_REPLY_MORE;
}

int sd_caps_has_mech(const sd_caps *caps, const char *mech)
{
	for (int i = 0; i < caps->n_mechs; i++)
		if (sd_strcaseeq(caps->mechs[i], mech))
			return 1;
	return 0;
}

/* The mechanisms of an AUTH line's argument (p, len). */
static void add_mechs(sd_caps *caps, const char *p, size_t len)
{
	const char *end = p + len;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '='))
			p++;
		const char *s = p;
		while (p < end && *p != ' ')
			p++;
		size_t l = (size_t)(p - s);
		if (l == 0)
			continue;
		if (l >= sizeof caps->mechs[0]) {
			caps->mechs_dropped++;
			continue;
		}
		char m[sizeof caps->mechs[0]];
		for (size_t i = 0; i < l; i++)
			m[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
		m[l] = '\0';
		if (sd_caps_has_mech(caps, m))
			continue;
		if (caps->n_mechs < SD_MAX_MECHS)
			strcpy(caps->mechs[caps->n_mechs++], m);
		else
			caps->mechs_dropped++;
	}
}

/* A keyword made of X's (and maybe one trailing letter): masked. */
static int is_masked(const char *kw, size_t l)
{
	size_t x = 0;
	for (size_t i = 0; i < l; i++)
		if (kw[i] == 'X' || kw[i] == '*')
			x++;
	return l >= 4 && x >= l - 1;
}

/* EHLO keywords that are a flag and nothing more. */
static const struct {
	const char *kw;
	unsigned flag;
} flag_kws[] = {
	{ "STARTTLS", SD_CAP_STARTTLS }, { "PIPELINING", SD_CAP_PIPELINING },
	{ "8BITMIME", SD_CAP_8BITMIME }, { "SMTPUTF8", SD_CAP_SMTPUTF8 },
	{ "ENHANCEDSTATUSCODES", SD_CAP_ENHANCED },
	{ "CHUNKING", SD_CAP_CHUNKING }, { "DSN", SD_CAP_DSN },
};

void sd_caps_feed(sd_caps *caps, const char *t, size_t len, int first)
{
	if (first) {
		size_t n = 0;
		while (n < len && t[n] != ' ' && n + 1 < sizeof caps->greeting_name)
			n++;
		memcpy(caps->greeting_name, t, n);
		caps->greeting_name[n] = '\0';
		return;
	}
	size_t kl = 0;
	while (kl < len && t[kl] != ' ' && t[kl] != '=')
		kl++;
	const char *arg = kl < len ? t + kl + 1 : t + len;
	size_t al = kl < len ? len - kl - 1 : 0;
	for (size_t i = 0; i < sizeof flag_kws / sizeof flag_kws[0]; i++)
		if (kl == strlen(flag_kws[i].kw) &&
		    sd_strncaseeq(t, flag_kws[i].kw, kl)) {
			caps->flags |= flag_kws[i].flag;
			return;
		}
	if (kl == 4 && sd_strncaseeq(t, "AUTH", 4)) {
		caps->flags |= SD_CAP_AUTH;
		add_mechs(caps, arg, al);
	} else if (kl == 4 && sd_strncaseeq(t, "SIZE", 4)) {
		caps->flags |= SD_CAP_SIZE;
		long v = 0;
		while (al && *arg == ' ') {
			arg++;
			al--;
		}
		/* digits only, and no overflow: the argument is the server's */
		for (size_t i = 0; i < al && arg[i] >= '0' && arg[i] <= '9' &&
		    v < 100000000000L; i++)
			v = v * 10 + (arg[i] - '0');
		caps->size = v;
	} else if (is_masked(t, kl)) {
		caps->flags |= SD_CAP_MASKED;
	}
}

void sd_caps_parse(sd_caps *caps, const char *text)
{
	memset(caps, 0, sizeof *caps);
	const char *line = text;
	for (int first = 1;; first = 0) {
		const char *end = strchr(line, '\n');
		size_t l = end ? (size_t)(end - line) : strlen(line);
		sd_caps_feed(caps, line, l, first);
		if (!end)
			break;
		line = end + 1;
	}
}
