# shellcheck shell=bash
# Sourced by tests/check.sh and tests/netns/run.sh: the expected list
# (tests/list) and the skip policy.

EXPECT_LIST=${EXPECT_LIST:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/list}

# expect_listed TIER: the names tests/list gives the tier, one a line.
expect_listed() { awk -v t="$1" '$1 == t { print $2 }' "$EXPECT_LIST"; }

# expect_compare TIER FOUND RAN: FOUND holds the names of the tier's tests
# that exist (source files, registered unit tests), RAN those that gave a
# result. Prints one FAIL line per difference, saying what to change in
# tests/list, and keeps them in EXPECT_LINES (their number: EXPECT_COUNT).
# Past ten tests that did not run (a runner that died), one line says how
# many more.
# shellcheck disable=SC2034  # EXPECT_COUNT is the caller's
expect_compare() {
	local tier=$1 found=$2 ran=$3 listed n notrun=0
	listed=$(mktemp)
	expect_listed "$tier" | LC_ALL=C sort -u >"$listed"
	EXPECT_LINES=()
	for n in $(LC_ALL=C sort -u "$found" | LC_ALL=C comm -23 - "$listed"); do
		EXPECT_LINES+=("$tier $n: exists but is not in tests/list; add the line '$tier $n' to tests/list")
	done
	for n in $(LC_ALL=C sort -u "$found" | LC_ALL=C comm -13 - "$listed"); do
		EXPECT_LINES+=("$tier $n: in tests/list but there is no such test (removed or renamed?); restore it, or delete the line '$tier $n' from tests/list")
	done
	for n in $(LC_ALL=C sort -u "$found" | LC_ALL=C comm -12 - "$listed" |
		LC_ALL=C comm -23 - <(LC_ALL=C sort -u "$ran")); do
		notrun=$((notrun + 1))
		[ $notrun -le 10 ] && EXPECT_LINES+=("$tier $n: in tests/list but did not run")
	done
	EXPECT_COUNT=$((${#EXPECT_LINES[@]} + (notrun > 10 ? notrun - 10 : 0)))
	[ $notrun -le 10 ] || EXPECT_LINES+=("$tier: $((notrun - 10)) more listed tests did not run")
	rm -f "$listed"
	[ ${#EXPECT_LINES[@]} -eq 0 ] || printf 'FAIL %s\n' "${EXPECT_LINES[@]}"
}

# skip_allowed TAG: whether TUND_ALLOW_SKIP accepts a skip with this tag. A
# skip on this project's own kind of machine is a failure; on another kind,
# TUND_ALLOW_SKIP=1 accepts every skip, TUND_ALLOW_SKIP=tag1,tag2 those tags.
skip_allowed() {
	case ",${TUND_ALLOW_SKIP:-}," in
	,1, | *",$1,"*) return 0 ;;
	esac
	machine_cannot "$1"
}

# machine_cannot TAG: the skip is forced by a limit measured on this machine
# right now, not chosen. rtprio: root without CAP_SYS_RESOURCE (as on this
# project's VMs) cannot raise RLIMIT_RTPRIO, so no process dropped from root
# can get real-time priority; the tests check tund's refusal line instead.
machine_cannot() {
	case $1 in
	rtprio) [ "$(id -u)" = 0 ] && ! prlimit --rtprio=1:1 true 2>/dev/null ;;
	*) return 1 ;;
	esac
}

# skip_tags_add LIST TAG: LIST (comma-separated) with TAG, once.
skip_tags_add() {
	case ",$1," in *",$2,"*) echo "$1" ;; ,,) echo "$2" ;; *) echo "$1,$2" ;; esac
}

# skip_verdict WHO REFUSED: the line that says whether the skips fail the run.
skip_verdict() {
	if [ -n "$2" ]; then
		echo "FAIL $1: skipped ($2): a skip on this project's own kind of machine is a failure; only on another kind of machine, TUND_ALLOW_SKIP=$2 accepts these"
	else
		echo "skips accepted by TUND_ALLOW_SKIP=${TUND_ALLOW_SKIP:-} or forced by this machine (rtprio: prlimit --rtprio=1:1 refused to root)"
	fi
}
