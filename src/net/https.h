/*
 * One HTTPS GET through libcurl, with the rules every fetch of smtpdoctor
 * keeps: the host's addresses come from smtpdoctor's own resolver (pinned
 * with CURLOPT_RESOLVE, so libcurl never reads the system's resolver
 * configuration), no proxy from the environment, no redirects, https only,
 * a body cap, and the caller's deadline.
 */
#ifndef SD_HTTPS_H
#define SD_HTTPS_H

#include <stddef.h>
#include <stdint.h>

typedef struct sd_https_req {
	const char *url;           /* https://HOST/... */
	const char *pin;           /* "HOST:443:ADDR,[ADDR6]" for CURLOPT_RESOLVE */
	size_t max_bytes;          /* the body is refused beyond this */
	int64_t deadline;          /* monotonic ms */
	int64_t connect_timeout_ms;
	const char *ca_file;       /* trusted beside the system's, or NULL */
	int family;                /* 0 both, 4, 6 */
	int allow_http;            /* also http:// (a labelled last resort) */
} sd_https_req;

typedef struct sd_https_resp {
	char *body;                /* malloc'd, NUL-terminated, or NULL */
	size_t len;
	long status;               /* HTTP status, 0 when none came */
	char content_type[128];    /* sanitised, may be empty */
	char connected_to[64];     /* the address libcurl used */
	char redirect[320];        /* a redirect's target, sanitised */
	char error[400];           /* empty when the transfer completed */
	int too_big;
	int timed_out_by_deadline; /* the run's deadline cut it */
	int64_t took_ms;
} sd_https_resp;

/*
 * Appends one address to a CURLOPT_RESOLVE pin ("HOST:PORT:" first, then
 * a,b,[c]): *o is the length so far, *n the addresses so far.  Returns 0
 * when it does not fit (the pin is left as it was).
 */
int sd_https_pin_add(char *pin, size_t pinlen, int *o, size_t *n,
    const char *addr, int v6);

/* Performs the GET; always fills resp (free with sd_https_resp_clear). */
void sd_https_get(const sd_https_req *req, sd_https_resp *resp);
void sd_https_resp_clear(sd_https_resp *resp);

#endif
