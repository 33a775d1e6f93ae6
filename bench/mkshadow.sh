#!/usr/bin/env bash
# bench/mkshadow.sh — a 5% shadow of the demo production (scripts/demo-prod)
# against what a user would otherwise do, in one run, with ratios. Not a
# test: nothing here asserts a time.
#
#  1. mkshadow --from-db PROD --sample 5 (local provider: initdb, schema,
#     sample, closure, masking, indexes, constraints, ANALYZE), wall time,
#     the median of RUNS runs.
#  2. pg_dump -Fc PROD | pg_restore into a fresh throwaway cluster (cluster
#     start included, as mkshadow's is), wall time.
#  3. The raw COPY throughput of the sampled bytes: psql COPY (SELECT ...
#     TABLESAMPLE BERNOULLI (5) REPEATABLE (1)) TO STDOUT piped into psql
#     COPY FROM STDIN, table by table, into a schema-only copy with no
#     indexes, against mkshadow's own copying time (from the start of
#     copying until every row is in the shadow: timings.copy_ms of the
#     shadow record), as rows per second.
#
# Env: SCALE (demo-prod --scale, default 0.1, about 110 MB; SCALE=1 is
# about 1.1 GB, the issue's size), SAMPLE (default 5), RUNS (mkshadow runs,
# default 3), JOBS (mkshadow --jobs, default mkshadow's), DIR (mkshadow
# --dir; default mkshadow's choice). The restore's cluster is made where
# mkshadow made its own.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/bin
scale=${SCALE:-0.1}
sample=${SAMPLE:-5}
work=$(mktemp -d)
chmod 755 "$work"
servers=()
cleanup() {
	local u
	[ ! -s "$work/shadow.ndjson" ] || env -u TMPDIR "$bin/mkshadow" --destroy <"$work/shadow.ndjson" >/dev/null 2>&1 || true
	for u in "${servers[@]}"; do "$root/scripts/pg-tmp" stop "$u" >/dev/null 2>&1 || true; done
	rm -rf "$work"
}
trap cleanup EXIT
now_ms() { date +%s%3N; }
q() { psql -X -At -v ON_ERROR_STOP=1 "$@"; }

[ -x "$bin/mkshadow" ] || { echo "bench: build bin/mkshadow first (make bin/mkshadow)" >&2; exit 2; }

echo "bench: demo-prod --scale $scale ..." >&2
prod_server=$("$root/scripts/pg-tmp" start --port 5440)
servers+=("$prod_server")
prod=$("$root/scripts/pg-tmp" createdb "$prod_server" shop)
t0=$(now_ms)
"$root/scripts/demo-prod" --url "$prod" --scale "$scale" --no-workload >/dev/null
gen_ms=$(($(now_ms) - t0))
size=$(q "$prod" -c "SELECT pg_database_size(current_database())")
echo "bench: production is $((size / 1048576)) MB (generated in $((gen_ms / 1000)) s)" >&2

# 1. mkshadow, RUNS times (default 3); the run with the median wall time
# is the one reported (its phases and copying time too)
runs=${RUNS:-3}
: >"$work/runs"
for i in $(seq "$runs"); do
	t0=$(now_ms)
	env -u TMPDIR MIGSAFE_MASK_KEY=bench "$bin/mkshadow" --from-db "$prod" --sample "$sample" ${JOBS:+--jobs "$JOBS"} \
		${DIR:+--dir "$DIR"} </dev/null >"$work/shadow.ndjson"
	ms=$(($(now_ms) - t0))
	cp "$work/shadow.ndjson" "$work/run$i.ndjson"
	echo "$ms $i" >>"$work/runs"
	echo "bench: mkshadow run $i: $ms ms" >&2
	[ "$i" = "$runs" ] || { env -u TMPDIR "$bin/mkshadow" --destroy <"$work/shadow.ndjson" >/dev/null; : >"$work/shadow.ndjson"; }
done
read -r mk_ms median < <(sort -n "$work/runs" | sed -n "$(((runs + 1) / 2))p")
all_ms=$(sort -n "$work/runs" | cut -d' ' -f1 | paste -sd' ')
# copying time: from the start of copying (which overlaps the shadow's
# creation) until every row is in the shadow; older records: the sample
# and closure phases
copy_ms=$(jq -s '(.[] | select(.kind == "shadow") | .timings | select(. != null) | .copy_ms // (.sample_ms + .closure_ms))
	// ([.[] | select(.kind == "sample") | .ms] | add)' "$work/run$median.ndjson")
phases=$(jq -r 'select(.kind == "shadow") | .timings | select(. != null) |
	"create \(.create_ms) ms, schema \(.schema_ms), sample \(.sample_ms), closure \(.closure_ms) (\(.closure_rounds) rounds), all rows in \(.copy_ms), indexes and constraints \(.post_data_ms), ANALYZE \(.analyze_ms); --jobs \(.jobs)"' "$work/run$median.ndjson")
mk_rows=$(jq -s '[.[] | select(.kind == "sample") | .rows] | add' "$work/shadow.ndjson")
mk_sampled=$(jq -s '[.[] | select(.kind == "sample") | .sampled_rows] | add' "$work/shadow.ndjson")
shadow=$(jq -r 'select(.kind == "shadow") | .url' "$work/shadow.ndjson")
shadow_size=$(q "$shadow" -c "SELECT pg_database_size(current_database())")
# where mkshadow put its cluster (its default: /dev/shm when that is a tmpfs
# with room); the restore's cluster goes in the same place, so the two
# compare methods, not disks
where=$(dirname "$(jq -r 'select(.kind == "shadow") | .destroy.dir' "$work/shadow.ndjson")")
env -u TMPDIR "$bin/mkshadow" --destroy <"$work/shadow.ndjson" >/dev/null
: >"$work/shadow.ndjson"

# 2. pg_dump | pg_restore of the whole database into a fresh cluster
t0=$(now_ms)
restore_server=$(TMPDIR=$where "$root/scripts/pg-tmp" start --port 5441)
servers+=("$restore_server")
restore=$("$root/scripts/pg-tmp" createdb "$restore_server" shop)
pg_dump -Fc "$prod" | pg_restore --no-owner -d "$restore"
dump_ms=$(($(now_ms) - t0))

# 3. raw COPY of the same sample, table by table, into a schema-only copy
rawdb=$("$root/scripts/pg-tmp" createdb "$restore_server" raw)
pg_dump --schema-only --section=pre-data "$prod" | grep -v '^\\' | q "$rawdb" >/dev/null
raw_rows=0
t0=$(now_ms)
for t in $(q "$prod" -c "SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables ORDER BY 1"); do
	cols=$(q "$prod" -c "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
		WHERE attrelid = '$t'::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''")
	n=$(psql -X -q "$prod" -c "COPY (SELECT $cols FROM ONLY $t TABLESAMPLE BERNOULLI ($sample) REPEATABLE (1)) TO STDOUT" |
		tee >(psql -X -q -v ON_ERROR_STOP=1 "$rawdb" -c "COPY $t ($cols) FROM STDIN") | wc -l)
	raw_rows=$((raw_rows + n))
done
raw_ms=$(($(now_ms) - t0))

awk -v size="$size" -v ssize="$shadow_size" -v mk="$mk_ms" -v copy="$copy_ms" -v rows="$mk_rows" \
	-v sampled="$mk_sampled" -v runs="$runs" -v all="$all_ms" -v phases="$phases" -v where="$where" -v dump="$dump_ms" -v raw="$raw_ms" -v rawrows="$raw_rows" -v pct="$sample" 'BEGIN {
	printf "production %.0f MB; %s%% shadow %.0f MB (%d sampled rows, %d with FK closure)\n", size / 1048576, pct, ssize / 1048576, sampled, rows
	printf "both clusters in %s\n", where
	printf "%-44s %10.1f s (median of %d: %s ms)\n", "mkshadow (whole run, cluster included)", mk / 1000, runs, all
	if (phases != "") printf "  phases: %s\n", phases
	printf "%-44s %10.1f s\n", "pg_dump -Fc | pg_restore (cluster included)", dump / 1000
	printf "%-44s %10.1fx faster (target >= 10x)\n", "mkshadow vs dump and restore", dump / mk
	printf "%-44s %10.0f rows/s (%d rows, %.1f s)\n", "raw COPY of the sample (psql | psql)", rawrows / (raw / 1000), rawrows, raw / 1000
	printf "%-44s %10.0f rows/s (%d rows, %.1f s)\n", "mkshadow copying (until all rows are in, wall)", rows / (copy / 1000), rows, copy / 1000
	printf "%-44s %10.2f (target >= 0.5)\n", "mkshadow / raw COPY throughput", (rows / copy) / (rawrows / raw)
}'
