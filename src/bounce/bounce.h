/*
 * Reading a message that came back: an RFC 3464 delivery status
 * notification (multipart/report, RFC 6522), or the plain-text report of
 * a mail server or provider, as a whole message, a one-message mbox or
 * text pasted from a mail client.  The reader observes and records: what
 * each recipient's delivery came to, the remote server's words, the
 * returned message's headers.  What it means is for the rules
 * (rules/bounce_rules.h), which read the facts this module writes.
 *
 * Bounded: the input is at most SD_BOUNCE_MAX_INPUT bytes, at most
 * SD_BOUNCE_MAX_RCPTS recipients are kept (the rest counted), text parts
 * are decoded up to SD_BOUNCE_MAX_TEXT bytes each.
 */
#ifndef SD_BOUNCE_H
#define SD_BOUNCE_H

#include <stddef.h>

#include "report/report.h"

/* A bounce bigger than this is refused (it returns a whole message, so
 * tens of megabytes are possible). */
#define SD_BOUNCE_MAX_INPUT (64u << 20)
/* Recipients kept; a DSN may list thousands (a mailing list's). */
#define SD_BOUNCE_MAX_RCPTS 10000
/* Decoded bytes kept of one text part (reports are a few KiB). */
#define SD_BOUNCE_MAX_TEXT (256u << 10)
/* Bytes kept of one diagnostic, after joining its lines. */
#define SD_BOUNCE_MAX_DIAG 2048
/* Recipients written as facts (the rest are counted in bounce.message). */
#define SD_BOUNCE_MAX_RCPT_FACTS 1000

typedef struct sd_bounce_rcpt {
	char *recipient;      /* Final-Recipient, the address only */
	char *original;       /* Original-Recipient, or NULL */
	char *action;         /* failed, delayed, delivered, relayed, expanded */
	char *status;         /* RFC 3463 code "5.1.1", or NULL */
	char *remote_mta;     /* host name or address literal, or NULL */
	char *remote_ip;      /* the remote host's address when named */
	char *diagnostic;     /* the remote server's words, one line */
	char *diagnostic_type;/* "smtp", "x-unix", ... or NULL */
	char *stage;          /* "mail", "rcpt", "data_end" when said */
	char *last_attempt, *will_retry_until, *final_log_id;
	int code;             /* the SMTP reply code in the diagnostic, or 0 */
	int from_dsn;         /* 1: read from a delivery-status part */
} sd_bounce_rcpt;

typedef enum sd_bounce_kind {
	SD_BOUNCE_NOT_MESSAGE = 0,  /* empty, binary, or no message at all */
	SD_BOUNCE_MESSAGE,          /* a message, but no report in it */
	SD_BOUNCE_REPORT,           /* a delivery report */
} sd_bounce_kind;

typedef struct sd_bounce {
	sd_bounce_kind kind;
	const char *format;         /* "dsn" or "text" */
	const char *generator;      /* "postfix", "exim", ..., or NULL */
	int has_headers;            /* the input starts with header fields */
	char *subject, *from, *to, *date;
	/* per-message DSN fields (RFC 3464 §2.2) */
	char *reporting_mta, *dsn_gateway, *received_from_mta, *arrival_date,
	    *envelope_id;
	sd_bounce_rcpt *rcpts;
	size_t n_rcpts, cap_rcpts;
	size_t n_rcpts_dropped;     /* beyond SD_BOUNCE_MAX_RCPTS */
	/* the returned message or its headers (RFC 6522 third part, or the
	 * text after a report's "copy of the message" line) */
	char *returned;
	size_t returned_len;
	int returned_headers_only;
	unsigned mime_flags;        /* SD_MIME_* of the walk */
	/* recipients by address, while the text is matched to them (an
	 * open-addressing table of index + 1; 0 is empty) */
	size_t *index;
	size_t index_cap;
	int binary;                 /* NUL bytes: not text */
} sd_bounce;

/*
 * Reads in[0..len).  Returns 0, or -1 when out of memory (b is then
 * partly filled and must still be freed).
 */
int sd_bounce_parse(const char *in, size_t len, sd_bounce *b);

void sd_bounce_free(sd_bounce *b);

/*
 * Records what was read as facts: "bounce.message" (stage content),
 * one "bounce.rcpt.N" per recipient (stage envelope), "bounce.returned"
 * (stage content) when a returned message was found, and
 * "bounce.sending_ip" when the report or the returned headers name the
 * address the message was sent from.
 */
void sd_bounce_facts(sd_report *r, const sd_bounce *b);

#endif
