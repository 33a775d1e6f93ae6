#!/usr/bin/env bash
# bench/applyexplain.sh — applyexplain's whole run beside what a user would
# otherwise do by hand. Not a test: nothing here asserts a time; it prints
# what it measured, with the target beside it.
#
# Data: scripts/demo-db.sql at SCALE (default 1, the demo's default: 2,000
# customers, 20,000 orders, 60,000 order items) is "production"; the shadow is
# a 5% sample of it (every 20th customer with their orders and items, every
# product), marked as a shadow, with `sample` records giving both row counts.
# Migration: 10 statements on orders, customers, order_items and products
# (ADD COLUMN, CREATE INDEX, a backfill UPDATE, int to bigint, a CHECK added
# NOT VALID then validated, a partial index), with its rollback. Queries:
# tests/fixtures/applyexplain/queries.sql.
#
#   applyexplain: plans before, the traced forward run with blocking probes,
#                 plans after, rollback, catalog diff, forward again
#   by hand:      psql EXPLAIN (ANALYZE, BUFFERS) of each query, psql -1 -f
#                 forward, the EXPLAINs again, psql -1 -f rollback, psql -1 -f
#                 forward (the same work, with no locks, probes or diff read)
#   one session:  the same SQL in a single psql session: the floor, and the
#                 ratio that shows applyexplain's own overhead
#
# Each run starts from a fresh clone of the shadow (the clone is not timed;
# runs reuse the names s1..sRUNS, dropped first).
# Times are the median of RUNS runs (default 5) of wall-clock time.
# Env: RUNS, SCALE.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export MIGSAFE_SEAL_KEY=${MIGSAFE_SEAL_KEY:-migsafe-bench-seal-key} # the shadows it seals itself
bin=$root/bin
runs=${RUNS:-5}
scale=${SCALE:-1}
queries=$root/tests/fixtures/applyexplain/queries.sql
work=$(mktemp -d)
url=""
cleanup() {
	[ -z "$url" ] || "$root/scripts/pg-tmp" stop "$url" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

die() { echo "applyexplain.sh: $*" >&2; exit 1; }
[ -x "$bin/applyexplain" ] || die "$bin/applyexplain not built: run make in $root"

now_ms() { date +%s%3N; }
url_of() { echo "$url" | sed "s|/postgres?|/$1?|"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b < 1) b = 1; printf "%.1f", a / b }'; }
median() { sort -n | sed -n "$(((runs + 1) / 2))p"; }

url=$("$root/scripts/pg-tmp" start)
psql -qX "$url" -c "CREATE DATABASE prod" -c "CREATE DATABASE shadow_tpl" >/dev/null
psql -qX -v ON_ERROR_STOP=1 -v scale="$scale" "$(url_of prod)" -f "$root/scripts/demo-db.sql" >/dev/null
psql -qX -v ON_ERROR_STOP=1 -v scale="$scale" "$(url_of shadow_tpl)" -f "$root/scripts/demo-db.sql" >/dev/null
psql -qX -v ON_ERROR_STOP=1 "$(url_of shadow_tpl)" \
	-c "DELETE FROM customers WHERE id % 20 <> 0" -c "VACUUM ANALYZE" >/dev/null

# the stream mkshadow would write: sample records, then the migration
samples() {
	local t p s
	for t in customers orders order_items products; do
		p=$(psql -XAtq "$(url_of prod)" -c "SELECT count(*) FROM $t")
		s=$(psql -XAtq "$(url_of shadow_tpl)" -c "SELECT count(*) FROM $t")
		jq -cn --arg t "public.$t" --argjson p "$p" --argjson s "$s" \
			'{kind:"sample",v:1,table:$t,source_rows:$p,rows:$s,masked_columns:[],ms:0}'
	done
}
cat >"$work/forward.sql" <<'EOF'
SET lock_timeout = '2s';
ALTER TABLE orders ADD COLUMN soft_delete boolean NOT NULL DEFAULT false;
ALTER TABLE orders ADD COLUMN shipped_at timestamptz;
CREATE INDEX orders_created_at_idx ON orders (created_at);
ALTER TABLE customers ADD COLUMN tier text DEFAULT 'basic';
UPDATE customers SET tier = 'gold' WHERE id % 7 = 0;
ALTER TABLE order_items ALTER COLUMN quantity TYPE bigint;
ALTER TABLE products ADD CONSTRAINT products_title_len CHECK (length(title) < 200) NOT VALID;
ALTER TABLE products VALIDATE CONSTRAINT products_title_len;
CREATE INDEX orders_pending_idx ON orders (created_at) WHERE status = 'pending';
EOF
cat >"$work/rollback.sql" <<'EOF'
DROP INDEX orders_pending_idx;
ALTER TABLE products DROP CONSTRAINT products_title_len;
ALTER TABLE order_items ALTER COLUMN quantity TYPE integer;
ALTER TABLE customers DROP COLUMN tier;
DROP INDEX orders_created_at_idx;
ALTER TABLE orders DROP COLUMN shipped_at;
ALTER TABLE orders DROP COLUMN soft_delete;
EOF
samples >"$work/samples.ndjson"

n=0
clone() {
	n=$((n + 1))
	PGOPTIONS="-c client_min_messages=warning" psql -qX "$url" -c "DROP DATABASE IF EXISTS s$n" \
		-c "CREATE DATABASE s$n TEMPLATE shadow_tpl" >/dev/null
	# sealed as mkshadow seals a shadow (applyexplain checks the seal)
	local sysid mark
	sysid=$(psql -XAtq "$url" -c "SELECT system_identifier FROM pg_control_system()")
	mark=$("$root/tests/seal-mark" "$sysid" "s$n")
	printf '%s\n' "COMMENT ON DATABASE s$n IS :'mark';" | psql -XAtq -v ON_ERROR_STOP=1 -v mark="$mark" "$url" >/dev/null
	S=$(url_of "s$n")
	{
		jq -cn --arg url "$S" '{kind:"shadow",v:1,url:$url,provider:"local",sample_percent:5,masked:[]}'
		cat "$work/samples.ndjson"
		jq -cn --rawfile f "$work/forward.sql" --rawfile r "$work/rollback.sql" \
			'{kind:"migration",v:1,id:"V5__bench",forward:$f,rollback:$r}'
	} >"$work/in.ndjson"
}
tool() { "$bin/applyexplain" --queries "$queries" <"$work/in.ndjson" >"$work/out.ndjson" || die "applyexplain failed"; }
explain_all() {
	grep -v '^--' "$queries" | while IFS= read -r q; do
		# psql cannot bind $n: the user types a value in by hand
		q=${q//\$1/\'1\'}
		psql -XAtq "$S" -c "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) $q" >/dev/null 2>&1 || true
	done
}
by_hand() {
	explain_all
	psql -X -q -1 -v ON_ERROR_STOP=1 "$S" -f "$work/forward.sql" >/dev/null || die "psql forward failed"
	explain_all
	psql -X -q -1 -v ON_ERROR_STOP=1 "$S" -f "$work/rollback.sql" >/dev/null || die "psql rollback failed"
	psql -X -q -1 -v ON_ERROR_STOP=1 "$S" -f "$work/forward.sql" >/dev/null || die "psql forward again failed"
}
# the floor: the same work in one psql session (no process start per step)
one_session() {
	{
		grep -v '^--' "$queries" | sed "s/\$1/'1'/; s/^/EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) /"
		echo "BEGIN;"; echo "\\i $work/forward.sql"; echo "COMMIT;"
		grep -v '^--' "$queries" | sed "s/\$1/'1'/; s/^/EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) /"
		echo "BEGIN;"; echo "\\i $work/rollback.sql"; echo "COMMIT;"
		echo "BEGIN;"; echo "\\i $work/forward.sql"; echo "COMMIT;"
	} >"$work/session.sql"
	psql -X -q -v ON_ERROR_STOP=1 "$S" -f "$work/session.sql" >/dev/null || die "one psql session failed"
}
time_one() {
	local t0
	clone
	t0=$(now_ms)
	"$@"
	echo $(($(now_ms) - t0))
}

tool_ms=$(for ((i = 0; i < runs; i++)); do time_one tool; done | median)
hand_ms=$(for ((i = 0; i < runs; i++)); do time_one by_hand; done | median)
session_ms=$(for ((i = 0; i < runs; i++)); do time_one one_session; done | median)
clone_ms=$(for ((i = 0; i < runs; i++)); do t0=$(now_ms); clone; echo $(($(now_ms) - t0)); done | median)

clone
tool
ntrace=$(jq -s '[.[] | select(.kind == "trace")] | length' "$work/out.ndjson")
nplan=$(jq -s '[.[] | select(.kind == "plan")] | length' "$work/out.ndjson")
nprobe=$(jq -s '[.[] | select(.kind == "trace") | .probes[]?] | length' "$work/out.ndjson")
rb=$(jq -c 'select(.kind == "rollback_check") | .ok' "$work/out.ndjson")
shadow_rows=$(psql -XAtq "$(url_of shadow_tpl)" -c "SELECT (SELECT count(*) FROM orders) || ' orders, ' || (SELECT count(*) FROM order_items) || ' order items'")

echo "applyexplain bench: demo scale $scale, 5% shadow ($shadow_rows), 10-statement migration, $(nproc) cores, median of $runs"
printf '  %-72s %8s ms\n' "applyexplain (plans, $ntrace traces, $nprobe probes, $nplan plans, rollback_check ok=$rb)" "$tool_ms"
printf '  %-72s %8s ms\n' "by hand (psql EXPLAINs, forward, EXPLAINs, rollback, forward)" "$hand_ms"
printf '  %-72s %8s ms\n' "the same work in one psql session (the floor)" "$session_ms"
printf '  %-72s %8s ms\n' "clone of the shadow (not counted above)" "$clone_ms"
echo "  ratio applyexplain / by hand: $(ratio "$tool_ms" "$hand_ms")x; applyexplain / one session: $(ratio "$tool_ms" "$session_ms")x"
echo "  target: the whole run under 30000 ms on 2 cores"
echo "  slowest traced statements (shadow ms, blocked write ms, est. production ms):"
jq -r 'select(.kind == "trace") | [.ms, .blocked_write_ms, .est_ms, (.sql | .[0:60])] | @tsv' "$work/out.ndjson" |
	sort -rn | head -3 | sed 's/^/    /'
