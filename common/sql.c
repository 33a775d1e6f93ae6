#include "sql.h"

#include <pg_query.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jtree.h"
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

static void *arena_alloc(void *ctx, size_t n)
{
	struct sql_arena *a = ctx;
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

/* The JSON tree in the arena *out (a fresh one when *out is NULL): the
 * text is copied there and parsed in place (jtree), so keys and strings
 * point into the copy and go with the arena. NULL when it is not JSON. */
static cJSON *parse_in_arena(const char *json, size_t len, struct sql_arena **out)
{
	if (!*out)
		*out = xcalloc(1, sizeof(**out));
	char *copy = arena_alloc(*out, len + 1);
	memcpy(copy, json, len + 1);
	return jtree_parse(copy, arena_alloc, *out);
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

/* add_stmt: raw's statement, its start past the blanks and comments before
 * it in src (the text as parsed, meta-commands blanked: the same offsets as
 * s->text) */
static void add_stmt(struct sql_script *s, const cJSON *raw, size_t textlen, struct line_cursor *lc, const char *src)
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
	size_t first = skip_space(src, off, off + len);
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
	s->tree = parse_in_arena(r.parse_tree, strlen(r.parse_tree), &s->arena);
	pg_query_free_parse_result(r);
	if (!s->tree) {
		free(clean);
		arena_release(s->arena);
		s->arena = NULL;
		err->message = xstrdup("parse tree is not JSON (libpg_query)");
		err->line = 1;
		return -1;
	}
	const cJSON *raw;
	size_t textlen = strlen(text);
	struct line_cursor lc = {0, 1};
	cJSON_ArrayForEach(raw, sql_jget(s->tree, "stmts")) add_stmt(s, raw, textlen, &lc, clean);
	free(clean);
	return 0;
}

/* ---- one statement at a time ---- */

/* Does a line of text[from, from+len) start with a psql meta-command? */
static bool has_meta_commands(const char *text, size_t from, size_t len)
{
	const char *p = text + from, *end = p + len;
	while ((p = memchr(p, '\\', (size_t)(end - p)))) {
		if (p == text || p[-1] == '\n')
			return true;
		p++;
	}
	return false;
}

/* ---- the reader ----
 * Two halves: seq cuts the text into pieces and runs PostgreSQL's parser on
 * each (a JSON string); take turns a piece's JSON into the caller's tree and
 * numbers its statements. For large texts, sql_reader runs seq in a second
 * thread, a few pieces ahead, so that parsing overlaps the caller's work. */

struct seq {
	const char *text;
	char *clean;	/* text with psql meta-command lines blanked, or NULL */
	size_t textlen; /* SIZE_MAX until a window reaches the end */
	/* the scanner cuts a window of the text at a time: [wbase, wbase+wlen) */
	void *split; /* the scanner's result for the window */
	size_t wbase, wlen, want;
	int next, nuse; /* next piece; pieces usable (the last one may be cut) */
	bool at_end;	/* the window reaches the end of the text */
	size_t done;	/* bytes of the text handed out (or blank) so far */
	struct buf piece, window;
};

#define WINDOW_MIN (64 * 1024)

/* window_len: the length of the window of the text at from (r->want
 * bytes, or fewer at the end: *end then). The text is looked at a window at
 * a time: its length, and whether it needs meta-commands blanked, are
 * found on the way. */
static size_t window_len(struct seq *r, size_t from, bool *end)
{
	size_t len = strnlen(r->text + from, r->want);
	*end = r->text[from + len] == '\0';
	if (*end)
		r->textlen = from + len;
	if (!r->clean && has_meta_commands(r->text, from, len))
		r->clean = blank_meta_commands(r->text);
	return len;
}

/* split_window: let the scanner cut the text from `from`, in a window big
 * enough to hold at least one whole piece: the pieces of a window are those
 * of the whole text, but for its last one, which the window may cut (unless
 * it reaches the end). A window that ends inside a quoted string or a
 * comment is refused by the scanner and doubled. 0, or -1 with err set (the
 * scanner's error, at the end of the text). */
static int split_window(struct seq *r, size_t from, struct sql_error *err)
{
	for (;;) {
		bool end;
		size_t len = window_len(r, from, &end);
		const char *src = r->clean ? r->clean : r->text;
		buf_reset(&r->window);
		buf_add(&r->window, src + from, len);
		PgQuerySplitResult *sr = xmalloc(sizeof(*sr));
		*sr = pg_query_split_with_scanner(r->window.s);
		int nuse = sr->error ? 0 : end ? sr->n_stmts
					       : sr->n_stmts - 1;
		if (sr->error && end) {
			err->message = xstrdup(sr->error->message);
			err->line = line_of(r->text, from + char_to_byte(r->window.s, sr->error->cursorpos));
		}
		if (!end && nuse < 1) { /* too small: twice as big */
			pg_query_free_split_result(*sr);
			free(sr);
			r->want *= 2;
			continue;
		}
		if (r->split) {
			pg_query_free_split_result(*(PgQuerySplitResult *)r->split);
			free(r->split);
		}
		r->split = sr;
		r->wbase = from;
		r->wlen = len;
		r->next = 0;
		r->nuse = nuse;
		r->at_end = end;
		if (len * 2 < r->want && r->want > WINDOW_MIN)
			r->want /= 2; /* back towards the usual size after a big piece */
		return sr->error ? -1 : 0;
	}
}

/* a piece, parsed: the parser's result for src[off, off+len) */
struct cut {
	PgQueryParseResult pr;
	size_t jlen;	 /* strlen(pr.parse_tree) */
	const char *src; /* the text, or its copy with meta-commands blanked */
	size_t off, len;
};

struct take {
	const char *text; /* the whole text, for line numbers */
	size_t line_off;  /* line counting, incremental */
	int line;
	struct sql_script cur;
};

static int seq_open(struct seq *r, const char *text, struct sql_error *err)
{
	memset(r, 0, sizeof(*r));
	memset(err, 0, sizeof(*err));
	r->text = text;
	r->textlen = SIZE_MAX;
	r->want = WINDOW_MIN;
	buf_init(&r->piece);
	buf_init(&r->window);
	return split_window(r, 0, err);
}

/* The bytes of pieces [i, j] of the split, as one range. */
static void piece_range(const struct seq *r, int i, int j, size_t *off, size_t *len)
{
	const PgQuerySplitResult *sr = r->split;
	size_t end;
	*off = r->wbase + (size_t)sr->stmts[i]->stmt_location;
	end = r->wbase + (size_t)sr->stmts[j]->stmt_location + (size_t)sr->stmts[j]->stmt_len;
	if (sr->stmts[j]->stmt_len == 0)
		end = r->wbase + r->wlen;
	*len = end - *off;
}

/* Parse text[off, off+len) alone into *c; 0, or -1 with err set (when not
 * NULL). */
static int parse_piece(struct seq *r, size_t off, size_t len, struct cut *c, struct sql_error *err)
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
	c->pr = pr;
	c->jlen = strlen(pr.parse_tree);
	c->src = src;
	c->off = off;
	c->len = len;
	return 0;
}

/* gap: text[r->done, to) is outside every piece of the split. Blanks,
 * comments and semicolons are fine; anything else is parsed on its own
 * (its syntax error is the script's): -1 with err set, 1 with *c set when
 * it did parse, 0 when there was nothing. r->done moves to to. */
static int gap(struct seq *r, size_t to, struct cut *c, struct sql_error *err)
{
	const char *src = r->clean ? r->clean : r->text;
	size_t p = r->done;
	while ((p = skip_space(src, p, to)) < to && src[p] == ';')
		p++;
	r->done = to;
	if (p >= to)
		return 0;
	return parse_piece(r, p, to - p, c, err) < 0 ? -1 : 1;
}

/* json_tail_int: the integer that ends json[0, *k) (moved before it) */
static bool json_tail_int(const char *json, size_t *k, size_t *v)
{
	size_t e = *k, mul = 1;
	*v = 0;
	while (*k > 0 && json[*k - 1] >= '0' && json[*k - 1] <= '9') {
		*v += (size_t)(json[*k - 1] - '0') * mul;
		mul *= 10;
		--*k;
	}
	return *k < e && e - *k < 16;
}

/* json_tail_key: does json[0, *k) end with key? (moved before it) */
static bool json_tail_key(const char *json, size_t *k, const char *key)
{
	size_t n = strlen(key);
	if (*k < n || memcmp(json + *k - n, key, n))
		return false;
	*k -= n;
	return true;
}

/* ends_at: does the parse tree's last statement end at the semicolon at
 * byte `semi` of the text parsed? The semicolon that ends a statement sets
 * its stmt_len (stmt_location + stmt_len is the semicolon's place); a
 * semicolon in a comment or after an empty statement does not. Read off the
 * end of libpg_query's JSON, which closes with the last RawStmt's
 * ["stmt_location":L,]"stmt_len":N}]} (it leaves out zeros). */
static bool ends_at(const char *json, size_t jlen, size_t semi)
{
	size_t k = jlen, len, loc = 0;
	if (!json_tail_key(json, &k, "}]}") || !json_tail_int(json, &k, &len) ||
	    !json_tail_key(json, &k, "\"stmt_len\":"))
		return false;
	if (json_tail_key(json, &k, ",") && json_tail_int(json, &k, &loc) &&
	    !json_tail_key(json, &k, "\"stmt_location\":"))
		return false;
	return loc + len == semi;
}

/* whole_window: the fast way through a window, when no piece of it is
 * pending: parse the text from r->done up to the window's last semicolon
 * (or the end of the text) in one call, as one piece of many statements.
 * Taken only when PostgreSQL parses it and its last statement ends at that
 * very semicolon (not one in a comment after it), so the statements are
 * those the scanner would cut; otherwise (a syntax error, a cut inside a
 * string, a comment or a body) the window goes the careful way, a piece at
 * a time, with nothing changed. 1 with *c set, or 0. Saves the scanner's
 * pass and a parser call per statement. */
static int whole_window(struct seq *r, struct cut *c)
{
	bool end;
	size_t from = r->done, len = window_len(r, from, &end);
	const char *src = r->clean ? r->clean : r->text;
	if (!end) {
		const char *semi = memrchr(src + from, ';', len);
		if (!semi)
			return 0;
		len = (size_t)(semi + 1 - (src + from));
	}
	if (len == 0 || parse_piece(r, from, len, c, NULL) < 0)
		return 0;
	if (!end && !ends_at(c->pr.parse_tree, c->jlen, len - 1)) {
		pg_query_free_parse_result(c->pr);
		return 0;
	}
	r->done = from + len;
	if (r->want > WINDOW_MIN)
		r->want /= 2;  /* back towards the usual size after a big piece */
	r->next = r->nuse = 0; /* the next call starts a window at r->done */
	r->at_end = end;
	return 1;
}

/* seq_cut: the next piece, parsed: 1 with *c set, 0 at the end, -1 with
 * err set. */
static int seq_cut(struct seq *r, struct cut *c, struct sql_error *err)
{
	int rc;
	memset(err, 0, sizeof(*err));
	for (;;) {
		if (r->next >= r->nuse) {
			if (r->at_end)
				break;
			if (whole_window(r, c))
				return 1;
			if (split_window(r, r->done, err) < 0)
				return -1;
			continue;
		}
		int i = r->next, j = i;
		size_t off, len;
		piece_range(r, i, i, &off, &len);
		if (off > r->done && (rc = gap(r, off, c, err)) != 0)
			return rc;
		if (parse_piece(r, off, len, c, err) < 0) {
			/* the scanner cut too early (BEGIN ATOMIC, CREATE RULE (...; ...)):
			 * join the next pieces, a few at a time */
			for (j = i + 1; j < r->nuse && j < i + 64; j++) {
				piece_range(r, i, j, &off, &len);
				if (parse_piece(r, off, len, c, NULL) == 0)
					break;
			}
			if (j >= r->nuse && !r->at_end && i + 64 > r->nuse) {
				/* the window ends too soon to join enough: a bigger one */
				sql_error_release(err);
				r->want *= 2;
				if (split_window(r, r->done, err) < 0)
					return -1;
				continue;
			}
			if (j >= r->nuse || j >= i + 64)
				return -1;
			sql_error_release(err);
		}
		r->next = j + 1;
		r->done = off + len;
		return 1;
	}
	if (r->textlen > r->done)
		return gap(r, r->textlen, c, err);
	return 0;
}

static void seq_release(struct seq *r)
{
	if (r->split) {
		pg_query_free_split_result(*(PgQuerySplitResult *)r->split);
		free(r->split);
	}
	free(r->clean);
	buf_release(&r->piece);
	buf_release(&r->window);
	memset(r, 0, sizeof(*r));
}

/* take: c's tree into t->cur (the previous one goes), its statements
 * numbered; 1 with *one set, 0 when the piece held only comments, -1 with
 * err set. Frees c's parse result. */
static int take(struct take *t, struct cut *c, const struct sql_script **one, struct sql_error *err)
{
	struct sql_script *s = &t->cur;
	if (s->arena)
		arena_reset(s->arena);
	s->tree = parse_in_arena(c->pr.parse_tree, c->jlen, &s->arena);
	pg_query_free_parse_result(c->pr);
	if (!s->tree) {
		err->message = xstrdup("parse tree is not JSON (libpg_query)");
		err->line = line_of(t->text, c->off);
		return -1;
	}
	s->text = c->src + c->off;
	s->base = c->off;
	s->n = 0;
	struct line_cursor rel = {0, 1};
	const cJSON *raw;
	cJSON_ArrayForEach(raw, sql_jget(s->tree, "stmts")) add_stmt(s, raw, c->len, &rel, s->text);
	if (s->n == 0)
		return 0;				 /* only comments */
	struct line_cursor abs = {t->line_off, t->line}; /* lines in the whole text */
	for (size_t k = 0; k < s->n; k++)
		s->stmts[k].line = line_at(t->text, &abs, c->off + s->stmts[k].offset);
	t->line_off = abs.off;
	t->line = abs.line;
	*one = s;
	return 1;
}

/* ---- the reader, ahead in a thread ---- */

/* How far ahead the producer may get: the analysis of a statement costs
 * from nothing to many times its parse, so a deep ring smooths the bursts
 * (64 pieces left both threads waiting a quarter of the time). Bounded in
 * pieces and in bytes of parse tree (JSON), whichever comes first. */
#define AHEAD 4096
#define AHEAD_BYTES (8u << 20)
#define BATCH 16 /* pieces (or 1/16 of the bytes) ready before a waiting caller is woken */

struct slot {
	struct cut c;
	int rc; /* seq_cut's */
	struct sql_error err;
};

struct sql_reader_state {
	struct seq seq; /* the producer's (the caller's when not threaded) */
	struct take tk; /* the caller's */
	bool threaded, finished;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t filled, emptied;
	bool stop, want_filled, want_emptied; /* a thread waits on that condition */
	size_t head, count;		      /* ring of AHEAD slots; the producer writes at head + count */
	size_t bytes;			      /* of the parse trees in the ring */
	struct slot ring[AHEAD];
};

size_t sql_reader_thread_min = 256 * 1024;

static bool full(const struct sql_reader_state *st)
{
	return st->count == AHEAD || st->bytes >= AHEAD_BYTES;
}

/* half_empty: a full ring's producer resumes then */
static bool half_empty(const struct sql_reader_state *st)
{
	return st->count <= AHEAD / 2 && st->bytes <= AHEAD_BYTES / 2;
}

static void *produce(void *arg)
{
	struct sql_reader_state *st = arg;
	struct sql_error err;
	int rc = seq_open(&st->seq, st->tk.text, &err) < 0 ? -1 : 1;
	for (;;) {
		pthread_mutex_lock(&st->mu);
		if (full(st)) /* wait until half of it is taken */
			while (!half_empty(st) && !st->stop) {
				st->want_emptied = true;
				pthread_cond_wait(&st->emptied, &st->mu);
			}
		bool stop = st->stop;
		struct slot *sl = &st->ring[(st->head + st->count) % AHEAD];
		pthread_mutex_unlock(&st->mu);
		if (stop) {
			if (rc < 0)
				sql_error_release(&err);
			break;
		}
		if (rc > 0)
			rc = seq_cut(&st->seq, &sl->c, &err);
		sl->rc = rc;
		sl->err = err;
		memset(&err, 0, sizeof(err));
		pthread_mutex_lock(&st->mu);
		st->count++;
		st->bytes += rc > 0 ? sl->c.jlen : 0;
		/* a caller that waits is woken for a batch of pieces, not each
		 * one (waking a thread costs more than analysing a statement),
		 * or for what there is when the ring is full */
		if (st->want_filled && (st->count >= BATCH || st->bytes >= AHEAD_BYTES / BATCH || rc <= 0 || full(st))) {
			st->want_filled = false;
			pthread_cond_signal(&st->filled);
		}
		pthread_mutex_unlock(&st->mu);
		if (rc <= 0)
			break;
	}
	return NULL;
}

int sql_reader_open(struct sql_reader *r, const char *text, struct sql_error *err)
{
	struct sql_reader_state *st = xcalloc(1, sizeof(*st));
	r->st = st;
	st->tk.text = text;
	st->tk.line = 1;
	memset(err, 0, sizeof(*err));
	if (strnlen(text, sql_reader_thread_min) >= sql_reader_thread_min) {
		pthread_mutex_init(&st->mu, NULL);
		pthread_cond_init(&st->filled, NULL);
		pthread_cond_init(&st->emptied, NULL);
		if (pthread_create(&st->thread, NULL, produce, st) == 0) {
			st->threaded = true;
			return 0;
		}
		pthread_mutex_destroy(&st->mu); /* no thread: in this one */
		pthread_cond_destroy(&st->filled);
		pthread_cond_destroy(&st->emptied);
	}
	return seq_open(&st->seq, text, err);
}

/* next_cut: the next piece from the producer thread, as seq_cut. */
static int next_cut(struct sql_reader_state *st, struct cut *c, struct sql_error *err)
{
	pthread_mutex_lock(&st->mu);
	while (st->count == 0) {
		st->want_filled = true;
		pthread_cond_wait(&st->filled, &st->mu);
	}
	struct slot *sl = &st->ring[st->head];
	int rc = sl->rc;
	*c = sl->c;
	*err = sl->err;
	memset(&sl->err, 0, sizeof(sl->err));
	if (rc > 0) {
		st->head = (st->head + 1) % AHEAD;
		st->count--;
		st->bytes -= c->jlen;
		if (st->want_emptied && half_empty(st)) {
			st->want_emptied = false;
			pthread_cond_signal(&st->emptied);
		}
	}
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int sql_reader_next(struct sql_reader *r, const struct sql_script **one, struct sql_error *err)
{
	struct sql_reader_state *st = r->st;
	memset(err, 0, sizeof(*err));
	while (!st->finished) {
		struct cut c;
		int rc = st->threaded ? next_cut(st, &c, err) : seq_cut(&st->seq, &c, err);
		if (rc > 0)
			rc = take(&st->tk, &c, one, err);
		else
			st->finished = true; /* the end, or an error */
		if (rc < 0)
			st->finished = true;
		if (rc != 0 || st->finished)
			return rc;
		/* a piece of comments only: the next one */
	}
	return 0;
}

void sql_reader_release(struct sql_reader *r)
{
	struct sql_reader_state *st = r->st;
	if (!st)
		return;
	if (st->threaded) {
		pthread_mutex_lock(&st->mu);
		st->stop = true;
		pthread_cond_broadcast(&st->emptied);
		pthread_mutex_unlock(&st->mu);
		pthread_join(st->thread, NULL);
		pthread_mutex_destroy(&st->mu);
		pthread_cond_destroy(&st->filled);
		pthread_cond_destroy(&st->emptied);
		for (size_t k = 0; k < st->count; k++) { /* made, never taken */
			struct slot *sl = &st->ring[(st->head + k) % AHEAD];
			if (sl->rc > 0)
				pg_query_free_parse_result(sl->c.pr);
			sql_error_release(&sl->err);
		}
	}
	seq_release(&st->seq);
	sql_script_release(&st->tk.cur);
	free(st);
	r->st = NULL;
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
	const cJSON *it, *wrapped = cJSON_IsObject(list) ? sql_node(list, "List") : NULL;
	if (wrapped) /* {"List": {"items": [...]}}, as RenameStmt.object */
		list = cJSON_GetObjectItemCaseSensitive(wrapped, "items");
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
