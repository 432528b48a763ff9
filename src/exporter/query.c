/*
 * The exporter's request line: which page, and for /probe which command
 * and target.  The raw request target is parsed here rather than through
 * the HTTP library's own argument table, so that the rules (known names
 * only, each once, bounded values, no credentials) are one cursor the
 * fuzzer reaches without a server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/exporter.h"
#include "settings/server.h"
#include "util/util.h"

/* An ip= or selector= value (an IPv6 address in its longest text form is
 * 45 characters; a selector is a name of a few labels). */
#define XQ_ITEM_MAX 70

/* Names that would carry a secret: refused with a sentence saying where
 * credentials do come from, never with the value. */
static const char *const secret_names[] = {
	"password", "pass", "passwd", "pw", "pwd", "secret", "token", "user",
	"username", "login", "auth", "credentials", "key", NULL,
};

static int is_secret_name(const char *name)
{
	for (int i = 0; secret_names[i]; i++)
		if (sd_strcaseeq(name, secret_names[i]))
			return 1;
	return 0;
}

/* Characters of a value of each kind: a domain or account name, an
 * address, a selector.  None holds a space, so that a target and its
 * values make one `domain --batch` line. */
static int allowed(char c, const char *extra)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr(extra, c) != NULL;
}

static int all_allowed(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!allowed(*s, extra))
			return 0;
	return 1;
}

/* One name or value: '+' is a space (HTML forms, Go's url.Values), then
 * percent-escapes; 0 on a bad escape, a control byte or no room. */
static int decode(const char *s, size_t len, char *out, size_t outlen)
{
	char tmp[3 * (SD_XQ_VALUE_MAX + 1)];
	if (len >= sizeof tmp)
		return 0;
	for (size_t i = 0; i < len; i++)
		tmp[i] = s[i] == '+' ? ' ' : s[i];
	return sd_pct_decode(tmp, len, out, outlen, 0);
}

typedef struct parse_state {
	sd_exporter_query *q;
	int n_ips, n_sel, n_params;
	char *err;
	size_t errlen;
} parse_state;

static int bad(parse_state *st, const char *fmt, const char *what)
{
	char *shown = what ? sd_sanitize(what, strlen(what), 40) : NULL;
	snprintf(st->err, st->errlen, fmt, shown ? shown : "");
	free(shown);
	return 400;
}

static int append_extra(parse_state *st, const char *name, const char *v)
{
	sd_exporter_query *q = st->q;
	size_t used = strlen(q->extra);
	int n = snprintf(q->extra + used, sizeof q->extra - used, " %s=%s",
	    name, v);
	if (n < 0 || (size_t)n >= sizeof q->extra - used)
		return bad(st, "too many ip= and selector= values%s", NULL);
	return 200;
}

static int one_param(parse_state *st, const char *name, const char *value)
{
	sd_exporter_query *q = st->q;
	if (strcmp(name, "command") == 0) {
		if (q->command)
			return bad(st, "command= is given twice%s", NULL);
		if (strcmp(value, "domain") == 0)
			q->command = SD_XQ_DOMAIN;
		else if (strcmp(value, "check") == 0)
			q->command = SD_XQ_CHECK;
		else
			return bad(st, "command=%s: expected domain or check",
			    value);
		return 200;
	}
	if (strcmp(name, "target") == 0) {
		if (q->target[0])
			return bad(st, "target= is given twice%s", NULL);
		if (!*value)
			return bad(st, "target= is empty%s", NULL);
		/* a domain, or an account name of the --config file (no
		 * ':' or '/': it is put after FILE: to pick the account) */
		if (!all_allowed(value, ".-_@+="))
			return bad(st, "target=%s: a domain or an account name "
			    "(letters, digits and . - _ @ + =)", value);
		snprintf(q->target, sizeof q->target, "%s", value);
		return 200;
	}
	if (strcmp(name, "ip") == 0 || strcmp(name, "selector") == 0) {
		int ip = name[0] == 'i';
		if ((ip && ++st->n_ips > SD_XQ_MAX_IPS) ||
		    (!ip && ++st->n_sel > SD_XQ_MAX_SELECTORS))
			return bad(st, ip ? "more than 16 ip= values%s" :
			    "more than 32 selector= values%s", NULL);
		if (!*value || strlen(value) > XQ_ITEM_MAX ||
		    !all_allowed(value, ip ? ".:" : ".-_"))
			return bad(st, ip ? "ip=%s: not an IPv4 or IPv6 address" :
			    "selector=%s: not a DKIM selector", value);
		return append_extra(st, name, value);
	}
	if (is_secret_name(name))
		return bad(st, "%s=: credentials never come from the URL; the "
		    "account's settings and password come from the exporter's "
		    "--config file", name);
	/* not echoed: a bare "?hunter2" would put a secret in the answer */
	return bad(st, "an unknown parameter (expected command, target, ip, "
	    "selector)%s", NULL);
}

/* The query after '?': name=value pairs split on '&'. */
static int parse_params(parse_state *st, const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t end = i;
		while (end < len && s[end] != '&')
			end++;
		if (end == i) {        /* "a=1&&b=2": an empty pair, nothing */
			i++;
			continue;
		}
		if (++st->n_params > SD_XQ_MAX_PARAMS)
			return bad(st, "too many parameters%s", NULL);
		const char *eq = memchr(s + i, '=', end - i);
		size_t nlen = eq ? (size_t)(eq - (s + i)) : end - i;
		char name[64], value[SD_XQ_VALUE_MAX + 1];
		if (!decode(s + i, nlen, name, sizeof name) || !*name)
			return bad(st, "a parameter name is empty, too long or "
			    "badly escaped%s", NULL);
		const char *v = eq ? eq + 1 : s + end;
		if (!decode(v, (size_t)(s + end - v), value, sizeof value)) {
			/* the name is only echoed when it is one we know */
			int known = strcmp(name, "command") == 0 ||
			    strcmp(name, "target") == 0 ||
			    strcmp(name, "ip") == 0 ||
			    strcmp(name, "selector") == 0;
			return bad(st, "the value of %s is too long or badly "
			    "escaped", known ? name : "a parameter");
		}
		int rc = one_param(st, name, value);
		if (rc != 200)
			return rc;
		i = end + 1;
	}
	return 200;
}

static int parse_probe(parse_state *st, const char *s, size_t len)
{
	sd_exporter_query *q = st->q;
	int rc = parse_params(st, s, len);
	if (rc != 200)
		return rc;
	if (!q->command)
		return bad(st, "command= is missing: /probe?command=domain&"
		    "target=DOMAIN or /probe?command=check&target=ACCOUNT%s",
		    NULL);
	if (!q->target[0])
		return bad(st, "target= is missing%s", NULL);
	if (q->command == SD_XQ_CHECK && q->extra[0])
		return bad(st, "ip= and selector= belong to command=domain%s",
		    NULL);
	snprintf(q->key, sizeof q->key, "%s %s%s", q->command == SD_XQ_CHECK ?
	    "check" : "domain", q->target, q->extra);
	return 200;
}

int sd_exporter_query_parse(const char *uri, size_t len,
    sd_exporter_query *q, char *err, size_t errlen)
{
	parse_state st = { q, 0, 0, 0, err, errlen };
	memset(q, 0, sizeof *q);
	err[0] = '\0';
	if (len > SD_XQ_URI_MAX) {
		snprintf(err, errlen, "the request target is longer than %d "
		    "bytes", SD_XQ_URI_MAX);
		return 414;
	}
	size_t plen = 0;
	while (plen < len && uri[plen] != '?' && uri[plen] != '#')
		plen++;
	const char *query = plen < len && uri[plen] == '?' ? uri + plen + 1 :
	    uri + len;
	size_t qlen = (size_t)(uri + len - query);
	const char *hash = memchr(query, '#', qlen);
	if (hash)
		qlen = (size_t)(hash - query);
	if (plen == 1 && uri[0] == '/') {
		q->page = SD_XQ_INDEX;
		return 200;
	}
	if (plen == 8 && memcmp(uri, "/metrics", 8) == 0) {
		q->page = SD_XQ_METRICS;
		return 200;
	}
	if (plen == 6 && memcmp(uri, "/probe", 6) == 0) {
		q->page = SD_XQ_PROBE;
		return parse_probe(&st, query, qlen);
	}
	char *shown = sd_sanitize(uri, plen, 80);
	snprintf(err, errlen, "no page %s here: /probe?command=domain&target="
	    "DOMAIN, /probe?command=check&target=ACCOUNT, /metrics",
	    shown ? shown : "");
	free(shown);
	return 404;
}

int sd_exporter_scrape_timeout(const char *value, double *seconds)
{
	const char *p = value;
	double v = 0, scale = 1;
	int digits = 0;
	for (; *p >= '0' && *p <= '9'; p++, digits++)
		if (digits < 6)
			v = v * 10 + (*p - '0');
		else
			return 0;
	if (!digits)
		return 0;
	if (*p == '.') {
		int frac = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, frac++)
			if (frac < 9) {
				scale /= 10;
				v += (*p - '0') * scale;
			}
		if (!frac)
			return 0;
	}
	if (*p || v > 86400)
		return 0;
	*seconds = v;
	return 1;
}
