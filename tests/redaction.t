#!/usr/bin/env bash
# redaction.t — no secret of a connection string (password, sslpassword)
# reaches a message, the records, or the process list, however it is
# spelled: in a URL's userinfo or query (names and values percent-encoded),
# or in key=value form (quoted, with escapes), with several hosts, and with
# '@' ':' '/' '%' '&' and spaces in it.
#
# Against a real PostgreSQL, where the role redact_u logs in with a password
# (the connections that must fail carry a wrong password, name a database
# that does not exist, or carry a bad escape or port that libpq quotes back
# in its message):
#   - schema2dag --db and metricwatch --pg fail with every spelling, and
#     neither stderr nor stdout holds the secret, in any encoding;
#   - while they run, /proc/PID/cmdline holds no secret but the rest of the
#     argument, and they still connect with it (they read a private copy);
#   - pipeline.sh's say() removes every spelling too.
. "$(dirname "$0")/lib.sh"
set -u

need psql postgresql-client-15
need perl perl
need_bin schema2dag metricwatch
plan 6
pg_start
work=$(mktemp -d)
on_exit rm -rf "$work"
host=$(sed -E 's/.*[?&]host=([^&]*).*/\1/' <<<"$PGURL")
port=$(sed -E 's/.*[?&]port=([^&]*).*/\1/' <<<"$PGURL")
# redact_u must give its password (the cluster trusts everyone else), so a
# program that connects with an overwritten copy of it fails
unset PGPASSWORD PGPASSFILE PGSERVICE
psql -qX -v ON_ERROR_STOP=1 "$PGURL" >/dev/null <<'SQL' || bail_out "cannot set up redact_u"
CREATE ROLE redact_u LOGIN PASSWORD 's3cr 3t''pw';
CREATE TEMP TABLE hba (line text);
INSERT INTO hba VALUES ('local all redact_u scram-sha-256'), ('local all all trust');
DO $$ BEGIN EXECUTE format('COPY hba TO %L', current_setting('hba_file')); END $$;
SELECT pg_reload_conf();
SQL
migration='{"kind":"migration","v":1,"id":"V1__x","forward":"SELECT 1;","rollback":"SELECT 2;"}'

# leaks SECRET FILE...: the files hold SECRET literally, once %XX escapes
# are decoded, or once backslash escapes are
leaks() {
	local secret=$1
	shift
	cat "$@" | perl -ne 'BEGIN { $s = shift @ARGV } $p = $_; $p =~ s/%([0-9a-fA-F]{2})/chr hex $1/ge;
		($e = $_) =~ s/\\(.)/$1/g;
		$hit = 1 if index($_, $s) >= 0 || index($p, $s) >= 0 || index($e, $s) >= 0;
		END { exit($hit ? 0 : 1) }' "$secret"
}

# Each case: the secret, then a connection string that fails.
where="host=$host&port=$port"
cases=(
	s3cr3tpw "postgresql://redact_u:s3cr3tpw@/nodb?$where"
	s3cr3tpw "postgres://redact_u:s3cr3tpw%zz@/nodb?$where"
	s3cr3tpw "postgresql://redact_u@/nodb?$where&password=s3cr3tpw%zz"
	s3cr3tpw "postgresql://redact_u@/nodb?$where&sslpassword=s3cr3tpw%zz"
	s3cr3tpw "postgresql://redact_u@/nodb?$where&SSLPassword=s3cr3tpw%zz"
	s3cr3tpw "postgresql://redact_u@/nodb?pass%77ord=s3cr3tpw%zz&$where"
	s3cr3tpw "postgresql://redact_u@/nodb?$where&%73sl%70%61ssword=s3cr3tpw%zz"
	s3cr3tpw "postgresql://redact_u:%73%33cr3tpw@/nodb?$where"
	s3cr3tpw "postgresql://redact_u:s%33cr3tpw%zz@/nodb?$where"
	s3cr3tpw "postgresql://redact_u:s3cr3tpw%zz@h1.invalid,h2.invalid:5433/nodb"
	s3cr3tpw "host=$host port=s3cr3tpw user=redact_u sslpassword=s3cr3tpw dbname=nodb"
	"s3cr 3t'pw" "host=$host port=$port user=redact_u password='s3cr 3t\\'pw' dbname=nodb"
	"s3cr 3tpw" "host=$host port='s3cr 3tpw' user=redact_u password=s3cr\\ 3tpw dbname=nodb"
	"p@:/%& w0rd" "postgresql://redact_u:p%40%3A%2F%25%26%20w0rd%zz@/nodb?$where"
	"p@:/%& w0rd" "postgresql://redact_u@/nodb?$where&sslpassword=p%40%3a%2f%25%26%20w0rd%zz"
)

# check_fails NAME CMD...: CMD fails with "prog: message" for every case's URL
# (put in place of the word URL), and says no secret on stdout or stderr
check_fails() {
	local name=$1 i bad=0 rc a args
	shift
	for ((i = 0; i < ${#cases[@]}; i += 2)); do
		args=()
		for a in "$@"; do [ "$a" = URL ] && args+=("${cases[i + 1]}") || args+=("$a"); done
		rc=0
		printf '%s\n' "$migration" | "${args[@]}" >"$work/out" 2>"$work/err" || rc=$?
		if [ "$rc" = 0 ] || ! grep -q "^${args[0]##*/}: ." "$work/err"; then
			bad=1 && diag "did not fail (exit $rc): ${cases[i + 1]}" && cat "$work/err" >&2
		elif leaks "${cases[i]}" "$work/out" "$work/err"; then
			bad=1 && diag "secret in the output of: ${cases[i + 1]}" && cat "$work/err" >&2
		fi
	done
	ok "$bad" "$name: no secret in any output, $((${#cases[@]} / 2)) spellings"
}

check_fails "schema2dag --db" "$BIN/schema2dag" --db URL
check_fails "metricwatch --pg" "$BIN/metricwatch" --pg URL --duration 0.1 --baseline 0 --settle 0

# check_cmdline NAME SECRET... -- CMD...: while CMD runs, its
# /proc/PID/cmdline loses every SECRET (within 5 s) but keeps "host=";
# CMD's stdin is a fifo held open until then. CMD must then exit 0 (so it
# connected with the URL it was given, as it was given), with output and
# no secret in it.
check_cmdline() {
	local name=$1 secrets=() s pid n hidden=1 rc=0 fifo=$work/fifo
	shift
	while [ "$1" != -- ]; do secrets+=("$1") && shift; done
	shift
	rm -f "$fifo" && mkfifo "$fifo"
	exec 3<>"$fifo"
	"$@" <"$fifo" >"$work/out" 2>"$work/err" 3>&- &
	pid=$!
	for ((n = 0; n < 50; n++)); do
		tr '\0' ' ' <"/proc/$pid/cmdline" >"$work/cmdline" 2>/dev/null || break
		# until exec, the child is still this shell
		grep -qF -- "$1 " "$work/cmdline" || { sleep 0.1 && continue; }
		hidden=0
		for s in "${secrets[@]}"; do leaks "$s" "$work/cmdline" && hidden=1; done
		[ "$hidden" = 1 ] || break
		sleep 0.1
	done
	local shown=1
	[ "$hidden" = 0 ] && kill -0 "$pid" 2>/dev/null && grep -q 'host=' "$work/cmdline" && shown=0
	[ "$shown" = 0 ] || diag "cmdline: $(cat "$work/cmdline")"
	printf '%s\n' "$migration" >&3
	exec 3>&-
	wait "$pid" || rc=$?
	hidden=0
	for s in "${secrets[@]}"; do leaks "$s" "$work/out" "$work/err" && hidden=1 && diag "secret in the output"; done
	[ "$shown" = 0 ] && [ "$rc" = 0 ] && [ "$hidden" = 0 ] && [ -s "$work/out" ]
	ok $? "$name: /proc/PID/cmdline hides the secret while it runs, and it still connects with it"
	[ "$rc" = 0 ] || diag "exit $rc: $(cat "$work/err")"
}

check_cmdline "schema2dag --db URL" "s3cr 3t'pw" an0th3rpw -- \
	"$BIN/schema2dag" --db "postgresql://redact_u:s3cr%203t%27pw@/postgres?$where&ssl%70assword=an0th3rpw" -
check_cmdline "metricwatch --pg=CONNINFO" "s3cr 3t'pw" an0th3rpw -- \
	"$BIN/metricwatch" "--pg=host=$host port=$port user=redact_u password='s3cr 3t\\'pw' sslpassword=an0th3rpw dbname=postgres" \
	--duration 0.3 --baseline 0 --settle 0 --interval 0.1

# pipeline.sh's say(), as pipeline.sh defines it
say_def=$(awk '/^say\(\) \{/ { on = 1 } on { print } on && (/^}/ || /^say\(\).*}$/) { exit }' "$MIGSAFE_ROOT/pipeline.sh")
eval "$say_def"
prog=pipeline
bad=0
[ -n "$say_def" ] || { bad=1 && diag "pipeline.sh has no say()"; }
for ((i = 0; i < ${#cases[@]}; i += 2)); do
	case ${cases[i + 1]} in *port=s3cr* | *"port='s3cr"*) continue ;; esac # say() knows no values
	say "cannot reach ${cases[i + 1]} now" 2>"$work/say"
	if leaks "${cases[i]}" "$work/say" || ! grep -q '^pipeline: cannot reach .* now$' "$work/say"; then
		bad=1 && diag "say: $(cat "$work/say")"
	fi
done
say "postgresql://u:pa/ss3cr3t@h1,h2/db?sslmode=require failed" 2>"$work/say"
leaks pa/ss3cr3t "$work/say" && bad=1 && diag "say: $(cat "$work/say")"
ok "$bad" "say(): no secret in any spelling"
say "postgresql://u:pw@h/db?sslmode=require&pass%77ord=s3cr3tpw&application_name=a: password authentication failed" 2>"$work/say"
is "$(cat "$work/say")" "pipeline: postgresql://u@h/db?sslmode=require&pass%77ord=...&application_name=a: password authentication failed" \
	"say(): the rest of the message stays readable"

done_testing
