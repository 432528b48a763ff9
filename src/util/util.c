/* Small helpers shared by every module. */
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t sd_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double sd_wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int64_t sd_remaining_ms(int64_t deadline_ms)
{
	int64_t left = deadline_ms - sd_now_ms();
	return left > 0 ? left : 0;
}

int sd_cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t ca;
	if (pthread_condattr_init(&ca) != 0)
		return -1;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int rc = pthread_cond_init(cond, &ca);
	pthread_condattr_destroy(&ca);
	return rc;
}

void sd_deadline_timespec(int64_t deadline_ms, struct timespec *ts)
{
	int64_t left = sd_remaining_ms(deadline_ms);
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += left / 1000;
	ts->tv_nsec += (left % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

int64_t sd_deadline_min(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

void sd_utc_text(int64_t t, char *buf, size_t len)
{
	/* days since 1970-01-01 to the civil date, counted in 400-year eras
	 * that start on March 1st, so that the leap day ends a year */
	int64_t days = t / 86400, sec = t % 86400;
	if (sec < 0) {
		sec += 86400;
		days--;
	}
	int64_t z = days + 719468;                 /* days since 0000-03-01 */
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;            /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;          /* March is 0 */
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = yoe + era * 400 + (m <= 2);
	snprintf(buf, len, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ",
	    (long long)y, (long long)m, (long long)d, (long long)(sec / 3600),
	    (long long)(sec / 60 % 60), (long long)(sec % 60));
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *sd_base64_encode(const unsigned char *in, size_t len)
{
	char *out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

int sd_base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

unsigned char *sd_base64_decode(const char *in, size_t len, size_t *outlen)
{
	unsigned char *out = malloc(len / 4 * 3 + 3);
	if (!out)
		return NULL;
	unsigned acc = 0;
	int bits = 0, pad = 0;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = sd_base64_value(c);
		if (v < 0 || pad) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (pad > 2) {
		free(out);
		return NULL;
	}
	if (outlen)
		*outlen = o;
	return out;
}

char sd_tolower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

int sd_strcaseeq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (sd_tolower(*a) != sd_tolower(*b))
			return 0;
	return *a == *b;
}

int sd_strncaseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (sd_tolower(a[i]) != sd_tolower(b[i]))
			return 0;
		if (!a[i])
			return 1;
	}
	return 1;
}

/* A DNS name's length without its trailing dot. */
static size_t name_len(const char *s)
{
	size_t n = strlen(s);
	return n && s[n - 1] == '.' ? n - 1 : n;
}

int sd_name_eq(const char *a, const char *b)
{
	size_t na = name_len(a), nb = name_len(b);
	return na == nb && sd_strncaseeq(a, b, na);
}

int sd_name_under(const char *a, const char *b)
{
	size_t na = name_len(a), nb = name_len(b);
	if (!nb)
		return 1;   /* every name is below the root */
	if (na < nb || (na > nb && a[na - nb - 1] != '.'))
		return 0;
	return sd_strncaseeq(a + na - nb, b, nb);
}

const char *sd_strcasestr(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	if (!n)
		return hay;
	for (; *hay; hay++)
		if (sd_strncaseeq(hay, needle, n))
			return hay;
	return NULL;
}

void sd_wipe(void *p, size_t n)
{
	if (p)
		explicit_bzero(p, n);
}

int sd_word_in(const char *list, const char *word)
{
	size_t n = strlen(word);
	if (!n)
		return 0;
	for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

void sd_buf_put(sd_buf *b, const char *s, size_t n, size_t max)
{
	if (b->failed)
		return;
	if (n >= b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 4096;
		while (n >= cap - b->len && cap <= max)
			cap *= 2;
		char *more = n < cap - b->len && cap <= max ?
		    realloc(b->buf, cap) : NULL;
		if (!more) {
			b->failed = 1;
			return;
		}
		b->buf = more;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

/*
 * Quotes let a batch line hold a sender or HELO with a space in it (the
 * RFC 7208 suite has both) without giving the other words new meaning.
 */
char *sd_word_next(char **cur, int *bad)
{
	char *p = *cur + strspn(*cur, " \t");
	if (!*p)
		return NULL;
	char *word = p, *end;
	if (*p == '"') {
		word = p + 1;
		end = strchr(word, '"');
		if (!end || (end[1] && !strchr(" \t", end[1]))) {
			*bad = 1;
			return NULL;
		}
	} else {
		end = p + strcspn(p, " \t");
	}
	*cur = *end ? end + 1 : end;
	*end = '\0';
	return word;
}
