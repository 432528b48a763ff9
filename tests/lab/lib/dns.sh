# The lab's DNS: nsd serves a lab root zone and every lab zone, unbound on
# the same host resolves recursively from that root (it is the client's
# resolver), rbldnsd serves the IP and domain blocklists.
# shellcheck shell=bash

DNSDIR=$LAB_RUN/dns
RBLDIR=$LAB_RUN/rbl

SOA_LINE='@ 60 IN SOA ns1.example.net. hostmaster.example.net. ( 1 60 60 600 5 )'

zone_root() {
	cat <<EOF
\$TTL 60
. 60 IN SOA a.lab-root. hostmaster.example.net. ( 1 60 60 600 5 )
. IN NS a.lab-root.
a.lab-root. IN A $DNS_AUTH4
example.net. IN NS ns1.example.net.
example.com. IN NS ns1.example.net.
example.org. IN NS ns1.example.net.
gmail.com. IN NS ns1.example.net.
100.51.198.in-addr.arpa. IN NS ns1.example.net.
1.d.5.0.8.b.d.0.1.0.0.2.ip6.arpa. IN NS ns1.example.net.
ns1.example.net. IN A $DNS_AUTH4
; a mail hoster of its own registrable domain, answered by the root zone
; itself: a domain whose MX is here finds its settings at the hoster's
; autoconfig (docs/discovery.md)
mx.mailhoster.example. IN A $MX1_4
autoconfig.mailhoster.example. IN A $RBL4
; a sender domain whose lookups fail: its only name server's address has
; nothing listening on 53 (the other zones stay healthy)
$LAB_LAME_DOMAIN. IN NS ns.$LAB_LAME_DOMAIN.
ns.$LAB_LAME_DOMAIN. IN A $DNS_DEAD4
; and one whose name server (rbldnsd) answers REFUSED for it: lame, the
; resolver answers SERVFAIL at once
$LAB_REFUSED_DOMAIN. IN NS ns.$LAB_REFUSED_DOMAIN.
ns.$LAB_REFUSED_DOMAIN. IN A $RBL4
EOF
}

zone_example_net() {
	cat <<EOF
\$TTL 60
$SOA_LINE
@ IN NS ns1
ns1 IN A $DNS_AUTH4
@ IN MX 10 mx1.example.org.
@ IN TXT "v=spf1 ip4:198.51.100.0/26 ip6:2001:db8:5d1:2::/64 -all"
_dmarc IN TXT "v=DMARC1; p=none"
smtp IN A $MAIL_HEALTHY4
smtp IN AAAA $MAIL_HEALTHY6
smtp-v4 IN A $MAIL_HEALTHY4
smtp-v6 IN AAAA $MAIL_HEALTHY6
smtp-auth IN A $MAIL_NEG4
smtp-notls IN A $MAIL_NOTLS4
smtp-tls10 IN A $MAIL_TLS10_4
smtp-expired IN A $MAIL_EXPIRED4
smtp-wrongname IN A $MAIL_WRONGNAME4
smtp-selfsigned IN A $MAIL_SELFSIGNED4
smtp-busy IN A $MAIL_BUSY4
smtps IN A $MAIL_SMTPS4
smtp-strict IN A $MAIL_STRICT4
relay IN A $MAIL_RELAY4
mail IN A $MAIL_POP4
pop IN A $MAIL_POP4
imap IN A $MAIL_POP4
smtp-alt IN A $MAIL_ALT4
smtp-alt-notls IN A $MAIL_ALTBAD4
smtp-gmail IN A $PEER_GMAIL_APP4
smtp-gmail-web IN A $PEER_GMAIL_WEB4
smtp-m365 IN A $PEER_MS_DISABLED4
smtp-outlook IN A $PEER_MS_BASIC4
smtp-quota IN A $PEER_RATE4
smtp-locked IN A $PEER_LOCKED4
smtp-norelay IN A $MAIL_NORELAY4
smtp-small IN A $MAIL_SMALL4
smtp-drip IN A $PEER_DRIP4
smtp-endless IN A $PEER_ENDLESS4
smtp-longline IN A $PEER_LONGLINE4
smtp-silent IN A $PEER_STALL4
smtp-content IN A $PEER_CONTENT4
smtp-m365-multiline IN A $PEER_MULTILINE4
smtp-hostile IN A $PEER_HOSTILE4
EOF
}

zone_example_com() {
	cat <<EOF
\$TTL 60
$SOA_LINE
@ IN NS ns1.example.net.
@ IN MX 10 mx.example.com.
@ IN TXT "v=spf1 mx ip4:198.51.100.0/26 -all"
_dmarc IN TXT "v=DMARC1; p=none"
mx IN A $MAIL_MX4
; discovery (docs/discovery.md): RFC 8314 SRV naming the healthy server's
; implicit-TLS port (and only that: 587 is then "not published")
_submissions._tcp.srv IN SRV 0 1 465 smtp.example.net.
; RFC 6186 SRV only, with two targets: the lower priority value wins
_submission._tcp.srv587 IN SRV 10 1 587 smtp-notls.example.net.
_submission._tcp.srv587 IN SRV 0 1 587 smtp.example.net.
; the best SRV target's certificate has expired, the next one works: the
; check goes on where it works, and no credentials go to the first
_submissions._tcp.srv-fallback IN SRV 0 1 465 smtp-expired.example.net.
_submissions._tcp.srv-fallback IN SRV 10 1 465 smtp.example.net.
; the only SRV target's certificate has expired: --insecure does not send
; credentials to a discovered server through it
_submissions._tcp.srv-expired IN SRV 0 1 465 smtp-expired.example.net.
; SRV "." says "not offered", and nothing else is published: no source
_submissions._tcp.nosrc IN SRV 0 0 0 .
; a custom domain hosted at a provider of the table, known by its MX
hosted IN MX 10 aspmx.l.google.com.
; a custom domain whose MX is at a hoster that publishes autoconfig
mxac IN MX 10 mx.mailhoster.example.
; autoconfig documents over HTTPS (lighttpd beside rbldnsd, in the rbl namespace)
autoconfig.ac IN A $RBL4
autoconfig.ac-stale IN A $RBL4
autoconfig.ac-big IN A $RBL4
autoconfig.ac-bad IN A $RBL4
autoconfig.ac-hostile IN A $RBL4
autoconfig.ac-redirect IN A $RBL4
; plain http only (no certificate for this name on 443)
autoconfig.ac-http IN A $RBL4
EOF
}

# Stands in for a provider of data/providers.def inside the lab: its
# submission host is a scripted peer speaking Gmail's wording.
zone_gmail_com() {
	cat <<EOF
\$TTL 60
$SOA_LINE
@ IN NS ns1.example.net.
smtp IN A $PEER_GMAIL_APP4
EOF
}

zone_example_org() {
	cat <<EOF
\$TTL 60
$SOA_LINE
@ IN NS ns1.example.net.
@ IN MX 10 mx1
@ IN MX 20 mx2
; the client (198.51.100.192/26) delivers for example.org directly
@ IN TXT "v=spf1 ip4:198.51.100.192/26 mx -all"
_dmarc IN TXT "v=DMARC1; p=none"
mx1 IN A $MX1_4
mx1 IN AAAA $MX1_6
mx2 IN A $MX2_4
mx2 IN AAAA $MX2_6
www IN A $MX1_4
rbl IN A $RBL4
bl IN NS rbl
dbl IN NS rbl
broken IN NS ns.broken
ns.broken IN A $RBL4
EOF
}

zone_rev_srv() {
	cat <<EOF
\$TTL 60
$SOA_LINE
@ IN NS ns1.example.net.
10 IN PTR smtp.example.net.
11 IN PTR smtp-notls.example.net.
16 IN PTR mx.example.com.
17 IN PTR relay.example.net.
21 IN PTR mail.example.net.
53 IN PTR ns1.example.net.
140 IN PTR mx1.example.org.
141 IN PTR mx2.example.org.
200 IN PTR dsl-198-51-100-200.isp.example.net.
201 IN PTR dsl-198-51-100-201.isp.example.net.
EOF
}

zone_rev6() {
	cat <<EOF
\$TTL 60
$SOA_LINE
@ IN NS ns1.example.net.
EOF
}

lab_dns() {
	mkdir -p "$DNSDIR/nsd" "$DNSDIR/unbound" "$RBLDIR" || return 1
	zone_root >"$DNSDIR/nsd/root.zone"
	zone_example_net >"$DNSDIR/nsd/example.net.zone"
	zone_example_com >"$DNSDIR/nsd/example.com.zone"
	zone_example_org >"$DNSDIR/nsd/example.org.zone"
	zone_gmail_com >"$DNSDIR/nsd/gmail.com.zone"
	zone_rev_srv >"$DNSDIR/nsd/rev-srv.zone"
	zone_rev6 >"$DNSDIR/nsd/rev6.zone"
	cat >"$DNSDIR/nsd/nsd.conf" <<EOF
server:
	ip-address: $DNS_AUTH4
	port: 53
	username: ""
	chroot: ""
	zonesdir: "$DNSDIR/nsd"
	database: ""
	zonelistfile: "$DNSDIR/nsd/zone.list"
	xfrdfile: "$DNSDIR/nsd/xfrd.state"
	xfrdir: "$DNSDIR/nsd"
	pidfile: "$DNSDIR/nsd/nsd.pid"
	logfile: "$DNSDIR/nsd/nsd.log"
	server-count: 1
	verbosity: 1
	hide-version: yes
	# No response rate limiting: a batch asks faster than its 200 a second
	# from one address, and a dropped answer would show as a timeout.
	rrl-ratelimit: 0
remote-control:
	control-enable: no
zone:
	name: "."
	zonefile: "root.zone"
zone:
	name: "example.net"
	zonefile: "example.net.zone"
zone:
	name: "example.com"
	zonefile: "example.com.zone"
zone:
	name: "example.org"
	zonefile: "example.org.zone"
zone:
	name: "gmail.com"
	zonefile: "gmail.com.zone"
zone:
	name: "100.51.198.in-addr.arpa"
	zonefile: "rev-srv.zone"
zone:
	name: "1.d.5.0.8.b.d.0.1.0.0.2.ip6.arpa"
	zonefile: "rev6.zone"
EOF
	nsd-checkconf "$DNSDIR/nsd/nsd.conf" || { fail_setup "nsd.conf rejected"; return 1; }
	nsx dns nsd -c "$DNSDIR/nsd/nsd.conf" >/dev/null 2>&1 </dev/null ||
		{ fail_setup "nsd did not start: $(tail -3 "$DNSDIR/nsd/nsd.log" 2>/dev/null)"; return 1; }

	printf '. 3600000 IN NS a.lab-root.\na.lab-root. 3600000 IN A %s\n' "$DNS_AUTH4" >"$DNSDIR/unbound/root.hints"
	cat >"$DNSDIR/unbound/unbound.conf" <<EOF
server:
	interface: $DNS_RESOLVER4
	interface: $DNS_RESOLVER6
	port: 53
	access-control: 0.0.0.0/0 allow
	access-control: ::/0 allow
	username: ""
	chroot: ""
	directory: "$DNSDIR/unbound"
	pidfile: "$DNSDIR/unbound/unbound.pid"
	logfile: "$DNSDIR/unbound/unbound.log"
	use-syslog: no
	verbosity: 1
	num-threads: 1
	do-daemonize: yes
	root-hints: "$DNSDIR/unbound/root.hints"
	module-config: "iterator"
	qname-minimisation: no
	harden-referral-path: no
	cache-max-ttl: 5
	cache-max-negative-ttl: 1
	infra-host-ttl: 5
	so-reuseport: no
	outgoing-range: 64
	num-queries-per-thread: 32
	local-zone: "100.51.198.in-addr.arpa." nodefault
	local-zone: "8.b.d.0.1.0.0.2.ip6.arpa." nodefault
	local-zone: "test." nodefault
remote-control:
	control-enable: no
EOF
	nsx dns unbound -c "$DNSDIR/unbound/unbound.conf" >/dev/null 2>&1 </dev/null ||
		{ fail_setup "unbound did not start: $(tail -3 "$DNSDIR/unbound/unbound.log" 2>/dev/null)"; return 1; }

	rbl_write_data ""
	chmod 755 "$RBLDIR"
	nsx rbl rbldnsd -u rbldns -r "$RBLDIR" -b "$RBL4/53" -p "$RBLDIR/rbldnsd.pid" -t 1 -c 1 -q \
		"$LAB_DNSBL:ip4set:bl.ip4" "$LAB_DBL:dnset:dbl.dn" >/dev/null 2>&1 </dev/null ||
		{ fail_setup "rbldnsd did not start"; return 1; }

	wait_dns client "$DNS_RESOLVER4" smtp.example.net || { fail_setup "resolver does not answer for smtp.example.net"; return 1; }
	return 0
}

# rbl_write_data "IP ...": the listed client addresses (rbldnsd rereads on HUP)
rbl_write_data() {
	{
		printf '$SOA 5 rbl.example.org. hostmaster.example.org. 1 60 60 600 1\n'
		printf '$NS 60 rbl.example.org.\n'
		printf ':127.0.0.2:Listed in the lab blocklist, see https://bl.example.org/lookup?ip=$\n'
		printf '127.0.0.2\n'
		local ip
		for ip in $1; do printf '%s\n' "$ip"; done
	} >"$RBLDIR/bl.ip4.new" && mv "$RBLDIR/bl.ip4.new" "$RBLDIR/bl.ip4"
	rbl_previous=${rbl_listed:-}
	rbl_listed=$1
	# rbldnsd reloads a file only when its mtime changed: make every version
	# of it one second newer than the last
	rbl_generation=$((${rbl_generation:-0} + 1))
	touch -d "@$((EPOCHSECONDS + rbl_generation))" "$RBLDIR/bl.ip4"
	{
		printf '$SOA 5 rbl.example.org. hostmaster.example.org. 1 60 60 600 1\n'
		printf '$NS 60 rbl.example.org.\n'
		printf ':127.0.1.2:Domain listed in the lab domain blocklist\n'
		printf 'test\nspammer.example.com\n'
	} >"$RBLDIR/dbl.dn"
	chmod 644 "$RBLDIR"/bl.ip4 "$RBLDIR"/dbl.dn
}

# rbl_reload: rbldnsd rereads its data, and the call returns only once the
# change is visible both at rbldnsd and through the lab's resolver (which
# Postfix's reject_rbl_client and smtpdoctor both ask): a scenario must not
# race the reload (a fixed sleep did, now and then).
rbl_reload() {
	local pid ip
	pid=$(cat "$RBLDIR/rbldnsd.pid" 2>/dev/null) || return 1
	kill -HUP "$pid"
	for ip in $rbl_listed; do
		rbl_wait_answer "$ip" listed || return 1
	done
	for ip in $rbl_previous; do
		[[ " $rbl_listed " == *" $ip "* ]] || rbl_wait_answer "$ip" clean || return 1
	done
}

# rbl_wait_answer IP listed|clean: waits (at most 5 s) until rbldnsd and the
# resolver give that answer for IP
rbl_wait_answer() {
	local q i server a
	q=$(awk -F. '{print $4"."$3"."$2"."$1}' <<<"$1").$LAB_DNSBL
	for server in "$RBL4" "$DNS_RESOLVER4"; do
		for ((i = 0; i < 50; i++)); do
			a=$(nsx client dig +time=1 +tries=1 +short "@$server" "$q" A 2>/dev/null)
			if [ "$2" = listed ]; then [ "$a" = 127.0.0.2 ] && break
			else [ -z "$a" ] && break; fi
			sleep 0.1
		done
		[ "$i" -lt 50 ] || { echo "rbldnsd: $1 not $2 at $server after 5 s" >&2; return 1; }
	done
}
