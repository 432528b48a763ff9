/*
 * A mail client's own configuration as the settings of a check (SPEC
 * §2.1 --config FILE[:ACCOUNT]): msmtp, git send-email (git config files),
 * mutt/neomutt, Thunderbird (prefs.js or a profile folder) and Postfix
 * (main.cf with the plain sasl_passwd beside it).  The format is
 * recognised from the content, never from the file's name.
 *
 * Nothing here runs a command: a passwordeval is handed back for the
 * caller to run under its own rules, mutt backticks and `source "cmd|"`
 * are only noted.  Included files (git's [include] path, mutt's `source
 * FILE`) are read as the file itself is, and only set values: nothing in
 * them runs, and msmtp, whose passwordeval does, has no includes.  A password the file holds lives in `password` until
 * sd_client_conf_wipe(); it is never copied into any other member, and
 * no member holds a line that contained it.
 */
#ifndef SD_SETTINGS_CLIENTCONF_H
#define SD_SETTINGS_CLIENTCONF_H

#include <stddef.h>

#include "smtpdoctor/smtpdoctor.h"

/* A configuration file larger than this is not one (msmtprc files are a
 * few KiB; prefs.js of a big profile a few hundred). */
#define SD_CONF_MAX_BYTES (4 * 1024 * 1024)
/* One line of a file, beyond which it is refused (naming the line). */
#define SD_CONF_LINE_MAX 8192
#define SD_CONF_VALUE_MAX 1024

typedef struct sd_client_conf {
	const char *format;        /* "msmtp", "git", "mutt", "thunderbird",
	                              "postfix" */
	char file[1024];           /* the file read (prefs.js for a profile) */
	char account[256];         /* the account, identity or address used */
	char host[256];
	int host_line;
	int port;                  /* 0 = the client's default for the mode */
	sd_tls_mode tls;
	int tls_line;
	char user[513];
	char from[256];
	char auth[32];             /* a mechanism the file names, or "" */
	char *password;            /* malloc'd secret or NULL: wipe it */
	int password_line;
	char password_cmd[SD_CONF_VALUE_MAX + 1];  /* msmtp passwordeval */
	int password_cmd_line;
	int no_auth;               /* the file switches AUTH off */
	char sasl_map[256];        /* Postfix: smtp_sasl_password_maps' file
	                              name, read beside main.cf */
	char url_user[513];        /* mutt: the smtp_url's user part, as written */
	char git_prefix[300];      /* git: "IDENTITY." when an identity is used */
	char host_file[1024];      /* the included file holding the server
	                              setting ("" when it is `file`) */
	struct conf_includes *inc; /* while parsing (clientconf.c) */
	char notes[4][300];        /* what was seen and not done (a backtick
	                              not run, an include not followed) */
	int n_notes;
	char error[400];           /* a malformed file: names file and line */
} sd_client_conf;

/*
 * Parses text as the configuration of `path` (used in messages), picking
 * `account` (NULL: the format's default).  Returns 0, or -1 with
 * out->error.  Reads no other file: Postfix's sasl_passwd is given with
 * sd_client_conf_postfix_secrets().  Used by the fuzzer directly.
 */
int sd_client_conf_parse(const char *text, size_t len, const char *path,
    const char *account, sd_client_conf *out);

/*
 * Reads the file an include names (git's [include] path, mutt's source):
 * malloc'd text and its length, its canonical name into canon (a loop is
 * a file already being read), or NULL with err.
 */
typedef char *(*sd_conf_read_fn)(const char *path, char *canon,
    size_t canonlen, size_t *len, char *err, size_t errlen);
/* sd_client_conf_parse, following includes through read (NULL: they are
 * noted, not followed), at most SD_CONF_INCLUDE_DEPTH deep. */
#define SD_CONF_INCLUDE_DEPTH 10
int sd_client_conf_parse_with(const char *text, size_t len, const char *path,
    const char *account, sd_conf_read_fn read, sd_client_conf *out);

/*
 * --config SPEC: FILE[:ACCOUNT], a Thunderbird profile folder, or
 * thunderbird[:ACCOUNT] (the default profile of ~/.thunderbird).  An
 * existing path always wins; otherwise the split is at the last ':'.
 * Reads the file(s); returns 0, or -1 with out->error for a usage error.
 */
int sd_client_conf_load(const char *spec, sd_client_conf *out);

/* Postfix: the user:password of `relay` from sasl_passwd text. */
int sd_client_conf_postfix_secrets(const char *text, size_t len,
    const char *path, sd_client_conf *c);

/* Does the file belong to the invoking user and is it writable by
 * nobody else?  (A command it names may run only then.) */
int sd_client_conf_owned(const char *path, char *why, size_t whylen);

/* Wipes and frees the password. */
void sd_client_conf_wipe(sd_client_conf *c);

#endif
