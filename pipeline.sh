#!/usr/bin/env bash
# pipeline.sh — compose migsafe's stages into the review workflow.
#
# usage: pipeline.sh demo        start the demo database, read it with
#                                schema2dag, and review two migrations with
#                                lockscore (the other stages join as they are
#                                built)
#        pipeline.sh --help
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
bin=$root/bin

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; }

# Servers this run started; stopped on exit, whatever happens.
started=()
cleanup() {
	local u
	for u in "${started[@]}"; do "$root/scripts/pg-tmp" stop "$u" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

demo() {
	local out=${MIGSAFE_DEMO_OUT:-$root/demo-out} url
	mkdir -p "$out"
	url=$("$root/scripts/pg-tmp" start)
	started+=("$url")
	echo "pipeline: demo database at $url" >&2
	psql -X -q -v ON_ERROR_STOP=1 "$url" -f "$root/scripts/demo-db.sql" >/dev/null
	"$bin/schema2dag" --db "$url" >"$out/dag.ndjson"
	"$bin/schema2dag" --db "$url" --format dot >"$out/dag.dot"
	if command -v dot >/dev/null; then dot -Tsvg "$out/dag.dot" >"$out/dag.svg"; fi
	echo "pipeline: the schema as records: $out/dag.ndjson" >&2
	jq -r 'select(.kind == "table") | "  \(.name): \(.columns | length) columns, ~\(.rows // 0 | floor) rows"' \
		"$out/dag.ndjson"
	jq -r 'select(.kind == "foreign_key") | "  \(.table) -> \(.ref_table) on delete \(.on_delete)"' \
		"$out/dag.ndjson"
	echo "pipeline: ER diagram: $out/dag.dot${out:+ (and dag.svg when Graphviz is installed)}" >&2
	local m name
	for m in "$root"/scripts/demo-migrations/*.sql; do
		name=$(basename "$m" .sql)
		"$bin/lockscore" "$m" <"$out/dag.ndjson" >"$out/$name.ndjson"
		"$bin/lockscore" --format text "$m" <"$out/dag.ndjson" >"$out/$name.txt"
		echo "pipeline: $name: $(jq -r 'select(.kind == "risk") | "risk \(.level) (\(.score)/100)"' "$out/$name.ndjson")" >&2
		sed 's/^/  /' "$out/$name.txt"
	done
}

case "${1:-}" in
demo) demo ;;
-h | --help) usage ;;
"") usage >&2; exit 2 ;;
*) echo "pipeline: unknown command '$1'" >&2; usage >&2; exit 2 ;;
esac
