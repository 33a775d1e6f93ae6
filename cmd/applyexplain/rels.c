/*
 * rels: relation snapshots and the tables a parse tree names.
 *
 * A snapshot maps each user relation's oid to its name, kind and
 * relfilenode, so that locks (which pg_locks reports by oid) get the name a
 * table had before a statement renamed it, and a changed relfilenode shows
 * a rewrite (ideas from tests/locks/recorder.c).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "applyexplain.h"
#include "db.h"
#include "pgvocab.h"
#include "xalloc.h"

int lock_rank(const char *mode)
{
	return pgv_lock_parse(mode);
}

const char *lock_name(int rank)
{
	const char *n = pgv_lock_name(rank);
	return n ? n : "unknown";
}

double now_ms(void)
{
	return pgv_now_ms();
}

void sleep_ms(double ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (double)(long)(ms / 1000) * 1000) * 1e6)};
	nanosleep(&ts, NULL);
}

bool rel_is_table(char kind)
{
	return kind == 'r' || kind == 'p' || kind == 'm' || kind == 'v' || kind == 'f';
}

static const char snap_sql[] =
	"SELECT c.oid::int8, n.nspname || '.' || c.relname, c.relkind, c.relfilenode::int8, "
	"coalesce(x.indrelid, 0)::int8 "
	"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"LEFT JOIN pg_catalog.pg_index x ON x.indexrelid = c.oid "
	"WHERE n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' "
	"AND n.nspname !~ '^pg_(toast|temp_)' ORDER BY 1";

void rels_take(PGconn *c, struct rels *out)
{
	PGresult *r = db_query_or_die(c, snap_sql, 0, NULL);
	out->n = (size_t)PQntuples(r);
	out->v = xcalloc(out->n ? out->n : 1, sizeof(*out->v));
	for (size_t i = 0; i < out->n; i++) {
		out->v[i].oid = strtoul(PQgetvalue(r, (int)i, 0), NULL, 10);
		out->v[i].name = xstrdup(PQgetvalue(r, (int)i, 1));
		out->v[i].kind = PQgetvalue(r, (int)i, 2)[0];
		out->v[i].filenode = strtoul(PQgetvalue(r, (int)i, 3), NULL, 10);
		out->v[i].table_oid = strtoul(PQgetvalue(r, (int)i, 4), NULL, 10);
	}
	PQclear(r);
}

void rels_release(struct rels *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].name);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

const struct rel *rels_find(const struct rels *r, unsigned long oid)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r->v[mid].oid == oid)
			return &r->v[mid];
		if (r->v[mid].oid < oid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct rel *rels_find_name(const struct rels *r, const char *qname)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].name, qname))
			return &r->v[i];
	return NULL;
}

/* ---- tables named by a parse tree ---- */

static void add_rangevar(const cJSON *rv, struct strv *out)
{
	const char *rel = sql_jstr(rv, "relname"), *sch = sql_jstr(rv, "schemaname");
	if (!rel)
		return;
	char *q = xasprintf("%s.%s", sch ? sch : ae_schema, rel);
	if (strv_index(out, q) < 0)
		strv_push_take(out, q);
	else
		free(q);
}

void tree_tables(const cJSON *node, struct strv *out)
{
	const cJSON *it;
	if (!node)
		return;
	/* a RangeVar, wrapped ({"RangeVar":{..}}) or as a typed field
	 * ("relation":{..}); a CTE name also parses as one, harmlessly */
	if (cJSON_IsObject(node) && sql_jstr(node, "relname") && sql_jstr(node, "relpersistence")) {
		add_rangevar(node, out);
		return;
	}
	cJSON_ArrayForEach(it, node) if (cJSON_IsObject(it) || cJSON_IsArray(it)) tree_tables(it, out);
}

/* dropped_indexes: the qualified names a DROP INDEX names. */
void stmt_dropped_indexes(const struct sql_stmt *st, struct strv *out)
{
	const char *rt = sql_jstr(st->node, "removeType");
	const cJSON *it;
	if (strcmp(st->type, "DropStmt") || !rt || strcmp(rt, "OBJECT_INDEX"))
		return;
	cJSON_ArrayForEach(it, sql_jget(st->node, "objects"))
	{
		struct strv names = STRV_INIT;
		sql_name_list(sql_jget(sql_node(it, "List"), "items"), &names);
		if (names.n)
			strv_push_take(out, names.n > 1 ? xasprintf("%s.%s", names.v[names.n - 2], names.v[names.n - 1])
							: xasprintf("%s.%s", ae_schema, names.v[0]));
		strv_release(&names);
	}
}
