/*
 * The HTML renderer: one self-contained page (no script, no image, no
 * font, nothing fetched) that draws the path -- this machine, the network
 * with the independent hosts, the server, each stage of the session, the
 * failing hop marked and the working alternative beside it -- then the
 * stages, with the findings and the SMTP conversation folded.
 *
 * Its Content-Security-Policy is default-src 'none'; the one style sheet
 * is allowed by its own SHA-256, so that even text that escaped escaping
 * could load nothing.  Every string of the view is HTML-escaped.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "report/report_view.h"
#include "util/util.h"

static const char style[] =
"body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;"
"padding:0 1em;color:#1b1b1b}"
"h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}"
"code,pre{font:13px/1.4 ui-monospace,monospace}"
"pre{background:#f4f4f4;padding:.6em;overflow-x:auto;white-space:pre-wrap}"
".verdict{border-left:6px solid #888;padding:.4em 1em;background:#f7f7f7}"
".verdict.ok{border-color:#2a7d2a}.verdict.warn{border-color:#b8860b}"
".verdict.fail{border-color:#c0392b}.verdict.inconclusive{border-color:#b8860b}"
".headline{font-weight:bold;font-size:1.2em}"
".row{display:flex;flex-wrap:wrap;align-items:stretch;gap:.3em;margin:.5em 0}"
".row .label{flex-basis:100%;font-weight:bold;margin-top:.6em}"
".hop{border:2px solid #999;border-radius:6px;padding:.3em .6em;"
"min-width:6em;max-width:16em;font-size:.85em;overflow-wrap:anywhere}"
".hop b{display:block}.hop.ok{border-color:#2a7d2a;background:#eef8ee}"
".hop.fail{border-color:#c0392b;background:#fdecea}"
".hop.failing{border-width:4px;box-shadow:0 0 0 3px #f5b7b1}"
".hop.end{background:#eef2fb;border-color:#5b7bd5}"
".arrow{align-self:center;color:#777}"
".alt .hop.ok{border-style:dashed}"
"ul.lines{list-style:none;padding-left:0}ul.lines li{margin:.15em 0}"
".m{display:inline-block;width:2.2em;font-weight:bold}"
".m.ok{color:#2a7d2a}.m.fail{color:#c0392b}.m.info{color:#777}"
"ul.detail{list-style:none;padding-left:3em;color:#444;font-size:.92em}"
"dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}"
"dt{font-weight:bold}dd{margin:0}"
".sev-error{color:#c0392b}.sev-warning{color:#b8860b}.sev-info{color:#777}";

/* A string member, "" when absent. */
#define jstr(o, key) sd_jstr((o), (key), "")

/* Text into HTML: the five characters that are markup, and nothing else
 * (the view has already escaped controls and bidi overrides). */
static void h(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*s, out);
		}
	}
}

/* 'sha256-...' of the style sheet, for the Content-Security-Policy. */
static char *style_hash(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (!EVP_Digest(style, strlen(style), md, &len, EVP_sha256(), NULL))
		return NULL;
	return sd_base64_encode(md, len);
}

static void head(FILE *out, const json_t *view)
{
	char *hash = style_hash();
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
	    "charset=\"utf-8\">\n", out);
	fprintf(out, "<meta http-equiv=\"Content-Security-Policy\" "
	    "content=\"default-src 'none'; style-src 'sha256-%s'; "
	    "img-src 'none'; form-action 'none'; base-uri 'none'\">\n",
	    hash ? hash : "");
	free(hash);
	fputs("<meta name=\"referrer\" content=\"no-referrer\">\n<title>"
	    "smtpdoctor: ", out);
	const json_t *v = json_object_get(view, "verdict");
	h(out, jstr(v, "headline"));
	fputs(" - ", out);
	h(out, jstr(v, "cause"));
	fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n", style);
}

static void header(FILE *out, const json_t *hd)
{
	fputs("<h1>smtpdoctor report</h1>\n<dl id=\"header\">\n<dt>Tool</dt>"
	    "<dd>", out);
	h(out, jstr(hd, "tool"));
	fputs(", ", out);
	h(out, jstr(hd, "command"));
	fputs("</dd>\n<dt>Started (UTC)</dt><dd>", out);
	h(out, jstr(hd, "started_at"));
	fprintf(out, ", took %lld ms</dd>\n", (long long)json_integer_value(
	    json_object_get(hd, "elapsed_ms")));
	if (*jstr(hd, "subject")) {
		fputs("<dt>Checked</dt><dd>", out);
		h(out, jstr(hd, "subject"));
		fputs("</dd>\n", out);
	}
	if (*jstr(hd, "settings")) {
		fputs("<dt>Settings tested</dt><dd id=\"settings\">", out);
		h(out, jstr(hd, "settings"));
		fputs(" <small>(", out);
		h(out, jstr(hd, "source"));
		fputs(")</small></dd>\n<dt>Independent hosts</dt><dd>", out);
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(hd, "controls"), i, c) {
			fputs(i ? ", <code>" : "<code>", out);
			h(out, json_string_value(c));
			fputs("</code>", out);
		}
		fputs(json_array_size(json_object_get(hd, "controls")) ?
		    "<br><small>" : "<small>", out);
		h(out, jstr(hd, "controls_note"));
		fputs("</small></dd>\n", out);
	}
	fputs("</dl>\n", out);
}

static void verdict(FILE *out, const json_t *v)
{
	fputs("<section id=\"verdict\" class=\"verdict ", out);
	h(out, jstr(v, "status"));
	fputs("\" data-cause=\"", out);
	h(out, jstr(v, "cause"));
	fputs("\">\n<p class=\"headline\">", out);
	h(out, jstr(v, "headline"));
	fputs(": <span id=\"summary\">", out);
	h(out, jstr(v, "summary"));
	fputs("</span></p>\n", out);
	if (strcmp(jstr(v, "status"), "ok") != 0) {
		fputs("<p>Cause: ", out);
		h(out, *jstr(v, "cause_words") ? jstr(v, "cause_words") :
		    "see above");
		fputs(" (<code>", out);
		h(out, jstr(v, "cause"));
		fputs("</code>)</p>\n", out);
	}
	const json_t *fix = json_object_get(v, "fix");
	if (json_array_size(fix)) {
		fputs("<p><b>", out);
		h(out, jstr(v, "fix_title"));
		fputs(":</b></p>\n<ul id=\"fix\">\n", out);
		size_t i;
		json_t *s;
		json_array_foreach(fix, i, s) {
			fputs("<li>", out);
			h(out, json_string_value(s));
			fputs("</li>\n", out);
		}
		fputs("</ul>\n", out);
	}
	fputs("</section>\n", out);
}

static void hop(FILE *out, const char *cls, const char *title,
    const char *text, const char *stage)
{
	fprintf(out, "<div class=\"hop %s\"", cls);
	if (stage)
		fprintf(out, " data-stage=\"%s\"", stage);
	fputs("><b>", out);
	h(out, title);
	fputs("</b>", out);
	h(out, text);
	fputs("</div><span class=\"arrow\">&rarr;</span>\n", out);
}

/* The path drawn: a row per session (the configured one, then the
 * working alternative beside it), from this machine to the server. */
static void path(FILE *out, const json_t *p)
{
	if (!p)
		return;
	fputs("<h2>The path</h2>\n<div id=\"path\">\n", out);
	size_t i, k;
	json_t *row, *st;
	json_array_foreach(json_object_get(p, "rows"), i, row) {
		int alt = strcmp(jstr(row, "role"), "fix") == 0;
		fprintf(out, "<div class=\"row%s\" data-role=\"%s\">\n"
		    "<div class=\"label\">", alt ? " alt" : "",
		    alt ? "alternative" : "configured");
		h(out, jstr(row, "label"));
		fputs("</div>\n", out);
		hop(out, "end", "This machine", "", NULL);
		if (i == 0)
			hop(out, "", "Network, independent hosts",
			    jstr(p, "controls"), NULL);
		json_array_foreach(json_object_get(row, "stages"), k, st) {
			char cls[32];
			snprintf(cls, sizeof cls, "%s%s", jstr(st, "mark"),
			    json_is_true(json_object_get(st, "failing")) ?
			    " failing" : "");
			hop(out, cls, jstr(st, "title"), jstr(st, "text"),
			    jstr(st, "stage"));
		}
		fputs("<div class=\"hop end\"><b>Server</b>", out);
		h(out, jstr(row, "server"));
		fputs("</div>\n</div>\n", out);
	}
	fputs("</div>\n", out);
}

static void lines(FILE *out, const json_t *ls)
{
	fputs("<ul class=\"lines\">\n", out);
	size_t k, d;
	json_t *l, *x;
	json_array_foreach(ls, k, l) {
		const char *m = jstr(l, "mark");
		fprintf(out, "<li><span class=\"m %s\">%s</span>", m,
		    strcmp(m, "ok") == 0 ? "ok" : strcmp(m, "fail") == 0 ?
		    "!!" : "-");
		h(out, jstr(l, "text"));
		const json_t *detail = json_object_get(l, "detail");
		if (json_array_size(detail)) {
			fputs("<ul class=\"detail\">", out);
			json_array_foreach(detail, d, x) {
				fputs("<li>", out);
				h(out, json_string_value(x));
				fputs("</li>", out);
			}
			fputs("</ul>", out);
		}
		fputs("</li>\n", out);
	}
	fputs("</ul>\n", out);
}

static void findings(FILE *out, const json_t *fs)
{
	if (!json_array_size(fs))
		return;
	fprintf(out, "<details id=\"findings\"><summary>Findings (%zu)"
	    "</summary>\n<ul class=\"lines\">\n", json_array_size(fs));
	size_t i;
	json_t *f;
	json_array_foreach(fs, i, f) {
		fputs("<li><span class=\"sev-", out);
		h(out, jstr(f, "severity"));
		fputs("\">", out);
		h(out, jstr(f, "severity"));
		fputs("</span> <code>", out);
		h(out, jstr(f, "code"));
		fputs("</code> ", out);
		if (*jstr(f, "subject")) {
			fputs("[", out);
			h(out, jstr(f, "subject"));
			fputs("] ", out);
		}
		h(out, jstr(f, "summary"));
		fputs("</li>\n", out);
	}
	fputs("</ul>\n</details>\n", out);
}

static void transcript(FILE *out, const json_t *t)
{
	const json_t *ls = json_object_get(t, "lines");
	if (!json_array_size(ls))
		return;
	fputs("<details id=\"transcript\"><summary>SMTP conversation (", out);
	h(out, jstr(t, "conn"));
	fputs(")</summary>\n<pre>", out);
	size_t i;
	json_t *l;
	json_array_foreach(ls, i, l) {
		const char *dir = jstr(l, "dir");
		fprintf(out, "%6lld %s ", (long long)json_integer_value(
		    json_object_get(l, "t_ms")), strcmp(dir, "C") == 0 ?
		    "-&gt;" : strcmp(dir, "S") == 0 ? "&lt;-" : "  ");
		h(out, jstr(l, "line"));
		fputc('\n', out);
	}
	fputs("</pre>\n</details>\n", out);
}

void sd_report_write_html(const sd_report *r, FILE *out, int flags)
{
	json_t *view = sd_report_view(r, (flags & SD_TEXT_VERBOSE) != 0);
	if (!view)
		return;
	head(out, view);
	if (r->error) {
		fputs("<p id=\"error\">smtpdoctor: ", out);
		h(out, jstr(view, "error"));
		fputs("</p>\n</body>\n</html>\n", out);
		json_decref(view);
		return;
	}
	header(out, json_object_get(view, "header"));
	verdict(out, json_object_get(view, "verdict"));
	path(out, json_object_get(view, "path"));
	fputs("<h2>Stages</h2>\n", out);
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(view, "sections"), i, s) {
		fputs("<h3>", out);
		h(out, jstr(s, "title"));
		fputs("</h3>\n", out);
		lines(out, json_object_get(s, "lines"));
	}
	const json_t *trace = json_object_get(view, "spf_trace");
	if (trace) {
		fputs("<h3>SPF evaluation</h3>\n<pre>", out);
		json_array_foreach(trace, i, s) {
			h(out, json_string_value(s));
			fputc('\n', out);
		}
		fputs("</pre>\n", out);
	}
	findings(out, json_object_get(view, "findings"));
	transcript(out, json_object_get(view, "transcript"));
	fputs("</body>\n</html>\n", out);
	json_decref(view);
}
