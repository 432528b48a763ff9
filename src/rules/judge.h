/*
 * The candidate-and-rank engine shared by the rules of every command.
 *
 * A rule reads facts and proposes candidates: a code of the registry
 * (data/codes.def), a severity, what it is about, one sentence for a
 * person, the fix and the ids of the facts that prove it.  The command's
 * precedence is data: an ordered list of codes (sd_judge_rank) or an
 * ordered table of rule functions whose first candidate wins (check).
 * Every candidate ends as a finding (sd_judge_finish); the verdict is set
 * by the caller from the top candidate (sd_judge_verdict).
 *
 * How a command uses it (domain_rules.c, check_rules.c, spf_rules.c,
 * bounce_rules.c):
 *
 *     sd_judge j = SD_JUDGE_INIT;
 *     sd_judge_add(&j, "dns.spf_missing", SD_SEV_ERROR, domain,
 *         evidence, fix, "%s has no SPF record", domain);
 *     ...
 *     sd_judge_rank(&j, order);                   (errors, then `order`)
 *     const sd_cand *top = sd_judge_top(&j, order, SD_SEV_WARN);
 *     sd_judge_verdict(r, top, SD_STATUS_FAIL, top->summary);
 *     sd_judge_finish(&j, r);          (every candidate becomes a finding)
 *
 * Nothing here is static state: a judge lives on its caller's stack, so
 * two reports can be judged at once in one process.
 */
#ifndef SD_JUDGE_H
#define SD_JUDGE_H

#include <jansson.h>
#include <stddef.h>

#include "report/report.h"

typedef enum sd_sev {
	SD_SEV_INFO = 0,
	SD_SEV_WARN = 1,
	SD_SEV_ERROR = 2,
} sd_sev;

typedef struct sd_cand {
	char code[64];
	sd_sev sev;
	char subject[320];
	char *summary;      /* malloc'd */
	json_t *evidence;   /* array of fact ids (never NULL) */
	json_t *fix;        /* array of strings, or NULL */
	size_t seq;         /* order of proposal, the last tie-break */
} sd_cand;

typedef struct sd_judge {
	sd_cand *c;
	size_t n, cap;
} sd_judge;

#define SD_JUDGE_INIT { NULL, 0, 0 }

/*
 * Proposes a candidate.  Steals `evidence` and `fix` (arrays, or NULL).
 * A second candidate with the same code and subject is merged into the
 * first (one problem, one finding; the higher severity stays).  Returns
 * the candidate, or NULL when out of memory.
 */
sd_cand *sd_judge_add(sd_judge *j, const char *code, sd_sev sev,
    const char *subject, json_t *evidence, json_t *fix, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* The position of `code` in the NULL-terminated `order`, or SIZE_MAX.
 * An entry ending in "." names every code that begins with it (a family:
 * "recipient."), and "*" names every code; the first entry that names
 * the code counts. */
size_t sd_judge_rank_of(const char *const order[], const char *code);

/* Sorts the candidates: errors, then warnings, then info; within a
 * severity by `order`, codes it lacks last; then in proposal order. */
void sd_judge_rank(sd_judge *j, const char *const order[]);

/* After sd_judge_rank: the first candidate of at least `min` severity
 * whose code is in `order`, or NULL. */
const sd_cand *sd_judge_top(const sd_judge *j, const char *const order[],
    sd_sev min);

/* Sets r's verdict from a candidate: its code with `status` (< 0: the
 * code's default), `summary` (NULL: the candidate's), its fix and
 * evidence (copied). */
void sd_judge_verdict(sd_report *r, const sd_cand *c, int status,
    const char *summary);

/* "error", "warning", "info". */
const char *sd_sev_name(sd_sev sev);

/* Adds every candidate to r as a finding, in their present order, and
 * frees them; the judge is empty afterwards. */
void sd_judge_finish(sd_judge *j, sd_report *r);

/* Frees every candidate without writing them (a judge consulted only for
 * its top); the judge is empty afterwards. */
void sd_judge_free(sd_judge *j);

#endif
