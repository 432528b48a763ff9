/*
 * Fuzzes `explain`'s input: a saved report is user input, and the rules
 * must judge any facts (missing members, wrong types, odd ids) without a
 * crash.  The input is parsed as JSON; its "facts" go through the check
 * rules and the domain rules.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_render.h"
#include "report/report.h"
#include "rules/check_rules.h"
#include "rules/domain_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	json_t *facts = json_object_get(doc, "facts");
	if (!json_is_array(facts)) {
		json_decref(doc);
		return 0;
	}
	for (int pass = 0; pass < 2; pass++) {
		sd_report *r = sd_report_new(pass ? "domain" : "check");
		if (!r)
			break;
		size_t i;
		json_t *f;
		json_array_foreach(facts, i, f)
			if (json_is_object(f))
				sd_fact_add(r, json_deep_copy(f));
		json_t *cfg = json_object_get(doc, "config");
		if (json_is_object(cfg))
			sd_report_set_extra(r, "config", json_deep_copy(cfg));
		if (pass)
			sd_domain_rules(r);
		else
			sd_rules_check(r);
		fuzz_render(r);
		sd_report_free(r);
	}
	json_decref(doc);
	return 0;
}
