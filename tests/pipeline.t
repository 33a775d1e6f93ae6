#!/usr/bin/env bash
# pipeline.sh review end to end on the small demo production, with the
# builtin provider: the report's risk levels, lock table, fixes and rollback
# check; then every kind of failure gives one clear message, the right exit
# code, and leaves no server or shadow behind.
. "$(dirname "$0")/lib.sh"
set -u
need pgrep procps
work=$(mktemp -d)
chmod 755 "$work"
on_exit rm -rf "$work"
export TMPDIR=$work/tmp # every server and shadow of this test lives here
mkdir -p "$TMPDIR"
chmod 1777 "$TMPDIR"
url=$("$MIGSAFE_ROOT/scripts/demo-prod" --scale 0.02 --queries 200) || bail_out "cannot build the demo production"
on_exit "$MIGSAFE_ROOT/scripts/pg-tmp" stop "$url"
export PIPELINE_QUIET=1
pl=$MIGSAFE_ROOT/pipeline.sh
# servers: the pg-tmp and mkshadow folders in TMPDIR besides production's
prod_dir=${url##*host=}
prod_dir=${prod_dir%%&*}
leftovers() { find "$TMPDIR" -maxdepth 1 \( -name 'pg-tmp.*' -o -name 'migsafe-shadow.*' \) | grep -vcF "$prod_dir"; }

# ---- a low-risk request ----
st=0
"$pl" review --db "$url" --from-db "$url" --out "$work/low" \
	--request "add soft_delete column to orders table with a default of false" 2>"$work/low.err" || st=$?
is "$st" 0 "the soft-delete request reviews with exit 0"
[ "$st" = 0 ] || diag "$(cat "$work/low.err")"
r=$work/low/review.md
grep -q 'Migration review: risk \*\*low\*\*' "$r" 2>/dev/null
ok $? "the report says low risk"
grep -Eq '^\| 1 \| [0-9]+ \| `ALTER TABLE orders ADD COLUMN soft_delete boolean DEFAULT false` \| public.orders \| ACCESS EXCLUSIVE \|' "$r" 2>/dev/null
ok $? "the lock table shows ACCESS EXCLUSIVE on public.orders for the ALTER"
grep -q 'Rollback check: \*\*passed\*\*' "$r" 2>/dev/null
ok $? "the rollback check passed on the shadow"
is "$(jq -r 'select(.kind == "statement" and (.sql | startswith("ALTER"))) | .source' "$work/low/stream.ndjson" 2>/dev/null)" \
	traced "lockscore used the shadow's trace"
is "$(jq -c 'select(.kind == "rollback_check") | .ok' "$work/low/stream.ndjson" 2>/dev/null)" true "rollback_check ok in the stream"
[ -s "$work/low/timeline.svg" ] && python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$work/low/timeline.svg"
ok $? "the lock timeline is well-formed SVG"
record_out "$work/low/stream.ndjson"

# ---- the dangerous migration ----
st=0
"$pl" review --db "$url" --from-db "$url" --out "$work/bad" \
	--migration "$MIGSAFE_ROOT/scripts/demo-migrations/V3__purge_old_customers.sql" 2>"$work/bad.err" || st=$?
level=$(jq -r 'select(.kind == "risk") | .level' "$work/bad/stream.ndjson" 2>/dev/null)
case $level in medium | high) ok 0 "index-and-purge is $level risk" ;; *) ok 1 "index-and-purge is medium or high risk (got '$level')"; diag "$(cat "$work/bad.err")" ;; esac
is "$st" "$([ "$level" = high ] && echo 1 || echo 0)" "exit 1 exactly when the risk is high"
r=$work/bad/review.md
grep -q 'CREATE INDEX CONCURRENTLY orders_status_created_at_idx ON orders (status, created_at)' "$r" 2>/dev/null
ok $? "the fix for the index is the concurrent build of the same index"
grep -q 'cascading-delete.*public.customers cascades through ON DELETE CASCADE to .*public.orders' "$r" 2>/dev/null
ok $? "the cascading delete is found, with the tables it reaches"
grep -q 'delete the children first, in batches' "$r" 2>/dev/null
ok $? "and its fix is batched deletes"
grep -A3 '^#### Irreversible steps' "$r" 2>/dev/null | grep -q 'rows deleted from public.customers are lost'
ok $? "the report lists the deleted rows as irreversible"
record_out "$work/bad/stream.ndjson"
st=0
"$pl" review --db "$url" --out "$work/gate" --fail-on medium \
	--migration "$MIGSAFE_ROOT/scripts/demo-migrations/V3__purge_old_customers.sql" 2>/dev/null || st=$?
is "$st" 1 "--fail-on medium turns the medium risk into exit 1"

# ---- failures ----
st=0
err=$("$pl" review --db "postgresql://postgres:hunter2@127.0.0.1:1/none?connect_timeout=2" --out "$work/down" \
	--request "add note column to orders" 2>&1 >/dev/null) || st=$?
is "$st" 3 "database down: exit 3"
case $err in *hunter2*) ok 1 "no password in the messages"; diag "$err" ;; *) ok 0 "no password in the messages" ;; esac
case $err in *"stage schema2dag failed (exit 3); stopping"*) ok 0 "and one line says which stage failed" ;;
*) ok 1 "and one line says which stage failed"; diag "$err" ;; esac
st=0
err=$("$pl" review --db "$url" --out "$work/nonsense" --request "make the database faster please" 2>&1 >/dev/null) || st=$?
is "$st" 4 "a request the builtin grammar does not understand: exit 4"
case $err in *"nl2mig:"*"stage nl2mig failed (exit 4)"*) ok 0 "with nl2mig's message, then the stage" ;;
*) ok 1 "with nl2mig's message, then the stage"; diag "$err" ;; esac
st=0
"$pl" review --db "$url" --out "$work/x" 2>/dev/null || st=$?
is "$st" 2 "nothing to review: usage, exit 2"
st=0
err=$("$pl" review --db "$url" --from-db "$url" --out "$work/unknown" --request "add note column to invoices" 2>&1 >/dev/null) || st=$?
is "$st" 4 "an unknown table: exit 4"
case $err in *invoices*) ok 0 "the message names the table" ;; *) ok 1 "the message names the table"; diag "$err" ;; esac

# ---- staging, then deploy ----
base=${url%%\?*}
srv=${base%/*}/postgres?${url#*\?}
stg=$("$MIGSAFE_ROOT/scripts/pg-tmp" createdb "$srv" staging) && prod2=$("$MIGSAFE_ROOT/scripts/pg-tmp" createdb "$srv" prod2) ||
	bail_out "cannot create the staging databases"
for d in "$stg" "$prod2"; do pg_dump -s "$url" | psql -X -q "$d" >/dev/null 2>&1; done
st=0
STAGING_DATABASE_URL=$stg ROLLBACK_DIR=$work/rollbacks "$pl" staging --db "$url" --out "$work/stg" \
	--request "add soft_delete column to orders table with a default of false" 2>"$work/stg.err" || st=$?
is "$st" 0 "staging passes"
[ "$st" = 0 ] || diag "$(cat "$work/stg.err")"
is "$(psql -X -At "$stg" -c "SELECT data_type FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'soft_delete'")" \
	boolean "the column is on staging"
rb=$(find "$work/rollbacks" -name 'U*__add_column_soft_delete_to_orders.sql' 2>/dev/null)
grep -q 'ALTER TABLE orders DROP COLUMN soft_delete' "$rb" 2>/dev/null
ok $? "the rollback is stored under Flyway's undo name ($(basename "${rb:-none}"))"
is "$(jq -c 'select(.kind == "trace" and .environment == "staging")' "$work/stg/stream.ndjson" | wc -l)" 2 \
	"staging's timings are in the stream"
grep -q 'ALTER TABLE orders ADD COLUMN soft_delete' "$work/stg/runbook.md" 2>/dev/null
ok $? "the runbook holds the migration"
st=0
PROD_DATABASE_URL=$prod2 "$pl" deploy --stream "$work/stg/stream.ndjson" --out "$work/dep" \
	-- --baseline 0.5 --settle 1 --interval 0.2 2>"$work/dep.err" || st=$?
is "$st" 0 "deploy: metricwatch applies and gives the all-clear"
[ "$st" = 0 ] || diag "$(cat "$work/dep.err")"
is "$(jq -r 'select(.kind == "watch") | .event' "$work/dep/watch.ndjson" 2>/dev/null | tail -n 1)" all_clear "the last watch event is all_clear"
is "$(psql -X -At "$prod2" -c "SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'soft_delete'")" \
	1 "the column is on the deployed database"

# a stream edited after its review: refused before production is touched
jq -c 'if .kind == "migration" then .forward = "ALTER TABLE orders DROP COLUMN soft_delete;" else . end' \
	"$work/stg/stream.ndjson" >"$work/edited.ndjson"
st=0
PROD_DATABASE_URL=$prod2 "$pl" deploy --stream "$work/edited.ndjson" --out "$work/dep2" \
	-- --baseline 0.5 --settle 1 --interval 0.2 2>"$work/dep2.err" || st=$?
is "$st:$(psql -X -At "$prod2" -c "SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'soft_delete'")" \
	4:1 "deploy of an edited stream: refused (exit 4), production untouched"
grep -q "digest" "$work/dep2.err" || diag "$(cat "$work/dep2.err")"

is "$(leftovers)" 0 "no server or shadow left behind by any run"
n=$(pgrep -f "$TMPDIR" | wc -l)
is "$n" 1 "only the demo production's postmaster is running"
done_testing
