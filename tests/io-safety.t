#!/usr/bin/env bash
# I/O safety: files are written whole and never through a planted symbolic
# link (nl2mig --write, mkrunbook --out/--step-summary); NDJSON that could be
# read two ways (a NUL, bytes that are not UTF-8, \u0000, half a surrogate
# pair, a key twice) is refused with its line; output that cannot be written
# whole leaves no partial line; control characters never reach a terminal.
. "$(dirname "$0")/lib.sh"
set -u
need jq jq
need_bin lockscore mkrunbook metricwatch nl2mig schema2dag
plan 29
tmp=$(mktemp -d)
on_exit rm -rf "$tmp"
F=$MIGSAFE_ROOT/tests/fixtures
run() { rc=0; "$@" >"$tmp/o" 2>"$tmp/e" || rc=$?; }

# ---- 7. files outside the project ----
echo "not yours" >"$tmp/outside"
fresh_prisma() {
	rm -rf "$tmp/p" && mkdir -p "$tmp/p/prisma" && cp "$F/nl2mig/shop.prisma" "$tmp/p/prisma/schema.prisma"
}
fresh_prisma
"$BIN/schema2dag" --prisma "$tmp/p/prisma/schema.prisma" >"$tmp/dag.ndjson" || bail_out "schema2dag --prisma failed"
# the temporary name the old code used, planted
ln -s "$tmp/outside" "$tmp/p/prisma/schema.prisma.nl2mig-tmp"
run "$BIN/nl2mig" --no-lint --write "$tmp/p" "add soft delete to orders" <"$tmp/dag.ndjson"
is "$rc:$(cat "$tmp/outside")" "0:not yours" "nl2mig --write: a link at the old temporary name leaves the file it points to alone"
[ -f "$tmp/p/prisma/schema.prisma" ] && [ ! -L "$tmp/p/prisma/schema.prisma" ] && grep -q deleted "$tmp/p/prisma/schema.prisma"
ok $? "... and schema.prisma is the updated regular file"
fresh_prisma
ln -sf "$tmp/outside" "$tmp/p/prisma/schema.prisma"
run "$BIN/nl2mig" --no-lint --write "$tmp/p" "add soft delete to orders" <"$tmp/dag.ndjson"
is "$rc:$(cat "$tmp/outside"):$(find "$tmp/p/prisma" -name migration.sql | wc -l)" "4:not yours:0" \
	"nl2mig --write: schema.prisma a symbolic link is refused (exit 4), before any file is written"
grep -q "schema.prisma: is a symbolic link: refused" "$tmp/e"
ok $? "... naming the file"

ln -s "$tmp/outside" "$tmp/out.md"
run "$BIN/mkrunbook" --review --out "$tmp/out.md" "$F/mkrunbook/low.ndjson"
is "$rc:$(cat "$tmp/outside"):$([ -L "$tmp/out.md" ] && echo link)" "4:not yours:link" \
	"mkrunbook --out onto a symbolic link: refused, exit 4, nothing written through it"
run "$BIN/mkrunbook" --review --out "$tmp/real.md" "$F/mkrunbook/low.ndjson"
is "$rc:$(head -n 1 "$tmp/real.md"):$(ls -A "$tmp" | grep -c '^\.real\.md')" "0:<!-- migsafe:review -->:0" \
	"mkrunbook --out on a plain path writes the document and leaves no temporary file"
ln -s "$tmp/outside" "$tmp/summary.md"
GITHUB_STEP_SUMMARY=$tmp/summary.md run "$BIN/mkrunbook" --review --step-summary "$F/mkrunbook/low.ndjson"
is "$rc:$(cat "$tmp/outside")" "4:not yours" "--step-summary: GITHUB_STEP_SUMMARY a symbolic link is refused, not appended through"

# ---- 9. NDJSON that lies: refused with its line, nothing on stdout ----
good='{"kind":"migration","v":1,"id":"m1","forward":"SELECT 1"}'
bad_line() { # name line: each reader refuses it as line 2, exit 4, stdout empty
	local name=$1 line=$2 prog res=""
	for prog in "lockscore" "mkrunbook" "metricwatch --duration 1"; do
		printf '%s\n%s\n' "$good" "$line" >"$tmp/in"
		# shellcheck disable=SC2086
		rc=0; $BIN/$prog <"$tmp/in" >"$tmp/o" 2>"$tmp/e" || rc=$?
		[ "$rc" = 4 ] && [ ! -s "$tmp/o" ] && grep -q '<stdin>:2: ' "$tmp/e" || res="$res ${prog%% *}($rc: $(head -c 120 "$tmp/e"))"
	done
	is "${res:-ok}" ok "$name: refused by lockscore, mkrunbook and metricwatch at line 2, exit 4, nothing on stdout"
}
printf '%s\n{"kind":"metric","v":1,"name":"a\0b","value":1}\n' "$good" >"$tmp/nul.in"
res=""
for prog in "lockscore" "mkrunbook" "metricwatch --duration 1"; do
	rc=0; $BIN/$prog <"$tmp/nul.in" >"$tmp/o" 2>"$tmp/e" || rc=$?
	[ "$rc" = 4 ] && [ ! -s "$tmp/o" ] && grep -q '<stdin>:2: NUL byte' "$tmp/e" || res="$res ${prog%% *}($rc: $(head -c 120 "$tmp/e"))"
done
is "${res:-ok}" ok "a NUL byte inside line 2 is refused at line 2 (not cut there and merged with line 3)"
bad_line "a duplicate top-level key" '{"kind":"migration","v":1,"id":"m2","forward":"SELECT 1","forward":"DROP TABLE orders"}'
bad_line "a duplicate key deep down" '{"kind":"metric","v":1,"name":"a","value":1,"labels":{"x":[{"k":1,"k":2}]}}'
bad_line "a \\u0000 escape" '{"kind":"metric","v":1,"name":"a\u0000b","value":1}'
bad_line "a lone high surrogate" '{"kind":"metric","v":1,"name":"a\ud800","value":1}'
bad_line "a lone low surrogate" '{"kind":"metric","v":1,"name":"a\udc00b","value":1}'
bad_line "Latin-1" $'{"kind":"metric","v":1,"name":"caf\xe9","value":1}'
bad_line "an overlong /" $'{"kind":"metric","v":1,"name":"\xc0\xaf","value":1}'
bad_line "an encoded surrogate" $'{"kind":"metric","v":1,"name":"\xed\xa0\x80","value":1}'
bad_line "a cut sequence" $'{"kind":"metric","v":1,"name":"\xe2\x82","value":1}'
bad_line "a byte over F4" $'{"kind":"metric","v":1,"name":"\xf5\x80\x80\x80","value":1}'
printf '%s\n' "$good" '{"kind":"metric","v":1,"name":"\ud83d\ude00 \u00e9 ok","value":1}' | "$BIN/lockscore" >/dev/null 2>"$tmp/e"
is "$?" 0 "a surrogate pair and plain UTF-8 are fine"

# schema2dag: a file that is not UTF-8 is refused with its line
printf 'CREATE TABLE a (id int);\n-- caf\xe9\nCREATE TABLE b (id int);\n' >"$tmp/latin1.sql"
run "$BIN/schema2dag" --sql "$tmp/latin1.sql"
is "$rc:$(wc -c <"$tmp/o"):$(head -n 1 "$tmp/e")" "4:0:schema2dag: $tmp/latin1.sql:2: invalid UTF-8 (byte 0xe9): not a UTF-8 text file" \
	"schema2dag: a Latin-1 byte in a SQL file is refused with file:line, nothing on stdout"
printf "ALTER TABLE t ADD COLUMN c text DEFAULT 'caf\xe9';\n" >"$tmp/latin1-mig.sql"
run "$BIN/lockscore" "$tmp/latin1-mig.sql"
is "$rc:$(wc -c <"$tmp/o"):$(head -n 1 "$tmp/e")" "4:0:lockscore: $tmp/latin1-mig.sql:1: invalid UTF-8 (byte 0xe9): not a UTF-8 text file" \
	"lockscore: a migration file that is not UTF-8 is refused with file:line (no invalid UTF-8 record written)"

# ---- 9. output that cannot be written whole ----
printf 'CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN c int;\n' >"$tmp/m.sql"
for i in $(seq 1 400); do echo "CREATE INDEX i$i ON t (id);"; done >>"$tmp/m.sql"
rc=0; "$BIN/lockscore" "$tmp/m.sql" >/dev/full 2>"$tmp/e" || rc=$?
is "$rc:$(grep -c 'write error on stdout: No space left on device' "$tmp/e")" "3:1" "stdout on /dev/full: exit 3 with a message"
rc=0; ("$BIN/lockscore" "$tmp/m.sql" 2>"$tmp/e"; echo $? >"$tmp/rc") | head -c 100 >/dev/null
is "$(cat "$tmp/rc"):$(grep -c 'write error on stdout: Broken pipe' "$tmp/e")" "3:1" "a reader that closes the pipe: exit 3 with a message"
# a file that can grow by 8 KiB only (RLIMIT_FSIZE, SIGXFSZ ignored): the
# write fails part-way, like a full disk
echo '{"kind":"keep","v":1}' >"$tmp/full.out"
rc=0; (trap '' XFSZ; ulimit -f 8; exec "$BIN/lockscore" "$tmp/m.sql" >>"$tmp/full.out" 2>"$tmp/e") || rc=$?
is "$rc:$(cat "$tmp/full.out")" '3:{"kind":"keep","v":1}' \
	"a write that fails part-way into a regular file: exit 3, the file cut back to what it held (no partial line)"
"$BIN/lockscore" "$tmp/m.sql" >"$tmp/whole.out"
is "$?:$(tail -c 1 "$tmp/whole.out" | od -An -c | tr -d ' ')" '0:\n' "without the limit the same run writes whole lines"

# ---- 9. control characters never reach a terminal ----
jq -c --arg e $'\x1b' 'if .kind == "migration" then .forward = ("-- " + $e + "[2J" + $e + "]0;pwned\u0007 \u009b\n" + .forward)
	| .description = ($e + "[31mred") elif .kind == "finding" then .message = ($e + "[2J" + .message) else . end' \
	"$F/mkrunbook/high.ndjson" >"$tmp/esc.ndjson"
for doc in review runbook; do
	"$BIN/mkrunbook" --$doc --svg "$tmp/$doc.svg" "$tmp/esc.ndjson" >"$tmp/$doc.md" 2>"$tmp/e"
	n=$(cat "$tmp/$doc.md" "$tmp/$doc.svg" "$tmp/e" | LC_ALL=C grep -c $'[\x01-\x08\x0b-\x1f\x7f]\|\xc2[\x80-\x9f]')
	is "$n:$(grep -c 'x1b' "$tmp/$doc.md")" "0:$([ $doc = review ] && echo 6 || echo 1)" \
		"mkrunbook --$doc: ESC, BEL and CSI from SQL and messages shown as \\x1b..., never raw"
done
"$BIN/lockscore" "$tmp/"$'\x1b[2J'"missing.sql" >/dev/null 2>"$tmp/e"
is "$(LC_ALL=C grep -c $'\x1b' "$tmp/e"):$(grep -c 'x1b\[2Jmissing.sql' "$tmp/e")" "0:1" "lockscore's error naming a file with ESC in its name shows it as \\x1b"
printf 'CREATE TABLE "a\x1b[2Jb" (id int);\nCREATE TABLE "a\x1b[2Jb" (id int);\n' >"$tmp/esc.sql"
"$BIN/schema2dag" --sql "$tmp/esc.sql" >/dev/null 2>"$tmp/e"
is "$(LC_ALL=C grep -c $'\x1b' "$tmp/e"):$(grep -c 'x1b' "$tmp/e")" "0:1" "schema2dag's error naming a table with ESC in its name shows it as \\x1b"
done_testing
