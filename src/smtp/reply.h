/*
 * SMTP replies (RFC 5321 §4.2) with enhanced status codes (RFC 2034,
 * RFC 3463), read line by line through one shared, bounded parser.
 */
#ifndef SD_REPLY_H
#define SD_REPLY_H

#include <stddef.h>

/* A reply of more lines than this is hostile or broken (msmtp uses a
 * similar bound); EHLO replies have a dozen. */
#define SD_REPLY_MAX_LINES 128
/* Text kept of one reply, all lines together. */
#define SD_REPLY_MAX_TEXT 16384

/* EHLO capabilities (RFC 5321 §4.1.1.1 and extensions). */
enum {
	SD_CAP_STARTTLS = 1 << 0,
	SD_CAP_AUTH = 1 << 1,
	SD_CAP_SIZE = 1 << 2,
	SD_CAP_PIPELINING = 1 << 3,
	SD_CAP_8BITMIME = 1 << 4,
	SD_CAP_SMTPUTF8 = 1 << 5,
	SD_CAP_ENHANCED = 1 << 6,
	SD_CAP_CHUNKING = 1 << 7,
	SD_CAP_DSN = 1 << 8,
	SD_CAP_MASKED = 1 << 9,  /* keywords like XXXXXXXA: an inspecting
	                            firewall masked them */
};

/* AUTH mechanisms kept (servers offer a handful; 16 leaves room). */
#define SD_MAX_MECHS 16
typedef struct sd_caps {
	unsigned flags;
	char mechs[SD_MAX_MECHS][24]; /* AUTH mechanisms, upper case */
	int n_mechs;
	/* mechanisms offered but not kept (over SD_MAX_MECHS, or a name of
	 * 24 bytes or more): when non-zero, a mechanism missing from mechs
	 * may still be offered, and nothing may be concluded from that */
	int mechs_dropped;
	long size;                    /* SIZE limit, 0 = none stated */
	char greeting_name[128];      /* first word of the first line */
} sd_caps;

/*
 * Reads one line of an EHLO reply (its text, after "250-") into caps;
 * first = the reply's first line (the server's name).  sd_reply_feed()
 * calls it for every line as it arrives, so that what is kept of the
 * reply's text (SD_REPLY_MAX_TEXT) never limits what is judged.
 */
void sd_caps_feed(sd_caps *caps, const char *text, size_t len, int first);

/* Parses an EHLO reply's text (lines joined by \n) into caps. */
void sd_caps_parse(sd_caps *caps, const char *text);

int sd_caps_has_mech(const sd_caps *caps, const char *mech);

typedef struct sd_reply {
	int code;             /* 3-digit code, 0 while incomplete */
	char enhanced[16];    /* "5.7.8" or "" */
	char text[SD_REPLY_MAX_TEXT]; /* lines without code, joined by \n */
	size_t text_len;
	size_t text_dropped;  /* bytes of text over SD_REPLY_MAX_TEXT, not kept */
	int n_lines;
	int done;
	/* the lines read as EHLO capabilities, every line of the reply (only
	 * meaningful for the reply to EHLO) */
	sd_caps caps;
} sd_reply;

typedef enum sd_reply_rc {
	SD_REPLY_MORE = 0,     /* feed the next line */
	SD_REPLY_DONE,         /* the reply is complete */
	SD_REPLY_BAD_SYNTAX,   /* a line that is not "NNN[- ]text" */
	SD_REPLY_MIXED_CODES,  /* continuation lines with another code */
	SD_REPLY_TOO_MANY,     /* over SD_REPLY_MAX_LINES */
} sd_reply_rc;

const char *sd_reply_rc_text(sd_reply_rc rc);

void sd_reply_init(sd_reply *r);

/* Feeds one line (no CRLF). */
sd_reply_rc sd_reply_feed(sd_reply *r, const char *line, size_t len);

/* Parses "X.Y.Z" at the start of text into out (16 bytes); 1 if found. */
int sd_parse_enhanced(const char *text, size_t len, char *out);


#endif
