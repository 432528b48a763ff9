/*
 * SPF macro-strings: the syntax check and the expansion.  The input is
 * "LOCAL\nMACRO": LOCAL becomes the sender's local-part (so the values
 * expanded are hostile too), MACRO is expanded as a domain-spec and as
 * explanation text.  Checks that the check and the expansion agree and
 * that the expansion respects its cap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/spf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fixed_p(void *arg, const char *domain)
{
	(void)arg;
	return domain;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65535)
		return 0;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t llen = nl ? (size_t)(nl - data) : 0;
	const char *macro = (const char *)(nl ? nl + 1 : data);
	size_t mlen = nl ? size - llen - 1 : size;
	char *local = malloc(llen + 1);
	if (!local)
		return 0;
	memcpy(local, data, llen);
	local[llen] = '\0';   /* a NUL inside cuts it, as C strings do */
	char sender[600];
	size_t sl = strlen(local) > 300 ? 300 : strlen(local);
	memcpy(sender, local, sl);
	memcpy(sender + sl, "@mail.example.com", 18);

	sd_spf_macro_ctx c = {
		.sender = sender, .local = local,
		.sender_domain = "mail.example.com",
		.domain = "sub.mail.example.com",
		.ip_dotted = "2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		    "0.0.0.0.0.0.0.1",
		.ip_text = "2001:db8::1", .ip_version = "ip6",
		.helo = local, .receiver = "mx.receiver.example",
		.now = 1700000000, .get_p = fixed_p,
	};
	for (int exp_text = 0; exp_text < 2; exp_text++) {
		char err[200];
		char *out = NULL;
		int chk = sd_spf_macro_check(macro, mlen, exp_text, err,
		    sizeof err);
		int rc = sd_spf_macro_expand(macro, mlen, &c, exp_text, &out,
		    err, sizeof err);
		if (rc == 0) {
			if (chk != 0 || !out ||
			    strlen(out) > SD_SPF_EXPAND_MAX)
				abort();
		} else if (rc == -1 && out) {
			abort();
		}
		free(out);
	}
	free(local);
	return 0;
}
