/*
 * The report under construction: facts, findings, transcript, verdict.
 *
 * Probes add facts and transcript lines from any thread (every function
 * here locks).  Rules read the facts array and add findings and the verdict.
 * Renderers (report_text.c, report_json.c) are the only code that formats
 * output.
 */
#ifndef SD_REPORT_H
#define SD_REPORT_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "smtpdoctor/smtpdoctor.h"

struct sd_report {
	pthread_mutex_t lock;
	char *command;      /* "check", "domain", "spf" */
	int64_t t0_ms;      /* monotonic start of the run */
	time_t started;     /* wall-clock start of the run (started_at) */
	json_t *facts;      /* array of objects, each with "id" and "stage" */
	/* sd_fact_add's index of the ids in facts (id -> the next "#n" to
	 * try), so that adding stays linear however many ids repeat; it covers
	 * the first ids_cover facts and is rebuilt when facts changed behind
	 * its back (a saved report's facts removed or appended directly) */
	json_t *ids;
	size_t ids_cover;
	/* peer text kept so far (transcript lines, facts' "text"), against
	 * SD_RUN_TEXT_BUDGET; what was cut is counted in extra "truncated" */
	size_t text_kept;
	json_t *findings;   /* array of objects (docs/json.md) */
	json_t *transcript; /* array of {conn, dir, t_ms, line} */
	json_t *verdict;    /* object, or NULL until decided */
	json_t *extra;      /* object: more top-level members ("spf", ...) */
	json_t *error;      /* usage error object, or NULL */
	int64_t elapsed_ms;
	/* the run's secrets while it lasts (borrowed, NULL without one):
	 * every text that enters the report passes through sd_redact() */
	const struct sd_secrets *secrets;
	sd_progress_fn progress;  /* from the run's options, or NULL */
	void *progress_arg;
};

sd_report *sd_report_new(const char *command);

/*
 * When the run started, RFC 3339 UTC ("2026-12-06T16:30:44Z") into buf (at
 * least 21 bytes): a saved report's own time when the report was read back
 * (extra member "started_at"), else this run's.
 */
const char *sd_report_started_at(const sd_report *r, char *buf, size_t len);

/*
 * Hands a progress event to the run's hook, if any (sd_report_watch sets
 * it).  sd_fact_add sends a STEP for each fact that has words for people.
 */
void sd_report_watch(sd_report *r, const sd_options *opt);
void sd_report_progress(const sd_report *r, const sd_progress *ev);
/* WAIT / DONE in one call: a NULL `what` is DONE. */
void sd_report_waiting(const sd_report *r, const char *target,
    const char *what, int main_path, double limit_s);

/* Milliseconds since the run started. */
int64_t sd_report_t_ms(const sd_report *r);

/*
 * Adds a fact of `kind` (data/facts.def; NULL: the fact's own "kind"
 * member, for a copied fact); steals `fact`.  Every string in it is
 * escaped (line breaks kept) and, but in the tool's own members, the run's
 * secrets masked.  It must have string members "id" and "stage";
 * "elapsed_ms" is added when missing.  Test builds abort when the fact
 * does not fit the schema.  Returns the id (owned by the report) or NULL
 * when the fact was malformed.  A duplicate id gets a "#2", "#3" suffix so
 * that ids stay unique.
 */
const char *sd_fact_add(sd_report *r, const char *kind, json_t *fact);

/*
 * Orders the facts by id.  Probes add facts from several threads, so their
 * order says which answer came first; sorting before the rules read them
 * keeps the verdict and the report independent of that race.
 */
void sd_report_sort_facts(sd_report *r);

/*
 * Adds a fact of a saved report to r when it fits the schema (a report
 * written before facts carried their kind gets it from the id).  Steals
 * `fact`.  0, or -1 with `why` (may be NULL) when it was left out.
 */
int sd_fact_add_saved(sd_report *r, json_t *fact, char *why, size_t len);

/* The fact with this id, borrowed, or NULL. */
json_t *sd_fact_get(const json_t *facts, const char *id);

/*
 * Adds a transcript line.  `dir` is 'C', 'S' or 'I'.  The run's secrets
 * are masked in the whole line, then it is escaped (sd_sanitize) and
 * capped (SD_TRANSCRIPT_LINE_MAX).
 */
#define SD_TRANSCRIPT_LINE_MAX 512
/*
 * Bytes of a peer's text one run keeps, transcript lines and the "text" of
 * facts together: a server whose every reply is 128 lines of 4 KB, on 8
 * addresses, must not make a report of tens of megabytes.  Transcript lines
 * past three quarters of it are dropped; a fact's text past all of it keeps
 * its first SD_FACT_TEXT_MIN bytes (where a reply's meaning starts); the
 * report's member "truncated" counts what was cut.
 */
#define SD_RUN_TEXT_BUDGET (1u << 20)
#define SD_FACT_TEXT_MIN 1024
void sd_transcript_add(sd_report *r, const char *conn, char dir,
    const char *line, size_t len);

/*
 * Adds a finding.  Steals `evidence` (a JSON array of fact ids, or NULL).
 * `severity` is "error", "warning" or "info"; the category comes from the
 * code registry (data/codes.def), which must allow the severity.
 */
void sd_finding_add(sd_report *r, const char *code, const char *severity,
    const char *subject, const char *summary, json_t *evidence);

/*
 * Sets the verdict.  Steals `fix` and `evidence` (arrays of strings, or
 * NULL for empty).  The category and the default status come from the
 * code registry; `status_override` < 0 keeps the default, any other must
 * be one the registry allows for the code.
 */
void sd_verdict_set(sd_report *r, const char *cause, int status_override,
    const char *summary, json_t *fix, json_t *evidence);

/* Escapes (and masks the run's secrets in) every string inside v, an
 * object or array, as sd_fact_add() does: for what a caller adds to the
 * report itself (explain's copy of a saved transcript). */
void sd_report_clean(const sd_report *r, json_t *v);

/* Sets a top-level member of the report ("spf", "domain", ...); steals v. */
void sd_report_set_extra(sd_report *r, const char *key, json_t *v);

/* The string member `key` of object o, or `none` when o lacks one (for
 * renderers and rules reading a report; facts are read through the typed
 * reads of report/facts.h). */
const char *sd_jstr(const json_t *o, const char *key, const char *none);
/* The report's whole JSON document (what sd_report_to_json() prints), for
 * a caller that adds members or prints it on one line; NULL when out of
 * memory. */
json_t *sd_report_json_doc(const sd_report *r);

/* The renderers beside sd_report_write_text (flags: SD_TEXT_VERBOSE). */
void sd_report_write_markdown(const sd_report *r, FILE *out, int flags);
void sd_report_write_html(const sd_report *r, FILE *out, int flags);

/* A row of the code registry, data/codes.def (see there). */
typedef struct sd_code {
	const char *code;
	const char *category;   /* NULL: the JSON category is null */
	const char *variants;   /* allowed statuses, the default first */
	const char *words;      /* what it means, for people; NULL: info only */
} sd_code;

/* The registry's row for a code, written to *row and returned; NULL when
 * the code is not in the registry. */
const sd_code *sd_code_lookup(const char *code, sd_code *row);

/* A code's default status as a verdict (inconclusive for info codes). */
sd_status sd_code_default(const sd_code *c);
const char *sd_status_name(sd_status s);

#endif
