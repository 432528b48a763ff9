/*
 * The code registry (data/codes.def): every row is well formed, every
 * code is documented for people in docs/, and a rule that writes a code
 * the registry lacks, or a status it does not allow, stops a test build.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "report/report.h"

static const sd_code rows[] = {
#define CODE(c, cat, variants, words) { c, cat, variants, words },
#include "../../../data/codes.def"
#undef CODE
};
#define N_ROWS (sizeof rows / sizeof rows[0])

static const char *const categories[] = { "server_settings",
    "authentication", "firewall", "client_configuration", "port_blocked",
    "isp_limitation", "antivirus", "dns", "spam_reputation", "recipient",
    NULL };

static int in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

static void rows_well_formed(void **state)
{
	(void)state;
	static const char *const words[] = { "ok", "warn", "fail",
	    "inconclusive", "info", NULL };
	sd_code row;
	for (size_t i = 0; i < N_ROWS; i++) {
		const sd_code *c = &rows[i];
		if (c->category && !in_list(categories, c->category))
			fail_msg("%s: unknown category %s", c->code, c->category);
		char buf[64];
		snprintf(buf, sizeof buf, "%s", c->variants);
		for (char *w = strtok(buf, " "); w; w = strtok(NULL, " "))
			if (!in_list(words, w))
				fail_msg("%s: unknown status %s", c->code, w);
		for (size_t k = 0; k < i; k++)
			if (strcmp(rows[k].code, c->code) == 0)
				fail_msg("%s twice", c->code);
		assert_non_null(sd_code_lookup(c->code, &row));
		assert_string_equal(row.variants, c->variants);
	}
	assert_int_equal(sd_code_default(sd_code_lookup("dns.spf_fail",
	    &row)), SD_STATUS_FAIL);
	assert_int_equal(sd_code_default(sd_code_lookup("network.ipv6_broken",
	    &row)), SD_STATUS_WARN);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

/* Each code is in the catalogue a user reads, as `code`. */
static void codes_documented(void **state)
{
	(void)state;
	static const char *const docs[] = { "docs/verdicts.md",
	    "docs/domain.md", "docs/spf.md", NULL };
	char *text[4] = { 0 };
	for (size_t d = 0; docs[d]; d++)
		text[d] = slurp(docs[d]);
	for (size_t i = 0; i < N_ROWS; i++) {
		char want[80];
		snprintf(want, sizeof want, "`%s`", rows[i].code);
		int found = 0;
		for (size_t d = 0; docs[d]; d++)
			found |= strstr(text[d], want) != NULL;
		if (!found)
			fail_msg("%s is in data/codes.def but in no docs/ catalogue",
			    rows[i].code);
	}
	for (size_t d = 0; docs[d]; d++)
		free(text[d]);
}

/* Each code but the info ones is in docs/verdicts.md's table of
 * categories, on its category's row ("null" for none). */
static void categories_documented(void **state)
{
	(void)state;
	char *text = slurp("docs/verdicts.md");
	for (size_t i = 0; i < N_ROWS; i++) {
		if (strncmp(rows[i].code, "info.", 5) == 0)
			continue;
		char head[64], want[80];
		snprintf(head, sizeof head, "\n| `%s` | ", rows[i].category ?
		    rows[i].category : "null");
		snprintf(want, sizeof want, "`%s`", rows[i].code);
		const char *row = strstr(text, head);
		const char *end = row ? strchr(row + 1, '\n') : NULL;
		const char *at = row ? strstr(row, want) : NULL;
		if (!row || !end || !at || at > end)
			fail_msg("%s (category %s) is not on its row of the "
			    "categories in docs/verdicts.md", rows[i].code,
			    rows[i].category ? rows[i].category : "null");
	}
	free(text);
}

/* Runs `what` in a child; true when it ended by abort(). */
static int aborts(void (*what)(void))
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the message on stderr is the point, but not in the test log */
		if (!freopen("/dev/null", "w", stderr))
			_exit(3);
		what();
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void verdict_unknown(void)
{
	sd_report *r = sd_report_new("check");
	sd_verdict_set(r, "auth.bad_credential", -1, "typo", NULL, NULL);
}

static void verdict_disallowed(void)
{
	sd_report *r = sd_report_new("check");
	sd_verdict_set(r, "auth.bad_credentials", SD_STATUS_WARN, "", NULL,
	    NULL);
}

static void finding_disallowed(void)
{
	sd_report *r = sd_report_new("domain");
	sd_finding_add(r, "dns.dmarc_missing", "error", "", "", NULL);
}

static void finding_allowed(void)
{
	sd_report *r = sd_report_new("domain");
	sd_finding_add(r, "reputation.ip_listed", "info", "", "", NULL);
	sd_finding_add(r, "dns.spf_fail", "warning", "", "", NULL);
	sd_verdict_set(r, "network.ipv6_broken", SD_STATUS_FAIL, "", NULL,
	    NULL);
	sd_report_free(r);
}

static void strict_in_test_builds(void **state)
{
	(void)state;
	assert_true(aborts(verdict_unknown));
	assert_true(aborts(verdict_disallowed));
	assert_true(aborts(finding_disallowed));
	assert_false(aborts(finding_allowed));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rows_well_formed),
		cmocka_unit_test(codes_documented),
		cmocka_unit_test(categories_documented),
		cmocka_unit_test(strict_in_test_builds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
