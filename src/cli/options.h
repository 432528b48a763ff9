/*
 * The command line's one table: every command and every option, with the
 * words `help`, `--help`, the completions and the "did you mean" hint are
 * made from.  Parsing (main.c) reads the same table, so an option cannot
 * exist without its help line.
 */
#ifndef SD_CLI_OPTIONS_H
#define SD_CLI_OPTIONS_H

#include <getopt.h>
#include <stdio.h>

#include "smtpdoctor/smtpdoctor.h"

/* Which commands an option belongs to (bits). */
enum {
	SD_CMD_CHECK = 1 << 0,
	SD_CMD_DOMAIN = 1 << 1,
	SD_CMD_SPF = 1 << 2,
	SD_CMD_EXPLAIN = 1 << 3,
	SD_CMD_BOUNCE = 1 << 4,
	SD_CMD_EXPORTER = 1 << 5,
	SD_CMD_ALL = 0xffff,   /* a global option */
};

/* Option ids, as getopt_long returns them. */
enum {
	O_JSON = 256, O_FORMAT, O_OUTPUT, O_TIMEOUT, O_CONNECT_TIMEOUT,
	O_RESOLVER, O_TRUST_ANCHOR, O_DNSBL, O_DBL, O_CONTROL, O_NO_CONTROL,
	O_PUBLIC_IP, O_CA_FILE, O_NO_COLOR, O_VERSION, O_HELP,
	/* check */
	O_SERVER, O_PORT, O_TLS, O_USER, O_PW_FILE, O_PW_ENV, O_PW_CMD, O_AUTH,
	O_FROM, O_TO, O_EHLO, O_SEND, O_ALLOW_PLAIN, O_INSECURE, O_CONFIG,
	/* spf */
	O_HELO,
	/* domain */
	O_IP, O_SELECTOR, O_MESSAGE,
	/* bounce */
	O_RECHECK,
	/* check --send and domain --message: content scoring */
	O_SCORE, O_SCORER,
	/* spf and domain: batches */
	O_BATCH, O_CONCURRENCY, O_SHARD,
	/* exporter */
	O_LISTEN, O_AUTH_RETRY_AFTER, O_TIMEOUT_OFFSET,
	O_LAST_,
};

/* The strings are arrays, not pointers, so that the loader does not write
 * the table at every start (util/strtab.h says why that costs). */
typedef struct sd_cli_option {
	char name[24];        /* long name without "--", "" for none */
	char short_name;      /* '4', 'q', ... or 0 */
	char arg[16];         /* the value's name ("SECONDS"), "" for a flag */
	int id;               /* O_*; for a short-only option its letter */
	unsigned commands;    /* SD_CMD_* bits */
	char help[136];       /* one line; "" ends the table */
} sd_cli_option;

typedef struct sd_cli_command {
	char name[12];        /* an array: looked up at every start, so read
	                         from this table, not from the merged strings */
	unsigned bit;         /* SD_CMD_* */
	const char *synopsis; /* the arguments after the name */
	const char *summary;  /* one line */
	const char *const *examples;
} sd_cli_command;

extern const sd_cli_option sd_cli_options[];
extern const sd_cli_command sd_cli_commands[];

/* The getopt_long table and short-option string made from sd_cli_options,
 * in the caller's arrays. */
#define SD_CLI_OPTIONS_MAX 64
void sd_cli_getopt_tables(struct option longopts[SD_CLI_OPTIONS_MAX + 1],
    char shortopts[2 * SD_CLI_OPTIONS_MAX + 2]);

/*
 * How a shell completes an option's value: a space-separated word list, or
 * "@file", "@var" (an environment variable), "@cmd" (a command); NULL when
 * there is nothing to offer (a host name, a number).
 */
const char *sd_cli_value_words(int id);

/* Whether option o is listed under `bits`: the global options for
 * SD_CMD_ALL, else the options of that command (one may serve several). */
int sd_cli_option_of(const sd_cli_option *o, unsigned bits);

/* The table entry of an option id (O_* or a short letter), or NULL. */
const sd_cli_option *sd_cli_option_by_id(int id);

/* The command named `name`, or NULL. */
const sd_cli_command *sd_cli_command_by_name(const char *name);

/*
 * A hint for an unknown option `arg` ("--sever", "--password"): the
 * sentence to print after "unknown option", or "" when nothing is close.
 * Written into buf.
 */
const char *sd_cli_suggest(const char *arg, char *buf, size_t len);

/* `smtpdoctor help [COMMAND]`: the general help, or one command's. */
void sd_cli_help(FILE *out, const sd_cli_command *cmd);

/* `smtpdoctor completion bash|zsh|fish`; returns 0, or -1 for another
 * shell. */
int sd_cli_completion(FILE *out, const char *shell);

#endif
