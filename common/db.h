/*
 * db: the libpq helpers every program uses, in the manner of PostgreSQL's
 * fe_utils (connect_utils.c, query_utils.c).
 *
 * Ownership: arguments are borrowed. Every result belongs to the caller:
 * a PGconn is closed with db_close(), a PGresult freed with PQclear() on
 * every path, a char * freed with free(). Strings returned by db_get()
 * point into their PGresult and live as long as it does.
 *
 * Errors (msg.h): db_connect, db_query, db_exec and the quoting functions
 * return NULL (or -1) with *err, class EXIT_RUNTIME (the database failed
 * us, not the input): libpq's message, or "query failed: ..." for a
 * statement. The caller decides (die_err prints "prog: message").
 *
 * Secrets: no password ever reaches a message. Every message that could
 * carry a connection string passes through db_redact_url(), and db_connect()
 * also blanks out every secret of its URL (and of o->password) wherever
 * libpq quoted it. db_hide_argv_secrets() hides them from the process list.
 *
 * Values always travel as parameters ($1, $2, ...); an identifier that must
 * be spliced into SQL text goes through db_quote_ident().
 */
#ifndef MIGSAFE_DB_H
#define MIGSAFE_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "msg.h"

/* Session settings for db_connect, sent in the startup packet (the
 * "options" connection parameter, "-c name=value"), so they hold from the
 * first query on. They are appended to the URL's own options (or
 * PGOPTIONS), so they win over them. */
struct db_opts {
	bool read_only;		  /* default_transaction_read_only = on */
	int statement_timeout_ms; /* > 0: statement_timeout; 0: server default */
	const char *search_path;  /* e.g. "public"; NULL: server default */
	int connect_timeout_s;	  /* > 0: unless the URL or PGCONNECT_TIMEOUT sets one */
	const char *user;	  /* non-NULL: connect as this role, whatever the URL says */
	const char *password;	  /* with user: its password (never in a message) */
};

#define DB_OPTS_INIT                          \
	{                                     \
		false, 0, NULL, 0, NULL, NULL \
	}

/* db_connect: connect to url (a postgresql:// URI, a "key=value ..."
 * string, or a bare database name; NULL or "" leaves everything to libpq's
 * environment variables and service files). o may be NULL. The
 * application_name defaults to the program's name (msg_prog()), and
 * client_encoding is UTF8 whatever the database's (records are JSON).
 * Returns the connection, or NULL with *err (EXIT_RUNTIME, libpq's
 * message with no password in it). */
PGconn *db_connect(const char *url, const struct db_opts *o, struct msg_err *err);

/* db_close: PQfinish, NULL is fine. */
void db_close(PGconn *conn);

/* db_query: run one statement with nparams text parameters (params may be
 * NULL when nparams is 0; a NULL element is SQL NULL) and return its
 * result, which the caller PQclears. NULL with *err (EXIT_RUNTIME, "query
 * failed: " and the server's message) when the statement fails. */
PGresult *db_query(PGconn *conn, const char *sql, int nparams, const char *const *params, struct msg_err *err);

/* db_exec: run one statement without parameters and discard its result
 * (BEGIN, SET, ...); 0, or -1 with *err like db_query. */
int db_exec(PGconn *conn, const char *sql, struct msg_err *err);

/* db_get: the value of column field (by name) in row, or NULL when it is
 * SQL NULL. A field the result does not have is a BUG. */
const char *db_get(const PGresult *res, int row, const char *field);
/* db_get_bool: db_get as a boolean ("t" is true; NULL and "f" false). */
bool db_get_bool(const PGresult *res, int row, const char *field);

/* db_server_version: the server's version as "15.18" (or "9.6.24"). */
char *db_server_version(const PGconn *conn);

/* db_quote_ident: ident quoted for splicing into SQL (PQescapeIdentifier,
 * always in double quotes); NULL with *err (EXIT_RUNTIME) if libpq refuses
 * it (for instance an invalid multibyte character). */
char *db_quote_ident(PGconn *conn, const char *ident, struct msg_err *err);

/* db_quote_qualified: "schema.name" (as records spell tables) quoted part by
 * part: "schema"."name". A name without a dot is quoted whole. NULL with
 * *err like db_quote_ident. */
char *db_quote_qualified(PGconn *conn, const char *qname, struct msg_err *err);

/* db_redact_url: s with every secret connection parameter removed (those
 * libpq displays as '*': password, sslpassword). Found as written: the
 * ":password" of the userinfo of postgres:// and postgresql:// URLs, query
 * parameters whose name, percent-decoded and in any case, is a secret
 * keyword ("?pass%77ord=..."), and key=value pairs (quoted or not, with
 * backslash escapes); found as libpq reads the text and every URL in it
 * (PQconninfoParse). Then every secret so found, of at least 3 bytes, is
 * replaced by "***" wherever else it occurs: literally, percent-encoded in
 * any way or backslash-escaped. s may be a bare URL or any text holding
 * some (an error message). Never fails; the caller frees the result. */
char *db_redact_url(const char *s);

/* db_hide_argv_secrets: keep the secrets of connection strings on the
 * command line out of /proc/PID/cmdline (ps, top). Each argument holding a
 * secret (as db_redact_url finds them: a URL's password, password=...,
 * sslpassword=..., "--db=URL" too) is copied with xstrdup, argv[i] points
 * to the copy from then on (so the program reads its arguments unchanged),
 * and the secret's bytes in the original argument, which the kernel shows,
 * are overwritten with 'x'; the rest stays readable. argv[0] is left alone.
 * Call it first thing in main(), after msg_set_prog(). The copies are
 * never freed. A password stays visible until the call: the environment
 * (PGPASSWORD) or a PGPASSFILE is the place for it. */
void db_hide_argv_secrets(int argc, char **argv);

/* For programs, for which a database error is the end of the run: the
 * functions above, dying (die_err: "prog: message", the error's exit
 * class) when they fail. Inline, so that common/ itself never exits. */
static inline PGresult *db_query_or_die(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	struct msg_err err = MSG_ERR_INIT;
	PGresult *res = db_query(conn, sql, nparams, params, &err);
	if (!res)
		die_err(&err);
	return res;
}

static inline void db_exec_or_die(PGconn *conn, const char *sql)
{
	PQclear(db_query_or_die(conn, sql, 0, NULL));
}

static inline char *db_quote_ident_or_die(PGconn *conn, const char *ident)
{
	struct msg_err err = MSG_ERR_INIT;
	char *q = db_quote_ident(conn, ident, &err);
	if (!q)
		die_err(&err);
	return q;
}

static inline char *db_quote_qualified_or_die(PGconn *conn, const char *qname)
{
	struct msg_err err = MSG_ERR_INIT;
	char *q = db_quote_qualified(conn, qname, &err);
	if (!q)
		die_err(&err);
	return q;
}

#endif
