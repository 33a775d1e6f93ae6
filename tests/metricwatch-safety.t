#!/usr/bin/env bash
# metricwatch's safety rules against a real PostgreSQL 15:
#  - it deploys only what lockscore reviewed: --apply needs a risk record
#    whose digest matches the forward and rollback SQL (or --unreviewed);
#  - its lock_timeout holds whatever the migration or the rollback sets
#    (SET lock_timeout = 0, RESET ALL, set_config, SET LOCAL in a block):
#    set again before each statement, the change reported;
#  - it runs rollback SQL only for what it knows committed: following
#    another tool's backend, it cancels but never runs the rollback.
. "$(dirname "$0")/lib.sh"
set -u
need jq jq
need sha256sum coreutils
plan 32
pg_start
psql -qX "$PGURL" -v scale=1 -f "$MIGSAFE_ROOT/scripts/demo-db.sql" >/dev/null 2>&1 ||
	bail_out "cannot load scripts/demo-db.sql"
tmp=$(mktemp -d)
on_exit rm -rf "$tmp"
mw=$BIN/metricwatch
fast=(--interval 0.1 --baseline 0.2 --settle 0.3 --error-window 1)
PGBIN=/usr/lib/postgresql/15/bin

snapshot() { "$PGBIN/pg_dump" -s "$PGURL" | grep -v -e '^--' -e '^$' -e '^\\'; }
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
migration() { jq -nc --arg id "$1" --arg f "$2" --arg r "$3" '{kind:"migration",v:1,id:$id,forward:$f,rollback:$r}'; }
# risk ID FORWARD ROLLBACK: lockscore's risk record for what it reviewed
risk() {
	jq -nc --arg id "$1" --arg f "$(sha "$2")" --arg r "$(sha "$3")" \
		'{kind:"risk",v:1,migration:$id,level:"low",score:0,reasons:[],digest:{forward:$f,rollback:$r}}'
}
col() { psql -XAt "$PGURL" -c "SELECT count(*) FROM pg_attribute WHERE attrelid = '$1'::regclass AND attname = '$2' AND NOT attisdropped"; }
# hold SECONDS TABLE NAME: a session holding ACCESS SHARE on TABLE
hold() {
	PGAPPNAME=$3 psql -qX "$PGURL" -c "BEGIN; SELECT count(*) FROM $2; SELECT pg_sleep($1); COMMIT;" >/dev/null 2>&1 &
	for _ in $(seq 50); do
		[ "$(psql -XAt "$PGURL" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$3' AND state = 'active'")" = 1 ] && return
		sleep 0.1
	done
}
unhold() { psql -XAt "$PGURL" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '$1'" >/dev/null; }

# --- D. Deploy exactly what was reviewed ---
f1="ALTER TABLE products ADD COLUMN d1 int;"
r1="ALTER TABLE products DROP COLUMN d1;"
before=$(snapshot)
{ migration V1__d "ALTER TABLE products ADD COLUMN d1 int; DROP TABLE order_items;" "$r1"; risk V1__d "$f1" "$r1"; } |
	"$mw" --pg "$PGURL" --apply "${fast[@]}" >"$tmp/d1.out" 2>"$tmp/d1.err"
is "$?" 4 "digest: a forward edited after the review is refused (exit 4)"
grep -q 'migration V1__d: the forward SQL is not what was reviewed' "$tmp/d1.err"; ok $? "digest: the message names the migration and the forward SQL"
is "$(snapshot)" "$before" "digest: nothing ran on the server (schema unchanged)"
is "$(wc -c <"$tmp/d1.out" | tr -d ' ')" 0 "digest: nothing on stdout"
{ migration V1__d "$f1" "ALTER TABLE products DROP COLUMN d1 CASCADE;"; risk V1__d "$f1" "$r1"; } |
	"$mw" --pg "$PGURL" --apply "${fast[@]}" >/dev/null 2>"$tmp/d2.err"
is "$?" 4 "digest: an edited rollback is refused"
grep -q 'migration V1__d: the rollback SQL is not what was reviewed' "$tmp/d2.err"; ok $? "digest: ... naming the rollback SQL"
migration V1__d "$f1" "$r1" | "$mw" --pg "$PGURL" --apply "${fast[@]}" >/dev/null 2>"$tmp/d3.err"
is "$?" 4 "digest: no risk record for the migration: refused"
grep -q 'migration V1__d: no lockscore risk record' "$tmp/d3.err"; ok $? "digest: ... saying so"
{ migration V1__d "$f1" "$r1"; risk V1__d "$f1" "$r1"; risk V1__d "$f1" "$r1"; } |
	"$mw" --pg "$PGURL" --apply "${fast[@]}" >/dev/null 2>/dev/null
is "$?" 4 "digest: two risk records for one migration: refused"
is "$(col products d1)" 0 "digest: none of the refused runs applied the migration"
{ migration V1__d "$f1" "$r1"; risk V1__d "$f1" "$r1"; } |
	"$mw" --pg "$PGURL" --apply "${fast[@]}" >"$tmp/d4.out" 2>"$tmp/d4.err"
is "$?" 0 "digest: the reviewed migration is applied (exit 0)"
is "$(col products d1)" 1 "digest: ... and its column is there"
migration V2__d "ALTER TABLE products ADD COLUMN d2 int;" "" |
	"$mw" --pg "$PGURL" --apply --unreviewed "${fast[@]}" >"$tmp/d5.out" 2>"$tmp/d5.err"
is "$?" 0 "--unreviewed: applied without a review"
grep -q 'warning: --unreviewed: applying migration V2__d without checking it against a review' "$tmp/d5.err"
ok $? "--unreviewed: with a warning"
is "$(col products d2)" 1 "--unreviewed: the column is there"

# --- B. The migration switches metricwatch's lock_timeout off ---
# customers is held for the whole section; each forward switches the
# timeout off its own way, then needs the lock: it must fail after
# --lock-timeout 300ms, not wait for the holder.
hold 30 customers holder-b
n=0
for f in "SET lock_timeout = 0;" "RESET ALL;" "SELECT set_config('lock_timeout', '0', false);" \
	"SET SESSION AUTHORIZATION DEFAULT; SET lock_timeout = 0;"; do
	n=$((n + 1))
	fwd="$f ALTER TABLE customers ADD COLUMN b$n int;"
	{ migration "V3${n}__b" "$fwd" ""; risk "V3${n}__b" "$fwd" ""; } |
		timeout 20 "$mw" --pg "$PGURL" --apply --lock-timeout 300ms --lock-retries 0 --max-lock-wait 30 "${fast[@]}" \
			>"$tmp/b$n.out" 2>"$tmp/b$n.err"
	rc=$?
	record_out "$tmp/b$n.out"
	is "$rc/$(jq -r 'select(.event == "migration_failed") | .error' "$tmp/b$n.out")" \
		"3/ERROR:  canceling statement due to lock timeout" "timeouts: '$f' cannot switch off the lock_timeout (failed after 300ms)"
done
is "$(jq -r 'select(.event == "timeout_override") | [.phase, .statement, .lock_timeout] | @tsv' "$tmp/b1.out")" \
	"forward	1	0" "timeouts: the change is reported (timeout_override, statement 1)"
# SET LOCAL inside the file's own transaction block (statement mode)
printf -v fwd '%s\n' "BEGIN;" "SET LOCAL lock_timeout = 0;" "ALTER TABLE customers ADD COLUMN b9 int;" "COMMIT;"
{ migration V39__b "$fwd" ""; risk V39__b "$fwd" ""; } |
	timeout 20 "$mw" --pg "$PGURL" --apply --lock-timeout 300ms --lock-retries 0 --max-lock-wait 30 "${fast[@]}" \
		>"$tmp/b9.out" 2>"$tmp/b9.err"
is "$?/$(jq -r 'select(.event == "timeout_override") | .statement' "$tmp/b9.out")" 3/2 \
	"timeouts: SET LOCAL in the file's transaction block: reported, and the ALTER times out"
cancelled='^3/metricwatch cancelled the statement after (0\.[5-9]|1\.[0-9])s waiting for a lock'
# ... or within the statement that needs the lock (a DO block): metricwatch
# sees it wait past --lock-timeout and cancels it itself
fwd="DO \$\$BEGIN PERFORM set_config('lock_timeout', '0', false); EXECUTE 'ALTER TABLE customers ADD COLUMN b8 int'; END\$\$;"
{ migration V38__b "$fwd" ""; risk V38__b "$fwd" ""; } |
	timeout 20 "$mw" --pg "$PGURL" --apply --lock-timeout 300ms --lock-retries 0 --max-lock-wait 30 "${fast[@]}" \
		>"$tmp/b8.out" 2>"$tmp/b8.err"
echo "$?/$(jq -r 'select(.event == "migration_failed") | .error' "$tmp/b8.out")" | grep -qE "$cancelled"
ok $? "timeouts: a DO block that switches it off and waits is cancelled by metricwatch (within 2s)"
unhold holder-b
is "$(col customers b1)$(col customers b8)$(col customers b9)" 000 "timeouts: no forward got its lock"

# The rollback switches it off: the forward commits, then a session waits
# on the table past --max-lock-wait while the holder keeps the rollback's
# lock; the rollback must give up after --rollback-lock-timeout.
# rollback_switch N ROLLBACK: the forward commits, then a session waits on
# the table past --max-lock-wait while a holder keeps the rollback's lock;
# the rollback must give up after --rollback-lock-timeout 300ms.
rollback_switch() {
	local fwd="ALTER TABLE customers ADD COLUMN rb$1 int;" rbk=$2 rc
	{ migration "V4${1}__rb" "$fwd" "$rbk"; risk "V4${1}__rb" "$fwd" "$rbk"; } |
		timeout 30 "$mw" --pg "$PGURL" --apply --interval 0.1 --baseline 0.2 --settle 8 --error-window 1 \
			--max-lock-wait 0.3 --cooldown 0.3 --lock-retries 0 --rollback-lock-timeout 300ms \
			--auto-rollback --pitr-enabled >"$tmp/rb$1.out" 2>"$tmp/rb$1.err" &
	mw_pid=$!
	for _ in $(seq 100); do grep -q migration_done "$tmp/rb$1.out" 2>/dev/null && break; sleep 0.1; done
	hold 30 customers holder-rb
	PGAPPNAME=waiter-rb psql -qX "$PGURL" -c "BEGIN; LOCK TABLE customers IN ACCESS EXCLUSIVE MODE; COMMIT;" >/dev/null 2>&1 &
	wait "$mw_pid"
	rc=$?
	unhold holder-rb
	unhold waiter-rb
	record_out "$tmp/rb$1.out"
	echo "$rc/$(jq -r 'select(.event == "rollback_failed") | .error' "$tmp/rb$1.out")"
}
is "$(rollback_switch 1 "SET lock_timeout = 0; ALTER TABLE customers DROP COLUMN rb1;" | cut -c1-50)" \
	"3/ERROR:  canceling statement due to lock timeout" "timeouts: the rollback's SET lock_timeout = 0 does not hold: it fails after 300ms"
is "$(jq -r 'select(.event == "timeout_override") | [.phase, .statement] | @tsv' "$tmp/rb1.out")" "rollback	1" \
	"timeouts: the rollback's change is reported"
rollback_switch 2 "DO \$\$BEGIN PERFORM set_config('lock_timeout', '0', false); EXECUTE 'ALTER TABLE customers DROP COLUMN rb2'; END\$\$;" |
	grep -qE "$cancelled"
ok $? "timeouts: a rollback DO block that switches it off is cancelled by metricwatch (within 2s)"

# --- A. Following another tool's migration: never roll back blind ---
# The tool doubles every price in a transaction that waits; a session
# queues on a row it locked. metricwatch cancels the tool's backend, which
# undoes the doubling; running the rollback SQL would halve the prices.
sum() { psql -XAt "$PGURL" -c "SELECT sum(price_cents) FROM products"; }
p0=$(sum)
PGAPPNAME=deploy-tool psql -qX "$PGURL" -c "BEGIN; UPDATE products SET price_cents = price_cents * 2; SELECT pg_sleep(8); COMMIT;" \
	>/dev/null 2>&1 &
tool_pid=$!
sleep 0.3
psql -qX "$PGURL" -c "SET lock_timeout = '10s'; UPDATE products SET title = title WHERE id = 1" >/dev/null 2>&1 &
blocked_pid=$!
migration V50__prices "UPDATE products SET price_cents = price_cents * 2;" "UPDATE products SET price_cents = price_cents / 2;" |
	timeout 30 "$mw" --pg "$PGURL" --app-name deploy-tool --max-lock-wait 0.3 --cooldown 0.3 "${fast[@]}" \
		--auto-rollback --pitr-enabled >"$tmp/a.out" 2>"$tmp/a.err"
rc=$?
wait "$tool_pid" "$blocked_pid"
record_out "$tmp/a.out"
is "$rc" 3 "another tool's migration: exit 3 (a human decides)"
is "$(jq -r 'select(.kind == "watch" and (.event | startswith("rollback_"))) | .event' "$tmp/a.out" | paste -sd' ')" "rollback_started rollback_skipped" \
	"another tool's migration: the rollback is skipped"
is "$(jq -r 'select(.event == "rollback_skipped") | [.committed, .ran_rollback_sql, (.cancelled_pid > 0)] | @tsv' "$tmp/a.out")" \
	"unknown	false	true" "another tool's migration: cancelled; what committed is unknown, so no rollback SQL"
is "$(sum)" "$p0" "another tool's migration: the prices are as before (not halved)"

# A migration metricwatch ran whose connection is lost during COMMIT: a
# deferred trigger keeps the COMMIT busy (it shrugs off the cancel), so
# metricwatch terminates the backend. txid_status of the transaction id
# taken before COMMIT says it aborted: nothing to roll back, no SQL run.
psql -qX "$PGURL" >/dev/null 2>&1 <<'SQL' || bail_out "cannot create the slow-commit trigger"
CREATE TABLE slowcommit (id int);
CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	BEGIN PERFORM pg_sleep(5); EXCEPTION WHEN query_canceled THEN PERFORM pg_sleep(5); END;
	RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON slowcommit DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW EXECUTE FUNCTION slow_commit();
SQL
fwd="UPDATE products SET price_cents = price_cents * 2; INSERT INTO slowcommit VALUES (1);"
rbk="UPDATE products SET price_cents = price_cents / 2;"
{ migration V51__commit "$fwd" "$rbk"; risk V51__commit "$fwd" "$rbk"; } |
	timeout 30 "$mw" --pg "$PGURL" --apply --max-lock-wait 0.3 --cooldown 0.3 --cancel-timeout 0.3 "${fast[@]}" \
		--auto-rollback --pitr-enabled >"$tmp/c.out" 2>"$tmp/c.err" &
mw_pid=$!
for _ in $(seq 100); do grep -q migration_started "$tmp/c.out" 2>/dev/null && break; sleep 0.1; done
sleep 0.3
psql -qX "$PGURL" -c "SET lock_timeout = '10s'; UPDATE products SET title = title WHERE id = 1" >/dev/null 2>&1 &
blocked_pid=$!
wait "$mw_pid"
rc=$?
wait "$blocked_pid"
record_out "$tmp/c.out"
is "$rc/$(jq -r 'select(.event == "rollback_done") | [.committed, .txid_status, .ran_rollback_sql, .terminated] | @tsv' "$tmp/c.out")" \
	"1/none	aborted	false	true" "lost during COMMIT: txid_status says it aborted, so no rollback SQL"
is "$(sum)" "$p0" "lost during COMMIT: the prices are as before (not halved)"
done_testing
