/*
 * The rules of `check`; see check_rules.h.
 *
 * Walk the stages of SPEC §1 along the configured path; the verdict is the
 * first stage that stops sending, and within it the most specific code the
 * facts prove, nearest to the client first (this machine, the path, the
 * server).  Everything else that was seen becomes a finding.
 */
#include "rules/check_rules.h"
#include "rules/discovery_rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/replies_glue.h"
#include "util/util.h"

/* ---- reading facts ---------------------------------------------------- */

static const char *str(const json_t *f, const char *k)
{
	const char *s = json_string_value(json_object_get(f, k));
	return s ? s : "";
}

static int num(const json_t *f, const char *k)
{
	return (int)json_integer_value(json_object_get(f, k));
}

static int is(const json_t *f, const char *k, const char *v)
{
	return strcmp(str(f, k), v) == 0;
}

static int truth(const json_t *f, const char *k)
{
	return json_is_true(json_object_get(f, k));
}

/* The kind of a fact: the id up to its first dot ("tcp", "greeting"...),
 * with the "fix." prefix removed. */
static int kind_is(const json_t *f, const char *kind)
{
	const char *id = str(f, "id");
	if (strncmp(id, "fix.", 4) == 0)
		id += 4;
	size_t n = strlen(kind);
	return strncmp(id, kind, n) == 0 && id[n] == '.';
}

typedef struct q {
	const char *kind;
	const char *role;   /* NULL: any */
	int port;           /* 0: any */
	const char *addr;   /* NULL: any */
} q;

static json_t *first(const json_t *facts, q want)
{
	size_t i;
	json_t *f;
	json_array_foreach(facts, i, f) {
		if (!kind_is(f, want.kind))
			continue;
		if (want.role && !is(f, "role", want.role))
			continue;
		if (want.port && num(f, "port") != want.port)
			continue;
		if (want.addr && !is(f, "addr", want.addr))
			continue;
		return f;
	}
	return NULL;
}

#define EACH(facts, i, f) json_array_foreach((facts), (i), (f))

/* ---- verdict building ------------------------------------------------- */

typedef struct ctx {
	sd_report *r;
	json_t *facts;
	json_t *cfg;
	int port;
	const char *tls;        /* "starttls", "implicit", "none" */
	int user, password;
	const char *server;
	json_t *fix;            /* array being built */
	json_t *evidence;
	int decided;
	int cert_finding;        /* --insecure: an invalid certificate seen */
	char cert_summary[600];
} ctx;

static void ev(ctx *c, const json_t *f)
{
	if (!f)
		return;
	size_t i;
	json_t *e;
	json_array_foreach(c->evidence, i, e)
		if (strcmp(json_string_value(e), str(f, "id")) == 0)
			return;
	json_array_append_new(c->evidence, json_string(str(f, "id")));
}

static void fixf(ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fixf(ctx *c, const char *fmt, ...)
{
	char buf[800];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	json_array_append_new(c->fix, json_string(buf));
}

static void finding(ctx *c, const char *code, const char *sev,
    const char *subject, json_t *evidence, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void finding(ctx *c, const char *code, const char *sev,
    const char *subject, json_t *evidence, const char *fmt, ...)
{
	char buf[1000];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	const sd_code *cd = sd_code_lookup(code);
	sd_finding_add(c->r, code, sev, cd ? cd->category : NULL, subject, buf,
	    evidence);
}

static json_t *ids(const json_t *a, const json_t *b)
{
	json_t *arr = json_array();
	if (a)
		json_array_append_new(arr, json_string(str(a, "id")));
	if (b)
		json_array_append_new(arr, json_string(str(b, "id")));
	return arr;
}

/* Sets the verdict once, with a finding of the same code. */
static void decide(ctx *c, const char *cause, const char *subject,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void decide(ctx *c, const char *cause, const char *subject,
    const char *fmt, ...)
{
	if (c->decided)
		return;
	char buf[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	c->decided = 1;
	const sd_code *cd = sd_code_lookup(cause);
	if (strcmp(cause, "ok") != 0)
		sd_finding_add(c->r, cause, strcmp(cause, "inconclusive") == 0 ?
		    "warning" : cd && cd->status == SD_STATUS_WARN ? "warning" :
		    "error", cd ? cd->category : NULL, subject, buf,
		    json_deep_copy(c->evidence));
	/* SPEC §4: the fix of an ok verdict is empty */
	sd_verdict_set(c->r, cause, -1, buf, strcmp(cause, "ok") == 0 ?
	    json_array() : json_incref(c->fix), json_incref(c->evidence));
}

/* ---- the way around, verified ------------------------------------------ */

static const char *mode_words(const char *m)
{
	return strcmp(m, "implicit") == 0 ? "SSL/TLS (implicit TLS)" :
	    strcmp(m, "starttls") == 0 ? "STARTTLS" : "no encryption";
}

/* Adds the verified alternative (the "fix" probe of check.c) to the fix. */
static int verified_fix(ctx *c)
{
	size_t i;
	json_t *f;
	json_t *auth = NULL, *done = NULL;
	EACH(c->facts, i, f) {
		if (!is(f, "role", "fix"))
			continue;
		if (kind_is(f, "auth"))
			auth = f;
		else if (kind_is(f, "rset") || kind_is(f, "data_end"))
			done = f;
	}
	if (!done || !truth(done, "ok"))
		return 0;
	int port = num(done, "port");
	const char *addr = str(done, "addr");
	/* the connection may have started as an alternative, or as a fix */
	json_t *tls = NULL, *tcp = NULL;
	EACH(c->facts, i, f) {
		if (num(f, "port") != port || !is(f, "addr", addr))
			continue;
		if (kind_is(f, "tls") && truth(f, "ok"))
			tls = f;
		if (kind_is(f, "tcp") && truth(f, "ok"))
			tcp = f;
	}
	const char *mode = tls ? str(tls, "mode") : "none";
	int authed = auth && is(auth, "result", "ok");
	if (c->user && !authed && !(auth && is(auth, "result", "no_secret")))
		return 0;
	fixf(c, "use port %d with %s: smtpdoctor connected%s there (%s) and "
	    "the server accepted the envelope", port, mode_words(mode),
	    authed ? " and authenticated" : "", addr);
	ev(c, tcp);
	ev(c, done);
	return 1;
}

/* Ports of the server that answered SMTP, for a fix when none verified. */
static void working_ports(ctx *c, char *out, size_t outlen)
{
	size_t i;
	json_t *f;
	out[0] = '\0';
	int seen[70000 / 8 + 1] = { 0 };
	(void)seen;
	int done[8] = { 0 }, nd = 0;
	EACH(c->facts, i, f) {
		if (!kind_is(f, "greeting") || !truth(f, "ok") ||
		    !(is(f, "role", "alternative") || is(f, "role", "main")))
			continue;
		int p = num(f, "port"), dup = 0;
		for (int k = 0; k < nd; k++)
			dup |= done[k] == p;
		if (dup || nd >= 8)
			continue;
		done[nd++] = p;
		char b[64];
		snprintf(b, sizeof b, "%s%d%s", *out ? ", " : "", p,
		    truth(f, "tls") ? " (implicit TLS)" : "");
		strncat(out, b, outlen - strlen(out) - 1);
	}
}

static int any_auth_offered(ctx *c, int port, int tls_only, int *plain_only)
{
	size_t i;
	json_t *f;
	int found = 0;
	*plain_only = 0;
	EACH(c->facts, i, f) {
		if (!(kind_is(f, "ehlo") || kind_is(f, "ehlo_tls")))
			continue;
		if (is(f, "role", "control"))
			continue;
		if (port && num(f, "port") != port)
			continue;
		if (!truth(f, "auth_offered"))
			continue;
		if (tls_only && !truth(f, "tls"))
			continue;
		found = 1;
	}
	return found;
}

/* Signs of an inbound MX rather than a submission server: the host is a
 * domain's MX, or only port 25 of it answers SMTP. */
static void inbound_signs(ctx *c, int *mx, int *only25)
{
	size_t i;
	json_t *f;
	*mx = 0;
	*only25 = 1;
	EACH(c->facts, i, f) {
		if (kind_is(f, "server_mx") && truth(f, "host_is_mx"))
			*mx = 1;
		if (kind_is(f, "greeting") && truth(f, "ok") &&
		    num(f, "port") != 25 && !is(f, "role", "control"))
			*only25 = 0;
	}
}

/* ---- replies ----------------------------------------------------------- */

/* Relaying refused after smtpdoctor skipped AUTH for want of a password:
 * inconclusive, naming the missing source (never auth.required). */
static int missing_password(ctx *c, const char *stage, const json_t *f,
    const json_t *skipped)
{
	ev(c, f);
	ev(c, skipped);
	fixf(c, "give smtpdoctor the password with --password-file FILE, "
	    "--password-env VAR or --password-cmd CMD (or run it on a "
	    "terminal, where it asks), and run again");
	char *text = sd_sanitize(str(f, "text"), strlen(str(f, "text")), 300);
	decide(c, "inconclusive", str(f, "addr"), "the server refused at %s "
	    "without a login (%d %s), and smtpdoctor did not log in: no "
	    "password source was given (--password-file, --password-env or "
	    "--password-cmd) and there is no terminal to ask on, so it cannot "
	    "tell whether the login would work", stage, num(f, "code"),
	    text ? text : "");
	free(text);
	return 1;
}

static int reply_decide(ctx *c, const char *stage, const json_t *f)
{
	const char *provider = NULL, *explain = NULL, *hint = NULL;
	const char *cause = sd_rules_reply_cause(stage, num(f, "code"),
	    str(f, "enhanced"), str(f, "text"), &provider, &explain, &hint);
	if (!cause)
		return 0;
	/* relaying refused: who needs to act depends on AUTH (SPEC §5) */
	if (strcmp(cause, "isp.relay_denied") == 0 || strcmp(cause,
	    "auth.required") == 0) {
		int dummy, mx, only25;
		int offered = any_auth_offered(c, 0, 0, &dummy);
		inbound_signs(c, &mx, &only25);
		int authed = 0;
		json_t *a = first(c->facts, (q){ "auth", "main", 0, NULL });
		if (a && is(a, "result", "ok"))
			authed = 1;
		if (authed)
			cause = "isp.relay_denied";
		else if (!offered && (mx || only25))
			cause = "settings.wrong_server";
		else if (offered && (!c->user || !c->password))
			cause = "auth.required";
		else
			cause = "isp.relay_denied";
	}
	/* a user with no password source: the refusal may only say that the
	 * tool did not log in, so it is the tool's input, not the account */
	json_t *skipped = first(c->facts, (q){ "auth", "main", 0, NULL });
	if (strcmp(cause, "auth.required") == 0 && c->user && skipped &&
	    is(skipped, "result", "no_secret"))
		return missing_password(c, stage, f, skipped);
	ev(c, f);
	if (hint)
		fixf(c, "%s", hint);
	if (strcmp(cause, "auth.required") == 0 && !hint)
		fixf(c, "configure the account's user name and password in the "
		    "mail client (SMTP authentication)");
	if (strcmp(cause, "settings.wrong_server") == 0)
		fixf(c, "this is an inbound mail server (MX); use the provider's "
		    "submission server (usually smtp.<domain> on port 587 or "
		    "465) for sending");
	if (strcmp(cause, "settings.temporary_failure") == 0 && !hint)
		fixf(c, "retry later; if it persists, ask the server's "
		    "administrator");
	char *text = sd_quote(str(f, "text"), strlen(str(f, "text")), 300);
	if (explain)
		decide(c, cause, str(f, "addr"), "%s%s%s%s: the server answered "
		    "%d %s", explain, provider ? " (" : "", provider ? provider : "",
		    provider ? ")" : "", num(f, "code"), text ? text : "");
	else
		decide(c, cause, str(f, "addr"), "the server refused at %s: %d %s",
		    stage, num(f, "code"), text ? text : "");
	free(text);
	return 1;
}

/* ---- the stages -------------------------------------------------------- */

static int stage_dns(ctx *c)
{
	size_t i;
	json_t *f;
	int any_addr = 0, failed = 0, n = 0;
	json_t *bad = NULL;
	EACH(c->facts, i, f) {
		if (!kind_is(f, "dns") || !is(f, "role", "main"))
			continue;
		n++;
		if (is(f, "status", "ok"))
			any_addr = 1;
		else if (!is(f, "status", "nxdomain") && !is(f, "status", "nodata")) {
			failed = 1;
			bad = f;
		}
	}
	json_t *rf = sd_fact_get(c->facts, "dns.resolver");
	if (rf) {
		ev(c, rf);
		decide(c, "dns.resolution_failed", c->server, "the DNS resolver "
		    "could not be set up: %s", str(rf, "error"));
		return 1;
	}
	if (n == 0 || any_addr)
		return 0;
	if (failed) {
		ev(c, bad);
		fixf(c, "check the DNS resolver this machine uses (or pass "
		    "--resolver); try again in a few minutes");
		decide(c, "dns.resolution_failed", c->server, "the address of %s "
		    "could not be looked up: the resolver answered %s",
		    c->server, str(bad, "status"));
		return 1;
	}
	EACH(c->facts, i, f)
		if (kind_is(f, "dns") && is(f, "role", "main"))
			ev(c, f);
	fixf(c, "check the spelling of the outgoing server name '%s' in the "
	    "mail client; the provider's help pages list the right one",
	    c->server);
	int fam = num(c->cfg, "family");
	if (fam == 4 || fam == 6)
		decide(c, "settings.host_not_found", c->server, "the outgoing "
		    "server name %s has no IPv%d address (-%d)", c->server, fam,
		    fam);
	else
		decide(c, "settings.host_not_found", c->server, "the outgoing "
		    "server name %s does not exist in DNS", c->server);
	return 1;
}

static int stage_network(ctx *c)
{
	size_t i;
	json_t *f;
	int cfg_ok = 0, cfg_n = 0, other_ok = 0, any_server_ok = 0;
	int ctrl_n = 0, ctrl_ok = 0, ctrl_smtp_port25_fail = 0, ctrl25_n = 0;
	int web_ok = 0, local = 0, refused = 0, timeouts = 0, icmp = 0;
	int v4_ok = 0, v6_fail = 0, no_v6 = 0;
	json_t *main_tcp = first(c->facts, (q){ "tcp", "main", 0, NULL });
	json_t *v6_bad = NULL, *local_f = NULL;
	EACH(c->facts, i, f) {
		if (!kind_is(f, "tcp") || is(f, "role", "fix"))
			continue;
		int ok = truth(f, "ok");
		if (is(f, "role", "control")) {
			ctrl_n++;
			ctrl_ok += ok;
			if (num(f, "port") == 25) {
				ctrl25_n++;
				ctrl_smtp_port25_fail += !ok;
			}
			continue;
		}
		if (is(f, "role", "control_nonsmtp")) {
			web_ok |= ok;
			continue;
		}
		any_server_ok |= ok;
		if (num(f, "port") != c->port) {
			other_ok |= ok;
			continue;
		}
		cfg_n++;
		cfg_ok |= ok;
		if (ok && num(f, "family") == 4)
			v4_ok = 1;
		/* no IPv6 route here at all (ENETUNREACH at once) is a machine
		 * without IPv6, not a broken path: clients then use IPv4 */
		if (num(f, "family") == 6 && is(f, "result", "no_route")) {
			cfg_n--;
			no_v6 = 1;
			continue;
		}
		if (!ok && num(f, "family") == 6 && !is(f, "result", "cancelled")) {
			v6_fail = 1;
			v6_bad = f;
		}
		if (is(f, "result", "local_denied")) {
			local = 1;
			local_f = f;
		}
		refused += is(f, "result", "refused");
		timeouts += is(f, "result", "timeout");
		icmp += is(f, "result", "host_unreachable") ||
		    is(f, "result", "network_unreachable") ||
		    is(f, "result", "no_route") ||
		    is(f, "result", "prohibited");
	}
	if (no_v6)
		finding(c, "info.no_ipv6", "info", c->server, NULL, "this machine "
		    "has no IPv6 route: the server's IPv6 addresses were not "
		    "judged");
	if (v4_ok && v6_fail) {
		finding(c, "network.ipv6_broken", "warning", str(v6_bad, "addr"),
		    ids(v6_bad, NULL), "port %d answers over IPv4 but not over "
		    "IPv6 (%s): most clients try IPv6 first (RFC 6724), so they "
		    "wait for it to fail before falling back, or give up",
		    c->port, str(v6_bad, "result"));
	}
	if (cfg_ok)
		return 0;
	ev(c, main_tcp);
	if (local) {
		ev(c, local_f);
		fixf(c, "this computer's own firewall or security software blocks "
		    "outgoing connections to port %d: allow the mail client "
		    "through it", c->port);
		decide(c, "network.local_firewall", str(local_f, "addr"),
		    "this machine refused to open the connection to port %d "
		    "itself (%s): a local firewall or policy blocks it", c->port,
		    str(local_f, "errno"));
		return 1;
	}
	char alts[200];
	working_ports(c, alts, sizeof alts);
	int verified = 0;
	if (other_ok) {
		/* port 25 fails the same way to the server and to every
		 * independent host: the path, nearer than the server, blocks
		 * it (dropped or reset alike) */
		if (c->port == 25 && ctrl25_n && ctrl_smtp_port25_fail == ctrl25_n) {
			verified = verified_fix(c);
			if (!verified && *alts)
				fixf(c, "use the submission port %s instead of 25",
				    alts);
			fixf(c, "port 25 is for servers; mail clients submit on "
			    "587 (STARTTLS) or 465 (implicit TLS)");
			decide(c, "isp.port25_blocked", c->server, "port 25 is "
			    "blocked to every host (the server and %d independent "
			    "control hosts), while other ports of the server "
			    "answer: the internet provider blocks outgoing port 25",
			    ctrl25_n);
			return 1;
		}
		verified = verified_fix(c);
		if (!verified && *alts)
			fixf(c, "the server answers on port(s) %s: configure one of "
			    "them", alts);
		if (refused == cfg_n) {
			decide(c, "settings.port_closed", c->server, "port %d of %s "
			    "refuses connections (reset) while other submission "
			    "ports of the server accept: nothing listens on the "
			    "configured port", c->port, c->server);
			return 1;
		}
		if (timeouts || icmp) {
			decide(c, "network.port_blocked", c->server, "port %d of %s "
			    "does not answer (%s) while other ports of the same "
			    "server do: a firewall on the path blocks it",
			    c->port, c->server, timeouts ? "timeout" :
			    "ICMP unreachable or prohibited");
			return 1;
		}
		decide(c, "inconclusive", c->server, "port %d of %s failed in a way "
		    "that names no cause (%s) while other ports of the same server "
		    "answer", c->port, c->server, str(main_tcp, "errno"));
		return 1;
	}
	if (any_server_ok) {
		/* only 443 or other addresses: treated below as unreachable */
	}
	/* no SMTP port of the server accepts */
	if (ctrl_ok) {
		fixf(c, "check the server name and address (%s); the server may "
		    "be down: ask its administrator or the provider's status "
		    "page", c->server);
		decide(c, "settings.host_unreachable", c->server, "no SMTP port of "
		    "%s accepts a connection, while independent control hosts "
		    "do: the server is down or the address is wrong", c->server);
		return 1;
	}
	if (ctrl_n && web_ok) {
		fixf(c, "the network blocks all outgoing mail ports: ask the "
		    "network's administrator or provider, or use the "
		    "provider's webmail or HTTPS API");
		decide(c, "network.smtp_blocked", c->server, "every SMTP port to "
		    "every host fails (the server and %d control hosts), while "
		    "other traffic (HTTPS) flows: this network blocks mail",
		    ctrl_n);
		return 1;
	}
	if (ctrl_n == 0)
		decide(c, "inconclusive", c->server, "no SMTP port of %s accepts a "
		    "connection; %s, so smtpdoctor cannot tell "
		    "settings.host_unreachable (server down) from "
		    "network.smtp_blocked (this network blocks mail)", c->server,
		    truth(c->cfg, "no_control") ? "control hosts are off "
		    "(--no-control)" : "no control host could be resolved");
	else
		decide(c, "inconclusive", c->server, "no connection succeeds to "
		    "any host, mail or web: this machine seems to have no "
		    "working network at all");
	return 1;
}

static int run_cut(const json_t *f)
{
	return is(f, "timeout", "run");
}

static int stage_greeting(ctx *c)
{
	json_t *tls = first(c->facts, (q){ "tls", "main", 0, NULL });
	json_t *g = first(c->facts, (q){ "greeting", "main", 0, NULL });
	if (tls && is(tls, "result", "plaintext_answer") &&
	    strcmp(c->tls, "implicit") == 0) {
		ev(c, tls);
		if (!verified_fix(c))
			fixf(c, "set the security of port %d to STARTTLS in the "
			    "mail client (or use port 465 with SSL/TLS)", c->port);
		decide(c, "settings.starttls_expected", c->server, "the client is "
		    "set to SSL/TLS on connect, but port %d answers in plaintext "
		    "(\"220 ...\") and expects STARTTLS", c->port);
		return 1;
	}
	if (!g)
		return 0;
	ev(c, g);
	if (is(g, "result", "not_smtp")) {
		fixf(c, "port %d of %s speaks %s, not SMTP: this looks like the "
		    "incoming (POP3/IMAP) server or port; use the outgoing "
		    "server's name and port", c->port, c->server, str(g, "proto"));
		char *said = sd_quote(str(g, "text"),
		    strlen(str(g, "text")), 200);
		decide(c, "settings.not_smtp", c->server, "something answered on "
		    "port %d, but not in SMTP (%s: %s)", c->port,
		    str(g, "proto"), said ? said : "");
		free(said);
		return 1;
	}
	const char *proxy = sd_rules_proxy_product(str(g, "text"));
	if (!proxy) {
		json_t *e = first(c->facts, (q){ "ehlo", "main", 0, NULL });
		if (e)
			proxy = sd_rules_proxy_product(str(e, "text"));
	}
	if (proxy) {
		fixf(c, "turn off the mail scanning of %s (or exclude the mail "
		    "client from it), then check again", proxy);
		decide(c, "antivirus.smtp_proxy", c->server, "%s answers instead "
		    "of the server: its greeting or EHLO names it", proxy);
		return 1;
	}
	if (is(g, "result", "none")) {
		json_t *t2 = tls && truth(tls, "after_silence") ? tls : NULL;
		/* the greeting inside the TLS session (a second greeting fact) */
		json_t *g2 = NULL;
		size_t gi;
		json_t *gf;
		EACH(c->facts, gi, gf)
			if (kind_is(gf, "greeting") && is(gf, "role", "main") &&
			    truth(gf, "tls"))
				g2 = gf;
		if (t2 && is(t2, "result", "late_greeting")) {
			ev(c, t2);
			char *said = sd_quote(str(t2, "peer_sent"),
			    strlen(str(t2, "peer_sent")), 200);
			decide(c, "inconclusive", c->server, "the server on port %d "
			    "greeted only after more than %s of silence (a greeting "
			    "delay?), too late for smtpdoctor to tell a slow SMTP "
			    "server from an implicit-TLS port; it answered %s",
			    c->port, "the wait", said ? said : "");
			free(said);
			return 1;
		}
		if (t2 && is(t2, "result", "ok") && g2 && !truth(g2, "ok") &&
		    is(g2, "result", "not_smtp")) {
			ev(c, g2);
			fixf(c, "port %d of %s speaks TLS but not SMTP inside it: use "
			    "the outgoing server's port", c->port, c->server);
			decide(c, "settings.not_smtp", c->server, "port %d answers a "
			    "TLS handshake, but what speaks inside is not SMTP (%s)",
			    c->port, str(g2, "proto"));
			return 1;
		}
		if (t2 && is(t2, "result", "ok") && g2 && truth(g2, "ok")) {
			ev(c, t2);
			if (!verified_fix(c))
				fixf(c, "set the security of port %d to SSL/TLS "
				    "(implicit TLS) in the mail client", c->port);
			decide(c, "settings.tls_required_on_connect", c->server,
			    "port %d expects TLS at once: it sent no greeting, and "
			    "a TLS handshake then succeeded", c->port);
			return 1;
		}
		if (run_cut(g) || truth(g, "partial")) {
			decide(c, "inconclusive", c->server, "%s on port %d",
			    truth(g, "partial") ? "the greeting came too slowly to "
			    "finish before the deadline (slow progress, not a "
			    "stall)" : "the --timeout deadline came while waiting "
			    "for the greeting", c->port);
			return 1;
		}
		fixf(c, "something on the path holds the connection open "
		    "without passing data: check firewalls and security "
		    "software that inspect mail");
		decide(c, "firewall.connection_stalled", c->server, "the "
		    "connection to port %d opened, but no byte arrived before the "
		    "deadline (no greeting, and no TLS answer)", c->port);
		return 1;
	}
	if (!truth(g, "ok")) {
		if (is(g, "result", "smtp") && reply_decide(c, "connect", g))
			return 1;
		if (is(g, "result", "malformed") || is(g, "result",
		    "line_too_long")) {
			decide(c, "inconclusive", c->server, "the greeting on port "
			    "%d is broken (%s): whatever answers there does not "
			    "speak SMTP properly", c->port, is(g, "result",
			    "malformed") ? str(g, "syntax") : "a line longer than "
			    "smtpdoctor accepts");
			return 1;
		}
		decide(c, "inconclusive", c->server, "the greeting on port %d "
		    "failed (%s)", c->port, str(g, "result"));
		return 1;
	}
	return 0;
}

static int masked_anywhere(ctx *c, json_t **which)
{
	json_t *g = first(c->facts, (q){ "greeting", "main", 0, NULL });
	json_t *e = first(c->facts, (q){ "ehlo", "main", 0, NULL });
	if (g && truth(g, "masked")) {
		*which = g;
		return 1;
	}
	if (e && truth(e, "masked")) {
		*which = e;
		return 1;
	}
	return 0;
}

static int stage_ehlo_tls(ctx *c)
{
	json_t *e = first(c->facts, (q){ "ehlo", "main", 0, NULL });
	json_t *g = first(c->facts, (q){ "greeting", "main", 0, NULL });
	json_t *m = NULL;
	int masked = masked_anywhere(c, &m);
	if (!e)
		return 0;
	if (!truth(e, "ok")) {
		ev(c, e);
		if (is(e, "result", "timeout") && truth(e, "partial")) {
			decide(c, "inconclusive", c->server, "the EHLO reply on port "
			    "%d kept coming without an end before the deadline: the "
			    "server (or something on the path) is broken or hostile, "
			    "but it is not a stall", c->port);
			return 1;
		}
		if (is(e, "result", "timeout") && !run_cut(e)) {
			ev(c, g);
			fixf(c, "something on the path stops passing data after "
			    "the greeting: check firewalls and security software "
			    "that inspect mail");
			decide(c, "firewall.connection_stalled", c->server, "the "
			    "server greeted, then no byte arrived after EHLO "
			    "before the deadline: the session stalls on the path");
			return 1;
		}
		if (is(e, "result", "timeout")) {
			decide(c, "inconclusive", c->server, "the --timeout "
			    "deadline came while waiting for the EHLO reply");
			return 1;
		}
		if (num(e, "code") && reply_decide(c, "ehlo", e))
			return 1;
		decide(c, "inconclusive", c->server, "EHLO failed on port %d (%s)",
		    c->port, str(e, "result"));
		return 1;
	}
	if (masked && (strcmp(c->tls, "starttls") != 0 || truth(e, "starttls"))) {
		/* the session is rewritten, STARTTLS survived or is not needed */
		ev(c, m);
		fixf(c, "a firewall or security device on the path inspects and "
		    "rewrites SMTP (Cisco ASA's ESMTP inspection does by default): "
		    "turn its SMTP inspection off for this traffic");
		decide(c, "firewall.smtp_inspection", str(m, "addr"), "a device "
		    "on the path rewrites the SMTP session: %s",
		    kind_is(m, "greeting") ? "the server's banner is masked with "
		    "asterisks" : "EHLO keywords are masked (XXXXXXXA)");
		return 1;
	}
	if (strcmp(c->tls, "starttls") != 0)
		return 0;
	json_t *tls = first(c->facts, (q){ "tls", "main", 0, NULL });
	if (!truth(e, "starttls") && !tls) {
		ev(c, e);
		/* the same server offers it elsewhere? */
		size_t i;
		json_t *f, *other = NULL;
		EACH(c->facts, i, f)
			if (kind_is(f, "ehlo") && is(f, "role", "alternative") &&
			    truth(f, "starttls"))
				other = f;
		if (other || m) {
			ev(c, other ? other : m);
			fixf(c, "a firewall or security device on the path removes "
			    "STARTTLS (Cisco ASA's ESMTP inspection does by "
			    "default): turn its SMTP inspection off, or use port "
			    "465 with SSL/TLS");
			decide(c, "firewall.smtp_inspection", c->server, "the server "
			    "does not offer STARTTLS on port %d%s%s, so a device on "
			    "the path rewrites the session", c->port, other ?
			    " while it does on port " : "", other ? "another port "
			    "or address" : " and the session shows masked "
			    "keywords");
			return 1;
		}
		char alts[200];
		working_ports(c, alts, sizeof alts);
		if (!verified_fix(c) && *alts)
			fixf(c, "ports that answer: %s", alts);
		fixf(c, "ask the provider for the right port and security "
		    "setting; never send the password unencrypted");
		decide(c, "settings.starttls_unavailable", c->server, "the client "
		    "requires STARTTLS, but the server offers it on port %d and "
		    "on no other port or address", c->port);
		return 1;
	}
	return 0;
}

/* The chain does not verify because its issuer is unknown or
 * self-signed (not for its dates or name): OpenSSL's X509_V_ERR_* 2, 18,
 * 19, 20, 21. */
static int issuer_unknown(const json_t *tls)
{
	json_t *v = json_object_get(tls, "verify");
	if (!v || truth(v, "ok"))
		return 0;
	int code = num(v, "code");
	return code == 2 || code == 18 || code == 19 || code == 20 || code == 21;
}

/* The EHLO after STARTTLS, on the configured path. */
static int stage_ehlo_after_tls(ctx *c)
{
	json_t *e = first(c->facts, (q){ "ehlo_tls", "main", 0, NULL });
	if (!e || truth(e, "ok"))
		return 0;
	ev(c, e);
	if (is(e, "result", "timeout") && !run_cut(e) && !truth(e, "partial")) {
		fixf(c, "something on the path stops passing data inside the "
		    "TLS session: check firewalls and security software");
		decide(c, "firewall.connection_stalled", c->server, "no answer to "
		    "EHLO inside TLS on port %d before the deadline", c->port);
		return 1;
	}
	if (num(e, "code") && reply_decide(c, "ehlo", e))
		return 1;
	decide(c, "inconclusive", c->server, "EHLO after STARTTLS failed on port "
	    "%d (%s)", c->port, str(e, "result"));
	return 1;
}

static int stage_tls(ctx *c)
{
	json_t *tls = first(c->facts, (q){ "tls", "main", 0, NULL });
	if (!tls || strcmp(c->tls, "none") == 0)
		return 0;
	ev(c, tls);
	const char *res = str(tls, "result");
	if (strcmp(res, "starttls_refused") == 0) {
		fixf(c, "the server's TLS is broken: tell its administrator");
		char *said = sd_quote(str(tls, "text"),
		    strlen(str(tls, "text")), 300);
		decide(c, "settings.tls_handshake_failed", c->server, "the server "
		    "refused STARTTLS on port %d: %d %s", c->port,
		    num(tls, "code"), said ? said : "");
		free(said);
		return 1;
	}
	if (strcmp(res, "timeout") == 0) {
		if (run_cut(tls)) {
			decide(c, "inconclusive", c->server, "the --timeout "
			    "deadline came during the TLS handshake");
			return 1;
		}
		fixf(c, "something on the path stops passing data during the TLS "
		    "handshake: check firewalls and security software");
		if (num(tls, "handshake_bytes") > 0) {
			/* the first packets passed, the rest never came: an
			 * MTU black hole looks like this */
			decide(c, "firewall.connection_stalled", c->server, "the "
			    "TLS handshake on port %d stopped half-way: %d bytes "
			    "of the server's answer came, then nothing before the "
			    "deadline", c->port, num(tls, "handshake_bytes"));
			return 1;
		}
		decide(c, "firewall.connection_stalled", c->server, "the TLS "
		    "handshake on port %d got no answer before the deadline",
		    c->port);
		return 1;
	}
	if (strcmp(res, "ok") != 0) {
		const char *err = str(tls, "error");
		/* a reset or a close mid-handshake, or bytes before it, is not
		 * a version or cipher problem (SPEC §5): name both suspects */
		if (sd_strcasestr(err, "reset") || sd_strcasestr(err, "closed") ||
		    sd_strcasestr(err, "before the TLS") || strcmp(res,
		    "cancelled") == 0) {
			decide(c, "inconclusive", c->server, "the TLS handshake on "
			    "port %d broke off (%s): the server's TLS or a device on "
			    "the path ended it", c->port, err);
			return 1;
		}
		fixf(c, "the server and this client share no TLS version or "
		    "cipher: the server may accept only old TLS (1.0/1.1); ask "
		    "its administrator to enable TLS 1.2 or later");
		decide(c, "settings.tls_handshake_failed", c->server, "the TLS "
		    "handshake on port %d failed: %s", c->port, err);
		return 1;
	}
	const char *product = NULL;
	size_t i;
	json_t *cert;
	json_array_foreach(json_object_get(tls, "chain"), i, cert) {
		product = sd_rules_interception_product(str(cert, "issuer"));
		if (product)
			break;
	}
	if (truth(tls, "ok") && product) {
		/* a security product's CA this machine trusts: mail goes out,
		 * but through the product, which reads and may alter it
		 * (SPEC §5: the issuer on the product list is the evidence) */
		fixf(c, "%s intercepts the mail connection with a CA installed on "
		    "this machine: turn off its SSL/TLS (mail) scanning or "
		    "exclude the mail client, so the client sees the server's "
		    "own certificate", product);
		decide(c, "antivirus.tls_interception", c->server, "the certificate "
		    "on port %d is issued by %s's CA, which this machine trusts: "
		    "the product, not the server, holds the TLS session", c->port,
		    product);
		return 1;
	}
	if (truth(tls, "ok"))
		return 0;
	/* an invalid certificate: interception or the server's own? */
	json_t *other = NULL;
	json_t *f;
	const char *main_root = str(tls, "root_issuer");
	json_t *ctrl = NULL;
	EACH(c->facts, i, f) {
		if (kind_is(f, "tls") && is(f, "role", "alternative") &&
		    truth(f, "ok") && !is(f, "root_issuer", main_root))
			other = f;
		/* independent hosts signed by the same unknown issuer: someone
		 * on this side of the path signs everything */
		if (kind_is(f, "tls") && is(f, "role", "control") &&
		    is(f, "result", "ok") && issuer_unknown(f) &&
		    issuer_unknown(tls) && *main_root &&
		    is(f, "root_issuer", main_root))
			ctrl = f;
	}
	if (!other)
		other = ctrl;
	if (product || other) {
		ev(c, other);
		fixf(c, "%s intercepts the mail connection and replaces the "
		    "server's certificate: turn off its SSL/TLS (mail) scanning "
		    "or exclude the mail client", product ? product :
		    "security software or a network device");
		decide(c, "antivirus.tls_interception", c->server, "the certificate "
		    "on port %d is issued by %s, not by the server's CA%s",
		    c->port, product ? product : str(tls, "root_issuer"),
		    other == ctrl && ctrl ? "; independent control hosts show the "
		    "same foreign issuer" : other ? "; another path to the same "
		    "server shows a different, valid chain" : "");
		return 1;
	}
	const char *why = truth(tls, "expired") ? "it has expired" :
	    !truth(tls, "name_match") ? "it does not name the server" :
	    str(json_object_get(tls, "verify"), "reason");
	if (!truth(tls, "name_match") && truth(json_object_get(tls, "verify"),
	    "ok"))
		why = "it does not name the server";
	fixf(c, "the server's certificate is invalid (%s): tell its "
	    "administrator; if you trust this server, use the name its "
	    "certificate is issued for", why);
	if (truth(c->cfg, "insecure")) {
		/* SPEC §6: reported, and the diagnosis goes on past it */
		snprintf(c->cert_summary, sizeof c->cert_summary, "the server's "
		    "certificate on port %d is invalid: %s (smtpdoctor went on "
		    "past it: --insecure)", c->port, why);
		finding(c, "settings.certificate_invalid", "error", c->server,
		    ids(tls, NULL), "%s", c->cert_summary);
		c->cert_finding = 1;
		return 0;
	}
	decide(c, "settings.certificate_invalid", c->server, "the server's "
	    "certificate on port %d is invalid: %s", c->port, why);
	return 1;
}

static int stage_auth(ctx *c)
{
	json_t *a = first(c->facts, (q){ "auth", "main", 0, NULL });
	if (!c->user || !a)
		return 0;
	ev(c, a);
	const char *res = str(a, "result");
	int dummy;
	if (strcmp(res, "ok") == 0)
		return 0;
	if (strcmp(res, "no_secret") == 0) {
		finding(c, "info.auth_not_tried", "info", c->server, ids(a, NULL),
		    "AUTH was not tried: no password was given (no "
		    "--password-file, --password-env or --password-cmd, and no "
		    "terminal to ask on)");
		return 0;
	}
	if (strcmp(res, "not_offered") == 0) {
		if (strcmp(c->tls, "none") == 0 &&
		    any_auth_offered(c, c->port, 1, &dummy)) {
			fixf(c, "set the security of port %d to STARTTLS in the "
			    "mail client", c->port);
			decide(c, "auth.encryption_required", c->server, "the server "
			    "offers AUTH on port %d only after STARTTLS, and the "
			    "client is set to no encryption", c->port);
			return 1;
		}
		if (!any_auth_offered(c, 0, 0, &dummy)) {
			int mx, only25;
			inbound_signs(c, &mx, &only25);
			if (mx || only25) {
				fixf(c, "%s is an inbound mail server (MX): use the "
				    "provider's submission server for sending",
				    c->server);
				decide(c, "settings.wrong_server", c->server, "%s offers "
				    "no AUTH on any port%s: it receives mail, it is not "
				    "a submission server", c->server, mx ?
				    " and is a domain's MX" : " and only port 25 answers");
				return 1;
			}
			fixf(c, "the server offers no authentication: ask the "
			    "provider whether it relays by IP address (then remove "
			    "the user name) or which server to use");
			decide(c, "auth.not_offered", c->server, "credentials are "
			    "configured, but %s offers AUTH neither before nor after "
			    "TLS on any port", c->server);
			return 1;
		}
		char alts[200];
		working_ports(c, alts, sizeof alts);
		if (!verified_fix(c))
			fixf(c, "use a port where the server offers AUTH");
		decide(c, "auth.not_offered", c->server, "the server offers no AUTH "
		    "on port %d", c->port);
		return 1;
	}
	if (strcmp(res, "mechanism_unsupported") == 0) {
		json_t *off = json_object_get(a, "offered");
		char list[200] = "";
		size_t i;
		json_t *m;
		json_array_foreach(off, i, m) {
			strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
			strncat(list, json_is_string(m) ? json_string_value(m) :
			    "?", sizeof list - strlen(list) - 1);
		}
		fixf(c, "set the authentication method to one the server offers: "
		    "%s", *list ? list : "(none)");
		decide(c, "auth.mechanism_unsupported", c->server, "the configured "
		    "mechanism %s is not offered; the server offers %s",
		    str(a, "mech"), *list ? list : "no mechanism we speak");
		return 1;
	}
	if (strcmp(res, "plaintext_refused") == 0) {
		if (any_auth_offered(c, c->port, 1, &dummy) ||
		    first(c->facts, (q){ "tls", NULL, c->port, NULL }))
			fixf(c, "set the security of port %d to STARTTLS", c->port);
		fixf(c, "or, only if you accept the risk, pass "
		    "--allow-plaintext-auth to test it");
		decide(c, "auth.plaintext_refused", c->server, "smtpdoctor did not "
		    "send the password: the connection on port %d is not "
		    "encrypted", c->port);
		return 1;
	}
	if (strcmp(res, "rejected") == 0) {
		if (reply_decide(c, "auth", a))
			return 1;
		fixf(c, "check the user name and password");
		char *said = sd_quote(str(a, "text"),
		    strlen(str(a, "text")), 300);
		decide(c, "auth.bad_credentials", c->server, "the server rejected "
		    "the login: %d %s", num(a, "code"), said ? said : "");
		free(said);
		return 1;
	}
	if (strcmp(res, "timeout") == 0) {
		decide(c, run_cut(a) ? "inconclusive" : "firewall.connection_stalled",
		    c->server, "no answer to AUTH before the deadline");
		return 1;
	}
	if (strcmp(res, "offer_cut") == 0) {
		decide(c, "inconclusive", c->server, "%s", str(a, "detail"));
		return 1;
	}
	if (strcmp(res, "closed") == 0 || strcmp(res, "reset") == 0) {
		decide(c, "inconclusive", c->server, "the server hung up at AUTH "
		    "on port %d: the connection was %s before any answer",
		    c->port, res);
		return 1;
	}
	decide(c, "inconclusive", c->server, "AUTH ended with %s", res);
	return 1;
}

static int stage_envelope(ctx *c)
{
	static const char *const kinds[] = { "mail", "rcpt", "data", "data_end",
	    "rset", NULL };
	static const char *const stages[] = { "mail", "rcpt", "data", "data_end",
	    "rset" };
	for (int k = 0; kinds[k]; k++) {
		json_t *f = first(c->facts, (q){ kinds[k], "main", 0, NULL });
		if (!f)
			continue;
		if (truth(f, "ok"))
			continue;
		ev(c, f);
		if (is(f, "result", "timeout")) {
			decide(c, run_cut(f) || truth(f, "partial") ?
			    "inconclusive" : "firewall.connection_stalled", c->server,
			    "%s to %s before the deadline", truth(f, "partial") ?
			    "an unfinished answer" : "no answer", str(f, "command"));
			return 1;
		}
		if (num(f, "code") && reply_decide(c, stages[k], f))
			return 1;
		decide(c, "inconclusive", c->server, "%s failed (%s)",
		    str(f, "command"), str(f, "result"));
		return 1;
	}
	return 0;
}

/* An info finding per address of the server: which ports answer SMTP. */
/* One port of an address in the summary: "587 (STARTTLS)", "25 refused". */
typedef struct port_word {
	int port;
	int works;
	char text[80];
} port_word;

static int by_port(const void *a, const void *b)
{
	return ((const port_word *)a)->port - ((const port_word *)b)->port;
}

/* The words of each port of one address, in port order (the probes end
 * in any order; two reports of one check must read the same). */
static size_t port_words(ctx *c, const char *addr, port_word *w, size_t max,
    json_t *evd)
{
	size_t n = 0, k;
	json_t *g;
	EACH(c->facts, k, g) {
		if (n == max || !kind_is(g, "tcp") || !is(g, "addr", addr) ||
		    is(g, "role", "fix") || is(g, "role", "control") ||
		    is(g, "role", "control_nonsmtp") ||
		    is(g, "result", "cancelled"))
			continue;
		int port = num(g, "port");
		json_t *gr = first(c->facts, (q){ "greeting", NULL, port, addr });
		json_t *tl = first(c->facts, (q){ "tls", NULL, port, addr });
		w[n].port = port;
		w[n].works = gr && truth(gr, "ok");
		if (w[n].works)
			snprintf(w[n].text, sizeof w[n].text, "%d%s", port,
			    tl && truth(tl, "ok") ? (is(tl, "mode", "implicit") ?
			    " (SSL/TLS)" : " (STARTTLS)") : "");
		else
			snprintf(w[n].text, sizeof w[n].text, "%d %s", port,
			    truth(g, "ok") ? "no SMTP" : str(g, "result"));
		n++;
		json_array_append_new(evd, json_string(str(g, "id")));
	}
	qsort(w, n, sizeof *w, by_port);
	return n;
}

static void port_summary(ctx *c)
{
	size_t i;
	json_t *f;
	char seen[8][64];
	int ns = 0;
	EACH(c->facts, i, f) {
		if (!kind_is(f, "tcp") || !(is(f, "role", "main") ||
		    is(f, "role", "alternative")))
			continue;
		const char *addr = str(f, "addr");
		int dup = 0;
		for (int s = 0; s < ns; s++)
			dup |= strcmp(seen[s], addr) == 0;
		if (dup || ns >= 8)
			continue;
		snprintf(seen[ns++], sizeof seen[0], "%s", addr);
		char works[300] = "", fails[300] = "";
		json_t *evd = json_array();
		port_word w[16];
		size_t n = port_words(c, addr, w, 16, evd);
		for (size_t k = 0; k < n; k++) {
			char *to = w[k].works ? works : fails;
			size_t len = strlen(to);
			snprintf(to + len, 300 - len, "%s%s", len ? ", " : "",
			    w[k].text);
		}
		finding(c, "info.ports", "info", addr, evd, "%s: SMTP answers on "
		    "%s%s%s", addr, *works ? works : "no port", *fails ?
		    "; fails on " : "", fails);
	}
}

/* This machine's address on blocklists: findings, not the verdict, unless
 * a server's reply names the list (reply rules). */
static void reputation(ctx *c)
{
	size_t i;
	json_t *f;
	EACH(c->facts, i, f) {
		if (!kind_is(f, "dnsbl"))
			continue;
		if (is(f, "result", "listed"))
			finding(c, "reputation.ip_listed", "warning", str(f, "ip"),
			    ids(f, NULL), "this machine's address %s is listed on %s "
			    "(%s): servers that check it refuse its mail; submission "
			    "with AUTH on 587/465 usually still works", str(f, "ip"),
			    str(f, "zone"), str(f, "meaning"));
		else if (is(f, "result", "policy"))
			finding(c, "reputation.ip_listed", "info", str(f, "ip"),
			    ids(f, NULL), "%s is on the policy list %s (%s): normal "
			    "for an end-user address that submits with AUTH",
			    str(f, "ip"), str(f, "zone"), str(f, "meaning"));
		else if (is(f, "result", "refused"))
			finding(c, "reputation.dnsbl_refused", "warning",
			    str(f, "zone"), ids(f, NULL), "%s answered with an error "
			    "code (%s): the check did not happen", str(f, "zone"),
			    str(f, "meaning"));
	}
}

/* An inconclusive verdict always says what to try next: a longer
 * --timeout when the run's deadline cut a wait, the controls when they
 * were off, and a path that answered when one did. */
static void next_steps(ctx *c)
{
	json_t *v = c->r->verdict;
	json_t *fix = v ? json_object_get(v, "fix") : NULL;
	if (!v || !json_is_array(fix) || !is(v, "status", "inconclusive"))
		return;
	size_t before = json_array_size(fix);
	json_t *old = c->fix;
	c->fix = fix;
	size_t i;
	json_t *f;
	const json_t *cut = NULL, *answered = NULL;
	EACH(c->facts, i, f) {
		if (!cut && run_cut(f) && (is(f, "role", "main") ||
		    is(f, "role", "fix")))
			cut = f;
		if (!answered && kind_is(f, "greeting") && truth(f, "ok") &&
		    is(f, "role", "alternative"))
			answered = f;
	}
	if (cut)
		fixf(c, "run again with a longer --timeout (this run stopped at "
		    "%g s while waiting at the %s stage on port %d)",
		    json_number_value(json_object_get(c->cfg, "timeout")),
		    str(cut, "stage"), num(cut, "port"));
	if (truth(c->cfg, "no_control"))
		fixf(c, "run again without --no-control: the independent hosts "
		    "it contacts tell a blocked network from a server that is "
		    "down");
	if (answered && before == 0)
		fixf(c, "port %d of %s answered as an SMTP server: try that port "
		    "(smtpdoctor check --server %s --port %d)", num(answered,
		    "port"), c->server, c->server, num(answered, "port"));
	if (json_array_size(fix) == 0)
		fixf(c, "run again with -v and send the report (--format "
		    "markdown) to the mail provider's support");
	c->fix = old;
}

/* ---- the configured path works ------------------------------------------ */

/* The first finding of this code (and severity, when given), or NULL. */
static json_t *standing(ctx *c, const char *code, const char *severity)
{
	size_t i;
	json_t *f;
	json_array_foreach(c->r->findings, i, f)
		if (is(f, "code", code) && (!severity || is(f, "severity",
		    severity)))
			return f;
	return NULL;
}

/* The sender domain's own verdict, when it is a dns.* code that concerns
 * the message (not SPF for this machine, which does not send it on, nor a
 * resolver failure) and has this status. */
static json_t *sender_domain_cause(ctx *c, const char *status)
{
	json_t *sd = sd_fact_get(c->facts, "sender_domain");
	const char *sc = sd ? str(sd, "cause") : "";
	if (sd && strncmp(sc, "dns.", 4) == 0 &&
	    strcmp(sc, "dns.spf_fail") != 0 &&
	    strcmp(sc, "dns.resolution_failed") != 0 && is(sd, "status", status))
		return sd;
	return NULL;
}

static void verdict_from_sender_domain(ctx *c, json_t *sd, sd_status st)
{
	size_t k;
	json_t *x;
	json_array_foreach(json_object_get(sd, "fix"), k, x)
		json_array_append(c->fix, x);
	ev(c, sd);
	c->decided = 1;
	char sum[1200];
	snprintf(sum, sizeof sum, "sending works on port %d, but mail from "
	    "%s may be refused by its recipients: %s", c->port,
	    str(sd, "domain"), str(sd, "summary"));
	sd_verdict_set(c->r, str(sd, "cause"), (int)st, sum, json_incref(c->fix),
	    json_incref(c->evidence));
}

static void verdict_from_finding(ctx *c, json_t *f, const char *fix)
{
	size_t k;
	json_t *x;
	json_array_foreach(json_object_get(f, "evidence"), k, x)
		json_array_append(c->evidence, x);
	if (fix)
		fixf(c, "%s", fix);
	c->decided = 1;
	char sum[1200];
	snprintf(sum, sizeof sum, "sending works on port %d, but %s", c->port,
	    str(f, "summary"));
	sd_verdict_set(c->r, str(f, "code"), SD_STATUS_WARN, sum,
	    json_incref(c->fix), json_incref(c->evidence));
}

/*
 * The configured path works.  A dns.* failure of the sender's domain still
 * fails (its mail will be rejected); otherwise the first standing warning of
 * this list makes the verdict warn, never ok (docs/verdicts.md, "When the
 * configured path works").  Returns 1 when it set the verdict.
 */
static int path_works_but(ctx *c)
{
	static const struct {
		const char *code, *severity, *fix;
	} warns[] = {
		/* "warning" keeps out a policy list (info) */
		{ "reputation.ip_listed", "warning", "ask the list named above "
		    "to delist this address (its removal page says how), and "
		    "keep submitting with authentication on 587 or 465" },
		{ "network.ipv6_broken", NULL, "fix IPv6 routing on this "
		    "network, or configure the client to use IPv4" },
		{ "dns.*", NULL, NULL },
		{ "settings.differs_from_published", NULL, NULL },
		{ "content.spam_score", NULL, NULL },
	};
	json_t *sd = sender_domain_cause(c, "fail");
	if (sd) {
		verdict_from_sender_domain(c, sd, SD_STATUS_FAIL);
		return 1;
	}
	for (size_t i = 0; i < sizeof warns / sizeof warns[0]; i++) {
		if (strcmp(warns[i].code, "dns.*") == 0) {
			if ((sd = sender_domain_cause(c, "warn"))) {
				verdict_from_sender_domain(c, sd, SD_STATUS_WARN);
				return 1;
			}
			continue;
		}
		json_t *f = standing(c, warns[i].code, warns[i].severity);
		if (f) {
			verdict_from_finding(c, f, warns[i].fix);
			return 1;
		}
	}
	return 0;
}

void sd_rules_check(sd_report *r)
{
	ctx c = { 0 };
	c.r = r;
	c.facts = r->facts;
	/* no server was found to judge: the discovery rules say so */
	if (sd_rules_discovery_first(r))
		return;
	c.cfg = json_object_get(r->extra, "config");
	if (!c.cfg) {
		sd_verdict_set(r, "inconclusive", -1, "no configuration", NULL,
		    NULL);
		return;
	}
	c.port = num(c.cfg, "port");
	c.tls = str(c.cfg, "tls");
	c.user = truth(c.cfg, "user");
	c.password = truth(c.cfg, "password");
	c.server = str(c.cfg, "server");
	c.fix = json_array();
	c.evidence = json_array();
	port_summary(&c);
	reputation(&c);

	if (stage_dns(&c) || stage_network(&c) || stage_greeting(&c) ||
	    stage_ehlo_tls(&c) || stage_tls(&c) || stage_ehlo_after_tls(&c) ||
	    stage_auth(&c) || stage_envelope(&c))
		goto out;
	/* --insecure went past an invalid certificate: with everything
	 * after it working, the certificate is still what stops a client */
	if (c.cert_finding) {
		c.decided = 1;
		sd_verdict_set(r, "settings.certificate_invalid", -1,
		    c.cert_summary, json_incref(c.fix), json_incref(c.evidence));
		goto out;
	}

	json_t *main_tcp = first(c.facts, (q){ "tcp", "main", 0, NULL });
	json_t *done = first(c.facts, (q){ "rset", "main", 0, NULL });
	if (!done)
		done = first(c.facts, (q){ "data_end", "main", 0, NULL });
	if (!done) {
		decide(&c, "inconclusive", c.server, "the check did not reach "
		    "the end of the transaction");
		goto out;
	}
	ev(&c, main_tcp);
	ev(&c, done);
	if (path_works_but(&c))
		goto out;
	json_t *a = first(c.facts, (q){ "auth", "main", 0, NULL });
	decide(&c, "ok", c.server, "sending works on port %d with %s%s%s",
	    c.port, mode_words(c.tls), a && is(a, "result", "ok") ?
	    ", authenticated" : "", truth(c.cfg, "send") ?
	    "; the test message was accepted" : "");
out:
	next_steps(&c);
	json_decref(c.fix);
	json_decref(c.evidence);
	sd_rules_discovery_last(r);
}
