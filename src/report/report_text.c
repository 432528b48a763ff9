/*
 * The text renderer: what a person reads.  One section per stage with
 * what worked and what failed, the findings, then the verdict last.
 */
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "util/util.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_DIM "\033[2m"

static const char *const stages[] = {
	"inputs", "discovery", "dns", "network", "greeting", "ehlo", "tls",
	"auth", "envelope", "content", "domain", "reputation", NULL,
};

static const char *stage_title(const char *s)
{
	static const struct { const char *k, *t; } titles[] = {
		{ "inputs", "Settings" }, { "discovery", "Discovery" },
		{ "dns", "DNS" }, { "network", "Network (TCP)" },
		{ "greeting", "Greeting" }, { "ehlo", "EHLO" },
		{ "tls", "TLS" }, { "auth", "Authentication" },
		{ "envelope", "Envelope" }, { "content", "Message" },
		{ "domain", "Domain" }, { "reputation", "Reputation" },
	};
	for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++)
		if (strcmp(titles[i].k, s) == 0)
			return titles[i].t;
	return s;
}

static const char *col(int color, const char *c)
{
	return color ? c : "";
}

/* Every string of a report goes out through here: a fact or a summary may
 * quote a server, and a saved report given to explain may hold anything,
 * so each is written on one line with its controls escaped (a line of
 * ours cannot be forged). */
static void put(FILE *out, const char *s)
{
	if (!s)
		return;
	char *e = sd_sanitize(s, strlen(s), strlen(s));
	fputs(e ? e : "?", out);
	free(e);
}

static void fact_line(FILE *out, json_t *f, int color)
{
	const char *detail = json_string_value(json_object_get(f, "detail"));
	const char *id = json_string_value(json_object_get(f, "id"));
	json_t *ok = json_object_get(f, "ok");
	const char *mark = "-", *c = "";
	if (json_is_true(ok)) {
		mark = "ok";
		c = C_GREEN;
	} else if (json_is_false(ok)) {
		mark = "!!";
		c = C_RED;
	}
	fprintf(out, "  %s%-2s%s ", col(color, c), mark, col(color, C_RESET));
	const char *role = json_string_value(json_object_get(f, "role"));
	if (role && strcmp(role, "fix") == 0)
		fprintf(out, "(the way around, port %lld) ",
		    (long long)json_integer_value(json_object_get(f, "port")));
	put(out, detail ? detail : id);
	json_t *ms = json_object_get(f, "took_ms");
	if (json_is_integer(ms))
		fprintf(out, " %s(%lld ms)%s", col(color, C_DIM),
		    (long long)json_integer_value(ms), col(color, C_RESET));
	fputc('\n', out);
}

static void print_list(FILE *out, json_t *arr, const char *prefix)
{
	size_t i;
	json_t *s;
	json_array_foreach(arr, i, s)
		if (json_is_string(s)) {
			fputs(prefix, out);
			put(out, json_string_value(s));
			fputc('\n', out);
		}
}

static const char *const roles[] = { "main", "fix", "alternative",
	"control", "control_nonsmtp", NULL };

/* The facts of one stage and one role (NULL: facts of no known role). */
static void print_facts(FILE *out, const sd_report *r, const char *stage,
    const char *role, int *header, int color, int verbose)
{
	size_t i;
	json_t *f;
	json_array_foreach(r->facts, i, f) {
		const char *st = json_string_value(json_object_get(f, "stage"));
		if (!st || strcmp(st, stage) != 0 ||
		    json_is_true(json_object_get(f, "quiet")))
			continue;
		const char *fr = json_string_value(json_object_get(f, "role"));
		int known = 0;
		for (size_t k = 0; roles[k]; k++)
			known |= fr && strcmp(fr, roles[k]) == 0;
		if (role ? !fr || strcmp(fr, role) != 0 : known)
			continue;
		/* a fact with no words for people is for -v and JSON; so are
		 * the other paths, summed up by info.ports and a control line */
		if (!verbose && (!json_object_get(f, "detail") || (fr &&
		    (strcmp(fr, "alternative") == 0 ||
		    strncmp(fr, "control", 7) == 0))))
			continue;
		if (!*header) {
			fprintf(out, "%s%s%s\n", col(color, C_BOLD),
			    stage_title(stage), col(color, C_RESET));
			*header = 1;
		}
		fact_line(out, f, color);
	}
}

/* The conversation on the configured path (and the way around). */
static void print_transcript(FILE *out, const sd_report *r, int color)
{
	const char *main_conn = NULL;
	size_t i;
	json_t *f;
	json_array_foreach(r->facts, i, f) {
		const char *role = json_string_value(json_object_get(f, "role"));
		const char *id = json_string_value(json_object_get(f, "id"));
		if (role && id && strcmp(role, "main") == 0 &&
		    strncmp(id, "tcp.", 4) == 0)
			main_conn = id;
	}
	int header = 0;
	json_t *t;
	json_array_foreach(r->transcript, i, t) {
		const char *conn = json_string_value(json_object_get(t, "conn"));
		if (!conn || !main_conn || strcmp(conn, main_conn) != 0)
			continue;
		if (!header) {
			fprintf(out, "%sTranscript (", col(color, C_BOLD));
			put(out, main_conn);
			fprintf(out, ")%s\n", col(color, C_RESET));
			header = 1;
		}
		const char *dir = json_string_value(json_object_get(t, "dir"));
		const char *line = json_string_value(json_object_get(t, "line"));
		if (!dir)
			dir = "I";
		/* the arrow marks the peer's lines as quoted */
		fprintf(out, "  %6lld %s ",
		    (long long)json_integer_value(json_object_get(t, "t_ms")),
		    strcmp(dir, "C") == 0 ? "->" : strcmp(dir, "S") == 0 ? "<-" :
		    "  ");
		put(out, line);
		fputc('\n', out);
	}
	if (header)
		fputc('\n', out);
}

/* One line for the control hosts (their facts are for -v). */
static void print_controls(FILE *out, const sd_report *r, int header)
{
	int smtp = 0, smtp_ok = 0, web = 0, web_ok = 0;
	size_t i;
	json_t *f;
	json_array_foreach(r->facts, i, f) {
		const char *id = json_string_value(json_object_get(f, "id"));
		const char *role = json_string_value(json_object_get(f, "role"));
		if (!id || !role || strncmp(id, "tcp.", 4) != 0)
			continue;
		int ok = json_is_true(json_object_get(f, "ok"));
		const char *res = json_string_value(json_object_get(f, "result"));
		if (res && strcmp(res, "cancelled") == 0)
			continue;  /* cut short after the path worked */
		if (strcmp(role, "control") == 0) {
			smtp++;
			smtp_ok += ok;
		} else if (strcmp(role, "control_nonsmtp") == 0) {
			web++;
			web_ok += ok;
		}
	}
	if (!smtp)
		return;  /* no control hosts: the server's own 443 is a detail */
	if (!header)
		fprintf(out, "Network (TCP)\n");
	fprintf(out, "  -  controls: %d of %d mail ports of independent hosts and "
	    "%d of %d web ports connected (-v for each)\n", smtp_ok, smtp,
	    web_ok, web);
}

/* A member's string, or "" (a saved report given to explain may lack it). */
static const char *jstr(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

void sd_report_write_text(const sd_report *r, FILE *out, int flags)
{
	int color = flags & SD_TEXT_COLOR;
	if (r->error) {
		fputs("smtpdoctor: ", out);
		put(out, json_string_value(json_object_get(r->error, "message")));
		fputc('\n', out);
		return;
	}
	for (size_t s = 0; stages[s]; s++) {
		int header = 0;
		/* the configured path first, then the others */
		for (size_t ro = 0; ro < sizeof roles / sizeof roles[0]; ro++)
			print_facts(out, r, stages[s], roles[ro], &header, color,
			    flags & SD_TEXT_VERBOSE);
		if (strcmp(stages[s], "network") == 0 &&
		    !(flags & SD_TEXT_VERBOSE))
			print_controls(out, r, header);
		if (header)
			fputc('\n', out);
	}

	if (flags & SD_TEXT_VERBOSE)
		print_transcript(out, r, color);

	json_t *spf = json_object_get(r->extra, "spf");
	if (spf) {
		fprintf(out, "%sSPF evaluation%s\n", col(color, C_BOLD),
		    col(color, C_RESET));
		print_list(out, json_object_get(spf, "trace"), "  ");
		fprintf(out, "  %lld of 10 DNS lookups, %lld of 2 void lookups\n",
		    (long long)json_integer_value(json_object_get(spf, "lookups")),
		    (long long)json_integer_value(json_object_get(spf,
		        "void_lookups")));
		const char *exp = json_string_value(json_object_get(spf,
		    "explanation"));
		if (exp) {
			fputs("  explanation: ", out);
			put(out, exp);
			fputc('\n', out);
		}
		fputc('\n', out);
	}

	size_t i;
	json_t *f;
	int header = 0;
	/* errors first, then warnings, then the rest */
	static const char *const order[] = { "error", "warning", "info", NULL };
	for (size_t o = 0; order[o]; o++)
	json_array_foreach(r->findings, i, f) {
		const char *sev = json_string_value(json_object_get(f, "severity"));
		const char *code = json_string_value(json_object_get(f, "code"));
		if (!sev || !code || strcmp(sev, order[o]) != 0)
			continue;
		/* a check's passing details are for -v (a domain audit lists
		 * what passed: that is its point) */
		if (!(flags & SD_TEXT_VERBOSE) && strcmp(sev, "info") == 0 &&
		    strcmp(r->command, "check") == 0 &&
		    strcmp(code, "info.ports") != 0 &&
		    strcmp(code, "info.auth_not_tried") != 0)
			continue;
		const char *c = strcmp(sev, "error") == 0 ? C_RED :
		    strcmp(sev, "warning") == 0 ? C_YELLOW : C_DIM;
		if (!header) {
			fprintf(out, "%sFindings%s\n", col(color, C_BOLD),
			    col(color, C_RESET));
			header = 1;
		}
		const char *subject = jstr(f, "subject");
		fprintf(out, "  %s%-7s%s ", col(color, c), sev,
		    col(color, C_RESET));
		put(out, jstr(f, "code"));
		if (*subject) {
			fputs(" [", out);
			put(out, subject);
			fputc(']', out);
		}
		fputs(": ", out);
		put(out, jstr(f, "summary"));
		fputc('\n', out);
	}
	if (header)
		fputc('\n', out);

	json_t *v = r->verdict;
	const char *status = v ?
	    jstr(v, "status") : "inconclusive";
	const char *c = strcmp(status, "ok") == 0 ? C_GREEN :
	    strcmp(status, "warn") == 0 ? C_YELLOW :
	    strcmp(status, "fail") == 0 ? C_RED : C_YELLOW;
	fprintf(out, "%sVerdict: %s", col(color, C_BOLD), col(color, c));
	put(out, status);
	fprintf(out, "%s (", col(color, C_RESET));
	put(out, v ? jstr(v, "cause") : "inconclusive");
	fputs(")\n", out);
	if (v) {
		fputs("  ", out);
		put(out, jstr(v, "summary"));
		fputc('\n', out);
		json_t *fix = json_object_get(v, "fix");
		if (json_array_size(fix)) {
			fprintf(out, "%sFix%s\n", col(color, C_BOLD),
			    col(color, C_RESET));
			print_list(out, fix, "  - ");
		}
	}
}
