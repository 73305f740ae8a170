#!/usr/bin/env bash
# make check's runner: unit tests (ASan+UBSan), every fuzz target for a short
# fixed time, then the namespace integration tests. Prints the sum of all
# three as the last line: "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
total_pass=0 total_fail=0

count() { # OUTPUT-FILE: adds the "N passed, N failed" line found in it
	local line p f
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		total_fail=$((total_fail + 1))
		return
	fi
	p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
}

out=$(mktemp /tmp/tund-check.XXXXXX)
trap 'rm -f "$out"' EXIT

echo "== unit tests (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build/unit-tests | tee "$out"
count "$out"

echo "== fuzz targets (${FUZZ_SECONDS:-15} s each, two at a time: one per core)"
fuzz_pids=()
for bin in build/fuzz/fuzz_*; do
	tests/fuzz/run.sh "${FUZZ_SECONDS:-15}" "$bin" &
	fuzz_pids+=($!)
	if [ ${#fuzz_pids[@]} -eq 2 ]; then
		wait "${fuzz_pids[0]}" && total_pass=$((total_pass + 1)) || total_fail=$((total_fail + 1))
		fuzz_pids=("${fuzz_pids[1]}")
	fi
done
for pid in "${fuzz_pids[@]}"; do
	wait "$pid" && total_pass=$((total_pass + 1)) || total_fail=$((total_fail + 1))
done

echo "== integration tests (network namespaces)"
tests/netns/run.sh | tee "$out"
count "$out"

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
