/*
 * fuzz_lockscore — lockscore on arbitrary SQL: cmd/lockscore/lockscore.c
 * is included whole (its main renamed) so that one input runs exactly what
 * lockscore runs for one migration file: the statement-at-a-time reader,
 * the lock prediction, the rules, the replay into the catalog, the lock
 * time estimates and the risk score, against the DAG of the shop fixture
 * (tests/fixtures/lockscore/shop-50m.ndjson, with row counts). Then the
 * passes that write the output, in one of the formats: the statement,
 * finding and risk records (each line must be a valid NDJSON record), or
 * the text, GitHub or SARIF report. The format, the target PostgreSQL
 * version and --no-transaction vary with the input's length. A syntax
 * error dies with EXIT_INPUT.
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
	struct msg_err rerr = MSG_ERR_INIT;
	nd_reader_init(&rd, f, path);
	while ((rec = nd_read(&rd, &rerr)))
		cJSON_AddItemToArray(dag, rec);
	err_release(&rerr);
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

/* every line lockscore queued for stdout must be a record; then the queue
 * is dropped */
static void check_queue(void)
{
	struct buf *q = nd_line_begin();
	const char *p = q->s, *end = q->s + q->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *err = NULL;
		cJSON *back = nd_parse_line(p, n, &err);
		if (!back) {
			fprintf(stderr, "lockscore wrote a line that is not a record (%s): %.*s\n", err, (int)n, p);
			abort();
		}
		cJSON_Delete(back);
		p += n + 1;
	}
	nd_discard();
}

static void run(const char *text, size_t len)
{
	static const char *const formats[] = {"ndjson", "text", "github", "sarif"};
	struct opts o;
	struct input in = {0};
	const cJSON *rec;
	const char *err;
	memset(&o, 0, sizeof(o));
	o.pg_version = 11 + (int)(len % 7);
	o.no_transaction = (len / 7) % 2;
	o.format = formats[(len / 3) % 4];
	catalog_init(&in.base);
	cJSON_ArrayForEach(rec, dag) if (catalog_load_record(&in.base, rec, &err) < 0) abort();
	in.migrations = cJSON_CreateArray();
	in.traces = cJSON_CreateArray();
	in.sample_percent = 5;

	struct migration m = {0};
	m.id = xstrdup("V1__fuzz");
	m.file = xstrdup("V1__fuzz.sql");
	size_t real = run_one(&in, &o, &m, text);
	struct output out = {&o, SPOOL_INIT, NULL, 0, 0, 0};
	output_migration(&out, &m, real); /* releases m */
	if (!strcmp(o.format, "ndjson")) {
		check_queue();
	} else if (!strcmp(o.format, "sarif")) {
		struct buf doc = BUF_INIT;
		buf_init(&doc);
		format_sarif(out.kept, out.nkept, &doc);
		buf_release(&doc);
	}
	nd_discard();
	for (size_t i = 0; i < out.nkept; i++)
		migration_release(&out.kept[i]);
	free(out.kept);
	spool_release(&out.report);
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
