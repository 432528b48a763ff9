/*
 * One probe's SMTP session; see session.h.
 *
 * The session walks stages through one door, set_stage(), which traces
 * "old -> new" in the transcript.  Every wait is bounded by the stage's
 * deadline (one reply) and the run's deadline, whichever comes first.
 */
#include "probe/session.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "net/conn.h"
#include "probe/jobs.h"
#include "smtp/sasl.h"
#include "tls/tlsinfo.h"
#include "util/redact.h"
#include "util/util.h"

typedef enum stage {
	ST_CONNECT, ST_TLS_IMPLICIT, ST_GREETING, ST_EHLO, ST_STARTTLS,
	ST_EHLO_TLS, ST_AUTH, ST_MAIL, ST_RCPT, ST_DATA, ST_RSET, ST_QUIT,
	ST_DONE,
} stage;

static const char *const stage_names[] = {
	"connect", "tls", "greeting", "ehlo", "starttls", "ehlo-after-tls",
	"auth", "mail", "rcpt", "data", "rset", "quit", "done",
};

typedef struct session {
	sd_probe *p;
	sd_run *run;
	sd_conn *c;
	stage st;
	char key[96];       /* "PORT.ADDR" suffix of fact ids */
	sd_caps caps;
	int have_caps;
	int broken;          /* a half-sent exchange: close, no QUIT */
	int quit_sent;       /* QUIT went with the last pipelined group */
	int64_t tls_dl;      /* the deadline the last TLS handshake had */
	char line[SD_LINE_MAX + 1];
	char shown[SD_LINE_MAX + 1];  /* the line with the secrets masked */
} session;

/* The line just read with the run's secrets masked in its text (after the
 * reply code, which the parser needs), whole, before any cap or join: a
 * server may echo what any connection of the run sent. */
static size_t mask_line(session *s, size_t len)
{
	size_t keep = len < 4 ? len : 4;
	memcpy(s->shown, s->line, keep);
	size_t n = sd_redact(s->run->secrets, s->line + keep, len - keep,
	    s->shown + keep, sizeof s->shown - keep);
	if (n > sizeof s->shown - keep - 1) {
		/* masks made it longer than a line: cut, and end on a whole
		 * mask rather than half of one (what is cut is never a secret:
		 * the input was masked whole) */
		static const char mask[] = SD_REDACT_MASK;
		n = sizeof s->shown - keep - 1;
		memcpy(s->shown + keep + n - (sizeof mask - 1), mask,
		    sizeof mask - 1);
	}
	return keep + n;
}

const char *sd_role_name(sd_role r)
{
	switch (r) {
	case SD_ROLE_MAIN: return "main";
	case SD_ROLE_ALT: return "alternative";
	case SD_ROLE_CONTROL: return "control";
	case SD_ROLE_NONSMTP: return "control_nonsmtp";
	case SD_ROLE_FIX: return "fix";
	}
	return "?";
}

static void note(session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(session *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	sd_transcript_add(s->run->report, s->p->conn_id, 'I', buf, strlen(buf));
}

/* The one door between stages. */
/* "192.0.2.10:587", "[2001:db8::5]:587": what a progress line waits on */
static void probe_target(const sd_probe *p, char *buf, size_t len)
{
	snprintf(buf, len, p->family == 6 ? "[%s]:%d" : "%s:%d", p->addr,
	    p->port);
}

/* Tells the run's progress hook what this probe now waits for (NULL:
 * nothing more), and how long it may take. */
static void waiting(session *s, const char *what, int64_t deadline)
{
	char target[80];
	probe_target(s->p, target, sizeof target);
	sd_report_waiting(s->run->report, target, what, s->p->role ==
	    SD_ROLE_MAIN || s->p->role == SD_ROLE_FIX,
	    (double)sd_remaining_ms(deadline) / 1000.0);
}

static int64_t stage_deadline(session *s);

static void set_stage(session *s, stage next)
{
	if (s->st != next && s->run->opt->verbose > 0)
		note(s, "%s -> %s", stage_names[s->st], stage_names[next]);
	s->st = next;
	waiting(s, next == ST_DONE ? NULL : stage_names[next],
	    stage_deadline(s));
}

/* A fact with the common members of this probe. */
static json_t *fact_new(session *s, const char *kind, const char *stage_name)
{
	char id[192];
	sd_probe *p = s->p;
	if (p->role == SD_ROLE_FIX)
		snprintf(id, sizeof id, "fix.%s.%s", kind, s->key);
	else
		snprintf(id, sizeof id, "%s.%s", kind, s->key);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "id", id,
	    "kind", kind, "stage", stage_name, "role", sd_role_name(p->role), "host", p->host,
	    "addr", p->addr, "family", p->family, "port", p->port);
}

static const char *fact_add(session *s, json_t *f)
{
	if (s->c || json_object_get(f, "conn") == NULL)
		json_object_set_new(f, "conn", json_string(s->p->conn_id));
	return sd_fact_add(s->run->report, NULL, f);
}

static int64_t stage_deadline(session *s)
{
	return sd_deadline_min(s->run->deadline_ms,
	    sd_now_ms() + s->run->reply_ms);
}

/* Why a wait ended early, for facts: the stage's own deadline, or the
 * run's --timeout that came first. */
static const char *timeout_kind(session *s, int64_t deadline)
{
	return deadline >= s->run->deadline_ms ? "run" : "stage";
}

/* Room for a detail that quotes up to 300 bytes of a reply, each byte
 * escaped to at most 4 characters (\xNN): never cut, so never half a
 * character. */
#define DETAIL_MAX 2048

/* Longest command line we send: RFC 4954 §4 lets an AUTH line carry up to
 * 12288 octets (OAuth2 tokens are long). */
#define SEND_LINE_MAX 12288

/* Sends one command line; SD_IO_OK, or how the connection ended (a peer
 * that hung up is "closed" or "reset", which the facts keep). */
static sd_io send_line(session *s, const char *line, const char *shown)
{
	size_t len = strlen(line);
	if (len > SEND_LINE_MAX)
		return SD_IO_ERROR;
	char *buf = malloc(len + 3);
	if (!buf)
		return SD_IO_ERROR;
	memcpy(buf, line, len);
	memcpy(buf + len, "\r\n", 3);
	sd_transcript_add(s->run->report, s->p->conn_id, 'C',
	    shown ? shown : line, strlen(shown ? shown : line));
	sd_io r = sd_conn_write(s->c, buf, len + 2, stage_deadline(s));
	/* the line may carry the secret */
	sd_wipe(buf, len + 2);
	free(buf);
	return r;
}

/* Reads one reply.  Returns SD_IO_OK with *rep filled, or why not;
 * *bad gets the syntax problem when the lines are not SMTP. */
static sd_io read_reply(session *s, sd_reply *rep, int64_t deadline,
    sd_reply_rc *bad, int redact)
{
	sd_reply_init(rep);
	*bad = SD_REPLY_MORE;
	for (;;) {
		size_t len = 0;
		sd_io r = sd_conn_read_line(s->c, s->line, sizeof s->line, &len,
		    deadline);
		if (r != SD_IO_OK)
			return r;
		len = mask_line(s, len);
		if (redact && len >= 4 && strncmp(s->shown, "334", 3) == 0)
			sd_transcript_add(s->run->report, s->p->conn_id, 'S',
			    "334 " SD_REDACT_MASK, 14);
		else
			sd_transcript_add(s->run->report, s->p->conn_id, 'S',
			    s->shown, len);
		sd_reply_rc rc = sd_reply_feed(rep, s->shown, len);
		if (rc == SD_REPLY_DONE)
			return SD_IO_OK;
		if (rc != SD_REPLY_MORE) {
			*bad = rc;
			return SD_IO_ERROR;
		}
	}
}

static void set_reply(json_t *f, const sd_reply *rep)
{
	json_object_set_new(f, "code", json_integer(rep->code));
	json_object_set_new(f, "enhanced", json_string(rep->enhanced));
	/* servers send Latin-1 and escape sequences: keep valid UTF-8 and
	 * line breaks, replace the rest */
	char *clean = sd_sanitize_text(rep->text, rep->text_len);
	json_object_set_new(f, "text", json_string(clean ? clean : ""));
	free(clean);
}

/* What a non-SMTP greeting line looks like. */
static const char *not_smtp_kind(const char *line)
{
	if (strncmp(line, "+OK", 3) == 0 || strncmp(line, "-ERR", 4) == 0)
		return "pop3";
	if (strncmp(line, "* OK", 4) == 0 || strncmp(line, "* PREAUTH", 9) == 0 ||
	    strncmp(line, "* BYE", 5) == 0)
		return "imap";
	if (strncmp(line, "HTTP/", 5) == 0 || sd_strcasestr(line, "<html"))
		return "http";
	if (strncmp(line, "SSH-", 4) == 0)
		return "ssh";
	return "unknown";
}

/* Records the TLS session of this probe.  Returns 1 when usable. */
static int tls_fact(session *s, const char *mode, sd_io r, json_t *extra)
{
	sd_probe *p = s->p;
	json_t *f = fact_new(s, "tls", "tls");
	json_object_set_new(f, "mode", json_string(mode));
	if (extra)
		json_object_update(f, extra);
	if (r == SD_IO_OK) {
		int good = sd_tls_describe(sd_conn_ssl(s->c), p->host, f);
		p->tls_ok = 1;
		p->cert_ok = good;
		json_object_set_new(f, "result", json_string("ok"));
		json_object_set_new(f, "ok", json_boolean(good));
		const char *ver = json_string_value(json_object_get(f, "version"));
		json_t *vr = json_object_get(f, "verify");
		char d[512];
		snprintf(d, sizeof d, "%s %s port %d: %s, certificate %s%s",
		    mode, p->addr, p->port, ver ? ver : "TLS",
		    good ? "valid" : json_string_value(json_object_get(vr,
		        "reason")),
		    json_is_false(json_object_get(f, "name_match")) ?
		        ", name does not match" : "");
		json_object_set_new(f, "detail", json_string(d));
		note(s, "TLS handshake done: %s", ver ? ver : "");
	} else {
		size_t n;
		const unsigned char *first = sd_conn_first_bytes(s->c, &n);
		int plain = n >= 3 && memcmp(first, "220", 3) == 0;
		/* after a silent wait, an SMTP reply is a greeting that came
		 * late (a greeting delay), not a plaintext port answering */
		int late = json_is_true(json_object_get(f, "after_silence")) &&
		    n >= 3 && first[0] >= '2' && first[0] <= '5' &&
		    first[1] >= '0' && first[1] <= '9' && first[2] >= '0' &&
		    first[2] <= '9';
		if (late)
			plain = 0;
		const char *why = sd_conn_tls_error(s->c);
		json_object_set_new(f, "result", json_string(late ?
		    "late_greeting" : plain ? "plaintext_answer" :
		    r == SD_IO_TIMEOUT ? "timeout" :
		    r == SD_IO_CANCELLED ? "cancelled" : "handshake_failed"));
		json_object_set_new(f, "error", json_string(why));
		const char *failure = sd_tls_failure_name(
		    sd_conn_tls_failure(s->c));
		if (failure)
			json_object_set_new(f, "failure", json_string(failure));
		if (n) {
			char *clean = sd_sanitize((const char *)first, n, n);
			json_object_set_new(f, "peer_sent", json_string(clean ?
			    clean : ""));
			free(clean);
		}
		if (r == SD_IO_TIMEOUT)
			json_object_set_new(f, "timeout", json_string(
			    timeout_kind(s, s->tls_dl)));
		json_object_set_new(f, "handshake_bytes", json_integer(
		    (json_int_t)sd_conn_tls_received(s->c)));
		json_object_set_new(f, "ok", json_false());
		char d[512];
		snprintf(d, sizeof d, "%s %s port %d: %s", mode, p->addr, p->port,
		    late ? "the server's greeting came late, after our TLS hello" :
		    plain ? "the server answered in plaintext SMTP (\"220 ...\") "
		    "where a TLS handshake was expected" : why);
		json_object_set_new(f, "detail", json_string(d));
		note(s, "TLS handshake failed: %s", why);
		p->plaintext_answer = plain;
	}
	fact_add(s, f);
	return r == SD_IO_OK;
}

/* The greeting; returns 1 to go on with EHLO.  Nothing at all before
 * first_deadline sets *silent (an implicit-TLS port waits for our hello);
 * once bytes flow, the reply gets the whole stage deadline. */
static int greeting(session *s, int64_t deadline, int64_t first_deadline,
    int *silent)
{
	sd_probe *p = s->p;
	sd_reply rep;
	sd_reply_rc bad = SD_REPLY_MORE;
	*silent = 0;
	set_stage(s, ST_GREETING);
	int64_t t0 = sd_now_ms();
	sd_io r = sd_conn_wait_readable(s->c, first_deadline);
	if (r == SD_IO_OK)
		r = read_reply(s, &rep, deadline, &bad, 0);
	else
		sd_reply_init(&rep);
	json_t *f = fact_new(s, "greeting", "greeting");
	json_object_set_new(f, "tls", json_boolean(p->tls_ok));
	json_object_set_new(f, "took_ms", json_integer(sd_now_ms() - t0));
	char d[DETAIL_MAX];
	int go_on = 0;
	if (r == SD_IO_OK) {
		set_reply(f, &rep);
		int masked = strspn(rep.text, "*") >= 4 ||
		    (rep.text_len && strspn(rep.text, "* ") == rep.text_len);
		json_object_set_new(f, "masked", json_boolean(masked));
		json_object_set_new(f, "result", json_string("smtp"));
		go_on = rep.code / 100 == 2;
		p->greeted = go_on;
		json_object_set_new(f, "ok", json_boolean(go_on));
		char *q = sd_quote(rep.text, rep.text_len, 200);
		snprintf(d, sizeof d, "%s port %d: %d %s", p->addr, p->port,
		    rep.code, q ? q : "");
		free(q);
	} else if (r == SD_IO_ERROR && bad != SD_REPLY_MORE &&
	    (bad != SD_REPLY_BAD_SYNTAX || rep.n_lines > 0)) {
		/* SMTP-looking, but broken: endless, or mixed codes */
		json_object_set_new(f, "result", json_string("malformed"));
		json_object_set_new(f, "syntax", json_string(sd_reply_rc_text(bad)));
		json_object_set_new(f, "ok", json_false());
		snprintf(d, sizeof d, "%s port %d: a malformed greeting (%s)",
		    p->addr, p->port, sd_reply_rc_text(bad));
	} else if (r == SD_IO_ERROR && bad != SD_REPLY_MORE) {
		json_object_set_new(f, "result", json_string("not_smtp"));
		json_object_set_new(f, "proto", json_string(not_smtp_kind(s->shown)));
		char *clean = sd_sanitize(s->shown, strlen(s->shown), 200);
		json_object_set_new(f, "text", json_string(clean ? clean : ""));
		json_object_set_new(f, "syntax", json_string(sd_reply_rc_text(bad)));
		json_object_set_new(f, "ok", json_false());
		char *q = sd_quote(s->shown, strlen(s->shown), 200);
		snprintf(d, sizeof d, "%s port %d answered, but not in SMTP: %s",
		    p->addr, p->port, q ? q : "");
		free(q);
		free(clean);
	} else {
		/* nothing came, the peer closed, or the line never ended */
		json_object_set_new(f, "result", json_string(
		    r == SD_IO_TIMEOUT ? "none" : sd_io_name(r)));
		if (r == SD_IO_TIMEOUT) {
			size_t got = sd_conn_buffered(s->c) + rep.text_len;
			json_object_set_new(f, "timeout", json_string(
			    timeout_kind(s, got ? deadline : first_deadline)));
			/* bytes came, too slowly: progress, not a stall */
			json_object_set_new(f, "partial", json_boolean(got > 0));
			*silent = got == 0;
		}
		json_object_set_new(f, "ok", json_false());
		snprintf(d, sizeof d, "%s port %d: no greeting (%s)", p->addr,
		    p->port, r == SD_IO_TIMEOUT ? "nothing arrived" :
		    sd_io_name(r));
	}
	json_object_set_new(f, "detail", json_string(d));
	fact_add(s, f);
	return go_on;
}

/* The AUTH mechanisms of an EHLO reply as a JSON array. */
static json_t *mechs_json(const sd_caps *caps)
{
	json_t *a = json_array();
	for (int i = 0; i < caps->n_mechs; i++)
		json_array_append_new(a, json_string(caps->mechs[i]));
	return a;
}

/* EHLO (HELO when EHLO is refused); fills s->caps. */
static int ehlo(session *s, int after_tls)
{
	sd_probe *p = s->p;
	sd_reply rep;
	sd_reply_rc bad;
	char cmd[300];
	set_stage(s, after_tls ? ST_EHLO_TLS : ST_EHLO);
	int64_t dl = stage_deadline(s), t0 = sd_now_ms();
	snprintf(cmd, sizeof cmd, "EHLO %s", s->run->ehlo_name);
	sd_reply_init(&rep);
	/* a peer that hung up after its greeting is recorded here too */
	sd_io r = send_line(s, cmd, NULL);
	if (r == SD_IO_OK)
		r = read_reply(s, &rep, dl, &bad, 0);
	int used_helo = 0;
	if (r == SD_IO_OK && rep.code / 100 == 5 && !after_tls) {
		snprintf(cmd, sizeof cmd, "HELO %s", s->run->ehlo_name);
		used_helo = 1;
		r = send_line(s, cmd, NULL);
		if (r == SD_IO_OK)
			r = read_reply(s, &rep, stage_deadline(s), &bad, 0);
	}
	json_t *f = fact_new(s, after_tls ? "ehlo_tls" : "ehlo", "ehlo");
	json_object_set_new(f, "tls", json_boolean(after_tls || p->tls_ok));
	json_object_set_new(f, "used_helo", json_boolean(used_helo));
	json_object_set_new(f, "took_ms", json_integer(sd_now_ms() - t0));
	char d[600];
	int ok = r == SD_IO_OK && rep.code / 100 == 2;
	if (r == SD_IO_OK) {
		set_reply(f, &rep);
		if (ok && !used_helo) {
			/* read from every line as it came, not from the
			 * text kept of the reply */
			s->caps = rep.caps;
			s->have_caps = 1;
		} else {
			memset(&s->caps, 0, sizeof s->caps);
		}
		json_object_set_new(f, "auth", mechs_json(&s->caps));
		json_object_set_new(f, "starttls",
		    json_boolean(s->caps.flags & SD_CAP_STARTTLS));
		json_object_set_new(f, "auth_offered",
		    json_boolean(s->caps.flags & SD_CAP_AUTH));
		json_object_set_new(f, "masked",
		    json_boolean(s->caps.flags & SD_CAP_MASKED));
		json_object_set_new(f, "pipelining",
		    json_boolean(s->caps.flags & SD_CAP_PIPELINING));
		json_object_set_new(f, "8bitmime",
		    json_boolean(s->caps.flags & SD_CAP_8BITMIME));
		json_object_set_new(f, "smtputf8",
		    json_boolean(s->caps.flags & SD_CAP_SMTPUTF8));
		json_object_set_new(f, "size", json_integer(s->caps.size));
		/* caps hit: what was not kept is said, so that no rule reads
		 * its absence as the server's answer */
		if (rep.text_dropped)
			json_object_set_new(f, "text_dropped",
			    json_integer((json_int_t)rep.text_dropped));
		if (s->caps.mechs_dropped)
			json_object_set_new(f, "auth_dropped",
			    json_integer(s->caps.mechs_dropped));
		json_object_set_new(f, "result", json_string(ok ? "ok" : "refused"));
		char mechbuf[300] = "";
		for (int i = 0; i < s->caps.n_mechs; i++) {
			strncat(mechbuf, i ? " " : "", sizeof mechbuf - strlen(mechbuf) - 1);
			strncat(mechbuf, s->caps.mechs[i],
			    sizeof mechbuf - strlen(mechbuf) - 1);
		}
		snprintf(d, sizeof d, "%s%s port %d%s: %s; STARTTLS %s; AUTH %s%s",
		    used_helo ? "HELO " : "EHLO ", p->addr, p->port,
		    after_tls || p->tls_ok ? " (TLS)" : "",
		    ok ? "accepted" : "refused",
		    s->caps.flags & SD_CAP_STARTTLS ? "offered" : "not offered",
		    s->caps.n_mechs ? mechbuf : "not offered",
		    s->caps.flags & SD_CAP_MASKED ? "; keywords masked" : "");
	} else {
		json_object_set_new(f, "result", json_string(
		    r == SD_IO_TIMEOUT ? "timeout" : sd_io_name(r)));
		int partial = rep.n_lines > 0 || sd_conn_buffered(s->c) > 0;
		if (r == SD_IO_TIMEOUT) {
			json_object_set_new(f, "timeout", json_string(
			    timeout_kind(s, dl)));
			json_object_set_new(f, "partial", json_boolean(partial));
		}
		snprintf(d, sizeof d, "EHLO %s port %d: %s (%s)", p->addr,
		    p->port, partial ? "the reply never ended" : "no reply",
		    sd_io_name(r));
	}
	json_object_set_new(f, "ok", json_boolean(ok));
	json_object_set_new(f, "detail", json_string(d));
	fact_add(s, f);
	if (ok)
		p->auth_offered = (s->caps.flags & SD_CAP_AUTH) != 0;
	return ok;
}

static int starttls(session *s)
{
	sd_reply rep;
	sd_reply_rc bad;
	set_stage(s, ST_STARTTLS);
	sd_reply_init(&rep);
	sd_io r = send_line(s, "STARTTLS", NULL);
	if (r == SD_IO_OK)
		r = read_reply(s, &rep, stage_deadline(s), &bad, 0);
	if (r != SD_IO_OK || rep.code != 220) {
		json_t *f = fact_new(s, "tls", "tls");
		json_object_set_new(f, "mode", json_string("starttls"));
		json_object_set_new(f, "result", json_string(r == SD_IO_OK ?
		    "starttls_refused" : r == SD_IO_TIMEOUT ? "timeout" :
		    sd_io_name(r)));
		if (r == SD_IO_OK)
			set_reply(f, &rep);
		json_object_set_new(f, "ok", json_false());
		char d[400];
		snprintf(d, sizeof d, "STARTTLS %s port %d: %s%s%s", s->p->addr,
		    s->p->port, r == SD_IO_OK ? "refused by the server" :
		    "no answer", r == SD_IO_OK ? "" : " ",
		    r == SD_IO_OK ? "" : sd_io_name(r));
		json_object_set_new(f, "detail", json_string(d));
		fact_add(s, f);
		return 0;
	}
	note(s, "TLS handshake (STARTTLS)");
	json_t *extra = NULL;
	if (sd_conn_buffered(s->c))
		extra = json_pack("{s:b}", "pipelined_after_starttls", 1);
	s->tls_dl = stage_deadline(s);
	sd_io tr = sd_conn_tls(s->c, s->run->tls, s->p->host, s->tls_dl);
	int ok = tls_fact(s, "starttls", tr, extra);
	json_decref(extra);
	return ok;
}

/* Records the answer to one step (a command, or the end of the message)
 * as a fact of `kind`; `label` names the step for people. */
static void reply_fact(session *s, const char *kind, const char *stage_name,
    const char *label, sd_io r, const sd_reply *rep, int64_t dl, int64_t t0)
{
	json_t *f = fact_new(s, kind, stage_name);
	json_object_set_new(f, "command", json_string(label));
	json_object_set_new(f, "took_ms", json_integer(sd_now_ms() - t0));
	char d[DETAIL_MAX];
	if (r == SD_IO_OK) {
		set_reply(f, rep);
		json_object_set_new(f, "result", json_string(
		    rep->code / 100 == 2 || rep->code / 100 == 3 ? "accepted" :
		    rep->code / 100 == 4 ? "temporary" : "rejected"));
		char *q = sd_quote(rep->text, rep->text_len, 300);
		snprintf(d, sizeof d, "%s: %d %s", label, rep->code, q ? q : "");
		free(q);
	} else {
		json_object_set_new(f, "result", json_string(
		    r == SD_IO_TIMEOUT ? "timeout" : sd_io_name(r)));
		if (r == SD_IO_TIMEOUT) {
			json_object_set_new(f, "timeout", json_string(
			    timeout_kind(s, dl)));
			json_object_set_new(f, "partial", json_boolean(
			    rep->n_lines > 0 || sd_conn_buffered(s->c) > 0));
		}
		snprintf(d, sizeof d, "%s: no reply (%s)", label, sd_io_name(r));
	}
	int ok = r == SD_IO_OK && (rep->code / 100 == 2 || rep->code / 100 == 3);
	json_object_set_new(f, "ok", json_boolean(ok));
	json_object_set_new(f, "detail", json_string(d));
	fact_add(s, f);
}

/* One command and its reply as an envelope/content fact. */
static int command(session *s, stage st, const char *kind, const char *cmd,
    const char *stage_name, sd_reply *rep)
{
	sd_reply_rc bad;
	set_stage(s, st);
	int64_t dl = stage_deadline(s), t0 = sd_now_ms();
	sd_reply_init(rep);
	sd_io r = send_line(s, cmd, NULL);
	if (r == SD_IO_OK)
		r = read_reply(s, rep, dl, &bad, 0);
	reply_fact(s, kind, stage_name, cmd, r, rep, dl, t0);
	return r == SD_IO_OK ? rep->code : -1;
}

/* Why AUTH is not tried on this session (a result of the auth fact, with
 * its words in d), or NULL with *mech the mechanism to try. */
static const char *auth_decline(session *s, json_t *f, char *d, size_t dn,
    const sd_sasl_mech **mech)
{
	sd_probe *p = s->p;
	sd_run *run = s->run;
	const sd_check_params *cp = run->params;
	*mech = NULL;
	if (!cp->password) {
		snprintf(d, dn, "AUTH not tried: no password was given (%s)",
		    cp->password_note ? cp->password_note : "no --password-file, "
		    "--password-env or --password-cmd, and no terminal to ask on");
		return "no_secret";
	}
	if (!(s->caps.flags & SD_CAP_AUTH)) {
		snprintf(d, dn, "AUTH is not offered on port %d%s", p->port,
		    p->tls_ok ? " (after TLS)" : " (without TLS)");
		return "not_offered";
	}
	if (cp->auth_mech && !sd_caps_has_mech(&s->caps, cp->auth_mech) &&
	    !s->caps.mechs_dropped) {
		/* (with mechanisms dropped, the configured one may be among
		 * them: it is tried, and the server's own answer decides) */
		json_object_set_new(f, "mech", json_string(cp->auth_mech));
		snprintf(d, dn, "AUTH %s is not offered on port %d",
		    cp->auth_mech, p->port);
		return "mechanism_unsupported";
	}
	if (!p->tls_ok && (!cp->allow_plaintext_auth ||
	    cp->tls != SD_TLS_NONE)) {
		/* --allow-plaintext-auth is for a client set to no encryption;
		 * a missing STARTTLS where TLS is configured is what a
		 * stripping middlebox looks like: never send then */
		snprintf(d, dn, "AUTH not tried: the connection on port %d is "
		    "not encrypted and %s", p->port, cp->allow_plaintext_auth ?
		    "the client is set to use TLS" :
		    "--allow-plaintext-auth was not given");
		return "plaintext_refused";
	}
	if (sd_remaining_ms(run->deadline_ms) < 2000) {
		/* the password must not leave when its answer cannot be read */
		snprintf(d, dn, "AUTH not tried on port %d: too little time "
		    "left before --timeout to read its answer", p->port);
		return "no_time";
	}
	if (atomic_exchange(&run->auth_attempted, 1)) {
		/* one run, at most one login (docs/smtpdoctor.md, "Safety") */
		snprintf(d, dn, "AUTH not tried again on port %d: one login per "
		    "run", p->port);
		return "skipped_once";
	}
	*mech = cp->auth_mech ? sd_sasl_find(cp->auth_mech) :
	    sd_sasl_choose((const char (*)[24])s->caps.mechs, s->caps.n_mechs);
	if (*mech)
		return NULL;
	atomic_store(&run->auth_attempted, 0);
	if (!cp->auth_mech && s->caps.mechs_dropped) {
		/* one it speaks may be among those not kept */
		snprintf(d, dn, "AUTH not tried on port %d: the server offers "
		    "more mechanisms than smtpdoctor keeps (%d not kept), and "
		    "none of the %d kept is one it speaks", p->port,
		    s->caps.mechs_dropped, s->caps.n_mechs);
		return "offer_cut";
	}
	snprintf(d, dn, "none of the offered mechanisms is one smtpdoctor "
	    "speaks");
	return "mechanism_unsupported";
}

/* Bounds of one SASL exchange: a response and the line that carries it
 * in base64, with room to spare. */
#define AUTH_RESP_MAX 16384
#define AUTH_LINE_MAX 24000

/* Sends `resp` (n bytes) as base64 on its own line, shown redacted, and
 * wipes the encoded copy. */
static sd_io auth_send_response(session *s, const unsigned char *resp,
    int n, char *cmd)
{
	if (n < 0)
		return send_line(s, "*", NULL);
	char *e = sd_base64_encode(resp, (size_t)n);
	snprintf(cmd, AUTH_LINE_MAX, "%s", e ? e : "");
	if (e) {
		sd_wipe(e, strlen(e));
		free(e);
	}
	return send_line(s, cmd, "<redacted>");
}

/* The SASL exchange of `mech`: AUTH with its initial response, then an
 * answer to each 334 challenge (at most three).  The final reply in rep;
 * *dl the deadline of the last read. */
static sd_io auth_exchange(session *s, const sd_sasl_mech *mech,
    sd_reply *rep, int64_t *dl)
{
	const sd_check_params *cp = s->run->params;
	sd_sasl_creds cr = { cp->user, cp->password, s->p->host, s->p->port };
	unsigned char *resp = malloc(AUTH_RESP_MAX);
	char *cmd = malloc(AUTH_LINE_MAX);
	sd_reply_rc bad;
	int has_initial = 0, n = -1, step = 0;
	sd_io r = SD_IO_ERROR;
	if (resp && cmd)
		n = mech->step(&cr, 0, NULL, 0, resp, AUTH_RESP_MAX,
		    &has_initial);
	if (n >= 0) {
		char shown[64];
		snprintf(shown, sizeof shown, "AUTH %s%s", mech->name,
		    has_initial ? " <redacted>" : "");
		char *b64 = has_initial ? sd_base64_encode(resp, (size_t)n) :
		    NULL;
		snprintf(cmd, AUTH_LINE_MAX, "AUTH %s%s%s", mech->name,
		    has_initial ? " " : "", has_initial ?
		    (n ? (b64 ? b64 : "") : "=") : "");
		if (b64) {
			sd_wipe(b64, strlen(b64));
			free(b64);
		}
		*dl = stage_deadline(s);
		r = send_line(s, cmd, shown);
		if (r == SD_IO_OK)
			r = read_reply(s, rep, *dl, &bad, 1);
	}
	while (r == SD_IO_OK && rep->code == 334 && ++step < 4) {
		size_t clen = 0;
		unsigned char *ch = sd_base64_decode(rep->text, rep->text_len,
		    &clen);
		n = mech->step(&cr, step, ch ? ch : (unsigned char *)"",
		    ch ? clen : 0, resp, AUTH_RESP_MAX, &has_initial);
		free(ch);
		sd_io sent = auth_send_response(s, resp, n, cmd);
		if (sent != SD_IO_OK) {
			/* half an exchange: the next line would be taken as
			 * the answer; hang up instead */
			s->broken = 1;
			r = sent;
			break;
		}
		*dl = stage_deadline(s);
		r = read_reply(s, rep, *dl, &bad, 1);
	}
	if (resp) {
		sd_wipe(resp, AUTH_RESP_MAX);
		free(resp);
	}
	if (cmd) {
		sd_wipe(cmd, AUTH_LINE_MAX);
		free(cmd);
	}
	return r;
}

/* The AUTH stage.  Returns 1 when authenticated or AUTH is not needed. */
static int auth(session *s)
{
	sd_probe *p = s->p;
	sd_run *run = s->run;
	const sd_check_params *cp = run->params;
	set_stage(s, ST_AUTH);
	if (!cp->user)
		return 1; /* no AUTH configured: the envelope will tell */
	p->reached_auth = 1;
	json_t *f = fact_new(s, "auth", "auth");
	json_object_set_new(f, "offered", mechs_json(&s->caps));
	json_object_set_new(f, "tls", json_boolean(p->tls_ok));
	char d[DETAIL_MAX];
	const sd_sasl_mech *mech;
	const char *result = auth_decline(s, f, d, sizeof d, &mech);
	/* without a password the envelope is still worth trying */
	int go_on = result && strcmp(result, "no_secret") == 0;
	if (mech) {
		sd_reply rep;
		int64_t dl = 0;
		json_object_set_new(f, "mech", json_string(mech->name));
		sd_io r = auth_exchange(s, mech, &rep, &dl);
		if (r == SD_IO_OK) {
			set_reply(f, &rep);
			go_on = rep.code / 100 == 2;
			result = go_on ? "ok" : "rejected";
			if (!go_on)
				atomic_store(&run->auth_rejected, 1);
			p->auth_ok = go_on;
			char *q = sd_quote(rep.text, rep.text_len, 300);
			snprintf(d, sizeof d, "AUTH %s as %s: %d %s", mech->name,
			    cp->user, rep.code, q ? q : "");
			free(q);
		} else {
			/* "closed" and "reset" say the server hung up */
			result = sd_io_name(r);
			if (r == SD_IO_TIMEOUT) {
				json_object_set_new(f, "timeout", json_string(
				    timeout_kind(s, dl)));
				json_object_set_new(f, "partial", json_boolean(
				    sd_conn_buffered(s->c) > 0));
			}
			snprintf(d, sizeof d, "AUTH %s: no reply (%s)",
			    mech->name, sd_io_name(r));
		}
	}
	json_object_set_new(f, "result", json_string(result));
	if (cp->password)
		json_object_set_new(f, "ok", json_boolean(go_on));
	json_object_set_new(f, "detail", json_string(d));
	fact_add(s, f);
	return go_on;
}

int sd_check_test_message(char *out, size_t cap, const char *ehlo,
    const char *from, const char *to)
{
	char date[64], host[256];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (ehlo)
		snprintf(host, sizeof host, "%s", ehlo);
	else if (gethostname(host, sizeof host) != 0 || !*host)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	int n = snprintf(out, cap,
	    "Date: %s\r\nMessage-ID: <%lld.%d@%s>\r\nFrom: <%s>\r\n"
	    "To: <%s>\r\nSubject: smtpdoctor test message\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/plain; "
	    "charset=us-ascii\r\n\r\nThis is a test message sent by "
	    "smtpdoctor to check that this account can send mail.\r\n"
	    "You can delete it.\r\n", date, (long long)now, (int)getpid(),
	    host, from, to);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/*
 * RFC 2920: the server offers PIPELINING, so MAIL, RCPT, RSET and QUIT go
 * in one write and the replies are read in the order of the commands: one
 * round trip where lockstep takes four, and no wait for the 221, which no
 * verdict reads.  The facts are those lockstep records: a step's fact only
 * when every step before it was accepted (a server answers the commands
 * after a refused MAIL with 503; the transcript keeps those replies).
 */
static void envelope_pipelined(session *s, const char *mail, const char *rcpt)
{
	static const stage steps[3] = { ST_MAIL, ST_RCPT, ST_RSET };
	static const char *const kinds[3] = { "mail", "rcpt", "rset" };
	const char *cmds[3] = { mail, rcpt, "RSET" };
	char group[1600];
	int n = snprintf(group, sizeof group, "%s\r\n%s\r\nRSET\r\nQUIT\r\n",
	    mail, rcpt);
	if (n < 0 || (size_t)n >= sizeof group)
		return;  /* the callers' bounds keep the lines shorter */
	set_stage(s, ST_MAIL);
	for (int i = 0; i < 3; i++)
		sd_transcript_add(s->run->report, s->p->conn_id, 'C', cmds[i],
		    strlen(cmds[i]));
	sd_transcript_add(s->run->report, s->p->conn_id, 'C', "QUIT", 4);
	int64_t t0 = sd_now_ms();
	sd_io r = sd_conn_write(s->c, group, (size_t)n, stage_deadline(s));
	s->quit_sent = 1;
	int accepted = 1;   /* every step so far accepted */
	for (int i = 0; i < 3 && accepted; i++) {
		sd_reply rep;
		sd_reply_rc bad;
		if (i)
			set_stage(s, steps[i]);
		int64_t dl = stage_deadline(s);
		sd_reply_init(&rep);
		if (r == SD_IO_OK)
			r = read_reply(s, &rep, dl, &bad, 0);
		reply_fact(s, kinds[i], "envelope", cmds[i], r, &rep, dl, t0);
		t0 = sd_now_ms();
		if (r != SD_IO_OK)
			return;
		if (i == 2)
			s->p->finished = 1;
		accepted = rep.code / 100 == 2;
	}
}

static void envelope(session *s)
{
	const sd_check_params *cp = s->run->params;
	sd_reply rep;
	char cmd[700];
	const char *from = cp->from ? cp->from :
	    (cp->user && strchr(cp->user, '@')) ? cp->user : "";
	const char *to = cp->to ? cp->to : *from ? from : NULL;
	char fallback_to[300];
	if (!to) {
		/* postmaster of the server's own domain is always local */
		const char *dot = strchr(s->p->host, '.');
		snprintf(fallback_to, sizeof fallback_to, "postmaster@%s",
		    dot ? dot + 1 : s->p->host);
		to = fallback_to;
	}
	snprintf(cmd, sizeof cmd, "MAIL FROM:<%s>", from);
	if ((s->caps.flags & SD_CAP_PIPELINING) && !cp->send) {
		char rcpt[700];
		snprintf(rcpt, sizeof rcpt, "RCPT TO:<%s>", to);
		envelope_pipelined(s, cmd, rcpt);
		return;
	}
	int code = command(s, ST_MAIL, "mail", cmd, "envelope", &rep);
	if (code / 100 != 2)
		return;
	snprintf(cmd, sizeof cmd, "RCPT TO:<%s>", to);
	code = command(s, ST_RCPT, "rcpt", cmd, "envelope", &rep);
	if (code / 100 != 2)
		return;
	if (cp->send) {
		code = command(s, ST_DATA, "data", "DATA", "content", &rep);
		if (code != 354)
			return;
		char msg[2048];
		int n = sd_check_test_message(msg, sizeof msg - 3,
		    s->run->ehlo_name, from, to);
		if (n < 0)
			return;  /* cannot happen with the CLI's bounds */
		memcpy(msg + n, ".\r\n", 4);
		n += 3;
		sd_transcript_add(s->run->report, s->p->conn_id, 'C',
		    "<message: headers and 2 lines of text>", 38);
		sd_reply_rc bad;
		int64_t dl = stage_deadline(s);
		int64_t t0 = sd_now_ms();
		sd_reply_init(&rep);
		sd_io r = sd_conn_write(s->c, msg, (size_t)n, dl);
		if (r == SD_IO_OK)
			r = read_reply(s, &rep, dl, &bad, 0);
		reply_fact(s, "data_end", "content", "end of message", r, &rep,
		    dl, t0);
		if (r == SD_IO_OK && rep.code / 100 == 2)
			s->p->finished = 1;
		return;
	}
	code = command(s, ST_RSET, "rset", "RSET", "envelope", &rep);
	if (code >= 0)
		s->p->finished = 1;
}

static void quit(session *s)
{
	sd_reply rep;
	sd_reply_rc bad;
	if (s->broken)
		return;
	set_stage(s, ST_QUIT);
	if (s->quit_sent)
		return;   /* sent with the envelope; its 221 is not waited for */
	/* a short, polite goodbye: its reply does not matter */
	if (send_line(s, "QUIT", NULL) == SD_IO_OK)
		read_reply(s, &rep, sd_deadline_min(stage_deadline(s),
		    sd_now_ms() + 1000), &bad, 0);
}

static void connect_fact(session *s, sd_connect_result cr, int err,
    int64_t took)
{
	sd_probe *p = s->p;
	json_t *f = fact_new(s, "tcp", "network");
	json_object_set_new(f, "result", json_string(sd_connect_result_name(cr)));
	json_object_set_new(f, "errno", json_string(err ? strerrorname_np(err) ?
	    strerrorname_np(err) : "?" : ""));
	json_object_set_new(f, "took_ms", json_integer(took));
	json_object_set_new(f, "ok", json_boolean(cr == SD_CONNECTED));
	if (cr == SD_CONN_CANCELLED)
		json_object_set_new(f, "quiet", json_true());
	char d[700];
	static const char *const words[] = {
		[SD_CONNECTED] = "connected",
		[SD_CONN_REFUSED] = "refused (reset: nothing listens, or a "
		    "firewall rejects)",
		[SD_CONN_TIMEOUT] = "no answer (filtered on the path, or the "
		    "host is down)",
		[SD_CONN_HOST_UNREACH] = "host unreachable (ICMP)",
		[SD_CONN_NET_UNREACH] = "network unreachable (ICMP)",
		[SD_CONN_NO_ROUTE] = "no route from this machine",
		[SD_CONN_LOCAL_DENIED] = "refused by this machine's own policy",
		[SD_CONN_PROHIBITED] = "administratively prohibited (ICMP from "
		    "a firewall on the path)",
		[SD_CONN_CANCELLED] = "not finished (not needed)",
		[SD_CONN_ERROR] = "failed",
	};
	static const char *const roles[] = {
		[SD_ROLE_MAIN] = "your settings",
		[SD_ROLE_ALT] = "another port of the server",
		[SD_ROLE_CONTROL] = "independent host",
		[SD_ROLE_NONSMTP] = "web port, for comparison",
		[SD_ROLE_FIX] = "working alternative",
	};
	if (strcmp(p->host, p->addr) == 0)
		snprintf(d, sizeof d, "%s port %d (%s): %s", p->addr, p->port,
		    roles[p->role], words[cr]);
	else
		snprintf(d, sizeof d, "%s [%s] port %d (%s): %s", p->host,
		    p->addr, p->port, roles[p->role], words[cr]);
	json_object_set_new(f, "detail", json_string(d));
	const char *id = sd_fact_add(s->run->report, NULL, f);
	snprintf(p->conn_id, sizeof p->conn_id, "%s", id ? id : "?");
}

void sd_probe_run(sd_probe *p)
{
	sd_run *run = p->run;
	session s = { .p = p, .run = run, .st = ST_CONNECT };
	snprintf(s.key, sizeof s.key, "%d.%s", p->port, p->addr);
	sd_connect_result cr;
	int err;
	int64_t took;
	int64_t cdl = sd_deadline_min(run->deadline_ms,
	    sd_now_ms() + run->connect_ms);
	waiting(&s, stage_names[ST_CONNECT], cdl);
	s.c = sd_conn_connect((struct sockaddr *)&p->sa, p->salen, cdl,
	    &run->cancel, &cr, &err, &took);
	connect_fact(&s, cr, err, took);
	if (!s.c) {
		waiting(&s, NULL, 0);
		return;
	}
	p->connected = 1;
	if (p->role == SD_ROLE_NONSMTP)
		goto out;

	int silent = 0;
	if (p->mode == SD_MODE_IMPLICIT) {
		set_stage(&s, ST_TLS_IMPLICIT);
		s.tls_dl = stage_deadline(&s);
		sd_io r = sd_conn_tls(s.c, run->tls, p->host, s.tls_dl);
		if (!tls_fact(&s, "implicit", r, NULL))
			goto out;
		int64_t gdl = stage_deadline(&s);
		if (!greeting(&s, gdl, gdl, &silent))
			goto out;
	} else {
		int64_t gdl = stage_deadline(&s), first = gdl;
		if (p->mode == SD_MODE_PLAIN_SNIFF)
			first = sd_deadline_min(gdl, sd_now_ms() + run->sniff_ms);
		if (!greeting(&s, gdl, first, &silent)) {
			if (!silent || p->mode != SD_MODE_PLAIN_SNIFF)
				goto out;
			/* silent: an implicit-TLS port waits for our hello */
			note(&s, "no greeting: trying a TLS handshake");
			s.tls_dl = stage_deadline(&s);
			sd_io r = sd_conn_tls(s.c, run->tls, p->host, s.tls_dl);
			json_t *x = json_pack("{s:b}", "after_silence", 1);
			int ok = tls_fact(&s, "implicit", r, x);
			json_decref(x);
			/* implicit TLS only if SMTP greets inside it (an HTTPS
			 * port typed as the SMTP port does TLS too) */
			int64_t g2 = stage_deadline(&s);
			if (!ok)
				goto out;
			if (greeting(&s, g2, g2, &silent))
				p->implicit_detected = 1;
			goto bye;
		}
	}
	if (p->role == SD_ROLE_CONTROL && !p->starttls)
		goto bye;
	if (!ehlo(&s, 0))
		goto out;
	if (!p->tls_ok && p->starttls && (s.caps.flags & SD_CAP_STARTTLS)) {
		if (!starttls(&s))
			goto out;
		/* a control shows its certificate, then leaves: no AUTH, no
		 * MAIL to a host the user did not name */
		if (p->role == SD_ROLE_CONTROL)
			goto bye;
		if (!ehlo(&s, 1))
			goto out;
	}
	if (p->role == SD_ROLE_CONTROL)
		goto bye;
	if (p->role == SD_ROLE_ALT && p->park) {
		atomic_store(&p->parked, 1);
		while (!atomic_load(&p->decision) && !atomic_load(&run->cancel) &&
		    sd_now_ms() < run->deadline_ms) {
			struct timespec ts = { 0, 5 * 1000000 };
			nanosleep(&ts, NULL);
		}
		if (atomic_load(&p->decision) == 1) {
			note(&s, "the configured path failed: going on here to "
			    "verify the working alternative");
			p->role = SD_ROLE_FIX;
		}
	}
	if (p->role != SD_ROLE_MAIN && p->role != SD_ROLE_FIX)
		goto bye;
	/* never send credentials through a certificate we could not check */
	if (p->tls_ok && !p->cert_ok && !run->params->insecure)
		goto bye;
	if (!auth(&s))
		goto bye;
	envelope(&s);
bye:
	quit(&s);
out:
	set_stage(&s, ST_DONE);
	sd_conn_close(s.c);
}

int sd_probe_set_addr(sd_probe *p, const char *addr, int family, int port)
{
	memset(&p->sa, 0, sizeof p->sa);
	snprintf(p->addr, sizeof p->addr, "%s", addr);
	p->family = family;
	p->port = port;
	if (family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&p->sa;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		p->salen = sizeof *s4;
		return inet_pton(AF_INET, addr, &s4->sin_addr) == 1;
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&p->sa;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons((uint16_t)port);
	p->salen = sizeof *s6;
	return inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1;
}

static void probe_job(void *arg)
{
	sd_probe *p = arg;
	sd_probe_run(p);
	atomic_store(&p->done, 1);
}

int sd_probe_start(sd_probe *p)
{
	p->job = sd_jobgroup_new(1);
	p->started = p->job != NULL;
	if (!p->started) {
		/* run here, and never park: only this thread could decide */
		p->park = 0;
		probe_job(p);
		return 0;
	}
	sd_jobgroup_add(p->job, probe_job, NULL, p);
	return 1;
}

void sd_probe_join(sd_probe *p)
{
	if (p->started)
		sd_jobgroup_join(p->job, (p->run ? p->run->deadline_ms :
		    sd_now_ms()) + SD_JOBS_JOIN_GRACE_MS);
	p->job = NULL;
	p->started = 0;
}
