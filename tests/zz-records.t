#!/usr/bin/env bash
# zz-records.t — every record any test saved (record_out) must validate
# against schemas/. Named to run last. No saved records at all is a failure:
# it means the tests checked no program's output.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

plan 1
shopt -s nullglob
files=("$MIGSAFE_ROOT"/tests/out/*.ndjson)
if [ ${#files[@]} -eq 0 ]; then
	ok 1 "records validate against schemas/"
	diag "no record files in tests/out/: no test saved any program output"
	done_testing
fi
tmp=$(mktemp)
on_exit rm -f "$tmp" "$tmp.sum"
st=0
"$MIGSAFE_ROOT/tests/validate-records" "${files[@]}" >"$tmp" 2>"$tmp.sum" || st=$?
ok $st "records validate against schemas/"
n=$(wc -l <"$tmp")                              # failures, one per line
[ "$n" -eq 0 ] || diag "$(head -n 50 "$tmp")"
[ "$n" -le 50 ] || diag "... $((n - 50)) more"
diag "$(cat "$tmp.sum")"                        # the count
done_testing
