/*
 * The domain command's input checks, shared by its command line, its
 * batch lines and the exporter's domain probes (probe/domain_input.h).
 */
#include <string.h>
#include <stdio.h>

#include "mailauth/dkim.h"
#include "probe/domain_input.h"
#include "probe/domain_records.h"
#include "util/util.h"

/* Canonical text of an address ("2001:DB8::1" -> "2001:db8::1"). */
static int canonical_ip(const char *in, char *out, size_t len)
{
	unsigned char b[16];
	if (inet_pton(AF_INET, in, b) == 1)
		return inet_ntop(AF_INET, b, out, (socklen_t)len) != NULL;
	if (inet_pton(AF_INET6, in, b) == 1)
		return inet_ntop(AF_INET6, b, out, (socklen_t)len) != NULL;
	return 0;
}

int sd_domain_input_domain(sd_domain_input *in, const char *arg, char *err,
    size_t errlen)
{
	if (strchr(arg, '@')) {
		snprintf(err, errlen, "domain: '%s' is an address; give its "
		    "domain (the part after '@')", arg);
		return 1;
	}
	for (const unsigned char *p = (const unsigned char *)arg; *p; p++)
		if (*p >= 0x80) {
			snprintf(err, errlen, "domain: '%s' is not ASCII; give "
			    "the xn-- (A-label) form", arg);
			return 1;
		}
	if (strlen(arg) >= sizeof in->domain || !sd_hostname_valid(arg)) {
		snprintf(err, errlen, "domain: '%s' is not a domain name", arg);
		return 1;
	}
	size_t n = 0;
	for (; arg[n]; n++)
		in->domain[n] = sd_tolower(arg[n]);
	in->domain[n] = '\0';
	if (n && in->domain[n - 1] == '.')
		in->domain[n - 1] = '\0';
	return 0;
}

int sd_domain_input_ip(sd_domain_input *in, const char *what,
    const char *arg, char *err, size_t errlen)
{
	if (in->n_ips >= SD_DOMAIN_MAX_IPS) {
		snprintf(err, errlen, "domain: at most %d %s",
		    SD_DOMAIN_MAX_IPS, what);
		return 1;
	}
	char *out = in->ipbuf[in->n_ips];
	if (!canonical_ip(arg, out, sizeof in->ipbuf[0])) {
		snprintf(err, errlen, "%s: '%s' is not an IPv4 or IPv6 "
		    "address", what, arg);
		return 1;
	}
	in->ips[in->n_ips++] = out;
	return 0;
}

int sd_domain_input_selector(sd_domain_input *in, const char *what,
    const char *arg, char *err, size_t errlen)
{
	if (in->n_selectors >= SD_DOMAIN_MAX_SELECTORS) {
		snprintf(err, errlen, "domain: at most %d %s",
		    SD_DOMAIN_MAX_SELECTORS, what);
		return 1;
	}
	if (!sd_dkim_valid_domain(arg, strlen(arg), 1)) {
		snprintf(err, errlen, "%s: '%s' is not a DKIM selector", what,
		    arg);
		return 1;
	}
	in->selectors[in->n_selectors++] = arg;
	return 0;
}

int sd_domain_input_line(sd_domain_input *in, char *text, char *err,
    size_t errlen)
{
	int bad = 0;
	char *word = sd_word_next(&text, &bad);
	if (!word || sd_domain_input_domain(in, word, err, errlen)) {
		if (!word)
			snprintf(err, errlen, "domain --batch: expected DOMAIN "
			    "[ip=ADDR] [selector=NAME] ...");
		return 1;
	}
	while ((word = sd_word_next(&text, &bad))) {
		int fail = 1;
		if (strncmp(word, "ip=", 3) == 0)
			fail = sd_domain_input_ip(in, "ip=", word + 3, err,
			    errlen);
		else if (strncmp(word, "selector=", 9) == 0)
			fail = sd_domain_input_selector(in, "selector=",
			    word + 9, err, errlen);
		else
			snprintf(err, errlen, "domain --batch: '%s' is not "
			    "ip=ADDR or selector=NAME", word);
		if (fail)
			return 1;
	}
	if (bad)
		snprintf(err, errlen, "domain --batch: a double quote is not "
		    "closed at the end of a word");
	return bad;
}
