#!/usr/bin/env bash
# mkshadow.t — mkshadow against real PostgreSQL 15: a "production" cluster
# (the demo shop at a small scale, and tests/fixtures/mkshadow/graph.sql
# with multi-level cascades, a self-reference, a cycle and a composite key),
# a second server for the url provider, and local throwaway shadows.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need /usr/lib/postgresql/15/bin/initdb postgresql-15
need pgrep procps
need script bsdutils
need_bin mkshadow

tmp=$(mktemp -d)
on_exit rm -rf "$tmp"
st=$tmp/shadows # mkshadow's TMPDIR: local shadows of this test only
mkdir -p "$st"
chmod 755 "$tmp" "$st"
ms() { TMPDIR=$st MIGSAFE_MASK_KEY=test-key "$BIN/mkshadow" "$@"; }
on_exit bash -c "TMPDIR=$st $BIN/mkshadow --gc --older-than 0 >/dev/null 2>&1 || true"

pg_start
prod_server=$PGURL
shop=${prod_server/\/postgres\?//shop?}
graph=${prod_server/\/postgres\?//graph?}
"$MIGSAFE_ROOT/scripts/pg-tmp" createdb "$prod_server" graph >/dev/null
psql -X -q -v ON_ERROR_STOP=1 "$graph" -f "$MIGSAFE_ROOT/tests/fixtures/mkshadow/graph.sql" >/dev/null
createdb_url=$("$MIGSAFE_ROOT/scripts/pg-tmp" createdb "$prod_server" shop)
[ "$createdb_url" = "$shop" ] || bail_out "unexpected URL $createdb_url"
"$MIGSAFE_ROOT/scripts/demo-prod" --url "$shop" --scale 0.02 --queries 200 >/dev/null

other=$("$MIGSAFE_ROOT/scripts/pg-tmp" start --port 5433)
on_exit "$MIGSAFE_ROOT/scripts/pg-tmp" stop "$other"

q() { psql -X -At -v ON_ERROR_STOP=1 "$@"; }
# stats: production's write counters and a fingerprint of its catalog.
stats() {
	q "$1" -c "SELECT pg_stat_force_next_flush()" >/dev/null
	q "$1" -c "SELECT tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = current_database()"
	q "$1" -c "SELECT md5(string_agg(oid::text || relname || relkind::text || relnatts, ',' ORDER BY oid)) FROM pg_class"
	q "$1" -c "SELECT count(*) FROM pg_database"
	pg_dump --schema-only "$1" | grep -v '^\\' | md5sum
}
# orphans URL: rows of every foreign key of the database that reference nothing.
orphans() {
	q "$1" <<'SQL'
SELECT coalesce(sum(n), 0) FROM (SELECT (xpath('/row/n/text()', query_to_xml(format(
  'SELECT count(*) AS n FROM %s c WHERE (%s) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %s p WHERE (%s) = (%s))',
  conrelid::regclass,
  (SELECT string_agg('c.' || quote_ident(attname), ', ' ORDER BY k.i) FROM unnest(conkey) WITH ORDINALITY k(a, i)
     JOIN pg_attribute ON attrelid = conrelid AND attnum = k.a),
  confrelid::regclass,
  (SELECT string_agg('p.' || quote_ident(attname), ', ' ORDER BY k.i) FROM unnest(confkey) WITH ORDINALITY k(a, i)
     JOIN pg_attribute ON attrelid = confrelid AND attnum = k.a),
  (SELECT string_agg('c.' || quote_ident(attname), ', ' ORDER BY k.i) FROM unnest(conkey) WITH ORDINALITY k(a, i)
     JOIN pg_attribute ON attrelid = conrelid AND attnum = k.a)), false, false, '')))[1]::text::int AS n
  FROM pg_constraint WHERE contype = 'f') x
SQL
}
shadow_url() { jq -r 'select(.kind == "shadow") | .url' "$1"; }
leftovers() { find "$st" -mindepth 1 -maxdepth 1 | wc -l; }

# ---- a full run on the demo shop, local provider ----
before=$(stats "$shop")
rc=0
ms --from-db "$shop" </dev/null >"$tmp/shop.out" 2>"$tmp/shop.err" || rc=$?
is "$rc" 0 "demo shop: mkshadow succeeds"
[ "$rc" = 0 ] || diag "$(cat "$tmp/shop.err")"
record_out "$tmp/shop.out"
after=$(stats "$shop")
is "$after" "$before" "production's write counters, catalog and schema are unchanged"

S=$(shadow_url "$tmp/shop.out")
is "$(q "$S" -c "SELECT left(shobj_description(oid, 'pg_database'), 14) FROM pg_database WHERE datname = current_database()")" \
	"migsafe shadow" "the shadow database is marked"
is "$(q "$S" -c "SHOW dynamic_shared_memory_type")" mmap \
	"a local shadow keeps its dynamic shared memory in its directory (not /dev/shm, where a crash leaves it)"
is "$(q "$S" -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated")" 0 \
	"demo shop: every foreign key in the shadow is validated"
is "$(orphans "$S")" 0 "demo shop: no orphan rows in the shadow"
is "$(q "$S" -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")" \
	"$(q "$shop" -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")" "every foreign key of production is in the shadow"
# indexes and keys are built in parallel, several on one table at once
defs() {
	q "$1" -c "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' UNION ALL
		SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated
		FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1"
}
is "$(defs "$S")" "$(defs "$shop")" "every index and constraint of production is in the shadow, as defined there"

# tables above 10,000 rows: the sample (before closure) is within 1 point of 5%
bad=""
while IFS=$'\t' read -r table sampled; do
	n=$(q "$shop" -c "SELECT count(*) FROM $table")
	[ "$n" -gt 10000 ] || continue
	ok=$(awk -v s="$sampled" -v n="$n" 'BEGIN { d = 100 * s / n - 5; print (d <= 1 && d >= -1) ? 1 : 0 }')
	[ "$ok" = 1 ] || bad+=" $table:$sampled/$n"
done < <(jq -r 'select(.kind == "sample") | [.table, .sampled_rows] | @tsv' "$tmp/shop.out")
is "$bad" "" "tables over 10,000 rows are sampled within one percentage point of 5%"
is "$(jq -r 'select(.kind == "sample" and .table == "public.orders") | .rows > .sampled_rows' "$tmp/shop.out")" true \
	"closure pulls in orders that sampled items reference"

# no raw value of a masked column anywhere in the shadow's text columns
for col in $(jq -r 'select(.kind == "shadow") | .masked[]' "$tmp/shop.out"); do
	IFS=. read -r sch tab c <<<"$col"
	q "$shop" -c "SELECT DISTINCT $c::text FROM $sch.$tab WHERE $c IS NOT NULL AND length($c::text) >= 6
		AND pg_typeof($c)::text IN ('text', 'character varying', 'character')"
done | sort -u >"$tmp/raw.txt"
q "$S" -c "SELECT format('SELECT %I::text FROM %I.%I WHERE %I IS NOT NULL', column_name, table_schema, table_name, column_name)
	FROM information_schema.columns WHERE table_schema = 'public'
	AND data_type IN ('text', 'character varying', 'character')" |
	while IFS= read -r sql; do q "$S" -c "$sql"; done | sort -u >"$tmp/shadow-text.txt"
leaks=$(grep -cFxf "$tmp/raw.txt" "$tmp/shadow-text.txt" || true)
is "$leaks" 0 "no raw value of a masked column ($(wc -l <"$tmp/raw.txt") values) in any text column of the shadow"
[ "$(wc -l <"$tmp/raw.txt")" -gt 1000 ] && [ "$(wc -l <"$tmp/shadow-text.txt")" -gt 1000 ]
ok $? "the leak search compared real data"
is "$(jq -r 'select(.kind == "shadow") | .mask_rules["public.customers.email"]' "$tmp/shop.out")" email \
	"customers.email is recognised as an email"

# the same key and seed give the same shadow, whatever the number of workers
# and whether rows wait in memory for the shadow (the first run used the
# defaults, --jobs 2 --memory 256; --memory 0 waits for it at the first row)
MIGSAFE_PLANTED=s3cr3t-planted GITHUB_TOKEN=ghp_s3cr3t-token \
	ms --from-db "$shop" --provider local --jobs 1 --memory 0 </dev/null >"$tmp/shop2.out" 2>"$tmp/shop2.err"
S2=$(shadow_url "$tmp/shop2.out")
# what a migration able to run programs there would find in the server's
# environment: nothing of mkshadow's (the key, tokens, production's URL)
is "$(q "$S2" -c "CREATE TEMP TABLE e (l text); COPY e FROM PROGRAM 'env'; SELECT count(*) FILTER (WHERE l ~ 's3cr3t|MIGSAFE|PROD_DATABASE|GITHUB'), count(*) > 0 FROM e" | tail -1)" \
	"0|t" "the local shadow's server starts with a scrubbed environment: no key, token or URL of mkshadow's"
is "$(q "$S2" -c "SELECT md5(string_agg(email || full_name, ',' ORDER BY id)) FROM customers")" \
	"$(q "$S" -c "SELECT md5(string_agg(email || full_name, ',' ORDER BY id)) FROM customers")" \
	"seeded sample and keyed masking are repeatable (--jobs 1 --memory 0 and the defaults)"
is "$(jq -c 'select(.kind == "sample") | [.table, .sampled_rows, .closure_rows]' "$tmp/shop2.out")" \
	"$(jq -c 'select(.kind == "sample") | [.table, .sampled_rows, .closure_rows]' "$tmp/shop.out")" \
	"--jobs 1 --memory 0 and the defaults copy the same rows of every table"
is "$(jq -c 'select(.kind == "shadow") | [.timings.jobs, (.timings | [.create_ms, .schema_ms, .sample_ms, .closure_ms, .copy_ms, .post_data_ms, .analyze_ms, .total_ms] | all(. >= 0))]' "$tmp/shop.out" "$tmp/shop2.out" | tr '\n' ' ')" \
	"[2,true] [1,true] " "the shadow record carries the phase timings and the jobs"
is "$(wc -c <"$tmp/shop2.err")" 0 "stderr is not a terminal: no progress"

# --destroy removes the cluster, its directory and its processes
dir=$(jq -r 'select(.kind == "shadow") | .destroy.dir' "$tmp/shop.out")
ms --destroy <"$tmp/shop.out" >"$tmp/destroyed.out"
ok $? "--destroy succeeds"
[ ! -e "$dir" ] && ! pgrep -f -- "$dir" >/dev/null
ok $? "--destroy leaves no directory and no process"
is "$(jq -r .kind "$tmp/destroyed.out" | sort -u | tr '\n' ' ')" "sample " "--destroy forwards the other records"
ms --destroy <"$tmp/shop2.out" >/dev/null

# ---- the FK shapes, url provider ----
rc=0
ms --from-db "$graph" --url "$other" --sample 10 </dev/null >"$tmp/graph.out" 2>"$tmp/graph.err" || rc=$?
is "$rc" 0 "graph: mkshadow --url succeeds"
[ "$rc" = 0 ] || diag "$(cat "$tmp/graph.err")"
record_out "$tmp/graph.out"
G=$(shadow_url "$tmp/graph.out")
is "$(jq -r 'select(.kind == "shadow") | .provider' "$tmp/graph.out")" url "graph: provider url"
is "$(q "$G" -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated")" 0 \
	"graph: every foreign key validated (cascades, self-reference, cycle, composite)"
is "$(orphans "$G")" 0 "graph: no orphan rows"
is "$(q "$G" -c "SELECT count(*) > 0 FROM employee WHERE manager_id IS NOT NULL")" t "graph: managers came along"
is "$(q "$G" -c "SELECT count(*) FROM newsletter n JOIN employee e USING (email)") $(q "$G" -c "SELECT count(*) FROM newsletter")" \
	"$(q "$G" -c "SELECT count(*) FROM newsletter") $(q "$G" -c "SELECT count(*) FROM newsletter")" \
	"graph: a masked key still joins"
is "$(q "$G" -c "SELECT count(*) FROM employee WHERE email LIKE '%corp.example.org'")" 0 "graph: emails masked"
is "$(q "$G" -c "SELECT bool_and(price_eur = price_cents / 100.0) FROM item")" t "graph: generated columns recomputed"
gdb=$(jq -r 'select(.kind == "shadow") | .database' "$tmp/graph.out")
# a migration there runs as a role of its own, which --destroy drops too
printf '%s\n' '{"kind":"migration","v":1,"id":"V1__r","forward":"CREATE TABLE by_role (id int);","rollback":"DROP TABLE by_role;"}' |
	cat "$tmp/graph.out" - | "$BIN/applyexplain" --no-plans >/dev/null 2>"$tmp/ae.err"
is "$(q "$other" -c "SELECT count(*) FROM pg_roles WHERE rolname = 'migsafe_m_$gdb' AND NOT rolsuper")" 1 \
	"applyexplain on a url shadow made by a superuser: the migration's own role"
ms --destroy --url "$other" <"$tmp/graph.out" >/dev/null 2>"$tmp/d.err"
is "$(q "$other" -c "SELECT count(*) FROM pg_database WHERE datname = '$gdb'")" 0 "--destroy drops the url shadow"
is "$(q "$other" -c "SELECT count(*) FROM pg_roles WHERE rolname = 'migsafe_m_$gdb'"):$(wc -c <"$tmp/d.err")" "0:0" \
	"... and the migration's role, quietly"

# ---- url provider, a role without CREATEDB: a schema shadow ----
q "$other" -c "CREATE ROLE ms_nocd LOGIN; GRANT CREATE ON DATABASE postgres TO ms_nocd;
	CREATE ROLE ms_cd LOGIN CREATEDB; CREATE ROLE ms_none LOGIN;
	CREATE TABLE public.bystander (id int PRIMARY KEY); INSERT INTO public.bystander VALUES (1), (2)" >/dev/null
nocd=${other/postgres@/ms_nocd@}
# everything of the shared database outside shadow schemas, to see it untouched
outside_rels() {
	q "$other" -c "SELECT md5(string_agg(n.nspname || '.' || c.relname || c.relkind::text, ',' ORDER BY n.nspname, c.relname))
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT LIKE 'migsafe\_shadow%'"
}
outside() {
	outside_rels
	q "$other" -c "SELECT string_agg(nspname, ',' ORDER BY 1) FROM pg_namespace"
	q "$other" -c "SELECT count(*), sum(id) FROM public.bystander"
}
schemas() { q "$other" -c "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'migsafe\_shadow%'"; }
before_outside=$(outside_rels)
rc=0
ms --from-db "$shop" --url "$nocd" </dev/null >"$tmp/sch.out" 2>"$tmp/sch.err" || rc=$?
is "$rc" 0 "no CREATEDB: mkshadow --url builds a schema shadow"
[ "$rc" = 0 ] || diag "$(cat "$tmp/sch.err")"
record_out "$tmp/sch.out"
sch=$(jq -r 'select(.kind == "shadow") | .schema' "$tmp/sch.out")
is "$(jq -r 'select(.kind == "shadow") | [.provider, .database, .maps_schema, .destroy.schema == .schema] | @tsv' "$tmp/sch.out")" \
	"$(printf 'url\tpostgres\tpublic\ttrue')" "... the record names the schema, its database and what it stands for"
is "$(q "$other" -c "SELECT left(obj_description(oid, 'pg_namespace'), 14) FROM pg_namespace WHERE nspname = '$sch'")" \
	"migsafe shadow" "... the schema exists and is marked"
is "$(q "$other" -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'migsafe_shadow%'")" 0 "... and no database was created"
SU=$(shadow_url "$tmp/sch.out")
is "$(q "$SU" -c "SHOW search_path")" "$sch" "... the record's url sets search_path to it"
is "$(q "$SU" -c "SELECT count(*) > 0 FROM orders") $(q "$SU" -c "SELECT count(*) FROM pg_tables WHERE schemaname = '$sch'")" \
	"t $(q "$shop" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" "... every table is there, with sampled rows"
is "$(q "$SU" -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = '$sch'::regnamespace AND convalidated")" \
	"$(q "$shop" -c "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")" "... every foreign key of production, validated"
is "$(orphans "$SU")" 0 "... no orphan rows"
is "$(jq -c 'select(.kind == "sample") | [.table, .sampled_rows, .closure_rows]' "$tmp/sch.out")" \
	"$(jq -c 'select(.kind == "sample") | [.table, .sampled_rows, .closure_rows]' "$tmp/shop.out")" \
	"... the same rows as a database shadow (same seed)"
is "$(q "$SU" -c "SELECT count(*) FROM customers WHERE email LIKE '%@example.%' OR email IS NULL") " \
	"$(q "$SU" -c "SELECT count(*) FROM customers") " "... emails masked"

# applyexplain runs a migration there (unqualified and public.-qualified names)
printf '%s\n' '{"kind":"migration","v":1,"id":"V9__note","forward":"ALTER TABLE orders ADD COLUMN note text;\nCREATE INDEX orders_note_idx ON public.orders (note);","rollback":"DROP INDEX public.orders_note_idx;\nALTER TABLE orders DROP COLUMN note;"}' >"$tmp/mig.ndjson"
rc=0
cat "$tmp/sch.out" "$tmp/mig.ndjson" | "$BIN/applyexplain" >"$tmp/ae.out" 2>"$tmp/ae.err" || rc=$?
is "$rc" 0 "applyexplain runs a migration on the schema shadow"
[ "$rc" = 0 ] || diag "$(cat "$tmp/ae.err")"
record_out "$tmp/ae.out"
is "$(jq -c 'select(.kind == "trace") | [.error, .locks[0].table, .locks[0].mode]' "$tmp/ae.out" | tr '\n' ' ')" \
	'[null,"public.orders","AccessExclusiveLock"] [null,"public.orders","ShareLock"] ' \
	"... traces name production's tables"
is "$(jq -r 'select(.kind == "rollback_check") | .ok' "$tmp/ae.out")" true "... and the rollback check passes"
is "$(jq -c 'select(.kind != "shadow")' "$tmp/ae.out" | grep -c "$sch")" 0 "... no record it writes names the shadow schema"
is "$(q "$SU" -c "SELECT count(*) FROM information_schema.columns WHERE table_schema = '$sch' AND table_name = 'orders' AND column_name = 'note'")" \
	1 "... the migration ran in the shadow schema"

# a role that can also reach a table outside its schema: a migration that
# changed search_path or named public.bystander would read or delete it, so
# applyexplain refuses before running anything
q "$other" -c "GRANT SELECT, DELETE ON public.bystander TO ms_nocd" >/dev/null
printf '%s\n' '{"kind":"migration","v":1,"id":"V10__escape","forward":"SET search_path = public;\nDELETE FROM bystander;","rollback":null}' >"$tmp/esc.ndjson"
rc=0
cat "$tmp/sch.out" "$tmp/esc.ndjson" | "$BIN/applyexplain" >"$tmp/esc.out" 2>"$tmp/esc.err" || rc=$?
is "$rc:$(wc -c <"$tmp/esc.out"):$(q "$other" -c "SELECT count(*) FROM public.bystander")" "2:0:2" \
	"a schema shadow whose role can reach public.bystander: refused (exit 2), nothing run, the table intact"
grep -q 'can read or change public.bystander, outside the shadow schema' "$tmp/esc.err" || diag "$(cat "$tmp/esc.err")"
q "$other" -c "REVOKE SELECT, DELETE ON public.bystander FROM ms_nocd" >/dev/null

ms --destroy --url "$nocd" <"$tmp/sch.out" >/dev/null 2>"$tmp/d.err"
ok $? "--destroy of the schema shadow succeeds"
is "$(schemas) $(outside_rels)" \
	"0 $before_outside" "... drops exactly the schema: nothing else in the database changed"
is "$(q "$other" -c "SELECT count(*), sum(id) FROM public.bystander")" "2|3" "... the bystander table is intact"
q "$other" -c "CREATE SCHEMA not_a_shadow" >/dev/null
printf '%s\n' "{\"kind\":\"shadow\",\"v\":1,\"url\":\"x\",\"provider\":\"url\",\"destroy\":{\"provider\":\"url\",\"database\":\"postgres\",\"schema\":\"not_a_shadow\"}}" >"$tmp/fake.out"
rc=0
ms --destroy --url "$other" <"$tmp/fake.out" >/dev/null 2>"$tmp/e" || rc=$?
is "$rc:$(q "$other" -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'not_a_shadow'")" "3:1" \
	"--destroy refuses a schema without the mark"
q "$other" -c "DROP SCHEMA not_a_shadow" >/dev/null

# a role with CREATEDB still gets a database
rc=0
ms --from-db "$graph" --url "${other/postgres@/ms_cd@}" --sample 10 </dev/null >"$tmp/cd.out" 2>"$tmp/e" || rc=$?
is "$rc:$(jq -r 'select(.kind == "shadow") | [(.schema // "none"), (.database | startswith("migsafe_shadow"))] | @tsv' "$tmp/cd.out")" \
	"$(printf '0:none\ttrue')" "a role with CREATEDB gets a shadow database, not a schema"
ms --destroy --url "${other/postgres@/ms_cd@}" <"$tmp/cd.out" >/dev/null

# neither CREATEDB nor CREATE on the database: one line, exit 3, nothing created
before=$(outside)
rc=0
ms --from-db "$graph" --url "${other/postgres@/ms_none@}" </dev/null >"$tmp/o" 2>"$tmp/e" || rc=$?
is "$rc:$(wc -c <"$tmp/o"):$(wc -l <"$tmp/e")" "3:0:1" "neither CREATEDB nor CREATE: exit 3, no output, one line"
grep -q "CREATEDB, or CREATE on that database" "$tmp/e"
ok $? "... saying what the role needs"
is "$(outside):$(schemas)" "$before:0" "... and nothing is created"

# production in several schemas cannot be mapped into one: refused
psql -X -q "$graph" -c "CREATE SCHEMA extra; CREATE TABLE extra.t (id int PRIMARY KEY)"
rc=0
ms --from-db "$graph" --url "$nocd" </dev/null >"$tmp/o" 2>"$tmp/e" || rc=$?
is "$rc:$(wc -c <"$tmp/o"):$(wc -l <"$tmp/e"):$(schemas)" "3:0:1:0" \
	"a schema shadow of production in two schemas: refused (exit 3, one line, nothing created)"
grep -q "2 schemas (extra, public)" "$tmp/e"
ok $? "... naming the schemas"
psql -X -q "$graph" -c "DROP SCHEMA extra CASCADE"

# --gc: a schema shadow left by a SIGKILLed run
TMPDIR=$st MIGSAFE_MASK_KEY=k "$BIN/mkshadow" --from-db "$shop" --url "$nocd" --sample 100 </dev/null >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do
	[ "$(q "$other" -c "SELECT count(*) FROM pg_tables WHERE schemaname LIKE 'migsafe\_shadow%'")" -gt 0 ] && break
	sleep 0.05
done
{ kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
is "$(schemas)" 1 "a killed run leaves a schema shadow behind"
ms --gc --url "$nocd" 2>"$tmp/gc.err"
is "$(schemas):$(q "$other" -c "SELECT count(*), sum(id) FROM public.bystander")" "0:2|3" \
	"--gc drops the crashed run's schema, and nothing else"

# progress on stderr when it is a terminal
{
	TMPDIR=$st MIGSAFE_MASK_KEY=k script -qec "$BIN/mkshadow --from-db '$graph' --url '$other' --jobs 3 </dev/null >$tmp/prog.out" /dev/null \
		>"$tmp/prog.tty" 2>&1
	grep -q "sampled [0-9]* rows of 7 tables" "$tmp/prog.tty" && grep -q "foreign keys closed in" "$tmp/prog.tty" &&
		grep -q "indexes and keys of [0-9]* tables on 3 sessions" "$tmp/prog.tty"
	ok $? "stderr a terminal: progress of sampling, closure and indexes"
	is "$(orphans "$(shadow_url "$tmp/prog.out")")" 0 "graph with --jobs 3: no orphan rows"
	ms --destroy --url "$other" <"$tmp/prog.out" >/dev/null
}

# ---- refusals: one line, an exit code, nothing left behind ----
ndb=$(q "$prod_server" -c "SELECT count(*) FROM pg_database")
rc=0
ms --from-db "$graph" --url "$prod_server" </dev/null >"$tmp/o" 2>"$tmp/e" || rc=$?
is "$rc:$(wc -c <"$tmp/o")" "3:0" "production as the target is refused (exit 3, no output)"
grep -q "is the production server" "$tmp/e"
ok $? "... saying why"
is "$(q "$prod_server" -c "SELECT count(*) FROM pg_database")" "$ndb" "... and creates no database"
# the check fails closed: a role that may not read pg_control_system() on
# the target cannot prove it is not production's server
q "$prod_server" -c "CREATE ROLE ms_blind LOGIN CREATEDB; REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC" >/dev/null
rc=0
ms --from-db "$graph" --url "${prod_server/postgres@/ms_blind@}" </dev/null >"$tmp/o" 2>"$tmp/e" || rc=$?
is "$rc:$(wc -c <"$tmp/o"):$(q "$prod_server" -c "SELECT count(*) FROM pg_database")" "3:0:$ndb" \
	"production's server as the target, pg_control_system() not readable there: refused (exit 3), no database"
grep -q "cannot tell whether the shadow target is the production server" "$tmp/e" || diag "$(cat "$tmp/e")"
q "$prod_server" -c "GRANT EXECUTE ON FUNCTION pg_control_system() TO PUBLIC" >/dev/null

rc=0
MIGSAFE_TEST_PROD_VERSION=14.11 ms --from-db "$graph" </dev/null >"$tmp/o" 2>"$tmp/e" || rc=$?
is "$rc:$(wc -c <"$tmp/o"):$(leftovers)" "3:0:0" "a major version mismatch is refused, nothing left"
grep -q "14.11.*15\." "$tmp/e"
ok $? "... naming both versions"
rc=0
MIGSAFE_TEST_PROD_VERSION=14.11 ms --from-db "$graph" --url "$other" </dev/null >"$tmp/o" 2>"$tmp/e" || rc=$?
is "$rc:$(q "$other" -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'migsafe_shadow%'")" "3:0" \
	"url provider: a version mismatch is refused before anything is created"
rc=0
MIGSAFE_TEST_PROD_VERSION=14.11 ms --from-db "$graph" --allow-version-mismatch --sample 1 </dev/null >"$tmp/o" 2>"$tmp/e" || rc=$?
is "$rc" 0 "--allow-version-mismatch builds anyway"
grep -q "WILL MISLEAD" "$tmp/e"
ok $? "... and says loudly that EXPLAIN will mislead"
ms --destroy <"$tmp/o" >/dev/null

rc=0
ms --from-db "$graph" --mask employee.nosuch=hash </dev/null >"$tmp/o" 2>"$tmp/e" || rc=$?
is "$rc:$(wc -c <"$tmp/o"):$(leftovers)" "2:0:0" "a mask rule for a missing column: exit 2, nothing created"
rc=0
ms --from-db "postgresql://postgres@/nope?host=$tmp/none&port=1" </dev/null >"$tmp/o" 2>"$tmp/e" || rc=$?
is "$rc:$(wc -c <"$tmp/o"):$(leftovers)" "3:0:0" "an unreachable production: exit 3, nothing created"

# production fails a read while the shadow is still being created: the
# error waits for the creation to end, then the shadow goes. The largest
# table is read first, the smallest last, by whichever worker is free
# (the copying thread itself, or one of its workers): four runs
fails=""
for tbl in public.item public.region public.item public.region; do
	rc=0
	MIGSAFE_TEST_FAIL_SAMPLE=$tbl ms --from-db "$graph" </dev/null >"$tmp/o" 2>"$tmp/e" || rc=$?
	got="$rc:$(wc -c <"$tmp/o"):$(leftovers):$(grep -c . "$tmp/e"):$(grep -c "$tbl: .*division by zero" "$tmp/e")"
	[ "$got" = "3:0:0:1:1" ] || { fails+=" $tbl=$got"; sed 's/^/# /' "$tmp/e" >&2; ms --gc --older-than 0 2>/dev/null; }
done
is "$fails" "" "production fails during the shadow's creation: exit 3, one line naming the table and production's error, nothing left"

# a failure half-way (an index the masked rows break) removes the shadow
rc=0
ms --from-db "$graph" --url "$other" --mask department.title=fixed:same --mask region.name=fixed:x </dev/null >"$tmp/o" 2>"$tmp/e" || rc=$?
is "$rc" 0 "fixed values mask (no unique constraint on them)"
ms --destroy --url "$other" <"$tmp/o" >/dev/null
psql -X -q "$graph" -c "CREATE UNIQUE INDEX region_name_key ON region (name)"
rc=0
ms --from-db "$graph" --url "$other" --mask region.name=fixed:x </dev/null >"$tmp/o" 2>"$tmp/e" || rc=$?
is "$rc:$(wc -c <"$tmp/o")" "3:0" "a mask that breaks a unique index fails the run"
is "$(q "$other" -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'migsafe_shadow%'")" 0 \
	"... and the half-built shadow database is dropped"
psql -X -q "$graph" -c "DROP INDEX region_name_key"

# ---- --gc: a run killed with SIGKILL half-way, and old shadows ----
TMPDIR=$st MIGSAFE_MASK_KEY=k "$BIN/mkshadow" --from-db "$shop" --sample 100 </dev/null >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do
	compgen -G "$st/migsafe-shadow.*/.s.PGSQL.5432" >/dev/null && break
	sleep 0.05
done
{ kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
crashed=$(compgen -G "$st/migsafe-shadow.*" || true)
[ -n "$crashed" ]
ok $? "a killed run leaves a shadow behind"
ms --gc 2>"$tmp/gc.err"
[ ! -e "$crashed" ] && ! pgrep -f -- "$crashed" >/dev/null
ok $? "--gc removes the crashed run's cluster and processes"

ms --from-db "$graph" --url "$other" --sample 1 </dev/null >/dev/null 2>&1
ms --from-db "$graph" --sample 1 </dev/null >/dev/null 2>&1
ms --gc --url "$other" 2>/dev/null
is "$(leftovers):$(q "$other" -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'migsafe_shadow%'")" "1:1" \
	"--gc keeps young, complete shadows"
ms --gc --url "$other" --older-than 0 2>/dev/null
is "$(leftovers):$(q "$other" -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'migsafe_shadow%'")" "0:0" \
	"--gc --older-than 0 removes them all"
pgrep -f -- "$st/migsafe-shadow" >/dev/null && st_left=1 || st_left=0
is "$st_left" 0 "no shadow server process is left"

# without MIGSAFE_SEAL_KEY the key is a file of the user's own, made once
kh=$tmp/home
mkdir -p "$kh"
HOME=$kh XDG_STATE_HOME='' MIGSAFE_SEAL_KEY='' ms --from-db "$graph" --sample 1 </dev/null >"$tmp/kf.out" 2>"$tmp/kf.err"
is "$(stat -c '%a %U' "$kh/.local/state/migsafe/seal.key" 2>&1) $(stat -c %a "$kh/.local/state/migsafe")" "600 $(id -un) 700" \
	"without MIGSAFE_SEAL_KEY: mkshadow makes the key file, 0600 in a 0700 folder"
printf '%s\n' '{"kind":"migration","v":1,"id":"V1__k","forward":"CREATE TABLE keyed (id int);","rollback":"DROP TABLE keyed;"}' >"$tmp/k.ndjson"
rc=0
cat "$tmp/kf.out" "$tmp/k.ndjson" | HOME=$kh XDG_STATE_HOME='' MIGSAFE_SEAL_KEY='' "$BIN/applyexplain" --no-plans >/dev/null 2>"$tmp/k.err" || rc=$?
rc2=0
cat "$tmp/kf.out" "$tmp/k.ndjson" | "$BIN/applyexplain" --no-plans >/dev/null 2>/dev/null || rc2=$?
is "$rc:$rc2" "0:2" "applyexplain accepts the shadow with the same key file, refuses it under another key"
[ "$rc" = 0 ] || diag "$(cat "$tmp/k.err")"
HOME=$kh XDG_STATE_HOME='' MIGSAFE_SEAL_KEY='' ms --destroy <"$tmp/kf.out" >/dev/null
ok $? "... and --destroy removes it with that key"

# --destroy and --gc touch only what carries mkshadow's seal
mkdir -p "$tmp/victim" && echo precious >"$tmp/victim/keep"
host=$(hostname)
plant() { # plant NAME OWNER: a directory that looks like a crashed run's shadow
	local d=$st/migsafe-shadow.$1
	mkdir -p "$d"
	printf '{"state":"creating","provider":"local","pid":999999,"host":"%s","created":0}' "$host" >"$d/.migsafe-shadow"
	ln -s "$tmp/victim" "$d/data"
	chown -R "$2" "$d"
}
plant planted-mine "$(id -un)"
# another user's: only root can make one (CI runs the tests as root too)
other_user=no
if [ "$(id -u)" = 0 ]; then
	plant planted-other nobody && other_user=yes
else
	diag "not root: the planted directory of another user is not tried here"
fi
ms --gc --older-than 0 2>"$tmp/gc.err" || true
is "$([ "$other_user" = no ] || [ -d "$st/migsafe-shadow.planted-other" ] && echo kept):$([ -d "$st/migsafe-shadow.planted-mine" ] && echo kept):$(cat "$tmp/victim/keep")" \
	"kept:kept:precious" "--gc leaves planted directories (another user's, or unsealed with a symlinked data directory) alone"
grep -q "refusing to remove .*planted-mine" "$tmp/gc.err" || diag "$(cat "$tmp/gc.err")"
rm -rf "$st"/migsafe-shadow.planted-*
printf '%s\n' '{"kind":"shadow","v":1,"url":"x","provider":"docker","destroy":{"provider":"docker","container":"some-production-container"}}' >"$tmp/fake-docker.out"
rc=0
ms --destroy <"$tmp/fake-docker.out" >/dev/null 2>"$tmp/e" || rc=$?
is "$rc:$(grep -c 'refusing to remove container some-production-container' "$tmp/e")" "3:1" \
	"--destroy refuses a container without the seal label (one a record names)"
q "$other" -c "CREATE DATABASE fake_shadow" -c "COMMENT ON DATABASE fake_shadow IS 'migsafe shadow {\"state\":\"ready\"}'" >/dev/null
printf '%s\n' '{"kind":"shadow","v":1,"url":"x","provider":"url","destroy":{"provider":"url","database":"fake_shadow"}}' >"$tmp/fake-db.out"
rc=0
ms --destroy --url "$other" <"$tmp/fake-db.out" >/dev/null 2>"$tmp/e" || rc=$?
is "$rc:$(q "$other" -c "SELECT count(*) FROM pg_database WHERE datname = 'fake_shadow'")" "3:1" \
	"--destroy refuses a database whose mark has no valid seal (a COMMENT anyone can write)"
grep -q "has no valid seal" "$tmp/e" || diag "$(cat "$tmp/e")"
q "$other" -c "DROP DATABASE fake_shadow" >/dev/null


# ---- without production: the schema from the DAG's source files ----
printf '{"kind":"source","v":1,"format":"sql","path":"%s","files":["%s"]}\n' \
	"$MIGSAFE_ROOT/tests/fixtures/mkshadow/graph.sql" "$MIGSAFE_ROOT/tests/fixtures/mkshadow/graph.sql" >"$tmp/src.ndjson"
rc=0
env -u PROD_DATABASE_URL TMPDIR="$st" "$BIN/mkshadow" <"$tmp/src.ndjson" >"$tmp/o" 2>"$tmp/e" || rc=$?
is "$rc" 0 "schema from the source record"
record_out "$tmp/o"
is "$(head -1 "$tmp/o")" "$(cat "$tmp/src.ndjson")" "... forwards its input first"
is "$(q "$(shadow_url "$tmp/o")" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 7 "... with every table"
ms --destroy <"$tmp/o" >/dev/null
rc=0
env -u PROD_DATABASE_URL TMPDIR="$st" "$BIN/mkshadow" --url "$nocd" <"$tmp/src.ndjson" >"$tmp/o" 2>"$tmp/e" || rc=$?
is "$rc:$(q "$(shadow_url "$tmp/o")" -c "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")" "0:7" \
	"schema from the source record into a schema shadow"
ms --destroy --url "$nocd" <"$tmp/o" >/dev/null
is "$(schemas)" 0 "... and --destroy removes it"

# ---- where a local cluster goes: --dir; without TMPDIR, /dev/shm when it is a tmpfs ----
mkdir -p "$tmp/elsewhere" && chmod 755 "$tmp/elsewhere"
rc=0
env -u PROD_DATABASE_URL TMPDIR="$st" "$BIN/mkshadow" --dir "$tmp/elsewhere" <"$tmp/src.ndjson" >"$tmp/o" 2>"$tmp/e" || rc=$?
d=$(jq -r 'select(.kind == "shadow") | .destroy.dir // empty' "$tmp/o")
is "$rc:$(dirname "${d:-none}")" "0:$tmp/elsewhere" "--dir DIR: the cluster is made in DIR"
env -u PROD_DATABASE_URL TMPDIR="$st" "$BIN/mkshadow" --gc --dir "$tmp/elsewhere" --older-than 0 >/dev/null 2>&1 || true
is "$(ls "$tmp/elsewhere" | wc -l)" 0 "... and --gc --dir finds it there"
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ]; then want=/dev/shm; else want=/tmp; fi
rc=0
env -u PROD_DATABASE_URL -u TMPDIR "$BIN/mkshadow" <"$tmp/src.ndjson" >"$tmp/o" 2>"$tmp/e" || rc=$?
d=$(jq -r 'select(.kind == "shadow") | .destroy.dir // empty' "$tmp/o")
is "$rc:$(dirname "${d:-none}")" "0:$want" "without TMPDIR or --dir: $want"
env -u TMPDIR "$BIN/mkshadow" --destroy <"$tmp/o" >/dev/null 2>&1
ok "$([ -n "$d" ] && [ ! -e "$d" ]; echo $?)" "... and --destroy removes it from there"

done_testing
