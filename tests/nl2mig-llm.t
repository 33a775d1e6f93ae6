#!/usr/bin/env bash
# nl2mig's HTTP providers against tests/mockhttp.py playing Anthropic's
# Messages API and OpenAI's Chat Completions (and Ollama's keyless
# OpenAI-compatible endpoint). Each scenario is keyed by --model in
# tests/fixtures/nl2mig/{anthropic,openai}.json; the mock checks method,
# path, headers and body, and answers in the providers' real formats.
# Covered: the request shape (forced tool / strict json_schema, the DAG
# excerpt: named tables and FK neighbours in, unrelated tables out, a size
# budget), 429 with retry-after, 529 overloaded, 5xx, a refusal, truncated
# and malformed answers, a stall with a short --timeout, adversarial SQL
# (refused, exit 1), lockscore's feedback round, the model's rollback
# checked, and the API key never printed.
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
AKEY=sk-ant-test-0123456789SECRET
OKEY=sk-test-openai-9876543210SECRET
req="add soft delete to orders"

# run CMD...: rc in $rc, stdout in $work/o, stderr in $work/e; every output
# is kept in $work/all to look for the keys at the end
run() {
	rc=0
	"$@" >"$work/o" 2>"$work/e" || rc=$?
	cat "$work/o" "$work/e" >>"$work/all"
}
last() { tail -1 "$work/o" | jq -r "$1"; }
# reqs LOG MODEL: the requests the mock received for that model
reqs() { jq -c --arg m "$2" 'select(.body.model == $m)' "$1"; }
refused() { # rc 1, nothing on stdout, "refused" said
	[ "$rc" = 1 ] && [ ! -s "$work/o" ] && grep -q "refused" "$work/e"
}

# ================= Anthropic =================
mock_start "$fx/anthropic.json"
ALOG=$MOCK_LOG
export ANTHROPIC_BASE_URL=$MOCK_URL ANTHROPIC_API_KEY=$AKEY
A() { run "$BIN/nl2mig" --provider anthropic --model "$@" <"$dag"; }

A t-ok "$req"
record_out "$work/o"
[ "$rc" = 0 ] && [ "$(last .provider)" = anthropic ] &&
	[ "$(last .forward)" = $'SET lock_timeout = \'5s\';\nALTER TABLE orders ADD COLUMN soft_deleted boolean DEFAULT false NOT NULL;' ] &&
	[ "$(last .rollback)" = $'SET lock_timeout = \'5s\';\nALTER TABLE orders DROP COLUMN soft_deleted;' ] &&
	[ "$(last .description)" = "add column soft_deleted to orders" ] && [ "$(last '.risks | length')" = 1 ] &&
	[ "$(last .id)" = V20251124160000__add_column_soft_deleted_to_orders ]
ok $? "anthropic: the tool's answer becomes the migration record (forward, computed rollback, summary, risks)"
[ "$(grep -c '"kind"' "$work/o")" = "$(($(wc -l <"$dag") + 1))" ]
ok $? "anthropic: the DAG is written through, then one migration record"
r=$(reqs "$ALOG" t-ok | head -1)
is "$(jq -r '[.method, .path, .headers["x-api-key"], .headers["anthropic-version"], .headers["content-type"]] | join(" ")' <<<"$r")" \
	"POST /v1/messages $AKEY 2023-06-01 application/json" "anthropic: method, path, x-api-key, anthropic-version, content-type"
is "$(jq -c '.body | [.model, .max_tokens, .tool_choice, (.tools | map(.name)), .tools[0].input_schema.required, .tools[0].input_schema.additionalProperties, (.messages | map(.role))]' <<<"$r")" \
	'["t-ok",4096,{"type":"tool","name":"write_migration"},["write_migration"],["forward_sql","rollback_sql","summary","risks"],false,["user"]]' \
	"anthropic: body: model, max_tokens, one tool forced by tool_choice, its input_schema, one user message"
prompt=$(jq -r '.body.messages[0].content' <<<"$r")
grep -q '"name":"public.orders"' <<<"$prompt" && grep -q '"name":"public.customers"' <<<"$prompt" &&
	grep -q '"name":"public.order_items"' <<<"$prompt" && grep -q '"name":"public.order_status"' <<<"$prompt" &&
	grep -q 'Request: add soft delete to orders' <<<"$prompt"
ok $? "anthropic: the prompt has the request, the named table, its FK neighbours and its enum"
! grep -q 'products' <<<"$prompt"
ok $? "anthropic: an unrelated table (products) is not in the prompt"
grep -q "SET lock_timeout = '5s'" <<<"$(jq -r .body.system <<<"$r")"
ok $? "anthropic: the system prompt asks for the safe forms with the --lock-timeout"

run "$BIN/nl2mig" --model t-ok "$req" <"$dag"
[ "$rc" = 0 ] && [ "$(last .provider)" = anthropic ]
ok $? "ANTHROPIC_API_KEY set: anthropic is the default provider"

A t-429 "$req"
[ "$rc" = 0 ] && [ "$(reqs "$ALOG" t-429 | jq -r .route | paste -sd,)" = 1,2 ]
ok $? "anthropic 429 with retry-after: retried, then the answer"
A t-529 "$req"
[ "$rc" = 0 ] && [ "$(reqs "$ALOG" t-529 | wc -l)" = 2 ]
ok $? "anthropic 529 overloaded: retried with backoff, then the answer"
A t-529-always "$req"
[ "$rc" = 3 ] && [ ! -s "$work/o" ] && grep -q 'anthropic: HTTP 529: overloaded_error: Overloaded (after 3 attempts)' "$work/e"
ok $? "anthropic 529 every time: exit 3 with the provider's error type and message"
A t-401 "$req"
[ "$rc" = 3 ] && grep -q 'authentication_error: invalid x-api-key: \[redacted\]' "$work/e" && ! grep -q "$AKEY" "$work/e"
ok $? "anthropic 401 echoing the key: exit 3, the message shown with the key blanked"
A t-refusal "$req"
[ "$rc" = 3 ] && [ ! -s "$work/o" ] && grep -q "the model refused the request: I can't help" "$work/e"
ok $? "anthropic stop_reason refusal: a clear error, exit 3"
A t-maxtokens "$req"
[ "$rc" = 3 ] && grep -q "cut off at max_tokens" "$work/e"
ok $? "anthropic stop_reason max_tokens: a truncated answer is not used"
A t-malformed "$req"
[ "$rc" = 3 ] && [ ! -s "$work/o" ] && grep -q "malformed response: not JSON" "$work/e"
ok $? "anthropic: a response that is not JSON: exit 3, said so"
A t-notool "$req"
[ "$rc" = 3 ] && grep -q "no write_migration tool call (stop_reason end_turn)" "$work/e"
ok $? "anthropic: text instead of the tool call: exit 3"
A t-noforward "$req"
[ "$rc" = 3 ] && grep -q "forward_sql is missing" "$work/e"
ok $? "anthropic: a tool input without forward_sql: exit 3"
run "$BIN/nl2mig" --provider anthropic --model t-stall --timeout 0.5 "$req" <"$dag"
[ "$rc" = 3 ] && [ ! -s "$work/o" ] && grep -q "anthropic: no answer after 3 attempt(s): POST $MOCK_URL/v1/messages: .*[Tt]imed\? out" "$work/e"
ok $? "anthropic stall: --timeout per request, retried, then exit 3"

# adversarial answers: forbidden statements, a second statement after a comment
for m in t-dropdb t-copyprog t-smuggle-grant t-do t-psqlmeta; do
	A "$m" "$req"
	refused && grep -q "<model answer>:[0-9]*: refused" "$work/e"
	ok $? "anthropic adversarial $m: refused, exit 1, nothing on stdout ($(grep -o 'refused: [A-Za-z]*' "$work/e" | head -1))"
done
A t-smuggle "$req"
refused && grep -q "DROP TABLE public.customers destroys its rows" "$work/e" && [ "$(reqs "$ALOG" t-smuggle | wc -l)" = 1 ]
ok $? "anthropic: DROP TABLE smuggled after a comment is a statement: refused without --allow-destructive, before any lint round"
A t-smuggle --no-lint --allow-destructive "$req"
[ "$rc" = 0 ] && [ "$(last .destructive)" = true ] && last .rollback | grep -q '^CREATE TABLE customers'
ok $? "anthropic: with --allow-destructive it is accepted, marked destructive, and the rollback recreates the table"
A t-string "$req"
[ "$rc" = 0 ] && [ "$(last .forward | grep -c ';$')" = 2 ] && [ "$(last .destructive)" = false ]
ok $? "anthropic: DROP TABLE inside a string literal is not a statement"
A t-nolock "$req"
[ "$rc" = 0 ] && [ "$(last .forward | head -1)" = "SET lock_timeout = '5s';" ]
ok $? "anthropic: an answer without SET lock_timeout gets one first"
A t-badrollback "$req"
[ "$rc" = 0 ] && grep -q "the model's rollback does not undo the migration" "$work/e" &&
	[ "$(last .rollback)" = $'SET lock_timeout = \'5s\';\nALTER TABLE orders DROP COLUMN soft_deleted;' ]
ok $? "anthropic: the model's rollback is checked against the computed one (a wrong one: warned, computed kept)"

# lockscore's feedback: a plain CREATE INDEX, corrected once
A t-lint "add index on orders (status)"
record_out "$work/o"
second=$(reqs "$ALOG" t-lint | sed -n 2p | jq -r '.body.messages[0].content')
[ "$rc" = 0 ] && [ "$(reqs "$ALOG" t-lint | wc -l)" = 2 ] && grep -q "asking once for a correction" "$work/e" &&
	grep -q "CREATE INDEX orders_status_idx ON orders" <<<"$second" && grep -q "lockscore" <<<"$second" &&
	last .forward | grep -q "CREATE INDEX CONCURRENTLY" && [ "$(last '.findings | length')" = 0 ]
ok $? "lockscore findings go back to the model once with its answer; the corrected answer is kept"

# the size budget: a hub referenced by 400 wide tables
python3 - "$work/big.ndjson" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    col = lambda n, t="bigint": {"name": n, "type": t, "nullable": True, "default": None, "identity": None, "generated": None}
    f.write(json.dumps({"kind": "table", "v": 1, "name": "public.hub", "columns": [col("id")], "primary_key": ["id"]}) + "\n")
    for i in range(400):
        cols = [col("id"), col("hub_id")] + [col("attribute_number_%d" % k, "text") for k in range(20)]
        f.write(json.dumps({"kind": "table", "v": 1, "name": "public.spoke%d" % i, "columns": cols, "primary_key": ["id"]}) + "\n")
        f.write(json.dumps({"kind": "foreign_key", "v": 1, "name": "spoke%d_hub_fk" % i, "table": "public.spoke%d" % i,
                            "columns": ["hub_id"], "ref_table": "public.hub", "ref_columns": ["id"]}) + "\n")
    f.write(json.dumps({"kind": "table", "v": 1, "name": "public.unrelated", "columns": [col("id")]}) + "\n")
PY
run "$BIN/nl2mig" --provider anthropic --model t-budget --no-lint "add column note text to hub" <"$work/big.ndjson"
p=$(reqs "$ALOG" t-budget | jq -r '.body.messages[0].content')
[ "$rc" = 0 ] && [ "${#p}" -lt 30000 ] && grep -q '"name":"public.hub"' <<<"$p" && grep -q "left out for size" <<<"$p" &&
	grep -q '"name":"public.spoke0"' <<<"$p" && ! grep -q unrelated <<<"$p"
ok $? "the DAG excerpt stays within its size budget (${#p} bytes for 400 neighbours), the named table first, says so"

unset ANTHROPIC_API_KEY
run "$BIN/nl2mig" --provider anthropic "$req" <"$dag"
[ "$rc" = 2 ] && grep -q "needs ANTHROPIC_API_KEY" "$work/e"
ok $? "anthropic without ANTHROPIC_API_KEY: a usage error"
is "$(jq -r 'select(.route == null) | .path' "$ALOG" | wc -l)" 0 "anthropic: every request matched a route (headers and body as expected)"

# ================= OpenAI, and OpenAI-compatible servers =================
mock_start "$fx/openai.json"
OLOG=$MOCK_LOG
export OPENAI_BASE_URL=$MOCK_URL/v1 OPENAI_API_KEY=$OKEY
O() { run "$BIN/nl2mig" --provider openai --model "$@" <"$dag"; }

O gpt-ok "$req"
record_out "$work/o"
[ "$rc" = 0 ] && [ "$(last .provider)" = openai ] && last .forward | grep -q "ADD COLUMN soft_deleted" &&
	[ "$(last .rollback)" = $'SET lock_timeout = \'5s\';\nALTER TABLE orders DROP COLUMN soft_deleted;' ]
ok $? "openai: the JSON content becomes the migration record"
r=$(reqs "$OLOG" gpt-ok | head -1)
is "$(jq -r '[.method, .path, .headers.authorization, .headers["content-type"]] | join(" ")' <<<"$r")" \
	"POST /v1/chat/completions Bearer $OKEY application/json" "openai: method, path under OPENAI_BASE_URL, Bearer key, content-type"
is "$(jq -c '.body | [.response_format.type, .response_format.json_schema.name, .response_format.json_schema.strict, .response_format.json_schema.schema.additionalProperties, .response_format.json_schema.schema.required, (.messages | map(.role))]' <<<"$r")" \
	'["json_schema","migration",true,false,["forward_sql","rollback_sql","summary","risks"],["system","user"]]' \
	"openai: a strict json_schema response_format, system and user messages"
prompt=$(jq -r '.body.messages[1].content' <<<"$r")
grep -q '"name":"public.orders"' <<<"$prompt" && ! grep -q products <<<"$prompt"
ok $? "openai: the prompt has the named table and not the unrelated one"
run "$BIN/nl2mig" --model gpt-ok "$req" <"$dag"
[ "$rc" = 0 ] && [ "$(last .provider)" = openai ]
ok $? "OPENAI_API_KEY set (and no Anthropic key): openai is the default provider"
O gpt-refusal "$req"
[ "$rc" = 3 ] && [ ! -s "$work/o" ] && grep -q "openai: the model refused the request: I'm sorry" "$work/e"
ok $? "openai message.refusal: a clear error, exit 3"
O gpt-malformed "$req"
[ "$rc" = 3 ] && grep -q "malformed answer: the message content is not the JSON asked for" "$work/e"
ok $? "openai: content that is not JSON: exit 3, said so"
O gpt-length "$req"
[ "$rc" = 3 ] && grep -q "cut off (finish_reason length)" "$work/e"
ok $? "openai finish_reason length: a truncated answer is not used"
O gpt-429 "$req"
[ "$rc" = 0 ] && [ "$(reqs "$OLOG" gpt-429 | wc -l)" = 2 ]
ok $? "openai 429 with retry-after: retried, then the answer"
O gpt-500 "$req"
[ "$rc" = 3 ] && grep -q "openai: HTTP 500: server_error: The server had an error while processing your request. Sorry about that! (after 3 attempts)" "$work/e"
ok $? "openai 500 every time: retried, exit 3 with the provider's message"
O gpt-401 "$req"
[ "$rc" = 3 ] && grep -q "Incorrect API key provided: \[redacted\]" "$work/e" && ! grep -q "$OKEY" "$work/e"
ok $? "openai 401 echoing the key: the key is blanked"
for m in gpt-copy gpt-alter-system; do
	O "$m" "$req"
	refused
	ok $? "openai adversarial $m: refused, exit 1"
done
unset OPENAI_API_KEY
run "$BIN/nl2mig" --provider openai --base-url "$MOCK_URL/v1/" --model llama3.1 "$req" <"$dag"
[ "$rc" = 0 ] && [ "$(reqs "$OLOG" llama3.1 | jq -r .route)" != null ]
ok $? "an OpenAI-compatible local server (Ollama) through --base-url: no key needed, no Authorization sent"
unset OPENAI_BASE_URL
run "$BIN/nl2mig" --provider openai "$req" <"$dag"
[ "$rc" = 2 ] && grep -q "needs OPENAI_API_KEY" "$work/e"
ok $? "openai at api.openai.com without OPENAI_API_KEY: a usage error"
is "$(jq -r 'select(.route == null) | .path' "$OLOG" | wc -l)" 0 "openai: every request matched a route"

! grep -q -e "$AKEY" -e "$OKEY" "$work/all"
ok $? "no API key in any stdout or stderr of this test"
done_testing
