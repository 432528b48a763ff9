/*
 * The connection layer against a peer of this test's own on 127.0.0.1 that
 * hangs up: plain and TLS, closed (FIN) and reset (RST).  SIGPIPE keeps its
 * default disposition here, as in a host program that never heard of it:
 * a write to the dead peer must come back as "closed" or "reset", never
 * end the process.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "net/conn.h"
#include "util/util.h"

typedef struct peer {
	int lfd;
	int port;
	SSL_CTX *tls;        /* NULL: plain TCP */
	int reset;           /* RST instead of FIN */
	pthread_t th;
} peer;

/* A throw-away self-signed P-256 certificate for the peer. */
static SSL_CTX *server_ctx(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	assert_non_null(k);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, n);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, k), 1);
	X509_free(x);
	EVP_PKEY_free(k);
	return ctx;
}

/* One connection: (TLS handshake,) a greeting, then hang up at once. */
static void *serve(void *arg)
{
	peer *p = arg;
	int fd = accept(p->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	SSL *ssl = NULL;
	if (p->tls) {
		ssl = SSL_new(p->tls);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) != 1)
			goto out;
		SSL_write(ssl, "220 hello\r\n", 11);
	} else if (send(fd, "220 hello\r\n", 11, MSG_NOSIGNAL) != 11) {
		goto out;
	}
	/* hang up only once the client has read the greeting (it says so):
	 * an RST would discard the greeting unread */
	char ack[4];
	if (ssl ? SSL_read(ssl, ack, 4) <= 0 : recv(fd, ack, 4, 0) <= 0)
		goto out;
	if (p->reset) {
		/* SO_LINGER 0: close() sends RST */
		struct linger lg = { 1, 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
out:
	SSL_free(ssl);   /* no close_notify: SSL_shutdown is never called */
	close(fd);
	return NULL;
}

static void peer_start(peer *p, int tls, int reset)
{
	memset(p, 0, sizeof *p);
	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(p->lfd, 4), 0);
	socklen_t l = sizeof a;
	getsockname(p->lfd, (struct sockaddr *)&a, &l);
	p->port = ntohs(a.sin_port);
	p->tls = tls ? server_ctx() : NULL;
	p->reset = reset;
	assert_int_equal(pthread_create(&p->th, NULL, serve, p), 0);
}

static void peer_stop(peer *p)
{
	pthread_join(p->th, NULL);
	close(p->lfd);
	SSL_CTX_free(p->tls);
}

/* Connects to the peer (with TLS: the handshake), reads the greeting and
 * tells the peer so, then waits until it has hung up. */
static sd_conn *greeted(int tls, int reset, SSL_CTX **cctx, int64_t dl)
{
	peer p;
	peer_start(&p, tls, reset);
	struct sockaddr_in a = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)p.port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sd_connect_result cr;
	int err;
	int64_t took;
	sd_conn *c = sd_conn_connect((struct sockaddr *)&a, sizeof a, dl, NULL,
	    &cr, &err, &took);
	assert_non_null(c);
	*cctx = NULL;
	if (tls) {
		*cctx = sd_tls_client_ctx(NULL);
		assert_int_equal(sd_conn_tls(c, *cctx, "localhost", dl), SD_IO_OK);
	}
	char line[SD_LINE_MAX + 1];
	size_t len;
	assert_int_equal(sd_conn_read_line(c, line, sizeof line, &len, dl),
	    SD_IO_OK);
	assert_string_equal(line, "220 hello");
	assert_int_equal(sd_conn_write(c, "ACK\r\n", 5, dl), SD_IO_OK);
	peer_stop(&p);
	return c;
}

/* Writes to a peer that hung up until the write fails; returns that. */
static sd_io write_to_dead_peer(int tls, int reset)
{
	SSL_CTX *cctx;
	int64_t dl = sd_now_ms() + 5000;
	sd_conn *c = greeted(tls, reset, &cctx, dl);
	/* the first write after a FIN still succeeds (the peer answers it
	 * with RST); one of the next ones meets EPIPE/ECONNRESET */
	static char big[16384];
	memset(big, 'x', sizeof big);
	sd_io r = SD_IO_OK;
	for (int i = 0; i < 200 && r == SD_IO_OK; i++) {
		r = sd_conn_write(c, big, sizeof big, dl);
		usleep(1000);
	}
	sd_conn_close(c);
	SSL_CTX_free(cctx);
	return r;
}

/* One case per kind of hang-up: { tls, reset }. */
static const int cases[4][2] = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } };

static void write_after_hangup(void **st)
{
	const int *k = *st;
	sd_io r = write_to_dead_peer(k[0], k[1]);
	assert_true(r == SD_IO_EOF || r == SD_IO_RESET);
}

/* A read from a TLS peer that closed without close_notify is "closed",
 * not a TLS error. */
static void tls_read_after_close(void **st)
{
	(void)st;
	SSL_CTX *cctx;
	int64_t dl = sd_now_ms() + 5000;
	sd_conn *c = greeted(1, 0, &cctx, dl);
	char line[SD_LINE_MAX + 1];
	size_t len;
	assert_int_equal(sd_conn_read_line(c, line, sizeof line, &len, dl),
	    SD_IO_EOF);
	sd_conn_close(c);
	SSL_CTX_free(cctx);
}

int main(void)
{
	/* what a host program that never touched SIGPIPE has */
	signal(SIGPIPE, SIG_DFL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(write_after_hangup, (void *)cases[0]),
		cmocka_unit_test_prestate(write_after_hangup, (void *)cases[1]),
		cmocka_unit_test_prestate(write_after_hangup, (void *)cases[2]),
		cmocka_unit_test_prestate(write_after_hangup, (void *)cases[3]),
		cmocka_unit_test(tls_read_after_close),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
