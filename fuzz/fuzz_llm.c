/*
 * fuzz_llm — nl2mig's LLM providers (cmd/nl2mig/llm.c) on arbitrary
 * answers: the input is a script of HTTP responses (fake_http.h) to the
 * Anthropic Messages call (odd input length) or the OpenAI Chat
 * Completions call (even); the answer's SQL then goes through check.c's
 * allow-list and rollback computation, as every model answer does, against
 * the shop fixture's DAG. A bad answer ends in EXIT_RUNTIME (the provider
 * failed us), a refused or unparsable SQL in EXIT_FINDINGS or EXIT_INPUT;
 * nothing may crash, hang or leak.
 */
#include <stdlib.h>
#include <string.h>

#include "fake_http.h"
#include "fuzz.h"
#include "nd.h"
#include "nl2mig.h"
#include "sql.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct catalog cat;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	msg_set_prog("fuzz_llm");
	xalloc_init_cjson();
	setenv("ANTHROPIC_API_KEY", "sk-ant-fuzzSECRET", 1);
	setenv("OPENAI_API_KEY", "sk-fuzzSECRET", 1);
	fuzz_shop_catalog(&cat);
	return 0;
}

static void translate(bool anthropic)
{
	struct opts o;
	struct mig m;
	memset(&o, 0, sizeof(o));
	memset(&m, 0, sizeof(m));
	o.provider = anthropic ? "anthropic" : "openai";
	o.base_url = "http://127.0.0.1:9";
	o.lock_timeout = "2s";
	o.timeout_ms = 1000;
	o.request = "add a deleted_at column to orders";
	llm_translate(&o, &cat, o.request, NULL, &m);
	check_forward(&cat, "model", &m);
	mig_release(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fake_http_script((const char *)data, size);
	fuzz_allow_exit(1u << EXIT_RUNTIME | 1u << EXIT_FINDINGS | 1u << EXIT_INPUT);
	FUZZ_RUN(translate(size % 2));
	return 0;
}
