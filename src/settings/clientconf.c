/*
 * --config: which file, which format, and the helpers every format's
 * parser shares (conf_int.h).  The parsers themselves are in conf_*.c.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "settings/conf_int.h"
#include "util/util.h"

void conf_reader_init(conf_reader *r, const char *text, size_t len)
{
	r->text = text;
	r->len = len;
	r->pos = 0;
	r->no = 0;
}

int conf_next_line(conf_reader *r, conf_line *l)
{
	if (r->pos >= r->len)
		return 0;
	const char *s = r->text + r->pos;
	const char *nl = memchr(s, '\n', r->len - r->pos);
	size_t n = nl ? (size_t)(nl - s) : r->len - r->pos;
	r->pos += n + (nl ? 1 : 0);
	if (n && s[n - 1] == '\r')
		n--;
	l->s = s;
	l->len = n;
	l->no = ++r->no;
	return 1;
}

int conf_fail(sd_client_conf *c, int line, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(c->error, sizeof c->error, "%.80s line %d: %s", c->file,
		    line, msg);
	else if (c->file[0])
		snprintf(c->error, sizeof c->error, "%.80s: %s", c->file, msg);
	else   /* before any file was read: the message names what failed */
		snprintf(c->error, sizeof c->error, "%s", msg);
	return -1;
}

void conf_note(sd_client_conf *c, int line, const char *fmt, ...)
{
	if (c->n_notes >= (int)(sizeof c->notes / sizeof c->notes[0]))
		return;
	char msg[240];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(c->notes[c->n_notes++], sizeof c->notes[0], "%.50s line %d: "
	    "%s", c->file, line, msg);
}

const char *conf_skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

size_t conf_span(const char *p, const char *end, const char *stop)
{
	const char *q = p;
	while (q < end && !strchr(stop, *q))
		q++;
	return (size_t)(q - p);
}

int conf_copy(char *dst, size_t dstlen, const char *s, size_t n)
{
	if (n >= dstlen)
		return 0;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 1;
}

int conf_set_password(sd_client_conf *c, const char *s, size_t n, int line)
{
	if (c->password) {
		sd_wipe(c->password, strlen(c->password));
		free(c->password);
	}
	c->password = malloc(n + 1);
	if (!c->password)
		return 0;
	memcpy(c->password, s, n);
	c->password[n] = '\0';
	c->password_line = line;
	return 1;
}

int conf_no_account(sd_client_conf *c, const char *account, const char *what)
{
	if (!account)
		return 0;
	return conf_fail(c, 0, "%s has no accounts: give --config FILE "
	    "without ':ACCOUNT'", what);
}

void conf_address(char *dst, size_t dstlen, const char *v)
{
	const char *lt = strrchr(v, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt)
		conf_copy(dst, dstlen, lt + 1, (size_t)(gt - lt - 1));
	else
		snprintf(dst, dstlen, "%s", v);
	/* an address holds no blanks: "alice@example.com (Alice)" */
	dst[strcspn(dst, " \t")] = '\0';
}

void *conf_grow(void *items, int n, int *cap, size_t size, int max)
{
	if (n < *cap)
		return items;
	int more = *cap ? *cap * 2 : 16;
	if (more > max)
		more = max;
	void *grown = n < more ? realloc(items, (size_t)more * size) : NULL;
	if (grown)
		*cap = more;
	return grown;
}

/* ---- includes ------------------------------------------------------------ */

/* The files being read, outermost first: canonical names, malloc'd. */
struct conf_includes {
	sd_conf_read_fn read;
	int depth;
	char *open[SD_CONF_INCLUDE_DEPTH + 1];
};

/* A NUL or an endless line says "not a text file", with its line. */
static int text_ok(sd_client_conf *c, const char *text, size_t len)
{
	if (len > SD_CONF_MAX_BYTES)
		return conf_fail(c, 0, "larger than %d bytes: not a mail "
		    "client's configuration", SD_CONF_MAX_BYTES);
	conf_reader r;
	conf_line l;
	conf_reader_init(&r, text, len);
	while (conf_next_line(&r, &l)) {
		if (memchr(l.s, '\0', l.len))
			return conf_fail(c, l.no, "a NUL byte: not a text file");
		if (l.len > SD_CONF_LINE_MAX)
			return conf_fail(c, l.no, "a line longer than %d bytes",
			    SD_CONF_LINE_MAX);
	}
	return 0;
}

const char *conf_included(const sd_client_conf *c)
{
	return c->inc && c->inc->depth > 0 ? c->file : NULL;
}

const char *conf_open_file(const sd_client_conf *c, int top)
{
	if (!c->inc)
		return NULL;
	return c->inc->open[top ? 0 : c->inc->depth];
}

int conf_include(sd_client_conf *c, const char *path, int line,
    conf_body_fn body, void *state)
{
	struct conf_includes *inc = c->inc;
	if (!inc || !inc->read) {
		conf_note(c, line, "an included file (%.100s) was not read", path);
		return 0;
	}
	if (inc->depth >= SD_CONF_INCLUDE_DEPTH)
		return conf_fail(c, line, "includes nested deeper than %d",
		    SD_CONF_INCLUDE_DEPTH);
	char full[sizeof c->file + 8], canon[PATH_MAX], err[300];
	const char *home = getenv("HOME"), *slash = strrchr(c->file, '/');
	if (path[0] == '~' && path[1] == '/')
		snprintf(full, sizeof full, "%s%s", home ? home : "", path + 1);
	else if (path[0] != '/' && slash)
		snprintf(full, sizeof full, "%.*s/%s", (int)(slash - c->file),
		    c->file, path);
	else
		snprintf(full, sizeof full, "%s", path);
	if (strlen(full) >= sizeof c->file)
		return conf_fail(c, line, "an included file's name is too long");
	size_t len;
	char *text = inc->read(full, canon, sizeof canon, &len, err, sizeof err);
	if (!text) {
		conf_note(c, line, "%.200s: not read", err);
		return 0;
	}
	int rc = 0;
	for (int i = 0; i <= inc->depth && rc == 0; i++)
		if (strcmp(inc->open[i], canon) == 0)
			rc = conf_fail(c, line, "%.200s is a file already being "
			    "read (an include loop)", path);
	char outer[sizeof c->file];
	memcpy(outer, c->file, sizeof outer);
	if (rc == 0 && !(inc->open[inc->depth + 1] = strdup(canon)))
		rc = conf_fail(c, line, "out of memory");
	if (rc == 0) {
		inc->depth++;
		memcpy(c->file, full, strlen(full) + 1);
		rc = text_ok(c, text, len);
		if (rc == 0)
			rc = body(state, text, len, c);
		free(inc->open[inc->depth]);
		inc->open[inc->depth--] = NULL;
	}
	/* an error names the included file; anything else the outer one */
	if (rc == 0)
		memcpy(c->file, outer, sizeof outer);
	sd_wipe(text, len);
	free(text);
	return rc;
}

/* ---- which format ------------------------------------------------------ */

static int parse_format(const char *text, size_t len, const char *account,
    sd_client_conf *out);

typedef int (*parser)(const char *, size_t, const char *, sd_client_conf *);

/* The format from the content: the first line that only one format would
 * write decides. */
static const char *detect(const char *text, size_t len, parser *fn)
{
	conf_reader r;
	conf_line l;
	conf_reader_init(&r, text, len);
	while (conf_next_line(&r, &l)) {
		const char *p = conf_skip_ws(l.s, l.s + l.len), *e = l.s + l.len;
		size_t n = (size_t)(e - p);
		if (n == 0 || *p == '#' || *p == ';')
			continue;
		if (n > 10 && strncmp(p, "user_pref(", 10) == 0) {
			*fn = conf_thunderbird;
			return "thunderbird";
		}
		/* [sendemail], or an include that may hold it */
		if (*p == '[' && ((n > 10 && sd_strncaseeq(p + 1, "sendemail",
		    9)) || (n > 8 && sd_strncaseeq(p + 1, "include", 7)))) {
			*fn = conf_git;
			return "git";
		}
		if (*p == '[' || (n > 5 && strncmp(p, "pref(", 5) == 0))
			continue;   /* another git section, a default pref */
		if (n > 4 && (strncmp(p, "set ", 4) == 0 ||
		    strncmp(p, "unset ", 6) == 0 || strncmp(p, "source ", 7) == 0 ||
		    strncmp(p, "account-hook", 12) == 0)) {
			*fn = conf_mutt;
			return "mutt";
		}
		if ((n >= 7 && strncmp(p, "account", 7) == 0 && (n == 7 ||
		    p[7] == ' ' || p[7] == '\t')) || (n >= 8 &&
		    strncmp(p, "defaults", 8) == 0) || (n > 5 &&
		    strncmp(p, "host ", 5) == 0)) {
			*fn = conf_msmtp;
			return "msmtp";
		}
		const char *eq = memchr(p, '=', n);
		size_t k = conf_span(p, e, " \t=");
		if (eq && k < n && (sd_strncaseeq(p, "relayhost", 9) ||
		    sd_strncaseeq(p, "smtp_", 5) || sd_strncaseeq(p, "myhostname", 10) ||
		    sd_strncaseeq(p, "mydestination", 13) ||
		    sd_strncaseeq(p, "inet_", 5) || sd_strncaseeq(p, "smtpd_", 6))) {
			*fn = conf_postfix;
			return "postfix";
		}
	}
	return NULL;
}

int sd_client_conf_parse(const char *text, size_t len, const char *path,
    const char *account, sd_client_conf *out)
{
	return sd_client_conf_parse_with(text, len, path, account, NULL, out);
}

int sd_client_conf_parse_with(const char *text, size_t len, const char *path,
    const char *account, sd_conf_read_fn read, sd_client_conf *out)
{
	memset(out, 0, sizeof *out);
	snprintf(out->file, sizeof out->file, "%s", path ? path : "the file");
	if (text_ok(out, text, len) != 0)
		return -1;
	struct conf_includes inc = { .read = read };
	char canon[PATH_MAX];
	inc.open[0] = strdup(realpath(out->file, canon) ? canon : out->file);
	if (!inc.open[0])
		return conf_fail(out, 0, "out of memory");
	out->inc = &inc;
	int rc = parse_format(text, len, account, out);
	out->inc = NULL;
	free(inc.open[0]);
	return rc;
}

/* The format's parser, and the checks every format shares. */
static int parse_format(const char *text, size_t len, const char *account,
    sd_client_conf *out)
{
	parser fn = NULL;
	out->format = detect(text, len, &fn);
	if (!out->format)
		return conf_fail(out, 0, "not a configuration smtpdoctor reads "
		    "(msmtp, git send-email, mutt/neomutt, Thunderbird prefs.js, "
		    "Postfix main.cf)");
	int rc = fn(text, len, account, out);
	if (rc == 0 && !out->host[0])
		rc = conf_fail(out, 0, "no outgoing server in this %s "
		    "configuration%s%s", out->format, out->account[0] ?
		    " for " : "", out->account);
	if (rc != 0)
		sd_client_conf_wipe(out);
	return rc;
}

void sd_client_conf_wipe(sd_client_conf *c)
{
	if (c->password) {
		sd_wipe(c->password, strlen(c->password));
		free(c->password);
		c->password = NULL;
	}
}

/* ---- files --------------------------------------------------------------- */

/* Reads a regular file of at most SD_CONF_MAX_BYTES; malloc'd text. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%.200s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SD_CONF_MAX_BYTES) {
		snprintf(err, errlen, "%.200s: %s", path, S_ISREG(st.st_mode) ?
		    "too large for a configuration file" : "not a regular file");
		close(fd);
		return NULL;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	ssize_t got = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (got < 0) {
		snprintf(err, errlen, "%.200s: %s", path, strerror(errno));
		free(buf);
		return NULL;
	}
	buf[got] = '\0';
	*len = (size_t)got;
	return buf;
}

/* An included file, from the disk (sd_conf_read_fn). */
static char *read_include(const char *path, char *canon, size_t canonlen,
    size_t *len, char *err, size_t errlen)
{
	char real[PATH_MAX];
	if (!realpath(path, real)) {
		snprintf(err, errlen, "%.200s: %s", path, strerror(errno));
		return NULL;
	}
	snprintf(canon, canonlen, "%s", real);
	return read_file(real, len, err, errlen);
}

/* A profile folder of profiles.ini: Path= as written, under the folder
 * of profiles.ini unless IsRelative=0. */
typedef struct tb_folder {
	char path[PATH_MAX];
	int relative;
} tb_folder;

/* The folder as a path into dir; -1 (err set) when it does not fit,
 * rather than a cut path naming another folder. */
static int tb_folder_path(const tb_folder *f, const char *base, char *dir,
    size_t dirlen, char *err, size_t errlen)
{
	int n = snprintf(dir, dirlen, "%s%s%s", f->relative ? base : "",
	    f->relative ? "/" : "", f->path);
	if (n >= 0 && (size_t)n < dirlen)
		return 0;
	snprintf(err, errlen, "the default profile folder is longer than %zu "
	    "bytes: give it with --config (%.200s/profiles.ini)", dirlen - 1,
	    base);
	return -1;
}

/* The default profile folder named in ~/.thunderbird/profiles.ini. */
static int tb_default_profile(char *dir, size_t dirlen, char *err,
    size_t errlen)
{
	const char *home = getenv("HOME");
	char base[PATH_MAX], ini[sizeof base + sizeof "/profiles.ini"];
	int n = snprintf(base, sizeof base, "%s/.thunderbird", home ? home : "");
	if (n < 0 || (size_t)n >= sizeof base) {
		snprintf(err, errlen, "$HOME is longer than a path can be");
		return -1;
	}
	snprintf(ini, sizeof ini, "%s/profiles.ini", base);
	size_t len;
	char *text = read_file(ini, &len, err, errlen);
	if (!text)
		return -1;
	/* the [Install...] section's Default= is under base too, unless it
	 * is absolute (a profile outside ~/.thunderbird) */
	tb_folder install = { "", 1 }, def = { "", 1 }, only = { "", 1 },
	    cur = { "", 1 };
	int is_default = 0, in_install = 0, profiles = 0, too_long = 0;
	conf_reader r;
	conf_line l;
	conf_reader_init(&r, text, len);
	for (int more = 1; more && !too_long;) {
		more = conf_next_line(&r, &l);
		if (!more || (l.len && l.s[0] == '[')) {
			/* the section above ends: keep what it said */
			if (cur.path[0] && !in_install) {
				profiles++;
				only = cur;
				if (is_default)
					def = cur;
			}
			cur = (tb_folder){ "", 1 };
			is_default = 0;
			in_install = more && l.len > 8 && strncmp(l.s, "[Install", 8) == 0;
			continue;
		}
		if (l.len > 5 && strncmp(l.s, "Path=", 5) == 0)
			too_long = !conf_copy(cur.path, sizeof cur.path, l.s + 5,
			    l.len - 5);
		else if (l.len > 11 && strncmp(l.s, "IsRelative=", 11) == 0)
			cur.relative = l.s[11] == '1';
		else if (l.len > 8 && strncmp(l.s, "Default=", 8) == 0) {
			if (in_install) {
				too_long = !conf_copy(install.path,
				    sizeof install.path, l.s + 8, l.len - 8);
				install.relative = l.s[8] != '/';
			} else
				is_default = l.s[8] == '1';
		}
	}
	free(text);
	if (too_long) {
		snprintf(err, errlen, "a profile folder longer than a path can "
		    "be, line %d of %.200s", l.no, ini);
		return -1;
	}
	const tb_folder *pick = install.path[0] ? &install : def.path[0] ?
	    &def : profiles == 1 ? &only : NULL;
	if (!pick) {
		snprintf(err, errlen, "%.300s names no default profile: give the "
		    "profile folder with --config", ini);
		return -1;
	}
	return tb_folder_path(pick, base, dir, dirlen, err, errlen);
}

/* Postfix: the plain password map beside main.cf (or at its own path). */
static void postfix_secrets(sd_client_conf *c, const char *maincf)
{
	char dir[1024], path[1300], err[300];
	snprintf(dir, sizeof dir, "%s", maincf);
	char *slash = strrchr(dir, '/');
	snprintf(path, sizeof path, "%s/%s", slash ? (*slash = '\0', dir) : ".",
	    c->sasl_map);
	size_t len;
	char *text = read_file(path, &len, err, sizeof err);
	if (!text) {
		conf_note(c, c->host_line, "%s: no password read", err);
		return;
	}
	if (sd_client_conf_postfix_secrets(text, len, path, c) == 1)
		conf_note(c, c->host_line, "%.100s has no line for %.100s",
		    path, c->account);
	sd_wipe(text, len);
	free(text);
}

int sd_client_conf_load(const char *spec, sd_client_conf *out)
{
	memset(out, 0, sizeof *out);
	/* the file's name must fit whole (out->file): a cut one names
	 * another file, and its includes are found beside it */
	char path[sizeof out->file], account[256] = "", err[400];
	struct stat st;
	if (!conf_copy(path, sizeof path, spec, strlen(spec)))
		return conf_fail(out, 0, "--config: the path is longer than "
		    "%zu bytes", sizeof path - 1);
	/* an existing path always wins; otherwise FILE:ACCOUNT */
	if (stat(path, &st) != 0) {
		char *colon = strrchr(path, ':');
		if (colon) {
			snprintf(account, sizeof account, "%s", colon + 1);
			*colon = '\0';
		}
		if (strcmp(path, "thunderbird") == 0 && stat(path, &st) != 0) {
			if (tb_default_profile(path, sizeof path, err,
			    sizeof err) != 0)
				return conf_fail(out, 0, "%s", err);
		}
		if (stat(path, &st) != 0) {
			snprintf(out->file, sizeof out->file, "%s", path);
			return conf_fail(out, 0, "%s", strerror(errno));
		}
	}
	if (S_ISDIR(st.st_mode) && strlen(path) + sizeof "/prefs.js" >
	    sizeof path)
		return conf_fail(out, 0, "--config: the folder's path is longer "
		    "than %zu bytes", sizeof path - sizeof "/prefs.js");
	if (S_ISDIR(st.st_mode))
		strcat(path, "/prefs.js");
	size_t len;
	char *text = read_file(path, &len, err, sizeof err);
	if (!text) {
		snprintf(out->error, sizeof out->error, "--config: %.380s", err);
		return -1;
	}
	int rc = sd_client_conf_parse_with(text, len, path, account[0] ?
	    account : NULL, read_include, out);
	sd_wipe(text, len);
	free(text);
	if (rc == 0 && out->sasl_map[0])
		postfix_secrets(out, path);
	return rc;
}

int sd_client_conf_owned(const char *path, char *why, size_t whylen)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return 0;
	}
	if (st.st_uid != getuid()) {
		snprintf(why, whylen, "the file belongs to another user");
		return 0;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, whylen, "others may write to the file");
		return 0;
	}
	return 1;
}
