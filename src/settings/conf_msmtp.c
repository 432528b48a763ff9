/*
 * msmtp's configuration (~/.msmtprc): "defaults", "account NAME [:
 * PARENT[, PARENT]...]" sections, "key value" lines, values optionally in
 * double quotes with backslash escapes.  An account sees the defaults
 * written before it, then its parents' settings, then its own (msmtp(1),
 * "Configuration files").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings/conf_int.h"
#include "util/util.h"

/* Bounds of what is kept of one file: far more than any real msmtprc. */
#define MAX_ACCOUNTS 64
#define MAX_ENTRIES 2048
#define MAX_PARENTS 8
/* Parents of parents: deeper is a loop (or nobody's configuration). */
#define MAX_DEPTH 8

typedef struct entry {
	int account;     /* index, or -1 inside a defaults block */
	char key[32];
	const char *val; /* into the text: [val, val+vlen) before unquoting */
	size_t vlen;
	int line;
} entry;

typedef struct msmtp_account {
	char name[128];
	char parents[MAX_PARENTS][128];
	int n_parents;
	int first_entry; /* entries before this index precede the account */
	int line;
} msmtp_account;

/* One parse's file: entries and accounts grown as the file has them. */
typedef struct msmtp {
	entry *e;
	int n, cap_e;
	msmtp_account *a;
	int na, cap_a;
	int tls;          /* -1 unset, 0 off, 1 on */
	int starttls;     /* tls_starttls: 1 (msmtp's default) or 0 */
} msmtp;

/* A value as msmtp reads it: unquoted, escapes resolved, into out. */
static int unquote(sd_client_conf *c, const entry *en, char *out,
    size_t outlen)
{
	const char *p = en->val, *end = en->val + en->vlen;
	if (p == end || *p != '"')
		return conf_copy(out, outlen, p, en->vlen) ? 0 :
		    conf_fail(c, en->line, "the value of %s is too long", en->key);
	size_t o = 0;
	for (p++; p < end && *p != '"'; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		if (o + 1 >= outlen)
			return conf_fail(c, en->line, "the value of %s is too "
			    "long", en->key);
		out[o++] = *p;
	}
	if (p >= end)
		return conf_fail(c, en->line, "a quoted value without its "
		    "closing '\"'");
	out[o] = '\0';
	return 0;
}

static int find(const msmtp *m, const char *name)
{
	for (int i = 0; i < m->na; i++)
		if (strcmp(m->a[i].name, name) == 0)
			return i;
	return -1;
}

static int is_on(const char *v)
{
	return strcmp(v, "on") == 0 || v[0] == '\0';
}

static int apply(msmtp *m, sd_client_conf *c, const entry *en,
    const char *v)
{
	if (strcmp(en->key, "host") == 0) {
		snprintf(c->host, sizeof c->host, "%.255s", v);
		c->host_line = en->line;
	} else if (strcmp(en->key, "port") == 0) {
		c->port = atoi(v);
		if (c->port < 1 || c->port > 65535)
			return conf_fail(c, en->line, "port must be 1 to 65535");
	} else if (strcmp(en->key, "tls") == 0) {
		m->tls = is_on(v);
		c->tls_line = en->line;
	} else if (strcmp(en->key, "tls_starttls") == 0) {
		m->starttls = is_on(v);
		c->tls_line = en->line;
	} else if (strcmp(en->key, "user") == 0) {
		snprintf(c->user, sizeof c->user, "%.512s", v);
	} else if (strcmp(en->key, "password") == 0) {
		if (!conf_set_password(c, v, strlen(v), en->line))
			return conf_fail(c, en->line, "out of memory");
	} else if (strcmp(en->key, "passwordeval") == 0) {
		snprintf(c->password_cmd, sizeof c->password_cmd, "%.1024s", v);
		c->password_cmd_line = en->line;
	} else if (strcmp(en->key, "from") == 0) {
		conf_address(c->from, sizeof c->from, v);
	} else if (strcmp(en->key, "auth") == 0) {
		c->no_auth = strcmp(v, "off") == 0;
		snprintf(c->auth, sizeof c->auth, "%.31s", strcmp(v, "on") == 0 ||
		    c->no_auth ? "" : v);
	}
	return 0;
}

static int apply_entry(msmtp *m, sd_client_conf *c, const entry *en)
{
	char v[SD_CONF_VALUE_MAX + 1];
	if (unquote(c, en, v, sizeof v) != 0)
		return -1;
	int rc = apply(m, c, en, v);
	sd_wipe(v, sizeof v);
	return rc;
}

static int resolve(msmtp *m, int ai, int depth, sd_client_conf *c)
{
	if (depth > MAX_DEPTH)
		return conf_fail(c, m->a[ai].line, "account %s inherits in a "
		    "loop", m->a[ai].name);
	const msmtp_account *a = &m->a[ai];
	if (depth == 0)
		for (int i = 0; i < a->first_entry; i++)
			if (m->e[i].account < 0 && apply_entry(m, c, &m->e[i]) != 0)
				return -1;
	for (int k = 0; k < a->n_parents; k++) {
		int p = find(m, a->parents[k]);
		if (p < 0)
			return conf_fail(c, a->line, "account %s inherits from "
			    "%s, which is not defined", a->name, a->parents[k]);
		if (resolve(m, p, depth + 1, c) != 0)
			return -1;
	}
	for (int i = a->first_entry; i < m->n; i++)
		if (m->e[i].account == ai && apply_entry(m, c, &m->e[i]) != 0)
			return -1;
	return 0;
}

/* "account NAME [: P1, P2]" into a new account. */
static int add_account(msmtp *m, sd_client_conf *c, const char *p,
    const char *end, int line)
{
	if (m->na >= MAX_ACCOUNTS)
		return conf_fail(c, line, "more than %d accounts", MAX_ACCOUNTS);
	msmtp_account *more = conf_grow(m->a, m->na, &m->cap_a, sizeof *more,
	    MAX_ACCOUNTS);
	if (!more)
		return conf_fail(c, line, "out of memory");
	m->a = more;
	msmtp_account *a = &m->a[m->na];
	memset(a, 0, sizeof *a);
	a->line = line;
	a->first_entry = m->n;
	const char *colon = memchr(p, ':', (size_t)(end - p));
	const char *ne = colon ? colon : end;
	while (ne > p && (ne[-1] == ' ' || ne[-1] == '\t'))
		ne--;
	if (ne == p || !conf_copy(a->name, sizeof a->name, p, (size_t)(ne - p)))
		return conf_fail(c, line, "an account needs a name");
	for (const char *q = colon ? colon + 1 : end; q < end;) {
		q = conf_skip_ws(q, end);
		size_t n = conf_span(q, end, ",");
		size_t t = n;
		while (t && (q[t - 1] == ' ' || q[t - 1] == '\t'))
			t--;
		if (t && a->n_parents < MAX_PARENTS &&
		    !conf_copy(a->parents[a->n_parents++], sizeof a->parents[0],
		    q, t))
			return conf_fail(c, line, "an account name too long");
		q += n + 1;
	}
	m->na++;
	return 0;
}

static int read_lines(msmtp *m, const char *text, size_t len,
    sd_client_conf *c)
{
	conf_reader r;
	conf_line l;
	int cur = -1;
	conf_reader_init(&r, text, len);
	while (conf_next_line(&r, &l)) {
		const char *end = l.s + l.len, *p = conf_skip_ws(l.s, end);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (p == end || *p == '#')
			continue;
		size_t k = conf_span(p, end, " \t");
		const char *v = conf_skip_ws(p + k, end);
		if (k == 8 && strncmp(p, "defaults", 8) == 0) {
			cur = -1;
			continue;
		}
		if (k == 7 && strncmp(p, "account", 7) == 0) {
			if (add_account(m, c, v, end, l.no) != 0)
				return -1;
			cur = m->na - 1;
			continue;
		}
		if (m->n >= MAX_ENTRIES)
			return conf_fail(c, l.no, "more than %d settings",
			    MAX_ENTRIES);
		entry *more = conf_grow(m->e, m->n, &m->cap_e, sizeof *more,
		    MAX_ENTRIES);
		if (!more)
			return conf_fail(c, l.no, "out of memory");
		m->e = more;
		entry *en = &m->e[m->n++];
		en->account = cur;
		en->line = l.no;
		if (!conf_copy(en->key, sizeof en->key, p, k))
			en->key[0] = '\0';   /* no key of ours is that long */
		en->val = v;
		en->vlen = (size_t)(end - v);
	}
	return 0;
}

/* The account's settings, from the file read. */
static int settle(msmtp *m, const char *account, sd_client_conf *c)
{
	const char *want = account ? account : "default";
	int ai = find(m, want);
	if (ai < 0) {
		char names[200] = "";
		for (int i = 0; i < m->na && strlen(names) < 150; i++)
			snprintf(names + strlen(names), sizeof names -
			    strlen(names), "%s%s", i ? ", " : "", m->a[i].name);
		return conf_fail(c, 0, "no account '%s' (accounts: %s); give "
		    "--config FILE:ACCOUNT", want, m->na ? names : "none");
	}
	snprintf(c->account, sizeof c->account, "%.255s", want);
	m->tls = -1;
	m->starttls = 1;
	if (resolve(m, ai, 0, c) != 0)
		return -1;
	/* msmtp's default is tls off */
	c->tls = m->tls != 1 ? SD_TLS_NONE : m->starttls ? SD_TLS_STARTTLS :
	    SD_TLS_IMPLICIT;
	if (!c->port)
		c->port = c->tls == SD_TLS_IMPLICIT ? 465 : 25;
	return 0;
}

int conf_msmtp(const char *text, size_t len, const char *account,
    sd_client_conf *c)
{
	msmtp m = { 0 };
	int rc = read_lines(&m, text, len, c);
	if (rc == 0)
		rc = settle(&m, account, c);
	free(m.e);
	free(m.a);
	return rc;
}
