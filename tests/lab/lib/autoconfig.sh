# Autoconfig documents (docs/discovery.md) served over HTTPS by lighttpd,
# with a certificate of the lab CA, beside rbldnsd ($RBL4:443; the proxy
# namespace is emptied after every scenario).
# Each lab domain autoconfig.NAME.example.com gets its own document: a good
# one, a stale host, an oversized, a malformed and a hostile (entity
# expansion) one, and a redirect to plain http elsewhere.  ac-http's good
# document is served over plain http alone (port 80): its https host has no
# certificate for the name, so the http fallback finds it.
# shellcheck shell=bash

ACDIR=$LAB_RUN/autoconfig

# ac_doc HOST PORT SOCKETTYPE: a config-v1.1.xml naming one outgoing server
ac_doc() {
	cat <<EOF2
<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.com">
    <domain>example.com</domain>
    <incomingServer type="imap">
      <hostname>imap.example.net</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>$1</hostname>
      <port>$2</port>
      <socketType>$3</socketType>
      <username>%EMAILADDRESS%</username>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>
EOF2
}

lab_autoconfig() {
	# without it the scenarios that say "requires: lighttpd" are skipped
	[ -e /usr/lib/lighttpd/mod_openssl.so ] || return 0
	local d
	for d in ac ac-stale ac-big ac-bad ac-hostile ac-redirect ac-http; do
		mkdir -p "$ACDIR/$d/mail" || return 1
	done
	ac_doc smtp.example.net 465 SSL >"$ACDIR/ac/mail/config-v1.1.xml"
	ac_doc smtp-old.example.net 587 STARTTLS >"$ACDIR/ac-stale/mail/config-v1.1.xml"
	ac_doc smtp.example.net 465 SSL >"$ACDIR/ac-http/mail/config-v1.1.xml"
	{ ac_doc smtp.example.net 465 SSL; head -c 100000 /dev/zero | tr '\0' ' '; } \
		>"$ACDIR/ac-big/mail/config-v1.1.xml"
	ac_doc smtp.example.net 465 SSL | sed 's|</outgoingServer>|</outgoing>|' \
		>"$ACDIR/ac-bad/mail/config-v1.1.xml"
	cat >"$ACDIR/ac-hostile/mail/config-v1.1.xml" <<'EOF2'
<?xml version="1.0"?>
<!DOCTYPE c [ <!ENTITY a "aaaaaaaaaa"> <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"> ]>
<clientConfig><emailProvider><outgoingServer type="smtp"><hostname>&c;</hostname>
<port>465</port><socketType>SSL</socketType></outgoingServer></emailProvider></clientConfig>
EOF2
	cat "$CERTS/autoconfig.crt" "$CERTS/autoconfig.key" >"$ACDIR/server.pem"
	cat >"$ACDIR/lighttpd.conf" <<EOF2
server.modules = ( "mod_openssl", "mod_redirect" )
server.bind = "$RBL4"
server.port = 443
server.document-root = "$ACDIR/ac"
server.pid-file = "$ACDIR/lighttpd.pid"
server.errorlog = "$ACDIR/error.log"
mimetype.assign = ( ".xml" => "text/xml" )
ssl.engine = "enable"
ssl.pemfile = "$ACDIR/server.pem"
\$HTTP["host"] == "autoconfig.ac-stale.example.com" { server.document-root = "$ACDIR/ac-stale" }
\$HTTP["host"] == "autoconfig.ac-big.example.com" { server.document-root = "$ACDIR/ac-big" }
\$HTTP["host"] == "autoconfig.ac-bad.example.com" { server.document-root = "$ACDIR/ac-bad" }
\$HTTP["host"] == "autoconfig.ac-hostile.example.com" { server.document-root = "$ACDIR/ac-hostile" }
\$HTTP["host"] == "autoconfig.ac-redirect.example.com" {
	url.redirect = ( "" => "http://www.example.org/mail/config-v1.1.xml" )
}
# plain http: only ac-http has a document here (last: it overrides the
# host blocks above on this port)
\$SERVER["socket"] == "$RBL4:80" {
	ssl.engine = "disable"
	server.document-root = "$ACDIR/none"
	\$HTTP["host"] == "autoconfig.ac-http.example.com" { server.document-root = "$ACDIR/ac-http" }
}
EOF2
	nsx rbl lighttpd -f "$ACDIR/lighttpd.conf" </dev/null >>"$ACDIR/start.log" 2>&1 ||
		{ fail_setup "lighttpd did not start: $(tail -3 "$ACDIR/error.log" "$ACDIR/start.log" 2>/dev/null)"; return 1; }
	wait_tcp rbl "$RBL4" 443 || { fail_setup "lighttpd does not listen on $RBL4:443"; return 1; }
	wait_tcp rbl "$RBL4" 80 || { fail_setup "lighttpd does not listen on $RBL4:80"; return 1; }
	return 0
}
