/*
 * Public Suffix List: the upstream test files tests/data/psl/psl-tests.txt
 * ("input expected" lines) and psl-test_psl.txt (checkPublicSuffix(input,
 * expected) lines), one cmocka test per line, run against the list copied
 * beside them; then where the list is loaded from.
 */
#include <locale.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mailauth/psl.h"

#define DATA "tests/data/psl/"
#define LIST DATA "public_suffix_list.dat"
#define MAX_CASES 512

typedef struct pcase {
	char file[32];
	int line;
	char *input;     /* NULL for "null" */
	char *expected;  /* NULL for "null" */
} pcase;

static pcase cases[MAX_CASES];
static size_t n_cases;
static sd_psl *psl;

static char *dup_or_null(const char *s)
{
	return strcmp(s, "null") == 0 ? NULL : strdup(s);
}

static void add(const char *file, int line, const char *in, const char *exp)
{
	if (n_cases == MAX_CASES)
		return;
	pcase *c = &cases[n_cases++];
	snprintf(c->file, sizeof c->file, "%s", file);
	c->line = line;
	c->input = dup_or_null(in);
	c->expected = dup_or_null(exp);
}

/* "input expected" per line, "//" comments. */
static void load_plain(const char *name)
{
	char path[256], buf[512];
	snprintf(path, sizeof path, DATA "%s", name);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	int line = 0;
	while (fgets(buf, sizeof buf, f)) {
		line++;
		char in[256], exp[256];
		if (strncmp(buf, "//", 2) == 0 ||
		    sscanf(buf, "%255s %255s", in, exp) != 2)
			continue;
		add(name, line, in, exp);
	}
	fclose(f);
}

/* checkPublicSuffix('input', 'expected'); with null for either. */
static void load_js(const char *name)
{
	char path[256], buf[512];
	snprintf(path, sizeof path, DATA "%s", name);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	int line = 0;
	while (fgets(buf, sizeof buf, f)) {
		line++;
		if (strncmp(buf, "checkPublicSuffix(", 18) != 0)
			continue;
		char arg[2][256];
		const char *p = buf + 18;
		for (int k = 0; k < 2; k++) {
			while (*p == ' ' || *p == ',')
				p++;
			if (*p == '\'') {
				const char *e = strchr(p + 1, '\'');
				size_t n = e ? (size_t)(e - p - 1) : 0;
				snprintf(arg[k], sizeof arg[k], "%.*s", (int)n, p + 1);
				p = e ? e + 1 : p + 1;
			} else {
				snprintf(arg[k], sizeof arg[k], "null");
				p += strncmp(p, "null", 4) == 0 ? 4 : 0;
			}
		}
		add(name, line, arg[0], arg[1]);
	}
	fclose(f);
}

static void run_case(void **state)
{
	const pcase *c = *state;
	char *got = sd_psl_org_domain(psl, c->input);
	int ok = (!got && !c->expected) ||
	    (got && c->expected && strcmp(got, c->expected) == 0);
	if (!ok)
		fail_msg("%s:%d: %s -> expected %s, got %s", c->file, c->line,
		    c->input ? c->input : "null",
		    c->expected ? c->expected : "null", got ? got : "null");
	free(got);
}

static void test_load_explicit(void **state)
{
	(void)state;
	char why[256];
	sd_psl *p = sd_psl_load(LIST, why, sizeof why);
	assert_non_null(p);
	assert_int_equal(sd_psl_get_origin(p), SD_PSL_FROM_FILE);
	assert_string_equal(sd_psl_source(p), LIST);
	assert_string_equal(sd_psl_note(p), "");
	assert_true(sd_psl_rule_count(p) > 5000);
	sd_psl_free(p);

	assert_null(sd_psl_load(DATA "no-such-file.dat", why, sizeof why));
	assert_non_null(strstr(why, "cannot read"));
	/* A file that is not a suffix list is an error, not a silent
	 * fallback: libpsl alone would load the licence as rules. */
	assert_null(sd_psl_load(DATA "psl-LICENSE", why, sizeof why));
	assert_non_null(strstr(why, "not a Public Suffix List"));
}

static void test_search_order(void **state)
{
	(void)state;
	char why[256];
	/* $SMTPDOCTOR_PSL first */
	setenv("SMTPDOCTOR_PSL", LIST, 1);
	sd_psl *p = sd_psl_load(NULL, why, sizeof why);
	assert_non_null(p);
	assert_int_equal(sd_psl_get_origin(p), SD_PSL_FROM_ENV);
	sd_psl_free(p);

	/* set but missing: said, then the source tree's data/ */
	setenv("SMTPDOCTOR_PSL", DATA "missing.dat", 1);
	p = sd_psl_load(NULL, why, sizeof why);
	assert_non_null(p);
	assert_int_equal(sd_psl_get_origin(p), SD_PSL_FROM_SRCDIR);
	assert_non_null(strstr(sd_psl_source(p), "data/public_suffix_list.dat"));
	assert_non_null(strstr(sd_psl_note(p), "does not exist"));
	sd_psl_free(p);

	/* set to a wrong file: an error */
	setenv("SMTPDOCTOR_PSL", DATA "psl-tests.txt", 1);
	assert_null(sd_psl_load(NULL, why, sizeof why));
	assert_non_null(strstr(why, "psl-tests.txt"));

	unsetenv("SMTPDOCTOR_PSL");
	p = sd_psl_load(NULL, why, sizeof why);
	assert_non_null(p);
	assert_int_equal(sd_psl_get_origin(p), SD_PSL_FROM_SRCDIR);
	sd_psl_free(p);

	/* the installed copy when the source tree has none */
	p = sd_psl_load_dirs("/nonexistent", DATA, why, sizeof why);
	assert_non_null(p);
	assert_int_equal(sd_psl_get_origin(p), SD_PSL_FROM_DATADIR);
	sd_psl_free(p);

	/* no file anywhere: libpsl's built-in list, and the note says so */
	p = sd_psl_load_dirs("/nonexistent", "/nonexistent/too", why,
	    sizeof why);
	if (!p) {
		/* a libpsl built without a list: the reason must say so */
		assert_non_null(strstr(why, "no Public Suffix List"));
		return;
	}
	assert_int_equal(sd_psl_get_origin(p), SD_PSL_FROM_BUILTIN);
	assert_non_null(strstr(sd_psl_note(p), "built-in"));
	char *org = sd_psl_org_domain(p, "www.example.co.uk");
	assert_string_equal(org, "example.co.uk");
	free(org);
	sd_psl_free(p);
}

static void test_default_handle(void **state)
{
	(void)state;
	const sd_psl *d = sd_psl_default();
	assert_non_null(d);
	assert_ptr_equal(d, sd_psl_default());
	char *org = sd_psl_org_domain(d, "mail.example.com");
	assert_string_equal(org, "example.com");
	free(org);
}

static void test_normalisation(void **state)
{
	(void)state;
	struct { const char *in, *want; } t[] = {
		{ "www.example.com.", "example.com" },   /* trailing dot */
		{ "a.b.example.co.uk", "example.co.uk" },
		{ "foo.blogspot.com", "foo.blogspot.com" }, /* private section */
		{ "example.com..", NULL },
		{ "a..example.com", NULL },
		{ "", NULL },
		{ ".", NULL },
		{ "co.uk", NULL },
		{ "\xff\xfe.com", NULL },                 /* not UTF-8 */
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char *got = sd_psl_org_domain(psl, t[i].in);
		if ((got == NULL) != (t[i].want == NULL) ||
		    (got && strcmp(got, t[i].want) != 0))
			fail_msg("%s: expected %s, got %s", t[i].in,
			    t[i].want ? t[i].want : "null", got ? got : "null");
		free(got);
	}
	assert_true(sd_psl_is_public_suffix(psl, "co.uk"));
	assert_true(sd_psl_is_public_suffix(psl, "COM"));
	assert_false(sd_psl_is_public_suffix(psl, "example.com"));
}

static void test_turkish_locale(void **state)
{
	(void)state;
	/* tr_TR folds "I" to a dotless i with tolower(); ours must not. */
	if (!setlocale(LC_ALL, "tr_TR.UTF-8"))
		skip();
	char *got = sd_psl_org_domain(psl, "MAIL.INFO.EXAMPLE.IO");
	setlocale(LC_ALL, "C");
	assert_non_null(got);
	assert_string_equal(got, "example.io");
	free(got);
}

int main(void)
{
	char why[256];
	psl = sd_psl_load(LIST, why, sizeof why);
	if (!psl) {
		fprintf(stderr, "%s\n", why);
		return 1;
	}
	load_plain("psl-tests.txt");
	load_js("psl-test_psl.txt");

	struct CMUnitTest *t = calloc(n_cases, sizeof *t);
	char (*names)[160] = calloc(n_cases, sizeof *names);
	for (size_t i = 0; i < n_cases; i++) {
		snprintf(names[i], sizeof names[i], "%.30s:%d %.100s", cases[i].file,
		    cases[i].line, cases[i].input ? cases[i].input : "null");
		t[i].name = names[i];
		t[i].test_func = run_case;
		t[i].initial_state = &cases[i];
	}
	int failed = _cmocka_run_group_tests("psl_upstream", t, n_cases, NULL,
	    NULL);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_explicit),
		cmocka_unit_test(test_search_order),
		cmocka_unit_test(test_default_handle),
		cmocka_unit_test(test_normalisation),
		cmocka_unit_test(test_turkish_locale),
	};
	failed += cmocka_run_group_tests_name("psl", tests, NULL, NULL);

	for (size_t i = 0; i < n_cases; i++) {
		free(cases[i].input);
		free(cases[i].expected);
	}
	free(t);
	free(names);
	sd_psl_free(psl);
	return failed;
}
