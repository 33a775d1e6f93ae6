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
plan ${#bins[@]}
for b in "${bins[@]}"; do
	out=$("$b" 2>&1)
	rc=$?
	fails=$(grep -c '^not ok' <<<"$out")
	[ "$rc" -eq 0 ] && [ "$fails" -eq 0 ] || diag "$out"
	ok $(( rc != 0 || fails != 0 )) "$(basename "$b"): $(grep -c '^ok' <<<"$out") passed, $fails failed"
done
