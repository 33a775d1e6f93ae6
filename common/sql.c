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

/* arena_reset: empty the arena for reuse, keeping its newest block. */
static void arena_reset(struct sql_arena *a)
{
	if (!a->head)
		return;
	while (a->head->next) {
		struct arena_block *b = a->head->next;
		a->head->next = b->next;
		free(b);
	}
	a->head->used = 0;
}

/* cJSON_Parse into the arena *out (a fresh one when *out is NULL); the
 * global cJSON hooks point at the arena only for the duration of the call. */
static cJSON *parse_in_arena(const char *json, struct sql_arena **out)
{
	cJSON_Hooks hooks = {arena_alloc, arena_free};
	current_arena = *out ? *out : xcalloc(1, sizeof(*current_arena));
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

/* ---- one statement at a time ---- */

static bool has_meta_commands(const char *t)
{
	for (const char *p = t; p; p = strchr(p, '\n')) {
		p += *p == '\n';
		if (*p == '\\')
			return true;
	}
	return false;
}

int sql_reader_open(struct sql_reader *r, const char *text, struct sql_error *err)
{
	memset(r, 0, sizeof(*r));
	memset(err, 0, sizeof(*err));
	r->text = text;
	r->line = 1;
	buf_init(&r->piece);
	if (has_meta_commands(text))
		r->clean = blank_meta_commands(text);
	PgQuerySplitResult *sr = xmalloc(sizeof(*sr));
	*sr = pg_query_split_with_scanner(r->clean ? r->clean : text);
	r->split = sr;
	if (sr->error) {
		err->message = xstrdup(sr->error->message);
		err->line = line_of(text, char_to_byte(text, sr->error->cursorpos));
		return -1;
	}
	return 0;
}

/* The bytes of pieces [i, j] of the split, as one range. */
static void piece_range(const struct sql_reader *r, int i, int j, size_t *off, size_t *len)
{
	const PgQuerySplitResult *sr = r->split;
	size_t end;
	*off = (size_t)sr->stmts[i]->stmt_location;
	end = (size_t)sr->stmts[j]->stmt_location + (size_t)sr->stmts[j]->stmt_len;
	if (sr->stmts[j]->stmt_len == 0)
		end = strlen(r->text);
	*len = end - *off;
}

/* Parse text[off, off+len) alone into r->cur; 0, or -1 with err set. */
static int parse_piece(struct sql_reader *r, size_t off, size_t len, struct sql_error *err)
{
	const char *src = r->clean ? r->clean : r->text;
	buf_reset(&r->piece);
	buf_add(&r->piece, src + off, len);
	PgQueryParseResult pr = pg_query_parse(r->piece.s);
	if (pr.error) {
		if (err) {
			err->message = xstrdup(pr.error->message);
			err->line = line_of(r->text, off + char_to_byte(r->piece.s, pr.error->cursorpos));
		}
		pg_query_free_parse_result(pr);
		return -1;
	}
	if (r->cur.arena)
		arena_reset(r->cur.arena);
	r->cur.tree = parse_in_arena(pr.parse_tree, &r->cur.arena);
	pg_query_free_parse_result(pr);
	if (!r->cur.tree) {
		if (err) {
			err->message = xstrdup("parse tree is not JSON (libpg_query)");
			err->line = line_of(r->text, off);
		}
		return -1;
	}
	return 0;
}

/* take_piece: r->cur holds the parse of text[off, off+len): number its
 * statements; 1 with *one set, or 0 when the piece held only comments. */
static int take_piece(struct sql_reader *r, size_t off, size_t len, const struct sql_script **one)
{
	r->cur.text = (r->clean ? r->clean : r->text) + off;
	r->cur.base = off;
	r->cur.n = 0;
	struct line_cursor rel = {0, 1};
	const cJSON *raw;
	cJSON_ArrayForEach(raw, sql_jget(r->cur.tree, "stmts")) add_stmt(&r->cur, raw, len, &rel);
	if (r->cur.n == 0)
		return 0; /* only comments */
	struct line_cursor abs = {r->line_off, r->line}; /* lines in the whole text */
	for (size_t k = 0; k < r->cur.n; k++)
		r->cur.stmts[k].line = line_at(r->text, &abs, off + r->cur.stmts[k].offset);
	r->line_off = abs.off;
	r->line = abs.line;
	*one = &r->cur;
	return 1;
}

/* gap: text[r->done, to) is outside every piece of the split. Blanks,
 * comments and semicolons are fine; anything else is parsed on its own
 * (its syntax error is the script's): -1 with err set, 1 with *one set
 * when it did parse, 0 when there was nothing. r->done moves to to. */
static int gap(struct sql_reader *r, size_t to, const struct sql_script **one, struct sql_error *err)
{
	const char *src = r->clean ? r->clean : r->text;
	size_t p = r->done;
	while ((p = skip_space(src, p, to)) < to && src[p] == ';')
		p++;
	r->done = to;
	if (p >= to)
		return 0;
	if (parse_piece(r, p, to - p, err) < 0)
		return -1;
	return take_piece(r, p, to - p, one);
}

int sql_reader_next(struct sql_reader *r, const struct sql_script **one, struct sql_error *err)
{
	const PgQuerySplitResult *sr = r->split;
	int rc;
	memset(err, 0, sizeof(*err));
	while (r->next < sr->n_stmts) {
		int i = r->next, j = i;
		size_t off, len;
		piece_range(r, i, i, &off, &len);
		if (off > r->done && (rc = gap(r, off, one, err)) != 0)
			return rc;
		if (parse_piece(r, off, len, err) < 0) {
			/* the scanner cut too early (BEGIN ATOMIC, CREATE RULE (...; ...)):
			 * join the next pieces, a few at a time */
			for (j = i + 1; j < sr->n_stmts && j < i + 64; j++) {
				piece_range(r, i, j, &off, &len);
				if (parse_piece(r, off, len, NULL) == 0)
					break;
			}
			if (j >= sr->n_stmts || j >= i + 64)
				return -1;
			sql_error_release(err);
		}
		r->next = j + 1;
		r->done = off + len;
		if (take_piece(r, off, len, one))
			return 1;
	}
	size_t end = strlen(r->text);
	if (end > r->done)
		return gap(r, end, one, err);
	return 0;
}

void sql_reader_release(struct sql_reader *r)
{
	if (r->split) {
		pg_query_free_split_result(*(PgQuerySplitResult *)r->split);
		free(r->split);
	}
	free(r->clean);
	buf_release(&r->piece);
	sql_script_release(&r->cur);
	memset(r, 0, sizeof(*r));
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
