/* Helpers shared by spf.c, spf_parse.c and spf_macro.c; not exported. */
#ifndef SD_SPF_INT_H
#define SD_SPF_INT_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A growing string with a cap.  Appending past `max` sets `overflow`;
 * failing to allocate sets `oom`; both make later appends no-ops.  `p` is
 * always NUL-terminated once anything was appended.
 */
typedef struct sd_spfi_buf {
	char *p;
	size_t len, cap, max;
	int oom, overflow;
} sd_spfi_buf;

void sd_spfi_buf_add(sd_spfi_buf *b, const char *s, size_t n);
void sd_spfi_buf_adds(sd_spfi_buf *b, const char *s);
void sd_spfi_buf_addc(sd_spfi_buf *b, char c);
void sd_spfi_buf_printf(sd_spfi_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sd_spfi_buf_vprintf(sd_spfi_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Takes the string out (malloc'd, possibly "" ); NULL when out of memory. */
char *sd_spfi_buf_take(sd_spfi_buf *b);
void sd_spfi_buf_free(sd_spfi_buf *b);

/*
 * Appends `n` bytes of untrusted text for people: printable ASCII as is,
 * anything else as \xNN, cut with "..." past `max` input bytes.
 */
void sd_spfi_buf_add_clean(sd_spfi_buf *b, const char *s, size_t n, size_t max);
/* The same into a new string (NULL when out of memory). */
char *sd_spfi_clean(const char *s, size_t n, size_t max);

/*
 * Scans a macro-string (RFC 7208 §7.1).  Returns the offset where its
 * trailing run of literal characters starts (len when it ends with a
 * macro-expand), or -1 on a syntax error (message in err).
 */
long sd_spfi_macro_scan(const char *s, size_t len, int exp_text,
    char *err, size_t errlen);

/* Non-zero for a valid toplabel (RFC 7208 §7.1) of n bytes. */
int sd_spfi_valid_toplabel(const char *s, size_t n);

/* ASCII case-insensitive helpers (no locale: tr_TR dotless i). */
char sd_spfi_lower(char c);
int sd_spfi_caseeq_n(const char *a, const char *b, size_t n);

void sd_spfi_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
