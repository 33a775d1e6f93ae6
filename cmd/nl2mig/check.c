/*
 * check.c — what every migration goes through, whoever wrote it: parsed by
 * libpg_query, statement kinds allow-listed, destructive statements noted,
 * and the rollback computed from the forward SQL and the DAG: the inverse of
 * each statement, in reverse order, read off the catalog as it stood just
 * before that statement (replayed statement by statement).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "nd.h"
#include "nl2mig.h"
#include "replay.h"
#include "sql.h"
#include "xalloc.h"

struct walk {
	const struct catalog *orig;
	struct catalog *cat; /* as it stands before the current statement */
	struct replay rp;
	struct mig *m;
	const char *file;
	bool strict; /* model output: only the allow-list */
	struct strv inv; /* inverses, in forward order (emitted reversed) */
	struct strv created; /* "t:qname", "c:table/name", "i:schema.name", "col:qname.col" */
	const struct sql_stmt *st;
	size_t st_index; /* st's place in the script */
	const struct sql_script *script;
	char *set_lock;
};

/* ---------- helpers ---------- */

static void catalog_emit_arr(cJSON *rec, void *arg)
{
	cJSON_AddItemToArray(arg, rec);
}

void catalog_clone(struct catalog *dst, const struct catalog *src)
{
	cJSON *arr = cJSON_CreateArray(), *r;
	const char *err;
	catalog_init(dst);
	catalog_to_json(src, catalog_emit_arr, arr);
	cJSON_ArrayForEach(r, arr) if (catalog_load_record(dst, r, &err) < 0) BUG("clone: %s", err);
	for (size_t i = 0; i < src->schemas.n; i++)
		if (strv_index(&dst->schemas, src->schemas.v[i]) < 0)
			strv_push(&dst->schemas, src->schemas.v[i]);
	cJSON_Delete(arr);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* catalog_digest: one line per object and per column, sorted, without
 * estimates: two catalogs with the same digest have the same schema
 * whatever the order their columns were added in. */
char *catalog_digest(const struct catalog *c)
{
	cJSON *arr = cJSON_CreateArray(), *r;
	struct strv lines = STRV_INIT;
	catalog_to_json(c, catalog_emit_arr, arr);
	cJSON_ArrayForEach(r, arr)
	{
		cJSON_DeleteItemFromObjectCaseSensitive(r, "rows");
		cJSON *cols = cJSON_DetachItemFromObjectCaseSensitive(r, "columns"), *col;
		cJSON_ArrayForEach(col, cols)
		{
			char *s = cJSON_PrintUnformatted(col);
			strv_push_take(&lines, xasprintf("column %s %s", nd_get_str(r, "name"), s));
			free(s);
		}
		cJSON_Delete(cols);
		strv_push_take(&lines, cJSON_PrintUnformatted(r));
	}
	cJSON_Delete(arr);
	qsort(lines.v, lines.n, sizeof(*lines.v), cmp_str);
	char *out = strv_join(&lines, "\n");
	strv_release(&lines);
	return out;
}

static const char *rel_schema(const struct walk *w, const cJSON *rv)
{
	const char *s = sql_jstr(rv, "schemaname");
	return s ? s : w->rp.search_schema;
}

/* the name to write in SQL: as the statement wrote it (qualified or not) */
static char *rel_sql(const cJSON *rv, const char *name)
{
	const char *s = sql_jstr(rv, "schemaname");
	return s ? qualified(s, name ? name : sql_jstr(rv, "relname"))
		 : cat_quote_ident(name ? name : sql_jstr(rv, "relname"));
}

static struct cat_table *rel_table(const struct walk *w, const cJSON *rv)
{
	return catalog_table(w->cat, rel_schema(w, rv), sql_jstr(rv, "relname"));
}

static void inv(struct walk *w, char *sql)
{
	strv_push_take(&w->inv, sql);
}

static void irreversible(struct walk *w, char *why)
{
	if (strv_index(&w->m->irreversible, why) < 0)
		strv_push(&w->m->irreversible, why);
	free(why);
}

static void destructive(struct walk *w, char *why)
{
	w->m->needs_destructive = true;
	strv_push_take(&w->m->destructive_why, xasprintf("line %d: %s", w->st->line, why));
	free(why);
}

static bool created_here(const struct walk *w, const char *key)
{
	return strv_index(&w->created, key) >= 0;
}

/* What the allow-list says of a statement outside it: model output is
 * refused; a file a person wrote is reviewed, and the statement becomes a
 * note in the migration record (outside_allow_list[]) that lockscore turns
 * into a finding. OUTSIDE: it acts beyond the migration's tables (roles,
 * privileges, databases, COPY, server settings, functions that reach out of
 * the database); UNMODELLED: migsafe has no inverse for it; SESSION: a
 * setting of the session that runs the migration. */
enum vet { VET_OUTSIDE, VET_UNMODELLED, VET_SESSION };

static void refuse(const struct walk *w, enum vet kind, const char *fmt, const char *arg)
{
	char *msg = xasprintf(fmt, arg);
	if (w->strict)
		die_at(EXIT_FINDINGS, w->file, w->st->line, "refused: %s", msg);
	if (!w->m->outside)
		w->m->outside = cJSON_CreateArray();
	const cJSON *o;
	cJSON_ArrayForEach(o, w->m->outside) /* one note per statement and reason */
	if (cJSON_GetObjectItemCaseSensitive(o, "statement")->valuedouble == (double)w->st_index &&
	    !strcmp(nd_get_str(o, "reason"), msg)) {
		free(msg);
		return;
	}
	cJSON *n = cJSON_CreateObject();
	cJSON_AddNumberToObject(n, "statement", (double)w->st_index);
	cJSON_AddNumberToObject(n, "line", w->st->line);
	cJSON_AddStringToObject(n, "type", w->st->type);
	cJSON_AddStringToObject(n, "reason", msg);
	cJSON_AddStringToObject(n, "severity", kind == VET_OUTSIDE ? "medium" : "low");
	static const char *const fixes[] = {
		[VET_OUTSIDE] = "it acts beyond the migration's tables: have it reviewed by someone who owns the "
				"database's roles and settings, and undo it by hand if the migration is rolled back",
		[VET_UNMODELLED] = "migsafe has no inverse for it: give the rollback by hand (nl2mig --rollback FILE) "
				   "and let applyexplain trace its locks on the shadow",
		[VET_SESSION] = "it lasts until the session that runs the migration ends: run migrations in a "
				"session of their own, or RESET it at the end",
	};
	cJSON_AddStringToObject(n, "fix", fixes[kind]);
	cJSON_AddItemToArray(w->m->outside, n);
	free(msg);
}

/* ---------- forbidden anywhere in a statement ---------- */

static const char *const bad_stmts[] = {
	"GrantStmt", "GrantRoleStmt", "CreateRoleStmt", "AlterRoleStmt", "AlterRoleSetStmt", "DropRoleStmt",
	"ReassignOwnedStmt", "DropOwnedStmt", "AlterOwnerStmt", "AlterSystemStmt", "CreatedbStmt", "DropdbStmt",
	"AlterDatabaseStmt", "AlterDatabaseSetStmt", "AlterDatabaseRefreshCollStmt", "LoadStmt", "CopyStmt",
	"CheckPointStmt", "CreateTableSpaceStmt", "DropTableSpaceStmt", "CreateSubscriptionStmt",
	"AlterSubscriptionStmt", "CreateFdwStmt", "CreateForeignServerStmt", "CreateUserMappingStmt",
	"ImportForeignSchemaStmt", "CreateExtensionStmt", "DropSubscriptionStmt", "AlterDefaultPrivilegesStmt",
	"CreateEventTrigStmt", "ListenStmt", "NotifyStmt", "DiscardStmt", "VacuumStmt", "ClusterStmt", NULL};

/* functions that reach outside the database or into other sessions */
static bool bad_function(const char *name)
{
	static const char *const prefixes[] = {"pg_", "lo_", "dblink", "set_config", "current_setting", "query_to_xml",
					      "xpath", NULL};
	for (int i = 0; prefixes[i]; i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

static bool schema_ok(const struct walk *w, const char *s)
{
	return !strcmp(s, w->rp.search_schema) || strv_index(&w->m->named_schemas, s) >= 0;
}

static void walk_forbidden(const struct walk *w, const cJSON *n);

/* a schema the request does not name: only model output answers a request */
static void check_node_rv(const struct walk *w, const cJSON *n)
{
	if (w->strict && sql_jstr(n, "schemaname") && !schema_ok(w, sql_jstr(n, "schemaname")))
		refuse(w, VET_OUTSIDE, "schema %s is not named in the request", sql_jstr(n, "schemaname"));
}

/* check_node: one node of type ty with fields n */
static void check_node(const struct walk *w, const char *ty, const cJSON *n)
{
	for (int i = 0; bad_stmts[i]; i++)
		if (!strcmp(ty, bad_stmts[i]))
			refuse(w, VET_OUTSIDE, "%s is not allowed in a migration (roles, databases, COPY, server settings)", ty);
	if (!strcmp(ty, "FuncCall")) {
		struct strv nm = STRV_INIT;
		sql_name_list(sql_jget(n, "funcname"), &nm);
		const char *last = nm.n ? nm.v[nm.n - 1] : "";
		if (bad_function(last) || (w->strict && nm.n > 1 && strcmp(nm.v[0], "pg_catalog") && !schema_ok(w, nm.v[0])))
			refuse(w, VET_OUTSIDE, "the function %s is not allowed in a migration", last);
		strv_release(&nm);
	}
	if (!strcmp(ty, "RangeVar"))
		check_node_rv(w, n);
	if (!strcmp(ty, "VariableSetStmt") && sql_jstr(n, "name")) {
		const char *v = sql_jstr(n, "name");
		if (strcmp(v, "lock_timeout") && strcmp(v, "statement_timeout") &&
		    strcmp(v, "idle_in_transaction_session_timeout") && strcmp(v, "search_path") &&
		    strcmp(v, "application_name"))
			refuse(w, VET_SESSION, "SET %s is not allowed in a migration", v);
	}
	if (!strcmp(ty, "DropStmt") && sql_jstr(n, "removeType") && !strcmp(sql_jstr(n, "removeType"), "OBJECT_SCHEMA"))
		refuse(w, VET_OUTSIDE, "%s", "DROP SCHEMA is not allowed in a migration");
	walk_forbidden(w, n);
}

static void walk_forbidden(const struct walk *w, const cJSON *n)
{
	const cJSON *c;
	if (!n)
		return;
	if (cJSON_IsObject(n) && sql_jstr(n, "relname")) /* a RangeVar field (not a wrapped node) */
		check_node_rv(w, n);
	cJSON_ArrayForEach(c, n)
	{
		const char *ty = sql_node_type(c);
		if (ty && isupper((unsigned char)*ty))
			check_node(w, ty, cJSON_GetObjectItemCaseSensitive(c, ty));
		else
			walk_forbidden(w, c);
	}
}

/* ---------- inverses ---------- */

static void col_sql(struct buf *b, const struct cat_column *c, bool allow_not_null)
{
	char *q = cat_quote_ident(c->name);
	buf_addf(b, "%s %s", q, c->type);
	if (c->identity)
		buf_addf(b, " GENERATED %s AS IDENTITY", !strcmp(c->identity, "always") ? "ALWAYS" : "BY DEFAULT");
	else if (c->generated)
		buf_addf(b, " GENERATED ALWAYS AS (%s) STORED", c->generated);
	else if (c->def)
		buf_addf(b, " DEFAULT %s", c->def);
	if (!c->nullable && allow_not_null)
		buf_adds(b, " NOT NULL");
	free(q);
}

static char *cols_sql(const struct strv *cols)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	for (size_t i = 0; i < cols->n; i++) {
		char *q = cat_quote_ident(cols->v[i]);
		buf_addf(&b, "%s%s", i ? ", " : "", q);
		free(q);
	}
	return buf_detach(&b);
}

static char *index_sql(const struct cat_index *ix, bool concurrently)
{
	char *qt, *qi = qualified(ix->schema, ix->name), *cols;
	char *ts, *tn;
	cat_split_qname(ix->table, &ts, &tn);
	qt = qualified(ts, tn);
	struct buf b = BUF_INIT;
	buf_init(&b);
	for (size_t i = 0; i < ix->columns.n; i++) {
		const char *c = ix->columns.v[i];
		bool plain = strspn(c, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$") == strlen(c);
		char *q = plain ? cat_quote_ident(c) : xasprintf("(%s)", c);
		buf_addf(&b, "%s%s", i ? ", " : "", q);
		free(q);
	}
	cols = buf_detach(&b);
	/* the index name is unqualified: it lives in its table's schema */
	char *qn = cat_quote_ident(ix->name);
	char *s = xasprintf("CREATE %sINDEX%s %s ON %s%s%s (%s)%s%s", ix->unique ? "UNIQUE " : "",
			    concurrently ? " CONCURRENTLY" : "", qn, qt, ix->method && strcmp(ix->method, "btree") ? " USING " : "",
			    ix->method && strcmp(ix->method, "btree") ? ix->method : "", cols, ix->predicate ? " WHERE " : "",
			    ix->predicate ? ix->predicate : "");
	free(qn);
	free(qi);
	free(qt);
	free(ts);
	free(tn);
	free(cols);
	return s;
}

static char *fk_sql(const struct cat_fk *fk)
{
	char *ts, *tn, *rs, *rn;
	cat_split_qname(fk->table, &ts, &tn);
	cat_split_qname(fk->ref_table, &rs, &rn);
	char *qt = qualified(ts, tn), *qr = qualified(rs, rn), *qn = cat_quote_ident(fk->name);
	char *a = cols_sql(&fk->columns), *b = cols_sql(&fk->ref_columns);
	char *s = xasprintf("ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s) ON DELETE %s ON "
			    "UPDATE %s%s",
			    qt, qn, a, qr, b, fk->on_delete ? fk->on_delete : "no action",
			    fk->on_update ? fk->on_update : "no action", fk->validated ? "" : " NOT VALID");
	free(ts);
	free(tn);
	free(rs);
	free(rn);
	free(qt);
	free(qr);
	free(qn);
	free(a);
	free(b);
	return s;
}

static char *check_sql(const struct cat_check *ck)
{
	char *ts, *tn;
	cat_split_qname(ck->table, &ts, &tn);
	char *qt = qualified(ts, tn), *qn = cat_quote_ident(ck->name);
	char *s = xasprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s)%s", qt, qn, ck->expression,
			    ck->validated ? "" : " NOT VALID");
	free(ts);
	free(tn);
	free(qt);
	free(qn);
	return s;
}

/* restore_dependents: what dropping table t (or its column col) takes
 * with it: indexes, checks, foreign keys both ways. */
static void restore_dependents(struct walk *w, const struct cat_table *t, const char *col, bool skip_pk)
{
	for (size_t i = 0; i < w->cat->nindexes; i++) {
		const struct cat_index *ix = w->cat->indexes[i];
		if (strcmp(ix->table, t->qname) || (col && strv_index(&ix->columns, col) < 0) || (skip_pk && ix->primary))
			continue;
		if (ix->constraint) {
			char *qt = qualified(t->schema, t->name), *qn = cat_quote_ident(ix->constraint), *c = cols_sql(&ix->columns);
			inv(w, xasprintf("ALTER TABLE %s ADD CONSTRAINT %s %s (%s)", qt, qn, ix->primary ? "PRIMARY KEY" : "UNIQUE", c));
			free(qt);
			free(qn);
			free(c);
		} else {
			inv(w, index_sql(ix, false));
		}
	}
	for (size_t i = 0; i < w->cat->nchecks; i++)
		if (!strcmp(w->cat->checks[i]->table, t->qname) && (!col || strstr(w->cat->checks[i]->expression, col)))
			inv(w, check_sql(w->cat->checks[i]));
	for (size_t i = 0; i < w->cat->nfks; i++) {
		const struct cat_fk *fk = w->cat->fks[i];
		bool mine = !strcmp(fk->table, t->qname) && (!col || strv_index(&fk->columns, col) >= 0);
		bool theirs = !strcmp(fk->ref_table, t->qname) && (!col || strv_index(&fk->ref_columns, col) >= 0) &&
			      strcmp(fk->table, t->qname);
		if (mine || (theirs && !col))
			inv(w, fk_sql(fk));
	}
}

static void inv_drop_column(struct walk *w, const struct cat_table *t, const cJSON *rv, const char *name)
{
	const struct cat_column *c = table_column(t, name);
	if (!c)
		return;
	char *key = xasprintf("col:%s.%s", t->qname, name);
	bool mine = created_here(w, key);
	free(key);
	if (!mine) {
		destructive(w, xasprintf("DROP COLUMN %s.%s destroys its data", t->qname, name));
		irreversible(w, xasprintf("the data of column %s.%s is lost: the rollback re-adds it %s", t->qname, name,
					  c->def || c->nullable ? "with its default" : "nullable and empty"));
	}
	struct buf b = BUF_INIT;
	buf_init(&b);
	char *q = rel_sql(rv, NULL);
	buf_addf(&b, "ALTER TABLE %s ADD COLUMN ", q);
	col_sql(&b, c, c->def != NULL);
	inv(w, buf_detach(&b));
	restore_dependents(w, t, name, false);
	free(q);
}

static char *con_key(const char *table, const char *name)
{
	return xasprintf("c:%s/%s", table, name);
}

static void inv_drop_constraint(struct walk *w, const struct cat_table *t, const char *name)
{
	char *key = con_key(t->qname, name);
	if (!created_here(w, key))
		destructive(w, xasprintf("DROP CONSTRAINT %s on %s", name, t->qname));
	free(key);
	const struct cat_fk *fk = catalog_fk(w->cat, t->qname, name);
	const struct cat_check *ck = catalog_check(w->cat, t->qname, name);
	if (fk)
		inv(w, fk_sql(fk));
	else if (ck)
		inv(w, check_sql(ck));
	else
		for (size_t i = 0; i < w->cat->nindexes; i++) {
			const struct cat_index *ix = w->cat->indexes[i];
			if (ix->constraint && !strcmp(ix->constraint, name) && !strcmp(ix->table, t->qname)) {
				char *qt = qualified(t->schema, t->name), *qn = cat_quote_ident(name), *c = cols_sql(&ix->columns);
				inv(w, xasprintf("ALTER TABLE %s ADD CONSTRAINT %s %s (%s)", qt, qn,
						 ix->primary ? "PRIMARY KEY" : "UNIQUE", c));
				free(qt);
				free(qn);
				free(c);
			}
		}
}

static void alter_cmd(struct walk *w, const cJSON *stmt, const cJSON *cmd, struct cat_table *t)
{
	const char *sub = sql_jstr(cmd, "subtype"), *name = sql_jstr(cmd, "name");
	const cJSON *rv = sql_jget(stmt, "relation");
	char *q = rel_sql(rv, NULL), *qc = name ? cat_quote_ident(name) : NULL;
	const struct cat_column *c = name && t ? table_column(t, name) : NULL;
	if (!strcmp(sub, "AT_AddColumn")) {
		const cJSON *cd = sql_node(sql_jget(cmd, "def"), "ColumnDef");
		char *qn = cat_quote_ident(sql_jstr(cd, "colname"));
		inv(w, xasprintf("ALTER TABLE %s DROP COLUMN %s", q, qn));
		strv_push_take(&w->created, xasprintf("col:%s.%s", t ? t->qname : "", sql_jstr(cd, "colname")));
		free(qn);
	} else if (!strcmp(sub, "AT_DropColumn") && t) {
		inv_drop_column(w, t, rv, name);
	} else if (!strcmp(sub, "AT_ColumnDefault") && c) {
		inv(w, c->def ? xasprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s", q, qc, c->def)
			      : xasprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT", q, qc));
	} else if (!strcmp(sub, "AT_SetNotNull") && c) {
		if (c->nullable)
			inv(w, xasprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL", q, qc));
	} else if (!strcmp(sub, "AT_DropNotNull") && c) {
		if (!c->nullable)
			inv(w, xasprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL", q, qc));
	} else if (!strcmp(sub, "AT_AlterColumnType") && c) {
		/* a default of the new type may not cast back: dropped, then restored */
		if (c->def)
			inv(w, xasprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT", q, qc));
		inv(w, xasprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::%s", q, qc, c->type, qc, c->type));
		if (c->def)
			inv(w, xasprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s", q, qc, c->def));
	} else if (!strcmp(sub, "AT_AddConstraint")) {
		/* named after the replay, from what appeared (see walk_stmt) */
	} else if (!strcmp(sub, "AT_ValidateConstraint")) {
	} else if (!strcmp(sub, "AT_DropConstraint") && t) {
		inv_drop_constraint(w, t, name);
	} else if (w->strict || !t || (c == NULL && name)) {
		refuse(w, VET_UNMODELLED, "ALTER TABLE subcommand %s is not on the allow-list", sub ? sub + 3 : "?");
		irreversible(w, xasprintf("line %d: no inverse for ALTER TABLE %s on %s", w->st->line, sub ? sub + 3 : "?",
					  t ? t->qname : sql_jstr(rv, "relname") ? sql_jstr(rv, "relname") : "?"));
	} else {
		irreversible(w, xasprintf("no inverse for ALTER TABLE %s on %s", sub + 3, t->qname));
	}
	free(q);
	free(qc);
}

/* constraint and index names of a table, for what-appeared diffs */
static void names_of(const struct catalog *c, struct strv *out)
{
	for (size_t i = 0; i < c->nfks; i++)
		strv_push_take(out, xasprintf("c:%s/%s", c->fks[i]->table, c->fks[i]->name));
	for (size_t i = 0; i < c->nchecks; i++)
		strv_push_take(out, xasprintf("c:%s/%s", c->checks[i]->table, c->checks[i]->name));
	for (size_t i = 0; i < c->nindexes; i++) {
		const struct cat_index *ix = c->indexes[i];
		if (ix->constraint)
			strv_push_take(out, xasprintf("c:%s/%s", ix->table, ix->constraint));
		else
			strv_push_take(out, xasprintf("i:%s.%s", ix->schema, ix->name));
	}
	for (size_t i = 0; i < c->ntables; i++)
		strv_push_take(out, xasprintf("t:%s", c->tables[i]->qname));
}

static void drop_objects(struct walk *w, const cJSON *n, const char *rt)
{
	const cJSON *o;
	bool concurrent = sql_jbool(n, "concurrent");
	cJSON_ArrayForEach(o, sql_jget(n, "objects"))
	{
		struct strv nm = STRV_INIT;
		const cJSON *tn = sql_node(o, "TypeName"), *fn = sql_node(o, "ObjectWithArgs");
		sql_name_list(tn ? sql_jget(tn, "names") : fn ? sql_jget(fn, "objname") : o, &nm);
		if (!nm.n && sql_strval(o)) /* DROP SCHEMA, EXTENSION ...: a bare String */
			strv_push(&nm, sql_strval(o));
		if (!nm.n) {
			refuse(w, VET_UNMODELLED, "%s", "DROP of something that is not a name");
			irreversible(w, xasprintf("line %d: no inverse for DROP %s", w->st->line, rt ? rt + 7 : "?"));
			strv_release(&nm);
			continue;
		}
		const char *sch = nm.n > 1 ? nm.v[0] : w->rp.search_schema, *name = nm.v[nm.n - 1];
		char *q = cat_qname(sch, name);
		if (!strcmp(rt, "OBJECT_INDEX")) {
			const struct cat_index *ix = catalog_index(w->cat, sch, name);
			char *k = xasprintf("i:%s", q);
			if (!created_here(w, k))
				destructive(w, xasprintf("DROP INDEX %s", q));
			free(k);
			if (ix)
				inv(w, index_sql(ix, concurrent));
		} else if (!strcmp(rt, "OBJECT_TABLE")) {
			const struct cat_table *t = catalog_table(w->cat, sch, name);
			char *k = xasprintf("t:%s", q);
			if (!created_here(w, k)) {
				destructive(w, xasprintf("DROP TABLE %s destroys its rows", q));
				irreversible(w, xasprintf("the rows of %s are lost: the rollback recreates it empty", q));
			}
			free(k);
			if (t) {
				struct buf b = BUF_INIT;
				char *qt = qualified(t->schema, t->name);
				buf_init(&b);
				buf_addf(&b, "CREATE TABLE %s (", qt);
				for (size_t i = 0; i < t->ncols; i++) {
					buf_adds(&b, i ? ",\n    " : "\n    ");
					col_sql(&b, &t->cols[i], true);
				}
				if (t->pk.n) {
					char *pc = cols_sql(&t->pk), *pn = t->pk_name ? cat_quote_ident(t->pk_name) : NULL;
					buf_addf(&b, ",\n    %s%s%sPRIMARY KEY (%s)", pn ? "CONSTRAINT " : "", pn ? pn : "",
						 pn ? " " : "", pc);
					free(pc);
					free(pn);
				}
				buf_adds(&b, "\n)");
				inv(w, buf_detach(&b));
				restore_dependents(w, t, NULL, true);
				free(qt);
			}
		} else if (!strcmp(rt, "OBJECT_TYPE")) {
			const struct cat_enum *e = catalog_enum(w->cat, sch, name);
			destructive(w, xasprintf("DROP TYPE %s", q));
			if (e) {
				struct buf b = BUF_INIT;
				char *qe = qualified(e->schema, e->name);
				buf_init(&b);
				buf_addf(&b, "CREATE TYPE %s AS ENUM (", qe);
				for (size_t i = 0; i < e->values.n; i++) {
					char *l = sql_quote_literal(e->values.v[i]);
					buf_addf(&b, "%s%s", i ? ", " : "", l);
					free(l);
				}
				buf_adds(&b, ")");
				inv(w, buf_detach(&b));
				free(qe);
			}
		} else if (!strcmp(rt, "OBJECT_VIEW") || !strcmp(rt, "OBJECT_MATVIEW")) {
			const struct cat_view *v = catalog_view(w->cat, sch, name);
			destructive(w, xasprintf("DROP VIEW %s", q));
			if (v && v->definition) {
				char *qv = qualified(v->schema, v->name);
				inv(w, xasprintf("CREATE %sVIEW %s AS %s", v->materialized ? "MATERIALIZED " : "", qv, v->definition));
				free(qv);
			} else {
				irreversible(w, xasprintf("the definition of view %s is unknown", q));
			}
		} else if (!w->strict && !strcmp(rt, "OBJECT_SEQUENCE")) {
			destructive(w, xasprintf("DROP SEQUENCE %s", q));
			irreversible(w, xasprintf("sequence %s is recreated from 1", q));
			char *qs = qualified(sch, name);
			inv(w, xasprintf("CREATE SEQUENCE %s", qs));
			free(qs);
		} else {
			refuse(w, VET_UNMODELLED, "DROP %s is not on the allow-list", rt + 7);
			irreversible(w, xasprintf("line %d: no inverse for DROP %s %s", w->st->line, rt + 7, q));
		}
		free(q);
		strv_release(&nm);
	}
}

static size_t name_list_len(const cJSON *list)
{
	struct strv nm = STRV_INIT;
	sql_name_list(list, &nm);
	size_t n = nm.n;
	strv_release(&nm);
	return n;
}

static void rename_stmt(struct walk *w, const cJSON *n)
{
	const char *rt = sql_jstr(n, "renameType"), *sub = sql_jstr(n, "subname"), *nw = sql_jstr(n, "newname");
	const cJSON *rv = sql_jget(n, "relation");
	if (!rt || !nw) {
		refuse(w, VET_UNMODELLED, "%s", "a RENAME without a new name");
		return;
	}
	char *qn = cat_quote_ident(nw), *qs = sub ? cat_quote_ident(sub) : NULL;
	bool on_rel = rv && sql_jstr(rv, "relname");
	if (!strcmp(rt, "OBJECT_COLUMN") && on_rel && qs) {
		char *q = rel_sql(rv, NULL);
		inv(w, xasprintf("ALTER TABLE %s RENAME COLUMN %s TO %s", q, qn, qs));
		free(q);
	} else if (!strcmp(rt, "OBJECT_TABCONSTRAINT") && on_rel && qs) {
		char *q = rel_sql(rv, NULL);
		inv(w, xasprintf("ALTER TABLE %s RENAME CONSTRAINT %s TO %s", q, qn, qs));
		free(q);
	} else if ((!strcmp(rt, "OBJECT_TABLE") || !strcmp(rt, "OBJECT_INDEX") || !strcmp(rt, "OBJECT_VIEW")) && on_rel) {
		char *q = rel_sql(rv, nw), *old = cat_quote_ident(sql_jstr(rv, "relname"));
		inv(w, xasprintf("ALTER %s %s RENAME TO %s", rt + 7, q, old));
		free(q);
		free(old);
	} else if (!strcmp(rt, "OBJECT_TYPE") && name_list_len(sql_jget(n, "object"))) {
		struct strv nm = STRV_INIT;
		sql_name_list(sql_jget(n, "object"), &nm);
		char *q = nm.n > 1 ? qualified(nm.v[0], nw) : xstrdup(qn), *old = cat_quote_ident(nm.v[nm.n - 1]);
		inv(w, xasprintf("ALTER TYPE %s RENAME TO %s", q, old));
		free(q);
		free(old);
		strv_release(&nm);
	} else {
		refuse(w, VET_UNMODELLED, "RENAME of %s is not on the allow-list", rt + 7);
		irreversible(w, xasprintf("line %d: no inverse for RENAME of %s", w->st->line, rt + 7));
	}
	free(qn);
	free(qs);
}

static void dml(struct walk *w, const char *type, const cJSON *n)
{
	const cJSON *rv = sql_jget(n, "relation");
	char *q = cat_qname(rel_schema(w, rv), sql_jstr(rv, "relname"));
	char *k = xasprintf("t:%s", q);
	bool mine = created_here(w, k);
	if (!strcmp(type, "UpdateStmt") && !mine) {
		const cJSON *tl;
		cJSON_ArrayForEach(tl, sql_jget(n, "targetList"))
		{
			const char *col = sql_jstr(sql_node(tl, "ResTarget"), "name");
			char *ck = xasprintf("col:%s.%s", q, col ? col : "");
			if (!created_here(w, ck)) {
				destructive(w, xasprintf("UPDATE overwrites %s.%s", q, col));
				irreversible(w, xasprintf("UPDATE overwrites the old values of %s.%s", q, col));
			}
			free(ck);
		}
	} else if (!strcmp(type, "DeleteStmt") && !mine) {
		destructive(w, xasprintf("DELETE destroys rows of %s", q));
		irreversible(w, xasprintf("rows deleted from %s are lost", q));
	} else if (!strcmp(type, "InsertStmt") && !mine) {
		irreversible(w, xasprintf("rows inserted into %s stay after the rollback", q));
	}
	free(k);
	free(q);
}

static void reverse_from(struct strv *sv, size_t i)
{
	for (size_t j = sv->n; j > i + 1; i++, j--) {
		char *tmp = sv->v[i];
		sv->v[i] = sv->v[j - 1];
		sv->v[j - 1] = tmp;
	}
}

static void walk_stmt(struct walk *w, const char *src)
{
	const struct sql_stmt *st = w->st;
	const cJSON *n = st->node;
	const char *ty = st->type;
	struct strv before = STRV_INIT;
	size_t inv_mark = w->inv.n;
	check_node(w, ty, st->node);
	names_of(w->cat, &before);
	if (!strcmp(ty, "VariableSetStmt")) {
		if (!w->set_lock && sql_jstr(n, "name") && !strcmp(sql_jstr(n, "name"), "lock_timeout"))
			w->set_lock = sql_stmt_text(w->script, st);
	} else if (!strcmp(ty, "TransactionStmt") || !strcmp(ty, "CommentStmt")) {
	} else if (!strcmp(ty, "AlterTableStmt")) {
		const char *ot = sql_jstr(n, "objtype");
		struct cat_table *t = rel_table(w, sql_jget(n, "relation"));
		const cJSON *c;
		bool on_table = !ot || !strcmp(ot, "OBJECT_TABLE");
		if (!on_table) { /* ALTER INDEX, VIEW, SEQUENCE ...: not modelled */
			refuse(w, VET_UNMODELLED, "ALTER %s is not on the allow-list", ot + 7);
			irreversible(w, xasprintf("line %d: no inverse for ALTER %s", st->line, ot + 7));
		}
		const cJSON *cmds = on_table ? sql_jget(n, "cmds") : NULL;
		cJSON_ArrayForEach(c, cmds)
		{
			size_t mark = w->inv.n;
			alter_cmd(w, n, sql_node(c, "AlterTableCmd"), t);
			reverse_from(&w->inv, mark);
		}
		inv_mark = w->inv.n; /* only what appeared is reversed below */
	} else if (!strcmp(ty, "RenameStmt")) {
		rename_stmt(w, n);
	} else if (!strcmp(ty, "IndexStmt") || !strcmp(ty, "CreateStmt") || !strcmp(ty, "CreateEnumStmt") ||
		   !strcmp(ty, "ViewStmt") || (!w->strict && !strcmp(ty, "CreateSeqStmt"))) {
		/* inverse from what appeared, below */
	} else if (!strcmp(ty, "DropStmt")) {
		drop_objects(w, n, sql_jstr(n, "removeType"));
	} else if (!strcmp(ty, "AlterEnumStmt")) {
		struct strv nm = STRV_INIT;
		sql_name_list(sql_jget(n, "typeName"), &nm);
		char *q = nm.n ? cat_quote_ident(nm.v[nm.n - 1]) : xstrdup("?");
		if (sql_jstr(n, "oldVal")) {
			char *a = sql_quote_literal(sql_jstr(n, "newVal")), *b = sql_quote_literal(sql_jstr(n, "oldVal"));
			inv(w, xasprintf("ALTER TYPE %s RENAME VALUE %s TO %s", q, a, b));
			free(a);
			free(b);
		} else {
			irreversible(w, xasprintf("PostgreSQL cannot remove a value from an enum: '%s' stays in %s after the "
						  "rollback",
						  sql_jstr(n, "newVal"), nm.n ? nm.v[nm.n - 1] : "?"));
		}
		free(q);
		strv_release(&nm);
	} else if (!strcmp(ty, "UpdateStmt") || !strcmp(ty, "DeleteStmt") || !strcmp(ty, "InsertStmt")) {
		dml(w, ty, n);
	} else if (!strcmp(ty, "TruncateStmt")) {
		destructive(w, xstrdup("TRUNCATE destroys every row"));
		irreversible(w, xstrdup("rows removed by TRUNCATE are lost"));
	} else if (w->strict) {
		refuse(w, VET_UNMODELLED, "%s is not on the allow-list of statements a model may write", ty);
	} else {
		irreversible(w, xasprintf("line %d: no inverse is known for %s", st->line, ty));
	}
	replay_stmt(&w->rp, w->file, src, st);
	/* objects that appeared: their inverse is a DROP */
	struct strv after = STRV_INIT, fresh = STRV_INIT;
	names_of(w->cat, &after);
	for (size_t i = 0; i < after.n; i++)
		if (strv_index(&before, after.v[i]) < 0) {
			strv_push(&fresh, after.v[i]);
			strv_push(&w->created, after.v[i]);
		}
	bool renamed = !strcmp(ty, "RenameStmt") || !strcmp(ty, "DropStmt");
	for (size_t i = 0; i < fresh.n && !renamed; i++) {
		const char *k = fresh.v[i];
		if (!strncmp(k, "t:", 2)) {
			char *s, *nm;
			cat_split_qname(k + 2, &s, &nm);
			char *q = qualified(s, nm);
			strv_push_take(&w->inv, xasprintf("DROP TABLE %s", q));
			free(q);
			free(s);
			free(nm);
		} else if (!strncmp(k, "i:", 2) && strcmp(ty, "CreateStmt")) {
			char *s, *nm;
			cat_split_qname(k + 2, &s, &nm);
			char *q = qualified(s, nm);
			strv_push_take(&w->inv, xasprintf("DROP INDEX %s%s", sql_jbool(n, "concurrent") ? "CONCURRENTLY " : "", q));
			free(q);
			free(s);
			free(nm);
		} else if (!strncmp(k, "c:", 2) && strcmp(ty, "CreateStmt")) {
			const char *slash = strrchr(k, '/');
			char *tq = xstrndup(k + 2, (size_t)(slash - k - 2)), *s, *nm;
			cat_split_qname(tq, &s, &nm);
			char *q = qualified(s, nm), *qc = cat_quote_ident(slash + 1);
			strv_push_take(&w->inv, xasprintf("ALTER TABLE %s DROP CONSTRAINT %s", q, qc));
			free(q);
			free(qc);
			free(s);
			free(nm);
			free(tq);
		}
	}
	if (!strcmp(ty, "CreateEnumStmt") || !strcmp(ty, "ViewStmt") || !strcmp(ty, "CreateSeqStmt")) {
		struct strv nm = STRV_INIT;
		const cJSON *view = sql_jget(n, "view");
		if (view)
			strv_push(&nm, sql_jstr(view, "relname"));
		else if (!strcmp(ty, "CreateSeqStmt"))
			strv_push(&nm, sql_jstr(sql_jget(n, "sequence"), "relname"));
		else
			sql_name_list(sql_jget(n, "typeName"), &nm);
		char *q = nm.n > 1 ? qualified(nm.v[0], nm.v[1]) : cat_quote_ident(nm.v[0]);
		strv_push_take(&w->inv, xasprintf("DROP %s %s", !strcmp(ty, "ViewStmt") ? "VIEW" : !strcmp(ty, "CreateSeqStmt") ? "SEQUENCE" : "TYPE", q));
		free(q);
		strv_release(&nm);
	}
	/* each unit's inverses were written in the order they run; the
	 * whole list is read backwards at the end */
	reverse_from(&w->inv, inv_mark);
	strv_release(&before);
	strv_release(&after);
	strv_release(&fresh);
}

static bool is_concurrent(const char *s)
{
	return strstr(s, "CONCURRENTLY") != NULL;
}

/* note_meta_commands: a person's file with psql meta-commands (lines in
 * meta): one high finding each, on the statement at or after its line.
 * migsafe, Flyway and Prisma send the file to PostgreSQL without them; psql
 * runs them with the deployer's rights (\! a shell command). */
static void note_meta_commands(struct mig *m, const struct sql_script *s, const struct strv *meta)
{
	for (size_t k = 0; k < meta->n; k++) {
		int line = atoi(meta->v[k]);
		size_t i = 0;
		while (i + 1 < s->n && s->stmts[i].line < line)
			i++;
		if (!m->outside)
			m->outside = cJSON_CreateArray();
		cJSON *n = cJSON_CreateObject();
		cJSON_AddNumberToObject(n, "statement", (double)i);
		cJSON_AddNumberToObject(n, "line", line);
		cJSON_AddStringToObject(n, "type", "psql meta-command");
		cJSON_AddStringToObject(n, "reason", "a psql meta-command (a line starting with \\): psql runs it with the "
						     "deployer's rights (\\! a shell command, \\i another file), while "
						     "migsafe, Flyway and Prisma send the file without it");
		cJSON_AddStringToObject(n, "severity", "high");
		cJSON_AddStringToObject(n, "fix", "remove it: a migration holds SQL only, and whatever it did must be a "
						  "reviewed statement of the file");
		cJSON_AddItemToArray(m->outside, n);
	}
}

void check_forward(const struct catalog *cat, const char *file, struct mig *m)
{
	struct walk w = {0};
	struct sql_script s = {0};
	struct sql_error err = {0};
	struct catalog work;
	/* psql meta-commands (\! shell, \i file) are blanked by the parser but
	 * would run in psql: a model's answer is refused for one, a person's
	 * file gets a finding (after the parse, on the statement that follows) */
	int line = 1;
	struct strv meta = STRV_INIT; /* their lines, as text */
	for (const char *p = m->forward; *p; p++) {
		const char *q = p;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '\\' && m->untrusted)
			die_at(EXIT_FINDINGS, file, line, "refused: a psql meta-command (a line starting with \\)");
		if (*q == '\\')
			strv_push_take(&meta, xasprintf("%d", line));
		p = strchr(q, '\n');
		if (!p)
			break;
		line++;
	}
	if (sql_parse(&s, m->forward, &err) < 0)
		die_at(EXIT_INPUT, file, err.line, "%s", err.message);
	if (s.n)
		note_meta_commands(m, &s, &meta);
	strv_release(&meta);
	if (!s.n)
		die_at(EXIT_INPUT, file, 0, "no SQL statement");
	catalog_clone(&work, cat);
	w.orig = cat;
	w.cat = &work;
	w.m = m;
	w.file = file;
	w.script = &s;
	w.strict = m->untrusted;
	replay_init(&w.rp, &work);
	w.rp.quiet = true;
	if (m->search_schema) {
		free(w.rp.search_schema);
		w.rp.search_schema = xstrdup(m->search_schema);
	}
	struct buf fwd = BUF_INIT;
	buf_init(&fwd);
	for (size_t i = 0; i < s.n; i++) {
		w.st = &s.stmts[i];
		w.st_index = i;
		walk_stmt(&w, m->forward);
		char *t = sql_stmt_text(&s, &s.stmts[i]);
		buf_addf(&fwd, "%s;\n", t);
		free(t);
	}
	struct buf rb = BUF_INIT;
	buf_init(&rb);
	if (w.set_lock)
		buf_addf(&rb, "%s;\n", w.set_lock);
	for (size_t i = w.inv.n; i > 0; i--)
		buf_addf(&rb, "%s;\n", w.inv.v[i - 1]);
	(void)is_concurrent;
	if (m->from_file) { /* kept as written: lines point into the file */
		buf_release(&fwd);
	} else {
		free(m->forward);
		m->forward = buf_detach(&fwd);
	}
	free(m->rollback);
	m->rollback = buf_detach(&rb);
	free(w.set_lock);
	strv_release(&w.inv);
	strv_release(&w.created);
	replay_release(&w.rp);
	catalog_release(&work);
	sql_script_release(&s);
}

static char *apply_digest(const struct catalog *cat, const char *file, const char *a, const char *b)
{
	struct catalog c;
	struct replay rp;
	catalog_clone(&c, cat);
	replay_init(&rp, &c);
	rp.quiet = true;
	replay_sql(&rp, file, a);
	if (b)
		replay_sql(&rp, file, b);
	char *d = catalog_digest(&c);
	replay_release(&rp);
	catalog_release(&c);
	return d;
}

static char *first_diff(const char *a, const char *b)
{
	/* the first line of a not in b, or of b not in a */
	struct strv la = STRV_INIT, lb = STRV_INIT;
	char *ca = xstrdup(a), *cb = xstrdup(b), *save = NULL, *r = NULL;
	for (char *l = strtok_r(ca, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		strv_push(&la, l);
	for (char *l = strtok_r(cb, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		strv_push(&lb, l);
	for (size_t i = 0; i < la.n && !r; i++)
		if (strv_index(&lb, la.v[i]) < 0)
			r = xasprintf("expected %s", la.v[i]);
	for (size_t i = 0; i < lb.n && !r; i++)
		if (strv_index(&la, lb.v[i]) < 0)
			r = xasprintf("unexpected %s", lb.v[i]);
	strv_release(&la);
	strv_release(&lb);
	free(ca);
	free(cb);
	return r ? r : xstrdup("the catalogs differ");
}

char *check_rollback(const struct catalog *cat, const char *forward, const char *computed, const char *given,
		     const char *file)
{
	char *want = apply_digest(cat, file, forward, computed);
	char *got = apply_digest(cat, file, forward, given);
	char *r = strcmp(want, got) ? first_diff(want, got) : NULL;
	free(want);
	free(got);
	return r;
}
