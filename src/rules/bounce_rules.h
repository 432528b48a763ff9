/*
 * The rules of `bounce`: from the facts a bounce was read into
 * (bounce/bounce.h) to each recipient's cause, the findings, the verdict
 * and the report's "bounce" member.  They read r->facts and nothing else.
 *
 * A recipient's cause is the remote server's reply matched against
 * data/bounces.def (recipient-side wordings, server software, enhanced
 * codes), then against the provider reply table for the causes a bounce
 * can share with a submission (blocklists, rates, content, size, sender).
 * Each recipient is a candidate of the engine of every command
 * (rules/judge.h), ranked by sd_bounce_verdict_order: the verdict is a
 * failed recipient whose cause is on the sender's side, else one with a
 * recipient.* cause; a report that only delays is warn, one that only
 * delivers is ok.
 */
#ifndef SD_BOUNCE_RULES_H
#define SD_BOUNCE_RULES_H

#include <stddef.h>

#include "report/report.h"
#include "rules/replies.h"

/*
 * The row that explains a remote server's reply, or NULL.  `smtp_stage`
 * is "mail", "rcpt", "data", "data_end" or NULL (not said); `code` the
 * reply code (0 for none); `status` the RFC 3463 code of the report
 * (used when the reply carries none); `diagnostic` the reply, code first
 * ("550 5.1.1 ...") or words alone.
 */
const sd_reply_rule *sd_bounce_classify(const char *smtp_stage, int code,
    const char *status, const char *diagnostic);

/* The bounce wording table, in matching order. */
const sd_reply_rule *sd_bounce_table(size_t *n);

/* The precedence of bounce's verdict among its recipients' candidates,
 * for sd_judge_rank (rules/judge.h); NULL-terminated. */
extern const char *const sd_bounce_verdict_order[];

/* Whether a cause lies on the sender's side (not recipient.*). */
int sd_bounce_sender_side(const char *cause);

/*
 * What --recheck probes, decided from the facts a bounce was read into:
 * the domain to audit and, for a cause on the sender's side, the sending
 * address and the returned message.  `target` is "sender" or
 * "recipient", or NULL when no probe can confirm the cause (`why` says
 * why).  Strings point into the facts (borrowed).
 */
typedef struct sd_bounce_plan {
	const char *cause;    /* the verdict's cause, or NULL */
	const char *target;   /* "sender", "recipient" or NULL */
	const char *domain;   /* the domain to audit */
	const char *ip;       /* the sending address, or NULL */
	int with_message;     /* the returned message is whole: check DKIM */
	char zone[256];       /* the blocklist the reply names, or "" */
	const char *why;      /* when target is NULL */
	char domain_buf[256];
} sd_bounce_plan;

void sd_bounce_recheck_plan(const json_t *facts, sd_bounce_plan *p);

/*
 * Adds findings, the verdict and the "bounce" member from the facts.
 * When a "bounce.recheck" fact is present, the domain and reputation
 * facts the recheck added are judged again (rules/domain_rules.h) to say
 * whether the cause still holds.
 */
void sd_bounce_rules(sd_report *r);

#endif
