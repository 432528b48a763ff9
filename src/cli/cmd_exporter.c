/*
 * `smtpdoctor exporter --listen ADDR:PORT [--config FILE]`: Prometheus
 * metrics in the multi-target style (docs/exporter.md).  This file holds
 * what a probe is (a `domain --batch` line, or a check of a --config
 * account behind the lockout guard); the HTTP side is
 * src/exporter/server.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/secret.h"
#include "exporter/exporter.h"
#include "exporter/server.h"
#include "report/report.h"
#include "util/util.h"

/* Probes run at once unless --concurrency says otherwise: each check
 * holds a few connections, each domain probe a group of lookup jobs. */
#define EXPORTER_SLOTS 16
/* How long credentials are withheld after a rejection by default. */
#define EXPORTER_RETRY_AFTER_S 3600
/* Connections the kernel queues before the server takes them. */
#define EXPORTER_LISTEN_BACKLOG 128

typedef struct exporter {
	const sd_cli *cli;
	sd_resolver *res;          /* domain probes: one cache for all */
	sd_guard *guard;
	/* the --config parsers keep their state in static storage */
	pthread_mutex_t conf_lock;
} exporter;

static void answer_error(sd_flight_answer *out, int status, const char *msg)
{
	char *shown = sd_sanitize(msg, strlen(msg), 600);
	size_t n = shown ? strlen(shown) : 0;
	out->status = status;
	out->body = malloc(n + 2);
	if (out->body) {
		memcpy(out->body, shown ? shown : "", n);
		memcpy(out->body + n, "\n", 2);
		out->len = n + 1;
	}
	free(shown);
}

static void answer_page(const exporter *x, const sd_exporter_query *q,
    sd_report *r, const sd_probe_info *pi, sd_flight_answer *out)
{
	out->status = 200;
	out->body = r ? sd_exporter_probe_page(r, pi, &out->len) : NULL;
	if (r && x->cli->opt.verbose > 0)
		fprintf(stderr, "smtpdoctor exporter: %s: %s (%s) in %.2f s%s\n",
		    q->key, sd_status_name(sd_report_status(r)),
		    sd_report_cause(r), pi->duration_s, pi->withheld ?
		    ", credentials withheld" : "");
	sd_report_free(r);
}

/* Seconds left for the run proper, never under 0.3 (as check gives a
 * run whose passwordeval took most of its time). */
static double left_s(int64_t deadline_ms)
{
	double s = (double)sd_remaining_ms(deadline_ms) / 1000;
	return s > 0.3 ? s : 0.3;
}

static void probe_domain(exporter *x, const sd_exporter_query *q,
    int64_t deadline_ms, double deadline_s, sd_flight_answer *out)
{
	char line[sizeof q->target + sizeof q->extra], err[512];
	snprintf(line, sizeof line, "%s%s", q->target, q->extra);
	sd_cli *c = malloc(sizeof *c);
	if (!c) {
		answer_error(out, 500, "out of memory");
		return;
	}
	*c = *x->cli;
	c->opt.timeout = left_s(deadline_ms);
	c->opt.progress = NULL;
	sd_probe_info pi = { .deadline_s = deadline_s,
	    .started_unix = sd_wall_now() };
	int64_t t0 = sd_now_ms();
	sd_report *r = sd_cli_domain_line(c, x->res, line, err, sizeof err);
	pi.duration_s = (double)(sd_now_ms() - t0) / 1000;
	free(c);
	if (!r)
		answer_error(out, 400, err);
	else
		answer_page(x, q, r, &pi, out);
}

/* The account's files, as they are now: the configuration file, and
 * Postfix's password map beside main.cf. */
static void account_files(const sd_client_conf *c, sd_file_ids *ids)
{
	sd_file_ids_add(ids, c->file);
	if (c->sasl_map[0]) {
		char path[1400];
		const char *slash = strrchr(c->file, '/');
		snprintf(path, sizeof path, "%.*s/%s", slash ?
		    (int)(slash - c->file) : 1, slash ? c->file : ".",
		    c->sasl_map);
		sd_file_ids_add(ids, path);
	}
}

/* Reads the account (the parsers take turns); 0, or -1 with err. */
static int load_account(exporter *x, const char *name, sd_cli_account *a,
    sd_check_params *cp, sd_file_ids *ids, char *err, size_t errlen)
{
	char spec[1400];
	snprintf(spec, sizeof spec, "%s:%s", x->cli->config, name);
	pthread_mutex_lock(&x->conf_lock);
	int rc = sd_cli_account_load(spec, a, cp, err, errlen);
	if (rc == 0)
		account_files(&a->conf, ids);
	pthread_mutex_unlock(&x->conf_lock);
	if (rc == 0 && !cp->to)
		cp->to = cp->from;
	return rc;
}

static void probe_check(exporter *x, const sd_exporter_query *q,
    int64_t deadline_ms, double deadline_s, sd_flight_answer *out)
{
	char err[1500], note[400];
	if (!x->cli->config) {
		answer_error(out, 400, "command=check probes an account of the "
		    "exporter's --config file, and none was given");
		return;
	}
	sd_cli_account *a = calloc(1, sizeof *a);
	sd_check_params cp = { 0 };
	sd_file_ids ids = { 0 };
	if (!a || load_account(x, q->target, a, &cp, &ids, err,
	    sizeof err) != 0) {
		answer_error(out, a ? 400 : 500, a ? err : "out of memory");
		free(a);
		return;
	}
	sd_probe_info pi = { .deadline_s = deadline_s, .is_check = 1,
	    .started_unix = sd_wall_now() };
	int64_t t0 = sd_now_ms();
	sd_guard_hold hold;
	char *secret = NULL;
	pi.withheld = sd_guard_held(x->guard, q->target, &ids, t0, &hold);
	if (pi.withheld) {
		sd_client_conf_wipe(&a->conf);
		pi.retry_unix = pi.started_unix +
		    (double)(hold.until_ms - t0) / 1000;
		pi.held_cause = hold.cause;
		snprintf(note, sizeof note, "withheld by the exporter: the "
		    "server rejected this account's credentials (%s); they are "
		    "sent again when its file changes or --auth-retry-after "
		    "passes", hold.cause);
		cp.password_note = note;
	} else if (sd_cli_account_secret(a, &cp, deadline_s, &secret) != 0) {
		sd_client_conf_wipe(&a->conf);
		free(a);
		answer_error(out, 500, "out of memory");
		return;
	} else if (!secret && cp.user && !cp.password_note) {
		cp.password_note = "the --config file gives no password for this "
		    "account";
	}
	sd_options opt = x->cli->opt;
	opt.timeout = left_s(deadline_ms);
	opt.progress = NULL;
	cp.password = secret;
	sd_report *r = sd_check(&opt, &cp);
	cp.password = NULL;
	sd_secret_free(secret);
	sd_client_conf_wipe(&a->conf);
	pi.duration_s = (double)(sd_now_ms() - t0) / 1000;
	if (r && !pi.withheld && sd_guard_record(x->guard, q->target, &ids,
	    sd_now_ms(), sd_exporter_auth_outcome(r), sd_report_cause(r)) < 0)
		fprintf(stderr, "smtpdoctor exporter: %s: more than %d accounts "
		    "rejected at once: credentials are now withheld from every "
		    "account not already held, for --auth-retry-after\n",
		    q->key, SD_GUARD_MAX);
	answer_page(x, q, r, &pi, out);
	free(a);
}

/* Probes under way: the heap is trimmed when the last one ends. */
static atomic_int probes_running;

static void probe(void *arg, const sd_exporter_query *q, int64_t deadline_ms,
    double deadline_s, sd_flight_answer *out)
{
	atomic_fetch_add(&probes_running, 1);
	if (q->command == SD_XQ_CHECK)
		probe_check(arg, q, deadline_ms, deadline_s, out);
	else
		probe_domain(arg, q, deadline_ms, deadline_s, out);
	/* a check's TLS contexts and transcripts are freed by now: give the
	 * pages back, or a burst's peak stays the exporter's size for good.
	 * Only once the burst is over: the trim holds each arena's lock while
	 * it walks it, and a probe thread (nice 10) holding one while CPU is
	 * short would hold up the threads answering scrapes */
	if (atomic_fetch_sub(&probes_running, 1) == 1)
		malloc_trim(0);
}

/* --listen: "ADDR:PORT", "[ADDR6]:PORT" or ":PORT" (every address, both
 * families); a bound, listening socket, its address in shown. */
static int listen_on(const char *spec, char *shown, size_t shownlen,
    char *err, size_t errlen)
{
	char host[64] = "";
	const char *colon = strrchr(spec, ':');
	char *end;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!colon || !colon[1] || *end || port < 0 || port > 65535 ||
	    (size_t)(colon - spec) >= sizeof host) {
		snprintf(err, errlen, "--listen: expected ADDR:PORT, [ADDR]:PORT "
		    "or :PORT, got '%.100s'", spec);
		return -1;
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	size_t hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		memmove(host, host + 1, hl - 1);
	}
	if (!*host || inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
	} else {
		snprintf(err, errlen, "--listen: '%.64s' is not an IPv4 or IPv6 "
		    "address (names are not resolved here)", host);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1, zero = 0;
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		/* ":PORT" is both families on one socket */
		if (ss.ss_family == AF_INET6 && !*host)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
			    sizeof zero);
	}
	socklen_t sl = ss.ss_family == AF_INET6 ? sizeof *v6 : sizeof *v4;
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    listen(fd, EXPORTER_LISTEN_BACKLOG) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		snprintf(err, errlen, "--listen: cannot listen on %.100s: %s",
		    spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char addr[INET6_ADDRSTRLEN] = "";
	if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &v6->sin6_addr, addr, sizeof addr);
	else
		inet_ntop(AF_INET, &v4->sin_addr, addr, sizeof addr);
	snprintf(shown, shownlen, ss.ss_family == AF_INET6 ? "[%s]:%d" :
	    "%s:%d", addr, ntohs(ss.ss_family == AF_INET6 ? v6->sin6_port :
	    v4->sin_port));
	return fd;
}

/* What the exporter takes and what it does not; -1 or the usage error's
 * status. */
static int exporter_options(sd_cli *cli)
{
	struct stat st;
	if (cli->n_positional)
		return sd_cli_usage_error(cli, "exporter takes no arguments: "
		    "targets come with each scrape (/probe?command=domain&"
		    "target=DOMAIN)");
	if (!cli->listen)
		return sd_cli_usage_error(cli, "exporter needs --listen "
		    "ADDR:PORT (127.0.0.1:9125, :9125)");
	if (cli->output || (cli->format_set && cli->format != SD_FORMAT_JSON &&
	    cli->format != SD_FORMAT_TEXT))
		return sd_cli_usage_error(cli, "exporter answers in the "
		    "Prometheus text format: no --output, no --format");
	if (cli->config && stat(cli->config, &st) != 0)
		return sd_cli_usage_error(cli, "--config: cannot read '%s': %s",
		    cli->config, strerror(errno));
	return -1;
}

int sd_cmd_exporter(sd_cli *cli)
{
	static exporter x;
	char err[400], shown[80];
	int rc = exporter_options(cli);
	if (rc >= 0)
		return rc;
	const char *rerr = NULL;
	x.cli = cli;
	x.res = sd_resolver_new_unbound(cli->opt.n_resolvers ?
	    cli->opt.resolvers : NULL, cli->opt.n_resolvers,
	    cli->opt.trust_anchor, &rerr);
	if (!x.res)
		return sd_cli_usage_error(cli, "the DNS resolver could not be "
		    "set up: %s", rerr ? rerr : "unknown error");
	x.guard = sd_guard_new((int64_t)((cli->auth_retry_after > 0 ?
	    cli->auth_retry_after : EXPORTER_RETRY_AFTER_S) * 1000));
	pthread_mutex_init(&x.conf_lock, NULL);
	/* a thread per connection and per probe would otherwise each get an
	 * arena of its own, each keeping what it once held */
	mallopt(M_ARENA_MAX, 4);
	/* every thread started from here on inherits the mask: the signals
	 * that stop the server reach sigwait() in this one */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	int fd = listen_on(cli->listen, shown, sizeof shown, err, sizeof err);
	if (fd < 0 || !x.guard)
		return sd_cli_usage_error(cli, "%s", fd < 0 ? err :
		    "out of memory");
	sd_exporter_server s = {
		.listen_fd = fd, .timeout_s = cli->opt.timeout,
		.offset_s = cli->timeout_offset_set ? cli->timeout_offset :
		    SD_EXPORTER_TIMEOUT_OFFSET_S,
		.slots = cli->concurrency ? cli->concurrency : EXPORTER_SLOTS,
		.verbose = cli->opt.verbose > 0, .probe = probe,
		.probe_arg = &x, .guard = x.guard,
	};
	if (cli->opt.verbose >= 0)
		fprintf(stderr, "smtpdoctor exporter: listening on http://%s/ "
		    "(%u probes at once, each within %.1f s)\n", shown, s.slots,
		    cli->opt.timeout);
	int left = sd_exporter_serve(&s, &stop, err, sizeof err);
	if (left < 0) {
		fprintf(stderr, "smtpdoctor exporter: %s\n", err);
		return 2;
	}
	if (left > 0) {
		/* probes still running use OpenSSL and the resolver: no
		 * library destructor may run under them */
		fflush(NULL);
		_exit(0);
	}
	/* the domain probes' stragglers hold their own references to the
	 * resolver; the process ends without freeing the shared one */
	return 0;
}
