/* Unit tests for common/jtree: the in-place JSON parser must read exactly
 * as cJSON_Parse does, on libpg_query's parse trees of every corpus
 * statement and on hand-made edge cases, and refuse what cJSON refuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pg_query.h>

#include "corpus.h"
#include "jtree.h"
#include "msg.h"
#include "tap.h"
#include "xalloc.h"

/* the test's arena: every node freed at the end, together */
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

static void pool_free(struct pool *pl)
{
	for (size_t i = 0; i < pl->n; i++)
		free(pl->p[i]);
	free(pl->p);
	memset(pl, 0, sizeof(*pl));
}

/* same: a (jtree's) and b (cJSON's) alike in type, key, value and order, recursively; on the
 * first difference, *where says where */
static int same(const cJSON *a, const cJSON *b, const char **where)
{
	for (; a || b; a = a->next, b = b->next) {
		if (!a || !b) {
			*where = "a list is longer";
			return 0;
		}
		if (a->type != b->type) {
			*where = a->string ? a->string : "a type";
			return 0;
		}
		if ((a->string == NULL) != (b->string == NULL) || (a->string && strcmp(a->string, b->string))) {
			*where = "a key";
			return 0;
		}
		if (cJSON_IsString(a) && strcmp(a->valuestring, b->valuestring)) {
			*where = a->valuestring;
			return 0;
		}
		if (cJSON_IsNumber(a) && (a->valuedouble != b->valuedouble || a->valueint != b->valueint)) {
			*where = a->string ? a->string : "a number";
			return 0;
		}
		if (a->valueint != b->valueint) {
			*where = "valueint";
			return 0;
		}
		if (a->child) { /* cJSON's convention: the first item's prev is the last */
			const cJSON *last = a->child;
			while (last->next)
				last = last->next;
			if (a->child->prev != last) {
				*where = "the first item's prev is not the last item";
				return 0;
			}
		}
		if (!same(a->child, b->child, where))
			return 0;
	}
	return 1;
}

/* compare the two parsers on json: 1 when alike (both NULL counts) */
static int compare(const char *json, const char **where)
{
	struct pool pl = {0};
	char *copy = xstrdup(json);
	cJSON *want = cJSON_ParseWithOpts(json, NULL, 1);
	cJSON *got = jtree_parse(copy, pool_alloc, &pl);
	*where = "";
	int ok = want && got ? same(got, want, where) : !want && !got;
	if (!ok && !**where)
		*where = want ? "jtree refused it" : "jtree accepted what cJSON refuses";
	cJSON_Delete(want);
	pool_free(&pl);
	free(copy);
	return ok;
}

/* show: s with control characters as '.', for a test's name */
static const char *show(const char *s)
{
	static char b[128];
	size_t i = 0;
	for (; s[i] && i + 1 < sizeof b; i++)
		b[i] = (unsigned char)s[i] < 32 ? '.' : s[i];
	b[i] = '\0';
	return b;
}

static void test_cases(void)
{
	static const char *good[] = {
		"{}",
		"[]",
		" { \"a\" : [ 1 , 2 ,3 ] ,\"b\":{}}\n",
		"{\"s\":\"plain\",\"e\":\"q\\\"b\\\\s\\/n\\nt\\tr\\rb\\bf\\f\"}",
		"{\"u\":\"\\u00e9\\u20ac\\ud83d\\ude00x\"}",
		"{\"k\\u00e9y\":1}",
		"[0,-0,1,-1,2147483647,2147483648,-2147483648,-2147483649]",
		"[123456789012345678,1234567890123456789012,1.5,-2.25e3,1E-2,0.1]",
		"[true,false,null,[[]],[{}]]",
		"{\"dup\":1,\"dup\":2}",
		"\xEF\xBB\xBF\f[\v1]\x01",
		"[\"nul\\u0000cut\"]",
		"[\"\\ud\\ude00\", \"\\u12\"]",
		"{\"\":\"9\\ud8n\\\\\"}",
		"{\"stmts\":[{\"stmt\":{\"SelectStmt\":{\"targetList\":[],\"op\":\"SETOP_NONE\"}},\"stmt_len\":8}]}",
	};
	static const char *bad[] = {
		"",
		"{",
		"{\"a\":1,}",
		"[1,]",
		"{\"a\" 1}",
		"{\"a\":1}x",
		"[-inf]",
		"[0x1A]",
		"\"unterminated",
		"{\"a\":\"bad\\q\"}",
		"{\"a\":\"\\u12\"}",
		"{\"a\":\"\\udc00\"}",
		"{\"a\":\"\\ud800x\"}",
		"[tru]",
		"[nul]",
		"[-]",
		"{1:2}",
	};
	const char *where;
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		OK(compare(good[i], &where), "jtree reads %s as cJSON does", show(good[i]));
		if (*where)
			printf("#   at %s\n", where);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct pool pl = {0};
		char *copy = xstrdup(bad[i]);
		OK(jtree_parse(copy, pool_alloc, &pl) == NULL, "jtree refuses %s", show(bad[i]));
		pool_free(&pl);
		free(copy);
	}

	/* a copy outlives the tree: lockscore keeps cJSON_Duplicate's copy of
	 * a statement after its piece's arena is reused */
	{
		const char *json = "{\"stmt\":{\"IndexStmt\":{\"idxname\":\"i\",\"relation\":{\"relname\":\"t\"}}}}";
		struct pool pl = {0};
		char *copy = xstrdup(json);
		cJSON *dup = cJSON_Duplicate(jtree_parse(copy, pool_alloc, &pl), 1);
		memset(copy, 'x', strlen(copy)); /* the text and the nodes go */
		free(copy);
		pool_free(&pl);
		cJSON *want = cJSON_Parse(json);
		where = "";
		OK(dup && same(dup, want, &where), "a cJSON_Duplicate of a jtree keeps its keys and strings (%s)", where);
		cJSON_Delete(dup);
		cJSON_Delete(want);
	}

	/* nesting: cJSON's limit, and one deeper */
	for (int depth = CJSON_NESTING_LIMIT; depth <= CJSON_NESTING_LIMIT + 1; depth++) {
		char *deep = xmalloc((size_t)depth * 2 + 1);
		memset(deep, '[', (size_t)depth);
		memset(deep + depth, ']', (size_t)depth);
		deep[depth * 2] = '\0';
		OK(compare(deep, &where), "jtree and cJSON agree on %d nested arrays (%s)", depth, where);
		free(deep);
	}
}

struct tally {
	size_t files, bytes, bad;
};

/* a corpus file, parsed by libpg_query as a whole, its tree read both ways */
static void one_file(void *ctx, const char *path, const char *text)
{
	struct tally *n = ctx;
	PgQueryParseResult r = pg_query_parse(text);
	if (!r.error) {
		const char *where;
		n->files++;
		n->bytes += strlen(r.parse_tree);
		if (!compare(r.parse_tree, &where)) {
			n->bad++;
			printf("# %s: differs at %s\n", path, where);
		}
	}
	pg_query_free_parse_result(r);
}

static void test_corpus(void)
{
	struct tally n = {0, 0, 0};
	corpus_sql(corpus_dir(), one_file, &n);
	OK(n.files >= 100, "the corpus has parse trees to read (%zu files, %zu bytes of JSON, under %s)", n.files,
	   n.bytes, corpus_dir());
	OK(n.bad == 0, "jtree reads every corpus parse tree as cJSON does (%zu differ)", n.bad);
}

int main(int argc, char **argv)
{
	(void)argc;
	msg_set_prog(argv[0]);
	xalloc_init_cjson();
	test_cases();
	test_corpus();
	return tap_done();
}
