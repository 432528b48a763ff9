/*
 * The command line's one table of commands and options, and what is made
 * from it: getopt's table, `help`, "did you mean", the shell completions.
 */
#include "cli/options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define CHECK SD_CMD_CHECK
#define DOMAIN SD_CMD_DOMAIN
#define SPF SD_CMD_SPF
#define EXPORTER SD_CMD_EXPORTER
#define ALL SD_CMD_ALL

const char *sd_cli_value_words(int id)
{
	switch (id) {
	case O_TLS: return "starttls tls implicit ssl ssl/tls smtps none";
	case O_FORMAT: return "text json markdown html";
	case O_AUTH: return "PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER";
	case O_PORT: return "587 465 25 2525";
	case O_OUTPUT: case O_TRUST_ANCHOR: case O_CA_FILE: case O_PW_FILE:
	case O_CONFIG: case O_MESSAGE:
		return "@file";
	case O_PW_ENV: return "@var";
	case O_PW_CMD: return "@cmd";
	}
	return NULL;
}

const sd_cli_option sd_cli_options[] = {
	/* global */
	{ "json", 0, "", O_JSON, ALL, "the report as one JSON document on stdout (same as --format json)" },
	{ "format", 0, "FORMAT", O_FORMAT, ALL, "text (default), json, markdown (for a ticket) or html (one self-contained page)" },
	{ "output", 'o', "FILE", O_OUTPUT, ALL, "write the report to FILE instead of stdout" },
	{ "timeout", 0, "SECONDS", O_TIMEOUT, ALL, "deadline for the whole run (default 30; fractions allowed)" },
	{ "connect-timeout", 0, "SECONDS", O_CONNECT_TIMEOUT, ALL, "deadline for one TCP connect (default 5)" },
	{ "resolver", 0, "ADDR[:PORT]", O_RESOLVER, ALL, "use this DNS server instead of the system's (repeatable, up to 8; an address, IPv6 as [ADDR]:PORT)" },
	{ "trust-anchor", 0, "FILE", O_TRUST_ANCHOR, ALL, "validate DNSSEC with these trust anchors instead of the root's" },
	{ "dnsbl", 0, "ZONE", O_DNSBL, ALL, "IP blocklist zone to query (repeatable; replaces the built-in list; none for none)" },
	{ "dbl", 0, "ZONE", O_DBL, ALL, "domain blocklist zone to query (repeatable; replaces the built-in list; none for none)" },
	{ "control", 0, "HOST:PORT", O_CONTROL, ALL, "an independent host to compare with (repeatable; replaces the built-in list)" },
	{ "no-control", 0, "", O_NO_CONTROL, ALL, "contact no host you did not name (other ports of your server are still probed)" },
	{ "public-ip", 0, "ADDR", O_PUBLIC_IP, ALL, "this machine's public address, instead of discovering it" },
	{ "ca-file", 0, "FILE", O_CA_FILE, ALL, "trust these CA certificates in addition to the system's" },
	{ "", '4', "", '4', ALL, "IPv4 only" },
	{ "", '6', "", '6', ALL, "IPv6 only" },
	{ "no-color", 0, "", O_NO_COLOR, ALL, "no colours (they are used only on a terminal, and never with NO_COLOR set)" },
	{ "quiet", 'q', "", 'q', ALL, "print nothing when the verdict is ok" },
	{ "verbose", 'v', "", 'v', ALL, "every stage as it ends, every fact, the SMTP conversation" },
	{ "version", 0, "", O_VERSION, ALL, "print the version and exit" },
	{ "help", 'h', "", O_HELP, ALL, "this help (smtpdoctor help COMMAND for one command)" },
	/* check */
	{ "server", 0, "HOST", O_SERVER, CHECK, "the outgoing server: a name, an address, HOST:PORT, or an smtp://, smtps:// or submission:// URL" },
	{ "port", 0, "N", O_PORT, CHECK, "the port your mail program uses (default 587; 465 with implicit TLS)" },
	{ "tls", 0, "MODE", O_TLS, CHECK, "how your mail program secures the session: starttls (or tls), implicit (or ssl, ssl/tls, smtps), none" },
	{ "user", 0, "NAME", O_USER, CHECK, "login name; without it no login is configured" },
	{ "password-file", 0, "FILE", O_PW_FILE, CHECK, "read the password from the first line of FILE" },
	{ "password-env", 0, "VAR", O_PW_ENV, CHECK, "read the password from the environment variable VAR" },
	{ "password-cmd", 0, "CMD", O_PW_CMD, CHECK, "read the password from the first line CMD prints (a keyring, pass, ...)" },
	{ "auth", 0, "MECH", O_AUTH, CHECK, "the login mechanism your mail program uses (PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER)" },
	{ "from", 0, "ADDR", O_FROM, CHECK, "sender address of the test envelope (ADDRESS sets it)" },
	{ "to", 0, "ADDR", O_TO, CHECK, "recipient of the test envelope (default: the sender)" },
	{ "ehlo", 0, "NAME", O_EHLO, CHECK, "the name to send in EHLO (default: this machine's name)" },
	{ "send", 0, "", O_SEND, CHECK, "really send one test message (off by default: the envelope ends with RSET)" },
	{ "allow-plaintext-auth", 0, "", O_ALLOW_PLAIN, CHECK, "allow sending the password over an unencrypted connection" },
	{ "insecure", 0, "", O_INSECURE, CHECK, "go on past an invalid certificate (it is still reported; not for a discovered server)" },
	{ "config", 0, "FILE[:ACCOUNT]", O_CONFIG, CHECK | EXPORTER, "read the settings from a mail program's configuration file (exporter: the accounts command=check probes)" },
	/* spf */
	{ "helo", 0, "NAME", O_HELO, SPF, "the HELO name, checked when the sender is empty" },
	/* domain */
	{ "ip", 0, "ADDR", O_IP, DOMAIN | SD_CMD_BOUNCE, "a sending address to judge SPF, reverse DNS and blocklists for (repeatable; bounce --recheck: instead of the one the bounce names)" },
	{ "selector", 0, "NAME", O_SELECTOR, DOMAIN, "a DKIM selector to check (repeatable)" },
	{ "message", 0, "FILE", O_MESSAGE, DOMAIN, "a message whose DKIM signature and DMARC alignment are checked" },
	/* content scoring */
	{ "score", 0, "", O_SCORE, CHECK | DOMAIN, "score the message with a content filter (spamd, rspamd): check --send's test message, domain --message's file" },
	{ "scorer", 0, "URL", O_SCORER, CHECK | DOMAIN, "the filter to ask: spamd://HOST[:783] or rspamd://HOST[:11333] (default: a local spamd, then a local rspamd)" },
	/* batches */
	{ "batch", 0, "FILE", O_BATCH, SPF | DOMAIN, "one evaluation a line of FILE (- for standard input), JSON Lines out in input order" },
	{ "concurrency", 0, "N", O_CONCURRENCY, SPF | DOMAIN | EXPORTER, "with --batch: lines evaluated at once (default 64); exporter: probes run at once (default 16)" },
	{ "shard", 0, "I/N", O_SHARD, SPF | DOMAIN, "with --batch: only the lines whose 0-based number modulo N is I" },
	/* bounce */
	{ "recheck", 0, "", O_RECHECK, SD_CMD_BOUNCE, "run the probes that confirm the cause now (SPF, blocklists, DMARC, DKIM, MX, MTA-STS)" },
	/* exporter */
	{ "listen", 0, "ADDR:PORT", O_LISTEN, EXPORTER, "serve HTTP on this address and port (127.0.0.1:9125, [::1]:9125, :9125 for every address; port 0 picks one)" },
	{ "auth-retry-after", 0, "SECONDS", O_AUTH_RETRY_AFTER, EXPORTER, "after the server rejected an account's credentials, send them again only after this long (default 3600) or when its file changes" },
	{ "timeout-offset", 0, "SECONDS", O_TIMEOUT_OFFSET, EXPORTER, "answer each scrape this long before its X-Prometheus-Scrape-Timeout-Seconds (default 0.5; more while the exporter lags)" },
	{ "", 0, "", 0, 0, "" },
};

static const char *const ex_check[] = {
	"smtpdoctor check alice@example.com --server smtp.example.com --password-env MAILPW",
	"smtpdoctor check --server smtp.example.com --port 465 --tls ssl --user alice --password-file ~/.mailpw",
	"smtpdoctor check --server smtp.example.com --format html --output report.html",
	NULL,
};
static const char *const ex_domain[] = {
	"smtpdoctor domain example.com",
	"smtpdoctor domain example.com --ip 203.0.113.7 --selector s1",
	"smtpdoctor domain example.com --message sent.eml --format markdown",
	NULL,
};
static const char *const ex_spf[] = {
	"smtpdoctor spf 203.0.113.7 alice@example.com",
	"smtpdoctor spf 203.0.113.7 '' --helo mail.example.com",
	NULL,
};
static const char *const ex_explain[] = {
	"smtpdoctor check --server smtp.example.com --json > report.json",
	"smtpdoctor explain report.json",
	NULL,
};
static const char *const ex_bounce[] = {
	"smtpdoctor bounce returned-message.eml",
	"smtpdoctor bounce --recheck --json < returned-message.eml",
	NULL,
};
static const char *const ex_exporter[] = {
	"smtpdoctor exporter --listen 127.0.0.1:9125",
	"smtpdoctor exporter --listen :9125 --config ~/.msmtprc --auth-retry-after 7200",
	"curl 'http://127.0.0.1:9125/probe?command=domain&target=example.com'",
	NULL,
};
static const char *const ex_help[] = {
	"smtpdoctor help check",
	NULL,
};
static const char *const ex_completion[] = {
	"smtpdoctor completion bash > ~/.local/share/bash-completion/completions/smtpdoctor",
	NULL,
};

const sd_cli_command sd_cli_commands[] = {
	{ "check", SD_CMD_CHECK, "[ADDRESS] [--server HOST] [options]",
	  "diagnose sending for one account: why can't it send?", ex_check },
	{ "domain", SD_CMD_DOMAIN, "DOMAIN [options]",
	  "audit a sending domain: MX, SPF, DKIM, DMARC, reverse DNS, blocklists, MTA-STS, TLS-RPT, DANE",
	  ex_domain },
	{ "spf", SD_CMD_SPF, "IP DOMAIN_OR_SENDER [--helo NAME]",
	  "evaluate SPF for one address and sender, with the trace", ex_spf },
	{ "explain", SD_CMD_EXPLAIN, "[FILE|-]",
	  "judge a report saved with --json again, offline, with this version's rules",
	  ex_explain },
	{ "bounce", SD_CMD_BOUNCE, "[FILE|-]",
	  "explain a message that came back (a bounce or delivery status notification)",
	  ex_bounce },
	{ "exporter", SD_CMD_EXPORTER, "--listen ADDR:PORT [--config FILE] [options]",
	  "serve Prometheus metrics: /probe?command=domain&target=DOMAIN, /probe?command=check&target=ACCOUNT",
	  ex_exporter },
	{ "help", 0, "[COMMAND]", "this help, or one command's", ex_help },
	{ "completion", 0, "bash|zsh|fish",
	  "print the shell completion script", ex_completion },
	{ "", 0, NULL, NULL, NULL },
};

#define N_OPTIONS (sizeof sd_cli_options / sizeof sd_cli_options[0] - 1)

_Static_assert(N_OPTIONS <= SD_CLI_OPTIONS_MAX, "SD_CLI_OPTIONS_MAX");

void sd_cli_getopt_tables(struct option longopts[SD_CLI_OPTIONS_MAX + 1],
    char shortopts[2 * SD_CLI_OPTIONS_MAX + 2])
{
	size_t n = 0, k = 0;
	/* ':' first: a missing value is told apart from an unknown option */
	shortopts[k++] = ':';
	for (const sd_cli_option *o = sd_cli_options; o->help[0]; o++) {
		/* a string that fills its array has lost its NUL: the
		 * array is too small for it */
		if (o->name[sizeof o->name - 1] || o->arg[sizeof o->arg - 1] ||
		    o->help[sizeof o->help - 1]) {
			fprintf(stderr, "smtpdoctor: internal error: option "
			    "%.*s: a string longer than its array in "
			    "sd_cli_option\n", (int)sizeof o->name, o->name);
			abort();
		}
		if (o->name[0])
			longopts[n++] = (struct option){ o->name, o->arg[0] ?
			    required_argument : no_argument, NULL, o->id };
		if (o->short_name) {
			shortopts[k++] = o->short_name;
			if (o->arg[0])
				shortopts[k++] = ':';
		}
	}
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };
	shortopts[k] = '\0';
}

int sd_cli_option_of(const sd_cli_option *o, unsigned bits)
{
	if (bits == SD_CMD_ALL)
		return o->commands == SD_CMD_ALL;
	return o->commands != SD_CMD_ALL && (o->commands & bits) != 0;
}

const sd_cli_option *sd_cli_option_by_id(int id)
{
	for (const sd_cli_option *o = sd_cli_options; o->help[0]; o++)
		if (o->id == id || (o->short_name && o->short_name == id))
			return o;
	return NULL;
}

const sd_cli_command *sd_cli_command_by_name(const char *name)
{
	for (const sd_cli_command *c = sd_cli_commands; c->name[0]; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* Edit distance of two short strings (options are under 32 characters). */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return 64;
	size_t row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *sd_cli_suggest(const char *arg, char *buf, size_t len)
{
	char name[64];
	size_t n = 0;
	while (*arg == '-')
		arg++;
	while (arg[n] && arg[n] != '=' && n + 1 < sizeof name) {
		name[n] = sd_tolower(arg[n]);
		n++;
	}
	name[n] = '\0';
	buf[0] = '\0';
	/* a password on the command line would show in ps and the shell's
	 * history: say where it comes from instead */
	if (strncmp(name, "pass", 4) == 0 || strcmp(name, "pw") == 0 ||
	    strcmp(name, "secret") == 0) {
		snprintf(buf, len, "smtpdoctor never takes a password on the "
		    "command line (ps and the shell's history would show it): "
		    "use --password-file FILE, --password-env VAR or "
		    "--password-cmd CMD, or type it when asked on a terminal");
		return buf;
	}
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	for (const sd_cli_option *o = sd_cli_options; o->help[0]; o++) {
		if (!o->name[0])
			continue;
		size_t d = distance(name, o->name);
		if (d < best_d) {
			best_d = d;
			best = o->name;
		}
	}
	/* close enough to be a typo: a third of the name, at least 2 */
	size_t allowed = n / 3 > 2 ? n / 3 : 2;
	if (best && n >= 3 && best_d <= allowed)
		snprintf(buf, len, "did you mean '--%s'?", best);
	return buf;
}

/* "  --server HOST" padded, then the help line. */
static void option_line(FILE *out, const sd_cli_option *o)
{
	/* the table's strings fill their arrays at most */
	const int name = (int)sizeof o->name, arg = (int)sizeof o->arg;
	char left[64];
	if (o->name[0] && o->short_name)
		snprintf(left, sizeof left, "-%c, --%.*s%s%.*s", o->short_name,
		    name, o->name, o->arg[0] ? " " : "", arg, o->arg);
	else if (o->name[0])
		snprintf(left, sizeof left, "--%.*s%s%.*s", name, o->name,
		    o->arg[0] ? " " : "", arg, o->arg);
	else
		snprintf(left, sizeof left, "-%c", o->short_name);
	if (strlen(left) > 26)
		fprintf(out, "  %s\n  %-26s %s\n", left, "", o->help);
	else
		fprintf(out, "  %-26s %s\n", left, o->help);
}

static void options_of(FILE *out, unsigned bits)
{
	for (const sd_cli_option *o = sd_cli_options; o->help[0]; o++)
		if (sd_cli_option_of(o, bits))
			option_line(out, o);
}

static const char password_words[] =
"Passwords never go on the command line: smtpdoctor reads one from\n"
"--password-file, --password-env or --password-cmd, or asks on the terminal.\n"
"Without any of them and without a terminal it does not log in, and says so.\n";

static const char exit_words[] =
"Exit status: 0 ok or warn, 1 fail, 2 usage error, 3 inconclusive.\n"
"More: man smtpdoctor; the JSON report: man 5 smtpdoctor-json.\n";

void sd_cli_help(FILE *out, const sd_cli_command *cmd)
{
	if (!cmd) {
		fprintf(out, "smtpdoctor %s: I can receive email, so why can't "
		    "I send it?\n\nusage: smtpdoctor COMMAND [ARGUMENTS] "
		    "[options]\n\nCommands:\n", sd_version());
		for (const sd_cli_command *c = sd_cli_commands; c->name[0]; c++)
			fprintf(out, "  %-11s %s\n", c->name, c->summary);
		fprintf(out, "\nOptions of every command:\n");
		options_of(out, SD_CMD_ALL);
		fprintf(out, "\nExamples:\n");
		for (const sd_cli_command *c = sd_cli_commands; c->bit; c++)
			fprintf(out, "  %s\n", c->examples[0]);
		fprintf(out, "\nsmtpdoctor help COMMAND shows one command's "
		    "options.\n%s", exit_words);
		return;
	}
	fprintf(out, "smtpdoctor %s: %s\n\nusage: smtpdoctor %s %s\n",
	    cmd->name, cmd->summary, cmd->name, cmd->synopsis);
	int own = 0;
	for (const sd_cli_option *o = sd_cli_options; o->help[0]; o++)
		own |= cmd->bit && sd_cli_option_of(o, cmd->bit);
	if (own) {
		fprintf(out, "\nOptions of %s:\n", cmd->name);
		options_of(out, cmd->bit);
	}
	if (cmd->bit) {
		fprintf(out, "\nOptions of every command:\n");
		options_of(out, SD_CMD_ALL);
	}
	fprintf(out, "\nExamples:\n");
	for (const char *const *e = cmd->examples; *e; e++)
		fprintf(out, "  %s\n", *e);
	if (cmd->bit == SD_CMD_CHECK)
		fprintf(out, "\n%s", password_words);
	fprintf(out, "\n%s", exit_words);
}
