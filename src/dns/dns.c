/* The resolver interface: dispatch to a backend, common helpers. */
#include "dns/dns.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "util/util.h"

struct sd_resolver {
	const sd_resolver_ops *ops;
	void *impl;
	atomic_ulong queries;
	atomic_int refs;        /* its owner and the runs that outlived it */
};

const char *sd_dns_status_name(sd_dns_status s)
{
	switch (s) {
	case SD_DNS_OK: return "ok";
	case SD_DNS_NXDOMAIN: return "nxdomain";
	case SD_DNS_NODATA: return "nodata";
	case SD_DNS_SERVFAIL: return "servfail";
	case SD_DNS_TIMEOUT: return "timeout";
	case SD_DNS_BOGUS: return "bogus";
	case SD_DNS_ERROR: return "error";
	}
	return "error";
}

const char *sd_dns_type_name(uint16_t type)
{
	switch (type) {
	case SD_DNS_A: return "A";
	case SD_DNS_NS: return "NS";
	case SD_DNS_CNAME: return "CNAME";
	case SD_DNS_SOA: return "SOA";
	case SD_DNS_PTR: return "PTR";
	case SD_DNS_MX: return "MX";
	case SD_DNS_TXT: return "TXT";
	case SD_DNS_AAAA: return "AAAA";
	case SD_DNS_SRV: return "SRV";
	case SD_DNS_DS: return "DS";
	case SD_DNS_DNSKEY: return "DNSKEY";
	case SD_DNS_TLSA: return "TLSA";
	case SD_DNS_SPF: return "SPF";
	}
	return "TYPE";
}

int sd_dns_status_is_failure(sd_dns_status s)
{
	return s == SD_DNS_SERVFAIL || s == SD_DNS_TIMEOUT ||
	    s == SD_DNS_BOGUS || s == SD_DNS_ERROR;
}

void sd_dns_answer_clear(sd_dns_answer *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_rr; i++) {
		free(a->rr[i].text);
		free(a->rr[i].rdata);
	}
	free(a->rr);
	free(a->why_bogus);
	free(a->canonname);
	*a = (sd_dns_answer){ 0 };
}

sd_resolver *sd_resolver_new_custom(const sd_resolver_ops *ops, void *impl)
{
	sd_resolver *r = calloc(1, sizeof *r);
	if (!r) {
		if (ops->free)
			ops->free(impl);
		return NULL;
	}
	r->ops = ops;
	r->impl = impl;
	atomic_init(&r->refs, 1);
	return r;
}

sd_dns_status sd_dns_query(sd_resolver *res, const char *name, uint16_t type,
    int64_t deadline_ms, sd_dns_answer *out)
{
	/* the run was given up: no new question (one on the wire ends by
	 * its deadline) */
	if (sd_cancelled()) {
		out->unasked = 1;
		out->status = SD_DNS_TIMEOUT;
		return out->status;
	}
	atomic_fetch_add(&res->queries, 1);
	return res->ops->query(res->impl, name, type, deadline_ms, out);
}

unsigned long sd_resolver_query_count(const sd_resolver *res)
{
	return atomic_load(&((sd_resolver *)res)->queries);
}

sd_resolver *sd_resolver_ref(sd_resolver *res)
{
	if (res)
		atomic_fetch_add(&res->refs, 1);
	return res;
}

void sd_resolver_free(sd_resolver *res)
{
	if (!res || atomic_fetch_sub(&res->refs, 1) > 1)
		return;
	if (res->ops->free)
		res->ops->free(res->impl);
	free(res);
}

const char *sd_dns_system_resolver_refused(void)
{
	return getenv("SMTPDOCTOR_NO_SYSTEM_RESOLVER") ? "the system's "
	    "resolver is disabled (SMTPDOCTOR_NO_SYSTEM_RESOLVER is set): "
	    "pass --resolver" : NULL;
}
