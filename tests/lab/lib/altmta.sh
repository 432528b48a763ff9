# A second MTA, Exim, so that the rules are not tuned to Postfix's wording.
#
# Exim and Postfix conflict as Debian packages, so Exim runs from its .deb
# unpacked into the run directory (dpkg-deb -x), with the libraries the
# system lacks beside it and nss_wrapper supplying its compiled-in user
# ("Debian-exim", mapped to nobody). The .debs are fetched once with
# "apt-get download" into $LAB_CACHE; without them the scenarios that need
# the second MTA are skipped ("requires: alt-mta").
# shellcheck shell=bash

LAB_CACHE=${LAB_CACHE:-/var/cache/sdl-lab}
ALTMTA_DEBS="exim4-daemon-light libidn12 libnss-wrapper"
ALTMTA_OK=0

altmta_fetch() {
	local p missing=""
	mkdir -p "$LAB_CACHE" || return 1
	for p in $ALTMTA_DEBS; do
		ls "$LAB_CACHE/${p}_"*.deb >/dev/null 2>&1 || missing+=" $p"
	done
	[ -z "$missing" ] && return 0
	note "fetching$missing into $LAB_CACHE (apt-get download, once)"
	# shellcheck disable=SC2086
	(cd "$LAB_CACHE" && timeout 120 apt-get download $missing >/dev/null 2>&1) || return 1
}

lab_altmta() {
	local d=$LAB_RUN/exim root lib
	ALTMTA_OK=0
	altmta_fetch || { note "second MTA: could not fetch $ALTMTA_DEBS; alt-mta scenarios are skipped"; return 1; }
	root=$d/root
	mkdir -p "$root" "$d/spool" "$d/log" || return 1
	for p in $ALTMTA_DEBS; do
		dpkg-deb -x "$(ls "$LAB_CACHE/${p}_"*.deb | head -1)" "$root" || return 1
	done
	lib=$root/usr/lib/x86_64-linux-gnu
	[ -x "$root/usr/sbin/exim4" ] && [ -r "$lib/libnss_wrapper.so" ] || { note "second MTA: unpacked files missing"; return 1; }
	{ cat /etc/passwd; echo 'Debian-exim:x:65534:65534:lab exim:/nonexistent:/usr/sbin/nologin'; } >"$d/passwd"
	{ cat /etc/group; echo 'Debian-exim:x:65534:'; } >"$d/group"
	chown -R 65534:65534 "$d/spool" "$d/log"
	# the password, readable by the exim user only through this copy
	install -m 600 -o 65534 "$LAB_RUN/secrets/good" "$d/password"
	cat "$CERTS/good.key" >"$d/tls.key" && cat "$CERTS/good.chain" >"$d/tls.crt"
	chown 65534 "$d/tls.key" && chmod 600 "$d/tls.key"
	cat >"$d/exim.conf" <<EOF
# smtp-alt.example.net ($MAIL_ALT4): healthy submission, 587 STARTTLS, 465
# smtp-alt-notls.example.net ($MAIL_ALTBAD4): the same without any TLS
keep_environment = LD_PRELOAD : LD_LIBRARY_PATH : NSS_WRAPPER_PASSWD : NSS_WRAPPER_GROUP
exim_user = Debian-exim
exim_group = Debian-exim
primary_hostname = smtp-alt.example.net
smtp_active_hostname = \${if eq{\$received_ip_address}{$MAIL_ALTBAD4}{smtp-alt-notls.example.net}{smtp-alt.example.net}}
smtp_banner = \$smtp_active_hostname ESMTP Exim \$version_number \$tod_full
local_interfaces = <; $MAIL_ALT4.587 ; $MAIL_ALT4.465 ; $MAIL_ALTBAD4.587 ; $MAIL_ALTBAD4.25 ; $MAIL_ALT4.25
tls_on_connect_ports = 465
spool_directory = $d/spool
log_file_path = $d/log/%slog
pid_file_path = $d/exim.pid
host_lookup =
rfc1413_hosts =
queue_only = true
domainlist local_domains = example.net
domainlist relay_to_domains =
hostlist relay_from_hosts = 127.0.0.1
tls_certificate = $d/tls.crt
tls_privatekey = $d/tls.key
tls_advertise_hosts = \${if eq{\$received_ip_address}{$MAIL_ALTBAD4}{}{*}}
auth_advertise_hosts = \${if or{{eq{\$received_port}{25}}{eq{\$tls_in_cipher}{}}}{}{*}}
acl_smtp_rcpt = acl_check_rcpt
acl_smtp_data = acl_check_data

begin acl
acl_check_rcpt:
  accept  authenticated = *
          control = submission
  require message = relay not permitted
          domains = +local_domains : +relay_to_domains
  accept
acl_check_data:
  accept

begin routers
discard_all:
  driver = redirect
  data = :blackhole:

begin transports

begin authenticators
PLAIN:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = \${if and{{eq{\$auth2}{$LAB_USER}}{eq{\$auth3}{\${readfile{$d/password}}}}}}
  server_set_id = \$auth2
LOGIN:
  driver = plaintext
  public_name = LOGIN
  server_prompts = <| Username: | Password:
  server_condition = \${if and{{eq{\$auth1}{$LAB_USER}}{eq{\$auth2}{\${readfile{$d/password}}}}}}
  server_set_id = \$auth1
EOF
	altmta_env() {
		env LD_LIBRARY_PATH="$lib" LD_PRELOAD="$lib/libnss_wrapper.so" \
			NSS_WRAPPER_PASSWD="$d/passwd" NSS_WRAPPER_GROUP="$d/group" "$@"
	}
	local out
	out=$(altmta_env "$root/usr/sbin/exim4" -C "$d/exim.conf" -bV 2>&1) ||
		{ note "second MTA: exim rejects its configuration: $(printf '%s' "$out" | tail -2)"; return 1; }
	nsx mail env LD_LIBRARY_PATH="$lib" LD_PRELOAD="$lib/libnss_wrapper.so" \
		NSS_WRAPPER_PASSWD="$d/passwd" NSS_WRAPPER_GROUP="$d/group" \
		"$root/usr/sbin/exim4" -C "$d/exim.conf" -bd </dev/null >"$d/start.out" 2>&1 ||
		{ note "second MTA: exim did not start: $(tail -2 "$d/start.out")"; return 1; }
	wait_tcp mail "$MAIL_ALT4" 587 || { note "second MTA: exim does not listen (see $d/log)"; return 1; }
	ALTMTA_OK=1
	return 0
}
