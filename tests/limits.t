#!/usr/bin/env bash
# limits.t — input at the edge: a record line over the NDJSON limit (small,
# through MIGSAFE_MAX_LINE, for every stage that reads records; and one real
# line of 1 GB against the default 64 MiB limit), a very wide schema through
# schema2dag and lockscore, and a migration of 1,000,000 statements through
# lockscore. Where a limit is hit: exit 4 naming the line, nothing on stdout.
# Elsewhere: the run succeeds within a bound on peak memory (GNU time's %M),
# and its time and memory are printed as diagnostics.
#
# The wide schema has the issue's 100,000 tables (about 2 s and 260 MiB for
# schema2dag: its catalog lookups are hashed); MIGSAFE_LIMITS_TABLES sets
# another number.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

for p in schema2dag lockscore mkrunbook mkshadow applyexplain metricwatch; do
	[ -x "$BIN/$p" ] || bail_out "bin/$p is not built"
done
need /usr/bin/time time
need python3 python3

tmp=$(mktemp -d)
on_exit rm -rf "$tmp"
F=$MIGSAFE_ROOT/tests/fixtures

# measure NAME CMD...: run CMD (stdin, stdout as given by the caller);
# exit status in $rc, peak RSS in $kb (KiB), wall time in $secs
measure() {
	local name=$1
	shift
	rc=0
	/usr/bin/time -o "$tmp/time" -f '%M %e' "$@" 2>"$tmp/err" || rc=$?
	read -r kb secs < <(tail -n 1 "$tmp/time")
	diag "$name: exit $rc, ${secs}s, peak RSS $((kb / 1024)) MiB"
}
# under NAME KB_LIMIT: the peak RSS is below the limit (x4 for a build with
# AddressSanitizer, whose shadow memory and quarantine cost that much)
# and, with QUARANTINE as a third argument, plus 512 MiB for the freed
# memory AddressSanitizer holds back and its own caches (for runs that allocate
# and free over and over)
factor=1 quarantine=0
grep -q __asan_init "$BIN/lockscore" 2>/dev/null && factor=4 quarantine=$((512 * 1024))
under() {
	local lim=$(($2 * factor + ${3:-0}))
	if [ "$kb" -lt "$lim" ]; then ok 0 "$1: peak RSS $((kb / 1024)) MiB < $((lim / 1024)) MiB"; else
		ok 1 "$1: peak RSS $((kb / 1024)) MiB < $((lim / 1024)) MiB"; fi
}
# too_long NAME LIMIT LINE: exit 4, "<stdin>:LINE: line longer than LIMIT bytes", empty stdout
too_long() {
	if [ "$rc" = 4 ] && grep -q "<stdin>:$3: line longer than $2 bytes" "$tmp/err" && [ ! -s "$tmp/out" ]; then
		ok 0 "$1: exit 4, '<stdin>:$3: line longer than $2 bytes', nothing on stdout"
	else
		ok 1 "$1: exit 4, '<stdin>:$3: line longer than $2 bytes', nothing on stdout"
		diag "exit $rc, $(wc -c <"$tmp/out") bytes on stdout, stderr: $(head -c 500 "$tmp/err")"
	fi
}

# ---- a line over the limit, for every stage that reads records ----
{
	echo '{"kind":"source","v":1,"format":"sql","path":"x.sql","files":["x.sql"]}'
	echo '{"kind":"enum","v":1,"name":"public.e","values":["a"]}'
	python3 -c 'import json; print(json.dumps({"kind": "table", "v": 1, "name": "public.wide", "columns": [{"name": "c%d" % i, "type": "text", "nullable": True, "default": None, "identity": None, "generated": None} for i in range(200)], "primary_key": []}))'
} >"$tmp/long.ndjson"
declare -A stage=(
	[lockscore]="$BIN/lockscore $F/lockscore/soft_delete.sql"
	[schema2dag]="$BIN/schema2dag --sql $F/lockscore/shop.sql -"
	[mkrunbook]="$BIN/mkrunbook --review"
	[mkshadow]="$BIN/mkshadow --destroy"
	[applyexplain]="$BIN/applyexplain --shadow postgresql://nobody@127.0.0.1:1/none"
	[metricwatch]="$BIN/metricwatch --duration 1s"
)
for p in lockscore schema2dag mkrunbook mkshadow applyexplain metricwatch; do
	rc=0
	# shellcheck disable=SC2086
	MIGSAFE_MAX_LINE=1000 ${stage[$p]} <"$tmp/long.ndjson" >"$tmp/out" 2>"$tmp/err" || rc=$?
	too_long "$p, a 14 kB record with MIGSAFE_MAX_LINE=1000" 1000 3
done

# ---- a 1 GB line against the default limit (64 MiB): read no further ----
gigaline() { printf '{"kind":"x","v":1,"pad":"'; head -c 1073741824 /dev/zero | tr '\0' a; printf '"}\n'; }
measure "lockscore, a 1 GB line" "$BIN/lockscore" "$F/lockscore/soft_delete.sql" < <(gigaline 2>/dev/null) >"$tmp/out"
too_long "lockscore, a 1 GB line" 67108864 1
under "lockscore, a 1 GB line" $((400 * 1024))
# metricwatch reads stdin its own way (it keeps watching while records
# arrive), with the same limit
measure "metricwatch, a 1 GB line" "$BIN/metricwatch" --duration 1s < <(gigaline 2>/dev/null) >"$tmp/out"
too_long "metricwatch, a 1 GB line" 67108864 1
under "metricwatch, a 1 GB line" $((400 * 1024))

# ---- a wide schema: N tables, an FK chain, an index on every tenth ----
N=${MIGSAFE_LIMITS_TABLES:-100000}
python3 - "$N" >"$tmp/wide.sql" <<'EOF'
import sys
n = int(sys.argv[1])
for i in range(n):
    ref = "" if i == 0 else ", parent_id bigint REFERENCES t%d (id)" % (i - 1)
    print("CREATE TABLE t%d (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz DEFAULT now()%s);" % (i, ref))
    if i % 10 == 0:
        print("CREATE INDEX t%d_name ON t%d (name);" % (i, i))
EOF
measure "schema2dag, $N tables" "$BIN/schema2dag" --sql "$tmp/wide.sql" >"$tmp/wide.ndjson"
is "$rc:$(grep -c '"kind":"table"' "$tmp/wide.ndjson"):$(grep -c '"kind":"foreign_key"' "$tmp/wide.ndjson")" \
	"0:$N:$((N - 1))" "schema2dag, $N tables: every table and foreign key"
under "schema2dag, $N tables" $((N * 40 + 64 * 1024)) # 40 KiB a table, at most
echo "ALTER TABLE t$((N / 2)) ADD COLUMN x int; CREATE INDEX ON t$((N - 1)) (name);" >"$tmp/small.sql"
measure "lockscore, a $N-table DAG" "$BIN/lockscore" "$tmp/small.sql" <"$tmp/wide.ndjson" >"$tmp/out"
is "$rc:$(grep -c '"kind":"statement"' "$tmp/out"):$(grep -c '"kind":"table"' "$tmp/out")" "0:2:$N" \
	"lockscore, a $N-table DAG: the DAG forwarded, a record for each statement"
under "lockscore, a $N-table DAG" $((N * 20 + 64 * 1024))

# ---- a migration of 1,000,000 statements ----
# One transaction (the tool's): every statement's lock time depends on all
# the later ones, and every hundredth (REINDEX TABLE) has a finding whose
# message and severity wait for it. Statements and findings are spooled, then
# read back: peak memory is the same for 250,000 and 1,000,000 statements
# (the text is mapped, and dropped behind the reader).
million() {
	python3 -c '
import sys
w = sys.stdout.write
for i in range(int(sys.argv[1])):
    if i % 100 == 99:
        w("REINDEX TABLE orders;\n")
    else:
        w("UPDATE orders SET total_cents = total_cents WHERE id = %d;\n" % i)
' "$1"
}
million 250000 >"$tmp/quarter.sql"
measure "lockscore, 250,000 statements" "$BIN/lockscore" "$tmp/quarter.sql" <"$F/lockscore/shop-50m.ndjson" >"$tmp/out"
kb_quarter=$kb
million 1000000 >"$tmp/million.sql"
measure "lockscore, 1,000,000 statements" "$BIN/lockscore" "$tmp/million.sql" <"$F/lockscore/shop-50m.ndjson" >"$tmp/out"
is "$rc:$(grep -c '"kind":"statement"' "$tmp/out"):$(grep -c '"kind":"finding"' "$tmp/out"):$(grep -c '"kind":"risk"' "$tmp/out")" \
	"0:1000000:10001:1" "lockscore, 1,000,000 statements: a record for each, a finding for each REINDEX and one for the missing lock_timeout, one risk"
under "lockscore, 1,000,000 statements" $((64 * 1024)) "$quarantine"
# (under AddressSanitizer, its quarantine fills up with the run: allowed for)
if [ $((kb - kb_quarter)) -lt $((8 * 1024 * factor + quarantine)) ]; then
	ok 0 "lockscore: 4 times the statements, peak RSS $((kb_quarter / 1024)) -> $((kb / 1024)) MiB (bounded)"
else
	ok 1 "lockscore: 4 times the statements, peak RSS $((kb_quarter / 1024)) -> $((kb / 1024)) MiB (bounded)"
fi
is "$(grep -o '"kind":"statement","v":1,"migration":"[^"]*","index":[0-9]*' "$tmp/out" |
	awk -F'"index":' '$2 != NR - 1 { print "record " NR " has index " $2; exit } END { if (NR) print "in order" }')" \
	"in order" "lockscore, 1,000,000 statements: the statement records in order"
# the first statement holds its lock to the end of the transaction: the
# sum of every estimate; the last one only its own
first=$(grep -m1 '"kind":"statement"' "$tmp/out" | grep -o '"est_lock_ms":[0-9]*' | cut -d: -f2)
sum=$(grep '"kind":"statement"' "$tmp/out" | grep -o '"est_ms":[0-9]*' | awk -F: '{ s += $2 } END { printf "%d", s }')
last=$(grep '"kind":"statement"' "$tmp/out" | tail -n 1 | grep -o '"est_ms":[0-9]*,"est_lock_ms":[0-9]*')
ok $([ -n "$first" ] && [ $((first - sum)) -le 1000000 ] && [ $((sum - first)) -le 1000000 ] && echo 0 || echo 1) \
	"lockscore, 1,000,000 statements: the first statement's lock time ($first ms) is the sum of the estimates ($sum ms, +-1 per statement for rounding)"
is "$(echo "$last" | awk -F'[:,]' '{ print ($2 == $4) ? "own" : "not own" }')" "own" \
	"lockscore, 1,000,000 statements: the last statement holds its lock for its own time"
# the first REINDEX's ShareLock is held through every later statement
# (hours), the last one's only through its own rebuild (100 s)
first=$(grep -m1 '"rule":"reindex-non-concurrently"' "$tmp/out")
is "$(echo "$first" | grep -o '"severity":"[a-z]*"'):$(echo "$first" | grep -o 'blocks writes for about [0-9]* h [0-9]* min"' | sed 's/[0-9]* h [0-9]* min"/N h/')" \
	'"severity":"high":blocks writes for about N h' "lockscore, 1,000,000 statements: the first REINDEX blocks writes for hours, high"
is "$(grep '"kind":"finding"' "$tmp/out" | grep '"statement":999999,' | grep -o 'blocks writes for about [^"]*')" \
	"blocks writes for about 1 min 40 s" "lockscore, 1,000,000 statements: the last REINDEX only for its own rebuild"

# ---- statements and findings through temporary files ----
# MIGSAFE_SPOOL_MEM=0 sends every spool to a file at once: the golden
# lockscore cases must come out the same, in every format
MIGSAFE_SPOOL_MEM=0 GOLDEN_ONLY=lockscore bash "$MIGSAFE_ROOT/tests/golden.t" >"$tmp/golden" 2>&1 || true
n_ok=$(grep -c '^ok' "$tmp/golden" || true)
n_bad=$(grep -c '^not ok' "$tmp/golden" || true)
is "$n_bad:$([ "$n_ok" -ge 10 ] && echo enough)" "0:enough" \
	"lockscore, spooled to temporary files: the golden cases unchanged ($n_ok ok, $n_bad not ok)"
[ "$n_bad" = 0 ] || grep -A5 '^not ok' "$tmp/golden" | head -n 40 | while IFS= read -r l; do diag "  $l"; done

done_testing
