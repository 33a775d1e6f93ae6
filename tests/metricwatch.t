#!/usr/bin/env bash
# metricwatch against a real PostgreSQL 15 under a pgbench workload: a
# migration stuck behind a long transaction is cancelled and rolled back
# (schema identical to before, workload recovers); a migration whose first
# part committed has exactly that part rolled back (and, when its rollback
# does not map onto the forward, nothing); quiet migrations end in
# all_clear; a spike shorter than the cooldown is not acted on; without
# --pitr-enabled it only alerts and never touches the database.
. "$(dirname "$0")/lib.sh"
set -u
need jq jq
PGBIN=/usr/lib/postgresql/15/bin
need "$PGBIN/pgbench" postgresql-15
plan 31
pg_start
psql -qX "$PGURL" -v scale=1 -f "$MIGSAFE_ROOT/scripts/demo-db.sql" >/dev/null 2>&1 ||
	bail_out "cannot load scripts/demo-db.sql"
tmp=$(mktemp -d)
on_exit rm -rf "$tmp"
mw=$BIN/metricwatch
fast=(--interval 0.1 --baseline 0.3 --settle 0.5 --error-window 1)

snapshot() { "$PGBIN/pg_dump" -s "$PGURL" | grep -v -e '^--' -e '^$' -e '^\\'; }
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
# mig ID FORWARD ROLLBACK: the migration record and lockscore's risk record
# for it, whose digest --apply checks
# mig ID FORWARD ROLLBACK [ROLLBACK_OF]: a migration record (ROLLBACK_OF: the
# JSON array nl2mig gives, which forward statement each rollback statement
# undoes) and the review's risk record with its digests
mig() {
	jq -nc --arg id "$1" --arg f "$2" --arg r "$3" --argjson of "${4:-null}" \
		'{kind:"migration",v:1,id:$id,forward:$f,rollback:$r,rollback_of:$of}'
	jq -nc --arg id "$1" --arg f "$(sha "$2")" --arg r "$(sha "$3")" \
		'{kind:"risk",v:1,migration:$id,level:"low",score:0,reasons:[],digest:{forward:$f,rollback:$r}}'
}
events() { jq -r 'select(.kind == "watch" and .event != "sample") | .event' "$1" | paste -sd' '; }
# workload SECONDS TABLE: 4 clients reading TABLE, progress every second
workload() {
	printf '\\set id random(1, 2000)\nSELECT 1 FROM %s WHERE id = :id;\n' "$2" >"$tmp/wl-$2.sql"
	"$PGBIN/pgbench" -n -c 4 -T "$1" -P 1 -f "$tmp/wl-$2.sql" "$PGURL" >"$tmp/pgbench.out" 2>&1 &
	wl_pid=$!
}
# hold SECONDS TABLE: a long transaction that read TABLE (ACCESS SHARE)
hold() { psql -qX "$PGURL" -c "BEGIN; SELECT count(*) FROM $2; SELECT pg_sleep($1); COMMIT;" >/dev/null 2>&1 & }

# 1. ACCESS EXCLUSIVE on orders queued behind a long transaction: the
# workload queues behind the migration; metricwatch cancels it.
before=$(snapshot)
workload 6 orders
sleep 0.5
hold 5 orders
sleep 0.3
mig V10__note "ALTER TABLE orders ADD COLUMN note text;" "ALTER TABLE orders DROP COLUMN note;" |
	"$mw" --pg "$PGURL" --apply --lock-timeout 20s --max-lock-wait 0.5 --cooldown 1 "${fast[@]}" \
		--auto-rollback --pitr-enabled >"$tmp/1.out" 2>"$tmp/1.err"
rc=$?
wait "$wl_pid"
record_out "$tmp/1.out"
is "$rc" 1 "contention: exit 1 (rolled back)"
is "$(events "$tmp/1.out")" "migration_started breach cooldown rollback_started rollback_done" "contention: breach, sustained, rollback"
is "$(jq -r 'select(.event == "rollback_done") | [.committed, .ran_rollback_sql, .terminated] | @tsv' "$tmp/1.out")" \
	"none	false	false" "the migration was cancelled before it committed: PostgreSQL undid it, no SQL needed"
is "$(jq -r 'select(.event == "cooldown") | [.metric, .outcome, .action] | @tsv' "$tmp/1.out")" \
	"lock_wait_s	sustained	rollback" "the lock wait outlasted the cooldown"
is "$(snapshot)" "$before" "schema identical to before"
b2d=$(jq -r 'select(.event == "rollback_done") | .breach_to_done_s' "$tmp/1.out")
diag "contention: breach to rollback done: ${b2d}s (cooldown 1s)"
tail_tps=$(grep '^progress' "$tmp/pgbench.out" | tail -1 | awk '{print int($4)}')
ok $(( tail_tps > 0 ? 0 : 1 )) "the workload recovers ($tail_tps tps in its last second)"
n_wait=$(jq -s 'map(select(.event == "sample" and .metric == "lock_wait_s") | .labels.waiting) | max' "$tmp/1.out")
ok $(( n_wait >= 2 ? 0 : 1 )) "the workload was really queued behind the migration ($n_wait sessions waiting)"

# 2. A migration whose first statement committed (CREATE INDEX CONCURRENTLY
# runs outside a transaction) and whose second transaction is held: only the
# rollback statements that undo what committed run (rollback_of, as nl2mig
# computes it); without rollback_of (a rollback written by hand) which to
# run is unknown: nothing runs, rollback_skipped.
printf -v fwd '%s\n' "CREATE INDEX CONCURRENTLY orders_created_at_idx ON orders (created_at);" \
	"BEGIN;" "ALTER TABLE orders ADD COLUMN note text;" "SELECT pg_sleep(20);" "COMMIT;"
printf -v rbk '%s\n' "ALTER TABLE orders DROP COLUMN note;" "DROP INDEX orders_created_at_idx;"
partial() {
	workload 5 orders
	sleep 0.3
	mig V11__partial "$fwd" "$rbk" "$2" |
		"$mw" --pg "$PGURL" --apply --max-lock-wait 0.5 --cooldown 0.5 "${fast[@]}" \
			--auto-rollback --pitr-enabled >"$tmp/$1.out" 2>"$tmp/$1.err"
	rc=$?
	wait "$wl_pid"
	record_out "$tmp/$1.out"
}
before=$(snapshot)
partial 2 '[2, 0]'
is "$rc" 1 "partial: exit 1"
is "$(jq -r 'select(.event == "rollback_done") | [.committed, .ran_rollback_sql, .mode, (.skipped | length), (.rollback_statements | tostring)] | @tsv' "$tmp/2.out")" \
	"part	true	transaction	0	[1]" "only what committed is rolled back: the index's DROP, not the column's"
is "$(snapshot)" "$before" "partial: schema identical to before (index dropped)"
is "$(jq -r 'select(.event == "migration_started") | .mode' "$tmp/2.out")" statements "CONCURRENTLY: run statement by statement"
partial 2b null
is "$rc:$(jq -r 'select(.event == "rollback_skipped") | [.committed, .ran_rollback_sql] | @tsv' "$tmp/2b.out")" "3:part	false" \
	"partial, with a rollback written by hand: which statements undo what committed is unknown, nothing run (exit 3)"
is "$(psql -qtAX "$PGURL" -c "SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_created_at_idx'")" 1 \
	"... the committed index is left for a human"
psql -qX "$PGURL" -c "DROP INDEX orders_created_at_idx" >/dev/null
is "$(snapshot)" "$before" "... and nothing else changed"

# 3. Quiet migrations, repeated: all_clear, never a rollback.
falses=0 clears=0
for i in 1 2 3; do
	mig "V2${i}__quiet" "ALTER TABLE products ADD COLUMN q$i int;" "ALTER TABLE products DROP COLUMN q$i;" |
		"$mw" --pg "$PGURL" --apply --max-lock-wait 0.5 --cooldown 0.5 "${fast[@]}" \
			--auto-rollback --pitr-enabled >"$tmp/3.out" 2>"$tmp/3.err"
	rc=$?
	[ "$rc" = 0 ] && grep -q '"event":"all_clear"' "$tmp/3.out" && clears=$((clears + 1))
	grep -q rollback_started "$tmp/3.out" && falses=$((falses + 1))
done
record_out "$tmp/3.out"
is "$clears" 3 "quiet: all_clear and exit 0 in 3 of 3 runs"
is "$falses" 0 "quiet: zero false rollbacks"
is "$(psql -XAt "$PGURL" -c "SELECT count(*) FROM pg_attribute WHERE attrelid = 'products'::regclass AND attname ~ '^q[123]$'")" 3 \
	"quiet: the migrations stayed applied"
is "$(jq -r 'select(.event == "sample" and .baseline) | .metric' "$tmp/3.out" | sort -u | paste -sd' ')" "error_rate lock_wait_s" \
	"samples are taken during the baseline"

# 4. A spike shorter than the cooldown: a 1.2 s lock queue, cooldown 4 s.
workload 4 products
sleep 0.3
hold 1.2 products
sleep 0.2
mig V30__spike "ALTER TABLE products ADD COLUMN spike int;" "ALTER TABLE products DROP COLUMN spike;" |
	"$mw" --pg "$PGURL" --apply --lock-timeout 20s --max-lock-wait 0.3 --cooldown 4 "${fast[@]}" \
		--auto-rollback --pitr-enabled >"$tmp/4.out" 2>"$tmp/4.err"
rc=$?
wait "$wl_pid"
record_out "$tmp/4.out"
is "$rc" 0 "spike: exit 0"
is "$(jq -r 'select(.event == "cooldown") | .outcome' "$tmp/4.out" | sort -u)" recovered "spike: the breach recovered within the cooldown"
ok $(grep -q rollback_started "$tmp/4.out"; echo $(( $? == 0 ))) "spike: no rollback"
is "$(psql -XAt "$PGURL" -c "SELECT count(*) FROM pg_attribute WHERE attrelid = 'products'::regclass AND attname = 'spike'")" 1 \
	"spike: the migration stayed"

# 5. Without --pitr-enabled: another tool runs the migration (found by its
# application_name); metricwatch alerts and never touches the database.
workload 5 orders
sleep 0.3
PGAPPNAME=deploy-tool psql -qX "$PGURL" -c "BEGIN; ALTER TABLE orders ADD COLUMN ext text; SELECT pg_sleep(2.5); COMMIT;" \
	>"$tmp/ext.out" 2>&1 &
ext_pid=$!
mig V40__ext "ALTER TABLE orders ADD COLUMN ext text;" "ALTER TABLE orders DROP COLUMN ext;" |
	"$mw" --pg "$PGURL" --app-name deploy-tool --max-lock-wait 0.3 --cooldown 0.5 "${fast[@]}" \
		--auto-rollback >"$tmp/5.out" 2>"$tmp/5.err"
rc=$?
wait "$ext_pid"
ext_rc=$?
wait "$wl_pid"
record_out "$tmp/5.out"
is "$rc" 1 "no PITR: exit 1 (a breach outlasted the cooldown)"
is "$(jq -r 'select(.event == "cooldown" and .outcome == "sustained") | .action' "$tmp/5.out" | head -1)" alert_only "no PITR: alert only"
ok $(grep -qE 'rollback_(started|done)' "$tmp/5.out"; echo $(( $? == 0 ))) "no PITR: no rollback"
is "$ext_rc" 0 "no PITR: the migration was not cancelled"
is "$(psql -XAt "$PGURL" -c "SELECT count(*) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'ext'")" 1 \
	"no PITR: the migration committed, nothing rolled back"
is "$(jq -r 'select(.event == "sample" and .metric == "lock_wait_s" and .labels.migration_pid) | .labels.migration_pid' "$tmp/5.out" | sort -u | wc -l | tr -d ' ')" 1 \
	"the migration's backend was found by application_name"

# 6. Lock retries: a lock_timeout rolls the attempt back and tries again.
hold 1.5 customers
sleep 0.3
mig V50__retry "ALTER TABLE customers ADD COLUMN r int;" "ALTER TABLE customers DROP COLUMN r;" |
	"$mw" --pg "$PGURL" --apply --lock-timeout 200ms --retry-backoff 300ms --lock-retries 10 \
		--max-lock-wait 5 "${fast[@]}" >"$tmp/6.out" 2>"$tmp/6.err"
rc=$?
record_out "$tmp/6.out"
is "$rc" 0 "lock retries: exit 0"
n=$(grep -c '"event":"migration_retry"' "$tmp/6.out")
ok $(( n >= 1 ? 0 : 1 )) "lock retries: $n retries after lock_timeout, then done"
is "$(jq -r 'select(.event == "migration_done") | .event' "$tmp/6.out")" migration_done "lock retries: the migration is applied"
done_testing
