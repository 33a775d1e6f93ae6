#!/usr/bin/env bash
# corpus.t — every migration of every real history in ../shared/corpus
# reviewed as its pull request would be (tests/corpus-review: the DAG of the
# history before it, with the project's Flyway conf, then nl2mig --sql |
# lockscore): none refused, none crashed, and their records kept for
# zz-records.t. Under the sanitizers (make SAN=1 check), where each run costs
# several times more, the Flyway histories are reviewed whole and every 8th
# migration of the Prisma ones (and the first and last), and the test says
# so. Then the whole `pipeline.sh review` of each history's last three
# migrations, as one pull request, on a local shadow built from the history
# before them (no production: the schema only): a report, exit 0 or 1.
set -u
. "$(dirname "$0")/lib.sh"
need jq jq
need_bin schema2dag nl2mig lockscore
C=$CORPUS
histories=(
	"flyway:$C/flyway/ohdsi-webapi:$MIGSAFE_ROOT/tests/fixtures/flyway/ohdsi-webapi.conf"
	"flyway:$C/flyway/dspace"
	"prisma:$C/prisma/langfuse/migrations"
	"prisma:$C/prisma/triggerdev/migrations"
)
plan $((${#histories[@]} * 3 + 1))
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
# ---- the whole review of the last three migrations of each history ----
# the shadow's server runs as postgres when the tests run as root: it must
# reach its folder in TMPDIR
chmod 755 "$tmp"
export PIPELINE_QUIET=1 TMPDIR=$tmp/run
mkdir -p "$TMPDIR"
chmod 1777 "$TMPDIR"
for h in "${histories[@]}"; do
	IFS=: read -r kind dir conf <<<"$h"
	src=(--"$kind" "$dir")
	[ "$kind" = flyway ] || src=(--prisma-migrations "$dir")
	[ -z "${conf:-}" ] || src+=(--conf "$conf")
	mapfile -t last < <("$BIN/schema2dag" "${src[@]}" 2>/dev/null | head -1 | jq -r '.files[-3:][]')
	args=()
	for f in "${last[@]}"; do args+=(--migration "$f"); done
	name=$(basename "$dir")
	[ "$kind" = flyway ] || name=$(basename "$(dirname "$dir")")
	st=0
	"$MIGSAFE_ROOT/pipeline.sh" review "${src[@]}" "${args[@]}" --out "$tmp/e2e-$name" >/dev/null 2>"$tmp/e2e-$name.err" || st=$?
	risks=$(jq -r 'select(.kind == "risk") | .level' "$tmp/e2e-$name/stream.ndjson" 2>/dev/null | wc -l)
	{ [ "$st" = 0 ] || [ "$st" = 1 ]; } && [ -s "$tmp/e2e-$name/review.md" ] && [ "$risks" = 3 ]
	ok $? "$name: pipeline.sh review of its last 3 migrations ends with a report (exit $st, $risks risk records)"
	[ "$risks" = 3 ] || diag "$(grep -v NOTICE "$tmp/e2e-$name.err" | tail -5)"
done

findings=$(cat "$tmp"/*.records | jq -r 'select(.kind == "finding" and .rule == "outside-allow-list") | .rule' | wc -l)
ok $((findings == 0)) "statements outside the model allow-list are reported, not refused ($findings findings)"
done_testing
