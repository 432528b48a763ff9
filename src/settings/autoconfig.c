/*
 * config-v1.1.xml through expat.  The document comes from a web server the
 * user does not control: a DOCTYPE is refused (no entity is ever expanded:
 * no "billion laughs", no external fetch), depth and text are bounded, and
 * only the few elements of an outgoing server are kept.
 */
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings/autoconfig.h"
#include "util/util.h"

/* Deeper nesting than the format's four levels is not a clientConfig. */
#define MAX_DEPTH 32

typedef enum field {
	F_NONE, F_HOST, F_PORT, F_SOCKET, F_USER, F_AUTH, F_ID,
} field;

typedef struct pstate {
	XML_Parser xp;
	sd_autoconfig *out;
	int depth;
	int root_ok;
	int in_provider;
	sd_autoconfig_server *cur;  /* inside an SMTP outgoingServer */
	field fld;
	char text[SD_AUTOCONFIG_TEXT_MAX + 1];
	size_t tlen;
	int overflow;
} pstate;

static void stop(pstate *ps, const char *why)
{
	if (!ps->out->error[0]) {
		snprintf(ps->out->error, sizeof ps->out->error, "%s", why);
		ps->out->error_line = (int)XML_GetCurrentLineNumber(ps->xp);
	}
	XML_StopParser(ps->xp, XML_FALSE);
}

static const char *attr(const XML_Char **atts, const char *name)
{
	for (int i = 0; atts[i]; i += 2)
		if (strcmp(atts[i], name) == 0)
			return atts[i + 1];
	return NULL;
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	pstate *ps = ud;
	if (++ps->depth > MAX_DEPTH)
		return stop(ps, "elements nested too deeply");
	if (ps->depth == 1) {
		if (strcmp(name, "clientConfig") != 0)
			return stop(ps, "not a clientConfig document");
		ps->root_ok = 1;
		return;
	}
	if (ps->depth == 2 && strcmp(name, "emailProvider") == 0) {
		ps->in_provider = 1;
		const char *id = attr(atts, "id");
		if (id && !ps->out->provider_id[0]) {
			char *t = sd_sanitize(id, strlen(id), SD_AUTOCONFIG_TEXT_MAX);
			snprintf(ps->out->provider_id, sizeof ps->out->provider_id,
			    "%s", t ? t : "");
			free(t);
		}
		return;
	}
	if (ps->in_provider && ps->depth == 3 &&
	    strcmp(name, "outgoingServer") == 0) {
		const char *type = attr(atts, "type");
		if (!type || strcmp(type, "smtp") != 0)
			return;
		if (ps->out->n_servers >= SD_AUTOCONFIG_MAX_SERVERS) {
			ps->out->n_ignored++;
			return;
		}
		ps->cur = &ps->out->servers[ps->out->n_servers];
		memset(ps->cur, 0, sizeof *ps->cur);
		ps->cur->line = (int)XML_GetCurrentLineNumber(ps->xp);
		return;
	}
	if (ps->cur && ps->depth == 4) {
		ps->fld = strcmp(name, "hostname") == 0 ? F_HOST :
		    strcmp(name, "port") == 0 ? F_PORT :
		    strcmp(name, "socketType") == 0 ? F_SOCKET :
		    strcmp(name, "username") == 0 ? F_USER :
		    strcmp(name, "authentication") == 0 ? F_AUTH : F_NONE;
		ps->tlen = 0;
		ps->overflow = 0;
	}
}

static void on_text(void *ud, const XML_Char *s, int len)
{
	pstate *ps = ud;
	if (ps->fld == F_NONE || len <= 0)
		return;
	if (ps->tlen + (size_t)len > SD_AUTOCONFIG_TEXT_MAX) {
		ps->overflow = 1;
		return;
	}
	memcpy(ps->text + ps->tlen, s, (size_t)len);
	ps->tlen += (size_t)len;
}

/* The text without surrounding white space, shown safely. */
static void keep_text(pstate *ps, char *dst, size_t dstlen)
{
	size_t a = 0, b = ps->tlen;
	while (a < b && strchr(" \t\r\n", ps->text[a]))
		a++;
	while (b > a && strchr(" \t\r\n", ps->text[b - 1]))
		b--;
	char *t = sd_sanitize(ps->text + a, b - a, dstlen - 1);
	snprintf(dst, dstlen, "%s", t ? t : "");
	free(t);
}

static void end_field(pstate *ps)
{
	sd_autoconfig_server *c = ps->cur;
	char v[SD_AUTOCONFIG_TEXT_MAX + 1];
	if (ps->overflow) {
		/* a value longer than any real one: the server is unusable */
		if (ps->fld == F_HOST)
			c->host[0] = '\0';
		return;
	}
	keep_text(ps, v, sizeof v);
	switch (ps->fld) {
	case F_HOST: snprintf(c->host, sizeof c->host, "%s", v); break;
	case F_PORT: {
		char *end;
		long p = strtol(v, &end, 10);
		c->port = (*v && !*end && p > 0 && p < 65536) ? (int)p : 0;
		break;
	}
	case F_SOCKET:
		c->tls = sd_strcaseeq(v, "SSL") ? SD_TLS_IMPLICIT :
		    sd_strcaseeq(v, "STARTTLS") ? SD_TLS_STARTTLS :
		    sd_strcaseeq(v, "plain") ? SD_TLS_NONE : SD_TLS_UNSET;
		break;
	case F_USER: snprintf(c->username, sizeof c->username, "%s", v); break;
	case F_AUTH:
		if (!c->auth[0])
			snprintf(c->auth, sizeof c->auth, "%.63s", v);
		break;
	default: break;
	}
}

static void on_end(void *ud, const XML_Char *name)
{
	pstate *ps = ud;
	(void)name;
	if (ps->cur && ps->depth == 4 && ps->fld != F_NONE) {
		end_field(ps);
		ps->fld = F_NONE;
	} else if (ps->cur && ps->depth == 3) {
		if (ps->cur->host[0])
			ps->out->n_servers++;
		else
			ps->out->n_ignored++;
		ps->cur = NULL;
	} else if (ps->depth == 2) {
		ps->in_provider = 0;
	}
	ps->depth--;
}

static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal)
{
	(void)name; (void)sysid; (void)pubid; (void)has_internal;
	stop(ud, "a DOCTYPE is not accepted (entities are never expanded)");
}

int sd_autoconfig_parse(const char *xml, size_t len, sd_autoconfig *out)
{
	memset(out, 0, sizeof *out);
	if (len > SD_AUTOCONFIG_MAX_BYTES) {
		snprintf(out->error, sizeof out->error, "larger than %d bytes",
		    SD_AUTOCONFIG_MAX_BYTES);
		return -1;
	}
	XML_Parser xp = XML_ParserCreate("UTF-8");
	if (!xp) {
		snprintf(out->error, sizeof out->error, "out of memory");
		return -1;
	}
	pstate ps = { .xp = xp, .out = out };
	XML_SetUserData(xp, &ps);
	XML_SetElementHandler(xp, on_start, on_end);
	XML_SetCharacterDataHandler(xp, on_text);
	XML_SetStartDoctypeDeclHandler(xp, on_doctype);
	XML_SetParamEntityParsing(xp, XML_PARAM_ENTITY_PARSING_NEVER);
	if (XML_Parse(xp, xml, (int)len, XML_TRUE) == XML_STATUS_ERROR &&
	    !out->error[0]) {
		snprintf(out->error, sizeof out->error, "malformed XML: %s",
		    XML_ErrorString(XML_GetErrorCode(xp)));
		out->error_line = (int)XML_GetCurrentLineNumber(xp);
	}
	XML_ParserFree(xp);
	if (!out->error[0] && !ps.root_ok)
		snprintf(out->error, sizeof out->error, "not a clientConfig "
		    "document");
	if (out->error[0]) {
		out->n_servers = 0;
		return -1;
	}
	return 0;
}
