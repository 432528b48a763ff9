/* Judging a report; see rules.h. */
#include "rules/rules.h"

#include <string.h>

#include "rules/bounce_rules.h"
#include "rules/check_rules.h"
#include "rules/domain_rules.h"
#include "rules/score_rules.h"
#include "rules/spf_rules.h"

static const char *id_of(const json_t *f)
{
	return sd_jstr(f, "id", "");
}

/* The sender domain's findings go into r, and its verdict becomes the
 * fact "sender_domain". */
static void merge_sender_domain(sd_report *r, const sd_report *dr)
{
	size_t i;
	json_t *f;
	json_array_foreach(r->facts, i, f)
		if (strcmp(id_of(f), "sender_domain") == 0) {
			json_array_remove(r->facts, i);
			break;
		}
	json_array_foreach(dr->findings, i, f) {
		pthread_mutex_lock(&r->lock);
		json_array_append_new(r->findings, json_deep_copy(f));
		pthread_mutex_unlock(&r->lock);
	}
	const json_t *in = sd_fact_get(dr->facts, "domain.inputs");
	const char *domain = json_string_value(json_object_get(in, "domain"));
	json_t *v = dr->verdict;
	json_t *ev = v ? json_object_get(v, "evidence") : NULL;
	if (v && domain && json_is_array(ev))
		sd_fact_add(r, "sender_domain", json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:O, "
		    "s:O, s:b}", "id", "sender_domain", "stage", "domain", "domain",
		    domain, "cause", json_object_get(v, "cause"), "status",
		    json_object_get(v, "status"), "summary", json_object_get(v,
		    "summary"), "fix", json_object_get(v, "fix"), "evidence",
		    ev, "quiet", 1));
}

int sd_rules_judge(sd_report *r)
{
	if (strcmp(r->command, "domain") == 0) {
		sd_domain_rules(r);
		sd_score_rules(r);
	} else if (strcmp(r->command, "spf") == 0) {
		sd_spf_rules(r);
	} else if (strcmp(r->command, "bounce") == 0) {
		sd_bounce_rules(r);
	} else if (strcmp(r->command, "check") == 0) {
		sd_report *dr = sd_domain_rules_of(r);
		if (dr)
			merge_sender_domain(r, dr);
		sd_report_free(dr);
		sd_rules_check(r);
	} else {
		return -1;
	}
	return 0;
}
