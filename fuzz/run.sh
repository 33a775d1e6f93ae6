#!/bin/bash
# run.sh — run the libFuzzer harnesses (built by `make -C fuzz build`).
#
# usage: run.sh [harness ...]            fuzz each for FUZZ_SECONDS (600), FUZZ_PARALLEL at a time (1)
#        run.sh --regress [harness ...]  replay the seeds and the saved crashes once (no fuzzing)
#
# Each harness fuzzes out/corpus/<h> (kept between runs), seeded from
# fuzz/seeds/<h> and from the repository's own inputs (../shared/corpus,
# tests/fixtures, scripts, golden stdin; for the SQL harnesses each file
# whole and each of its statements alone, split by out/split_stmts). Crashes, leaks and timeouts land
# in out/artifacts/<h>/; a crash found is turned into a regression input
# under tests/fixtures/fuzz-regressions/<h>/ by hand, with its fix.
# Logs: out/logs/<h>.log; a summary line per harness on stdout.
# Exit status: 0 when no harness found anything.
set -u
cd "$(dirname "$0")" || exit 2
ALL="nd prisma flyway_conf flyway_names replay lockscore nl2mig github metricwatch llm jtree"
REPO=$(cd .. && pwd)
SHARED=$REPO/../shared/corpus
SECONDS_EACH=${FUZZ_SECONDS:-600}
PARALLEL=${FUZZ_PARALLEL:-1}
REGRESS_DIR=$REPO/tests/fixtures/fuzz-regressions

regress=0
if [ "${1:-}" = --regress ]; then regress=1; shift; fi
[ $# -gt 0 ] || set -- $ALL

max_len() {
	case $1 in
	flyway_conf | flyway_names) echo 4096 ;;
	github | metricwatch | llm | nd | jtree) echo 8192 ;;
	*) echo 16384 ;;
	esac
}

# extra_seeds H DIR: copy the repository's inputs for harness H into DIR
extra_seeds() {
	h=$1 dir=$2
	mkdir -p "$dir"
	case $h in
	nd)
		find "$REPO/tests/golden" -name stdin -size -64k | while read -r f; do
			cp "$f" "$dir/golden-$(echo "$f" | md5sum | cut -c1-12)"
		done
		cp "$REPO"/tests/fixtures/lockscore/*.ndjson "$REPO"/tests/fixtures/mkrunbook/*.ndjson "$dir/" 2>/dev/null ;;
	prisma)
		cp "$REPO"/tests/fixtures/prisma/*.prisma "$dir/"
		[ -d "$SHARED" ] && find "$SHARED" -type f -name '*.prisma' | while read -r f; do
			cp "$f" "$dir/corpus-$(echo "$f" | md5sum | cut -c1-12).prisma"
		done ;;
	replay | lockscore | nl2mig)
		cp "$REPO"/tests/fixtures/sql/*.sql "$REPO"/tests/fixtures/lockscore/*.sql "$REPO"/scripts/demo-migrations/*.sql \
			"$REPO"/tests/fixtures/mkshadow/*.sql "$dir/" 2>/dev/null
		[ -d "$SHARED" ] && find "$SHARED" -type f -name '*.sql' -size -64k | while read -r f; do
			cp "$f" "$dir/corpus-$(echo "$f" | md5sum | cut -c1-12).sql"
		done
		# and every statement of them alone: grammar-valid input of every
		# kind the real histories use
		find "$SHARED" "$REPO"/tests/fixtures/sql "$REPO"/tests/fixtures/lockscore "$REPO"/scripts/demo-migrations \
			-type f -name '*.sql' -print0 2>/dev/null | xargs -0 ./out/split_stmts "$dir" |
			awk -v h="$h" '{ n += $1 } END { print h ": " n " statements of the corpus and fixtures as seeds" }' ;;
	esac
	return 0
}

summary() {
	h=$1 log=$2 rc=$3
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
	cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
	arts=$(ls out/artifacts/$h 2>/dev/null | wc -l)
	echo "$h: rc=$rc execs=${execs:-?} exec/s=${rate:-?} peak_rss_mb=${rss:-?} ${cov:-} artifacts=$arts"
}

fuzz_one() {
	h=$1
	mkdir -p out/corpus/$h out/artifacts/$h out/logs
	rm -rf out/seeds/$h
	extra_seeds $h out/seeds/$h
	log=out/logs/$h.log
	dict=
	[ -f dict/$h.dict ] && dict=-dict=dict/$h.dict
	./out/fuzz_$h -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 -max_len="$(max_len $h)" \
		-print_final_stats=1 -artifact_prefix=out/artifacts/$h/ $dict \
		out/corpus/$h seeds/$h out/seeds/$h >"$log" 2>&1
	rc=$?
	summary $h "$log" $rc
	return $rc
}

regress_one() {
	h=$1
	set --
	for f in seeds/$h/* "$REGRESS_DIR"/$h/*; do [ -f "$f" ] && set -- "$@" "$f"; done
	[ $# -gt 0 ] || { echo "$h: nothing to replay"; return 0; }
	mkdir -p out/logs
	if ./out/fuzz_$h -rss_limit_mb=2048 -timeout=10 "$@" >out/logs/$h.regress.log 2>&1; then
		echo "$h: ok ($# inputs)"
	else
		echo "$h: FAILED (see fuzz/out/logs/$h.regress.log)"
		return 1
	fi
}

status=0
if [ $regress = 1 ]; then
	for h in "$@"; do regress_one $h || status=1; done
else
	running=0
	for h in "$@"; do
		fuzz_one $h &
		running=$((running + 1))
		if [ $running -ge "$PARALLEL" ]; then
			wait -n || true # a harness that found something returns non-zero
			running=$((running - 1))
		fi
	done
	wait
	for h in "$@"; do [ -z "$(ls out/artifacts/$h 2>/dev/null)" ] || status=1; done
fi
# the harnesses' scratch folders (out/tmp/PID), of those no longer running
for d in out/tmp/*; do
	[ -d "$d" ] && ! kill -0 "${d##*/}" 2>/dev/null && rm -rf "$d"
done
exit $status
