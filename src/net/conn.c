/* Connections with deadlines; see conn.h. */
#include "net/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"

#include <arpa/inet.h>

/* 1 when s is an IPv4 or IPv6 literal (no SNI for those). */
static int inet_pton_any(const char *s, unsigned char *buf)
{
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* How often a wait looks at the cancel flag. */
#define SLICE_MS 100
/* Bytes kept of what the peer sent during a TLS handshake. */
#define FIRST_BYTES 64

struct sd_conn {
	int fd;
	SSL *ssl;
	const atomic_int *cancel;
	char in[SD_LINE_MAX * 2];
	size_t in_len;
	unsigned char first[FIRST_BYTES];
	size_t first_len;
	size_t hs_bytes;       /* bytes the peer sent during the handshake */
	char tls_err[256];
	sd_tls_failure tls_fail;
};

const char *sd_connect_result_name(sd_connect_result r)
{
	switch (r) {
	case SD_CONNECTED: return "connected";
	case SD_CONN_REFUSED: return "refused";
	case SD_CONN_TIMEOUT: return "timeout";
	case SD_CONN_HOST_UNREACH: return "host_unreachable";
	case SD_CONN_NET_UNREACH: return "network_unreachable";
	case SD_CONN_NO_ROUTE: return "no_route";
	case SD_CONN_LOCAL_DENIED: return "local_denied";
	case SD_CONN_PROHIBITED: return "prohibited";
	case SD_CONN_CANCELLED: return "cancelled";
	case SD_CONN_ERROR: return "error";
	}
	return "error";
}

const char *sd_io_name(sd_io r)
{
	switch (r) {
	case SD_IO_OK: return "ok";
	case SD_IO_TIMEOUT: return "timeout";
	case SD_IO_EOF: return "closed";
	case SD_IO_RESET: return "reset";
	case SD_IO_TOO_LONG: return "line_too_long";
	case SD_IO_TLS: return "tls_error";
	case SD_IO_CANCELLED: return "cancelled";
	case SD_IO_ERROR: return "error";
	}
	return "error";
}

static sd_connect_result classify_errno(int e)
{
	switch (e) {
	case ECONNREFUSED: return SD_CONN_REFUSED;
	case ETIMEDOUT: return SD_CONN_TIMEOUT;
	case EHOSTUNREACH: return SD_CONN_HOST_UNREACH;
	case ENETUNREACH: return SD_CONN_NET_UNREACH;
	case EPERM:
	case EACCES: return SD_CONN_LOCAL_DENIED;
	default: return SD_CONN_ERROR;
	}
}

static int cancelled(const atomic_int *cancel)
{
	/* the run's own flag, or its caller gave the whole run up */
	return (cancel && atomic_load(cancel)) || sd_cancelled();
}

/* poll() one fd until an event, the deadline, or a cancel. */
static int wait_fd(int fd, short events, int64_t deadline_ms,
    const atomic_int *cancel, sd_io *why)
{
	for (;;) {
		if (cancelled(cancel)) {
			*why = SD_IO_CANCELLED;
			return 0;
		}
		int64_t left = sd_remaining_ms(deadline_ms);
		if (left == 0) {
			*why = SD_IO_TIMEOUT;
			return 0;
		}
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, (int)(left < SLICE_MS ? left : SLICE_MS));
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR) {
			*why = SD_IO_ERROR;
			return 0;
		}
	}
}

sd_conn *sd_conn_connect(const struct sockaddr *sa, socklen_t salen,
    int64_t deadline_ms, const atomic_int *cancel, sd_connect_result *result,
    int *err, int64_t *took_ms)
{
	int64_t t0 = sd_now_ms();
	*err = 0;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0) {
		*err = errno;
		*result = classify_errno(errno);
		*took_ms = sd_now_ms() - t0;
		return NULL;
	}
	if (connect(fd, sa, salen) != 0 && errno != EINPROGRESS) {
		*err = errno;
		*result = classify_errno(errno);
		/* refused before any packet left: this machine has no route */
		if (*result == SD_CONN_NET_UNREACH)
			*result = SD_CONN_NO_ROUTE;
		goto fail;
	}
	sd_io why;
	if (!wait_fd(fd, POLLOUT, deadline_ms, cancel, &why)) {
		*result = why == SD_IO_CANCELLED ? SD_CONN_CANCELLED :
		    why == SD_IO_TIMEOUT ? SD_CONN_TIMEOUT : SD_CONN_ERROR;
		*err = why == SD_IO_TIMEOUT ? ETIMEDOUT : 0;
		goto fail;
	}
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (soerr) {
		*err = soerr;
		*result = classify_errno(soerr);
		/* connect() itself accepted the attempt: the refusal came back
		 * from the network (Linux maps ICMP code 13 to EACCES) */
		if (*result == SD_CONN_LOCAL_DENIED)
			*result = SD_CONN_PROHIBITED;
		goto fail;
	}
	sd_conn *c = calloc(1, sizeof *c);
	if (!c) {
		*result = SD_CONN_ERROR;
		*err = ENOMEM;
		goto fail;
	}
	c->fd = fd;
	c->cancel = cancel;
	*result = SD_CONNECTED;
	*took_ms = sd_now_ms() - t0;
	return c;
fail:
	close(fd);
	*took_ms = sd_now_ms() - t0;
	return NULL;
}

/* OpenSSL 3 reports a peer that closed the socket without close_notify as
 * an SSL error; for the report it is a closed connection like any other. */
static int tls_eof(int ssl_error)
{
	unsigned long le = ERR_peek_last_error();
	return ssl_error == SSL_ERROR_SSL && ERR_GET_LIB(le) == ERR_LIB_SSL &&
	    ERR_GET_REASON(le) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

/* Reads more bytes into c->in; SD_IO_OK when some arrived. */
static sd_io fill(sd_conn *c, int64_t deadline_ms)
{
	if (c->in_len >= sizeof c->in)
		return SD_IO_TOO_LONG;
	for (;;) {
		if (c->ssl) {
			ERR_clear_error();
			int n = SSL_read(c->ssl, c->in + c->in_len,
			    (int)(sizeof c->in - c->in_len));
			if (n > 0) {
				c->in_len += (size_t)n;
				return SD_IO_OK;
			}
			int e = SSL_get_error(c->ssl, n);
			short ev;
			if (e == SSL_ERROR_WANT_READ)
				ev = POLLIN;
			else if (e == SSL_ERROR_WANT_WRITE)
				ev = POLLOUT;
			else if (e == SSL_ERROR_ZERO_RETURN)
				return SD_IO_EOF;
			else if (e == SSL_ERROR_SYSCALL || tls_eof(e))
				return errno == ECONNRESET ? SD_IO_RESET : SD_IO_EOF;
			else {
				ERR_error_string_n(ERR_peek_last_error(),
				    c->tls_err, sizeof c->tls_err);
				return SD_IO_TLS;
			}
			sd_io why;
			if (!wait_fd(c->fd, ev, deadline_ms, c->cancel, &why))
				return why;
			continue;
		}
		ssize_t n = recv(c->fd, c->in + c->in_len,
		    sizeof c->in - c->in_len, 0);
		if (n > 0) {
			c->in_len += (size_t)n;
			return SD_IO_OK;
		}
		if (n == 0)
			return SD_IO_EOF;
		if (errno == ECONNRESET)
			return SD_IO_RESET;
		if (errno != EAGAIN && errno != EINTR)
			return SD_IO_ERROR;
		sd_io why;
		if (!wait_fd(c->fd, POLLIN, deadline_ms, c->cancel, &why))
			return why;
	}
}

sd_io sd_conn_read_line(sd_conn *c, char *buf, size_t cap, size_t *len,
    int64_t deadline_ms)
{
	size_t limit = cap - 1 < SD_LINE_MAX ? cap - 1 : SD_LINE_MAX;
	for (;;) {
		char *nl = memchr(c->in, '\n', c->in_len);
		if (nl) {
			size_t l = (size_t)(nl - c->in);
			size_t keep = l;
			if (keep && c->in[keep - 1] == '\r')
				keep--;
			if (keep > limit)
				return SD_IO_TOO_LONG;
			memcpy(buf, c->in, keep);
			buf[keep] = '\0';
			*len = keep;
			memmove(c->in, nl + 1, c->in_len - l - 1);
			c->in_len -= l + 1;
			return SD_IO_OK;
		}
		if (c->in_len > limit)
			return SD_IO_TOO_LONG;
		sd_io r = fill(c, deadline_ms);
		if (r != SD_IO_OK)
			return r;
	}
}

sd_io sd_conn_wait_readable(sd_conn *c, int64_t deadline_ms)
{
	if (c->in_len || (c->ssl && SSL_pending(c->ssl)))
		return SD_IO_OK;
	sd_io why;
	if (!wait_fd(c->fd, POLLIN, deadline_ms, c->cancel, &why))
		return why;
	return SD_IO_OK;
}

sd_io sd_conn_write(sd_conn *c, const char *data, size_t len,
    int64_t deadline_ms)
{
	size_t off = 0;
	while (off < len) {
		short ev = POLLOUT;
		if (c->ssl) {
			ERR_clear_error();
			int n = SSL_write(c->ssl, data + off, (int)(len - off));
			if (n > 0) {
				off += (size_t)n;
				continue;
			}
			int e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_READ)
				ev = POLLIN;
			else if (e == SSL_ERROR_SYSCALL || tls_eof(e))
				return errno == EPIPE || tls_eof(e) ? SD_IO_EOF :
				    SD_IO_RESET;
			else if (e != SSL_ERROR_WANT_WRITE)
				return SD_IO_TLS;
		} else {
			ssize_t n = send(c->fd, data + off, len - off,
			    MSG_NOSIGNAL);
			if (n > 0) {
				off += (size_t)n;
				continue;
			}
			if (n < 0 && errno == ECONNRESET)
				return SD_IO_RESET;
			if (n < 0 && errno == EPIPE)
				return SD_IO_EOF;
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return SD_IO_ERROR;
		}
		sd_io why;
		if (!wait_fd(c->fd, ev, deadline_ms, c->cancel, &why))
			return why;
	}
	return SD_IO_OK;
}

/* Keeps the first bytes the peer sends during the handshake, so that a
 * plaintext "220 ..." where a ServerHello belongs can be shown. */
static long capture_cb(BIO *b, int oper, const char *argp, size_t len,
    int argi, long argl, int ret, size_t *processed)
{
	(void)len;
	(void)argi;
	(void)argl;
	if (oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0 && processed) {
		sd_conn *c = (sd_conn *)BIO_get_callback_arg(b);
		size_t n = *processed;
		if (c)
			c->hs_bytes += n;
		if (c && c->first_len < FIRST_BYTES) {
			if (n > FIRST_BYTES - c->first_len)
				n = FIRST_BYTES - c->first_len;
			memcpy(c->first + c->first_len, argp, n);
			c->first_len += n;
		}
	}
	return ret;
}

/*
 * OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE when
 * the peer has closed or reset: a server hanging up after AUTH would kill
 * the host program.  A library must not touch signal dispositions, so the
 * TLS layer gets a socket BIO of ours that is OpenSSL's in everything but
 * the write, which uses send(MSG_NOSIGNAL) and sees EPIPE instead.
 */
static int nosig_write(BIO *b, const char *data, int len)
{
	int fd = -1;
	BIO_get_fd(b, &fd);
	errno = 0;
	ssize_t n = send(fd, data, (size_t)len, MSG_NOSIGNAL);
	BIO_clear_retry_flags(b);
	if (n <= 0 && BIO_sock_should_retry((int)n))
		BIO_set_retry_write(b);
	return (int)n;
}

static int nosig_puts(BIO *b, const char *s)
{
	return nosig_write(b, s, (int)strlen(s));
}

static BIO_METHOD *nosig_method;

static void nosig_method_init(void)
{
	const BIO_METHOD *sock = BIO_s_socket();
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK |
	    BIO_TYPE_DESCRIPTOR, "socket (MSG_NOSIGNAL)");
	if (!m)
		return;
	if (!BIO_meth_set_write(m, nosig_write) ||
	    !BIO_meth_set_puts(m, nosig_puts) ||
	    !BIO_meth_set_read(m, BIO_meth_get_read(sock)) ||
	    !BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(sock)) ||
	    !BIO_meth_set_create(m, BIO_meth_get_create(sock)) ||
	    !BIO_meth_set_destroy(m, BIO_meth_get_destroy(sock))) {
		BIO_meth_free(m);
		return;
	}
	nosig_method = m;
}

/* A socket BIO on fd (not closing it) whose writes never raise SIGPIPE;
 * NULL when OpenSSL cannot make one. */
static BIO *nosig_bio(int fd)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, nosig_method_init);
	if (!nosig_method)
		return NULL;
	BIO *b = BIO_new(nosig_method);
	if (b)
		BIO_set_fd(b, fd, BIO_NOCLOSE);
	return b;
}

sd_io sd_conn_tls(sd_conn *c, SSL_CTX *ctx, const char *host,
    int64_t deadline_ms)
{
	if (c->in_len) {
		/* bytes after STARTTLS's 220 would be injected plaintext */
		snprintf(c->tls_err, sizeof c->tls_err,
		    "the server sent data before the TLS handshake");
		c->tls_fail = SD_TLS_FAIL_EARLY_DATA;
		return SD_IO_TLS;
	}
	BIO *bio = nosig_bio(c->fd);
	if (!bio) {
		c->tls_fail = SD_TLS_FAIL_LOCAL;
		return SD_IO_ERROR;
	}
	c->ssl = SSL_new(ctx);
	if (!c->ssl) {
		BIO_free(bio);
		c->tls_fail = SD_TLS_FAIL_LOCAL;
		return SD_IO_ERROR;
	}
	/* one BIO for both directions: the SSL owns it from here */
	SSL_set_bio(c->ssl, bio, bio);
	unsigned char tmp[16];
	if (host && inet_pton_any(host, tmp) == 0)
		SSL_set_tlsext_host_name(c->ssl, host);
	BIO *rb = SSL_get_rbio(c->ssl);
	BIO_set_callback_arg(rb, (char *)c);
	BIO_set_callback_ex(rb, capture_cb);
	c->first_len = 0;
	c->hs_bytes = 0;
	for (;;) {
		ERR_clear_error();
		int n = SSL_connect(c->ssl);
		if (n == 1)
			break;
		int e = SSL_get_error(c->ssl, n);
		short ev;
		if (e == SSL_ERROR_WANT_READ)
			ev = POLLIN;
		else if (e == SSL_ERROR_WANT_WRITE)
			ev = POLLOUT;
		else {
			unsigned long le = ERR_peek_last_error();
			if (le) {
				ERR_error_string_n(le, c->tls_err,
				    sizeof c->tls_err);
				c->tls_fail = SD_TLS_FAIL_PROTOCOL;
			} else if (e == SSL_ERROR_SYSCALL && errno == ECONNRESET) {
				snprintf(c->tls_err, sizeof c->tls_err,
				    "connection reset during the TLS handshake");
				c->tls_fail = SD_TLS_FAIL_RESET;
			} else {
				snprintf(c->tls_err, sizeof c->tls_err,
				    "connection closed during the TLS handshake");
				c->tls_fail = SD_TLS_FAIL_CLOSED;
			}
			BIO_set_callback_ex(rb, NULL);
			return SD_IO_TLS;
		}
		sd_io why;
		if (!wait_fd(c->fd, ev, deadline_ms, c->cancel, &why)) {
			BIO_set_callback_ex(rb, NULL);
			snprintf(c->tls_err, sizeof c->tls_err,
			    "the TLS handshake did not finish in time");
			c->tls_fail = why == SD_IO_TIMEOUT ? SD_TLS_FAIL_TIMEOUT :
			    SD_TLS_FAIL_LOCAL;
			return why;
		}
	}
	BIO_set_callback_ex(rb, NULL);
	return SD_IO_OK;
}

SSL *sd_conn_ssl(sd_conn *c)
{
	return c->ssl;
}

const char *sd_conn_tls_error(const sd_conn *c)
{
	return c->tls_err;
}

sd_tls_failure sd_conn_tls_failure(const sd_conn *c)
{
	return c->tls_fail;
}

const char *sd_tls_failure_name(sd_tls_failure f)
{
	switch (f) {
	case SD_TLS_FAIL_NONE: return NULL;
	case SD_TLS_FAIL_PROTOCOL: return "protocol";
	case SD_TLS_FAIL_RESET: return "reset";
	case SD_TLS_FAIL_CLOSED: return "closed";
	case SD_TLS_FAIL_EARLY_DATA: return "early_data";
	case SD_TLS_FAIL_TIMEOUT: return "timeout";
	case SD_TLS_FAIL_LOCAL: return "local";
	}
	return NULL;
}

const unsigned char *sd_conn_first_bytes(const sd_conn *c, size_t *len)
{
	*len = c->first_len;
	return c->first;
}

size_t sd_conn_tls_received(const sd_conn *c)
{
	return c->hs_bytes;
}

size_t sd_conn_buffered(const sd_conn *c)
{
	return c->in_len;
}

void sd_conn_close(sd_conn *c)
{
	if (!c)
		return;
	if (c->ssl) {
		SSL_set_quiet_shutdown(c->ssl, 1);
		SSL_free(c->ssl);
	}
	close(c->fd);
	free(c);
}

/* The system's CAs in `st`; 1 on success. */
static int trust_system(X509_STORE *st)
{
	/* the hashed directory is read lazily, certificate by certificate:
	 * the bundle file costs ~40 ms of parsing and ~1 MiB of memory for
	 * its ~140 certificates.  Where the user points OpenSSL elsewhere
	 * (SSL_CERT_FILE/DIR) or there is no such directory, the default
	 * paths, bundle included */
	struct stat sb;
	const char *dir = X509_get_default_cert_dir();
	if (!getenv("SSL_CERT_FILE") && !getenv("SSL_CERT_DIR") && dir &&
	    stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    X509_STORE_load_path(st, dir) == 1)
		return 1;
	return X509_STORE_set_default_paths(st) == 1;
}

/*
 * One trust store per process, shared by every TLS context of the probes
 * and of the HTTPS fetches (X509_STORE counts its references and locks
 * itself): the system's CAs (a bundle named by SSL_CERT_FILE is parsed
 * once, not once per context) and --ca-file.  Rebuilt only when a caller
 * names another ca_file (a library caller's choice); contexts made before
 * keep their own reference to the old one.
 */
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static X509_STORE *store;
static char *store_ca;     /* the ca_file it holds, or NULL */

static int same_ca(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

X509_STORE *sd_tls_store(const char *ca_file)
{
	pthread_mutex_lock(&store_lock);
	if (!store || !same_ca(store_ca, ca_file)) {
		X509_STORE *st = X509_STORE_new();
		char *ca = ca_file ? strdup(ca_file) : NULL;
		if (!st || (ca_file && !ca) || !trust_system(st) ||
		    (ca_file && X509_STORE_load_file(st, ca_file) != 1)) {
			X509_STORE_free(st);
			free(ca);
			pthread_mutex_unlock(&store_lock);
			return NULL;
		}
		X509_STORE_free(store);
		free(store_ca);
		store = st;
		store_ca = ca;
	}
	X509_STORE *st = X509_STORE_up_ref(store) == 1 ? store : NULL;
	pthread_mutex_unlock(&store_lock);
	return st;
}

SSL_CTX *sd_tls_client_ctx(const char *ca_file)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	X509_STORE *st = ctx ? sd_tls_store(ca_file) : NULL;
	if (!st) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set1_cert_store(ctx, st);
	X509_STORE_free(st);
	/* verification is judged by the caller from the result, so that an
	 * invalid chain can still be shown */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
	return ctx;
}
