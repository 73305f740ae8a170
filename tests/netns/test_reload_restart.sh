#!/usr/bin/env bash
# README: "Settings read only at start (...) are listed as needing a restart".
# Every config key tund knows (read from tund/daemon/config.c's key table, so a new
# key cannot be forgotten here) except [ice] stun/turn, which apply at once,
# is changed in one reload: `tundctl reload` must list exactly those keys as
# needing a restart, apply nothing, and the daemon keeps its running values.
set -u
. "$(dirname "$0")/lib.sh"
t_init reloadrestart
. "$(dirname "$0")/lib_pair.sh"
pair_ns
node_conf a 1
start_a

# A changed value for every key that needs a restart (the running config is
# lib_pair.sh's: tt0, 10.77.0.1/16, fd77::1/64, mtu 1420, port 51820, root).
declare -A NEW=(
	["[interface] name"]="tt9"
	["[interface] address"]="10.78.0.1/16"
	["[interface] address6"]="fd78::1/64"
	["[interface] mtu"]="1400"
	["[interface] listen_port"]="51821"
	["[interface] broadcast"]="off"
	["[interface] beacons"]="off"
	["[interface] offload"]="off"
	["[interface] io_uring"]="off"
	["[paths] state_dir"]="$T_DIR/a/state2"
	["[paths] control_socket"]="$T_DIR/a/other.sock"
	["[ice] port_range"]="50000-50100"
	["[ice] fast_path"]="off"
	["[ice] portmap"]="off"
	["[ice] turn_prediction"]="off"
	["[daemon] user"]="nobody"
	["[daemon] realtime"]="off"
	["[daemon] light_on_one_thread"]="off"
	["[daemon] aead"]="sodium"
	["[daemon] crypto_workers"]="2"
)
mapfile -t KEYS < <(sed -n 's/^[[:space:]]*{ "\([a-z]*\)", "\([a-z_0-9]*\)", apply_.*/[\1] \2/p' \
	"$TOP/tund/daemon/config.c")
[ "${#KEYS[@]}" -ge 16 ] || fail "could not read the key table of tund/daemon/config.c (${#KEYS[@]} keys)"
want=()
declare -A SECTION=()
for k in "${KEYS[@]}"; do
	case $k in "[ice] stun" | "[ice] turn") continue ;; esac
	[ -n "${NEW[$k]:-}" ] || fail "config key $k is new: give it a changed value in this test"
	want+=("$k")
	g=${k%%]*}; g=${g#[}
	SECTION[$g]+="${k#*] } = ${NEW[$k]}"$'\n'
done
{
	for g in interface paths ice daemon; do
		printf '[%s]\n%s' "$g" "${SECTION[$g]:-}"
	done
} >"$T_DIR/a.conf"
out=$(ctl_a reload --json) || fail "reload refused: $out"
got=$(jq -r '.needs_restart[]' <<<"$out" | sort)
exp=$(printf '%s\n' "${want[@]}" | sort)
[ "$got" = "$exp" ] || fail "needs_restart is not every start-only key:
got:
$got
want:
$exp"
[ "$(jq '.applied | length' <<<"$out")" = 0 ] || fail "reload applied something: $out"
# The human form names them too (one warning line with the list).
human=$(ctl_a reload) || fail "reload (text) failed"
for k in "${want[@]}"; do
	grep -qF -- "$k" <<<"$human" || fail "tundctl reload does not show $k: $human"
done
# Running values stay: the old socket answers, interface and port unchanged.
st=$(ctl_a status --json) || fail "status after reload"
[ "$(jq -r .interface <<<"$st")" = tt0 ] || fail "interface changed: $st"
[ "$(jq -r .listen_port <<<"$st")" = 51820 ] || fail "listen port changed: $st"
ip -n "$NS_A" -4 addr show dev tt0 | grep -q 10.77.0.1/16 || fail "address changed"
ip -n "$NS_A" link show tt9 >/dev/null 2>&1 && fail "a new interface tt9 appeared"
pid_running "$PID_A" || fail "tund exited after the reload"
t_log "reload listed all ${#want[@]} start-only keys: $(tr '\n' ',' <<<"$got")"
echo "PASS reload_restart"
