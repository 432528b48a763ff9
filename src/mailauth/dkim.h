/*
 * DKIM verification (RFC 6376, RFC 8463 ed25519, RFC 8301 algorithm and
 * key-size rules) on OpenSSL 3 EVP.
 *
 * Three levels, each usable on its own:
 *
 *   sd_tag_list_parse()      the tag=value lists of signatures and keys
 *   sd_dkim_key_parse()      judge one key record (text in hand)
 *   sd_dkim_key_fetch()      fetch "<s>._domainkey.<d>" TXT and judge it
 *   sd_dkim_verify_message() verify every DKIM-Signature of a message,
 *                            fetching keys through the resolver
 *   sd_dkim_verify_message_keys()  the same with key records in hand
 *                            (tests, fuzzers, offline re-checks)
 *
 * Nothing here prints or decides what a result means for the user: every
 * result carries a class (enum) and a reason a person understands, and the
 * domain probe turns them into facts and findings.
 *
 * Ownership: structures filled by a function belong to the caller and are
 * released with the matching *_clear(); a cleared or zeroed structure may be
 * cleared again.  Input strings are borrowed for the duration of the call,
 * except where a structure says it points into its input.  Functions that
 * return sd_error fail only for out-of-memory or bad arguments (a message
 * that does not verify is a result, not an error).  All functions are
 * reentrant; none keeps global state.
 */
#ifndef SD_MAILAUTH_DKIM_H
#define SD_MAILAUTH_DKIM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "dns/dns.h"
#include "smtpdoctor/smtpdoctor.h"

/* ---- limits (everything read from a message or DNS is bounded) ---- */

/* A message larger than this is refused whole: the brief's cap, far above
 * what any receiver accepts (Gmail 25 MiB, Microsoft 150 MiB MIME). */
#define SD_DKIM_MESSAGE_MAX ((size_t)64 << 20)
/* Header fields parsed from one message; real ones carry < 200. */
#define SD_DKIM_MAX_FIELDS 4096
/* DKIM-Signature fields verified per message; the rest are counted only. */
#define SD_DKIM_MAX_SIGNATURES 16
/* Tags in one tag list (a signature has ~13, a key record ~5). */
#define SD_TAG_LIST_MAX 64
/* Names in one h= tag. */
#define SD_DKIM_MAX_H 256
/* Bytes of one key record; DNS TXT data can reach 64 KiB, keys need < 1 KiB. */
#define SD_DKIM_KEY_RECORD_MAX 16384
/* RSA keys: below MIN receivers refuse (RFC 8301 §3.2), below WEAK is
 * weak (1024 bits, still accepted), above MAX we refuse to spend the CPU. */
#define SD_DKIM_RSA_MIN_BITS 1024
#define SD_DKIM_RSA_WEAK_BITS 2048
#define SD_DKIM_RSA_MAX_BITS 8192
/* Length of the reason strings below. */
#define SD_DKIM_REASON_MAX 320

/* ---- tag lists (RFC 6376 §3.2) ---- */

typedef struct sd_tag {
	const char *name;    /* points into the parsed text */
	size_t name_len;
	const char *value;   /* points into the text; FWS at both ends trimmed,
	                        inner FWS kept as written */
	size_t value_len;
	size_t span_start;   /* offset of the first byte after '=' */
	size_t span_end;     /* offset of the ';' ending the value, or the end */
} sd_tag;

typedef struct sd_tag_list {
	sd_tag tag[SD_TAG_LIST_MAX];
	size_t n;
	char error[160];     /* why parsing stopped, "" when it did not */
} sd_tag_list;

/*
 * Parses `text` (not NUL-terminated, may hold CRLF folding).  Returns 0, or
 * -1 with out->error set: a syntax error, a duplicate tag (RFC 6376 §3.2
 * makes it invalid), a tag value with bytes outside VALCHAR, or more than
 * SD_TAG_LIST_MAX tags.  The tags point into `text`, which must outlive
 * `out`.  Tag names are case-sensitive.
 */
int sd_tag_list_parse(const char *text, size_t len, sd_tag_list *out);
/* The tag named `name`, or NULL. */
const sd_tag *sd_tag_list_get(const sd_tag_list *l, const char *name);

/* ---- messages (RFC 5322 header fields and body) ---- */

typedef struct sd_mail_field {
	const char *name;    /* points into sd_mail_msg.buf */
	size_t name_len;     /* without trailing WSP before ':' */
	const char *raw;     /* the whole field, name to last byte of value,
	                        folding CRLFs included, final CRLF excluded */
	size_t raw_len;
	const char *value;   /* after the ':' */
	size_t value_len;
} sd_mail_field;

typedef struct sd_mail_msg {
	char *buf;            /* owned: the message with every line ending CRLF */
	size_t len;
	sd_mail_field *field; /* owned array, top first */
	size_t n_field;
	const char *body;     /* points into buf, after the empty line */
	size_t body_len;
	int lf_only;          /* the input had bare-LF line endings */
	int has_body_sep;     /* an empty line separated header and body */
	size_t n_malformed;   /* header lines without a ':' (skipped) */
} sd_mail_msg;

/*
 * Splits a message.  CRLF and bare LF endings are accepted (bare LF becomes
 * CRLF, the way the message travelled in SMTP); a leading mbox "From " line
 * is skipped.  Returns SD_OK and fills `out`, or SD_ERR_USAGE with `why`
 * set when the message is larger than SD_DKIM_MESSAGE_MAX or has more than
 * SD_DKIM_MAX_FIELDS header fields, or SD_ERR_NOMEM.
 */
sd_error sd_mail_msg_parse(const char *msg, size_t len, sd_mail_msg *out,
    char *why, size_t why_size);
void sd_mail_msg_clear(sd_mail_msg *m);

/* ---- canonicalization (RFC 6376 §3.4) ---- */

typedef enum sd_dkim_canon {
	SD_DKIM_CANON_SIMPLE = 0,
	SD_DKIM_CANON_RELAXED,
} sd_dkim_canon;

/* Receives canonical bytes; returns 0 to go on, non-zero to stop. */
typedef int (*sd_dkim_sink)(void *ctx, const char *data, size_t len);

/*
 * Canonicalizes one header field (`raw` as in sd_mail_field, without the
 * final CRLF) and appends CRLF.  Relaxed: name lowercased, folding removed,
 * WSP runs made one SP, WSP around ':' and at the end removed.  Returns the
 * sink's value.
 */
int sd_dkim_canon_header(sd_dkim_canon c, const char *raw, size_t len,
    sd_dkim_sink sink, void *ctx);
/*
 * Canonicalizes a body (CRLF line endings; a last line without CRLF gets
 * one).  Simple: trailing empty lines removed, an empty body becomes CRLF.
 * Relaxed: WSP at line ends removed, WSP runs made one SP, trailing empty
 * lines removed, an empty body stays empty.  Returns the sink's value.
 */
int sd_dkim_canon_body(sd_dkim_canon c, const char *body, size_t len,
    sd_dkim_sink sink, void *ctx);

/* ---- key records (RFC 6376 §3.6.1) ---- */

/* Zero values of the enums below never claim success: a zeroed structure
 * reads as "not checked". */
typedef enum sd_dkim_key_status {
	SD_DKIM_KEY_NONE = 0,   /* no key judged (no record was found) */
	SD_DKIM_KEY_OK,         /* usable (see weak/testing) */
	SD_DKIM_KEY_REVOKED,    /* p= is empty: the signer revoked the key */
	SD_DKIM_KEY_MALFORMED,  /* syntax, v=, k=, missing p=, bad base64/DER,
	                           RSA over SD_DKIM_RSA_MAX_BITS */
	SD_DKIM_KEY_TOO_SHORT,  /* RSA below SD_DKIM_RSA_MIN_BITS */
	SD_DKIM_KEY_UNUSABLE,   /* valid, but not for e-mail signatures: s=
	                           without email, h= without sha256 */
} sd_dkim_key_status;

typedef enum sd_dkim_key_type {
	SD_DKIM_KEY_TYPE_UNKNOWN = 0,
	SD_DKIM_KEY_TYPE_RSA,
	SD_DKIM_KEY_TYPE_ED25519,
} sd_dkim_key_type;

typedef struct sd_dkim_key {
	sd_dkim_key_status status;
	sd_dkim_key_type type;
	unsigned bits;          /* RSA modulus bits; 256 for ed25519; 0 unknown */
	int weak;               /* RSA at least MIN but below WEAK bits */
	int testing;            /* t=y: the domain is testing DKIM */
	int strict_identity;    /* t=s: i= must equal d=, no subdomain */
	int allows_sha1;        /* h= absent or lists sha1 */
	int allows_sha256;      /* h= absent or lists sha256 */
	int for_email;          /* s= absent or lists email or * */
	int spki;               /* p= is SubjectPublicKeyInfo (else bare
	                           RSAPublicKey, also accepted) */
	char reason[SD_DKIM_REASON_MAX]; /* one sentence, always set */
	EVP_PKEY *pkey;         /* owned; set when status is OK, and when
	                           UNUSABLE for s= or h= only */
} sd_dkim_key;

/*
 * Judges a key record (the TXT text).  Always fills `key` (clear it with
 * sd_dkim_key_clear) and returns key->status; out of memory while decoding
 * reads as MALFORMED with a reason saying so.
 */
sd_dkim_key_status sd_dkim_key_parse(const char *text, size_t len,
    sd_dkim_key *key);
void sd_dkim_key_clear(sd_dkim_key *key);
/* "none", "ok", "revoked", "malformed", "too_short", "unusable". */
const char *sd_dkim_key_status_name(sd_dkim_key_status s);

/* ---- fetching a key ---- */

typedef enum sd_dkim_lookup {
	SD_DKIM_LOOKUP_NOT_DONE = 0, /* not looked up (the signature was
	                              refused before its key mattered) */
	SD_DKIM_LOOKUP_FOUND,     /* one TXT record: see .key */
	SD_DKIM_LOOKUP_NONE,      /* NXDOMAIN or no TXT: no key published */
	SD_DKIM_LOOKUP_FAILED,    /* SERVFAIL, timeout, bogus: no conclusion */
	SD_DKIM_LOOKUP_MULTIPLE,  /* several TXT records: RFC 6376 §3.6.2.2
	                             leaves the result undefined */
	SD_DKIM_LOOKUP_BAD_NAME,  /* selector or domain not a valid DNS name */
} sd_dkim_lookup;

typedef struct sd_dkim_key_lookup {
	char *name;             /* owned: "<s>._domainkey.<d>" (NULL if bad) */
	sd_dkim_lookup result;
	sd_dns_status dns_status;
	int secure;             /* the answer was DNSSEC-validated */
	char *record;           /* owned: the TXT text (sanitised), or NULL */
	sd_dkim_key key;        /* judged when result is FOUND */
	char reason[SD_DKIM_REASON_MAX];
} sd_dkim_key_lookup;

/*
 * Looks up and judges the key of `selector` at `domain`, waiting until
 * `deadline_ms` (sd_now_ms() clock) at most.  Returns SD_OK with `out`
 * filled (clear it with sd_dkim_key_lookup_clear), SD_ERR_NOMEM.
 */
sd_error sd_dkim_key_fetch(sd_resolver *res, const char *selector,
    const char *domain, int64_t deadline_ms, sd_dkim_key_lookup *out);
void sd_dkim_key_lookup_clear(sd_dkim_key_lookup *l);
/* "not_done", "found", "none", "failed", "multiple", "bad_name". */
const char *sd_dkim_lookup_name(sd_dkim_lookup l);

/* ---- verifying signatures ---- */

typedef enum sd_dkim_result {
	SD_DKIM_UNCHECKED = 0, /* not verified (sd_dkim_sig_parse only) */
	SD_DKIM_PASS,
	SD_DKIM_FAIL,       /* it does not verify, or a rule refuses it */
	SD_DKIM_PERMERROR,  /* the signature or its key cannot be used */
	SD_DKIM_TEMPERROR,  /* the key lookup failed: try again later */
} sd_dkim_result;

/* Why a signature did not pass (SD_DKIM_WHY_NONE when it did). */
typedef enum sd_dkim_why {
	SD_DKIM_WHY_NONE = 0,
	SD_DKIM_WHY_SYNTAX,        /* tag list broken, required tag missing,
	                              bad value; permerror */
	SD_DKIM_WHY_VERSION,       /* v= is not 1; permerror */
	SD_DKIM_WHY_ALGORITHM,     /* a= unknown; permerror */
	SD_DKIM_WHY_SHA1,          /* rsa-sha1, refused per RFC 8301; fail */
	SD_DKIM_WHY_BAD_DOMAIN,    /* d= or s= not a DNS name; permerror */
	SD_DKIM_WHY_IDENTITY,      /* i= outside d=; permerror */
	SD_DKIM_WHY_FROM_UNSIGNED, /* h= lacks From (RFC 6376 §6.1.1); permerror */
	SD_DKIM_WHY_FROM_ADDED,    /* more From fields than h= signs; fail */
	SD_DKIM_WHY_EXPIRED,       /* x= has passed; fail */
	SD_DKIM_WHY_BODY_LENGTH,   /* l= larger than the body; fail */
	SD_DKIM_WHY_KEY_MISSING,   /* no key at the selector; permerror */
	SD_DKIM_WHY_KEY_LOOKUP,    /* the lookup failed; temperror */
	SD_DKIM_WHY_KEY_REVOKED,   /* p= empty; permerror */
	SD_DKIM_WHY_KEY_INVALID,   /* malformed, too short, several records;
	                              permerror */
	SD_DKIM_WHY_KEY_MISMATCH,  /* key type differs from a=, h= or s= of the
	                              key exclude it, t=s and i= in a subdomain;
	                              permerror */
	SD_DKIM_WHY_BODY_HASH,     /* bh= differs: the body changed; fail */
	SD_DKIM_WHY_SIGNATURE,     /* b= does not verify: signed header fields
	                              changed, or the wrong key; fail */
} sd_dkim_why;

typedef enum sd_dkim_alg {
	SD_DKIM_ALG_UNKNOWN = 0,
	SD_DKIM_ALG_RSA_SHA256,
	SD_DKIM_ALG_RSA_SHA1,
	SD_DKIM_ALG_ED25519_SHA256,
} sd_dkim_alg;

typedef struct sd_dkim_sig {
	size_t field_index;     /* its position among the header fields */
	sd_dkim_result result;
	sd_dkim_why why;
	char reason[SD_DKIM_REASON_MAX]; /* "pass: ..." or what failed and why */

	/* The signature's tags (owned strings, sanitised; NULL when absent
	 * or unparsable). */
	char *domain;           /* d=, lowercased */
	char *selector;         /* s= */
	char *identity;         /* i= (default "@" d=) */
	char *algorithm;        /* a= as written */
	char *headers;          /* h= as "from:to:subject" (lowercased) */
	sd_dkim_alg alg;
	sd_dkim_canon header_canon, body_canon;
	int has_length;         /* l= present */
	uint64_t length;        /* l= */
	int64_t timestamp;      /* t=, -1 absent */
	int64_t expiration;     /* x=, -1 absent */

	/* What was checked: -1 not checked, 0 no, 1 yes.  body_hash_ok and
	 * signature_ok are kept apart so that "the body changed" and "the
	 * signed header fields changed" read differently. */
	int body_hash_ok;
	int signature_ok;
	int body_truncated;     /* l= shorter than the body: unsigned text
	                           follows the signed part */
	int timestamp_future;   /* t= later than now (allowed, noted) */

	sd_dkim_key_lookup key; /* how the key was found and judged */
} sd_dkim_sig;

typedef struct sd_dkim_results {
	sd_dkim_sig *sig;       /* owned array, top of the message first */
	size_t n_sig;
	size_t n_sig_seen;      /* DKIM-Signature fields, > n_sig when capped */
	int message_ok;         /* 0: the message could not be read at all */
	char reason[SD_DKIM_REASON_MAX]; /* summary, or why message_ok is 0 */
} sd_dkim_results;

/* A key record in hand, for the lower-level entry point. */
typedef struct sd_dkim_keyrec {
	const char *name;       /* "<s>._domainkey.<d>", any case, optional
	                           trailing dot */
	const char *record;     /* TXT text; NULL simulates a failed lookup */
} sd_dkim_keyrec;

/*
 * Verifies every DKIM-Signature of a message (up to SD_DKIM_MAX_SIGNATURES),
 * fetching each key through `res` before `deadline_ms`.  `now` is the Unix
 * time for x= and t= (0: the current time).  Returns SD_OK with `out`
 * filled (also when nothing verifies or the message is unreadable: see
 * out->message_ok), SD_ERR_USAGE for NULL arguments, SD_ERR_NOMEM.
 */
sd_error sd_dkim_verify_message(sd_resolver *res, int64_t deadline_ms,
    const char *msg, size_t len, int64_t now, sd_dkim_results *out);
/*
 * The same with the key records given: a name not in `keys` reads as "no
 * key published" (NXDOMAIN).  No DNS traffic.
 */
sd_error sd_dkim_verify_message_keys(const sd_dkim_keyrec *keys,
    size_t n_keys, const char *msg, size_t len, int64_t now,
    sd_dkim_results *out);
void sd_dkim_results_clear(sd_dkim_results *r);

/*
 * Parses the value of one DKIM-Signature field (what follows the ':') into
 * `sig`'s tag members, checking syntax and required tags, without keys or
 * crypto.  Returns 0 when the signature is well-formed (sig->result stays
 * SD_DKIM_UNCHECKED), -1 with sig->result, sig->why and sig->reason set
 * otherwise.  For fuzzers and
 * for showing a signature that was not verified.  Clear with
 * sd_dkim_sig_clear.
 */
int sd_dkim_sig_parse(const char *value, size_t len, sd_dkim_sig *sig);
void sd_dkim_sig_clear(sd_dkim_sig *sig);

/*
 * The d= domains of the signatures that passed, for DMARC: fills up to
 * `max` borrowed pointers (owned by r) and returns how many passed.
 */
size_t sd_dkim_pass_domains(const sd_dkim_results *r, const char **out,
    size_t max);

/* "unchecked", "pass", "fail", "permerror", "temperror". */
const char *sd_dkim_result_name(sd_dkim_result r);
/* "none", "syntax", "version", ... "body_hash", "signature". */
const char *sd_dkim_why_name(sd_dkim_why w);
/* "rsa-sha256", "rsa-sha1", "ed25519-sha256", "unknown". */
const char *sd_dkim_alg_name(sd_dkim_alg a);

/*
 * True when `name` is a syntactically valid domain name (LDH labels of at
 * most 63 bytes, no empty label, no trailing dot, at most 253 bytes);
 * `allow_underscore` admits '_' for selectors.
 */
int sd_dkim_valid_domain(const char *name, size_t len, int allow_underscore);

#endif
