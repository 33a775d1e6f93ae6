/*
 * review: the review report, written for a pull-request comment.
 *
 * Order is importance, because a cut (doc.c) drops the tail: the verdict
 * and its reasons, the statements and their locks, the findings with their
 * fixes, then the rollback check and irreversible steps, and last the
 * stream-wide parts (query plans, row counts) and how to reproduce.
 */
#include <stdlib.h>
#include <string.h>

#include "mkrunbook.h"
#include "nd.h"
#include "xalloc.h"

#define SQL_EXCERPT 90

static const char *worst_level(const struct model *m, double *score)
{
	const char *lvl = "low";
	*score = 0;
	for (size_t i = 0; i < m->n; i++) {
		const char *l = nd_get_str(m->migs[i].risk, "level");
		double s = num_or(m->migs[i].risk, "score", 0);
		if (level_rank(l) > level_rank(lvl) || (level_rank(l) == level_rank(lvl) && s > *score))
			lvl = l, *score = s;
	}
	return lvl;
}

static void join_strings(struct buf *b, const cJSON *arr, const char *sep)
{
	const cJSON *it;
	size_t n = 0;
	cJSON_ArrayForEach(it, arr) if (cJSON_IsString(it))
	{
		if (n++)
			buf_adds(b, sep);
		md_text(b, it->valuestring);
	}
	if (!n)
		buf_adds(b, "—");
}

static void blocks_cell(struct buf *b, const struct stmt *st)
{
	if (st->block_reads != 0)
		buf_adds(b, "**reads and writes**");
	else if (st->block_writes != 0)
		buf_adds(b, "**writes**");
	else if (st->nlocks)
		buf_adds(b, "schema changes only");
	else
		buf_adds(b, "—");
}

static void statement_row(struct doc *d, const struct stmt *st)
{
	struct buf r = BUF_INIT;
	buf_addf(&r, "| %ld | %ld | ", st->index, st->line);
	md_code(&r, st->sql, SQL_EXCERPT);
	buf_adds(&r, " | ");
	for (size_t k = 0; k < st->nlocks; k++) {
		buf_adds(&r, k ? "<br>" : "");
		md_text(&r, st->locks[k].table);
	}
	buf_adds(&r, st->nlocks ? " | " : "— | ");
	for (size_t k = 0; k < st->nlocks; k++)
		buf_addf(&r, "%s%s", k ? "<br>" : "", lockmode_short(st->locks[k].mode));
	buf_adds(&r, st->nlocks ? " | " : "— | ");
	blocks_cell(&r, st);
	buf_adds(&r, " | ");
	if (st->trace)
		fmt_ms(&r, st->shadow_lock_ms);
	else
		buf_adds(&r, "not traced");
	buf_adds(&r, " | ");
	fmt_ms(&r, st->est_lock_ms);
	buf_adds(&r, " | ");
	join_strings(&r, st->rewrites, ", ");
	buf_adds(&r, " |");
	doc_table_row(d, r.s);
	buf_release(&r);
}

static void statements(struct doc *d, const struct mig *g, const struct opts *o)
{
	bool fold = g->n > 15, open = true;
	if (g->n == 0) {
		doc_block(d, "No statements.\n\n");
		return;
	}
	if (fold) {
		char *s = xasprintf("All %zu statements", g->n);
		open = doc_details_open(d, s);
		free(s);
		if (!open)
			return;
	} else {
		doc_block(d, "#### Statements\n\n");
	}
	if (doc_table_open(d, "| # | line | SQL | tables | lock | blocks | held on the shadow | held in production (est.) | rewrites |",
			   "|---:|---:|---|---|---|---|---:|---:|---|")) {
		for (size_t i = 0; i < g->n; i++)
			statement_row(d, &g->stmts[i]);
		doc_table_close(d);
	}
	if (fold)
		doc_details_close(d);
	if (o->svg_url)
		doc_blockf(d, "![Lock timeline: statements along the time axis, tables down the side](%s)\n\n", o->svg_url);
}

static void finding(struct doc *d, const cJSON *f)
{
	struct buf b = BUF_INIT;
	const char *table = nd_get_str(f, "table"), *fix = nd_get_str(f, "fix");
	buf_addf(&b, "- **%s** ", nd_get_str(f, "severity"));
	md_code(&b, nd_get_str(f, "rule"), 0);
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(f, "line")))
		buf_addf(&b, " line %.0f", num_or(f, "line", 0));
	if (table) {
		buf_adds(&b, " on ");
		md_text(&b, table);
	}
	buf_adds(&b, ": ");
	md_text(&b, nd_get_str(f, "message"));
	buf_adds(&b, "\n");
	if (fix && *fix) {
		struct buf fence = BUF_INIT;
		buf_adds(&b, "\n  Fix:\n\n");
		md_fence(&fence, "text", fix);
		for (char *line = fence.s, *nl; *line; line = nl + 1) { /* indented: inside the list item */
			nl = strchr(line, '\n');
			buf_adds(&b, "  ");
			buf_add(&b, line, (size_t)(nl - line) + 1);
		}
		buf_release(&fence);
	}
	buf_adds(&b, "\n");
	doc_block(d, b.s);
	buf_release(&b);
}

static void findings(struct doc *d, const struct mig *g)
{
	if (!g->findings.n) {
		doc_block(d, "#### Findings\n\nNone: no rule fired.\n\n");
		return;
	}
	doc_blockf(d, "#### Findings (%zu)\n\n", g->findings.n);
	for (int sev = 3; sev >= 1; sev--) /* worst first, stream order within */
		for (size_t i = 0; i < g->findings.n; i++)
			if (level_rank(nd_get_str(g->findings.v[i], "severity")) == sev)
				finding(d, g->findings.v[i]);
}

static void rollback(struct doc *d, const struct mig *g)
{
	struct buf b = BUF_INIT;
	const cJSON *rc = g->rollback_check;
	const char *rb = g->rec ? nd_get_str(g->rec, "rollback") : NULL;
	buf_adds(&b, "#### Rollback\n\n");
	if (!rb || !*rb)
		buf_adds(&b, "**No rollback SQL.** Undoing this migration means a point-in-time recovery.\n\n");
	if (!rc)
		buf_adds(&b, "Rollback check: **not run** (no `rollback_check` record in the stream).\n\n");
	else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rc, "ok")))
		buf_adds(&b, "Rollback check: **passed** on the shadow: forward then rollback leaves the schema as it was.\n\n");
	else {
		const cJSON *it;
		buf_adds(&b, "Rollback check: **failed** on the shadow: forward then rollback does not restore the schema.\n\n");
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(rc, "differences"))
		{
			buf_adds(&b, "- ");
			if (cJSON_IsString(it))
				md_text(&b, it->valuestring);
			else {
				char *s = cJSON_PrintUnformatted(it);
				md_code(&b, s, 200);
				free(s);
			}
			buf_adds(&b, "\n");
		}
		buf_adds(&b, "\n");
	}
	doc_block(d, b.s);
	buf_reset(&b);
	const cJSON *irr = g->rec ? cJSON_GetObjectItemCaseSensitive(g->rec, "irreversible") : NULL, *it;
	buf_adds(&b, "#### Irreversible steps\n\n");
	if (!g->rec)
		buf_adds(&b, "Unknown: the stream has no `migration` record for this migration.\n\n");
	else if (!cJSON_GetArraySize(irr))
		buf_adds(&b, "None reported.\n\n");
	else {
		cJSON_ArrayForEach(it, irr) if (cJSON_IsString(it))
		{
			buf_adds(&b, "- ");
			md_text(&b, it->valuestring);
			buf_adds(&b, "\n");
		}
		buf_adds(&b, "\n");
	}
	doc_block(d, b.s);
	buf_release(&b);
}

/* superuser_steps: what applyexplain did as the shadow's superuser in
 * the migration's place (an untrusted extension), named for the reviewer. */
static void superuser_steps(struct buf *b, const struct mig *g)
{
	bool any = false;
	for (size_t k = 0; k < g->n; k++) {
		const char *why = g->stmts[k].trace ? nd_get_str(g->stmts[k].trace, "superuser") : NULL;
		if (!why)
			continue;
		if (!any)
			buf_adds(b, "Done as the shadow's superuser, not by the migration's role:\n\n");
		any = true;
		buf_addf(b, "- statement %ld (line %ld): ", g->stmts[k].index, g->stmts[k].line);
		md_code(b, g->stmts[k].sql, SQL_EXCERPT);
		buf_adds(b, ": ");
		md_text(b, why);
		buf_adds(b, "\n");
	}
	if (any)
		buf_adds(b, "\n");
}

static void migration(struct doc *d, const struct mig *g, const struct opts *o)
{
	struct buf b = BUF_INIT;
	bool reads, writes;
	double worst = mig_longest_lock_ms(g, &reads, &writes);
	buf_adds(&b, "### ");
	md_code(&b, g->id, 0);
	buf_addf(&b, ": risk **%s** (%.0f/100)\n\n", nd_get_str(g->risk, "level"), num_or(g->risk, "score", 0));
	buf_addf(&b, "%zu statement%s; estimated run time in production ", g->n, g->n == 1 ? "" : "s");
	fmt_ms(&b, mig_total_ms(g));
	if (reads || writes) {
		buf_addf(&b, "; blocks %s for up to ", reads ? "reads and writes" : "writes");
		fmt_ms(&b, worst);
	} else {
		buf_adds(&b, "; blocks no reads or writes of existing tables");
	}
	buf_adds(&b, ".\n\n");
	const cJSON *it, *reasons = cJSON_GetObjectItemCaseSensitive(g->risk, "reasons");
	cJSON_ArrayForEach(it, reasons) if (cJSON_IsString(it))
	{
		buf_adds(&b, "- ");
		md_text(&b, it->valuestring);
		buf_adds(&b, "\n");
	}
	if (cJSON_GetArraySize(reasons))
		buf_adds(&b, "\n");
	superuser_steps(&b, g);
	doc_block(d, b.s);
	buf_release(&b);
	statements(d, g, o);
	findings(d, g);
	rollback(d, g);
}

static void str_set_diff(struct buf *b, const cJSON *want, const cJSON *minus)
{
	const cJSON *it, *jt;
	size_t n = 0;
	cJSON_ArrayForEach(it, want) if (cJSON_IsString(it))
	{
		bool found = false;
		cJSON_ArrayForEach(jt, minus) found |= cJSON_IsString(jt) && !strcmp(jt->valuestring, it->valuestring);
		if (found)
			continue;
		buf_adds(b, n++ ? ", " : "");
		md_text(b, it->valuestring);
	}
	if (!n)
		buf_adds(b, "—");
}

static void num_pair(struct buf *b, const cJSON *before, const cJSON *after, const char *key, bool ms)
{
	double x = num_or(before, key, -1), y = after ? num_or(after, key, -1) : -1;
	if (ms)
		fmt_ms(b, x);
	else if (x < 0)
		buf_adds(b, "?");
	else
		buf_addf(b, "%.1f", x);
	buf_adds(b, " → ");
	if (ms)
		fmt_ms(b, y);
	else if (y < 0)
		buf_adds(b, "?");
	else
		buf_addf(b, "%.1f", y);
}

static void plans(struct doc *d, const struct model *m)
{
	size_t regressed = 0;
	for (size_t i = 0; i < m->plans.n; i++)
		regressed += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m->plans.v[i], "regressions")) > 0;
	if (!m->plans.n) {
		doc_block(d, "### Query plans\n\nNot compared: no `plan` records in the stream.\n\n");
		return;
	}
	doc_blockf(d, "### Query plans\n\n%zu quer%s compared before and after on the shadow; **%zu with regressions**.\n\n",
		   m->plans.n, m->plans.n == 1 ? "y" : "ies", regressed);
	char *s = xasprintf("Plan changes (%zu queries)", m->plans.n);
	bool open = doc_details_open(d, s);
	free(s);
	if (!open)
		return;
	if (doc_table_open(d, "| query | calls | cost before → after | time before → after | new sequential scans | lost indexes | regressions |",
			   "|---|---:|---|---|---|---|---|")) {
		for (size_t i = 0; i < m->plans.n; i++) {
			const cJSON *p = m->plans.v[i];
			const cJSON *bf = cJSON_GetObjectItemCaseSensitive(p, "before");
			const cJSON *af = cJSON_GetObjectItemCaseSensitive(p, "after");
			struct buf r = BUF_INIT;
			buf_adds(&r, "| ");
			md_code(&r, nd_get_str(p, "query"), 70);
			buf_adds(&r, " | ");
			if (num_or(p, "calls", -1) >= 0)
				fmt_rows(&r, num_or(p, "calls", 0));
			else
				buf_adds(&r, "—");
			buf_adds(&r, " | ");
			num_pair(&r, bf, cJSON_IsObject(af) ? af : NULL, "cost", false);
			buf_adds(&r, " | ");
			num_pair(&r, bf, cJSON_IsObject(af) ? af : NULL, "ms", true);
			buf_adds(&r, " | ");
			str_set_diff(&r, cJSON_GetObjectItemCaseSensitive(af, "seq_scans"),
				     cJSON_GetObjectItemCaseSensitive(bf, "seq_scans"));
			buf_adds(&r, " | ");
			str_set_diff(&r, cJSON_GetObjectItemCaseSensitive(bf, "indexes"),
				     cJSON_GetObjectItemCaseSensitive(af, "indexes"));
			buf_adds(&r, " | ");
			join_strings(&r, cJSON_GetObjectItemCaseSensitive(p, "regressions"), "; ");
			buf_adds(&r, " |");
			doc_table_row(d, r.s);
			buf_release(&r);
		}
		doc_table_close(d);
	}
	doc_details_close(d);
}

static double table_rows(const struct model *m, const char *name)
{
	for (size_t i = 0; i < m->tables.n; i++)
		if (!strcmp(nd_get_str(m->tables.v[i], "name"), name))
			return num_or(m->tables.v[i], "rows", -1);
	return -1;
}

static void row_counts(struct doc *d, const struct model *m)
{
	double pct = m->shadow ? num_or(m->shadow, "sample_percent", -1) : -1;
	doc_block(d, "### Row counts\n\n");
	if (!m->samples.n && !m->tables.n) {
		doc_block(d, "Unknown: no `sample` or `table` records in the stream.\n\n");
		return;
	}
	if (!m->samples.n)
		doc_block(d, "No shadow sample in the stream: production estimates from the schema only.\n\n");
	else if (pct > 0)
		doc_blockf(d, "The shadow holds a %g%% sample of production (masked before it left production).\n\n", pct);
	size_t n = m->samples.n ? m->samples.n : m->tables.n;
	char *s = xasprintf("Rows per table (%zu tables)", n);
	bool open = doc_details_open(d, s);
	free(s);
	if (!open)
		return;
	if (doc_table_open(d, "| table | production | shadow | masked columns |", "|---|---:|---:|---|")) {
		for (size_t i = 0; i < n; i++) {
			const cJSON *r = m->samples.n ? m->samples.v[i] : m->tables.v[i];
			const char *t = nd_get_str(r, m->samples.n ? "table" : "name");
			struct buf b = BUF_INIT;
			buf_adds(&b, "| ");
			md_text(&b, t);
			buf_adds(&b, " | ");
			double prod = m->samples.n ? num_or(r, "source_rows", -1) : num_or(r, "rows", -1);
			fmt_rows(&b, prod >= 0 ? prod : table_rows(m, t));
			buf_adds(&b, " | ");
			if (m->samples.n)
				fmt_rows(&b, num_or(r, "rows", -1));
			else
				buf_adds(&b, "—");
			buf_adds(&b, " | ");
			join_strings(&b, m->samples.n ? cJSON_GetObjectItemCaseSensitive(r, "masked_columns") : NULL, ", ");
			buf_adds(&b, " |");
			doc_table_row(d, b.s);
			buf_release(&b);
		}
		doc_table_close(d);
	}
	doc_details_close(d);
}

static void sh_quote(struct buf *b, const char *s)
{
	buf_addc(b, '\'');
	for (; *s; s++)
		if (*s == '\'')
			buf_adds(b, "'\\''");
		else
			buf_addc(b, *s);
	buf_addc(b, '\'');
}

static void reproduce(struct doc *d, const struct model *m)
{
	struct buf b = BUF_INIT, src = BUF_INIT;
	const char *fmt = m->source ? nd_get_str(m->source, "format") : NULL;
	const char *path = m->source ? nd_get_str(m->source, "path") : NULL;
	if (!fmt || !strcmp(fmt, "db") || !path)
		buf_adds(&src, "bin/schema2dag --db \"$DATABASE_URL\"");
	else {
		buf_addf(&src, "bin/schema2dag --%s ", !strcmp(fmt, "sql") ? "sql" : fmt);
		sh_quote(&src, path);
	}
	buf_adds(&b, "# the schema, read the way this review read it\n");
	buf_addf(&b, "%s > dag.ndjson\n", src.s);
	for (size_t i = 0; i < m->n; i++) {
		if (m->shadow) {
			buf_adds(&b, "# with a shadow database, as this review ran (options as in your CI workflow)\n");
			buf_adds(&b, "bin/mkshadow < dag.ndjson | bin/applyexplain | bin/lockscore ");
		} else {
			buf_adds(&b, "bin/lockscore ");
		}
		if (m->migs[i].file)
			sh_quote(&b, m->migs[i].file);
		else {
			char *f = xasprintf("%s.sql", m->migs[i].id);
			sh_quote(&b, f);
			free(f);
		}
		buf_adds(&b, m->shadow ? " | bin/mkrunbook --review\n" : " < dag.ndjson | bin/mkrunbook --review\n");
	}
	struct buf out = BUF_INIT;
	md_fence(&out, "sh", b.s);
	buf_adds(&out, "\n");
	if (doc_details_open(d, "Reproduce this review locally")) {
		doc_block(d, out.s);
		doc_details_close(d);
	}
	buf_release(&out);
	buf_release(&b);
	buf_release(&src);
}

char *review_doc(const struct model *m, const struct opts *o)
{
	struct doc d;
	double score;
	doc_init(&d, o->max_chars);
	const char *lvl = worst_level(m, &score);
	doc_blockf(&d, "<!-- %s -->\n", o->marker);
	doc_blockf(&d, "## Migration review: risk **%s** (%.0f/100)\n\n", lvl, score);
	if (m->n > 1)
		doc_blockf(&d, "%zu migrations; the worst decides.\n\n", m->n);
	for (size_t i = 0; i < m->n; i++)
		migration(&d, &m->migs[i], o);
	plans(&d, m);
	row_counts(&d, m);
	reproduce(&d, m);
	doc_block(&d, "<sub>migsafe mkrunbook: lock modes as PostgreSQL's pg_locks; production times are estimates scaled from the shadow or from row counts.</sub>\n");
	char *note = xasprintf("This report was longer than %zu characters (GitHub's comment limit is 65,536); "
			       "%zu part%s left out. Run `mkrunbook --review` on the CI artifacts for the whole report.",
			       o->max_chars, d.dropped, d.dropped == 1 ? " was" : "s were");
	char *s = doc_finish(&d, note);
	free(note);
	return s;
}
