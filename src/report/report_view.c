/*
 * The view of a report for people (see report_view.h): what is shown, in
 * plain words and a fixed order.  No formatting here: the text, Markdown
 * and HTML renderers format the view.
 */
#include "report/report_view.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* Longest line of a view (a detail quoting a reply, a record). */
#define VIEW_LINE_MAX 900

const char *sd_code_words(const char *code)
{
	sd_code row;
	const sd_code *c = code ? sd_code_lookup(code, &row) : NULL;
	return c ? c->words : NULL;
}

/* A string member, "" when absent. */
#define jstr(o, key) sd_jstr((o), (key), "")

/* Foreign or not, every string of a view goes through the one escaper. */
static json_t *esc(const char *s)
{
	char *clean = sd_sanitize(s ? s : "", strlen(s ? s : ""),
	    VIEW_LINE_MAX);
	json_t *v = json_string(clean ? clean : "");
	free(clean);
	return v;
}

static json_t *escf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *escf(const char *fmt, ...)
{
	char buf[VIEW_LINE_MAX + 200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return esc(buf);
}

/* ---- order ------------------------------------------------------------ */

static const char *const stage_order[] = {
	"inputs", "discovery", "dns", "network", "greeting", "ehlo", "tls",
	"auth", "envelope", "content", "domain", "reputation", NULL,
};

static const struct { const char *stage, *title; } stage_titles[] = {
	{ "inputs", "Settings" }, { "discovery", "Discovery" },
	{ "dns", "DNS" }, { "network", "Network (TCP)" },
	{ "greeting", "Greeting" }, { "ehlo", "EHLO" }, { "tls", "TLS" },
	{ "auth", "Login (AUTH)" }, { "envelope", "Envelope" },
	{ "content", "Message" }, { "domain", "Domain" },
	{ "reputation", "Reputation" },
};

static const char *stage_title(const char *stage)
{
	for (size_t i = 0; i < sizeof stage_titles / sizeof stage_titles[0];
	    i++)
		if (strcmp(stage_titles[i].stage, stage) == 0)
			return stage_titles[i].title;
	return stage;
}

/* The configured path, its verified alternative, the other ports of the
 * server, the independent hosts, then everything else. */
static int role_rank(const json_t *f)
{
	static const char *const roles[] = { "main", "fix", "alternative",
	    "control", "control_nonsmtp", NULL };
	const char *r = jstr(f, "role");
	for (int i = 0; roles[i]; i++)
		if (strcmp(r, roles[i]) == 0)
			return i;
	return 5;
}

static int by_place(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a;
	const json_t *y = *(const json_t *const *)b;
	int d = role_rank(x) - role_rank(y);
	if (!d)
		d = (int)(json_integer_value(json_object_get(x, "family")) -
		    json_integer_value(json_object_get(y, "family")));
	if (!d)
		d = strcmp(jstr(x, "addr"), jstr(y, "addr"));
	if (!d)
		d = (int)(json_integer_value(json_object_get(x, "port")) -
		    json_integer_value(json_object_get(y, "port")));
	if (!d)
		d = strcmp(jstr(x, "id"), jstr(y, "id"));
	return d;
}

/* The facts of r in the fixed order (a borrowed array, to free). */
static const json_t **sorted_facts(const sd_report *r, size_t *n)
{
	*n = json_array_size(r->facts);
	const json_t **v = calloc(*n ? *n : 1, sizeof *v);
	if (!v) {
		*n = 0;
		return NULL;
	}
	for (size_t i = 0; i < *n; i++)
		v[i] = json_array_get(r->facts, i);
	qsort(v, *n, sizeof *v, by_place);
	return v;
}

/* ---- header ----------------------------------------------------------- */

static const char *tls_words(const char *mode)
{
	if (strcmp(mode, "implicit") == 0)
		return "SSL/TLS (TLS from the first byte)";
	if (strcmp(mode, "starttls") == 0)
		return "STARTTLS";
	if (strcmp(mode, "none") == 0)
		return "no encryption";
	return mode;
}

static const char *source_words(const char *source)
{
	static const struct { const char *k, *w; } words[] = {
		{ "flags", "given on the command line" },
		{ "config", "read from a mail program's configuration file" },
		{ "srv", "discovered from the domain's SRV records" },
		{ "autoconfig", "discovered from the domain's autoconfig file" },
		{ "provider", "from smtpdoctor's table of mail providers" },
		{ "mx", "derived from the domain's MX hosts" },
		{ "guess", "guessed from the domain name (nothing was published)" },
		{ "none", "no source named a server" },
	};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcmp(words[i].k, source) == 0)
			return words[i].w;
	return source;
}

static void check_header(json_t *h, const json_t *cfg)
{
	char buf[VIEW_LINE_MAX];
	int n = snprintf(buf, sizeof buf, "%s, port %lld, %s", jstr(cfg,
	    "server"), (long long)json_integer_value(json_object_get(cfg,
	    "port")), tls_words(jstr(cfg, "tls")));
	if (json_is_true(json_object_get(cfg, "user")) && n > 0)
		n += snprintf(buf + n, sizeof buf - (size_t)n, ", login %s%s%s",
		    json_is_true(json_object_get(cfg, "password")) ?
		    "with a password" : "without a password",
		    *jstr(cfg, "mech") ? " by " : "", jstr(cfg, "mech"));
	else if (n > 0)
		n += snprintf(buf + n, sizeof buf - (size_t)n, ", no login");
	if (*jstr(cfg, "from") && n > 0 && (size_t)n < sizeof buf)
		snprintf(buf + n, sizeof buf - (size_t)n, ", from %s to %s",
		    jstr(cfg, "from"), *jstr(cfg, "to") ? jstr(cfg, "to") :
		    jstr(cfg, "from"));
	json_object_set_new(h, "settings", esc(buf));
	const char *src = jstr(cfg, "source");
	/* flags have no detail worth a line ("command line") */
	const char *detail = strcmp(src, "flags") == 0 ? "" :
	    jstr(cfg, "source_detail");
	json_object_set_new(h, "source", escf("%s%s%s", source_words(*src ?
	    src : "flags"), *detail ? ": " : "", detail));

	json_t *controls = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(cfg, "controls"), i, c)
		if (json_is_string(c))
			json_array_append_new(controls, esc(json_string_value(c)));
	json_object_set_new(h, "controls", controls);
	json_object_set_new(h, "controls_note", json_string(
	    json_array_size(controls) ? "independent public hosts, run by "
	    "neither you nor your provider, contacted only to tell a blocked "
	    "network from a dead server (--no-control turns this off)" :
	    "none (--no-control): smtpdoctor cannot tell a blocked network "
	    "from a dead server"));
}

/* What a domain or spf report is about. */
static void subject_header(json_t *h, const sd_report *r)
{
	json_t *spf = json_object_get(r->extra, "spf");
	if (spf) {
		json_object_set_new(h, "subject", escf("SPF of %s for %s%s%s",
		    jstr(spf, "domain"), jstr(spf, "ip"),
		    *jstr(spf, "helo") ? ", HELO " : "", jstr(spf, "helo")));
		return;
	}
	size_t i;
	json_t *f;
	json_array_foreach(r->facts, i, f) {
		if (strcmp(jstr(f, "stage"), "domain") == 0 &&
		    *jstr(f, "domain")) {
			json_object_set_new(h, "subject", escf("the domain %s",
			    jstr(f, "domain")));
			return;
		}
	}
}

static json_t *header(const sd_report *r)
{
	char tool[64], at[40];
	snprintf(tool, sizeof tool, "smtpdoctor %s", sd_version());
	json_t *h = json_pack("{s:s, s:s, s:I, s:s}", "tool", tool,
	    "started_at", sd_report_started_at(r, at, sizeof at), "elapsed_ms",
	    (json_int_t)r->elapsed_ms, "command", r->command);
	const json_t *cfg = json_object_get(r->extra, "config");
	if (h && json_is_object(cfg))
		check_header(h, cfg);
	else if (h)
		subject_header(h, r);
	return h;
}

/* ---- verdict ---------------------------------------------------------- */

static json_t *verdict(const sd_report *r)
{
	const json_t *v = r->verdict;
	const char *status = v ? jstr(v, "status") : "inconclusive";
	const char *cause = v ? jstr(v, "cause") : "inconclusive";
	static const struct { const char *status, *headline; } heads[] = {
		{ "ok", "OK" }, { "warn", "WARNING" }, { "fail", "FAIL" },
		{ "inconclusive", "INCONCLUSIVE" },
	};
	const char *headline = "INCONCLUSIVE";
	for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
		if (strcmp(heads[i].status, status) == 0)
			headline = heads[i].headline;
	const char *words = sd_code_words(cause);
	json_t *out = json_pack("{s:s, s:s, s:o, s:o, s:o, s:s}", "status",
	    status, "headline", headline, "summary", esc(v ? jstr(v, "summary") :
	    "no verdict was reached"), "cause", esc(cause), "cause_words",
	    esc(words ? words : ""), "fix_title", strcmp(status,
	    "inconclusive") == 0 ? "Next steps" : "Fix");
	json_t *fix = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(v ? json_object_get(v, "fix") : NULL, i, s)
		if (json_is_string(s))
			json_array_append_new(fix, esc(json_string_value(s)));
	json_object_set_new(out, "fix", fix);
	return out;
}

/* ---- stages ----------------------------------------------------------- */

/* "key=value, ..." of a fact without words of its own (-v). */
static json_t *fact_values(const json_t *f)
{
	static const char *const skip[] = { "id", "stage", "detail",
	    "elapsed_ms", "role", "conn", "quiet", "host", "addr", "family",
	    NULL };
	char buf[VIEW_LINE_MAX];
	size_t n = (size_t)snprintf(buf, sizeof buf, "%s:", jstr(f, "id"));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)f, key, v) {
		int skipped = 0;
		for (size_t k = 0; skip[k]; k++)
			skipped |= strcmp(key, skip[k]) == 0;
		if (skipped || n + 4 >= sizeof buf || json_is_null(v))
			continue;
		char val[240];
		if (json_is_string(v))
			snprintf(val, sizeof val, "%s", json_string_value(v));
		else if (json_is_integer(v))
			snprintf(val, sizeof val, "%lld",
			    (long long)json_integer_value(v));
		else if (json_is_real(v))
			snprintf(val, sizeof val, "%g", json_real_value(v));
		else if (json_is_boolean(v))
			snprintf(val, sizeof val, "%s", json_is_true(v) ? "yes" :
			    "no");
		else if (json_is_array(v))
			snprintf(val, sizeof val, "[%zu]", json_array_size(v));
		else
			snprintf(val, sizeof val, "{...}");
		n += (size_t)snprintf(buf + n, sizeof buf - n, " %s=%s", key, val);
	}
	return esc(buf);
}

/* The certificate of a TLS fact, one line each: what a help desk asks for
 * when a certificate is the verdict. */
static void cert_lines(json_t *detail, const json_t *f)
{
	const json_t *leaf = json_array_get(json_object_get(f, "chain"), 0);
	const json_t *vr = json_object_get(f, "verify");
	if (leaf) {
		json_array_append_new(detail, escf("certificate for: %s",
		    jstr(leaf, "subject")));
		char sans[VIEW_LINE_MAX] = "";
		size_t i, n = 0;
		json_t *s;
		json_array_foreach(json_object_get(leaf, "sans"), i, s)
			if (json_is_string(s) && n < sizeof sans)
				n += (size_t)snprintf(sans + n, sizeof sans - n,
				    "%s%s", i ? ", " : "", json_string_value(s));
		json_array_append_new(detail, escf("names (SANs): %s",
		    *sans ? sans : "none"));
		json_array_append_new(detail, escf("issued by: %s%s",
		    jstr(leaf, "issuer"), json_is_true(json_object_get(leaf,
		    "self_signed")) ? " (self-signed)" : ""));
		json_array_append_new(detail, escf("valid from %s to %s",
		    jstr(leaf, "not_before"), jstr(leaf, "not_after")));
	}
	if (vr)
		json_array_append_new(detail, json_is_true(json_object_get(vr,
		    "ok")) ? json_string("verification: ok") :
		    escf("verification failed: %s (error %lld)", jstr(vr,
		    "reason"), (long long)json_integer_value(json_object_get(vr,
		    "code"))));
	if (json_is_false(json_object_get(f, "name_match")))
		json_array_append_new(detail, escf("the name %s is not among "
		    "its names", jstr(f, "host")));
}

/* The tags of a record, "v=DMARC1 | p=reject | rua=...", for the records
 * a domain audit judged. */
static void record_tags(const char *check, const char *record, char *buf,
    size_t len)
{
	size_t n = 0;
	/* SPF terms are separated by spaces, the others' tags by ';' */
	const char *sep = strcmp(check, "spf_record") == 0 ? " " : ";";
	const char *p = record;
	while (*p && n + 8 < len) {
		p += strspn(p, " \t;");
		size_t tag = strcspn(p, sep);
		while (tag && (p[tag - 1] == ' ' || p[tag - 1] == '\t'))
			tag--;
		if (tag)
			n += (size_t)snprintf(buf + n, len - n, "%s%.*s",
			    n ? " | " : "", (int)tag, p);
		p += strcspn(p, sep);
	}
	buf[n < len ? n : len - 1] = '\0';
}

static const char *record_kind(const char *check)
{
	static const struct { const char *k, *w; } kinds[] = {
		{ "spf_record", "SPF record" }, { "dmarc", "DMARC record" },
		{ "dkim_key", "DKIM key" }, { "mta_sts", "MTA-STS record" },
		{ "tlsrpt", "TLS-RPT record" },
	};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kinds[i].k, check) == 0)
			return kinds[i].w;
	return NULL;
}

/* A record a domain audit judged, with its tags (NULL: not a record). */
static json_t *record_line(const json_t *f)
{
	const char *check = jstr(f, "check");
	const char *kind = record_kind(check);
	if (!kind)
		return NULL;
	const char *record = jstr(f, "record");
	const json_t *recs = json_object_get(f, "records");
	if (!*record && json_array_size(recs))
		record = json_string_value(json_array_get(recs, 0));
	if (!record)
		record = "";
	/* a failed lookup says nothing about the record */
	static const char *const failed[] = { "timeout", "servfail", "bogus",
	    "temperror", "lookup_failed", "failed", "error", NULL };
	int unknown = 0;
	for (size_t i = 0; failed[i]; i++)
		unknown |= strcmp(jstr(f, "status"), failed[i]) == 0 ||
		    strcmp(jstr(f, "found"), failed[i]) == 0 ||
		    strcmp(jstr(f, "lookup"), failed[i]) == 0;
	/* common selectors tried on a guess are news only when found */
	if (!*record && strcmp(jstr(f, "source"), "common") == 0)
		return json_null();
	const char *name = *jstr(f, "name") ? jstr(f, "name") :
	    *jstr(f, "record_domain") ? jstr(f, "record_domain") :
	    jstr(f, "domain");
	json_t *line = json_pack("{s:s, s:o, s:s, s:[]}", "mark",
	    *record ? "ok" : unknown ? "fail" : "info", "text", *record ?
	    escf("%s at %s: \"%s\"", kind, name, record) : unknown ?
	    escf("%s at %s: not known, the lookup failed", kind, name) :
	    escf("%s at %s: none found", kind, name), "id", jstr(f, "id"),
	    "detail");
	json_t *detail = json_object_get(line, "detail");
	if (*record) {
		char tags[VIEW_LINE_MAX];
		record_tags(check, record, tags, sizeof tags);
		json_array_append_new(detail, escf("tags: %s", tags));
	}
	const json_t *key = json_object_get(f, "key");
	if (key)
		json_array_append_new(detail, escf("key: %s, %lld bits, %s%s%s",
		    jstr(key, "type"), (long long)json_integer_value(
		    json_object_get(key, "bits")), jstr(key, "status"),
		    json_is_true(json_object_get(key, "testing")) ?
		    ", testing mode (t=y)" : "", json_is_true(json_object_get(key,
		    "weak")) ? ", too short" : ""));
	const char *problem = *jstr(f, "record_error") ?
	    jstr(f, "record_error") : *jstr(f, "syntax_error") ?
	    jstr(f, "syntax_error") : jstr(f, "error");
	if (*problem) {
		json_object_set_new(line, "mark", json_string("fail"));
		json_array_append_new(detail, escf("problem: %s", problem));
	}
	return line;
}

static int shows_certificate(const sd_report *r, int verbose)
{
	static const char *const causes[] = { "settings.certificate_invalid",
	    "antivirus.tls_interception", "dns.dane_mismatch", NULL };
	const char *cause = r->verdict ? jstr(r->verdict, "cause") : "";
	for (size_t i = 0; causes[i]; i++)
		if (strcmp(cause, causes[i]) == 0)
			return 1;
	return verbose;
}

static json_t *fact_line(const json_t *f, int verbose, int cert)
{
	const json_t *ok = json_object_get(f, "ok");
	const char *role = jstr(f, "role");
	char text[VIEW_LINE_MAX + 64];
	const char *detail = jstr(f, "detail");
	json_t *words = *detail ? esc(detail) : fact_values(f);
	snprintf(text, sizeof text, "%s%s", strcmp(role, "fix") == 0 &&
	    !strstr(detail, "(working alternative)") ?
	    "(working alternative) " : "", json_string_value(words));
	json_decref(words);
	json_t *ms = json_object_get(f, "took_ms");
	if (verbose && json_is_integer(ms))
		snprintf(text + strlen(text), sizeof text - strlen(text),
		    " (%lld ms)", (long long)json_integer_value(ms));
	json_t *line = json_pack("{s:s, s:s, s:s, s:s, s:[]}", "mark",
	    json_is_true(ok) ? "ok" : json_is_false(ok) ? "fail" : "info",
	    "text", text, "role", role, "id", jstr(f, "id"), "detail");
	if (cert && strcmp(jstr(f, "stage"), "tls") == 0 &&
	    (strcmp(role, "main") == 0 || strcmp(role, "fix") == 0))
		cert_lines(json_object_get(line, "detail"), f);
	if (verbose && *detail)
		json_array_append_new(json_object_get(line, "detail"),
		    fact_values(f));
	return line;
}

/* Whether a fact gets a line of its own in the stage sections. */
static int shown(const json_t *f, int verbose)
{
	if (json_is_true(json_object_get(f, "quiet")))
		return 0;
	if (verbose)
		return 1;
	/* the other paths are summed up by a line per address and one for
	 * the independent hosts: -v lists each */
	int r = role_rank(f);
	return *jstr(f, "detail") && r != 2 && r != 3 && r != 4;
}

/* "independent hosts: 9 of 9 mail ports and 7 of 8 web ports answered" */
static json_t *controls_line(const json_t **facts, size_t n,
    const char *server)
{
	int smtp = 0, smtp_ok = 0, web = 0, web_ok = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *f = facts[i];
		if (strcmp(jstr(f, "stage"), "network") != 0 ||
		    strcmp(jstr(f, "result"), "cancelled") == 0)
			continue;
		int ok = json_is_true(json_object_get(f, "ok"));
		if (strcmp(jstr(f, "role"), "control") == 0) {
			smtp++;
			smtp_ok += ok;
		} else if (strcmp(jstr(f, "role"), "control_nonsmtp") == 0 &&
		    strcmp(jstr(f, "host"), server) != 0) {
			web++;
			web_ok += ok;
		}
	}
	if (!smtp)
		return NULL;
	return json_pack("{s:s, s:o, s:s, s:s, s:[]}", "mark", "info", "text",
	    escf("independent hosts: %d of %d mail ports and %d of %d web "
	    "ports answered (-v lists each)", smtp_ok, smtp, web_ok, web),
	    "role", "control", "id", "", "detail");
}

static json_t *sections(const sd_report *r, const json_t **facts, size_t n,
    int verbose)
{
	json_t *out = json_array();
	int cert = shows_certificate(r, verbose);
	for (size_t s = 0; stage_order[s]; s++) {
		json_t *lines = json_array();
		for (size_t i = 0; i < n; i++) {
			const json_t *f = facts[i];
			if (strcmp(jstr(f, "stage"), stage_order[s]) != 0)
				continue;
			json_t *rec = record_line(f);
			if (json_is_null(rec))
				continue;
			if (rec)
				json_array_append_new(lines, rec);
			else if (shown(f, verbose))
				json_array_append_new(lines, fact_line(f, verbose,
				    cert));
		}
		if (!verbose && strcmp(stage_order[s], "network") == 0) {
			json_t *c = controls_line(facts, n, jstr(json_object_get(
			    r->extra, "config"), "server"));
			if (c)
				json_array_append_new(lines, c);
		}
		if (json_array_size(lines))
			json_array_append_new(out, json_pack("{s:s, s:s, s:o}",
			    "stage", stage_order[s], "title",
			    stage_title(stage_order[s]), "lines", lines));
		else
			json_decref(lines);
	}
	return out;
}

/* ---- findings --------------------------------------------------------- */

static int severity_rank(const json_t *f)
{
	const char *s = jstr(f, "severity");
	return strcmp(s, "error") == 0 ? 0 : strcmp(s, "warning") == 0 ? 1 : 2;
}

static int by_severity(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a;
	const json_t *y = *(const json_t *const *)b;
	int d = severity_rank(x) - severity_rank(y);
	if (!d)
		d = strcmp(jstr(x, "code"), jstr(y, "code"));
	if (!d)
		d = strcmp(jstr(x, "subject"), jstr(y, "subject"));
	if (!d)
		d = strcmp(jstr(x, "summary"), jstr(y, "summary"));
	return d;
}

static json_t *findings(const sd_report *r, int verbose)
{
	size_t n = json_array_size(r->findings);
	const json_t **v = calloc(n ? n : 1, sizeof *v);
	json_t *out = json_array();
	if (!v)
		return out;
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(r->findings, i);
	qsort(v, n, sizeof *v, by_severity);
	for (size_t i = 0; i < n; i++) {
		const char *code = jstr(v[i], "code");
		/* a check's passing details are for -v (a domain audit lists
		 * what passed: that is its point) */
		if (!verbose && severity_rank(v[i]) == 2 &&
		    strcmp(r->command, "check") == 0 &&
		    strcmp(code, "info.ports") != 0 &&
		    strcmp(code, "info.auth_not_tried") != 0)
			continue;
		json_array_append_new(out, json_pack("{s:s, s:o, s:o, s:o}",
		    "severity", jstr(v[i], "severity"), "code", esc(code),
		    "subject", esc(jstr(v[i], "subject")), "summary",
		    esc(jstr(v[i], "summary"))));
	}
	free(v);
	return out;
}

/* ---- the conversation and the path ------------------------------------ */

static json_t *transcript(const sd_report *r, const json_t **facts, size_t n)
{
	const char *conn = NULL;
	for (size_t i = 0; i < n && !conn; i++)
		if (strcmp(jstr(facts[i], "role"), "main") == 0 &&
		    strncmp(jstr(facts[i], "id"), "tcp.", 4) == 0)
			conn = jstr(facts[i], "id");
	json_t *lines = json_array();
	size_t i;
	json_t *t;
	json_array_foreach(conn ? r->transcript : NULL, i, t) {
		if (strcmp(jstr(t, "conn"), conn) != 0)
			continue;
		json_array_append_new(lines, json_pack("{s:I, s:s, s:o}", "t_ms",
		    json_integer_value(json_object_get(t, "t_ms")), "dir",
		    jstr(t, "dir"), "line", esc(jstr(t, "line"))));
	}
	return json_pack("{s:o, s:o}", "conn", esc(conn ? conn : ""), "lines",
	    lines);
}

/* Whether f belongs to the session of `role`: the verified alternative
 * began as one of the other ports probed (its connection, greeting and
 * TLS) and went on as "fix" (login, envelope). */
static int in_session(const json_t *f, const char *role, const json_t *fix)
{
	if (strcmp(jstr(f, "role"), role) == 0)
		return 1;
	return fix && strcmp(jstr(f, "role"), "alternative") == 0 &&
	    strcmp(jstr(f, "addr"), jstr(fix, "addr")) == 0 &&
	    json_integer_value(json_object_get(f, "port")) ==
	    json_integer_value(json_object_get(fix, "port"));
}

/* One row of the drawn path: each stage of one role's session. */
static json_t *path_row(const json_t **facts, size_t n, const char *role,
    const json_t *fix, const char *label, const char *server)
{
	static const char *const path_stages[] = { "dns", "network",
	    "greeting", "ehlo", "tls", "auth", "envelope", "content", NULL };
	json_t *stages = json_array();
	int failed = 0;
	for (size_t s = 0; path_stages[s]; s++) {
		const json_t *bad = NULL, *good = NULL;
		for (size_t i = 0; i < n; i++) {
			const json_t *f = facts[i];
			if (!in_session(f, role, fix) ||
			    strcmp(jstr(f, "stage"), path_stages[s]) != 0)
				continue;
			const json_t *ok = json_object_get(f, "ok");
			if (json_is_false(ok) && !bad)
				bad = f;
			else if (json_is_true(ok) && !good)
				good = f;
		}
		const json_t *f = bad ? bad : good;
		if (!f)
			continue;
		json_array_append_new(stages, json_pack("{s:s, s:s, s:s, s:o, "
		    "s:b}", "stage", path_stages[s], "title",
		    stage_title(path_stages[s]), "mark", bad ? "fail" : "ok",
		    "text", esc(*jstr(f, "detail") ? jstr(f, "detail") :
		    jstr(f, "id")), "failing", bad && !failed));
		failed |= bad != NULL;
	}
	if (!json_array_size(stages)) {
		json_decref(stages);
		return NULL;
	}
	return json_pack("{s:s, s:o, s:o, s:o, s:b}", "role", role, "label",
	    esc(label), "server", esc(server), "stages", stages, "failed",
	    failed);
}

static json_t *path(const sd_report *r, const json_t **facts, size_t n)
{
	json_t *rows = json_array();
	const json_t *cfg = json_object_get(r->extra, "config");
	char label[400], server[320];
	snprintf(label, sizeof label, "your settings: %s port %lld, %s",
	    jstr(cfg, "server"), (long long)json_integer_value(
	    json_object_get(cfg, "port")), tls_words(jstr(cfg, "tls")));
	snprintf(server, sizeof server, "%s port %lld", jstr(cfg, "server"),
	    (long long)json_integer_value(json_object_get(cfg, "port")));
	json_t *row = path_row(facts, n, "main", NULL, label, server);
	if (row)
		json_array_append_new(rows, row);
	for (size_t i = 0; i < n; i++) {
		const json_t *f = facts[i];
		if (strcmp(jstr(f, "role"), "fix") == 0 && *jstr(f, "host")) {
			snprintf(label, sizeof label, "working alternative: %s "
			    "port %lld", jstr(f, "host"), (long long)
			    json_integer_value(json_object_get(f, "port")));
			snprintf(server, sizeof server, "%s port %lld",
			    jstr(f, "host"), (long long)json_integer_value(
			    json_object_get(f, "port")));
			if ((row = path_row(facts, n, "fix", f, label, server)))
				json_array_append_new(rows, row);
			break;
		}
	}
	json_t *c = controls_line(facts, n, jstr(cfg, "server"));
	json_t *out = json_pack("{s:o, s:o}", "rows", rows, "controls",
	    c ? json_incref(json_object_get(c, "text")) : json_string(
	    "no independent hosts were contacted (--no-control)"));
	json_decref(c);
	return out;
}

json_t *sd_report_view(const sd_report *r, int verbose)
{
	size_t n = 0;
	const json_t **facts = sorted_facts(r, &n);
	json_t *view = json_object();
	if (!view) {
		free(facts);
		return NULL;
	}
	json_object_set_new(view, "header", header(r));
	if (r->error)
		json_object_set_new(view, "error", esc(jstr(r->error,
		    "message")));
	json_object_set_new(view, "verdict", verdict(r));
	json_object_set_new(view, "sections", sections(r, facts, n, verbose));
	json_object_set_new(view, "findings", findings(r, verbose));
	json_object_set_new(view, "transcript", transcript(r, facts, n));
	if (strcmp(r->command, "check") == 0)
		json_object_set_new(view, "path", path(r, facts, n));
	json_t *spf = json_object_get(r->extra, "spf");
	if (spf) {
		json_t *trace = json_array();
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(spf, "trace"), i, s)
			json_array_append_new(trace, esc(json_string_value(s)));
		json_array_append_new(trace, escf("%lld of 10 DNS lookups, %lld "
		    "of 2 void lookups", (long long)json_integer_value(
		    json_object_get(spf, "lookups")), (long long)
		    json_integer_value(json_object_get(spf, "void_lookups"))));
		if (*jstr(spf, "explanation"))
			json_array_append_new(trace, escf("explanation: %s",
			    jstr(spf, "explanation")));
		json_object_set_new(view, "spf_trace", trace);
	}
	free(facts);
	return view;
}

int sd_report_write(const sd_report *r, FILE *out, sd_format format,
    int flags)
{
	char *json;
	switch (format) {
	case SD_FORMAT_TEXT:
		sd_report_write_text(r, out, flags);
		return 0;
	case SD_FORMAT_JSON:
		if (!(json = sd_report_to_json(r)))
			return -1;
		fwrite(json, 1, strlen(json), out);
		putc('\n', out);
		free(json);
		return 0;
	case SD_FORMAT_MARKDOWN:
		sd_report_write_markdown(r, out, flags);
		return 0;
	case SD_FORMAT_HTML:
		sd_report_write_html(r, out, flags);
		return 0;
	}
	return -1;
}
