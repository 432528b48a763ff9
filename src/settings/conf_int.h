/* Shared by the configuration parsers (clientconf.c, conf_*.c). */
#ifndef SD_SETTINGS_CONF_INT_H
#define SD_SETTINGS_CONF_INT_H

#include <stdarg.h>

#include "settings/clientconf.h"

/* One line of the text: [start, start+len), its 1-based number. */
typedef struct conf_line {
	const char *s;
	size_t len;
	int no;
} conf_line;

/* A cursor over the lines of a text. */
typedef struct conf_reader {
	const char *text;
	size_t len, pos;
	int no;
} conf_reader;

void conf_reader_init(conf_reader *r, const char *text, size_t len);
/* The next line without its end of line; 0 at the end. */
int conf_next_line(conf_reader *r, conf_line *l);

/* Sets out->error ("FILE line N: ...") and returns -1. */
int conf_fail(sd_client_conf *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void conf_note(sd_client_conf *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Skips blanks; returns the new position. */
const char *conf_skip_ws(const char *p, const char *end);
/* Bytes from p before end or any byte of stop (the text of a file is not
 * NUL-terminated: never strcspn on it). */
size_t conf_span(const char *p, const char *end, const char *stop);
/* Copies [s, s+n) into dst (NUL-terminated, truncation refused). */
int conf_copy(char *dst, size_t dstlen, const char *s, size_t n);
/* Stores a secret (malloc'd), replacing and wiping any earlier one. */
int conf_set_password(sd_client_conf *c, const char *s, size_t n, int line);
/* -1 (a usage error naming the format) when an ACCOUNT was given to a
 * format that has none; else 0. */
int conf_no_account(sd_client_conf *c, const char *account, const char *what);
/* The address inside "Name <addr>" or a bare address, into dst. */
void conf_address(char *dst, size_t dstlen, const char *v);

/*
 * Room for item n of what a parse keeps (an array of *cap items of `size`
 * bytes, NULL at first): it grows by doubling, up to max items, so that a
 * parse costs what its file holds and no two parses share anything.
 * Returns the array (perhaps moved; new items not initialised), or NULL
 * when out of memory (items untouched and still the caller's).  The
 * caller refuses item max itself, in its own words, before asking.
 */
void *conf_grow(void *items, int n, int *cap, size_t size, int max);

/*
 * Follows an include of `path` (relative to the file being read, "~/" for
 * $HOME) named at `line`: body(state, text, len, c) reads it with c->file
 * naming it meanwhile, so that its errors and notes name their own file.
 * Deeper than SD_CONF_INCLUDE_DEPTH, or a file already being read (a
 * loop), is an error naming the line; a file that cannot be read is
 * noted.  Returns body's result, or 0.
 */
typedef int (*conf_body_fn)(void *state, const char *text, size_t len,
    sd_client_conf *c);
int conf_include(sd_client_conf *c, const char *path, int line,
    conf_body_fn body, void *state);
/* The included file being read, or NULL in the file itself. */
const char *conf_included(const sd_client_conf *c);
/* The canonical name of the file named on the command line (top), or of
 * the one being read; NULL outside a parse. */
const char *conf_open_file(const sd_client_conf *c, int top);

int conf_msmtp(const char *text, size_t len, const char *account,
    sd_client_conf *c);
int conf_git(const char *text, size_t len, const char *account,
    sd_client_conf *c);
int conf_mutt(const char *text, size_t len, const char *account,
    sd_client_conf *c);
int conf_thunderbird(const char *text, size_t len, const char *account,
    sd_client_conf *c);
int conf_postfix(const char *text, size_t len, const char *account,
    sd_client_conf *c);

#endif
