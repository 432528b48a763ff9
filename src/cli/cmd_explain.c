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
#include "report/report.h"
#include "rules/rules.h"

/* A saved report bigger than this is not one of ours. */
#define EXPLAIN_MAX_BYTES (64u << 20)

static char *slurp(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
		if (n == cap) {
			if (cap >= EXPLAIN_MAX_BYTES) {
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			char *more = realloc(buf, cap * 2);
			if (!more) {
				free(buf);
				return NULL;
			}
			buf = more;
			cap *= 2;
		}
	}
	*len = n;
	return buf;
}

int sd_cmd_explain(sd_cli *cli)
{
	if (cli->n_positional > 1)
		return sd_cli_usage_error(cli, "explain takes one FILE (or -)");
	const char *path = cli->n_positional ? cli->positional[0] : "-";
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return sd_cli_usage_error(cli, "%s: %s", path, strerror(errno));
	size_t len = 0;
	char *text = slurp(f, &len);
	if (f != stdin)
		fclose(f);
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
	    strcmp(command, "spf") != 0) {
		json_decref(doc);
		return sd_cli_usage_error(cli, "%s: explain judges check, domain "
		    "and spf reports, not %s", path, command);
	}
	sd_report *r = sd_report_new(command);
	if (!r) {
		json_decref(doc);
		return sd_cli_render(cli, NULL);
	}
	size_t i;
	json_t *x;
	/* the facts as they were recorded (a malformed one is dropped) */
	json_array_foreach(facts, i, x)
		if (json_is_object(x))
			sd_fact_add(r, json_deep_copy(x));
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
	json_t *el = json_object_get(doc, "elapsed_ms");
	r->elapsed_ms = json_is_integer(el) ? (int64_t)json_integer_value(el) : 0;
	sd_rules_judge(r);
	json_decref(doc);
	int rc = sd_cli_render(cli, r);
	sd_report_free(r);
	return rc;
}
