/*
 * The Prometheus text exposition format (version 0.0.4), and the page of
 * one probe made from its report.  This file is the only one that writes
 * the format: label values pass through one escaper, so text that did not
 * come from smtpdoctor cannot end a label, a line or a sample.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/exporter.h"
#include "report/report.h"
#include "util/util.h"

void sd_prom_init(sd_prom *p)
{
	memset(p, 0, sizeof *p);
}

void sd_prom_free(sd_prom *p)
{
	free(p->buf);
	sd_prom_init(p);
}

static void put(sd_prom *p, const char *s, size_t n)
{
	sd_buf_put(p, s, n, SD_PROM_MAX);
}

static void puts_(sd_prom *p, const char *s)
{
	put(p, s, strlen(s));
}

static void printf_(sd_prom *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void printf_(sd_prom *p, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp)
		p->failed = 1;
	else
		put(p, tmp, (size_t)n);
}

/* The format's escapes: in HELP a backslash and a line break; in a label
 * value also the double quote. */
static void put_escaped(sd_prom *p, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			puts_(p, "\\\\");
		else if (*s == '\n')
			puts_(p, "\\n");
		else if (*s == '"' && quote)
			puts_(p, "\\\"");
		else
			put(p, s, 1);
	}
}

void sd_prom_family(sd_prom *p, const char *name, const char *type,
    const char *help)
{
	printf_(p, "# HELP %s ", name);
	put_escaped(p, help, 0);
	printf_(p, "\n# TYPE %s %s\n", name, type);
}

/* A label value: first escaped as any foreign text is (valid UTF-8, no
 * control character, capped), then as the format wants. */
static void put_label_value(sd_prom *p, const char *v)
{
	char *clean = sd_escape(v, strlen(v), SD_XQ_VALUE_MAX, 0);
	if (!clean) {
		p->failed = 1;
		return;
	}
	put_escaped(p, clean, 1);
	free(clean);
}

void sd_prom_sample(sd_prom *p, const char *name, const char *const *labels,
    double value)
{
	puts_(p, name);
	if (labels && labels[0]) {
		puts_(p, "{");
		for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
			printf_(p, "%s%s=\"", i ? "," : "", labels[i]);
			put_label_value(p, labels[i + 1]);
			puts_(p, "\"");
		}
		puts_(p, "}");
	}
	/* integers print as integers, a duration to the millisecond */
	printf_(p, " %.15g\n", value);
}

char *sd_prom_finish(sd_prom *p, size_t *len)
{
	char *out = p->failed ? NULL : p->buf;
	if (out && !p->len)
		out = strdup("");
	else if (!out)
		free(p->buf);
	if (len)
		*len = out ? strlen(out) : 0;
	sd_prom_init(p);
	return out;
}

/* ---- one probe's page ---------------------------------------------------- */

/* Findings counted by (code, severity): a page may not repeat a series. */
typedef struct tally {
	const char *code, *severity;
	unsigned n;
} tally;

static int by_code(const void *a, const void *b)
{
	const tally *x = a, *y = b;
	int c = strcmp(x->code, y->code);
	return c ? c : strcmp(x->severity, y->severity);
}

static void findings(sd_prom *p, const json_t *list)
{
	size_t n = json_array_size(list), used = 0;
	tally *t = n ? calloc(n, sizeof *t) : NULL;
	if (n && !t) {
		p->failed = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *f = json_array_get(list, i);
		const char *code = json_string_value(json_object_get(f, "code"));
		const char *sev = json_string_value(json_object_get(f,
		    "severity"));
		if (!code || !sev)
			continue;
		size_t j = 0;
		while (j < used && (strcmp(t[j].code, code) != 0 ||
		    strcmp(t[j].severity, sev) != 0))
			j++;
		if (j == used)
			t[used++] = (tally){ code, sev, 0 };
		t[j].n++;
	}
	qsort(t, used, sizeof *t, by_code);
	sd_prom_family(p, "smtpdoctor_finding", "gauge", "Findings of the "
	    "probe by code and severity: how many of them (docs/verdicts.md "
	    "lists the codes)");
	for (size_t j = 0; j < used; j++)
		sd_prom_sample(p, "smtpdoctor_finding", (const char *[]){
		    "code", t[j].code, "severity", t[j].severity, NULL },
		    t[j].n);
	free(t);
}

static void guard_metrics(sd_prom *p, const sd_probe_info *pi)
{
	sd_prom_family(p, "smtpdoctor_auth_withheld", "gauge", "1 when the "
	    "exporter withheld this account's credentials: the server rejected "
	    "them before and neither the file nor --auth-retry-after has "
	    "passed since");
	if (pi->withheld)
		sd_prom_sample(p, "smtpdoctor_auth_withheld", (const char *[]){
		    "cause", pi->held_cause ? pi->held_cause : "", NULL }, 1);
	else
		sd_prom_sample(p, "smtpdoctor_auth_withheld", NULL, 0);
	if (!pi->withheld)
		return;
	sd_prom_family(p, "smtpdoctor_auth_retry_timestamp_seconds", "gauge",
	    "When the withheld credentials will be sent again (Unix time), "
	    "unless the file changes first");
	sd_prom_sample(p, "smtpdoctor_auth_retry_timestamp_seconds", NULL,
	    (double)(int64_t)pi->retry_unix);
}

/* The success gauge and the timed-out one, first on both pages. */
static void success(sd_prom *p, int ok, int timed_out)
{
	sd_prom_family(p, "smtpdoctor_probe_success", "gauge", "1 when the "
	    "verdict's status is ok or warn: mail can be sent on this path");
	sd_prom_sample(p, "smtpdoctor_probe_success", NULL, ok);
	sd_prom_family(p, "smtpdoctor_probe_timed_out", "gauge", "1 when the "
	    "scrape's deadline came before the probe's end: no verdict");
	sd_prom_sample(p, "smtpdoctor_probe_timed_out", NULL, timed_out);
}

/* How long, under which deadline, since when. */
static void timing(sd_prom *p, const sd_probe_info *pi)
{
	sd_prom_family(p, "smtpdoctor_probe_duration_seconds", "gauge",
	    "How long the probe took (timed out: how long it had run when "
	    "the scrape was answered)");
	sd_prom_sample(p, "smtpdoctor_probe_duration_seconds", NULL,
	    (double)(int64_t)(pi->duration_s * 1000) / 1000);
	sd_prom_family(p, "smtpdoctor_probe_deadline_seconds", "gauge",
	    "The deadline the probe ran under: --timeout, lowered to the "
	    "scrape's X-Prometheus-Scrape-Timeout-Seconds minus "
	    "--timeout-offset (and the lag reserve), less the time kept for "
	    "the answer");
	sd_prom_sample(p, "smtpdoctor_probe_deadline_seconds", NULL,
	    (double)(int64_t)(pi->deadline_s * 1000) / 1000);
	sd_prom_family(p, "smtpdoctor_probe_started_timestamp_seconds",
	    "gauge", "When the probe began (Unix time); scrapes that shared "
	    "one probe show the same");
	sd_prom_sample(p, "smtpdoctor_probe_started_timestamp_seconds", NULL,
	    (double)(int64_t)(pi->started_unix * 1000) / 1000);
}

char *sd_exporter_probe_page(const sd_report *r, const sd_probe_info *pi,
    size_t *len)
{
	sd_prom p;
	sd_prom_init(&p);
	sd_status st = sd_report_status(r);
	success(&p, st == SD_STATUS_OK || st == SD_STATUS_WARN, 0);
	sd_prom_family(&p, "smtpdoctor_verdict", "gauge", "The verdict: 1 "
	    "for its cause and status");
	sd_prom_sample(&p, "smtpdoctor_verdict", (const char *[]){ "cause",
	    sd_report_cause(r), "status", sd_status_name(st), NULL }, 1);
	findings(&p, r->findings);
	timing(&p, pi);
	if (pi->is_check)
		guard_metrics(&p, pi);
	return sd_prom_finish(&p, len);
}

void sd_prom_reserve(sd_prom *p)
{
	put(p, "", 0);
}

void sd_exporter_timeout_page_to(sd_prom *p, const sd_probe_info *pi)
{
	success(p, 0, 1);
	timing(p, pi);
}

char *sd_exporter_timeout_page(const sd_probe_info *pi, size_t *len)
{
	sd_prom p;
	sd_prom_init(&p);
	sd_exporter_timeout_page_to(&p, pi);
	return sd_prom_finish(&p, len);
}
