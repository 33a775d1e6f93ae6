#!/usr/bin/env bash
# faults.t — the failures a run meets in production, injected: stdout closed
# by the reader (a closed pipe) or full (/dev/full), the database connection
# dropped mid-migration (applyexplain) and mid-COPY (mkshadow), the shadow
# server killed, and a GitHub API that resets or stalls (mkrunbook). Each
# must end in a clear message on stderr, the documented exit code (3: a
# runtime failure), nothing on stdout (no partial record), and nothing left
# running: no session, no server, no shadow folder.
#
# The database parts run on PostgreSQL 15 (fails without it). The stall
# waits out mkrunbook's request timeout, set to 2 s by --http-timeout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

for p in schema2dag lockscore nl2mig mkrunbook mkshadow applyexplain; do
	[ -x "$BIN/$p" ] || bail_out "bin/$p is not built"
done
need jq jq
need python3 python3
need psql postgresql-client-15
need /usr/lib/postgresql/15/bin/initdb postgresql-15

tmp=$(mktemp -d)
on_exit rm -rf "$tmp"
F=$MIGSAFE_ROOT/tests/fixtures

# closed OUT ERR CMD...: run CMD with stdout a pipe whose reader is already
# gone (as after `| head -1` has exited); its exit code (negative: killed
# by that signal) in $rc, stderr in ERR.
cat >"$tmp/closed.py" <<'EOF'
import os, subprocess, sys
err = open(sys.argv[1], "wb")
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[2:], stdout=w, stderr=err, stdin=subprocess.DEVNULL)
print(p.returncode)
EOF
closed() { rc=$(python3 "$tmp/closed.py" "$@"); }

# wrote_error NAME REASON: the run exited 3 and said why on stderr
wrote_error() {
	local name=$1 why=$2
	if [ "$rc" = 3 ] && grep -q "write error on stdout: $why" "$tmp/err"; then
		ok 0 "$name: exit 3, 'write error on stdout: $why'"
	else
		ok 1 "$name: exit 3, 'write error on stdout: $why'"
		diag "exit $rc: $(cat "$tmp/err")"
	fi
}

# ---- stdout closed, stdout full ----
nl_args=(--provider builtin --no-lint --version 20250101000000 "add soft_delete column to orders table with a default of false")
declare -A cmds=(
	[schema2dag]="$BIN/schema2dag --sql $F/lockscore/shop.sql"
	[lockscore]="$BIN/lockscore $F/lockscore/dangerous.sql"
	[lockscore-text]="$BIN/lockscore --format text $F/lockscore/dangerous.sql"
	[lockscore-sarif]="$BIN/lockscore --format sarif $F/lockscore/dangerous.sql"
	[mkrunbook-review]="$BIN/mkrunbook --review $F/mkrunbook/high.ndjson"
	[mkrunbook-runbook]="$BIN/mkrunbook $F/mkrunbook/high.ndjson"
)
for name in schema2dag lockscore lockscore-text lockscore-sarif mkrunbook-review mkrunbook-runbook; do
	# shellcheck disable=SC2086
	closed "$tmp/err" ${cmds[$name]}
	wrote_error "$name, stdout closed" "Broken pipe"
	rc=0
	# shellcheck disable=SC2086
	${cmds[$name]} >/dev/full 2>"$tmp/err" || rc=$?
	wrote_error "$name, disk full" "No space left on device"
done
# the wrapper's stdin is /dev/null: a shell in between gives nl2mig its DAG
closed "$tmp/err" bash -c "exec \"\$0\" \"\$@\" <'$MIGSAFE_ROOT/tests/golden/nl2mig/add-column/stdin'" "$BIN/nl2mig" "${nl_args[@]}"
wrote_error "nl2mig with a DAG, stdout closed" "Broken pipe"
closed "$tmp/err" bash -c "exec \"\$0\" --destroy <'$F/lockscore/shop-50m.ndjson'" "$BIN/mkshadow"
wrote_error "mkshadow --destroy (forwarding), stdout closed" "Broken pipe"

# a real reader that stops early: 2,000 tables of DAG through `head -c 1`
python3 -c '
for i in range(2000):
    print("CREATE TABLE t%d (id bigint PRIMARY KEY, a text NOT NULL, b int REFERENCES t%d (id));" % (i, max(i - 1, 0)))
' >"$tmp/wide.sql"
rc=0
set +o pipefail
"$BIN/schema2dag" --sql "$tmp/wide.sql" 2>"$tmp/err" | head -c 1 >/dev/null
rc=${PIPESTATUS[0]}
set -o pipefail
wrote_error "schema2dag | head -c 1 (2,000 tables)" "Broken pipe"

# ---- the database ----
pg_start
url_of() { echo "$1" | sed "s|/postgres?|/$2?|"; }
q() { psql -X -At -v ON_ERROR_STOP=1 "$@"; }

# big_tpl: 2,000,000 rows (about 130 MB): rewriting or copying it takes seconds
q "$PGURL" -c "CREATE DATABASE big_tpl" >/dev/null
q "$(url_of "$PGURL" big_tpl)" -c "CREATE TABLE big (id bigint PRIMARY KEY, v int, t text)" \
	-c "INSERT INTO big SELECT g, g % 1000, md5(g::text) FROM generate_series(1, 2000000) g" -c "ANALYZE big" >/dev/null

# shadow SERVER NAME: a marked shadow database cloned from big_tpl; URL in $S
shadow() {
	q "$1" -c "CREATE DATABASE $2 TEMPLATE big_tpl" >/dev/null
	seal_shadow "$1" "$2"
	S=$(url_of "$1" "$2")
}
records() {
	jq -cn --arg url "$S" '{kind:"shadow",v:1,url:$url,provider:"local",server_version:"15",sample_percent:5,masked:[]}'
	jq -cn --arg f "$1" '{kind:"migration",v:1,id:"V2__big",forward:$f,rollback:null}'
}
# wait_for URL SQL: poll (50 ms, up to 60 s) until SQL returns a row; it in $got
wait_for() {
	local i
	for ((i = 0; i < 1200; i++)); do
		got=$(q "$1" -c "$2" 2>/dev/null || true)
		[ -n "$got" ] && return 0
		sleep 0.05
	done
	return 1
}
# sessions URL APP_PREFIX: client sessions left whose application_name starts so
# (a terminated backend may take a moment to go: up to 5 s)
sessions() {
	local i n
	for ((i = 0; i < 50; i++)); do
		n=$(q "$1" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '$2%' AND pid <> pg_backend_pid()")
		[ "$n" = 0 ] && break
		sleep 0.1
	done
	echo "$n"
}
# failed NAME WANT_STDERR: exit 3, stderr matching WANT_STDERR (grep -E), nothing on stdout
failed() {
	if [ "$rc" = 3 ] && grep -Eq "$2" "$tmp/err" && [ ! -s "$tmp/out" ]; then
		ok 0 "$1: exit 3, a clear error, nothing on stdout"
	else
		ok 1 "$1: exit 3, a clear error, nothing on stdout"
		diag "exit $rc, $(wc -c <"$tmp/out") bytes on stdout, stderr: $(cat "$tmp/err")"
	fi
}

# ---- applyexplain: stdout closed ----
shadow "$PGURL" s_closed
records "ALTER TABLE big ADD COLUMN z int;" >"$tmp/in"
closed "$tmp/err" bash -c "exec \"\$0\" --no-plans --no-rollback <'$tmp/in'" "$BIN/applyexplain"
wrote_error "applyexplain, stdout closed" "Broken pipe"

# ---- applyexplain: its session terminated mid-migration ----
shadow "$PGURL" s_term
rc=0
records "ALTER TABLE big ADD COLUMN z int; ALTER TABLE big ALTER COLUMN v TYPE text;" |
	"$BIN/applyexplain" --no-plans --no-rollback >"$tmp/out" 2>"$tmp/err" &
ae=$!
if wait_for "$S" "SELECT pid FROM pg_stat_activity WHERE application_name = 'applyexplain' AND state = 'active' AND query LIKE 'ALTER TABLE big ALTER%'"; then
	q "$S" -c "SELECT pg_terminate_backend($got)" >/dev/null
fi
wait $ae || rc=$?
failed "applyexplain, backend terminated during the rewrite" \
	"V2__big: statement 1 \(line 1\): lost the connection to the shadow: .*terminating connection"
is "$(sessions "$S" applyexplain)" 0 "applyexplain, backend terminated: no session of it left on the shadow"

# ---- applyexplain: the shadow server stopped (immediate) mid-migration ----
other=$("$MIGSAFE_ROOT/scripts/pg-tmp" start --port 5439)
on_exit "$MIGSAFE_ROOT/scripts/pg-tmp" stop "$other"
q "$other" -c "CREATE DATABASE big_tpl" >/dev/null
q "$(url_of "$other" big_tpl)" -c "CREATE TABLE big (id bigint PRIMARY KEY, v int, t text)" \
	-c "INSERT INTO big SELECT g, g % 1000, md5(g::text) FROM generate_series(1, 2000000) g" >/dev/null
shadow "$other" s_crash
odir=$(echo "$other" | sed 's/.*host=\([^&]*\).*/\1/')
rc=0
records "ALTER TABLE big ALTER COLUMN v TYPE text;" |
	"$BIN/applyexplain" --no-plans --no-rollback >"$tmp/out" 2>"$tmp/err" &
ae=$!
if wait_for "$S" "SELECT pid FROM pg_stat_activity WHERE application_name = 'applyexplain' AND state = 'active' AND query LIKE 'ALTER TABLE big%'"; then
	# the server's processes, then an immediate shutdown: every backend gone at once
	pm=$(head -n 1 "$odir/data/postmaster.pid")
	kill -QUIT "$pm"
fi
wait $ae || rc=$?
failed "applyexplain, shadow server stopped during the rewrite" \
	"(lost the (connection to the )?shadow|server closed the connection|terminating connection)"

# ---- mkshadow: production's session terminated mid-COPY ----
q "$PGURL" -c "CREATE DATABASE prod TEMPLATE big_tpl" >/dev/null
P=$(url_of "$PGURL" prod)
st=$tmp/shadows # mkshadow's TMPDIR: the local shadows of this test only
mkdir -p "$st"
chmod 755 "$tmp" "$st"
on_exit bash -c "TMPDIR=$st $BIN/mkshadow --gc --older-than 0 >/dev/null 2>&1 || true"
ms() { TMPDIR=$st MIGSAFE_MASK_KEY=test-key "$BIN/mkshadow" --from-db "$P" --sample 100 </dev/null >"$tmp/out" 2>"$tmp/err"; }
copying="SELECT pid FROM pg_stat_activity WHERE application_name = 'mkshadow' AND state = 'active' AND query LIKE 'COPY%' LIMIT 1"
# shadow_procs: pids of the postgres processes of the shadows being built
shadow_procs() {
	local f
	for f in "$st"/*/data/postmaster.pid; do
		[ -f "$f" ] || continue
		pm=$(head -n 1 "$f")
		echo "$pm" $(ps -o pid= --ppid "$pm")
	done
}
alive() {
	local p n=0
	for p in "$@"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done
	echo $n
}

rc=0
ms &
msp=$!
if wait_for "$P" "$copying"; then
	q "$P" -c "SELECT pg_terminate_backend($got)" >/dev/null
fi
wait $msp || rc=$?
failed "mkshadow, production session terminated during COPY" "mkshadow: .*public.big: .*(server closed|terminat)"
is "$(find "$st" -mindepth 1 -maxdepth 1 | wc -l)" 0 "mkshadow, production session terminated: no shadow folder left"
is "$(sessions "$P" mkshadow)" 0 "mkshadow, production session terminated: no session of it left on production"

# ---- mkshadow: the shadow server killed mid-COPY ----
# (production is read while the shadow is created: wait for rows going into
# the shadow itself, on the private socket of its cluster)
shadow_copying() {
	local f d i n
	for ((i = 0; i < 1200; i++)); do
		for f in "$st"/*/data/postmaster.pid; do
			[ -f "$f" ] || continue
			d=$(dirname "$(dirname "$f")")
			n=$(q "postgresql://postgres@/postgres?host=$d&port=5432" \
				-c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%FROM STDIN'" 2>/dev/null || true)
			[ "${n:-0}" -gt 0 ] && return 0
		done
		sleep 0.05
	done
	return 1
}
rc=0
ms &
msp=$!
procs=
if shadow_copying; then
	procs=$(shadow_procs)
	kill -KILL ${procs%% *}
fi
ok "$([ -n "$procs" ] && echo 0 || echo 1)" "mkshadow, shadow server killed: it was killed while rows went in"
wait $msp || rc=$?
failed "mkshadow, shadow server killed during COPY" "mkshadow: .*(shadow|server closed|terminat)"
is "$(find "$st" -mindepth 1 -maxdepth 1 | wc -l)" 0 "mkshadow, shadow server killed: no shadow folder left"
for ((i = 0; i < 50; i++)); do
	# shellcheck disable=SC2086
	[ "$(alive $procs)" = 0 ] && break
	sleep 0.1
done
# shellcheck disable=SC2086
is "$(alive $procs)" 0 "mkshadow, shadow server killed: none of its processes left ($(echo $procs | wc -w) watched)"
is "$(sessions "$P" mkshadow)" 0 "mkshadow, shadow server killed: no session of it left on production"

# ---- mkrunbook --github-comment: the API resets, the API stalls ----
cat >"$tmp/api.json" <<'EOF'
{"routes": [
  {"method": "GET", "path": "/repos/acme/shop/issues/21/comments", "action": "reset"},
  {"method": "GET", "path": "/repos/acme/shop/issues/22/comments", "status": 200, "body": []},
  {"method": "POST", "path": "/repos/acme/shop/issues/22/comments", "action": "stall", "seconds": 20}
]}
EOF
mock_start "$tmp/api.json"
export GITHUB_API_URL=$MOCK_URL GITHUB_REPOSITORY=acme/shop GITHUB_TOKEN=ghs_faulttoken42
rc=0
"$BIN/mkrunbook" --review --github-comment --pr 21 "$F/mkrunbook/high.ndjson" >"$tmp/out" 2>"$tmp/err" || rc=$?
failed "mkrunbook, GitHub resets the connection" "GitHub GET .*/repos/acme/shop/issues/21/comments: "
is "$(jq -s 'map(select(.path == "/repos/acme/shop/issues/21/comments")) | length' "$MOCK_LOG")" 3 \
	"mkrunbook, reset: the GET was tried 3 times (2 retries)"
if grep -q ghs_faulttoken42 "$tmp/err"; then ok 1 "mkrunbook, reset: the token is not printed"; else ok 0 "mkrunbook, reset: the token is not printed"; fi
rc=0
t0=$(date +%s)
"$BIN/mkrunbook" --review --github-comment --pr 22 --http-timeout 2s "$F/mkrunbook/high.ndjson" >"$tmp/out" 2>"$tmp/err" || rc=$?
took=$(($(date +%s) - t0))
failed "mkrunbook, GitHub stalls on the POST (${took}s)" "GitHub POST .*/repos/acme/shop/issues/22/comments: .*(Timeout|timed out)"
ok $((took >= 15)) "mkrunbook, stall: --http-timeout 2s gives up before the server's 20 s stall (${took}s)"
is "$(jq -s 'map(select(.method == "POST")) | length' "$MOCK_LOG")" 1 \
	"mkrunbook, stall: the POST is not retried (a retried POST could comment twice)"
rc=0
"$BIN/mkrunbook" --review --http-timeout 0 "$F/mkrunbook/high.ndjson" >"$tmp/out" 2>"$tmp/err" || rc=$?
is "$rc:$(wc -c <"$tmp/out")" "2:0" "mkrunbook, --http-timeout 0: a usage error, nothing on stdout"

done_testing
