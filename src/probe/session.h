/*
 * One probe: a TCP connection to one address and port and, depending on
 * its role, an SMTP session through greeting, EHLO, TLS, AUTH and the
 * envelope.  A probe observes and records facts; it never decides what a
 * reply means for the user.
 */
#ifndef SD_SESSION_H
#define SD_SESSION_H

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "report/report.h"
#include "smtp/reply.h"

typedef enum sd_role {
	SD_ROLE_MAIN,      /* the configured path: the whole transaction */
	SD_ROLE_ALT,       /* another port or address of the host: discovery */
	SD_ROLE_CONTROL,   /* an independent host: greeting, then QUIT */
	SD_ROLE_NONSMTP,   /* a non-SMTP control (443): connect only */
	SD_ROLE_FIX,       /* the way around, verified: the whole transaction */
} sd_role;

const char *sd_role_name(sd_role r);

typedef enum sd_mode {
	SD_MODE_PLAIN,       /* wait for the greeting (then STARTTLS if wanted) */
	SD_MODE_PLAIN_SNIFF, /* the same, but after a silent wait try TLS:
	                        is this an implicit-TLS port? */
	SD_MODE_IMPLICIT,    /* TLS first */
} sd_mode;

/* Shared by every probe of one run. */
typedef struct sd_run {
	sd_report *report;
	const sd_check_params *params;
	const sd_options *opt;
	SSL_CTX *tls;
	const char *ehlo_name;
	/* the forms of the secret, built before the first connection and
	 * kept for the whole run: any connection may hear one echoed */
	const struct sd_secrets *secrets;
	int64_t deadline_ms;        /* whole run */
	int64_t connect_ms;         /* --connect-timeout */
	int64_t reply_ms;           /* one reply's deadline (stage deadline) */
	int64_t sniff_ms;           /* silent wait before trying implicit TLS */
	atomic_int cancel;          /* stop the probes still running */
	atomic_int auth_attempted;  /* a login was tried: never another one */
	atomic_int auth_rejected;
} sd_run;

typedef struct sd_probe {
	sd_run *run;
	sd_role role;
	int port;
	struct sockaddr_storage sa;
	socklen_t salen;
	char addr[64];
	int family;                /* 4 or 6 */
	char host[256];            /* name for SNI and the certificate */
	sd_mode mode;
	int starttls;              /* do STARTTLS when offered */

	/* results, for the orchestration of the next phase */
	struct sd_jobgroup *job;   /* the probe as a job (probe/jobs.h) */
	int started;
	char conn_id[128];         /* the tcp fact id */
	int connected;
	int greeted;               /* an SMTP 2xx greeting */
	int tls_ok;                /* a TLS session is up */
	int cert_ok;
	int auth_offered;          /* AUTH offered (after TLS when TLS is up) */
	int auth_ok;
	int plaintext_answer;      /* TLS expected, "220" came */
	int implicit_detected;     /* no greeting, TLS handshake succeeded */
	int reached_auth;
	int finished;              /* the transaction completed */
	atomic_int done;           /* the probe's thread has ended */
	/* An alternative that reached EHLO (after TLS) parks there, its
	 * connection open, until the run decides: go on with AUTH and the
	 * envelope as the verified way around (1), or QUIT (2). */
	int park;
	atomic_int parked;
	atomic_int decision;
} sd_probe;

/* Sets the probe's address (a literal of `family` 4 or 6) and port;
 * 0 when addr is not such a literal. */
int sd_probe_set_addr(sd_probe *p, const char *addr, int family, int port);
/*
 * The test message `check --send` sends (headers and two lines, ending in
 * CRLF, without the "." that ends DATA), into out; its length, or -1 when
 * it does not fit.  ehlo NULL: this machine's name.  Also what
 * `check --send --score` gives the content filter.
 */
int sd_check_test_message(char *out, size_t cap, const char *ehlo,
    const char *from, const char *to);

/* Runs the probe (blocking); fills its results and adds facts. */
void sd_probe_run(sd_probe *p);

/* Starts it as a job of the probe engine (probe/jobs.h); sd_probe_join
 * waits for it (it ends by the run's deadline). */
int sd_probe_start(sd_probe *p);
void sd_probe_join(sd_probe *p);

#endif
