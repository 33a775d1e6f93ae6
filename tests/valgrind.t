#!/usr/bin/env bash
# valgrind.t — the golden tests again, every program under valgrind
# (memcheck): no invalid read or write, no use of uninitialised memory, and
# no definite leak in a run that finishes (exit 0 or 1). A run that dies on
# an error (exit 2, 3, 4: die() exits at once with what it holds, by
# design) is held to the memory errors only, as LeakSanitizer is in
# `make SAN=1` (msg.c). Slow (minutes), so it runs only when asked:
#   MIGSAFE_VALGRIND=1 prove tests/valgrind.t
# Each program is replaced by a wrapper that runs valgrind on the real
# binary, its findings in a log per process and its exit code beside it; a
# memory error makes valgrind exit 99, which fails the golden case.
# tests/valgrind.supp holds the third-party leaks.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "${MIGSAFE_VALGRIND:-0}" = 1 ] || skip_all "slow: set MIGSAFE_VALGRIND=1 to run the golden tests under valgrind"
need valgrind valgrind

tmp=$(mktemp -d)
on_exit rm -rf "$tmp"
mkdir -p "$tmp/bin" "$tmp/logs"
real=$(cd "$BIN" && pwd)
for p in "$real"/*; do
	[ -x "$p" ] && [ -f "$p" ] || continue
	cat >"$tmp/bin/$(basename "$p")" <<WRAP
#!/bin/sh
log="$tmp/logs/$(basename "$p").\$\$"
valgrind -q --error-exitcode=99 --errors-for-leak-kinds=none --leak-check=full \\
	--show-leak-kinds=definite --track-origins=yes --suppressions="$MIGSAFE_ROOT/tests/valgrind.supp" \\
	--log-file="\$log.log" "$p" "\$@"
rc=\$?
echo \$rc >"\$log.rc"
exit \$rc
WRAP
	chmod +x "$tmp/bin/$(basename "$p")"
done

plan 2
rc=0
MIGSAFE_BIN=$tmp/bin GOLDEN_TIMEOUT=${GOLDEN_TIMEOUT:-600} bash "$MIGSAFE_ROOT/tests/golden.t" >"$tmp/golden.tap" 2>&1 || rc=$?
total=$(grep -c '^ok\|^not ok' "$tmp/golden.tap" || true)
bad=$(grep -c '^not ok' "$tmp/golden.tap" || true)
ok "$rc" "the golden tests pass under valgrind ($total cases, $bad failing)"
[ "$rc" = 0 ] || diag "$(grep -A3 '^not ok' "$tmp/golden.tap" | head -60)"
# a log with a memory error, or with a definite leak of a run that finished
bad= died_leaks=0 n=0
for f in "$tmp"/logs/*.log; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	[ -s "$f" ] || continue
	code=$(cat "${f%.log}.rc" 2>/dev/null || echo '?')
	if grep -qv -e 'definitely lost' -e '^==[0-9]*== *$' -e '^==[0-9]*==    \(at\|by\) ' "$f" ||
		{ [ "$code" != 2 ] && [ "$code" != 3 ] && [ "$code" != 4 ]; }; then
		bad="$bad $f"
	else
		died_leaks=$((died_leaks + 1))
	fi
done
diag "$n processes ran under valgrind; $died_leaks died on an error holding memory (not counted)"
if [ -z "$bad" ]; then
	ok 0 "valgrind: no memory error, no definite leak in a run that finishes"
else
	ok 1 "valgrind: no memory error, no definite leak in a run that finishes"
	for f in $bad; do diag "== $(basename "$f") (exit $(cat "${f%.log}.rc" 2>/dev/null))" "$(head -40 "$f")"; done
fi
done_testing
