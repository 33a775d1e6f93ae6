/*
 * post: what comes after the rows. pg_dump's post-data section (indexes,
 * primary and unique keys, foreign keys, triggers, rules, policies) and
 * ANALYZE, spread over --jobs sessions on the shadow the way pg_restore -j
 * does: indexes and primary and unique keys are built in parallel, each
 * statement on the next free session, the largest tables first (the largest
 * table's indexes were the tail when a table went to one session); two
 * statements never wait for each other's lock: a CREATE INDEX (SHARE) runs
 * beside another of the same table, an ALTER TABLE ADD CONSTRAINT (ACCESS
 * EXCLUSIVE) alone on its table. Then every other statement, in the
 * script's order, on the main session (a foreign key needs its referenced
 * key, and two foreign keys added at once can deadlock); foreign keys are
 * added NOT VALID there and validated afterwards, tables in parallel.
 */
#include <pthread.h>
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
	PGconn **conns;	      /* one per worker */
	struct strv table;    /* task -> table */
	struct strv *stmts;   /* task -> its statements, in order */
	bool *excl;	      /* task -> it takes a lock no other task of its table may hold */
	struct strv settings; /* SET / set_config: run on every session first */
	bool *prepared;
	/* scheduling: tasks largest table first; a task starts when no
	 * running task's lock conflicts with its own */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t *order;
	bool *started;
	struct strv tables;	 /* distinct tables */
	size_t *tid;		 /* task -> index in tables */
	int *shared, *exclusive; /* table -> running tasks of each kind */
};

static void run_sql(PGconn *c, const char *sql, const char *what)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
		char *m = db_redact_url(PQresultErrorMessage(res));
		m[strcspn(m, "\n")] = '\0';
		pool_fatal(EXIT_RUNTIME, "%s: %s", what, m);
	}
	PQclear(res);
}

/* quoted_name: schema.name, each quoted (the schema left out when
 * NULL); caller frees. */
static char *quoted_name(PGconn *c, const char *sch, const char *name)
{
	char *qs = sch ? db_quote_ident_or_die(c, sch) : NULL, *qn = db_quote_ident_or_die(c, name);
	char *q = xasprintf("%s%s%s", qs ? qs : "", qs ? "." : "", qn);
	free(qs), free(qn);
	return q;
}

/* parallel_table: the table (quoted) whose index or key st builds, or NULL
 * when the statement is not one that runs in parallel. */
static char *parallel_table(PGconn *c, const struct sql_stmt *st)
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
	return name ? quoted_name(c, sch, name) : NULL;
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

/* runnable: whether task k's lock conflicts with no running task's. */
static bool runnable(const struct post *p, size_t k)
{
	size_t t = p->tid[k];
	return !p->exclusive[t] && (!p->excl[k] || !p->shared[t]);
}

/* build_one: the first task (largest table first) that can start; run
 * it. pool_run calls this once per task, so every task runs once. */
static void build_one(void *ctx, int worker, size_t unused)
{
	(void)unused;
	struct post *p = ctx;
	prepare(p, worker);
	pthread_mutex_lock(&p->mu);
	size_t k;
	for (;;) {
		size_t i;
		for (i = 0; i < p->table.n; i++)
			if (!p->started[p->order[i]] && runnable(p, p->order[i]))
				break;
		if (i < p->table.n) {
			k = p->order[i];
			break;
		}
		pthread_cond_wait(&p->cv, &p->mu); /* a running task ends */
	}
	p->started[k] = true;
	(p->excl[k] ? p->exclusive : p->shared)[p->tid[k]]++;
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->stmts[k].n; i++)
		run_sql(p->conns[worker], p->stmts[k].v[i], "indexes and constraints (post-data)");
	pthread_mutex_lock(&p->mu);
	(p->excl[k] ? p->exclusive : p->shared)[p->tid[k]]--;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
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
	char *qc = db_quote_ident_or_die(c, name);
	*table = quoted_name(c, sch, rn);
	char *sql = xasprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s", *table, qc);
	free(qc);
	return sql;
}

/* task_add: text (taken) as a task of its own on table; excl: it takes
 * ACCESS EXCLUSIVE (or another self-conflicting lock) on it. */
static void task_add(struct post *p, size_t *cap, const char *table, char *text, bool excl)
{
	size_t k = p->table.n;
	strv_push(&p->table, table);
	xgrow(&p->stmts, cap, p->table.n, sizeof(*p->stmts));
	p->excl = xrealloc(p->excl, p->table.n * sizeof(*p->excl));
	p->stmts[k] = (struct strv)STRV_INIT;
	p->excl[k] = excl;
	strv_push_take(&p->stmts[k], text);
}

/* group_add: text (taken) to the statements of table's one task, which
 * runs alone on its table. */
static void group_add(struct post *p, size_t *cap, const char *table, char *text)
{
	long k = strv_index(&p->table, table);
	if (k < 0)
		task_add(p, cap, table, text, true);
	else
		strv_push_take(&p->stmts[k], text);
}

struct by_size {
	double size;
	size_t task;
};

static int larger_first(const void *a, const void *b)
{
	const struct by_size *x = a, *y = b;
	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return x->task < y->task ? -1 : x->task > y->task;
}

/* sizes_order: the tasks in order of their table's size in the shadow,
 * largest first (stable: the script's order among equals); fills tid and
 * tables. */
static size_t *sizes_order(struct post *p)
{
	for (size_t k = 0; k < p->table.n; k++) {
		p->tid[k] = (size_t)strv_index(&p->tables, p->table.v[k]);
		if (p->tid[k] == (size_t)-1) {
			p->tid[k] = p->tables.n;
			strv_push(&p->tables, p->table.v[k]);
		}
	}
	double *size = xcalloc(p->tables.n, sizeof(*size));
	for (size_t t = 0; t < p->tables.n; t++) {
		const char *params[] = {p->tables.v[t]};
		PGresult *res = db_query_or_die(p->s->conn, "SELECT coalesce(pg_relation_size(to_regclass($1)), 0)", 1, params);
		size[t] = PQntuples(res) ? atof(PQgetvalue(res, 0, 0)) : 0;
		PQclear(res);
	}
	struct by_size *v = xcalloc(p->table.n, sizeof(*v));
	for (size_t k = 0; k < p->table.n; k++)
		v[k] = (struct by_size){size[p->tid[k]], k};
	qsort(v, p->table.n, sizeof(*v), larger_first);
	size_t *order = xcalloc(p->table.n, sizeof(*order));
	for (size_t k = 0; k < p->table.n; k++)
		order[k] = v[k].task;
	free(v);
	free(size);
	return order;
}

/* run_tasks: every task, in parallel on up to jobs sessions (the main one
 * and more); seconds taken. */
static double run_tasks(struct post *p, int jobs)
{
	if (!p->table.n)
		return 0;
	int n = jobs < (int)p->table.n ? jobs : (int)p->table.n;
	p->conns = xcalloc((size_t)n, sizeof(PGconn *));
	p->prepared = xcalloc((size_t)n, sizeof(bool));
	p->started = xcalloc(p->table.n, sizeof(bool));
	p->tid = xcalloc(p->table.n, sizeof(size_t));
	p->order = sizes_order(p);
	p->shared = xcalloc(p->tables.n, sizeof(int));
	p->exclusive = xcalloc(p->tables.n, sizeof(int));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->conns[0] = p->s->conn;
	for (int i = 1; i < n; i++)
		p->conns[i] = shadow_connect(p->s);
	double t0 = now_ms();
	pool_run(n, p->table.n, build_one, p);
	for (int i = 1; i < n; i++)
		db_close(p->conns[i]);
	return (now_ms() - t0) / 1000;
}

static void post_release(struct post *p)
{
	for (size_t i = 0; i < p->table.n; i++)
		strv_release(&p->stmts[i]);
	free(p->stmts), free(p->conns), free(p->prepared), free(p->excl);
	free(p->order), free(p->started), free(p->tid), free(p->shared), free(p->exclusive);
	if (p->order) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
	}
	strv_release(&p->table), strv_release(&p->settings), strv_release(&p->tables);
}

void post_data(const struct shadow *s, const char *script, int jobs, bool progress)
{
	struct sql_script sc;
	struct sql_error err;
	if (sql_parse(&sc, script, &err) < 0)
		pool_fatal(EXIT_RUNTIME, "pg_dump's post-data script does not parse: line %d: %s", err.line,
			   err.message);
	struct post p = {.s = s, .table = STRV_INIT, .settings = STRV_INIT, .tables = STRV_INIT}, v = p;
	struct strv rest = STRV_INIT;
	size_t cap = 0, vcap = 0;
	for (size_t i = 0; i < sc.n; i++) {
		char *text = sql_stmt_text(&sc, &sc.stmts[i]), *vt = NULL, *validate = NULL;
		char *table = jobs > 1 ? parallel_table(s->conn, &sc.stmts[i]) : NULL;
		if (is_setting(&sc.stmts[i], text)) {
			strv_push(&p.settings, text);
			strv_push(&v.settings, text);
		}
		if (table) {
			task_add(&p, &cap, table, text, strcmp(sc.stmts[i].type, "IndexStmt") != 0);
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
	double secs = run_tasks(&p, jobs);
	if (progress && p.table.n)
		fprintf(stderr, "\r\033[K%s: %zu indexes and keys of %zu tables on %d sessions: %.1f s\n", msg_prog(),
			p.table.n, p.tables.n, jobs < (int)p.table.n ? jobs : (int)p.table.n, secs);
	for (size_t i = 0; i < rest.n; i++)
		run_sql(s->conn, rest.v[i], "indexes and constraints (post-data)");
	secs = run_tasks(&v, jobs);
	if (progress && v.table.n)
		fprintf(stderr, "\r\033[K%s: foreign keys of %zu tables validated on %d sessions: %.1f s\n", msg_prog(),
			v.table.n, jobs < (int)v.table.n ? jobs : (int)v.table.n, secs);
	/* a script can leave search_path empty (pg_dump does) */
	db_exec_or_die(s->conn, "RESET search_path");
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
		db_exec_or_die(s->conn, "ANALYZE");
		return;
	}
	/* the largest first, so the last to finish is a small one; a schema
	 * shadow's own tables only (the database is not ours) */
	const char *params[] = {s->schema};
	PGresult *res = db_query_or_die(s->conn,
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
