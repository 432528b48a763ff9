/*
 * The bounce reader (src/bounce/) and its rules (src/rules/bounce_rules.c).
 *
 * The wording table is checked against itself (each row's sample must
 * classify as that row), the recorded samples of tests/data/bounces/
 * against the cause, recipient and remote host a person reads in them,
 * and the reader against what breaks parsers: a boundary that never
 * ends, nesting without end, 10,000 recipients, 50 MB, invalid UTF-8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "bounce/bounce.h"
#include "bounce/mime.h"
#include "probe/score.h"
#include "report/report.h"
#include "rules/bounce_rules.h"
#include "rules/judge.h"
#include "util/util.h"

static const char *const codes[] = {
#define CODE(code, category, status, words) code,
#include "../../../data/codes.def"
#undef CODE
};

/* ---- the wording table -------------------------------------------------- */

static void every_row_matches_its_own_sample(void **state)
{
	(void)state;
	size_t n;
	const sd_reply_rule *t = sd_bounce_table(&n);
	int bad = 0;
	assert_true(n > 50);
	for (size_t i = 0; i < n; i++) {
		const char *s = t[i].sample;
		int code = 0;
		if (s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' &&
		    s[2] >= '0' && s[2] <= '9')
			code = atoi(s);
		const sd_reply_rule *got = sd_bounce_classify(NULL, code, NULL, s);
		if (got != &t[i]) {
			print_error("row %s: its sample classifies as %s\n",
			    t[i].id, got ? got->id : "(none)");
			bad++;
		}
		int known = 0;
		for (size_t c = 0; c < sizeof codes / sizeof codes[0]; c++)
			known |= strcmp(codes[c], t[i].cause) == 0;
		if (!known) {
			print_error("row %s: cause %s is not a verdict code\n",
			    t[i].id, t[i].cause);
			bad++;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(t[i].id, t[j].id) == 0) {
				print_error("duplicate row id %s\n", t[i].id);
				bad++;
			}
	}
	assert_int_equal(bad, 0);
}

static void enhanced_codes_decide_last(void **state)
{
	(void)state;
	/* words beat the code: 5.7.1 with a blocklist named */
	assert_string_equal(sd_bounce_classify("rcpt", 554, "5.7.1",
	    "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked "
	    "using zen.spamhaus.org")->cause, "reputation.ip_listed");
	/* a 4.x.x code no row names is read as its 5.x.x meaning */
	assert_string_equal(sd_bounce_classify(NULL, 452, NULL,
	    "452 4.2.2 try later")->cause, "recipient.mailbox_full");
	/* the report's Status when the reply has no code */
	assert_string_equal(sd_bounce_classify(NULL, 0, "5.1.1",
	    "delivery failed")->cause, "recipient.unknown");
	/* nothing known */
	assert_null(sd_bounce_classify(NULL, 550, "5.0.0",
	    "550 5.0.0 computer says no"));
	/* a submission-only meaning of the reply table is not taken */
	assert_null(sd_bounce_classify("rcpt", 535, NULL,
	    "535 5.7.8 Error: authentication failed"));
	assert_true(sd_bounce_sender_side("dns.spf_fail"));
	assert_false(sd_bounce_sender_side("recipient.unknown"));
}

/* ---- helpers -------------------------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Reads and judges a bounce held in memory; the caller frees the report. */
static sd_report *judge(const char *text, size_t len, sd_bounce *b)
{
	assert_int_equal(sd_bounce_parse(text, len, b), 0);
	sd_report *r = sd_report_new("bounce");
	assert_non_null(r);
	sd_bounce_facts(r, b);
	sd_bounce_rules(r);
	return r;
}

static const char *member(const sd_report *r, const char *key)
{
	json_t *b = json_object_get(r->extra, "bounce");
	return json_string_value(json_object_get(b, key));
}

/* ---- the recorded samples ----------------------------------------------- */

typedef struct sample {
	const char *file, *cause, *status, *recipient, *remote, *format,
	    *generator;
} sample;

static const sample samples[] = {
	{ "postfix-unknown-user.eml", "recipient.unknown", "fail",
	  "bob@example.net", "mx.example.net", "dsn", "postfix" },
	{ "exim-unknown-user.eml", "recipient.unknown", "fail",
	  "carol@example.net", "mx.example.net", "dsn", "exim" },
	{ "exim-text-quota.eml", "recipient.mailbox_full", "fail",
	  "dave@example.net", "mx.example.net", "text", "exim" },
	{ "sendmail-unknown.eml", "recipient.unknown", "fail",
	  "erin@example.net", "mx.example.net", "text", "sendmail" },
	{ "qmail-unknown.eml", "recipient.unknown", "fail",
	  "frank@example.net", "192.0.2.25", "text", "qmail" },
	{ "gmail-dmarc.eml", "dns.dmarc_reject_unaligned", "fail",
	  "grace@example.com", "mx.example.com", "dsn", "gmail" },
	{ "ms365-ndr-unknown.eml", "recipient.unknown", "fail",
	  "henry@example.net", NULL, "dsn", "exchange" },
	{ "yahoo-text-policy.txt", "content.rejected", "fail",
	  "ivan@example.com", NULL, "text", "yahoo" },
	{ "pasted-postfix-rbl.txt", "reputation.ip_listed", "fail",
	  "judy@example.net", "mx.example.net", "text", "postfix" },
	{ "dsn-two-recipients.eml", "dns.spf_fail", "fail",
	  "kate@example.com", "mx.example.com", "dsn", "postfix" },
	{ "dsn-delayed.eml", "isp.rate_limited", "warn",
	  "leo@example.com", "mx.example.com", "dsn", "postfix" },
	{ "dsn-delivered.eml", "ok", "ok", "mia@example.net", NULL, "dsn",
	  "postfix" },
	{ "ms365-ndr-html-only.eml", "reputation.ip_listed", "fail",
	  "nina@example.com", NULL, "text", "exchange" },
	{ "gmail-text-unknown.txt", "recipient.unknown", "fail",
	  "oscar@example.com", NULL, "text", "gmail" },
	{ "postfix-tls-required.eml", "recipient.tls_required", "fail",
	  "pat@example.net", "mx.example.net", "dsn", "postfix" },
};

static void recorded_samples(void **state)
{
	(void)state;
	int bad = 0;
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		const sample *s = &samples[i];
		char path[256];
		snprintf(path, sizeof path, "tests/data/bounces/%s", s->file);
		size_t len;
		char *text = read_file(path, &len);
		sd_bounce b;
		sd_report *r = judge(text, len, &b);
		const char *cause = sd_report_cause(r);
		const char *status = sd_status_name(sd_report_status(r));
		const char *rcpt = member(r, "recipient");
		const char *remote = member(r, "remote_mta");
		const char *fmt = member(r, "format");
		const char *gen = member(r, "generator");
#define CHECK(what, want, got) \
	if ((want) && (!(got) || strcmp((want), (got)) != 0)) { \
		print_error("%s: %s is %s, not %s\n", s->file, what, \
		    (got) ? (got) : "(none)", (want)); \
		bad++; \
	}
		CHECK("cause", s->cause, cause);
		CHECK("status", s->status, status);
		CHECK("recipient", s->recipient, rcpt);
		CHECK("remote_mta", s->remote, remote);
		CHECK("format", s->format, fmt);
		CHECK("generator", s->generator, gen);
#undef CHECK
		json_t *list = json_object_get(json_object_get(r->extra,
		    "bounce"), "recipients");
		if (!json_is_array(list) || json_array_size(list) == 0) {
			print_error("%s: no recipients array\n", s->file);
			bad++;
		}
		sd_report_free(r);
		sd_bounce_free(&b);
		free(text);
	}
	assert_int_equal(bad, 0);
}

/* ---- MIME pieces ---------------------------------------------------------- */

static void mime_decoders(void **state)
{
	(void)state;
	size_t n;
	char *d = sd_mime_decode("SGVsbG8s\r\nIHdvcmxk\n!!=", 22, "base64",
	    100, &n);
	assert_string_equal(d, "Hello, world");
	free(d);
	d = sd_mime_decode("caf=C3=A9 soft=\nbreak =3D", 25,
	    "quoted-printable", 100, &n);
	assert_string_equal(d, "caf\xc3\xa9 softbreak =");
	free(d);
	/* capped output */
	d = sd_mime_decode("abcdef", 6, "7bit", 3, &n);
	assert_int_equal(n, 3);
	free(d);
	d = sd_mime_decode_words("=?utf-8?B?w6lt?= =?ISO-8859-1?Q?caf=E9_x?= ok");
	assert_string_equal(d, "\xc3\xa9mcaf\xc3\xa9 x ok");
	free(d);
	d = sd_mime_decode_words("=?broken?X?abc?= =?utf-8?q?");
	assert_string_equal(d, "=?broken?X?abc?= =?utf-8?q?");
	free(d);
	d = sd_mime_html_text("<p>a&amp;b</p><style>x{}</style><br>c", 38, &n);
	assert_string_equal(d, "a&b\nc");
	free(d);
	char v[64];
	assert_true(sd_mime_param("multipart/report; report-type=x;\t"
	    "boundary=\"a b\\\"c\"", "boundary", v, sizeof v));
	assert_string_equal(v, "a b\"c");
	assert_false(sd_mime_param("text/plain", "charset", v, sizeof v));
}

static void header_unfolding(void **state)
{
	(void)state;
	const char *h = "Subject: one\r\n two\r\n\tthree\r\nX: y\r\n\r\nbody";
	char *v = sd_mime_header(h, strlen(h), "subject");
	assert_string_equal(v, "one two three");
	free(v);
	assert_int_equal(sd_mime_body_offset(h, strlen(h)), strlen(h) - 4);
}

/* ---- what breaks parsers ------------------------------------------------ */

static const char dsn_head[] =
    "From: MAILER-DAEMON@mail.example.org\n"
    "To: alice@example.org\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "Content-Type: multipart/report; report-type=delivery-status; "
    "boundary=\"B\"\n\n";

static void boundary_never_ends(void **state)
{
	(void)state;
	char buf[2048];
	snprintf(buf, sizeof buf, "%s--B\nContent-Type: message/delivery-status"
	    "\n\nReporting-MTA: dns; mail.example.org\n\nFinal-Recipient: "
	    "rfc822; bob@example.net\nAction: failed\nStatus: 5.2.2\n"
	    "Diagnostic-Code: smtp; 552 5.2.2 mailbox full\n", dsn_head);
	sd_bounce b;
	sd_report *r = judge(buf, strlen(buf), &b);
	assert_true(b.mime_flags & SD_MIME_UNTERMINATED);
	assert_string_equal(sd_report_cause(r), "recipient.mailbox_full");
	sd_report_free(r);
	sd_bounce_free(&b);
}

static void nesting_without_end(void **state)
{
	(void)state;
	/* 5,000 nested multiparts, each opening the next */
	size_t cap = 5000 * 80 + 256, o = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	o += (size_t)snprintf(buf, cap, "From: x@example.org\n"
	    "Content-Type: multipart/mixed; boundary=\"0\"\n\n");
	for (int i = 0; i < 5000; i++)
		o += (size_t)snprintf(buf + o, cap - o, "--%d\nContent-Type: "
		    "multipart/mixed; boundary=\"%d\"\n\n", i, i + 1);
	sd_bounce b;
	sd_report *r = judge(buf, o, &b);
	assert_true(b.mime_flags & SD_MIME_TOO_DEEP);
	assert_int_equal(sd_report_status(r), SD_STATUS_INCONCLUSIVE);
	sd_report_free(r);
	sd_bounce_free(&b);
	free(buf);
}

/* CPU time of this process in ms: the bounds below guard against work
 * that grows with the square of the input (a scan per recipient), which
 * would take minutes; CPU time leaves out the stalls of a shared machine
 * that wall time would count. */
static int64_t cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ten_thousand_recipients(void **state)
{
	(void)state;
	size_t cap = 10001 * 240 + 1024, o = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	/* the report's text names every recipient too: each paragraph is
	 * matched to its DSN recipient (by an index, not a scan) */
	o += (size_t)snprintf(buf, cap, "%s--B\nContent-Type: text/plain\n\n",
	    dsn_head);
	for (int i = 0; i < 10001; i++)
		o += (size_t)snprintf(buf + o, cap - o, "<u%d@example.net>: host "
		    "mx.example.net[192.0.2.1] said: 550 5.1.1 no\n", i);
	o += (size_t)snprintf(buf + o, cap - o, "\n--B\nContent-Type: "
	    "message/delivery-status\n\nReporting-MTA: dns; mail.example.org\n");
	for (int i = 0; i < 10001; i++)
		o += (size_t)snprintf(buf + o, cap - o, "\nFinal-Recipient: "
		    "rfc822; u%d@example.net\nAction: failed\nStatus: 5.1.1\n"
		    "Diagnostic-Code: smtp; 550 5.1.1 user unknown\n", i);
	o += (size_t)snprintf(buf + o, cap - o, "\n--B--\n");
	int64_t t0 = cpu_ms();
	sd_bounce b;
	sd_report *r = judge(buf, o, &b);
	int64_t ms = cpu_ms() - t0;
	assert_int_equal(b.n_rcpts, SD_BOUNCE_MAX_RCPTS);
	assert_int_equal(b.n_rcpts_dropped, 1);
	json_t *msg = sd_fact_get(r->facts, "bounce.message");
	assert_int_equal(json_integer_value(json_object_get(msg,
	    "recipients")), 10001);
	assert_string_equal(sd_report_cause(r), "recipient.unknown");
	print_message("# 10,001 recipients read and judged in %lld ms of CPU\n",
	    (long long)ms);
	assert_true(ms < 5000);
	/* the text completed the DSN recipients it reached (a text part is
	 * read up to SD_BOUNCE_MAX_TEXT): their remote host */
	assert_non_null(b.rcpts[0].remote_mta);
	assert_string_equal(b.rcpts[0].remote_mta, "mx.example.net");
	sd_report_free(r);
	sd_bounce_free(&b);
	free(buf);
}

static void fifty_megabytes(void **state)
{
	(void)state;
	/* a DSN returning a 50 MB message (an attachment in base64) */
	size_t big = 50u << 20;
	char *buf = malloc(big + 4096);
	assert_non_null(buf);
	size_t o = (size_t)snprintf(buf, 4096, "%s--B\nContent-Type: "
	    "message/delivery-status\n\nReporting-MTA: dns; mail.example.org"
	    "\n\nFinal-Recipient: rfc822; bob@example.net\nAction: failed\n"
	    "Status: 5.3.4\nDiagnostic-Code: smtp; 552 5.3.4 Message size "
	    "exceeds fixed limit\n\n--B\nContent-Type: message/rfc822\n\n"
	    "From: alice@example.org\nSubject: big\n\n", dsn_head);
	for (size_t i = 0; i < big; i++)
		buf[o + i] = (i % 77 == 76) ? '\n' : "QUJD"[i % 4];
	o += big;
	int64_t t0 = cpu_ms();
	sd_bounce b;
	sd_report *r = judge(buf, o, &b);
	int64_t ms = cpu_ms() - t0;
	assert_string_equal(sd_report_cause(r), "content.too_large");
	print_message("# 50 MB read and judged in %lld ms of CPU\n",
	    (long long)ms);
	assert_true(ms < 15000);
	sd_report_free(r);
	sd_bounce_free(&b);
	free(buf);
}

static void invalid_utf8_and_controls(void **state)
{
	(void)state;
	const char text[] = "<bob@example.net>: host mx.example.net[192.0.2.25]"
	    " said: 550 5.1.1 \xff\xfe\x1b[31mno such user\x07 here\xc3\n";
	sd_bounce b;
	sd_report *r = judge(text, sizeof text - 1, &b);
	assert_string_equal(sd_report_cause(r), "recipient.unknown");
	const char *diag = member(r, "diagnostic");
	assert_non_null(diag);
	for (const char *p = diag; *p; p++)
		assert_true((unsigned char)*p >= 0x20);
	char *json = sd_report_to_json(r);
	assert_non_null(json);
	free(json);
	sd_report_free(r);
	sd_bounce_free(&b);
}

static void not_a_message(void **state)
{
	(void)state;
	sd_bounce b;
	assert_int_equal(sd_bounce_parse("", 0, &b), 0);
	assert_int_equal(b.kind, SD_BOUNCE_NOT_MESSAGE);
	sd_bounce_free(&b);
	assert_int_equal(sd_bounce_parse("a\0b", 3, &b), 0);
	assert_int_equal(b.kind, SD_BOUNCE_NOT_MESSAGE);
	assert_true(b.binary);
	sd_bounce_free(&b);
	const char *poem = "roses are red\nviolets are blue\n";
	assert_int_equal(sd_bounce_parse(poem, strlen(poem), &b), 0);
	assert_int_equal(b.kind, SD_BOUNCE_NOT_MESSAGE);
	sd_bounce_free(&b);
	/* a message, but no report: the cause cannot be named */
	const char *mail = "From: a@example.org\nTo: b@example.net\n"
	    "Subject: hi\n\nhello\n";
	sd_report *r = judge(mail, strlen(mail), &b);
	assert_int_equal(b.kind, SD_BOUNCE_MESSAGE);
	assert_int_equal(sd_report_status(r), SD_STATUS_INCONCLUSIVE);
	assert_int_equal(sd_report_exit_code(r), 3);
	sd_report_free(r);
	sd_bounce_free(&b);
}

static void mbox_and_sending_ip(void **state)
{
	(void)state;
	const char *text = "From MAILER-DAEMON Sun Dec  6 10:00:00 2026\n"
	    "From: MAILER-DAEMON@mail.example.org\nTo: alice@example.org\n"
	    "Subject: Undelivered Mail Returned to Sender\n\n"
	    "<bob@example.com>: host mx.example.com[192.0.2.40] said: 550-5.7.26"
	    " The MAIL FROM domain [example.org] has an SPF record with a hard"
	    " fail policy (-all) but it fails to pass SPF checks with the ip:"
	    " [192.0.2.10]. (in reply to end of DATA command)\n";
	sd_bounce b;
	sd_report *r = judge(text, strlen(text), &b);
	assert_string_equal(sd_report_cause(r), "dns.spf_fail");
	json_t *ip = sd_fact_get(r->facts, "bounce.sending_ip");
	assert_non_null(ip);
	assert_string_equal(json_string_value(json_object_get(ip, "ip")),
	    "192.0.2.10");
	assert_string_equal(member(r, "smtp_stage"), "data_end");
	sd_report_free(r);
	sd_bounce_free(&b);
}

/* A multi-line reply quoted on one line reads as one sentence: the codes
 * of its continuation lines are taken out. */
static void continuation_codes_joined(void **state)
{
	(void)state;
	size_t len;
	char *text = read_file("tests/data/bounces/gmail-dmarc.eml", &len);
	sd_bounce b;
	sd_report *r = judge(text, len, &b);
	const char *diag = member(r, "diagnostic");
	assert_non_null(diag);
	assert_true(strncmp(diag, "550 5.7.26 Unauthenticated", 26) == 0);
	assert_null(strstr(diag + 3, " 550 "));
	assert_non_null(strstr(diag, "go to https://support.google.com"));
	sd_report_free(r);
	sd_bounce_free(&b);
	free(text);
}

/* ---- which recipient gives the verdict ---------------------------------- */

/* A DSN of recipients given as "ACTION STATUS DIAGNOSTIC" lines. */
static sd_report *dsn_of(const char *const *rcpts, size_t n, sd_bounce *b)
{
	char buf[4096];
	size_t o = (size_t)snprintf(buf, sizeof buf, "%s--B\nContent-Type: "
	    "message/delivery-status\n\nReporting-MTA: dns; mail.example.org"
	    "\n", dsn_head);
	for (size_t i = 0; i < n; i++) {
		char action[16], status[16];
		int k = 0;
		assert_int_equal(sscanf(rcpts[i], "%15s %15s %n", action, status,
		    &k), 2);
		o += (size_t)snprintf(buf + o, sizeof buf - o, "\nFinal-Recipient:"
		    " rfc822; u%zu@example.net\nAction: %s\nStatus: %s\n"
		    "Diagnostic-Code: smtp; %s\n", i, action, status,
		    rcpts[i] + k);
	}
	snprintf(buf + o, sizeof buf - o, "\n--B--\n");
	return judge(buf, strlen(buf), b);
}

static void verdict_precedence(void **state)
{
	(void)state;
	static const struct {
		const char *rcpts[3];
		const char *cause, *recipient;
	} cases[] = {
		/* a cause on the sender's side before a recipient.* one */
		{ { "failed 5.1.1 550 5.1.1 user unknown",
		    "delayed 4.2.2 452 4.2.2 mailbox full",
		    "failed 5.7.23 550 5.7.23 SPF validation failed" },
		  "dns.spf_fail", "u2@example.net" },
		/* among equals, the first recipient */
		{ { "failed 5.2.2 552 5.2.2 mailbox full",
		    "failed 5.1.1 550 5.1.1 user unknown", NULL },
		  "recipient.mailbox_full", "u0@example.net" },
		/* a failure no row explains before a delay */
		{ { "delayed 4.2.2 452 4.2.2 mailbox full",
		    "failed 5.0.0 550 no words this tool knows", NULL },
		  "inconclusive", "u1@example.net" },
		/* a delay before a delivery */
		{ { "delivered 2.0.0 250 ok",
		    "delayed 4.4.1 451 4.4.1 try later", NULL },
		  "settings.temporary_failure", "u1@example.net" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = cases[i].rcpts[2] ? 3 : 2;
		sd_bounce b;
		sd_report *r = dsn_of(cases[i].rcpts, n, &b);
		assert_string_equal(sd_report_cause(r), cases[i].cause);
		assert_string_equal(member(r, "recipient"), cases[i].recipient);
		/* every recipient is a finding */
		assert_int_equal(json_array_size(r->findings), n);
		sd_report_free(r);
		sd_bounce_free(&b);
	}
	/* the order's families are what "the sender's side" means */
	size_t rows;
	const sd_reply_rule *t = sd_bounce_table(&rows);
	size_t rcpt = sd_judge_rank_of(sd_bounce_verdict_order, "recipient.x");
	for (size_t i = 0; i < rows; i++)
		assert_int_equal(sd_judge_rank_of(sd_bounce_verdict_order,
		    t[i].cause) < rcpt, sd_bounce_sender_side(t[i].cause));
}

/* ---- content scoring: what spamd says, what a user types ---------------- */

static void spamd_report_table(void **state)
{
	(void)state;
	size_t len;
	char *text = read_file("fuzz/seeds/score/spamd-report.txt", &len);
	json_t *rules = sd_score_spamd_rules(text);
	assert_int_equal(json_array_size(rules), 5);
	json_t *gtube = json_array_get(rules, 3);
	assert_string_equal(json_string_value(json_object_get(gtube, "name")),
	    "GTUBE");
	assert_true(json_real_value(json_object_get(gtube, "score")) == 1000);
	assert_string_equal(json_string_value(json_object_get(gtube,
	    "description")), "BODY: Generic Test for Unsolicited Bulk Email");
	/* a wrapped description is joined */
	const char *d = json_string_value(json_object_get(json_array_get(rules,
	    4), "description"));
	assert_non_null(strstr(d, "wraps it onto a second line"));
	json_decref(rules);
	free(text);
}

static void scorer_specs(void **state)
{
	(void)state;
	sd_scorer s;
	const char *why = NULL;
	assert_int_equal(sd_scorer_parse("spamd://127.0.0.1", &s, &why), 0);
	assert_int_equal(s.kind, SD_SCORER_SPAMD);
	assert_int_equal(s.port, 783);
	assert_int_equal(sd_scorer_parse("rspamd://[::1]:11334", &s, &why), 0);
	assert_int_equal(s.kind, SD_SCORER_RSPAMD);
	assert_string_equal(s.host, "::1");
	assert_int_equal(s.port, 11334);
	assert_int_equal(sd_scorer_parse("127.0.0.1:7830", &s, &why), 0);
	assert_int_equal(s.port, 7830);
	assert_int_equal(sd_scorer_parse("localhost", &s, &why), 0);
	assert_int_equal(sd_scorer_parse("ftp://x", &s, &why), -1);
	assert_int_equal(sd_scorer_parse("spamd://127.0.0.1:0", &s, &why), -1);
	assert_int_equal(sd_scorer_parse("spamd://[::1", &s, &why), -1);
	assert_int_equal(sd_scorer_parse("spam.example.com", &s, &why), -1);
	assert_non_null(why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_row_matches_its_own_sample),
		cmocka_unit_test(enhanced_codes_decide_last),
		cmocka_unit_test(recorded_samples),
		cmocka_unit_test(mime_decoders),
		cmocka_unit_test(header_unfolding),
		cmocka_unit_test(boundary_never_ends),
		cmocka_unit_test(nesting_without_end),
		cmocka_unit_test(ten_thousand_recipients),
		cmocka_unit_test(fifty_megabytes),
		cmocka_unit_test(invalid_utf8_and_controls),
		cmocka_unit_test(not_a_message),
		cmocka_unit_test(mbox_and_sending_ip),
		cmocka_unit_test(continuation_codes_joined),
		cmocka_unit_test(verdict_precedence),
		cmocka_unit_test(spamd_report_table),
		cmocka_unit_test(scorer_specs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
