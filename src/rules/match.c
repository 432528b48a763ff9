/*
 * Matching replies, certificate issuers and banners against the project's
 * data tables (the .def files in data/).
 */
#include <string.h>

#include "rules/check_rules.h"
#include "rules/replies_glue.h"
#include "util/util.h"

typedef struct named { const char *product, *fragment; } named;

static const named interception[] = {
#define INTERCEPT(p, f) { p, f },
#include "../../data/interception.def"
#undef INTERCEPT
};

static const named proxies[] = {
#define PROXY(p, f) { p, f },
#include "../../data/proxies.def"
#undef PROXY
};

const char *sd_rules_interception_product(const char *issuer)
{
	for (size_t i = 0; i < sizeof interception / sizeof interception[0]; i++)
		if (sd_strcasestr(issuer, interception[i].fragment))
			return interception[i].product;
	return NULL;
}

static int is_word_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9');
}

/* A case-insensitive match of a whole word or phrase. */
static int has_phrase(const char *text, const char *phrase)
{
	size_t n = strlen(phrase);
	for (const char *p = text; (p = sd_strcasestr(p, phrase)); p++) {
		if ((p == text || !is_word_char(p[-1])) && !is_word_char(p[n]))
			return 1;
	}
	return 0;
}

const char *sd_rules_proxy_product(const char *text)
{
	for (size_t i = 0; i < sizeof proxies / sizeof proxies[0]; i++)
		if (has_phrase(text, proxies[i].fragment))
			return proxies[i].product;
	return NULL;
}

/* Whole words or phrases only: "rate" must not match "corporate", nor
 * "locked" "blocked". */
static int any(const char *text, const char *const *words)
{
	for (; *words; words++)
		if (has_phrase(text, *words))
			return 1;
	return 0;
}

/* Generic meanings by stage and code, when no table row matched. */
const char *sd_rules_generic_cause(const char *stage, int code,
    const char *enhanced, const char *text)
{
	static const char *const rate[] = { "rate", "rate limit", "limit",
	    "limits", "limited", "quota", "too many", "exceeded", "throttled",
	    "throttling", NULL };
	static const char *const lock[] = { "too many login", "too many auth",
	    "locked", "locked out", "web browser", "log in via", NULL };
	static const char *const bl[] = { "blocklist", "blacklist",
	    "blocklisted", "blacklisted", "block list", "black list",
	    "is listed", "listed on", "listed at", "spamhaus",
	    "dnsbl", "rbl", "blocked using", NULL };
	static const char *const relay[] = { "relay", "relaying", NULL };
	static const char *const sender[] = { "sender", "send as", "send-as",
	    "not owned", "from address", NULL };
	static const char *const tlsw[] = { "starttls", "encryption",
	    "ssl/tls", "secure connection", NULL };
	static const char *const authw[] = { "authentication required",
	    "not authenticated", "authentication is required", NULL };
	const char *enh = enhanced ? enhanced : "";

	if (any(text, bl) && code / 100 == 5)
		return "reputation.ip_listed";
	if (strcmp(stage, "auth") == 0) {
		if (code == 530 || code == 538 || any(text, tlsw))
			return "auth.encryption_required";
		if (any(text, lock))
			return "auth.locked_out";
		if (code == 504)
			return "auth.mechanism_unsupported";
		if (code / 100 == 4)
			return "settings.temporary_failure";
		return "auth.bad_credentials";
	}
	if (code == 530 && any(text, tlsw))
		return "auth.encryption_required";
	if (code == 530 || strcmp(enh, "5.7.57") == 0 || any(text, authw))
		return "auth.required";
	if (any(text, rate) && (code / 100 == 4 || code / 100 == 5) &&
	    !any(text, relay))
		return "isp.rate_limited";
	if (code / 100 == 4)
		return "settings.temporary_failure";
	if (strcmp(stage, "rcpt") == 0 || strcmp(stage, "mail") == 0) {
		if (any(text, sender))
			return "sender.rejected";
		if (any(text, relay) || strcmp(enh, "5.7.1") == 0)
			return "isp.relay_denied";
		if (strcmp(stage, "mail") == 0)
			return "sender.rejected";
		return NULL;
	}
	if (strcmp(stage, "data") == 0 || strcmp(stage, "data_end") == 0) {
		if (code == 552 || strcmp(enh, "5.3.4") == 0 ||
		    sd_strcasestr(text, "size"))
			return "content.too_large";
		if (any(text, sender))
			return "sender.rejected";
		return "content.rejected";
	}
	return NULL;
}
