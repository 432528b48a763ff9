/*
 * The Markdown renderer: a report to paste into a ticket.  Our own words
 * (titles, labels) are plain Markdown; every string of the view, which may
 * carry a server's banner, a record or a file name, sits inside a code
 * span or a fenced block longer than any run of backticks it holds, so
 * that a banner like "![](http://x/t)" shows as text and never renders as
 * an image or a link in a ticket system.
 */
#include <string.h>

#include "report/report.h"
#include "report/report_view.h"

/* A string member, "" when absent. */
#define jstr(o, key) sd_jstr((o), (key), "")

/* The longest run of backticks in s. */
static size_t backtick_run(const char *s)
{
	size_t best = 0, run = 0;
	for (; *s; s++) {
		run = *s == '`' ? run + 1 : 0;
		if (run > best)
			best = run;
	}
	return best;
}

static void ticks(FILE *out, size_t n)
{
	while (n--)
		fputc('`', out);
}

/* s as a code span: delimited by one backtick more than its longest run,
 * with a space inside each end when it starts or ends with a backtick
 * (CommonMark strips exactly one). */
static void code(FILE *out, const char *s)
{
	size_t n = backtick_run(s) + 1;
	size_t len = strlen(s);
	int pad = len && (s[0] == '`' || s[len - 1] == '`' || (s[0] == ' ' &&
	    s[len - 1] == ' '));
	if (!len) {
		fputs("(empty)", out);
		return;
	}
	ticks(out, n);
	fputs(pad ? " " : "", out);
	fputs(s, out);
	fputs(pad ? " " : "", out);
	ticks(out, n);
}

/* Lines as a fenced block whose fence is longer than any backtick run. */
static void fence_open(FILE *out, size_t longest)
{
	ticks(out, longest >= 3 ? longest + 1 : 3);
	fputs("text\n", out);
}

static void fence_close(FILE *out, size_t longest)
{
	ticks(out, longest >= 3 ? longest + 1 : 3);
	fputc('\n', out);
}

static void header(FILE *out, const json_t *h)
{
	fputs("- Tool: ", out);
	code(out, jstr(h, "tool"));
	fputs(", command ", out);
	code(out, jstr(h, "command"));
	fputs("\n- Started (UTC): ", out);
	code(out, jstr(h, "started_at"));
	fprintf(out, ", took %lld ms\n", (long long)json_integer_value(
	    json_object_get(h, "elapsed_ms")));
	if (*jstr(h, "subject")) {
		fputs("- Checked: ", out);
		code(out, jstr(h, "subject"));
		fputc('\n', out);
	}
	if (!*jstr(h, "settings"))
		return;
	fputs("- Settings tested: ", out);
	code(out, jstr(h, "settings"));
	fputs(" (", out);
	code(out, jstr(h, "source"));
	fputs(")\n- Independent hosts contacted: ", out);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(h, "controls"), i, c) {
		fputs(i ? ", " : "", out);
		code(out, json_string_value(c));
	}
	fprintf(out, "%s%s\n", json_array_size(json_object_get(h, "controls")) ?
	    " - " : "", jstr(h, "controls_note"));
}

static void verdict(FILE *out, const json_t *v)
{
	fprintf(out, "## Verdict: %s\n\n", jstr(v, "headline"));
	code(out, jstr(v, "summary"));
	fputs("\n\n", out);
	if (strcmp(jstr(v, "status"), "ok") != 0) {
		fputs("**Cause:** ", out);
		code(out, jstr(v, "cause"));
		fputs(" - ", out);
		code(out, *jstr(v, "cause_words") ? jstr(v, "cause_words") :
		    "see above");
		fputs("\n\n", out);
	}
	const json_t *fix = json_object_get(v, "fix");
	if (!json_array_size(fix))
		return;
	fprintf(out, "**%s:**\n\n", jstr(v, "fix_title"));
	size_t i;
	json_t *s;
	json_array_foreach(fix, i, s) {
		fputs("- ", out);
		code(out, json_string_value(s));
		fputc('\n', out);
	}
	fputc('\n', out);
}

static void sections(FILE *out, const json_t *view)
{
	size_t i, k, d;
	json_t *s, *l, *x;
	json_array_foreach(json_object_get(view, "sections"), i, s) {
		fprintf(out, "### %s\n\n", jstr(s, "title"));
		json_array_foreach(json_object_get(s, "lines"), k, l) {
			const char *m = jstr(l, "mark");
			fprintf(out, "- %s", strcmp(m, "ok") == 0 ? "ok " :
			    strcmp(m, "fail") == 0 ? "**FAILED** " : "");
			code(out, jstr(l, "text"));
			fputc('\n', out);
			json_array_foreach(json_object_get(l, "detail"), d, x) {
				fputs("  - ", out);
				code(out, json_string_value(x));
				fputc('\n', out);
			}
		}
		fputc('\n', out);
	}
}

/* Findings, the SPF trace and the conversation: fenced, one per line. */
static void block(FILE *out, const char *title, const json_t *lines,
    const char *key)
{
	if (!json_array_size(lines))
		return;
	size_t longest = 0, i;
	json_t *l;
	json_array_foreach(lines, i, l) {
		const char *s = key ? jstr(l, key) : json_string_value(l);
		size_t n = backtick_run(s ? s : "");
		if (n > longest)
			longest = n;
	}
	fprintf(out, "### %s\n\n", title);
	fence_open(out, longest);
	json_array_foreach(lines, i, l) {
		const char *s = key ? jstr(l, key) : json_string_value(l);
		fprintf(out, "%s\n", s ? s : "");
	}
	fence_close(out, longest);
	fputc('\n', out);
}

void sd_report_write_markdown(const sd_report *r, FILE *out, int flags)
{
	int verbose = (flags & SD_TEXT_VERBOSE) != 0;
	json_t *view = sd_report_view(r, verbose);
	if (!view)
		return;
	if (r->error) {
		fputs("smtpdoctor: ", out);
		code(out, jstr(view, "error"));
		fputc('\n', out);
		json_decref(view);
		return;
	}
	fputs("# smtpdoctor report\n\n", out);
	header(out, json_object_get(view, "header"));
	fputc('\n', out);
	verdict(out, json_object_get(view, "verdict"));
	sections(out, view);
	block(out, "SPF evaluation", json_object_get(view, "spf_trace"), NULL);
	/* findings and the conversation as lines of their own */
	json_t *lines = json_array();
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(view, "findings"), i, f) {
		char buf[2400];
		snprintf(buf, sizeof buf, "%-7s %s%s%s%s: %s", jstr(f, "severity"),
		    jstr(f, "code"), *jstr(f, "subject") ? " [" : "",
		    jstr(f, "subject"), *jstr(f, "subject") ? "]" : "",
		    jstr(f, "summary"));
		json_array_append_new(lines, json_string(buf));
	}
	block(out, "Findings", lines, NULL);
	json_array_clear(lines);
	json_array_foreach(json_object_get(json_object_get(view, "transcript"),
	    "lines"), i, f) {
		char buf[1200];
		const char *dir = jstr(f, "dir");
		snprintf(buf, sizeof buf, "%6lld %s %s", (long long)
		    json_integer_value(json_object_get(f, "t_ms")),
		    strcmp(dir, "C") == 0 ? "->" : strcmp(dir, "S") == 0 ? "<-" :
		    "  ", jstr(f, "line"));
		json_array_append_new(lines, json_string(buf));
	}
	block(out, "SMTP conversation", lines, NULL);
	json_decref(lines);
	json_decref(view);
}
