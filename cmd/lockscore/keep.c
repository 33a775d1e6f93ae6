/* keep: an analysed statement, or a finding, written to a spool and read
 * back field by field, in the same order. The parse tree, the SQL and the
 * node type are not kept: nothing after the analysis needs them. */
#include <stdlib.h>
#include <string.h>

#include "lockscore.h"
#include "xalloc.h"

static void put_strv(struct spool *s, const struct strv *sv)
{
	spool_put_u64(s, sv->n);
	for (size_t i = 0; i < sv->n; i++)
		spool_put_str(s, sv->v[i]);
}

static void get_strv(struct spool_cur *c, struct strv *sv)
{
	uint64_t n = spool_get_u64(c);
	for (uint64_t i = 0; i < n; i++) {
		char *str = spool_get_str(c);
		strv_push_take(sv, str ? str : xstrdup(""));
	}
}

/* the booleans of a statement, one bit each */
enum {
	B_SETS_LOCK_TIMEOUT = 1,
	B_VALIDATES = 2,
	B_IN_TX = 4,
	B_TRACED = 8,
	B_NOTX = 16,
	B_DESTROYS = 32,
	B_UNMODELLED = 64,
	B_CLEARS_LOCK_TIMEOUT = 128,
	B_ROLLS_BACK = 256
};

void keep_stmt(struct spool *s, const struct stmt *st)
{
	const struct effect *e = &st->eff;
	uint64_t bits = (st->sets_lock_timeout ? B_SETS_LOCK_TIMEOUT : 0) | (st->validates ? B_VALIDATES : 0) |
			(st->in_tx ? B_IN_TX : 0) | (st->traced ? B_TRACED : 0) | (e->notx ? B_NOTX : 0) |
			(e->destroys ? B_DESTROYS : 0) | (e->unmodelled ? B_UNMODELLED : 0) |
			(st->clears_lock_timeout ? B_CLEARS_LOCK_TIMEOUT : 0) | (st->rolls_back ? B_ROLLS_BACK : 0);
	spool_put_u64(s, st->index);
	spool_put_u64(s, (uint64_t)(int64_t)st->line);
	spool_put_u64(s, st->sql_off);
	spool_put_u64(s, st->sql_len);
	spool_put_u64(s, st->txk);
	spool_put_u64(s, bits);
	spool_put_u64(s, (uint64_t)(int64_t)st->tx);
	spool_put_f64(s, st->est_ms);
	spool_put_f64(s, st->shadow_blocked_read_ms);
	spool_put_f64(s, st->shadow_blocked_write_ms);
	spool_put_u64(s, e->work);
	spool_put_f64(s, e->work_rows);
	spool_put_u64(s, e->nlocks);
	for (size_t i = 0; i < e->nlocks; i++) {
		spool_put_str(s, e->locks[i].table);
		spool_put_u64(s, e->locks[i].mode);
	}
	put_strv(s, &e->rewrites);
	put_strv(s, &e->scans);
	put_strv(s, &e->created);
	put_strv(s, &e->fired);
	put_strv(s, &st->ignore);
}

void load_stmt(struct spool_cur *c, struct stmt *st)
{
	struct effect *e = &st->eff;
	memset(st, 0, sizeof(*st));
	st->index = (size_t)spool_get_u64(c);
	st->line = (int)(int64_t)spool_get_u64(c);
	st->sql_off = (size_t)spool_get_u64(c);
	st->sql_len = (size_t)spool_get_u64(c);
	st->txk = (enum txkind)spool_get_u64(c);
	uint64_t bits = spool_get_u64(c);
	st->sets_lock_timeout = bits & B_SETS_LOCK_TIMEOUT;
	st->clears_lock_timeout = bits & B_CLEARS_LOCK_TIMEOUT;
	st->rolls_back = bits & B_ROLLS_BACK;
	st->validates = bits & B_VALIDATES;
	st->in_tx = bits & B_IN_TX;
	st->traced = bits & B_TRACED;
	e->notx = bits & B_NOTX;
	e->destroys = bits & B_DESTROYS;
	e->unmodelled = bits & B_UNMODELLED;
	st->tx = (int)(int64_t)spool_get_u64(c);
	st->est_ms = spool_get_f64(c);
	st->est_lock_ms = -1;
	st->shadow_blocked_read_ms = spool_get_f64(c);
	st->shadow_blocked_write_ms = spool_get_f64(c);
	e->work = (enum work)spool_get_u64(c);
	e->work_rows = spool_get_f64(c);
	size_t n = (size_t)spool_get_u64(c);
	e->locks = n ? xcalloc(n, sizeof(*e->locks)) : NULL;
	e->nlocks = e->caplocks = n;
	for (size_t i = 0; i < n; i++) {
		char *t = spool_get_str(c);
		e->locks[i].table = t ? t : xstrdup("");
		e->locks[i].mode = (enum lockmode)spool_get_u64(c);
	}
	get_strv(c, &e->rewrites);
	get_strv(c, &e->scans);
	get_strv(c, &e->created);
	get_strv(c, &e->fired);
	get_strv(c, &st->ignore);
}

void stmt_release(struct stmt *st)
{
	free(st->sql);
	free(st->type);
	effect_release(&st->eff);
	strv_release(&st->ignore);
	st->sql = st->type = NULL;
}

void keep_finding(struct spool *s, const struct finding *f)
{
	spool_put_str(s, f->rule);
	spool_put_str(s, f->severity);
	spool_put_str(s, f->table);
	spool_put_str(s, f->message);
	spool_put_str(s, f->fix);
	spool_put_str(s, f->what);
	spool_put_u64(s, f->mode);
	spool_put_f64(s, f->rows);
	spool_put_u64(s, f->stmt);
	spool_put_u64(s, (uint64_t)(int64_t)f->line);
	spool_put_u64(s, f->rollback);
}

void load_finding(struct spool_cur *c, struct finding *f)
{
	f->rule = spool_get_str(c);
	f->severity = spool_get_str(c);
	f->table = spool_get_str(c);
	f->message = spool_get_str(c);
	f->fix = spool_get_str(c);
	f->what = spool_get_str(c);
	f->mode = (enum lockmode)spool_get_u64(c);
	f->rows = spool_get_f64(c);
	f->stmt = (size_t)spool_get_u64(c);
	f->line = (int)(int64_t)spool_get_u64(c);
	f->rollback = spool_get_u64(c) != 0;
}

void finding_release(struct finding *f)
{
	free(f->rule);
	free(f->severity);
	free(f->table);
	free(f->message);
	free(f->fix);
	free(f->what);
	memset(f, 0, sizeof(*f));
}
