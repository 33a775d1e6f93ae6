#!/usr/bin/env bash
# Runs every unit test binary (tests/unit/bin/*), each a TAP stream of its own.
. "$(dirname "$0")/lib.sh"
set -u
# http_client is not a test but a driver for tests/http.t
bins=()
for b in "$MIGSAFE_ROOT"/tests/unit/bin/*; do
	[ "$(basename "$b")" = http_client ] || bins+=("$b")
done
[ -x "${bins[0]}" ] || bail_out "unit tests are not built (make all)"
# sha256 runs twice: with the block function the CPU allows, and portable
plan $(( ${#bins[@]} + 1 ))
run() {
	local name=$1 out rc fails
	shift
	out=$("$@" 2>&1)
	rc=$?
	fails=$(grep -c '^not ok' <<<"$out")
	[ "$rc" -eq 0 ] && [ "$fails" -eq 0 ] || diag "$out"
	ok $(( rc != 0 || fails != 0 )) "$name: $(grep -c '^ok' <<<"$out") passed, $fails failed"
}
for b in "${bins[@]}"; do
	run "$(basename "$b")" "$b"
	[ "$(basename "$b")" != sha256 ] || run "sha256, MIGSAFE_SHA256=portable" env MIGSAFE_SHA256=portable "$b"
done
