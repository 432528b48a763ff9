/*
 * Fuzzes `explain`'s input: a saved report is user input, and the rules
 * must judge any facts (missing members, wrong types, odd ids) without a
 * crash.  The input is parsed as JSON; its "facts", held to the schema
 * as explain holds them, are judged as a check, domain, spf and bounce
 * report.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_render.h"
#include "report/report.h"
#include "report/facts.h"
#include "rules/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	json_t *facts = json_object_get(doc, "facts");
	if (!json_is_array(facts)) {
		json_decref(doc);
		return 0;
	}
	static const char *const commands[] = { "check", "domain", "spf",
	    "bounce" };
	for (size_t pass = 0; pass < sizeof commands / sizeof commands[0];
	    pass++) {
		sd_report *r = sd_report_new(commands[pass]);
		if (!r)
			break;
		size_t i;
		json_t *f;
		json_array_foreach(facts, i, f)
			if (json_is_object(f))
				sd_fact_add_saved(r, json_deep_copy(f), NULL, 0);
		json_t *cfg = json_object_get(doc, "config");
		if (json_is_object(cfg))
			sd_report_set_extra(r, "config", json_deep_copy(cfg));
		json_t *spf = json_object_get(doc, "spf");
		if (json_is_object(spf))
			sd_report_set_extra(r, "spf", json_deep_copy(spf));
		sd_rules_judge(r);
		fuzz_render(r);
		sd_report_free(r);
	}
	json_decref(doc);
	return 0;
}
