#!/usr/bin/env bash
# locks-escapes.t — what lockscore must not miss around the lock model:
#  A. a migration (forward or rollback) that switches the deploy's timeouts
#     off, changes role or search_path, uses two-phase commit or ends the
#     deploy's transaction gets a finding, and never scores lower than one
#     that never sets a timeout;
#  B. DML nested in another statement (data-modifying WITH, CREATE TABLE AS,
#     EXPLAIN ANALYZE, COPY (...) TO, MERGE, ON CONFLICT DO UPDATE) takes the
#     locks and gets the findings of the plain statement (the locks are also
#     checked against pg_locks: tests/locks/cases.sql, section "DML wherever
#     it appears", run by locks.t);
#  C. the risk record carries the SHA-256 of the forward and rollback SQL.
. "$(dirname "$0")/lib.sh"
set -u
need jq jq
need sha256sum coreutils
need_bin schema2dag lockscore
work=$(mktemp -d)
on_exit rm -rf "$work"
"$BIN/schema2dag" --sql "$MIGSAFE_ROOT/tests/locks/setup.sql" >"$work/dag.ndjson" 2>/dev/null ||
	bail_out "schema2dag cannot read tests/locks/setup.sql"

# review SQL [lockscore options]: the records of one migration file in $work/out
review() {
	local sql=$1
	shift
	printf '%s\n' "$sql" >"$work/m.sql"
	"$BIN/lockscore" "$@" "$work/m.sql" <"$work/dag.ndjson" >"$work/out" 2>"$work/err" ||
		diag "lockscore: $(cat "$work/err")"
	record_out "$work/out"
}
score() { jq -r 'select(.kind == "risk") | .score' "$work/out"; }
rules_at() { jq -r --arg s "$1" 'select(.kind == "finding" and .severity == $s) | .rule' "$work/out" | sort -u | tr '\n' ' '; }
locks() { jq -r 'select(.kind == "statement") | .locks[] | "\(.table)=\(.mode)"' "$work/out" | sort -u | tr '\n' ' '; }
findings() { jq -r 'select(.kind == "finding") | "\(.rule) \(.severity) \(.message)"' "$work/out" | sort; }

# ---- A: escapes from the deploy's session and transaction ----
alter='ALTER TABLE orders ADD COLUMN x int;'
review "$alter"
base=$(score)
# form<TAB>severity<TAB>rule
escapes=$(
	cat <<'EOF'
SET lock_timeout = 0;	high	timeout-disabled
SET lock_timeout = '0';	high	timeout-disabled
SET LOCAL lock_timeout TO DEFAULT;	high	timeout-disabled
SET SESSION lock_timeout = '1h';	high	timeout-disabled
RESET lock_timeout;	high	timeout-disabled
RESET ALL;	high	timeout-disabled
DISCARD ALL;	high	timeout-disabled
SET statement_timeout = 0;	high	timeout-disabled
RESET statement_timeout;	high	timeout-disabled
SET idle_in_transaction_session_timeout = DEFAULT;	high	timeout-disabled
SELECT set_config('lock_timeout', '0', false);	high	timeout-disabled
SELECT 1 WHERE set_config('statement_timeout', '0', true) IS NOT NULL;	high	timeout-disabled
UPDATE orders SET note = set_config('lock_timeout', '0', true) WHERE id = 1;	high	timeout-disabled
SELECT set_config(current_setting('app.name'), '0', false);	high	timeout-disabled
ALTER ROLE CURRENT_USER SET lock_timeout = 0;	high	timeout-disabled
ALTER DATABASE postgres SET statement_timeout = DEFAULT;	high	timeout-disabled
SET ROLE nobody;	high	session-role-change
SET SESSION AUTHORIZATION nobody;	high	session-role-change
SELECT set_config('role', 'nobody', false);	high	session-role-change
PREPARE TRANSACTION 'm1';	high	two-phase-commit
COMMIT PREPARED 'm1';	high	two-phase-commit
ROLLBACK PREPARED 'm1';	high	two-phase-commit
COMMIT;	high	transaction-ended-in-file
ROLLBACK;	high	transaction-ended-in-file
SET search_path = other, public;	medium	search-path-change
EOF
)
while IFS=$'\t' read -r form sev rule; do
	review "$form
$alter"
	s=$(score)
	ok "$([ "${s:-0}" -ge "$base" ] && echo 0 || echo 1)" "A: '$form' scores $s, no less than no SET at all ($base)"
	case " $(rules_at "$sev") " in
	*" $rule "*) ok 0 "A: '$form' is a $sev $rule finding" ;;
	*) ok 1 "A: '$form' is a $sev $rule finding"; diag "$(findings)" ;;
	esac
done <<<"$escapes"

# switching the timeout off does not count as setting it
review "SET lock_timeout = 0;
$alter"
case " $(rules_at low) " in
*" lock-timeout-missing "*) ok 0 "A: SET lock_timeout = 0 is no lock_timeout: lock-timeout-missing too" ;;
*) ok 1 "A: SET lock_timeout = 0 is no lock_timeout: lock-timeout-missing too"; diag "$(findings)" ;;
esac
# a sane value is what the advice wants: no finding at all
review "SET lock_timeout = '2s';
$alter"
is "$(findings)" "" "A: SET lock_timeout = '2s' has no finding"
review "SET lock_timeout = '30s';
$alter" --max-lock-timeout 1min
is "$(rules_at high)" "" "A: --max-lock-timeout 1min allows 30s"
review "SET lock_timeout = '30s';
$alter"
is "$(rules_at high)" "timeout-disabled " "A: 30s is over the default bound (10s)"

# the rollback is what the deploy runs when it rolls back
mig() { jq -nc --arg f "$1" --arg r "$2" '{kind: "migration", v: 1, id: "m1", forward: $f, rollback: $r}'; }
{ cat "$work/dag.ndjson"; mig "$alter" 'ALTER TABLE orders DROP COLUMN x;'; } | "$BIN/lockscore" >"$work/out"
plain=$(score)
{ cat "$work/dag.ndjson"; mig "$alter" 'SET lock_timeout = 0;
ALTER TABLE orders DROP COLUMN x;'; } | "$BIN/lockscore" >"$work/out"
record_out "$work/out"
is "$(jq -r 'select(.kind == "finding" and .part == "rollback") | "\(.rule) \(.severity) \(.line)"' "$work/out")" \
	"timeout-disabled high 1" "A: SET lock_timeout = 0 in the rollback is a finding of the rollback"
ok "$([ "$(score)" -ge "$plain" ] && echo 0 || echo 1)" "A: a rollback that switches the timeout off scores no less ($(score) >= $plain)"

# ---- B: DML wherever it appears ----
# same SQL  wrapped as  : same locks and the same findings as the plain statement
del='DELETE FROM customers WHERE id = 10'
review "$del;" --no-transaction
plain_locks=$(locks) plain_findings=$(findings)
case "$plain_locks" in
*public.order_items=RowExclusiveLock*) ok 0 "B: the plain DELETE cascades to order_items" ;;
*) ok 1 "B: the plain DELETE cascades to order_items"; diag "$plain_locks" ;;
esac
for form in "WITH d AS ($del RETURNING 1) SELECT count(*) FROM d;" \
	"EXPLAIN ANALYZE $del;" \
	"EXPLAIN (ANALYZE, COSTS off) $del;" \
	"COPY ($del RETURNING id) TO STDOUT;" \
	"COPY (WITH d AS ($del RETURNING id) SELECT id FROM d) TO STDOUT;" \
	"WITH s AS (SELECT 1), d AS ($del RETURNING 1) SELECT count(*) FROM d, s;"; do
	review "$form" --no-transaction
	is "$(locks)" "$plain_locks" "B: '$form' takes the locks of the plain DELETE"
	is "$(findings)" "$plain_findings" "B: '$form' has the findings of the plain DELETE"
done
# with more around it: the DELETE's locks and its cascading-delete finding, unchanged
for form in "WITH d AS ($del RETURNING id, email) INSERT INTO audit_log (actor, action, payload) SELECT 'purge', 'delete', email FROM d;" \
	"CREATE TABLE gone AS WITH d AS ($del RETURNING id) SELECT id FROM d;" \
	"WITH d AS ($del RETURNING id) UPDATE tags SET name = 'x' FROM d WHERE tags.id = d.id;"; do
	review "$form" --no-transaction
	missing=$(comm -23 <(tr ' ' '\n' <<<"$plain_locks" | sort) <(locks | tr ' ' '\n' | sort) | tr '\n' ' ')
	is "$missing" " " "B: '$form' takes every lock of the plain DELETE"
	is "$(findings | grep '^cascading-delete')" "$(grep '^cascading-delete' <<<"$plain_findings")" \
		"B: '$form' has the plain DELETE's cascading-delete finding"
done
review "MERGE INTO customers c USING (VALUES (10)) v (id) ON c.id = v.id WHEN MATCHED THEN DELETE;" --no-transaction
is "$(locks)" "$plain_locks" "B: MERGE ... THEN DELETE takes the locks of the plain DELETE"
is "$(rules_at medium)" "cascading-delete " "B: MERGE ... THEN DELETE is a cascading delete"
# updates: ON UPDATE CASCADE of a referenced key, and a large unbatched UPDATE
upd='UPDATE customers SET id = 100007 WHERE id = 7'
review "$upd;" --no-transaction
plain_locks=$(locks) plain_findings=$(findings)
review "WITH u AS ($upd RETURNING id) SELECT * FROM u;" --no-transaction
is "$(locks)" "$plain_locks" "B: a key UPDATE in a WITH cascades like the plain one"
review "INSERT INTO customers (id, email, name, code) VALUES (7, 'x7', 'y', 'c') ON CONFLICT (id) DO UPDATE SET id = 100007;" --no-transaction
is "$(locks)" "public.customers=RowExclusiveLock public.orders=RowExclusiveLock " "B: ON CONFLICT DO UPDATE of a referenced key cascades"
big='UPDATE orders SET qty = qty + 1'
review "$big;" --no-transaction
plain_findings=$(findings)
review "WITH u AS ($big RETURNING id) SELECT count(*) FROM u;" --no-transaction
is "$(findings)" "$plain_findings" "B: an unbatched UPDATE in a WITH has the plain UPDATE's findings"
review "WITH s AS (SELECT id FROM orders WHERE id < 3 FOR UPDATE) SELECT count(*) FROM s;" --no-transaction
is "$(locks)" "public.orders=RowShareLock " "B: FOR UPDATE in a WITH takes RowShareLock"

# ---- C: the digest of the reviewed SQL ----
fw=$'-- café\nALTER TABLE orders ADD COLUMN "x y" int;\n\tSELECT \'\\n\';\n\n'
rb=$'ALTER TABLE orders DROP COLUMN "x y";'
{ cat "$work/dag.ndjson"; mig "$fw" "$rb"; jq -nc '{kind: "migration", v: 1, id: "m2", forward: "SELECT 1;"}';
	jq -nc '{kind: "migration", v: 1, id: "m3", forward: "SELECT 2;", rollback: null}'; } >"$work/stream"
"$BIN/lockscore" <"$work/stream" >"$work/out"
record_out "$work/out"
want=$(jq -j 'select(.kind == "migration" and .id == "m1") | .forward' "$work/stream" | sha256sum | cut -d' ' -f1)
is "$(jq -r 'select(.kind == "risk" and .migration == "m1") | .digest.forward' "$work/out")" "$want" \
	"C: digest.forward is the SHA-256 of the forward SQL"
want=$(jq -j 'select(.kind == "migration" and .id == "m1") | .rollback' "$work/stream" | sha256sum | cut -d' ' -f1)
is "$(jq -r 'select(.kind == "risk" and .migration == "m1") | .digest.rollback' "$work/out")" "$want" \
	"C: digest.rollback is the SHA-256 of the rollback SQL"
is "$(jq -c 'select(.kind == "risk" and .migration != "m1") | [.migration, .digest.rollback, (.digest.forward | test("^[0-9a-f]{64}$"))]' "$work/out" | tr -d '\n')" \
	'["m2",null,true]["m3",null,true]' "C: no rollback (absent or null) is a null digest"
printf '%s' "$fw" >"$work/V1__x.sql"
"$BIN/lockscore" "$work/V1__x.sql" </dev/null >"$work/out"
is "$(jq -r 'select(.kind == "risk") | .digest.forward' "$work/out")" "$(sha256sum <"$work/V1__x.sql" | cut -d' ' -f1)" \
	"C: a SQL file's digest is the SHA-256 of its bytes"
done_testing
