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

need npm npm
prisma_oracle
oracle=$PRISMA_ORACLE
pg_start
work=$(mktemp -d)
on_exit rm -rf "$work"
dbn=0

# newdb: a fresh database; its URL in $url (not a subshell: dbn must count).
newdb() {
	dbn=$((dbn + 1))
	url=$("$MIGSAFE_ROOT/scripts/pg-tmp" createdb "$PGURL" "conf$dbn")
}

# apply_files URL FILE...: psql each file in turn; stops at the first error.
# SINGLE_TXN=1 runs each file in one transaction, as Flyway does.
apply_files() {
	local url=$1 f
	shift
	for f in "$@"; do
		psql -X -q -v ON_ERROR_STOP=1 ${SINGLE_TXN:+-1} "$url" -f "$f" >/dev/null 2>"$work/psql.err" || {
			diag "psql failed on $f:" "$(head -5 "$work/psql.err")"
			return 1
		}
	done
}

# apply_history URL FILE...: the files in turn in one psql session (a
# process per file cost minutes on the long histories), each from a reset
# session state (RESET ALL) and, with SINGLE_TXN=1, in one transaction;
# stops at the first error, after saying where. How many were applied goes
# in $napplied.
apply_history() {
	local url=$1 f
	shift
	{
		echo '\set ON_ERROR_STOP 1'
		for f in "$@"; do
			echo 'RESET ALL;'
			[ -z "${SINGLE_TXN:-}" ] || echo 'BEGIN;'
			printf '\\i %s\n' "$f"
			[ -z "${SINGLE_TXN:-}" ] || echo 'COMMIT;'
			echo '\echo migsafe-applied'
		done
	} >"$work/history.psql"
	psql -X -q "$url" -f "$work/history.psql" >"$work/psql.out" 2>"$work/psql.err"
	napplied=$(grep -c '^migsafe-applied$' "$work/psql.out")
	[ "$napplied" = $# ] && return 0
	shift "$napplied"
	diag "psql failed on $1:" "$(grep -v '^psql:.*NOTICE' "$work/psql.err" | head -5)"
	return 1
}

# compare NAME OFFLINE.ndjson URL [KNOWN]: --db introspection equals the
# offline DAG. KNOWN, when given, is a file of differences that offline
# replay cannot avoid (DDL run by dynamic SQL, which schema2dag warns
# about): then the differences must be exactly those, no more, no fewer.
compare() {
	local name=$1 off=$2 url=$3 known=${4:-}
	"$BIN/schema2dag" --db "$url" >"$work/db.ndjson"
	record_out "$work/db.ndjson" conformance-db
	record_out "$off" conformance-offline
	"$MIGSAFE_ROOT/tests/dagcmp" "$off" "$work/db.ndjson" >"$work/diff"
	grep '^[-+][a-z]' "$work/diff" >"$work/difflines" || true
	local tables
	tables=$(grep -c '"kind":"table"' "$off")
	if [ -n "$known" ]; then
		if diff -u "$known" "$work/difflines" >"$work/kdiff"; then
			ok 0 "$name: offline DAG equals the database but for $(wc -l <"$known") known differences ($tables tables)"
		else
			diag "$(head -60 "$work/kdiff")"
			ok 1 "$name: offline DAG differs from the database only as known"
		fi
	elif [ ! -s "$work/difflines" ]; then
		ok 0 "$name: offline DAG equals the database ($tables tables)"
	else
		diag "$(head -60 "$work/diff")" "$(wc -l <"$work/difflines") differences"
		ok 1 "$name: offline DAG equals the database"
	fi
}

schemas=("$CORPUS"/prisma/*/schema.prisma "$MIGSAFE_ROOT"/tests/fixtures/prisma/*.prisma)
for s in "${schemas[@]}"; do
	[ -f "$s" ] || continue
	name="prisma $(basename "$(dirname "$s")")/$(basename "$s")"
	newdb
	"$oracle" "$s" >"$work/oracle.sql" 2>"$work/oracle.err" || {
		diag "$(head -5 "$work/oracle.err")"
		ok 1 "$name: Prisma's engine accepts it"
		continue
	}
	apply_files "$url" "$work/oracle.sql" || { ok 1 "$name: Prisma's SQL applies"; continue; }
	"$BIN/schema2dag" --prisma "$s" >"$work/off.ndjson" || { ok 1 "$name: schema2dag --prisma"; continue; }
	compare "$name" "$work/off.ndjson" "$url"
done

# Migration histories: the order is the one schema2dag reports in its source
# record (Flyway's and Prisma's ordering rules have their own unit tests).
# When PostgreSQL 15 stops part-way (a history that needed code outside SQL,
# such as a Java migration), the files it accepted are compared instead.
history() {
	local name=$1 known=$2
	shift 2
	newdb
	"$BIN/schema2dag" "$@" >"$work/off.ndjson" 2>"$work/off.err" || {
		diag "$(head -5 "$work/off.err")"
		ok 1 "$name: schema2dag $*"
		return
	}
	mapfile -t files < <(jq -r 'select(.kind == "source") | .files[]' "$work/off.ndjson")
	local i=0 f applied=()
	mkdir -p "$work/expanded"
	for f in "${files[@]}"; do
		i=$((i + 1))
		sed "${PLACEHOLDERS:-}" "$f" >"$work/expanded/$(printf %04d $i).sql"
	done
	mapfile -t expanded < <(ls "$work"/expanded/*.sql)
	[ -z "${PRELUDE:-}" ] || psql -X -q "$url" -c "$PRELUDE" >/dev/null
	PGOPTIONS="${SEARCH_PATH:+-c search_path=$SEARCH_PATH}" apply_history "$url" "${expanded[@]}" || true
	applied=("${expanded[@]:0:napplied}")
	if [ ${#applied[@]} -lt ${#files[@]} ]; then
		[ ${#applied[@]} -gt 0 ] || { ok 1 "$name: PostgreSQL 15 accepts its first file"; return; }
		diag "PostgreSQL 15 stops at ${files[${#applied[@]}]}; comparing the ${#applied[@]} files before it"
		name="$name (first ${#applied[@]} of ${#files[@]} files)"
		"$BIN/schema2dag" --sql "${applied[@]}" >"$work/off.ndjson" 2>/dev/null
	fi
	compare "$name" "$work/off.ndjson" "$url" "$known"
	rm -rf "$work/expanded"
}

for f in "$MIGSAFE_ROOT"/tests/fixtures/sql/*.sql; do
	history "sql $(basename "$f")" "" --sql "$f"
done
history "prisma-migrations triggerdev" "" --prisma-migrations "$CORPUS/prisma/triggerdev/migrations"
history "prisma-migrations langfuse" "" --prisma-migrations "$CORPUS/prisma/langfuse/migrations"
SINGLE_TXN=1 history "flyway dspace" "" --flyway "$CORPUS/flyway/dspace"
SINGLE_TXN=1 PLACEHOLDERS='s/\${ohdsiSchema}/webapi/g' PRELUDE='CREATE SCHEMA webapi' SEARCH_PATH=webapi \
	history "flyway ohdsi-webapi" "$MIGSAFE_ROOT/tests/fixtures/flyway/ohdsi-webapi.known-diff" --flyway "$CORPUS/flyway/ohdsi-webapi" \
	--conf "$MIGSAFE_ROOT/tests/fixtures/flyway/ohdsi-webapi.conf"
done_testing
