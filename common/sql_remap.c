/*
 * sql_remap: schema-qualified names of one schema rewritten to another with
 * PostgreSQL's own scanner (pg_query_scan), never a regular expression over
 * SQL text. See sql.h for what is rewritten.
 */
#include <ctype.h>
#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql.h"
#include "xalloc.h"

struct map {
	const char *from, *qto;
};

/* ident_is: whether the identifier token text[0..len) names schema. */
static bool ident_is(const char *text, size_t len, const char *schema)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	if (len >= 2 && text[0] == '"') {
		for (size_t i = 1; i + 1 < len; i++) {
			buf_addc(&b, text[i]);
			if (text[i] == '"')
				i++;
		}
	} else {
		for (size_t i = 0; i < len; i++)
			buf_addc(&b, (char)tolower((unsigned char)text[i]));
	}
	bool same = !strcmp(b.s, schema);
	buf_release(&b);
	return same;
}

static bool is_reg_type(const char *text, const PgQuery__ScanToken *t)
{
	static const char *const regs[] = {"regclass", "regtype", "regproc", "regprocedure", "regoper",
					   "regoperator", "regconfig", "regdictionary", "regcollation", NULL};
	size_t len = (size_t)(t->end - t->start);
	for (int i = 0; regs[i]; i++)
		if (strlen(regs[i]) == len && !strncasecmp(text + t->start, regs[i], len))
			return true;
	return false;
}

/* remap_literal: a plain 'schema.name' literal with its schema rewritten;
 * false (out untouched) when it does not start with the mapped schema. */
static bool remap_literal(const char *lit, size_t len, const struct map *m, struct buf *out)
{
	if (len < 2 || lit[0] != '\'')
		return false; /* E'', U&'' and the like: left as they are */
	struct buf v = BUF_INIT;
	buf_init(&v);
	for (size_t i = 1; i + 1 < len; i++) {
		buf_addc(&v, lit[i]);
		if (lit[i] == '\'')
			i++;
	}
	const char *dot = strchr(v.s, '.');
	bool hit = dot && ident_is(v.s, (size_t)(dot - v.s), m->from);
	if (hit) {
		buf_addc(out, '\'');
		for (const char *p = m->qto; *p; p++)
			buf_adds(out, *p == '\'' ? "''" : (char[]){*p, 0});
		for (const char *p = dot; *p; p++)
			buf_adds(out, *p == '\'' ? "''" : (char[]){*p, 0});
		buf_addc(out, '\'');
	}
	buf_release(&v);
	return hit;
}

static int remap_text(const char *text, size_t len, const struct map *m, struct buf *out, int depth);

/* remap_dollar: a $tag$...$tag$ constant with its body remapped. */
static int remap_dollar(const char *lit, size_t len, const struct map *m, struct buf *out, int depth)
{
	const char *close = memchr(lit + 1, '$', len - 1);
	size_t tag = close ? (size_t)(close - lit) + 1 : 0;
	if (!tag || len < 2 * tag || depth > 4)
		return -1;
	buf_add(out, lit, tag);
	if (remap_text(lit + tag, len - 2 * tag, m, out, depth + 1) < 0)
		return -1;
	buf_add(out, lit + len - tag, tag);
	return 0;
}

/* remap_text: text[0..len) into out, names remapped; -1 when the scanner
 * refuses it. */
static int remap_text(const char *text, size_t len, const struct map *m, struct buf *out, int depth)
{
	char *s = xstrndup(text, len);
	PgQueryScanResult r = pg_query_scan(s);
	PgQuery__ScanResult *sr = r.error ? NULL : pg_query__scan_result__unpack(NULL, r.pbuf.len, (void *)r.pbuf.data);
	int rc = sr ? 0 : -1;
	size_t pos = 0;
	for (size_t i = 0; sr && i < sr->n_tokens && rc == 0; i++) {
		const PgQuery__ScanToken *t = sr->tokens[i], *n1 = i + 1 < sr->n_tokens ? sr->tokens[i + 1] : NULL;
		const PgQuery__ScanToken *n2 = i + 2 < sr->n_tokens ? sr->tokens[i + 2] : NULL;
		size_t st = (size_t)t->start, tl = (size_t)(t->end - t->start);
		bool ident = t->token == PG_QUERY__TOKEN__IDENT || t->keyword_kind != PG_QUERY__KEYWORD_KIND__NO_KEYWORD;
		struct buf rep = BUF_INIT;
		buf_init(&rep);
		bool hit = false;
		if (ident && n1 && n1->token == PG_QUERY__TOKEN__ASCII_46 && ident_is(s + st, tl, m->from)) {
			buf_adds(&rep, m->qto);
			hit = true;
		} else if (t->token == PG_QUERY__TOKEN__SCONST && s[st] == '$') {
			rc = remap_dollar(s + st, tl, m, &rep, depth);
			hit = rc == 0;
		} else if (t->token == PG_QUERY__TOKEN__SCONST && n1 && n1->token == PG_QUERY__TOKEN__TYPECAST && n2 &&
			   is_reg_type(s, n2)) {
			hit = remap_literal(s + st, tl, m, &rep);
		}
		if (hit) {
			buf_add(out, s + pos, st - pos);
			buf_add(out, rep.s, rep.len);
			pos = st + tl;
		}
		buf_release(&rep);
	}
	if (rc == 0)
		buf_add(out, s + pos, len - pos);
	if (sr)
		pg_query__scan_result__free_unpacked(sr, NULL);
	pg_query_free_scan_result(r);
	free(s);
	return rc;
}

char *sql_remap_schema(const char *text, const char *from, const char *qto)
{
	struct map m = {from, qto};
	struct buf out = BUF_INIT;
	buf_init(&out);
	if (remap_text(text, strlen(text), &m, &out, 0) < 0) {
		buf_release(&out);
		return NULL;
	}
	return buf_detach(&out);
}
