/*
 * mkshadow — a throwaway PostgreSQL with production's schema and a masked,
 * foreign-key-consistent sample of its rows.
 *
 * usage: mkshadow [options] [< records.ndjson] > records.ndjson
 * Production (--from-db or PROD_DATABASE_URL) is only read: a read-only
 * session with a statement_timeout and a lock_timeout, one REPEATABLE READ
 * snapshot shared with pg_dump --schema-only, and SELECT / COPY ... TO only.
 * Each table is sampled (TABLESAMPLE BERNOULLI, seeded), the sample closed
 * over foreign keys (missing parents fetched by key until none is missing),
 * personal data masked in this process before it reaches the shadow (rows
 * start coming while the shadow is being created, and wait in memory, up
 * to --memory per worker, until its tables exist), then the indexes and
 * constraints are built (every foreign key validated),
 * sequences positioned and the shadow ANALYZEd. Without production the
 * schema comes from the DAG's source record (its SQL files), with no rows.
 *
 * Reads: any records; all are forwarded unchanged (the `source` record
 * names the schema files when there is no production).
 * Writes: one `shadow` record (url without password, server_version,
 * provider, sample_percent, masked[], timings{...}, destroy{...}; a schema shadow adds
 * schema and maps_schema, and its url sets search_path) and one `sample` record
 * per table (source_rows, rows, sampled_rows, closure_rows,
 * masked_columns[], masking[] {column, rule, why, walk, values}, ms).
 * --destroy reads shadow records and removes what they name (forwarding
 * every other record); --gc removes abandoned shadows.
 * Exit: 0 ok; 2 usage (a sample percentage out of range, a mask rule for a
 * column production lacks); 3 runtime (a server unreachable, a privilege
 * missing, a version mismatch, production as the target); 4 invalid input
 * records. On any failure nothing reaches stdout and nothing created is
 * left behind.
 */
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "flyway.h"
#include "mkshadow.h"
#include "msg.h"
#include "nd.h"
#include "opt.h"
#include "pgvocab.h"
#include "sql.h"
#include "xalloc.h"

static const char usage_text[] =
	"usage: mkshadow [options] [< records.ndjson] > records.ndjson\n"
	"Build a throwaway PostgreSQL with production's schema and a masked, foreign-key-consistent\n"
	"sample of its rows; forward the records read and add a shadow record and sample records.\n"
	"\n"
	"Source:\n"
	"  --from-db URL             production, read only (default PROD_DATABASE_URL); without it the\n"
	"                            schema comes from the source record's SQL files on stdin, no rows\n"
	"  --sample PCT              percent of each table's rows, 0 < PCT <= 100 (default 5)\n"
	"  --seed N                  sampling seed (default 1): the same seed picks the same rows\n"
	"  --statement-timeout MS    statement_timeout on production (default 600000)\n"
	"  -j, --jobs N              sessions copying in parallel, on production and on the shadow, all\n"
	"                            in production's one snapshot (default 2; 1..64)\n"
	"  --memory MB               rows each worker holds while the shadow is being created, then it\n"
	"                            waits for it (default 256; 0: hold no row)\n"
	"Where the shadow runs (default local, a throwaway cluster):\n"
	"  --provider local|url|docker\n"
	"  --url URL                 a server to create a fresh database on (default SHADOW_DATABASE_URL);\n"
	"                            without CREATEDB, a fresh schema in URL's database\n"
	"  --docker IMAGE            a container of IMAGE, when a Docker engine answers\n"
	"  --allow-version-mismatch  build even when the major versions differ (EXPLAIN will mislead)\n"
	"  --dir DIR                 local: create the cluster in DIR (default $TMPDIR, else /dev/shm when\n"
	"                            it is a tmpfs with room for twice the expected size, else /tmp);\n"
	"                            with --gc, look there too\n"
	"Masking (deterministic HMAC-SHA256; key from MIGSAFE_MASK_KEY, random per run when unset):\n"
	"  --mask [SCHEMA.]TABLE.COLUMN=RULE   keep, null, fixed:VALUE, hash, email, name, digits,\n"
	"                            ip, date (repeatable; wins over the mask file and the defaults)\n"
	"  --mask-file FILE          one [SCHEMA.]TABLE.COLUMN=RULE per line, # comments\n"
	"  --no-auto-mask            mask only what --mask and --mask-file name: no column recognised by\n"
	"                            name or type, no text scanned for e-mail addresses, phone, card and\n"
	"                            id numbers, IBANs, IP addresses\n"
	"  --mask-default keep|deny  deny: mask every text-like column (text, varchar, text arrays, json)\n"
	"                            no rule keeps (hash, or the rule of the item a value is); default keep\n"
	"Removing shadows:\n"
	"  --destroy                 remove the shadows the shadow records on stdin name\n"
	"  --gc                      remove shadows of crashed runs and those older than --older-than\n"
	"  --older-than SECONDS      for --gc (default 86400; -1: crashed runs only)\n"
	"  --dry-run                 with --gc: list what would go\n"
	"  -h, --help                this help\n"
	"\n"
	"Passwords belong in PGPASSWORD or a PGPASSFILE, not on the command line: other users\n"
	"see them there (ps) until the program has started and hidden them.\n"
	"Exit: 0 ok, 2 usage, 3 database or server error, 4 invalid input.\n";

struct opts {
	const char *from_db, *provider, *url, *image, *mask_file, *dir;
	struct strv masks;
	double percent;
	long seed, older_than;
	int timeout_ms, jobs;
	long memory_mb;
	bool allow_mismatch, no_auto, destroy, gc, dry_run;
	bool deny; /* --mask-default deny */
};

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"from-db", required_argument, NULL, 'f'},
		{"sample", required_argument, NULL, 's'},
		{"seed", required_argument, NULL, 'S'},
		{"statement-timeout", required_argument, NULL, 'T'},
		{"provider", required_argument, NULL, 'p'},
		{"url", required_argument, NULL, 'u'},
		{"docker", required_argument, NULL, 'd'},
		{"allow-version-mismatch", no_argument, NULL, 'V'},
		{"mask", required_argument, NULL, 'm'},
		{"mask-file", required_argument, NULL, 'M'},
		{"no-auto-mask", no_argument, NULL, 'n'},
		{"destroy", no_argument, NULL, 'D'},
		{"gc", no_argument, NULL, 'g'},
		{"older-than", required_argument, NULL, 'o'},
		{"dry-run", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{"jobs", required_argument, NULL, 'j'},
		{"dir", required_argument, NULL, 'L'},
		{"memory", required_argument, NULL, 'R'},
		{"mask-default", required_argument, NULL, 'K'},
		{NULL, 0, NULL, 0},
	};
	static const char *const providers[] = {"local", "url", "docker", NULL};
	static const char *const mask_defaults[] = {"keep", "deny", NULL};
	int ch;
	memset(o, 0, sizeof(*o));
	o->percent = 5, o->seed = 1, o->older_than = 86400, o->timeout_ms = 600000, o->jobs = 2;
	o->memory_mb = 256;
	while ((ch = getopt_long(argc, argv, "hj:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': o->from_db = optarg; break;
		case 's': o->percent = opt_num_above("--sample", optarg, 0, 100); break;
		case 'S': o->seed = opt_int("--seed", optarg, 0, INT_MAX); break;
		case 'T': o->timeout_ms = (int)opt_int("--statement-timeout", optarg, 0, INT_MAX); break;
		case 'p': o->provider = providers[opt_enum("--provider", optarg, providers)]; break;
		case 'u': o->url = optarg; break;
		case 'd': o->image = optarg; break;
		case 'L': o->dir = optarg; break;
		case 'V': o->allow_mismatch = true; break;
		case 'm': strv_push(&o->masks, optarg); break;
		case 'M': o->mask_file = optarg; break;
		case 'n': o->no_auto = true; break;
		case 'K': o->deny = opt_enum("--mask-default", optarg, mask_defaults) == 1; break;
		case 'D': o->destroy = true; break;
		case 'g': o->gc = true; break;
		case 'o': o->older_than = opt_int("--older-than", optarg, -1, 1LL << 40); break;
		case 'r': o->dry_run = true; break;
		case 'j': o->jobs = (int)opt_int("--jobs", optarg, 1, 64); break;
		case 'R': o->memory_mb = opt_int("--memory", optarg, 0, 1LL << 20); break;
		case 'h': fputs(usage_text, stdout); exit(EXIT_OK);
		default: usage_error("unknown option");
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o->destroy && o->gc)
		usage_error("--destroy and --gc are separate runs");
	if (!o->url && getenv("SHADOW_DATABASE_URL") && *getenv("SHADOW_DATABASE_URL"))
		o->url = getenv("SHADOW_DATABASE_URL");
	if (!o->from_db && getenv("PROD_DATABASE_URL") && *getenv("PROD_DATABASE_URL"))
		o->from_db = getenv("PROD_DATABASE_URL");
	if (!o->provider)
		o->provider = o->image ? "docker" : o->url && !o->destroy && !o->gc ? "url"
										    : "local";
	if (!strcmp(o->provider, "url") && !o->url && !o->destroy && !o->gc)
		usage_error("--provider url needs --url or SHADOW_DATABASE_URL");
	if (!strcmp(o->provider, "docker") && !o->image && !o->destroy && !o->gc)
		usage_error("--provider docker needs --docker IMAGE");
	for (size_t i = 0; i < o->masks.n; i++)
		if (!strchr(o->masks.v[i], '='))
			usage_error("--mask '%s': expected TABLE.COLUMN=RULE", o->masks.v[i]);
}

/* ---- mask rules ---- */

/* find_column: "[schema.]table.column" in production; usage error when it
 * is not there or names more than one column. */
static struct column *find_column(const struct prod *p, const char *spec, const char *where,
				  struct table **tp)
{
	const char *d1 = strchr(spec, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	if (!d1)
		usage_error("%s: '%s': expected TABLE.COLUMN", where, spec);
	struct column *found = NULL;
	for (size_t i = 0; i < p->ntables; i++) {
		struct table *t = p->tables[i];
		const char *col;
		if (d2 && !strncmp(spec, t->schema, (size_t)(d1 - spec)) && !t->schema[d1 - spec] &&
		    !strncmp(d1 + 1, t->name, (size_t)(d2 - d1 - 1)) && !t->name[d2 - d1 - 1])
			col = d2 + 1;
		else if (!strncmp(spec, t->name, (size_t)(d1 - spec)) && !t->name[d1 - spec])
			col = d1 + 1;
		else
			continue;
		for (size_t c = 0; c < t->ncols; c++)
			if (!strcmp(t->cols[c].name, col)) {
				if (found)
					usage_error("%s: '%s' names columns in two schemas; add the schema", where, spec);
				found = &t->cols[c];
				*tp = t;
			}
	}
	if (!found)
		usage_error("%s: production has no column %s", where, spec);
	return found;
}

static void set_rule(const struct prod *p, const char *assign, const char *where)
{
	const char *eq = strrchr(assign, '=');
	const char *first = strchr(assign, '=');
	(void)eq;
	char *spec = xstrndup(assign, (size_t)(first - assign));
	struct mask_rule r;
	struct table *t = NULL;
	if (mask_parse_rule(first + 1, &r) < 0)
		usage_error("%s: unknown mask rule '%s' (keep, null, fixed:VALUE, hash, email, name, digits, ip, date)",
			    where, first + 1);
	struct column *c = find_column(p, spec, where, &t);
	if (!mask_fits(r.kind, c->typclass))
		usage_error("%s: rule %s cannot mask %s.%s, of type %s", where, mask_kind_name(r.kind), t->qname,
			    c->name, c->type);
	if (r.kind == MASK_NULL && c->notnull)
		usage_error("%s: rule null on %s.%s, which is NOT NULL", where, t->qname, c->name);
	free(c->mask.fixed);
	c->mask = r;
	free(spec);
}

static void read_mask_file(const struct prod *p, const char *path)
{
	struct msg_err err = MSG_ERR_INIT;
	char *text = read_file(path, &err), *save = NULL;
	if (!text)
		die_err(&err);
	long line = 0;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		line++;
		while (isspace((unsigned char)*l))
			l++;
		size_t n = strlen(l);
		while (n && isspace((unsigned char)l[n - 1]))
			l[--n] = '\0';
		if (!*l || *l == '#')
			continue;
		char *where = xasprintf("%s:%ld", path, line);
		if (!strchr(l, '='))
			usage_error("%s: expected TABLE.COLUMN=RULE", where);
		set_rule(p, l, where);
		free(where);
	}
	free(text);
}

/* rule_source: of a foreign key's two ends, the one whose rule both take:
 * a rule that masks every value first, then one that scans. */
static struct column *rule_source(struct column *a, struct column *b)
{
	if (a->mask.kind != MASK_KEEP || b->mask.kind != MASK_KEEP)
		return a->mask.kind != MASK_KEEP ? a : b;
	return mask_active(&a->mask) ? a : b;
}

/* propagate: a foreign key's two ends get the same rule, so masked keys
 * still join (and the unmasked end does not leak what the other hides). */
static void propagate_masks(struct prod *p)
{
	/* a column that already took a rule from a foreign key keeps it, and
	 * passes it on: two children with different automatic rules on one
	 * parent key would otherwise take turns forever; the bound stops what
	 * cannot agree (two rules the user named, linked through a chain) */
	size_t rounds = 0, limit = 2 * p->nfks + 2;
	for (bool changed = true; changed; rounds++) {
		changed = false;
		for (size_t k = 0; k < p->nfks; k++) {
			struct fkey *fk = p->fks[k];
			for (size_t i = 0; i < fk->ref->ncols; i++) {
				struct column *a = &fk->child->cols[fk->cols[i]];
				struct column *b = &fk->ref->t->cols[fk->ref->cols[i]];
				if (a->mask.kind == b->mask.kind && a->mask.scan == b->mask.scan &&
				    a->mask.shape == b->mask.shape)
					continue;
				if (rounds > limit)
					die_code(EXIT_USAGE,
						 "the foreign key %s.%s -> %s.%s joins columns whose masking rules cannot "
						 "agree: name one rule for them with --mask",
						 fk->child->name, a->name, fk->ref->t->name, b->name);
				struct column *from = rule_source(a, b), *to = from == a ? b : a;
				if (to->mask.why == MASK_WHY_FKEY && from->mask.why != MASK_WHY_FKEY && from->mask.automatic) {
					struct column *t = to;
					to = from;
					from = t;
				}
				if (to->mask.kind != MASK_KEEP && !to->mask.automatic && !from->mask.automatic)
					continue; /* two explicit rules: the user's choice */
				free(to->mask.fixed);
				to->mask = from->mask;
				to->mask.fixed = from->mask.fixed ? xstrdup(from->mask.fixed) : NULL;
				to->mask.why = MASK_WHY_FKEY;
				changed = true;
			}
		}
	}
}

static void resolve_masks(struct prod *p, const struct opts *o)
{
	for (size_t i = 0; i < p->ntables && !o->no_auto; i++) {
		struct table *t = p->tables[i];
		for (size_t c = 0; c < t->ncols; c++)
			mask_auto(t->name, &t->cols[c]);
	}
	if (o->mask_file)
		read_mask_file(p, o->mask_file);
	for (size_t i = 0; i < o->masks.n; i++)
		set_rule(p, o->masks.v[i], "--mask");
	/* what no rule names: scanned (automatic masking), or masked (deny) */
	for (size_t i = 0; i < p->ntables; i++)
		for (size_t c = 0; c < p->tables[i]->ncols; c++)
			mask_default(&p->tables[i]->cols[c], !o->no_auto, o->deny);
	propagate_masks(p);
	for (size_t i = 0; i < p->ntables; i++)
		for (size_t c = 0; c < p->tables[i]->ncols; c++)
			if (mask_active(&p->tables[i]->cols[c].mask) && p->tables[i]->cols[c].field >= 0)
				p->tables[i]->masked = true;
}

static void mask_key(struct hmac_sha256_key *k)
{
	const char *env = getenv("MIGSAFE_MASK_KEY");
	unsigned char r[32];
	if (env && *env) {
		hmac_sha256_key_init(k, env, strlen(env));
		return;
	}
	FILE *f = fopen("/dev/urandom", "r");
	if (!f || fread(r, 1, sizeof(r), f) != sizeof(r))
		die_code(EXIT_RUNTIME, "cannot read /dev/urandom for a masking key");
	fclose(f);
	hmac_sha256_key_init(k, r, sizeof(r));
	memset(r, 0, sizeof(r));
}

/* ---- building ---- */

static void exec_script(PGconn *conn, const char *sql, const char *what)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
		char *m = db_redact_url(PQresultErrorMessage(res));
		m[strcspn(m, "\n")] = '\0';
		die_code(EXIT_RUNTIME, "%s: %s", what, m);
	}
	PQclear(res);
	/* a script can leave search_path empty (pg_dump does) */
	db_exec_or_die(conn, "RESET search_path");
}

static void set_sequences(struct prod *p, PGconn *shadow, const char *schema)
{
	PGresult *res = db_query_or_die(p->conn,
					"SELECT schemaname, sequencename, last_value::text AS last FROM pg_sequences "
					"WHERE last_value IS NOT NULL",
					0, NULL);
	for (int i = 0; i < PQntuples(res); i++) {
		const char *params[] = {schema ? schema : db_get(res, i, "schemaname"), db_get(res, i, "sequencename"),
					db_get(res, i, "last")};
		PQclear(db_query_or_die(shadow, "SELECT setval(format('%I.%I', $1::text, $2::text)::regclass, $3::bigint)",
					3, params));
	}
	PQclear(res);
}

/* refresh_matviews: the shadow's (a schema shadow's own only). */
static void refresh_matviews(PGconn *shadow, const char *schema)
{
	const char *params[] = {schema};
	PGresult *res = db_query_or_die(shadow,
					"SELECT format('REFRESH MATERIALIZED VIEW %I.%I', schemaname, matviewname) AS sql "
					"FROM pg_matviews WHERE $1::text IS NULL OR schemaname = $1 ORDER BY 1",
					1, params);
	for (int i = 0; i < PQntuples(res); i++)
		db_exec_or_die(shadow, db_get(res, i, "sql"));
	PQclear(res);
}

/* create_extensions: for a schema shadow, the extensions the schema needs
 * that the database lacks, created in the shadow schema (DROP SCHEMA ...
 * CASCADE takes them along); one the role may not create is a warning:
 * what needs it then fails, naming it. */
static void create_extensions(PGconn *shadow, const struct strv *exts, const struct remap *m)
{
	for (size_t i = 0; i < exts->n; i++) {
		const char *params[] = {exts->v[i]};
		PGresult *res = db_query_or_die(shadow, "SELECT 1 FROM pg_extension WHERE extname = $1", 1, params);
		bool have = PQntuples(res) > 0;
		PQclear(res);
		if (have)
			continue;
		char *q = db_quote_ident_or_die(shadow, exts->v[i]);
		char *sql = xasprintf("CREATE EXTENSION IF NOT EXISTS %s WITH SCHEMA %s", q, m->qto);
		res = PQexec(shadow, sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			char *msg = xstrdup(PQresultErrorMessage(res));
			msg[strcspn(msg, "\n")] = '\0';
			warning("extension %s is not in the shadow's database and cannot be created: %s", exts->v[i], msg);
			free(msg);
		}
		PQclear(res);
		free(q), free(sql);
	}
}

/* map_stmt: statement i of sc (its text stmt, freed) for a schema shadow:
 * mapped, or NULL when left out (an extension is created here instead). */
static char *map_stmt(PGconn *shadow, const struct sql_script *sc, size_t i, char *stmt, const char *path,
		      const struct remap *map)
{
	char *where = xasprintf("%s:%d", path, sc->stmts[i].line), *mapped = NULL;
	if (!strcmp(sc->stmts[i].type, "CreateExtensionStmt")) {
		struct strv one = STRV_INIT;
		strv_push(&one, sql_jstr(sc->stmts[i].node, "extname"));
		create_extensions(shadow, &one, map);
		strv_release(&one);
	} else {
		mapped = remap_stmt(map, &sc->stmts[i], stmt, where);
	}
	free(where), free(stmt);
	return mapped;
}

/* exec_file: the statements of text (path's, named in messages), one at a
 * time (so VACUUM, CREATE INDEX CONCURRENTLY and explicit transactions
 * behave as in psql); map: a schema shadow's mapping, or NULL. A statement
 * the shadow refuses is fatal when refused is NULL, else counted there and
 * warned about (the first ten), and the run goes on. */
static void exec_file(PGconn *shadow, const char *path, const char *text, const struct remap *map, int *refused)
{
	struct sql_script sc;
	struct sql_error err;
	if (sql_parse(&sc, text, &err) < 0)
		die_at(EXIT_INPUT, path, err.line, "%s", err.message);
	for (size_t i = 0; i < sc.n; i++) {
		char *stmt = sql_stmt_text(&sc, &sc.stmts[i]);
		if (map && !(stmt = map_stmt(shadow, &sc, i, stmt, path, map)))
			continue;
		PGresult *res = PQexec(shadow, stmt);
		ExecStatusType st = PQresultStatus(res);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
			char *m = xstrdup(PQresultErrorMessage(res));
			m[strcspn(m, "\n")] = '\0';
			if (!refused)
				die_at(EXIT_RUNTIME, path, sc.stmts[i].line, "the shadow refused the statement: %s", m);
			/* a history PostgreSQL cannot replay (a step was Java, or
			 * needed data): the schema goes on without the statement */
			if (++*refused <= 10)
				warning_at(path, sc.stmts[i].line, "the shadow refused the statement, which the schema goes on "
								   "without: %s",
					   m);
			if (PQtransactionStatus(shadow) == PQTRANS_INERROR)
				PQclear(PQexec(shadow, "ROLLBACK"));
			free(m);
		}
		PQclear(res);
		free(stmt);
	}
	sql_script_release(&sc);
}

/* flyway_prepare: what Flyway does before a location's migrations: the
 * default schema created when missing, and made the search_path */
static void flyway_prepare(PGconn *shadow, const struct flyway_set *set)
{
	const char *schema = set->default_schema ? set->default_schema : "public";
	char *q = PQescapeIdentifier(shadow, schema, strlen(schema));
	if (!q)
		die_code(EXIT_RUNTIME, "%s", PQerrorMessage(shadow));
	char *sql = xasprintf("CREATE SCHEMA IF NOT EXISTS %s; SET search_path TO %s", q, q);
	PGresult *res = PQexec(shadow, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		die_code(EXIT_RUNTIME, "the shadow cannot make Flyway's default schema %s: %s", schema,
			 PQresultErrorMessage(res));
	PQclear(res);
	PQfreemem(q);
	free(sql);
}

/* schema_from_source: without production, the DAG's source files (SQL
 * migrations in order, or a structure.sql) replayed into the shadow; a
 * Flyway location's with its placeholders and default schema, as Flyway
 * runs them. A statement PostgreSQL refuses there is skipped with a
 * warning: a real history is not always replayable (DSpace's needed Java
 * steps), and the review goes on with the schema as close as it gets. */
static void schema_from_source(PGconn *shadow, const cJSON *source, const struct remap *m)
{
	const char *fmt = nd_get_str(source, "format");
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(source, "files");
	const char *path = nd_get_str(source, "path");
	if (fmt && !strcmp(fmt, "prisma"))
		die_code(EXIT_INPUT, "source record: a schema.prisma holds no SQL; use schema2dag "
				     "--prisma-migrations, or give --from-db");
	bool flyway = fmt && !strcmp(fmt, "flyway");
	struct flyway_set set = {0};
	if (flyway) {
		struct msg_err err = MSG_ERR_INIT;
		if (flyway_settings(&set, path, nd_get_str(source, "conf"), &err) < 0)
			die_err(&err);
		if (!m) /* a schema shadow maps every name into its own schema */
			flyway_prepare(shadow, &set);
	}
	int n = 0, refused = 0;
	const cJSON *f;
	cJSON_ArrayForEach(f, files)
	{
		if (!cJSON_IsString(f))
			continue;
		struct msg_err err = MSG_ERR_INIT;
		char *text = read_file(f->valuestring, &err);
		if (!text)
			die_err(&err);
		if (flyway) {
			char *x = flyway_expand(&set, f->valuestring, text, &err);
			if (!x)
				die_err(&err);
			free(text);
			text = x;
		}
		exec_file(shadow, f->valuestring, text, m, &refused);
		free(text);
		n++;
	}
	if (n == 0 && path && fmt && !strcmp(fmt, "sql")) {
		struct msg_err err = MSG_ERR_INIT;
		char *text = read_file(path, &err);
		if (!text)
			die_err(&err);
		exec_file(shadow, path, text, m, &refused);
		free(text);
		n++;
	}
	if (flyway)
		flyway_release(&set);
	if (n == 0 && !(files && cJSON_IsArray(files)))
		die_code(EXIT_INPUT, "source record names no SQL files to build the schema from");
	if (refused > 10)
		warning("the shadow refused %d statements of the history in all", refused);
}

/* remap_dump: a pg_dump script (freed) mapped into the schema shadow, its
 * extensions created first. */
static char *remap_dump(PGconn *shadow, char *script, const struct remap *m, const char *what)
{
	struct strv exts = STRV_INIT;
	char *mapped = remap_script(m, script, what, &exts);
	create_extensions(shadow, &exts, m);
	strv_release(&exts);
	free(script);
	return mapped;
}

static cJSON *timings_json(const struct timings *tm, const struct prod *p, int jobs)
{
	cJSON *t = cJSON_CreateObject();
	cJSON_AddNumberToObject(t, "create_ms", (double)(long)(tm->create + 0.5));
	cJSON_AddNumberToObject(t, "schema_ms", (double)(long)(tm->schema + 0.5));
	if (p) {
		cJSON_AddNumberToObject(t, "sample_ms", (double)(long)(p->sample_ms + 0.5));
		cJSON_AddNumberToObject(t, "closure_ms", (double)(long)(p->closure_ms + 0.5));
		cJSON_AddNumberToObject(t, "copy_ms", (double)(long)(p->copy_ms + 0.5));
		cJSON_AddNumberToObject(t, "closure_rounds", p->closure_rounds);
		cJSON_AddNumberToObject(t, "post_data_ms", (double)(long)(tm->post_data + 0.5));
	}
	cJSON_AddNumberToObject(t, "analyze_ms", (double)(long)(tm->analyze + 0.5));
	cJSON_AddNumberToObject(t, "total_ms", (double)(long)(tm->total + 0.5));
	cJSON_AddNumberToObject(t, "jobs", jobs);
	return t;
}

/* masking_json: what masks column c and why ({column, rule, why, walk,
 * values}), or NULL when nothing changed its values: a rule that keeps,
 * or scanning that found nothing. rule "content": each item found is
 * masked by its own rule. values: how many values walking or scanning
 * changed. */
static cJSON *masking_json(const struct column *c)
{
	const struct mask_rule *r = &c->mask;
	long found = __atomic_load_n(&c->found, __ATOMIC_RELAXED);
	if (c->field < 0 || (r->kind == MASK_KEEP && !found))
		return NULL;
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "column", c->name);
	cJSON_AddStringToObject(m, "rule", r->kind == MASK_KEEP ? "content" : mask_kind_name(r->kind));
	cJSON_AddStringToObject(m, "why", mask_why_name(r->why ? r->why : MASK_WHY_EXPLICIT));
	if (r->shape != MASK_WHOLE)
		cJSON_AddStringToObject(m, "walk", r->shape == MASK_JSON ? "json" : "array");
	if (r->scan || r->shape != MASK_WHOLE)
		cJSON_AddNumberToObject(m, "values", (double)found);
	return m;
}

static void emit_records(const struct shadow *s, const struct prod *p, const struct opts *o,
			 const struct timings *tm)
{
	cJSON *rec = shadow_record(s);
	struct strv masked = STRV_INIT;
	cJSON *rules = cJSON_CreateObject();
	for (size_t i = 0; p && i < p->ntables; i++)
		for (size_t c = 0; c < p->tables[i]->ncols; c++) {
			const struct column *col = &p->tables[i]->cols[c];
			if (col->mask.kind == MASK_KEEP)
				continue;
			char *q = xasprintf("%s.%s", p->tables[i]->qname, col->name);
			strv_push(&masked, q);
			cJSON_AddStringToObject(rules, q, mask_kind_name(col->mask.kind));
			free(q);
		}
	if (p)
		cJSON_AddNumberToObject(rec, "sample_percent", o->percent);
	else
		cJSON_AddNullToObject(rec, "sample_percent");
	cJSON_AddNumberToObject(rec, "seed", (double)o->seed);
	cJSON_AddItemToObject(rec, "masked", pgv_strv_json(&masked));
	cJSON_AddItemToObject(rec, "mask_rules", rules);
	if (p)
		cJSON_AddStringToObject(rec, "source_version", p->version);
	cJSON_AddItemToObject(rec, "timings", timings_json(tm, p, o->jobs));
	nd_emit(rec);
	strv_release(&masked);
	for (size_t i = 0; p && i < p->ntables; i++) {
		const struct table *t = p->tables[i];
		cJSON *r = nd_record("sample");
		struct strv cols = STRV_INIT;
		cJSON *why = cJSON_CreateArray();
		for (size_t c = 0; c < t->ncols; c++) {
			cJSON *m = masking_json(&t->cols[c]);
			if (m || t->cols[c].mask.kind != MASK_KEEP)
				strv_push(&cols, t->cols[c].name);
			if (m)
				cJSON_AddItemToArray(why, m);
		}
		cJSON_AddStringToObject(r, "table", t->qname);
		if (t->reltuples >= 0)
			cJSON_AddNumberToObject(r, "source_rows", t->reltuples);
		else
			cJSON_AddNullToObject(r, "source_rows");
		cJSON_AddNumberToObject(r, "rows", (double)(t->sampled + t->closure));
		cJSON_AddNumberToObject(r, "sampled_rows", (double)t->sampled);
		cJSON_AddNumberToObject(r, "closure_rows", (double)t->closure);
		cJSON_AddItemToObject(r, "masked_columns", pgv_strv_json(&cols));
		cJSON_AddItemToObject(r, "masking", why);
		cJSON_AddNumberToObject(r, "ms", (double)(long)(t->ms + 0.5));
		nd_emit(r);
		strv_release(&cols);
	}
}

static cJSON *read_input(void)
{
	cJSON *source = NULL;
	if (isatty(STDIN_FILENO))
		return NULL;
	struct nd_reader r;
	struct msg_err rerr = MSG_ERR_INIT;
	nd_reader_init(&r, stdin, "<stdin>");
	cJSON *rec;
	while ((rec = nd_read(&r, &rerr))) {
		nd_forward(r.line.s, r.line.len);
		if (!strcmp(nd_kind(rec), "source")) {
			cJSON_Delete(source);
			source = rec;
		} else {
			cJSON_Delete(rec);
		}
	}
	if (rerr.text)
		die_err(&rerr);
	nd_reader_release(&r);
	return source;
}

/* The two pg_dump runs (pre-data, post-data) go in a thread of their own
 * while the shadow is created: neither waits for the other. */
struct dumps {
	const struct prod *p;
	pthread_t th;
	char *pre, *post, *err;
};

static void *dump_both(void *arg)
{
	struct dumps *d = arg;
	d->pre = prod_dump_schema(d->p, "pre-data", &d->err);
	if (d->pre)
		d->post = prod_dump_schema(d->p, "post-data", &d->err);
	return NULL;
}

static void dumps_start(struct dumps *d, const struct prod *p)
{
	memset(d, 0, sizeof(*d));
	d->p = p;
	if (pthread_create(&d->th, NULL, dump_both, d))
		die_code(EXIT_RUNTIME, "cannot start a thread for pg_dump");
}

/* dumps_finish: wait for both scripts; dies with pg_dump's message, or
 * with a copying worker's error when there is one (it comes first). */
static void dumps_finish(struct dumps *d)
{
	pthread_join(d->th, NULL);
	if (d->err) {
		pool_defer_fatal(false);
		die_code(EXIT_RUNTIME, "pg_dump --schema-only: %s", d->err);
	}
}

static void build(const struct opts *o)
{
	cJSON *source = read_input();
	struct prod p, *pp = NULL;
	if (o->from_db) {
		prod_open(&p, o->from_db, o->timeout_ms);
		pp = &p;
		resolve_masks(&p, o);
	} else if (!source) {
		usage_error("no schema: give --from-db URL (or PROD_DATABASE_URL), or pipe schema2dag records");
	} else if (o->masks.n || o->mask_file) {
		warning("no production rows to mask: --mask and --mask-file are ignored");
	}
	struct shadow s;
	char *no_schema = NULL, *from = pp ? prod_user_schema(&p, &no_schema) : xstrdup("public");
	struct dumps dumps;
	if (pp)
		dumps_start(&dumps, &p);
	struct shadow_opts so = {o->provider, o->url, o->image, NULL, pp ? p.major : 0, o->allow_mismatch, pp, no_schema,
				 o->dir, 0};
	/* the sample, its parents (up to as much again) and their indexes */
	for (size_t i = 0; pp && i < p.ntables; i++)
		so.est_bytes += 2 * p.tables[i]->bytes * o->percent / 100;
	struct timings tm = {0};
	bool progress = isatty(STDERR_FILENO);
	double t0 = now_ms(), t;
	tm.total = t0;
	/* production's rows start coming (into memory) while the shadow is
	 * made: initdb and a server start leave a core mostly idle */
	struct hmac_sha256_key key;
	struct copy_opts co = {o->percent, o->seed, &key, progress, o->jobs, (size_t)o->memory_mb << 20, &s};
	struct copier *copier = NULL;
	if (pp) {
		mask_key(&key);
		copier = copy_start(&p, &co);
	}
	shadow_create(&s, &so);
	if (pp)
		dumps_finish(&dumps);
	tm.create = (t = now_ms()) - t0;
	phase(progress, "shadow created", tm.create);
	struct remap map = {from, s.schema ? db_quote_ident_or_die(s.conn, s.schema) : NULL}, *m = s.schema ? &map : NULL;
	if (s.schema)
		s.maps_schema = xstrdup(from);
	if (pp) {
		char *pre = dumps.pre;
		if (m)
			pre = remap_dump(s.conn, pre, m, "pg_dump's pre-data script");
		exec_script(s.conn, pre, "building the schema (pre-data)");
		free(pre);
		tm.schema = (t0 = now_ms()) - t;
		phase(progress, "schema", tm.schema);
		copy_join(copier, s.conn);
		t = now_ms();
		char *post = dumps.post;
		if (m)
			post = remap_dump(s.conn, post, m, "pg_dump's post-data script");
		post_data(&s, post, o->jobs, progress);
		free(post);
		tm.post_data = (t0 = now_ms()) - t;
		phase(progress, "indexes and constraints", tm.post_data);
		set_sequences(&p, s.conn, s.schema);
		refresh_matviews(s.conn, s.schema);
		memset(&key, 0, sizeof(key));
	} else {
		schema_from_source(s.conn, source, m);
		tm.schema = (t0 = now_ms()) - t;
	}
	analyze(&s, o->jobs);
	tm.analyze = now_ms() - t0;
	phase(progress, "ANALYZE", tm.analyze);
	shadow_mark_ready(&s);
	tm.total = now_ms() - tm.total;
	emit_records(&s, pp, o, &tm);
	struct msg_err ferr = MSG_ERR_INIT;
	if (nd_finish(&ferr) < 0)
		die_err(&ferr);
	shadow_handover(&s);
	if (pp)
		prod_close(&p);
	shadow_release(&s);
	cJSON_Delete(source);
	free(map.qto), free(from), free(no_schema);
}

/* destroy: remove the shadows named by shadow records; forward the rest. */
static int destroy(const struct opts *o)
{
	struct nd_reader r;
	int rc = EXIT_OK, n = 0;
	struct msg_err rerr = MSG_ERR_INIT;
	nd_reader_init(&r, stdin, "<stdin>");
	cJSON *rec;
	while ((rec = nd_read(&r, &rerr))) {
		if (strcmp(nd_kind(rec), "shadow")) {
			nd_forward(r.line.s, r.line.len);
			cJSON_Delete(rec);
			continue;
		}
		struct shadow s;
		if (shadow_from_record(&s, rec, o->url) < 0)
			die_at(EXIT_INPUT, "<stdin>", r.lineno, "shadow record without a usable destroy object");
		if (shadow_destroy(&s) < 0)
			rc = EXIT_RUNTIME;
		n++;
		shadow_release(&s);
		cJSON_Delete(rec);
	}
	if (rerr.text)
		die_err(&rerr);
	nd_reader_release(&r);
	if (n == 0)
		warning("no shadow record on stdin: nothing to destroy");
	struct msg_err ferr = MSG_ERR_INIT;
	if (nd_finish(&ferr) < 0)
		die_err(&ferr);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	msg_set_prog(argv[0]);
	db_hide_argv_secrets(argc, argv);
	xalloc_init_cjson();
	parse_opts(&o, argc, argv);
	int rc = EXIT_OK;
	if (o.destroy) {
		rc = destroy(&o);
	} else if (o.gc) {
		int n = shadow_gc(o.url, o.dir, o.older_than, o.dry_run);
		fprintf(stderr, "%s: %d shadow%s %s\n", msg_prog(), n, n == 1 ? "" : "s",
			o.dry_run ? "would be removed" : "removed");
		struct msg_err ferr = MSG_ERR_INIT;
		if (nd_finish(&ferr) < 0)
			die_err(&ferr);
	} else {
		build(&o);
	}
	strv_release(&o.masks);
	return rc;
}
