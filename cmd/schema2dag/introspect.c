/*
 * introspect: schema2dag --db, the DAG read from a live database's catalog.
 *
 * The session is read-only (default_transaction_read_only, a 60 s
 * statement_timeout), every query a SELECT on pg_catalog, all of them in one
 * REPEATABLE READ transaction so that they see one snapshot. search_path is
 * "public" so that format_type(), pg_get_expr() and pg_get_viewdef() print
 * what lives in public unqualified ("Role", orders) and the rest qualified
 * (billing.kind, billing.invoices), as the other readers spell them.
 *
 * What is read: every schema but pg_catalog, information_schema, pg_toast*
 * and pg_temp*, and in them every table (plain and partitioned), view,
 * materialized view and enum that is not part of an extension, with the
 * indexes and constraints of those tables. Expressions are printed the way
 * psql's \d prints them (the "pretty" variants of the pg_get_* functions).
 * Objects come in a fixed order: by schema, then name (columns by attnum).
 * Arrays come back from the server as JSON (json_agg), which cJSON reads.
 *
 * Needs PostgreSQL 12 or later (conparentid, indnkeyatts, attgenerated).
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "msg.h"
#include "schema2dag.h"
#include "xalloc.h"

/* The relations of user schemas: system schemas and extension members out. */
#define REL_CTE                                                                                       \
	"WITH rel AS (SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence, c.reltuples, " \
	"  c.relispartition, n.nspname || '.' || c.relname AS qname "                                 \
	" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "       \
	" WHERE c.relkind IN ('r', 'p', 'v', 'm') AND " USER_SCHEMA("n") " AND NOT " EXT_MEMBER(      \
		"pg_class", "c.oid") ") "

#define USER_SCHEMA(n) \
	n ".nspname NOT IN ('pg_catalog', 'information_schema') AND " n ".nspname !~ '^pg_(toast|temp)'"

#define EXT_MEMBER(catalog, oid)                                                            \
	"EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog." catalog \
	"'::pg_catalog.regclass AND d.objid = " oid " AND d.deptype = 'e')"

/* The names of the attnums in array arr of relation relid, in array order. */
#define ATTNAMES(relid, arr)                                                                  \
	"(SELECT pg_catalog.json_agg(a.attname ORDER BY k.i) FROM pg_catalog.unnest(" arr ")" \
	" WITH ORDINALITY AS k(attnum, i) JOIN pg_catalog.pg_attribute a"                     \
	" ON a.attrelid = " relid " AND a.attnum = k.attnum)::text"

static const char sql_schemas[] =
	"SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE " USER_SCHEMA("n") " AND NOT " EXT_MEMBER(
		"pg_namespace", "n.oid") " ORDER BY n.nspname";

static const char sql_enums[] =
	"SELECT n.nspname, t.typname,"
	" (SELECT pg_catalog.json_agg(e.enumlabel ORDER BY e.enumsortorder)"
	"  FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid)::text AS labels"
	" FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
	" WHERE t.typtype = 'e' AND " USER_SCHEMA("n") " AND NOT " EXT_MEMBER("pg_type", "t.oid") " ORDER BY n.nspname, t.typname";

static const char sql_tables[] =
	REL_CTE "SELECT r.nspname, r.relname, r.relpersistence, r.reltuples, pt.partstrat,"
		" (SELECT pn.nspname || '.' || pc.relname FROM pg_catalog.pg_inherits i"
		"  JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent"
		"  JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace"
		"  WHERE i.inhrelid = r.oid AND r.relispartition) AS partition_of,"
		" (SELECT pg_catalog.pg_get_expr(c.relpartbound, c.oid) FROM pg_catalog.pg_class c"
		"  WHERE c.oid = r.oid AND r.relispartition) AS partition_bound,"
		" (SELECT pg_catalog.json_agg(a.attname ORDER BY k.i)"
		"  FROM pg_catalog.unnest(pt.partattrs::pg_catalog.int2[]) WITH ORDINALITY k(n, i)"
		"  LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum = k.n) AS partition_key"
		" FROM rel r LEFT JOIN pg_catalog.pg_partitioned_table pt ON pt.partrelid = r.oid"
		" WHERE r.relkind IN ('r', 'p') ORDER BY r.nspname, r.relname";

static const char sql_columns[] =
	REL_CTE "SELECT r.nspname, r.relname, a.attname,"
		" pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, a.attidentity,"
		" a.attgenerated, pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) AS expr"
		" FROM rel r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid"
		" LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
		" WHERE r.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped"
		" ORDER BY r.nspname, r.relname, a.attnum";

static const char sql_primary_keys[] =
	REL_CTE "SELECT r.nspname, r.relname, con.conname, " ATTNAMES("con.conrelid", "con.conkey") " AS cols FROM pg_catalog.pg_constraint con JOIN rel r ON r.oid = con.conrelid"
												    " WHERE con.contype = 'p' ORDER BY r.nspname, r.relname";

/* Key columns only (not INCLUDE ones): a name, or pg_get_indexdef's text
 * of the expression. */
static const char sql_indexes[] =
	REL_CTE "SELECT r.nspname, r.qname, ic.relname AS name, i.indisunique, i.indisprimary, am.amname,"
		" pg_catalog.pg_get_expr(i.indpred, i.indrelid, true) AS predicate,"
		" (SELECT pg_catalog.json_agg(CASE WHEN i.indkey[k.i - 1] <> 0 THEN a.attname::text"
		"   ELSE pg_catalog.pg_get_indexdef(i.indexrelid, k.i, true) END ORDER BY k.i)"
		"  FROM pg_catalog.generate_series(1, i.indnkeyatts::integer) AS k(i)"
		"  LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k.i - 1]"
		" )::text AS cols,"
		" (SELECT con.conname FROM pg_catalog.pg_constraint con WHERE con.conindid = i.indexrelid"
		"  AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x') LIMIT 1) AS conname"
		" FROM pg_catalog.pg_index i JOIN rel r ON r.oid = i.indrelid"
		" JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
		" JOIN pg_catalog.pg_am am ON am.oid = ic.relam"
		" ORDER BY r.nspname, r.relname, ic.relname";

/* A foreign key that references a partitioned table has one extra
 * pg_constraint row per referenced partition, on the same referencing table
 * (conparentid pointing at the real one): PostgreSQL's plumbing, which \d
 * hides too. A partition's own copy of its parent's key (parent on another
 * table) is a real constraint and stays. */
static const char sql_foreign_keys[] =
	REL_CTE "SELECT con.conname, r.qname, " ATTNAMES("con.conrelid", "con.conkey") " AS cols,"
										       " fn.nspname || '.' || fc.relname AS ref_table, " ATTNAMES("con.confrelid", "con.confkey") " AS ref_cols, con.confdeltype, con.confupdtype, con.convalidated"
																						  " FROM pg_catalog.pg_constraint con JOIN rel r ON r.oid = con.conrelid"
																						  " JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid"
																						  " JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace"
																						  " WHERE con.contype = 'f' AND (con.conparentid = 0 OR EXISTS (SELECT FROM pg_catalog.pg_constraint p"
																						  "  WHERE p.oid = con.conparentid AND p.conrelid <> con.conrelid))"
																						  " ORDER BY r.nspname, r.relname, con.conname";

static const char sql_checks[] =
	REL_CTE "SELECT con.conname, r.qname, pg_catalog.pg_get_constraintdef(con.oid, true) AS def,"
		" con.convalidated FROM pg_catalog.pg_constraint con JOIN rel r ON r.oid = con.conrelid"
		" WHERE con.contype = 'c' ORDER BY r.nspname, r.relname, con.conname";

/* depends_on: the relations the view's rewrite rule references. */
static const char sql_views[] =
	REL_CTE "SELECT r.nspname, r.relname, r.relkind,"
		" pg_catalog.pg_get_viewdef(r.oid, true) AS definition,"
		" (SELECT pg_catalog.json_agg(s.q ORDER BY s.q) FROM (SELECT DISTINCT"
		"   (dn.nspname || '.' || dc.relname) COLLATE \"C\" AS q"
		"   FROM pg_catalog.pg_rewrite rw JOIN pg_catalog.pg_depend d"
		"   ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = rw.oid"
		"   JOIN pg_catalog.pg_class dc"
		"   ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dc.oid = d.refobjid"
		"   JOIN pg_catalog.pg_namespace dn ON dn.oid = dc.relnamespace"
		"   WHERE rw.ev_class = r.oid AND dc.oid <> r.oid AND dc.relkind IN ('r', 'p', 'v', 'm', 'f')) s"
		" )::text AS deps"
		" FROM rel r WHERE r.relkind IN ('v', 'm') ORDER BY r.nspname, r.relname";

/* strv_add_json: append the strings of a JSON array (json_agg's text; NULL
 * for an empty aggregate); with nulls, a JSON null is appended as "". */
static void strv_add_json_as(struct strv *sv, const char *json, bool nulls)
{
	if (!json)
		return;
	cJSON *a = cJSON_Parse(json), *e;
	if (!cJSON_IsArray(a))
		BUG("the server sent a malformed array: %s", json);
	cJSON_ArrayForEach(e, a)
	{
		if (nulls && cJSON_IsNull(e)) {
			strv_push(sv, "");
			continue;
		}
		if (!cJSON_IsString(e))
			BUG("the server sent a malformed array: %s", json);
		strv_push(sv, e->valuestring);
	}
	cJSON_Delete(a);
}

static void strv_add_json(struct strv *sv, const char *json)
{
	strv_add_json_as(sv, json, false);
}

static void strv_add_json_nulls(struct strv *sv, const char *json)
{
	strv_add_json_as(sv, json, true);
}

/* table_of: the catalog's table schema.name; last caches the previous answer
 * (rows come grouped by table). */
static struct cat_table *table_of(struct catalog *c, struct cat_table **last, const char *schema,
				  const char *name)
{
	struct cat_table *t = *last;
	if (!t || strcmp(t->name, name) || strcmp(t->schema, schema))
		t = *last = catalog_table(c, schema, name);
	return t;
}

static void read_schemas(struct catalog *c, PGconn *conn)
{
	PGresult *res = db_query_or_die(conn, sql_schemas, 0, NULL);
	for (int i = 0; i < PQntuples(res); i++)
		if (strv_index(&c->schemas, db_get(res, i, "nspname")) < 0)
			strv_push(&c->schemas, db_get(res, i, "nspname"));
	PQclear(res);
}

static void read_enums(struct catalog *c, PGconn *conn)
{
	PGresult *res = db_query_or_die(conn, sql_enums, 0, NULL);
	for (int i = 0; i < PQntuples(res); i++) {
		const char *nsp = db_get(res, i, "nspname"), *name = db_get(res, i, "typname");
		struct cat_enum *e = catalog_add_enum(c, nsp, name);
		strv_add_json(&e->values, db_get(res, i, "labels"));
	}
	PQclear(res);
}

static const char *partition_strategy(const char *partstrat)
{
	if (!partstrat)
		return NULL;
	switch (partstrat[0]) {
	case 'r': return "range";
	case 'l': return "list";
	case 'h': return "hash";
	default: return NULL;
	}
}

static void read_tables(struct catalog *c, PGconn *conn)
{
	PGresult *res = db_query_or_die(conn, sql_tables, 0, NULL);
	for (int i = 0; i < PQntuples(res); i++) {
		const char *nsp = db_get(res, i, "nspname"), *rel = db_get(res, i, "relname");
		struct cat_table *t = catalog_add_table(c, nsp, rel);
		if (!t)
			BUG("table %s.%s twice", nsp, rel);
		double rows = strtod(db_get(res, i, "reltuples"), NULL);
		t->rows = rows >= 0 ? rows : -1;
		t->unlogged = !strcmp(db_get(res, i, "relpersistence"), "u");
		const char *by = partition_strategy(db_get(res, i, "partstrat"));
		const char *of = db_get(res, i, "partition_of");
		const char *bound = db_get(res, i, "partition_bound");
		t->partition_by = by ? xstrdup(by) : NULL;
		t->partition_of = of ? xstrdup(of) : NULL;
		t->partition_bound = of && bound ? xstrdup(bound) : NULL;
		if (by) /* an expression's column number is 0: no attribute, null */
			strv_add_json_nulls(&t->partition_key, db_get(res, i, "partition_key"));
	}
	PQclear(res);
}

static const char *identity_kind(const char *attidentity)
{
	if (!strcmp(attidentity, "a"))
		return "always";
	if (!strcmp(attidentity, "d"))
		return "by default";
	return NULL;
}

static void read_columns(struct catalog *c, PGconn *conn)
{
	PGresult *res = db_query_or_die(conn, sql_columns, 0, NULL);
	struct cat_table *last = NULL;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *nsp = db_get(res, i, "nspname"), *rel = db_get(res, i, "relname");
		const char *name = db_get(res, i, "attname");
		struct cat_table *t = table_of(c, &last, nsp, rel);
		struct cat_column *col = t ? table_add_column(t, name, db_get(res, i, "type")) : NULL;
		if (!col)
			BUG("column %s of %s.%s: no such table, or twice", name, nsp, rel);
		col->nullable = !db_get_bool(res, i, "attnotnull");
		column_set_identity(col, identity_kind(db_get(res, i, "attidentity")));
		if (!strcmp(db_get(res, i, "attgenerated"), "s"))
			column_set_generated(col, db_get(res, i, "expr"));
		else
			column_set_default(col, db_get(res, i, "expr"));
	}
	PQclear(res);
}

static void read_primary_keys(struct catalog *c, PGconn *conn)
{
	PGresult *res = db_query_or_die(conn, sql_primary_keys, 0, NULL);
	struct cat_table *last = NULL;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *nsp = db_get(res, i, "nspname"), *rel = db_get(res, i, "relname");
		struct cat_table *t = table_of(c, &last, nsp, rel);
		if (!t)
			BUG("primary key of %s.%s without its table", nsp, rel);
		strv_add_json(&t->pk, db_get(res, i, "cols"));
		free(t->pk_name);
		t->pk_name = xstrdup(db_get(res, i, "conname"));
	}
	PQclear(res);
}

static void read_indexes(struct catalog *c, PGconn *conn)
{
	PGresult *res = db_query_or_die(conn, sql_indexes, 0, NULL);
	for (int i = 0; i < PQntuples(res); i++) {
		const char *pred = db_get(res, i, "predicate"), *con = db_get(res, i, "conname");
		struct cat_index *ix = catalog_add_index(c, db_get(res, i, "nspname"), db_get(res, i, "name"),
							 db_get(res, i, "qname"));
		strv_add_json(&ix->columns, db_get(res, i, "cols"));
		ix->unique = db_get_bool(res, i, "indisunique");
		ix->primary = db_get_bool(res, i, "indisprimary");
		free(ix->method);
		ix->method = xstrdup(db_get(res, i, "amname"));
		ix->predicate = pred ? xstrdup(pred) : NULL;
		ix->constraint = con ? xstrdup(con) : NULL;
	}
	PQclear(res);
}

/* fk_action: pg_constraint's confdeltype/confupdtype letter, spelled out. */
static const char *fk_action(const char *code)
{
	switch (code[0]) {
	case 'r': return "restrict";
	case 'c': return "cascade";
	case 'n': return "set null";
	case 'd': return "set default";
	default: return "no action";
	}
}

static void read_foreign_keys(struct catalog *c, PGconn *conn)
{
	PGresult *res = db_query_or_die(conn, sql_foreign_keys, 0, NULL);
	for (int i = 0; i < PQntuples(res); i++) {
		struct cat_fk *fk = catalog_add_fk(c, db_get(res, i, "qname"), db_get(res, i, "conname"));
		strv_add_json(&fk->columns, db_get(res, i, "cols"));
		strv_add_json(&fk->ref_columns, db_get(res, i, "ref_cols"));
		free(fk->ref_table);
		fk->ref_table = xstrdup(db_get(res, i, "ref_table"));
		free(fk->on_delete);
		fk->on_delete = xstrdup(fk_action(db_get(res, i, "confdeltype")));
		free(fk->on_update);
		fk->on_update = xstrdup(fk_action(db_get(res, i, "confupdtype")));
		fk->validated = db_get_bool(res, i, "convalidated");
	}
	PQclear(res);
}

/* check_expression: the expression of pg_get_constraintdef's
 * "CHECK (expr)[ NO INHERIT][ NOT VALID]". Caller frees. */
static char *check_expression(const char *def)
{
	static const char *const suffixes[] = {" NOT VALID", " NO INHERIT"};
	size_t n = strlen(def);
	if (strncmp(def, "CHECK (", 7))
		return xstrdup(def);
	for (size_t k = 0; k < sizeof(suffixes) / sizeof(*suffixes); k++) {
		size_t sl = strlen(suffixes[k]);
		if (n >= sl && !strcmp(def + n - sl, suffixes[k]))
			n -= sl;
	}
	if (n < 8 || def[n - 1] != ')')
		return xstrdup(def);
	return xstrndup(def + 7, n - 8);
}

static void read_checks(struct catalog *c, PGconn *conn)
{
	PGresult *res = db_query_or_die(conn, sql_checks, 0, NULL);
	for (int i = 0; i < PQntuples(res); i++) {
		char *expr = check_expression(db_get(res, i, "def"));
		const char *table = db_get(res, i, "qname"), *name = db_get(res, i, "conname");
		struct cat_check *ck = catalog_add_check(c, table, name, expr);
		ck->validated = db_get_bool(res, i, "convalidated");
		free(expr);
	}
	PQclear(res);
}

/* view_definition: pg_get_viewdef's text without its leading blank and
 * final semicolon: the query, not a statement. Caller frees. */
static char *view_definition(const char *def)
{
	def += strspn(def, " \t\n");
	size_t n = strlen(def);
	while (n > 0 && strchr(" \t\n;", def[n - 1]))
		n--;
	return xstrndup(def, n);
}

static void read_views(struct catalog *c, PGconn *conn)
{
	PGresult *res = db_query_or_die(conn, sql_views, 0, NULL);
	for (int i = 0; i < PQntuples(res); i++) {
		const char *nsp = db_get(res, i, "nspname"), *rel = db_get(res, i, "relname");
		struct cat_view *v = catalog_add_view(c, nsp, rel);
		const char *def = db_get(res, i, "definition");
		v->materialized = !strcmp(db_get(res, i, "relkind"), "m");
		v->definition = def ? view_definition(def) : NULL;
		strv_add_json(&v->depends_on, db_get(res, i, "deps"));
	}
	PQclear(res);
}

void introspect_db(struct catalog *c, const char *url, cJSON *source)
{
	struct db_opts o = {
		.read_only = true,
		.statement_timeout_ms = 60 * 1000,
		.search_path = "public",
		.connect_timeout_s = 30,
	};
	struct msg_err cerr = MSG_ERR_INIT;
	PGconn *conn = db_connect(url, &o, &cerr);
	if (!conn)
		die_err(&cerr);
	char *version = db_server_version(conn);
	if (PQserverVersion(conn) < 120000)
		die_code(EXIT_RUNTIME, "PostgreSQL %s is too old: --db needs 12 or later", version);
	db_exec_or_die(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	read_schemas(c, conn);
	read_enums(c, conn);
	read_tables(c, conn);
	read_columns(c, conn);
	read_primary_keys(c, conn);
	read_indexes(c, conn);
	read_foreign_keys(c, conn);
	read_checks(c, conn);
	read_views(c, conn);
	db_exec_or_die(conn, "COMMIT");
	db_close(conn);
	cJSON_AddStringToObject(source, "server_version", version);
	free(version);
}
