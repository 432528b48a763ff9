/*
 * smtpdoctor's command line: parse options, build the inputs, run the
 * command, render, map the verdict to an exit status (docs/smtpdoctor.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>


#include "cli/batch.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "cli/secret.h"
#include "dns/dns.h"
#include "probe/domain_records.h"
#include "report/report.h"
#include "sd_config.h"
#include "settings/server.h"
#include "util/util.h"

int sd_cli_usage_error(const sd_cli *cli, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* it may quote an argument or a file (explain's input): escaped */
	char *shown = sd_sanitize(msg, strlen(msg), sizeof msg);
	const char *text = shown ? shown : "invalid input";
	if (cli && cli->json) {
		sd_report *r = sd_report_usage_error(cli->command, text);
		char *s = r ? sd_report_to_json(r) : NULL;
		if (s)
			printf("%s\n", s);
		free(s);
		sd_report_free(r);
	}
	fprintf(stderr, "smtpdoctor: %s\n", text);
	free(shown);
	if (!cli || !cli->json) {
		const char *c = cli ? cli->command : "";
		int known = sd_cli_command_by_name(c) != NULL;
		fprintf(stderr, "Try 'smtpdoctor help%s%s'.\n", known ? " " : "",
		    known ? c : "");
	}
	return 2;
}

int sd_cli_render(const sd_cli *cli, sd_report *r)
{
	if (!r) {
		fprintf(stderr, "smtpdoctor: out of memory\n");
		return 3;
	}
	/* a command that did not time its run: until the report is written */
	if (!r->elapsed_ms && !r->error)
		r->elapsed_ms = sd_report_t_ms(r);
	FILE *out = stdout;
	if (cli->output && !(out = fopen(cli->output, "w"))) {
		int code = sd_cli_usage_error(cli, "--output: cannot write "
		    "'%s': %s", cli->output, strerror(errno));
		return code;
	}
	/* -q silences only the text of an ok verdict on a terminal or pipe:
	 * a report asked for in a format or a file is always written */
	if (cli->format != SD_FORMAT_TEXT || cli->output ||
	    cli->opt.verbose >= 0 || sd_report_status(r) != SD_STATUS_OK)
		sd_report_write(r, out, cli->format, (cli->color ?
		    SD_TEXT_COLOR : 0) | (cli->opt.verbose > 0 ?
		    SD_TEXT_VERBOSE : 0));
	if (out != stdout && fclose(out) != 0)
		return sd_cli_usage_error(cli, "--output: cannot write '%s': %s",
		    cli->output, strerror(errno));
	fflush(stdout);
	return sd_report_exit_code(r);
}

/*
 * The process exits right after this: the kernel takes its memory back at
 * once, where freeing the report object by object first costs (one spf
 * --json, 2 DNS answers: 29 thousand instructions; 10 answers: 103
 * thousand).  Builds that check for leaks free it, so that every other
 * allocation the run did not return still shows; the pointer kept here
 * leaves the report reachable, not lost, to a checker of a release build.
 */
#ifndef SD_FREE_AT_EXIT
/* in .data, on the page the program's start has written already: in .bss
 * it had a page of its own, one page fault more per run */
static sd_report *volatile last_report __attribute__((section(".data")));
#endif

int sd_cli_render_last(const sd_cli *cli, sd_report *r)
{
	int code = sd_cli_render(cli, r);
#ifdef SD_FREE_AT_EXIT
	sd_report_free(r);
#else
	last_report = r;
#endif
	return code;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 86400)
		return 0;
	*out = v;
	return 1;
}

static int add_list(const char **arr, size_t *n, const char *v)
{
	if (*n >= SD_CLI_MAX_LIST)
		return 0;
	arr[(*n)++] = v;
	return 1;
}

static int parse_format(sd_cli *cli, const char *v)
{
	static const char *const names[] = { "text", "json", "markdown",
	    "html" };
	for (int i = 0; i < 4; i++)
		if (strcasecmp(v, names[i]) == 0) {
			cli->format = (sd_format)i;
			cli->json = cli->format == SD_FORMAT_JSON;
			return -1;
		}
	return sd_cli_usage_error(cli, "--format: expected text, json, "
	    "markdown or html, got '%s'", v);
}

/* --output's folder must take the file before a run of many seconds. */
static int check_output(const sd_cli *cli, const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	if (!*path)
		return sd_cli_usage_error(cli, "--output: an empty file name");
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else
		snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 :
		    (int)(slash - path), path);
	if (access(dir, W_OK) != 0 || (access(path, F_OK) == 0 &&
	    access(path, W_OK) != 0))
		return sd_cli_usage_error(cli, "--output: cannot write '%s': %s",
		    path, strerror(errno));
	return -1;
}

/* The global options; -1 when taken, 0 when not one of them, or an exit. */
static int global_option(sd_cli *cli, int c, const char *arg)
{
	switch (c) {
	case O_JSON:
		cli->json = cli->format_set = 1;
		cli->format = SD_FORMAT_JSON;
		return -1;
	case O_FORMAT: cli->format_set = 1; return parse_format(cli, arg);
	case O_OUTPUT: cli->output = arg; return check_output(cli, arg);
	case O_TIMEOUT:
		if (!parse_seconds(arg, &cli->opt.timeout))
			return sd_cli_usage_error(cli, "--timeout: expected a "
			    "number of seconds > 0, got '%s'", arg);
		return -1;
	case O_CONNECT_TIMEOUT:
		if (!parse_seconds(arg, &cli->opt.connect_timeout))
			return sd_cli_usage_error(cli, "--connect-timeout: "
			    "expected a number of seconds > 0, got '%s'", arg);
		return -1;
	case O_RESOLVER:
		if (!add_list(cli->resolvers, &cli->opt.n_resolvers, arg))
			return sd_cli_usage_error(cli, "too many --resolver");
		return -1;
	case O_TRUST_ANCHOR: cli->opt.trust_anchor = arg; return -1;
	case O_DNSBL:
		cli->opt.dnsbl_set = 1;
		if (strcmp(arg, "none") != 0 &&
		    !add_list(cli->dnsbl, &cli->opt.n_dnsbl, arg))
			return sd_cli_usage_error(cli, "too many --dnsbl");
		return -1;
	case O_DBL:
		cli->opt.dbl_set = 1;
		if (strcmp(arg, "none") != 0 &&
		    !add_list(cli->dbl, &cli->opt.n_dbl, arg))
			return sd_cli_usage_error(cli, "too many --dbl");
		return -1;
	case O_CONTROL:
		cli->opt.control_set = 1;
		if (!add_list(cli->control, &cli->opt.n_control, arg))
			return sd_cli_usage_error(cli, "too many --control");
		return -1;
	case O_NO_CONTROL: cli->opt.no_control = 1; return -1;
	case O_PUBLIC_IP: cli->opt.public_ip = arg; return -1;
	case O_CA_FILE: cli->opt.ca_file = arg; return -1;
	case O_NO_COLOR: cli->color = -1; return -1;
	case '4': cli->opt.family = cli->opt.family == 6 ? -1 : 4; return -1;
	case '6': cli->opt.family = cli->opt.family == 4 ? -1 : 6; return -1;
	case 'q': cli->opt.verbose = -1; return -1;
	case 'v': cli->opt.verbose = 1; return -1;
	case 'h': case O_HELP: cli->help = 1; return -1;
	case O_VERSION: printf("smtpdoctor %s\n", sd_version()); return 0;
	}
	return -2;
}

/* Whether path names a file this process can open for reading. */
static int readable(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	fclose(f);
	return 1;
}

/* "HOST:PORT" (HOST may be "[IPV6]"), as --control takes it. */
static int host_port_valid(const char *spec)
{
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec || colon - spec > 255)
		return 0;
	char *end;
	long port = strtol(colon + 1, &end, 10);
	return colon[1] && !*end && port >= 1 && port <= 65535;
}

/*
 * The values of the global options that name a server, a file, an
 * address or a zone, for every command alike: a bad one is a usage error
 * (exit 2), never a DNS verdict of a resolver that could not be made nor
 * a control host quietly left out.  -1, or the exit status.
 */
static int global_values(const sd_cli *cli)
{
	const sd_options *o = &cli->opt;
	char spec[200];
	unsigned char addr[16];
	if (o->n_resolvers > SD_CLI_MAX_RESOLVERS)
		return sd_cli_usage_error(cli, "too many --resolver (at most "
		    "%d)", SD_CLI_MAX_RESOLVERS);
	for (size_t i = 0; i < o->n_resolvers; i++)
		if (!sd_dns_server_spec(o->resolvers[i], spec, sizeof spec))
			return sd_cli_usage_error(cli, "--resolver: expected an "
			    "address, ADDR:PORT or [IPV6]:PORT, got '%s'",
			    o->resolvers[i]);
	for (size_t i = 0; i < o->n_dnsbl; i++)
		if (!sd_hostname_valid(o->dnsbl[i]))
			return sd_cli_usage_error(cli, "--dnsbl: '%s' is not a "
			    "zone name", o->dnsbl[i]);
	for (size_t i = 0; i < o->n_dbl; i++)
		if (!sd_hostname_valid(o->dbl[i]))
			return sd_cli_usage_error(cli, "--dbl: '%s' is not a "
			    "zone name", o->dbl[i]);
	for (size_t i = 0; i < o->n_control; i++)
		if (!host_port_valid(o->control[i]))
			return sd_cli_usage_error(cli, "--control: expected "
			    "HOST:PORT (a port from 1 to 65535), got '%s'",
			    o->control[i]);
	if (o->public_ip && inet_pton(AF_INET, o->public_ip, addr) != 1 &&
	    inet_pton(AF_INET6, o->public_ip, addr) != 1)
		return sd_cli_usage_error(cli, "--public-ip: '%s' is not an "
		    "IPv4 or IPv6 address", o->public_ip);
	if (o->trust_anchor && !readable(o->trust_anchor))
		return sd_cli_usage_error(cli, "--trust-anchor: cannot read "
		    "'%s': %s", o->trust_anchor, strerror(errno));
	if (o->ca_file && !readable(o->ca_file))
		return sd_cli_usage_error(cli, "--ca-file: cannot read '%s': %s",
		    o->ca_file, strerror(errno));
	return -1;
}

/* The options of one command; -1 when taken, or an exit status. */
static int command_option(sd_cli *cli, int c, const char *arg)
{
	sd_check_params *cp = &cli->check;
	switch (c) {
	case O_SERVER: cp->server = arg; break;
	case O_PORT: {
		char *end;
		long p = strtol(arg, &end, 10);
		if (*arg == '\0' || *end || p < 1 || p > 65535)
			return sd_cli_usage_error(cli, "--port: expected 1 to "
			    "65535, got '%s'", arg);
		cp->port = (int)p;
		break;
	}
	case O_TLS:
		cp->tls = sd_tls_mode_parse(arg);
		if (cp->tls == SD_TLS_UNSET)
			return sd_cli_usage_error(cli, "--tls: expected starttls "
			    "(or tls), implicit (or ssl, ssl/tls, smtps) or none, "
			    "got '%s'", arg);
		break;
	case O_USER: cp->user = arg; break;
	case O_PW_FILE: cli->password_file = arg; break;
	case O_PW_ENV: cli->password_env = arg; break;
	case O_PW_CMD: cli->password_cmd = arg; break;
	case O_AUTH: cp->auth_mech = arg; break;
	case O_FROM: cp->from = arg; break;
	case O_TO: cp->to = arg; break;
	case O_EHLO: cp->ehlo = arg; break;
	case O_SEND: cp->send = 1; break;
	case O_ALLOW_PLAIN: cp->allow_plaintext_auth = 1; break;
	case O_INSECURE: cp->insecure = 1; break;
	case O_CONFIG: cli->config = arg; break;
	case O_HELO: cli->helo = arg; break;
	case O_IP:
		if (!add_list(cli->ips, &cli->n_ips, arg))
			return sd_cli_usage_error(cli, "too many --ip");
		break;
	case O_SELECTOR:
		if (!add_list(cli->selectors, &cli->n_selectors, arg))
			return sd_cli_usage_error(cli, "too many --selector");
		break;
	case O_MESSAGE: cli->message_file = arg; break;
	case O_RECHECK: cli->recheck = 1; break;
	case O_SCORE: cli->score = 1; break;
	case O_SCORER: cli->scorer = arg; cli->score = 1; break;
	case O_BATCH: cli->batch = arg; break;
	case O_LISTEN: cli->listen = arg; break;
	case O_AUTH_RETRY_AFTER:
		if (!parse_seconds(arg, &cli->auth_retry_after))
			return sd_cli_usage_error(cli, "--auth-retry-after: "
			    "expected a number of seconds > 0, got '%s'", arg);
		break;
	case O_TIMEOUT_OFFSET: {
		char *end;
		errno = 0;
		double v = strtod(arg, &end);
		if (errno || end == arg || *end || !(v >= 0) || v > 3600)
			return sd_cli_usage_error(cli, "--timeout-offset: expected "
			    "a number of seconds from 0 to 3600, got '%s'", arg);
		cli->timeout_offset = v;
		cli->timeout_offset_set = 1;
		break;
	}
	case O_CONCURRENCY: {
		char *end;
		unsigned long n = strtoul(arg, &end, 10);
		if (end == arg || *end || arg[0] == '-' || n < 1 ||
		    n > SD_BATCH_CONCURRENCY_MAX)
			return sd_cli_usage_error(cli, "--concurrency: expected "
			    "a number from 1 to %d, got '%s'",
			    SD_BATCH_CONCURRENCY_MAX, arg);
		cli->concurrency = (unsigned)n;
		break;
	}
	case O_SHARD: {
		unsigned i, n;
		if (!sd_cli_shard_parse(arg, &i, &n))
			return sd_cli_usage_error(cli, "--shard: expected I/N "
			    "with 0 <= I < N, got '%s'", arg);
		cli->shard = arg;
		break;
	}
	}
	return -1;
}

static char *slurp(FILE *f, size_t max, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
		if (n == cap) {
			if (cap > max) {
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			char *more = realloc(buf, cap * 2 + 1);
			if (!more) {
				free(buf);
				return NULL;
			}
			buf = more;
			cap *= 2;
		}
	}
	if (buf && n > max) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

char *sd_cli_read(const char *path, size_t max, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return NULL;
	char *text = slurp(f, max, len);
	int err = errno;
	if (f != stdin)
		fclose(f);
	errno = err;
	return text;
}

/* An option getopt did not know, with the nearest one or a word on
 * passwords. */
static int unknown_option(const sd_cli *cli, const char *arg)
{
	char hint[400];
	sd_cli_suggest(arg, hint, sizeof hint);
	char name[80];
	snprintf(name, sizeof name, "%.*s", (int)strcspn(arg, "="), arg);
	return sd_cli_usage_error(cli, "unknown option '%s'%s%s", name,
	    *hint ? ": " : "", hint);
}

/* An option given to a command it does not belong to. */
static int misplaced_option(const sd_cli *cli, const sd_cli_command *cmd,
    const char *seen)
{
	for (const sd_cli_option *o = sd_cli_options; o->help[0]; o++) {
		if (o->commands == SD_CMD_ALL || !o->name[0] ||
		    !seen[o->id - O_JSON] || (cmd && (o->commands & cmd->bit)))
			continue;
		const char *owner = "?";
		for (const sd_cli_command *c = sd_cli_commands; c->name[0]; c++)
			if (c->bit & o->commands)
				owner = c->name;
		return sd_cli_usage_error(cli, "option --%s belongs to '%s', "
		    "not '%s'", o->name, owner, cli->command);
	}
	return -1;
}

/* help [COMMAND] and completion SHELL */
static int builtin_command(sd_cli *cli, const sd_cli_command *cmd)
{
	if (strcmp(cmd->name, "help") == 0) {
		const sd_cli_command *about = NULL;
		if (cli->n_positional > 1)
			return sd_cli_usage_error(cli, "help takes one COMMAND");
		if (cli->n_positional &&
		    !(about = sd_cli_command_by_name(cli->positional[0])))
			return sd_cli_usage_error(cli, "help: unknown command "
			    "'%s'", cli->positional[0]);
		sd_cli_help(stdout, about);
		return 0;
	}
	if (cli->n_positional != 1 ||
	    sd_cli_completion(stdout, cli->positional[0]) != 0)
		return sd_cli_usage_error(cli, "completion: expected bash, zsh "
		    "or fish");
	return 0;
}

static int dispatch(sd_cli *cli, const sd_cli_command *cmd)
{
	if (!cmd)
		return sd_cli_usage_error(cli, "unknown command '%s'",
		    cli->command);
	if (!cmd->bit)
		return builtin_command(cli, cmd);
	switch (cmd->bit) {
	case SD_CMD_CHECK: return sd_cmd_check(cli);
	case SD_CMD_DOMAIN: return sd_cmd_domain(cli);
	case SD_CMD_SPF: return sd_cmd_spf(cli);
	case SD_CMD_EXPLAIN: return sd_cmd_explain(cli);
	case SD_CMD_BOUNCE: return sd_cmd_bounce(cli);
	case SD_CMD_EXPORTER: return sd_cmd_exporter(cli);
	}
	/* a command named in the table whose code has not landed yet */
	return sd_cli_usage_error(cli, "%s: not implemented yet", cmd->name);
}

/* --json (or --format json) decides how even an early usage error is
 * printed, so it is looked for before parsing. */
static void prescan_json(sd_cli *cli, int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *v = NULL;
		if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
			v = argv[i + 1];
		else if (strncmp(argv[i], "--format=", 9) == 0)
			v = argv[i] + 9;
		if (strcmp(argv[i], "--json") == 0 || (v && strcasecmp(v,
		    "json") == 0))
			cli->json = 1;
	}
}

/*
 * getopt_long over argv: the options into cli, seen[] marks the long
 * options given.  An exit status when the run ends here (an error,
 * --version), else -1.
 */
static int parse_options(sd_cli *cli, int argc, char **argv, char *seen)
{
	/* getopt's tables on the heap, whose first pages every run touches
	 * (stdout's buffer): on the stack or in static memory they cost a
	 * page fault of their own at each start */
	struct option *longopts = malloc((SD_CLI_OPTIONS_MAX + 1) *
	    sizeof *longopts);
	char shortopts[2 * SD_CLI_OPTIONS_MAX + 2];
	if (!longopts) {
		fprintf(stderr, "smtpdoctor: out of memory\n");
		return 3;
	}
	sd_cli_getopt_tables(longopts, shortopts);
	opterr = 0;
	int c, rc = -1;
	while (rc < 0 && (c = getopt_long(argc, argv, shortopts, longopts,
	    NULL)) != -1) {
		/* a short form ("-o") is its long option ("--output") */
		const sd_cli_option *opt = sd_cli_option_by_id(c);
		if (opt && opt->short_name == c)
			c = opt->id;
		if (c >= O_JSON && c < O_LAST_)
			seen[c - O_JSON] = 1;
		if (c == ':')
			rc = sd_cli_usage_error(cli, "option '%s' needs a value",
			    argv[optind - 1]);
		else if (c == '?')
			rc = unknown_option(cli, optopt ?
			    (char[]){ '-', (char)optopt, 0 } : argv[optind - 1]);
		else if ((rc = global_option(cli, c, optarg)) == -2)
			rc = command_option(cli, c, optarg);
		if (rc < -1)
			rc = -1;
	}
	free(longopts);
	return rc;
}

int main(int argc, char **argv)
{
	static sd_cli cli;
	char seen[O_LAST_ - O_JSON] = { 0 };

	/* the library never raises SIGPIPE itself; this is for stdout: a
	 * reader that went away (smtpdoctor | head) ends the output, not the
	 * process, whose exit status still tells the verdict */
	signal(SIGPIPE, SIG_IGN);
	/* jansson seeds its hash function from /dev/urandom (open, read,
	 * close) at the first object; one getrandom() call does as well */
	uint32_t seed;
	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == sizeof seed)
		json_object_seed(seed ? seed : 1);
	sd_options_init(&cli.opt);
	cli.opt.resolvers = cli.resolvers;
	cli.opt.dnsbl = cli.dnsbl;
	cli.opt.dbl = cli.dbl;
	cli.opt.control = cli.control;
	cli.command = "";
	prescan_json(&cli, argc, argv);
	/* named in early errors ("Try 'smtpdoctor help check'") */
	for (int i = 1; i < argc && !*cli.command; i++)
		if (sd_cli_command_by_name(argv[i]))
			cli.command = argv[i];

	int rc = parse_options(&cli, argc, argv, seen);
	if (rc >= 0)
		return rc;
	if (cli.opt.family == -1)
		return sd_cli_usage_error(&cli, "-4 and -6 exclude each other");
	cli.command = optind < argc ? argv[optind++] : "";
	for (; optind < argc; optind++) {
		if (cli.n_positional >= 4)
			return sd_cli_usage_error(&cli, "too many arguments");
		cli.positional[cli.n_positional++] = argv[optind];
	}
	const sd_cli_command *cmd = sd_cli_command_by_name(cli.command);
	if (cli.help) {
		sd_cli_help(stdout, cmd);
		return 0;
	}
	if (!*cli.command)
		return sd_cli_usage_error(&cli, "no command given (check, "
		    "domain, spf, explain, bounce or exporter; smtpdoctor help "
		    "lists them)");
	/* the cheap tests first: a --json run asks the terminal nothing */
	cli.color = cli.color >= 0 && !cli.json && !cli.output &&
	    isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	if (cmd && (rc = misplaced_option(&cli, cmd, seen)) >= 0)
		return rc;
	if (cmd && cmd->bit && (rc = global_values(&cli)) >= 0)
		return rc;
	return dispatch(&cli, cmd);
}
