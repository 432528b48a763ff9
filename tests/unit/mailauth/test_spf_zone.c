/* The fake zone of test_spf_zone.h. */
#include "test_spf_zone.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/util.h"

/* CNAME hops followed before answering SERVFAIL (a loop). */
#define SPFZ_MAX_CNAME 10

spfz_zone *spfz_new(void)
{
	return calloc(1, sizeof(spfz_zone));
}

void spfz_free(spfz_zone *z)
{
	if (!z)
		return;
	for (size_t i = 0; i < z->n; i++) {
		free(z->e[i].owner);
		free(z->e[i].text);
	}
	free(z->e);
	free(z);
}

static char *norm_name(const char *s, size_t n)
{
	if (n > 0 && s[n - 1] == '.')
		n--;
	char *o = malloc(n + 1);
	if (!o)
		abort();
	for (size_t i = 0; i < n; i++)
		o[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
	o[n] = '\0';
	return o;
}

void spfz_add(spfz_zone *z, const char *owner, uint16_t type,
    const char *text, size_t len, uint16_t pref)
{
	if (z->n == z->cap) {
		z->cap = z->cap ? z->cap * 2 : 64;
		z->e = realloc(z->e, z->cap * sizeof *z->e);
		if (!z->e)
			abort();
	}
	spfz_entry *e = &z->e[z->n++];
	e->owner = norm_name(owner, strlen(owner));
	e->type = type;
	e->pref = pref;
	e->len = text ? len : 0;
	e->text = malloc(e->len + 1);
	if (!e->text)
		abort();
	if (e->len)
		memcpy(e->text, text, e->len);
	e->text[e->len] = '\0';
}

void spfz_adds(spfz_zone *z, const char *owner, uint16_t type,
    const char *text)
{
	spfz_add(z, owner, type, text, text ? strlen(text) : 0, 0);
}

static void add_rr(sd_dns_answer *a, const spfz_entry *e)
{
	a->rr = realloc(a->rr, (a->n_rr + 1) * sizeof *a->rr);
	if (!a->rr)
		abort();
	sd_dns_rr *rr = &a->rr[a->n_rr++];
	memset(rr, 0, sizeof *rr);
	rr->type = e->type;
	rr->ttl = 300;
	rr->pref = e->pref;
	rr->text = malloc(e->len + 1);
	if (!rr->text)
		abort();
	memcpy(rr->text, e->text, e->len + 1);
	rr->text_len = e->len;
	unsigned char b[16];
	const void *raw = e->text;
	size_t rawlen = e->len;
	if (e->type == SD_DNS_A && inet_pton(AF_INET, e->text, b) == 1) {
		raw = b;
		rawlen = 4;
	} else if (e->type == SD_DNS_AAAA &&
	    inet_pton(AF_INET6, e->text, b) == 1) {
		raw = b;
		rawlen = 16;
		/* presentation text as a resolver gives it: lower case */
		char t[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, b, t, sizeof t);
		free(rr->text);
		rr->text = strdup(t);
		if (!rr->text)
			abort();
		rr->text_len = strlen(t);
	}
	rr->rdata = malloc(rawlen ? rawlen : 1);
	if (!rr->rdata)
		abort();
	if (rawlen)
		memcpy(rr->rdata, raw, rawlen);
	rr->rdlen = rawlen;
}

static sd_dns_status zone_query(void *impl, const char *name, uint16_t type,
    int64_t deadline_ms, sd_dns_answer *out)
{
	spfz_zone *z = impl;
	z->queries++;
	if (deadline_ms > z->latest_deadline)
		z->latest_deadline = deadline_ms;
	char *cur = norm_name(name, strlen(name));
	for (int hop = 0; hop <= SPFZ_MAX_CNAME; hop++) {
		int found = 0, seen = 0;
		const spfz_entry *cname = NULL;
		for (size_t i = 0; i < z->n; i++) {
			const spfz_entry *e = &z->e[i];
			if (strcmp(e->owner, cur) != 0)
				continue;
			found = 1;
			if (e->type == SPFZ_HANG) {
				while (sd_now_ms() < deadline_ms) {
					struct timespec ts = { 0, 5000000 };
					nanosleep(&ts, NULL);
				}
				free(cur);
				sd_dns_answer_clear(out);
				return out->status = SD_DNS_TIMEOUT;
			}
			if (e->type == SPFZ_TIMEOUT) {
				if (seen)
					break;
				free(cur);
				sd_dns_answer_clear(out);
				return out->status = SD_DNS_TIMEOUT;
			}
			if (e->type == type) {
				add_rr(out, e);
				seen = 1;
			} else if (e->type == SD_DNS_CNAME && !cname) {
				cname = e;
			}
		}
		if (!found) {
			free(cur);
			return out->status = SD_DNS_NXDOMAIN;
		}
		if (seen) {
			free(cur);
			return out->status = SD_DNS_OK;
		}
		if (!cname || type == SD_DNS_CNAME) {
			free(cur);
			return out->status = SD_DNS_NODATA;
		}
		free(cur);
		cur = norm_name(cname->text, cname->len);
	}
	free(cur);
	return out->status = SD_DNS_SERVFAIL;
}

static const sd_resolver_ops zone_ops = { zone_query, NULL };

sd_resolver *spfz_resolver(spfz_zone *z)
{
	return sd_resolver_new_custom(&zone_ops, z);
}
