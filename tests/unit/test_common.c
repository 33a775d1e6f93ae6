/* Unit tests for common/: nd, catalog names, sql type spelling and parsing,
 * spool and mapfile. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "corpus.h"
#include "mapfile.h"
#include "msg.h"
#include "nd.h"
#include "spool.h"
#include "sql.h"
#include "tap.h"
#include "xalloc.h"

static void test_nd(void)
{
	const char *err = NULL;
	const char *good = "{\"kind\":\"table\",\"v\":1}";
	cJSON *r = nd_parse_line(good, strlen(good), &err);
	OK(r != NULL, "nd: a record parses");
	cJSON_Delete(r);
	static const struct {
		const char *line, *err;
	} bad[] = {
		{"{\"kind\":\"t\",\"v\":1} x", "trailing characters after the JSON object"},
		{"[1,2]", "record is not a JSON object"},
		{"{\"v\":1}", "record has no string \"kind\""},
		{"{\"kind\":\"t\"}", "record has no integer \"v\" (schema version)"},
		{"{\"kind\":\"t\",\"v\":1.5}", "record has no integer \"v\" (schema version)"},
		{"{\"kind\":", "invalid JSON"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err = NULL;
		r = nd_parse_line(bad[i].line, strlen(bad[i].line), &err);
		OK(r == NULL, "nd: rejects %s", bad[i].line);
		IS_STR(err, bad[i].err, "nd: says why");
	}
}

static void test_names(void)
{
	char *s = cat_make_object_name("orders", "customer_id", "fkey");
	IS_STR(s, "orders_customer_id_fkey", "makeObjectName plain");
	free(s);
	/* 70-byte table name: cut the longer part first, total 63 bytes */
	char longname[71];
	memset(longname, 'a', 70);
	longname[70] = '\0';
	s = cat_make_object_name(longname, "id", "key");
	OK(strlen(s) == 63, "makeObjectName cuts to 63 bytes (%zu)", strlen(s));
	OK(!strcmp(s + 56, "_id_key"), "makeObjectName keeps the label");
	free(s);
	struct catalog c;
	catalog_init(&c);
	struct cat_table *t = catalog_add_table(&c, "public", "t");
	catalog_add_index(&c, "public", "t_a_key", t->qname);
	s = catalog_choose_relname(&c, "public", "t", "a", "key");
	IS_STR(s, "t_a_key1", "ChooseRelationName appends 1 on a clash");
	free(s);
	catalog_release(&c);
	char *q = cat_quote_ident("Role");
	IS_STR(q, "\"Role\"", "quote_ident quotes upper case");
	free(q);
	q = cat_quote_ident("user");
	IS_STR(q, "\"user\"", "quote_ident quotes reserved keywords");
	free(q);
	q = cat_quote_ident("name");
	IS_STR(q, "name", "quote_ident leaves unreserved keywords");
	free(q);
}

/* The format_type() spelling of the type of "CREATE TABLE t (c <decl>)". */
static char *type_of(const char *decl)
{
	char *sql = xasprintf("CREATE TABLE t (c %s)", decl);
	struct sql_script s;
	struct sql_error err;
	char *out = NULL;
	if (sql_parse(&s, sql, &err) == 0) {
		const cJSON *cd = sql_node(sql_jget(s.stmts[0].node, "tableElts")->child, "ColumnDef");
		out = sql_format_type(sql_jget(cd, "typeName"), NULL);
		sql_script_release(&s);
	} else {
		sql_error_release(&err);
	}
	free(sql);
	return out;
}

static void test_types(void)
{
	static const char *const cases[][2] = {
		{"int", "integer"},
		{"INTEGER", "integer"},
		{"int8", "bigint"},
		{"serial", "integer"},
		{"varchar(255)", "character varying(255)"},
		{"varchar", "character varying"},
		{"char", "character(1)"},
		{"char(3)", "character(3)"},
		{"numeric(10)", "numeric(10,0)"},
		{"decimal(65,30)", "numeric(65,30)"},
		{"timestamp(3)", "timestamp(3) without time zone"},
		{"timestamptz", "timestamp with time zone"},
		{"TIMESTAMP WITH TIME ZONE", "timestamp with time zone"},
		{"time", "time without time zone"},
		{"double precision", "double precision"},
		{"float", "double precision"},
		{"real", "real"},
		{"boolean", "boolean"},
		{"text[]", "text[]"},
		{"\"Role\"", "\"Role\""},
		{"\"Role\"[]", "\"Role\"[]"},
		{"other.\"Kind\"", "other.\"Kind\""},
		{"public.citext", "citext"},
		{"jsonb", "jsonb"},
		{"bit varying(5)", "bit varying(5)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *got = type_of(cases[i][0]);
		char name[128];
		snprintf(name, sizeof(name), "format_type(%s)", cases[i][0]);
		IS_STR(got, cases[i][1], name);
		free(got);
	}
}

static void test_parse(void)
{
	struct sql_script s;
	struct sql_error err;
	const char *text = "-- a comment\n\nCREATE TABLE a (id int);\n\n/* x */ ALTER TABLE a\n ADD b int;\n";
	OK(sql_parse(&s, text, &err) == 0, "sql: parses a script");
	OK(s.n == 2, "sql: two statements (%zu)", s.n);
	OK(s.n == 2 && s.stmts[0].line == 3 && s.stmts[1].line == 5, "sql: statement lines 3 and 5");
	char *t = s.n ? sql_stmt_text(&s, &s.stmts[0]) : NULL;
	IS_STR(t, "CREATE TABLE a (id int)", "sql: statement text");
	free(t);
	sql_script_release(&s);
	OK(sql_parse(&s, "SELECT 1;\n\nCREATE TABL x;\n", &err) < 0, "sql: a syntax error fails");
	OK(err.line == 3, "sql: the error names line 3 (%d)", err.line);
	IS_STR(err.message, "syntax error at or near \"TABL\"", "sql: PostgreSQL's message");
	sql_error_release(&err);
	OK(sql_parse(&s, "\\restrict abc\nCREATE TABLE a (id int);\n\\unrestrict abc\n", &err) == 0,
	   "sql: psql meta-command lines are skipped");
	sql_script_release(&s);
}

/* sql_reader: one statement at a time, same lines and errors as sql_parse */
static void test_reader(void)
{
	struct sql_reader r;
	struct sql_error err;
	const struct sql_script *one;
	const char *text = "\\restrict x\n-- c\nCREATE TABLE a (id int);\n\n"
			   "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n SELECT 1;\n SELECT 2;\nEND;\n"
			   "/* k */ ALTER TABLE a ADD b int; ALTER TABLE a DROP b;\n-- only a comment\n";
	int lines[8], n = 0, rc;
	char types[8][32]; /* a tree lives until the next call: copy */
	OK(sql_reader_open(&r, text, &err) == 0, "reader: opens");
	while (n < 8 && (rc = sql_reader_next(&r, &one, &err)) > 0)
		for (size_t i = 0; i < one->n && n < 8; i++, n++) {
			lines[n] = one->stmts[i].line;
			snprintf(types[n], sizeof types[n], "%s", one->stmts[i].type);
			if (n == 2) {
				char *t = sql_stmt_text(one, &one->stmts[i]);
				IS_STR(t, "ALTER TABLE a ADD b int", "reader: statement text from its piece");
				free(t);
			}
		}
	OK(n == 4, "reader: four statements, BEGIN ATOMIC body kept whole (%d)", n);
	OK(n == 4 && lines[0] == 3 && lines[1] == 5 && lines[2] == 10 && lines[3] == 10,
	   "reader: lines 3, 5, 10, 10");
	OK(n == 4 && !strcmp(types[1], "CreateFunctionStmt"), "reader: the function is one statement");
	sql_reader_release(&r);
	OK(sql_reader_open(&r, "SELECT 1;\n\nCREATE TABL x;\nSELECT 2;\n", &err) == 0, "reader: opens (error later)");
	while ((rc = sql_reader_next(&r, &one, &err)) > 0)
		;
	OK(rc < 0 && err.line == 3, "reader: the syntax error names line 3 (%d)", err.line);
	IS_STR(err.message, "syntax error at or near \"TABL\"", "reader: PostgreSQL's message");
	sql_error_release(&err);
	sql_reader_release(&r);
	OK(sql_reader_open(&r, "SELECT 1;\nSELECT 'unterminated;\n", &err) < 0 && err.line == 2,
	   "reader: a scanner error names its line (%d)", err.line);
	sql_error_release(&err);
	sql_reader_release(&r);
}

static void test_deparse(void)
{
	struct sql_script s;
	struct sql_error err;
	const char *text = "ALTER TABLE t ADD CHECK (a IS NOT NULL AND (b > 0 OR c IN (1, 2))), "
			   "ALTER c SET DEFAULT now()::date";
	if (sql_parse(&s, text, &err) < 0) {
		OK(0, "deparse: parse");
		return;
	}
	const cJSON *cmds = sql_jget(s.stmts[0].node, "cmds");
	const cJSON *con = sql_node(sql_jget(sql_node(cmds->child, "AlterTableCmd"), "def"), "Constraint");
	char *e = sql_deparse_expr(sql_jget(con, "raw_expr"), text);
	IS_STR(e, "a IS NOT NULL AND ((b > 0) OR (c IN (1, 2)))", "deparse: check expression");
	free(e);
	e = sql_deparse_expr(sql_jget(sql_node(cmds->child->next, "AlterTableCmd"), "def"), text);
	IS_STR(e, "now()::date", "deparse: default with a cast");
	free(e);
	sql_script_release(&s);
}

/* read text with sql_reader (threaded or not, per sql_reader_thread_min) and
 * compare every statement with sql_parse of the whole text; the number of
 * differences, or -1 when the reader fails */
static int reader_vs_parse(const char *text, size_t *count)
{
	struct sql_script whole;
	struct sql_error err;
	if (sql_parse(&whole, text, &err) < 0) {
		sql_error_release(&err);
		return -1;
	}
	struct sql_reader r;
	const struct sql_script *one;
	size_t k = 0;
	int bad = 0, rc;
	if (sql_reader_open(&r, text, &err) < 0) {
		sql_error_release(&err);
		sql_reader_release(&r);
		sql_script_release(&whole);
		return -1;
	}
	while ((rc = sql_reader_next(&r, &one, &err)) > 0)
		for (size_t i = 0; i < one->n; i++, k++) {
			const struct sql_stmt *a = &one->stmts[i], *b = k < whole.n ? &whole.stmts[k] : NULL;
			if (!b || a->line != b->line || one->base + a->offset != b->offset || a->len != b->len ||
			    strcmp(a->type, b->type)) {
				if (bad++ < 3)
					printf("# statement %zu: line %d/%d offset %zu/%zu len %zu/%zu %s/%s\n", k,
					       a->line, b ? b->line : -1, one->base + a->offset, b ? b->offset : 0,
					       a->len, b ? b->len : 0, a->type, b ? b->type : "-");
			}
		}
	if (rc < 0) {
		printf("# reader: line %d: %s\n", err.line, err.message);
		sql_error_release(&err);
		bad = -1;
	}
	if (bad >= 0 && k != whole.n)
		bad++;
	*count = k;
	sql_reader_release(&r);
	sql_script_release(&whole);
	return bad;
}

/* the reader's windows and thread against sql_parse on a large script full
 * of what cuts wrongly: semicolons in strings, comments, dollar quotes, a
 * BEGIN ATOMIC body, a function body bigger than a window, a statement
 * bigger than a window whose semicolons are in comments, and such comments
 * after a statement; more pieces than
 * the thread's ring holds, and statements whose parse trees are bigger than
 * all it may hold in bytes */
static void test_reader_big(void)
{
	struct buf t = BUF_INIT;
	buf_init(&t);
	for (int i = 0; i < 800; i++) {
		buf_addf(&t, "-- part %d; a comment with a semicolon\n", i);
		buf_addf(&t, "CREATE TABLE t%d (id int, note text DEFAULT 'a;b', \"we;ird\" int);\n", i);
		buf_addf(&t, "/* block; comment\n spanning; lines */ INSERT INTO t%d VALUES (1, E'x\\';y', 2);\n", i);
		buf_addf(&t, "CREATE FUNCTION f%d() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n SELECT 1;\n SELECT 2;\nEND;\n", i);
		buf_addf(&t, "CREATE FUNCTION g%d() RETURNS void LANGUAGE plpgsql AS $body$ BEGIN PERFORM 1; END $body$;\n", i);
		if (i % 300 == 75) { /* a tree of more than 8 MiB of JSON */
			buf_adds(&t, "SELECT 1 WHERE 2 IN (0");
			for (int k = 1; k < 200000; k++)
				buf_addf(&t, ",%d", k);
			buf_adds(&t, ");\n");
		}
		if (i % 100 == 50) { /* a body larger than a window */
			buf_addf(&t, "CREATE FUNCTION h%d() RETURNS text LANGUAGE sql AS $$ SELECT '", i);
			for (int k = 0; k < 20000; k++)
				buf_adds(&t, "x;y;z;");
			buf_adds(&t, "' $$;\n");
		}
		buf_addf(&t, "ALTER TABLE t%d ADD b int; ALTER TABLE t%d DROP b;\n\n", i, i);
		if (i == 20) { /* comments longer than a window, with semicolons, after a statement */
			buf_adds(&t, "SELECT 1;\n");
			for (int k = 0; k < 12000; k++)
				buf_adds(&t, "-- c; it's\n");
			buf_adds(&t, "SELECT 2;\n");
		}
		if (i == 10) { /* a statement longer than a window, its semicolons in comments */
			buf_adds(&t, "SELECT 1\n");
			for (int k = 0; k < 12000; k++)
				buf_adds(&t, "-- c;\n");
			buf_adds(&t, ", 2;\n");
		}
		if (i == 200) /* psql meta-commands, windows after the first */
			buf_adds(&t, "\\set ON_ERROR_STOP on\n\\echo one; two\n");
	}
	buf_adds(&t, "-- only a comment at the end\n");
	size_t n = 0, saved = sql_reader_thread_min;
	sql_reader_thread_min = (size_t)-1;
	int bad = reader_vs_parse(t.s, &n);
	OK(bad == 0 && n > 4096, "reader, in windows: %zu statements of %zu bytes as sql_parse finds them (%d differ)", n, t.len, bad);
	sql_reader_thread_min = 0;
	bad = reader_vs_parse(t.s, &n);
	OK(bad == 0 && n > 4096, "reader, ahead in a thread: the same %zu statements (%d differ)", n, bad);

	/* errors far into a large text: the line, from sql_reader_next */
	struct sql_reader r;
	struct sql_error err;
	const struct sql_script *one;
	int rc;
	int lines = 1;
	for (size_t i = 0; i < t.len; i++)
		lines += t.s[i] == '\n';
	size_t len0 = t.len;
	buf_adds(&t, "SELECT 1;\nCREATE TABL x;\n");
	OK(sql_reader_open(&r, t.s, &err) == 0, "reader, threaded: opens a large text with a late error");
	while ((rc = sql_reader_next(&r, &one, &err)) > 0)
		;
	OK(rc < 0 && err.line == lines + 1, "reader, threaded: the syntax error names line %d (%d)", lines + 1, err.line);
	sql_error_release(&err);
	sql_reader_release(&r);
	t.len = len0;
	t.s[len0] = '\0';
	buf_adds(&t, "SELECT 'unterminated;\n");
	OK(sql_reader_open(&r, t.s, &err) == 0, "reader, threaded: opens a large text with a late scanner error");
	while ((rc = sql_reader_next(&r, &one, &err)) > 0)
		;
	OK(rc < 0 && err.line == lines, "reader, threaded: the scanner error names line %d (%d)", lines, err.line);
	sql_error_release(&err);
	sql_reader_release(&r);
	/* released early, with pieces still queued */
	t.len = len0;
	t.s[len0] = '\0';
	rc = sql_reader_open(&r, t.s, &err);
	OK(rc == 0 && (rc = sql_reader_next(&r, &one, &err)) == 1 && one->n == 1 &&
		   !strcmp(one->stmts[0].type, "CreateStmt"),
	   "reader, threaded: the first piece, then released with pieces queued (%d)", rc);
	sql_reader_release(&r);
	sql_reader_thread_min = saved;
	buf_release(&t);
}

/* a corpus file that parses alone, appended to the buffer with "\n;\n" */
static void append_sql(void *ctx, const char *path, const char *text)
{
	struct buf *t = ctx;
	struct sql_script sc;
	struct sql_error err;
	(void)path;
	if (sql_parse(&sc, text, &err) == 0) {
		buf_adds(t, text);
		buf_adds(t, "\n;\n");
		sql_script_release(&sc);
	} else {
		sql_error_release(&err);
	}
}

/* the reader on real migrations, concatenated (what bench/lockscore.sh
 * reads): the statements sql_parse finds in the whole, in windows and ahead
 * in a thread, with the text shifted so that windows end elsewhere */
static void test_reader_corpus(void)
{
	struct buf t = BUF_INIT;
	size_t n = 0, saved = sql_reader_thread_min;
	buf_init(&t);
	corpus_sql(corpus_dir(), append_sql, &t);
	OK(t.len > 1000000, "reader, corpus: %zu bytes of migrations that parse alone", t.len);
	/* windows end elsewhere when the text is shifted by a comment */
	static const size_t shift[] = {0, 7001, 20011, 40009};
	for (size_t k = 0; k < sizeof(shift) / sizeof(*shift); k++) {
		struct buf u = BUF_INIT;
		buf_init(&u);
		for (size_t p = 0; p < shift[k]; p += 10)
			buf_adds(&u, p % 70 == 60 ? "-- shift\n" : "/* pad */ ");
		buf_add(&u, t.s, t.len);
		sql_reader_thread_min = (size_t)-1;
		int bad = reader_vs_parse(u.s, &n);
		OK(bad == 0, "reader, corpus shifted %zu bytes, in windows: %zu statements as sql_parse finds them (%d differ)",
		   u.len - t.len, n, bad);
		sql_reader_thread_min = 0;
		bad = reader_vs_parse(u.s, &n);
		OK(bad == 0, "reader, corpus shifted %zu bytes, ahead in a thread: %zu statements (%d differ)", u.len - t.len,
		   n, bad);
		buf_release(&u);
	}
	sql_reader_thread_min = saved;
	buf_release(&t);
}

/* nd_print_json prints what cJSON_PrintUnformatted prints */
static void same_print(const cJSON *v, const char *what)
{
	char *want = cJSON_PrintUnformatted(v);
	struct buf got = BUF_INIT;
	buf_init(&got);
	nd_print_json(&got, v);
	IS_STR(got.s, want, what);
	free(want);
	buf_release(&got);
}

static void test_print(void)
{
	const double nums[] = {0, -0.0, 1, -1, 42, 2147483647.0, -2147483648.0, 2147483648.0,
			       -2147483649.0, 1e15, 123456789012345678.0, 0.1, 1.0 / 3, -2.5, 1e-7,
			       1e300, -1e-300, 5e-324, 0.30000000000000004, 3.14159, 99.5, 1e21};
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(nums[i]));
	cJSON_AddItemToArray(a, cJSON_CreateNumber(NAN));
	cJSON_AddItemToArray(a, cJSON_CreateNumber(INFINITY));
	same_print(a, "print: numbers, as cJSON prints them");
	cJSON_Delete(a);

	char all[256];
	for (int i = 1; i < 256; i++)
		all[i - 1] = (char)i;
	all[255] = '\0';
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, all, all);
	cJSON_AddStringToObject(o, "", "");
	cJSON_AddItemToObject(o, "e", cJSON_CreateObject());
	cJSON_AddItemToObject(o, "f", cJSON_CreateArray());
	cJSON_AddNullToObject(o, "n");
	cJSON_AddBoolToObject(o, "t", 1);
	cJSON_AddBoolToObject(o, "no", 0);
	cJSON_AddRawToObject(o, "raw", "[1, 2]");
	cJSON *nest = cJSON_AddArrayToObject(o, "nest");
	cJSON_AddItemToArray(nest, cJSON_CreateString("a\"b\\c\n"));
	cJSON_AddItemToArray(nest, cJSON_Parse("{\"x\":[{},[],{\"y\":[null]}]}"));
	same_print(o, "print: every byte in a key and a value, nesting, empty containers, raw");
	cJSON_Delete(o);
}

/* the same values through a spool kept in memory and one that moves to a
 * file after `limit` bytes: read back in order, at random offsets, across
 * the file's cache blocks, after appends resumed */
static void spool_round(size_t limit, const char *label)
{
	struct spool s = SPOOL_INIT;
	size_t saved = spool_mem_limit;
	spool_mem_limit = limit;
	enum { N = 20000 };
	char str[64];
	for (uint64_t i = 0; i < N; i++) {
		snprintf(str, sizeof str, "value %llu", (unsigned long long)i * 7919);
		spool_put_u64(&s, i);
		spool_put_f64(&s, (double)i / 3);
		spool_put_str(&s, i % 5 ? str : i % 10 ? ""
						       : NULL);
	}
	int bad = 0;
	struct spool_cur c = {&s, 0};
	for (uint64_t i = 0; i < N; i++) {
		snprintf(str, sizeof str, "value %llu", (unsigned long long)i * 7919);
		uint64_t u = spool_get_u64(&c);
		double d = spool_get_f64(&c);
		char *got = spool_get_str(&c);
		const char *want = i % 5 ? str : i % 10 ? ""
							: NULL;
		bad += u != i || d != (double)i / 3 || (want ? !got || strcmp(got, want) : got != NULL);
		free(got);
	}
	OK(bad == 0 && c.off == s.size, "spool (%s): %d values read back in order (%d wrong), to its end", label, 3 * N, bad);
	/* fixed-size records read backwards, then appends after reads */
	struct spool f = SPOOL_INIT;
	for (uint64_t i = 0; i < N; i++)
		spool_add(&f, &i, sizeof i);
	bad = 0;
	for (uint64_t i = N; i-- > 0;) {
		uint64_t v;
		spool_read(&f, i * sizeof v, &v, sizeof v);
		bad += v != i;
	}
	for (uint64_t i = N; i < 2 * N; i++)
		spool_add(&f, &i, sizeof i);
	for (uint64_t i = 0; i < 2 * N; i += 997) {
		uint64_t v;
		spool_read(&f, i * sizeof v, &v, sizeof v);
		bad += v != i;
	}
	OK(bad == 0, "spool (%s): fixed-size records backwards, and after appends resumed (%d wrong)", label, bad);
	OK(spool_in_file(&s) == (limit < s.size), "spool (%s): %s", label, limit < s.size ? "in a file" : "in memory");
	spool_release(&s);
	spool_release(&f);
	OK(s.size == 0 && !spool_in_file(&s), "spool (%s): released, empty", label);
	spool_mem_limit = saved;
}

static void test_spool(void)
{
	spool_round(SIZE_MAX - 1, "memory");
	spool_round(0, "file from the start");
	spool_round(100000, "file after 100000 bytes");
}

/* a mapped file: NUL-terminated even when its length is a multiple of the
 * page size, and the same text after its pages were dropped */
static void test_mapfile(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	char path[] = "/tmp/migsafe-mapfile-XXXXXX";
	int fd = mkstemp(path);
	size_t len = 3 * (size_t)ps;
	char *want = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		want[i] = (char)('a' + i % 26);
	want[len] = '\0';
	OK(fd >= 0 && write(fd, want, len) == (ssize_t)len, "mapfile: a test file of 3 pages");
	close(fd);
	struct mapped m;
	struct msg_err err = MSG_ERR_INIT;
	OK(map_file(path, &m, &err) == 0, "mapfile: maps a regular file");
	OK(m.maplen > 0 && m.len == len && strlen(m.text) == len && !strcmp(m.text, want),
	   "mapfile: mapped, the length of the file, NUL-terminated after a whole number of pages");
	map_drop(&m, 0, len);
	OK(!strcmp(m.text, want), "mapfile: the same text after its pages were dropped");
	map_release(&m);
	unlink(path);
	free(want);
	OK(map_file("/dev/null", &m, &err) == 0, "mapfile: reads /dev/null");
	OK(m.maplen == 0 && m.len == 0 && m.text[0] == '\0', "mapfile: what is not a regular file is read instead");
	map_release(&m);
}

/* buf_add_int writes what printf's %lld writes, extremes included. */
/* common/ returns its errors (msg.h): the process goes on, and the error
 * holds the message and its exit class. */
static void test_errors(void)
{
	struct msg_err err = MSG_ERR_INIT;
	OK(read_file("/nonexistent/x.sql", &err) == NULL && err.code == EXIT_INPUT,
	   "read_file: a missing file is an input error, returned");
	IS_STR(err.text, "/nonexistent/x.sql: No such file or directory", "read_file: the message names the file");
	err_release(&err);
	OK(err.text == NULL && err.code == 0, "err_release clears the error");
	static const char in[] = "{\"kind\":\"t\",\"v\":1}\n\n{\"kind\":\n";
	FILE *f = fmemopen((void *)in, sizeof(in) - 1, "r");
	struct nd_reader rd;
	nd_reader_init(&rd, f, "<in>");
	cJSON *r = nd_read(&rd, &err);
	OK(r != NULL && err.text == NULL, "nd_read: a good record, no error");
	cJSON_Delete(r);
	r = nd_read(&rd, &err);
	OK(r == NULL && err.code == EXIT_INPUT, "nd_read: an invalid line is NULL with an input error");
	IS_STR(err.text, "<in>:3: invalid JSON", "nd_read: file:line: why");
	err_release(&err);
	nd_reader_release(&rd);
	fclose(f);
	f = fmemopen((void *)in, 20, "r");
	nd_reader_init(&rd, f, "<in>");
	cJSON_Delete(nd_read(&rd, &err));
	OK(nd_read(&rd, &err) == NULL && err.text == NULL, "nd_read: NULL at the end, without an error");
	nd_reader_release(&rd);
	fclose(f);
	struct mapped m;
	OK(map_file("/nonexistent/y.sql", &m, &err) < 0 && err.code == EXIT_INPUT, "map_file: a missing file is returned");
	err_release(&err);
}

static void test_buf_int(void)
{
	const long long v[] = {0, 7, -1, 10, -10, 1234567890123LL, 9223372036854775807LL, -9223372036854775807LL - 1};
	struct buf b = BUF_INIT;
	char want[32], name[48];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		buf_reset(&b);
		buf_adds(&b, "x");
		buf_add_int(&b, v[i]);
		snprintf(want, sizeof(want), "x%lld", v[i]);
		snprintf(name, sizeof(name), "buf_add_int(%lld)", v[i]);
		IS_STR(b.s, want, name);
	}
	buf_release(&b);
}

int main(int argc, char **argv)
{
	(void)argc;
	msg_set_prog(argv[0]);
	xalloc_init_cjson();
	alarm(300); /* a reader thread that deadlocks fails the test, not CI */
	test_nd();
	test_names();
	test_types();
	test_parse();
	test_reader();
	test_deparse();
	test_print();
	test_reader_big();
	test_reader_corpus();
	test_spool();
	test_mapfile();
	test_buf_int();
	test_errors();
	return tap_done();
}
