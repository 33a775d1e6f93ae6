/*
 * remap: production's schema script for a schema shadow: schema-qualified
 * names of production's one user schema (public, usually) rewritten to the
 * shadow's schema by the scanner (sql_remap_schema, common/sql_remap.c).
 * Statements that would reach outside the shadow schema
 * (CREATE SCHEMA of another schema) are refused; those that would overwrite
 * the mark or need ownership (COMMENT ON SCHEMA, COMMENT ON EXTENSION) are
 * dropped; CREATE EXTENSION is set apart for the caller.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mkshadow.h"
#include "msg.h"
#include "sql.h"
#include "xalloc.h"

/* comment_on: the object type of a COMMENT statement, or NULL. */
static const char *comment_on(const struct sql_stmt *st)
{
	return strcmp(st->type, "CommentStmt") ? NULL : sql_jstr(st->node, "objtype");
}

static bool is_search_path(const struct sql_stmt *st)
{
	const char *name = sql_jstr(st->node, "name");
	return !strcmp(st->type, "VariableSetStmt") && name && !strcmp(name, "search_path");
}

char *remap_stmt(const struct remap *m, const struct sql_stmt *st, const char *text, const char *where)
{
	const char *on = comment_on(st);
	if (on && (!strcmp(on, "OBJECT_SCHEMA") || !strcmp(on, "OBJECT_EXTENSION")))
		return NULL; /* the shadow schema's comment is its mark; extensions are not ours */
	if (!strcmp(st->type, "CreateSchemaStmt")) {
		const char *name = sql_jstr(st->node, "schemaname");
		if (name && !strcmp(name, m->from))
			return NULL; /* the shadow schema stands for it */
		die_code(EXIT_RUNTIME,
			 "%s: CREATE SCHEMA %s cannot go into a schema shadow (it maps one schema, %s); give the "
			 "role CREATEDB for a database shadow",
			 where, name ? name : "?", m->from);
	}
	if (is_search_path(st))
		return xasprintf("SET search_path = %s", m->qto);
	char *out = sql_remap_schema(text, m->from, m->qto);
	if (!out)
		die_code(EXIT_RUNTIME, "%s: the scanner cannot read a statement to map it into the shadow schema",
			 where);
	return out;
}

char *remap_script(const struct remap *m, const char *script, const char *where, struct strv *extensions)
{
	struct sql_script sc;
	struct sql_error err;
	if (sql_parse(&sc, script, &err) < 0)
		die_code(EXIT_RUNTIME, "%s: line %d: %s", where, err.line, err.message);
	struct buf out = BUF_INIT;
	buf_init(&out);
	for (size_t i = 0; i < sc.n; i++) {
		char *text = sql_stmt_text(&sc, &sc.stmts[i]);
		if (!strcmp(sc.stmts[i].type, "CreateExtensionStmt")) {
			const char *ext = sql_jstr(sc.stmts[i].node, "extname");
			if (ext)
				strv_push(extensions, ext);
			free(text);
			continue;
		}
		char *mapped = remap_stmt(m, &sc.stmts[i], text, where);
		if (mapped)
			buf_addf(&out, "%s\n;\n", mapped); /* the text may end in a -- comment */
		free(mapped);
		free(text);
	}
	sql_script_release(&sc);
	return buf_detach(&out);
}
