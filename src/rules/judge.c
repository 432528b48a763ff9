/* The candidate-and-rank engine; see judge.h. */
#include "rules/judge.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sd_cand *sd_judge_add(sd_judge *j, const char *code, sd_sev sev,
    const char *subject, json_t *evidence, json_t *fix, const char *fmt, ...)
{
	if (!subject)
		subject = "";
	for (size_t i = 0; i < j->n; i++)
		if (strcmp(j->c[i].code, code) == 0 &&
		    strcmp(j->c[i].subject, subject) == 0) {
			if (sev > j->c[i].sev)
				j->c[i].sev = sev;
			json_decref(evidence);
			json_decref(fix);
			return &j->c[i];
		}
	if (j->n == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 4;
		sd_cand *nc = realloc(j->c, cap * sizeof *nc);
		if (!nc) {
			json_decref(evidence);
			json_decref(fix);
			return NULL;
		}
		j->c = nc;
		j->cap = cap;
	}
	sd_cand *c = &j->c[j->n];
	memset(c, 0, sizeof *c);
	snprintf(c->code, sizeof c->code, "%s", code);
	c->sev = sev;
	snprintf(c->subject, sizeof c->subject, "%s", subject);
	char buf[1500];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	c->summary = strdup(buf);
	c->evidence = evidence ? evidence : json_array();
	c->fix = fix;
	c->seq = j->n;
	j->n++;
	return c;
}

/* An entry ending in "." names every code it begins ("recipient."), "*"
 * every code. */
static int entry_names(const char *entry, const char *code)
{
	size_t n = strlen(entry);
	if (n && entry[n - 1] == '.')
		return strncmp(entry, code, n) == 0;
	return strcmp(entry, "*") == 0 || strcmp(entry, code) == 0;
}

size_t sd_judge_rank_of(const char *const order[], const char *code)
{
	for (size_t i = 0; order && order[i]; i++)
		if (entry_names(order[i], code))
			return i;
	return SIZE_MAX;
}

/* qsort has no context argument: the order in force, per thread so that
 * two judges can rank at once */
static _Thread_local const char *const *rank_order;

static int cmp_cand(const void *a, const void *b)
{
	const sd_cand *x = a, *y = b;
	if (x->sev != y->sev)
		return (int)y->sev - (int)x->sev;
	size_t rx = sd_judge_rank_of(rank_order, x->code);
	size_t ry = sd_judge_rank_of(rank_order, y->code);
	if (rx != ry)
		return rx < ry ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void sd_judge_rank(sd_judge *j, const char *const order[])
{
	if (!j->n)
		return;
	rank_order = order;
	qsort(j->c, j->n, sizeof *j->c, cmp_cand);
	rank_order = NULL;
}

const sd_cand *sd_judge_top(const sd_judge *j, const char *const order[],
    sd_sev min)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->c[i].sev >= min &&
		    sd_judge_rank_of(order, j->c[i].code) != SIZE_MAX)
			return &j->c[i];
	return NULL;
}

void sd_judge_verdict(sd_report *r, const sd_cand *c, int status,
    const char *summary)
{
	sd_verdict_set(r, c->code, status, summary ? summary : c->summary,
	    c->fix ? json_deep_copy(c->fix) : NULL,
	    json_deep_copy(c->evidence));
}

const char *sd_sev_name(sd_sev sev)
{
	return sev == SD_SEV_ERROR ? "error" : sev == SD_SEV_WARN ? "warning" :
	    "info";
}

void sd_judge_finish(sd_judge *j, sd_report *r)
{
	for (size_t i = 0; i < j->n; i++) {
		sd_cand *c = &j->c[i];
		sd_finding_add(r, c->code, sd_sev_name(c->sev), c->subject,
		    c->summary, json_incref(c->evidence));
	}
	sd_judge_free(j);
}

void sd_judge_free(sd_judge *j)
{
	for (size_t i = 0; i < j->n; i++) {
		free(j->c[i].summary);
		json_decref(j->c[i].evidence);
		json_decref(j->c[i].fix);
	}
	free(j->c);
	j->c = NULL;
	j->n = j->cap = 0;
}
