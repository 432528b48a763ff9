/*
 * The check engine's session against a scripted peer of this test's own,
 * on 127.0.0.1: the state machine, the secrets rule (never in the clear,
 * never in any output, one login per run) and the deadlines against a
 * hostile peer (drip, endless reply, 1 MB line).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "probe/domain.h"
#include "report/report.h"
#include "util/util.h"

#define SECRET "pw-Zx81-never-shown"

typedef enum behaviour {
	B_NORMAL,      /* greet, EHLO, AUTH as scripted, envelope OK */
	B_DRIP,        /* the greeting one byte every 300 ms */
	B_ENDLESS,     /* EHLO answered with 250- lines forever */
	B_LONGLINE,    /* EHLO answered with one 1 MB line */
	B_ECHO_AUTH,   /* AUTH refused with the payload echoed in every form */
	B_ECHO_AFTER,  /* a server that knows the secret from before: every
	                  connection's greeting says it; AUTH accepted; MAIL
	                  and QUIT echo the last payload */
} behaviour;

typedef struct peer {
	int lfd;
	int port;
	behaviour b;
	const char *auth_reply;   /* final reply to AUTH */
	atomic_int auth_seen;     /* AUTH commands received */
	atomic_int secret_seen_plain; /* the secret arrived unencoded */
	atomic_int stop;
	pthread_t th;
	pthread_mutex_t lock;
	char payload[256];        /* the last AUTH payload, decoded */
	size_t payload_len;
} peer;

static void say(int fd, const char *s)
{
	if (send(fd, s, strlen(s), MSG_NOSIGNAL) < 0)
		return;
}

/* Reads a line (bounded); 0 at EOF or after 5 s of silence. */
static int get_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 5000) <= 0)
			return 0;
		char ch;
		if (recv(fd, &ch, 1, 0) != 1)
			return 0;
		if (ch == '\n')
			break;
		if (ch != '\r')
			buf[n++] = ch;
	}
	buf[n] = '\0';
	return 1;
}

/* A reply of CODE lines that echo the last AUTH payload: raw (NULs and
 * all), base64, hex in both cases, URL-encoded in both cases. */
static void say_echo(peer *p, int fd, const char *code)
{
	char raw[256], hexl[600], hexu[600], urll[800], urlu[800];
	pthread_mutex_lock(&p->lock);
	size_t n = p->payload_len;
	memcpy(raw, p->payload, n);
	pthread_mutex_unlock(&p->lock);
	char *b64 = sd_base64_encode((unsigned char *)raw, n);
	char *ul = urll, *uu = urlu;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)raw[i];
		sprintf(hexl + 2 * i, "%02x", c);
		sprintf(hexu + 2 * i, "%02X", c);
		ul += sprintf(ul, "%%%02x", c);
		uu += sprintf(uu, "%%%02X", c);
	}
	hexl[2 * n] = hexu[2 * n] = '\0';
	char buf[4096];
	int k = snprintf(buf, sizeof buf, "%s-you said: ", code);
	memcpy(buf + k, raw, n);
	k += (int)n;
	k += snprintf(buf + k, sizeof buf - (size_t)k, "\r\n%s-b64 %s\r\n"
	    "%s-hex %s\r\n%s-HEX %s\r\n%s-url %s\r\n%s-URL %s\r\n"
	    "%s Verdict: ok (ok)\r\n", code, b64, code, hexl, code, hexu,
	    code, urll, code, urlu, code);
	free(b64);
	if (send(fd, buf, (size_t)k, MSG_NOSIGNAL) < 0)
		return;
}

static void serve(peer *p, int fd)
{
	char line[2048];
	if (p->b == B_DRIP) {
		const char *g = "220 slow.example ESMTP\r\n";
		for (const char *c = g; *c && !p->stop; c++) {
			if (send(fd, c, 1, MSG_NOSIGNAL) != 1)
				return;
			usleep(300 * 1000);
		}
	} else if (p->b == B_ECHO_AFTER) {
		char *b64 = sd_base64_encode((const unsigned char *)SECRET,
		    strlen(SECRET));
		snprintf(line, sizeof line, "220-peer.example welcome back, "
		    "%s\r\n220-%s\r\n220 ESMTP\r\n", SECRET, b64);
		free(b64);
		say(fd, line);
	} else {
		say(fd, "220 peer.example ESMTP test\r\n");
	}
	while (!p->stop && get_line(fd, line, sizeof line)) {
		if (strstr(line, SECRET))
			p->secret_seen_plain = 1;
		if (strncmp(line, "EHLO", 4) == 0) {
			if (p->b == B_ENDLESS) {
				for (int i = 0; i < 100000 && !p->stop; i++)
					if (send(fd, "250-XXXXXXXXXXXXXXXXXXXXXXXX\r\n", 30,
					    MSG_NOSIGNAL) < 0)
						return;
				return;
			}
			if (p->b == B_LONGLINE) {
				char *big = malloc(1 << 20);
				memset(big, 'A', 1 << 20);
				memcpy(big, "250-", 4);
				if (send(fd, big, 1 << 20, MSG_NOSIGNAL) < 0) {
					free(big);
					return;
				}
				free(big);
				say(fd, "\r\n250 OK\r\n");
				continue;
			}
			say(fd, "250-peer.example\r\n250-AUTH PLAIN LOGIN\r\n"
			    "250 8BITMIME\r\n");
		} else if (strncmp(line, "AUTH", 4) == 0) {
			atomic_fetch_add(&p->auth_seen, 1);
			const char *sp = strchr(line + 5, ' ');
			size_t dn = 0;
			unsigned char *d = sp ? sd_base64_decode(sp + 1,
			    strlen(sp + 1), &dn) : NULL;
			if (d && dn < sizeof p->payload) {
				pthread_mutex_lock(&p->lock);
				memcpy(p->payload, d, dn);
				p->payload_len = dn;
				pthread_mutex_unlock(&p->lock);
			}
			free(d);
			if (p->b == B_ECHO_AUTH)
				say_echo(p, fd, "535");
			else
				say(fd, p->auth_reply);
		} else if (strncmp(line, "MAIL", 4) == 0 &&
		    p->b == B_ECHO_AFTER) {
			say_echo(p, fd, "250");
		} else if (strncmp(line, "QUIT", 4) == 0) {
			if (p->b == B_ECHO_AFTER)
				say_echo(p, fd, "221");
			else
				say(fd, "221 bye\r\n");
			return;
		} else {
			say(fd, "250 2.0.0 Ok\r\n");
		}
	}
}

typedef struct conn_arg {
	peer *p;
	int fd;
} conn_arg;

static void *conn_thread(void *arg)
{
	conn_arg *a = arg;
	serve(a->p, a->fd);
	close(a->fd);
	free(a);
	return NULL;
}

/* Accepts connections, each served on its own thread as a real server
 * would (smtpdoctor probes the same port twice at once). */
static void *peer_thread(void *arg)
{
	peer *p = arg;
	pthread_t threads[64];
	int n = 0;
	while (!p->stop) {
		struct pollfd pf = { p->lfd, POLLIN, 0 };
		if (poll(&pf, 1, 100) <= 0)
			continue;
		int fd = accept(p->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		conn_arg *a = malloc(sizeof *a);
		a->p = p;
		a->fd = fd;
		if (n < 64 && pthread_create(&threads[n], NULL, conn_thread, a) == 0)
			n++;
		else
			conn_thread(a);
	}
	for (int i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	return NULL;
}

static void peer_start(peer *p, behaviour b, const char *auth_reply)
{
	memset(p, 0, sizeof *p);
	pthread_mutex_init(&p->lock, NULL);
	p->b = b;
	p->auth_reply = auth_reply;
	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(p->lfd >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	socklen_t sl = sizeof sa;
	getsockname(p->lfd, (struct sockaddr *)&sa, &sl);
	p->port = ntohs(sa.sin_port);
	assert_int_equal(listen(p->lfd, 16), 0);
	pthread_create(&p->th, NULL, peer_thread, p);
}

static void peer_stop(peer *p)
{
	p->stop = 1;
	pthread_join(p->th, NULL);
	close(p->lfd);
}

/* The password of the next run_check (SECRET unless a test says). */
static const char *password = SECRET;

static sd_report *run_check(peer *p, sd_tls_mode tls, int allow_plain,
    double timeout)
{
	sd_options opt;
	sd_options_init(&opt);
	opt.no_control = 1;
	opt.timeout = timeout;
	opt.connect_timeout = 1;
	sd_check_params cp = { 0 };
	cp.server = "127.0.0.1";
	cp.port = p->port;
	cp.tls = tls;
	cp.user = "alice";
	cp.password = password;
	cp.to = "bob@peer.example";  /* no sender domain: no DNS at all */
	cp.allow_plaintext_auth = allow_plain;
	cp.ehlo = "client.example";
	return sd_check(&opt, &cp);
}

/* The report's outputs: JSON, text, and text with the transcript. */
static char *outputs(sd_report *r)
{
	char *json = sd_report_to_json(r);
	assert_non_null(json);
	FILE *mem = tmpfile();
	fputs(json, mem);
	sd_report_write_text(r, mem, 0);
	sd_report_write_text(r, mem, SD_TEXT_VERBOSE);
	free(json);
	fseek(mem, 0, SEEK_END);
	long len = ftell(mem);
	rewind(mem);
	char *all = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(all, 1, (size_t)len, mem), (size_t)len);
	fclose(mem);
	return all;
}

static void assert_absent(const char *all, const char *what)
{
	if (strstr(all, what))
		fail_msg("\"%s\" is in an output", what);
}

static void assert_no_secret(sd_report *r)
{
	char *all = outputs(r);
	assert_absent(all, SECRET);
	/* nor its encodings, nor the PLAIN payload's */
	char raw[64], enc[200];
	size_t n = (size_t)snprintf(raw, sizeof raw, "%calice%c%s", 0, 0, SECRET);
	char *b64 = sd_base64_encode((unsigned char *)raw, n);
	assert_absent(all, b64);
	free(b64);
	b64 = sd_base64_encode((unsigned char *)SECRET, strlen(SECRET));
	assert_absent(all, b64);
	free(b64);
	for (int up = 0; up < 2; up++) {
		for (size_t i = 0; i < strlen(SECRET); i++)
			sprintf(enc + 2 * i, up ? "%02X" : "%02x",
			    (unsigned char)SECRET[i]);
		assert_absent(all, enc);
		for (size_t i = 0; i < strlen(SECRET); i++)
			sprintf(enc + 3 * i, up ? "%%%02X" : "%%%02x",
			    (unsigned char)SECRET[i]);
		assert_absent(all, enc);
	}
	/* no raw control character reaches the text */
	for (const char *c = all; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\n' && *c != '\x1b')
			fail_msg("control 0x%02x in an output", *c);
	free(all);
}

static const char *fact_result(sd_report *r, const char *prefix)
{
	size_t i;
	json_t *f;
	json_array_foreach(r->facts, i, f) {
		const char *id = json_string_value(json_object_get(f, "id"));
		if (strncmp(id, prefix, strlen(prefix)) == 0)
			return json_string_value(json_object_get(f, "result"));
	}
	return NULL;
}

static void plaintext_auth_allowed(void **s)
{
	(void)s;
	peer p;
	peer_start(&p, B_NORMAL, "235 2.7.0 Authentication successful\r\n");
	sd_report *r = run_check(&p, SD_TLS_NONE, 1, 10);
	peer_stop(&p);
	assert_string_equal(sd_report_cause(r), "ok");
	assert_int_equal(p.auth_seen, 1);
	/* the transcript shows the mechanism, never the payload */
	size_t i;
	json_t *t;
	int redacted = 0;
	json_array_foreach(r->transcript, i, t)
		if (strcmp(json_string_value(json_object_get(t, "line")),
		    "AUTH PLAIN <redacted>") == 0)
			redacted = 1;
	assert_true(redacted);
	assert_no_secret(r);
	sd_report_free(r);
}

static void plaintext_auth_refused(void **s)
{
	(void)s;
	peer p;
	peer_start(&p, B_NORMAL, "235 2.7.0 Authentication successful\r\n");
	sd_report *r = run_check(&p, SD_TLS_NONE, 0, 10);
	peer_stop(&p);
	assert_string_equal(sd_report_cause(r), "auth.plaintext_refused");
	assert_int_equal(p.auth_seen, 0);
	assert_false(p.secret_seen_plain);
	assert_no_secret(r);
	sd_report_free(r);
}

static void one_login_per_run(void **s)
{
	(void)s;
	peer p;
	peer_start(&p, B_NORMAL, "535 5.7.8 Error: authentication failed: "
	    "authentication failure\r\n");
	sd_report *r = run_check(&p, SD_TLS_NONE, 1, 10);
	peer_stop(&p);
	assert_string_equal(sd_report_cause(r), "auth.bad_credentials");
	assert_int_equal(sd_report_exit_code(r), 1);
	assert_int_equal(p.auth_seen, 1);
	assert_no_secret(r);
	sd_report_free(r);
}

static void drip_is_cut_by_the_deadline(void **s)
{
	(void)s;
	peer p;
	peer_start(&p, B_DRIP, "235 ok\r\n");
	int64_t t0 = sd_now_ms();
	sd_report *r = run_check(&p, SD_TLS_NONE, 1, 2.5);
	int64_t took = sd_now_ms() - t0;
	peer_stop(&p);
	/* the deadline (2.5 s), not the greeting's end (7.5 s) */
	assert_true(took <= 5000);
	assert_int_equal(sd_report_exit_code(r), 3);
	sd_report_free(r);
}

static void endless_reply_is_bounded(void **s)
{
	(void)s;
	peer p;
	peer_start(&p, B_ENDLESS, "235 ok\r\n");
	int64_t t0 = sd_now_ms();
	sd_report *r = run_check(&p, SD_TLS_NONE, 1, 5);
	peer_stop(&p);
	assert_true(sd_now_ms() - t0 <= 6000);
	assert_string_equal(fact_result(r, "ehlo."), "error");
	assert_int_equal(sd_report_exit_code(r), 3);
	sd_report_free(r);
}

static void long_line_is_bounded(void **s)
{
	(void)s;
	peer p;
	peer_start(&p, B_LONGLINE, "235 ok\r\n");
	sd_report *r = run_check(&p, SD_TLS_NONE, 1, 5);
	peer_stop(&p);
	assert_string_equal(fact_result(r, "ehlo."), "line_too_long");
	assert_int_equal(sd_report_exit_code(r), 3);
	sd_report_free(r);
}

/* The text report with no colour holds no escape at all, and no line
 * from the server starts a line of its own. */
static void assert_text_clean(sd_report *r)
{
	FILE *mem = tmpfile();
	sd_report_write_text(r, mem, SD_TEXT_VERBOSE);
	rewind(mem);
	char line[8192];
	int verdicts = 0;
	while (fgets(line, sizeof line, mem)) {
		for (const char *c = line; *c; c++)
			assert_false((unsigned char)*c < 0x20 && *c != '\n');
		/* the verdict's headline: "FAIL: ...", "OK: ..." */
		verdicts += strncmp(line, "OK: ", 4) == 0 ||
		    strncmp(line, "WARNING: ", 9) == 0 ||
		    strncmp(line, "FAIL: ", 6) == 0 ||
		    strncmp(line, "INCONCLUSIVE: ", 14) == 0;
	}
	fclose(mem);
	assert_int_equal(verdicts, 1);
}

static void echo_of_a_refused_auth(void **s)
{
	(void)s;
	peer p;
	peer_start(&p, B_ECHO_AUTH, NULL);
	sd_report *r = run_check(&p, SD_TLS_NONE, 1, 10);
	peer_stop(&p);
	assert_int_equal(p.auth_seen, 1);
	assert_string_equal(sd_report_cause(r), "auth.bad_credentials");
	assert_no_secret(r);
	assert_text_clean(r);
	sd_report_free(r);
}

static void echo_after_auth_and_on_another_connection(void **s)
{
	(void)s;
	peer p;
	peer_start(&p, B_ECHO_AFTER, "235 2.7.0 Authentication successful\r\n");
	sd_report *r = run_check(&p, SD_TLS_NONE, 1, 10);
	peer_stop(&p);
	assert_int_equal(p.auth_seen, 1);
	assert_string_equal(sd_report_cause(r), "ok");
	/* every connection of the run, those before AUTH too, heard it */
	size_t i, conns = 0;
	json_t *f;
	json_array_foreach(r->facts, i, f) {
		const char *id = json_string_value(json_object_get(f, "id"));
		const char *text = json_string_value(json_object_get(f, "text"));
		if (strncmp(id, "greeting.", 9) == 0 && text &&
		    strstr(text, "welcome back, <redacted>\n<redacted>\nESMTP"))
			conns++;
	}
	assert_true(conns >= 2);
	/* and the reply after a successful AUTH */
	int mail = 0;
	json_array_foreach(r->facts, i, f) {
		const char *id = json_string_value(json_object_get(f, "id"));
		if (strncmp(id, "mail.", 5) == 0) {
			assert_non_null(strstr(json_string_value(json_object_get(f,
			    "text")), "you said: <redacted>"));
			mail++;
		}
	}
	assert_int_equal(mail, 1);
	assert_no_secret(r);
	assert_text_clean(r);
	sd_report_free(r);
}

/* ---- the library runs twice at once (run under ThreadSanitizer by
 * tests/check-hard) ---- */

typedef struct run_arg {
	peer *p;
	sd_report *r;
} run_arg;

static void *check_thread(void *arg)
{
	run_arg *a = arg;
	a->r = run_check(a->p, SD_TLS_NONE, 1, 10);
	return NULL;
}

static void *domain_thread(void *arg)
{
	sd_report **out = arg;
	sd_options opt;
	sd_options_init(&opt);
	/* nothing answers there: the checks end at the deadline */
	static const char *const resolvers[] = { "127.0.0.1:9" };
	opt.resolvers = (const char **)resolvers;
	opt.n_resolvers = 1;
	opt.timeout = 2;
	sd_domain_params p = { .domain = "example.com" };
	*out = sd_domain_run(&opt, &p);
	return NULL;
}

/* Two checks and a domain audit at once in one process: each report
 * holds its own run's facts and verdict, nothing of the other's. */
static void two_checks_and_a_domain_at_once(void **s)
{
	(void)s;
	peer p1, p2;
	peer_start(&p1, B_NORMAL, "235 2.7.0 Authentication successful\r\n");
	peer_start(&p2, B_NORMAL, "535 5.7.8 Error: authentication failed\r\n");
	run_arg a1 = { &p1, NULL }, a2 = { &p2, NULL };
	sd_report *dr = NULL;
	pthread_t t1, t2, t3;
	assert_int_equal(pthread_create(&t1, NULL, check_thread, &a1), 0);
	assert_int_equal(pthread_create(&t2, NULL, check_thread, &a2), 0);
	assert_int_equal(pthread_create(&t3, NULL, domain_thread, &dr), 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	pthread_join(t3, NULL);
	peer_stop(&p1);
	peer_stop(&p2);
	assert_string_equal(sd_report_cause(a1.r), "ok");
	assert_string_equal(sd_report_cause(a2.r), "auth.bad_credentials");
	assert_non_null(dr);
	assert_string_equal(dr->command, "domain");
	/* the configured path's facts of each run are its own peer's */
	run_arg *runs[] = { &a1, &a2 };
	for (int k = 0; k < 2; k++) {
		size_t i;
		json_t *f;
		json_array_foreach(runs[k]->r->facts, i, f) {
			const char *role = json_string_value(json_object_get(f,
			    "role"));
			if (role && strcmp(role, "main") == 0)
				assert_int_equal(json_integer_value(
				    json_object_get(f, "port")), runs[k]->p->port);
		}
	}
	sd_report_free(a1.r);
	sd_report_free(a2.r);
	sd_report_free(dr);
}

/* The shapes that made the old in-place redaction write past its line:
 * a one-character password echoed all over a line of the longest length
 * the reader takes, and echoed at the very end of one. */
static void short_password_echoed_all_over(void **s)
{
	(void)s;
	static const char *const pws[] = { "x", "q7z" };
	static char reply[3 * 4200];
	for (size_t k = 0; k < sizeof pws / sizeof pws[0]; k++) {
		const char *pw = pws[k];
		size_t pl = strlen(pw), n = 0;
		n += (size_t)sprintf(reply + n, "535-");
		while (n + pl + 1 <= 4 + 4090)
			n += (size_t)sprintf(reply + n, "%s ", pw);
		n += (size_t)sprintf(reply + n, "\r\n535-");
		/* a line of exactly SD_LINE_MAX bytes that ends with it */
		memset(reply + n, 'a', 4092 - pl);
		n += 4092 - pl;
		n += (size_t)sprintf(reply + n, "%s\r\n535 5.7.8 %s\r\n", pw, pw);
		peer p;
		peer_start(&p, B_NORMAL, reply);
		password = pw;
		sd_report *r = run_check(&p, SD_TLS_NONE, 1, 10);
		password = SECRET;
		peer_stop(&p);
		assert_int_equal(p.auth_seen, 1);
		assert_string_equal(sd_report_cause(r), "auth.bad_credentials");
		size_t i;
		json_t *f;
		int seen = 0;
		json_array_foreach(r->facts, i, f) {
			const char *id = json_string_value(json_object_get(f, "id"));
			if (strncmp(id, "auth.", 5) != 0)
				continue;
			const char *text = json_string_value(json_object_get(f,
			    "text"));
			assert_non_null(text);
			assert_null(strstr(text, pw));
			assert_non_null(strstr(text,
			    "aaaa<redacted>\n5.7.8 <redacted>"));
			seen++;
		}
		assert_int_equal(seen, 1);
		sd_report_free(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plaintext_auth_allowed),
		cmocka_unit_test(plaintext_auth_refused),
		cmocka_unit_test(one_login_per_run),
		cmocka_unit_test(drip_is_cut_by_the_deadline),
		cmocka_unit_test(endless_reply_is_bounded),
		cmocka_unit_test(long_line_is_bounded),
		cmocka_unit_test(echo_of_a_refused_auth),
		cmocka_unit_test(short_password_echoed_all_over),
		cmocka_unit_test(echo_after_auth_and_on_another_connection),
		cmocka_unit_test(two_checks_and_a_domain_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
