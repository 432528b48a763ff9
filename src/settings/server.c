/*
 * --server and --tls as people type them (the forms other clients print in
 * their settings: mutt's smtp_url, git's smtpEncryption, "smtp.host:465").
 * Pure parsing: no DNS, so a form we understand never becomes a "host not
 * found" verdict.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "settings/server.h"
#include "util/util.h"

static const struct { const char *name; sd_tls_mode mode; } tls_names[] = {
	{ "starttls", SD_TLS_STARTTLS },
	{ "tls", SD_TLS_STARTTLS },        /* git send-email's smtpEncryption */
	{ "implicit", SD_TLS_IMPLICIT },
	{ "ssl", SD_TLS_IMPLICIT },
	{ "ssl/tls", SD_TLS_IMPLICIT },
	{ "smtps", SD_TLS_IMPLICIT },
	{ "none", SD_TLS_NONE },
};

sd_tls_mode sd_tls_mode_parse(const char *name)
{
	for (size_t i = 0; name && i < sizeof tls_names / sizeof tls_names[0]; i++)
		if (sd_strcaseeq(name, tls_names[i].name))
			return tls_names[i].mode;
	return SD_TLS_UNSET;
}

const char *sd_tls_mode_name(sd_tls_mode m)
{
	return m == SD_TLS_IMPLICIT ? "implicit" : m == SD_TLS_NONE ? "none" :
	    "starttls";
}

/* URL schemes: the port and mode each one means. */
static const struct {
	const char *scheme;
	int port;
	sd_tls_mode tls;
} schemes[] = {
	{ "smtps", 465, SD_TLS_IMPLICIT },      /* RFC 8314 */
	{ "submission", 587, SD_TLS_STARTTLS }, /* RFC 6409 with RFC 3207 */
	{ "smtp", 25, SD_TLS_UNSET },           /* the mode comes from --tls */
};

static int fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "--server: %s", msg);
	return -1;
}

static int parse_port(const char *s, size_t len, int *out)
{
	long v = 0;
	if (len == 0 || len > 5)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return 0;
	*out = (int)v;
	return 1;
}

/* A DNS name as a resolver would take it, or an IPv4 literal; bytes over
 * 0x7f pass (an internationalised name is the resolver's to judge). */
static int valid_name(const char *h)
{
	size_t len = strlen(h);
	if (len == 0 || len > 253 || h[0] == '.' || strstr(h, ".."))
		return 0;
	for (const unsigned char *p = (const unsigned char *)h; *p; p++)
		if (!(*p >= 0x80 || (*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_'))
			return 0;
	return 1;
}

/* host[:port] or [v6][:port] of length len into out. */
static int parse_hostport(const char *s, size_t len, sd_server_spec *out,
    char *err, size_t errlen)
{
	const char *host = s, *port = NULL;
	size_t hlen = len;
	int bracketed = 0;
	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close)
			return fail(err, errlen, "an IPv6 address in [ ] needs "
			    "its closing ']'");
		host = s + 1;
		hlen = (size_t)(close - host);
		bracketed = 1;
		size_t rest = len - (size_t)(close + 1 - s);
		if (rest) {
			if (close[1] != ':')
				return fail(err, errlen, "expected ':PORT' after "
				    "the ']'");
			port = close + 2;
		}
	} else {
		const char *c1 = memchr(s, ':', len);
		const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - s))
		    : NULL;
		if (c1 && !c2) {
			hlen = (size_t)(c1 - s);
			port = c1 + 1;
		}
	}
	if (port && !parse_port(port, len - (size_t)(port - s), &out->port))
		return fail(err, errlen, "the port must be a number from 1 to "
		    "65535");
	if (port)
		out->port_explicit = 1;
	if (hlen == 0 || hlen > SD_HOST_MAX)
		return fail(err, errlen, "no host name, or one over 253 "
		    "characters");
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	unsigned char a[16];
	if (bracketed || memchr(out->host, ':', hlen)) {
		if (inet_pton(AF_INET6, out->host, a) != 1)
			return fail(err, errlen, bracketed ? "not an IPv6 address "
			    "inside [ ]" : "an IPv6 address with a port is "
			    "written [ADDRESS]:PORT");
		return 0;
	}
	/* a trailing dot says "fully qualified"; the name is the same */
	if (hlen > 1 && out->host[hlen - 1] == '.')
		out->host[hlen - 1] = '\0';
	if (!valid_name(out->host))
		return fail(err, errlen, "not a host name (letters, digits, "
		    "'-' and '.')");
	return 0;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int sd_pct_decode(const char *s, size_t len, char *out, size_t outlen,
    int allow_ctl)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= len)
				return 0;
			int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
			if (h < 0 || l < 0)
				return 0;
			c = (unsigned char)(h * 16 + l);
			i += 2;
		}
		if (c == 0 || (!allow_ctl && (c < 0x20 || c == 0x7f)) ||
		    o + 1 >= outlen)
			return 0;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 1;
}

/* A login name never holds control bytes, nor is it empty. */
static int decode_user(const char *s, size_t len, char *out, size_t outlen)
{
	return len > 0 && sd_pct_decode(s, len, out, outlen, 0);
}

static int parse_url(const char *spec, const char *sep, sd_server_spec *out,
    char *err, size_t errlen)
{
	size_t slen = (size_t)(sep - spec);
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (strlen(schemes[i].scheme) == slen &&
		    sd_strncaseeq(spec, schemes[i].scheme, slen)) {
			out->scheme = schemes[i].scheme;
			out->port = schemes[i].port;
			out->tls = schemes[i].tls;
		}
	if (!out->scheme)
		return fail(err, errlen, "a URL's scheme is smtp://, smtps:// "
		    "or submission://");
	const char *auth = sep + 3;
	size_t alen = strcspn(auth, "/?#");
	const char *tail = auth + alen;
	/* mutt writes smtp://host:587/ ; anything after the '/' is not ours */
	if (*tail && strcmp(tail, "/") != 0)
		return fail(err, errlen, "a server URL ends after HOST[:PORT]/ "
		    "(no path or query)");
	const char *at = NULL;
	for (const char *p = auth; p < tail; p++)
		if (*p == '@')
			at = p;
	if (at) {
		/* the message must not quote the URL: it holds the secret */
		if (memchr(auth, ':', (size_t)(at - auth)))
			return fail(err, errlen, "a password in the URL is not "
			    "accepted (the process list would show it); give "
			    "it with --password-file, --password-env or "
			    "--password-cmd");
		if (!decode_user(auth, (size_t)(at - auth), out->user,
		    sizeof out->user))
			return fail(err, errlen, "the URL's user part is empty "
			    "or badly %-encoded");
		auth = at + 1;
		alen = (size_t)(tail - auth);
	}
	int scheme_port = out->port;
	int rc = parse_hostport(auth, alen, out, err, errlen);
	if (rc == 0 && !out->port_explicit)
		out->port = scheme_port;
	return rc;
}

int sd_server_parse(const char *spec, sd_server_spec *out, char *err,
    size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!spec || !*spec)
		return fail(err, errlen, "empty");
	if (strlen(spec) > 1024)
		return fail(err, errlen, "too long");
	const char *sep = strstr(spec, "://");
	if (sep)
		return parse_url(spec, sep, out, err, errlen);
	if (strchr(spec, '@'))
		return fail(err, errlen, "takes the outgoing server's name, "
		    "not an e-mail address (give the address as ADDRESS, "
		    "or a URL such as submission://USER@HOST)");
	if (strchr(spec, '/'))
		return fail(err, errlen, "not a host name, HOST:PORT or URL");
	return parse_hostport(spec, strlen(spec), out, err, errlen);
}

int sd_server_merge(sd_server_spec *s, int *port, sd_tls_mode *tls,
    const char **user, char *err, size_t errlen)
{
	if (s->port_explicit && *port && *port != s->port) {
		snprintf(err, errlen, "--server says port %d and --port says "
		    "%d: give one", s->port, *port);
		return -1;
	}
	if (s->tls && *tls && *tls != s->tls) {
		snprintf(err, errlen, "--server %s:// means %s and --tls says "
		    "%s: give one", s->scheme, sd_tls_mode_name(s->tls),
		    sd_tls_mode_name(*tls));
		return -1;
	}
	if (s->user[0] && *user && strcmp(*user, s->user) != 0) {
		snprintf(err, errlen, "the --server URL and --user name "
		    "different users: give one");
		return -1;
	}
	/* a scheme's own port yields to --port; a typed one was compared */
	if (s->port && !*port)
		*port = s->port;
	if (s->tls && !*tls)
		*tls = s->tls;
	if (s->user[0] && !*user)
		*user = s->user;
	return 0;
}
