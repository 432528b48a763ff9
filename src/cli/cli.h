/* The command-line front end: parsed arguments shared by the commands. */
#ifndef SD_CLI_H
#define SD_CLI_H

#include <stdio.h>

#include "dns/dns.h"
#include "settings/clientconf.h"
#include "settings/server.h"
#include "smtpdoctor/smtpdoctor.h"

#define SD_CLI_MAX_LIST 64   /* repeatable options: at most this many each */
/* --resolver: at most this many (the stub resolver keeps 8 servers) */
#define SD_CLI_MAX_RESOLVERS 8

typedef struct sd_cli {
	const char *command;      /* "check", "domain", "spf", "bounce" */
	sd_options opt;
	int json;                 /* format is JSON: usage errors too */
	sd_format format;
	int format_set;           /* --format or --json given */
	const char *output;       /* --output FILE, or NULL for stdout */
	int help;                 /* --help: print the command's help */
	int color;                /* resolved: TTY and no NO_COLOR/--no-color */
	const char *positional[4];
	int n_positional;

	/* check */
	sd_check_params check;
	const char *password_file, *password_env, *password_cmd;
	const char *config;

	/* spf */
	const char *helo;

	/* domain */
	const char *ips[SD_CLI_MAX_LIST];
	size_t n_ips;
	const char *selectors[SD_CLI_MAX_LIST];
	size_t n_selectors;
	const char *message_file;

	/* spf --batch, domain --batch */
	const char *batch;        /* FILE or "-" */
	unsigned concurrency;     /* lines in flight; 0: the default */
	const char *shard;        /* "I/N" */
	/* bounce */
	int recheck;

	/* exporter */
	const char *listen;       /* --listen ADDR:PORT */
	double auth_retry_after;  /* --auth-retry-after SECONDS (0: default) */
	double timeout_offset;    /* --timeout-offset SECONDS */
	int timeout_offset_set;   /* given (0 is a value) */

	/* check --send, domain --message: --score, --scorer */
	int score;
	const char *scorer;

	/* storage for the repeatable global options */
	const char *resolvers[SD_CLI_MAX_LIST];
	const char *dnsbl[SD_CLI_MAX_LIST];
	const char *dbl[SD_CLI_MAX_LIST];
	const char *control[SD_CLI_MAX_LIST];
} sd_cli;

/*
 * Each command: runs, renders (text or JSON on stdout, progress and
 * errors on stderr) and returns the exit status (docs/smtpdoctor.md).
 */
int sd_cmd_check(sd_cli *cli);
int sd_cmd_domain(sd_cli *cli);
int sd_cmd_spf(sd_cli *cli);
int sd_cmd_explain(sd_cli *cli);
int sd_cmd_bounce(sd_cli *cli);
int sd_cmd_exporter(sd_cli *cli);

/*
 * An account of a --config file and the storage the check's parameters
 * point into: one per run (the exporter runs several at once; the file
 * parsers themselves are not reentrant, so their callers take turns).
 */
typedef struct sd_cli_account {
	sd_client_conf conf;
	sd_server_spec spec;
	sd_client_source src;
	char detail[1200];
	char note[600];
} sd_cli_account;

/* Reads spec (FILE[:ACCOUNT]) into a; what it says fills what cp leaves
 * open (flags win).  0, or -1 with the message in err.  The password
 * stays in a->conf until sd_cli_account_secret() or
 * sd_client_conf_wipe(). */
int sd_cli_account_load(const char *spec, sd_cli_account *a,
    sd_check_params *cp, char *err, size_t errlen);

/* The password the file holds or its passwordeval prints (run only from
 * the user's own file, in half of timeout_s at most) into *secret, or
 * NULL with cp->password_note saying why.  0, or -1 when out of memory. */
int sd_cli_account_secret(sd_cli_account *a, sd_check_params *cp,
    double timeout_s, char **secret);

/* One `domain --batch` line ("DOMAIN ip=ADDR selector=NAME ...") on the
 * shared resolver: the report, or NULL with the line's problem in err. */
sd_report *sd_cli_domain_line(const sd_cli *cli, sd_resolver *res,
    char *text, char *err, size_t errlen);

/* Reads a whole file ("-" for standard input): malloc'd and
 * NUL-terminated, *len its length; NULL with errno set (EFBIG beyond
 * `max` bytes). */
char *sd_cli_read(const char *path, size_t max, size_t *len);

/* --scorer checked: 0, or the usage error's exit status. */
int sd_cli_score_check(const sd_cli *cli);

/* domain: scores msg with --scorer (none: the local defaults) and
 * judges the answer. */
void sd_cli_score(const sd_cli *cli, sd_report *r, const char *msg,
    size_t len);

/* Prints a usage error (JSON on stdout with --json) and returns 2. */
int sd_cli_usage_error(const sd_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Renders a finished report per cli->json / cli->color; returns its exit. */
int sd_cli_render(const sd_cli *cli, sd_report *r);

/* The same for the last report of the process (the command returns its
 * exit status next), which it takes: freed in builds that check for leaks
 * (SD_FREE_AT_EXIT), otherwise left, reachable, to the exit. */
int sd_cli_render_last(const sd_cli *cli, sd_report *r);

#endif
