/*
 * The autoconfig document parser (settings/autoconfig.h): whatever a web
 * server sends as config-v1.1.xml.  Every kept string must be terminated
 * and within its bound; a refused document keeps no server.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settings/autoconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sd_autoconfig ac;
	int rc = sd_autoconfig_parse((const char *)data, size, &ac);
	if (rc != 0 && (ac.n_servers != 0 || !ac.error[0]))
		abort();
	if (ac.n_servers > SD_AUTOCONFIG_MAX_SERVERS)
		abort();
	for (size_t i = 0; i < ac.n_servers; i++) {
		const sd_autoconfig_server *s = &ac.servers[i];
		if (!memchr(s->host, '\0', sizeof s->host) || !s->host[0] ||
		    !memchr(s->username, '\0', sizeof s->username) ||
		    !memchr(s->auth, '\0', sizeof s->auth) ||
		    s->port < 0 || s->port > 65535)
			abort();
		for (const char *p = s->host; *p; p++)
			if ((unsigned char)*p < 0x20)
				abort();   /* shown in reports: control bytes replaced */
	}
	return 0;
}
