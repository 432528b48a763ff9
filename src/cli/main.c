/*
 * smtpdoctor's command line: parse options, build the inputs, run the
 * command, render, map the verdict to an exit status (SPEC §2, §3).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli/cli.h"
#include "cli/secret.h"
#include "report/report.h"
#include "settings/server.h"

enum {
	O_JSON = 256, O_TIMEOUT, O_CONNECT_TIMEOUT, O_RESOLVER, O_TRUST_ANCHOR,
	O_DNSBL, O_DBL, O_CONTROL, O_NO_CONTROL, O_PUBLIC_IP, O_CA_FILE,
	O_NO_COLOR, O_VERSION, O_HELP,
	/* check */
	O_SERVER, O_PORT, O_TLS, O_USER, O_PW_FILE, O_PW_ENV, O_PW_CMD, O_AUTH,
	O_FROM, O_TO, O_EHLO, O_SEND, O_ALLOW_PLAIN, O_INSECURE, O_CONFIG,
	/* spf */
	O_HELO,
	/* domain */
	O_IP, O_SELECTOR, O_MESSAGE,
};

static const struct option longopts[] = {
	{ "json", no_argument, NULL, O_JSON },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "connect-timeout", required_argument, NULL, O_CONNECT_TIMEOUT },
	{ "resolver", required_argument, NULL, O_RESOLVER },
	{ "trust-anchor", required_argument, NULL, O_TRUST_ANCHOR },
	{ "dnsbl", required_argument, NULL, O_DNSBL },
	{ "dbl", required_argument, NULL, O_DBL },
	{ "control", required_argument, NULL, O_CONTROL },
	{ "no-control", no_argument, NULL, O_NO_CONTROL },
	{ "public-ip", required_argument, NULL, O_PUBLIC_IP },
	{ "ca-file", required_argument, NULL, O_CA_FILE },
	{ "no-color", no_argument, NULL, O_NO_COLOR },
	{ "version", no_argument, NULL, O_VERSION },
	{ "help", no_argument, NULL, O_HELP },
	{ "server", required_argument, NULL, O_SERVER },
	{ "port", required_argument, NULL, O_PORT },
	{ "tls", required_argument, NULL, O_TLS },
	{ "user", required_argument, NULL, O_USER },
	{ "password-file", required_argument, NULL, O_PW_FILE },
	{ "password-env", required_argument, NULL, O_PW_ENV },
	{ "password-cmd", required_argument, NULL, O_PW_CMD },
	{ "auth", required_argument, NULL, O_AUTH },
	{ "from", required_argument, NULL, O_FROM },
	{ "to", required_argument, NULL, O_TO },
	{ "ehlo", required_argument, NULL, O_EHLO },
	{ "send", no_argument, NULL, O_SEND },
	{ "allow-plaintext-auth", no_argument, NULL, O_ALLOW_PLAIN },
	{ "insecure", no_argument, NULL, O_INSECURE },
	{ "config", required_argument, NULL, O_CONFIG },
	{ "helo", required_argument, NULL, O_HELO },
	{ "ip", required_argument, NULL, O_IP },
	{ "selector", required_argument, NULL, O_SELECTOR },
	{ "message", required_argument, NULL, O_MESSAGE },
	{ NULL, 0, NULL, 0 },
};

static const char usage_text[] =
"usage: smtpdoctor check [ADDRESS] [--server HOST[:PORT]|URL] [--port N] [--tls starttls|implicit|none]\n"
"                        [--config FILE[:ACCOUNT]]\n"
"                        [--user NAME (--password-file F | --password-env VAR | --password-cmd CMD)]\n"
"                        [--auth MECH] [--from ADDR] [--to ADDR] [--ehlo NAME] [--send]\n"
"                        [--allow-plaintext-auth] [--insecure]\n"
"       smtpdoctor domain DOMAIN [--ip ADDR]... [--selector NAME]... [--message FILE]\n"
"       smtpdoctor spf IP DOMAIN_OR_SENDER [--helo NAME]\n"
"       smtpdoctor explain [FILE|-]          judge a saved --json report again\n"
"       smtpdoctor bounce [FILE|-]           (not implemented yet)\n"
"\n"
"global options: --json --timeout S --connect-timeout S --resolver ADDR[:PORT]\n"
"  --trust-anchor FILE --dnsbl ZONE --dbl ZONE --control HOST:PORT --no-control\n"
"  --public-ip ADDR --ca-file FILE -4 -6 --no-color -q -v --version --help\n"
"\n"
"exit status: 0 ok or warn, 1 fail, 2 usage error, 3 inconclusive\n"
"See docs/smtpdoctor.1.md and docs/verdicts.md.\n";

int sd_cli_usage_error(const sd_cli *cli, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (cli && cli->json) {
		sd_report *r = sd_report_usage_error(cli->command, msg);
		char *s = r ? sd_report_to_json(r) : NULL;
		if (s)
			printf("%s\n", s);
		free(s);
		sd_report_free(r);
	}
	fprintf(stderr, "smtpdoctor: %s\n", msg);
	if (!cli || !cli->json)
		fprintf(stderr, "Try 'smtpdoctor --help'.\n");
	return 2;
}

int sd_cli_render(const sd_cli *cli, sd_report *r)
{
	if (!r) {
		fprintf(stderr, "smtpdoctor: out of memory\n");
		return 3;
	}
	if (cli->json) {
		char *s = sd_report_to_json(r);
		if (s)
			printf("%s\n", s);
		free(s);
	} else if (cli->opt.verbose >= 0 || sd_report_status(r) != SD_STATUS_OK) {
		sd_report_write_text(r, stdout, (cli->color ? SD_TEXT_COLOR : 0) |
		    (cli->opt.verbose > 0 ? SD_TEXT_VERBOSE : 0));
	}
	fflush(stdout);
	return sd_report_exit_code(r);
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

#define SEEN(o) (seen[(o) - O_JSON])

int main(int argc, char **argv)
{
	static sd_cli cli;
	char seen[O_MESSAGE - O_JSON + 1] = { 0 };
	int c;

	/* before any thread: libcurl's global state (MTA-STS fetches) */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	sd_options_init(&cli.opt);
	cli.opt.resolvers = cli.resolvers;
	cli.opt.dnsbl = cli.dnsbl;
	cli.opt.dbl = cli.dbl;
	cli.opt.control = cli.control;
	cli.command = "";
	/* --json decides how even an early usage error is printed */
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--json") == 0)
			cli.json = 1;

	/* the command is the first argument that is not an option */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":46qvh", longopts, NULL)) != -1) {
		if (c >= O_JSON && c <= O_MESSAGE)
			seen[c - O_JSON] = 1;
		switch (c) {
		case O_JSON: cli.json = 1; break;
		case O_TIMEOUT:
			if (!parse_seconds(optarg, &cli.opt.timeout))
				return sd_cli_usage_error(&cli, "--timeout: "
				    "expected a number of seconds > 0, got '%s'",
				    optarg);
			break;
		case O_CONNECT_TIMEOUT:
			if (!parse_seconds(optarg, &cli.opt.connect_timeout))
				return sd_cli_usage_error(&cli, "--connect-timeout:"
				    " expected a number of seconds > 0, got '%s'",
				    optarg);
			break;
		case O_RESOLVER:
			if (!add_list(cli.resolvers, &cli.opt.n_resolvers, optarg))
				return sd_cli_usage_error(&cli, "too many --resolver");
			break;
		case O_TRUST_ANCHOR: cli.opt.trust_anchor = optarg; break;
		case O_DNSBL:
			cli.opt.dnsbl_set = 1;
			if (strcmp(optarg, "none") != 0 &&
			    !add_list(cli.dnsbl, &cli.opt.n_dnsbl, optarg))
				return sd_cli_usage_error(&cli, "too many --dnsbl");
			break;
		case O_DBL:
			cli.opt.dbl_set = 1;
			if (strcmp(optarg, "none") != 0 &&
			    !add_list(cli.dbl, &cli.opt.n_dbl, optarg))
				return sd_cli_usage_error(&cli, "too many --dbl");
			break;
		case O_CONTROL:
			cli.opt.control_set = 1;
			if (!strchr(optarg, ':'))
				return sd_cli_usage_error(&cli, "--control: "
				    "expected HOST:PORT, got '%s'", optarg);
			if (!add_list(cli.control, &cli.opt.n_control, optarg))
				return sd_cli_usage_error(&cli, "too many --control");
			break;
		case O_NO_CONTROL: cli.opt.no_control = 1; break;
		case O_PUBLIC_IP: cli.opt.public_ip = optarg; break;
		case O_CA_FILE: cli.opt.ca_file = optarg; break;
		case O_NO_COLOR: cli.color = -1; break;
		case '4': cli.opt.family = cli.opt.family == 6 ? -1 : 4; break;
		case '6': cli.opt.family = cli.opt.family == 4 ? -1 : 6; break;
		case 'q': cli.opt.verbose = -1; break;
		case 'v': cli.opt.verbose = 1; break;
		case 'h':
		case O_HELP: fputs(usage_text, stdout); return 0;
		case O_VERSION: printf("smtpdoctor %s\n", sd_version()); return 0;
		case O_SERVER: cli.check.server = optarg; break;
		case O_PORT: {
			char *end;
			long p = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end || p < 1 || p > 65535)
				return sd_cli_usage_error(&cli, "--port: expected "
				    "1 to 65535, got '%s'", optarg);
			cli.check.port = (int)p;
			break;
		}
		case O_TLS:
			cli.check.tls = sd_tls_mode_parse(optarg);
			if (!cli.check.tls)
				return sd_cli_usage_error(&cli, "--tls: expected "
				    "starttls (or tls), implicit (or ssl, ssl/tls, "
				    "smtps) or none, got '%s'", optarg);
			break;
		case O_USER: cli.check.user = optarg; break;
		case O_PW_FILE: cli.password_file = optarg; break;
		case O_PW_ENV: cli.password_env = optarg; break;
		case O_PW_CMD: cli.password_cmd = optarg; break;
		case O_AUTH: cli.check.auth_mech = optarg; break;
		case O_FROM: cli.check.from = optarg; break;
		case O_TO: cli.check.to = optarg; break;
		case O_EHLO: cli.check.ehlo = optarg; break;
		case O_SEND: cli.check.send = 1; break;
		case O_ALLOW_PLAIN: cli.check.allow_plaintext_auth = 1; break;
		case O_INSECURE: cli.check.insecure = 1; break;
		case O_CONFIG: cli.config = optarg; break;
		case O_HELO: cli.helo = optarg; break;
		case O_IP:
			if (!add_list(cli.ips, &cli.n_ips, optarg))
				return sd_cli_usage_error(&cli, "too many --ip");
			break;
		case O_SELECTOR:
			if (!add_list(cli.selectors, &cli.n_selectors, optarg))
				return sd_cli_usage_error(&cli, "too many --selector");
			break;
		case O_MESSAGE: cli.message_file = optarg; break;
		case ':':
			return sd_cli_usage_error(&cli, "option '%s' needs a value",
			    argv[optind - 1]);
		default:
			return sd_cli_usage_error(&cli, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (cli.opt.family == -1)
		return sd_cli_usage_error(&cli, "-4 and -6 exclude each other");
	if (optind >= argc)
		return sd_cli_usage_error(&cli, "no command given (check, "
		    "domain, spf or bounce)");
	cli.command = argv[optind++];
	for (; optind < argc; optind++) {
		if (cli.n_positional >= 4)
			return sd_cli_usage_error(&cli, "too many arguments");
		cli.positional[cli.n_positional++] = argv[optind];
	}
	cli.color = cli.color >= 0 && isatty(STDOUT_FILENO) &&
	    !getenv("NO_COLOR") && !cli.json;

	static const int check_only[] = { O_SERVER, O_PORT, O_TLS, O_USER,
	    O_PW_FILE, O_PW_ENV, O_PW_CMD, O_AUTH, O_FROM, O_TO, O_EHLO, O_SEND,
	    O_ALLOW_PLAIN, O_INSECURE, O_CONFIG, 0 };
	static const int domain_only[] = { O_IP, O_SELECTOR, O_MESSAGE, 0 };
	static const int spf_only[] = { O_HELO, 0 };
	const int *groups[] = { check_only, domain_only, spf_only };
	const char *owners[] = { "check", "domain", "spf" };
	for (size_t g = 0; g < 3; g++) {
		if (strcmp(cli.command, owners[g]) == 0)
			continue;
		for (const int *o = groups[g]; *o; o++)
			if (SEEN(*o))
				return sd_cli_usage_error(&cli, "option --%s "
				    "belongs to '%s', not '%s'",
				    longopts[*o - O_JSON].name, owners[g],
				    cli.command);
	}

	if (strcmp(cli.command, "check") == 0)
		return sd_cmd_check(&cli);
	if (strcmp(cli.command, "domain") == 0)
		return sd_cmd_domain(&cli);
	if (strcmp(cli.command, "spf") == 0)
		return sd_cmd_spf(&cli);
	if (strcmp(cli.command, "explain") == 0)
		return sd_cmd_explain(&cli);
	if (strcmp(cli.command, "bounce") == 0) {
		fprintf(stderr, "smtpdoctor: bounce: not implemented yet\n");
		return 2;
	}
	return sd_cli_usage_error(&cli, "unknown command '%s'", cli.command);
}

/* Until a command's own file is linked in, it is reserved (SPEC §2). */
__attribute__((weak)) int sd_cmd_spf(sd_cli *cli)
{
	(void)cli;
	fprintf(stderr, "smtpdoctor: spf: not implemented yet\n");
	return 2;
}

__attribute__((weak)) int sd_cmd_domain(sd_cli *cli)
{
	(void)cli;
	fprintf(stderr, "smtpdoctor: domain: not implemented yet\n");
	return 2;
}
