/*
 * The fact schema (data/facts.def) against what people read
 * (docs/json.md) and against the facts it must accept and refuse.
 */
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

/* The line of docs/json.md's table for `kind`, or NULL. */
static const char *doc_line(const char *doc, const char *kind, char *buf,
    size_t len)
{
	char head[80];
	snprintf(head, sizeof head, "\n| `%s` |", kind);
	const char *p = strstr(doc, head);
	if (!p)
		return NULL;
	p++;
	size_t n = strcspn(p, "\n");
	snprintf(buf, len, "%.*s", (int)n, p);
	return buf;
}

/* Every kind has its row in docs/json.md, naming every member with its
 * types and values as the schema declares them. */
static void json_md_follows_the_schema(void **state)
{
	(void)state;
	FILE *f = fopen("docs/json.md", "r");
	assert_non_null(f);
	static char doc[1 << 20];
	size_t n = fread(doc, 1, sizeof doc - 1, f);
	fclose(f);
	doc[n] = '\0';
	size_t nrows = sd_fact_row_count();
	static char line[16384];
	for (size_t i = 0; i < nrows; i++) {
		const sd_fact_row row = sd_fact_row_at(i);
		if (strcmp(row.kind, "*") == 0)
			continue;
		if (!doc_line(doc, row.kind, line, sizeof line))
			fail_msg("docs/json.md has no row for kind %s", row.kind);
		char want[600];
		snprintf(want, sizeof want, "`%s` (%s", row.member,
		    row.types);
		if (!strstr(line, want))
			fail_msg("docs/json.md, kind %s: no %s)", row.kind, want);
		char vals[400];
		snprintf(vals, sizeof vals, "%s", row.values);
		for (char *v = strtok(vals, " "); v; v = strtok(NULL, " ")) {
			snprintf(want, sizeof want, "`%s`", v);
			if (!strstr(line, want))
				fail_msg("docs/json.md, %s.%s: value %s missing",
				    row.kind, row.member, v);
		}
	}
}

static void fits_and_misfits(void **state)
{
	(void)state;
	char why[400];
	json_t *ok = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:i}", "id",
	    "tcp.587.192.0.2.1", "kind", "tcp", "stage", "network", "result",
	    "refused", "ok", 0, "role", "main", "port", 587);
	assert_int_equal(sd_fact_check(ok, why, sizeof why), 0);
	/* a value the rules do not know */
	json_object_set_new(ok, "result", json_string("refused_politely"));
	assert_int_equal(sd_fact_check(ok, why, sizeof why), -1);
	assert_non_null(strstr(why, "refused_politely"));
	/* a member of the wrong type, an undeclared member, a wrong stage */
	json_object_set_new(ok, "result", json_string("refused"));
	json_object_set_new(ok, "port", json_string("587"));
	assert_int_equal(sd_fact_check(ok, why, sizeof why), -1);
	json_object_set_new(ok, "port", json_integer(587));
	json_object_set_new(ok, "colour", json_string("blue"));
	assert_int_equal(sd_fact_check(ok, why, sizeof why), -1);
	json_object_del(ok, "colour");
	json_object_set_new(ok, "stage", json_string("tls"));
	assert_int_equal(sd_fact_check(ok, why, sizeof why), -1);
	/* no kind, or one nobody declared */
	json_object_set_new(ok, "stage", json_string("network"));
	json_object_del(ok, "kind");
	assert_int_equal(sd_fact_check(ok, why, sizeof why), -1);
	/* a report from before facts carried their kind: taken from the id */
	assert_string_equal(sd_fact_kind_of_id(ok), "tcp");
	json_object_set_new(ok, "id", json_string("fix.tcp.465.192.0.2.1"));
	assert_string_equal(sd_fact_kind_of_id(ok), "tcp");
	json_decref(ok);
}

/* explain's door: a saved fact that does not fit is left out, with why. */
static void saved_facts(void **state)
{
	(void)state;
	sd_report *r = sd_report_new("check");
	json_t *old = json_pack("{s:s, s:s, s:s, s:b}", "id",
	    "greeting.587.192.0.2.1", "stage", "greeting", "result", "smtp",
	    "ok", 1);
	char why[400];
	assert_int_equal(sd_fact_add_saved(r, json_incref(old), why, sizeof why), 0);
	json_t *bad = json_pack("{s:s, s:s, s:s, s:i}", "id",
	    "greeting.25.192.0.2.1", "stage", "greeting", "result", "smtp",
	    "ok", 7);
	assert_int_equal(sd_fact_add_saved(r, json_incref(bad), why, sizeof why), -1);
	assert_int_equal(json_array_size(r->facts), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    r->facts, 0), "kind")), "greeting");
	json_decref(old);
	json_decref(bad);
	sd_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_md_follows_the_schema),
		cmocka_unit_test(fits_and_misfits),
		cmocka_unit_test(saved_facts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
