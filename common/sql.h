/*
 * sql: the PostgreSQL parser (libpg_query) as used by every program.
 *
 * sql_parse splits a script into statements with their 1-based line numbers
 * and JSON parse trees (cJSON, PostgreSQL's node names: {"CreateStmt":{...}}).
 * A syntax error is reported with the line and PostgreSQL's own message.
 * The script owns the trees; a statement's node is borrowed from it.
 *
 * The helpers below read parse-tree nodes: sql_format_type spells a TypeName
 * as format_type() would print it; sql_deparse_expr writes an expression
 * back as SQL text; sql_j* read fields that libpg_query omits when they hold
 * their default (0, false, "").
 */
#ifndef MIGSAFE_SQL_H
#define MIGSAFE_SQL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct sql_stmt {
	int line;	    /* line of the statement's first token */
	size_t offset, len; /* the statement's bytes in the script text */
	const char *type;   /* node name, e.g. "CreateStmt" */
	cJSON *node;	    /* the node's fields, borrowed */
};

struct sql_arena; /* where a script's parse tree lives (sql.c) */

struct sql_script {
	const char *text; /* borrowed: must outlive the script */
	size_t base;	  /* where text starts in the whole script (sql_reader) */
	cJSON *tree;	  /* allocated in arena: never cJSON_Delete'd on its own */
	struct sql_arena *arena;
	struct sql_stmt *stmts;
	size_t n, cap;
};

struct sql_error {
	char *message; /* PostgreSQL's message, caller frees via sql_error_release */
	int line;
};

/* sql_parse: parse text (psql meta-command lines such as pg_dump's
 * "\restrict" are blanked first). 0 on success, -1 with err filled. */
int sql_parse(struct sql_script *s, const char *text, struct sql_error *err);
void sql_script_release(struct sql_script *s);
void sql_error_release(struct sql_error *err);

/* sql_reader: a script a piece at a time, for input of any size, so only
 * a piece's parse tree exists at a time. A piece is a window of the text
 * (64 KiB, more for a longer statement) up to its last semicolon, when
 * PostgreSQL parses it whole and its last statement ends at that semicolon;
 * otherwise PostgreSQL's scanner cuts the window into statements and each
 * is a piece, parsed on its own (a piece the parser refuses is retried
 * joined with the next ones, for the few forms the scanner cuts too early,
 * such as BEGIN ATOMIC bodies). Either way, the statements are those of
 * sql_parse on the whole text.
 *
 * sql_reader_next fills one with the statements of one piece (one, or a
 * window's worth): one->text points at the piece (in a copy of the text
 * when psql meta-command lines were blanked), one->base is the piece's
 * offset in the whole text, a statement's offset is relative to the piece
 * (parse locations are too), and its line is the line in the whole text.
 * The tree lives until the next call.
 * Text the scanner leaves out of every piece (it drops what does not start
 * like a statement, e.g. "SELEC 1;") is parsed too: never skipped.
 * Returns 1, 0 at the end, or -1 with err filled (the line in the whole
 * text, PostgreSQL's message). The reader borrows text. */
struct sql_reader {
	struct sql_reader_state *st;
};
/* The scanner cuts the text a window at a time (64 KiB, more for a longer
 * statement), so its errors (an unterminated string) come from the
 * sql_reader_next that reaches their window, not always from
 * sql_reader_open. Texts of sql_reader_thread_min bytes or more (default
 * 256 KiB) are cut and parsed by a second thread, up to 4096 pieces or
 * 8 MiB of parse trees ahead of the caller (one larger piece at a time);
 * the pieces, trees, lines and errors are the same. */
extern size_t sql_reader_thread_min;
int sql_reader_open(struct sql_reader *r, const char *text, struct sql_error *err);
int sql_reader_next(struct sql_reader *r, const struct sql_script **one, struct sql_error *err);
void sql_reader_release(struct sql_reader *r);

/* sql_stmt_text: the statement's source text, trimmed; caller frees. */
char *sql_stmt_text(const struct sql_script *s, const struct sql_stmt *st);

/* Field access. Missing fields read as 0, false, NULL. */
const cJSON *sql_jget(const cJSON *node, const char *field);
const char *sql_jstr(const cJSON *node, const char *field);
long sql_jint(const cJSON *node, const char *field);
bool sql_jbool(const cJSON *node, const char *field);
/* sql_node: if n is {"Type":{...}} with that Type, its fields; else NULL. */
const cJSON *sql_node(const cJSON *n, const char *type);
/* sql_node_type: the single key of a node wrapper, or NULL. */
const char *sql_node_type(const cJSON *n);
/* sql_strval: the sval of a {"String":{"sval":..}} node, or NULL. */
const char *sql_strval(const cJSON *n);
/* sql_name_list: the svals of a list of String nodes into sv (an array, or
 * a List node wrapping one; anything else adds nothing). */
void sql_name_list(const cJSON *list, struct strv *sv);

/* sql_format_type: a TypeName node as format_type() prints it with
 * search_path = public ("integer", "character varying(255)",
 * "timestamp(3) without time zone", "\"Role\"[]"). *serial is set to
 * "integer"/"bigint"/"smallint" when the type was serial-ish (the caller
 * adds the sequence default), else NULL. Caller frees the result. */
char *sql_format_type(const cJSON *typename_node, const char **serial);
/* sql_type_is_builtin: does the TypeName name a built-in type? */
bool sql_type_is_builtin(const cJSON *typename_node);

/* sql_deparse_expr: an expression node as SQL text; caller frees. Unknown
 * node kinds fall back to the source text when src is given. */
char *sql_deparse_expr(const cJSON *expr, const char *src);
/* sql_const_ival: the value of an integer A_Const (its fields, c). libpg_query
 * 15-4.0.0's JSON leaves out an integer constant's value when it is 0 or
 * negative ("ival":{}); it is read back from src, the text the tree's
 * locations index, when given (else 0). */
long sql_const_ival(const cJSON *c, const char *src);
/* sql_min_location: the smallest parse location in a subtree, or -1. */
long sql_min_location(const cJSON *n);
/* sql_quote_literal: 'text' with quotes doubled; caller frees. */
char *sql_quote_literal(const char *s);

/* sql_remap_schema: text with the names qualified by schema `from`
 * rewritten to qto (an identifier, already quoted), found by PostgreSQL's
 * scanner: an identifier equal to from (folded as PostgreSQL folds it, or
 * quoted) followed by a '.' token (public.orders, "public"."Order",
 * public.orders.id); a literal cast to a reg* type
 * ('public.orders_id_seq'::regclass); and, scanned in turn, the text of a
 * dollar-quoted constant (a function body). Lines and everything else are
 * kept. NULL when the scanner refuses the text. Caller frees. */
char *sql_remap_schema(const char *text, const char *from, const char *qto);

/* sql_vet.c: text taken from a schema or a record, read before it is
 * written into a statement. Each holds only when PostgreSQL's scanner reads
 * the whole text with no "--" comment on its last line, no psql meta-command line (a line
 * starting with a backslash), no ';' and balanced parentheses and brackets,
 * so that text written into a statement adds nothing to it.
 * sql_is_one_expr: "SELECT (text)" is one SELECT of exactly one target and
 * nothing else. sql_is_one_type: "SELECT CAST(NULL AS text)" is one SELECT
 * of one cast of NULL to one type name and nothing else. sql_query_kind:
 * a view's definition: "SelectStmt" when text is one SELECT without INTO
 * (the query, as pg_get_viewdef prints it), "ViewStmt" or
 * "CreateTableAsStmt" when it is one CREATE VIEW or CREATE MATERIALIZED
 * VIEW statement (as a migration wrote it); a ';' may end it, and so may a
 * "--" comment (whoever writes it into SQL ends it with a line end). Else
 * NULL. */
bool sql_is_one_expr(const char *text);
bool sql_is_one_type(const char *text);
const char *sql_query_kind(const char *text);
/* sql_one_stmt: text (built by a program) parses as exactly one statement
 * of node type `type`, with the same conditions on its tokens. 0 with s
 * filled (the caller releases it, and text must outlive it), else -1 with s
 * empty. */
int sql_one_stmt(struct sql_script *s, const char *text, const char *type);

#endif
