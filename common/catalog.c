#include "catalog.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "xalloc.h"

#define NAMEDATALEN 64

#define ARR_PUSH(c, f, x)                                                     \
	do {                                                                  \
		xgrow(&(c)->f, &(c)->cap##f, (c)->n##f + 1, sizeof(*(c)->f)); \
		(c)->f[(c)->n##f++] = (x);                                    \
	} while (0)

#define ARR_REMOVE(c, f, x)                                                      \
	do {                                                                     \
		for (size_t i_ = 0; i_ < (c)->n##f; i_++)                        \
			if ((c)->f[i_] == (x)) {                                 \
				memmove((c)->f + i_, (c)->f + i_ + 1,            \
					((c)->n##f - i_ - 1) * sizeof(*(c)->f)); \
				(c)->n##f--;                                     \
				break;                                           \
			}                                                        \
	} while (0)

/* set_str: replace *dst by a copy of src (which may alias *dst). */
static void set_str(char **dst, const char *src)
{
	char *copy = src ? xstrdup(src) : NULL;
	free(*dst);
	*dst = copy;
}

/* ---- lookup indexes ----
 *
 * Names map to objects through hash maps, so that lookups stay O(1) in a
 * schema of 100,000 tables. Adders insert; removals delete; renames (and
 * catalog_touch) mark the maps stale, and the next lookup rebuilds them.
 * A hit is always checked against the object's own fields; when two objects
 * share a key (a schema name with a dot, a duplicate index name), the maps
 * are marked ambiguous and a miss is searched linearly, as before. */

struct ptrv {
	void **v;
	size_t n, cap;
};

struct cat_lookup {
	bool stale, ambiguous;
	struct strmap tables, views, enums, indexes; /* qname / ix_key → object */
	struct strmap fks;			     /* table qname → struct ptrv */
	struct strmap connames;			     /* "schema.name" of FKs and checks → how many */
};

/* KEY(buf, schema, name): "schema.name" in a stack buffer when it fits
 * (else allocated; key_free frees it). Different pairs may give the same key
 * (a schema name with a dot): hits are checked, and such collisions make
 * the maps ambiguous. */
#define KEYBUF 160
static char *key_of(char *buf, const char *schema, const char *name)
{
	size_t a = strlen(schema), b = strlen(name);
	char *k = a + b + 2 <= KEYBUF ? buf : xmalloc(a + b + 2);
	memcpy(k, schema, a);
	k[a] = '.';
	memcpy(k + a + 1, name, b + 1);
	return k;
}

static void key_free(char *buf, char *k)
{
	if (k != buf)
		free(k);
}

static void map_add(struct cat_lookup *lk, struct strmap *m, const char *key, void *obj)
{
	if (strmap_get(m, key))
		lk->ambiguous = true;
	else
		strmap_put(m, key, obj);
}

/* map_remove: obj leaves the map under key; when the maps are ambiguous,
 * the first other object of arr with the same key (same_key) takes it. */
static void map_remove(struct cat_lookup *lk, struct strmap *m, const char *key, void *obj,
		       void *const *arr, size_t n, bool (*same_key)(const void *, const void *))
{
	if (strmap_get(m, key) != obj)
		return;
	strmap_del(m, key);
	if (lk->ambiguous)
		for (size_t i = 0; i < n; i++)
			if (arr[i] != obj && same_key(arr[i], obj)) {
				strmap_put(m, key, arr[i]);
				break;
			}
}

static bool same_qname_table(const void *a, const void *b)
{
	return !strcmp(((const struct cat_table *)a)->qname, ((const struct cat_table *)b)->qname);
}

static bool same_qname_view(const void *a, const void *b)
{
	return !strcmp(((const struct cat_view *)a)->qname, ((const struct cat_view *)b)->qname);
}

static bool same_qname_enum(const void *a, const void *b)
{
	return !strcmp(((const struct cat_enum *)a)->qname, ((const struct cat_enum *)b)->qname);
}

static bool same_key_index(const void *a, const void *b)
{
	const struct cat_index *x = a, *y = b;
	char bx[KEYBUF], by[KEYBUF];
	char *kx = key_of(bx, x->schema, x->name), *ky = key_of(by, y->schema, y->name);
	bool same = !strcmp(kx, ky);
	key_free(bx, kx);
	key_free(by, ky);
	return same;
}

static void fks_add(struct strmap *m, struct cat_fk *fk)
{
	struct ptrv *pv = strmap_get(m, fk->table);
	if (!pv) {
		pv = xcalloc(1, sizeof(*pv));
		strmap_put(m, fk->table, pv);
	}
	xgrow(&pv->v, &pv->cap, pv->n + 1, sizeof(*pv->v));
	pv->v[pv->n++] = fk;
}

static void fks_release(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key) {
			struct ptrv *pv = m->slots[i].val;
			free(pv->v);
			free(pv);
		}
	strmap_release(m);
}

/* a foreign key's or check's name, counted under its table's schema (the
 * qname up to its first dot: a schema with a dot is searched linearly) */
static void conname_count(struct strmap *m, const char *table, const char *name, int by)
{
	const char *dot = strchr(table, '.');
	size_t ns = dot ? (size_t)(dot - table) : 0;
	char kb[KEYBUF], *k = ns + strlen(name) + 2 <= KEYBUF ? kb : xmalloc(ns + strlen(name) + 2);
	memcpy(k, table, ns);
	k[ns] = '.';
	strcpy(k + ns + 1, name);
	uintptr_t n = (uintptr_t)strmap_get(m, k);
	if (by < 0 && n <= 1)
		strmap_del(m, k);
	else if (by > 0 || n > 1)
		strmap_put(m, k, (void *)(n + (uintptr_t)by));
	key_free(kb, k);
}

static void lookup_clear(struct cat_lookup *lk)
{
	strmap_release(&lk->tables);
	strmap_release(&lk->views);
	strmap_release(&lk->enums);
	strmap_release(&lk->indexes);
	fks_release(&lk->fks);
	strmap_release(&lk->connames);
	lk->ambiguous = false;
}

/* lookup: the catalog's maps, rebuilt if stale. */
static struct cat_lookup *lookup(const struct catalog *c)
{
	struct cat_lookup *lk = c->lk;
	if (!lk->stale)
		return lk;
	lookup_clear(lk);
	lk->stale = false;
	for (size_t i = 0; i < c->ntables; i++)
		map_add(lk, &lk->tables, c->tables[i]->qname, c->tables[i]);
	for (size_t i = 0; i < c->nviews; i++)
		map_add(lk, &lk->views, c->views[i]->qname, c->views[i]);
	for (size_t i = 0; i < c->nenums; i++)
		map_add(lk, &lk->enums, c->enums[i]->qname, c->enums[i]);
	for (size_t i = 0; i < c->nindexes; i++) {
		char kb[KEYBUF], *k = key_of(kb, c->indexes[i]->schema, c->indexes[i]->name);
		map_add(lk, &lk->indexes, k, c->indexes[i]);
		key_free(kb, k);
	}
	for (size_t i = 0; i < c->nfks; i++) {
		fks_add(&lk->fks, c->fks[i]);
		conname_count(&lk->connames, c->fks[i]->table, c->fks[i]->name, 1);
	}
	for (size_t i = 0; i < c->nchecks; i++)
		conname_count(&lk->connames, c->checks[i]->table, c->checks[i]->name, 1);
	return lk;
}

/* live: the maps when they are up to date (to be changed in step with the
 * arrays), else NULL (the next lookup rebuilds them from the arrays). */
static struct cat_lookup *live(const struct catalog *c)
{
	return !c->lk->stale ? c->lk : NULL;
}

/* find_named: the object named schema.name among arr (n objects whose
 * char *schema and *name fields sit at the offsets given), through the map
 * at map_off in the lookup maps when the catalog has them. */
static void *find_named(const struct catalog *c, size_t map_off, void *const *arr, size_t n,
			size_t schema_off, size_t name_off, const char *schema, const char *name)
{
#define FIELD(o, off) (*(char *const *)((const char *)(o) + (off)))
	struct cat_lookup *lk = lookup(c);
	char kb[KEYBUF], *k = key_of(kb, schema, name);
	void *o = strmap_get((const struct strmap *)((const char *)lk + map_off), k);
	key_free(kb, k);
	if (o && !strcmp(FIELD(o, name_off), name) && !strcmp(FIELD(o, schema_off), schema))
		return o;
	/* a miss is final: every key present in the arrays is in the map. A
	 * hit on another object with the same key (a schema name with a dot)
	 * is searched for linearly. */
	if (!o || !lk->ambiguous)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(FIELD(arr[i], name_off), name) && !strcmp(FIELD(arr[i], schema_off), schema))
			return arr[i];
	return NULL;
#undef FIELD
}

#define FIND(c, map, T, arr, sch, nm)                                                           \
	((struct T *)find_named((c), offsetof(struct cat_lookup, map), (void *const *)(c)->arr, \
				(c)->n##arr, offsetof(struct T, schema), offsetof(struct T, name), (sch), (nm)))

void catalog_touch(struct catalog *c)
{
	c->lk->stale = true;
}

char *cat_qname(const char *schema, const char *name)
{
	return xasprintf("%s.%s", schema, name);
}

void cat_split_qname(const char *qname, char **schema, char **name)
{
	const char *dot = strchr(qname, '.');
	if (!dot) {
		*schema = xstrdup("public");
		*name = xstrdup(qname);
		return;
	}
	*schema = xstrndup(qname, (size_t)(dot - qname));
	*name = xstrdup(dot + 1);
}

void catalog_init(struct catalog *c)
{
	memset(c, 0, sizeof(*c));
	strv_push(&c->schemas, "public");
	c->lk = xcalloc(1, sizeof(*c->lk));
}

static void column_release(struct cat_column *col)
{
	free(col->name);
	free(col->type);
	free(col->def);
	free(col->identity);
	free(col->generated);
}

static void table_free(struct cat_table *t)
{
	for (size_t i = 0; i < t->ncols; i++)
		column_release(&t->cols[i]);
	free(t->cols);
	strv_release(&t->pk);
	free(t->schema);
	free(t->name);
	free(t->qname);
	free(t->pk_name);
	free(t->partition_of);
	free(t->partition_by);
	strv_release(&t->partition_key);
	free(t->partition_bound);
	cat_triggers_release(t);
	free(t);
}

static void index_free(struct cat_index *ix)
{
	free(ix->schema);
	free(ix->name);
	free(ix->table);
	strv_release(&ix->columns);
	free(ix->method);
	free(ix->predicate);
	free(ix->constraint);
	free(ix);
}

static void fk_free(struct cat_fk *fk)
{
	free(fk->name);
	free(fk->table);
	strv_release(&fk->columns);
	free(fk->ref_table);
	strv_release(&fk->ref_columns);
	free(fk->on_delete);
	free(fk->on_update);
	free(fk);
}

static void check_free(struct cat_check *ck)
{
	free(ck->name);
	free(ck->table);
	free(ck->expression);
	free(ck);
}

static void view_free(struct cat_view *v)
{
	free(v->schema);
	free(v->name);
	free(v->qname);
	strv_release(&v->depends_on);
	free(v->definition);
	free(v);
}

static void enum_free(struct cat_enum *e)
{
	free(e->schema);
	free(e->name);
	free(e->qname);
	strv_release(&e->values);
	free(e);
}

void catalog_release(struct catalog *c)
{
	for (size_t i = 0; i < c->ntables; i++)
		table_free(c->tables[i]);
	for (size_t i = 0; i < c->nindexes; i++)
		index_free(c->indexes[i]);
	for (size_t i = 0; i < c->nfks; i++)
		fk_free(c->fks[i]);
	for (size_t i = 0; i < c->nchecks; i++)
		check_free(c->checks[i]);
	for (size_t i = 0; i < c->nviews; i++)
		view_free(c->views[i]);
	for (size_t i = 0; i < c->nenums; i++)
		enum_free(c->enums[i]);
	free(c->tables);
	free(c->indexes);
	free(c->fks);
	free(c->checks);
	free(c->views);
	free(c->enums);
	cat_code_release(c);
	strv_release(&c->schemas);
	if (c->lk) {
		lookup_clear(c->lk);
		free(c->lk);
	}
	memset(c, 0, sizeof(*c));
}

/* ---- tables and columns ---- */

struct cat_table *catalog_table(const struct catalog *c, const char *schema, const char *name)
{
	return FIND(c, tables, cat_table, tables, schema, name);
}

struct cat_table *catalog_table_q(const struct catalog *c, const char *qname)
{
	struct cat_lookup *lk = lookup(c);
	struct cat_table *t = strmap_get(&lk->tables, qname);
	if (t && !strcmp(t->qname, qname))
		return t;
	if (!lk->ambiguous)
		return NULL;
	for (size_t i = 0; i < c->ntables; i++)
		if (!strcmp(c->tables[i]->qname, qname))
			return c->tables[i];
	return NULL;
}

struct cat_table *catalog_add_table(struct catalog *c, const char *schema, const char *name)
{
	if (catalog_table(c, schema, name) || catalog_view(c, schema, name))
		return NULL;
	struct cat_table *t = xcalloc(1, sizeof(*t));
	t->schema = xstrdup(schema);
	t->name = xstrdup(name);
	t->qname = cat_qname(schema, name);
	t->rows = -1;
	ARR_PUSH(c, tables, t);
	if (live(c))
		map_add(c->lk, &c->lk->tables, t->qname, t);
	return t;
}

struct cat_column *table_column(const struct cat_table *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i].name, name))
			return &t->cols[i];
	return NULL;
}

struct cat_column *table_add_column(struct cat_table *t, const char *name, const char *type)
{
	if (table_column(t, name))
		return NULL;
	xgrow(&t->cols, &t->capcols, t->ncols + 1, sizeof(*t->cols));
	struct cat_column *col = &t->cols[t->ncols++];
	memset(col, 0, sizeof(*col));
	col->name = xstrdup(name);
	col->type = xstrdup(type);
	col->nullable = true;
	return col;
}

void column_set_type(struct cat_column *col, const char *type)
{
	set_str(&col->type, type);
}

void column_set_default(struct cat_column *col, const char *def)
{
	set_str(&col->def, def);
}

void column_set_identity(struct cat_column *col, const char *identity)
{
	set_str(&col->identity, identity);
}

void column_set_generated(struct cat_column *col, const char *expr)
{
	set_str(&col->generated, expr);
}

/* Does an expression text mention column name as a whole word? Used only
 * for dependencies we cannot see in structure (index expressions, checks). */
static bool text_mentions(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = text; (p = strstr(p, name)); p += n) {
		bool left = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
		char r = p[n];
		bool right = !(isalnum((unsigned char)r) || r == '_');
		if (left && right)
			return true;
	}
	return false;
}

static void drop_dependent_views(struct catalog *c, const char *qname);

int catalog_drop_column(struct catalog *c, struct cat_table *t, const char *name, bool cascade)
{
	struct cat_column *col = table_column(t, name);
	if (!col)
		return -1;
	for (size_t i = c->nindexes; i-- > 0;) {
		struct cat_index *ix = c->indexes[i];
		if (strcmp(ix->table, t->qname))
			continue;
		bool uses = strv_index(&ix->columns, name) >= 0 ||
			    (ix->predicate && text_mentions(ix->predicate, name));
		for (size_t k = 0; !uses && k < ix->columns.n; k++)
			uses = text_mentions(ix->columns.v[k], name);
		if (uses)
			catalog_drop_index(c, ix);
	}
	for (size_t i = c->nfks; i-- > 0;) {
		struct cat_fk *fk = c->fks[i];
		if ((!strcmp(fk->table, t->qname) && strv_index(&fk->columns, name) >= 0) ||
		    (!strcmp(fk->ref_table, t->qname) && strv_index(&fk->ref_columns, name) >= 0))
			catalog_drop_fk(c, fk);
	}
	for (size_t i = c->nchecks; i-- > 0;) {
		struct cat_check *ck = c->checks[i];
		if (!strcmp(ck->table, t->qname) && text_mentions(ck->expression, name))
			catalog_drop_check(c, ck);
	}
	if (strv_index(&t->pk, name) >= 0) {
		strv_release(&t->pk);
		set_str(&t->pk_name, NULL);
	}
	if (cascade)
		for (size_t i = c->nviews; i-- > 0;) {
			struct cat_view *v = c->views[i];
			if (strv_index(&v->depends_on, t->qname) >= 0 &&
			    (!v->definition || text_mentions(v->definition, name)))
				catalog_drop_view(c, v, true);
		}
	size_t at = (size_t)(col - t->cols);
	column_release(col);
	memmove(t->cols + at, t->cols + at + 1, (t->ncols - at - 1) * sizeof(*t->cols));
	t->ncols--;
	return 0;
}

static void strv_rename(struct strv *sv, const char *from, const char *to)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], from))
			set_str(&sv->v[i], to);
}

int catalog_rename_column(struct catalog *c, struct cat_table *t, const char *from, const char *to)
{
	struct cat_column *col = table_column(t, from);
	if (!col || table_column(t, to))
		return -1;
	set_str(&col->name, to);
	strv_rename(&t->pk, from, to);
	strv_rename(&t->partition_key, from, to);
	for (size_t i = 0; i < c->nindexes; i++)
		if (!strcmp(c->indexes[i]->table, t->qname))
			strv_rename(&c->indexes[i]->columns, from, to);
	for (size_t i = 0; i < c->nfks; i++) {
		struct cat_fk *fk = c->fks[i];
		if (!strcmp(fk->table, t->qname))
			strv_rename(&fk->columns, from, to);
		if (!strcmp(fk->ref_table, t->qname))
			strv_rename(&fk->ref_columns, from, to);
	}
	return 0;
}

static void drop_dependent_views(struct catalog *c, const char *qname)
{
	for (size_t i = c->nviews; i-- > 0;) {
		if (i >= c->nviews)
			continue; /* a cascade removed several */
		struct cat_view *v = c->views[i];
		if (strv_index(&v->depends_on, qname) >= 0)
			catalog_drop_view(c, v, true);
	}
}

void catalog_drop_table(struct catalog *c, struct cat_table *t, bool cascade)
{
	for (size_t i = c->ntables; i-- > 0;) {
		if (i >= c->ntables)
			continue;
		struct cat_table *p = c->tables[i];
		if (p->partition_of && !strcmp(p->partition_of, t->qname))
			catalog_drop_table(c, p, cascade);
	}
	for (size_t i = c->nindexes; i-- > 0;)
		if (!strcmp(c->indexes[i]->table, t->qname))
			catalog_drop_index(c, c->indexes[i]);
	for (size_t i = c->nfks; i-- > 0;)
		if (!strcmp(c->fks[i]->table, t->qname) || !strcmp(c->fks[i]->ref_table, t->qname))
			catalog_drop_fk(c, c->fks[i]);
	for (size_t i = c->nchecks; i-- > 0;)
		if (!strcmp(c->checks[i]->table, t->qname))
			catalog_drop_check(c, c->checks[i]);
	if (cascade)
		drop_dependent_views(c, t->qname);
	if (live(c))
		map_remove(c->lk, &c->lk->tables, t->qname, t, (void *const *)c->tables, c->ntables,
			   same_qname_table);
	ARR_REMOVE(c, tables, t);
	table_free(t);
}

static void rename_refs(struct catalog *c, const char *from, const char *to)
{
	for (size_t i = 0; i < c->nindexes; i++)
		if (!strcmp(c->indexes[i]->table, from))
			set_str(&c->indexes[i]->table, to);
	for (size_t i = 0; i < c->nfks; i++) {
		if (!strcmp(c->fks[i]->table, from))
			set_str(&c->fks[i]->table, to);
		if (!strcmp(c->fks[i]->ref_table, from))
			set_str(&c->fks[i]->ref_table, to);
	}
	for (size_t i = 0; i < c->nchecks; i++)
		if (!strcmp(c->checks[i]->table, from))
			set_str(&c->checks[i]->table, to);
	for (size_t i = 0; i < c->nviews; i++)
		strv_rename(&c->views[i]->depends_on, from, to);
	for (size_t i = 0; i < c->ntables; i++)
		if (c->tables[i]->partition_of && !strcmp(c->tables[i]->partition_of, from))
			set_str(&c->tables[i]->partition_of, to);
	cat_code_rename_refs(c, from, to);
}

void catalog_rename_table(struct catalog *c, struct cat_table *t, const char *schema, const char *name)
{
	/* schema and name may alias t's own strings: copy them first */
	char *old = xstrdup(t->qname), *s = xstrdup(schema), *n = xstrdup(name);
	bool moved = strcmp(s, t->schema) != 0;
	struct cat_lookup *lk = live(c);
	if (lk)
		map_remove(lk, &lk->tables, old, t, (void *const *)c->tables, c->ntables, same_qname_table);
	set_str(&t->schema, s);
	set_str(&t->name, n);
	free(t->qname);
	t->qname = cat_qname(s, n);
	rename_refs(c, old, t->qname);
	if (lk && !moved && !strmap_get(&lk->fks, t->qname)) {
		/* in step: the table under its new name, its foreign keys too */
		map_add(lk, &lk->tables, t->qname, t);
		struct ptrv *pv = strmap_del(&lk->fks, old);
		if (pv)
			strmap_put(&lk->fks, t->qname, pv);
	} else {
		catalog_touch(c); /* the indexes changed schema: rebuild */
	}
	if (moved)
		for (size_t i = 0; i < c->nindexes; i++)
			if (!strcmp(c->indexes[i]->table, t->qname))
				set_str(&c->indexes[i]->schema, s);
	free(old);
	free(s);
	free(n);
}

/* ---- indexes ---- */

struct cat_index *catalog_index(const struct catalog *c, const char *schema, const char *name)
{
	return FIND(c, indexes, cat_index, indexes, schema, name);
}

struct cat_index *catalog_add_index(struct catalog *c, const char *schema, const char *name,
				    const char *table)
{
	struct cat_index *ix = xcalloc(1, sizeof(*ix));
	ix->schema = xstrdup(schema);
	ix->name = xstrdup(name);
	ix->table = xstrdup(table);
	ix->method = xstrdup("btree");
	ARR_PUSH(c, indexes, ix);
	if (live(c)) {
		char kb[KEYBUF], *k = key_of(kb, schema, name);
		map_add(c->lk, &c->lk->indexes, k, ix);
		key_free(kb, k);
	}
	return ix;
}

void catalog_drop_index(struct catalog *c, struct cat_index *ix)
{
	if (ix->primary) {
		struct cat_table *t = catalog_table_q(c, ix->table);
		if (t) {
			strv_release(&t->pk);
			set_str(&t->pk_name, NULL);
		}
	}
	if (live(c)) {
		char kb[KEYBUF], *k = key_of(kb, ix->schema, ix->name);
		map_remove(c->lk, &c->lk->indexes, k, ix, (void *const *)c->indexes, c->nindexes,
			   same_key_index);
		key_free(kb, k);
	}
	ARR_REMOVE(c, indexes, ix);
	index_free(ix);
}

/* Renames that keep the lookup maps in step (the old key out, the new in). */
void catalog_rename_index(struct catalog *c, struct cat_index *ix, const char *name)
{
	struct cat_lookup *lk = live(c);
	char kb[KEYBUF], *k;
	if (lk) {
		k = key_of(kb, ix->schema, ix->name);
		map_remove(lk, &lk->indexes, k, ix, (void *const *)c->indexes, c->nindexes, same_key_index);
		key_free(kb, k);
	}
	set_str(&ix->name, name); /* copies first: name may be ix->name */
	if (lk) {
		k = key_of(kb, ix->schema, ix->name);
		map_add(lk, &lk->indexes, k, ix);
		key_free(kb, k);
	}
}

void catalog_rename_view(struct catalog *c, struct cat_view *v, const char *name)
{
	struct cat_lookup *lk = live(c);
	if (lk)
		map_remove(lk, &lk->views, v->qname, v, (void *const *)c->views, c->nviews, same_qname_view);
	set_str(&v->name, name);
	free(v->qname);
	v->qname = cat_qname(v->schema, v->name);
	if (lk)
		map_add(lk, &lk->views, v->qname, v);
}

void catalog_rename_enum(struct catalog *c, struct cat_enum *e, const char *schema, const char *name)
{
	char *s = xstrdup(schema), *n = xstrdup(name);
	struct cat_lookup *lk = live(c);
	if (lk)
		map_remove(lk, &lk->enums, e->qname, e, (void *const *)c->enums, c->nenums, same_qname_enum);
	set_str(&e->schema, s);
	set_str(&e->name, n);
	free(s);
	free(n);
	free(e->qname);
	e->qname = cat_qname(e->schema, e->name);
	if (lk)
		map_add(lk, &lk->enums, e->qname, e);
}

/* a constraint of table renamed: its name counted under the new one */
static void rename_constraint(struct catalog *c, const char *table, char **field, const char *name)
{
	struct cat_lookup *lk = live(c);
	if (lk)
		conname_count(&lk->connames, table, *field, -1);
	set_str(field, name);
	if (lk)
		conname_count(&lk->connames, table, *field, 1);
}

void catalog_rename_fk(struct catalog *c, struct cat_fk *fk, const char *name)
{
	rename_constraint(c, fk->table, &fk->name, name);
}

void catalog_rename_check(struct catalog *c, struct cat_check *ck, const char *name)
{
	rename_constraint(c, ck->table, &ck->name, name);
}

struct cat_index *catalog_pk_index(const struct catalog *c, const char *table)
{
	for (size_t i = 0; i < c->nindexes; i++)
		if (c->indexes[i]->primary && !strcmp(c->indexes[i]->table, table))
			return c->indexes[i];
	return NULL;
}

/* ---- constraints ---- */

struct cat_fk *catalog_fk(const struct catalog *c, const char *table, const char *name)
{
	for (size_t i = 0; i < c->nfks; i++)
		if (!strcmp(c->fks[i]->name, name) && !strcmp(c->fks[i]->table, table))
			return c->fks[i];
	return NULL;
}

struct cat_fk *catalog_add_fk(struct catalog *c, const char *table, const char *name)
{
	struct cat_fk *fk = xcalloc(1, sizeof(*fk));
	fk->table = xstrdup(table);
	fk->name = xstrdup(name);
	fk->ref_table = xstrdup("");
	fk->on_delete = xstrdup("no action");
	fk->on_update = xstrdup("no action");
	fk->validated = true;
	ARR_PUSH(c, fks, fk);
	if (live(c)) {
		fks_add(&c->lk->fks, fk);
		conname_count(&c->lk->connames, fk->table, fk->name, 1);
	}
	return fk;
}

struct cat_fk *const *catalog_fks_of(const struct catalog *c, const char *table, size_t *n)
{
	struct cat_lookup *lk = lookup(c);
	struct ptrv *pv = strmap_get(&lk->fks, table);
	*n = pv ? pv->n : 0;
	return pv ? (struct cat_fk *const *)pv->v : NULL;
}

void catalog_drop_fk(struct catalog *c, struct cat_fk *fk)
{
	struct cat_lookup *lk = live(c);
	struct ptrv *pv = lk ? strmap_get(&lk->fks, fk->table) : NULL;
	if (lk)
		conname_count(&lk->connames, fk->table, fk->name, -1);
	for (size_t i = 0; pv && i < pv->n; i++)
		if (pv->v[i] == fk) {
			memmove(pv->v + i, pv->v + i + 1, (pv->n - i - 1) * sizeof(*pv->v));
			pv->n--;
			break;
		}
	ARR_REMOVE(c, fks, fk);
	fk_free(fk);
}

struct cat_check *catalog_check(const struct catalog *c, const char *table, const char *name)
{
	for (size_t i = 0; i < c->nchecks; i++)
		if (!strcmp(c->checks[i]->name, name) && !strcmp(c->checks[i]->table, table))
			return c->checks[i];
	return NULL;
}

struct cat_check *catalog_add_check(struct catalog *c, const char *table, const char *name,
				    const char *expr)
{
	struct cat_check *ck = xcalloc(1, sizeof(*ck));
	ck->table = xstrdup(table);
	ck->name = xstrdup(name);
	ck->expression = xstrdup(expr);
	ck->validated = true;
	ARR_PUSH(c, checks, ck);
	if (live(c))
		conname_count(&c->lk->connames, ck->table, ck->name, 1);
	return ck;
}

void catalog_drop_check(struct catalog *c, struct cat_check *ck)
{
	if (live(c))
		conname_count(&c->lk->connames, ck->table, ck->name, -1);
	ARR_REMOVE(c, checks, ck);
	check_free(ck);
}

static bool in_schema(const char *qname, const char *schema)
{
	size_t n = strlen(schema);
	return !strncmp(qname, schema, n) && qname[n] == '.';
}

bool catalog_constraint_exists(const struct catalog *c, const char *schema, const char *name)
{
	struct cat_lookup *lk = lookup(c);
	if (!strchr(schema, '.')) {
		/* the index of a PK, unique or exclusion constraint carries the
		 * constraint's name (PostgreSQL keeps them equal) */
		const struct cat_index *ix = catalog_index(c, schema, name);
		if (ix && ix->constraint && !strcmp(ix->constraint, name))
			return true;
		char kb[KEYBUF], *k = key_of(kb, schema, name);
		bool found = strmap_get(&lk->connames, k) != NULL;
		key_free(kb, k);
		return found;
	}
	for (size_t i = 0; i < c->nindexes; i++)
		if (c->indexes[i]->constraint && !strcmp(c->indexes[i]->constraint, name) &&
		    !strcmp(c->indexes[i]->schema, schema))
			return true;
	for (size_t i = 0; i < c->nfks; i++)
		if (!strcmp(c->fks[i]->name, name) && in_schema(c->fks[i]->table, schema))
			return true;
	for (size_t i = 0; i < c->nchecks; i++)
		if (!strcmp(c->checks[i]->name, name) && in_schema(c->checks[i]->table, schema))
			return true;
	return false;
}

bool catalog_relname_exists(const struct catalog *c, const char *schema, const char *name)
{
	return catalog_table(c, schema, name) || catalog_view(c, schema, name) ||
	       catalog_index(c, schema, name);
}

/* ---- views and enums ---- */

struct cat_view *catalog_view(const struct catalog *c, const char *schema, const char *name)
{
	return FIND(c, views, cat_view, views, schema, name);
}

struct cat_view *catalog_add_view(struct catalog *c, const char *schema, const char *name)
{
	struct cat_view *v = xcalloc(1, sizeof(*v));
	v->schema = xstrdup(schema);
	v->name = xstrdup(name);
	v->qname = cat_qname(schema, name);
	ARR_PUSH(c, views, v);
	if (live(c))
		map_add(c->lk, &c->lk->views, v->qname, v);
	return v;
}

void catalog_drop_view(struct catalog *c, struct cat_view *v, bool cascade)
{
	char *q = xstrdup(v->qname);
	/* indexes on materialized views go with them */
	for (size_t i = c->nindexes; i-- > 0;)
		if (!strcmp(c->indexes[i]->table, q))
			catalog_drop_index(c, c->indexes[i]);
	if (live(c))
		map_remove(c->lk, &c->lk->views, v->qname, v, (void *const *)c->views, c->nviews,
			   same_qname_view);
	ARR_REMOVE(c, views, v);
	view_free(v);
	if (cascade)
		drop_dependent_views(c, q);
	free(q);
}

struct cat_enum *catalog_enum(const struct catalog *c, const char *schema, const char *name)
{
	return FIND(c, enums, cat_enum, enums, schema, name);
}

struct cat_enum *catalog_add_enum(struct catalog *c, const char *schema, const char *name)
{
	struct cat_enum *e = xcalloc(1, sizeof(*e));
	e->schema = xstrdup(schema);
	e->name = xstrdup(name);
	e->qname = cat_qname(schema, name);
	ARR_PUSH(c, enums, e);
	if (live(c))
		map_add(c->lk, &c->lk->enums, e->qname, e);
	return e;
}

void catalog_drop_enum(struct catalog *c, struct cat_enum *e)
{
	if (live(c))
		map_remove(c->lk, &c->lk->enums, e->qname, e, (void *const *)c->enums, c->nenums,
			   same_qname_enum);
	ARR_REMOVE(c, enums, e);
	enum_free(e);
}
