/*
 * SPF record syntax (RFC 7208 §4.5, §4.6, §5, §6 and the ABNF of §12).
 * A record is parsed whole before evaluation: a syntax error anywhere
 * makes check_host() return permerror (§4.6).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/spf.h"
#include "mailauth/spf_int.h"

/* Bytes of a term quoted in an error message. */
#define TERM_QUOTE_MAX 80

const char *sd_spf_code_name(sd_spf_code c)
{
	switch (c) {
	case SD_SPF_NONE: return "none";
	case SD_SPF_NEUTRAL: return "neutral";
	case SD_SPF_PASS: return "pass";
	case SD_SPF_FAIL: return "fail";
	case SD_SPF_SOFTFAIL: return "softfail";
	case SD_SPF_TEMPERROR: return "temperror";
	case SD_SPF_PERMERROR: return "permerror";
	}
	return "?";
}

int sd_spf_parse_ip(const char *s, sd_spf_ip *out)
{
	memset(out, 0, sizeof *out);
	if (!s)
		return -1;
	if (inet_pton(AF_INET, s, out->b) == 1)
		return 0;
	unsigned char b6[16];
	if (inet_pton(AF_INET6, s, b6) != 1)
		return -1;
	static const unsigned char mapped[12] =
	    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (memcmp(b6, mapped, 12) == 0) {
		memcpy(out->b, b6 + 12, 4);   /* RFC 7208 §5: treat as IPv4 */
		return 0;
	}
	out->v6 = 1;
	memcpy(out->b, b6, 16);
	return 0;
}

int sd_spf_is_record(const char *txt, size_t len)
{
	return txt && len >= 6 && sd_spfi_caseeq_n(txt, "v=spf1", 6) &&
	    (len == 6 || txt[6] == ' ');
}

unsigned sd_spf_term_wide(const sd_spf_term *t)
{
	unsigned w = 0;
	int named = t->kind == SD_SPF_A || t->kind == SD_SPF_MX;
	if (t->kind == SD_SPF_ALL)
		return SD_SPF_WIDE_V4 | SD_SPF_WIDE_V6;
	if (t->cidr4 == 0 && (named || t->kind == SD_SPF_IP4))
		w |= SD_SPF_WIDE_V4;
	if (t->cidr6 == 0 && (named || t->kind == SD_SPF_IP6))
		w |= SD_SPF_WIDE_V6;
	return w && named ? w | SD_SPF_WIDE_IF_NAME : w;
}

void sd_spf_record_free(sd_spf_record *rec)
{
	if (!rec)
		return;
	for (size_t i = 0; i < rec->n_terms; i++) {
		free(rec->terms[i].text);
		free(rec->terms[i].domain_spec);
	}
	free(rec->terms);
	free(rec);
}

/*
 * A domain-spec (RFC 7208 §7.1): macro-string domain-end, where domain-end
 * is "." toplabel ["."] or a macro-expand.
 */
static int check_domain_spec(const char *s, size_t n, char *err, size_t errlen)
{
	if (n == 0) {
		sd_spfi_errf(err, errlen, "the domain is empty");
		return -1;
	}
	char merr[160];
	long lit = sd_spfi_macro_scan(s, n, 0, merr, sizeof merr);
	if (lit < 0) {
		sd_spfi_errf(err, errlen, "%s", merr);
		return -1;
	}
	if ((size_t)lit == n)
		return 0;   /* ends with a macro-expand */
	const char *tail = s + lit;
	size_t tn = n - (size_t)lit;
	if (tn > 0 && tail[tn - 1] == '.')
		tn--;   /* one trailing dot is allowed */
	const char *dot = NULL;
	for (size_t i = tn; i > 0; i--) {
		if (tail[i - 1] == '.') {
			dot = tail + i - 1;
			break;
		}
	}
	if (!dot) {
		sd_spfi_errf(err, errlen, "\"%.*s\" is not a domain name with "
		    "at least two labels", (int)(n > 100 ? 100 : n), s);
		return -1;
	}
	const char *top = dot + 1;
	size_t topn = (size_t)(tail + tn - top);
	if (!sd_spfi_valid_toplabel(top, topn)) {
		int numeric = topn > 0;
		for (size_t i = 0; i < topn; i++)
			if (top[i] < '0' || top[i] > '9')
				numeric = 0;
		if (numeric)
			sd_spfi_errf(err, errlen, "the last label \"%.*s\" is "
			    "all digits: an IP address needs ip4: or ip6:, "
			    "not a domain mechanism", (int)topn, top);
		else
			sd_spfi_errf(err, errlen, "the last label \"%.*s\" is "
			    "not a valid top-level label (letters, digits, "
			    "inner hyphens)", (int)(topn > 63 ? 63 : topn),
			    top);
		return -1;
	}
	return 0;
}

/*
 * Parses "/N" prefix lengths: N is "0" or has no leading zero, at most
 * `max`.  Returns the length or -1.
 */
static int parse_cidr(const char *s, size_t n, int max)
{
	if (n == 0 || n > 3)
		return -1;
	if (n > 1 && s[0] == '0')
		return -1;   /* RFC 7208 ABNF forbids leading zeros */
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v > max ? -1 : v;
}

/*
 * Strips a trailing dual-cidr-length ("/N", "//M" or "/N//M") from s[0..*n).
 * Returns 0, or -1 with err set when one is present but invalid.
 */
static int strip_dual_cidr(const char *s, size_t *n, int *c4, int *c6,
    char *err, size_t errlen)
{
	size_t end = *n;
	/* digits at the end, preceded by "//" -> ip6-cidr-length */
	size_t d = end;
	while (d > 0 && s[d - 1] >= '0' && s[d - 1] <= '9')
		d--;
	if (d < end && d >= 2 && s[d - 1] == '/' && s[d - 2] == '/') {
		int v = parse_cidr(s + d, end - d, 128);
		if (v < 0) {
			sd_spfi_errf(err, errlen, "invalid IPv6 prefix length "
			    "\"/%.*s\" (0 to 128, no leading zeros)",
			    (int)(end - d), s + d);
			return -1;
		}
		*c6 = v;
		end = d - 2;
		d = end;
		while (d > 0 && s[d - 1] >= '0' && s[d - 1] <= '9')
			d--;
	}
	if (d < end && d >= 1 && s[d - 1] == '/') {
		int v = parse_cidr(s + d, end - d, 32);
		if (v < 0) {
			sd_spfi_errf(err, errlen, "invalid IPv4 prefix length "
			    "\"/%.*s\" (0 to 32, no leading zeros)",
			    (int)(end - d), s + d);
			return -1;
		}
		*c4 = v;
		end = d - 1;
	}
	*n = end;
	return 0;
}

/* ip4:ADDR[/N] or ip6:ADDR[/N]; `s` points after the name. */
static int parse_ip_mech(sd_spf_term *t, const char *s, size_t n, int v6,
    char *err, size_t errlen)
{
	const char *name = v6 ? "ip6" : "ip4";
	if (n == 0 || s[0] != ':') {
		sd_spfi_errf(err, errlen, "%s needs \":\" and an address",
		    name);
		return -1;
	}
	s++;
	n--;
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	char addr[64];
	if (alen == 0 || alen >= sizeof addr) {
		sd_spfi_errf(err, errlen, "%s: missing or overlong address",
		    name);
		return -1;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	unsigned char b[16];
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, b) != 1) {
		if (!v6 && inet_pton(AF_INET6, addr, b) == 1)
			sd_spfi_errf(err, errlen, "ip4: \"%s\" is an IPv6 "
			    "address (use ip6:)", addr);
		else if (v6 && inet_pton(AF_INET, addr, b) == 1)
			sd_spfi_errf(err, errlen, "ip6: \"%s\" is an IPv4 "
			    "address (use ip4:)", addr);
		else
			sd_spfi_errf(err, errlen, "%s: \"%s\" is not a valid "
			    "%s address", name, addr, v6 ? "IPv6" : "IPv4");
		return -1;
	}
	t->net.v6 = v6;
	memcpy(t->net.b, b, v6 ? 16 : 4);
	if (slash) {
		int max = v6 ? 128 : 32;
		size_t cn = n - alen - 1;
		int v = parse_cidr(slash + 1, cn, max);
		if (v < 0) {
			sd_spfi_errf(err, errlen, "%s: invalid prefix length "
			    "\"/%.*s\" (0 to %d, no leading zeros, no dual "
			    "prefix)", name, (int)(cn > 20 ? 20 : cn),
			    slash + 1, max);
			return -1;
		}
		if (v6)
			t->cidr6 = v;
		else
			t->cidr4 = v;
	}
	return 0;
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int valid_modifier_name(const char *s, size_t n)
{
	/* name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
	if (n == 0 || !is_alpha(s[0]))
		return 0;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '-' &&
		    c != '_' && c != '.')
			return 0;
	}
	return 1;
}

static const struct {
	const char *name;
	sd_spf_term_kind kind;
} mechs[] = {
	{ "all", SD_SPF_ALL }, { "include", SD_SPF_INCLUDE },
	{ "a", SD_SPF_A }, { "mx", SD_SPF_MX }, { "ptr", SD_SPF_PTR },
	{ "ip4", SD_SPF_IP4 }, { "ip6", SD_SPF_IP6 },
	{ "exists", SD_SPF_EXISTS },
};

/* A term is printable 7-bit ASCII: anything else is named. */
static int check_term_bytes(const char *s, size_t n, char *err,
    size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x21 && c <= 0x7e)
			continue;
		if (c == 0)
			sd_spfi_errf(err, errlen, "it holds a NUL byte");
		else if (c >= 0x80)
			sd_spfi_errf(err, errlen, "it holds the non-ASCII byte "
			    "0x%02x (SPF records are 7-bit ASCII; terms are "
			    "separated by spaces only)", c);
		else
			sd_spfi_errf(err, errlen, "it holds the control "
			    "character 0x%02x (terms are separated by spaces "
			    "only)", c);
		return -1;
	}
	return 0;
}

/* The term's domain-spec, checked, kept in t (-2: out of memory). */
static int take_domain_spec(sd_spf_term *t, const char *v, size_t n,
    char *err, size_t errlen)
{
	char derr[200];
	if (check_domain_spec(v, n, derr, sizeof derr) != 0) {
		sd_spfi_errf(err, errlen, "%s", derr);
		return -1;
	}
	t->domain_spec = strndup(v, n);
	return t->domain_spec ? 0 : -2;
}

/* A modifier name=val: redirect= and exp= once each (RFC 7208 §6),
 * an unknown one kept when its value's macros are sound. */
static int parse_modifier(sd_spf_record *rec, sd_spf_term *t,
    const char *name, size_t name_len, const char *val, size_t vn,
    char *err, size_t errlen)
{
	if (!valid_modifier_name(name, name_len)) {
		sd_spfi_errf(err, errlen, "\"%.*s\" is not a valid modifier "
		    "name (a letter, then letters, digits, \"-\", \"_\" or "
		    "\".\")", (int)name_len, name);
		return -1;
	}
	if (name_len == 8 && sd_spfi_caseeq_n(name, "redirect", 8)) {
		t->kind = SD_SPF_REDIRECT;
		if (rec->redirect >= 0) {
			sd_spfi_errf(err, errlen, "a second redirect= (RFC 7208 "
			    "section 6)");
			return -1;
		}
	} else if (name_len == 3 && sd_spfi_caseeq_n(name, "exp", 3)) {
		t->kind = SD_SPF_EXP;
		if (rec->exp >= 0) {
			sd_spfi_errf(err, errlen, "a second exp= (RFC 7208 "
			    "section 6)");
			return -1;
		}
	} else {
		t->kind = SD_SPF_UNKNOWN_MODIFIER;
		char merr[160];
		if (sd_spf_macro_check(val, vn, 1, merr, sizeof merr)) {
			sd_spfi_errf(err, errlen, "bad macro in the value: %s",
			    merr);
			return -1;
		}
		return 0;
	}
	return take_domain_spec(t, val, vn, err, errlen);
}

/* The mechanism called `name`, or an error naming what it is instead. */
static int find_mechanism(const char *name, size_t name_len, char *err,
    size_t errlen)
{
	for (size_t k = 0; k < sizeof mechs / sizeof mechs[0]; k++)
		if (strlen(mechs[k].name) == name_len &&
		    sd_spfi_caseeq_n(name, mechs[k].name, name_len))
			return (int)k;
	if (name_len == 8 && sd_spfi_caseeq_n(name, "redirect", 8))
		sd_spfi_errf(err, errlen, "redirect is a modifier: write "
		    "redirect=DOMAIN");
	else if (name_len == 3 && sd_spfi_caseeq_n(name, "exp", 3))
		sd_spfi_errf(err, errlen, "exp is a modifier: write exp=DOMAIN");
	else
		sd_spfi_errf(err, errlen, "unknown mechanism \"%.*s\"",
		    (int)(name_len > 40 ? 40 : name_len), name);
	return -1;
}

/* A mechanism's argument `rest` (what follows its name): each kind takes
 * its own shape (RFC 7208 §5). */
static int parse_mechanism(sd_spf_term *t, int k, const char *rest,
    size_t rn, char *err, size_t errlen)
{
	t->kind = mechs[k].kind;
	switch (t->kind) {
	case SD_SPF_ALL:
		if (rn) {
			sd_spfi_errf(err, errlen, "\"all\" takes no argument");
			return -1;
		}
		return 0;
	case SD_SPF_IP4:
	case SD_SPF_IP6:
		return parse_ip_mech(t, rest, rn, t->kind == SD_SPF_IP6, err,
		    errlen);
	case SD_SPF_INCLUDE:
	case SD_SPF_EXISTS:
		if (rn == 0 || rest[0] != ':') {
			sd_spfi_errf(err, errlen, "%s needs \":\" and a domain",
			    mechs[k].name);
			return -1;
		}
		break;
	case SD_SPF_A:
	case SD_SPF_MX: {
		char cerr[120];
		if (strip_dual_cidr(rest, &rn, &t->cidr4, &t->cidr6, cerr,
		    sizeof cerr) != 0) {
			sd_spfi_errf(err, errlen, "%s", cerr);
			return -1;
		}
		if (rn == 0)
			return 0;
		if (rest[0] != ':') {
			sd_spfi_errf(err, errlen, "expected \":domain\" or a "
			    "prefix length after \"%s\"", mechs[k].name);
			return -1;
		}
		break;
	}
	case SD_SPF_PTR:
		if (rn == 0)
			return 0;
		if (rest[0] != ':') {
			sd_spfi_errf(err, errlen, "ptr takes \":domain\" only "
			    "(no prefix length)");
			return -1;
		}
		break;
	default:
		break;
	}
	/* rest = ":" domain-spec */
	return take_domain_spec(t, rest + 1, rn - 1, err, errlen);
}

/* Parses one term (s, n: no spaces inside) into t. */
static int parse_term(sd_spf_record *rec, sd_spf_term *t, const char *s,
    size_t n, char *err, size_t errlen)
{
	t->cidr4 = 32;
	t->cidr6 = 128;
	if (check_term_bytes(s, n, err, errlen) < 0)
		return -1;
	size_t i = 0;
	char q = 0;
	if (n > 0 && strchr("+-~?", s[0])) {
		q = s[0];
		i = 1;
	}
	size_t name_start = i;
	while (i < n && s[i] != ':' && s[i] != '/' && s[i] != '=')
		i++;
	const char *name = s + name_start;
	size_t name_len = i - name_start;
	const char *rest = s + i;
	size_t rn = n - i;
	if (!q && i < n && s[i] == '=')
		return parse_modifier(rec, t, name, name_len, rest + 1, rn - 1,
		    err, errlen);
	t->qualifier = q ? q : '+';
	int k = find_mechanism(name, name_len, err, errlen);
	return k < 0 ? -1 : parse_mechanism(t, k, rest, rn, err, errlen);
}

int sd_spf_parse(const char *txt, size_t len, sd_spf_record **out,
    char *err, size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!sd_spf_is_record(txt, len)) {
		sd_spfi_errf(err, errlen, "not an SPF record (it must start "
		    "with \"v=spf1\" and a space)");
		return -1;
	}
	sd_spf_record *rec = calloc(1, sizeof *rec);
	if (!rec)
		return -2;
	rec->redirect = rec->exp = -1;
	size_t cap = 0;
	size_t i = 6;
	int rc = 0;
	while (i < len) {
		if (txt[i] == ' ') {
			i++;
			continue;
		}
		size_t start = i;
		while (i < len && txt[i] != ' ')
			i++;
		if (rec->n_terms == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			sd_spf_term *nt = realloc(rec->terms, ncap * sizeof *nt);
			if (!nt) {
				rc = -2;
				break;
			}
			rec->terms = nt;
			cap = ncap;
		}
		sd_spf_term *t = &rec->terms[rec->n_terms];
		memset(t, 0, sizeof *t);
		rec->n_terms++;
		t->text = sd_spfi_clean(txt + start, i - start, 1000);
		if (!t->text) {
			rc = -2;
			break;
		}
		char terr[300];
		terr[0] = '\0';
		rc = parse_term(rec, t, txt + start, i - start, terr,
		    sizeof terr);
		if (rc == -1) {
			char *q = sd_spfi_clean(txt + start, i - start,
			    TERM_QUOTE_MAX);
			sd_spfi_errf(err, errlen, "term %zu \"%s\": %s",
			    rec->n_terms, q ? q : "?", terr);
			free(q);
			break;
		}
		if (rc != 0)
			break;
		int idx = (int)(rec->n_terms - 1);
		switch (t->kind) {
		case SD_SPF_REDIRECT: rec->redirect = idx; break;
		case SD_SPF_EXP: rec->exp = idx; break;
		case SD_SPF_ALL: rec->has_all = 1; break;
		case SD_SPF_PTR: rec->n_ptr++; rec->lookup_terms++; break;
		case SD_SPF_INCLUDE:
		case SD_SPF_A:
		case SD_SPF_MX:
		case SD_SPF_EXISTS:
			rec->lookup_terms++;
			break;
		default:
			break;
		}
	}
	if (rc != 0) {
		sd_spf_record_free(rec);
		return rc;
	}
	/* RFC 7208 §5.1: redirect is ignored when "all" is present. */
	if (rec->redirect >= 0 && !rec->has_all)
		rec->lookup_terms++;
	*out = rec;
	return 0;
}
