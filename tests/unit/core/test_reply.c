/* The SMTP reply parser, enhanced status codes and EHLO capabilities. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp/reply.h"
#include "smtp/sasl.h"
#include "util/util.h"

static sd_reply_rc feed(sd_reply *r, const char *line)
{
	return sd_reply_feed(r, line, strlen(line));
}

static void single_line(void **state)
{
	(void)state;
	sd_reply r;
	sd_reply_init(&r);
	assert_int_equal(feed(&r, "535 5.7.8 Error: authentication failed"),
	    SD_REPLY_DONE);
	assert_int_equal(r.code, 535);
	assert_string_equal(r.enhanced, "5.7.8");
	assert_string_equal(r.text, "5.7.8 Error: authentication failed");
}

static void multi_line(void **state)
{
	(void)state;
	sd_reply r;
	sd_reply_init(&r);
	assert_int_equal(feed(&r, "250-mail.example.com"), SD_REPLY_MORE);
	assert_int_equal(feed(&r, "250-STARTTLS"), SD_REPLY_MORE);
	assert_int_equal(feed(&r, "250 AUTH PLAIN LOGIN"), SD_REPLY_DONE);
	assert_int_equal(r.n_lines, 3);
	assert_string_equal(r.text, "mail.example.com\nSTARTTLS\nAUTH PLAIN LOGIN");
	assert_string_equal(r.enhanced, "");
}

static void bare_code(void **state)
{
	(void)state;
	sd_reply r;
	sd_reply_init(&r);
	assert_int_equal(feed(&r, "220"), SD_REPLY_DONE);
	assert_int_equal(r.code, 220);
}

static void not_smtp(void **state)
{
	(void)state;
	sd_reply r;
	sd_reply_init(&r);
	assert_int_equal(feed(&r, "+OK Dovecot ready."), SD_REPLY_BAD_SYNTAX);
	sd_reply_init(&r);
	assert_int_equal(feed(&r, "* OK [CAPABILITY IMAP4rev1] ready"),
	    SD_REPLY_BAD_SYNTAX);
	sd_reply_init(&r);
	assert_int_equal(feed(&r, "SSH-2.0-OpenSSH_9.2"), SD_REPLY_BAD_SYNTAX);
	sd_reply_init(&r);
	assert_int_equal(feed(&r, "2200 too long a code"), SD_REPLY_BAD_SYNTAX);
	sd_reply_init(&r);
	assert_int_equal(feed(&r, "620 six hundred"), SD_REPLY_BAD_SYNTAX);
}

static void mixed_codes(void **state)
{
	(void)state;
	sd_reply r;
	sd_reply_init(&r);
	assert_int_equal(feed(&r, "250-first"), SD_REPLY_MORE);
	assert_int_equal(feed(&r, "550 second"), SD_REPLY_MIXED_CODES);
}

static void endless_reply_is_bounded(void **state)
{
	(void)state;
	sd_reply r;
	sd_reply_init(&r);
	sd_reply_rc rc = SD_REPLY_MORE;
	int n = 0;
	while (rc == SD_REPLY_MORE && n < 100000) {
		rc = feed(&r, "250-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
		n++;
	}
	assert_int_equal(rc, SD_REPLY_TOO_MANY);
	assert_int_equal(n, SD_REPLY_MAX_LINES + 1);
	assert_true(r.text_len < SD_REPLY_MAX_TEXT);
}

static void enhanced_codes(void **state)
{
	(void)state;
	char out[16];
	assert_true(sd_parse_enhanced("5.7.139 Authentication unsuccessful", 35, out));
	assert_string_equal(out, "5.7.139");
	assert_true(sd_parse_enhanced("4.7.0", 5, out));
	assert_false(sd_parse_enhanced("3.1.1 no", 8, out));
	assert_false(sd_parse_enhanced("5.7 short", 9, out));
	assert_false(sd_parse_enhanced("5.7.1234 long", 13, out));
	assert_false(sd_parse_enhanced("5.7.8x", 6, out));
}

static void ehlo_caps(void **state)
{
	(void)state;
	sd_caps c;
	sd_caps_parse(&c, "mail.example.com Hello\nPIPELINING\nSIZE 10240000\n"
	    "STARTTLS\nAUTH PLAIN LOGIN\nAUTH=CRAM-MD5\nENHANCEDSTATUSCODES\n"
	    "8BITMIME\nSMTPUTF8\nCHUNKING");
	assert_true(c.flags & SD_CAP_STARTTLS);
	assert_true(c.flags & SD_CAP_AUTH);
	assert_true(c.flags & SD_CAP_PIPELINING);
	assert_true(c.flags & SD_CAP_SMTPUTF8);
	assert_true(c.flags & SD_CAP_8BITMIME);
	assert_int_equal(c.size, 10240000);
	assert_int_equal(c.n_mechs, 3);
	assert_true(sd_caps_has_mech(&c, "cram-md5"));
	assert_string_equal(c.greeting_name, "mail.example.com");
	assert_false(c.flags & SD_CAP_MASKED);
}

static void ehlo_masked(void **state)
{
	(void)state;
	sd_caps c;
	sd_caps_parse(&c, "mail.example.com\nXXXXXXXA\nAUTH LOGIN");
	assert_true(c.flags & SD_CAP_MASKED);
	assert_false(c.flags & SD_CAP_STARTTLS);
}

/* A 40 KB EHLO reply, STARTTLS and AUTH after the first 16 KB: the text
 * kept is cut (and says by how much), the capabilities are not. */
static void ehlo_caps_beyond_kept_text(void **state)
{
	(void)state;
	sd_reply *r = malloc(sizeof *r);
	char line[400];
	sd_reply_init(r);
	assert_int_equal(sd_reply_feed(r, "250-big.example", 15), SD_REPLY_MORE);
	for (int i = 0; i < 100; i++) {
		int n = snprintf(line, sizeof line, "250-X-FILLER-%03d %0380d",
		    i, 0);
		assert_int_equal(sd_reply_feed(r, line, (size_t)n),
		    SD_REPLY_MORE);
	}
	assert_int_equal(sd_reply_feed(r, "250-STARTTLS", 12), SD_REPLY_MORE);
	assert_int_equal(sd_reply_feed(r, "250 AUTH LOGIN PLAIN", 20),
	    SD_REPLY_DONE);
	assert_true(r->text_dropped > 0);
	assert_null(strstr(r->text, "STARTTLS"));
	assert_true(r->caps.flags & SD_CAP_STARTTLS);
	assert_true(sd_caps_has_mech(&r->caps, "PLAIN"));
	assert_int_equal(r->caps.mechs_dropped, 0);
	assert_string_equal(r->caps.greeting_name, "big.example");
	free(r);
}

/* More mechanisms than are kept: the cut is counted, never silent. */
static void ehlo_mechs_over_the_cap(void **state)
{
	(void)state;
	char text[2048] = "mx.example\nAUTH";
	for (int i = 0; i < SD_MAX_MECHS + 4; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text),
		    " X-MECH-%d", i);
	strcat(text, " PLAIN X-A-MECHANISM-NAME-OF-40-BYTES-LONG");
	sd_caps c;
	sd_caps_parse(&c, text);
	assert_int_equal(c.n_mechs, SD_MAX_MECHS);
	assert_false(sd_caps_has_mech(&c, "PLAIN"));
	assert_int_equal(c.mechs_dropped, 4 + 1 + 1);
}

static void sasl_plain(void **state)
{
	(void)state;
	sd_sasl_creds cr = { "alice", "s3cret", "h", 587 };
	unsigned char out[256];
	int init = 0;
	const sd_sasl_mech *m = sd_sasl_find("plain");
	assert_non_null(m);
	int n = m->step(&cr, 0, NULL, 0, out, sizeof out, &init);
	assert_int_equal(n, 1 + 5 + 1 + 6);
	assert_true(init);
	assert_memory_equal(out, "\0alice\0s3cret", 13);
}

static void sasl_cram_md5(void **state)
{
	(void)state;
	/* RFC 2195's example */
	sd_sasl_creds cr = { "tim", "tanstaaftanstaaf", "h", 587 };
	const char *ch = "<1896.697170952@postoffice.reston.mci.net>";
	unsigned char out[256];
	int init = 0;
	const sd_sasl_mech *m = sd_sasl_find("CRAM-MD5");
	assert_int_equal(m->step(&cr, 0, NULL, 0, out, sizeof out, &init), 0);
	int n = m->step(&cr, 1, (const unsigned char *)ch, strlen(ch), out,
	    sizeof out, &init);
	assert_int_equal(n, 36);
	assert_memory_equal(out, "tim b913a602c7eda7a495b4e6e7334d3890", 36);
}

static void sasl_choose(void **state)
{
	(void)state;
	const char offered[3][24] = { "LOGIN", "XOAUTH2", "PLAIN" };
	assert_string_equal(sd_sasl_choose(offered, 3)->name, "PLAIN");
	const char oauth_only[1][24] = { "XOAUTH2" };
	assert_null(sd_sasl_choose(oauth_only, 1));
}

static void base64_roundtrip(void **state)
{
	(void)state;
	char *e = sd_base64_encode((const unsigned char *)"\0alice\0pw", 9);
	assert_string_equal(e, "AGFsaWNlAHB3");
	size_t n;
	unsigned char *d = sd_base64_decode(e, strlen(e), &n);
	assert_int_equal(n, 9);
	assert_memory_equal(d, "\0alice\0pw", 9);
	free(e);
	free(d);
	assert_null(sd_base64_decode("a$b=", 4, &n));
}

static void sanitize(void **state)
{
	(void)state;
	char *s = sd_sanitize("ok\x01\x1b[31mred\xff \xc3\xa9", 15, 100);
	assert_string_equal(s, "ok\\x01\\x1b[31mred\\xff \xc3\xa9");
	free(s);
	s = sd_sanitize("abcdef", 6, 3);
	assert_string_equal(s, "abc");
	free(s);
}

static void ascii_case(void **state)
{
	(void)state;
	/* no locale: Turkish dotless i must not break keyword matching */
	assert_true(sd_strcaseeq("AUTH", "auth"));
	assert_true(sd_strcaseeq("PIPELINING", "pipelining"));
	assert_non_null(sd_strcasestr("Relay ACCESS denied", "access"));
	assert_null(sd_strcasestr("abc", "abcd"));
}

static void name_under(void **state)
{
	(void)state;
	assert_true(sd_name_under("Example.COM", "example.com."));
	assert_true(sd_name_under("s1._domainkey.example.com", "example.com"));
	assert_true(sd_name_under("example.com", ""));
	/* a list's zone after the name is not below it */
	assert_false(sd_name_under("example.com.dbl.example.net",
	    "example.com"));
	assert_false(sd_name_under("badexample.com", "example.com"));
	assert_false(sd_name_under("com", "example.com"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(single_line),
		cmocka_unit_test(multi_line),
		cmocka_unit_test(bare_code),
		cmocka_unit_test(not_smtp),
		cmocka_unit_test(mixed_codes),
		cmocka_unit_test(endless_reply_is_bounded),
		cmocka_unit_test(enhanced_codes),
		cmocka_unit_test(ehlo_caps),
		cmocka_unit_test(ehlo_masked),
		cmocka_unit_test(sasl_plain),
		cmocka_unit_test(sasl_cram_md5),
		cmocka_unit_test(sasl_choose),
		cmocka_unit_test(ehlo_caps_beyond_kept_text),
		cmocka_unit_test(ehlo_mechs_over_the_cap),
		cmocka_unit_test(base64_roundtrip),
		cmocka_unit_test(sanitize),
		cmocka_unit_test(ascii_case),
		cmocka_unit_test(name_under),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
