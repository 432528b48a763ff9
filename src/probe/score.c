/* Content scoring with spamd or rspamd; see score.h. */
#include "probe/score.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/conn.h"
#include "util/util.h"

/* Description text kept of one rule. */
#define RULE_DESC_MAX 200

int sd_scorer_parse(const char *spec, sd_scorer *out, const char **why)
{
	memset(out, 0, sizeof *out);
	const char *p = spec;
	out->kind = SD_SCORER_SPAMD;
	out->port = 783;
	if (strncmp(p, "spamd://", 8) == 0) {
		p += 8;
	} else if (strncmp(p, "rspamd://", 9) == 0) {
		p += 9;
		out->kind = SD_SCORER_RSPAMD;
		out->port = 11333;
	} else if (strstr(p, "://")) {
		*why = "expected spamd://HOST[:PORT] or rspamd://HOST[:PORT]";
		return -1;
	}
	const char *end, *colon;
	if (*p == '[') {
		end = strchr(p, ']');
		if (!end) {
			*why = "an IPv6 address needs its closing ']'";
			return -1;
		}
		p++;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] && !colon) {
			*why = "expected [ADDR]:PORT";
			return -1;
		}
	} else {
		colon = strrchr(p, ':');
		end = colon ? colon : p + strlen(p);
	}
	size_t hl = (size_t)(end - p);
	if (hl == 0 || hl >= sizeof out->host) {
		*why = "no host";
		return -1;
	}
	memcpy(out->host, p, hl);
	out->host[hl] = '\0';
	if (colon) {
		char *e;
		long port = strtol(colon + 1, &e, 10);
		if (*e || port < 1 || port > 65535) {
			*why = "the port must be 1 to 65535";
			return -1;
		}
		out->port = (int)port;
	}
	unsigned char buf[16];
	if (strcmp(out->host, "localhost") != 0 &&
	    inet_pton(AF_INET, out->host, buf) != 1 &&
	    inet_pton(AF_INET6, out->host, buf) != 1) {
		/* names would need the resolver; scorers are local or named
		 * by address in practice */
		*why = "give the scorer as an address (127.0.0.1, [::1]) or localhost";
		return -1;
	}
	return 0;
}

static int sockaddr_of(const sd_scorer *s, struct sockaddr_storage *ss,
    socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	const char *h = strcmp(s->host, "localhost") == 0 ? "127.0.0.1" :
	    s->host;
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, h, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)s->port);
		*len = sizeof *v4;
		return 1;
	}
	if (inet_pton(AF_INET6, h, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)s->port);
		*len = sizeof *v6;
		return 1;
	}
	return 0;
}

static json_t *rule(const char *name, double score, const char *desc)
{
	json_t *o = json_object();
	char *n = sd_sanitize(name, strlen(name), 64);
	char *d = sd_sanitize(desc, strlen(desc), RULE_DESC_MAX);
	json_object_set_new(o, "name", json_string(n ? n : ""));
	json_object_set_new(o, "score", json_real(score));
	json_object_set_new(o, "description", json_string(d ? d : ""));
	free(n);
	free(d);
	return o;
}

/* Keeps the rules with the highest scores, highest first. */
static json_t *top_rules(json_t *all)
{
	size_t n = json_array_size(all);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0; j--) {
			double a = json_real_value(json_object_get(
			    json_array_get(all, j - 1), "score"));
			double b = json_real_value(json_object_get(
			    json_array_get(all, j), "score"));
			if (a >= b)
				break;
			json_t *x = json_incref(json_array_get(all, j));
			json_array_set(all, j, json_array_get(all, j - 1));
			json_array_set_new(all, j - 1, x);
		}
	while (json_array_size(all) > SD_SCORE_MAX_RULES)
		json_array_remove(all, json_array_size(all) - 1);
	return all;
}

/*
 * The rules table of spamd's REPORT ("Content analysis details"): after
 * the "---- ----" line, " pts RULE description" with longer descriptions
 * continued on indented lines.
 */
json_t *sd_score_spamd_rules(const char *text)
{
	json_t *all = json_array();
	const char *p = strstr(text, "\n---- ");
	if (!p)
		return all;
	p = strchr(p + 1, '\n');
	while (p && *++p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		char line[512];
		if (n >= sizeof line)
			n = sizeof line - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		double score;
		char name[80];
		int used = 0;
		if (sscanf(line, " %lf %79s %n", &score, name, &used) >= 2 &&
		    used > 0) {
			json_array_append_new(all, rule(name, score, line + used));
		} else if (line[0] == ' ' && json_array_size(all)) {
			/* a description continued */
			json_t *last = json_array_get(all, json_array_size(all) - 1);
			char desc[1024];
			const char *more = line;
			while (*more == ' ')
				more++;
			snprintf(desc, sizeof desc, "%s %s", json_string_value(
			    json_object_get(last, "description")), more);
			char *d = sd_sanitize(desc, strlen(desc), RULE_DESC_MAX);
			json_object_set_new(last, "description", json_string(d ?
			    d : ""));
			free(d);
		} else if (n == 0) {
			break;
		}
		p = eol;
	}
	return all;
}

/* One spamd conversation: REPORT, then the answer's "Spam:" header and
 * the report body.  Fills the fact; returns 1 when it scored. */
static int ask_spamd(json_t *f, const sd_scorer *s, const char *msg,
    size_t len, int64_t deadline)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	sd_connect_result cr;
	int err = 0;
	int64_t took;
	if (!sockaddr_of(s, &ss, &sl))
		return 0;
	sd_conn *c = sd_conn_connect((struct sockaddr *)&ss, sl, deadline, NULL,
	    &cr, &err, &took);
	if (!c) {
		json_object_set_new(f, "result", json_string("unreachable"));
		json_object_set_new(f, "error", json_string(
		    sd_connect_result_name(cr)));
		return 0;
	}
	char head[128];
	int hn = snprintf(head, sizeof head, "REPORT SPAMC/1.5\r\n"
	    "Content-length: %zu\r\nUser: smtpdoctor\r\n\r\n", len);
	sd_io io = sd_conn_write(c, head, (size_t)hn, deadline);
	if (io == SD_IO_OK)
		io = sd_conn_write(c, msg, len, deadline);
	char line[SD_LINE_MAX + 1];
	size_t ll;
	char *body = NULL;
	size_t bn = 0;
	int status = -1, spam = -1;
	double score = 0, threshold = 0;
	int in_body = 0;
	/* the status line, headers, then the report up to the cap; spamd
	 * closes the connection after its answer */
	while (io == SD_IO_OK && (io = sd_conn_read_line(c, line, sizeof line,
	    &ll, deadline)) == SD_IO_OK) {
		if (status < 0) {
			if (sscanf(line, "SPAMD/%*s %d", &status) != 1)
				break;
			continue;
		}
		if (!in_body) {
			if (ll == 0) {
				in_body = 1;
				continue;
			}
			char verdict[16];
			if (sd_strncaseeq(line, "Spam:", 5) && sscanf(line + 5,
			    " %15s ; %lf / %lf", verdict, &score, &threshold) == 3)
				spam = sd_strcaseeq(verdict, "True") ||
				    sd_strcaseeq(verdict, "Yes");
			continue;
		}
		if (bn + ll + 2 > SD_SCORE_MAX_REPLY)
			break;
		char *more = realloc(body, bn + ll + 2);
		if (!more)
			break;
		body = more;
		memcpy(body + bn, line, ll);
		bn += ll;
		body[bn++] = '\n';
		body[bn] = '\0';
	}
	sd_conn_close(c);
	if (status != 0 || spam < 0) {
		json_object_set_new(f, "result", json_string("error"));
		char e[96];
		if (status >= 0)
			snprintf(e, sizeof e, "spamd answered with status %d",
			    status);
		else
			snprintf(e, sizeof e, "no spamd answer (%s)",
			    sd_io_name(io));
		json_object_set_new(f, "error", json_string(e));
		free(body);
		return 0;
	}
	json_object_set_new(f, "result", json_string("scored"));
	json_object_set_new(f, "score", json_real(score));
	json_object_set_new(f, "threshold", json_real(threshold));
	json_object_set_new(f, "spam", json_boolean(spam));
	json_object_set_new(f, "rules", top_rules(sd_score_spamd_rules(body ? body :
	    "")));
	free(body);
	return 1;
}

/* The body of rspamd's answer, capped. */
typedef struct sink {
	char *buf;
	size_t len;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	sink *k = ud;
	size_t add = size * n;
	if (k->len + add > SD_SCORE_MAX_REPLY)
		return 0;   /* libcurl ends the transfer: bounded */
	char *more = realloc(k->buf, k->len + add + 1);
	if (!more)
		return 0;
	k->buf = more;
	memcpy(k->buf + k->len, p, add);
	k->len += add;
	k->buf[k->len] = '\0';
	return add;
}

/* rspamd's /checkv2: a JSON answer with score, required_score and
 * symbols {NAME: {score, description}}. */
static int ask_rspamd(json_t *f, const sd_scorer *s, const char *msg,
    size_t len, int64_t deadline)
{
	char url[320];
	const char *h = strcmp(s->host, "localhost") == 0 ? "127.0.0.1" :
	    s->host;
	snprintf(url, sizeof url, strchr(h, ':') ? "http://[%s]:%d/checkv2" :
	    "http://%s:%d/checkv2", h, s->port);
	CURL *c = curl_easy_init();
	if (!c)
		return 0;
	sink k = { NULL, 0 };
	int64_t left = sd_remaining_ms(deadline);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, msg);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(left > 0 ? left : 1));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
	CURLcode cc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	json_t *doc = cc == CURLE_OK && code == 200 && k.buf ?
	    json_loads(k.buf, 0, NULL) : NULL;
	free(k.buf);
	json_t *sc = json_object_get(doc, "score");
	json_t *req = json_object_get(doc, "required_score");
	if (!json_is_number(sc) || !json_is_number(req)) {
		json_object_set_new(f, "result", json_string(cc ==
		    CURLE_COULDNT_CONNECT ? "unreachable" : "error"));
		char e[160];
		if (cc != CURLE_OK)
			snprintf(e, sizeof e, "%s", curl_easy_strerror(cc));
		else
			snprintf(e, sizeof e, "no rspamd answer (HTTP %ld)", code);
		json_object_set_new(f, "error", json_string(e));
		json_decref(doc);
		return 0;
	}
	json_t *all = json_array();
	const char *name;
	json_t *sym;
	json_object_foreach(json_object_get(doc, "symbols"), name, sym) {
		const char *d = json_string_value(json_object_get(sym,
		    "description"));
		json_array_append_new(all, rule(name, json_number_value(
		    json_object_get(sym, "score")), d ? d : ""));
	}
	double score = json_number_value(sc), thr = json_number_value(req);
	json_object_set_new(f, "result", json_string("scored"));
	json_object_set_new(f, "score", json_real(score));
	json_object_set_new(f, "threshold", json_real(thr));
	json_object_set_new(f, "spam", json_boolean(score >= thr));
	const char *action = json_string_value(json_object_get(doc, "action"));
	if (action)
		json_object_set_new(f, "action", json_string(action));
	/* what rspamd would answer the client (its "smtp_message") */
	const char *said = json_string_value(json_object_get(json_object_get(doc,
	    "messages"), "smtp_message"));
	if (said) {
		char *clean = sd_sanitize(said, strlen(said), RULE_DESC_MAX);
		if (clean)
			json_object_set_new(f, "message", json_string(clean));
		free(clean);
	}
	json_object_set_new(f, "rules", top_rules(all));
	json_decref(doc);
	return 1;
}

static int try_one(sd_report *r, const sd_scorer *s, const char *msg,
    size_t len, int64_t deadline)
{
	const char *kind = s->kind == SD_SCORER_SPAMD ? "spamd" : "rspamd";
	char id[320], addr[280];
	snprintf(addr, sizeof addr, strchr(s->host, ':') ? "[%s]:%d" : "%s:%d",
	    s->host, s->port);
	snprintf(id, sizeof id, "score.%s.%s", kind, addr);
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "stage",
	    "content", "check", "score", "scorer", kind, "address", addr);
	int64_t t0 = sd_now_ms();
	int ok = s->kind == SD_SCORER_SPAMD ? ask_spamd(f, s, msg, len,
	    deadline) : ask_rspamd(f, s, msg, len, deadline);
	json_object_set_new(f, "took_ms", json_integer(sd_now_ms() - t0));
	char detail[400];
	if (ok)
		snprintf(detail, sizeof detail, "%s at %s scored the message "
		    "%.1f (threshold %.1f)", kind, addr, json_real_value(
		    json_object_get(f, "score")), json_real_value(
		    json_object_get(f, "threshold")));
	else
		snprintf(detail, sizeof detail, "%s at %s: %s", kind, addr,
		    json_string_value(json_object_get(f, "error")) ?
		    json_string_value(json_object_get(f, "error")) : "no answer");
	json_object_set_new(f, "detail", json_string(detail));
	json_object_set_new(f, "ok", json_boolean(ok));
	sd_fact_add(r, "score", f);
	return ok;
}

/* Time a scorer gets when the run's deadline has (nearly) passed:
 * spamd answers a short message in well under a second. */
#define SCORE_MIN_MS 1000

void sd_score_message(sd_report *r, const sd_scorer *scorer,
    const char *msg, size_t len, int64_t deadline_ms)
{
	if (sd_remaining_ms(deadline_ms) < SCORE_MIN_MS)
		deadline_ms = sd_now_ms() + SCORE_MIN_MS;
	if (len > SD_SCORE_MAX_MESSAGE) {
		json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "id",
		    "score.skipped", "stage", "content", "check", "score",
		    "result", "too_large", "detail", "the message is too big "
		    "to score (over 1 MiB)", "bytes", (json_int_t)len);
		sd_fact_add(r, "score", f);
		return;
	}
	if (scorer) {
		try_one(r, scorer, msg, len, deadline_ms);
		return;
	}
	/* a local spamd, then a local rspamd */
	sd_scorer local = { SD_SCORER_SPAMD, "127.0.0.1", 783 };
	if (try_one(r, &local, msg, len, deadline_ms))
		return;
	local.kind = SD_SCORER_RSPAMD;
	local.port = 11333;
	try_one(r, &local, msg, len, deadline_ms);
}

void sd_score_with(sd_report *r, const char *spec, const char *msg,
    size_t len, int64_t deadline_ms)
{
	sd_scorer sc;
	const char *why = NULL;
	if (!spec) {
		sd_score_message(r, NULL, msg, len, deadline_ms);
		return;
	}
	if (sd_scorer_parse(spec, &sc, &why) == 0) {
		sd_score_message(r, &sc, msg, len, deadline_ms);
		return;
	}
	char *shown = sd_quote(spec, strlen(spec), 200);
	char detail[400];
	snprintf(detail, sizeof detail, "the scorer %s is not one: %s",
	    shown ? shown : "?", why);
	free(shown);
	sd_fact_add(r, "score", json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
	    "id", "score.scorer", "stage", "content", "check", "score",
	    "result", "unreachable", "error", why, "detail", detail, "ok", 0));
}
