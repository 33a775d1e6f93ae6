/*
 * sql_vet: is a piece of SQL text, taken from a schema or a record, exactly
 * one expression, one type name or one query, so that it can be written
 * into a statement without adding another one? Read by PostgreSQL's own
 * parser and scanner (libpg_query), never by a regular expression over the
 * text. See sql.h for the contracts.
 */
#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"
#include "xalloc.h"

/* meta_line: does a line of text start (after blanks) with a backslash? psql
 * would run it as a meta-command, and sql_parse blanks it. */
static bool meta_line(const char *text)
{
	for (const char *p = text; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		p += strspn(p, " \t\r");
		if (*p == '\\')
			return true;
	}
	return false;
}

/* scan_clean: PostgreSQL's scanner reads all of text; no "--" comment at
 * its end (it would swallow what follows the text on its line), no psql meta-command
 * line, no ';' (when last_semi: one, as the last token), parentheses and
 * brackets balanced, never closing one the text did not open, and (unless
 * comma: a statement) no ',' outside them ("1, x int" would be a list).
 * last_comment: a "--" comment may end the text (a view's definition as a
 * migration wrote it; the caller ends it with a line end). */
static bool scan_clean(const char *text, bool last_semi, bool comma, bool last_comment)
{
	if (!text || !*text || meta_line(text))
		return false;
	PgQueryScanResult r = pg_query_scan(text);
	PgQuery__ScanResult *sr = r.error ? NULL : pg_query__scan_result__unpack(NULL, r.pbuf.len, (void *)r.pbuf.data);
	bool ok = sr && sr->n_tokens > 0;
	long paren = 0, bracket = 0;
	for (size_t i = 0; ok && i < sr->n_tokens; i++) {
		PgQuery__Token t = sr->tokens[i]->token;
		int32_t end = sr->tokens[i]->end;
		if (t == PG_QUERY__TOKEN__SQL_COMMENT) /* closed by the text's own line end */
			ok = end >= 0 && (text[end] == '\n' || text[end] == '\r' || (last_comment && !text[end]));
		else if (t == PG_QUERY__TOKEN__ASCII_59)
			ok = last_semi && i + 1 == sr->n_tokens;
		else if (t == PG_QUERY__TOKEN__ASCII_44 && paren == 0 && bracket == 0 && !comma)
			ok = false;
		paren += t == PG_QUERY__TOKEN__ASCII_40 ? 1 : t == PG_QUERY__TOKEN__ASCII_41 ? -1
											     : 0;
		bracket += t == PG_QUERY__TOKEN__ASCII_91 ? 1 : t == PG_QUERY__TOKEN__ASCII_93 ? -1
											       : 0;
		if (paren < 0 || bracket < 0)
			ok = false;
	}
	ok = ok && paren == 0 && bracket == 0;
	if (sr)
		pg_query__scan_result__free_unpacked(sr, NULL);
	pg_query_free_scan_result(r);
	return ok;
}

/* only_keys: node n has no field outside the space-separated list keys */
static bool only_keys(const cJSON *n, const char *keys)
{
	const cJSON *f;
	cJSON_ArrayForEach(f, n)
	{
		size_t len = strlen(f->string);
		const char *p = strstr(keys, f->string);
		bool found = false;
		for (; p && !found; p = strstr(p + 1, f->string))
			found = (p == keys || p[-1] == ' ') && (p[len] == ' ' || !p[len]);
		if (!found)
			return false;
	}
	return true;
}

/* one_target: the value of the one target of "SELECT <target>" in
 * wrapped, when that is the whole statement; else NULL. Calls fn on it with
 * arg and returns its answer. */
static bool one_target(const char *wrapped, bool (*fn)(const cJSON *val))
{
	struct sql_script s = {0};
	struct sql_error err = {0};
	bool ok = false;
	if (sql_parse(&s, wrapped, &err) == 0 && s.n == 1 && !strcmp(s.stmts[0].type, "SelectStmt") &&
	    only_keys(s.stmts[0].node, "targetList limitOption op")) {
		const cJSON *tl = sql_jget(s.stmts[0].node, "targetList");
		const cJSON *rt = cJSON_GetArraySize(tl) == 1 ? sql_node(cJSON_GetArrayItem(tl, 0), "ResTarget") : NULL;
		ok = rt && only_keys(rt, "val location") && sql_jget(rt, "val") && fn(sql_jget(rt, "val"));
	}
	sql_script_release(&s);
	sql_error_release(&err);
	return ok;
}

static bool any_value(const cJSON *val)
{
	(void)val;
	return true;
}

bool sql_is_one_expr(const char *text)
{
	if (!scan_clean(text, false, false, false))
		return false;
	char *w = xasprintf("SELECT (%s\n)", text);
	bool ok = one_target(w, any_value);
	free(w);
	return ok;
}

/* a cast of the NULL constant to one type name, nothing else */
static bool null_cast(const cJSON *val)
{
	const cJSON *tc = sql_node(val, "TypeCast");
	const cJSON *c = tc ? sql_node(sql_jget(tc, "arg"), "A_Const") : NULL;
	return c && sql_jbool(c, "isnull") && only_keys(tc, "arg typeName location") &&
	       sql_node(sql_jget(tc, "typeName"), "TypeName") == NULL && sql_jget(tc, "typeName");
}

bool sql_is_one_type(const char *text)
{
	if (!scan_clean(text, false, false, false))
		return false;
	char *w = xasprintf("SELECT CAST(NULL AS %s\n)", text);
	bool ok = one_target(w, null_cast);
	free(w);
	return ok;
}

const char *sql_query_kind(const char *text)
{
	struct sql_script s = {0};
	struct sql_error err = {0};
	const char *kind = NULL;
	if (scan_clean(text, true, true, true) && sql_parse(&s, text, &err) == 0 && s.n == 1) {
		const cJSON *n = s.stmts[0].node;
		const char *ty = s.stmts[0].type, *ot = sql_jstr(n, "objtype");
		if (!strcmp(ty, "SelectStmt") && !sql_jget(n, "intoClause"))
			kind = "SelectStmt";
		else if (!strcmp(ty, "ViewStmt"))
			kind = "ViewStmt";
		else if (!strcmp(ty, "CreateTableAsStmt") && ot && !strcmp(ot, "OBJECT_MATVIEW"))
			kind = "CreateTableAsStmt";
	}
	sql_script_release(&s);
	sql_error_release(&err);
	return kind;
}

int sql_one_stmt(struct sql_script *s, const char *text, const char *type)
{
	struct sql_error err = {0};
	memset(s, 0, sizeof(*s));
	if (!scan_clean(text, false, true, false) || sql_parse(s, text, &err) < 0 || s->n != 1 || strcmp(s->stmts[0].type, type)) {
		sql_error_release(&err);
		sql_script_release(s);
		memset(s, 0, sizeof(*s));
		return -1;
	}
	return 0;
}
