#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "xalloc.h"

#define NAMEDATALEN 64

/* PostgreSQL 15 keywords that quote_ident() quotes: every category but
 * unreserved, read from pg_get_keywords() where catcode <> 'U'. */
static const char *const quoted_keywords[] = {
	"all",
	"analyse",
	"analyze",
	"and",
	"any",
	"array",
	"as",
	"asc",
	"asymmetric",
	"authorization",
	"between",
	"bigint",
	"binary",
	"bit",
	"boolean",
	"both",
	"case",
	"cast",
	"char",
	"character",
	"check",
	"coalesce",
	"collate",
	"collation",
	"column",
	"concurrently",
	"constraint",
	"create",
	"cross",
	"current_catalog",
	"current_date",
	"current_role",
	"current_schema",
	"current_time",
	"current_timestamp",
	"current_user",
	"dec",
	"decimal",
	"default",
	"deferrable",
	"desc",
	"distinct",
	"do",
	"else",
	"end",
	"except",
	"exists",
	"extract",
	"false",
	"fetch",
	"float",
	"for",
	"foreign",
	"freeze",
	"from",
	"full",
	"grant",
	"greatest",
	"group",
	"grouping",
	"having",
	"ilike",
	"in",
	"initially",
	"inner",
	"inout",
	"int",
	"integer",
	"intersect",
	"interval",
	"into",
	"is",
	"isnull",
	"join",
	"lateral",
	"leading",
	"least",
	"left",
	"like",
	"limit",
	"localtime",
	"localtimestamp",
	"national",
	"natural",
	"nchar",
	"none",
	"normalize",
	"not",
	"notnull",
	"null",
	"nullif",
	"numeric",
	"offset",
	"on",
	"only",
	"or",
	"order",
	"out",
	"outer",
	"overlaps",
	"overlay",
	"placing",
	"position",
	"precision",
	"primary",
	"real",
	"references",
	"returning",
	"right",
	"row",
	"select",
	"session_user",
	"setof",
	"similar",
	"smallint",
	"some",
	"substring",
	"symmetric",
	"table",
	"tablesample",
	"then",
	"time",
	"timestamp",
	"to",
	"trailing",
	"treat",
	"trim",
	"true",
	"union",
	"unique",
	"user",
	"using",
	"values",
	"varchar",
	"variadic",
	"verbose",
	"when",
	"where",
	"window",
	"with",
	"xmlattributes",
	"xmlconcat",
	"xmlelement",
	"xmlexists",
	"xmlforest",
	"xmlnamespaces",
	"xmlparse",
	"xmlpi",
	"xmlroot",
	"xmlserialize",
	"xmltable",
};

static int kwcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_quoted_keyword(const char *s)
{
	return bsearch(&s, quoted_keywords, sizeof(quoted_keywords) / sizeof(*quoted_keywords),
		       sizeof(*quoted_keywords), kwcmp) != NULL;
}

char *cat_quote_ident(const char *s)
{
	bool safe = (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_';
	for (const char *p = s; safe && *p; p++)
		safe = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
	if (safe && !is_quoted_keyword(s))
		return xstrdup(s);
	struct buf b;
	buf_init(&b);
	buf_addc(&b, '"');
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			buf_addc(&b, '"');
		buf_addc(&b, *p);
	}
	buf_addc(&b, '"');
	return buf_detach(&b);
}

char *cat_type_name(const char *schema, const char *name, bool array)
{
	char *n = cat_quote_ident(name);
	char *r;
	if (!schema || !strcmp(schema, "public")) {
		r = xasprintf("%s%s", n, array ? "[]" : "");
	} else {
		char *s = cat_quote_ident(schema);
		r = xasprintf("%s.%s%s", s, n, array ? "[]" : "");
		free(s);
	}
	free(n);
	return r;
}

/* Length of the longest prefix of s, at most n bytes, that does not split a
 * UTF-8 character (pg_mbcliplen for a UTF-8 database). */
static size_t utf8_clip(const char *s, size_t len, size_t n)
{
	if (len <= n)
		return len;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

char *cat_make_object_name(const char *name1, const char *name2, const char *label)
{
	size_t overhead = (label ? strlen(label) + 1 : 0) + (name2 ? 1 : 0);
	size_t avail = NAMEDATALEN - 1 - overhead;
	size_t n1 = strlen(name1), n2 = name2 ? strlen(name2) : 0;
	size_t l1 = n1, l2 = n2;
	while (l1 + l2 > avail) {
		if (l1 > l2)
			l1--;
		else
			l2--;
	}
	l1 = utf8_clip(name1, n1, l1);
	if (name2)
		l2 = utf8_clip(name2, n2, l2);
	struct buf b;
	buf_init(&b);
	buf_add(&b, name1, l1);
	if (name2) {
		buf_addc(&b, '_');
		buf_add(&b, name2, l2);
	}
	if (label) {
		buf_addc(&b, '_');
		buf_adds(&b, label);
	}
	return buf_detach(&b);
}

static char *choose(const struct catalog *c, const char *schema, const char *name1,
		    const char *name2, const char *label,
		    bool (*taken)(const struct catalog *, const char *, const char *))
{
	char *name = cat_make_object_name(name1, name2, label);
	for (int pass = 1; taken(c, schema, name); pass++) {
		free(name);
		char *mod = xasprintf("%s%d", label, pass);
		name = cat_make_object_name(name1, name2, mod);
		free(mod);
	}
	return name;
}

char *catalog_choose_relname(const struct catalog *c, const char *schema, const char *name1,
			     const char *name2, const char *label)
{
	return choose(c, schema, name1, name2, label, catalog_relname_exists);
}

char *catalog_choose_conname(const struct catalog *c, const char *schema, const char *name1,
			     const char *name2, const char *label)
{
	return choose(c, schema, name1, name2, label, catalog_constraint_exists);
}
