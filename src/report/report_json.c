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
		json_error_t jerr;
		char started[40];
		sd_report_started_at(r, started, sizeof started);
		doc = json_pack_ex(&jerr, 0,
		    "{s:s, s:s, s:s, s:s, s:o, s:O, s:O, s:O, s:I}",
		    "schema", SD_SCHEMA, "version", sd_version(), "command",
		    r->command, "started_at", started, "verdict", verdict, "findings", r->findings,
		    "facts", r->facts, "transcript", r->transcript,
		    "elapsed_ms", (json_int_t)r->elapsed_ms);
		if (!doc)
			fprintf(stderr, "smtpdoctor: JSON report: %s\n", jerr.text);
		const char *key;
		json_t *v;
		json_object_foreach(r->extra, key, v)
			json_object_set(doc, key, v);
	}
	return doc;
}


char *sd_report_to_json(const sd_report *r)
{
	json_t *doc = sd_report_json_doc(r);
	if (!doc)
		return NULL;
	/* facts may hold bytes from the network: jansson refuses invalid
	 * UTF-8 at creation, so what is here is valid */
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_ENSURE_ASCII);
	if (!s)
		fprintf(stderr, "smtpdoctor: could not render the JSON report\n");
	json_decref(doc);
	return s;
}
