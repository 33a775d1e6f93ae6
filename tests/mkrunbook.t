#!/usr/bin/env bash
# mkrunbook: the documents survive a CommonMark parser (cmark), the SVG
# timeline is well-formed and complete, publishing speaks GitHub's REST API
# (against tests/mockhttp.py), and every destination gets the whole document.
. "$(dirname "$0")/lib.sh"
set -u
plan 39
mk=$BIN/mkrunbook
F=$MIGSAFE_ROOT/tests/fixtures/mkrunbook
[ -x "$mk" ] || bail_out "bin/mkrunbook is not built"
tmp=$(mktemp -d)
on_exit rm -rf "$tmp"

# ---- CommonMark: every table, <details> and fence intact ----
need cmark cmark
{
	for doc in review runbook; do
		for c in low medium high many; do
			"$mk" --$doc "$F/$c.ndjson" >"$tmp/$doc-$c.md"
			cmark --sourcepos -t xml "$tmp/$doc-$c.md" >"$tmp/$doc-$c.xml"
			out=$(python3 "$F/mdcheck.py" "$tmp/$doc-$c.md" "$tmp/$doc-$c.xml" 2>&1)
			ok $? "$doc of the $c-risk stream renders with cmark without loss"
			[ -z "${out//\#*/}" ] || diag "$out"
		done
	done
	"$mk" --review --max-chars 4000 "$F/high.ndjson" >"$tmp/cut.md"
	cmark --sourcepos -t xml "$tmp/cut.md" >"$tmp/cut.xml"
	python3 "$F/mdcheck.py" "$tmp/cut.md" "$tmp/cut.xml" >/dev/null 2>&1
	ok $? "a review cut at 4000 bytes is still intact"
	# the checker itself must catch a broken document: a table row short of a cell, a glued </details>
	sed -e 's/^| 0 | 2 | /| 0 | /' -e 's/^<\/details>$/text<\/details>/' "$tmp/review-high.md" >"$tmp/broken.md"
	cmark --sourcepos -t xml "$tmp/broken.md" >"$tmp/broken.xml"
	out=$(python3 "$F/mdcheck.py" "$tmp/broken.md" "$tmp/broken.xml" 2>/dev/null)
	case $out in *"cells, header has"*"<details> left open"*) ok 0 "the check rejects a broken table and a broken </details>" ;;
	*) ok 1 "the check rejects a broken table and a broken </details>"; diag "$out" ;; esac
}

# ---- the limit: never over it, cut between rows, said so ----
"$mk" --review "$F/many.ndjson" >"$tmp/many.md"
n=$(wc -c <"$tmp/many.md")
ok $((n > 65536)) "a 400-statement review fits GitHub's 65,536 (got $n bytes)"
grep -q '^\*[0-9]* more rows of this table left out' "$tmp/many.md"
ok $? "the cut table says how many rows were left out"
tail -n 1 "$tmp/many.md" | grep -q '^> \*\*Truncated\.\*\*'
ok $? "the truncation note ends the report"

# ---- SVG: well-formed, every statement and every table shown ----
for c in medium high many; do
	"$mk" --review --svg "$tmp/$c.svg" --out "$tmp/$c-out.md" "$F/$c.ndjson"
	out=$(python3 - "$tmp/$c.svg" "$F/$c.ndjson" <<'EOF'
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
texts = {"".join(t.itertext()).split("(")[0].strip() if False else (t.text or "").strip()
         for t in root.iter("{http://www.w3.org/2000/svg}text")}
want_s, want_t = set(), set()
for line in open(sys.argv[2]):
    r = json.loads(line)
    if r["kind"] == "statement":
        want_s.add("#%d" % r["index"])
        want_t.update(l["table"] for l in r["locks"])
miss = sorted((want_s | want_t) - texts)
print("missing: " + ", ".join(miss) if miss else "ok %d statements %d tables" % (len(want_s), len(want_t)))
EOF
	)
	case $out in ok*) ok 0 "the $c SVG is well-formed XML with every statement and table ($out)" ;;
	*) ok 1 "the $c SVG is well-formed XML with every statement and table"; diag "$out" ;; esac
done

# ---- GitHub ----
mock_start "$F/api.json"
export GITHUB_API_URL=$MOCK_URL GITHUB_REPOSITORY=acme/shop GITHUB_TOKEN=ghs_testtoken123
"$mk" --review "$F/high.ndjson" >"$tmp/review.md"
"$mk" "$F/high.ndjson" >"$tmp/runbook.md"

out=$("$mk" --review --github-comment --pr 12 "$F/high.ndjson" 2>"$tmp/err"); rc=$?
is "$rc:$out" "0:" "PR 12: the comment is updated, nothing on stdout"
is "$(jq -r 'select(.route != null) | "\(.method) \(.path) \(.query.page[0] // "")"' "$MOCK_LOG" | tr '\n' ,)" \
	"GET /repos/acme/shop/issues/12/comments 1,GET /user ,GET /repos/acme/shop/issues/12/comments 2,PATCH /repos/acme/shop/issues/comments/777 ," \
	"it pages through 100 comments, passes mallory's marked comment, asks who it is (403: the Actions bot), and updates the bot's"
jq -j 'select(.method == "PATCH") | .body.body' "$MOCK_LOG" >"$tmp/patched.md"
cmp -s "$tmp/patched.md" "$tmp/review.md"
ok $? "the PATCH body is the review, whole"
is "$(jq -r 'select(.method == "PATCH") | [.headers.authorization, .headers.accept, .headers["x-github-api-version"], .headers["user-agent"]] | join(" ; ")' "$MOCK_LOG")" \
	"Bearer ghs_testtoken123 ; application/vnd.github+json ; 2022-11-28 ; migsafe-mkrunbook/1.0" "the headers GitHub requires"
grep -q 'updated comment 777 on #12' "$tmp/err"
ok $? "stderr says which comment was updated"

echo '{"action":"synchronize","pull_request":{"number":13}}' >"$tmp/event.json"
out=$(GITHUB_EVENT_PATH=$tmp/event.json "$mk" --review --github-comment "$F/medium.ndjson" 2>"$tmp/err"); rc=$?
is "$rc" 0 "PR 13 from GITHUB_EVENT_PATH: no marked comment, so one is created"
is "$(jq -r 'select(.method == "POST" and (.path | endswith("/13/comments"))) | .route != null' "$MOCK_LOG")" true \
	"the POST went to the PR's comments"
jq -r 'select(.method == "POST" and (.path | endswith("/13/comments"))) | .body.body' "$MOCK_LOG" | head -n 1 >"$tmp/first"
is "$(cat "$tmp/first")" "<!-- migsafe:review -->" "the new comment starts with the hidden marker"

out=$("$mk" --review --github-comment --pr 14 "$F/high.ndjson" 2>"$tmp/err"); rc=$?
is "$rc" 3 "a GitHub error exits 3"
grep -q 'GitHub GET .*/repos/acme/shop/issues/14/comments: 403 Resource not accessible by integration' "$tmp/err"
ok $? "the error shows the request, the status and GitHub's message"
grep -q ghs_testtoken123 "$tmp/err"
ok $((!$?)) "the token never appears, even when the server echoes it"
is "$out" "" "nothing reaches stdout when publishing fails"

out=$("$mk" --github-release v1.4.0 "$F/high.ndjson" 2>"$tmp/err"); rc=$?
is "$rc" 0 "a release is created"
jq -j 'select(.path == "/repos/acme/shop/releases" and .route != null and .body.tag_name == "v1.4.0") | .body.body' "$MOCK_LOG" >"$tmp/released.md"
cmp -s "$tmp/released.md" "$tmp/runbook.md"
ok $? "its body is the runbook"
out=$("$mk" --github-release v1.3.0 "$F/high.ndjson" 2>&1); rc=$?
case "$rc:$out" in "3:"*"422 Validation Failed (tag_name: already_exists)"*) ok 0 "an existing tag: 422 with GitHub's reason, exit 3" ;;
*) ok 1 "an existing tag: 422 with GitHub's reason, exit 3"; diag "$rc: $out" ;; esac

out=$(env -u GITHUB_TOKEN "$mk" --review --github-comment --pr 12 "$F/high.ndjson" 2>&1); rc=$?
case "$rc:$out" in "2:"*GITHUB_TOKEN*) ok 0 "no GITHUB_TOKEN: a usage error, before any request" ;;
*) ok 1 "no GITHUB_TOKEN: a usage error"; diag "$rc: $out" ;; esac

# ---- GitHub: only a comment the token's own identity wrote is updated ----
gh_owner() { # token pr: the requests made (method path, all of them), then the exit status
	: >"$MOCK_LOG"
	GITHUB_TOKEN=$1 "$mk" --review --github-comment --pr "$2" "$F/low.ndjson" >/dev/null 2>"$tmp/err"
	echo "$(jq -r '"\(.method) \(.path)"' "$MOCK_LOG" | tr '\n' ,)$?"
}
mock_start "$F/api-owner.json"
export GITHUB_API_URL=$MOCK_URL
is "$(gh_owner ghp_alice 20)" "GET /repos/acme/shop/issues/20/comments,GET /user,PATCH /repos/acme/shop/issues/comments/2002,0" \
	"a user token (GET /user: alice) updates alice's marked comment, not mallory's one before it"
grep -q 'comment 2001 by mallory carries the marker but was not written by alice: left alone' "$tmp/err"
ok $? "the comment left alone is named on stderr"
is "$(gh_owner ghp_alice 21)" "GET /repos/acme/shop/issues/21/comments,GET /user,POST /repos/acme/shop/issues/21/comments,0" \
	"only another user's marked comment: a new comment is posted, the other is not touched"
is "$(gh_owner ghp_alice 22)" "GET /repos/acme/shop/issues/22/comments,GET /user,POST /repos/acme/shop/issues/22/comments,0" \
	"a user token does not take over the Actions bot's comment"
is "$(gh_owner ghs_app 23)" "GET /repos/acme/shop/issues/23/comments,GET /user,PATCH /repos/acme/shop/issues/comments/2304,0" \
	"the Actions token (GET /user 403) updates only github-actions[bot] of type Bot: not a user's, nor another app's"

# ---- step summary and --out ----
: >"$tmp/summary.md"
GITHUB_STEP_SUMMARY=$tmp/summary.md "$mk" --review --step-summary "$F/low.ndjson" >"$tmp/stdout"
GITHUB_STEP_SUMMARY=$tmp/summary.md "$mk" --step-summary "$F/low.ndjson" >>"$tmp/stdout"
is "$(grep -c '^<!-- migsafe:' "$tmp/summary.md"):$(wc -c <"$tmp/stdout")" "2:0" "--step-summary appends each document, stdout stays empty"
# fuzz_github found it: a PR number out of long's range was cast (undefined)
printf '{"pull_request":{"number":8.9e109}}' >"$tmp/ev-huge.json"
out=$(GITHUB_EVENT_PATH=$tmp/ev-huge.json GITHUB_TOKEN=t GITHUB_REPOSITORY=a/b "$BIN/mkrunbook" --review --github-comment \
	<"$MIGSAFE_ROOT/tests/fixtures/mkrunbook/low.ndjson" 2>&1)
is "$?:$(head -n 1 <<<"$out")" "2:mkrunbook: $tmp/ev-huge.json has no pull_request.number: give --pr N" \
	"a PR number of 8.9e109 in the event is refused, not cast"
done_testing
