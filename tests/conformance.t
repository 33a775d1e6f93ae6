#!/usr/bin/env bash
# Conformance: schema2dag's offline readers against PostgreSQL itself.
#  - every Prisma schema (corpus and tests/fixtures/prisma): --prisma equals
#    --db on a database where Prisma's own SQL (the oracle in
#    ../shared/oracles/prisma) was applied;
#  - every migration history in the corpus: the offline replay equals --db on
#    a database where psql applied the same files in the same order.
# Zero differences on the fields tests/dagcmp compares.
. "$(dirname "$0")/lib.sh"
set -u

oracle=$(bash "$MIGSAFE_ROOT/../shared/oracles/prisma/setup.sh" 2>/dev/null) ||
	bail_out "the Prisma oracle could not be installed (npm)"
pg_start
work=$(mktemp -d)
on_exit rm -rf "$work"
dbn=0

newdb() {
	dbn=$((dbn + 1))
	"$MIGSAFE_ROOT/scripts/pg-tmp" createdb "$PGURL" "conf$dbn"
}

# apply_files URL FILE...: psql each file in turn; stops at the first error.
apply_files() {
	local url=$1 f
	shift
	for f in "$@"; do
		psql -X -q -v ON_ERROR_STOP=1 "$url" -f "$f" >/dev/null 2>"$work/psql.err" || {
			diag "psql failed on $f:" "$(head -5 "$work/psql.err")"
			return 1
		}
	done
}

# compare NAME OFFLINE.ndjson URL: --db introspection equals the offline DAG.
compare() {
	local name=$1 off=$2 url=$3
	"$BIN/schema2dag" --db "$url" >"$work/db.ndjson"
	record_out "$work/db.ndjson" conformance-db
	record_out "$off" conformance-offline
	if "$MIGSAFE_ROOT/tests/dagcmp" "$off" "$work/db.ndjson" >"$work/diff"; then
		ok 0 "$name: offline DAG equals the database ($(grep -c '"kind":"table"' "$off") tables)"
	else
		diag "$(head -60 "$work/diff")" "$(grep -c '^[-+][a-z]' "$work/diff") differences"
		ok 1 "$name: offline DAG equals the database"
	fi
}

schemas=("$CORPUS"/prisma/*/schema.prisma "$MIGSAFE_ROOT"/tests/fixtures/prisma/*.prisma)
for s in "${schemas[@]}"; do
	[ -f "$s" ] || continue
	name="prisma $(basename "$(dirname "$s")")/$(basename "$s")"
	url=$(newdb)
	"$oracle" "$s" >"$work/oracle.sql" 2>"$work/oracle.err" || {
		diag "$(head -5 "$work/oracle.err")"
		ok 1 "$name: Prisma's engine accepts it"
		continue
	}
	apply_files "$url" "$work/oracle.sql" || { ok 1 "$name: Prisma's SQL applies"; continue; }
	"$BIN/schema2dag" --prisma "$s" >"$work/off.ndjson" || { ok 1 "$name: schema2dag --prisma"; continue; }
	DAGCMP_SKIP_VIEWS=1 compare "$name" "$work/off.ndjson" "$url"
done

# Migration histories: the order is the one schema2dag reports in its source
# record (Flyway's and Prisma's ordering rules have their own unit tests).
history() {
	local name=$1 url
	shift
	url=$(newdb)
	"$BIN/schema2dag" "$@" >"$work/off.ndjson" 2>"$work/off.err" || {
		diag "$(head -5 "$work/off.err")"
		ok 1 "$name: schema2dag $*"
		return
	}
	mapfile -t files < <(jq -r 'select(.kind == "source") | .files[]' "$work/off.ndjson")
	if [ -n "${PLACEHOLDERS:-}" ]; then
		mkdir -p "$work/expanded"
		local i=0 f
		for f in "${files[@]}"; do
			i=$((i + 1))
			sed "$PLACEHOLDERS" "$f" >"$work/expanded/$(printf %04d $i).sql"
		done
		mapfile -t files < <(ls "$work"/expanded/*.sql)
	fi
	[ -z "${PRELUDE:-}" ] || psql -X -q "$url" -c "$PRELUDE" >/dev/null
	if ! PGOPTIONS="${SEARCH_PATH:+-c search_path=$SEARCH_PATH}" apply_files "$url" "${files[@]}"; then
		ok 0 "$name: # SKIP PostgreSQL 15 does not accept this history"
		return
	fi
	compare "$name" "$work/off.ndjson" "$url"
	rm -rf "$work/expanded"
}

for f in "$MIGSAFE_ROOT"/tests/fixtures/sql/*.sql; do
	history "sql $(basename "$f")" --sql "$f"
done
history "prisma-migrations triggerdev" --prisma-migrations "$CORPUS/prisma/triggerdev/migrations"
history "prisma-migrations langfuse" --prisma-migrations "$CORPUS/prisma/langfuse/migrations"
history "flyway dspace" --flyway "$CORPUS/flyway/dspace"
PLACEHOLDERS='s/\${ohdsiSchema}/webapi/g' PRELUDE='CREATE SCHEMA webapi' SEARCH_PATH=webapi \
	history "flyway ohdsi-webapi" --flyway "$CORPUS/flyway/ohdsi-webapi" \
	--conf "$MIGSAFE_ROOT/tests/fixtures/flyway/ohdsi-webapi.conf"
done_testing
