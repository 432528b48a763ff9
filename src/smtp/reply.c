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
	if (r->text_len && r->text_len + 1 < sizeof r->text)
		r->text[r->text_len++] = '\n';
	size_t room = sizeof r->text - 1 - r->text_len;
	if (tl > room)
		tl = room;
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

static void add_mechs(sd_caps *caps, const char *p)
{
	while (*p) {
		while (*p == ' ' || *p == '=')
			p++;
		const char *s = p;
		while (*p && *p != ' ' && *p != '\n')
			p++;
		size_t l = (size_t)(p - s);
		if (l == 0 || l >= sizeof caps->mechs[0])
			continue;
		char m[sizeof caps->mechs[0]];
		for (size_t i = 0; i < l; i++)
			m[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
		m[l] = '\0';
		if (!sd_caps_has_mech(caps, m) && caps->n_mechs < SD_MAX_MECHS)
			strcpy(caps->mechs[caps->n_mechs++], m);
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

void sd_caps_parse(sd_caps *caps, const char *text)
{
	memset(caps, 0, sizeof *caps);
	const char *line = text;
	int first = 1;
	while (*line) {
		const char *end = strchr(line, '\n');
		size_t l = end ? (size_t)(end - line) : strlen(line);
		char buf[1024];
		if (l >= sizeof buf)
			l = sizeof buf - 1;
		memcpy(buf, line, l);
		buf[l] = '\0';
		if (first) {
			size_t n = strcspn(buf, " ");
			if (n >= sizeof caps->greeting_name)
				n = sizeof caps->greeting_name - 1;
			memcpy(caps->greeting_name, buf, n);
			caps->greeting_name[n] = '\0';
			first = 0;
		} else {
			size_t kl = strcspn(buf, " =");
			const char *arg = buf[kl] ? buf + kl + 1 : "";
			if (kl == 8 && sd_strncaseeq(buf, "STARTTLS", 8))
				caps->flags |= SD_CAP_STARTTLS;
			else if (kl == 4 && sd_strncaseeq(buf, "AUTH", 4)) {
				caps->flags |= SD_CAP_AUTH;
				add_mechs(caps, arg);
			} else if (kl == 4 && sd_strncaseeq(buf, "SIZE", 4)) {
				caps->flags |= SD_CAP_SIZE;
				caps->size = strtol(arg, NULL, 10);
				if (caps->size < 0)
					caps->size = 0;
			} else if (kl == 10 && sd_strncaseeq(buf, "PIPELINING", 10))
				caps->flags |= SD_CAP_PIPELINING;
			else if (kl == 8 && sd_strncaseeq(buf, "8BITMIME", 8))
				caps->flags |= SD_CAP_8BITMIME;
			else if (kl == 8 && sd_strncaseeq(buf, "SMTPUTF8", 8))
				caps->flags |= SD_CAP_SMTPUTF8;
			else if (kl == 19 && sd_strncaseeq(buf,
			    "ENHANCEDSTATUSCODES", 19))
				caps->flags |= SD_CAP_ENHANCED;
			else if (kl == 8 && sd_strncaseeq(buf, "CHUNKING", 8))
				caps->flags |= SD_CAP_CHUNKING;
			else if (kl == 3 && sd_strncaseeq(buf, "DSN", 3))
				caps->flags |= SD_CAP_DSN;
			else if (is_masked(buf, kl))
				caps->flags |= SD_CAP_MASKED;
		}
		if (!end)
			break;
		line = end + 1;
	}
}
