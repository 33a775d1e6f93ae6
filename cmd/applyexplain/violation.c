/*
 * violation: a statement that failed on the data, with the rows it hit.
 *
 * PostgreSQL names the constraint, table and column of a class-23 error
 * (PG_DIAG_*); the parse tree of the failed statement gives what the error
 * does not (the columns of a UNIQUE, the referenced table of a foreign key,
 * the expression of a CHECK). The count runs on the shadow in the state
 * just before the statement, each query inside its own savepoint when a
 * transaction is open, so a failing count leaves the session usable.
 */
#include <stdlib.h>
#include <string.h>

#include "applyexplain.h"
#include "db.h"
#include "xalloc.h"

struct vctx {
	PGconn *c;
	const char *text;
	char *qtable; /* quoted schema.table */
	const char *table, *column, *constraint;
};

static char *qualify(PGconn *c, const char *schema, const char *name)
{
	char *qs = db_quote_ident_or_die(c, schema ? schema : ae_schema), *qn = db_quote_ident_or_die(c, name);
	char *q = xasprintf("%s.%s", qs, qn);
	free(qs);
	free(qn);
	return q;
}

PGresult *try_query(PGconn *c, const char *sql)
{
	bool tx = PQtransactionStatus(c) == PQTRANS_INTRANS;
	if (tx)
		PQclear(PQexec(c, "SAVEPOINT applyexplain_count"));
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
		PQclear(r);
		r = NULL;
		if (tx)
			PQclear(PQexec(c, "ROLLBACK TO SAVEPOINT applyexplain_count"));
	}
	if (tx)
		PQclear(PQexec(c, "RELEASE SAVEPOINT applyexplain_count"));
	return r;
}

/* pk_cols: the primary key (else every column) of qtable, quoted, comma-separated. */
static char *key_cols(PGconn *c, const char *qtable, char **names)
{
	const char *params[1] = {qtable};
	PGresult *r = PQexecParams(c,
				   "SELECT string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.i), "
				   "string_agg(a.attname, ', ' ORDER BY k.i) "
				   "FROM pg_catalog.pg_index x CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY k(n, i) "
				   "JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n "
				   "WHERE x.indrelid = pg_catalog.to_regclass($1) AND x.indisprimary",
				   1, NULL, params, NULL, NULL, 0);
	char *cols = NULL;
	*names = NULL;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		cols = xstrdup(PQgetvalue(r, 0, 0));
		*names = xstrdup(PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return cols;
}

/* count_where: count of rows of the table matching cond, and the key of
 * the first one as "(k1, k2)=(v1, v2)" in *example. -1 when it fails. */
static double count_where(struct vctx *v, const char *cond, char **example)
{
	char *sql = xasprintf("SELECT count(*) FROM %s WHERE %s", v->qtable, cond);
	PGresult *r = try_query(v->c, sql);
	double n = r ? strtod(PQgetvalue(r, 0, 0), NULL) : -1;
	PQclear(r);
	free(sql);
	char *names, *cols = key_cols(v->c, v->qtable, &names);
	if (n > 0 && cols) {
		sql = xasprintf("SELECT row(%s)::text FROM %s WHERE %s LIMIT 1", cols, v->qtable, cond);
		r = try_query(v->c, sql);
		if (r) {
			const char *row = PQgetvalue(r, 0, 0);
			*example = strchr(names, ',') ? xasprintf("(%s)=%s", names, row)
						      : xasprintf("%s=%.*s", names, (int)strlen(row) - 2, row + 1);
		}
		PQclear(r);
		free(sql);
	}
	free(cols);
	free(names);
	return n;
}

/* ---- the constraint a statement adds ---- */

/* find_constraint: the Constraint node (of contype) the statement adds, or
 * NULL; an IndexStmt stands for a unique constraint. */
static const cJSON *find_constraint(const cJSON *node, const char *contype)
{
	const cJSON *it;
	if (!node)
		return NULL;
	if (cJSON_IsObject(node) && node->string && !strcmp(node->string, "Constraint")) {
		const char *ct = sql_jstr(node, "contype");
		if (ct && !strcmp(ct, contype))
			return node;
	}
	cJSON_ArrayForEach(it, node) if (cJSON_IsObject(it) || cJSON_IsArray(it))
	{
		const cJSON *f = find_constraint(it, contype);
		if (f)
			return f;
	}
	return NULL;
}

/* quoted_list: names of a list of String nodes (or IndexElems), quoted,
 * joined by sep with prefix before each; NULL when one is an expression. */
static char *quoted_list(PGconn *c, const cJSON *list, const char *prefix, const char *sep)
{
	struct buf b = BUF_INIT;
	const cJSON *it;
	buf_init(&b);
	cJSON_ArrayForEach(it, list)
	{
		const char *name = sql_strval(it);
		if (!name)
			name = sql_jstr(sql_node(it, "IndexElem"), "name");
		if (!name) {
			buf_release(&b);
			return NULL;
		}
		char *q = db_quote_ident_or_die(c, name);
		buf_addf(&b, "%s%s%s", b.len ? sep : "", prefix, q);
		free(q);
	}
	return b.len ? buf_detach(&b) : (buf_release(&b), NULL);
}

static double count_unique(struct vctx *v, const struct sql_stmt *st)
{
	const cJSON *cols = NULL;
	if (!strcmp(st->type, "IndexStmt"))
		cols = sql_jget(st->node, "indexParams");
	else {
		const cJSON *con = find_constraint(st->node, "CONSTR_UNIQUE");
		if (!con)
			con = find_constraint(st->node, "CONSTR_PRIMARY");
		cols = sql_jget(con, "keys");
	}
	char *list = quoted_list(v->c, cols, "", ", ");
	char *nn = quoted_list(v->c, cols, "", " IS NOT NULL AND ");
	if (!list)
		return -1;
	char *sql = xasprintf("SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM %s WHERE %s IS NOT NULL "
			      "GROUP BY %s HAVING count(*) > 1) d",
			      v->qtable, nn, list);
	PGresult *r = try_query(v->c, sql);
	double n = r ? strtod(PQgetvalue(r, 0, 0), NULL) : -1;
	PQclear(r);
	free(sql);
	free(list);
	free(nn);
	return n;
}

static double count_fk(struct vctx *v, const struct sql_stmt *st)
{
	const cJSON *con = find_constraint(st->node, "CONSTR_FOREIGN");
	const cJSON *pk = sql_jget(con, "pktable");
	if (!con || !pk || !sql_jstr(pk, "relname"))
		return -1;
	char *ref = qualify(v->c, sql_jstr(pk, "schemaname"), sql_jstr(pk, "relname"));
	const cJSON *fk_attrs = sql_jget(con, "fk_attrs");
	if (!fk_attrs) { /* a column constraint: the column being defined */
		if (!v->column) {
			free(ref);
			return -1;
		}
		fk_attrs = NULL;
	}
	char *fkl = fk_attrs ? quoted_list(v->c, fk_attrs, "c.", ",") : NULL;
	if (!fkl && v->column) {
		char *q = db_quote_ident_or_die(v->c, v->column);
		fkl = xasprintf("c.%s", q);
		free(q);
	}
	char *pkl = quoted_list(v->c, sql_jget(con, "pk_attrs"), "p.", ",");
	if (!pkl) {
		char *names, *cols = key_cols(v->c, ref, &names);
		if (cols) {
			/* prefix each with p. */
			struct buf b;
			buf_init(&b);
			for (char *s = cols, *tok; (tok = strsep(&s, ","));) {
				while (*tok == ' ')
					tok++;
				buf_addf(&b, "%sp.%s", b.len ? "," : "", tok);
			}
			pkl = buf_detach(&b);
		}
		free(cols);
		free(names);
	}
	double n = -1;
	if (fkl && pkl) {
		char *cond = xasprintf("(%s) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %s p WHERE (%s) = (%s))",
				       fkl, ref, pkl, fkl);
		char *sql = xasprintf("SELECT count(*) FROM %s c WHERE %s", v->qtable, cond);
		PGresult *r = try_query(v->c, sql);
		n = r ? strtod(PQgetvalue(r, 0, 0), NULL) : -1;
		PQclear(r);
		free(sql);
		free(cond);
	}
	free(fkl);
	free(pkl);
	free(ref);
	return n;
}

static double count_check(struct vctx *v, const struct sql_stmt *st, char **example)
{
	const cJSON *con = find_constraint(st->node, "CONSTR_CHECK");
	char *expr = NULL;
	if (con && sql_jget(con, "raw_expr"))
		expr = sql_deparse_expr(sql_jget(con, "raw_expr"), v->text); /* locations index the whole script */
	if (!expr && v->constraint) {					     /* VALIDATE CONSTRAINT, or a check re-checked by a type change */
		const char *params[2] = {v->qtable, v->constraint};
		PGresult *r = PQexecParams(v->c,
					   "SELECT pg_catalog.pg_get_expr(conbin, conrelid) FROM pg_catalog.pg_constraint "
					   "WHERE conrelid = pg_catalog.to_regclass($1) AND conname = $2",
					   2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
			expr = xstrdup(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	if (!expr)
		return -1;
	char *cond = xasprintf("NOT (%s)", expr);
	double n = count_where(v, cond, example);
	free(cond);
	free(expr);
	return n;
}

static double count_not_null(struct vctx *v, char **example)
{
	if (!v->column)
		return -1;
	const char *params[2] = {v->qtable, v->column};
	PGresult *r = PQexecParams(v->c,
				   "SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass($1) "
				   "AND attname = $2 AND NOT attisdropped",
				   2, NULL, params, NULL, NULL, 0);
	bool exists = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	PQclear(r);
	if (!exists) /* ADD COLUMN ... NOT NULL without a default: every row */
		return count_where(v, "true", example);
	char *q = db_quote_ident_or_die(v->c, v->column);
	char *cond = xasprintf("%s IS NULL", q);
	double n = count_where(v, cond, example);
	free(cond);
	free(q);
	return n;
}

/* key_of_detail: "Key (a)=(1) is duplicated." -> "(a)=(1)" */
static char *key_of_detail(const char *detail)
{
	if (!detail || strncmp(detail, "Key ", 4))
		return NULL;
	const char *end = strstr(detail, ") is ");
	if (!end)
		end = strstr(detail, ") already exists");
	return end ? xstrndup(detail + 4, (size_t)(end + 1 - (detail + 4))) : NULL;
}

static const char *kind_of(const char *sqlstate)
{
	static const char *const map[][2] = {
		{"23502", "not_null"},
		{"23505", "unique"},
		{"23503", "foreign_key"},
		{"23514", "check"},
		{"23P01", "exclusion"},
	};
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (!strcmp(sqlstate, map[i][0]))
			return map[i][1];
	return NULL;
}

cJSON *violation_of(PGconn *conn, const PGresult *res, const struct sql_stmt *st, const char *text)
{
	const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *kind = sqlstate ? kind_of(sqlstate) : NULL;
	if (!kind)
		return NULL;
	struct vctx v = {conn, text, NULL, PQresultErrorField(res, PG_DIAG_TABLE_NAME),
			 PQresultErrorField(res, PG_DIAG_COLUMN_NAME), PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME)};
	const char *schema = PQresultErrorField(res, PG_DIAG_SCHEMA_NAME);
	const cJSON *rel = sql_jget(st->node, "relation");
	if (!v.table && rel) {
		v.table = sql_jstr(rel, "relname");
		schema = sql_jstr(rel, "schemaname");
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", kind);
	if (v.constraint)
		cJSON_AddStringToObject(o, "constraint", v.constraint);
	char *example = key_of_detail(PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
	double n = -1;
	if (v.table) {
		char *qt = qualify(conn, schema, v.table);
		char *tn = xasprintf("%s.%s", schema ? schema : ae_schema, v.table);
		cJSON_AddStringToObject(o, "table", tn);
		free(tn);
		v.qtable = qt;
		char *ex2 = NULL;
		if (!strcmp(kind, "not_null"))
			n = count_not_null(&v, &ex2);
		else if (!strcmp(kind, "unique"))
			n = count_unique(&v, st);
		else if (!strcmp(kind, "foreign_key"))
			n = count_fk(&v, st);
		else if (!strcmp(kind, "check"))
			n = count_check(&v, st, &ex2);
		if (!example)
			example = ex2;
		else
			free(ex2);
		free(qt);
	}
	if (v.column)
		cJSON_AddStringToObject(o, "column", v.column);
	if (n >= 0)
		cJSON_AddNumberToObject(o, "count", n);
	else
		cJSON_AddNullToObject(o, "count");
	if (example)
		cJSON_AddStringToObject(o, "example", example);
	else
		cJSON_AddNullToObject(o, "example");
	free(example);
	cJSON_AddStringToObject(o, "message", PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
	return o;
}
