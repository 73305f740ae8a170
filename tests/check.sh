#!/usr/bin/env bash
# make check's runner, in tiers: unit tests (ASan+UBSan), every fuzz target
# for a short fixed time, then the namespace integration tests. Each tier is
# held to tests/list: a listed test that did not run, or a test that is not
# listed, is a failure naming it. Ends with one line per tier (passed,
# failed, skipped, expected) and then "N passed, N failed, N skipped".
# A skip fails the run unless TUND_ALLOW_SKIP accepts its tag (1 for all):
# a skip on this project's own kind of machine is a failure.
# CHECK_TIERS=unit,fuzz,integration (the default) picks tiers;
# CHECK_PATTERN=WORD runs only the integration tests named with WORD (the
# others then fail as not run). `check.sh --list` runs nothing: it only
# compares the tests that exist with tests/list (make check-list).
set -u -o pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
. tests/expect.sh
tiers=",${CHECK_TIERS:-unit,fuzz,integration},"
work=$(mktemp -d /tmp/tund-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
summary=() skip_lines=() fail_lines=() refused=

# The tests that exist, per tier, one name a line.
found_unit() { build/unit-tests --list; }
found_fuzz() { local s; for s in tests/fuzz/fuzz_*.c; do basename "$s" .c; done; }
found_integration() {
	local s
	for s in tests/ctl/test_*.sh tests/netns/test_*.sh tests/pkg/test_*.sh; do
		basename "$s" .sh
	done
}

if [ "${1:-}" = --list ]; then
	bad=0
	for tier in unit fuzz integration; do
		"found_$tier" >"$work/found" || { echo "FAIL $tier: cannot list its tests"; bad=1; }
		# Every test that exists counts as run: only the list is compared.
		expect_compare "$tier" "$work/found" "$work/found"
		[ "$EXPECT_COUNT" -eq 0 ] || bad=1
		echo "$tier: $(wc -l <"$work/found") tests, $(expect_listed "$tier" | wc -l) listed"
	done
	exit $bad
fi
total_pass=0 total_fail=0 total_skip=0

# tally TIER LABEL RESULTS FOUND EXTRA: counts the tier from RESULTS ("ok|fail|
# skip NAME", "why NAME TAG REASON" lines), holds it to tests/list; EXTRA
# failures were found by the caller (each already named on a line).
tally() {
	local tier=$1 label=$2 res=$3 found=$4 extra=$5 p f s expected tag name reason
	awk '$1 == "ok" || $1 == "fail" || $1 == "skip" { print $2 }' "$res" >"$work/ran"
	expect_compare "$tier" "$found" "$work/ran"
	while read -r _ name reason; do
		fail_lines+=("$tier $name${reason:+: $reason}")
	done < <(grep '^fail ' "$res")
	fail_lines+=("${EXPECT_LINES[@]}")
	p=$(grep -c '^ok ' "$res"); f=$(grep -c '^fail ' "$res"); s=$(grep -c '^skip ' "$res")
	f=$((f + extra + EXPECT_COUNT))
	expected=$(expect_listed "$tier" | wc -l)
	while read -r _ name tag reason; do
		skip_lines+=("$tier $name [$tag]: $reason")
		skip_allowed "$tag" || refused=$(skip_tags_add "$refused" "$tag")
	done < <(grep '^why ' "$res")
	summary+=("$(printf '%-13s %d passed, %d failed, %d skipped (%d expected)' "$label:" "$p" "$f" "$s" "$expected")")
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + s))
}

# say_fail LINE: a failure found here, named now and again in the summary.
say_fail() { echo "FAIL $1"; fail_lines+=("$1"); }

# sanitizer_report FILE: names the first sanitizer report in FILE, if any.
sanitizer_report() {
	local sum
	sum=$(grep -m1 -E '^SUMMARY: [A-Za-z]+Sanitizer' "$1")
	if grep -q 'ERROR: LeakSanitizer' "$1"; then
		echo "LeakSanitizer reported leaks${sum:+ ($sum)}"
	elif grep -q 'ERROR: AddressSanitizer' "$1"; then
		echo "AddressSanitizer reported an error${sum:+ ($sum)}"
	elif grep -q 'runtime error:' "$1"; then
		echo "UndefinedBehaviorSanitizer reported: $(grep -m1 'runtime error:' "$1")"
	elif [ -n "$sum" ]; then
		echo "sanitizer report: $sum"
	fi
}

if [[ $tiers == *,unit,* ]]; then
	echo "== unit tests (ASan + UBSan, ${TUND_UNIT_TIMEOUT:-60} s each)"
	: >"$work/unit.res"
	extra=0
	if ! found_unit >"$work/unit.found"; then
		say_fail "unit tests: build/unit-tests --list failed (not built?)"
		extra=$((extra + 1))
	fi
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build/unit-tests 2>&1 |
		tee "$work/unit.out"
	rc=${PIPESTATUS[0]}
	sed -n -e 's/^ok   \([^ ]*\)$/ok \1/p' -e 's/^FAIL \([^ :]*\).*/fail \1/p' \
		-e 's/^SKIP \([^ ]*\) \[\([^]]*\)\]: \(.*\)/skip \1\nwhy \1 \2 \3/p' \
		"$work/unit.out" | awk '!($1 != "why" && seen[$2]++)' >"$work/unit.res"
	san=$(sanitizer_report "$work/unit.out")
	if [ -n "$san" ]; then
		say_fail "unit tests: $san"
		extra=$((extra + 1))
	fi
	if ! grep -qE '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$work/unit.out"; then
		# The runner names a test that timed out or met an ASan error;
		# otherwise (UBSan) tests run in --list order: it died in the first
		# with no result.
		died=
		grep -qE '^FAIL [^ ]+: (sanitizer report above|timed out)' "$work/unit.out" ||
			died=$(awk '{ print $2 }' "$work/unit.res" | grep -vxF -f - "$work/unit.found" | head -n 1)
		if [ -n "$died" ]; then
			echo "FAIL $died: build/unit-tests died in it (status $rc; the report above)"
			echo "fail $died" >>"$work/unit.res"
		fi
		say_fail "unit tests: build/unit-tests ended (status $rc) without its summary line"
		extra=$((extra + 1))
	elif [ "$rc" != 0 ] && [ -z "$san" ] && ! grep -q '^fail ' "$work/unit.res"; then
		say_fail "unit tests: build/unit-tests exited with status $rc"
		extra=$((extra + 1))
	fi
	tally unit "unit tests" "$work/unit.res" "$work/unit.found" "$extra"
fi

if [[ $tiers == *,fuzz,* ]]; then
	secs=${FUZZ_SECONDS:-15}
	echo "== fuzz targets ($secs s each, two at a time: one per core; ${FUZZ_INPUT_TIMEOUT:-10} s per input)"
	: >"$work/fuzz.res"
	found_fuzz >"$work/fuzz.found"
	fuzz_pids=()
	for b in $(cat "$work/fuzz.found"); do
		TUND_RESULT_FILE=$work/fuzz.res tests/fuzz/run.sh "$secs" "build/fuzz/$b" &
		fuzz_pids+=($!)
		if [ ${#fuzz_pids[@]} -eq 2 ]; then
			wait "${fuzz_pids[0]}"
			fuzz_pids=("${fuzz_pids[1]}")
		fi
	done
	for pid in "${fuzz_pids[@]}"; do wait "$pid"; done
	tally fuzz "fuzz targets" "$work/fuzz.res" "$work/fuzz.found" 0
fi

if [[ $tiers == *,integration,* ]]; then
	echo "== integration tests (network namespaces)"
	: >"$work/int.res"
	found_integration >"$work/int.found"
	TUND_RESULT_FILE=$work/int.res tests/netns/run.sh "${CHECK_PATTERN:-}"
	rc=$?
	extra=0
	# run.sh fails on its own only for failed tests or refused skips,
	# both counted below; anything else is a failure of its own.
	if [ "$rc" != 0 ] && ! grep -q '^fail ' "$work/int.res" && ! grep -q '^skip ' "$work/int.res"; then
		say_fail "integration: tests/netns/run.sh exited with status $rc"
		extra=1
	fi
	tally integration "integration" "$work/int.res" "$work/int.found" "$extra"
fi

echo "== summary"
# At most 20 here; all of them were printed above.
[ ${#fail_lines[@]} -eq 0 ] || printf 'FAIL %s\n' "${fail_lines[@]:0:20}"
[ ${#fail_lines[@]} -le 20 ] || echo "FAIL ... and $((${#fail_lines[@]} - 20)) more (above)"
if [ ${#skip_lines[@]} -gt 0 ]; then
	echo "skipped:"
	printf '  %s\n' "${skip_lines[@]}"
	skip_verdict "make check" "$refused"
fi
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ] && [ -z "$refused" ]
