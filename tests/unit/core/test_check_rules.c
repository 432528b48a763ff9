/*
 * The rules of check against recorded facts: each case builds the facts a
 * probe would record for one situation and asserts the verdict a user
 * would see.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "report/report.h"
#include "rules/check_rules.h"

#define A4 "192.0.2.10"
#define A6 "2001:db8::10"

static sd_report *R(int port, const char *tls, int user, int pw)
{
	sd_report *r = sd_report_new("check");
	sd_report_set_extra(r, "config", json_pack("{s:s, s:i, s:s, s:b, s:b}",
	    "server", "smtp.example.com", "port", port, "tls", tls, "user", user,
	    "password", pw));
	return r;
}

static void add(sd_report *r, const char *kind, const char *stage,
    const char *role, int port, const char *addr, const char *fmt, ...)
{
	char id[200];
	snprintf(id, sizeof id, "%s%s.%d.%s", strcmp(role, "fix") == 0 ?
	    "fix." : "", kind, port, addr);
	json_t *f = json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:s}", "id", id,
	    "stage", stage, "role", role, "port", port, "addr", addr, "family",
	    strchr(addr, ':') ? 6 : 4, "host", "smtp.example.com");
	va_list ap;
	va_start(ap, fmt);
	json_error_t e;
	json_t *extra = json_vpack_ex(&e, 0, fmt, ap);
	va_end(ap);
	assert_non_null(extra);
	json_object_update(f, extra);
	json_decref(extra);
	sd_fact_add(r, kind, f);
}

/* The lookup of the server's name, as check.c records it. */
static void dns(sd_report *r, const char *type, const char *status)
{
	char id[100];
	snprintf(id, sizeof id, "dns.%s.smtp.example.com", type);
	sd_fact_add(r, "dns", json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[], "
	    "s:b, s:i}", "id", id, "stage", "dns", "role", "main", "host",
	    "smtp.example.com", "type", type, "status", status, "addresses",
	    "ok", strcmp(status, "ok") == 0, "took_ms", 1));
}

static void tcp(sd_report *r, const char *role, int port, const char *addr,
    const char *result)
{
	add(r, "tcp", "network", role, port, addr, "{s:s, s:b}", "result",
	    result, "ok", strcmp(result, "connected") == 0);
}

static void greet(sd_report *r, const char *role, int port, const char *addr)
{
	add(r, "greeting", "greeting", role, port, addr,
	    "{s:s, s:i, s:s, s:b, s:b}", "result", "smtp", "code", 220, "text",
	    "smtp.example.com ESMTP", "ok", 1, "masked", 0);
}

static void ehlo(sd_report *r, const char *role, int port, const char *addr,
    int starttls, int auth, int tls)
{
	add(r, tls ? "ehlo_tls" : "ehlo", "ehlo", role, port, addr,
	    "{s:b, s:b, s:b, s:b, s:b, s:i}", "ok", 1, "starttls", starttls,
	    "auth_offered", auth, "tls", tls, "masked", 0, "code", 250);
}

static void tls_ok(sd_report *r, const char *role, int port,
    const char *addr, const char *mode)
{
	add(r, "tls", "tls", role, port, addr,
	    "{s:s, s:s, s:b, s:b, s:b, s:s, s:{s:b}}", "mode", mode, "result",
	    "ok", "ok", 1, "name_match", 1, "expired", 0, "root_issuer",
	    "CN=Lab Root", "verify", "ok", 1);
}

static void healthy_to_auth(sd_report *r)
{
	tcp(r, "main", 587, A4, "connected");
	greet(r, "main", 587, A4);
	ehlo(r, "main", 587, A4, 1, 0, 0);
	tls_ok(r, "main", 587, A4, "starttls");
	ehlo(r, "main", 587, A4, 0, 1, 1);
}

static void auth_ok(sd_report *r)
{
	add(r, "auth", "auth", "main", 587, A4, "{s:s, s:b, s:i}", "result",
	    "ok", "ok", 1, "code", 235);
}

static void env_ok(sd_report *r)
{
	add(r, "mail", "envelope", "main", 587, A4, "{s:b, s:i, s:s}", "ok", 1,
	    "code", 250, "command", "MAIL FROM:<a@example.com>");
	add(r, "rcpt", "envelope", "main", 587, A4, "{s:b, s:i, s:s}", "ok", 1,
	    "code", 250, "command", "RCPT TO:<a@example.com>");
	add(r, "rset", "envelope", "main", 587, A4, "{s:b, s:i, s:s}", "ok", 1,
	    "code", 250, "command", "RSET");
}

static char cause_buf[64];

static const char *verdict(sd_report *r)
{
	sd_rules_check(r);
	snprintf(cause_buf, sizeof cause_buf, "%s", sd_report_cause(r));
	sd_report_free(r);
	return cause_buf;
}

static int has_finding(sd_report *r, const char *code)
{
	size_t i;
	json_t *f;
	json_array_foreach(r->findings, i, f)
		if (strcmp(json_string_value(json_object_get(f, "code")), code) == 0)
			return 1;
	return 0;
}

static void healthy(void **s)
{
	(void)s;
	sd_report *r = R(587, "starttls", 1, 1);
	healthy_to_auth(r);
	auth_ok(r);
	env_ok(r);
	sd_rules_check(r);
	assert_string_equal(sd_report_cause(r), "ok");
	assert_int_equal(sd_report_exit_code(r), 0);
	assert_false(has_finding(r, "network.ipv6_broken"));
	sd_report_free(r);
}

static void ipv6_broken_is_a_warning(void **s)
{
	(void)s;
	sd_report *r = R(587, "starttls", 1, 1);
	healthy_to_auth(r);
	auth_ok(r);
	env_ok(r);
	tcp(r, "alternative", 587, A6, "timeout");
	sd_rules_check(r);
	assert_string_equal(sd_report_cause(r), "network.ipv6_broken");
	assert_int_equal(sd_report_status(r), SD_STATUS_WARN);
	assert_int_equal(sd_report_exit_code(r), 0);
	sd_report_free(r);
}

/* A server of IPv6 alone (its name has no A record, or it is given as an
 * IPv6 address): the configured path is its IPv6 address. */
static sd_report *v6_only(const char *server, const char *result,
    const char *ctrl6)
{
	sd_report *r = sd_report_new("check");
	sd_report_set_extra(r, "config", json_pack("{s:s, s:i, s:s, s:b, s:b}",
	    "server", server, "port", 587, "tls", "starttls", "user", 1,
	    "password", 1));
	tcp(r, "main", 587, A6, result);
	tcp(r, "alternative", 465, A6, result);
	tcp(r, "control", 587, "198.51.100.1", "connected");
	tcp(r, "control_nonsmtp", 443, "198.51.100.1", "connected");
	if (ctrl6)
		tcp(r, "control", 587, "2001:db8:1::1", ctrl6);
	return r;
}

static const char *summary(const sd_report *r)
{
	return json_string_value(json_object_get(r->verdict, "summary"));
}

static void ipv6_only_broken_fails(void **s)
{
	(void)s;
	/* a name with only AAAA, IPv6 black-holed here, IPv4 fine */
	sd_report *r = v6_only("smtp.example.com", "timeout", "timeout");
	sd_rules_check(r);
	assert_string_equal(sd_report_cause(r), "network.ipv6_broken");
	assert_int_equal(sd_report_status(r), SD_STATUS_FAIL);
	assert_int_equal(sd_report_exit_code(r), 1);
	assert_non_null(strstr(summary(r), "smtp.example.com has no "
	    "IPv4 address, only IPv6"));
	sd_report_free(r);
	/* the server given as an IPv6 address */
	r = v6_only(A6, "timeout", "network_unreachable");
	sd_rules_check(r);
	assert_string_equal(sd_report_cause(r), "network.ipv6_broken");
	assert_int_equal(sd_report_exit_code(r), 1);
	assert_non_null(strstr(summary(r), "configured as the IPv6 "
	    "address " A6));
	sd_report_free(r);
	/* no IPv6 route on this machine at all: the addresses were judged */
	r = v6_only("smtp.example.com", "no_route", "no_route");
	sd_rules_check(r);
	assert_string_equal(sd_report_cause(r), "network.ipv6_broken");
	assert_int_equal(sd_report_exit_code(r), 1);
	assert_false(has_finding(r, "info.no_ipv6"));
	sd_report_free(r);
}

static void ipv6_only_server_down_is_not_ipv6(void **s)
{
	(void)s;
	/* another IPv6 host answers: the server is the problem */
	sd_report *r = v6_only("smtp.example.com", "timeout", "connected");
	assert_string_equal(verdict(r), "settings.host_unreachable");
	/* no IPv6 control host: IPv6 here is not proven broken */
	r = v6_only("smtp.example.com", "timeout", NULL);
	assert_string_equal(verdict(r), "settings.host_unreachable");
}

static void dns_answers(void **s)
{
	(void)s;
	sd_report *r = R(587, "starttls", 0, 0);
	dns(r, "A", "nxdomain");
	dns(r, "AAAA", "nxdomain");
	assert_string_equal(verdict(r), "settings.host_not_found");
	r = R(587, "starttls", 0, 0);
	dns(r, "A", "servfail");
	dns(r, "AAAA", "nxdomain");
	assert_string_equal(verdict(r), "dns.resolution_failed");
}

static void ports(void **s)
{
	(void)s;
	sd_report *r = R(587, "starttls", 1, 1);
	tcp(r, "main", 587, A4, "refused");
	tcp(r, "alternative", 465, A4, "connected");
	assert_string_equal(verdict(r), "settings.port_closed");

	r = R(587, "starttls", 1, 1);
	tcp(r, "main", 587, A4, "timeout");
	tcp(r, "alternative", 465, A4, "connected");
	assert_string_equal(verdict(r), "network.port_blocked");

	r = R(587, "starttls", 1, 1);
	tcp(r, "main", 587, A4, "local_denied");
	tcp(r, "alternative", 465, A4, "connected");
	assert_string_equal(verdict(r), "network.local_firewall");

	r = R(25, "starttls", 0, 0);
	tcp(r, "main", 25, A4, "timeout");
	tcp(r, "alternative", 587, A4, "connected");
	tcp(r, "control", 25, "198.51.100.1", "timeout");
	tcp(r, "control", 25, "198.51.100.2", "timeout");
	assert_string_equal(verdict(r), "isp.port25_blocked");

	/* the provider resets 25 to everybody: the path, not the server */
	r = R(25, "starttls", 0, 0);
	tcp(r, "main", 25, A4, "refused");
	tcp(r, "alternative", 587, A4, "connected");
	tcp(r, "control", 25, "198.51.100.1", "refused");
	tcp(r, "control", 25, "198.51.100.2", "refused");
	assert_string_equal(verdict(r), "isp.port25_blocked");

	/* only the server's 25 resets, the controls' answer: its port */
	r = R(25, "starttls", 0, 0);
	tcp(r, "main", 25, A4, "refused");
	tcp(r, "alternative", 587, A4, "connected");
	tcp(r, "control", 25, "198.51.100.1", "connected");
	assert_string_equal(verdict(r), "settings.port_closed");

	r = R(587, "starttls", 0, 0);
	tcp(r, "main", 587, A4, "timeout");
	tcp(r, "alternative", 465, A4, "timeout");
	tcp(r, "control", 25, "198.51.100.1", "connected");
	assert_string_equal(verdict(r), "settings.host_unreachable");

	r = R(587, "starttls", 0, 0);
	tcp(r, "main", 587, A4, "timeout");
	tcp(r, "alternative", 465, A4, "timeout");
	tcp(r, "control", 25, "198.51.100.1", "timeout");
	tcp(r, "control_nonsmtp", 443, "198.51.100.1", "connected");
	assert_string_equal(verdict(r), "network.smtp_blocked");

	r = R(587, "starttls", 0, 0);
	tcp(r, "main", 587, A4, "timeout");
	tcp(r, "alternative", 465, A4, "timeout");
	assert_string_equal(verdict(r), "inconclusive");
}

static void greetings(void **s)
{
	(void)s;
	sd_report *r = R(587, "starttls", 0, 0);
	tcp(r, "main", 587, A4, "connected");
	add(r, "greeting", "greeting", "main", 587, A4, "{s:s, s:s, s:s, s:b}",
	    "result", "not_smtp", "proto", "pop3", "text", "+OK Dovecot ready.",
	    "ok", 0);
	assert_string_equal(verdict(r), "settings.not_smtp");

	r = R(465, "starttls", 0, 0);
	tcp(r, "main", 465, A4, "connected");
	add(r, "greeting", "greeting", "main", 465, A4, "{s:s, s:s, s:b}",
	    "result", "none", "timeout", "stage", "ok", 0);
	add(r, "tls", "tls", "main", 465, A4, "{s:s, s:s, s:b, s:b}", "mode",
	    "implicit", "result", "ok", "ok", 1, "after_silence", 1);
	add(r, "greeting", "greeting", "main", 465, A4, "{s:s, s:i, s:b, s:b}",
	    "result", "smtp", "code", 220, "ok", 1, "tls", 1);
	assert_string_equal(verdict(r), "settings.tls_required_on_connect");

	/* TLS, but no SMTP inside: an HTTPS port typed as the SMTP port */
	r = R(443, "starttls", 0, 0);
	tcp(r, "main", 443, A4, "connected");
	add(r, "greeting", "greeting", "main", 443, A4, "{s:s, s:s, s:b}",
	    "result", "none", "timeout", "stage", "ok", 0);
	add(r, "tls", "tls", "main", 443, A4, "{s:s, s:s, s:b, s:b}", "mode",
	    "implicit", "result", "ok", "ok", 1, "after_silence", 1);
	add(r, "greeting", "greeting", "main", 443, A4, "{s:s, s:s, s:b, s:b}",
	    "result", "not_smtp", "proto", "http", "ok", 0, "tls", 1);
	assert_string_equal(verdict(r), "settings.not_smtp");

	/* a greeting delay: the 220 came after our TLS hello */
	r = R(25, "starttls", 0, 0);
	tcp(r, "main", 25, A4, "connected");
	add(r, "greeting", "greeting", "main", 25, A4, "{s:s, s:s, s:b}",
	    "result", "none", "timeout", "stage", "ok", 0);
	add(r, "tls", "tls", "main", 25, A4, "{s:s, s:s, s:b, s:b, s:s}", "mode",
	    "implicit", "result", "late_greeting", "ok", 0, "after_silence", 1,
	    "peer_sent", "220 slow.example ESMTP");
	assert_string_equal(verdict(r), "inconclusive");

	r = R(587, "implicit", 0, 0);
	tcp(r, "main", 587, A4, "connected");
	add(r, "tls", "tls", "main", 587, A4, "{s:s, s:s, s:b}", "mode",
	    "implicit", "result", "plaintext_answer", "ok", 0);
	assert_string_equal(verdict(r), "settings.starttls_expected");

	r = R(587, "starttls", 0, 0);
	tcp(r, "main", 587, A4, "connected");
	greet(r, "main", 587, A4);
	add(r, "ehlo", "ehlo", "main", 587, A4, "{s:s, s:s, s:b}", "result",
	    "timeout", "timeout", "stage", "ok", 0);
	assert_string_equal(verdict(r), "firewall.connection_stalled");

	r = R(587, "starttls", 0, 0);
	tcp(r, "main", 587, A4, "connected");
	greet(r, "main", 587, A4);
	add(r, "ehlo", "ehlo", "main", 587, A4, "{s:s, s:s, s:b}", "result",
	    "timeout", "timeout", "run", "ok", 0);
	assert_string_equal(verdict(r), "inconclusive");

	/* an EHLO reply that keeps coming is not a stall */
	r = R(587, "starttls", 0, 0);
	tcp(r, "main", 587, A4, "connected");
	greet(r, "main", 587, A4);
	add(r, "ehlo", "ehlo", "main", 587, A4, "{s:s, s:s, s:b, s:b}", "result",
	    "timeout", "timeout", "stage", "partial", 1, "ok", 0);
	assert_string_equal(verdict(r), "inconclusive");
}

static void starttls_missing(void **s)
{
	(void)s;
	sd_report *r = R(587, "starttls", 1, 1);
	tcp(r, "main", 587, A4, "connected");
	greet(r, "main", 587, A4);
	ehlo(r, "main", 587, A4, 0, 1, 0);
	assert_string_equal(verdict(r), "settings.starttls_unavailable");

	r = R(587, "starttls", 1, 1);
	tcp(r, "main", 587, A4, "connected");
	greet(r, "main", 587, A4);
	ehlo(r, "main", 587, A4, 0, 1, 0);
	tcp(r, "alternative", 587, A6, "connected");
	ehlo(r, "alternative", 587, A6, 1, 0, 0);
	assert_string_equal(verdict(r), "firewall.smtp_inspection");
}

static void certificates(void **s)
{
	(void)s;
	sd_report *r = R(587, "starttls", 1, 1);
	tcp(r, "main", 587, A4, "connected");
	greet(r, "main", 587, A4);
	ehlo(r, "main", 587, A4, 1, 0, 0);
	add(r, "tls", "tls", "main", 587, A4,
	    "{s:s, s:s, s:b, s:b, s:b, s:s, s:[{s:s}], s:{s:b, s:s}}", "mode",
	    "starttls", "result", "ok", "ok", 0, "name_match", 1, "expired", 0,
	    "root_issuer", "CN=Avast Web/Mail Shield Root", "chain", "issuer",
	    "CN=Avast Web/Mail Shield Root", "verify", "ok", 0, "reason",
	    "unable to get local issuer certificate");
	assert_string_equal(verdict(r), "antivirus.tls_interception");

	/* the product's CA is trusted on this machine: still interception */
	r = R(587, "starttls", 1, 1);
	tcp(r, "main", 587, A4, "connected");
	greet(r, "main", 587, A4);
	ehlo(r, "main", 587, A4, 1, 0, 0);
	add(r, "tls", "tls", "main", 587, A4,
	    "{s:s, s:s, s:b, s:b, s:b, s:s, s:[{s:s}], s:{s:b}}", "mode",
	    "starttls", "result", "ok", "ok", 1, "name_match", 1, "expired", 0,
	    "root_issuer", "CN=ESET SSL Filter CA", "chain", "issuer",
	    "CN=ESET SSL Filter CA,O=ESET", "verify", "ok", 1);
	assert_string_equal(verdict(r), "antivirus.tls_interception");

	r = R(587, "starttls", 1, 1);
	tcp(r, "main", 587, A4, "connected");
	greet(r, "main", 587, A4);
	ehlo(r, "main", 587, A4, 1, 0, 0);
	add(r, "tls", "tls", "main", 587, A4,
	    "{s:s, s:s, s:b, s:b, s:b, s:s, s:[{s:s}], s:{s:b, s:s}}", "mode",
	    "starttls", "result", "ok", "ok", 0, "name_match", 1, "expired", 1,
	    "root_issuer", "CN=Lab Root", "chain", "issuer", "CN=Lab Root",
	    "verify", "ok", 0, "reason", "certificate has expired");
	assert_string_equal(verdict(r), "settings.certificate_invalid");

	r = R(587, "starttls", 1, 1);
	tcp(r, "main", 587, A4, "connected");
	greet(r, "main", 587, A4);
	ehlo(r, "main", 587, A4, 1, 0, 0);
	add(r, "tls", "tls", "main", 587, A4, "{s:s, s:s, s:s, s:b}", "mode",
	    "starttls", "result", "handshake_failed", "error",
	    "no protocols available", "ok", 0);
	assert_string_equal(verdict(r), "settings.tls_handshake_failed");
}

static void authentication(void **s)
{
	(void)s;
	sd_report *r = R(587, "starttls", 1, 1);
	healthy_to_auth(r);
	add(r, "auth", "auth", "main", 587, A4, "{s:s, s:i, s:s, s:s}", "result",
	    "rejected", "code", 535, "enhanced", "5.7.8", "text",
	    "5.7.8 Error: authentication failed: authentication failure");
	assert_string_equal(verdict(r), "auth.bad_credentials");

	r = R(587, "starttls", 1, 1);
	healthy_to_auth(r);
	add(r, "auth", "auth", "main", 587, A4, "{s:s, s:s}", "result",
	    "mechanism_unsupported", "mech", "CRAM-MD5");
	assert_string_equal(verdict(r), "auth.mechanism_unsupported");

	r = R(25, "starttls", 1, 1);
	tcp(r, "main", 25, A4, "connected");
	greet(r, "main", 25, A4);
	ehlo(r, "main", 25, A4, 1, 0, 0);
	tls_ok(r, "main", 25, A4, "starttls");
	ehlo(r, "main", 25, A4, 0, 0, 1);
	add(r, "auth", "auth", "main", 25, A4, "{s:s}", "result", "not_offered");
	sd_fact_add(r, "server_mx", json_pack("{s:s, s:s, s:s, s:s, s:[], s:b}",
	    "id", "server_mx.example.com", "stage", "dns", "domain", "example.com",
	    "status", "ok", "mx", "host_is_mx", 1));
	assert_string_equal(verdict(r), "settings.wrong_server");

	r = R(587, "starttls", 1, 1);
	tcp(r, "main", 587, A4, "connected");
	greet(r, "main", 587, A4);
	ehlo(r, "main", 587, A4, 1, 0, 0);
	tls_ok(r, "main", 587, A4, "starttls");
	ehlo(r, "main", 587, A4, 0, 0, 1);
	tcp(r, "alternative", 465, A4, "connected");
	greet(r, "alternative", 465, A4);
	add(r, "auth", "auth", "main", 587, A4, "{s:s}", "result", "not_offered");
	assert_string_equal(verdict(r), "auth.not_offered");

	r = R(587, "none", 1, 1);
	tcp(r, "main", 587, A4, "connected");
	greet(r, "main", 587, A4);
	ehlo(r, "main", 587, A4, 1, 1, 0);
	add(r, "auth", "auth", "main", 587, A4, "{s:s}", "result",
	    "plaintext_refused");
	assert_string_equal(verdict(r), "auth.plaintext_refused");

	r = R(587, "none", 1, 1);
	tcp(r, "main", 587, A4, "connected");
	greet(r, "main", 587, A4);
	ehlo(r, "main", 587, A4, 1, 0, 0);
	add(r, "auth", "auth", "main", 587, A4, "{s:s}", "result", "not_offered");
	ehlo(r, "alternative", 587, A4, 0, 1, 1);
	assert_string_equal(verdict(r), "auth.encryption_required");
}

/* MAIL accepted, RCPT refused: relaying denied. */
static void relay_refused(sd_report *r)
{
	add(r, "mail", "envelope", "main", 587, A4, "{s:b, s:i}", "ok", 1, "code", 250);
	add(r, "rcpt", "envelope", "main", 587, A4, "{s:b, s:i, s:s, s:s}", "ok",
	    0, "code", 554, "enhanced", "5.7.1", "text",
	    "5.7.1 <x@other.example>: Relay access denied");
}

static void envelope(void **s)
{
	(void)s;
	sd_report *r = R(587, "starttls", 0, 0);
	healthy_to_auth(r);
	relay_refused(r);
	assert_string_equal(verdict(r), "auth.required");

	r = R(587, "starttls", 1, 1);
	healthy_to_auth(r);
	auth_ok(r);
	relay_refused(r);
	assert_string_equal(verdict(r), "isp.relay_denied");

	/* a user but no password source: AUTH skipped, so the refusal says
	 * nothing about the account: inconclusive, naming the sources */
	r = R(587, "starttls", 1, 0);
	healthy_to_auth(r);
	add(r, "auth", "auth", "main", 587, A4, "{s:s}", "result", "no_secret");
	relay_refused(r);
	sd_rules_check(r);
	assert_string_equal(sd_report_cause(r), "inconclusive");
	assert_non_null(strstr(json_string_value(json_array_get(json_object_get(
	    r->verdict, "fix"), 0)), "--password-file FILE, --password-env VAR "
	    "or --password-cmd CMD"));
	sd_report_free(r);

	/* a server only plain-http autoconfig named: no credentials went to
	 * it (check.c), so the refusal says nothing about the login */
	r = R(587, "starttls", 0, 0);
	json_object_set_new(json_object_get(r->extra, "config"), "http_only",
	    json_true());
	healthy_to_auth(r);
	relay_refused(r);
	sd_rules_check(r);
	assert_string_equal(sd_report_cause(r), "inconclusive");
	assert_int_equal(sd_report_exit_code(r), 3);
	assert_non_null(strstr(summary(r), "only autoconfig over plain http"));
	assert_true(has_finding(r, "settings.unconfirmed_source"));
	sd_report_free(r);

	r = R(587, "starttls", 1, 1);
	healthy_to_auth(r);
	auth_ok(r);
	add(r, "mail", "envelope", "main", 587, A4, "{s:b, s:i}", "ok", 1, "code", 250);
	add(r, "rcpt", "envelope", "main", 587, A4, "{s:b, s:i, s:s, s:s}", "ok",
	    0, "code", 553, "enhanced", "5.7.1", "text", "5.7.1 <bob@example.com>:"
	    " Sender address rejected: not owned by user alice@example.com");
	assert_string_equal(verdict(r), "sender.rejected");

	r = R(587, "starttls", 1, 1);
	healthy_to_auth(r);
	auth_ok(r);
	add(r, "mail", "envelope", "main", 587, A4, "{s:b, s:i, s:s, s:s}", "ok",
	    0, "code", 451, "enhanced", "4.3.0", "text", "4.3.0 try again later");
	assert_string_equal(verdict(r), "settings.temporary_failure");
}

static const char *auth_reply(int code, const char *enh, const char *text)
{
	sd_report *r = R(587, "starttls", 1, 1);
	healthy_to_auth(r);
	add(r, "auth", "auth", "main", 587, A4, "{s:s, s:i, s:s, s:s}", "result",
	    "rejected", "code", code, "enhanced", enh, "text", text);
	return verdict(r);
}

static void provider_replies(void **s)
{
	(void)s;
	assert_string_equal(auth_reply(534, "5.7.9", "5.7.9 Application-specific "
	    "password required. Learn more at\nhttps://support.google.com/mail/"
	    "?p=InvalidSecondFactor x12-20020a05 - gsmtp"),
	    "auth.app_password_required");
	assert_string_equal(auth_reply(535, "5.7.139", "5.7.139 Authentication "
	    "unsuccessful, SmtpClientAuthentication is disabled for the Tenant. "
	    "Visit https://aka.ms/smtp_auth_disabled for more information."),
	    "auth.disabled");
	assert_string_equal(auth_reply(535, "5.7.139", "5.7.139 Authentication "
	    "unsuccessful, basic authentication is disabled."),
	    "auth.oauth_required");
	assert_string_equal(auth_reply(535, "5.7.139", "5.7.139 Authentication "
	    "unsuccessful, the user credentials were incorrect."),
	    "auth.bad_credentials");
	assert_string_equal(auth_reply(454, "4.7.0", "4.7.0 Too many login "
	    "attempts, please try again later."), "auth.locked_out");

	sd_report *r = R(587, "starttls", 1, 1);
	healthy_to_auth(r);
	auth_ok(r);
	add(r, "mail", "envelope", "main", 587, A4, "{s:b, s:i, s:s, s:s}", "ok",
	    0, "code", 550, "enhanced", "5.4.5", "text", "5.4.5 Daily user "
	    "sending limit exceeded. For more information on Gmail sending "
	    "limits go to https://support.google.com/a/answer/166852");
	assert_string_equal(verdict(r), "isp.rate_limited");
}

static const char *with_sender_domain(const char *cause, const char *status)
{
	sd_report *r = R(587, "starttls", 1, 1);
	healthy_to_auth(r);
	auth_ok(r);
	env_ok(r);
	sd_fact_add(r, "sender_domain", json_pack("{s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:[s]}", "id",
	    "sender_domain", "stage", "domain", "domain", "example.com", "cause",
	    cause, "status", status, "summary", "no DMARC record", "fix",
	    "publish v=DMARC1; p=none"));
	return verdict(r);
}

static void sender_domain_decides_a_working_path(void **s)
{
	(void)s;
	assert_string_equal(with_sender_domain("dns.dmarc_missing", "warn"),
	    "dns.dmarc_missing");
	assert_string_equal(with_sender_domain("dns.spf_permerror", "fail"),
	    "dns.spf_permerror");
	/* the submission server is not the sending IP SPF judges */
	assert_string_equal(with_sender_domain("dns.spf_fail", "fail"), "ok");
	/* what cannot be looked up is not ok (docs/verdicts.md) */
	assert_string_equal(with_sender_domain("dns.resolution_failed", "fail"),
	    "dns.resolution_failed");
	assert_string_equal(with_sender_domain("ok", "ok"), "ok");
}

/* The sender domain's failed lookups are the verdict's evidence too, as
 * far as the report holds them. */
static void sender_domain_evidence(void **s)
{
	(void)s;
	sd_report *r = R(587, "starttls", 1, 1);
	healthy_to_auth(r);
	auth_ok(r);
	env_ok(r);
	sd_fact_add(r, "lookup", json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
	    "id", "dns.MX.example.com", "stage", "domain", "check", "lookup",
	    "name", "example.com", "type", "MX", "status", "timeout"));
	sd_fact_add(r, "sender_domain", json_pack("{s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:[], s:[s, s]}", "id", "sender_domain", "stage", "domain",
	    "domain", "example.com", "cause", "dns.resolution_failed", "status",
	    "fail", "summary", "no lookup of example.com was answered", "fix",
	    "evidence", "dns.MX.example.com", "dns.SOA.not-in-this-report"));
	sd_rules_check(r);
	assert_string_equal(sd_report_cause(r), "dns.resolution_failed");
	/* the id the report does not hold is left out */
	char *ev = json_dumps(json_object_get(r->verdict, "evidence"),
	    JSON_COMPACT);
	assert_string_equal(ev, "[\"tcp.587.192.0.2.10\","
	    "\"rset.587.192.0.2.10\",\"sender_domain\","
	    "\"dns.MX.example.com\"]");
	free(ev);
	sd_report_free(r);
}

/* A working path with what endangers it: the order of docs/verdicts.md
 * ("When the configured path works"), and never ok while one stands. */
static sd_report *working_with(const char *dnsbl_class, int v6_broken,
    const char *domain_cause, const char *domain_status)
{
	sd_report *r = R(587, "starttls", 1, 1);
	healthy_to_auth(r);
	auth_ok(r);
	env_ok(r);
	/* this machine's address on a list, as check's blocklist probe says */
	if (dnsbl_class)
		sd_fact_add(r, "dnsbl", json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, "
		    "s:b, s:[{s:s, s:s, s:s}]}", "id",
		    "self.dnsbl.bl.example.org.192.0.2.200", "stage", "reputation",
		    "check", "dnsbl", "ip", "192.0.2.200", "zone", "bl.example.org",
		    "status", "ok", "own", 1, "answers", "address", "127.0.0.2",
		    "class", dnsbl_class, "meaning", "listed"));
	if (v6_broken)
		tcp(r, "alternative", 587, A6, "timeout");
	if (domain_cause)
		sd_fact_add(r, "sender_domain", json_pack("{s:s, s:s, s:s, s:s, "
		    "s:s, s:s, s:[]}", "id", "sender_domain", "stage", "domain", "domain",
		    "example.com", "cause", domain_cause, "status",
		    domain_status, "summary", "the domain's problem", "fix"));
	sd_rules_check(r);
	return r;
}

static void working_path_warns_in_order(void **s)
{
	(void)s;
	struct {
		const char *dnsbl; int v6; const char *dc, *ds;
		const char *cause; sd_status st;
	} cases[] = {
		{ "listed", 0, NULL, NULL, "reputation.ip_listed", SD_STATUS_WARN },
		/* a policy list (PBL) with AUTH on 587 is only info */
		{ "policy", 0, NULL, NULL, "ok", SD_STATUS_OK },
		{ "listed", 1, "dns.dmarc_missing", "warn", "reputation.ip_listed",
		    SD_STATUS_WARN },
		{ "policy", 1, "dns.dmarc_missing", "warn", "network.ipv6_broken",
		    SD_STATUS_WARN },
		{ NULL, 0, "dns.dmarc_missing", "warn", "dns.dmarc_missing",
		    SD_STATUS_WARN },
		/* a dns.* failure still fails, before any warning */
		{ "listed", 1, "dns.spf_permerror", "fail", "dns.spf_permerror",
		    SD_STATUS_FAIL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sd_report *r = working_with(cases[i].dnsbl, cases[i].v6,
		    cases[i].dc, cases[i].ds);
		assert_string_equal(sd_report_cause(r), cases[i].cause);
		assert_int_equal(sd_report_status(r), cases[i].st);
		assert_int_equal(sd_report_exit_code(r),
		    cases[i].st == SD_STATUS_FAIL ? 1 : 0);
		sd_report_free(r);
	}
}

static void generic_words(void **s)
{
	(void)s;
	const char *prov, *expl, *hint;
	/* whole words: "not listed" is no listing, "corporate" no rate */
	const char *c = sd_rules_reply_cause("rcpt", 550, "5.7.1",
	    "5.7.1 Recipient not listed in directory", &prov, &expl, &hint);
	assert_true(c == NULL || strcmp(c, "reputation.ip_listed") != 0);
	c = sd_rules_reply_cause("mail", 550, "5.7.1",
	    "5.7.1 Rejected by corporate rules", &prov, &expl, &hint);
	assert_true(c == NULL || strcmp(c, "isp.rate_limited") != 0);
	c = sd_rules_reply_cause("rcpt", 554, "5.7.1", "5.7.1 Service "
	    "unavailable; Client host [192.0.2.1] blocked using zen.example",
	    &prov, &expl, &hint);
	assert_string_equal(c, "reputation.ip_listed");
}

static void interception_list(void **s)
{
	(void)s;
	assert_string_equal(sd_rules_interception_product(
	    "CN=ESET SSL Filter CA,O=ESET\\, spol. s r. o.,C=SK"), "ESET");
	assert_null(sd_rules_interception_product("CN=R3,O=Let's Encrypt,C=US"));
	assert_non_null(sd_rules_proxy_product("localhost Avast! Mail Shield ESMTP"));
	/* "RESET" must not look like ESET */
	assert_null(sd_rules_proxy_product("2.0.0 RESET ok"));
}

/* The precedence table, rule by rule, is the numbered list under
 * "Precedence of check" in docs/verdicts.md. */
static void table_order_is_documented(void **state)
{
	(void)state;
	FILE *f = fopen("docs/verdicts.md", "r");
	assert_non_null(f);
	char line[1024];
	int in_list = 0;
	size_t n = 0;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "## ", 3) == 0)
			in_list = strcmp(line, "## Precedence of check\n") == 0;
		unsigned num;
		char name[64];
		if (!in_list || sscanf(line, "%u. `%63[a-z0-9_]`", &num, name) != 2)
			continue;
		assert_int_equal(num, n + 1);
		const char *rule = sd_check_rule_name(n);
		if (!rule || strcmp(rule, name) != 0)
			fail_msg("docs/verdicts.md lists %s at %u, the table has %s",
			    name, num, rule ? rule : "(end)");
		n++;
	}
	fclose(f);
	assert_true(n > 40);
	if (sd_check_rule_name(n))
		fail_msg("rule %s is not in docs/verdicts.md", sd_check_rule_name(n));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_order_is_documented),
		cmocka_unit_test(healthy),
		cmocka_unit_test(ipv6_broken_is_a_warning),
		cmocka_unit_test(ipv6_only_broken_fails),
		cmocka_unit_test(ipv6_only_server_down_is_not_ipv6),
		cmocka_unit_test(dns_answers),
		cmocka_unit_test(ports),
		cmocka_unit_test(greetings),
		cmocka_unit_test(starttls_missing),
		cmocka_unit_test(certificates),
		cmocka_unit_test(authentication),
		cmocka_unit_test(envelope),
		cmocka_unit_test(provider_replies),
		cmocka_unit_test(sender_domain_decides_a_working_path),
		cmocka_unit_test(sender_domain_evidence),
		cmocka_unit_test(working_path_warns_in_order),
		cmocka_unit_test(generic_words),
		cmocka_unit_test(interception_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
