/*
 * The rules of `check`; see check_rules.h.
 *
 * Precedence is data: `VERDICT_RULES` below is an ordered list of small
 * named rules, each reading facts and proposing one candidate verdict
 * (code, summary, fix, evidence) or nothing.  The first rule that
 * proposes decides.  The order walks the stages of the outbound path
 * along the configured path (docs/verdicts.md, "Precedence of check"):
 * the first stage that stops sending decides, and within a stage the
 * most specific code the facts prove, nearest to the client first (this
 * machine, the path, the server).  `finding_rules` add what else was seen
 * and never decide.  tests/unit/core/test_check_rules.c holds the table's
 * order against docs/verdicts.md.
 */
#include "rules/check_rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/dnsbl.h"
#include "report/facts.h"
#include "rules/discovery_rules.h"
#include "rules/judge.h"
#include "rules/replies_glue.h"
#include "rules/score_rules.h"
#include "util/util.h"

/* ---- reading facts ---------------------------------------------------- */

/* Typed reads, checked against the schema in test builds (facts.h). */
#define str sd_fact_str
#define is sd_fact_is
#define truth sd_fact_bool

static int num(const json_t *f, const char *k)
{
	return (int)sd_fact_int(f, k);
}

/* The kind of a fact (data/facts.def): "tcp", "greeting", ... */
static int kind_is(const json_t *f, const char *kind)
{
	return is(f, "kind", kind);
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

/* The last fact of a kind and role whose member `flag` is true. */
static json_t *last_with(const json_t *facts, const char *kind,
    const char *role, const char *flag)
{
	size_t i;
	json_t *f, *found = NULL;
	json_array_foreach(facts, i, f)
		if (kind_is(f, kind) && is(f, "role", role) && truth(f, flag))
			found = f;
	return found;
}

#define EACH(facts, i, f) json_array_foreach((facts), (i), (f))

/* ---- the rule in hand ------------------------------------------------- */

typedef struct ctx {
	sd_report *r;
	sd_judge *j;
	json_t *facts;
	json_t *cfg;
	int port;
	const char *tls;        /* "starttls", "implicit", "none" */
	int user, password;
	const char *server;
	/* the facts of the configured path */
	json_t *tcp, *greeting, *ehlo, *tls_f, *ehlo_tls, *auth;
	/* what the rule in hand proposes */
	json_t *fix;
	json_t *evidence;
	const char *cause;      /* NULL until a rule proposes */
	int has_finding;        /* its finding is in the report already */
	int status;             /* the verdict's status; < 0: the code's */
	char subject[320];
	char summary[1200];
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

static json_t *ids(const json_t *a, const json_t *b)
{
	json_t *arr = json_array();
	if (a)
		json_array_append_new(arr, json_string(str(a, "id")));
	if (b)
		json_array_append_new(arr, json_string(str(b, "id")));
	return arr;
}

/* A finding that does not decide (info, or a warning beside the verdict). */
#define finding(c, code, sev, subject, evidence, ...) \
	sd_judge_add((c)->j, (code), (sev), (subject), (evidence), NULL, \
	    __VA_ARGS__)

/* The rule in hand proposes `cause` as the verdict, with the fix and the
 * evidence it gathered; returns 1 so that a rule can end with it. */
static int propose(ctx *c, const char *cause, const char *subject,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int propose(ctx *c, const char *cause, const char *subject,
    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->summary, sizeof c->summary, fmt, ap);
	va_end(ap);
	snprintf(c->subject, sizeof c->subject, "%s", subject ? subject : "");
	c->cause = cause;
	return 1;
}

/* A fact of a step of an SMTP session (what a deadline can cut). */
static int session_fact(const json_t *f)
{
	static const char *const kinds[] = { "greeting", "ehlo",
	    "ehlo_tls", "tls", "auth", "mail", "rcpt", "data", "data_end",
	    "rset" };
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (kind_is(f, kinds[i]))
			return 1;
	return 0;
}

static int run_cut(const json_t *f)
{
	return is(f, "timeout", "run");
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
		if (kind_is(f, "auth") && is(f, "role", "fix"))
			auth = f;
		else if ((kind_is(f, "rset") || kind_is(f, "data_end")) &&
		    is(f, "role", "fix"))
			done = f;
	}
	if (!done || !truth(done, "ok"))
		return 0;
	int port = num(done, "port");
	const char *addr = str(done, "addr");
	/* the connection may have started as an alternative, or as a fix */
	json_t *tls = NULL, *tcp = NULL;
	EACH(c->facts, i, f) {
		if (!(kind_is(f, "tls") || kind_is(f, "tcp")) ||
		    num(f, "port") != port || !is(f, "addr", addr) ||
		    !truth(f, "ok"))
			continue;
		if (kind_is(f, "tls"))
			tls = f;
		else
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

static int any_auth_offered(ctx *c, int port, int tls_only)
{
	size_t i;
	json_t *f;
	int found = 0;
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

/* Relaying refused: who has to act depends on AUTH (docs/verdicts.md). */
static const char *relay_cause(ctx *c)
{
	int mx, only25;
	int offered = any_auth_offered(c, 0, 0);
	inbound_signs(c, &mx, &only25);
	if (c->auth && is(c->auth, "result", "ok"))
		return "isp.relay_denied";
	if (!offered && (mx || only25))
		return "settings.wrong_server";
	if (offered && (!c->user || !c->password))
		return "auth.required";
	return "isp.relay_denied";
}

/* Relaying refused while smtpdoctor did not log in for a reason of its
 * own (`why`): the refusal says nothing about the account, so the verdict
 * is inconclusive, never auth.required. */
static void not_logged_in(ctx *c, const char *stage, const json_t *f,
    const char *why)
{
	ev(c, f);
	char *text = sd_quote(str(f, "text"), strlen(str(f, "text")), 300);
	propose(c, "inconclusive", str(f, "addr"), "the server refused at %s "
	    "without a login (%d %s), and smtpdoctor did not log in: %s, so it "
	    "cannot tell whether the login would work", stage, num(f, "code"),
	    text ? text : "", why);
	free(text);
}

/* AUTH skipped for want of a password source. */
static int missing_password(ctx *c, const char *stage, const json_t *f)
{
	fixf(c, "give smtpdoctor the password with --password-file FILE, "
	    "--password-env VAR or --password-cmd CMD (or run it on a "
	    "terminal, where it asks), and run again");
	not_logged_in(c, stage, f, "no password source was given "
	    "(--password-file, --password-env or --password-cmd) and there is "
	    "no terminal to ask on");
	ev(c, c->auth);
	return 1;
}

/* A server that only plain-http autoconfig named gets no credentials
 * (check.c). */
static int login_withheld(ctx *c, const char *stage, const json_t *f)
{
	fixf(c, "once the provider confirms the server, check it by name with "
	    "your login: smtpdoctor check --server %s:%d --tls %s --user USER",
	    c->server, c->port, c->tls);
	not_logged_in(c, stage, f, "only autoconfig over plain http named "
	    "this server, which never gets the credentials");
	return 1;
}

/* What a refusal `f` at `stage` means, proposed; 0 when no rule of the
 * reply table or the generic ones names a cause. */
static int reply_rule(ctx *c, const char *stage, const json_t *f)
{
	const char *provider = NULL, *explain = NULL, *hint = NULL;
	const char *cause = sd_rules_reply_cause(stage, num(f, "code"),
	    str(f, "enhanced"), str(f, "text"), &provider, &explain, &hint);
	if (!cause)
		return 0;
	if (strcmp(cause, "isp.relay_denied") == 0 || strcmp(cause,
	    "auth.required") == 0)
		cause = relay_cause(c);
	/* a user with no password source: the refusal may only say that the
	 * tool did not log in, so it is the tool's input, not the account */
	if (strcmp(cause, "auth.required") == 0 && c->user && c->auth &&
	    is(c->auth, "result", "no_secret"))
		return missing_password(c, stage, f);
	if (strcmp(cause, "auth.required") == 0 && truth(c->cfg, "http_only"))
		return login_withheld(c, stage, f);
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
		propose(c, cause, str(f, "addr"), "%s%s%s%s: the server answered "
		    "%d %s", explain, provider ? " (" : "", provider ? provider : "",
		    provider ? ")" : "", num(f, "code"), text ? text : "");
	else
		propose(c, cause, str(f, "addr"), "the server refused at %s: %d %s",
		    stage, num(f, "code"), text ? text : "");
	free(text);
	return 1;
}

/* ---- DNS --------------------------------------------------------------- */

static int rule_resolver_broken(ctx *c)
{
	json_t *rf = sd_fact_get(c->facts, "dns.resolver");
	if (!rf)
		return 0;
	ev(c, rf);
	return propose(c, "dns.resolution_failed", c->server, "the DNS resolver "
	    "could not be set up: %s", str(rf, "error"));
}

/* The lookups of the server's name: 1 when one gave an address. */
static int server_resolved(ctx *c, int *n, json_t **failed)
{
	size_t i;
	json_t *f;
	int any = 0;
	*n = 0;
	*failed = NULL;
	EACH(c->facts, i, f) {
		if (!kind_is(f, "dns") || !is(f, "role", "main"))
			continue;
		(*n)++;
		if (is(f, "status", "ok"))
			any = 1;
		else if (!is(f, "status", "nxdomain") && !is(f, "status", "nodata"))
			*failed = f;
	}
	return any;
}

static int rule_lookup_failed(ctx *c)
{
	int n;
	json_t *bad;
	if (server_resolved(c, &n, &bad) || !n || !bad)
		return 0;
	ev(c, bad);
	fixf(c, "check the DNS resolver this machine uses (or pass "
	    "--resolver); try again in a few minutes");
	return propose(c, "dns.resolution_failed", c->server, "the address of "
	    "%s could not be looked up: the resolver answered %s", c->server,
	    str(bad, "status"));
}

static int rule_host_not_found(ctx *c)
{
	int n;
	json_t *bad;
	if (server_resolved(c, &n, &bad) || !n)
		return 0;
	size_t i;
	json_t *f;
	EACH(c->facts, i, f)
		if (kind_is(f, "dns") && is(f, "role", "main"))
			ev(c, f);
	fixf(c, "check the spelling of the outgoing server name '%s' in the "
	    "mail client; the provider's help pages list the right one",
	    c->server);
	int fam = num(c->cfg, "family");
	if (fam == 4 || fam == 6)
		return propose(c, "settings.host_not_found", c->server, "the "
		    "outgoing server name %s has no IPv%d address (-%d)",
		    c->server, fam, fam);
	return propose(c, "settings.host_not_found", c->server, "the outgoing "
	    "server name %s does not exist in DNS", c->server);
}

/* ---- network ----------------------------------------------------------- */

/* The TCP connections, counted. */
typedef struct net {
	int cfg_ok, cfg_n, other_ok;
	int ctrl_n, ctrl_ok, ctrl25_n, ctrl25_fail, web_ok;
	int refused, timeouts, icmp;
	int v4_ok, no_v6;
	json_t *v6_bad, *local;
	/* the control hosts by family (not the server's own web port) */
	json_t *ctrl4_good, *ctrl6_bad;
	int ctrl6_n, ctrl6_ok;
} net;

/* Adds one connection to an independent host, by its family. */
static void net_control(net *t, const json_t *f)
{
	int ok = truth(f, "ok");
	if (is(f, "result", "cancelled"))
		return;
	if (num(f, "family") == 4) {
		if (ok && !t->ctrl4_good)
			t->ctrl4_good = (json_t *)f;
		return;
	}
	t->ctrl6_n++;
	t->ctrl6_ok |= ok;
	if (!ok && !t->ctrl6_bad)
		t->ctrl6_bad = (json_t *)f;
}

/* Adds one connection to the configured port of the server. */
static void net_configured(net *t, const json_t *f)
{
	int ok = truth(f, "ok");
	/* no IPv6 route here at all (ENETUNREACH at once) is a machine
	 * without IPv6, not a broken path: clients then use IPv4 */
	if (num(f, "family") == 6 && is(f, "result", "no_route")) {
		t->no_v6 = 1;
		return;
	}
	t->cfg_n++;
	t->cfg_ok |= ok;
	if (ok && num(f, "family") == 4)
		t->v4_ok = 1;
	if (!ok && num(f, "family") == 6 && !is(f, "result", "cancelled"))
		t->v6_bad = (json_t *)f;
	if (is(f, "result", "local_denied"))
		t->local = (json_t *)f;
	t->refused += is(f, "result", "refused");
	t->timeouts += is(f, "result", "timeout");
	t->icmp += is(f, "result", "host_unreachable") ||
	    is(f, "result", "network_unreachable") ||
	    is(f, "result", "no_route") || is(f, "result", "prohibited");
}

static net net_count(ctx *c)
{
	net t = { 0 };
	size_t i;
	json_t *f;
	EACH(c->facts, i, f) {
		if (!kind_is(f, "tcp") || is(f, "role", "fix"))
			continue;
		int ok = truth(f, "ok");
		if (is(f, "role", "control") || (is(f, "role",
		    "control_nonsmtp") && !(c->tcp && is(f, "addr", str(c->tcp,
		    "addr")))))
			net_control(&t, f);
		if (is(f, "role", "control")) {
			t.ctrl_n++;
			t.ctrl_ok += ok;
			t.ctrl25_n += num(f, "port") == 25;
			t.ctrl25_fail += num(f, "port") == 25 && !ok;
		} else if (is(f, "role", "control_nonsmtp")) {
			t.web_ok |= ok;
		} else if (num(f, "port") != c->port) {
			t.other_ok |= ok;
		} else {
			net_configured(&t, f);
		}
	}
	return t;
}

/* The configured port failed while another port of the server answered;
 * the way around goes into the fix. */
static int other_port_answers(ctx *c, net *t)
{
	*t = net_count(c);
	if (t->cfg_ok || !t->other_ok || t->local)
		return 0;
	ev(c, c->tcp);
	return 1;
}

/* The fix for a configured port that fails: a verified way around, or
 * the ports that answer. */
static void fix_other_port(ctx *c, const char *fmt)
{
	char alts[200];
	working_ports(c, alts, sizeof alts);
	if (!verified_fix(c) && *alts)
		fixf(c, fmt, alts);
}

static int rule_local_firewall(ctx *c)
{
	net t = net_count(c);
	if (t.cfg_ok || !t.local)
		return 0;
	ev(c, c->tcp);
	ev(c, t.local);
	fixf(c, "this computer's own firewall or security software blocks "
	    "outgoing connections to port %d: allow the mail client through "
	    "it", c->port);
	return propose(c, "network.local_firewall", str(t.local, "addr"),
	    "this machine refused to open the connection to port %d itself "
	    "(%s): a local firewall or policy blocks it", c->port,
	    str(t.local, "errno"));
}

static int rule_port25_blocked(ctx *c)
{
	net t;
	/* port 25 fails the same way to the server and to every independent
	 * host: the path, nearer than the server, blocks it (dropped or
	 * reset alike) */
	if (c->port != 25 || !other_port_answers(c, &t) || !t.ctrl25_n ||
	    t.ctrl25_fail != t.ctrl25_n)
		return 0;
	fix_other_port(c, "use the submission port %s instead of 25");
	fixf(c, "port 25 is for servers; mail clients submit on 587 "
	    "(STARTTLS) or 465 (implicit TLS)");
	return propose(c, "isp.port25_blocked", c->server, "port 25 is blocked "
	    "to every host (the server and %d independent control hosts), "
	    "while other ports of the server answer: the internet provider "
	    "blocks outgoing port 25", t.ctrl25_n);
}

static int rule_port_closed(ctx *c)
{
	net t;
	if (!other_port_answers(c, &t) || t.refused != t.cfg_n)
		return 0;
	fix_other_port(c, "the server answers on port(s) %s: configure one of "
	    "them");
	return propose(c, "settings.port_closed", c->server, "port %d of %s "
	    "refuses connections (reset) while other submission ports of the "
	    "server accept: nothing listens on the configured port", c->port,
	    c->server);
}

static int rule_port_blocked(ctx *c)
{
	net t;
	if (!other_port_answers(c, &t) || !(t.timeouts || t.icmp))
		return 0;
	fix_other_port(c, "the server answers on port(s) %s: configure one of "
	    "them");
	return propose(c, "network.port_blocked", c->server, "port %d of %s "
	    "does not answer (%s) while other ports of the same server do: a "
	    "firewall on the path blocks it", c->port, c->server, t.timeouts ?
	    "timeout" : "ICMP unreachable or prohibited");
}

static int rule_port_failed(ctx *c)
{
	net t;
	if (!other_port_answers(c, &t))
		return 0;
	fix_other_port(c, "the server answers on port(s) %s: configure one of "
	    "them");
	return propose(c, "inconclusive", c->server, "port %d of %s failed in "
	    "a way that names no cause (%s) while other ports of the same "
	    "server answer", c->port, c->server, str(c->tcp, "errno"));
}

/* No SMTP port of the server accepts (other addresses or 443 alone do
 * not count). */
static int no_port_answers(ctx *c, net *t)
{
	*t = net_count(c);
	if (t->cfg_ok || t->other_ok || t->local)
		return 0;
	ev(c, c->tcp);
	return 1;
}

/*
 * The server offers this client IPv6 alone: an IPv6 address literal, or a
 * name with no IPv4 address (check.c takes an IPv4 address for the
 * configured path whenever there is one).  No port of it answers, IPv6
 * fails beyond it too (or this machine has no IPv6 route), and IPv4 works
 * to the control hosts: the client has no path to the server.  One
 * server failing over IPv6 while other IPv6 hosts answer is that server's
 * problem (host_unreachable).  With -6 nothing goes over IPv4, so nothing
 * shows that IPv4 works.
 */
static int ipv6_only_fails(ctx *c, net *t)
{
	if (!no_port_answers(c, t) || !c->tcp || num(c->tcp, "family") != 6 ||
	    !t->ctrl4_good || t->ctrl6_ok)
		return 0;
	return t->ctrl6_n > 0 || t->no_v6;
}

static int rule_ipv6_only_broken(ctx *c)
{
	net t;
	if (!ipv6_only_fails(c, &t))
		return 0;
	const char *addr = str(c->tcp, "addr");
	char what[400], why[200];
	if (strcmp(c->server, addr) == 0)
		snprintf(what, sizeof what, "the server is configured as the "
		    "IPv6 address %s", addr);
	else
		snprintf(what, sizeof what, "%s has no IPv4 address, only IPv6 "
		    "(%s)", c->server, addr);
	if (t.no_v6)
		snprintf(why, sizeof why, "this machine has no IPv6 route");
	else
		snprintf(why, sizeof why, "IPv6 fails from this machine (%s to "
		    "the server, and to the control hosts)", str(c->tcp,
		    "result"));
	ev(c, t.ctrl6_bad);
	ev(c, t.ctrl4_good);
	fixf(c, "fix IPv6 on this network (its administrator or the internet "
	    "provider), or configure a name or address of the server that "
	    "has IPv4, if the provider offers one");
	c->status = SD_STATUS_FAIL;
	return propose(c, "network.ipv6_broken", addr, "%s, and %s while IPv4 "
	    "works: the mail client has no path to the server", what, why);
}

static int rule_host_unreachable(ctx *c)
{
	net t;
	if (!no_port_answers(c, &t) || !t.ctrl_ok)
		return 0;
	fixf(c, "check the server name and address (%s); the server may be "
	    "down: ask its administrator or the provider's status page",
	    c->server);
	return propose(c, "settings.host_unreachable", c->server, "no SMTP "
	    "port of %s accepts a connection, while independent control hosts "
	    "do: the server is down or the address is wrong", c->server);
}

static int rule_smtp_blocked(ctx *c)
{
	net t;
	if (!no_port_answers(c, &t) || !t.ctrl_n || !t.web_ok)
		return 0;
	fixf(c, "the network blocks all outgoing mail ports: ask the "
	    "network's administrator or provider, or use the provider's "
	    "webmail or HTTPS API");
	return propose(c, "network.smtp_blocked", c->server, "every SMTP port "
	    "to every host fails (the server and %d control hosts), while "
	    "other traffic (HTTPS) flows: this network blocks mail", t.ctrl_n);
}

static int rule_no_network(ctx *c)
{
	net t;
	if (!no_port_answers(c, &t))
		return 0;
	if (t.ctrl_n == 0) {
		const char *why = truth(c->cfg, "no_control") ? "control hosts "
		    "are off (--no-control)" : "no control host could be "
		    "resolved";
		/* the evidence fits both equally: both stay as findings */
		finding(c, "settings.host_unreachable", SD_SEV_ERROR, c->server,
		    ids(c->tcp, NULL), "possible, not proven: %s is down or its "
		    "address is wrong (no SMTP port accepts a connection; %s)",
		    c->server, why);
		finding(c, "network.smtp_blocked", SD_SEV_ERROR, c->server,
		    ids(c->tcp, NULL), "possible, not proven: this network "
		    "blocks mail (no SMTP port of %s accepts a connection; %s)",
		    c->server, why);
		return propose(c, "inconclusive", c->server, "no SMTP port of %s "
		    "accepts a connection; %s, so smtpdoctor cannot tell "
		    "settings.host_unreachable (server down) from "
		    "network.smtp_blocked (this network blocks mail)", c->server,
		    why);
	}
	return propose(c, "inconclusive", c->server, "no connection succeeds "
	    "to any host, mail or web: this machine seems to have no working "
	    "network at all");
}

/* ---- greeting ---------------------------------------------------------- */

static int rule_starttls_expected(ctx *c)
{
	if (!c->tls_f || !is(c->tls_f, "result", "plaintext_answer") ||
	    strcmp(c->tls, "implicit") != 0)
		return 0;
	ev(c, c->tls_f);
	if (!verified_fix(c))
		fixf(c, "set the security of port %d to STARTTLS in the mail "
		    "client (or use port 465 with SSL/TLS)", c->port);
	return propose(c, "settings.starttls_expected", c->server, "the client "
	    "is set to SSL/TLS on connect, but port %d answers in plaintext "
	    "(\"220 ...\") and expects STARTTLS", c->port);
}

static int rule_not_smtp(ctx *c)
{
	json_t *g = c->greeting;
	if (!g || !is(g, "result", "not_smtp"))
		return 0;
	ev(c, g);
	fixf(c, "port %d of %s speaks %s, not SMTP: this looks like the "
	    "incoming (POP3/IMAP) server or port; use the outgoing server's "
	    "name and port", c->port, c->server, str(g, "proto"));
	char *said = sd_quote(str(g, "text"), strlen(str(g, "text")), 200);
	propose(c, "settings.not_smtp", c->server, "something answered on port "
	    "%d, but not in SMTP (%s: %s)", c->port, str(g, "proto"),
	    said ? said : "");
	free(said);
	return 1;
}

static int rule_smtp_proxy(ctx *c)
{
	if (!c->greeting)
		return 0;
	const char *proxy = sd_rules_proxy_product(str(c->greeting, "text"));
	if (!proxy && c->ehlo)
		proxy = sd_rules_proxy_product(str(c->ehlo, "text"));
	if (!proxy)
		return 0;
	ev(c, c->greeting);
	fixf(c, "turn off the mail scanning of %s (or exclude the mail client "
	    "from it), then check again", proxy);
	return propose(c, "antivirus.smtp_proxy", c->server, "%s answers "
	    "instead of the server: its greeting or EHLO names it", proxy);
}

/* No greeting arrived: the TLS handshake tried after the silence, and the
 * greeting inside it (a second greeting fact), or NULL. */
static int silent(ctx *c, json_t **tls, json_t **inside)
{
	*tls = *inside = NULL;
	if (!c->greeting || !is(c->greeting, "result", "none"))
		return 0;
	ev(c, c->greeting);
	if (c->tls_f && truth(c->tls_f, "after_silence"))
		*tls = c->tls_f;
	*inside = last_with(c->facts, "greeting", "main", "tls");
	return 1;
}

static int rule_late_greeting(ctx *c)
{
	json_t *t, *g2;
	if (!silent(c, &t, &g2) || !t || !is(t, "result", "late_greeting"))
		return 0;
	ev(c, t);
	char *said = sd_quote(str(t, "peer_sent"), strlen(str(t, "peer_sent")),
	    200);
	propose(c, "inconclusive", c->server, "the server on port %d greeted "
	    "only after more than the wait of silence (a greeting delay?), too "
	    "late for smtpdoctor to tell a slow SMTP server from an "
	    "implicit-TLS port; it answered %s", c->port, said ? said : "");
	free(said);
	return 1;
}

static int rule_tls_not_smtp(ctx *c)
{
	json_t *t, *g2;
	if (!silent(c, &t, &g2) || !t || !is(t, "result", "ok") || !g2 ||
	    truth(g2, "ok") || !is(g2, "result", "not_smtp"))
		return 0;
	ev(c, g2);
	fixf(c, "port %d of %s speaks TLS but not SMTP inside it: use the "
	    "outgoing server's port", c->port, c->server);
	return propose(c, "settings.not_smtp", c->server, "port %d answers a "
	    "TLS handshake, but what speaks inside is not SMTP (%s)", c->port,
	    str(g2, "proto"));
}

static int rule_tls_required_on_connect(ctx *c)
{
	json_t *t, *g2;
	if (!silent(c, &t, &g2) || !t || !is(t, "result", "ok") || !g2 ||
	    !truth(g2, "ok"))
		return 0;
	ev(c, t);
	if (!verified_fix(c))
		fixf(c, "set the security of port %d to SSL/TLS (implicit TLS) in "
		    "the mail client", c->port);
	return propose(c, "settings.tls_required_on_connect", c->server, "port "
	    "%d expects TLS at once: it sent no greeting, and a TLS handshake "
	    "then succeeded", c->port);
}

static int rule_greeting_cut(ctx *c)
{
	json_t *t, *g2;
	if (!silent(c, &t, &g2) || !(run_cut(c->greeting) ||
	    truth(c->greeting, "partial")))
		return 0;
	return propose(c, "inconclusive", c->server, "%s on port %d",
	    truth(c->greeting, "partial") ? "the greeting came too slowly to "
	    "finish before the deadline (slow progress, not a stall)" :
	    "the --timeout deadline came while waiting for the greeting",
	    c->port);
}

static int rule_greeting_stalled(ctx *c)
{
	json_t *t, *g2;
	if (!silent(c, &t, &g2))
		return 0;
	fixf(c, "something on the path holds the connection open without "
	    "passing data: check firewalls and security software that inspect "
	    "mail");
	return propose(c, "firewall.connection_stalled", c->server, "the "
	    "connection to port %d opened, but no byte arrived before the "
	    "deadline (no greeting, and no TLS answer)", c->port);
}

static int rule_greeting_refused(ctx *c)
{
	json_t *g = c->greeting;
	if (!g || truth(g, "ok") || !is(g, "result", "smtp"))
		return 0;
	ev(c, g);
	return reply_rule(c, "connect", g);
}

static int rule_greeting_broken(ctx *c)
{
	json_t *g = c->greeting;
	if (!g || truth(g, "ok"))
		return 0;
	ev(c, g);
	if (is(g, "result", "malformed") || is(g, "result", "line_too_long"))
		return propose(c, "inconclusive", c->server, "the greeting on "
		    "port %d is broken (%s): whatever answers there does not "
		    "speak SMTP properly", c->port, is(g, "result", "malformed") ?
		    str(g, "syntax") : "a line longer than smtpdoctor accepts");
	return propose(c, "inconclusive", c->server, "the greeting on port %d "
	    "failed (%s)", c->port, str(g, "result"));
}

/* ---- EHLO -------------------------------------------------------------- */

static int rule_ehlo_endless(ctx *c)
{
	json_t *e = c->ehlo;
	if (!e || truth(e, "ok") || !is(e, "result", "timeout") ||
	    !truth(e, "partial"))
		return 0;
	ev(c, e);
	return propose(c, "inconclusive", c->server, "the EHLO reply on port "
	    "%d kept coming without an end before the deadline: the server (or "
	    "something on the path) is broken or hostile, but it is not a "
	    "stall", c->port);
}

static int rule_ehlo_stalled(ctx *c)
{
	json_t *e = c->ehlo;
	if (!e || truth(e, "ok") || !is(e, "result", "timeout"))
		return 0;
	ev(c, e);
	if (run_cut(e))
		return propose(c, "inconclusive", c->server, "the --timeout "
		    "deadline came while waiting for the EHLO reply");
	ev(c, c->greeting);
	fixf(c, "something on the path stops passing data after the greeting: "
	    "check firewalls and security software that inspect mail");
	return propose(c, "firewall.connection_stalled", c->server, "the "
	    "server greeted, then no byte arrived after EHLO before the "
	    "deadline: the session stalls on the path");
}

/* A refused EHLO (the one in TLS too): its reply's cause, or what failed. */
static int ehlo_failed(ctx *c, json_t *e, const char *what)
{
	if (!e || truth(e, "ok"))
		return 0;
	ev(c, e);
	if (num(e, "code") && reply_rule(c, "ehlo", e))
		return 1;
	return propose(c, "inconclusive", c->server, "%s failed on port %d "
	    "(%s)", what, c->port, str(e, "result"));
}

static int rule_ehlo_refused(ctx *c)
{
	return ehlo_failed(c, c->ehlo, "EHLO");
}

/* The greeting or EHLO reply with masked text, or NULL. */
static json_t *masked(ctx *c)
{
	if (c->greeting && truth(c->greeting, "masked"))
		return c->greeting;
	if (c->ehlo && truth(c->ehlo, "masked"))
		return c->ehlo;
	return NULL;
}

static int rule_smtp_inspection(ctx *c)
{
	json_t *m = masked(c);
	/* the session is rewritten; STARTTLS survived or is not needed */
	if (!c->ehlo || !m || (strcmp(c->tls, "starttls") == 0 &&
	    !truth(c->ehlo, "starttls")))
		return 0;
	ev(c, m);
	fixf(c, "a firewall or security device on the path inspects and "
	    "rewrites SMTP (Cisco ASA's ESMTP inspection does by default): "
	    "turn its SMTP inspection off for this traffic");
	return propose(c, "firewall.smtp_inspection", str(m, "addr"), "a device "
	    "on the path rewrites the SMTP session: %s", kind_is(m, "greeting") ?
	    "the server's banner is masked with asterisks" : "EHLO keywords are "
	    "masked (XXXXXXXA)");
}

/* STARTTLS is configured and missing from the EHLO of the configured
 * path, with no TLS attempt; *other: an EHLO elsewhere that offers it. */
static int starttls_missing(ctx *c, json_t **other)
{
	*other = NULL;
	if (strcmp(c->tls, "starttls") != 0 || !c->ehlo || c->tls_f ||
	    truth(c->ehlo, "starttls"))
		return 0;
	ev(c, c->ehlo);
	*other = last_with(c->facts, "ehlo", "alternative", "starttls");
	return 1;
}

static int rule_starttls_stripped(ctx *c)
{
	json_t *other, *m = masked(c);
	if (!starttls_missing(c, &other) || !(other || m))
		return 0;
	ev(c, other ? other : m);
	fixf(c, "a firewall or security device on the path removes STARTTLS "
	    "(Cisco ASA's ESMTP inspection does by default): turn its SMTP "
	    "inspection off, or use port 465 with SSL/TLS");
	return propose(c, "firewall.smtp_inspection", c->server, "the server "
	    "does not offer STARTTLS on port %d%s%s, so a device on the path "
	    "rewrites the session", c->port, other ? " while it does on port " :
	    "", other ? "another port or address" : " and the session shows "
	    "masked keywords");
}

static int rule_starttls_unavailable(ctx *c)
{
	json_t *other;
	if (!starttls_missing(c, &other))
		return 0;
	fix_other_port(c, "ports that answer: %s");
	fixf(c, "ask the provider for the right port and security setting; "
	    "never send the password unencrypted");
	return propose(c, "settings.starttls_unavailable", c->server, "the "
	    "client requires STARTTLS, but the server offers it on port %d and "
	    "on no other port or address", c->port);
}

/* ---- TLS --------------------------------------------------------------- */

/* The configured path's TLS fact, when TLS is configured. */
static json_t *tls_of(ctx *c)
{
	if (!c->tls_f || strcmp(c->tls, "none") == 0)
		return NULL;
	ev(c, c->tls_f);
	return c->tls_f;
}

static int rule_starttls_refused(ctx *c)
{
	json_t *t = tls_of(c);
	if (!t || !is(t, "result", "starttls_refused"))
		return 0;
	fixf(c, "the server's TLS is broken: tell its administrator");
	char *said = sd_quote(str(t, "text"), strlen(str(t, "text")), 300);
	propose(c, "settings.tls_handshake_failed", c->server, "the server "
	    "refused STARTTLS on port %d: %d %s", c->port, num(t, "code"),
	    said ? said : "");
	free(said);
	return 1;
}

static int rule_tls_stalled(ctx *c)
{
	json_t *t = tls_of(c);
	if (!t || !is(t, "result", "timeout"))
		return 0;
	if (run_cut(t))
		return propose(c, "inconclusive", c->server, "the --timeout "
		    "deadline came during the TLS handshake");
	fixf(c, "something on the path stops passing data during the TLS "
	    "handshake: check firewalls and security software");
	/* the first packets passed, the rest never came: an MTU black hole
	 * looks like this */
	if (num(t, "handshake_bytes") > 0)
		return propose(c, "firewall.connection_stalled", c->server, "the "
		    "TLS handshake on port %d stopped half-way: %d bytes of the "
		    "server's answer came, then nothing before the deadline",
		    c->port, num(t, "handshake_bytes"));
	return propose(c, "firewall.connection_stalled", c->server, "the TLS "
	    "handshake on port %d got no answer before the deadline", c->port);
}

/* A handshake that did not complete. */
static json_t *tls_broken(ctx *c)
{
	json_t *t = tls_of(c);
	return t && !is(t, "result", "ok") ? t : NULL;
}

static int rule_tls_broke_off(ctx *c)
{
	json_t *t = tls_broken(c);
	/* a reset or a close mid-handshake, or bytes before it, is not a
	 * version or cipher problem: name both suspects */
	if (!t || !(is(t, "failure", "reset") || is(t, "failure", "closed") ||
	    is(t, "failure", "early_data") || is(t, "result", "cancelled")))
		return 0;
	return propose(c, "inconclusive", c->server, "the TLS handshake on "
	    "port %d broke off (%s): the server's TLS or a device on the path "
	    "ended it", c->port, str(t, "error"));
}

static int rule_tls_handshake_failed(ctx *c)
{
	json_t *t = tls_broken(c);
	if (!t)
		return 0;
	fixf(c, "the server and this client share no TLS version or cipher: "
	    "the server may accept only old TLS (1.0/1.1); ask its "
	    "administrator to enable TLS 1.2 or later");
	return propose(c, "settings.tls_handshake_failed", c->server, "the TLS "
	    "handshake on port %d failed: %s", c->port, str(t, "error"));
}

/* The security product whose CA issued a certificate of the chain. */
static const char *chain_product(const json_t *t)
{
	size_t i;
	json_t *cert;
	json_array_foreach(json_object_get(t, "chain"), i, cert) {
		const char *p = sd_rules_interception_product(str(cert, "issuer"));
		if (p)
			return p;
	}
	return NULL;
}

static int rule_tls_interception_trusted(ctx *c)
{
	json_t *t = tls_of(c);
	const char *product = t && truth(t, "ok") ? chain_product(t) : NULL;
	if (!product)
		return 0;
	/* a security product's CA this machine trusts: mail goes out, but
	 * through the product, which reads and may alter it (the issuer on
	 * the product list is the evidence) */
	fixf(c, "%s intercepts the mail connection with a CA installed on this "
	    "machine: turn off its SSL/TLS (mail) scanning or exclude the mail "
	    "client, so the client sees the server's own certificate",
	    product);
	return propose(c, "antivirus.tls_interception", c->server, "the "
	    "certificate on port %d is issued by %s's CA, which this machine "
	    "trusts: the product, not the server, holds the TLS session",
	    c->port, product);
}

/* The handshake completed and the certificate did not verify. */
static json_t *cert_rejected(ctx *c)
{
	json_t *t = c->tls_f;
	return t && strcmp(c->tls, "none") != 0 && is(t, "result", "ok") &&
	    !truth(t, "ok") ? t : NULL;
}

/* Evidence that someone between signs in the server's place: another
 * path to the server shows a different valid chain, or independent hosts
 * show the same unknown issuer.  *by_controls tells which. */
static json_t *foreign_signer(ctx *c, json_t *t, int *by_controls)
{
	json_t *other = NULL, *ctrl = NULL, *f;
	size_t i;
	const char *root = str(t, "root_issuer");
	int unknown = is(json_object_get(t, "verify"), "class", "untrusted") ||
	    is(json_object_get(t, "verify"), "class", "self_signed");
	EACH(c->facts, i, f) {
		if (!kind_is(f, "tls"))
			continue;
		if (is(f, "role", "alternative") && truth(f, "ok") &&
		    !is(f, "root_issuer", root))
			other = f;
		json_t *v = json_object_get(f, "verify");
		if (is(f, "role", "control") && is(f, "result", "ok") && unknown &&
		    *root && is(f, "root_issuer", root) && (is(v, "class",
		    "untrusted") || is(v, "class", "self_signed")))
			ctrl = f;
	}
	*by_controls = !other && ctrl;
	return other ? other : ctrl;
}

static int rule_tls_interception(ctx *c)
{
	json_t *t = cert_rejected(c);
	if (!t)
		return 0;
	int by_controls;
	const char *product = chain_product(t);
	json_t *other = foreign_signer(c, t, &by_controls);
	if (!product && !other)
		return 0;
	ev(c, t);
	ev(c, other);
	fixf(c, "%s intercepts the mail connection and replaces the server's "
	    "certificate: turn off its SSL/TLS (mail) scanning or exclude the "
	    "mail client", product ? product : "security software or a network "
	    "device");
	return propose(c, "antivirus.tls_interception", c->server, "the "
	    "certificate on port %d is issued by %s, not by the server's CA%s",
	    c->port, product ? product : str(t, "root_issuer"), by_controls ?
	    "; independent control hosts show the same foreign issuer" :
	    other ? "; another path to the same server shows a different, "
	    "valid chain" : "");
}

/* Why the server's own certificate is invalid, for people. */
static const char *cert_why(const json_t *t)
{
	static const struct {
		const char *class, *words;
	} why[] = {
		{ "expired", "it has expired" },
		{ "not_yet_valid", "it is not valid yet" },
		{ "name", "it does not name the server" },
		{ "self_signed", "it is self-signed" },
		{ "untrusted", "it is not issued by a trusted authority" },
		{ "revoked", "it has been revoked" },
	};
	const json_t *v = json_object_get(t, "verify");
	for (size_t i = 0; i < sizeof why / sizeof why[0]; i++)
		if (is(v, "class", why[i].class))
			return why[i].words;
	return *str(v, "reason") ? str(v, "reason") : "it does not verify";
}

/* The server's own certificate is invalid: no sign of interception. */
static json_t *cert_invalid(ctx *c, char *summary, size_t len)
{
	json_t *t = cert_rejected(c);
	int by_controls;
	if (!t || chain_product(t) || foreign_signer(c, t, &by_controls))
		return NULL;
	snprintf(summary, len, "the server's certificate on port %d is "
	    "invalid: %s%s", c->port, cert_why(t), truth(c->cfg, "insecure") ?
	    " (smtpdoctor went on past it: --insecure)" : "");
	ev(c, t);
	fixf(c, "the server's certificate is invalid (%s): tell its "
	    "administrator; if you trust this server, use the name its "
	    "certificate is issued for", cert_why(t));
	/* discovery never sends credentials through such a certificate,
	 * --insecure or not (docs/discovery.md): a server the user names
	 * may be trusted */
	const char *src = str(c->cfg, "source");
	if (*src && strcmp(src, "flags") != 0 && strcmp(src, "config") != 0)
		fixf(c, "to go on past it anyway, name the server yourself: "
		    "--server %s:%d --insecure", str(c->cfg, "server"), c->port);
	return t;
}

static int rule_certificate_invalid(ctx *c)
{
	char sum[600];
	/* with --insecure the diagnosis goes on past it (a finding, then
	 * rule_certificate_went_past) */
	if (truth(c->cfg, "insecure") || !cert_invalid(c, sum, sizeof sum))
		return 0;
	return propose(c, "settings.certificate_invalid", c->server, "%s", sum);
}

static int rule_ehlo_tls_stalled(ctx *c)
{
	json_t *e = c->ehlo_tls;
	if (!e || truth(e, "ok") || !is(e, "result", "timeout") ||
	    run_cut(e) || truth(e, "partial"))
		return 0;
	ev(c, e);
	fixf(c, "something on the path stops passing data inside the TLS "
	    "session: check firewalls and security software");
	return propose(c, "firewall.connection_stalled", c->server, "no answer "
	    "to EHLO inside TLS on port %d before the deadline", c->port);
}

static int rule_ehlo_tls_refused(ctx *c)
{
	return ehlo_failed(c, c->ehlo_tls, "EHLO after STARTTLS");
}

/* ---- AUTH -------------------------------------------------------------- */

/* The AUTH attempt of the configured path, when a user is configured and
 * it did not succeed. */
static json_t *auth_failed(ctx *c, const char *result)
{
	json_t *a = c->auth;
	if (!c->user || !a || !is(a, "result", result))
		return NULL;
	ev(c, a);
	return a;
}

static int rule_auth_encryption_required(ctx *c)
{
	if (!auth_failed(c, "not_offered") || strcmp(c->tls, "none") != 0 ||
	    !any_auth_offered(c, c->port, 1))
		return 0;
	fixf(c, "set the security of port %d to STARTTLS in the mail client",
	    c->port);
	return propose(c, "auth.encryption_required", c->server, "the server "
	    "offers AUTH on port %d only after STARTTLS, and the client is set "
	    "to no encryption", c->port);
}

static int rule_wrong_server(ctx *c)
{
	int mx, only25;
	if (!auth_failed(c, "not_offered") || any_auth_offered(c, 0, 0))
		return 0;
	inbound_signs(c, &mx, &only25);
	if (!mx && !only25)
		return 0;
	fixf(c, "%s is an inbound mail server (MX): use the provider's "
	    "submission server for sending", c->server);
	return propose(c, "settings.wrong_server", c->server, "%s offers no "
	    "AUTH on any port%s: it receives mail, it is not a submission "
	    "server", c->server, mx ? " and is a domain's MX" :
	    " and only port 25 answers");
}

static int rule_auth_offered_nowhere(ctx *c)
{
	if (!auth_failed(c, "not_offered") || any_auth_offered(c, 0, 0))
		return 0;
	fixf(c, "the server offers no authentication: ask the provider whether "
	    "it relays by IP address (then remove the user name) or which "
	    "server to use");
	return propose(c, "auth.not_offered", c->server, "credentials are "
	    "configured, but %s offers AUTH neither before nor after TLS on "
	    "any port", c->server);
}

static int rule_auth_not_offered_here(ctx *c)
{
	if (!auth_failed(c, "not_offered"))
		return 0;
	if (!verified_fix(c))
		fixf(c, "use a port where the server offers AUTH");
	return propose(c, "auth.not_offered", c->server, "the server offers no "
	    "AUTH on port %d", c->port);
}

static int rule_mechanism_unsupported(ctx *c)
{
	json_t *a = auth_failed(c, "mechanism_unsupported");
	if (!a)
		return 0;
	char list[200] = "";
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(a, "offered"), i, m) {
		strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
		strncat(list, json_is_string(m) ? json_string_value(m) : "?",
		    sizeof list - strlen(list) - 1);
	}
	fixf(c, "set the authentication method to one the server offers: %s",
	    *list ? list : "(none)");
	return propose(c, "auth.mechanism_unsupported", c->server, "the "
	    "configured mechanism %s is not offered; the server offers %s",
	    str(a, "mech"), *list ? list : "no mechanism we speak");
}

static int rule_plaintext_refused(ctx *c)
{
	if (!auth_failed(c, "plaintext_refused"))
		return 0;
	if (any_auth_offered(c, c->port, 1) ||
	    first(c->facts, (q){ "tls", NULL, c->port, NULL }))
		fixf(c, "set the security of port %d to STARTTLS", c->port);
	fixf(c, "or, only if you accept the risk, pass --allow-plaintext-auth "
	    "to test it");
	return propose(c, "auth.plaintext_refused", c->server, "smtpdoctor did "
	    "not send the password: the connection on port %d is not "
	    "encrypted", c->port);
}

static int rule_auth_rejected(ctx *c)
{
	json_t *a = auth_failed(c, "rejected");
	if (!a)
		return 0;
	if (reply_rule(c, "auth", a))
		return 1;
	fixf(c, "check the user name and password");
	char *said = sd_quote(str(a, "text"), strlen(str(a, "text")), 300);
	propose(c, "auth.bad_credentials", c->server, "the server rejected the "
	    "login: %d %s", num(a, "code"), said ? said : "");
	free(said);
	return 1;
}

static int rule_auth_unanswered(ctx *c)
{
	json_t *a = auth_failed(c, "timeout");
	if (!a)
		return 0;
	return propose(c, run_cut(a) ? "inconclusive" :
	    "firewall.connection_stalled", c->server, "no answer to AUTH before "
	    "the deadline");
}

static int rule_auth_offer_cut(ctx *c)
{
	json_t *a = auth_failed(c, "offer_cut");
	if (!a)
		return 0;
	return propose(c, "inconclusive", c->server, "%s", str(a, "detail"));
}

static int rule_auth_hung_up(ctx *c)
{
	json_t *a = auth_failed(c, "closed");
	if (!a)
		a = auth_failed(c, "reset");
	if (!a)
		return 0;
	return propose(c, "inconclusive", c->server, "the server hung up at "
	    "AUTH on port %d: the connection was %s before any answer", c->port,
	    str(a, "result"));
}

static int rule_auth_failed(ctx *c)
{
	json_t *a = c->auth;
	if (!c->user || !a || is(a, "result", "ok") || is(a, "result",
	    "no_secret"))
		return 0;
	ev(c, a);
	return propose(c, "inconclusive", c->server, "AUTH ended with %s",
	    str(a, "result"));
}

/* ---- envelope and content ---------------------------------------------- */

/* The first step of the transaction on the configured path that failed;
 * *kind: its fact kind, which is also the reply table's stage. */
static json_t *step_failed(ctx *c, const char **kind)
{
	static const char *const kinds[] = { "mail", "rcpt", "data",
	    "data_end", "rset", NULL };
	for (int k = 0; kinds[k]; k++) {
		json_t *f = first(c->facts, (q){ kinds[k], "main", 0, NULL });
		if (f && !truth(f, "ok")) {
			ev(c, f);
			*kind = kinds[k];
			return f;
		}
	}
	return NULL;
}

static int rule_step_unanswered(ctx *c)
{
	const char *stage;
	json_t *f = step_failed(c, &stage);
	if (!f || !is(f, "result", "timeout"))
		return 0;
	return propose(c, run_cut(f) || truth(f, "partial") ? "inconclusive" :
	    "firewall.connection_stalled", c->server, "%s to %s before the "
	    "deadline", truth(f, "partial") ? "an unfinished answer" :
	    "no answer", str(f, "command"));
}

static int rule_step_refused(ctx *c)
{
	const char *stage;
	json_t *f = step_failed(c, &stage);
	return f && num(f, "code") && reply_rule(c, stage, f);
}

static int rule_step_failed(ctx *c)
{
	const char *stage;
	json_t *f = step_failed(c, &stage);
	if (!f)
		return 0;
	return propose(c, "inconclusive", c->server, "%s failed (%s)",
	    str(f, "command"), str(f, "result"));
}

/* ---- the path works ---------------------------------------------------- */

/* The end of the transaction on the configured path, or NULL. */
static json_t *transaction_done(ctx *c)
{
	json_t *done = first(c->facts, (q){ "rset", "main", 0, NULL });
	if (!done)
		done = first(c->facts, (q){ "data_end", "main", 0, NULL });
	return done;
}

static int rule_unfinished(ctx *c)
{
	if (transaction_done(c))
		return 0;
	return propose(c, "inconclusive", c->server, "the check did not reach "
	    "the end of the transaction");
}

/* With everything after it working, an invalid certificate --insecure
 * went past is still what stops a client. */
static int rule_certificate_went_past(ctx *c)
{
	char sum[600];
	if (!truth(c->cfg, "insecure") || !cert_invalid(c, sum, sizeof sum))
		return 0;
	return propose(c, "settings.certificate_invalid", c->server, "%s", sum);
}

static int rule_ipv6_broken(ctx *c)
{
	net t = net_count(c);
	if (!t.v4_ok || !t.v6_bad)
		return 0;
	ev(c, c->tcp);
	ev(c, transaction_done(c));
	ev(c, t.v6_bad);
	fixf(c, "fix IPv6 routing on this network, or configure the client to "
	    "use IPv4");
	return propose(c, "network.ipv6_broken", str(t.v6_bad, "addr"), "port "
	    "%d answers over IPv4 but not over IPv6 (%s): most clients try IPv6 "
	    "first (RFC 6724), so they wait for it to fail before falling "
	    "back, or give up", c->port, str(t.v6_bad, "result"));
}

/* The path works: the sender domain's own verdict, when it is a dns.*
 * code that concerns the message (not SPF for this machine, which does
 * not send it on) and has this status.  A failed lookup counts: what a
 * receiver cannot look up (SERVFAIL, a timeout, a bogus answer) defers or
 * refuses the mail as well. */
static json_t *sender_domain_cause(ctx *c, const char *status)
{
	json_t *sd = sd_fact_get(c->facts, "sender_domain");
	const char *sc = sd ? str(sd, "cause") : "";
	if (!sd || strncmp(sc, "dns.", 4) != 0 || strcmp(sc, "dns.spf_fail") ==
	    0 || !is(sd, "status", status))
		return NULL;
	return sd;
}

static int sender_domain_verdict(ctx *c, const char *status, sd_status st)
{
	json_t *sd = sender_domain_cause(c, status);
	if (!sd)
		return 0;
	size_t k;
	json_t *x;
	json_array_foreach(json_object_get(sd, "fix"), k, x)
		json_array_append(c->fix, x);
	ev(c, c->tcp);
	ev(c, transaction_done(c));
	ev(c, sd);
	/* and what proves the domain's verdict: its failed lookups */
	json_array_foreach(json_object_get(sd, "evidence"), k, x)
		ev(c, sd_fact_get(c->facts, json_string_value(x)));
	/* the domain's audit wrote its findings into the report */
	c->has_finding = 1;
	c->status = (int)st;
	if (strcmp(str(sd, "cause"), "dns.resolution_failed") == 0)
		return propose(c, str(sd, "cause"), str(sd, "domain"), "sending "
		    "works on port %d, but the DNS lookups of %s failed, so its "
		    "recipients may defer or refuse its mail: %s", c->port,
		    str(sd, "domain"), str(sd, "summary"));
	return propose(c, str(sd, "cause"), str(sd, "domain"), "sending works "
	    "on port %d, but mail from %s may be refused by its recipients: %s",
	    c->port, str(sd, "domain"), str(sd, "summary"));
}

/* Its mail will be rejected downstream: fail, though the path works. */
static int rule_sender_domain_fails(ctx *c)
{
	return sender_domain_verdict(c, "fail", SD_STATUS_FAIL);
}

static int rule_sender_domain_warns(ctx *c)
{
	return sender_domain_verdict(c, "warn", SD_STATUS_WARN);
}

/* A blocklist fact about this machine's own address (check's probe), not
 * one about the sender domain's addresses in the same report. */
static int self_list(const json_t *f)
{
	const char *id = json_string_value(json_object_get(f, "id"));
	return kind_is(f, "dnsbl") && id && strncmp(id, "self.", 5) == 0;
}

/* This machine's address on a list that is not a policy list: the path
 * works, but servers that check the list refuse its mail. */
static int rule_ip_listed(ctx *c)
{
	json_t *f, *listed = NULL;
	const json_t *a = NULL;
	size_t i;
	EACH(c->facts, i, f)
		if (!listed && self_list(f) && (a = sd_dnsbl_answer(f, "listed")))
			listed = f;
	if (!(f = listed))
		return 0;
	ev(c, f);
	fixf(c, "ask the list named above to delist this address (its removal "
	    "page says how), and keep submitting with authentication on 587 "
	    "or 465");
	c->status = SD_STATUS_WARN;
	return propose(c, "reputation.ip_listed", str(f, "ip"), "sending works "
	    "on port %d, but this machine's address %s is listed on %s (%s): "
	    "servers that check it refuse its mail", c->port, str(f, "ip"),
	    str(f, "zone"), str(a, "meaning"));
}

/* The path works, but the settings differ from what the provider
 * publishes: they may stop working when the provider moves. */
static int rule_differs_from_published(ctx *c)
{
	char sum[1500];
	const json_t *pub;
	if (!sd_rules_published_differs(c->r, sum, sizeof sum, &pub, c->fix))
		return 0;
	ev(c, pub);
	return propose(c, "settings.differs_from_published", c->server, "%s",
	    sum);
}

/* With --send --score: the path works, but a content filter scored the
 * test message at or over its threshold, so receivers file or refuse it. */
static int rule_spam_score(ctx *c)
{
	sd_score_seen s;
	sd_score_see(c->facts, &s);
	int over = s.code && strcmp(s.code, "content.spam_score") == 0;
	if (over) {
		json_array_extend(c->fix, s.fix);
		json_array_extend(c->evidence, s.evidence);
		propose(c, s.code, s.subject, "%s", s.summary);
	}
	json_decref(s.fix);
	json_decref(s.evidence);
	return over;
}

static int rule_ok(ctx *c)
{
	ev(c, c->tcp);
	ev(c, transaction_done(c));
	return propose(c, "ok", c->server, "sending works on port %d with "
	    "%s%s%s", c->port, mode_words(c->tls), c->auth && is(c->auth,
	    "result", "ok") ? ", authenticated" : "", truth(c->cfg, "send") ?
	    "; the test message was accepted" : "");
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

static void finding_ports(ctx *c)
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
		finding(c, "info.ports", SD_SEV_INFO, addr, evd, "%s: SMTP "
		    "answers on %s%s%s", addr, *works ? works : "no port", *fails ?
		    "; fails on " : "", fails);
	}
}

/* This machine's address on blocklists: findings, not the verdict, unless
 * a server's reply names the list (reply rules). */
static void finding_reputation(ctx *c)
{
	size_t i;
	json_t *f;
	EACH(c->facts, i, f) {
		const json_t *a;
		if (!self_list(f))
			continue;
		if ((a = sd_dnsbl_answer(f, "listed")))
			finding(c, "reputation.ip_listed", SD_SEV_WARN, str(f, "ip"),
			    ids(f, NULL), "this machine's address %s is listed on %s "
			    "(%s): servers that check it refuse its mail; submission "
			    "with AUTH on 587/465 usually still works", str(f, "ip"),
			    str(f, "zone"), str(a, "meaning"));
		else if ((a = sd_dnsbl_answer(f, "policy")))
			finding(c, "reputation.ip_listed", SD_SEV_INFO, str(f, "ip"),
			    ids(f, NULL), "%s is on the policy list %s (%s): normal "
			    "for an end-user address that submits with AUTH",
			    str(f, "ip"), str(f, "zone"), str(a, "meaning"));
		else if ((a = sd_dnsbl_answer(f, "error")))
			finding(c, "reputation.dnsbl_refused", SD_SEV_WARN,
			    str(f, "zone"), ids(f, NULL), "%s answered with an error "
			    "code (%s): the check did not happen", str(f, "zone"),
			    str(a, "meaning"));
	}
}

static void finding_ipv6(ctx *c)
{
	net t;
	/* with a server of IPv6 alone, the verdict judged them */
	if (!ipv6_only_fails(c, &t) && t.no_v6)
		finding(c, "info.no_ipv6", SD_SEV_INFO, c->server, NULL, "this "
		    "machine has no IPv6 route: the server's IPv6 addresses were "
		    "not judged");
	if (t.v4_ok && t.v6_bad)
		finding(c, "network.ipv6_broken", SD_SEV_WARN, str(t.v6_bad,
		    "addr"), ids(t.v6_bad, NULL), "port %d answers over IPv4 but "
		    "not over IPv6 (%s): most clients try IPv6 first (RFC 6724), "
		    "so they wait for it to fail before falling back, or give up",
		    c->port, str(t.v6_bad, "result"));
}

static void finding_auth_not_tried(ctx *c)
{
	if (c->user && c->auth && is(c->auth, "result", "no_secret"))
		finding(c, "info.auth_not_tried", SD_SEV_INFO, c->server,
		    ids(c->auth, NULL), "AUTH was not tried: no password was given "
		    "(no --password-file, --password-env or --password-cmd, and no "
		    "terminal to ask on)");
}

/* --insecure: the invalid certificate is reported and the diagnosis goes
 * on past it. */
static void finding_certificate_past(ctx *c)
{
	char sum[600];
	if (truth(c->cfg, "insecure") && cert_invalid(c, sum, sizeof sum))
		finding(c, "settings.certificate_invalid", SD_SEV_ERROR, c->server,
		    ids(c->tls_f, NULL), "%s", sum);
}

/* The settings differ from what the provider publishes, whatever the
 * verdict (a failed path also gets them as its fix: discovery_rules.c). */
static void finding_published(ctx *c)
{
	char sum[1500];
	const json_t *pub;
	if (sd_rules_published_differs(c->r, sum, sizeof sum, &pub, NULL))
		finding(c, "settings.differs_from_published", SD_SEV_WARN,
		    c->server, ids(pub, NULL), "%s", sum);
}

/* What a content filter said of the test message, whatever the verdict. */
static void finding_score(ctx *c)
{
	sd_score_seen s;
	sd_score_see(c->facts, &s);
	if (s.code)
		finding(c, s.code, strcmp(s.code, "content.spam_score") == 0 ?
		    SD_SEV_WARN : SD_SEV_INFO, s.subject, s.evidence, "%s",
		    s.summary);
	else
		json_decref(s.evidence);
	json_decref(s.fix);
}

/* An inconclusive verdict always says what to try next: a longer
 * --timeout when the run's deadline cut a wait, the controls when they
 * were off, and a path that answered when one did. */
static void next_steps(ctx *c)
{
	size_t before = json_array_size(c->fix);
	size_t i;
	json_t *f;
	const json_t *cut = NULL, *answered = NULL;
	EACH(c->facts, i, f) {
		if (!cut && session_fact(f) && run_cut(f) && (is(f, "role",
		    "main") || is(f, "role", "fix")))
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
	if (json_array_size(c->fix) == 0)
		fixf(c, "run again with -v and send the report (--format "
		    "markdown) to the mail provider's support");
}

/* ---- the tables -------------------------------------------------------- */

/*
 * The precedence of check: the first rule that proposes decides.  The
 * same order, by name, is the list in docs/verdicts.md.  One list, made
 * into a table of names and a switch below rather than a table of
 * function pointers, which the loader would write at every start
 * (util/strtab.h says why that costs).
 */
#define VERDICT_RULES(X) \
	/* DNS: the server's name */ \
	X(resolver_broken) \
	X(lookup_failed) \
	X(host_not_found) \
	/* network: this machine, then the path, then the server */ \
	X(local_firewall) \
	X(port25_blocked) \
	X(port_closed) \
	X(port_blocked) \
	X(port_failed) \
	X(ipv6_only_broken) \
	X(host_unreachable) \
	X(smtp_blocked) \
	X(no_network) \
	/* greeting */ \
	X(starttls_expected) \
	X(not_smtp) \
	X(smtp_proxy) \
	X(late_greeting) \
	X(tls_not_smtp) \
	X(tls_required_on_connect) \
	X(greeting_cut) \
	X(greeting_stalled) \
	X(greeting_refused) \
	X(greeting_broken) \
	/* EHLO, and what it says about STARTTLS */ \
	X(ehlo_endless) \
	X(ehlo_stalled) \
	X(ehlo_refused) \
	X(smtp_inspection) \
	X(starttls_stripped) \
	X(starttls_unavailable) \
	/* TLS */ \
	X(starttls_refused) \
	X(tls_stalled) \
	X(tls_broke_off) \
	X(tls_handshake_failed) \
	X(tls_interception_trusted) \
	X(tls_interception) \
	X(certificate_invalid) \
	X(ehlo_tls_stalled) \
	X(ehlo_tls_refused) \
	/* AUTH */ \
	X(auth_encryption_required) \
	X(wrong_server) \
	X(auth_offered_nowhere) \
	X(auth_not_offered_here) \
	X(mechanism_unsupported) \
	X(plaintext_refused) \
	X(auth_rejected) \
	X(auth_unanswered) \
	X(auth_offer_cut) \
	X(auth_hung_up) \
	X(auth_failed) \
	/* envelope and content */ \
	X(step_unanswered) \
	X(step_refused) \
	X(step_failed) \
	/* the path works: what still endangers sending */ \
	X(unfinished) \
	X(certificate_went_past) \
	X(sender_domain_fails) \
	X(ip_listed) \
	X(ipv6_broken) \
	X(sender_domain_warns) \
	X(differs_from_published) \
	X(spam_score) \
	X(ok) \
	/* end of VERDICT_RULES */

enum {
#define RULE_ID(fn) RULE_##fn,
	VERDICT_RULES(RULE_ID)
#undef RULE_ID
	N_VERDICT_RULES
};

/* The names as arrays, for the same reason (the longest is 24). */
static const char verdict_rule_names[N_VERDICT_RULES][32] = {
#define RULE_NAME(fn) #fn,
	VERDICT_RULES(RULE_NAME)
#undef RULE_NAME
};

/* Rule i of the list: 1 when it proposed (c->cause and the rest set). */
static int run_verdict_rule(size_t i, ctx *c)
{
	switch (i) {
#define RULE_CASE(fn) case RULE_##fn: return rule_##fn(c);
	VERDICT_RULES(RULE_CASE)
#undef RULE_CASE
	}
	return 0;
}

/* What else was seen: findings that never decide. */
static void (*const finding_rules[])(ctx *c) = {
	finding_ports,
	finding_reputation,
	finding_ipv6,
	finding_auth_not_tried,
	finding_certificate_past,
	finding_published,
	finding_score,
};

const char *sd_check_rule_name(size_t i)
{
	return i < N_VERDICT_RULES ? verdict_rule_names[i] : NULL;
}

/* A rule starts with no fix and no evidence of its own. */
static void rule_start(ctx *c)
{
	json_array_clear(c->fix);
	json_array_clear(c->evidence);
	c->status = -1;
}

static void ctx_init(ctx *c, sd_report *r, sd_judge *j, json_t *cfg)
{
	memset(c, 0, sizeof *c);
	c->r = r;
	c->j = j;
	c->facts = r->facts;
	c->cfg = cfg;
	c->port = num(cfg, "port");
	c->tls = str(cfg, "tls");
	c->user = truth(cfg, "user");
	c->password = truth(cfg, "password");
	c->server = str(cfg, "server");
	c->tcp = first(c->facts, (q){ "tcp", "main", 0, NULL });
	c->greeting = first(c->facts, (q){ "greeting", "main", 0, NULL });
	c->ehlo = first(c->facts, (q){ "ehlo", "main", 0, NULL });
	c->tls_f = first(c->facts, (q){ "tls", "main", 0, NULL });
	c->ehlo_tls = first(c->facts, (q){ "ehlo_tls", "main", 0, NULL });
	c->auth = first(c->facts, (q){ "auth", "main", 0, NULL });
	c->fix = json_array();
	c->evidence = json_array();
}

void sd_rules_check(sd_report *r)
{
	/* no server was found to judge: the discovery rules say so */
	if (sd_rules_discovery_first(r))
		return;
	json_t *cfg = json_object_get(r->extra, "config");
	if (!cfg) {
		sd_verdict_set(r, "inconclusive", -1, "no configuration", NULL,
		    NULL);
		return;
	}
	sd_judge j = SD_JUDGE_INIT;
	ctx c;
	ctx_init(&c, r, &j, cfg);
	for (size_t i = 0; i < sizeof finding_rules / sizeof finding_rules[0];
	    i++) {
		rule_start(&c);
		finding_rules[i](&c);
	}
	for (size_t i = 0; !c.cause; i++) {
		rule_start(&c);
		run_verdict_rule(i, &c);
	}
	int ok = strcmp(c.cause, "ok") == 0;
	sd_code row;
	sd_status st = c.status >= 0 ? (sd_status)c.status :
	    sd_code_default(sd_code_lookup(c.cause, &row));
	/* an inconclusive verdict always says what to try next */
	if (st == SD_STATUS_INCONCLUSIVE)
		next_steps(&c);
	if (!ok && !c.has_finding)
		finding(&c, c.cause, st == SD_STATUS_FAIL ? SD_SEV_ERROR :
		    SD_SEV_WARN, c.subject, json_deep_copy(c.evidence), "%s",
		    c.summary);
	/* an ok verdict carries an empty fix */
	sd_verdict_set(r, c.cause, (int)st, c.summary, ok ? json_array() :
	    json_incref(c.fix), json_incref(c.evidence));
	sd_judge_finish(&j, r);
	json_decref(c.fix);
	json_decref(c.evidence);
	sd_rules_discovery_last(r);
}
