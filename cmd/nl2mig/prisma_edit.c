/*
 * prisma_edit.c — the change a migration makes, written into schema.prisma.
 *
 * The forward SQL is replayed on a copy of the catalog; the difference
 * between the catalog before and after, table by table, is edited into the
 * schema's text: fields added, removed, retyped, made optional or required,
 * defaults, renamed columns (@map) and tables (@@map), @@index/@@unique
 * added or removed, enum values, new models, dropped models (with the
 * relation fields that point at them) and new foreign keys as relation
 * fields on both sides. Lines that are not touched are kept byte for byte,
 * so the unified diff shows only the change. What Prisma cannot express
 * (CHECK constraints, expression indexes, identity columns...) is said in a
 * warning and left out: Prisma Migrate would not create it either.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msg.h"
#include "nl2mig.h"
#include "replay.h"
#include "xalloc.h"

struct pblock {
	char *kind, *name, *db, *schema; /* model|enum|view, Prisma name, table or type name */
	size_t start, end;		 /* lines of "model X {" and of "}" */
};

struct pschema {
	struct strv lines;
	struct pblock *b;
	size_t nb;
	char *ds; /* datasource name: the prefix of native types (@db.) */
};

/* ---------- reading the schema ---------- */

static char *ltrim(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return (char *)s;
}

/* quoted_arg: the string in `attr("...")` on line, or NULL; caller frees */
static char *quoted_arg(const char *line, const char *attr)
{
	const char *p = strstr(line, attr);
	if (!p)
		return NULL;
	p += strlen(attr);
	while (*p == ' ')
		p++;
	if (*p != '"')
		return NULL;
	return xstrndup(p + 1, strcspn(p + 1, "\""));
}

static void ps_scan(struct pschema *ps)
{
	for (size_t i = 0; i < ps->nb; i++) {
		free(ps->b[i].kind);
		free(ps->b[i].name);
		free(ps->b[i].db);
		free(ps->b[i].schema);
	}
	ps->nb = 0;
	for (size_t i = 0; i < ps->lines.n; i++) {
		char kind[16], name[128], brace = 0;
		const char *l = ltrim(ps->lines.v[i]);
		if (sscanf(l, "%15s %127[A-Za-z0-9_] %c", kind, name, &brace) != 3 || brace != '{')
			continue;
		if (!strcmp(kind, "datasource")) {
			free(ps->ds);
			ps->ds = xstrdup(name);
		}
		if (strcmp(kind, "model") && strcmp(kind, "enum") && strcmp(kind, "view"))
			continue;
		size_t e = i + 1;
		while (e < ps->lines.n && strcmp(ltrim(ps->lines.v[e]), "}") && strncmp(ltrim(ps->lines.v[e]), "}", 1))
			e++;
		ps->b = xrealloc(ps->b, (ps->nb + 1) * sizeof(*ps->b));
		struct pblock *b = &ps->b[ps->nb++];
		b->kind = xstrdup(kind);
		b->name = xstrdup(name);
		b->db = NULL;
		b->schema = NULL;
		b->start = i;
		b->end = e;
		for (size_t k = i + 1; k < e; k++) {
			const char *t = ltrim(ps->lines.v[k]);
			if (!strncmp(t, "@@map", 5) && !b->db)
				b->db = quoted_arg(t, "@@map(");
			if (!strncmp(t, "@@schema", 8) && !b->schema)
				b->schema = quoted_arg(t, "@@schema(");
		}
		if (!b->db)
			b->db = xstrdup(name);
		if (!b->schema)
			b->schema = xstrdup("public");
		i = e;
	}
	if (!ps->ds)
		ps->ds = xstrdup("db");
}

static void ps_load(struct pschema *ps, const char *text)
{
	memset(ps, 0, sizeof(*ps));
	const char *p = text;
	while (*p) {
		size_t n = strcspn(p, "\n");
		strv_push_take(&ps->lines, xstrndup(p, n));
		p += n + (p[n] == '\n');
	}
	ps_scan(ps);
}

static void ps_release(struct pschema *ps)
{
	for (size_t i = 0; i < ps->nb; i++) {
		free(ps->b[i].kind);
		free(ps->b[i].name);
		free(ps->b[i].db);
		free(ps->b[i].schema);
	}
	free(ps->b);
	free(ps->ds);
	strv_release(&ps->lines);
}

static char *ps_text(const struct pschema *ps)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	for (size_t i = 0; i < ps->lines.n; i++)
		buf_addf(&b, "%s\n", ps->lines.v[i]);
	return buf_detach(&b);
}

static void ps_insert(struct pschema *ps, size_t at, char *line)
{
	strv_push_take(&ps->lines, line);
	memmove(&ps->lines.v[at + 1], &ps->lines.v[at], (ps->lines.n - 1 - at) * sizeof(char *));
	ps->lines.v[at] = line;
	ps_scan(ps);
}

static void ps_delete(struct pschema *ps, size_t at)
{
	strv_remove(&ps->lines, at);
	ps_scan(ps);
}

static struct pblock *ps_block(struct pschema *ps, const char *kind, const char *schema, const char *db)
{
	for (size_t i = 0; i < ps->nb; i++)
		if (!strcmp(ps->b[i].kind, kind) && !strcmp(ps->b[i].db, db) && !strcmp(ps->b[i].schema, schema))
			return &ps->b[i];
	return NULL;
}

static struct pblock *ps_block_named(struct pschema *ps, const char *name)
{
	for (size_t i = 0; i < ps->nb; i++)
		if (!strcmp(ps->b[i].name, name))
			return &ps->b[i];
	return NULL;
}

/* a field line: "name Type? @attrs" (not a comment, not @@) */
static bool is_field(const char *line)
{
	const char *t = ltrim(line);
	return isalpha((unsigned char)*t) || *t == '_';
}

static char *field_name(const char *line)
{
	const char *t = ltrim(line);
	return xstrndup(t, strcspn(t, " \t"));
}

/* field_type: the type token without ? and [] */
static char *field_type(const char *line)
{
	const char *t = ltrim(line);
	t += strcspn(t, " \t");
	t = ltrim(t);
	return xstrndup(t, strcspn(t, " \t?[("));
}

static char *field_column(const char *line)
{
	char *m = quoted_arg(line, "@map(");
	return m ? m : field_name(line);
}

/* the line of the scalar field of block b stored in column col, or 0 */
static size_t field_line(const struct pschema *ps, const struct pblock *b, const char *col)
{
	for (size_t i = b->start + 1; i < b->end; i++) {
		if (!is_field(ps->lines.v[i]))
			continue;
		char *c = field_column(ps->lines.v[i]), *ty = field_type(ps->lines.v[i]);
		const struct pblock *tb = ps_block_named((struct pschema *)ps, ty);
		bool hit = !strcmp(c, col) && !(tb && strcmp(tb->kind, "enum"));
		if (hit && strstr(ps->lines.v[i], "@relation"))
			hit = false;
		free(c);
		free(ty);
		if (hit)
			return i;
	}
	return 0;
}

static char *indent_of(const struct pschema *ps, const struct pblock *b)
{
	for (size_t i = b->start + 1; i < b->end; i++)
		if (is_field(ps->lines.v[i]))
			return xstrndup(ps->lines.v[i], (size_t)(ltrim(ps->lines.v[i]) - ps->lines.v[i]));
	return xstrdup("  ");
}

/* uses_map: the model (b, or the whole schema for a new model) names its
 * fields in camelCase with @map */
static bool uses_map(const struct pschema *ps, const struct pblock *b)
{
	size_t from = b ? b->start + 1 : 0, to = b ? b->end : ps->lines.n;
	for (size_t i = from; i < to; i++)
		if (is_field(ps->lines.v[i]) && strstr(ps->lines.v[i], "@map("))
			return true;
	return false;
}

/* ---------- names and types ---------- */

static char *camel(const char *s, bool upper)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	for (const char *p = s; *p; p++) {
		if (*p == '_' && p[1]) {
			upper = true;
			continue;
		}
		buf_addc(&b, upper ? (char)toupper((unsigned char)*p) : *p);
		upper = false;
	}
	return buf_detach(&b);
}

static char *field_name_for(const struct pschema *ps, const struct pblock *b, const char *col, char **map)
{
	*map = NULL;
	if (uses_map(ps, b) && strchr(col, '_')) {
		*map = xasprintf(" @map(\"%s\")", col);
		return camel(col, false);
	}
	return xstrdup(col);
}

/* prisma_type: the Prisma type of a PostgreSQL type (format_type
 * spelling), *native the @db attribute it needs, or NULL */
static char *prisma_type(const struct catalog *cat, struct pschema *ps, const char *ty, char **native)
{
	static const struct {
		const char *pg, *prisma, *native;
	} plain[] = {
		{"boolean", "Boolean", NULL},
		{"text", "String", NULL},
		{"integer", "Int", NULL},
		{"bigint", "BigInt", NULL},
		{"smallint", "Int", "SmallInt"},
		{"double precision", "Float", NULL},
		{"real", "Float", "Real"},
		{"jsonb", "Json", NULL},
		{"json", "Json", "Json"},
		{"uuid", "String", "Uuid"},
		{"bytea", "Bytes", NULL},
		{"date", "DateTime", "Date"},
		{"timestamp(3) without time zone", "DateTime", NULL},
		{"timestamp without time zone", "DateTime", "Timestamp"},
		{"timestamp with time zone", "DateTime", "Timestamptz"},
		{"character varying", "String", "VarChar"},
		{"inet", "String", "Inet"},
		{"citext", "String", "Citext"},
	};
	*native = NULL;
	for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
		if (!strcmp(ty, plain[i].pg)) {
			if (plain[i].native)
				*native = xasprintf(" @%s.%s", ps->ds, plain[i].native);
			return xstrdup(plain[i].prisma);
		}
	int a, b;
	char rest[64];
	if (sscanf(ty, "character varying(%d)", &a) == 1)
		return *native = xasprintf(" @%s.VarChar(%d)", ps->ds, a), xstrdup("String");
	if (sscanf(ty, "character(%d)", &a) == 1)
		return *native = xasprintf(" @%s.Char(%d)", ps->ds, a), xstrdup("String");
	if (sscanf(ty, "numeric(%d,%d)", &a, &b) == 2)
		return *native = xasprintf(" @%s.Decimal(%d, %d)", ps->ds, a, b), xstrdup("Decimal");
	if (sscanf(ty, "timestamp(%d) %63[a-z ]", &a, rest) == 2)
		return *native = xasprintf(" @%s.%s(%d)", ps->ds, strstr(rest, "with time") == rest ? "Timestamptz" : "Timestamp",
					   a),
		       xstrdup("DateTime");
	for (size_t i = 0; i < cat->nenums; i++) {
		char *tn = cat_type_name(cat->enums[i]->schema, cat->enums[i]->name, false);
		bool hit = !strcmp(tn, ty);
		free(tn);
		const struct pblock *e = hit ? ps_block(ps, "enum", cat->enums[i]->schema, cat->enums[i]->name) : NULL;
		if (e)
			return xstrdup(e->name);
	}
	return xasprintf("Unsupported(\"%s\")", ty);
}

/* prisma_default: the @default(...) attribute for a column default, or
 * NULL when there is none */
static char *prisma_default(const char *def, const char *ptype)
{
	if (!def)
		return NULL;
	if (!strcmp(def, "true") || !strcmp(def, "false"))
		return xasprintf(" @default(%s)", def);
	if (strspn(def, "-0123456789.") == strlen(def) && strcmp(ptype, "String"))
		return xasprintf(" @default(%s)", def);
	if (!strcmp(def, "now()") || !strcmp(def, "CURRENT_TIMESTAMP"))
		return xstrdup(" @default(now())");
	if (!strncmp(def, "nextval(", 8))
		return xstrdup(" @default(autoincrement())");
	if (def[0] == '\'') {
		const char *end = strstr(def + 1, "'::");
		size_t n = end ? (size_t)(end - def - 1) : strlen(def) - 2;
		char *v = xstrndup(def + 1, n);
		char *r = strchr(v, '\'') || strchr(v, '"') || strchr(v, '\\') ? NULL
			  : strcmp(ptype, "String") && strcmp(ptype, "DateTime") && strcmp(ptype, "Decimal")
				  ? xasprintf(" @default(%s)", v) /* an enum value */
				  : xasprintf(" @default(\"%s\")", v);
		free(v);
		if (r)
			return r;
	}
	struct buf b = BUF_INIT;
	buf_init(&b);
	buf_adds(&b, " @default(dbgenerated(\"");
	for (const char *p = def; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addc(&b, '\\');
		buf_addc(&b, *p);
	}
	buf_adds(&b, "\"))");
	return buf_detach(&b);
}

static char *field_line_for(const struct catalog *cat, struct pschema *ps, const struct pblock *b,
			    const struct cat_column *c, const char *indent, bool id)
{
	char *map, *native, *name = field_name_for(ps, b, c->name, &map);
	char *ty = prisma_type(cat, ps, c->type, &native), *def = prisma_default(c->def, ty);
	if (c->identity)
		warning("prisma: %s is an identity column; Prisma writes it as autoincrement() (a serial)", c->name);
	if (c->generated)
		warning("prisma: generated column %s has no Prisma form; written as a plain field", c->name);
	char *s = xasprintf("%s%s %s%s%s%s%s%s", indent, name, ty, c->nullable && !id ? "?" : "", id ? " @id" : "",
			    c->identity ? " @default(autoincrement())" : def ? def
									     : "",
			    map ? map : "", native ? native : "");
	free(map);
	free(native);
	free(name);
	free(ty);
	free(def);
	return s;
}

/* ---------- edits ---------- */

/* remove_attr: s without the attribute starting with attr (balanced parens) */
static void remove_attr(char *s, const char *attr)
{
	char *p = strstr(s, attr);
	if (!p)
		return;
	char *q = p + strlen(attr);
	if (*q == '(') {
		int depth = 0;
		for (; *q; q++) {
			if (*q == '"') {
				for (q++; *q && *q != '"'; q++)
					if (*q == '\\' && q[1])
						q++;
				continue;
			}
			if (*q == '(')
				depth++;
			else if (*q == ')' && --depth == 0) {
				q++;
				break;
			}
		}
	} else {
		while (isalnum((unsigned char)*q) || *q == '_')
			q++;
	}
	while (p > s && p[-1] == ' ')
		p--;
	memmove(p, q, strlen(q) + 1);
}

/* retype: the field line with the catalog column c: type token, ?, native
 * type and default replaced, everything else kept */
static char *retype(const struct catalog *cat, struct pschema *ps, const char *line, const struct cat_column *c,
		    const struct cat_column *old)
{
	char *native, *ty = prisma_type(cat, ps, c->type, &native);
	const char *t = ltrim(line), *after_name = t + strcspn(t, " \t");
	const char *tok = ltrim(after_name), *after_tok = tok + strcspn(tok, " \t");
	char *rest = xstrdup(after_tok);
	bool list = strstr(tok, "[]") && strstr(tok, "[]") < after_tok;
	if (strcmp(c->type, old->type)) {
		char *dbp = xasprintf("@%s.", ps->ds);
		remove_attr(rest, dbp);
		free(dbp);
	} else {
		free(native);
		native = NULL;
		free(ty);
		ty = xstrndup(tok, strcspn(tok, " \t?[")); /* same type: keep its spelling */
	}
	bool def_changed = (c->def == NULL) != (old->def == NULL) || (c->def && strcmp(c->def, old->def));
	char *def = def_changed ? prisma_default(c->def, ty) : NULL;
	if (def_changed)
		remove_attr(rest, "@default");
	char *fixed = xasprintf("%.*s %s%s%s%s%s", (int)(after_name - line), line, ty, list ? "[]" : c->nullable ? "?"
														 : "",
				rest, def ? def : "", native ? native : "");
	free(rest);
	free(ty);
	free(native);
	free(def);
	return fixed;
}

static bool same_column(const struct cat_column *a, const struct cat_column *b)
{
	return !strcmp(a->type, b->type) && a->nullable == b->nullable && !a->def == !b->def &&
	       (!a->def || !strcmp(a->def, b->def));
}

static void edit_columns(const struct catalog *cat, struct pschema *ps, const char *schema, const char *db,
			 const struct cat_table *ot, const struct cat_table *nt)
{
	struct pblock *b = ps_block(ps, "model", schema, db);
	const struct cat_column *gone = NULL, *fresh = NULL;
	int ngone = 0, nfresh = 0;
	for (size_t i = 0; i < ot->ncols; i++)
		if (!table_column(nt, ot->cols[i].name))
			gone = &ot->cols[i], ngone++;
	for (size_t i = 0; i < nt->ncols; i++)
		if (!table_column(ot, nt->cols[i].name))
			fresh = &nt->cols[i], nfresh++;
	if (ngone == 1 && nfresh == 1 && same_column(gone, fresh)) { /* a rename */
		size_t l = field_line(ps, b, gone->name);
		if (l) {
			char *line = xstrdup(ps->lines.v[l]), *m = quoted_arg(line, "@map(");
			remove_attr(line, "@map");
			char *s = xasprintf("%s @map(\"%s\")", line, fresh->name);
			free(ps->lines.v[l]);
			ps->lines.v[l] = s;
			free(line);
			free(m);
		}
		return;
	}
	for (size_t i = 0; i < ot->ncols; i++) {
		const struct cat_column *c = &ot->cols[i], *n = table_column(nt, c->name);
		size_t l = field_line(ps, b, c->name);
		if (!l)
			continue;
		if (!n) {
			ps_delete(ps, l);
			b = ps_block(ps, "model", schema, db);
		} else if (!same_column(c, n)) {
			char *s = retype(cat, ps, ps->lines.v[l], n, c);
			free(ps->lines.v[l]);
			ps->lines.v[l] = s;
		}
	}
	for (size_t i = 0; i < nt->ncols; i++) {
		if (table_column(ot, nt->cols[i].name))
			continue;
		/* after the last scalar field, before the block attributes */
		size_t at = b->start + 1;
		for (size_t k = b->start + 1; k < b->end; k++)
			if (is_field(ps->lines.v[k]))
				at = k + 1;
		char *ind = indent_of(ps, b);
		ps_insert(ps, at, field_line_for(cat, ps, b, &nt->cols[i], ind, false));
		b = ps_block(ps, "model", schema, db);
		free(ind);
	}
}

/* the Prisma field names of columns, "[a, b]" */
static char *field_list(const struct pschema *ps, const struct pblock *b, const struct strv *cols, bool *ok)
{
	struct buf out = BUF_INIT;
	buf_init(&out);
	buf_addc(&out, '[');
	for (size_t i = 0; i < cols->n; i++) {
		size_t l = field_line(ps, b, cols->v[i]);
		char *f = l ? field_name(ps->lines.v[l]) : NULL;
		if (!f)
			*ok = false;
		buf_addf(&out, "%s%s", i ? ", " : "", f ? f : cols->v[i]);
		free(f);
	}
	buf_addc(&out, ']');
	return buf_detach(&out);
}

static char *default_index_name(const char *table, const struct strv *cols, const char *suffix)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	buf_adds(&b, table);
	for (size_t i = 0; i < cols->n; i++)
		buf_addf(&b, "_%s", cols->v[i]);
	buf_addf(&b, "_%s", suffix);
	return buf_detach(&b);
}

static const char *index_type(const char *method)
{
	static const char *const m[][2] = {{"hash", "Hash"}, {"gin", "Gin"}, {"gist", "Gist"}, {"spgist", "SpGist"}, {"brin", "Brin"}};
	for (int i = 0; i < 5; i++)
		if (method && !strcmp(method, m[i][0]))
			return m[i][1];
	return NULL;
}

static bool index_in(const struct catalog *c, const struct cat_index *ix)
{
	const struct cat_index *o = catalog_index(c, ix->schema, ix->name);
	return o && !strcmp(o->table, ix->table);
}

static void edit_indexes(const struct catalog *old, const struct catalog *nw, struct pschema *ps,
			 const struct cat_table *t)
{
	for (size_t i = 0; i < old->nindexes; i++) { /* removed */
		const struct cat_index *ix = old->indexes[i];
		struct pblock *b = ps_block(ps, "model", t->schema, t->name);
		if (ix->primary || strcmp(ix->table, t->qname) || index_in(nw, ix) || !b)
			continue;
		char *dflt = default_index_name(t->name, &ix->columns, ix->unique ? "key" : "idx");
		for (size_t l = b->start + 1; l < b->end; l++) {
			const char *s = ltrim(ps->lines.v[l]);
			char *map = quoted_arg(s, "map:");
			bool block_attr = !strncmp(s, ix->unique ? "@@unique" : "@@index", ix->unique ? 8 : 7);
			bool hit = false;
			if (block_attr) {
				if (map)
					hit = !strcmp(map, ix->name);
				else if (!strcmp(dflt, ix->name)) {
					bool ok = true;
					char *fl = field_list(ps, b, &ix->columns, &ok);
					hit = ok && strstr(s, fl);
					free(fl);
				}
			} else if (ix->unique && ix->columns.n == 1 && is_field(s) && strstr(s, "@unique")) {
				char *col = field_column(s);
				hit = !strcmp(col, ix->columns.v[0]) && (map ? !strcmp(map, ix->name) : !strcmp(dflt, ix->name));
				free(col);
				if (hit) {
					remove_attr(ps->lines.v[l], "@unique");
					hit = false;
					free(map);
					break;
				}
			}
			free(map);
			if (hit) {
				ps_delete(ps, l);
				break;
			}
		}
		free(dflt);
	}
	for (size_t i = 0; i < nw->nindexes; i++) { /* added */
		const struct cat_index *ix = nw->indexes[i];
		struct pblock *b = ps_block(ps, "model", t->schema, t->name);
		if (ix->primary || strcmp(ix->table, t->qname) || index_in(old, ix) || !b)
			continue;
		bool ok = !ix->predicate;
		char *fl = field_list(ps, b, &ix->columns, &ok);
		if (!ok) {
			warning("prisma: index %s (%s) has no Prisma form: not written into schema.prisma", ix->name,
				ix->predicate ? "partial" : "an expression");
			free(fl);
			continue;
		}
		if (ix->constraint)
			warning("prisma: UNIQUE constraint %s is written as @@unique, which Prisma creates as a unique index",
				ix->name);
		char *dflt = default_index_name(t->name, &ix->columns, ix->unique ? "key" : "idx");
		char *ind = indent_of(ps, b), *map = strcmp(dflt, ix->name) ? xasprintf(", map: \"%s\"", ix->name) : NULL;
		const char *ty = index_type(ix->method);
		char *ts = ty ? xasprintf(", type: %s", ty) : NULL;
		ps_insert(ps, b->end, xasprintf("%s@@%s(%s%s%s)", ind, ix->unique ? "unique" : "index", fl, map ? map : "", ts ? ts : ""));
		free(ts);
		free(map);
		free(ind);
		free(dflt);
		free(fl);
	}
}

static const char *ref_action(const char *a)
{
	static const char *const m[][2] = {{"cascade", "Cascade"}, {"restrict", "Restrict"}, {"set null", "SetNull"}, {"set default", "SetDefault"}};
	for (int i = 0; i < 4; i++)
		if (a && !strcmp(a, m[i][0]))
			return m[i][1];
	return "NoAction";
}

static bool has_field(const struct pschema *ps, const struct pblock *b, const char *name)
{
	for (size_t l = b->start + 1; l < b->end; l++)
		if (is_field(ps->lines.v[l])) {
			char *f = field_name(ps->lines.v[l]);
			bool eq = !strcmp(f, name);
			free(f);
			if (eq)
				return true;
		}
	return false;
}

/* a free field name: base, base2, base3... */
static char *free_name(const struct pschema *ps, const struct pblock *b, const char *base)
{
	char *n = xstrdup(base);
	for (int i = 2; has_field(ps, b, n); i++) {
		free(n);
		n = xasprintf("%s%d", base, i);
	}
	return n;
}

/* unique_on: a unique index of the table on exactly these columns */
static bool unique_on(const struct catalog *c, const char *table, const struct strv *cols)
{
	for (size_t i = 0; i < c->nindexes; i++)
		if (c->indexes[i]->unique && !strcmp(c->indexes[i]->table, table) && strv_equal(&c->indexes[i]->columns, cols))
			return true;
	return false;
}

static void add_relation(const struct catalog *nw, struct pschema *ps, const struct cat_fk *fk)
{
	char *ts, *tn, *rs, *rn;
	cat_split_qname(fk->table, &ts, &tn);
	cat_split_qname(fk->ref_table, &rs, &rn);
	struct pblock *from = ps_block(ps, "model", ts, tn), *to = ps_block(ps, "model", rs, rn);
	bool ok = from && to;
	char *fl = ok ? field_list(ps, from, &fk->columns, &ok) : NULL;
	char *rl = ok ? field_list(ps, to, &fk->ref_columns, &ok) : NULL;
	if (!ok) {
		warning("prisma: foreign key %s: the models or fields are not in schema.prisma; relation not written", fk->name);
	} else {
		char *lower = xstrdup(to->name), *ind = indent_of(ps, from);
		lower[0] = (char)tolower((unsigned char)lower[0]);
		char *fname = free_name(ps, from, lower), *rel = NULL;
		/* a second relation between the same models needs a name on both sides */
		for (size_t l = from->start + 1; l < from->end; l++) {
			char *ty = field_type(ps->lines.v[l]);
			if (is_field(ps->lines.v[l]) && !strcmp(ty, to->name))
				if (!rel)
					rel = xasprintf("\"%s\", ", fk->name);
			free(ty);
		}
		size_t at = from->start + 1;
		for (size_t k = from->start + 1; k < from->end; k++)
			if (is_field(ps->lines.v[k]))
				at = k + 1;
		const char *onu = fk->on_update ? fk->on_update : "no action";
		const struct cat_table *ft = catalog_table_q(nw, fk->table);
		bool optional = false;
		for (size_t k = 0; ft && k < fk->columns.n; k++)
			optional |= table_column(ft, fk->columns.v[k]) && table_column(ft, fk->columns.v[k])->nullable;
		ps_insert(ps, at,
			  xasprintf("%s%s %s%s @relation(%sfields: %s, references: %s, onDelete: %s, onUpdate: %s, map: \"%s\")",
				    ind, fname, to->name, optional ? "?" : "", rel ? rel : "", fl, rl, ref_action(fk->on_delete),
				    ref_action(onu), fk->name));
		/* the optional side: every column nullable makes it Model? */
		to = ps_block(ps, "model", rs, rn);
		from = ps_block(ps, "model", ts, tn);
		char *back = camel(tn, false), *bname = free_name(ps, to, back), *ind2 = indent_of(ps, to);
		at = to->start + 1;
		for (size_t k = to->start + 1; k < to->end; k++)
			if (is_field(ps->lines.v[k]))
				at = k + 1;
		bool one = unique_on(nw, fk->table, &fk->columns);
		if (rel)
			ps_insert(ps, at, xasprintf("%s%s %s%s @relation(\"%s\")", ind2, bname, from->name, one ? "?" : "[]", fk->name));
		else
			ps_insert(ps, at, xasprintf("%s%s %s%s", ind2, bname, from->name, one ? "?" : "[]"));
		free(back);
		free(bname);
		free(ind2);
		free(lower);
		free(ind);
		free(fname);
		free(rel);
	}
	free(fl);
	free(rl);
	free(ts);
	free(tn);
	free(rs);
	free(rn);
}

static void edit_fks(const struct catalog *old, const struct catalog *nw, struct pschema *ps)
{
	for (size_t i = 0; i < nw->nfks; i++) {
		const struct cat_fk *fk = nw->fks[i];
		if (!catalog_fk(old, fk->table, fk->name))
			add_relation(nw, ps, fk);
	}
	for (size_t i = 0; i < old->nfks; i++)
		if (!catalog_fk(nw, old->fks[i]->table, old->fks[i]->name) && catalog_table_q(nw, old->fks[i]->table))
			warning("prisma: foreign key %s is dropped: remove its relation fields from schema.prisma by hand",
				old->fks[i]->name);
	for (size_t i = 0; i < nw->nchecks; i++)
		if (!catalog_check(old, nw->checks[i]->table, nw->checks[i]->name))
			warning("prisma: CHECK %s has no Prisma form: Prisma ignores it, the SQL migration keeps it",
				nw->checks[i]->name);
}

static char *model_name(const char *table)
{
	char *c = camel(table, true);
	size_t n = strlen(c);
	if (n > 3 && !strcmp(c + n - 3, "ies"))
		strcpy(c + n - 3, "y");
	else if (n > 1 && c[n - 1] == 's' && c[n - 2] != 's')
		c[n - 1] = 0;
	return c;
}

static void add_model(const struct catalog *cat, struct pschema *ps, const struct cat_table *t)
{
	char *name = model_name(t->name);
	while (ps_block_named(ps, name)) {
		char *n2 = xasprintf("%sTable", name);
		free(name);
		name = n2;
	}
	size_t at = ps->lines.n;
	strv_push(&ps->lines, "");
	strv_push_take(&ps->lines, xasprintf("model %s {", name));
	strv_push(&ps->lines, "}");
	ps_scan(ps);
	struct pblock *b = ps_block_named(ps, name);
	for (size_t i = 0; i < t->ncols; i++) {
		bool id = t->pk.n == 1 && !strcmp(t->pk.v[0], t->cols[i].name);
		ps_insert(ps, b->end, field_line_for(cat, ps, NULL, &t->cols[i], "  ", id));
		b = ps_block_named(ps, name);
	}
	if (t->pk.n > 1) {
		bool ok = true;
		char *fl = field_list(ps, b, &t->pk, &ok);
		ps_insert(ps, b->end, xstrdup(""));
		b = ps_block_named(ps, name);
		ps_insert(ps, b->end, xasprintf("  @@id(%s)", fl));
		free(fl);
		b = ps_block_named(ps, name);
	}
	if (strcmp(name, t->name)) {
		if (t->pk.n <= 1) {
			ps_insert(ps, b->end, xstrdup(""));
			b = ps_block_named(ps, name);
		}
		ps_insert(ps, b->end, xasprintf("  @@map(\"%s\")", t->name));
	}
	(void)at;
	free(name);
}

static void drop_model(struct pschema *ps, struct pblock *b)
{
	char *name = xstrdup(b->name);
	size_t s = b->start, e = b->end;
	for (size_t i = e + 1; i > s; i--)
		ps_delete(ps, i - 1);
	if (s > 0 && s - 1 < ps->lines.n && !*ps->lines.v[s - 1] && (s == ps->lines.n || !*ps->lines.v[s]))
		ps_delete(ps, s - 1);
	/* relation fields elsewhere that point at it */
	for (size_t i = 0; i < ps->lines.n; i++) {
		char *ty = is_field(ps->lines.v[i]) ? field_type(ps->lines.v[i]) : NULL;
		bool inside = false;
		for (size_t k = 0; k < ps->nb; k++)
			inside |= !strcmp(ps->b[k].kind, "model") && i > ps->b[k].start && i < ps->b[k].end;
		if (ty && inside && !strcmp(ty, name))
			ps_delete(ps, i--);
		free(ty);
	}
	free(name);
}

static void edit_enums(const struct catalog *old, const struct catalog *nw, struct pschema *ps)
{
	for (size_t i = 0; i < nw->nenums; i++) {
		const struct cat_enum *e = nw->enums[i], *o = catalog_enum(old, e->schema, e->name);
		struct pblock *b = ps_block(ps, "enum", e->schema, e->name);
		if (!o && !b) {
			char *name = camel(e->name, true);
			strv_push(&ps->lines, "");
			strv_push_take(&ps->lines, xasprintf("enum %s {", name));
			for (size_t k = 0; k < e->values.n; k++)
				strv_push_take(&ps->lines, xasprintf("  %s", e->values.v[k]));
			if (strcmp(name, e->name)) {
				strv_push(&ps->lines, "");
				strv_push_take(&ps->lines, xasprintf("  @@map(\"%s\")", e->name));
			}
			strv_push(&ps->lines, "}");
			ps_scan(ps);
			free(name);
			continue;
		}
		if (!o || !b)
			continue;
		for (size_t k = 0; k < e->values.n; k++) {
			if (strv_index(&o->values, e->values.v[k]) >= 0)
				continue;
			size_t at = b->start + 1;
			for (size_t l = b->start + 1; l < b->end; l++)
				if (is_field(ps->lines.v[l]))
					at = l + 1;
			char *ind = indent_of(ps, b);
			const char *v = e->values.v[k];
			bool plain = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(v) &&
				     !isdigit((unsigned char)v[0]);
			ps_insert(ps, at, plain ? xasprintf("%s%s", ind, v) : xasprintf("%svalue_%zu @map(\"%s\")", ind, k, v));
			free(ind);
			b = ps_block(ps, "enum", e->schema, e->name);
		}
	}
}

/* same columns: a renamed table */
static const struct cat_table *renamed_to(const struct catalog *old, const struct catalog *nw, const struct cat_table *t)
{
	for (size_t i = 0; i < nw->ntables; i++) {
		const struct cat_table *n = nw->tables[i];
		if (catalog_table_q(old, n->qname) || n->ncols != t->ncols)
			continue;
		bool same = true;
		for (size_t k = 0; k < t->ncols && same; k++)
			same = table_column(n, t->cols[k].name) && same_column(&t->cols[k], table_column(n, t->cols[k].name));
		if (same)
			return n;
	}
	return NULL;
}

static void prisma_edit(const struct catalog *old, const struct catalog *nw, struct pschema *ps)
{
	struct strv renamed = STRV_INIT;
	for (size_t i = 0; i < old->ntables; i++) {
		const struct cat_table *ot = old->tables[i], *nt = catalog_table_q(nw, ot->qname);
		struct pblock *b = ps_block(ps, "model", ot->schema, ot->name);
		if (!b)
			continue;
		if (!nt && (nt = renamed_to(old, nw, ot))) {
			size_t l = 0;
			for (size_t k = b->start + 1; k < b->end; k++)
				if (!strncmp(ltrim(ps->lines.v[k]), "@@map", 5))
					l = k;
			if (l) {
				free(ps->lines.v[l]);
				ps->lines.v[l] = xasprintf("  @@map(\"%s\")", nt->name);
			} else {
				ps_insert(ps, b->end, xstrdup(""));
				b = ps_block(ps, "model", ot->schema, ot->name);
				ps_insert(ps, b->end, xasprintf("  @@map(\"%s\")", nt->name));
			}
			ps_scan(ps);
			strv_push(&renamed, nt->qname);
			continue;
		}
		if (!nt) {
			drop_model(ps, b);
			continue;
		}
		edit_columns(old, ps, ot->schema, ot->name, ot, nt);
		edit_indexes(old, nw, ps, nt);
	}
	edit_enums(old, nw, ps);
	for (size_t i = 0; i < nw->ntables; i++)
		if (!catalog_table_q(old, nw->tables[i]->qname) && strv_index(&renamed, nw->tables[i]->qname) < 0) {
			add_model(nw, ps, nw->tables[i]);
			edit_indexes(old, nw, ps, nw->tables[i]);
		}
	edit_fks(old, nw, ps);
	strv_release(&renamed);
}

/* ---------- the diff ---------- */

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) == EOF || fclose(f) != 0)
		die_code(EXIT_RUNTIME, "%s: %s", path, strerror(errno));
}

/* unified_diff: `diff -u` of two texts, labelled a/label and b/label */
static char *unified_diff(const char *a, const char *b, const char *label)
{
	char dir[] = "/tmp/nl2mig-prisma-XXXXXX";
	if (!mkdtemp(dir))
		die_code(EXIT_RUNTIME, "mkdtemp: %s", strerror(errno));
	char *pa = xasprintf("%s/a", dir), *pb = xasprintf("%s/b", dir), *lab = xstrdup(label);
	for (char *p = lab; *p; p++)
		if (*p == '\'' || *p == '\\')
			*p = '_';
	write_text(pa, a);
	write_text(pb, b);
	char *cmd = xasprintf("diff -u --label 'a/%s' --label 'b/%s' '%s' '%s'", lab, lab, pa, pb);
	FILE *p = popen(cmd, "r");
	struct buf out = BUF_INIT;
	buf_init(&out);
	char chunk[4096];
	size_t n;
	while (p && (n = fread(chunk, 1, sizeof chunk, p)) > 0)
		buf_add(&out, chunk, n);
	int st = p ? pclose(p) : -1;
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) > 1)
		die_code(EXIT_RUNTIME, "diff -u failed (is diffutils installed?)");
	unlink(pa);
	unlink(pb);
	rmdir(dir);
	free(pa);
	free(pb);
	free(lab);
	free(cmd);
	return buf_detach(&out);
}

char *prisma_edit_schema(const struct catalog *cat, const char *forward, const char *path, const char *label,
			 char **diff)
{
	struct catalog after;
	struct replay rp;
	struct pschema ps;
	struct msg_err err = MSG_ERR_INIT;
	char *old = read_file(path, &err);
	if (!old)
		die_err(&err);
	catalog_clone(&after, cat);
	replay_init(&rp, &after);
	rp.quiet = true;
	if (replay_sql(&rp, "<forward>", forward, &err) < 0)
		die_err(&err);
	ps_load(&ps, old);
	prisma_edit(cat, &after, &ps);
	char *text = ps_text(&ps);
	/* the file's own ending: no newline added where there was none */
	size_t ol = strlen(old), tl = strlen(text);
	if (ol && old[ol - 1] != '\n' && tl && text[tl - 1] == '\n')
		text[tl - 1] = 0;
	*diff = strcmp(old, text) ? unified_diff(old, text, label) : NULL;
	ps_release(&ps);
	replay_release(&rp);
	catalog_release(&after);
	free(old);
	return text;
}
