/*
 * runbook: the production runbook, posted as the release note.
 *
 * It is never cut: a runbook missing part of its SQL is worse than none.
 * Every check comes with the SQL to run it and what passing looks like;
 * the migration SQL is the exact text reviewed, wrapped in the session
 * settings that keep a blocked lock from queueing production traffic.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mkrunbook.h"
#include "nd.h"
#include "sql.h"
#include "xalloc.h"

/* The table names as SQL literals cast to regclass, for IN (...). */
static void regclass_list(struct buf *b, const struct strv *tables)
{
	for (size_t i = 0; i < tables->n; i++) {
		buf_adds(b, i ? ", '" : "'");
		for (const char *p = tables->v[i]; *p; p++) {
			if (*p == '\'')
				buf_addc(b, '\'');
			buf_addc(b, *p);
		}
		buf_adds(b, "'::regclass");
	}
}

static void check(struct buf *b, const char *title, const char *sql, const char *pass)
{
	buf_addf(b, "- [ ] **%s**\n\n", title);
	struct buf f = BUF_INIT;
	md_fence(&f, "sql", sql);
	for (char *line = f.s, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		buf_adds(b, "  ");
		buf_add(b, line, (size_t)(nl - line) + 1);
	}
	buf_release(&f);
	buf_addf(b, "\n  Pass: %s\n\n", pass);
}

static void preflight(struct buf *b, const struct model *m, const struct strv *tables, const struct opts *o)
{
	struct buf in = BUF_INIT, sql = BUF_INIT, big = BUF_INIT;
	struct strv copied = STRV_INIT;
	/* the tables rewritten; when none, those scanned (index builds) */
	for (int pass = 0; pass < 2 && !copied.n; pass++)
		for (size_t i = 0; i < m->n; i++)
			for (size_t k = 0; k < m->migs[i].n; k++) {
				const cJSON *it, *a = pass ? m->migs[i].stmts[k].scans : m->migs[i].stmts[k].rewrites;
				cJSON_ArrayForEach(it, a) if (cJSON_IsString(it) && strv_index(&copied, it->valuestring) < 0)
					strv_push(&copied, it->valuestring);
			}
	bool rewrites = copied.n > 0;
	regclass_list(&in, tables);
	regclass_list(&big, &copied);
	buf_adds(b, "## 1. Pre-flight checks\n\nRun each on the production primary (read-only queries) right before the migration. "
		    "Stop at the first that does not pass.\n\n");
	check(b, "Replica lag",
	      "SELECT application_name, client_addr, state, write_lag, flush_lag, replay_lag\n"
	      "FROM pg_stat_replication;",
	      "every replica `streaming` with `replay_lag` under 10 s (or no replicas). A migration adds WAL; lagging replicas fall further behind.");
	check(b, "Point-in-time recovery enabled",
	      "SHOW archive_mode;\nSHOW archive_command;\n"
	      "SELECT archived_count, last_archived_time, failed_count, last_failed_time,\n"
	      "       now() - last_archived_time AS since_last_archive\n"
	      "FROM pg_stat_archiver;",
	      "`archive_mode` is `on`, a WAL segment was archived in the last few minutes, no failure since, and a base backup from the last day exists (check your backup tool). "
	      "Without PITR, a failed migration cannot be undone safely: do not start.");
	if (tables->n) {
		buf_reset(&sql);
		buf_addf(&sql,
			 "SELECT a.pid, a.usename, a.application_name, a.state,\n"
			 "       now() - a.xact_start AS xact_age, left(a.query, 120) AS query\n"
			 "FROM pg_stat_activity a\n"
			 "WHERE a.pid <> pg_backend_pid()\n"
			 "  AND a.xact_start < now() - interval '1 minute'\n"
			 "  AND EXISTS (SELECT 1 FROM pg_locks l\n"
			 "              WHERE l.pid = a.pid AND l.relation IN (%s))\n"
			 "ORDER BY xact_age DESC;",
			 in.s);
		check(b, "No long-running transactions on the target tables", sql.s,
		      "no rows. A transaction holding any lock on these tables makes the migration wait for it, and every query behind the migration waits too. "
		      "Find its owner; do not start until it is gone.");
		buf_reset(&sql);
		buf_addf(&sql,
			 "SELECT p.pid, p.relid::regclass AS table_name, p.phase, a.query LIKE '%%wraparound%%' AS wraparound\n"
			 "FROM pg_stat_progress_vacuum p JOIN pg_stat_activity a USING (pid)\n"
			 "WHERE p.relid IN (%s);\n"
			 "SELECT relid::regclass AS table_name, n_dead_tup, last_autovacuum, last_autoanalyze\n"
			 "FROM pg_stat_user_tables WHERE relid IN (%s);",
			 in.s, in.s);
		check(b, "Autovacuum on the target tables", sql.s,
		      "no vacuum running on them. An ordinary autovacuum gives way to the migration's lock after `deadlock_timeout`; "
		      "one that prevents wraparound does not, and the migration waits behind it: wait for it to finish.");
	}
	buf_reset(&sql);
	buf_adds(&sql, "SELECT pg_size_pretty(sum(pg_total_relation_size(c))) AS rewritten_size\n"
		       "FROM unnest(ARRAY[");
	buf_adds(&sql, copied.n ? big.s : "NULL");
	buf_adds(&sql, "]::regclass[]) AS c;\n-- on the database host: df -h \"$(psql -Atc 'SHOW data_directory')\"");
	check(b, rewrites ? "Free disk for the rewrites and index builds" : "Free disk (nothing is rewritten)",
	      sql.s,
	      rewrites ? "free space on the data volume is at least twice `rewritten_size`, the size of the tables rewritten or indexed with their indexes (the new copy, plus the WAL it writes)."
		       : "no table is rewritten; the usual margin of free space is enough.");
	(void)o;
	strv_release(&copied);
	buf_release(&big);
	buf_release(&in);
	buf_release(&sql);
}

/* Whether the text holds its own BEGIN/COMMIT (parsed, not matched). */
static bool has_transaction_stmts(const char *sql)
{
	struct sql_script s;
	struct sql_error err;
	bool found = false;
	if (sql_parse(&s, sql, &err) < 0) {
		sql_error_release(&err);
		return true; /* unparsable: do not wrap what we cannot see into */
	}
	for (size_t i = 0; i < s.n; i++)
		found |= !strcmp(s.stmts[i].type, "TransactionStmt");
	sql_script_release(&s);
	return found;
}

static char *forward_sql(const struct mig *g, bool *rebuilt)
{
	*rebuilt = !g->rec;
	if (g->rec)
		return xstrdup(nd_get_str(g->rec, "forward"));
	struct buf b = BUF_INIT;
	buf_adds(&b, "");
	for (size_t i = 0; i < g->n; i++)
		buf_addf(&b, "%s;\n", g->stmts[i].sql);
	return buf_detach(&b);
}

static double statement_timeout(const struct mig *g, const struct opts *o)
{
	if (o->statement_timeout_ms > 0)
		return o->statement_timeout_ms;
	double worst = 0;
	for (size_t i = 0; i < g->n; i++) {
		if (g->stmts[i].est_ms < 0)
			return 30 * 60000.0; /* no estimate: a generous bound, stated as such */
		if (g->stmts[i].est_ms > worst)
			worst = g->stmts[i].est_ms;
	}
	double t = ceil(3 * worst / 60000) * 60000; /* three times the slowest, whole minutes */
	return t < 60000 ? 60000 : t;
}

static void run_section(struct buf *b, const struct mig *g, const struct opts *o)
{
	bool rebuilt, all_tx = true;
	char *fw = forward_sql(g, &rebuilt);
	for (size_t i = 0; i < g->n; i++)
		all_tx &= g->stmts[i].in_tx;
	bool wrap = all_tx && g->n > 1 && !has_transaction_stmts(fw);
	double st_ms = statement_timeout(g, o);
	struct buf sql = BUF_INIT;
	buf_adds(&sql, "\\set ON_ERROR_STOP on\n");
	buf_adds(&sql, wrap ? "BEGIN;\nSET LOCAL lock_timeout = '" : "SET lock_timeout = '");
	fmt_pg_duration(&sql, o->lock_timeout_ms);
	buf_adds(&sql, wrap ? "';\nSET LOCAL statement_timeout = '" : "';\nSET statement_timeout = '");
	fmt_pg_duration(&sql, st_ms);
	buf_adds(&sql, "';\n");
	buf_adds(&sql, fw);
	if (sql.len && sql.s[sql.len - 1] != '\n')
		buf_addc(&sql, '\n');
	if (wrap)
		buf_adds(&sql, "COMMIT;\n");
	buf_adds(b, "Run as one psql session against the primary, with `psql -X -f` (the settings below apply to this session only):\n\n");
	md_fence(b, "sql", sql.s);
	buf_adds(b, "\n");
	if (rebuilt)
		buf_adds(b, "*No `migration` record in the stream: the SQL above is rebuilt from the reviewed statements (comments dropped). "
			    "Prefer the migration file itself if your tool runs it.*\n\n");
	buf_adds(b, wrap ? "It is one transaction: if any statement fails, nothing is applied.\n\n"
			 : "It is **not** one transaction: statements before a failure stay applied; check what ran before retrying.\n\n");
	buf_adds(b, "**If the lock times out** (`ERROR: canceling statement due to lock timeout`, SQLSTATE 55P03):\n\n"
		    "1. Nothing is waiting any more: the statement gave up after ");
	fmt_pg_duration(b, o->lock_timeout_ms);
	buf_adds(b, " instead of queueing traffic behind it");
	buf_adds(b, wrap ? ", and the transaction rolled back.\n" : ".\n");
	buf_adds(b, "2. Find who held the lock:\n\n");
	struct buf q = BUF_INIT;
	md_fence(&q, "sql",
		 "SELECT pid, usename, application_name, state, now() - xact_start AS xact_age, left(query, 120)\n"
		 "FROM pg_stat_activity\n"
		 "WHERE xact_start < now() - interval '10 seconds' AND pid <> pg_backend_pid()\n"
		 "ORDER BY xact_start;");
	for (char *line = q.s, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		buf_adds(b, "   ");
		buf_add(b, line, (size_t)(nl - line) + 1);
	}
	buf_release(&q);
	buf_adds(b, "\n3. Retry after 30 s, then 1, 2 and 5 minutes; after four timeouts stop and find the blocker's owner. "
		    "Do not raise `lock_timeout` above the lock-wait threshold below, and do not terminate another session without its owner's agreement.\n\n");
	buf_adds(b, "**If a statement times out** (`canceling statement due to statement timeout`): the estimate was wrong. "
		    "Do not retry with a longer timeout; bring the numbers back to the review.\n\n");
	buf_release(&sql);
	free(fw);
}

static void duration_section(struct buf *b, const struct mig *g)
{
	buf_adds(b, "Expected run time: ");
	fmt_ms(b, mig_total_ms(g));
	buf_adds(b, " (production estimate).\n\n");
	buf_adds(b, "| # | line | statement | lock | blocks | run time (est.) | lock held (est.) |\n"
		    "|---:|---:|---|---|---|---:|---:|\n");
	for (size_t i = 0; i < g->n; i++) {
		const struct stmt *st = &g->stmts[i];
		buf_addf(b, "| %ld | %ld | ", st->index, st->line);
		md_code(b, st->sql, 70);
		buf_adds(b, " | ");
		for (size_t k = 0; k < st->nlocks; k++) {
			buf_adds(b, k ? "<br>" : "");
			buf_addf(b, "%s on ", lockmode_short(st->locks[k].mode));
			md_text(b, st->locks[k].table);
		}
		buf_adds(b, st->nlocks ? " | " : "— | ");
		buf_adds(b, st->block_reads != 0 ? "reads and writes" : st->block_writes != 0 ? "writes"
											      : "—");
		buf_adds(b, " | ");
		fmt_ms(b, st->est_ms);
		buf_adds(b, " | ");
		fmt_ms(b, st->est_lock_ms);
		buf_adds(b, " |\n");
	}
	buf_adds(b, "\n");
}

static void thresholds(struct buf *b, const struct model *m, const struct opts *o)
{
	buf_adds(b, "## 4. What metricwatch watches\n\n"
		    "| signal | threshold | then |\n|---|---|---|\n| lock wait: sessions blocked by the migration or waiting on its tables | ");
	fmt_ms(b, o->max_lock_wait_ms);
	buf_addf(b, " | a breach |\n| error rate (`pg_stat_database` rollbacks, Datadog, Sentry) | %g × the baseline before the start | a breach |\n"
		    "| cooldown: a breach must last | ",
		 o->error_spike);
	fmt_ms(b, o->cooldown_ms);
	buf_adds(b, " | alert; with `--auto-rollback --pitr-enabled`, cancel the migration and run the rollback |\n\n");
	buf_adds(b, "Start it before the migration, so it measures the baseline:\n\n");
	struct buf cmd = BUF_INIT;
	for (size_t i = 0; i < m->n; i++)
		buf_addf(&cmd, "# migration %s\n", m->migs[i].id);
	buf_adds(&cmd, "bin/metricwatch --pg \"$PROD_DATABASE_URL\" --max-lock-wait ");
	buf_addf(&cmd, "%g --error-spike %g --cooldown %g\n", o->max_lock_wait_ms / 1000, o->error_spike,
		 o->cooldown_ms / 1000);
	md_fence(b, "sh", cmd.s);
	buf_adds(b, "\n");
	buf_release(&cmd);
}

static void rollback_section(struct buf *b, const struct mig *g, const struct opts *o)
{
	const char *rb = g->rec ? nd_get_str(g->rec, "rollback") : NULL;
	const cJSON *irr = g->rec ? cJSON_GetObjectItemCaseSensitive(g->rec, "irreversible") : NULL, *it;
	const cJSON *rc = g->rollback_check;
	if (!rb || !*rb) {
		buf_adds(b, "**There is no rollback SQL.** The way back is a point-in-time recovery to just before the migration.\n\n");
	} else {
		buf_adds(b, "Once the forward migration has **committed**, undo it with (a migration cancelled before its commit is already undone by PostgreSQL: run nothing):\n\n");
		struct buf sql = BUF_INIT;
		buf_adds(&sql, "\\set ON_ERROR_STOP on\nBEGIN;\nSET LOCAL lock_timeout = '");
		fmt_pg_duration(&sql, o->lock_timeout_ms);
		buf_adds(&sql, "';\n");
		buf_adds(&sql, rb);
		if (sql.s[sql.len - 1] != '\n')
			buf_addc(&sql, '\n');
		buf_adds(&sql, "COMMIT;\n");
		md_fence(b, "sql", sql.s);
		buf_adds(b, "\n");
		buf_release(&sql);
		if (!rc)
			buf_adds(b, "The rollback was **not tested** on a shadow.\n\n");
		else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rc, "ok")))
			buf_adds(b, "Tested on the shadow: forward then rollback restored the schema.\n\n");
		else {
			buf_adds(b, "**Tested on the shadow, and it does not restore the schema:**\n\n");
			cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rc, "differences")) if (cJSON_IsString(it))
			{
				buf_adds(b, "- ");
				md_text(b, it->valuestring);
				buf_adds(b, "\n");
			}
			buf_adds(b, "\n");
		}
	}
	buf_adds(b, "**When not to use the rollback SQL:**\n\n");
	cJSON_ArrayForEach(it, irr) if (cJSON_IsString(it))
	{
		buf_adds(b, "- ");
		md_text(b, it->valuestring);
		buf_adds(b, " (irreversible)\n");
	}
	buf_adds(b, "- When the migration stopped part-way outside a transaction, or its data changes already committed: the rollback assumes the whole migration ran. "
		    "Without point-in-time recovery, a partial rollback of a long migration can leave the schema inconsistent; with it, prefer recovering to the moment before the start.\n"
		    "- When the rollback itself times out on its lock: do not loop on it at peak; the forward change is live and consistent, so decide with the team.\n\n");
}

static void who_to_tell(struct buf *b, const struct opts *o)
{
	buf_adds(b, "## 6. Who to tell\n\n");
	if (o->notify.n) {
		for (size_t i = 0; i < o->notify.n; i++) {
			buf_adds(b, "- ");
			md_text(b, o->notify.v[i]);
			buf_adds(b, "\n");
		}
	} else {
		buf_adds(b, "- the on-call database engineer\n- the teams that own the tables above\n");
	}
	buf_adds(b, "\nBefore: the start time and the expected lock durations. After: done or rolled back, and the numbers metricwatch saw.\n");
}

char *runbook_doc(const struct model *m, const struct opts *o)
{
	struct buf b = BUF_INIT;
	struct strv tables = STRV_INIT;
	for (size_t i = 0; i < m->n; i++)
		mig_tables(&m->migs[i], &tables);
	buf_addf(&b, "<!-- %s -->\n# Production runbook", o->marker);
	for (size_t i = 0; i < m->n; i++) {
		buf_adds(&b, i ? ", " : ": ");
		md_text(&b, m->migs[i].id);
	}
	buf_adds(&b, "\n\n| migration | risk | statements | run time (est.) | longest block (est.) | tables |\n|---|---|---:|---:|---|---|\n");
	for (size_t i = 0; i < m->n; i++) {
		const struct mig *g = &m->migs[i];
		struct strv t = STRV_INIT;
		bool r, w;
		double worst = mig_longest_lock_ms(g, &r, &w);
		mig_tables(g, &t);
		buf_adds(&b, "| ");
		md_code(&b, g->id, 0);
		buf_addf(&b, " | **%s** (%.0f/100) | %zu | ", nd_get_str(g->risk, "level"), num_or(g->risk, "score", 0), g->n);
		fmt_ms(&b, mig_total_ms(g));
		buf_adds(&b, " | ");
		if (r || w) {
			buf_adds(&b, r ? "reads and writes, " : "writes, ");
			fmt_ms(&b, worst);
		} else
			buf_adds(&b, "none");
		buf_adds(&b, " | ");
		for (size_t k = 0; k < t.n; k++) {
			buf_adds(&b, k ? ", " : "");
			md_text(&b, t.v[k]);
		}
		buf_adds(&b, t.n ? " |\n" : "— |\n");
		strv_release(&t);
	}
	buf_adds(&b, "\n");
	preflight(&b, m, &tables, o);
	buf_adds(&b, "## 2. Run the migration\n\n");
	for (size_t i = 0; i < m->n; i++) {
		if (m->n > 1)
			buf_adds(&b, "### "), md_text(&b, m->migs[i].id), buf_adds(&b, "\n\n");
		run_section(&b, &m->migs[i], o);
	}
	buf_adds(&b, "## 3. Expected duration and locks\n\n");
	for (size_t i = 0; i < m->n; i++) {
		if (m->n > 1)
			buf_adds(&b, "### "), md_text(&b, m->migs[i].id), buf_adds(&b, "\n\n");
		duration_section(&b, &m->migs[i]);
	}
	thresholds(&b, m, o);
	buf_adds(&b, "## 5. Rollback\n\n");
	for (size_t i = 0; i < m->n; i++) {
		if (m->n > 1)
			buf_adds(&b, "### "), md_text(&b, m->migs[i].id), buf_adds(&b, "\n\n");
		rollback_section(&b, &m->migs[i], o);
	}
	who_to_tell(&b, o);
	strv_release(&tables);
	return buf_detach(&b);
}
