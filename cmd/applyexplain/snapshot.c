/*
 * snapshot: the shadow's schema as comparable facts, and their diff.
 *
 * Each fact is "key\tvalue": the key names an object (table, column, index,
 * constraint, view, type, sequence) and the value is what PostgreSQL itself
 * prints for it (format_type, pg_get_expr, pg_get_indexdef,
 * pg_get_constraintdef, pg_get_viewdef), so two snapshots compare as text
 * whatever oids the objects got. Column order is not compared: a rollback
 * that re-adds a column puts it last, which changes no query.
 */
#include <stdlib.h>
#include <string.h>

#include "applyexplain.h"
#include "db.h"
#include "xalloc.h"

static const char snapshot_sql[] =
	"WITH rel AS (SELECT c.oid, c.relkind, c.relpersistence, n.nspname || '.' || c.relname AS q "
	"  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)') "
	"SELECT 'table ' || q, 'kind ' || relkind::text || ' persistence ' || relpersistence::text FROM rel "
	"  WHERE relkind IN ('r', 'p', 'f') "
	"UNION ALL SELECT 'column ' || r.q || '.' || a.attname, "
	"  pg_catalog.format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE ' null' END "
	"  || coalesce(' default ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid), '') "
	"  || CASE a.attidentity WHEN 'a' THEN ' identity always' WHEN 'd' THEN ' identity by default' ELSE '' END "
	"  || CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END "
	"  FROM rel r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped "
	"  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
	"  WHERE r.relkind IN ('r', 'p', 'f', 'v', 'm') "
	"UNION ALL SELECT 'index ' || r.q, pg_catalog.pg_get_indexdef(r.oid) "
	"  || CASE WHEN x.indisvalid THEN '' ELSE ' (invalid)' END "
	"  FROM rel r JOIN pg_catalog.pg_index x ON x.indexrelid = r.oid "
	"UNION ALL SELECT 'constraint ' || r.q || '.' || k.conname, pg_catalog.pg_get_constraintdef(k.oid) "
	"  || CASE WHEN k.convalidated THEN '' ELSE ' (not validated)' END "
	"  FROM rel r JOIN pg_catalog.pg_constraint k ON k.conrelid = r.oid "
	"UNION ALL SELECT CASE relkind::text WHEN 'm' THEN 'materialized view ' ELSE 'view ' END || q, "
	"  pg_catalog.pg_get_viewdef(oid) FROM rel WHERE relkind IN ('v', 'm') "
	"UNION ALL SELECT 'sequence ' || q, 'sequence' FROM rel WHERE relkind = 'S' "
	"UNION ALL SELECT 'type ' || n.nspname || '.' || t.typname, "
	"  'enum ' || (SELECT string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) "
	"    FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) "
	"  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
	"  WHERE t.typtype = 'e' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
	"";

static int cmp_fact(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void snapshot_take(PGconn *c, struct strv *out)
{
	PGresult *r = db_query_or_die(c, snapshot_sql, 0, NULL);
	for (int i = 0; i < PQntuples(r); i++)
		strv_push_take(out, xasprintf("%s\t%s", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)));
	PQclear(r);
	qsort(out->v, out->n, sizeof(*out->v), cmp_fact);
}

static cJSON *difference(const char *fact_b, const char *fact_a)
{
	const char *f = fact_b ? fact_b : fact_a;
	const char *tab = strchr(f, '\t');
	cJSON *o = cJSON_CreateObject();
	char *key = xstrndup(f, (size_t)(tab - f));
	cJSON_AddStringToObject(o, "object", key);
	free(key);
	if (fact_b)
		cJSON_AddStringToObject(o, "before", strchr(fact_b, '\t') + 1);
	else
		cJSON_AddNullToObject(o, "before");
	if (fact_a)
		cJSON_AddStringToObject(o, "after", strchr(fact_a, '\t') + 1);
	else
		cJSON_AddNullToObject(o, "after");
	return o;
}

/* keycmp: compare the keys of two facts (up to the tab) */
static int keycmp(const char *a, const char *b)
{
	size_t la = strcspn(a, "\t"), lb = strcspn(b, "\t");
	int c = strncmp(a, b, la < lb ? la : lb);
	return c ? c : (la > lb) - (la < lb);
}

cJSON *snapshot_diff(const struct strv *before, const struct strv *after)
{
	cJSON *d = cJSON_CreateArray();
	size_t i = 0, k = 0;
	while (i < before->n || k < after->n) {
		int c = i == before->n ? 1 : k == after->n ? -1
							   : keycmp(before->v[i], after->v[k]);
		if (c < 0)
			cJSON_AddItemToArray(d, difference(before->v[i++], NULL));
		else if (c > 0)
			cJSON_AddItemToArray(d, difference(NULL, after->v[k++]));
		else {
			if (strcmp(before->v[i], after->v[k]))
				cJSON_AddItemToArray(d, difference(before->v[i], after->v[k]));
			i++, k++;
		}
	}
	return d;
}
