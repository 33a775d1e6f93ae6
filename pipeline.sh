#!/usr/bin/env bash
# pipeline.sh — migsafe's stages composed into the workflow a team adopts.
#
# usage: pipeline.sh review  SOURCE (--migration FILE ... | --request TEXT) [options]
#        pipeline.sh staging SOURCE (--migration FILE ... | --request TEXT) [options]
#        pipeline.sh deploy  --stream FILE [--pitr-enabled] [--pg URL] [--out DIR] [-- METRICWATCH-OPTIONS]
#        pipeline.sh demo    [--out DIR] [--scale S]
#        pipeline.sh COMMAND --help
#
# review (pull request): schema2dag -> nl2mig -> mkshadow -> applyexplain ->
#   lockscore -> mkrunbook --review. Keeps the stream (OUT/stream.ndjson), the
#   report (OUT/review.md, OUT/timeline.svg) and GitHub annotations
#   (OUT/annotations.txt); prints the report. Exit 1 on high risk or when a
#   statement fails on the shadow's data.
# staging (merge to main): the review's shadow validation, then the
#   migrations applied to STAGING_DATABASE_URL (timings recorded in the
#   stream for the runbook), the rollbacks stored in ROLLBACK_DIR.
# deploy (production): the runbook (OUT/runbook.md), then metricwatch
#   --apply against PROD_DATABASE_URL: lock_timeout and retries, watching lock
#   waits and errors; with --pitr-enabled it rolls back on a sustained breach.
#   Only the SQL that was reviewed is deployed: metricwatch refuses (exit 4) a
#   migration whose forward or rollback no longer matches the digest in the
#   review's risk record.
# demo: the whole review, twice, on the built-in demo production database.
#
# SOURCE is what schema2dag reads: --flyway DIR [--conf FILE], --prisma FILE,
# --prisma-migrations DIR, --sql FILE or --db URL.
# Every stage's failure stops the run with that stage's message and exit
# code; the shadow is removed whatever happens.
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
bin=$root/bin
prog=pipeline

# messages never carry a password: postgresql://user:secret@host -> user@host
# say: a message on stderr, without passwords: the ":password" of a URL's
# userinfo (up to its '@', a raw '/' in it too), and the value of every
# parameter whose name holds "password" in any case (sslpassword too) or a
# %XX escape (pass%77ord: libpq decodes names), as a URL's query parameter
# or as key=value ('quoted', with \ escapes). Conservative: more may go.
say() {
	local q="'" name='([[:alnum:]_]*[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]|[[:alnum:]_]*%[[:xdigit:]]{2}[[:alnum:]_%]*)'
	echo "$prog: $*" | sed -E \
		-e 's#(://[^:/@[:space:]]*):[^@[:space:]]*@#\1@#g' \
		-e "s#([?&])$name=[^&[:space:]]*#\1\2=...#g" \
		-e "s#(^|[[:space:]\"$q(])$name[[:space:]]*=[[:space:]]*($q([^$q\\\\]|\\\\.)*$q?|([^[:space:]\\\\]|\\\\.)*)#\1\2=...#g" >&2
}
die() { say "$*"; exit "${rc:-3}"; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

# ---- cleanup: every server and shadow this run made goes, whatever happens ----
started=()	 # pg-tmp URLs
shadow_records=() # files holding a shadow record, for mkshadow --destroy
cleanup() {
	local st=$? u f
	for f in "${shadow_records[@]}"; do
		[ -s "$f" ] && "$bin/mkshadow" --destroy <"$f" >/dev/null 2>&1 || true
	done
	for u in "${started[@]}"; do "$root/scripts/pg-tmp" stop "$u" >/dev/null 2>&1 || true; done
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stage NAME CMD...: run one stage; on failure say which and exit with its code
stage() {
	local name=$1 st=0
	shift
	"$@" || st=$?
	if [ "$st" != 0 ]; then
		rc=$st
		die "stage $name failed (exit $st); stopping"
	fi
}

for p in schema2dag nl2mig mkshadow applyexplain lockscore mkrunbook metricwatch; do
	[ -x "$bin/$p" ] || { rc=3; die "$bin/$p is not built: run make in $root"; }
done

# ---- options shared by review and staging ----
source_args=() empty_ok=() migrations=() request="" from_db="" shadow_url="" sample="" queries=""
out="" nl2mig_args=() mkshadow_args=() lockscore_args=() fail_level=high
parse_review_opts() {
	while [ $# -gt 0 ]; do
		case $1 in
		--flyway | --prisma | --prisma-migrations | --sql | --db | --conf)
			[ $# -ge 2 ] || usage_err "$1 needs a value"
			source_args+=("$1" "$2"); shift 2 ;;
		--migration) [ $# -ge 2 ] || usage_err "$1 needs a file"; migrations+=("$2"); shift 2 ;;
		--request) [ $# -ge 2 ] || usage_err "$1 needs a text"; request=$2; shift 2 ;;
		--from-db) [ $# -ge 2 ] || usage_err "$1 needs a URL"; from_db=$2; shift 2 ;;
		--shadow-url) [ $# -ge 2 ] || usage_err "$1 needs a URL"; shadow_url=$2; shift 2 ;;
		--sample) [ $# -ge 2 ] || usage_err "$1 needs a percentage"; sample=$2; shift 2 ;;
		--queries) [ $# -ge 2 ] || usage_err "$1 needs a file"; queries=$2; shift 2 ;;
		--out) [ $# -ge 2 ] || usage_err "$1 needs a folder"; out=$2; shift 2 ;;
		--provider | --model) nl2mig_args+=("$1" "$2"); shift 2 ;;
		--allow-destructive) nl2mig_args+=("$1"); shift ;;
		--mask | --mask-file) mkshadow_args+=("$1" "$2"); shift 2 ;;
		--disable) lockscore_args+=("$1" "$2"); shift 2 ;;
		--fail-on) fail_level=$2; shift 2 ;;
		-h | --help) usage; exit 0 ;;
		*) usage_err "unknown option '$1'" ;;
		esac
	done
	[ ${#source_args[@]} -gt 0 ] || usage_err "no schema source (--flyway, --prisma, --prisma-migrations, --sql or --db)"
	[ ${#migrations[@]} -gt 0 ] || [ -n "$request" ] || usage_err "nothing to review: --migration FILE or --request TEXT"
	case $fail_level in low | medium | high | none) ;; *) usage_err "--fail-on low|medium|high|none" ;; esac
	out=${out:-migsafe-out}
	mkdir -p "$out"
	base_source
	from_db=${from_db:-${PROD_DATABASE_URL:-}}
	# the schema read from a live database: that database is production
	local i
	for ((i = 0; i < ${#source_args[@]}; i += 2)); do
		[ "${source_args[i]}" != --db ] || from_db=${from_db:-${source_args[i + 1]}}
	done
	shadow_url=${shadow_url:-${SHADOW_DATABASE_URL:-}}
}

# base_source: the schema as it was before the reviewed migrations. When a
# --flyway or --prisma-migrations folder holds them (a pull request adds its
# files there), read a copy of the folder without them.
base_source() {
	local i dir rel f base
	for ((i = 0; i < ${#source_args[@]}; i += 2)); do
		case ${source_args[i]} in --flyway | --prisma-migrations) ;; *) continue ;; esac
		dir=${source_args[i + 1]}
		[ -d "$dir" ] || continue
		base=$out/stages/base-$((i / 2))
		rm -rf "$base"
		mkdir -p "$base"
		cp -a "$dir/." "$base/"
		chmod -R u+w "$base" # a read-only folder's copy: its reviewed files are removed below
		for f in "${migrations[@]}"; do
			rel=$(realpath -m --relative-to="$dir" "$f")
			case $rel in ../* | /*) continue ;; esac
			if [ "${source_args[i]}" = --prisma-migrations ] && [ "$(basename "$rel")" = migration.sql ]; then
				rm -rf "${base:?}/$(dirname "$rel")"
			else
				rm -f "$base/$rel"
			fi
			say "schema before the review: $dir without $rel"
		done
		source_args[i + 1]=$base
		# a pull request adding the project's first migration leaves none
		empty_ok=(--empty-ok)
	done
}
usage_err() { say "$*"; usage >&2; exit 2; }

# review_stream: the stages up to lockscore, into $out/stream.ndjson.
# Sets shadow_violations=1 when applyexplain found data that breaks a statement.
shadow_violations=0
review_stream() {
	local s=$out/stages f
	mkdir -p "$s"
	say "schema2dag ${source_args[*]}"
	stage schema2dag "$bin/schema2dag" "${source_args[@]}" "${empty_ok[@]}" >"$s/1-dag.ndjson"
	cp "$s/1-dag.ndjson" "$s/2-nl2mig.ndjson"
	if [ -n "$request" ]; then
		say "nl2mig: \"$request\""
		stage nl2mig "$bin/nl2mig" "${nl2mig_args[@]}" "$request" <"$s/2-nl2mig.ndjson" >"$s/2.tmp"
		mv "$s/2.tmp" "$s/2-nl2mig.ndjson"
	fi
	for f in "${migrations[@]}"; do
		# a file from the pull request was written by a person: review it
		# whatever it destroys (lockscore reports that); only model output
		# needs --allow-destructive
		say "nl2mig --sql $f"
		stage nl2mig "$bin/nl2mig" "${nl2mig_args[@]}" --allow-destructive --sql "$f" <"$s/2-nl2mig.ndjson" >"$s/2.tmp"
		mv "$s/2.tmp" "$s/2-nl2mig.ndjson"
	done
	local shadow=(--provider local)
	[ -z "$shadow_url" ] || shadow=(--provider url --url "$shadow_url")
	local prod=()
	[ -z "$from_db" ] || prod=(--from-db "$from_db")
	[ -z "$sample" ] || prod+=(--sample "$sample")
	say "mkshadow ${shadow[*]}${from_db:+ (sample of production, masked)}"
	shadow_records+=("$s/3-mkshadow.ndjson")
	stage mkshadow "$bin/mkshadow" "${shadow[@]}" "${prod[@]}" "${mkshadow_args[@]}" \
		<"$s/2-nl2mig.ndjson" >"$s/3-mkshadow.ndjson"
	local ax=() st=0
	[ -z "$queries" ] || ax=(--queries "$queries")
	[ -z "$from_db" ] || ax+=(--from-db="$from_db")
	say "applyexplain"
	"$bin/applyexplain" "${ax[@]}" <"$s/3-mkshadow.ndjson" >"$s/4-applyexplain.ndjson" || st=$?
	case $st in
	0) ;;
	1) shadow_violations=1; say "applyexplain: a statement failed on the shadow's data (see the report)" ;;
	*) rc=$st; die "stage applyexplain failed (exit $st); stopping" ;;
	esac
	say "lockscore"
	stage lockscore "$bin/lockscore" "${lockscore_args[@]}" <"$s/4-applyexplain.ndjson" >"$out/stream.ndjson"
	"$bin/lockscore" "${lockscore_args[@]}" --format github <"$s/4-applyexplain.ndjson" >"$out/annotations.txt" || true
}

# severity_rank LEVEL: 1 low, 2 medium, 3 high, 0 anything else (none):
# common/pgvocab's ranking, the one copy in this script.
severity_rank() {
	case $1 in low) echo 1 ;; medium) echo 2 ;; high) echo 3 ;; *) echo 0 ;; esac
}

# risk_exit: 1 when a migration's risk reaches the --fail-on level or a
# statement failed on the shadow
risk_exit() {
	local worst=0 level r want
	while IFS= read -r level; do
		r=$(severity_rank "$level")
		[ "$r" -le "$worst" ] || worst=$r
	done < <(jq -r 'select(.kind == "risk") | .level' "$out/stream.ndjson")
	want=$(severity_rank "$fail_level")
	[ "$want" != 0 ] || want=4 # --fail-on none
	jq -r 'select(.kind == "risk") | "  \(.migration): risk \(.level) (\(.score)/100)"' "$out/stream.ndjson" >&2
	if [ "$shadow_violations" = 1 ] || [ "$worst" -ge "$want" ]; then
		return 1
	fi
	return 0
}

review() {
	started=() # run in a subshell by demo: stop only what this review made
	trap cleanup EXIT
	parse_review_opts "$@"
	review_stream
	say "mkrunbook --review"
	stage mkrunbook "$bin/mkrunbook" --review -o "$out/review.md" --svg "$out/timeline.svg" <"$out/stream.ndjson"
	say "report: $out/review.md (stream: $out/stream.ndjson, timeline: $out/timeline.svg)"
	[ -n "${PIPELINE_QUIET:-}" ] || cat "$out/review.md"
	risk_exit
}

staging() {
	parse_review_opts "$@"
	local staging_url=${STAGING_DATABASE_URL:-}
	[ -n "$staging_url" ] || usage_err "STAGING_DATABASE_URL is not set"
	review_stream
	if ! risk_exit; then
		rc=1
		die "the shadow validation failed or found high risk: not applying to staging"
	fi
	say "applying to staging"
	# staging is not a shadow: applyexplain applies and times the migration
	# there (no rollback, no blocking probes), so the runbook has real timings
	stage staging "$bin/applyexplain" --shadow "$staging_url" --i-know-this-is-not-production \
		--no-rollback --no-probes --no-plans <"$out/stream.ndjson" >"$out/stages/5-staging.ndjson"
	# applyexplain forwards what it read, then adds its own traces
	local n
	n=$(wc -l <"$out/stream.ndjson")
	tail -n +$((n + 1)) "$out/stages/5-staging.ndjson" |
		jq -c 'if .kind == "trace" then . + {environment: "staging"} else empty end' >>"$out/stream.ndjson"
	local dir=${ROLLBACK_DIR:-migrations/rollbacks} id
	mkdir -p "$dir"
	while IFS= read -r id; do
		# Flyway's undo name for V<version>__<desc> is U<version>__<desc>
		local undo=U_$id.sql
		case $id in V*__*) undo=U${id#V}.sql ;; esac
		jq -r --arg id "$id" 'select(.kind == "migration" and .id == $id) | .rollback // ""' \
			"$out/stream.ndjson" >"$dir/$undo"
		say "rollback stored: $dir/$undo"
	done < <(jq -r 'select(.kind == "migration") | .id' "$out/stream.ndjson")
	stage mkrunbook "$bin/mkrunbook" --runbook -o "$out/runbook.md" <"$out/stream.ndjson"
	say "runbook: $out/runbook.md"
}

deploy() {
	local stream="" pitr=() pg="" dout="" watch=()
	while [ $# -gt 0 ]; do
		case $1 in
		--) shift; watch=("$@"); break ;;
		--stream) stream=$2; shift 2 ;;
		--pitr-enabled) pitr=(--auto-rollback --pitr-enabled); shift ;;
		--pg) pg=$2; shift 2 ;;
		--out) dout=$2; shift 2 ;;
		-h | --help) usage; exit 0 ;;
		*) usage_err "unknown option '$1'" ;;
		esac
	done
	[ -n "$stream" ] && [ -r "$stream" ] || usage_err "--stream FILE: the review or staging stream"
	pg=${pg:-${PROD_DATABASE_URL:-}}
	[ -n "$pg" ] || usage_err "no production database: --pg URL or PROD_DATABASE_URL"
	out=${dout:-$(dirname "$stream")}
	mkdir -p "$out"
	stage mkrunbook "$bin/mkrunbook" --runbook -o "$out/runbook.md" <"$stream"
	say "runbook: $out/runbook.md"
	[ ${#pitr[@]} -gt 0 ] || say "no --pitr-enabled: metricwatch alerts but never rolls back"
	local st=0
	# the migrations and the review's risk records, whose digests metricwatch
	# checks against the SQL it is about to run: an edited stream is refused
	jq -c 'select(.kind == "migration" or .kind == "risk")' "$stream" |
		"$bin/metricwatch" --pg "$pg" --apply "${pitr[@]}" "${watch[@]}" >"$out/watch.ndjson" || st=$?
	case $st in
	0) say "all clear" ;;
	1) rc=1; die "metricwatch rolled back (or alerted on a sustained breach): see $out/watch.ndjson" ;;
	*) rc=$st; die "stage metricwatch failed (exit $st)" ;;
	esac
}

demo() {
	local dout=${MIGSAFE_DEMO_OUT:-$root/demo-out} scale=${MIGSAFE_DEMO_SCALE:-0.25} url
	while [ $# -gt 0 ]; do
		case $1 in
		--out) dout=$2; shift 2 ;;
		--scale) scale=$2; shift 2 ;;
		-h | --help) usage; exit 0 ;;
		*) usage_err "unknown option '$1'" ;;
		esac
	done
	mkdir -p "$dout"
	say "starting the demo production database (scale $scale)"
	url=$("$root/scripts/demo-prod" --scale "$scale" --queries 500)
	started+=("$url")
	say "demo production: $(printf '%s' "$url" | sed 's/:[^:@/]*@/@/')"
	export PIPELINE_QUIET=1
	local st1=0 st2=0
	say "review 1: \"add soft_delete column to orders table with a default of false\""
	(review --db "$url" --from-db "$url" --request "add soft_delete column to orders table with a default of false" \
		--out "$dout/soft-delete") || st1=$?
	say "review 2: scripts/demo-migrations/V3__purge_old_customers.sql"
	(review --db "$url" --from-db "$url" --migration "$root/scripts/demo-migrations/V3__purge_old_customers.sql" \
		--out "$dout/index-and-purge") || st2=$?
	[ -s "$dout/soft-delete/review.md" ] && [ -s "$dout/index-and-purge/review.md" ] ||
		{ rc=3; die "the demo review failed (see the messages above)"; }
	echo
	cat "$dout/soft-delete/review.md"
	echo
	say "reports:"
	say "  $dout/soft-delete/review.md      (exit $st1: expected 0, low risk)"
	say "  $dout/index-and-purge/review.md  (exit $st2: expected 1, high risk, with the fixes)"
	say "  streams: $dout/*/stream.ndjson; lock timelines: $dout/*/timeline.svg"
	[ "$st1" = 0 ] && [ "$st2" = 1 ] || { rc=1; die "the demo did not give the expected risk levels"; }
}

cmd=${1:-}
[ $# -eq 0 ] || shift
case $cmd in
review | staging | deploy | demo) "$cmd" "$@" ;;
-h | --help) usage ;;
"") usage >&2; exit 2 ;;
*) say "unknown command '$cmd'"; usage >&2; exit 2 ;;
esac
