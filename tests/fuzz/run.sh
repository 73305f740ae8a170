#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs each libFuzzer binary for SECONDS with its seeds from
# tests/fuzz/corpus/<name>/ (binary build/fuzz/fuzz_<name>). New inputs go to
# a scratch directory so the checked-in seeds stay as they are.
# Usage: tests/fuzz/run.sh SECONDS BINARY...
set -eu
seconds=$1
shift
here=$(dirname "$0")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT INT TERM
for bin in "$@"; do
	name=$(basename "$bin")
	name=${name#fuzz_}
	mkdir -p "$scratch/$name"
	seeds="$here/corpus/$name"
	[ -d "$seeds" ] || seeds=
	echo "fuzz $name: ${seconds}s"
	"$bin" -max_total_time="$seconds" -print_final_stats=0 "$scratch/$name" $seeds \
		>"$scratch/$name.log" 2>&1 || { tail -n 40 "$scratch/$name.log"; exit 1; }
	tail -n 1 "$scratch/$name.log"
done
