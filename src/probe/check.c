/*
 * `smtpdoctor check`: resolve the server, probe every submission port of
 * every address and the control hosts in parallel, then (phase 2) verify
 * the way around when the configured path failed; the rules then read the
 * facts.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/dns.h"
#include "net/conn.h"
#include "probe/discover.h"
#include "probe/domain.h"
#include "probe/dnsbl.h"
#include "probe/domain_dnsbl.h"
#include "probe/host.h"
#include "probe/jobs.h"
#include "probe/score.h"
#include "probe/session.h"
#include "rules/rules.h"
#include "settings/server.h"
#include "smtp/sasl.h"
#include "util/redact.h"
#include "util/util.h"

/* The submission ports probed beside the configured one (docs/smtpdoctor.md). */
static const int submission_ports[] = { 587, 465, 25, 2525 };
/* At most this many addresses of one host are probed. */
#define MAX_ADDRS 8
#define MAX_PROBES 96
/* Blocklist zones asked about this machine's address, at most. */
#define SD_CLI_MAX_ZONES 16

/* Defaults for real users: independent, well-known hosts. */
static const char *const default_controls[] = {
	"smtp.gmail.com:587", "smtp.office365.com:587",
	"gmail-smtp-in.l.google.com:25", "mx1.mail.icloud.com:25",
};

typedef struct addr_list {
	char addr[MAX_ADDRS][64];
	int family[MAX_ADDRS];
	int n;
} addr_list;

static int is_literal(const char *host, int *family)
{
	unsigned char buf[16];
	if (inet_pton(AF_INET, host, buf) == 1) {
		*family = 4;
		return 1;
	}
	if (inet_pton(AF_INET6, host, buf) == 1) {
		*family = 6;
		return 1;
	}
	return 0;
}

/* A/AAAA of host with facts; fills out. */
static void resolve_host(sd_report *r, sd_resolver *res, const char *host,
    int family_only, int64_t deadline, const char *role, addr_list *out,
    int facts)
{
	int fam;
	if (is_literal(host, &fam)) {
		if (!family_only || family_only == fam) {
			snprintf(out->addr[out->n], sizeof out->addr[0], "%s", host);
			out->family[out->n++] = fam;
		}
		return;
	}
	if (!res)
		return;
	sd_report_waiting(r, host, "DNS lookup", strcmp(role, "main") == 0,
	    (double)sd_remaining_ms(deadline) / 1000.0);
	sd_dns_host_answer h;
	sd_dns_host(res, host, family_only, deadline, &h);
	for (int i = 0; i < 2; i++) {
		if (!h.asked[i])
			continue;
		sd_dns_answer *a = &h.a[i];
		const char *type = i == 0 ? "A" : "AAAA";
		if (facts) {
			char id[400];
			snprintf(id, sizeof id, "dns.%s.%s", type, host);
			json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
			    "id", id, "stage", "dns", "host", host, "type", type,
			    "role", role, "status", sd_dns_status_name(a->status),
			    "took_ms", (json_int_t)a->elapsed_ms);
			json_t *addrs = json_array();
			for (size_t k = 0; k < a->n_rr; k++)
				json_array_append_new(addrs, json_string(a->rr[k].text));
			char d[700];
			char list[400] = "";
			for (size_t k = 0; k < a->n_rr && k < 6; k++) {
				strncat(list, k ? ", " : "", sizeof list - strlen(list) - 1);
				strncat(list, a->rr[k].text, sizeof list - strlen(list) - 1);
			}
			snprintf(d, sizeof d, "%s %s: %s", type, host,
			    a->status == SD_DNS_OK ? list :
			    a->status == SD_DNS_NXDOMAIN ? "the name does not exist "
			    "(NXDOMAIN)" : a->status == SD_DNS_NODATA ?
			    "no such records" : a->status == SD_DNS_TIMEOUT ?
			    "the resolver did not answer in time" :
			    a->status == SD_DNS_BOGUS ? "DNSSEC validation failed" :
			    "the lookup failed (SERVFAIL)");
			json_object_set_new(f, "addresses", addrs);
			if (a->canonname && strcmp(a->canonname, host) != 0)
				json_object_set_new(f, "cname",
				    json_string(a->canonname));
			if (a->why_bogus)
				json_object_set_new(f, "why_bogus",
				    json_string(a->why_bogus));
			json_object_set_new(f, "ok",
			    json_boolean(a->status == SD_DNS_OK));
			if (strcmp(role, "main") != 0 && a->status != SD_DNS_OK)
				json_object_set_new(f, "quiet", json_true());
			json_object_set_new(f, "detail", json_string(d));
			sd_fact_add(r, "dns", f);
		}
		for (size_t k = 0; k < a->n_rr && out->n < MAX_ADDRS; k++) {
			snprintf(out->addr[out->n], sizeof out->addr[0], "%s",
			    a->rr[k].text);
			out->family[out->n++] = i == 0 ? 4 : 6;
		}
	}
	sd_dns_host_clear(&h);
	sd_report_waiting(r, host, NULL, 0, 0);
}

static sd_probe *add_probe(sd_probe *probes, int *n, sd_run *run, sd_role role,
    const char *host, const char *addr, int family, int port, sd_mode mode,
    int starttls)
{
	if (*n >= MAX_PROBES)
		return NULL;
	sd_probe *p = &probes[*n];
	memset(p, 0, sizeof *p);
	p->run = run;
	p->role = role;
	snprintf(p->host, sizeof p->host, "%s", host);
	p->mode = mode;
	p->starttls = starttls;
	if (!sd_probe_set_addr(p, addr, family, port))
		return NULL;
	(*n)++;
	return p;
}

/* The conventional TLS mode of a port when --tls is not given. */
static sd_tls_mode default_mode(int port)
{
	return port == 465 ? SD_TLS_IMPLICIT : port == 25 ? SD_TLS_STARTTLS :
	    SD_TLS_STARTTLS;
}

/* MX of the domains around the server name (is it someone's MX?). */
static void mx_facts(sd_report *r, sd_resolver *res, const char *host,
    const char *from, int64_t deadline)
{
	const char *domains[3];
	int n = 0;
	const char *dot = strchr(host, '.');
	if (dot && strchr(dot + 1, '.'))
		domains[n++] = dot + 1;
	if (from && strchr(from, '@'))
		domains[n++] = strchr(from, '@') + 1;
	if (!res)
		return;
	for (int i = 0; i < n; i++) {
		sd_dns_answer a = { 0 };
		sd_dns_query(res, domains[i], SD_DNS_MX, deadline, &a);
		json_t *mx = json_array();
		int host_is_mx = 0;
		for (size_t k = 0; k < a.n_rr; k++) {
			json_array_append_new(mx, json_string(a.rr[k].text));
			if (sd_strcaseeq(a.rr[k].text, host))
				host_is_mx = 1;
		}
		char id[300];
		/* its own id: the sender domain's audit asks MX too */
		snprintf(id, sizeof id, "server_mx.%s", domains[i]);
		char d[400];
		snprintf(d, sizeof d, "MX %s: %s%s", domains[i],
		    a.status == SD_DNS_OK ? "" : sd_dns_status_name(a.status),
		    host_is_mx ? "the server is one of them" :
		    a.status == SD_DNS_OK ? "the server is not among them" : "");
		sd_fact_add(r, "server_mx", json_pack("{s:s, s:s, s:s, s:s, s:o, "
		    "s:b, s:s, s:b}",
		    "id", id, "stage", "dns", "domain", domains[i], "status",
		    sd_dns_status_name(a.status), "mx", mx, "host_is_mx",
		    host_is_mx, "detail", d, "quiet", !host_is_mx));
		sd_dns_answer_clear(&a);
	}
}

static char *default_ehlo(void)
{
	char name[256];
	if (gethostname(name, sizeof name) != 0 || !*name)
		snprintf(name, sizeof name, "localhost");
	name[sizeof name - 1] = '\0';
	return strdup(name);
}

/* The sender's domain (SPF, DKIM, DMARC, MX) audited beside the probes:
 * mail the server accepts can still be refused downstream. */
typedef struct sender_job {
	sd_report *dr;          /* a domain report of its own */
	sd_resolver *res;
	const sd_options *opt;
	sd_domain_params dp;
	int64_t deadline;
	int started;
} sender_job;

static void sender_run(void *arg)
{
	sender_job *j = arg;
	sd_domain_probe(j->dr, j->res, j->opt, &j->dp, j->deadline);
}

/* Copies the facts of another report (the sender domain's audit,
 * discovery's) into the check report; the rules judge them. */
static void merge_facts(sd_report *r, const sd_report *from)
{
	size_t i;
	json_t *f;
	json_array_foreach(from->facts, i, f)
		sd_fact_add(r, NULL, json_deep_copy(f));
}

/* This machine's public address on the IP blocklists (in parallel with the
 * probes): a listing matters for the diagnosis of a refused session. */
typedef struct dnsbl_job {
	sd_report *r;
	sd_resolver *res;
	const sd_options *opt;
	int64_t deadline;
	int started;
} dnsbl_job;

/* check's lookups: beside its probes, no DNS facts of their own. */
static sd_dns_status self_lookup(void *ctx, const char *name, uint16_t type,
    sd_dns_answer *out, char *id, size_t id_len)
{
	const dnsbl_job *j = ctx;
	(void)id;
	(void)id_len;
	return sd_dns_query(j->res, name, type, j->deadline, out);
}

/* The -v line for one list: not listed, listed (and why), or no check. */
static void self_detail(json_t *f, const char *ip, const char *zone)
{
	const json_t *a = sd_dnsbl_answer(f, "listed");
	const char *st = json_string_value(json_object_get(f, "status"));
	const char *err = json_string_value(json_object_get(f, "error"));
	const char *what = a ? "listed" : err ? err :
	    (a = sd_dnsbl_answer(f, "policy")) ? "policy" :
	    (a = sd_dnsbl_answer(f, "error")) ? "the list refused to answer" :
	    st && (strcmp(st, "ok") == 0 || strcmp(st, "nxdomain") == 0 ||
	    strcmp(st, "nodata") == 0) ? "not listed" : "the lookup failed";
	const char *meaning = a ?
	    json_string_value(json_object_get(a, "meaning")) : NULL;
	char d[600];
	snprintf(d, sizeof d, "%s on %s: %s%s%s", ip, zone, what,
	    meaning && *meaning ? " - " : "", meaning ? meaning : "");
	json_object_set_new(f, "detail", json_string(d));
	json_object_set_new(f, "ok", json_boolean(!sd_dnsbl_answer(f,
	    "listed")));
}

static void dnsbl_run(void *arg)
{
	dnsbl_job *j = arg;
	const char *zones[SD_CLI_MAX_ZONES];
	size_t nz = j->opt->dnsbl_set ? j->opt->n_dnsbl :
	    sd_dnsbl_defaults(0, zones, SD_CLI_MAX_ZONES);
	for (size_t i = 0; i < nz && i < SD_CLI_MAX_ZONES; i++) {
		const char *zone = j->opt->dnsbl_set ? j->opt->dnsbl[i] : zones[i];
		char id[400];
		/* "self.": this machine's address, apart from the sender
		 * domain's addresses, which the same report may hold */
		snprintf(id, sizeof id, "self.dnsbl.%s.%s", zone, j->opt->public_ip);
		json_t *f = sd_dnsbl_probe(id, j->opt->public_ip, zone, 0,
		    self_lookup, j);
		if (!f)
			continue;
		json_object_set_new(f, "own", json_true());
		self_detail(f, j->opt->public_ip, zone);
		sd_fact_add(j->r, "dnsbl", f);
	}
}

/* Is there already a non-SMTP control probe of this address? */
static int web_probed(const sd_probe *probes, int np, const char *addr)
{
	for (int i = 0; i < np; i++)
		if (probes[i].role == SD_ROLE_NONSMTP &&
		    strcmp(probes[i].addr, addr) == 0)
			return 1;
	return 0;
}

/* Did an alternative go on as the verified way around? */
static int fix_ran(sd_probe *probes, int np)
{
	for (int i = 0; i < np; i++)
		if (probes[i].role == SD_ROLE_FIX)
			return 1;
	return 0;
}

/*
 * After the configured path ended: when it failed before AUTH, the best
 * parked alternative goes on with AUTH and the envelope (the way around,
 * verified, without a new connection); every other parked probe says QUIT.
 * When it worked, the rest gets a short grace and is then cut.
 */
static void decide_alternatives(sd_probe *probes, int np, sd_probe *main_probe,
    sd_run *run, const sd_check_params *cp, sd_tls_mode tls, int port,
    int64_t deadline, int *way_around)
{
	int want_fix = !main_probe->finished && !main_probe->reached_auth &&
	    !main_probe->implicit_detected && !main_probe->plaintext_answer &&
	    !atomic_load(&run->auth_rejected);
	/* not allowed (*way_around 0): say that one was wanted */
	if (!*way_around) {
		*way_around = want_fix ? -1 : 0;
		want_fix = 0;
	}
	int64_t t_main = sd_now_ms();
	int64_t until = sd_deadline_min(deadline, t_main +
	    (main_probe->finished ? run->connect_ms + 500 :
	    run->connect_ms + run->reply_ms + 500));
	/* wait until every probe has ended or parked; when the configured
	 * path worked, only the configured port's other addresses (IPv6
	 * evidence) get more than a short grace */
	for (;;) {
		int pending = 0;
		int short_grace = main_probe->finished &&
		    sd_now_ms() - t_main > 1500;
		for (int i = 0; i < np; i++)
			pending += probes[i].started && !atomic_load(&probes[i].done) &&
			    !atomic_load(&probes[i].parked) && (!short_grace ||
			    probes[i].port == port);
		if (!pending || sd_now_ms() >= until)
			break;
		if (!want_fix) {
			/* nobody will be chosen: release the parked at once */
			for (int i = 0; i < np; i++)
				if (atomic_load(&probes[i].parked))
					atomic_store(&probes[i].decision, 2);
		}
		struct timespec ts = { 0, 5 * 1000000 };
		nanosleep(&ts, NULL);
	}
	sd_probe *best = NULL;
	int best_rank = 99;
	for (int i = 0; want_fix && i < np; i++) {
		sd_probe *p = &probes[i];
		if (!atomic_load(&p->parked))
			continue;
		int tls_ok = p->tls_ok && (p->cert_ok || cp->insecure);
		if (!tls_ok && tls != SD_TLS_NONE)
			continue;
		if (cp->user && !p->auth_offered)
			continue;
		int rank = p->port == port ? 1 : p->port == 587 ? 2 :
		    p->port == 465 ? 3 : p->port == 2525 ? 4 : 5;
		if (p->family == 6)
			rank += 5;
		if (rank < best_rank) {
			best = p;
			best_rank = rank;
		}
	}
	for (int i = 0; i < np; i++)
		atomic_store(&probes[i].decision, &probes[i] == best ? 1 : 2);
	if (main_probe->finished)
		atomic_store(&run->cancel, 1);
}

/* Jobs of the sender domain's audit run at once (see start_sender). */
#define SENDER_AUDIT_WORKERS 8

/* The sender domain's audit, in a thread beside the probes. */
static void start_sender(sd_jobgroup *side, sender_job *sj, sd_resolver *res,
    const sd_options *opt, const sd_check_params *cp, int64_t deadline)
{
	const char *sender = cp->from ? cp->from :
	    (cp->user && strchr(cp->user, '@')) ? cp->user : NULL;
	const char *at = sender ? strchr(sender, '@') : NULL;
	if (!at || !at[1] || !(sj->dr = sd_report_new("domain")))
		return;
	sj->res = res;
	sj->opt = opt;
	sj->dp.domain = at + 1;
	/* a few at a time: every job is a thread with its own DNS
	 * channel and malloc arena (~100 KiB each); all at once, its 30
	 * jobs (13 DKIM selector guesses among them) cost a check 1 MiB of
	 * memory and finish no sooner than the probes beside them */
	sj->dp.max_workers = SENDER_AUDIT_WORKERS;
	/* secondary to the path: it may not hold the verdict long */
	sj->deadline = sd_deadline_min(deadline, sd_now_ms() + 4000);
	sj->started = 1;
	sd_jobgroup_add(side, sender_run, NULL, sj);
}

/*
 * The TLS client context is built by a thread of its own while the run
 * sets up its resolver and plans the probes: opening OpenSSL, reading its
 * configuration and the CA certificates (the whole bundle when
 * SSL_CERT_FILE names it: some 30 ms) would otherwise delay every first
 * connection.
 */
typedef struct tls_job {
	pthread_t th;
	int started;
	const char *ca_file;
	SSL_CTX *ctx;
} tls_job;

static void *tls_thread(void *arg)
{
	tls_job *j = arg;
	j->ctx = sd_tls_client_ctx(j->ca_file);
	return NULL;
}

static void tls_start(tls_job *j, const char *ca_file)
{
	j->ca_file = ca_file;
	j->started = pthread_create(&j->th, NULL, tls_thread, j) == 0;
	if (!j->started)
		j->ctx = sd_tls_client_ctx(ca_file);
}

/* The context, once built (NULL when it could not be). */
static SSL_CTX *tls_wait(tls_job *j)
{
	if (j->started) {
		pthread_join(j->th, NULL);
		j->started = 0;
	}
	return j->ctx;
}

/* What every path of one run shares (discovery's, each check's). */
typedef struct check_env {
	const sd_options *opt;
	sd_resolver *res;
	json_t *controls;
	char *ehlo_name;
	int64_t deadline;
	tls_job *tls;           /* one context for the run (tls_wait) */
} check_env;

/* The state the probes of one path share, and their waits (run->tls is
 * set by tls_wait, before anything connects). */
static void run_init(sd_run *run, sd_report *r, const check_env *env,
    const sd_check_params *cp)
{
	const sd_options *opt = env->opt;
	char *ehlo_name = env->ehlo_name;
	int64_t deadline = env->deadline;
	run->report = r;
	run->params = cp;
	run->opt = opt;
	run->ehlo_name = ehlo_name;
	run->deadline_ms = deadline;
	run->connect_ms = (int64_t)(opt->connect_timeout * 1000);
	run->reply_ms = run->connect_ms * 2 > 4000 ? run->connect_ms * 2 : 4000;
	run->sniff_ms = run->connect_ms < 1500 ? 1500 : run->connect_ms > 4000 ?
	    4000 : run->connect_ms;
}

/* The settings judged: a top-level member of the report (members may be
 * added; facts keep to the stages of docs/json.md). */
static json_t *check_config(const sd_options *opt, const sd_check_params *cp,
    int port, sd_tls_mode tls, json_t *controls)
{
	return json_pack("{s:s, s:i, s:s, s:b, s:b, s:s?, s:s?, s:s?, s:b, s:b, "
	    "s:b, s:b, s:O, s:i, s:f, s:f}",
	    "server", cp->server, "port", port,
	    "tls", sd_tls_mode_name(tls), "user", cp->user != NULL, "password",
	    cp->password != NULL, "mech", cp->auth_mech, "from", cp->from, "to",
	    cp->to, "send", cp->send, "allow_plaintext_auth",
	    cp->allow_plaintext_auth, "insecure", cp->insecure, "no_control",
	    opt->no_control, "controls", controls, "family", opt->family,
	    "connect_timeout", opt->connect_timeout, "timeout", opt->timeout);
}

/* The probes of the server: every address on the configured port and the
 * other submission ports, and its web port.  Returns the new count. */
static int plan_server(sd_probe *probes, int np, sd_run *run,
    const addr_list *server, int port, sd_tls_mode tls)
{
	const sd_check_params *cp = run->params;
	int ports[6];
	int nports = 0;
	ports[nports++] = port;
	for (size_t i = 0; i < sizeof submission_ports / sizeof submission_ports[0]; i++)
		if (submission_ports[i] != port)
			ports[nports++] = submission_ports[i];
	/* the configured path: first address of the preferred family */
	int primary = 0;
	for (int a = 0; a < server->n; a++)
		if (server->family[a] == 4) {
			primary = a;
			break;
		}
	for (int a = 0; a < server->n; a++) {
		for (int k = 0; k < nports; k++) {
			int pt = ports[k];
			sd_tls_mode m = pt == port ? tls : default_mode(pt);
			sd_role role = (a == primary && pt == port) ?
			    SD_ROLE_MAIN : SD_ROLE_ALT;
			sd_mode mode = m == SD_TLS_IMPLICIT ? SD_MODE_IMPLICIT :
			    role == SD_ROLE_MAIN ? SD_MODE_PLAIN_SNIFF :
			    SD_MODE_PLAIN;
			sd_probe *p = add_probe(probes, &np, run, role,
			    cp->server, server->addr[a], server->family[a], pt,
			    mode, m != SD_TLS_NONE || role != SD_ROLE_MAIN);
			if (p && role == SD_ROLE_ALT)
				p->park = 1;
			/* no TLS configured: does the same port offer AUTH
			 * after STARTTLS?  (auth.encryption_required) */
			if (role == SD_ROLE_MAIN && m == SD_TLS_NONE) {
				p = add_probe(probes, &np, run, SD_ROLE_ALT,
				    cp->server, server->addr[a],
				    server->family[a], pt, SD_MODE_PLAIN, 1);
				if (p)
					p->park = 1;
			}
		}
	}
	/* a non-SMTP control on the same host */
	add_probe(probes, &np, run, SD_ROLE_NONSMTP, cp->server,
	    server->addr[primary], server->family[primary], 443,
	    SD_MODE_PLAIN, 0);
	return np;
}

/* The probes of the independent control hosts.  Returns the new count. */
static int plan_controls(sd_probe *probes, int np, sd_run *run,
    json_t *controls, sd_resolver *res, int64_t dns_dl)
{
	const sd_options *opt = run->opt;
	sd_report *r = run->report;
	for (size_t i = 0; i < json_array_size(controls); i++) {
		const char *spec = json_string_value(json_array_get(controls, i));
		char host[256];
		const char *colon = strrchr(spec, ':');
		if (!colon || (size_t)(colon - spec) >= sizeof host)
			continue;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
		int cport = atoi(colon + 1);
		if (cport < 1 || cport > 65535)
			continue;
		char *h = host;
		if (h[0] == '[' && h[strlen(h) - 1] == ']') {
			h[strlen(h) - 1] = '\0';
			h++;
		}
		addr_list ca = { 0 };
		int lf;
		/* -4/-6: a literal control of the other family is not
		 * for this run */
		if (opt->family > 0 && is_literal(h, &lf) &&
		    lf != opt->family)
			continue;
		resolve_host(r, res, h, opt->family > 0 ? opt->family : 0,
		    dns_dl, "control", &ca, 1);
		if (ca.n == 0) {
			char id[300];
			snprintf(id, sizeof id, "control.%s", spec);
			sd_fact_add(r, "control", json_pack("{s:s, s:s, s:s, s:s, s:b, "
			    "s:s}", "id", id, "stage", "network", "role", "control",
			    "result", "unresolved", "ok", 0, "detail",
			    "a control host did not resolve"));
			continue;
		}
		/* a web port is the non-SMTP control: connect only */
		if (cport == 443 || cport == 80) {
			add_probe(probes, &np, run, SD_ROLE_NONSMTP, h,
			    ca.addr[0], ca.family[0], cport, SD_MODE_PLAIN, 0);
			continue;
		}
		add_probe(probes, &np, run, SD_ROLE_CONTROL, h, ca.addr[0],
		    ca.family[0], cport, cport == 465 ? SD_MODE_IMPLICIT :
		    SD_MODE_PLAIN, 1);
		if (!web_probed(probes, np, ca.addr[0]))
			add_probe(probes, &np, run, SD_ROLE_NONSMTP, h,
			    ca.addr[0], ca.family[0], 443, SD_MODE_PLAIN, 0);
	}
	return np;
}

/* The configured port speaks the other TLS mode: verify it with a new
 * connection in that mode (the way around of the verdict's fix). */
static void verify_way_around(sd_probe *main_probe, sd_run *run,
    int64_t deadline, int *way_around)
{
	if (!(main_probe->implicit_detected || main_probe->plaintext_answer) ||
	    atomic_load(&run->auth_rejected) || sd_remaining_ms(deadline) <= 500)
		return;
	if (*way_around <= 0) {
		*way_around = -1;
		return;
	}
	sd_probe fix = *main_probe;
	fix.job = NULL;
	fix.started = 0;
	fix.role = SD_ROLE_FIX;
	fix.connected = fix.greeted = fix.tls_ok = fix.cert_ok = 0;
	fix.auth_offered = fix.auth_ok = fix.finished = 0;
	fix.plaintext_answer = fix.implicit_detected = 0;
	fix.reached_auth = fix.park = 0;
	fix.mode = main_probe->implicit_detected ? SD_MODE_IMPLICIT :
	    SD_MODE_PLAIN;
	fix.starttls = 1;
	sd_probe_run(&fix);
}

/* Does the configured path work as discovery means it: greeting, TLS
 * with a valid certificate, AUTH offered (docs/discovery.md)? */
static int path_works(const sd_probe *p, sd_tls_mode tls)
{
	return p && p->greeted && p->auth_offered && (tls == SD_TLS_NONE ||
	    (p->tls_ok && p->cert_ok));
}

/* Phase 1: every probe at once; the alternatives wait while the
 * configured path decides whether they are needed.  Phase 2: the way
 * around, verified.  *way_around 1 allows it; 0 forbids it, and comes
 * back -1 when the path wanted one; the configured path's probe is
 * returned. */
static sd_probe *run_probes(sd_probe *probes, int np, sd_run *run,
    sd_resolver *res, int has_server, int port, sd_tls_mode tls,
    int *way_around)
{
	for (int i = 0; i < np; i++)
		sd_probe_start(&probes[i]);
	const sd_check_params *cp = run->params;
	/* is the server someone's MX?  Asked while the probes run */
	if (has_server)
		mx_facts(run->report, res, cp->server, cp->from ? cp->from :
		    cp->user, sd_deadline_min(run->deadline_ms, sd_now_ms() +
		    3000));
	sd_probe *main_probe = NULL;
	for (int i = 0; i < np; i++)
		if (probes[i].role == SD_ROLE_MAIN)
			main_probe = &probes[i];
	if (main_probe) {
		sd_probe_join(main_probe);
		decide_alternatives(probes, np, main_probe, run, cp, tls, port,
		    run->deadline_ms, way_around);
	}
	for (int i = 0; i < np; i++)
		sd_probe_join(&probes[i]);
	atomic_store(&run->cancel, 0);

	if (main_probe && !fix_ran(probes, np))
		verify_way_around(main_probe, run, run->deadline_ms, way_around);
	return main_probe;
}

/* A candidate as the path to check; never credentials to a server only
 * plain http named. */
static void use_candidate(sd_check_params *cp, const sd_candidate *c)
{
	cp->server = c->host;
	cp->port = c->port;
	cp->tls = c->tls;
	/* credentials go to a discovered server only through a certificate
	 * valid for the name its source gave: --insecure is for a server
	 * the user names (the report's config.insecure says false) */
	cp->insecure = 0;
	if (c->http_only) {
		cp->user = NULL;
		cp->password = NULL;
	}
}

/* The published settings of the sender's domain, beside the probes. */
typedef struct published_job {
	sd_report *r;
	sd_resolver *res;
	sd_run *run;
	const char *domain, *server;
	int64_t deadline;
	int started;
} published_job;

static void published_run(void *arg)
{
	published_job *j = arg;
	sd_discover_published(j->r, j->res, j->run, j->domain, j->server,
	    j->deadline);
}

/* config.source, source_detail and candidates (docs/discovery.md). */
static void config_source(sd_report *r, const sd_check_params *cp,
    const sd_discovery *disc, int discovered)
{
	json_t *cfg = json_object_get(r->extra, "config");
	if (!cfg)
		return;
	const sd_candidate *c = discovered ? sd_discovery_choose(disc) : NULL;
	json_object_set_new(cfg, "source", json_string(c ?
	    sd_source_name(c->source) : cp->source ? cp->source : "flags"));
	json_object_set_new(cfg, "source_detail", json_string(c ? c->detail :
	    cp->source_detail ? cp->source_detail : "command line"));
	if (c && c->http_only)
		json_object_set_new(cfg, "http_only", json_true());
	json_object_set_new(cfg, "candidates", discovered ?
	    sd_discovery_json(disc) : json_array());
	if (cp->password_note)
		json_object_set_new(cfg, "password_note",
		    json_string(cp->password_note));
	const sd_client_source *cl = cp->client;
	if (cl) {
		json_t *notes = json_array();
		for (int i = 0; i < cl->n_notes && i < 4; i++)
			json_array_append_new(notes, json_string(cl->notes[i]));
		json_object_set_new(cfg, "client", json_string(cl->format));
		json_object_set_new(cfg, "file", json_string(cl->file));
		json_object_set_new(cfg, "account", json_string(cl->account ?
		    cl->account : ""));
		json_object_set_new(cfg, "git_prefix", json_string(cl->git_prefix ?
		    cl->git_prefix : ""));
		json_object_set_new(cfg, "url_user", json_string(cl->url_user ?
		    cl->url_user : ""));
		json_object_set_new(cfg, "notes", notes);
	}
}

/* The resolver, when any name is to be resolved (the server's, a
 * control's, the sender's domain, the public address on blocklists); a
 * fact says why when none could be made. */
static sd_resolver *run_resolver(sd_report *r, const sd_options *opt,
    const sd_check_params *cp, size_t n_controls)
{
	int fam;
	const char *who = cp->from ? cp->from : cp->user;
	if (cp->server && is_literal(cp->server, &fam) && !n_controls &&
	    !opt->public_ip && !(who && strchr(who, '@')))
		return NULL;
	const char *err = NULL;
	/* --resolver with no --trust-anchor: libunbound would validate
	 * nothing (it has no chain to trust), so the stub resolver asks the
	 * same questions and gets the same answers without a libunbound
	 * context's 3 MiB (as domain --batch does) */
	sd_resolver *res = opt->n_resolvers && !opt->trust_anchor ?
	    sd_resolver_new_stub(opt->resolvers, opt->n_resolvers, &err) :
	    sd_resolver_new_unbound_run(opt->resolvers, opt->n_resolvers,
	    opt->trust_anchor, &err);
	if (!res && (!cp->server || is_literal(cp->server, &fam) == 0))
		sd_fact_add(r, "resolver", json_pack("{s:s, s:s, s:s, s:b, s:s}",
		    "id", "dns.resolver", "stage", "dns", "error", err, "ok", 0,
		    "detail", err));
	return res;
}

/* No source named a server: the config says so, the rules name each
 * source tried. */
static void no_server(sd_report *r, const sd_check_params *cp,
    const sd_discovery *disc)
{
	sd_report_set_extra(r, "config", json_pack("{s:n, s:n, s:n, s:s, s:s, "
	    "s:o, s:b, s:s?}", "server", "port", "tls", "source", "none",
	    "source_detail", "no source named a server", "candidates",
	    disc ? sd_discovery_json(disc) : json_array(), "user",
	    cp->user != NULL, "from", cp->from));
	sd_rules_judge(r);
}

/* --send --score: the test message the run sent (or would have sent)
 * goes to a content filter before the rules judge, since
 * content.spam_score is a rule of check's table. */
static void score_test_message(sd_report *r, const sd_check_params *cp,
    int64_t deadline)
{
	const char *from = cp->from ? cp->from : cp->address;
	const char *to = cp->to ? cp->to : from;
	char msg[2048];
	int n = cp->score && cp->send && from ? sd_check_test_message(msg,
	    sizeof msg, cp->ehlo, from, to) : -1;
	if (n > 0)
		sd_score_with(r, cp->scorer, msg, (size_t)n, deadline);
}

/* The work beside the probes: this machine's address on the blocklists,
 * the sender domain's audit, the published settings of its domain. */
typedef struct side_jobs {
	sd_jobgroup *group;
	dnsbl_job dj;
	sender_job sj;
	published_job pj;
} side_jobs;

static void side_start(side_jobs *s, sd_report *r, sd_resolver *res,
    sd_run *run, const sd_check_params *cp, int discovered)
{
	const sd_options *opt = run->opt;
	int64_t deadline = run->deadline_ms;
	s->group = sd_jobgroup_new(0);
	s->dj = (dnsbl_job){ r, res, opt, sd_deadline_min(deadline,
	    sd_now_ms() + 4000), 0 };
	if (res && opt->public_ip && !(opt->dnsbl_set && opt->n_dnsbl == 0)) {
		s->dj.started = 1;
		sd_jobgroup_add(s->group, dnsbl_run, NULL, &s->dj);
	}
	if (res)
		start_sender(s->group, &s->sj, res, opt, cp, deadline);
	/* with flags or a file: what the sender's domain publishes (never
	 * holding the verdict up for long); ADDRESS names the account's
	 * domain even when --from differs */
	const char *sender = cp->from ? cp->from :
	    (cp->user && strchr(cp->user, '@')) ? cp->user : NULL;
	const char *pub_addr = cp->address ? cp->address : sender;
	const char *at = pub_addr ? strchr(pub_addr, '@') : NULL;
	s->pj = (published_job){ r, res, run, at && at[1] ? at + 1 : NULL,
	    cp->server, sd_deadline_min(deadline, sd_now_ms() + 4000), 0 };
	if (!discovered) {
		s->pj.started = 1;
		sd_jobgroup_add(s->group, published_run, NULL, &s->pj);
	}
}

/* Waits for the side work and adds the sender domain's facts (an audit
 * cut at its deadline left its stragglers cancelled, holding their own
 * references: nothing of the check's). */
static void side_join(side_jobs *s, sd_report *r, int64_t deadline)
{
	sd_jobgroup_join(s->group, deadline + SD_JOBS_JOIN_GRACE_MS);
	if (s->sj.started)
		merge_facts(r, s->sj.dr);
	sd_report_free(s->sj.dr);
}

/* Every form the secret can take, before the first connection that
 * carries it (discovery's probes never do): a server may echo it on any
 * connection of the run, even one that started before AUTH.  0 when
 * there is a secret and no room to keep it out of the report. */
static int secret_forms(sd_report *r, sd_run *run, const sd_check_params *cp,
    int port, sd_secrets **out)
{
	if (!cp->password || !*cp->password)
		return 1;
	sd_secrets *secrets = *out = sd_secrets_new();
	if (!secrets)
		return 0;
	sd_sasl_creds cr = { cp->user ? cp->user : "", cp->password,
	    cp->server, port };
	sd_sasl_secret_forms(&cr, secrets);
	r->secrets = secrets;
	run->secrets = secrets;
	return 1;
}

/* What one check of a path leaves to its caller. */
typedef struct path_result {
	int main_works;       /* path_works() of the configured path */
	int way_around;       /* -1: one was wanted and not allowed */
	int judge;            /* 0: the verdict is set already */
	int no_server;        /* discovery named none */
	char addr[64];        /* the address checked, "" when none */
	sd_secrets *secrets;  /* kept until the report is judged */
	sd_candidate top;     /* discovery's top candidate (cp points here) */
} path_result;

/*
 * One check of the path cp names, into r: the server's every port and
 * address, the controls, the side work.  way_around 0: nothing goes on
 * past the configured path's failure (discovery's top candidate before it
 * is known to work).
 */
static void check_path(sd_report *r, const check_env *env,
    const sd_check_params *cp, int discovered, int way_around,
    path_result *out)
{
	const sd_options *opt = env->opt;
	sd_resolver *res = env->res;
	int64_t deadline = env->deadline;
	sd_run run = { 0 };
	run_init(&run, r, env, cp);
	int port = cp->port ? cp->port : cp->tls == SD_TLS_IMPLICIT ? 465 : 587;
	sd_tls_mode tls = cp->tls ? cp->tls : default_mode(port);
	int secrets_ok = secret_forms(r, &run, cp, port, &out->secrets);
	sd_report_set_extra(r, "config", check_config(opt, cp, port, tls,
	    env->controls));
	run.tls = tls_wait(env->tls);
	out->way_around = way_around;
	out->judge = run.tls && secrets_ok;
	if (!out->judge) {
		/* no way to keep the secret out of the report: no run */
		sd_verdict_set(r, "inconclusive", -1, !secrets_ok ? "out of "
		    "memory" : opt->ca_file ? "could not load the --ca-file "
		    "certificates" : "could not set up TLS", NULL, NULL);
		return;
	}
	/* a discovered path's side work runs from the start (the caller's) */
	side_jobs side = { 0 };
	if (!discovered)
		side_start(&side, r, res, &run, cp, 0);
	addr_list server = { 0 };
	/* a resolver that has not answered in twice a connect timeout (3 to
	 * 8 s) has failed for the user too */
	int64_t dns_ms = run.connect_ms * 2 < 3000 ? 3000 :
	    run.connect_ms * 2 > 8000 ? 8000 : run.connect_ms * 2;
	int64_t dns_dl = sd_deadline_min(deadline, sd_now_ms() + dns_ms);
	resolve_host(r, res, cp->server, opt->family > 0 ? opt->family : 0,
	    dns_dl, "main", &server, 1);

	sd_probe *probes = calloc(MAX_PROBES, sizeof *probes);
	int np = 0;
	if (probes && server.n) {
		np = plan_server(probes, np, &run, &server, port, tls);
		np = plan_controls(probes, np, &run, env->controls, res,
		    dns_dl);
	}
	sd_probe *main_probe = run_probes(probes, np, &run, res, server.n > 0,
	    port, tls, &out->way_around);
	score_test_message(r, cp, deadline);
	out->main_works = path_works(main_probe, tls);
	snprintf(out->addr, sizeof out->addr, "%s", main_probe ?
	    main_probe->addr : "");
	if (!discovered)
		side_join(&side, r, deadline);
	free(probes);
}

/* A report for one check of a path, on the run's clock. */
static sd_report *path_report(const sd_report *first, const sd_options *opt)
{
	sd_report *r = sd_report_new("check");
	if (r) {
		sd_report_watch(r, opt);
		r->t0_ms = first->t0_ms;
		r->started = first->started;
	}
	return r;
}

/*
 * check ADDRESS with no server: discovery and the check overlap.  The
 * check starts on the top-ranked candidate as soon as every source ranked
 * above it has answered, and goes no further than a path that works
 * (credentials only to the chosen candidate, over a certificate valid for
 * its name: docs/discovery.md).  When that path does not work, the
 * candidate discovery chooses is checked afresh.  Returns the report to
 * judge, holding discovery's facts (dr, freed, when another).
 */
static sd_report *check_discovered(sd_report *dr, const check_env *env,
    sd_check_params *cp, sd_discovery *disc, path_result *pr)
{
	const sd_options *opt = env->opt;
	int64_t deadline = env->deadline;
	const char *at = cp->address ? strrchr(cp->address, '@') : NULL;
	sd_run base = { 0 };
	run_init(&base, dr, env, cp);
	base.tls = tls_wait(env->tls);   /* discovery probes candidates */
	/* the blocklists and the sender's domain need no server: they start
	 * now (the blocklists' facts in dr, merged with discovery's) */
	side_jobs side = { 0 };
	side_start(&side, dr, env->res, &base, cp, 1);
	/* the path itself needs the rest: discovery may use about half */
	int64_t dl = sd_deadline_min(deadline, sd_now_ms() +
	    sd_remaining_ms(deadline) / 2);
	const sd_candidate *top = &pr->top;
	if (!at || !at[1] || !sd_discover_start(disc, dr, env->res, &base, at + 1,
	    dl, (base.tls ? SD_DISCOVER_PROBE : 0) | SD_DISCOVER_TOP) ||
	    !sd_discover_top(disc, &pr->top)) {
		sd_discover_end(disc, -1, NULL);
		pr->no_server = 1;
		side_join(&side, dr, deadline);
		return dr;
	}
	sd_check_params first = *cp;
	use_candidate(&first, top);
	sd_report *r = path_report(dr, opt);
	if (r)
		check_path(r, env, &first, 1, 0, pr);
	sd_discover_end(disc, r ? pr->main_works : 0, pr->addr);
	const sd_candidate *c = sd_discovery_choose(disc);
	int other = c && !(sd_strcaseeq(c->host, top->host) && c->port ==
	    top->port && c->tls == top->tls);
	if (r && !pr->main_works && c && (other || pr->way_around < 0)) {
		/* the top one does not work: the chosen one, afresh (no
		 * credentials went to the first) */
		sd_report_free(r);
		sd_secrets_free(pr->secrets);
		pr->secrets = NULL;
		use_candidate(cp, c);
		r = path_report(dr, opt);
		if (r)
			check_path(r, env, cp, 1, 1, pr);
	} else {
		*cp = first;
	}
	side_join(&side, r ? r : dr, deadline);
	if (!r) {
		pr->judge = 0;
		return dr;
	}
	merge_facts(r, dr);
	sd_report_free(dr);
	return r;
}

sd_report *sd_check(const sd_options *opt, const sd_check_params *cp_in)
{
	sd_report *r = sd_report_new("check");
	if (!r)
		return NULL;
	sd_report_watch(r, opt);
	/* discovery fills in the server: a copy the run may change */
	sd_check_params local = *cp_in;
	sd_check_params *cp = &local;
	int64_t t0 = sd_now_ms();
	/* leave room for rules and rendering inside --timeout */
	int64_t deadline = t0 + (int64_t)(opt->timeout * 1000) - 150;
	char *ehlo_name = cp->ehlo ? strdup(cp->ehlo) : default_ehlo();
	size_t n_controls = opt->no_control ? 0 : opt->control_set ?
	    opt->n_control : sizeof default_controls / sizeof default_controls[0];
	json_t *controls = json_array();
	for (size_t i = 0; i < n_controls; i++)
		json_array_append_new(controls, json_string(opt->control_set ?
		    opt->control[i] : default_controls[i]));

	/* per run, so that two checks can run at once in one process */
	sd_discovery *disc = calloc(1, sizeof *disc);
	path_result pr = { 0 };
	tls_job tj = { 0 };
	tls_start(&tj, opt->ca_file);
	check_env env = { opt, run_resolver(r, opt, cp, n_controls), controls,
	    ehlo_name, deadline, &tj };
	int discovered = !cp->server;
	if (!disc)
		pr.no_server = 1;
	else if (discovered)
		r = check_discovered(r, &env, cp, disc, &pr);
	else
		check_path(r, &env, cp, 0, 1, &pr);
	/* a domain audit's stragglers hold a reference of their own */
	sd_resolver_free(env.res);
	SSL_CTX *ctx = tls_wait(&tj);
	if (ctx)
		SSL_CTX_free(ctx);
	if (pr.no_server) {
		no_server(r, cp, disc);
	} else if (pr.judge) {
		config_source(r, cp, disc, discovered);
		sd_report_sort_facts(r);
		sd_rules_judge(r);
	}
	free(disc);
	/* nothing enters the report after the run: the forms go */
	r->secrets = NULL;
	sd_secrets_free(pr.secrets);
	json_decref(controls);
	free(ehlo_name);
	r->elapsed_ms = sd_now_ms() - t0;
	return r;
}
