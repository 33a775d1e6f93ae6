#!/usr/bin/env bash
# nl2mig's computed rollback, run on a real PostgreSQL where it matters:
# 1. SQL a DAG record or a Prisma schema carries (a default, a type, a check
#    or index expression, a view definition, a foreign-key action) is read as
#    exactly one expression, type or query when the catalog is loaded: a
#    hostile value is an input error (exit 4, at its line), so a rollback
#    never carries the statement it smuggled ("Important" survives).
# 2. A statement whose effect depends on what the database held (IF NOT
#    EXISTS, IF EXISTS, OR REPLACE) gets no inverse: it is irreversible, said
#    so, and the rollback run on a database that differs from the DAG (the
#    column, table, index or view was already there, with data; the dropped
#    table never was) leaves it as it was.
. "$(dirname "$0")/lib.sh"
set -u
need jq jq
unset ANTHROPIC_API_KEY OPENAI_API_KEY
export SOURCE_DATE_EPOCH=1764000000
fx=$MIGSAFE_ROOT/tests/fixtures/nl2mig
work=$(mktemp -d)
on_exit rm -rf "$work"
pg_start
url=$("$MIGSAFE_ROOT/scripts/pg-tmp" createdb "$PGURL" rollback)
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$url" "$@" >/dev/null 2>>"$work/psql.err"; }
run() {
	rc=0
	"$@" >"$work/o" 2>"$work/e" || rc=$?
}
last() { tail -1 "$work/o" | jq -r "$1"; }
# apply: the record's forward, then its rollback, on the database
apply() {
	tail -1 "$work/o" | jq -r .forward >"$work/fwd.sql"
	tail -1 "$work/o" | jq -r .rollback >"$work/rb.sql"
	psql_q -f "$work/fwd.sql" && psql_q -f "$work/rb.sql"
}
important() { [ "$(psql -XAtq "$url" -c 'SELECT count(*) FROM "Important"' 2>/dev/null)" = 3 ]; }

# ---------- 1. hostile values in a DAG record ----------
hostile="'x'::text; DROP TABLE \"Important\"; SELECT 1"
table_rec() { # NAME COLUMNS-JSON
	printf '{"kind":"table","v":1,"name":"%s","columns":%s,"primary_key":[]}\n' "$1" "$2"
}
col() { # NAME TYPE DEFAULT-JSON [GENERATED-JSON]
	printf '{"name":"%s","type":%s,"nullable":true,"default":%s,"identity":null,"generated":%s}' "$1" "$2" "$3" "${4:-null}"
}
reset_db() {
	psql_q -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' &&
		psql_q -c 'CREATE TABLE "Important" (id int); INSERT INTO "Important" VALUES (1), (2), (3);
			   CREATE TABLE t (id int, c text DEFAULT $$x$$);'
}
reset_db || bail_out "cannot set up the database: $(cat "$work/psql.err")"
{
	table_rec public.Important "[$(col id '"integer"' null)]"
	table_rec public.t "[$(col id '"integer"' null),$(col c '"text"' "$(jq -Rn --arg v "$hostile" '$v')")]"
} >"$work/dag"
echo 'ALTER TABLE t ALTER COLUMN c DROP DEFAULT;' >"$work/dropdef.sql"
run "$BIN/nl2mig" --no-lint --sql "$work/dropdef.sql" <"$work/dag"
st=$rc
[ "$rc" = 0 ] && apply
[ "$st" = 4 ] && grep -q '<stdin>:2: table column: "default" is not one SQL expression' "$work/e" && important
ok $? "a default carrying DROP TABLE in a DAG record: exit 4 at its line, and \"Important\" survives (rc $st)"

# each kind of value a record carries, hostile: refused at its line
# (the record's statement is one a rollback rebuilds from it)
ok_dag() { table_rec public.t "[$(col id '"integer"' null),$(col c '"text"' null)]"; }
bad_values=(
	"type|$(table_rec public.t "[$(col id '"integer"' null),$(col c '"text; DROP TABLE \"Important\"; SELECT 1::text"' null)]")|ALTER TABLE t DROP COLUMN c;"
	"generated|$(table_rec public.t "[$(col id '"integer"' null),$(col c '"text"' null '"1) STORED, x int DEFAULT (1"')]")|ALTER TABLE t DROP COLUMN c;"
	"default with a comment|$(table_rec public.t "[$(col id '"integer"' null),$(col c '"text"' '"1 -- eats the rest of the line"')]")|ALTER TABLE t ALTER COLUMN c DROP DEFAULT;"
	"check expression|$(ok_dag)
{\"kind\":\"check\",\"v\":1,\"name\":\"t_c\",\"table\":\"public.t\",\"expression\":\"true); DROP TABLE \\\"Important\\\"; SELECT (1\",\"validated\":true}|ALTER TABLE t DROP CONSTRAINT t_c;"
	"index predicate|$(ok_dag)
{\"kind\":\"index\",\"v\":1,\"name\":\"t_i\",\"table\":\"public.t\",\"columns\":[\"c\"],\"unique\":false,\"primary\":false,\"method\":\"btree\",\"predicate\":\"true; DROP TABLE \\\"Important\\\"\",\"constraint\":null}|DROP INDEX t_i;"
	"index method|$(ok_dag)
{\"kind\":\"index\",\"v\":1,\"name\":\"t_i\",\"table\":\"public.t\",\"columns\":[\"c\"],\"unique\":false,\"primary\":false,\"method\":\"btree (c); DROP TABLE x; --\",\"predicate\":null,\"constraint\":null}|DROP INDEX t_i;"
	"foreign-key action|$(ok_dag)
{\"kind\":\"foreign_key\",\"v\":1,\"name\":\"t_fk\",\"table\":\"public.t\",\"columns\":[\"id\"],\"ref_table\":\"public.t\",\"ref_columns\":[\"id\"],\"on_delete\":\"cascade; DROP TABLE x\",\"on_update\":\"no action\",\"validated\":true}|ALTER TABLE t DROP CONSTRAINT t_fk;"
	"view definition|$(ok_dag)
{\"kind\":\"view\",\"v\":1,\"name\":\"public.v\",\"materialized\":false,\"depends_on\":[\"public.t\"],\"definition\":\"SELECT 1; DROP TABLE \\\"Important\\\"\"}|DROP VIEW v;"
)
for b in "${bad_values[@]}"; do
	what=${b%%|*} rest=${b#*|}
	printf '%s\n' "${rest%|*}" >"$work/bad.ndjson"
	printf '%s\n' "${rest##*|}" >"$work/bad.sql"
	run "$BIN/nl2mig" --no-lint --sql "$work/bad.sql" <"$work/bad.ndjson"
	[ "$rc" = 4 ] && grep -q '<stdin>:[0-9]*: .*not \(one\|an\)\|<stdin>:[0-9]*: foreign_key on_delete' "$work/e"
	ok $? "a hostile $what in a DAG record: exit 4 at its line (rc $rc: $(head -1 "$work/e" | cut -c1-80))"
done

# an index column is a name or an expression, known only against its
# table: one that is neither is not written into the rollback (the step is
# left out, the statement irreversible), and "Important" survives it
reset_db && psql_q -c 'CREATE INDEX t_i ON t (c)'
{
	ok_dag
	printf '%s\n' '{"kind":"index","v":1,"name":"t_i","table":"public.t","columns":["c)); DROP TABLE \"Important\"; CREATE INDEX x ON t ((c"],"unique":false,"primary":false,"method":"btree","predicate":null,"constraint":null}'
} >"$work/ixdag"
echo 'DROP INDEX t_i;' >"$work/dropix.sql"
run "$BIN/nl2mig" --no-lint --sql "$work/dropix.sql" <"$work/ixdag"
st=$rc
[ "$rc" = 0 ] && apply
[ "$st" = 0 ] && ! last .rollback | grep -q 'DROP TABLE' && last '.irreversible[]' | grep -q 'rollback step was left out' &&
	important
ok $? "an index column that is neither a column nor one expression: the step is left out, irreversible, \"Important\" survives"

# a Prisma schema: dbgenerated("...") that is more than one expression is an
# error of the schema, at its line; the rollback never sees it
cat >"$work/schema.prisma" <<'EOF'
datasource db {
  provider = "postgresql"
}

model t {
  id Int    @id
  c  String @default(dbgenerated("'x'::text; DROP TABLE \"Important\"; SELECT 1"))
}
EOF
reset_db
st=0
"$BIN/schema2dag" --prisma "$work/schema.prisma" >"$work/pdag" 2>"$work/pe" || st=$?
if [ "$st" = 0 ]; then
	run "$BIN/nl2mig" --no-lint --sql "$work/dropdef.sql" <"$work/pdag"
	[ "$rc" = 0 ] && apply
fi
[ "$st" = 4 ] && grep -q "schema.prisma:7: dbgenerated(.*) is not one SQL expression" "$work/pe" && important
ok $? "a Prisma dbgenerated() default carrying DROP TABLE: a schema error at file:line, \"Important\" survives (rc $st)"

# a legitimate DAG still loads: the demo's (nextval defaults, casts, a check,
# a view written as CREATE VIEW)
echo 'ALTER TABLE products DROP CONSTRAINT products_price_cents_check;' >"$work/demo.sql"
run "$BIN/nl2mig" --no-lint --sql "$work/demo.sql" <"$fx/demo-dag.ndjson"
[ "$rc" = 0 ] && [ "$(last .rollback)" = $'ALTER TABLE products ADD CONSTRAINT products_price_cents_check CHECK (price_cents >= 0);' ]
ok $? "a legitimate DAG still loads and rebuilds from its values (rc $rc: $(head -1 "$work/e"))"

# ---------- 2. IF NOT EXISTS, IF EXISTS, OR REPLACE ----------
# the DAG is the demo's; the database differs from it as production may:
# customers.nickname, table audit and index customers_phone_idx exist with
# their data, view customer_totals has another definition, table legacy
# (in the DAG) is not there
psql_q -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;'
psql -X -q -v ON_ERROR_STOP=1 -v scale=0.01 "$url" -f "$MIGSAFE_ROOT/scripts/demo-db.sql" >/dev/null 2>"$work/err" ||
	bail_out "demo database: $(head -3 "$work/err")"
psql_q -c "ALTER TABLE customers ADD COLUMN nickname text; UPDATE customers SET nickname = 'nick' || id;
	   CREATE TABLE audit (id int); INSERT INTO audit VALUES (1), (2);
	   CREATE INDEX customers_phone_idx ON customers (phone);
	   CREATE OR REPLACE VIEW customer_totals AS SELECT c.id, c.email, sum(o.total_cents) AS spent, 1 AS marker
	       FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.id, c.email;" ||
	bail_out "cannot set up production: $(cat "$work/psql.err")"
{
	cat "$fx/demo-dag.ndjson"
	table_rec public.legacy "[$(col id '"integer"' null)]"
} >"$work/dag2"
q() { psql -XAtq "$url" -c "$1" 2>/dev/null; }
cases=(
	"ALTER TABLE customers ADD COLUMN IF NOT EXISTS nickname text;|SELECT count(nickname) > 0 FROM customers|t|ADD COLUMN IF NOT EXISTS"
	"CREATE TABLE IF NOT EXISTS audit (id int);|SELECT count(*) FROM audit|2|CREATE TABLE IF NOT EXISTS"
	"CREATE INDEX IF NOT EXISTS customers_phone_idx ON customers (phone);|SELECT count(*) FROM pg_indexes WHERE indexname = 'customers_phone_idx'|1|CREATE INDEX IF NOT EXISTS"
	"CREATE OR REPLACE VIEW customer_totals AS SELECT c.id, c.email, sum(o.total_cents) AS spent, 1 AS marker FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.id, c.email;|SELECT count(*) FROM information_schema.columns WHERE table_name = 'customer_totals' AND column_name = 'marker'|1|CREATE OR REPLACE VIEW"
	"DROP TABLE IF EXISTS legacy;|SELECT count(*) FROM pg_tables WHERE tablename = 'legacy'|0|DROP ... IF EXISTS"
)
for c in "${cases[@]}"; do
	IFS='|' read -r sql check want form <<<"$c"
	printf '%s\n' "SET lock_timeout = '5s';" "$sql" >"$work/guard.sql"
	: >"$work/psql.err"
	run "$BIN/nl2mig" --no-lint --sql "$work/guard.sql" <"$work/dag2"
	[ "$rc" = 0 ] && apply && [ "$(q "$check")" = "$want" ] &&
		last '.irreversible[]' | grep -qF "$form" && ! last .rollback | grep -q '^DROP\|^CREATE'
	ok $? "$form: the rollback run where the database differs from the DAG leaves it as it was; irreversible says why ($(head -1 "$work/psql.err"))"
done

# a default the replay takes from its source text (a CASE holding ARRAY[1, 2]
# and a quoted name with a comma): stored whole, so it loads as one
# expression and its DROP DEFAULT is undone exactly, never a refusal
printf '%s\n' 'CREATE TABLE arr (id int, a int[] DEFAULT CASE WHEN true THEN ARRAY[1, 2] END,' \
	'  b text DEFAULT CASE WHEN false THEN "x,y"::text END);' >"$work/arr.sql"
printf '%s\n' 'ALTER TABLE arr ALTER COLUMN a DROP DEFAULT;' 'ALTER TABLE arr ALTER COLUMN b DROP DEFAULT;' >"$work/arr-m.sql"
"$BIN/schema2dag" --sql "$work/arr.sql" >"$work/arr.dag" 2>"$work/arr.err"
run "$BIN/nl2mig" --no-lint --sql "$work/arr-m.sql" <"$work/arr.dag"
is "$rc:$(last .rollback)" "0:ALTER TABLE arr ALTER COLUMN b SET DEFAULT CASE WHEN false THEN \"x,y\"::text END;
ALTER TABLE arr ALTER COLUMN a SET DEFAULT CASE WHEN true THEN ARRAY[1, 2] END;" \
	"a default with brackets or a quoted name: kept whole, its DROP DEFAULT undone exactly"
done_testing
