/* catalog_json: the catalog as records, and records back into a catalog. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "sql.h"
#include "xalloc.h"

static cJSON *record(const char *kind)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddNumberToObject(o, "v", 1);
	return o;
}

static void add_str_or_null(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static cJSON *strv_json(const struct strv *sv)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < sv->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(sv->v[i]));
	return a;
}

static cJSON *trigger_json(const struct cat_trigger *tg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", tg->name);
	cJSON_AddStringToObject(o, "timing", tg->timing);
	cJSON_AddStringToObject(o, "level", tg->level);
	cJSON_AddItemToObject(o, "events", strv_json(&tg->events));
	if (tg->columns.n)
		cJSON_AddItemToObject(o, "columns", strv_json(&tg->columns));
	cJSON_AddStringToObject(o, "function", tg->function);
	cJSON_AddItemToObject(o, "writes", strv_json(&tg->writes));
	return o;
}

cJSON *cat_table_json(const struct cat_table *t)
{
	cJSON *o = record("table");
	cJSON_AddStringToObject(o, "name", t->qname);
	cJSON *cols = cJSON_AddArrayToObject(o, "columns");
	for (size_t i = 0; i < t->ncols; i++) {
		const struct cat_column *col = &t->cols[i];
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "name", col->name);
		cJSON_AddStringToObject(c, "type", col->type);
		cJSON_AddBoolToObject(c, "nullable", col->nullable);
		add_str_or_null(c, "default", col->def);
		add_str_or_null(c, "identity", col->identity);
		add_str_or_null(c, "generated", col->generated);
		cJSON_AddItemToArray(cols, c);
	}
	cJSON_AddItemToObject(o, "primary_key", strv_json(&t->pk));
	if (t->pk_name)
		cJSON_AddStringToObject(o, "primary_key_name", t->pk_name);
	if (t->rows >= 0)
		cJSON_AddNumberToObject(o, "rows", t->rows);
	else
		cJSON_AddNullToObject(o, "rows");
	if (t->partition_of)
		cJSON_AddStringToObject(o, "partition_of", t->partition_of);
	if (t->partition_of)
		add_str_or_null(o, "partition_bound", t->partition_bound);
	if (t->partition_by) {
		cJSON_AddStringToObject(o, "partition_by", t->partition_by);
		cJSON *k = cJSON_AddArrayToObject(o, "partition_key");
		for (size_t i = 0; i < t->partition_key.n; i++)
			cJSON_AddItemToArray(k, *t->partition_key.v[i] ? cJSON_CreateString(t->partition_key.v[i])
								       : cJSON_CreateNull());
	}
	if (t->unlogged)
		cJSON_AddBoolToObject(o, "unlogged", true);
	if (t->ntrigs) {
		cJSON *a = cJSON_AddArrayToObject(o, "triggers");
		for (size_t i = 0; i < t->ntrigs; i++)
			cJSON_AddItemToArray(a, trigger_json(&t->trigs[i]));
	}
	return o;
}

cJSON *cat_index_json(const struct cat_index *ix)
{
	cJSON *o = record("index");
	cJSON_AddStringToObject(o, "name", ix->name);
	cJSON_AddStringToObject(o, "table", ix->table);
	cJSON_AddItemToObject(o, "columns", strv_json(&ix->columns));
	cJSON_AddBoolToObject(o, "unique", ix->unique);
	cJSON_AddBoolToObject(o, "primary", ix->primary);
	cJSON_AddStringToObject(o, "method", ix->method);
	add_str_or_null(o, "predicate", ix->predicate);
	add_str_or_null(o, "constraint", ix->constraint);
	return o;
}

cJSON *cat_fk_json(const struct cat_fk *fk)
{
	cJSON *o = record("foreign_key");
	cJSON_AddStringToObject(o, "name", fk->name);
	cJSON_AddStringToObject(o, "table", fk->table);
	cJSON_AddItemToObject(o, "columns", strv_json(&fk->columns));
	cJSON_AddStringToObject(o, "ref_table", fk->ref_table);
	cJSON_AddItemToObject(o, "ref_columns", strv_json(&fk->ref_columns));
	cJSON_AddStringToObject(o, "on_delete", fk->on_delete);
	cJSON_AddStringToObject(o, "on_update", fk->on_update);
	cJSON_AddBoolToObject(o, "validated", fk->validated);
	return o;
}

cJSON *cat_check_json(const struct cat_check *ck)
{
	cJSON *o = record("check");
	cJSON_AddStringToObject(o, "name", ck->name);
	cJSON_AddStringToObject(o, "table", ck->table);
	cJSON_AddStringToObject(o, "expression", ck->expression);
	cJSON_AddBoolToObject(o, "validated", ck->validated);
	return o;
}

cJSON *cat_view_json(const struct cat_view *v)
{
	cJSON *o = record("view");
	cJSON_AddStringToObject(o, "name", v->qname);
	cJSON_AddBoolToObject(o, "materialized", v->materialized);
	cJSON_AddItemToObject(o, "depends_on", strv_json(&v->depends_on));
	add_str_or_null(o, "definition", v->definition);
	return o;
}

cJSON *cat_enum_json(const struct cat_enum *e)
{
	cJSON *o = record("enum");
	cJSON_AddStringToObject(o, "name", e->qname);
	cJSON_AddItemToObject(o, "values", strv_json(&e->values));
	return o;
}

cJSON *cat_domain_json(const struct cat_domain *d)
{
	cJSON *o = record("domain");
	cJSON_AddStringToObject(o, "name", d->qname);
	cJSON_AddStringToObject(o, "base_type", d->base_type);
	cJSON_AddBoolToObject(o, "not_null", d->not_null);
	cJSON *a = cJSON_AddArrayToObject(o, "checks");
	for (size_t i = 0; i < d->checks.n; i++) {
		cJSON *ck = cJSON_CreateObject();
		cJSON_AddStringToObject(ck, "name", d->check_names.v[i]);
		cJSON_AddStringToObject(ck, "expression", d->checks.v[i]);
		cJSON_AddItemToArray(a, ck);
	}
	return o;
}

void catalog_to_json(const struct catalog *c, void (*emit)(cJSON *rec, void *arg), void *arg)
{
	for (size_t i = 0; i < c->nenums; i++)
		emit(cat_enum_json(c->enums[i]), arg);
	for (size_t i = 0; i < c->ndomains; i++)
		emit(cat_domain_json(c->domains[i]), arg);
	for (size_t i = 0; i < c->ntables; i++)
		emit(cat_table_json(c->tables[i]), arg);
	for (size_t i = 0; i < c->nindexes; i++)
		emit(cat_index_json(c->indexes[i]), arg);
	for (size_t i = 0; i < c->nfks; i++)
		emit(cat_fk_json(c->fks[i]), arg);
	for (size_t i = 0; i < c->nchecks; i++)
		emit(cat_check_json(c->checks[i]), arg);
	for (size_t i = 0; i < c->nviews; i++)
		emit(cat_view_json(c->views[i]), arg);
}

/* ---- loading ---- */

static const char *get_str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool get_bool(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* get_strv: strings of array k into sv; -1 if k is missing or not all strings */
static int get_strv(const cJSON *o, const char *k, struct strv *sv)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, k), *it;
	if (!cJSON_IsArray(a))
		return -1;
	cJSON_ArrayForEach(it, a)
	{
		if (!cJSON_IsString(it))
			return -1;
		strv_push(sv, it->valuestring);
	}
	return 0;
}

/* ---- vetting: every piece of SQL a record carries is read as exactly one
 * expression, type name or query before anything is built from it (a
 * record's text is written into rollbacks and shadow schemas) ---- */

/* vetting: off while a program loads its own copy (trusted) */
static bool vetting = true;

static bool expr_ok(const char *s)
{
	return !vetting || sql_is_one_expr(s);
}

static bool type_ok(const char *s)
{
	return !vetting || sql_is_one_type(s);
}

static bool query_ok(const char *s)
{
	return !vetting || sql_query_kind(s);
}

static int vet_column(const cJSON *col, const char **err)
{
	const char *d = get_str(col, "default"), *g = get_str(col, "generated");
	if (!type_ok(get_str(col, "type")))
		return *err = "table column: \"type\" is not one SQL type name", -1;
	if (d && !expr_ok(d))
		return *err = "table column: \"default\" is not one SQL expression", -1;
	if (g && !expr_ok(g))
		return *err = "table column: \"generated\" is not one SQL expression", -1;
	return 0;
}

/* an index's method is a word; its predicate one expression. Its columns
 * are names as the catalog spells them (any text) or expressions: which one
 * is known only against the table, where they are used. */
static int vet_index(const cJSON *rec, const char **err)
{
	const char *m = get_str(rec, "method"), *p = get_str(rec, "predicate");
	if (vetting && m && (!*m || strspn(m, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(m)))
		return *err = "index record: \"method\" is not an access method's name", -1;
	if (p && !expr_ok(p))
		return *err = "index record: \"predicate\" is not one SQL expression", -1;
	return 0;
}

static bool fk_action_ok(const char *a)
{
	static const char *const actions[] = {"no action", "restrict", "cascade", "set null", "set default", NULL};
	for (int i = 0; actions[i]; i++)
		if (!strcasecmp(a, actions[i]))
			return true;
	return false;
}

static int load_trigger(struct cat_table *t, const cJSON *o, const char **err)
{
	const char *n = get_str(o, "name"), *fn = get_str(o, "function");
	const char *tm = get_str(o, "timing"), *lv = get_str(o, "level");
	if (!n || !fn)
		return *err = "table trigger needs \"name\" and \"function\"", -1;
	struct cat_trigger *tg = table_add_trigger(t, n);
	free(tg->function);
	tg->function = xstrdup(fn);
	if (tm) {
		free(tg->timing);
		tg->timing = xstrdup(tm);
	}
	if (lv) {
		free(tg->level);
		tg->level = xstrdup(lv);
	}
	get_strv(o, "columns", &tg->columns);
	if (get_strv(o, "events", &tg->events) < 0 || get_strv(o, "writes", &tg->writes) < 0)
		return *err = "table trigger needs \"events\" and \"writes\" (strings)", -1;
	return 1;
}

static int load_table(struct catalog *c, const cJSON *rec, const char **err)
{
	const char *qn = get_str(rec, "name");
	const cJSON *cols = cJSON_GetObjectItemCaseSensitive(rec, "columns"), *it;
	if (!qn || !strchr(qn, '.') || !cJSON_IsArray(cols))
		return *err = "table record needs a schema-qualified \"name\" and \"columns\"", -1;
	char *s, *n;
	cat_split_qname(qn, &s, &n);
	struct cat_table *t = catalog_add_table(c, s, n);
	free(s);
	free(n);
	if (!t)
		return *err = "duplicate table record", -1;
	cJSON_ArrayForEach(it, cols)
	{
		const char *cn = get_str(it, "name"), *ty = get_str(it, "type");
		if (!cn || !ty)
			return *err = "table column needs \"name\" and \"type\"", -1;
		if (vet_column(it, err) < 0)
			return -1;
		struct cat_column *col = table_add_column(t, cn, ty);
		if (!col)
			return *err = "duplicate column in table record", -1;
		col->nullable = get_bool(it, "nullable");
		column_set_default(col, get_str(it, "default"));
		column_set_identity(col, get_str(it, "identity"));
		column_set_generated(col, get_str(it, "generated"));
	}
	get_strv(rec, "primary_key", &t->pk);
	const char *pkn = get_str(rec, "primary_key_name");
	t->pk_name = pkn ? xstrdup(pkn) : NULL;
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(rec, "rows");
	t->rows = cJSON_IsNumber(rows) ? rows->valuedouble : -1;
	const char *po = get_str(rec, "partition_of"), *pb = get_str(rec, "partition_by");
	t->partition_of = po ? xstrdup(po) : NULL;
	t->partition_by = pb ? xstrdup(pb) : NULL;
	const char *bound = get_str(rec, "partition_bound");
	t->partition_bound = po && bound ? xstrdup(bound) : NULL;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rec, "partition_key"))
	{
		if (!cJSON_IsString(it) && !cJSON_IsNull(it))
			return *err = "table partition_key must hold strings (or null for an expression)", -1;
		strv_push(&t->partition_key, cJSON_IsString(it) ? it->valuestring : "");
	}
	t->unlogged = get_bool(rec, "unlogged");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rec, "triggers"))
	{
		if (load_trigger(t, it, err) < 0)
			return -1;
	}
	return 1;
}

static int load_index(struct catalog *c, const cJSON *rec, const char **err)
{
	const char *n = get_str(rec, "name"), *tq = get_str(rec, "table");
	if (!n || !tq || !strchr(tq, '.'))
		return *err = "index record needs \"name\" and a schema-qualified \"table\"", -1;
	char *s, *tn;
	cat_split_qname(tq, &s, &tn);
	struct cat_index *ix = catalog_add_index(c, s, n, tq);
	free(s);
	free(tn);
	if (get_strv(rec, "columns", &ix->columns) < 0)
		return *err = "index record needs \"columns\" (strings)", -1;
	if (vet_index(rec, err) < 0)
		return -1;
	ix->unique = get_bool(rec, "unique");
	ix->primary = get_bool(rec, "primary");
	const char *m = get_str(rec, "method"), *p = get_str(rec, "predicate"),
		   *k = get_str(rec, "constraint");
	if (m) {
		free(ix->method);
		ix->method = xstrdup(m);
	}
	ix->predicate = p ? xstrdup(p) : NULL;
	ix->constraint = k ? xstrdup(k) : NULL;
	return 1;
}

static int load_fk(struct catalog *c, const cJSON *rec, const char **err)
{
	const char *n = get_str(rec, "name"), *t = get_str(rec, "table"), *rt = get_str(rec, "ref_table");
	if (!n || !t || !rt)
		return *err = "foreign_key record needs \"name\", \"table\" and \"ref_table\"", -1;
	struct cat_fk *fk = catalog_add_fk(c, t, n);
	free(fk->ref_table);
	fk->ref_table = xstrdup(rt);
	if (get_strv(rec, "columns", &fk->columns) < 0 || get_strv(rec, "ref_columns", &fk->ref_columns) < 0)
		return *err = "foreign_key record needs \"columns\" and \"ref_columns\"", -1;
	const char *od = get_str(rec, "on_delete"), *ou = get_str(rec, "on_update");
	if (vetting && ((od && !fk_action_ok(od)) || (ou && !fk_action_ok(ou))))
		return *err = "foreign_key on_delete and on_update take no action, restrict, cascade, set null or "
			      "set default",
		       -1;
	if (od) {
		free(fk->on_delete);
		fk->on_delete = xstrdup(od);
	}
	if (ou) {
		free(fk->on_update);
		fk->on_update = xstrdup(ou);
	}
	fk->validated = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(rec, "validated"));
	return 1;
}

static int load_check(struct catalog *c, const cJSON *rec, const char **err)
{
	const char *n = get_str(rec, "name"), *t = get_str(rec, "table"), *e = get_str(rec, "expression");
	if (!n || !t || !e)
		return *err = "check record needs \"name\", \"table\" and \"expression\"", -1;
	if (!expr_ok(e))
		return *err = "check record: \"expression\" is not one SQL expression", -1;
	struct cat_check *ck = catalog_add_check(c, t, n, e);
	ck->validated = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(rec, "validated"));
	return 1;
}

static int load_view(struct catalog *c, const cJSON *rec, const char **err)
{
	const char *qn = get_str(rec, "name");
	if (!qn || !strchr(qn, '.'))
		return *err = "view record needs a schema-qualified \"name\"", -1;
	char *s, *n;
	cat_split_qname(qn, &s, &n);
	struct cat_view *v = catalog_add_view(c, s, n);
	free(s);
	free(n);
	v->materialized = get_bool(rec, "materialized");
	get_strv(rec, "depends_on", &v->depends_on);
	const char *d = get_str(rec, "definition");
	if (d && !query_ok(d))
		return *err = "view record: \"definition\" is not one SELECT or one CREATE VIEW", -1;
	v->definition = d ? xstrdup(d) : NULL;
	return 1;
}

static int load_enum(struct catalog *c, const cJSON *rec, const char **err)
{
	const char *qn = get_str(rec, "name");
	if (!qn || !strchr(qn, '.'))
		return *err = "enum record needs a schema-qualified \"name\"", -1;
	char *s, *n;
	cat_split_qname(qn, &s, &n);
	struct cat_enum *e = catalog_add_enum(c, s, n);
	free(s);
	free(n);
	if (get_strv(rec, "values", &e->values) < 0)
		return *err = "enum record needs \"values\" (strings)", -1;
	return 1;
}

static int load_domain(struct catalog *c, const cJSON *rec, const char **err)
{
	const char *qn = get_str(rec, "name"), *bt = get_str(rec, "base_type");
	const cJSON *checks = cJSON_GetObjectItemCaseSensitive(rec, "checks"), *it;
	if (!qn || !strchr(qn, '.') || !bt || !cJSON_IsArray(checks))
		return *err = "domain record needs a schema-qualified \"name\", \"base_type\" and \"checks\"", -1;
	char *s, *n;
	cat_split_qname(qn, &s, &n);
	struct cat_domain *d = catalog_add_domain(c, s, n);
	free(s);
	free(n);
	free(d->base_type);
	d->base_type = xstrdup(bt);
	if (!type_ok(bt))
		return *err = "domain record: \"base_type\" is not one SQL type name", -1;
	d->not_null = get_bool(rec, "not_null");
	cJSON_ArrayForEach(it, checks)
	{
		const char *cn = get_str(it, "name"), *ex = get_str(it, "expression");
		if (!cn || !ex)
			return *err = "domain check needs \"name\" and \"expression\"", -1;
		if (!expr_ok(ex))
			return *err = "domain check: \"expression\" is not one SQL expression", -1;
		strv_push(&d->check_names, cn);
		strv_push(&d->checks, ex);
	}
	return 1;
}

int catalog_load_record_trusted(struct catalog *c, const cJSON *rec, const char **err)
{
	vetting = false;
	int r = catalog_load_record(c, rec, err);
	vetting = true;
	return r;
}

int catalog_load_record(struct catalog *c, const cJSON *rec, const char **err)
{
	static const struct {
		const char *kind;
		int (*load)(struct catalog *, const cJSON *, const char **);
	} loaders[] = {
		{"table", load_table},
		{"index", load_index},
		{"foreign_key", load_fk},
		{"check", load_check},
		{"view", load_view},
		{"enum", load_enum},
		{"domain", load_domain},
	};
	const char *kind = get_str(rec, "kind");
	if (!kind)
		return 0;
	for (size_t i = 0; i < sizeof(loaders) / sizeof(*loaders); i++)
		if (!strcmp(kind, loaders[i].kind))
			return loaders[i].load(c, rec, err);
	return 0;
}
