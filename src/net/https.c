/* One bounded HTTPS GET (see https.h). */
#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/conn.h"
#include "net/https.h"
#include "sd_config.h"
#include "util/util.h"

typedef struct body {
	sd_https_resp *resp;
	size_t max;
} body;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	body *b = arg;
	sd_https_resp *r = b->resp;
	size_t n = size * nmemb;
	if (n > b->max || r->len + n > b->max) {
		r->too_big = 1;
		return 0;   /* libcurl stops with CURLE_WRITE_ERROR */
	}
	char *nb = realloc(r->body, r->len + n + 1);
	if (!nb)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, ptr, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* Every fetch's TLS context trusts the process's store (sd_tls_store). */
static CURLcode on_ssl_ctx(CURL *curl, void *ssl_ctx, void *arg)
{
	(void)curl;
	X509_STORE *st = sd_tls_store(arg);
	if (!st)
		return CURLE_SSL_CACERT_BADFILE;
	SSL_CTX_set1_cert_store((SSL_CTX *)ssl_ctx, st);
	X509_STORE_free(st);
	return CURLE_OK;
}

static void copy_sanitized(char *dst, size_t dstlen, const char *src)
{
	char *t = src ? sd_sanitize(src, strlen(src), dstlen - 1) : NULL;
	snprintf(dst, dstlen, "%s", t ? t : "");
	free(t);
}

static void set_options(CURL *h, const sd_https_req *req, body *b,
    struct curl_slist *resolve, char *errbuf, int64_t left)
{
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(h, CURLOPT_PROXY, "");   /* no proxy from the env */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, req->allow_http ?
	    "https,http" : "https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTPS |
	    (req->allow_http ? CURLPROTO_HTTP : 0)));
#endif
#if LIBCURL_VERSION_NUM >= 0x075700
	/* libcurl's own cache stays off: the store is ours (on_ssl_ctx) */
	curl_easy_setopt(h, CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
	/* nothing for libcurl to read: on_ssl_ctx gives the context its
	 * store */
	curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
	curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, (void *)req->ca_file);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(req->connect_timeout_ms < left ? req->connect_timeout_ms :
	    left));
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->max_bytes);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "smtpdoctor/" SD_VERSION);
	if (req->family == 4)
		curl_easy_setopt(h, CURLOPT_IPRESOLVE, CURL_IPRESOLVE_V4);
	else if (req->family == 6)
		curl_easy_setopt(h, CURLOPT_IPRESOLVE, CURL_IPRESOLVE_V6);
}

int sd_https_pin_add(char *pin, size_t pinlen, int *o, size_t *n,
    const char *addr, int v6)
{
	int w = snprintf(pin + *o, pinlen - (size_t)*o, v6 ? "%s[%s]" : "%s%s",
	    *n ? "," : "", addr);
	if (w < 0 || (size_t)w >= pinlen - (size_t)*o) {
		pin[*o] = '\0';
		return 0;
	}
	*o += w;
	(*n)++;
	return 1;
}

void sd_https_get(const sd_https_req *req, sd_https_resp *resp)
{
	memset(resp, 0, sizeof *resp);
	int64_t left = sd_remaining_ms(req->deadline);
	if (left < 50) {
		snprintf(resp->error, sizeof resp->error, "no time left before "
		    "the deadline");
		resp->timed_out_by_deadline = 1;
		return;
	}
	CURL *h = curl_easy_init();
	if (!h) {
		snprintf(resp->error, sizeof resp->error, "could not start an "
		    "HTTPS client");
		return;
	}
	struct curl_slist *resolve = curl_slist_append(NULL, req->pin);
	body b = { resp, req->max_bytes };
	char errbuf[CURL_ERROR_SIZE] = "";
	set_options(h, req, &b, resolve, errbuf, left);
	int64_t t0 = sd_now_ms();
	CURLcode rc = curl_easy_perform(h);
	resp->took_ms = sd_now_ms() - t0;
	char *ctype = NULL, *ip = NULL, *redirect = NULL;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
	curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip);
	curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &redirect);
	copy_sanitized(resp->content_type, sizeof resp->content_type, ctype);
	copy_sanitized(resp->connected_to, sizeof resp->connected_to, ip);
	copy_sanitized(resp->redirect, sizeof resp->redirect, redirect);
	if (resp->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		resp->too_big = 1;
		snprintf(resp->error, sizeof resp->error, "the body is larger "
		    "than %zu bytes", req->max_bytes);
	} else if (rc != CURLE_OK) {
		copy_sanitized(resp->error, sizeof resp->error, errbuf[0] ?
		    errbuf : curl_easy_strerror(rc));
		if (rc == CURLE_OPERATION_TIMEDOUT &&
		    sd_remaining_ms(req->deadline) == 0)
			resp->timed_out_by_deadline = 1;
	}
	curl_slist_free_all(resolve);
	curl_easy_cleanup(h);
}

void sd_https_resp_clear(sd_https_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}
