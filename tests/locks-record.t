#!/usr/bin/env bash
# The recorded lock truth is still PostgreSQL's: record every case again on a
# fresh PostgreSQL 15 (tests/locks/record) and require the same output as
# tests/locks/expected.ndjson, byte for byte.
. "$(dirname "$0")/lib.sh"
set -u
plan 1
pg_start
out=$(mktemp)
on_exit rm -f "$out"
if ! "$MIGSAFE_ROOT/tests/locks/record" "$PGURL" >"$out" 2>"$out.err"; then
	diag "$(tail -5 "$out.err")"
	ok 1 "tests/locks/record runs"
	done_testing
fi
rm -f "$out.err"
if diff -u "$MIGSAFE_ROOT/tests/locks/expected.ndjson" "$out" >"$out.diff"; then
	ok 0 "PostgreSQL $(psql -X -Atc 'show server_version' "$PGURL") takes the recorded locks in all $(wc -l <"$out") cases"
else
	diag "$(head -40 "$out.diff")"
	ok 1 "PostgreSQL takes the recorded locks"
fi
rm -f "$out.diff"
done_testing
