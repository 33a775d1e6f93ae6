/*
 * nl2mig — from a sentence, or a hand-written file, to a migration with
 * its rollback.
 *
 * usage: nl2mig [options] "REQUEST" < dag.ndjson
 *        nl2mig --sql FILE [--rollback FILE] < dag.ndjson
 * The request is turned into forward SQL by a provider: the builtin grammar
 * (default without an API key), Anthropic's Messages API or an OpenAI-style
 * Chat Completions API. Whatever wrote it, the SQL is parsed by libpg_query.
 * Model output is vetted: statements outside the allow-list are refused,
 * and what can destroy or overwrite data that existed needs
 * --allow-destructive, judged by effect through any path: DROP, TRUNCATE,
 * DELETE, UPDATE of existing columns, DML nested in a CTE, INSERT ... ON
 * CONFLICT DO UPDATE, ALTER TYPE ... USING anything but a cast of the
 * column, a function not known to be pure where a statement runs it, and
 * renames (names are followed as they change, so a renamed object is still
 * the old data when it is later dropped or written). Session escapes
 * (RESET ALL, a timeout lifted, SET of anything but a positive
 * lock_timeout, SET LOCAL too, set_config(), DISCARD, transaction control
 * and two-phase commit) are refused even with --allow-destructive. A file a
 * person wrote (--sql) is reviewed, never refused for what it does: what
 * the allow-list would have refused becomes a note (outside_allow_list[],
 * which lockscore reports as findings; a session escape or a psql
 * meta-command is a high one, but for the escapes lockscore has a rule of
 * its own for: timeouts lifted, RESET ALL, role, session_authorization,
 * search_path, set_config(), two-phase commit), a statement with no inverse goes to
 * irreversible[], and --allow-destructive is not needed. The rollback is
 * computed from the forward SQL and the DAG (the inverse of each statement
 * in reverse order); a rollback given (--rollback, or by a model) is
 * checked against it.
 * The DAG is what the history of migrations made, not what production
 * holds, so a statement whose effect depends on what the database held (IF
 * NOT EXISTS, IF EXISTS, OR REPLACE, ADD COLUMN IF NOT EXISTS, ADD VALUE IF
 * NOT EXISTS) gets no inverse: it is listed in irreversible[] with the
 * reason, never undone by a DROP that could destroy what was already there
 * (with its data) or a CREATE of what never was. Objects such a statement
 * makes are not counted as the migration's own when later statements drop
 * or write them.
 * SQL the DAG carries (types, defaults, generated, check and index
 * expressions, predicates, view definitions, foreign-key actions) is read
 * as exactly one expression, type or query when it is loaded (else exit 4
 * at the record's line), and every rollback step is parsed again and must
 * be exactly one statement of the kind it was built as; one that is not is
 * left out and the statement is irreversible. The result goes through lockscore's rules (bin/lockscore beside this
 * program); a model gets its medium-or-worse findings back once.
 *
 * Reads: the DAG (table, index, foreign_key, check, view, enum records) on
 * stdin when stdin is not a terminal; every record read is forwarded.
 * Writes: one `migration` record (id, description, request, provider,
 * forward, rollback, rollback_of[] (for each statement of a computed
 * rollback, the forward statement it undoes; null for a given one),
 * irreversible[], prisma_diff, files{forward, rollback, all[]},
 * destructive, findings[], risks[], outside_allow_list[]). --write DIR also writes the
 * files the project's tool expects (Flyway, or Prisma Migrate with
 * schema.prisma updated); prisma_diff is the unified diff of schema.prisma,
 * also without --write when the DAG was read from a Prisma schema.
 * HTTP providers get only the tables the request names and their
 * foreign-key neighbours; their answers are untrusted (allow-list, no
 * DO/functions, destructive needs approval) and the API key, taken from
 * the environment, is never printed.
 * Exit: 0 ok; 1 refused (model output: a forbidden statement or a session
 * escape, a destructive one without --allow-destructive; a given rollback
 * that does not undo the forward);
 * 2 usage; 3 provider or network failure; 4 invalid input (a request not
 * understood, an unknown or ambiguous name, SQL that does not parse, a DAG
 * record whose SQL is not one expression, type or query).
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "flyway.h"
#include "msg.h"
#include "nd.h"
#include "nl2mig.h"
#include "opt.h"
#include "pgvocab.h"
#include "sql.h"
#include "xalloc.h"

static const char usage_text[] =
	"usage: nl2mig [options] \"REQUEST\" < dag.ndjson\n"
	"       nl2mig --sql FILE [--rollback FILE] < dag.ndjson\n"
	"Turn a request, or a hand-written migration, into forward SQL in safe forms, its computed rollback,\n"
	"and the files of the project's migration tool. Writes the DAG through and one migration record.\n"
	"\n"
	"  --request TEXT           the request (instead of the argument)\n"
	"  --sql FILE               wrap an existing migration file instead of a request\n"
	"  --rollback FILE          with --sql: a rollback to check against the computed one\n"
	"  --provider NAME          builtin, anthropic (ANTHROPIC_API_KEY) or openai (OPENAI_API_KEY);\n"
	"                           default: anthropic or openai when its key is set, else builtin\n"
	"  --model NAME             the model (default claude-sonnet-4-5 / gpt-4o)\n"
	"  --base-url URL           API base URL (also ANTHROPIC_BASE_URL, OPENAI_BASE_URL: Ollama, vLLM,\n"
	"                           llama.cpp)\n"
	"  --timeout DUR            per HTTP request (default 120s)\n"
	"  --allow-destructive      accept DROP and statements that destroy or overwrite data (a human\n"
	"                           approved them); session escapes (RESET ALL, SET, COMMIT) stay refused\n"
	"  --lock-timeout DUR       SET lock_timeout written first (default 5s)\n"
	"  --write DIR              write the files into the project at DIR (Flyway or Prisma, detected;\n"
	"                           Prisma: schema.prisma updated too)\n"
	"  --tool flyway|prisma     the project's tool, when detection is not wanted\n"
	"  --version VERSION        Flyway version (default: a UTC timestamp, after the latest one)\n"
	"  --prisma-generate        run `prisma generate` after writing, when the project has it\n"
	"  --no-lint                do not run lockscore's rules on the result\n"
	"  -h, --help               this help\n"
	"DUR is a number of seconds, or with a unit: 500ms, 2s, 5min, 1h.\n"
	"\n"
	"Exit: 0 ok, 1 refused (forbidden or destructive statement, wrong rollback), 2 usage,\n"
	"3 provider or network failure, 4 invalid input (request not understood, unknown name, bad SQL,\n"
	"a DAG record whose SQL is not one expression).\n";

/* --lock-timeout as the SET writes it: "5s", "500ms", "2min" (the value
 * lives until exit). */
static const char *lock_timeout_opt(const char *arg)
{
	static char spelled[32];
	struct buf b = BUF_INIT;
	pgv_duration_pg(&b, opt_duration("--lock-timeout", arg, 1, OPT_WEEK_MS));
	snprintf(spelled, sizeof spelled, "%s", b.s);
	buf_release(&b);
	return spelled;
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const char *const providers[] = {"builtin", "anthropic", "openai", NULL};
	static const char *const tools[] = {"flyway", "prisma", NULL};
	static const struct option longopts[] = {
		{"request", required_argument, NULL, 'r'},
		{"sql", required_argument, NULL, 's'},
		{"rollback", required_argument, NULL, 'R'},
		{"provider", required_argument, NULL, 'p'},
		{"model", required_argument, NULL, 'm'},
		{"base-url", required_argument, NULL, 'b'},
		{"timeout", required_argument, NULL, 't'},
		{"allow-destructive", no_argument, NULL, 'D'},
		{"lock-timeout", required_argument, NULL, 'l'},
		{"write", required_argument, NULL, 'w'},
		{"tool", required_argument, NULL, 'T'},
		{"version", required_argument, NULL, 'V'},
		{"prisma-generate", no_argument, NULL, 'g'},
		{"no-lint", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	memset(o, 0, sizeof(*o));
	o->lock_timeout = "5s";
	o->timeout_ms = 120000;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r': o->request = optarg; break;
		case 's': o->sql_file = optarg; break;
		case 'R': o->rollback_file = optarg; break;
		case 'p': o->provider = providers[opt_enum("--provider", optarg, providers)]; break;
		case 'm': o->model = optarg; break;
		case 'b': o->base_url = optarg; break;
		case 't': o->timeout_ms = (long)opt_duration("--timeout", optarg, 1, OPT_WEEK_MS); break;
		case 'D': o->allow_destructive = true; break;
		case 'l': o->lock_timeout = lock_timeout_opt(optarg); break;
		case 'w': o->write_dir = optarg; break;
		case 'T': o->tool = tools[opt_enum("--tool", optarg, tools)]; break;
		case 'V': o->version = optarg; break;
		case 'g': o->prisma_generate = true; break;
		case 'n': o->no_lint = true; break;
		case 'h': fputs(usage_text, stdout); exit(EXIT_OK);
		default: usage_error("unknown option");
		}
	}
	if (optind < argc && o->request)
		usage_error("the request is given twice (argument and --request)");
	if (optind < argc)
		o->request = argv[optind++];
	if (optind < argc)
		usage_error("one request only (quote it): unexpected '%s'", argv[optind]);
	if (!o->request == !o->sql_file)
		usage_error(o->sql_file ? "--sql and a request exclude each other" : "a request or --sql FILE is needed");
	if (o->rollback_file && !o->sql_file)
		usage_error("--rollback goes with --sql");
	if (o->sql_file && o->provider && strcmp(o->provider, "builtin"))
		usage_error("--sql takes no --provider");
	if (!o->provider)
		o->provider = o->sql_file						    ? "file"
			      : getenv("ANTHROPIC_API_KEY") && *getenv("ANTHROPIC_API_KEY") ? "anthropic"
			      : getenv("OPENAI_API_KEY") && *getenv("OPENAI_API_KEY")	    ? "openai"
											    : "builtin";
	if (o->sql_file && !strcmp(o->provider, "builtin"))
		o->provider = "file";
}

/* ---------- input ---------- */

/* the schema.prisma a DAG was read from (its source record), or NULL */
static char *prisma_source;
/* the DAG was read from a Flyway location: its folder and conf, whose
 * placeholders and default schema a file under review is read with */
static char *flyway_dir, *flyway_conf;
static bool flyway_source;

static void note_source(const cJSON *rec)
{
	const char *fmt = nd_get_str(rec, "format"), *path = nd_get_str(rec, "path");
	struct stat st;
	if (fmt && !strcmp(fmt, "flyway") && !flyway_source) {
		flyway_source = true;
		flyway_dir = path ? xstrdup(path) : NULL;
		flyway_conf = nd_get_str(rec, "conf") ? xstrdup(nd_get_str(rec, "conf")) : NULL;
	}
	if (!fmt || !path || prisma_source)
		return;
	char *p = !strcmp(fmt, "prisma")	      ? xstrdup(path)
		  : !strcmp(fmt, "prisma-migrations") ? xasprintf("%s/../schema.prisma", path)
						      : NULL;
	if (p && stat(p, &st) == 0 && S_ISREG(st.st_mode))
		prisma_source = p;
	else
		free(p);
}

static void read_dag(struct catalog *cat)
{
	struct nd_reader rd;
	cJSON *rec;
	if (isatty(STDIN_FILENO))
		return;
	struct msg_err rerr = MSG_ERR_INIT;
	nd_reader_init(&rd, stdin, "<stdin>");
	while ((rec = nd_read(&rd, &rerr))) {
		const char *err = NULL;
		nd_forward(rd.line.s, rd.line.len);
		if (!strcmp(nd_kind(rec), "source"))
			note_source(rec);
		if (catalog_load_record(cat, rec, &err) < 0)
			die_at(EXIT_INPUT, "<stdin>", rd.lineno, "%s", err);
		cJSON_Delete(rec);
	}
	if (rerr.text)
		die_err(&rerr);
	nd_reader_release(&rd);
}

/* schemas the request names ("audit.events", "schema audit"): model SQL may
 * touch them. */
static void named_schemas(const struct catalog *cat, const char *req, struct strv *out)
{
	for (size_t i = 0; i < cat->ntables; i++) {
		const char *s = cat->tables[i]->schema;
		char *dotted = xasprintf("%s.", s);
		if (strcmp(s, "public") && strv_index(out, s) < 0 && strstr(req, dotted))
			strv_push(out, s);
		free(dotted);
	}
}

/* ---------- the migration ---------- */

/* flyway_file: a file of a Flyway project as Flyway runs it: its
 * placeholders replaced (the project's, and ${flyway:...}), search_path the
 * default schema */
static void flyway_file(const char *file, struct mig *m)
{
	struct flyway_set set;
	struct msg_err err = MSG_ERR_INIT;
	if (flyway_settings(&set, flyway_dir, flyway_conf, &err) < 0)
		die_err(&err);
	char *text = flyway_expand(&set, file, m->forward, &err);
	if (!text)
		die_err(&err);
	free(m->forward);
	m->forward = text;
	m->search_schema = xstrdup(set.default_schema ? set.default_schema : "public");
	flyway_release(&set);
}

static void require_approval(const struct opts *o, const struct mig *m)
{
	if (!m->needs_destructive || o->allow_destructive)
		return;
	for (size_t i = 0; i < m->destructive_why.n; i++)
		error("destructive: %s", m->destructive_why.v[i]);
	die_code(EXIT_FINDINGS, "refused: the migration drops or destroys data; rerun with --allow-destructive once "
				"a human has approved it");
}

static void given_rollback(const struct catalog *cat, const struct opts *o, struct mig *m)
{
	struct msg_err err = MSG_ERR_INIT;
	char *text = read_file(o->rollback_file, &err);
	if (!text)
		die_err(&err);
	char *diff = check_rollback(cat, m->forward, m->rollback, text, o->rollback_file);
	if (diff)
		die_code(EXIT_FINDINGS, "%s: the rollback does not undo %s: %s", o->rollback_file, o->sql_file, diff);
	free(m->rollback);
	m->rollback = text;
	cJSON_Delete(m->rollback_of); /* the statements are the file's own */
	m->rollback_of = NULL;
}

/* feedback_text: the previous answer and lockscore's findings on it, for
 * the model to correct */
static char *feedback_text(const char *forward, const cJSON *f)
{
	struct buf b = BUF_INIT;
	const cJSON *x;
	buf_init(&b);
	buf_addf(&b, "Its forward_sql was:\n%s\nlockscore (lock and rewrite rules) found:\n", forward);
	cJSON_ArrayForEach(x, f)
	{
		const char *fix = nd_get_str(x, "fix");
		buf_addf(&b, "- %s (%s): %s%s%s\n", nd_get_str(x, "rule"), nd_get_str(x, "severity"),
			 nd_get_str(x, "message"), fix ? " Fix: " : "", fix ? fix : "");
	}
	buf_adds(&b, "Answer again with a corrected migration.\n");
	return buf_detach(&b);
}

/* model_rollback_check: a rollback the model proposed, against the computed
 * one (which is the one kept) */
static void model_rollback_check(const struct catalog *cat, const struct mig *m, char *proposed)
{
	struct sql_script s = {0};
	struct sql_error err = {0};
	if (sql_parse(&s, proposed, &err) < 0) {
		warning("the model's rollback does not parse (line %d: %s): the computed one is used", err.line,
			err.message);
	} else {
		char *diff = check_rollback(cat, m->forward, m->rollback, proposed, "<model rollback>");
		if (diff)
			warning("the model's rollback does not undo the migration (%s): the computed one is used", diff);
		free(diff);
	}
	sql_script_release(&s);
	sql_error_release(&err);
}

/* from_model: ask the provider, check the answer like any file (strictly),
 * give lockscore's medium-or-worse findings back once for a correction */
static void from_model(const struct opts *o, const struct catalog *cat, struct mig *m)
{
	llm_translate(o, cat, o->request, NULL, m);
	char *proposed = m->rollback;
	m->rollback = NULL;
	check_forward(cat, "<model answer>", m);
	require_approval(o, m);
	cJSON *f = o->no_lint ? NULL : lint_forward(cat, m->forward);
	if (f && cJSON_GetArraySize(f)) {
		char *fb = feedback_text(m->forward, f);
		warning("lockscore found %d issue(s) in the model's answer; asking once for a correction",
			cJSON_GetArraySize(f));
		struct mig again = {0};
		strv_copy(&again.named_schemas, &m->named_schemas);
		llm_translate(o, cat, o->request, fb, &again);
		free(proposed);
		proposed = again.rollback;
		again.rollback = NULL;
		check_forward(cat, "<model answer>", &again);
		require_approval(o, &again);
		mig_release(m);
		*m = again;
		cJSON_Delete(f);
		f = lint_forward(cat, m->forward);
		free(fb);
	}
	m->findings = f;
	if (proposed)
		model_rollback_check(cat, m, proposed);
	free(proposed);
}

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static void emit_record(const struct opts *o, const struct mig *m)
{
	cJSON *r = nd_record("migration"), *files = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "id", m->id);
	cJSON_AddItemToObject(r, "description", str_or_null(m->description));
	cJSON_AddItemToObject(r, "request", str_or_null(o->request));
	cJSON_AddStringToObject(r, "provider", o->provider);
	cJSON_AddStringToObject(r, "forward", m->forward);
	cJSON_AddItemToObject(r, "rollback", str_or_null(m->rollback));
	cJSON_AddItemToObject(r, "rollback_of",
			      m->rollback && m->rollback_of ? cJSON_Duplicate(m->rollback_of, 1) : cJSON_CreateNull());
	cJSON_AddItemToObject(r, "irreversible", pgv_strv_json(&m->irreversible));
	cJSON_AddItemToObject(r, "prisma_diff", str_or_null(m->prisma_diff));
	cJSON_AddItemToObject(files, "forward", str_or_null(m->file_forward));
	cJSON_AddItemToObject(files, "rollback", str_or_null(m->file_rollback));
	cJSON_AddItemToObject(files, "all", pgv_strv_json(&m->files));
	cJSON_AddItemToObject(r, "files", files);
	cJSON_AddBoolToObject(r, "destructive", m->needs_destructive);
	cJSON_AddItemToObject(r, "findings", m->findings ? cJSON_Duplicate(m->findings, 1) : cJSON_CreateArray());
	cJSON_AddItemToObject(r, "risks", pgv_strv_json(&m->risks));
	cJSON_AddItemToObject(r, "outside_allow_list", m->outside ? cJSON_Duplicate(m->outside, 1) : cJSON_CreateArray());
	nd_emit(r);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct catalog cat;
	struct mig m = {0};
	msg_set_prog(argv[0]);
	db_hide_argv_secrets(argc, argv);
	xalloc_init_cjson();
	parse_opts(&o, argc, argv);
	catalog_init(&cat);
	read_dag(&cat);
	if (o.request)
		named_schemas(&cat, o.request, &m.named_schemas);
	if (o.sql_file) {
		struct msg_err err = MSG_ERR_INIT;
		if (!(m.forward = read_file(o.sql_file, &err)))
			die_err(&err);
		m.from_file = true;
		if (flyway_source)
			flyway_file(o.sql_file, &m);
		char *base = strrchr(o.sql_file, '/');
		m.description = make_slug(base ? base + 1 : o.sql_file);
		check_forward(&cat, o.sql_file, &m);
		if (o.rollback_file)
			given_rollback(&cat, &o, &m);
	} else if (!strcmp(o.provider, "builtin")) {
		grammar_translate(&cat, o.request, o.lock_timeout, &m);
		check_forward(&cat, "<builtin>", &m);
	} else {
		from_model(&o, &cat, &m);
	}
	if (!o.sql_file) /* a person's file is reviewed whatever it destroys */
		require_approval(&o, &m);
	if (!m.findings && !o.no_lint)
		m.findings = lint_forward(&cat, m.forward);
	const cJSON *f;
	cJSON_ArrayForEach(f, m.findings) warning("lockscore: %s (%s): %s", nd_get_str(f, "rule"), nd_get_str(f, "severity"),
						  nd_get_str(f, "message"));
	char *slug = make_slug(m.description ? m.description : o.request ? o.request
									 : "migration");
	if (o.write_dir) {
		write_files(&o, &cat, &m, slug);
	} else {
		if (prisma_source) /* the diff only: no --write, no file touched */
			free(prisma_edit_schema(&cat, m.forward, prisma_source, "schema.prisma", &m.prisma_diff));
		if (o.sql_file) { /* the file already has its name: keep it, and point at it */
			m.id = migration_id_of_path(o.sql_file);
			if (!m.file_forward)
				m.file_forward = xstrdup(o.sql_file);
		} else {
			char *ts = utc_timestamp();
			m.id = xasprintf("V%s__%s", o.version ? o.version : ts, slug);
			free(ts);
		}
	}
	emit_record(&o, &m);
	free(slug);
	mig_release(&m);
	catalog_release(&cat);
	free(prisma_source);
	free(flyway_dir);
	free(flyway_conf);
	struct msg_err ferr = MSG_ERR_INIT;
	if (nd_finish(&ferr) < 0)
		die_err(&ferr);
	return EXIT_OK;
}
