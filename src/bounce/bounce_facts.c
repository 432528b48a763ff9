/*
 * What a bounce holds, as facts (see bounce.h): the report, each
 * recipient's delivery, the returned message's headers, and the address
 * the message was sent from when the bounce names it.  Every string from
 * the bounce is foreign text: sanitised, one line, capped.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounce/bounce.h"
#include "bounce/mime.h"
#include "util/util.h"

/* Received fields and DKIM signatures kept of a returned message. */
#define MAX_RECEIVED 32
#define MAX_DKIM 8

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v && *v)
		json_object_set_new(o, key, json_string(v));
}

/* Sets a member from foreign text: sanitised, at most `max` bytes. */
static void set_foreign(json_t *o, const char *key, const char *v, size_t max)
{
	if (!v || !*v)
		return;
	char *s = sd_sanitize(v, strlen(v), max);
	if (s)
		json_object_set_new(o, key, json_string(s));
	free(s);
}

static int is_ipchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

/* An address literal at s (IPv4 dotted quad or IPv6), copied to out
 * (INET6_ADDRSTRLEN); its length or 0. */
static size_t ip_at(const char *s, char *out)
{
	size_t n = 0;
	while (s[n] && is_ipchar(s[n]) && n < 45)
		n++;
	while (n > 0 && s[n - 1] == '.')
		n--;
	if (n < 7)
		return 0;
	char tmp[46];
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	unsigned char buf[16];
	if (inet_pton(AF_INET, tmp, buf) != 1 &&
	    !(strchr(tmp, ':') && inet_pton(AF_INET6, tmp, buf) == 1))
		return 0;
	memcpy(out, tmp, n + 1);
	return n;
}

/*
 * The sending address a remote server names in its reply: an address
 * literal in brackets, or after "from", "ip", "client", "address" or
 * "host" (Gmail's "with the ip: [...]", Microsoft's "messages from [...]",
 * Yahoo's "Messages from ...").  Not the remote host's own address.
 */
static int ip_in_text(const char *text, const char *skip, char *out)
{
	static const char *const words[] = { "from ", "ip: ", "ip ", "ip=",
	    "client ", "address ", "host ", NULL };
	char cand[46];
	/* out is written only with the answer: a candidate that does not
	 * qualify leaves it as it was */
	for (size_t i = 0; text[i]; i++) {
		if (i > 0 && is_ipchar(text[i - 1]))
			continue;
		if (!ip_at(text + i, cand))
			continue;
		if (skip && strcmp(cand, skip) == 0)
			continue;
		int named = i > 0 && text[i - 1] == '[';
		for (size_t w = 0; words[w] && !named; w++) {
			size_t wl = strlen(words[w]);
			named = i >= wl && sd_strncaseeq(text + i - wl, words[w], wl);
		}
		if (named) {
			memcpy(out, cand, strlen(cand) + 1);
			return 1;
		}
	}
	return 0;
}

/* "from HELO (name [IP]) by HOST ..." of a Received field. */
static void received_parts(const char *v, char *ip, size_t ip_max, char *by,
    size_t by_max, char *with, size_t with_max)
{
	ip[0] = by[0] = with[0] = '\0';
	const char *b = sd_strcasestr(v, " by ");
	const char *lb = strchr(v, '[');
	if (lb && (!b || lb < b)) {
		lb++;
		if (sd_strncaseeq(lb, "IPv6:", 5))
			lb += 5;
		char tmp[46];
		if (ip_at(lb, tmp) && strlen(tmp) < ip_max)
			strcpy(ip, tmp);
	}
	const char *w = sd_strcasestr(v, " with ");
	const char *parts[] = { b ? b + 4 : NULL, w ? w + 6 : NULL };
	char *outs[] = { by, with };
	size_t maxes[] = { by_max, with_max };
	for (size_t k = 0; k < 2; k++) {
		size_t o = 0;
		for (const char *p = parts[k]; p && *p && *p != ' ' &&
		    *p != ';' && o + 1 < maxes[k]; p++)
			outs[k][o++] = sd_tolower(*p);
		outs[k][o] = '\0';
	}
}

/* The address part of a From or Return-Path value. */
static void mailbox_of(const char *v, char *out, size_t max)
{
	const char *lt = strrchr(v, '<');
	const char *s = lt ? lt + 1 : v;
	while (*s == ' ')
		s++;
	size_t o = 0;
	for (; *s && *s != '>' && *s != ' ' && o + 1 < max; s++)
		out[o++] = *s;
	out[o] = '\0';
}

/* The returned message's headers: who sent it, its signatures, its
 * route.  Fills `sending_ip` from a Received field added by the host
 * that refused it (it accepted first, then bounced). */
static json_t *returned_fact(const sd_bounce *b, const char *remote,
    char *sending_ip, size_t ip_max)
{
	json_t *f = json_object();
	const char *h = b->returned;
	size_t hl = sd_mime_body_offset(h, b->returned_len);
	json_t *recv = json_array(), *dkim = json_array();
	char name[64], ip[46], by[256], with[32];
	char *value = malloc(SD_MIME_MAX_FIELD);
	sd_mime_fields c;
	sd_mime_fields_init(&c, h, hl);
	while (value && sd_mime_fields_next(&c, name, sizeof name, value,
	    SD_MIME_MAX_FIELD)) {
		if (sd_strcaseeq(name, "Received") &&
		    json_array_size(recv) < MAX_RECEIVED) {
			received_parts(value, ip, sizeof ip, by, sizeof by, with,
			    sizeof with);
			json_t *r = json_object();
			set_str(r, "from_ip", ip);
			set_foreign(r, "by", by, 255);
			set_foreign(r, "with", with, 31);
			json_array_append_new(recv, r);
			if (remote && *ip && !*sending_ip && sd_strcaseeq(by,
			    remote) && strlen(ip) < ip_max)
				strcpy(sending_ip, ip);
		} else if (sd_strcaseeq(name, "DKIM-Signature") &&
		    json_array_size(dkim) < MAX_DKIM) {
			char d[256] = "", s[128] = "";
			/* the tags are ';'-separated; sd_mime_param reads
			 * "; d=..." alike */
			char *semi = malloc(strlen(value) + 3);
			if (semi) {
				sprintf(semi, "; %s", value);
				sd_mime_param(semi, "d", d, sizeof d);
				sd_mime_param(semi, "s", s, sizeof s);
				free(semi);
			}
			json_t *k = json_object();
			set_foreign(k, "domain", d, 255);
			set_foreign(k, "selector", s, 127);
			json_array_append_new(dkim, k);
		}
	}
	free(value);
	static const char *const hdrs[] = { "From", "Return-Path", "To",
	    "Subject", "Message-ID", "Date" };
	static const char *const keys[] = { "from", "return_path", "to",
	    "subject", "message_id", "date" };
	for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
		char *v = sd_mime_header(h, hl, hdrs[i]);
		char *dec = v ? sd_mime_decode_words(v) : NULL;
		set_foreign(f, keys[i], dec ? dec : v, 998);
		if (v && i <= 1) {
			char box[320];
			mailbox_of(v, box, sizeof box);
			const char *at = strrchr(box, '@');
			if (at && at[1])
				set_foreign(f, i == 0 ? "from_domain" :
				    "envelope_domain", at + 1, 255);
		}
		free(dec);
		free(v);
	}
	json_object_set_new(f, "received", recv);
	json_object_set_new(f, "dkim", dkim);
	json_object_set_new(f, "headers_only",
	    json_boolean(b->returned_headers_only));
	json_object_set_new(f, "bytes", json_integer((json_int_t)b->returned_len));
	return f;
}

static json_t *rcpt_fact(const sd_bounce_rcpt *r, size_t i)
{
	json_t *f = json_object();
	char id[48];
	snprintf(id, sizeof id, "bounce.rcpt.%zu", i);
	json_object_set_new(f, "id", json_string(id));
	json_object_set_new(f, "stage", json_string("envelope"));
	set_foreign(f, "recipient", r->recipient, 320);
	set_foreign(f, "original_recipient", r->original, 320);
	set_foreign(f, "action", r->action ? r->action : "failed", 32);
	set_foreign(f, "status", r->status, 16);
	if (r->code)
		json_object_set_new(f, "code", json_integer(r->code));
	set_foreign(f, "remote_mta", r->remote_mta, 255);
	set_foreign(f, "remote_ip", r->remote_ip, 47);
	set_foreign(f, "diagnostic", r->diagnostic, SD_BOUNCE_MAX_DIAG);
	set_foreign(f, "diagnostic_type", r->diagnostic_type, 64);
	set_foreign(f, "smtp_stage", r->stage, 16);
	set_foreign(f, "last_attempt_date", r->last_attempt, 128);
	set_foreign(f, "will_retry_until", r->will_retry_until, 128);
	set_foreign(f, "final_log_id", r->final_log_id, 128);
	json_object_set_new(f, "source", json_string(r->from_dsn ? "dsn" :
	    "text"));
	const char *action = r->action ? r->action : "failed";
	char detail[512];
	snprintf(detail, sizeof detail, "%s: %s%s%s", action,
	    json_string_value(json_object_get(f, "recipient")) ?
	    json_string_value(json_object_get(f, "recipient")) : "(no address)",
	    r->remote_mta ? " at " : "",
	    r->remote_mta ? json_string_value(json_object_get(f,
	        "remote_mta")) : "");
	json_object_set_new(f, "detail", json_string(detail));
	json_object_set_new(f, "ok", json_boolean(strcmp(action, "failed") != 0 &&
	    strcmp(action, "delayed") != 0));
	return f;
}

static json_t *message_fact(const sd_bounce *b)
{
	json_t *f = json_object();
	json_object_set_new(f, "id", json_string("bounce.message"));
	json_object_set_new(f, "stage", json_string("content"));
	json_object_set_new(f, "kind", json_string(
	    b->kind == SD_BOUNCE_REPORT ? "report" :
	    b->kind == SD_BOUNCE_MESSAGE ? "message" : "not_message"));
	set_str(f, "format", b->format);
	set_str(f, "generator", b->generator);
	json_object_set_new(f, "has_headers", json_boolean(b->has_headers));
	set_foreign(f, "subject", b->subject, 998);
	set_foreign(f, "from", b->from, 998);
	set_foreign(f, "to", b->to, 998);
	set_foreign(f, "date", b->date, 128);
	set_foreign(f, "reporting_mta", b->reporting_mta, 255);
	set_foreign(f, "dsn_gateway", b->dsn_gateway, 255);
	set_foreign(f, "received_from_mta", b->received_from_mta, 255);
	set_foreign(f, "arrival_date", b->arrival_date, 128);
	set_foreign(f, "original_envelope_id", b->envelope_id, 128);
	json_object_set_new(f, "recipients",
	    json_integer((json_int_t)(b->n_rcpts + b->n_rcpts_dropped)));
	if (b->n_rcpts_dropped || b->n_rcpts > SD_BOUNCE_MAX_RCPT_FACTS)
		json_object_set_new(f, "recipients_listed", json_integer(
		    (json_int_t)(b->n_rcpts < SD_BOUNCE_MAX_RCPT_FACTS ?
		    b->n_rcpts : SD_BOUNCE_MAX_RCPT_FACTS)));
	json_t *cut = json_array();
	if (b->mime_flags & SD_MIME_TOO_DEEP)
		json_array_append_new(cut, json_string("nesting too deep"));
	if (b->mime_flags & SD_MIME_TOO_MANY_PARTS)
		json_array_append_new(cut, json_string("too many parts"));
	if (b->mime_flags & SD_MIME_UNTERMINATED)
		json_array_append_new(cut, json_string("a multipart that never ends"));
	if (b->mime_flags & SD_MIME_NO_BOUNDARY)
		json_array_append_new(cut, json_string("a multipart without a boundary"));
	json_object_set_new(f, "malformed", cut);
	char detail[400];
	const char *gen = b->generator ? b->generator : "software it does not say";
	if (b->kind == SD_BOUNCE_REPORT)
		snprintf(detail, sizeof detail, "%s written by %s, %zu recipient%s",
		    strcmp(b->format, "dsn") == 0 ?
		    "an RFC 3464 delivery status notification" :
		    "a plain-text delivery report", gen,
		    b->n_rcpts + b->n_rcpts_dropped,
		    b->n_rcpts + b->n_rcpts_dropped == 1 ? "" : "s");
	else
		snprintf(detail, sizeof detail, "%s", b->kind ==
		    SD_BOUNCE_MESSAGE ? "a message, but not a delivery report" :
		    "not a message");
	json_object_set_new(f, "detail", json_string(detail));
	return f;
}

void sd_bounce_facts(sd_report *r, const sd_bounce *b)
{
	sd_fact_add(r, message_fact(b));
	size_t n = b->n_rcpts < SD_BOUNCE_MAX_RCPT_FACTS ? b->n_rcpts :
	    SD_BOUNCE_MAX_RCPT_FACTS;
	for (size_t i = 0; i < n; i++)
		sd_fact_add(r, rcpt_fact(&b->rcpts[i], i));
	char ip[46] = "";
	const char *source = NULL;
	/* the first failed recipient's reply names the address it refused */
	for (size_t i = 0; i < b->n_rcpts && !*ip; i++)
		if (b->rcpts[i].diagnostic && ip_in_text(b->rcpts[i].diagnostic,
		    b->rcpts[i].remote_ip, ip))
			source = "diagnostic";
	if (b->returned) {
		const char *remote = b->n_rcpts ? b->rcpts[0].remote_mta : NULL;
		char rip[46] = "";
		json_t *f = returned_fact(b, remote, rip, sizeof rip);
		json_object_set_new(f, "id", json_string("bounce.returned"));
		json_object_set_new(f, "stage", json_string("content"));
		const char *from = json_string_value(json_object_get(f, "from"));
		char detail[400];
		snprintf(detail, sizeof detail, "the returned message%s%s%s",
		    from ? " from " : "", from ? from : "",
		    b->returned_headers_only ? " (headers only)" : "");
		json_object_set_new(f, "detail", json_string(detail));
		sd_fact_add(r, f);
		if (!*ip && *rip) {
			strcpy(ip, rip);
			source = "received";
		}
	}
	if (*ip) {
		json_t *f = json_object();
		json_object_set_new(f, "id", json_string("bounce.sending_ip"));
		json_object_set_new(f, "stage", json_string("content"));
		json_object_set_new(f, "ip", json_string(ip));
		json_object_set_new(f, "source", json_string(source));
		char detail[160];
		snprintf(detail, sizeof detail, "sent from %s (named by the %s)",
		    ip, strcmp(source, "diagnostic") == 0 ?
		    "remote server's reply" : "returned message's Received field");
		json_object_set_new(f, "detail", json_string(detail));
		sd_fact_add(r, f);
	}
}
