#!/usr/bin/env bash
# README's "Least privilege" claims that test_privdrop does not show:
# - CAP_NET_BIND_SERVICE is kept only when listen_port or [ice] port_range
#   is below 1024 (and the low port then works for the tunnel);
# - `--user USER` overrides [daemon] user;
# - without [daemon] user, tund becomes the user "tund" if it exists, else
#   stays root (the user database is replaced in a private mount namespace,
#   so the machine's own users are not touched);
# - without CAP_NET_RAW only `tundctl ping` fails: status, peers and traffic
#   through the tunnel work, `tundctl ping` says why it cannot.
# Every tund here starts as root (as the packaged unit and `make demo` do).
set -u
. "$(dirname "$0")/lib.sh"
t_init privileges
. "$(dirname "$0")/lib_pair.sh"

U=ttpv$$
useradd --system --user-group --no-create-home --home-dir /nonexistent \
	--shell /usr/sbin/nologin "$U" || fail "cannot create user $U"
UID_U=$(id -u "$U") GID_U=$(id -g "$U")
remove_user() { userdel "$U" 2>/dev/null || userdel -f "$U" 2>/dev/null; }
trap 't_cleanup; remove_user' EXIT
chmod 711 "$T_DIR" # the user must pass through to its state and socket

pair_ns
NET_ADMIN=0000000000001000             # bit 12
NET_ADMIN_BIND=0000000000001400        # bits 12 and 10 (CAP_NET_BIND_SERVICE)
field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }
sock() { echo "$T_DIR/$1/run/tund.sock"; }
ctl() { local h=$1; shift; "$TUNDCTL" --socket "$(sock "$h")" "$@"; }

# conf NAME INDEX PORT [DAEMON-USER-LINE] [ICE-LINES]: writes $T_DIR/NAME.conf.
conf() {
	rm -rf "${T_DIR:?}/$1"
	mkdir -p "$T_DIR/$1"
	cat >"$T_DIR/$1.conf" <<CFG
[interface]
name = tt0
address = 10.77.0.$2/16
mtu = 1420
listen_port = $3
[paths]
state_dir = $T_DIR/$1/state
control_socket = $(sock "$1")
[ice]
${5:-}
[daemon]
${4:-}
CFG
}
# run NS NAME [PREFIX-CMD...] -- [TUND-ARGS...]: tund as root (through
# PREFIX-CMD), waits for its socket; pid in RUN_PID.
run() {
	local ns=$1 name=$2 pre=() post=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do pre+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	post=("$@")
	: >"$T_DIR/$name.log"
	"${pre[@]}" ip netns exec "$ns" "$TUND" --config "$T_DIR/$name.conf" "${post[@]}" \
		>>"$T_DIR/$name.log" 2>&1 &
	RUN_PID=$!
	t_track "$RUN_PID"
	wait_until 30 ctl "$name" status || fail "$name: tund did not start"
}
# creds PID UID CAPS: the process runs as UID with exactly CAPS (effective,
# permitted, bounding).
creds() {
	local pid=$1 uid=$2 caps=$3 c
	[ "$(field "$pid" Uid)" = "$uid $uid $uid $uid" ] || fail "pid $pid: Uid $(field "$pid" Uid), want $uid"
	for c in CapEff CapPrm CapBnd; do
		[ "$(field "$pid" $c)" = "$caps" ] || fail "pid $pid: $c $(field "$pid" $c), want $caps"
	done
}

# --- CAP_NET_BIND_SERVICE only below 1024.
conf a 1 51820 "user = $U"
run "$NS_A" a; PID_A=$RUN_PID
creds "$PID_A" "$UID_U" $NET_ADMIN
conf b 2 853 "user = $U"
run "$NS_B" b; PID_B=$RUN_PID
creds "$PID_B" "$UID_U" $NET_ADMIN_BIND
grep -q "with only CAP_NET_ADMIN and CAP_NET_BIND_SERVICE (a port below 1024)" "$T_DIR/b.log" ||
	fail "b: no log line about keeping CAP_NET_BIND_SERVICE"
ip netns exec "$NS_B" ss -uanpH | grep -q ":853 .*pid=$PID_B," || fail "b does not listen on UDP 853"
PUB_A=$(ctl a status --json | jq -r .public_key) PUB_B=$(ctl b status --json | jq -r .public_key)
ctl a peer add "$PUB_B" --name b --endpoint 192.0.2.2:853 --allowed-ips 10.77.0.2/32 >/dev/null || fail "peer add on a"
ctl b peer add "$PUB_A" --name a --endpoint 192.0.2.1:51820 --allowed-ips 10.77.0.1/32 >/dev/null || fail "peer add on b"
ping_ok() { ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }
wait_until 30 ping_ok "$NS_A" 10.77.0.2 || fail "no ping to b on port 853"
t_log "listen_port 51820: CapEff $NET_ADMIN; listen_port 853: CapEff $NET_ADMIN_BIND, tunnel up on 853"
stop_pid "$PID_B" || fail "b did not stop"
conf b 2 51820 "user = $U" "port_range = 900-910"
run "$NS_B" b; PID_B=$RUN_PID
creds "$PID_B" "$UID_U" $NET_ADMIN_BIND
stop_pid "$PID_B" || fail "b did not stop"
conf b 2 51820 "user = $U" "port_range = 50000-50100"
run "$NS_B" b; PID_B=$RUN_PID
creds "$PID_B" "$UID_U" $NET_ADMIN
stop_pid "$PID_B" || fail "b did not stop"
t_log "port_range 900-910 keeps CAP_NET_BIND_SERVICE, 50000-50100 does not"

# --- --user overrides [daemon] user.
conf b 2 51820 "user = root"
run "$NS_B" b -- --user "$U"; PID_B=$RUN_PID
creds "$PID_B" "$UID_U" $NET_ADMIN
grep -q "running as user $U " "$T_DIR/b.log" || fail "b: --user $U not reported"
stop_pid "$PID_B" || fail "b did not stop"
t_log "--user $U over [daemon] user = root: runs as $UID_U"

# --- The default user: "tund" if it exists, else root. A private mount
# namespace gets a user database with (or without) a "tund" user, here
# with the throwaway user's ids.
getent passwd tund >/dev/null && fail "this machine has a user tund; the default-user case needs it absent"
grep -v '^tund:' /etc/passwd >"$T_DIR/passwd.without"
grep -v '^tund:' /etc/group >"$T_DIR/group.without"
{ cat "$T_DIR/passwd.without"; echo "tund:x:$UID_U:$GID_U::/nonexistent:/usr/sbin/nologin"; } >"$T_DIR/passwd.with"
{ cat "$T_DIR/group.without"; echo "tund:x:$GID_U:"; } >"$T_DIR/group.with"
chmod 644 "$T_DIR"/passwd.* "$T_DIR"/group.*
# userdb WITH|WITHOUT: prefix that runs a command with that user database.
userdb() {
	USERDB=(unshare -m --propagation private sh -c \
		"mount --bind $T_DIR/passwd.$1 /etc/passwd && mount --bind $T_DIR/group.$1 /etc/group && exec \"\$@\"" sh)
}
conf b 2 51820 "" # no [daemon] user
userdb with
run "$NS_B" b "${USERDB[@]}"; PID_B=$RUN_PID
creds "$PID_B" "$UID_U" $NET_ADMIN
grep -q "running as user tund (uid $UID_U" "$T_DIR/b.log" || fail "b: did not report running as tund"
stop_pid "$PID_B" || fail "b did not stop"
conf b 2 51820 ""
userdb without
run "$NS_B" b "${USERDB[@]}"; PID_B=$RUN_PID
[ "$(field "$PID_B" Uid)" = "0 0 0 0" ] || fail "b without a tund user: Uid $(field "$PID_B" Uid), want root"
grep -q 'running as root' "$T_DIR/b.log" || fail "b: did not say it stays root"
stop_pid "$PID_B" || fail "b did not stop"
t_log "no [daemon] user: becomes tund ($UID_U) when it exists, stays root when not"

# --- Without CAP_NET_RAW (taken out of the bounding set before tund starts,
# as a unit without it would): only tundctl ping fails.
conf b 2 51820 "user = $U"
run "$NS_B" b setpriv --bounding-set -net_raw --inh-caps -net_raw --; PID_B=$RUN_PID
creds "$PID_B" "$UID_U" $NET_ADMIN
# b has a new key (a new state_dir): a forgets the old b and adds this one.
PUB_B=$(ctl b status --json | jq -r .public_key)
ctl a peer remove b >/dev/null || fail "peer remove on a"
ctl a peer add "$PUB_B" --name b --endpoint 192.0.2.2:51820 --allowed-ips 10.77.0.2/32 >/dev/null ||
	fail "peer add on a"
ctl b peer add "$PUB_A" --name a --endpoint 192.0.2.1:51820 --allowed-ips 10.77.0.1/32 >/dev/null ||
	fail "peer add on b without CAP_NET_RAW"
wait_until 30 ping_ok "$NS_B" 10.77.0.1 || fail "no traffic through the tunnel without CAP_NET_RAW"
ip netns exec "$NS_B" ping -c 5 -i 0.2 -W 2 10.77.0.1 | grep -q ' 5 received' || fail "pings lost"
ctl b status >/dev/null || fail "tundctl status without CAP_NET_RAW"
ctl b peers --json | jq -e '.[0].latest_handshake > 0' >/dev/null || fail "tundctl peers without CAP_NET_RAW"
out=$(ctl b ping "$PUB_A" -c 1 2>&1) && fail "tundctl ping worked without CAP_NET_RAW: $out"
grep -qiE 'icmp|raw|permi|CAP_NET_RAW' <<<"$out" || fail "tundctl ping fails without saying why: $out"
t_log "without CAP_NET_RAW: traffic, status and peers work; tundctl ping: $out"
echo "PASS privileges"
