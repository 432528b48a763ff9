/*
 * The fact schema (data/facts.def): every kind of fact, its members,
 * their JSON types and the values allowed.  sd_fact_add() holds every fact
 * to it in test builds; `explain` holds the facts of a saved report to it.
 */
#ifndef SD_FACTS_H
#define SD_FACTS_H

#include <jansson.h>
#include <stddef.h>

/*
 * 0 when `fact` fits the schema: it has a known "kind", a stage of that
 * kind, and every member is declared for the kind (or for every fact)
 * with a declared type and an allowed value.  Otherwise -1 and `why`
 * (may be NULL) says what does not fit.
 */
int sd_fact_check(const json_t *fact, char *why, size_t len);

/*
 * Reading a member of a fact: what a rule does instead of json_object_get.
 * A member read as a type the schema does not declare for the fact's kind
 * (an undeclared member, a string read as a number, a comparison with a
 * value the member never takes) is a bug of the rule: test builds abort.
 * An absent member reads as "", 0 or false.  An object without a "kind"
 * (the report's config, a certificate of a chain) is read unchecked.
 */
const char *sd_fact_str(const json_t *f, const char *member);
long long sd_fact_int(const json_t *f, const char *member);
int sd_fact_bool(const json_t *f, const char *member);
int sd_fact_is(const json_t *f, const char *member, const char *value);

/* The kind of a fact from its id, for reports written before facts
 * carried one ("tcp.587.192.0.2.1" -> "tcp"); NULL when unknown. */
const char *sd_fact_kind_of_id(const json_t *fact);


/* The schema as rows, for the test that holds docs/json.md to it. */
typedef struct sd_fact_row {
	const char *kind, *member, *types, *values;
} sd_fact_row;
size_t sd_fact_row_count(void);
sd_fact_row sd_fact_row_at(size_t i);

#endif
