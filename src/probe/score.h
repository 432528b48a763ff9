/*
 * Content scoring: asks a spam filter what it thinks of a message, the
 * way receivers will.  SpamAssassin's spamd is spoken to directly (the
 * spamc protocol, SPAMC/1.5 REPORT, over TCP with a deadline and bounded
 * reads); rspamd through its HTTP endpoint /checkv2 (libcurl).  The probe
 * records what the scorer said as a fact; rules/score_rules.h judges it.
 */
#ifndef SD_PROBE_SCORE_H
#define SD_PROBE_SCORE_H

#include <stddef.h>
#include <stdint.h>

#include "report/report.h"
#include "smtpdoctor/smtpdoctor.h"

/* A message bigger than this is not sent to a scorer (spamc's own
 * default limit is 500 KB; receivers score what fits). */
#define SD_SCORE_MAX_MESSAGE (1u << 20)
/* Bytes read of a scorer's answer. */
#define SD_SCORE_MAX_REPLY (256u << 10)
/* Rules kept in the fact, highest scores first. */
#define SD_SCORE_MAX_RULES 10

typedef enum sd_scorer_kind { SD_SCORER_SPAMD, SD_SCORER_RSPAMD } sd_scorer_kind;

typedef struct sd_scorer {
	sd_scorer_kind kind;
	char host[256];      /* an address literal or "localhost" */
	int port;
} sd_scorer;

/*
 * Parses "spamd://HOST[:PORT]", "rspamd://HOST[:PORT]" or "HOST:PORT"
 * (spamd); IPv6 as [ADDR].  Returns 0, or -1 with *why set.
 */
int sd_scorer_parse(const char *spec, sd_scorer *out, const char **why);

/*
 * The rules of a spamd REPORT body ("Content analysis details" table):
 * a JSON array of {name, score, description}, descriptions sanitised and
 * capped.  Any text is accepted (a table may be cut short).
 */
json_t *sd_score_spamd_rules(const char *text);

/*
 * Scores msg[0..len) with `scorer`, or when NULL with a local spamd
 * (127.0.0.1:783), then a local rspamd (127.0.0.1:11333), whichever
 * answers first.  Adds one fact per scorer tried ("score.spamd",
 * "score.rspamd"; stage content).  Returns before deadline_ms, or a
 * second from now when that has (nearly) passed.
 */
void sd_score_message(sd_report *r, const sd_scorer *scorer,
    const char *msg, size_t len, int64_t deadline_ms);

/* As sd_score_message with the scorer named by `spec` (sd_scorer_parse;
 * NULL: the local defaults).  A spec that does not parse is a fact
 * "score.scorer" (result unreachable, the reason in error). */
void sd_score_with(sd_report *r, const char *spec, const char *msg,
    size_t len, int64_t deadline_ms);

#endif
