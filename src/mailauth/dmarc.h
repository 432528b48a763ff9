/*
 * DMARC (RFC 7489, with np= from RFC 9091): record parsing, policy
 * discovery through the resolver, identifier alignment and disposition.
 *
 *   sd_dmarc_record_parse()   one TXT string, judged as receivers read it
 *   sd_dmarc_select()         the TXT set at one _dmarc name -> the record
 *   sd_dmarc_discover()       _dmarc.<from>, then _dmarc.<org domain>
 *   sd_dmarc_evaluate()       alignment, pass/fail, disposition
 *   sd_dmarc_from_domain()    the RFC5322.From domain of a message
 *   sd_dmarc_propose_record() a starting record for a domain without one
 *
 * Results carry enums plus reasons in words; nothing prints.
 *
 * Ownership: structures filled here belong to the caller and are released
 * with the matching *_clear() (safe on zeroed or cleared structures).
 * Functions returning char * hand over malloc'd memory.  Inputs are
 * borrowed for the call.  sd_error results: SD_OK, SD_ERR_USAGE (NULL or
 * unusable arguments), SD_ERR_NOMEM; a missing or broken record is a
 * result, not an error.
 */
#ifndef SD_MAILAUTH_DMARC_H
#define SD_MAILAUTH_DMARC_H

#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"
#include "mailauth/psl.h"
#include "smtpdoctor/smtpdoctor.h"

/* One DMARC record: DNS TXT is at most 64 KiB, real records < 1 KiB. */
#define SD_DMARC_RECORD_MAX 4096
/* Report URIs kept from rua= / ruf= each. */
#define SD_DMARC_MAX_URIS 8
#define SD_DMARC_REASON_MAX 512

typedef enum sd_dmarc_policy {
	SD_DMARC_POLICY_NONE = 0,
	SD_DMARC_POLICY_QUARANTINE,
	SD_DMARC_POLICY_REJECT,
} sd_dmarc_policy;

typedef struct sd_dmarc_record {
	int valid;              /* receivers apply the record as published */
	int acts_as_none;       /* p= (or sp=) is invalid but rua= is valid:
	                           receivers act as if p=none (RFC 7489 §6.6.3) */
	char reason[SD_DMARC_REASON_MAX]; /* why invalid; "" when valid */
	char warnings[SD_DMARC_REASON_MAX]; /* tags ignored or defaulted,
	                           "; "-separated; "" when none */

	sd_dmarc_policy p;
	int has_sp;
	sd_dmarc_policy sp;     /* = p when absent */
	int has_np;
	sd_dmarc_policy np;     /* = sp when absent */
	int adkim_strict;       /* adkim=s */
	int aspf_strict;        /* aspf=s */
	int pct;                /* 0..100, default 100 */
	unsigned long ri;       /* default 86400 */
	char fo[16];            /* as published (validated), default "0" */
	char *rua[SD_DMARC_MAX_URIS]; /* owned, sanitised */
	size_t n_rua;
	char *ruf[SD_DMARC_MAX_URIS];
	size_t n_ruf;
} sd_dmarc_record;

/*
 * Parses one record.  Returns SD_OK (rec->valid says whether receivers
 * will use it, rec->reason why not), or SD_ERR_NOMEM.  The record must
 * start with v=DMARC1 and carry a valid p=; sp=, np= follow the same
 * rules; adkim/aspf/pct/ri/fo/rf with bad values are ignored with a warning
 * (RFC 7489 §6.3: defaults apply); unknown tags are ignored.
 */
sd_error sd_dmarc_record_parse(const char *text, size_t len,
    sd_dmarc_record *rec);
void sd_dmarc_record_clear(sd_dmarc_record *rec);

/* Does this TXT string start like a DMARC record ("v=DMARC1")? */
int sd_dmarc_is_record(const char *text, size_t len);

/* "none", "quarantine", "reject". */
const char *sd_dmarc_policy_name(sd_dmarc_policy p);

/* ---- discovery ---- */

typedef enum sd_dmarc_found {
	SD_DMARC_NOT_FOUND = 0, /* no DMARC record at either name (also a
	                           zeroed structure: never reads as found) */
	SD_DMARC_FOUND,         /* exactly one record (see record.valid) */
	SD_DMARC_MULTIPLE,      /* several records at one name: receivers
	                           apply none (RFC 7489 §6.6.3) */
	SD_DMARC_LOOKUP_FAILED, /* a lookup failed: no conclusion */
} sd_dmarc_found;

typedef struct sd_dmarc_lookup {
	char *name;             /* owned: "_dmarc.<domain>" queried */
	sd_dns_status status;
	size_t n_txt;           /* TXT strings seen */
	size_t n_dmarc;         /* of them starting with v=DMARC1 */
} sd_dmarc_lookup;

typedef struct sd_dmarc_policy_info {
	sd_dmarc_found found;
	char *from_domain;      /* owned, lowercased */
	char *org_domain;       /* owned: organizational domain (== from_domain
	                           when it is one, or a public suffix) */
	char *record_domain;    /* owned: where the record was found (or the
	                           several records, for MULTIPLE) */
	int at_org;             /* found at the organizational domain, not at
	                           the From domain: sp= applies */
	char *record_text;      /* owned, sanitised */
	sd_dmarc_record record;
	sd_dmarc_lookup lookup[2]; /* [0] from domain, [1] org domain */
	size_t n_lookup;
	int looks_like_dmarc;   /* NOT_FOUND but a TXT record at _dmarc almost
	                           is one ("v=DMARC1 p=..." without ';', case):
	                           record_text holds it */
	char reason[SD_DMARC_REASON_MAX];
} sd_dmarc_policy_info;

/* "not_found", "found", "multiple", "lookup_failed". */
const char *sd_dmarc_found_name(sd_dmarc_found f);

/*
 * Picks the DMARC record out of the TXT strings at one _dmarc name: those
 * not starting with v=DMARC1 are ignored, two or more are MULTIPLE.
 * Fills out->found, record, record_text and reason; SD_OK or
 * SD_ERR_NOMEM.  For tests and callers that have the TXT set in hand.
 */
sd_error sd_dmarc_select(const char *const *txt, const size_t *len,
    size_t n, sd_dmarc_policy_info *out);

/*
 * Policy discovery (RFC 7489 §6.6.3): _dmarc.<from_domain>, and when that
 * holds no record, _dmarc.<organizational domain> (by `psl`, or
 * sd_psl_default() when NULL).  Waits until deadline_ms (sd_now_ms()) at
 * most.  A failed lookup is LOOKUP_FAILED, kept apart from NOT_FOUND.
 */
sd_error sd_dmarc_discover(sd_resolver *res, const sd_psl *psl,
    const char *from_domain, int64_t deadline_ms, sd_dmarc_policy_info *out);
void sd_dmarc_policy_info_clear(sd_dmarc_policy_info *p);

/* ---- alignment and disposition ---- */

typedef struct sd_dmarc_input {
	const char *from_domain;      /* RFC5322.From domain */
	int spf_pass;                 /* SPF's result was pass */
	const char *spf_domain;       /* the MAIL FROM domain SPF checked (the
	                                 HELO name when MAIL FROM was <>) */
	const char *const *dkim_domains; /* d= of each signature that passed */
	size_t n_dkim_domains;
	int from_domain_exists;       /* 1 yes, 0 NXDOMAIN (np= applies),
	                                 -1 unknown */
} sd_dmarc_input;

typedef enum sd_dmarc_result {
	SD_DMARC_RESULT_NONE = 0,   /* no usable policy: nothing to apply */
	SD_DMARC_RESULT_PASS,
	SD_DMARC_RESULT_FAIL,
	SD_DMARC_RESULT_TEMPERROR,  /* the policy lookup failed */
	SD_DMARC_RESULT_PERMERROR,  /* the policy is broken (invalid or
	                               several records) */
} sd_dmarc_result;

typedef struct sd_dmarc_eval {
	sd_dmarc_result result;
	int spf_aligned;
	int dkim_aligned;
	char *aligned_dkim_domain;  /* owned: the d= that aligned, or NULL */
	int adkim_strict, aspf_strict;
	const char *policy_tag;     /* "p", "sp" or "np": the one applied */
	sd_dmarc_policy policy;     /* its value (none when no policy) */
	/* What receivers do with this message: none on pass.  With pct < 100
	 * the policy applies to pct% of failing mail and the rest gets
	 * `disposition_unsampled` (the next milder policy, RFC 7489 §6.6.4). */
	sd_dmarc_policy disposition;
	sd_dmarc_policy disposition_unsampled;
	int pct;
	char reason[SD_DMARC_REASON_MAX];
} sd_dmarc_eval;

/*
 * Judges alignment and applies the policy found by discovery (`pol` may be
 * NULL: alignment is still computed, relaxed, and the result is NONE).
 * `psl` NULL means sd_psl_default().  Returns SD_OK, SD_ERR_USAGE (no
 * from_domain), SD_ERR_NOMEM.
 */
sd_error sd_dmarc_evaluate(const sd_dmarc_policy_info *pol,
    const sd_psl *psl, const sd_dmarc_input *in, sd_dmarc_eval *out);
void sd_dmarc_eval_clear(sd_dmarc_eval *e);

/*
 * Do two domains align?  Strict: equal (case-insensitive, trailing dot
 * ignored); relaxed: the same organizational domain.
 */
int sd_dmarc_aligned(const sd_psl *psl, const char *a, const char *b,
    int strict);

/* "pass", "fail", "none", "temperror", "permerror". */
const char *sd_dmarc_result_name(sd_dmarc_result r);

/* ---- helpers ---- */

/*
 * The domain of the RFC5322.From address of a message (display names,
 * comments, quoted local parts and angle brackets handled).  Returns SD_OK
 * with *domain set (malloc'd, lowercased), or SD_OK with *domain NULL and
 * `why` saying what is wrong (no From, several From fields, several
 * addresses, no domain), or SD_ERR_NOMEM.
 */
sd_error sd_dmarc_from_domain(const char *msg, size_t len, char **domain,
    char *why, size_t why_size);

/*
 * A starting record for a domain that has none:
 * "v=DMARC1; p=none; rua=mailto:dmarc-reports@<domain>".  NULL when
 * `domain` is not a domain name, or on ENOMEM.
 */
char *sd_dmarc_propose_record(const char *domain);
/*
 * The same as a fix sentence: 'publish a TXT record at _dmarc.<domain>:
 * "v=DMARC1; ..."; then raise p= once the reports show ...'.
 */
char *sd_dmarc_propose_fix(const char *domain);

#endif
