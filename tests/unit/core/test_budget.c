/*
 * The run-wide budget of peer text (SD_RUN_TEXT_BUDGET): a server that
 * sends megabytes makes a report of bounded size that says what was cut;
 * a fact's text keeps its start.
 */
#include <stdio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "report/report.h"

static json_int_t cut(const sd_report *r, const char *what)
{
	return json_integer_value(json_object_get(json_object_get(r->extra,
	    "truncated"), what));
}

static void transcript_and_facts_bounded(void **state)
{
	(void)state;
	sd_report *r = sd_report_new("check");
	static char line[500];
	memset(line, 'x', sizeof line);
	/* 5 MB of reply lines: far over the budget */
	for (int i = 0; i < 10000; i++)
		sd_transcript_add(r, "tcp.587.192.0.2.1", 'S', line, sizeof line);
	size_t kept = 0, i;
	json_t *t;
	json_array_foreach(r->transcript, i, t)
		kept += strlen(json_string_value(json_object_get(t, "line")));
	assert_true(kept <= SD_RUN_TEXT_BUDGET / 4 * 3);
	assert_int_equal(cut(r, "transcript_lines"), 10000 -
	    (json_int_t)json_array_size(r->transcript));
	assert_int_equal(cut(r, "budget_bytes"), SD_RUN_TEXT_BUDGET);
	/* facts still have the last quarter; past it, a text keeps 1 KB */
	char *big = malloc(20000);
	memset(big, 'y', 20000);
	big[19999] = '\0';
	int n = 0;
	for (; n < 100 && !cut(r, "facts"); n++) {
		char id[32];
		snprintf(id, sizeof id, "ehlo.%d", n);
		sd_fact_add(r, json_pack("{s:s, s:s, s:s}", "id", id, "stage",
		    "ehlo", "text", big));
	}
	assert_true(n > 1);
	json_t *last = json_array_get(r->facts, json_array_size(r->facts) - 1);
	assert_true(json_string_length(json_object_get(last, "text")) >=
	    SD_FACT_TEXT_MIN);
	assert_true(json_integer_value(json_object_get(last, "text_cut")) > 0);
	assert_int_equal(strncmp(json_string_value(json_object_get(last,
	    "text")), "yyyy", 4), 0);
	free(big);
	sd_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(transcript_and_facts_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
