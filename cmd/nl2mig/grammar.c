/*
 * grammar.c — the builtin provider: a deterministic grammar for the
 * requests people make ("add soft_delete column to orders with a default of
 * false"), names resolved against the DAG, safe SQL forms out.
 *
 * A request is split into tokens (words, 'strings', (groups), punctuation)
 * and matched against patterns, first match wins. Pattern elements:
 *   word|other   a literal (case-insensitive)
 *   ?elem        optional
 *   $name        one identifier token, captured (never a filler word)
 *   *name        any tokens, lazily, captured
 * A rule's handler may decline (return false): the next rule is tried.
 * What is left over in a capture of modifiers must be understood entirely:
 * a word the grammar does not know refuses the request, it is not ignored.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg.h"
#include "nl2mig.h"
#include "sql.h"
#include "xalloc.h"

enum tk { T_WORD,
	  T_STR,
	  T_PAREN,
	  T_PUNCT };

struct tok {
	char *s; /* text (without quotes or parentheses) */
	enum tk k;
	bool quoted;	 /* a "quoted" identifier */
	size_t off, end; /* bytes in the request */
};

struct toks {
	struct tok *v;
	size_t n, cap;
	const char *src;
};

struct cap {
	const char *name;
	size_t a, b;
};

struct gm {
	const struct toks *t;
	char **pat;
	size_t np;
	struct cap caps[16];
	int ncaps;
};

struct gctx {
	const struct catalog *cat;
	const char *lock_timeout;
	struct buf sql;
	char *desc;
};

/* ---------- tokens ---------- */

static bool word_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '$' || c == '-' || c == '[' || c == ']' || (c & 0x80);
}

static void tok_push(struct toks *t, char *s, enum tk k, bool quoted, size_t off, size_t end)
{
	xgrow(&t->v, &t->cap, t->n + 1, sizeof(*t->v));
	t->v[t->n++] = (struct tok){s, k, quoted, off, end};
}

static void tokenize(const char *src, struct toks *t)
{
	size_t i = 0, n = strlen(src);
	memset(t, 0, sizeof(*t));
	t->src = src;
	while (i < n) {
		unsigned char c = (unsigned char)src[i];
		size_t st = i;
		if (isspace(c)) {
			i++;
		} else if (c == '\'' || c == '"' || c == '`') {
			struct buf b = BUF_INIT;
			buf_init(&b);
			for (i++; i < n; i++) {
				if (src[i] == (char)c) {
					if (c == '\'' && src[i + 1] == '\'') {
						buf_addc(&b, '\'');
						i++;
						continue;
					}
					break;
				}
				buf_addc(&b, src[i]);
			}
			if (i >= n)
				die("request: unterminated %c quote", c);
			i++;
			tok_push(t, buf_detach(&b), c == '\'' ? T_STR : T_WORD, c != '\'', st, i);
		} else if (c == '(') {
			int depth = 0;
			for (; i < n; i++) {
				if (src[i] == '(')
					depth++;
				else if (src[i] == ')' && --depth == 0)
					break;
				else if (src[i] == '\'') /* skip a literal inside */
					for (i++; i < n && src[i] != '\''; i++)
						;
			}
			if (i >= n)
				die("request: unbalanced parenthesis");
			i++;
			tok_push(t, xstrndup(src + st + 1, i - st - 2), T_PAREN, false, st, i);
		} else if (word_char(c)) {
			while (i < n && word_char((unsigned char)src[i]))
				i++;
			size_t e = i;
			while (e > st + 1 && (src[e - 1] == '.' || src[e - 1] == '-'))
				e--; /* "orders." at the end of a sentence */
			tok_push(t, xstrndup(src + st, e - st), T_WORD, false, st, e);
		} else {
			i++;
			if (c == ',' || c == ':' || c == ';' || c == '=' || c == '<' || c == '>' || c == '!')
				tok_push(t, xstrndup(src + st, 1), T_PUNCT, false, st, i);
		}
	}
}

static void toks_release(struct toks *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].s);
	free(t->v);
}

/* ---------- matching ---------- */

static const char *const fillers[] = {"a", "an", "the", "to", "on", "in", "of", "with", "and", "from", "for",
				      "column", "columns", "field", "table", "model", "into", "as", "by",
				      "index", "that", "is", "be", "default", "not", "null", "where", NULL};

static bool is_filler(const char *s)
{
	for (int i = 0; fillers[i]; i++)
		if (!strcasecmp(s, fillers[i]))
			return true;
	return false;
}

static bool lit_match(const char *alts, const struct tok *t)
{
	if (t->k == T_STR || t->k == T_PAREN || t->quoted)
		return false;
	size_t n = strlen(t->s);
	for (const char *p = alts; *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && !strncasecmp(p, t->s, n))
			return true;
		p += len + (bar != NULL);
	}
	return false;
}

static bool gm_match(struct gm *m, size_t pi, size_t ti)
{
	size_t n = m->t->n;
	if (pi == m->np)
		return ti == n;
	const char *p = m->pat[pi];
	bool opt = *p == '?';
	int saved = m->ncaps;
	if (opt)
		p++;
	if (*p == '$') {
		const struct tok *t = ti < n ? &m->t->v[ti] : NULL;
		if (t && t->k == T_WORD && (t->quoted || !is_filler(t->s))) {
			m->caps[m->ncaps++] = (struct cap){p + 1, ti, ti + 1};
			if (gm_match(m, pi + 1, ti + 1))
				return true;
			m->ncaps = saved;
		}
		return opt && gm_match(m, pi + 1, ti);
	}
	if (*p == '*') {
		for (size_t e = ti; e <= n; e++) {
			m->caps[m->ncaps++] = (struct cap){p + 1, ti, e};
			if (gm_match(m, pi + 1, e))
				return true;
			m->ncaps = saved;
		}
		return false;
	}
	if (ti < n && lit_match(p, &m->t->v[ti]) && gm_match(m, pi + 1, ti + 1))
		return true;
	return opt && gm_match(m, pi + 1, ti);
}

static bool gm_run(struct gm *m, const struct toks *t, const char *pattern)
{
	char *copy = xstrdup(pattern);
	char *save = NULL;
	size_t cap = 0;
	m->t = t;
	m->pat = NULL;
	m->np = 0;
	m->ncaps = 0;
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		xgrow(&m->pat, &cap, m->np + 1, sizeof(*m->pat));
		m->pat[m->np++] = w;
	}
	bool ok = gm_match(m, 0, 0);
	/* capture names point into copy: keep it alive with the match */
	if (!ok) {
		free(copy);
		free(m->pat);
		m->pat = NULL;
	}
	return ok;
}

static void gm_release(struct gm *m)
{
	if (m->pat) {
		free(m->pat[0]);
		free(m->pat);
	}
	m->pat = NULL;
}

static const struct cap *cap_get(const struct gm *m, const char *name)
{
	for (int i = m->ncaps - 1; i >= 0; i--)
		if (!strcmp(m->caps[i].name, name))
			return &m->caps[i];
	return NULL;
}

static const char *cap_word(const struct gm *m, const char *name)
{
	const struct cap *c = cap_get(m, name);
	return c && c->b > c->a ? m->t->v[c->a].s : NULL;
}

/* ---------- names ---------- */

static char *norm_name(const char *s)
{
	char *o = xmalloc(strlen(s) + 1), *p = o;
	for (; *s; s++)
		if (*s != '_' && *s != '-' && *s != ' ')
			*p++ = (char)tolower((unsigned char)*s);
	*p = 0;
	return o;
}

static char *singular(const char *s)
{
	size_t n = strlen(s);
	if (n > 3 && !strcmp(s + n - 3, "ies"))
		return xasprintf("%.*sy", (int)(n - 3), s);
	if (n > 4 && (!strcmp(s + n - 4, "sses") || !strcmp(s + n - 4, "shes") || !strcmp(s + n - 4, "ches") ||
		      !strcmp(s + n - 3, "xes")))
		return xstrndup(s, n - 2);
	if (n > 1 && s[n - 1] == 's' && s[n - 2] != 's')
		return xstrndup(s, n - 1);
	return xstrdup(s);
}

/* name_level: how well word names candidate: 1 exact, 2 case-insensitive,
 * 3 the same without _ and case (customerId, customer_id), 4 also the
 * same in the singular (orders, Order, OrderItem, order_items); 0 no. */
static int name_level(const char *word, const char *cand, bool plural)
{
	if (!strcmp(word, cand))
		return 1;
	if (!strcasecmp(word, cand))
		return 2;
	char *a = norm_name(word), *b = norm_name(cand);
	int lv = !strcmp(a, b) ? 3 : 0;
	if (!lv && plural) {
		char *sa = singular(a), *sb = singular(b);
		lv = !strcmp(sa, sb) ? 4 : 0;
		free(sa);
		free(sb);
	}
	free(a);
	free(b);
	return lv;
}

static bool similar(const char *word, const char *cand)
{
	char *a = norm_name(word), *b = norm_name(cand);
	bool s = strlen(a) >= 3 && strlen(b) >= 3 && (strstr(b, a) || strstr(a, b) || !strncmp(a, b, 3));
	free(a);
	free(b);
	return s;
}

_Noreturn static void refuse_name(const char *what, const char *word, const char *where, struct strv *cands,
				  bool ambiguous)
{
	char *list = strv_join(cands, ", ");
	if (ambiguous)
		die("request: %s '%s' is ambiguous%s%s: it could be %s", what, word, where ? " in " : "",
		    where ? where : "", list);
	die("request: no %s '%s'%s%s%s%s", what, word, where ? " in " : "", where ? where : "",
	    cands->n ? "; candidates: " : "", cands->n ? list : "");
}

const struct cat_table *grammar_find_table(const struct catalog *cat, const char *word, bool must)
{
	const char *dot = strchr(word, '.');
	char *sch = dot ? xstrndup(word, (size_t)(dot - word)) : NULL;
	const char *nm = dot ? dot + 1 : word;
	int best = 5;
	struct strv hits = STRV_INIT, near = STRV_INIT;
	const struct cat_table *found = NULL;
	for (size_t i = 0; i < cat->ntables; i++) {
		const struct cat_table *t = cat->tables[i];
		if (sch && strcmp(t->schema, sch))
			continue;
		int lv = name_level(nm, t->name, true);
		if (lv && lv < best) {
			best = lv;
			strv_release(&hits);
			found = NULL;
		}
		if (lv && lv == best) {
			strv_push(&hits, t->qname);
			found = t;
		}
		if (!lv && similar(nm, t->name))
			strv_push(&near, t->qname);
	}
	free(sch);
	if (hits.n > 1)
		refuse_name("table", word, NULL, &hits, true);
	if (!found && must) {
		if (!near.n)
			for (size_t i = 0; i < cat->ntables && i < 12; i++)
				strv_push(&near, cat->tables[i]->qname);
		refuse_name("table", word, NULL, &near, false);
	}
	strv_release(&hits);
	strv_release(&near);
	return found;
}

static const struct cat_column *find_column(const struct cat_table *t, const char *word, bool must)
{
	int best = 4;
	struct strv hits = STRV_INIT, all = STRV_INIT;
	const struct cat_column *found = NULL;
	for (size_t i = 0; i < t->ncols; i++) {
		int lv = name_level(word, t->cols[i].name, false);
		if (lv && lv < best) {
			best = lv;
			strv_release(&hits);
		}
		if (lv && lv == best) {
			strv_push(&hits, t->cols[i].name);
			found = &t->cols[i];
		}
		strv_push(&all, t->cols[i].name);
	}
	if (hits.n > 1)
		refuse_name("column", word, t->qname, &hits, true);
	if (!found && must)
		refuse_name("column", word, t->qname, &all, false);
	strv_release(&hits);
	strv_release(&all);
	return found;
}

static const struct cat_enum *find_enum(const struct catalog *cat, const char *word)
{
	for (size_t i = 0; i < cat->nenums; i++)
		if (name_level(word, cat->enums[i]->name, false))
			return cat->enums[i];
	return NULL;
}

/* table.column: both resolved; NULL when word has no dot. */
static const struct cat_table *split_tc(const struct catalog *cat, const char *word, const struct cat_column **col)
{
	const char *dot = strrchr(word, '.');
	if (!dot || dot == word || !dot[1])
		return NULL;
	char *tw = xstrndup(word, (size_t)(dot - word));
	const struct cat_table *t = grammar_find_table(cat, tw, true);
	free(tw);
	*col = find_column(t, dot + 1, true);
	return t;
}

static const char *tname(const struct cat_table *t, char **tmp)
{
	*tmp = qualified(t->schema, t->name);
	return *tmp;
}

/* ---------- modifiers: types, defaults, NULL-ness ---------- */

struct spec {
	char *type;
	char *def;	/* SQL expression */
	char *def_type; /* type inferred from the default */
	int null;	/* -1 unsaid, 0 NOT NULL, 1 nullable */
	bool unique, drop_default;
	char *where; /* raw predicate text */
	char *on_delete;
	char *ref; /* references TABLE */
	struct strv cols;
};

static void spec_release(struct spec *s)
{
	free(s->type);
	free(s->def);
	free(s->def_type);
	free(s->where);
	free(s->on_delete);
	free(s->ref);
	strv_release(&s->cols);
}

static const struct {
	const char *word, *type;
	bool takes_args;
} type_words[] = {
	{"text", "text", false},
	{"string", "text", false},
	{"varchar", "varchar", true},
	{"char", "char", true},
	{"boolean", "boolean", false},
	{"bool", "boolean", false},
	{"flag", "boolean", false},
	{"integer", "integer", false},
	{"int", "integer", false},
	{"int4", "integer", false},
	{"bigint", "bigint", false},
	{"int8", "bigint", false},
	{"long", "bigint", false},
	{"smallint", "smallint", false},
	{"int2", "smallint", false},
	{"numeric", "numeric", true},
	{"decimal", "numeric", true},
	{"real", "real", false},
	{"float", "double precision", false},
	{"float8", "double precision", false},
	{"double", "double precision", false},
	{"timestamptz", "timestamptz", false},
	{"datetime", "timestamptz", false},
	{"timestamp", "timestamp", false},
	{"date", "date", false},
	{"time", "time", false},
	{"uuid", "uuid", false},
	{"json", "jsonb", false},
	{"jsonb", "jsonb", false},
	{"bytea", "bytea", false},
	{"inet", "inet", false},
	{"interval", "interval", false},
	{"money", "numeric(12,2)", false},
};

/* parse_type: a type at toks[i]; returns the tokens used (0: none). */
static size_t parse_type(const struct catalog *cat, const struct toks *t, size_t i, size_t end, char **out)
{
	if (i >= end || t->v[i].k != T_WORD)
		return 0;
	const char *w = t->v[i].s;
	size_t wl = strlen(w);
	bool array = wl > 2 && !strcmp(w + wl - 2, "[]");
	char *base = xstrndup(w, array ? wl - 2 : wl);
	size_t used = 1;
	char *type = NULL;
	for (size_t k = 0; k < sizeof type_words / sizeof *type_words && !t->v[i].quoted; k++) {
		if (strcasecmp(base, type_words[k].word))
			continue;
		const char *ty = type_words[k].type;
		if (type_words[k].takes_args && i + 1 < end && t->v[i + 1].k == T_PAREN) {
			type = xasprintf("%s(%s)", ty, t->v[i + 1].s);
			used = 2;
		} else if (!strcmp(ty, "double precision") && i + 1 < end && lit_match("precision", &t->v[i + 1])) {
			used = 2;
		} else if (!strcmp(ty, "timestamp") && i + 3 < end && lit_match("with|without", &t->v[i + 1]) &&
			   lit_match("time", &t->v[i + 2]) && lit_match("zone", &t->v[i + 3])) {
			ty = lit_match("with", &t->v[i + 1]) ? "timestamptz" : "timestamp";
			used = 4;
		}
		if (!type)
			type = xstrdup(ty);
		break;
	}
	if (!type) {
		const struct cat_enum *e = find_enum(cat, base);
		if (e)
			type = qualified(e->schema, e->name);
	}
	free(base);
	if (!type)
		return 0;
	*out = array ? xasprintf("%s[]", type) : xstrdup(type);
	free(type);
	return used;
}

static bool is_number(const char *s)
{
	char *end;
	if (!*s)
		return false;
	strtod(s, &end);
	return !*end && (isdigit((unsigned char)*s) || *s == '-' || *s == '.');
}

/* parse_value: a default value at toks[i]; returns tokens used (0: none). */
static size_t parse_value(const struct toks *t, size_t i, size_t end, struct spec *s)
{
	if (i >= end)
		return 0;
	const struct tok *k = &t->v[i];
	const char *ty = NULL;
	char *v = NULL;
	size_t used = 1;
	if (k->k == T_STR) {
		v = sql_quote_literal(k->s);
		ty = "text";
	} else if (k->k != T_WORD || k->quoted) {
		return 0;
	} else if (lit_match("true|false|yes|no|on|off", k)) {
		v = xstrdup(lit_match("true|yes|on", k) ? "true" : "false");
		ty = "boolean";
	} else if (is_number(k->s)) {
		v = xstrdup(k->s);
		ty = strpbrk(k->s, ".eE") ? "numeric" : "integer";
	} else if (lit_match("now|current_timestamp|now()", k)) {
		v = xstrdup("now()");
		ty = "timestamptz";
		if (i + 1 < end && t->v[i + 1].k == T_PAREN && !t->v[i + 1].s[0])
			used = 2;
	} else if (lit_match("gen_random_uuid", k) && i + 1 < end && t->v[i + 1].k == T_PAREN) {
		v = xstrdup("gen_random_uuid()");
		ty = "uuid";
		used = 2;
	} else if (lit_match("null", k)) {
		v = xstrdup("NULL");
	} else if (lit_match("empty", k) && i + 1 < end && lit_match("string", &t->v[i + 1])) {
		v = xstrdup("''");
		ty = "text";
		used = 2;
	} else {
		v = sql_quote_literal(k->s); /* an enum label, a bare word */
	}
	free(s->def);
	free(s->def_type);
	s->def = v;
	s->def_type = ty ? xstrdup(ty) : NULL;
	return used;
}

static void col_list(const char *text, struct strv *out)
{
	char *copy = xstrdup(text), *save = NULL;
	for (char *w = strtok_r(copy, ", \t", &save); w; w = strtok_r(NULL, ", \t", &save))
		if (strcasecmp(w, "and"))
			strv_push(out, w[0] == '"' ? w + 1 : w);
	for (size_t i = 0; i < out->n; i++) {
		size_t n = strlen(out->v[i]);
		if (n && out->v[i][n - 1] == '"')
			out->v[i][n - 1] = 0;
	}
	free(copy);
}

/* parse_spec: the modifiers in toks[a, b). Dies on a word it does not know. */
static void parse_spec(const struct catalog *cat, const struct toks *t, size_t a, size_t b, struct spec *s,
		       bool cols_ok)
{
	bool neg = false;
	for (size_t i = a; i < b;) {
		const struct tok *k = &t->v[i];
		size_t used;
		char *ty = NULL;
		if (k->k == T_PUNCT && strcmp(k->s, "=") && strcmp(k->s, ":")) {
			die("request: '%s' not understood here", k->s);
		} else if (k->k == T_PUNCT) {
			i++;
		} else if (lit_match("default|defaulting|defaults", k)) {
			i++;
			while (i < b && (lit_match("of|to|value|=|is|as", &t->v[i]) || !strcmp(t->v[i].s, "=")))
				i++;
			if (!(used = parse_value(t, i, b, s)))
				die("request: a default value should follow 'default'");
			i += used;
		} else if (lit_match("required|mandatory|non-null|non-nullable|notnull", k)) {
			s->null = 0;
			i++;
		} else if (lit_match("not", k)) {
			neg = true;
			i++;
			continue;
		} else if (lit_match("null|nullable|optional|nulls", k)) {
			s->null = neg ? 0 : 1;
			i++;
		} else if (lit_match("unique", k)) {
			s->unique = true;
			i++;
		} else if (lit_match("where|when", k)) {
			if (i + 1 >= b)
				die("request: a condition should follow 'where'");
			s->where = xstrndup(t->src + t->v[i + 1].off, t->v[b - 1].end - t->v[i + 1].off);
			i = b;
		} else if (lit_match("on", k) && i + 2 < b && lit_match("delete", &t->v[i + 1])) {
			i += 2;
			if (lit_match("cascade|restrict", &t->v[i])) {
				s->on_delete = xstrdup(lit_match("cascade", &t->v[i]) ? "CASCADE" : "RESTRICT");
				i++;
			} else if (i + 1 < b && lit_match("set", &t->v[i]) && lit_match("null", &t->v[i + 1])) {
				s->on_delete = xstrdup("SET NULL");
				i += 2;
			} else if (i + 1 < b && lit_match("no", &t->v[i]) && lit_match("action", &t->v[i + 1])) {
				s->on_delete = xstrdup("NO ACTION");
				i += 2;
			} else {
				die("request: ON DELETE takes cascade, restrict, set null or no action");
			}
		} else if (lit_match("references|referencing", k) && i + 1 < b && t->v[i + 1].k == T_WORD) {
			free(s->ref);
			s->ref = xstrdup(t->v[i + 1].s);
			i += 2;
			if (i < b && t->v[i].k == T_PAREN)
				i++; /* the referenced key: always the primary key here */
		} else if (cols_ok && k->k == T_PAREN) {
			col_list(k->s, &s->cols);
			i++;
		} else if ((used = parse_type(cat, t, i, b, &ty))) {
			free(s->type);
			s->type = ty;
			i += used;
		} else if (lit_match("with|and|a|an|the|of|type|value|column|field|that|is|be|it|should|must|can|"
				     "always|have|has|set|to|as|concurrently|index|an|partial|new|by|on|columns|fields|"
				     "allowed|allow|made",
				     k)) {
			i++;
			continue; /* a filler keeps a pending "not" */
		} else if (cols_ok && k->k == T_WORD) {
			strv_push(&s->cols, k->s);
			i++;
		} else {
			die("request: '%s' not understood (a type, a default, NULL or NOT NULL was expected)", k->s);
		}
		neg = false;
	}
}

static void spec_range(const struct catalog *cat, const struct gm *m, const char *name, struct spec *s, bool cols)
{
	const struct cap *c = cap_get(m, name);
	if (c)
		parse_spec(cat, m->t, c->a, c->b, s, cols);
}

/* ---------- SQL building ---------- */

static void lead(struct gctx *g)
{
	if (!g->sql.len)
		buf_addf(&g->sql, "SET lock_timeout = '%s';\n", g->lock_timeout);
}

static void col_def(struct buf *b, const char *name, const struct spec *s)
{
	char *q = cat_quote_ident(name);
	buf_addf(b, "%s %s", q, s->type ? s->type : s->def_type);
	if (s->def)
		buf_addf(b, " DEFAULT %s", s->def);
	if (s->null == 0)
		buf_adds(b, " NOT NULL");
	free(q);
}

static void need_type(struct spec *s, const char *col)
{
	if (!s->type && !s->def_type)
		die("request: no type for column '%s' (say e.g. 'text', 'integer', 'boolean', or give a default)", col);
	if (s->null == 0 && !s->def)
		die("request: a NOT NULL column '%s' added to an existing table needs a default "
		    "(existing rows have no value for it)",
		    col);
}

/* ---------- handlers ---------- */

static void add_column_sql(struct gctx *g, const struct cat_table *t, const char *col, struct spec *s)
{
	char *tmp;
	if (find_column(t, col, false))
		die("request: %s already has a column '%s'", t->qname, find_column(t, col, false)->name);
	need_type(s, col);
	lead(g);
	buf_addf(&g->sql, "ALTER TABLE %s ADD COLUMN ", tname(t, &tmp));
	col_def(&g->sql, col, s);
	buf_adds(&g->sql, ";\n");
	free(tmp);
	if (s->unique) {
		char *ix = cat_make_object_name(t->name, col, "key");
		char *qix = cat_quote_ident(ix), *qc = cat_quote_ident(col);
		buf_addf(&g->sql, "CREATE UNIQUE INDEX CONCURRENTLY %s ON %s (%s);\n", qix, tname(t, &tmp), qc);
		free(ix);
		free(qix);
		free(qc);
		free(tmp);
	}
	if (!g->desc)
		g->desc = xasprintf("add column %s to %s", col, t->name);
}

static bool h_add_column(struct gctx *g, struct gm *m)
{
	const char *tc = cap_word(m, "tc");
	const struct cat_table *t;
	const struct cat_column *c = NULL;
	char *col;
	struct spec s = {.null = -1};
	if (tc) {
		const char *dot = strrchr(tc, '.');
		if (!dot)
			return false;
		char *tw = xstrndup(tc, (size_t)(dot - tc));
		t = grammar_find_table(g->cat, tw, true);
		free(tw);
		col = xstrdup(dot + 1);
	} else {
		t = grammar_find_table(g->cat, cap_word(m, "table"), true);
		col = xstrdup(cap_word(m, "col"));
	}
	(void)c;
	spec_range(g->cat, m, "pre", &s, false);
	spec_range(g->cat, m, "mid", &s, false);
	spec_range(g->cat, m, "post", &s, false);
	add_column_sql(g, t, col, &s);
	free(col);
	spec_release(&s);
	return true;
}

static bool h_timestamps(struct gctx *g, struct gm *m)
{
	const struct cat_table *t = grammar_find_table(g->cat, cap_word(m, "table"), true);
	struct spec s = {.null = 0, .type = xstrdup("timestamptz"), .def = xstrdup("now()")};
	int added = 0;
	g->desc = xasprintf("add timestamps to %s", t->name);
	for (int i = 0; i < 2; i++) {
		const char *c = i ? "updated_at" : "created_at";
		if (find_column(t, c, false))
			continue;
		add_column_sql(g, t, c, &s);
		added++;
	}
	if (!added)
		die("request: %s already has created_at and updated_at", t->qname);
	spec_release(&s);
	return true;
}

static bool h_soft_delete(struct gctx *g, struct gm *m)
{
	const struct cat_table *t = grammar_find_table(g->cat, cap_word(m, "table"), true);
	struct spec s = {.null = 1, .type = xstrdup("timestamptz")};
	g->desc = xasprintf("add soft delete to %s", t->name);
	add_column_sql(g, t, "deleted_at", &s);
	spec_release(&s);
	return true;
}

static bool h_drop_column(struct gctx *g, struct gm *m)
{
	const struct cat_column *c;
	const struct cat_table *t;
	char *tmp;
	if (cap_word(m, "tc")) {
		if (!(t = split_tc(g->cat, cap_word(m, "tc"), &c)))
			return false;
	} else {
		t = grammar_find_table(g->cat, cap_word(m, "table"), true);
		c = find_column(t, cap_word(m, "col"), true);
	}
	char *qc = cat_quote_ident(c->name);
	lead(g);
	buf_addf(&g->sql, "ALTER TABLE %s DROP COLUMN %s;\n", tname(t, &tmp), qc);
	g->desc = xasprintf("drop column %s from %s", c->name, t->name);
	free(qc);
	free(tmp);
	return true;
}

static bool h_rename_column(struct gctx *g, struct gm *m)
{
	const struct cat_column *c;
	const struct cat_table *t;
	char *tmp;
	if (cap_word(m, "tc")) {
		if (!strrchr(cap_word(m, "tc"), '.'))
			return false;
		t = split_tc(g->cat, cap_word(m, "tc"), &c);
	} else {
		t = grammar_find_table(g->cat, cap_word(m, "table"), true);
		c = find_column(t, cap_word(m, "col"), true);
	}
	const char *nw = cap_word(m, "new");
	if (find_column(t, nw, false) && strcmp(find_column(t, nw, false)->name, c->name))
		die("request: %s already has a column '%s'", t->qname, nw);
	char *qa = cat_quote_ident(c->name), *qb = cat_quote_ident(nw);
	lead(g);
	buf_addf(&g->sql, "ALTER TABLE %s RENAME COLUMN %s TO %s;\n", tname(t, &tmp), qa, qb);
	g->desc = xasprintf("rename column %s of %s to %s", c->name, t->name, nw);
	free(qa);
	free(qb);
	free(tmp);
	return true;
}

static bool h_rename_table(struct gctx *g, struct gm *m)
{
	const struct cat_table *t = grammar_find_table(g->cat, cap_word(m, "table"), true);
	const char *nw = cap_word(m, "new");
	char *tmp;
	if (strchr(nw, '.'))
		die("request: the new name '%s' must not name a schema", nw);
	if (catalog_relname_exists(g->cat, t->schema, nw))
		die("request: %s.%s already exists", t->schema, nw);
	char *q = cat_quote_ident(nw);
	lead(g);
	buf_addf(&g->sql, "ALTER TABLE %s RENAME TO %s;\n", tname(t, &tmp), q);
	g->desc = xasprintf("rename table %s to %s", t->name, nw);
	free(q);
	free(tmp);
	return true;
}

static bool h_drop_table(struct gctx *g, struct gm *m)
{
	const struct cat_table *t = grammar_find_table(g->cat, cap_word(m, "table"), true);
	char *tmp;
	lead(g);
	buf_addf(&g->sql, "DROP TABLE %s;\n", tname(t, &tmp));
	g->desc = xasprintf("drop table %s", t->name);
	free(tmp);
	return true;
}

/* index columns: "(a, b)" after the table, "column a", "a and b", or table.col */
static void index_cols(const struct cat_table *t, struct spec *s, struct strv *out)
{
	for (size_t i = 0; i < s->cols.n; i++)
		strv_push(out, find_column(t, s->cols.v[i], true)->name);
	if (!out->n)
		die("request: which columns should %s be indexed on?", t->qname);
}

static bool h_add_index(struct gctx *g, struct gm *m)
{
	struct spec s = {.null = -1};
	const struct cat_table *t;
	const struct cat_column *c;
	struct strv cols = STRV_INIT;
	const char *tw = cap_word(m, "table");
	char *tmp;
	if (strrchr(tw, '.') && !grammar_find_table(g->cat, tw, false)) {
		t = split_tc(g->cat, tw, &c);
		strv_push(&cols, c->name);
	} else {
		t = grammar_find_table(g->cat, tw, true);
	}
	if (cap_word(m, "col"))
		strv_push(&cols, find_column(t, cap_word(m, "col"), true)->name);
	spec_range(g->cat, m, "pre", &s, false);
	spec_range(g->cat, m, "post", &s, true);
	if (!cols.n)
		index_cols(t, &s, &cols);
	else if (s.cols.n)
		die("request: columns given twice");
	char *joined = strv_join(&cols, "_");
	char *ix = catalog_choose_relname(g->cat, t->schema, t->name, joined, s.unique ? "key" : "idx");
	char *qix = cat_quote_ident(ix);
	struct buf cl = BUF_INIT;
	buf_init(&cl);
	for (size_t i = 0; i < cols.n; i++) {
		char *q = cat_quote_ident(cols.v[i]);
		buf_addf(&cl, "%s%s", i ? ", " : "", q);
		free(q);
	}
	if (s.where) {
		char *probe = xasprintf("SELECT 1 WHERE %s", s.where);
		struct sql_script sc = {0};
		struct sql_error err = {0};
		if (sql_parse(&sc, probe, &err) < 0 || sc.n != 1)
			die("request: the condition '%s' is not an SQL expression%s%s", s.where, err.message ? ": " : "",
			    err.message ? err.message : "");
		sql_script_release(&sc);
		free(probe);
	}
	lead(g);
	buf_addf(&g->sql, "CREATE %sINDEX CONCURRENTLY %s ON %s (%s)%s%s;\n", s.unique ? "UNIQUE " : "", qix,
		 tname(t, &tmp), cl.s, s.where ? " WHERE " : "", s.where ? s.where : "");
	g->desc = xasprintf("add %sindex on %s (%s)", s.unique ? "unique " : "", t->name, joined);
	free(tmp);
	free(joined);
	free(ix);
	free(qix);
	buf_release(&cl);
	strv_release(&cols);
	spec_release(&s);
	return true;
}

static bool h_drop_index(struct gctx *g, struct gm *m)
{
	const char *w = cap_word(m, "name");
	const char *dot = strchr(w, '.');
	char *sch = dot ? xstrndup(w, (size_t)(dot - w)) : xstrdup("public");
	const struct cat_index *ix = catalog_index(g->cat, sch, dot ? dot + 1 : w);
	free(sch);
	if (!ix) {
		struct strv near = STRV_INIT;
		for (size_t i = 0; i < g->cat->nindexes; i++)
			if (similar(w, g->cat->indexes[i]->name) && !g->cat->indexes[i]->constraint)
				strv_push(&near, g->cat->indexes[i]->name);
		refuse_name("index", w, NULL, &near, false);
	}
	if (ix->constraint)
		die("request: index %s backs the constraint %s: drop the constraint instead", ix->name, ix->constraint);
	char *q = qualified(ix->schema, ix->name);
	lead(g);
	buf_addf(&g->sql, "DROP INDEX CONCURRENTLY %s;\n", q);
	g->desc = xasprintf("drop index %s", ix->name);
	free(q);
	return true;
}

static bool h_drop_index_on(struct gctx *g, struct gm *m)
{
	const struct cat_table *t = grammar_find_table(g->cat, cap_word(m, "table"), true);
	struct spec s = {.null = -1};
	struct strv cols = STRV_INIT, hits = STRV_INIT;
	spec_range(g->cat, m, "post", &s, true);
	index_cols(t, &s, &cols);
	const struct cat_index *found = NULL;
	for (size_t i = 0; i < g->cat->nindexes; i++) {
		const struct cat_index *ix = g->cat->indexes[i];
		if (!strcmp(ix->table, t->qname) && strv_equal(&ix->columns, &cols) && !ix->constraint) {
			strv_push(&hits, ix->name);
			found = ix;
		}
	}
	if (hits.n != 1) {
		for (size_t i = 0; !hits.n && i < g->cat->nindexes; i++)
			if (!strcmp(g->cat->indexes[i]->table, t->qname))
				strv_push(&hits, g->cat->indexes[i]->name);
		refuse_name("index on those columns of", t->qname, NULL, &hits, found != NULL);
	}
	char *q = qualified(found->schema, found->name);
	lead(g);
	buf_addf(&g->sql, "DROP INDEX CONCURRENTLY %s;\n", q);
	g->desc = xasprintf("drop index %s", found->name);
	free(q);
	strv_release(&cols);
	strv_release(&hits);
	spec_release(&s);
	return true;
}

/* the referenced side: a table (its primary key) or table.column */
static const struct cat_table *ref_side(const struct catalog *cat, const char *w, const char **rcol)
{
	const struct cat_table *t = grammar_find_table(cat, w, false);
	const struct cat_column *c;
	if (!t && strrchr(w, '.')) {
		t = split_tc(cat, w, &c);
		*rcol = c->name;
		return t;
	}
	t = grammar_find_table(cat, w, true);
	if (t->pk.n != 1)
		die("request: %s has %s primary key: name the referenced column (table.column)", t->qname,
		    t->pk.n ? "a composite" : "no");
	*rcol = t->pk.v[0];
	return t;
}

static void emit_fk(struct gctx *g, const struct cat_table *t, const char *col, const struct cat_table *rt,
		    const char *rcol, const char *on_delete)
{
	char *name = catalog_choose_conname(g->cat, t->schema, t->name, col, "fkey");
	char *qn = cat_quote_ident(name), *qc = cat_quote_ident(col), *qr = cat_quote_ident(rcol), *tmp, *tmp2;
	const struct cat_column *a = find_column(t, col, true), *b = find_column(rt, rcol, true);
	if (strcmp(a->type, b->type))
		warning("%s.%s is %s but %s.%s is %s", t->qname, col, a->type, rt->qname, rcol, b->type);
	lead(g);
	buf_addf(&g->sql, "ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s)%s%s NOT VALID;\n",
		 tname(t, &tmp), qn, qc, tname(rt, &tmp2), qr, on_delete ? " ON DELETE " : "",
		 on_delete ? on_delete : "");
	buf_addf(&g->sql, "ALTER TABLE %s VALIDATE CONSTRAINT %s;\n", tmp, qn);
	g->desc = xasprintf("add foreign key from %s.%s to %s", t->name, col, rt->name);
	free(tmp);
	free(tmp2);
	free(name);
	free(qn);
	free(qc);
	free(qr);
}

static bool h_add_fk(struct gctx *g, struct gm *m)
{
	const struct cat_column *c = NULL;
	const struct cat_table *t;
	const char *src = cap_word(m, "tc");
	struct spec s = {.null = -1};
	if (src) {
		if (!(t = split_tc(g->cat, src, &c)))
			return false;
	} else {
		t = grammar_find_table(g->cat, cap_word(m, "table"), true);
		spec_range(g->cat, m, "cols", &s, true);
		if (s.cols.n != 1)
			die("request: name one referencing column of %s", t->qname);
		c = find_column(t, s.cols.v[0], true);
	}
	const char *rcol;
	const struct cat_table *rt = ref_side(g->cat, cap_word(m, "ref"), &rcol);
	spec_range(g->cat, m, "post", &s, false);
	emit_fk(g, t, c->name, rt, rcol, s.on_delete);
	spec_release(&s);
	return true;
}

static bool h_add_check(struct gctx *g, struct gm *m)
{
	const struct cat_table *t = grammar_find_table(g->cat, cap_word(m, "table"), true);
	const struct cap *c = cap_get(m, "expr");
	size_t a = c->a;
	while (a < c->b && lit_match("that|where|:|so|ensuring", &m->t->v[a]))
		a++;
	if (a >= c->b)
		die("request: which condition should the check enforce?");
	char *expr = m->t->v[a].k == T_PAREN && a + 1 == c->b
			     ? xstrdup(m->t->v[a].s)
			     : xstrndup(m->t->src + m->t->v[a].off, m->t->v[c->b - 1].end - m->t->v[a].off);
	char *probe = xasprintf("SELECT 1 WHERE (%s)", expr);
	struct sql_script sc = {0};
	struct sql_error err = {0};
	if (sql_parse(&sc, probe, &err) < 0 || sc.n != 1)
		die("request: the check '%s' is not an SQL expression%s%s", expr, err.message ? ": " : "",
		    err.message ? err.message : "");
	/* the first column named in it gives the constraint its name */
	const char *first = NULL;
	struct toks et;
	tokenize(expr, &et);
	for (size_t i = 0; i < et.n && !first; i++)
		if (et.v[i].k == T_WORD && find_column(t, et.v[i].s, false))
			first = find_column(t, et.v[i].s, false)->name;
	toks_release(&et);
	sql_script_release(&sc);
	free(probe);
	char *name = catalog_choose_conname(g->cat, t->schema, t->name, first ? first : "", "check");
	char *qn = cat_quote_ident(name), *tmp;
	lead(g);
	buf_addf(&g->sql, "ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s) NOT VALID;\n", tname(t, &tmp), qn, expr);
	buf_addf(&g->sql, "ALTER TABLE %s VALIDATE CONSTRAINT %s;\n", tmp, qn);
	g->desc = xasprintf("add check %s to %s", name, t->name);
	free(tmp);
	free(qn);
	free(name);
	free(expr);
	return true;
}

static void set_not_null(struct gctx *g, const struct cat_table *t, const struct cat_column *c)
{
	char *tmp;
	if (!c->nullable)
		die("request: %s.%s is already NOT NULL", t->qname, c->name);
	char *ck = catalog_choose_conname(g->cat, t->schema, t->name, c->name, "not_null");
	char *qk = cat_quote_ident(ck), *qc = cat_quote_ident(c->name);
	const char *tn = tname(t, &tmp);
	lead(g);
	buf_addf(&g->sql, "ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID;\n", tn, qk, qc);
	buf_addf(&g->sql, "ALTER TABLE %s VALIDATE CONSTRAINT %s;\n", tn, qk);
	buf_addf(&g->sql, "ALTER TABLE %s ALTER COLUMN %s SET NOT NULL;\n", tn, qc);
	buf_addf(&g->sql, "ALTER TABLE %s DROP CONSTRAINT %s;\n", tn, qk);
	g->desc = xasprintf("set %s.%s not null", t->name, c->name);
	free(ck);
	free(qk);
	free(qc);
	free(tmp);
}

static void simple_alter(struct gctx *g, const struct cat_table *t, const struct cat_column *c, const char *what,
			 char *desc)
{
	char *tmp, *qc = cat_quote_ident(c->name);
	lead(g);
	buf_addf(&g->sql, "ALTER TABLE %s ALTER COLUMN %s %s;\n", tname(t, &tmp), qc, what);
	g->desc = desc;
	free(qc);
	free(tmp);
}

static void change_type(struct gctx *g, const struct cat_table *t, const struct cat_column *c, const char *type)
{
	for (size_t i = 0; i < g->cat->nviews; i++) {
		const struct cat_view *v = g->cat->views[i];
		if (strv_index(&v->depends_on, t->qname) >= 0 && (!v->definition || strstr(v->definition, c->name)))
			die("request: view %s uses %s.%s: PostgreSQL cannot change the type of a column a view uses "
			    "(drop and recreate the view in the same migration, by hand)",
			    v->qname, t->qname, c->name);
	}
	char *qc = cat_quote_ident(c->name);
	char *what = xasprintf("TYPE %s USING %s::%s", type, qc, type);
	simple_alter(g, t, c, what, xasprintf("change type of %s.%s to %s", t->name, c->name, type));
	free(what);
	free(qc);
}

/* "make orders.notes not null", "make notes on orders a bigint" ... */
static bool h_alter_column(struct gctx *g, struct gm *m)
{
	const struct cat_column *c;
	const struct cat_table *t;
	struct spec s = {.null = -1};
	if (cap_word(m, "tc")) {
		if (!(t = split_tc(g->cat, cap_word(m, "tc"), &c)))
			return false;
	} else {
		t = grammar_find_table(g->cat, cap_word(m, "table"), true);
		c = find_column(t, cap_word(m, "col"), true);
	}
	spec_range(g->cat, m, "mods", &s, false);
	const struct cap *dv = cap_get(m, "defval");
	if (dv && parse_value(m->t, dv->a, dv->b, &s) != dv->b - dv->a)
		die("request: one default value was expected");
	if (cap_get(m, "forcenull"))
		s.null = lit_match("drop|remove|allow", &m->t->v[0]) ? 1 : 0;
	int n = (s.null >= 0) + (s.type != NULL) + (s.def != NULL || s.drop_default);
	if (n != 1)
		die("request: say one change for %s.%s: NOT NULL, nullable, a type, or a default", t->name, c->name);
	if (s.null == 0)
		set_not_null(g, t, c);
	else if (s.null == 1) {
		if (c->nullable)
			die("request: %s.%s is already nullable", t->qname, c->name);
		simple_alter(g, t, c, "DROP NOT NULL", xasprintf("make %s.%s nullable", t->name, c->name));
	} else if (s.type)
		change_type(g, t, c, s.type);
	else {
		char *what = xasprintf("SET DEFAULT %s", s.def);
		simple_alter(g, t, c, what, xasprintf("set default of %s.%s", t->name, c->name));
		free(what);
	}
	spec_release(&s);
	return true;
}

static bool h_change_type(struct gctx *g, struct gm *m)
{
	const struct cat_column *c;
	const struct cat_table *t;
	if (cap_word(m, "tc")) {
		if (!(t = split_tc(g->cat, cap_word(m, "tc"), &c)))
			return false;
	} else {
		t = grammar_find_table(g->cat, cap_word(m, "table"), true);
		c = find_column(t, cap_word(m, "col"), true);
	}
	const struct cap *k = cap_get(m, "type");
	char *type = NULL;
	size_t a = k->a;
	while (a < k->b && lit_match("a|an|type", &m->t->v[a]))
		a++;
	if (parse_type(g->cat, m->t, a, k->b, &type) != k->b - a || !type)
		die("request: '%s' is not a type the grammar knows",
		    a < k->b ? m->t->v[a].s : "(nothing)");
	change_type(g, t, c, type);
	free(type);
	return true;
}

static bool h_drop_default(struct gctx *g, struct gm *m)
{
	const struct cat_column *c;
	const struct cat_table *t = split_tc(g->cat, cap_word(m, "tc"), &c);
	if (!t)
		return false;
	if (!c->def)
		die("request: %s.%s has no default", t->qname, c->name);
	simple_alter(g, t, c, "DROP DEFAULT", xasprintf("drop default of %s.%s", t->name, c->name));
	return true;
}

static bool h_enum_value(struct gctx *g, struct gm *m)
{
	const char *ew = cap_word(m, "enum");
	const struct cat_enum *e = find_enum(g->cat, ew);
	const struct cap *vc = cap_get(m, "val");
	if (!e && strrchr(ew, '.')) {
		const struct cat_column *c;
		const char *dot = strrchr(ew, '.');
		char *tw = xstrndup(ew, (size_t)(dot - ew));
		const struct cat_table *t = grammar_find_table(g->cat, tw, false);
		free(tw);
		c = t ? find_column(t, dot + 1, false) : NULL;
		for (size_t i = 0; c && !e && i < g->cat->nenums; i++) {
			char *tn = cat_type_name(g->cat->enums[i]->schema, g->cat->enums[i]->name, false);
			if (!strcmp(tn, c->type))
				e = g->cat->enums[i];
			free(tn);
		}
	}
	if (!e || vc->b != vc->a + 1)
		return false;
	const char *val = m->t->v[vc->a].s;
	if (strv_index(&e->values, val) >= 0)
		die("request: enum %s already has the value '%s'", e->qname, val);
	char *q = qualified(e->schema, e->name), *lit = sql_quote_literal(val);
	lead(g);
	buf_addf(&g->sql, "ALTER TYPE %s ADD VALUE %s;\n", q, lit);
	g->desc = xasprintf("add value %s to enum %s", val, e->name);
	free(q);
	free(lit);
	return true;
}

/* create table NAME (a text, b int) / with columns a text, b integer and c date */
static bool h_create_table(struct gctx *g, struct gm *m)
{
	const char *nw = cap_word(m, "name");
	const struct cap *c = cap_get(m, "spec");
	char *sch = xstrdup("public"), *name = xstrdup(nw);
	if (strchr(nw, '.')) {
		free(sch);
		free(name);
		cat_split_qname(nw, &sch, &name);
	}
	if (catalog_relname_exists(g->cat, sch, name))
		die("request: %s.%s already exists", sch, name);
	struct toks sub = {0};
	size_t a = c->a, b = c->b;
	const struct toks *t = m->t;
	if (b == a + 1 && t->v[a].k == T_PAREN) {
		tokenize(t->v[a].s, &sub);
		t = &sub;
		a = 0;
		b = sub.n;
	}
	while (a < b && lit_match("with|columns|fields|column|having|and|:", &t->v[a]))
		a++;
	struct buf defs = BUF_INIT;
	buf_init(&defs);
	bool has_id = false;
	for (size_t i = a; i < b;) {
		size_t e = i + 1;
		while (e < b && !(t->v[e].k == T_PUNCT && !strcmp(t->v[e].s, ",")) && !lit_match("and", &t->v[e]))
			e++;
		if (t->v[i].k != T_WORD)
			die("request: a column name was expected, not '%s'", t->v[i].s);
		struct spec s = {.null = -1};
		const char *cn = t->v[i].s;
		parse_spec(g->cat, t, i + 1, e, &s, false);
		if (!s.type && !s.def_type && s.ref) {
			const char *rcol;
			const struct cat_table *rt = ref_side(g->cat, s.ref, &rcol);
			s.type = xstrdup(find_column(rt, rcol, true)->type);
		}
		if (!s.type && !s.def_type)
			die("request: no type for column '%s'", cn);
		buf_adds(&defs, ",\n    ");
		col_def(&defs, cn, &s);
		if (!strcasecmp(cn, "id")) {
			has_id = true;
			buf_adds(&defs, " PRIMARY KEY");
		}
		if (s.unique)
			buf_adds(&defs, " UNIQUE");
		if (s.ref) {
			const char *rcol;
			const struct cat_table *rt = ref_side(g->cat, s.ref, &rcol);
			char *tmp, *qr = cat_quote_ident(rcol);
			buf_addf(&defs, " REFERENCES %s (%s)%s%s", tname(rt, &tmp), qr, s.on_delete ? " ON DELETE " : "",
				 s.on_delete ? s.on_delete : "");
			free(tmp);
			free(qr);
		}
		spec_release(&s);
		i = e < b ? e + 1 : e;
	}
	char *qt = qualified(sch, name);
	lead(g);
	buf_addf(&g->sql, "CREATE TABLE %s (", qt);
	if (!has_id)
		buf_adds(&g->sql, "\n    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
	buf_adds(&g->sql, has_id ? defs.s + 1 : defs.s);
	buf_adds(&g->sql, "\n);\n");
	g->desc = xasprintf("create table %s", name);
	buf_release(&defs);
	free(qt);
	free(sch);
	free(name);
	if (t == &sub)
		toks_release(&sub);
	return true;
}

/* ---------- the rules ---------- */

typedef bool (*handler)(struct gctx *, struct gm *);

static const struct rule {
	const char *pattern;
	handler fn;
} rules[] = {
	{"add ?the timestamps|timestamp to|on|for ?the $table ?table|model", h_timestamps},
	{"add created_at and updated_at ?columns|timestamps to|on ?the $table ?table|model", h_timestamps},
	{"add|enable|support soft delete|deletes|deletion ?support to|on|for ?the $table ?table|model", h_soft_delete},
	{"add|enable|support soft-delete|soft-deletes|softdelete ?support to|on|for ?the $table ?table|model",
	 h_soft_delete},
	{"make ?the $table ?table soft-deletable|soft-delete", h_soft_delete},
	{"make ?the $table ?table soft deletable", h_soft_delete},
	{"soft-delete|soft_delete ?the $table ?table|model", h_soft_delete},
	{"create|add|make ?a|an|new table|model $name *spec", h_create_table},
	{"drop|remove|delete ?the table|model $table", h_drop_table},
	{"drop|remove|delete ?the $table table|model", h_drop_table},
	{"rename ?the table|model $table to|as $new", h_rename_table},
	{"rename ?the $table table|model to|as $new", h_rename_table},
	{"rename ?the column|field $col ?column|field in|on|of|from ?the $table ?table|model to|as $new",
	 h_rename_column},
	{"rename ?the ?column|field $col to|as $new in|on|of ?the $table ?table|model", h_rename_column},
	{"rename ?the ?column|field $tc to|as $new", h_rename_column},
	{"rename $table to|as $new", h_rename_table},
	{"add ?the ?value|label *val to|in ?the enum|type $enum ?enum|type", h_enum_value},
	{"add ?the ?value|label *val to|in ?the $enum enum|type", h_enum_value},
	{"add *val as ?a|an ?new value|option|status|state to|of|for ?the $enum ?enum|type|column", h_enum_value},
	{"add ?the ?value|label *val to|in ?the $enum", h_enum_value},
	{"drop|remove|delete ?the ?unique index|idx on|from ?the $table *post", h_drop_index_on},
	{"drop|remove|delete ?the index|idx $name", h_drop_index},
	{"add|create ?a|an *pre index|idx on|for|to ?the column|field $col of|in|on ?the $table ?table *post",
	 h_add_index},
	{"add|create ?a|an *pre index|idx on|for|to ?the $table ?table *post", h_add_index},
	{"index $table ?table by|on *post", h_add_index},
	{"add ?a|an foreign key|fk from ?the $tc to|referencing|references|on ?the $ref *post", h_add_fk},
	{"add ?a|an foreign key|fk on|to|for ?the $table *cols referencing|references|to ?the $ref *post", h_add_fk},
	{"add ?a|an foreign key|fk ?constraint $tc referencing|references|to ?the $ref *post", h_add_fk},
	{"make ?the $tc reference|references ?the $ref *post", h_add_fk},
	{"$tc references|referencing ?the $ref *post", h_add_fk},
	{"$tc should|must reference ?the $ref *post", h_add_fk},
	{"add ?a|an check ?constraint on|to ?the $table ?table *expr", h_add_check},
	{"set|add ?a not null ?constraint on|to|for ?the ?column $tc", h_alter_column},
	{"drop|remove not null ?constraint from|on ?the ?column $tc", h_alter_column},
	{"allow null|nulls|nulls in|on|for ?the ?column $tc", h_alter_column},
	{"drop|remove ?the default from|of|on ?the ?column $tc", h_drop_default},
	{"change|alter|set ?the type of ?the ?column $tc to *type", h_change_type},
	{"change|alter|set ?the type of ?the ?column $col on|in|of ?the $table ?table to *type", h_change_type},
	{"change|alter|convert ?the ?column $tc ?type to|into *type", h_change_type},
	{"set|change ?the default of|for ?the ?column $tc to *defval", h_alter_column},
	{"make|set ?the ?column|field $tc *mods", h_alter_column},
	{"make|set ?the ?column|field $col on|in|of ?the $table ?table *mods", h_alter_column},
	{"$tc should|must|can *mods", h_alter_column},
	{"drop|remove|delete ?the ?column|field $col ?column|field from|on|in ?the $table ?table|model", h_drop_column},
	{"drop|remove|delete ?the ?column|field $tc", h_drop_column},
	{"add ?a|an|new *pre column|field $col *mid to|on|in|onto ?the $table ?table|model *post", h_add_column},
	{"add ?a|an|new $col *mid to|on|in|onto ?the $table ?table|model *post", h_add_column},
	{"add ?a|an|new *pre column|field $tc *post", h_add_column},
	{"add ?a|an|new $tc *post", h_add_column},
};

void grammar_translate(const struct catalog *cat, const char *request, const char *lock_timeout, struct mig *m)
{
	struct toks t;
	struct gctx g = {cat, lock_timeout, BUF_INIT, NULL};
	buf_init(&g.sql);
	tokenize(request, &t);
	while (t.n && t.v[t.n - 1].k == T_PUNCT && !strcmp(t.v[t.n - 1].s, ";"))
		free(t.v[--t.n].s);
	if (!t.n)
		die("request: empty");
	bool done = false;
	for (size_t i = 0; i < sizeof rules / sizeof *rules && !done; i++) {
		struct gm mt = {0};
		if (!gm_run(&mt, &t, rules[i].pattern))
			continue;
		/* "drop not null" and friends force the NULL-ness */
		if (strstr(rules[i].pattern, "not null") || strstr(rules[i].pattern, "allow null"))
			mt.caps[mt.ncaps++] = (struct cap){"forcenull", 0, 0};
		done = rules[i].fn(&g, &mt);
		gm_release(&mt);
	}
	if (!done)
		die("request: not understood by the builtin grammar: \"%s\" (try e.g. \"add column notes text to "
		    "orders\"; or --provider anthropic|openai)",
		    request);
	m->forward = buf_detach(&g.sql);
	m->description = g.desc;
	toks_release(&t);
}
