/*
 * The provider reply table (src/rules/replies.c, data/replies.def).
 *
 * The test includes data/replies.def itself, so every row is checked
 * against its own sample: a row that an earlier one shadows, or a sample
 * that drifted from its fragments, fails here.  Hand-written cases below
 * check the near misses: one enhanced code with several meanings, the
 * generic fallbacks, text that must match nothing.
 */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rules/replies.h"
#include "smtp/reply.h"

typedef struct row {
	const char *id, *cause, *sample;
	unsigned stages, flags;
	int code_min, code_max;
} row;

static const row rows[] = {
#define REPLY(id, provider, stages, lo, hi, enh, f1, f2, f3, cause, flags, \
    explain, hint, sample, source) \
	{ id, cause, sample, stages, flags, lo, hi },
#include "../../../data/replies.def"
#undef REPLY
};
#define N_ROWS (sizeof rows / sizeof rows[0])

static const char *const codes[] = {
#define CODE(code, category, status, words) code,
#include "../../../data/codes.def"
#undef CODE
};

/* A sample "CODE text\nmore" split as the SMTP reader splits a reply: the
 * code, the enhanced code of the first line, the text. */
typedef struct reply {
	int code;
	char enhanced[16];
	const char *text;
} reply;

static reply split(const char *sample)
{
	reply r;
	memset(&r, 0, sizeof r);
	assert_true(strlen(sample) >= 3);
	r.code = atoi(sample);
	r.text = sample[3] == ' ' ? sample + 4 : sample + 3;
	const char *nl = strchr(r.text, '\n');
	size_t first = nl ? (size_t)(nl - r.text) : strlen(r.text);
	if (!sd_parse_enhanced(r.text, first, r.enhanced))
		r.enhanced[0] = '\0';
	return r;
}

static sd_smtp_stage lowest_stage(unsigned stages)
{
	for (int s = 0; s < SD_STAGE_COUNT; s++)
		if (stages & (1u << s))
			return (sd_smtp_stage)s;
	fail_msg("a row without a stage");
	return SD_STAGE_CONNECT;
}

/* The id of what a reply classifies as, "(none)" when nothing matches. */
static const char *classify(sd_smtp_stage stage, const char *sample,
    unsigned options)
{
	reply r = split(sample);
	const sd_reply_rule *rule = sd_reply_classify_ex(stage, r.code,
	    r.enhanced, r.text, options);
	return rule ? rule->id : "(none)";
}

static const char *cause_of(sd_smtp_stage stage, const char *sample)
{
	reply r = split(sample);
	const sd_reply_rule *rule = sd_reply_classify(stage, r.code,
	    r.enhanced, r.text);
	return rule ? rule->cause : "(none)";
}

/* ---- the table against itself ---------------------------------------- */

static void table_is_the_data_file(void **state)
{
	(void)state;
	size_t n;
	const sd_reply_rule *t = sd_reply_rules(&n);
	assert_int_equal(n, N_ROWS);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(t[i].id, rows[i].id);
		assert_int_equal(t[i].generic,
		    (rows[i].flags & SD_REPLY_GENERIC) != 0);
		for (size_t j = 0; j < i; j++)
			if (strcmp(t[i].id, t[j].id) == 0)
				fail_msg("duplicate row id %s", t[i].id);
	}
}

static void every_row_matches_its_own_sample(void **state)
{
	(void)state;
	int bad = 0;
	for (size_t i = 0; i < N_ROWS; i++) {
		const row *w = &rows[i];
		sd_smtp_stage stage = lowest_stage(w->stages);
		unsigned opt = (w->flags & SD_REPLY_UNCONFIRMED) ?
		    SD_REPLY_WITH_UNCONFIRMED : 0;
		reply r = split(w->sample);
		const sd_reply_rule *got = sd_reply_classify_ex(stage, r.code,
		    r.enhanced, r.text, opt);
		if (!got || strcmp(got->id, w->id) != 0) {
			print_error("row %s: its sample classifies as %s\n",
			    w->id, got ? got->id : "(none)");
			bad++;
			continue;
		}
		if (strcmp(got->cause, w->cause) != 0) {
			print_error("row %s: cause %s\n", w->id, got->cause);
			bad++;
		}
		if (r.code < w->code_min || r.code > w->code_max) {
			print_error("row %s: sample code %d out of range\n",
			    w->id, r.code);
			bad++;
		}
		/* the row matches its sample at each of its stages */
		for (int s = 0; s < SD_STAGE_COUNT; s++) {
			int want = (w->stages & (1u << s)) != 0;
			if (sd_reply_rule_matches(got, (sd_smtp_stage)s, r.code,
			    r.enhanced, r.text) != want) {
				print_error("row %s: stage %s\n", w->id,
				    sd_reply_stage_name((sd_smtp_stage)s));
				bad++;
			}
		}
	}
	assert_int_equal(bad, 0);
}

/*
 * A sample as a server would send it: the words of its text on lines of
 * `per_line` words, every line after the first repeating the enhanced code
 * when `repeat` (RFC 2034, as Exim and Microsoft do), fed through the SMTP
 * reader.  per_line 0 puts the whole text on one line.
 */
static void as_sent(const char *sample, int per_line, int repeat,
    sd_reply *out)
{
	reply r = split(sample);
	char words[2048];
	const char *t = r.text;
	if (r.enhanced[0])
		t += strlen(r.enhanced);
	snprintf(words, sizeof words, "%s", t);
	sd_reply_init(out);
	char line[2400];
	int n = 0, first = 1;
	size_t ll = 0;
	for (char *w = strtok(words, " \t\n"); ; w = strtok(NULL, " \t\n")) {
		if (!w || (per_line && n == per_line)) {
			/* flush: '-' unless this is the last line */
			char head[40];
			snprintf(head, sizeof head, "%03d%c%s%s", r.code,
			    w ? '-' : ' ', r.enhanced[0] && (first || repeat) ?
			    r.enhanced : "", r.enhanced[0] && (first || repeat) ?
			    " " : "");
			char full[2600];
			snprintf(full, sizeof full, "%s%.*s", head, (int)ll, line);
			sd_reply_rc rc = sd_reply_feed(out, full, strlen(full));
			assert_int_equal(rc, w ? SD_REPLY_MORE : SD_REPLY_DONE);
			ll = 0;
			n = 0;
			first = 0;
			if (!w)
				break;
		}
		ll += (size_t)snprintf(line + ll, sizeof line - ll, "%s%s",
		    ll ? " " : "", w);
		n++;
	}
}

static void every_row_matches_on_one_and_many_lines(void **state)
{
	(void)state;
	static const struct { int per_line, repeat; } forms[] = {
		{ 0, 0 }, { 1, 1 }, { 3, 1 }, { 4, 0 },
	};
	int bad = 0;
	for (size_t i = 0; i < N_ROWS; i++) {
		const row *w = &rows[i];
		unsigned opt = (w->flags & SD_REPLY_UNCONFIRMED) ?
		    SD_REPLY_WITH_UNCONFIRMED : 0;
		for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
			sd_reply rep;
			as_sent(w->sample, forms[f].per_line, forms[f].repeat, &rep);
			const sd_reply_rule *got = sd_reply_classify_ex(
			    lowest_stage(w->stages), rep.code, rep.enhanced,
			    rep.text, opt);
			if (!got || strcmp(got->id, w->id) != 0) {
				print_error("row %s, %d words a line%s: %s\n", w->id,
				    forms[f].per_line, forms[f].repeat ?
				    " with the code repeated" : "",
				    got ? got->id : "(none)");
				bad++;
			}
		}
	}
	assert_int_equal(bad, 0);
}

static void normalised_text(void **state)
{
	(void)state;
	char out[64];
	sd_reply_text_normalize("Authentication unsuccessful, "
	    "SmtpClientAuthentication is\n5.7.139 disabled for the Tenant",
	    out, sizeof out);
	/* capped at 63 bytes and a NUL */
	assert_string_equal(out, "Authentication unsuccessful, SmtpClientAut"
	    "hentication is disabl");
	char big[200];
	sd_reply_text_normalize("5.7.139 a\n5.7.139  b\n\n5.7.139\nc", big,
	    sizeof big);
	assert_string_equal(big, "5.7.139 a b c");
	/* not an enhanced code: kept */
	sd_reply_text_normalize("see\n5.7 words\n1.2.3 x", big, sizeof big);
	assert_string_equal(big, "see 5.7 words 1.2.3 x");
	assert_int_equal(sd_reply_text_normalize(NULL, big, sizeof big), 0);
	assert_int_equal(sd_reply_text_normalize("abc", big, 1), 0);
	assert_string_equal(big, "");
}

static void unconfirmed_rows_are_ignored_by_default(void **state)
{
	(void)state;
	int seen = 0;
	for (size_t i = 0; i < N_ROWS; i++) {
		if (!(rows[i].flags & SD_REPLY_UNCONFIRMED))
			continue;
		seen++;
		const char *id = classify(lowest_stage(rows[i].stages),
		    rows[i].sample, 0);
		if (strcmp(id, rows[i].id) == 0)
			fail_msg("unconfirmed row %s used by default", id);
	}
	assert_true(seen > 0);
}

static void causes_are_spec_codes(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ROWS; i++) {
		int found = 0;
		for (size_t k = 0; k < sizeof codes / sizeof codes[0]; k++)
			found |= strcmp(codes[k], rows[i].cause) == 0;
		if (!found)
			fail_msg("row %s: %s is not a verdict code", rows[i].id,
			    rows[i].cause);
	}
}

static void rows_carry_words_for_people(void **state)
{
	(void)state;
	size_t n;
	const sd_reply_rule *t = sd_reply_rules(&n);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(t[i].explain);
		assert_non_null(t[i].hint);
		assert_non_null(t[i].source);
		assert_true(strlen(t[i].explain) > 10);
		/* "what failed: why", lower case, no final period (STYLE) */
		size_t len = strlen(t[i].hint);
		if (t[i].hint[len - 1] == '.' ||
		    t[i].explain[strlen(t[i].explain) - 1] == '.')
			fail_msg("row %s: final period", t[i].id);
		if (t[i].hint[0] >= 'A' && t[i].hint[0] <= 'Z')
			fail_msg("row %s: hint starts upper case", t[i].id);
		assert_int_equal(t[i].provider == NULL ||
		    !(t[i].flags & SD_REPLY_GENERIC), 1);
	}
}

static void fragments_are_well_formed(void **state)
{
	(void)state;
	size_t n;
	const sd_reply_rule *t = sd_reply_rules(&n);
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < SD_REPLY_MAX_FRAGMENTS; k++) {
			const char *p = t[i].fragments[k];
			if (!p)
				continue;
			/* alternatives: not empty, short, ASCII, '~' first only */
			size_t alt = 0;
			for (const char *c = p;; c++) {
				if (*c == '|' || *c == '\0') {
					if (alt == 0 || alt > 100)
						fail_msg("row %s: bad alternative", t[i].id);
					alt = 0;
					if (*c == '\0')
						break;
					continue;
				}
				if ((unsigned char)*c >= 0x80 || *c < 0x20 ||
				    (*c == '~' && alt != 0))
					fail_msg("row %s: bad fragment %s", t[i].id, p);
				alt++;
			}
		}
		assert_true(t[i].code_min >= 200 && t[i].code_min <= t[i].code_max &&
		    t[i].code_max <= 599);
		assert_true(t[i].stages != 0 && t[i].stages <= SD_AT_ANY);
	}
}

static void docs_name_every_row(void **state)
{
	(void)state;
	FILE *f = fopen("docs/replies.md", "rb");
	assert_non_null(f);
	static char doc[262144];
	size_t len = fread(doc, 1, sizeof doc - 1, f);
	fclose(f);
	doc[len] = '\0';
	for (size_t i = 0; i < N_ROWS; i++) {
		char want[128];
		snprintf(want, sizeof want, "`%s`", rows[i].id);
		if (!strstr(doc, want))
			fail_msg("docs/replies.md does not name %s", rows[i].id);
	}
}

/* ---- one code, several meanings --------------------------------------- */

#define MS_TAIL " [BN9PR03CA0123.namprd03.prod.outlook.com 2026-11-28T12:00:00.000Z 08DE0A1B2C3D4E5F]"

static void microsoft_5_7_139(void **state)
{
	(void)state;
	assert_string_equal(cause_of(SD_STAGE_AUTH, "535 5.7.139 Authentication "
	    "unsuccessful, SmtpClientAuthentication is disabled for the Tenant. "
	    "Visit https://aka.ms/smtp_auth_disabled for more information."
	    MS_TAIL), "auth.disabled");
	assert_string_equal(cause_of(SD_STAGE_AUTH, "535 5.7.139 Authentication "
	    "unsuccessful, basic authentication is disabled." MS_TAIL),
	    "auth.oauth_required");
	assert_string_equal(cause_of(SD_STAGE_AUTH, "535 5.7.139 Authentication "
	    "unsuccessful, the user credentials were incorrect." MS_TAIL),
	    "auth.bad_credentials");
	assert_string_equal(classify(SD_STAGE_AUTH, "535 5.7.139 Authentication "
	    "unsuccessful, the user credentials were incorrect." MS_TAIL, 0),
	    "ms.bad_credentials");
	assert_string_equal(classify(SD_STAGE_AUTH, "535 5.7.139 Authentication "
	    "unsuccessful, user is locked by your organization's security "
	    "defaults policy." MS_TAIL, 0), "ms.security_defaults");
	assert_string_equal(classify(SD_STAGE_AUTH, "535 5.7.139 Authentication "
	    "unsuccessful, the request did not meet the criteria to be "
	    "authenticated successfully." MS_TAIL, 0), "ms.conditional_access");

	/* the per-mailbox wording is unconfirmed: generic unless asked */
	const char *mbox = "535 5.7.139 Authentication unsuccessful, "
	    "SmtpClientAuthentication is disabled for the Mailbox. Visit "
	    "https://aka.ms/smtp_auth_disabled for more information." MS_TAIL;
	assert_string_equal(classify(SD_STAGE_AUTH, mbox, 0), "generic.auth_535");
	assert_string_equal(classify(SD_STAGE_AUTH, mbox,
	    SD_REPLY_WITH_UNCONFIRMED), "ms.mailbox_auth_disabled");

	/* a sixth, unknown wording falls back to the generic 535 */
	reply r = split("535 5.7.139 Authentication unsuccessful, something "
	    "Microsoft has not said before." MS_TAIL);
	const sd_reply_rule *g = sd_reply_classify(SD_STAGE_AUTH, r.code,
	    r.enhanced, r.text);
	assert_non_null(g);
	assert_string_equal(g->cause, "auth.bad_credentials");
	assert_true(g->generic);
	assert_null(g->provider);

	/* the same words under 5.7.3 are Exchange's generic refusal */
	assert_string_equal(classify(SD_STAGE_AUTH,
	    "535 5.7.3 Authentication unsuccessful" MS_TAIL, 0),
	    "ms.auth_unsuccessful");
}

static void google_5_7_9(void **state)
{
	(void)state;
	const char *app = "534 5.7.9 Application-specific password required. "
	    "Learn more at\n5.7.9  https://support.google.com/mail/?p=Invalid"
	    "SecondFactor x1-2 - gsmtp";
	const char *web = "534 5.7.9 Please log in with your web browser and "
	    "then try again. Learn more at\n5.7.9  https://support.google.com/"
	    "mail/?p=WebLoginRequired x1-2 - gsmtp";
	assert_string_equal(cause_of(SD_STAGE_AUTH, app),
	    "auth.app_password_required");
	assert_string_equal(cause_of(SD_STAGE_AUTH, web), "auth.locked_out");
	/* RFC 4954's own 534 5.7.9 is about the mechanism */
	assert_string_equal(cause_of(SD_STAGE_AUTH,
	    "534 5.7.9 Authentication mechanism is too weak"),
	    "auth.mechanism_unsupported");

	reply r = split(app);
	const sd_reply_rule *rule = sd_reply_classify(SD_STAGE_AUTH, r.code,
	    r.enhanced, r.text);
	assert_non_null(rule);
	assert_string_equal(rule->provider, "Gmail");
	assert_false(rule->generic);
	assert_non_null(strstr(rule->hint,
	    "https://myaccount.google.com/apppasswords"));
}

/* ---- what the match depends on ----------------------------------------- */

static void stage_code_and_enhanced_all_count(void **state)
{
	(void)state;
	const char *app = "534 5.7.9 Application-specific password required.";
	/* the same words at MAIL are not an AUTH answer */
	assert_string_not_equal(classify(SD_STAGE_MAIL, app, 0),
	    "gmail.app_password");
	/* another enhanced code: not that row either */
	assert_string_equal(classify(SD_STAGE_AUTH,
	    "535 5.7.8 Application-specific password required.", 0),
	    "generic.auth_535");
	/* Relay access denied answers RCPT, not AUTH */
	assert_string_equal(classify(SD_STAGE_RCPT,
	    "554 5.7.1 <b@example.org>: Relay access denied", 0),
	    "postfix.relay_denied");
	assert_string_not_equal(cause_of(SD_STAGE_AUTH,
	    "554 5.7.1 <b@example.org>: Relay access denied"),
	    "isp.relay_denied");
}

static void enhanced_code_given_or_read_from_text(void **state)
{
	(void)state;
	/* enhanced NULL: read from the text */
	const sd_reply_rule *a = sd_reply_classify(SD_STAGE_AUTH, 535, NULL,
	    "5.7.139 Authentication unsuccessful, basic authentication is "
	    "disabled.");
	assert_non_null(a);
	assert_string_equal(a->id, "ms.basic_auth_disabled");
	/* given apart, with a text that no longer carries it */
	const sd_reply_rule *b = sd_reply_classify(SD_STAGE_AUTH, 535,
	    "5.7.139", "Authentication unsuccessful, basic authentication is "
	    "disabled.");
	assert_non_null(b);
	assert_string_equal(b->id, "ms.basic_auth_disabled");
	/* "" counts as not given */
	const sd_reply_rule *c = sd_reply_classify(SD_STAGE_AUTH, 535, "",
	    "5.7.139 Authentication unsuccessful, basic authentication is "
	    "disabled.");
	assert_ptr_equal(b, c);
	/* given, and different from the text's: the given one wins */
	const sd_reply_rule *d = sd_reply_classify(SD_STAGE_AUTH, 535,
	    "5.7.8", "5.7.139 Authentication unsuccessful, basic "
	    "authentication is disabled.");
	assert_non_null(d);
	assert_string_equal(d->id, "generic.auth_535");
}

static void case_is_ascii_only(void **state)
{
	(void)state;
	assert_string_equal(classify(SD_STAGE_AUTH,
	    "534 5.7.9 APPLICATION-SPECIFIC PASSWORD REQUIRED.", 0),
	    "gmail.app_password");
	/* in tr_TR, tolower('I') is not 'i': the matcher must not care */
	if (setlocale(LC_ALL, "tr_TR.UTF-8")) {
		assert_string_equal(classify(SD_STAGE_AUTH,
		    "535 INCORRECT AUTHENTICATION DATA", 0),
		    "exim.incorrect_auth");
		assert_string_equal(classify(SD_STAGE_AUTH,
		    "535 incorrect authentication data", 0),
		    "exim.incorrect_auth");
		setlocale(LC_ALL, "C");
	}
}

static void fragments_on_later_lines(void **state)
{
	(void)state;
	assert_string_equal(cause_of(SD_STAGE_MAIL,
	    "530 5.7.0 Hello there\n5.7.0 Must issue a STARTTLS command first"),
	    "auth.encryption_required");
}

static void whole_words(void **state)
{
	(void)state;
	/* "rate" inside "generated" and "accurate" is no rate limit */
	assert_string_equal(classify(SD_STAGE_RCPT,
	    "451 4.3.0 Temporary lookup failure, generated by an accurate "
	    "system", 0), "generic.temporary");
	assert_string_equal(classify(SD_STAGE_RCPT,
	    "451 4.7.1 Rate limit reached, try later", 0), "generic.rate_4xx");
	assert_string_equal(classify(SD_STAGE_RCPT,
	    "450 4.7.1 Sending rate-limited", 0), "generic.rate_4xx");
	/* "relay" inside "relayhost" is no relay refusal */
	assert_string_not_equal(classify(SD_STAGE_RCPT,
	    "550 5.7.1 relayhost misconfigured at the recipient", 0),
	    "generic.relay");
}

/* ---- the generic fallbacks --------------------------------------------- */

static void generic_fallbacks(void **state)
{
	(void)state;
	assert_string_equal(cause_of(SD_STAGE_AUTH, "535 Authentication failed"),
	    "auth.bad_credentials");
	assert_string_equal(cause_of(SD_STAGE_AUTH,
	    "535 5.7.8 Error: authentication failed: (reason unavailable)"),
	    "auth.bad_credentials");
	assert_string_equal(cause_of(SD_STAGE_AUTH,
	    "504 5.5.4 Encryption required for requested authentication "
	    "mechanism"), "auth.encryption_required");
	assert_string_equal(cause_of(SD_STAGE_AUTH,
	    "454 4.7.0 Temporary authentication failure: lost connection"),
	    "settings.temporary_failure");
	assert_string_equal(cause_of(SD_STAGE_MAIL, "530 5.7.0 Go away"),
	    "auth.required");
	assert_string_equal(cause_of(SD_STAGE_MAIL,
	    "530 5.5.1 Invalid command: Must issue a STARTTLS command first"),
	    "auth.encryption_required");
	assert_string_equal(cause_of(SD_STAGE_MAIL, "550 5.7.1 Not allowed"),
	    "sender.rejected");
	assert_string_equal(cause_of(SD_STAGE_MAIL,
	    "553 5.1.8 Domain of address does not exist"), "sender.rejected");
	/* Postfix with smtpd_delay_reject: the sender check answers RCPT */
	assert_string_equal(cause_of(SD_STAGE_RCPT,
	    "553 5.7.1 <boss@example.com>: Sender address rejected: not owned by "
	    "user alice@example.com"), "sender.rejected");
	/* Postfix 3.x's default answers 454, and it is still a relay refusal */
	assert_string_equal(cause_of(SD_STAGE_RCPT,
	    "454 4.7.1 <b@example.org>: Relay access denied"), "isp.relay_denied");
	assert_string_equal(cause_of(SD_STAGE_RCPT, "550 5.7.1 Relaying denied"),
	    "isp.relay_denied");
	assert_string_equal(cause_of(SD_STAGE_RCPT,
	    "421 4.7.0 Too many messages, slow down"), "isp.rate_limited");
	assert_string_equal(cause_of(SD_STAGE_MAIL,
	    "450 4.2.0 Hourly quota exceeded"), "isp.rate_limited");
	assert_string_equal(cause_of(SD_STAGE_RCPT,
	    "450 4.2.0 <b@example.org>: Recipient address rejected: Greylisted"),
	    "settings.temporary_failure");
	assert_string_equal(cause_of(SD_STAGE_DATA_END,
	    "552 5.3.4 Message size exceeds fixed limit"), "content.too_large");
	assert_string_equal(cause_of(SD_STAGE_DATA_END,
	    "554 5.3.4 Message too big for system: Transaction failed, message "
	    "too big"), "content.too_large");
	assert_string_equal(cause_of(SD_STAGE_DATA_END,
	    "554 5.7.1 Message refused by the content filter"),
	    "content.rejected");
	assert_string_equal(cause_of(SD_STAGE_DATA_END,
	    "550 5.7.1 Message rejected"), "content.rejected");
	assert_string_equal(cause_of(SD_STAGE_CONNECT,
	    "554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked "
	    "using zen.spamhaus.org"), "reputation.ip_listed");
}

static void nothing_matches_unrelated_replies(void **state)
{
	(void)state;
	assert_string_equal(classify(SD_STAGE_CONNECT,
	    "220 mail.example.com ESMTP Postfix", 0), "(none)");
	assert_string_equal(classify(SD_STAGE_EHLO,
	    "250 mail.example.com\nPIPELINING\nSIZE 10240000\nSTARTTLS", 0),
	    "(none)");
	assert_string_equal(classify(SD_STAGE_AUTH,
	    "235 2.7.0 Authentication successful", 0), "(none)");
	assert_string_equal(classify(SD_STAGE_DATA_END,
	    "250 2.0.0 Ok: queued as 4AB2C3D4", 0), "(none)");
	assert_string_equal(classify(SD_STAGE_DATA,
	    "354 End data with <CR><LF>.<CR><LF>", 0), "(none)");
	assert_string_equal(classify(SD_STAGE_RCPT,
	    "550 5.1.1 <x@example.org>: Recipient address rejected: User unknown "
	    "in virtual mailbox table", 0), "(none)");
	/* a 2xx quoting a refusal is still a success */
	assert_string_equal(classify(SD_STAGE_MAIL,
	    "250 2.1.0 Ok, and no Relay access denied here", 0), "(none)");
}

static void bounded_and_defensive(void **state)
{
	(void)state;
	/* words beyond SD_REPLY_SCAN_MAX are not seen */
	size_t n = SD_REPLY_SCAN_MAX + 64;
	char *text = malloc(n + 1);
	assert_non_null(text);
	memset(text, 'x', SD_REPLY_SCAN_MAX);
	strcpy(text + SD_REPLY_SCAN_MAX, " Relay access denied");
	const sd_reply_rule *r = sd_reply_classify(SD_STAGE_RCPT, 554, NULL,
	    text);
	assert_true(r == NULL || strcmp(r->id, "postfix.relay_denied") != 0);
	free(text);

	/* NULL text, odd codes, a stage out of range */
	const sd_reply_rule *g = sd_reply_classify(SD_STAGE_AUTH, 535, NULL,
	    NULL);
	assert_non_null(g);
	assert_string_equal(g->id, "generic.auth_535");
	assert_null(sd_reply_classify((sd_smtp_stage)99, 535, NULL, "x"));
	assert_null(sd_reply_classify((sd_smtp_stage)-1, 535, NULL, "x"));
	assert_null(sd_reply_classify(SD_STAGE_AUTH, -535, NULL, "x"));
	assert_null(sd_reply_classify(SD_STAGE_AUTH, 0, NULL, ""));
	assert_false(sd_reply_rule_matches(NULL, SD_STAGE_AUTH, 535, NULL, ""));
	/* a broken enhanced code in the text is no enhanced code */
	assert_string_equal(classify(SD_STAGE_AUTH,
	    "535 5.7.1399 Authentication unsuccessful, basic authentication is "
	    "disabled.", 0), "generic.auth_535");
}

static void stage_names(void **state)
{
	(void)state;
	for (int s = 0; s < SD_STAGE_COUNT; s++) {
		sd_smtp_stage back;
		const char *name = sd_reply_stage_name((sd_smtp_stage)s);
		assert_non_null(name);
		assert_int_equal(sd_reply_stage_parse(name, &back), 0);
		assert_int_equal(back, s);
	}
	sd_smtp_stage x;
	assert_string_equal(sd_reply_stage_name(SD_STAGE_DATA_END), "data_end");
	assert_int_equal(sd_reply_stage_parse("DATA", &x), -1);
	assert_int_equal(sd_reply_stage_parse("", &x), -1);
	assert_int_equal(sd_reply_stage_parse(NULL, &x), -1);
	assert_null(sd_reply_stage_name(SD_STAGE_COUNT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_is_the_data_file),
		cmocka_unit_test(every_row_matches_its_own_sample),
		cmocka_unit_test(every_row_matches_on_one_and_many_lines),
		cmocka_unit_test(normalised_text),
		cmocka_unit_test(unconfirmed_rows_are_ignored_by_default),
		cmocka_unit_test(causes_are_spec_codes),
		cmocka_unit_test(rows_carry_words_for_people),
		cmocka_unit_test(fragments_are_well_formed),
		cmocka_unit_test(docs_name_every_row),
		cmocka_unit_test(microsoft_5_7_139),
		cmocka_unit_test(google_5_7_9),
		cmocka_unit_test(stage_code_and_enhanced_all_count),
		cmocka_unit_test(enhanced_code_given_or_read_from_text),
		cmocka_unit_test(case_is_ascii_only),
		cmocka_unit_test(fragments_on_later_lines),
		cmocka_unit_test(whole_words),
		cmocka_unit_test(generic_fallbacks),
		cmocka_unit_test(nothing_matches_unrelated_replies),
		cmocka_unit_test(bounded_and_defensive),
		cmocka_unit_test(stage_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
