/* The rule of content scoring; see score_rules.h. */
#include "rules/score_rules.h"

#include <stdio.h>
#include <string.h>

/* A string member, NULL when absent. */
#define jstr(o, key) sd_jstr((o), (key), NULL)

static int is_score(const json_t *f)
{
	const char *kind = jstr(f, "kind");
	return kind && strcmp(kind, "score") == 0;
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

void sd_score_see(const json_t *facts, sd_score_seen *s)
{
	memset(s, 0, sizeof *s);
	s->subject = "";
	size_t i;
	json_t *f;
	const json_t *scored = NULL;
	json_t *tried = json_array();
	json_array_foreach(facts, i, f) {
		if (!is_score(f))
			continue;
		json_array_append_new(tried, json_string(jstr(f, "id")));
		const char *res = jstr(f, "result");
		if (res && strcmp(res, "scored") == 0 && !scored)
			scored = f;
		if (res && strcmp(res, "too_large") == 0) {
			s->code = "info.score_skipped";
			snprintf(s->summary, sizeof s->summary, "%s",
			    jstr(f, "detail") ? jstr(f, "detail") : "");
			s->evidence = json_pack("[s]", jstr(f, "id"));
			json_decref(tried);
			return;
		}
	}
	if (!json_array_size(tried)) {
		json_decref(tried);
		return;
	}
	if (!scored) {
		s->code = "info.scorer_unreachable";
		snprintf(s->summary, sizeof s->summary, "no content filter "
		    "answered (spamd, rspamd), so the message was not scored");
		s->evidence = tried;
		return;
	}
	json_decref(tried);
	double score = json_number_value(json_object_get(scored, "score"));
	double thr = json_number_value(json_object_get(scored, "threshold"));
	const char *scorer = jstr(scored, "scorer");
	const json_t *rules = json_object_get(scored, "rules");
	char list[1200];
	rule_list(rules, list, sizeof list, 5);
	int over = json_is_true(json_object_get(scored, "spam")) || score >= thr;
	snprintf(s->summary, sizeof s->summary, "%s scored the message %.1f, "
	    "%s its threshold of %.1f%s%s", scorer && strcmp(scorer, "spamd") ==
	    0 ? "SpamAssassin" : "rspamd", score, over ? "at or over" : "under",
	    thr, *list ? "; the rules that added most: " : "", list);
	s->code = over ? "content.spam_score" : "info.spam_score";
	s->subject = jstr(scored, "address") ? jstr(scored, "address") : "";
	s->evidence = json_pack("[s]", jstr(scored, "id"));
	s->fix = over ? fixes(rules) : NULL;
}

void sd_score_rules(sd_report *r)
{
	sd_score_seen s;
	sd_score_see(r->facts, &s);
	if (!s.code)
		return;
	int over = strcmp(s.code, "content.spam_score") == 0;
	sd_finding_add(r, s.code, over ? "warning" : "info", s.subject,
	    s.summary, json_incref(s.evidence));
	const char *status = r->verdict ? jstr(r->verdict, "status") : NULL;
	if (over && (!status || strcmp(status, "ok") == 0)) {
		sd_verdict_set(r, s.code, -1, s.summary, s.fix, s.evidence);
		return;
	}
	json_decref(s.fix);
	json_decref(s.evidence);
}
