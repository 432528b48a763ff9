/*
 * DKIM verification: every vector of tests/data/dkim/vectors.txt (one
 * cmocka test each), then tampered copies of signed fixtures, and the DNS
 * path through a fake resolver.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "dns/dns.h"
#include "mailauth/dkim.h"
#include "util/util.h"

#define DATA "tests/data/dkim/"
#define MAX_KEYS 8
#define MAX_VECTORS 256

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (cap - n - 1 == 0) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				buf = NULL;
			}
			buf = nb;
		}
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		if (len)
			*len = n;
	}
	return buf;
}

static char *slurp_data(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, DATA "%s", name);
	char *s = slurp(path, len);
	if (!s)
		fail_msg("cannot read %s", path);
	return s;
}

/* A key record file holds one line; the newline is not part of it. */
static char *read_record(const char *name)
{
	char *s = slurp_data(name, NULL);
	s[strcspn(s, "\r\n")] = '\0';
	return s;
}

/* The quoted record for `name` in EXPECTED-DNS.txt. */
static char *expected_dns(const char *name)
{
	char *all = slurp_data("EXPECTED-DNS.txt", NULL);
	char *found = NULL;
	size_t nl = strlen(name);
	for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
		if (line[0] == '#' || strncmp(line, name, nl) != 0 ||
		    line[nl] != '.')
			continue;
		char *q1 = strchr(line, '"');
		char *q2 = q1 ? strrchr(line, '"') : NULL;
		if (q1 && q2 > q1) {
			*q2 = '\0';
			found = strdup(q1 + 1);
		}
	}
	free(all);
	if (!found)
		fail_msg("EXPECTED-DNS.txt has no quoted record for %s", name);
	return found;
}

typedef struct vector {
	int line;
	char text[512];
	char message[128];
	char expect[256];
	sd_dkim_keyrec keys[MAX_KEYS];
	char *names[MAX_KEYS];
	char *records[MAX_KEYS];
	size_t n_keys;
	int64_t now;
} vector;

static vector vectors[MAX_VECTORS];
static size_t n_vectors;

static void load_manifest(void)
{
	char *all = slurp(DATA "vectors.txt", NULL);
	if (!all) {
		fprintf(stderr, "cannot read " DATA "vectors.txt\n");
		exit(1);
	}
	int lineno = 0;
	char *save = NULL;
	for (char *line = strtok_r(all, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
			continue;
		if (n_vectors == MAX_VECTORS)
			break;
		vector *v = &vectors[n_vectors++];
		v->line = lineno;
		snprintf(v->text, sizeof v->text, "%s", line);
		char *ws = NULL, *tok = strtok_r(line, " \t", &ws);
		snprintf(v->message, sizeof v->message, "%s", tok);
		tok = strtok_r(NULL, " \t", &ws);
		snprintf(v->expect, sizeof v->expect, "%s", tok ? tok : "?");
		while ((tok = strtok_r(NULL, " \t", &ws)) != NULL) {
			if (strncmp(tok, "now=", 4) == 0) {
				v->now = strtoll(tok + 4, NULL, 10);
				continue;
			}
			char *eq = strchr(tok, '=');
			if (!eq || v->n_keys == MAX_KEYS)
				continue;
			*eq = '\0';
			v->names[v->n_keys] = strdup(tok);
			v->records[v->n_keys] = strdup(eq + 1);  /* source, resolved later */
			v->n_keys++;
		}
	}
	free(all);
}

static void run_vector(void **state)
{
	vector *v = *state;
	for (size_t i = 0; i < v->n_keys; i++) {
		const char *src = v->records[i];
		char *rec = NULL;
		if (strcmp(src, "SERVFAIL") == 0)
			rec = NULL;
		else if (strcmp(src, "EXPECTED-DNS") == 0)
			rec = expected_dns(v->names[i]);
		else
			rec = read_record(src);
		v->keys[i].name = v->names[i];
		v->keys[i].record = rec;
	}
	size_t len;
	char *msg = slurp_data(v->message, &len);
	sd_dkim_results r;
	assert_int_equal(sd_dkim_verify_message_keys(v->keys, v->n_keys, msg,
	    len, v->now, &r), SD_OK);
	assert_true(r.message_ok);

	char got[512] = "";
	size_t o = 0;
	for (size_t i = 0; i < r.n_sig; i++) {
		const sd_dkim_sig *s = &r.sig[i];
		if (s->result == SD_DKIM_PASS)
			o += (size_t)snprintf(got + o, sizeof got - o, "%spass",
			    i ? "," : "");
		else
			o += (size_t)snprintf(got + o, sizeof got - o, "%s%s/%s",
			    i ? "," : "", sd_dkim_result_name(s->result),
			    sd_dkim_why_name(s->why));
		/* Every result explains itself. */
		assert_true(strlen(s->reason) > 10);
		print_message("  sig %zu: %s\n", i, s->reason);
	}
	if (r.n_sig == 0)
		snprintf(got, sizeof got, "none");
	if (strcmp(got, v->expect) != 0)
		fail_msg("vectors.txt:%d %s: expected %s, got %s", v->line,
		    v->message, v->expect, got);
	sd_dkim_results_clear(&r);
	free(msg);
	for (size_t i = 0; i < v->n_keys; i++) {
		free((char *)v->keys[i].record);
		v->keys[i].record = NULL;
	}
}

/* ---- tampering with signed fixtures ---- */

static sd_dkim_keyrec test_key[1];

static void verify_text(const char *msg, sd_dkim_results *r)
{
	assert_int_equal(sd_dkim_verify_message_keys(test_key, 1, msg,
	    strlen(msg), 0, r), SD_OK);
	assert_true(r->message_ok);
}

/* Replaces the first `from` in s (malloc'd) with `to`. */
static char *replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	assert_non_null(at);
	size_t n = strlen(s) - strlen(from) + strlen(to);
	char *out = malloc(n + 1);
	size_t pre = (size_t)(at - s);
	memcpy(out, s, pre);
	strcpy(out + pre, to);
	strcat(out, at + strlen(from));
	return out;
}

static void test_changed_body(void **state)
{
	(void)state;
	const char *files[] = { "generated/rsa-ss.eml", "generated/rsa-rr.eml",
		"generated/rsa-lf-sr.eml" };
	for (size_t i = 0; i < 3; i++) {
		char *msg = slurp_data(files[i], NULL);
		char *bad = replace(msg, "This is a test message.",
		    "This is a tost message.");
		sd_dkim_results r;
		verify_text(bad, &r);
		assert_int_equal(r.n_sig, 1);
		assert_int_equal(r.sig[0].result, SD_DKIM_FAIL);
		assert_int_equal(r.sig[0].why, SD_DKIM_WHY_BODY_HASH);
		/* The header signature still holds: only the body changed. */
		assert_int_equal(r.sig[0].body_hash_ok, 0);
		assert_int_equal(r.sig[0].signature_ok, 1);
		assert_non_null(strstr(r.sig[0].reason, "body was changed"));
		assert_non_null(strstr(r.sig[0].reason, "header fields are intact"));
		sd_dkim_results_clear(&r);
		free(bad);
		free(msg);
	}
}

static void test_changed_header(void **state)
{
	(void)state;
	char *msg = slurp_data("generated/rsa-rr.eml", NULL);
	char *bad = replace(msg, "Subject: Testing", "Subject: Tasting");
	sd_dkim_results r;
	verify_text(bad, &r);
	assert_int_equal(r.sig[0].result, SD_DKIM_FAIL);
	assert_int_equal(r.sig[0].why, SD_DKIM_WHY_SIGNATURE);
	assert_int_equal(r.sig[0].body_hash_ok, 1);
	assert_int_equal(r.sig[0].signature_ok, 0);
	assert_non_null(strstr(r.sig[0].reason, "header field was changed"));
	sd_dkim_results_clear(&r);
	free(bad);

	/* Both changed: the body hash is named first, the header noted. */
	char *bad2 = replace(msg, "Subject: Testing", "Subject: Tasting");
	char *bad3 = replace(bad2, "test message.", "tost message.");
	verify_text(bad3, &r);
	assert_int_equal(r.sig[0].why, SD_DKIM_WHY_BODY_HASH);
	assert_int_equal(r.sig[0].signature_ok, 0);
	assert_non_null(strstr(r.sig[0].reason, "header signature fails too"));
	sd_dkim_results_clear(&r);
	free(bad2);
	free(bad3);
	free(msg);
}

static void test_relaxed_survives_whitespace(void **state)
{
	(void)state;
	char *msg = slurp_data("generated/rsa-rr.eml", NULL);
	/* relaxed/relaxed: refolding a header and re-spacing the body pass */
	char *a = replace(msg, "Subject: Testing", "Subject:   Testing  ");
	char *b = replace(a, "This is a test message.",
	    "This  is a\ttest message.   ");
	sd_dkim_results r;
	verify_text(b, &r);
	assert_int_equal(r.sig[0].result, SD_DKIM_PASS);
	sd_dkim_results_clear(&r);
	free(a);
	free(b);
	free(msg);

	/* simple/simple: the same change breaks the header signature */
	msg = slurp_data("generated/rsa-ss.eml", NULL);
	a = replace(msg, "Subject: Testing", "Subject:  Testing");
	verify_text(a, &r);
	assert_int_equal(r.sig[0].why, SD_DKIM_WHY_SIGNATURE);
	sd_dkim_results_clear(&r);
	free(a);
	free(msg);
}

static void test_added_fields(void **state)
{
	(void)state;
	char *msg = slurp_data("generated/rsa-ss.eml", NULL);
	sd_dkim_results r;

	/* An unsigned field added: still passes. */
	char *a = replace(msg, "Subject: Testing", "Subject: Testing\nX-Foo: bar");
	verify_text(a, &r);
	assert_int_equal(r.sig[0].result, SD_DKIM_PASS);
	sd_dkim_results_clear(&r);
	free(a);

	/* A From added above the signed one: h= picks the bottom one, the
	 * crypto holds, yet the reader sees two senders. */
	a = replace(msg, "Authentication-Results:",
	    "From: \"Resident Evil\" <sales@spammer.com>\nAuthentication-Results:");
	verify_text(a, &r);
	assert_int_equal(r.sig[0].result, SD_DKIM_FAIL);
	/* h=from:...:from over-signs, so the new From is in the hash */
	assert_int_equal(r.sig[0].why, SD_DKIM_WHY_SIGNATURE);
	sd_dkim_results_clear(&r);
	free(a);
	free(msg);

	/* Without over-signing (nofrom fixture aside, oversigned lists From
	 * twice), Reply-To listed but absent: adding one breaks the hash. */
	msg = slurp_data("generated/oversigned.eml", NULL);
	a = replace(msg, "Subject: Testing", "Subject: Testing\nReply-To: x@evil.example");
	verify_text(a, &r);
	assert_int_equal(r.sig[0].result, SD_DKIM_FAIL);
	assert_int_equal(r.sig[0].why, SD_DKIM_WHY_SIGNATURE);
	sd_dkim_results_clear(&r);
	free(a);
	free(msg);
}

static void test_from_added_reason(void **state)
{
	(void)state;
	/* mbox-all signs From once (no over-signing): a From added above it
	 * leaves the hash intact, since h= picks fields from the bottom, but
	 * the reader would see the added one.  RFC 6376 §8.15. */
	char *msg = slurp_data("generated/mbox-all-rr.eml", NULL);
	char *a = replace(msg, "DKIM-Signature:",
	    "From: a@evil.example\nDKIM-Signature:");
	sd_dkim_results r;
	verify_text(a, &r);
	assert_int_equal(r.sig[0].result, SD_DKIM_FAIL);
	assert_int_equal(r.sig[0].why, SD_DKIM_WHY_FROM_ADDED);
	assert_int_equal(r.sig[0].signature_ok, 1);
	assert_non_null(strstr(r.sig[0].reason, "From field was added"));
	sd_dkim_results_clear(&r);
	free(a);
	free(msg);
}

static void test_length_tag(void **state)
{
	(void)state;
	char *msg = slurp_data("generated/length.eml", NULL);
	sd_dkim_results r;
	verify_text(msg, &r);
	assert_int_equal(r.sig[0].result, SD_DKIM_PASS);
	assert_true(r.sig[0].has_length);
	assert_true(r.sig[0].body_truncated);
	assert_non_null(strstr(r.sig[0].reason, "unsigned"));
	sd_dkim_results_clear(&r);

	/* Cut the body below l=: the length no longer adds up. */
	char *a = replace(msg, "This is a test message.\nadded more text\n",
	    "This is\n");
	verify_text(a, &r);
	assert_int_equal(r.sig[0].result, SD_DKIM_FAIL);
	assert_int_equal(r.sig[0].why, SD_DKIM_WHY_BODY_LENGTH);
	sd_dkim_results_clear(&r);
	free(a);
	free(msg);
}

static void test_sha1_reason(void **state)
{
	(void)state;
	char *msg = slurp_data("generated/sha1.eml", NULL);
	sd_dkim_results r;
	verify_text(msg, &r);
	assert_int_equal(r.sig[0].alg, SD_DKIM_ALG_RSA_SHA1);
	assert_int_equal(r.sig[0].signature_ok, 1);
	assert_int_equal(r.sig[0].body_hash_ok, 1);
	assert_non_null(strstr(r.sig[0].reason, "RFC 8301"));
	sd_dkim_results_clear(&r);
	free(msg);
}

static void test_expired_reason(void **state)
{
	(void)state;
	char *msg = slurp_data("generated/expiry.eml", NULL);
	sd_dkim_results r;
	assert_int_equal(sd_dkim_verify_message_keys(test_key, 1, msg,
	    strlen(msg), 1700003601, &r), SD_OK);
	assert_int_equal(r.sig[0].expiration, 1700003600);
	assert_int_equal(r.sig[0].timestamp, 1700000000);
	assert_non_null(strstr(r.sig[0].reason, "2023-11-14T23:13:20Z"));
	sd_dkim_results_clear(&r);
	free(msg);
}

static void test_pass_details(void **state)
{
	(void)state;
	char *msg = slurp_data("generated/rsa-sr.eml", NULL);
	sd_dkim_results r;
	verify_text(msg, &r);
	const sd_dkim_sig *s = &r.sig[0];
	assert_int_equal(s->result, SD_DKIM_PASS);
	assert_string_equal(s->domain, "example.com");
	assert_string_equal(s->selector, "test");
	assert_string_equal(s->identity, "@example.com");
	assert_string_equal(s->algorithm, "rsa-sha256");
	assert_int_equal(s->header_canon, SD_DKIM_CANON_SIMPLE);
	assert_int_equal(s->body_canon, SD_DKIM_CANON_RELAXED);
	assert_string_equal(s->headers, "message-id:date:from:to:subject:from");
	assert_int_equal(s->key.key.bits, 1024);
	assert_true(s->key.key.weak);
	/* the weak key is said in words */
	assert_non_null(strstr(s->reason, "1024 bits"));
	assert_string_equal(s->key.name, "test._domainkey.example.com");
	const char *doms[4];
	assert_int_equal(sd_dkim_pass_domains(&r, doms, 4), 1);
	assert_string_equal(doms[0], "example.com");
	sd_dkim_results_clear(&r);
	free(msg);
}

static void test_refolded_b(void **state)
{
	(void)state;
	/* dkimpy test_dkim_signature_canonicalization: FWS added inside b=
	 * (a tab fold) must not matter, even with simple canonicalization. */
	char *msg = slurp_data("generated/rsa-ss.eml", NULL);
	char *b = strstr(msg, " b=");
	assert_non_null(b);
	char *a = replace(msg, " b=", " b=\r\n\t ");
	/* fold once more inside the value, after 10 characters */
	char *at = strstr(a, "b=\r\n\t ") + 16;
	size_t n = strlen(a);
	char *c = malloc(n + 4);
	size_t pre = (size_t)(at - a);
	memcpy(c, a, pre);
	memcpy(c + pre, "\r\n\t", 3);
	strcpy(c + pre + 3, at);
	sd_dkim_results r;
	verify_text(c, &r);
	assert_int_equal(r.sig[0].result, SD_DKIM_PASS);
	sd_dkim_results_clear(&r);
	free(a);
	free(c);
	free(msg);
}

static void test_bad_messages(void **state)
{
	(void)state;
	sd_dkim_results r;
	/* too large: refused whole, with the limit in the reason */
	size_t big = SD_DKIM_MESSAGE_MAX + 1;
	char *huge = malloc(big);
	assert_non_null(huge);
	assert_int_equal(sd_dkim_verify_message_keys(NULL, 0, huge, big, 0, &r),
	    SD_OK);
	assert_false(r.message_ok);
	assert_non_null(strstr(r.reason, "more than"));
	sd_dkim_results_clear(&r);
	free(huge);

	/* no header/body separator, garbage lines, empty message */
	const char *odd[] = { "", "\n", "garbage without colon\n",
		"DKIM-Signature: v=1\n", "DKIM-Signature:\n", "From: a\n\n",
		"DKIM-Signature: v=1; a=rsa-sha256; d=; s=x; h=from; bh=; b=\n" };
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		assert_int_equal(sd_dkim_verify_message_keys(NULL, 0, odd[i],
		    strlen(odd[i]), 0, &r), SD_OK);
		assert_true(r.message_ok);
		for (size_t j = 0; j < r.n_sig; j++)
			assert_int_equal(r.sig[j].result, SD_DKIM_PERMERROR);
		sd_dkim_results_clear(&r);
	}
	assert_int_equal(sd_dkim_verify_message_keys(NULL, 0, NULL, 0, 0, &r),
	    SD_ERR_USAGE);
}

static void test_sig_parse(void **state)
{
	(void)state;
	struct { const char *v; sd_dkim_why why; } cases[] = {
		{ "v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAAA; b=AAAA",
		  SD_DKIM_WHY_SYNTAX },  /* bh= too short for sha256 */
		{ "v=2; a=rsa-sha256; d=example.com; s=s; h=from; bh=x; b=x",
		  SD_DKIM_WHY_VERSION },
		{ "v=1; a=rsa-md5; d=example.com; s=s; h=from; bh=x; b=x",
		  SD_DKIM_WHY_ALGORITHM },
		{ "v=1; a=rsa-sha256; d=exa mple.com; s=s; h=from; bh=x; b=x",
		  SD_DKIM_WHY_BAD_DOMAIN },
		{ "v=1; a=rsa-sha256; d=example.com; s=s; h=to:subject; bh=x; b=x",
		  SD_DKIM_WHY_FROM_UNSIGNED },
		{ "v=1; a=rsa-sha256; d=example.com; s=s; h=from; i=@evil.com; "
		  "bh=x; b=x", SD_DKIM_WHY_IDENTITY },
		{ "v=1; a=rsa-sha256; d=example.com; s=s; h=from; i=@bexample.com; "
		  "bh=x; b=x", SD_DKIM_WHY_IDENTITY },
		{ "v=1; a=rsa-sha256; d=example.com; s=s; h=from; c=fancy; "
		  "bh=x; b=x", SD_DKIM_WHY_SYNTAX },
		{ "v=1; a=rsa-sha256; d=example.com; s=s; h=from; t=20; x=10; "
		  "bh=x; b=x", SD_DKIM_WHY_SYNTAX },
		{ "v=1; v=1; a=rsa-sha256", SD_DKIM_WHY_SYNTAX },
		{ "v=1; a=rsa-sha256; d=example.com; s=s; h=from; q=http; "
		  "bh=x; b=x", SD_DKIM_WHY_SYNTAX },
		{ "v=1; a=rsa-sha256; d=example.com; s=s; h=from:; "
		  "bh=x; b=x", SD_DKIM_WHY_SYNTAX },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sd_dkim_sig s;
		int rc = sd_dkim_sig_parse(cases[i].v, strlen(cases[i].v), &s);
		if (rc != -1 || s.why != cases[i].why)
			fail_msg("case %zu (%s): rc %d why %s (%s)", i, cases[i].v,
			    rc, sd_dkim_why_name(s.why), s.reason);
		assert_int_equal(s.result, SD_DKIM_PERMERROR);
		sd_dkim_sig_clear(&s);
	}
	/* A well-formed one, i= in a subdomain, folded h=. */
	const char *ok = "v=1; a=ed25519-sha256; c=relaxed; d=Example.COM;\r\n"
	    "\ts=sel_1; i=joe@mail.example.com; h=From :\r\n to; l=12; t=5; x=6;\r\n"
	    " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA";
	sd_dkim_sig s;
	assert_int_equal(sd_dkim_sig_parse(ok, strlen(ok), &s), 0);
	assert_string_equal(s.domain, "example.com");
	assert_string_equal(s.headers, "from:to");
	assert_int_equal(s.header_canon, SD_DKIM_CANON_RELAXED);
	assert_int_equal(s.body_canon, SD_DKIM_CANON_SIMPLE);
	assert_int_equal(s.length, 12);
	assert_int_equal(s.expiration, 6);
	sd_dkim_sig_clear(&s);
}

/* ---- the DNS path, with a fake resolver ---- */

typedef struct fake_rr {
	const char *name;
	sd_dns_status status;
	const char *txt[3];
} fake_rr;

typedef struct fake {
	const fake_rr *zone;
	size_t n;
	char last[256];
	int64_t last_deadline;
} fake;

static sd_dns_status fake_query(void *impl, const char *name, uint16_t type,
    int64_t deadline_ms, sd_dns_answer *out)
{
	fake *f = impl;
	snprintf(f->last, sizeof f->last, "%s", name);
	f->last_deadline = deadline_ms;
	assert_int_equal(type, SD_DNS_TXT);
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->zone[i].name, name) != 0)
			continue;
		out->status = f->zone[i].status;
		size_t n = 0;
		while (n < 3 && f->zone[i].txt[n])
			n++;
		if (n) {
			out->rr = calloc(n, sizeof *out->rr);
			for (size_t k = 0; k < n; k++) {
				out->rr[k].type = SD_DNS_TXT;
				out->rr[k].text = strdup(f->zone[i].txt[k]);
				out->rr[k].text_len = strlen(f->zone[i].txt[k]);
				out->rr[k].rdata = calloc(1, 1);
			}
			out->n_rr = n;
		}
		return out->status;
	}
	out->status = SD_DNS_NXDOMAIN;
	return out->status;
}

static const sd_resolver_ops fake_ops = { fake_query, NULL };

static void test_fetch(void **state)
{
	(void)state;
	char *rec = read_record("test.txt");
	const fake_rr zone[] = {
		{ "test._domainkey.example.com", SD_DNS_OK, { rec } },
		{ "two._domainkey.example.com", SD_DNS_OK, { rec, "v=DKIM1; p=" } },
		{ "sf._domainkey.example.com", SD_DNS_SERVFAIL, { NULL } },
		{ "to._domainkey.example.com", SD_DNS_TIMEOUT, { NULL } },
		{ "nd._domainkey.example.com", SD_DNS_NODATA, { NULL } },
		{ "rev._domainkey.example.com", SD_DNS_OK, { "v=DKIM1; k=rsa; p=" } },
	};
	fake f = { zone, sizeof zone / sizeof zone[0], "", 0 };
	sd_resolver *res = sd_resolver_new_custom(&fake_ops, &f);
	int64_t deadline = sd_now_ms() + 5000;
	sd_dkim_key_lookup l;

	assert_int_equal(sd_dkim_key_fetch(res, "test", "Example.COM.", deadline,
	    &l), SD_OK);
	assert_string_equal(f.last, "test._domainkey.example.com");
	assert_int_equal(f.last_deadline, deadline);
	assert_int_equal(l.result, SD_DKIM_LOOKUP_FOUND);
	assert_int_equal(l.key.status, SD_DKIM_KEY_OK);
	assert_int_equal(l.key.bits, 1024);
	assert_string_equal(l.record, rec);
	sd_dkim_key_lookup_clear(&l);

	struct { const char *sel; sd_dkim_lookup want; const char *words; } c[] = {
		{ "two", SD_DKIM_LOOKUP_MULTIPLE, "2 TXT records" },
		{ "sf", SD_DKIM_LOOKUP_FAILED, "servfail" },
		{ "to", SD_DKIM_LOOKUP_FAILED, "timeout" },
		{ "nd", SD_DKIM_LOOKUP_NONE, "no TXT record" },
		{ "absent", SD_DKIM_LOOKUP_NONE, "does not exist" },
		{ "bad(sel", SD_DKIM_LOOKUP_BAD_NAME, "not a valid DNS name" },
	};
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		assert_int_equal(sd_dkim_key_fetch(res, c[i].sel, "example.com",
		    deadline, &l), SD_OK);
		if (l.result != c[i].want || !strstr(l.reason, c[i].words))
			fail_msg("%s: %s (%s)", c[i].sel,
			    sd_dkim_lookup_name(l.result), l.reason);
		sd_dkim_key_lookup_clear(&l);
	}
	assert_int_equal(sd_dkim_key_fetch(res, "rev", "example.com", deadline,
	    &l), SD_OK);
	assert_int_equal(l.result, SD_DKIM_LOOKUP_FOUND);
	assert_int_equal(l.key.status, SD_DKIM_KEY_REVOKED);
	sd_dkim_key_lookup_clear(&l);

	/* Whole-message verification through the resolver. */
	char *msg = slurp_data("generated/rsa-rr.eml", NULL);
	sd_dkim_results r;
	assert_int_equal(sd_dkim_verify_message(res, deadline, msg, strlen(msg),
	    0, &r), SD_OK);
	assert_int_equal(r.n_sig, 1);
	assert_int_equal(r.sig[0].result, SD_DKIM_PASS);
	assert_string_equal(f.last, "test._domainkey.example.com");
	sd_dkim_results_clear(&r);
	free(msg);

	sd_resolver_free(res);
	free(rec);
}

int main(void)
{
	/* tests run from the repository root */
	test_key[0].name = "test._domainkey.example.com";
	test_key[0].record = read_record("test.txt");
	load_manifest();

	struct CMUnitTest *vt = calloc(n_vectors, sizeof *vt);
	char (*names)[512] = calloc(n_vectors, sizeof *names);
	for (size_t i = 0; i < n_vectors; i++) {
		snprintf(names[i], sizeof names[i], "vector %d: %.128s %.255s",
		    vectors[i].line, vectors[i].message, vectors[i].expect);
		vt[i].name = names[i];
		vt[i].test_func = run_vector;
		vt[i].initial_state = &vectors[i];
	}
	int failed = _cmocka_run_group_tests("dkim_vectors", vt, n_vectors,
	    NULL, NULL);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_changed_body),
		cmocka_unit_test(test_changed_header),
		cmocka_unit_test(test_relaxed_survives_whitespace),
		cmocka_unit_test(test_added_fields),
		cmocka_unit_test(test_from_added_reason),
		cmocka_unit_test(test_length_tag),
		cmocka_unit_test(test_sha1_reason),
		cmocka_unit_test(test_expired_reason),
		cmocka_unit_test(test_pass_details),
		cmocka_unit_test(test_refolded_b),
		cmocka_unit_test(test_bad_messages),
		cmocka_unit_test(test_sig_parse),
		cmocka_unit_test(test_fetch),
	};
	failed += cmocka_run_group_tests_name("dkim", tests, NULL, NULL);

	for (size_t i = 0; i < n_vectors; i++)
		for (size_t k = 0; k < vectors[i].n_keys; k++) {
			free(vectors[i].names[k]);
			free(vectors[i].records[k]);
		}
	free(vt);
	free(names);
	free((char *)test_key[0].record);
	return failed;
}
