# Shared helpers of the fault lab: paths, logging, namespaces, cleanup.
# shellcheck shell=bash

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$LAB_DIR/../.." && pwd)
LAB_RUN=${LAB_RUN:-/run/sdl-lab}           # run-time state: configs, certs, logs, pids
LAB_LOCK=${LAB_LOCK:-/run/sdl-lab.lock}
LAB_TOOLS=$LAB_DIR/tools
PY=/usr/bin/python3                        # Debian's, standard library only

# shellcheck source=addresses.sh
. "$LAB_DIR/lib/addresses.sh"

LAB_VERBOSE=${LAB_VERBOSE:-0}

log() { [ "$LAB_VERBOSE" = 1 ] && printf '# %s\n' "$*" >&2; return 0; }
note() { printf '# %s\n' "$*" >&2; }
die() { printf 'lab: %s\n' "$*" >&2; exit 2; }

ns() { printf '%s%s' "$SDL_PREFIX" "$1"; }
# nsx NS CMD...: run CMD inside the lab namespace NS
nsx() { local n; n=$(ns "$1"); shift; ip netns exec "$n" "$@" 9>&-; }  # fd 9: the lab lock

# Fail the setup with a message naming the step. Callers test the status.
setup_error=""
fail_setup() { setup_error="$*"; note "setup failed: $*"; return 1; }

# wait_tcp NS ADDR PORT [TRIES]: wait until something listens (0.1 s steps)
wait_tcp() {
	local n=$1 addr=$2 port=$3 tries=${4:-50} i
	for ((i = 0; i < tries; i++)); do
		if nsx "$n" "$PY" - "$addr" "$port" <<'EOF' 2>/dev/null; then return 0; fi
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=0.5)
s.close()
EOF
		sleep 0.1
	done
	return 1
}

# wait_udp_dns NS SERVER NAME: wait until SERVER answers a query for NAME
wait_dns() {
	local n=$1 server=$2 name=$3 i
	for ((i = 0; i < 50; i++)); do
		if nsx "$n" dig +time=1 +tries=1 +short "@$server" "$name" A >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	return 1
}

# Prerequisites: say plainly what is missing.
lab_check_prereqs() {
	local missing="" b
	[ "$(id -u)" = 0 ] || { echo "lab: must run as root (network namespaces, iptables)" >&2; return 1; }
	ip netns list >/dev/null 2>&1 || missing+=" ip-netns(iproute2)"
	for b in ip nft iptables ip6tables postfix postconf dovecot nsd unbound rbldnsd openssl \
		faketime dig swaks script flock setsid; do
		command -v "$b" >/dev/null 2>&1 || missing+=" $b"
	done
	[ -x "$PY" ] || missing+=" $PY"
	[ -x /usr/lib/postfix/sbin/master ] || missing+=" postfix(master)"
	if [ -n "$missing" ]; then
		echo "lab: missing:$missing" >&2
		echo "lab: install with: apt-get install -y --no-install-recommends postfix dovecot-core nsd unbound rbldnsd iptables nftables swaks dnsutils faketime openssl bsdutils util-linux iproute2" >&2
		return 1
	fi
	return 0
}

# Refuse to start if a lab prefix overlaps an address this machine uses: a
# route other than the default, an /etc/hosts entry, a nameserver.  (No
# name is looked up here: the lab sends nothing to the system's resolver.)
lab_check_prefixes() {
	{ ip -4 route show; ip -6 route show; cat /etc/hosts /etc/resolv.conf; } 2>/dev/null |
		"$PY" -c '
import ipaddress, re, sys
nets = [ipaddress.ip_network(p) for p in sys.argv[1:]]
bad = []
for line in sys.stdin:
    if line.startswith(("default", "blackhole")):
        continue
    for tok in re.findall(r"[0-9a-fA-F:.]+(?:/[0-9]+)?", line):
        try:
            net = ipaddress.ip_network(tok, strict=False)
        except ValueError:
            continue
        if any(net.version == n.version and net.overlaps(n) for n in nets):
            bad.append(line.strip())
            break
if bad:
    print("lab: a lab prefix is in use on this machine; edit tests/lab/lib/addresses.sh:", file=sys.stderr)
    for b in bad:
        print("  " + b, file=sys.stderr)
    sys.exit(1)
' $SDL_ROOT_ROUTES4 $SDL_ROOT_ROUTES6
}

# Remove everything a lab run leaves: processes in lab namespaces (by pid),
# the namespaces, the root blackhole routes, /etc/netns entries, run state.
# Safe to call any number of times, also after a killed run.
lab_cleanup() {
	local n pids p round
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$SDL_PREFIX" || true); do
		for round in TERM TERM KILL; do
			pids=$(ip netns pids "$n" 2>/dev/null || true)
			[ -n "$pids" ] || break
			for p in $pids; do kill -s "$round" "$p" 2>/dev/null || true; done
			sleep 0.3
		done
		ip netns del "$n" 2>/dev/null || true
	done
	for p in $SDL_ROOT_ROUTES4; do ip -4 route del blackhole "$p" 2>/dev/null || true; done
	for p in $SDL_ROOT_ROUTES6; do ip -6 route del blackhole "$p" 2>/dev/null || true; done
	for n in $SDL_NAMESPACES; do rm -rf "/etc/netns/$SDL_PREFIX$n"; done
	case "$LAB_RUN" in
	/run/sdl-*|/tmp/sdl-*) rm -rf "$LAB_RUN" ;;
	esac
}
