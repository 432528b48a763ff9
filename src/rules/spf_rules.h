/*
 * The rules of `spf`: the report's "spf" member and its facts (one per DNS
 * query, stage "domain", and "spf.DOMAIN" with the result) to findings and
 * one verdict.  The result decides the verdict (docs/spf.md); what
 * endangers a result that still works is a warning beside it.  They read
 * the report and nothing else, so a saved report can be judged again.
 */
#ifndef SD_SPF_RULES_H
#define SD_SPF_RULES_H

#include "report/report.h"
#include "rules/judge.h"

/* Lookups from which the count is worth a warning (the limit is 10). */
#define SD_SPF_LOOKUPS_WARN 8

void sd_spf_rules(sd_report *r);

/*
 * The warnings about an SPF policy that still works, in the words of
 * `spf`; the domain rules give the same ones for the same record.  Each
 * proposes a warning about `domain`, the checked domain, and steals `ev`
 * (fact ids).
 */

/* spf.lookups_near_limit: `lead` says whose count it is ("this evaluation
 * used"); `whole_tree`: the count of every term of the record, not of
 * one evaluation that may stop early. */
void sd_spf_warn_lookups(sd_judge *j, const char *domain, json_t *ev,
    const char *lead, long long lookups, int whole_tree);

/* spf.void_lookups_at_limit; `lead` comes first ("" or "in the
 * evaluation for 192.0.2.1, "). */
void sd_spf_warn_voids(sd_judge *j, const char *domain, json_t *ev,
    const char *lead, long long voids);

/* spf.ptr_used: `terms` [{"term", "domain"}] that need the client's PTR
 * names (none: "a ptr mechanism or the %{p} macro"), the lookup of each
 * record added to `ev` when `facts` hold it; `how` ends the sentence
 * (whether an evaluation looked the names up). */
void sd_spf_warn_ptr(sd_judge *j, const char *domain, json_t *ev,
    const json_t *terms, const json_t *facts, int beside_permerror,
    const char *how);

/* spf.allows_all: `term` in the record of `term_domain` lets `who` send;
 * `via` in the record of `via_domain` is the term of the checked chain
 * that reached it, named when it is another (an include:), or NULL. */
void sd_spf_warn_allows_all(sd_judge *j, const char *domain, json_t *ev,
    const char *term, const char *term_domain, const char *via,
    const char *via_domain, const char *who);

/* Whom a set of address families (SD_SPF_WIDE_V4, SD_SPF_WIDE_V6 of
 * mailauth/spf.h) is, for people ("every IPv4 address"), or NULL. */
const char *sd_spf_who(unsigned families);

/* Whom the term `term` (record text, "ip4:0.0.0.0/0") lets send when it
 * matched a client of `net` ("ip4", "ip6"): sd_spf_who of the families
 * it matches whatever the address, NULL when it matches fewer. */
const char *sd_spf_open_to(const char *term, const char *net);

#endif
