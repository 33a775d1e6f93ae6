/*
 * post: what comes after the rows. pg_dump's post-data section (indexes,
 * primary and unique keys, foreign keys, triggers, rules, policies) and
 * ANALYZE, spread over --jobs sessions on the shadow the way pg_restore -j
 * does: each table's indexes and keys are built on one session, tables in
 * parallel (largest first, as they come); then every other statement, in the
 * script's order, on the main session (a foreign key needs its referenced
 * key, and two foreign keys added at once can deadlock); foreign keys are
 * added NOT VALID there and validated afterwards, tables in parallel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "mkshadow.h"
#include "msg.h"
#include "sql.h"
#include "xalloc.h"

struct post {
	const struct shadow *s;
	PGconn **conns;	   /* one per worker */
	struct strv table; /* task -> table */
	struct strv *stmts; /* task -> its statements, in order */
	struct strv settings; /* SET / set_config: run on every session first */
	bool *prepared;
};

static void run_sql(PGconn *c, const char *sql, const char *what)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
		char *m = db_redact_url(PQresultErrorMessage(res));
		m[strcspn(m, "\n")] = '\0';
		pool_fatal(EXIT_RUNTIME, "error: %s: %s", what, m);
	}
	PQclear(res);
}

/* parallel_table: the table whose index or key st builds, or NULL when the
 * statement is not one that runs in parallel. */
static char *parallel_table(const struct sql_stmt *st)
{
	const cJSON *rel = sql_jget(st->node, "relation");
	if (!strcmp(st->type, "IndexStmt")) {
		if (sql_jbool(st->node, "concurrent"))
			return NULL;
	} else if (!strcmp(st->type, "AlterTableStmt")) {
		const cJSON *cmds = sql_jget(st->node, "cmds");
		if (cJSON_GetArraySize(cmds) != 1)
			return NULL;
		const cJSON *cmd = sql_node(cJSON_GetArrayItem(cmds, 0), "AlterTableCmd");
		const char *sub = sql_jstr(cmd, "subtype");
		const cJSON *con = sql_node(sql_jget(cmd, "def"), "Constraint");
		const char *ct = sql_jstr(con, "contype");
		if (!sub || strcmp(sub, "AT_AddConstraint") || !ct ||
		    (strcmp(ct, "CONSTR_PRIMARY") && strcmp(ct, "CONSTR_UNIQUE") && strcmp(ct, "CONSTR_EXCLUSION")))
			return NULL;
	} else {
		return NULL;
	}
	const char *sch = sql_jstr(rel, "schemaname"), *name = sql_jstr(rel, "relname");
	return name ? xasprintf("%s.%s", sch ? sch : "", name) : NULL;
}

static bool is_setting(const struct sql_stmt *st, const char *text)
{
	return !strcmp(st->type, "VariableSetStmt") ||
	       (!strcmp(st->type, "SelectStmt") && strstr(text, "set_config(") && !strstr(text, " FROM "));
}

static void prepare(struct post *p, int worker)
{
	if (p->prepared[worker])
		return;
	for (size_t i = 0; i < p->settings.n; i++)
		run_sql(p->conns[worker], p->settings.v[i], "indexes and constraints (post-data)");
	p->prepared[worker] = true;
}

static void build_table(void *ctx, int worker, size_t task)
{
	struct post *p = ctx;
	prepare(p, worker);
	for (size_t i = 0; i < p->stmts[task].n; i++)
		run_sql(p->conns[worker], p->stmts[task].v[i], "indexes and constraints (post-data)");
}

/* fk_validation: for a foreign key the script adds validated (ALTER TABLE
 * t ADD CONSTRAINT c FOREIGN KEY ...), "ALTER TABLE t VALIDATE CONSTRAINT
 * c" and its table into *table; NULL otherwise. */
static char *fk_validation(PGconn *c, const struct sql_stmt *st, char **table)
{
	if (strcmp(st->type, "AlterTableStmt"))
		return NULL;
	const cJSON *cmds = sql_jget(st->node, "cmds");
	const cJSON *cmd = cJSON_GetArraySize(cmds) == 1 ? sql_node(cJSON_GetArrayItem(cmds, 0), "AlterTableCmd") : NULL;
	const cJSON *con = sql_node(sql_jget(cmd, "def"), "Constraint");
	const char *sub = sql_jstr(cmd, "subtype"), *ct = sql_jstr(con, "contype"), *name = sql_jstr(con, "conname");
	const cJSON *rel = sql_jget(st->node, "relation");
	const char *sch = sql_jstr(rel, "schemaname"), *rn = sql_jstr(rel, "relname");
	if (!sub || strcmp(sub, "AT_AddConstraint") || !ct || strcmp(ct, "CONSTR_FOREIGN") || !name || !rn ||
	    !sql_jbool(con, "initially_valid"))
		return NULL;
	char *qs = sch ? db_quote_ident(c, sch) : NULL, *qr = db_quote_ident(c, rn), *qc = db_quote_ident(c, name);
	*table = xasprintf("%s%s%s", qs ? qs : "", qs ? "." : "", qr);
	char *sql = xasprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s", *table, qc);
	free(qs), free(qr), free(qc);
	return sql;
}

/* group_add: text (taken) to the statements of table's task. */
static void group_add(struct post *p, size_t *cap, const char *table, char *text)
{
	long k = strv_index(&p->table, table);
	if (k < 0) {
		k = (long)p->table.n;
		strv_push(&p->table, table);
		xgrow(&p->stmts, cap, p->table.n, sizeof(*p->stmts));
		p->stmts[k] = (struct strv)STRV_INIT;
	}
	strv_push_take(&p->stmts[k], text);
}

/* run_groups: every table's statements, tables in parallel on up to jobs
 * sessions (the main one and more); seconds taken. */
static double run_groups(struct post *p, int jobs)
{
	if (!p->table.n)
		return 0;
	int n = jobs < (int)p->table.n ? jobs : (int)p->table.n;
	p->conns = xcalloc((size_t)n, sizeof(PGconn *));
	p->prepared = xcalloc((size_t)n, sizeof(bool));
	p->conns[0] = p->s->conn;
	for (int i = 1; i < n; i++)
		p->conns[i] = shadow_connect(p->s);
	double t0 = now_ms();
	pool_run(n, p->table.n, build_table, p);
	for (int i = 1; i < n; i++)
		db_close(p->conns[i]);
	return (now_ms() - t0) / 1000;
}

static void post_release(struct post *p)
{
	for (size_t i = 0; i < p->table.n; i++)
		strv_release(&p->stmts[i]);
	free(p->stmts), free(p->conns), free(p->prepared);
	strv_release(&p->table), strv_release(&p->settings);
}

void post_data(const struct shadow *s, const char *script, int jobs, bool progress)
{
	struct sql_script sc;
	struct sql_error err;
	if (sql_parse(&sc, script, &err) < 0)
		pool_fatal(EXIT_RUNTIME, "error: pg_dump's post-data script does not parse: line %d: %s", err.line,
			 err.message);
	struct post p = {s, NULL, STRV_INIT, NULL, STRV_INIT, NULL}, v = p;
	struct strv rest = STRV_INIT;
	size_t cap = 0, vcap = 0;
	for (size_t i = 0; i < sc.n; i++) {
		char *text = sql_stmt_text(&sc, &sc.stmts[i]), *vt = NULL, *validate = NULL;
		char *table = jobs > 1 ? parallel_table(&sc.stmts[i]) : NULL;
		if (is_setting(&sc.stmts[i], text)) {
			strv_push(&p.settings, text);
			strv_push(&v.settings, text);
		}
		if (table) {
			group_add(&p, &cap, table, text);
		} else if (jobs > 1 && (validate = fk_validation(s->conn, &sc.stmts[i], &vt))) {
			/* added NOT VALID in the script's order (no scan, no lock on
			 * the referenced table beyond a moment), validated after, one
			 * table per session: VALIDATE takes SHARE UPDATE EXCLUSIVE on
			 * its table and ROW SHARE on the referenced one, which do not
			 * conflict across tables */
			strv_push_take(&rest, xasprintf("%s\nNOT VALID", text));
			group_add(&v, &vcap, vt, validate);
			free(text), free(vt);
		} else {
			strv_push_take(&rest, text);
		}
		free(table);
	}
	sql_script_release(&sc);
	double secs = run_groups(&p, jobs);
	if (progress && p.table.n)
		fprintf(stderr, "\r\033[K%s: indexes and keys of %zu tables on %d sessions: %.1f s\n", msg_prog(),
			p.table.n, jobs < (int)p.table.n ? jobs : (int)p.table.n, secs);
	for (size_t i = 0; i < rest.n; i++)
		run_sql(s->conn, rest.v[i], "indexes and constraints (post-data)");
	secs = run_groups(&v, jobs);
	if (progress && v.table.n)
		fprintf(stderr, "\r\033[K%s: foreign keys of %zu tables validated on %d sessions: %.1f s\n", msg_prog(),
			v.table.n, jobs < (int)v.table.n ? jobs : (int)v.table.n, secs);
	/* a script can leave search_path empty (pg_dump does) */
	db_exec(s->conn, "RESET search_path");
	post_release(&p), post_release(&v);
	strv_release(&rest);
}

struct an {
	PGconn **conns;
	struct strv sql;
};

static void analyze_one(void *ctx, int worker, size_t task)
{
	struct an *a = ctx;
	run_sql(a->conns[worker], a->sql.v[task], "ANALYZE");
}

void analyze(const struct shadow *s, int jobs)
{
	if (jobs <= 1 && !s->schema) {
		db_exec(s->conn, "ANALYZE");
		return;
	}
	/* the largest first, so the last to finish is a small one; a schema
	 * shadow's own tables only (the database is not ours) */
	const char *params[] = {s->schema};
	PGresult *res = db_query(s->conn,
				 "SELECT format('ANALYZE %I.%I', n.nspname, c.relname) AS sql FROM pg_class c "
				 "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm', 'p') "
				 "AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' "
				 "AND ($1::text IS NULL OR n.nspname = $1) "
				 "ORDER BY pg_relation_size(c.oid) DESC, 1",
				 1, params);
	struct an a = {NULL, STRV_INIT};
	for (int i = 0; i < PQntuples(res); i++)
		strv_push(&a.sql, db_get(res, i, "sql"));
	PQclear(res);
	int n = jobs < (int)a.sql.n ? jobs : (int)a.sql.n;
	if (n < 1)
		n = 1;
	a.conns = xcalloc((size_t)n, sizeof(PGconn *));
	a.conns[0] = s->conn;
	for (int i = 1; i < n; i++)
		a.conns[i] = shadow_connect(s);
	pool_run(n, a.sql.n, analyze_one, &a);
	for (int i = 1; i < n; i++)
		db_close(a.conns[i]);
	free(a.conns);
	strv_release(&a.sql);
}
