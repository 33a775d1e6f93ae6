/*
 * fuzz_jtree — common/jtree.c, the in-place JSON parser lockscore reads
 * libpg_query's parse trees with, against cJSON itself (differential).
 *
 * The input, as a NUL-terminated text, goes to cJSON_ParseWithOpts (the
 * whole text must be the value) and to jtree_parse. Both must refuse it,
 * or both accept it with the same tree: types, keys, strings, numbers
 * (valuedouble and valueint), order, and the first item's prev being the
 * last as cJSON keeps it. Anything else aborts.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "jtree.h"
#include "msg.h"
#include "xalloc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	msg_set_prog("fuzz_jtree");
	xalloc_init_cjson();
	return 0;
}

struct pool {
	void **p;
	size_t n, cap;
};

static void *pool_alloc(void *ctx, size_t n)
{
	struct pool *pl = ctx;
	xgrow(&pl->p, &pl->cap, pl->n + 1, sizeof(*pl->p));
	return pl->p[pl->n++] = xmalloc(n);
}

static void same(const cJSON *a, const cJSON *b)
{
	for (; a || b; a = a->next, b = b->next) {
		if (!a || !b || a->type != b->type)
			abort();
		if ((a->string == NULL) != (b->string == NULL) || (a->string && strcmp(a->string, b->string)))
			abort();
		if (cJSON_IsString(a) && strcmp(a->valuestring, b->valuestring))
			abort();
		if (a->valueint != b->valueint)
			abort();
		/* NaN never comes from JSON text; -0 and 0 compare equal, as in cJSON */
		if (cJSON_IsNumber(a) && a->valuedouble != b->valuedouble)
			abort();
		if (a->child) {
			const cJSON *last = a->child;
			while (last->next)
				last = last->next;
			if (a->child->prev != last)
				abort();
		}
		same(a->child, b->child);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1), *copy = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	memcpy(copy, text, size + 1);
	struct pool pl = {0};
	cJSON *want = cJSON_ParseWithOpts(text, NULL, 1);
	cJSON *got = jtree_parse(copy, pool_alloc, &pl);
	if (!want != !got)
		abort();
	if (got)
		same(got, want);
	cJSON_Delete(want);
	for (size_t i = 0; i < pl.n; i++)
		free(pl.p[i]);
	free(pl.p);
	free(text);
	free(copy);
	return 0;
}
