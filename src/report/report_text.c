/*
 * The text renderer: what a person reads on a terminal or pastes into a
 * mail.  A header (what was tested, when, against which hosts), the
 * verdict first with its fix, then each stage, then the findings.  What
 * is shown and in which order is the view's (report_view.c); this file
 * only formats it.
 */
#include <string.h>

#include "report/report.h"
#include "report/report_view.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_DIM "\033[2m"

/* A string member, "" when absent. */
#define jstr(o, key) sd_jstr((o), (key), "")

typedef struct out {
	FILE *fp;
	int color;
} out;

static const char *col(const out *o, const char *c)
{
	return o->color ? c : "";
}

static void title(const out *o, const char *t)
{
	fprintf(o->fp, "%s%s%s\n", col(o, C_BOLD), t, col(o, C_RESET));
}

static void header(const out *o, const json_t *h)
{
	long long ms = json_integer_value(json_object_get(h, "elapsed_ms"));
	fprintf(o->fp, "%s, %s, %s, %lld.%lld s\n", jstr(h, "tool"),
	    jstr(h, "command"), jstr(h, "started_at"), ms / 1000,
	    ms % 1000 / 100);
	if (*jstr(h, "subject"))
		fprintf(o->fp, "Checked: %s\n", jstr(h, "subject"));
	if (!*jstr(h, "settings"))
		return;
	fprintf(o->fp, "Settings tested: %s\n  (%s)\n", jstr(h, "settings"),
	    jstr(h, "source"));
	const json_t *c = json_object_get(h, "controls");
	fprintf(o->fp, "Independent hosts contacted: ");
	size_t i;
	json_t *x;
	json_array_foreach(c, i, x)
		fprintf(o->fp, "%s%s", i ? ", " : "", json_string_value(x));
	if (json_array_size(c))
		fprintf(o->fp, "\n  (%s)\n", jstr(h, "controls_note"));
	else
		fprintf(o->fp, "%s\n", jstr(h, "controls_note"));
}

static void verdict(const out *o, const json_t *v)
{
	const char *st = jstr(v, "status");
	const char *c = strcmp(st, "ok") == 0 ? C_GREEN : strcmp(st, "fail") == 0 ?
	    C_RED : C_YELLOW;
	fprintf(o->fp, "%s%s%s%s: %s\n", col(o, C_BOLD), col(o, c),
	    jstr(v, "headline"), col(o, C_RESET), jstr(v, "summary"));
	if (strcmp(st, "ok") != 0)
		fprintf(o->fp, "  Cause: %s (%s)\n", *jstr(v, "cause_words") ?
		    jstr(v, "cause_words") : "see above", jstr(v, "cause"));
	const json_t *fix = json_object_get(v, "fix");
	if (json_array_size(fix)) {
		fprintf(o->fp, "  %s:\n", jstr(v, "fix_title"));
		size_t i;
		json_t *s;
		json_array_foreach(fix, i, s)
			fprintf(o->fp, "    - %s\n", json_string_value(s));
	}
}

static void line(const out *o, const json_t *l)
{
	const char *m = jstr(l, "mark");
	const char *mark = strcmp(m, "ok") == 0 ? "ok" : strcmp(m, "fail") == 0 ?
	    "!!" : "- ";
	const char *c = strcmp(m, "ok") == 0 ? C_GREEN : strcmp(m, "fail") == 0 ?
	    C_RED : "";
	fprintf(o->fp, "  %s%s%s %s\n", col(o, c), mark, col(o, C_RESET),
	    jstr(l, "text"));
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(l, "detail"), i, d)
		fprintf(o->fp, "       %s\n", json_string_value(d));
}

static void sections(const out *o, const json_t *view)
{
	size_t i, k;
	json_t *s, *l;
	json_array_foreach(json_object_get(view, "sections"), i, s) {
		title(o, jstr(s, "title"));
		json_array_foreach(json_object_get(s, "lines"), k, l)
			line(o, l);
		fputc('\n', o->fp);
	}
	const json_t *trace = json_object_get(view, "spf_trace");
	if (trace) {
		title(o, "SPF evaluation");
		json_array_foreach(trace, k, l)
			fprintf(o->fp, "  %s\n", json_string_value(l));
		fputc('\n', o->fp);
	}
}

static void findings(const out *o, const json_t *view)
{
	const json_t *fs = json_object_get(view, "findings");
	if (!json_array_size(fs))
		return;
	title(o, "Findings");
	size_t i;
	json_t *f;
	json_array_foreach(fs, i, f) {
		const char *sev = jstr(f, "severity");
		const char *c = strcmp(sev, "error") == 0 ? C_RED :
		    strcmp(sev, "warning") == 0 ? C_YELLOW : C_DIM;
		fprintf(o->fp, "  %s%-7s%s %s%s%s%s: %s\n", col(o, c), sev,
		    col(o, C_RESET), jstr(f, "code"), *jstr(f, "subject") ?
		    " [" : "", jstr(f, "subject"), *jstr(f, "subject") ? "]" : "",
		    jstr(f, "summary"));
	}
	fputc('\n', o->fp);
}

static void transcript(const out *o, const json_t *view)
{
	const json_t *t = json_object_get(view, "transcript");
	const json_t *lines = json_object_get(t, "lines");
	if (!json_array_size(lines))
		return;
	fprintf(o->fp, "%sSMTP conversation (%s)%s\n", col(o, C_BOLD),
	    jstr(t, "conn"), col(o, C_RESET));
	size_t i;
	json_t *l;
	json_array_foreach(lines, i, l) {
		const char *dir = jstr(l, "dir");
		fprintf(o->fp, "  %6lld %s %s\n", (long long)json_integer_value(
		    json_object_get(l, "t_ms")), strcmp(dir, "C") == 0 ? "->" :
		    strcmp(dir, "S") == 0 ? "<-" : "  ", jstr(l, "line"));
	}
	fputc('\n', o->fp);
}

/* What the run's text budget cut (SD_RUN_TEXT_BUDGET), said once. */
static void truncated(out *o, const json_t *t)
{
	if (!t)
		return;
	json_int_t lines = json_integer_value(json_object_get(t,
	    "transcript_lines"));
	json_int_t facts = json_integer_value(json_object_get(t, "facts"));
	char what[120];
	snprintf(what, sizeof what, facts ? "%lld transcript line%s and "
	    "the reply text of %lld fact%s" : "%lld transcript line%s",
	    (long long)lines, lines == 1 ? "" : "s", (long long)facts,
	    facts == 1 ? "" : "s");
	fprintf(o->fp, "Note: the servers sent more text than one run keeps "
	    "(%lld KiB): %s were cut from this report (\"truncated\" in "
	    "--json).\n\n", (long long)json_integer_value(json_object_get(t,
	    "budget_bytes")) / 1024, what);
}

void sd_report_write_text(const sd_report *r, FILE *fp, int flags)
{
	out o = { fp, flags & SD_TEXT_COLOR };
	int verbose = (flags & SD_TEXT_VERBOSE) != 0;
	json_t *view = sd_report_view(r, verbose);
	if (!view) {
		fprintf(fp, "smtpdoctor: out of memory\n");
		return;
	}
	if (r->error) {
		fprintf(fp, "smtpdoctor: %s\n", jstr(view, "error"));
		json_decref(view);
		return;
	}
	header(&o, json_object_get(view, "header"));
	fputc('\n', fp);
	verdict(&o, json_object_get(view, "verdict"));
	fputc('\n', fp);
	sections(&o, view);
	findings(&o, view);
	truncated(&o, json_object_get(r->extra, "truncated"));
	if (verbose)
		transcript(&o, view);
	json_decref(view);
}
