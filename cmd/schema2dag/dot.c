/*
 * dot: the catalog as a Graphviz ER diagram (schema2dag --format dot).
 *
 * One node per table: an HTML-like label listing its columns with their
 * types, primary-key columns in bold and marked PK, foreign-key columns
 * marked FK. Foreign keys are edges from the referencing column to the
 * referenced one, labelled with the key's columns (and its ON DELETE action
 * when there is one; dashed while NOT VALID). Views are dashed boxes with
 * dashed edges to what they read; enums small filled boxes, with dotted
 * edges from the columns of that type; partitions dotted edges to their
 * parent. Node ids are the qnames, so the output is stable and greppable.
 *
 * Text reaches Graphviz two ways, each escaped its own way: node ids as DOT
 * quoted strings (dot_id) and everything shown as HTML-like labels
 * (html_add).
 */
#include <stdlib.h>
#include <string.h>

#include "schema2dag.h"
#include "xalloc.h"

#define ENUM_MAX_VALUES 12 /* an enum node lists at most this many values */

/* dot_id: s as a DOT quoted string. Only \" is an escape there, but a
 * backslash is doubled so that one at the end cannot swallow the quote. */
static void dot_id(struct buf *out, const char *s)
{
	buf_addc(out, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_addc(out, '\\');
		buf_addc(out, *s);
	}
	buf_addc(out, '"');
}

/* html_add: s as text of an HTML-like label. */
static void html_add(struct buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_adds(out, "&amp;"); break;
		case '<': buf_adds(out, "&lt;"); break;
		case '>': buf_adds(out, "&gt;"); break;
		case '"': buf_adds(out, "&quot;"); break;
		case '\n': buf_adds(out, "&#10;"); break;
		default: buf_addc(out, *s);
		}
	}
}

/* endpoint: a column's port when the column is known, else the node.
 * Every column row has two ports: "inN" on its left cell, where edges
 * arrive, and "outN" on its right cell, where they leave; so lines run left
 * to right without crossing the row. */
static void endpoint(struct buf *out, const struct catalog *c, const char *qname, const char *col, bool tail)
{
	dot_id(out, qname);
	const struct cat_table *t = col ? catalog_table_q(c, qname) : NULL;
	for (size_t i = 0; t && i < t->ncols; i++)
		if (!strcmp(t->cols[i].name, col)) {
			buf_addf(out, tail ? ":out%zu:e" : ":in%zu:w", i);
			return;
		}
}

static bool is_fk_column(const struct catalog *c, const struct cat_table *t, const char *col)
{
	for (size_t i = 0; i < c->nfks; i++)
		if (!strcmp(c->fks[i]->table, t->qname) && strv_index(&c->fks[i]->columns, col) >= 0)
			return true;
	return false;
}

static void table_title(struct buf *out, const struct cat_table *t)
{
	buf_adds(out, "<TR><TD COLSPAN=\"3\" BGCOLOR=\"#d5e3f0\"><B>");
	html_add(out, t->qname);
	buf_adds(out, "</B>");
	if (t->partition_by || t->unlogged || t->rows >= 0) {
		buf_adds(out, "<BR/><FONT POINT-SIZE=\"8\">");
		if (t->partition_by)
			buf_addf(out, "partitioned by %s ", t->partition_by);
		if (t->unlogged)
			buf_adds(out, "unlogged ");
		if (t->rows >= 0)
			buf_addf(out, "~%.0f rows", t->rows);
		buf_adds(out, "</FONT>");
	}
	buf_adds(out, "</TD></TR>\n");
}

static void table_node(struct buf *out, const struct catalog *c, const struct cat_table *t)
{
	buf_adds(out, "\t");
	dot_id(out, t->qname);
	buf_adds(out, " [label=<\n"
		      "<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"0\" CELLPADDING=\"3\">\n");
	table_title(out, t);
	for (size_t i = 0; i < t->ncols; i++) {
		const struct cat_column *col = &t->cols[i];
		bool pk = strv_index(&t->pk, col->name) >= 0, fk = is_fk_column(c, t, col->name);
		buf_addf(out, "<TR><TD PORT=\"in%zu\" ALIGN=\"LEFT\">%s", i, pk ? "<B>" : "");
		html_add(out, col->name);
		buf_addf(out, "%s</TD><TD ALIGN=\"LEFT\">", pk ? "</B>" : "");
		html_add(out, col->type);
		if (!col->nullable)
			buf_adds(out, " <FONT COLOR=\"#777777\">not null</FONT>");
		buf_addf(out, "</TD><TD PORT=\"out%zu\">%s%s%s</TD></TR>\n", i, pk ? "PK" : "",
			 pk && fk ? " " : "", fk ? "FK" : "");
	}
	if (t->ncols == 0)
		buf_adds(out, "<TR><TD COLSPAN=\"3\"><I>no columns</I></TD></TR>\n");
	buf_adds(out, "</TABLE>>];\n");
}

static void fk_edge(struct buf *out, const struct catalog *c, const struct cat_fk *fk)
{
	buf_adds(out, "\t");
	endpoint(out, c, fk->table, fk->columns.n ? fk->columns.v[0] : NULL, true);
	buf_adds(out, " -> ");
	endpoint(out, c, fk->ref_table, fk->ref_columns.n ? fk->ref_columns.v[0] : NULL, false);
	char *cols = strv_join(&fk->columns, ", ");
	buf_adds(out, " [label=<");
	html_add(out, cols);
	if (strcmp(fk->on_delete, "no action")) {
		buf_adds(out, "<BR/><FONT POINT-SIZE=\"8\">on delete ");
		html_add(out, fk->on_delete);
		buf_adds(out, "</FONT>");
	}
	buf_addf(out, ">%s];\n", fk->validated ? "" : ", style=dashed");
	free(cols);
}

static void view_node(struct buf *out, const struct cat_view *v)
{
	buf_adds(out, "\t");
	dot_id(out, v->qname);
	buf_adds(out, " [shape=box, style=\"dashed,rounded\", label=<<B>");
	html_add(out, v->qname);
	buf_addf(out, "</B><BR/><I>%s</I>>];\n", v->materialized ? "materialized view" : "view");
	for (size_t i = 0; i < v->depends_on.n; i++) {
		buf_adds(out, "\t");
		dot_id(out, v->qname);
		buf_adds(out, " -> ");
		dot_id(out, v->depends_on.v[i]);
		buf_adds(out, " [style=dashed];\n");
	}
}

static void enum_node(struct buf *out, const struct cat_enum *e)
{
	buf_adds(out, "\t");
	dot_id(out, e->qname);
	buf_adds(out, " [shape=box, style=\"rounded,filled\", fillcolor=\"#f3ecd9\", fontsize=8, label=<<B>");
	html_add(out, e->qname);
	buf_adds(out, "</B><BR/>");
	for (size_t i = 0; i < e->values.n && i < ENUM_MAX_VALUES; i++) {
		buf_adds(out, i ? " | " : "");
		html_add(out, e->values.v[i]);
	}
	if (e->values.n > ENUM_MAX_VALUES)
		buf_addf(out, " | ... (%zu more)", e->values.n - ENUM_MAX_VALUES);
	buf_adds(out, ">];\n");
}

/* enum_edges: a dotted edge from every column whose type is e (or an array
 * of it) to e. */
static void enum_edges(struct buf *out, const struct catalog *c, const struct cat_enum *e)
{
	char *scalar = cat_type_name(e->schema, e->name, false);
	char *array = cat_type_name(e->schema, e->name, true);
	for (size_t i = 0; i < c->ntables; i++) {
		const struct cat_table *t = c->tables[i];
		for (size_t k = 0; k < t->ncols; k++) {
			if (strcmp(t->cols[k].type, scalar) && strcmp(t->cols[k].type, array))
				continue;
			buf_adds(out, "\t");
			endpoint(out, c, t->qname, t->cols[k].name, true);
			buf_adds(out, " -> ");
			dot_id(out, e->qname);
			buf_adds(out, " [style=dotted, arrowhead=none];\n");
		}
	}
	free(scalar);
	free(array);
}

static void partition_edge(struct buf *out, const struct cat_table *t)
{
	buf_adds(out, "\t");
	dot_id(out, t->qname);
	buf_adds(out, " -> ");
	dot_id(out, t->partition_of);
	buf_adds(out, " [style=dotted, label=<<I>partition of</I>>];\n");
}

void dot_write(const struct catalog *c, struct buf *out)
{
	buf_adds(out, "digraph schema {\n"
		      "\tgraph [rankdir=LR, fontname=\"Helvetica\", nodesep=0.4, ranksep=1.2];\n"
		      "\tnode [shape=plaintext, fontname=\"Helvetica\", fontsize=10];\n"
		      "\tedge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];\n");
	for (size_t i = 0; i < c->nenums; i++)
		enum_node(out, c->enums[i]);
	for (size_t i = 0; i < c->ntables; i++)
		table_node(out, c, c->tables[i]);
	for (size_t i = 0; i < c->nviews; i++)
		view_node(out, c->views[i]);
	for (size_t i = 0; i < c->nfks; i++)
		fk_edge(out, c, c->fks[i]);
	for (size_t i = 0; i < c->ntables; i++)
		if (c->tables[i]->partition_of)
			partition_edge(out, c->tables[i]);
	for (size_t i = 0; i < c->nenums; i++)
		enum_edges(out, c, c->enums[i]);
	buf_adds(out, "}\n");
}
