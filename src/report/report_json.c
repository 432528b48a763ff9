/* The JSON renderer (docs/json.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

json_t *sd_report_json_doc(const sd_report *r)
{
	json_t *doc;
	if (r->error) {
		doc = json_pack("{s:s, s:O}", "schema", SD_SCHEMA, "error",
		    r->error);
	} else {
		json_t *verdict = r->verdict ? json_incref(r->verdict) :
		    json_pack("{s:s, s:s, s:n, s:s, s:[], s:[]}", "status",
		        "inconclusive", "cause", "inconclusive", "category",
		        "summary", "no verdict was reached", "fix", "evidence");
		char started[40];
		sd_report_started_at(r, started, sizeof started);
		/* member by member: json_pack would read its format string
		 * for every line of a batch (a tenth of making the document);
		 * each value is taken, or released when it cannot be */
		doc = json_object();
		int bad = json_object_set_new(doc, "schema",
		    json_string(SD_SCHEMA));
		bad |= json_object_set_new(doc, "version",
		    json_string(sd_version()));
		bad |= json_object_set_new(doc, "command",
		    json_string(r->command));
		bad |= json_object_set_new(doc, "started_at",
		    json_string(started));
		bad |= json_object_set_new(doc, "verdict", verdict);
		bad |= json_object_set(doc, "findings", r->findings);
		bad |= json_object_set(doc, "facts", r->facts);
		bad |= json_object_set(doc, "transcript", r->transcript);
		bad |= json_object_set_new(doc, "elapsed_ms",
		    json_integer((json_int_t)r->elapsed_ms));
		if (bad) {
			json_decref(doc);
			fprintf(stderr, "smtpdoctor: JSON report: out of "
			    "memory\n");
			return NULL;
		}
		const char *key;
		json_t *v;
		json_object_foreach(r->extra, key, v)
			json_object_set(doc, key, v);
	}
	return doc;
}

/* What the document is first written into: a one-shot report (an spf
 * with a dozen DNS answers, a check's conversation) fits; a bigger one is
 * written again, into a buffer of the size jansson said it needs. */
#define JSON_FIRST_BUF (16u << 10)

/* The document as text (NUL-terminated), written by jansson into one
 * buffer: json_dumps would grow its own from 16 bytes, doubling, and copy
 * the result out at the end (one spf, 2 DNS answers: 16 thousand
 * instructions more; 10 answers: 54 thousand).  NULL on failure. */
static char *dump_doc(const json_t *doc, size_t flags)
{
	size_t cap = JSON_FIRST_BUF;
	for (int pass = 0; pass < 2; pass++) {
		char *s = malloc(cap + 1);
		if (!s)
			return NULL;
		size_t n = json_dumpb(doc, s, cap, flags);
		if (n && n <= cap) {
			s[n] = '\0';
			return s;
		}
		free(s);
		if (!n)
			return NULL;
		cap = n;
	}
	return NULL;
}

char *sd_report_to_json(const sd_report *r)
{
	json_t *doc = sd_report_json_doc(r);
	if (!doc)
		return NULL;
	/* facts may hold bytes from the network: jansson refuses invalid
	 * UTF-8 at creation, so what is here is valid */
	char *s = dump_doc(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_ENSURE_ASCII);
	if (!s)
		fprintf(stderr, "smtpdoctor: could not render the JSON report\n");
	json_decref(doc);
	return s;
}
