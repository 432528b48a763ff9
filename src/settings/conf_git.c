/*
 * git send-email's settings in a git config file: [sendemail] and
 * [sendemail "IDENTITY"] sections (git-config(1) syntax: case-insensitive
 * names, double-quoted parts, backslash escapes, '#'/';' comments, a
 * trailing '\' continues the line).  [include] path = FILE is followed
 * (relative to the including file, "~/" for $HOME, at most 10 deep as git
 * does, never a loop).  [includeIf "..."] is followed as git would when
 * the file can decide its condition: "gitdir:" in a repository's own
 * .git/config; any other is noted, not followed (conf_gitif.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings/conf_gitif.h"
#include "settings/conf_int.h"
#include "util/util.h"

/* One setting: which identity ("" for [sendemail]), name, value, line. */
typedef struct gitvar {
	char ident[128];
	char name[40];
	char *val;          /* malloc'd (may hold a password: wiped) */
	int line;
	char *file;         /* malloc'd: the included file, NULL in the file */
} gitvar;

#define MAX_VARS 512

/* One parse's settings, grown as the file (and its includes) has them. */
typedef struct gitconf {
	gitvar *v;
	int n, cap;
	char section[40];
	char ident[128];
	int in_sendemail;
	int in_include;
} gitconf;

/* "[sendemail]", "[sendemail \"id\"]" or "[sendemail.id]". */
static int section(gitconf *g, sd_client_conf *c, const char *p,
    const char *end, int line)
{
	const char *close = memchr(p, ']', (size_t)(end - p));
	if (!close)
		return conf_fail(c, line, "a section header without its ']'");
	g->ident[0] = '\0';
	const char *q = p + 1, *sp = q;
	while (sp < close && *sp != ' ' && *sp != '\t' && *sp != '"')
		sp++;
	size_t n = sp > q ? (size_t)(sp - q) : 0;
	const char *dot = n ? memchr(q, '.', n) : NULL;
	/* a subsection is kept whole or refused: a cut includeIf condition
	 * would test another one, a cut identity match another identity */
	char sub[SD_CONF_VALUE_MAX + 1] = "";
	if (dot) {
		/* the old form [section.sub]: the subsection is folded */
		if (!conf_copy(sub, sizeof sub, dot + 1, (size_t)(sp - dot - 1)))
			return conf_fail(c, line, "a subsection name longer than "
			    "%d bytes", SD_CONF_VALUE_MAX);
		n = (size_t)(dot - q);
	}
	g->in_sendemail = n == 9 && sd_strncaseeq(q, "sendemail", 9);
	const char *quote = close > sp ? memchr(sp, '"', (size_t)(close - sp)) :
	    NULL;
	if (quote) {
		size_t o = 0;
		const char *r = quote + 1;
		for (; r < end && *r != '"'; r++) {
			if (*r == '\\' && r + 1 < end)
				r++;
			if (o + 1 >= sizeof sub)
				return conf_fail(c, line, "a subsection name "
				    "longer than %d bytes", SD_CONF_VALUE_MAX);
			sub[o++] = *r;
		}
		if (r >= end)
			return conf_fail(c, line, "a subsection name without its "
			    "closing '\"'");
		sub[o] = '\0';
	}
	if (g->in_sendemail && !conf_copy(g->ident, sizeof g->ident, sub,
	    strlen(sub)))
		return conf_fail(c, line, "an identity name longer than %zu "
		    "bytes", sizeof g->ident - 1);
	g->in_include = n == 7 && sd_strncaseeq(q, "include", 7);
	if (n == 9 && sd_strncaseeq(q, "includeif", 9)) {
		char why[400];
		g->in_include = sd_gitif_eval(sub, conf_open_file(c, 1),
		    conf_open_file(c, 0), why, sizeof why) == SD_GITIF_HOLDS;
		conf_note(c, line, "%s", why);
	}
	return 0;
}

/* The value after '=' (or none: a boolean true), unquoted and unescaped,
 * continued on the next lines when one ends in '\'. */
static int value(sd_client_conf *c, conf_reader *r, const char *p,
    const char *end, int line, char *out, size_t outlen)
{
	size_t o = 0;
	int quoted = 0, pending_ws = 0;
	for (;;) {
		int cont = 0;
		for (; p < end; p++) {
			char ch = *p;
			if (!quoted && (ch == '#' || ch == ';'))
				break;
			if (ch == '"') {
				quoted = !quoted;
				continue;
			}
			if (ch == '\\') {
				if (p + 1 >= end) {
					cont = 1;   /* the value goes on below */
					break;
				}
				ch = *++p;
				ch = ch == 'n' ? '\n' : ch == 't' ? '\t' :
				    ch == 'b' ? '\b' : ch;
			} else if (!quoted && (ch == ' ' || ch == '\t')) {
				pending_ws = o > 0;
				continue;
			}
			if (o + 2 >= outlen)
				return conf_fail(c, line, "a value too long");
			if (pending_ws)
				out[o++] = ' ';
			pending_ws = 0;
			out[o++] = ch;
		}
		conf_line l;
		if (!cont || !conf_next_line(r, &l))
			break;
		p = l.s;
		end = l.s + l.len;
	}
	if (quoted)
		return conf_fail(c, line, "a quoted value without its closing "
		    "'\"'");
	out[o] = '\0';
	return 0;
}

static int add_var(gitconf *g, sd_client_conf *c, const char *name, size_t n,
    const char *val, int line)
{
	if (g->n >= MAX_VARS)
		return conf_fail(c, line, "more than %d sendemail settings",
		    MAX_VARS);
	gitvar *more = conf_grow(g->v, g->n, &g->cap, sizeof *more, MAX_VARS);
	if (!more)
		return conf_fail(c, line, "out of memory");
	g->v = more;
	gitvar *v = &g->v[g->n];
	snprintf(v->ident, sizeof v->ident, "%s", g->ident);
	if (!conf_copy(v->name, sizeof v->name, name, n))
		return 0;   /* no name of ours is that long */
	v->val = strdup(val);
	const char *inc = conf_included(c);
	v->file = inc ? strdup(inc) : NULL;
	if (!v->val || (inc && !v->file)) {
		free(v->val);
		free(v->file);
		return conf_fail(c, line, "out of memory");
	}
	v->line = line;
	g->n++;
	return 0;
}

static int read_vars(gitconf *g, const char *text, size_t len,
    sd_client_conf *c);

/* An included file is a file of its own: the including file's section
 * goes on after it. */
static int include_body(void *state, const char *text, size_t len,
    sd_client_conf *c)
{
	gitconf *g = state;
	char section[sizeof g->section], ident[sizeof g->ident];
	memcpy(section, g->section, sizeof section);
	memcpy(ident, g->ident, sizeof ident);
	int in_sendemail = g->in_sendemail;
	g->in_sendemail = g->in_include = 0;
	g->ident[0] = '\0';
	int rc = read_vars(g, text, len, c);
	memcpy(g->section, section, sizeof section);
	memcpy(g->ident, ident, sizeof ident);
	g->in_sendemail = in_sendemail;
	g->in_include = 1;
	return rc;
}

static int read_vars(gitconf *g, const char *text, size_t len,
    sd_client_conf *c)
{
	conf_reader r;
	conf_line l;
	char val[SD_CONF_VALUE_MAX + 1];
	conf_reader_init(&r, text, len);
	while (conf_next_line(&r, &l)) {
		const char *end = l.s + l.len, *p = conf_skip_ws(l.s, end);
		if (p == end || *p == '#' || *p == ';')
			continue;
		if (*p == '[') {
			if (section(g, c, p, end, l.no) != 0)
				return -1;
			continue;
		}
		size_t n = conf_span(p, end, " \t=");
		const char *q = conf_skip_ws(p + n, end);
		int rc = 0;
		if (q < end && *q == '=')
			rc = value(c, &r, q + 1, end, l.no, val, sizeof val);
		else
			snprintf(val, sizeof val, "true");
		if (rc == 0 && g->in_sendemail)
			rc = add_var(g, c, p, n, val, l.no);
		else if (rc == 0 && g->in_include && n == 4 &&
		    sd_strncaseeq(p, "path", 4))
			rc = conf_include(c, val, l.no, include_body, g);
		sd_wipe(val, sizeof val);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* The last value of name for identity ident ("" = [sendemail]). */
static const gitvar *get(const gitconf *g, const char *ident, const char *name)
{
	const gitvar *found = NULL;
	for (int i = 0; i < g->n; i++)
		if (strcmp(g->v[i].ident, ident) == 0 &&
		    sd_strcaseeq(g->v[i].name, name))
			found = &g->v[i];
	return found;
}

/* An identity's value wins over [sendemail]'s; smtpEncryption is not
 * subject to identities (git-config(1), sendemail.<identity>.*). */
static const gitvar *pick(const gitconf *g, const char *ident,
    const char *name)
{
	const gitvar *v = ident[0] && !sd_strcaseeq(name, "smtpEncryption") ?
	    get(g, ident, name) : NULL;
	return v ? v : get(g, "", name);
}

static int settle(const gitconf *g, const char *ident, sd_client_conf *c)
{
	const gitvar *v = pick(g, ident, "smtpServer");
	if (v && v->val[0] == '/')
		return conf_fail(c, v->line, "sendemail.smtpServer is a program "
		    "(%.100s), not a server: check that program's own "
		    "configuration", v->val);
	if (v) {
		snprintf(c->host, sizeof c->host, "%.255s", v->val);
		c->host_line = v->line;
		snprintf(c->host_file, sizeof c->host_file, "%s", v->file ?
		    v->file : "");
		if (ident[0] && get(g, ident, "smtpServer"))
			snprintf(c->git_prefix, sizeof c->git_prefix, "%s.", ident);
	}
	if ((v = pick(g, ident, "smtpServerPort")))
		c->port = atoi(v->val) > 0 && atoi(v->val) < 65536 ?
		    atoi(v->val) : 0;
	const gitvar *enc = pick(g, ident, "smtpEncryption");
	const gitvar *ssl = pick(g, ident, "smtpSSL");
	c->tls = enc ? (sd_strcaseeq(enc->val, "ssl") ? SD_TLS_IMPLICIT :
	    sd_strcaseeq(enc->val, "tls") ? SD_TLS_STARTTLS : SD_TLS_NONE) :
	    ssl && sd_strcaseeq(ssl->val, "true") ? SD_TLS_IMPLICIT : SD_TLS_NONE;
	c->tls_line = enc ? enc->line : ssl ? ssl->line : 0;
	if ((v = pick(g, ident, "smtpUser")))
		snprintf(c->user, sizeof c->user, "%.512s", v->val);
	if ((v = pick(g, ident, "from")))
		conf_address(c->from, sizeof c->from, v->val);
	if ((v = pick(g, ident, "smtpAuth")))
		snprintf(c->auth, sizeof c->auth, "%.31s", v->val);
	if ((v = pick(g, ident, "smtpPass")) &&
	    !conf_set_password(c, v->val, strlen(v->val), v->line))
		return conf_fail(c, v->line, "out of memory");
	/* git send-email's defaults: 465 for ssl, 25 otherwise */
	if (!c->port)
		c->port = c->tls == SD_TLS_IMPLICIT ? 465 : 25;
	return 0;
}

int conf_git(const char *text, size_t len, const char *account,
    sd_client_conf *c)
{
	gitconf g = { 0 };
	int rc = read_vars(&g, text, len, c);
	const char *ident = account ? account : "";
	const gitvar *def = get(&g, "", "identity");
	if (rc == 0 && !account && def)
		ident = def->val;
	if (rc == 0 && ident[0]) {
		int known = 0;
		for (int i = 0; i < g.n && !known; i++)
			known = strcmp(g.v[i].ident, ident) == 0;
		if (!known)
			rc = conf_fail(c, 0, "no [sendemail \"%.100s\"] identity",
			    ident);
	}
	if (rc == 0) {
		snprintf(c->account, sizeof c->account, "%.255s", ident);
		rc = settle(&g, ident, c);
	}
	for (int i = 0; i < g.n; i++) {
		sd_wipe(g.v[i].val, strlen(g.v[i].val));
		free(g.v[i].val);
		free(g.v[i].file);
	}
	free(g.v);
	return rc;
}
