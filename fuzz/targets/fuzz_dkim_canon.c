/*
 * DKIM canonicalization and message handling: the header and body
 * canonicalizers (checking the properties RFC 6376 §3.4 promises), the
 * message splitter, and whole verification against fixed keys, no DNS.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input bytes canonicalized at most (the verifier reads up to 64 MiB;
 * the fuzzer needs no more than this to reach every branch). */
#define FUZZ_MAX (1 << 20)

typedef struct buf {
	char *p;
	size_t n, cap;
} buf;

static int put(void *ctx, const char *d, size_t n)
{
	buf *b = ctx;
	if (b->n + n > b->cap) {
		size_t cap = (b->n + n) * 2 + 64;
		char *np = realloc(b->p, cap);
		if (!np)
			return 1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
	return 0;
}

static void check_relaxed_body(const buf *b)
{
	/* lines end in CRLF, no WSP before a CRLF, no WSP runs, no empty
	 * lines at the end */
	if (b->n && (b->n < 2 || memcmp(b->p + b->n - 2, "\r\n", 2) != 0))
		abort();
	if (b->n >= 4 && memcmp(b->p + b->n - 4, "\r\n\r\n", 4) == 0)
		abort();
	for (size_t i = 0; i + 1 < b->n; i++) {
		if (b->p[i] == '\t')
			abort();
		if (b->p[i] == ' ' && (b->p[i + 1] == ' ' ||
		    (i + 2 < b->n && b->p[i + 1] == '\r' && b->p[i + 2] == '\n')))
			abort();
	}
}

static void check_simple_body(const buf *b)
{
	if (b->n < 2 || memcmp(b->p + b->n - 2, "\r\n", 2) != 0)
		abort();
	if (b->n >= 4 && memcmp(b->p + b->n - 4, "\r\n\r\n", 4) == 0)
		abort();
}

static const sd_dkim_keyrec keys[] = {
	{ "test._domainkey.example.com", "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB" },
	{ "brisbane._domainkey.football.example.com", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=" },
	{ "fail._domainkey.example.com", NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX)
		return 0;
	const char *text = (const char *)data;

	buf b = { 0 };
	for (int c = 0; c < 2; c++) {
		b.n = 0;
		sd_dkim_canon_body(c, text, size, put, &b);
		if (c == SD_DKIM_CANON_RELAXED)
			check_relaxed_body(&b);
		else
			check_simple_body(&b);
		b.n = 0;
		sd_dkim_canon_header(c, text, size, put, &b);
		if (b.n < 2 || memcmp(b.p + b.n - 2, "\r\n", 2) != 0)
			abort();
	}
	free(b.p);

	sd_mail_msg m;
	char why[200];
	if (sd_mail_msg_parse(text, size, &m, why, sizeof why) == SD_OK) {
		for (size_t i = 0; i < m.n_field; i++) {
			const sd_mail_field *f = &m.field[i];
			if (f->raw < m.buf || f->raw + f->raw_len > m.buf + m.len ||
			    f->value + f->value_len != f->raw + f->raw_len)
				abort();
		}
		if (m.body < m.buf || m.body + m.body_len != m.buf + m.len)
			abort();
		sd_mail_msg_clear(&m);
	}

	sd_dkim_results r;
	if (sd_dkim_verify_message_keys(keys, 3, text, size, 1700000000, &r) ==
	    SD_OK) {
		for (size_t i = 0; i < r.n_sig; i++)
			if (!r.sig[i].reason[0])
				abort();
		sd_dkim_results_clear(&r);
	}
	return 0;
}
