# The hostile-peer host smtp-hostile.example.net: the project's own scripted
# SMTP peer (tests/lab/tools/smtp-peer) playing servers that no packaged
# server imitates, one port per behaviour, on one address.
# shellcheck shell=bash

# PORT TLS-MODE SCRIPT (tests/lab/tools/scripts/); TLS-MODE starttls|implicit
HOSTILE_SMTP=(
	"10001 starttls hostile-close-after-greeting.peer"
	"10002 implicit hostile-reset-after-greeting.peer"
	"10003 starttls hostile-reset-mid-reply.peer"
	"10004 starttls hostile-reset-after-auth.peer"
	"10005 implicit hostile-reset-after-auth.peer"
	"10006 starttls hostile-ehlo-40k.peer"
	"10007 starttls hostile-many-mechs.peer"
	"10021 starttls hostile-echo-auth.peer"
	"10022 starttls hostile-echo-after-auth.peer"
	"10023 starttls hostile-escapes.peer"
)

lab_hostile_peers() {
	[ -x "$LAB_TOOLS/smtp-peer" ] || return 0
	local spec port mode script tls
	mkdir -p "$LAB_RUN/logs"
	for spec in "${HOSTILE_SMTP[@]}"; do
		read -r port mode script <<<"$spec"
		[ -r "$LAB_TOOLS/scripts/$script" ] || { fail_setup "smtp-peer script $script missing"; return 1; }
		tls=()
		[ "$mode" = implicit ] && tls=(--implicit-tls)
		nsx mail setsid "$PY" "$LAB_TOOLS/smtp-peer" --listen "$PEER_HOSTILE4" --port "$port" "${tls[@]}" \
			--script "$LAB_TOOLS/scripts/$script" --cert "$CERTS/peers.chain" --key "$CERTS/peers.key" \
			--log "$LAB_RUN/logs/hostile-$port.log" </dev/null >/dev/null 2>&1 9>&- &
	done
	for spec in "${HOSTILE_SMTP[@]}"; do
		read -r port mode script <<<"$spec"
		wait_tcp mail "$PEER_HOSTILE4" "$port" || { fail_setup "smtp-peer on $PEER_HOSTILE4:$port did not listen (see $LAB_RUN/logs)"; return 1; }
	done
}
