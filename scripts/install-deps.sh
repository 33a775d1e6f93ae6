#!/usr/bin/env bash
# install-deps.sh — install the Debian packages migsafe builds, demos and
# tests with: everything, on a fresh Debian 12, that is not Essential.
#
#   install-deps.sh          install what is missing
#   install-deps.sh --list   print the list, one package per line
#
# Idempotent: asks dpkg first and touches apt only when something is missing.
# One line per action on stderr. tests/check-deps (run by `make check`)
# fails when the build, a script or a test needs a package this list does
# not bring: keep the two together.
set -euo pipefail

pkgs=(
	# the build: compiler, libpg_query (whose protobuf header needs
	# libprotobuf-c-dev, which libpg-query-dev does not depend on), libpq,
	# cJSON, libcurl
	build-essential libpg-query-dev libprotobuf-c-dev libpq-dev libcjson-dev
	libcurl4-openssl-dev
	# the shadow and the tests' throwaway servers (pg_stat_statements is in
	# the server package); the pipeline's glue
	postgresql-15 jq
	# the tests: TAP (prove), record validation, workflow YAML, git
	# repositories, process checks (pgrep), peak memory (GNU time), the
	# dependency check's shell parser, awk, DOT and Markdown rendering
	perl python3 python3-jsonschema python3-yaml git procps time shfmt mawk
	graphviz cmark
	# fuzz harnesses (clang, libFuzzer), the valgrind pass, `make fmt`
	clang libclang-rt-14-dev valgrind clang-format
	# the Prisma oracle (Prisma's schema engine, run by node)
	nodejs
)
# Debian's nodejs comes without npm; a nodejs that bundles it (nodesource's,
# which conflicts with Debian's npm) is kept as it is.
dpkg-query -W -f='${Provides}' nodejs 2>/dev/null | grep -qw npm || pkgs+=(npm)

if [ "${1:-}" = --list ]; then
	printf '%s\n' "${pkgs[@]}"
	exit 0
fi
[ $# -eq 0 ] || { echo "usage: install-deps.sh [--list]" >&2; exit 2; }

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#pkgs[@]} packages present" >&2
	exit 0
fi

# sudo only when we are not root and it exists; otherwise try as we are.
sudo=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
fi

echo "install-deps: missing: ${missing[*]}" >&2
# apt's own chatter goes to a log, shown only when a step fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() {
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive "$@" >"$log" 2>&1 ||
		{ cat "$log" >&2; echo "install-deps: failed: $*" >&2; exit 1; }
}
echo "install-deps: apt-get update" >&2
run apt-get update
echo "install-deps: apt-get install ${missing[*]}" >&2
run apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-deps: done" >&2
