/*
 * lockscore — know every lock a migration takes, and score the risk.
 *
 * usage: lockscore [options] [FILE.sql ...] [< records.ndjson]
 * SQL files named as arguments are migrations (one transaction each, as
 * Flyway and Prisma run them). Records on stdin, when stdin is not a
 * terminal, give the context: the DAG from schema2dag (table, index,
 * foreign_key, check, view, enum), `migration` records (analysed too),
 * `sample` (production row counts), `shadow` (sample percent) and `trace`
 * records from applyexplain, whose observed locks replace the static
 * prediction. Every record read is forwarded.
 *
 * Writes, per migration: a `statement` record per statement (locks: the
 * strongest mode per table; rewrites; scans; blocks {reads, writes} in
 * estimated ms; est_lock_ms; source static|traced), `finding` records and
 * one `risk` record, with `digest` {forward, rollback}: the hex SHA-256 of
 * the SQL reviewed (a migration record's strings, a file's bytes; rollback
 * null when there is none). DML nested in a statement (data-modifying
 * WITH, EXPLAIN ANALYZE, COPY (...) TO, CREATE TABLE AS) is predicted and
 * ruled on as the plain statement. A migration record's rollback SQL is
 * reviewed for escapes from the deploy's session and transaction
 * (timeouts switched off, role, search_path, two-phase commit, COMMIT or
 * ROLLBACK): those findings carry "part": "rollback".
 * --format text|github|sarif writes those as compiler
 * lines, GitHub annotations or SARIF 2.1.0 instead.
 * --list-rules[=markdown] lists the rules (id, severity, summary: the
 * table in rules.c), --explain RULE documents one (with an example and the
 * fix). --disable and `-- migsafe:ignore RULE` name rules of that table:
 * an unknown one is a usage error for --disable, and a warning (file:line,
 * nothing suppressed, the file still reviewed) for a comment.
 * Exit: 0; 1 findings at or above --fail-on; 2 usage (an unknown rule for
 * --disable or --explain); 4 invalid input (a file PostgreSQL cannot
 * parse: file, line and the parser's message).
 *
 * Memory is bounded however long a migration is: a file is mapped and its
 * pages dropped behind the walk; analysed statements and their findings
 * wait in spools (memory, then temporary files past MIGSAFE_SPOOL_MEM)
 * until the passes that need the whole transaction read them back.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "flyway.h"
#include "lockscore.h"
#include "msg.h"
#include "nd.h"
#include "opt.h"
#include "pgvocab.h"
#include "sha256.h"
#include "xalloc.h"

static const char usage_text[] =
	"usage: lockscore [options] [FILE.sql ...] [< records.ndjson]\n"
	"Predict the locks, rewrites and scans of each statement of a migration, and score the risk.\n"
	"\n"
	"  --format ndjson|text|github|sarif  output (default ndjson records)\n"
	"  --fail-on low|medium|high          exit 1 when a finding is at or above this severity\n"
	"  --pg-version N                     target PostgreSQL major version, 11..17 (default 15)\n"
	"  --disable RULE                     turn a rule off (repeatable)\n"
	"  --list-rules[=markdown]            list the rules (id, severity, summary) and exit\n"
	"  --explain RULE                     a rule's documentation, an example and the fix, and exit\n"
	"  --no-transaction                   the tool does not wrap each file in a transaction\n"
	"  --max-lock-timeout DUR             a longer lock_timeout counts as switched off (default 10s)\n"
	"  --max-statement-timeout DUR        likewise statement_timeout and idle_in_transaction_session_timeout\n"
	"                                     (default 1h)\n"
	"  DUR is a number of seconds, or with a unit: 500ms, 2s, 5min, 1h.\n"
	"  -h, --help                         this help\n"
	"\n"
	"Suppress one finding with a comment on or above the statement:\n"
	"  -- migsafe:ignore RULE reason\n"
	"Exit: 0 ok, 1 findings at or above --fail-on, 2 usage, 4 invalid input.\n";

struct input {
	struct catalog base;
	cJSON *migrations; /* array of migration records */
	cJSON *traces;	   /* array of trace records */
	double sample_percent;
};

/* print and exit: what --list-rules and --explain write */
static _Noreturn void print_exit(struct buf *b)
{
	if (fwrite(b->s, 1, b->len, stdout) != b->len || fflush(stdout))
		die_code(EXIT_RUNTIME, "write error on stdout: %s", strerror(errno));
	buf_release(b);
	exit(EXIT_OK);
}

/* --list-rules[=markdown] */
static _Noreturn void list_rules(const char *how)
{
	struct buf b = BUF_INIT;
	if (how && strcmp(how, "markdown") && strcmp(how, "text"))
		usage_error("--list-rules takes text or markdown, not '%s'", how);
	rules_list(&b, how && !strcmp(how, "markdown"));
	print_exit(&b);
}

/* --explain RULE */
static _Noreturn void explain_rule(const char *id)
{
	struct buf b = BUF_INIT;
	const struct rule_info *ri = rule_find(id);
	if (!ri)
		usage_error("--explain: no rule '%s' (lockscore --list-rules lists them)", id);
	rule_explain(&b, ri);
	print_exit(&b);
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const char *const formats[] = {"ndjson", "text", "github", "sarif", NULL};
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'f'},
		{"fail-on", required_argument, NULL, 'F'},
		{"pg-version", required_argument, NULL, 'p'},
		{"disable", required_argument, NULL, 'd'},
		{"no-transaction", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{"max-lock-timeout", required_argument, NULL, 'L'},
		{"max-statement-timeout", required_argument, NULL, 'S'},
		{"list-rules", optional_argument, NULL, 'R'},
		{"explain", required_argument, NULL, 'E'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	memset(o, 0, sizeof(*o));
	o->pg_version = 15;
	o->format = "ndjson";
	o->max_lock_timeout_ms = 10000;
	o->max_statement_timeout_ms = 3600000;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': o->format = formats[opt_enum("--format", optarg, formats)]; break;
		case 'F': o->fail_on = pgv_severity_list[opt_enum("--fail-on", optarg, pgv_severity_list)]; break;
		case 'p': o->pg_version = (int)opt_int("--pg-version", optarg, 11, 17); break;
		case 'd':
			if (!rule_find(optarg))
				usage_error("--disable: no rule '%s' (lockscore --list-rules lists them)", optarg);
			strv_push(&o->disabled, optarg);
			break;
		case 'R': list_rules(optarg);
		case 'E': explain_rule(optarg);
		case 'n': o->no_transaction = true; break;
		case 'L': o->max_lock_timeout_ms = opt_duration("--max-lock-timeout", optarg, 1, OPT_WEEK_MS); break;
		case 'S':
			o->max_statement_timeout_ms = opt_duration("--max-statement-timeout", optarg, 1, OPT_WEEK_MS);
			break;
		case 'h': fputs(usage_text, stdout); exit(EXIT_OK);
		default: usage_error("unknown option");
		}
	}
}

/* ---- input records ---- */

static void note_sample(struct input *in, const cJSON *rec)
{
	const char *t = nd_get_str(rec, "table");
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(rec, "source_rows");
	struct cat_table *tab = t ? catalog_table_q(&in->base, t) : NULL;
	if (tab && cJSON_IsNumber(src) && tab->rows < 0)
		tab->rows = src->valuedouble;
}

static void read_stdin(struct input *in)
{
	struct nd_reader rd;
	cJSON *rec;
	struct msg_err rerr = MSG_ERR_INIT;
	nd_reader_init(&rd, stdin, "<stdin>");
	while ((rec = nd_read(&rd, &rerr))) {
		const char *kind = nd_kind(rec), *err = NULL;
		nd_forward(rd.line.s, rd.line.len);
		if (catalog_load_record(&in->base, rec, &err) < 0)
			die_at(EXIT_INPUT, "<stdin>", rd.lineno, "%s", err);
		if (!strcmp(kind, "migration")) {
			if (!nd_get_str(rec, "id") || !nd_get_str(rec, "forward"))
				die_at(EXIT_INPUT, "<stdin>", rd.lineno, "migration record needs \"id\" and \"forward\"");
			cJSON_AddItemToArray(in->migrations, rec);
			continue;
		}
		if (!strcmp(kind, "trace")) {
			cJSON_AddItemToArray(in->traces, rec);
			continue;
		}
		if (!strcmp(kind, "sample"))
			note_sample(in, rec);
		if (!strcmp(kind, "shadow")) {
			const cJSON *p = cJSON_GetObjectItemCaseSensitive(rec, "sample_percent");
			if (cJSON_IsNumber(p) && p->valuedouble > 0)
				in->sample_percent = p->valuedouble;
		}
		cJSON_Delete(rec);
	}
	if (rerr.text)
		die_err(&rerr);
	nd_reader_release(&rd);
}

/* ---- statements of a migration ---- */

/* The line ends in text[0, len). */
static int count_newlines(const char *text, size_t len)
{
	int n = 0;
	for (const char *p = text, *e = text + len; p < e && (p = memchr(p, '\n', (size_t)(e - p))); p++)
		n++;
	return n;
}

/* "-- migsafe:ignore RULE reason" in text: RULE is suppressed. A RULE
 * that names no rule suppresses nothing: a warning with file and line
 * (end_line: the line text + len is on) says so, and the file is reviewed. */
static void scan_ignores(const char *file, const char *text, size_t len, int end_line, struct strv *out)
{
	static const char tag[] = "migsafe:ignore";
	const char *end = text + len;
	for (const char *p = text; p < end && (p = memmem(p, (size_t)(end - p), tag, sizeof tag - 1));
	     p += sizeof tag - 1) {
		const char *r = p + sizeof tag - 1;
		while (r < end && (*r == ' ' || *r == '\t'))
			r++;
		size_t n = 0;
		while (r + n < end && r[n] != ' ' && r[n] != '\t' && r[n] != '\n' && r[n] != '\r')
			n++;
		strv_push_take(out, n ? xstrndup(r, n) : xstrdup("all"));
		if (n && strcmp(out->v[out->n - 1], "all") && !rule_find(out->v[out->n - 1]))
			warning_at(file, end_line - count_newlines(p, (size_t)(end - p)),
				   "-- migsafe:ignore names no rule '%s': it suppresses nothing (lockscore --list-rules lists them)",
				   out->v[out->n - 1]);
	}
}

/* What the migration-wide rules need of a statement once its tree is gone. */
static void note_facts(const struct opts *o, struct stmt *st)
{
	enum lt_effect lt = lock_timeout_effect(o, st->type, st->node);
	st->sets_lock_timeout = lt == LT_SETS;
	st->clears_lock_timeout = lt == LT_CLEARS;
	if (!strcmp(st->type, "TransactionStmt")) {
		const char *k = sql_jstr(st->node, "kind");
		k = k ? k : "";
		st->rolls_back = !strcmp(k, "TRANS_STMT_ROLLBACK");
		st->txk = !strcmp(k, "TRANS_STMT_BEGIN") || !strcmp(k, "TRANS_STMT_START") ? TXK_BEGIN
			  : !strcmp(k, "TRANS_STMT_COMMIT") || st->rolls_back || !strcmp(k, "TRANS_STMT_PREPARE")
				  ? TXK_END
				  : TXK_OTHER;
	} else if (!strcmp(st->type, "AlterTableStmt")) {
		const cJSON *cmd;
		cJSON_ArrayForEach(cmd, sql_jget(st->node, "cmds"))
		{
			const char *sub = sql_jstr(sql_node(cmd, "AlterTableCmd"), "subtype");
			st->validates |= sub && !strcmp(sub, "AT_ValidateConstraint");
		}
	}
}

/* Transactions: with the tool's wrapper (default) the whole file is one,
 * unless it holds a single statement (PostgreSQL's implicit transaction
 * of one statement is not a transaction block); explicit BEGIN/COMMIT
 * delimit their own. Statements are numbered in order, once `wrapped` is
 * known. */
struct txstate {
	bool wrapped, explicit_open;
	int tx;
};

static void number_transaction(struct txstate *t, struct stmt *st)
{
	if (st->txk == TXK_BEGIN) {
		if (!t->explicit_open && !t->wrapped)
			t->tx++;
		t->explicit_open = true;
	}
	st->in_tx = t->wrapped || t->explicit_open;
	st->tx = t->wrapped ? 1 : t->explicit_open ? t->tx
						   : -(int)st->index - 1;
	if (st->txk == TXK_END)
		t->explicit_open = false;
}

/* ---- traces from the shadow ---- */

static const cJSON *find_trace(const struct input *in, const char *mig, size_t index)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, in->traces)
	{
		const cJSON *si = cJSON_GetObjectItemCaseSensitive(t, "statement");
		const char *tm = nd_get_str(t, "migration");
		if (tm && !strcmp(tm, mig) && cJSON_IsNumber(si) && (size_t)si->valuedouble == index)
			return t;
	}
	return NULL;
}

/* Observed locks replace the prediction; a disagreement is itself a
 * finding. Shadow timings scale by the sample percentage. */
static void apply_trace(const struct input *in, const struct opts *o, struct migration *m, struct stmt *st,
			const cJSON *tr)
{
	struct effect seen = {0};
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(tr, "locks"))
		effect_lock(&seen, nd_get_str(it, "table"), lockmode_parse(nd_get_str(it, "mode")));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(tr, "rewrites")) if (cJSON_IsString(it))
		strv_push(&seen.rewrites, it->valuestring);
	struct buf diff;
	buf_init(&diff);
	for (size_t i = 0; i < seen.nlocks; i++)
		if (effect_mode(&st->eff, seen.locks[i].table) != seen.locks[i].mode)
			buf_addf(&diff, "%s%s: predicted %s, observed %s", diff.len ? "; " : "", seen.locks[i].table,
				 effect_mode(&st->eff, seen.locks[i].table) ? lockmode_name(effect_mode(&st->eff, seen.locks[i].table)) : "none",
				 lockmode_name(seen.locks[i].mode));
	/* a trace sampled while the statement ran, or of a statement that
	 * failed, may have missed locks: only what it saw counts */
	const cJSON *complete = cJSON_GetObjectItemCaseSensitive(tr, "locks_complete");
	bool partial = cJSON_IsFalse(complete) || (nd_get_str(tr, "error") != NULL);
	/* row locks a DML statement takes through foreign keys depend on the
	 * rows: the sample may have had none to cascade to, production will */
	bool dml = st->eff.ndml > 0;
	for (size_t i = 0; dml && i < st->eff.nlocks; i++)
		if (st->eff.locks[i].mode <= LM_RE && !effect_mode(&seen, st->eff.locks[i].table))
			effect_lock(&seen, st->eff.locks[i].table, st->eff.locks[i].mode);
	for (size_t i = 0; !partial && i < st->eff.nlocks; i++)
		if (!effect_mode(&seen, st->eff.locks[i].table))
			buf_addf(&diff, "%s%s: predicted %s, not observed", diff.len ? "; " : "", st->eff.locks[i].table,
				 lockmode_name(st->eff.locks[i].mode));
	if (diff.len && strv_index(&o->disabled, "trace-disagreement") < 0)
		finding_add(m, st, "trace-disagreement", "medium", NULL,
			    xasprintf("the shadow run disagrees with the static prediction (%s); the observed locks are used", diff.s),
			    xstrdup("report this statement form to the migsafe maintainers; trust the observed locks"));
	buf_release(&diff);
	for (size_t i = 0; i < st->eff.nlocks; i++)
		free(st->eff.locks[i].table);
	st->eff.nlocks = 0;
	for (size_t i = 0; i < seen.nlocks; i++)
		effect_lock(&st->eff, seen.locks[i].table, seen.locks[i].mode);
	strv_release(&st->eff.rewrites);
	strv_copy(&st->eff.rewrites, &seen.rewrites);
	effect_release(&seen);
	/* applyexplain's own production estimate (scaled per table, 1x for
	 * catalog-only work) wins over shadow time x 100 / sample percent */
	const cJSON *est = cJSON_GetObjectItemCaseSensitive(tr, "est_ms");
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(tr, "ms");
	if (cJSON_IsNumber(est))
		st->est_ms = est->valuedouble;
	else if (cJSON_IsNumber(ms))
		st->est_ms = ms->valuedouble * pgv_sample_scale(in->sample_percent);
	const cJSON *br = cJSON_GetObjectItemCaseSensitive(tr, "blocked_read_ms");
	const cJSON *bw = cJSON_GetObjectItemCaseSensitive(tr, "blocked_write_ms");
	st->shadow_blocked_read_ms = cJSON_IsNumber(br) ? br->valuedouble : -1;
	st->shadow_blocked_write_ms = cJSON_IsNumber(bw) ? bw->valuedouble : -1;
	st->traced = true;
}

/* ---- analysis: one walk over the migration ---- */

/* keep: an analysed statement and its findings go to the migration's
 * spools; only what later passes need is kept. */
static size_t move_findings(struct migration *m, struct spool *to)
{
	size_t n = m->nfindings;
	for (size_t i = 0; i < n; i++) {
		keep_finding(to, &m->findings[i]);
		finding_release(&m->findings[i]);
	}
	m->nfindings = 0;
	return n;
}

static void keep(struct migration *m, struct stmt *st)
{
	struct stmt_time t = {st->est_ms, st->tx};
	keep_stmt(&m->stmts, st);
	spool_add(&m->times, &t, sizeof t);
	m->nfound += move_findings(m, &m->found);
	stmt_release(st);
}

/* A statement's locks are held from its start to its transaction's end: a
 * suffix sum of the estimated durations within each (contiguous)
 * transaction, worked out backwards over the spooled times. Unknown
 * durations make the sum unknown. The holds spool has the last statement
 * first. */
static void hold_times(struct migration *m)
{
	double later = 0;
	int64_t next_tx = 0;
	uint64_t last = 0;
	for (size_t i = m->n; i-- > 0;) {
		struct stmt_time t;
		struct stmt_hold h;
		spool_read(&m->times, (uint64_t)i * sizeof t, &t, sizeof t);
		bool same = i + 1 < m->n && next_tx == t.tx;
		double after = same ? later : 0;
		h.est_lock_ms = t.est_ms < 0 || after < 0 ? -1 : t.est_ms + after;
		h.last = same ? last : i;
		spool_add(&m->holds, &h, sizeof h);
		later = h.est_lock_ms;
		last = h.last;
		next_tx = t.tx;
	}
}

/* behind: the text before off is done with for now; a mapped file's pages
 * there leave memory, a megabyte at a time */
static void behind(struct migration *m, size_t *dropped, size_t off)
{
	if (m->map && off >= *dropped + ((size_t)1 << 20)) {
		map_drop(m->map, *dropped, off);
		*dropped = off;
	}
}

static struct stmt_hold hold_at(struct migration *m, size_t i)
{
	struct stmt_hold h;
	spool_read(&m->holds, (uint64_t)(m->n - 1 - i) * sizeof h, &h, sizeof h);
	return h;
}

/* One migration's walk: each statement is predicted and ruled on against
 * the schema as it stands just before it, then applied to it; findings that
 * depend on how long a lock is held are finalised once the transaction's
 * end is known. The base catalog ends up with the migration applied, for
 * the next one. */
struct walk {
	struct input *in;
	const struct opts *o;
	struct migration *m;
	struct replay r;
	struct strmap created; /* tables created so far by the migration */
	struct txstate tx;
	size_t real;	 /* statements that are not transaction control */
	size_t dropped;	 /* the text before it is out of memory */
	size_t npending; /* statements waiting for tx.wrapped to be known */
	struct sql_stmt *pending;
	const char **pending_src;
	size_t pending_cap, pending_src_cap;
};

static void analyze_stmt(struct walk *w, struct stmt *st, const char *src, const struct sql_stmt *ss)
{
	struct input *in = w->in;
	number_transaction(&w->tx, st);
	st->src = src;
	locks_predict(&in->base, w->o, st, w->r.search_schema);
	if (st->eff.notx && st->in_tx) { /* refused at once: takes no lock */
		effect_release(&st->eff);
		st->eff.notx = true;
		st->eff.work_rows = -1;
	}
	const cJSON *tr = find_trace(in, w->m->id, st->index);
	st->est_ms = work_ms(st->eff.work, st->eff.work_rows);
	if (tr)
		apply_trace(in, w->o, w->m, st, tr);
	rules_stmt(&in->base, w->o, w->m, st, &w->created);
	for (size_t i = 0; i < st->eff.created.n; i++)
		strmap_put(&w->created, st->eff.created.v[i], &w->created);
	replay_stmt(&w->r, w->m->file, src, ss);
	st->node = NULL;
	st->src = NULL;
	keep(w->m, st); /* emit_statement takes the SQL from the text again */
}

/* Until a second real statement shows up, whether the tool wraps the file
 * in a transaction is not known: statements wait, with copies of their
 * trees (at most one real statement, and transaction control). */
static void flush_pending(struct walk *w)
{
	for (size_t i = 0; i < w->npending; i++) {
		struct sql_stmt *ss = &w->pending[i];
		struct stmt *st = &w->m->win[i];
		st->node = ss->node;
		ss->type = st->type; /* the original pointed into a released tree */
		analyze_stmt(w, st, w->pending_src[i], ss);
		cJSON_Delete(ss->node);
	}
	w->npending = 0;
}

static void walk_stmt(struct walk *w, const struct sql_script *one, const struct sql_stmt *ss, size_t *prev_end)
{
	struct migration *m = w->m;
	const char *text = m->text;
	size_t abs = one->base + ss->offset;
	xgrow(&m->win, &m->capwin, m->nwin + 1, sizeof(*m->win));
	struct stmt *st = &m->win[m->nwin++];
	memset(st, 0, sizeof(*st));
	st->index = m->n++;
	st->line = ss->line;
	st->sql = sql_stmt_text(one, ss);
	st->sql_off = abs;
	st->sql_len = strlen(st->sql);
	st->type = xstrdup(ss->type);
	st->node = ss->node;
	if (abs > *prev_end)
		scan_ignores(m->file, text + *prev_end, abs - *prev_end, st->line, &st->ignore);
	size_t end = abs + ss->len;
	const char *nl = strchr(text + end, '\n');
	size_t tail = nl ? (size_t)(nl - (text + end)) : strlen(text + end);
	scan_ignores(m->file, text + end, tail, st->line + count_newlines(text + abs, ss->len),
		     &st->ignore); /* on the statement's last line */
	*prev_end = end + tail;
	note_facts(w->o, st);
	w->real += st->txk == TXK_NONE;
	if (w->real <= 1) {
		xgrow(&w->pending, &w->pending_cap, w->npending + 1, sizeof(*w->pending));
		xgrow(&w->pending_src, &w->pending_src_cap, w->npending + 1, sizeof(*w->pending_src));
		w->pending[w->npending] = *ss;
		w->pending[w->npending].node = cJSON_Duplicate(ss->node, 1);
		w->pending_src[w->npending++] = one->text;
		return;
	}
	if (w->npending) { /* this is the second real statement */
		w->tx.wrapped = !w->o->no_transaction;
		flush_pending(w);
	}
	analyze_stmt(w, &m->win[m->nwin - 1], one->text, ss);
	m->nwin = 0;
	behind(m, &w->dropped, abs);
}

/* run_one: walk the migration; returns how many of its statements are
 * not transaction control. */
static size_t run_one(struct input *in, const struct opts *o, struct migration *m, const char *text)
{
	struct sql_reader rd;
	struct sql_error err;
	const struct sql_script *one;
	struct walk w = {in, o, m, {0}, STRMAP_INIT, {false, false, 0}, 0, 0, 0, NULL, NULL, 0, 0};
	size_t prev_end = 0;
	int rc;
	m->text = text;
	if (sql_reader_open(&rd, text, &err) < 0)
		die_at(EXIT_INPUT, m->file, err.line, "%s", err.message);
	locks_reset();
	replay_init(&w.r, &in->base);
	w.r.quiet = true;
	while ((rc = sql_reader_next(&rd, &one, &err)) > 0)
		for (size_t i = 0; i < one->n; i++)
			walk_stmt(&w, one, &one->stmts[i], &prev_end);
	if (rc < 0)
		die_at(EXIT_INPUT, m->file, err.line, "%s", err.message);
	w.tx.wrapped = !o->no_transaction && w.real > 1;
	flush_pending(&w);
	m->nwin = 0;
	sql_reader_release(&rd);
	replay_release(&w.r);
	strmap_release(&w.created);
	free(w.pending);
	free(w.pending_src);
	return w.real;
}

/* ---- the rollback ---- */

/* review_rollback: the deploy runs the rollback SQL too (in one
 * transaction, with its own lock_timeout): its escapes from that session
 * and transaction are findings of the migration, marked as the rollback's.
 * SQL PostgreSQL cannot parse is one: the rollback would fail. */
static void review_rollback(const struct opts *o, struct migration *m, const char *text)
{
	struct sql_script s;
	struct sql_error err;
	size_t first = m->nfindings, real = 0, seen = 0;
	if (sql_parse(&s, text, &err) < 0) {
		finding_add(m, NULL, "statement-will-fail", "high", NULL,
			    xasprintf("the rollback SQL does not parse (line %d: %s): rolling back would fail", err.line,
				      err.message ? err.message : "syntax error"),
			    xstrdup("fix the rollback SQL"));
		m->findings[m->nfindings - 1].line = err.line;
		m->findings[m->nfindings - 1].rollback = true;
		sql_error_release(&err);
		return;
	}
	for (size_t i = 0; i < s.n; i++)
		real += strcmp(s.stmts[i].type, "TransactionStmt") != 0;
	for (size_t i = 0; i < s.n; i++) {
		struct stmt st;
		memset(&st, 0, sizeof st);
		st.index = i;
		st.line = s.stmts[i].line;
		st.type = xstrdup(s.stmts[i].type);
		st.node = s.stmts[i].node;
		st.src = s.text;
		note_facts(o, &st);
		seen += st.txk == TXK_NONE;
		rules_session(o, m, &st);
		rule_tx_end(o, m, &st, seen < real);
		stmt_release(&st);
	}
	sql_script_release(&s);
	for (size_t i = first; i < m->nfindings; i++)
		m->findings[i].rollback = true;
}

/* ---- records ---- */

/* a key, then its value: a number of ms (null when unknown) */
static void put_ms(struct buf *b, const char *key, double ms)
{
	buf_adds(b, key);
	if (ms < 0)
		buf_adds(b, "null");
	else
		nd_json_number(b, (double)(long long)(ms + 0.5));
}

static void put_strv(struct buf *b, const char *key, const struct strv *sv)
{
	buf_adds(b, key);
	buf_addc(b, '[');
	for (size_t i = 0; i < sv->n; i++) {
		if (i)
			buf_addc(b, ',');
		nd_json_string(b, sv->v[i]);
	}
	buf_addc(b, ']');
}

/* The statement record, written straight into the output queue (there are
 * as many as statements): the bytes cJSON would print for it. */
static void emit_statement(const struct migration *m, const struct stmt *st)
{
	struct buf *b = nd_line_begin();
	buf_adds(b, "{\"kind\":\"statement\",\"v\":1,\"migration\":");
	nd_json_string(b, m->id);
	buf_adds(b, ",\"index\":");
	nd_json_number(b, (double)st->index);
	buf_adds(b, ",\"line\":");
	nd_json_number(b, st->line);
	buf_adds(b, ",\"sql\":");
	nd_json_string_n(b, m->text + st->sql_off, st->sql_len);
	buf_adds(b, ",\"locks\":[");
	bool reads = false, writes = false;
	for (size_t i = 0; i < st->eff.nlocks; i++) {
		buf_adds(b, i ? ",{\"table\":" : "{\"table\":");
		nd_json_string(b, st->eff.locks[i].table);
		buf_adds(b, ",\"mode\":");
		nd_json_string(b, lockmode_name(st->eff.locks[i].mode));
		buf_addc(b, '}');
		bool fresh = strv_index(&st->eff.created, st->eff.locks[i].table) >= 0;
		reads |= !fresh && lockmode_blocks_reads(st->eff.locks[i].mode);
		writes |= !fresh && lockmode_blocks_writes(st->eff.locks[i].mode);
	}
	buf_addc(b, ']');
	put_strv(b, ",\"rewrites\":", &st->eff.rewrites);
	put_strv(b, ",\"scans\":", &st->eff.scans);
	put_ms(b, ",\"blocks\":{\"reads\":", reads ? st->est_lock_ms : 0);
	put_ms(b, ",\"writes\":", writes ? st->est_lock_ms : 0);
	buf_addc(b, '}');
	if (st->traced && (st->shadow_blocked_read_ms >= 0 || st->shadow_blocked_write_ms >= 0)) {
		/* measured by applyexplain */
		put_ms(b, ",\"blocked_on_shadow\":{\"reads\":", st->shadow_blocked_read_ms);
		put_ms(b, ",\"writes\":", st->shadow_blocked_write_ms);
		buf_addc(b, '}');
	}
	put_ms(b, ",\"est_ms\":", st->est_ms);
	put_ms(b, ",\"est_lock_ms\":", st->est_lock_ms);
	buf_adds(b, st->in_tx ? ",\"in_transaction\":true" : ",\"in_transaction\":false");
	buf_adds(b, st->traced ? ",\"source\":\"traced\"}" : ",\"source\":\"static\"}");
	nd_line_end();
}

static cJSON *finding_record(const struct migration *m, const struct finding *f)
{
	cJSON *o = nd_record("finding");
	cJSON_AddStringToObject(o, "rule", f->rule);
	cJSON_AddStringToObject(o, "severity", f->severity);
	cJSON_AddStringToObject(o, "migration", m->id);
	cJSON_AddNumberToObject(o, "statement", (double)f->stmt);
	cJSON_AddNumberToObject(o, "line", f->line);
	cJSON_AddStringToObject(o, "file", f->rollback && m->rollback_file ? m->rollback_file : m->file);
	if (f->rollback)
		cJSON_AddStringToObject(o, "part", "rollback");
	if (f->table)
		cJSON_AddStringToObject(o, "table", f->table);
	else
		cJSON_AddNullToObject(o, "table");
	cJSON_AddStringToObject(o, "message", f->message);
	if (f->fix)
		cJSON_AddStringToObject(o, "fix", f->fix);
	else
		cJSON_AddNullToObject(o, "fix");
	return o;
}

/* hex: lowercase hex SHA-256 of n bytes of data into out[65] */
static void hex_digest(const char *data, size_t n, char out[65])
{
	unsigned char d[SHA256_LEN];
	sha256(data, n, d);
	for (size_t i = 0; i < SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* hex_digest of a mapped file, a megabyte at a time, its pages leaving
 * memory behind the hash (memory stays bounded however long the file) */
static void hex_digest_mapped(struct mapped *f, char out[65])
{
	struct sha256 s;
	unsigned char d[SHA256_LEN];
	const size_t step = (size_t)1 << 20;
	sha256_init(&s);
	for (size_t off = 0; off < f->len; off += step) {
		size_t n = f->len - off < step ? f->len - off : step;
		sha256_update(&s, f->text + off, n);
		map_drop(f, off, off + n);
	}
	sha256_final(&s, d);
	for (size_t i = 0; i < SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static cJSON *risk_record(const struct migration *m)
{
	cJSON *o = nd_record("risk");
	cJSON_AddStringToObject(o, "migration", m->id);
	cJSON_AddStringToObject(o, "level", m->level);
	cJSON_AddNumberToObject(o, "score", m->score);
	cJSON_AddItemToObject(o, "reasons", pgv_strv_json(&m->reasons));
	cJSON *d = cJSON_AddObjectToObject(o, "digest");
	cJSON_AddStringToObject(d, "forward", m->digest_forward);
	if (m->digest_rollback[0])
		cJSON_AddStringToObject(d, "rollback", m->digest_rollback);
	else
		cJSON_AddNullToObject(d, "rollback");
	return o;
}

static void migration_release(struct migration *m)
{
	for (size_t i = 0; i < m->nwin; i++)
		stmt_release(&m->win[i]);
	for (size_t i = 0; i < m->nfindings; i++)
		finding_release(&m->findings[i]);
	free(m->win);
	free(m->findings);
	free(m->id);
	free(m->file);
	free(m->rollback_file);
	spool_release(&m->stmts);
	spool_release(&m->times);
	spool_release(&m->holds);
	spool_release(&m->found);
	strv_release(&m->reasons);
}

/* ---- main ---- */

/* Output, one migration at a time so that memory does not grow with the
 * number of migrations, nor with their length: records go to nd's queue,
 * text/github lines to the report spool (written at the end: nothing
 * reaches stdout from a run that fails); SARIF is one document, so the
 * findings of its migrations wait for the end. */
struct output {
	const struct opts *o;
	struct spool report;
	struct migration *kept; /* sarif: file and findings */
	size_t nkept, capkept;
	int worst;
};

/* spool_check: die (EXIT_RUNTIME) when s failed (spool.h): what was read
 * back from it is lost, and must not reach the output. */
static void spool_check(const struct spool *s)
{
	struct msg_err err = MSG_ERR_INIT;
	if (spool_error(s, &err) < 0)
		die_err(&err);
}

static void report_line(struct output *out, struct buf *b)
{
	spool_add(&out->report, b->s, b->len);
	buf_reset(b);
}

/* The passes after the walk: the statements in order, with how long their
 * locks are held (statement records, the migration-wide rules, the risk's
 * share of them); then every finding, finalised; then the risk. */
static void output_migration(struct output *out, struct migration *m, size_t real)
{
	const struct opts *o = out->o;
	bool nd = !strcmp(o->format, "ndjson"), sarif = !strcmp(o->format, "sarif");
	struct spool late = SPOOL_INIT, txs = SPOOL_INIT;
	size_t nlate = 0, ntxs = 0;
	struct risk rk;
	struct mrules mr;
	memset(&rk, 0, sizeof rk);
	hold_times(m);
	mrules_init(&mr, o, real);
	struct spool_cur c = {&m->stmts, 0};
	size_t dropped = 0;
	for (size_t i = 0; i < m->n; i++) {
		struct stmt st;
		load_stmt(&c, &st);
		behind(m, &dropped, st.sql_off);
		struct stmt_hold h = hold_at(m, i);
		st.est_lock_ms = h.est_lock_ms;
		mrules_stmt(&mr, o, m, &st, (size_t)h.last);
		nlate += move_findings(m, &late);
		mrules_tx(&mr, o, m, &st);
		ntxs += move_findings(m, &txs);
		risk_stmt(&rk, &st);
		if (nd)
			emit_statement(m, &st);
		stmt_release(&st);
	}
	mrules_end(&mr, o, m);
	rules_outside(o, m);
	ntxs += move_findings(m, &txs);

	struct spool *from[] = {&m->found, &late, &txs};
	size_t count[] = {m->nfound, nlate, ntxs};
	struct migration keep_sarif = {0};
	struct buf line = BUF_INIT;
	for (size_t k = 0; k < 3; k++) {
		struct spool_cur fc = {from[k], 0};
		for (size_t j = 0; j < count[k]; j++) {
			struct finding f;
			load_finding(&fc, &f);
			if (f.what)
				finding_finalise(&f, hold_at(m, f.stmt).est_lock_ms);
			risk_finding(&rk, &f);
			int r = pgv_severity_rank(f.severity);
			out->worst = r > out->worst ? r : out->worst;
			const char *file = f.rollback && m->rollback_file ? m->rollback_file : m->file;
			if (nd) {
				nd_emit(finding_record(m, &f));
			} else if (!strcmp(o->format, "text")) {
				format_text_finding(file, &f, &line);
				report_line(out, &line);
			} else if (!strcmp(o->format, "github")) {
				format_github_finding(file, &f, &line);
				report_line(out, &line);
			}
			if (sarif) {
				xgrow(&keep_sarif.findings, &keep_sarif.capfindings, keep_sarif.nfindings + 1,
				      sizeof(*keep_sarif.findings));
				keep_sarif.findings[keep_sarif.nfindings++] = f;
			} else {
				finding_release(&f);
			}
		}
	}
	risk_score(&rk, m);
	if (nd) {
		nd_emit(risk_record(m));
	} else if (!strcmp(o->format, "text")) {
		format_text_risk(m, &line);
		report_line(out, &line);
	}
	buf_release(&line);
	spool_check(&late);
	spool_check(&txs);
	spool_check(&m->stmts);
	spool_check(&m->times);
	spool_check(&m->holds);
	spool_check(&m->found);
	spool_release(&late);
	spool_release(&txs);
	if (sarif) {
		keep_sarif.file = m->file;
		m->file = NULL;
		xgrow(&out->kept, &out->capkept, out->nkept + 1, sizeof(*out->kept));
		out->kept[out->nkept++] = keep_sarif;
	}
	migration_release(m);
}

static void output_finish(struct output *out)
{
	if (strcmp(out->o->format, "ndjson")) {
		nd_discard(); /* a report, not a stream: the input records are not repeated */
		if (!strcmp(out->o->format, "sarif")) {
			struct buf doc = BUF_INIT;
			format_sarif(out->kept, out->nkept, &doc);
			report_line(out, &doc);
			buf_release(&doc);
		}
		char chunk[65536];
		for (uint64_t off = 0; off < out->report.size;) {
			size_t n = out->report.size - off < sizeof chunk ? (size_t)(out->report.size - off) : sizeof chunk;
			spool_read(&out->report, off, chunk, n);
			spool_check(&out->report);
			if (fwrite(chunk, 1, n, stdout) != n)
				die_code(EXIT_RUNTIME, "write error on stdout: %s", strerror(errno));
			off += n;
		}
	}
	struct msg_err ferr = MSG_ERR_INIT;
	if (nd_finish(&ferr) < 0)
		die_err(&ferr);
	for (size_t i = 0; i < out->nkept; i++)
		migration_release(&out->kept[i]);
	free(out->kept);
	spool_release(&out->report);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct input in = {0};
	msg_set_prog(argv[0]);
	db_hide_argv_secrets(argc, argv);
	xalloc_init_cjson();
	parse_opts(&o, argc, argv);
	catalog_init(&in.base);
	in.migrations = cJSON_CreateArray();
	in.traces = cJSON_CreateArray();
	if (!isatty(STDIN_FILENO))
		read_stdin(&in);
	if (argc - optind + cJSON_GetArraySize(in.migrations) == 0)
		usage_error("no migration: name SQL files, or pipe migration records on stdin");
	struct output out = {&o, SPOOL_INIT, NULL, 0, 0, 0};
	const cJSON *rec;
	cJSON_ArrayForEach(rec, in.migrations)
	{
		struct migration m = {0};
		const char *fw = nd_get_str(cJSON_GetObjectItemCaseSensitive(rec, "files"), "forward");
		m.id = xstrdup(nd_get_str(rec, "id"));
		m.file = xstrdup(fw ? fw : m.id);
		m.outside = cJSON_GetObjectItemCaseSensitive(rec, "outside_allow_list");
		const char *forward = nd_get_str(rec, "forward"), *rollback = nd_get_str(rec, "rollback");
		const char *rbf = nd_get_str(cJSON_GetObjectItemCaseSensitive(rec, "files"), "rollback");
		hex_digest(forward, strlen(forward), m.digest_forward);
		size_t real = run_one(&in, &o, &m, forward);
		if (rollback) {
			hex_digest(rollback, strlen(rollback), m.digest_rollback);
			m.rollback_file = xstrdup(rbf ? rbf : m.id);
			review_rollback(&o, &m, rollback);
			m.nfound += move_findings(&m, &m.found);
		}
		output_migration(&out, &m, real);
	}
	for (int i = optind; i < argc; i++) {
		struct migration m = {0};
		struct mapped text;
		struct msg_err err = MSG_ERR_INIT;
		if (map_file(argv[i], &text, &err) < 0)
			die_err(&err);
		m.id = migration_id_of_path(argv[i]);
		m.file = xstrdup(argv[i]);
		m.map = &text;
		hex_digest_mapped(&text, m.digest_forward);
		size_t real = run_one(&in, &o, &m, text.text);
		output_migration(&out, &m, real);
		map_release(&text);
	}
	int rc = o.fail_on && out.worst >= pgv_severity_rank(o.fail_on) ? EXIT_FINDINGS : EXIT_OK;
	output_finish(&out);
	cJSON_Delete(in.migrations);
	cJSON_Delete(in.traces);
	catalog_release(&in.base);
	strv_release(&o.disabled);
	return rc;
}
