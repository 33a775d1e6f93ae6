/*
 * model: the record stream as mkrunbook needs it.
 *
 * Records are checked as they are read: a record of a kind mkrunbook uses
 * whose required fields are missing or of the wrong type is an input error
 * naming the file and line, because a runbook built on a misread record
 * would tell an operator something false. Kinds it does not use (DAG
 * records other than table, metric, watch, ...) are accepted and ignored.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mkrunbook.h"
#include "msg.h"
#include "nd.h"
#include "pgvocab.h"
#include "xalloc.h"

/* Green for the modes ordinary queries never wait on, warmer as more waits. */
static const char *const mode_colours[9] = {NULL, "#c7e9c0", "#a1d99b", "#74c476", "#fdd0a2",
					    "#fdae6b", "#fd8d3c", "#e6550d", "#a50f15"};

const char *lockmode_name(int mode)
{
	return pgv_lock_name(mode) ? pgv_lock_name(mode) : "none";
}
const char *lockmode_short(int mode)
{
	return pgv_lock_short(mode) ? pgv_lock_short(mode) : "none";
}
const char *lockmode_colour(int mode)
{
	return mode >= 1 && mode <= 8 ? mode_colours[mode] : "#dddddd";
}
bool lockmode_blocks_reads(int mode)
{
	return pgv_lock_blocks_reads(mode);
}
bool lockmode_blocks_writes(int mode)
{
	return pgv_lock_blocks_writes(mode);
}

int level_rank(const char *level)
{
	return pgv_severity_rank(level);
}

double num_or(const cJSON *o, const char *key, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static void ptrv_push(struct ptrv *p, const cJSON *rec)
{
	xgrow(&p->v, &p->cap, p->n + 1, sizeof(*p->v));
	p->v[p->n++] = rec;
}

/* ---- checking fields ---- */

struct where {
	const char *file;
	long line;
	const char *kind;
};

static _Noreturn void bad(const struct where *w, const char *field, const char *want)
{
	die_at(EXIT_INPUT, w->file, w->line, "%s record: \"%s\" must be %s", w->kind, field, want);
}

static const char *need_str(const struct where *w, const cJSON *rec, const char *key)
{
	const char *s = nd_get_str(rec, key);
	if (!s || !*s)
		bad(w, key, "a non-empty string");
	return s;
}

static long need_int(const struct where *w, const cJSON *rec, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble != floor(v->valuedouble) ||
	    v->valuedouble > 1e9)
		bad(w, key, "a non-negative integer");
	return (long)v->valuedouble;
}

/* A number, null or absent (-1 for the last two); anything else is bad. */
static double opt_ms(const struct where *w, const cJSON *rec, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
	if (!v || cJSON_IsNull(v))
		return -1;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || !isfinite(v->valuedouble))
		bad(w, key, "a non-negative number or null");
	return v->valuedouble;
}

static const cJSON *opt_array(const struct where *w, const cJSON *rec, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
	if (v && !cJSON_IsNull(v) && !cJSON_IsArray(v))
		bad(w, key, "an array");
	return cJSON_IsArray(v) ? v : NULL;
}

static void check_locks(const struct where *w, const cJSON *rec)
{
	const cJSON *locks = cJSON_GetObjectItemCaseSensitive(rec, "locks"), *l;
	if (!cJSON_IsArray(locks))
		bad(w, "locks", "an array of {table, mode}");
	cJSON_ArrayForEach(l, locks)
	{
		const char *t = nd_get_str(l, "table");
		if (!t || !strchr(t, '.'))
			bad(w, "locks[].table", "a schema-qualified table name");
		if (!pgv_lock_parse(nd_get_str(l, "mode")))
			bad(w, "locks[].mode", "a pg_locks mode such as AccessExclusiveLock");
	}
}

static void check_level(const struct where *w, const cJSON *rec, const char *key)
{
	if (!level_rank(nd_get_str(rec, key)))
		bad(w, key, "low, medium or high");
}

/* ---- migrations ---- */

static struct mig *mig_get(struct model *m, const char *id)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->migs[i].id, id))
			return &m->migs[i];
	xgrow(&m->migs, &m->cap, m->n + 1, sizeof(*m->migs));
	struct mig *g = &m->migs[m->n++];
	memset(g, 0, sizeof(*g));
	g->id = id;
	return g;
}

static void add_statement(struct model *m, const struct where *w, const cJSON *rec)
{
	struct mig *g = mig_get(m, need_str(w, rec, "migration"));
	long index = need_int(w, rec, "index");
	const char *sql = nd_get_str(rec, "sql");
	if (!sql)
		bad(w, "sql", "a string");
	check_locks(w, rec);
	for (size_t i = 0; i < g->n; i++)
		if (g->stmts[i].index == index)
			die_at(EXIT_INPUT, w->file, w->line, "statement record: migration %s has statement %ld twice",
			       g->id, index);
	xgrow(&g->stmts, &g->cap, g->n + 1, sizeof(*g->stmts));
	struct stmt *st = &g->stmts[g->n++];
	memset(st, 0, sizeof(*st));
	st->index = index;
	const cJSON *line = cJSON_GetObjectItemCaseSensitive(rec, "line");
	st->line = cJSON_IsNumber(line) ? (long)line->valuedouble : 0;
	st->sql = sql;
	const cJSON *l, *locks = cJSON_GetObjectItemCaseSensitive(rec, "locks");
	st->locks = xcalloc((size_t)cJSON_GetArraySize(locks) + 1, sizeof(*st->locks));
	cJSON_ArrayForEach(l, locks)
	{
		st->locks[st->nlocks].table = nd_get_str(l, "table");
		st->locks[st->nlocks++].mode = pgv_lock_parse(nd_get_str(l, "mode"));
	}
	st->rewrites = opt_array(w, rec, "rewrites");
	st->scans = opt_array(w, rec, "scans");
	st->est_ms = opt_ms(w, rec, "est_ms");
	st->est_lock_ms = opt_ms(w, rec, "est_lock_ms");
	const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(rec, "blocks");
	bool r = false, wr = false;
	for (size_t i = 0; i < st->nlocks; i++) {
		r |= lockmode_blocks_reads(st->locks[i].mode);
		wr |= lockmode_blocks_writes(st->locks[i].mode);
	}
	if (cJSON_IsObject(blocks)) { /* lockscore knows tables created by the migration block no one */
		struct where wb = {w->file, w->line, "statement record: blocks"};
		st->block_reads = opt_ms(&wb, blocks, "reads");
		st->block_writes = opt_ms(&wb, blocks, "writes");
	} else {
		st->block_reads = r ? st->est_lock_ms : 0;
		st->block_writes = wr ? st->est_lock_ms : 0;
	}
	const cJSON *intx = cJSON_GetObjectItemCaseSensitive(rec, "in_transaction");
	st->in_tx = !cJSON_IsFalse(intx);
	const char *src = nd_get_str(rec, "source");
	st->traced = src && !strcmp(src, "traced");
	st->shadow_lock_ms = -1;
}

static void add_record(struct model *m, const struct where *w, const cJSON *rec)
{
	const char *k = w->kind;
	if (!strcmp(k, "statement")) {
		add_statement(m, w, rec);
	} else if (!strcmp(k, "finding")) {
		need_str(w, rec, "rule");
		check_level(w, rec, "severity");
		need_str(w, rec, "message");
		const char *mig = nd_get_str(rec, "migration");
		struct mig *g = mig_get(m, mig ? mig : "(no migration)");
		ptrv_push(&g->findings, rec);
		if (!g->file)
			g->file = nd_get_str(rec, "file");
	} else if (!strcmp(k, "risk")) {
		struct mig *g = mig_get(m, need_str(w, rec, "migration"));
		check_level(w, rec, "level");
		double s = num_or(rec, "score", -1);
		if (s < 0 || s > 100)
			bad(w, "score", "a number from 0 to 100");
		opt_array(w, rec, "reasons");
		g->risk = rec;
	} else if (!strcmp(k, "migration")) {
		struct mig *g = mig_get(m, need_str(w, rec, "id"));
		if (!nd_get_str(rec, "forward"))
			bad(w, "forward", "a string");
		opt_array(w, rec, "irreversible");
		g->rec = rec;
		const char *fw = nd_get_str(cJSON_GetObjectItemCaseSensitive(rec, "files"), "forward");
		if (fw)
			g->file = fw;
	} else if (!strcmp(k, "rollback_check")) {
		struct mig *g = mig_get(m, need_str(w, rec, "migration"));
		if (!cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(rec, "ok")))
			bad(w, "ok", "true or false");
		opt_array(w, rec, "differences");
		g->rollback_check = rec;
	} else if (!strcmp(k, "trace")) {
		need_str(w, rec, "migration");
		need_int(w, rec, "statement");
		check_locks(w, rec);
		opt_ms(w, rec, "ms");
		ptrv_push(&m->traces, rec);
	} else if (!strcmp(k, "plan")) {
		need_str(w, rec, "query");
		if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(rec, "before")))
			bad(w, "before", "an object {cost, ms, seq_scans, indexes}");
		opt_array(w, rec, "regressions");
		ptrv_push(&m->plans, rec);
	} else if (!strcmp(k, "sample")) {
		need_str(w, rec, "table");
		opt_ms(w, rec, "rows");
		opt_ms(w, rec, "source_rows");
		ptrv_push(&m->samples, rec);
	} else if (!strcmp(k, "table")) {
		need_str(w, rec, "name");
		ptrv_push(&m->tables, rec);
	} else if (!strcmp(k, "shadow")) {
		m->shadow = rec;
	} else if (!strcmp(k, "source")) {
		m->source = rec;
	}
}

/* model_read: every record of f, checked, added to the model. */
void model_read(struct model *m, FILE *f, const char *name)
{
	static const char *const known[] = {"statement", "finding", "risk", "migration", "rollback_check",
					    "trace", "plan", "sample", "table", "shadow",
					    "source"};
	struct nd_reader rd;
	cJSON *rec;
	if (!m->all)
		m->all = cJSON_CreateArray();
	struct msg_err rerr = MSG_ERR_INIT;
	nd_reader_init(&rd, f, name);
	while ((rec = nd_read(&rd, &rerr))) {
		struct where w = {name, rd.lineno, nd_kind(rec)};
		cJSON_AddItemToArray(m->all, rec);
		for (size_t i = 0; i < sizeof known / sizeof *known; i++)
			if (!strcmp(w.kind, known[i]) && num_or(rec, "v", 1) > 1)
				die_at(EXIT_INPUT, name, rd.lineno,
				       "%s record of version %g: this mkrunbook reads version 1", w.kind,
				       num_or(rec, "v", 1));
		add_record(m, &w, rec);
	}
	if (rerr.text)
		die_err(&rerr);
	nd_reader_release(&rd);
}

static int stmt_cmp(const void *a, const void *b)
{
	const struct stmt *x = a, *y = b;
	return (x->index > y->index) - (x->index < y->index);
}

/* Held on the shadow: from the statement's start to its transaction's end,
 * the statements in one transaction being a contiguous in_transaction run
 * (how lockscore numbers them with the tool's wrapper). */
static void shadow_times(struct model *m, struct mig *g)
{
	for (size_t i = 0; i < g->n; i++)
		for (size_t k = 0; k < m->traces.n; k++) {
			const cJSON *t = m->traces.v[k];
			if (!strcmp(nd_get_str(t, "migration"), g->id) &&
			    (long)num_or(t, "statement", -1) == g->stmts[i].index)
				g->stmts[i].trace = t;
		}
	double later = 0;
	for (size_t i = g->n; i-- > 0;) {
		struct stmt *st = &g->stmts[i];
		double ms = st->trace ? num_or(st->trace, "ms", -1) : -1;
		bool joined = st->in_tx && i + 1 < g->n && g->stmts[i + 1].in_tx;
		st->shadow_lock_ms = ms < 0 || (joined && later < 0) ? -1 : ms + (joined ? later : 0);
		later = st->shadow_lock_ms;
	}
}

/* model_finish: order the statements, join traces, and insist on what a
 * document needs: at least one migration, each with lockscore's risk. */
void model_finish(struct model *m, const char *name)
{
	if (m->n == 0)
		die_at(EXIT_INPUT, name, 0,
		       "no migration in the input: pipe lockscore's records (statement, finding, risk) into mkrunbook");
	for (size_t i = 0; i < m->n; i++) {
		struct mig *g = &m->migs[i];
		if (!g->risk)
			die_at(EXIT_INPUT, name, 0, "migration %s has no risk record: run lockscore before mkrunbook",
			       g->id);
		qsort(g->stmts, g->n, sizeof(*g->stmts), stmt_cmp);
		shadow_times(m, g);
	}
}

void model_release(struct model *m)
{
	for (size_t i = 0; i < m->n; i++) {
		for (size_t k = 0; k < m->migs[i].n; k++)
			free(m->migs[i].stmts[k].locks);
		free(m->migs[i].stmts);
		free(m->migs[i].findings.v);
	}
	free(m->migs);
	free(m->plans.v);
	free(m->samples.v);
	free(m->tables.v);
	free(m->traces.v);
	cJSON_Delete(m->all);
	memset(m, 0, sizeof(*m));
}

void mig_tables(const struct mig *g, struct strv *out)
{
	for (size_t i = 0; i < g->n; i++)
		for (size_t k = 0; k < g->stmts[i].nlocks; k++)
			if (strv_index(out, g->stmts[i].locks[k].table) < 0)
				strv_push(out, g->stmts[i].locks[k].table);
}

/* Sum of the production estimates; -1 when any is unknown. */
double mig_total_ms(const struct mig *g)
{
	double t = 0;
	for (size_t i = 0; i < g->n; i++) {
		if (g->stmts[i].est_ms < 0)
			return -1;
		t += g->stmts[i].est_ms;
	}
	return t;
}

/* The longest time reads or writes wait (-1 unknown), and whether any do. */
double mig_longest_lock_ms(const struct mig *g, bool *reads, bool *writes)
{
	double worst = 0;
	*reads = *writes = false;
	for (size_t i = 0; i < g->n; i++) {
		const struct stmt *st = &g->stmts[i];
		double b[2] = {st->block_reads, st->block_writes};
		*reads |= b[0] != 0;
		*writes |= b[1] != 0;
		for (int k = 0; k < 2; k++)
			if (b[k] < 0 || worst < 0)
				worst = b[k] != 0 ? -1 : worst;
			else if (b[k] > worst)
				worst = b[k];
	}
	return worst;
}
