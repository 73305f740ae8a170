#!/usr/bin/env bash
# README walkthrough "No broker at all", run line by line as README.md has it
# (the block is read from README.md): each line says where it runs ("# on A",
# "# on B"); KEY_A/KEY_B are the public keys `tundctl status` printed, BLOB
# the last line the other side's previous command printed. A and B sit
# behind symmetric NATs, no broker runs, and only `[ice] turn` from the
# config can connect them, so the path must be a relay: README's "STUN/TURN
# for peers outside networks come from [ice] stun/turn" is in use.
set -u
. "$(dirname "$0")/lib.sh"
t_init readmemanual
. "$(dirname "$0")/natlab.sh"
. "$(dirname "$0")/lib_tund.sh"
. "$(dirname "$0")/lib_readme.sh"
lab_up symmetric
lab_broker_stop
# The addresses README's peer add lines give each side.
tund_node a "address = 10.77.0.1/16" "[ice]
turn = $LAB_TURN_UDP"
tund_node b "address = 10.77.0.2/16" "[ice]
turn = $LAB_TURN_UDP"

mapfile -t LINES < <(readme_block "No broker at all")
[ "${#LINES[@]}" -ge 4 ] || fail "README's block has ${#LINES[@]} lines"
declare -A KEY=() LAST=()
n=0
for line in "${LINES[@]}"; do
	cmd=${line%%#*}
	where=${line#*# on }
	[[ $line == *"# on "* ]] || fail "README line does not say where it runs: $line"
	case $where in
	"A and B"*) hosts="a b" ;;
	A*) hosts=a ;;
	B*) hosts=b ;;
	*) fail "README line: cannot tell where it runs: $line" ;;
	esac
	read -ra words <<<"$cmd"
	[ "${words[0]}" = tundctl ] || fail "README line is not a tundctl command: $line"
	for h in $hosts; do
		other=$([ "$h" = a ] && echo b || echo a)
		args=()
		for w in "${words[@]:1}"; do
			case $w in
			KEY_A) w=${KEY[a]:?"KEY_A used before tundctl status"} ;;
			KEY_B) w=${KEY[b]:?"KEY_B used before tundctl status"} ;;
			BLOB) w=${LAST[$other]:?"BLOB used before $other printed one"} ;;
			esac
			args+=("$w")
		done
		out=$(ctl "$h" "${args[@]}" 2>&1) || fail "on $h: '$cmd' failed: $out"
		LAST[$h]=$(tail -n 1 <<<"$out")
		if [ "${words[1]}" = status ]; then
			KEY[$h]=$(sed -n 's/^ *public key: *//p' <<<"$out")
			[ "${KEY[$h]}" = "$(pubkey "$h")" ] || fail "tundctl status on $h shows no public key: $out"
		fi
		t_log "on $h: $cmd -> ${LAST[$h]:0:60}"
		n=$((n + 1))
	done
done
for step in "peer add" "peer offer" "peer answer" "peer accept"; do
	printf '%s\n' "${LINES[@]}" | grep -q "^tundctl $step " || fail "README's block has no '$step'"
done
wait_until 60 pings a 10.77.0.2 || fail "no ping a -> b after README's steps"
pings b 10.77.0.1 || fail "no ping b -> a"
lab_exec a ping -c 5 -i 0.2 -W 2 10.77.0.2 | grep -q ' 5 received' || fail "pings lost over the path"
KB=${KEY[b]}
path=$(peer_field a "$KB" path)
[ "$path" = relay ] || fail "path is '$path', want relay ([ice] turn) between symmetric NATs"
t_log "README's $n commands connected A and B over $path ($(peer_field a "$KB" candidates))"
echo "PASS readme_manual"
