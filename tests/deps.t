#!/usr/bin/env bash
# deps.t — everything the build, the demo, the tests, the benchmarks and the
# workflows use comes from a package scripts/install-deps.sh installs
# (tests/check-deps: headers by `cc -M`, linked files by a trial link,
# programs from shfmt's syntax tree of every script, imports of every Python
# script, each mapped to its package by dpkg). And the check can fail: a
# package taken off the list is missed, every listed package is needed by
# something, and the reader finds the programs of a script it is shown.
set -u
. "$(dirname "$0")/lib.sh"
need shfmt shfmt
need apt-cache apt
need dpkg-query dpkg
need python3 python3
plan 9
chk=$MIGSAFE_ROOT/tests/check-deps
tmp=$(mktemp -d)
on_exit rm -rf "$tmp"

# the reader: each program in command position, nothing from a heredoc, a
# case pattern or a quoted word
"$chk" --commands "$MIGSAFE_ROOT/tests/fixtures/deps/commands.sh" >"$tmp/cmds" 2>&1
st=$?
is "$st:$(sed 's/^[^:]*://' "$tmp/cmds" | tr '\n' ' ')" \
	"0:$(tr '\n' ' ' <"$MIGSAFE_ROOT/tests/fixtures/deps/commands.expected")" \
	"check-deps --commands reads the programs of a script from its syntax tree"

# the tree as it is: nothing missing
"$chk" --each >"$tmp/each" 2>&1
st=$?
ok "$st" "every header, linked file, program and module is from a listed package"
[ "$st" = 0 ] || diag "$(head -40 "$tmp/each")"
diag "$(grep '^check-deps:' "$tmp/each")"
n=$(bash "$MIGSAFE_ROOT/scripts/install-deps.sh" --list | wc -l)
is "$(grep -c '^without ' "$tmp/each")" "$n" "--each tried the list without each of its $n packages"
unneeded=$(grep 'nothing needs it' "$tmp/each")
is "$unneeded" "" "no listed package is needed by nothing"
missed=$(grep -c '^without .*: [0-9]* missing' "$tmp/each")
implied=$(grep -c 'another listed package depends on it' "$tmp/each")
is "$((missed + implied))" "$n" "without any one package, something is missing, or another listed package brings it"
diag "$missed packages are missed when taken off the list; $implied come with another listed one"

# the three the issue named, taken off the list
"$chk" --without libprotobuf-c-dev --without procps --without time >"$tmp/without" 2>&1
st=$?
is "$st" 1 "without libprotobuf-c-dev, procps and time: the check fails"
grep -q 'common/sql_remap.c:.*protobuf-c/protobuf-c.h: in package libprotobuf-c-dev' "$tmp/without"
ok $? "it names libpg_query's protobuf-c header and its package"
grep -q 'tests/mkshadow.t:[0-9]*: command pgrep: in package procps' "$tmp/without"
ok $? "it names pgrep in tests/mkshadow.t and its package"
grep -q 'command /usr/bin/time: in package time' "$tmp/without"
ok $? "it names GNU time and its package"
[ "$st" = 1 ] || diag "$(cat "$tmp/without")"
done_testing
