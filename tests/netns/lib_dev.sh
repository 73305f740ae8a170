# shellcheck shell=bash
# /dev/net/tun for tests that care about its mode. Source after lib.sh.
#
# A test must not chmod the machine's node (other tests, and other users of
# the machine, see it). It gets a node of its own instead: a tmpfs mounted
# over /dev/net in a mount namespace of its own, holding a tun node (10:200)
# with the mode the test wants. Everything outside that namespace still
# sees the machine's node, whatever its mode.

# need_tun: the TUN driver is there (loaded if it is a module).
need_tun() {
	[ -c /dev/net/tun ] || modprobe tun 2>/dev/null
	[ -c /dev/net/tun ] ||
		fail "no /dev/net/tun, and 'modprobe tun' did not make one (a kernel without CONFIG_TUN?)"
}

# The script behind tun_mode; $1 is the mode, then the command.
# shellcheck disable=SC2016
TUN_MODE_SH='
mode=$1; shift
mount -t tmpfs -o mode=0755,size=64k tt-tun /dev/net || exit 125
mknod -m "$mode" /dev/net/tun c 10 200 || exit 125
exec "$@"'

# tun_mode VAR MODE: stores in array VAR the prefix that runs a command with
# /dev/net/tun at MODE. It must run in a mount namespace of its own, i.e.
# after "ip netns exec NS" (which makes one) or "unshare --mount":
#   tun_mode P 0600; ip netns exec "$ns" "${P[@]}" cmd...
tun_mode() {
	need_tun
	local -n _prefix=$1
	_prefix=(sh -c "$TUN_MODE_SH" tun-mode "$2")
}

# tun_mode_of PID: the mode of the /dev/net/tun that PID sees.
tun_mode_of() { stat -L -c '%a' "/proc/$1/root/dev/net/tun"; }
