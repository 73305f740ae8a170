# shellcheck shell=bash
# README walkthroughs as tests: the tests read the commands out of README.md
# itself, so README and the tests cannot drift apart. Source after lib.sh.

README=$TOP/README.md

# readme_block ANCHOR: the lines of the first ``` block after the first line
# of README.md containing ANCHOR (fixed string), indentation removed. Fails
# the test when there is no such block.
readme_block() {
	local out
	out=$(awk -v anchor="$1" '
		!found && index($0, anchor) { found = 1; next }
		found && /^[[:space:]]*```/ { if (inside) exit; inside = 1; next }
		inside { sub(/^[[:space:]]+/, ""); print }
	' "$README")
	[ -n "$out" ] || fail "README.md: no command block after \"$1\""
	printf '%s\n' "$out"
}

# readme_has TEXT: README.md contains TEXT verbatim (for commands a test runs
# as written in running text rather than in a block).
readme_has() { grep -qF -- "$1" "$README" || fail "README.md no longer says: $1"; }
