# The hostile-peer host smtp-hostile.example.net: the project's own scripted
# SMTP peer (tests/lab/tools/smtp-peer) playing servers that no packaged
# server imitates, one port per behaviour, on one address.
# shellcheck shell=bash

# PORT TLS-MODE SCRIPT [CERT]: a script of tests/lab/tools/scripts/,
# TLS-MODE starttls|implicit, CERT a certificate of lib/certs.sh (peers)
HOSTILE_SMTP=(
	"10001 starttls hostile-close-after-greeting.peer"
	"10002 implicit hostile-reset-after-greeting.peer"
	"10003 starttls hostile-reset-mid-reply.peer"
	"10004 starttls hostile-reset-after-auth.peer"
	"10005 implicit hostile-reset-after-auth.peer"
	"10006 starttls hostile-ehlo-40k.peer"
	"10007 starttls hostile-many-mechs.peer"
	"10008 starttls hostile-garbage-after-starttls.peer"
	"10009 implicit healthy.peer huge"
	"10010 starttls hostile-tls-half-stall.peer"
	"10021 starttls hostile-echo-auth.peer"
	"10022 starttls hostile-echo-after-auth.peer"
	"10023 starttls hostile-escapes.peer"
)

# PORT MODE of tests/lab/tools/dns-peer on DNS_HOSTILE4 (scenarios point
# --resolver at it); each answers from the records of hostile_dns_records
HOSTILE_DNS=(
	"53 tc-close"
	"5301 many"
	"5302 loop"
	"5303 normal"
)

# the fat server: every reply 128 lines of 4 KB, on 8 addresses (one
# smtp-peer on 0.0.0.0 of the mail namespace answers on all of them)
FAT_PORT=10030
FAT_ADDRS="$MAIL_HEALTHY4 $MAIL_NOTLS4 $MAIL_TLS10_4 $MAIL_EXPIRED4 $MAIL_WRONGNAME4 $MAIL_SELFSIGNED4 $MAIL_MX4 $MAIL_RELAY4"

lab_fat_peer() {
	"$PY" - "$LAB_RUN/fat.peer" <<'PYEOF' || return 1
import sys
fill = "x" * 3990
out = []
for key, code in (("greeting", "220"), ("ehlo", "250"), ("helo", "250"), ("auth", "235"),
                  ("mail", "250"), ("rcpt", "250"), ("rset", "250"), ("noop", "250"),
                  ("quit", "221"), ("unknown", "502")):
    out += ["%s %s %s-%03d %s" % (key, code, key, i, fill) for i in range(127)]
    out.append("ehlo 250 AUTH PLAIN LOGIN" if key == "ehlo" else "%s %s last line" % (key, code))
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PYEOF
	nsx mail setsid "$PY" "$LAB_TOOLS/smtp-peer" --listen 0.0.0.0 --port "$FAT_PORT" \
		--script "$LAB_RUN/fat.peer" --log "$LAB_RUN/logs/fat-$FAT_PORT.log" </dev/null >/dev/null 2>&1 9>&- &
	wait_tcp mail "$MAIL_HEALTHY4" "$FAT_PORT" || { fail_setup "the fat smtp-peer did not listen"; return 1; }
}

# what the provider's names resolve to through a hostile DNS peer: enough
# for a check of smtp.example.net as alice@example.net to pass
hostile_dns_records() {
	local r
	for r in "smtp.example.net A $MAIL_HEALTHY4" "example.net MX 10 mx1.example.org" \
		"mx1.example.org A $MX1_4" "example.net TXT v=spf1 ip4:198.51.100.0/26 -all" \
		"_dmarc.example.net TXT v=DMARC1; p=none"; do
		printf '%s\0' --record "$r"
	done
	for r in $FAT_ADDRS; do
		printf '%s\0' --record "smtp-fat.example.net A $r"
	done
}

lab_hostile_dns() {
	[ -x "$LAB_TOOLS/dns-peer" ] || return 0
	local spec port mode recs=()
	mapfile -d '' recs < <(hostile_dns_records)
	for spec in "${HOSTILE_DNS[@]}"; do
		read -r port mode <<<"$spec"
		nsx dns setsid "$PY" "$LAB_TOOLS/dns-peer" --listen "$DNS_HOSTILE4" --port "$port" --mode "$mode" \
			"${recs[@]}" --log "$LAB_RUN/logs/dns-hostile-$port.log" </dev/null >/dev/null 2>&1 9>&- &
	done
	for spec in "${HOSTILE_DNS[@]}"; do
		read -r port mode <<<"$spec"
		wait_tcp dns "$DNS_HOSTILE4" "$port" || { fail_setup "dns-peer on $DNS_HOSTILE4:$port did not listen"; return 1; }
	done
}

lab_hostile_peers() {
	lab_hostile_dns || return 1
	[ -x "$LAB_TOOLS/smtp-peer" ] || return 0
	lab_fat_peer || return 1
	local spec port mode script cert tls
	mkdir -p "$LAB_RUN/logs"
	for spec in "${HOSTILE_SMTP[@]}"; do
		read -r port mode script cert <<<"$spec"
		cert=${cert:-peers}
		[ -r "$LAB_TOOLS/scripts/$script" ] || { fail_setup "smtp-peer script $script missing"; return 1; }
		tls=()
		[ "$mode" = implicit ] && tls=(--implicit-tls)
		nsx mail setsid "$PY" "$LAB_TOOLS/smtp-peer" --listen "$PEER_HOSTILE4" --port "$port" "${tls[@]}" \
			--script "$LAB_TOOLS/scripts/$script" --cert "$CERTS/$cert.chain" --key "$CERTS/$cert.key" \
			--log "$LAB_RUN/logs/hostile-$port.log" </dev/null >/dev/null 2>&1 9>&- &
	done
	for spec in "${HOSTILE_SMTP[@]}"; do
		read -r port _ <<<"$spec"
		wait_tcp mail "$PEER_HOSTILE4" "$port" || { fail_setup "smtp-peer on $PEER_HOSTILE4:$port did not listen (see $LAB_RUN/logs)"; return 1; }
	done
}
