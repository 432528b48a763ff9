# The lab's network: namespaces, links, addresses, routes.
# shellcheck shell=bash
#
#   client ---- isp ---- br-srv: mail, dns, rbl, proxy
#                  \---- br-far: mx1, mx2
#
# The client has routes to the lab prefixes only, never a default route.

# host_link NAME BRIDGE: a veth from host NAME (eth0) into the isp's bridge
host_link() {
	local h=$1 br=$2
	ip link add eth0 netns "$(ns "$h")" type veth peer name "v-$h" netns "$(ns isp)" || return 1
	ip -n "$(ns isp)" link set "v-$h" master "$br" up || return 1
	ip -n "$(ns "$h")" link set eth0 up
}

addr4() { ip -n "$(ns "$1")" -4 addr add "$2" dev "${3:-eth0}"; }
addr6() { ip -n "$(ns "$1")" -6 addr add "$2" dev "${3:-eth0}" nodad; }

lab_topology() {
	local n p a
	for n in $SDL_NAMESPACES; do
		ip netns add "$(ns "$n")" || return 1
		ip -n "$(ns "$n")" link set lo up
		nsx "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 >/dev/null
		nsx "$n" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 >/dev/null
	done
	# a command that forgot "ip netns exec" must not leave the machine
	for p in $SDL_ROOT_ROUTES4; do ip -4 route add blackhole "$p" || return 1; done
	for p in $SDL_ROOT_ROUTES6; do ip -6 route add blackhole "$p" || return 1; done

	nsx isp sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null
	ip -n "$(ns isp)" link add br-srv type bridge && ip -n "$(ns isp)" link set br-srv up || return 1
	ip -n "$(ns isp)" link add br-far type bridge && ip -n "$(ns isp)" link set br-far up || return 1
	addr4 isp "$ISP_S4/26" br-srv && addr6 isp "$ISP_S6/64" br-srv || return 1
	addr4 isp "$ISP_F4/26" br-far && addr6 isp "$ISP_F6/64" br-far || return 1

	# the subscriber line
	ip link add eth0 netns "$(ns client)" type veth peer name v-client netns "$(ns isp)" || return 1
	ip -n "$(ns isp)" link set v-client up
	ip -n "$(ns client)" link set eth0 up
	addr4 isp "$ISP_C4/26" v-client && addr6 isp "$ISP_C6/64" v-client || return 1
	addr4 client "$CLIENT4/26" && addr4 client "$CLIENT4_NEG/26" && addr6 client "$CLIENT6/64" || return 1
	ip -n "$(ns client)" -4 route add 198.51.100.0/25 via "$ISP_C4" src "$CLIENT4" || return 1
	ip -n "$(ns client)" -4 route add 198.51.100.128/26 via "$ISP_C4" src "$CLIENT4" || return 1
	ip -n "$(ns client)" -6 route add 2001:db8:5d1::/48 via "$ISP_C6" src "$CLIENT6" || return 1
	# negative AUTH tests reach the healthy server through its second address,
	# from their own source address
	ip -n "$(ns client)" -4 route add "$MAIL_NEG4/32" via "$ISP_C4" src "$CLIENT4_NEG" || return 1

	for n in mail dns rbl proxy; do host_link "$n" br-srv || return 1; done
	for n in mx1 mx2; do host_link "$n" br-far || return 1; done

	for a in "$MAIL_HEALTHY4" "$MAIL_NOTLS4" "$MAIL_TLS10_4" "$MAIL_EXPIRED4" "$MAIL_WRONGNAME4" \
		"$MAIL_SELFSIGNED4" "$MAIL_MX4" "$MAIL_RELAY4" "$MAIL_BUSY4" "$MAIL_SMTPS4" "$MAIL_NEG4" \
		"$MAIL_POP4" "$MAIL_ALT4" "$MAIL_ALTBAD4" "$MAIL_STRICT4" "$MAIL_NORELAY4" "$MAIL_SMALL4" "$PEER_GMAIL_APP4" "$PEER_GMAIL_WEB4" \
		"$PEER_MS_DISABLED4" "$PEER_MS_BASIC4" "$PEER_RATE4" "$PEER_LOCKED4" "$PEER_DRIP4" "$PEER_ENDLESS4" \
		"$PEER_LONGLINE4" "$PEER_STALL4" "$PEER_CONTENT4" "$PEER_HOSTILE4" "$PEER_MULTILINE4"; do
		addr4 mail "$a/26" || return 1
	done
	addr6 mail "$MAIL_HEALTHY6/64" || return 1
	addr4 dns "$DNS_RESOLVER4/26" && addr4 dns "$DNS_AUTH4/26" && addr4 dns "$DNS_DEAD4/26" && addr4 dns "$DNS_HOSTILE4/26" || return 1
	addr6 dns "$DNS_RESOLVER6/64" || return 1
	addr4 rbl "$RBL4/26" && addr6 rbl "2001:db8:5d1:2::55/64" || return 1
	addr4 proxy "$PROXY4/26" && addr6 proxy "2001:db8:5d1:2::80/64" || return 1
	addr4 mx1 "$MX1_4/26" && addr6 mx1 "$MX1_6/64" || return 1
	addr4 mx2 "$MX2_4/26" && addr6 mx2 "$MX2_6/64" || return 1

	for n in mail dns rbl proxy; do
		ip -n "$(ns "$n")" -4 route add 198.51.100.192/26 via "$ISP_S4" || return 1
		ip -n "$(ns "$n")" -4 route add 198.51.100.128/26 via "$ISP_S4" || return 1
		ip -n "$(ns "$n")" -6 route add 2001:db8:5d1::/48 via "$ISP_S6" || return 1
	done
	for n in mx1 mx2; do
		ip -n "$(ns "$n")" -4 route add 198.51.100.192/26 via "$ISP_F4" || return 1
		ip -n "$(ns "$n")" -4 route add 198.51.100.0/26 via "$ISP_F4" || return 1
		ip -n "$(ns "$n")" -6 route add 2001:db8:5d1::/48 via "$ISP_F6" || return 1
	done

	# every namespace resolves through the lab's resolver (for swaks, dig)
	for n in $SDL_NAMESPACES; do
		mkdir -p "/etc/netns/$(ns "$n")"
		printf 'nameserver %s\n' "$DNS_RESOLVER4" >"/etc/netns/$(ns "$n")/resolv.conf"
		printf '127.0.0.1 localhost\n::1 localhost\n' >"/etc/netns/$(ns "$n")/hosts"
	done
	return 0
}
