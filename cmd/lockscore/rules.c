/*
 * rules: findings for a migration, each with a stable id, a severity that
 * grows with how long the statement blocks the application, a message that
 * says what it blocks and for how long, and a fix: the safe SQL for that
 * very statement. Ids are the table below (rule_info; `lockscore
 * --list-rules`): what the statement does, in PostgreSQL's words, never
 * renamed once released (suppressions and team policies name them).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lockscore.h"
#include "msg.h"
#include "pgvocab.h"
#include "nd.h"
#include "xalloc.h"

void finding_add(struct migration *m, const struct stmt *st, const char *rule, const char *severity,
		 const char *table, char *message_take, char *fix_take)
{
	if (!rule_find(rule))
		BUG("a finding of rule '%s', which the rule table does not list", rule);
	xgrow(&m->findings, &m->capfindings, m->nfindings + 1, sizeof(*m->findings));
	struct finding *f = &m->findings[m->nfindings++];
	f->rule = xstrdup(rule);
	f->severity = xstrdup(severity);
	f->table = table ? xstrdup(table) : NULL;
	f->message = message_take;
	f->fix = fix_take;
	f->stmt = st ? st->index : 0;
	f->line = st ? st->line : 0;
	f->what = NULL;
	f->rollback = false;
	f->mode = LM_NONE;
	f->rows = -1;
}

/* fmt_ms: ms in the suite's one spelling of a duration (pgvocab), or what
 * an unknown one means here */
static void fmt_ms(double ms, char *out, size_t cap)
{
	struct buf b = BUF_INIT;
	if (ms < 0)
		buf_adds(&b, "an unknown time (table size unknown)");
	else
		pgv_duration_text(&b, ms);
	snprintf(out, cap, "%s", b.s);
	buf_release(&b);
}

/* Severity of blocking the application for ms: under a second is low,
 * under 30 s medium, longer high; unknown sizes count as medium. */
static const char *blocking_severity(double ms)
{
	if (ms < 0)
		return "medium";
	return ms < 1000 ? "low" : ms < 30000 ? "medium"
					      : "high";
}

static const char *blocks_what(enum lockmode m)
{
	return lockmode_blocks_reads(m) ? "reads and writes" : lockmode_blocks_writes(m) ? "writes"
											 : "schema changes";
}

/* The first table the statement locks in its strongest mode. */
static const char *main_table(const struct stmt *st)
{
	enum lockmode best = LM_NONE;
	const char *t = NULL;
	for (size_t i = 0; i < st->eff.nlocks; i++)
		if (st->eff.locks[i].mode > best) {
			best = st->eff.locks[i].mode;
			t = st->eff.locks[i].table;
		}
	return t;
}

static bool created_here(const struct strmap *created, const char *table)
{
	return table && strmap_get(created, table);
}

/* Insert text after the first whole word `word` (case-insensitive). */
static char *insert_after_word(const char *sql, const char *word, const char *text)
{
	size_t n = strlen(word);
	for (const char *p = sql; *p; p++)
		if (!strncasecmp(p, word, n) && (p == sql || p[-1] == ' ' || p[-1] == '\n') &&
		    (p[n] == ' ' || p[n] == '\n' || p[n] == '\t'))
			return xasprintf("%.*s%s%s", (int)(p - sql + (long)n), sql, text, p + n);
	return xstrdup(sql);
}

static char *blocking_message(const char *what, const char *table, enum lockmode m, double rows, double est_lock_ms)
{
	char dur[64];
	fmt_ms(est_lock_ms, dur, sizeof dur);
	char size[64] = "";
	if (rows >= 0)
		snprintf(size, sizeof size, " (~%.0f rows)", rows);
	return xasprintf("%s %s%s: %s on %s blocks %s for about %s", what, table, size, lockmode_name(m), table,
			 blocks_what(m), dur);
}

/* ---- per-statement rules ---- */

struct rc {
	struct catalog *cat;
	const struct opts *o;
	struct migration *m;
	struct stmt *st;
	const struct strmap *created;
};

/* madd: a finding unless the rule is disabled or suppressed at st. */
static void madd(const struct opts *o, struct migration *m, const struct stmt *st, enum rule_id rule,
		 const char *sev, const char *table, char *msg, char *fix)
{
	const char *id = rule_table[rule].id;
	if (strv_index(&o->disabled, id) >= 0 || strv_index(&st->ignore, id) >= 0 || strv_index(&st->ignore, "all") >= 0) {
		free(msg);
		free(fix);
		return;
	}
	finding_add(m, st, id, sev, table, msg, fix);
}

static void add(struct rc *r, enum rule_id rule, const char *sev, const char *table, char *msg, char *fix)
{
	madd(r->o, r->m, r->st, rule, sev, table, msg, fix);
}

/* add_blocking: a finding whose severity and message depend on how long
 * the statement's locks are held, which is known only once the whole
 * transaction is read: finalised by rules_migration. tail (taken) is
 * appended to the message. */
static void add_blocking(struct rc *r, enum rule_id rule, const char *table, const char *what, char *tail, char *fix)
{
	size_t before = r->m->nfindings;
	add(r, rule, "medium", table, tail ? tail : xstrdup(""), fix);
	if (r->m->nfindings > before) {
		struct finding *f = &r->m->findings[before];
		f->what = xstrdup(what);
		f->mode = effect_mode(&r->st->eff, table);
		f->rows = r->st->eff.work_rows;
	}
}

static void rule_index(struct rc *r)
{
	const cJSON *n = r->st->node;
	const char *table = main_table(r->st);
	if (sql_jbool(n, "concurrent")) {
		const cJSON *rv = sql_jget(n, "relation");
		const char *sch = sql_jstr(rv, "schemaname");
		const struct cat_table *ct = catalog_table(r->cat, sch ? sch : "public", sql_jstr(rv, "relname"));
		table = ct ? ct->qname : table;
		if (ct && ct->partition_by)
			add(r, RULE_CONCURRENT_INDEX_ON_PARTITIONED, "high", table,
			    xasprintf("CREATE INDEX CONCURRENTLY is not supported on the partitioned table %s: the migration fails", table),
			    xstrdup("build the index CONCURRENTLY on each partition, then CREATE INDEX ... ON ONLY the parent and ALTER INDEX ... ATTACH PARTITION each one"));
		return;
	}
	if (!table || created_here(r->created, table))
		return;
	char *fix = insert_after_word(r->st->sql, "INDEX", " CONCURRENTLY");
	char *fix2 = xasprintf("%s;  -- in its own migration, outside a transaction; if it fails, DROP INDEX CONCURRENTLY the invalid index and retry", fix);
	free(fix);
	add_blocking(r, RULE_CREATE_INDEX_NON_CONCURRENTLY, table, "CREATE INDEX builds the index on", NULL, fix2);
}

static void rule_drop_index(struct rc *r, const struct strv *nm)
{
	if (sql_jbool(r->st->node, "concurrent"))
		return;
	const char *table = main_table(r->st);
	if (!table || created_here(r->created, table))
		return;
	add(r, RULE_DROP_INDEX_NON_CONCURRENTLY, "low", table,
	    xasprintf("DROP INDEX %s takes AccessExclusiveLock on %s: brief, but it queues behind long transactions and everything queues behind it",
		      nm->v[nm->n - 1], table),
	    xasprintf("DROP INDEX CONCURRENTLY IF EXISTS %s;  -- outside a transaction", nm->v[nm->n - 1]));
}

static void rule_drop(struct rc *r)
{
	const char *rt = sql_jstr(r->st->node, "removeType");
	const char *b = sql_jstr(r->st->node, "behavior");
	const cJSON *obj;
	if (!rt)
		return;
	cJSON_ArrayForEach(obj, sql_jget(r->st->node, "objects"))
	{
		struct strv nm = STRV_INIT;
		if (sql_node(obj, "List"))
			sql_name_list(sql_jget(sql_node(obj, "List"), "items"), &nm);
		else if (sql_node(obj, "TypeName"))
			sql_name_list(sql_jget(sql_node(obj, "TypeName"), "names"), &nm);
		else if (sql_strval(obj))
			strv_push(&nm, sql_strval(obj));
		if (!nm.n) {
			strv_release(&nm);
			continue;
		}
		const char *name = nm.v[nm.n - 1];
		bool cascade = b && strstr(b, "CASCADE");
		struct cat_index *ix = !strcmp(rt, "OBJECT_INDEX") ? catalog_index(r->cat, nm.n > 1 ? nm.v[0] : "public", name) : NULL;
		struct cat_enum *en = !strcmp(rt, "OBJECT_TYPE") ? catalog_enum(r->cat, nm.n > 1 ? nm.v[0] : "public", name) : NULL;
		bool type_used = false;
		char *ty = en ? cat_type_name(en->schema, en->name, false) : NULL;
		for (size_t i = 0; ty && i < r->cat->ntables; i++)
			for (size_t k = 0; k < r->cat->tables[i]->ncols; k++)
				type_used |= !strncmp(r->cat->tables[i]->cols[k].type, ty, strlen(ty));
		free(ty);
		if (ix && ix->constraint)
			add(r, RULE_STATEMENT_WILL_FAIL, "high", ix->table,
			    xasprintf("DROP INDEX %s fails: the constraint %s on %s requires it", name, ix->constraint, ix->table),
			    xasprintf("ALTER TABLE ... DROP CONSTRAINT %s;  -- drops the index with it", ix->constraint));
		else if (en && type_used && !cascade)
			add(r, RULE_STATEMENT_WILL_FAIL, "high", NULL,
			    xasprintf("DROP TYPE %s fails: columns still use it", name),
			    xstrdup("change or drop those columns first (or DROP TYPE ... CASCADE, which drops them and their data)"));
		else if (en && type_used)
			add(r, RULE_DROP_COLUMN, "high", NULL, xasprintf("DROP TYPE %s CASCADE drops every column of that type, and its data", name), NULL);
		else if (!strcmp(rt, "OBJECT_INDEX"))
			rule_drop_index(r, &nm);
		else if (!strcmp(rt, "OBJECT_TABLE")) {
			char *q = cat_qname(nm.n > 1 ? nm.v[0] : "public", name);
			if (!created_here(r->created, q))
				add(r, RULE_DROP_TABLE, "high", q,
				    xasprintf("DROP TABLE %s destroys its data%s, and takes AccessExclusiveLock on it and on every table its foreign keys reference",
					      q, b && strstr(b, "CASCADE") ? " and, with CASCADE, the views and foreign keys that depend on it" : ""),
				    xasprintf("stop using %s in the application and deploy; then drop its foreign keys in one migration (SET lock_timeout = '1s'); then DROP TABLE IF EXISTS %s; in a later one",
					      q, q));
			free(q);
		} else if (!strcmp(rt, "OBJECT_SCHEMA")) {
			add(r, RULE_DROP_SCHEMA, "high", NULL, xasprintf("DROP SCHEMA %s destroys every object in it", name), NULL);
		} else if (!strcmp(rt, "OBJECT_MATVIEW") || !strcmp(rt, "OBJECT_VIEW")) {
			add(r, RULE_DROP_VIEW, "medium", NULL,
			    xasprintf("DROP VIEW %s breaks every query and client that still reads it", name),
			    xstrdup("drop the view only after no deployed code reads it"));
		}
		strv_release(&nm);
	}
}

static void rule_truncate(struct rc *r)
{
	const char *b = sql_jstr(r->st->node, "behavior");
	const char *table = main_table(r->st);
	bool cascade = b && strstr(b, "CASCADE");
	add(r, cascade ? RULE_TRUNCATE_CASCADE : RULE_TRUNCATE, "high", table,
	    xasprintf("TRUNCATE destroys every row of %s%s under AccessExclusiveLock; it is not MVCC-safe", table ? table : "the table",
		      cascade ? " and, through CASCADE, of every table that references it, recursively" : ""),
	    xstrdup(cascade ? "name every table explicitly (TRUNCATE a, b;) after checking none holds data you need"
			    : "delete in batches (DELETE ... WHERE id IN (SELECT id ... LIMIT 10000)) if the data must go while the application runs"));
}

static char *table_sql(const struct cat_table *t)
{
	char *s = cat_quote_ident(t->schema), *n = cat_quote_ident(t->name);
	char *q = xasprintf("%s.%s", s, n);
	free(s);
	free(n);
	return q;
}

static void rule_add_column(struct rc *r, struct cat_table *t, const cJSON *cd)
{
	const char *col = sql_jstr(cd, "colname");
	bool notnull = false, has_default = false, generated = false, identity = false;
	const char *serial = NULL;
	char *type = sql_format_type(sql_jget(cd, "typeName"), &serial);
	const cJSON *cc;
	cJSON_ArrayForEach(cc, sql_jget(cd, "constraints"))
	{
		const char *ct = sql_jstr(sql_node(cc, "Constraint"), "contype");
		notnull |= ct && !strcmp(ct, "CONSTR_NOTNULL");
		has_default |= ct && !strcmp(ct, "CONSTR_DEFAULT");
		generated |= ct && !strcmp(ct, "CONSTR_GENERATED");
		identity |= ct && !strcmp(ct, "CONSTR_IDENTITY");
	}
	char *tq = table_sql(t);
	bool unique = false, pk = false;
	cJSON_ArrayForEach(cc, sql_jget(cd, "constraints"))
	{
		const char *ct = sql_jstr(sql_node(cc, "Constraint"), "contype");
		unique |= ct && !strcmp(ct, "CONSTR_UNIQUE");
		pk |= ct && !strcmp(ct, "CONSTR_PRIMARY");
	}
	const struct cat_domain *dom = catalog_domain_of_type(r->cat, type);
	if (r->st->eff.rewrites.n > 0 && dom && domain_has_constraints(dom) && !has_default && !generated) {
		char *what = xasprintf("ADD COLUMN of domain %s, which has constraints, checks them on every row and rewrites",
				       dom->qname);
		struct buf checks;
		buf_init(&checks);
		for (size_t i = 0; i < dom->checks.n; i++)
			buf_addf(&checks, "%s(%s)", i ? " AND " : "", dom->checks.v[i]);
		if (dom->not_null)
			buf_addf(&checks, "%sVALUE IS NOT NULL", dom->checks.n ? " AND " : "");
		add_blocking(r, RULE_ADD_COLUMN_CONSTRAINED_DOMAIN, t->qname, what, NULL,
			     xasprintf("ALTER TABLE %s ADD COLUMN %s %s;  -- the base type: no rewrite; then ADD CONSTRAINT ... CHECK (%s, with %s for VALUE) NOT VALID, and VALIDATE CONSTRAINT in a later migration",
				       tq, col, dom->base_type, checks.s, col));
		buf_release(&checks);
		free(what);
	} else if (r->st->eff.rewrites.n > 0) {
		enum rule_id rule = generated		   ? RULE_ADD_COLUMN_GENERATED_STORED
				    : (serial || identity) ? RULE_ADD_COLUMN_SERIAL_OR_IDENTITY
							   : RULE_ADD_COLUMN_VOLATILE_DEFAULT;
		add_blocking(r, rule, t->qname, "ADD COLUMN with a per-row value rewrites", NULL,
			     xasprintf("ALTER TABLE %s ADD COLUMN %s %s;  -- then, in later migrations: set the default for new rows, backfill in batches (UPDATE ... WHERE id BETWEEN ...), then the NOT NULL steps",
				       tq, col, serial ? serial : type));
	} else if (notnull && !has_default) {
		add(r, RULE_ADD_COLUMN_REQUIRED, "high", t->qname,
		    xasprintf("ADD COLUMN %s NOT NULL without a default fails on %s as soon as it has a row, and old application code that does not set %s fails its INSERTs",
			      col, t->qname, col),
		    xasprintf("ALTER TABLE %s ADD COLUMN %s %s NOT NULL DEFAULT <value>;  -- a constant default is free on PostgreSQL 11+", tq, col, type));
	}
	if ((unique || pk) && !r->st->eff.rewrites.n)
		add_blocking(r, pk ? RULE_ADD_PRIMARY_KEY : RULE_ADD_UNIQUE_CONSTRAINT, t->qname, pk ? "ADD COLUMN ... PRIMARY KEY builds its index on" : "ADD COLUMN ... UNIQUE builds its index on", NULL,
			     xasprintf("ALTER TABLE %s ADD COLUMN %s %s;  -- then CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... %s USING INDEX",
				       tq, col, type, pk ? "PRIMARY KEY" : "UNIQUE"));
	if (!strcmp(type, "json") || !strcmp(type, "json[]"))
		add(r, RULE_JSON_COLUMN, "low", t->qname, xasprintf("column %s is json, which has no equality operator (DISTINCT, GROUP BY fail)", col),
		    xasprintf("ALTER TABLE %s ADD COLUMN %s jsonb;", tq, col));
	if (!strncmp(type, "character(", 10))
		add(r, RULE_CHAR_TYPE, "low", t->qname, xasprintf("column %s is %s: blank-padded, no benefit in PostgreSQL", col, type),
		    xstrdup("use text (or varchar)"));
	if (!strcmp(type, "timestamp without time zone") || (!strncmp(type, "timestamp(", 10) && strstr(type, "without")))
		add(r, RULE_PREFER_TIMESTAMPTZ, "low", t->qname, xasprintf("column %s is %s: the time zone is dropped on storage", col, type),
		    xstrdup("use timestamptz"));
	free(type);
	free(tq);
}

static void rule_alter_type(struct rc *r, struct cat_table *t, const cJSON *cmd)
{
	const char *col = sql_jstr(cmd, "name");
	char *tq = table_sql(t);
	if (strv_index(&r->st->eff.rewrites, t->qname) >= 0 && !created_here(r->created, t->qname))
		add_blocking(r, RULE_CHANGE_COLUMN_TYPE, t->qname, "changing the type of a column rewrites", NULL,
			     xasprintf("expand and contract: ALTER TABLE %s ADD COLUMN %s_new <type>; keep it in sync with a trigger; backfill in batches; build indexes CONCURRENTLY; swap with RENAME in one short transaction; drop %s later",
				       tq, col, col));
	else if (strv_index(&r->st->eff.scans, t->qname) >= 0)
		add_blocking(r, RULE_TYPE_CHANGE_WITH_CHECK_CONSTRAINTS, t->qname, "the CHECK constraints on the column are re-checked, scanning", NULL,
			     xstrdup("drop the CHECK constraints, change the type, re-add them NOT VALID, then VALIDATE CONSTRAINT"));
	free(tq);
}

static void rule_set_not_null(struct rc *r, struct cat_table *t, const char *col)
{
	if (strv_index(&r->st->eff.scans, t->qname) < 0 || created_here(r->created, t->qname))
		return;
	char *tq = table_sql(t);
	char *cn = cat_make_object_name(t->name, col, "not_null");
	add_blocking(r, RULE_SET_NOT_NULL_EXISTING_COLUMN, t->qname, "SET NOT NULL scans", NULL,
		     xasprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID;\n"
			       "-- next migration:\nALTER TABLE %s VALIDATE CONSTRAINT %s;\n"
			       "ALTER TABLE %s ALTER COLUMN %s SET NOT NULL;  -- no scan: the valid CHECK proves it\n"
			       "ALTER TABLE %s DROP CONSTRAINT %s;",
			       tq, cn, col, tq, cn, tq, col, tq, cn));
	free(cn);
	free(tq);
}

static void rule_constraint(struct rc *r, struct cat_table *t, const cJSON *con)
{
	const char *ct = sql_jstr(con, "contype"), *name = sql_jstr(con, "conname");
	if (!ct || created_here(r->created, t->qname))
		return;
	char *tq = table_sql(t);
	char *expr = sql_deparse_expr(sql_jget(con, "raw_expr"), r->st->src);
	bool not_valid = sql_jbool(con, "skip_validation");
	if (!strcmp(ct, "CONSTR_CHECK") && !not_valid) {
		add_blocking(r, RULE_ADD_CHECK_WITHOUT_NOT_VALID, t->qname, "ADD CHECK validates every row of", NULL,
			     xasprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s) NOT VALID;\n-- next migration:\nALTER TABLE %s VALIDATE CONSTRAINT %s;",
				       tq, name ? name : "<name>", expr, tq, name ? name : "<name>"));
	} else if (!strcmp(ct, "CONSTR_FOREIGN") && !not_valid) {
		struct strv cols = STRV_INIT;
		sql_name_list(sql_jget(con, "fk_attrs"), &cols);
		char *cl = strv_join(&cols, ", ");
		char *ref = NULL;
		for (size_t i = 0; i < r->st->eff.nlocks && !ref; i++)
			if (strcmp(r->st->eff.locks[i].table, t->qname))
				ref = r->st->eff.locks[i].table;
		add_blocking(r, RULE_ADD_FK_WITHOUT_NOT_VALID, t->qname, "ADD FOREIGN KEY checks every row of",
			     xasprintf("; ShareRowExclusiveLock on %s blocks its writes too", ref ? ref : "the referenced table"),
			     xasprintf("ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (%s) REFERENCES ... NOT VALID;\n-- next migration:\nALTER TABLE %s VALIDATE CONSTRAINT %s;\n-- and index the referencing columns: CREATE INDEX CONCURRENTLY ON %s (%s);",
				       tq, name ? name : "<name>", cl, tq, name ? name : "<name>", tq, cl));
		free(cl);
		strv_release(&cols);
	} else if ((!strcmp(ct, "CONSTR_UNIQUE") || !strcmp(ct, "CONSTR_PRIMARY")) && !sql_jstr(con, "indexname")) {
		bool pk = !strcmp(ct, "CONSTR_PRIMARY");
		struct strv cols = STRV_INIT;
		sql_name_list(sql_jget(con, "keys"), &cols);
		char *cl = strv_join(&cols, ", ");
		char *ix = cat_make_object_name(t->name, pk ? "pkey" : cols.n ? cols.v[0]
									      : "key",
						"idx");
		add_blocking(r, pk ? RULE_ADD_PRIMARY_KEY : RULE_ADD_UNIQUE_CONSTRAINT, t->qname, pk ? "ADD PRIMARY KEY builds its index on" : "ADD UNIQUE builds its index on", NULL,
			     xasprintf("CREATE UNIQUE INDEX CONCURRENTLY %s ON %s (%s);  -- its own migration\nALTER TABLE %s ADD CONSTRAINT %s %s USING INDEX %s;",
				       ix, tq, cl, tq, name ? name : "<name>", pk ? "PRIMARY KEY" : "UNIQUE", ix));
		free(ix);
		free(cl);
		strv_release(&cols);
	} else if (!strcmp(ct, "CONSTR_PRIMARY") && strv_index(&r->st->eff.scans, t->qname) >= 0) {
		add_blocking(r, RULE_PK_USING_INDEX_ON_NULLABLE, t->qname, "PRIMARY KEY USING INDEX over nullable columns runs SET NOT NULL, scanning", NULL,
			     xstrdup("make each column NOT NULL first with CHECK (col IS NOT NULL) NOT VALID, VALIDATE, SET NOT NULL"));
	} else if (!strcmp(ct, "CONSTR_EXCLUSION")) {
		add_blocking(r, RULE_ADD_EXCLUSION_CONSTRAINT, t->qname, "ADD EXCLUDE builds its index on", NULL,
			     xstrdup("there is no online way to add an exclusion constraint: schedule downtime, or build a new table and switch"));
	}
	free(expr);
	free(tq);
}

static bool cascade_cmd(const cJSON *cmd)
{
	const char *b = sql_jstr(cmd, "behavior");
	return b && strstr(b, "CASCADE");
}

/* Is constraint name of t a key that foreign keys of other tables use? */
static bool referenced_key(const struct catalog *cat, const struct cat_table *t, const char *name)
{
	for (size_t i = 0; i < cat->nindexes; i++) {
		const struct cat_index *ix = cat->indexes[i];
		if (!ix->constraint || strcmp(ix->constraint, name) || strcmp(ix->table, t->qname))
			continue;
		for (size_t k = 0; k < cat->nfks; k++)
			if (!strcmp(cat->fks[k]->ref_table, t->qname) && strcmp(cat->fks[k]->table, t->qname) &&
			    strv_equal(&cat->fks[k]->ref_columns, &ix->columns))
				return true;
	}
	return false;
}

static void rule_alter_cmd(struct rc *r, struct cat_table *t, const cJSON *cmd)
{
	const char *sub = sql_jstr(cmd, "subtype"), *name = sql_jstr(cmd, "name");
	const cJSON *def = sql_jget(cmd, "def");
	char *tq = table_sql(t);
	if (!sub) {
		free(tq);
		return;
	}
	if (!strcmp(sub, "AT_AddColumn") && !created_here(r->created, t->qname))
		rule_add_column(r, t, sql_node(def, "ColumnDef"));
	else if (!strcmp(sub, "AT_AlterColumnType"))
		rule_alter_type(r, t, cmd);
	else if (!strcmp(sub, "AT_SetNotNull"))
		rule_set_not_null(r, t, name);
	else if (!strcmp(sub, "AT_AddConstraint"))
		rule_constraint(r, t, sql_node(def, "Constraint"));
	else if (!strcmp(sub, "AT_DropColumn") && !created_here(r->created, t->qname))
		add(r, RULE_DROP_COLUMN, "medium", t->qname,
		    xasprintf("DROP COLUMN %s destroys its data, and running code that still reads or writes it fails (ORMs cache the column list)", name),
		    xasprintf("stop reading and writing %s in the application (ignore the column) and deploy; then ALTER TABLE %s DROP COLUMN IF EXISTS %s; in a post-deploy migration",
			      name, tq, name));
	else if (!strcmp(sub, "AT_DropNotNull"))
		add(r, RULE_DROP_NOT_NULL, "low", t->qname, xasprintf("DROP NOT NULL on %s: code that assumes a value may meet NULLs", name), NULL);
	else if (!strcmp(sub, "AT_DropConstraint") && !cascade_cmd(cmd) && referenced_key(r->cat, t, name))
		add(r, RULE_STATEMENT_WILL_FAIL, "high", t->qname,
		    xasprintf("DROP CONSTRAINT %s fails: foreign keys of other tables depend on it", name),
		    xstrdup("drop those foreign keys first, in their own migrations"));
	else if (!strcmp(sub, "AT_DropConstraint") && catalog_fk(r->cat, t->qname, name))
		add(r, RULE_DROP_FOREIGN_KEY, "low", t->qname,
		    xasprintf("dropping the foreign key %s takes AccessExclusiveLock on %s and on the table it references", name, t->qname),
		    xstrdup("SET lock_timeout = '1s'; and retry on timeout"));
	else if ((!strcmp(sub, "AT_SetLogged") || !strcmp(sub, "AT_SetUnLogged") || !strcmp(sub, "AT_SetAccessMethod") ||
		  !strcmp(sub, "AT_SetTableSpace")) &&
		 !created_here(r->created, t->qname) &&
		 strv_index(&r->st->eff.rewrites, t->qname) >= 0)
		add_blocking(r, RULE_TABLE_REWRITE, t->qname, "this ALTER TABLE form copies every row of", NULL,
			     xstrdup("build a new table and switch, or schedule the rewrite in a maintenance window"));
	else if (!strcmp(sub, "AT_DetachPartition") && !sql_jbool(sql_node(def, "PartitionCmd"), "concurrent") &&
		 r->st->eff.scans.n)
		add_blocking(r, RULE_DETACH_PARTITION_SCAN, t->qname,
			     "DETACH PARTITION checks the tables that reference the partitioned table, scanning", NULL,
			     xasprintf("ALTER TABLE %s DETACH PARTITION ... CONCURRENTLY;  -- PostgreSQL 14+, outside a transaction, no default partition", tq));
	else if (!strcmp(sub, "AT_DetachPartition") && !sql_jbool(sql_node(def, "PartitionCmd"), "concurrent"))
		add(r, RULE_DETACH_PARTITION_NON_CONCURRENTLY, "low", t->qname,
		    xasprintf("DETACH PARTITION takes AccessExclusiveLock on %s and its partition (and ShareLock on tables that reference it)", t->qname),
		    xasprintf("ALTER TABLE %s DETACH PARTITION ... CONCURRENTLY;  -- PostgreSQL 14+, outside a transaction, no default partition", tq));
	else if (!strcmp(sub, "AT_AttachPartition") && r->st->eff.scans.n)
		add_blocking(r, RULE_ATTACH_PARTITION_SCAN, r->st->eff.scans.v[0],
			     "ATTACH PARTITION checks the bound of the new partition, scanning", NULL,
			     xstrdup("first add a CHECK constraint matching the partition bound (NOT VALID, then VALIDATE): ATTACH then skips the scan"));
	else if (!strcmp(sub, "AT_EnableRowSecurity") || !strcmp(sub, "AT_DisableRowSecurity") || !strcmp(sub, "AT_ForceRowSecurity"))
		add(r, RULE_AUTHZ_CHANGE, "low", t->qname, xasprintf("row-level security changes on %s: queries may fail or see other rows", t->qname), NULL);
	free(tq);
}

static void rule_alter_table(struct rc *r)
{
	const cJSON *rv = sql_jget(r->st->node, "relation"), *cmd;
	const char *s = sql_jstr(rv, "schemaname");
	struct cat_table *t = catalog_table(r->cat, s ? s : "public", sql_jstr(rv, "relname"));
	if (!t)
		return;
	cJSON_ArrayForEach(cmd, sql_jget(r->st->node, "cmds")) rule_alter_cmd(r, t, sql_node(cmd, "AlterTableCmd"));
}

/* rule_dml: one DML the statement runs, d (the statement itself or one
 * nested in it: the same rules either way); first: the statement's first. */
static void rule_dml(struct rc *r, const struct dml *d, bool first)
{
	const char *table = NULL;
	/* the DML's own table first (a trace lists locks in its own order),
	 * else the first table the statement writes */
	for (size_t i = 0; i < r->st->eff.nlocks && !table; i++)
		if (r->st->eff.locks[i].mode == LM_RE && !strcmp(r->st->eff.locks[i].table, d->table))
			table = r->st->eff.locks[i].table;
	for (size_t i = 0; i < r->st->eff.nlocks && !table; i++)
		if (r->st->eff.locks[i].mode == LM_RE)
			table = r->st->eff.locks[i].table;
	if (!table || created_here(r->created, table))
		return;
	/* the other tables written: through foreign keys' actions, or by
	 * the triggers the statement fires */
	size_t fan = 0, nfired = 0;
	struct buf others, fired;
	buf_init(&others);
	buf_init(&fired);
	for (size_t i = 0; i < r->st->eff.nlocks; i++) {
		const char *t = r->st->eff.locks[i].table;
		if (r->st->eff.locks[i].mode != LM_RE || !strcmp(t, table) || strv_index(&r->st->eff.routed, t) >= 0)
			continue;
		if (strv_index(&r->st->eff.fired, t) >= 0)
			buf_addf(&fired, "%s%s", nfired++ ? ", " : "", t);
		else if (r->st->eff.ndml == 1 || strv_index(&d->fan, t) >= 0)
			buf_addf(&others, "%s%s", fan++ ? ", " : "", t);
	}
	if (first && r->st->eff.no_partition)
		add(r, RULE_STATEMENT_WILL_FAIL, "high", r->st->eff.no_partition,
		    xasprintf("INSERT fails: no partition of %s takes one of its rows, and it has no default partition",
			      r->st->eff.no_partition),
		    xasprintf("create the partition that takes the row first (CREATE TABLE ... PARTITION OF %s FOR VALUES ...), or a DEFAULT partition",
			      r->st->eff.no_partition));
	char dur[64];
	fmt_ms(r->st->est_ms, dur, sizeof dur);
	bool del = d->deletes;
	const char *sev = blocking_severity(r->st->est_ms);
	if (fan && del)
		add(r, RULE_CASCADING_DELETE, pgv_severity_rank(sev) < 2 && r->st->est_ms < 0 ? "medium" : sev, table,
		    xasprintf("%s on %s cascades through ON DELETE CASCADE to %s%s%s: every matching row there is deleted and locked too, about %s of row locks and WAL%s",
			      d->verb, table, others.s, nfired ? ", and its triggers write " : "", nfired ? fired.s : "", dur,
			      r->st->in_tx ? ", held until the transaction ends" : ""),
		    xasprintf("delete the children first, in batches (DELETE FROM <child> WHERE ctid IN (SELECT ctid FROM <child> WHERE ... LIMIT 10000)), then the parents in batches, each batch its own transaction"));
	else if (r->st->eff.work_rows < 0 || r->st->eff.work_rows > 10000)
		add(r, RULE_BACKFILL_IN_MIGRATION, sev, table,
		    xasprintf("%s touches %s rows of %s%s%s%s%s (about %s, row locks and WAL%s)",
			      d->verb,
			      r->st->eff.work_rows < 0 ? "an unknown number of" : "many", table,
			      fan ? " and, through foreign keys, " : "", fan ? others.s : "",
			      nfired ? " and, through triggers, " : "", nfired ? fired.s : "", dur,
			      r->st->in_tx ? "; locks held until the transaction ends" : ""),
		    xstrdup("run it in batches outside the migration transaction: UPDATE ... WHERE id BETWEEN $1 AND $2, one transaction per batch, with a pause between batches"));
	buf_release(&others);
	buf_release(&fired);
}

static void rule_misc(struct rc *r)
{
	const char *type = r->st->type, *table = main_table(r->st);
	const cJSON *n = r->st->node;
	if (!strcmp(type, "RefreshMatViewStmt") && !sql_jbool(n, "concurrent"))
		add_blocking(r, RULE_REFRESH_MATVIEW_NON_CONCURRENTLY, table, "REFRESH MATERIALIZED VIEW recomputes", NULL,
			     insert_after_word(r->st->sql, "VIEW", " CONCURRENTLY"));
	else if ((!strcmp(type, "VacuumStmt") && r->st->eff.rewrites.n) || !strcmp(type, "ClusterStmt"))
		add_blocking(r, RULE_VACUUM_FULL_OR_CLUSTER, table, "VACUUM FULL / CLUSTER rewrites", NULL,
			     xstrdup("use pg_repack (or REPACK CONCURRENTLY on PostgreSQL 19+), or schedule a maintenance window"));
	else if (!strcmp(type, "ReindexStmt") && effect_max_mode(&r->st->eff) == LM_S)
		add_blocking(r, RULE_REINDEX_NON_CONCURRENTLY, table, "REINDEX rebuilds indexes of", NULL, insert_after_word(r->st->sql, "INDEX", " CONCURRENTLY"));
	else if (!strcmp(type, "LockStmt") && effect_max_mode(&r->st->eff) >= LM_S)
		add(r, RULE_EXPLICIT_LOCK_TABLE, "low", table,
		    xasprintf("LOCK TABLE takes %s on %s until the transaction ends: it blocks %s", lockmode_name(effect_max_mode(&r->st->eff)),
			      table, blocks_what(effect_max_mode(&r->st->eff))),
		    xstrdup("take the weakest mode that protects the change, and keep the transaction short"));
	else if (!strcmp(type, "RenameStmt")) {
		const char *rt = sql_jstr(n, "renameType");
		if (rt && !strcmp(rt, "OBJECT_COLUMN"))
			add(r, RULE_RENAME_COLUMN, "medium", table,
			    xasprintf("RENAME COLUMN %s: application code still using the old name fails during and after the deploy", sql_jstr(n, "subname")),
			    xstrdup("add the new column, write both, backfill, switch reads, drop the old column (or rename only in the ORM)"));
		else if (rt && (!strcmp(rt, "OBJECT_TABLE") || !strcmp(rt, "OBJECT_VIEW") || !strcmp(rt, "OBJECT_MATVIEW")))
			add(r, !strcmp(rt, "OBJECT_TABLE") ? RULE_RENAME_TABLE : RULE_RENAME_VIEW, "medium", table,
			    xstrdup("RENAME TO: application code still using the old name fails during and after the deploy"),
			    xasprintf("CREATE VIEW %s AS SELECT * FROM <old>; deploy code using the new name; then in one transaction DROP VIEW and RENAME",
				      sql_jstr(n, "newname")));
	} else if (!strcmp(type, "AlterEnumStmt")) {
		if (sql_jstr(n, "oldVal"))
			add(r, RULE_RENAME_ENUM_VALUE, "medium", NULL,
			    xasprintf("RENAME VALUE '%s': clients reading or writing the old label break", sql_jstr(n, "oldVal")),
			    xasprintf("ADD VALUE '%s' AFTER '%s'; handle both in the application; backfill; stop using the old one",
				      sql_jstr(n, "newVal"), sql_jstr(n, "oldVal")));
		else if (!sql_jstr(n, "newValNeighbor"))
			add(r, RULE_ENUM_ADD_VALUE_UNORDERED, "low", NULL,
			    xasprintf("ADD VALUE '%s' without BEFORE/AFTER sorts last, which changes < and > and ORDER BY", sql_jstr(n, "newVal")),
			    NULL);
	} else if (!strcmp(type, "DoStmt")) {
		add(r, RULE_RAW_SQL_UNINSPECTABLE, "low", NULL, xstrdup("a DO block: its locks cannot be predicted statically; review it, or let applyexplain trace it"), NULL);
	} else if (!strcmp(type, "AlterDomainStmt") && r->st->eff.scans.n) {
		add_blocking(r, RULE_DOMAIN_CONSTRAINT_SCAN, table, "ALTER DOMAIN checks every column of the domain, scanning", NULL,
			     xstrdup("add the constraint NOT VALID, then ALTER DOMAIN ... VALIDATE CONSTRAINT in a later migration (or put the CHECK on the columns)"));
	} else if (!strcmp(type, "CreateStmt") && r->st->eff.scans.n) {
		add_blocking(r, RULE_PARTITION_OF_WITH_DEFAULT, r->st->eff.scans.v[0], "CREATE TABLE ... PARTITION OF scans the default partition", NULL,
			     xstrdup("create the table standalone, add a CHECK matching the bound (NOT VALID, then VALIDATE), then ATTACH PARTITION"));
	} else if (!strcmp(type, "CreateStmt")) {
		size_t fks = 0;
		for (size_t i = 0; i < r->st->eff.nlocks; i++)
			fks += r->st->eff.locks[i].mode == LM_SRE;
		if (fks > 1)
			add(r, RULE_CREATE_TABLE_MANY_FKS, "low", table,
			    xasprintf("CREATE TABLE with %zu foreign keys takes ShareRowExclusiveLock on %zu referenced tables at once", fks, fks),
			    xstrdup("create the table without foreign keys, then add each in its own migration (NOT VALID, then VALIDATE)"));
	}
}

void rules_stmt(struct catalog *cat, const struct opts *o, struct migration *m, struct stmt *st, const struct strmap *created)
{
	struct rc r = {cat, o, m, st, created};
	if (!strcmp(st->type, "IndexStmt"))
		rule_index(&r);
	else if (!strcmp(st->type, "DropStmt"))
		rule_drop(&r);
	else if (!strcmp(st->type, "TruncateStmt"))
		rule_truncate(&r);
	else if (!strcmp(st->type, "AlterTableStmt"))
		rule_alter_table(&r);
	else if (strcmp(st->type, "UpdateStmt") && strcmp(st->type, "DeleteStmt") && strcmp(st->type, "InsertStmt") &&
		 strcmp(st->type, "MergeStmt"))
		rule_misc(&r);
	for (size_t i = 0; i < st->eff.ndml; i++)
		rule_dml(&r, &st->eff.dml[i], i == 0);
	rules_session(o, m, st);
}

/* ---- escapes from the deploy's session and transaction ---- */

/* The timeouts the deploy sets (or relies on) and their bounds. */
static double timeout_bound(const struct opts *o, const char *name)
{
	if (!name)
		return -1;
	if (!strcmp(name, "lock_timeout"))
		return o->max_lock_timeout_ms;
	if (!strcmp(name, "statement_timeout") || !strcmp(name, "idle_in_transaction_session_timeout") ||
	    !strcmp(name, "transaction_timeout"))
		return o->max_statement_timeout_ms;
	return -1;
}

/* Milliseconds of a timeout's text as PostgreSQL reads it ("2s", "500",
 * "1.5min"; no unit is ms); -1 when it is not one (PostgreSQL refuses it). */
static double timeout_text_ms(const char *v)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = {{"", 1}, {"ms", 1}, {"us", 0.001}, {"s", 1000}, {"min", 60000}, {"h", 3600000}, {"d", 86400000}};
	char *end;
	double x = strtod(v, &end);
	if (end == v || x < 0)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	char unit[8];
	size_t n = strlen(end);
	while (n && isspace((unsigned char)end[n - 1]))
		n--;
	if (n >= sizeof unit)
		return -1;
	memcpy(unit, end, n);
	unit[n] = 0;
	for (size_t i = 0; i < sizeof units / sizeof *units; i++)
		if (!strcmp(unit, units[i].unit))
			return x * units[i].ms;
	return -1;
}

/* A constant's value as a timeout in ms; -2 when it is not a constant. */
static double const_ms(const cJSON *arg)
{
	const cJSON *ac = sql_node(arg, "A_Const");
	if (!ac)
		return -2;
	if (sql_jget(ac, "ival"))
		return (double)sql_jint(sql_jget(ac, "ival"), "ival");
	if (sql_jget(ac, "fval"))
		return timeout_text_ms(sql_jstr(sql_jget(ac, "fval"), "fval") ? sql_jstr(sql_jget(ac, "fval"), "fval") : "");
	if (sql_jget(ac, "sval"))
		return timeout_text_ms(sql_jstr(sql_jget(ac, "sval"), "sval") ? sql_jstr(sql_jget(ac, "sval"), "sval") : "");
	return -2;
}

/* Does a value (ms, < 0 unknown) switch timeout `name` off? why: how. */
static bool switches_off(const struct opts *o, const char *name, double ms, const char **why)
{
	double bound = timeout_bound(o, name);
	if (bound < 0)
		return false;
	if (ms == -2)
		*why = "to a value computed at run time";
	else if (ms == 0)
		*why = "to 0, which means no timeout";
	else if (ms > bound)
		*why = "to more than the bound (--max-lock-timeout / --max-statement-timeout)";
	else
		return false;
	return ms != -1;
}

/* What a SET or RESET (VariableSetStmt fields n) does to timeout `name`
 * (NULL: the first timeout it touches). */
static bool varset_switches_off(const struct opts *o, const cJSON *n, const char **name, const char **why)
{
	const char *kind = sql_jstr(n, "kind"), *var = sql_jstr(n, "name");
	if (!kind)
		return false;
	if (!strcmp(kind, "VAR_RESET_ALL")) {
		*name = "lock_timeout";
		*why = "back to the server's default (no timeout unless configured), with every other setting";
		return true;
	}
	if (timeout_bound(o, var) < 0)
		return false;
	*name = var;
	if (!strcmp(kind, "VAR_SET_DEFAULT") || !strcmp(kind, "VAR_RESET")) {
		*why = "back to the server's default (no timeout unless configured)";
		return true;
	}
	return !strcmp(kind, "VAR_SET_VALUE") && switches_off(o, var, const_ms(cJSON_GetArrayItem(sql_jget(n, "args"), 0)), why);
}

/* set_config(name, value, is_local) calls anywhere in the tree n. */
static void find_set_config(const cJSON *n, const cJSON **out, size_t *nout, size_t cap)
{
	for (const cJSON *k = n ? n->child : NULL; k; k = k->next) {
		if (k->string && !strcmp(k->string, "FuncCall") && cJSON_IsObject(k)) {
			const cJSON *fn = cJSON_GetArrayItem(sql_jget(k, "funcname"), cJSON_GetArraySize(sql_jget(k, "funcname")) - 1);
			const char *f = sql_strval(fn);
			if (f && !strcmp(f, "set_config") && *nout < cap)
				out[(*nout)++] = k;
		}
		if (cJSON_IsObject(k) || cJSON_IsArray(k))
			find_set_config(k, out, nout, cap);
	}
}

static void session_add(const struct opts *o, struct migration *m, const struct stmt *st, enum rule_id rule,
			const char *sev, char *msg, char *fix)
{
	madd(o, m, st, rule, sev, NULL, msg, fix);
}

static void timeout_finding(const struct opts *o, struct migration *m, const struct stmt *st, const char *what,
			    const char *name, const char *why)
{
	session_add(o, m, st, RULE_TIMEOUT_DISABLED, "high",
		    xasprintf("%s sets %s %s: the deploy's %s no longer holds, and a statement that waits on a lock waits as long as the lock is held, with every query on that table queued behind it",
			      what, name, why, name),
		    xasprintf("leave the timeouts to the deploy; if the migration needs its own, SET LOCAL %s = '2s' (a small value, never 0 or DEFAULT)",
			      name));
}

/* set_config(...) whose name (a constant) is a timeout, the role or the
 * search_path, or is computed at run time. */
static void rule_set_config(const struct opts *o, struct migration *m, const struct stmt *st, const cJSON *fc)
{
	const cJSON *args = sql_jget(fc, "args");
	const cJSON *ac = sql_node(cJSON_GetArrayItem(args, 0), "A_Const");
	const char *name = sql_jstr(sql_jget(ac, "sval"), "sval"), *why = NULL;
	if (!name) {
		timeout_finding(o, m, st, "set_config() with a name computed at run time", "a setting (maybe a timeout)",
				"to a value computed at run time");
		return;
	}
	if (!strcasecmp(name, "role") || !strcasecmp(name, "session_authorization"))
		session_add(o, m, st, RULE_SESSION_ROLE_CHANGE, "high",
			    xasprintf("set_config('%s', ...) runs the rest of the session as another role: its privileges and per-role settings, not the deploy's", name),
			    xstrdup("run the migration as the deploy's role; grant what it needs instead"));
	else if (!strcasecmp(name, "search_path"))
		session_add(o, m, st, RULE_SEARCH_PATH_CHANGE, "medium",
			    xstrdup("set_config('search_path', ...) changes which objects unqualified names resolve to for the rest of the session (the deploy's later statements and the rollback too)"),
			    xstrdup("qualify names with their schema instead"));
	else if (timeout_bound(o, name) >= 0 && switches_off(o, name, const_ms(cJSON_GetArrayItem(args, 1)), &why))
		timeout_finding(o, m, st, "set_config()", name, why);
}

/* SET / RESET, or the SET of ALTER ROLE, DATABASE or SYSTEM. */
static void rule_varset(const struct opts *o, struct migration *m, const struct stmt *st)
{
	const cJSON *n = st->node, *set = NULL;
	const char *type = st->type, *name = NULL, *why = NULL, *what = "SET";
	if (!strcmp(type, "VariableSetStmt"))
		set = n;
	else if (!strcmp(type, "AlterRoleSetStmt") || !strcmp(type, "AlterDatabaseSetStmt") || !strcmp(type, "AlterSystemStmt")) {
		set = sql_jget(n, "setstmt");
		what = !strcmp(type, "AlterRoleSetStmt")       ? "ALTER ROLE ... SET (for every later session of the role)"
		       : !strcmp(type, "AlterDatabaseSetStmt") ? "ALTER DATABASE ... SET (for every later session)"
							       : "ALTER SYSTEM (for the whole server)";
	}
	const char *var = sql_jstr(set, "name"), *kind = sql_jstr(set, "kind");
	if (set == n && kind && !strcmp(kind, "VAR_RESET_ALL"))
		what = "RESET ALL";
	else if (set == n && kind && !strcmp(kind, "VAR_RESET"))
		what = "RESET";
	if (set && varset_switches_off(o, set, &name, &why))
		timeout_finding(o, m, st, what, name, why);
	else if (set == n && var && kind && !strcmp(kind, "VAR_SET_VALUE") &&
		 (!strcmp(var, "role") || !strcmp(var, "session_authorization")))
		session_add(o, m, st, RULE_SESSION_ROLE_CHANGE, "high",
			    xasprintf("SET %s runs the rest of the session as another role: its privileges and per-role settings (timeouts included), not the deploy's",
				      !strcmp(var, "role") ? "ROLE" : "SESSION AUTHORIZATION"),
			    xstrdup("run the migration as the deploy's role; grant what it needs instead (or ALTER ... OWNER TO)"));
	else if (set == n && var && !strcmp(var, "search_path"))
		session_add(o, m, st, RULE_SEARCH_PATH_CHANGE, "medium",
			    xstrdup("SET search_path changes which objects unqualified names resolve to for the rest of the session (the deploy's later statements and the rollback too)"),
			    xstrdup("qualify names with their schema instead (or SET LOCAL search_path, which ends with the transaction)"));
}

void rules_session(const struct opts *o, struct migration *m, const struct stmt *st)
{
	const cJSON *n = st->node;
	const char *type = st->type;
	if (!n || !type)
		return;
	rule_varset(o, m, st);
	if (!strcmp(type, "DiscardStmt") && sql_jstr(n, "target") && !strcmp(sql_jstr(n, "target"), "DISCARD_ALL"))
		timeout_finding(o, m, st, "DISCARD ALL", "lock_timeout", "back to the server's default, with every other session setting");
	const char *tk = !strcmp(type, "TransactionStmt") ? sql_jstr(n, "kind") : NULL;
	if (tk && (!strcmp(tk, "TRANS_STMT_PREPARE") || !strcmp(tk, "TRANS_STMT_COMMIT_PREPARED") ||
		   !strcmp(tk, "TRANS_STMT_ROLLBACK_PREPARED")))
		session_add(o, m, st, RULE_TWO_PHASE_COMMIT, "high",
			    xasprintf("%s: a prepared transaction outlives the deploy's session and its timeouts, holding its locks until someone commits or rolls it back by hand (and needs max_prepared_transactions)",
				      !strcmp(tk, "TRANS_STMT_PREPARE") ? "PREPARE TRANSACTION ends the deploy's transaction"
									: "COMMIT/ROLLBACK PREPARED finishes a transaction prepared elsewhere"),
			    xstrdup("remove it: the deploy commits the migration's transaction itself"));
	const cJSON *calls[16];
	size_t ncalls = 0;
	find_set_config(n, calls, &ncalls, sizeof calls / sizeof *calls);
	for (size_t i = 0; i < ncalls; i++)
		rule_set_config(o, m, st, calls[i]);
}

enum lt_effect lock_timeout_effect(const struct opts *o, const char *type, const cJSON *node)
{
	const char *name = NULL, *why = NULL;
	enum lt_effect e = LT_NONE;
	if (!strcmp(type, "VariableSetStmt")) {
		const char *var = sql_jstr(node, "name"), *kind = sql_jstr(node, "kind");
		if (varset_switches_off(o, node, &name, &why))
			e = !strcmp(name, "lock_timeout") ? LT_CLEARS : LT_NONE;
		else if (var && !strcmp(var, "lock_timeout") && kind && !strcmp(kind, "VAR_SET_VALUE") &&
			 const_ms(cJSON_GetArrayItem(sql_jget(node, "args"), 0)) > 0)
			e = LT_SETS;
	} else if (!strcmp(type, "DiscardStmt") && sql_jstr(node, "target") && !strcmp(sql_jstr(node, "target"), "DISCARD_ALL")) {
		e = LT_CLEARS;
	}
	const cJSON *calls[16];
	size_t ncalls = 0;
	find_set_config(node, calls, &ncalls, sizeof calls / sizeof *calls);
	for (size_t i = 0; i < ncalls; i++) {
		const cJSON *args = sql_jget(calls[i], "args");
		const char *nm = sql_jstr(sql_jget(sql_node(cJSON_GetArrayItem(args, 0), "A_Const"), "sval"), "sval");
		double ms = const_ms(cJSON_GetArrayItem(args, 1));
		if (!nm || (!strcmp(nm, "lock_timeout") && switches_off(o, nm, ms, &why)))
			e = LT_CLEARS;
		else if (!strcmp(nm, "lock_timeout") && ms > 0)
			e = LT_SETS;
	}
	return e;
}

void rule_tx_end(const struct opts *o, struct migration *m, const struct stmt *st, bool later)
{
	if (o->no_transaction || st->txk != TXK_END || (!later && !st->rolls_back))
		return;
	madd(o, m, st, RULE_TRANSACTION_ENDED_IN_FILE, "high", NULL,
	     xasprintf("%s ends the transaction the deploy runs the file in: %s",
		       st->rolls_back ? "ROLLBACK" : "COMMIT (or PREPARE TRANSACTION)",
		       st->rolls_back ? "the migration's work is thrown away while the deploy records it as applied, and what follows runs outside any transaction without the deploy's SET LOCAL timeouts"
				      : "the statements after it run outside that transaction, without the deploy's SET LOCAL lock_timeout, and a failure among them can no longer be rolled back with the rest"),
	     xstrdup("remove BEGIN/COMMIT/ROLLBACK from the file (the deploy wraps it in one transaction), or split it into migrations, or mark it non-transactional (--no-transaction)"));
}

/* ---- migration-wide rules ---- */

void rules_outside(const struct opts *o, struct migration *m)
{
	const cJSON *n;
	if (strv_index(&o->disabled, rule_table[RULE_OUTSIDE_ALLOW_LIST].id) >= 0)
		return;
	cJSON_ArrayForEach(n, m->outside)
	{
		const char *reason = nd_get_str(n, "reason"), *sev = nd_get_str(n, "severity"), *fix = nd_get_str(n, "fix");
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(n, "statement"),
			    *line = cJSON_GetObjectItemCaseSensitive(n, "line");
		if (!reason)
			continue;
		if (pgv_severity_rank(sev) == 0)
			sev = "low";
		finding_add(m, NULL, rule_table[RULE_OUTSIDE_ALLOW_LIST].id, sev, NULL,
			    xasprintf("%s (a model's answer would have been refused for it)", reason),
			    fix ? xstrdup(fix) : NULL);
		struct finding *f = &m->findings[m->nfindings - 1];
		if (cJSON_IsNumber(idx) && idx->valuedouble >= 0)
			f->stmt = (size_t)idx->valuedouble;
		if (cJSON_IsNumber(line) && line->valuedouble > 0)
			f->line = (int)line->valuedouble;
	}
}

static bool holds_on_existing(const struct stmt *st, enum lockmode at_least, const char **table)
{
	for (size_t i = 0; i < st->eff.nlocks; i++)
		if (st->eff.locks[i].mode >= at_least && strv_index(&st->eff.created, st->eff.locks[i].table) < 0) {
			*table = st->eff.locks[i].table;
			return true;
		}
	return false;
}

/* A lock taken early in a transaction is held until it ends: the time of
 * every later statement in it counts against that lock. */
static void rule_work_after_ae(const struct opts *o, struct migration *m, const struct stmt *st, size_t last)
{
	const char *table;
	if (!st->in_tx || !holds_on_existing(st, LM_AE, &table))
		return;
	double own = st->est_ms < 0 ? 0 : st->est_ms, extra = st->est_lock_ms < 0 ? -1 : st->est_lock_ms - own;
	if (last == st->index || (extra >= 0 && extra < 1000))
		return;
	char dur[64];
	fmt_ms(extra, dur, sizeof dur);
	madd(o, m, st, RULE_WORK_AFTER_ACCESS_EXCLUSIVE, blocking_severity(extra), table,
	     xasprintf("AccessExclusiveLock on %s is held until the transaction commits, through %zu more statement(s) taking %s: reads and writes of %s wait all that time",
		       table, last - st->index, dur, table),
	     xstrdup("commit right after the ALTER: put the later statements (backfills, index builds) in their own migrations"));
}

void mrules_init(struct mrules *r, const struct opts *o, size_t real)
{
	memset(r, 0, sizeof(*r));
	r->wrapped = !o->no_transaction && real > 1;
	r->real = real;
}

void mrules_stmt(struct mrules *r, const struct opts *o, struct migration *m, const struct stmt *st, size_t last)
{
	const char *table;
	r->seen += st->txk == TXK_NONE;
	if (st->sets_lock_timeout)
		r->lock_timeout = true;
	if (st->clears_lock_timeout)
		r->lock_timeout = r->warned = false;
	if (st->eff.notx && st->in_tx)
		madd(o, m, st, RULE_CONCURRENTLY_IN_TRANSACTION, "high", main_table(st),
		     xasprintf("this statement cannot run inside a transaction block, and the migration runs the file in one: the deploy fails"),
		     xstrdup("put this statement alone in its own migration file (or mark the migration non-transactional)"));
	if (!r->lock_timeout && !r->warned && holds_on_existing(st, LM_S, &table)) {
		r->warned = true;
		madd(o, m, st, RULE_LOCK_TIMEOUT_MISSING, "low", table,
		     xasprintf("no lock_timeout before the first statement that takes %s on %s: if it waits behind a long transaction, every query on %s queues behind it",
			       lockmode_name(effect_mode(&st->eff, table)), table, table),
		     xstrdup("SET lock_timeout = '2s';  -- at the top of the migration, and retry on timeout"));
	}
	/* the first earlier statement of the same transaction (they are
	 * contiguous) that holds ShareRowExclusive or more on an existing table */
	if (r->vtable && r->vtx != st->tx) {
		free(r->vtable);
		r->vtable = NULL;
	}
	if (st->validates && st->in_tx && r->vtable)
		madd(o, m, st, RULE_VALIDATE_IN_SAME_TRANSACTION, "medium", r->vtable,
		     xasprintf("VALIDATE CONSTRAINT runs in the same transaction as an earlier %s on %s, so its scan happens while that lock is still held: NOT VALID gained nothing",
			       lockmode_name(r->vmode), r->vtable),
		     xstrdup("commit between ADD ... NOT VALID and VALIDATE CONSTRAINT (separate migrations)"));
	if (!r->vtable && holds_on_existing(st, LM_SRE, &table)) {
		r->vtable = xstrdup(table);
		r->vmode = effect_mode(&st->eff, table);
		r->vtx = st->tx;
	}
	rule_work_after_ae(o, m, st, last);
}

void mrules_tx(struct mrules *r, const struct opts *o, struct migration *m, const struct stmt *st)
{
	if (st->txk == TXK_BEGIN) {
		if (r->depth++ > 0 || r->wrapped)
			madd(o, m, st, RULE_TRANSACTION_NESTING, "medium", NULL,
			     xstrdup("BEGIN inside a transaction (the migration tool already wraps the file in one): PostgreSQL only warns, and the COMMIT ends the tool's transaction early"),
			     xstrdup("remove BEGIN/COMMIT, or run the file with --no-transaction"));
		strv_release(&r->open_at.ignore);
		r->open_at.index = st->index;
		r->open_at.line = st->line;
		strv_copy(&r->open_at.ignore, &st->ignore);
		r->open = true;
	} else if (st->txk == TXK_END) {
		r->depth = r->depth > 0 ? r->depth - 1 : 0;
		rule_tx_end(o, m, st, r->seen < r->real);
	}
}

void mrules_end(struct mrules *r, const struct opts *o, struct migration *m)
{
	if (r->depth > 0 && r->open)
		madd(o, m, &r->open_at, RULE_UNCOMMITTED_TRANSACTION, "medium", NULL,
		     xstrdup("BEGIN without COMMIT: the migration looks applied but nothing is committed"), xstrdup("add COMMIT;"));
	free(r->vtable);
	strv_release(&r->open_at.ignore);
	memset(r, 0, sizeof(*r));
}

/* A finding whose severity depends on lock time, now that it is known. */
void finding_finalise(struct finding *f, double est_lock_ms)
{
	if (!f->what)
		return;
	char *head = blocking_message(f->what, f->table, f->mode, f->rows, est_lock_ms);
	char *msg = xasprintf("%s%s", head, f->message);
	free(head);
	free(f->message);
	free(f->severity);
	f->message = msg;
	f->severity = xstrdup(blocking_severity(est_lock_ms));
	free(f->what);
	f->what = NULL;
}

/* ---- risk ---- */

/* The risk policy: the README's "Risk score" table states it. */
/* points for the worst finding: none, low, medium, high */
static const int risk_worst[] = {0, 10, 40, 70};
enum {
	RISK_FURTHER_HIGH = 5,	   /* each high finding after the first */
	RISK_FURTHER_MEDIUM = 2,   /* each medium finding after the first */
	RISK_LONG_LOCK_MS = 60000, /* a write-blocking lock longer than this ... */
	RISK_LONG_LOCK = 15,	   /* ... adds this */
	RISK_LOCK_MS = 10000,	   /* else one longer than this ... */
	RISK_LOCK = 8,		   /* ... adds this */
	RISK_DESTROYS = 10,	   /* the migration destroys data */
	RISK_MAX = 100,		   /* the score is capped here */
	RISK_HIGH_FROM = 60,	   /* a score from here is high risk */
	RISK_MEDIUM_FROM = 30,	   /* from here medium; below, low */
	RISK_REASONS = 8,	   /* reasons kept per severity, and in all */
};

void risk_stmt(struct risk *r, const struct stmt *st)
{
	r->destroys |= st->eff.destroys;
	if (lockmode_blocks_writes(effect_max_mode(&st->eff)) && st->est_lock_ms > r->longest)
		r->longest = st->est_lock_ms;
}

void risk_finding(struct risk *r, const struct finding *f)
{
	int k = pgv_severity_rank(f->severity);
	r->top = k > r->top ? k : r->top;
	r->highs += k == 3;
	r->mediums += k == 2;
	if (k > 0 && r->reasons[k].n < RISK_REASONS)
		strv_push_take(&r->reasons[k], xasprintf("%s (line %d): %s", f->rule, f->line, f->message));
}

void risk_score(struct risk *r, struct migration *m)
{
	int further = RISK_FURTHER_HIGH * (r->highs > 1 ? r->highs - 1 : 0) +
		      RISK_FURTHER_MEDIUM * (r->mediums > 1 ? r->mediums - 1 : 0);
	int score = risk_worst[r->top] + further;
	if (r->longest > RISK_LONG_LOCK_MS)
		score += RISK_LONG_LOCK;
	else if (r->longest > RISK_LOCK_MS)
		score += RISK_LOCK;
	if (r->destroys)
		score += RISK_DESTROYS;
	m->score = score > RISK_MAX ? RISK_MAX : score;
	m->level = m->score >= RISK_HIGH_FROM ? "high" : m->score >= RISK_MEDIUM_FROM ? "medium"
										      : "low";
	for (int want = 3; want >= 1; want--)
		for (size_t i = 0; i < r->reasons[want].n && m->reasons.n < RISK_REASONS; i++)
			strv_push(&m->reasons, r->reasons[want].v[i]);
	if (m->reasons.n == 0)
		strv_push(&m->reasons, "no finding: every statement is brief and metadata-only, or touches only new tables");
	for (int k = 0; k < 4; k++)
		strv_release(&r->reasons[k]);
	memset(r, 0, sizeof(*r));
}

/* ---- the rule table ---- */

/* The examples are written against the schema of tests/locks/setup.sql
 * (orders, its parent customers, ...), where each triggers its rule; those
 * of outside-allow-list and trace-disagreement need records on stdin. */
const struct rule_info rule_table[RULE_COUNT] = {
	[RULE_ADD_CHECK_WITHOUT_NOT_VALID] = {.id = "add-check-without-not-valid", .severity = "medium", .by_time = true, .summary = "ADD CHECK without NOT VALID scans the table under AccessExclusiveLock", .explain = "ALTER TABLE ... ADD CONSTRAINT ... CHECK checks every existing row while it holds AccessExclusiveLock: reads and writes of the table wait for the whole scan.", .example = "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);", .fix = "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;\n-- next migration:\nALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;"},
	[RULE_ADD_COLUMN_CONSTRAINED_DOMAIN] = {.id = "add-column-constrained-domain", .severity = "medium", .by_time = true, .summary = "ADD COLUMN of a domain with constraints checks them on every row and rewrites the table", .explain = "A new column whose type is a domain with CHECK or NOT NULL constraints is checked on every row, and the table is rewritten, under AccessExclusiveLock.", .example = "ALTER TABLE orders ADD COLUMN weight positive_int;  -- a domain with CHECK (VALUE > 0)", .fix = "add the column with the domain's base type (no rewrite), then ADD CONSTRAINT ... CHECK (...) NOT VALID, and VALIDATE CONSTRAINT in a later migration."},
	[RULE_ADD_COLUMN_GENERATED_STORED] = {.id = "add-column-generated-stored", .severity = "medium", .by_time = true, .summary = "ADD COLUMN ... GENERATED ALWAYS AS (...) STORED rewrites the table", .explain = "A stored generated column is computed for every existing row: the table and its indexes are rewritten under AccessExclusiveLock.", .example = "ALTER TABLE orders ADD COLUMN total_cents bigint GENERATED ALWAYS AS (total * 100) STORED;", .fix = "add a plain nullable column; set it for new rows with a trigger; backfill in batches (UPDATE ... WHERE id BETWEEN ...)."},
	[RULE_ADD_COLUMN_REQUIRED] = {.id = "add-column-required", .severity = "high", .by_time = false, .summary = "ADD COLUMN ... NOT NULL without a default fails on a table with rows", .explain = "PostgreSQL refuses a NOT NULL column without a default as soon as the table has a row, and old application code that does not set the column fails its INSERTs.", .example = "ALTER TABLE orders ADD COLUMN region text NOT NULL;", .fix = "ALTER TABLE orders ADD COLUMN region text NOT NULL DEFAULT 'eu';  -- a constant default is free on PostgreSQL 11+"},
	[RULE_ADD_COLUMN_SERIAL_OR_IDENTITY] = {.id = "add-column-serial-or-identity", .severity = "medium", .by_time = true, .summary = "ADD COLUMN of a serial or identity column rewrites the table", .explain = "serial and GENERATED ... AS IDENTITY columns take a value from a sequence for every existing row: the table is rewritten under AccessExclusiveLock.", .example = "ALTER TABLE orders ADD COLUMN seq bigserial;", .fix = "add a nullable bigint column; attach a sequence default for new rows; backfill in batches; then the NOT NULL steps."},
	[RULE_ADD_COLUMN_VOLATILE_DEFAULT] = {.id = "add-column-volatile-default", .severity = "medium", .by_time = true, .summary = "ADD COLUMN with a per-row default (or any default before PostgreSQL 11) rewrites the table", .explain = "A volatile default (random(), clock_timestamp(), gen_random_uuid(), nextval()) is computed for every existing row, as is any default before PostgreSQL 11: the table is rewritten under AccessExclusiveLock.", .example = "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();", .fix = "ALTER TABLE orders ADD COLUMN token uuid;  -- then, in later migrations: SET DEFAULT for new rows, backfill in batches"},
	[RULE_ADD_EXCLUSION_CONSTRAINT] = {.id = "add-exclusion-constraint", .severity = "medium", .by_time = true, .summary = "ADD EXCLUDE builds its index under AccessExclusiveLock, with no online alternative", .explain = "An exclusion constraint builds its index and checks every row while it holds AccessExclusiveLock; it cannot be added NOT VALID nor built concurrently.", .example = "ALTER TABLE legacy ADD CONSTRAINT legacy_no_overlap EXCLUDE USING gist (valid_during WITH &&);", .fix = "schedule downtime, or build a new table with the constraint and switch to it."},
	[RULE_ADD_FK_WITHOUT_NOT_VALID] = {.id = "add-fk-without-not-valid", .severity = "medium", .by_time = true, .summary = "ADD FOREIGN KEY without NOT VALID scans the table and blocks writes of both tables", .explain = "Adding a foreign key checks every row of the referencing table while ShareRowExclusiveLock is held on it and on the referenced table: writes of both wait for the scan.", .example = "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);", .fix = "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;\n-- next migration:\nALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;\n-- and index the referencing columns CONCURRENTLY"},
	[RULE_ADD_PRIMARY_KEY] = {.id = "add-primary-key", .severity = "medium", .by_time = true, .summary = "ADD PRIMARY KEY builds its index under AccessExclusiveLock", .explain = "ADD PRIMARY KEY (or ADD COLUMN ... PRIMARY KEY) without USING INDEX builds a unique index while it holds AccessExclusiveLock, and makes nullable columns NOT NULL with a scan.", .example = "ALTER TABLE orders ADD PRIMARY KEY (id);", .fix = "CREATE UNIQUE INDEX CONCURRENTLY orders_pkey_idx ON orders (id);  -- its own migration\nALTER TABLE orders ADD CONSTRAINT orders_pkey PRIMARY KEY USING INDEX orders_pkey_idx;"},
	[RULE_ADD_UNIQUE_CONSTRAINT] = {.id = "add-unique-constraint", .severity = "medium", .by_time = true, .summary = "ADD UNIQUE builds its index under AccessExclusiveLock", .explain = "ADD CONSTRAINT ... UNIQUE (or ADD COLUMN ... UNIQUE) without USING INDEX builds the index while it holds AccessExclusiveLock: reads and writes wait for the build.", .example = "ALTER TABLE orders ADD CONSTRAINT orders_number_key UNIQUE (number);", .fix = "CREATE UNIQUE INDEX CONCURRENTLY orders_number_idx ON orders (number);  -- its own migration\nALTER TABLE orders ADD CONSTRAINT orders_number_key UNIQUE USING INDEX orders_number_idx;"},
	[RULE_ATTACH_PARTITION_SCAN] = {.id = "attach-partition-scan", .severity = "medium", .by_time = true, .summary = "ATTACH PARTITION scans the new partition to check its bound", .explain = "Without a valid CHECK constraint that implies the partition bound, ATTACH PARTITION scans the whole table being attached (and the default partition) while it holds its lock.", .example = "ALTER TABLE events ATTACH PARTITION events_2026 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');", .fix = "first add a CHECK constraint matching the bound (NOT VALID, then VALIDATE): ATTACH then skips the scan."},
	[RULE_AUTHZ_CHANGE] = {.id = "authz-change", .severity = "low", .by_time = false, .summary = "row-level security is enabled, disabled or forced", .explain = "Changing row-level security changes which rows queries see: queries may fail or see other rows.", .example = "ALTER TABLE orders ENABLE ROW LEVEL SECURITY;", .fix = "review the policies with the application's roles before deploying."},
	[RULE_BACKFILL_IN_MIGRATION] = {.id = "backfill-in-migration", .severity = "medium", .by_time = true, .summary = "an UPDATE, DELETE, INSERT or MERGE touches many (or an unknown number of) rows", .explain = "DML over more than 10,000 rows, or over an unknown number, holds row locks and writes WAL for its whole run, and inside the migration's transaction keeps every earlier lock too.", .example = "UPDATE orders SET status = 'paid' WHERE status IS NULL;", .fix = "run it in batches outside the migration transaction: UPDATE ... WHERE id BETWEEN $1 AND $2, one transaction per batch, with a pause between batches."},
	[RULE_CASCADING_DELETE] = {.id = "cascading-delete", .severity = "medium", .by_time = true, .summary = "a DELETE cascades through ON DELETE CASCADE foreign keys to other tables", .explain = "Deleting from a table that other tables reference with ON DELETE CASCADE deletes, and locks, every matching row of those tables too (recursively), with their WAL; inside a transaction the row locks are held until it ends. Severity follows the statement's estimated time (medium when unknown).", .example = "DELETE FROM customers WHERE created_at < '2020-01-01';", .fix = "delete the children first, in batches (DELETE FROM <child> WHERE ctid IN (SELECT ctid FROM <child> WHERE ... LIMIT 10000)), then the parents in batches, each batch its own transaction."},
	[RULE_CHANGE_COLUMN_TYPE] = {.id = "change-column-type", .severity = "medium", .by_time = true, .summary = "ALTER COLUMN ... TYPE rewrites the table and its indexes", .explain = "A type change that is not binary-compatible rewrites the table and rebuilds its indexes under AccessExclusiveLock; clients that read the column may break.", .example = "ALTER TABLE orders ALTER COLUMN total TYPE bigint;", .fix = "expand and contract: add the new column, keep it in sync with a trigger, backfill in batches, build indexes CONCURRENTLY, swap with RENAME in one short transaction, drop the old column later."},
	[RULE_CHAR_TYPE] = {.id = "char-type", .severity = "low", .by_time = false, .summary = "a new column is char(n): blank-padded, no benefit in PostgreSQL", .explain = "character(n) pads values with blanks, stores more, and compares surprisingly; PostgreSQL gains nothing from it.", .example = "ALTER TABLE orders ADD COLUMN country character(2);", .fix = "use text (or varchar)."},
	[RULE_CONCURRENT_INDEX_ON_PARTITIONED] = {.id = "concurrent-index-on-partitioned", .severity = "high", .by_time = false, .summary = "CREATE INDEX CONCURRENTLY on a partitioned table fails", .explain = "PostgreSQL does not support CREATE INDEX CONCURRENTLY on a partitioned table: the migration fails.", .example = "CREATE INDEX CONCURRENTLY events_at_idx ON events (at);  -- events is partitioned", .fix = "build the index CONCURRENTLY on each partition, then CREATE INDEX ... ON ONLY the parent and ALTER INDEX ... ATTACH PARTITION each one."},
	[RULE_CONCURRENTLY_IN_TRANSACTION] = {.id = "concurrently-in-transaction", .severity = "high", .by_time = false, .summary = "a statement that cannot run in a transaction block runs in one", .explain = "CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, DETACH PARTITION CONCURRENTLY and the like refuse to run inside a transaction block; a migration tool that wraps the file in one makes the deploy fail.", .example = "SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);", .fix = "put the statement alone in its own migration file (or mark the migration non-transactional)."},
	[RULE_CREATE_INDEX_NON_CONCURRENTLY] = {.id = "create-index-non-concurrently", .severity = "medium", .by_time = true, .summary = "CREATE INDEX without CONCURRENTLY blocks writes for the whole build", .explain = "CREATE INDEX takes ShareLock on an existing table: every INSERT, UPDATE and DELETE waits until the index is built, which takes minutes to hours on a large table.", .example = "CREATE INDEX orders_total_idx ON orders (total);", .fix = "CREATE INDEX CONCURRENTLY orders_total_idx ON orders (total);  -- in its own migration, outside a transaction; if it fails, DROP INDEX CONCURRENTLY the invalid index and retry"},
	[RULE_CREATE_TABLE_MANY_FKS] = {.id = "create-table-many-fks", .severity = "low", .by_time = false, .summary = "CREATE TABLE with several foreign keys locks every referenced table at once", .explain = "Each foreign key of a new table takes ShareRowExclusiveLock on the table it references, all in the same transaction: writes of all of them wait, and deadlocks become likelier.", .example = "CREATE TABLE refunds (id bigint PRIMARY KEY, order_id bigint REFERENCES orders, customer_id bigint REFERENCES customers);", .fix = "create the table without foreign keys, then add each in its own migration (NOT VALID, then VALIDATE)."},
	[RULE_DETACH_PARTITION_NON_CONCURRENTLY] = {.id = "detach-partition-non-concurrently", .severity = "low", .by_time = false, .summary = "DETACH PARTITION without CONCURRENTLY takes AccessExclusiveLock on the parent", .explain = "DETACH PARTITION takes AccessExclusiveLock on the partitioned table and the partition (and ShareLock on tables that reference it): brief, but it queues behind long transactions and everything queues behind it.", .example = "ALTER TABLE events DETACH PARTITION events_2020;", .fix = "ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY;  -- PostgreSQL 14+, outside a transaction, no default partition"},
	[RULE_DETACH_PARTITION_SCAN] = {.id = "detach-partition-scan", .severity = "medium", .by_time = true, .summary = "DETACH PARTITION checks the tables that reference the partitioned table, scanning", .explain = "When foreign keys reference the partitioned table, DETACH PARTITION checks that no referencing row points into the partition, scanning those tables while the locks are held.", .example = "ALTER TABLE measurements DETACH PARTITION measurements_2025;  -- measurement_notes references measurements", .fix = "ALTER TABLE measurements DETACH PARTITION measurements_2025 CONCURRENTLY;  -- PostgreSQL 14+, outside a transaction, no default partition"},
	[RULE_DOMAIN_CONSTRAINT_SCAN] = {.id = "domain-constraint-scan", .severity = "medium", .by_time = true, .summary = "ALTER DOMAIN ... ADD CONSTRAINT checks every column of the domain", .explain = "A new constraint on a domain is checked against every column of every table that uses the domain, scanning them while they are locked.", .example = "ALTER DOMAIN positive_int ADD CONSTRAINT positive_int_small CHECK (VALUE < 1000000);  -- products.stock is a positive_int", .fix = "add the constraint NOT VALID, then ALTER DOMAIN ... VALIDATE CONSTRAINT in a later migration (or put the CHECK on the columns)."},
	[RULE_DROP_COLUMN] = {.id = "drop-column", .severity = "medium", .by_time = false, .summary = "DROP COLUMN destroys its data and breaks code that still uses it", .explain = "Dropping a column destroys its data, and running code that still reads or writes it fails (ORMs cache the column list). DROP TYPE ... CASCADE drops every column of the type, and is high.", .example = "ALTER TABLE orders DROP COLUMN note;", .fix = "stop reading and writing the column in the application (ignore it) and deploy; then ALTER TABLE ... DROP COLUMN IF EXISTS in a post-deploy migration."},
	[RULE_DROP_FOREIGN_KEY] = {.id = "drop-foreign-key", .severity = "low", .by_time = false, .summary = "dropping a foreign key takes AccessExclusiveLock on both tables", .explain = "ALTER TABLE ... DROP CONSTRAINT of a foreign key takes AccessExclusiveLock on the table and on the table it references; the integrity it gave is gone.", .example = "ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey;", .fix = "SET lock_timeout = '1s'; and retry on timeout."},
	[RULE_DROP_INDEX_NON_CONCURRENTLY] = {.id = "drop-index-non-concurrently", .severity = "low", .by_time = false, .summary = "DROP INDEX without CONCURRENTLY takes AccessExclusiveLock on the table", .explain = "DROP INDEX takes AccessExclusiveLock on the index's table: brief, but it queues behind long transactions and everything queues behind it.", .example = "DROP INDEX orders_status_idx;", .fix = "DROP INDEX CONCURRENTLY IF EXISTS orders_status_idx;  -- outside a transaction"},
	[RULE_DROP_NOT_NULL] = {.id = "drop-not-null", .severity = "low", .by_time = false, .summary = "DROP NOT NULL: code that assumes a value may meet NULLs", .explain = "After DROP NOT NULL the column may hold NULLs, which code and PL/pgSQL written for the constraint may not expect.", .example = "ALTER TABLE orders ALTER COLUMN status DROP NOT NULL;", .fix = "keep the constraint and use a sentinel value, or make sure every reader handles NULL first."},
	[RULE_DROP_SCHEMA] = {.id = "drop-schema", .severity = "high", .by_time = false, .summary = "DROP SCHEMA destroys every object in it", .explain = "Dropping a schema destroys its tables and their data, and everything else in it.", .example = "DROP SCHEMA archive CASCADE;", .fix = "move what is still needed out first, and drop the schema only once nothing uses it."},
	[RULE_DROP_TABLE] = {.id = "drop-table", .severity = "high", .by_time = false, .summary = "DROP TABLE destroys its data and locks the tables its foreign keys reference", .explain = "DROP TABLE of an existing table destroys its data, and takes AccessExclusiveLock on it and on every table its foreign keys reference; with CASCADE it drops dependent views and foreign keys too.", .example = "DROP TABLE order_archive;", .fix = "stop using the table in the application and deploy; then drop its foreign keys in one migration (SET lock_timeout = '1s'); then DROP TABLE IF EXISTS in a later one."},
	[RULE_DROP_VIEW] = {.id = "drop-view", .severity = "medium", .by_time = false, .summary = "DROP VIEW breaks every query and client that still reads it", .explain = "Dropping a view or materialized view makes every query that reads it fail.", .example = "DROP MATERIALIZED VIEW customer_totals;", .fix = "drop the view only after no deployed code reads it."},
	[RULE_ENUM_ADD_VALUE_UNORDERED] = {.id = "enum-add-value-unordered", .severity = "low", .by_time = false, .summary = "ALTER TYPE ... ADD VALUE without BEFORE/AFTER sorts the value last", .explain = "A new enum label without BEFORE or AFTER sorts after every other one, which changes the results of <, > and ORDER BY on the type.", .example = "ALTER TYPE order_status ADD VALUE 'refunded';", .fix = "ALTER TYPE order_status ADD VALUE 'refunded' AFTER 'paid';"},
	[RULE_EXPLICIT_LOCK_TABLE] = {.id = "explicit-lock-table", .severity = "low", .by_time = false, .summary = "LOCK TABLE in a strong mode blocks the application until the transaction ends", .explain = "LOCK TABLE in Share mode or stronger blocks writes (or reads and writes) of the table until the transaction commits.", .example = "LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;", .fix = "take the weakest mode that protects the change, and keep the transaction short."},
	[RULE_JSON_COLUMN] = {.id = "json-column", .severity = "low", .by_time = false, .summary = "a new column is json, which has no equality operator", .explain = "json has no equality operator: SELECT DISTINCT, GROUP BY and UNION on it fail; jsonb has one and is faster to query.", .example = "ALTER TABLE orders ADD COLUMN meta json;", .fix = "ALTER TABLE orders ADD COLUMN meta jsonb;"},
	[RULE_LOCK_TIMEOUT_MISSING] = {.id = "lock-timeout-missing", .severity = "low", .by_time = false, .summary = "no lock_timeout before the first statement that takes a strong lock", .explain = "A statement that waits for its lock behind a long transaction makes every later query on the table queue behind it; without lock_timeout it waits for ever. Reported once, at the first statement taking ShareLock or stronger on an existing table.", .example = "CREATE INDEX orders_status_idx ON orders (status);  -- no SET lock_timeout before it", .fix = "SET lock_timeout = '2s';  -- at the top of the migration, and retry on timeout"},
	[RULE_OUTSIDE_ALLOW_LIST] = {.id = "outside-allow-list", .severity = "low", .by_time = false, .summary = "a person's file has a statement a model's answer would have been refused for", .explain = "nl2mig notes the statements of a person's migration that are outside what model output may contain; each note becomes a finding with the note's severity (low when it has none) and fix.", .example = "GRANT ALL ON orders TO reporting;  -- in a person's file nl2mig read", .fix = "the note's own fix; or review the statement by hand."},
	[RULE_PARTITION_OF_WITH_DEFAULT] = {.id = "partition-of-with-default", .severity = "medium", .by_time = true, .summary = "CREATE TABLE ... PARTITION OF scans the default partition", .explain = "A new partition of a table with a default partition makes PostgreSQL scan the default partition for rows that belong in the new one, while it holds its lock.", .example = "CREATE TABLE events_2027 PARTITION OF events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');  -- events has a DEFAULT partition", .fix = "create the table standalone, add a CHECK matching the bound (NOT VALID, then VALIDATE), then ATTACH PARTITION."},
	[RULE_PK_USING_INDEX_ON_NULLABLE] = {.id = "pk-using-index-on-nullable", .severity = "medium", .by_time = true, .summary = "ADD PRIMARY KEY USING INDEX over nullable columns scans for NULLs", .explain = "PRIMARY KEY USING INDEX silently runs SET NOT NULL on nullable key columns: a full scan under AccessExclusiveLock.", .example = "ALTER TABLE legacy ADD CONSTRAINT legacy_pkey PRIMARY KEY USING INDEX legacy_id_uidx;  -- legacy.id is nullable", .fix = "make each column NOT NULL first with CHECK (col IS NOT NULL) NOT VALID, VALIDATE, SET NOT NULL."},
	[RULE_PREFER_TIMESTAMPTZ] = {.id = "prefer-timestamptz", .severity = "low", .by_time = false, .summary = "a new column is timestamp without time zone", .explain = "timestamp without time zone drops the offset on storage: the same instant written from two time zones reads back as two different times.", .example = "ALTER TABLE orders ADD COLUMN shipped_at timestamp;", .fix = "use timestamptz."},
	[RULE_RAW_SQL_UNINSPECTABLE] = {.id = "raw-sql-uninspectable", .severity = "low", .by_time = false, .summary = "a DO block: its locks cannot be predicted statically", .explain = "Procedural code runs statements lockscore cannot see: its locks, rewrites and scans are unknown.", .example = "DO $$ BEGIN EXECUTE 'ALTER TABLE orders ADD COLUMN x int'; END $$;", .fix = "write the statements as plain SQL, or let applyexplain trace it on the shadow."},
	[RULE_REFRESH_MATVIEW_NON_CONCURRENTLY] = {.id = "refresh-matview-non-concurrently", .severity = "medium", .by_time = true, .summary = "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks its readers", .explain = "A plain REFRESH takes AccessExclusiveLock on the materialized view while it recomputes it: every read waits.", .example = "REFRESH MATERIALIZED VIEW customer_totals;", .fix = "REFRESH MATERIALIZED VIEW CONCURRENTLY customer_totals;  -- needs a unique index on the view"},
	[RULE_REINDEX_NON_CONCURRENTLY] = {.id = "reindex-non-concurrently", .severity = "medium", .by_time = true, .summary = "REINDEX without CONCURRENTLY blocks writes while it rebuilds", .explain = "REINDEX takes ShareLock on the table (writes wait) and AccessExclusiveLock on each index (queries that would use it wait) for the whole rebuild.", .example = "REINDEX TABLE orders;", .fix = "REINDEX TABLE CONCURRENTLY orders;  -- PostgreSQL 12+, outside a transaction"},
	[RULE_RENAME_COLUMN] = {.id = "rename-column", .severity = "medium", .by_time = false, .summary = "RENAME COLUMN breaks code that still uses the old name", .explain = "Application code deployed before the migration still uses the old name, and fails during and after the deploy.", .example = "ALTER TABLE orders RENAME COLUMN total TO amount;", .fix = "add the new column, write both, backfill, switch reads, drop the old column (or rename only in the ORM)."},
	[RULE_RENAME_ENUM_VALUE] = {.id = "rename-enum-value", .severity = "medium", .by_time = false, .summary = "ALTER TYPE ... RENAME VALUE breaks clients using the old label", .explain = "Clients that read or write the old label break as soon as it is renamed.", .example = "ALTER TYPE order_status RENAME VALUE 'cancelled' TO 'canceled';", .fix = "ADD VALUE 'canceled' AFTER 'cancelled'; handle both in the application; backfill; stop using the old one."},
	[RULE_RENAME_TABLE] = {.id = "rename-table", .severity = "medium", .by_time = false, .summary = "RENAME of a table breaks code that still uses the old name", .explain = "Application code deployed before the migration still uses the old name, and fails during and after the deploy.", .example = "ALTER TABLE orders RENAME TO purchases;", .fix = "CREATE VIEW purchases AS SELECT * FROM orders; deploy code using the new name; then in one transaction DROP VIEW and RENAME."},
	[RULE_RENAME_VIEW] = {.id = "rename-view", .severity = "medium", .by_time = false, .summary = "RENAME of a view breaks code that still uses the old name", .explain = "Queries that still name the view (or materialized view) by its old name fail during and after the deploy.", .example = "ALTER VIEW order_totals RENAME TO order_sums;", .fix = "create a view under the new name; deploy code using it; then drop the old one."},
	[RULE_SEARCH_PATH_CHANGE] = {.id = "search-path-change", .severity = "medium", .by_time = false, .summary = "SET search_path changes what unqualified names resolve to for the rest of the session", .explain = "SET search_path (or set_config('search_path', ...)) outlives the statement: the deploy's later statements and the rollback resolve names differently.", .example = "SET search_path = billing, public;", .fix = "qualify names with their schema instead (or SET LOCAL search_path, which ends with the transaction)."},
	[RULE_SESSION_ROLE_CHANGE] = {.id = "session-role-change", .severity = "high", .by_time = false, .summary = "SET ROLE or SET SESSION AUTHORIZATION runs the rest of the session as another role", .explain = "The rest of the deploy's session runs with another role's privileges and per-role settings (timeouts included), not the deploy's.", .example = "SET ROLE admin;", .fix = "run the migration as the deploy's role; grant what it needs instead (or ALTER ... OWNER TO)."},
	[RULE_SET_NOT_NULL_EXISTING_COLUMN] = {.id = "set-not-null-existing-column", .severity = "medium", .by_time = true, .summary = "SET NOT NULL scans the table under AccessExclusiveLock", .explain = "Without a valid CHECK (col IS NOT NULL) that proves it, SET NOT NULL scans every row while it holds AccessExclusiveLock, and fails if a NULL is found.", .example = "ALTER TABLE orders ALTER COLUMN note SET NOT NULL;", .fix = "ALTER TABLE orders ADD CONSTRAINT orders_note_not_null CHECK (note IS NOT NULL) NOT VALID;\n-- next migration:\nALTER TABLE orders VALIDATE CONSTRAINT orders_note_not_null;\nALTER TABLE orders ALTER COLUMN note SET NOT NULL;  -- no scan: the valid CHECK proves it\nALTER TABLE orders DROP CONSTRAINT orders_note_not_null;"},
	[RULE_STATEMENT_WILL_FAIL] = {.id = "statement-will-fail", .severity = "high", .by_time = false, .summary = "the statement fails against the schema it runs on", .explain = "PostgreSQL refuses the statement: an index a constraint needs is dropped, a type still in use is dropped, a key other tables' foreign keys use is dropped, an INSERT has a row no partition takes, or the rollback SQL does not parse.", .example = "DROP INDEX orders_pkey;  -- the primary key requires it", .fix = "change the statement (or what it depends on) so that it runs: drop the constraint instead of its index, the dependent objects first, create the partition first."},
	[RULE_TABLE_REWRITE] = {.id = "table-rewrite", .severity = "medium", .by_time = true, .summary = "SET LOGGED/UNLOGGED, SET ACCESS METHOD or SET TABLESPACE copies every row", .explain = "These ALTER TABLE forms rewrite the whole table under AccessExclusiveLock: reads and writes wait for the copy.", .example = "ALTER TABLE orders SET TABLESPACE fast_disk;", .fix = "build a new table and switch, or schedule the rewrite in a maintenance window."},
	[RULE_TIMEOUT_DISABLED] = {.id = "timeout-disabled", .severity = "high", .by_time = false, .summary = "a statement switches off the deploy's lock_timeout or statement_timeout", .explain = "SET, RESET, RESET ALL, DISCARD ALL, ALTER ROLE/DATABASE/SYSTEM ... SET or set_config() that set lock_timeout, statement_timeout or idle_in_transaction_session_timeout to 0, DEFAULT, a value computed at run time or more than --max-lock-timeout / --max-statement-timeout: a statement that waits on a lock then waits as long as the lock is held, with every query on that table queued behind it.", .example = "SET lock_timeout = 0;", .fix = "leave the timeouts to the deploy; if the migration needs its own, SET LOCAL lock_timeout = '2s' (a small value, never 0 or DEFAULT)."},
	[RULE_TRACE_DISAGREEMENT] = {.id = "trace-disagreement", .severity = "medium", .by_time = false, .summary = "the shadow run observed other locks than the static prediction", .explain = "applyexplain's trace of the statement on the shadow database saw locks that lockscore did not predict, or did not see ones it did; the observed locks are used.", .example = "-- any statement whose trace record disagrees with the prediction", .fix = "report this statement form to the migsafe maintainers; trust the observed locks."},
	[RULE_TRANSACTION_ENDED_IN_FILE] = {.id = "transaction-ended-in-file", .severity = "high", .by_time = false, .summary = "COMMIT or ROLLBACK ends the transaction the deploy runs the file in", .explain = "A COMMIT with statements after it makes them run outside the deploy's transaction, without its SET LOCAL timeouts and beyond its rollback; a ROLLBACK throws the migration's work away while the deploy records it as applied.", .example = "ALTER TABLE orders ADD COLUMN remark text;\nCOMMIT;\nCREATE INDEX orders_remark_idx ON orders (remark);", .fix = "remove BEGIN/COMMIT/ROLLBACK from the file (the deploy wraps it in one transaction), or split it into migrations, or mark it non-transactional (--no-transaction)."},
	[RULE_TRANSACTION_NESTING] = {.id = "transaction-nesting", .severity = "medium", .by_time = false, .summary = "BEGIN inside a transaction", .explain = "When the migration tool already wraps the file in a transaction, a BEGIN only draws a warning from PostgreSQL, and the matching COMMIT ends the tool's transaction early.", .example = "BEGIN;\nALTER TABLE orders ADD COLUMN remark text;\nUPDATE orders SET remark = '';\nCOMMIT;", .fix = "remove BEGIN/COMMIT, or run the file with --no-transaction."},
	[RULE_TRUNCATE] = {.id = "truncate", .severity = "high", .by_time = false, .summary = "TRUNCATE destroys every row under AccessExclusiveLock", .explain = "TRUNCATE empties the table at once under AccessExclusiveLock, and is not MVCC-safe: concurrent transactions may see it empty.", .example = "TRUNCATE orders;", .fix = "delete in batches (DELETE ... WHERE id IN (SELECT id ... LIMIT 10000)) if the data must go while the application runs."},
	[RULE_TRUNCATE_CASCADE] = {.id = "truncate-cascade", .severity = "high", .by_time = false, .summary = "TRUNCATE ... CASCADE empties every table that references it, recursively", .explain = "CASCADE silently extends TRUNCATE to every table with a foreign key to it, and to theirs, destroying all their rows.", .example = "TRUNCATE customers CASCADE;", .fix = "name every table explicitly (TRUNCATE a, b;) after checking none holds data you need."},
	[RULE_TWO_PHASE_COMMIT] = {.id = "two-phase-commit", .severity = "high", .by_time = false, .summary = "PREPARE TRANSACTION or COMMIT/ROLLBACK PREPARED in a migration", .explain = "A prepared transaction outlives the deploy's session and its timeouts, holding its locks until someone commits or rolls it back by hand (and it needs max_prepared_transactions).", .example = "PREPARE TRANSACTION 'm1';", .fix = "remove it: the deploy commits the migration's transaction itself."},
	[RULE_TYPE_CHANGE_WITH_CHECK_CONSTRAINTS] = {.id = "type-change-with-check-constraints", .severity = "medium", .by_time = true, .summary = "a type change re-checks the column's CHECK constraints, scanning", .explain = "Even a type change that does not rewrite the table re-checks the CHECK constraints on the column, scanning every row under AccessExclusiveLock.", .example = "ALTER TABLE products ALTER COLUMN price TYPE numeric(12,2);  -- products.price has CHECK (price >= 0)", .fix = "drop the CHECK constraints, change the type, re-add them NOT VALID, then VALIDATE CONSTRAINT."},
	[RULE_UNCOMMITTED_TRANSACTION] = {.id = "uncommitted-transaction", .severity = "medium", .by_time = false, .summary = "BEGIN without COMMIT", .explain = "A transaction opened in the file and never committed: the migration looks applied but nothing is committed.", .example = "BEGIN;\nALTER TABLE orders ADD COLUMN remark text;", .fix = "add COMMIT;"},
	[RULE_VACUUM_FULL_OR_CLUSTER] = {.id = "vacuum-full-or-cluster", .severity = "medium", .by_time = true, .summary = "VACUUM FULL or CLUSTER rewrites the table under AccessExclusiveLock", .explain = "VACUUM FULL and CLUSTER copy the whole table and rebuild its indexes while they hold AccessExclusiveLock: reads and writes wait.", .example = "VACUUM FULL orders;", .fix = "use pg_repack (or REPACK CONCURRENTLY on PostgreSQL 19+), or schedule a maintenance window."},
	[RULE_VALIDATE_IN_SAME_TRANSACTION] = {.id = "validate-in-same-transaction", .severity = "medium", .by_time = false, .summary = "VALIDATE CONSTRAINT in the same transaction as a strong lock on the table", .explain = "VALIDATE CONSTRAINT scans the table; run in the same transaction as an earlier ShareRowExclusiveLock or stronger (such as the ADD ... NOT VALID), the scan happens while that lock is still held: NOT VALID gained nothing.", .example = "ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_total_positive;", .fix = "commit between ADD ... NOT VALID and VALIDATE CONSTRAINT (separate migrations)."},
	[RULE_WORK_AFTER_ACCESS_EXCLUSIVE] = {.id = "work-after-access-exclusive", .severity = "medium", .by_time = true, .summary = "slow statements run after an AccessExclusiveLock in the same transaction", .explain = "A lock is held until its transaction ends: every statement after an AccessExclusiveLock on an existing table keeps reads and writes of that table waiting. Reported when the later statements take a second or more (or an unknown time); severity follows that time.", .example = "ALTER TABLE orders ADD COLUMN remark text;\nUPDATE orders SET remark = '';", .fix = "commit right after the ALTER: put the later statements (backfills, index builds) in their own migrations."},
};

const struct rule_info *rule_find(const char *id)
{
	for (size_t i = 0; id && i < RULE_COUNT; i++)
		if (!strcmp(rule_table[i].id, id))
			return &rule_table[i];
	return NULL;
}

static const char *listed_severity(const struct rule_info *ri)
{
	return ri->by_time ? "by time" : ri->severity;
}

void rules_list(struct buf *out, bool markdown)
{
	if (markdown)
		buf_addf(out, "| rule | severity | what it finds |\n|---|---|---|\n");
	for (size_t i = 0; i < RULE_COUNT; i++) {
		const struct rule_info *ri = &rule_table[i];
		if (markdown)
			buf_addf(out, "| `%s` | %s | %s |\n", ri->id, listed_severity(ri), ri->summary);
		else
			buf_addf(out, "%-35s %-7s %s\n", ri->id, listed_severity(ri), ri->summary);
	}
}

/* text, its words wrapped at 76 columns, each line indented by indent */
static void add_wrapped(struct buf *out, const char *text, const char *indent)
{
	size_t col = 0;
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, " ");
		if (col && col + 1 + n > 76) {
			buf_addf(out, "\n");
			col = 0;
		}
		buf_addf(out, "%s%.*s", col ? " " : indent, (int)n, p);
		col += (col ? 1 : strlen(indent)) + n;
		p += n;
		p += *p == ' ';
	}
	buf_addf(out, "\n");
}

/* text, each of its lines indented by two spaces */
static void add_indented(struct buf *out, const char *text)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		buf_addf(out, "  %.*s\n", (int)n, p);
		p += n;
		p += *p == '\n';
	}
}

void rule_explain(struct buf *out, const struct rule_info *ri)
{
	buf_addf(out, "%s: %s\n", ri->id, ri->summary);
	if (ri->by_time)
		buf_addf(out, "severity: by how long the application is blocked: low under 1 s, medium under 30 s or when unknown, high longer\n\n");
	else
		buf_addf(out, "severity: %s\n\n", ri->severity);
	add_wrapped(out, ri->explain, "");
	buf_addf(out, "\nexample:\n");
	add_indented(out, ri->example);
	buf_addf(out, "fix:\n");
	add_indented(out, ri->fix);
}
