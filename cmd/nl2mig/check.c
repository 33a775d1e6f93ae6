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
#include <strings.h>

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
	bool strict;	     /* model output: only the allow-list */
	struct strv inv;     /* inverses, in forward order (emitted reversed) */
	struct strv created; /* "t:qname", "c:table/name", "i:schema.name", "col:qname.col" */
	const struct sql_stmt *st;
	size_t st_index; /* st's place in the script */
	const struct sql_script *script;
	char *set_lock;
};

/* ---------- helpers ---------- */

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

static void irreversible(struct walk *w, char *why)
{
	if (strv_index(&w->m->irreversible, why) < 0)
		strv_push(&w->m->irreversible, why);
	free(why);
}

/* step_type: the statement kind a rollback step built by this file is;
 * *alt: the other kind its prefix may start (ALTER TABLE ... RENAME, ALTER
 * TYPE ... RENAME VALUE), or NULL */
static const char *step_type(const char *sql, const char **alt)
{
	static const struct {
		const char *prefix, *type, *alt;
	} kinds[] = {
		{"ALTER TYPE ", "RenameStmt", "AlterEnumStmt"},
		{"ALTER INDEX ", "RenameStmt", NULL},
		{"ALTER VIEW ", "RenameStmt", NULL},
		{"ALTER TABLE ", "AlterTableStmt", "RenameStmt"},
		{"CREATE TABLE ", "CreateStmt", NULL},
		{"CREATE INDEX ", "IndexStmt", NULL},
		{"CREATE UNIQUE INDEX ", "IndexStmt", NULL},
		{"CREATE VIEW ", "ViewStmt", NULL},
		{"CREATE OR REPLACE VIEW ", "ViewStmt", NULL},
		{"CREATE MATERIALIZED VIEW ", "CreateTableAsStmt", NULL},
		{"CREATE TYPE ", "CreateEnumStmt", NULL},
		{"CREATE SEQUENCE ", "CreateSeqStmt", NULL},
		{"DROP ", "DropStmt", NULL},
	};
	*alt = NULL;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++)
		if (!strncasecmp(sql, kinds[i].prefix, strlen(kinds[i].prefix))) {
			*alt = kinds[i].alt;
			return kinds[i].type;
		}
	return "?";
}

/* step_count: how many parts the one statement of a step has */
static int step_count(const struct sql_stmt *st)
{
	const char *ty = st->type;
	const char *list = !strcmp(ty, "AlterTableStmt")   ? "cmds"
			   : !strcmp(ty, "CreateStmt")	   ? "tableElts"
			   : !strcmp(ty, "IndexStmt")	   ? "indexParams"
			   : !strcmp(ty, "CreateEnumStmt") ? "vals"
			   : !strcmp(ty, "DropStmt")	   ? "objects"
							   : NULL;
	return list ? cJSON_GetArraySize(sql_jget(st->node, list)) : -1;
}

/* inv_n: one rollback step, kept only when it parses as exactly one
 * statement of the kind it was built as, with parts parts (ALTER TABLE
 * subcommands, CREATE TABLE elements, index columns, enum values, DROP
 * objects; -1: not counted, but one for ALTER TABLE and DROP). A value the
 * step was built from that is not what it claims (a default carrying a
 * statement) fails closed: the step is left out and the statement is
 * irreversible. NULL: the step could not be built. Takes sql. */
static void inv_n(struct walk *w, char *sql, int parts)
{
	struct sql_script s;
	const char *alt = NULL, *ty = sql ? step_type(sql, &alt) : "?";
	if (parts < 0 && (!strcmp(ty, "AlterTableStmt") || !strcmp(ty, "DropStmt")))
		parts = 1;
	if (sql && (sql_one_stmt(&s, sql, ty) == 0 || (alt && sql_one_stmt(&s, sql, alt) == 0))) {
		int got = step_count(&s.stmts[0]);
		bool ok = parts < 0 || got < 0 || got == parts;
		sql_script_release(&s);
		if (ok) {
			strv_push_take(&w->inv, sql);
			return;
		}
	}
	free(sql);
	irreversible(w, xasprintf("line %d: a rollback step was left out: built from the DAG, it is not exactly one "
				  "statement of its kind (a type, default or expression that is not one SQL expression)",
				  w->st->line));
}

static void inv(struct walk *w, char *sql)
{
	inv_n(w, sql, -1);
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

/* forget: key (and, with prefix, every key starting with it) no longer
 * names something this migration created */
static void forget(struct walk *w, const char *key, bool prefix)
{
	for (size_t i = w->created.n; i > 0; i--)
		if (prefix ? !strncmp(w->created.v[i - 1], key, strlen(key)) : !strcmp(w->created.v[i - 1], key))
			strv_remove(&w->created, i - 1);
}

/* renamed: what this migration created is known by its new name; a name
 * something else takes over (an object that existed before) is no longer
 * one of its own, so what is done to it later is judged as done to data
 * that existed. from and to are keys with prefix p ("col:", "t:" ...). */
static void renamed(struct walk *w, const char *from, const char *to)
{
	bool mine = created_here(w, from);
	forget(w, to, false);
	forget(w, from, false);
	if (mine)
		strv_push(&w->created, to);
}

/* renamed_table: the table's key and its columns' keys follow it */
static void renamed_table(struct walk *w, const char *from_q, const char *to_q)
{
	char *f = xasprintf("t:%s", from_q), *t = xasprintf("t:%s", to_q);
	char *fc = xasprintf("col:%s.", from_q), *tc = xasprintf("col:%s.", to_q);
	struct strv cols = STRV_INIT;
	for (size_t i = 0; i < w->created.n; i++)
		if (!strncmp(w->created.v[i], fc, strlen(fc)))
			strv_push_take(&cols, xasprintf("%s%s", tc, w->created.v[i] + strlen(fc)));
	forget(w, tc, true);
	forget(w, fc, true);
	renamed(w, f, t);
	for (size_t i = 0; i < cols.n; i++)
		strv_push(&w->created, cols.v[i]);
	strv_release(&cols);
	free(f);
	free(t);
	free(fc);
	free(tc);
}

/* What the allow-list says of a statement outside it: model output is
 * refused; a file a person wrote is reviewed, and the statement becomes a
 * note in the migration record (outside_allow_list[]) that lockscore turns
 * into a finding. OUTSIDE: it acts beyond the migration's tables (roles,
 * privileges, databases, COPY, server settings, functions that reach out of
 * the database); UNMODELLED: migsafe has no inverse for it; SESSION: a
 * setting of the session that runs the migration; ESCAPE: a way out of the
 * guards the migration runs under (timeouts lifted, another role or
 * search_path, the transaction ended or handed to two-phase commit): model
 * output is refused for one whatever --allow-destructive says, a person's
 * file gets a high note. */
/* VET_LOCKSCORE: an escape lockscore reports in a person's file with a
 * rule of its own (timeout-disabled, session-role-change,
 * search-path-change, two-phase-commit): refused in model output, and no
 * second note of the same thing in a person's file. */
enum vet { VET_OUTSIDE,
	   VET_UNMODELLED,
	   VET_SESSION,
	   VET_ESCAPE,
	   VET_LOCKSCORE };

static void refuse(const struct walk *w, enum vet kind, const char *fmt, const char *arg)
{
	char *msg = xasprintf(fmt, arg);
	if (w->strict)
		die_at(EXIT_FINDINGS, w->file, w->st->line, "refused: %s", msg);
	if (kind == VET_LOCKSCORE) {
		free(msg);
		return;
	}
	if (!w->m->outside)
		w->m->outside = cJSON_CreateArray();
	const cJSON *o;
	cJSON_ArrayForEach(o, w->m->outside) /* one note per statement and reason */
		if (cJSON_GetObjectItemCaseSensitive(o, "statement")->valuedouble == (double)w->st_index &&
		    !strcmp(nd_get_str(o, "reason"), msg))
	{
		free(msg);
		return;
	}
	cJSON *n = cJSON_CreateObject();
	cJSON_AddNumberToObject(n, "statement", (double)w->st_index);
	cJSON_AddNumberToObject(n, "line", w->st->line);
	cJSON_AddStringToObject(n, "type", w->st->type);
	cJSON_AddStringToObject(n, "reason", msg);
	cJSON_AddStringToObject(n, "severity", kind == VET_ESCAPE ? "high" : kind == VET_OUTSIDE ? "medium"
												 : "low");
	static const char *const fixes[] = {
		[VET_OUTSIDE] = "it acts beyond the migration's tables: have it reviewed by someone who owns the "
				"database's roles and settings, and undo it by hand if the migration is rolled back",
		[VET_UNMODELLED] = "migsafe has no inverse for it: give the rollback by hand (nl2mig --rollback FILE) "
				   "and let applyexplain trace its locks on the shadow",
		[VET_SESSION] = "it lasts until the session that runs the migration ends: run migrations in a "
				"session of their own, or RESET it at the end",
		[VET_ESCAPE] = "remove it: a migration runs in one transaction, as the deployer, under the "
			       "lock_timeout it sets first (a positive one); whatever this changes must be "
			       "done by someone who owns the database's settings, outside the migration",
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
	"CreateEventTrigStmt", "ListenStmt", "NotifyStmt", "VacuumStmt", "ClusterStmt", NULL};

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

/* positive: the one argument of a SET is a number above zero ('5s', 500) */
static bool positive(const cJSON *args)
{
	const cJSON *c = cJSON_GetArraySize(args) == 1 ? sql_node(cJSON_GetArrayItem(args, 0), "A_Const") : NULL;
	const char *sv = c ? sql_jstr(sql_jget(c, "sval"), "sval") : NULL;
	const char *fv = c ? sql_jstr(sql_jget(c, "fval"), "fval") : NULL;
	if (sv || fv)
		return strtod(sv ? sv : fv, NULL) > 0;
	return c && sql_jint(sql_jget(c, "ival"), "ival") > 0;
}

/* check_set: SET, SET LOCAL, RESET. A timeout set to a positive value is a
 * guard; lifting one (0, DEFAULT, RESET), RESET ALL, and a role,
 * search_path or read-only switch are escapes. Model output may only set
 * lock_timeout (positive); a person's file gets a note for other settings. */
static void check_set(const struct walk *w, const cJSON *n)
{
	static const char *const timeouts[] = {"lock_timeout", "statement_timeout",
					       "idle_in_transaction_session_timeout", "idle_session_timeout", NULL};
	static const char *const escapes[] = {"role", "session_authorization", "search_path",
					      "default_transaction_read_only", "transaction_read_only",
					      "session_replication_role", "row_security", "default_transaction_isolation",
					      "transaction_isolation", NULL};
	const char *kind = sql_jstr(n, "kind"), *v = sql_jstr(n, "name");
	bool value = kind && !strcmp(kind, "VAR_SET_VALUE");
	if (!v) {
		refuse(w, VET_LOCKSCORE, "%s", "RESET ALL lifts every setting the migration runs under (lock_timeout)");
		return;
	}
	for (int i = 0; timeouts[i]; i++)
		if (!strcmp(v, timeouts[i])) {
			if (!value || !positive(sql_jget(n, "args")))
				refuse(w, VET_LOCKSCORE, "%s is lifted (0, DEFAULT or RESET): the migration could wait or run without bound", v);
			else if (w->strict && strcmp(v, "lock_timeout"))
				refuse(w, VET_ESCAPE, "SET %s: model output sets lock_timeout only", v);
			return;
		}
	for (int i = 0; escapes[i]; i++)
		if (!strcmp(v, escapes[i])) {
			refuse(w, i < 3 ? VET_LOCKSCORE : VET_ESCAPE, "SET %s changes who or where the migration runs as", v);
			return;
		}
	if (w->strict)
		refuse(w, VET_ESCAPE, "SET %s: model output sets lock_timeout only", v);
	else if (strcmp(v, "application_name"))
		refuse(w, VET_SESSION, "SET %s is not allowed in a migration", v);
}

/* check_transaction: model output holds no transaction control (the tool
 * runs the migration in one transaction); two-phase commit is an escape in
 * a person's file too, BEGIN and COMMIT are not. */
static void check_transaction(const struct walk *w, const cJSON *n)
{
	const char *k = sql_jstr(n, "kind");
	bool two_phase = k && (!strcmp(k, "TRANS_STMT_PREPARE") || !strcmp(k, "TRANS_STMT_COMMIT_PREPARED") ||
			       !strcmp(k, "TRANS_STMT_ROLLBACK_PREPARED"));
	if (two_phase)
		refuse(w, VET_LOCKSCORE, "%s", "two-phase commit (PREPARE TRANSACTION, COMMIT or ROLLBACK PREPARED) takes the "
					       "migration out of its transaction");
	else if (w->strict)
		refuse(w, VET_ESCAPE, "%s", "transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT) in model output: the "
					    "tool runs the migration in one transaction");
}

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
		if (!strcmp(last, "set_config"))
			refuse(w, VET_LOCKSCORE, "%s", "set_config() changes a setting of the session the migration runs in");
		else if (bad_function(last) || (w->strict && nm.n > 1 && strcmp(nm.v[0], "pg_catalog") && !schema_ok(w, nm.v[0])))
			refuse(w, VET_OUTSIDE, "the function %s is not allowed in a migration", last);
		strv_release(&nm);
	}
	if (!strcmp(ty, "RangeVar"))
		check_node_rv(w, n);
	if (!strcmp(ty, "VariableSetStmt"))
		check_set(w, n);
	if (!strcmp(ty, "TransactionStmt"))
		check_transaction(w, n);
	if (!strcmp(ty, "DiscardStmt"))
		refuse(w, VET_ESCAPE, "%s", "DISCARD resets the session the migration runs in");
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

/* index_sql: CREATE INDEX for ix, or NULL when a column is neither a
 * column of its table nor one SQL expression */
static char *index_sql(const struct catalog *cat, const struct cat_index *ix, bool concurrently)
{
	char *qt, *qi = qualified(ix->schema, ix->name), *cols;
	char *ts, *tn;
	cat_split_qname(ix->table, &ts, &tn);
	qt = qualified(ts, tn);
	struct buf b = BUF_INIT;
	buf_init(&b);
	const struct cat_table *t = catalog_table(cat, ts, tn);
	bool usable = true;
	for (size_t i = 0; i < ix->columns.n; i++) {
		const char *c = ix->columns.v[i];
		bool plain = strspn(c, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$") == strlen(c);
		bool name = plain || (t && table_column(t, c));
		usable = usable && (name || sql_is_one_expr(c));
		char *q = name ? cat_quote_ident(c) : xasprintf("(%s)", c);
		buf_addf(&b, "%s%s", i ? ", " : "", q);
		free(q);
	}
	cols = buf_detach(&b);
	if (!usable || (ix->method && strspn(ix->method, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(ix->method)) ||
	    (ix->predicate && !sql_is_one_expr(ix->predicate))) {
		free(qi);
		free(qt);
		free(ts);
		free(tn);
		free(cols);
		return NULL;
	}
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
			inv_n(w, index_sql(w->cat, ix, false), (int)ix->columns.n);
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
	forget(w, key, false);
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

/* the column itself, or casts of it: "USING c", "USING c::int" */
static bool casts_column(const cJSON *e, const char *col)
{
	const cJSON *tc = sql_node(e, "TypeCast"), *cr = sql_node(e, "ColumnRef");
	if (tc)
		return casts_column(sql_jget(tc, "arg"), col);
	struct strv nm = STRV_INIT;
	if (cr)
		sql_name_list(sql_jget(cr, "fields"), &nm);
	bool yes = nm.n == 1 && !strcmp(nm.v[0], col);
	strv_release(&nm);
	return yes;
}

/* using_overwrites: ALTER COLUMN TYPE ... USING anything but the column
 * cast writes new values over the old ones */
static void using_overwrites(struct walk *w, const cJSON *cmd, const struct cat_table *t, const char *col)
{
	const cJSON *cd = sql_node(sql_jget(cmd, "def"), "ColumnDef");
	const cJSON *u = sql_jget(cd, "raw_default");
	char *key = xasprintf("col:%s.%s", t->qname, col);
	if (u && !casts_column(u, col) && !created_here(w, key)) {
		destructive(w, xasprintf("ALTER COLUMN %s.%s TYPE ... USING an expression that is not a cast of the "
					 "column overwrites its values",
					 t->qname, col));
		irreversible(w, xasprintf("the old values of %s.%s are replaced by the USING expression", t->qname, col));
	}
	free(key);
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
		if (!sql_jbool(cmd, "missing_ok")) /* IF NOT EXISTS: it may have been there, with data */
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
		using_overwrites(w, cmd, t, name);
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
					  t ? t->qname : sql_jstr(rv, "relname") ? sql_jstr(rv, "relname")
										 : "?"));
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
		sql_name_list(tn ? sql_jget(tn, "names") : fn ? sql_jget(fn, "objname")
							      : o,
			      &nm);
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
				inv_n(w, index_sql(w->cat, ix, concurrent), (int)ix->columns.n);
		} else if (!strcmp(rt, "OBJECT_TABLE")) {
			const struct cat_table *t = catalog_table(w->cat, sch, name);
			char *k = xasprintf("t:%s", q), *cols = xasprintf("col:%s.", q);
			forget(w, cols, true);
			free(cols);
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
				inv_n(w, buf_detach(&b), (int)t->ncols + (t->pk.n ? 1 : 0));
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
				inv_n(w, buf_detach(&b), (int)e->values.n);
				free(qe);
			}
		} else if (!strcmp(rt, "OBJECT_VIEW") || !strcmp(rt, "OBJECT_MATVIEW")) {
			const struct cat_view *v = catalog_view(w->cat, sch, name);
			destructive(w, xasprintf("DROP VIEW %s", q));
			const char *kind = v && v->definition ? sql_query_kind(v->definition) : NULL;
			if (kind && !strcmp(kind, "SelectStmt")) { /* the query (pg_get_viewdef) */
				char *qv = qualified(v->schema, v->name);
				size_t len = strlen(v->definition);
				while (len && strchr(" \t\r\n;", v->definition[len - 1]))
					len--;
				inv(w, xasprintf("CREATE %sVIEW %s AS %.*s\n", v->materialized ? "MATERIALIZED " : "", qv,
						 (int)len, v->definition));
				free(qv);
			} else if (kind) { /* the CREATE VIEW statement a migration wrote */
				size_t len = strlen(v->definition);
				while (len && strchr(" \t\r\n;", v->definition[len - 1]))
					len--;
				inv(w, xasprintf("%.*s\n", (int)len, v->definition)); /* a last -- comment ends */
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

/* track_rename: the keys of created objects follow a RENAME */
static void track_rename(struct walk *w, const char *rt, const cJSON *rv, const char *sub, const char *nw)
{
	char *tq = cat_qname(rel_schema(w, rv), sql_jstr(rv, "relname"));
	char *f = NULL, *t = NULL;
	if (!strcmp(rt, "OBJECT_COLUMN") && sub) {
		f = xasprintf("col:%s.%s", tq, sub);
		t = xasprintf("col:%s.%s", tq, nw);
	} else if (!strcmp(rt, "OBJECT_TABCONSTRAINT") && sub) {
		f = con_key(tq, sub);
		t = con_key(tq, nw);
	} else if (!strcmp(rt, "OBJECT_INDEX")) {
		f = xasprintf("i:%s", tq);
		t = xasprintf("i:%s.%s", rel_schema(w, rv), nw);
	} else if (!strcmp(rt, "OBJECT_TABLE")) {
		char *nq = cat_qname(rel_schema(w, rv), nw);
		renamed_table(w, tq, nq);
		free(nq);
	}
	if (f)
		renamed(w, f, t);
	free(f);
	free(t);
	free(tq);
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
	if (on_rel)
		track_rename(w, rt, rv, sub, nw);
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

/* functions known to do nothing but compute their result: any other
 * function a statement calls when it runs may have effects (write a
 * sequence, a large object, another database, take locks) */
static bool pure_function(const cJSON *funcname)
{
	static const char *const pure[] = {
		"abs", "age", "array_agg", "array_length", "array_position", "array_to_string", "avg", "bool_and",
		"bool_or", "btrim", "cardinality", "ceil", "ceiling", "char_length", "character_length", "coalesce",
		"concat", "concat_ws", "count", "date_part", "date_trunc", "decode", "encode", "extract", "floor",
		"format", "gen_random_uuid", "greatest", "initcap", "json_agg", "json_build_array", "json_build_object",
		"jsonb_agg", "jsonb_build_array", "jsonb_build_object", "jsonb_set", "jsonb_strip_nulls", "least",
		"left", "length", "lower", "lpad", "ltrim", "make_date", "make_interval", "make_timestamp",
		"make_timestamptz", "max", "md5", "min", "mod", "now", "nullif", "octet_length", "position", "power",
		"regexp_match", "regexp_replace", "regexp_split_to_array", "repeat", "replace", "reverse", "right",
		"round", "row_number", "rpad", "rtrim", "sha256", "sign", "split_part", "sqrt", "statement_timestamp",
		"string_agg", "string_to_array", "strpos", "substr", "substring", "sum", "timezone", "to_char",
		"to_date", "to_json", "to_jsonb", "to_number", "to_timestamp", "transaction_timestamp", "translate",
		"trim", "trunc", "unnest", "upper", "uuid_generate_v4", NULL};
	struct strv nm = STRV_INIT;
	sql_name_list(funcname, &nm);
	bool ok = nm.n == 1 || (nm.n == 2 && !strcmp(nm.v[0], "pg_catalog"));
	bool found = false;
	for (int i = 0; ok && pure[i] && !found; i++)
		found = !strcmp(nm.v[nm.n - 1], pure[i]);
	strv_release(&nm);
	return found;
}

static void dml(struct walk *w, const char *type, const cJSON *n);

/* effects: what the parts of a statement do when it runs: a data-modifying
 * statement nested anywhere (a CTE: WITH d AS (DELETE ...)) is judged like
 * one at the top, and a function not known to be pure, called where the
 * statement evaluates it (runtime: in a query or DML; setval anywhere),
 * may destroy or overwrite data. */
static void effects(struct walk *w, const cJSON *n, bool runtime)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, n)
	{
		const char *ty = sql_node_type(c);
		const cJSON *f = ty && isupper((unsigned char)*ty) ? cJSON_GetObjectItemCaseSensitive(c, ty) : NULL;
		if (!f) {
			effects(w, c, runtime);
			continue;
		}
		if (!strcmp(ty, "InsertStmt") || !strcmp(ty, "UpdateStmt") || !strcmp(ty, "DeleteStmt") ||
		    !strcmp(ty, "MergeStmt"))
			dml(w, ty, f);
		if (!strcmp(ty, "FuncCall")) {
			struct strv nm = STRV_INIT;
			sql_name_list(sql_jget(f, "funcname"), &nm);
			const char *last = nm.n ? nm.v[nm.n - 1] : "?";
			if ((runtime && !pure_function(sql_jget(f, "funcname"))) || !strcmp(last, "setval"))
				destructive(w, xasprintf("the function %s may have effects (write a sequence, a large object, "
							 "another database) when the statement runs",
							 last));
			strv_release(&nm);
		}
		bool rt = runtime || !strcmp(ty, "SelectStmt") || !strcmp(ty, "InsertStmt") ||
			  !strcmp(ty, "UpdateStmt") || !strcmp(ty, "DeleteStmt") || !strcmp(ty, "MergeStmt");
		effects(w, f, rt);
	}
}

/* dml: an INSERT, UPDATE, DELETE or MERGE, at the top or nested: what it
 * overwrites or destroys of data that existed before the migration */
static void dml(struct walk *w, const char *type, const cJSON *n)
{
	const cJSON *rv = sql_jget(n, "relation");
	if (!rv || !sql_jstr(rv, "relname"))
		return;
	char *q = cat_qname(rel_schema(w, rv), sql_jstr(rv, "relname"));
	char *k = xasprintf("t:%s", q);
	bool mine = created_here(w, k);
	const cJSON *oc = sql_jget(n, "onConflictClause");
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
	} else if (!strcmp(type, "MergeStmt") && !mine) {
		destructive(w, xasprintf("MERGE may update or delete rows of %s", q));
		irreversible(w, xasprintf("rows MERGE changed in %s keep their new values", q));
	} else if (!strcmp(type, "InsertStmt") && !mine) {
		if (oc && sql_jstr(oc, "action") && !strcmp(sql_jstr(oc, "action"), "ONCONFLICT_UPDATE")) {
			destructive(w, xasprintf("INSERT ... ON CONFLICT DO UPDATE overwrites rows of %s", q));
			irreversible(w, xasprintf("rows of %s overwritten by ON CONFLICT DO UPDATE keep their new values", q));
		}
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

/* guard_of: the form of a statement whose effect depends on what the
 * database held when it ran (IF NOT EXISTS, IF EXISTS, OR REPLACE), or
 * NULL. The DAG says what the history of migrations made, not what
 * production holds: the inverse of such a statement could drop what the
 * forward never created, or recreate what was never there, so it gets none
 * (see the header of nl2mig.c). */
static const char *guard_of(const char *ty, const cJSON *n)
{
	static const struct {
		const char *type, *field, *form;
	} guards[] = {
		{"CreateStmt", "if_not_exists", "CREATE TABLE IF NOT EXISTS"},
		{"IndexStmt", "if_not_exists", "CREATE INDEX IF NOT EXISTS"},
		{"CreateSeqStmt", "if_not_exists", "CREATE SEQUENCE IF NOT EXISTS"},
		{"CreateSchemaStmt", "if_not_exists", "CREATE SCHEMA IF NOT EXISTS"},
		{"CreateExtensionStmt", "if_not_exists", "CREATE EXTENSION IF NOT EXISTS"},
		{"CreateTableAsStmt", "if_not_exists", "CREATE TABLE AS IF NOT EXISTS"},
		{"CreateDomainStmt", "if_not_exists", "CREATE DOMAIN IF NOT EXISTS"},
		{"ViewStmt", "replace", "CREATE OR REPLACE VIEW"},
		{"CreateFunctionStmt", "replace", "CREATE OR REPLACE FUNCTION"},
		{"CreateTrigStmt", "replace", "CREATE OR REPLACE TRIGGER"},
		{"RuleStmt", "replace", "CREATE OR REPLACE RULE"},
		{"DropStmt", "missing_ok", "DROP ... IF EXISTS"},
		{"AlterTableStmt", "missing_ok", "ALTER TABLE IF EXISTS"},
		{"RenameStmt", "missing_ok", "ALTER ... IF EXISTS ... RENAME"},
		{"AlterEnumStmt", "skipIfNewValExists", "ADD VALUE IF NOT EXISTS"},
	};
	for (size_t i = 0; i < sizeof(guards) / sizeof(*guards); i++)
		if (!strcmp(ty, guards[i].type) && sql_jbool(n, guards[i].field))
			return guards[i].form;
	return NULL;
}

/* unguard: a statement (or ALTER TABLE subcommand) in a guarded form loses
 * the inverses it produced from mark on; it is irreversible instead (said
 * unless it had no inverse and said already: said) */
static void unguard(struct walk *w, size_t mark, const char *form, bool said)
{
	if (w->inv.n == mark && said)
		return;
	while (w->inv.n > mark)
		strv_remove(&w->inv, w->inv.n - 1);
	irreversible(w, xasprintf("line %d: %s: what it did depends on what the database held (the DAG may differ "
				  "from production), so the rollback leaves it as it is: undo it by hand once you know",
				  w->st->line, form));
}

static void walk_stmt(struct walk *w, const char *src)
{
	const struct sql_stmt *st = w->st;
	const cJSON *n = st->node;
	const char *ty = st->type;
	struct strv before = STRV_INIT;
	size_t inv_mark = w->inv.n, stmt_mark = w->inv.n, irr_mark = w->m->irreversible.n;
	const char *guard = guard_of(ty, n);
	check_node(w, ty, st->node);
	effects(w, n, !strcmp(ty, "SelectStmt") || !strcmp(ty, "InsertStmt") || !strcmp(ty, "UpdateStmt") || !strcmp(ty, "DeleteStmt") || !strcmp(ty, "MergeStmt") || !strcmp(ty, "CreateTableAsStmt") || !strcmp(ty, "CallStmt"));
	names_of(w->cat, &before);
	if (!strcmp(ty, "VariableSetStmt")) {
		/* the rollback runs under the forward's first lock_timeout (a guard: positive) */
		if (!w->set_lock && sql_jstr(n, "name") && !strcmp(sql_jstr(n, "name"), "lock_timeout") &&
		    positive(sql_jget(n, "args")))
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
			const cJSON *ac = sql_node(c, "AlterTableCmd");
			alter_cmd(w, n, ac, t);
			const char *sub = sql_jstr(ac, "subtype");
			if (sql_jbool(ac, "missing_ok") && sub)
				unguard(w, mark, !strcmp(sub, "AT_AddColumn") ? "ADD COLUMN IF NOT EXISTS" : !strcmp(sub, "AT_DropColumn") ? "DROP COLUMN IF EXISTS"
												     : !strcmp(sub, "AT_DropConstraint")   ? "DROP CONSTRAINT IF EXISTS"
																	   : "ALTER TABLE ... IF [NOT] EXISTS",
					false);
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
	} else if (!strcmp(ty, "MergeStmt") && !w->strict) {
		dml(w, ty, n);
		irreversible(w, xasprintf("line %d: no inverse is known for MergeStmt", st->line));
	} else if (!strcmp(ty, "TruncateStmt")) {
		destructive(w, xstrdup("TRUNCATE destroys every row"));
		irreversible(w, xstrdup("rows removed by TRUNCATE are lost"));
	} else if (w->strict) {
		refuse(w, VET_UNMODELLED, "%s is not on the allow-list of statements a model may write", ty);
	} else if (!strcmp(ty, "DoStmt") || !strcmp(ty, "CallStmt")) {
		destructive(w, xasprintf("%s runs code migsafe cannot read: it may destroy or overwrite anything",
					 !strcmp(ty, "DoStmt") ? "a DO block" : "CALL"));
		irreversible(w, xasprintf("line %d: no inverse is known for %s", st->line, ty));
	} else {
		irreversible(w, xasprintf("line %d: no inverse is known for %s", st->line, ty));
	}
	replay_stmt(&w->rp, w->file, src, st);
	/* objects that appeared: their inverse is a DROP */
	struct strv after = STRV_INIT, fresh = STRV_INIT;
	names_of(w->cat, &after);
	bool moved = !strcmp(ty, "RenameStmt") || !strcmp(ty, "DropStmt");
	for (size_t i = 0; i < after.n; i++)
		if (strv_index(&before, after.v[i]) < 0) {
			strv_push(&fresh, after.v[i]);
			if (!moved && !guard) /* IF NOT EXISTS: it may have been there */
				strv_push(&w->created, after.v[i]);
		}
	/* what disappeared is no longer this migration's (a name reused later
	 * may be something that existed) */
	for (size_t i = 0; i < before.n; i++)
		if (strv_index(&after, before.v[i]) < 0 && strcmp(ty, "RenameStmt"))
			forget(w, before.v[i], false);
	for (size_t i = 0; i < fresh.n && !moved; i++) {
		const char *k = fresh.v[i];
		if (!strncmp(k, "t:", 2)) {
			char *s, *nm;
			cat_split_qname(k + 2, &s, &nm);
			char *q = qualified(s, nm);
			inv(w, xasprintf("DROP TABLE %s", q));
			free(q);
			free(s);
			free(nm);
		} else if (!strncmp(k, "i:", 2) && strcmp(ty, "CreateStmt")) {
			char *s, *nm;
			cat_split_qname(k + 2, &s, &nm);
			char *q = qualified(s, nm);
			inv(w, xasprintf("DROP INDEX %s%s", sql_jbool(n, "concurrent") ? "CONCURRENTLY " : "", q));
			free(q);
			free(s);
			free(nm);
		} else if (!strncmp(k, "c:", 2) && strcmp(ty, "CreateStmt")) {
			const char *slash = strrchr(k, '/');
			char *tq = xstrndup(k + 2, (size_t)(slash - k - 2)), *s, *nm;
			cat_split_qname(tq, &s, &nm);
			char *q = qualified(s, nm), *qc = cat_quote_ident(slash + 1);
			inv(w, xasprintf("ALTER TABLE %s DROP CONSTRAINT %s", q, qc));
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
		inv(w, xasprintf("DROP %s %s", !strcmp(ty, "ViewStmt") ? "VIEW" : !strcmp(ty, "CreateSeqStmt") ? "SEQUENCE"
													       : "TYPE",
				 q));
		free(q);
		strv_release(&nm);
	}
	if (guard)
		unguard(w, stmt_mark, guard, w->m->irreversible.n > irr_mark);
	/* each unit's inverses were written in the order they run; the
	 * whole list is read backwards at the end */
	reverse_from(&w->inv, inv_mark < w->inv.n ? inv_mark : w->inv.n);
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
	/* of[k]: the forward statement inverse k undoes (a statement's
	 * inverses are only reordered or removed while it is walked) */
	size_t *of = NULL, of_cap = 0, of_n = 0;
	for (size_t i = 0; i < s.n; i++) {
		w.st = &s.stmts[i];
		w.st_index = i;
		walk_stmt(&w, m->forward);
		xgrow(&of, &of_cap, w.inv.n + 1, sizeof(*of));
		for (; of_n < w.inv.n; of_n++)
			of[of_n] = i;
		char *t = sql_stmt_text(&s, &s.stmts[i]);
		buf_addf(&fwd, "%s;\n", t);
		free(t);
	}
	struct buf rb = BUF_INIT;
	buf_init(&rb);
	cJSON_Delete(m->rollback_of);
	m->rollback_of = cJSON_CreateArray();
	if (w.set_lock) {
		buf_addf(&rb, "%s;\n", w.set_lock);
		cJSON_AddItemToArray(m->rollback_of, cJSON_CreateNumber(-1));
	}
	for (size_t i = w.inv.n; i > 0; i--) {
		buf_addf(&rb, "%s;\n", w.inv.v[i - 1]);
		cJSON_AddItemToArray(m->rollback_of, cJSON_CreateNumber((double)of[i - 1]));
	}
	free(of);
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
	struct msg_err err = MSG_ERR_INIT;
	if (replay_sql(&rp, file, a, &err) < 0 || (b && replay_sql(&rp, file, b, &err) < 0))
		die_err(&err);
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
