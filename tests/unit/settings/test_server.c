/* --server forms and --tls names (settings/server.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "settings/server.h"

static sd_server_spec s;
static char err[300];

static int parse(const char *spec)
{
	err[0] = '\0';
	return sd_server_parse(spec, &s, err, sizeof err);
}

static void plain_forms(void **state)
{
	(void)state;
	assert_int_equal(parse("smtp.example.com"), 0);
	assert_string_equal(s.host, "smtp.example.com");
	assert_int_equal(s.port, 0);
	assert_int_equal(parse("smtp.example.com:465"), 0);
	assert_string_equal(s.host, "smtp.example.com");
	assert_int_equal(s.port, 465);
	assert_true(s.port_explicit);
	assert_int_equal(parse("smtp.example.com."), 0);
	assert_string_equal(s.host, "smtp.example.com");
	assert_int_equal(parse("smtp.example.com.:587"), 0);
	assert_string_equal(s.host, "smtp.example.com");
	assert_int_equal(s.port, 587);
	assert_int_equal(parse("[2001:db8::5]:587"), 0);
	assert_string_equal(s.host, "2001:db8::5");
	assert_int_equal(s.port, 587);
	assert_int_equal(parse("[2001:db8::5]"), 0);
	assert_int_equal(s.port, 0);
	assert_int_equal(parse("2001:db8::5"), 0);
	assert_string_equal(s.host, "2001:db8::5");
	assert_int_equal(parse("192.0.2.10:2525"), 0);
	assert_string_equal(s.host, "192.0.2.10");
	assert_int_equal(s.port, 2525);
}

static void urls(void **state)
{
	(void)state;
	assert_int_equal(parse("smtps://smtp.example.com"), 0);
	assert_int_equal(s.port, 465);
	assert_int_equal(s.tls, SD_TLS_IMPLICIT);
	assert_false(s.port_explicit);
	assert_int_equal(parse("submission://smtp.example.com/"), 0);
	assert_int_equal(s.port, 587);
	assert_int_equal(s.tls, SD_TLS_STARTTLS);
	assert_int_equal(parse("SMTP://smtp.example.com"), 0);
	assert_int_equal(s.port, 25);
	assert_int_equal(s.tls, SD_TLS_UNSET);
	/* a port in the URL wins over the scheme's */
	assert_int_equal(parse("smtps://smtp.example.com:2465"), 0);
	assert_int_equal(s.port, 2465);
	assert_int_equal(s.tls, SD_TLS_IMPLICIT);
	assert_int_equal(parse("smtp://alice%40example.com@[::1]:587/"), 0);
	assert_string_equal(s.user, "alice@example.com");
	assert_string_equal(s.host, "::1");
	assert_int_equal(s.port, 587);
}

static void refused(void **state)
{
	(void)state;
	/* the password is never quoted back */
	assert_int_equal(parse("smtps://alice:hunter2@smtp.example.com"), -1);
	assert_null(strstr(err, "hunter2"));
	assert_non_null(strstr(err, "password"));
	assert_int_equal(parse("smtps://:hunter2@smtp.example.com"), -1);
	assert_null(strstr(err, "hunter2"));
	assert_int_equal(parse("alice@example.com"), -1);
	assert_non_null(strstr(err, "e-mail address"));
	assert_int_equal(parse("http://smtp.example.com"), -1);
	assert_int_equal(parse("smtp://smtp.example.com/path"), -1);
	assert_int_equal(parse("smtp.example.com:0"), -1);
	assert_int_equal(parse("smtp.example.com:65536"), -1);
	assert_int_equal(parse("smtp.example.com:58x"), -1);
	assert_int_equal(parse("smtp.example.com:"), -1);
	assert_int_equal(parse("[2001:db8::5"), -1);
	assert_int_equal(parse("[2001:db8::5]x"), -1);
	assert_int_equal(parse("[smtp.example.com]:25"), -1);
	assert_int_equal(parse("smtp example.com"), -1);
	assert_int_equal(parse(".."), -1);
	assert_int_equal(parse(""), -1);
	assert_int_equal(parse("smtp://%zz@host"), -1);
	assert_int_equal(parse("smtp://%00@host"), -1);
	assert_int_equal(parse("smtp://a%4"), -1);
}

static void merge(void **state)
{
	(void)state;
	int port = 0;
	sd_tls_mode tls = SD_TLS_UNSET;
	const char *user = NULL;
	assert_int_equal(parse("smtp.example.com:465"), 0);
	port = 587;
	assert_int_equal(sd_server_merge(&s, &port, &tls, &user, err,
	    sizeof err), -1);
	port = 465;
	assert_int_equal(sd_server_merge(&s, &port, &tls, &user, err,
	    sizeof err), 0);
	assert_int_equal(parse("smtps://bob@smtp.example.com"), 0);
	port = 0;
	tls = SD_TLS_STARTTLS;
	assert_int_equal(sd_server_merge(&s, &port, &tls, &user, err,
	    sizeof err), -1);
	tls = SD_TLS_UNSET;
	user = "carol";
	assert_int_equal(sd_server_merge(&s, &port, &tls, &user, err,
	    sizeof err), -1);
	user = NULL;
	/* the scheme's own port yields to --port */
	port = 2465;
	assert_int_equal(sd_server_merge(&s, &port, &tls, &user, err,
	    sizeof err), 0);
	assert_int_equal(port, 2465);
	assert_int_equal(tls, SD_TLS_IMPLICIT);
	assert_string_equal(user, "bob");
}

static void tls_names(void **state)
{
	(void)state;
	assert_int_equal(sd_tls_mode_parse("STARTTLS"), SD_TLS_STARTTLS);
	assert_int_equal(sd_tls_mode_parse("tls"), SD_TLS_STARTTLS);
	assert_int_equal(sd_tls_mode_parse("SSL/TLS"), SD_TLS_IMPLICIT);
	assert_int_equal(sd_tls_mode_parse("ssl"), SD_TLS_IMPLICIT);
	assert_int_equal(sd_tls_mode_parse("smtps"), SD_TLS_IMPLICIT);
	assert_int_equal(sd_tls_mode_parse("implicit"), SD_TLS_IMPLICIT);
	assert_int_equal(sd_tls_mode_parse("none"), SD_TLS_NONE);
	assert_int_equal(sd_tls_mode_parse("tlsv1"), SD_TLS_UNSET);
	assert_int_equal(sd_tls_mode_parse(""), SD_TLS_UNSET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_forms),
		cmocka_unit_test(urls),
		cmocka_unit_test(refused),
		cmocka_unit_test(merge),
		cmocka_unit_test(tls_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
