#!/usr/bin/env bash
# corpus.t — every migration of every real history in ../shared/corpus
# reviewed as its pull request would be (tests/corpus-review: the DAG of the
# history before it, with the project's Flyway conf, then nl2mig --sql |
# lockscore): none refused, none crashed, and their records kept for
# zz-records.t. Under the sanitizers (make SAN=1 check), where each run costs
# several times more, the Flyway histories are reviewed whole and every 8th
# migration of the Prisma ones (and the first and last), and the test says
# so. Then the whole `pipeline.sh review` of each history's last migrations,
# as one pull request, twice: the last three on a local shadow built from the
# history before them (no production: the schema only), and the last five
# with production a database where psql applied the history before them
# (--from-db: the shadow is production's schema and masked sample): each a
# report, exit 0 or 1.
set -u
. "$(dirname "$0")/lib.sh"
need jq jq
need psql postgresql-client-15
need_bin schema2dag nl2mig lockscore mkshadow applyexplain mkrunbook
C=$CORPUS
histories=(
	"flyway:$C/flyway/ohdsi-webapi:$MIGSAFE_ROOT/tests/fixtures/flyway/ohdsi-webapi.conf"
	"flyway:$C/flyway/dspace"
	"prisma:$C/prisma/langfuse/migrations"
	"prisma:$C/prisma/triggerdev/migrations"
)
plan $((${#histories[@]} * 5 + 1))
tmp=$(mktemp -d)
on_exit rm -rf "$tmp"
every=1
grep -q __asan_init "$BIN/nl2mig" 2>/dev/null && every=8
[ "$every" = 1 ] || diag "sanitized build: every ${every}th migration of the Prisma histories (and the first and last)"

for h in "${histories[@]}"; do
	IFS=: read -r kind dir _ <<<"$h"
	name=$(basename "$dir")
	[ "$kind" = flyway ] || name=$(basename "$(dirname "$dir")")-$(basename "$dir")
	step=1
	[ "$kind" = flyway ] || step=$every
	st=0
	STEP=$step "$MIGSAFE_ROOT/tests/corpus-review" "$tmp/$name" "$h" 2>"$tmp/$name.err" || st=$?
	# the history's migrations, counted apart from schema2dag's list
	if [ "$kind" = flyway ]; then
		total=$(find "$dir" -maxdepth 1 -name 'V*__*.sql' | wc -l)
	else
		total=$(find "$dir" -mindepth 2 -maxdepth 2 -name migration.sql | wc -l)
	fi
	n=$(wc -l <"$tmp/$name/results.tsv")
	good=$(awk -F'\t' '$4 == 0 && $5 <= 1' "$tmp/$name/results.tsv" | wc -l)
	crashed=$(awk -F'\t' '$4 >= 128 || $5 >= 128' "$tmp/$name/results.tsv" | wc -l)
	is "$st:$good:$crashed" "0:$n:0" "$name: all $n migrations reviewed, none refused or crashed"
	[ "$st:$good" = "0:$n" ] || diag "$(awk -F'\t' '!($4 == 0 && $5 <= 1) { print $3 ": " $6 }' "$tmp/$name/results.tsv" | head -10)"
	if [ "$step" = 1 ]; then
		is "$n" "$total" "$name: that is every migration of the history ($total)"
	else
		ok $((n < 2 || n > total)) "$name: $n of its $total migrations (every ${step}th, the first and the last)"
	fi
	cat "$tmp/$name"/records/*.ndjson >"$tmp/$name.records"
	record_out "$tmp/$name.records" "corpus-$name"
done
# ---- the whole review of each history's last migrations, as one pull request ----
# the shadow's server runs as postgres when the tests run as root: it must
# reach its folder in TMPDIR
chmod 755 "$tmp"
export PIPELINE_QUIET=1 TMPDIR=$tmp/run
mkdir -p "$TMPDIR"
chmod 1777 "$TMPDIR"
pg_start
nprod=0

# production KIND DIR CONF FILE...: a database where psql applied FILE... as
# the project's tool would (Flyway: each file in a transaction, its conf's
# placeholders and default schema; Prisma: each file as it is); its URL in
# $prod. A file PostgreSQL refuses is rolled back and the next one tried (a
# history that needed code outside SQL, DSpace's Java migrations); their
# count in $refused.
production() {
	local kind=$1 dir=$2 conf=$3 f i=0 schema="" sedargs=() k v
	shift 3
	nprod=$((nprod + 1))
	psql -qX "$PGURL" -c "CREATE DATABASE prod_$nprod" >/dev/null
	prod=$(echo "$PGURL" | sed "s|/postgres?|/prod_$nprod?|")
	if [ -n "$conf" ]; then
		while IFS='=' read -r k v; do
			case $k in
			flyway.placeholders.*) sedargs+=(-e "s|\${${k#flyway.placeholders.}}|$v|g") ;;
			flyway.schemas | flyway.defaultSchema) schema=${v%%,*} ;;
			esac
		done < <(grep -v '^[[:space:]]*#' "$conf")
		[ -z "$schema" ] || psql -qX "$prod" -c "CREATE SCHEMA \"$schema\"" >/dev/null
	fi
	mkdir -p "$tmp/prodfiles"
	{
		echo '\set ON_ERROR_STOP 0'
		for f in "$@"; do
			i=$((i + 1))
			sed -e '' "${sedargs[@]}" "$f" >"$tmp/prodfiles/$i.sql"
			echo "RESET ALL;${schema:+ SET search_path = \"$schema\";}"
			[ "$kind" = prisma ] || echo 'BEGIN;'
			printf '\\i %s\n' "$tmp/prodfiles/$i.sql"
			echo '\if :ERROR'
			echo '\echo migsafe-refused'
			echo '\endif'
			[ "$kind" = prisma ] || echo 'COMMIT;'
		done
	} >"$tmp/prod.psql"
	psql -X -q "$prod" -f "$tmp/prod.psql" >"$tmp/prod.out" 2>"$tmp/prod.err"
	refused=$(grep -c '^migsafe-refused$' "$tmp/prod.out" || true)
	rm -rf "$tmp/prodfiles"
}

# e2e NAME N WITH: pipeline.sh review of the history's last N migrations;
# WITH=prod: production is the history before them (--from-db), else none
for h in "${histories[@]}"; do
	IFS=: read -r kind dir conf <<<"$h"
	src=(--"$kind" "$dir")
	[ "$kind" = flyway ] || src=(--prisma-migrations "$dir")
	[ -z "${conf:-}" ] || src+=(--conf "$conf")
	mapfile -t files < <("$BIN/schema2dag" "${src[@]}" 2>/dev/null | head -1 | jq -r '.files[]')
	name=$(basename "$dir")
	[ "$kind" = flyway ] || name=$(basename "$(dirname "$dir")")
	for mode in schema prod; do
		n=3
		[ "$mode" = schema ] || n=5
		args=() from=()
		for f in "${files[@]: -$n}"; do args+=(--migration "$f"); done
		what="its last $n migrations, no production (the schema only)"
		if [ "$mode" = prod ]; then
			production "$kind" "$dir" "${conf:-}" "${files[@]:0:${#files[@]}-n}"
			from=(--from-db "$prod")
			what="its last $n migrations, production the $((${#files[@]} - n)) before them applied by psql"
			[ "$refused" = 0 ] || what+=" ($refused of them refused by PostgreSQL 15)"
		fi
		st=0
		"$MIGSAFE_ROOT/pipeline.sh" review "${src[@]}" "${args[@]}" "${from[@]}" --out "$tmp/e2e-$name-$mode" \
			>/dev/null 2>"$tmp/e2e-$name-$mode.err" || st=$?
		out=$tmp/e2e-$name-$mode
		risks=$(jq -r 'select(.kind == "risk") | .level' "$out/stream.ndjson" 2>/dev/null | wc -l)
		{ [ "$st" = 0 ] || [ "$st" = 1 ]; } && [ -s "$out/review.md" ] && [ "$risks" = "$n" ]
		ok $? "$name: pipeline.sh review of $what: a report (exit $st, $risks risk records)"
		[ "$risks" = "$n" ] || diag "$(grep -v NOTICE "$out.err" | tail -5)"
		[ ! -s "$out/stream.ndjson" ] || record_out "$out/stream.ndjson" "corpus-e2e-$name"
		if [ "$mode" = prod ]; then
			# the shadow holds production's schema: a statement that fails there
			# would fail on production, which only a production that refused
			# part of its history explains
			failed=$(grep -c 'failed on the shadow' "$out.err" || true)
			if [ "$refused" = 0 ]; then
				is "$failed" 0 "$name: every statement of the last $n applies on the shadow of production"
			else
				ok 0 "$name: $failed statements failed on a shadow of a production missing $refused migrations"
			fi
			grep 'failed on the shadow' "$out.err" | head -3 | while read -r l; do diag "$name: $l"; done
		fi
	done
done

findings=$(cat "$tmp"/*.records | jq -r 'select(.kind == "finding" and .rule == "outside-allow-list") | .rule' | wc -l)
ok $((findings == 0)) "statements outside the model allow-list are reported, not refused ($findings findings)"
done_testing
