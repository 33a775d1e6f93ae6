/*
 * catalog_copy: a catalog copied through its own records, and a canonical
 * text of one to compare two catalogs by.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "msg.h"
#include "nd.h"
#include "xalloc.h"

static void catalog_emit_arr(cJSON *rec, void *arg)
{
	cJSON_AddItemToArray(arg, rec);
}

void catalog_clone(struct catalog *dst, const struct catalog *src)
{
	cJSON *arr = cJSON_CreateArray(), *r;
	const char *err;
	catalog_init(dst);
	catalog_to_json(src, catalog_emit_arr, arr);
	cJSON_ArrayForEach(r, arr) if (catalog_load_record_trusted(dst, r, &err) < 0) BUG("clone: %s", err);
	for (size_t i = 0; i < src->schemas.n; i++)
		if (strv_index(&dst->schemas, src->schemas.v[i]) < 0)
			strv_push(&dst->schemas, src->schemas.v[i]);
	cJSON_Delete(arr);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* catalog_digest: one line per object and per column, sorted, without
 * estimates: two catalogs with the same digest have the same schema
 * whatever the order their columns were added in. */
char *catalog_digest(const struct catalog *c)
{
	cJSON *arr = cJSON_CreateArray(), *r;
	struct strv lines = STRV_INIT;
	catalog_to_json(c, catalog_emit_arr, arr);
	cJSON_ArrayForEach(r, arr)
	{
		cJSON_DeleteItemFromObjectCaseSensitive(r, "rows");
		cJSON *cols = cJSON_DetachItemFromObjectCaseSensitive(r, "columns"), *col;
		cJSON_ArrayForEach(col, cols)
		{
			char *s = cJSON_PrintUnformatted(col);
			strv_push_take(&lines, xasprintf("column %s %s", nd_get_str(r, "name"), s));
			free(s);
		}
		cJSON_Delete(cols);
		strv_push_take(&lines, cJSON_PrintUnformatted(r));
	}
	cJSON_Delete(arr);
	qsort(lines.v, lines.n, sizeof(*lines.v), cmp_str);
	char *out = strv_join(&lines, "\n");
	strv_release(&lines);
	return out;
}
