#!/usr/bin/env bash
# bench/lockscore.sh — lockscore beside squawk (the linter a user would
# otherwise reach for) and beside the bare cost of parsing the same SQL with
# libpg_query (the floor under lockscore). Not a test: nothing here asserts a
# time; it prints what it measured, with the targets beside the ratios.
#
# Input: every *.sql of ../shared/corpus (sorted), Flyway's ${ohdsiSchema}
# set to webapi, joined with "\n;\n" (a file may end in a line comment) into
# one file; a file that libpg_query does not parse on its own is left out and
# counted. That concatenation is repeated until it is at least MIN_MB MB
# (default 3): the corpus alone is smaller.
#
#   1. one big file: lockscore, squawk --reporter json, parse_only (whole text
#      to a JSON tree, as lockscore parses), parse_only --split (scanner only)
#   2. the corpus as separate files on one command line (how CI runs them),
#      for information
#   3. lockscore's peak RSS (and time, one run each) on 1x, 2x, 4x the
#      concatenation (SCALES to change): is its memory bounded?
#
# Each time is the median of RUNS runs (default 5) of wall-clock time; peak
# RSS is the largest of those runs (GNU time's %M, or ru_maxrss from wait4).
# Env: RUNS, MIN_MB, SCALES ("1 2 4"), SQUAWK (a squawk binary to use instead
# of the cached npm install), XDG_CACHE_HOME.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=$root/../shared/corpus
bin=$root/bin
runs=${RUNS:-5}
min_mb=${MIN_MB:-3}
scales=${SCALES:-1 2 4}
squawk_version=2.66.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

die() { echo "lockscore.sh: $*" >&2; exit 1; }

[ -x "$bin/lockscore" ] || die "$bin/lockscore not built: run make in $root"

# ---- the peers ----
cc -O2 -o "$work/parse_only" "$root/bench/parse_only.c" -lpg_query

squawk=${SQUAWK:-}
if [ -z "$squawk" ]; then
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/migsafe-bench/squawk
	squawk=$cache/node_modules/@squawk-cli/linux-x64/bin/squawk
	if ! [ -x "$squawk" ] || ! "$squawk" --version 2>/dev/null | grep -qF "$squawk_version"; then
		mkdir -p "$cache"
		(cd "$cache" && npm install --ignore-scripts --no-audit --no-fund --silent \
			"squawk-cli@$squawk_version" >/dev/null) || die "npm install squawk-cli@$squawk_version failed"
	fi
fi
[ -x "$squawk" ] || die "no squawk binary at $squawk"

# Peak RSS: GNU time when installed (Debian package time), otherwise a tiny
# wrapper that reports ru_maxrss from wait4 in the same unit (KB).
if [ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1; then
	peak() { /usr/bin/time -o "$work/rss" -f %M "$@"; }
else
	cat >"$work/maxrss.c" <<'EOF'
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	int st;
	struct rusage ru;
	if (pid < 0 || wait4(pid, &st, 0, &ru) < 0)
		return 125;
	FILE *f = fopen(argv[1], "w");
	if (f)
		fprintf(f, "%ld\n", ru.ru_maxrss), fclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
EOF
	cc -O2 -o "$work/maxrss" "$work/maxrss.c"
	peak() { "$work/maxrss" "$work/rss" "$@"; }
fi

# ---- the input ----
one=$work/corpus.sql
: >"$one"
nfiles=0 nbad=0
mkdir "$work/files"
while IFS= read -r -d '' f; do
	# shellcheck disable=SC2016 # the placeholder is literal
	sed 's/\${ohdsiSchema}/webapi/g' "$f" >"$work/one.sql"
	if "$work/parse_only" "$work/one.sql" >/dev/null 2>&1; then
		nfiles=$((nfiles + 1))
		cat "$work/one.sql" >>"$one"
		printf '\n;\n' >>"$one"
		cp "$work/one.sql" "$work/files/$(printf '%05d' "$nfiles").sql"
	else
		nbad=$((nbad + 1))
		echo "lockscore.sh: left out (does not parse alone): ${f#"$corpus"/}" >&2
	fi
done < <(find "$corpus" -type f -name '*.sql' -print0 | sort -z)
[ "$nfiles" -gt 0 ] || die "no SQL file that parses under $corpus"
"$work/parse_only" "$one" >/dev/null || die "the concatenation does not parse"

# repeat NAME K: NAME.sql made of K copies of the concatenation
repeat() {
	local i
	: >"$work/$1.sql"
	for ((i = 0; i < $2; i++)); do cat "$one" >>"$work/$1.sql"; done
}
size1=$(stat -c %s "$one")
copies=$(awk -v s="$size1" -v m="$min_mb" 'BEGIN { k = 1; while (k * s < m * 1e6) k++; print k }')
repeat input "$copies"
input=$work/input.sql
size=$(stat -c %s "$input")
nstmt=$("$work/parse_only" --split "$input")
nstmt1=$("$work/parse_only" --split "$one")

# ---- measuring ----
now_us() { date +%s%6N; }

# measure NAME CMD...: run CMD $runs times (stdin /dev/null: lockscore reads
# records from a non-terminal stdin), output of the last run in $work/NAME.out;
# sets ms (median, with one decimal), kb (largest peak RSS), rc (last exit code).
measure() {
	local name=$1 i t0 t1 times=()
	shift
	kb=0
	for ((i = 0; i < runs; i++)); do
		t0=$(now_us)
		rc=0
		peak "$@" </dev/null >"$work/$name.out" 2>"$work/$name.err" || rc=$?
		t1=$(now_us)
		times+=($((t1 - t0)))
		local k
		k=$(tail -n 1 "$work/rss")
		[ "$k" -le "$kb" ] || kb=$k
	done
	ms=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p" | awk '{ printf "%.1f", $1 / 1000 }')
}

# check NAME WHAT RC-OK...: the output is non-empty and the exit code expected.
check() {
	local name=$1 what=$2 ok=0 c
	shift 2
	for c in "$@"; do [ "$rc" != "$c" ] || ok=1; done
	if [ "$ok" = 0 ] || ! [ -s "$work/$name.out" ]; then
		echo "lockscore.sh: $what: exit $rc, $(wc -c <"$work/$name.out") bytes of output" >&2
		head -c 2000 "$work/$name.err" >&2
		die "$what produced no usable output"
	fi
}

mbps() { awk -v b="$1" -v ms="$2" 'BEGIN { if (ms <= 0) ms = 0.1; printf "%.2f", b / 1e6 / (ms / 1000) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) b = 0.1; printf "%.2f", a / b }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e6 }'; }

measure ls "$bin/lockscore" "$input"
check ls "lockscore" 0 1
ls_ms=$ms ls_kb=$kb ls_rc=$rc
ls_stmt=$(grep -c '"kind":"statement"' "$work/ls.out" || true)
ls_find=$(grep -c '"kind":"finding"' "$work/ls.out" || true)

measure sq "$squawk" --reporter json "$input"
check sq "squawk" 0 1
sq_ms=$ms sq_kb=$kb sq_rc=$rc
sq_find=$(jq length "$work/sq.out" 2>/dev/null || echo '?')

measure po "$work/parse_only" "$input"
check po "parse_only" 0
po_ms=$ms po_kb=$kb

measure ps "$work/parse_only" --split "$input"
check ps "parse_only --split" 0
ps_ms=$ms ps_kb=$kb

files=("$work"/files/*.sql)
measure lsf "$bin/lockscore" "${files[@]}"
check lsf "lockscore (separate files)" 0 1
lsf_ms=$ms lsf_kb=$kb lsf_rc=$rc
measure sqf "$squawk" --reporter json "${files[@]}"
check sqf "squawk (separate files)" 0 1
sqf_ms=$ms sqf_kb=$kb

# ---- the table ----
echo "lockscore: $nfiles corpus files ($nbad left out: do not parse alone), $(mb "$size1") MB, $nstmt1 statements;"
echo "  benchmark input: $copies x that = $(mb "$size") MB, $nstmt statements (libpg_query split)"
echo "  lockscore wrote $ls_stmt statement and $ls_find finding records (exit $ls_rc); squawk $sq_find findings (exit $sq_rc)"
printf '%-52s %11s %9s %10s\n' "one file of $(mb "$size") MB (median of $runs runs)" "time" "MB/s" "peak RSS"
row() { printf '%-52s %9sms %9s %7sMiB\n' "$1" "$2" "$(mbps "$size" "$2")" "$(awk -v k="$3" 'BEGIN { printf "%.1f", k / 1024 }')"; }
row "lockscore" "$ls_ms" "$ls_kb"
row "squawk $squawk_version --reporter json (native)" "$sq_ms" "$sq_kb"
row "libpg_query pg_query_parse (parse_only)" "$po_ms" "$po_kb"
row "libpg_query split_with_scanner (information)" "$ps_ms" "$ps_kb"
printf '%-52s %10sx   (target >= 3)\n' "squawk time / lockscore time" "$(ratio "$sq_ms" "$ls_ms")"
printf '%-52s %10sx   (target <= 2)\n' "lockscore time / parse time" "$(ratio "$ls_ms" "$po_ms")"
size=$(cat "${files[@]}" | wc -c)
printf '%-52s %11s %9s %10s\n' "${#files[@]} separate files, $(mb "$size") MB (information)" "time" "MB/s" "peak RSS"
row "lockscore (exit $lsf_rc)" "$lsf_ms" "$lsf_kb"
row "squawk $squawk_version --reporter json (native)" "$sqf_ms" "$sqf_kb"
printf '%-52s %10sx\n' "squawk time / lockscore time" "$(ratio "$sqf_ms" "$lsf_ms")"

printf '%-52s %11s %10s %10s\n' "lockscore memory growth (one run each)" "time" "peak RSS" "RSS/input"
runs=1
for k in $scales; do
	repeat scale "$k"
	size=$(stat -c %s "$work/scale.sql")
	measure lss "$bin/lockscore" "$work/scale.sql"
	check lss "lockscore (${k}x)" 0 1
	printf '%-52s %9sms %7sMiB %9sx\n' "${k}x concatenation, $(mb "$size") MB" "$ms" \
		"$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')" "$(ratio "$((kb * 1024))" "$size")"
done
