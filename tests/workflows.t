#!/usr/bin/env bash
# The CI workflows users copy: valid YAML, every command they call exists in
# the repository, and the review job's steps run here end to end, with the
# PostgreSQL service replaced by scripts/pg-tmp and GitHub by tests/mockhttp.py.
# Its "Build migsafe" step (install-deps.sh, then make) runs for real on a
# copy of the repository, so on a fresh machine (.ci/run runs the tests in
# one) it proves the workflow builds there; only "Install git" (apt-get as
# root, which the job's container is) is skipped.
. "$(dirname "$0")/lib.sh"
set -u
cd "$MIGSAFE_ROOT" || bail_out "no repository"
review=.github/workflows/migration-review.yml
deploy=.github/workflows/migration-deploy.yml
gitlab=ci/gitlab-ci.yml

for f in "$review" "$deploy" "$gitlab"; do
	out=$(python3 -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' "$f" 2>&1)
	ok $? "$f is valid YAML"
	[ -z "$out" ] || diag "$out"
done

# every .migsafe/PATH a workflow runs is in the repository (bin/PROG: its
# source folder), and every pipeline.sh subcommand it calls exists
missing=$(cat "$review" "$deploy" "$gitlab" | grep -o '\.migsafe/[A-Za-z0-9_./-]*' | sort -u |
	while read -r ref; do
		p=${ref#.migsafe/}
		case $p in
		bin/*) [ -d "cmd/${p#bin/}" ] || echo "$ref" ;;
		"") ;;
		*) [ -e "$p" ] || echo "$ref" ;;
		esac
	done)
is "$missing" "" "every .migsafe/ path the workflows run exists"
subs=$(cat "$review" "$deploy" "$gitlab" | grep -o 'pipeline\.sh [a-z]*' | awk '{ print $2 }' | sort -u)
bad=""
for s in $subs; do
	./pipeline.sh "$s" --help >/dev/null 2>&1 || bad="$bad $s"
done
is "$bad" "" "every pipeline.sh subcommand the workflows call exists (${subs//$'\n'/, })"
opts=$(cat "$review" "$deploy" "$gitlab" | grep -o 'mkrunbook [^<>|]*' | grep -o -- '--[a-z-]*' | sort -u)
bad=""
for o in $opts; do
	bin/mkrunbook --help | grep -q -- "$o" || bad="$bad $o"
done
is "$bad" "" "every mkrunbook option the workflows use exists"
perm=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["permissions"])' "$review")
is "$perm" "{'contents': 'read', 'pull-requests': 'write'}" "the review job has least permissions"

# ---- the review job, run here ----
work=$(mktemp -d)
chmod 755 "$work"
on_exit rm -rf "$work"
export TMPDIR=$work/tmp
mkdir -p "$TMPDIR"
chmod 1777 "$TMPDIR"
shadow=$("$MIGSAFE_ROOT/scripts/pg-tmp" start --tcp) || bail_out "cannot start the shadow service"
on_exit "$MIGSAFE_ROOT/scripts/pg-tmp" stop "$shadow"
mock_start "$MIGSAFE_ROOT/tests/fixtures/http/github-review.json"

proj=$work/project
mkdir -p "$proj/db/migration"
cat >"$proj/db/migration/V1__init.sql" <<'EOF'
CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE orders (id bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now());
EOF
(
	cd "$proj" && git init -q -b main && git add -A &&
		git -c user.name=t -c user.email=t@t commit -q -m init &&
		git update-ref refs/remotes/origin/main main && git checkout -q -b feature &&
		printf '%s\n' "CREATE INDEX orders_created_at_idx ON orders (created_at);" \
			"ALTER TABLE orders ADD COLUMN note text;" >db/migration/V2__index_and_note.sql &&
		git add -A && git -c user.name=t -c user.email=t@t commit -q -m pr
) || bail_out "cannot make the project repository"
# the migsafe checkout the workflow builds itself (its "Build migsafe" step):
# the repository's files, nothing built
mkdir "$proj/.migsafe"
git -C "$MIGSAFE_ROOT" ls-files -z | tar -C "$MIGSAFE_ROOT" --null -T - -cf - | tar -C "$proj/.migsafe" -xf - ||
	bail_out "cannot copy the repository"
cat >"$work/vars.json" <<'EOF'
{"github.base_ref": "main", "github.event.pull_request.number": "7",
 "secrets.MIGSAFE_PROD_READONLY_URL": "", "secrets.MIGSAFE_MASK_KEY": "test-key",
 "secrets.GITHUB_TOKEN": "ghs_workflowtest",
 "contains(github.event.pull_request.labels.*.name, 'migration-approved')": "false",
 "skip": ["Install git"]}
EOF
log=$(SHADOW_DATABASE_URL=$shadow GITHUB_API_URL=$MOCK_URL GITHUB_REPOSITORY=acme/shop \
	GITHUB_STEP_SUMMARY=$work/summary.md HOME=$work \
	python3 "$MIGSAFE_ROOT/tests/run-workflow" "$review" review "$proj" "$work/vars.json" 2>&1)
st=$?
ok $st "the review job passes (a low-risk migration)"
[ "$st" = 0 ] || diag "$log"
is "$(grep '^ok:' <<<"$log" | sed 's/^ok: //' | tr '\n' ',')" \
	"Build migsafe,Find the new migrations,Review,Annotate the lines,Post the review on the pull request," \
	"its steps ran in order"
grep -q '^not run (if): Fail on high risk unless approved' <<<"$log"
ok $? "the high-risk gate did not fire"
for p in $(ls "$MIGSAFE_ROOT/cmd"); do
	[ -x "$proj/.migsafe/bin/$p" ] || echo "$p"
done >"$work/unbuilt"
is "$(tr '\n' ' ' <"$work/unbuilt")" "" "the Build migsafe step built every program from the checkout"
is "$(cat "$proj/changed.txt")" "db/migration/V2__index_and_note.sql" "the new migration was found from the diff"
out=$proj/migsafe-out
is "$(jq -r 'select(.kind == "risk") | .migration' "$out/stream.ndjson" 2>/dev/null | wc -l)" 1 \
	"the stream has one risk record"
is "$(jq -r 'select(.kind == "trace") | .locks[].mode' "$out/stream.ndjson" 2>/dev/null | sort -u | tr '\n' ' ')" \
	"AccessExclusiveLock ShareLock " "the shadow traced the index build and the ALTER"
grep -q '^::' "$out/annotations.txt" 2>/dev/null
ok $? "GitHub annotations were written"
post=$(jq -r 'select(.method == "POST") | .body.body' "$MOCK_LOG")
case $post in *"<!-- migsafe:review -->"*"create-index-non-concurrently"*) ok 0 "the review was posted on PR 7" ;;
*) ok 1 "the review was posted on PR 7"; diag "$(head -c 600 "$MOCK_LOG")" ;; esac
[ -s "$work/summary.md" ]
ok $? "and appended to the step summary"
left=$(find "$TMPDIR" -maxdepth 1 -name 'migsafe-shadow.*' | wc -l)
is "$left" 0 "no shadow left behind"
n=$(psql -X -At "$shadow" -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'migsafe_shadow%'" 2>&1)
is "$n" 0 "the shadow database on the service was dropped"
done_testing
