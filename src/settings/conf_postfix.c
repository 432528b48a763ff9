/*
 * Postfix as a client of a relay: main.cf's relayhost and the smtp_*
 * TLS and SASL parameters (postconf(5)); the password comes from the plain
 * text of smtp_sasl_password_maps beside main.cf (sd_client_conf_postfix_
 * secrets), never from a compiled .db.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings/conf_int.h"
#include "util/util.h"

#define MAX_PARAMS 512

typedef struct param {
	char name[64];
	char *val;       /* malloc'd, at most SD_CONF_VALUE_MAX bytes */
	int line;
} param;

/* The parameters of one parse, grown as main.cf has them. */
typedef struct pfconf {
	param *p;
	int n, cap;
} pfconf;

/* A continuation line after the value, unless the value would grow past
 * SD_CONF_VALUE_MAX (then the line is dropped); -1 when out of memory. */
static int continued(param *cur, const char *p, const char *end)
{
	size_t have = strlen(cur->val), n = (size_t)(end - p);
	if (have + 1 + n > SD_CONF_VALUE_MAX)
		return 0;
	char *v = realloc(cur->val, have + 1 + n + 1);
	if (!v)
		return -1;
	v[have] = ' ';
	memcpy(v + have + 1, p, n);
	v[have + 1 + n] = '\0';
	cur->val = v;
	return 0;
}

/* The parameter "name = value" at p (eq at its '='), kept as pf->p[pf->n]
 * (not counted yet); 1 when its name is longer than any of ours. */
static int param_line(pfconf *pf, sd_client_conf *c, const char *p,
    const char *eq, const char *end, int line)
{
	param *more = conf_grow(pf->p, pf->n, &pf->cap, sizeof *more,
	    MAX_PARAMS);
	if (!more)
		return conf_fail(c, line, "out of memory");
	pf->p = more;
	param *pa = &pf->p[pf->n];
	const char *ne = eq;
	while (ne > p && (ne[-1] == ' ' || ne[-1] == '\t'))
		ne--;
	if (!conf_copy(pa->name, sizeof pa->name, p, (size_t)(ne - p)))
		return 1;
	const char *v = conf_skip_ws(eq + 1, end), *ve = end;
	while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
		ve--;
	if ((size_t)(ve - v) > SD_CONF_VALUE_MAX)
		return conf_fail(c, line, "a value too long");
	pa->val = strndup(v, (size_t)(ve - v));
	if (!pa->val)
		return conf_fail(c, line, "out of memory");
	pa->line = line;
	return 0;
}

/* "name = value" with continuation lines (leading white space). */
static int read_params(pfconf *pf, const char *text, size_t len,
    sd_client_conf *c)
{
	conf_reader r;
	conf_line l;
	int cur = -1;
	conf_reader_init(&r, text, len);
	while (conf_next_line(&r, &l)) {
		const char *end = l.s + l.len, *p = conf_skip_ws(l.s, end);
		if (p == end || *p == '#')
			continue;
		if (p != l.s) {
			/* a continuation of the parameter above */
			if (cur >= 0 && continued(&pf->p[cur], p, end) != 0)
				return conf_fail(c, l.no, "out of memory");
			continue;
		}
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (!eq)
			return conf_fail(c, l.no, "not 'name = value'");
		if (pf->n >= MAX_PARAMS)
			return conf_fail(c, l.no, "more than %d parameters",
			    MAX_PARAMS);
		int rc = param_line(pf, c, p, eq, end, l.no);
		if (rc < 0)
			return -1;
		cur = rc == 0 ? pf->n++ : -1;
	}
	return 0;
}

static const param *get(const pfconf *pf, const char *name)
{
	const param *found = NULL;
	for (int i = 0; i < pf->n; i++)
		if (strcmp(pf->p[i].name, name) == 0)
			found = &pf->p[i];
	return found;
}

/* relayhost: [host]:port, host:port, [host], host (the first of a list) */
static int relay(const param *rh, sd_client_conf *c)
{
	char v[SD_CONF_VALUE_MAX + 1];
	snprintf(v, sizeof v, "%s", rh->val);
	v[strcspn(v, " ,\t")] = '\0';
	char *host = v, *port = NULL;
	if (*v == '[') {
		char *close = strchr(v, ']');
		if (!close)
			return conf_fail(c, rh->line, "relayhost: '[' without ']'");
		*close = '\0';
		host = v + 1;
		if (close[1] == ':')
			port = close + 2;
	} else if ((port = strrchr(v, ':'))) {
		*port++ = '\0';
	}
	snprintf(c->host, sizeof c->host, "%.255s", host);
	c->host_line = rh->line;
	/* the sasl_passwd key is the relayhost as written */
	snprintf(c->account, sizeof c->account, "%.255s", rh->val);
	c->account[strcspn(c->account, " ,\t")] = '\0';
	c->port = port ? atoi(port) : 25;
	if (c->port < 1 || c->port > 65535)
		return conf_fail(c, rh->line, "relayhost: a port from 1 to 65535 "
		    "(a service name is not looked up)");
	return 0;
}

/* The relay and how to reach it, from the parameters read. */
static int settle(const pfconf *pf, sd_client_conf *c)
{
	const param *rh = get(pf, "relayhost");
	if (!rh || !rh->val[0])
		return conf_fail(c, 0, "relayhost is empty: this Postfix sends "
		    "straight to each recipient's MX; smtpdoctor domain judges "
		    "that path");
	if (relay(rh, c) != 0)
		return -1;
	const param *lvl = get(pf, "smtp_tls_security_level");
	const param *wrap = get(pf, "smtp_tls_wrappermode");
	c->tls = wrap && sd_strcaseeq(wrap->val, "yes") ? SD_TLS_IMPLICIT :
	    lvl && lvl->val[0] && !sd_strcaseeq(lvl->val, "none") ?
	    SD_TLS_STARTTLS : SD_TLS_NONE;
	c->tls_line = wrap ? wrap->line : lvl ? lvl->line : 0;
	const param *sasl = get(pf, "smtp_sasl_auth_enable");
	c->no_auth = !sasl || !sd_strcaseeq(sasl->val, "yes");
	const param *maps = get(pf, "smtp_sasl_password_maps");
	if (!c->no_auth && maps) {
		const char *colon = strchr(maps->val, ':');
		const char *path = colon ? colon + 1 : maps->val;
		const char *base = strrchr(path, '/');
		snprintf(c->sasl_map, sizeof c->sasl_map, "%.255s", base ? base + 1 :
		    path);
	}
	return 0;
}

int conf_postfix(const char *text, size_t len, const char *account,
    sd_client_conf *c)
{
	if (conf_no_account(c, account, "a Postfix main.cf"))
		return -1;
	pfconf pf = { 0 };
	int rc = read_params(&pf, text, len, c);
	if (rc == 0)
		rc = settle(&pf, c);
	for (int i = 0; i < pf.n; i++)
		free(pf.p[i].val);
	free(pf.p);
	return rc;
}

/* "[host]:587 user:password" lines; the key is the relayhost as written. */
int sd_client_conf_postfix_secrets(const char *text, size_t len,
    const char *path, sd_client_conf *c)
{
	conf_reader r;
	conf_line l;
	conf_reader_init(&r, text, len);
	while (conf_next_line(&r, &l)) {
		const char *end = l.s + l.len, *p = conf_skip_ws(l.s, end);
		if (p == end || *p == '#')
			continue;
		size_t k = conf_span(p, end, " \t");
		if (p + k >= end || k != strlen(c->account) ||
		    strncmp(p, c->account, k) != 0)
			continue;
		const char *v = conf_skip_ws(p + k, end), *ve = end;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		const char *colon = memchr(v, ':', (size_t)(ve - v));
		if (!colon || colon == v)
			return conf_fail(c, l.no, "%.80s: expected user:password "
			    "after the key", path);
		conf_copy(c->user, sizeof c->user, v, (size_t)(colon - v));
		if (!conf_set_password(c, colon + 1, (size_t)(ve - colon - 1),
		    l.no))
			return conf_fail(c, l.no, "out of memory");
		return 0;
	}
	return 1;   /* no line for this relayhost */
}
