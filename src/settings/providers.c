/* Lookups in data/providers.def (see providers.h). */
#include <pthread.h>
#include <string.h>

#include "settings/providers.h"
#include "util/strtab.h"
#include "util/util.h"

/* The strings of data/providers.def, and its rows as offsets into them (a
 * table the loader need not write: util/strtab.h). */
static const struct provider_strs {
#define PROVIDER(id, name, domains, mx, policy, sources) \
	SD_STRTAB_FIELD(pi_, id) SD_STRTAB_FIELD(pn_, name) \
	SD_STRTAB_FIELD(pd_, domains) SD_STRTAB_FIELD(pm_, mx) \
	SD_STRTAB_FIELD(pp_, policy) SD_STRTAB_FIELD(ps_, sources)
#define SERVER(id, host, port, tls) SD_STRTAB_FIELD(si_, id) \
	SD_STRTAB_FIELD(sh_, host)
#include "../../data/providers.def"
#undef PROVIDER
#undef SERVER
} strs = {
#define PROVIDER(id, name, domains, mx, policy, sources) \
	id, name, domains, mx, policy, sources,
#define SERVER(id, host, port, tls) id, host,
#include "../../data/providers.def"
#undef PROVIDER
#undef SERVER
};
#define STR(off) sd_strtab_str(&strs, off)

static const struct provider_row {
	sd_stroff id, name, domains, mx, policy, sources;
} packed[] = {
#define PROVIDER(id, name, domains, mx, policy, sources) \
	{ SD_STRTAB_AT(provider_strs, pi_, id), \
	  SD_STRTAB_AT(provider_strs, pn_, name), \
	  SD_STRTAB_AT(provider_strs, pd_, domains), \
	  SD_STRTAB_AT(provider_strs, pm_, mx), \
	  SD_STRTAB_AT(provider_strs, pp_, policy), \
	  SD_STRTAB_AT(provider_strs, ps_, sources) },
#define SERVER(id, host, port, tls)
#include "../../data/providers.def"
#undef PROVIDER
#undef SERVER
};

static const struct server_row {
	sd_stroff id, host;
	int port;
	sd_tls_mode tls;
} servers[] = {
#define PROVIDER(id, name, domains, mx, policy, sources)
#define SERVER(id, host, port, tls) \
	{ SD_STRTAB_AT(provider_strs, si_, id), \
	  SD_STRTAB_AT(provider_strs, sh_, host), port, \
	  tls[0] == 'i' ? SD_TLS_IMPLICIT : SD_TLS_STARTTLS },
#include "../../data/providers.def"
#undef PROVIDER
#undef SERVER
};

#define N_PROVIDERS (sizeof packed / sizeof packed[0])
#define N_SERVERS (sizeof servers / sizeof servers[0])

/* The rows callers are given, made on first use. */
static sd_provider providers[N_PROVIDERS];
static pthread_once_t providers_once = PTHREAD_ONCE_INIT;

static void unpack_providers(void)
{
	for (size_t i = 0; i < N_PROVIDERS; i++) {
		const struct provider_row *r = &packed[i];
		providers[i] = (sd_provider){ STR(r->id), STR(r->name),
		    STR(r->domains), STR(r->mx), STR(r->policy),
		    STR(r->sources) };
	}
}

static const sd_provider *rows(void)
{
	pthread_once(&providers_once, unpack_providers);
	return providers;
}

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
	const sd_provider *p = rows();
	for (size_t i = 0; domain && i < N_PROVIDERS; i++)
		if (in_list(p[i].domains, domain, 0))
			return &p[i];
	return NULL;
}

const sd_provider *sd_provider_by_mx(const char *mx_host)
{
	const sd_provider *p = rows();
	for (size_t i = 0; mx_host && i < N_PROVIDERS; i++)
		if (in_list(p[i].mx, mx_host, 1))
			return &p[i];
	return NULL;
}

static const sd_provider *by_id(const char *id)
{
	const sd_provider *p = rows();
	for (size_t i = 0; i < N_PROVIDERS; i++)
		if (strcmp(p[i].id, id) == 0)
			return &p[i];
	return NULL;
}

const sd_provider *sd_provider_by_server(const char *host)
{
	for (size_t i = 0; host && i < N_SERVERS; i++)
		if (in_list(STR(servers[i].host), host, 0))
			return by_id(STR(servers[i].id));
	return NULL;
}

size_t sd_provider_servers(const sd_provider *p, sd_provider_server *out,
    size_t max)
{
	size_t n = 0;
	for (size_t i = 0; p && i < N_SERVERS && n < max; i++)
		if (strcmp(STR(servers[i].id), p->id) == 0)
			out[n++] = (sd_provider_server){ STR(servers[i].id),
			    STR(servers[i].host), servers[i].port,
			    servers[i].tls };
	return n;
}
