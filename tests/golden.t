#!/usr/bin/env bash
# golden.t — golden tests: run bin/<prog> per case and compare its output.
#
# A case is a directory tests/golden/<prog>/<case>/ with an `args` file:
#   args             one argument per line; @CORPUS@ -> ../shared/corpus and
#                    @DIR@ -> the case dir (both relative to the repo root,
#                    which is the cwd the program runs in)
#   stdin            optional; /dev/null when missing
#   expected.stdout  optional; when missing, stdout must be empty
#   expected.stderr  optional; compared only when present
#   expected.rc      optional; 0 when missing
#   not-records      optional marker (in the case or the <prog> dir): stdout
#                    is not NDJSON records (e.g. Markdown), so it is not kept
#                    for zz-records.t
# stdout and stderr are compared after the case dir and corpus paths (in
# relative, absolute or resolved form) are turned back into @DIR@/@CORPUS@.
#
# Env: GOLDEN_UPDATE=1 rewrites the expected files instead of comparing;
# GOLDEN_ONLY=prog[/case] runs the cases whose prog/case starts with it;
# GOLDEN_DIR (default tests/golden), GOLDEN_TIMEOUT seconds (default 60).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

golden=${GOLDEN_DIR:-$MIGSAFE_ROOT/tests/golden}
mapfile -t cases < <(find "$golden" -mindepth 3 -maxdepth 3 -type f -name args \
	-printf '%h\n' 2>/dev/null | sort)
sel=()
for c in "${cases[@]}"; do
	[[ ${c#"$golden"/} == "${GOLDEN_ONLY:-}"* ]] && sel+=("$c")
done
[ ${#sel[@]} -gt 0 ] || _tap_fail_file "no golden cases in $golden${GOLDEN_ONLY:+ matching $GOLDEN_ONLY}"
plan ${#sel[@]}

tmp=$(mktemp -d)
on_exit rm -rf "$tmp"
corpus_rel=../shared/corpus
corpus_real=$(cd "$MIGSAFE_ROOT" && realpath -m "$corpus_rel")

# normalize DIR_REL < in > out: paths back to @DIR@ / @CORPUS@ tokens.
normalize() {
	A1="$MIGSAFE_ROOT/$1" A2=$1 C1=$corpus_real C2=$CORPUS C3=$corpus_rel \
		perl -pe 's/\Q$ENV{A1}\E/\@DIR\@/g; s/\Q$ENV{A2}\E/\@DIR\@/g;
			s/\Q$ENV{C1}\E/\@CORPUS\@/g; s/\Q$ENV{C2}\E/\@CORPUS\@/g;
			s/\Q$ENV{C3}\E/\@CORPUS\@/g'
}

# show_diff WANT GOT LABEL: a unified diff as TAP diagnostics (capped).
show_diff() {
	diag "$3 differs:"
	{ diff -u --label "expected.$3" --label "actual.$3" "$1" "$2" || true; } |
		head -n 200 | while IFS= read -r l; do diag "  $l"; done
}

# update CASE RC: write the expected files from this run's output.
update() {
	local c=$1 rc=$2
	if [ -s "$tmp/out.n" ]; then cp "$tmp/out.n" "$c/expected.stdout"; else rm -f "$c/expected.stdout"; fi
	if [ -s "$tmp/err.n" ] || [ -f "$c/expected.stderr" ]; then cp "$tmp/err.n" "$c/expected.stderr"; fi
	if [ "$rc" != 0 ] || [ -f "$c/expected.rc" ]; then echo "$rc" >"$c/expected.rc"; fi
}

# run_case DIR: one TAP test.
run_case() {
	local c=$1 prog cname rel name i rc=0 want_rc=0 good=0 in=/dev/null a
	cname=$(basename "$c")
	prog=$(basename "$(dirname "$c")")
	name="$prog/$cname"
	rel=${c#"$MIGSAFE_ROOT"/}
	if [ ! -x "$BIN/$prog" ]; then
		ok 1 "$name"
		diag "$BIN/$prog is not built"
		return
	fi

	local args=()
	mapfile -t args <"$c/args"
	for i in "${!args[@]}"; do
		a=${args[i]//@CORPUS@/$corpus_rel}
		args[i]=${a//@DIR@/$rel}
	done
	[ -f "$c/stdin" ] && in=$c/stdin
	(cd "$MIGSAFE_ROOT" && timeout "${GOLDEN_TIMEOUT:-60}" "$BIN/$prog" "${args[@]}") \
		<"$in" >"$tmp/out" 2>"$tmp/err" || rc=$?
	normalize "$rel" <"$tmp/out" >"$tmp/out.n"
	normalize "$rel" <"$tmp/err" >"$tmp/err.n"
	[ -e "$c/not-records" ] || [ -e "$(dirname "$c")/not-records" ] ||
		record_out "$tmp/out" "golden-$prog"

	if [ "${GOLDEN_UPDATE:-0}" = 1 ]; then
		update "$c" "$rc"
		ok 0 "$name # updated"
		return
	fi

	[ -f "$c/expected.rc" ] && want_rc=$(tr -d ' \t\n' <"$c/expected.rc")
	local want_out=/dev/null
	[ -f "$c/expected.stdout" ] && want_out=$c/expected.stdout
	cmp -s "$want_out" "$tmp/out.n" || { good=1; show_diff "$want_out" "$tmp/out.n" stdout; }
	if [ -f "$c/expected.stderr" ]; then
		cmp -s "$c/expected.stderr" "$tmp/err.n" || { good=1; show_diff "$c/expected.stderr" "$tmp/err.n" stderr; }
	fi
	if [ "$rc" != "$want_rc" ]; then
		good=1
		[ "$rc" != 124 ] || diag "timed out after ${GOLDEN_TIMEOUT:-60}s"
		diag "exit status $rc, expected $want_rc"
	fi
	if [ $good != 0 ] && [ ! -f "$c/expected.stderr" ] && [ -s "$tmp/err" ]; then
		diag "stderr (not compared):"
		head -n 20 "$tmp/err" | while IFS= read -r l; do diag "  $l"; done
	fi
	ok $good "$name"
}

for c in "${sel[@]}"; do run_case "$c"; done
done_testing
