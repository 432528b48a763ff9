/*
 * Parsers for MTA-STS, TLS-RPT, SOA and TLSA data, and the names the
 * domain checks query.  Cursor style: each parser walks [p, end) and
 * never reads past it; the first problem is kept as a sentence.
 */
#include "probe/domain_records.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static void set_error(char *error, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keeps the first error only: later ones are consequences. */
static void set_error(char *error, const char *fmt, ...)
{
	if (error[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(error, SD_RECORD_ERROR_MAX, fmt, ap);
	va_end(ap);
}

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_alnum(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

static int is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 8461/8460 ext-value: %x21-3A / %x3C / %x3E-7E */
static int is_ext_value_char(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != ';' && c != '=';
}

static const char *skip_wsp(const char *p, const char *end)
{
	while (p < end && is_wsp((unsigned char)*p))
		p++;
	return p;
}

/* ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".") */
static const char *scan_ext_name(const char *p, const char *end)
{
	const char *start = p;
	if (p >= end || !is_alnum((unsigned char)*p))
		return start;
	p++;
	while (p < end && p - start < 32 && (is_alnum((unsigned char)*p) ||
	    *p == '_' || *p == '-' || *p == '.'))
		p++;
	return p;
}

/* A printable copy of a short piece of input, for error messages. */
static void quote(char *dst, size_t dstlen, const char *p, size_t n)
{
	char *s = sd_sanitize(p, n, 40);
	snprintf(dst, dstlen, "%s%s", s ? s : "?", n > 40 ? "..." : "");
	free(s);
}

/* Non-zero when the string starts with `tag` and then ends, or WSP/';'. */
static int starts_with_tag(const char *txt, size_t len, const char *tag)
{
	size_t tl = strlen(tag);
	if (len < tl || memcmp(txt, tag, tl) != 0)
		return 0;
	return len == tl || txt[tl] == ';' || is_wsp((unsigned char)txt[tl]);
}

/* ---- MTA-STS record ---- */

int sd_mtasts_record_is_sts(const char *txt, size_t len)
{
	return starts_with_tag(txt, len, "v=STSv1");
}

/*
 * The shape MTA-STS (RFC 8461 §3.1) and TLS-RPT (RFC 8460 §3) records
 * share: a version tag, then "; name=value" fields.  record_begin() checks
 * the start and returns the cursor after the version, or NULL (error set).
 * next_field() moves to the next field: 1 with its name and the cursor
 * after '=', 0 at the end, -1 on a syntax error (error set).
 */
static const char *record_begin(const char *txt, size_t len,
    const char *version, int (*is_version)(const char *, size_t),
    char *error)
{
	if (memchr(txt, '\0', len)) {
		set_error(error, "the record holds a NUL byte");
		return NULL;
	}
	if (!is_version(txt, len)) {
		set_error(error, "the record does not start with %s", version);
		return NULL;
	}
	return txt + strlen(version);
}

static int next_field(const char **pp, const char *end, const char **name,
    size_t *nlen, char *error)
{
	char q[64];
	const char *p = skip_wsp(*pp, end);
	if (p == end)
		return 0;
	if (*p != ';') {
		quote(q, sizeof q, p, (size_t)(end - p));
		set_error(error, "expected ';' before '%s'", q);
		return -1;
	}
	p = skip_wsp(p + 1, end);
	if (p == end)
		return 0;   /* a trailing delimiter is allowed */
	*name = p;
	p = scan_ext_name(p, end);
	*nlen = (size_t)(p - *name);
	if (*nlen == 0 || p == end || *p != '=') {
		quote(q, sizeof q, *name, (size_t)(end - *name));
		set_error(error, "field '%s' is not name=value", q);
		return -1;
	}
	*pp = p + 1;
	return 1;
}

int sd_mtasts_record_parse(const char *txt, size_t len, sd_mtasts_record *out)
{
	memset(out, 0, sizeof *out);
	const char *end = txt + len, *name = NULL;
	size_t nlen = 0;
	int fields = 0, more;
	const char *p = record_begin(txt, len, "v=STSv1",
	    sd_mtasts_record_is_sts, out->error);
	if (!p)
		return -1;
	while ((more = next_field(&p, end, &name, &nlen, out->error)) > 0) {
		const char *val = p;
		while (p < end && *p != ';' && !is_wsp((unsigned char)*p))
			p++;
		size_t vlen = (size_t)(p - val);
		for (size_t i = 0; i < vlen; i++)
			if (!is_ext_value_char((unsigned char)val[i])) {
				set_error(out->error, "field '%.*s' has a "
				    "character not allowed in a value",
				    (int)nlen, name);
				return -1;
			}
		if (vlen == 0) {
			set_error(out->error, "field '%.*s' has no value",
			    (int)nlen, name);
			return -1;
		}
		fields++;
		if (nlen == 2 && memcmp(name, "id", 2) == 0) {
			if (out->id[0]) {
				set_error(out->error, "id= is given twice");
				return -1;
			}
			if (vlen > 32) {
				set_error(out->error, "id= is longer than 32 "
				    "characters");
				return -1;
			}
			for (size_t i = 0; i < vlen; i++)
				if (!is_alnum((unsigned char)val[i])) {
					set_error(out->error, "id= may hold "
					    "only letters and digits");
					return -1;
				}
			memcpy(out->id, val, vlen);
			out->id[vlen] = '\0';
		}
	}
	if (more < 0)
		return -1;
	if (!out->id[0]) {
		set_error(out->error, "the record has no id= field");
		return -1;
	}
	return 0;
}

/* ---- MTA-STS policy ---- */

const char *sd_mtasts_mode_name(sd_mtasts_mode m)
{
	switch (m) {
	case SD_MTASTS_MODE_ENFORCE: return "enforce";
	case SD_MTASTS_MODE_TESTING: return "testing";
	case SD_MTASTS_MODE_NONE: return "none";
	case SD_MTASTS_MODE_UNSET: break;
	}
	return "unset";
}

/* An mx pattern: a host name, optionally "*." then a host name. */
static int mx_pattern_valid(const char *v, size_t n)
{
	char buf[SD_MTASTS_PATTERN_MAX];
	if (n >= sizeof buf || n == 0)
		return 0;
	if (n > 2 && v[0] == '*' && v[1] == '.') {
		v += 2;
		n -= 2;
	}
	memcpy(buf, v, n);
	buf[n] = '\0';
	/* the rest needs at least one dot: "*.com" covers a whole TLD */
	return sd_hostname_valid(buf) && strchr(buf, '.') != NULL &&
	    buf[0] != '.';
}

static int key_is(const char *k, size_t klen, const char *name)
{
	return klen == strlen(name) && memcmp(k, name, klen) == 0;
}

int sd_mtasts_policy_parse(const char *body, size_t len, sd_mtasts_policy *out)
{
	memset(out, 0, sizeof *out);
	out->max_age = -1;
	const char *p = body, *end = body + len;
	int line = 0;
	char q[64];

	if (len > SD_MTASTS_POLICY_MAX) {
		set_error(out->error, "the policy is larger than %d bytes",
		    SD_MTASTS_POLICY_MAX);
		len = SD_MTASTS_POLICY_MAX;
		end = body + len;
	}
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *next = eol ? eol + 1 : end;
		if (!eol)
			eol = end;
		line++;
		const char *le = eol;
		if (le > p && le[-1] == '\r')
			le--;
		while (le > p && is_wsp((unsigned char)le[-1]))
			le--;
		const char *lp = p;
		p = next;
		if (le == lp)
			continue;   /* blank lines: tolerated */
		if (memchr(lp, '\0', (size_t)(le - lp))) {
			set_error(out->error, "line %d holds a NUL byte", line);
			continue;
		}
		const char *k = lp;
		const char *ke = scan_ext_name(lp, le);
		if (ke == k || ke == le || *ke != ':') {
			quote(q, sizeof q, lp, (size_t)(le - lp));
			set_error(out->error, "line %d is not 'key: value': '%s'",
			    line, q);
			continue;
		}
		size_t klen = (size_t)(ke - k);
		const char *v = skip_wsp(ke + 1, le);
		size_t vlen = (size_t)(le - v);
		if (key_is(k, klen, "version")) {
			if (out->has_version)
				set_error(out->error, "version is given twice");
			if (vlen == 5 && memcmp(v, "STSv1", 5) == 0)
				out->has_version = 1;
			else {
				quote(q, sizeof q, v, vlen);
				set_error(out->error, "version is '%s', not "
				    "STSv1", q);
			}
		} else if (key_is(k, klen, "mode")) {
			sd_mtasts_mode m = SD_MTASTS_MODE_UNSET;
			if (vlen == 7 && memcmp(v, "enforce", 7) == 0)
				m = SD_MTASTS_MODE_ENFORCE;
			else if (vlen == 7 && memcmp(v, "testing", 7) == 0)
				m = SD_MTASTS_MODE_TESTING;
			else if (vlen == 4 && memcmp(v, "none", 4) == 0)
				m = SD_MTASTS_MODE_NONE;
			if (out->mode != SD_MTASTS_MODE_UNSET)
				set_error(out->error, "mode is given twice");
			if (m == SD_MTASTS_MODE_UNSET) {
				quote(q, sizeof q, v, vlen);
				set_error(out->error, "mode is '%s', not "
				    "enforce, testing or none", q);
			} else if (out->mode == SD_MTASTS_MODE_UNSET) {
				out->mode = m;
			}
		} else if (key_is(k, klen, "max_age")) {
			long a = 0;
			int ok = vlen >= 1 && vlen <= 10;
			for (size_t i = 0; ok && i < vlen; i++) {
				if (!is_digit((unsigned char)v[i]))
					ok = 0;
				else if (a <= SD_MTASTS_MAX_AGE_MAX)
					a = a * 10 + (v[i] - '0');
			}
			if (out->max_age >= 0)
				set_error(out->error, "max_age is given twice");
			if (!ok) {
				quote(q, sizeof q, v, vlen);
				set_error(out->error, "max_age '%s' is not a "
				    "number of seconds", q);
			} else if (a > SD_MTASTS_MAX_AGE_MAX) {
				set_error(out->error, "max_age is over one "
				    "year (%ld)", SD_MTASTS_MAX_AGE_MAX);
			} else if (out->max_age < 0) {
				out->max_age = a;
			}
		} else if (key_is(k, klen, "mx")) {
			out->n_mx_total++;
			if (!mx_pattern_valid(v, vlen)) {
				quote(q, sizeof q, v, vlen);
				set_error(out->error, "mx '%s' is not a host "
				    "name or *.domain pattern", q);
			} else if (out->n_mx < SD_MTASTS_MX_MAX) {
				char *dst = out->mx[out->n_mx++];
				for (size_t i = 0; i < vlen; i++)
					dst[i] = sd_tolower(v[i]);
				dst[vlen] = '\0';
			}
		}
		/* other keys: extensions, ignored (RFC 8461 §3.2) */
	}
	if (!out->has_version)
		set_error(out->error, "the policy has no 'version: STSv1' line");
	if (out->mode == SD_MTASTS_MODE_UNSET)
		set_error(out->error, "the policy has no mode line");
	if (out->max_age < 0)
		set_error(out->error, "the policy has no max_age line");
	if (out->mode != SD_MTASTS_MODE_NONE && out->n_mx_total == 0)
		set_error(out->error, "the policy lists no mx");
	return out->error[0] ? -1 : 0;
}

/* Length without one trailing dot. */
static size_t name_len(const char *s)
{
	size_t n = strlen(s);
	return n && s[n - 1] == '.' ? n - 1 : n;
}

static int name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && sd_strncaseeq(a, b, alen);
}

int sd_mtasts_mx_match(const char *pattern, const char *host)
{
	size_t pl = name_len(pattern), hl = name_len(host);
	if (pl == 0 || hl == 0)
		return 0;
	if (pl > 2 && pattern[0] == '*' && pattern[1] == '.') {
		/* exactly one label in place of the '*' */
		const char *dot = memchr(host, '.', hl);
		if (!dot || dot == host)
			return 0;
		size_t rest = hl - (size_t)(dot + 1 - host);
		return name_eq(dot + 1, rest, pattern + 2, pl - 2);
	}
	return name_eq(pattern, pl, host, hl);
}

/* ---- TLS-RPT ---- */

int sd_tlsrpt_is_record(const char *txt, size_t len)
{
	return starts_with_tag(txt, len, "v=TLSRPTv1");
}

/* One rua URI: "mailto:addr@host" or "https://host/...". */
static int check_rua_uri(const char *u, size_t n, char *error)
{
	char q[64];
	quote(q, sizeof q, u, n);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f) {
			set_error(error, "report URI '%s' holds a space, "
			    "control or non-ASCII character", q);
			return -1;
		}
	if (n > 7 && sd_strncaseeq(u, "mailto:", 7)) {
		const char *at = memchr(u + 7, '@', n - 7);
		if (!at || at == u + 7 || at == u + n - 1) {
			set_error(error, "report URI '%s' is not a mailto: "
			    "address", q);
			return -1;
		}
		return 0;
	}
	if (n > 8 && sd_strncaseeq(u, "https://", 8)) {
		if (u[8] == '/') {
			set_error(error, "report URI '%s' has no host", q);
			return -1;
		}
		return 0;
	}
	set_error(error, "report URI '%s' is neither mailto: nor https:", q);
	return -1;
}

int sd_tlsrpt_parse(const char *txt, size_t len, sd_tlsrpt_record *out)
{
	memset(out, 0, sizeof *out);
	const char *end = txt + len, *name = NULL;
	size_t nlen = 0;
	int have_rua = 0, more;
	const char *p = record_begin(txt, len, "v=TLSRPTv1",
	    sd_tlsrpt_is_record, out->error);
	if (!p)
		return -1;
	while ((more = next_field(&p, end, &name, &nlen, out->error)) > 0) {
		if (nlen == 3 && memcmp(name, "rua", 3) == 0) {
			if (have_rua) {
				set_error(out->error, "rua= is given twice");
				return -1;
			}
			have_rua = 1;
			/* tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri) */
			for (;;) {
				const char *u = p;
				while (p < end && *p != ',' && *p != ';' &&
				    !is_wsp((unsigned char)*p))
					p++;
				if (p == u) {
					set_error(out->error, "rua= has an "
					    "empty report URI");
					return -1;
				}
				if (check_rua_uri(u, (size_t)(p - u),
				    out->error) != 0)
					return -1;
				out->n_rua_total++;
				if (out->n_rua < SD_TLSRPT_RUA_MAX &&
				    (size_t)(p - u) < SD_TLSRPT_URI_MAX) {
					memcpy(out->rua[out->n_rua], u,
					    (size_t)(p - u));
					out->rua[out->n_rua][p - u] = '\0';
					out->n_rua++;
				}
				const char *after = skip_wsp(p, end);
				if (after < end && *after == ',') {
					p = skip_wsp(after + 1, end);
					continue;
				}
				break;
			}
			continue;
		}
		const char *val = p;
		while (p < end && *p != ';' && !is_wsp((unsigned char)*p))
			p++;
		if (p == val) {
			set_error(out->error, "field '%.*s' has no value",
			    (int)nlen, name);
			return -1;
		}
		for (const char *c = val; c < p; c++)
			if (!is_ext_value_char((unsigned char)*c)) {
				set_error(out->error, "field '%.*s' has a "
				    "character not allowed in a value",
				    (int)nlen, name);
				return -1;
			}
	}
	if (more < 0)
		return -1;
	if (!have_rua) {
		set_error(out->error, "the record has no rua= field (where "
		    "reports are sent)");
		return -1;
	}
	return 0;
}

/* ---- rdata ---- */

/* Skips a wire-format name at rd[*off]; 0 on success. */
static int skip_name(const unsigned char *rd, size_t len, size_t *off)
{
	size_t i = *off;
	for (int labels = 0; labels < 128; labels++) {
		if (i >= len)
			return -1;
		unsigned l = rd[i];
		if (l == 0) {
			*off = i + 1;
			return 0;
		}
		if ((l & 0xc0) == 0xc0) {   /* compression pointer ends it */
			if (i + 2 > len)
				return -1;
			*off = i + 2;
			return 0;
		}
		if (l > 63)
			return -1;
		i += 1 + l;
	}
	return -1;
}

int sd_rdata_soa_serial(const unsigned char *rd, size_t len, uint32_t *serial)
{
	size_t off = 0;
	if (!rd || skip_name(rd, len, &off) != 0 ||
	    skip_name(rd, len, &off) != 0 || len - off < 20)
		return -1;
	*serial = (uint32_t)rd[off] << 24 | (uint32_t)rd[off + 1] << 16 |
	    (uint32_t)rd[off + 2] << 8 | (uint32_t)rd[off + 3];
	return 0;
}

int sd_rdata_tlsa(const unsigned char *rd, size_t len, sd_tlsa *out)
{
	if (!rd || len < 3)
		return -1;
	out->usage = rd[0];
	out->selector = rd[1];
	out->mtype = rd[2];
	out->data = rd + 3;
	out->len = len - 3;
	return 0;
}

int sd_tlsa_usable(const sd_tlsa *t, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	*why = NULL;
	if (t->usage == 0 || t->usage == 1) {
		*why = "usages PKIX-TA(0) and PKIX-EE(1) are not used for SMTP "
		    "(RFC 7672 section 3.1.3)";
		return 0;
	}
	if (t->usage > 3) {
		*why = "unknown certificate usage";
		return 0;
	}
	if (t->selector > 1) {
		*why = "unknown selector";
		return 0;
	}
	switch (t->mtype) {
	case 0:
		if (t->len == 0) {
			*why = "no certificate data";
			return 0;
		}
		return 1;
	case 1:
		if (t->len != 32) {
			*why = "a SHA-256 digest must be 32 bytes";
			return 0;
		}
		return 1;
	case 2:
		if (t->len != 64) {
			*why = "a SHA-512 digest must be 64 bytes";
			return 0;
		}
		return 1;
	default:
		*why = "unknown matching type";
		return 0;
	}
}

char *sd_tlsa_text(const sd_tlsa *t, size_t maxhex)
{
	size_t nhex = t->len * 2;
	int cut = nhex > maxhex;
	if (cut)
		nhex = maxhex & ~(size_t)1;
	char *s = malloc(16 + nhex + 4);
	if (!s)
		return NULL;
	int o = snprintf(s, 16, "%u %u %u ", t->usage, t->selector, t->mtype);
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < nhex / 2; i++) {
		s[o++] = hex[t->data[i] >> 4];
		s[o++] = hex[t->data[i] & 15];
	}
	if (cut) {
		memcpy(s + o, "...", 3);
		o += 3;
	}
	s[o] = '\0';
	return s;
}

/* ---- names ---- */

int sd_hostname_valid(const char *name)
{
	size_t n = strlen(name);
	if (n && name[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return 0;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-' && c != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

/* Reversed labels of an address: "4.3.2.1" or 32 nibbles. */
static int reversed(const char *ip, char *out, size_t outlen)
{
	unsigned char a[16];
	if (inet_pton(AF_INET, ip, a) == 1) {
		int n = snprintf(out, outlen, "%u.%u.%u.%u", a[3], a[2], a[1],
		    a[0]);
		return n > 0 && (size_t)n < outlen ? 0 : -1;
	}
	if (inet_pton(AF_INET6, ip, a) == 1) {
		static const char hex[] = "0123456789abcdef";
		if (outlen < 64)
			return -1;
		size_t o = 0;
		for (int i = 15; i >= 0; i--) {
			out[o++] = hex[a[i] & 15];
			out[o++] = '.';
			out[o++] = hex[a[i] >> 4];
			out[o++] = i ? '.' : '\0';
		}
		return 0;
	}
	return -1;
}

int sd_reverse_name(const char *ip, char *out, size_t outlen)
{
	unsigned char a[16];
	const char *suffix = inet_pton(AF_INET, ip, a) == 1 ?
	    "in-addr.arpa" : "ip6.arpa";
	return sd_dnsbl_query_name(ip, suffix, out, outlen);
}

int sd_dnsbl_query_name(const char *ip, const char *zone, char *out,
    size_t outlen)
{
	char rev[80];
	if (reversed(ip, rev, sizeof rev) != 0)
		return -1;
	size_t zl = name_len(zone);
	int n = snprintf(out, outlen, "%s.%.*s", rev, (int)zl, zone);
	if (n < 0 || (size_t)n >= outlen || n > 253)
		return -1;
	return 0;
}
