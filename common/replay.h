/*
 * replay: apply SQL statements to a catalog the way PostgreSQL applies them
 * to its own, from libpg_query parse trees (see replay.c). Used by
 * schema2dag to read migration histories, and by lockscore to keep the
 * schema current as it walks a migration statement by statement.
 */
#ifndef MIGSAFE_REPLAY_H
#define MIGSAFE_REPLAY_H

#include <stdbool.h>

#include "buf.h"
#include "catalog.h"
#include "msg.h"
#include "sql.h"

struct replay {
	struct catalog *cat;
	char *search_schema;		 /* first schema of search_path: where unqualified names go */
	struct strv temp_tables;	 /* names of temporary tables: not part of the schema */
	struct strv fn_names, fn_bodies; /* PL/pgSQL functions created so far */
	long statements, skipped, warned;
	bool quiet; /* no warnings on stderr (lockscore reports its own) */
};

void replay_init(struct replay *r, struct catalog *c);
void replay_release(struct replay *r);
/* replay_sql: parse text (named file for diagnostics) one statement at a
 * time (sql_reader: memory stays bounded whatever the size of the script)
 * and apply each. 0, or on a syntax error -1 with *err (EXIT_INPUT)
 * naming file and line; the statements before it have been applied (and
 * warned about) by then. */
int replay_sql(struct replay *r, const char *file, const char *text, struct msg_err *err);
/* replay_stmt: apply one statement of a parsed script (src is the script's
 * text, which the statement's parse locations index). */
void replay_stmt(struct replay *r, const char *file, const char *src, const struct sql_stmt *st);

#endif
