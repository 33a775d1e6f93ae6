#!/usr/bin/env bash
# masking.t — mkshadow's masking against real PostgreSQL 15: a production
# (tests/fixtures/masking/pii.sql) whose personal data hides behind names
# (contactemail, "E-Mail", emailAddress, PhoneNumber, user_ssn), types
# (text[], jsonb and json nested, bigint and numeric phone and SSN) and
# free text (an e-mail address and a Luhn-valid card number in notes, an
# IBAN where a reference goes, an IP address in text). No original value
# (tests/fixtures/masking/originals.txt) may be anywhere in the shadow (its
# pg_dump) or in mkshadow's output; what is not personal stays as it was;
# --mask-default deny masks every text column no rule keeps; and the
# foreign-key closure's key values (e-mail addresses) never reach
# production's pg_stat_statements (pg-tmp preloads it); applyexplain's
# violation examples and plan parameters come from the masked shadow only.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need /usr/lib/postgresql/15/bin/initdb postgresql-15
need psql postgresql-client-15
need pg_dump postgresql-client-15
need jq jq
need_bin mkshadow applyexplain

fx=$MIGSAFE_ROOT/tests/fixtures/masking
tmp=$(mktemp -d)
on_exit rm -rf "$tmp"
st=$tmp/shadows # mkshadow's TMPDIR: local shadows of this test only
mkdir -p "$st"
chmod 755 "$tmp" "$st"
ms() { TMPDIR=$st MIGSAFE_MASK_KEY=masking-test-key "$BIN/mkshadow" "$@"; }
on_exit bash -c "TMPDIR=$st $BIN/mkshadow --gc --older-than 0 >/dev/null 2>&1 || true"
q() { psql -X -At -v ON_ERROR_STOP=1 "$@"; }

pg_start
prod=$("$MIGSAFE_ROOT/scripts/pg-tmp" createdb "$PGURL" pii)
q "$prod" -q -f "$fx/pii.sql" >/dev/null
q "$PGURL" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
shadow_url() { jq -r 'select(.kind == "shadow") | .url' "$1"; }

# leaks FILE...: the originals found in FILEs, one a line
leaks() { grep -hoFf "$fx/originals.txt" "$@" | sort -u || true; }
# masking OUT TABLE COLUMN: the sample record's masking entry for COLUMN
masking() {
	jq -c --arg t "$2" --arg c "$3" \
		'select(.kind == "sample" and .table == $t) | .masking[] | select(.column == $c) | [.rule, .why, .walk]' "$1"
}

# ---- every row, automatic masking ----
rc=0
ms --from-db "$prod" --sample 100 </dev/null >"$tmp/a.out" 2>"$tmp/a.err" || rc=$?
is "$rc" 0 "mkshadow succeeds on the hostile production"
[ "$rc" = 0 ] || diag "$(cat "$tmp/a.err")"
record_out "$tmp/a.out"
A=$(shadow_url "$tmp/a.out")
pg_dump --data-only "$A" >"$tmp/a.dump" || true
is "$(q "$A" -c "SELECT count(*) FROM people")" 2 "the shadow has the people rows"
is "$(leaks "$tmp/a.dump")" "" "no original value in the shadow's dump ($(wc -l <"$fx/originals.txt") values)"
is "$(leaks "$tmp/a.out" "$tmp/a.err")" "" "no original value in mkshadow's records or messages"
is "$(q "$A" -c "SELECT emailed_at = '2024-03-01 10:00:00+00' FROM people WHERE id = 1")" t \
	"emailed_at, a timestamp, is a date and not an e-mail address: kept"
is "$(q "$A" -c "SELECT notes FROM people WHERE id = 2")" "nothing personal here" "clean free text kept as it is"
notes=$(q "$A" -c "SELECT notes FROM people WHERE id = 1")
case $notes in
"Customer said: mail me at u"*"@example.invalid, card "????" "????" "????" "????" exp 12/27") st1=0 ;;
*) st1=1 ;;
esac
ok "$st1" "free text: the e-mail address and the card number masked in place, the rest kept"
[ "$st1" = 0 ] || diag "notes: $notes"
is "$(q "$A" -c "SELECT translate(postcode, '0123456789', '') <> 'SWA AA' FROM people WHERE id = 1")" t \
	"a postcode's letters are masked too (the digits rule keeps no letter)"
is "$(q "$A" -c "SELECT jsonb_typeof(profile->'contact'->'phones'), jsonb_typeof(profile->'contact'->'fax'),
	profile->'tags' FROM people WHERE id = 1")" 'array|number|["vip"]' "jsonb: structure, numbers and clean strings kept"
is "$(q "$A" -c "SELECT array_length(emails, 1), emails[2] IS NULL FROM people WHERE id = 2")" "2|t" \
	"text[]: elements masked one by one, NULL kept"
is "$(q "$A" -c "SELECT phone < 4155550123 AND ssn < 219099999 FROM people WHERE id = 1")" t \
	"bigint phone and numeric SSN masked digit by digit, within their type"
is "$(q "$prod" -c "SELECT md5(string_agg(p::text, ',' ORDER BY id)) FROM product p")" \
	"$(q "$A" -c "SELECT md5(string_agg(p::text, ',' ORDER BY id)) FROM product p")" \
	"a table without personal data (skus, versions, titles) is copied unchanged"
is "$(masking "$tmp/a.out" public.people contactemail)" '["email","name",null]' "sample record: contactemail, by name"
is "$(masking "$tmp/a.out" public.people E-Mail)" '["email","name",null]' 'sample record: "E-Mail", by name'
is "$(masking "$tmp/a.out" public.people emails)" '["email","name","array"]' "sample record: emails text[], by name, walked"
is "$(masking "$tmp/a.out" public.people profile)" '["content","type","json"]' "sample record: profile jsonb, by type"
is "$(masking "$tmp/a.out" public.people phone)" '["digits","name",null]' "sample record: bigint phone"
is "$(masking "$tmp/a.out" public.people billing_ref)" '["content","content",null]' "sample record: an IBAN found by content"
is "$(masking "$tmp/a.out" public.people notes)" '["content","content",null]' "sample record: notes, by content"
is "$(masking "$tmp/a.out" public.product sku)" "" "sample record: nothing found in product.sku, nothing said"

# ---- --mask-default deny ----
rc=0
ms --from-db "$prod" --sample 100 --mask-default deny --mask product.title=keep </dev/null >"$tmp/d.out" 2>"$tmp/d.err" || rc=$?
is "$rc" 0 "--mask-default deny succeeds"
[ "$rc" = 0 ] || diag "$(cat "$tmp/d.err")"
record_out "$tmp/d.out"
D=$(shadow_url "$tmp/d.out")
pg_dump --data-only "$D" >"$tmp/d.dump" || true
is "$(leaks "$tmp/d.dump" "$tmp/d.out")" "" "deny: no original value in the shadow or the records"
is "$(q "$D" -c "SELECT count(*) FROM product p JOIN (VALUES (1, 'Widget model 1')) v(i, t) ON p.id = v.i AND p.title = v.t")" 1 \
	"deny: a column kept by --mask is kept"
is "$(q "$D" -c "SELECT count(*) FROM product WHERE sku LIKE 'SKU-%' OR version LIKE '1.%'")" 0 \
	"deny: every other text column is masked"
is "$(q "$D" -c "SELECT notes ~ '^[0-9a-f]{64}\$' FROM people WHERE id = 2")" t "deny: clean free text hashed too"
is "$(masking "$tmp/d.out" public.product sku)" '["hash","deny-default",null]' "sample record: deny-default says why"
is "$(masking "$tmp/d.out" public.product title)" "" "sample record: the kept column is not masked"

# ---- the closure's keys: parameters, never in pg_stat_statements ----
q "$PGURL" -c "SELECT pg_stat_statements_reset()" >/dev/null
rc=0
ms --from-db "$prod" --sample 20 --seed 7 </dev/null >"$tmp/c.out" 2>"$tmp/c.err" || rc=$?
is "$rc" 0 "a 20% sample with a closure over e-mail keys succeeds"
[ "$rc" = 0 ] || diag "$(cat "$tmp/c.err")"
record_out "$tmp/c.out"
closure=$(jq -r 'select(.kind == "sample" and .table == "public.accounts") | .closure_rows' "$tmp/c.out")
ok "$([ "${closure:-0}" -gt 0 ] && echo 0 || echo 1)" "the closure fetched parent accounts by e-mail key ($closure rows)"
C=$(shadow_url "$tmp/c.out")
is "$(q "$C" -c "SELECT count(*) FROM tickets t LEFT JOIN accounts a ON a.email = t.account_email WHERE a.email IS NULL")" 0 \
	"masked e-mail keys still join"
is "$(q "$PGURL" -c "SELECT count(*) FROM pg_stat_statements WHERE query ~ 'closure\\.example'")" 0 \
	"no key value of a closure fetch in production's pg_stat_statements"
is "$(q "$PGURL" -c "SELECT count(*) > 0 FROM pg_stat_statements WHERE query ~ 'accounts.*= ANY \\(\\\$1'")" t \
	"the closure's fetch is there, with a placeholder"
pg_dump --data-only "$C" >"$tmp/c.dump" || true
is "$(grep -c 'closure\.example' "$tmp/c.dump" "$tmp/c.out" | grep -v ':0$' || true)" "" \
	"no account e-mail address in the shadow or the records"

# ---- one parent key, children whose names call for different rules ----
# (an e-mail column and a phone column both referencing accounts' key): the
# ends of every foreign key agree on one rule, in bounded time
loop=$("$MIGSAFE_ROOT/scripts/pg-tmp" createdb "$PGURL" fkrules)
q "$loop" -q -c "CREATE TABLE handle (k text PRIMARY KEY);
	CREATE TABLE by_mail (id int PRIMARY KEY, email text REFERENCES handle (k));
	CREATE TABLE by_phone (id int PRIMARY KEY, phone text REFERENCES handle (k));
	INSERT INTO handle VALUES ('ann@fk.example'), ('+44 20 7946 0958');
	INSERT INTO by_mail VALUES (1, 'ann@fk.example'); INSERT INTO by_phone VALUES (1, '+44 20 7946 0958')" >/dev/null
rc=0
TMPDIR=$st MIGSAFE_MASK_KEY=masking-test-key timeout 60 "$BIN/mkshadow" --from-db "$loop" --sample 100 </dev/null >"$tmp/l.out" 2>"$tmp/l.err" || rc=$?
L=$(shadow_url "$tmp/l.out")
is "$rc:$(q "$L" -c "SELECT count(*) FROM by_mail m JOIN handle h ON h.k = m.email") $(q "$L" -c "SELECT count(*) FROM by_phone p JOIN handle h ON h.k = p.phone")" \
	"0:1 1" "two children with different automatic rules on one parent key: done (no endless propagation), both still join"
[ "$rc" = 0 ] || diag "$(cat "$tmp/l.err")"
is "$(grep -c 'fk\.example\|7946' "$tmp/l.out"; pg_dump --data-only "$L" | grep -c 'fk\.example\|7946')" "$(printf '0\n0')" \
	"... and neither value is left in the shadow or the records"

# ---- examples in the stream come from the masked shadow only ----
# applyexplain's violation examples (a CHECK every row fails) and the plan
# parameters it binds for production's top queries (run on production with
# the real e-mail address as a literal) are the shadow's masked values
q "$PGURL" -c "SELECT pg_stat_statements_reset()" >/dev/null
q "$prod" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
for i in 1 2 3; do q "$prod" -c "SELECT id FROM people WHERE contactemail = 'ann.contact@corp-mail.example'" >/dev/null; done
{
	jq -c 'select(.kind == "shadow")' "$tmp/a.out"
	jq -nc --arg f "ALTER TABLE people ADD CONSTRAINT mail_domain CHECK (contactemail LIKE '%@nowhere.invalid');" \
		'{kind:"migration",v:1,id:"V9__mail_check",forward:$f,rollback:null}'
	jq -nc '{kind:"migration",v:1,id:"V10__mail_index",forward:"CREATE INDEX people_mail ON people (contactemail);",
		rollback:"DROP INDEX people_mail;"}'
} >"$tmp/e.in"
rc=0
"$BIN/applyexplain" --from-db="$prod" <"$tmp/e.in" >"$tmp/e.out" 2>"$tmp/e.err" || rc=$?
is "$rc:$(jq -s '[.[] | select(.kind == "trace") | .violations[]] | length' "$tmp/e.out")" 1:1 \
	"the CHECK fails on the shadow's data, with a violation (exit 1)"
[ "$rc" = 1 ] || diag "$(cat "$tmp/e.err")"
is "$(jq -s 'any(.[]; .kind == "plan" and (.query | test("contactemail")))' "$tmp/e.out")" true \
	"production's query on the column was planned on the shadow"
is "$(leaks "$tmp/e.out" "$tmp/e.err")" "" "no original value in applyexplain's examples, plans or messages"
[ "$(leaks "$tmp/e.out" "$tmp/e.err")" = "" ] || diag "$(leaks "$tmp/e.out" "$tmp/e.err")"

done_testing
