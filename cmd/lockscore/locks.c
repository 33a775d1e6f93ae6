/*
 * locks: the static lock model. For each statement form, the lock mode
 * PostgreSQL 15 takes on each table, whether it rewrites or scans them,
 * and what work it does while it holds them, following PostgreSQL's
 * documentation (https://www.postgresql.org/docs/15/explicit-locking.html
 * and the Notes of each command's page, e.g. sql-altertable.html,
 * sql-createindex.html) and its source (src/backend/commands/tablecmds.c,
 * AlterTableGetLockLevel), and checked against pg_locks by the lock-truth
 * suite in tests/locks/. For ALTER TABLE, ACCESS EXCLUSIVE is the default
 * unless a subform says otherwise, and several subcommands in one ALTER
 * TABLE take the strongest lock any of them needs.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lockscore.h"
#include "pgvocab.h"
#include "xalloc.h"

/* enum lockmode numbers the modes as pgvocab does. */
const char *lockmode_name(enum lockmode m)
{
	const char *n = pgv_lock_name((int)m);
	return n ? n : "";
}

enum lockmode lockmode_parse(const char *name)
{
	return (enum lockmode)pgv_lock_parse(name);
}

bool lockmode_blocks_reads(enum lockmode m)
{
	return pgv_lock_blocks_reads((int)m);
}

bool lockmode_blocks_writes(enum lockmode m)
{
	return pgv_lock_blocks_writes((int)m);
}

void effect_lock(struct effect *e, const char *table, enum lockmode m)
{
	if (!table || m == LM_NONE)
		return;
	for (size_t i = 0; i < e->nlocks; i++)
		if (!strcmp(e->locks[i].table, table)) {
			if (m > e->locks[i].mode)
				e->locks[i].mode = m;
			return;
		}
	xgrow(&e->locks, &e->caplocks, e->nlocks + 1, sizeof(*e->locks));
	e->locks[e->nlocks].table = xstrdup(table);
	e->locks[e->nlocks++].mode = m;
}

enum lockmode effect_mode(const struct effect *e, const char *table)
{
	for (size_t i = 0; i < e->nlocks; i++)
		if (!strcmp(e->locks[i].table, table))
			return e->locks[i].mode;
	return LM_NONE;
}

enum lockmode effect_max_mode(const struct effect *e)
{
	enum lockmode m = LM_NONE;
	for (size_t i = 0; i < e->nlocks; i++)
		if (e->locks[i].mode > m)
			m = e->locks[i].mode;
	return m;
}

void effect_release(struct effect *e)
{
	for (size_t i = 0; i < e->nlocks; i++)
		free(e->locks[i].table);
	free(e->locks);
	strv_release(&e->rewrites);
	strv_release(&e->scans);
	strv_release(&e->created);
	strv_release(&e->fired);
	strv_release(&e->routed);
	free(e->no_partition);
	for (size_t i = 0; i < e->ndml; i++) {
		free(e->dml[i].table);
		strv_release(&e->dml[i].fan);
	}
	free(e->dml);
	memset(e, 0, sizeof(*e));
}

static void add_unique(struct strv *sv, const char *s)
{
	if (s && strv_index(sv, s) < 0)
		strv_push(sv, s);
}

/* ---- sizes ---- */

double table_rows(const struct catalog *cat, const char *qname)
{
	const struct cat_table *t = catalog_table_q(cat, qname);
	return t ? t->rows : -1;
}

/* Throughput assumptions for production hardware, in rows per millisecond:
 * a sequential scan, an index build, a table rewrite (new heap and every
 * index), and row-by-row DML with its WAL and index maintenance. */
double work_ms(enum work w, double rows)
{
	static const double rows_per_ms[] = {0, 2000, 500, 200, 50};
	if (w == W_META)
		return 1;
	if (rows < 0)
		return -1;
	return 1 + rows / rows_per_ms[w];
}

/* ---- helpers ---- */

struct ctx {
	struct catalog *cat;
	const struct opts *o;
	struct stmt *st;
	struct effect *e;
	const char *search;
	size_t dml; /* the entry of e->dml being predicted, or NO_DML */
};

#define NO_DML ((size_t)-1)

static struct cat_table *find_table(const struct ctx *c, const char *schema, const char *name)
{
	if (!name)
		return NULL;
	if (schema)
		return catalog_table(c->cat, schema, name);
	struct cat_table *t = catalog_table(c->cat, c->search, name);
	return t ? t : catalog_table(c->cat, "public", name);
}

static struct cat_table *rv_table(const struct ctx *c, const cJSON *rv)
{
	return find_table(c, sql_jstr(rv, "schemaname"), sql_jstr(rv, "relname"));
}

static struct cat_view *rv_view(const struct ctx *c, const cJSON *rv)
{
	const char *s = sql_jstr(rv, "schemaname"), *n = sql_jstr(rv, "relname");
	if (!n)
		return NULL;
	if (s)
		return catalog_view(c->cat, s, n);
	struct cat_view *v = catalog_view(c->cat, c->search, n);
	return v ? v : catalog_view(c->cat, "public", n);
}

/* The qname of the relation rv names (table or view), or its would-be
 * qname when unknown; caller frees. */
static char *rv_qname(const struct ctx *c, const cJSON *rv)
{
	struct cat_table *t = rv_table(c, rv);
	struct cat_view *v = t ? NULL : rv_view(c, rv);
	if (t)
		return xstrdup(t->qname);
	if (v)
		return xstrdup(v->qname);
	const char *s = sql_jstr(rv, "schemaname");
	return cat_qname(s ? s : c->search, sql_jstr(rv, "relname") ? sql_jstr(rv, "relname") : "?");
}

static void lock_rv(struct ctx *c, const cJSON *rv, enum lockmode m)
{
	char *q = rv_qname(c, rv);
	effect_lock(c->e, q, m);
	free(q);
}

/* lock_tree: table and, recursively, its partitions (PostgreSQL recurses
 * into them for most commands on a partitioned table). */
static void lock_tree(struct ctx *c, const char *table, enum lockmode m)
{
	effect_lock(c->e, table, m);
	for (size_t i = 0; i < c->cat->ntables; i++)
		if (c->cat->tables[i]->partition_of && !strcmp(c->cat->tables[i]->partition_of, table))
			lock_tree(c, c->cat->tables[i]->qname, m);
}

static bool is_partitioned(const struct ctx *c, const char *table)
{
	const struct cat_table *t = catalog_table_q(c->cat, table);
	return t && t->partition_by;
}

/* The default partition of a partitioned table, or NULL. A DAG without
 * bounds (from an older schema2dag) falls back to the name. */
static const char *default_partition(const struct ctx *c, const char *parent)
{
	for (size_t i = 0; i < c->cat->ntables; i++) {
		const struct cat_table *p = c->cat->tables[i];
		if (!p->partition_of || strcmp(p->partition_of, parent))
			continue;
		if (p->partition_bound ? !strcmp(p->partition_bound, "DEFAULT") : strstr(p->name, "default") != NULL)
			return p->qname;
	}
	return NULL;
}

static void set_work(struct ctx *c, enum work w, const char *table)
{
	double rows = table ? table_rows(c->cat, table) : -1;
	if (w > c->e->work || c->e->work == W_META) {
		c->e->work = w;
		c->e->work_rows = rows;
	} else if (w == c->e->work && rows > c->e->work_rows) {
		c->e->work_rows = rows;
	}
}

static void rewrite(struct ctx *c, const char *table)
{
	const struct cat_table *t = catalog_table_q(c->cat, table);
	if (t && t->partition_by) { /* no storage of its own: its partitions are rewritten */
		for (size_t i = 0; i < c->cat->ntables; i++)
			if (c->cat->tables[i]->partition_of && !strcmp(c->cat->tables[i]->partition_of, table))
				rewrite(c, c->cat->tables[i]->qname);
		return;
	}
	add_unique(&c->e->rewrites, table);
	set_work(c, W_REWRITE, table);
}

static void scan(struct ctx *c, const char *table, enum work w)
{
	add_unique(&c->e->scans, table);
	set_work(c, w, table);
}

/* Every relation a query reads takes ACCESS SHARE (views expand to their
 * tables); names defined by the query's own CTEs are not relations. */
static void lock_reads(struct ctx *c, const cJSON *n, struct strv *ctes)
{
	for (const cJSON *k = n ? n->child : NULL; k; k = k->next) {
		/* most keys are neither: the first letter saves a strcmp per node */
		bool c0 = k->string && k->string[0] == 'C', r0 = k->string && k->string[0] == 'R';
		if (c0 && !strcmp(k->string, "CommonTableExpr") && sql_jstr(k, "ctename"))
			strv_push(ctes, sql_jstr(k, "ctename"));
		if (r0 && !strcmp(k->string, "RangeVar")) {
			const char *rel = sql_jstr(k, "relname");
			if (!sql_jstr(k, "schemaname") && rel && strv_index(ctes, rel) >= 0)
				continue;
			struct cat_view *v = rv_view(c, k);
			if (rv_table(c, k) || v)
				lock_rv(c, k, LM_AS);
			for (size_t i = 0; v && !v->materialized && i < v->depends_on.n; i++)
				effect_lock(c->e, v->depends_on.v[i], LM_AS);
		} else if (cJSON_IsObject(k) || cJSON_IsArray(k)) {
			lock_reads(c, k, ctes);
		}
	}
}

/* The names every WITH of tree n defines (libpg_query puts withClause
 * after the clauses that use its names). */
static void cte_names(const cJSON *n, struct strv *ctes)
{
	for (const cJSON *k = n ? n->child : NULL; k; k = k->next) {
		if (k->string && !strcmp(k->string, "CommonTableExpr") && sql_jstr(k, "ctename"))
			add_unique(ctes, sql_jstr(k, "ctename"));
		if (cJSON_IsObject(k) || cJSON_IsArray(k))
			cte_names(k, ctes);
	}
}

static void lock_query_reads(struct ctx *c, const cJSON *n)
{
	struct strv ctes = STRV_INIT;
	cte_names(c->st->node, &ctes);
	lock_reads(c, n, &ctes);
	strv_release(&ctes);
}

/* ---- DML and foreign-key fan-out ---- */

/* Rows a DML statement touches: all of them without WHERE, one for an
 * equality on the primary key, and otherwise a tenth (a guess the finding
 * says it makes). */
static double dml_rows(const struct ctx *c, const char *table, const cJSON *where)
{
	double rows = table_rows(c->cat, table);
	if (!where || rows < 0)
		return rows;
	const cJSON *ae = sql_node(where, "A_Expr");
	const struct cat_table *t = catalog_table_q(c->cat, table);
	if (ae && t && t->pk.n == 1 && sql_jstr(ae, "kind") && !strcmp(sql_jstr(ae, "kind"), "AEXPR_OP")) {
		struct strv f = STRV_INIT;
		sql_name_list(sql_jget(sql_node(sql_jget(ae, "lexpr"), "ColumnRef"), "fields"), &f);
		bool pk = f.n && !strcmp(f.v[f.n - 1], t->pk.v[0]);
		strv_release(&f);
		if (pk)
			return 1;
	}
	return rows / 10;
}

static bool overlaps(const struct strv *a, const struct strv *b)
{
	if (!b)
		return true;
	for (size_t i = 0; i < a->n; i++)
		if (strv_index(b, a->v[i]) >= 0)
			return true;
	return false;
}

static void triggers(struct ctx *c, const char *table, const char *event, const struct strv *cols);
static void fan_delete(struct ctx *c, const char *table, struct strv *seen);
static void fan_update(struct ctx *c, const char *table, const struct strv *cols, struct strv *seen);

/* Rows deleted or updated in a parent fire the RI triggers of every
 * foreign key that references it: CASCADE / SET NULL / SET DEFAULT write
 * the child (ROW EXCLUSIVE, and onward, with the child's own triggers),
 * NO ACTION / RESTRICT look it up (SELECT ... FOR KEY SHARE: ROW SHARE). */
static void fan_out(struct ctx *c, const char *table, bool del, const struct strv *cols, struct strv *seen)
{
	struct catalog *cat = c->cat;
	for (size_t i = 0; i < cat->nfks; i++) {
		struct cat_fk *fk = cat->fks[i];
		if (strcmp(fk->ref_table, table) || (!del && !overlaps(&fk->ref_columns, cols)))
			continue;
		const char *act = del ? fk->on_delete : fk->on_update;
		if (!strcmp(act, "no action") || !strcmp(act, "restrict")) {
			effect_lock(c->e, fk->table, LM_RS);
			continue;
		}
		effect_lock(c->e, fk->table, LM_RE);
		if (c->dml != NO_DML)
			add_unique(&c->e->dml[c->dml].fan, fk->table);
		double rows = table_rows(cat, fk->table);
		if (rows > c->e->work_rows)
			c->e->work_rows += rows; /* the fan-out adds its own rows */
		/* the rows the action deletes or updates fire the child's own
		 * triggers, as any DELETE or UPDATE would */
		if (del && !strcmp(act, "cascade")) {
			fan_delete(c, fk->table, seen);
			triggers(c, fk->table, "delete", NULL);
		} else {
			fan_update(c, fk->table, &fk->columns, seen);
			triggers(c, fk->table, "update", &fk->columns);
		}
	}
}

static void fan_delete(struct ctx *c, const char *table, struct strv *seen)
{
	if (strv_index(seen, table) >= 0)
		return;
	strv_push(seen, table);
	fan_out(c, table, true, NULL, seen);
}

/* An update of cols in table: the foreign keys of table over those columns
 * check their parents (ROW SHARE), and the keys referencing them fan out. */
static void fan_update(struct ctx *c, const char *table, const struct strv *cols, struct strv *seen)
{
	for (size_t i = 0; i < c->cat->nfks; i++) {
		struct cat_fk *fk = c->cat->fks[i];
		if (!strcmp(fk->table, table) && overlaps(&fk->columns, cols))
			effect_lock(c->e, fk->ref_table, LM_RS);
	}
	if (strv_index(seen, table) >= 0)
		return;
	strv_push(seen, table);
	fan_out(c, table, false, cols, seen);
}

/* ---- triggers ---- */

static bool trigger_fires(const struct cat_trigger *tg, const char *event, const struct strv *cols)
{
	if (strv_index(&tg->events, event) < 0)
		return false;
	return strcmp(event, "update") || !tg->columns.n || !cols || overlaps(&tg->columns, cols);
}

/* The triggers of table for event fire: the tables their functions write
 * are locked ROW EXCLUSIVE, and their own triggers fire in turn (for any
 * DML event: what the function does to them is not recorded). */
static void fire_triggers(struct ctx *c, const char *table, const char *event, const struct strv *cols,
			  struct strv *seen)
{
	const struct cat_table *t = catalog_table_q(c->cat, table);
	if (!t || strv_index(seen, table) >= 0)
		return;
	strv_push(seen, table);
	for (size_t i = 0; i < t->ntrigs; i++) {
		const struct cat_trigger *tg = &t->trigs[i];
		if (!trigger_fires(tg, event, cols))
			continue;
		for (size_t k = 0; k < tg->writes.n; k++) {
			effect_lock(c->e, tg->writes.v[k], LM_RE);
			add_unique(&c->e->fired, tg->writes.v[k]);
			fire_triggers(c, tg->writes.v[k], "insert", NULL, seen);
			fire_triggers(c, tg->writes.v[k], "update", NULL, seen);
			fire_triggers(c, tg->writes.v[k], "delete", NULL, seen);
		}
	}
}

/* triggers: fire_triggers from table with a fresh visited set. */
static void triggers(struct ctx *c, const char *table, const char *event, const struct strv *cols)
{
	struct strv seen = STRV_INIT;
	fire_triggers(c, table, event, cols, &seen);
	strv_release(&seen);
}

/* dml_target: ROW EXCLUSIVE on the target of a DML statement; verb (not
 * NULL) records it in e->dml as the one being predicted. The rows of
 * several DML statements in one add up. */
static void dml_target(struct ctx *c, const cJSON *rv, const cJSON *where, const char *verb, char **qname)
{
	*qname = rv_qname(c, rv);
	effect_lock(c->e, *qname, LM_RE);
	double rows = dml_rows(c, *qname, where);
	if (c->e->work == W_DML && c->e->ndml > 0 && verb)
		rows = rows < 0 || c->e->work_rows < 0 ? -1 : rows + c->e->work_rows;
	c->e->work = W_DML;
	c->e->work_rows = rows;
	if (!verb)
		return;
	xgrow(&c->e->dml, &c->e->capdml, c->e->ndml + 1, sizeof(*c->e->dml));
	struct dml *d = &c->e->dml[c->e->ndml];
	memset(d, 0, sizeof(*d));
	d->table = xstrdup(*qname);
	d->verb = verb;
	d->deletes = !strcmp(verb, "DELETE");
	c->dml = c->e->ndml++;
}

/* The columns the SET list of an UPDATE (or ON CONFLICT DO UPDATE, or a
 * MERGE action) assigns. */
static void set_columns(const cJSON *target_list, struct strv *cols)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, target_list)
	{
		const char *col = sql_jstr(sql_node(it, "ResTarget"), "name");
		if (col)
			strv_push(cols, col);
	}
}

/* Rows of table updated in cols: foreign-key checks and actions, and the
 * UPDATE triggers. */
static void updated(struct ctx *c, const char *table, const struct strv *cols)
{
	struct strv seen = STRV_INIT;
	fan_update(c, table, cols, &seen);
	triggers(c, table, "update", cols);
	strv_release(&seen);
}

/* Rows inserted into table: its foreign keys check their parents (ROW
 * SHARE), and the INSERT triggers fire. */
static void inserted(struct ctx *c, const char *table)
{
	size_t nfk;
	struct cat_fk *const *fks = catalog_fks_of(c->cat, table, &nfk);
	for (size_t i = 0; i < nfk; i++)
		effect_lock(c->e, fks[i]->ref_table, LM_RS);
	triggers(c, table, "insert", NULL);
}

/* Rows of table deleted: the foreign keys referencing it act, the DELETE
 * triggers fire. */
static void deleted(struct ctx *c, const char *table)
{
	struct strv seen = STRV_INIT;
	fan_delete(c, table, &seen);
	triggers(c, table, "delete", NULL);
	c->e->destroys = true;
	strv_release(&seen);
}

/* INSERT: ROW EXCLUSIVE on the target, ACCESS SHARE on what its query
 * reads; ON CONFLICT DO UPDATE updates the conflicting rows too. */
static void do_insert(struct ctx *c, const cJSON *n)
{
	char *t;
	bool first = c->e->ndml == 0;
	double before = c->e->work == W_DML ? c->e->work_rows : 0;
	lock_query_reads(c, sql_jget(n, "selectStmt"));
	lock_query_reads(c, sql_jget(n, "withClause"));
	lock_query_reads(c, sql_jget(n, "returningList"));
	dml_target(c, sql_jget(n, "relation"), NULL, "INSERT", &t);
	const cJSON *sel = sql_node(sql_jget(n, "selectStmt"), "SelectStmt");
	double nrows = sel && sql_jget(sel, "valuesLists") ? cJSON_GetArraySize(sql_jget(sel, "valuesLists")) : -1;
	if (nrows >= 0)
		c->e->work_rows = first ? nrows : before < 0 ? -1
							     : before + nrows;
	inserted(c, t);
	const cJSON *oc = sql_jget(n, "onConflictClause");
	const char *act = sql_jstr(oc, "action");
	if (act && !strcmp(act, "ONCONFLICT_UPDATE")) {
		struct strv cols = STRV_INIT;
		lock_query_reads(c, oc);
		set_columns(sql_jget(oc, "targetList"), &cols);
		updated(c, t, &cols);
		strv_release(&cols);
	}
	/* a partition is locked when a row is routed to it, and only then */
	const char *none;
	if (route_insert(c->cat, t, n, c->st->src, &c->e->routed, &none) == ROUTE_NONE && !c->e->no_partition)
		c->e->no_partition = xstrdup(none);
	for (size_t i = 0; i < c->e->routed.n; i++) {
		effect_lock(c->e, c->e->routed.v[i], LM_RE);
		triggers(c, c->e->routed.v[i], "insert", NULL);
	}
	free(t);
}

static void do_update(struct ctx *c, const cJSON *n)
{
	char *t;
	struct strv cols = STRV_INIT;
	lock_query_reads(c, sql_jget(n, "fromClause"));
	lock_query_reads(c, sql_jget(n, "whereClause"));
	lock_query_reads(c, sql_jget(n, "targetList"));
	lock_query_reads(c, sql_jget(n, "withClause"));
	lock_query_reads(c, sql_jget(n, "returningList"));
	dml_target(c, sql_jget(n, "relation"), sql_jget(n, "whereClause"), "UPDATE", &t);
	set_columns(sql_jget(n, "targetList"), &cols);
	updated(c, t, &cols);
	strv_release(&cols);
	free(t);
}

static void do_delete(struct ctx *c, const cJSON *n)
{
	char *t;
	lock_query_reads(c, sql_jget(n, "usingClause"));
	lock_query_reads(c, sql_jget(n, "whereClause"));
	lock_query_reads(c, sql_jget(n, "withClause"));
	lock_query_reads(c, sql_jget(n, "returningList"));
	dml_target(c, sql_jget(n, "relation"), sql_jget(n, "whereClause"), "DELETE", &t);
	deleted(c, t);
	free(t);
}

/* COPY FROM writes like INSERT (and fires its triggers); COPY TO reads. */
static void do_copy(struct ctx *c, const cJSON *n)
{
	const cJSON *rv = sql_jget(n, "relation");
	if (!rv || !sql_jbool(n, "is_from")) {
		if (rv)
			lock_rv(c, rv, LM_AS);
		else
			lock_query_reads(c, sql_jget(n, "query"));
		c->e->work = W_SCAN;
		c->e->work_rows = -1;
		return;
	}
	char *t;
	dml_target(c, rv, NULL, NULL, &t);
	inserted(c, t);
	free(t);
}

/* MERGE: each action its WHEN clauses take does what that statement
 * would: foreign-key checks and actions, triggers. */
static void do_merge(struct ctx *c, const cJSON *n)
{
	char *t;
	const cJSON *it;
	lock_query_reads(c, sql_jget(n, "sourceRelation"));
	lock_query_reads(c, sql_jget(n, "joinCondition"));
	lock_query_reads(c, sql_jget(n, "mergeWhenClauses"));
	lock_query_reads(c, sql_jget(n, "withClause"));
	dml_target(c, sql_jget(n, "relation"), NULL, "MERGE", &t);
	cJSON_ArrayForEach(it, sql_jget(n, "mergeWhenClauses"))
	{
		const cJSON *w = sql_node(it, "MergeWhenClause");
		const char *cmd = sql_jstr(w, "commandType");
		struct strv cols = STRV_INIT;
		set_columns(sql_jget(w, "targetList"), &cols);
		if (cmd && !strcmp(cmd, "CMD_INSERT")) {
			inserted(c, t);
		} else if (cmd && !strcmp(cmd, "CMD_UPDATE")) {
			updated(c, t, &cols);
		} else if (cmd && !strcmp(cmd, "CMD_DELETE")) {
			c->e->dml[c->dml].deletes = true;
			deleted(c, t);
		}
		strv_release(&cols);
	}
	free(t);
}

/* FOR UPDATE/SHARE [OF rels]: ROW SHARE on the relations it names (by
 * alias or name), or on every relation of the FROM list. */
static void lock_for_update(struct ctx *c, const cJSON *from, const cJSON *of)
{
	for (const cJSON *k = from ? from->child : NULL; k; k = k->next) {
		if (k->string && !strcmp(k->string, "RangeVar")) {
			const char *al = sql_jstr(sql_jget(k, "alias"), "aliasname");
			bool named = !of;
			const cJSON *r;
			cJSON_ArrayForEach(r, of)
			{
				const char *rn = sql_jstr(sql_node(r, "RangeVar"), "relname");
				named |= rn && (!strcmp(rn, al ? al : "") || !strcmp(rn, sql_jstr(k, "relname")));
			}
			if (named)
				lock_rv(c, k, LM_RS);
		} else if (cJSON_IsObject(k) || cJSON_IsArray(k)) {
			lock_for_update(c, k, of);
		}
	}
}

/* The FOR UPDATE/SHARE clauses of SELECT n. */
static void select_locking(struct ctx *c, const cJSON *n)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, sql_jget(n, "lockingClause"))
	{
		const cJSON *lr = sql_jget(sql_node(it, "LockingClause"), "lockedRels");
		lock_for_update(c, sql_jget(n, "fromClause"), lr);
	}
}

/* SELECT: ACCESS SHARE on what it reads, ROW SHARE with FOR UPDATE/SHARE,
 * and a new table with SELECT INTO. */
static void do_select(struct ctx *c, const cJSON *n)
{
	lock_query_reads(c, n);
	select_locking(c, n);
	const cJSON *into = sql_jget(n, "intoClause");
	if (into) {
		char *q = rv_qname(c, sql_jget(into, "rel"));
		effect_lock(c->e, q, LM_AE);
		add_unique(&c->e->created, q);
		free(q);
	}
	c->e->work = W_SCAN;
	c->e->work_rows = -1;
}

/* ---- session settings that change what a statement does ---- */

/* timestamp -> timestamptz is free only when the session TimeZone is UTC;
 * a migration that sets another zone makes it a rewrite. */
static bool session_tz_utc = true;

void locks_reset(void)
{
	session_tz_utc = true;
}

static void do_set(struct ctx *c, const cJSON *n)
{
	const char *name = sql_jstr(n, "name");
	const char *v = sql_jstr(sql_jget(sql_node(cJSON_GetArrayItem(sql_jget(n, "args"), 0), "A_Const"), "sval"), "sval");
	(void)c;
	if (name && !strcmp(name, "timezone"))
		session_tz_utc = !v || !strcasecmp(v, "UTC") || !strcasecmp(v, "Etc/UTC") || !strcasecmp(v, "GMT") ||
				 !strcasecmp(v, "Z") || !strcasecmp(v, "Etc/GMT");
}

/* ---- volatility and type changes ---- */

/* Functions a default may call without forcing a rewrite (not volatile). */
static bool stable_function(const char *name)
{
	static const char *const names[] = {
		"now",
		"transaction_timestamp",
		"statement_timestamp",
		"current_date",
		"current_time",
		"localtimestamp",
		"lower",
		"upper",
		"coalesce",
		"length",
		"char_length",
		"concat",
		"to_timestamp",
		"to_date",
		"to_char",
		"make_date",
		"make_timestamp",
		"make_timestamptz",
		"make_interval",
		"jsonb_build_object",
		"json_build_object",
		"jsonb_build_array",
		"json_build_array",
		"array_fill",
		"date_trunc",
		"abs",
		"round",
		"greatest",
		"least",
		"nullif",
		"md5",
		"current_setting",
		"current_user",
		"current_schema",
		"timezone",
		"int4",
		"int8",
		"numeric",
		"text",
		"btrim",
		"trim",
		"replace",
		"substring",
		"age",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

/* Is a default expression volatile (PostgreSQL must evaluate it per row,
 * rewriting the table)? Unknown functions count as volatile. */
static bool is_volatile(const cJSON *e)
{
	const char *type = sql_node_type(e);
	const cJSON *n = type ? e->child : NULL;
	if (!type)
		return false;
	if (!strcmp(type, "A_Const") || !strcmp(type, "SQLValueFunction") || !strcmp(type, "ParamRef"))
		return false;
	if (!strcmp(type, "TypeCast") || !strcmp(type, "CollateClause"))
		return is_volatile(sql_jget(n, "arg"));
	if (!strcmp(type, "A_Expr"))
		return is_volatile(sql_jget(n, "lexpr")) || is_volatile(sql_jget(n, "rexpr"));
	if (!strcmp(type, "A_ArrayExpr") || !strcmp(type, "List") || !strcmp(type, "CoalesceExpr") ||
	    !strcmp(type, "BoolExpr")) {
		const cJSON *list = sql_jget(n, "elements") ? sql_jget(n, "elements")
				    : sql_jget(n, "items")  ? sql_jget(n, "items")
							    : sql_jget(n, "args");
		const cJSON *it;
		cJSON_ArrayForEach(it, list) if (is_volatile(it)) return true;
		return false;
	}
	if (!strcmp(type, "FuncCall")) {
		const cJSON *last = NULL, *it;
		cJSON_ArrayForEach(it, sql_jget(n, "funcname")) last = it;
		if (!sql_strval(last) || !stable_function(sql_strval(last)))
			return true;
		cJSON_ArrayForEach(it, sql_jget(n, "args")) if (is_volatile(it)) return true;
		return false;
	}
	return true;
}

/* Split "name(args) suffix" spellings: base name and the first typmod. */
static void type_parts(const char *t, char *base, size_t cap, long *mod1, long *mod2)
{
	const char *p = strchr(t, '(');
	size_t n = p ? (size_t)(p - t) : strlen(t);
	*mod1 = *mod2 = -1;
	if (p) {
		char *end;
		*mod1 = strtol(p + 1, &end, 10);
		if (*end == ',')
			*mod2 = strtol(end + 1, NULL, 10);
		const char *close = strchr(p, ')');
		snprintf(base, cap, "%.*s%s", (int)n, t, close ? close + 1 : "");
	} else {
		snprintf(base, cap, "%s", t);
	}
}

/* Does changing a column from type `from` to `to` (format_type spellings)
 * leave the stored bytes as they are? (binary-coercible, or a relaxed
 * length/precision; the list of strong_migrations' change_type_safe? and
 * PostgreSQL's ATColumnChangeRequiresRewrite). */
static bool type_change_is_free(const char *from, const char *to)
{
	char fb[128], tb[128];
	long f1, f2, t1, t2;
	if (!strcmp(from, to))
		return true;
	type_parts(from, fb, sizeof fb, &f1, &f2);
	type_parts(to, tb, sizeof tb, &t1, &t2);
	bool fvar = !strcmp(fb, "character varying"), tvar = !strcmp(tb, "character varying");
	if ((fvar || !strcmp(fb, "text")) && (!strcmp(tb, "text") || (tvar && t1 < 0)))
		return true;
	if (fvar && tvar && t1 >= f1)
		return true;
	if (!strcmp(fb, "numeric") && !strcmp(tb, "numeric"))
		return t1 < 0 || (f1 >= 0 && t1 >= f1 && t2 == f2);
	if (!strcmp(fb, tb) && (strstr(fb, "timestamp") || strstr(fb, "time") || !strcmp(fb, "interval")))
		return t1 < 0 || (f1 >= 0 && t1 >= f1);
	if (!strcmp(fb, "bit varying") && !strcmp(tb, "bit varying"))
		return t1 < 0 || (f1 >= 0 && t1 >= f1);
	if (!strcmp(from, "cidr") && !strcmp(to, "inet"))
		return true;
	/* binary-coercible when the session TimeZone is UTC (the usual server setting) */
	if (!strncmp(fb, "timestamp", 9) && !strncmp(tb, "timestamp", 9) && (t1 < 0 || t1 >= f1))
		return session_tz_utc;
	return false;
}

/* Is the USING expression of a type change just the column (maybe cast)? */
static bool using_is_plain(const cJSON *using, const char *col)
{
	if (!using)
		return true;
	const cJSON *cast = sql_node(using, "TypeCast");
	const cJSON *ref = sql_node(cast ? sql_jget(cast, "arg") : using, "ColumnRef");
	struct strv f = STRV_INIT;
	sql_name_list(sql_jget(ref, "fields"), &f);
	bool plain = f.n && !strcmp(f.v[f.n - 1], col);
	strv_release(&f);
	return plain;
}

/* A validated CHECK (col IS NOT NULL) on the table proves SET NOT NULL
 * needs no scan (PostgreSQL 12+). */
static bool has_not_null_check(const struct catalog *cat, const char *table, const char *col)
{
	for (size_t i = 0; i < cat->nchecks; i++) {
		const struct cat_check *ck = cat->checks[i];
		if (strcmp(ck->table, table) || !ck->validated)
			continue;
		char buf[512];
		size_t k = 0;
		for (const char *p = ck->expression; *p && k + 1 < sizeof buf; p++)
			if (*p != '(' && *p != ')' && *p != '"')
				buf[k++] = *p;
		buf[k] = '\0';
		char *want = xasprintf("%s IS NOT NULL", col);
		bool match = !strcasecmp(buf, want);
		free(want);
		if (match)
			return true;
	}
	return false;
}

/* ---- ALTER TABLE ---- */

/* AlterTableGetLockLevel (PostgreSQL 15) for the subcommands that take less
 * than ACCESS EXCLUSIVE. */
static enum lockmode at_level(const char *sub, const cJSON *cmd)
{
	static const char *const sue[] = {
		"AT_SetStatistics",
		"AT_ClusterOn",
		"AT_DropCluster",
		"AT_SetOptions",
		"AT_ResetOptions",
		"AT_SetRelOptions",
		"AT_ResetRelOptions",
		"AT_ValidateConstraint",
		"AT_AttachPartition",
		"AT_DetachPartitionFinalize",
	};
	static const char *const sre[] = {
		"AT_EnableTrig",
		"AT_EnableAlwaysTrig",
		"AT_EnableReplicaTrig",
		"AT_EnableTrigAll",
		"AT_EnableTrigUser",
		"AT_DisableTrig",
		"AT_DisableTrigAll",
		"AT_DisableTrigUser",
	};
	for (size_t i = 0; i < sizeof(sue) / sizeof(*sue); i++)
		if (!strcmp(sub, sue[i]))
			return LM_SUE;
	for (size_t i = 0; i < sizeof(sre) / sizeof(*sre); i++)
		if (!strcmp(sub, sre[i]))
			return LM_SRE;
	if (!strcmp(sub, "AT_DetachPartition") && sql_jbool(sql_node(sql_jget(cmd, "def"), "PartitionCmd"), "concurrent"))
		return LM_SUE;
	if (!strcmp(sub, "AT_AddConstraint")) {
		const char *ct = sql_jstr(sql_node(sql_jget(cmd, "def"), "Constraint"), "contype");
		if (ct && !strcmp(ct, "CONSTR_FOREIGN"))
			return LM_SRE;
	}
	return LM_AE;
}

static void add_fk(struct ctx *c, const char *table, const cJSON *con)
{
	char *ref = rv_qname(c, sql_jget(con, "pktable"));
	effect_lock(c->e, ref, LM_SRE);
	if (!sql_jbool(con, "skip_validation") && table_rows(c->cat, table) != 0 &&
	    strv_index(&c->e->created, table) < 0) {
		scan(c, table, W_SCAN);
		effect_lock(c->e, ref, LM_AS);
	}
	free(ref);
}

static void add_constraint(struct ctx *c, struct cat_table *t, const cJSON *con)
{
	const char *ct = sql_jstr(con, "contype");
	if (!ct)
		return;
	if (!strcmp(ct, "CONSTR_FOREIGN")) {
		add_fk(c, t->qname, con);
	} else if (!strcmp(ct, "CONSTR_CHECK")) {
		if (!sql_jbool(con, "skip_validation"))
			scan(c, t->qname, W_SCAN);
	} else if (!strcmp(ct, "CONSTR_PRIMARY") || !strcmp(ct, "CONSTR_UNIQUE") ||
		   !strcmp(ct, "CONSTR_EXCLUSION")) {
		if (!sql_jstr(con, "indexname")) {
			scan(c, t->qname, W_INDEX);
		} else if (!strcmp(ct, "CONSTR_PRIMARY")) {
			/* USING INDEX: a PK over nullable columns runs SET NOT NULL */
			struct cat_index *ix = catalog_index(c->cat, t->schema, sql_jstr(con, "indexname"));
			for (size_t i = 0; ix && i < ix->columns.n; i++) {
				struct cat_column *col = table_column(t, ix->columns.v[i]);
				if (col && col->nullable)
					scan(c, t->qname, W_SCAN);
			}
		}
	}
}

/* The domain a type spelling names, when it has constraints. */
static const struct cat_domain *constrained_domain(const struct ctx *c, const char *type)
{
	const struct cat_domain *d = catalog_domain_of_type(c->cat, type);
	if (!d && c->search && strcmp(c->search, "public") && !strchr(type, '.')) {
		char *q = cat_type_name(c->search, type, false); /* unqualified: search_path first */
		d = catalog_domain_of_type(c->cat, q);
		free(q);
	}
	return d && domain_has_constraints(d) ? d : NULL;
}

/* ADD COLUMN: a volatile default rewrites; so does a domain type with
 * constraints (ATExecAddColumn: DomainHasConstraints), every row being
 * checked against them. */
static void add_column(struct ctx *c, struct cat_table *t, const cJSON *cd)
{
	const cJSON *cc;
	bool notnull = false, has_default = false, volatile_default = false;
	const char *serial = NULL;
	char *type = sql_format_type(sql_jget(cd, "typeName"), &serial);
	if (constrained_domain(c, type)) {
		volatile_default = true;
		scan(c, t->qname, W_SCAN);
	}
	free(type);
	if (serial)
		volatile_default = has_default = true;
	cJSON_ArrayForEach(cc, sql_jget(cd, "constraints"))
	{
		const cJSON *con = sql_node(cc, "Constraint");
		const char *ct = sql_jstr(con, "contype");
		if (!ct)
			continue;
		if (!strcmp(ct, "CONSTR_NOTNULL") || !strcmp(ct, "CONSTR_PRIMARY"))
			notnull = true;
		if (!strcmp(ct, "CONSTR_DEFAULT") && !sql_node(sql_jget(con, "raw_expr"), "A_Const")) {
			has_default = true;
			volatile_default |= is_volatile(sql_jget(con, "raw_expr")) || c->o->pg_version < 11;
		} else if (!strcmp(ct, "CONSTR_DEFAULT")) {
			has_default = !sql_jbool(sql_node(sql_jget(con, "raw_expr"), "A_Const"), "isnull");
			volatile_default |= has_default && c->o->pg_version < 11;
		}
		if (!strcmp(ct, "CONSTR_IDENTITY") || !strcmp(ct, "CONSTR_GENERATED"))
			volatile_default = has_default = true;
		if (!strcmp(ct, "CONSTR_FOREIGN")) {
			char *ref = rv_qname(c, sql_jget(con, "pktable"));
			effect_lock(c->e, ref, LM_SRE);
			free(ref);
		}
		if (!strcmp(ct, "CONSTR_UNIQUE") || !strcmp(ct, "CONSTR_PRIMARY") || !strcmp(ct, "CONSTR_CHECK"))
			scan(c, t->qname, !strcmp(ct, "CONSTR_CHECK") ? W_SCAN : W_INDEX);
	}
	if (volatile_default)
		rewrite(c, t->qname);
	else if (notnull && !has_default)
		scan(c, t->qname, W_SCAN);
}

static void alter_type(struct ctx *c, struct cat_table *t, const cJSON *cmd)
{
	const char *col = sql_jstr(cmd, "name");
	const cJSON *cd = sql_node(sql_jget(cmd, "def"), "ColumnDef");
	struct cat_column *old = table_column(t, col);
	char *to = sql_format_type(sql_jget(cd, "typeName"), NULL);
	const struct cat_domain *dom = catalog_domain_of_type(c->cat, to);
	const char *base = dom && !domain_has_constraints(dom) ? dom->base_type : to;
	bool free_change = old && !constrained_domain(c, to) && type_change_is_free(old->type, base) &&
			   using_is_plain(sql_jget(cd, "raw_default"), col);
	for (size_t i = 0; i < c->cat->nfks; i++) { /* a foreign key over the column is rebuilt */
		struct cat_fk *fk = c->cat->fks[i];
		if (!strcmp(fk->table, t->qname) && strv_index(&fk->columns, col) >= 0)
			effect_lock(c->e, fk->ref_table, LM_AE);
		if (!strcmp(fk->ref_table, t->qname) && strv_index(&fk->ref_columns, col) >= 0)
			effect_lock(c->e, fk->table, LM_AE);
	}
	if (!free_change)
		rewrite(c, t->qname);
	else /* validated CHECKs over the column are re-checked: a scan */
		for (size_t i = 0; i < c->cat->nchecks; i++)
			if (!strcmp(c->cat->checks[i]->table, t->qname) && c->cat->checks[i]->validated &&
			    strstr(c->cat->checks[i]->expression, col))
				scan(c, t->qname, W_SCAN);
	free(to);
}

static void drop_constraint(struct ctx *c, struct cat_table *t, const char *name, bool cascade)
{
	struct cat_fk *fk = catalog_fk(c->cat, t->qname, name);
	if (fk)
		effect_lock(c->e, fk->ref_table, LM_AE);
	for (size_t i = 0; cascade && i < c->cat->nindexes; i++) { /* keys that reference its index go too */
		struct cat_index *ix = c->cat->indexes[i];
		if (!ix->constraint || strcmp(ix->constraint, name) || strcmp(ix->table, t->qname))
			continue;
		for (size_t k = 0; k < c->cat->nfks; k++)
			if (!strcmp(c->cat->fks[k]->ref_table, t->qname) && strv_equal(&c->cat->fks[k]->ref_columns, &ix->columns))
				effect_lock(c->e, c->cat->fks[k]->table, LM_AE);
	}
}

static void attach_partition(struct ctx *c, struct cat_table *parent, const cJSON *cmd)
{
	const cJSON *pc = sql_node(sql_jget(cmd, "def"), "PartitionCmd");
	char *part = rv_qname(c, sql_jget(pc, "name"));
	effect_lock(c->e, part, LM_AE);
	scan(c, part, W_SCAN);
	for (size_t i = 0; i < c->cat->nfks; i++) /* keys referencing the parent get triggers on it */
		if (!strcmp(c->cat->fks[i]->ref_table, parent->qname))
			effect_lock(c->e, c->cat->fks[i]->table, LM_SRE);
	for (size_t i = 0; i < c->cat->ntables; i++) { /* the default partition is scanned too */
		struct cat_table *p = c->cat->tables[i];
		if (p->partition_of && !strcmp(p->partition_of, parent->qname) && strstr(p->name, "default"))
			effect_lock(c->e, p->qname, LM_AE);
	}
	free(part);
}

static void detach_partition(struct ctx *c, struct cat_table *parent, const cJSON *cmd)
{
	const cJSON *pc = sql_node(sql_jget(cmd, "def"), "PartitionCmd");
	bool conc = sql_jbool(pc, "concurrent");
	lock_rv(c, sql_jget(pc, "name"), LM_AE);
	if (conc)
		c->e->notx = true;
	else if (default_partition(c, parent->qname))
		effect_lock(c->e, default_partition(c, parent->qname), LM_AE);
	for (size_t i = 0; i < c->cat->nfks; i++) /* their triggers go; they are checked against it */
		if (!strcmp(c->cat->fks[i]->ref_table, parent->qname)) {
			effect_lock(c->e, c->cat->fks[i]->table, LM_AE);
			scan(c, c->cat->fks[i]->table, W_SCAN);
			char *part = rv_qname(c, sql_jget(pc, "name"));
			scan(c, part, W_SCAN);
			free(part);
		}
}

/* Storage parameters that need ACCESS EXCLUSIVE (the rest take SHARE
 * UPDATE EXCLUSIVE). */
static bool reloptions_need_ae(const cJSON *def)
{
	const cJSON *it, *list = sql_node(def, "List") ? sql_jget(sql_node(def, "List"), "items") : def;
	cJSON_ArrayForEach(it, list)
	{
		const char *n = sql_jstr(sql_node(it, "DefElem"), "defname");
		if (n && !strcmp(n, "user_catalog_table"))
			return true;
	}
	return false;
}

static bool is_free_storage_change(const struct cat_table *t, const char *sub, const cJSON *cmd)
{
	const char *name = sql_jstr(cmd, "name");
	if (!strcmp(sub, "AT_SetLogged"))
		return !t->unlogged;
	if (!strcmp(sub, "AT_SetUnLogged"))
		return t->unlogged;
	if (!strcmp(sub, "AT_SetTableSpace"))
		return name && !strcmp(name, "pg_default");
	if (!strcmp(sub, "AT_SetAccessMethod"))
		return name && !strcmp(name, "heap");
	return false;
}

static bool cascade_of(const cJSON *cmd)
{
	const char *b = sql_jstr(cmd, "behavior");
	return b && strstr(b, "CASCADE");
}

/* DROP COLUMN: the foreign keys over it go (ACCESS EXCLUSIVE on the other
 * table), and with CASCADE the keys referencing it and the views on it. */
static void drop_column(struct ctx *c, struct cat_table *t, const char *col, bool cascade)
{
	c->e->destroys = true;
	for (size_t i = 0; i < c->cat->nfks; i++) {
		struct cat_fk *fk = c->cat->fks[i];
		if (!strcmp(fk->table, t->qname) && strv_index(&fk->columns, col) >= 0)
			effect_lock(c->e, fk->ref_table, LM_AE);
		if (cascade && !strcmp(fk->ref_table, t->qname) && strv_index(&fk->ref_columns, col) >= 0)
			effect_lock(c->e, fk->table, LM_AE);
	}
	for (size_t i = 0; cascade && i < c->cat->nviews; i++) {
		struct cat_view *v = c->cat->views[i];
		if (strv_index(&v->depends_on, t->qname) >= 0 && (!v->definition || strstr(v->definition, col)))
			effect_lock(c->e, v->qname, LM_AE);
	}
}

static void at_cmd(struct ctx *c, struct cat_table *t, const cJSON *cmd, bool inh)
{
	const char *sub = sql_jstr(cmd, "subtype");
	if (!sub)
		return;
	const cJSON *def = sql_jget(cmd, "def");
	enum lockmode lvl = at_level(sub, cmd);
	if (!strcmp(sub, "AT_SetRelOptions") && reloptions_need_ae(def))
		lvl = LM_AE;
	bool part_cmd = !strcmp(sub, "AT_AttachPartition") || !strcmp(sub, "AT_DetachPartition");
	if (inh && !part_cmd)
		lock_tree(c, t->qname, lvl);
	else
		effect_lock(c->e, t->qname, lvl);
	if (!strcmp(sub, "AT_AddColumn"))
		add_column(c, t, sql_node(def, "ColumnDef"));
	else if (!strcmp(sub, "AT_AddConstraint"))
		add_constraint(c, t, sql_node(def, "Constraint"));
	else if (!strcmp(sub, "AT_AlterColumnType"))
		alter_type(c, t, cmd);
	else if (!strcmp(sub, "AT_SetNotNull")) {
		if (c->o->pg_version < 12 || !has_not_null_check(c->cat, t->qname, sql_jstr(cmd, "name")))
			scan(c, t->qname, W_SCAN);
	} else if (!strcmp(sub, "AT_ValidateConstraint")) {
		struct cat_fk *fk = catalog_fk(c->cat, t->qname, sql_jstr(cmd, "name"));
		struct cat_check *ck = catalog_check(c->cat, t->qname, sql_jstr(cmd, "name"));
		if ((fk && !fk->validated) || (ck && !ck->validated))
			scan(c, t->qname, W_SCAN);
		if (fk && !fk->validated)
			effect_lock(c->e, fk->ref_table, LM_RS);
	} else if (!strcmp(sub, "AT_DropConstraint"))
		drop_constraint(c, t, sql_jstr(cmd, "name"), cascade_of(cmd));
	else if (!strcmp(sub, "AT_DropColumn")) {
		drop_column(c, t, sql_jstr(cmd, "name"), cascade_of(cmd));
	} else if (!strcmp(sub, "AT_SetLogged") || !strcmp(sub, "AT_SetUnLogged") ||
		   !strcmp(sub, "AT_SetAccessMethod") || !strcmp(sub, "AT_SetTableSpace")) {
		if (!is_free_storage_change(t, sub, cmd))
			rewrite(c, t->qname);
	} else if (!strcmp(sub, "AT_AttachPartition"))
		attach_partition(c, t, cmd);
	else if (!strcmp(sub, "AT_DetachPartition"))
		detach_partition(c, t, cmd);
	else if (!strcmp(sub, "AT_AddInherit") || !strcmp(sub, "AT_DropInherit"))
		lock_rv(c, sql_node(def, "RangeVar"), !strcmp(sub, "AT_AddInherit") ? LM_SUE : LM_AS);
}

static void do_alter_table(struct ctx *c, const cJSON *n)
{
	const char *ot = sql_jstr(n, "objtype");
	const cJSON *rv = sql_jget(n, "relation"), *cmd;
	if (ot && strcmp(ot, "OBJECT_TABLE")) {
		if (!strcmp(ot, "OBJECT_VIEW") || !strcmp(ot, "OBJECT_MATVIEW"))
			lock_rv(c, rv, LM_AE);
		else if (!strcmp(ot, "OBJECT_INDEX"))
			c->e->work = W_META;
		return;
	}
	struct cat_table *t = rv_table(c, rv);
	if (!t) {
		lock_rv(c, rv, LM_AE);
		return;
	}
	bool inh = !sql_jget(rv, "inh") || sql_jbool(rv, "inh");
	cJSON_ArrayForEach(cmd, sql_jget(n, "cmds")) at_cmd(c, t, sql_node(cmd, "AlterTableCmd"), inh);
}

/* ---- other statements ---- */

static void do_create_table(struct ctx *c, const cJSON *n)
{
	const cJSON *rv = sql_jget(n, "relation"), *e, *cc;
	char *q = rv_qname(c, rv);
	effect_lock(c->e, q, LM_AE);
	add_unique(&c->e->created, q);
	free(q);
	const cJSON *inh = sql_jget(n, "inhRelations");
	if (cJSON_GetArraySize(inh) > 0) { /* PARTITION OF (and its default partition) / INHERITS */
		const cJSON *parent = sql_node(inh->child, "RangeVar");
		lock_rv(c, parent, sql_jget(n, "partbound") ? LM_AE : LM_SUE);
		char *pq = rv_qname(c, parent);
		if (sql_jget(n, "partbound") && default_partition(c, pq)) {
			effect_lock(c->e, default_partition(c, pq), LM_AE); /* rows moving out of it? a scan */
			scan(c, default_partition(c, pq), W_SCAN);
		}
		free(pq);
	}
	cJSON_ArrayForEach(e, sql_jget(n, "tableElts"))
	{
		const cJSON *con = sql_node(e, "Constraint"), *cd = sql_node(e, "ColumnDef");
		const cJSON *like = sql_node(e, "TableLikeClause");
		if (like)
			lock_rv(c, sql_jget(like, "relation"), LM_AS);
		if (con && sql_jstr(con, "contype") && !strcmp(sql_jstr(con, "contype"), "CONSTR_FOREIGN"))
			lock_rv(c, sql_jget(con, "pktable"), LM_SRE);
		cJSON_ArrayForEach(cc, sql_jget(cd, "constraints"))
		{
			const cJSON *k = sql_node(cc, "Constraint");
			if (sql_jstr(k, "contype") && !strcmp(sql_jstr(k, "contype"), "CONSTR_FOREIGN"))
				lock_rv(c, sql_jget(k, "pktable"), LM_SRE);
		}
	}
}

static void do_create_table_as(struct ctx *c, const cJSON *n)
{
	const cJSON *into = sql_jget(n, "into");
	char *q = rv_qname(c, sql_jget(into, "rel"));
	lock_query_reads(c, sql_jget(n, "query"));
	effect_lock(c->e, q, LM_AE);
	add_unique(&c->e->created, q);
	c->e->work = W_SCAN;
	free(q);
}

/* CREATE INDEX: SHARE (writes wait) for the build, SHARE UPDATE EXCLUSIVE
 * with CONCURRENTLY; on a partitioned table, every partition too. */
static void do_index(struct ctx *c, const cJSON *n)
{
	bool conc = sql_jbool(n, "concurrent");
	enum lockmode m = conc ? LM_SUE : LM_S;
	const cJSON *rv = sql_jget(n, "relation");
	char *q = rv_qname(c, rv);
	c->e->notx = conc;
	if (conc && is_partitioned(c, q)) { /* refused before any lock is taken */
		free(q);
		return;
	}
	bool only = !sql_jbool(rv, "inh");
	if (!only)
		lock_tree(c, q, m);
	else /* ON ONLY */
		effect_lock(c->e, q, m);
	if (strv_index(&c->e->created, q) < 0 && !(only && is_partitioned(c, q)))
		scan(c, q, W_INDEX);
	free(q);
}

static void names_of(const cJSON *obj, struct strv *names)
{
	if (sql_node(obj, "List"))
		sql_name_list(sql_jget(sql_node(obj, "List"), "items"), names);
	else if (sql_node(obj, "TypeName"))
		sql_name_list(sql_jget(sql_node(obj, "TypeName"), "names"), names);
	else if (sql_strval(obj))
		strv_push(names, sql_strval(obj));
}

static struct cat_table *table_by_names(const struct ctx *c, const struct strv *nm, size_t len)
{
	if (len == 0)
		return NULL;
	return find_table(c, len > 1 ? nm->v[len - 2] : NULL, nm->v[len - 1]);
}

/* DROP TABLE: ACCESS EXCLUSIVE on it, on the tables its foreign keys
 * reference, and (CASCADE) on tables whose keys reference it and views. */
static bool referenced_by_others(const struct ctx *c, const char *table)
{
	for (size_t i = 0; i < c->cat->nfks; i++)
		if (!strcmp(c->cat->fks[i]->ref_table, table) && strcmp(c->cat->fks[i]->table, table))
			return true;
	return false;
}

static void drop_table(struct ctx *c, struct cat_table *t, bool cascade)
{
	lock_tree(c, t->qname, LM_AE);
	c->e->destroys = true;
	if (!cascade && referenced_by_others(c, t->qname))
		return; /* refused: other objects depend on it */
	for (size_t i = 0; i < c->cat->nfks; i++) {
		struct cat_fk *fk = c->cat->fks[i];
		if (!strcmp(fk->table, t->qname))
			effect_lock(c->e, fk->ref_table, LM_AE);
		if (cascade && !strcmp(fk->ref_table, t->qname))
			effect_lock(c->e, fk->table, LM_AE);
	}
	for (size_t i = 0; cascade && i < c->cat->nviews; i++)
		if (strv_index(&c->cat->views[i]->depends_on, t->qname) >= 0)
			effect_lock(c->e, c->cat->views[i]->qname, LM_AE);
	for (size_t i = 0; i < c->cat->ntables; i++)
		if (c->cat->tables[i]->partition_of && !strcmp(c->cat->tables[i]->partition_of, t->qname))
			effect_lock(c->e, c->cat->tables[i]->qname, LM_AE);
}

static void drop_object(struct ctx *c, const char *rt, const struct strv *nm, bool cascade, bool conc)
{
	if (!strcmp(rt, "OBJECT_TABLE")) {
		struct cat_table *t = table_by_names(c, nm, nm->n);
		if (t)
			drop_table(c, t, cascade);
	} else if (!strcmp(rt, "OBJECT_VIEW") || !strcmp(rt, "OBJECT_MATVIEW")) {
		const char *schema = nm->n > 1 ? nm->v[nm->n - 2] : c->search;
		struct cat_view *v = catalog_view(c->cat, schema, nm->v[nm->n - 1]);
		if (v)
			effect_lock(c->e, v->qname, LM_AE);
		c->e->destroys |= v && v->materialized;
	} else if (!strcmp(rt, "OBJECT_INDEX")) {
		const char *schema = nm->n > 1 ? nm->v[nm->n - 2] : c->search;
		struct cat_index *ix = catalog_index(c->cat, schema, nm->v[nm->n - 1]);
		if (!ix && nm->n == 1)
			ix = catalog_index(c->cat, "public", nm->v[0]);
		if (ix)
			lock_tree(c, ix->table, conc ? LM_SUE : LM_AE);
		c->e->notx = conc;
	} else if (!strcmp(rt, "OBJECT_TRIGGER") || !strcmp(rt, "OBJECT_POLICY") || !strcmp(rt, "OBJECT_RULE")) {
		struct cat_table *t = table_by_names(c, nm, nm->n - 1);
		if (t)
			effect_lock(c->e, t->qname, LM_AE);
	} else if (!strcmp(rt, "OBJECT_TYPE") || !strcmp(rt, "OBJECT_DOMAIN")) {
		char *ty = cat_type_name(nm->n > 1 ? nm->v[nm->n - 2] : "public", nm->v[nm->n - 1], false);
		for (size_t i = 0; i < c->cat->ntables; i++) /* locked to find dependents, even when refused */
			for (size_t k = 0; k < c->cat->tables[i]->ncols; k++)
				if (!strncmp(c->cat->tables[i]->cols[k].type, ty, strlen(ty)))
					effect_lock(c->e, c->cat->tables[i]->qname, LM_AE);
		free(ty);
	} else if (!strcmp(rt, "OBJECT_SCHEMA")) {
		for (size_t i = 0; i < c->cat->ntables; i++)
			if (!strcmp(c->cat->tables[i]->schema, nm->v[0]))
				drop_table(c, c->cat->tables[i], true);
	}
}

static void do_drop(struct ctx *c, const cJSON *n)
{
	const char *rt = sql_jstr(n, "removeType"), *b = sql_jstr(n, "behavior");
	const cJSON *obj;
	if (!rt)
		return;
	cJSON_ArrayForEach(obj, sql_jget(n, "objects"))
	{
		struct strv nm = STRV_INIT;
		names_of(obj, &nm);
		if (nm.n)
			drop_object(c, rt, &nm, b && strstr(b, "CASCADE"), sql_jbool(n, "concurrent"));
		strv_release(&nm);
	}
	if (!strcmp(rt, "OBJECT_SCHEMA") || !strcmp(rt, "OBJECT_SEQUENCE"))
		c->e->destroys = true;
}

static void do_rename(struct ctx *c, const cJSON *n)
{
	const char *rt = sql_jstr(n, "renameType");
	const cJSON *rv = sql_jget(n, "relation");
	if (!rt || !rv)
		return;
	if (!strcmp(rt, "OBJECT_INDEX"))
		return; /* SHARE UPDATE EXCLUSIVE on the index only: no table lock (recorded) */
	lock_rv(c, rv, LM_AE);
}

/* TRUNCATE: ACCESS EXCLUSIVE on each table, and with CASCADE on every
 * table that references them, recursively. */
static void truncate_cascade(struct ctx *c, const char *table, struct strv *seen)
{
	if (strv_index(seen, table) >= 0)
		return;
	strv_push(seen, table);
	effect_lock(c->e, table, LM_AE);
	for (size_t i = 0; i < c->cat->nfks; i++)
		if (!strcmp(c->cat->fks[i]->ref_table, table))
			truncate_cascade(c, c->cat->fks[i]->table, seen);
}

static void do_truncate(struct ctx *c, const cJSON *n)
{
	const char *b = sql_jstr(n, "behavior");
	bool cascade = b && strstr(b, "CASCADE");
	const cJSON *it;
	struct strv seen = STRV_INIT;
	c->e->destroys = true;
	struct strv listed = STRV_INIT;
	cJSON_ArrayForEach(it, sql_jget(n, "relations"))
	{
		char *q = rv_qname(c, sql_node(it, "RangeVar"));
		if (cascade)
			truncate_cascade(c, q, &seen);
		strv_push_take(&listed, q);
	}
	bool refused = false; /* a table referenced by one not truncated with it */
	for (size_t i = 0; !cascade && i < c->cat->nfks; i++)
		refused |= strv_index(&listed, c->cat->fks[i]->ref_table) >= 0 &&
			   strv_index(&listed, c->cat->fks[i]->table) < 0;
	for (size_t i = 0; i < listed.n; i++) {
		lock_tree(c, listed.v[i], LM_AE);
		if (!refused)
			rewrite(c, listed.v[i]);
	}
	for (size_t i = 0; i < seen.n; i++)
		rewrite(c, seen.v[i]);
	c->e->work = W_META;
	strv_release(&listed);
	strv_release(&seen);
}

/* VACUUM / ANALYZE: SHARE UPDATE EXCLUSIVE; VACUUM FULL rewrites under
 * ACCESS EXCLUSIVE. Not in a transaction block (VACUUM). */
static void do_vacuum(struct ctx *c, const cJSON *n)
{
	bool full = false, is_vacuum = sql_jbool(n, "is_vacuumcmd");
	const cJSON *it;
	cJSON_ArrayForEach(it, sql_jget(n, "options"))
	{
		const char *opt = sql_jstr(sql_node(it, "DefElem"), "defname");
		if (opt && !strcmp(opt, "full"))
			full = true;
	}
	cJSON_ArrayForEach(it, sql_jget(n, "rels"))
	{
		const cJSON *rv = sql_jget(sql_node(it, "VacuumRelation"), "relation");
		char *q = rv_qname(c, rv);
		lock_tree(c, q, full ? LM_AE : LM_SUE);
		if (full)
			rewrite(c, q);
		else
			scan(c, q, W_SCAN);
		free(q);
	}
	c->e->notx = is_vacuum;
}

static void do_cluster(struct ctx *c, const cJSON *n)
{
	char *q = rv_qname(c, sql_jget(n, "relation"));
	effect_lock(c->e, q, LM_AE);
	rewrite(c, q);
	free(q);
}

static void do_refresh(struct ctx *c, const cJSON *n)
{
	const cJSON *rv = sql_jget(n, "relation");
	struct cat_view *v = rv_view(c, rv);
	bool conc = sql_jbool(n, "concurrent");
	lock_rv(c, rv, conc ? LM_E : LM_AE);
	for (size_t i = 0; v && i < v->depends_on.n; i++)
		effect_lock(c->e, v->depends_on.v[i], LM_AS);
	char *q = rv_qname(c, rv);
	if (!conc)
		add_unique(&c->e->rewrites, q);
	c->e->work = W_REWRITE;
	c->e->work_rows = -1;
	for (size_t i = 0; v && i < v->depends_on.n; i++)
		if (table_rows(c->cat, v->depends_on.v[i]) > c->e->work_rows)
			c->e->work_rows = table_rows(c->cat, v->depends_on.v[i]);
	free(q);
}

static void do_view(struct ctx *c, const cJSON *n)
{
	const cJSON *rv = sql_jget(n, "view");
	lock_query_reads(c, sql_jget(n, "query"));
	if (rv_view(c, rv))
		lock_rv(c, rv, LM_AE);
	else {
		char *q = rv_qname(c, rv);
		effect_lock(c->e, q, LM_AE);
		add_unique(&c->e->created, q);
		free(q);
	}
}

/* LOCK TABLE: the mode written (AccessExclusiveLock by default). */
static void do_lock(struct ctx *c, const cJSON *n)
{
	long mode = sql_jint(n, "mode");
	enum lockmode m = mode >= 1 && mode <= 8 ? (enum lockmode)mode : LM_AE;
	const cJSON *it;
	cJSON_ArrayForEach(it, sql_jget(n, "relations"))
	{
		const cJSON *rv = sql_node(it, "RangeVar");
		struct cat_view *v = rv_view(c, rv);
		char *q = rv_qname(c, rv);
		lock_tree(c, q, m); /* a view locks what it reads, in the same mode */
		for (size_t i = 0; v && i < v->depends_on.n; i++)
			lock_tree(c, v->depends_on.v[i], m);
		free(q);
	}
}

static void do_reindex(struct ctx *c, const cJSON *n)
{
	const char *kind = sql_jstr(n, "kind");
	bool conc = false;
	const cJSON *it;
	cJSON_ArrayForEach(it, sql_jget(n, "params"))
	{
		const char *opt = sql_jstr(sql_node(it, "DefElem"), "defname");
		conc |= opt && !strcmp(opt, "concurrently");
	}
	const cJSON *rv = sql_jget(n, "relation");
	const char *table = NULL;
	char *q = NULL;
	if (kind && !strcmp(kind, "REINDEX_OBJECT_INDEX")) {
		const char *s = sql_jstr(rv, "schemaname");
		struct cat_index *ix = catalog_index(c->cat, s ? s : c->search, sql_jstr(rv, "relname"));
		table = ix ? ix->table : NULL;
	} else if (rv) {
		q = rv_qname(c, rv);
		table = q;
	}
	if (table && kind && !strcmp(kind, "REINDEX_OBJECT_TABLE"))
		lock_tree(c, table, conc ? LM_SUE : LM_S);
	else
		effect_lock(c->e, table, conc ? LM_SUE : LM_S);
	if (table)
		scan(c, table, W_INDEX);
	c->e->notx = conc;
	free(q);
}

static void do_set_schema(struct ctx *c, const cJSON *n)
{
	const char *ot = sql_jstr(n, "objectType");
	if (ot && (!strcmp(ot, "OBJECT_TABLE") || !strcmp(ot, "OBJECT_VIEW") || !strcmp(ot, "OBJECT_MATVIEW")))
		lock_rv(c, sql_jget(n, "relation"), LM_AE);
}

static void do_comment(struct ctx *c, const cJSON *n)
{
	const char *ot = sql_jstr(n, "objtype");
	struct strv nm = STRV_INIT;
	names_of(sql_jget(n, "object"), &nm);
	size_t len = ot && !strcmp(ot, "OBJECT_COLUMN") ? nm.n - 1 : nm.n;
	if (ot && (!strcmp(ot, "OBJECT_TABLE") || !strcmp(ot, "OBJECT_COLUMN"))) {
		struct cat_table *t = table_by_names(c, &nm, len);
		if (t)
			effect_lock(c->e, t->qname, LM_SUE);
	}
	strv_release(&nm);
}

static void do_trigger(struct ctx *c, const cJSON *n)
{
	lock_rv(c, sql_jget(n, "relation"), LM_SRE);
}

static void do_policy(struct ctx *c, const cJSON *n)
{
	lock_rv(c, sql_jget(n, "table"), LM_AE);
}

static void do_stats(struct ctx *c, const cJSON *n)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, sql_jget(n, "relations"))
	{
		const cJSON *rv = sql_node(it, "RangeVar");
		if (rv)
			lock_rv(c, rv, LM_SUE);
	}
}

/* ALTER DOMAIN: every table with a column of the domain is checked
 * under SHARE. */
static void do_alter_domain(struct ctx *c, const cJSON *n)
{
	struct strv nm = STRV_INIT;
	const cJSON *con = sql_node(sql_jget(n, "def"), "Constraint");
	if (con && sql_jbool(con, "skip_validation"))
		return; /* NOT VALID: nothing is checked now */
	sql_name_list(sql_jget(n, "typeName"), &nm);
	if (nm.n) {
		char *ty = cat_type_name(nm.n > 1 ? nm.v[nm.n - 2] : "public", nm.v[nm.n - 1], false);
		for (size_t i = 0; i < c->cat->ntables; i++)
			for (size_t k = 0; k < c->cat->tables[i]->ncols; k++)
				if (!strcmp(c->cat->tables[i]->cols[k].type, ty)) {
					effect_lock(c->e, c->cat->tables[i]->qname, LM_S);
					scan(c, c->cat->tables[i]->qname, W_SCAN);
				}
		free(ty);
	}
	strv_release(&nm);
}

/* CREATE FUNCTION ... LANGUAGE sql: the body is parsed and analysed at
 * creation, reading the tables it names (ACCESS SHARE). */
static void do_create_function(struct ctx *c, const cJSON *n)
{
	const char *body = NULL, *lang = NULL;
	const cJSON *it;
	cJSON_ArrayForEach(it, sql_jget(n, "options"))
	{
		const cJSON *de = sql_node(it, "DefElem"), *arg = sql_jget(de, "arg");
		const char *dn = sql_jstr(de, "defname");
		if (dn && !strcmp(dn, "language"))
			lang = sql_strval(arg);
		if (dn && !strcmp(dn, "as"))
			body = sql_strval(cJSON_GetArrayItem(sql_jget(sql_node(arg, "List"), "items"), 0));
	}
	struct sql_script s;
	struct sql_error err;
	if (!lang || strcmp(lang, "sql") || !body || sql_parse(&s, body, &err) < 0) {
		if (lang && !strcmp(lang, "sql") && body)
			sql_error_release(&err);
		return;
	}
	for (size_t i = 0; i < s.n; i++)
		lock_query_reads(c, s.stmts[i].node);
	sql_script_release(&s);
}

static void do_unmodelled(struct ctx *c, const cJSON *n)
{
	(void)n;
	c->e->unmodelled = true;
}

static const struct form {
	const char *type;
	void (*fn)(struct ctx *, const cJSON *);
} * form_of(const char *type);

static void do_dml_node(struct ctx *c, const char *type, const cJSON *n)
{
	if (!strcmp(type, "InsertStmt"))
		do_insert(c, n);
	else if (!strcmp(type, "UpdateStmt"))
		do_update(c, n);
	else if (!strcmp(type, "DeleteStmt"))
		do_delete(c, n);
	else if (!strcmp(type, "MergeStmt"))
		do_merge(c, n);
}

static bool is_dml_type(const char *type)
{
	return !strcmp(type, "InsertStmt") || !strcmp(type, "UpdateStmt") || !strcmp(type, "DeleteStmt") ||
	       !strcmp(type, "MergeStmt");
}

/* nested: the DML that runs inside statement tree n — data-modifying WITH
 * queries at any depth, the query of COPY (...) TO, CREATE TABLE AS,
 * EXPLAIN ANALYZE — predicted as if it stood alone (the same locks,
 * foreign-key fan-out, triggers and rows), and the FOR UPDATE/SHARE of
 * subqueries and WITH queries (ROW SHARE). */
static void nested(struct ctx *c, const cJSON *n)
{
	for (const cJSON *k = n ? n->child : NULL; k; k = k->next) {
		if (k->string && cJSON_IsObject(k) && is_dml_type(k->string))
			do_dml_node(c, k->string, k);
		else if (k->string && cJSON_IsObject(k) && !strcmp(k->string, "SelectStmt"))
			select_locking(c, k);
		if (cJSON_IsObject(k) || cJSON_IsArray(k))
			nested(c, k);
	}
}

/* EXPLAIN plans its statement, taking the locks the parser takes: ACCESS
 * SHARE on what it reads, ROW EXCLUSIVE on the targets of its DML; EXPLAIN
 * ANALYZE runs it. */
static void plan_targets(struct ctx *c, const cJSON *n)
{
	for (const cJSON *k = n ? n->child : NULL; k; k = k->next) {
		if (k->string && cJSON_IsObject(k) && is_dml_type(k->string))
			lock_rv(c, sql_jget(k, "relation"), LM_RE);
		if (cJSON_IsObject(k) || cJSON_IsArray(k))
			plan_targets(c, k);
	}
}

static void do_explain(struct ctx *c, const cJSON *n)
{
	const cJSON *q = sql_jget(n, "query"), *it;
	bool analyze = false;
	cJSON_ArrayForEach(it, sql_jget(n, "options"))
	{
		const cJSON *d = sql_node(it, "DefElem");
		const char *name = sql_jstr(d, "defname");
		const cJSON *arg = sql_jget(d, "arg");
		const char *v = sql_strval(arg);
		const cJSON *b = sql_jget(sql_node(arg, "Boolean"), "boolval");
		if (name && !strcmp(name, "analyze"))
			analyze = !arg || (v && (!strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcmp(v, "1"))) ||
				  cJSON_IsTrue(b) || (sql_node(arg, "A_Const") && sql_jbool(sql_jget(sql_node(arg, "A_Const"), "boolval"), "boolval"));
	}
	const char *type = q && q->child ? q->child->string : NULL;
	if (!type)
		return;
	if (!analyze) {
		lock_query_reads(c, q);
		plan_targets(c, q);
		return;
	}
	const struct form *f = form_of(type);
	if (f)
		f->fn(c, q->child);
	nested(c, q->child);
}

/* Statement kinds whose nested DML runs with them (not CREATE FUNCTION,
 * RULE or PREPARE, which only store theirs). */
static bool runs_nested(const char *type)
{
	return is_dml_type(type) || !strcmp(type, "SelectStmt") || !strcmp(type, "CreateTableAsStmt") ||
	       !strcmp(type, "CopyStmt");
}

static const struct form *form_of(const char *type)
{
	static const struct form forms[] = {
		{"InsertStmt", do_insert},
		{"UpdateStmt", do_update},
		{"DeleteStmt", do_delete},
		{"MergeStmt", do_merge},
		{"CopyStmt", do_copy},
		{"SelectStmt", do_select},
		{"CreateStmt", do_create_table},
		{"CreateTableAsStmt", do_create_table_as},
		{"AlterTableStmt", do_alter_table},
		{"IndexStmt", do_index},
		{"DropStmt", do_drop},
		{"RenameStmt", do_rename},
		{"TruncateStmt", do_truncate},
		{"VacuumStmt", do_vacuum},
		{"ClusterStmt", do_cluster},
		{"RefreshMatViewStmt", do_refresh},
		{"ViewStmt", do_view},
		{"LockStmt", do_lock},
		{"ReindexStmt", do_reindex},
		{"AlterObjectSchemaStmt", do_set_schema},
		{"CommentStmt", do_comment},
		{"CreateTrigStmt", do_trigger},
		{"CreatePolicyStmt", do_policy},
		{"AlterPolicyStmt", do_policy},
		{"CreateStatsStmt", do_stats},
		{"DoStmt", do_unmodelled},
		{"AlterDomainStmt", do_alter_domain},
		{"CreateFunctionStmt", do_create_function},
		{"VariableSetStmt", do_set},
		{"ExplainStmt", do_explain},
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(*forms); i++)
		if (!strcmp(type, forms[i].type))
			return &forms[i];
	return NULL;
}

void locks_predict(struct catalog *cat, const struct opts *o, struct stmt *st, const char *search_schema)
{
	struct ctx c = {cat, o, st, &st->eff, search_schema, NO_DML};
	memset(&st->eff, 0, sizeof(st->eff));
	st->eff.work = W_META;
	st->eff.work_rows = -1;
	const struct form *f = form_of(st->type);
	if (f)
		f->fn(&c, st->node);
	if (runs_nested(st->type))
		nested(&c, st->node);
}
