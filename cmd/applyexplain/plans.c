/*
 * plans: the top queries, EXPLAINed before and after the migration.
 *
 * Queries come from the first source that has some: --queries FILE, the
 * production pg_stat_statements (--from-db, a read-only session), the
 * shadow's pg_stat_statements. Only single SELECT/INSERT/UPDATE/DELETE
 * statements that name one of the migration's tables are kept (found in
 * libpg_query's parse tree), the top N in the source's order. A $n
 * parameter gets a value from the shadow's own rows: the middle non-null
 * value of the column it is compared with or assigned to; "1" when no
 * column can be found.
 *
 * Each query runs as EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON) inside
 * a transaction that is rolled back; when ANALYZE fails (an INSERT hitting a
 * unique key), a plain EXPLAIN gives the costs.
 */
#include <stdlib.h>
#include <string.h>

#include "applyexplain.h"
#include "db.h"
#include "msg.h"
#include "nd.h"
#include "pgvocab.h"
#include "xalloc.h"

struct query {
	char *sql;
	double calls; /* < 0 when unknown */
	struct strv tables;
	struct strv params;
	cJSON *before, *after;
};

struct queries {
	struct query *v;
	size_t n, cap;
	const char *source;
	struct strv big_keys; /* table -> estimated production rows */
	double *big_rows;
	size_t big_cap;
};

/* ---- sources ---- */

static bool is_dml(const char *type)
{
	return !strcmp(type, "SelectStmt") || !strcmp(type, "InsertStmt") || !strcmp(type, "UpdateStmt") ||
	       !strcmp(type, "DeleteStmt");
}

static bool touches(const struct strv *qt, const struct strv *tables)
{
	for (size_t i = 0; i < qt->n; i++)
		if (strv_index(tables, qt->v[i]) >= 0)
			return true;
	return false;
}

/* consider: keep sql when it is one DML statement on the migration's tables. */
static void consider(struct queries *q, const char *sql, double calls, const struct strv *tables, int top)
{
	struct sql_script s;
	struct sql_error err;
	if ((int)q->n >= top || strstr(sql, "ctid = (SELECT ctid") || strstr(sql, "EXPLAIN"))
		return;
	if (sql_parse(&s, sql, &err) < 0) {
		sql_error_release(&err);
		return;
	}
	struct strv qt = STRV_INIT;
	if (s.n == 1 && is_dml(s.stmts[0].type))
		tree_tables(s.stmts[0].node, &qt);
	if (touches(&qt, tables)) {
		xgrow(&q->v, &q->cap, q->n + 1, sizeof(*q->v));
		struct query *e = &q->v[q->n++];
		memset(e, 0, sizeof(*e));
		e->sql = sql_stmt_text(&s, &s.stmts[0]);
		e->calls = calls;
		strv_copy(&e->tables, &qt);
	}
	strv_release(&qt);
	sql_script_release(&s);
}

static void from_file(struct queries *q, const char *path, const struct strv *tables, int top)
{
	struct msg_err ferr = MSG_ERR_INIT;
	char *text = read_file(path, &ferr);
	if (!text)
		die_err(&ferr);
	struct sql_script s;
	struct sql_error err;
	if (sql_parse(&s, text, &err) < 0)
		die_at(EXIT_INPUT, path, err.line, "%s", err.message);
	for (size_t i = 0; i < s.n; i++) {
		char *sql = sql_stmt_text(&s, &s.stmts[i]);
		consider(q, sql, -1, tables, top);
		free(sql);
	}
	sql_script_release(&s);
	free(text);
	q->source = "file";
}

static void from_pss(struct queries *q, PGconn *c, const struct strv *tables, int top, const char *source)
{
	PGresult *r = db_query_or_die(c, "SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_stat_statements'", 0, NULL);
	bool have = PQntuples(r) == 1;
	PQclear(r);
	if (!have)
		return;
	const char *total = PQserverVersion(c) >= 130000 ? "total_exec_time" : "total_time";
	char *sql = xasprintf("SELECT query, calls FROM pg_stat_statements WHERE dbid = (SELECT oid FROM "
			      "pg_catalog.pg_database WHERE datname = pg_catalog.current_database()) "
			      "ORDER BY %s DESC LIMIT 1000",
			      total);
	r = PQexec(c, sql);
	free(sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		warning("%s pg_stat_statements cannot be read: %s", source, PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
		PQclear(r);
		return;
	}
	for (int i = 0; i < PQntuples(r); i++)
		consider(q, PQgetvalue(r, i, 0), strtod(PQgetvalue(r, i, 1), NULL), tables, top);
	PQclear(r);
	if (q->n)
		q->source = source;
}

static void from_prod(struct queries *q, const char *url, const struct strv *tables, int top)
{
	struct db_opts dbo = DB_OPTS_INIT;
	dbo.read_only = true; /* production is only ever read */
	dbo.statement_timeout_ms = 10000;
	dbo.connect_timeout_s = 10;
	struct msg_err cerr = MSG_ERR_INIT;
	PGconn *c = db_connect(url, &dbo, &cerr);
	if (!c)
		die_err(&cerr);
	from_pss(q, c, tables, top, "production");
	db_close(c);
}

/* ---- $n values ---- */

struct scope {
	struct strv alias, table; /* alias (or bare name) -> qualified table */
};

static void scope_walk(const cJSON *node, struct scope *sc)
{
	const cJSON *it;
	if (!node)
		return;
	if (cJSON_IsObject(node) && sql_jstr(node, "relname") && sql_jstr(node, "relpersistence")) {
		const char *rel = sql_jstr(node, "relname"), *sch = sql_jstr(node, "schemaname");
		const char *al = sql_jstr(sql_jget(node, "alias"), "aliasname");
		char *q = xasprintf("%s.%s", sch ? sch : ae_schema, rel);
		strv_push(&sc->alias, al ? al : rel);
		strv_push_take(&sc->table, q);
		return;
	}
	cJSON_ArrayForEach(it, node) if (cJSON_IsObject(it) || cJSON_IsArray(it)) scope_walk(it, sc);
}

static int param_number(const cJSON *n)
{
	const cJSON *tc = sql_node(n, "TypeCast");
	if (tc)
		n = sql_jget(tc, "arg");
	const cJSON *p = sql_node(n, "ParamRef");
	return p ? (int)sql_jint(p, "number") : 0;
}

struct binding {
	int param;
	const cJSON *colref; /* ColumnRef fields, or NULL with name set */
	const char *name;
	const char *table; /* for INSERT/UPDATE targets */
};

struct bindings {
	struct binding *v;
	size_t n, cap;
};

static void bind(struct bindings *b, int param, const cJSON *fields, const char *name, const char *table)
{
	if (param <= 0)
		return;
	xgrow(&b->v, &b->cap, b->n + 1, sizeof(*b->v));
	b->v[b->n++] = (struct binding){param, fields, name, table};
}

static void bind_expr(struct bindings *b, const cJSON *ae)
{
	const cJSON *l = sql_jget(ae, "lexpr"), *r = sql_jget(ae, "rexpr");
	const cJSON *lc = sql_node(l, "ColumnRef"), *rc = sql_node(r, "ColumnRef");
	const cJSON *col = lc ? sql_jget(lc, "fields") : rc ? sql_jget(rc, "fields")
							    : NULL;
	const cJSON *other = lc ? r : l;
	const cJSON *list = sql_node(other, "List"), *it;
	if (!col)
		return;
	if (list) {
		cJSON_ArrayForEach(it, sql_jget(list, "items")) bind(b, param_number(it), col, NULL, NULL);
	} else
		bind(b, param_number(other), col, NULL, NULL);
}

static void bindings_walk(const cJSON *node, struct bindings *b, const char *target)
{
	const cJSON *it;
	if (!node)
		return;
	if (cJSON_IsObject(node) && node->string && !strcmp(node->string, "A_Expr"))
		bind_expr(b, node);
	if (cJSON_IsObject(node) && node->string && !strcmp(node->string, "ResTarget") && sql_jstr(node, "name"))
		bind(b, param_number(sql_jget(node, "val")), NULL, sql_jstr(node, "name"), target);
	cJSON_ArrayForEach(it, node) if (cJSON_IsObject(it) || cJSON_IsArray(it)) bindings_walk(it, b, target);
}

/* insert_bindings: INSERT (a, b) VALUES ($1, $2): $1 -> a, $2 -> b. */
static void insert_bindings(const cJSON *ins, struct bindings *b, const char *target)
{
	const cJSON *cols = sql_jget(ins, "cols"), *sel = sql_node(sql_jget(ins, "selectStmt"), "SelectStmt");
	const cJSON *row;
	cJSON_ArrayForEach(row, sql_jget(sel, "valuesLists"))
	{
		const cJSON *items = sql_jget(sql_node(row, "List"), "items");
		for (int i = 0; i < cJSON_GetArraySize(items) && i < cJSON_GetArraySize(cols); i++)
			bind(b, param_number(cJSON_GetArrayItem(items, i)), NULL,
			     sql_jstr(sql_node(cJSON_GetArrayItem(cols, i), "ResTarget"), "name"), target);
	}
}

static int max_param(const cJSON *node)
{
	int m = 0;
	const cJSON *it;
	if (cJSON_IsObject(node) && node->string && !strcmp(node->string, "ParamRef"))
		return (int)sql_jint(node, "number");
	cJSON_ArrayForEach(it, node) if (cJSON_IsObject(it) || cJSON_IsArray(it))
	{
		int k = max_param(it);
		if (k > m)
			m = k;
	}
	return m;
}

/* value_of: a middle non-null value of table.col on the shadow, or NULL. */
static char *value_of(PGconn *c, const char *table, const char *col)
{
	char *qt = db_quote_qualified_or_die(c, table), *qc = db_quote_ident_or_die(c, col);
	char *sql = xasprintf("SELECT %s::text FROM %s WHERE %s IS NOT NULL OFFSET "
			      "(SELECT count(*) / 2 FROM %s WHERE %s IS NOT NULL) LIMIT 1",
			      qc, qt, qc, qt, qc);
	PGresult *r = PQexec(c, sql);
	char *v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? xstrdup(PQgetvalue(r, 0, 0)) : NULL;
	PQclear(r);
	free(sql);
	free(qt);
	free(qc);
	return v;
}

/* resolve: the value for one binding: the column's table from its alias,
 * or the first table of the query that has such a column. */
static char *resolve(PGconn *c, const struct binding *bd, const struct scope *sc)
{
	struct strv names = STRV_INIT;
	char *v = NULL;
	if (bd->colref)
		sql_name_list(bd->colref, &names);
	const char *col = bd->colref ? (names.n ? names.v[names.n - 1] : NULL) : bd->name;
	const char *al = names.n > 1 ? names.v[names.n - 2] : NULL;
	for (size_t i = 0; col && !v && i < sc->table.n; i++) {
		if (bd->table && strcmp(sc->table.v[i], bd->table))
			continue;
		if (al && strcmp(sc->alias.v[i], al))
			continue;
		v = value_of(c, sc->table.v[i], col);
	}
	strv_release(&names);
	return v;
}

static void fill_params(PGconn *c, struct query *q)
{
	struct sql_script s;
	struct sql_error err;
	if (sql_parse(&s, q->sql, &err) < 0) {
		sql_error_release(&err);
		return;
	}
	const struct sql_stmt *st = &s.stmts[0];
	struct scope sc = {STRV_INIT, STRV_INIT};
	struct bindings b = {0};
	const cJSON *rel = sql_jget(st->node, "relation");
	char *target = rel ? xasprintf("%s.%s", sql_jstr(rel, "schemaname") ? sql_jstr(rel, "schemaname") : ae_schema,
				       sql_jstr(rel, "relname"))
			   : NULL;
	scope_walk(st->node, &sc);
	if (!strcmp(st->type, "InsertStmt"))
		insert_bindings(st->node, &b, target);
	bindings_walk(st->node, &b, target);
	int n = max_param(st->node);
	for (int k = 1; k <= n; k++) {
		char *v = NULL;
		for (size_t i = 0; !v && i < b.n; i++)
			if (b.v[i].param == k)
				v = resolve(c, &b.v[i], &sc);
		strv_push_take(&q->params, v ? v : xstrdup("1"));
	}
	free(b.v);
	free(target);
	strv_release(&sc.alias);
	strv_release(&sc.table);
	sql_script_release(&s);
}

/* ---- table sizes ---- */

static void note_sizes(struct shadow *sh, struct queries *qs)
{
	for (size_t i = 0; i < qs->n; i++)
		for (size_t k = 0; k < qs->v[i].tables.n; k++) {
			const char *t = qs->v[i].tables.v[k];
			if (strv_index(&qs->big_keys, t) >= 0)
				continue;
			char *qt = db_quote_qualified_or_die(sh->mig, t);
			const char *params[1] = {qt};
			PGresult *r = db_query_or_die(sh->mig,
						      "SELECT greatest(c.reltuples, 0) FROM pg_catalog.pg_class c "
						      "WHERE c.oid = pg_catalog.to_regclass($1)",
						      1, params);
			double rows = PQntuples(r) == 1 ? strtod(PQgetvalue(r, 0, 0), NULL) : 0;
			PQclear(r);
			free(qt);
			xgrow(&qs->big_rows, &qs->big_cap, qs->big_keys.n + 1, sizeof(*qs->big_rows));
			qs->big_rows[qs->big_keys.n] = rows * scale_of(sh, t);
			strv_push(&qs->big_keys, t);
		}
}

static double prod_rows(const struct queries *qs, const char *table)
{
	long i = strv_index(&qs->big_keys, table);
	return i < 0 ? 0 : qs->big_rows[i];
}

struct queries *queries_collect(struct shadow *sh, const struct strv *tables)
{
	struct queries *q = xcalloc(1, sizeof(*q));
	const struct opts *o = sh->o;
	if (o->queries_file)
		from_file(q, o->queries_file, tables, o->top);
	else if (o->from_db) {
		const char *url = *o->from_db ? o->from_db : getenv("PROD_DATABASE_URL");
		if (!url || !*url)
			die_code(EXIT_USAGE, "--from-db needs a URL, or PROD_DATABASE_URL");
		from_prod(q, url, tables, o->top);
	}
	/* our own session: the migration's role may not read others' queries */
	if (!q->n && !o->queries_file)
		from_pss(q, sh->mon, tables, o->top, "shadow");
	if (!q->n) {
		queries_free(q);
		return NULL;
	}
	for (size_t i = 0; i < q->n; i++)
		fill_params(sh->mig, &q->v[i]);
	note_sizes(sh, q);
	return q;
}

/* ---- EXPLAIN ---- */

static bool has_str(const cJSON *arr, const char *s);

static void plan_walk(const cJSON *node, cJSON *seq, cJSON *idx)
{
	const char *type = nd_get_str(node, "Node Type");
	const char *rel = nd_get_str(node, "Relation Name"), *sch = nd_get_str(node, "Schema");
	const char *ix = nd_get_str(node, "Index Name");
	const cJSON *it;
	if (type && !strcmp(type, "Seq Scan") && rel) {
		char *q = xasprintf("%s.%s", sch ? sch : ae_schema, rel);
		if (!has_str(seq, q))
			cJSON_AddItemToArray(seq, cJSON_CreateString(q));
		free(q);
	}
	if (ix && !has_str(idx, ix))
		cJSON_AddItemToArray(idx, cJSON_CreateString(ix));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(node, "Plans")) plan_walk(it, seq, idx);
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static double round3(double v)
{
	return (double)(long long)(v * 1000 + (v < 0 ? -0.5 : 0.5)) / 1000;
}

static cJSON *summarize(const char *json, bool analyzed)
{
	cJSON *doc = cJSON_Parse(json);
	cJSON *top = cJSON_GetArrayItem(doc, 0);
	cJSON *plan = cJSON_GetObjectItemCaseSensitive(top, "Plan");
	cJSON *o = cJSON_CreateObject();
	const cJSON *cost = cJSON_GetObjectItemCaseSensitive(plan, "Total Cost");
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(top, "Execution Time");
	const cJSON *hit = cJSON_GetObjectItemCaseSensitive(plan, "Shared Hit Blocks");
	const cJSON *rd = cJSON_GetObjectItemCaseSensitive(plan, "Shared Read Blocks");
	if (cJSON_IsNumber(cost))
		cJSON_AddNumberToObject(o, "cost", cost->valuedouble);
	else
		cJSON_AddNullToObject(o, "cost");
	if (cJSON_IsNumber(ms))
		cJSON_AddNumberToObject(o, "ms", round3(ms->valuedouble));
	else
		cJSON_AddNullToObject(o, "ms");
	cJSON *seq = cJSON_AddArrayToObject(o, "seq_scans"), *idx = cJSON_AddArrayToObject(o, "indexes");
	plan_walk(plan, seq, idx);
	if (cJSON_IsNumber(hit) && cJSON_IsNumber(rd))
		cJSON_AddNumberToObject(o, "shared_blocks", hit->valuedouble + rd->valuedouble);
	cJSON_AddBoolToObject(o, "analyzed", analyzed);
	cJSON_AddStringToObject(o, "node", nd_get_str(plan, "Node Type") ? nd_get_str(plan, "Node Type") : "");
	cJSON_Delete(doc);
	return o;
}

static PGresult *explain_once(PGconn *c, const struct query *q, bool analyze)
{
	char *sql = xasprintf("EXPLAIN (%sVERBOSE, FORMAT JSON) %s", analyze ? "ANALYZE, BUFFERS, " : "", q->sql);
	db_exec_or_die(c, "BEGIN");
	PGresult *r = PQexecParams(c, sql, (int)q->params.n, NULL, (const char *const *)q->params.v, NULL, NULL, 0);
	PQclear(PQexec(c, "ROLLBACK"));
	free(sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) >= 1)
		return r;
	if (analyze) {
		PGresult *r2 = explain_once(c, q, false);
		if (r2) {
			PQclear(r);
			return r2;
		}
	}
	return r;
}

/* The fastest of o->runs EXPLAIN ANALYZE runs gives "ms": one run is at
 * the mercy of whatever else the machine does, and a regression is only
 * worth reporting when the best "after" is slower than the best "before".
 * A run slower than a second is well above that noise and is not repeated. */
static cJSON *explain(PGconn *c, const struct query *q, int runs)
{
	PGresult *r = explain_once(c, q, true);
	cJSON *o;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) >= 1) {
		bool analyzed = strstr(PQgetvalue(r, 0, 0), "\"Execution Time\"") != NULL;
		o = summarize(PQgetvalue(r, 0, 0), analyzed);
		int done = 1;
		for (; analyzed && done < runs && num(o, "ms") < 1000; done++) {
			PQclear(r);
			r = explain_once(c, q, true);
			if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
				break;
			cJSON *again = summarize(PQgetvalue(r, 0, 0), true);
			double ms = num(again, "ms");
			if (ms >= 0 && ms < num(o, "ms"))
				cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "ms"), ms);
			cJSON_Delete(again);
		}
		cJSON_AddNumberToObject(o, "runs", done);
	} else {
		o = cJSON_CreateObject();
		cJSON_AddNullToObject(o, "cost");
		cJSON_AddNullToObject(o, "ms");
		cJSON_AddArrayToObject(o, "seq_scans");
		cJSON_AddArrayToObject(o, "indexes");
		cJSON_AddStringToObject(o, "error", PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : PQerrorMessage(c));
	}
	PQclear(r);
	return o;
}

void queries_explain(struct shadow *sh, struct queries *q, bool after)
{
	for (size_t i = 0; i < q->n; i++) {
		cJSON *e = explain(sh->mig, &q->v[i], sh->o->runs);
		if (after)
			q->v[i].after = e;
		else
			q->v[i].before = e;
	}
}

/* ---- regressions ---- */

static bool has_str(const cJSON *arr, const char *s)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, arr) if (cJSON_IsString(it) && !strcmp(it->valuestring, s)) return true;
	return false;
}

static void regression(cJSON *regs, const char *kind, const char *what, const char *key, char *message)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", kind);
	if (what)
		cJSON_AddStringToObject(o, key, what);
	cJSON_AddStringToObject(o, "message", message);
	cJSON_AddItemToArray(regs, o);
	free(message);
}

static cJSON *regressions(const struct queries *qs, const struct opts *o, const cJSON *b, const cJSON *a)
{
	cJSON *regs = cJSON_CreateArray();
	const cJSON *it;
	if (nd_get_str(a, "error") && !nd_get_str(b, "error")) {
		regression(regs, "error", NULL, NULL,
			   xasprintf("the query fails after the migration: %s", nd_get_str(a, "error")));
		return regs;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(a, "seq_scans"))
	{
		double rows = prod_rows(qs, it->valuestring);
		if (!has_str(cJSON_GetObjectItemCaseSensitive(b, "seq_scans"), it->valuestring) && rows >= o->large_rows)
			regression(regs, "new_seq_scan", it->valuestring, "table",
				   xasprintf("new sequential scan on %s (about %.0f rows in production)", it->valuestring,
					     rows));
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(b, "indexes"))
	{
		if (!has_str(cJSON_GetObjectItemCaseSensitive(a, "indexes"), it->valuestring))
			regression(regs, "lost_index", it->valuestring, "index",
				   xasprintf("the plan no longer uses index %s", it->valuestring));
	}
	double cb = num(b, "cost"), ca = num(a, "cost"), tb = num(b, "ms"), ta = num(a, "ms");
	if (cb > 0 && ca > cb * o->cost_ratio)
		regression(regs, "cost", NULL, NULL, xasprintf("estimated cost x%.1f (%.1f -> %.1f)", ca / cb, cb, ca));
	if (tb >= 0 && ta > tb * o->time_ratio && ta - tb >= 1.0)
		regression(regs, "time", NULL, NULL, xasprintf("execution time x%.1f (%.3f ms -> %.3f ms)", ta / (tb > 0 ? tb : 0.001), tb, ta));
	return regs;
}

void queries_records(struct shadow *sh, struct queries *q, const char *migration, cJSON *out)
{
	for (size_t i = 0; i < q->n; i++) {
		struct query *e = &q->v[i];
		cJSON *rec = nd_record("plan");
		cJSON_AddStringToObject(rec, "migration", migration);
		cJSON_AddStringToObject(rec, "query", e->sql);
		cJSON_AddStringToObject(rec, "source", q->source);
		if (e->calls >= 0)
			cJSON_AddNumberToObject(rec, "calls", e->calls);
		else
			cJSON_AddNullToObject(rec, "calls");
		cJSON_AddItemToObject(rec, "tables", pgv_strv_json(&e->tables));
		cJSON_AddItemToObject(rec, "params", pgv_strv_json(&e->params));
		cJSON_AddItemToObject(rec, "before", e->before ? cJSON_Duplicate(e->before, true) : cJSON_CreateObject());
		if (e->after) {
			cJSON_AddItemToObject(rec, "after", cJSON_Duplicate(e->after, true));
			cJSON_AddItemToObject(rec, "regressions", regressions(q, sh->o, e->before, e->after));
		} else {
			cJSON_AddNullToObject(rec, "after");
			cJSON_AddArrayToObject(rec, "regressions");
		}
		cJSON_AddItemToArray(out, rec);
	}
}

void queries_free(struct queries *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->n; i++) {
		free(q->v[i].sql);
		strv_release(&q->v[i].tables);
		strv_release(&q->v[i].params);
		cJSON_Delete(q->v[i].before);
		cJSON_Delete(q->v[i].after);
	}
	free(q->v);
	strv_release(&q->big_keys);
	free(q->big_rows);
	free(q);
}
