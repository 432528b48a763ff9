/*
 * The outgoing servers of a Mozilla autoconfig document (config-v1.1.xml,
 * draft-ietf-mailmaint-autoconfig): clientConfig > emailProvider >
 * outgoingServer type="smtp", in the provider's order of preference.
 */
#ifndef SD_SETTINGS_AUTOCONFIG_H
#define SD_SETTINGS_AUTOCONFIG_H

#include <stddef.h>

#include "smtpdoctor/smtpdoctor.h"

/* A document's limits: more servers than anyone publishes, longer text
 * than any host name; a bigger document is refused before parsing. */
#define SD_AUTOCONFIG_MAX_SERVERS 8
#define SD_AUTOCONFIG_MAX_BYTES 65536
#define SD_AUTOCONFIG_TEXT_MAX 255

typedef struct sd_autoconfig_server {
	char host[SD_AUTOCONFIG_TEXT_MAX + 1];
	int port;                 /* 0 when absent or not a port */
	sd_tls_mode tls;          /* SSL = implicit, STARTTLS, plain = none;
	                             SD_TLS_UNSET when absent or unknown */
	char username[SD_AUTOCONFIG_TEXT_MAX + 1];   /* with %PLACEHOLDERS% */
	char auth[64];            /* the first <authentication> */
	int line;                 /* where the element starts */
} sd_autoconfig_server;

typedef struct sd_autoconfig {
	sd_autoconfig_server servers[SD_AUTOCONFIG_MAX_SERVERS];
	size_t n_servers;
	size_t n_ignored;         /* beyond the limit, or without a hostname */
	char provider_id[SD_AUTOCONFIG_TEXT_MAX + 1];
	char error[200];          /* why the document was refused */
	int error_line;
} sd_autoconfig;

/*
 * Parses a document.  Returns 0, or -1 with out->error (malformed XML, a
 * DOCTYPE (entities are never expanded), not a clientConfig, too big).
 */
int sd_autoconfig_parse(const char *xml, size_t len, sd_autoconfig *out);

#endif
