/*
 * schema2dag — read a project's schema into the DAG.
 *
 * usage: schema2dag [--format ndjson|dot] INPUT [-]
 *   INPUT is one of:
 *     --prisma PATH               a schema.prisma, or a folder of .prisma files
 *     --prisma-migrations DIR     a prisma/migrations folder, replayed in order
 *     --flyway DIR [--conf FILE]  a Flyway location (flyway.conf / flyway.toml)
 *     --sql FILE...               plain SQL (pg_dump --schema-only, structure.sql)
 *     --db URL                    a live database, read-only, with row estimates
 *   --empty-ok: a --flyway or --prisma-migrations folder without migrations
 *   is an empty schema (the review of a project's first migration), not an
 *   error. --before FILE: with either, replay only the migrations that run
 *   before FILE, one of the folder's (the schema a pull request adding FILE
 *   is reviewed against).
 *   A trailing "-" also forwards the records read from stdin, unchanged.
 *
 * Writes: one "source" record, then enum, table, index, foreign_key, check
 * and view records (see schemas/). --format dot writes a Graphviz
 * ER diagram instead.
 * Exit: 0 ok; 2 usage; 3 database unreachable; 4 invalid input (a Prisma
 * syntax error with file, line and column; a SQL error with file and line;
 * a missing path; colliding Flyway versions). Nothing reaches stdout unless
 * the whole schema was read.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "db.h"
#include "msg.h"
#include "nd.h"
#include "opt.h"
#include "schema2dag.h"
#include "xalloc.h"

enum input_kind { IN_NONE,
		  IN_PRISMA,
		  IN_PRISMA_MIGRATIONS,
		  IN_FLYWAY,
		  IN_SQL,
		  IN_DB };

struct opts {
	enum input_kind kind;
	const char *path; /* prisma path, migrations dir, flyway dir, or db url */
	const char *conf;
	struct strv sql_files;
	bool dot;
	bool forward_stdin;
};

static const char usage_text[] =
	"usage: schema2dag [--format ndjson|dot] INPUT [-]\n"
	"Read a project's schema and write it as DAG records (NDJSON) on stdout.\n"
	"\n"
	"INPUT (exactly one):\n"
	"  --prisma PATH               schema.prisma, or a folder of .prisma files\n"
	"  --prisma-migrations DIR     prisma/migrations folder, replayed in order\n"
	"  --flyway DIR [--conf FILE]  Flyway location; flyway.conf or flyway.toml\n"
	"  --sql FILE...               plain SQL files, applied in the order given\n"
	"  --db URL                    live database (read-only), with row estimates\n"
	"\n"
	"  --empty-ok                  a migrations folder without migrations is an empty schema\n"
	"  --before FILE               only the migrations that run before FILE (one of the folder's)\n"
	"  --format ndjson|dot         records (default), or a Graphviz ER diagram\n"
	"  -                           also forward the records read from stdin\n"
	"  -h, --help                  this help\n"
	"\n"
	"Passwords belong in PGPASSWORD or a PGPASSFILE, not on the command line: other users\n"
	"see them there (ps) until the program has started and hidden them.\n"
	"Exit: 0 ok, 2 usage, 3 database error, 4 invalid input.\n";

/* --empty-ok: a migrations folder without migrations is an empty schema */
static bool empty_ok;
/* --before FILE: replay only the migrations that run before FILE */
static const char *before;
static struct stat before_st;

/* is_before: path is the --before migration (the same file, however named) */
static bool is_before(const char *path)
{
	struct stat st;
	return before && stat(path, &st) == 0 && st.st_dev == before_st.st_dev && st.st_ino == before_st.st_ino;
}

static void set_kind(struct opts *o, enum input_kind k, const char *path)
{
	if (o->kind != IN_NONE)
		usage_error("give exactly one of --prisma, --prisma-migrations, --flyway, --sql, --db");
	o->kind = k;
	o->path = path;
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"prisma", required_argument, NULL, 'p'},
		{"prisma-migrations", required_argument, NULL, 'm'},
		{"flyway", required_argument, NULL, 'f'},
		{"conf", required_argument, NULL, 'c'},
		{"empty-ok", no_argument, NULL, 'e'},
		{"before", required_argument, NULL, 'b'},
		{"sql", no_argument, NULL, 's'},
		{"db", required_argument, NULL, 'd'},
		{"format", required_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const char *const formats[] = {"ndjson", "dot", NULL};
	int ch;
	memset(o, 0, sizeof(*o));
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p': set_kind(o, IN_PRISMA, optarg); break;
		case 'm': set_kind(o, IN_PRISMA_MIGRATIONS, optarg); break;
		case 'f': set_kind(o, IN_FLYWAY, optarg); break;
		case 'c': o->conf = optarg; break;
		case 'e': empty_ok = true; break;
		case 'b': before = optarg; break;
		case 's': set_kind(o, IN_SQL, NULL); break;
		case 'd': set_kind(o, IN_DB, optarg); break;
		case 'F': o->dot = opt_enum("--format", optarg, formats) == 1; break;
		case 'h': fputs(usage_text, stdout); exit(EXIT_OK);
		default: usage_error("unknown option");
		}
	}
	for (int i = optind; i < argc; i++) {
		if (!strcmp(argv[i], "-"))
			o->forward_stdin = true;
		else if (o->kind == IN_SQL)
			strv_push(&o->sql_files, argv[i]);
		else
			usage_error("unexpected argument '%s'", argv[i]);
	}
	if (o->kind == IN_NONE)
		usage_error("no input: give --prisma, --prisma-migrations, --flyway, --sql or --db");
	if (o->kind == IN_SQL && o->sql_files.n == 0)
		usage_error("--sql needs at least one file");
	if (o->conf && o->kind != IN_FLYWAY)
		usage_error("--conf goes with --flyway");
	if ((empty_ok || before) && o->kind != IN_FLYWAY && o->kind != IN_PRISMA_MIGRATIONS)
		usage_error("--empty-ok and --before go with --flyway or --prisma-migrations");
	if (before && stat(before, &before_st) != 0)
		usage_error("--before %s: %s", before, strerror(errno));
}

/* progress: "replayed i/n" on stderr, only when it is a terminal. */
static void progress(size_t i, size_t n)
{
	static int tty = -1;
	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	if (!tty || n < 50)
		return;
	fprintf(stderr, "\r%s: replayed %zu/%zu files", msg_prog(), i, n);
	if (i == n)
		fputc('\n', stderr);
}

static void replay_file(struct replay *r, const char *path)
{
	struct msg_err err = MSG_ERR_INIT;
	char *text = read_file(path, &err);
	if (!text)
		die_err(&err);
	if (replay_sql(r, path, text, &err) < 0)
		die_err(&err);
	free(text);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prisma applies migration folders in name (timestamp) order; each folder
 * holds one migration.sql. */
static void read_prisma_migrations(struct catalog *c, const char *dir, struct strv *files)
{
	DIR *d = opendir(dir);
	if (!d)
		die("%s: %s", dir, strerror(errno));
	struct strv names = STRV_INIT;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			strv_push(&names, e->d_name);
	closedir(d);
	qsort(names.v, names.n, sizeof(*names.v), cmp_str);
	struct replay r;
	replay_init(&r, c);
	bool found = false;
	for (size_t i = 0; i < names.n && !found; i++) {
		char *p = xasprintf("%s/%s/migration.sql", dir, names.v[i]);
		struct stat st;
		if (is_before(p)) {
			found = true;
		} else if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
			replay_file(&r, p);
			strv_push(files, p);
		}
		free(p);
		progress(i + 1, names.n);
	}
	if (before && !found)
		die("--before %s: not a migration of %s", before, dir);
	if (files->n == 0 && !empty_ok && !before)
		die("%s: no <timestamp>_<name>/migration.sql folders", dir);
	replay_release(&r);
	strv_release(&names);
}

static void read_flyway(struct catalog *c, const char *dir, const char *conf, struct strv *files,
			cJSON *source)
{
	struct flyway_set set;
	struct msg_err ferr = MSG_ERR_INIT;
	if (flyway_collect(&set, dir, conf, empty_ok, &ferr) < 0)
		die_err(&ferr);
	struct replay r;
	replay_init(&r, c);
	/* Flyway runs migrations with search_path set to the default schema */
	free(r.search_schema);
	r.search_schema = xstrdup(set.default_schema ? set.default_schema : "public");
	bool found = false;
	for (size_t i = 0; i < set.n && !(found = is_before(set.files[i].path)); i++) {
		struct msg_err err = MSG_ERR_INIT;
		char *raw = read_file(set.files[i].path, &err);
		if (!raw)
			die_err(&err);
		char *text = flyway_expand(&set, set.files[i].path, raw, &err);
		if (!text)
			die_err(&err);
		if (replay_sql(&r, set.files[i].path, text, &err) < 0)
			die_err(&err);
		strv_push(files, set.files[i].path);
		free(raw);
		free(text);
		progress(i + 1, set.n);
	}
	if (before && !found)
		die("--before %s: not a migration of %s", before, dir);
	if (set.latest_version)
		cJSON_AddStringToObject(source, "latest_version", set.latest_version);
	else
		cJSON_AddNullToObject(source, "latest_version");
	if (set.conf_path)
		cJSON_AddStringToObject(source, "conf", set.conf_path);
	replay_release(&r);
	flyway_release(&set);
}

static void read_input(const struct opts *o, struct catalog *c, cJSON *source)
{
	static const char *const formats[] = {"", "prisma", "prisma-migrations", "flyway", "sql", "db"};
	struct strv files = STRV_INIT;
	cJSON_AddStringToObject(source, "format", formats[o->kind]);
	if (o->kind == IN_DB) {
		cJSON_AddStringToObject(source, "path", "(database)");
		introspect_db(c, o->path, source);
		return;
	}
	cJSON_AddStringToObject(source, "path", o->path ? o->path : o->sql_files.v[0]);
	if (o->kind == IN_PRISMA) {
		struct msg_err err = MSG_ERR_INIT;
		if (prisma_load(c, o->path, &files, &err) < 0)
			die_err(&err);
	} else if (o->kind == IN_PRISMA_MIGRATIONS) {
		read_prisma_migrations(c, o->path, &files);
	} else if (o->kind == IN_FLYWAY) {
		read_flyway(c, o->path, o->conf, &files, source);
	} else {
		struct replay r;
		replay_init(&r, c);
		for (size_t i = 0; i < o->sql_files.n; i++) {
			replay_file(&r, o->sql_files.v[i]);
			strv_push(&files, o->sql_files.v[i]);
		}
		replay_release(&r);
	}
	cJSON *fa = cJSON_AddArrayToObject(source, "files");
	for (size_t i = 0; i < files.n; i++)
		cJSON_AddItemToArray(fa, cJSON_CreateString(files.v[i]));
	strv_release(&files);
}

static void forward_stdin(void)
{
	struct nd_reader rd;
	struct msg_err rerr = MSG_ERR_INIT;
	nd_reader_init(&rd, stdin, "<stdin>");
	cJSON *rec;
	while ((rec = nd_read(&rd, &rerr))) {
		nd_forward(rd.line.s, rd.line.len);
		cJSON_Delete(rec);
	}
	if (rerr.text)
		die_err(&rerr);
	nd_reader_release(&rd);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct catalog cat;
	msg_set_prog(argv[0]);
	db_hide_argv_secrets(argc, argv);
	xalloc_init_cjson();
	parse_opts(&o, argc, argv);
	if (o.forward_stdin)
		forward_stdin();
	catalog_init(&cat);
	cJSON *source = nd_record("source");
	read_input(&o, &cat, source);
	if (o.dot) {
		struct buf b;
		buf_init(&b);
		dot_write(&cat, &b);
		nd_discard();
		if (fwrite(b.s, 1, b.len, stdout) != b.len)
			die_code(EXIT_RUNTIME, "write error on stdout: %s", strerror(errno));
		buf_release(&b);
		cJSON_Delete(source);
	} else {
		nd_emit(source);
		catalog_to_json(&cat, nd_emit_cb, NULL);
	}
	struct msg_err ferr = MSG_ERR_INIT;
	if (nd_finish(&ferr) < 0)
		die_err(&ferr);
	catalog_release(&cat);
	strv_release(&o.sql_files);
	return EXIT_OK;
}
