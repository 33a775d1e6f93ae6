#!/usr/bin/env bash
# metricwatch's HTTP integrations against tests/mockhttp.py playing Datadog,
# Sentry and Slack: the exact requests, their answers in the real formats,
# errors (403, a bad query, a stall) and that no secret reaches stderr.
# Also `metric` records on stdin, live, with a bad line mid-stream.
. "$(dirname "$0")/lib.sh"
set -u
need jq jq
plan 25
mock_start "$MIGSAFE_ROOT/tests/fixtures/metricwatch/api.json"
tmp=$(mktemp -d)
on_exit rm -rf "$tmp"
mw=$BIN/metricwatch
mig='{"kind":"migration","v":1,"id":"V7__orders_idx","forward":"CREATE INDEX ON orders (status);","rollback":"DROP INDEX orders_status_idx;"}'
export DD_API_KEY=ddkey-123 DD_APP_KEY=appkey-456 SENTRY_AUTH_TOKEN=sntrys_tok SENTRY_URL=$MOCK_URL
fast=(--no-pg --interval 0.1 --cooldown 0.3 --settle 0.3)
events() { jq -r 'select(.kind == "watch" and .event != "sample") | .event + (if .outcome then ":" + .outcome else "" end)' "$1" | paste -sd' '; }

# Datadog: low baseline, then a spike that outlasts the cooldown, then low.
q='sum:trace.errors{env:prod}.as_count()'
echo "$mig" | SLACK_WEBHOOK_URL=$MOCK_URL/services/T0/B0/hooksecret "$mw" "${fast[@]}" --baseline 0.2 --duration 1.4 \
	--datadog "$q" --datadog-site "$MOCK_URL" --datadog-window 60 >"$tmp/dd.out" 2>"$tmp/dd.err"
rc=$?
record_out "$tmp/dd.out"
is "$rc" 1 "datadog: a sustained breach without the rollback flags exits 1"
is "$(events "$tmp/dd.out")" "breach cooldown:sustained cooldown:ended all_clear" "datadog: breach, sustained, ended, all clear"
is "$(jq -r 'select(.event == "breach") | [.metric, .value, .threshold] | @tsv' "$tmp/dd.out")" "datadog_error_rate	50	3" \
	"datadog: the newest non-null point against baseline 1 x 3"
is "$(jq -r 'select(.event == "cooldown" and .outcome == "sustained") | .action' "$tmp/dd.out")" alert_only "datadog: alert only"
is "$(jq -r 'select(.path == "/api/v1/query") | .route' "$MOCK_LOG" | grep -c null)" 0 "datadog: every request matched (path, query, both key headers)"
is "$(jq -r 'select(.path == "/api/v1/query") | (.query.to[0] | tonumber) - (.query.from[0] | tonumber)' "$MOCK_LOG" | sort -u)" 60 \
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
echo "$mig" | "$mw" "${fast[@]}" --baseline 0 --duration 0.25 --error-floor 5 --sentry acme/api >"$tmp/sn.out" 2>"$tmp/sn.err"
is "$?" 0 "sentry: exit 0"
record_out "$tmp/sn.out"
is "$(jq -r 'select(.event == "sample") | [.metric, .value, .labels.count, .labels.bucket_ts] | @tsv' "$tmp/sn.out" | sort -u)" \
	"sentry_error_rate	3	30	1755000010" "sentry: 30 errors in the newest complete 10 s bucket = 3/s"
is "$(jq -r 'select(.path == "/api/0/projects/acme/api/stats/") | [.route != null, (.query.until[0] | tonumber) - (.query.since[0] | tonumber)] | @tsv' "$MOCK_LOG" | sort -u)" \
	"true	600" "sentry: bearer token, stat, resolution, since/until ten minutes apart"
echo "$mig" | "$mw" "${fast[@]}" --baseline 0 --duration 5 --sentry acme/nope >/dev/null 2>"$tmp/sn403.err"
is "$?" 3 "sentry 403: exit 3"
grep -q 'Sentry: HTTP 403: {"detail": "You do not have permission' "$tmp/sn403.err"; ok $? "sentry 403: Sentry's detail is shown"

# stdin metrics, live: a fixed threshold, a bad line skipped, Slack failing.
mkfifo "$tmp/in"
(echo "$mig"; sleep 0.3
 echo '{"kind":"metric","v":1,"name":"p99_ms","value":900,"threshold":500,"ts":1755000000}'
 echo 'not json'; sleep 0.5
 echo '{"kind":"metric","v":1,"name":"p99_ms","value":800,"threshold":500}'; sleep 0.2
 echo '{"kind":"metric","v":1,"name":"p99_ms","value":100,"threshold":500}'; sleep 4) >"$tmp/in" & # time to spare for all_clear on a loaded machine
SLACK_WEBHOOK_URL=$MOCK_URL/services/T0/B0/gone "$mw" --no-pg --interval 0.1 --baseline 0 --cooldown 0.3 --settle 0.3 \
	--duration 2 <"$tmp/in" >"$tmp/st.out" 2>"$tmp/st.err"
is "$?" 1 "stdin: a sustained breach of a fed metric exits 1"
is "$(events "$tmp/st.out")" "breach cooldown:sustained cooldown:ended all_clear" "stdin: breach, sustained (sample after the cooldown), ended"
grep -q '<stdin>:3: warning: invalid JSON; record skipped' "$tmp/st.err"; ok $? "stdin: a bad line during the watch is named and skipped"
ok $(grep -q -e hooksecret -e '/services/' "$tmp/st.err" "$tmp/dd.err"; echo $(( $? == 0 ))) "slack: the webhook URL never appears in errors"
done_testing
