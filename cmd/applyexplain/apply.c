/*
 * apply: the forward migration on the shadow, statement by statement.
 *
 * Transactions as the deployment tool makes them: the whole script is one
 * transaction (or each statement is its own, --no-transaction); a script's
 * own BEGIN/COMMIT are obeyed instead; a statement that cannot run in a
 * transaction block (CONCURRENTLY, VACUUM) first commits the open wrapper
 * and runs alone. Each traced statement runs inside a savepoint, so that a
 * failure can be measured (its offending rows counted) before the
 * transaction is rolled back as the deployment would.
 *
 * Locks: relation locks stay held to the end of the transaction, so after a
 * statement the backend's pg_locks rows show what it took. A statement's
 * locks are, per table, the strongest (oid, mode) pair that is new since the
 * previous statement; a table the statement names that has no new pair gets
 * the strongest mode the transaction already holds on it (it re-took one of
 * them). A statement outside a transaction is sampled while it runs, from a
 * second session (locks_complete false). Tables appear under the name they
 * had before the statement; index and sequence locks are left out (as in
 * the lock truth, tests/locks).
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "applyexplain.h"
#include "catalog.h"
#include "db.h"
#include "msg.h"
#include "nd.h"
#include "pgvocab.h"
#include "xalloc.h"

struct pairs {
	unsigned long *oid;
	int *rank;
	size_t n, cap, cap2;
};

static void pairs_add(struct pairs *p, unsigned long oid, int rank)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->oid[i] == oid && p->rank[i] == rank)
			return;
	xgrow(&p->oid, &p->cap, p->n + 1, sizeof(*p->oid));
	xgrow(&p->rank, &p->cap2, p->n + 1, sizeof(*p->rank));
	p->oid[p->n] = oid;
	p->rank[p->n++] = rank;
}

static bool pairs_has(const struct pairs *p, unsigned long oid, int rank)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->oid[i] == oid && p->rank[i] == rank)
			return true;
	return false;
}

static void pairs_release(struct pairs *p)
{
	free(p->oid);
	free(p->rank);
	memset(p, 0, sizeof(*p));
}

/* read_pairs: the relation locks backend pid holds or awaits, read on c. */
static void read_pairs(PGconn *c, int pid, bool granted_only, struct pairs *out)
{
	char pidbuf[16];
	const char *params[1] = {pidbuf};
	snprintf(pidbuf, sizeof pidbuf, "%d", pid);
	PGresult *r = db_query_or_die(c,
				      "SELECT l.relation::int8, l.mode, l.granted FROM pg_catalog.pg_locks l "
				      "WHERE l.pid = $1::int4 AND l.locktype = 'relation' AND l.database = "
				      "(SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())",
				      1, params);
	for (int i = 0; i < PQntuples(r); i++) {
		int rank = lock_rank(PQgetvalue(r, i, 1));
		if (rank && (!granted_only || PQgetvalue(r, i, 2)[0] == 't'))
			pairs_add(out, strtoul(PQgetvalue(r, i, 0), NULL, 10), rank);
	}
	PQclear(r);
}

/* ---- lock lists ---- */

struct tlock {
	char *table;
	int rank;
};

struct tlocks {
	struct tlock *v;
	size_t n, cap;
};

static void tlocks_add(struct tlocks *t, const char *table, int rank)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].table, table)) {
			if (rank > t->v[i].rank)
				t->v[i].rank = rank;
			return;
		}
	xgrow(&t->v, &t->cap, t->n + 1, sizeof(*t->v));
	t->v[t->n++] = (struct tlock){xstrdup(table), rank};
}

static void tlocks_release(struct tlocks *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].table);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static int cmp_tlock(const void *a, const void *b)
{
	return strcmp(((const struct tlock *)a)->table, ((const struct tlock *)b)->table);
}

static cJSON *tlocks_json(struct tlocks *t)
{
	cJSON *a = cJSON_CreateArray();
	if (t->n)
		qsort(t->v, t->n, sizeof(*t->v), cmp_tlock);
	for (size_t i = 0; i < t->n; i++) {
		cJSON *l = cJSON_CreateObject();
		cJSON_AddStringToObject(l, "table", t->v[i].table);
		cJSON_AddStringToObject(l, "mode", lock_name(t->v[i].rank));
		cJSON_AddItemToArray(a, l);
	}
	return a;
}

/* name_of: a locked relation's name if it is a table-like relation: the
 * name before the statement, else (created by it) the name after. */
static const struct rel *name_of(const struct rels *before, const struct rels *after, unsigned long oid)
{
	const struct rel *r = rels_find(before, oid);
	if (!r)
		r = rels_find(after, oid);
	return r && rel_is_table(r->kind) ? r : NULL;
}

/* stmt_locks: the statement's own locks (see the file comment). */
static void stmt_locks(const struct pairs *held, const struct pairs *now, const struct rels *before,
		       const struct rels *after, const struct strv *named, struct tlocks *out)
{
	for (size_t i = 0; i < now->n; i++) {
		const struct rel *r = name_of(before, after, now->oid[i]);
		if (r && !pairs_has(held, now->oid[i], now->rank[i]))
			tlocks_add(out, r->name, now->rank[i]);
	}
	for (size_t k = 0; k < named->n; k++) {
		const struct rel *r = rels_find_name(before, named->v[k]);
		bool seen = false;
		int best = 0;
		if (!r || !rel_is_table(r->kind))
			continue;
		for (size_t i = 0; i < out->n; i++)
			seen |= !strcmp(out->v[i].table, r->name);
		for (size_t i = 0; !seen && i < now->n; i++)
			if (now->oid[i] == r->oid && now->rank[i] > best)
				best = now->rank[i];
		if (!seen && best)
			tlocks_add(out, r->name, best);
	}
}

static void all_locks(const struct pairs *now, const struct rels *before, const struct rels *after,
		      struct tlocks *out)
{
	for (size_t i = 0; i < now->n; i++) {
		const struct rel *r = name_of(before, after, now->oid[i]);
		if (r)
			tlocks_add(out, r->name, now->rank[i]);
	}
}

/* ---- rewrites and scans ---- */

static cJSON *rewrites_json(const struct rels *before, const struct rels *after, struct strv *names)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < before->n; i++) {
		const struct rel *b = &before->v[i], *r;
		if (b->kind != 'r' && b->kind != 'm')
			continue;
		r = rels_find(after, b->oid);
		if (r && r->filenode != b->filenode) {
			cJSON_AddItemToArray(a, cJSON_CreateString(b->name));
			strv_push(names, b->name);
		}
	}
	return a;
}

struct scanstat {
	unsigned long *oid;
	double *tup;
	size_t n;
};

static void scans_take(PGconn *c, struct scanstat *s)
{
	PGresult *r = db_query_or_die(c, "SELECT relid::int8, seq_tup_read FROM pg_catalog.pg_stat_xact_user_tables", 0, NULL);
	s->n = (size_t)PQntuples(r);
	s->oid = xcalloc(s->n + 1, sizeof(*s->oid));
	s->tup = xcalloc(s->n + 1, sizeof(*s->tup));
	for (size_t i = 0; i < s->n; i++) {
		s->oid[i] = strtoul(PQgetvalue(r, (int)i, 0), NULL, 10);
		s->tup[i] = strtod(PQgetvalue(r, (int)i, 1), NULL);
	}
	PQclear(r);
}

static void scans_release(struct scanstat *s)
{
	free(s->oid);
	free(s->tup);
	memset(s, 0, sizeof(*s));
}

static cJSON *scans_json(const struct scanstat *before, const struct scanstat *after, const struct rels *rels,
			 struct strv *names)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < after->n; i++) {
		double prev = 0;
		for (size_t k = 0; k < before->n; k++)
			if (before->oid[k] == after->oid[i])
				prev = before->tup[k];
		const struct rel *r = rels_find(rels, after->oid[i]);
		if (after->tup[i] > prev && r) {
			cJSON_AddItemToArray(a, cJSON_CreateString(r->name));
			strv_push(names, r->name);
		}
	}
	return a;
}

/* ---- statement kinds ---- */

static bool has_defelem(const cJSON *list, const char *name)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
	{
		const char *n = sql_jstr(sql_node(it, "DefElem"), "defname");
		if (n && !strcmp(n, name))
			return true;
	}
	return false;
}

bool stmt_notx(const struct sql_stmt *st)
{
	if (!strcmp(st->type, "IndexStmt") || !strcmp(st->type, "DropStmt"))
		return sql_jbool(st->node, "concurrent");
	if (!strcmp(st->type, "ReindexStmt"))
		return has_defelem(sql_jget(st->node, "params"), "concurrently");
	if (!strcmp(st->type, "VacuumStmt"))
		return sql_jbool(st->node, "is_vacuumcmd");
	if (!strcmp(st->type, "AlterTableStmt")) {
		const cJSON *it;
		cJSON_ArrayForEach(it, sql_jget(st->node, "cmds"))
		{
			const cJSON *cmd = sql_node(it, "AlterTableCmd");
			const cJSON *def = sql_jget(cmd, "def");
			if (sql_jbool(sql_node(def, "PartitionCmd"), "concurrent"))
				return true;
		}
	}
	return !strcmp(st->type, "CreatedbStmt") || !strcmp(st->type, "DropdbStmt") ||
	       !strcmp(st->type, "CreateTableSpaceStmt") || !strcmp(st->type, "DropTableSpaceStmt");
}

double scale_of(const struct shadow *sh, const char *table)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, sh->samples)
	{
		const char *t = nd_get_str(s, "table");
		const cJSON *src = cJSON_GetObjectItemCaseSensitive(s, "source_rows");
		const cJSON *rows = cJSON_GetObjectItemCaseSensitive(s, "rows");
		if (t && !strcmp(t, table) && cJSON_IsNumber(src) && cJSON_IsNumber(rows) && rows->valuedouble > 0)
			return src->valuedouble / rows->valuedouble;
	}
	return pgv_sample_scale(sh->sample_percent);
}

/* ---- what a DROP destroys ---- */

static void count_destroyed(PGconn *c, const char *table, const char *column, cJSON *into, cJSON *all)
{
	char *schema, *name;
	cat_split_qname(table, &schema, &name);
	char *qs = db_quote_ident_or_die(c, schema), *qn = db_quote_ident_or_die(c, name);
	char *qc = column ? db_quote_ident_or_die(c, column) : NULL;
	char *sql = xasprintf("SELECT count(*), %s%s%s FROM %s.%s", qc ? "count(" : "NULL", qc ? qc : "", qc ? ")" : "",
			      qs, qn);
	PGresult *r = try_query(c, sql);
	if (r) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "table", table);
		if (column) {
			cJSON_AddStringToObject(o, "column", column);
			cJSON_AddNumberToObject(o, "values", strtod(PQgetvalue(r, 0, 1), NULL));
		}
		cJSON_AddNumberToObject(o, "rows", strtod(PQgetvalue(r, 0, 0), NULL));
		cJSON_AddItemToArray(all, cJSON_Duplicate(o, true));
		cJSON_AddItemToArray(into, o);
	}
	PQclear(r);
	free(sql);
	free(qs);
	free(qn);
	free(qc);
	free(schema);
	free(name);
}

/* destroys: rows of dropped tables and values of dropped columns, counted
 * before the statement runs. NULL when it drops neither. */
static cJSON *destroys(PGconn *c, const struct sql_stmt *st, cJSON *all)
{
	cJSON *into = cJSON_CreateArray();
	const cJSON *it;
	const char *rt = sql_jstr(st->node, "removeType");
	if (!strcmp(st->type, "DropStmt") && rt && !strcmp(rt, "OBJECT_TABLE")) {
		cJSON_ArrayForEach(it, sql_jget(st->node, "objects"))
		{
			struct strv names = STRV_INIT;
			sql_name_list(sql_jget(sql_node(it, "List"), "items"), &names);
			if (names.n) {
				char *q = names.n > 1 ? xasprintf("%s.%s", names.v[names.n - 2], names.v[names.n - 1])
						      : xasprintf("%s.%s", ae_schema, names.v[0]);
				count_destroyed(c, q, NULL, into, all);
				free(q);
			}
			strv_release(&names);
		}
	}
	if (!strcmp(st->type, "AlterTableStmt")) {
		const cJSON *rel = sql_jget(st->node, "relation");
		char *q = xasprintf("%s.%s", sql_jstr(rel, "schemaname") ? sql_jstr(rel, "schemaname") : ae_schema,
				    sql_jstr(rel, "relname"));
		cJSON_ArrayForEach(it, sql_jget(st->node, "cmds"))
		{
			const cJSON *cmd = sql_node(it, "AlterTableCmd");
			const char *sub = sql_jstr(cmd, "subtype");
			if (sub && !strcmp(sub, "AT_DropColumn"))
				count_destroyed(c, q, sql_jstr(cmd, "name"), into, all);
		}
		free(q);
	}
	if (cJSON_GetArraySize(into) == 0) {
		cJSON_Delete(into);
		return NULL;
	}
	return into;
}

/* ---- running one statement ---- */

struct txstate {
	bool wrapper;	   /* our own BEGIN is open */
	struct pairs held; /* (oid, mode) pairs held after the previous statement */
	struct probes *probes;
};

static void must(PGconn *c, const char *sql)
{
	db_exec_or_die(c, sql);
}

/* tx_end: the migration's transaction ended: probes get through. */
static void tx_end(struct txstate *tx)
{
	if (tx->probes)
		probes_settle(tx->probes);
	pairs_release(&tx->held);
}

static void wait_result(struct shadow *sh, bool sample, struct pairs *sampled, struct txstate *tx,
			cJSON *rec, double t0, const struct rels *before, struct strv *probed)
{
	int pid = PQbackendPID(sh->mig);
	struct pollfd pfd = {PQsocket(sh->mig), POLLIN, 0};
	for (;;) {
		if (!PQconsumeInput(sh->mig))
			die_code(EXIT_RUNTIME, "lost the shadow connection: %s", PQerrorMessage(sh->mig));
		if (!PQisBusy(sh->mig))
			return;
		if (!sample) {
			poll(&pfd, 1, 1000);
			continue;
		}
		struct pairs now = {0};
		read_pairs(sh->mon, pid, false, &now);
		for (size_t i = 0; i < now.n; i++) {
			pairs_add(sampled, now.oid[i], now.rank[i]);
			const struct rel *r = rels_find(before, now.oid[i]);
			if (tx->probes && r && rel_is_table(r->kind) && strv_index(probed, r->name) < 0) {
				strv_push(probed, r->name);
				probes_start(tx->probes, r->name, rec, t0);
			}
		}
		pairs_release(&now);
		poll(&pfd, 1, 2);
	}
}

struct outcome {
	PGresult *err; /* the failing result, or NULL */
	char *rows;    /* PQcmdTuples of the last result, or NULL */
};

static void collect(PGconn *c, struct outcome *oc)
{
	PGresult *r;
	while ((r = PQgetResult(c))) {
		ExecStatusType s = PQresultStatus(r);
		if (s == PGRES_COPY_IN || s == PGRES_COPY_OUT) {
			PQclear(r);
			die_code(EXIT_INPUT, "COPY FROM STDIN / TO STDOUT cannot run in applyexplain");
		}
		if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_EMPTY_QUERY && !oc->err) {
			oc->err = r;
			continue;
		}
		if (*PQcmdTuples(r)) {
			free(oc->rows);
			oc->rows = xstrdup(PQcmdTuples(r));
		}
		PQclear(r);
	}
}

static void add_num_or_null(cJSON *o, const char *k, double v, bool known)
{
	if (known)
		cJSON_AddNumberToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static double round1(double ms)
{
	return (double)(long long)(ms * 10 + 0.5) / 10;
}

/* estimate: the statement's time scaled to production when its work grows
 * with the rows (a rewrite, a scan, an index build, DML). */
static void estimate(struct shadow *sh, cJSON *rec, const struct sql_stmt *st, const struct tlocks *locks,
		     const struct strv *worked, bool rows)
{
	double scale = 1;
	bool grows = worked->n > 0 || rows || !strcmp(st->type, "IndexStmt");
	for (size_t i = 0; grows && i < locks->n; i++) {
		double s = scale_of(sh, locks->v[i].table);
		if (s > scale)
			scale = s;
	}
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(rec, "ms");
	cJSON_AddNumberToObject(rec, "scale", round1(scale));
	cJSON_AddNumberToObject(rec, "est_ms", round1(ms->valuedouble * scale));
}

/* named_index_tables: DROP INDEX locks the index's table too: name it. */
static void named_index_tables(const struct sql_stmt *st, const struct rels *before, struct strv *named)
{
	struct strv idx = STRV_INIT;
	stmt_dropped_indexes(st, &idx);
	for (size_t i = 0; i < idx.n; i++) {
		const struct rel *ix = rels_find_name(before, idx.v[i]);
		const struct rel *t = ix && ix->table_oid ? rels_find(before, ix->table_oid) : NULL;
		if (t && strv_index(named, t->name) < 0)
			strv_push(named, t->name);
	}
	strv_release(&idx);
}

/* trace_stmt: run statement i and build its trace record; false when it failed. */
/* ---- what only a superuser can do ---- */

/* The one thing a migration may need a superuser for: an untrusted
 * extension (postgis, plpython3u, ...). Its scripts are the server's own
 * files, not the migration's text, so applyexplain creates it on the
 * shadow deliberately, as its own (superuser) session, rebuilt from the
 * statement's tree by the server's format(), and says so in the trace.
 * $1 name, $2 schema, $3 version, $4 cascade. */
#define UNTRUSTED_EXT_SQL                                                                                              \
	"SELECT format('CREATE EXTENSION IF NOT EXISTS %I', $1::text) || "                                             \
	"CASE WHEN $2::text IS NULL THEN '' ELSE format(' SCHEMA %I', $2::text) END || "                               \
	"CASE WHEN $3::text IS NULL THEN '' ELSE format(' VERSION %L', $3::text) END || "                              \
	"CASE WHEN $4::bool THEN ' CASCADE' ELSE '' END AS stmt "                                                      \
	"FROM pg_catalog.pg_available_extension_versions v JOIN pg_catalog.pg_available_extensions a "                 \
	"USING (name) WHERE v.name = $1 AND v.version = coalesce($3, a.default_version) AND NOT v.trusted "            \
	"AND a.installed_version IS NULL AND (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) " \
	"AND current_user <> $5::text"

static const char *defelem_str(const cJSON *list, const char *name)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
	{
		const cJSON *d = sql_node(it, "DefElem");
		const char *n = sql_jstr(d, "defname");
		if (n && !strcmp(n, name))
			return sql_strval(sql_jget(d, "arg"));
	}
	return NULL;
}

/* superuser_stmt: the statement our own session runs for st (a CREATE
 * EXTENSION of an untrusted extension, available and not installed, when
 * the migration runs as a contained role and our session is a superuser),
 * or NULL. */
static char *superuser_stmt(struct shadow *sh, const struct sql_stmt *st)
{
	if (strcmp(st->type, "CreateExtensionStmt"))
		return NULL;
	const cJSON *opts = sql_jget(st->node, "options");
	const char *p[5] = {sql_jstr(st->node, "extname"), defelem_str(opts, "schema"),
			    defelem_str(opts, "new_version"), has_defelem(opts, "cascade") ? "t" : "f",
			    PQuser(sh->mig)};
	if (!p[0])
		return NULL;
	PGresult *r = db_query_or_die(sh->mon, UNTRUSTED_EXT_SQL, 5, p);
	char *stmt = PQntuples(r) == 1 ? xstrdup(db_get(r, 0, "stmt")) : NULL;
	PQclear(r);
	return stmt;
}

/* Done before any statement of any migration runs, so that nothing the
 * migration's role made (a function or operator planted in a schema the
 * extension's script searches) can run with the superuser's rights. */
void superuser_extensions(struct shadow *sh, const cJSON *migrations)
{
	const cJSON *mig;
	cJSON_ArrayForEach(mig, migrations)
	{
		struct sql_script s;
		struct sql_error err;
		if (sql_parse(&s, nd_get_str(mig, "forward"), &err) < 0) {
			sql_error_release(&err);
			continue; /* reported when the migration is applied */
		}
		for (size_t i = 0; i < s.n; i++) {
			char *stmt = superuser_stmt(sh, &s.stmts[i]);
			if (!stmt)
				continue;
			PGresult *r = PQexec(sh->mon, stmt);
			if (PQresultStatus(r) == PGRES_COMMAND_OK) {
				warning("%s: line %d: %s: an untrusted extension, created by applyexplain as the "
					"shadow's superuser before the migration ran (the migration's role may not)",
					nd_get_str(mig, "id"), s.stmts[i].line, stmt);
				strv_push(&sh->by_superuser, sql_jstr(s.stmts[i].node, "extname"));
			}
			PQclear(r);
			free(stmt);
		}
		sql_script_release(&s);
	}
}

/* trace_superuser: the trace of a CREATE EXTENSION that
 * superuser_extensions did in the migration's place: not run again. */
static bool trace_superuser(const char *id, const struct sql_stmt *st, size_t i, char *sql, struct run *run)
{
	cJSON *rec = nd_record("trace");
	cJSON_AddStringToObject(rec, "migration", id);
	cJSON_AddNumberToObject(rec, "statement", (double)i);
	cJSON_AddNumberToObject(rec, "line", st->line);
	cJSON_AddStringToObject(rec, "sql", sql);
	cJSON_AddBoolToObject(rec, "in_transaction", false);
	cJSON_AddStringToObject(rec, "superuser",
				"an untrusted extension: created by applyexplain as the shadow's superuser before the "
				"migration ran, not by the migration's role; in production it needs a superuser too");
	cJSON_AddNumberToObject(rec, "ms", 0);
	cJSON_AddItemToObject(rec, "locks", cJSON_CreateArray());
	cJSON_AddBoolToObject(rec, "locks_complete", false);
	cJSON_AddItemToObject(rec, "rewrites", cJSON_CreateArray());
	cJSON_AddNullToObject(rec, "scans");
	cJSON_AddNullToObject(rec, "rows");
	cJSON_AddNullToObject(rec, "error");
	cJSON_AddItemToObject(rec, "violations", cJSON_CreateArray());
	cJSON_AddNullToObject(rec, "blocked_read_ms");
	cJSON_AddNullToObject(rec, "blocked_write_ms");
	cJSON_AddItemToArray(run->traces, rec);
	free(sql);
	return true;
}

static bool by_superuser(const struct shadow *sh, const struct sql_stmt *st)
{
	return !strcmp(st->type, "CreateExtensionStmt") && strv_index(&sh->by_superuser, sql_jstr(st->node, "extname")) >= 0;
}

static bool trace_stmt(struct shadow *sh, struct txstate *tx, const char *id, const struct sql_script *s, size_t i,
		       struct run *run)
{
	if (by_superuser(sh, &s->stmts[i]))
		return trace_superuser(id, &s->stmts[i], i, sql_stmt_text(s, &s->stmts[i]), run);
	const struct sql_stmt *st = &s->stmts[i];
	char *sql = sql_stmt_text(s, st);
	bool in_tx = PQtransactionStatus(sh->mig) == PQTRANS_INTRANS;
	cJSON *rec = nd_record("trace");
	cJSON_AddStringToObject(rec, "migration", id);
	cJSON_AddNumberToObject(rec, "statement", (double)i);
	cJSON_AddNumberToObject(rec, "line", st->line);
	cJSON_AddStringToObject(rec, "sql", sql);
	cJSON_AddBoolToObject(rec, "in_transaction", in_tx);
	cJSON_AddItemToArray(run->traces, rec);

	struct rels before, after;
	struct scanstat sc0 = {0}, sc1 = {0};
	struct strv named = STRV_INIT, worked = STRV_INIT, probed = STRV_INIT;
	struct pairs now = {0};
	struct outcome oc = {0};
	tree_tables(st->node, &named);
	rels_take(sh->mig, &before);
	named_index_tables(st, &before, &named);
	cJSON *destroyed = destroys(sh->mig, st, run->destroyed);
	if (in_tx) {
		must(sh->mig, "SAVEPOINT applyexplain_stmt");
		scans_take(sh->mig, &sc0);
	}
	double t0 = now_ms();
	if (!PQsendQuery(sh->mig, sql))
		die_code(EXIT_RUNTIME, "cannot send a statement: %s", PQerrorMessage(sh->mig));
	wait_result(sh, !in_tx, &now, tx, rec, t0, &before, &probed);
	double ms = now_ms() - t0;
	collect(sh->mig, &oc);
	if (PQstatus(sh->mig) == CONNECTION_BAD) { /* not the statement's failure: the session's */
		const char *why = oc.err ? PQresultErrorMessage(oc.err) : PQerrorMessage(sh->mig);
		die_code(EXIT_RUNTIME, "%s: statement %zu (line %d): lost the connection to the shadow: %.*s", id, i,
			 st->line, (int)strcspn(why, "\n"), why);
	}
	cJSON_AddNumberToObject(rec, "ms", round1(ms));

	struct tlocks locks = {0}, held = {0};
	cJSON *violations = cJSON_CreateArray();
	if (in_tx && oc.err) /* the aborted transaction still holds its locks */
		read_pairs(sh->mon, PQbackendPID(sh->mig), false, &now);
	else if (in_tx)
		read_pairs(sh->mig, PQbackendPID(sh->mig), false, &now);
	if (in_tx && oc.err)
		must(sh->mig, "ROLLBACK TO SAVEPOINT applyexplain_stmt");
	rels_take(sh->mig, &after);
	if (in_tx) {
		/* a failed statement released what it took (AbortSubTransaction):
		 * only what it took before failing and still shows is reported */
		struct strv none = STRV_INIT;
		stmt_locks(&tx->held, &now, &before, &after, oc.err ? &none : &named, &locks);
		all_locks(&now, &before, &after, &held);
	} else
		all_locks(&now, &before, &after, &locks);
	cJSON_AddItemToObject(rec, "locks", tlocks_json(&locks));
	cJSON_AddBoolToObject(rec, "locks_complete", in_tx && !oc.err);
	if (in_tx)
		cJSON_AddItemToObject(rec, "held", tlocks_json(&held));
	if (!oc.err) {
		cJSON_AddItemToObject(rec, "rewrites", rewrites_json(&before, &after, &worked));
		if (in_tx) {
			scans_take(sh->mig, &sc1);
			cJSON_AddItemToObject(rec, "scans", scans_json(&sc0, &sc1, &before, &worked));
		} else
			cJSON_AddNullToObject(rec, "scans");
		add_num_or_null(rec, "rows", oc.rows ? strtod(oc.rows, NULL) : 0, oc.rows != NULL);
		cJSON_AddNullToObject(rec, "error");
		if (in_tx)
			must(sh->mig, "RELEASE SAVEPOINT applyexplain_stmt");
	} else {
		cJSON_AddItemToObject(rec, "rewrites", cJSON_CreateArray());
		cJSON_AddNullToObject(rec, "scans");
		cJSON_AddNullToObject(rec, "rows");
		cJSON_AddStringToObject(rec, "error", PQresultErrorField(oc.err, PG_DIAG_MESSAGE_PRIMARY));
		const char *state = PQresultErrorField(oc.err, PG_DIAG_SQLSTATE);
		cJSON_AddStringToObject(rec, "sqlstate", state ? state : "");
		cJSON *v = violation_of(sh->mig, oc.err, st, s->text);
		if (v) {
			cJSON_AddItemToArray(violations, v);
			run->violations++;
		}
		run->error = xstrdup(PQresultErrorField(oc.err, PG_DIAG_MESSAGE_PRIMARY));
	}
	cJSON_AddItemToObject(rec, "violations", violations);
	if (destroyed)
		cJSON_AddItemToObject(rec, "destroys", destroyed);
	estimate(sh, rec, st, &locks, &worked, oc.rows && strtod(oc.rows, NULL) > 0);
	if (tx->probes) {
		if (!cJSON_HasObjectItem(rec, "blocked_read_ms")) /* a sampled statement may have some */
			cJSON_AddNumberToObject(rec, "blocked_read_ms", 0);
		if (!cJSON_HasObjectItem(rec, "blocked_write_ms"))
			cJSON_AddNumberToObject(rec, "blocked_write_ms", 0);
		if (in_tx && !oc.err)
			for (size_t k = 0; k < locks.n; k++)
				probes_start(tx->probes, locks.v[k].table, rec, t0);
		if (!in_tx)
			probes_settle(tx->probes);
	} else {
		cJSON_AddNullToObject(rec, "blocked_read_ms");
		cJSON_AddNullToObject(rec, "blocked_write_ms");
	}
	if (in_tx && !oc.err) {
		pairs_release(&tx->held);
		tx->held = now;
	} else
		pairs_release(&now);
	bool ok = oc.err == NULL;
	PQclear(oc.err);
	free(oc.rows);
	tlocks_release(&locks);
	tlocks_release(&held);
	rels_release(&before);
	rels_release(&after);
	scans_release(&sc0);
	scans_release(&sc1);
	strv_release(&named);
	strv_release(&worked);
	strv_release(&probed);
	free(sql);
	return ok;
}

/* ---- the script ---- */

static bool is_tx_control(const struct sql_stmt *st)
{
	return !strcmp(st->type, "TransactionStmt");
}

/* is_tx_setting: SET TRANSACTION / SET SESSION CHARACTERISTICS, which must
 * come before any query of its transaction: it runs untraced, since the
 * tracer's own catalog queries on the migration's connection would come
 * first and PostgreSQL would refuse what the deployment accepts. */
static bool is_tx_setting(const struct sql_stmt *st)
{
	if (strcmp(st->type, "VariableSetStmt"))
		return false;
	const char *name = sql_jstr(st->node, "name");
	return name && (!strcmp(name, "TRANSACTION") || !strcmp(name, "SESSION CHARACTERISTICS") ||
			!strcmp(name, "TRANSACTION SNAPSHOT"));
}

/* run_control: a script's own BEGIN/COMMIT/...; false when it failed. */
static bool run_control(struct shadow *sh, struct txstate *tx, const char *sql, char **error)
{
	PGresult *r = PQexec(sh->mig, sql);
	ExecStatusType rs = PQresultStatus(r);
	bool ok = rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK || rs == PGRES_EMPTY_QUERY;
	if (!ok && error)
		*error = xstrdup(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
	PQclear(r);
	if (PQtransactionStatus(sh->mig) == PQTRANS_IDLE)
		tx_end(tx);
	return ok;
}

static void open_wrapper(struct shadow *sh, struct txstate *tx)
{
	must(sh->mig, "BEGIN");
	tx->wrapper = true;
}

static void close_wrapper(struct shadow *sh, struct txstate *tx, bool commit)
{
	if (PQtransactionStatus(sh->mig) != PQTRANS_IDLE)
		must(sh->mig, commit ? "COMMIT" : "ROLLBACK");
	tx->wrapper = false;
	tx_end(tx);
}

static bool script_has_control(const struct sql_script *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (is_tx_control(&s->stmts[i]))
			return true;
	return false;
}

/* run_script: the shared walk of apply_traced and apply_plain. With run
 * NULL, statements just run. Returns false at the first failure. */
static bool run_script(struct shadow *sh, const char *id, const struct sql_script *s, struct run *run,
		       char **error)
{
	struct txstate tx = {0};
	bool explicit_tx = script_has_control(s), ok = true;
	if (run && !sh->o->no_probes) {
		struct strv named = STRV_INIT;
		for (size_t i = 0; i < s->n; i++)
			tree_tables(s->stmts[i].node, &named);
		tx.probes = probes_new(sh->url, sh->o, sh->mon, PQbackendPID(sh->mig));
		probes_prepare(tx.probes, 2 * (named.n ? named.n : 1));
		strv_release(&named);
	}
	for (size_t i = 0; i < s->n && ok; i++) {
		const struct sql_stmt *st = &s->stmts[i];
		char *sql = sql_stmt_text(s, st);
		if (run)
			progress(sh->o, "%s: statement %zu of %zu (line %d, %s)", id, i + 1, s->n, st->line, st->type);
		if (is_tx_control(st)) {
			ok = run_control(sh, &tx, sql, run ? &run->error : error);
		} else {
			bool notx = stmt_notx(st);
			if (notx && tx.wrapper)
				close_wrapper(sh, &tx, true);
			if (!notx && !explicit_tx && !tx.wrapper)
				open_wrapper(sh, &tx);
			if (run && !is_tx_setting(st))
				ok = trace_stmt(sh, &tx, id, s, i, run);
			else
				ok = run_control(sh, &tx, sql, run ? &run->error : error);
			if (!ok && run)
				run->failed_stmt = (int)i;
			if (ok && tx.wrapper && sh->o->no_transaction)
				close_wrapper(sh, &tx, true);
		}
		free(sql);
	}
	if (!ok && PQtransactionStatus(sh->mig) != PQTRANS_IDLE)
		close_wrapper(sh, &tx, false);
	else if (tx.wrapper || PQtransactionStatus(sh->mig) != PQTRANS_IDLE) {
		if (!tx.wrapper && ok && run)
			warning("%s: the script leaves a transaction open; applyexplain commits it", id);
		close_wrapper(sh, &tx, true);
	}
	tx_end(&tx);
	probes_free(tx.probes);
	return ok;
}

static void parse_or_die(struct sql_script *s, const char *file, const char *text)
{
	struct sql_error err;
	if (sql_parse(s, text, &err) < 0)
		die_at(EXIT_INPUT, file, err.line, "%s", err.message);
}

int apply_traced(struct shadow *sh, const char *id, const char *file, const char *text, struct run *run)
{
	struct sql_script s;
	memset(run, 0, sizeof(*run));
	run->traces = cJSON_CreateArray();
	run->destroyed = cJSON_CreateArray();
	run->failed_stmt = -1;
	PQsetNoticeProcessor(sh->mig, pgv_notice_quiet, NULL);
	parse_or_die(&s, file, text);
	bool ok = run_script(sh, id, &s, run, NULL);
	sql_script_release(&s);
	return ok ? 0 : -1;
}

char *apply_plain(struct shadow *sh, const char *text)
{
	struct sql_script s;
	struct sql_error err;
	char *error = NULL;
	if (sql_parse(&s, text, &err) < 0) {
		error = xasprintf("line %d: %s", err.line, err.message);
		sql_error_release(&err);
		return error;
	}
	if (!run_script(sh, NULL, &s, NULL, &error) && !error)
		error = xstrdup("failed");
	sql_script_release(&s);
	return error;
}

void run_release(struct run *run)
{
	cJSON_Delete(run->traces);
	cJSON_Delete(run->destroyed);
	free(run->error);
	memset(run, 0, sizeof(*run));
}
