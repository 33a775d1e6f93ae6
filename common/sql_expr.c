/* sql_expr: type names and expressions from parse trees back to text. */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "sql.h"
#include "xalloc.h"

enum typmod_style { TM_NONE,
		    TM_LEN,
		    TM_NUMERIC,
		    TM_TIME };

struct builtin_type {
	const char *name;    /* as in the parse tree */
	const char *display; /* as format_type() prints it */
	enum typmod_style tm;
	const char *suffix; /* printed after the typmod (time zones) */
};

static const struct builtin_type builtins[] = {
	{"int4", "integer", TM_NONE, NULL},
	{"int2", "smallint", TM_NONE, NULL},
	{"int8", "bigint", TM_NONE, NULL},
	{"float4", "real", TM_NONE, NULL},
	{"float8", "double precision", TM_NONE, NULL},
	{"bool", "boolean", TM_NONE, NULL},
	{"varchar", "character varying", TM_LEN, NULL},
	{"bpchar", "character", TM_LEN, NULL},
	{"numeric", "numeric", TM_NUMERIC, NULL},
	{"decimal", "numeric", TM_NUMERIC, NULL},
	{"timestamp", "timestamp", TM_TIME, " without time zone"},
	{"timestamptz", "timestamp", TM_TIME, " with time zone"},
	{"time", "time", TM_TIME, " without time zone"},
	{"timetz", "time", TM_TIME, " with time zone"},
	{"bit", "bit", TM_LEN, NULL},
	{"varbit", "bit varying", TM_LEN, NULL},
	{"interval", "interval", TM_NONE, NULL},
	{"text", "text", TM_NONE, NULL},
	{"json", "json", TM_NONE, NULL},
	{"jsonb", "jsonb", TM_NONE, NULL},
	{"uuid", "uuid", TM_NONE, NULL},
	{"bytea", "bytea", TM_NONE, NULL},
	{"date", "date", TM_NONE, NULL},
	{"inet", "inet", TM_NONE, NULL},
	{"cidr", "cidr", TM_NONE, NULL},
	{"macaddr", "macaddr", TM_NONE, NULL},
	{"money", "money", TM_NONE, NULL},
	{"xml", "xml", TM_NONE, NULL},
	{"oid", "oid", TM_NONE, NULL},
	{"tsvector", "tsvector", TM_NONE, NULL},
	{"tsquery", "tsquery", TM_NONE, NULL},
	{"char", "\"char\"", TM_NONE, NULL},
	{"name", "name", TM_NONE, NULL},
	{"regclass", "regclass", TM_NONE, NULL},
	{"point", "point", TM_NONE, NULL},
	{"int4range", "int4range", TM_NONE, NULL},
	{"tstzrange", "tstzrange", TM_NONE, NULL},
	{"daterange", "daterange", TM_NONE, NULL},
	{"serial", "integer", TM_NONE, NULL},
	{"serial4", "integer", TM_NONE, NULL},
	{"bigserial", "bigint", TM_NONE, NULL},
	{"serial8", "bigint", TM_NONE, NULL},
	{"smallserial", "smallint", TM_NONE, NULL},
	{"serial2", "smallint", TM_NONE, NULL},
};

/* Aliases a user may write unqualified that the grammar does not rewrite. */
static const char *const user_aliases[][2] = {
	{"integer", "int4"},
	{"int", "int4"},
	{"smallint", "int2"},
	{"bigint", "int8"},
	{"boolean", "bool"},
	{"real", "float4"},
};

static const struct builtin_type *find_builtin(const char *schema, const char *name)
{
	if (schema && strcmp(schema, "pg_catalog"))
		return NULL;
	for (size_t i = 0; i < sizeof(user_aliases) / sizeof(*user_aliases); i++)
		if (!schema && !strcmp(name, user_aliases[i][0]))
			name = user_aliases[i][1];
	for (size_t i = 0; i < sizeof(builtins) / sizeof(*builtins); i++)
		if (!strcmp(builtins[i].name, name))
			return &builtins[i];
	return NULL;
}

/* Split a TypeName's names into schema (or NULL) and type name. */
static void type_names(const cJSON *tn, const char **schema, const char **name)
{
	struct strv sv = STRV_INIT;
	sql_name_list(sql_jget(tn, "names"), &sv);
	static char sbuf[256], nbuf[256];
	*schema = NULL;
	*name = "";
	if (sv.n >= 1) {
		snprintf(nbuf, sizeof(nbuf), "%s", sv.v[sv.n - 1]);
		*name = nbuf;
	}
	if (sv.n >= 2) {
		snprintf(sbuf, sizeof(sbuf), "%s", sv.v[sv.n - 2]);
		*schema = sbuf;
	}
	strv_release(&sv);
}

static void typmod_list(const cJSON *tn, long *mods, int *n)
{
	const cJSON *it;
	*n = 0;
	cJSON_ArrayForEach(it, sql_jget(tn, "typmods"))
	{
		const cJSON *c = sql_node(it, "A_Const");
		if (c && *n < 2)
			mods[(*n)++] = sql_jint(sql_jget(c, "ival"), "ival");
	}
}

bool sql_type_is_builtin(const cJSON *tn)
{
	const char *schema, *name;
	type_names(tn, &schema, &name);
	return find_builtin(schema, name) != NULL;
}

static void format_builtin(struct buf *b, const struct builtin_type *bt, const cJSON *tn)
{
	long mods[2];
	int n;
	typmod_list(tn, mods, &n);
	buf_adds(b, bt->display);
	if (n > 0 && bt->tm == TM_LEN)
		buf_addf(b, "(%ld)", mods[0]);
	else if (n > 0 && bt->tm == TM_NUMERIC)
		buf_addf(b, "(%ld,%ld)", mods[0], n > 1 ? mods[1] : 0);
	else if (n > 0 && bt->tm == TM_TIME)
		buf_addf(b, "(%ld)", mods[0]);
	if (bt->suffix)
		buf_adds(b, bt->suffix);
}

char *sql_format_type(const cJSON *tn, const char **serial)
{
	const char *schema, *name;
	type_names(tn, &schema, &name);
	const struct builtin_type *bt = find_builtin(schema, name);
	bool array = cJSON_GetArraySize(sql_jget(tn, "arrayBounds")) > 0;
	if (serial)
		*serial = NULL;
	if (!bt)
		return cat_type_name(schema ? schema : "public", name, array);
	if (serial && !schema && strstr(bt->name, "serial"))
		*serial = bt->display;
	struct buf b;
	buf_init(&b);
	format_builtin(&b, bt, tn);
	if (array)
		buf_adds(&b, "[]");
	return buf_detach(&b);
}

/* ---- expressions ---- */

static void deparse(struct buf *b, const cJSON *n, const char *src, bool nested);

static void deparse_list(struct buf *b, const cJSON *list, const char *src, const char *sep)
{
	const cJSON *it;
	bool first = true;
	cJSON_ArrayForEach(it, list)
	{
		if (!first)
			buf_adds(b, sep);
		first = false;
		deparse(b, it, src, false);
	}
}

long sql_const_ival(const cJSON *c, const char *src)
{
	const cJSON *v = sql_jget(c, "ival");
	long loc = sql_jint(c, "location");
	if (sql_jget(v, "ival") || !src || loc < 0)
		return sql_jint(v, "ival");
	/* the constant is 0 or negative: its token, as PostgreSQL's lexer
	 * took it (a minus sign, then an unsigned integer literal) */
	const char *p = src + loc;
	bool neg = *p == '-';
	if (neg)
		p++;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	errno = 0;
	long n = strtol(p, NULL, 0);
	return errno ? 0 : neg ? -n
			       : n;
}

static void deparse_const(struct buf *b, const cJSON *c, const char *src)
{
	const cJSON *v;
	if (sql_jbool(c, "isnull")) {
		buf_adds(b, "NULL");
	} else if ((v = sql_jget(c, "sval"))) {
		char *q = sql_quote_literal(sql_jstr(v, "sval") ? sql_jstr(v, "sval") : "");
		buf_adds(b, q);
		free(q);
	} else if ((v = sql_jget(c, "fval"))) {
		buf_adds(b, sql_jstr(v, "fval") ? sql_jstr(v, "fval") : "0");
	} else if ((v = sql_jget(c, "boolval"))) {
		buf_adds(b, sql_jbool(v, "boolval") ? "true" : "false");
	} else if ((v = sql_jget(c, "bsval"))) {
		buf_addf(b, "B'%s'", sql_jstr(v, "bsval") ? sql_jstr(v, "bsval") + 1 : "");
	} else {
		buf_addf(b, "%ld", sql_const_ival(c, src));
	}
}

static void deparse_names(struct buf *b, const cJSON *list, bool skip_catalog)
{
	const cJSON *it;
	bool first = true;
	cJSON_ArrayForEach(it, list)
	{
		const char *s = sql_strval(it);
		if (!s) {
			if (sql_node(it, "A_Star")) {
				buf_adds(b, first ? "*" : ".*");
				first = false;
			}
			continue;
		}
		if (skip_catalog && first && !strcmp(s, "pg_catalog") && it->next)
			continue;
		char *q = cat_quote_ident(s);
		buf_addf(b, "%s%s", first ? "" : ".", q);
		free(q);
		first = false;
	}
}

static const char *op_name(const cJSON *e)
{
	const cJSON *last = NULL, *it;
	cJSON_ArrayForEach(it, sql_jget(e, "name")) last = it;
	const char *s = sql_strval(last);
	return s ? s : "?";
}

static void deparse_aexpr(struct buf *b, const cJSON *e, const char *src)
{
	const char *kind = sql_jstr(e, "kind"), *op = op_name(e);
	const cJSON *l = sql_jget(e, "lexpr"), *r = sql_jget(e, "rexpr");
	if (kind && !strcmp(kind, "AEXPR_IN")) {
		deparse(b, l, src, true);
		buf_adds(b, strcmp(op, "=") ? " NOT IN (" : " IN (");
		const cJSON *items = sql_node(r, "List") ? sql_jget(sql_node(r, "List"), "items") : r;
		deparse_list(b, items, src, ", ");
		buf_addc(b, ')');
		return;
	}
	if (kind && (!strcmp(kind, "AEXPR_OP_ANY") || !strcmp(kind, "AEXPR_OP_ALL"))) {
		deparse(b, l, src, true);
		buf_addf(b, " %s %s (", op, !strcmp(kind, "AEXPR_OP_ANY") ? "ANY" : "ALL");
		deparse(b, r, src, false);
		buf_addc(b, ')');
		return;
	}
	if (kind && strstr(kind, "BETWEEN")) { /* rexpr: a list of the two bounds */
		const cJSON *items = sql_node(r, "List") ? sql_jget(sql_node(r, "List"), "items") : r;
		deparse(b, l, src, true);
		buf_addf(b, " %sBETWEEN %s", strstr(kind, "NOT_") ? "NOT " : "", strstr(kind, "_SYM") ? "SYMMETRIC " : "");
		deparse(b, cJSON_GetArrayItem(items, 0), src, true);
		buf_adds(b, " AND ");
		deparse(b, cJSON_GetArrayItem(items, 1), src, true);
		return;
	}
	if (kind && !strcmp(kind, "AEXPR_NULLIF")) {
		buf_adds(b, "NULLIF(");
		deparse(b, l, src, false);
		buf_adds(b, ", ");
		deparse(b, r, src, false);
		buf_addc(b, ')');
		return;
	}
	if (kind && !strcmp(kind, "AEXPR_DISTINCT"))
		op = "IS DISTINCT FROM";
	else if (kind && !strcmp(kind, "AEXPR_NOT_DISTINCT"))
		op = "IS NOT DISTINCT FROM";
	else if (kind && !strcmp(kind, "AEXPR_LIKE"))
		op = strcmp(op, "~~") ? "NOT LIKE" : "LIKE";
	else if (kind && !strcmp(kind, "AEXPR_ILIKE"))
		op = strcmp(op, "~~*") ? "NOT ILIKE" : "ILIKE";
	if (l) {
		deparse(b, l, src, true);
		buf_addc(b, ' ');
	}
	buf_addf(b, "%s ", op);
	deparse(b, r, src, true);
}

static void deparse_bool(struct buf *b, const cJSON *e, const char *src)
{
	const char *op = sql_jstr(e, "boolop");
	if (op && !strcmp(op, "NOT_EXPR")) {
		buf_adds(b, "NOT ");
		deparse(b, sql_jget(e, "args")->child, src, true);
		return;
	}
	const cJSON *it;
	bool first = true;
	cJSON_ArrayForEach(it, sql_jget(e, "args"))
	{
		if (!first)
			buf_adds(b, op && !strcmp(op, "OR_EXPR") ? " OR " : " AND ");
		first = false;
		deparse(b, it, src, true);
	}
}

static void deparse_func(struct buf *b, const cJSON *f, const char *src)
{
	deparse_names(b, sql_jget(f, "funcname"), true);
	buf_addc(b, '(');
	if (sql_jbool(f, "agg_star"))
		buf_addc(b, '*');
	if (sql_jbool(f, "agg_distinct"))
		buf_adds(b, "DISTINCT ");
	deparse_list(b, sql_jget(f, "args"), src, ", ");
	buf_addc(b, ')');
}

static const char *svf_name(const char *op)
{
	static const char *const map[][2] = {
		{"SVFOP_CURRENT_DATE", "CURRENT_DATE"},
		{"SVFOP_CURRENT_TIME", "CURRENT_TIME"},
		{"SVFOP_CURRENT_TIME_N", "CURRENT_TIME"},
		{"SVFOP_CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP"},
		{"SVFOP_CURRENT_TIMESTAMP_N", "CURRENT_TIMESTAMP"},
		{"SVFOP_LOCALTIME", "LOCALTIME"},
		{"SVFOP_LOCALTIME_N", "LOCALTIME"},
		{"SVFOP_LOCALTIMESTAMP", "LOCALTIMESTAMP"},
		{"SVFOP_LOCALTIMESTAMP_N", "LOCALTIMESTAMP"},
		{"SVFOP_CURRENT_ROLE", "CURRENT_ROLE"},
		{"SVFOP_CURRENT_USER", "CURRENT_USER"},
		{"SVFOP_USER", "USER"},
		{"SVFOP_SESSION_USER", "SESSION_USER"},
		{"SVFOP_CURRENT_CATALOG", "CURRENT_CATALOG"},
		{"SVFOP_CURRENT_SCHEMA", "CURRENT_SCHEMA"},
	};
	for (size_t i = 0; op && i < sizeof(map) / sizeof(*map); i++)
		if (!strcmp(op, map[i][0]))
			return map[i][1];
	return "CURRENT_TIMESTAMP";
}

/* Smallest "location" anywhere in the subtree, or -1. */
long sql_min_location(const cJSON *n)
{
	long best = -1;
	for (const cJSON *c = n ? n->child : NULL; c; c = c->next) {
		long l = -1;
		if (c->string && !strcmp(c->string, "location") && cJSON_IsNumber(c))
			l = (long)c->valuedouble;
		else if (cJSON_IsObject(c) || cJSON_IsArray(c))
			l = sql_min_location(c);
		if (l >= 0 && (best < 0 || l < best))
			best = l;
	}
	return best;
}

/* Fallback for node kinds we do not print: the source text from the
 * node's first token to the end of its parenthesis level. */
static void deparse_source(struct buf *b, const cJSON *n, const char *src)
{
	long loc = sql_min_location(n);
	if (!src || loc < 0) {
		buf_addf(b, "<%s>", sql_node_type(n) ? sql_node_type(n) : "expr");
		return;
	}
	int depth = 0;
	const char *p = src + loc, *start = p;
	for (; *p; p++) {
		if (*p == '(' || *p == '[')
			depth++;
		else if ((*p == ')' || *p == ']') && depth-- == 0)
			break;
		else if ((*p == ',' || *p == ';') && depth == 0)
			break;
		else if (*p == '\'' || *p == '"') /* a string, a quoted name */
			for (char q = *p; p[1] && *++p != q;)
				;
	}
	while (p > start && (p[-1] == ' ' || p[-1] == '\n' || p[-1] == '\t'))
		p--;
	buf_add(b, start, (size_t)(p - start));
}

static void deparse(struct buf *b, const cJSON *n, const char *src, bool nested)
{
	const char *type = sql_node_type(n);
	const cJSON *e = type ? n->child : NULL;
	if (!type) {
		buf_adds(b, "NULL");
	} else if (!strcmp(type, "A_Const")) {
		deparse_const(b, e, src);
	} else if (!strcmp(type, "ColumnRef")) {
		deparse_names(b, sql_jget(e, "fields"), false);
	} else if (!strcmp(type, "ParamRef")) {
		buf_addf(b, "$%ld", sql_jint(e, "number"));
	} else if (!strcmp(type, "FuncCall")) {
		deparse_func(b, e, src);
	} else if (!strcmp(type, "TypeCast")) {
		char *t = sql_format_type(sql_jget(e, "typeName"), NULL);
		deparse(b, sql_jget(e, "arg"), src, true);
		buf_addf(b, "::%s", t);
		free(t);
	} else if (!strcmp(type, "A_Expr") || !strcmp(type, "BoolExpr")) {
		if (nested)
			buf_addc(b, '(');
		if (!strcmp(type, "A_Expr"))
			deparse_aexpr(b, e, src);
		else
			deparse_bool(b, e, src);
		if (nested)
			buf_addc(b, ')');
	} else if (!strcmp(type, "NullTest")) {
		deparse(b, sql_jget(e, "arg"), src, true);
		const char *t = sql_jstr(e, "nulltesttype");
		buf_adds(b, t && !strcmp(t, "IS_NOT_NULL") ? " IS NOT NULL" : " IS NULL");
	} else if (!strcmp(type, "SQLValueFunction")) {
		buf_adds(b, svf_name(sql_jstr(e, "op")));
	} else if (!strcmp(type, "A_ArrayExpr")) {
		buf_adds(b, "ARRAY[");
		deparse_list(b, sql_jget(e, "elements"), src, ", ");
		buf_addc(b, ']');
	} else if (!strcmp(type, "CoalesceExpr")) {
		buf_adds(b, "COALESCE(");
		deparse_list(b, sql_jget(e, "args"), src, ", ");
		buf_addc(b, ')');
	} else if (!strcmp(type, "List")) {
		deparse_list(b, sql_jget(e, "items"), src, ", ");
	} else {
		deparse_source(b, n, src);
	}
}

char *sql_deparse_expr(const cJSON *expr, const char *src)
{
	struct buf b;
	buf_init(&b);
	deparse(&b, expr, src, false);
	return buf_detach(&b);
}
