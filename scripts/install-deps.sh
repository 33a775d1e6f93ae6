#!/usr/bin/env bash
# install-deps.sh — install the Debian packages migsafe builds and tests with.
# Idempotent: asks dpkg first and touches apt only when something is missing.
# One line per action on stderr.
set -euo pipefail

pkgs=(build-essential pkg-config libpg-query-dev libpq-dev libcjson-dev
      libcurl4-openssl-dev postgresql-15 postgresql-contrib jq python3
      python3-jsonschema python3-yaml graphviz perl cmark
      clang libclang-rt-14-dev valgrind)
# node/npm only drive the Prisma oracle; a node already on PATH (e.g. from
# nodesource, which bundles npm) is kept as it is.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)

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
