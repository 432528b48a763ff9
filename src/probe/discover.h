/*
 * Where the settings of `check ADDRESS` come from when the user gave none:
 * RFC 6186/8314 SRV, the domain's autoconfig document, the provider table
 * (by domain, and by the domain's MX hosts), then guesses.  Every lookup
 * runs at once; the candidates found are probed up to TLS (never AUTH).
 */
#ifndef SD_PROBE_DISCOVER_H
#define SD_PROBE_DISCOVER_H

#include "dns/dns.h"
#include "probe/session.h"
#include "report/report.h"
#include "settings/providers.h"

#define SD_DISCOVER_MAX 24

typedef enum sd_source {
	SD_SRC_SRV, SD_SRC_AUTOCONFIG, SD_SRC_PROVIDER, SD_SRC_MX, SD_SRC_GUESS,
} sd_source;

const char *sd_source_name(sd_source s);

typedef struct sd_candidate {
	char host[256];
	int port;
	sd_tls_mode tls;
	sd_source source;
	char detail[400];     /* the record, URL or table row it came from */
	int prio, weight;     /* SRV */
	int order;            /* position within its source */
	int http_only;        /* named only by plain-http autoconfig */
	int works;            /* -1 not probed, 0 failed, 1 worked */
	char addr[64];        /* first address, "" when it did not resolve */
	int family;
	int resolve_failed;   /* the name did not resolve */
} sd_candidate;

typedef struct sd_discovery {
	struct disc_state *st;         /* while it runs (discover.c) */
	sd_candidate c[SD_DISCOVER_MAX];
	size_t n;
	const sd_provider *provider;   /* by domain, else by MX */
	char provider_by[16];          /* "domain" or "mx" */
} sd_discovery;

/*
 * Looks up every source for `domain` and adds a fact per source (stage
 * "discovery").  With SD_DISCOVER_PROBE, resolves and probes each candidate up to
 * EHLO after TLS, using run's settings (its report gets no probe facts:
 * they go to a scratch report).  Candidates come out ranked: the order of
 * SPEC sources, SRV priority and weight, 465 before 587.
 */
#define SD_DISCOVER_PROBE 1      /* probe the candidates up to TLS */
#define SD_DISCOVER_PUBLISHED 2  /* only what the domain publishes: no
                                    guesses, facts of their own */
void sd_discover(sd_report *r, sd_resolver *res, sd_run *run,
    const char *domain, int64_t deadline, int flags, sd_discovery *out);

/*
 * sd_discover in three steps, so that the check overlaps it.  _start asks
 * every source at once (threads) and returns at once (0: out of memory);
 * each candidate is probed as soon as its source answered.  _top waits
 * until the top-ranked candidate is known, that is until every source
 * ranked above it has answered (not for the lower ones, nor for any
 * probe), and copies it; 0 when no source named any.  With
 * SD_DISCOVER_TOP the caller checks that candidate itself, and discovery
 * does not probe it a second time.  _end waits for everything, ranks the
 * candidates into out and adds their facts; top_works and top_addr are
 * what the caller's check saw of the top one (-1 and NULL: nothing).
 */
#define SD_DISCOVER_TOP 4
int sd_discover_start(sd_discovery *out, sd_report *r, sd_resolver *res,
    sd_run *run, const char *domain, int64_t deadline, int flags);
int sd_discover_top(sd_discovery *d, sd_candidate *top);
void sd_discover_end(sd_discovery *out, int top_works, const char *top_addr);

/*
 * The published settings beside a check whose settings came from flags or
 * a file: adds the fact "published.settings" ({domain, servers}) when a
 * source or the provider table (by the server's name when there is no
 * domain) publishes any.
 */
void sd_discover_published(sd_report *r, sd_resolver *res, sd_run *run,
    const char *domain, const char *server, int64_t deadline);

/* The candidates as the JSON array of config.candidates. */
json_t *sd_discovery_json(const sd_discovery *d);

/* The best candidate that works, else the highest-ranked one that
 * resolved, else the highest-ranked; NULL when there is none. */
const sd_candidate *sd_discovery_choose(const sd_discovery *d);

#endif
