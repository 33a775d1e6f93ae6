/*
 * route.c: the partitions an INSERT ... VALUES routes its rows to.
 *
 * PostgreSQL locks a partition (ROW EXCLUSIVE) when the first row is routed
 * to it, and no other. A row is routed by comparing its key values with
 * each partition's bound (the DAG's partition_bound, parsed again by the
 * SQL parser), level by level. Values are compared as their key column's
 * type: numbers, dates and timestamps (with an explicit UTC offset for
 * timestamptz: the session's time zone is not known), and text for equality
 * (LIST) or, when both are lowercase letters and digits, order (RANGE:
 * collations agree there). Anything else, hash partitioning, or a value
 * that is not a constant, leaves the routing unknown: the caller then locks
 * only the partitioned table.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lockscore.h"
#include "xalloc.h"

enum vkind { V_UNKNOWN,
	     V_NULL,
	     V_NUM,
	     V_STR,
	     V_BOOL,
	     V_MIN,
	     V_MAX };

struct val {
	enum vkind kind;
	long double num; /* V_NUM, V_BOOL */
	const char *str; /* V_STR: the literal's text, borrowed */
};

/* A constant from a parse tree: A_Const, a TypeCast of one, MINVALUE or
 * MAXVALUE (parsed as column names in a bound). */
static struct val const_val(const cJSON *n, const char *src)
{
	struct val v = {V_UNKNOWN, 0, NULL};
	const cJSON *tc = sql_node(n, "TypeCast");
	if (tc)
		n = sql_jget(tc, "arg");
	const cJSON *cr = sql_node(n, "ColumnRef");
	if (cr) {
		const char *w = sql_strval(cJSON_GetArrayItem(sql_jget(cr, "fields"), 0));
		v.kind = w && !strcmp(w, "minvalue") ? V_MIN : w && !strcmp(w, "maxvalue") ? V_MAX
											   : V_UNKNOWN;
		return v;
	}
	const cJSON *c = sql_node(n, "A_Const"), *x;
	if (!c)
		return v;
	if (sql_jbool(c, "isnull")) {
		v.kind = V_NULL;
	} else if ((x = sql_jget(c, "sval"))) {
		v.kind = V_STR;
		v.str = sql_jstr(x, "sval") ? sql_jstr(x, "sval") : "";
	} else if ((x = sql_jget(c, "fval"))) {
		v.kind = V_STR; /* compared as a number when the key is numeric */
		v.str = sql_jstr(x, "fval");
	} else if ((x = sql_jget(c, "boolval"))) {
		v.kind = V_BOOL;
		v.num = sql_jbool(x, "boolval");
	} else if (sql_jget(c, "ival")) {
		v.kind = V_NUM;
		v.num = (long double)sql_const_ival(c, src);
	}
	return v;
}

enum ktype { K_NUM,
	     K_DATE,
	     K_TS,
	     K_TSTZ,
	     K_TEXT,
	     K_OTHER };

static enum ktype key_type(const char *type)
{
	static const char *const nums[] = {"smallint", "integer", "bigint", "numeric", "real", "double precision"};
	for (size_t i = 0; i < sizeof(nums) / sizeof(*nums); i++)
		if (!strncmp(type, nums[i], strlen(nums[i])))
			return K_NUM;
	if (!strcmp(type, "date"))
		return K_DATE;
	if (!strncmp(type, "timestamp", 9))
		return strstr(type, "with time zone") ? K_TSTZ : K_TS;
	if (!strcmp(type, "text") || !strncmp(type, "character varying", 17))
		return K_TEXT;
	return K_OTHER;
}

static bool all_digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)p[i]))
			return false;
	return true;
}

/* An ISO date or timestamp as seconds since 1970 (UTC when an offset is
 * written): YYYY-MM-DD[( |T)HH:MM[:SS[.frac]]][Z|(+|-)HH[:MM]]. */
static bool iso_time(const char *s, enum ktype kt, long double *out)
{
	size_t n = strlen(s);
	if (n < 10 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) || s[7] != '-' || !all_digits(s + 8, 2))
		return false;
	struct tm tm = {0};
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = atoi(s + 5) - 1;
	tm.tm_mday = atoi(s + 8);
	const char *p = s + 10;
	long double frac = 0;
	bool offset = false;
	long off = 0;
	if (*p == ' ' || *p == 'T') {
		p++;
		if (!all_digits(p, 2) || p[2] != ':' || !all_digits(p + 3, 2))
			return false;
		tm.tm_hour = atoi(p);
		tm.tm_min = atoi(p + 3);
		p += 5;
		if (*p == ':') {
			if (!all_digits(p + 1, 2))
				return false;
			tm.tm_sec = atoi(p + 1);
			p += 3;
			if (*p == '.') {
				char *end;
				frac = strtold(p, &end);
				p = end;
			}
		}
		if (*p == 'Z') {
			offset = true;
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1;
			if (!all_digits(p + 1, 2))
				return false;
			off = atol(p + 1) * 3600;
			p += 3;
			if (*p == ':' && all_digits(p + 1, 2)) {
				off += atol(p + 1) * 60;
				p += 3;
			}
			off *= sign;
			offset = true;
		}
	}
	if (*p)
		return false;
	if (kt == K_DATE && p != s + 10)
		return false; /* a time in a date: PostgreSQL refuses or truncates */
	if (kt == K_TSTZ && !offset)
		return false; /* the session's time zone decides */
	*out = (long double)timegm(&tm) + frac - (kt == K_TSTZ ? (long double)off : 0);
	return true;
}

static bool plain_lower(const char *s)
{
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s))
			return false;
	return true;
}

/* as_number: a numeric literal (kept as text by the parser) read as a
 * number in place; false when it is not one. */
static bool as_number(struct val *v)
{
	if (v->kind != V_STR)
		return true;
	char *end;
	errno = 0;
	v->num = strtold(v->str, &end);
	return !errno && !*end && end != v->str;
}

/* Compare a with b as values of the key type: -1, 0, 1, or 2 when that
 * cannot be told here; ordered says whether order matters (RANGE) or
 * only equality (LIST). NULLs are the caller's. */
static int compare(struct val a, struct val b, enum ktype kt, bool ordered)
{
	if (a.kind == V_MIN || b.kind == V_MAX)
		return a.kind == b.kind ? 0 : -1;
	if (a.kind == V_MAX || b.kind == V_MIN)
		return 1;
	long double x, y;
	if (kt == K_NUM) {
		if (!as_number(&a) || !as_number(&b))
			return 2;
		x = a.num;
		y = b.num;
	} else if (kt == K_DATE || kt == K_TS || kt == K_TSTZ) {
		if (a.kind != V_STR || b.kind != V_STR || !iso_time(a.str, kt, &x) || !iso_time(b.str, kt, &y))
			return 2;
	} else if (a.kind == V_STR && b.kind == V_STR) {
		int r = strcmp(a.str, b.str);
		if (!r)
			return 0;
		if (!ordered && (kt == K_TEXT || kt == K_OTHER))
			return r < 0 ? -1 : 1; /* different labels: not equal */
		if (kt == K_TEXT && plain_lower(a.str) && plain_lower(b.str))
			return r < 0 ? -1 : 1;
		return 2;
	} else if (a.kind == V_BOOL && b.kind == V_BOOL) {
		x = a.num;
		y = b.num;
	} else {
		return 2;
	}
	return x < y ? -1 : x > y ? 1
				  : 0;
}

/* Row-wise comparison of key values with a range bound: -1, 0, 1, or 2. */
static int compare_row(const struct val *row, const cJSON *bound, const enum ktype *kts, size_t nkey,
		       const char *bsrc)
{
	size_t i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, bound)
	{
		if (i >= nkey)
			return 2;
		struct val b = const_val(it, bsrc);
		if (b.kind == V_UNKNOWN || b.kind == V_NULL)
			return 2;
		if (b.kind == V_MIN || b.kind == V_MAX)
			return b.kind == V_MIN ? 1 : -1; /* the rest of the bound is the same */
		int r = compare(row[i], b, kts[i], true);
		if (r)
			return r;
		i++;
	}
	return 0;
}

/* Does partition p (its bound parsed in bs, text bsrc) take the row? 1 yes,
 * 0 no, -1 cannot tell. */
static int takes(const cJSON *bs, const char *bsrc, const struct val *row, const enum ktype *kts, size_t nkey)
{
	const char *strategy = sql_jstr(bs, "strategy");
	if (!strategy || !strcmp(strategy, "h"))
		return -1;
	if (!strcmp(strategy, "l")) {
		const cJSON *it;
		if (nkey != 1)
			return -1;
		bool unsure = false;
		cJSON_ArrayForEach(it, sql_jget(bs, "listdatums"))
		{
			struct val b = const_val(it, bsrc);
			if (b.kind == V_NULL || row[0].kind == V_NULL) {
				if (b.kind == row[0].kind)
					return 1;
				continue;
			}
			int r = compare(row[0], b, kts[0], false);
			if (!r)
				return 1;
			unsure |= r == 2;
		}
		return unsure ? -1 : 0;
	}
	for (size_t i = 0; i < nkey; i++)
		if (row[i].kind == V_NULL)
			return 0; /* a NULL range key goes to the default partition */
	int lo = compare_row(row, sql_jget(bs, "lowerdatums"), kts, nkey, bsrc);
	int hi = compare_row(row, sql_jget(bs, "upperdatums"), kts, nkey, bsrc);
	if (lo == 2 || hi == 2)
		return -1;
	return lo >= 0 && hi < 0;
}

/* The key values of one VALUES row for table t's key. */
static bool row_key(const struct cat_table *t, const struct strv *cols, const cJSON *items, const char *src,
		    struct val *row, enum ktype *kts)
{
	for (size_t k = 0; k < t->partition_key.n; k++) {
		const char *key = t->partition_key.v[k];
		const struct cat_column *col = *key ? table_column(t, key) : NULL;
		if (!col)
			return false; /* an expression key */
		kts[k] = key_type(col->type);
		/* its place in the column list, else in the table's columns */
		long at = cols->n ? strv_index(cols, key) : (long)(col - t->cols);
		if (at < 0 && cols->n) { /* not given: its default */
			if (col->def || col->identity || col->generated)
				return false;
			row[k].kind = V_NULL;
			continue;
		}
		const cJSON *item = at >= 0 ? cJSON_GetArrayItem(items, (int)at) : NULL;
		if (!item)
			return false;
		row[k] = const_val(item, src);
		if (row[k].kind == V_UNKNOWN || row[k].kind == V_MIN || row[k].kind == V_MAX)
			return false;
	}
	return true;
}

/* A partition's bound, parsed once per INSERT however many rows it has. */
struct bound {
	const struct cat_table *part;
	char *text;
	struct sql_script s;
	bool have;   /* s holds a parse */
	bool parsed; /* ... of one statement, the bound's */
};

struct router {
	const struct catalog *cat;
	const struct strv *cols;
	const char *src;
	struct bound *b;
	size_t n, cap;
};

static const struct bound *bound_of(struct router *rt, const struct cat_table *p)
{
	for (size_t i = 0; i < rt->n; i++)
		if (rt->b[i].part == p)
			return &rt->b[i];
	xgrow(&rt->b, &rt->cap, rt->n + 1, sizeof(*rt->b));
	struct bound *b = &rt->b[rt->n++];
	memset(b, 0, sizeof(*b));
	b->part = p;
	b->text = xasprintf("CREATE TABLE x PARTITION OF y %s", p->partition_bound);
	struct sql_error err;
	if (sql_parse(&b->s, b->text, &err) < 0)
		sql_error_release(&err);
	else
		b->have = true, b->parsed = b->s.n == 1;
	return b;
}

/* One row into partitioned table parent: push the partitions it passes
 * through onto parts. */
static enum route route_row(struct router *rt, const struct cat_table *parent, const cJSON *items,
			    struct strv *parts, const char **none, int depth)
{
	size_t nkey = parent->partition_key.n;
	if (!nkey || depth > 16)
		return ROUTE_UNKNOWN;
	struct val *row = xcalloc(nkey, sizeof(*row));
	enum ktype *kts = xcalloc(nkey, sizeof(*kts));
	const struct cat_table *to = NULL, *dflt = NULL;
	bool ok = row_key(parent, rt->cols, items, rt->src, row, kts);
	for (size_t i = 0; ok && i < rt->cat->ntables && !to; i++) {
		const struct cat_table *p = rt->cat->tables[i];
		if (!p->partition_of || strcmp(p->partition_of, parent->qname))
			continue;
		if (!p->partition_bound) {
			ok = false;
			break;
		}
		if (!strcmp(p->partition_bound, "DEFAULT")) {
			dflt = p;
			continue;
		}
		const struct bound *b = bound_of(rt, p);
		int r = b->parsed ? takes(sql_jget(b->s.stmts[0].node, "partbound"), b->text, row, kts, nkey) : -1;
		if (r < 0)
			ok = false;
		else if (r)
			to = p;
	}
	free(row);
	free(kts);
	if (!ok)
		return ROUTE_UNKNOWN;
	if (!to)
		to = dflt;
	if (!to) {
		*none = parent->qname; /* no partition takes it: the INSERT fails */
		return ROUTE_NONE;
	}
	if (strv_index(parts, to->qname) < 0)
		strv_push(parts, to->qname);
	return to->partition_by ? route_row(rt, to, items, parts, none, depth + 1) : ROUTE_KNOWN;
}

enum route route_insert(const struct catalog *cat, const char *table, const cJSON *insert, const char *src,
			struct strv *parts, const char **none)
{
	const struct cat_table *t = catalog_table_q(cat, table);
	const cJSON *sel = sql_node(sql_jget(insert, "selectStmt"), "SelectStmt");
	const cJSON *lists = sel ? sql_jget(sel, "valuesLists") : NULL, *it;
	*none = NULL;
	if (!t || !t->partition_by || !cJSON_GetArraySize(lists))
		return ROUTE_UNKNOWN;
	struct strv cols = STRV_INIT;
	cJSON_ArrayForEach(it, sql_jget(insert, "cols"))
	{
		const char *name = sql_jstr(sql_node(it, "ResTarget"), "name");
		strv_push(&cols, name ? name : "");
	}
	struct router rt = {cat, &cols, src, NULL, 0, 0};
	enum route r = ROUTE_KNOWN, one;
	/* rows go in order: those before a row that fails were routed, and
	 * a row whose way is unknown does not hide the others' */
	cJSON_ArrayForEach(it, lists)
	{
		one = route_row(&rt, t, sql_jget(sql_node(it, "List"), "items"), parts, none, 0);
		if (one == ROUTE_NONE) {
			r = one;
			break;
		}
		if (one == ROUTE_UNKNOWN)
			r = ROUTE_UNKNOWN;
	}
	for (size_t i = 0; i < rt.n; i++) {
		if (rt.b[i].have)
			sql_script_release(&rt.b[i].s);
		free(rt.b[i].text);
	}
	free(rt.b);
	strv_release(&cols);
	return r;
}
