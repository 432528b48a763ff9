/*
 * Internal to the domain probe (domain.c, domain_mtasts.c, domain_dane.c):
 * the run's shared state and the helpers every check uses to look names up
 * and record facts.  Not for other modules.
 */
#ifndef SD_PROBE_DOMAIN_INT_H
#define SD_PROBE_DOMAIN_INT_H

#include <jansson.h>
#include <pthread.h>

#include "dns/dns.h"
#include "probe/domain.h"
#include "probe/host.h"
#include "report/report.h"

/* Longest fact id we build (names are at most 253 bytes). */
#define SD_DOMAIN_ID_MAX 1024

typedef struct sd_dctx sd_dctx;

/* Read-only after the run starts: checks may read these without a lock. */
typedef struct sd_dctx_conf {
	char *domain;
	char **ips;
	size_t n_ips;
	int ips_own;
	char *ca_file;
	int family;                  /* 0 both, 4, 6 */
	int64_t connect_timeout_ms;
	int64_t deadline;            /* every lookup ends by then */
	sd_resolver *res;            /* a reference of the run's own */
	int have_resolver_option;    /* --resolver given */
} sd_dctx_conf;

const sd_dctx_conf *sd_dctx_conf_of(const sd_dctx *c);

/*
 * Adds a fact unless the run has been closed (its deadline passed and the
 * report handed on).  Steals `fact`.  Copies the id the report gave it
 * into `id_out` (may be NULL).  Returns 0 when added.
 */
int sd_dctx_fact(sd_dctx *c, json_t *fact, char *id_out, size_t id_len);

/* A transcript line for connection `conn` ('C', 'S' or 'I'). */
void sd_dctx_transcript(sd_dctx *c, const char *conn, char dir,
    const char *line, size_t len);

/*
 * Looks `name`/`type` up through `res` (NULL: the run's resolver) before
 * `deadline` (0: the run's), and records a lookup fact (stage `stage`, id
 * "<prefix>dns.<TYPE>.<name>").  `out` must be zeroed; the caller clears
 * it.  The fact id goes to `id_out` (may be NULL).  Returns out->status.
 */
sd_dns_status sd_dctx_lookup(sd_dctx *c, sd_resolver *res, const char *name,
    uint16_t type, int64_t deadline, const char *stage, const char *prefix,
    sd_dns_answer *out, char *id_out, size_t id_len);

/*
 * The A and AAAA lookups of `host` (with `by_family`, only the one -4 or
 * -6 allows), each recorded as by sd_dctx_lookup and its fact id added to
 * *ev.  Free `out` with sd_dns_host_clear().
 */
void sd_dctx_host(sd_dctx *c, const char *host, int by_family,
    sd_dns_host_answer *out, json_t **ev);

/* A JSON array with one string, or appends to `arr` (never NULL result
 * unless out of memory). */
json_t *sd_evidence_add(json_t *arr, const char *id);
/* S as a JSON string, escaped and capped at MAX bytes; null for NULL. */
json_t *sd_jstr_sanitized(const char *s, size_t max);

/* "A", "MX", "TXT", ... */

/* The checks that live in their own files. */
void sd_domain_check_mtasts(sd_dctx *c);
void sd_domain_check_dane(sd_dctx *c, const char *mx_host);

#endif
