/* The blocklist probe: one subject on one zone, as one fact (dnsbl.h). */
#include "probe/dnsbl.h"

#include <stdio.h>
#include <string.h>

#include "probe/domain_dnsbl.h"
#include "probe/domain_int.h"
#include "probe/domain_records.h"
#include "util/util.h"

/* Why no query is asked, or NULL: the name fits and the list answers for
 * this kind of address. */
static const char *no_query(const char *subject, const char *zone,
    int domain_list, char *q, size_t qlen, const char **status)
{
	*status = "error";
	if (domain_list) {
		int n = snprintf(q, qlen, "%s.%s", subject, zone);
		if (n < 0 || (size_t)n >= qlen || n > 253)
			return "the query name would be longer than 253 characters";
	} else if (sd_dnsbl_query_name(subject, zone, q, qlen) != 0) {
		return "the query name would be longer than 253 characters";
	}
	if (!domain_list && strchr(subject, ':') && !sd_dnsbl_zone_ipv6(zone)) {
		*status = "skipped";
		return "this list does not answer for IPv6 addresses";
	}
	return NULL;
}

json_t *sd_dnsbl_probe(const char *fact_id, const char *subject,
    const char *zone, int domain_list, sd_dnsbl_lookup_fn lookup, void *ctx)
{
	char q[400], id[400] = "";
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", fact_id,
	    "stage", "reputation", "check", domain_list ? "dbl" : "dnsbl",
	    "zone", zone, domain_list ? "domain" : "ip", subject);
	if (!f)
		return NULL;
	const char *status;
	const char *why = no_query(subject, zone, domain_list, q, sizeof q,
	    &status);
	if (why) {
		json_object_set_new(f, "status", json_string(status));
		json_object_set_new(f, "error", json_string(why));
		return f;
	}
	json_object_set_new(f, "query", json_string(q));
	sd_dns_answer a = { 0 };
	sd_dns_status st = lookup(ctx, q, SD_DNS_A, &a, id, sizeof id);
	json_t *ev = sd_evidence_add(NULL, id);
	json_object_set_new(f, "status", json_string(sd_dns_status_name(st)));
	json_t *answers = json_array();
	for (size_t i = 0; i < a.n_rr; i++) {
		char meaning[SD_DNSBL_MEANING_MAX];
		sd_dnsbl_class cls = sd_dnsbl_classify(zone, a.rr[i].text,
		    meaning, sizeof meaning);
		json_array_append_new(answers, json_pack("{s:s, s:s, s:s}",
		    "address", a.rr[i].text, "class", sd_dnsbl_class_name(cls),
		    "meaning", meaning));
	}
	json_object_set_new(f, "answers", answers);
	if (a.n_rr) {
		/* the list's own words: why, and where to ask for removal */
		sd_dns_answer t = { 0 };
		id[0] = '\0';
		lookup(ctx, q, SD_DNS_TXT, &t, id, sizeof id);
		ev = sd_evidence_add(ev, id);
		if (t.n_rr)
			json_object_set_new(f, "txt", sd_jstr_sanitized(t.rr[0].text,
			    512));
		sd_dns_answer_clear(&t);
	}
	json_object_set_new(f, "evidence", ev);
	sd_dns_answer_clear(&a);
	return f;
}

const json_t *sd_dnsbl_answer(const json_t *fact, const char *cls)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(fact, "answers"), i, a) {
		const char *c = json_string_value(json_object_get(a, "class"));
		if (c && strcmp(c, cls) == 0)
			return a;
	}
	return NULL;
}
