/* Autoconfig documents, the provider table, and the rules about where the
 * settings came from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rules/check_rules.h"
#include "settings/autoconfig.h"
#include "settings/providers.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static char buf[200000];
	*len = fread(buf, 1, sizeof buf - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void autoconfig_good(void **state)
{
	(void)state;
	size_t len;
	char *x = slurp("fuzz/seeds/autoconfig/good.xml", &len);
	sd_autoconfig ac;
	assert_int_equal(sd_autoconfig_parse(x, len, &ac), 0);
	assert_string_equal(ac.provider_id, "example.com");
	/* the incoming server is not an outgoing one */
	assert_int_equal(ac.n_servers, 2);
	assert_string_equal(ac.servers[0].host, "smtp.example.com");
	assert_int_equal(ac.servers[0].port, 465);
	assert_int_equal(ac.servers[0].tls, SD_TLS_IMPLICIT);
	assert_string_equal(ac.servers[0].username, "%EMAILADDRESS%");
	assert_int_equal(ac.servers[0].line, 10);
	assert_int_equal(ac.servers[1].port, 587);
	assert_int_equal(ac.servers[1].tls, SD_TLS_STARTTLS);
	assert_string_equal(ac.servers[1].auth, "OAuth2");
}

static void autoconfig_hostile(void **state)
{
	(void)state;
	static const char *const refused[] = {
		"billion-laughs.xml", "external-entity.xml", "unterminated.xml",
		"not-clientconfig.html", "deep.xml", "nul.xml",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		char path[200];
		snprintf(path, sizeof path, "fuzz/seeds/autoconfig/%s", refused[i]);
		size_t len;
		char *x = slurp(path, &len);
		sd_autoconfig ac;
		assert_int_equal(sd_autoconfig_parse(x, len, &ac), -1);
		assert_int_equal(ac.n_servers, 0);
		assert_true(ac.error[0] != '\0');
	}
	size_t len;
	sd_autoconfig ac;
	char *x = slurp("fuzz/seeds/autoconfig/billion-laughs.xml", &len);
	sd_autoconfig_parse(x, len, &ac);
	assert_non_null(strstr(ac.error, "DOCTYPE"));
	assert_int_equal(ac.error_line, 2);
	x = slurp("fuzz/seeds/autoconfig/long-host.xml", &len);
	assert_int_equal(sd_autoconfig_parse(x, len, &ac), 0);
	assert_int_equal(ac.n_servers, 0);   /* a host over 255 bytes is dropped */
	x = slurp("fuzz/seeds/autoconfig/many-servers.xml", &len);
	assert_int_equal(sd_autoconfig_parse(x, len, &ac), 0);
	assert_int_equal(ac.n_servers, SD_AUTOCONFIG_MAX_SERVERS);
	assert_int_equal(ac.n_ignored, 40 - SD_AUTOCONFIG_MAX_SERVERS);
	assert_int_equal(ac.servers[0].port, 0);   /* port 0 is no port */
	assert_int_equal(ac.servers[1].port, 1);
	static char big[SD_AUTOCONFIG_MAX_BYTES + 2];
	memset(big, ' ', sizeof big - 1);
	assert_int_equal(sd_autoconfig_parse(big, sizeof big - 1, &ac), -1);
}

static void providers(void **state)
{
	(void)state;
	const sd_provider *p = sd_provider_by_domain("GMAIL.com");
	assert_non_null(p);
	assert_string_equal(p->id, "google");
	sd_provider_server sv[4];
	size_t n = sd_provider_servers(p, sv, 4);
	assert_int_equal(n, 2);
	assert_string_equal(sv[0].host, "smtp.gmail.com");
	assert_int_equal(sv[0].port, 465);
	assert_int_equal(sv[0].tls, SD_TLS_IMPLICIT);
	/* a custom domain at Microsoft 365, known by its MX */
	p = sd_provider_by_mx("contoso-com.mail.protection.outlook.com.");
	assert_non_null(p);
	assert_string_equal(p->id, "microsoft365");
	assert_string_equal(sd_provider_by_mx("aspmx.l.google.com")->id, "google");
	assert_string_equal(sd_provider_by_mx("mx01.mail.icloud.com")->id, "icloud");
	/* a suffix matches at a label boundary only */
	assert_null(sd_provider_by_mx("evilgoogle.com"));
	assert_null(sd_provider_by_domain("example.com"));
	assert_string_equal(sd_provider_by_server("smtp.office365.com")->id,
	    "microsoft365");
	/* every provider the table must hold, each with servers and sources */
	static const char *const must[] = { "gmail.com", "outlook.com",
	    "office365.com", "yahoo.com", "aol.com", "icloud.com", "zoho.com",
	    "fastmail.com", "gmx.net", "web.de", "mail.ru", "yandex.ru",
	    "proton.me", "ovh.net", "ionos.de" };
	for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
		p = sd_provider_by_domain(must[i]);
		assert_non_null(p);
		assert_true(sd_provider_servers(p, sv, 4) >= 1);
		assert_true(strlen(p->sources) > 10 && strlen(p->policy) > 10);
	}
}

static sd_report *report_with(const char *config_json)
{
	sd_report *r = sd_report_new("check");
	sd_report_set_extra(r, "config", json_loads(config_json, 0, NULL));
	return r;
}

static void not_discovered(void **state)
{
	(void)state;
	sd_report *r = report_with("{\"server\": null, \"source\": \"none\"}");
	sd_fact_add(r, json_pack("{s:s, s:s, s:s}", "id",
	    "discovery.srv._submissions._tcp.example.org", "stage", "discovery",
	    "detail", "SRV _submissions._tcp.example.org: no such record"));
	sd_fact_add(r, json_pack("{s:s, s:s, s:s}", "id",
	    "discovery.guess.smtp.example.org", "stage", "discovery", "detail",
	    "guess smtp.example.org: nxdomain"));
	sd_rules_check(r);
	assert_string_equal(sd_report_cause(r), "settings.not_discovered");
	assert_int_equal(sd_report_exit_code(r), 3);
	const char *sum = json_string_value(json_object_get(r->verdict,
	    "summary"));
	assert_non_null(strstr(sum, "SRV _submissions._tcp.example.org: no "
	    "such record"));
	assert_non_null(strstr(sum, "guess smtp.example.org: nxdomain"));
	assert_int_equal(json_array_size(json_object_get(r->verdict,
	    "evidence")), 2);
	sd_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(autoconfig_good),
		cmocka_unit_test(autoconfig_hostile),
		cmocka_unit_test(providers),
		cmocka_unit_test(not_discovered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
