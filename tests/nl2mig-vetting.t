#!/usr/bin/env bash
# nl2mig's vetting of model output, judged by effect, against
# tests/mockhttp.py playing Anthropic's Messages API: each answer of
# tests/fixtures/nl2mig/vetting.tsv (keyed by --model) is
#  class d, destroys or overwrites data through some path (a rename then a
#  drop, a rename onto a name the migration created, DML in a CTE, ON
#  CONFLICT DO UPDATE, ALTER TYPE ... USING a constant, setval/nextval in
#  a statement): refused without --allow-destructive, accepted with it and
#  marked destructive;
#  class e, a session escape (RESET ALL, a timeout lifted, SET LOCAL,
#  search_path, two-phase commit, set_config): refused even with
#  --allow-destructive.
# The same SQL in a person's file (--sql) is reviewed, never refused: class
# d is marked destructive, class e gets a high finding in the review (a
# note in outside_allow_list, or lockscore's own rule for it; a search_path
# change is medium).
. "$(dirname "$0")/lib.sh"
set -u
need jq jq
need python3 python3
unset ANTHROPIC_API_KEY OPENAI_API_KEY ANTHROPIC_BASE_URL OPENAI_BASE_URL
export SOURCE_DATE_EPOCH=1764000000
fx=$MIGSAFE_ROOT/tests/fixtures/nl2mig
dag=$fx/demo-dag.ndjson
work=$(mktemp -d)
on_exit rm -rf "$work"

# the mock's script: one route per answer, the model's tool call holding it
python3 - "$fx/vetting.tsv" "$work/mock.json" <<'EOF'
import json, sys
routes = []
for line in open(sys.argv[1]):
    if line.startswith('#') or not line.strip():
        continue
    name, cls, sql = line.rstrip('\n').split('\t')
    answer = {"forward_sql": sql.replace('\\n', '\n'), "rollback_sql": "", "summary": name, "risks": []}
    routes.append({"method": "POST", "path": "/v1/messages",
                   "headers": {"x-api-key": "sk-ant-test-vetting", "anthropic-version": "2023-06-01"},
                   "json": {"model": name}, "status": 200,
                   "body": {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                            "content": [{"type": "tool_use", "id": "toolu_01", "name": "write_migration",
                                         "input": answer}],
                            "stop_reason": "tool_use", "stop_sequence": None,
                            "usage": {"input_tokens": 1, "output_tokens": 1}}})
# an answer whose forward_sql holds a byte that is not UTF-8 (0xff)
body = json.dumps({"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                   "content": [{"type": "tool_use", "id": "toolu_01", "name": "write_migration",
                                "input": {"forward_sql": "ALTER TABLE orders ADD COLUMN a text DEFAULT 'XX';",
                                          "rollback_sql": "", "summary": "latin-1", "risks": []}}],
                   "stop_reason": "tool_use", "stop_sequence": None,
                   "usage": {"input_tokens": 1, "output_tokens": 1}}).replace("XX", "\u00ff")
routes.append({"method": "POST", "path": "/v1/messages", "json": {"model": "not-utf8"}, "status": 200,
               "body_bytes": body})
json.dump({"routes": routes}, open(sys.argv[2], "w"))
EOF
mock_start "$work/mock.json"
export ANTHROPIC_BASE_URL=$MOCK_URL ANTHROPIC_API_KEY=sk-ant-test-vetting

run() {
	rc=0
	"$@" >"$work/o" 2>"$work/e" || rc=$?
}
last() { tail -1 "$work/o" | jq -r "$1"; }
refused() { [ "$rc" = 1 ] && [ ! -s "$work/o" ] && grep -q "refused" "$work/e"; }
A() { run "$BIN/nl2mig" --no-lint --provider anthropic --model "$@" "add soft delete to orders" <"$dag"; }

while IFS=$'\t' read -r name cls sql; do
	case $name in '#'* | '') continue ;; esac
	A "$name"
	refused
	ok $? "$name: the model's answer is refused without --allow-destructive ($(grep -o 'refused: .*\|destructive: .*' "$work/e" | head -1 | cut -c1-90))"
	A "$name" --allow-destructive
	if [ "$cls" = d ]; then
		[ "$rc" = 0 ] && [ "$(last .destructive)" = true ]
		ok $? "$name: with --allow-destructive it is accepted, marked destructive"
	else
		refused
		ok $? "$name: a session escape is refused even with --allow-destructive"
	fi
	printf '%b\n' "$sql" >"$work/$name.sql"
	run "$BIN/nl2mig" --no-lint --sql "$work/$name.sql" <"$dag"
	if [ "$cls" = d ]; then
		[ "$rc" = 0 ] && [ "$(last .destructive)" = true ]
		ok $? "$name: a person's file with it is reviewed, marked destructive"
	else
		# the review: nl2mig's notes and lockscore's own rules, one finding
		# for the escape (high; a search_path change is medium)
		want=high
		[ "$name" = e-search-path ] && want=medium
		"$BIN/lockscore" <"$work/o" >"$work/ls" 2>/dev/null || true
		hit=$(jq -r --arg w "$want" 'select(.kind == "finding" and .severity == $w and
			(.rule | test("outside-allow-list|timeout-disabled|two-phase-commit|search-path-change|session-role-change")))
			| .rule + ": " + .message' "$work/ls" | head -1)
		[ "$rc" = 0 ] && [ -n "$hit" ]
		ok $? "$name: a person's file with it is reviewed, with a $want finding ($(printf %s "$hit" | cut -c1-70))"
	fi
done <"$fx/vetting.tsv"

# a model's answer that is not UTF-8: refused as malformed, nothing written
A not-utf8
[ "$rc" = 3 ] && [ ! -s "$work/o" ] && grep -q "malformed answer: its forward_sql is not UTF-8" "$work/e"
ok $? "a model's answer that is not UTF-8: refused as malformed (exit 3), nothing on stdout"

# what is not destructive stays so: a backfill of the column the migration
# adds, with pure functions; a positive lock_timeout; BEGIN/COMMIT in a
# person's file
printf '%s\n' "SET lock_timeout = '5s';" "ALTER TABLE customers ADD COLUMN email_lower text;" \
	"UPDATE customers SET email_lower = lower(trim(email));" >"$work/backfill.sql"
run "$BIN/nl2mig" --no-lint --sql "$work/backfill.sql" <"$dag"
[ "$rc" = 0 ] && [ "$(last .destructive)" = false ] && [ "$(last '.outside_allow_list | length')" = 0 ]
ok $? "a backfill of an added column with pure functions is not destructive, and has no note"
printf '%s\n' "BEGIN;" "SET lock_timeout = '5s';" "ALTER TABLE orders ADD COLUMN a text;" "COMMIT;" >"$work/tx.sql"
run "$BIN/nl2mig" --no-lint --sql "$work/tx.sql" <"$dag"
[ "$rc" = 0 ] && [ "$(last '.outside_allow_list | length')" = 0 ]
ok $? "BEGIN and COMMIT in a person's file: no note"
is "$(jq -r 'select(.route == null) | .path' "$MOCK_LOG" | wc -l)" 0 "every request matched a route"
done_testing
