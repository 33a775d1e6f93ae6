/*
 * pgwatch: PostgreSQL as a metric source, on a read-only connection with a
 * statement_timeout: the longest lock wait caused by the migration and the
 * error rate (xact_rollback per second); following the migration's backend;
 * cancelling it (the only write-like call, made only on the rollback
 * connection, which exists only with --auto-rollback --pitr-enabled).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "metricwatch.h"
#include "msg.h"
#include "sql.h"
#include "xalloc.h"

/* query: like db_query, but a failure is returned (NULL), not fatal: a
 * watcher that dies on one slow catalog query would abandon a deploy. */
static PGresult *query(PGconn *c, const char *sql, int n, const char *const *params)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return r;
	char *msg = db_redact_url(r ? PQresultErrorMessage(r) : PQerrorMessage(c));
	msg[strcspn(msg, "\n")] = '\0';
	warning("PostgreSQL: %s", msg);
	free(msg);
	PQclear(r);
	if (PQstatus(c) == CONNECTION_BAD)
		PQreset(c);
	return NULL;
}

/* collect_rangevars: every table named in a parse tree. A RangeVar is
 * wrapped ({"RangeVar":{...}}) where the field is a Node and bare where it
 * is typed (AlterTableStmt.relation): either way, an object with relname. */
static void collect_rangevars(const cJSON *n, struct strv *out)
{
	const char *rel = cJSON_IsObject(n) ? sql_jstr(n, "relname") : NULL;
	if (rel) {
		const char *sch = sql_jstr(n, "schemaname");
		char *q = xasprintf("%s\x1f%s", sch ? sch : "", rel);
		if (strv_index(out, q) < 0)
			strv_push(out, q);
		free(q);
	}
	for (const cJSON *k = n ? n->child : NULL; k; k = k->next)
		if (cJSON_IsObject(k) || cJSON_IsArray(k))
			collect_rangevars(k, out);
}

/* pgw_resolve_tables: the OIDs of the existing tables the forward SQL
 * names (tables it creates do not exist yet and cannot be waited on). */
int pgw_resolve_tables(struct watch *w)
{
	struct sql_script s;
	struct sql_error err;
	struct strv names = STRV_INIT;
	if (sql_parse(&s, w->forward, &err) < 0) {
		error_at(w->id, err.line, "forward SQL: %s", err.message);
		sql_error_release(&err);
		return -1;
	}
	collect_rangevars(s.tree, &names);
	sql_script_release(&s);
	w->table_oids = xcalloc(names.n + 1, sizeof(unsigned));
	for (size_t i = 0; i < names.n; i++) {
		char *sep = strchr(names.v[i], '\x1f');
		*sep = '\0';
		const char *p[2] = {*names.v[i] ? names.v[i] : NULL, sep + 1};
		PGresult *r = query(w->pg,
				    "SELECT to_regclass(CASE WHEN $1::text IS NULL THEN '' ELSE quote_ident($1::text) || '.' END"
				    " || quote_ident($2::text))::oid AS oid",
				    2, p);
		const char *oid = r ? db_get(r, 0, "oid") : NULL;
		if (oid)
			w->table_oids[w->ntables++] = (unsigned)strtoul(oid, NULL, 10);
		PQclear(r);
	}
	strv_release(&names);
	return 0;
}

static char *int_array(const int *v, size_t n)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	buf_addc(&b, '{');
	for (size_t i = 0; i < n; i++)
		buf_addf(&b, "%s%d", i ? "," : "", v[i]);
	buf_addc(&b, '}');
	return buf_detach(&b);
}

static char *oid_array(const unsigned *v, size_t n)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	buf_addc(&b, '{');
	for (size_t i = 0; i < n; i++)
		buf_addf(&b, "%s%u", i ? "," : "", v[i]);
	buf_addc(&b, '}');
	return buf_detach(&b);
}

/* Sessions waiting on a lock are found first (cheap); pg_blocking_pids,
 * which takes the lock manager's locks, runs only for those (the CTE is
 * materialized so the planner cannot reorder it). A wait counts when the
 * migration's backend blocks it (holding or queued ahead: soft blockers
 * count, which is how a queued ACCESS EXCLUSIVE stalls every reader) or
 * when it waits on one of the migration's tables. The migration's own
 * wait is reported apart. pg_locks.waitstart (PG 14+) times the wait. */
static const char lock_sql[] =
	"WITH waiting AS MATERIALIZED ("
	"  SELECT pid, query_start FROM pg_stat_activity"
	"  WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()),"
	" w AS (SELECT w.pid, pg_blocking_pids(w.pid) AS blockers,"
	"  extract(epoch FROM clock_timestamp() - coalesce((SELECT min(l.waitstart) FROM pg_locks l"
	"    WHERE l.pid = w.pid AND NOT l.granted), w.query_start))::float8 AS wait_s,"
	"  ARRAY(SELECT l.relation::int8 FROM pg_locks l WHERE l.pid = w.pid AND NOT l.granted"
	"    AND l.relation IS NOT NULL) AS rels"
	"  FROM waiting w)"
	" SELECT count(*) FILTER (WHERE NOT pid = ANY($1::int[])) AS waiting,"
	"  coalesce(max(wait_s) FILTER (WHERE NOT pid = ANY($1::int[])), 0) AS wait_s,"
	"  max(wait_s) FILTER (WHERE pid = ANY($1::int[])) AS mig_wait_s"
	" FROM w WHERE pid = ANY($1::int[]) OR blockers && $1::int[] OR rels && $2::int8[]";

static int poll_locks(struct watch *w)
{
	int pids[2];
	size_t np = 0;
	if (w->mig_pid)
		pids[np++] = w->mig_pid;
	char *pa = int_array(pids, np), *oa = oid_array(w->table_oids, w->ntables);
	const char *p[2] = {pa, oa};
	PGresult *r = query(w->pg, lock_sql, 2, p);
	free(pa);
	free(oa);
	if (!r)
		return -1;
	cJSON *labels = cJSON_CreateObject();
	cJSON_AddNumberToObject(labels, "waiting", atof(db_get(r, 0, "waiting")));
	if (w->mig_pid)
		cJSON_AddNumberToObject(labels, "migration_pid", w->mig_pid);
	if (db_get(r, 0, "mig_wait_s"))
		cJSON_AddNumberToObject(labels, "migration_wait_s",
					round(atof(db_get(r, 0, "mig_wait_s")) * 1000) / 1000);
	double v = atof(db_get(r, 0, "wait_s"));
	if (db_get(r, 0, "mig_wait_s"))
		apply_lock_backstop(w, atof(db_get(r, 0, "mig_wait_s")));
	PQclear(r);
	mw_sample(w, "lock_wait_s", "postgres", v, labels, MC_LOCK, 0);
	return 0;
}

/* The error rate: xact_rollback of this database per second over the last
 * --error-window, less the transactions metricwatch itself rolled back
 * (its own --apply retries and cancellations are not the workload's
 * errors). PostgreSQL publishes these counters about once a second. */
static int poll_errors(struct watch *w)
{
	PGresult *r = query(w->pg,
			    "SELECT xact_rollback::float8 AS rb FROM pg_stat_database WHERE datname = current_database()",
			    0, NULL);
	if (!r)
		return -1;
	double now = mw_now(), v = PQntuples(r) ? atof(db_get(r, 0, "rb")) : 0;
	PQclear(r);
	v -= w->ap.own_aborts;
	xgrow(&w->err_t, &w->err_cap, w->err_n + 1, sizeof(double));
	w->err_v = xrealloc(w->err_v, w->err_cap * sizeof(double));
	w->err_t[w->err_n] = now, w->err_v[w->err_n++] = v;
	size_t k = 0; /* the oldest sample inside the window */
	while (k + 1 < w->err_n && now - w->err_t[k + 1] >= w->o->error_window)
		k++;
	if (k > 0) {
		memmove(w->err_t, w->err_t + k, (w->err_n - k) * sizeof(double));
		memmove(w->err_v, w->err_v + k, (w->err_n - k) * sizeof(double));
		w->err_n -= k;
	}
	if (w->err_n < 2)
		return 0;
	double dt = now - w->err_t[0];
	/* a short history is divided by the whole window: one early error
	 * over 0.2 s of samples is not a rate of 5 per second */
	double rate = fmax(0, v - w->err_v[0]) / fmax(dt, w->o->error_window);
	cJSON *labels = cJSON_CreateObject();
	cJSON_AddNumberToObject(labels, "window_s", round(dt * 1000) / 1000);
	mw_sample(w, "error_rate", "postgres", rate, labels, MC_ERROR, 0);
	return 0;
}

/* pgw_poll: lock waits and the error rate, read live at each poll (never
 * a value kept from before: a failed query is a failed poll). A longer gap
 * between two polls is metricwatch's own delay (a query may take up to the
 * watch connection's 5 s statement_timeout), not missing data, so the gap
 * a breach tolerates is that much longer. */
int pgw_poll(struct watch *w)
{
	double gap = fmax(mw_max_age(w, 0), 5 + 2 * w->o->interval);
	mw_max_gap(w, "lock_wait_s", MC_LOCK, gap);
	mw_max_gap(w, "error_rate", MC_ERROR, gap);
	int a = poll_locks(w);
	int b = poll_errors(w);
	return a < 0 || b < 0 ? -1 : 0;
}

/* pgw_find_backend: follow the migration run by another tool, by --pid or
 * --app-name. It has finished when its backend is gone or idle outside a
 * transaction (after it was seen). */
int pgw_find_backend(struct watch *w)
{
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", w->o->pid);
	const char *p[2] = {w->o->pid ? pid : NULL, w->o->app_name};
	PGresult *r = query(w->pg,
			    "SELECT pid, state FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
			    " AND (pid = $1::int OR application_name = $2) AND backend_type = 'client backend'"
			    " ORDER BY (state = 'idle'), backend_start LIMIT 1",
			    2, p);
	if (!r)
		return -1;
	bool busy = PQntuples(r) > 0 && strcmp(db_get(r, 0, "state") ? db_get(r, 0, "state") : "", "idle");
	if (PQntuples(r) > 0 && busy) {
		w->mig_pid = atoi(db_get(r, 0, "pid"));
		w->mig_seen = true;
	} else if (w->mig_seen && !w->mig_finished) {
		w->mig_finished = true;
		w->finished_at = mw_now();
	}
	PQclear(r);
	return 0;
}

/* still_running: is pid still running a statement? */
static bool still_running(PGconn *c, int pid)
{
	char s[16];
	snprintf(s, sizeof(s), "%d", pid);
	const char *p[1] = {s};
	PGresult *r = query(c, "SELECT 1 FROM pg_stat_activity WHERE pid = $1::int AND state = 'active'", 1, p);
	bool yes = r && PQntuples(r) > 0;
	PQclear(r);
	return yes;
}

/* pgw_cancel: pg_cancel_backend(pid); if it still runs after
 * --cancel-timeout, pg_terminate_backend. What was done goes into ev. */
int pgw_cancel(struct watch *w, PGconn *act, int pid, cJSON *ev)
{
	char s[16];
	snprintf(s, sizeof(s), "%d", pid);
	const char *p[1] = {s};
	cJSON_AddNumberToObject(ev, "cancelled_pid", pid);
	PQclear(query(act, "SELECT pg_cancel_backend($1::int)", 1, p));
	double until = mw_now() + w->o->cancel_timeout;
	for (;;) {
		if (w->ap.conn) {
			apply_step(w);
			if (w->ap.state != AP_RUNNING)
				break;
		} else if (!still_running(act, pid)) {
			break;
		}
		if (mw_now() >= until) {
			PQclear(query(act, "SELECT pg_terminate_backend($1::int)", 1, p));
			cJSON_AddBoolToObject(ev, "terminated", true);
			if (w->ap.conn) { /* our connection is gone: wait for libpq to see it */
				for (int i = 0; i < 100 && w->ap.state == AP_RUNNING; i++) {
					mw_sleep(0.05);
					apply_step(w);
				}
			}
			return 0;
		}
		mw_sleep(0.02);
	}
	cJSON_AddBoolToObject(ev, "terminated", false);
	return 0;
}

/* pgw_lock_wait: how long backend pid has been waiting for a lock (0: it
 * is not waiting), or -1 when the watch connection cannot tell. */
double pgw_lock_wait(struct watch *w, int pid)
{
	char s[16];
	snprintf(s, sizeof(s), "%d", pid);
	const char *p[1] = {s};
	PGresult *r = query(w->pg,
			    "SELECT coalesce(extract(epoch FROM clock_timestamp() - min(waitstart))::float8, 0) AS s"
			    " FROM pg_locks WHERE pid = $1::int AND NOT granted",
			    1, p);
	double v = r ? atof(db_get(r, 0, "s")) : -1;
	PQclear(r);
	return v;
}

/* "Not there" (or "already back"): the rollback statement's object is
 * absent, or what it would restore is already present. */
bool pgw_not_there(const char *st)
{
	static const char *codes[] = {"42P01", "42703", "42704", "42883", "3F000", "42P07",
				      "42710", "42701", "42P06", "42723", NULL};
	for (int i = 0; st && codes[i]; i++)
		if (!strcmp(st, codes[i]))
			return true;
	return false;
}
