/*
 * replay_guard: decide a PL/pgSQL IF condition from the catalog being
 * replayed, the way the usual migration guards are written:
 *
 *   IF NOT EXISTS (SELECT 1 FROM information_schema.table_constraints
 *                  WHERE table_name = 'queues' AND constraint_type = 'PRIMARY KEY')
 *
 * A condition is decided when it is built from EXISTS over one catalog
 * relation this file models (below), AND / OR / NOT, and comparisons (=, <>)
 * of that relation's columns with constants; anything else (another
 * relation, a join, a function, a column not modelled) is unknown. Logic is
 * three-valued, as SQL's: FALSE AND unknown is FALSE, so a guard naming a
 * constraint that exists nowhere is decided even beside a column this file
 * does not model.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "replay_int.h"
#include "xalloc.h"

enum tv { TV_FALSE = 0,
	  TV_TRUE = 1,
	  TV_UNKNOWN = -1 };

/* One row of a catalog relation: its modelled columns and their values. */
#define ROW_COLS 6
struct grow {
	const char *col[ROW_COLS];
	const char *val[ROW_COLS];
	int n;
};
struct grows {
	struct grow *v;
	size_t n, cap;
};

static struct grow *row_new(struct grows *rs)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? 2 * rs->cap : 16;
		rs->v = xrealloc(rs->v, rs->cap * sizeof(*rs->v));
	}
	struct grow *r = &rs->v[rs->n++];
	memset(r, 0, sizeof(*r));
	return r;
}

static void row_set(struct grow *r, const char *col, const char *val)
{
	if (r->n < ROW_COLS) {
		r->col[r->n] = col;
		r->val[r->n] = val;
		r->n++;
	}
}

/* The constraints of the catalog as pg_constraint / table_constraints rows. */
static void constraint_rows(const struct catalog *c, struct grows *rs, bool info_schema)
{
	const char *n_name = info_schema ? "constraint_name" : "conname";
	const char *n_type = info_schema ? "constraint_type" : "contype";
	for (size_t i = 0; i < c->nindexes; i++) {
		const struct cat_index *ix = c->indexes[i];
		if (!ix->constraint)
			continue;
		const struct cat_table *t = catalog_table_q(c, ix->table);
		struct grow *r = row_new(rs);
		row_set(r, n_name, ix->constraint);
		row_set(r, n_type,
			ix->primary  ? (info_schema ? "PRIMARY KEY" : "p")
			: ix->unique ? (info_schema ? "UNIQUE" : "u")
				     : (info_schema ? "EXCLUDE" : "x"));
		row_set(r, info_schema ? "table_name" : "conrelid", info_schema && t ? t->name : ix->table);
		row_set(r, info_schema ? "table_schema" : "connamespace_name", ix->schema);
		if (info_schema)
			row_set(r, "constraint_schema", ix->schema);
	}
	for (size_t i = 0; i < c->nfks; i++) {
		const struct cat_fk *fk = c->fks[i];
		const struct cat_table *t = catalog_table_q(c, fk->table);
		struct grow *r = row_new(rs);
		row_set(r, n_name, fk->name);
		row_set(r, n_type, info_schema ? "FOREIGN KEY" : "f");
		row_set(r, info_schema ? "table_name" : "conrelid", info_schema && t ? t->name : fk->table);
		if (info_schema && t) {
			row_set(r, "table_schema", t->schema);
			row_set(r, "constraint_schema", t->schema);
		}
	}
	for (size_t i = 0; i < c->nchecks; i++) {
		const struct cat_check *ck = c->checks[i];
		const struct cat_table *t = catalog_table_q(c, ck->table);
		struct grow *r = row_new(rs);
		row_set(r, n_name, ck->name);
		row_set(r, n_type, info_schema ? "CHECK" : "c");
		row_set(r, info_schema ? "table_name" : "conrelid", info_schema && t ? t->name : ck->table);
		if (info_schema && t) {
			row_set(r, "table_schema", t->schema);
			row_set(r, "constraint_schema", t->schema);
		}
	}
	for (size_t i = 0; !info_schema && i < c->ndomains; i++)
		for (size_t k = 0; k < c->domains[i]->check_names.n; k++) {
			struct grow *r = row_new(rs);
			row_set(r, n_name, c->domains[i]->check_names.v[k]);
			row_set(r, n_type, "c");
		}
}

static void table_rows(const struct catalog *c, struct grows *rs, const char *n_schema, const char *n_name,
		       bool with_views)
{
	for (size_t i = 0; i < c->ntables; i++) {
		struct grow *r = row_new(rs);
		row_set(r, n_schema, c->tables[i]->schema);
		row_set(r, n_name, c->tables[i]->name);
		if (with_views)
			row_set(r, "table_type", "BASE TABLE");
	}
	for (size_t i = 0; with_views && i < c->nviews; i++) {
		if (c->views[i]->materialized)
			continue; /* information_schema.tables lists no materialized view */
		struct grow *r = row_new(rs);
		row_set(r, n_schema, c->views[i]->schema);
		row_set(r, n_name, c->views[i]->name);
		row_set(r, "table_type", "VIEW");
	}
}

static void column_rows(const struct catalog *c, struct grows *rs)
{
	for (size_t i = 0; i < c->ntables; i++) {
		const struct cat_table *t = c->tables[i];
		for (size_t k = 0; k < t->ncols; k++) {
			struct grow *r = row_new(rs);
			row_set(r, "table_schema", t->schema);
			row_set(r, "table_name", t->name);
			row_set(r, "column_name", t->cols[k].name);
			row_set(r, "is_nullable", t->cols[k].nullable ? "YES" : "NO");
		}
	}
}

static void class_rows(const struct catalog *c, struct grows *rs)
{
	for (size_t i = 0; i < c->ntables; i++) {
		struct grow *r = row_new(rs);
		row_set(r, "relname", c->tables[i]->name);
		row_set(r, "relkind", c->tables[i]->partition_by ? "p" : "r");
	}
	for (size_t i = 0; i < c->nviews; i++) {
		struct grow *r = row_new(rs);
		row_set(r, "relname", c->views[i]->name);
		row_set(r, "relkind", c->views[i]->materialized ? "m" : "v");
	}
	for (size_t i = 0; i < c->nindexes; i++) {
		struct grow *r = row_new(rs);
		row_set(r, "relname", c->indexes[i]->name);
		row_set(r, "relkind", "i");
	}
}

static void type_rows(const struct catalog *c, struct grows *rs)
{
	for (size_t i = 0; i < c->nenums; i++) {
		struct grow *r = row_new(rs);
		row_set(r, "typname", c->enums[i]->name);
		row_set(r, "typtype", "e");
	}
	for (size_t i = 0; i < c->ndomains; i++) {
		struct grow *r = row_new(rs);
		row_set(r, "typname", c->domains[i]->name);
		row_set(r, "typtype", "d");
	}
	for (size_t i = 0; i < c->ntables; i++) { /* a table's row type */
		struct grow *r = row_new(rs);
		row_set(r, "typname", c->tables[i]->name);
		row_set(r, "typtype", "c");
	}
}

/* rows_of: the rows of the catalog relation rv names; false when it is not
 * one modelled here. */
static bool rows_of(const struct catalog *c, const cJSON *rv, struct grows *rs)
{
	const char *schema = sql_jstr(rv, "schemaname"), *name = sql_jstr(rv, "relname");
	if (!name)
		return false;
	bool info = schema && !strcmp(schema, "information_schema");
	bool pgcat = !schema || !strcmp(schema, "pg_catalog");
	if (info && !strcmp(name, "tables"))
		table_rows(c, rs, "table_schema", "table_name", true);
	else if (info && !strcmp(name, "columns"))
		column_rows(c, rs);
	else if (info && !strcmp(name, "table_constraints"))
		constraint_rows(c, rs, true);
	else if (info && !strcmp(name, "schemata"))
		for (size_t i = 0; i < c->schemas.n; i++)
			row_set(row_new(rs), "schema_name", c->schemas.v[i]);
	else if (pgcat && !strcmp(name, "pg_constraint"))
		constraint_rows(c, rs, false);
	else if (pgcat && !strcmp(name, "pg_tables"))
		table_rows(c, rs, "schemaname", "tablename", false);
	else if (pgcat && !strcmp(name, "pg_class"))
		class_rows(c, rs);
	else if (pgcat && !strcmp(name, "pg_type"))
		type_rows(c, rs);
	else if (pgcat && !strcmp(name, "pg_namespace"))
		for (size_t i = 0; i < c->schemas.n; i++)
			row_set(row_new(rs), "nspname", c->schemas.v[i]);
	else if (pgcat && !strcmp(name, "pg_indexes"))
		for (size_t i = 0; i < c->nindexes; i++) {
			const struct cat_table *t = catalog_table_q(c, c->indexes[i]->table);
			struct grow *r = row_new(rs);
			row_set(r, "schemaname", c->indexes[i]->schema);
			row_set(r, "indexname", c->indexes[i]->name);
			if (t)
				row_set(r, "tablename", t->name);
		}
	else if (pgcat && !strcmp(name, "pg_views"))
		for (size_t i = 0; i < c->nviews; i++) {
			if (c->views[i]->materialized)
				continue;
			struct grow *r = row_new(rs);
			row_set(r, "schemaname", c->views[i]->schema);
			row_set(r, "viewname", c->views[i]->name);
		}
	else
		return false;
	return true;
}

struct gctx {
	const struct replay_ctx *x;
	char *buf; /* a constant built here (a regclass's qname) */
};

/* The text of a constant operand, or NULL when it is not one. */
static const char *constant(struct gctx *g, const cJSON *n)
{
	const cJSON *tc = sql_node(n, "TypeCast");
	if (tc) {
		const char *s = sql_jstr(sql_jget(sql_node(sql_jget(tc, "arg"), "A_Const"), "sval"), "sval");
		const cJSON *names = sql_jget(sql_jget(tc, "typeName"), "names"), *last = NULL, *it;
		cJSON_ArrayForEach(it, names) last = it;
		const char *type = sql_strval(last);
		if (!s || !type)
			return NULL;
		if (!strcmp(type, "regclass")) { /* 'name'::regclass: the relation's qname */
			struct sql_script sc;
			struct sql_error err;
			char *q = xasprintf("SELECT FROM %s", s);
			const char *out = NULL;
			if (sql_parse(&sc, q, &err) == 0) {
				const cJSON *rv = sql_node(cJSON_GetArrayItem(sql_jget(sc.stmts[0].node, "fromClause"), 0),
							   "RangeVar");
				if (rv && sc.n == 1) {
					free(g->buf);
					g->buf = rx_rel_qname(g->x, rv);
					out = g->buf;
				}
				sql_script_release(&sc);
			} else
				sql_error_release(&err);
			free(q);
			return out;
		}
		return strcmp(type, "text") && strcmp(type, "name") && strcmp(type, "varchar") ? NULL : s;
	}
	const cJSON *ac = sql_node(n, "A_Const");
	if (ac)
		return sql_jstr(sql_jget(ac, "sval"), "sval");
	const cJSON *sv = sql_node(n, "SQLValueFunction");
	const char *op = sql_jstr(sv, "op");
	if (op && !strcmp(op, "SVFOP_CURRENT_SCHEMA"))
		return g->x->r->search_schema;
	const cJSON *fc = sql_node(n, "FuncCall"), *last = NULL, *it;
	cJSON_ArrayForEach(it, sql_jget(fc, "funcname")) last = it;
	if (fc && sql_strval(last) && !strcmp(sql_strval(last), "current_schema") && !sql_jget(fc, "args"))
		return g->x->r->search_schema;
	return NULL;
}

/* The column a ColumnRef names (its last field), or NULL. */
static const char *column_of(const cJSON *n)
{
	const cJSON *cr = sql_node(n, "ColumnRef"), *last = NULL, *it;
	cJSON_ArrayForEach(it, sql_jget(cr, "fields")) last = it;
	return cr ? sql_strval(last) : NULL;
}

static enum tv on_row(struct gctx *g, const struct grow *r, const cJSON *e);

static enum tv bool_expr(struct gctx *g, const struct grow *r, const cJSON *b)
{
	const char *op = sql_jstr(b, "boolop");
	const cJSON *a;
	if (!op)
		return TV_UNKNOWN;
	if (!strcmp(op, "NOT_EXPR")) {
		enum tv v = on_row(g, r, cJSON_GetArrayItem(sql_jget(b, "args"), 0));
		return v == TV_UNKNOWN ? v : !v;
	}
	bool and = !strcmp(op, "AND_EXPR");
	enum tv acc = and? TV_TRUE : TV_FALSE;
	cJSON_ArrayForEach(a, sql_jget(b, "args"))
	{
		enum tv v = on_row(g, r, a);
		if (v == (and? TV_FALSE : TV_TRUE))
			return v;
		if (v == TV_UNKNOWN)
			acc = TV_UNKNOWN;
	}
	return acc;
}

static enum tv compare(struct gctx *g, const struct grow *r, const cJSON *ae)
{
	const char *kind = sql_jstr(ae, "kind");
	const char *op = sql_strval(cJSON_GetArrayItem(sql_jget(ae, "name"), 0));
	if (!kind || strcmp(kind, "AEXPR_OP") || !op)
		return TV_UNKNOWN;
	bool eq = !strcmp(op, "=");
	if (!eq && strcmp(op, "<>") && strcmp(op, "!="))
		return TV_UNKNOWN;
	const cJSON *l = sql_jget(ae, "lexpr"), *rt = sql_jget(ae, "rexpr");
	const char *col = column_of(l);
	if (!col) { /* 'x' = column */
		const cJSON *t = l;
		l = rt;
		rt = t;
		col = column_of(l);
	}
	const char *k = col ? constant(g, rt) : NULL;
	if (!k || !r)
		return TV_UNKNOWN;
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->col[i], col))
			return (!strcmp(r->val[i], k)) == eq ? TV_TRUE : TV_FALSE;
	return TV_UNKNOWN; /* a column not modelled */
}

/* exists: EXISTS over one modelled catalog relation. */
static enum tv exists(struct gctx *g, const cJSON *sub)
{
	const cJSON *from = sql_jget(sub, "fromClause");
	const cJSON *rv = sql_node(cJSON_GetArrayItem(from, 0), "RangeVar");
	if (!rv || cJSON_GetArraySize(from) != 1 || sql_jget(sub, "groupClause") || sql_jget(sub, "havingClause") ||
	    sql_jget(sub, "limitOffset"))
		return TV_UNKNOWN;
	struct grows rs = {0};
	if (!rows_of(g->x->r->cat, rv, &rs)) {
		free(rs.v);
		return TV_UNKNOWN;
	}
	const cJSON *where = sql_jget(sub, "whereClause");
	enum tv acc = TV_FALSE;
	for (size_t i = 0; i < rs.n && acc != TV_TRUE; i++) {
		enum tv v = where ? on_row(g, &rs.v[i], where) : TV_TRUE;
		if (v == TV_TRUE || v == TV_UNKNOWN)
			acc = v;
	}
	free(rs.v);
	return acc;
}

/* on_row: expression e, for row r of the relation in scope (NULL at the top). */
static enum tv on_row(struct gctx *g, const struct grow *r, const cJSON *e)
{
	const cJSON *n;
	if ((n = sql_node(e, "BoolExpr")))
		return bool_expr(g, r, n);
	if ((n = sql_node(e, "A_Expr")))
		return compare(g, r, n);
	if ((n = sql_node(e, "SubLink"))) {
		const char *t = sql_jstr(n, "subLinkType");
		const cJSON *sub = sql_node(sql_jget(n, "subselect"), "SelectStmt");
		if (!r && t && !strcmp(t, "EXISTS_SUBLINK") && sub)
			return exists(g, sub);
	}
	return TV_UNKNOWN;
}

int rx_guard(const struct replay_ctx *x, const char *cond)
{
	struct sql_script s;
	struct sql_error err;
	char *q = xasprintf("SELECT (%s)", cond);
	enum tv v = TV_UNKNOWN;
	if (sql_parse(&s, q, &err) == 0) {
		const cJSON *rt = sql_node(cJSON_GetArrayItem(sql_jget(s.stmts[0].node, "targetList"), 0), "ResTarget");
		struct gctx g = {x, NULL};
		if (s.n == 1 && rt)
			v = on_row(&g, NULL, sql_jget(rt, "val"));
		free(g.buf);
		sql_script_release(&s);
	} else
		sql_error_release(&err);
	free(q);
	return v;
}
