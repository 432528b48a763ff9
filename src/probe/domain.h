/*
 * `smtpdoctor domain DOMAIN`: "is this domain's mail going to be
 * accepted?"  The probe asks every question at once (MX, SPF, DKIM, DMARC,
 * PTR, the authoritative servers, MTA-STS, TLS-RPT, DANE, blocklists), each
 * lookup under the run's deadline, and records what it saw as facts of
 * stage "domain" or "reputation".  The rules (rules/domain_rules.h) turn
 * the facts into findings and one verdict.
 */
#ifndef SD_PROBE_DOMAIN_H
#define SD_PROBE_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"
#include "report/report.h"
#include "smtpdoctor/smtpdoctor.h"

/* Sending addresses judged per run (SPF, PTR, DNSBL each). */
#define SD_DOMAIN_MAX_IPS 16
/* DKIM selectors asked per run. */
#define SD_DOMAIN_MAX_SELECTORS 32
/* MX hosts looked at (more are counted); RFC 5321 gives no limit, real
 * domains have a handful. */
#define SD_DOMAIN_MAX_MX 16
/* Authoritative server addresses asked directly. */
#define SD_DOMAIN_MAX_NS_ADDRS 8
/* Blocklist zones of each kind. */
#define SD_DOMAIN_MAX_ZONES 32
/* Names whose addresses we collect from one answer (PTR names, ...). */
#define SD_DOMAIN_MAX_NAMES 10
/* Text kept of one TXT record in a fact. */
#define SD_DOMAIN_TXT_MAX 4096

typedef struct sd_domain_params {
	const char *domain;          /* DOMAIN, lowercase, no trailing dot */
	/* sending addresses: --ip, else --public-ip (own = 1) */
	const char **ips;
	size_t n_ips;
	int ips_are_own;             /* the address is this machine's */
	/* --selector names; none: the message's, else the common ones */
	const char **selectors;
	size_t n_selectors;
	/* --message contents (borrowed), or NULL */
	const char *message;
	size_t message_len;
	const char *message_name;    /* the file name, for facts */
	/* checks of this run running at once, 0 for as many as the probe
	 * engine's pool gives (probe/jobs.h) */
	int max_workers;
	/* 0, or the latest end of the control lookup: when every lookup of
	 * the domain failed and no other name was answered, the probe asks
	 * the resolver for the root zone's name servers (fact
	 * "domain.control"), an answer it must have, to show whether it is
	 * alive.  `domain` sets it; check has its own lookups for that. */
	int64_t control_deadline;
} sd_domain_params;

/* The selectors tried when none is named (guesses: absence is only info). */
extern const char *const sd_domain_common_selectors[];

/*
 * Runs every check, adding facts to `r`, and returns when all are done or
 * at `deadline_ms` (+ a short grace), whichever is first.  Checks still
 * running then are abandoned: they record nothing more and free their own
 * state.  `res` is borrowed (it must outlive the call; abandoned checks
 * keep using it, so the caller must not free it when this returns 1).
 * Returns 0 when every check finished, 1 when some were abandoned.
 */
int sd_domain_probe(sd_report *r, sd_resolver *res, const sd_options *opt,
    const sd_domain_params *p, int64_t deadline_ms);

/*
 * The whole command: makes the resolver from `opt`, runs the probe and
 * the rules, and returns the report (NULL only when out of memory).  A
 * resolver that cannot be made gives an inconclusive report saying why.
 */
sd_report *sd_domain_run(const sd_options *opt, const sd_domain_params *p);

/*
 * The same on a resolver the caller owns and shares (a batch: one cache for
 * every line).  Checks the deadline abandoned keep their own reference to
 * the run's context, and the resolver must outlive them: a batch frees it
 * only at its end, when the process ends anyway.
 */
sd_report *sd_domain_run_shared(const sd_options *opt,
    const sd_domain_params *p, sd_resolver *res);

#endif
