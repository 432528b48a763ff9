/*
 * Rules about where the settings came from (see discovery_rules.h).  They
 * read the report's config member and its facts of stage "discovery"
 * only, so a saved report is judged the same way again.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rules/discovery_rules.h"
#include "util/util.h"

/* A string member, "" when absent. */
#define str(o, key) sd_jstr((o), (key), "")

static int is_discovery(const json_t *f)
{
	return strcmp(str(f, "stage"), "discovery") == 0;
}

int sd_rules_discovery_first(sd_report *r)
{
	json_t *cfg = json_object_get(r->extra, "config");
	if (!cfg || strcmp(str(cfg, "source"), "none") != 0)
		return 0;
	/* no source yielded any candidate (docs/discovery.md): name each one */
	char sum[3000] = "no source named a submission server: ";
	json_t *evidence = json_array();
	size_t i;
	json_t *f;
	int first = 1;
	json_array_foreach(r->facts, i, f) {
		if (!is_discovery(f))
			continue;
		json_array_append_new(evidence, json_string(str(f, "id")));
		size_t len = strlen(sum);
		snprintf(sum + len, sizeof sum - len, "%s%s", first ? "" : "; ",
		    str(f, "detail"));
		first = 0;
	}
	json_t *fix = json_array();
	json_array_append_new(fix, json_string("look up the outgoing (SMTP) "
	    "server in your provider's help pages and give it with --server "
	    "HOST[:PORT], or point --config at the mail client's settings "
	    "file"));
	sd_finding_add(r, "settings.not_discovered", "warning", str(cfg, "from"),
	    sum, json_deep_copy(evidence));
	sd_verdict_set(r, "settings.not_discovered", -1, sum, fix, evidence);
	return 1;
}

/* The TLS mode in words a person reads in a client's dialog. */
static const char *mode_words(const char *m)
{
	return strcmp(m, "implicit") == 0 ? "SSL/TLS (implicit TLS)" :
	    strcmp(m, "starttls") == 0 ? "STARTTLS" : "no encryption";
}

/*
 * The change in the client's own terms.  config.client names the format
 * the settings were read from; flags get the smtpdoctor options.
 */
static void client_fix(json_t *fix, const json_t *cfg, const char *host,
    int port, const char *tls)
{
	const char *client = str(cfg, "client");
	const char *file = str(cfg, "file");
	char l[700];
	int imp = strcmp(tls, "implicit") == 0, none = strcmp(tls, "none") == 0;
	if (strcmp(client, "msmtp") == 0) {
		snprintf(l, sizeof l, "in %s, account %s: host %s / port %d / "
		    "tls %s / tls_starttls %s", file, str(cfg, "account"), host,
		    port, none ? "off" : "on", imp ? "off" : "on");
	} else if (strcmp(client, "git") == 0) {
		snprintf(l, sizeof l, "git config --file %s sendemail.%s"
		    "smtpServer %s && git config --file %s sendemail.%s"
		    "smtpServerPort %d && git config --file %s "
		    "sendemail.smtpEncryption %s", file, str(cfg, "git_prefix"),
		    host, file, str(cfg, "git_prefix"), port, file, imp ? "ssl" :
		    none ? "none" : "tls");
	} else if (strcmp(client, "mutt") == 0) {
		snprintf(l, sizeof l, "in %s: set smtp_url = \"%s://%s%s:%d/\"%s",
		    file, imp ? "smtps" : "smtp", str(cfg, "url_user"), host, port,
		    imp || none ? "" : " and set ssl_starttls = yes");
	} else if (strcmp(client, "postfix") == 0) {
		snprintf(l, sizeof l, "in %s: relayhost = [%s]:%d, "
		    "smtp_tls_security_level = %s%s (then: postfix reload)",
		    file, host, port, none ? "may" : "encrypt", imp ?
		    ", smtp_tls_wrappermode = yes" : "");
	} else if (strcmp(client, "thunderbird") == 0) {
		snprintf(l, sizeof l, "in Thunderbird: Settings > Account "
		    "Settings > Outgoing Server (SMTP) > Edit: Server Name %s, "
		    "Port %d, Connection security %s", host, port, imp ?
		    "SSL/TLS" : none ? "None" : "STARTTLS");
	} else {
		snprintf(l, sizeof l, "smtpdoctor check --server %s --port %d "
		    "--tls %s", host, port, tls);
	}
	json_array_append_new(fix, json_string(l));
}

/* The best published server: one that works, else the first. */
static const json_t *best_published(const json_t *servers)
{
	size_t i;
	json_t *s;
	json_array_foreach(servers, i, s)
		if (json_is_true(json_object_get(s, "works")))
			return s;
	return json_array_get(servers, 0);
}

static int same(const json_t *s, const char *host, int port, const char *tls)
{
	return sd_strcaseeq(str(s, "host"), host) &&
	    json_integer_value(json_object_get(s, "port")) == port &&
	    strcmp(str(s, "tls"), tls) == 0;
}

/* The published server to use when the configured settings match none
 * of those the provider publishes; NULL when they match one, or nothing
 * is published. */
static const json_t *differing(const sd_report *r, const json_t **pub)
{
	const json_t *cfg = json_object_get(r->extra, "config");
	*pub = sd_fact_get(r->facts, "published.settings");
	if (!cfg || !*pub || !json_is_string(json_object_get(cfg, "server")))
		return NULL;
	const char *host = str(cfg, "server"), *tls = str(cfg, "tls");
	int port = (int)json_integer_value(json_object_get(cfg, "port"));
	const json_t *servers = json_object_get(*pub, "servers");
	size_t i;
	json_t *s;
	json_array_foreach(servers, i, s)
		if (same(s, host, port, tls))
			return NULL;
	return best_published(servers);
}

int sd_rules_published_differs(const sd_report *r, char *sum, size_t n,
    const json_t **pub, json_t *fix)
{
	const json_t *b = differing(r, pub);
	if (!b)
		return 0;
	const json_t *cfg = json_object_get(r->extra, "config");
	const char *host = str(cfg, "server"), *tls = str(cfg, "tls");
	int port = (int)json_integer_value(json_object_get(cfg, "port"));
	const char *bh = str(b, "host"), *bt = str(b, "tls");
	int bp = (int)json_integer_value(json_object_get(b, "port"));
	char diff[600] = "";
	size_t o = 0;
	if (!sd_strcaseeq(bh, host))
		o += (size_t)snprintf(diff + o, sizeof diff - o, "host %s (not "
		    "%s), ", bh, host);
	if (bp != port && o < sizeof diff)
		o += (size_t)snprintf(diff + o, sizeof diff - o, "port %d (not "
		    "%d), ", bp, port);
	if (strcmp(bt, tls) != 0 && o < sizeof diff)
		o += (size_t)snprintf(diff + o, sizeof diff - o, "%s (not %s), ",
		    mode_words(bt), mode_words(tls));
	if (o >= 2 && o < sizeof diff)
		diff[o - 2] = '\0';
	snprintf(sum, n, "the configured settings differ from what %s "
	    "publishes: %s, from %s (%s)%s", str(*pub, "domain"), diff,
	    str(b, "source"), str(b, "source_detail"),
	    json_is_true(json_object_get(b, "works")) ?
	    "; the published server answers, with TLS and AUTH offered" : "");
	if (fix)
		client_fix(fix, cfg, bh, bp, bt);
	return 1;
}

/* The configured path failed: the published settings are the fix too,
 * in the client's own words. */
static void published_fix(sd_report *r, const json_t *cfg)
{
	const json_t *pub;
	const json_t *b = differing(r, &pub);
	json_t *vf = json_object_get(r->verdict, "fix");
	if (!b || !json_is_array(vf) || strcmp(str(r->verdict, "status"),
	    "fail") != 0)
		return;
	const char *bh = str(b, "host"), *bt = str(b, "tls");
	int bp = (int)json_integer_value(json_object_get(b, "port"));
	char l[1200];
	snprintf(l, sizeof l, "%s publishes %s port %d with %s (%s)%s",
	    str(pub, "domain"), bh, bp, mode_words(bt), str(b, "source"),
	    json_is_true(json_object_get(b, "works")) ?
	    ": it answers, with TLS and AUTH offered" : "");
	json_array_append_new(vf, json_string(l));
	client_fix(vf, cfg, bh, bp, bt);
}

/* The way around the configured path's failure that the run verified
 * (the whole transaction went through there), as port and mode. */
static int verified_way(const sd_report *r, int *port, const char **mode)
{
	size_t i;
	json_t *f;
	json_array_foreach(r->facts, i, f) {
		const char *id = str(f, "id");
		if (strcmp(str(f, "role"), "fix") != 0 ||
		    (strncmp(id, "fix.rset.", 9) != 0 &&
		    strncmp(id, "fix.data_end.", 13) != 0))
			continue;
		*port = (int)json_integer_value(json_object_get(f, "port"));
		const char *tail = strchr(id + 4, '.');   /* ".PORT.ADDR" */
		char tls_id[300];
		*mode = "none";
		for (int k = 0; k < 2 && tail; k++) {
			snprintf(tls_id, sizeof tls_id, "%stls%s", k ? "" : "fix.",
			    tail);
			json_t *t = sd_fact_get(r->facts, tls_id);
			if (t && strcmp(str(t, "result"), "ok") == 0) {
				*mode = str(t, "mode");
				break;
			}
		}
		return 1;
	}
	return 0;
}

/* A rejected password, in the client's terms: where the file keeps it. */
static void password_fix(json_t *fix, const json_t *cfg)
{
	const char *client = str(cfg, "client"), *file = str(cfg, "file");
	char l[900];
	if (strcmp(client, "msmtp") == 0)
		snprintf(l, sizeof l, "in %s, account %s: set the right "
		    "password (password, or the passwordeval command that "
		    "prints it)", file, str(cfg, "account"));
	else if (strcmp(client, "git") == 0)
		snprintf(l, sizeof l, "git config --file %s sendemail.%s"
		    "smtpPass 'THE-RIGHT-PASSWORD' (or remove smtpPass and let "
		    "git send-email ask)", file, str(cfg, "git_prefix"));
	else if (strcmp(client, "mutt") == 0)
		snprintf(l, sizeof l, "in %s: set smtp_pass = \"THE-RIGHT-"
		    "PASSWORD\" (and no password inside smtp_url)", file);
	else if (strcmp(client, "postfix") == 0)
		snprintf(l, sizeof l, "in the sasl_passwd beside %s: %s "
		    "USER:THE-RIGHT-PASSWORD, then postmap it and postfix "
		    "reload", file, str(cfg, "account"));
	else
		snprintf(l, sizeof l, "in Thunderbird: Settings > Privacy & "
		    "Security > Saved Passwords: remove the one for smtp://%s, "
		    "then send again and enter the right password",
		    str(cfg, "server"));
	json_array_append_new(fix, json_string(l));
}

/* The verdict's fix, also in the words of the client the file is for. */
static void client_words(sd_report *r, const json_t *cfg)
{
	json_t *vf = json_object_get(r->verdict, "fix");
	if (!json_is_array(vf) || !json_is_string(json_object_get(cfg,
	    "client")) || strcmp(str(r->verdict, "status"), "fail") != 0)
		return;
	int port;
	const char *mode;
	if (strcmp(str(r->verdict, "cause"), "auth.bad_credentials") == 0)
		password_fix(vf, cfg);
	else if (verified_way(r, &port, &mode))
		client_fix(vf, cfg, str(cfg, "server"), port, mode);
}

void sd_rules_discovery_last(sd_report *r)
{
	json_t *cfg = json_object_get(r->extra, "config");
	if (!cfg)
		return;
	if (json_is_true(json_object_get(cfg, "http_only"))) {
		char sum[900];
		snprintf(sum, sizeof sum, "%s was named only by autoconfig over "
		    "plain http (%s), which anyone on the path can change: no "
		    "credentials were sent; confirm the server with your "
		    "provider", str(cfg, "server"), str(cfg, "source_detail"));
		sd_finding_add(r, "settings.unconfirmed_source", "warning",
		    str(cfg, "server"), sum, NULL);
		json_t *vf = json_object_get(r->verdict, "fix");
		if (json_is_array(vf))
			json_array_append_new(vf, json_string("confirm the "
			    "outgoing server with your provider before "
			    "entering a password: only plain http named it"));
	}
	client_words(r, cfg);
	published_fix(r, cfg);
}
