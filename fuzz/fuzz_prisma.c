/*
 * fuzz_prisma — the Prisma schema reader (common/prisma.c): the input is a
 * schema.prisma file, read with prisma_load as schema2dag --prisma reads
 * it. Invalid schemas must die with EXIT_INPUT; a schema that loads must
 * come out as records (catalog_to_json) that load again into a catalog
 * (what lockscore and nl2mig do with schema2dag's output).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "fuzz.h"
#include "msg.h"
#include "nd.h"
#include "prisma.h"
#include "xalloc.h"

static char path[4200];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	msg_set_prog("fuzz_prisma");
	xalloc_init_cjson();
	snprintf(path, sizeof path, "%s/schema.prisma", fuzz_tmpdir());
	return 0;
}

static void reload(cJSON *rec, void *arg)
{
	struct catalog *c = arg;
	const char *err = NULL;
	char *text = cJSON_PrintUnformatted(rec);
	cJSON *back = nd_parse_line(text, strlen(text), &err);
	if (!back || catalog_load_record(c, back, &err) < 0) {
		fprintf(stderr, "prisma: a record that does not load again (%s): %s\n", err, text);
		abort();
	}
	cJSON_Delete(back);
	free(text);
	cJSON_Delete(rec);
}

/* load: false when prisma_load refused the schema (an error unwinds the
 * parser and may leave what its frames held: freed by fuzz_end) */
static bool load(void)
{
	struct catalog cat, again;
	struct strv files = STRV_INIT;
	struct msg_err err = MSG_ERR_INIT;
	catalog_init(&cat);
	bool ok = prisma_load(&cat, path, &files, &err) == 0;
	if (ok) {
		catalog_init(&again);
		catalog_to_json(&cat, reload, &again);
		catalog_release(&again);
	}
	err_release(&err);
	catalog_release(&cat);
	strv_release(&files);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_write_file(path, data, size);
	fuzz_begin();
	fuzz_end(!load());
	return 0;
}
