/*
 * doc: Markdown that survives GitHub and any CommonMark parser.
 *
 * The budget: a GitHub comment holds 65,536 characters. A document is built
 * block by block; once a block does not fit, it and everything after it is
 * left out, except what closes what is open (the tag of a <details>, the
 * blank line after a table), whose room was reserved when it opened. So a
 * cut never leaves a half table, an unclosed <details> or a broken fence.
 * Sizes are counted in bytes, which is never less than characters.
 * Control characters (from SQL, records or a model) never reach the
 * document raw: every block is cleaned (doc_clean) before it is counted.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mkrunbook.h"
#include "pgvocab.h"
#include "xalloc.h"

#define NOTE_ROOM 600 /* the truncation note at the end */
static const char details_close[] = "</details>\n\n";
static const char rows_note[] = "*%zu more rows of this table left out: the report was too long.*\n\n";
#define ROWS_NOTE_ROOM 80

static char *table_header; /* the header of the open table, not yet written */
static size_t table_rows_dropped;
static bool table_started;

void doc_init(struct doc *d, size_t limit)
{
	memset(d, 0, sizeof(*d));
	buf_init(&d->b);
	d->limit = limit;
}

static bool fits(const struct doc *d, size_t n)
{
	return !d->limit || d->b.len + n + d->reserve + NOTE_ROOM <= d->limit;
}

/* doc_clean: text with every control character made visible
 * (buf_add_visible: ESC as \x1b), NULL when it holds none. The document is
 * printed on terminals (pipeline.sh cats review.md) and the SQL and
 * messages in it come from files, records and models: ESC [2J must stay
 * text. Markdown renders "\x1b" as it is written. */
static char *doc_clean(const char *text)
{
	size_t n = strlen(text);
	if (text_visible(text, n))
		return NULL;
	struct buf b = BUF_INIT;
	buf_init(&b);
	buf_add_visible(&b, text, n);
	return buf_detach(&b);
}

bool doc_block(struct doc *d, const char *text)
{
	char *clean = doc_clean(text);
	if (clean)
		text = clean;
	size_t n = strlen(text);
	bool ok = !d->full && fits(d, n);
	if (ok)
		buf_add(&d->b, text, n);
	else
		d->full = true, d->dropped++;
	free(clean);
	return ok;
}

bool doc_blockf(struct doc *d, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	bool ok = doc_block(d, s);
	free(s);
	return ok;
}

bool doc_details_open(struct doc *d, const char *summary)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "<details>\n<summary>");
	html_text(&b, summary);
	buf_adds(&b, "</summary>\n\n");
	d->reserve += strlen(details_close);
	bool ok = doc_block(d, b.s);
	if (!ok)
		d->reserve -= strlen(details_close);
	buf_release(&b);
	return ok;
}

void doc_details_close(struct doc *d)
{
	d->reserve -= strlen(details_close);
	buf_adds(&d->b, details_close);
}

bool doc_table_open(struct doc *d, const char *header, const char *align)
{
	if (d->full) {
		d->dropped++;
		return false;
	}
	char *h = xasprintf("%s\n%s\n", header, align);
	table_header = doc_clean(h);
	if (table_header)
		free(h);
	else
		table_header = h;
	table_rows_dropped = 0;
	table_started = false;
	d->reserve += 1 + ROWS_NOTE_ROOM;
	return true;
}

bool doc_table_row(struct doc *d, const char *row)
{
	char *clean = doc_clean(row);
	if (clean)
		row = clean;
	size_t hn = table_started ? 0 : strlen(table_header), n = strlen(row) + 1;
	bool ok = !d->full && fits(d, hn + n);
	if (ok) {
		if (!table_started)
			buf_adds(&d->b, table_header);
		table_started = true;
		buf_adds(&d->b, row);
		buf_addc(&d->b, '\n');
	} else {
		d->full = true;
		table_rows_dropped++;
	}
	free(clean);
	return ok;
}

void doc_table_close(struct doc *d)
{
	d->reserve -= 1 + ROWS_NOTE_ROOM;
	if (table_started) {
		buf_addc(&d->b, '\n');
		if (table_rows_dropped)
			buf_addf(&d->b, rows_note, table_rows_dropped);
	} else {
		d->dropped++;
	}
	free(table_header);
	table_header = NULL;
}

char *doc_finish(struct doc *d, const char *note)
{
	if (d->full && note) {
		buf_adds(&d->b, "---\n\n> **Truncated.** ");
		buf_adds(&d->b, note);
		buf_adds(&d->b, "\n");
	}
	while (d->b.len >= 2 && d->b.s[d->b.len - 1] == '\n' && d->b.s[d->b.len - 2] == '\n')
		d->b.s[--d->b.len] = '\0';
	return buf_detach(&d->b);
}

/* ---- escaping ---- */

void md_text(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\n' || *s == '\r' || *s == '\t')
			buf_addc(b, ' ');
		else if (strchr("\\`*_[]<>|#~&!", *s))
			buf_addc(b, '\\'), buf_addc(b, *s);
		else
			buf_addc(b, *s);
	}
}

void html_text(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '\n': buf_addc(b, ' '); break;
		default: buf_addc(b, *s);
		}
	}
}

static size_t longest_run(const char *s, char c)
{
	size_t best = 0, run = 0;
	for (; s && *s; s++) {
		run = *s == c ? run + 1 : 0;
		if (run > best)
			best = run;
	}
	return best;
}

/* md_code: s on one line (whitespace runs squeezed), cut at max bytes on a
 * character boundary with an ellipsis; '|' escaped, as a table cell needs
 * (GitHub removes the backslash inside a code span in a table). */
void md_code(struct buf *b, const char *s, size_t max)
{
	struct buf t = BUF_INIT;
	buf_adds(&t, "");
	for (const char *p = s; p && *p; p++) {
		bool sp = *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r';
		if (sp && (t.len == 0 || t.s[t.len - 1] == ' '))
			continue;
		buf_addc(&t, sp ? ' ' : *p);
	}
	while (t.len && t.s[t.len - 1] == ' ')
		t.s[--t.len] = '\0';
	if (max && t.len > max) {
		size_t n = max;
		while (n > 0 && ((unsigned char)t.s[n] & 0xC0) == 0x80)
			n--;
		t.len = n;
		t.s[n] = '\0';
		buf_adds(&t, "…");
	}
	size_t ticks = longest_run(t.s, '`') + 1;
	bool pad = t.len && (t.s[0] == '`' || t.s[t.len - 1] == '`');
	for (size_t i = 0; i < ticks; i++)
		buf_addc(b, '`');
	if (pad)
		buf_addc(b, ' ');
	for (const char *p = t.s; *p; p++) {
		if (*p == '|')
			buf_addc(b, '\\');
		buf_addc(b, *p);
	}
	if (pad)
		buf_addc(b, ' ');
	for (size_t i = 0; i < ticks; i++)
		buf_addc(b, '`');
	buf_release(&t);
}

void md_fence(struct buf *b, const char *lang, const char *s)
{
	size_t ticks = longest_run(s, '`') + 1;
	if (ticks < 3)
		ticks = 3;
	for (size_t i = 0; i < ticks; i++)
		buf_addc(b, '`');
	buf_adds(b, lang ? lang : "");
	buf_addc(b, '\n');
	buf_adds(b, s);
	if (!*s || s[strlen(s) - 1] != '\n')
		buf_addc(b, '\n');
	for (size_t i = 0; i < ticks; i++)
		buf_addc(b, '`');
	buf_addc(b, '\n');
}

/* ---- numbers ---- */

void fmt_ms(struct buf *b, double ms)
{
	pgv_duration_text(b, ms);
}

void fmt_rows(struct buf *b, double n)
{
	if (n < 0) {
		buf_adds(b, "unknown");
		return;
	}
	char d[32];
	snprintf(d, sizeof d, "%.0f", n);
	size_t len = strlen(d);
	for (size_t i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			buf_addc(b, ',');
		buf_addc(b, d[i]);
	}
}

void fmt_pg_duration(struct buf *b, double ms)
{
	pgv_duration_pg(b, ms);
}
