/*
 * The SPF test suites of the SPF council (tests/data/spf/), run through a
 * fake resolver fed with each scenario's zone data.
 *
 * RFC 7208 suite: one cmocka test per suite test; every one must pass
 * (a test may list several acceptable results; the explanation must match
 * where one is given, "DEFAULT" meaning "no exp= text").
 *
 * RFC 4408 suite: RFC 7208 changed some answers, so this suite is run as
 * one test that fails only on a difference not listed (and justified) in
 * rfc4408_known below and in docs/spf.md.  It prints how many agree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "mailauth/spf.h"
#include "util/util.h"
#include "test_spf_zone.h"

#define SUITE_7208 "tests/data/spf/spf-rfc7208-tests.yml"
#define SUITE_4408 "tests/data/spf/spf-rfc4408-tests.yml"
#define MAX_RESULTS 8

typedef struct suite_case {
	char *name;
	char *scenario;
	char *helo, *host, *mailfrom;
	char *results[MAX_RESULTS];
	size_t n_results;
	char *explanation;      /* NULL: not checked */
	char *test_name;        /* "rfc7208 name" */
	spfz_zone *zone;        /* the scenario's, borrowed */
} suite_case;

typedef struct suite {
	suite_case *c;
	size_t n, cap;
	spfz_zone **zones;
	size_t n_zones;
} suite;

/* --- YAML ------------------------------------------------------------- */

static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *map,
    const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    strcmp((char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static char *scalar_dup(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	char *s = malloc(n->data.scalar.length + 1);
	assert_non_null(s);
	memcpy(s, n->data.scalar.value, n->data.scalar.length);
	s[n->data.scalar.length] = '\0';
	return s;
}

static int scalar_is(yaml_node_t *n, const char *s)
{
	return n && n->type == YAML_SCALAR_NODE &&
	    n->data.scalar.length == strlen(s) &&
	    memcmp(n->data.scalar.value, s, strlen(s)) == 0;
}

/* TXT/SPF data: a string, or a list of strings joined without spaces. */
static void txt_value(yaml_document_t *d, yaml_node_t *v, char **out,
    size_t *len)
{
	size_t cap = 256, n = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	yaml_node_item_t *it = NULL, *end = NULL;
	yaml_node_t *single = NULL;
	if (v->type == YAML_SCALAR_NODE) {
		single = v;
	} else if (v->type == YAML_SEQUENCE_NODE) {
		it = v->data.sequence.items.start;
		end = v->data.sequence.items.top;
	}
	for (;;) {
		yaml_node_t *s = single;
		if (!s) {
			if (!it || it >= end)
				break;
			s = yaml_document_get_node(d, *it++);
		}
		if (s && s->type == YAML_SCALAR_NODE) {
			size_t l = s->data.scalar.length;
			while (n + l + 1 > cap) {
				cap *= 2;
				buf = realloc(buf, cap);
				assert_non_null(buf);
			}
			memcpy(buf + n, s->data.scalar.value, l);
			n += l;
		}
		if (single)
			break;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
}

static uint16_t rr_type(const char *t)
{
	static const struct { const char *n; uint16_t t; } types[] = {
		{ "A", SD_DNS_A }, { "AAAA", SD_DNS_AAAA }, { "MX", SD_DNS_MX },
		{ "PTR", SD_DNS_PTR }, { "TXT", SD_DNS_TXT },
		{ "SPF", SD_DNS_SPF }, { "CNAME", SD_DNS_CNAME },
	};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcmp(t, types[i].n) == 0)
			return types[i].t;
	fail_msg("unknown record type %s in the suite", t);
	return 0;
}

/*
 * One owner's list of records.  As the suite's drivers do, SPF records are
 * also served as TXT unless the owner lists TXT records of its own ("TXT:
 * NONE" says "no TXT records"); the copies come after the owner's entries.
 */
static void load_owner(yaml_document_t *d, spfz_zone *z, const char *owner,
    yaml_node_t *list)
{
	int has_txt = 0;
	spfz_add(z, owner, 0, "", 0, 0);   /* the name exists */
	if (list->type != YAML_SEQUENCE_NODE)
		return;
	for (yaml_node_item_t *it = list->data.sequence.items.start;
	    it < list->data.sequence.items.top; it++) {
		yaml_node_t *m = yaml_document_get_node(d, *it);
		if (m && m->type == YAML_MAPPING_NODE && map_get(d, m, "TXT"))
			has_txt = 1;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (yaml_node_item_t *it = list->data.sequence.items.start;
		    it < list->data.sequence.items.top; it++) {
			yaml_node_t *m = yaml_document_get_node(d, *it);
			if (!m)
				continue;
			if (m->type == YAML_SCALAR_NODE) {
				if (pass == 0 && scalar_is(m, "TIMEOUT"))
					spfz_add(z, owner, SPFZ_TIMEOUT, "", 0, 0);
				continue;
			}
			if (m->type != YAML_MAPPING_NODE)
				continue;
			for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
			    p < m->data.mapping.pairs.top; p++) {
				yaml_node_t *k = yaml_document_get_node(d, p->key);
				yaml_node_t *v = yaml_document_get_node(d, p->value);
				char *key = scalar_dup(k);
				assert_non_null(key);
				uint16_t t = rr_type(key);
				free(key);
				if (pass == 1) {
					/* generated TXT copies of SPF records */
					if (t == SD_DNS_SPF && !has_txt &&
					    !scalar_is(v, "NONE")) {
						char *txt;
						size_t len;
						txt_value(d, v, &txt, &len);
						spfz_add(z, owner, SD_DNS_TXT, txt,
						    len, 0);
						free(txt);
					}
					continue;
				}
				if (scalar_is(v, "NONE"))
					continue;
				if (t == SD_DNS_TXT || t == SD_DNS_SPF) {
					char *txt;
					size_t len;
					txt_value(d, v, &txt, &len);
					spfz_add(z, owner, t, txt, len, 0);
					free(txt);
				} else if (t == SD_DNS_MX) {
					assert_int_equal(v->type,
					    YAML_SEQUENCE_NODE);
					yaml_node_t *pref = yaml_document_get_node(
					    d, v->data.sequence.items.start[0]);
					yaml_node_t *host = yaml_document_get_node(
					    d, v->data.sequence.items.start[1]);
					char *ps = scalar_dup(pref);
					char *hs = scalar_dup(host);
					spfz_add(z, owner, t, hs, strlen(hs),
					    (uint16_t)atoi(ps));
					free(ps);
					free(hs);
				} else {
					char *s = scalar_dup(v);
					assert_non_null(s);
					spfz_add(z, owner, t, s, strlen(s), 0);
					free(s);
				}
			}
		}
	}
}

static void load_doc(yaml_document_t *d, yaml_node_t *root, suite *s,
    const char *tag)
{
	yaml_node_t *desc = map_get(d, root, "description");
	yaml_node_t *tests = map_get(d, root, "tests");
	yaml_node_t *zd = map_get(d, root, "zonedata");
	spfz_zone *z = spfz_new();
	assert_non_null(z);
	s->zones = realloc(s->zones, (s->n_zones + 1) * sizeof *s->zones);
	assert_non_null(s->zones);
	s->zones[s->n_zones++] = z;
	if (zd && zd->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = zd->data.mapping.pairs.start;
		    p < zd->data.mapping.pairs.top; p++) {
			char *owner = scalar_dup(yaml_document_get_node(d,
			    p->key));
			assert_non_null(owner);
			load_owner(d, z, owner, yaml_document_get_node(d,
			    p->value));
			free(owner);
		}
	}
	if (!tests || tests->type != YAML_MAPPING_NODE)
		return;
	for (yaml_node_pair_t *p = tests->data.mapping.pairs.start;
	    p < tests->data.mapping.pairs.top; p++) {
		yaml_node_t *t = yaml_document_get_node(d, p->value);
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 64;
			s->c = realloc(s->c, s->cap * sizeof *s->c);
			assert_non_null(s->c);
		}
		suite_case *c = &s->c[s->n++];
		memset(c, 0, sizeof *c);
		c->name = scalar_dup(yaml_document_get_node(d, p->key));
		c->scenario = scalar_dup(desc);
		c->helo = scalar_dup(map_get(d, t, "helo"));
		c->host = scalar_dup(map_get(d, t, "host"));
		c->mailfrom = scalar_dup(map_get(d, t, "mailfrom"));
		c->explanation = scalar_dup(map_get(d, t, "explanation"));
		c->zone = z;
		yaml_node_t *r = map_get(d, t, "result");
		if (r && r->type == YAML_SCALAR_NODE) {
			c->results[c->n_results++] = scalar_dup(r);
		} else if (r && r->type == YAML_SEQUENCE_NODE) {
			for (yaml_node_item_t *it = r->data.sequence.items.start;
			    it < r->data.sequence.items.top &&
			    c->n_results < MAX_RESULTS; it++)
				c->results[c->n_results++] = scalar_dup(
				    yaml_document_get_node(d, *it));
		}
		size_t n = strlen(tag) + strlen(c->name) + 2;
		c->test_name = malloc(n);
		assert_non_null(c->test_name);
		snprintf(c->test_name, n, "%s %s", tag, c->name);
		assert_non_null(c->host);
		assert_true(c->n_results > 0);
		if (!c->mailfrom)
			c->mailfrom = strdup("");
	}
}

static void load_suite(const char *path, const char *tag, suite *s)
{
	memset(s, 0, sizeof *s);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s (tests run from the repository "
		    "root)\n", path);
		exit(1);
	}
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	for (;;) {
		yaml_document_t d;
		if (!yaml_parser_load(&p, &d)) {
			fprintf(stderr, "%s: YAML error: %s\n", path,
			    p.problem ? p.problem : "?");
			exit(1);
		}
		yaml_node_t *root = yaml_document_get_root_node(&d);
		if (!root) {
			yaml_document_delete(&d);
			break;
		}
		load_doc(&d, root, s, tag);
		yaml_document_delete(&d);
	}
	yaml_parser_delete(&p);
	fclose(f);
}

static void free_suite(suite *s)
{
	for (size_t i = 0; i < s->n; i++) {
		suite_case *c = &s->c[i];
		free(c->name);
		free(c->scenario);
		free(c->helo);
		free(c->host);
		free(c->mailfrom);
		free(c->explanation);
		free(c->test_name);
		for (size_t j = 0; j < c->n_results; j++)
			free(c->results[j]);
	}
	free(s->c);
	for (size_t i = 0; i < s->n_zones; i++)
		spfz_free(s->zones[i]);
	free(s->zones);
}

/* --- running a case ----------------------------------------------------- */

/*
 * Runs one case; returns 1 when the result (and explanation) is one the
 * suite accepts.  *why gets a message on a mismatch.
 */
static int run_case(const suite_case *c, sd_spf_result *out, char *why,
    size_t whylen)
{
	sd_resolver *res = spfz_resolver(c->zone);
	assert_non_null(res);
	memset(out, 0, sizeof *out);
	sd_error rc = sd_spf_eval(res, c->host, c->mailfrom, c->helo,
	    sd_now_ms() + 10000, out);
	sd_resolver_free(res);
	if (rc != SD_OK) {
		snprintf(why, whylen, "sd_spf_eval returned %d (%s)", rc,
		    out->problem ? out->problem : "");
		return 0;
	}
	const char *got = sd_spf_code_name(out->result);
	int ok = 0;
	for (size_t i = 0; i < c->n_results; i++)
		if (strcmp(c->results[i], got) == 0)
			ok = 1;
	if (!ok) {
		snprintf(why, whylen, "result %s, expected %s%s", got,
		    c->results[0], c->n_results > 1 ? " (or another listed)"
		    : "");
		return 0;
	}
	if (c->explanation) {
		int want_default = strcmp(c->explanation, "DEFAULT") == 0;
		if (want_default ? out->explanation != NULL :
		    (!out->explanation ||
		    strcmp(out->explanation, c->explanation) != 0)) {
			snprintf(why, whylen, "explanation \"%s\", expected "
			    "%s%s%s", out->explanation ? out->explanation :
			    "(none)", want_default ? "" : "\"",
			    want_default ? "none (DEFAULT)" : c->explanation,
			    want_default ? "" : "\"");
			return 0;
		}
	}
	return 1;
}

static void print_trace(const sd_spf_result *r)
{
	for (size_t i = 0; i < r->n_trace; i++)
		print_message("#   %s\n", r->trace[i]);
}

static void test_suite_case(void **state)
{
	const suite_case *c = *state;
	sd_spf_result out;
	char why[600];
	int ok = run_case(c, &out, why, sizeof why);
	/* SPF_TEST_VERBOSE=1 shows every trace, not only those that fail */
	if (!ok || getenv("SPF_TEST_VERBOSE")) {
		print_message("# %s (%s): ip=%s sender=\"%s\" helo=\"%s\"\n",
		    c->name, c->scenario ? c->scenario : "", c->host,
		    c->mailfrom, c->helo ? c->helo : "");
		print_trace(&out);
	}
	/* every result carries a trace ending with the result line */
	int traced = out.n_trace > 0 &&
	    strncmp(out.trace[out.n_trace - 1], "result: ", 8) == 0;
	sd_spf_result_clear(&out);
	if (!ok)
		fail_msg("%s: %s", c->name, why);
	assert_true(traced);
}

/* --- RFC 4408 ------------------------------------------------------------- */

/*
 * Tests of the RFC 4408 suite whose expected answer RFC 7208 changed and
 * that this evaluator answers the RFC 7208 way.  None today: the 2009.10
 * release of the RFC 4408 suite already accepts the RFC 7208 answers.  A
 * name added here must be explained in docs/spf.md ("RFC 4408 suite").
 */
static const char *const rfc4408_known[] = {
	NULL,
};

static int is_known(const char *name)
{
	for (size_t i = 0; rfc4408_known[i]; i++)
		if (strcmp(rfc4408_known[i], name) == 0)
			return 1;
	return 0;
}

static void test_rfc4408(void **state)
{
	suite *s = *state;
	size_t agree = 0, known = 0, unknown = 0;
	for (size_t i = 0; i < s->n; i++) {
		const suite_case *c = &s->c[i];
		sd_spf_result out;
		char why[600];
		if (run_case(c, &out, why, sizeof why)) {
			agree++;
		} else if (is_known(c->name)) {
			known++;
			print_message("# rfc4408 %s: %s (an RFC 7208 change)\n",
			    c->name, why);
		} else {
			unknown++;
			print_message("# rfc4408 %s: %s (NOT a known "
			    "difference)\n", c->name, why);
			print_trace(&out);
		}
		sd_spf_result_clear(&out);
	}
	print_message("# rfc4408 suite: %zu of %zu agree, %zu known RFC 7208 "
	    "differences, %zu other\n", agree, s->n, known, unknown);
	assert_int_equal(unknown, 0);
}

int main(void)
{
	suite s7208, s4408;
	load_suite(SUITE_7208, "rfc7208", &s7208);
	load_suite(SUITE_4408, "rfc4408", &s4408);

	struct CMUnitTest *tests = calloc(s7208.n + 1, sizeof *tests);
	if (!tests)
		return 1;
	for (size_t i = 0; i < s7208.n; i++) {
		tests[i].name = s7208.c[i].test_name;
		tests[i].test_func = test_suite_case;
		tests[i].initial_state = &s7208.c[i];
	}
	tests[s7208.n].name = "rfc4408 suite (known differences only)";
	tests[s7208.n].test_func = test_rfc4408;
	tests[s7208.n].initial_state = &s4408;

	int rc = _cmocka_run_group_tests("spf_suites", tests, s7208.n + 1,
	    NULL, NULL);
	free(tests);
	free_suite(&s7208);
	free_suite(&s4408);
	return rc;
}
