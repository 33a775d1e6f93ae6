/*
 * contain: the role a migration under review runs as on a shadow.
 *
 * The migration is untrusted input (any pull request, or a model), so it
 * never runs as the role applyexplain was given. On a shadow where that
 * role is a superuser (a local or docker shadow, a url shadow made by a
 * superuser), a role of its own is made for this shadow database
 * ("migsafe_m_" and the database's name): LOGIN, no superuser, no CREATEDB,
 * CREATEROLE, REPLICATION or BYPASSRLS, member of nothing, with a fresh
 * random password; it is given the ownership of the shadow database and of
 * every object in it that no extension owns, and the migration's session
 * connects as it. It cannot run programs (COPY ... PROGRAM), read or write
 * the server's files, reach other databases' data, or take its privileges
 * back: it never was anything else.
 *
 * Where the given role is not a superuser (a url shadow on a shared server),
 * it is the migration's role, and its reach is verified first: no
 * CREATEROLE (which in PostgreSQL 15 can grant itself the roles below), no
 * membership of pg_execute_server_program, pg_read_server_files,
 * pg_write_server_files, pg_read_all_data or pg_write_all_data, and, for a
 * schema shadow, no privilege on any table or schema outside the shadow
 * schema. A check that cannot be made refuses, as a failed one does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applyexplain.h"
#include "db.h"
#include "msg.h"
#include "seal.h"
#include "xalloc.h"

/* What a migration's role must not be or belong to. */
#define REACH_SQL                                                                                                  \
	"SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolbypassrls, "                                          \
	"ARRAY(SELECT g FROM unnest(ARRAY['pg_execute_server_program', 'pg_read_server_files', "                   \
	"'pg_write_server_files', 'pg_read_all_data', 'pg_write_all_data']) g "                                    \
	"WHERE pg_catalog.pg_has_role(r.oid, g, 'USAGE') OR pg_catalog.pg_has_role(r.oid, g, 'MEMBER')) AS roles " \
	"FROM pg_catalog.pg_roles r WHERE r.rolname = current_user"

/* The shadow database's own objects, as the statements that hand them to
 * role $1 (built by the server: format's %I quotes every identifier).
 * Extension members stay with the extension's owner; sequences owned by a
 * column go with their table; the public schema follows the database. */
#define HANDOVER_SQL                                                                                              \
	"WITH ext AS (SELECT objid, classid FROM pg_catalog.pg_depend WHERE deptype = 'e'), "                     \
	"user_ns AS (SELECT oid, nspname FROM pg_catalog.pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "           \
	"AND nspname <> 'information_schema') "                                                                   \
	"SELECT 0 AS ord, format('ALTER DATABASE %I OWNER TO %I', current_database(), $1::text) AS stmt "         \
	"UNION ALL SELECT 1, format('ALTER SCHEMA %I OWNER TO %I', n.nspname, $1::text) FROM user_ns n "          \
	"WHERE n.nspname <> 'public' AND n.oid NOT IN (SELECT objid FROM ext "                                    \
	"WHERE classid = 'pg_catalog.pg_namespace'::regclass) "                                                   \
	"UNION ALL SELECT 2, format('ALTER %s %s OWNER TO %I', CASE c.relkind WHEN 'S' THEN 'SEQUENCE' "          \
	"WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, " \
	"c.oid::regclass, $1::text) FROM pg_catalog.pg_class c JOIN user_ns n ON n.oid = c.relnamespace "         \
	"WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND c.oid NOT IN (SELECT objid FROM ext "              \
	"WHERE classid = 'pg_catalog.pg_class'::regclass) AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 "         \
	"FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid "      \
	"AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i'))) "                       \
	"UNION ALL SELECT 3, format('ALTER TYPE %s OWNER TO %I', t.oid::regtype, $1::text) "                      \
	"FROM pg_catalog.pg_type t JOIN user_ns n ON n.oid = t.typnamespace "                                     \
	"WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_catalog.pg_class "   \
	"WHERE oid = t.typrelid) = 'c')) AND t.oid NOT IN (SELECT objid FROM ext "                                \
	"WHERE classid = 'pg_catalog.pg_type'::regclass) "                                                        \
	"UNION ALL SELECT 4, format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, $1::text) "              \
	"FROM pg_catalog.pg_proc p JOIN user_ns n ON n.oid = p.pronamespace WHERE p.prokind IN ('f', 'p') "       \
	"AND p.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_catalog.pg_proc'::regclass) "                \
	"ORDER BY 1"

static void refuse(const char *url, const char *why)
{
	char *red = db_redact_url(url);
	die_code(EXIT_USAGE, "refusing to run migrations on %s: %s", red, why);
}

/* check_reach: the session's role may reach nothing beyond the shadow
 * (schema: the schema shadow's schema, or NULL for a shadow database). */
static void check_reach(PGconn *c, const char *url, const char *schema)
{
	PGresult *r = PQexec(c, REACH_SQL);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		PQclear(r);
		refuse(url, "cannot check what the shadow's role may reach");
	}
	const char *roles = db_get(r, 0, "roles");
	char *why = NULL;
	if (db_get_bool(r, 0, "rolsuper"))
		why = xasprintf("its role %s is a superuser", db_get(r, 0, "rolname"));
	else if (db_get_bool(r, 0, "rolcreaterole"))
		why = xasprintf("its role %s has CREATEROLE, which can grant itself any role",
				db_get(r, 0, "rolname"));
	else if (db_get_bool(r, 0, "rolbypassrls"))
		why = xasprintf("its role %s has BYPASSRLS", db_get(r, 0, "rolname"));
	else if (!roles || strcmp(roles, "{}"))
		why = xasprintf("its role %s is a member of %s (server programs or files, or all data)",
				db_get(r, 0, "rolname"), roles ? roles : "roles it cannot see");
	PQclear(r);
	if (!why && schema) {
		const char *params[1] = {schema};
		r = PQexecParams(c,
				 "SELECT (SELECT format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c "
				 "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
				 "WHERE n.nspname NOT IN ($1, 'pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' "
				 "AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND (pg_catalog.has_table_privilege(c.oid, "
				 "'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') OR pg_catalog.pg_has_role("
				 "c.relowner, 'USAGE')) LIMIT 1) AS rel, "
				 "(SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname NOT IN ($1, 'pg_catalog', "
				 "'information_schema') AND n.nspname NOT LIKE 'pg\\_%' AND (pg_catalog.has_schema_privilege("
				 "n.oid, 'CREATE') OR pg_catalog.pg_has_role(n.nspowner, 'USAGE')) LIMIT 1) AS sch",
				 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
			PQclear(r);
			refuse(url, "cannot check what the shadow's role may reach outside the shadow schema");
		}
		if (db_get(r, 0, "rel"))
			why = xasprintf("the shadow's role can read or change %s, outside the shadow schema %s (a "
					"migration that changes search_path or names it would reach it): give mkshadow "
					"a role with privileges only on its own schema",
					db_get(r, 0, "rel"), schema);
		else if (db_get(r, 0, "sch"))
			why = xasprintf("the shadow's role can create in or owns schema %s, outside the shadow schema %s",
					db_get(r, 0, "sch"), schema);
		PQclear(r);
	}
	if (why)
		refuse(url, why);
}

/* make_role: the shadow database's migration role, with a fresh password,
 * owning the database's objects. Returns the password (caller frees). */
static char *make_role(PGconn *admin, const char *role)
{
	const char *params[1] = {role};
	PGresult *r = db_query_or_die(admin, "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", 1, params);
	bool exists = PQntuples(r) == 1;
	PQclear(r);
	char *q = db_quote_ident_or_die(admin, role), *pw = seal_random_hex(24);
	if (!pw)
		die_code(EXIT_RUNTIME, "cannot read /dev/urandom");
	char *lit = PQescapeLiteral(admin, pw, strlen(pw));
	if (!lit)
		die_code(EXIT_RUNTIME, "cannot quote the migration role's password");
	char *sql = xasprintf("%s ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
			      "PASSWORD %s",
			      exists ? "ALTER" : "CREATE", q, lit);
	db_exec_or_die(admin, sql);
	free(sql);
	PQfreemem(lit);
	/* whatever it was given before (a role of that name made by someone
	 * else): it must be a member of nothing */
	r = db_query_or_die(admin,
			    "SELECT format('REVOKE %I FROM %I', g.rolname, $1::text) FROM pg_catalog.pg_auth_members m "
			    "JOIN pg_catalog.pg_roles g ON g.oid = m.roleid WHERE m.member = (SELECT oid FROM "
			    "pg_catalog.pg_roles WHERE rolname = $1)",
			    1, params);
	for (int i = 0; i < PQntuples(r); i++)
		db_exec_or_die(admin, PQgetvalue(r, i, 0));
	PQclear(r);
	r = db_query_or_die(admin, HANDOVER_SQL, 1, params);
	for (int i = 0; i < PQntuples(r); i++)
		db_exec_or_die(admin, db_get(r, i, "stmt"));
	PQclear(r);
	free(q);
	return pw;
}

PGconn *contain_migration(PGconn *admin, const char *url, const char *schema, const struct opts *o)
{
	PGresult *r = PQexec(admin, "SELECT rolsuper, current_database() AS db FROM pg_catalog.pg_roles "
				    "WHERE rolname = current_user");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		PQclear(r);
		refuse(url, "cannot tell whether the shadow's role is a superuser");
	}
	bool super = db_get_bool(r, 0, "rolsuper");
	char *role = xasprintf("migsafe_m_%.53s", db_get(r, 0, "db"));
	PQclear(r);
	PGconn *c;
	if (super) {
		char *pw = make_role(admin, role);
		c = connect_shadow_as(url, o, "applyexplain", role, pw);
		free(pw);
	} else {
		c = connect_shadow_as(url, o, "applyexplain", NULL, NULL);
	}
	free(role);
	check_reach(c, url, schema);
	return c;
}
