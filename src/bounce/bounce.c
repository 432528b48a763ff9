/*
 * Reading a message that came back; see bounce.h.
 *
 * Two readers fill one structure.  The DSN reader takes RFC 3464
 * delivery-status fields (a message/delivery-status part, or the same
 * fields pasted as text).  The text reader takes the report for people
 * that every server writes: it finds paragraphs that start with an
 * address (Postfix, Exim, Sendmail, qmail, Yahoo and Microsoft all lay
 * recipients out this way), the remote server's reply inside them (a
 * three-digit code, after the phrases of data/bounce_formats.def), the
 * remote host and the command it answered.  The DSN's fields win; the
 * text fills what they leave out.
 */
#include "bounce/bounce.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce/mime.h"
#include "smtp/reply.h"
#include "util/strtab.h"
#include "util/util.h"

typedef enum bm_kind {
	BM_GENERATOR, BM_DIAG, BM_REMOTE, BM_CUT, BM_DELAYED, BM_DELIVERED,
	BM_RELAYED, BM_RCPT,
} bm_kind;

/* The strings of data/bounce_formats.def, and its rows as offsets into
 * them (a table the loader need not write: util/strtab.h). */
#pragma push_macro("NULL")
#undef NULL
#define NULL ""
static const struct mark_strs {
#define MARK(kind, fragment, value, source) SD_STRTAB_FIELD(f_, fragment) \
	SD_STRTAB_FIELD(v_, value)
#include "../../data/bounce_formats.def"
#undef MARK
} mark_strs = {
#define MARK(kind, fragment, value, source) fragment, value,
#include "../../data/bounce_formats.def"
#undef MARK
};
#pragma pop_macro("NULL")

typedef struct mark {
	bm_kind kind;
	sd_stroff fragment, value;
} mark;

static const mark marks[] = {
#define MARK(kind, fragment, value, source) { kind, \
	SD_STRTAB_AT(mark_strs, f_, fragment), SD_STRTAB_AT(mark_strs, v_, value) },
#include "../../data/bounce_formats.def"
#undef MARK
};

static const char *fragment_of(const mark *m)
{
	return sd_strtab_str(&mark_strs, m->fragment);
}
#define N_MARKS (sizeof marks / sizeof marks[0])

/* Text kept of the reports for people, all parts together. */
#define TEXT_TOTAL_MAX (1u << 20)
/* Delivery-status fields kept: 10,000 recipients of ~200 bytes each. */
#define DSN_MAX (4u << 20)
/* The returned message kept (enough for its headers and a DKIM check of
 * ordinary mail; a bigger one is cut and says so). */
#define RETURNED_MAX (16u << 20)
/* An address in a report (RFC 5321 §4.5.3.1.3: 256 octets). */
#define ADDR_MAX 256

/* ---- small helpers ---------------------------------------------------- */

/* Case-insensitive search in a buffer that need not end in NUL. */
static const char *find_ci(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	if (n == 0 || n > len)
		return NULL;
	char first = sd_tolower(needle[0]);
	for (size_t i = 0; i + n <= len; i++) {
		if (sd_tolower(hay[i]) != first)
			continue;
		if (sd_strncaseeq(hay + i, needle, n))
			return hay + i;
	}
	return NULL;
}

/* The first mark of `kind` found in buf; *at gets where (may be NULL). */
static const mark *find_mark(bm_kind kind, const char *buf, size_t len,
    const char **at)
{
	for (size_t i = 0; i < N_MARKS; i++) {
		if (marks[i].kind != kind)
			continue;
		const char *p = find_ci(buf, len, fragment_of(&marks[i]));
		if (p) {
			if (at)
				*at = p;
			return &marks[i];
		}
	}
	return NULL;
}

/* A sanitised, one-line copy of text[0..len), white space collapsed. */
static char *one_line(const char *text, size_t len, size_t max)
{
	char *tmp = malloc(len + 1);
	if (!tmp)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = text[i];
		if (ch == '\r' || ch == '\n' || ch == '\t')
			ch = ' ';
		if (ch == ' ' && (o == 0 || tmp[o - 1] == ' '))
			continue;
		tmp[o++] = ch;
	}
	while (o > 0 && tmp[o - 1] == ' ')
		o--;
	char *out = sd_sanitize(tmp, o, max);
	free(tmp);
	return out;
}

static char *dup_clean(const char *s, size_t max)
{
	return s ? one_line(s, strlen(s), max) : NULL;
}

/* "rfc822; user@example.com" -> "user@example.com" (RFC 3464 §2.1.2
 * typed values); *type gets the type when asked. */
static char *typed_value(const char *v, char **type)
{
	const char *semi = strchr(v, ';');
	if (type)
		*type = semi ? one_line(v, (size_t)(semi - v), 64) : NULL;
	const char *s = semi ? semi + 1 : v;
	while (*s == ' ')
		s++;
	return one_line(s, strlen(s), SD_BOUNCE_MAX_DIAG);
}

static int is_addr_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr(".!#$%&'*+/=?^_`{|}~-", c);
}

static int is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/*
 * An address at s[0..len): "<user@example.com>" or "user@example.com".
 * Writes it to out (without brackets) and returns the bytes it took, or 0.
 */
static size_t addr_at(const char *s, size_t len, char *out, size_t max)
{
	size_t i = 0, o = 0;
	int angle = len > 0 && s[0] == '<';
	i += (size_t)angle;
	size_t local = i;
	while (i < len && is_addr_char(s[i]) && s[i] != '\'' && s[i] != '/')
		i++;
	if (i == local || i >= len || s[i] != '@' || i - local > 64)
		return 0;
	i++;
	size_t dom = i, dots = 0;
	while (i < len && is_host_char(s[i]))
		dots += s[i++] == '.';
	while (i > dom && s[i - 1] == '.')     /* "user@example.com." ends */
		i--, dots--;
	if (i == dom || dots == 0 || i - (size_t)angle >= max)
		return 0;
	if (angle) {
		if (i >= len || s[i] != '>')
			return 0;
	}
	for (size_t k = (size_t)angle; k < i; k++)
		out[o++] = s[k];
	out[o] = '\0';
	return i + (size_t)angle;
}

/* The first address anywhere in text[0..len), or 0. */
static int first_addr(const char *text, size_t len, char *out, size_t max)
{
	for (size_t i = 0; i < len; i++) {
		if (text[i] != '@')
			continue;
		size_t s = i;
		while (s > 0 && is_addr_char(text[s - 1]) && i - s < 64)
			s--;
		if (s > 0 && text[s - 1] == '<')
			s--;
		if (addr_at(text + s, len - s, out, max))
			return 1;
	}
	return 0;
}

/* ---- the structure ---------------------------------------------------- */

static sd_bounce_rcpt *rcpt_add(sd_bounce *b)
{
	if (b->n_rcpts >= SD_BOUNCE_MAX_RCPTS) {
		b->n_rcpts_dropped++;
		return NULL;
	}
	if (b->n_rcpts == b->cap_rcpts) {
		size_t cap = b->cap_rcpts ? b->cap_rcpts * 2 : 8;
		sd_bounce_rcpt *more = realloc(b->rcpts, cap * sizeof *more);
		if (!more)
			return NULL;
		b->rcpts = more;
		b->cap_rcpts = cap;
	}
	sd_bounce_rcpt *r = &b->rcpts[b->n_rcpts++];
	memset(r, 0, sizeof *r);
	return r;
}

/* FNV-1a over the lower-cased address. */
static size_t addr_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)sd_tolower(*s)) * 16777619u;
	return h;
}

static void index_put(sd_bounce *b, size_t i)
{
	if (!b->index || !b->rcpts[i].recipient)
		return;
	size_t m = b->index_cap - 1;
	for (size_t k = addr_hash(b->rcpts[i].recipient) & m; ;
	    k = (k + 1) & m) {
		if (b->index[k] == 0) {
			b->index[k] = i + 1;
			return;
		}
	}
}

/* The recipients by address: the text of a report may name thousands,
 * each looked up among thousands of DSN recipients. */
static void index_build(sd_bounce *b)
{
	if (b->index)
		return;
	b->index_cap = 1;
	while (b->index_cap < 2 * SD_BOUNCE_MAX_RCPTS)
		b->index_cap <<= 1;
	b->index = calloc(b->index_cap, sizeof *b->index);
	for (size_t i = 0; b->index && i < b->n_rcpts; i++)
		index_put(b, i);
}

static sd_bounce_rcpt *rcpt_find(sd_bounce *b, const char *addr)
{
	if (b->index) {
		size_t m = b->index_cap - 1;
		for (size_t k = addr_hash(addr) & m; b->index[k];
		    k = (k + 1) & m) {
			sd_bounce_rcpt *r = &b->rcpts[b->index[k] - 1];
			if (r->recipient && sd_strcaseeq(r->recipient, addr))
				return r;
		}
		return NULL;
	}
	for (size_t i = 0; i < b->n_rcpts; i++)
		if (b->rcpts[i].recipient &&
		    sd_strcaseeq(b->rcpts[i].recipient, addr))
			return &b->rcpts[i];
	return NULL;
}

static void rcpt_free(sd_bounce_rcpt *r)
{
	char **f[] = { &r->recipient, &r->original, &r->action, &r->status,
	    &r->remote_mta, &r->remote_ip, &r->diagnostic, &r->diagnostic_type,
	    &r->stage, &r->last_attempt, &r->will_retry_until,
	    &r->final_log_id };
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		free(*f[i]);
		*f[i] = NULL;
	}
}

void sd_bounce_free(sd_bounce *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_rcpts; i++)
		rcpt_free(&b->rcpts[i]);
	free(b->rcpts);
	free(b->index);
	char **f[] = { &b->subject, &b->from, &b->to, &b->date,
	    &b->reporting_mta, &b->dsn_gateway, &b->received_from_mta,
	    &b->arrival_date, &b->envelope_id, &b->returned };
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		free(*f[i]);
	memset(b, 0, sizeof *b);
}

/* Sets *dst to a copy of src unless it is already set. */
static void fill(char **dst, const char *src)
{
	if (!*dst && src && *src)
		*dst = strdup(src);
}

/* ---- the SMTP reply inside a diagnostic ------------------------------- */

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* An RFC 3463 code at s ("5.1.1"): its length, or 0. */
static size_t enhanced_at(const char *s, size_t len)
{
	char out[16];
	return sd_parse_enhanced(s, len, out) ? strlen(out) : 0;
}

/*
 * Where the server's reply starts in text[0..len): a reply code (2xx, 4xx,
 * 5xx) at a word's start followed by ' ', '-' or ':', or else an enhanced
 * code alone.  *code gets the reply code (0 for none).
 */
static const char *reply_start(const char *text, size_t len, int *code)
{
	*code = 0;
	for (size_t i = 0; i + 3 <= len; i++) {
		if ((text[i] != '2' && text[i] != '4' && text[i] != '5') ||
		    (i > 0 && !strchr(" \t\n'(:\"[", text[i - 1])))
			continue;
		if (!is_digit(text[i + 1]) || !is_digit(text[i + 2]))
			continue;
		if (i + 3 < len && !strchr(" -:\n", text[i + 3]))
			continue;
		*code = (text[i] - '0') * 100 + (text[i + 1] - '0') * 10 +
		    (text[i + 2] - '0');
		return text + i;
	}
	for (size_t i = 0; i < len; i++)
		if ((i == 0 || strchr(" \t\n'(:", text[i - 1])) &&
		    enhanced_at(text + i, len - i))
			return text + i;
	return NULL;
}

/* The enhanced code in a reply ("550 5.1.1 ..." or "550-5.1.1" or
 * "550: 5.1.1"), copied to out[16]; 1 when found. */
static int reply_enhanced(const char *reply, size_t len, char out[16])
{
	size_t i = 0;
	if (len >= 3 && is_digit(reply[0]) && is_digit(reply[1]) &&
	    is_digit(reply[2])) {
		i = 3;
		while (i < len && (reply[i] == ' ' || reply[i] == '-' ||
		    reply[i] == ':'))
			i++;
	}
	size_t n = enhanced_at(reply + i, len - i);
	if (!n || n >= 16)
		return 0;
	memcpy(out, reply + i, n);
	out[n] = '\0';
	return 1;
}

/* The SMTP command a report says the reply answered. */
static const char *stage_of(const char *text, size_t len)
{
	static const struct { const char *frag, *stage; } stages[] = {
		{ "in reply to RCPT TO command", "rcpt" },
		{ "in reply to end of DATA command", "data_end" },
		{ "in reply to MAIL FROM command", "mail" },
		{ "in reply to DATA command", "data" },
		{ "after RCPT TO", "rcpt" },
		{ "after end of data", "data_end" },
		{ "after MAIL FROM", "mail" },
		{ "after DATA", "data" },
		{ ">>> RCPT", "rcpt" },
		{ ">>> MAIL", "mail" },
		{ ">>> DATA", "data_end" },
	};
	for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++)
		if (find_ci(text, len, stages[i].frag))
			return stages[i].stage;
	return NULL;
}

/* Cuts what follows a reply in a report: Postfix's "(in reply to ...)",
 * qmail's "Giving up on ...", the quote closing Microsoft's '...' or
 * Sendmail's (reason: ...) when `open` (the byte before the reply) opened
 * one. */
static size_t reply_len(const char *reply, size_t len, char open)
{
	static const char *const tails[] = { "(in reply to ", "Giving up on ",
	    "I'm not going to try again", "\n\n", "\n\r\n", NULL };
	for (size_t i = 0; tails[i]; i++) {
		const char *t = find_ci(reply, len, tails[i]);
		if (t)
			len = (size_t)(t - reply);
	}
	char close = open == '\'' ? '\'' : open == '(' ? ')' : 0;
	if (!close)
		return len;
	const char *nl = memchr(reply, '\n', len);
	size_t line = nl ? (size_t)(nl - reply) : len;
	for (size_t i = line; i > 0; i--)
		if (reply[i - 1] == close)
			return i - 1;
	return len;
}

/* A host name at p ("mx.example.net", "192.0.2.1"), maybe followed by
 * " [IP]" or "[IP]": 1 when one was taken. */
static int host_at(const char *p, const char *end, char **name, char **ip)
{
	while (p < end && *p == ' ')
		p++;
	const char *h = p;
	while (p < end && is_host_char(*p))
		p++;
	size_t hl = (size_t)(p - h);
	while (hl > 0 && h[hl - 1] == '.')
		hl--;
	if (hl == 0 || !memchr(h, '.', hl))
		return 0;
	if (!*name)
		*name = one_line(h, hl, 255);
	if (p < end && *p == ' ')
		p++;
	if (p < end && *p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));
		if (close && close - p < 48 && !*ip)
			*ip = one_line(p + 1, (size_t)(close - p - 1), 47);
	}
	return 1;
}

/* The remote host of a block: "host NAME[IP]", "host NAME [IP]",
 * "while talking to NAME.:", "Giving up on IP." (every phrase of
 * data/bounce_formats.def, every place it occurs, until one names a
 * host: "Remote host said:" names none). */
static void remote_of(const char *text, size_t len, char **name, char **ip)
{
	const char *end = text + len;
	for (size_t i = 0; i < N_MARKS && !*name; i++) {
		if (marks[i].kind != BM_REMOTE)
			continue;
		size_t fl = strlen(fragment_of(&marks[i]));
		const char *p = text;
		const char *at;
		while (p < end && (at = find_ci(p, (size_t)(end - p),
		    fragment_of(&marks[i])))) {
			/* "This is the mail system at host X": the reporting
			 * host, not the remote one */
			int ours = at - text >= 3 && sd_strncaseeq(at - 3, "at ", 3);
			if (!ours && host_at(at + fl, end, name, ip))
				return;
			p = at + fl;
		}
	}
}

/* The reply in a piece of report text: fills code, status (when not
 * given), diagnostic, stage. */
static void diag_from(sd_bounce_rcpt *r, const char *text, size_t len)
{
	const char *at = NULL;
	const mark *m = find_mark(BM_DIAG, text, len, &at);
	const char *from = m ? at + strlen(fragment_of(m)) : text;
	size_t left = (size_t)(text + len - from);
	int code = 0;
	const char *reply = reply_start(from, left, &code);
	if (!reply) {
		/* words only (a local delivery agent's, a provider's) */
		reply = from;
		while (left > 0 && (*reply == ' ' || *reply == '\n' ||
		    *reply == ':')) {
			reply++;
			left--;
		}
		if (left == 0)
			return;
	} else {
		left = (size_t)(text + len - reply);
	}
	char open = m && strcmp(fragment_of(m), "(reason:") == 0 ? '(' :
	    reply > text && reply[-1] == '\'' ? '\'' : 0;
	size_t n = reply_len(reply, left, open);
	char enh[16];
	if (!r->diagnostic) {
		r->diagnostic = one_line(reply, n, SD_BOUNCE_MAX_DIAG);
		r->code = code;
	}
	if (!r->status && reply_enhanced(reply, n, enh))
		r->status = strdup(enh);
	const char *st = stage_of(text, len);
	if (!r->stage && st)
		r->stage = strdup(st);
}

/*
 * A multi-line reply quoted on one line keeps each line's code: "550-5.7.26
 * Unauthenticated ... go to 550 5.7.26 https://...".  The codes after the
 * first are taken out, so that the words read as one sentence.
 */
static void join_continuations(char *s)
{
	char enh[16];
	size_t n = strlen(s);
	if (n < 4 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]) ||
	    (s[3] != '-' && s[3] != ' '))
		return;
	size_t el = sd_parse_enhanced(s + 4, n - 4, enh) ? strlen(enh) : 0;
	char o = 0;
	for (char *p = s + 4; (p = strstr(p, " ")) != NULL; p++) {
		char *q = p + 1;
		if (strncmp(q, s, 3) != 0 || (q[3] != '-' && q[3] != ' '))
			continue;
		size_t cut = 4;
		if (el && strncmp(q + 4, enh, el) == 0 && (q[4 + el] == ' ' ||
		    q[4 + el] == '\0'))
			cut += el + (q[4 + el] == ' ');
		memmove(q, q + cut, strlen(q + cut) + 1);
		while (*q == ' ')
			memmove(q, q + 1, strlen(q + 1) + 1);
		o = 1;
	}
	if (o && s[3] == '-')
		s[3] = ' ';
}

/* ---- the DSN reader (RFC 3464 §2) ------------------------------------- */

static void dsn_message_field(sd_bounce *b, const char *name, const char *v)
{
	char **dst = sd_strcaseeq(name, "Reporting-MTA") ? &b->reporting_mta :
	    sd_strcaseeq(name, "DSN-Gateway") ? &b->dsn_gateway :
	    sd_strcaseeq(name, "Received-From-MTA") ? &b->received_from_mta :
	    sd_strcaseeq(name, "Arrival-Date") ? &b->arrival_date :
	    sd_strcaseeq(name, "Original-Envelope-Id") ? &b->envelope_id : NULL;
	if (dst && !*dst)
		*dst = sd_strcaseeq(name, "Arrival-Date") ||
		    sd_strcaseeq(name, "Original-Envelope-Id") ?
		    one_line(v, strlen(v), 256) : typed_value(v, NULL);
}

static void dsn_rcpt_field(sd_bounce_rcpt *r, const char *name, const char *v)
{
	char **dst = NULL;
	if (sd_strcaseeq(name, "Final-Recipient"))
		dst = &r->recipient;
	else if (sd_strcaseeq(name, "Original-Recipient"))
		dst = &r->original;
	else if (sd_strcaseeq(name, "Remote-MTA"))
		dst = &r->remote_mta;
	else if (sd_strcaseeq(name, "Diagnostic-Code")) {
		if (!r->diagnostic) {
			r->diagnostic = typed_value(v, &r->diagnostic_type);
			if (r->diagnostic)
				join_continuations(r->diagnostic);
			int code = 0;
			if (r->diagnostic && reply_start(r->diagnostic,
			    strlen(r->diagnostic), &code) == r->diagnostic)
				r->code = code;
		}
		return;
	}
	if (dst) {
		if (!*dst)
			*dst = typed_value(v, NULL);
		/* "mx.example.com. (192.0.2.1, the server for ...)": the
		 * host name is the first word, without its final dot */
		if (dst == &r->remote_mta && *dst) {
			(*dst)[strcspn(*dst, " ")] = '\0';
			size_t n = strlen(*dst);
			if (n > 1 && (*dst)[n - 1] == '.')
				(*dst)[n - 1] = '\0';
		}
		return;
	}
	char *plain = one_line(v, strlen(v), 256);
	if (!plain)
		return;
	/* "Status: 5.1.1 (user unknown)": the code alone */
	if (sd_strcaseeq(name, "Status")) {
		plain[strcspn(plain, " (")] = '\0';
		dst = &r->status;
	} else if (sd_strcaseeq(name, "Action")) {
		for (char *c = plain; *c; c++)
			*c = sd_tolower(*c);
		plain[strcspn(plain, " (")] = '\0';
		dst = &r->action;
	} else if (sd_strcaseeq(name, "Last-Attempt-Date")) {
		dst = &r->last_attempt;
	} else if (sd_strcaseeq(name, "Will-Retry-Until")) {
		dst = &r->will_retry_until;
	} else if (sd_strcaseeq(name, "Final-Log-ID")) {
		dst = &r->final_log_id;
	}
	if (dst && !*dst) {
		*dst = plain;
		return;
	}
	free(plain);
}

/* Whether a field name belongs to a recipient's block. */
static int is_rcpt_field(const char *name)
{
	return sd_strcaseeq(name, "Final-Recipient") ||
	    sd_strcaseeq(name, "Original-Recipient");
}

/* Reads delivery-status fields; returns the recipients it added. */
static size_t parse_dsn(sd_bounce *b, const char *text, size_t len)
{
	sd_mime_fields c;
	char name[64];
	char *value = malloc(SD_MIME_MAX_FIELD);
	size_t added = 0;
	if (!value)
		return 0;
	const char *p = text, *end = text + len;
	sd_bounce_rcpt *cur = NULL;
	int rcpt_block = 0;
	while (p < end) {
		/* blocks are separated by empty lines */
		while (p < end && (*p == '\n' || *p == '\r' || *p == ' ' ||
		    *p == '\t'))
			p++;
		sd_mime_fields_init(&c, p, (size_t)(end - p));
		int first = 1;
		while (sd_mime_fields_next(&c, name, sizeof name, value,
		    SD_MIME_MAX_FIELD)) {
			if (first || (is_rcpt_field(name) && cur &&
			    cur->recipient && sd_strcaseeq(name,
			    "Final-Recipient"))) {
				rcpt_block = is_rcpt_field(name) ||
				    sd_strcaseeq(name, "Action");
				cur = NULL;
				if (rcpt_block) {
					cur = rcpt_add(b);
					added += cur != NULL;
				}
				first = 0;
			}
			if (rcpt_block && cur)
				dsn_rcpt_field(cur, name, value);
			else if (!rcpt_block)
				dsn_message_field(b, name, value);
		}
		if (c.p == p)
			break;
		p = c.p;
	}
	free(value);
	/* a block with no Final-Recipient names its Original-Recipient */
	for (size_t i = 0; i < b->n_rcpts; i++) {
		sd_bounce_rcpt *r = &b->rcpts[i];
		r->from_dsn = 1;
		if (!r->recipient && r->original)
			r->recipient = strdup(r->original);
	}
	return added;
}

/* ---- the text reader -------------------------------------------------- */

/* A copy of the report text with CRs dropped and the "> " of a quoted
 * paste taken off each line. */
static char *normalize(const char *in, size_t len, size_t *out_len)
{
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	int bol = 1;
	for (size_t i = 0; i < len; i++) {
		if (bol) {
			while (i < len && in[i] == '>') {
				i++;
				if (i < len && in[i] == ' ')
					i++;
			}
			if (i >= len)
				break;
		}
		bol = in[i] == '\n';
		if (in[i] != '\r')
			out[o++] = in[i];
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

/* Whether what follows an address at the start of a line fits a
 * recipient's paragraph: nothing, ':', "...", '<mailto:', '(' or ','. */
static int addr_line_tail(const char *p, const char *eol)
{
	while (p < eol && (*p == ' ' || *p == '\t') && p + 1 < eol &&
	    (p[1] == ' ' || p[1] == '\t' || p[1] == '('))
		p++;
	if (p < eol && (*p == ' ' || *p == '\t'))
		p++;
	return p == eol || *p == ':' || *p == '<' || *p == '(' || *p == ',' ||
	    (eol - p >= 3 && memcmp(p, "...", 3) == 0);
}

/* One recipient's paragraph of a text report, read into b. */
static void take_block(sd_bounce *b, const char *addr, const char *text,
    size_t len, int merge_only)
{
	sd_bounce_rcpt *r = rcpt_find(b, addr);
	if (!r) {
		/* the report's own addresses are not recipients */
		if (merge_only || (b->to && sd_strcasestr(b->to, addr)) ||
		    (b->from && sd_strcasestr(b->from, addr)))
			return;
		r = rcpt_add(b);
		if (!r)
			return;
		r->recipient = strdup(addr);
		index_put(b, b->n_rcpts - 1);
	}
	diag_from(r, text, len);
	remote_of(text, len, &r->remote_mta, &r->remote_ip);
}

/*
 * Paragraphs that start with an address.  A paragraph ends at an empty
 * line or at the next address line indented no deeper (Postfix indents
 * its continuation lines, Exim its details); the same address again
 * continues it (a mail client re-wrapped the lines).
 */
static void scan_blocks(sd_bounce *b, const char *t, size_t len,
    int merge_only)
{
	const char *p = t, *end = t + len, *blk = NULL;
	size_t blk_indent = 0;
	char cur[ADDR_MAX], addr[ADDR_MAX];
	cur[0] = '\0';
	while (p <= end) {
		const char *eol = p < end ? memchr(p, '\n', (size_t)(end - p)) :
		    NULL;
		if (!eol)
			eol = end;
		size_t indent = 0;
		while (p + indent < eol && (p[indent] == ' ' ||
		    p[indent] == '\t'))
			indent++;
		int blank = p + indent == eol;
		size_t used = blank ? 0 : addr_at(p + indent,
		    (size_t)(eol - p - indent), addr, sizeof addr);
		int starts = used && indent <= 8 &&
		    addr_line_tail(p + indent + used, eol);
		int same = starts && blk && sd_strcaseeq(addr, cur);
		if (blk && (blank || p >= end || (starts && !same &&
		    indent <= blk_indent))) {
			take_block(b, cur, blk, (size_t)(p - blk), merge_only);
			blk = NULL;
		}
		if (starts && !blk) {
			memcpy(cur, addr, strlen(addr) + 1);
			blk = p + indent + used;
			blk_indent = indent;
		}
		if (eol >= end)
			break;
		p = eol + 1;
	}
	if (blk)
		take_block(b, cur, blk, (size_t)(end - blk), merge_only);
}

/* Reports that name the recipient inside a sentence (Gmail's). */
static void scan_sentences(sd_bounce *b, const char *t, size_t len)
{
	const char *at = NULL;
	const mark *m = find_mark(BM_RCPT, t, len, &at);
	char addr[ADDR_MAX];
	if (!m)
		return;
	const char *from = at + strlen(fragment_of(m));
	size_t window = (size_t)(t + len - from);
	if (window > 300)
		window = 300;
	if (first_addr(from, window, addr, sizeof addr))
		take_block(b, addr, "", 0, 0);
}

static const char *text_action(const sd_bounce *b, const char *t, size_t len)
{
	const char *subj = b->subject ? b->subject : "";
	static const struct { bm_kind k; const char *action; } kinds[] = {
		{ BM_DELIVERED, "delivered" }, { BM_RELAYED, "relayed" },
		{ BM_DELAYED, "delayed" },
	};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (find_mark(kinds[i].k, subj, strlen(subj), NULL) ||
		    find_mark(kinds[i].k, t, len, NULL))
			return kinds[i].action;
	return "failed";
}

/* Fills in what the text says about recipients, and finds more when no
 * delivery-status part listed them. */
static void read_text(sd_bounce *b, const char *raw, size_t raw_len)
{
	size_t len = 0;
	char *t = normalize(raw, raw_len, &len);
	if (!t)
		return;
	const char *cut = NULL;
	if (find_mark(BM_CUT, t, len, &cut)) {
		if (!b->returned) {
			const char *nl = memchr(cut, '\n', (size_t)(t + len - cut));
			const char *rs = nl ? nl + 1 : t + len;
			while (rs < t + len && (*rs == '\n' || *rs == ' '))
				rs++;
			size_t rl = (size_t)(t + len - rs);
			if (rl > RETURNED_MAX)
				rl = RETURNED_MAX;
			b->returned = malloc(rl + 1);
			if (b->returned) {
				memcpy(b->returned, rs, rl);
				b->returned[rl] = '\0';
				b->returned_len = rl;
				b->returned_headers_only =
				    sd_mime_body_offset(rs, rl) >= rl;
			}
		}
		len = (size_t)(cut - t);
	}
	/* recipients already known (a DSN part, the text part before an
	 * HTML one) are completed, never joined by a stray address */
	index_build(b);
	scan_blocks(b, t, len, b->n_rcpts > 0);
	if (b->n_rcpts == 0)
		scan_sentences(b, t, len);
	/* one recipient and a reply elsewhere in the report (Gmail) */
	if (b->n_rcpts == 1 && !b->rcpts[0].diagnostic)
		diag_from(&b->rcpts[0], t, len);
	if (b->n_rcpts == 1)
		remote_of(t, len, &b->rcpts[0].remote_mta,
		    &b->rcpts[0].remote_ip);
	const char *action = text_action(b, t, len);
	for (size_t i = 0; i < b->n_rcpts; i++)
		fill(&b->rcpts[i].action, action);
	if (!b->generator) {
		const mark *g = find_mark(BM_GENERATOR, t, len, NULL);
		b->generator = g ? sd_strtab_str(&mark_strs, g->value) : NULL;
	}
	free(t);
}

/* ---- the MIME walk ---------------------------------------------------- */

typedef struct pstate {
	sd_bounce *b;
	char *text, *html, *dsn;
	size_t text_len, html_len, dsn_len;
} pstate;

/* Appends decoded bytes to one of the collected texts (capped). */
static void collect(char **buf, size_t *len, const char *add, size_t n,
    size_t max)
{
	if (*len >= max)
		return;
	if (n > max - *len)
		n = max - *len;
	char *more = realloc(*buf, *len + n + 2);
	if (!more)
		return;
	*buf = more;
	memcpy(*buf + *len, add, n);
	*len += n;
	(*buf)[(*len)++] = '\n';
	(*buf)[*len] = '\0';
}

static void on_part(void *ctx, const sd_mime_part *part)
{
	pstate *st = ctx;
	const char *t = part->type;
	int dsn = strcmp(t, "message/delivery-status") == 0 ||
	    strcmp(t, "message/global-delivery-status") == 0;
	int returned = strcmp(t, "message/rfc822") == 0 ||
	    strcmp(t, "message/global") == 0;
	int headers = strcmp(t, "text/rfc822-headers") == 0 ||
	    strcmp(t, "message/rfc822-headers") == 0 ||
	    strcmp(t, "message/global-headers") == 0;
	int plain = strcmp(t, "text/plain") == 0;
	int html = strcmp(t, "text/html") == 0;
	if (!dsn && !returned && !headers && !plain && !html)
		return;
	if ((returned || headers) && st->b->returned)
		return;
	size_t max = returned || headers ? RETURNED_MAX : dsn ? DSN_MAX :
	    SD_BOUNCE_MAX_TEXT;
	size_t n = 0;
	char *d = sd_mime_decode(part->body, part->body_len, part->encoding,
	    max, &n);
	if (!d)
		return;
	if (returned || headers) {
		st->b->returned = d;
		st->b->returned_len = n;
		st->b->returned_headers_only = headers;
		return;
	}
	if (html) {
		size_t hn = 0;
		char *h = sd_mime_html_text(d, n, &hn);
		if (h)
			collect(&st->html, &st->html_len, h, hn,
			    TEXT_TOTAL_MAX);
		free(h);
	} else {
		collect(dsn ? &st->dsn : &st->text, dsn ? &st->dsn_len :
		    &st->text_len, d, n, dsn ? DSN_MAX : TEXT_TOTAL_MAX);
	}
	free(d);
}

/* Whether the input starts with header fields: the first line is one,
 * and so is the next line that is not a continuation. */
static int looks_like_headers(const char *p, size_t len)
{
	int fields = 0;
	for (int line = 0; line < 2 && len > 0; line++) {
		const char *eol = memchr(p, '\n', len);
		size_t n = eol ? (size_t)(eol - p) : len;
		size_t i = 0;
		while (i < n && ((p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= 'A' && p[i] <= 'Z') || is_digit(p[i]) ||
		    p[i] == '-' || p[i] == '_'))
			i++;
		if (i == 0 || i >= n || p[i] != ':')
			return 0;
		fields++;
		if (!eol)
			break;
		/* skip continuation lines */
		do {
			len -= (size_t)(eol - p) + 1;
			p = eol + 1;
			eol = len ? memchr(p, '\n', len) : NULL;
		} while (len > 0 && (*p == ' ' || *p == '\t') && eol);
		if (len == 0 || *p == '\n' || *p == '\r')
			break;
	}
	return fields > 0;
}

/* Top-level header fields of the report itself. */
static void read_top_headers(sd_bounce *b, const char *p, size_t len)
{
	size_t body = sd_mime_body_offset(p, len);
	static const char *const names[] = { "Subject", "From", "To", "Date" };
	char **dst[] = { &b->subject, &b->from, &b->to, &b->date };
	for (size_t i = 0; i < 4; i++) {
		char *v = sd_mime_header(p, body, names[i]);
		if (!v)
			continue;
		char *dec = sd_mime_decode_words(v);
		*dst[i] = dup_clean(dec ? dec : v, 998);
		free(dec);
		free(v);
	}
	const mark *g = find_mark(BM_GENERATOR, p, body, NULL);
	if (g)
		b->generator = sd_strtab_str(&mark_strs, g->value);
}

/* Exim names its failed recipients in a header: the last resort when
 * neither a DSN part nor the text named them. */
static void read_failed_header(sd_bounce *b, const char *p, size_t len)
{
	char *failed = sd_mime_header(p, sd_mime_body_offset(p, len),
	    "X-Failed-Recipients");
	if (!failed)
		return;
	char *save = NULL;
	for (char *a = strtok_r(failed, ", ", &save); a;
	    a = strtok_r(NULL, ", ", &save)) {
		char addr[ADDR_MAX];
		if (addr_at(a, strlen(a), addr, sizeof addr) &&
		    !rcpt_find(b, addr)) {
			sd_bounce_rcpt *r = rcpt_add(b);
			if (r) {
				r->recipient = strdup(addr);
				r->action = strdup("failed");
				index_put(b, b->n_rcpts - 1);
			}
		}
	}
	free(failed);
}

/* DSN fields pasted as text, or left in the header block: from the first
 * "Reporting-MTA:" or "Final-Recipient:" line. */
static void read_pasted_dsn(sd_bounce *b, const char *p, size_t len)
{
	static const char *const starts[] = { "Reporting-MTA:",
	    "Final-Recipient:", NULL };
	for (size_t i = 0; starts[i]; i++) {
		const char *at = find_ci(p, len, starts[i]);
		if (at && (at == p || at[-1] == '\n')) {
			parse_dsn(b, at, (size_t)(p + len - at));
			return;
		}
	}
}

int sd_bounce_parse(const char *in, size_t len, sd_bounce *b)
{
	memset(b, 0, sizeof *b);
	if (len > SD_BOUNCE_MAX_INPUT)
		len = SD_BOUNCE_MAX_INPUT;
	if (memchr(in, '\0', len)) {
		b->binary = 1;
		return 0;
	}
	/* leading blank lines of a paste; the "From " line of an mbox */
	while (len > 0 && (*in == '\n' || *in == '\r' || *in == ' ' ||
	    *in == '\t')) {
		in++;
		len--;
	}
	if (len >= 5 && memcmp(in, "From ", 5) == 0) {
		const char *nl = memchr(in, '\n', len);
		len = nl ? len - (size_t)(nl + 1 - in) : 0;
		in = nl ? nl + 1 : in + len;
	}
	if (len == 0)
		return 0;
	pstate st = { b, NULL, NULL, NULL, 0, 0, 0 };
	b->has_headers = looks_like_headers(in, len);
	if (b->has_headers) {
		read_top_headers(b, in, len);
		sd_mime_walk(in, len, on_part, &st, &b->mime_flags);
	} else {
		collect(&st.text, &st.text_len, in, len, TEXT_TOTAL_MAX);
	}
	if (st.dsn)
		parse_dsn(b, st.dsn, st.dsn_len);
	int dsn_part = st.dsn != NULL;
	if (b->n_rcpts == 0 && st.text)
		read_pasted_dsn(b, st.text, st.text_len);
	if (b->n_rcpts == 0 && b->has_headers)
		read_pasted_dsn(b, in, sd_mime_body_offset(in, len));
	int dsn = b->n_rcpts > 0 && b->rcpts[0].from_dsn;
	if (st.text)
		read_text(b, st.text, st.text_len);
	if (st.html)
		read_text(b, st.html, st.html_len);
	if (b->n_rcpts == 0 && b->has_headers)
		read_failed_header(b, in, len);
	b->format = dsn ? "dsn" : "text";
	b->kind = b->n_rcpts > 0 || dsn_part || b->generator ?
	    SD_BOUNCE_REPORT : b->has_headers ? SD_BOUNCE_MESSAGE :
	    SD_BOUNCE_NOT_MESSAGE;
	free(st.text);
	free(st.html);
	free(st.dsn);
	return 0;
}
