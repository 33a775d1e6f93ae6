/*
 * applyexplain internals: one header for the program's modules.
 *
 *   applyexplain.c  main, options, input records, the per-migration flow
 *   apply.c         the forward migration, statement by statement: locks,
 *                   rewrites, scans, rows, time, violations -> trace records
 *   probe.c         blocking probes: a read and a write on each locked table
 *   violation.c     counting the rows a failed constraint statement hit
 *   plans.c         top queries, $n values, EXPLAIN before/after -> plan records
 *   snapshot.c      catalog snapshots and their diff -> rollback_check
 *   rels.c          relation snapshots (oid, name, kind, relfilenode) and
 *                   the tables a parse tree names
 *
 * Ownership follows the project rule: arguments are borrowed, results
 * belong to the caller. Every connection here points at the shadow except
 * the read-only one --from-db opens for pg_stat_statements.
 */
#ifndef APPLYEXPLAIN_H
#define APPLYEXPLAIN_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "buf.h"
#include "sql.h"

struct opts {
	const char *shadow_url;	  /* --shadow, else SHADOW_DATABASE_URL, else the shadow record */
	const char *queries_file; /* --queries */
	const char *from_db;	  /* --from-db URL ("" = PROD_DATABASE_URL), or NULL */
	int top;
	int statement_timeout_ms;
	int probe_timeout_ms;
	bool no_transaction, no_probes, no_plans, no_rollback, not_production;
	bool progress;	   /* stderr is a terminal: say what runs */
	double large_rows; /* production rows from which a seq scan counts as large */
	double cost_ratio, time_ratio;
	int runs; /* EXPLAIN ANALYZE runs per query and side; the fastest counts */
};

/* ae_schema (util.c): where the shadow resolves unqualified names (its
 * current_schema(): public, or a schema shadow's own schema); names the
 * migration leaves unqualified are qualified with it. */
extern const char *ae_schema;

/* ---- rels.c ---- */

struct rel {
	unsigned long oid;
	char *name; /* schema.table */
	char kind;  /* pg_class.relkind */
	unsigned long filenode;
	unsigned long table_oid; /* an index's table, else 0 */
};

struct rels {
	struct rel *v;
	size_t n;
};

/* rels_take: every user relation of the database, sorted by oid. */
void rels_take(PGconn *c, struct rels *out);
void rels_release(struct rels *r);
const struct rel *rels_find(const struct rels *r, unsigned long oid);
const struct rel *rels_find_name(const struct rels *r, const char *qname);
/* rel_is_table: relkinds a lock record names (tables, partitioned tables,
 * materialized views, views, foreign tables), as the lock truth does. */
bool rel_is_table(char kind);

/* tree_tables: the qualified names of the relations (RangeVar) a parse
 * tree names, schema "public" when unqualified; added to out once each. */
void tree_tables(const cJSON *node, struct strv *out);

/* stmt_dropped_indexes: the qualified names a DROP INDEX names, added to out. */
void stmt_dropped_indexes(const struct sql_stmt *st, struct strv *out);

/* lock modes, in pg_locks spelling; rank 1..8, 0 when unknown */
int lock_rank(const char *mode);
const char *lock_name(int rank);

/* now_ms: a monotonic clock in milliseconds. */
double now_ms(void);
void sleep_ms(double ms);

/* ---- util.c ---- */

/* progress: "applyexplain: ..." on stderr, redrawn in place, when
 * o->progress; progress_done ends the line. */
void progress(const struct opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void progress_done(const struct opts *o);

/* ---- probe.c ---- */

struct probes;
struct probes *probes_new(const char *url, const struct opts *o, PGconn *mon, int mig_pid);
/* probes_prepare: open up to n probe sessions now, so that connecting
 * costs nothing while the migration holds its locks. */
void probes_prepare(struct probes *p, size_t n);
/* probes_start: start a read and a write probe on table (qname), for the
 * trace record rec whose statement started at t_start. A probe that is
 * already waiting on the same table is shared. Returns quickly: a probe is
 * either through (blocked 0) or seen waiting on the migration. */
void probes_start(struct probes *p, const char *table, cJSON *rec, double t_start);
/* probes_settle: the migration's locks are gone (its transaction ended or
 * a non-transactional statement finished): wait for every waiting probe
 * and write blocked_read_ms / blocked_write_ms into the records. */
void probes_settle(struct probes *p);
void probes_free(struct probes *p);
/* probes_cleanup_all: cancel and close every probe session (atexit). */
void probes_cleanup_all(void);

/* ---- violation.c ---- */

/* violation_of: when res is a constraint failure caused by the data
 * (SQLSTATE class 23), a violation object {kind, constraint, table,
 * column, count, example, message}; else NULL. conn must be usable (the
 * failed statement rolled back to its savepoint, or autocommit); the
 * counts run there and leave nothing behind. */
cJSON *violation_of(PGconn *conn, const PGresult *res, const struct sql_stmt *st, const char *text);

/* try_query: run sql (at least one row expected), inside a savepoint when
 * a transaction is open; NULL when it fails, leaving the session usable. */
PGresult *try_query(PGconn *c, const char *sql);

/* ---- snapshot.c ---- */

/* snapshot_take: the shadow's schema as sorted "key\tvalue" strings:
 * tables, columns (type, nullability, default, identity, generated),
 * indexes, constraints, views, enum types, sequences. */
void snapshot_take(PGconn *c, struct strv *out);
/* snapshot_diff: differences {object, before, after} between two snapshots. */
cJSON *snapshot_diff(const struct strv *before, const struct strv *after);

/* ---- apply.c ---- */

struct shadow {
	const char *url;
	PGconn *mig, *mon;
	const struct opts *o;
	double sample_percent;
	const cJSON *samples;	  /* array of sample records (borrowed) */
	struct strv by_superuser; /* extensions superuser_extensions created */
};

/* connect_shadow_as (util.c): a session on the shadow (application_name app), as
 * user with password when user is not NULL; exits EXIT_RUNTIME when it
 * cannot connect. */
PGconn *connect_shadow_as(const char *url, const struct opts *o, const char *app, const char *user,
			  const char *password);
/* contain_migration (contain.c): the session the migration under review
 * runs in, as a role that reaches nothing beyond the shadow (schema: the
 * schema shadow's schema, NULL for a shadow database); admin is our own
 * session on it. Refuses (exit 2) when that cannot be made or verified. */
PGconn *contain_migration(PGconn *admin, const char *url, const char *schema, const struct opts *o);

/* superuser_extensions (apply.c): create, as our own (superuser) session
 * and before any migration runs, the untrusted extensions the migrations'
 * forwards create (only a superuser may), rebuilt from their trees; each is
 * named on stderr and in the trace of the statement, which is not run. */
void superuser_extensions(struct shadow *sh, const cJSON *migrations);

struct run {
	cJSON *traces;	  /* trace records, in statement order */
	int failed_stmt;  /* index of the statement that failed, or -1 */
	int violations;	  /* statements that failed on the data */
	char *error;	  /* the failure's message, or NULL */
	cJSON *destroyed; /* what DROP COLUMN / DROP TABLE statements destroyed */
};

/* apply_traced: run a migration's forward script on the shadow, one trace
 * record per statement (run->traces). Returns 0, or -1 when a statement
 * failed (the transaction it was in is rolled back, the rest skipped). */
int apply_traced(struct shadow *sh, const char *id, const char *file, const char *text, struct run *run);
void run_release(struct run *run);
/* apply_plain: run a script without tracing, with the same transaction
 * rules. NULL on success, else the error message (caller frees). */
char *apply_plain(struct shadow *sh, const char *text);
/* stmt_notx: must the statement run outside a transaction block? */
bool stmt_notx(const struct sql_stmt *st);
/* scale_of: production rows / shadow rows for table (qname), from the
 * sample records, else 100 / sample_percent, else 1. */
double scale_of(const struct shadow *sh, const char *table);

/* ---- plans.c ---- */

struct queries;
/* queries_collect: the top o->top queries touching any of tables, from the
 * first source that has some; NULL when there are none. */
struct queries *queries_collect(struct shadow *sh, const struct strv *tables);
void queries_explain(struct shadow *sh, struct queries *q, bool after);
/* queries_records: one plan record per query, appended to out. */
void queries_records(struct shadow *sh, struct queries *q, const char *migration, cJSON *out);
void queries_free(struct queries *q);

#endif
