/*
 * Parsers for the records `smtpdoctor domain` reads: the MTA-STS TXT
 * record and policy file (RFC 8461), the TLS-RPT record (RFC 8460), and
 * the rdata of SOA and TLSA records; plus the names the domain checks ask
 * for (reverse names, DNSBL query names) and host-name syntax.
 *
 * Every parser takes bytes from the network (they may hold NUL or invalid
 * UTF-8), never reads past `len`, and reports the first problem as a short
 * lowercase sentence in `error`.  None of them allocates unless it says so.
 */
#ifndef SD_PROBE_DOMAIN_RECORDS_H
#define SD_PROBE_DOMAIN_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#define SD_RECORD_ERROR_MAX 160   /* one sentence about the first problem */

/* ---- MTA-STS (RFC 8461) ---- */

/* The policy body is at most 64 KiB (RFC 8461 §3.3 lets senders cap it). */
#define SD_MTASTS_POLICY_MAX 65536
/* mx patterns kept from one policy; more are counted, not stored. */
#define SD_MTASTS_MX_MAX 32
/* Longest pattern kept: a host name (253) plus "*.". */
#define SD_MTASTS_PATTERN_MAX 256
/* max_age upper bound (RFC 8461 §3.2: one year). */
#define SD_MTASTS_MAX_AGE_MAX 31557600L

typedef struct sd_mtasts_record {
	char id[33];                        /* 1*32 ALPHA/DIGIT */
	char error[SD_RECORD_ERROR_MAX];    /* empty when valid */
} sd_mtasts_record;

/*
 * Non-zero when a TXT string is meant as an MTA-STS record: it starts with
 * "v=STSv1" followed by the end, whitespace or ';' (RFC 8461 §3.1: others
 * are discarded).
 */
int sd_mtasts_record_is_sts(const char *txt, size_t len);

/* Parses one "v=STSv1; id=..." record; 0 when valid, -1 (error set). */
int sd_mtasts_record_parse(const char *txt, size_t len, sd_mtasts_record *out);

typedef enum sd_mtasts_mode {
	SD_MTASTS_MODE_UNSET = 0,
	SD_MTASTS_MODE_ENFORCE,
	SD_MTASTS_MODE_TESTING,
	SD_MTASTS_MODE_NONE,
} sd_mtasts_mode;

const char *sd_mtasts_mode_name(sd_mtasts_mode m);

typedef struct sd_mtasts_policy {
	int has_version;                    /* "version: STSv1" seen */
	sd_mtasts_mode mode;
	long max_age;                       /* -1 when absent */
	char mx[SD_MTASTS_MX_MAX][SD_MTASTS_PATTERN_MAX];
	size_t n_mx;                        /* stored */
	size_t n_mx_total;                  /* seen, including dropped ones */
	char error[SD_RECORD_ERROR_MAX];    /* empty when valid */
} sd_mtasts_policy;

/*
 * Parses a policy file (RFC 8461 §3.2): "key: value" lines ended by LF or
 * CRLF.  Unknown keys are ignored, blank lines tolerated.  Returns 0 when
 * the policy is valid, -1 with `error` set (the fields read so far stay
 * filled in).
 */
int sd_mtasts_policy_parse(const char *body, size_t len, sd_mtasts_policy *out);

/*
 * Non-zero when MX host `host` matches policy pattern `pattern`
 * (RFC 8461 §4.1): exact, or "*.rest" matching exactly one more label.
 * Case-insensitive; a trailing dot on either side is ignored.
 */
int sd_mtasts_mx_match(const char *pattern, const char *host);

/* ---- TLS-RPT (RFC 8460) ---- */

#define SD_TLSRPT_RUA_MAX 8          /* report URIs kept */
#define SD_TLSRPT_URI_MAX 256

typedef struct sd_tlsrpt_record {
	char rua[SD_TLSRPT_RUA_MAX][SD_TLSRPT_URI_MAX];
	size_t n_rua;                       /* stored */
	size_t n_rua_total;                 /* seen (too many, too long) */
	char error[SD_RECORD_ERROR_MAX];
} sd_tlsrpt_record;

/* Non-zero when a TXT string starts with "v=TLSRPTv1" (then end, WSP, ';'). */
int sd_tlsrpt_is_record(const char *txt, size_t len);

/* Parses "v=TLSRPTv1; rua=mailto:...,https://..."; 0 valid, -1 error. */
int sd_tlsrpt_parse(const char *txt, size_t len, sd_tlsrpt_record *out);

/* ---- DNS rdata ---- */

/*
 * The serial of SOA rdata (two names, then five 32-bit numbers).  Names
 * must be uncompressed or end in a compression pointer.  0 on success.
 */
int sd_rdata_soa_serial(const unsigned char *rd, size_t len, uint32_t *serial);

typedef struct sd_tlsa {
	uint8_t usage;      /* 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE */
	uint8_t selector;   /* 0 full certificate, 1 SubjectPublicKeyInfo */
	uint8_t mtype;      /* 0 exact, 1 SHA-256, 2 SHA-512 */
	const unsigned char *data;   /* points into the rdata */
	size_t len;
} sd_tlsa;

/* Splits TLSA rdata (RFC 6698 §2.1); 0 on success, -1 when too short. */
int sd_rdata_tlsa(const unsigned char *rd, size_t len, sd_tlsa *out);

/*
 * Non-zero when the TLSA record can be used for SMTP (RFC 7672 §3.1):
 * usage 2 or 3, selector 0 or 1, matching type 0-2 with the digest length
 * it implies.  `why` (may be NULL) gets a reason when it cannot.
 */
int sd_tlsa_usable(const sd_tlsa *t, const char **why);

/*
 * "3 1 1 ab12..." presentation form, the data cut at `maxhex` hex digits
 * (then "..."); malloc'd, or NULL.
 */
char *sd_tlsa_text(const sd_tlsa *t, size_t maxhex);

/* ---- names ---- */

/*
 * Non-zero when `name` is a usable DNS host name: 1..253 characters
 * (a trailing dot allowed), labels of 1..63 LDH or '_' characters.
 */
int sd_hostname_valid(const char *name);

/* The in-addr.arpa / ip6.arpa name of an address; 0 on success. */
int sd_reverse_name(const char *ip, char *out, size_t outlen);

/*
 * The DNSBL query name of `ip` under `zone`: reversed octets for IPv4,
 * 32 reversed nibbles for IPv6 (RFC 5782 §2.4).  0 on success.
 */
int sd_dnsbl_query_name(const char *ip, const char *zone, char *out,
    size_t outlen);

#endif
