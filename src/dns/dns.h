/*
 * The resolver interface.  One backend talks to libunbound (dns_unbound.c),
 * a stub one to the configured servers through c-ares (dns_stub.c); tests
 * and fuzzers plug in their own through sd_resolver_ops.
 *
 * "The lookup failed" (SERVFAIL, timeout, bogus) is kept apart from "the
 * answer says no" (NXDOMAIN, no data): SPF temperror and permerror, and
 * settings.host_not_found vs dns.resolution_failed, hang on it.
 */
#ifndef SD_DNS_H
#define SD_DNS_H

#include <stddef.h>
#include <stdint.h>

enum {
	SD_DNS_A = 1, SD_DNS_NS = 2, SD_DNS_CNAME = 5, SD_DNS_SOA = 6,
	SD_DNS_PTR = 12, SD_DNS_MX = 15, SD_DNS_TXT = 16, SD_DNS_AAAA = 28,
	SD_DNS_SRV = 33, SD_DNS_DS = 43, SD_DNS_DNSKEY = 48, SD_DNS_TLSA = 52,
	SD_DNS_SPF = 99,
};

typedef enum sd_dns_status {
	SD_DNS_OK = 0,     /* records of the type asked for */
	SD_DNS_NXDOMAIN,   /* the name does not exist */
	SD_DNS_NODATA,     /* the name exists, no records of this type */
	SD_DNS_SERVFAIL,   /* the lookup failed: SERVFAIL, REFUSED, FORMERR */
	SD_DNS_TIMEOUT,    /* no answer before the deadline */
	SD_DNS_BOGUS,      /* DNSSEC validation failed */
	SD_DNS_ERROR,      /* anything else (bad name, out of memory) */
} sd_dns_status;

const char *sd_dns_status_name(sd_dns_status s);
/* "A", "MX", ... for a record type ("TYPE" for others). */
const char *sd_dns_type_name(uint16_t type);
/* Non-zero for the statuses that mean the lookup failed. */
int sd_dns_status_is_failure(sd_dns_status s);

typedef struct sd_dns_rr {
	uint16_t type;
	uint32_t ttl;
	/*
	 * Presentation text: an address for A/AAAA; the target name (no
	 * trailing dot) for CNAME/NS/PTR/MX/SRV; the character-strings of a
	 * TXT record concatenated (may hold NUL bytes: use text_len).
	 */
	char *text;
	size_t text_len;
	uint16_t pref;          /* MX preference, SRV priority */
	uint16_t weight, port;  /* SRV */
	unsigned char *rdata;   /* raw rdata, always set */
	size_t rdlen;
} sd_dns_rr;

typedef struct sd_dns_answer {
	sd_dns_status status;
	int rcode;
	int secure;           /* DNSSEC validated */
	char *why_bogus;      /* when BOGUS, or NULL */
	char *canonname;      /* after CNAMEs, or NULL */
	sd_dns_rr *rr;
	size_t n_rr;
	int64_t elapsed_ms;
	int unasked;          /* TIMEOUT before the question went out: the
	                       * deadline had passed, or the run was given up;
	                       * nothing was sent */
} sd_dns_answer;

void sd_dns_answer_clear(sd_dns_answer *a);

typedef struct sd_resolver sd_resolver;

typedef struct sd_resolver_ops {
	/* Fills `out` (zeroed by the caller); returns out->status. */
	sd_dns_status (*query)(void *impl, const char *name, uint16_t type,
	    int64_t deadline_ms, sd_dns_answer *out);
	void (*free)(void *impl);
} sd_resolver_ops;

/* Wraps a backend; takes ownership of impl. */
sd_resolver *sd_resolver_new_custom(const sd_resolver_ops *ops, void *impl);

/*
 * The libunbound backend.  `servers` are ADDR[:PORT] / [ADDR]:PORT (NULL:
 * the system's resolv.conf); `trust_anchor` a file of DS/DNSKEY records or
 * NULL.  Thread-safe: probes query from many threads at once.  On failure
 * returns NULL and sets *err to a message (static string).
 */
sd_resolver *sd_resolver_new_unbound(const char **servers, size_t n_servers,
    const char *trust_anchor, const char **err);

/* The same, sized for one run's few dozen names at once (a check) rather
 * than a batch's thousands: a fraction of the memory. */
sd_resolver *sd_resolver_new_unbound_run(const char **servers,
    size_t n_servers, const char *trust_anchor, const char **err);

/*
 * Looks up name/type, waiting at most until deadline_ms (monotonic
 * milliseconds, sd_now_ms()); SD_DNS_TIMEOUT at once when the calling
 * thread's cancel scope (util.h) was fired.  Thread-safe.  `out` must be zeroed or
 * cleared; free it with sd_dns_answer_clear().
 */
sd_dns_status sd_dns_query(sd_resolver *res, const char *name, uint16_t type,
    int64_t deadline_ms, sd_dns_answer *out);

/*
 * The stub backend (dns_stub.c): asks the servers (as above; NULL: the
 * nameservers of resolv.conf) through c-ares and validates nothing;
 * answers are cached for their TTL.  For lookups that need no DNSSEC (SPF): far cheaper to
 * create than the libunbound backend.  Thread-safe.
 */
sd_resolver *sd_resolver_new_stub(const char **servers, size_t n_servers,
    const char **err);

/*
 * Reads msg as the stub backend reads an answer to name/type (for tests
 * and fuzzers): fills out and *ttl (how long it may be cached); returns
 * out->status, SD_DNS_ERROR when msg does not answer that question.
 */
sd_dns_status sd_dns_stub_parse(const unsigned char *msg, size_t len,
    const char *name, uint16_t type, sd_dns_answer *out, uint32_t *ttl);

/* Why the system's resolver may not be used (the test suite forbids it:
 * a test that forgot --resolver fails instead of leaking queries), or
 * NULL when it may. */
const char *sd_dns_system_resolver_refused(void);

/* Number of queries sent through this resolver (for SPF lookup counts). */
unsigned long sd_resolver_query_count(const sd_resolver *res);

/* One more holder of res (a run that may outlive its caller's use):
 * sd_resolver_free() drops one, and the last frees it. */
sd_resolver *sd_resolver_ref(sd_resolver *res);
void sd_resolver_free(sd_resolver *res);

/*
 * Decodes one record's rdata (uncompressed wire format, as libunbound
 * returns it) into rr: text, pref, port, rdata.  Returns 1, or 0 when the
 * rdata is malformed (rr may then hold partial allocations: free them).
 */
int sd_dns_rr_from_wire(sd_dns_rr *rr, uint16_t type,
    const unsigned char *rd, size_t len);

/* Parses a --resolver value into libunbound's "ADDR@PORT"; 1 if valid. */
int sd_dns_server_spec(const char *in, char *out, size_t outlen);

#endif
