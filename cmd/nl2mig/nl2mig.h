/*
 * nl2mig internals: the pieces of a migration as it is built, checked and
 * written. Every string in a struct mig belongs to it (mig_release).
 */
#ifndef NL2MIG_H
#define NL2MIG_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "buf.h"
#include "catalog.h"

struct opts {
	const char *request;
	const char *sql_file, *rollback_file;
	const char *provider; /* builtin, anthropic, openai */
	const char *model;
	const char *write_dir;
	const char *tool;    /* flyway, prisma, or NULL: detect */
	const char *version; /* --version for Flyway; the timestamp otherwise */
	const char *lock_timeout;
	const char *base_url;
	long timeout_ms;
	bool allow_destructive;
	bool prisma_generate;
	bool no_lint;
};

/* The migration as it goes through the program. */
struct mig {
	char *description;
	char *forward;	/* SQL, statements separated by ";\n" */
	char *rollback; /* SQL, or NULL before it is computed */
	/* for each statement of the computed rollback, the forward statement
	 * (0-based) it undoes, -1 for a setting that serves the whole
	 * rollback (an array); NULL when the rollback was given, not computed */
	cJSON *rollback_of;
	struct strv irreversible;
	struct strv risks;	   /* from a model, or lint findings */
	struct strv named_schemas; /* schemas the request names: allowed */
	cJSON *findings;	   /* lint findings (array), or NULL */
	char *prisma_diff;
	char *file_forward, *file_rollback;
	struct strv files; /* every file written */
	char *id;
	bool needs_destructive; /* a DROP or data-destroying statement */
	bool untrusted;		/* written by a model: strict allow-list */
	bool from_file;		/* a person's file (--sql): forward keeps its text and lines */
	struct strv destructive_why;
	/* a person's file: what the allow-list for model output would have
	 * refused, as notes {statement, line, type, reason, severity, fix}
	 * (array, or NULL when none); lockscore makes them findings */
	cJSON *outside;
	char *search_schema; /* where unqualified names go (Flyway's default schema), or NULL: public */
};

/* mig_release (util.c): frees what m holds. */
void mig_release(struct mig *m);

/* grammar.c: the builtin provider. Fills m->forward and m->description
 * from the request, names resolved against cat. Dies (EXIT_INPUT) with the
 * candidates when a name is unknown or ambiguous, or when the request is
 * not understood. */
void grammar_translate(const struct catalog *cat, const char *request, const char *lock_timeout,
		       struct mig *m);
/* Resolution helpers shared with the Prisma writer. */
const struct cat_table *grammar_find_table(const struct catalog *cat, const char *word, bool must);

/* check.c: parse forward SQL (file named for messages), enforce the
 * allow-list on model output (m->untrusted: dies EXIT_FINDINGS naming the
 * statement and why; a person's file gets m->outside notes instead, and
 * is never refused), note destructive statements, rebuild m->forward from the parsed statements (a
 * person's file keeps its own text, so lines point into it),
 * and compute the rollback and irreversible reasons from cat. */
void check_forward(const struct catalog *cat, const char *file, struct mig *m);
/* check_rollback: compare a given rollback with the computed one: both
 * applied after the forward must give the same catalog. Returns NULL when
 * they agree, else a description of the difference (caller frees). */
char *check_rollback(const struct catalog *cat, const char *forward, const char *computed,
		     const char *given, const char *file);

/* lint.c: run bin/lockscore on the forward SQL with the DAG; returns the
 * findings of medium or more (array, caller deletes), NULL when lockscore
 * is not available. */
cJSON *lint_forward(const struct catalog *cat, const char *forward);

/* llm.c: the HTTP providers. Fill m->forward (and m->rollback when the
 * model gave one, m->description, m->risks). Die EXIT_RUNTIME with the
 * provider's message on failure. feedback: lint findings of a previous
 * answer to correct, or NULL. */
void llm_translate(const struct opts *o, const struct catalog *cat, const char *request,
		   const char *feedback, struct mig *m);

/* write.c: --write DIR. */
void write_files(const struct opts *o, const struct catalog *cat, struct mig *m, const char *slug);

/* prisma_edit.c: schema.prisma at path with the change forward makes to cat
 * edited in (returned, caller frees); *diff is the unified diff between
 * them labelled a/label, b/label (NULL when nothing changed). */
char *prisma_edit_schema(const struct catalog *cat, const char *forward, const char *path, const char *label,
			 char **diff);

/* util.c: small helpers */
char *make_slug(const char *text);
char *utc_timestamp(void);
char *qualified(const char *schema, const char *name);

#endif
