/*
 * The redactor and the escaper with the shapes that broke them: many
 * echoes of a short secret in one reply, an echo at the end of a 4 KB and
 * of a maximal line, secrets that occur in the mask, a secret inside the
 * user name, every encoding a server may echo; each control class, bidi,
 * invalid UTF-8, and a multi-line reply that reads like our own verdict.
 * Outputs are malloc'd at their exact capacity so that AddressSanitizer
 * sees any write past them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "net/conn.h"
#include "report/report.h"
#include "smtp/sasl.h"
#include "util/redact.h"
#include "util/util.h"

#define MASK SD_REDACT_MASK

static sd_secrets *secrets_for(const char *user, const char *pw)
{
	sd_secrets *s = sd_secrets_new();
	assert_non_null(s);
	sd_sasl_creds cr = { user, pw, "smtp.example.test", 587 };
	assert_true(sd_sasl_secret_forms(&cr, s));
	return s;
}

/* Redacts into a buffer of exactly `cap` bytes; checks the contract. */
static char *redact_cap(const sd_secrets *s, const char *in, size_t len,
    size_t cap, size_t *need)
{
	char *out = malloc(cap);
	assert_non_null(out);
	*need = sd_redact(s, in, len, out, cap);
	assert_true(strlen(out) <= cap - 1);
	if (*need < cap)
		assert_int_equal(strlen(out), *need);
	return out;
}

/* No piece of `out` between masks holds `needle` (bytes). */
static void assert_nowhere(const char *out, size_t outlen, const char *needle,
    size_t nlen)
{
	const char *p = out, *end = out + outlen;
	while (p < end) {
		const char *m = memmem(p, (size_t)(end - p), MASK, strlen(MASK));
		const char *seg_end = m ? m : end;
		if (nlen && (size_t)(seg_end - p) >= nlen)
			assert_null(memmem(p, (size_t)(seg_end - p), needle, nlen));
		p = m ? m + strlen(MASK) : end;
	}
}

static void many_echoes_of_short_secrets(void **state)
{
	(void)state;
	static const char *const pws[] = { "x", "ab", "q7z" };
	for (size_t k = 0; k < 3; k++) {
		sd_secrets *s = secrets_for("alice", pws[k]);
		size_t pl = strlen(pws[k]);
		/* the secret, a space, the secret ... to a whole line */
		char line[SD_LINE_MAX + 1];
		size_t n = 0;
		while (n + pl + 1 <= SD_LINE_MAX) {
			memcpy(line + n, pws[k], pl);
			n += pl;
			line[n++] = ' ';
		}
		size_t need;
		char *out = redact_cap(s, line, n, SD_LINE_MAX + 1, &need);
		/* each echo became a mask: the result is longer than a line */
		assert_true(need > SD_LINE_MAX);
		assert_nowhere(out, strlen(out), pws[k], pl);
		free(out);
		char *all = sd_redact_dup(s, line, n, &need);
		assert_non_null(all);
		assert_int_equal(strlen(all), need);
		assert_nowhere(all, need, pws[k], pl);
		free(all);
		/* back to back: one mask */
		memset(line, 0, sizeof line);
		n = 0;
		while (n + pl <= SD_LINE_MAX) {
			memcpy(line + n, pws[k], pl);
			n += pl;
		}
		out = redact_cap(s, line, n, SD_LINE_MAX + 1, &need);
		if (SD_LINE_MAX % pl == 0)
			assert_string_equal(out, MASK);
		assert_nowhere(out, strlen(out), pws[k], pl);
		free(out);
		sd_secrets_free(s);
	}
}

static void echo_at_the_end_of_long_lines(void **state)
{
	(void)state;
	const char *pw = "Tr0ub4dor&3";
	size_t pl = strlen(pw);
	sd_secrets *s = secrets_for("alice", pw);
	static const size_t lens[] = { 4096, SD_LINE_MAX, 3 * SD_LINE_MAX };
	for (size_t k = 0; k < 3; k++) {
		size_t n = lens[k];
		char *line = malloc(n);
		memset(line, 'a', n);
		memcpy(line + n - pl, pw, pl);
		for (size_t cap = n - 5; cap <= n + 12; cap++) {
			size_t need;
			char *out = redact_cap(s, line, n, cap, &need);
			assert_int_equal(need, n - pl + strlen(MASK));
			assert_nowhere(out, strlen(out), pw, pl);
			/* no prefix of the secret either */
			assert_null(strstr(out, "Tr0"));
			free(out);
		}
		free(line);
	}
	/* a zero capacity writes nothing, a capacity of one just the NUL */
	char one[1] = { 'z' };
	assert_int_equal(sd_redact(s, pw, pl, NULL, 0), strlen(MASK));
	assert_int_equal(sd_redact(s, pw, pl, one, 1), strlen(MASK));
	assert_int_equal(one[0], '\0');
	sd_secrets_free(s);
}

static void secrets_inside_the_mask(void **state)
{
	(void)state;
	static const char *const pws[] = { "redacted", "<", ">", "d",
		"<redacted>", "redacted>x" };
	const char *in = "<redacted> redacted <<redacted>> d<d>d "
	    "<redacted>x <re<redacted>d>";
	for (size_t k = 0; k < sizeof pws / sizeof pws[0]; k++) {
		sd_secrets *s = secrets_for("bob", pws[k]);
		size_t need;
		char *out = redact_cap(s, in, strlen(in), 512, &need);
		assert_true(need < 512);
		assert_nowhere(out, need, pws[k], strlen(pws[k]));
		/* redacting twice changes nothing: masks are kept whole */
		char *again = sd_redact_dup(s, out, need, NULL);
		assert_string_equal(again, out);
		free(again);
		free(out);
		sd_secrets_free(s);
	}
}

static void secret_inside_the_user_name(void **state)
{
	(void)state;
	/* the user name holds the secret: a message that carries it (LOGIN
	 * sends the name alone) */
	sd_secrets *s = secrets_for("alice-secret", "secret");
	size_t n;
	char *out = sd_redact_dup(s, "535 user alice-secret unknown, secret", 37,
	    &n);
	assert_string_equal(out, "535 user " MASK " unknown, " MASK);
	assert_nowhere(out, n, "secret", 6);
	free(out);
	sd_secrets_free(s);
	/* the user name alone is no secret */
	s = secrets_for("alice", "pw-long-enough");
	out = sd_redact_dup(s, "235 welcome alice", 17, NULL);
	assert_string_equal(out, "235 welcome alice");
	free(out);
	sd_secrets_free(s);
}

static char *hex(const char *p, size_t n, int upper)
{
	char *h = malloc(n * 2 + 1);
	for (size_t i = 0; i < n; i++)
		sprintf(h + 2 * i, upper ? "%02X" : "%02x", (unsigned char)p[i]);
	return h;
}

/* Percent-encodes everything but letters and digits; '+' for a space. */
static char *url(const char *p, size_t n, int upper, int plus)
{
	char *u = malloc(n * 3 + 1), *o = u;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			*o++ = (char)c;
		else if (c == ' ' && plus)
			*o++ = '+';
		else
			o += sprintf(o, upper ? "%%%02X" : "%%%02x", c);
	}
	*o = '\0';
	return u;
}

/* The server's text around an echo, redacted; the echo must be gone and
 * the words around it kept. */
static void check_echo(const sd_secrets *s, const char *echo, size_t elen,
    const char *pw)
{
	char buf[2048];
	size_t n = (size_t)snprintf(buf, sizeof buf, "535 5.7.8 you sent [");
	memcpy(buf + n, echo, elen);
	n += elen;
	n += (size_t)snprintf(buf + n, sizeof buf - n, "] go away");
	size_t outlen;
	char *out = sd_redact_dup(s, buf, n, &outlen);
	assert_nowhere(out, outlen, echo, elen);
	assert_nowhere(out, outlen, pw, strlen(pw));
	assert_memory_equal(out, "535 5.7.8 you sent [", 20);
	assert_non_null(memmem(out, outlen, "] go away", 9));
	free(out);
}

static void every_encoding(void **state)
{
	(void)state;
	const char *user = "alice@example.test", *pw = "S3cr3t pw/+?%\xc3\xa9";
	sd_secrets *s = secrets_for(user, pw);
	char plain[256];
	size_t pn = (size_t)snprintf(plain, sizeof plain, "%c%s%c%s", 0, user,
	    0, pw);
	char xo[256];
	size_t xn = (size_t)snprintf(xo, sizeof xo,
	    "user=%s\001auth=Bearer %s\001\001", user, pw);
	const char *msgs[] = { pw, plain, xo, plain + 1 };
	size_t lens[] = { strlen(pw), pn, xn, pn - 1 };
	for (size_t m = 0; m < 4; m++) {
		char *e;
		check_echo(s, msgs[m], lens[m], pw);
		e = sd_base64_encode((const unsigned char *)msgs[m], lens[m]);
		check_echo(s, e, strlen(e), pw);
		e[strcspn(e, "=")] = '\0';
		check_echo(s, e, strlen(e), pw);
		free(e);
		for (int up = 0; up < 2; up++) {
			e = hex(msgs[m], lens[m], up);
			check_echo(s, e, strlen(e), pw);
			free(e);
			for (int plus = 0; plus < 2; plus++) {
				e = url(msgs[m], lens[m], up, plus);
				check_echo(s, e, strlen(e), pw);
				free(e);
			}
		}
		/* as the report shows it: escaped, and inside quotes */
		e = sd_sanitize(msgs[m], lens[m], lens[m]);
		check_echo(s, e, strlen(e), pw);
		free(e);
		e = sd_quote(msgs[m], lens[m], lens[m]);
		check_echo(s, e, strlen(e), pw);
		free(e);
	}
	/* a user name inside the PLAIN payload's base64 goes with it */
	char *b = sd_base64_encode((const unsigned char *)plain, pn);
	char *out = sd_redact_dup(s, b, strlen(b), NULL);
	assert_string_equal(out, MASK);
	free(out);
	free(b);
	sd_secrets_free(s);
}

static void nothing_to_hide(void **state)
{
	(void)state;
	char out[8];
	assert_int_equal(sd_redact(NULL, "hello world", 11, out, sizeof out), 11);
	assert_string_equal(out, "hello w");
	sd_secrets *s = sd_secrets_new();
	assert_false(sd_secrets_active(s));
	assert_true(sd_secrets_add(s, "", 0));
	assert_false(sd_secrets_active(s));
	assert_int_equal(sd_redact(s, "abc", 3, out, sizeof out), 3);
	assert_string_equal(out, "abc");
	sd_secrets_free(s);
	sd_secrets_free(NULL);
}

/* ---- the escaper ------------------------------------------------------- */

static void escapes(const char *in, size_t len, const char *want)
{
	char *s = sd_sanitize(in, len, len);
	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

static void escape_classes(void **state)
{
	(void)state;
	escapes("a\x1b[31mb", 7, "a\\x1b[31mb");
	escapes("\0\x01\x07\x1f", 4, "\\x00\\x01\\x07\\x1f");
	escapes("t\tr\rn\n", 6, "t\\tr\\rn\\n");
	escapes("del\x7f", 4, "del\\x7f");
	/* C1: NEL, CSI, and the ends of the block */
	escapes("\xc2\x85|\xc2\x9b|\xc2\x80|\xc2\x9f", 11,
	    "\\u0085|\\u009b|\\u0080|\\u009f");
	/* U+00A0 and later are text */
	escapes("\xc2\xa0\xc3\xa9", 4, "\xc2\xa0\xc3\xa9");
	/* bidi controls and the separators */
	static const struct { const char *u; const char *e; } bidi[] = {
		{ "\xd8\x9c", "\\u061c" }, { "\xe2\x80\x8e", "\\u200e" },
		{ "\xe2\x80\x8f", "\\u200f" }, { "\xe2\x80\xaa", "\\u202a" },
		{ "\xe2\x80\xae", "\\u202e" }, { "\xe2\x81\xa6", "\\u2066" },
		{ "\xe2\x81\xa9", "\\u2069" }, { "\xe2\x80\xa8", "\\u2028" },
		{ "\xe2\x80\xa9", "\\u2029" },
	};
	for (size_t i = 0; i < sizeof bidi / sizeof bidi[0]; i++)
		escapes(bidi[i].u, strlen(bidi[i].u), bidi[i].e);
	/* U+202F (a space) is text */
	escapes("\xe2\x80\xaf", 3, "\xe2\x80\xaf");
	/* invalid UTF-8: a lone continuation, an overlong NUL, a surrogate,
	 * a cut sequence, bytes that never start one */
	escapes("\x80", 1, "\\x80");
	escapes("\xc0\x80", 2, "\\xc0\\x80");
	escapes("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");
	escapes("\xe2\x80", 2, "\\xe2\\x80");
	escapes("\xfe\xff", 2, "\\xfe\\xff");
	/* backslashes stay: escaping escaped text changes nothing */
	escapes("a\\x1b", 5, "a\\x1b");
	char *once = sd_sanitize("\x1b\xe2\x80\xae", 4, 4);
	char *twice = sd_sanitize(once, strlen(once), strlen(once));
	assert_string_equal(once, twice);
	free(once);
	free(twice);
}

static void escape_keeps_characters_whole(void **state)
{
	(void)state;
	/* a cap inside a character stops before it */
	char *s = sd_sanitize("ab\xc3\xa9", 4, 3);
	assert_string_equal(s, "ab");
	free(s);
	s = sd_sanitize("ab\xe2\x80\xae", 5, 4);
	assert_string_equal(s, "ab");
	free(s);
	/* multi-line text kept as data keeps its breaks, nothing else */
	s = sd_sanitize_text("a\nb\r\x1b", 5);
	assert_string_equal(s, "a\nb\\r\\x1b");
	free(s);
	s = sd_escape(NULL, 5, 5, SD_ESC_QUOTE);
	assert_string_equal(s, "\"\"");
	free(s);
}

static void verdict_lookalike_stays_quoted(void **state)
{
	(void)state;
	const char *reply = "go away\nVerdict: ok (ok)\n  \xe2\x80\xae"
	    "kool\x1b[2K\"x\"";
	char *q = sd_quote(reply, strlen(reply), 300);
	assert_string_equal(q, "\"go away\\nVerdict: ok (ok)\\n  \\u202ekool"
	    "\\x1b[2K\\\"x\\\"\"");
	assert_null(strchr(q, '\n'));
	free(q);
}

/* The run's secrets mask what enters the report on any connection, in
 * any fact member, in findings and the verdict. */
static void every_connection_of_the_run(void **state)
{
	(void)state;
	sd_secrets *sec = sd_secrets_new();
	assert_int_equal(sd_secrets_add_secret(sec, "hunter2", 7), 1);
	sd_report *r = sd_report_new("check");
	r->secrets = sec;
	sd_transcript_add(r, "tcp.587.192.0.2.10", 'S', "250 you said hunter2", 20);
	sd_transcript_add(r, "tcp.465.192.0.2.10", 'S', "221 hunter2 bye", 15);
	sd_transcript_add(r, "tcp.25.2001:db8::10", 'S', "220 aHVudGVyMg==", 16);
	sd_fact_add(r, json_pack("{s:s, s:s, s:s, s:{s:s}}", "id",
	    "greeting.25.192.0.2.10", "stage", "greeting", "text",
	    "220 hunter2", "nested", "deep", "x hunter2 x"));
	sd_finding_add(r, "info.ports", "info", NULL, "hunter2",
	    "seen hunter2", NULL);
	char *json = sd_report_to_json(r);
	assert_non_null(json);
	assert_null(strstr(json, "hunter2"));
	assert_null(strstr(json, "aHVudGVyMg"));
	assert_non_null(strstr(json, MASK));
	free(json);
	r->secrets = NULL;
	sd_report_free(r);
	sd_secrets_free(sec);
}

/* What enters the report is escaped (line breaks kept in data), the
 * tool's own words are never masked (a password "ok" must not change a
 * result), and the text renderer prints each string on one line: one
 * headline, and no line of the server's that starts one of its own. */
static void report_entry_and_text(void **state)
{
	(void)state;
	sd_secrets *sec = sd_secrets_new();
	assert_true(sd_secrets_add_secret(sec, "ok", 2));
	sd_report *r = sd_report_new("check");
	r->secrets = sec;
	sd_fact_add(r, json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s]}", "id",
	    "auth.587.192.0.2.10", "stage", "auth", "result", "ok", "text",
	    "ok\n\x1b[2J\xc2\x9b\xe2\x80\xae", "detail",
	    "AUTH: 535 ok\nVerdict: ok (ok)", "sans", "a\x07" "b"));
	sd_report_set_extra(r, "spf", json_pack("{s:s}", "explanation",
	    "see \x1b]0;x\x07"));
	sd_verdict_set(r, "auth.bad_credentials", -1, "refused: ok\rVerdict: "
	    "ok (ok)", NULL, NULL);
	json_t *f = json_array_get(r->facts, 0);
	assert_string_equal(json_string_value(json_object_get(f, "result")),
	    "ok");
	assert_string_equal(json_string_value(json_object_get(f, "text")),
	    MASK "\n\\x1b[2J\\u009b\\u202e");
	assert_string_equal(json_string_value(json_array_get(json_object_get(f,
	    "sans"), 0)), "a\\x07b");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    r->extra, "spf"), "explanation")), "see \\x1b]0;x\\x07");
	r->secrets = NULL;
	sd_secrets_free(sec);
	FILE *mem = tmpfile();
	sd_report_write_text(r, mem, SD_TEXT_VERBOSE);
	rewind(mem);
	char line[1024];
	int verdicts = 0;
	while (fgets(line, sizeof line, mem)) {
		for (const char *c = line; *c; c++)
			assert_false((unsigned char)*c < 0x20 && *c != '\n');
		/* the verdict's headline is ours alone; the server's
		 * "Verdict: ok (ok)" never starts a line */
		verdicts += strncmp(line, "FAIL: ", 6) == 0;
		assert_false(strncmp(line, "Verdict:", 8) == 0);
	}
	fclose(mem);
	assert_int_equal(verdicts, 1);
	sd_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(many_echoes_of_short_secrets),
		cmocka_unit_test(every_connection_of_the_run),
		cmocka_unit_test(report_entry_and_text),
		cmocka_unit_test(echo_at_the_end_of_long_lines),
		cmocka_unit_test(secrets_inside_the_mask),
		cmocka_unit_test(secret_inside_the_user_name),
		cmocka_unit_test(every_encoding),
		cmocka_unit_test(nothing_to_hide),
		cmocka_unit_test(escape_classes),
		cmocka_unit_test(escape_keeps_characters_whole),
		cmocka_unit_test(verdict_lookalike_stays_quoted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
