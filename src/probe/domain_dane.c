/*
 * DANE: the TLSA records of an MX (_25._tcp.<mx>), their DNSSEC status,
 * then STARTTLS on port 25 of the MX and a match of the presented chain.
 * The SMTP exchange is the minimum: greeting, EHLO, STARTTLS, handshake,
 * QUIT; every wait ends by a deadline; every line goes to the transcript.
 */
#include "probe/domain_dane.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/conn.h"
#include "probe/domain_int.h"
#include "smtp/reply.h"
#include "tls/tlsinfo.h"
#include "util/util.h"

/* Addresses of one MX tried before giving up on a TLS session. */
#define DANE_ADDRS_MAX 2
/* The whole SMTP exchange with one address, at most. */
#define DANE_SESSION_MAX_MS 15000
/* Certificates of a chain looked at (real chains have 2-4). */
#define DANE_CHAIN_MAX 10

/* The bytes a TLSA selector covers, DER; malloc'd. */
static unsigned char *selected(X509 *x, unsigned selector, size_t *len)
{
	unsigned char *der = NULL;
	int n = selector == 0 ? i2d_X509(x, &der) :
	    i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (n <= 0)
		return NULL;
	*len = (size_t)n;
	return der;
}

static int matches(const sd_tlsa *t, X509 *x)
{
	size_t len = 0;
	unsigned char *der = selected(x, t->selector, &len);
	if (!der)
		return 0;
	int ok = 0;
	if (t->mtype == 0) {
		ok = len == t->len && memcmp(der, t->data, len) == 0;
	} else {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned mdlen = 0;
		const EVP_MD *alg = t->mtype == 1 ? EVP_sha256() : EVP_sha512();
		if (EVP_Digest(der, len, md, &mdlen, alg, NULL) == 1)
			ok = mdlen == t->len && memcmp(md, t->data, mdlen) == 0;
	}
	OPENSSL_free(der);
	return ok;
}

static void say(char *why, size_t whylen, const char *msg)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", msg);
}

int sd_dane_match(const sd_tlsa *t, STACK_OF(X509) *chain, const char *host,
    char *why, size_t whylen)
{
	int n = chain ? sk_X509_num(chain) : 0;
	if (n <= 0) {
		say(why, whylen, "the server presented no certificate");
		return -1;
	}
	if (n > DANE_CHAIN_MAX)
		n = DANE_CHAIN_MAX;
	if (t->selector > 1 || t->mtype > 2) {
		say(why, whylen, "unknown selector or matching type");
		return -1;
	}
	int ee = t->usage == 3 || t->usage == 1;
	if (ee) {
		if (matches(t, sk_X509_value(chain, 0)))
			return 0;
		say(why, whylen, "the server certificate does not match");
		return -1;
	}
	for (int d = 1; d < n; d++) {
		if (!matches(t, sk_X509_value(chain, d)))
			continue;
		if (t->usage == 0)
			return d;
		/* DANE-TA: the leaf must chain to the matched issuer */
		for (int i = 0; i < d; i++) {
			X509 *child = sk_X509_value(chain, i);
			X509 *parent = sk_X509_value(chain, i + 1);
			EVP_PKEY *pk = X509_get0_pubkey(parent);
			if (X509_check_issued(parent, child) != X509_V_OK ||
			    !pk || X509_verify(child, pk) != 1) {
				say(why, whylen, "an issuer matches, but the "
				    "chain below it is not signed by it");
				return -1;
			}
		}
		X509 *leaf = sk_X509_value(chain, 0);
		if (host && X509_check_host(leaf, host, 0, 0, NULL) != 1) {
			say(why, whylen, "an issuer matches, but the server "
			    "certificate is not for the MX host name");
			return -1;
		}
		if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0 ||
		    X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0) {
			say(why, whylen, "an issuer matches, but the server "
			    "certificate is outside its dates");
			return -1;
		}
		return d;
	}
	say(why, whylen, "no issuer certificate in the chain matches");
	return -1;
}

/* SHA-256 of the leaf's public key in hex: the data of a "3 1 1" record. */
static int leaf_spki_sha256(STACK_OF(X509) *chain, char out[65])
{
	if (!chain || sk_X509_num(chain) < 1)
		return 0;
	size_t len = 0;
	unsigned char *der = selected(sk_X509_value(chain, 0), 1, &len);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int ok = der && EVP_Digest(der, len, md, &mdlen, EVP_sha256(), NULL) == 1
	    && mdlen == 32;
	OPENSSL_free(der);
	if (!ok)
		return 0;
	static const char hex[] = "0123456789abcdef";
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
	return 1;
}

/* ------------------------------------------------------------------ */

typedef struct session {
	sd_dctx *c;
	const char *conn_id;
	sd_conn *conn;
	int64_t deadline;
	sd_reply *reply;
} session;

static void note(session *s, const char *fmt, const char *arg)
{
	char buf[600];
	snprintf(buf, sizeof buf, fmt, arg);
	sd_dctx_transcript(s->c, s->conn_id, 'I', buf, strlen(buf));
}

/* Reads one reply into s->reply; SD_IO_OK or why not. */
static sd_io read_reply(session *s, const char **problem)
{
	char line[SD_LINE_MAX + 1];
	size_t len;
	sd_reply_init(s->reply);
	for (;;) {
		sd_io io = sd_conn_read_line(s->conn, line, sizeof line, &len,
		    s->deadline);
		if (io != SD_IO_OK) {
			*problem = sd_io_name(io);
			return io;
		}
		sd_dctx_transcript(s->c, s->conn_id, 'S', line, len);
		sd_reply_rc rc = sd_reply_feed(s->reply, line, len);
		if (rc == SD_REPLY_DONE)
			return SD_IO_OK;
		if (rc != SD_REPLY_MORE) {
			*problem = sd_reply_rc_text(rc);
			return SD_IO_ERROR;
		}
	}
}

static sd_io command(session *s, const char *cmd, const char **problem)
{
	char buf[300];
	snprintf(buf, sizeof buf, "%s\r\n", cmd);
	sd_dctx_transcript(s->c, s->conn_id, 'C', cmd, strlen(cmd));
	sd_io io = sd_conn_write(s->conn, buf, strlen(buf), s->deadline);
	if (io != SD_IO_OK) {
		*problem = sd_io_name(io);
		return io;
	}
	return read_reply(s, problem);
}

/* The name we introduce ourselves with: this machine's, if qualified. */
static void ehlo_name(char *out, size_t len)
{
	char host[256] = "";
	if (gethostname(host, sizeof host - 1) == 0 && strchr(host, '.') &&
	    sd_hostname_valid(host))
		snprintf(out, len, "%s", host);
	else
		snprintf(out, len, "localhost.localdomain");
}

static int make_sockaddr(const char *ip, struct sockaddr_storage *ss,
    socklen_t *sl)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(25);
		*sl = sizeof *s4;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(25);
		*sl = sizeof *s6;
		return 0;
	}
	return -1;
}

/*
 * One SMTP session to `ip`: returns 1 when a TLS session was made (the
 * records are then matched and `f` filled), 0 otherwise (why in `f`).
 */
static int try_address(sd_dctx *c, const char *host, const char *ip,
    const char *conn_id, json_t *f, json_t *recs, sd_tlsa *tlsa, size_t n)
{
	const sd_dctx_conf *conf = sd_dctx_conf_of(c);
	struct sockaddr_storage ss;
	socklen_t sl;
	json_t *att = json_object();
	json_object_set_new(att, "address", json_string(ip));
	json_array_append_new(json_object_get(f, "attempts"), att);
	if (make_sockaddr(ip, &ss, &sl) != 0)
		return 0;
	int64_t deadline = sd_deadline_min(conf->deadline,
	    sd_now_ms() + DANE_SESSION_MAX_MS);
	int64_t cdl = sd_deadline_min(deadline,
	    sd_now_ms() + conf->connect_timeout_ms);
	sd_connect_result cr;
	int err;
	int64_t took;
	sd_conn *conn = sd_conn_connect((struct sockaddr *)&ss, sl, cdl, NULL,
	    &cr, &err, &took);
	json_object_set_new(att, "connect", json_string(
	    sd_connect_result_name(cr)));
	json_object_set_new(att, "connect_ms", json_integer(took));
	if (!conn)
		return 0;
	session s = { c, conn_id, conn, deadline, malloc(sizeof(sd_reply)) };
	int ok = 0;
	const char *problem = NULL;
	char ehlo[300], name[256];
	SSL_CTX *ctx = NULL;
	if (!s.reply)
		goto out;
	note(&s, "connected to %s port 25 (DANE check)", ip);
	if (read_reply(&s, &problem) != SD_IO_OK || s.reply->code != 220) {
		json_object_set_new(att, "error", json_string(problem ?
		    problem : "the greeting is not 220"));
		goto out;
	}
	ehlo_name(name, sizeof name);
	snprintf(ehlo, sizeof ehlo, "EHLO %s", name);
	if (command(&s, ehlo, &problem) != SD_IO_OK || s.reply->code != 250) {
		json_object_set_new(att, "error", json_string(problem ?
		    problem : "EHLO was not accepted"));
		goto out;
	}
	/* read from every line as it came, not from the text kept */
	json_object_set_new(att, "starttls_offered",
	    json_boolean(s.reply->caps.flags & SD_CAP_STARTTLS));
	if (!(s.reply->caps.flags & SD_CAP_STARTTLS)) {
		json_object_set_new(att, "error", json_string("the server does "
		    "not offer STARTTLS"));
		command(&s, "QUIT", &problem);
		goto out;
	}
	if (command(&s, "STARTTLS", &problem) != SD_IO_OK ||
	    s.reply->code != 220) {
		json_object_set_new(att, "error", json_string(problem ?
		    problem : "STARTTLS was refused"));
		goto out;
	}
	ctx = sd_tls_client_ctx(conf->ca_file);
	if (!ctx || sd_conn_tls(conn, ctx, host, deadline) != SD_IO_OK) {
		const char *e = ctx ? sd_conn_tls_error(conn) : "no TLS context";
		note(&s, "TLS handshake failed: %s", e);
		json_object_set_new(att, "error", json_string(e[0] ? e :
		    "the TLS handshake failed"));
		goto out;
	}
	SSL *ssl = sd_conn_ssl(conn);
	note(&s, "TLS established (%s)", SSL_get_version(ssl));
	json_t *tls = json_object();
	sd_tls_describe(ssl, host, tls);
	json_object_set_new(f, "tls", tls);
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	char spki[65];
	if (leaf_spki_sha256(chain, spki))
		json_object_set_new(f, "leaf_spki_sha256", json_string(spki));
	int any = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(recs, i);
		char why[200] = "";
		int d = sd_dane_match(&tlsa[i], chain, host, why, sizeof why);
		json_object_set_new(r, "matched", json_boolean(d >= 0));
		if (d >= 0)
			json_object_set_new(r, "depth", json_integer(d));
		else
			json_object_set_new(r, "mismatch", json_string(why));
		if (d >= 0 && json_is_true(json_object_get(r, "usable")))
			any = 1;
	}
	json_object_set_new(f, "matched", json_boolean(any));
	json_object_set_new(f, "checked_address", json_string(ip));
	ok = 1;
	command(&s, "QUIT", &problem);
out:
	SSL_CTX_free(ctx);
	free(s.reply);
	sd_conn_close(conn);
	return ok;
}

void sd_domain_check_dane(sd_dctx *c, const char *host)
{
	char name[320], id[SD_DOMAIN_ID_MAX], fid[SD_DOMAIN_ID_MAX];
	snprintf(name, sizeof name, "_25._tcp.%s", host);
	snprintf(fid, sizeof fid, "domain.dane.%s", host);
	sd_dns_answer a = { 0 };
	sd_dns_status st = sd_dctx_lookup(c, NULL, name, SD_DNS_TLSA, 0,
	    "domain", NULL, &a, id, sizeof id);
	json_t *ev = sd_evidence_add(NULL, id);
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "id", fid,
	    "stage", "domain", "check", "dane", "host", host, "name", name,
	    "status", sd_dns_status_name(st), "secure", a.secure);
	if (!f) {
		json_decref(ev);
		sd_dns_answer_clear(&a);
		return;
	}
	json_t *recs = json_array();
	sd_tlsa tlsa[32];
	size_t n = 0, usable = 0;
	for (size_t i = 0; i < a.n_rr && n < 32; i++) {
		sd_tlsa t;
		if (sd_rdata_tlsa(a.rr[i].rdata, a.rr[i].rdlen, &t) != 0)
			continue;
		const char *why = NULL;
		int u = sd_tlsa_usable(&t, &why);
		char *text = sd_tlsa_text(&t, 160);
		json_t *r = json_pack("{s:s, s:i, s:i, s:i, s:b}", "record",
		    text ? text : "", "usage", t.usage, "selector", t.selector,
		    "mtype", t.mtype, "usable", u);
		free(text);
		if (why)
			json_object_set_new(r, "unusable", json_string(why));
		json_array_append_new(recs, r);
		tlsa[n++] = t;
		usable += (size_t)u;
	}
	json_object_set_new(f, "records", recs);
	json_object_set_new(f, "usable", json_integer((json_int_t)usable));
	if (st == SD_DNS_OK && a.secure && usable) {
		/* DANE is in force for this MX: see what it presents */
		json_object_set_new(f, "attempts", json_array());
		int done = 0;
		size_t tried = 0;
		sd_dns_host_answer h;
		sd_dctx_host(c, host, 1, &h, &ev);
		for (int k = 0; k < 2 && !done; k++) {
			const sd_dns_answer *b = &h.a[k];
			for (size_t i = 0; i < b->n_rr && !done &&
			    tried < DANE_ADDRS_MAX; i++, tried++)
				done = try_address(c, host, b->rr[i].text, fid, f,
				    recs, tlsa, n);
		}
		sd_dns_host_clear(&h);
		json_object_set_new(f, "checked", json_boolean(done));
	}
	json_object_set_new(f, "evidence", ev);
	sd_dctx_fact(c, f, NULL, 0);
	sd_dns_answer_clear(&a);
}
