#!/usr/bin/env bash
# metricwatch's HTTP integrations against tests/mockhttp.py playing Datadog,
# Sentry and Slack: the exact requests, their answers in the real formats,
# errors (403, a bad query, a stall) and that no secret reaches stderr.
# Also `metric` records on stdin, live, with a bad line mid-stream. A point
# counts once and only while fresh: a stale spike followed by nulls is no
# data, never a sustained breach.
. "$(dirname "$0")/lib.sh"
set -u
need jq jq
plan 34
tmp=$(mktemp -d)
on_exit rm -rf "$tmp"
# The fixture's points moved to now (metricwatch ignores stale points; the
# cases that are not about age give --max-age 600, so a slow machine's
# seconds between here and there do not make them stale): each
# answer of a Datadog route becomes a route of its own with a newer point,
# 10 ms after the one before; Sentry's buckets end now. Two more Datadog
# queries: a fresh spike then nulls (stale-spike), one old point then nulls.
now_ms=$(date +%s%3N) now=$(date +%s)
jq --argjson now "$now" --argjson now_ms "$now_ms" '
  def pts($k): .body.series[0].pointlist |= [to_entries[] | [$now * 1000 + $k * 10 + .key, .value[1]]];
  reduce .routes[] as $r ({routes: [], k: 0};
    if $r.path == "/api/v1/query" and ($r.body.series? | length) > 0 then
      reduce range($r.times // 1) as $i (.; .k as $k | .routes += [$r | .times = (if $r.times then 1 else null end) | pts($k)] | .k += 1)
    elif ($r.path | test("/stats/$")) and ($r.body | type) == "array" then
      .routes += [$r | .body = [[$now - 20, 0], [$now - 10, 30], [$now, 5]]]
    else .routes += [$r] end)
  | .routes += [
      {method: "GET", path: "/api/v1/query", query: {query: "stale-spike"}, status: 200,
       body: {status: "ok", error: "", series: [{expression: "stale-spike", scope: "*", interval: 10,
         pointlist: [[$now_ms, 50], [$now_ms + 10000, null], [$now_ms + 20000, null]]}]}},
      {method: "GET", path: "/api/v1/query", query: {query: "old-point"}, status: 200,
       body: {status: "ok", error: "", series: [{expression: "old-point", scope: "*", interval: 10,
         pointlist: [[($now - 600) * 1000, 50], [($now - 590) * 1000, null], [($now - 580) * 1000, null]]}]}}]
  | {routes}' "$MIGSAFE_ROOT/tests/fixtures/metricwatch/api.json" >"$tmp/api.json"
mock_start "$tmp/api.json"
mw=$BIN/metricwatch
fast=(--no-pg --interval 0.1 --cooldown 0.3 --settle 0.3)
mig='{"kind":"migration","v":1,"id":"V7__orders_idx","forward":"CREATE INDEX ON orders (status);","rollback":"DROP INDEX orders_status_idx;"}'
export DD_API_KEY=ddkey-123 DD_APP_KEY=appkey-456 SENTRY_AUTH_TOKEN=sntrys_tok SENTRY_URL=$MOCK_URL
events() { jq -r 'select(.kind == "watch" and .event != "sample") | .event + (if .outcome then ":" + .outcome else "" end)' "$1" | paste -sd' '; }

# A stale spike: one point (fresh once) then nulls, read again on every poll.
# It is used once: one breach at most, never sustained, then no data.
echo "$mig" | "$mw" "${fast[@]}" --baseline 0 --duration 1 --max-age 30 --datadog stale-spike \
	--datadog-site "$MOCK_URL" >"$tmp/ss.out" 2>"$tmp/ss.err"
is "$?" 0 "stale spike: exit 0 (nothing sustained)"
record_out "$tmp/ss.out"
ok $(grep -q -e '"outcome":"sustained"' -e rollback_ "$tmp/ss.out"; echo $(( $? == 0 ))) "stale spike: no sustained breach"
is "$(jq -r 'select(.event == "sample" and .value != null) | .value' "$tmp/ss.out" | wc -l | tr -d ' ')" 1 "stale spike: the point is used once"
n=$(jq -r 'select(.event == "sample" and .no_data) | .no_data' "$tmp/ss.out" | wc -l)
ok $(( n >= 3 ? 0 : 1 )) "stale spike: the polls after it are no data ($n)"

# Datadog: low baseline, then a spike that outlasts the cooldown, then low.
q='sum:trace.errors{env:prod}.as_count()'
echo "$mig" | SLACK_WEBHOOK_URL=$MOCK_URL/services/T0/B0/hooksecret "$mw" "${fast[@]}" --baseline 0.2 --duration 1.4 --max-age 600 \
	--datadog "$q" --datadog-site "$MOCK_URL" --datadog-window 60 >"$tmp/dd.out" 2>"$tmp/dd.err"
rc=$?
record_out "$tmp/dd.out"
is "$rc" 1 "datadog: a sustained breach without the rollback flags exits 1"
is "$(events "$tmp/dd.out")" "breach cooldown:sustained cooldown:ended all_clear" "datadog: breach, sustained, ended, all clear"
is "$(jq -r 'select(.event == "breach") | [.metric, .value, .threshold] | @tsv' "$tmp/dd.out")" "datadog_error_rate	50	3" \
	"datadog: the newest non-null point against baseline 1 x 3"
is "$(jq -r 'select(.event == "cooldown" and .outcome == "sustained") | .action' "$tmp/dd.out")" alert_only "datadog: alert only"
is "$(jq -r 'select(.path == "/api/v1/query") | .route' "$MOCK_LOG" | grep -c null)" 0 "datadog: every request matched (path, query, both key headers)"
is "$(jq -r --arg q "$q" 'select(.path == "/api/v1/query" and .query.query[0] == $q) | (.query.to[0] | tonumber) - (.query.from[0] | tonumber)' "$MOCK_LOG" | sort -u)" 60 \
	"datadog: from and to are epoch seconds, --datadog-window apart"
is "$(jq -r 'select(.path == "/services/T0/B0/hooksecret") | .body.text | split(":")[1:3] | join(":")' "$MOCK_LOG" | cut -c1-30 | paste -sd'|')" \
	" migration V7__orders_idx: bre| migration V7__orders_idx: ALE| migration V7__orders_idx: mig" \
	"slack: breach, alert and all-clear posts name the migration"
is "$(jq -r 'select(.path == "/services/T0/B0/hooksecret") | .body.blocks[0].text.type' "$MOCK_LOG" | sort -u)" mrkdwn \
	"slack: text plus mrkdwn blocks"
ok $(grep -q -e ddkey-123 -e appkey-456 "$tmp/dd.err" "$tmp/dd.out"; echo $(( $? == 0 ))) "datadog: no key in output or errors"

# Datadog errors: 403 three times in a row means we cannot watch.
echo "$mig" | "$mw" "${fast[@]}" --baseline 0 --duration 5 --datadog forbidden --datadog-site "$MOCK_URL" \
	>"$tmp/403.out" 2>"$tmp/403.err"
is "$?" 3 "datadog 403: exit 3 (could not watch)"
grep -q 'Datadog: HTTP 403: {"errors": \["Forbidden"\]}' "$tmp/403.err"; ok $? "datadog 403: the error body is shown"
grep -q 'Datadog failed 3 times in a row: cannot watch' "$tmp/403.err"; ok $? "datadog 403: gives up after 3 failures"
echo "$mig" | "$mw" "${fast[@]}" --baseline 0 --duration 5 --datadog 'bad query' --datadog-site "$MOCK_URL" \
	>/dev/null 2>"$tmp/badq.err"
is "$?" 3 "datadog status error: exit 3"
grep -q 'Datadog: query status error: Error parsing query' "$tmp/badq.err"; ok $? "datadog status error: its message is shown"
echo "$mig" | "$mw" "${fast[@]}" --baseline 0 --duration 5 --http-timeout 0.3 --datadog stall --datadog-site "$MOCK_URL" \
	>/dev/null 2>"$tmp/stall.err"
is "$?" 3 "datadog stall: times out, exit 3"
grep -q "Datadog: GET $MOCK_URL/api/v1/query: .*[Tt]imed\? out" "$tmp/stall.err" && ! grep -q 'query=' "$tmp/stall.err"
ok $? "datadog stall: a timeout, naming the URL without its query"

# Sentry: project stats; the newest complete bucket, per second.
echo "$mig" | "$mw" "${fast[@]}" --baseline 0 --duration 0.25 --error-floor 5 --max-age 600 --sentry acme/api >"$tmp/sn.out" 2>"$tmp/sn.err"
is "$?" 0 "sentry: exit 0"
record_out "$tmp/sn.out"
is "$(jq -r 'select(.event == "sample" and .value != null) | [.metric, .value, .labels.count, .labels.bucket_ts] | @tsv' "$tmp/sn.out")" \
	"sentry_error_rate	3	30	$((now - 10))" "sentry: 30 errors in the newest complete 10 s bucket = 3/s, once"
is "$(jq -r 'select(.event == "sample" and .value == null) | .no_data' "$tmp/sn.out" | sort -u)" \
	"no point newer than the last one used" "sentry: the same bucket again is no data"
is "$(jq -r 'select(.path == "/api/0/projects/acme/api/stats/") | [.route != null, (.query.until[0] | tonumber) - (.query.since[0] | tonumber)] | @tsv' "$MOCK_LOG" | sort -u)" \
	"true	600" "sentry: bearer token, stat, resolution, since/until ten minutes apart"
echo "$mig" | "$mw" "${fast[@]}" --baseline 0 --duration 5 --sentry acme/nope >/dev/null 2>"$tmp/sn403.err"
is "$?" 3 "sentry 403: exit 3"
grep -q 'Sentry: HTTP 403: {"detail": "You do not have permission' "$tmp/sn403.err"; ok $? "sentry 403: Sentry's detail is shown"

# stdin metrics, live: a fixed threshold, a bad line skipped, Slack failing.
mkfifo "$tmp/in"
(echo "$mig"; sleep 0.3
 echo '{"kind":"metric","v":1,"name":"p99_ms","value":990,"threshold":500,"ts":1755000000}'
 echo "{\"kind\":\"metric\",\"v\":1,\"name\":\"p99_ms\",\"value\":900,\"threshold\":500,\"ts\":\"$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)\"}"
 echo 'not json'; sleep 0.5
 echo '{"kind":"metric","v":1,"name":"p99_ms","value":800,"threshold":500}'; sleep 0.2
 echo '{"kind":"metric","v":1,"name":"p99_ms","value":100,"threshold":500}'; sleep 4) >"$tmp/in" & # time to spare for all_clear on a loaded machine
SLACK_WEBHOOK_URL=$MOCK_URL/services/T0/B0/gone "$mw" --no-pg --interval 0.1 --baseline 0 --cooldown 0.3 --settle 0.3 \
	--max-age 1 --duration 2 <"$tmp/in" >"$tmp/st.out" 2>"$tmp/st.err"
is "$?" 1 "stdin: a sustained breach of a fed metric exits 1"
is "$(events "$tmp/st.out")" "breach cooldown:sustained cooldown:ended all_clear" "stdin: breach, sustained (sample after the cooldown), ended"
grep -q '<stdin>:4: warning: invalid JSON; record skipped' "$tmp/st.err"; ok $? "stdin: a bad line during the watch is named and skipped"
is "$(jq -r 'select(.event == "sample" and .labels.source_ts == 1755000000) | [(.value | tostring), (.no_data | startswith("stale"))] | @tsv' "$tmp/st.out")" \
	"null	true" "stdin: a record whose ts is old is no data, not a breach of 990"
is "$(jq -r 'select(.event == "breach") | .value' "$tmp/st.out")" 900 "stdin: the breach is the fresh record's"
ok $(grep -q -e hooksecret -e '/services/' "$tmp/st.err" "$tmp/dd.err"; echo $(( $? == 0 ))) "slack: the webhook URL never appears in errors"
# One old point then nulls: stale from the start, no data, no breach.
echo "$mig" | "$mw" "${fast[@]}" --baseline 0 --duration 0.5 --datadog old-point --datadog-site "$MOCK_URL" \
	>"$tmp/op.out" 2>"$tmp/op.err"
is "$?" 0 "old point: exit 0"
is "$(jq -r 'select(.event == "sample") | [(.value | tostring), (.no_data | test("^stale: the newest point is 6[0-9][0-9][.][0-9]s old"))] | @tsv' "$tmp/op.out" | sort -u)" \
	"null	true" "old point: every poll is no data (stale, by the point's own timestamp)"
done_testing
