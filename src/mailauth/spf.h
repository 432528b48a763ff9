/*
 * SPF (RFC 7208): a full check_host() evaluator with a trace, a syntax-only
 * parser, and a counter of the DNS lookups a record tree needs.
 *
 * All DNS goes through the resolver interface of dns/dns.h, with one
 * deadline for the whole evaluation.  "The lookup failed" (SERVFAIL,
 * timeout, bogus) gives temperror; "the answer says no" (NXDOMAIN, no data)
 * is an ordinary answer and may count as a void lookup.
 *
 * Nothing here prints or decides what a result means for the user: the
 * caller (cli/cmd_spf.c, the domain audit) turns the result into facts,
 * findings and a verdict.
 */
#ifndef SD_SPF_H
#define SD_SPF_H

#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"
#include "smtpdoctor/smtpdoctor.h"

/* RFC 7208 §4.6.4: terms that cause DNS lookups, per evaluation. */
#define SD_SPF_MAX_LOOKUP_TERMS 10
/* RFC 7208 §4.6.4: lookups that return no data (NXDOMAIN or empty). */
#define SD_SPF_MAX_VOID_LOOKUPS 2
/* RFC 7208 §4.6.4: MX names looked up per "mx", PTR names per "ptr". */
#define SD_SPF_MAX_MX_NAMES 10
#define SD_SPF_MAX_PTR_NAMES 10
/* Trace lines kept; past this, one line says the rest was dropped. */
#define SD_SPF_TRACE_MAX 1000
/* One trace line, in bytes: records and names are cut past this. */
#define SD_SPF_TRACE_LINE_MAX 600
/*
 * One macro expansion, in bytes.  A 4 KB record of %{s} with a long sender
 * could otherwise expand to megabytes; DNS names are 253 bytes at most and
 * explanations are one line.
 */
#define SD_SPF_EXPAND_MAX 16384
/*
 * Bytes of a record copied into a result for display (record fields):
 * past this it is cut with "...".  Longer than any record seen in use.
 */
#define SD_SPF_RECORD_SHOWN_MAX 4096
/* Terms needing the client's PTR names kept per evaluation (a finding
 * names them; more say nothing new). */
#define SD_SPF_PTR_TERMS_KEPT 8

typedef enum sd_spf_code {
	SD_SPF_NONE = 0,
	SD_SPF_NEUTRAL,
	SD_SPF_PASS,
	SD_SPF_FAIL,
	SD_SPF_SOFTFAIL,
	SD_SPF_TEMPERROR,
	SD_SPF_PERMERROR,
} sd_spf_code;

/* "pass", "fail", ... (static strings). */
const char *sd_spf_code_name(sd_spf_code c);

/* ------------------------------------------------------------------ */
/* IP addresses                                                        */

typedef struct sd_spf_ip {
	int v6;                  /* 0: IPv4 in b[0..3]; 1: IPv6 */
	unsigned char b[16];
} sd_spf_ip;

/*
 * Parses a dotted quad or an IPv6 address.  An IPv4-mapped IPv6 address
 * (::ffff:1.2.3.4) becomes IPv4, as RFC 7208 §5 requires.  Returns 0, or
 * -1 when `s` is not an address.
 */
int sd_spf_parse_ip(const char *s, sd_spf_ip *out);

/* ------------------------------------------------------------------ */
/* Records (syntax only)                                               */

typedef enum sd_spf_term_kind {
	SD_SPF_ALL,
	SD_SPF_INCLUDE,
	SD_SPF_A,
	SD_SPF_MX,
	SD_SPF_PTR,
	SD_SPF_IP4,
	SD_SPF_IP6,
	SD_SPF_EXISTS,
	SD_SPF_REDIRECT,         /* modifiers from here on */
	SD_SPF_EXP,
	SD_SPF_UNKNOWN_MODIFIER,
} sd_spf_term_kind;

typedef struct sd_spf_term {
	sd_spf_term_kind kind;
	char qualifier;          /* '+', '-', '~', '?'; 0 for modifiers */
	char *text;              /* the term as written */
	char *domain_spec;       /* unexpanded domain-spec, or NULL (the
	                            current domain, or none for ip4/ip6/all) */
	int cidr4, cidr6;        /* prefix lengths (32 and 128 by default) */
	sd_spf_ip net;           /* ip4 / ip6 */
} sd_spf_term;

typedef struct sd_spf_record {
	sd_spf_term *terms;      /* in record order, modifiers included */
	size_t n_terms;
	int redirect;            /* index in terms, or -1 */
	int exp;                 /* index in terms, or -1 */
	int has_all;             /* an "all" mechanism is present */
	/*
	 * Terms of this record that cost a DNS lookup (include, a, mx, ptr,
	 * exists, and redirect unless "all" makes it unused).
	 */
	unsigned lookup_terms;
	unsigned n_ptr;          /* "ptr" mechanisms (RFC 7208: do not use) */
} sd_spf_record;

/*
 * The client addresses a mechanism matches whatever the address is
 * (RFC 7208 §5), as families: "all" every address; ip4 with the prefix
 * /0 every IPv4 address, ip6 /0 every IPv6 one; a and mx with a /0
 * prefix every address of the family once their name has an address
 * (then SD_SPF_WIDE_IF_NAME is set too).  0 for any other term.
 */
#define SD_SPF_WIDE_V4 1u
#define SD_SPF_WIDE_V6 2u
#define SD_SPF_WIDE_IF_NAME 4u
unsigned sd_spf_term_wide(const sd_spf_term *t);

/*
 * Non-zero when the TXT string `txt` (len bytes, may hold NUL) is an SPF
 * record: "v=spf1" in any case, then a space or the end (RFC 7208 §4.5).
 */
int sd_spf_is_record(const char *txt, size_t len);

/*
 * Parses an SPF record (syntax only, RFC 7208 §4.6 and §12).  On success
 * returns 0 and sets *out (free with sd_spf_record_free).  On a syntax
 * error returns -1 and writes a message naming the term into err (at most
 * errlen bytes, always terminated; err may be NULL).  Returns -2 when out
 * of memory.
 */
int sd_spf_parse(const char *txt, size_t len, sd_spf_record **out,
    char *err, size_t errlen);

void sd_spf_record_free(sd_spf_record *rec);

/* ------------------------------------------------------------------ */
/* Macros (RFC 7208 §7)                                                */

/*
 * The values macros expand to.  All strings are borrowed.  `get_p` is
 * called (at most once per expansion of %{p}) to find the validated
 * domain name of the client; NULL gives "unknown".
 */
typedef struct sd_spf_macro_ctx {
	const char *sender;        /* s */
	const char *local;         /* l */
	const char *sender_domain; /* o */
	const char *domain;        /* d */
	const char *ip_dotted;     /* i: dotted quad, or 32 dotted nibbles */
	const char *ip_text;       /* c: 192.0.2.1 or 2001:db8::1 */
	const char *ip_version;    /* v: "in-addr" or "ip6" */
	const char *helo;          /* h */
	const char *receiver;      /* r */
	long long now;             /* t */
	const char *(*get_p)(void *arg, const char *domain);
	void *p_arg;
} sd_spf_macro_ctx;

/*
 * Checks the syntax of a macro-string of `len` bytes.  `exp_text` allows
 * the letters c, r and t and spaces (explanation text only).  Returns 0,
 * or -1 with a message in err.
 */
int sd_spf_macro_check(const char *s, size_t len, int exp_text,
    char *err, size_t errlen);

/*
 * Expands a macro-string.  On success returns 0 and sets *out to malloc'd
 * memory (NUL-terminated; the caller frees).  Returns -1 with a message in
 * err on a syntax error or when the result would exceed
 * SD_SPF_EXPAND_MAX, -2 when out of memory.
 */
int sd_spf_macro_expand(const char *s, size_t len, const sd_spf_macro_ctx *ctx,
    int exp_text, char **out, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Evaluation                                                          */

/* One DNS query made during an evaluation, for facts and the trace. */
typedef struct sd_spf_dns_query {
	char *name;
	uint16_t type;
	sd_dns_status status;
	char *purpose;           /* "record", "a", "mx", "mx-host", "ptr",
	                            "ptr-validate", "exists", "exp", "p-macro" */
	char **answers;          /* presentation text, sanitized */
	size_t n_answers;
	int64_t elapsed_ms;
} sd_spf_dns_query;

/* A term as written and the domain whose record holds it. */
typedef struct sd_spf_term_ref {
	char *term;
	char *domain;
} sd_spf_term_ref;

typedef struct sd_spf_result {
	sd_spf_code result;
	/* The exp= text, expanded; only for fail, else NULL. */
	char *explanation;
	/* For none, permerror and temperror: what is wrong, one sentence. */
	char *problem;
	/*
	 * The same as a class rules can read (static): "no_record",
	 * "multiple_records", "syntax", "bad_term", "lookup_limit",
	 * "void_limit", "mx_limit", "include_none", "loop", "depth",
	 * "lookup_failed", "lookup_timeout" (the deadline cut it),
	 * "no_memory"; NULL when there is no problem.
	 */
	const char *problem_class;
	/*
	 * The term that decided, as written ("-all", "include:_spf.example"),
	 * in the chain of records followed from the checked domain through
	 * redirects (a match inside an include shows as the include); NULL
	 * when no term decided (none, default neutral, error before any term).
	 */
	char *mechanism;
	char *mechanism_domain;  /* the domain whose record holds it */
	/*
	 * When a term matched: the term that matched at the end of the
	 * include chain ("+all" in the record an include points at), the
	 * decider itself when that is not an include; NULL otherwise.
	 */
	char *matched;
	char *matched_domain;
	/*
	 * The terms that need the client's PTR names (RFC 7208 §5.5 and
	 * §7.3: SHOULD NOT be used): ptr, and a domain-spec with %{p}, in
	 * every record the evaluation fetched, whether evaluation reached
	 * the term or not; in the order fetched, at most
	 * SD_SPF_PTR_TERMS_KEPT.
	 */
	sd_spf_term_ref *ptr_terms;
	size_t n_ptr_terms;
	char *domain;            /* the domain checked */
	char *sender;            /* the identity checked, local@domain */
	char *helo;              /* the HELO name used for %{h} */
	char *ip;                /* the client address, as %{c} shows it */
	/*
	 * The checked domain's record for display, or NULL: bytes outside
	 * printable ASCII as \xNN, cut at SD_SPF_RECORD_SHOWN_MAX.  Not for
	 * parsing again (an escaped byte may read as valid text).
	 */
	char *record;
	unsigned lookups;        /* terms counted toward the limit of 10 */
	unsigned void_lookups;   /* lookups with no data (limit 2) */
	char **trace;            /* human-readable lines, in order */
	size_t n_trace;
	sd_spf_dns_query *dns;   /* every query sent, in order */
	size_t n_dns;
} sd_spf_result;

typedef struct sd_spf_params {
	const char *ip;          /* the client address */
	/*
	 * MAIL FROM: local@domain, a bare domain (checked as
	 * postmaster@domain), "@domain" (postmaster@domain), or "" / NULL
	 * for the null reverse-path (postmaster@<helo>).
	 */
	const char *sender;
	const char *helo;        /* HELO/EHLO name; NULL: the sender's domain */
	const char *receiver;    /* %{r}; NULL: "unknown" */
	long long now;           /* %{t}; 0: the current time */
	int64_t deadline_ms;     /* monotonic (sd_now_ms()) */
} sd_spf_params;

/*
 * Runs check_host() for params->ip and the sender's domain.  Fills *out
 * (which the caller zeroes first and frees with sd_spf_result_clear, on
 * every return).  Returns SD_OK with out->result set; SD_ERR_USAGE when
 * params->ip is not an address (out->problem says so); SD_ERR_NOMEM when
 * memory ran out (out->result is then temperror).  Never waits past
 * params->deadline_ms by more than the resolver's own slack.
 */
sd_error sd_spf_check(sd_resolver *res, const sd_spf_params *params,
    sd_spf_result *out);

/* sd_spf_check with only the common parameters. */
sd_error sd_spf_eval(sd_resolver *res, const char *ip, const char *sender,
    const char *helo, int64_t deadline_ms, sd_spf_result *out);

void sd_spf_result_clear(sd_spf_result *r);

/* ------------------------------------------------------------------ */
/* Lookup count of a record tree (for the domain audit)                */

/*
 * A term that gives pass to every address of `families` (SD_SPF_WIDE_V4,
 * SD_SPF_WIDE_V6) that no term before it matched, found without a lookup:
 * "+all", "ip4:0.0.0.0/0", "ip6:::/0" (not a/0 or mx/0, which need the
 * name's addresses), in the domain's record, one a redirect= leads to,
 * or one reached through include: terms that pass on their match.  `via`
 * is the include: term of the checked chain that leads there (term and
 * domain NULL when the term is in the chain itself).
 */
typedef struct sd_spf_open_term {
	sd_spf_term_ref at;
	sd_spf_term_ref via;
	unsigned families;
} sd_spf_open_term;

typedef struct sd_spf_tree {
	sd_spf_code status;      /* none: no record; permerror: a record in
	                            the tree is broken or missing; temperror:
	                            a lookup failed; pass: counted */
	char *problem;           /* why, when status is not pass; names the
	                            bad term when a record has a syntax error */
	int timed_out;           /* temperror because the deadline cut a
	                            lookup (not a failing name server) */
	char *record;            /* the domain's own record for display (as
	                            in sd_spf_result), or NULL */
	/*
	 * DNS-lookup terms of the whole tree, following include and redirect
	 * (each include and redirect counts itself and its record's terms).
	 * An evaluation that reaches every term needs this many; more than
	 * SD_SPF_MAX_LOOKUP_TERMS gives permerror for senders matched late.
	 */
	unsigned lookup_terms;
	unsigned n_records;      /* records fetched */
	unsigned n_ptr;          /* "ptr" mechanisms in the tree */
	/* include/redirect targets holding macros, which cannot be followed
	   without a sender: counted as one term each. */
	unsigned n_macro_targets;
	/* The terms that need the client's PTR names, as in sd_spf_result,
	   in every record of the tree; at most SD_SPF_PTR_TERMS_KEPT. */
	sd_spf_term_ref *ptr_terms;
	size_t n_ptr_terms;
	/* Terms that give pass to every address of a family (one entry per
	   family at most), in the order evaluation reaches them. */
	sd_spf_open_term open[2];
	size_t n_open;
	char **trace;
	size_t n_trace;
} sd_spf_tree;

/*
 * Fetches the SPF record of `domain` and, recursively, of every include
 * and redirect target, counts the lookup terms and keeps the terms that
 * need PTR names or open the policy to everyone.  Stops descending past
 * 30 records (a loop, or a tree that is broken anyway).  Fills *out (zeroed
 * by the caller; free with sd_spf_tree_clear).  Returns SD_OK or
 * SD_ERR_NOMEM.
 */
sd_error sd_spf_count_lookups(sd_resolver *res, const char *domain,
    int64_t deadline_ms, sd_spf_tree *out);

void sd_spf_tree_clear(sd_spf_tree *t);

#endif
