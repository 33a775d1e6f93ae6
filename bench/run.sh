#!/usr/bin/env bash
# bench/run.sh — each stage beside what a user would otherwise reach for, in
# one run, with ratios. Not a test: nothing here asserts a time.
#
#  1. schema2dag's offline replay of the largest migration history in the
#     corpus (trigger.dev, 820 Prisma migrations) against the database round
#     trip: psql applying the same files to a fresh PostgreSQL, then reading
#     the catalog back (schema2dag --db).
#  2. schema2dag reading the largest Prisma schema against Prisma's own
#     schema engine (Wasm, ../shared/oracles/prisma) producing its SQL.
#  3. lockscore vs squawk and the bare parse (bench/lockscore.sh)
#  4. mkshadow vs pg_dump | pg_restore and raw COPY (bench/mkshadow.sh)
#  5. applyexplain vs psql by hand (bench/applyexplain.sh)
# Each is the median of RUNS runs (default 5) of wall-clock time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=$root/../shared/corpus
bin=$root/bin
runs=${RUNS:-5}
work=$(mktemp -d)
url=""
cleanup() {
	[ -z "$url" ] || "$root/scripts/pg-tmp" stop "$url" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# median_ms CMD...: run CMD $runs times, print the median wall time in ms.
median_ms() {
	local i t0 t1 times=()
	for ((i = 0; i < runs; i++)); do
		t0=$(now_ms)
		"$@" >/dev/null
		t1=$(now_ms)
		times+=($((t1 - t0)))
	done
	printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b < 1) b = 1; printf "%.1f", a / b }'; }

history=$corpus/prisma/triggerdev/migrations
nmig=$(find "$history" -name migration.sql | wc -l)
url=$("$root/scripts/pg-tmp" start)
n=0
roundtrip() {
	n=$((n + 1))
	local db
	db=$("$root/scripts/pg-tmp" createdb "$url" "bench$n")
	for d in "$history"/*/; do
		[ -f "$d/migration.sql" ] && psql -X -q -v ON_ERROR_STOP=1 "$db" -f "$d/migration.sql" >/dev/null 2>&1
	done
	"$bin/schema2dag" --db "$db"
}
offline() { "$bin/schema2dag" --prisma-migrations "$history"; }

off_ms=$(median_ms offline)
rt_ms=$(median_ms roundtrip)

schema=$corpus/prisma/triggerdev/schema.prisma
oracle=$(bash "$root/../shared/oracles/prisma/setup.sh")
ours_ms=$(median_ms "$bin/schema2dag" --prisma "$schema")
prisma_ms=$(median_ms "$oracle" "$schema")

printf '%-64s %10s %10s %8s\n' "benchmark (median of $runs runs)" "migsafe" "peer" "ratio"
printf '%-64s %8sms %8sms %7sx\n' "replay $nmig trigger.dev migrations vs psql + introspect" \
	"$off_ms" "$rt_ms" "$(ratio "$rt_ms" "$off_ms")"
printf '%-64s %8sms %8sms %7sx\n' "read trigger.dev schema.prisma vs Prisma's engine to SQL" \
	"$ours_ms" "$prisma_ms" "$(ratio "$prisma_ms" "$ours_ms")"

# 3. lockscore on the whole SQL corpus (one file) beside squawk's native
#    binary and the bare libpg_query parse, and its memory as input grows:
#    its own table, from bench/lockscore.sh.
echo
RUNS=$runs bash "$root/bench/lockscore.sh"

# 4. mkshadow: a 5% masked, FK-closed shadow of the demo production beside
#    pg_dump | pg_restore of the whole database and raw COPY of the sample
#    (SHADOW_SCALE, default 0.1, about 110 MB; 1 is about 1.1 GB).
echo
SCALE=${SHADOW_SCALE:-0.1} bash "$root/bench/mkshadow.sh"

# 5. applyexplain: the whole measured run beside psql by hand and one psql
#    session applying the same migration.
echo
RUNS=$runs bash "$root/bench/applyexplain.sh"
