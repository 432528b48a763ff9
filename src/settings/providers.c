/* Lookups in data/providers.def (see providers.h). */
#include <string.h>

#include "settings/providers.h"
#include "util/util.h"

#define PROVIDER(id, name, domains, mx, policy, sources) \
	{ id, name, domains, mx, policy, sources },
#define SERVER(id, host, port, tls)
static const sd_provider providers[] = {
#include "../../data/providers.def"
};
#undef PROVIDER
#undef SERVER

#define PROVIDER(id, name, domains, mx, policy, sources)
#define SERVER(id, host, port, tls) \
	{ id, host, port, tls[0] == 'i' ? SD_TLS_IMPLICIT : SD_TLS_STARTTLS },
static const sd_provider_server servers[] = {
#include "../../data/providers.def"
};
#undef PROVIDER
#undef SERVER

#define N_PROVIDERS (sizeof providers / sizeof providers[0])
#define N_SERVERS (sizeof servers / sizeof servers[0])

/* Is `word` one of the space-separated words of `list`?  With `suffix`,
 * `word` may also end in "." followed by one of them. */
static int in_list(const char *list, const char *word, int suffix)
{
	size_t wl = strlen(word);
	while (wl && word[wl - 1] == '.')
		wl--;   /* a trailing dot names the same host */
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, " ");
		if (n && n == wl && sd_strncaseeq(p, word, n))
			return 1;
		if (suffix && n && wl > n + 1 && word[wl - n - 1] == '.' &&
		    sd_strncaseeq(word + wl - n, p, n))
			return 1;
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

const sd_provider *sd_provider_by_domain(const char *domain)
{
	for (size_t i = 0; domain && i < N_PROVIDERS; i++)
		if (in_list(providers[i].domains, domain, 0))
			return &providers[i];
	return NULL;
}

const sd_provider *sd_provider_by_mx(const char *mx_host)
{
	for (size_t i = 0; mx_host && i < N_PROVIDERS; i++)
		if (in_list(providers[i].mx, mx_host, 1))
			return &providers[i];
	return NULL;
}

static const sd_provider *by_id(const char *id)
{
	for (size_t i = 0; i < N_PROVIDERS; i++)
		if (strcmp(providers[i].id, id) == 0)
			return &providers[i];
	return NULL;
}

const sd_provider *sd_provider_by_server(const char *host)
{
	for (size_t i = 0; host && i < N_SERVERS; i++)
		if (in_list(servers[i].host, host, 0))
			return by_id(servers[i].id);
	return NULL;
}

size_t sd_provider_servers(const sd_provider *p, sd_provider_server *out,
    size_t max)
{
	size_t n = 0;
	for (size_t i = 0; p && i < N_SERVERS && n < max; i++)
		if (strcmp(servers[i].id, p->id) == 0)
			out[n++] = servers[i];
	return n;
}
