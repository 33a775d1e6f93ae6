/*
 * replay_code: functions, triggers and domains. A PL/pgSQL function is
 * kept with the tables its body writes (the targets of the INSERT, UPDATE,
 * DELETE and MERGE statements embedded in it, each parsed by the SQL
 * parser); a trigger copies them from its function, so that lockscore
 * knows which tables a DML statement also locks when the trigger fires.
 * A domain is kept with its constraints, which make ADD COLUMN rewrite.
 */
#include "replay_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* ---- functions ---- */

static bool is_dml(const char *type)
{
	return !strcmp(type, "InsertStmt") || !strcmp(type, "UpdateStmt") || !strcmp(type, "DeleteStmt") ||
	       !strcmp(type, "MergeStmt");
}

/* The target of every DML statement anywhere in n (data-modifying CTEs
 * included), as qnames into writes. */
static void dml_targets(const struct replay_ctx *x, const cJSON *n, struct strv *writes)
{
	for (const cJSON *c = n ? n->child : NULL; c; c = c->next) {
		if (c->string && is_dml(c->string) && sql_jget(c, "relation")) {
			char *q = rx_rel_qname(x, sql_jget(c, "relation"));
			if (strv_index(writes, q) < 0)
				strv_push(writes, q);
			free(q);
		}
		if (cJSON_IsObject(c) || cJSON_IsArray(c))
			dml_targets(x, c, writes);
	}
}

/* The tables a PL/pgSQL body writes. Dynamic SQL (EXECUTE) cannot be
 * followed: what it writes is not known. */
static void body_writes(const struct replay_ctx *x, const char *function_sql, struct strv *writes)
{
	struct strv queries = STRV_INIT;
	bool dynamic;
	char *error;
	if (rx_plpgsql_queries(function_sql, &queries, &dynamic, &error) < 0) {
		free(error); /* PostgreSQL checks bodies at creation: warned there */
		return;
	}
	for (size_t i = 0; i < queries.n; i++) {
		struct sql_script s;
		struct sql_error err;
		if (sql_parse(&s, queries.v[i], &err) < 0) {
			sql_error_release(&err);
			continue;
		}
		for (size_t k = 0; k < s.n; k++) {
			cJSON *top = cJSON_CreateObject(); /* the statement as a node, so its own target counts */
			cJSON_AddItemReferenceToObject(top, s.stmts[k].type, (cJSON *)s.stmts[k].node);
			dml_targets(x, top, writes);
			cJSON_Delete(top);
		}
		sql_script_release(&s);
	}
	strv_release(&queries);
}

/* funcname list: the function's schema (search_path when unqualified) and name. */
static const char *func_schema(const struct replay_ctx *x, const struct strv *names)
{
	return names->n > 1 ? names->v[names->n - 2] : x->r->search_schema;
}

void rx_function_stmt(struct replay_ctx *x, const cJSON *n, const char *function_sql)
{
	struct strv names = STRV_INIT;
	sql_name_list(sql_jget(n, "funcname"), &names);
	if (names.n) {
		struct cat_function *f =
			catalog_add_function(x->r->cat, func_schema(x, &names), names.v[names.n - 1]);
		body_writes(x, function_sql, &f->writes);
		catalog_function_done(x->r->cat, f);
	}
	strv_release(&names);
}

/* ---- triggers ---- */

/* CreateTrigStmt.timing and .events are PostgreSQL's TRIGGER_TYPE_* bits. */
enum { TT_BEFORE = 2,
       TT_INSERT = 4,
       TT_DELETE = 8,
       TT_UPDATE = 16,
       TT_TRUNCATE = 32,
       TT_INSTEAD = 64 };

static void set_trigger_kind(struct cat_trigger *tg, const cJSON *n)
{
	long timing = sql_jint(n, "timing"), events = sql_jint(n, "events");
	free(tg->timing);
	tg->timing = xstrdup(timing & TT_INSTEAD ? "instead of" : timing & TT_BEFORE ? "before"
										     : "after");
	free(tg->level);
	tg->level = xstrdup(sql_jbool(n, "row") ? "row" : "statement");
	if (events & TT_INSERT)
		strv_push(&tg->events, "insert");
	if (events & TT_UPDATE)
		strv_push(&tg->events, "update");
	if (events & TT_DELETE)
		strv_push(&tg->events, "delete");
	if (events & TT_TRUNCATE)
		strv_push(&tg->events, "truncate");
	sql_name_list(sql_jget(n, "columns"), &tg->columns);
}

void rx_trigger_stmt(struct replay_ctx *x, const cJSON *n)
{
	const cJSON *rv = sql_jget(n, "relation");
	struct cat_table *t = rx_table(x, rv);
	const char *name = sql_jstr(n, "trigname");
	if (!t || !name) {
		if (!rx_view(x, rv) && !rx_is_temp(x, rv))
			rx_warn(x, "CREATE TRIGGER: relation \"%s\" does not exist", sql_jstr(rv, "relname"));
		return; /* triggers on views (INSTEAD OF) are not modelled */
	}
	struct strv fn = STRV_INIT;
	sql_name_list(sql_jget(n, "funcname"), &fn);
	const char *fname = fn.n ? fn.v[fn.n - 1] : "?";
	struct cat_function *f = catalog_function(x->r->cat, func_schema(x, &fn), fname);
	if (!f && fn.n == 1)
		f = catalog_function(x->r->cat, "public", fname);
	struct cat_trigger *tg = table_add_trigger(t, name);
	set_trigger_kind(tg, n);
	free(tg->function);
	tg->function = f ? xstrdup(f->qname) : cat_qname(func_schema(x, &fn), fname);
	for (size_t i = 0; f && i < f->writes.n; i++)
		strv_push(&tg->writes, f->writes.v[i]);
	strv_release(&fn);
}

int rx_drop_trigger(struct replay_ctx *x, const struct strv *names)
{
	if (names->n < 2)
		return -1;
	struct strv rel = STRV_INIT;
	for (size_t i = 0; i + 1 < names->n; i++)
		strv_push(&rel, names->v[i]);
	struct cat_table *t = rx_table_names(x, &rel);
	strv_release(&rel);
	return t && table_drop_trigger(t, names->v[names->n - 1]) == 0 ? 1 : 0;
}

/* ---- domains ---- */

static struct cat_domain *domain_by_names(const struct replay_ctx *x, const struct strv *names)
{
	if (!names->n)
		return NULL;
	struct cat_domain *d = catalog_domain(x->r->cat, func_schema(x, names), names->v[names->n - 1]);
	if (!d && names->n == 1)
		d = catalog_domain(x->r->cat, "public", names->v[0]);
	return d;
}

/* A CHECK's name: given, or <domain>_check made unique as PostgreSQL's
 * ChooseConstraintName does. */
static char *check_name(struct replay_ctx *x, struct cat_domain *d, const char *given)
{
	if (given)
		return xstrdup(given);
	for (int pass = 0;; pass++) {
		char label[32];
		snprintf(label, sizeof(label), pass ? "check%d" : "check", pass);
		char *nm = catalog_choose_conname(x->r->cat, d->schema, d->name, NULL, label);
		if (strv_index(&d->check_names, nm) < 0)
			return nm;
		free(nm);
	}
}

static void domain_constraint(struct replay_ctx *x, struct cat_domain *d, const cJSON *con)
{
	const char *ct = sql_jstr(con, "contype");
	if (!ct)
		return;
	if (!strcmp(ct, "CONSTR_NOTNULL")) {
		d->not_null = true;
	} else if (!strcmp(ct, "CONSTR_NULL")) {
		d->not_null = false;
	} else if (!strcmp(ct, "CONSTR_CHECK")) {
		strv_push_take(&d->check_names, check_name(x, d, sql_jstr(con, "conname")));
		strv_push_take(&d->checks, sql_deparse_expr(sql_jget(con, "raw_expr"), x->src));
	}
}

void rx_domain_stmt(struct replay_ctx *x, const cJSON *n)
{
	struct strv names = STRV_INIT;
	sql_name_list(sql_jget(n, "domainname"), &names);
	if (!names.n || catalog_domain(x->r->cat, func_schema(x, &names), names.v[names.n - 1])) {
		if (names.n)
			rx_warn(x, "type \"%s\" already exists", names.v[names.n - 1]);
		strv_release(&names);
		return;
	}
	struct cat_domain *d = catalog_add_domain(x->r->cat, func_schema(x, &names), names.v[names.n - 1]);
	free(d->base_type);
	d->base_type = sql_format_type(sql_jget(n, "typeName"), NULL);
	const cJSON *con;
	cJSON_ArrayForEach(con, sql_jget(n, "constraints"))
		domain_constraint(x, d, sql_node(con, "Constraint"));
	strv_release(&names);
}

static void drop_domain_check(struct replay_ctx *x, struct cat_domain *d, const cJSON *n)
{
	const char *name = sql_jstr(n, "name");
	long at = name ? strv_index(&d->check_names, name) : -1;
	if (at < 0) {
		if (!sql_jbool(n, "missing_ok"))
			rx_warn(x, "constraint \"%s\" of domain %s does not exist", name ? name : "?", d->qname);
		return;
	}
	strv_remove(&d->check_names, (size_t)at);
	strv_remove(&d->checks, (size_t)at);
}

/* ALTER DOMAIN: SET/DROP NOT NULL (O/N), ADD/DROP CONSTRAINT (C/X);
 * DEFAULT (T) and VALIDATE (V) change nothing the DAG describes. */
void rx_alter_domain_stmt(struct replay_ctx *x, const cJSON *n)
{
	struct strv names = STRV_INIT;
	sql_name_list(sql_jget(n, "typeName"), &names);
	struct cat_domain *d = domain_by_names(x, &names);
	const char *sub = sql_jstr(n, "subtype");
	if (!d || !sub) {
		rx_warn(x, "ALTER DOMAIN: domain \"%s\" does not exist", names.n ? names.v[names.n - 1] : "?");
		strv_release(&names);
		return;
	}
	if (sub[0] == 'O')
		d->not_null = true;
	else if (sub[0] == 'N')
		d->not_null = false;
	else if (sub[0] == 'C')
		domain_constraint(x, d, sql_node(sql_jget(n, "def"), "Constraint"));
	else if (sub[0] == 'X')
		drop_domain_check(x, d, n);
	strv_release(&names);
}

int rx_drop_domain(struct replay_ctx *x, const struct strv *names, bool cascade)
{
	struct cat_domain *d = domain_by_names(x, names);
	if (!d)
		return 0;
	if (cascade) {
		char *ty = cat_type_name(d->schema, d->name, false);
		rx_drop_columns_of_type(x, ty);
		free(ty);
	}
	catalog_drop_domain(x->r->cat, d);
	return 1;
}
