/*
 * The project's table of mail providers (data/providers.def): their
 * published submission servers and what they require of a client that
 * logs in, matched by address domain or by MX host.
 */
#ifndef SD_SETTINGS_PROVIDERS_H
#define SD_SETTINGS_PROVIDERS_H

#include <stddef.h>

#include "smtpdoctor/smtpdoctor.h"

typedef struct sd_provider {
	const char *id, *name, *domains, *mx, *policy, *sources;
} sd_provider;

typedef struct sd_provider_server {
	const char *id, *host;
	int port;
	sd_tls_mode tls;
} sd_provider_server;

/* The provider whose domains list holds `domain` (case-insensitive). */
const sd_provider *sd_provider_by_domain(const char *domain);
/* The provider one of whose MX suffixes `mx_host` equals or ends in. */
const sd_provider *sd_provider_by_mx(const char *mx_host);
/* The provider that publishes `host` as a submission server. */
const sd_provider *sd_provider_by_server(const char *host);
/* Its servers, in order of preference: fills out (up to max), returns n. */
size_t sd_provider_servers(const sd_provider *p, sd_provider_server *out,
    size_t max);

#endif
