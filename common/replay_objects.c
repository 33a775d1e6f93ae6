/* replay_objects: CREATE INDEX, DROP, RENAME, views, enums, SET SCHEMA. */
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "replay_int.h"
#include "xalloc.h"

/* ---- CREATE INDEX ---- */

/* FigureColnameInternal, as far as index column names need it. */
static const char *figure_colname(const cJSON *e)
{
	const char *type = sql_node_type(e);
	const cJSON *n = type ? e->child : NULL;
	if (!type)
		return NULL;
	if (!strcmp(type, "ColumnRef")) {
		const cJSON *last = NULL, *it;
		cJSON_ArrayForEach(it, sql_jget(n, "fields")) last = it;
		return sql_strval(last);
	}
	if (!strcmp(type, "FuncCall")) {
		const cJSON *last = NULL, *it;
		cJSON_ArrayForEach(it, sql_jget(n, "funcname")) last = it;
		return sql_strval(last);
	}
	if (!strcmp(type, "TypeCast")) {
		const char *inner = figure_colname(sql_jget(n, "arg"));
		if (inner && sql_node_type(sql_jget(n, "arg")) && strcmp(sql_node_type(sql_jget(n, "arg")), "TypeCast"))
			return inner;
		const cJSON *last = NULL, *it;
		cJSON_ArrayForEach(it, sql_jget(sql_jget(n, "typeName"), "names")) last = it;
		return inner ? inner : sql_strval(last);
	}
	if (!strcmp(type, "CoalesceExpr"))
		return "coalesce";
	if (!strcmp(type, "CaseExpr"))
		return "case";
	if (!strcmp(type, "A_ArrayExpr"))
		return "array";
	if (!strcmp(type, "A_Expr") && sql_jstr(n, "kind") && !strcmp(sql_jstr(n, "kind"), "AEXPR_NULLIF"))
		return "nullif";
	return NULL;
}

/* ChooseIndexColumnNames: the names used to build an index's name, made
 * distinct by appending numbers. */
static void index_colnames(const cJSON *params, struct strv *names)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, params)
	{
		const cJSON *ie = sql_node(it, "IndexElem");
		const char *orig = sql_jstr(ie, "indexcolname");
		if (!orig)
			orig = sql_jstr(ie, "name");
		if (!orig)
			orig = figure_colname(sql_jget(ie, "expr"));
		if (!orig)
			orig = "expr";
		char *cur = xstrdup(orig);
		for (int i = 1; strv_index(names, cur) >= 0; i++) {
			free(cur);
			cur = xasprintf("%.*s%d", 60, orig, i);
		}
		strv_push_take(names, cur);
	}
}

static void index_keys(struct replay_ctx *x, const cJSON *params, struct strv *cols)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, params)
	{
		const cJSON *ie = sql_node(it, "IndexElem");
		if (sql_jstr(ie, "name"))
			strv_push(cols, sql_jstr(ie, "name"));
		else
			strv_push_take(cols, sql_deparse_expr(sql_jget(ie, "expr"), x->src));
	}
}

void rx_index_stmt(struct replay_ctx *x, const cJSON *n)
{
	const cJSON *rv = sql_jget(n, "relation");
	struct cat_table *t = rx_table(x, rv);
	struct cat_view *v = t ? NULL : rx_view(x, rv);
	if (!t && !v) {
		if (!rx_is_temp(x, rv))
			rx_warn(x, "CREATE INDEX on unknown table \"%s\"", sql_jstr(rv, "relname"));
		return;
	}
	const char *schema = t ? t->schema : v->schema, *relname = t ? t->name : v->name;
	const char *qname = t ? t->qname : v->qname, *name = sql_jstr(n, "idxname");
	if (name && catalog_relname_exists(x->r->cat, schema, name)) {
		if (!sql_jbool(n, "if_not_exists"))
			rx_warn(x, "relation \"%s\" already exists", name);
		return;
	}
	struct strv cols = STRV_INIT, names = STRV_INIT;
	index_keys(x, sql_jget(n, "indexParams"), &cols);
	index_colnames(sql_jget(n, "indexParams"), &names);
	const char *label = sql_jbool(n, "primary") ? "pkey" : sql_jbool(n, "isconstraint") ? "key"
											    : "idx";
	struct cat_index *ix = rx_new_index(x, schema, relname, qname, &cols, &names, name, label);
	ix->unique = sql_jbool(n, "unique");
	free(ix->method);
	ix->method = xstrdup(sql_jstr(n, "accessMethod") ? sql_jstr(n, "accessMethod") : "btree");
	if (sql_jget(n, "whereClause"))
		ix->predicate = sql_deparse_expr(sql_jget(n, "whereClause"), x->src);
	rx_index_done(x, ix, &names, label);
	strv_release(&cols);
	strv_release(&names);
}

/* ---- DROP ---- */

static void object_names(const cJSON *obj, struct strv *names)
{
	const cJSON *list = sql_node(obj, "List");
	if (list)
		sql_name_list(sql_jget(list, "items"), names);
	else if (sql_node(obj, "TypeName"))
		sql_name_list(sql_jget(sql_node(obj, "TypeName"), "names"), names);
	else if (sql_strval(obj))
		strv_push(names, sql_strval(obj));
}

static const char *names_schema(const struct replay_ctx *x, const struct strv *names)
{
	return names->n > 1 ? names->v[names->n - 2] : x->r->search_schema;
}

static struct cat_view *view_by_names(const struct replay_ctx *x, const struct strv *names)
{
	struct cat_view *v = catalog_view(x->r->cat, names_schema(x, names), names->v[names->n - 1]);
	if (!v && names->n == 1)
		v = catalog_view(x->r->cat, "public", names->v[0]);
	return v;
}

static struct cat_index *index_by_names(const struct replay_ctx *x, const struct strv *names)
{
	struct cat_index *ix = catalog_index(x->r->cat, names_schema(x, names), names->v[names->n - 1]);
	if (!ix && names->n == 1)
		ix = catalog_index(x->r->cat, "public", names->v[0]);
	return ix;
}

static struct cat_enum *enum_by_names(const struct replay_ctx *x, const struct strv *names)
{
	struct cat_enum *e = catalog_enum(x->r->cat, names_schema(x, names), names->v[names->n - 1]);
	if (!e && names->n == 1)
		e = catalog_enum(x->r->cat, "public", names->v[0]);
	return e;
}

void rx_drop_columns_of_type(struct replay_ctx *x, const char *type)
{
	char *arr = xasprintf("%s[]", type);
	for (size_t i = 0; i < x->r->cat->ntables; i++) {
		struct cat_table *t = x->r->cat->tables[i];
		for (size_t k = t->ncols; k-- > 0;)
			if (!strcmp(t->cols[k].type, type) || !strcmp(t->cols[k].type, arr))
				catalog_drop_column(x->r->cat, t, t->cols[k].name, true);
	}
	free(arr);
}

static void drop_schema(struct replay_ctx *x, const char *schema)
{
	struct catalog *c = x->r->cat;
	for (size_t i = c->nviews; i-- > 0;)
		if (i < c->nviews && !strcmp(c->views[i]->schema, schema))
			catalog_drop_view(c, c->views[i], true);
	for (size_t i = c->ntables; i-- > 0;)
		if (i < c->ntables && !strcmp(c->tables[i]->schema, schema))
			catalog_drop_table(c, c->tables[i], true);
	for (size_t i = c->nenums; i-- > 0;)
		if (!strcmp(c->enums[i]->schema, schema)) {
			char *ty = cat_type_name(schema, c->enums[i]->name, false);
			rx_drop_columns_of_type(x, ty);
			free(ty);
			catalog_drop_enum(c, c->enums[i]);
		}
	long at = strv_index(&c->schemas, schema);
	if (at >= 0)
		strv_remove(&c->schemas, (size_t)at);
}

/* drop_one: 1 when the object was found and dropped. */
static int drop_one(struct replay_ctx *x, const char *rt, const struct strv *names, bool cascade)
{
	struct catalog *c = x->r->cat;
	if (!strcmp(rt, "OBJECT_TABLE") || !strcmp(rt, "OBJECT_FOREIGN_TABLE")) {
		struct cat_table *t = rx_table_names(x, names);
		return t ? (catalog_drop_table(c, t, cascade), 1) : 0;
	}
	if (!strcmp(rt, "OBJECT_VIEW") || !strcmp(rt, "OBJECT_MATVIEW")) {
		struct cat_view *v = view_by_names(x, names);
		return v ? (catalog_drop_view(c, v, cascade), 1) : 0;
	}
	if (!strcmp(rt, "OBJECT_INDEX")) {
		struct cat_index *ix = index_by_names(x, names);
		return ix ? (catalog_drop_index(c, ix), 1) : 0;
	}
	if (!strcmp(rt, "OBJECT_TYPE")) {
		struct cat_enum *e = enum_by_names(x, names);
		if (!e)
			return -1; /* domains, composite types: not modelled, not an error */
		char *ty = cat_type_name(e->schema, e->name, false);
		if (cascade)
			rx_drop_columns_of_type(x, ty);
		free(ty);
		catalog_drop_enum(c, e);
		return 1;
	}
	if (!strcmp(rt, "OBJECT_SCHEMA")) {
		drop_schema(x, names->v[0]);
		return 1;
	}
	if (!strcmp(rt, "OBJECT_TRIGGER"))
		return rx_drop_trigger(x, names);
	if (!strcmp(rt, "OBJECT_DOMAIN"))
		return rx_drop_domain(x, names, cascade);
	return -1;
}

void rx_drop_stmt(struct replay_ctx *x, const cJSON *n)
{
	const char *rt = sql_jstr(n, "removeType");
	const char *behavior = sql_jstr(n, "behavior");
	bool cascade = behavior && strstr(behavior, "CASCADE");
	const cJSON *obj;
	if (!rt)
		return;
	cJSON_ArrayForEach(obj, sql_jget(n, "objects"))
	{
		struct strv names = STRV_INIT;
		object_names(obj, &names);
		int r = names.n ? drop_one(x, rt, &names, cascade) : -1;
		bool temp = names.n == 1 && strv_index(&x->r->temp_tables, names.v[0]) >= 0;
		if (r == 0 && !sql_jbool(n, "missing_ok") && !temp)
			rx_warn(x, "DROP: \"%s\" does not exist", names.v[names.n - 1]);
		strv_release(&names);
	}
}

/* ---- RENAME ---- */

/* taken: a relation (table, view, index) named name exists in schema, as
 * PostgreSQL refuses a rename or move onto it ("relation ... already
 * exists"): warned, and the statement is not applied. */
static bool taken(struct replay_ctx *x, const char *schema, const char *name)
{
	if (!catalog_relname_exists(x->r->cat, schema, name))
		return false;
	rx_warn(x, "relation \"%s.%s\" already exists: not applied", schema, name);
	return true;
}

static void rename_relation(struct replay_ctx *x, const cJSON *n)
{
	const cJSON *rv = sql_jget(n, "relation");
	const char *to = sql_jstr(n, "newname");
	struct cat_table *t = rx_table(x, rv);
	struct cat_view *v = t ? NULL : rx_view(x, rv);
	if ((t || v) && to && taken(x, t ? t->schema : v->schema, to))
		return;
	if (t) {
		catalog_rename_table(x->r->cat, t, t->schema, to);
		return;
	}
	if (v) {
		char *old = xstrdup(v->qname);
		catalog_rename_view(x->r->cat, v, to);
		for (size_t i = 0; i < x->r->cat->nviews; i++) {
			struct strv *d = &x->r->cat->views[i]->depends_on;
			long k = strv_index(d, old);
			if (k >= 0) {
				free(d->v[k]);
				d->v[k] = xstrdup(v->qname);
			}
		}
		for (size_t i = 0; i < x->r->cat->nindexes; i++)
			if (!strcmp(x->r->cat->indexes[i]->table, old)) {
				free(x->r->cat->indexes[i]->table);
				x->r->cat->indexes[i]->table = xstrdup(v->qname);
			}
		free(old);
		return;
	}
	struct strv names = STRV_INIT;
	if (sql_jstr(rv, "schemaname"))
		strv_push(&names, sql_jstr(rv, "schemaname"));
	strv_push(&names, sql_jstr(rv, "relname"));
	struct cat_index *ix = index_by_names(x, &names);
	strv_release(&names);
	if (!ix) {
		if (!sql_jbool(n, "missing_ok"))
			rx_warn(x, "RENAME: relation \"%s\" does not exist", sql_jstr(rv, "relname"));
		return;
	}
	if (to && taken(x, ix->schema, to))
		return;
	/* renaming a constraint's index renames the constraint too */
	if (ix->constraint) {
		free(ix->constraint);
		ix->constraint = xstrdup(to);
		struct cat_table *it = catalog_table_q(x->r->cat, ix->table);
		if (ix->primary && it) {
			free(it->pk_name);
			it->pk_name = xstrdup(to);
		}
	}
	catalog_rename_index(x->r->cat, ix, to);
}

static void rename_constraint(struct replay_ctx *x, const cJSON *n)
{
	struct cat_table *t = rx_table(x, sql_jget(n, "relation"));
	const char *from = sql_jstr(n, "subname"), *to = sql_jstr(n, "newname");
	if (!t) {
		rx_warn(x, "RENAME CONSTRAINT on unknown table");
		return;
	}
	struct cat_fk *fk = catalog_fk(x->r->cat, t->qname, from);
	struct cat_check *ck = catalog_check(x->r->cat, t->qname, from);
	if (fk) {
		catalog_rename_fk(x->r->cat, fk, to);
		return;
	}
	if (ck) {
		catalog_rename_check(x->r->cat, ck, to);
		return;
	}
	for (size_t i = 0; i < x->r->cat->nindexes; i++) {
		struct cat_index *ix = x->r->cat->indexes[i];
		if (ix->constraint && !strcmp(ix->constraint, from) && !strcmp(ix->table, t->qname)) {
			free(ix->constraint);
			ix->constraint = xstrdup(to);
			catalog_rename_index(x->r->cat, ix, to);
			if (ix->primary) {
				free(t->pk_name);
				t->pk_name = xstrdup(to);
			}
			return;
		}
	}
	rx_warn(x, "constraint \"%s\" of %s does not exist", from, t->qname);
}

void rx_retype_columns(struct replay_ctx *x, const char *from, const char *to)
{
	char *froma = xasprintf("%s[]", from), *toa = xasprintf("%s[]", to);
	for (size_t i = 0; i < x->r->cat->ntables; i++) {
		struct cat_table *t = x->r->cat->tables[i];
		for (size_t k = 0; k < t->ncols; k++) {
			if (!strcmp(t->cols[k].type, from))
				column_set_type(&t->cols[k], to);
			else if (!strcmp(t->cols[k].type, froma))
				column_set_type(&t->cols[k], toa);
		}
	}
	free(froma);
	free(toa);
}

/* move_enum: rename an enum and/or change its schema; columns of that
 * type (and arrays of it) follow. */
static void move_enum(struct replay_ctx *x, struct cat_enum *e, const char *schema, const char *name)
{
	char *from_t = cat_type_name(e->schema, e->name, false), *to_t = cat_type_name(schema, name, false);
	rx_retype_columns(x, from_t, to_t);
	free(from_t);
	free(to_t);
	catalog_rename_enum(x->r->cat, e, schema, name); /* copes with schema, name being e's own */
}

static void rename_type(struct replay_ctx *x, const cJSON *n)
{
	struct strv names = STRV_INIT;
	object_names(sql_jget(n, "object"), &names);
	struct cat_enum *e = names.n ? enum_by_names(x, &names) : NULL;
	strv_release(&names);
	if (!e)
		return; /* not an enum: nothing modelled */
	move_enum(x, e, e->schema, sql_jstr(n, "newname"));
}

/* A column renamed in a partitioned table is renamed in its partitions,
 * at every level. */
static void rename_in_partitions(struct replay_ctx *x, const char *parent, const char *from, const char *to)
{
	for (size_t i = 0; i < x->r->cat->ntables; i++) {
		struct cat_table *p = x->r->cat->tables[i];
		if (p->partition_of && !strcmp(p->partition_of, parent)) {
			catalog_rename_column(x->r->cat, p, from, to);
			rename_in_partitions(x, p->qname, from, to);
		}
	}
}

void rx_rename_stmt(struct replay_ctx *x, const cJSON *n)
{
	const char *rt = sql_jstr(n, "renameType");
	if (!rt)
		return;
	if (!strcmp(rt, "OBJECT_TABLE") || !strcmp(rt, "OBJECT_VIEW") || !strcmp(rt, "OBJECT_MATVIEW") ||
	    !strcmp(rt, "OBJECT_INDEX") || !strcmp(rt, "OBJECT_FOREIGN_TABLE")) {
		rename_relation(x, n);
	} else if (!strcmp(rt, "OBJECT_COLUMN")) {
		struct cat_table *t = rx_table(x, sql_jget(n, "relation"));
		const char *from = sql_jstr(n, "subname"), *to = sql_jstr(n, "newname");
		if (t && catalog_rename_column(x->r->cat, t, from, to) < 0)
			rx_warn(x, "RENAME COLUMN: \"%s\" of %s cannot be renamed to \"%s\"", from, t->qname, to);
		if (t)
			rename_in_partitions(x, t->qname, from, to);
		if (!t && !rx_view(x, sql_jget(n, "relation")))
			rx_warn(x, "RENAME COLUMN on unknown table");
	} else if (!strcmp(rt, "OBJECT_TABCONSTRAINT")) {
		rename_constraint(x, n);
	} else if (!strcmp(rt, "OBJECT_TYPE")) {
		rename_type(x, n);
	} else if (!strcmp(rt, "OBJECT_SCHEMA")) {
		rx_warn(x, "ALTER SCHEMA ... RENAME is not modelled");
	}
}

/* ---- views ---- */

/* Every relation a query reads, except names its own CTEs define. */
static void collect_rangevars(const cJSON *n, struct strv *ctes, struct strv *out, const struct replay_ctx *x)
{
	for (const cJSON *c = n ? n->child : NULL; c; c = c->next) {
		if (c->string && !strcmp(c->string, "CommonTableExpr") && sql_jstr(c, "ctename"))
			strv_push(ctes, sql_jstr(c, "ctename"));
		if (c->string && !strcmp(c->string, "RangeVar")) {
			const char *rel = sql_jstr(c, "relname");
			if (!sql_jstr(c, "schemaname") && strv_index(ctes, rel) >= 0)
				continue;
			struct cat_table *t = rx_table(x, c);
			struct cat_view *v = t ? NULL : rx_view(x, c);
			const char *q = t ? t->qname : v ? v->qname
							 : NULL;
			if (q && strv_index(out, q) < 0)
				strv_push(out, q);
		} else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			collect_rangevars(c, ctes, out, x);
		}
	}
}

static struct cat_view *define_view(struct replay_ctx *x, const cJSON *rv, const cJSON *query, bool replace,
				    bool materialized)
{
	const char *schema = rx_schema(x, rv), *name = sql_jstr(rv, "relname");
	struct cat_view *v = catalog_view(x->r->cat, schema, name);
	if (v && !replace) {
		rx_warn(x, "relation \"%s.%s\" already exists", schema, name);
		return NULL;
	}
	if (!v) {
		if (catalog_table(x->r->cat, schema, name)) {
			rx_warn(x, "relation \"%s.%s\" already exists", schema, name);
			return NULL;
		}
		v = catalog_add_view(x->r->cat, schema, name);
	}
	v->materialized = materialized;
	strv_release(&v->depends_on);
	struct strv ctes = STRV_INIT;
	collect_rangevars(query, &ctes, &v->depends_on, x);
	strv_release(&ctes);
	return v;
}

static char *statement_text(const struct replay_ctx *x, const cJSON *query)
{
	/* the definition: the statement as written */
	(void)query;
	size_t len = x->stmt_end - x->stmt_start;
	while (len && strchr(" \t\r\n;", x->src[x->stmt_start + len - 1]))
		len--;
	return xstrndup(x->src + x->stmt_start, len);
}

void rx_view_stmt(struct replay_ctx *x, const cJSON *n)
{
	const cJSON *q = sql_jget(n, "query");
	struct cat_view *v = define_view(x, sql_jget(n, "view"), q, sql_jbool(n, "replace"), false);
	if (v) {
		free(v->definition);
		v->definition = statement_text(x, q);
	}
}

/* ---- CREATE TABLE AS / SELECT INTO ---- */

/* The FROM-list tables of a query with their aliases (simple RangeVars). */
static void from_tables(const struct replay_ctx *x, const cJSON *sel, struct cat_table **tabs,
			const char **aliases, size_t *n, size_t max)
{
	const cJSON *it;
	*n = 0;
	cJSON_ArrayForEach(it, sql_jget(sel, "fromClause"))
	{
		const cJSON *rv = sql_node(it, "RangeVar");
		struct cat_table *t = rv ? rx_table(x, rv) : NULL;
		if (!t || *n == max)
			continue;
		tabs[*n] = t;
		const char *al = sql_jstr(sql_jget(rv, "alias"), "aliasname");
		aliases[(*n)++] = al ? al : t->name;
	}
}

/* A column a target-list ColumnRef names, among the FROM tables. */
static const struct cat_column *find_ref(const struct strv *f, struct cat_table **tabs, const char **aliases,
					 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (f->n == 2 && strcmp(aliases[i], f->v[0]))
			continue;
		const struct cat_column *c = table_column(tabs[i], f->v[f->n - 1]);
		if (c)
			return c;
	}
	return NULL;
}

/* One output column of CREATE TABLE AS; false when its type is unknown. */
static bool add_target(struct cat_table *t, const cJSON *rt, struct cat_table **tabs, const char **aliases,
		       size_t n)
{
	const cJSON *val = sql_jget(rt, "val"), *ref = sql_node(val, "ColumnRef");
	const cJSON *cast = sql_node(val, "TypeCast");
	struct strv f = STRV_INIT;
	bool ok = true;
	sql_name_list(sql_jget(ref ? ref : sql_node(sql_jget(cast, "arg"), "ColumnRef"), "fields"), &f);
	if (ref && sql_node(cJSON_GetArrayItem(sql_jget(ref, "fields"), (int)f.n), "A_Star")) {
		for (size_t i = 0; i < n; i++) /* SELECT * / t.* */
			if (f.n == 0 || !strcmp(aliases[i], f.v[0]))
				for (size_t k = 0; k < tabs[i]->ncols; k++)
					table_add_column(t, tabs[i]->cols[k].name, tabs[i]->cols[k].type);
	} else {
		const char *name = sql_jstr(rt, "name") ? sql_jstr(rt, "name") : f.n ? f.v[f.n - 1]
										     : NULL;
		const struct cat_column *src = ref ? find_ref(&f, tabs, aliases, n) : NULL;
		char *type = cast ? sql_format_type(sql_jget(cast, "typeName"), NULL) : NULL;
		if (name && (src || type))
			table_add_column(t, name, type ? type : src->type);
		else
			ok = false;
		free(type);
	}
	strv_release(&f);
	return ok;
}

/* CREATE TABLE ... AS SELECT / SELECT ... INTO: a table whose columns are
 * inferred from the query where they are plain columns or casts. */
static void create_table_as(struct replay_ctx *x, const cJSON *rv, const cJSON *sel)
{
	const char *schema = rx_schema(x, rv), *name = sql_jstr(rv, "relname");
	if (catalog_table(x->r->cat, schema, name)) {
		rx_warn(x, "relation \"%s.%s\" already exists", schema, name);
		return;
	}
	struct cat_table *t = catalog_add_table(x->r->cat, schema, name), *tabs[16];
	const char *aliases[16];
	size_t n, unknown = 0;
	from_tables(x, sel, tabs, aliases, &n, 16);
	const cJSON *it;
	cJSON_ArrayForEach(it, sql_jget(sel, "targetList"))
		unknown += !add_target(t, sql_node(it, "ResTarget"), tabs, aliases, n);
	if (unknown)
		rx_warn(x, "CREATE TABLE %s AS: %zu column(s) computed by the query are not modelled", t->qname,
			unknown);
}

void rx_select_into(struct replay_ctx *x, const cJSON *n)
{
	const cJSON *into = sql_jget(n, "intoClause");
	if (!into)
		return; /* a plain SELECT changes nothing */
	const cJSON *rv = sql_jget(into, "rel");
	const char *rp = sql_jstr(rv, "relpersistence");
	if (rp && rp[0] == 't')
		rx_note_temp(x, rv);
	else
		create_table_as(x, rv, n);
}

void rx_matview_stmt(struct replay_ctx *x, const cJSON *n)
{
	const char *ot = sql_jstr(n, "objtype");
	const cJSON *into = sql_jget(n, "into");
	const char *rp = sql_jstr(sql_jget(into, "rel"), "relpersistence");
	if (rp && rp[0] == 't') {
		rx_note_temp(x, sql_jget(into, "rel"));
		return;
	}
	const cJSON *sel = sql_node(sql_jget(n, "query"), "SelectStmt");
	if (!ot || strcmp(ot, "OBJECT_MATVIEW")) {
		if (sql_jbool(n, "if_not_exists") && rx_table(x, sql_jget(into, "rel")))
			return;
		if (sel)
			create_table_as(x, sql_jget(into, "rel"), sel);
		else
			rx_warn(x, "CREATE TABLE ... AS: the new table's columns are not modelled");
		return;
	}
	const cJSON *rv = sql_jget(into, "rel");
	if (sql_jbool(n, "if_not_exists") && rx_view(x, rv))
		return;
	define_view(x, rv, sql_jget(n, "query"), false, true);
}

/* ---- enums ---- */

void rx_enum_stmt(struct replay_ctx *x, const cJSON *n)
{
	struct strv names = STRV_INIT;
	sql_name_list(sql_jget(n, "typeName"), &names);
	const char *schema = names_schema(x, &names), *name = names.v[names.n - 1];
	if (catalog_enum(x->r->cat, schema, name)) {
		rx_warn(x, "type \"%s\" already exists", name);
	} else {
		struct cat_enum *e = catalog_add_enum(x->r->cat, schema, name);
		const cJSON *it;
		cJSON_ArrayForEach(it, sql_jget(n, "vals")) if (sql_strval(it)) strv_push(&e->values, sql_strval(it));
	}
	strv_release(&names);
}

void rx_alter_enum_stmt(struct replay_ctx *x, const cJSON *n)
{
	struct strv names = STRV_INIT;
	sql_name_list(sql_jget(n, "typeName"), &names);
	struct cat_enum *e = names.n ? enum_by_names(x, &names) : NULL;
	strv_release(&names);
	if (!e) {
		rx_warn(x, "ALTER TYPE on unknown enum");
		return;
	}
	const char *oldv = sql_jstr(n, "oldVal"), *newv = sql_jstr(n, "newVal");
	const char *nb = sql_jstr(n, "newValNeighbor");
	if (oldv) { /* RENAME VALUE */
		long k = strv_index(&e->values, oldv);
		if (k >= 0) {
			free(e->values.v[k]);
			e->values.v[k] = xstrdup(newv);
		}
		return;
	}
	if (!newv || strv_index(&e->values, newv) >= 0) {
		if (newv && !sql_jbool(n, "skipIfNewValExists"))
			rx_warn(x, "enum label \"%s\" already exists", newv);
		return;
	}
	long at = nb ? strv_index(&e->values, nb) : -1;
	strv_push(&e->values, newv);
	if (at < 0)
		return;
	size_t pos = sql_jbool(n, "newValIsAfter") ? (size_t)at + 1 : (size_t)at;
	char *moved = e->values.v[e->values.n - 1];
	memmove(e->values.v + pos + 1, e->values.v + pos, (e->values.n - 1 - pos) * sizeof(char *));
	e->values.v[pos] = moved;
}

/* ---- SET SCHEMA ---- */

void rx_set_schema_stmt(struct replay_ctx *x, const cJSON *n)
{
	const char *ot = sql_jstr(n, "objectType"), *to = sql_jstr(n, "newschema");
	if (!ot || !to)
		return;
	if (!strcmp(ot, "OBJECT_TABLE")) {
		struct cat_table *t = rx_table(x, sql_jget(n, "relation"));
		if (t && taken(x, to, t->name))
			return;
		if (t)
			catalog_rename_table(x->r->cat, t, to, t->name);
		else if (!sql_jbool(n, "missing_ok"))
			rx_warn(x, "SET SCHEMA on unknown table");
	} else if (!strcmp(ot, "OBJECT_TYPE")) {
		struct strv names = STRV_INIT;
		object_names(sql_jget(n, "object"), &names);
		struct cat_enum *e = names.n ? enum_by_names(x, &names) : NULL;
		strv_release(&names);
		if (!e)
			return;
		move_enum(x, e, to, e->name);
	} else if (!strcmp(ot, "OBJECT_VIEW") || !strcmp(ot, "OBJECT_MATVIEW")) {
		rx_warn(x, "ALTER VIEW ... SET SCHEMA is not modelled");
	}
}
