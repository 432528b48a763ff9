/* The rule of content scoring; see score_rules.h. */
#include "rules/score_rules.h"

#include <stdio.h>
#include <string.h>

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* "NAME (description, +2.5)" for the rules that added most, into out;
 * all of them when none added points (rspamd's GTUBE scores by action). */
static void rule_list(const json_t *rules, char *out, size_t max, int n)
{
	size_t o = 0, i;
	json_t *x;
	out[0] = '\0';
	int any = json_array_size(rules) && json_number_value(json_object_get(
	    json_array_get(rules, 0), "score")) > 0;
	json_array_foreach(rules, i, x) {
		double sc = json_number_value(json_object_get(x, "score"));
		if ((int)i >= n || (any && sc <= 0) || o + 1 >= max)
			break;
		int w = snprintf(out + o, max - o, "%s%s (%s, %+.1f)",
		    o ? "; " : "", jstr(x, "name") ? jstr(x, "name") : "?",
		    jstr(x, "description") ? jstr(x, "description") : "", sc);
		if (w < 0)
			break;
		o += (size_t)w < max - o ? (size_t)w : max - o - 1;
	}
}

/* The fix: what each rule that added points asks to change. */
static json_t *fixes(const json_t *rules)
{
	json_t *fix = json_array();
	size_t i;
	json_t *x;
	json_array_foreach(rules, i, x) {
		double sc = json_number_value(json_object_get(x, "score"));
		if (sc <= 0 || json_array_size(fix) >= 5)
			continue;
		char line[400];
		snprintf(line, sizeof line, "address what %s flags: %s (it adds "
		    "%.1f points)", jstr(x, "name") ? jstr(x, "name") : "?",
		    jstr(x, "description") ? jstr(x, "description") : "",
		    sc);
		json_array_append_new(fix, json_string(line));
	}
	json_array_append_new(fix, json_string("then score the message again "
	    "with --score"));
	return fix;
}

void sd_score_rules(sd_report *r)
{
	size_t i;
	json_t *f, *scored = NULL;
	int tried = 0;
	json_array_foreach(r->facts, i, f) {
		const char *id = jstr(f, "id");
		if (!id || strncmp(id, "score.", 6) != 0)
			continue;
		tried++;
		const char *res = jstr(f, "result");
		if (res && strcmp(res, "scored") == 0 && !scored)
			scored = f;
		if (res && strcmp(res, "too_large") == 0) {
			json_t *ev = json_pack("[s]", id);
			sd_finding_add(r, "info.score_skipped", "info", NULL, "",
			    jstr(f, "detail"), ev);
			return;
		}
	}
	if (!tried)
		return;
	if (!scored) {
		json_t *ev = json_array();
		json_array_foreach(r->facts, i, f) {
			const char *id = jstr(f, "id");
			if (id && strncmp(id, "score.", 6) == 0)
				json_array_append_new(ev, json_string(id));
		}
		sd_finding_add(r, "info.scorer_unreachable", "info", NULL, "",
		    "no content filter answered (spamd, rspamd), so the message "
		    "was not scored", ev);
		return;
	}
	double score = json_number_value(json_object_get(scored, "score"));
	double thr = json_number_value(json_object_get(scored, "threshold"));
	const char *scorer = jstr(scored, "scorer");
	const json_t *rules = json_object_get(scored, "rules");
	char list[1200], summary[1600];
	rule_list(rules, list, sizeof list, 5);
	int over = json_is_true(json_object_get(scored, "spam")) || score >= thr;
	snprintf(summary, sizeof summary, "%s scored the message %.1f, %s its "
	    "threshold of %.1f%s%s", strcmp(scorer, "spamd") == 0 ?
	    "SpamAssassin" : "rspamd", score, over ? "at or over" : "under",
	    thr, *list ? "; the rules that added most: " : "", list);
	json_t *ev = json_pack("[s]", jstr(scored, "id"));
	if (!over) {
		sd_finding_add(r, "info.spam_score", "info", NULL,
		    jstr(scored, "address"), summary, ev);
		return;
	}
	sd_finding_add(r, "content.spam_score", "warning", "spam_reputation",
	    jstr(scored, "address"), summary, json_incref(ev));
	const char *status = r->verdict ? jstr(r->verdict, "status") : NULL;
	if (!status || strcmp(status, "ok") == 0)
		sd_verdict_set(r, "content.spam_score", -1, summary,
		    fixes(rules), ev);
	else
		json_decref(ev);
}
