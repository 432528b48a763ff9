/*
 * The forms a user types for the outgoing server and its security mode:
 * HOST, HOST:PORT, [IPV6]:PORT, a trailing dot, smtp:// smtps://
 * submission:// URLs, and the --tls names other clients use.
 */
#ifndef SD_SETTINGS_SERVER_H
#define SD_SETTINGS_SERVER_H

#include <stddef.h>

#include "smtpdoctor/smtpdoctor.h"

/* Longest host name (RFC 1035 §2.3.4 counts 255 octets on the wire). */
#define SD_HOST_MAX 254
#define SD_SERVER_USER_MAX 512

typedef struct sd_server_spec {
	char host[SD_HOST_MAX + 1];   /* no brackets, no trailing dot */
	int port;                     /* 0 = not in the spec */
	int port_explicit;            /* the port was typed, not a scheme's */
	sd_tls_mode tls;              /* SD_TLS_UNSET = not in the spec */
	char user[SD_SERVER_USER_MAX + 1]; /* the URL's user part, decoded */
	const char *scheme;           /* "smtp", "smtps", "submission" or NULL */
} sd_server_spec;

/*
 * Parses what the user typed for --server.  Returns 0 and fills *out, or -1
 * with a message in err.  A password in a URL is refused without quoting
 * the spec, so the message never holds it.
 */
int sd_server_parse(const char *spec, sd_server_spec *out, char *err,
    size_t errlen);

/*
 * A --tls value, case-insensitively: starttls, tls (STARTTLS, as git
 * send-email means it), implicit, ssl, ssl/tls, smtps (implicit), none.
 * Returns SD_TLS_UNSET when the name is none of them.
 */
sd_tls_mode sd_tls_mode_parse(const char *name);

/*
 * RFC 3986 percent-decoding of [s, s+len) into out: 0 on a bad escape, a
 * NUL, a control byte (unless allow_ctl) or no room.
 */
int sd_pct_decode(const char *s, size_t len, char *out, size_t outlen,
    int allow_ctl);

/* "starttls", "implicit" or "none": the resolved name in reports. */
const char *sd_tls_mode_name(sd_tls_mode m);

/*
 * Folds --port/--tls/--user into the parsed spec: a conflict (a port or
 * mode the spec fixes and the flag contradicts, two different users) is
 * -1 with a message; otherwise the flags fill what the spec leaves open.
 */
int sd_server_merge(sd_server_spec *s, int *port, sd_tls_mode *tls,
    const char **user, char *err, size_t errlen);

#endif
