/* Client configuration files, one format at a time (settings/clientconf.h). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "settings/clientconf.h"

static sd_client_conf c;

static int parse(const char *text, const char *account)
{
	sd_client_conf_wipe(&c);
	return sd_client_conf_parse(text, strlen(text), "test.conf", account, &c);
}

static void msmtp(void **state)
{
	(void)state;
	const char *rc =
	    "# comment\n"
	    "defaults\n"
	    "tls on\n"
	    "account work\n"
	    "host smtp.example.net\n"
	    "port 587\n"
	    "user alice\n"
	    "password \"s3\\\"cret\"\n"
	    "from alice@example.net\n"
	    "account personal : work\n"
	    "host smtp.gmail.com\n"
	    "tls_starttls off\n"
	    "port 465\n"
	    "account default : personal\n";
	assert_int_equal(parse(rc, NULL), 0);
	assert_string_equal(c.format, "msmtp");
	assert_string_equal(c.host, "smtp.gmail.com");
	assert_int_equal(c.host_line, 11);
	assert_int_equal(c.port, 465);
	assert_int_equal(c.tls, SD_TLS_IMPLICIT);
	assert_string_equal(c.user, "alice");
	assert_string_equal(c.password, "s3\"cret");
	assert_int_equal(parse(rc, "work"), 0);
	assert_string_equal(c.host, "smtp.example.net");
	assert_int_equal(c.tls, SD_TLS_STARTTLS);
	/* tls off is msmtp's default, and port 25 with it */
	assert_int_equal(parse("account default\nhost h.example\n", NULL), 0);
	assert_int_equal(c.tls, SD_TLS_NONE);
	assert_int_equal(c.port, 25);
	assert_int_equal(parse("account default\nhost x\npasswordeval "
	    "\"pass show mail\"\n", NULL), 0);
	assert_string_equal(c.password_cmd, "pass show mail");
	assert_null(c.password);
	assert_int_equal(parse("account a : b\nhost x\naccount b : a\n"
	    "account default : a\n", NULL), -1);
	assert_non_null(strstr(c.error, "loop"));
	assert_int_equal(parse("account work\nhost x\n", NULL), -1);
	assert_non_null(strstr(c.error, "no account 'default'"));
	assert_non_null(strstr(c.error, "work"));
	assert_int_equal(parse("account default\nhost \"x\n", NULL), -1);
	assert_non_null(strstr(c.error, "test.conf line 2"));
}

static void git(void **state)
{
	(void)state;
	const char *gc =
	    "[user]\n\tname = Alice\n"
	    "[sendemail]\n"
	    "\tsmtpServer = smtp.example.net\n"
	    "\tSMTPServerPort = 587 ; a comment\n"
	    "\tsmtpEncryption = tls\n"
	    "\tsmtpUser = \"alice\"\n"
	    "\tsmtpPass = \"pa ss#word\"\n"
	    "\tfrom = Alice <alice@example.net>\n"
	    "[sendemail \"work\"]\n"
	    "\tsmtpServer = smtp.work.example\n"
	    "\tsmtpEncryption = ssl\n";
	assert_int_equal(parse(gc, NULL), 0);
	assert_string_equal(c.format, "git");
	assert_string_equal(c.host, "smtp.example.net");
	assert_int_equal(c.port, 587);
	assert_int_equal(c.tls, SD_TLS_STARTTLS);
	assert_string_equal(c.password, "pa ss#word");
	assert_string_equal(c.from, "alice@example.net");
	assert_string_equal(c.git_prefix, "");
	/* an identity's server; smtpEncryption is not subject to identities */
	assert_int_equal(parse(gc, "work"), 0);
	assert_string_equal(c.host, "smtp.work.example");
	assert_string_equal(c.git_prefix, "work.");
	assert_int_equal(c.tls, SD_TLS_STARTTLS);
	assert_int_equal(parse(gc, "nobody"), -1);
	assert_int_equal(parse("[sendemail]\n\tsmtpServer = smtp.\\\n"
	    "example.net\n", NULL), 0);
	assert_string_equal(c.host, "smtp.example.net");
	assert_int_equal(c.port, 25);
	assert_int_equal(parse("[sendemail]\n\tsmtpServer = /usr/bin/msmtp\n",
	    NULL), -1);
	assert_non_null(strstr(c.error, "a program"));
	assert_int_equal(parse("[sendemail]\n\tsmtpServer = \"x\n", NULL), -1);
	assert_int_equal(parse("[sendemail]\n\tsmtpssl = true\n\tsmtpserver = "
	    "s.example\n", NULL), 0);
	assert_int_equal(c.tls, SD_TLS_IMPLICIT);
	assert_int_equal(c.port, 465);
}

/* A subsection is kept whole or refused, never cut: a cut identity could
 * match another one (the old form's lost all its name and became the
 * default's settings), a cut includeIf condition test another. */
static void git_long_subsections(void **state)
{
	(void)state;
	char text[1400], name[1100];
	memset(name, 'w', 200);
	name[200] = '\0';
	snprintf(text, sizeof text, "[sendemail \"%s\"]\n\tsmtpServer = "
	    "id.example\n", name);
	assert_int_equal(parse(text, NULL), -1);
	assert_non_null(strstr(c.error, "line 1: an identity name longer than "
	    "127 bytes"));
	snprintf(text, sizeof text, "[sendemail.%s]\n\tsmtpServer = "
	    "id.example\n", name);
	assert_int_equal(parse(text, NULL), -1);
	assert_non_null(strstr(c.error, "an identity name longer than"));
	/* 127 bytes fit */
	name[127] = '\0';
	snprintf(text, sizeof text, "[sendemail \"%s\"]\n\tsmtpServer = "
	    "id.example\n", name);
	assert_int_equal(parse(text, name), 0);
	assert_string_equal(c.host, "id.example");
	/* a long subsection of another section is no identity: it fits */
	memset(name, 'd', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	snprintf(text, sizeof text, "[includeIf \"gitdir:/%.1000s/\"]\n"
	    "[sendemail]\n\tsmtpServer = s.example\n", name);
	assert_int_equal(parse(text, NULL), 0);
	assert_string_equal(c.host, "s.example");
	snprintf(text, sizeof text, "[includeIf \"gitdir:/%s/\"]\n",
	    name);
	assert_int_equal(parse(text, NULL), -1);
	assert_non_null(strstr(c.error, "a subsection name longer than 1024 "
	    "bytes"));
}

static void mutt(void **state)
{
	(void)state;
	const char *mr =
	    "set from = \"Alice <alice@example.net>\"\n"
	    "set smtp_url = \"smtp://alice%40example.net:hun%74er2@smtp.example.net:587/\"\n"
	    "set smtp_pass = `pass show mail`\n"
	    "source \"~/bin/secrets|\"\n";
	assert_int_equal(parse(mr, NULL), 0);
	assert_string_equal(c.format, "mutt");
	assert_string_equal(c.host, "smtp.example.net");
	assert_int_equal(c.port, 587);
	assert_int_equal(c.tls, SD_TLS_STARTTLS);
	assert_string_equal(c.user, "alice@example.net");
	assert_string_equal(c.url_user, "alice%40example.net@");
	assert_string_equal(c.password, "hunter2");
	assert_int_equal(c.n_notes, 2);
	assert_non_null(strstr(c.notes[0], "backtick"));
	assert_non_null(strstr(c.notes[1], "not run"));
	for (int i = 0; i < c.n_notes; i++)
		assert_null(strstr(c.notes[i], "hunter2"));
	assert_int_equal(parse("set smtp_url=smtps://mail.example.net\n", NULL), 0);
	assert_int_equal(c.tls, SD_TLS_IMPLICIT);
	assert_int_equal(c.port, 465);
	assert_int_equal(parse("set ssl_starttls=no\nset smtp_url=smtp://m.example\n",
	    NULL), 0);
	assert_int_equal(c.tls, SD_TLS_NONE);
	assert_int_equal(parse("set from=a@b.example\n", NULL), -1);
	assert_non_null(strstr(c.error, "smtp_url"));
	assert_int_equal(parse(mr, "acct"), -1);
}

static void thunderbird(void **state)
{
	(void)state;
	const char *pj =
	    "// Mozilla User Preferences\n"
	    "user_pref(\"mail.identity.id1.useremail\", \"alice@example.net\");\n"
	    "user_pref(\"mail.identity.id1.smtpServer\", \"smtp2\");\n"
	    "user_pref(\"mail.smtp.defaultserver\", \"smtp1\");\n"
	    "user_pref(\"mail.smtpserver.smtp1.hostname\", \"smtp.example.net\");\n"
	    "user_pref(\"mail.smtpserver.smtp1.port\", 465);\n"
	    "user_pref(\"mail.smtpserver.smtp1.try_ssl\", 3);\n"
	    "user_pref(\"mail.smtpserver.smtp2.hostname\", \"smtp2.example.net\");\n"
	    "user_pref(\"mail.smtpserver.smtp2.try_ssl\", 2);\n"
	    "user_pref(\"mail.smtpserver.smtp2.authMethod\", 10);\n";
	assert_int_equal(parse(pj, NULL), 0);
	assert_string_equal(c.format, "thunderbird");
	assert_string_equal(c.host, "smtp.example.net");
	assert_int_equal(c.host_line, 5);
	assert_int_equal(c.port, 465);
	assert_int_equal(c.tls, SD_TLS_IMPLICIT);
	assert_int_equal(parse(pj, "ALICE@example.net"), 0);
	assert_string_equal(c.host, "smtp2.example.net");
	assert_int_equal(c.port, 587);
	assert_int_equal(c.tls, SD_TLS_STARTTLS);
	assert_string_equal(c.auth, "XOAUTH2");
	assert_string_equal(c.from, "alice@example.net");
	assert_int_equal(parse(pj, "bob@example.net"), -1);
	assert_int_equal(parse("user_pref(\"mail.smtpserver.s.hostname\", \"x);\n",
	    NULL), -1);
}

static void postfix(void **state)
{
	(void)state;
	const char *mc =
	    "myhostname = host.example.net\n"
	    "relayhost = [smtp.example.net]:587\n"
	    "smtp_sasl_auth_enable = yes\n"
	    "smtp_sasl_password_maps = hash:/etc/postfix/sasl_passwd\n"
	    "smtp_tls_security_level =\n    encrypt\n";
	assert_int_equal(parse(mc, NULL), 0);
	assert_string_equal(c.format, "postfix");
	assert_string_equal(c.host, "smtp.example.net");
	assert_int_equal(c.port, 587);
	assert_int_equal(c.tls, SD_TLS_STARTTLS);
	assert_string_equal(c.sasl_map, "sasl_passwd");
	const char *sp = "# comment\n[other]:25 x:y\n[smtp.example.net]:587 "
	    "alice:top:secret\n";
	assert_int_equal(sd_client_conf_postfix_secrets(sp, strlen(sp), "sp",
	    &c), 0);
	assert_string_equal(c.user, "alice");
	assert_string_equal(c.password, "top:secret");
	assert_int_equal(parse("relayhost =\nmyhostname = x\n", NULL), -1);
	assert_non_null(strstr(c.error, "relayhost is empty"));
	assert_int_equal(parse("relayhost = smtp.example.net:submission\n", NULL), -1);
	assert_int_equal(parse("relayhost = smtp.example.net\n"
	    "smtp_tls_wrappermode = yes\n", NULL), 0);
	assert_int_equal(c.tls, SD_TLS_IMPLICIT);
	assert_int_equal(c.port, 25);
	assert_true(c.no_auth);
}

static void hostile(void **state)
{
	(void)state;
	static char big[20000];
	memset(big, 'a', sizeof big - 1);
	memcpy(big, "host ", 5);
	assert_int_equal(parse(big, NULL), -1);
	assert_non_null(strstr(c.error, "line 1"));
	assert_int_equal(sd_client_conf_parse("account default\nhost a\0b\n", 25,
	    "nul.conf", NULL, &c), -1);
	assert_non_null(strstr(c.error, "NUL"));
	assert_int_equal(parse("just some text\n", NULL), -1);
	assert_int_equal(parse("", NULL), -1);
}

/* head, then fmt (taking a line's number) for lines first..last:
 * malloc'd. */
static char *lines(const char *head, const char *fmt, int first, int last)
{
	size_t cap = strlen(head) + 1 +
	    (size_t)(last - first + 1) * (strlen(fmt) + 12);
	char *t = malloc(cap), *p = t;
	assert_non_null(t);
	p += sprintf(p, "%s", head);
	for (int i = first; i <= last; i++)
		p += sprintf(p, fmt, i);
	return t;
}

/* A bound of what a parse keeps: up to line `last` the file is read (its
 * server is smtp.example.net), one line more is refused with `error`. */
static void bound(const char *head, const char *fmt, int first, int last,
    const char *error)
{
	char *t = lines(head, fmt, first, last);
	assert_int_equal(parse(t, NULL), 0);
	assert_string_equal(c.host, "smtp.example.net");
	free(t);
	t = lines(head, fmt, first, last + 1);
	assert_int_equal(parse(t, NULL), -1);
	assert_string_equal(c.error, error);
	free(t);
}

/* The bounds hold as they always did, with the same words, whatever the
 * storage behind them. */
static void limits(void **state)
{
	(void)state;
	bound("user_pref(\"mail.smtp.defaultserver\", \"s\");\n"
	    "user_pref(\"mail.smtpserver.s.hostname\", "
	    "\"smtp.example.net\");\n",
	    "user_pref(\"mail.identity.id%d.fullName\", \"A\");\n", 3, 4096,
	    "test.conf line 4097: more than 4096 mail preferences");
	bound("relayhost = [smtp.example.net]:587\n", "p%d = x\n", 2, 512,
	    "test.conf line 513: more than 512 parameters");
	bound("account default\nhost smtp.example.net\n", "logfile /l%d\n", 3,
	    2049, "test.conf line 2050: more than 2048 settings");
	bound("account default\nhost smtp.example.net\n", "account a%d\n", 3,
	    65, "test.conf line 66: more than 64 accounts");
	bound("[sendemail]\n\tsmtpServer = smtp.example.net\n",
	    "\tsmtpDomain%d = x\n", 3, 513,
	    "test.conf line 514: more than 512 sendemail settings");
	/* a value of SD_CONF_VALUE_MAX bytes, and one more */
	char v[SD_CONF_VALUE_MAX + 2], t[SD_CONF_VALUE_MAX + 200];
	memset(v, 'a', sizeof v - 1);
	v[sizeof v - 1] = '\0';
	v[SD_CONF_VALUE_MAX] = '\0';
	snprintf(t, sizeof t, "user_pref(\"mail.smtpservers\", \"s\");\n"
	    "user_pref(\"mail.smtpserver.s.hostname\", \"%s\");\n", v);
	assert_int_equal(parse(t, NULL), 0);
	assert_int_equal(strlen(c.host), 255);
	snprintf(t, sizeof t, "relayhost = x\nmyhostname = %s\n", v);
	assert_int_equal(parse(t, NULL), 0);
	v[SD_CONF_VALUE_MAX] = 'a';
	snprintf(t, sizeof t, "user_pref(\"mail.smtpservers\", \"s\");\n"
	    "user_pref(\"mail.smtpserver.s.hostname\", \"%s\");\n", v);
	assert_int_equal(parse(t, NULL), -1);
	assert_string_equal(c.error, "test.conf line 2: a value too long");
	snprintf(t, sizeof t, "relayhost = x\nmyhostname = %s\n", v);
	assert_int_equal(parse(t, NULL), -1);
	assert_string_equal(c.error, "test.conf line 2: a value too long");
	/* main.cf: a continuation line is kept while the value stays within
	 * SD_CONF_VALUE_MAX bytes (1018 + " /more"), dropped past it (the
	 * map's file name is what follows the value's last '/') */
	memset(v, 'x', 1018 - 17);
	v[1018 - 17] = '\0';
	const char *mc = "relayhost = x\nsmtp_sasl_auth_enable = yes\n"
	    "smtp_sasl_password_maps = hash:%s/sasl_passwd\n%s/more\n";
	snprintf(t, sizeof t, mc, v, " ");
	assert_int_equal(parse(t, NULL), 0);
	assert_string_equal(c.sasl_map, "more");
	snprintf(t, sizeof t, mc, v, "  x");
	assert_int_equal(parse(t, NULL), 0);
	assert_string_equal(c.sasl_map, "sasl_passwd");
	/* a preference name of 160 bytes or more is none of ours */
	char key[140];
	memset(key, 'k', sizeof key);
	for (int k = 134; k <= 135; k++) {
		snprintf(t, sizeof t, "user_pref(\"mail.smtpservers\", "
		    "\"%.*s\");\nuser_pref(\"mail.smtpserver.%.*s.hostname\", "
		    "\"h.example\");\n", k, key, k, key);
		assert_int_equal(parse(t, NULL), k == 134 ? 0 : -1);
	}
	assert_non_null(strstr(c.error, "no outgoing server"));
}

/* Two parses at once, each in a thread of its own and of its own file:
 * both must give their own file's server every time (the parsers share
 * nothing; when they kept their settings in function statics this gave
 * the other file's server, or crashed).  The files are long enough that
 * a parse takes a while. */
#define RACE_ROUNDS 300

typedef struct racer {
	char *text;
	char host[64];
	int wrong;      /* parses that did not give host */
} racer;

static void *race(void *arg)
{
	racer *r = arg;
	for (int i = 0; i < RACE_ROUNDS; i++) {
		sd_client_conf mine;
		if (sd_client_conf_parse(r->text, strlen(r->text), "race.conf",
		    NULL, &mine) != 0 || strcmp(mine.host, r->host) != 0)
			r->wrong++;
		sd_client_conf_wipe(&mine);
	}
	return NULL;
}

static void two_threads(void **state)
{
	(void)state;
	/* head (taking the host), padding (a line's number), per format */
	static const char *const formats[][2] = {
		{ "user_pref(\"mail.smtp.defaultserver\", \"s\");\n"
		  "user_pref(\"mail.smtpserver.s.hostname\", \"%s\");\n",
		  "user_pref(\"mail.identity.id%d.fullName\", \"Alice\");\n" },
		{ "relayhost = [%s]:587\n", "smtp_param_%d = some value\n" },
		{ "account default\nhost %s\n", "logfile /var/log/msmtp.%d\n" },
		{ "[sendemail]\n\tsmtpServer = %s\n", "\tsmtpDomain%d = x\n" },
	};
	int wrong = 0;
	for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
		racer r[2];
		pthread_t t[2];
		for (int i = 0; i < 2; i++) {
			char head[200];
			snprintf(r[i].host, sizeof r[i].host, "smtp%d.example.net",
			    i);
			snprintf(head, sizeof head, formats[f][0], r[i].host);
			r[i].text = lines(head, formats[f][1], 3, 400);
			r[i].wrong = 0;
		}
		for (int i = 0; i < 2; i++)
			assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]),
			    0);
		for (int i = 0; i < 2; i++) {
			pthread_join(t[i], NULL);
			free(r[i].text);
		}
		for (int i = 0; i < 2; i++) {
			if (r[i].wrong)
				fprintf(stderr, "# format %zu, thread %d: %d of %d "
				    "parses wrong\n", f, i, r[i].wrong, RACE_ROUNDS);
			wrong += r[i].wrong;
		}
	}
	assert_int_equal(wrong, 0);
}

/* Included files, from memory: "/virt/NAME" holds files[NAME]; chainN
 * includes chainN+1 for ever. */
static const char *const files[][2] = {
	{ "mail.inc", "[sendemail]\n\tsmtpServer = smtp.example.net\n"
	    "\tsmtpServerPort = 465\n\tsmtpEncryption = ssl\n" },
	{ "self.conf", "[include]\n\tpath = self.conf\n" },
	{ "account.rc", "set smtp_url = smtps://alice@mail.example.net/\n"
	    "set smtp_pass = \"s3cret\"\n" },
	{ "a.rc", "source b.rc\n" },
	{ "b.rc", "source ~/../virt/a.rc\n" },
};

static char *virt_read(const char *path, char *canon, size_t canonlen,
    size_t *len, char *err, size_t errlen)
{
	snprintf(canon, canonlen, "%s", path);
	int n;
	if (sscanf(path, "/virt/chain%d", &n) == 1) {
		char text[100];
		snprintf(text, sizeof text, "[include]\n\tpath = chain%d\n", n + 1);
		*len = strlen(text);
		return strdup(text);
	}
	/* "~/../virt/a.rc" with HOME=/virt: the same file, another name */
	if (strcmp(path, "/virt/../virt/a.rc") == 0)
		snprintf(canon, canonlen, "/virt/a.rc");
	const char *base = strrchr(canon, '/');
	for (size_t i = 0; base && i < sizeof files / sizeof files[0]; i++)
		if (strcmp(base + 1, files[i][0]) == 0) {
			*len = strlen(files[i][1]);
			return strdup(files[i][1]);
		}
	snprintf(err, errlen, "%s: No such file or directory", path);
	return NULL;
}

static int parse_in(const char *name, const char *text)
{
	char path[100];
	snprintf(path, sizeof path, "/virt/%s", name);
	sd_client_conf_wipe(&c);
	int rc = sd_client_conf_parse_with(text, strlen(text), path, NULL,
	    virt_read, &c);
	if (rc)
		fprintf(stderr, "# %s\n", c.error);
	return rc;
}

/* The server a repository's .git/config gives: its own [sendemail]
 * (s.example), then an [includeIf] of mail.inc (smtp.example.net): the
 * later setting wins, so the include's server means it was followed. */
static const char *include_if(const char *repo_file, const char *cond)
{
	char text[600];
	snprintf(text, sizeof text, "[sendemail]\n\tsmtpServer = s.example\n"
	    "[includeIf \"%s\"]\n\tpath = mail.inc\n", cond);
	if (parse_in(repo_file, text) != 0)
		return "error";
	return c.host;
}

/* gitdir: decided for a repository's own config, as git prepares the
 * pattern; the rest noted (HOME=/virt) */
static void git_include_if(void)
{
	const char *repo = "w/proj/.git/config";
	assert_string_equal(include_if(repo, "gitdir:~/w/"), "smtp.example.net");
	assert_non_null(strstr(c.notes[0], "holds"));
	assert_string_equal(include_if(repo, "gitdir:/virt/w/"),
	    "smtp.example.net");
	assert_string_equal(include_if(repo, "gitdir:/virt/x/"), "s.example");
	assert_non_null(strstr(c.notes[0], "does not hold"));
	/* relative: any directories before it */
	assert_string_equal(include_if(repo, "gitdir:proj/.git"),
	    "smtp.example.net");
	assert_string_equal(include_if(repo, "gitdir:w/"), "smtp.example.net");
	assert_string_equal(include_if(repo, "gitdir:roj/.git"), "s.example");
	/* '*' stops at '/', "**" does not; classes; case */
	assert_string_equal(include_if(repo, "gitdir:/virt/*/.git"),
	    "s.example");
	assert_string_equal(include_if(repo, "gitdir:/virt/**/.git"),
	    "smtp.example.net");
	assert_string_equal(include_if(repo, "gitdir:/virt/w/p[a-r]oj/.gi?"),
	    "smtp.example.net");
	assert_string_equal(include_if(repo, "gitdir:/virt/w/p[!r]oj/.git"),
	    "s.example");
	assert_string_equal(include_if(repo, "gitdir:~/W/"), "s.example");
	assert_string_equal(include_if(repo, "gitdir/i:~/W/"),
	    "smtp.example.net");
	/* "./": the directory of the file holding it, matched literally (in
	 * .git/config itself that is the git directory: never below it) */
	assert_string_equal(include_if(repo, "gitdir:./"), "s.example");
	assert_string_equal(include_if(repo, "gitdir:./../.git"), "s.example");
	/* what the file cannot decide: noted, not followed */
	assert_string_equal(include_if(repo, "onbranch:main"), "s.example");
	assert_non_null(strstr(c.notes[0], "only gitdir:"));
	assert_string_equal(include_if(repo, "hasconfig:remote.*.url:x"),
	    "s.example");
	/* hostile patterns: no hang, no match */
	char pat[400] = "gitdir:/";
	for (int i = 0; i < 60; i++)
		strcat(pat, "*a");
	strcat(pat, "b");
	assert_string_equal(include_if(repo, pat), "s.example");
	assert_string_equal(include_if(repo, "gitdir:[[[[[[**/**/**/**/**/"
	    "**/**/**/**/**/**/**/x"), "s.example");
	assert_string_equal(include_if(repo, "gitdir:/virt/\\\\"), "s.example");
	/* a quote escaped away is the config's own error, as for git */
	assert_string_equal(include_if(repo, "gitdir:\\"), "error");
	assert_non_null(strstr(c.error, "closing"));
}

static void includes(void **state)
{
	(void)state;
	setenv("HOME", "/virt", 1);
	/* git: [include] path, relative to the including file */
	assert_int_equal(parse_in("gitconfig", "[user]\n\tname = Alice\n"
	    "[include]\n\tpath = mail.inc\n[user]\n\temail = a@example.net\n"), 0);
	assert_string_equal(c.format, "git");
	assert_string_equal(c.host, "smtp.example.net");
	assert_int_equal(c.port, 465);
	assert_int_equal(c.tls, SD_TLS_IMPLICIT);
	assert_string_equal(c.host_file, "/virt/mail.inc");
	assert_int_equal(c.host_line, 2);
	assert_string_equal(c.file, "/virt/gitconfig");
	/* a missing file is noted, as git ignores it */
	assert_int_equal(parse_in("gitconfig", "[include]\n\tpath = gone.inc\n"
	    "[sendemail]\n\tsmtpServer = s.example\n"), 0);
	assert_string_equal(c.host_file, "");
	assert_non_null(strstr(c.notes[0], "not read"));
	/* a loop, and a chain deeper than git's 10 */
	assert_int_equal(parse_in("self.conf", "[include]\n\tpath = self.conf\n"),
	    -1);
	assert_non_null(strstr(c.error, "include loop"));
	assert_non_null(strstr(c.error, "line 2"));
	assert_int_equal(parse_in("chain0", "[include]\n\tpath = chain1\n"), -1);
	assert_non_null(strstr(c.error, "deeper than 10"));
	/* includeIf: a global file does not know the repository */
	assert_int_equal(parse_in("gitconfig", "[includeIf \"gitdir:~/w/\"]\n"
	    "\tpath = mail.inc\n[sendemail]\n\tsmtpServer = s.example\n"), 0);
	assert_string_equal(c.host, "s.example");
	assert_non_null(strstr(c.notes[0], "not followed"));
	git_include_if();
	/* mutt: source FILE; "cmd|" never runs */
	assert_int_equal(parse_in("muttrc", "source \"~/bin/pw|\"\n"
	    "source account.rc\n"), 0);
	assert_string_equal(c.format, "mutt");
	assert_string_equal(c.host, "mail.example.net");
	assert_int_equal(c.port, 465);
	assert_string_equal(c.host_file, "/virt/account.rc");
	assert_string_equal(c.password, "s3cret");
	assert_non_null(strstr(c.notes[0], "not run"));
	/* a loop through another name of the same file */
	assert_int_equal(parse_in("a.rc", "source b.rc\n"), -1);
	assert_non_null(strstr(c.error, "include loop"));
	assert_null(c.password);
	/* without a reader (the fuzzer's parse): noted, not read */
	const char *mr = "source account.rc\nset smtp_url=smtp://m.example\n";
	assert_int_equal(sd_client_conf_parse(mr, strlen(mr), "m", NULL, &c), 0);
	assert_non_null(strstr(c.notes[0], "was not read"));
}

/* dir/name into out (PATH_MAX bytes). */
static char *join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	assert_true(n > 0 && n < PATH_MAX);
	return out;
}

/* Writes `text` to dir/name. */
static void put(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f = fopen(join(path, dir, name), "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* profiles.ini naming a folder that, joined to a long $HOME, is longer
 * than a --config path can be, or a Path= longer than any path: a clear
 * error, not a cut path (another folder) nor "no default profile". */
static void thunderbird_long_profile_path(void **state)
{
	(void)state;
	char top[] = "/tmp/sd-tb-XXXXXX", home[PATH_MAX], tb[PATH_MAX];
	assert_non_null(mkdtemp(top));
	/* a $HOME of 4 levels of 200 bytes: 800 and more */
	char level[201];
	memset(level, 'h', 200);
	level[200] = '\0';
	snprintf(home, sizeof home, "%s", top);
	for (int i = 0; i < 4; i++) {
		char up[PATH_MAX];
		snprintf(up, sizeof up, "%s", home);
		assert_int_equal(mkdir(join(home, up, level), 0700), 0);
	}
	assert_int_equal(mkdir(join(tb, home, ".thunderbird"), 0700), 0);
	char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	setenv("HOME", home, 1);

	/* a short folder under the long $HOME is found and read */
	char dir[PATH_MAX], path[PATH_MAX];
	assert_int_equal(mkdir(join(dir, tb, "abc"), 0700), 0);
	put(dir, "prefs.js", "user_pref(\"mail.smtpserver.smtp1.hostname\", "
	    "\"smtp.example.net\");\nuser_pref(\"mail.smtp.defaultserver\", "
	    "\"smtp1\");\n");
	put(tb, "profiles.ini", "[Profile0]\nIsRelative=1\nPath=abc\n"
	    "Default=1\n");
	sd_client_conf_wipe(&c);
	assert_int_equal(sd_client_conf_load("thunderbird", &c), 0);
	assert_string_equal(c.host, "smtp.example.net");
	/* an [Install...] section naming it by its absolute path (a profile
	 * kept outside ~/.thunderbird) is taken as it is */
	char install[PATH_MAX + 64];
	snprintf(install, sizeof install, "[Install4F96D1932A9F858E]\n"
	    "Default=%s\nLocked=1\n", dir);
	put(tb, "profiles.ini", install);
	sd_client_conf_wipe(&c);
	assert_int_equal(sd_client_conf_load("thunderbird", &c), 0);
	assert_string_equal(c.host, "smtp.example.net");

	/* joined, over the 1023 bytes of a --config path */
	char ini[700];
	snprintf(ini, sizeof ini, "[Profile0]\nIsRelative=1\nPath=%s\n"
	    "Default=1\n", level);
	put(tb, "profiles.ini", ini);
	sd_client_conf_wipe(&c);
	assert_int_equal(sd_client_conf_load("thunderbird", &c), -1);
	assert_non_null(strstr(c.error, "the default profile folder is longer "
	    "than 1023 bytes: give it with --config"));

	/* a Path= longer than any path */
	size_t big = PATH_MAX + 100;
	char *text = malloc(big + 100);
	assert_non_null(text);
	int n = snprintf(text, 100, "[Profile0]\nIsRelative=0\nPath=");
	memset(text + n, 'p', big);
	snprintf(text + n + big, 100, "\nDefault=1\n");
	put(tb, "profiles.ini", text);
	free(text);
	sd_client_conf_wipe(&c);
	assert_int_equal(sd_client_conf_load("thunderbird", &c), -1);
	assert_non_null(strstr(c.error, "a profile folder longer than a path "
	    "can be, line 3 of "));

	if (old_home) {
		setenv("HOME", old_home, 1);
		free(old_home);
	} else {
		unsetenv("HOME");
	}
	assert_int_equal(unlink(join(path, dir, "prefs.js")), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(unlink(join(path, tb, "profiles.ini")), 0);
	assert_int_equal(rmdir(tb), 0);
	for (int i = 0; i < 4; i++) {
		rmdir(home);
		*strrchr(home, '/') = '\0';
	}
	assert_int_equal(rmdir(top), 0);
}

/* No profiles.ini: the error names the file it looked for, with nothing
 * before it (no file had been read to name). */
static void thunderbird_no_profiles(void **state)
{
	(void)state;
	char top[] = "/tmp/sd-tb-XXXXXX";
	assert_non_null(mkdtemp(top));
	char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	setenv("HOME", top, 1);
	sd_client_conf_wipe(&c);
	assert_int_equal(sd_client_conf_load("thunderbird", &c), -1);
	char want[PATH_MAX];
	snprintf(want, sizeof want, "%s/.thunderbird/profiles.ini: ", top);
	assert_int_equal(strncmp(c.error, want, strlen(want)), 0);
	if (old_home) {
		setenv("HOME", old_home, 1);
		free(old_home);
	} else {
		unsetenv("HOME");
	}
	assert_int_equal(rmdir(top), 0);
}

static int teardown(void **state)
{
	(void)state;
	sd_client_conf_wipe(&c);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(msmtp),
		cmocka_unit_test(git),
		cmocka_unit_test(git_long_subsections),
		cmocka_unit_test(mutt),
		cmocka_unit_test(thunderbird),
		cmocka_unit_test(thunderbird_long_profile_path),
		cmocka_unit_test(thunderbird_no_profiles),
		cmocka_unit_test(postfix),
		cmocka_unit_test(hostile),
		cmocka_unit_test(limits),
		cmocka_unit_test(two_threads),
		cmocka_unit_test(includes),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
