/*
 * svg: the lock timeline. Statements run along the time axis (each as wide
 * as its estimated production time, with a minimum so none vanishes),
 * tables go down the side, and each cell is coloured by the strongest lock
 * the migration holds on that table at that moment: a lock taken inside a
 * transaction stays until the transaction ends. Plain SVG 1.1, no script,
 * no external reference, every text XML-escaped.
 */
#include <stdlib.h>
#include <string.h>

#include "mkrunbook.h"
#include "xalloc.h"

#define PLOT_W 760.0
#define MIN_COL 36.0
#define ROW_H 22
#define TOP 46

static void xml_text(struct buf *b, const char *s)
{
	for (; s && *s; s++)
		switch (*s) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\n':
		case '\r':
		case '\t': buf_addc(b, ' '); break;
		default:
			if ((unsigned char)*s >= 0x20)
				buf_addc(b, *s);
		}
}

/* Wide enough for every statement's label: many statements widen it. */
static double plot_width(const struct mig *g)
{
	return MIN_COL * (double)g->n > PLOT_W ? MIN_COL * (double)g->n : PLOT_W;
}

/* Column widths from the estimates; x[i] is where statement i starts. */
static void columns(const struct mig *g, double *x, double *w)
{
	double total = 0;
	for (size_t i = 0; i < g->n; i++)
		total += g->stmts[i].est_ms > 0 ? g->stmts[i].est_ms : 0;
	double spare = plot_width(g) - MIN_COL * (double)g->n;
	for (size_t i = 0; i < g->n; i++) {
		double ms = g->stmts[i].est_ms > 0 ? g->stmts[i].est_ms : 0;
		w[i] = MIN_COL + (total > 0 ? spare * ms / total : spare / (double)g->n);
		x[i] = i ? x[i - 1] + w[i - 1] : 0;
	}
}

/* Whether statement i starts a transaction (or runs on its own). */
static bool tx_start(const struct mig *g, size_t i)
{
	return i == 0 || !g->stmts[i].in_tx || !g->stmts[i - 1].in_tx;
}

static int lock_on(const struct stmt *st, const char *t)
{
	int mode = 0;
	for (size_t k = 0; k < st->nlocks; k++)
		if (!strcmp(st->locks[k].table, t) && st->locks[k].mode > mode)
			mode = st->locks[k].mode;
	return mode;
}

/* One table's row: the strongest mode held as each statement runs (a lock
 * stays until its transaction ends), one rectangle per run of equal mode. */
static void table_row(struct buf *b, const struct mig *g, const char *t, const double *x, const double *w,
		      double label_w, double y, bool *used)
{
	int held = 0, run_mode = 0;
	size_t run_start = 0;
	for (size_t i = 0; i <= g->n; i++) {
		if (i < g->n) {
			if (tx_start(g, i))
				held = 0;
			int m = lock_on(&g->stmts[i], t);
			held = m > held ? m : held;
		}
		if (i < g->n && held == run_mode)
			continue;
		if (run_mode) { /* close the run [run_start, i) */
			used[run_mode] = true;
			buf_addf(b, "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>",
				 label_w + x[run_start], y, x[i - 1] + w[i - 1] - x[run_start], ROW_H - 4,
				 lockmode_colour(run_mode));
			xml_text(b, t);
			buf_addf(b, ": %s during statements %ld to %ld</title></rect>\n", lockmode_name(run_mode),
				 g->stmts[run_start].index, g->stmts[i - 1].index);
		}
		run_mode = i < g->n ? held : 0;
		run_start = i;
	}
}

static void legend(struct buf *b, double y, const bool *used)
{
	double x = 0;
	for (int mode = 1; mode <= 8; mode++) {
		if (!used[mode])
			continue;
		buf_addf(b, "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" fill=\"%s\"/>", x, y, lockmode_colour(mode));
		buf_addf(b, "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", x + 16, y + 10, lockmode_short(mode));
		x += 30 + 7.0 * (double)strlen(lockmode_short(mode));
	}
}

static void migration(struct buf *b, const struct mig *g, double y0, double label_w, bool *used)
{
	struct strv tables = STRV_INIT;
	double *x = xcalloc(g->n + 1, sizeof(double)), *w = xcalloc(g->n + 1, sizeof(double));
	mig_tables(g, &tables);
	columns(g, x, w);
	buf_adds(b, "<text x=\"0\" y=\"");
	buf_addf(b, "%.0f\" font-weight=\"bold\">", y0 + 14);
	xml_text(b, g->id);
	buf_adds(b, "</text>\n");
	double top = y0 + 24;
	for (size_t r = 0; r < tables.n; r++) {
		double y = top + (double)r * ROW_H;
		buf_addf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">", label_w - 6, y + 15);
		xml_text(b, tables.v[r]);
		buf_adds(b, "</text>\n");
		buf_addf(b, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%d\" fill=\"#f4f4f4\"/>\n", label_w, y,
			 x[g->n ? g->n - 1 : 0] + (g->n ? w[g->n - 1] : 0), ROW_H - 4);
		table_row(b, g, tables.v[r], x, w, label_w, y, used);
	}
	double axis = top + (double)tables.n * ROW_H + 4;
	for (size_t i = 0; i < g->n; i++) {
		struct buf t = BUF_INIT;
		fmt_ms(&t, g->stmts[i].est_ms);
		buf_addf(b, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#888\"/>", label_w + x[i], top - 2,
			 label_w + x[i], axis + 4);
		buf_addf(b, "<text x=\"%.1f\" y=\"%.0f\">#%ld<title>", label_w + x[i] + 3, axis + 16, g->stmts[i].index);
		xml_text(b, g->stmts[i].sql);
		buf_addf(b, " (%s)</title></text>\n", t.s);
		buf_release(&t);
	}
	struct buf tot = BUF_INIT;
	fmt_ms(&tot, mig_total_ms(g));
	buf_addf(b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\" fill=\"#555\">time → total %s (production estimate)</text>\n",
		 label_w + plot_width(g), axis + 32, tot.s);
	buf_release(&tot);
	free(x);
	free(w);
	strv_release(&tables);
}

static double mig_height(const struct mig *g)
{
	struct strv t = STRV_INIT;
	mig_tables(g, &t);
	double h = 24 + (double)t.n * ROW_H + 48;
	strv_release(&t);
	return h;
}

char *svg_timeline(const struct model *m)
{
	struct buf b = BUF_INIT, body = BUF_INIT;
	bool used[9] = {false};
	size_t longest = 8;
	for (size_t i = 0; i < m->n; i++) {
		struct strv t = STRV_INIT;
		mig_tables(&m->migs[i], &t);
		for (size_t k = 0; k < t.n; k++)
			if (strlen(t.v[k]) > longest)
				longest = strlen(t.v[k]);
		strv_release(&t);
	}
	double label_w = 12 + 7.2 * (double)longest, y = TOP, plot_w = PLOT_W;
	for (size_t i = 0; i < m->n; i++)
		if (plot_width(&m->migs[i]) > plot_w)
			plot_w = plot_width(&m->migs[i]);
	for (size_t i = 0; i < m->n; i++) {
		migration(&body, &m->migs[i], y, label_w, used);
		y += mig_height(&m->migs[i]);
	}
	legend(&body, y, used);
	buf_addf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		     "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" height=\"%.0f\" "
		     "viewBox=\"-10 0 %.0f %.0f\" font-family=\"monospace\" font-size=\"12\">\n",
		 label_w + plot_w + 20, y + 30, label_w + plot_w + 20, y + 30);
	buf_adds(&b, "<title>Lock timeline</title>\n<text x=\"0\" y=\"20\" font-size=\"15\" font-weight=\"bold\">"
		     "Lock timeline: the strongest lock held on each table, statement by statement</text>\n");
	buf_add(&b, body.s, body.len);
	buf_adds(&b, "</svg>\n");
	buf_release(&body);
	return buf_detach(&b);
}
