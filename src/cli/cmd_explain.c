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
#include "probe/check.h"
#include "report/report.h"
#include "rules/check_rules.h"
#include "rules/domain_rules.h"

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

/* The facts of one stage set, as a report of their own. */
static sd_report *subset(json_t *facts, const char *command)
{
	sd_report *dr = sd_report_new(command);
	size_t i;
	json_t *f;
	json_array_foreach(facts, i, f) {
		const char *st = json_string_value(json_object_get(f, "stage"));
		const char *id = json_string_value(json_object_get(f, "id"));
		if (!dr || !st || !id || strcmp(id, "sender_domain") == 0)
			continue;
		if (strcmp(st, "domain") == 0 || (strcmp(st, "reputation") == 0 &&
		    strncmp(id, "dnsbl.", 6) != 0))
			json_array_append(dr->facts, f);
	}
	return dr;
}

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
	if (strcmp(command, "check") != 0 && strcmp(command, "domain") != 0) {
		json_decref(doc);
		return sd_cli_usage_error(cli, "%s: explain judges check and "
		    "domain reports, not %s", path, command);
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
	json_t *tr = json_object_get(doc, "transcript");
	if (json_is_array(tr))
		json_array_extend(r->transcript, tr);
	/* the time of the run judged, not of this reading */
	json_t *at = json_object_get(doc, "started_at");
	if (rfc3339_utc(json_string_value(at)))
		sd_report_set_extra(r, "started_at", json_copy(at));
	json_t *el = json_object_get(doc, "elapsed_ms");
	r->elapsed_ms = json_is_integer(el) ? (int64_t)json_integer_value(el) : 0;
	if (strcmp(command, "domain") == 0) {
		sd_domain_rules(r);
	} else {
		/* the sender's domain is judged first, as check does */
		sd_report *dr = subset(r->facts, "domain");
		json_t *sd = json_object_get(doc, "facts");
		const char *domain = NULL;
		json_array_foreach(sd, i, x) {
			const char *id = json_string_value(json_object_get(x, "id"));
			if (id && strcmp(id, "sender_domain") == 0)
				domain = json_string_value(json_object_get(x, "domain"));
		}
		if (dr && domain && json_array_size(dr->facts)) {
			/* drop the saved judgement: it is judged again */
			json_array_foreach(r->facts, i, x) {
				const char *id = json_string_value(json_object_get(x,
				    "id"));
				if (id && strcmp(id, "sender_domain") == 0) {
					json_array_remove(r->facts, i);
					break;
				}
			}
			sd_domain_rules(dr);
			sd_check_merge_domain(r, dr, domain);
		}
		sd_report_free(dr);
		sd_rules_check(r);
	}
	json_decref(doc);
	int rc = sd_cli_render(cli, r);
	sd_report_free(r);
	return rc;
}
