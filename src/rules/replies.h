/*
 * What a server's SMTP reply means: the provider reply table.
 *
 * A reply is matched on the stage it answers, its code, its enhanced status
 * code and its text, because one enhanced code can mean several things
 * (Microsoft's 5.7.139 has five meanings, Google's 5.7.9 two).  The rows
 * live in data/replies.def (an X-macro file, documented at its top and
 * rendered for people in docs/replies.md); the most specific rows come
 * first, then wordings of server software, then generic fallbacks by stage
 * and code class.  The first row that matches wins.
 *
 * Pure functions over static data (its rows made once, on first use): no
 * allocation, no locale (ASCII case folding only), safe from any thread.
 */
#ifndef SD_RULES_REPLIES_H
#define SD_RULES_REPLIES_H

#include <stddef.h>

#include "util/strtab.h"

/* The command a reply answers. */
typedef enum sd_smtp_stage {
	SD_STAGE_CONNECT = 0, /* the greeting */
	SD_STAGE_EHLO,        /* EHLO or HELO */
	SD_STAGE_STARTTLS,
	SD_STAGE_AUTH,        /* the final reply of an AUTH exchange */
	SD_STAGE_MAIL,
	SD_STAGE_RCPT,
	SD_STAGE_DATA,        /* the DATA command itself (354 or a refusal) */
	SD_STAGE_DATA_END,    /* the "." that ends the message */
	SD_STAGE_COUNT
} sd_smtp_stage;

/* Stage sets of a row (data/replies.def writes them as SD_AT_AUTH | ...). */
#define SD_AT_CONNECT  (1u << SD_STAGE_CONNECT)
#define SD_AT_EHLO     (1u << SD_STAGE_EHLO)
#define SD_AT_STARTTLS (1u << SD_STAGE_STARTTLS)
#define SD_AT_AUTH     (1u << SD_STAGE_AUTH)
#define SD_AT_MAIL     (1u << SD_STAGE_MAIL)
#define SD_AT_RCPT     (1u << SD_STAGE_RCPT)
#define SD_AT_DATA     (1u << SD_STAGE_DATA)
#define SD_AT_DATA_END (1u << SD_STAGE_DATA_END)
#define SD_AT_ENVELOPE (SD_AT_MAIL | SD_AT_RCPT)
#define SD_AT_CONTENT  (SD_AT_DATA | SD_AT_DATA_END)
#define SD_AT_ANY      ((1u << SD_STAGE_COUNT) - 1u)

/* Row flags. */
#define SD_REPLY_GENERIC     0x1u /* a fallback by stage and code class */
#define SD_REPLY_UNCONFIRMED 0x2u /* no source confirms the wording or its
                                     meaning: ignored unless asked for */

/* Options of sd_reply_classify_ex(). */
#define SD_REPLY_WITH_UNCONFIRMED 0x1u

/* Text fragments a row may require (all of them). */
#define SD_REPLY_MAX_FRAGMENTS 3

/*
 * Bytes of a reply's text that are searched; the rest is ignored.  The SMTP
 * reader keeps at most 16 KiB of a reply (SD_REPLY_MAX_TEXT in
 * smtp/reply.h) and every wording in the table sits in its first lines.
 */
#define SD_REPLY_SCAN_MAX 16384

typedef struct sd_reply_rule {
	const char *id;         /* stable name, "gmail.app_password" */
	const char *provider;   /* "Gmail", "Microsoft 365"...; NULL for
	                           server software wordings and generic rows */
	unsigned stages;        /* SD_AT_* set */
	int code_min, code_max; /* the reply code range, inclusive */
	const char *enhanced;   /* exact enhanced code ("5.7.139") or NULL */
	/* Case-insensitive ASCII substrings that must all occur in the text
	 * (NULL = none).  "a|b" means either; an alternative written "~word"
	 * must stand as a whole word (not inside a longer one). */
	const char *fragments[SD_REPLY_MAX_FRAGMENTS];
	const char *cause;      /* a verdict code (data/codes.def) */
	unsigned flags;         /* SD_REPLY_GENERIC, SD_REPLY_UNCONFIRMED */
	int generic;            /* flags & SD_REPLY_GENERIC, for convenience */
	const char *explain;    /* for people: what the reply means */
	const char *hint;       /* for people: what to do */
	const char *sample;     /* an exact reply: "CODE text", lines joined by
	                           "\n" without their codes; the unit test
	                           checks that it matches this very row */
	const char *source;     /* where the wording comes from */
} sd_reply_rule;

/*
 * A table in the data/replies.def form as the program stores it: the
 * strings in one constant block, rows of offsets into it, so the loader
 * never writes it (util/strtab.h).  The table's own file makes the
 * sd_reply_rule rows of it on first use (sd_reply_unpack): it defines
 * SD_REPLY_TABLE_DEF as the .def file's path and includes
 * rules/reply_table.inc, which writes the X-macro includes below.
 */
typedef struct sd_reply_packed {
	sd_stroff id, provider, enhanced, fragments[SD_REPLY_MAX_FRAGMENTS];
	sd_stroff cause, explain, hint, sample, source;
	unsigned stages, flags;
	int code_min, code_max;
} sd_reply_packed;

#define SD_REPLY_STR_FIELDS(id, provider, stages, lo, hi, enh, f1, f2, f3, \
    cause, flags, explain, hint, sample, source) \
	SD_STRTAB_FIELD(id_, id) SD_STRTAB_FIELD(pr_, provider) \
	SD_STRTAB_FIELD(en_, enh) SD_STRTAB_FIELD(f1_, f1) \
	SD_STRTAB_FIELD(f2_, f2) SD_STRTAB_FIELD(f3_, f3) \
	SD_STRTAB_FIELD(ca_, cause) SD_STRTAB_FIELD(ex_, explain) \
	SD_STRTAB_FIELD(hi_, hint) SD_STRTAB_FIELD(sa_, sample) \
	SD_STRTAB_FIELD(so_, source)
#define SD_REPLY_STR_VALUES(id, provider, stages, lo, hi, enh, f1, f2, f3, \
    cause, flags, explain, hint, sample, source) \
	id, provider, enh, f1, f2, f3, cause, explain, hint, sample, source,
#define SD_REPLY_PACKED_ROW(strs, id, provider, stages, lo, hi, enh, f1, f2, \
    f3, cause, flags, explain, hint, sample, source) \
	{ SD_STRTAB_AT(strs, id_, id), SD_STRTAB_AT(strs, pr_, provider), \
	  SD_STRTAB_AT(strs, en_, enh), { SD_STRTAB_AT(strs, f1_, f1), \
	  SD_STRTAB_AT(strs, f2_, f2), SD_STRTAB_AT(strs, f3_, f3) }, \
	  SD_STRTAB_AT(strs, ca_, cause), SD_STRTAB_AT(strs, ex_, explain), \
	  SD_STRTAB_AT(strs, hi_, hint), SD_STRTAB_AT(strs, sa_, sample), \
	  SD_STRTAB_AT(strs, so_, source), stages, flags, lo, hi },

/* The rows of packed[0..n) (strings in strs) into out[0..n). */
void sd_reply_unpack(const sd_reply_packed *packed, const void *strs,
    size_t n, sd_reply_rule *out);

/*
 * The first confirmed row that matches, or NULL.
 *
 * `code` is the three-digit reply code.  `enhanced` is the enhanced status
 * code ("5.7.8") or NULL/"" for none given: then it is read from the start
 * of `text`, if there.  `text` is the reply text, lines without their
 * codes joined by "\n" (NULL is taken as ""); only its first
 * SD_REPLY_SCAN_MAX bytes are searched.  The row is static: never free it.
 */
const sd_reply_rule *sd_reply_classify(sd_smtp_stage stage, int code,
    const char *enhanced, const char *text);

/* As sd_reply_classify(); SD_REPLY_WITH_UNCONFIRMED also considers rows
 * flagged unconfirmed. */
const sd_reply_rule *sd_reply_classify_ex(sd_smtp_stage stage, int code,
    const char *enhanced, const char *text, unsigned options);

/*
 * As sd_reply_classify_ex(), over another table of rows in the same form
 * (the bounce wordings of data/bounces.def share this matcher).
 */
const sd_reply_rule *sd_reply_classify_in(const sd_reply_rule *table,
    size_t n, sd_smtp_stage stage, int code, const char *enhanced,
    const char *text, unsigned options);

/* Whether one row matches, flags aside (for tests and tools). */
/*
 * The text of a multi-line reply as one line for matching: the lines joined
 * by one space, each continuation line without the enhanced status code
 * that RFC 2034 has servers repeat on every line (Exim, Microsoft), so that
 * "... is\n5.7.139 disabled ..." reads "... is disabled ...".  Writes at
 * most cap - 1 bytes and a NUL to out; returns the length.
 */
size_t sd_reply_text_normalize(const char *text, char *out, size_t cap);

int sd_reply_rule_matches(const sd_reply_rule *rule, sd_smtp_stage stage,
    int code, const char *enhanced, const char *text);

/* The whole table, in matching order; *n gets its length. */
const sd_reply_rule *sd_reply_rules(size_t *n);

/* "connect", "ehlo", "starttls", "auth", "mail", "rcpt", "data",
 * "data_end"; NULL for a value out of range. */
const char *sd_reply_stage_name(sd_smtp_stage stage);

/* The stage of one of those names (exact, lower case); -1 if unknown. */
int sd_reply_stage_parse(const char *name, sd_smtp_stage *out);

#endif
