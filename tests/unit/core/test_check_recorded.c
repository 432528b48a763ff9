/*
 * The rules of check on the facts the probes really wrote: every report
 * in tests/unit/core/recorded/ was kept by `tests/lab/run --record` from a
 * lab scenario that passed (real servers, real faults).  Judged again, each
 * must give the verdict and exit status the lab saw.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "report/facts.h"
#include "report/report.h"
#include "rules/rules.h"

#define RECORDED "tests/unit/core/recorded/"

static const char *get(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* Judges one recorded run; 0 when the verdict comes back. */
static int replay(const char *name)
{
	char path[512];
	snprintf(path, sizeof path, RECORDED "%s", name);
	json_error_t e;
	json_t *doc = json_load_file(path, 0, &e);
	if (!doc) {
		print_error("%s: %s\n", path, e.text);
		return 1;
	}
	sd_report *r = sd_report_new(get(doc, "command"));
	assert_non_null(r);
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(doc, "facts"), i, f)
		assert_int_equal(sd_fact_add_saved(r, json_deep_copy(f), NULL, 0), 0);
	if (json_is_object(json_object_get(doc, "config")))
		sd_report_set_extra(r, "config", json_deep_copy(
		    json_object_get(doc, "config")));
	assert_int_equal(sd_rules_judge(r), 0);
	json_t *want = json_object_get(doc, "expect");
	int bad = strcmp(sd_report_cause(r), get(want, "cause")) != 0 ||
	    sd_report_exit_code(r) != json_integer_value(json_object_get(want,
	    "exit"));
	if (bad)
		print_error("%s: verdict %s (exit %d), the lab saw %s (exit %d)\n",
		    name, sd_report_cause(r), sd_report_exit_code(r),
		    get(want, "cause"), (int)json_integer_value(
		    json_object_get(want, "exit")));
	sd_report_free(r);
	json_decref(doc);
	return bad;
}

static void recorded_verdicts(void **state)
{
	(void)state;
	DIR *d = opendir(RECORDED);
	assert_non_null(d);
	struct dirent *de;
	int n = 0, bad = 0;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		n++;
		bad += replay(de->d_name);
	}
	closedir(d);
	/* one per scenario of the lab */
	assert_true(n >= 60);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(recorded_verdicts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
