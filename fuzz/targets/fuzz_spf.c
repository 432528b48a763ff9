/*
 * SPF records: the syntax parser, then a whole evaluation in which every
 * TXT lookup answers with the input (so includes and redirects recurse into
 * it), A lookups answer for names starting with "a", and MX and PTR point
 * at such names.  Checks that the result is one of the seven and that the
 * trace ends with the result.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "mailauth/spf.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fuzz_zone {
	const uint8_t *data;
	size_t size;
} fuzz_zone;

static void add(sd_dns_answer *a, uint16_t type, const char *text,
    size_t len, const void *rdata, size_t rdlen)
{
	sd_dns_rr *rr = realloc(a->rr, (a->n_rr + 1) * sizeof *rr);
	if (!rr)
		abort();
	a->rr = rr;
	rr = &a->rr[a->n_rr++];
	memset(rr, 0, sizeof *rr);
	rr->type = type;
	rr->pref = 10;
	rr->text = malloc(len + 1);
	rr->rdata = malloc(rdlen ? rdlen : 1);
	if (!rr->text || !rr->rdata)
		abort();
	memcpy(rr->text, text, len);
	rr->text[len] = '\0';
	rr->text_len = len;
	memcpy(rr->rdata, rdata, rdlen);
	rr->rdlen = rdlen;
}

static sd_dns_status fz_query(void *impl, const char *name, uint16_t type,
    int64_t deadline_ms, sd_dns_answer *out)
{
	fuzz_zone *z = impl;
	(void)deadline_ms;
	if (name[0] == 't')
		return out->status = SD_DNS_TIMEOUT;
	switch (type) {
	case SD_DNS_TXT:
		add(out, type, (const char *)z->data, z->size, z->data,
		    z->size);
		break;
	case SD_DNS_A:
		if (name[0] == 'a') {
			static const unsigned char ip[4] = { 192, 0, 2, 1 };
			add(out, type, "192.0.2.1", 9, ip, 4);
		}
		break;
	case SD_DNS_MX:
		add(out, type, "a.mx.example", 12, "", 0);
		break;
	case SD_DNS_PTR:
		add(out, type, "a.ptr.example", 13, "", 0);
		break;
	default:
		break;
	}
	return out->status = out->n_rr ? SD_DNS_OK : SD_DNS_NXDOMAIN;
}

static const sd_resolver_ops fz_ops = { fz_query, NULL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* RFC 7208 records fit one DNS message: 64 KiB is plenty. */
	if (size > 65535)
		return 0;
	sd_spf_record *rec = NULL;
	char err[300];
	int rc = sd_spf_parse((const char *)data, size, &rec, err, sizeof err);
	if (rc == 0) {
		for (size_t i = 0; i < rec->n_terms; i++)
			if (rec->terms[i].text == NULL)
				abort();
		if (rec->lookup_terms > rec->n_terms)
			abort();
		sd_spf_record_free(rec);
	} else if (rc == -1 && strlen(err) == 0) {
		abort();   /* a syntax error always says why */
	}

	fuzz_zone z = { data, size };
	sd_resolver *res = sd_resolver_new_custom(&fz_ops, &z);
	if (!res)
		return 0;
	sd_spf_result out;
	memset(&out, 0, sizeof out);
	sd_spf_eval(res, "192.0.2.1", "user@example.com", "helo.example",
	    sd_now_ms() + 2000, &out);
	if (out.result > SD_SPF_PERMERROR || out.n_trace == 0 ||
	    !strstr(out.trace[out.n_trace - 1], "result: "))
		abort();
	if (out.explanation && out.result != SD_SPF_FAIL)
		abort();
	sd_spf_result_clear(&out);
	memset(&out, 0, sizeof out);
	sd_spf_eval(res, "2001:db8::1", "", "a.helo.example",
	    sd_now_ms() + 2000, &out);
	sd_spf_result_clear(&out);
	sd_resolver_free(res);
	return 0;
}
