/*
 * Thunderbird's prefs.js: user_pref("name", value); lines.  The outgoing
 * server is mail.smtpserver.<key>.* for the identity named by ACCOUNT
 * (its address: mail.identity.<id>.useremail), else the default server
 * (mail.smtp.defaultserver), else the first of mail.smtpservers.
 * Passwords are kept encrypted in logins.json: never read here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings/conf_int.h"
#include "util/util.h"

#define MAX_PREFS 4096
/* A preference name this long is none of the mail settings read here. */
#define PREF_NAME_MAX 160

typedef struct pref {
	char *name;         /* malloc'd: "name\0value\0" */
	const char *val;    /* after the name's NUL */
	int line;
} pref;

/* The mail preferences of one parse, grown as the file has them. */
typedef struct prefs {
	pref *p;
	int n, cap;
} prefs;

/* A JavaScript string literal (the escapes prefs.js writes) or a bare
 * number / true / false, into out; *next after it. */
static int literal(sd_client_conf *c, const char *p, const char *end,
    int line, char *out, size_t outlen, const char **next)
{
	size_t o = 0;
	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			if (o + 1 >= outlen)
				return conf_fail(c, line, "a value too long");
			out[o++] = *p;
		}
		if (p >= end)
			return conf_fail(c, line, "a string without its closing "
			    "'\"'");
		p++;
	} else {
		while (p < end && *p != ')' && *p != ',' && *p != ' ' && o + 1 <
		    outlen)
			out[o++] = *p++;
	}
	out[o] = '\0';
	*next = p;
	return 0;
}

/* Keeps one preference; -1 when out of memory. */
static int add_pref(prefs *ps, const char *name, const char *val, int line)
{
	pref *more = conf_grow(ps->p, ps->n, &ps->cap, sizeof *more, MAX_PREFS);
	if (!more)
		return -1;
	ps->p = more;
	size_t nl = strlen(name) + 1, vl = strlen(val) + 1;
	char *s = malloc(nl + vl);
	if (!s)
		return -1;
	memcpy(s, name, nl);
	memcpy(s + nl, val, vl);
	ps->p[ps->n++] = (pref){ s, s + nl, line };
	return 0;
}

static int read_prefs(prefs *ps, const char *text, size_t len,
    sd_client_conf *c)
{
	conf_reader r;
	conf_line l;
	conf_reader_init(&r, text, len);
	while (conf_next_line(&r, &l)) {
		const char *end = l.s + l.len, *p = conf_skip_ws(l.s, end);
		if ((size_t)(end - p) < 10 || strncmp(p, "user_pref(", 10) != 0)
			continue;
		char name[SD_CONF_VALUE_MAX + 1], val[SD_CONF_VALUE_MAX + 1];
		const char *q;
		if (literal(c, conf_skip_ws(p + 10, end), end, l.no, name,
		    sizeof name, &q) != 0)
			return -1;
		q = conf_skip_ws(q, end);
		if (q >= end || *q != ',')
			return conf_fail(c, l.no, "user_pref without a value");
		/* only the mail settings are kept */
		if (strncmp(name, "mail.smtp", 9) != 0 &&
		    strncmp(name, "mail.identity.", 14) != 0)
			continue;
		if (ps->n >= MAX_PREFS)
			return conf_fail(c, l.no, "more than %d mail preferences",
			    MAX_PREFS);
		if (strlen(name) >= PREF_NAME_MAX)
			continue;
		if (literal(c, conf_skip_ws(q + 1, end), end, l.no, val,
		    sizeof val, &q) != 0)
			return -1;
		if (add_pref(ps, name, val, l.no) != 0)
			return conf_fail(c, l.no, "out of memory");
	}
	return 0;
}

static const pref *get(const prefs *ps, const char *name)
{
	const pref *found = NULL;
	for (int i = 0; i < ps->n; i++)
		if (strcmp(ps->p[i].name, name) == 0)
			found = &ps->p[i];
	return found;
}

static const pref *getf(const prefs *ps, const char *fmt, const char *key)
{
	char name[300];
	snprintf(name, sizeof name, fmt, key);
	return get(ps, name);
}

/* The smtp server key ("smtp1") for ACCOUNT's identity, or the default. */
static int server_key(const prefs *ps, const char *account, char *key,
    size_t keylen, sd_client_conf *c)
{
	const pref *p;
	if (account) {
		for (int i = 0; i < ps->n; i++) {
			const char *n = ps->p[i].name;
			size_t nl = strlen(n);
			if (nl < 24 || strcmp(n + nl - 10, ".useremail") != 0 ||
			    !sd_strcaseeq(ps->p[i].val, account))
				continue;
			char id[PREF_NAME_MAX];
			conf_copy(id, sizeof id, n + 14, nl - 24);
			p = getf(ps, "mail.identity.%s.smtpServer", id);
			snprintf(c->from, sizeof c->from, "%.255s", ps->p[i].val);
			if (p && p->val[0])
				return conf_copy(key, keylen, p->val, strlen(p->val));
			break;   /* the identity uses the default server */
		}
		if (!c->from[0]) {
			conf_fail(c, 0, "no identity with the address %.200s",
			    account);
			return 0;
		}
	}
	if ((p = get(ps, "mail.smtp.defaultserver")) && p->val[0])
		return conf_copy(key, keylen, p->val, strlen(p->val));
	if ((p = get(ps, "mail.smtpservers")) && p->val[0])
		return conf_copy(key, keylen, p->val, strcspn(p->val, ","));
	return 0;
}

/* The outgoing server's settings, from the preferences read. */
static int settle(const prefs *ps, const char *account, sd_client_conf *c)
{
	char key[PREF_NAME_MAX] = "";
	if (!server_key(ps, account, key, sizeof key, c))
		return c->error[0] ? -1 : conf_fail(c, 0, "no outgoing server "
		    "(mail.smtpserver.*) in this profile");
	snprintf(c->account, sizeof c->account, "%.255s", account ? account : key);
	const pref *p = getf(ps, "mail.smtpserver.%s.hostname", key);
	if (p) {
		snprintf(c->host, sizeof c->host, "%.255s", p->val);
		c->host_line = p->line;
	}
	/* try_ssl (nsMsgSocketType): 0 plain, 1 and 2 STARTTLS, 3 SSL/TLS */
	p = getf(ps, "mail.smtpserver.%s.try_ssl", key);
	int sock = p ? atoi(p->val) : 0;
	c->tls = sock == 3 ? SD_TLS_IMPLICIT : sock == 1 || sock == 2 ?
	    SD_TLS_STARTTLS : SD_TLS_NONE;
	c->tls_line = p ? p->line : 0;
	p = getf(ps, "mail.smtpserver.%s.port", key);
	c->port = p && atoi(p->val) > 0 && atoi(p->val) < 65536 ?
	    atoi(p->val) : c->tls == SD_TLS_IMPLICIT ? 465 : 587;
	if ((p = getf(ps, "mail.smtpserver.%s.username", key)))
		snprintf(c->user, sizeof c->user, "%.512s", p->val);
	/* authMethod (nsMsgAuthMethod): 1 none, 10 OAuth2 */
	p = getf(ps, "mail.smtpserver.%s.authMethod", key);
	c->no_auth = p && atoi(p->val) == 1;
	if (p && atoi(p->val) == 10)
		snprintf(c->auth, sizeof c->auth, "XOAUTH2");
	return 0;
}

int conf_thunderbird(const char *text, size_t len, const char *account,
    sd_client_conf *c)
{
	prefs ps = { 0 };
	int rc = read_prefs(&ps, text, len, c);
	if (rc == 0)
		rc = settle(&ps, account, c);
	for (int i = 0; i < ps.n; i++)
		free(ps.p[i].name);
	free(ps.p);
	return rc;
}
