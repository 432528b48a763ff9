# Sourced first by a test runner that needs no network beyond 127.0.0.1:
# as root, the runner re-executes itself in a network namespace of its
# own (loopback only, no route out), so that a case that forgot a flag
# (--resolver, --no-control) fails there instead of reaching the Internet.
# Without root the runner goes on where it is.
if [ -z "${SD_OWN_NETWORK:-}" ] && [ "$(id -u)" = 0 ] &&
	command -v unshare >/dev/null; then
	SD_OWN_NETWORK=1 exec unshare --net "$0" "$@"
fi
if [ -n "${SD_OWN_NETWORK:-}" ]; then
	ip link set lo up
fi
