/* DNS blocklist return codes (data/dnsbl.def and the rule of thumb). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "probe/domain_dnsbl.h"

static sd_dnsbl_class cls(const char *zone, const char *a, char *m)
{
	return sd_dnsbl_classify(zone, a, m, SD_DNSBL_MEANING_MAX);
}

static void spamhaus_zen(void **state)
{
	(void)state;
	char m[SD_DNSBL_MEANING_MAX];
	assert_int_equal(cls("zen.spamhaus.org", "127.0.0.2", m),
	    SD_DNSBL_LISTED);
	assert_non_null(strstr(m, "SBL"));
	assert_int_equal(cls("ZEN.Spamhaus.ORG.", "127.0.0.4", m),
	    SD_DNSBL_LISTED);
	assert_non_null(strstr(m, "XBL"));
	assert_int_equal(cls("zen.spamhaus.org", "127.0.0.10", m),
	    SD_DNSBL_POLICY);
	assert_non_null(strstr(m, "PBL"));
	assert_int_equal(cls("zen.spamhaus.org", "127.0.0.11", m),
	    SD_DNSBL_POLICY);
	assert_int_equal(cls("zen.spamhaus.org", "127.255.255.254", m),
	    SD_DNSBL_ERROR);
	assert_non_null(strstr(m, "public"));
	assert_int_equal(cls("zen.spamhaus.org", "127.255.255.255", m),
	    SD_DNSBL_ERROR);
	assert_int_equal(cls("zen.spamhaus.org", "127.255.255.252", m),
	    SD_DNSBL_ERROR);
}

static void domain_lists(void **state)
{
	(void)state;
	char m[SD_DNSBL_MEANING_MAX];
	assert_int_equal(cls("dbl.spamhaus.org", "127.0.1.2", m),
	    SD_DNSBL_LISTED);
	assert_int_equal(cls("dbl.spamhaus.org", "127.0.1.4", m),
	    SD_DNSBL_LISTED);
	assert_non_null(strstr(m, "phishing"));
	assert_int_equal(cls("dbl.spamhaus.org", "127.0.1.255", m),
	    SD_DNSBL_ERROR);
	assert_int_equal(cls("dbl.spamhaus.org", "127.0.0.1", m),
	    SD_DNSBL_ERROR);
	assert_int_equal(cls("multi.uribl.com", "127.0.0.1", m),
	    SD_DNSBL_ERROR);
	assert_non_null(strstr(m, "refused"));
	assert_int_equal(cls("multi.uribl.com", "127.0.0.2", m),
	    SD_DNSBL_LISTED);
	assert_non_null(strstr(m, "black"));
	/* bitmask: 8 + 16 = phishing and malware */
	assert_int_equal(cls("multi.surbl.org", "127.0.0.24", m),
	    SD_DNSBL_LISTED);
	assert_non_null(strstr(m, "PH"));
	assert_non_null(strstr(m, "MW"));
}

static void rule_of_thumb(void **state)
{
	(void)state;
	char m[SD_DNSBL_MEANING_MAX];
	/* a zone the table does not know */
	assert_int_equal(cls("bl.example.net", "127.0.0.2", m),
	    SD_DNSBL_LISTED);
	assert_int_equal(cls("bl.example.net", "127.0.0.5", m),
	    SD_DNSBL_LISTED);
	assert_int_equal(cls("bl.example.net", "127.255.255.254", m),
	    SD_DNSBL_ERROR);
	assert_int_equal(cls("bl.example.net", "127.0.0.1", m),
	    SD_DNSBL_ERROR);
	/* an ISP resolver that rewrites NXDOMAIN to its search page */
	assert_int_equal(cls("bl.example.net", "198.51.100.7", m),
	    SD_DNSBL_ERROR);
	assert_non_null(strstr(m, "outside 127"));
	assert_int_equal(cls("bl.example.net", "not an address", m),
	    SD_DNSBL_ERROR);
	assert_int_equal(cls("bl.example.net", "::1", NULL),
	    SD_DNSBL_ERROR);
	assert_string_equal(sd_dnsbl_class_name(SD_DNSBL_POLICY), "policy");
}

static void defaults(void **state)
{
	(void)state;
	const char *z[16];
	size_t n = sd_dnsbl_defaults(0, z, 16);
	assert_int_equal(n, 5);
	assert_string_equal(z[0], "zen.spamhaus.org");
	int seen_sorbs = 0;
	for (size_t i = 0; i < n; i++)
		seen_sorbs |= strstr(z[i], "sorbs") != NULL;
	assert_false(seen_sorbs);   /* decommissioned in 2024 */
	n = sd_dnsbl_defaults(1, z, 16);
	assert_int_equal(n, 3);
	assert_string_equal(z[0], "dbl.spamhaus.org");
	assert_int_equal(sd_dnsbl_defaults(0, z, 2), 2);
	assert_true(sd_dnsbl_zone_ipv6("zen.spamhaus.org"));
	assert_false(sd_dnsbl_zone_ipv6("bl.spamcop.net"));
	assert_true(sd_dnsbl_zone_ipv6("a-list-we-do-not-know.example"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spamhaus_zen),
		cmocka_unit_test(domain_lists),
		cmocka_unit_test(rule_of_thumb),
		cmocka_unit_test(defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
