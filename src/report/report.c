/* The report under construction: facts, findings, transcript, verdict. */
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/facts.h"
#include "sd_config.h"
#include "util/redact.h"
#include "util/strtab.h"
#include "util/util.h"

/* data/codes.def as strings and rows of offsets into them, a table the
 * loader need not write (util/strtab.h). */
#pragma push_macro("NULL")
#undef NULL
#define NULL ""
static const struct code_strs {
#define CODE(c, cat, variants, words) SD_STRTAB_FIELD(c_, c) \
	SD_STRTAB_FIELD(k_, cat) SD_STRTAB_FIELD(v_, variants) \
	SD_STRTAB_FIELD(w_, words)
#include "../../data/codes.def"
#undef CODE
} code_strs = {
#define CODE(c, cat, variants, words) c, cat, variants, words,
#include "../../data/codes.def"
#undef CODE
};
#pragma pop_macro("NULL")

static const struct code_row {
	sd_stroff code, category, variants, words;
} codes[] = {
#define CODE(c, cat, variants, words) { SD_STRTAB_AT(code_strs, c_, c), \
	SD_STRTAB_AT(code_strs, k_, cat), SD_STRTAB_AT(code_strs, v_, variants), \
	SD_STRTAB_AT(code_strs, w_, words) },
#include "../../data/codes.def"
#undef CODE
};

const sd_code *sd_code_lookup(const char *code, sd_code *row)
{
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		const struct code_row *c = &codes[i];
		if (strcmp(sd_strtab_str(&code_strs, c->code), code) == 0) {
			*row = (sd_code){ sd_strtab_str(&code_strs, c->code),
			    sd_strtab_str(&code_strs, c->category),
			    sd_strtab_str(&code_strs, c->variants),
			    sd_strtab_str(&code_strs, c->words) };
			return row;
		}
	}
	return NULL;
}

/*
 * c, the registry's row for `code` (NULL when it has none), checked: a
 * code missing from data/codes.def, or a status (a status or severity
 * word) its row does not allow, is a bug in a rule.  Test builds stop at
 * it so that the unit tests and the lab catch it; other builds go on with
 * what they have.
 */
static const sd_code *code_allowed(const sd_code *c, const char *code,
    const char *status)
{
	if (c && (!status || sd_word_in(c->variants, status)))
		return c;
#ifdef SD_STRICT_CODES
	fprintf(stderr, "smtpdoctor: internal error: %s%s%s is not allowed "
	    "by data/codes.def\n", code ? code : "(null)", status ? " as " :
	    "", status ? status : "");
	abort();
#endif
	return c;
}

/* The registry's row for `code`, checked as above. */
static const sd_code *code_checked(const char *code, const char *status,
    sd_code *row)
{
	return code_allowed(code ? sd_code_lookup(code, row) : NULL, code,
	    status);
}

sd_status sd_code_default(const sd_code *c)
{
	static const sd_status st[] = { SD_STATUS_OK, SD_STATUS_WARN,
	    SD_STATUS_FAIL, SD_STATUS_INCONCLUSIVE };
	for (size_t i = 0; c && i < sizeof st / sizeof st[0]; i++) {
		size_t n = strlen(sd_status_name(st[i]));
		if (strncmp(c->variants, sd_status_name(st[i]), n) == 0 &&
		    (c->variants[n] == ' ' || c->variants[n] == '\0'))
			return st[i];
	}
	return SD_STATUS_INCONCLUSIVE;
}

const char *sd_status_name(sd_status s)
{
	switch (s) {
	case SD_STATUS_OK: return "ok";
	case SD_STATUS_WARN: return "warn";
	case SD_STATUS_FAIL: return "fail";
	case SD_STATUS_INCONCLUSIVE: return "inconclusive";
	}
	return "inconclusive";
}

const char *sd_strerror(sd_error err)
{
	switch (err) {
	case SD_OK: return "no error";
	case SD_ERR_USAGE: return "invalid input";
	case SD_ERR_NOMEM: return "out of memory";
	case SD_ERR_INTERNAL: return "internal error";
	}
	return "unknown error";
}

sd_report *sd_report_new(const char *command)
{
	sd_report *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->command = strdup(command);
	r->t0_ms = sd_now_ms();
	r->started = time(NULL);
	r->facts = json_array();
	r->findings = json_array();
	r->transcript = json_array();
	r->extra = json_object();
	if (!r->command || !r->facts || !r->findings || !r->transcript ||
	    !r->extra) {
		sd_report_free(r);
		return NULL;
	}
	return r;
}

void sd_report_free(sd_report *r)
{
	if (!r)
		return;
	json_decref(r->facts);
	json_decref(r->ids);
	json_decref(r->findings);
	json_decref(r->transcript);
	json_decref(r->verdict);
	json_decref(r->extra);
	json_decref(r->error);
	pthread_mutex_destroy(&r->lock);
	free(r->command);
	free(r);
}

void sd_report_watch(sd_report *r, const sd_options *opt)
{
	r->progress = opt ? opt->progress : NULL;
	r->progress_arg = opt ? opt->progress_arg : NULL;
}

void sd_report_progress(const sd_report *r, const sd_progress *ev)
{
	if (r && r->progress)
		r->progress(r->progress_arg, ev);
}

void sd_report_waiting(const sd_report *r, const char *target,
    const char *what, int main_path, double limit_s)
{
	sd_progress ev = {
		.kind = what ? SD_PROGRESS_WAIT : SD_PROGRESS_DONE,
		.target = target, .what = what, .main_path = main_path,
		.limit_s = limit_s,
	};
	sd_report_progress(r, &ev);
}

const char *sd_report_started_at(const sd_report *r, char *buf, size_t len)
{
	const char *saved = json_string_value(json_object_get(r->extra,
	    "started_at"));
	if (saved)
		snprintf(buf, len, "%s", saved);
	else
		sd_utc_text((int64_t)r->started, buf, len);
	return buf;
}

int64_t sd_report_t_ms(const sd_report *r)
{
	return sd_now_ms() - r->t0_ms;
}

json_t *sd_fact_get(const json_t *facts, const char *id)
{
	size_t i;
	json_t *f;
	json_array_foreach(facts, i, f) {
		const char *fid = json_string_value(json_object_get(f, "id"));
		if (fid && strcmp(fid, id) == 0)
			return f;
	}
	return NULL;
}

/* Members that hold the tool's own identifiers and words, never a peer's
 * text: evidence points at ids and the rules branch on these words, so a
 * password that happens to be "ok" must not change the diagnosis.  They
 * are escaped like every string, never redacted. */
static const char *const own_members[] = {
	"id", "stage", "role", "conn", "result", "status", "mode", "timeout",
	"proto", "syntax", "type", "errno", "host", "addr", "code", "severity",
	"category", "cause", "evidence", NULL,
};

static int own_member(const char *key)
{
	for (size_t i = 0; key && own_members[i]; i++)
		if (key[0] == own_members[i][0] &&
		    strcmp(key, own_members[i]) == 0)
			return 1;
	return 0;
}

/* Bytes of one string escaped at most (a saved report given to explain
 * may hold any): the escaped text stays under 4 MiB. */
#define CLEAN_MAX (1u << 20)

/* The string v as it may enter the report, or NULL when it can as it is:
 * the run's secrets masked (but in the tool's own members) and controls
 * escaped, line breaks kept (a reply's lines are data); so no JSON string
 * carries a raw control, C1 or bidi character either. */
static json_t *cleaned(const sd_secrets *sec, const json_t *v, int own)
{
	const char *in = json_string_value(v);
	size_t len = json_string_length(v), n = len;
	char *red = NULL;
	if (!in)
		return NULL;
	if (!own && sd_secrets_active(sec)) {
		red = sd_redact_dup(sec, in, len, &n);
		if (!red)
			return json_string(SD_REDACT_MASK);  /* fail closed */
	}
	const char *t = red ? red : in;
	/* most strings need nothing: no copy (a saved report's may be
	 * megabytes) */
	if (!red && sd_escaped_len(t, n, SD_ESC_KEEP_NL) == n)
		return NULL;
	/* escaping can make a string four times longer: one that holds
	 * more than CLEAN_MAX bytes to escape is cut, and says so */
	char *esc = sd_escape(t, n, CLEAN_MAX, SD_ESC_KEEP_NL);
	free(red);
	if (!esc)
		return json_string("");
	json_t *j;
	if (n > CLEAN_MAX) {
		j = json_sprintf("%s ... (%zu bytes)", esc, n);
	} else {
		j = strlen(esc) == len && memcmp(esc, in, len) == 0 ? NULL :
		    json_string(esc);
	}
	free(esc);
	return j;
}

/* Cleans every string inside v (an object or array).  Without secrets
 * in the run (sec NULL or none active), which member holds a string does
 * not matter: the tool's own members are not looked up then. */
static void clean_json(const sd_secrets *sec, json_t *v)
{
	const char *key;
	json_t *x, *tmp;
	size_t i;
	int secrets = sd_secrets_active(sec);
	if (json_is_object(v)) {
		json_object_foreach_safe(v, tmp, key, x) {
			int own = secrets && own_member(key);
			if (json_is_string(x)) {
				json_t *c = cleaned(sec, x, own);
				if (c)
					json_object_set_new(v, key, c);
			} else {
				clean_json(own ? NULL : sec, x);
			}
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			json_t *c = json_is_string(x) ? cleaned(sec, x, 0) : NULL;
			if (c)
				json_array_set_new(v, i, c);
			else if (!json_is_string(x))
				clean_json(sec, x);
		}
	}
}

/* Counts a cut in the report's "truncated" member (under r->lock). */
static void count_cut(sd_report *r, const char *what, size_t n)
{
	json_t *t = json_object_get(r->extra, "truncated");
	if (!t) {
		t = json_pack("{s:I}", "budget_bytes",
		    (json_int_t)SD_RUN_TEXT_BUDGET);
		if (!t || json_object_set_new(r->extra, "truncated", t) != 0)
			return;
	}
	json_t *v = json_object_get(t, what);
	json_object_set_new(t, what, json_integer(
	    (v ? json_integer_value(v) : 0) + (json_int_t)n));
}

/* Charges a fact's "text" to the run's budget (under r->lock): past it,
 * the text keeps its first SD_FACT_TEXT_MIN bytes (whole characters). */
static void charge_fact_text(sd_report *r, json_t *fact)
{
	json_t *t = json_object_get(fact, "text");
	const char *s = json_string_value(t);
	if (!s)
		return;
	size_t len = json_string_length(t);
	size_t left = r->text_kept < SD_RUN_TEXT_BUDGET ?
	    SD_RUN_TEXT_BUDGET - r->text_kept : 0;
	if (len <= left || len <= SD_FACT_TEXT_MIN) {
		r->text_kept += len;
		return;
	}
	size_t keep = left > SD_FACT_TEXT_MIN ? left : SD_FACT_TEXT_MIN;
	while (keep && ((unsigned char)s[keep] & 0xC0) == 0x80)
		keep--;
	r->text_kept += keep;
	count_cut(r, "fact_text_bytes", len - keep);
	count_cut(r, "facts", 1);
	json_object_set_new(fact, "text_cut", json_integer((json_int_t)(len -
	    keep)));
	json_object_set_new(fact, "text", json_stringn(s, keep));
}

/* Makes r->ids index every fact of r->facts (under r->lock).  0 when out
 * of memory. */
static int index_ids(sd_report *r)
{
	size_t n = json_array_size(r->facts);
	if (r->ids && r->ids_cover == n)
		return 1;
	json_decref(r->ids);
	r->ids = json_object();
	r->ids_cover = 0;
	if (!r->ids)
		return 0;
	size_t i;
	json_t *f;
	json_array_foreach(r->facts, i, f) {
		const char *id = json_string_value(json_object_get(f, "id"));
		if (id && !json_object_get(r->ids, id) &&
		    json_object_set_new(r->ids, id, json_integer(2)) != 0)
			return 0;
	}
	r->ids_cover = n;
	return 1;
}

/* A free id for a fact whose id is taken: "ID#n" with the lowest n not
 * tried before for ID (malloc'd), NULL when out of memory. */
static char *free_id(sd_report *r, const char *id)
{
	json_t *next = json_object_get(r->ids, id);
	json_int_t n = json_integer_value(next);
	/* sized from the id: a truncated "#n" would never be unique */
	size_t cap = strlen(id) + 24;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	do
		snprintf(buf, cap, "%s#%lld", id, (long long)n++);
	while (json_object_get(r->ids, buf));
	json_integer_set(next, n);
	return buf;
}

/* A fact that does not fit data/facts.def is a bug of its probe: test
 * builds stop at it, as at a code the registry lacks. */
static void fact_checked(const json_t *fact)
{
#ifdef SD_STRICT_CODES
	char why[400];
	if (sd_fact_check(fact, why, sizeof why) != 0) {
		fprintf(stderr, "smtpdoctor: internal error: %s (data/facts.def)\n",
		    why);
		abort();
	}
#else
	(void)fact;
#endif
}

int sd_fact_add_saved(sd_report *r, json_t *f, char *why, size_t len)
{
	if (!json_is_object(f)) {
		json_decref(f);
		if (why)
			snprintf(why, len, "a fact that is not an object");
		return -1;
	}
	if (!json_is_string(json_object_get(f, "kind"))) {
		const char *kind = sd_fact_kind_of_id(f);
		if (kind)
			json_object_set_new(f, "kind", json_string(kind));
	}
	if (sd_fact_check(f, why, len) != 0) {
		json_decref(f);
		return -1;
	}
	if (sd_fact_add(r, NULL, f))
		return 0;
	if (why)
		snprintf(why, len, "a fact without id or stage");
	return -1;
}

const char *sd_fact_add(sd_report *r, const char *kind, json_t *fact)
{
	if (kind && fact)
		json_object_set_new(fact, "kind", json_string(kind));
	clean_json(r->secrets, fact);
	const char *id = json_string_value(json_object_get(fact, "id"));
	if (!id || !json_is_string(json_object_get(fact, "stage"))) {
		json_decref(fact);
		return NULL;
	}
	pthread_mutex_lock(&r->lock);
	if (!index_ids(r))
		goto oom;
	if (json_object_get(r->ids, id)) {
		char *buf = free_id(r, id);
		if (!buf)
			goto oom;
		json_object_set_new(fact, "id", json_string(buf));
		free(buf);
		id = json_string_value(json_object_get(fact, "id"));
	}
	if (!id || json_object_set_new(r->ids, id, json_integer(2)) != 0)
		goto oom;
	charge_fact_text(r, fact);
	if (!json_object_get(fact, "elapsed_ms"))
		json_object_set_new(fact, "elapsed_ms",
		    json_integer(sd_report_t_ms(r)));
	fact_checked(fact);
	json_array_append_new(r->facts, fact);
	r->ids_cover++;
	/* a stage's result as it ends (for -v), when it has words for people;
	 * under the lock: another thread may change the fact once it is out */
	const char *detail = json_string_value(json_object_get(fact, "detail"));
	if (r->progress && detail &&
	    !json_is_true(json_object_get(fact, "quiet"))) {
		json_t *ok = json_object_get(fact, "ok");
		sd_progress ev = {
			.kind = SD_PROGRESS_STEP, .detail = detail,
			.what = json_string_value(json_object_get(fact, "stage")),
			.ok = json_is_boolean(ok) ? json_is_true(ok) : -1,
		};
		sd_report_progress(r, &ev);
	}
	pthread_mutex_unlock(&r->lock);
	return id;
oom:
	pthread_mutex_unlock(&r->lock);
	json_decref(fact);
	return NULL;
}

static int fact_id_cmp(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a,
	    "id"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b,
	    "id"));
	return strcmp(x ? x : "", y ? y : "");
}

void sd_report_sort_facts(sd_report *r)
{
	pthread_mutex_lock(&r->lock);
	size_t n = json_array_size(r->facts);
	json_t **v = n ? malloc(n * sizeof *v) : NULL;
	if (v) {
		for (size_t i = 0; i < n; i++)
			v[i] = json_incref(json_array_get(r->facts, i));
		qsort(v, n, sizeof *v, fact_id_cmp);
		json_array_clear(r->facts);
		for (size_t i = 0; i < n; i++)
			json_array_append_new(r->facts, v[i]);
		free(v);
	}
	pthread_mutex_unlock(&r->lock);
}

void sd_transcript_add(sd_report *r, const char *conn, char dir,
    const char *line, size_t len)
{
	/* masked before the cap: a cut must not leave half a secret */
	size_t rlen = len;
	char *red = sd_secrets_active(r->secrets) ?
	    sd_redact_dup(r->secrets, line, len, &rlen) : NULL;
	if (red)
		line = red;
	char *clean = sd_sanitize(line, rlen, SD_TRANSCRIPT_LINE_MAX);
	free(red);
	if (!clean)
		return;
	if (rlen > SD_TRANSCRIPT_LINE_MAX) {
		char *longer = realloc(clean, strlen(clean) + 40);
		if (longer) {
			clean = longer;
			snprintf(clean + strlen(clean), 40, " ... (%zu bytes)",
			    len);
		}
	}
	char d[2] = { dir, 0 };
	json_t *e = json_pack("{s:s, s:s, s:I, s:s}", "conn", conn, "dir", d,
	    "t_ms", (json_int_t)sd_report_t_ms(r), "line", clean);
	free(clean);
	if (!e)
		return;
	size_t n = json_string_length(json_object_get(e, "line"));
	pthread_mutex_lock(&r->lock);
	/* the transcript stops at three quarters: the rest is for the facts,
	 * which the rules read */
	if (r->text_kept + n > SD_RUN_TEXT_BUDGET / 4 * 3) {
		count_cut(r, "transcript_lines", 1);
		count_cut(r, "transcript_bytes", n);
		json_decref(e);
	} else {
		r->text_kept += n;
		json_array_append_new(r->transcript, e);
	}
	pthread_mutex_unlock(&r->lock);
}

/* A summary of ours as a JSON string: one that a fixed buffer cut inside a
 * character is kept, escaped, rather than lost. */
static json_t *json_text(const char *s)
{
	json_t *j = json_string(s ? s : "");
	if (!j) {
		char *e = sd_sanitize(s, strlen(s), strlen(s));
		j = json_string(e ? e : "");
		free(e);
	}
	return j;
}

/* The status word a finding's severity needs in the registry. */
static const char *severity_status(const char *severity)
{
	return strcmp(severity, "error") == 0 ? "fail" :
	    strcmp(severity, "warning") == 0 ? "warn" :
	    strcmp(severity, "info") == 0 ? "info" : "(bad severity)";
}

void sd_finding_add(sd_report *r, const char *code, const char *severity,
    const char *subject, const char *summary, json_t *evidence)
{
	sd_code row;
	const sd_code *c = code_checked(code, severity_status(severity), &row);
	json_t *f = json_object();
	json_object_set_new(f, "code", json_string(code));
	json_object_set_new(f, "severity", json_string(severity));
	json_object_set_new(f, "category", c && c->category ?
	    json_string(c->category) : json_null());
	json_object_set_new(f, "subject", json_text(subject));
	json_object_set_new(f, "summary", json_text(summary));
	json_object_set_new(f, "evidence", evidence ? evidence : json_array());
	clean_json(r->secrets, f);
	pthread_mutex_lock(&r->lock);
	json_array_append_new(r->findings, f);
	pthread_mutex_unlock(&r->lock);
}

void sd_verdict_set(sd_report *r, const char *cause, int status_override,
    const char *summary, json_t *fix, json_t *evidence)
{
	sd_code row;
	const sd_code *c = sd_code_lookup(cause, &row);
	sd_status st = c ? sd_code_default(c) : SD_STATUS_INCONCLUSIVE;
	if (status_override >= 0)
		st = (sd_status)status_override;
	c = code_allowed(c, cause, sd_status_name(st));
	const char *category = c ? c->category : NULL;
	if (st == SD_STATUS_OK || st == SD_STATUS_INCONCLUSIVE)
		category = NULL;
	json_t *v = json_object();
	json_object_set_new(v, "status", json_string(sd_status_name(st)));
	json_object_set_new(v, "cause", json_string(cause));
	json_object_set_new(v, "category",
	    category ? json_string(category) : json_null());
	json_object_set_new(v, "summary", json_text(summary));
	json_object_set_new(v, "fix", fix ? fix : json_array());
	json_object_set_new(v, "evidence", evidence ? evidence : json_array());
	clean_json(r->secrets, v);
	pthread_mutex_lock(&r->lock);
	json_decref(r->verdict);
	r->verdict = v;
	pthread_mutex_unlock(&r->lock);
}

void sd_report_clean(const sd_report *r, json_t *v)
{
	clean_json(r->secrets, v);
}

void sd_report_set_extra(sd_report *r, const char *key, json_t *v)
{
	/* a bounce's diagnostic, an SPF explanation, a file's line: cleaned
	 * as facts are */
	clean_json(r->secrets, v);
	pthread_mutex_lock(&r->lock);
	json_object_set_new(r->extra, key, v);
	pthread_mutex_unlock(&r->lock);
}

sd_report *sd_report_usage_error(const char *command, const char *message)
{
	sd_report *r = sd_report_new(command ? command : "");
	if (!r)
		return NULL;
	r->error = json_pack("{s:s, s:s}", "code", "usage", "message", message);
	return r;
}

static sd_status status_of(const sd_report *r)
{
	const char *s = r->verdict ?
	    json_string_value(json_object_get(r->verdict, "status")) : NULL;
	if (!s)
		return SD_STATUS_INCONCLUSIVE;
	if (strcmp(s, "ok") == 0)
		return SD_STATUS_OK;
	if (strcmp(s, "warn") == 0)
		return SD_STATUS_WARN;
	if (strcmp(s, "fail") == 0)
		return SD_STATUS_FAIL;
	return SD_STATUS_INCONCLUSIVE;
}

sd_status sd_report_status(const sd_report *r)
{
	return status_of(r);
}

const char *sd_report_cause(const sd_report *r)
{
	const char *c = r->verdict ?
	    json_string_value(json_object_get(r->verdict, "cause")) : NULL;
	return c ? c : "inconclusive";
}

int sd_report_exit_code(const sd_report *r)
{
	if (r->error)
		return 2;
	switch (status_of(r)) {
	case SD_STATUS_OK:
	case SD_STATUS_WARN:
		return 0;
	case SD_STATUS_FAIL:
		return 1;
	case SD_STATUS_INCONCLUSIVE:
		return 3;
	}
	return 3;
}

const char *sd_jstr(const json_t *o, const char *key, const char *none)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : none;
}
