/*
 * prod: production, read only. One connection with
 * default_transaction_read_only and a statement_timeout, one REPEATABLE READ
 * READ ONLY transaction whose snapshot is exported (pg_dump joins it with
 * --snapshot), and only SELECT and COPY ... TO on it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "mkshadow.h"
#include "msg.h"
#include "xalloc.h"

/* User tables: ordinary tables and partitions, not in system schemas, not
 * owned by an extension (CREATE EXTENSION makes those). */
static const char tables_sql[] =
	"SELECT c.oid, n.nspname, c.relname, c.reltuples::float8 AS reltuples,\n"
	"       pg_total_relation_size(c.oid)::float8 AS bytes,\n"
	"       has_table_privilege(c.oid, 'SELECT') AS can_read\n"
	"FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace\n"
	"WHERE c.relkind = 'r' AND n.nspname <> 'information_schema'\n"
	"  AND n.nspname NOT LIKE 'pg\\_%'\n"
	"  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass\n"
	"                  AND d.objid = c.oid AND d.deptype = 'e')\n"
	"ORDER BY n.nspname, c.relname";

static const char columns_sql[] =
	"SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod) AS type,\n"
	"       CASE WHEN t.typcategory = 'S' OR bt.typcategory = 'S' THEN 'S'\n"
	"            WHEN coalesce(bt.oid, t.oid) IN ('date'::regtype, 'timestamp'::regtype,\n"
	"                 'timestamptz'::regtype) THEN 'D'\n"
	"            ELSE coalesce(bt.typcategory, t.typcategory) END AS class,\n"
	"       CASE WHEN coalesce(bt.oid, t.oid) IN ('varchar'::regtype, 'bpchar'::regtype)\n"
	"            AND a.atttypmod >= 4 THEN a.atttypmod - 4 ELSE 0 END AS maxlen,\n"
	"       a.attnotnull, a.attgenerated <> '' AS generated\n"
	"FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid\n"
	"LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype\n"
	"WHERE a.attrelid = ANY ($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped\n"
	"ORDER BY a.attrelid, a.attnum";

/* Constraint columns by name, in key order, as JSON arrays. */
static const char constraints_sql[] =
	"SELECT con.contype, con.conname, con.conrelid, con.confrelid,\n"
	"  array_to_json(ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)\n"
	"    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i)) AS cols,\n"
	"  array_to_json(ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)\n"
	"    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)) AS refcols\n"
	"FROM pg_constraint con\n"
	"WHERE con.contype IN ('f', 'p') AND con.conrelid = ANY ($1::oid[])\n"
	"ORDER BY con.conrelid, con.conname";

static struct table *table_by_oid(struct table **ts, const char **oids, size_t n, const char *oid)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(oids[i], oid))
			return ts[i];
	return NULL;
}

static int column_index(const struct table *t, const char *name)
{
	for (size_t c = 0; c < t->ncols; c++)
		if (!strcmp(t->cols[c].name, name))
			return (int)c;
	return -1;
}

static void load_columns(struct prod *p, const char **oids, const char *oidarr)
{
	PGresult *res = db_query_or_die(p->conn, columns_sql, 1, &oidarr);
	for (int r = 0; r < PQntuples(res); r++) {
		struct table *t = table_by_oid(p->tables, oids, p->ntables, db_get(res, r, "attrelid"));
		t->cols = xrealloc(t->cols, (t->ncols + 1) * sizeof(*t->cols));
		struct column *c = &t->cols[t->ncols++];
		memset(c, 0, sizeof(*c));
		c->name = xstrdup(db_get(res, r, "attname"));
		c->type = xstrdup(db_get(res, r, "type"));
		c->typclass = db_get(res, r, "class")[0];
		c->maxlen = atoi(db_get(res, r, "maxlen"));
		c->notnull = db_get_bool(res, r, "attnotnull");
		c->generated = db_get_bool(res, r, "generated");
		c->field = c->generated ? -1 : t->nfields++;
	}
	PQclear(res);
}

/* names_to_cols: JSON array of column names to indexes into t; NULL when
 * one is missing or generated (not in the COPY row). */
static int *names_to_cols(const struct table *t, const char *json, size_t *n)
{
	cJSON *a = cJSON_Parse(json);
	*n = (size_t)cJSON_GetArraySize(a);
	int *cols = xcalloc(*n + 1, sizeof(int));
	size_t i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, a)
	{
		int c = cJSON_IsString(e) ? column_index(t, e->valuestring) : -1;
		if (c < 0 || t->cols[c].field < 0) {
			free(cols);
			cols = NULL;
			break;
		}
		cols[i++] = c;
	}
	cJSON_Delete(a);
	return cols;
}

/* refkey_for: the parent key over cols, shared by every FK that uses it. */
static struct refkey *refkey_for(struct prod *p, struct table *t, int *cols, size_t n)
{
	for (size_t k = 0; k < t->nkeys; k++)
		if (t->keys[k]->ncols == n && !memcmp(t->keys[k]->cols, cols, n * sizeof(int))) {
			free(cols);
			return t->keys[k];
		}
	struct refkey *rk = xcalloc(1, sizeof(*rk));
	rk->t = t, rk->cols = cols, rk->ncols = n;
	t->keys = xrealloc(t->keys, (t->nkeys + 1) * sizeof(*t->keys));
	t->keys[t->nkeys++] = rk;
	p->keys = xrealloc(p->keys, (p->nkeys + 1) * sizeof(*p->keys));
	p->keys[p->nkeys++] = rk;
	return rk;
}

static void add_fk(struct prod *p, struct table *child, struct table *parent, const PGresult *res, int r)
{
	size_t n, m;
	int *cols = names_to_cols(child, db_get(res, r, "cols"), &n);
	int *refcols = names_to_cols(parent, db_get(res, r, "refcols"), &m);
	if (!cols || !refcols || n != m) {
		warning("foreign key %s of %s: a generated column; its parents are not fetched",
			db_get(res, r, "conname"), child->qname);
		free(cols);
		free(refcols);
		return;
	}
	struct fkey *fk = xcalloc(1, sizeof(*fk));
	fk->name = xstrdup(db_get(res, r, "conname"));
	fk->child = child, fk->cols = cols;
	fk->ref = refkey_for(p, parent, refcols, m);
	child->fks = xrealloc(child->fks, (child->nfks + 1) * sizeof(*child->fks));
	child->fks[child->nfks++] = fk;
	p->fks = xrealloc(p->fks, (p->nfks + 1) * sizeof(*p->fks));
	p->fks[p->nfks++] = fk;
}

static void load_constraints(struct prod *p, const char **oids, const char *oidarr)
{
	PGresult *res = db_query_or_die(p->conn, constraints_sql, 1, &oidarr);
	for (int r = 0; r < PQntuples(res); r++) {
		struct table *t = table_by_oid(p->tables, oids, p->ntables, db_get(res, r, "conrelid"));
		if (db_get(res, r, "contype")[0] == 'p') {
			cJSON *a = cJSON_Parse(db_get(res, r, "cols"));
			struct buf b = BUF_INIT;
			buf_init(&b);
			const cJSON *e;
			cJSON_ArrayForEach(e, a) buf_addf(&b, "%s%s", b.len ? "," : "", e->valuestring);
			t->pk = buf_detach(&b);
			cJSON_Delete(a);
			continue;
		}
		struct table *parent = table_by_oid(p->tables, oids, p->ntables, db_get(res, r, "confrelid"));
		if (!parent) {
			warning("foreign key %s of %s references a partitioned or unreadable table; its parents are not fetched",
				db_get(res, r, "conname"), t->qname);
			continue;
		}
		add_fk(p, t, parent, res, r);
	}
	PQclear(res);
}

/* sort_tables: referenced tables before the tables that reference them
 * (the DAG's topological order; a cycle is cut where it is met). */
static bool parents_done(const struct table *t, struct table **done, size_t ndone)
{
	for (size_t k = 0; k < t->nfks; k++) {
		const struct table *par = t->fks[k]->ref->t;
		bool found = par == t;
		for (size_t j = 0; j < ndone && !found; j++)
			found = done[j] == par;
		if (!found)
			return false;
	}
	return true;
}

static void sort_tables(struct prod *p)
{
	struct table **out = xcalloc(p->ntables + 1, sizeof(*out));
	bool *taken = xcalloc(p->ntables + 1, sizeof(bool));
	for (size_t n = 0; n < p->ntables; n++) {
		size_t pick = p->ntables;
		for (size_t i = 0; i < p->ntables && pick == p->ntables; i++)
			if (!taken[i] && parents_done(p->tables[i], out, n))
				pick = i;
		for (size_t i = 0; i < p->ntables && pick == p->ntables; i++)
			if (!taken[i]) /* a cycle: cut it here */
				pick = i;
		taken[pick] = true;
		out[n] = p->tables[pick];
	}
	memcpy(p->tables, out, p->ntables * sizeof(*out));
	free(out);
	free(taken);
}

static void load_model(struct prod *p)
{
	PGresult *res = db_query_or_die(p->conn, tables_sql, 0, NULL);
	size_t n = (size_t)PQntuples(res);
	const char **oids = xcalloc(n + 1, sizeof(char *));
	struct buf arr = BUF_INIT;
	buf_init(&arr);
	buf_addc(&arr, '{');
	p->tables = xcalloc(n + 1, sizeof(*p->tables));
	for (size_t i = 0; i < n; i++) {
		struct table *t = xcalloc(1, sizeof(*t));
		t->schema = xstrdup(db_get(res, (int)i, "nspname"));
		t->name = xstrdup(db_get(res, (int)i, "relname"));
		t->qname = xasprintf("%s.%s", t->schema, t->name);
		t->reltuples = atof(db_get(res, (int)i, "reltuples"));
		t->bytes = atof(db_get(res, (int)i, "bytes"));
		if (!db_get_bool(res, (int)i, "can_read"))
			die_code(EXIT_RUNTIME, "production: no SELECT privilege on %s", t->qname);
		oids[i] = db_get(res, (int)i, "oid");
		buf_addf(&arr, "%s%s", i ? "," : "", oids[i]);
		p->tables[p->ntables++] = t;
	}
	buf_addc(&arr, '}');
	load_columns(p, oids, arr.s);
	load_constraints(p, oids, arr.s);
	sort_tables(p);
	buf_release(&arr);
	free(oids);
	PQclear(res);
}

/* system_identifier: pg_control_system() needs no privilege by default,
 * but a server may revoke it: NULL then, and a url shadow is refused
 * (provider.c: the check that it is not production's server fails closed). */
static char *system_identifier(PGconn *conn)
{
	PGresult *res = PQexec(conn, "SELECT system_identifier::text AS id FROM pg_control_system()");
	char *id = NULL;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		id = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return id;
}

void prod_open(struct prod *p, const char *url, int timeout_ms)
{
	struct db_opts o = DB_OPTS_INIT;
	memset(p, 0, sizeof(*p));
	o.read_only = true;
	o.statement_timeout_ms = timeout_ms;
	o.search_path = "pg_catalog"; /* format_type() then qualifies every user type */
	o.connect_timeout_s = 10;
	p->url = xstrdup(url);
	p->timeout_ms = timeout_ms;
	struct msg_err cerr = MSG_ERR_INIT;
	if (!(p->conn = db_connect(url, &o, &cerr)))
		die_err(&cerr);
	p->version = db_server_version(p->conn);
	p->major = PQserverVersion(p->conn) / 10000;
	const char *fake = getenv("MIGSAFE_TEST_PROD_VERSION"); /* tests: a version we lack */
	if (fake && *fake) {
		free(p->version);
		p->version = xstrdup(fake);
		p->major = atoi(fake);
	}
	p->sysid = system_identifier(p->conn);
	/* do not queue behind a migration's ACCESS EXCLUSIVE lock (and block
	 * everyone behind us): give up on a lock after 10 s */
	PQclear(db_query_or_die(p->conn, "SELECT set_config('lock_timeout', '10s', false)", 0, NULL));
	db_exec_or_die(p->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	PGresult *res = db_query_or_die(p->conn,
					"SELECT pg_export_snapshot() AS snap, pg_encoding_to_char(encoding) AS enc "
					"FROM pg_database WHERE datname = current_database()",
					0, NULL);
	p->snapshot = xstrdup(db_get(res, 0, "snap"));
	p->encoding = xstrdup(db_get(res, 0, "enc"));
	PQclear(res);
	load_model(p);
}

char *prod_user_schema(const struct prod *p, char **why)
{
	PGresult *res = db_query_or_die(p->conn,
					"SELECT n.nspname FROM pg_namespace n\n"
					"WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' AND (\n"
					"  EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND NOT EXISTS (\n"
					"    SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid\n"
					"    AND d.deptype = 'e'))\n"
					"  OR EXISTS (SELECT 1 FROM pg_type t WHERE t.typnamespace = n.oid AND t.typrelid = 0\n"
					"    AND t.typcategory <> 'A' AND NOT EXISTS (SELECT 1 FROM pg_depend d\n"
					"    WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'))\n"
					"  OR EXISTS (SELECT 1 FROM pg_proc f WHERE f.pronamespace = n.oid AND NOT EXISTS (\n"
					"    SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = f.oid\n"
					"    AND d.deptype = 'e')))\n"
					"ORDER BY 1",
					0, NULL);
	char *one = NULL;
	*why = NULL;
	if (PQntuples(res) == 0) {
		one = xstrdup("public");
	} else if (PQntuples(res) == 1) {
		one = xstrdup(PQgetvalue(res, 0, 0));
	} else {
		struct buf b = BUF_INIT;
		buf_init(&b);
		for (int i = 0; i < PQntuples(res); i++)
			buf_addf(&b, "%s%s", i ? ", " : "", PQgetvalue(res, i, 0));
		*why = xasprintf("production's objects are in %d schemas (%s), and a schema shadow maps one",
				 PQntuples(res), b.s);
		buf_release(&b);
	}
	PQclear(res);
	return one;
}

/* conninfo_value: a keyword's value in a URL or key=value string, or NULL. */
static char *conninfo_value(const char *url, const char *kw)
{
	char *err = NULL, *v = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &err);
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (!strcmp(o->keyword, kw) && o->val && *o->val)
			v = xstrdup(o->val);
	PQconninfoFree(opts);
	PQfreemem(err);
	return v;
}

char *prod_dump_schema(const struct prod *p, const char *section, char **err_out)
{
	char path[4096], *pw = conninfo_value(p->url, "password"), *url = db_redact_url(p->url);
	const char *bin = pg_bindir(p->major);
	snprintf(path, sizeof(path), "%s/pg_dump", bin ? bin : "/usr/bin");
	char *snap = xasprintf("--snapshot=%s", p->snapshot), *sect = xasprintf("--section=%s", section);
	char *const argv[] = {path, "--schema-only", sect, snap, "--no-owner", "--no-privileges",
			      "--no-publications", "--no-subscriptions", "--no-tablespaces",
			      "--no-security-labels", "--lock-wait-timeout=10000", "-d", url, NULL};
	/* the password travels in the environment, never on a command line */
	extern char **environ;
	size_t ne = 0;
	while (environ[ne])
		ne++;
	char **envp = xcalloc(ne + 3, sizeof(char *));
	memcpy(envp, environ, ne * sizeof(char *));
	if (pw)
		envp[ne++] = xasprintf("PGPASSWORD=%s", pw);
	envp[ne++] = "PGOPTIONS=-c default_transaction_read_only=on";
	struct buf out = BUF_INIT, err = BUF_INIT;
	buf_init(&out), buf_init(&err);
	int rc = run_cmd(argv, false, &out, &err, envp);
	*err_out = NULL;
	if (rc != 0) {
		char *e = db_redact_url(err.len ? err.s : "pg_dump could not run");
		e[strcspn(e, "\n")] = '\0';
		*err_out = e;
		if (out.len)
			out.s[0] = '\0'; /* nothing of it is returned */
	}
	/* pg_dump 15.14+ brackets its script in \restrict/\unrestrict psql
	 * commands; the server takes SQL only */
	struct buf sql = BUF_INIT;
	buf_init(&sql);
	for (char *line = out.s; line && *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
		if (strncmp(line, "\\restrict ", 10) && strncmp(line, "\\unrestrict ", 12))
			buf_add(&sql, line, len);
		line += len;
	}
	if (pw)
		free(envp[ne - 2]);
	free(envp), free(pw), free(url), free(snap), free(sect);
	buf_release(&out), buf_release(&err);
	if (*err_out) {
		buf_release(&sql);
		return NULL;
	}
	return buf_detach(&sql);
}

void prod_close(struct prod *p)
{
	if (p->conn) {
		db_exec_or_die(p->conn, "ROLLBACK");
		db_close(p->conn);
	}
	for (size_t i = 0; i < p->ntables; i++) {
		struct table *t = p->tables[i];
		for (size_t c = 0; c < t->ncols; c++) {
			free(t->cols[c].name), free(t->cols[c].type), free(t->cols[c].mask.fixed);
		}
		free(t->cols), free(t->keys), free(t->fks), free(t->pk);
		free(t->schema), free(t->name), free(t->qname), free(t);
	}
	for (size_t k = 0; k < p->nkeys; k++) {
		keyset_release(&p->keys[k]->loaded), keyset_release(&p->keys[k]->wanted);
		free(p->keys[k]->cols), free(p->keys[k]);
	}
	for (size_t k = 0; k < p->nfks; k++)
		free(p->fks[k]->name), free(p->fks[k]->cols), free(p->fks[k]);
	free(p->tables), free(p->keys), free(p->fks);
	free(p->url), free(p->version), free(p->snapshot), free(p->sysid), free(p->encoding);
	memset(p, 0, sizeof(*p));
}
