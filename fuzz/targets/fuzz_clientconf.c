/*
 * The client configuration parsers (settings/clientconf.h): msmtp, git
 * config, muttrc, prefs.js, main.cf and sasl_passwd, as hostile files
 * (huge lines, NULs, unterminated quotes, inheritance and include loops).
 * The first byte picks an account name, or none, and where the file is
 * (a repository's .git/config decides git's [includeIf "gitdir:..."]
 * conditions, a global one none); the rest is the file,
 * and every file it includes (git's [include] path, mutt's source) is the
 * same text again under the name it was given: an include of anything
 * is a loop or a chain, which must end in an error, never a hang.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings/clientconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const sd_client_conf *c, int rc)
{
	if (!memchr(c->host, '\0', sizeof c->host) ||
	    !memchr(c->error, '\0', sizeof c->error) ||
	    !memchr(c->user, '\0', sizeof c->user))
		abort();
	if (rc == 0 && (!c->host[0] || c->port < 0 || c->port > 65535 ||
	    !c->format))
		abort();
	if (rc != 0 && (!c->error[0] || c->password))
		abort();   /* a refused file keeps no secret */
}

static const uint8_t *input;
static size_t input_len;

static char *same_again(const char *path, char *canon, size_t canonlen,
    size_t *len, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	snprintf(canon, canonlen, "%s", path);
	char *t = malloc(input_len + 1);
	if (t) {
		memcpy(t, input, input_len);
		t[input_len] = '\0';
		*len = input_len;
	}
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	static const char *const accounts[] = { NULL, "default", "work",
	    "alice@example.net", "[smtp.example.net]:587" };
	const char *acc = accounts[data[0] % 5];
	sd_client_conf c;
	input = data + 1;
	input_len = size - 1;
	/* deep enough that "**" "/" patterns have directories to try */
	const char *path = (data[0] / 5) % 2 ? "/f/u/z/z/i/n/g/a/b/c/d/e/f/"
	    "repo/.git/config" : "fuzz";
	int rc = sd_client_conf_parse_with((const char *)data + 1, size - 1,
	    path, acc, same_again, &c);
	check(&c, rc);
	if (rc == 0)
		sd_client_conf_postfix_secrets((const char *)data + 1, size - 1,
		    path, &c);
	sd_client_conf_wipe(&c);
	return 0;
}
