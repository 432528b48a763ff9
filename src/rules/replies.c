/*
 * The provider reply table and its matcher; see replies.h.  The rows are in
 * data/replies.def.
 */
#include "rules/replies.h"

#include <pthread.h>
#include <string.h>

#include "smtp/reply.h"

#define SD_REPLY_TABLE_DEF "../../data/replies.def"
#include "rules/reply_table.inc"

void sd_reply_unpack(const sd_reply_packed *packed_rows, const void *strs,
    size_t n, sd_reply_rule *out)
{
	for (size_t i = 0; i < n; i++) {
		const sd_reply_packed *p = &packed_rows[i];
		sd_reply_rule *r = &out[i];
		r->id = sd_strtab_str(strs, p->id);
		r->provider = sd_strtab_str(strs, p->provider);
		r->stages = p->stages;
		r->code_min = p->code_min;
		r->code_max = p->code_max;
		r->enhanced = sd_strtab_str(strs, p->enhanced);
		for (size_t f = 0; f < SD_REPLY_MAX_FRAGMENTS; f++)
			r->fragments[f] = sd_strtab_str(strs, p->fragments[f]);
		r->cause = sd_strtab_str(strs, p->cause);
		r->flags = p->flags;
		r->generic = (p->flags & SD_REPLY_GENERIC) != 0;
		r->explain = sd_strtab_str(strs, p->explain);
		r->hint = sd_strtab_str(strs, p->hint);
		r->sample = sd_strtab_str(strs, p->sample);
		r->source = sd_strtab_str(strs, p->source);
	}
}

static const char *const stage_names[SD_STAGE_COUNT] = {
	"connect", "ehlo", "starttls", "auth", "mail", "rcpt", "data",
	"data_end",
};

/* ASCII only: the table is ASCII, and a locale must not change a match
 * (in tr_TR, tolower('I') is not 'i'). */
static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* Longest fragment alternative (the table's are far shorter; the unit
 * test checks). */
#define ALT_MAX 128

/*
 * Whether the lower-cased needle[0..nlen) occurs in the lower-cased
 * hay[0..hlen); with `whole`, only where it is not part of a longer word.
 */
static int find(const char *hay, size_t hlen, const char *needle, size_t nlen,
    int whole)
{
	char low[ALT_MAX];
	if (nlen == 0)
		return 1;
	if (nlen > sizeof low)
		return 0;
	for (size_t i = 0; i < nlen; i++)
		low[i] = lower(needle[i]);
	const char *p = hay, *end = hay + hlen;
	while (p < end) {
		const char *at = memmem(p, (size_t)(end - p), low, nlen);
		if (!at)
			return 0;
		if (!whole)
			return 1;
		if ((at == hay || !is_word(at[-1])) &&
		    (at + nlen == end || !is_word(at[nlen])))
			return 1;
		p = at + 1;
	}
	return 0;
}

/* A fragment: alternatives separated by '|', each maybe "~word". */
static int fragment_matches(const char *text, size_t len, const char *frag)
{
	const char *p = frag;
	for (;;) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);
		int whole = n > 0 && p[0] == '~';
		if (find(text, len, p + whole, n - (size_t)whole, whole))
			return 1;
		if (!bar)
			return 0;
		p = bar + 1;
	}
}

size_t sd_reply_text_normalize(const char *text, char *out, size_t cap)
{
	size_t o = 0;
	if (!cap)
		return 0;
	for (const char *p = text ? text : ""; *p && o + 1 < cap;) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		const char *s = p;
		char enh[16];
		if (p != text) {
			/* RFC 2034: a continuation line repeats the code */
			if (sd_parse_enhanced(s, n, enh)) {
				size_t k = strlen(enh);
				s += k;
				n -= k;
			}
			while (n && (*s == ' ' || *s == '\t')) {
				s++;
				n--;
			}
			if (n && o && out[o - 1] != ' ')
				out[o++] = ' ';
		}
		if (n > cap - 1 - o)
			n = cap - 1 - o;
		memcpy(out + o, s, n);
		o += n;
		if (!eol)
			break;
		p = eol + 1;
	}
	out[o] = '\0';
	return o;
}

/* The enhanced status code at the start of the first line, as the SMTP
 * reader would have split it off. */
static int leading_enhanced(const char *text, char out[16])
{
	return sd_parse_enhanced(text, strcspn(text, "\n"), out);
}

static int matches(const sd_reply_rule *rule, sd_smtp_stage stage, int code,
    const char *enh, const char *text, size_t len)
{
	if ((unsigned)stage >= SD_STAGE_COUNT ||
	    !(rule->stages & (1u << stage)))
		return 0;
	if (code < rule->code_min || code > rule->code_max)
		return 0;
	if (rule->enhanced && strcmp(rule->enhanced, enh) != 0)
		return 0;
	for (int i = 0; i < SD_REPLY_MAX_FRAGMENTS; i++)
		if (rule->fragments[i] &&
		    !fragment_matches(text, len, rule->fragments[i]))
			return 0;
	return 1;
}

/*
 * Normalises the caller's enhanced code and text: `low` gets the text as
 * one line (sd_reply_text_normalize), at most SD_REPLY_SCAN_MAX bytes, in
 * lower case (matching is then one memmem per fragment), *len its length.
 */
static void prepare(const char **enhanced, const char **text, size_t *len,
    char buf[16], char low[SD_REPLY_SCAN_MAX])
{
	if (!*text)
		*text = "";
	if (!*enhanced || !**enhanced)
		*enhanced = leading_enhanced(*text, buf) ? buf : "";
	*len = sd_reply_text_normalize(*text, low, SD_REPLY_SCAN_MAX);
	for (size_t i = 0; i < *len; i++)
		low[i] = lower(low[i]);
	*text = low;
}

int sd_reply_rule_matches(const sd_reply_rule *rule, sd_smtp_stage stage,
    int code, const char *enhanced, const char *text)
{
	char buf[16], low[SD_REPLY_SCAN_MAX];
	size_t len;
	if (!rule)
		return 0;
	prepare(&enhanced, &text, &len, buf, low);
	return matches(rule, stage, code, enhanced, text, len);
}

const sd_reply_rule *sd_reply_classify_in(const sd_reply_rule *table,
    size_t n, sd_smtp_stage stage, int code, const char *enhanced,
    const char *text, unsigned options)
{
	char buf[16], low[SD_REPLY_SCAN_MAX];
	size_t len;
	prepare(&enhanced, &text, &len, buf, low);
	for (size_t i = 0; i < n; i++) {
		const sd_reply_rule *r = &table[i];
		if ((r->flags & SD_REPLY_UNCONFIRMED) &&
		    !(options & SD_REPLY_WITH_UNCONFIRMED))
			continue;
		if (matches(r, stage, code, enhanced, text, len))
			return r;
	}
	return NULL;
}

const sd_reply_rule *sd_reply_classify_ex(sd_smtp_stage stage, int code,
    const char *enhanced, const char *text, unsigned options)
{
	return sd_reply_classify_in(table_rows(NULL), N_ROWS, stage, code,
	    enhanced, text, options);
}

const sd_reply_rule *sd_reply_classify(sd_smtp_stage stage, int code,
    const char *enhanced, const char *text)
{
	return sd_reply_classify_ex(stage, code, enhanced, text, 0);
}

const sd_reply_rule *sd_reply_rules(size_t *n)
{
	return table_rows(n);
}

const char *sd_reply_stage_name(sd_smtp_stage stage)
{
	if ((unsigned)stage >= SD_STAGE_COUNT)
		return NULL;
	return stage_names[stage];
}

int sd_reply_stage_parse(const char *name, sd_smtp_stage *out)
{
	if (!name)
		return -1;
	for (int i = 0; i < SD_STAGE_COUNT; i++) {
		if (strcmp(name, stage_names[i]) == 0) {
			*out = (sd_smtp_stage)i;
			return 0;
		}
	}
	return -1;
}
