/*
 * `smtpdoctor explain [FILE|-]`: judges a saved --json report again.
 * The rules read facts and nothing else, so a report a user sends to the
 * help desk can be re-diagnosed offline, with this version's rules and in
 * words, without touching the network.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "report/facts.h"
#include "report/report.h"
#include "rules/rules.h"
#include "util/util.h"

/* A saved report bigger than this is not one of ours. */
#define EXPLAIN_MAX_BYTES (64u << 20)

/* "2026-12-06T16:30:44Z" and nothing else: it is shown in the header */
static int rfc3339_utc(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	if (!s || strlen(s) != sizeof shape - 1)
		return 0;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') :
		    s[i] != shape[i])
			return 0;
	return 1;
}

/* A fact of a saved report; one that does not fit the schema is left out
 * with a warning, so the rules never read a member of the wrong type. */
static void add_saved_fact(sd_report *r, const json_t *saved)
{
	char why[400];
	if (sd_fact_add_saved(r, saved, why, sizeof why) == 0)
		return;
	char *shown = sd_sanitize(why, strlen(why), sizeof why);
	fprintf(stderr, "smtpdoctor: explain: a saved fact is left out: %s\n",
	    shown ? shown : "?");
	free(shown);
}

int sd_cmd_explain(sd_cli *cli)
{
	if (cli->n_positional > 1)
		return sd_cli_usage_error(cli, "explain takes one FILE (or -)");
	const char *path = cli->n_positional ? cli->positional[0] : "-";
	size_t len = 0;
	char *text = sd_cli_read(path, EXPLAIN_MAX_BYTES, &len);
	if (!text)
		return sd_cli_usage_error(cli, "%s: %s", path, strerror(errno));
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, 0, &jerr);
	free(text);
	const char *schema = json_string_value(json_object_get(doc, "schema"));
	const char *command = json_string_value(json_object_get(doc, "command"));
	json_t *facts = json_object_get(doc, "facts");
	if (!doc || !schema || strcmp(schema, SD_SCHEMA) != 0 || !command ||
	    !json_is_array(facts)) {
		json_decref(doc);
		return sd_cli_usage_error(cli, "%s: not a smtpdoctor report (%s)",
		    path, doc ? "no smtpdoctor/1 schema, command or facts" :
		    jerr.text);
	}
	if (strcmp(command, "check") != 0 && strcmp(command, "domain") != 0 &&
	    strcmp(command, "spf") != 0 && strcmp(command, "bounce") != 0) {
		json_decref(doc);
		return sd_cli_usage_error(cli, "%s: explain judges check, domain, "
		    "spf and bounce reports, not %s", path, command);
	}
	sd_report *r = sd_report_new(command);
	if (!r) {
		json_decref(doc);
		return sd_cli_render(cli, NULL);
	}
	size_t i;
	json_t *x;
	json_array_foreach(facts, i, x)
		add_saved_fact(r, x);
	json_t *cfg = json_object_get(doc, "config");
	/* reports of smtpdoctor 0.1 before its release kept it as a fact */
	if (!json_is_object(cfg))
		cfg = sd_fact_get(facts, "config");
	if (json_is_object(cfg))
		sd_report_set_extra(r, "config", json_deep_copy(cfg));
	json_t *spf = json_object_get(doc, "spf");
	if (json_is_object(spf))
		sd_report_set_extra(r, "spf", json_deep_copy(spf));
	json_t *tr = json_object_get(doc, "transcript");
	if (json_is_array(tr))
		json_array_extend(r->transcript, tr);
	/* the time of the run judged, not of this reading */
	json_t *at = json_object_get(doc, "started_at");
	if (rfc3339_utc(json_string_value(at)))
		sd_report_set_extra(r, "started_at", json_copy(at));
	json_t *el = json_object_get(doc, "elapsed_ms");
	r->elapsed_ms = json_is_integer(el) ? (int64_t)json_integer_value(el) : 0;
	sd_rules_judge(r);
	json_decref(doc);
	int rc = sd_cli_render(cli, r);
	sd_report_free(r);
	return rc;
}
