# Real mail servers: Postfix instances (postfix -c DIR), Dovecot (SASL for
# Postfix, POP3/IMAP for the "not SMTP" case), the control hosts' listeners.
# shellcheck shell=bash

PF_BASE_SERVICES='pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd'

# pf_smtpd ADDR PORT NAME [-o ...]: one master.cf smtpd line on ADDR:PORT
pf_smtpd() {
	local addr=$1 port=$2 name=$3
	shift 3
	case "$addr" in *:*) addr="[$addr]" ;; esac
	printf '%s:%s inet n - n - - smtpd -o syslog_name=postfix/%s' "$addr" "$port" "$name"
	[ $# -gt 0 ] && printf ' %s' "$@"
	printf '\n'
}

# postfix_instance NAME NS MYHOSTNAME MAIN_EXTRA MASTER_LINES
postfix_instance() {
	local name=$1 n=$2 host=$3 extra=$4 lines=$5
	local dir=$LAB_RUN/pf-$name
	mkdir -p "$dir/queue" "$dir/data" || return 1
	chown postfix: "$dir/data"
	cat >"$dir/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = $host
mydomain = ${host#*.}
myorigin = \$myhostname
mydestination =
local_recipient_maps =
relay_domains =
inet_interfaces = all
inet_protocols = all
mynetworks = 127.0.0.0/8
smtpd_client_event_limit_exceptions =
maillog_file = $dir/maillog
maillog_file_prefixes = $LAB_RUN
default_transport = discard:lab
relay_transport = discard:lab
local_transport = discard:lab
virtual_transport = discard:lab
smtpd_peername_lookup = no
smtpd_banner = \$myhostname ESMTP Postfix
biff = no
smtpd_tls_chain_files = $CERTS/good.key, $CERTS/good.chain
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_auth_enable = no
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_sender_login_maps = inline:{ $LAB_USER_ADDR=$LAB_USER, $LAB_LAME_ADDR=$LAB_USER, $LAB_REFUSED_ADDR=$LAB_USER }
lab_chain_expired = $CERTS/expired.key, $CERTS/expired.chain
lab_chain_wrongname = $CERTS/wrongname.key, $CERTS/wrongname.chain
lab_chain_selfsigned = $CERTS/selfsigned.key, $CERTS/selfsigned.chain
lab_chain_mx1 = $CERTS/mx1.key, $CERTS/mx1.chain
lab_chain_mx2 = $CERTS/mx2.key, $CERTS/mx2.chain
lab_tls10_protocols = !SSLv2, !SSLv3, !TLSv1.1, !TLSv1.2, !TLSv1.3
lab_tls10_ciphers = DEFAULT:@SECLEVEL=0
lab_submission_relay = permit_sasl_authenticated, reject_unauth_destination
lab_greylist = check_client_access static:{450 4.7.1 Greylisted: please try again later}
lab_rbl = reject_rbl_client $LAB_DNSBL
$extra
EOF
	{
		printf '%s\n' "$PF_BASE_SERVICES"
		printf '%s' "$lines"
	} >"$dir/master.cf"
	local out
	out=$(nsx "$n" script -qc "postfix -c $dir check" /dev/null 2>&1) ||
		{ fail_setup "postfix $name: check: $out"; return 1; }
	out=$(nsx "$n" script -qc "postfix -c $dir start" /dev/null 2>&1) ||
		{ fail_setup "postfix $name: start: $out"; return 1; }
	return 0
}

# The submission options of a STARTTLS port and of an implicit-TLS port.
SUB_OPTS="-o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=yes \
-o smtpd_sender_restrictions=reject_sender_login_mismatch -o smtpd_relay_restrictions=\$lab_submission_relay"
SMTPS_OPTS="-o smtpd_tls_wrappermode=yes $SUB_OPTS"

lab_postfix_submission() {
	local l="" a tls10 cert
	# healthy: smtp.example.net (v4 and v6) and smtp-auth.example.net
	for a in "$MAIL_HEALTHY4" "$MAIL_HEALTHY6" "$MAIL_NEG4"; do
		l+=$(pf_smtpd "$a" 25 healthy-25)$'\n'
		l+=$(pf_smtpd "$a" 587 healthy-587 $SUB_OPTS)$'\n'
		l+=$(pf_smtpd "$a" 465 healthy-465 $SMTPS_OPTS)$'\n'
	done
	# no STARTTLS anywhere, AUTH offered in the clear
	l+=$(pf_smtpd "$MAIL_NOTLS4" 25 notls-25 -o myhostname=smtp-notls.example.net -o smtpd_tls_security_level=none)$'\n'
	l+=$(pf_smtpd "$MAIL_NOTLS4" 587 notls-587 -o myhostname=smtp-notls.example.net -o smtpd_tls_security_level=none \
		-o smtpd_sasl_auth_enable=yes -o smtpd_relay_restrictions=\$lab_submission_relay)$'\n'
	# TLS 1.0 only
	tls10="-o myhostname=smtp-tls10.example.net -o smtpd_tls_protocols=\$lab_tls10_protocols \
-o smtpd_tls_mandatory_protocols=\$lab_tls10_protocols -o tls_medium_cipherlist=\$lab_tls10_ciphers \
-o smtpd_tls_ciphers=medium -o smtpd_tls_mandatory_ciphers=medium"
	l+=$(pf_smtpd "$MAIL_TLS10_4" 587 tls10-587 $tls10 $SUB_OPTS)$'\n'
	l+=$(pf_smtpd "$MAIL_TLS10_4" 465 tls10-465 $tls10 $SMTPS_OPTS)$'\n'
	# bad certificates
	for cert in expired wrongname selfsigned; do
		case $cert in
		expired) a=$MAIL_EXPIRED4 ;;
		wrongname) a=$MAIL_WRONGNAME4 ;;
		selfsigned) a=$MAIL_SELFSIGNED4 ;;
		esac
		l+=$(pf_smtpd "$a" 25 "$cert-25" -o myhostname=smtp-$cert.example.net -o smtpd_tls_chain_files=\$lab_chain_$cert)$'\n'
		l+=$(pf_smtpd "$a" 587 "$cert-587" -o myhostname=smtp-$cert.example.net -o smtpd_tls_chain_files=\$lab_chain_$cert $SUB_OPTS)$'\n'
		l+=$(pf_smtpd "$a" 465 "$cert-465" -o myhostname=smtp-$cert.example.net -o smtpd_tls_chain_files=\$lab_chain_$cert $SMTPS_OPTS)$'\n'
	done
	# 450 after a successful AUTH (greylisting-like)
	l+=$(pf_smtpd "$MAIL_BUSY4" 587 busy-587 -o myhostname=smtp-busy.example.net $SUB_OPTS -o smtpd_recipient_restrictions=\$lab_greylist)$'\n'
	l+=$(pf_smtpd "$MAIL_BUSY4" 465 busy-465 -o myhostname=smtp-busy.example.net $SMTPS_OPTS -o smtpd_recipient_restrictions=\$lab_greylist)$'\n'
	# implicit TLS only (587 closed)
	l+=$(pf_smtpd "$MAIL_SMTPS4" 465 smtps-465 -o myhostname=smtps.example.net $SMTPS_OPTS)$'\n'
	# AUTH after STARTTLS only, port 587 only
	l+=$(pf_smtpd "$MAIL_STRICT4" 587 strict-587 -o myhostname=smtp-strict.example.net $SUB_OPTS)$'\n'
	# AUTH succeeds, relaying is refused all the same
	l+=$(pf_smtpd "$MAIL_NORELAY4" 587 norelay-587 -o myhostname=smtp-norelay.example.net $SUB_OPTS \
		-o smtpd_relay_restrictions=reject_unauth_destination)$'\n'
	# a tiny size limit (for --send)
	l+=$(pf_smtpd "$MAIL_SMALL4" 587 small-587 -o myhostname=smtp-small.example.net $SUB_OPTS \
		-o message_size_limit=100)$'\n'
	postfix_instance submission mail smtp.example.net "" "$l"
}

lab_postfix_inbound() {
	local l=""
	# inbound MX of example.com: port 25 only, no AUTH, refuses relay, checks
	# the blocklist (max_use=1: smtpd caches blocklist answers per process)
	l+=$(pf_smtpd "$MAIL_MX4" 25 mx-25 -o myhostname=mx.example.com -o relay_domains=example.com \
		-o smtpd_relay_restrictions=reject_unauth_destination -o smtpd_client_restrictions=\$lab_rbl \
		-o max_use=1)$'\n'
	# an IP-authorised relay (no AUTH) that does not know the client
	l+=$(pf_smtpd "$MAIL_RELAY4" 25 relay-25 -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination)$'\n'
	l+=$(pf_smtpd "$MAIL_RELAY4" 587 relay-587 -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination)$'\n'
	# relay_domains in main.cf: trivial-rewrite, not smtpd, classifies addresses
	postfix_instance inbound mail relay.example.net "relay_domains = example.com" "$l"
}

# lab_postfix_control N: mx1 or mx2 (25, 587 and 465, STARTTLS, no AUTH)
lab_postfix_control() {
	local h=$1 a4 a6 l="" a
	case $h in
	mx1) a4=$MX1_4 a6=$MX1_6 ;;
	mx2) a4=$MX2_4 a6=$MX2_6 ;;
	esac
	for a in "$a4" "$a6"; do
		l+=$(pf_smtpd "$a" 25 "$h-25" -o smtpd_tls_chain_files=\$lab_chain_$h)$'\n'
		l+=$(pf_smtpd "$a" 587 "$h-587" -o smtpd_tls_chain_files=\$lab_chain_$h)$'\n'
		l+=$(pf_smtpd "$a" 465 "$h-465" -o smtpd_tls_chain_files=\$lab_chain_$h -o smtpd_tls_wrappermode=yes)$'\n'
	done
	postfix_instance "$h" "$h" "$h.example.org" "relay_domains = example.org" "$l"
}

lab_dovecot() {
	local d=$LAB_RUN/dovecot
	mkdir -p "$d/base" "$d/home" || return 1
	umask 077
	printf '%s:{PLAIN}%s\n' "$LAB_USER" "$(cat "$LAB_RUN/secrets/good")" >"$d/passwd"
	umask 022
	chown root:dovecot "$d/passwd" && chmod 640 "$d/passwd"
	cat >"$d/dovecot.conf" <<EOF
base_dir = $d/base
state_dir = $d/state
log_path = $d/dovecot.log
protocols = pop3 imap
listen = $MAIL_POP4
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$d/home/%u
}
service auth {
  unix_listener $LAB_RUN/pf-submission/queue/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
# No penalty carried from one scenario to the next: Dovecot doubles the
# delay of a failed login for each failure from the same address (2, 4, 8
# up to 15 s), and the lab's scenarios all log in from the one client
# address, so a scenario's AUTH reply came later the more scenarios had
# failed before it (the first failure's 2 s delay stays).
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0600
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
EOF
	# dovecot daemonizes but keeps the caller's output open: give it a file
	nsx mail dovecot -c "$d/dovecot.conf" </dev/null >"$d/start.out" 2>&1 ||
		{ fail_setup "dovecot did not start: $(tail -3 "$d/start.out")"; return 1; }
	return 0
}

# A TCP/TLS listener on 443 of each control host (something that is not SMTP
# and flows where SMTP is blocked).
lab_https_stub() {
	local h=$1 a4 a6
	case $h in
	mx1) a4=$MX1_4 a6=$MX1_6 ;;
	mx2) a4=$MX2_4 a6=$MX2_6 ;;
	esac
	nsx "$h" setsid "$PY" "$LAB_DIR/lib/https-stub.py" "$CERTS/$h.crt" "$CERTS/$h.key" "$a4" "$a6" \
		</dev/null >>"$LAB_RUN/https-$h.log" 2>&1 9>&- &
	wait_tcp "$h" "$a4" 443 || { fail_setup "https stub on $h did not listen"; return 1; }
}

lab_mail() {
	lab_postfix_submission || return 1
	lab_postfix_inbound || return 1
	lab_postfix_control mx1 || return 1
	lab_postfix_control mx2 || return 1
	lab_dovecot || return 1
	lab_https_stub mx1 || return 1
	lab_https_stub mx2 || return 1
	wait_tcp mail "$MAIL_HEALTHY4" 587 || { fail_setup "postfix submission does not listen on $MAIL_HEALTHY4:587"; return 1; }
	wait_tcp mail "$MAIL_MX4" 25 || { fail_setup "postfix inbound does not listen on $MAIL_MX4:25"; return 1; }
	wait_tcp mx1 "$MX1_4" 25 || { fail_setup "postfix mx1 does not listen"; return 1; }
	wait_tcp mail "$MAIL_POP4" 110 || { fail_setup "dovecot does not listen on $MAIL_POP4:110"; return 1; }
	return 0
}

# Secrets: files only, never on a command line.
lab_secrets() {
	local s=$LAB_RUN/secrets
	mkdir -p "$s" && chmod 700 "$s" || return 1
	umask 077
	# a password made at run time: nothing secret is committed
	head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$s/good"
	printf 'wrong-%s' "$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$s/bad"
	umask 022
}
