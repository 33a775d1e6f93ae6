/*
 * replay: apply SQL statements to the catalog the way PostgreSQL applies
 * them to its own, from libpg_query parse trees. Names that PostgreSQL
 * chooses (constraints, indexes, sequences) are chosen by the same rules, so
 * the replayed DAG equals what introspecting the database would give.
 * Statements that change nothing in the DAG (DML, functions, grants,
 * comments) are passed over; DDL this model cannot follow is a warning.
 */
#include "replay_int.h"

#include <pg_query.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "xalloc.h"

#define NAMEDATALEN 64

void replay_init(struct replay *r, struct catalog *c)
{
	memset(r, 0, sizeof(*r));
	r->cat = c;
	r->search_schema = xstrdup("public");
}

void replay_release(struct replay *r)
{
	free(r->search_schema);
	r->search_schema = NULL;
	strv_release(&r->temp_tables);
	strv_release(&r->fn_names);
	strv_release(&r->fn_bodies);
}

bool rx_is_temp(const struct replay_ctx *x, const cJSON *rv)
{
	return !sql_jstr(rv, "schemaname") && strv_index(&x->r->temp_tables, sql_jstr(rv, "relname")) >= 0;
}

void rx_note_temp(struct replay_ctx *x, const cJSON *rv)
{
	const char *rp = sql_jstr(rv, "relpersistence");
	if (rp && rp[0] == 't' && strv_index(&x->r->temp_tables, sql_jstr(rv, "relname")) < 0)
		strv_push(&x->r->temp_tables, sql_jstr(rv, "relname"));
}

void rx_warn(const struct replay_ctx *x, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!x->r->quiet)
		warning_at(x->file, x->line, "%s", msg);
	x->r->warned++;
}

/* ---- name resolution ---- */

const char *rx_schema(const struct replay_ctx *x, const cJSON *rv)
{
	const char *s = sql_jstr(rv, "schemaname");
	return s ? s : x->r->search_schema;
}

static struct cat_table *lookup_table(const struct replay_ctx *x, const char *schema, const char *name)
{
	if (schema)
		return catalog_table(x->r->cat, schema, name);
	struct cat_table *t = catalog_table(x->r->cat, x->r->search_schema, name);
	return t ? t : catalog_table(x->r->cat, "public", name);
}

struct cat_table *rx_table(const struct replay_ctx *x, const cJSON *rv)
{
	return lookup_table(x, sql_jstr(rv, "schemaname"), sql_jstr(rv, "relname"));
}

struct cat_table *rx_table_names(const struct replay_ctx *x, const struct strv *names)
{
	if (names->n == 0)
		return NULL;
	return lookup_table(x, names->n > 1 ? names->v[names->n - 2] : NULL, names->v[names->n - 1]);
}

struct cat_view *rx_view(const struct replay_ctx *x, const cJSON *rv)
{
	const char *s = sql_jstr(rv, "schemaname"), *n = sql_jstr(rv, "relname");
	if (s)
		return catalog_view(x->r->cat, s, n);
	struct cat_view *v = catalog_view(x->r->cat, x->r->search_schema, n);
	return v ? v : catalog_view(x->r->cat, "public", n);
}

char *rx_rel_qname(const struct replay_ctx *x, const cJSON *rv)
{
	struct cat_table *t = rx_table(x, rv);
	if (t)
		return xstrdup(t->qname);
	struct cat_view *v = rx_view(x, rv);
	if (v)
		return xstrdup(v->qname);
	return cat_qname(rx_schema(x, rv), sql_jstr(rv, "relname"));
}

/* ---- columns ---- */

static const char *fk_action(const char *c)
{
	switch (c ? c[0] : 'a') {
	case 'r': return "restrict";
	case 'c': return "cascade";
	case 'n': return "set null";
	case 'd': return "set default";
	default: return "no action";
	}
}

static char *expr_text(const struct replay_ctx *x, const cJSON *e)
{
	return sql_deparse_expr(e, x->src);
}

/* A NULL constant (possibly cast): PostgreSQL stores no default for it. */
static bool is_null_const(const cJSON *e)
{
	const cJSON *cast = sql_node(e, "TypeCast");
	if (cast)
		e = sql_jget(cast, "arg");
	return sql_node(e, "A_Const") && sql_jbool(sql_node(e, "A_Const"), "isnull");
}

/* A type's spelling without its modifier: "character varying(20)" ->
 * "character varying", "timestamp(3) without time zone" -> "timestamp
 * without time zone". */
static char *without_typmod(const char *type)
{
	const char *open = strchr(type, '('), *close = open ? strchr(open, ')') : NULL;
	if (!close)
		return xstrdup(type);
	return xasprintf("%.*s%s", (int)(open - type), type, close + 1);
}

/* default_text: the stored default of expression e for column col, NULL
 * when there is none. PostgreSQL stores no NULL default, except on a column
 * of a domain type, where it overrides the domain's own default (and
 * pg_get_expr prints it cast to the domain's innermost base type). */
static char *default_text(const struct replay_ctx *x, const struct cat_column *col, const cJSON *e)
{
	if (!e)
		return NULL;
	if (!is_null_const(e))
		return expr_text(x, e);
	const struct cat_domain *d = col ? catalog_domain_of_type(x->r->cat, col->type) : NULL;
	for (int depth = 0; d && depth < 32; depth++) {
		const struct cat_domain *inner = catalog_domain_of_type(x->r->cat, d->base_type);
		if (!inner) {
			if (!strcmp(d->base_type, "unknown"))
				return NULL;
			char *base = without_typmod(d->base_type), *out = xasprintf("NULL::%s", base);
			free(base);
			return out;
		}
		d = inner;
	}
	return NULL;
}

/* Column-level constraints that shape the column itself. */
static void apply_column_constraint(struct replay_ctx *x, struct cat_column *col, const cJSON *con)
{
	const char *ct = sql_jstr(con, "contype");
	if (!ct)
		return;
	if (!strcmp(ct, "CONSTR_NOTNULL") || !strcmp(ct, "CONSTR_PRIMARY")) {
		col->nullable = false;
	} else if (!strcmp(ct, "CONSTR_NULL")) {
		col->nullable = true;
	} else if (!strcmp(ct, "CONSTR_DEFAULT")) {
		char *d = default_text(x, col, sql_jget(con, "raw_expr"));
		column_set_default(col, d);
		free(d);
	} else if (!strcmp(ct, "CONSTR_IDENTITY")) {
		const char *w = sql_jstr(con, "generated_when");
		column_set_identity(col, w && w[0] == 'a' ? "always" : "by default");
		col->nullable = false;
	} else if (!strcmp(ct, "CONSTR_GENERATED")) {
		char *g = expr_text(x, sql_jget(con, "raw_expr"));
		column_set_generated(col, g);
		free(g);
	}
}

/* serial: integer NOT NULL DEFAULT nextval('<table>_<col>_seq'). */
static void make_serial(struct replay_ctx *x, struct cat_table *t, struct cat_column *col)
{
	char *seq = catalog_choose_relname(x->r->cat, t->schema, t->name, col->name, "seq");
	char *q = cat_type_name(t->schema, seq, false); /* regclass prints like a type name */
	char *lit = sql_quote_literal(q);
	char *def = xasprintf("nextval(%s::regclass)", lit);
	column_set_default(col, def);
	col->nullable = false;
	free(def);
	free(lit);
	free(q);
	free(seq);
}

/* A user type named without a schema lives where search_path finds it. */
static char *column_type(struct replay_ctx *x, const cJSON *tn, const char **serial)
{
	char *type = sql_format_type(tn, serial);
	struct strv names = STRV_INIT;
	sql_name_list(sql_jget(tn, "names"), &names);
	if (names.n == 1 && !sql_type_is_builtin(tn) && strcmp(x->r->search_schema, "public") &&
	    (catalog_enum(x->r->cat, x->r->search_schema, names.v[0]) ||
	     catalog_domain(x->r->cat, x->r->search_schema, names.v[0]))) {
		free(type);
		type = cat_type_name(x->r->search_schema, names.v[0],
				     cJSON_GetArraySize(sql_jget(tn, "arrayBounds")) > 0);
	}
	strv_release(&names);
	return type;
}

/* Add a ColumnDef; its table-level constraints (PK, UNIQUE, CHECK, FK) are
 * queued in later[] to be applied in PostgreSQL's order. */
static struct cat_column *add_column_def(struct replay_ctx *x, struct cat_table *t, const cJSON *cd)
{
	const char *serial;
	const char *name = sql_jstr(cd, "colname");
	char *type = column_type(x, sql_jget(cd, "typeName"), &serial);
	struct cat_column *col = table_add_column(t, name, type);
	free(type);
	if (!col) {
		rx_warn(x, "column \"%s\" of %s already exists", name, t->qname);
		return NULL;
	}
	if (serial)
		make_serial(x, t, col);
	const cJSON *con;
	cJSON_ArrayForEach(con, sql_jget(cd, "constraints"))
		apply_column_constraint(x, col, sql_node(con, "Constraint"));
	return col;
}

/* ---- constraints ---- */

/* ChooseIndexNameAddition / ChooseForeignKeyConstraintNameAddition:
 * the names joined by "_", cut at NAMEDATALEN - 1 bytes. */
static char *name_addition(const struct strv *names)
{
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < names->n && b.len < NAMEDATALEN - 1; i++) {
		if (b.len)
			buf_addc(&b, '_');
		buf_adds(&b, names->v[i]);
	}
	if (b.len > NAMEDATALEN - 1)
		b.s[b.len = NAMEDATALEN - 1] = '\0';
	return buf_detach(&b);
}

/* Every distinct column an expression references (for CHECK names). */
static void collect_columnrefs(const cJSON *n, struct strv *out)
{
	for (const cJSON *c = n ? n->child : NULL; c; c = c->next) {
		if (c->string && !strcmp(c->string, "ColumnRef")) {
			struct strv f = STRV_INIT;
			sql_name_list(sql_jget(c, "fields"), &f);
			if (f.n && strv_index(out, f.v[f.n - 1]) < 0)
				strv_push(out, f.v[f.n - 1]);
			strv_release(&f);
		} else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			collect_columnrefs(c, out);
		}
	}
}

static void add_check(struct replay_ctx *x, struct cat_table *t, const cJSON *con)
{
	const cJSON *e = sql_jget(con, "raw_expr");
	const char *name = sql_jstr(con, "conname");
	char *chosen = NULL;
	if (!name) {
		struct strv cols = STRV_INIT;
		collect_columnrefs(e, &cols);
		chosen = catalog_choose_conname(x->r->cat, t->schema, t->name, cols.n == 1 ? cols.v[0] : NULL,
						"check");
		strv_release(&cols);
		name = chosen;
	}
	char *text = expr_text(x, e);
	struct cat_check *ck = catalog_add_check(x->r->cat, t->qname, name, text);
	ck->validated = !sql_jbool(con, "skip_validation");
	free(text);
	free(chosen);
}

static void add_foreign_key(struct replay_ctx *x, struct cat_table *t, const cJSON *con, const char *colname)
{
	struct strv cols = STRV_INIT, refcols = STRV_INIT;
	if (colname)
		strv_push(&cols, colname);
	else
		sql_name_list(sql_jget(con, "fk_attrs"), &cols);
	sql_name_list(sql_jget(con, "pk_attrs"), &refcols);
	const cJSON *pk = sql_jget(con, "pktable");
	struct cat_table *ref = rx_table(x, pk);
	if (!ref)
		rx_warn(x, "foreign key references unknown table \"%s\"", sql_jstr(pk, "relname"));
	if (refcols.n == 0 && ref)
		strv_copy(&refcols, &ref->pk);
	const char *name = sql_jstr(con, "conname");
	char *chosen = NULL;
	if (!name) {
		char *add = name_addition(&cols);
		name = chosen = catalog_choose_conname(x->r->cat, t->schema, t->name, add, "fkey");
		free(add);
	}
	struct cat_fk *fk = catalog_add_fk(x->r->cat, t->qname, name);
	free(fk->ref_table);
	fk->ref_table = ref ? xstrdup(ref->qname) : rx_rel_qname(x, pk);
	strv_copy(&fk->columns, &cols);
	strv_copy(&fk->ref_columns, &refcols);
	free(fk->on_delete);
	free(fk->on_update);
	fk->on_delete = xstrdup(fk_action(sql_jstr(con, "fk_del_action")));
	fk->on_update = xstrdup(fk_action(sql_jstr(con, "fk_upd_action")));
	fk->validated = !sql_jbool(con, "skip_validation");
	strv_release(&cols);
	strv_release(&refcols);
	free(chosen);
}

/* An existing index becomes the index of a PRIMARY KEY / UNIQUE constraint
 * (ADD CONSTRAINT ... USING INDEX): PostgreSQL renames it to the constraint. */
static void constraint_using_index(struct replay_ctx *x, struct cat_table *t, const cJSON *con, bool primary)
{
	const char *iname = sql_jstr(con, "indexname"), *cname = sql_jstr(con, "conname");
	struct cat_index *ix = catalog_index(x->r->cat, t->schema, iname);
	if (!ix) {
		rx_warn(x, "USING INDEX names unknown index \"%s\"", iname);
		return;
	}
	if (cname)
		catalog_rename_index(x->r->cat, ix, cname);
	free(ix->constraint);
	ix->constraint = xstrdup(ix->name);
	if (primary) {
		ix->primary = true;
		strv_release(&t->pk);
		strv_copy(&t->pk, &ix->columns);
		free(t->pk_name);
		t->pk_name = xstrdup(ix->name);
		for (size_t i = 0; i < ix->columns.n; i++) {
			struct cat_column *col = table_column(t, ix->columns.v[i]);
			if (col)
				col->nullable = false;
		}
	}
}

static void index_columns_of(const cJSON *list, struct strv *cols)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
	{
		const char *s = sql_strval(it);
		const cJSON *ie = sql_node(it, "IndexElem");
		if (s)
			strv_push(cols, s);
		else if (ie && sql_jstr(ie, "name"))
			strv_push(cols, sql_jstr(ie, "name"));
	}
}

static void add_index_constraint(struct replay_ctx *x, struct cat_table *t, const cJSON *con,
				 const char *colname, const char *contype)
{
	bool primary = !strcmp(contype, "CONSTR_PRIMARY");
	bool excl = !strcmp(contype, "CONSTR_EXCLUSION");
	if (sql_jstr(con, "indexname")) {
		constraint_using_index(x, t, con, primary);
		return;
	}
	struct strv cols = STRV_INIT;
	if (colname)
		strv_push(&cols, colname);
	else if (excl) {
		const cJSON *pair;
		cJSON_ArrayForEach(pair, sql_jget(con, "exclusions"))
			index_columns_of(sql_jget(sql_node(pair, "List"), "items"), &cols);
	} else
		index_columns_of(sql_jget(con, "keys"), &cols);
	const char *label = primary ? "pkey" : excl ? "excl"
						    : "key";
	struct cat_index *ix = rx_new_index(x, t->schema, t->name, t->qname, &cols, &cols,
					    sql_jstr(con, "conname"), label);
	ix->unique = !excl;
	ix->primary = primary;
	ix->constraint = xstrdup(ix->name);
	if (excl) {
		free(ix->method);
		ix->method = xstrdup(sql_jstr(con, "access_method") ? sql_jstr(con, "access_method") : "gist");
	}
	if (primary) {
		strv_release(&t->pk);
		strv_copy(&t->pk, &cols);
		free(t->pk_name);
		t->pk_name = xstrdup(ix->name);
		for (size_t i = 0; i < cols.n; i++) {
			struct cat_column *col = table_column(t, cols.v[i]);
			if (col)
				col->nullable = false;
		}
	}
	rx_index_done(x, ix, &cols, label);
	strv_release(&cols);
}

/* constraint_taken: why PostgreSQL would refuse to add a constraint named
 * name to t ("constraint ... already exists", or, for one backed by an
 * index, "relation ... already exists"), or NULL. */
static const char *constraint_taken(const struct catalog *c, const struct cat_table *t, const char *name,
				    bool index_backed)
{
	if (catalog_check(c, t->qname, name) || catalog_fk(c, t->qname, name))
		return "constraint";
	const struct cat_index *ix = catalog_index(c, t->schema, name);
	if (ix && ix->constraint && !strcmp(ix->table, t->qname))
		return "constraint";
	if (index_backed && (ix || catalog_table(c, t->schema, name) || catalog_view(c, t->schema, name)))
		return "relation";
	return NULL;
}

void rx_add_constraint(struct replay_ctx *x, struct cat_table *t, const cJSON *con, const char *colname)
{
	const char *ct = sql_jstr(con, "contype");
	if (!ct)
		return;
	/* what PostgreSQL refuses is not applied (a guard the replay could not
	 * decide, a file that failed on the real database) */
	bool primary = !strcmp(ct, "CONSTR_PRIMARY");
	bool index_backed = primary || !strcmp(ct, "CONSTR_UNIQUE") || !strcmp(ct, "CONSTR_EXCLUSION");
	const char *cname = sql_jstr(con, "conname");
	if (primary && t->pk_name) {
		rx_warn(x, "multiple primary keys for table %s are not allowed: the second one is not applied", t->qname);
		return;
	}
	const char *using_index = sql_jstr(con, "indexname"), *taken;
	if (cname && !(using_index && !strcmp(using_index, cname)) && (index_backed || !strcmp(ct, "CONSTR_CHECK") || !strcmp(ct, "CONSTR_FOREIGN")) &&
	    (taken = constraint_taken(x->r->cat, t, cname, index_backed))) {
		if (!strcmp(taken, "constraint"))
			rx_warn(x, "constraint \"%s\" for %s already exists: not applied", cname, t->qname);
		else
			rx_warn(x, "relation \"%s.%s\" already exists: constraint \"%s\" not applied", t->schema, cname,
				cname);
		return;
	}
	if (!strcmp(ct, "CONSTR_CHECK"))
		add_check(x, t, con);
	else if (!strcmp(ct, "CONSTR_FOREIGN"))
		add_foreign_key(x, t, con, colname);
	else if (!strcmp(ct, "CONSTR_PRIMARY") || !strcmp(ct, "CONSTR_UNIQUE") ||
		 !strcmp(ct, "CONSTR_EXCLUSION"))
		add_index_constraint(x, t, con, colname, ct);
	else if (!strcmp(ct, "CONSTR_NOTNULL") && colname) {
		struct cat_column *col = table_column(t, colname);
		if (col)
			col->nullable = false;
	}
}

/* ---- indexes (shared with CREATE INDEX) ---- */

static void clone_to_partitions(struct replay_ctx *x, const struct cat_index *ix, const struct strv *colnames,
				const char *label)
{
	const struct cat_table *parent = catalog_table_q(x->r->cat, ix->table);
	if (parent && !parent->partition_by)
		return; /* not partitioned: no partitions (and no scan of every table) */
	for (size_t i = 0; i < x->r->cat->ntables; i++) {
		struct cat_table *p = x->r->cat->tables[i];
		if (!p->partition_of || strcmp(p->partition_of, ix->table))
			continue;
		struct cat_index *c = rx_new_index(x, p->schema, p->name, p->qname, &ix->columns, colnames,
						   NULL, label);
		c->unique = ix->unique;
		c->primary = ix->primary;
		free(c->method);
		c->method = xstrdup(ix->method);
		if (ix->predicate)
			c->predicate = xstrdup(ix->predicate);
		if (ix->constraint)
			c->constraint = xstrdup(c->name);
	}
}

struct cat_index *rx_new_index(struct replay_ctx *x, const char *schema, const char *relname,
			       const char *qname, const struct strv *cols, const struct strv *colnames,
			       const char *name, const char *label)
{
	char *chosen = NULL;
	if (!name) {
		char *add = strcmp(label, "pkey") ? name_addition(colnames) : NULL;
		name = chosen = catalog_choose_relname(x->r->cat, schema, relname, add, label);
		free(add);
	}
	struct cat_index *ix = catalog_add_index(x->r->cat, schema, name, qname);
	strv_copy(&ix->columns, cols);
	free(chosen);
	return ix;
}

/* Called after an index is fully described: copy it onto partitions. */
void rx_index_done(struct replay_ctx *x, struct cat_index *ix, const struct strv *colnames, const char *label)
{
	clone_to_partitions(x, ix, colnames, label);
}

/* ---- CREATE TABLE ---- */

static void inherit_from_parent(struct cat_table *t, struct cat_table *parent)
{
	for (size_t i = 0; i < parent->ncols; i++) {
		const struct cat_column *pc = &parent->cols[i];
		struct cat_column *col = table_add_column(t, pc->name, pc->type);
		if (!col)
			continue;
		col->nullable = pc->nullable;
		column_set_default(col, pc->def);
		column_set_identity(col, pc->identity);
		column_set_generated(col, pc->generated);
	}
	strv_copy(&t->pk, &parent->pk);
	free(t->partition_of);
	t->partition_of = xstrdup(parent->qname);
}

/* A new partition gets a copy of each of its parent's indexes, foreign keys
 * and checks (indexes under new names, constraints under the same). */
static void clone_parent_objects(struct replay_ctx *x, struct cat_table *t, const char *parent)
{
	struct catalog *c = x->r->cat;
	size_t nix = c->nindexes, nfk = c->nfks, nck = c->nchecks;
	for (size_t i = 0; i < nix; i++) {
		struct cat_index *pix = c->indexes[i];
		if (strcmp(pix->table, parent))
			continue;
		const char *label = pix->primary ? "pkey" : pix->constraint ? "key"
									    : "idx";
		struct cat_index *ix = rx_new_index(x, t->schema, t->name, t->qname, &pix->columns,
						    &pix->columns, NULL, label);
		pix = c->indexes[i];
		ix->unique = pix->unique;
		ix->primary = pix->primary;
		free(ix->method);
		ix->method = xstrdup(pix->method);
		if (pix->predicate)
			ix->predicate = xstrdup(pix->predicate);
		if (pix->constraint)
			ix->constraint = xstrdup(ix->name);
		if (ix->primary) {
			free(t->pk_name);
			t->pk_name = xstrdup(ix->name);
		}
	}
	for (size_t i = 0; i < nfk; i++) {
		struct cat_fk *p = c->fks[i];
		if (strcmp(p->table, parent))
			continue;
		struct cat_fk *fk = catalog_add_fk(c, t->qname, p->name);
		p = c->fks[i];
		free(fk->ref_table);
		fk->ref_table = xstrdup(p->ref_table);
		strv_copy(&fk->columns, &p->columns);
		strv_copy(&fk->ref_columns, &p->ref_columns);
		free(fk->on_delete);
		free(fk->on_update);
		fk->on_delete = xstrdup(p->on_delete);
		fk->on_update = xstrdup(p->on_update);
	}
	for (size_t i = 0; i < nck; i++)
		if (!strcmp(c->checks[i]->table, parent))
			catalog_add_check(c, t->qname, c->checks[i]->name, c->checks[i]->expression);
}

/* The partition key: column names, "" for an expression. */
static void partition_key(const cJSON *spec, struct strv *key)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, sql_jget(spec, "partParams"))
	{
		const char *col = sql_jstr(sql_node(it, "PartitionElem"), "name");
		strv_push(key, col ? col : "");
	}
}

/* A bound datum: MINVALUE / MAXVALUE (parsed as column names), else the
 * constant expression. */
static void bound_datums(const struct replay_ctx *x, struct buf *b, const cJSON *list)
{
	const cJSON *it;
	buf_addc(b, '(');
	cJSON_ArrayForEach(it, list)
	{
		const cJSON *cr = sql_node(it, "ColumnRef");
		const char *word = cr ? sql_strval(cJSON_GetArrayItem(sql_jget(cr, "fields"), 0)) : NULL;
		if (it != list->child)
			buf_adds(b, ", ");
		if (word && (!strcmp(word, "minvalue") || !strcmp(word, "maxvalue"))) {
			buf_adds(b, !strcmp(word, "minvalue") ? "MINVALUE" : "MAXVALUE");
		} else {
			char *e = sql_deparse_expr(it, x->src);
			buf_adds(b, e);
			free(e);
		}
	}
	buf_addc(b, ')');
}

/* A PartitionBoundSpec as pg_get_expr(relpartbound) writes it. */
static char *partition_bound(const struct replay_ctx *x, const cJSON *spec)
{
	if (sql_jbool(spec, "is_default"))
		return xstrdup("DEFAULT");
	const char *s = sql_jstr(spec, "strategy");
	struct buf b;
	buf_init(&b);
	if (s && !strcmp(s, "h")) {
		buf_addf(&b, "FOR VALUES WITH (modulus %ld, remainder %ld)", sql_jint(spec, "modulus"),
			 sql_jint(spec, "remainder"));
	} else if (s && !strcmp(s, "l")) {
		buf_adds(&b, "FOR VALUES IN ");
		bound_datums(x, &b, sql_jget(spec, "listdatums"));
	} else {
		buf_adds(&b, "FOR VALUES FROM ");
		bound_datums(x, &b, sql_jget(spec, "lowerdatums"));
		buf_adds(&b, " TO ");
		bound_datums(x, &b, sql_jget(spec, "upperdatums"));
	}
	return buf_detach(&b);
}

static const char *partition_strategy(const cJSON *spec)
{
	const char *s = sql_jstr(spec, "strategy");
	if (!s)
		return NULL;
	if (strstr(s, "LIST") || !strcmp(s, "list"))
		return "list";
	if (strstr(s, "HASH") || !strcmp(s, "hash"))
		return "hash";
	return "range";
}

/* CREATE TABLE ... (LIKE src INCLUDING ...): columns with NOT NULL always;
 * defaults, CHECK constraints and indexes when the options ask for them
 * (CREATE_TABLE_LIKE_* bits of PostgreSQL 15). */
enum { LIKE_CONSTRAINTS = 1 << 2,
       LIKE_DEFAULTS = 1 << 3,
       LIKE_IDENTITY = 1 << 5,
       LIKE_INDEXES = 1 << 6 };

static void copy_like(struct replay_ctx *x, struct cat_table *t, const cJSON *like)
{
	struct cat_table *src = rx_table(x, sql_jget(like, "relation"));
	long opt = sql_jint(like, "options");
	if (!src) {
		rx_warn(x, "LIKE names unknown table \"%s\"", sql_jstr(sql_jget(like, "relation"), "relname"));
		return;
	}
	for (size_t i = 0; i < src->ncols; i++) {
		struct cat_column *col = table_add_column(t, src->cols[i].name, src->cols[i].type);
		if (!col)
			continue;
		col->nullable = src->cols[i].nullable;
		if (opt & LIKE_DEFAULTS)
			column_set_default(col, src->cols[i].def);
		if (opt & LIKE_IDENTITY)
			column_set_identity(col, src->cols[i].identity);
	}
	struct catalog *c = x->r->cat;
	for (size_t i = 0, n = c->nchecks; (opt & LIKE_CONSTRAINTS) && i < n; i++)
		if (!strcmp(c->checks[i]->table, src->qname))
			catalog_add_check(c, t->qname, c->checks[i]->name, c->checks[i]->expression);
	for (size_t i = 0, n = c->nindexes; (opt & LIKE_INDEXES) && i < n; i++) {
		struct cat_index *six = c->indexes[i];
		if (strcmp(six->table, src->qname))
			continue;
		const char *label = six->primary ? "pkey" : six->constraint ? "key"
									    : "idx";
		struct cat_index *ix = rx_new_index(x, t->schema, t->name, t->qname, &six->columns, &six->columns,
						    NULL, label);
		six = c->indexes[i];
		ix->unique = six->unique;
		ix->primary = six->primary;
		free(ix->method);
		ix->method = xstrdup(six->method);
		if (six->predicate)
			ix->predicate = xstrdup(six->predicate);
		if (six->constraint)
			ix->constraint = xstrdup(ix->name);
		if (ix->primary) {
			strv_copy(&t->pk, &six->columns);
			t->pk_name = xstrdup(ix->name);
		}
	}
}

/* Table elements in PostgreSQL's order: columns first, then CHECK
 * constraints, then PRIMARY KEY/UNIQUE indexes, then foreign keys. */
static void apply_table_elements(struct replay_ctx *x, struct cat_table *t, const cJSON *elts)
{
	static const char *const passes[][3] = {
		{"CONSTR_CHECK", NULL, NULL},
		{"CONSTR_PRIMARY", "CONSTR_UNIQUE", "CONSTR_EXCLUSION"},
		{"CONSTR_FOREIGN", "CONSTR_NOTNULL", NULL},
	};
	const cJSON *e;
	cJSON_ArrayForEach(e, elts)
	{
		const cJSON *cd = sql_node(e, "ColumnDef");
		if (cd && !table_column(t, sql_jstr(cd, "colname")))
			add_column_def(x, t, cd);
		else if (cd) /* a partition re-stating an inherited column */
			for (const cJSON *con = sql_jget(cd, "constraints") ? sql_jget(cd, "constraints")->child : NULL;
			     con; con = con->next)
				apply_column_constraint(x, table_column(t, sql_jstr(cd, "colname")),
							sql_node(con, "Constraint"));
		else if (sql_node(e, "TableLikeClause"))
			copy_like(x, t, sql_node(e, "TableLikeClause"));
	}
	for (size_t p = 0; p < 3; p++) {
		cJSON_ArrayForEach(e, elts)
		{
			const cJSON *cd = sql_node(e, "ColumnDef"), *con = sql_node(e, "Constraint"), *cc;
			if (con && sql_jstr(con, "contype")) {
				for (int k = 0; k < 3; k++)
					if (passes[p][k] && !strcmp(sql_jstr(con, "contype"), passes[p][k]))
						rx_add_constraint(x, t, con, NULL);
				continue;
			}
			cJSON_ArrayForEach(cc, sql_jget(cd, "constraints"))
			{
				const cJSON *c2 = sql_node(cc, "Constraint");
				const char *ct = sql_jstr(c2, "contype");
				for (int k = 0; ct && k < 3; k++)
					if (passes[p][k] && !strcmp(ct, passes[p][k]) && strcmp(ct, "CONSTR_NOTNULL"))
						rx_add_constraint(x, t, c2, sql_jstr(cd, "colname"));
			}
		}
	}
}

void rx_create_table(struct replay_ctx *x, const cJSON *n)
{
	const cJSON *rv = sql_jget(n, "relation");
	const char *rp = sql_jstr(rv, "relpersistence");
	if (rp && rp[0] == 't') {
		rx_note_temp(x, rv); /* temporary tables are not part of the schema */
		return;
	}
	const char *schema = rx_schema(x, rv), *name = sql_jstr(rv, "relname");
	if (catalog_table(x->r->cat, schema, name) || catalog_view(x->r->cat, schema, name)) {
		if (!sql_jbool(n, "if_not_exists"))
			rx_warn(x, "relation \"%s.%s\" already exists", schema, name);
		return;
	}
	if (strv_index(&x->r->cat->schemas, schema) < 0)
		strv_push(&x->r->cat->schemas, schema);
	struct cat_table *t = catalog_add_table(x->r->cat, schema, name);
	t->unlogged = rp && rp[0] == 'u';
	struct cat_table *parent = NULL;
	const cJSON *inh = sql_jget(n, "inhRelations");
	if (cJSON_GetArraySize(inh) > 0) {
		parent = rx_table(x, sql_node(inh->child, "RangeVar"));
		if (!parent)
			rx_warn(x, "parent table of %s is unknown", t->qname);
		else
			inherit_from_parent(t, parent);
		if (parent && !sql_jget(n, "partbound")) {
			free(t->partition_of);
			t->partition_of = NULL; /* INHERITS, not a partition */
		}
	}
	const char *strategy = partition_strategy(sql_jget(n, "partspec"));
	if (strategy) {
		t->partition_by = xstrdup(strategy);
		partition_key(sql_jget(n, "partspec"), &t->partition_key);
	}
	if (t->partition_of && sql_jget(n, "partbound"))
		t->partition_bound = partition_bound(x, sql_jget(n, "partbound"));
	apply_table_elements(x, t, sql_jget(n, "tableElts"));
	if (parent && t->partition_of)
		clone_parent_objects(x, t, parent->qname);
}

/* ---- ALTER TABLE ---- */

static struct cat_column *cmd_column(struct replay_ctx *x, struct cat_table *t, const cJSON *cmd)
{
	const char *name = sql_jstr(cmd, "name");
	struct cat_column *col = table_column(t, name);
	if (!col && !sql_jbool(cmd, "missing_ok"))
		rx_warn(x, "column \"%s\" of %s does not exist", name, t->qname);
	return col;
}

static void at_add_column(struct replay_ctx *x, struct cat_table *t, const cJSON *cmd)
{
	const cJSON *cd = sql_node(sql_jget(cmd, "def"), "ColumnDef");
	if (table_column(t, sql_jstr(cd, "colname"))) {
		if (!sql_jbool(cmd, "missing_ok"))
			rx_warn(x, "column \"%s\" of %s already exists", sql_jstr(cd, "colname"), t->qname);
		return;
	}
	struct cat_column *col = add_column_def(x, t, cd);
	if (!col)
		return;
	/* a new column also appears in every partition */
	for (size_t i = 0; i < x->r->cat->ntables; i++) {
		struct cat_table *p = x->r->cat->tables[i];
		if (p->partition_of && !strcmp(p->partition_of, t->qname) && !table_column(p, col->name)) {
			struct cat_column *pc = table_add_column(p, col->name, col->type);
			pc->nullable = col->nullable;
			column_set_default(pc, col->def);
		}
	}
	char *colname = xstrdup(col->name);
	static const char *const order[] = {"CONSTR_CHECK", "CONSTR_PRIMARY", "CONSTR_UNIQUE", "CONSTR_FOREIGN"};
	for (size_t k = 0; k < 4; k++) {
		const cJSON *cc;
		cJSON_ArrayForEach(cc, sql_jget(cd, "constraints"))
		{
			const cJSON *con = sql_node(cc, "Constraint");
			if (sql_jstr(con, "contype") && !strcmp(sql_jstr(con, "contype"), order[k]))
				rx_add_constraint(x, t, con, colname);
		}
	}
	free(colname);
}

static void at_alter_type(struct replay_ctx *x, struct cat_table *t, const cJSON *cmd)
{
	struct cat_column *col = cmd_column(x, t, cmd);
	if (!col)
		return;
	const cJSON *cd = sql_node(sql_jget(cmd, "def"), "ColumnDef");
	char *type = column_type(x, sql_jget(cd, "typeName"), NULL);
	column_set_type(col, type);
	for (size_t i = 0; i < x->r->cat->ntables; i++) {
		struct cat_table *p = x->r->cat->tables[i];
		struct cat_column *pc;
		if (p->partition_of && !strcmp(p->partition_of, t->qname) && (pc = table_column(p, col->name)))
			column_set_type(pc, type);
	}
	free(type);
}

static void at_set_not_null(struct replay_ctx *x, struct cat_table *t, const cJSON *cmd, bool notnull)
{
	struct cat_column *col = cmd_column(x, t, cmd);
	if (!col)
		return;
	col->nullable = !notnull;
	for (size_t i = 0; i < x->r->cat->ntables; i++) {
		struct cat_table *p = x->r->cat->tables[i];
		struct cat_column *pc;
		if (p->partition_of && !strcmp(p->partition_of, t->qname) && (pc = table_column(p, col->name)))
			pc->nullable = !notnull;
	}
}

static void at_default(struct replay_ctx *x, struct cat_table *t, const cJSON *cmd)
{
	struct cat_column *col = cmd_column(x, t, cmd);
	if (!col)
		return;
	char *d = default_text(x, col, sql_jget(cmd, "def"));
	column_set_default(col, d);
	free(d);
}

/* DROP CONSTRAINT: a PK/UNIQUE/EXCLUDE constraint takes its index along. */
static void at_drop_constraint(struct replay_ctx *x, struct cat_table *t, const cJSON *cmd)
{
	const char *name = sql_jstr(cmd, "name");
	struct catalog *c = x->r->cat;
	struct cat_fk *fk = catalog_fk(c, t->qname, name);
	struct cat_check *ck = catalog_check(c, t->qname, name);
	bool found = fk || ck;
	if (fk)
		catalog_drop_fk(c, fk);
	if (ck)
		catalog_drop_check(c, ck);
	for (size_t i = c->nindexes; !found && i-- > 0;) {
		struct cat_index *ix = c->indexes[i];
		if (ix->constraint && !strcmp(ix->constraint, name) && !strcmp(ix->table, t->qname)) {
			/* partitions' copies go with it */
			for (size_t k = c->ntables; k-- > 0;) {
				struct cat_table *p = c->tables[k];
				if (!p->partition_of || strcmp(p->partition_of, t->qname))
					continue;
				struct cat_index *pix = ix->primary ? catalog_pk_index(c, p->qname) : NULL;
				if (pix)
					catalog_drop_index(c, pix);
			}
			catalog_drop_index(c, ix);
			found = true;
		}
	}
	for (size_t k = c->ntables; k-- > 0;) {
		struct cat_table *p = c->tables[k];
		if (p->partition_of && !strcmp(p->partition_of, t->qname)) {
			struct cat_fk *pfk = catalog_fk(c, p->qname, name);
			struct cat_check *pck = catalog_check(c, p->qname, name);
			if (pfk)
				catalog_drop_fk(c, pfk);
			if (pck)
				catalog_drop_check(c, pck);
		}
	}
	if (!found && !sql_jbool(cmd, "missing_ok"))
		rx_warn(x, "constraint \"%s\" of %s does not exist", name, t->qname);
}

static void at_validate(struct replay_ctx *x, struct cat_table *t, const cJSON *cmd)
{
	const char *name = sql_jstr(cmd, "name");
	struct cat_fk *fk = catalog_fk(x->r->cat, t->qname, name);
	struct cat_check *ck = catalog_check(x->r->cat, t->qname, name);
	if (fk)
		fk->validated = true;
	if (ck)
		ck->validated = true;
}

static void at_attach_partition(struct replay_ctx *x, struct cat_table *t, const cJSON *cmd)
{
	const cJSON *pc = sql_node(sql_jget(cmd, "def"), "PartitionCmd");
	struct cat_table *p = rx_table(x, sql_jget(pc, "name"));
	if (!p) {
		rx_warn(x, "ATTACH PARTITION of an unknown table");
		return;
	}
	free(p->partition_of);
	p->partition_of = xstrdup(t->qname);
	free(p->partition_bound);
	p->partition_bound = sql_jget(pc, "bound") ? partition_bound(x, sql_jget(pc, "bound")) : NULL;
	/* indexes the partition lacks are created; matching ones are attached */
	struct catalog *c = x->r->cat;
	for (size_t i = 0; i < c->nindexes; i++) {
		struct cat_index *pix = c->indexes[i];
		if (strcmp(pix->table, t->qname))
			continue;
		bool have = false;
		for (size_t k = 0; k < c->nindexes && !have; k++)
			have = !strcmp(c->indexes[k]->table, p->qname) &&
			       strv_equal(&c->indexes[k]->columns, &pix->columns) &&
			       c->indexes[k]->unique == pix->unique;
		if (have)
			continue;
		const char *label = pix->primary ? "pkey" : pix->constraint ? "key"
									    : "idx";
		struct cat_index *ix = rx_new_index(x, p->schema, p->name, p->qname, &pix->columns,
						    &pix->columns, NULL, label);
		pix = c->indexes[i];
		ix->unique = pix->unique;
		ix->primary = pix->primary;
		if (pix->constraint)
			ix->constraint = xstrdup(ix->name);
	}
}

static void at_detach_partition(struct replay_ctx *x, const cJSON *cmd)
{
	const cJSON *pc = sql_node(sql_jget(cmd, "def"), "PartitionCmd");
	struct cat_table *p = rx_table(x, sql_jget(pc, "name"));
	if (p) {
		free(p->partition_of);
		p->partition_of = NULL;
		free(p->partition_bound);
		p->partition_bound = NULL;
	}
}

/* ALTER TABLE subcommands that change nothing the DAG records. */
static bool at_is_silent(const char *sub)
{
	static const char *const silent[] = {
		"AT_SetStatistics",
		"AT_SetStorage",
		"AT_SetCompression",
		"AT_ClusterOn",
		"AT_DropCluster",
		"AT_SetRelOptions",
		"AT_ResetRelOptions",
		"AT_ReplaceRelOptions",
		"AT_SetOptions",
		"AT_ResetOptions",
		"AT_EnableTrig",
		"AT_DisableTrig",
		"AT_EnableAlwaysTrig",
		"AT_EnableReplicaTrig",
		"AT_EnableTrigAll",
		"AT_DisableTrigAll",
		"AT_EnableTrigUser",
		"AT_DisableTrigUser",
		"AT_EnableRule",
		"AT_DisableRule",
		"AT_EnableAlwaysRule",
		"AT_EnableReplicaRule",
		"AT_ChangeOwner",
		"AT_SetTableSpace",
		"AT_ReplicaIdentity",
		"AT_EnableRowSecurity",
		"AT_DisableRowSecurity",
		"AT_ForceRowSecurity",
		"AT_NoForceRowSecurity",
		"AT_GenericOptions",
		"AT_AlterConstraint",
		"AT_SetAccessMethod",
		"AT_DropOids",
		"AT_SetIdentity",
		"AT_AddInherit",
		"AT_DropInherit",
		"AT_AddOf",
		"AT_DropOf",
	};
	for (size_t i = 0; i < sizeof(silent) / sizeof(*silent); i++)
		if (!strcmp(sub, silent[i]))
			return true;
	return false;
}

static void at_command(struct replay_ctx *x, struct cat_table *t, const cJSON *cmd)
{
	const char *sub = sql_jstr(cmd, "subtype");
	if (!sub)
		return;
	if (!strcmp(sub, "AT_AddColumn") || !strcmp(sub, "AT_AddColumnToView"))
		at_add_column(x, t, cmd);
	else if (!strcmp(sub, "AT_DropColumn")) {
		if (catalog_drop_column(x->r->cat, t, sql_jstr(cmd, "name"),
					sql_jstr(cmd, "behavior") && strstr(sql_jstr(cmd, "behavior"), "CASCADE")) < 0 &&
		    !sql_jbool(cmd, "missing_ok"))
			rx_warn(x, "column \"%s\" of %s does not exist", sql_jstr(cmd, "name"), t->qname);
		for (size_t i = x->r->cat->ntables; i-- > 0;) {
			struct cat_table *p = x->r->cat->tables[i];
			if (p->partition_of && !strcmp(p->partition_of, t->qname))
				catalog_drop_column(x->r->cat, p, sql_jstr(cmd, "name"), true);
		}
	} else if (!strcmp(sub, "AT_AlterColumnType"))
		at_alter_type(x, t, cmd);
	else if (!strcmp(sub, "AT_ColumnDefault"))
		at_default(x, t, cmd);
	else if (!strcmp(sub, "AT_SetNotNull"))
		at_set_not_null(x, t, cmd, true);
	else if (!strcmp(sub, "AT_DropNotNull"))
		at_set_not_null(x, t, cmd, false);
	else if (!strcmp(sub, "AT_AddConstraint"))
		rx_add_constraint(x, t, sql_node(sql_jget(cmd, "def"), "Constraint"), NULL);
	else if (!strcmp(sub, "AT_DropConstraint"))
		at_drop_constraint(x, t, cmd);
	else if (!strcmp(sub, "AT_ValidateConstraint"))
		at_validate(x, t, cmd);
	else if (!strcmp(sub, "AT_AddIdentity")) {
		struct cat_column *col = cmd_column(x, t, cmd);
		const cJSON *con = sql_node(sql_jget(cmd, "def"), "Constraint");
		if (col)
			apply_column_constraint(x, col, con);
	} else if (!strcmp(sub, "AT_DropIdentity")) {
		struct cat_column *col = cmd_column(x, t, cmd);
		if (col)
			column_set_identity(col, NULL);
	} else if (!strcmp(sub, "AT_DropExpression")) {
		struct cat_column *col = cmd_column(x, t, cmd);
		if (col)
			column_set_generated(col, NULL);
	} else if (!strcmp(sub, "AT_SetLogged") || !strcmp(sub, "AT_SetUnLogged"))
		t->unlogged = !strcmp(sub, "AT_SetUnLogged");
	else if (!strcmp(sub, "AT_AttachPartition"))
		at_attach_partition(x, t, cmd);
	else if (!strcmp(sub, "AT_DetachPartition") || !strcmp(sub, "AT_DetachPartitionFinalize"))
		at_detach_partition(x, cmd);
	else if (!at_is_silent(sub))
		rx_warn(x, "ALTER TABLE subcommand %s is not modelled", sub);
}

void rx_alter_table(struct replay_ctx *x, const cJSON *n)
{
	const char *objtype = sql_jstr(n, "objtype");
	const cJSON *rv = sql_jget(n, "relation"), *cmd;
	if (objtype && (!strcmp(objtype, "OBJECT_INDEX") || !strcmp(objtype, "OBJECT_SEQUENCE") ||
			!strcmp(objtype, "OBJECT_TYPE") || !strcmp(objtype, "OBJECT_VIEW") ||
			!strcmp(objtype, "OBJECT_MATVIEW") || !strcmp(objtype, "OBJECT_FOREIGN_TABLE")))
		return; /* options, owners, column defaults of views: nothing in the DAG */
	struct cat_table *t = rx_table(x, rv);
	if (!t) {
		if (!sql_jbool(n, "missing_ok") && !rx_view(x, rv) && !rx_is_temp(x, rv))
			rx_warn(x, "ALTER TABLE on unknown table \"%s\"", sql_jstr(rv, "relname"));
		return;
	}
	cJSON_ArrayForEach(cmd, sql_jget(n, "cmds")) at_command(x, t, sql_node(cmd, "AlterTableCmd"));
}

/* ---- dispatch ---- */

static void set_search_path(struct replay_ctx *x, const cJSON *n)
{
	const char *name = sql_jstr(n, "name");
	if (!name || strcmp(name, "search_path"))
		return;
	const char *kind = sql_jstr(n, "kind");
	const cJSON *a;
	const char *first = "public";
	if (kind && !strcmp(kind, "VAR_SET_VALUE"))
		cJSON_ArrayForEach(a, sql_jget(n, "args"))
		{
			const char *s = sql_jstr(sql_jget(sql_node(a, "A_Const"), "sval"), "sval");
			if (s && strcmp(s, "$user") && strcmp(s, "pg_catalog")) {
				first = s;
				break;
			}
		}
	free(x->r->search_schema);
	x->r->search_schema = xstrdup(first);
}

static void create_schema(struct replay_ctx *x, const cJSON *n)
{
	const char *name = sql_jstr(n, "schemaname");
	if (!name)
		name = sql_jstr(sql_jget(n, "authrole"), "rolename");
	if (name && strv_index(&x->r->cat->schemas, name) < 0)
		strv_push(&x->r->cat->schemas, name);
	const cJSON *elts = sql_jget(n, "schemaElts"), *e;
	if (!name || !cJSON_GetArraySize(elts))
		return;
	char *saved = x->r->search_schema;
	x->r->search_schema = xstrdup(name);
	cJSON_ArrayForEach(e, elts) if (e->child) replay_node(x, e->child->string, e->child);
	free(x->r->search_schema);
	x->r->search_schema = saved;
}

/* Statement kinds that change nothing in the DAG. */
static bool is_passed_over(const char *type)
{
	static const char *const kinds[] = {
		"InsertStmt",
		"UpdateStmt",
		"DeleteStmt",
		"SelectStmt",
		"MergeStmt",
		"CopyStmt",
		"CommentStmt",
		"GrantStmt",
		"GrantRoleStmt",
		"CreateFunctionStmt",
		"AlterFunctionStmt",
		"CreateTrigStmt",
		"CreateExtensionStmt",
		"AlterExtensionStmt",
		"AlterExtensionContentsStmt",
		"TransactionStmt",
		"CreatePolicyStmt",
		"AlterPolicyStmt",
		"AlterOwnerStmt",
		"CreateRoleStmt",
		"AlterRoleStmt",
		"AlterRoleSetStmt",
		"DropRoleStmt",
		"AlterDefaultPrivilegesStmt",
		"CreateEventTrigStmt",
		"AlterEventTrigStmt",
		"RuleStmt",
		"NotifyStmt",
		"ListenStmt",
		"UnlistenStmt",
		"LockStmt",
		"TruncateStmt",
		"VacuumStmt",
		"ClusterStmt",
		"RefreshMatViewStmt",
		"ExplainStmt",
		"CreateStatsStmt",
		"AlterStatsStmt",
		"CreateCastStmt",
		"DefineStmt",
		"CreateOpClassStmt",
		"CreateOpFamilyStmt",
		"AlterOpFamilyStmt",
		"CreateSeqStmt",
		"AlterSeqStmt",
		"CreateDomainStmt",
		"AlterDomainStmt",
		"CompositeTypeStmt",
		"CreateRangeStmt",
		"VariableShowStmt",
		"DiscardStmt",
		"CheckPointStmt",
		"ReindexStmt",
		"CallStmt",
		"CreateConversionStmt",
		"DeclareCursorStmt",
		"ClosePortalStmt",
		"FetchStmt",
		"PrepareStmt",
		"ExecuteStmt",
		"DeallocateStmt",
		"CreatePublicationStmt",
		"AlterPublicationStmt",
		"CreateSubscriptionStmt",
		"AlterSubscriptionStmt",
		"DropSubscriptionStmt",
		"CreateTableSpaceStmt",
		"DropTableSpaceStmt",
		"AlterTableSpaceOptionsStmt",
		"AlterSystemStmt",
		"SecLabelStmt",
		"AlterObjectDependsStmt",
		"AlterOperatorStmt",
		"AlterCollationStmt",
		"CreatedbStmt",
		"DropdbStmt",
		"AlterDatabaseStmt",
		"AlterDatabaseSetStmt",
		"ConstraintsSetStmt",
		"CreatePLangStmt",
		"CreateTransformStmt",
		"CreateAmStmt",
		"CreateFdwStmt",
		"AlterFdwStmt",
		"CreateForeignServerStmt",
		"AlterForeignServerStmt",
		"CreateUserMappingStmt",
		"AlterUserMappingStmt",
		"DropUserMappingStmt",
		"DropOwnedStmt",
		"ReassignOwnedStmt",
		"AlterTSDictionaryStmt",
		"AlterTSConfigurationStmt",
		"LoadStmt",
		"AlterTypeStmt",
		"CreateStatsStmt",
		"DropStmt_unused",
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++)
		if (!strcmp(type, kinds[i]))
			return true;
	return false;
}

/* Every SQL statement embedded in a PL/pgSQL tree (all branches), and
 * whether it also runs dynamic SQL (EXECUTE), which cannot be followed. */
static void collect_execsql(const cJSON *n, struct strv *out, bool *dynamic)
{
	for (const cJSON *c = n ? n->child : NULL; c; c = c->next) {
		if (c->string && !strcmp(c->string, "PLpgSQL_stmt_execsql")) {
			const char *q = sql_jstr(sql_jget(sql_jget(c, "sqlstmt"), "PLpgSQL_expr"), "query");
			if (q)
				strv_push(out, q);
		} else if (c->string && !strcmp(c->string, "PLpgSQL_stmt_dynexecute")) {
			*dynamic = true;
		} else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			collect_execsql(c, out, dynamic);
		}
	}
}

int rx_plpgsql_queries(const char *function_sql, struct strv *queries, bool *dynamic, char **error)
{
	PgQueryPlpgsqlParseResult pr = pg_query_parse_plpgsql(function_sql);
	*dynamic = false;
	if (pr.error) {
		*error = xstrdup(pr.error->message);
		pg_query_free_plpgsql_parse_result(pr);
		return -1;
	}
	cJSON *tree = cJSON_Parse(pr.plpgsql_funcs);
	pg_query_free_plpgsql_parse_result(pr);
	collect_execsql(tree, queries, dynamic);
	cJSON_Delete(tree);
	return 0;
}

/* replay_query: one SQL statement of PL/pgSQL code, applied. */
static void replay_query(struct replay_ctx *x, const char *query, const char *what)
{
	struct sql_script s;
	struct sql_error err;
	if (sql_parse(&s, query, &err) < 0) {
		rx_warn(x, "%s: %s", what, err.message);
		sql_error_release(&err);
		return;
	}
	struct replay_ctx sub = *x;
	sub.src = query;
	for (size_t k = 0; k < s.n; k++) {
		sub.stmt_start = s.stmts[k].offset;
		sub.stmt_end = s.stmts[k].offset + s.stmts[k].len;
		replay_node(&sub, s.stmts[k].type, s.stmts[k].node);
	}
	sql_script_release(&s);
}

static const char *expr_query(const cJSON *expr)
{
	return sql_jstr(sql_jget(expr, "PLpgSQL_expr"), "query");
}

struct plwalk {
	struct replay_ctx *x;
	const char *what;
	bool dynamic_warned;
};

static void walk_pl_list(struct plwalk *w, const cJSON *stmts);

/* walk_pl_if: the branch whose condition holds, decided from the catalog;
 * none when a condition cannot be decided (then a warning). */
static void walk_pl_if(struct plwalk *w, const cJSON *n)
{
	const char *cond = expr_query(sql_jget(n, "cond"));
	int v = cond ? rx_guard(w->x, cond) : -1;
	const cJSON *e;
	if (v == 1) {
		walk_pl_list(w, sql_jget(n, "then_body"));
		return;
	}
	cJSON_ArrayForEach(e, sql_jget(n, "elsif_list"))
	{
		if (v < 0)
			break;
		const cJSON *ei = sql_jget(e, "PLpgSQL_if_elsif");
		cond = expr_query(sql_jget(ei, "cond"));
		v = cond ? rx_guard(w->x, cond) : -1;
		if (v == 1) {
			walk_pl_list(w, sql_jget(ei, "stmts"));
			return;
		}
	}
	if (v == 0)
		walk_pl_list(w, sql_jget(n, "else_body"));
	else
		rx_warn(w->x, "%s: IF %.80s%s cannot be decided from the schema: its statements are not applied to the DAG",
			w->what, cond ? cond : "(condition)", cond && strlen(cond) > 80 ? "..." : "");
}

/* walk_pl_list: PL/pgSQL statements in order: SQL applied, IF decided,
 * loop bodies applied once, exception handlers not (they run only when the
 * block failed, which a replay that applies it cannot tell). */
static void walk_pl_list(struct plwalk *w, const cJSON *stmts)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, stmts)
	{
		const cJSON *n = it->child;
		const char *k = n ? n->string : NULL;
		if (!k)
			continue;
		if (!strcmp(k, "PLpgSQL_stmt_execsql")) {
			const char *q = expr_query(sql_jget(n, "sqlstmt"));
			if (q)
				replay_query(w->x, q, w->what);
		} else if (!strcmp(k, "PLpgSQL_stmt_dynexecute") || !strcmp(k, "PLpgSQL_stmt_dynfors")) {
			if (!w->dynamic_warned)
				rx_warn(w->x, "%s runs dynamic SQL (EXECUTE), which is not applied to the DAG", w->what);
			w->dynamic_warned = true;
		} else if (!strcmp(k, "PLpgSQL_stmt_if")) {
			walk_pl_if(w, n);
		} else if (!strcmp(k, "PLpgSQL_stmt_case")) {
			rx_warn(w->x, "%s: a CASE statement's branches are not applied to the DAG", w->what);
		} else if (sql_jget(n, "body")) { /* a block or a loop */
			walk_pl_list(w, sql_jget(n, "body"));
		}
	}
}

/* replay_plpgsql: apply the SQL statements of PL/pgSQL code (a CREATE
 * FUNCTION statement's text) in order, following the IF branches the
 * catalog decides (the usual "IF NOT EXISTS (... catalog ...) THEN ALTER
 * TABLE"); what names the code in warnings ("DO block", "function f()"). */
static void replay_plpgsql(struct replay_ctx *x, const char *function_sql, const char *what)
{
	PgQueryPlpgsqlParseResult pr = pg_query_parse_plpgsql(function_sql);
	if (pr.error) {
		rx_warn(x, "%s: %s", what, pr.error->message);
		pg_query_free_plpgsql_parse_result(pr);
		return;
	}
	cJSON *tree = cJSON_Parse(pr.plpgsql_funcs);
	pg_query_free_plpgsql_parse_result(pr);
	struct plwalk w = {x, what, false};
	const cJSON *fn;
	cJSON_ArrayForEach(fn, tree)
	{
		const cJSON *action = sql_jget(sql_jget(fn, "PLpgSQL_function"), "action");
		const cJSON *block = sql_jget(action, "PLpgSQL_stmt_block");
		walk_pl_list(&w, sql_jget(block, "body"));
	}
	cJSON_Delete(tree);
}

/* The body and language of a DO statement or CREATE FUNCTION options. */
static void code_of(const cJSON *list, const char **body, const char **lang)
{
	const cJSON *a;
	*body = NULL;
	*lang = "plpgsql";
	cJSON_ArrayForEach(a, list)
	{
		const cJSON *de = sql_node(a, "DefElem"), *arg = sql_jget(de, "arg");
		const char *name = sql_jstr(de, "defname");
		if (name && !strcmp(name, "as"))
			*body = sql_strval(arg) ? sql_strval(arg)
						: sql_strval(cJSON_GetArrayItem(sql_jget(sql_node(arg, "List"), "items"), 0));
		else if (name && !strcmp(name, "language"))
			*lang = sql_strval(arg);
	}
}

static void replay_do(struct replay_ctx *x, const cJSON *n)
{
	const char *body, *lang;
	code_of(sql_jget(n, "args"), &body, &lang);
	if (!body || !lang || strcmp(lang, "plpgsql"))
		rx_warn(x, "DO block in %s is not applied to the DAG", lang ? lang : "an unknown language");
	else {
		/* a DO block is an anonymous function without arguments */
		char *fn = xasprintf("CREATE FUNCTION migsafe_do() RETURNS void LANGUAGE plpgsql AS $migsafe_do$%s$migsafe_do$",
				     body);
		replay_plpgsql(x, fn, "DO block");
		free(fn);
	}
}

/* CREATE FUNCTION in PL/pgSQL: remembered, so that a later SELECT f()
 * applies the DDL in its body. Its body is read with the statement around
 * it: the parameters, and NEW and OLD in a trigger function, are variables
 * there (a body assigning one would not parse alone). */
static void create_function(struct replay_ctx *x, const cJSON *n)
{
	const char *body, *lang;
	const cJSON *last = NULL, *it;
	code_of(sql_jget(n, "options"), &body, &lang);
	cJSON_ArrayForEach(it, sql_jget(n, "funcname")) last = it;
	if (!body || !lang || strcmp(lang, "plpgsql") || !sql_strval(last))
		return;
	char *function_sql = xstrndup(x->src + x->stmt_start, x->stmt_end - x->stmt_start);
	rx_function_stmt(x, n, function_sql);
	long at = strv_index(&x->r->fn_names, sql_strval(last));
	if (at >= 0) {
		strv_remove(&x->r->fn_names, (size_t)at);
		strv_remove(&x->r->fn_bodies, (size_t)at);
	}
	strv_push(&x->r->fn_names, sql_strval(last));
	strv_push(&x->r->fn_bodies, function_sql);
	free(function_sql);
}

/* Calls, anywhere in a statement, of functions created earlier. */
static void replay_calls(struct replay_ctx *x, const cJSON *n)
{
	for (const cJSON *c = n ? n->child : NULL; c; c = c->next) {
		if (c->string && !strcmp(c->string, "FuncCall")) {
			const cJSON *last = NULL, *it;
			cJSON_ArrayForEach(it, sql_jget(c, "funcname")) last = it;
			long at = sql_strval(last) ? strv_index(&x->r->fn_names, sql_strval(last)) : -1;
			if (at >= 0) {
				char *what = xasprintf("function %s()", sql_strval(last));
				char *function_sql = xstrdup(x->r->fn_bodies.v[at]);
				replay_plpgsql(x, function_sql, what);
				free(function_sql);
				free(what);
			}
		}
		if (cJSON_IsObject(c) || cJSON_IsArray(c))
			replay_calls(x, c);
	}
}

void replay_node(struct replay_ctx *x, const char *type, const cJSON *n)
{
	static const struct {
		const char *type;
		void (*apply)(struct replay_ctx *, const cJSON *);
	} handlers[] = {
		{"CreateStmt", rx_create_table},
		{"AlterTableStmt", rx_alter_table},
		{"IndexStmt", rx_index_stmt},
		{"DropStmt", rx_drop_stmt},
		{"RenameStmt", rx_rename_stmt},
		{"ViewStmt", rx_view_stmt},
		{"CreateTableAsStmt", rx_matview_stmt},
		{"SelectStmt", rx_select_into},
		{"CreateEnumStmt", rx_enum_stmt},
		{"AlterEnumStmt", rx_alter_enum_stmt},
		{"AlterObjectSchemaStmt", rx_set_schema_stmt},
		{"VariableSetStmt", set_search_path},
		{"CreateSchemaStmt", create_schema},
		{"CreateTrigStmt", rx_trigger_stmt},
		{"CreateDomainStmt", rx_domain_stmt},
		{"AlterDomainStmt", rx_alter_domain_stmt},
	};
	if (x->r->fn_names.n && (!strcmp(type, "SelectStmt") || !strcmp(type, "CallStmt")))
		replay_calls(x, n);
	for (size_t i = 0; i < sizeof(handlers) / sizeof(*handlers); i++)
		if (!strcmp(type, handlers[i].type)) {
			handlers[i].apply(x, n);
			x->r->statements++;
			return;
		}
	x->r->skipped++;
	if (!strcmp(type, "DoStmt"))
		replay_do(x, n);
	else if (!strcmp(type, "CreateFunctionStmt"))
		create_function(x, n);
	else if (!is_passed_over(type))
		rx_warn(x, "%s is not modelled", type);
}

void replay_stmt(struct replay *r, const char *file, const char *src, const struct sql_stmt *st)
{
	struct replay_ctx x = {r, file, st->line, src, st->offset, st->offset + st->len};
	replay_node(&x, st->type, st->node);
}

int replay_sql(struct replay *r, const char *file, const char *text, struct msg_err *e)
{
	struct sql_reader rd;
	struct sql_error err;
	const struct sql_script *one;
	int rc;
	/* a piece's parse tree at a time (a window at most): a 15 MB structure.sql would
	 * otherwise hold a parse tree ten times its size */
	if (sql_reader_open(&rd, text, &err) < 0) {
		err_set_at(e, EXIT_INPUT, file, err.line, "%s", err.message);
		sql_error_release(&err);
		return -1;
	}
	while ((rc = sql_reader_next(&rd, &one, &err)) > 0)
		for (size_t i = 0; i < one->n; i++)
			replay_stmt(r, file, one->text, &one->stmts[i]);
	if (rc < 0) {
		err_set_at(e, EXIT_INPUT, file, err.line, "%s", err.message);
		sql_error_release(&err);
	}
	sql_reader_release(&rd);
	return rc < 0 ? -1 : 0;
}
