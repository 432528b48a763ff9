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
#include <curl/curl.h>
#include <pthread.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/domain_int.h"
#include "probe/domain_records.h"
#include "sd_config.h"
#include "util/util.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void sd_domain_https_init(void)
{
	pthread_once(&curl_once, curl_init);
}

/* Addresses of the policy host handed to libcurl, per family. */
#define MTASTS_ADDRS_MAX 4
/* Body bytes shown in the fact (the policy is also parsed whole). */
#define MTASTS_EXCERPT_MAX 512

typedef struct body {
	char *buf;
	size_t len;
	int too_big;
} body;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	body *b = arg;
	size_t n = size * nmemb;
	if (n > SD_MTASTS_POLICY_MAX || b->len + n > SD_MTASTS_POLICY_MAX) {
		b->too_big = 1;
		return 0;   /* libcurl stops with CURLE_WRITE_ERROR */
	}
	char *nb = realloc(b->buf, b->len + n + 1);
	if (!nb)
		return 0;
	b->buf = nb;
	memcpy(b->buf + b->len, ptr, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

/* --ca-file: trusted in addition to the system's store libcurl loaded. */
static CURLcode on_ssl_ctx(CURL *curl, void *ssl_ctx, void *arg)
{
	(void)curl;
	const char *ca_file = arg;
	X509_STORE *st = SSL_CTX_get_cert_store((SSL_CTX *)ssl_ctx);
	if (ca_file && (!st || X509_STORE_load_file(st, ca_file) != 1))
		return CURLE_SSL_CACERT_BADFILE;
	return CURLE_OK;
}

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
	const sd_dctx_conf *conf = sd_dctx_conf_of(c);
	size_t n = 0;
	int o = snprintf(pin, pinlen, "%s:443:", host);
	for (int k = 0; k < 2; k++) {
		uint16_t type = k ? SD_DNS_AAAA : SD_DNS_A;
		if ((conf->family == 4 && k) || (conf->family == 6 && !k))
			continue;
		sd_dns_answer a = { 0 };
		char id[SD_DOMAIN_ID_MAX];
		sd_dctx_lookup(c, NULL, host, type, 0, "domain", NULL, &a, id,
		    sizeof id);
		*ev = sd_evidence_add(*ev, id);
		for (size_t i = 0; i < a.n_rr && i < MTASTS_ADDRS_MAX; i++) {
			const char *t = a.rr[i].text;
			json_array_append_new(addrs, json_string(t));
			int w = snprintf(pin + o, pinlen - (size_t)o,
			    k ? "%s[%s]" : "%s%s", n ? "," : "", t);
			if (w < 0 || (size_t)w >= pinlen - (size_t)o)
				break;
			o += w;
			n++;
		}
		sd_dns_answer_clear(&a);
	}
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
	int64_t left = sd_remaining_ms(conf->deadline);
	if (left < 50) {
		json_object_set_new(f, "fetch_error", json_string("no time "
		    "left before the deadline"));
		json_object_set_new(f, "deadline", json_true());
		return;
	}

	CURL *h = curl_easy_init();
	if (!h) {
		json_object_set_new(f, "fetch_error", json_string("could not "
		    "start an HTTPS client"));
		return;
	}
	struct curl_slist *resolve = curl_slist_append(NULL, pin);
	body b = { 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(h, CURLOPT_PROXY, "");   /* no proxy from the env */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
#if LIBCURL_VERSION_NUM >= 0x075700
	/* a private store: --ca-file must not leak into a shared cache */
	curl_easy_setopt(h, CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(conf->connect_timeout_ms < left ? conf->connect_timeout_ms :
	    left));
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)SD_MTASTS_POLICY_MAX);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "smtpdoctor/" SD_VERSION);
	if (conf->family == 4)
		curl_easy_setopt(h, CURLOPT_IPRESOLVE, CURL_IPRESOLVE_V4);
	else if (conf->family == 6)
		curl_easy_setopt(h, CURLOPT_IPRESOLVE, CURL_IPRESOLVE_V6);
	if (conf->ca_file) {
		curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
		curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, conf->ca_file);
	}

	int64_t t0 = sd_now_ms();
	CURLcode rc = curl_easy_perform(h);
	json_object_set_new(f, "fetch_ms", json_integer(sd_now_ms() - t0));
	long status = 0;
	char *ctype = NULL, *ip = NULL, *redirect = NULL;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
	curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip);
	curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &redirect);
	if (status)
		json_object_set_new(f, "http_status", json_integer(status));
	if (ctype)
		json_object_set_new(f, "content_type", sanitized(ctype,
		    strlen(ctype), 200));
	if (ip && ip[0])
		json_object_set_new(f, "connected_to", json_string(ip));
	json_object_set_new(f, "bytes", json_integer((json_int_t)b.len));

	if (b.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		char msg[120];
		snprintf(msg, sizeof msg, "the policy is larger than %d bytes",
		    SD_MTASTS_POLICY_MAX);
		json_object_set_new(f, "fetch_error", json_string(msg));
	} else if (rc != CURLE_OK) {
		char msg[CURL_ERROR_SIZE + 80];
		snprintf(msg, sizeof msg, "%s", errbuf[0] ? errbuf :
		    curl_easy_strerror(rc));
		json_object_set_new(f, "fetch_error", sanitized(msg,
		    strlen(msg), 400));
		if (rc == CURLE_OPERATION_TIMEDOUT &&
		    sd_remaining_ms(conf->deadline) == 0)
			json_object_set_new(f, "deadline", json_true());
	} else if (status != 200) {
		char msg[600];
		if (status >= 300 && status < 400 && redirect)
			snprintf(msg, sizeof msg, "HTTP %ld redirect to %.300s: "
			    "redirects are not followed (RFC 8461 section 3.3)",
			    status, redirect);
		else
			snprintf(msg, sizeof msg, "HTTP status %ld, not 200",
			    status);
		json_object_set_new(f, "fetch_error", sanitized(msg,
		    strlen(msg), 500));
	} else {
		if (!ctype || !sd_strncaseeq(ctype, "text/plain", 10))
			json_object_set_new(f, "content_type_error",
			    json_string("the policy is not served as "
			    "text/plain (RFC 8461 section 3.3)"));
		json_object_set_new(f, "body", sanitized(b.buf ? b.buf : "",
		    b.len, MTASTS_EXCERPT_MAX));
		sd_mtasts_policy pol;
		int prc = sd_mtasts_policy_parse(b.buf ? b.buf : "", b.len,
		    &pol);
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
	free(b.buf);
	curl_slist_free_all(resolve);
	curl_easy_cleanup(h);
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
