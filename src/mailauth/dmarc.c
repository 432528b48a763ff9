/*
 * DMARC (RFC 7489; np= from RFC 9091): records, discovery, alignment.
 *
 * Records are read the way receivers read them: v=DMARC1 must open the
 * record and p= must be valid, or the policy is ignored (§6.6.3); other
 * tags with bad values fall back to their defaults (§6.3) and the user is
 * told, since a typo in pct= or adkim= silently changes what happens.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/dkim.h"
#include "mailauth/dmarc.h"
#include "util/util.h"

/* A TXT string longer than this is shown shortened in reasons. */
#define SD_DMARC_SHOW_MAX 120
/* TXT strings looked at per _dmarc name (a zone may hold many). */
#define SD_DMARC_MAX_TXT 32

static int is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void vappend(char *buf, size_t size, const char *sep,
    const char *fmt, va_list ap)
{
	size_t n = strlen(buf);
	if (n && n + strlen(sep) < size) {
		strcpy(buf + n, sep);
		n += strlen(sep);
	}
	if (n < size)
		vsnprintf(buf + n, size - n, fmt, ap);
}

static void warn(sd_dmarc_record *rec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void warn(sd_dmarc_record *rec, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vappend(rec->warnings, sizeof rec->warnings, "; ", fmt, ap);
	va_end(ap);
}

static void invalid(sd_dmarc_record *rec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void invalid(sd_dmarc_record *rec, const char *fmt, ...)
{
	va_list ap;
	rec->valid = 0;
	va_start(ap, fmt);
	vappend(rec->reason, sizeof rec->reason, "; ", fmt, ap);
	va_end(ap);
}

static void say(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

typedef struct span {
	const char *p;
	size_t n;
} span;

static span trim(const char *p, size_t n)
{
	while (n && is_wsp(*p)) {
		p++;
		n--;
	}
	while (n && is_wsp(p[n - 1]))
		n--;
	return (span){ p, n };
}

static int span_is(span s, const char *word)
{
	size_t n = strlen(word);
	return s.n == n && sd_strncaseeq(s.p, word, n);
}

/* Shown in reasons: sanitised, bounded.  Returns a static-free copy. */
static char *show(span s)
{
	return sd_sanitize(s.p, s.n, SD_DMARC_SHOW_MAX);
}

int sd_dmarc_is_record(const char *text, size_t len)
{
	/* RFC 7489 §6.4: "v" *WSP "=" *WSP "DMARC1", then a separator or the
	 * end.  "v" is case-insensitive, "DMARC1" is not (%x codes). */
	size_t i = 0;
	while (i < len && is_wsp(text[i]))
		i++;
	if (i >= len || sd_tolower(text[i]) != 'v')
		return 0;
	i++;
	while (i < len && is_wsp(text[i]))
		i++;
	if (i >= len || text[i] != '=')
		return 0;
	i++;
	while (i < len && is_wsp(text[i]))
		i++;
	if (len - i < 6 || memcmp(text + i, "DMARC1", 6) != 0)
		return 0;
	i += 6;
	while (i < len && is_wsp(text[i]))
		i++;
	return i == len || text[i] == ';';
}

/* Almost a record: "v=dmarc1", "v=DMARC1 p=reject" (no ';'), "v=DMARC2". */
static int looks_like_record(const char *text, size_t len)
{
	span s = trim(text, len);
	size_t i = 0;
	if (s.n == 0 || sd_tolower(s.p[0]) != 'v')
		return 0;
	for (i = 1; i < s.n && is_wsp(s.p[i]); i++)
		;
	if (i >= s.n || s.p[i] != '=')
		return 0;
	for (i++; i < s.n && is_wsp(s.p[i]); i++)
		;
	return s.n - i >= 5 && sd_strncaseeq(s.p + i, "dmarc", 5);
}

static int parse_policy(span v, sd_dmarc_policy *out)
{
	if (span_is(v, "none"))
		*out = SD_DMARC_POLICY_NONE;
	else if (span_is(v, "quarantine"))
		*out = SD_DMARC_POLICY_QUARANTINE;
	else if (span_is(v, "reject"))
		*out = SD_DMARC_POLICY_REJECT;
	else
		return -1;
	return 0;
}

static int parse_ulong(span v, unsigned long max, unsigned long *out)
{
	if (v.n == 0 || v.n > 10)
		return -1;
	unsigned long n = 0;
	for (size_t i = 0; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -1;
		n = n * 10 + (unsigned long)(v.p[i] - '0');
	}
	if (n > max)
		return -1;
	*out = n;
	return 0;
}

/* Is every colon-separated item of v one of `allowed`? */
static int list_of(span v, const char *const *allowed, size_t n_allowed)
{
	size_t i = 0;
	if (v.n == 0)
		return 0;
	while (i <= v.n) {
		size_t j = i;
		while (j < v.n && v.p[j] != ':')
			j++;
		span item = trim(v.p + i, j - i);
		int ok = 0;
		for (size_t k = 0; k < n_allowed; k++)
			if (span_is(item, allowed[k]))
				ok = 1;
		if (!ok)
			return 0;
		i = j + 1;
	}
	return 1;
}

/* RFC 7489 §6.4 dmarc-uri: URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]. */
static int valid_uri(span u)
{
	size_t end = u.n;
	for (size_t i = 0; i < u.n; i++)
		if (u.p[i] == '!')
			end = i;
	if (end < u.n) {
		size_t i = end + 1;
		size_t digits = 0;
		while (i < u.n && u.p[i] >= '0' && u.p[i] <= '9') {
			i++;
			digits++;
		}
		if (!digits)
			return 0;
		if (i < u.n && strchr("kmgtKMGT", u.p[i]))
			i++;
		if (i != u.n)
			return 0;
	}
	size_t i = 0;
	if (end == 0 || !((u.p[0] >= 'a' && u.p[0] <= 'z') ||
	    (u.p[0] >= 'A' && u.p[0] <= 'Z')))
		return 0;
	while (i < end && u.p[i] != ':') {
		char c = u.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
			return 0;
		i++;
	}
	if (i >= end || i + 1 == end)
		return 0;  /* no scheme, or nothing after it */
	for (size_t k = i + 1; k < end; k++)
		if ((unsigned char)u.p[k] <= 0x20 || (unsigned char)u.p[k] >= 0x7f)
			return 0;
	if (i == 6 && sd_strncaseeq(u.p, "mailto", 6) &&
	    !memchr(u.p + 7, '@', end - 7))
		return 0;
	return 1;
}

/* Fills uris[] from a comma-separated list; returns the valid count. */
static size_t parse_uris(sd_dmarc_record *rec, const char *tag, span v,
    char **uris, size_t *n_uris, int *nomem)
{
	size_t i = 0, valid = 0;
	while (i <= v.n) {
		size_t j = i;
		while (j < v.n && v.p[j] != ',')
			j++;
		span u = trim(v.p + i, j - i);
		i = j + 1;
		if (u.n == 0)
			continue;
		if (!valid_uri(u)) {
			char *s = show(u);
			warn(rec, "%s: \"%s\" is not a report address (mailto:...): "
			    "ignored", tag, s ? s : "?");
			free(s);
			continue;
		}
		valid++;
		if (*n_uris >= SD_DMARC_MAX_URIS)
			continue;
		uris[*n_uris] = show(u);
		if (!uris[*n_uris])
			*nomem = 1;
		else
			(*n_uris)++;
	}
	return valid;
}

/* What the tags of one record said, for the checks made after all are
 * read. */
typedef struct {
	int have_p, p_bad, sp_bad, nomem;
	size_t rua_valid;
	span p_val, sp_val;
} tag_state;

/* One tag name=v of the record (RFC 7489 §6.3); `nshown` and `shown` are
 * the name and value as they may be shown. */
static void read_tag(sd_dmarc_record *rec, tag_state *st, span name, span v,
    const char *nshown, const char *shown)
{
	if (span_is(name, "v")) {
		warn(rec, "v= appears twice: the first one counts");
	} else if (span_is(name, "p")) {
		st->have_p = 1;
		st->p_val = v;
		st->p_bad = parse_policy(v, &rec->p) < 0;
	} else if (span_is(name, "sp")) {
		rec->has_sp = 1;
		st->sp_val = v;
		st->sp_bad = parse_policy(v, &rec->sp) < 0;
	} else if (span_is(name, "np")) {
		rec->has_np = 1;
		if (parse_policy(v, &rec->np) < 0) {
			rec->has_np = 0;
			warn(rec, "np=%s is not none, quarantine or reject: ignored",
			    shown);
		}
	} else if (span_is(name, "adkim") || span_is(name, "aspf")) {
		int *strict = span_is(name, "adkim") ? &rec->adkim_strict :
		    &rec->aspf_strict;
		if (span_is(v, "s"))
			*strict = 1;
		else if (!span_is(v, "r"))
			warn(rec, "%s=%s is not r or s: relaxed applies", nshown,
			    shown);
	} else if (span_is(name, "pct")) {
		unsigned long pct;
		if (parse_ulong(v, 100, &pct) == 0)
			rec->pct = (int)pct;
		else
			warn(rec, "pct=%s is not 0 to 100: 100 applies", shown);
	} else if (span_is(name, "ri")) {
		unsigned long ri;
		if (parse_ulong(v, 4294967295UL, &ri) == 0)
			rec->ri = ri;
		else
			warn(rec, "ri=%s is not a number of seconds: 86400 applies",
			    shown);
	} else if (span_is(name, "fo")) {
		static const char *const fo[] = { "0", "1", "d", "s" };
		if (list_of(v, fo, 4) && v.n < sizeof rec->fo)
			snprintf(rec->fo, sizeof rec->fo, "%s", shown);
		else
			warn(rec, "fo=%s is not made of 0, 1, d, s: 0 applies", shown);
	} else if (span_is(name, "rf")) {
		static const char *const rf[] = { "afrf", "iodef" };
		if (!list_of(v, rf, 2))
			warn(rec, "rf=%s is not afrf: afrf applies", shown);
	} else if (span_is(name, "rua")) {
		st->rua_valid = parse_uris(rec, "rua", v, rec->rua, &rec->n_rua,
		    &st->nomem);
	} else if (span_is(name, "ruf")) {
		parse_uris(rec, "ruf", v, rec->ruf, &rec->n_ruf, &st->nomem);
	} else {
		warn(rec, "unknown tag %s= ignored", nshown);
	}
}

/* The tags after v=DMARC1, each read once: a repeated one is ignored. */
static void read_tags(sd_dmarc_record *rec, tag_state *st, const char *text,
    size_t len)
{
	char seen[16][8];
	size_t n_seen = 0;
	size_t i = 0, index = 0;
	while (i <= len) {
		size_t j = i;
		while (j < len && text[j] != ';')
			j++;
		span piece = trim(text + i, j - i);
		i = j + 1;
		if (index++ == 0 || piece.n == 0)
			continue;  /* v=DMARC1, checked before; empty pieces */
		const char *eq = memchr(piece.p, '=', piece.n);
		if (!eq) {
			char *s = show(piece);
			warn(rec, "\"%s\" is not tag=value: ignored", s ? s : "?");
			free(s);
			continue;
		}
		span name = trim(piece.p, (size_t)(eq - piece.p));
		span v = trim(eq + 1, piece.n - (size_t)(eq + 1 - piece.p));
		char *shown = show(v);
		char *nshown = show(name);
		if (!shown || !nshown) {
			free(shown);
			free(nshown);
			st->nomem = 1;
			return;
		}
		int dup = 0;
		for (size_t k = 0; k < n_seen; k++)
			if (span_is(name, seen[k]))
				dup = 1;
		if (dup)
			warn(rec, "%s= appears twice: the first one counts", nshown);
		else
			read_tag(rec, st, name, v, nshown, shown);
		if (!dup && n_seen < 16 && name.n < sizeof seen[0]) {
			memcpy(seen[n_seen], name.p, name.n);
			seen[n_seen++][name.n] = '\0';
		}
		free(shown);
		free(nshown);
	}
}

/* A policy tag whose value receivers cannot read voids the record. */
static void bad_policy(sd_dmarc_record *rec, const char *tag, span v)
{
	char *s = show(v);
	invalid(rec, "%s=%s is not none, quarantine or reject, so receivers "
	    "ignore the policy", tag, s ? s : "?");
	free(s);
}

sd_error sd_dmarc_record_parse(const char *text, size_t len,
    sd_dmarc_record *rec)
{
	memset(rec, 0, sizeof *rec);
	rec->pct = 100;
	rec->ri = 86400;
	snprintf(rec->fo, sizeof rec->fo, "0");
	rec->valid = 1;
	if (!text) {
		invalid(rec, "no record");
		return SD_OK;
	}
	if (len > SD_DMARC_RECORD_MAX) {
		invalid(rec, "the record is %zu bytes, more than the %d this tool "
		    "reads", len, SD_DMARC_RECORD_MAX);
		return SD_OK;
	}
	if (!sd_dmarc_is_record(text, len)) {
		invalid(rec, "the record does not start with v=DMARC1 (exactly, "
		    "followed by ';'), so receivers do not see it as DMARC");
		return SD_OK;
	}
	tag_state st = { 0 };
	read_tags(rec, &st, text, len);
	if (st.nomem) {
		sd_dmarc_record_clear(rec);
		return SD_ERR_NOMEM;
	}
	if (!st.have_p)
		invalid(rec, "the record has no p= tag, so receivers ignore its "
		    "policy");
	else if (st.p_bad)
		bad_policy(rec, "p", st.p_val);
	if (st.sp_bad)
		bad_policy(rec, "sp", st.sp_val);
	if (!rec->valid) {
		/* §6.6.3: a valid rua= makes receivers act as if p=none. */
		rec->acts_as_none = st.rua_valid > 0;
		rec->p = rec->sp = rec->np = SD_DMARC_POLICY_NONE;
		rec->has_sp = rec->has_np = 0;
		if (rec->acts_as_none)
			invalid(rec, "since rua= is valid they act as if p=none");
		return SD_OK;
	}
	if (!rec->has_sp)
		rec->sp = rec->p;
	if (!rec->has_np)
		rec->np = rec->sp;
	return SD_OK;
}

void sd_dmarc_record_clear(sd_dmarc_record *rec)
{
	if (!rec)
		return;
	for (size_t i = 0; i < rec->n_rua; i++)
		free(rec->rua[i]);
	for (size_t i = 0; i < rec->n_ruf; i++)
		free(rec->ruf[i]);
	memset(rec, 0, sizeof *rec);
}

const char *sd_dmarc_policy_name(sd_dmarc_policy p)
{
	switch (p) {
	case SD_DMARC_POLICY_NONE: return "none";
	case SD_DMARC_POLICY_QUARANTINE: return "quarantine";
	case SD_DMARC_POLICY_REJECT: return "reject";
	}
	return "none";
}

const char *sd_dmarc_result_name(sd_dmarc_result r)
{
	switch (r) {
	case SD_DMARC_RESULT_PASS: return "pass";
	case SD_DMARC_RESULT_FAIL: return "fail";
	case SD_DMARC_RESULT_NONE: return "none";
	case SD_DMARC_RESULT_TEMPERROR: return "temperror";
	case SD_DMARC_RESULT_PERMERROR: return "permerror";
	}
	return "none";
}

/* ---- discovery ---- */

const char *sd_dmarc_found_name(sd_dmarc_found f)
{
	switch (f) {
	case SD_DMARC_NOT_FOUND: return "not_found";
	case SD_DMARC_FOUND: return "found";
	case SD_DMARC_MULTIPLE: return "multiple";
	case SD_DMARC_LOOKUP_FAILED: return "lookup_failed";
	}
	return "not_found";
}

sd_error sd_dmarc_select(const char *const *txt, const size_t *len,
    size_t n, sd_dmarc_policy_info *out)
{
	size_t found = 0, first = 0;
	for (size_t i = 0; i < n; i++) {
		if (!txt[i] || !sd_dmarc_is_record(txt[i], len[i]))
			continue;
		if (found++ == 0)
			first = i;
	}
	free(out->record_text);
	out->record_text = NULL;
	sd_dmarc_record_clear(&out->record);
	out->looks_like_dmarc = 0;
	if (found == 0) {
		out->found = SD_DMARC_NOT_FOUND;
		for (size_t i = 0; i < n; i++) {
			if (!txt[i] || !looks_like_record(txt[i], len[i]))
				continue;
			out->looks_like_dmarc = 1;
			out->record_text = sd_sanitize(txt[i], len[i],
			    SD_DMARC_RECORD_MAX);
			if (!out->record_text)
				return SD_ERR_NOMEM;
			say(out->reason, sizeof out->reason, "a TXT record looks "
			    "like DMARC but does not start with exactly "
			    "\"v=DMARC1;\", so receivers ignore it: %.200s",
			    out->record_text);
			return SD_OK;
		}
		say(out->reason, sizeof out->reason, "no DMARC record");
		return SD_OK;
	}
	if (found > 1) {
		out->found = SD_DMARC_MULTIPLE;
		say(out->reason, sizeof out->reason, "%zu DMARC records: "
		    "receivers apply no policy when there is more than one "
		    "(RFC 7489 §6.6.3); keep exactly one", found);
		return SD_OK;
	}
	out->found = SD_DMARC_FOUND;
	out->record_text = sd_sanitize(txt[first], len[first],
	    SD_DMARC_RECORD_MAX);
	if (!out->record_text)
		return SD_ERR_NOMEM;
	sd_error err = sd_dmarc_record_parse(txt[first], len[first],
	    &out->record);
	if (err != SD_OK)
		return err;
	if (out->record.valid)
		say(out->reason, sizeof out->reason, "p=%s%s%s",
		    sd_dmarc_policy_name(out->record.p),
		    out->record.warnings[0] ? "; " : "", out->record.warnings);
	else
		say(out->reason, sizeof out->reason, "%s", out->record.reason);
	return SD_OK;
}

/* Lowercased copy of a domain without its trailing dot; NULL if invalid. */
static char *norm_domain(const char *d)
{
	if (!d)
		return NULL;
	size_t n = strlen(d);
	if (n && d[n - 1] == '.')
		n--;
	if (!sd_dkim_valid_domain(d, n, 1))
		return NULL;
	char *out = strndup(d, n);
	for (char *c = out; c && *c; c++)
		*c = sd_tolower(*c);
	return out;
}

/* Queries _dmarc.<domain> into lookup[i] and selects.  1 when a record was
 * found (or several), 0 when none, -1 when the lookup failed, -2 ENOMEM. */
static int query_one(sd_resolver *res, const char *domain, int64_t deadline,
    sd_dmarc_policy_info *out)
{
	sd_dmarc_lookup *lk = &out->lookup[out->n_lookup++];
	size_t n = strlen(domain) + sizeof "_dmarc.";
	lk->name = malloc(n);
	if (!lk->name)
		return -2;
	snprintf(lk->name, n, "_dmarc.%s", domain);
	sd_dns_answer ans;
	memset(&ans, 0, sizeof ans);
	lk->status = sd_dns_query(res, lk->name, SD_DNS_TXT, deadline, &ans);
	if (sd_dns_status_is_failure(lk->status)) {
		sd_dns_answer_clear(&ans);
		return -1;
	}
	const char *txt[SD_DMARC_MAX_TXT];
	size_t len[SD_DMARC_MAX_TXT];
	for (size_t i = 0; lk->status == SD_DNS_OK && i < ans.n_rr; i++) {
		if (ans.rr[i].type != SD_DNS_TXT || lk->n_txt >= SD_DMARC_MAX_TXT)
			continue;
		txt[lk->n_txt] = ans.rr[i].text;
		len[lk->n_txt++] = ans.rr[i].text_len;
		if (ans.rr[i].text && sd_dmarc_is_record(ans.rr[i].text,
		    ans.rr[i].text_len))
			lk->n_dmarc++;
	}
	int keep_hint = out->looks_like_dmarc;
	char *hint = keep_hint ? out->record_text : NULL;
	if (keep_hint)
		out->record_text = NULL;
	sd_error err = sd_dmarc_select(txt, len, lk->n_txt, out);
	sd_dns_answer_clear(&ans);
	if (err != SD_OK) {
		free(hint);
		return -2;
	}
	if (out->found == SD_DMARC_NOT_FOUND && keep_hint &&
	    !out->looks_like_dmarc) {
		out->looks_like_dmarc = 1;  /* the from domain's near miss */
		out->record_text = hint;
		hint = NULL;
	}
	free(hint);
	return out->found == SD_DMARC_NOT_FOUND ? 0 : 1;
}

sd_error sd_dmarc_discover(sd_resolver *res, const sd_psl *psl,
    const char *from_domain, int64_t deadline_ms, sd_dmarc_policy_info *out)
{
	memset(out, 0, sizeof *out);
	if (!res || !from_domain)
		return SD_ERR_USAGE;
	out->from_domain = norm_domain(from_domain);
	if (!out->from_domain) {
		say(out->reason, sizeof out->reason, "the From domain is not a "
		    "valid domain name");
		return SD_ERR_USAGE;
	}
	if (!psl)
		psl = sd_psl_default();
	out->org_domain = sd_psl_org_domain(psl, out->from_domain);
	if (!out->org_domain)
		out->org_domain = strdup(out->from_domain);
	if (!out->org_domain)
		return SD_ERR_NOMEM;

	const char *names[2] = { out->from_domain, out->org_domain };
	size_t tries = strcmp(names[0], names[1]) == 0 ? 1 : 2;
	for (size_t t = 0; t < tries; t++) {
		int r = query_one(res, names[t], deadline_ms, out);
		if (r == -2)
			return SD_ERR_NOMEM;
		if (r < 0) {
			out->found = SD_DMARC_LOOKUP_FAILED;
			say(out->reason, sizeof out->reason, "the lookup of %s "
			    "failed (%s): DMARC cannot be judged",
			    out->lookup[t].name,
			    sd_dns_status_name(out->lookup[t].status));
			return SD_OK;
		}
		if (r == 0)
			continue;
		out->record_domain = strdup(names[t]);
		if (!out->record_domain)
			return SD_ERR_NOMEM;
		out->at_org = t == 1;
		char detail[SD_DMARC_REASON_MAX];
		snprintf(detail, sizeof detail, "%s", out->reason);
		say(out->reason, sizeof out->reason, "%s: %s", out->lookup[t].name,
		    detail);
		return SD_OK;
	}
	if (out->looks_like_dmarc)
		return SD_OK;  /* select() said what is wrong with it */
	if (tries == 2)
		say(out->reason, sizeof out->reason, "no DMARC record at %s nor "
		    "at %s", out->lookup[0].name, out->lookup[1].name);
	else
		say(out->reason, sizeof out->reason, "no DMARC record at %s",
		    out->lookup[0].name);
	return SD_OK;
}

void sd_dmarc_policy_info_clear(sd_dmarc_policy_info *p)
{
	if (!p)
		return;
	free(p->from_domain);
	free(p->org_domain);
	free(p->record_domain);
	free(p->record_text);
	sd_dmarc_record_clear(&p->record);
	for (size_t i = 0; i < p->n_lookup; i++)
		free(p->lookup[i].name);
	memset(p, 0, sizeof *p);
}

/* ---- alignment ---- */

int sd_dmarc_aligned(const sd_psl *psl, const char *a, const char *b,
    int strict)
{
	char *x = norm_domain(a), *y = norm_domain(b);
	int r = 0;
	if (x && y) {
		if (strcmp(x, y) == 0) {
			r = 1;
		} else if (!strict) {
			if (!psl)
				psl = sd_psl_default();
			char *ox = sd_psl_org_domain(psl, x);
			char *oy = sd_psl_org_domain(psl, y);
			r = strcmp(ox ? ox : x, oy ? oy : y) == 0;
			free(ox);
			free(oy);
		}
	}
	free(x);
	free(y);
	return r;
}

static sd_dmarc_policy milder(sd_dmarc_policy p)
{
	return p == SD_DMARC_POLICY_REJECT ? SD_DMARC_POLICY_QUARANTINE :
	    SD_DMARC_POLICY_NONE;
}

static const char *mode(int strict)
{
	return strict ? "strict" : "relaxed";
}

sd_error sd_dmarc_evaluate(const sd_dmarc_policy_info *pol,
    const sd_psl *psl, const sd_dmarc_input *in, sd_dmarc_eval *out)
{
	memset(out, 0, sizeof *out);
	out->pct = 100;
	out->policy_tag = "p";
	if (!in || !in->from_domain)
		return SD_ERR_USAGE;
	if (!psl)
		psl = sd_psl_default();

	int usable = pol && pol->found == SD_DMARC_FOUND &&
	    (pol->record.valid || pol->record.acts_as_none);
	const sd_dmarc_record *rec = usable ? &pol->record : NULL;
	if (rec && rec->valid) {
		out->adkim_strict = rec->adkim_strict;
		out->aspf_strict = rec->aspf_strict;
		out->pct = rec->pct;
	}

	out->spf_aligned = in->spf_pass && in->spf_domain &&
	    sd_dmarc_aligned(psl, in->spf_domain, in->from_domain,
	    out->aspf_strict);
	for (size_t i = 0; i < in->n_dkim_domains && !out->dkim_aligned; i++) {
		if (!in->dkim_domains[i] || !sd_dmarc_aligned(psl,
		    in->dkim_domains[i], in->from_domain, out->adkim_strict))
			continue;
		out->dkim_aligned = 1;
		out->aligned_dkim_domain = strdup(in->dkim_domains[i]);
		if (!out->aligned_dkim_domain)
			return SD_ERR_NOMEM;
	}
	int pass = out->spf_aligned || out->dkim_aligned;

	/* What aligned, in words, for every outcome. */
	char how[400];
	if (out->dkim_aligned && out->spf_aligned)
		snprintf(how, sizeof how, "DKIM (d=%.80s) and SPF (%.80s) align "
		    "with From", out->aligned_dkim_domain, in->spf_domain);
	else if (out->dkim_aligned)
		snprintf(how, sizeof how, "DKIM aligns (d=%.80s, %s)",
		    out->aligned_dkim_domain, mode(out->adkim_strict));
	else if (out->spf_aligned)
		snprintf(how, sizeof how, "SPF aligns (%.80s, %s)",
		    in->spf_domain, mode(out->aspf_strict));
	else {
		char spf[120], dkim[120] = "no passing signature";
		if (!in->spf_pass)
			snprintf(spf, sizeof spf, "did not pass");
		else
			snprintf(spf, sizeof spf, "passed for %.80s",
			    in->spf_domain ? in->spf_domain : "another domain");
		size_t o = 0;
		for (size_t i = 0; i < in->n_dkim_domains && i < 3; i++)
			if (in->dkim_domains[i] && o < sizeof dkim)
				o += (size_t)snprintf(dkim + o, sizeof dkim - o,
				    "%sd=%.40s", o ? ", " : "passed for ",
				    in->dkim_domains[i]);
		snprintf(how, sizeof how, "neither SPF (%s) nor DKIM (%s) aligns "
		    "with From %.80s", spf, dkim, in->from_domain);
	}

	if (!pol || pol->found == SD_DMARC_NOT_FOUND) {
		out->result = SD_DMARC_RESULT_NONE;
		say(out->reason, sizeof out->reason, "no DMARC policy to apply; "
		    "%s", how);
		return SD_OK;
	}
	if (pol->found == SD_DMARC_LOOKUP_FAILED) {
		out->result = SD_DMARC_RESULT_TEMPERROR;
		say(out->reason, sizeof out->reason, "the DMARC policy could not "
		    "be fetched; %s", how);
		return SD_OK;
	}
	if (!usable) {
		out->result = SD_DMARC_RESULT_PERMERROR;
		say(out->reason, sizeof out->reason, "receivers apply no DMARC "
		    "policy (%s); %s", pol->found == SD_DMARC_MULTIPLE ?
		    "several records" : "the record is invalid", how);
		return SD_OK;
	}

	if (rec->acts_as_none) {
		out->policy = SD_DMARC_POLICY_NONE;
	} else if (pol->at_org && in->from_domain_exists == 0) {
		out->policy_tag = "np";
		out->policy = rec->np;
	} else if (pol->at_org) {
		out->policy_tag = "sp";
		out->policy = rec->sp;
	} else {
		out->policy = rec->p;
	}
	out->result = pass ? SD_DMARC_RESULT_PASS : SD_DMARC_RESULT_FAIL;
	out->disposition = pass ? SD_DMARC_POLICY_NONE : out->policy;
	out->disposition_unsampled = pass ? SD_DMARC_POLICY_NONE :
	    out->pct < 100 ? milder(out->policy) : out->policy;

	if (pass) {
		say(out->reason, sizeof out->reason, "DMARC passes: %s", how);
	} else if (out->policy == SD_DMARC_POLICY_NONE) {
		say(out->reason, sizeof out->reason, "DMARC fails: %s; the "
		    "policy is %s=none%s, so receivers only report it", how,
		    out->policy_tag, rec->acts_as_none ? " (the invalid record "
		    "counts as p=none)" : "");
	} else if (out->pct < 100) {
		say(out->reason, sizeof out->reason, "DMARC fails: %s; %s=%s "
		    "with pct=%d: receivers %s %d%% of such mail and %s the "
		    "rest", how, out->policy_tag,
		    sd_dmarc_policy_name(out->policy), out->pct,
		    out->policy == SD_DMARC_POLICY_REJECT ? "reject" :
		    "quarantine", out->pct,
		    out->disposition_unsampled == SD_DMARC_POLICY_QUARANTINE ?
		    "quarantine" : "deliver");
	} else {
		say(out->reason, sizeof out->reason, "DMARC fails: %s; %s=%s: "
		    "receivers %s this mail", how, out->policy_tag,
		    sd_dmarc_policy_name(out->policy),
		    out->policy == SD_DMARC_POLICY_REJECT ? "reject" :
		    "quarantine (spam folder)");
	}
	return SD_OK;
}

void sd_dmarc_eval_clear(sd_dmarc_eval *e)
{
	if (!e)
		return;
	free(e->aligned_dkim_domain);
	memset(e, 0, sizeof *e);
}

/* ---- the From domain ---- */

/* Copies a header value without comments and folding; quotes kept.
 * Returns NULL on ENOMEM. */
static char *strip_comments(const char *v, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	int depth = 0, quoted = 0;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '\\' && i + 1 < n && (quoted || depth)) {
			if (!depth) {
				*o++ = c;
				*o++ = v[i + 1];
			}
			i++;
			continue;
		}
		if (!depth && c == '"')
			quoted = !quoted;
		else if (!quoted && c == '(') {
			depth++;
			continue;
		} else if (!quoted && depth && c == ')') {
			depth--;
			*o++ = ' ';
			continue;
		}
		if (!depth)
			*o++ = c;
	}
	*o = '\0';
	return out;
}

sd_error sd_dmarc_from_domain(const char *msg, size_t len, char **domain,
    char *why, size_t why_size)
{
	*domain = NULL;
	char dummy[8];
	if (!why || !why_size) {
		why = dummy;
		why_size = sizeof dummy;
	}
	why[0] = '\0';
	sd_mail_msg m;
	sd_error err = sd_mail_msg_parse(msg, len, &m, why, why_size);
	if (err != SD_OK)
		return err == SD_ERR_NOMEM ? err : SD_OK;
	const sd_mail_field *from = NULL;
	size_t n_from = 0;
	for (size_t i = 0; i < m.n_field; i++) {
		if (m.field[i].name_len == 4 &&
		    sd_strncaseeq(m.field[i].name, "from", 4)) {
			from = &m.field[i];
			n_from++;
		}
	}
	if (n_from != 1) {
		if (n_from)
			say(why, why_size, "the message has %zu From fields: "
			    "receivers cannot tell which sender DMARC protects "
			    "and usually reject it", n_from);
		else
			say(why, why_size, "the message has no From field");
		sd_mail_msg_clear(&m);
		return SD_OK;
	}
	char *v = strip_comments(from->value, from->value_len);
	sd_mail_msg_clear(&m);
	if (!v)
		return SD_ERR_NOMEM;

	/* Count top-level addresses; find the one address and its domain. */
	int quoted = 0, angle = 0;
	size_t commas = 0;
	const char *lt = NULL, *gt = NULL;
	for (char *c = v; *c; c++) {
		if (*c == '\\' && c[1]) {
			c++;
			continue;
		}
		if (*c == '"')
			quoted = !quoted;
		else if (!quoted && *c == '<' && !lt) {
			lt = c;
			angle = 1;
		} else if (!quoted && *c == '>' && angle) {
			gt = c;
			angle = 0;
		} else if (!quoted && !angle && *c == ',')
			commas++;
	}
	span addr;
	if (lt && gt) {
		addr = (span){ lt + 1, (size_t)(gt - lt - 1) };
		/* obs-route "<@a,@b:user@host>": the address follows the ':' */
		const char *colon = memchr(addr.p, ':', addr.n);
		if (colon && memchr(addr.p, '@', addr.n) &&
		    addr.p[0] == '@') {
			addr.n -= (size_t)(colon + 1 - addr.p);
			addr.p = colon + 1;
		}
	} else {
		addr = (span){ v, strlen(v) };
	}
	addr = trim(addr.p, addr.n);
	const char *at = NULL;
	quoted = 0;
	for (size_t i = 0; i < addr.n; i++) {
		if (addr.p[i] == '\\') {
			i++;
			continue;
		}
		if (addr.p[i] == '"')
			quoted = !quoted;
		else if (!quoted && addr.p[i] == '@')
			at = addr.p + i;
	}
	if (commas > 0) {
		say(why, why_size, "From holds %zu addresses: DMARC needs exactly "
		    "one", commas + 1);
	} else if (!at) {
		say(why, why_size, "the From address has no domain");
	} else {
		span d = trim(at + 1, addr.n - (size_t)(at + 1 - addr.p));
		char *dom = strndup(d.p, d.n);
		if (!dom) {
			free(v);
			return SD_ERR_NOMEM;
		}
		*domain = norm_domain(dom);
		if (!*domain) {
			char *s = sd_sanitize(d.p, d.n, SD_DMARC_SHOW_MAX);
			say(why, why_size, "the From domain \"%s\" is not a valid "
			    "domain name", s ? s : "?");
			free(s);
		}
		free(dom);
	}
	free(v);
	return SD_OK;
}

/* ---- proposals ---- */

char *sd_dmarc_propose_record(const char *domain)
{
	char *d = norm_domain(domain);
	if (!d)
		return NULL;
	size_t n = strlen(d) + 64;
	char *out = malloc(n);
	if (out)
		snprintf(out, n, "v=DMARC1; p=none; rua=mailto:dmarc-reports@%s", d);
	free(d);
	return out;
}

char *sd_dmarc_propose_fix(const char *domain)
{
	char *rec = sd_dmarc_propose_record(domain);
	if (!rec)
		return NULL;
	const char *d = strchr(rec, '@') + 1;
	size_t n = strlen(rec) * 2 + 400;
	char *out = malloc(n);
	if (out)
		snprintf(out, n, "publish a TXT record at _dmarc.%s with the value "
		    "\"%s\", make sure dmarc-reports@%s receives mail, and once "
		    "the reports show all your mail passing, move to "
		    "p=quarantine and then p=reject", d, rec, d);
	free(rec);
	return out;
}
