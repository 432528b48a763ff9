/*
 * Fuzzes the redactor: the first byte gives the password's length, the
 * second the user name's, then come the password, the user name and the
 * text a server could echo them in.  Checks what redact.h promises: the
 * output stays inside its capacity at every size, the length returned does
 * not depend on the capacity, no piece between masks holds the password,
 * and redacting the result again reveals nothing (and, for a password
 * without '<' or '>', changes nothing).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/sasl.h"
#include "util/redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A string of n bytes without NULs (the CLI reads no NUL into either). */
static char *field(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		s[i] = p[i] ? (char)p[i] : 'x';
	s[n] = '\0';
	return s;
}

static void check_segments(const char *out, size_t n, const char *pw)
{
	static const char mask[] = SD_REDACT_MASK;
	size_t pl = strlen(pw), ml = sizeof mask - 1;
	const char *p = out, *end = out + n;
	while (p < end) {
		const char *m = memmem(p, (size_t)(end - p), mask, ml);
		const char *e = m ? m : end;
		if (memmem(p, (size_t)(e - p), pw, pl))
			abort();
		p = m ? m + ml : end;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t pl = (size_t)data[0] % 24 + 1, ul = (size_t)data[1] % 16;
	if (size < 2 + pl + ul)
		return 0;
	char *pw = field(data + 2, pl), *user = field(data + 2 + pl, ul);
	const char *text = (const char *)data + 2 + pl + ul;
	size_t tl = size - 2 - pl - ul;
	sd_secrets *s = sd_secrets_new();
	sd_sasl_creds cr = { user, pw, "smtp.example.test", 587 };
	if (s && sd_sasl_secret_forms(&cr, s)) {
		size_t need = sd_redact(s, text, tl, NULL, 0);
		static const size_t caps[] = { 1, 2, 11, 64 };
		for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
			char *out = malloc(caps[i]);
			if (sd_redact(s, text, tl, out, caps[i]) != need ||
			    strlen(out) > caps[i] - 1)
				abort();
			free(out);
		}
		size_t n;
		char *all = sd_redact_dup(s, text, tl, &n);
		if (!all || n != need)
			abort();
		check_segments(all, n, pw);
		/* redacting again reveals nothing; it changes nothing unless
		 * the password can continue a mask's '<' or '>' (">d" after
		 * "<redacted>": the mask's edge and the next byte) */
		size_t n2;
		char *again = sd_redact_dup(s, all, n, &n2);
		if (!again)
			abort();
		check_segments(again, n2, pw);
		if (!strpbrk(pw, "<>") && (n2 != n || memcmp(again, all, n) != 0))
			abort();
		free(again);
		free(all);
	}
	sd_secrets_free(s);
	free(pw);
	free(user);
	return 0;
}
