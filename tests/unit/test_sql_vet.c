/* Unit tests for common/sql_vet: text from a schema or a record is exactly
 * one expression, one type name or one query, or it is refused; a statement
 * a program built is exactly one of its kind. */
#include <stdio.h>

#include "sql.h"
#include "tap.h"
#include "xalloc.h"

static void test_expr(void)
{
	static const char *const good[] = {"1", "'x'::text", "nextval('orders_id_seq'::regclass)", "CURRENT_TIMESTAMP",
					   "(price_cents >= 0)", "price_cents >= 0 AND a IN (1, 2)", "lower(email)",
					   "'a;b -- c'", "ARRAY['a', 'b']::text[]", "$$x; DROP TABLE t$$",
					   "1 /* a comment */ + 2", "CASE WHEN a THEN 1 ELSE 2 END", NULL};
	static const char *const bad[] = {"'x'::text; DROP TABLE \"Important\"; SELECT 1",
					  "1) FROM t --",
					  "1 -- swallows what follows",
					  "1), (2",
					  "true) OR (false",
					  "1 AS x",
					  "1, 2",
					  "1 FROM t",
					  "1 /* unterminated",
					  "'unterminated",
					  "",
					  "(SELECT 1) INTO x",
					  NULL};
	for (int i = 0; good[i]; i++)
		OK(sql_is_one_expr(good[i]), "one expression: %s", good[i]);
	for (int i = 0; bad[i]; i++)
		OK(!sql_is_one_expr(bad[i]), "not one expression: %s", bad[i]);
	OK(!sql_is_one_expr(NULL), "NULL is not an expression");
	OK(sql_is_one_expr("1 -- a comment its own line end closes\n+ 2"), "one expression: a -- comment closed by its line end");
	OK(!sql_is_one_expr("1\n\\! rm -rf /\n"), "not one expression: a psql meta-command line");
}

static void test_type(void)
{
	static const char *const good[] = {"integer", "character varying(255)", "timestamp(3) without time zone",
					   "\"Role\"[]", "double precision", "numeric(10,2)", "public.\"Order Status\"",
					   "interval year to month", "bit varying(5)", NULL};
	static const char *const bad[] = {"text; DROP TABLE t", "int) AS x, (1", "int, b int", "int DEFAULT 1",
					  "int -- x", "1", "text COLLATE \"C\"", NULL};
	for (int i = 0; good[i]; i++)
		OK(sql_is_one_type(good[i]), "one type: %s", good[i]);
	for (int i = 0; bad[i]; i++)
		OK(!sql_is_one_type(bad[i]), "not one type: %s", bad[i]);
}

static void test_query(void)
{
	IS_STR(sql_query_kind("SELECT c.id FROM customers c;"), "SelectStmt", "pg_get_viewdef's query");
	IS_STR(sql_query_kind("CREATE VIEW v AS\n    SELECT 1"), "ViewStmt", "a migration's CREATE VIEW");
	IS_STR(sql_query_kind("CREATE MATERIALIZED VIEW v AS SELECT 1"), "CreateTableAsStmt", "a materialized view");
	OK(sql_query_kind("SELECT 1; DROP TABLE t") == NULL, "two statements are not a view's definition");
	OK(sql_query_kind("SELECT 1 INTO t") == NULL, "SELECT INTO is not a view's definition");
	IS_STR(sql_query_kind("CREATE VIEW v AS SELECT 1\n-- a last comment"), "ViewStmt",
	       "a -- comment may end a view's definition (written with a line end after it)");
	IS_STR(sql_query_kind("CREATE OR REPLACE VIEW v AS (\nSELECT\n  -- a comment\n  1 AS id\n)"), "ViewStmt",
	       "a -- comment inside a migration's CREATE VIEW");
	OK(sql_query_kind("DROP TABLE t") == NULL, "a DROP is not a view's definition");
}

static void test_stmt(void)
{
	struct sql_script s;
	OK(sql_one_stmt(&s, "ALTER TABLE t ALTER COLUMN c SET DEFAULT 1", "AlterTableStmt") == 0 && s.n == 1,
	   "one ALTER TABLE");
	sql_script_release(&s);
	OK(sql_one_stmt(&s, "ALTER TABLE t ALTER COLUMN c SET DEFAULT 1; DROP TABLE x", "AlterTableStmt") < 0,
	   "two statements are refused");
	OK(sql_one_stmt(&s, "DROP TABLE x", "AlterTableStmt") < 0, "a statement of another kind is refused");
	OK(sql_one_stmt(&s, "ALTER TABLE t ALTER COLUMN c SET DEFAULT 1 --", "AlterTableStmt") < 0,
	   "a -- comment (it would swallow the ';' after the step) is refused");
}

int main(void)
{
	xalloc_init_cjson();
	test_expr();
	test_type();
	test_query();
	test_stmt();
	return tap_done();
}
