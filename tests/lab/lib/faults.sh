# Faults as the world makes them. A scenario names them in "fault:" lines
# (fault: NAME ARGS...); each NAME is a function fault_NAME below. Everything
# a fault adds is removed by faults_clear, which the runner calls after each
# scenario (and which is harmless when nothing was applied).
#
# Where the rules live:
#   isp    table inet sdl_fault (forward filter, prerouting DNAT): the provider
#   client table inet sdl_fault (output DNAT: software on this machine),
#          iptables OUTPUT (the machine's own firewall), ip rules (pref 100)
#   proxy  middlebox processes (tests/lab/tools/middlebox)
#   rbl    listed addresses in the rbldnsd data
# shellcheck shell=bash

FAULT_PORT_BASE=20000
fault_next_port=$FAULT_PORT_BASE
fault_rbl_changed=0

# fam ADDR: the nft address keyword for ADDR
fam() { case "$1" in *:*) echo ip6 ;; *) echo ip ;; esac; }

fault_table() {
	local n=$1
	nsx "$n" nft list table inet sdl_fault >/dev/null 2>&1 && return 0
	nsx "$n" nft -f - <<'EOF'
table inet sdl_fault {
	chain forward_f { type filter hook forward priority -10; policy accept; }
	chain prerouting_n { type nat hook prerouting priority -110; policy accept; }
	chain output_n { type nat hook output priority -110; policy accept; }
	chain output_f { type filter hook output priority -10; policy accept; }
}
EOF
}

# nft_rule NS CHAIN RULE...
nft_rule() {
	local n=$1 chain=$2
	shift 2
	fault_table "$n" || return 1
	nsx "$n" nft add rule inet sdl_fault "$chain" "$@"
}

# reject_expr KIND: nft reject statement for KIND
reject_expr() {
	case "$1" in
	drop) echo drop ;;
	tcp-reset) echo "reject with tcp reset" ;;
	port-unreachable) echo "reject with icmpx type port-unreachable" ;;
	host-unreachable) echo "reject with icmpx type host-unreachable" ;;
	admin-prohibited) echo "reject with icmpx type admin-prohibited" ;;
	net-unreachable) echo "reject with icmpx type no-route" ;;
	*) return 1 ;;
	esac
}

# --- at the provider's router --------------------------------------------

# isp_drop DEST PORT: packets from the subscriber to DEST:PORT vanish
fault_isp_drop() { fault_isp_reject "$1" "$2" drop; }

# isp_reject DEST PORT KIND: KIND = drop|tcp-reset|port-unreachable|
# host-unreachable|admin-prohibited|net-unreachable
fault_isp_reject() {
	local dest=$1 port=$2 what
	what=$(reject_expr "$3") || { echo "unknown reject kind $3" >&2; return 1; }
	# shellcheck disable=SC2086
	nft_rule isp forward_f iifname v-client "$(fam "$dest")" daddr "$dest" tcp dport "$port" $what
}

# isp_drop_host DEST: the host is down (every packet to it vanishes)
fault_isp_drop_host() { nft_rule isp forward_f iifname v-client "$(fam "$1")" daddr "$1" drop; }

# isp_block_port PORT [KIND]: the provider blocks PORT to every host
fault_isp_block_port() {
	local what
	what=$(reject_expr "${2:-drop}") || return 1
	# shellcheck disable=SC2086
	nft_rule isp forward_f iifname v-client tcp dport "$1" $what
}

# isp_block_smtp [KIND]: every SMTP port to every host
fault_isp_block_smtp() {
	local what
	what=$(reject_expr "${1:-drop}") || return 1
	# shellcheck disable=SC2086
	nft_rule isp forward_f iifname v-client tcp dport '{ 25, 465, 587, 2525 }' $what
}

# isp_drop6 DEST: IPv6 to DEST is broken (black hole), IPv4 works
fault_isp_drop6() { nft_rule isp forward_f iifname v-client ip6 daddr "$1" drop; }

# isp_drop6_all: IPv6 to every host is a black hole, IPv4 works
fault_isp_drop6_all() { nft_rule isp forward_f iifname v-client meta nfproto ipv6 drop; }

# isp_drop_dns: the resolver does not answer (queries vanish)
fault_isp_drop_dns() {
	nft_rule isp forward_f iifname v-client ip daddr "$DNS_RESOLVER4" udp dport 53 drop &&
		nft_rule isp forward_f iifname v-client ip daddr "$DNS_RESOLVER4" tcp dport 53 drop &&
		nft_rule isp forward_f iifname v-client ip6 daddr "$DNS_RESOLVER6" meta l4proto '{ tcp, udp }' th dport 53 drop
}

# --- on the client machine -----------------------------------------------

# client_output_drop PORT: this machine's own firewall drops PORT (iptables)
fault_client_output_drop() {
	nsx client iptables -A OUTPUT -p tcp --dport "$1" -j DROP &&
		nsx client ip6tables -A OUTPUT -p tcp --dport "$1" -j DROP
}

# client_output_reject PORT: the same, answered with an ICMP admin-prohibited
fault_client_output_reject() {
	nsx client iptables -A OUTPUT -p tcp --dport "$1" -j REJECT --reject-with icmp-admin-prohibited &&
		nsx client ip6tables -A OUTPUT -p tcp --dport "$1" -j REJECT --reject-with icmp6-adm-prohibited
}

# client_prohibit PORT: a local policy refuses the connection (EACCES)
fault_client_prohibit() {
	nsx client ip -4 rule add pref 100 ipproto tcp dport "$1" prohibit &&
		nsx client ip -6 rule add pref 100 ipproto tcp dport "$1" prohibit
}

# --- middleboxes ---------------------------------------------------------

# start_middlebox MODE DEST PORT [middlebox options...]: prints the proxy port
start_middlebox() {
	local mode=$1 dest=$2 port=$3 lport=$fault_next_port up
	shift 3
	fault_next_port=$((fault_next_port + 1))
	[ -x "$LAB_TOOLS/middlebox" ] || { echo "tests/lab/tools/middlebox missing" >&2; return 1; }
	case "$dest" in *:*) up="[$dest]:$port" ;; *) up="$dest:$port" ;; esac
	mkdir -p "$LAB_RUN/logs"
	nsx proxy setsid "$PY" "$LAB_TOOLS/middlebox" --listen "$PROXY4:$lport" --upstream "$up" \
		--mode "$mode" --log "$LAB_RUN/logs/middlebox-$lport.log" "$@" </dev/null >/dev/null 2>&1 9>&- &
	wait_tcp proxy "$PROXY4" "$lport" 50 || { echo "middlebox $mode on $lport did not listen" >&2; return 1; }
	MB_PORT=$lport
}

# middlebox_opts MODE: the options a mode needs from the lab
middlebox_opts() {
	case "$1" in
	intercept-tls) printf '%s\n' --ca-cert "$CERTS/avast.crt" --ca-key "$CERTS/avast.key" ;;
	esac
}

# isp_middlebox MODE DEST PORT [options]: a device at the provider (or a
# firewall on the customer's network) sits between the client and DEST:PORT
fault_isp_middlebox() {
	local mode=$1 dest=$2 port=$3 opts
	shift 3
	mapfile -t opts < <(middlebox_opts "$mode")
	start_middlebox "$mode" "$dest" "$port" "${opts[@]}" "$@" || return 1
	nft_rule isp prerouting_n iifname v-client ip daddr "$dest" tcp dport "$port" dnat ip to "$PROXY4:$MB_PORT"
}

# local_middlebox MODE DEST PORT [options]: software on this machine (an
# antivirus mail shield) takes the connection to DEST:PORT
fault_local_middlebox() {
	local mode=$1 dest=$2 port=$3 opts
	shift 3
	mapfile -t opts < <(middlebox_opts "$mode")
	start_middlebox "$mode" "$dest" "$port" "${opts[@]}" "$@" || return 1
	nft_rule client output_n ip daddr "$dest" tcp dport "$port" dnat ip to "$PROXY4:$MB_PORT"
}

# --- reputation ----------------------------------------------------------

# dnsbl_list IP: the blocklist lists IP
fault_dnsbl_list() {
	rbl_write_data "$*" && rbl_reload && fault_rbl_changed=1
}

# --- removal -------------------------------------------------------------

faults_clear() {
	local n p
	for n in isp client; do
		nsx "$n" nft delete table inet sdl_fault 2>/dev/null || true
	done
	nsx client iptables -F OUTPUT 2>/dev/null || true
	nsx client ip6tables -F OUTPUT 2>/dev/null || true
	while nsx client ip -4 rule del pref 100 2>/dev/null; do :; done
	while nsx client ip -6 rule del pref 100 2>/dev/null; do :; done
	# only middleboxes run in the proxy namespace: stop them by pid
	for p in $(ip netns pids "$(ns proxy)" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
	for n in 1 2 3 4 5 6 7 8 9 10; do
		[ -z "$(ip netns pids "$(ns proxy)" 2>/dev/null)" ] && break
		sleep 0.1
	done
	for p in $(ip netns pids "$(ns proxy)" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	if [ "$fault_rbl_changed" = 1 ]; then
		rbl_write_data "" && rbl_reload
		fault_rbl_changed=0
		sleep 1     # the listing's TTL (rbldnsd -t 1) runs out in caches
	fi
	# conntrack entries of a DNAT must not outlive it
	nsx isp conntrack -F >/dev/null 2>&1 || true
	nsx client conntrack -F >/dev/null 2>&1 || true
	return 0
}

# apply_fault "NAME ARGS...": run one fault line
apply_fault() {
	local name args
	read -r name args <<<"$1"
	declare -F "fault_${name//-/_}" >/dev/null || { echo "unknown fault '$name'" >&2; return 1; }
	# shellcheck disable=SC2086
	"fault_${name//-/_}" $args
}
