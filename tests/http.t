#!/usr/bin/env bash
# common/http against tests/mockhttp.py: the exact request goes out, retries
# follow 5xx and Retry-After, limits and stalls give an error, not a hang.
. "$(dirname "$0")/lib.sh"
set -u
plan 12
mock_start "$MIGSAFE_ROOT/tests/fixtures/http/basic.json"
h=$MIGSAFE_ROOT/tests/unit/bin/http_client
[ -x "$h" ] || bail_out "tests/unit/bin/http_client is not built (make all)"

out=$("$h" POST "$MOCK_URL/echo?key=secret" '{"a":{"b":1},"c":2}' 'Authorization: Bearer t0k')
is "$out" 'status 201 attempts 1 body {"ok": true}' "POST with headers and JSON body answered"
is "$(jq -c 'select(.path == "/echo") | [.method, .headers["content-type"], .body.c, .query.key[0]]' "$MOCK_LOG")" \
	'["POST","application/json",2,"secret"]' "the server saw the method, content type, body and query"
is "$(jq -r 'select(.path == "/echo") | .headers.expect // "none"' "$MOCK_LOG")" none "no Expect: 100-continue"
out=$("$h" POST "$MOCK_URL/echo" '{"a":{"b":1}}' 'Authorization: Bearer t0k')
is "$out" 'status 599 attempts 1 body-starts {"error": "mockhttp: unmatched"' "a route used up is not matched again"

out=$("$h" GET "$MOCK_URL/flaky" "" "" 3)
is "$out" 'status 200 attempts 3 body fine' "503 twice, then 200: three attempts"
out=$("$h" GET "$MOCK_URL/nowhere" "" "" 0)
is "${out%% body*}" 'status 599 attempts 1' "no retries asked: one attempt"

out=$(MAX_BODY=10 "$h" GET "$MOCK_URL/big" "" "" 0 2>&1); rc=$?
is "$rc" 1 "a body over the limit fails"
case $out in *"response larger than 10 bytes"*) ok 0 "and says why" ;; *) ok 1 "and says why"; diag "$out" ;; esac

t0=$(date +%s)
out=$(TIMEOUT_MS=700 "$h" GET "$MOCK_URL/stall?token=abc" "" "" 0 2>&1); rc=$?
t1=$(date +%s)
is "$rc" 1 "a stalled server times out"
case $out in *"token=abc"*) ok 1 "the error does not show the query string"; diag "$out" ;;
*"GET $MOCK_URL/stall:"*) ok 0 "the error names the URL without its query string" ;;
*) ok 1 "the error names the URL without its query string"; diag "$out" ;; esac
ok $(( t1 - t0 > 3 ? 1 : 0 )) "the 0.7 s timeout is honoured, not the 5 s stall (took $((t1 - t0)) s)"

out=$("$h" GET "$MOCK_URL/reset" "" "" 0 2>&1); rc=$?
is "$rc" 1 "a reset connection is an error"
done_testing
