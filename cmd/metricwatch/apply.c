/*
 * apply: --apply runs the forward migration as a deployment tool would, one
 * statement at a time on its own connection (asynchronously: the watch loop
 * keeps sampling while a statement runs); rollback_run runs the rollback.
 *
 * Transactions. The forward file runs wrapped in BEGIN ... COMMIT (its
 * transaction id asked before COMMIT), unless it holds statements that
 * cannot run in a transaction block (CREATE INDEX CONCURRENTLY, VACUUM, ...)
 * or manages its own transactions (BEGIN/COMMIT in the file); then each
 * statement runs as the file says. After every statement, libpq's
 * transaction status tells whether what ran so far is committed (idle
 * outside a block), so a cancelled migration's committed part is known
 * exactly.
 *
 * Lock retries (GitLab's with_lock_retries): a lock_timeout (55P03) rolls the
 * attempt back to the last commit, waits --retry-backoff (doubled each time,
 * at most 60 s) and tries again, --lock-retries times.
 *
 * Timeouts: before every statement of the forward and of the rollback,
 * metricwatch sets its lock_timeout (and --statement-timeout) again, and
 * after it checks they are still its own: a migration's SET lock_timeout =
 * 0, RESET ALL, set_config(...) or SET LOCAL cannot switch them off for the
 * statements after it; the change is reported (timeout_override). One that
 * switches them off within itself (a DO block) and then waits for a lock is
 * seen waiting by the watch connection and cancelled past its lock timeout
 * and a grace; that counts as a lock timeout.
 *
 * Rollback: only for what committed, as far as metricwatch knows it: the
 * statements it ran itself. When it cannot know (another tool ran the
 * migration, or the connection was lost during a COMMIT whose transaction
 * id txid_status cannot settle), no rollback SQL runs: rollback_skipped
 * says why, and a human decides. When only part of it committed, only the
 * rollback statements that undo committed ones run (the migration's
 * rollback_of, from nl2mig); a rollback without it (written by hand) gives
 * no way to know which: rollback_skipped. Each rollback statement runs under a
 * savepoint; one that fails because its object is not there (or is already
 * back: undefined_*, duplicate_*) is skipped and reported, so the rollback
 * fits what actually happened. lock_timeout on every attempt, retries with
 * backoff on 55P03.
 */
#include <math.h>
#include <poll.h>
#include <stdint.h>
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

int apply_init(struct apply *ap, const char *forward, const char *url)
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
	ap->stmt = xcalloc(stmts.n + 3, sizeof(int));
	ap->xid_at = SIZE_MAX;
	if (one_tx) {
		strv_push(&ap->sql, "BEGIN");
		ap->xid_at = ap->sql.n; /* asked before COMMIT, for txid_status after a lost COMMIT */
		strv_push(&ap->sql, "SELECT txid_current()");
	}
	for (size_t i = 0; i < stmts.n; i++) {
		ap->line[ap->sql.n] = lines[i];
		ap->stmt[ap->sql.n] = (int)i + 1;
		strv_push(&ap->sql, stmts.v[i]);
	}
	if (one_tx)
		strv_push(&ap->sql, "COMMIT");
	strv_release(&stmts);
	free(lines);
	struct db_opts dbo = DB_OPTS_INIT;
	dbo.connect_timeout_s = 10;
	struct msg_err cerr = MSG_ERR_INIT;
	ap->conn = db_connect(url, &dbo, &cerr);
	if (!ap->conn)
		die_err(&cerr);
	ap->pid = PQbackendPID(ap->conn);
	ap->state = AP_WAIT;
	return 0;
}

void apply_release(struct apply *ap)
{
	db_close(ap->conn);
	strv_release(&ap->sql);
	free(ap->line);
	free(ap->stmt);
	free(ap->xid);
	free(ap->error);
}

/* ---- timeouts ---- */

static long ms_of(double s)
{
	return (long)ceil(s * 1000);
}

/* timeouts_set: metricwatch's lock_timeout (the rollback's, for rollback)
 * and --statement-timeout (when given) for the session, sent before every
 * statement of a migration or rollback, so that whatever an earlier
 * statement did (SET, SET LOCAL, RESET ALL, set_config, SET SESSION
 * AUTHORIZATION) does not carry over. A later SET in the same transaction
 * overrides an earlier SET LOCAL; a rolled-back savepoint or transaction
 * undoes it, hence before every statement. Values go as parameters. A
 * failure here shows in the statement that follows. */
void timeouts_set(PGconn *c, const struct opts *o, bool rollback)
{
	char lt[32], st[32];
	snprintf(lt, sizeof(lt), "%ldms", ms_of(rollback ? o->rollback_lock_timeout : o->lock_timeout));
	snprintf(st, sizeof(st), "%ldms", ms_of(o->statement_timeout));
	const char *p[2] = {lt, st};
	bool both = o->statement_timeout > 0;
	PQclear(PQexecParams(c,
			     both ? "SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)"
				  : "SELECT set_config('lock_timeout', $1, false)",
			     both ? 2 : 1, NULL, p, NULL, NULL, 0));
}

/* timeouts_check: after a statement that succeeded (number stmt of the
 * forward or rollback SQL, at line): are the timeouts still metricwatch's?
 * When the statement changed them: a timeout_override event and a warning
 * naming it; the timeouts_set before the next statement puts them back.
 * 1 changed, 0 unchanged, -1 could not ask (the statement after fails too). */
int timeouts_check(struct watch *w, PGconn *c, bool rollback, int stmt, int line)
{
	const struct opts *o = w->o;
	PGresult *r = PQexec(c, "SELECT current_setting('lock_timeout') AS lt, current_setting('statement_timeout') AS st,"
				" (SELECT setting::int8 FROM pg_settings WHERE name = 'lock_timeout') AS lt_ms,"
				" (SELECT setting::int8 FROM pg_settings WHERE name = 'statement_timeout') AS st_ms");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		PQclear(r);
		return -1;
	}
	long lt = atol(PQgetvalue(r, 0, 2)), st = atol(PQgetvalue(r, 0, 3));
	long want_lt = ms_of(rollback ? o->rollback_lock_timeout : o->lock_timeout);
	bool changed = lt != want_lt || (o->statement_timeout > 0 && st != ms_of(o->statement_timeout));
	if (changed) {
		const char *phase = rollback ? "rollback" : "forward";
		warning("%s SQL statement %d (line %d) changed lock_timeout to '%s' and statement_timeout to '%s'; "
			"metricwatch sets its own again before the next statement",
			phase, stmt, line, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
		cJSON *ev = mw_event(w, "timeout_override");
		cJSON_AddNullToObject(ev, "metric");
		cJSON_AddNullToObject(ev, "value");
		cJSON_AddNullToObject(ev, "threshold");
		cJSON_AddStringToObject(ev, "phase", phase);
		cJSON_AddNumberToObject(ev, "statement", stmt);
		if (line > 0)
			cJSON_AddNumberToObject(ev, "line", line);
		cJSON_AddStringToObject(ev, "lock_timeout", PQgetvalue(r, 0, 0));
		cJSON_AddStringToObject(ev, "statement_timeout", PQgetvalue(r, 0, 1));
		mw_emit(ev);
	}
	PQclear(r);
	return changed ? 1 : 0;
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
	if (ap->stmt[ap->next] > 0)
		timeouts_set(ap->conn, w->o, false);
	ap->lock_cancelled = 0;
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

/* lock_grace: how far past its lock timeout a statement may wait before
 * metricwatch cancels it itself (PostgreSQL's own timer fires first). */
static double lock_grace(double lock_timeout)
{
	return lock_timeout + fmax(0.5, lock_timeout / 4);
}

/* apply_lock_backstop: the statement in flight has waited wait_s for a lock
 * (seen by the watch connection). Past --lock-timeout (and a grace), the
 * statement switched lock_timeout off within itself (a DO block, a
 * set_config beside the lock): metricwatch cancels it, and the failure
 * counts as a lock timeout (retried). */
void apply_lock_backstop(struct watch *w, double wait_s)
{
	struct apply *ap = &w->ap;
	if (!ap->conn || ap->state != AP_RUNNING || ap->lock_cancelled > 0 || wait_s <= lock_grace(w->o->lock_timeout))
		return;
	ap->lock_cancelled = wait_s;
	warning("forward SQL statement %d (line %d) has waited %.1fs for a lock, past --lock-timeout %gs: "
		"cancelling it",
		ap->stmt[ap->next], ap->line[ap->next], wait_s, w->o->lock_timeout);
	PQrequestCancel(ap->conn);
}

/* on_error: the statement at ap->next failed with res. */
static void on_error(struct watch *w, const char *sqlstate, const char *msg)
{
	struct apply *ap = &w->ap;
	char *backstop = NULL;
	if (ap->lock_cancelled > 0 && sqlstate && !strcmp(sqlstate, "57014")) {
		backstop = xasprintf("metricwatch cancelled the statement after %.1fs waiting for a lock, past "
				     "--lock-timeout (the SQL had switched lock_timeout off)",
				     ap->lock_cancelled);
		sqlstate = "55P03", msg = backstop;
	}
	ap->lock_cancelled = 0;
	if (PQtransactionStatus(ap->conn) == PQTRANS_INERROR)
		PQclear(PQexec(ap->conn, "ROLLBACK"));
	ap->own_aborts++;
	if (ap->cancelled) {
		ap->state = AP_STOPPED;
		free(backstop);
		return;
	}
	if (sqlstate && !strcmp(sqlstate, "55P03") && ap->attempt < w->o->lock_retries) {
		double wait = fmin(60, w->o->retry_backoff * pow(2, ap->attempt));
		apply_event(w, "migration_retry", msg, wait);
		ap->attempt++;
		ap->next = ap->committed;
		ap->retry_at = mw_now() + wait;
		ap->state = AP_WAIT;
		free(backstop);
		return;
	}
	ap->error = xstrdup(msg);
	ap->state = AP_FAILED;
	apply_event(w, "migration_failed", msg, 0);
	free(backstop);
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
			/* a FATAL error (terminated) on a statement that commits does
			 * not say it did not commit (e.g. terminated in a synchronous
			 * replication wait, after the local commit) */
			if (PQstatus(ap->conn) == CONNECTION_BAD)
				ap->maybe_committed = !ap->wrapped || ap->next + 1 == ap->sql.n;
			on_error(w, last ? PQresultErrorField(last, PG_DIAG_SQLSTATE) : NULL, m);
			free(m);
			PQclear(last);
			return;
		}
		if (ap->next == ap->xid_at && st == PGRES_TUPLES_OK && PQntuples(last) == 1) {
			free(ap->xid);
			ap->xid = xstrdup(PQgetvalue(last, 0, 0));
		}
		PQclear(last);
		if (ap->stmt[ap->next] > 0)
			timeouts_check(w, ap->conn, false, ap->stmt[ap->next], ap->line[ap->next]);
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

/* run_guarded: sql on rb's connection, its result. While it runs, the
 * watch connection looks at its lock wait: past --rollback-lock-timeout
 * (and a grace) the statement switched lock_timeout off within itself, and
 * metricwatch cancels it (*lock_wait: how long it had waited, else 0). */
static PGresult *run_guarded(struct rb *rb, const char *sql, double *lock_wait)
{
	*lock_wait = 0;
	if (!rb->w->pg || !PQsendQuery(rb->c, sql))
		return rb->w->pg ? NULL : PQexec(rb->c, sql);
	int pid = PQbackendPID(rb->c);
	double limit = lock_grace(rb->w->o->rollback_lock_timeout);
	while (PQconsumeInput(rb->c) && PQisBusy(rb->c)) {
		struct pollfd p = {PQsocket(rb->c), POLLIN, 0};
		if (poll(&p, 1, 100) != 0 || *lock_wait > 0)
			continue;
		double waited = pgw_lock_wait(rb->w, pid);
		if (waited > limit) {
			*lock_wait = waited;
			warning("rollback statement has waited %.1fs for a lock, past --rollback-lock-timeout %gs: "
				"cancelling it",
				waited, rb->w->o->rollback_lock_timeout);
			PQrequestCancel(rb->c);
		}
	}
	PGresult *r, *last = NULL;
	while ((r = PQgetResult(rb->c))) {
		PQclear(last);
		last = r;
	}
	return last;
}

/* exec: run sql; 0, or -1 with rb->sqlstate/msg set (a statement that
 * metricwatch cancelled for its lock wait counts as a lock timeout). */
static int exec(struct rb *rb, const char *sql)
{
	double lock_wait;
	PGresult *r = run_guarded(rb, sql, &lock_wait);
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
	if (lock_wait > 0 && !strcmp(state, "57014")) {
		free(rb->msg);
		rb->msg = xasprintf("metricwatch cancelled the statement after %.1fs waiting for a lock, past "
				    "--rollback-lock-timeout (the SQL had switched lock_timeout off)",
				    lock_wait);
		snprintf(state, sizeof(state), "55P03");
	}
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
	int rc = exec(rb, "BEGIN") < 0 ? -1 : 0;
	for (size_t i = 0; rc == 0 && i < sql->n; i++) {
		if (exec(rb, "SAVEPOINT metricwatch") < 0) {
			rc = -1;
			break;
		}
		timeouts_set(rb->c, rb->w->o, true);
		if (exec(rb, sql->v[i]) == 0) {
			timeouts_check(rb->w, rb->c, true, (int)i + 1, line[i]);
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
	for (; *from < sql->n; ++*from) {
		timeouts_set(rb->c, rb->w->o, true);
		if (exec(rb, sql->v[*from]) == 0) {
			timeouts_check(rb->w, rb->c, true, (int)*from + 1, line[*from]);
			continue;
		}
		rb->w->ap.own_aborts++;
		if (pgw_not_there(rb->sqlstate)) {
			skip(rb, line[*from], sql->v[*from]);
			continue;
		}
		return !strcmp(rb->sqlstate, "55P03") ? 1 : -1;
	}
	return 0;
}

/* xid_status: txid_status(xid) on a new connection's session (act), asked
 * for up to 2 s while the transaction is still "in progress" (a backend
 * whose client went away may still be finishing its COMMIT). "committed",
 * "aborted", or NULL when it cannot be known. */
static const char *xid_status(PGconn *act, const char *xid)
{
	static char out[16];
	const char *p[1] = {xid};
	for (int i = 0; i < 40; i++) {
		if (PQstatus(act) != CONNECTION_OK)
			PQreset(act);
		PGresult *r = PQexecParams(act, "SELECT txid_status($1::int8)", 1, NULL, p, NULL, NULL, 0);
		bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0);
		snprintf(out, sizeof(out), "%s", ok ? PQgetvalue(r, 0, 0) : "");
		PQclear(r);
		if (!ok)
			return NULL;
		if (strcmp(out, "in progress"))
			return out;
		mw_sleep(0.05);
	}
	return NULL;
}

/* forward_committed: how much of the forward migration committed: "all",
 * "none", "part", or "unknown" with *why. Known only for what --apply ran
 * itself: after each statement libpq tells whether it is committed; when
 * the connection was lost while a statement that commits was in flight
 * (or it ended with a FATAL error), the transaction id recorded before
 * COMMIT (wrapped mode) is asked with txid_status on act (done gets
 * "txid_status"). Another tool's migration (--pid, --app-name,
 * --duration) is unknown: which of its transactions committed, and what
 * they changed, cannot be verified. */
static const char *forward_committed(struct apply *ap, PGconn *act, cJSON *done, const char **why)
{
	if (!ap->conn) {
		*why = "another tool ran the migration: metricwatch cannot know what of it committed";
		return "unknown";
	}
	if (ap->state == AP_RUNNING) {
		*why = "the statement in flight when the migration was cancelled never answered: it may have committed";
		return "unknown";
	}
	if (ap->maybe_committed) {
		const char *st = ap->wrapped && ap->xid ? xid_status(act, ap->xid) : NULL;
		if (ap->wrapped && ap->xid)
			cJSON_AddStringToObject(done, "txid_status", st ? st : "unknown");
		if (!st) {
			*why = ap->wrapped ? "the connection was lost during COMMIT and txid_status of its transaction "
					     "gave no answer"
					   : "the connection was lost while a statement that commits by itself was in flight";
			return "unknown";
		}
		ap->maybe_committed = false;
		if (!strcmp(st, "committed"))
			ap->committed = ap->sql.n;
	}
	if (ap->committed == 0)
		return "none";
	return ap->committed == ap->sql.n ? "all" : "part";
}

/* rollback_of_ok: is of (a migration's rollback_of) an array of one
 * integer from -1 up for each of the n rollback statements? */
static bool rollback_of_ok(const cJSON *of, size_t n)
{
	const cJSON *it;
	if (!cJSON_IsArray(of) || (size_t)cJSON_GetArraySize(of) != n)
		return false;
	cJSON_ArrayForEach(it, of) if (!cJSON_IsNumber(it) || it->valuedouble < -1 || it->valuedouble != (double)(long)it->valuedouble) return false;
	return true;
}

int rollback_check(const struct watch *w)
{
	struct strv sql = STRV_INIT;
	int *line = NULL;
	bool one_tx;
	if (!w->rollback || !*w->rollback)
		return 0;
	int rc = script_split("rollback SQL", w->rollback, &sql, &line, &one_tx);
	if (rc == 0 && w->rollback_of && !rollback_of_ok(w->rollback_of, sql.n))
		die_at(EXIT_INPUT, "<stdin>", 0,
		       "migration %s: rollback_of must give, for each of the %zu rollback statements, the forward "
		       "statement it undoes (an integer, -1 for a setting)",
		       w->id, sql.n);
	strv_release(&sql);
	free(line);
	return rc;
}

/* committed_part: keep of the rollback (sql, line) only the statements
 * that undo a forward statement that committed (rollback_of, -1 for a
 * setting), and say so in done. false, with the reason in done, when the
 * rollback does not say which of its statements undo which (a rollback
 * given, not computed by nl2mig): then what to run is not known. */
static bool committed_part(const struct watch *w, struct strv *sql, int *line, cJSON *done)
{
	size_t k = 0, n = w->ap.committed;
	if (!w->rollback_of || !rollback_of_ok(w->rollback_of, sql->n)) {
		cJSON_AddBoolToObject(done, "ran_rollback_sql", false);
		char *why = xasprintf("%zu of the migration's %zu statements committed, and its rollback does not say "
				      "which of its statements undo which (no rollback_of: a rollback written by hand): "
				      "running all of it could undo what never happened; a human decides",
				      n, w->ap.sql.n);
		cJSON_AddStringToObject(done, "reason", why);
		free(why);
		return false;
	}
	bool any = false; /* a statement that undoes something (not only settings) */
	for (size_t i = 0; i < sql->n; i++) {
		double of = cJSON_GetArrayItem(w->rollback_of, (int)i)->valuedouble;
		any |= of >= 0 && of < (double)n;
	}
	cJSON *kept = cJSON_CreateArray();
	for (size_t i = 0; i < sql->n; i++) {
		double of = cJSON_GetArrayItem(w->rollback_of, (int)i)->valuedouble;
		if (any && of < (double)n) { /* -1, a setting, is < n too */
			sql->v[k] = sql->v[i];
			line[k++] = line[i];
			cJSON_AddItemToArray(kept, cJSON_CreateNumber((double)i));
		} else
			free(sql->v[i]);
	}
	sql->n = k;
	cJSON_AddItemToObject(done, "rollback_statements", kept);
	return true;
}

int rollback_run(struct watch *w, PGconn *act, cJSON *done)
{
	const char *why = NULL;
	if (PQstatus(act) != CONNECTION_OK)
		PQreset(act);
	const char *committed = forward_committed(&w->ap, act, done, &why);
	cJSON_AddStringToObject(done, "committed", committed);
	if (w->irreversible && cJSON_GetArraySize(w->irreversible) > 0)
		cJSON_AddItemToObject(done, "irreversible", cJSON_Duplicate(w->irreversible, 1));
	if (!strcmp(committed, "unknown")) {
		cJSON_AddBoolToObject(done, "ran_rollback_sql", false);
		cJSON_AddStringToObject(done, "reason", why);
		return 1;
	}
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
	if (!strcmp(committed, "part") && !committed_part(w, &sql, line, done)) {
		strv_release(&sql);
		free(line);
		return 1;
	}
	if (!sql.n) {
		cJSON_AddBoolToObject(done, "ran_rollback_sql", false);
		cJSON_AddStringToObject(done, "reason", "what committed has no rollback statement");
		strv_release(&sql);
		free(line);
		return 0;
	}
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
