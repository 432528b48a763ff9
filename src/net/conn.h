/*
 * A TCP connection with deadlines: a non-blocking connect that records how
 * it ended, bounded line reads, writes, and TLS (implicit or after
 * STARTTLS) through OpenSSL.  Every wait is a poll() on CLOCK_MONOTONIC
 * deadlines, in slices so that a cancel flag is noticed.
 */
#ifndef SD_CONN_H
#define SD_CONN_H

#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef enum sd_connect_result {
	SD_CONNECTED = 0,
	SD_CONN_REFUSED,         /* RST: nothing listens, or REJECT tcp-reset */
	SD_CONN_TIMEOUT,         /* no answer: filtered on the path */
	SD_CONN_HOST_UNREACH,    /* ICMP host unreachable / prohibited */
	SD_CONN_NET_UNREACH,     /* ICMP network unreachable from the path */
	SD_CONN_NO_ROUTE,        /* ENETUNREACH at once: this machine has no
	                            route (no IPv6 here, no network) */
	SD_CONN_LOCAL_DENIED,    /* EPERM/EACCES at once: this machine's own
	                            policy (a prohibit route, a local rule) */
	SD_CONN_PROHIBITED,      /* EACCES later: ICMP "administratively
	                            prohibited" from a device on the path */
	SD_CONN_CANCELLED,       /* the run no longer needed it */
	SD_CONN_ERROR,           /* anything else */
} sd_connect_result;

const char *sd_connect_result_name(sd_connect_result r);

/* I/O results. */
typedef enum sd_io {
	SD_IO_OK = 0,
	SD_IO_TIMEOUT,     /* nothing (more) arrived before the deadline */
	SD_IO_EOF,         /* the peer closed */
	SD_IO_RESET,       /* the peer reset */
	SD_IO_TOO_LONG,    /* a line longer than the limit */
	SD_IO_TLS,         /* a TLS error (see sd_conn_tls_error) */
	SD_IO_CANCELLED,
	SD_IO_ERROR,
} sd_io;

const char *sd_io_name(sd_io r);

/* Longest line we accept from a peer (RFC 5321 says 512; servers send
 * longer EHLO lines, so allow some slack but stay bounded). */
#define SD_LINE_MAX 4096

typedef struct sd_conn sd_conn;

/*
 * Connects to sa before deadline_ms.  Returns the connection (NULL unless
 * *result is SD_CONNECTED); *err gets errno, *took_ms the time spent.
 */
sd_conn *sd_conn_connect(const struct sockaddr *sa, socklen_t salen,
    int64_t deadline_ms, const atomic_int *cancel, sd_connect_result *result,
    int *err, int64_t *took_ms);

/* Reads one line (without CRLF) into buf (cap >= SD_LINE_MAX + 1). */
sd_io sd_conn_read_line(sd_conn *c, char *buf, size_t cap, size_t *len,
    int64_t deadline_ms);

/* Waits until data is readable (or the deadline): SD_IO_OK if some is. */
sd_io sd_conn_wait_readable(sd_conn *c, int64_t deadline_ms);

sd_io sd_conn_write(sd_conn *c, const char *data, size_t len,
    int64_t deadline_ms);

/*
 * TLS handshake on the connection (SNI = host when it is a name).  The
 * certificate is not enforced here: the caller reads the verification
 * result and decides.  On failure, sd_conn_tls_error() says why, and
 * sd_conn_first_bytes() shows what the peer sent instead of a ServerHello.
 */
sd_io sd_conn_tls(sd_conn *c, SSL_CTX *ctx, const char *host,
    int64_t deadline_ms);

/* Why a TLS handshake failed, as a class rules can read (the fact member
 * "failure"); sd_conn_tls_error() has the words for people. */
typedef enum sd_tls_failure {
	SD_TLS_FAIL_NONE = 0,
	SD_TLS_FAIL_PROTOCOL,    /* an alert or a protocol error: no common
	                          * version or cipher, a bad record */
	SD_TLS_FAIL_RESET,       /* the peer reset mid-handshake */
	SD_TLS_FAIL_CLOSED,      /* the peer closed mid-handshake */
	SD_TLS_FAIL_EARLY_DATA,  /* bytes arrived before the handshake began */
	SD_TLS_FAIL_TIMEOUT,     /* no answer before the deadline */
	SD_TLS_FAIL_LOCAL,       /* this side could not start one */
} sd_tls_failure;

/* "protocol", "reset", "closed", "early_data", "timeout", "local", or
 * NULL for SD_TLS_FAIL_NONE. */
const char *sd_tls_failure_name(sd_tls_failure f);

SSL *sd_conn_ssl(sd_conn *c);
const char *sd_conn_tls_error(const sd_conn *c);
sd_tls_failure sd_conn_tls_failure(const sd_conn *c);
const unsigned char *sd_conn_first_bytes(const sd_conn *c, size_t *len);
/* Bytes the peer sent during the last TLS handshake (a handshake that
 * stopped half-way has some). */
size_t sd_conn_tls_received(const sd_conn *c);
/* Bytes already buffered but not yet consumed (pipelining detection). */
size_t sd_conn_buffered(const sd_conn *c);

void sd_conn_close(sd_conn *c);

/* A client TLS context: system CAs plus ca_file (may be NULL). */
SSL_CTX *sd_tls_client_ctx(const char *ca_file);

/* The process's trust store: the system's CAs (their hashed directory,
 * each CA read when a chain first needs it) plus ca_file.  A new
 * reference (X509_STORE_free it), or NULL when ca_file cannot be read. */
X509_STORE *sd_tls_store(const char *ca_file);

#endif
