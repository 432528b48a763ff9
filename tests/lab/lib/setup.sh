# Bring the whole lab up and down: shared by tests/lab/run and tests/lab/demo.
# shellcheck shell=bash

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
. "$LAB_DIR/lib/topology.sh"
. "$LAB_DIR/lib/certs.sh"
. "$LAB_DIR/lib/dns.sh"
. "$LAB_DIR/lib/mail.sh"
. "$LAB_DIR/lib/autoconfig.sh"
. "$LAB_DIR/lib/peers.sh"
. "$LAB_DIR/lib/hostile.sh"
. "$LAB_DIR/lib/altmta.sh"
. "$LAB_DIR/lib/faults.sh"

SMTPDOCTOR=${SMTPDOCTOR:-$REPO_DIR/build/smtpdoctor}

# The flags that point smtpdoctor at the lab and nothing else (docs/lab.md).
lab_flags() {
	LAB_FLAGS=(--resolver "$DNS_RESOLVER4:53" --dnsbl "$LAB_DNSBL" --dbl "$LAB_DBL"
		--control "$MX1_4:25" --control "$MX2_4:25"
		--control "$MX1_4:587" --control "$MX2_4:587"
		--control "$MX1_4:465" --control "$MX2_4:465"
		--control "$MX1_4:443" --control "$MX2_4:443"
		--control "[$MX1_6]:25" --control "[$MX2_6]:587" --control "[$MX1_6]:465" --control "[$MX2_6]:443"
		--public-ip "$CLIENT4" --ca-file "$CERTS/ca.crt"
		--connect-timeout 2 --timeout 15)
}

# Take the lab lock (one lab per machine at a time), clean what a killed run
# left, and install the exit trap.
lab_begin() {
	exec 9>"$LAB_LOCK"
	if ! flock -n 9; then
		note "another lab run holds $LAB_LOCK; waiting up to 10 minutes"
		flock -w 600 9 || die "the lab is busy ($LAB_LOCK)"
	fi
	lab_cleanup
	trap 'lab_end' EXIT
	trap 'note "interrupted"; exit 130' INT
	trap 'note "terminated"; exit 143' TERM
}

lab_end() {
	trap - EXIT INT TERM
	if [ "${LAB_KEEP:-0}" = 1 ]; then
		note "lab kept up (LAB_KEEP=1): remove it with tests/lab/run --clean"
	else
		lab_cleanup
	fi
}

# lab_up: every shared server; returns 1 with $setup_error set on failure
lab_up() {
	local t0=$SECONDS
	mkdir -p "$LAB_RUN" && chmod 755 "$LAB_RUN" || { fail_setup "cannot create $LAB_RUN"; return 1; }
	: >"$LAB_RUN/fault-pids"
	lab_check_prefixes || { fail_setup "a lab prefix is in use on this machine"; return 1; }
	log "topology"
	lab_topology || { fail_setup "${setup_error:-network topology}"; return 1; }
	log "certificates"
	lab_certs || { fail_setup "certificates"; return 1; }
	lab_secrets || { fail_setup "secrets"; return 1; }
	log "dns"
	lab_dns || return 1
	log "mail servers"
	lab_mail || return 1
	log "scripted peers"
	lab_peers || return 1
	log "autoconfig (lighttpd)"
	lab_autoconfig || return 1
	log "hostile peers"
	lab_hostile_peers || return 1
	log "second MTA"
	lab_altmta || true     # optional: scenarios that need it are skipped without it
	lab_flags
	log "lab up in $((SECONDS - t0)) s"
	return 0
}
