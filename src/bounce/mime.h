/*
 * A bounded reader of Internet messages (RFC 5322 headers, RFC 2045-2049
 * MIME): enough to take a bounce apart.  Cursors over the caller's bytes,
 * no copies of bodies that are not asked for, every loop bounded: a
 * boundary that never ends, a tree cut short, 10,000 nested parts or
 * invalid UTF-8 give a partial answer and a flag, never a crash.
 *
 * Header names are matched ASCII case-insensitively (no locale).
 */
#ifndef SD_BOUNCE_MIME_H
#define SD_BOUNCE_MIME_H

#include <stddef.h>

/* Nesting of multiparts followed; real bounces use three or four. */
#define SD_MIME_MAX_DEPTH 12
/* Parts visited in one message; a DSN has three, an NDR with images ten. */
#define SD_MIME_MAX_PARTS 512
/* A boundary longer than this is not one (RFC 2046 allows 70). */
#define SD_MIME_MAX_BOUNDARY 200
/* One unfolded header field value kept; longer ones are cut. */
#define SD_MIME_MAX_FIELD 8192

/* Flags of what was cut short or malformed (sd_mime_walk's *flags). */
#define SD_MIME_TOO_DEEP       0x1u  /* nesting beyond SD_MIME_MAX_DEPTH */
#define SD_MIME_TOO_MANY_PARTS 0x2u  /* parts beyond SD_MIME_MAX_PARTS */
#define SD_MIME_UNTERMINATED   0x4u  /* a multipart with no closing line */
#define SD_MIME_NO_BOUNDARY    0x8u  /* multipart without a usable boundary */

/* One part as the walker sees it: pointers into the caller's bytes. */
typedef struct sd_mime_part {
	char type[64];         /* "text/plain", lower case */
	char charset[32];      /* lower case, "" if none */
	char encoding[32];     /* Content-Transfer-Encoding, lower case */
	const char *headers;   /* the part's header block */
	size_t headers_len;
	const char *body;      /* the part's body, still encoded */
	size_t body_len;
	int depth;             /* 0 for the message itself */
} sd_mime_part;

/* Called for every part, multiparts included, in document order. */
typedef void (*sd_mime_cb)(void *ctx, const sd_mime_part *part);

/*
 * Walks the message msg[0..len).  The top level's headers end at the
 * first empty line (an input without one is all headers).  Returns the
 * number of parts visited; *flags gets SD_MIME_* bits.
 */
size_t sd_mime_walk(const char *msg, size_t len, sd_mime_cb cb, void *ctx,
    unsigned *flags);

/* Where the body starts: just after the first empty line (LF or CRLF),
 * or len when there is none. */
size_t sd_mime_body_offset(const char *msg, size_t len);

/* A cursor over header fields (also DSN field blocks, RFC 3464 §2). */
typedef struct sd_mime_fields {
	const char *p, *end;
} sd_mime_fields;

void sd_mime_fields_init(sd_mime_fields *c, const char *p, size_t len);

/*
 * The next field: `name` gets the name (cut to name_max - 1), `value` the
 * unfolded value (CRLF/LF followed by white space becomes one space; cut
 * to value_max - 1, trimmed).  Lines that are not fields are skipped.
 * Returns 0 at the end of the block (an empty line or the end).
 */
int sd_mime_fields_next(sd_mime_fields *c, char *name, size_t name_max,
    char *value, size_t value_max);

/* The first field named `name` (case-insensitive), as a malloc'd unfolded
 * value, or NULL when absent or out of memory. */
char *sd_mime_header(const char *hdrs, size_t len, const char *name);

/* A parameter of a structured value ("boundary" of a Content-Type),
 * quoted or not; 1 when found (cut to out_max - 1). */
int sd_mime_param(const char *value, const char *param, char *out,
    size_t out_max);

/*
 * Decodes a body by its Content-Transfer-Encoding ("base64",
 * "quoted-printable"; anything else is copied), keeping at most `max`
 * bytes of output.  Malformed input is decoded as far as it goes.
 * Returns malloc'd NUL-terminated memory, *out_len its length, or NULL
 * when out of memory.
 */
char *sd_mime_decode(const char *body, size_t len, const char *encoding,
    size_t max, size_t *out_len);

/*
 * RFC 2047 encoded words in a header value ("=?utf-8?B?...?="), decoded;
 * UTF-8 and US-ASCII are kept, ISO-8859-1 and Windows-1252 become UTF-8,
 * other charsets keep their bytes (the caller sanitises).  malloc'd.
 */
char *sd_mime_decode_words(const char *in);

/* HTML made readable: tags dropped (line breaks for block elements),
 * style/script bodies dropped, the common entities decoded.  malloc'd. */
char *sd_mime_html_text(const char *in, size_t len, size_t *out_len);

#endif
