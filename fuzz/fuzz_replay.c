/*
 * fuzz_replay — SQL replayed into the catalog (common/replay.c and the
 * sql_* helpers it uses), as schema2dag reads a migration history or a
 * structure.sql: the input is one SQL script, applied to a catalog that
 * already holds a small schema (so ALTERs, DROPs and FKs find tables).
 * A syntax error is an error returned (EXIT_INPUT) naming the line; anything PostgreSQL
 * parses must replay without crashing, and the catalog it leaves must come
 * out as records that load again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "fuzz.h"
#include "msg.h"
#include "nd.h"
#include "replay.h"
#include "xalloc.h"

static const char base_schema[] =
	"CREATE TYPE status AS ENUM ('new', 'paid');\n"
	"CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, name varchar(80));\n"
	"CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
	"  customer_id bigint NOT NULL REFERENCES customers ON DELETE CASCADE,\n"
	"  st status DEFAULT 'new', total numeric(10,2) CHECK (total >= 0), created_at timestamptz DEFAULT now());\n"
	"CREATE INDEX orders_customer ON orders (customer_id) WHERE st <> 'paid';\n"
	"CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;\n";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	msg_set_prog("fuzz_replay");
	xalloc_init_cjson();
	/* libpg_query sets up its memory contexts on first use: do it before
	 * tracking starts, so they are never taken for the input's blocks */
	struct catalog c;
	struct replay r;
	catalog_init(&c);
	replay_init(&r, &c);
	struct msg_err err = MSG_ERR_INIT;
	if (replay_sql(&r, "base.sql", base_schema, &err) < 0)
		abort();
	replay_release(&r);
	catalog_release(&c);
	return 0;
}

static void reload(cJSON *rec, void *arg)
{
	struct catalog *c = arg;
	const char *err = NULL;
	char *text = cJSON_PrintUnformatted(rec);
	cJSON *back = nd_parse_line(text, strlen(text), &err);
	if (!back || catalog_load_record(c, back, &err) < 0) {
		fprintf(stderr, "replay: a record that does not load again (%s): %s\n", err, text);
		abort();
	}
	cJSON_Delete(back);
	free(text);
	cJSON_Delete(rec);
}

static void run(const char *text)
{
	struct catalog cat, again;
	struct replay r;
	catalog_init(&cat);
	replay_init(&r, &cat);
	r.quiet = true;
	struct msg_err err = MSG_ERR_INIT;
	if (replay_sql(&r, "base.sql", base_schema, &err) < 0)
		abort();
	(void)replay_sql(&r, "fuzz.sql", text, &err); /* a syntax error: returned */
	err_release(&err);
	replay_release(&r);
	catalog_init(&again);
	catalog_to_json(&cat, reload, &again);
	catalog_release(&again);
	catalog_release(&cat);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	run(text);
	free(text);
	return 0;
}
