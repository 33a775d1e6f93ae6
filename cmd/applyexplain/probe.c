/*
 * probe: measure blocking instead of guessing it.
 *
 * For each table a statement locks, a probe session tries what the
 * application does: a read (SELECT 1 FROM t LIMIT 1) and a representative
 * write (UPDATE of one row to itself, inside a transaction that is rolled
 * back; LOCK TABLE ... IN ROW EXCLUSIVE MODE when no column can be
 * written). A probe that goes straight through was not blocked (0 ms). A
 * probe that waits (pg_blocking_pids names a session) stays queued until the
 * migration's locks go away, like a real request would; it then measures
 * the wait, and the statement's blocked time is from the statement's start
 * to the probe getting through. A waiting probe holds no lock, so it cannot
 * block the migration; one waiting probe per (table, operation) is shared
 * by the later statements of the same transaction.
 *
 * Probe sessions have a lock_timeout and statement_timeout (--probe-timeout)
 * and are cancelled and closed at exit, whatever the path out.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "applyexplain.h"
#include "db.h"
#include "msg.h"
#include "pgvocab.h"
#include "xalloc.h"

#define PROBES_MAX 32

enum { OP_READ,
       OP_WRITE };

struct attach {
	cJSON *rec, *entry; /* the trace record and its probes[] entry */
	double t_start;
};

struct probe {
	PGconn *conn;
	int pid;
	char *table;
	int op;
	bool waiting;
	double t_sent;
	struct attach *att;
	size_t natt, capatt;
};

struct probes {
	const char *url;
	const struct opts *o;
	PGconn *mon;
	int mig_pid;
	struct probe *v[PROBES_MAX];
	size_t n;
	struct strv sql_keys, sql_vals; /* cache: "op table" -> probe SQL ("" when none) */
	bool warned;
};

static struct probes *all[8];

/* ---- cleanup ---- */

static void probe_close(struct probe *pr)
{
	if (pr->conn && PQtransactionStatus(pr->conn) == PQTRANS_ACTIVE) {
		PGcancel *cn = PQgetCancel(pr->conn);
		char eb[256];
		if (cn) {
			PQcancel(cn, eb, sizeof eb);
			PQfreeCancel(cn);
		}
	}
	db_close(pr->conn);
	pr->conn = NULL;
	free(pr->table);
	free(pr->att);
	free(pr);
}

void probes_cleanup_all(void)
{
	for (size_t k = 0; k < sizeof all / sizeof *all; k++) {
		struct probes *p = all[k];
		if (!p)
			continue;
		for (size_t i = 0; i < p->n; i++)
			probe_close(p->v[i]);
		p->n = 0;
	}
}

struct probes *probes_new(const char *url, const struct opts *o, PGconn *mon, int mig_pid)
{
	struct probes *p = xcalloc(1, sizeof(*p));
	p->url = url;
	p->o = o;
	p->mon = mon;
	p->mig_pid = mig_pid;
	for (size_t k = 0; k < sizeof all / sizeof *all; k++)
		if (!all[k]) {
			all[k] = p;
			break;
		}
	return p;
}

void probes_free(struct probes *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		probe_close(p->v[i]);
	for (size_t k = 0; k < sizeof all / sizeof *all; k++)
		if (all[k] == p)
			all[k] = NULL;
	strv_release(&p->sql_keys);
	strv_release(&p->sql_vals);
	free(p);
}

/* ---- what a probe runs ---- */

/* probe_sql_new: the SQL of a probe, or NULL when the table cannot be
 * probed (not visible to other sessions yet, a view, a write to a
 * materialized view). */
static char *probe_sql_new(struct probes *p, const char *table, int op)
{
	char *qt = db_quote_qualified_or_die(p->mon, table);
	const char *params[1] = {qt};
	PGresult *r = db_query_or_die(p->mon,
				      "SELECT c.relkind, (SELECT a.attname FROM pg_catalog.pg_attribute a "
				      "WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
				      "AND a.attgenerated = '' AND a.attidentity <> 'a' ORDER BY a.attnum LIMIT 1) "
				      "FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass($1)",
				      1, params);
	char *sql = NULL;
	if (PQntuples(r) == 1) {
		char kind = PQgetvalue(r, 0, 0)[0];
		const char *col = db_get(r, 0, "attname");
		if (op == OP_READ && (kind == 'r' || kind == 'p' || kind == 'm' || kind == 'f'))
			sql = xasprintf("SELECT 1 FROM %s LIMIT 1", qt);
		else if (op == OP_WRITE && (kind == 'r' || kind == 'p') && col) {
			char *qc = db_quote_ident_or_die(p->mon, col);
			sql = xasprintf("BEGIN; UPDATE %s SET %s = %s WHERE ctid = "
					"(SELECT ctid FROM %s LIMIT 1); ROLLBACK",
					qt, qc, qc, qt);
			free(qc);
		} else if (op == OP_WRITE && (kind == 'r' || kind == 'p'))
			sql = xasprintf("BEGIN; LOCK TABLE %s IN ROW EXCLUSIVE MODE; ROLLBACK", qt);
	}
	PQclear(r);
	free(qt);
	return sql;
}

static const char *probe_sql(struct probes *p, const char *table, int op)
{
	char *key = xasprintf("%d %s", op, table);
	long i = strv_index(&p->sql_keys, key);
	if (i < 0) {
		char *sql = probe_sql_new(p, table, op);
		strv_push_take(&p->sql_keys, key);
		strv_push_take(&p->sql_vals, sql ? sql : xstrdup(""));
		i = (long)p->sql_vals.n - 1;
	} else
		free(key);
	return *p->sql_vals.v[i] ? p->sql_vals.v[i] : NULL;
}

/* ---- sessions ---- */

static struct probe *probe_connect(struct probes *p);

static struct probe *probe_idle(struct probes *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (!p->v[i]->waiting)
			return p->v[i];
	return probe_connect(p);
}

void probes_prepare(struct probes *p, size_t n)
{
	while (p->n < n && p->n < PROBES_MAX)
		probe_connect(p);
}

static struct probe *probe_connect(struct probes *p)
{
	if (p->n == PROBES_MAX) {
		if (!p->warned)
			warning("more than %d tables wait at once: further probes skipped", PROBES_MAX);
		p->warned = true;
		return NULL;
	}
	struct db_opts dbo = DB_OPTS_INIT;
	dbo.statement_timeout_ms = p->o->probe_timeout_ms;
	struct msg_err cerr = MSG_ERR_INIT;
	PGconn *c = db_connect(p->url, &dbo, &cerr);
	if (!c)
		die_err(&cerr);
	PQsetNoticeProcessor(c, pgv_notice_quiet, NULL);
	char *set = xasprintf("SET lock_timeout = %d", p->o->probe_timeout_ms);
	db_exec_or_die(c, set);
	free(set);
	db_exec_or_die(c, "SET application_name = 'applyexplain-probe'");
	struct probe *pr = xcalloc(1, sizeof(*pr));
	pr->conn = c;
	pr->pid = PQbackendPID(c);
	p->v[p->n++] = pr;
	return pr;
}

/* probe_finish: drain the probe's results; true when it hit lock_timeout
 * or statement_timeout. Leaves the session idle, outside a transaction. */
static bool probe_finish(struct probe *pr)
{
	PGresult *r;
	bool timed_out = false;
	while ((r = PQgetResult(pr->conn))) {
		const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (st && (!strcmp(st, "55P03") || !strcmp(st, "57014")))
			timed_out = true;
		PQclear(r);
	}
	if (PQtransactionStatus(pr->conn) != PQTRANS_IDLE)
		PQclear(PQexec(pr->conn, "ROLLBACK"));
	return timed_out;
}

static bool blocked_now(struct probes *p, int pid)
{
	char pidbuf[16];
	const char *params[1] = {pidbuf};
	snprintf(pidbuf, sizeof pidbuf, "%d", pid);
	PGresult *r = db_query_or_die(p->mon, "SELECT pg_catalog.cardinality(pg_catalog.pg_blocking_pids($1::int4)) > 0",
				      1, params);
	bool b = PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	return b;
}

/* wait_ready: up to ms for input on the probe's socket; true when done. */
static bool probe_done(struct probe *pr, int ms)
{
	struct pollfd pfd = {PQsocket(pr->conn), POLLIN, 0};
	if (!PQconsumeInput(pr->conn))
		return true;
	if (!PQisBusy(pr->conn))
		return true;
	if (ms > 0 && poll(&pfd, 1, ms) > 0 && !PQconsumeInput(pr->conn))
		return true;
	return !PQisBusy(pr->conn);
}

static cJSON *new_entry(cJSON *rec, const char *table, int op)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(rec, "probes");
	if (!arr)
		arr = cJSON_AddArrayToObject(rec, "probes");
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "table", table);
	cJSON_AddStringToObject(e, "op", op == OP_READ ? "read" : "write");
	cJSON_AddItemToArray(arr, e);
	return e;
}

static double round1(double ms)
{
	return (double)(long long)(ms * 10 + 0.5) / 10;
}

static void set_blocked(cJSON *rec, cJSON *entry, int op, double ms, bool timed_out)
{
	const char *field = op == OP_READ ? "blocked_read_ms" : "blocked_write_ms";
	cJSON *cur = cJSON_GetObjectItemCaseSensitive(rec, field);
	ms = round1(ms);
	cJSON_AddNumberToObject(entry, "blocked_ms", ms);
	if (timed_out)
		cJSON_AddBoolToObject(entry, "timed_out", true);
	if (!cur)
		cJSON_AddNumberToObject(rec, field, ms);
	else if (!cJSON_IsNumber(cur))
		cJSON_ReplaceItemInObjectCaseSensitive(rec, field, cJSON_CreateNumber(ms));
	else if (ms > cur->valuedouble)
		cJSON_SetNumberValue(cur, ms);
}

static void attach(struct probe *pr, cJSON *rec, cJSON *entry, double t_start)
{
	xgrow(&pr->att, &pr->capatt, pr->natt + 1, sizeof(*pr->att));
	pr->att[pr->natt++] = (struct attach){rec, entry, t_start};
}

static void start_one(struct probes *p, const char *table, int op, cJSON *rec, double t_start)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i]->waiting && p->v[i]->op == op && !strcmp(p->v[i]->table, table)) {
			attach(p->v[i], rec, new_entry(rec, table, op), t_start);
			return;
		}
	const char *sql = probe_sql(p, table, op);
	struct probe *pr = sql ? probe_idle(p) : NULL;
	if (!pr)
		return;
	cJSON *entry = new_entry(rec, table, op);
	pr->t_sent = now_ms();
	if (!PQsendQuery(pr->conn, sql))
		die_code(EXIT_RUNTIME, "probe: %s", PQerrorMessage(pr->conn));
	for (int round = 0; !probe_done(pr, 1); round++) {
		if (blocked_now(p, pr->pid) || round > 5000) {
			free(pr->table);
			pr->table = xstrdup(table);
			pr->op = op;
			pr->waiting = true;
			attach(pr, rec, entry, t_start);
			return;
		}
	}
	bool to = probe_finish(pr);
	cJSON_AddNumberToObject(entry, "waited_ms", round1(now_ms() - pr->t_sent));
	set_blocked(rec, entry, op, 0, to);
}

void probes_start(struct probes *p, const char *table, cJSON *rec, double t_start)
{
	start_one(p, table, OP_READ, rec, t_start);
	start_one(p, table, OP_WRITE, rec, t_start);
}

void probes_settle(struct probes *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct probe *pr = p->v[i];
		if (!pr->waiting)
			continue;
		while (!probe_done(pr, 100))
			;
		double t_done = now_ms();
		bool to = probe_finish(pr);
		for (size_t k = 0; k < pr->natt; k++) {
			struct attach *a = &pr->att[k];
			cJSON_AddNumberToObject(a->entry, "waited_ms", round1(t_done - pr->t_sent));
			set_blocked(a->rec, a->entry, pr->op, t_done - a->t_start, to);
		}
		pr->natt = 0;
		pr->waiting = false;
	}
}
