/* The addresses of one host; see host.h. */
#include "probe/host.h"

#include <string.h>

#include "probe/jobs.h"

typedef struct host_query {
	sd_resolver *res;
	const char *host;
	uint16_t type;
	int64_t deadline;
	sd_dns_answer *out;
} host_query;

static void query_run(void *arg)
{
	host_query *q = arg;
	sd_dns_query(q->res, q->host, q->type, q->deadline, q->out);
}

void sd_dns_host(sd_resolver *res, const char *host, int family,
    int64_t deadline_ms, sd_dns_host_answer *out)
{
	memset(out, 0, sizeof *out);
	host_query q[2] = {
		{ res, host, SD_DNS_A, deadline_ms, &out->a[0] },
		{ res, host, SD_DNS_AAAA, deadline_ms, &out->a[1] },
	};
	sd_jobgroup *g = sd_jobgroup_new(0);
	for (int k = 0; k < 2; k++) {
		out->asked[k] = family != (k ? 4 : 6);
		if (out->asked[k])
			sd_jobgroup_add(g, query_run, NULL, &q[k]);
	}
	/* the queries are on this stack: wait for them */
	sd_jobgroup_join(g, deadline_ms + SD_JOBS_JOIN_GRACE_MS);
}

void sd_dns_host_clear(sd_dns_host_answer *h)
{
	sd_dns_answer_clear(&h->a[0]);
	sd_dns_answer_clear(&h->a[1]);
}
