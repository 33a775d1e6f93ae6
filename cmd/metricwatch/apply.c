/*
 * apply: --apply runs the forward migration as a deployment tool would, one
 * statement at a time on its own connection (asynchronously: the watch loop
 * keeps sampling while a statement runs); rollback_run runs the rollback.
 *
 * Transactions. The forward file runs wrapped in BEGIN ... COMMIT with SET
 * LOCAL lock_timeout, unless it holds statements that cannot run in a
 * transaction block (CREATE INDEX CONCURRENTLY, VACUUM, ...) or manages its
 * own transactions (BEGIN/COMMIT in the file); then the lock_timeout is set
 * for the session and each statement runs as the file says. After every
 * statement, libpq's transaction status tells whether what ran so far is
 * committed (idle outside a block), so a cancelled migration's committed
 * part is known exactly.
 *
 * Lock retries (GitLab's with_lock_retries): a lock_timeout (55P03) rolls the
 * attempt back to the last commit, waits --retry-backoff (doubled each time,
 * at most 60 s) and tries again, --lock-retries times.
 *
 * Rollback: only for what committed. Each rollback statement runs under a
 * savepoint; one that fails because its object is not there (or is already
 * back: undefined_*, duplicate_*) is skipped and reported, so the rollback
 * fits what actually happened. lock_timeout on every attempt, retries with
 * backoff on 55P03.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "metricwatch.h"
#include "msg.h"
#include "nd.h"
#include "sql.h"
#include "xalloc.h"

/* no_tx: a statement that cannot run inside a transaction block. */
static bool no_tx(const struct sql_stmt *st)
{
	static const char *always[] = {"VacuumStmt", "CreatedbStmt", "DropdbStmt", "AlterSystemStmt",
				       "CreateTableSpaceStmt", "DropTableSpaceStmt", NULL};
	for (int i = 0; always[i]; i++)
		if (!strcmp(st->type, always[i]))
			return true;
	if (!strcmp(st->type, "IndexStmt") || !strcmp(st->type, "DropStmt"))
		return sql_jbool(st->node, "concurrent");
	if (!strcmp(st->type, "ReindexStmt")) {
		const cJSON *p;
		cJSON_ArrayForEach(p, sql_jget(st->node, "params"))
		{
			const char *n = sql_jstr(sql_node(p, "DefElem"), "defname");
			if (n && !strcmp(n, "concurrently"))
				return true;
		}
	}
	if (!strcmp(st->type, "AlterTableStmt")) {
		const cJSON *c;
		cJSON_ArrayForEach(c, sql_jget(st->node, "cmds"))
		{
			const cJSON *def = sql_jget(sql_node(c, "AlterTableCmd"), "def");
			if (sql_jbool(sql_node(def, "PartitionCmd"), "concurrent"))
				return true;
		}
	}
	return false;
}

/* script_split: the statements of text into sql/line; whether they can all
 * run in one transaction. -1 after an error naming where. */
static int script_split(const char *what, const char *text, struct strv *sql, int **line, bool *one_tx)
{
	struct sql_script s;
	struct sql_error err;
	if (sql_parse(&s, text, &err) < 0) {
		error_at(what, err.line, "%s", err.message);
		sql_error_release(&err);
		return -1;
	}
	*one_tx = true;
	*line = xcalloc(s.n + 3, sizeof(int));
	for (size_t i = 0; i < s.n; i++) {
		const struct sql_stmt *st = &s.stmts[i];
		if (no_tx(st) || !strcmp(st->type, "TransactionStmt"))
			*one_tx = false;
		strv_push_take(sql, sql_stmt_text(&s, st));
		(*line)[i] = st->line;
	}
	sql_script_release(&s);
	return 0;
}

int apply_init(struct apply *ap, const char *forward, const char *url, const struct opts *o)
{
	struct strv stmts = STRV_INIT;
	int *lines;
	bool one_tx;
	memset(ap, 0, sizeof(*ap));
	if (script_split("forward SQL", forward, &stmts, &lines, &one_tx) < 0)
		return -1;
	if (!stmts.n) {
		free(lines);
		return error("forward SQL: no statement to apply");
	}
	ap->wrapped = one_tx;
	ap->line = xcalloc(stmts.n + 3, sizeof(int));
	char *lt = xasprintf("%s lock_timeout = '%ldms'", one_tx ? "SET LOCAL" : "SET",
			     (long)ceil(o->lock_timeout * 1000));
	if (one_tx)
		strv_push(&ap->sql, "BEGIN");
	strv_push_take(&ap->sql, lt);
	for (size_t i = 0; i < stmts.n; i++) {
		ap->line[ap->sql.n] = lines[i];
		strv_push(&ap->sql, stmts.v[i]);
	}
	if (one_tx)
		strv_push(&ap->sql, "COMMIT");
	strv_release(&stmts);
	free(lines);
	struct db_opts dbo = DB_OPTS_INIT;
	dbo.connect_timeout_s = 10;
	ap->conn = db_connect(url, &dbo);
	if (!ap->conn)
		exit(EXIT_RUNTIME);
	ap->pid = PQbackendPID(ap->conn);
	ap->state = AP_WAIT;
	return 0;
}

void apply_release(struct apply *ap)
{
	db_close(ap->conn);
	strv_release(&ap->sql);
	free(ap->line);
	free(ap->error);
}

static void apply_event(struct watch *w, const char *event, const char *err, double wait_s)
{
	struct apply *ap = &w->ap;
	cJSON *r = mw_event(w, event);
	cJSON_AddNullToObject(r, "metric");
	cJSON_AddNullToObject(r, "value");
	cJSON_AddNullToObject(r, "threshold");
	cJSON_AddNumberToObject(r, "pid", ap->pid);
	cJSON_AddNumberToObject(r, "attempt", ap->attempt + 1);
	cJSON_AddStringToObject(r, "mode", ap->wrapped ? "transaction" : "statements");
	if (err) {
		cJSON_AddStringToObject(r, "error", err);
		if (ap->next < ap->sql.n && ap->line[ap->next])
			cJSON_AddNumberToObject(r, "line", ap->line[ap->next]);
	}
	if (wait_s > 0)
		cJSON_AddNumberToObject(r, "retry_in_s", round(wait_s * 1000) / 1000);
	mw_emit(r);
}

static void send_next(struct watch *w)
{
	struct apply *ap = &w->ap;
	if (ap->next == 0 && ap->attempt == 0)
		apply_event(w, "migration_started", NULL, 0);
	if (!PQsendQuery(ap->conn, ap->sql.v[ap->next])) {
		char *m = xstrdup(PQerrorMessage(ap->conn));
		m[strcspn(m, "\n")] = '\0';
		ap->error = m;
		ap->state = AP_FAILED;
		ap->maybe_committed = ap->next > ap->committed;
		apply_event(w, "migration_failed", m, 0);
		return;
	}
	ap->state = AP_RUNNING;
}

/* on_error: the statement at ap->next failed with res. */
static void on_error(struct watch *w, const char *sqlstate, const char *msg)
{
	struct apply *ap = &w->ap;
	if (PQtransactionStatus(ap->conn) == PQTRANS_INERROR)
		PQclear(PQexec(ap->conn, "ROLLBACK"));
	ap->own_aborts++;
	if (ap->cancelled) {
		ap->state = AP_STOPPED;
		return;
	}
	if (sqlstate && !strcmp(sqlstate, "55P03") && ap->attempt < w->o->lock_retries) {
		double wait = fmin(60, w->o->retry_backoff * pow(2, ap->attempt));
		apply_event(w, "migration_retry", msg, wait);
		ap->attempt++;
		ap->next = ap->committed;
		ap->retry_at = mw_now() + wait;
		ap->state = AP_WAIT;
		return;
	}
	ap->error = xstrdup(msg);
	ap->state = AP_FAILED;
	apply_event(w, "migration_failed", msg, 0);
}

/* apply_step: move the migration on as far as it can go without waiting. */
void apply_step(struct watch *w)
{
	struct apply *ap = &w->ap;
	if (!ap->conn)
		return;
	if (ap->state == AP_WAIT) {
		if (w->started_at <= 0 || ap->cancelled || mw_now() < ap->retry_at)
			return;
		send_next(w);
	}
	while (ap->state == AP_RUNNING) {
		if (!PQconsumeInput(ap->conn)) {
			char *m = xstrdup(PQerrorMessage(ap->conn));
			m[strcspn(m, "\n")] = '\0';
			/* a COMMIT (or an autocommit statement) in flight may have committed */
			ap->maybe_committed = !ap->wrapped || ap->next + 1 == ap->sql.n;
			ap->state = ap->cancelled ? AP_STOPPED : AP_FAILED;
			ap->error = m;
			if (!ap->cancelled)
				apply_event(w, "migration_failed", m, 0);
			return;
		}
		if (PQisBusy(ap->conn))
			return;
		PGresult *r, *last = NULL;
		while ((r = PQgetResult(ap->conn))) {
			PQclear(last);
			last = r;
		}
		ExecStatusType st = last ? PQresultStatus(last) : PGRES_FATAL_ERROR;
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
			char *m = xstrdup(last ? PQresultErrorMessage(last) : PQerrorMessage(ap->conn));
			m[strcspn(m, "\n")] = '\0';
			on_error(w, last ? PQresultErrorField(last, PG_DIAG_SQLSTATE) : NULL, m);
			free(m);
			PQclear(last);
			return;
		}
		PQclear(last);
		ap->next++;
		if (PQtransactionStatus(ap->conn) == PQTRANS_IDLE)
			ap->committed = ap->next;
		if (ap->next == ap->sql.n) {
			ap->state = AP_DONE;
			apply_event(w, "migration_done", NULL, 0);
			return;
		}
		if (ap->cancelled) {
			ap->state = AP_STOPPED;
			return;
		}
		send_next(w);
	}
}

/* ---- rollback ---- */

struct rb {
	struct watch *w;
	PGconn *c;
	cJSON *skipped;
	const char *sqlstate;
	char *msg;
};

/* exec: run sql; 0, or -1 with rb->sqlstate/msg set. */
static int exec(struct rb *rb, const char *sql)
{
	PGresult *r = PQexec(rb->c, sql);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	free(rb->msg);
	rb->msg = NULL;
	rb->sqlstate = NULL;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
		PQclear(r);
		return 0;
	}
	static char state[6];
	const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	snprintf(state, sizeof(state), "%s", s ? s : "");
	rb->sqlstate = state;
	rb->msg = db_redact_url(r ? PQresultErrorMessage(r) : PQerrorMessage(rb->c));
	rb->msg[strcspn(rb->msg, "\n")] = '\0';
	PQclear(r);
	return -1;
}

static void skip(struct rb *rb, int line, const char *sql)
{
	cJSON *s = cJSON_CreateObject();
	cJSON_AddNumberToObject(s, "line", line);
	cJSON_AddStringToObject(s, "sql", sql);
	cJSON_AddStringToObject(s, "sqlstate", rb->sqlstate);
	cJSON_AddStringToObject(s, "reason", rb->msg);
	cJSON_AddItemToArray(rb->skipped, s);
}

/* attempt_tx: the whole rollback in one transaction. 0 done, 1 retry
 * (lock timeout), -1 failed. */
static int attempt_tx(struct rb *rb, const struct strv *sql, const int *line)
{
	char *lt = xasprintf("SET LOCAL lock_timeout = '%ldms'", (long)ceil(rb->w->o->rollback_lock_timeout * 1000));
	int rc = exec(rb, "BEGIN") < 0 || exec(rb, lt) < 0 ? -1 : 0;
	free(lt);
	for (size_t i = 0; rc == 0 && i < sql->n; i++) {
		if (exec(rb, "SAVEPOINT metricwatch") < 0) {
			rc = -1;
			break;
		}
		if (exec(rb, sql->v[i]) == 0) {
			rc = exec(rb, "RELEASE SAVEPOINT metricwatch");
			continue;
		}
		if (pgw_not_there(rb->sqlstate)) {
			skip(rb, line[i], sql->v[i]);
			rc = exec(rb, "ROLLBACK TO SAVEPOINT metricwatch");
			continue;
		}
		rc = -1;
	}
	if (rc == 0 && exec(rb, "COMMIT") == 0)
		return 0;
	const char *st = rb->sqlstate;
	char *m = rb->msg;
	rb->msg = NULL;
	PQclear(PQexec(rb->c, "ROLLBACK"));
	rb->w->ap.own_aborts++;
	rb->msg = m;
	rb->sqlstate = st;
	return st && !strcmp(st, "55P03") ? 1 : -1;
}

/* attempt_each: statements one by one, outside a transaction, from *from. */
static int attempt_each(struct rb *rb, const struct strv *sql, const int *line, size_t *from)
{
	char *lt = xasprintf("SET lock_timeout = '%ldms'", (long)ceil(rb->w->o->rollback_lock_timeout * 1000));
	int rc = exec(rb, lt);
	free(lt);
	for (; rc == 0 && *from < sql->n; ++*from) {
		if (exec(rb, sql->v[*from]) == 0)
			continue;
		rb->w->ap.own_aborts++;
		if (pgw_not_there(rb->sqlstate)) {
			skip(rb, line[*from], sql->v[*from]);
			continue;
		}
		return !strcmp(rb->sqlstate, "55P03") ? 1 : -1;
	}
	return rc;
}

/* forward_committed: how much of an --apply migration committed: "all",
 * "none", "part" or "unknown" (another tool ran it, or the connection
 * died during a COMMIT). */
static const char *forward_committed(const struct apply *ap)
{
	if (!ap->conn || ap->maybe_committed)
		return "unknown";
	size_t first = ap->wrapped ? 0 : 1; /* past the session SET */
	if (ap->committed <= first)
		return "none";
	return ap->committed == ap->sql.n ? "all" : "part";
}

int rollback_check(const struct watch *w)
{
	struct strv sql = STRV_INIT;
	int *line = NULL;
	bool one_tx;
	if (!w->rollback || !*w->rollback)
		return 0;
	int rc = script_split("rollback SQL", w->rollback, &sql, &line, &one_tx);
	strv_release(&sql);
	free(line);
	return rc;
}

int rollback_run(struct watch *w, PGconn *act, cJSON *done)
{
	const char *committed = forward_committed(&w->ap);
	cJSON_AddStringToObject(done, "committed", committed);
	if (w->irreversible && cJSON_GetArraySize(w->irreversible) > 0)
		cJSON_AddItemToObject(done, "irreversible", cJSON_Duplicate(w->irreversible, 1));
	if (!strcmp(committed, "none")) {
		cJSON_AddBoolToObject(done, "ran_rollback_sql", false);
		cJSON_AddStringToObject(done, "reason", "the migration was cancelled before it committed: "
							"PostgreSQL undid it");
		return 0;
	}
	if (!w->rollback || !*w->rollback) {
		cJSON_AddBoolToObject(done, "ran_rollback_sql", false);
		cJSON_AddStringToObject(done, "reason", "the migration committed and has no rollback SQL");
		return -1;
	}
	struct strv sql = STRV_INIT;
	int *line = NULL;
	bool one_tx;
	if (script_split("rollback SQL", w->rollback, &sql, &line, &one_tx) < 0)
		return -1;
	if (PQstatus(act) != CONNECTION_OK)
		PQreset(act);
	struct rb rb = {w, act, cJSON_CreateArray(), NULL, NULL};
	int rc = 1, attempt = 0;
	size_t from = 0;
	for (; rc == 1 && attempt <= w->o->lock_retries; attempt++) {
		if (attempt > 0)
			mw_sleep(fmin(60, w->o->retry_backoff * pow(2, attempt - 1)));
		if (one_tx) { /* a retried transaction starts over */
			cJSON_Delete(rb.skipped);
			rb.skipped = cJSON_CreateArray();
		}
		rc = one_tx ? attempt_tx(&rb, &sql, line) : attempt_each(&rb, &sql, line, &from);
	}
	cJSON_AddBoolToObject(done, "ran_rollback_sql", rc == 0);
	cJSON_AddStringToObject(done, "mode", one_tx ? "transaction" : "statements");
	cJSON_AddNumberToObject(done, "attempts", attempt);
	cJSON_AddNumberToObject(done, "statements", (double)sql.n);
	cJSON_AddItemToObject(done, "skipped", rb.skipped);
	if (rc != 0)
		cJSON_AddStringToObject(done, "error", rb.msg ? rb.msg : "rollback failed");
	free(rb.msg);
	strv_release(&sql);
	free(line);
	return rc == 0 ? 0 : -1;
}
