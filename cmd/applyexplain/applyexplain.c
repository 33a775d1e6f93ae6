/*
 * applyexplain — run each migration on the shadow and measure what it does.
 *
 * usage: applyexplain [options] < records.ndjson > records.ndjson
 * Reads the stream from mkshadow: a `shadow` record (the shadow's URL and
 * sample percentage), `sample` records (production and shadow row counts),
 * the DAG and `migration` records; forwards every record unchanged. For each
 * migration, on the shadow only:
 *   1. snapshots the catalog and EXPLAINs (ANALYZE, BUFFERS) the top queries
 *      that touch the migration's tables;
 *   2. applies the forward SQL as the deployment would (one transaction per
 *      migration, --no-transaction, CONCURRENTLY outside), one statement at a
 *      time under statement_timeout, and writes a `trace` record per
 *      statement: the locks taken (strongest per table, from pg_locks), the
 *      tables rewritten (new relfilenode) and scanned, rows, ms, the time
 *      scaled to production, and blocked_read_ms / blocked_write_ms measured
 *      by probe sessions that try a read and a write on each locked table; a
 *      statement failing on the data gets `violations` (count, example key);
 *   3. EXPLAINs the queries again: one `plan` record per query with
 *      before/after and the regressions (new seq scan on a large table, lost
 *      index, cost or time ratio);
 *   4. applies the rollback, compares the catalog with step 1 and applies the
 *      forward SQL again: a `rollback_check` record with every difference and
 *      what the irreversible statements destroyed.
 * Refuses a database whose COMMENT is not mkshadow's sealed mark ("migsafe
 * shadow {json}" whose seal, common/seal.h, matches this server, database
 * and schema under the seal key), unless its current schema's is (a schema
 * shadow: the record's url sets search_path; names in the records written
 * are then production's, the shadow record's maps_schema), or
 * --i-know-this-is-not-production. On a shadow the migration runs as a
 * role that reaches nothing beyond it (contain.c): made for the shadow
 * when the given role is a superuser, else the given role once its reach
 * is checked. An untrusted extension a forward creates is created by our
 * own (superuser) session before any migration runs, and named (the
 * trace's "superuser"). Production is only read, and only for
 * pg_stat_statements (--from-db).
 * Exit: 0; 1 a statement failed on the shadow (violations included); 2
 * usage, or a database that is not a shadow; 3 database trouble; 4 invalid
 * input.
 */
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applyexplain.h"
#include "db.h"
#include "msg.h"
#include "nd.h"
#include "opt.h"
#include "pgvocab.h"
#include "seal.h"
#include "xalloc.h"

static const char usage_text[] =
	"usage: applyexplain [options] < records.ndjson > records.ndjson\n"
	"Apply each migration record to the shadow database and measure, per statement, the locks,\n"
	"rewrites, blocking, time and data violations; EXPLAIN the top queries before and after;\n"
	"check that the rollback restores the schema.\n"
	"\n"
	"  --shadow URL               the shadow database (default: the shadow record's url, else\n"
	"                             SHADOW_DATABASE_URL)\n"
	"  --queries FILE             the queries to EXPLAIN (SQL, one query per statement)\n"
	"  --from-db[=URL]            top queries from production's pg_stat_statements, read-only\n"
	"                             (URL default PROD_DATABASE_URL); else the shadow's own\n"
	"  --top N                    queries kept, those touching the migration's tables (default 10)\n"
	"  --statement-timeout MS     statement_timeout of each migration statement (default 600000)\n"
	"  --probe-timeout MS         longest wait of a blocking probe (default 60000)\n"
	"  --no-transaction           each statement in its own transaction (default: one per file)\n"
	"  --no-probes                do not measure blocking\n"
	"  --no-plans                 do not EXPLAIN queries\n"
	"  --no-rollback              do not apply the rollback (no rollback_check)\n"
	"  --large-rows N             production rows from which a new seq scan is a regression\n"
	"                             (default 10000)\n"
	"  --cost-ratio X             cost after/before that is a regression (default 2)\n"
	"  --time-ratio X             execution time after/before that is a regression (default 3)\n"
	"  --runs N                   EXPLAIN ANALYZE runs per query and side, the fastest counts\n"
	"                             (default 3; a run over 1 s is not repeated)\n"
	"  --i-know-this-is-not-production\n"
	"                             run on a database mkshadow did not mark as a shadow\n"
	"  -h, --help                 this help\n"
	"\n"
	"Writes trace, plan and rollback_check records after the records it forwards.\n"
	"Passwords belong in PGPASSWORD or a PGPASSFILE, not on the command line: other users\n"
	"see them there (ps) until the program has started and hidden them.\n"
	"Exit: 0 ok, 1 a statement failed on the shadow (violations), 2 usage or not a shadow,\n"
	"3 database trouble, 4 invalid input.\n";

static void parse_opts(struct opts *o, int argc, char **argv)
{
	enum { O_SHADOW = 256,
	       O_QUERIES,
	       O_FROMDB,
	       O_TOP,
	       O_STMT_TO,
	       O_PROBE_TO,
	       O_NOTX,
	       O_NOPROBES,
	       O_NOPLANS,
	       O_NOROLLBACK,
	       O_LARGE,
	       O_COST,
	       O_TIME,
	       O_RUNS,
	       O_NOTPROD };
	static const struct option longopts[] = {
		{"shadow", required_argument, NULL, O_SHADOW},
		{"queries", required_argument, NULL, O_QUERIES},
		{"from-db", optional_argument, NULL, O_FROMDB},
		{"top", required_argument, NULL, O_TOP},
		{"statement-timeout", required_argument, NULL, O_STMT_TO},
		{"probe-timeout", required_argument, NULL, O_PROBE_TO},
		{"no-transaction", no_argument, NULL, O_NOTX},
		{"no-probes", no_argument, NULL, O_NOPROBES},
		{"no-plans", no_argument, NULL, O_NOPLANS},
		{"no-rollback", no_argument, NULL, O_NOROLLBACK},
		{"large-rows", required_argument, NULL, O_LARGE},
		{"cost-ratio", required_argument, NULL, O_COST},
		{"time-ratio", required_argument, NULL, O_TIME},
		{"runs", required_argument, NULL, O_RUNS},
		{"i-know-this-is-not-production", no_argument, NULL, O_NOTPROD},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	memset(o, 0, sizeof(*o));
	o->top = 10;
	o->statement_timeout_ms = 600000;
	o->probe_timeout_ms = 60000;
	o->large_rows = 10000;
	o->cost_ratio = 2;
	o->time_ratio = 3;
	o->runs = 3;
	opterr = 0; /* our own message, without argv[0]'s path */
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_SHADOW: o->shadow_url = optarg; break;
		case O_QUERIES: o->queries_file = optarg; break;
		case O_FROMDB: o->from_db = optarg ? optarg : ""; break;
		case O_TOP: o->top = (int)opt_int("--top", optarg, 1, INT_MAX); break;
		case O_STMT_TO: o->statement_timeout_ms = (int)opt_int("--statement-timeout", optarg, 1, INT_MAX); break;
		case O_PROBE_TO: o->probe_timeout_ms = (int)opt_int("--probe-timeout", optarg, 1, INT_MAX); break;
		case O_NOTX: o->no_transaction = true; break;
		case O_NOPROBES: o->no_probes = true; break;
		case O_NOPLANS: o->no_plans = true; break;
		case O_NOROLLBACK: o->no_rollback = true; break;
		case O_LARGE: o->large_rows = opt_num("--large-rows", optarg, 0, HUGE_VAL); break;
		case O_COST: o->cost_ratio = opt_num("--cost-ratio", optarg, 1, HUGE_VAL); break;
		case O_TIME: o->time_ratio = opt_num("--time-ratio", optarg, 1, HUGE_VAL); break;
		case O_RUNS: o->runs = (int)opt_int("--runs", optarg, 1, INT_MAX); break;
		case O_NOTPROD: o->not_production = true; break;
		case 'h': fputs(usage_text, stdout); exit(EXIT_OK);
		default: usage_error("unknown option or missing value: '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s': records come on stdin", argv[optind]);
	if (o->queries_file && o->from_db)
		usage_error("--queries and --from-db are two sources of queries: choose one");
}

/* ---- input ---- */

struct input {
	cJSON *shadow;	   /* the first shadow record, or NULL */
	cJSON *migrations; /* migration records */
	cJSON *samples;	   /* sample records */
};

/* check_sql: the migration's SQL must parse before anything runs:
 * "prog: FILE:LINE: message" naming its file (or its id). */
static void check_sql(const cJSON *mig, const char *which)
{
	const char *text = nd_get_str(mig, which);
	const char *file = nd_get_str(cJSON_GetObjectItemCaseSensitive(mig, "files"), which);
	struct sql_script s;
	struct sql_error err;
	if (!text)
		return;
	if (sql_parse(&s, text, &err) < 0) {
		char where[512]; /* not on the heap: exiting now, nothing may be lost */
		if (file)
			snprintf(where, sizeof where, "%s", file);
		else
			snprintf(where, sizeof where, "%s (%s)", nd_get_str(mig, "id"), which);
		die_at(EXIT_INPUT, where, err.line, "%s", err.message);
	}
	sql_script_release(&s);
}

static void read_input(struct input *in)
{
	struct nd_reader rd;
	cJSON *rec;
	struct msg_err rerr = MSG_ERR_INIT;
	nd_reader_init(&rd, stdin, "<stdin>");
	while ((rec = nd_read(&rd, &rerr))) {
		const char *kind = nd_kind(rec);
		nd_forward(rd.line.s, rd.line.len);
		if (!strcmp(kind, "migration")) {
			const cJSON *rb = cJSON_GetObjectItemCaseSensitive(rec, "rollback");
			if (!nd_get_str(rec, "id") || !nd_get_str(rec, "forward"))
				die_at(EXIT_INPUT, "<stdin>", rd.lineno, "migration record needs \"id\" and \"forward\" strings");
			if (rb && !cJSON_IsString(rb) && !cJSON_IsNull(rb))
				die_at(EXIT_INPUT, "<stdin>", rd.lineno, "migration \"rollback\" must be a string or null");
			check_sql(rec, "forward");
			check_sql(rec, "rollback");
			cJSON_AddItemToArray(in->migrations, rec);
		} else if (!strcmp(kind, "shadow") && !in->shadow) {
			if (!nd_get_str(rec, "url"))
				die_at(EXIT_INPUT, "<stdin>", rd.lineno, "shadow record needs a \"url\" string");
			in->shadow = rec;
		} else if (!strcmp(kind, "sample"))
			cJSON_AddItemToArray(in->samples, rec);
		else
			cJSON_Delete(rec);
	}
	if (rerr.text)
		die_err(&rerr);
	nd_reader_release(&rd);
}

/* ---- the shadow ---- */

/* sealed: mark (a COMMENT) is mkshadow's "migsafe shadow {json}" whose seal
 * (common/seal.h) matches this database (and schema) of this server, under
 * our seal key. A migration can write the comment, not the seal. */
static bool sealed(const char *mark, const char *sysid, const char *db, const char *schema,
		   const unsigned char key[SEAL_KEY_LEN])
{
	char *want = seal_of(key, schema ? "schema" : "database", sysid, db, schema);
	bool ok = seal_mark_ok(mark, want);
	free(want);
	return ok;
}

/* refuse_unless_shadow: mkshadow marks every shadow with a COMMENT ON
 * DATABASE, or for a schema shadow COMMENT ON SCHEMA of the session's
 * current schema, "migsafe shadow {json}" with a seal only the seal key
 * makes. Returns 1 for a sealed database, 2 for a sealed schema, 0 for
 * neither when --i-know-this-is-not-production allows it; else refuses.
 * Fails closed: no key, or a mark that cannot be read, refuses. */
static int refuse_unless_shadow(PGconn *c, const struct opts *o, const char *url)
{
	PGresult *r = PQexec(c, "SELECT pg_catalog.shobj_description(d.oid, 'pg_database') AS db, "
				"pg_catalog.obj_description(n.oid, 'pg_namespace') AS sch, "
				"pg_catalog.current_database() AS datname, n.nspname "
				"FROM pg_catalog.pg_database d LEFT JOIN pg_catalog.pg_namespace n "
				"ON n.nspname = pg_catalog.current_schema() "
				"WHERE d.datname = pg_catalog.current_database()");
	PGresult *sr = PQexec(c, "SELECT system_identifier::text FROM pg_catalog.pg_control_system()");
	const char *sysid = PQresultStatus(sr) == PGRES_TUPLES_OK && PQntuples(sr) == 1 ? PQgetvalue(sr, 0, 0) : "";
	bool read = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
	const char *comment = read ? db_get(r, 0, "db") : NULL, *schema = read ? db_get(r, 0, "sch") : NULL;
	bool claims = (comment && !strncmp(comment, "migsafe shadow", 14)) ||
		      (schema && !strncmp(schema, "migsafe shadow", 14));
	unsigned char key[SEAL_KEY_LEN];
	char *why = NULL;
	int marked = 0;
	if (claims && seal_key(false, key, &why) == 0) {
		const char *db = db_get(r, 0, "datname"), *nsp = db_get(r, 0, "nspname");
		marked = sealed(comment, sysid, db, NULL, key) ? 1 : sealed(schema, sysid, db, nsp, key) ? 2
													 : 0;
		if (!marked)
			why = xstrdup("it is marked as a shadow, but the mark's seal is not valid here (a mark "
				      "copied or written by hand, or mkshadow ran with another seal key)");
	}
	PQclear(r);
	PQclear(sr);
	if (marked || o->not_production) {
		free(why);
		return marked;
	}
	char *red = db_redact_url(url);
	db_close(c);
	if (!why)
		why = xstrdup(read ? "it is not marked as a shadow (COMMENT ON DATABASE starting with 'migsafe shadow')"
				   : "its mark cannot be read");
	die_code(EXIT_USAGE, "%s: %s: refusing to run migrations on it; use mkshadow, or --i-know-this-is-not-production",
		 red, why);
}

/* ---- one migration ---- */

/* migration_tables: the tables the migration names, and the tables of the
 * indexes it names (DROP INDEX, ALTER INDEX), as the shadow knows them. */
static void migration_tables(PGconn *c, const char *text, struct strv *out)
{
	struct sql_script s;
	struct sql_error err;
	struct strv names = STRV_INIT;
	if (sql_parse(&s, text, &err) < 0) {
		sql_error_release(&err);
		return; /* apply_traced reports it */
	}
	for (size_t i = 0; i < s.n; i++) {
		tree_tables(s.stmts[i].node, &names);
		stmt_dropped_indexes(&s.stmts[i], &names);
	}
	sql_script_release(&s);
	for (size_t i = 0; i < names.n; i++) {
		char *q = db_quote_qualified_or_die(c, names.v[i]);
		const char *params[1] = {q};
		PGresult *r = db_query_or_die(c,
					      "SELECT n.nspname || '.' || t.relname FROM pg_catalog.pg_index x "
					      "JOIN pg_catalog.pg_class t ON t.oid = x.indrelid "
					      "JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace "
					      "WHERE x.indexrelid = pg_catalog.to_regclass($1)",
					      1, params);
		const char *t = PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : names.v[i];
		if (strv_index(out, t) < 0)
			strv_push(out, t);
		PQclear(r);
		free(q);
	}
	strv_release(&names);
}

static cJSON *rollback_check(struct shadow *sh, const cJSON *mig, const struct strv *snap0, struct run *run)
{
	const char *id = nd_get_str(mig, "id"), *rb = nd_get_str(mig, "rollback");
	cJSON *rec = nd_record("rollback_check");
	cJSON_AddStringToObject(rec, "migration", id);
	cJSON_AddItemToObject(rec, "destroyed", cJSON_Duplicate(run->destroyed, true));
	if (!rb || !*rb) {
		cJSON_AddBoolToObject(rec, "ok", false);
		cJSON_AddArrayToObject(rec, "differences");
		cJSON_AddStringToObject(rec, "error", "the migration has no rollback");
		return rec;
	}
	double t0 = now_ms();
	char *err = apply_plain(sh, rb);
	cJSON_AddNumberToObject(rec, "rollback_ms", (double)(long long)(now_ms() - t0 + 0.5));
	if (err) {
		cJSON_AddBoolToObject(rec, "ok", false);
		cJSON_AddArrayToObject(rec, "differences");
		cJSON_AddStringToObject(rec, "error", err);
		free(err);
		return rec;
	}
	struct strv snap1 = STRV_INIT;
	snapshot_take(sh->mig, &snap1);
	cJSON *diff = snapshot_diff(snap0, &snap1);
	strv_release(&snap1);
	cJSON_AddBoolToObject(rec, "ok", cJSON_GetArraySize(diff) == 0);
	cJSON_AddItemToObject(rec, "differences", diff);
	cJSON_AddBoolToObject(rec, "data_lost", cJSON_GetArraySize(run->destroyed) > 0);
	err = apply_plain(sh, nd_get_str(mig, "forward")); /* re-runnable from the rolled-back state? */
	cJSON_AddBoolToObject(rec, "reapplied", err == NULL);
	if (err)
		cJSON_AddStringToObject(rec, "reapply_error", err);
	else
		cJSON_AddNullToObject(rec, "reapply_error");
	cJSON_AddNullToObject(rec, "error");
	free(err);
	return rec;
}

/* Names in the records are production's: a schema shadow's schema is
 * written as the schema it stands for (the shadow record's maps_schema). */
static char *map_from, *map_to; /* "shadow_schema.", "public."; NULL: no mapping */

/* map_migration: a migration's names qualified with production's schema
 * (public.orders) rewritten to the schema shadow's, so that it runs there
 * and nowhere else in the shadow's database. */
static void map_migration(PGconn *c, cJSON *mig, const char *sch, const char *maps)
{
	static const char *const fields[] = {"forward", "rollback"};
	/* mkshadow's names need no quotes: the trace's sql then maps back too */
	bool plain = strspn(sch, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(sch) && !isdigit((unsigned char)*sch);
	char *q = plain ? xstrdup(sch) : db_quote_ident_or_die(c, sch);
	for (int i = 0; i < 2; i++) {
		cJSON *f = cJSON_GetObjectItemCaseSensitive(mig, fields[i]);
		if (!cJSON_IsString(f))
			continue;
		char *mapped = sql_remap_schema(f->valuestring, maps, q);
		if (!mapped)
			die_code(EXIT_INPUT, "migration %s: the scanner cannot read its %s SQL", nd_get_str(mig, "id"),
				 fields[i]);
		cJSON_ReplaceItemInObjectCaseSensitive(mig, fields[i], cJSON_CreateString(mapped));
		free(mapped);
	}
	free(q);
}

static void set_schema(PGconn *c, const cJSON *shadow_rec, cJSON *migrations)
{
	PGresult *r = db_query_or_die(c, "SELECT pg_catalog.current_schema() AS s", 0, NULL);
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		ae_schema = xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	const char *sch = nd_get_str(shadow_rec, "schema"), *maps = nd_get_str(shadow_rec, "maps_schema");
	if (sch && maps && !strcmp(sch, ae_schema)) {
		map_from = xasprintf("%s.", sch);
		map_to = xasprintf("%s.", maps);
		cJSON *mig;
		cJSON_ArrayForEach(mig, migrations) map_migration(c, mig, sch, maps);
	}
}

static void map_names(cJSON *j)
{
	if (cJSON_IsString(j) && strstr(j->valuestring, map_from)) {
		struct buf b = BUF_INIT;
		buf_init(&b);
		const char *p = j->valuestring, *hit;
		for (; (hit = strstr(p, map_from)); p = hit + strlen(map_from)) {
			buf_add(&b, p, (size_t)(hit - p));
			buf_adds(&b, map_to);
		}
		buf_adds(&b, p);
		cJSON_SetValuestring(j, b.s);
		buf_release(&b);
	}
	cJSON *it;
	cJSON_ArrayForEach(it, j) map_names(it);
}

static void emit(cJSON *rec)
{
	if (map_from)
		map_names(rec);
	nd_emit(rec);
}

static void emit_all(cJSON *arr)
{
	cJSON *it;
	while ((it = cJSON_DetachItemFromArray(arr, 0)))
		emit(it);
}

/* one_migration: returns true when every statement ran. */
static bool one_migration(struct shadow *sh, const cJSON *mig)
{
	const char *id = nd_get_str(mig, "id"), *fw = nd_get_str(mig, "forward");
	const char *file = nd_get_str(cJSON_GetObjectItemCaseSensitive(mig, "files"), "forward");
	struct strv tables = STRV_INIT, snap0 = STRV_INIT;
	struct queries *q = NULL;
	struct run run;
	migration_tables(sh->mig, fw, &tables);
	progress(sh->o, "%s: finding the top queries", id);
	if (!sh->o->no_plans && (q = queries_collect(sh, &tables))) {
		progress(sh->o, "%s: EXPLAIN ANALYZE of the top queries, before", id);
		queries_explain(sh, q, false);
	}
	if (!sh->o->no_rollback)
		snapshot_take(sh->mig, &snap0);
	bool ok = apply_traced(sh, id, file ? file : id, fw, &run) == 0;
	progress_done(sh->o);
	if (!ok)
		warning("%s: statement %d failed on the shadow: %s%s", id, run.failed_stmt, run.error,
			run.violations ? " (a violation of existing data)" : "");
	emit_all(run.traces);
	if (q) {
		cJSON *plans = cJSON_CreateArray();
		if (ok) {
			progress(sh->o, "%s: EXPLAIN ANALYZE of the top queries, after", id);
			queries_explain(sh, q, true);
		}
		queries_records(sh, q, id, plans);
		emit_all(plans);
		cJSON_Delete(plans);
	}
	if (ok && !sh->o->no_rollback) {
		progress(sh->o, "%s: rollback, catalog comparison, forward again", id);
		emit(rollback_check(sh, mig, &snap0, &run));
	}
	progress_done(sh->o);
	queries_free(q);
	run_release(&run);
	strv_release(&tables);
	strv_release(&snap0);
	return ok;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct input in = {NULL, NULL, NULL};
	msg_set_prog(argv[0]);
	db_hide_argv_secrets(argc, argv);
	xalloc_init_cjson();
	parse_opts(&o, argc, argv);
	o.progress = isatty(STDERR_FILENO);
	if (isatty(STDIN_FILENO))
		usage_error("no input: pipe the records from mkshadow on stdin");
	in.migrations = cJSON_CreateArray();
	in.samples = cJSON_CreateArray();
	read_input(&in);
	if (cJSON_GetArraySize(in.migrations) == 0)
		usage_error("no migration record on stdin");
	/* the shadow mkshadow made wins over SHADOW_DATABASE_URL, which names
	 * the server mkshadow made it on */
	const char *url = o.shadow_url ? o.shadow_url : in.shadow ? nd_get_str(in.shadow, "url")
								  : NULL;
	if (!url || !*url)
		url = getenv("SHADOW_DATABASE_URL");
	if (!url || !*url)
		usage_error("no shadow database: give --shadow URL, SHADOW_DATABASE_URL or a shadow record");
	const cJSON *pct = in.shadow ? cJSON_GetObjectItemCaseSensitive(in.shadow, "sample_percent") : NULL;
	struct shadow sh = {url, NULL, NULL, &o, cJSON_IsNumber(pct) ? pct->valuedouble : 0, in.samples, STRV_INIT};
	/* our own session (the mark, the catalog, the locks), and the
	 * migration's, as a role that reaches nothing beyond the shadow
	 * (contain.c) */
	sh.mon = connect_shadow_as(url, &o, "applyexplain-monitor", NULL, NULL);
	int marked = refuse_unless_shadow(sh.mon, &o, url);
	set_schema(sh.mon, o.shadow_url ? NULL : in.shadow, in.migrations);
	sh.mig = marked ? contain_migration(sh.mon, url, marked == 2 ? ae_schema : NULL, &o)
			: connect_shadow_as(url, &o, "applyexplain", NULL, NULL);
	if (marked)
		superuser_extensions(&sh, in.migrations);
	atexit(probes_cleanup_all);
	int rc = EXIT_OK;
	const cJSON *mig;
	cJSON_ArrayForEach(mig, in.migrations) if (!one_migration(&sh, mig)) rc = EXIT_FINDINGS;
	db_close(sh.mon);
	db_close(sh.mig);
	strv_release(&sh.by_superuser);
	struct msg_err ferr = MSG_ERR_INIT;
	if (nd_finish(&ferr) < 0)
		die_err(&ferr);
	cJSON_Delete(in.shadow);
	cJSON_Delete(in.migrations);
	cJSON_Delete(in.samples);
	return rc;
}
