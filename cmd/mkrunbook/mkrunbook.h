/*
 * mkrunbook: shared declarations of its modules.
 *
 * model.c reads the record stream into a model: one struct mig per
 * migration (its statements, findings, risk, traces, rollback check), and
 * the stream-wide plan, sample, table and shadow records. Every record
 * stays owned by model.all; the rest point into it (borrowed).
 * doc.c is a Markdown writer with a size budget that truncates only at a
 * block boundary: a table row, a paragraph, a whole <details> element.
 * review.c and runbook.c write the two documents, svg.c the lock
 * timeline, github.c publishes.
 */
#ifndef MKRUNBOOK_H
#define MKRUNBOOK_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "buf.h"

struct opts {
	bool review;		/* --review (else the runbook) */
	const char *out;	/* --out FILE */
	const char *svg;	/* --svg FILE */
	const char *svg_url;	/* --svg-url URL */
	bool gh_comment;	/* --github-comment */
	long pr;		/* --pr N (0: from GITHUB_EVENT_PATH) */
	const char *gh_release; /* --github-release TAG */
	bool step_summary;	/* --step-summary */
	size_t max_chars;	/* --max-chars (review only) */
	double max_lock_wait_ms, cooldown_ms, error_spike;
	double lock_timeout_ms, statement_timeout_ms; /* 0: computed */
	struct strv notify;			      /* --notify WHO */
	const char *marker;			      /* hidden comment marker */
	double http_timeout_ms;			      /* --http-timeout: per GitHub request */
};

struct lock {
	const char *table;
	int mode; /* 1 AccessShare .. 8 AccessExclusive */
};

struct stmt {
	long index, line;
	const char *sql;
	struct lock *locks;
	size_t nlocks;
	const cJSON *rewrites, *scans;	  /* arrays or NULL */
	double block_reads, block_writes; /* ms; 0 does not block; -1 blocks, unknown time */
	double est_ms, est_lock_ms;	  /* production estimates; -1 unknown */
	bool in_tx, traced;
	const cJSON *trace;    /* the shadow's trace record, or NULL */
	double shadow_lock_ms; /* held on the shadow until its transaction ended; -1 */
};

struct ptrv {
	const cJSON **v;
	size_t n, cap;
};

struct mig {
	const char *id;
	const cJSON *rec;  /* the migration record, or NULL */
	const cJSON *risk; /* required */
	const cJSON *rollback_check;
	struct stmt *stmts;
	size_t n, cap;
	struct ptrv findings;
	const char *file; /* forward file, from the migration or a finding */
};

struct model {
	cJSON *all; /* owns every record read */
	struct mig *migs;
	size_t n, cap;
	struct ptrv plans, samples, tables, traces;
	const cJSON *shadow, *source;
};

/* model.c */
void model_read(struct model *m, FILE *f, const char *name);
void model_finish(struct model *m, const char *name);
void model_release(struct model *m);
const char *lockmode_name(int mode);
const char *lockmode_short(int mode);
const char *lockmode_colour(int mode);
bool lockmode_blocks_reads(int mode);
bool lockmode_blocks_writes(int mode);
double num_or(const cJSON *o, const char *key, double dflt);
int level_rank(const char *level);
/* Tables a migration locks, in order of first lock; caller releases. */
void mig_tables(const struct mig *g, struct strv *out);
double mig_total_ms(const struct mig *g);
double mig_longest_lock_ms(const struct mig *g, bool *reads, bool *writes);

/* doc.c: Markdown with a byte budget (0: none). */
struct doc {
	struct buf b;
	size_t limit, reserve;
	bool full;
	size_t dropped; /* blocks left out */
};
void doc_init(struct doc *d, size_t limit);
/* doc_block: add text (a whole block, ending with a newline) if it fits;
 * false (and nothing added) once the budget is spent. */
bool doc_block(struct doc *d, const char *text);
bool doc_blockf(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* doc_details_open/close: a <details> element whose closing tag is always
 * written (its space is reserved when it opens). */
bool doc_details_open(struct doc *d, const char *summary);
void doc_details_close(struct doc *d);
/* doc_table_*: a table cut only between rows; the blank line after it is
 * reserved. A row whose cells are already escaped (md_cell). */
bool doc_table_open(struct doc *d, const char *header, const char *align);
bool doc_table_row(struct doc *d, const char *row);
void doc_table_close(struct doc *d);
/* doc_finish: the document, with a truncation note if anything was cut;
 * the caller frees it. */
char *doc_finish(struct doc *d, const char *note);

void md_text(struct buf *b, const char *s);		       /* inline text, escaped */
void md_code(struct buf *b, const char *s, size_t max);	       /* inline code span, one line */
void md_fence(struct buf *b, const char *lang, const char *s); /* fenced block */
void html_text(struct buf *b, const char *s);		       /* &, <, > escaped */
void fmt_ms(struct buf *b, double ms);
void fmt_rows(struct buf *b, double n);
void fmt_pg_duration(struct buf *b, double ms);

/* review.c, runbook.c, svg.c */
char *review_doc(const struct model *m, const struct opts *o);
char *runbook_doc(const struct model *m, const struct opts *o);
char *svg_timeline(const struct model *m);

/* github.c: exit EXIT_RUNTIME on any failure, after a message naming the
 * request and GitHub's answer (never the token). */
void github_check(const struct opts *o);
void github_comment(const struct opts *o, const char *body);
void github_release(const struct opts *o, const char *body);

#endif
