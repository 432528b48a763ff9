/*
 * mutt / neomutt: "set smtp_url = ...", "set smtp_pass = ...", "set from
 * = ...", "set ssl_starttls / ssl_force_tls".  Backtick commands and
 * `source "cmd|"` are never run: each is noted, and a value that needed
 * one is taken as absent.  `source FILE...` is followed (relative to the
 * sourcing file, "~/" for $HOME, at most 10 deep, never a loop).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings/conf_int.h"
#include "settings/server.h"
#include "util/util.h"

typedef struct mutt {
	int starttls;       /* ssl_starttls: mutt's default yes */
	int force_tls;
	int url_line;
	char url[SD_CONF_VALUE_MAX + 1];
	char url_file[1024];  /* the sourced file that set it, or "" */
} mutt;

/* One value: '...' or "..." (backslash escapes in the latter) or a bare
 * word; *next after it.  A backtick makes the value unusable. */
static int word(sd_client_conf *c, const char *p, const char *end, int line,
    char *out, size_t outlen, const char **next, int *backtick)
{
	size_t o = 0;
	char q = (*p == '\'' || *p == '"') ? *p++ : 0;
	for (; p < end; p++) {
		if (!q && (*p == ' ' || *p == '\t' || *p == ';' || *p == '#'))
			break;
		if (q && *p == q)
			break;
		if (*p == '`')
			*backtick = 1;
		if (*p == '\\' && q != '\'' && p + 1 < end)
			p++;
		if (o + 1 >= outlen)
			return conf_fail(c, line, "a value too long");
		out[o++] = *p;
	}
	if (q && p >= end)
		return conf_fail(c, line, "a quoted value without its closing "
		    "%c", q);
	out[o] = '\0';
	*next = q ? p + 1 : p;
	return 0;
}

/* smtp_url = smtp[s]://[user[:pass]@]host[:port][/] */
static int url(mutt *m, sd_client_conf *c)
{
	const char *s = m->url, *sep = strstr(s, "://");
	const char *auth = sep ? sep + 3 : s;
	const char *at = strrchr(auth, '@');
	char rebuilt[SD_CONF_VALUE_MAX + 16];
	if (at) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));
		const char *ue = colon ? colon : at;
		if (colon) {
			char pw[SD_CONF_VALUE_MAX + 1];
			int ok = sd_pct_decode(colon + 1, (size_t)(at - colon - 1),
			    pw, sizeof pw, 1);
			if (ok && !conf_set_password(c, pw, strlen(pw), m->url_line))
				ok = 0;
			sd_wipe(pw, sizeof pw);
			if (!ok)
				return conf_fail(c, m->url_line, "smtp_url: the "
				    "password part is badly %%-encoded");
		}
		conf_copy(c->url_user, sizeof c->url_user - 1, auth,
		    (size_t)(ue - auth));
		if (c->url_user[0])
			strcat(c->url_user, "@");
		snprintf(rebuilt, sizeof rebuilt, "%.*s%.*s@%s", (int)(auth - s),
		    s, (int)(ue - auth), auth, at + 1);
	} else {
		snprintf(rebuilt, sizeof rebuilt, "%s", s);
	}
	sd_server_spec spec;
	char err[300];
	if (sd_server_parse(rebuilt, &spec, err, sizeof err) != 0)
		return conf_fail(c, m->url_line, "smtp_url: %s", err + 10);
	snprintf(c->host, sizeof c->host, "%.255s", spec.host);
	c->host_line = c->tls_line = m->url_line;
	snprintf(c->host_file, sizeof c->host_file, "%s", m->url_file);
	c->port = spec.port;
	if (spec.user[0])
		snprintf(c->user, sizeof c->user, "%.512s", spec.user);
	/* smtp:// goes up with STARTTLS when ssl_starttls (default yes) or
	 * ssl_force_tls says so; smtps:// is TLS from the first byte */
	c->tls = spec.tls == SD_TLS_IMPLICIT ? SD_TLS_IMPLICIT :
	    m->starttls || m->force_tls ? SD_TLS_STARTTLS : SD_TLS_NONE;
	return 0;
}

static int set_var(mutt *m, sd_client_conf *c, const char *name, size_t n,
    const char *v, int line, int backtick)
{
#define IS(s) (n == sizeof(s) - 1 && strncmp(name, s, n) == 0)
	if (backtick) {
		conf_note(c, line, "a backtick command was not run (%.*s)",
		    (int)(n < 40 ? n : 40), name);
		return 0;
	}
	if (IS("smtp_url")) {
		snprintf(m->url, sizeof m->url, "%.1024s", v);
		m->url_line = line;
		const char *inc = conf_included(c);
		snprintf(m->url_file, sizeof m->url_file, "%s", inc ? inc : "");
	} else if (IS("smtp_pass")) {
		if (!conf_set_password(c, v, strlen(v), line))
			return conf_fail(c, line, "out of memory");
	} else if (IS("from")) {
		conf_address(c->from, sizeof c->from, v);
	} else if (IS("smtp_user")) {
		snprintf(c->user, sizeof c->user, "%.512s", v);
	} else if (IS("ssl_starttls")) {
		m->starttls = !sd_strcaseeq(v, "no");
	} else if (IS("ssl_force_tls")) {
		m->force_tls = !sd_strcaseeq(v, "no");
	} else if (IS("smtp_authenticators")) {
		snprintf(c->auth, sizeof c->auth, "%.*s", (int)strcspn(v, ":"), v);
	}
#undef IS
	return 0;
}

/* "set a = b c = d", "set ssl_starttls", "unset x", "set nox" */
static int set_line(mutt *m, sd_client_conf *c, const char *p,
    const char *end, int line, int unset)
{
	char v[SD_CONF_VALUE_MAX + 1];
	while ((p = conf_skip_ws(p, end)) < end && *p != '#' && *p != ';') {
		size_t n = conf_span(p, end, " \t=;#");
		const char *name = p, *q = conf_skip_ws(p + n, end);
		int backtick = 0, rc = 0;
		if (q < end && *q == '=' && !unset) {
			q = conf_skip_ws(q + 1, end);
			rc = word(c, q, end, line, v, sizeof v, &p, &backtick);
		} else {
			/* a bare name: yes, or no for "unset" and "noNAME" */
			int no = unset || (n > 2 && strncmp(name, "no", 2) == 0);
			if (no && !unset) {
				name += 2;
				n -= 2;
			}
			snprintf(v, sizeof v, "%s", no ? "no" : "yes");
			p = q;
		}
		if (rc == 0)
			rc = set_var(m, c, name, n, v, line, backtick);
		sd_wipe(v, sizeof v);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int mutt_body(void *state, const char *text, size_t len,
    sd_client_conf *c);

/* "source FILE...": each file read in turn; "cmd|" and backticks never
 * run. */
static int source_line(mutt *m, sd_client_conf *c, const char *p,
    const char *end, int line)
{
	char w[SD_CONF_VALUE_MAX + 1];
	while ((p = conf_skip_ws(p, end)) < end && *p != '#' && *p != ';') {
		int backtick = 0;
		if (word(c, p, end, line, w, sizeof w, &p, &backtick) != 0)
			return -1;
		size_t n = strlen(w);
		if (!n)
			continue;
		if (backtick || w[n - 1] == '|') {
			conf_note(c, line, backtick ? "a backtick command was not "
			    "run (source)" : "a command (source \"...|\") was "
			    "not run");
			continue;
		}
		if (conf_include(c, w, line, mutt_body, m) != 0)
			return -1;
	}
	return 0;
}

static int mutt_body(void *state, const char *text, size_t len,
    sd_client_conf *c)
{
	mutt *m = state;
	conf_reader r;
	conf_line l;
	conf_reader_init(&r, text, len);
	while (conf_next_line(&r, &l)) {
		const char *end = l.s + l.len, *p = conf_skip_ws(l.s, end);
		if (p == end || *p == '#')
			continue;
		if ((size_t)(end - p) > 7 && strncmp(p, "source", 6) == 0 &&
		    (p[6] == ' ' || p[6] == '\t')) {
			if (source_line(m, c, p + 7, end, l.no) != 0)
				return -1;
			continue;
		}
		int unset = (size_t)(end - p) > 6 && strncmp(p, "unset", 5) == 0 &&
		    (p[5] == ' ' || p[5] == '\t');
		int set = (size_t)(end - p) > 4 && strncmp(p, "set", 3) == 0 &&
		    (p[3] == ' ' || p[3] == '\t');
		if ((set || unset) && set_line(m, c, p + (set ? 3 : 5), end, l.no,
		    unset) != 0)
			return -1;
	}
	return 0;
}

int conf_mutt(const char *text, size_t len, const char *account,
    sd_client_conf *c)
{
	if (conf_no_account(c, account, "a mutt configuration"))
		return -1;
	mutt m = { .starttls = 1 };
	if (mutt_body(&m, text, len, c) != 0)
		return -1;
	if (!m.url[0])
		return conf_fail(c, 0, "no smtp_url: this mutt hands mail to a "
		    "local program (sendmail), which has its own configuration");
	return url(&m, c);
}
