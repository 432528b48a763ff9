/* Small helpers shared by every module. */
#ifndef SD_UTIL_H
#define SD_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic clock in milliseconds (CLOCK_MONOTONIC). */
int64_t sd_now_ms(void);

/* Milliseconds left until `deadline_ms`, never negative. */
int64_t sd_remaining_ms(int64_t deadline_ms);

/* The earlier of two deadlines. */
int64_t sd_deadline_min(int64_t a, int64_t b);

/*
 * Copies at most `max` bytes of `in` into a new string, replacing control
 * characters and bytes >= 0x7f that are not valid UTF-8 with '?'.
 * Returns malloc'd memory or NULL.
 */
char *sd_sanitize(const char *in, size_t len, size_t max);

/* The same for multi-line text: keeps '\n', no length cap beyond len. */
char *sd_sanitize_text(const char *in, size_t len);

/* Base64 (RFC 4648).  Returns malloc'd memory or NULL.  decode returns NULL
 * on invalid input; *outlen gets the decoded length. */
char *sd_base64_encode(const unsigned char *in, size_t len);
unsigned char *sd_base64_decode(const char *in, size_t len, size_t *outlen);
/* The value of one base64 character, or -1. */
int sd_base64_value(char c);

/* ASCII-only case-insensitive compare (no locale: tr_TR dotless i). */
int sd_strcaseeq(const char *a, const char *b);
int sd_strncaseeq(const char *a, const char *b, size_t n);
/* ASCII case-insensitive substring search. */
const char *sd_strcasestr(const char *hay, const char *needle);
char sd_tolower(char c);

/* Wipes memory in a way the compiler cannot drop. */
void sd_wipe(void *p, size_t n);

#endif
