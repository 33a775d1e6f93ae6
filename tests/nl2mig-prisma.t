#!/usr/bin/env bash
# nl2mig on a Prisma project: the updated schema.prisma, diffed against the
# old one by Prisma's own engine (../shared/oracles/prisma), gives a
# database identical to the one nl2mig's forward SQL gives. For each
# request: two databases made from Prisma's SQL for the demo shop
# (tests/fixtures/nl2mig/shop.prisma); our forward SQL on one, Prisma's
# old -> new SQL on the other; compared by tests/dagcmp and, stricter, on
# every column default's text (CURRENT_TIMESTAMP and now() are the same
# function). Also: prisma_diff is the unified diff of the file written,
# and a DAG read from a Prisma schema gets the diff without --write.
. "$(dirname "$0")/lib.sh"
set -u
unset ANTHROPIC_API_KEY OPENAI_API_KEY
need jq jq
need npm npm
prisma_oracle
oracle=$PRISMA_ORACLE
export SOURCE_DATE_EPOCH=1764000000
fx=$MIGSAFE_ROOT/tests/fixtures/nl2mig
work=$(mktemp -d)
on_exit rm -rf "$work"
pg_start
"$oracle" "$fx/shop.prisma" >"$work/base.sql" 2>"$work/oracle.err" || bail_out "oracle: $(head -3 "$work/oracle.err")"

n=0
newdb() { # newdb NAME: a database with Prisma's shop; its URL on stdout
	local u
	u=$("$MIGSAFE_ROOT/scripts/pg-tmp" createdb "$PGURL" "$1") &&
		PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 "$u" -f "$work/base.sql" >/dev/null && echo "$u"
}
apply() { psql -X -q -v ON_ERROR_STOP=1 "$1" -f "$2" >/dev/null 2>"$work/psql.err"; }
defaults() { # table.column=default, CURRENT_TIMESTAMP spelled now()
	jq -r 'select(.kind == "table") | .name as $t | .columns[] | "\($t).\(.name)=\(.default)"' "$1" |
		sed 's/CURRENT_TIMESTAMP/now()/g' | sort
}

url0=$(newdb nlp0) || bail_out "could not create a database with Prisma's shop schema"
"$BIN/schema2dag" --db "$url0" >"$work/dag.ndjson" || bail_out "schema2dag --db failed"

# same_db FLAGS REQUEST: our forward and Prisma's diff give the same database
same_db() {
	local req=$2 flags=() a b st=0
	read -r -a flags <<<"$1"
	rm -rf "$work/p" && mkdir -p "$work/p/prisma" && cp "$fx/shop.prisma" "$work/p/prisma/schema.prisma"
	"$BIN/nl2mig" --no-lint "${flags[@]}" --write "$work/p" "$req" <"$work/dag.ndjson" >"$work/out" 2>"$work/err" || st=$?
	[ "$st" = 0 ] || { diag "$(cat "$work/err")"; ok 1 "$req: nl2mig exits 0"; return; }
	record_out "$work/out"
	local diffp
	diffp=$(tail -1 "$work/out" | jq -r '.prisma_diff // empty')
	[ -n "$diffp" ] || { ok 1 "$req: schema.prisma changed"; return; }
	# the diff is what was written
	(cd "$work" && mkdir -p a/prisma && cp "$fx/shop.prisma" a/prisma/schema.prisma && printf '%s\n' "$diffp" |
		patch -s -p1 -d a >/dev/null) && cmp -s "$work/a/prisma/schema.prisma" "$work/p/prisma/schema.prisma" ||
		{ ok 1 "$req: prisma_diff patches the old schema into the new one"; rm -rf "$work/a"; return; }
	rm -rf "$work/a"
	n=$((n + 1))
	a=$(newdb "nlp${n}a") && b=$(newdb "nlp${n}b") || { ok 1 "$req: databases"; return; }
	tail -1 "$work/out" | jq -r .forward >"$work/fwd.sql"
	apply "$a" "$work/fwd.sql" || { diag "$(head -3 "$work/psql.err")"; ok 1 "$req: our forward applies"; return; }
	"$oracle" "$fx/shop.prisma" "$work/p/prisma/schema.prisma" >"$work/prisma.sql" 2>"$work/oracle.err" ||
		{ diag "$(head -5 "$work/oracle.err")"; ok 1 "$req: Prisma's engine accepts the new schema.prisma"; return; }
	apply "$b" "$work/prisma.sql" || { diag "$(head -3 "$work/psql.err")"; ok 1 "$req: Prisma's SQL applies"; return; }
	"$BIN/schema2dag" --db "$a" >"$work/a.ndjson"
	"$BIN/schema2dag" --db "$b" >"$work/b.ndjson"
	if ! "$MIGSAFE_ROOT/tests/dagcmp" "$work/a.ndjson" "$work/b.ndjson" >"$work/diff"; then
		diag "$(grep '^[-+][a-z]' "$work/diff" | head -10)" "schema.prisma diff:" "$diffp"
		ok 1 "$req: Prisma's database equals ours"
	elif ! diff <(defaults "$work/a.ndjson") <(defaults "$work/b.ndjson") >"$work/ddiff"; then
		diag "$(cat "$work/ddiff")"
		ok 1 "$req: Prisma's database equals ours, defaults included"
	else
		ok 0 "$req: Prisma's engine on the updated schema.prisma gives the database our forward SQL gives"
	fi
	"$MIGSAFE_ROOT/scripts/pg-tmp" dropdb "$PGURL" "nlp${n}a" >/dev/null 2>&1 || true
	"$MIGSAFE_ROOT/scripts/pg-tmp" dropdb "$PGURL" "nlp${n}b" >/dev/null 2>&1 || true
}

same_db "" "add soft_delete column to orders table with a default of false"
same_db "" "add column rating integer not null default 0 to products"
same_db "" "add column discount numeric(10,2) to order_items default 0"
same_db "" "add tracking_number varchar(64) to orders"
same_db "" "add timestamps to products"
same_db "" "add index on orders (status)"
same_db "" "create a unique index on products (title)"
same_db "" "add unique column code text to orders"
same_db "--allow-destructive" "drop index orders_customer_id_idx"
same_db "" "make customers.phone not null"
same_db "" "make orders.total_cents nullable"
same_db "" "change type of products.title to varchar(200)"
same_db "--allow-destructive" "drop column phone from customers"
same_db "" "add value 'refunded' to enum order_status"
same_db "" "rename column full_name of customers to name"
same_db "" "set the default of customers.phone to 'unknown'"

# the record and the files
rm -rf "$work/p" && mkdir -p "$work/p/prisma" && cp "$fx/shop.prisma" "$work/p/prisma/schema.prisma"
"$BIN/nl2mig" --no-lint --write "$work/p" "add soft delete to orders" <"$work/dag.ndjson" >"$work/out" 2>"$work/err"
st=$?
[ "$st" = 0 ] && tail -1 "$work/out" | jq -e --arg s "$work/p/prisma/schema.prisma" '.files.all[-1] == $s' >/dev/null &&
	tail -1 "$work/out" | jq -r .prisma_diff | head -2 | paste -sd' ' | grep -qx -- '--- a/prisma/schema.prisma +++ b/prisma/schema.prisma'
ok $? "--write: schema.prisma is listed in files.all; prisma_diff is labelled a/prisma/schema.prisma, b/..."
cp "$fx/shop.prisma" "$work/shop.prisma"
"$BIN/schema2dag" --prisma "$work/shop.prisma" >"$work/pdag.ndjson"
"$BIN/nl2mig" --no-lint "add column note text to customers" <"$work/pdag.ndjson" >"$work/out" 2>"$work/err"
st=$?
[ "$st" = 0 ] && tail -1 "$work/out" | jq -r .prisma_diff | grep -qx '+  note String?' && cmp -s "$fx/shop.prisma" "$work/shop.prisma" &&
	[ "$(tail -1 "$work/out" | jq '.files.all | length')" = 0 ]
ok $? "a DAG read from schema.prisma, no --write: prisma_diff is set, the schema file is not touched"
"$BIN/nl2mig" --no-lint "add index on orders (status, created_at) where status = 'paid'" <"$work/pdag.ndjson" >"$work/out" 2>"$work/err"
[ "$?" = 0 ] && grep -q "partial.*no Prisma form" "$work/err" && [ "$(tail -1 "$work/out" | jq .prisma_diff)" = null ]
ok $? "a partial index (no Prisma form without a preview feature): said so, schema not changed"
done_testing
