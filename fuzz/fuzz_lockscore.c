/*
 * fuzz_lockscore — lockscore on arbitrary SQL: cmd/lockscore/lockscore.c
 * is included whole (its main renamed) so that one input runs exactly what
 * lockscore runs for one migration file: the statement-at-a-time reader,
 * the lock prediction, the rules, the replay into the catalog, the lock
 * time estimates and the risk score, against the DAG of the shop fixture
 * (tests/fixtures/lockscore/shop-50m.ndjson, with row counts). Then every
 * output: the statement, finding and risk records (each must be a valid
 * NDJSON record), and the text, GitHub and SARIF reports.
 * The target PostgreSQL version and --no-transaction vary with the input's
 * length. A syntax error dies with EXIT_INPUT.
 */
#define main lockscore_main
#include "../cmd/lockscore/lockscore.c"
#undef main

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cJSON *dag; /* the fixture's records, loaded into each input's catalog */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	msg_set_prog("fuzz_lockscore");
	xalloc_init_cjson();
	char *path = xasprintf("%s/tests/fixtures/lockscore/shop-50m.ndjson", fuzz_repo());
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		abort();
	}
	struct nd_reader rd;
	cJSON *rec;
	dag = cJSON_CreateArray();
	nd_reader_init(&rd, f, path);
	while ((rec = nd_read(&rd)))
		cJSON_AddItemToArray(dag, rec);
	nd_reader_release(&rd);
	fclose(f);
	free(path);
	/* libpg_query's memory contexts, before any tracking */
	struct sql_script s;
	struct sql_error err;
	if (sql_parse(&s, "SELECT 1", &err) == 0)
		sql_script_release(&s);
	return 0;
}

static void check_record(cJSON *rec)
{
	char *text = cJSON_PrintUnformatted(rec);
	const char *err = NULL;
	cJSON *back = nd_parse_line(text, strlen(text), &err);
	if (!back) {
		fprintf(stderr, "lockscore wrote a line that is not a record (%s): %s\n", err, text);
		abort();
	}
	cJSON_Delete(back);
	free(text);
	cJSON_Delete(rec);
}

static void run(const char *text, size_t len)
{
	struct opts o;
	struct input in = {0};
	const cJSON *rec;
	const char *err;
	memset(&o, 0, sizeof(o));
	o.pg_version = 11 + (int)(len % 7);
	o.no_transaction = (len / 7) % 2;
	o.format = "ndjson";
	catalog_init(&in.base);
	cJSON_ArrayForEach(rec, dag) if (catalog_load_record(&in.base, rec, &err) < 0) abort();
	in.migrations = cJSON_CreateArray();
	in.traces = cJSON_CreateArray();
	in.sample_percent = 5;

	struct migration m = {0};
	m.id = xstrdup("V1__fuzz");
	m.file = xstrdup("V1__fuzz.sql");
	run_one(&in, &o, &m, text);
	for (size_t i = 0; i < m.n; i++)
		check_record(statement_record(&m, &m.stmts[i]));
	for (size_t i = 0; i < m.nfindings; i++)
		check_record(finding_record(&m, &m.findings[i]));
	check_record(risk_record(&m));
	struct buf report = BUF_INIT;
	buf_init(&report);
	format_text(&m, 1, &report);
	format_github(&m, 1, &report);
	format_sarif(&m, 1, &report);
	buf_release(&report);
	migration_release(&m);
	cJSON_Delete(in.migrations);
	cJSON_Delete(in.traces);
	catalog_release(&in.base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	FUZZ_RUN(run(text, size));
	free(text);
	return 0;
}
