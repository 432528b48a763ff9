/* Small helpers shared by every module. */
#ifndef SD_UTIL_H
#define SD_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Monotonic clock in milliseconds (CLOCK_MONOTONIC). */
int64_t sd_now_ms(void);

/* The wall clock (CLOCK_REALTIME) in seconds: for timestamps shown. */
double sd_wall_now(void);

/* Milliseconds left until `deadline_ms`, never negative. */
int64_t sd_remaining_ms(int64_t deadline_ms);

/* A condition variable whose timed waits count on CLOCK_MONOTONIC (a
 * change of the wall clock moves no deadline); 0 on success. */
int sd_cond_init_monotonic(pthread_cond_t *cond);

/* A deadline as the absolute CLOCK_MONOTONIC time pthread_cond_timedwait()
 * takes (with a condition variable set to that clock). */
struct timespec;
void sd_deadline_timespec(int64_t deadline_ms, struct timespec *ts);

/* The earlier of two deadlines. */
int64_t sd_deadline_min(int64_t a, int64_t b);

/* A growing text, NUL-terminated, with a sticky out-of-memory flag: an
 * append that would take it past `max` bytes fails it too (the exporter's
 * metrics pages). */
typedef struct sd_buf {
	char *buf;
	size_t len, cap;
	int failed;
} sd_buf;

void sd_buf_put(sd_buf *b, const char *s, size_t n, size_t max);

/* Seconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ" (UTC) in buf (21
 * bytes at least).  Not gmtime_r(): the C library reads the time zone
 * file before its first answer, a file and six system calls per process
 * for a time that has no zone. */
void sd_utc_text(int64_t t, char *buf, size_t len);

/*
 * Cancel scopes (cancel.c): a run's flag that every thread working for it
 * sees.  sd_cancel_new() makes one under the calling thread's scope (a
 * child: firing the parent fires it too); sd_cancel_enter() makes c the
 * calling thread's scope and returns the one it replaces (the job model
 * does this for the workers that run a group's jobs).  Waits that honour
 * it (lookups, connections, a group's owner waiting for its jobs) end at
 * once when sd_cancelled() says the scope was fired; the run's memory is
 * the run's own, so work that cannot notice ends by its own deadline.
 */
typedef struct sd_cancel sd_cancel;
sd_cancel *sd_cancel_new(void);
sd_cancel *sd_cancel_ref(sd_cancel *c);
void sd_cancel_unref(sd_cancel *c);
void sd_cancel_fire(sd_cancel *c);
int sd_cancel_fired(const sd_cancel *c);
sd_cancel *sd_cancel_enter(sd_cancel *c);
sd_cancel *sd_cancel_current(void);
int sd_cancelled(void);
/*
 * A wait that honours c without looking at it over and over counts itself
 * as a watcher (sd_cancel_watch(c, 1), then reads the flag, then sleeps;
 * sd_cancel_watch(c, -1) when it leaves); firing c or a parent of it while
 * it is watched calls the wake function given to sd_cancel_on_fire().
 */
void sd_cancel_watch(sd_cancel *c, int delta);
void sd_cancel_on_fire(void (*wake)(void));

/*
 * Waits on the network (cancel.c, beside the scopes): code about to block
 * on a socket says so with sd_wait_begin(), and sd_wait_end() when the
 * wait is over.  The calling thread's listener, if it has one, hears it:
 * the job pool (probe/jobs.c) starts another job of a group that runs as
 * many jobs as there are CPUs meanwhile.  sd_wait_listen() sets the
 * thread's listener (NULL: none) and returns the one it replaces.
 */
typedef void (*sd_wait_fn)(int waiting);
sd_wait_fn sd_wait_listen(sd_wait_fn fn);
void sd_wait_begin(void);
void sd_wait_end(void);

/*
 * Text that did not come from smtpdoctor (a peer, a certificate, a DNS
 * record, a file, a saved report) is escaped by one routine, sd_escape():
 * at most `max` bytes of `in` (never half a character), with C0 controls,
 * DEL and bytes that are not valid UTF-8 written as \xNN (\n, \r, \t by
 * name), C1 controls (U+0080-U+009F), bidi controls (U+061C, U+200E,
 * U+200F, U+202A-U+202E, U+2066-U+2069) and U+2028/U+2029 as \uXXXX.
 * Backslashes are kept as they are, so escaping escaped text changes
 * nothing.  Returns malloc'd memory or NULL.
 */
#define SD_ESC_KEEP_NL 1   /* keep '\n' (a multi-line reply kept as data) */
#define SD_ESC_QUOTE 2     /* wrap in "..." and write '"' as \" */
char *sd_escape(const char *in, size_t len, size_t max, int flags);

/* The length sd_escape() would give all of in[0..len), without writing:
 * len itself when nothing needs escaping. */
size_t sd_escaped_len(const char *in, size_t len, int flags);

/* One line, for showing: sd_escape(in, len, max, 0). */
char *sd_sanitize(const char *in, size_t len, size_t max);

/* Multi-line text kept as data: line breaks stay, no cap beyond len. */
char *sd_sanitize_text(const char *in, size_t len);

/* Quoted, one line: what a peer said, inside our own words. */
char *sd_quote(const char *in, size_t len, size_t max);

/* Base64 (RFC 4648).  Returns malloc'd memory or NULL.  decode returns NULL
 * on invalid input; *outlen gets the decoded length. */
char *sd_base64_encode(const unsigned char *in, size_t len);
unsigned char *sd_base64_decode(const char *in, size_t len, size_t *outlen);
/* The value of one base64 character, or -1. */
int sd_base64_value(char c);

/* ASCII-only case-insensitive compare (no locale: tr_TR dotless i). */
int sd_strcaseeq(const char *a, const char *b);
int sd_strncaseeq(const char *a, const char *b, size_t n);
/* Non-zero when DNS names `a` and `b` are the same name: ASCII
 * case-insensitive, a trailing dot on either ignored. */
int sd_name_eq(const char *a, const char *b);
/* Non-zero when DNS name `a` is `b` or a name below it ("x.b"), compared
 * as sd_name_eq does. */
int sd_name_under(const char *a, const char *b);
/* ASCII case-insensitive substring search. */
const char *sd_strcasestr(const char *hay, const char *needle);
char sd_tolower(char c);

/* `word` is one of the space-separated words of `list`. */
int sd_word_in(const char *list, const char *word);

/*
 * The next word of a line (*cur, NUL-terminated, cut up in place; *cur
 * moves past the word), or NULL at its end.  A word is ended by a space or
 * tab, except one that begins with a double quote: it runs to the next
 * double quote, which must end the word, and the quotes are not part of
 * it.  *bad is set (and NULL returned) when that quote is missing or
 * followed by more of the word.
 */
char *sd_word_next(char **cur, int *bad);

/* Wipes memory in a way the compiler cannot drop. */
void sd_wipe(void *p, size_t n);

#endif
