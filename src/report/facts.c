/* The fact schema; see facts.h and data/facts.def. */
#include "report/facts.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sd_config.h"
#include "util/strtab.h"
#include "util/util.h"

/* The strings of data/facts.def, and its rows as offsets into them (a
 * table the loader need not write: util/strtab.h). */
static const struct fact_strs {
#define FACT(k, stages, what) SD_STRTAB_FIELD(fk_, k) \
	SD_STRTAB_FIELD(fs_, stages) SD_STRTAB_FIELD(fw_, what)
#define MEMBER(k, m, types, values) SD_STRTAB_FIELD(mk_, k) \
	SD_STRTAB_FIELD(mm_, m) SD_STRTAB_FIELD(mt_, types) \
	SD_STRTAB_FIELD(mv_, values)
#include "../../data/facts.def"
#undef FACT
#undef MEMBER
} strs = {
#define FACT(k, stages, what) k, stages, what,
#define MEMBER(k, m, types, values) k, m, types, values,
#include "../../data/facts.def"
#undef FACT
#undef MEMBER
};
#define STR(off) sd_strtab_str(&strs, off)

typedef struct kind_row {
	sd_stroff kind, stages, what;
} kind_row;

static const kind_row kinds[] = {
#define FACT(k, stages, what) { SD_STRTAB_AT(fact_strs, fk_, k), \
	SD_STRTAB_AT(fact_strs, fs_, stages), SD_STRTAB_AT(fact_strs, fw_, what) },
#define MEMBER(k, m, types, values)
#include "../../data/facts.def"
#undef FACT
#undef MEMBER
};

typedef struct member_row {
	sd_stroff kind, member, types, values;
} member_row;

static const member_row members[] = {
#define FACT(k, stages, what)
#define MEMBER(k, m, types, values) { SD_STRTAB_AT(fact_strs, mk_, k), \
	SD_STRTAB_AT(fact_strs, mm_, m), SD_STRTAB_AT(fact_strs, mt_, types), \
	SD_STRTAB_AT(fact_strs, mv_, values) },
#include "../../data/facts.def"
#undef FACT
#undef MEMBER
};

size_t sd_fact_row_count(void)
{
	return sizeof members / sizeof members[0];
}

sd_fact_row sd_fact_row_at(size_t i)
{
	const member_row *r = &members[i];
	return (sd_fact_row){ STR(r->kind), STR(r->member), STR(r->types),
	    STR(r->values) };
}

static const kind_row *kind_row_of(const char *kind)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		const char *k = STR(kinds[i].kind);
		if (k[0] == kind[0] && strcmp(k, kind) == 0)
			return &kinds[i];
	}
	return NULL;
}

/* Where each kind's members sit in members[]: data/facts.def lists them
 * together after their FACT line, so one range a kind (computed once); a
 * kind whose members are not together is searched whole. */
#define N_KINDS (sizeof kinds / sizeof kinds[0])
#define N_MEMBERS (sizeof members / sizeof members[0])
static size_t range_from[N_KINDS], range_to[N_KINDS];
static const kind_row *every_fact;   /* the kind "*" */
static pthread_once_t ranges_once = PTHREAD_ONCE_INIT;

/* One pass over the table: a block of rows of one kind at a time. */
static void find_ranges(void)
{
	int seen[N_KINDS] = { 0 };
	every_fact = kind_row_of("*");
	for (size_t i = 0; i < N_MEMBERS;) {
		size_t j = i + 1;
		while (j < N_MEMBERS && strcmp(STR(members[j].kind),
		    STR(members[i].kind)) == 0)
			j++;
		const kind_row *k = kind_row_of(STR(members[i].kind));
		if (k) {
			size_t x = (size_t)(k - kinds);
			/* a second block of the kind: search it whole */
			range_from[x] = seen[x] ? 0 : i;
			range_to[x] = seen[x] ? N_MEMBERS : j;
			seen[x] = 1;
		}
		i = j;
	}
}

static const member_row *member_in(size_t k, const char *member)
{
	for (size_t i = range_from[k]; i < range_to[k]; i++) {
		const char *m = STR(members[i].member);
		if (m[0] == member[0] && strcmp(m, member) == 0 &&
		    strcmp(STR(members[i].kind), STR(kinds[k].kind)) == 0)
			return &members[i];
	}
	return NULL;
}

/* Every member of every fact added is looked up here (a run of `spf`
 * spent a sixth of its CPU time scanning the whole table): the members
 * every fact has, then the kind's own (k: the kind's row, or NULL). */
static const member_row *member_of(const kind_row *k, const char *member)
{
	pthread_once(&ranges_once, find_ranges);
	const member_row *row = every_fact ?
	    member_in((size_t)(every_fact - kinds), member) : NULL;
	if (!row && k)
		row = member_in((size_t)(k - kinds), member);
	return row;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "int";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "bool";
	case JSON_NULL: return "null";
	}
	return "null";
}

static int misfit(char *why, size_t len, const char *fmt, const char *a,
    const char *b, const char *c)
{
	if (why)
		snprintf(why, len, fmt, a, b, c);
	return -1;
}

/* A rule reads `member` of `f` as `type` (and compares it with `value`,
 * when not NULL): in test builds, the schema must allow it. */
static void read_checked(const json_t *f, const char *member,
    const char *type, const char *value)
{
#ifdef SD_STRICT_CODES
	const char *kind = json_string_value(json_object_get(f, "kind"));
	if (!kind)
		return;
	const member_row *row = member_of(kind_row_of(kind), member);
	const char *bad = !row ? "is not declared" :
	    !sd_word_in(STR(row->types), type) ? "is not of the type read" :
	    value && *STR(row->values) && !sd_word_in(STR(row->values), value) ?
	    "never takes the value compared" : NULL;
	if (bad) {
		fprintf(stderr, "smtpdoctor: internal error: a rule reads %s.%s "
		    "as %s%s%s: it %s (data/facts.def)\n", kind, member, type,
		    value ? " = " : "", value ? value : "", bad);
		abort();
	}
#else
	(void)f;
	(void)member;
	(void)type;
	(void)value;
#endif
}

const char *sd_fact_str(const json_t *f, const char *member)
{
	read_checked(f, member, "string", NULL);
	const char *s = json_string_value(json_object_get(f, member));
	return s ? s : "";
}

long long sd_fact_int(const json_t *f, const char *member)
{
	read_checked(f, member, "int", NULL);
	return json_integer_value(json_object_get(f, member));
}

int sd_fact_bool(const json_t *f, const char *member)
{
	read_checked(f, member, "bool", NULL);
	return json_is_true(json_object_get(f, member));
}

int sd_fact_is(const json_t *f, const char *member, const char *value)
{
	read_checked(f, member, "string", value);
	const char *s = json_string_value(json_object_get(f, member));
	return s && strcmp(s, value) == 0;
}

int sd_fact_check(const json_t *fact, char *why, size_t len)
{
	const char *kind = json_string_value(json_object_get(fact, "kind"));
	const char *id = json_string_value(json_object_get(fact, "id"));
	if (!id)
		id = "(no id)";
	const kind_row *k = kind ? kind_row_of(kind) : NULL;
	if (!k)
		return misfit(why, len, "%s: kind %s is not in data/facts.def%s",
		    id, kind ? kind : "(none)", "");
	const char *stage = json_string_value(json_object_get(fact, "stage"));
	const char *stages = STR(k->stages);
	if (!stage || (*stages && !sd_word_in(stages, stage)))
		return misfit(why, len, "%s: stage %s is not one of kind %s",
		    id, stage ? stage : "(none)", kind);
	const char *m;
	json_t *v;
	json_object_foreach((json_t *)fact, m, v) {
		const member_row *row = member_of(k, m);
		if (!row)
			return misfit(why, len, "%s: member %s is not declared for "
			    "kind %s", id, m, kind);
		const char *types = STR(row->types), *values = STR(row->values);
		if (!sd_word_in(types, type_name(v)))
			return misfit(why, len, "%s: member %s is not of type %s",
			    id, m, types);
		if (*values && json_is_string(v) &&
		    !sd_word_in(values, json_string_value(v)))
			return misfit(why, len, "%s: %s is not a value of member "
			    "%s", id, json_string_value(v), m);
	}
	return 0;
}

const char *sd_fact_kind_of_id(const json_t *fact)
{
	const char *check = json_string_value(json_object_get(fact, "check"));
	if (check)
		return kind_row_of(check) ? STR(kind_row_of(check)->kind) : NULL;
	const char *id = json_string_value(json_object_get(fact, "id"));
	if (!id)
		return NULL;
	if (strncmp(id, "fix.", 4) == 0)
		id += 4;
	static const struct {
		const char *prefix, *kind;
	} special[] = {
		{ "dns.resolver", "resolver" },
		{ "bounce.message", "bounce_message" },
		{ "bounce.rcpt.", "bounce_rcpt" },
		{ "bounce.returned", "bounce_returned" },
		{ "bounce.sending_ip", "bounce_sending_ip" },
		{ "spf.", "spf_result" },
	};
	for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
		if (strncmp(id, special[i].prefix, strlen(special[i].prefix)) == 0)
			return special[i].kind;
	if (strncmp(id, "dns.", 4) == 0 && json_object_get(fact, "purpose"))
		return "spf_query";
	char first[32];
	size_t n = strcspn(id, ".");
	if (n >= sizeof first)
		return NULL;
	memcpy(first, id, n);
	first[n] = '\0';
	const kind_row *k = kind_row_of(first);
	return k ? STR(k->kind) : NULL;
}
