/* replay internals shared by replay.c (tables) and replay_objects.c. */
#ifndef MIGSAFE_REPLAY_INT_H
#define MIGSAFE_REPLAY_INT_H

#include "replay.h"
#include "sql.h"

/* The statement being applied, for diagnostics and source slices. */
struct replay_ctx {
	struct replay *r;
	const char *file;
	int line;
	const char *src;	     /* the whole script text (parse-tree locations index it) */
	size_t stmt_start, stmt_end; /* the current statement's bytes in src */
};

/* Schema a RangeVar names, or the creation schema (search_path). */
const char *rx_schema(const struct replay_ctx *x, const cJSON *rv);
/* Resolve a RangeVar (or schema/name) to a table or view, searching the
 * search path when unqualified. */
struct cat_table *rx_table(const struct replay_ctx *x, const cJSON *rv);
struct cat_view *rx_view(const struct replay_ctx *x, const cJSON *rv);
struct cat_table *rx_table_names(const struct replay_ctx *x, const struct strv *names);
/* qname of whatever relation rv names (table or view), or the qname it
 * would have; caller frees. */
char *rx_rel_qname(const struct replay_ctx *x, const cJSON *rv);
/* Temporary tables: remembered by name so later statements on them are quiet. */
bool rx_is_temp(const struct replay_ctx *x, const cJSON *rv);
void rx_note_temp(struct replay_ctx *x, const cJSON *rv);
void rx_warn(const struct replay_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* replay.c */
/* replay_node: apply one parse-tree node of the given type. */
void replay_node(struct replay_ctx *x, const char *type, const cJSON *n);
void rx_create_table(struct replay_ctx *x, const cJSON *n);
void rx_alter_table(struct replay_ctx *x, const cJSON *n);
/* rx_add_constraint: a table constraint (or a column constraint when
 * colname is given) on t. */
void rx_add_constraint(struct replay_ctx *x, struct cat_table *t, const cJSON *con, const char *colname);
/* rx_add_index: create an index on relation qname (schema given) from an
 * IndexStmt-like description; propagates to partitions. */
struct cat_index *rx_new_index(struct replay_ctx *x, const char *schema, const char *relname,
			       const char *qname, const struct strv *cols, const struct strv *colnames,
			       const char *name, const char *label);

/* rx_index_done: an index was fully described; copy it onto partitions. */
void rx_index_done(struct replay_ctx *x, struct cat_index *ix, const struct strv *colnames, const char *label);

/* replay_guard.c */
/* rx_guard: a PL/pgSQL IF condition decided from the catalog being
 * replayed: 1 true, 0 false, -1 when it cannot be decided. */
int rx_guard(const struct replay_ctx *x, const char *cond);

/* rx_plpgsql_queries: the SQL statements embedded in PL/pgSQL code (the
 * text of a CREATE FUNCTION statement), in every branch, and whether it
 * runs dynamic SQL (EXECUTE); -1 with *error (caller frees) when the code
 * does not parse. */
int rx_plpgsql_queries(const char *function_sql, struct strv *queries, bool *dynamic, char **error);

/* replay_code.c: functions, triggers and domains */
/* rx_function_stmt: CREATE FUNCTION n in PL/pgSQL, whose statement text is
 * function_sql: the function and the tables its body writes. */
void rx_function_stmt(struct replay_ctx *x, const cJSON *n, const char *function_sql);
void rx_trigger_stmt(struct replay_ctx *x, const cJSON *n);
void rx_domain_stmt(struct replay_ctx *x, const cJSON *n);
void rx_alter_domain_stmt(struct replay_ctx *x, const cJSON *n);
/* DROP TRIGGER (names: [schema.]table.trigger) and DROP DOMAIN: as drop_one. */
int rx_drop_trigger(struct replay_ctx *x, const struct strv *names);
int rx_drop_domain(struct replay_ctx *x, const struct strv *names, bool cascade);

/* replay_objects.c */
void rx_index_stmt(struct replay_ctx *x, const cJSON *n);
void rx_drop_stmt(struct replay_ctx *x, const cJSON *n);
void rx_rename_stmt(struct replay_ctx *x, const cJSON *n);
void rx_view_stmt(struct replay_ctx *x, const cJSON *n);
void rx_matview_stmt(struct replay_ctx *x, const cJSON *n);
void rx_select_into(struct replay_ctx *x, const cJSON *n);
void rx_enum_stmt(struct replay_ctx *x, const cJSON *n);
void rx_alter_enum_stmt(struct replay_ctx *x, const cJSON *n);
void rx_set_schema_stmt(struct replay_ctx *x, const cJSON *n);
void rx_drop_columns_of_type(struct replay_ctx *x, const char *type);
void rx_retype_columns(struct replay_ctx *x, const char *from, const char *to);

#endif
