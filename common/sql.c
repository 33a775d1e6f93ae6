#include "sql.h"

#include <pg_query.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* ---- the parse-tree arena ----
 * A script's cJSON tree is allocated from big blocks and released all at
 * once: parse trees are large (about four bytes of JSON per byte of SQL),
 * read-only once built, and freed together, so per-node malloc and free
 * cost more than the parse itself. */

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct sql_arena {
	struct arena_block *head;
};

static struct sql_arena *current_arena;

static void *arena_alloc(size_t n)
{
	struct sql_arena *a = current_arena;
	size_t units = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t);
	struct arena_block *b = a->head;
	if (!b || b->used + units > b->cap) {
		size_t cap = units > 65536 ? units : 65536;
		b = xmalloc(sizeof(*b) + cap * sizeof(max_align_t));
		b->used = 0;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
	}
	void *p = &b->data[b->used];
	b->used += units;
	return p;
}

static void arena_free(void *p)
{
	(void)p; /* released with the whole arena */
}

static void arena_release(struct sql_arena *a)
{
	while (a && a->head) {
		struct arena_block *b = a->head;
		a->head = b->next;
		free(b);
	}
	free(a);
}

/* cJSON_Parse into a fresh arena; the global cJSON hooks point at the arena
 * only for the duration of the call. */
static cJSON *parse_in_arena(const char *json, struct sql_arena **out)
{
	cJSON_Hooks hooks = {arena_alloc, arena_free};
	current_arena = xcalloc(1, sizeof(*current_arena));
	cJSON_InitHooks(&hooks);
	cJSON *tree = cJSON_Parse(json);
	xalloc_init_cjson();
	*out = current_arena;
	current_arena = NULL;
	return tree;
}

/* ---- parsing ---- */

/* Blank lines that start with a backslash (psql meta-commands such as
 * pg_dump's \restrict / \connect), keeping byte offsets and line numbers. */
static char *blank_meta_commands(const char *text)
{
	char *t = xstrdup(text);
	for (char *p = t; *p;) {
		if (*p == '\\')
			while (*p && *p != '\n')
				*p++ = ' ';
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
	return t;
}

static int line_of(const char *text, size_t off)
{
	int line = 1;
	for (size_t i = 0; i < off && text[i]; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

/* Skip whitespace and comments from off; the offset of the first token. */
static size_t skip_space(const char *t, size_t off, size_t end)
{
	while (off < end) {
		if (t[off] == ' ' || t[off] == '\t' || t[off] == '\n' || t[off] == '\r' || t[off] == '\f') {
			off++;
		} else if (t[off] == '-' && off + 1 < end && t[off + 1] == '-') {
			while (off < end && t[off] != '\n')
				off++;
		} else if (t[off] == '/' && off + 1 < end && t[off + 1] == '*') {
			int depth = 1;
			off += 2;
			while (off < end && depth) {
				if (t[off] == '*' && off + 1 < end && t[off + 1] == '/')
					depth--, off += 2;
				else if (t[off] == '/' && off + 1 < end && t[off + 1] == '*')
					depth++, off += 2;
				else
					off++;
			}
		} else {
			break;
		}
	}
	return off;
}

/* cursorpos is counted in characters; convert to a byte offset (UTF-8). */
static size_t char_to_byte(const char *t, int cursorpos)
{
	size_t i = 0;
	for (int c = 1; t[i] && c < cursorpos; i++)
		if (((unsigned char)t[i + 1] & 0xC0) != 0x80)
			c++;
	return i;
}

/* Line numbers are counted incrementally: statements come in text order. */
struct line_cursor {
	size_t off;
	int line;
};

static int line_at(const char *text, struct line_cursor *lc, size_t off)
{
	if (off < lc->off) {
		lc->off = 0;
		lc->line = 1;
	}
	for (; lc->off < off && text[lc->off]; lc->off++)
		if (text[lc->off] == '\n')
			lc->line++;
	return lc->line;
}

static void add_stmt(struct sql_script *s, const cJSON *raw, size_t textlen, struct line_cursor *lc)
{
	const cJSON *stmt = sql_jget(raw, "stmt");
	size_t off = (size_t)sql_jint(raw, "stmt_location");
	size_t len = (size_t)sql_jint(raw, "stmt_len");
	if (!stmt || !stmt->child)
		return;
	if (len == 0)
		len = textlen - off;
	xgrow(&s->stmts, &s->cap, s->n + 1, sizeof(*s->stmts));
	struct sql_stmt *st = &s->stmts[s->n++];
	size_t first = skip_space(s->text, off, off + len);
	st->offset = first;
	st->len = len - (first - off);
	st->line = line_at(s->text, lc, first);
	st->type = stmt->child->string;
	st->node = stmt->child;
}

int sql_parse(struct sql_script *s, const char *text, struct sql_error *err)
{
	memset(s, 0, sizeof(*s));
	memset(err, 0, sizeof(*err));
	s->text = text;
	char *clean = blank_meta_commands(text);
	PgQueryParseResult r = pg_query_parse(clean);
	if (r.error) {
		err->message = xstrdup(r.error->message);
		err->line = line_of(text, char_to_byte(text, r.error->cursorpos));
		pg_query_free_parse_result(r);
		free(clean);
		return -1;
	}
	s->tree = parse_in_arena(r.parse_tree, &s->arena);
	pg_query_free_parse_result(r);
	free(clean);
	if (!s->tree) {
		arena_release(s->arena);
		s->arena = NULL;
		err->message = xstrdup("parse tree is not JSON (libpg_query)");
		err->line = 1;
		return -1;
	}
	const cJSON *raw;
	size_t textlen = strlen(text);
	struct line_cursor lc = {0, 1};
	cJSON_ArrayForEach(raw, sql_jget(s->tree, "stmts")) add_stmt(s, raw, textlen, &lc);
	return 0;
}

void sql_script_release(struct sql_script *s)
{
	arena_release(s->arena); /* the tree with it */
	free(s->stmts);
	memset(s, 0, sizeof(*s));
}

void sql_error_release(struct sql_error *err)
{
	free(err->message);
	err->message = NULL;
}

char *sql_stmt_text(const struct sql_script *s, const struct sql_stmt *st)
{
	size_t len = st->len;
	while (len && strchr(" \t\r\n;", s->text[st->offset + len - 1]))
		len--;
	return xstrndup(s->text + st->offset, len);
}

/* ---- field access ---- */

const cJSON *sql_jget(const cJSON *node, const char *field)
{
	return node ? cJSON_GetObjectItemCaseSensitive(node, field) : NULL;
}

const char *sql_jstr(const cJSON *node, const char *field)
{
	const cJSON *v = sql_jget(node, field);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

long sql_jint(const cJSON *node, const char *field)
{
	const cJSON *v = sql_jget(node, field);
	return cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
}

bool sql_jbool(const cJSON *node, const char *field)
{
	return cJSON_IsTrue(sql_jget(node, field));
}

const cJSON *sql_node(const cJSON *n, const char *type)
{
	return n ? cJSON_GetObjectItemCaseSensitive(n, type) : NULL;
}

const char *sql_node_type(const cJSON *n)
{
	return n && n->child ? n->child->string : NULL;
}

const char *sql_strval(const cJSON *n)
{
	return sql_jstr(sql_node(n, "String"), "sval");
}

void sql_name_list(const cJSON *list, struct strv *sv)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
	{
		const char *s = sql_strval(it);
		if (s)
			strv_push(sv, s);
	}
}

char *sql_quote_literal(const char *s)
{
	struct buf b;
	buf_init(&b);
	buf_addc(&b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_addc(&b, '\'');
		buf_addc(&b, *s);
	}
	buf_addc(&b, '\'');
	return buf_detach(&b);
}
