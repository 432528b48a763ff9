/*
 * smtpdoctor: why can't this account send mail?
 *
 * The public interface of libsmtpdoctor.  A run takes options, probes the
 * outbound path, and returns a report: facts (what was observed), findings
 * (what the rules made of them) and one verdict.  Nothing here prints or
 * exits; renderers turn a report into text or JSON.
 *
 * Ownership: every sd_*_new() / sd_*() that returns a pointer hands the
 * caller a reference to free with the matching *_free().  Strings passed in
 * are borrowed for the duration of the call unless stated otherwise.
 */
#ifndef SMTPDOCTOR_H
#define SMTPDOCTOR_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SD_SCHEMA "smtpdoctor/1"

/* Verdict status: the exit status follows it (0 ok/warn, 1 fail, 3
 * inconclusive). */
typedef enum sd_status {
	SD_STATUS_OK = 0,
	SD_STATUS_WARN,
	SD_STATUS_FAIL,
	SD_STATUS_INCONCLUSIVE,
} sd_status;

/* Library-level errors (not diagnoses: a diagnosis is a verdict). */
typedef enum sd_error {
	SD_OK = 0,
	SD_ERR_USAGE,     /* bad input from the caller */
	SD_ERR_NOMEM,     /* out of memory */
	SD_ERR_INTERNAL,  /* a dependency failed to initialise */
} sd_error;

const char *sd_strerror(sd_error err);
const char *sd_version(void);

/* How the user's client is configured to secure the session. */
typedef enum sd_tls_mode {
	SD_TLS_UNSET = 0,  /* not given: the conventional mode of the port */
	SD_TLS_STARTTLS,
	SD_TLS_IMPLICIT,
	SD_TLS_NONE,
} sd_tls_mode;

/*
 * Progress of a run, for a display of what is being waited for.  The
 * library never prints: it calls the hook given in sd_options, from the
 * probing threads (the hook must be thread-safe and return quickly).
 * Strings are borrowed for the duration of the call; `target` and `what`
 * are the tool's own words (an address and port, a host name, a stage),
 * `detail` may quote a peer and is escaped.
 */
typedef enum sd_progress_kind {
	SD_PROGRESS_WAIT,   /* a wait begins: `what` on `target`, at most limit_s */
	SD_PROGRESS_DONE,   /* nothing more is waited for on `target` */
	SD_PROGRESS_STEP,   /* a stage ended: `detail` says how, `ok` 1/0/-1 */
} sd_progress_kind;

typedef struct sd_progress {
	sd_progress_kind kind;
	const char *target;    /* "192.0.2.10:587", "smtp.example.com" */
	const char *what;      /* "connect", "greeting", "tls", "dns", ... */
	int main_path;         /* 1: the configured path or its verified fix */
	double limit_s;        /* WAIT: how long it may last */
	const char *detail;    /* STEP: one line for people */
	int ok;                /* STEP: 1 worked, 0 failed, -1 neither */
} sd_progress;

typedef void (*sd_progress_fn)(void *arg, const sd_progress *event);

/* Options shared by every command (docs/smtpdoctor.md). */
typedef struct sd_options {
	double timeout;            /* whole run, seconds (default 30) */
	double connect_timeout;    /* one TCP connect, seconds (default 5) */
	const char **resolvers;    /* ADDR[:PORT] or [ADDR]:PORT; NULL = system */
	size_t n_resolvers;
	const char *trust_anchor;  /* file, or NULL for the root's */
	const char **dnsbl;        /* zones; n_dnsbl == 0 && dnsbl_set = none */
	size_t n_dnsbl;
	int dnsbl_set;
	const char **dbl;
	size_t n_dbl;
	int dbl_set;
	const char **control;      /* HOST:PORT */
	size_t n_control;
	int control_set;
	int no_control;
	const char *public_ip;
	const char *ca_file;
	int family;                /* 0 = both, 4, 6 */
	int verbose;               /* -1 quiet, 0 normal, 1 verbose */
	sd_progress_fn progress;   /* NULL: no progress events */
	void *progress_arg;
} sd_options;

void sd_options_init(sd_options *opt);

typedef struct sd_report sd_report;

/* A client's configuration file the settings were read from (--config):
 * what the fix needs to be written in that client's own terms. */
typedef struct sd_client_source {
	const char *format;       /* "msmtp", "git", "mutt", "thunderbird",
	                             "postfix" */
	const char *file;
	const char *account;      /* msmtp account, git identity, address */
	const char *git_prefix;   /* "IDENTITY." or "" */
	const char *url_user;     /* mutt: "USER@" of smtp_url, as written */
	const char *notes[4];     /* what was seen and not done */
	int n_notes;
} sd_client_source;

/* Parameters of `smtpdoctor check`. */
typedef struct sd_check_params {
	const char *address;       /* ADDRESS argument, may be NULL */
	const char *server;        /* --server */
	int port;                  /* --port, 0 = not given */
	sd_tls_mode tls;           /* --tls */
	const char *user;          /* --user, NULL = no AUTH configured */
	const char *password;      /* the secret, NUL-terminated, or NULL;
	                              borrowed: the caller wipes it */
	const char *password_note; /* why there is no password, for a finding */
	const char *auth_mech;     /* --auth, NULL = the best offered */
	const char *from;
	const char *to;
	const char *ehlo;          /* NULL = this machine's name */
	int send;
	/* with send: the test message goes to a content filter before the
	 * rules judge (content.spam_score); scorer "spamd://HOST[:PORT]" or
	 * "rspamd://HOST[:PORT]", NULL = a local spamd, then rspamd */
	int score;
	const char *scorer;
	int allow_plaintext_auth;
	int insecure;
	/* where the settings came from (docs/discovery.md): NULL = "flags", or
	 * "config" with source_detail naming the file and line */
	const char *source;
	const char *source_detail;
	const sd_client_source *client;   /* with "config", else NULL */
} sd_check_params;

/*
 * Runs a check.  Always returns a report (NULL only when out of memory);
 * the report carries the verdict.
 */
sd_report *sd_check(const sd_options *opt, const sd_check_params *params);

/* A report holding only a usage error (exit 2), for --json output. */
sd_report *sd_report_usage_error(const char *command, const char *message);

sd_status sd_report_status(const sd_report *r);
/* The verdict cause ("ok", "auth.bad_credentials", ...), owned by r. */
const char *sd_report_cause(const sd_report *r);
/* The exit status for this report: 0 ok or warn, 1 fail, 2 usage error,
 * 3 inconclusive. */
int sd_report_exit_code(const sd_report *r);

/* The report as one JSON document; malloc'd, caller frees. */
char *sd_report_to_json(const sd_report *r);
/* The report for people.  flags: SD_TEXT_COLOR (ANSI colours),
 * SD_TEXT_VERBOSE (every fact, and the SMTP conversation of the
 * configured path). */
#define SD_TEXT_COLOR 1
#define SD_TEXT_VERBOSE 2
void sd_report_write_text(const sd_report *r, FILE *out, int flags);

/* The report in one of the formats of --format. */
typedef enum sd_format {
	SD_FORMAT_TEXT,      /* for people, as sd_report_write_text */
	SD_FORMAT_JSON,      /* the document of smtpdoctor-json(5) */
	SD_FORMAT_MARKDOWN,  /* for a ticket: foreign text in code spans */
	SD_FORMAT_HTML,      /* one self-contained page, nothing fetched */
} sd_format;

/* Writes r to out in `format`; flags as for sd_report_write_text.
 * Returns 0, or -1 when out of memory or the format is unknown. */
int sd_report_write(const sd_report *r, FILE *out, sd_format format,
    int flags);

void sd_report_free(sd_report *r);

#ifdef __cplusplus
}
#endif

#endif
