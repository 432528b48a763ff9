# Scripted SMTP peers (tests/lab/tools/smtp-peer) for the provider wordings
# no packaged server can say: one address per script, 587 STARTTLS and 465.
# shellcheck shell=bash

# peer NAME ADDR SCRIPT
lab_peer() {
	local name=$1 addr=$2 script=$LAB_TOOLS/scripts/$3
	[ -r "$script" ] || { fail_setup "smtp-peer script $script missing"; return 1; }
	mkdir -p "$LAB_RUN/logs"
	nsx mail setsid "$PY" "$LAB_TOOLS/smtp-peer" --listen "$addr" --port 587 --script "$script" \
		--cert "$CERTS/peers.chain" --key "$CERTS/peers.key" --log "$LAB_RUN/logs/peer-$name-587.log" \
		</dev/null >/dev/null 2>&1 9>&- &
	nsx mail setsid "$PY" "$LAB_TOOLS/smtp-peer" --listen "$addr" --port 465 --implicit-tls --script "$script" \
		--cert "$CERTS/peers.chain" --key "$CERTS/peers.key" --log "$LAB_RUN/logs/peer-$name-465.log" \
		</dev/null >/dev/null 2>&1 9>&- &
}

lab_peers() {
	[ -x "$LAB_TOOLS/smtp-peer" ] || { note "tests/lab/tools/smtp-peer missing: provider scenarios will fail"; return 0; }
	lab_peer gmail-app "$PEER_GMAIL_APP4" gmail-app-password.peer || return 1
	lab_peer gmail-web "$PEER_GMAIL_WEB4" gmail-web-login.peer || return 1
	lab_peer ms-disabled "$PEER_MS_DISABLED4" ms-tenant-auth-disabled.peer || return 1
	lab_peer ms-basic "$PEER_MS_BASIC4" ms-basic-auth-disabled.peer || return 1
	lab_peer quota "$PEER_RATE4" gmail-daily-limit.peer || return 1
	lab_peer locked "$PEER_LOCKED4" gmail-too-many-logins.peer || return 1
	lab_peer drip "$PEER_DRIP4" hostile-drip.peer || return 1
	lab_peer endless "$PEER_ENDLESS4" hostile-endless-ehlo.peer || return 1
	lab_peer longline "$PEER_LONGLINE4" hostile-longline.peer || return 1
	lab_peer silent "$PEER_STALL4" hostile-stall-greeting.peer || return 1
	lab_peer content "$PEER_CONTENT4" yahoo-content-rejected.peer || return 1
	lab_peer multiline "$PEER_MULTILINE4" ms-tenant-auth-disabled-multiline.peer || return 1
	local a
	for a in "$PEER_GMAIL_APP4" "$PEER_GMAIL_WEB4" "$PEER_MS_DISABLED4" "$PEER_MS_BASIC4" "$PEER_RATE4" "$PEER_LOCKED4" \
		"$PEER_DRIP4" "$PEER_ENDLESS4" "$PEER_LONGLINE4" "$PEER_STALL4" "$PEER_CONTENT4" \
		"$PEER_MULTILINE4"; do
		wait_tcp mail "$a" 587 || { fail_setup "smtp-peer on $a:587 did not listen (see $LAB_RUN/logs)"; return 1; }
		wait_tcp mail "$a" 465 || { fail_setup "smtp-peer on $a:465 did not listen (see $LAB_RUN/logs)"; return 1; }
	done
}
