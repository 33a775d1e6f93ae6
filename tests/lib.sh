# tests/lib.sh — TAP helpers for tests/*.t (bash, run by prove).
#
#   . "$(dirname "$0")/lib.sh"
#   plan N | skip_all REASON     announce the plan (or skip the whole file:
#                                only for what the user must ask for, never
#                                for a missing tool)
#   need PROG PACKAGE            fail the file, naming the Debian package,
#                                when PROG (a name or an absolute path) is
#                                not installed
#   need_bin PROG...             fail the file when bin/PROG is not built
#   ok STATUS NAME               pass iff STATUS is 0 (a shell exit status)
#   ok_run NAME CMD [ARG...]     run CMD; pass iff it exits 0 (safe under set -e)
#   is GOT WANT NAME             pass iff the two strings are equal
#   diag MSG...                  a "# " comment on stderr
#   bail_out REASON              stop the whole prove run
#   done_testing                 print the plan if none yet; exit 1 on failures
#   on_exit CMD...               run CMD when the script exits (use, not trap)
#   pg_start [pg-tmp args]       throwaway cluster; URL in $PGURL, stopped on exit
#   record_out FILE [NAME]       keep FILE (a program's stdout) for zz-records.t
#   prisma_oracle                Prisma's engine installed; its command in
#                                $PRISMA_ORACLE
#
# Every helper returns 0, so a failing check never aborts a set -e script.
#
# A test never passes without its tools: a command that is not found, here
# or in a bash script the test runs, is recorded by command_not_found_handle
# and fails the file when it ends (even inside `! cmd` or `$(cmd | wc -l)`,
# which would otherwise pass). scripts/install-deps.sh installs every tool
# (tests/check-deps checks that it does).

MIGSAFE_ROOT=${MIGSAFE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BIN=${MIGSAFE_BIN:-$MIGSAFE_ROOT/bin}
CORPUS=$MIGSAFE_ROOT/../shared/corpus
export MIGSAFE_ROOT BIN CORPUS
# the shadows' seal key (common/seal.h): the tests' own, never a file in HOME
MIGSAFE_SEAL_KEY=${MIGSAFE_SEAL_KEY:-migsafe-test-seal-key}
export MIGSAFE_SEAL_KEY

_tap_n=0 _tap_failed=0 _tap_plan=""

plan() { _tap_plan=$1; echo "1..$1"; }

# _tap_fail_file REASON: one failing test and exit 1 (before any plan)
_tap_fail_file() {
	[ -n "$_tap_plan" ] || [ "$_tap_n" != 0 ] || echo "1..1"
	_tap_n=$((_tap_n + 1))
	echo "not ok $_tap_n - $*"
	exit 1
}
need() {
	case $1 in
	/*) [ -x "$1" ] && return 0 ;;
	*) command -v "$1" >/dev/null 2>&1 && return 0 ;;
	esac
	_tap_fail_file "$1 is not installed (Debian package $2: run scripts/install-deps.sh)"
}
need_bin() {
	local p
	for p in "$@"; do
		[ -x "$BIN/$p" ] || _tap_fail_file "bin/$p is not built (make all)"
	done
	return 0
}

MIGSAFE_TAP_MISSING=$(mktemp "${TMPDIR:-/tmp}/migsafe-tap-missing.XXXXXX")
export MIGSAFE_TAP_MISSING
command_not_found_handle() {
	echo "$1: command not found" >&2
	[ -z "${MIGSAFE_TAP_MISSING:-}" ] || echo "$1" >>"$MIGSAFE_TAP_MISSING"
	return 127
}
export -f command_not_found_handle
# _tap_check_missing: a failing test for every command that was not found
_tap_check_missing() {
	local c
	[ -s "$MIGSAFE_TAP_MISSING" ] || return 0
	for c in $(sort -u "$MIGSAFE_TAP_MISSING"); do
		_tap_n=$((_tap_n + 1)) _tap_failed=$((_tap_failed + 1))
		echo "not ok $_tap_n - a command the test ran was not found: $c (run scripts/install-deps.sh)"
	done
	: >"$MIGSAFE_TAP_MISSING"
}
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
bail_out() { echo "Bail out! $*"; exit 255; }
diag() { local l; printf '%s\n' "$@" | while IFS= read -r l; do echo "# $l" >&2; done; }

ok() {
	_tap_n=$((_tap_n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $_tap_n - $2"
	else
		_tap_failed=$((_tap_failed + 1))
		echo "not ok $_tap_n - $2"
	fi
}

ok_run() {
	local name=$1 st=0 out
	shift
	out=$("$@" 2>&1) || st=$?
	ok "$st" "$name"
	[ "$st" = 0 ] || diag "exit $st: $*"
	[ "$st" = 0 ] || [ -z "$out" ] || diag "$out"
}

is() {
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "     got: '$1'" "expected: '$2'"
	fi
}

done_testing() {
	_tap_check_missing
	[ -n "$_tap_plan" ] || echo "1..$_tap_n"
	if [ -n "$_tap_plan" ] && [ "$_tap_plan" != "$_tap_n" ]; then
		diag "planned $_tap_plan tests but ran $_tap_n"
		exit 1
	fi
	[ "$_tap_failed" = 0 ] || { diag "failed $_tap_failed of $_tap_n"; exit 1; }
	exit 0
}

# One EXIT trap runs every registered cleanup, newest first, keeping $?.
_exit_cmds=()
_run_exit_cmds() {
	local st=$? i
	for ((i = ${#_exit_cmds[@]} - 1; i >= 0; i--)); do
		eval "${_exit_cmds[i]}" || true
	done
	# a file that ends without done_testing still fails on a missing command
	if [ -s "$MIGSAFE_TAP_MISSING" ]; then
		_tap_check_missing
		st=1
	fi
	rm -f "$MIGSAFE_TAP_MISSING"
	exit "$st"
}
on_exit() { _exit_cmds+=("$(printf '%q ' "$@")"); }
trap _run_exit_cmds EXIT

pg_start() {
	PGURL=$("$MIGSAFE_ROOT/scripts/pg-tmp" start "$@") ||
		bail_out "cannot start PostgreSQL with scripts/pg-tmp"
	export PGURL
	on_exit "$MIGSAFE_ROOT/scripts/pg-tmp" stop "$PGURL"
}

# seal_shadow URL DB: mark database DB of URL's server as a shadow, sealed as
# mkshadow seals it (tests/seal-mark), for tests that make their own.
seal_shadow() {
	local sysid mark
	sysid=$(psql -XAtq "$1" -c "SELECT system_identifier FROM pg_control_system()") || return 1
	mark=$("$MIGSAFE_ROOT/tests/seal-mark" "$sysid" "$2") || return 1
	# (psql interpolates :'mark', quoted, in its input only, not in -c)
	printf '%s\n' "COMMENT ON DATABASE \"$2\" IS :'mark';" | psql -XAtq -v ON_ERROR_STOP=1 -v mark="$mark" "$1" >/dev/null
}

# Appends FILE, when not empty, to tests/out/records-PID-NAME.ndjson, which
# zz-records.t validates against schemas/. NAME defaults to this script's.
record_out() {
	local name=${2:-$(basename "$0" .t)}
	[ -s "$1" ] || return 0
	mkdir -p "$MIGSAFE_ROOT/tests/out"
	cat "$1" >>"$MIGSAFE_ROOT/tests/out/records-$$-${name//[^A-Za-z0-9_.-]/_}.ndjson"
}

# prisma_oracle: install Prisma's schema engine (../shared/oracles/prisma,
# once, under a lock: tests run two at a time); its command in
# $PRISMA_ORACLE. Fails the file when it cannot be installed.
prisma_oracle() {
	local dest=${XDG_CACHE_HOME:-$HOME/.cache}/migsafe/prisma-oracle out
	mkdir -p "$dest" || _tap_fail_file "cannot create $dest"
	# setup.sh copies its files keeping their read-only modes: a second run
	# by a user who is not root could not overwrite them
	out=$({
		flock 9 || exit
		chmod -f u+w "$dest/package.json" "$dest/prisma2sql"
		bash "$MIGSAFE_ROOT/../shared/oracles/prisma/setup.sh" "$dest"
	} 9>"$dest.lock") && [ -x "$out" ] ||
		_tap_fail_file "the Prisma oracle could not be installed (../shared/oracles/prisma/setup.sh $dest: npm install of prisma failed)"
	PRISMA_ORACLE=$out
}

# mock_start SCRIPT.json: a local HTTP server playing a real API (see
# tests/mockhttp.py for the script format). Sets MOCK_URL (http://127.0.0.1:PORT)
# and MOCK_LOG (one JSON line per request received); stopped on exit.
mock_start() {
	local dir pid i
	dir=$(mktemp -d)
	MOCK_LOG=$dir/log.ndjson
	python3 "$MIGSAFE_ROOT/tests/mockhttp.py" "$1" "$MOCK_LOG" "$dir/port" 2>"$dir/err" &
	pid=$!
	on_exit rm -rf "$dir"
	on_exit kill "$pid"
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/port" ] && break
		kill -0 "$pid" 2>/dev/null || { cat "$dir/err" >&2; bail_out "mockhttp.py died"; }
		sleep 0.05
	done
	[ -s "$dir/port" ] || bail_out "mockhttp.py did not start"
	MOCK_URL=http://127.0.0.1:$(cat "$dir/port")
	export MOCK_URL MOCK_LOG
}
