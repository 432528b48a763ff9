/*
 * MTA-STS (RFC 8461): the _mta-sts TXT record, then the policy fetched
 * over HTTPS from https://mta-sts.<domain>/.well-known/mta-sts.txt.
 *
 * The host name is resolved by smtpdoctor's own resolver and pinned with
 * CURLOPT_RESOLVE, so that libcurl never reads the system's resolver
 * configuration; proxies from the environment are switched off for the
 * same reason.  Redirects are not followed (RFC 8461 §3.3), the body is
 * capped at 64 KiB, and every wait ends by the run's deadline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/https.h"
#include "probe/domain_int.h"
#include "probe/domain_records.h"
#include "util/util.h"

/* Addresses of the policy host handed to libcurl, per family. */
#define MTASTS_ADDRS_MAX 4
/* Body bytes shown in the fact (the policy is also parsed whole). */
#define MTASTS_EXCERPT_MAX 512

static json_t *sanitized(const char *s, size_t len, size_t max)
{
	char *t = sd_sanitize(s, len, max);
	json_t *v = json_string(t ? t : "");
	free(t);
	return v;
}

/* Resolves the policy host; fills "host:443:a,b" for CURLOPT_RESOLVE. */
static size_t resolve_host(sd_dctx *c, const char *host, json_t *addrs,
    json_t **ev, char *pin, size_t pinlen)
{
	size_t n = 0;
	int o = snprintf(pin, pinlen, "%s:443:", host);
	sd_dns_host_answer h;
	sd_dctx_host(c, host, 1, &h, ev);
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < h.a[k].n_rr && i < MTASTS_ADDRS_MAX; i++) {
			const char *t = h.a[k].rr[i].text;
			json_array_append_new(addrs, json_string(t));
			if (!sd_https_pin_add(pin, pinlen, &o, &n, t, k))
				break;
		}
	}
	sd_dns_host_clear(&h);
	return n;
}

/* Fetches the policy; fills the fact's fetch members and parses it. */
static void fetch_policy(sd_dctx *c, const char *domain, json_t *f,
    json_t **ev)
{
	const sd_dctx_conf *conf = sd_dctx_conf_of(c);
	char host[300], url[400], pin[600];
	snprintf(host, sizeof host, "mta-sts.%s", domain);
	snprintf(url, sizeof url, "https://%s/.well-known/mta-sts.txt", host);
	json_object_set_new(f, "url", json_string(url));
	json_t *addrs = json_array();
	size_t n = resolve_host(c, host, addrs, ev, pin, sizeof pin);
	json_object_set_new(f, "addresses", addrs);
	if (n == 0) {
		char msg[400];
		snprintf(msg, sizeof msg, "%s has no address", host);
		json_object_set_new(f, "fetch_error", json_string(msg));
		return;
	}
	sd_https_req req = { url, pin, SD_MTASTS_POLICY_MAX, conf->deadline,
	    conf->connect_timeout_ms, conf->ca_file, conf->family, 0 };
	sd_https_resp resp;
	sd_https_get(&req, &resp);
	if (resp.took_ms || resp.status)
		json_object_set_new(f, "fetch_ms", json_integer(resp.took_ms));
	if (resp.status)
		json_object_set_new(f, "http_status", json_integer(resp.status));
	if (resp.content_type[0])
		json_object_set_new(f, "content_type",
		    json_string(resp.content_type));
	if (resp.connected_to[0])
		json_object_set_new(f, "connected_to",
		    json_string(resp.connected_to));
	json_object_set_new(f, "bytes", json_integer((json_int_t)resp.len));
	if (resp.timed_out_by_deadline)
		json_object_set_new(f, "deadline", json_true());

	if (resp.too_big) {
		char msg[120];
		snprintf(msg, sizeof msg, "the policy is larger than %d bytes",
		    SD_MTASTS_POLICY_MAX);
		json_object_set_new(f, "fetch_error", json_string(msg));
	} else if (resp.error[0]) {
		json_object_set_new(f, "fetch_error", json_string(resp.error));
	} else if (resp.status != 200) {
		char msg[600];
		if (resp.status >= 300 && resp.status < 400 && resp.redirect[0])
			snprintf(msg, sizeof msg, "HTTP %ld redirect to %.300s: "
			    "redirects are not followed (RFC 8461 section 3.3)",
			    resp.status, resp.redirect);
		else
			snprintf(msg, sizeof msg, "HTTP status %ld, not 200",
			    resp.status);
		json_object_set_new(f, "fetch_error", sanitized(msg,
		    strlen(msg), 500));
	} else {
		if (!sd_strncaseeq(resp.content_type, "text/plain", 10))
			json_object_set_new(f, "content_type_error",
			    json_string("the policy is not served as "
			    "text/plain (RFC 8461 section 3.3)"));
		json_object_set_new(f, "body", sanitized(resp.body ? resp.body :
		    "", resp.len, MTASTS_EXCERPT_MAX));
		sd_mtasts_policy pol;
		int prc = sd_mtasts_policy_parse(resp.body ? resp.body : "",
		    resp.len, &pol);
		json_t *mx = json_array();
		for (size_t i = 0; i < pol.n_mx; i++)
			json_array_append_new(mx, json_string(pol.mx[i]));
		json_object_set_new(f, "policy", json_pack("{s:b, s:s, s:I, "
		    "s:o, s:i}", "version_ok", pol.has_version,
		    "mode", sd_mtasts_mode_name(pol.mode),
		    "max_age", (json_int_t)pol.max_age, "mx", mx,
		    "mx_total", (int)pol.n_mx_total));
		if (prc != 0)
			json_object_set_new(f, "policy_error",
			    json_string(pol.error));
	}
	sd_https_resp_clear(&resp);
}

void sd_domain_check_mtasts(sd_dctx *c)
{
	const sd_dctx_conf *conf = sd_dctx_conf_of(c);
	char name[320], id[SD_DOMAIN_ID_MAX];
	snprintf(name, sizeof name, "_mta-sts.%s", conf->domain);
	sd_dns_answer a = { 0 };
	sd_dns_status st = sd_dctx_lookup(c, NULL, name, SD_DNS_TXT, 0,
	    "domain", NULL, &a, id, sizeof id);
	json_t *ev = sd_evidence_add(NULL, id);
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id",
	    "domain.mta_sts", "stage", "domain", "check", "mta_sts",
	    "name", name, "status", sd_dns_status_name(st));
	if (!f) {
		json_decref(ev);
		sd_dns_answer_clear(&a);
		return;
	}
	json_t *recs = json_array();
	const sd_dns_rr *rec = NULL;
	for (size_t i = 0; i < a.n_rr; i++)
		if (sd_mtasts_record_is_sts(a.rr[i].text, a.rr[i].text_len)) {
			json_array_append_new(recs, sanitized(a.rr[i].text,
			    a.rr[i].text_len, SD_DOMAIN_TXT_MAX));
			rec = &a.rr[i];
		}
	json_object_set_new(f, "records", recs);
	size_t n = json_array_size(recs);
	if (n > 1) {
		json_object_set_new(f, "record_error", json_string("more than "
		    "one v=STSv1 record: senders assume there is no policy "
		    "(RFC 8461 section 3.1)"));
	} else if (n == 1) {
		sd_mtasts_record r;
		if (sd_mtasts_record_parse(rec->text, rec->text_len, &r) == 0)
			json_object_set_new(f, "policy_id", json_string(r.id));
		else
			json_object_set_new(f, "record_error",
			    json_string(r.error));
		/* the policy decides what senders do: fetch it even when the
		 * record is broken, to show both problems at once */
		fetch_policy(c, conf->domain, f, &ev);
	}
	json_object_set_new(f, "evidence", ev);
	sd_dctx_fact(c, f, NULL, 0);
	sd_dns_answer_clear(&a);
}
