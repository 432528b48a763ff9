/* Client configuration files, one format at a time (settings/clientconf.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
		cmocka_unit_test(mutt),
		cmocka_unit_test(thunderbird),
		cmocka_unit_test(postfix),
		cmocka_unit_test(hostile),
		cmocka_unit_test(includes),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
