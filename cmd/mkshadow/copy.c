/*
 * copy: rows stream from production (COPY ... TO STDOUT, in the exported
 * snapshot) through this process into the shadow (COPY ... FROM STDIN),
 * with no temporary file and nothing written to production.
 *
 * On the way each row is split into its COPY text fields: masked columns
 * are rewritten; the key tuples of referenced tables are remembered
 * (loaded); and each foreign key's tuple is noted as wanted. The closure
 * then fetches, round after round, the parent rows that are wanted but not
 * loaded, by key, until none is missing (pg_sample's fixpoint, computed here
 * instead of in scratch tables on production). Keys travel as raw COPY text
 * of production's values, so masking a key column does not break the
 * closure; the same deterministic rule on both sides keeps the join. A
 * closure fetch is a SELECT whose keys are parameters (COPY takes none, and
 * pg_stat_statements keeps a COPY's text as sent, key values and all): its
 * rows are turned into COPY text here and go the way sampled rows go.
 *
 * The shadow has no indexes, constraints or triggers while it loads (the
 * post-data section comes after), so load order and cycles do not matter
 * and every foreign key is validated once, when it is added.
 *
 * Copying starts before the shadow exists: it runs in a thread of its own
 * (copy_start) while the caller creates the shadow, and rows wait in memory
 * (up to --memory a worker, then it waits) until copy_join says the
 * shadow has its tables. Rows of streams that ended before are loaded then,
 * on the caller's session; streams still running go straight to the shadow
 * from there on.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "mkshadow.h"
#include "msg.h"
#include "pgvocab.h"
#include "xalloc.h"

/* Keys per closure fetch: a fetch's rows come back as one result (the
 * parameters that keep key values out of production's statement text
 * rule out COPY), so a batch bounds the memory a worker holds. */
#define CLOSURE_BATCH 20000

/* ---- key sets ---- */

static size_t hash_bytes(const char *k, size_t len)
{
	size_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
	return h;
}

/* Stored keys are NUL-terminated; a key never holds a NUL (COPY text). */
static size_t find_slot(const struct keyset *s, const char *k, size_t len, size_t h)
{
	size_t i = h & (s->cap - 1);
	while (s->slot[i] && (s->hash[i] != h || strncmp(s->slot[i], k, len) || s->slot[i][len]))
		i = (i + 1) & (s->cap - 1);
	return i;
}

static size_t hash_int(long long v)
{
	unsigned long long x = (unsigned long long)v * 0x9E3779B97F4A7C15ULL;
	return (size_t)(x ^ x >> 29);
}

static size_t find_int(const struct keyset *s, long long v)
{
	size_t i = hash_int(v) & (s->cap - 1);
	while (s->iv[i] != KEYSET_EMPTY && s->iv[i] != v)
		i = (i + 1) & (s->cap - 1);
	return i;
}

bool keyset_has_int(const struct keyset *s, long long v)
{
	if (v == KEYSET_EMPTY)
		return s->has_empty;
	return s->cap && s->iv[find_int(s, v)] == v;
}

bool keyset_add_int(struct keyset *s, long long v)
{
	if (v == KEYSET_EMPTY) {
		bool added = !s->has_empty;
		s->has_empty = true;
		s->n += added;
		return added;
	}
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		long long *old = s->iv;
		size_t oldcap = s->cap;
		s->iv = xmalloc(cap * sizeof(*s->iv));
		for (size_t i = 0; i < cap; i++)
			s->iv[i] = KEYSET_EMPTY;
		s->cap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i] != KEYSET_EMPTY)
				s->iv[find_int(s, old[i])] = old[i];
		free(old);
	}
	size_t i = find_int(s, v);
	if (s->iv[i] == v)
		return false;
	s->iv[i] = v;
	s->n++;
	return true;
}

/* int_text: the integer COPY text k stands for; false when it is not one. */
static bool int_text(const char *k, size_t len, long long *v)
{
	size_t i = len && k[0] == '-';
	unsigned long long u = 0;
	if (i == len || len - i > 19)
		return false;
	for (; i < len; i++) {
		if (k[i] < '0' || k[i] > '9')
			return false;
		u = u * 10 + (unsigned)(k[i] - '0');
	}
	if (k[0] == '-') {
		if (u > 9223372036854775808ULL)
			return false;
		*v = (long long)(0 - u);
	} else {
		if (u > 9223372036854775807ULL)
			return false;
		*v = (long long)u;
	}
	return true;
}

bool keyset_has(const struct keyset *s, const char *k, size_t len)
{
	long long v;
	if (s->ints)
		return int_text(k, len, &v) && keyset_has_int(s, v);
	return s->cap && s->slot[find_slot(s, k, len, hash_bytes(k, len))];
}

static void keyset_grow(struct keyset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64;
	struct keyset bigger = {.slot = xcalloc(cap, sizeof(char *)), .hash = xcalloc(cap, sizeof(size_t)), .cap = cap, .n = s->n};
	for (size_t i = 0; i < s->cap; i++)
		if (s->slot[i]) {
			size_t j = s->hash[i] & (cap - 1);
			while (bigger.slot[j])
				j = (j + 1) & (cap - 1);
			bigger.slot[j] = s->slot[i];
			bigger.hash[j] = s->hash[i];
		}
	free(s->slot);
	free(s->hash);
	*s = bigger;
}

bool keyset_add(struct keyset *s, const char *k, size_t len)
{
	long long v;
	if (s->ints)
		return int_text(k, len, &v) && keyset_add_int(s, v);
	if ((s->n + 1) * 2 > s->cap)
		keyset_grow(s);
	size_t h = hash_bytes(k, len), i = find_slot(s, k, len, h);
	if (s->slot[i])
		return false;
	s->slot[i] = xstrndup(k, len);
	s->hash[i] = h;
	s->n++;
	return true;
}

void keyset_release(struct keyset *s)
{
	for (size_t i = 0; s->slot && i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	free(s->hash);
	free(s->iv);
	bool ints = s->ints;
	memset(s, 0, sizeof(*s));
	s->ints = ints;
}

/* ---- COPY text format ---- */

struct row {
	const char **f; /* field starts (in the row buffer) */
	size_t *len;	/* field lengths, without separator */
	int n, cap;
};

static void row_split(struct row *r, const char *line, size_t len)
{
	if (len && line[len - 1] == '\n')
		len--;
	r->n = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != '\t')
			continue;
		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 16;
			r->f = xrealloc(r->f, (size_t)r->cap * sizeof(*r->f));
			r->len = xrealloc(r->len, (size_t)r->cap * sizeof(*r->len));
		}
		r->f[r->n] = line + start;
		r->len[r->n++] = i - start;
		start = i + 1;
	}
}

static bool is_null(const char *f, size_t len)
{
	return len == 2 && f[0] == '\\' && f[1] == 'N';
}

/* copy_decode: the value a COPY text field stands for. */
static void copy_decode(const char *f, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		char c = f[i];
		if (c != '\\' || i + 1 == len) {
			buf_addc(out, c);
			continue;
		}
		c = f[++i];
		switch (c) {
		case 'b': buf_addc(out, '\b'); break;
		case 'f': buf_addc(out, '\f'); break;
		case 'n': buf_addc(out, '\n'); break;
		case 'r': buf_addc(out, '\r'); break;
		case 't': buf_addc(out, '\t'); break;
		case 'v': buf_addc(out, '\v'); break;
		case 'x': {
			int v = 0, k = 0;
			while (k < 2 && i + 1 < len && strchr("0123456789abcdefABCDEF", f[i + 1]) && f[i + 1]) {
				char h = f[++i];
				v = v * 16 + (h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
				k++;
			}
			buf_addc(out, (char)v);
			break;
		}
		default:
			if (c >= '0' && c <= '7') {
				int v = c - '0', k = 1;
				while (k < 3 && i + 1 < len && f[i + 1] >= '0' && f[i + 1] <= '7')
					v = v * 8 + (f[++i] - '0'), k++;
				buf_addc(out, (char)v);
			} else {
				buf_addc(out, c);
			}
		}
	}
}

static void copy_encode(const char *s, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '\\': buf_adds(out, "\\\\"); break;
		case '\n': buf_adds(out, "\\n"); break;
		case '\r': buf_adds(out, "\\r"); break;
		case '\t': buf_adds(out, "\\t"); break;
		default: buf_addc(out, s[i]);
		}
	}
}

/* ---- one table's stream ---- */

/* A worker: its sessions (production in the shared snapshot, the shadow)
 * and its buffers. */
struct stream {
	struct prod *p;
	PGconn *prod, *shadow; /* shadow: opened when the shadow is ready */
	const struct copy_opts *o;
	struct table *t;
	struct row row;
	struct buf line, tmp, val;
	struct buf held; /* rows waiting for the shadow */
	bool direct;	 /* a COPY into the shadow is open: rows go there */
	bool closure;	 /* rows may already be loaded: skip those */
	long rows;
};

/* Progress over all workers (under pool_lock). */
static struct {
	long rows;
	double last;
	const char *what;
} progress;

/* tuple: the key tuple of cols in the current row (raw fields joined by
 * tabs) into b; false when a column is NULL (no reference, no key). */
static bool tuple(const struct row *r, const struct table *t, const int *cols, size_t n,
		  struct buf *b)
{
	buf_reset(b);
	for (size_t i = 0; i < n; i++) {
		int f = t->cols[cols[i]].field;
		if (f < 0 || f >= r->n || is_null(r->f[f], r->len[f]))
			return false;
		if (i)
			buf_addc(b, '\t');
		buf_add(b, r->f[f], r->len[f]);
	}
	return true;
}

/* note_keys: remember the row's key tuples and the parents it wants;
 * false when (in the closure) the row is already in the shadow. The key
 * sets are shared by the workers: the caller holds pool_lock. */
static bool note_keys(struct stream *st)
{
	struct table *t = st->t;
	if (st->closure)
		for (size_t k = 0; k < t->nkeys; k++)
			if (tuple(&st->row, t, t->keys[k]->cols, t->keys[k]->ncols, &st->tmp) &&
			    keyset_has(&t->keys[k]->loaded, st->tmp.s, st->tmp.len))
				return false;
	for (size_t k = 0; k < t->nkeys; k++)
		if (tuple(&st->row, t, t->keys[k]->cols, t->keys[k]->ncols, &st->tmp))
			keyset_add(&t->keys[k]->loaded, st->tmp.s, st->tmp.len);
	for (size_t k = 0; k < t->nfks; k++) {
		struct fkey *fk = t->fks[k];
		if (tuple(&st->row, t, fk->cols, fk->ref->ncols, &st->tmp) &&
		    !keyset_has(&fk->ref->loaded, st->tmp.s, st->tmp.len))
			keyset_add(&fk->ref->wanted, st->tmp.s, st->tmp.len);
	}
	return true;
}

/* masked_line: the row with its masked fields rewritten, into st->line.
 * A column whose scanning or walking masked something counts the value
 * (atomically: workers may share a table). */
static void masked_line(struct stream *st)
{
	struct table *t = st->t;
	buf_reset(&st->line);
	for (size_t c = 0; c < t->ncols; c++) {
		struct column *col = &t->cols[c];
		int f = col->field;
		if (f < 0)
			continue;
		if (f)
			buf_addc(&st->line, '\t');
		const char *raw = f < st->row.n ? st->row.f[f] : "\\N";
		size_t len = f < st->row.n ? st->row.len[f] : 2;
		/* a scan-only column's clean value: no decoding, no copy */
		bool clean = col->mask.kind == MASK_KEEP && col->mask.shape == MASK_WHOLE && !mask_may_find(raw, len);
		if (!mask_active(&col->mask) || is_null(raw, len) || clean) {
			buf_add(&st->line, raw, len);
			continue;
		}
		bool found;
		buf_reset(&st->val);
		buf_reset(&st->tmp);
		copy_decode(raw, len, &st->val);
		if (mask_value(st->o->key, &col->mask, st->val.s, st->val.len, col->maxlen, &st->tmp, &found))
			copy_encode(st->tmp.s, st->tmp.len, &st->line);
		else
			buf_adds(&st->line, "\\N");
		if (found)
			__atomic_add_fetch(&col->found, 1, __ATOMIC_RELAXED);
	}
	buf_addc(&st->line, '\n');
}

static void put(PGconn *shadow, const char *data, size_t len)
{
	while (len) { /* PQputCopyData takes an int */
		size_t n = len < (1u << 20) ? len : (1u << 20);
		if (PQputCopyData(shadow, data, (int)n) != 1)
			pool_fatal(EXIT_RUNTIME, "writing rows to the shadow: %s", PQerrorMessage(shadow));
		data += n, len -= n;
	}
}

static void copy_begin(PGconn *conn, const char *sql, ExecStatusType want, const char *where)
{
	PGresult *res = PQexec(conn, sql);
	if (PQresultStatus(res) != want) {
		char *m = db_redact_url(PQresultErrorMessage(res));
		m[strcspn(m, "\n")] = '\0';
		pool_fatal(EXIT_RUNTIME, "%s: %s", where, m);
	}
	PQclear(res);
}

static void copy_finish(PGconn *conn, const char *where)
{
	PGresult *res;
	while ((res = PQgetResult(conn))) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			char *m = db_redact_url(PQresultErrorMessage(res));
			m[strcspn(m, "\n")] = '\0';
			PQclear(res);
			while ((res = PQgetResult(conn)))
				PQclear(res);
			pool_fatal(EXIT_RUNTIME, "%s: %s", where, m);
		}
		PQclear(res);
	}
}

/* column_list: the table's non-generated columns, quoted, for COPY. */
static char *column_list(PGconn *conn, const struct table *t)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	for (size_t c = 0; c < t->ncols; c++) {
		if (t->cols[c].field < 0)
			continue;
		char *q = db_quote_ident_or_die(conn, t->cols[c].name);
		buf_addf(&b, "%s%s", b.len ? ", " : "", q);
		free(q);
	}
	return buf_detach(&b);
}

/* qualified: t's name, quoted, in schema (a schema shadow's) or its own. */
static char *qualified(PGconn *conn, const struct table *t, const char *schema)
{
	char *s = db_quote_ident_or_die(conn, schema ? schema : t->schema), *n = db_quote_ident_or_die(conn, t->name);
	char *q = xasprintf("%s.%s", s, n);
	free(s);
	free(n);
	return q;
}

double now_ms(void)
{
	return pgv_now_ms();
}

void phase(bool on, const char *what, double ms)
{
	if (on)
		fprintf(stderr, "\r\033[K%s: %s: %.1f s\n", msg_prog(), what, ms / 1000);
}

/* show_progress: one line, redrawn at most five times a second (caller
 * holds pool_lock). */
static void show_progress(const struct copy_opts *o, long more)
{
	progress.rows += more;
	double t = now_ms();
	if (!o->progress || t - progress.last < 200)
		return;
	progress.last = t;
	fprintf(stderr, "\r\033[K%s: %s: %ld rows", msg_prog(), progress.what, progress.rows);
}

/* Rows wait in batches for the shared key sets: one lock per batch, not
 * per row (the workers' per-row locking showed as futex waits). */
#define ROW_BATCH 256
struct pending {
	char *data[ROW_BATCH];
	int len[ROW_BATCH];
	bool fresh[ROW_BATCH];
	int n;
	bool mine; /* data from malloc (free), not from PQgetCopyData (PQfreemem) */
};

static void sink_put(struct stream *st, const char *data, size_t len);

/* flush_rows: note the keys of the waiting rows, in order, under one lock;
 * then send the fresh ones (masked) to the shadow. */
static void flush_rows(struct stream *st, struct pending *b)
{
	pool_lock();
	for (int i = 0; i < b->n; i++) {
		row_split(&st->row, b->data[i], (size_t)b->len[i]);
		b->fresh[i] = note_keys(st);
	}
	pool_unlock();
	for (int i = 0; i < b->n; i++) {
		if (b->fresh[i]) {
			if (st->t->masked) { /* masks, scans or walks a column */
				row_split(&st->row, b->data[i], (size_t)b->len[i]);
				masked_line(st);
				sink_put(st, st->line.s, st->line.len);
			} else {
				sink_put(st, b->data[i], (size_t)b->len[i]);
			}
			st->rows++;
		}
		if (b->mine)
			free(b->data[i]);
		else
			PQfreemem(b->data[i]);
	}
	b->n = 0;
}

/* ---- where rows go: the shadow, or memory until it has its tables ---- */

struct held {
	struct table *t;
	struct buf rows;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int ready;	/* the shadow has its tables (read without the lock) */
	size_t bytes;	/* held in v (read without the lock) */
	struct held *v; /* rows of streams that ended before ready */
	size_t n, cap;
	bool done; /* the copier has finished */
} sink = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, NULL, 0, 0, false};

static bool sink_ready(void)
{
	return __atomic_load_n(&sink.ready, __ATOMIC_ACQUIRE);
}

/* shadow_copy_begin: COPY t FROM STDIN on the shadow session conn (a
 * schema shadow's schema is known once it is ready), and rows, the ones
 * held so far. */
static void shadow_copy_begin(PGconn *conn, const struct copy_opts *o, const struct table *t, const struct buf *rows)
{
	char *cols = column_list(conn, t), *q = qualified(conn, t, o->shadow->schema);
	char *in = xasprintf("COPY %s (%s) FROM STDIN", q, cols);
	copy_begin(conn, in, PGRES_COPY_IN, "shadow");
	put(conn, rows->s, rows->len);
	free(cols), free(q), free(in);
}

/* shadow_copy_end: end t's COPY on conn; dies with the shadow's error. */
static void shadow_copy_end(PGconn *conn, const struct table *t)
{
	char *writing = xasprintf("shadow: writing %s", t->qname);
	if (PQputCopyEnd(conn, NULL) != 1)
		pool_fatal(EXIT_RUNTIME, "shadow: %s", PQerrorMessage(conn));
	copy_finish(conn, writing);
	free(writing);
}

/* sink_open: start the COPY into the shadow and send the rows held. */
static void sink_open(struct stream *st)
{
	if (!st->shadow)
		st->shadow = shadow_connect(st->o->shadow);
	shadow_copy_begin(st->shadow, st->o, st->t, &st->held);
	buf_reset(&st->held);
	st->direct = true;
}

static void sink_wait_ready(void)
{
	pthread_mutex_lock(&sink.mu);
	while (!sink.ready)
		pthread_cond_wait(&sink.cv, &sink.mu);
	pthread_mutex_unlock(&sink.mu);
}

static void sink_put(struct stream *st, const char *data, size_t len)
{
	if (!st->direct) {
		if (!sink_ready() &&
		    st->held.len + len + __atomic_load_n(&sink.bytes, __ATOMIC_RELAXED) <= st->o->hold_bytes) {
			buf_add(&st->held, data, len);
			return;
		}
		sink_wait_ready();
		sink_open(st);
	}
	put(st->shadow, data, len);
}

/* sink_end: end the stream's COPY; or, before the shadow is ready, leave
 * its rows for copy_join to load. */
static void sink_end(struct stream *st)
{
	if (!st->direct && !st->held.len)
		return;
	if (!st->direct && sink_ready())
		sink_open(st);
	if (!st->direct) {
		pthread_mutex_lock(&sink.mu);
		xgrow(&sink.v, &sink.cap, sink.n + 1, sizeof(*sink.v));
		sink.v[sink.n++] = (struct held){st->t, st->held};
		__atomic_add_fetch(&sink.bytes, st->held.len, __ATOMIC_RELAXED);
		pthread_cond_broadcast(&sink.cv);
		pthread_mutex_unlock(&sink.mu);
		buf_init(&st->held);
		return;
	}
	shadow_copy_end(st->shadow, st->t);
	st->direct = false;
}

/* stream_rows: run select (a COPY ... TO STDOUT on production) into t. */
static void stream_rows(struct stream *st, const char *select)
{
	double t0 = now_ms();
	copy_begin(st->prod, select, PGRES_COPY_OUT, st->t->qname);
	if (sink_ready())
		sink_open(st);
	bool plain = !st->t->masked && !st->t->nkeys && !st->t->nfks;
	char *data;
	int n;
	long unreported = 0;
	struct pending b = {0};
	st->rows = 0;
	while ((n = PQgetCopyData(st->prod, &data, 0)) > 0) {
		if (plain) {
			sink_put(st, data, (size_t)n);
			st->rows++;
			PQfreemem(data);
		} else {
			b.data[b.n] = data;
			b.len[b.n++] = n;
			if (b.n == ROW_BATCH)
				flush_rows(st, &b);
		}
		if (st->o->progress && ++unreported == 10000) {
			pool_lock();
			show_progress(st->o, unreported);
			pool_unlock();
			unreported = 0;
		}
	}
	flush_rows(st, &b);
	if (n == -2)
		pool_fatal(EXIT_RUNTIME, "reading %s: %s", st->t->qname, PQerrorMessage(st->prod));
	char *reading = xasprintf("reading %s", st->t->qname);
	copy_finish(st->prod, reading); /* a session ended mid-COPY reports here too */
	free(reading);
	sink_end(st);
	pool_lock();
	st->t->ms += now_ms() - t0;
	if (st->o->progress)
		show_progress(st->o, unreported);
	pool_unlock();
}

static void stream_release(struct stream *st)
{
	free(st->row.f);
	free(st->row.len);
	buf_release(&st->line);
	buf_release(&st->tmp);
	buf_release(&st->val);
	buf_release(&st->held);
}

/* ---- sampling ---- */

static void sample_table(struct stream *st)
{
	struct table *t = st->t;
	char *cols = column_list(st->prod, t), *q = qualified(st->prod, t, NULL);
	char *sql;
	if (st->o->percent >= 100)
		sql = xasprintf("COPY (SELECT %s FROM ONLY %s) TO STDOUT", cols, q);
	else
		sql = xasprintf("COPY (SELECT %s FROM ONLY %s TABLESAMPLE BERNOULLI (%.6g) REPEATABLE (%ld)) TO STDOUT",
				cols, q, st->o->percent, st->o->seed);
	/* tests: production fails this table's read while the shadow is
	 * being created (a real error, through the real error path) */
	const char *fail = getenv("MIGSAFE_TEST_FAIL_SAMPLE");
	if (fail && !strcmp(fail, t->qname)) {
		free(sql);
		sql = xasprintf("COPY (SELECT %s FROM ONLY %s WHERE 1 / 0 = 1) TO STDOUT", cols, q);
	}
	stream_rows(st, sql);
	t->sampled = st->rows;
	free(sql);
	free(cols);
	free(q);
}

/* array_literal: the values of column i of the tuples as a PostgreSQL array
 * literal ({"a","b"}), decoded from COPY text and quoted for arrays: the
 * text of one parameter, never part of a statement's text. */
static void array_literal(char **tuples, size_t n, size_t col, struct buf *b, struct buf *tmp)
{
	buf_reset(b);
	buf_addc(b, '{');
	for (size_t k = 0; k < n; k++) {
		const char *f = tuples[k];
		for (size_t i = 0; i < col; i++)
			f = strchr(f, '\t') + 1;
		size_t len = strcspn(f, "\t");
		buf_reset(tmp);
		copy_decode(f, len, tmp);
		buf_adds(b, k ? ",\"" : "\"");
		for (size_t i = 0; i < tmp->len; i++) {
			if (tmp->s[i] == '"' || tmp->s[i] == '\\')
				buf_addc(b, '\\');
			buf_addc(b, tmp->s[i]);
		}
		buf_addc(b, '"');
	}
	buf_addc(b, '}');
}

/* integer_key: a one-column key of an integer type (its tuples sort as
 * numbers and batches get a range the planner can use). */
static bool integer_key(const struct refkey *rk)
{
	if (rk->ncols != 1)
		return false;
	const char *ty = rk->t->cols[rk->cols[0]].type;
	return !strcmp(ty, "bigint") || !strcmp(ty, "integer") || !strcmp(ty, "smallint");
}

/* result_rows: the rows of res (text format) as COPY text lines, the way
 * sampled rows go (keys noted, masked, into the shadow). */
static void result_rows(struct stream *st, const PGresult *res)
{
	struct pending b = {.mine = true};
	struct buf line = BUF_INIT;
	int nf = PQnfields(res), nt = PQntuples(res);
	buf_init(&line);
	for (int r = 0; r < nt; r++) {
		for (int f = 0; f < nf; f++) {
			if (f)
				buf_addc(&line, '\t');
			if (PQgetisnull(res, r, f))
				buf_adds(&line, "\\N");
			else
				copy_encode(PQgetvalue(res, r, f), (size_t)PQgetlength(res, r, f), &line);
		}
		buf_addc(&line, '\n');
		b.len[b.n] = (int)line.len;
		b.data[b.n++] = buf_detach(&line);
		if (b.n == ROW_BATCH)
			flush_rows(st, &b);
	}
	flush_rows(st, &b);
	buf_release(&line);
}

/* query_rows: run sql on production with its parameters, and its rows
 * into st->t, as stream_rows does with a COPY. */
static void query_rows(struct stream *st, const char *sql, int nparams, const char *const *values)
{
	double t0 = now_ms();
	st->rows = 0;
	PGresult *res = PQexecParams(st->prod, sql, nparams, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		char *m = db_redact_url(PQresultErrorMessage(res));
		m[strcspn(m, "\n")] = '\0';
		pool_fatal(EXIT_RUNTIME, "reading %s: %s", st->t->qname, m);
	}
	if (sink_ready())
		sink_open(st);
	result_rows(st, res);
	PQclear(res);
	sink_end(st);
	pool_lock();
	st->t->ms += now_ms() - t0;
	if (st->o->progress)
		show_progress(st->o, st->rows);
	pool_unlock();
}

/* key_columns: rk's columns, quoted, joined by ", ". */
static char *key_columns(PGconn *conn, const struct refkey *rk)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	for (size_t i = 0; i < rk->ncols; i++) {
		char *c = db_quote_ident_or_die(conn, rk->t->cols[rk->cols[i]].name);
		buf_addf(&b, "%s%s", i ? ", " : "", c);
		free(c);
	}
	return buf_detach(&b);
}

/* fetch_sql: the SELECT of rk's rows whose key is in the parameter arrays:
 * $1 (one per key column, of the column's type), and for an integer key
 * $2 and $3, the batch's bounds. Only identifiers and type names (from
 * production's catalog) are in the text. A one-column key is "col = ANY
 * ($1)", which the planner answers with the key's index (or, for a large
 * share of the table, one hashed sequential scan); an integer key's batch
 * is sorted, and its range bounds the scan. */
static char *fetch_sql(PGconn *conn, const struct refkey *rk, bool ints)
{
	const struct table *t = rk->t;
	char *cols = column_list(conn, t), *q = qualified(conn, t, NULL), *k = key_columns(conn, rk);
	struct buf sql = BUF_INIT;
	buf_init(&sql);
	buf_addf(&sql, "SELECT %s FROM ONLY %s WHERE ", cols, q);
	if (rk->ncols == 1) {
		const char *ty = t->cols[rk->cols[0]].type;
		buf_addf(&sql, "%s = ANY ($1::%s[])", k, ty);
		if (ints)
			buf_addf(&sql, " AND %s BETWEEN $2::%s AND $3::%s", k, ty, ty);
	} else {
		buf_addf(&sql, "(%s) IN (SELECT * FROM unnest(", k);
		for (size_t i = 0; i < rk->ncols; i++)
			buf_addf(&sql, "%s$%zu::%s[]", i ? ", " : "", i + 1, t->cols[rk->cols[i]].type);
		buf_adds(&sql, "))");
	}
	free(cols), free(q), free(k);
	return buf_detach(&sql);
}

/* int_params: an integer key's batch as an array's text ({1,2,3}), and
 * its bounds (ints is sorted). */
static void int_params(const long long *ints, size_t n, struct buf *arr, struct buf *lo, struct buf *hi)
{
	buf_addc(arr, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addc(arr, ',');
		buf_add_int(arr, ints[i]);
	}
	buf_addc(arr, '}');
	buf_add_int(lo, ints[0]);
	buf_add_int(hi, ints[n - 1]);
}

/* fetch_parents: the rows of rk's table whose key is one of tuples (or of
 * ints, an integer key's sorted batch). The keys travel as parameters, so
 * production's statement statistics (pg_stat_statements) see placeholders,
 * never a key value (COPY, a utility statement, is kept there as sent,
 * literals and all: an e-mail address used as a key would stay in it). */
static void fetch_parents(struct stream *st, struct refkey *rk, char **tuples, const long long *ints, size_t n)
{
	size_t np = ints ? 3 : rk->ncols;
	struct buf *p = xcalloc(np, sizeof(*p)), tmp = BUF_INIT;
	const char **values = xcalloc(np, sizeof(*values));
	buf_init(&tmp);
	for (size_t i = 0; i < np; i++)
		buf_init(&p[i]);
	if (ints)
		int_params(ints, n, &p[0], &p[1], &p[2]);
	else
		for (size_t i = 0; i < rk->ncols; i++)
			array_literal(tuples, n, i, &p[i], &tmp);
	for (size_t i = 0; i < np; i++)
		values[i] = p[i].s;
	char *sql = fetch_sql(st->prod, rk, ints != NULL);
	st->t = rk->t;
	st->closure = true;
	query_rows(st, sql, (int)np, values);
	pool_lock();
	rk->t->closure += st->rows;
	pool_unlock();
	for (size_t i = 0; i < np; i++)
		buf_release(&p[i]);
	free(p), free(values), free(sql);
	buf_release(&tmp);
}

/* ---- the work, shared by the workers ---- */

struct task {
	struct table *t;   /* sampling t, or */
	struct refkey *rk; /* fetching keys[0..n-1] (or ikeys[0..n-1]) of rk */
	char **keys;
	long long *ikeys; /* an integer key's, sorted */
	size_t n;
};

struct work {
	struct stream *ws; /* one per worker */
	struct task *tasks;
	size_t ntasks, cap;
};

static void run_task(void *ctx, int worker, size_t i)
{
	struct work *w = ctx;
	struct stream *st = &w->ws[worker];
	struct task *tk = &w->tasks[i];
	if (tk->t) {
		st->t = tk->t;
		st->closure = false;
		sample_table(st);
	} else {
		fetch_parents(st, tk->rk, tk->keys, tk->ikeys, tk->n);
	}
}

static void add_task(struct work *w, struct task tk)
{
	xgrow(&w->tasks, &w->cap, w->ntasks + 1, sizeof(*w->tasks));
	w->tasks[w->ntasks++] = tk;
}

static int by_size(const void *a, const void *b)
{
	const struct table *x = *(struct table *const *)a, *y = *(struct table *const *)b;
	return x->reltuples < y->reltuples ? 1 : x->reltuples > y->reltuples ? -1
									     : 0;
}

static int by_number(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

/* missing: rk's wanted keys that are not loaded (text keys copied into
 * *text, integer keys sorted into *ints); their count. */
static size_t missing(struct refkey *rk, struct strv *text, long long **ints)
{
	size_t n = 0;
	*ints = NULL;
	if (rk->wanted.ints) {
		*ints = xmalloc((rk->wanted.n + 1) * sizeof(**ints));
		if (rk->wanted.has_empty && !keyset_has_int(&rk->loaded, KEYSET_EMPTY))
			(*ints)[n++] = KEYSET_EMPTY;
		for (size_t i = 0; i < rk->wanted.cap; i++) {
			long long v = rk->wanted.iv[i];
			if (v != KEYSET_EMPTY && !keyset_has_int(&rk->loaded, v))
				(*ints)[n++] = v;
		}
		if (n)
			qsort(*ints, n, sizeof(**ints), by_number);
		return n;
	}
	for (size_t i = 0; i < rk->wanted.cap; i++) {
		char *s = rk->wanted.slot[i];
		if (s && !keyset_has(&rk->loaded, s, strlen(s))) {
			strv_push(text, s);
			n++;
		}
	}
	return n;
}

/* close_table: fetch the wanted, missing parents of t (every key of it
 * others reference) once; false when none was missing. Keys are split into
 * batches, at least one per worker. */
static bool close_table(struct table *t, struct work *w, int jobs)
{
	struct strv *text = xcalloc(t->nkeys, sizeof(*text));
	long long **ints = xcalloc(t->nkeys, sizeof(*ints));
	size_t *n = xcalloc(t->nkeys, sizeof(*n)), total = 0;
	w->ntasks = 0;
	for (size_t k = 0; k < t->nkeys; k++) {
		struct refkey *rk = t->keys[k];
		text[k] = (struct strv)STRV_INIT;
		total += n[k] = missing(rk, &text[k], &ints[k]);
		/* rows fetched now may want more of t (a self-reference, a cycle):
		 * a fresh set takes those, for the next round */
		keyset_release(&rk->wanted);
		size_t batch = (n[k] + (size_t)jobs - 1) / (size_t)jobs;
		if (batch > CLOSURE_BATCH)
			batch = CLOSURE_BATCH;
		for (size_t i = 0; i < n[k]; i += batch)
			add_task(w, (struct task){NULL, rk, ints[k] ? NULL : text[k].v + i, ints[k] ? ints[k] + i : NULL,
						  n[k] - i < batch ? n[k] - i : batch});
	}
	pool_run(jobs, w->ntasks, run_task, w);
	/* keys that did not come back (orphans production allows, under a NOT
	 * VALID constraint) are not asked for again */
	for (size_t k = 0; k < t->nkeys; k++) {
		struct keyset *loaded = &t->keys[k]->loaded;
		for (size_t i = 0; i < n[k]; i++)
			if (ints[k])
				keyset_add_int(loaded, ints[k][i]);
			else
				keyset_add(loaded, text[k].v[i], strlen(text[k].v[i]));
		strv_release(&text[k]);
		free(ints[k]);
	}
	free(text), free(ints), free(n);
	return total > 0;
}

/* close_round: one pass over the tables, children before parents (the
 * reverse of the load order), so that the parents a table's fetched rows
 * want are fetched in the same pass; false when nothing was missing. Only
 * cycles and self-references need a second pass. */
static bool close_round(struct prod *p, struct work *w, int jobs)
{
	bool any = false;
	for (size_t i = p->ntables; i-- > 0;)
		if (p->tables[i]->nkeys && close_table(p->tables[i], w, jobs))
			any = true;
	return any;
}

/* worker_prod: a production session in the snapshot p exported. */
static PGconn *worker_prod(const struct prod *p)
{
	struct db_opts o = DB_OPTS_INIT;
	o.read_only = true;
	o.statement_timeout_ms = p->timeout_ms;
	o.search_path = "pg_catalog";
	o.connect_timeout_s = 10;
	struct msg_err cerr = MSG_ERR_INIT;
	PGconn *c = db_connect(p->url, &o, &cerr);
	if (!c)
		die_err(&cerr);
	/* a sample's reads stay in our --jobs sessions: production's parallel
	 * workers are left to the application */
	PQclear(db_query_or_die(c, "SELECT set_config('lock_timeout', '10s', false), "
				   "set_config('max_parallel_workers_per_gather', '0', false)",
				0, NULL));
	char *lit = PQescapeLiteral(c, p->snapshot, strlen(p->snapshot));
	if (!lit)
		pool_fatal(EXIT_RUNTIME, "%s", PQerrorMessage(c));
	char *set = xasprintf("SET TRANSACTION SNAPSHOT %s", lit);
	db_exec_or_die(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	db_exec_or_die(c, set); /* before any query of the transaction */
	PQfreemem(lit);
	free(set);
	return c;
}

struct copier {
	pthread_t th;
	struct prod *p;
	const struct copy_opts *o;
	double t0;
};

/* copy_all: sample every table, then close over foreign keys (the copier
 * thread). */
static void *copy_all(void *arg)
{
	struct copier *c = arg;
	struct prod *p = c->p;
	const struct copy_opts *o = c->o;
	int jobs = o->jobs < 1 ? 1 : o->jobs;
	struct work w = {xcalloc((size_t)jobs, sizeof(struct stream)), NULL, 0, 0};
	for (size_t k = 0; k < p->nkeys; k++)
		p->keys[k]->loaded.ints = p->keys[k]->wanted.ints = integer_key(p->keys[k]);
	for (int i = 0; i < jobs; i++) {
		struct stream *st = &w.ws[i];
		st->p = p, st->o = o;
		/* not p's own session: an error on it would end the transaction
		 * whose snapshot pg_dump and the other workers import */
		st->prod = worker_prod(p);
		buf_init(&st->line), buf_init(&st->tmp), buf_init(&st->val), buf_init(&st->held);
	}
	double t0 = now_ms();
	struct table **order = xcalloc(p->ntables + 1, sizeof(*order));
	memcpy(order, p->tables, p->ntables * sizeof(*order));
	qsort(order, p->ntables, sizeof(*order), by_size); /* the longest first */
	for (size_t i = 0; i < p->ntables; i++)
		add_task(&w, (struct task){order[i], NULL, NULL, NULL, 0});
	progress.what = "sampling";
	pool_run(jobs, w.ntasks, run_task, &w);
	free(order);
	p->sample_ms = now_ms() - t0;
	long sampled = 0;
	for (size_t i = 0; i < p->ntables; i++)
		sampled += p->tables[i]->sampled;
	if (o->progress)
		fprintf(stderr, "\r\033[K%s: sampled %ld rows of %zu tables: %.1f s\n", msg_prog(), sampled,
			p->ntables, p->sample_ms / 1000);
	t0 = now_ms();
	progress.what = "foreign key closure", progress.rows = 0;
	p->closure_rounds = 0;
	while (close_round(p, &w, jobs))
		p->closure_rounds++;
	p->closure_ms = now_ms() - t0;
	long closure = 0;
	for (size_t i = 0; i < p->ntables; i++)
		closure += p->tables[i]->closure;
	if (o->progress)
		fprintf(stderr, "\r\033[K%s: foreign keys closed in %d rounds, %ld parent rows: %.1f s\n", msg_prog(),
			p->closure_rounds, closure, p->closure_ms / 1000);
	for (int i = 0; i < jobs; i++) {
		stream_release(&w.ws[i]);
		db_exec_or_die(w.ws[i].prod, "ROLLBACK");
		db_close(w.ws[i].prod);
		if (w.ws[i].shadow)
			db_close(w.ws[i].shadow);
	}
	free(w.ws);
	free(w.tasks);
	pthread_mutex_lock(&sink.mu);
	sink.done = true;
	pthread_cond_broadcast(&sink.cv);
	pthread_mutex_unlock(&sink.mu);
	return NULL;
}

struct copier *copy_start(struct prod *p, const struct copy_opts *o)
{
	struct copier *c = xcalloc(1, sizeof(*c));
	c->p = p, c->o = o, c->t0 = now_ms();
	pool_defer_fatal(true);
	if (pthread_create(&c->th, NULL, copy_all, c))
		die_code(EXIT_RUNTIME, "cannot start a thread for copying");
	return c;
}

/* load_held: rows a stream left in memory, into the shadow on conn. */
static void load_held(PGconn *conn, const struct copy_opts *o, struct held *h)
{
	shadow_copy_begin(conn, o, h->t, &h->rows);
	shadow_copy_end(conn, h->t);
}

void copy_join(struct copier *c, PGconn *shadow)
{
	pool_defer_fatal(false); /* dies with a worker's error */
	pthread_mutex_lock(&sink.mu);
	__atomic_store_n(&sink.ready, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&sink.cv);
	for (;;) {
		while (!sink.n && !sink.done)
			pthread_cond_wait(&sink.cv, &sink.mu);
		if (!sink.n)
			break;
		struct held h = sink.v[--sink.n];
		pthread_mutex_unlock(&sink.mu);
		load_held(shadow, c->o, &h);
		__atomic_sub_fetch(&sink.bytes, h.rows.len, __ATOMIC_RELAXED);
		buf_release(&h.rows);
		pthread_mutex_lock(&sink.mu);
	}
	pthread_mutex_unlock(&sink.mu);
	pthread_join(c->th, NULL);
	c->p->copy_ms = now_ms() - c->t0;
	free(sink.v);
	sink.v = NULL, sink.n = sink.cap = 0;
	free(c);
}
