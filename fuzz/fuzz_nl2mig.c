/*
 * fuzz_nl2mig — nl2mig's review of SQL (cmd/nl2mig/check.c and the lint):
 * the input is a migration file, checked against the shop fixture's DAG
 * (tests/fixtures/lockscore/shop-50m.ndjson) the two ways nl2mig checks
 * SQL. Odd input length: a person's file (--sql), which is never refused:
 * only a syntax error may end it (EXIT_INPUT). Even: a model's answer,
 * vetted by the allow-list, which may also refuse it (EXIT_FINDINGS).
 * Then lockscore's lint of the forward SQL, as nl2mig runs it. Nothing may
 * crash, hang or leak.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "msg.h"
#include "nl2mig.h"
#include "sql.h"
#include "xalloc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct catalog cat;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	msg_set_prog("fuzz_nl2mig");
	xalloc_init_cjson();
	fuzz_shop_catalog(&cat);
	return 0;
}

static void review(const char *text, bool person)
{
	struct mig m;
	memset(&m, 0, sizeof(m));
	m.forward = xstrdup(text);
	m.description = xstrdup("fuzz");
	m.from_file = person;
	m.untrusted = !person;
	check_forward(&cat, "fuzz.sql", &m);
	cJSON *findings = lint_forward(&cat, m.forward);
	cJSON_Delete(findings);
	mig_release(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	bool person = size % 2;
	fuzz_allow_exit(person ? 1u << EXIT_INPUT : 1u << EXIT_INPUT | 1u << EXIT_FINDINGS);
	FUZZ_RUN(review(text, person));
	free(text);
	return 0;
}
