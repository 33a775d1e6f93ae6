/*
 * catalog: the in-memory schema model (the DAG).
 *
 * Tables, columns, indexes, foreign keys, checks, views and enums, named as
 * PostgreSQL stores them: a table, view or enum is identified by schema and
 * name (its qname is "schema.name", the spelling of every record); an index
 * by its schema (its table's) and name; a constraint by its table and name.
 * Column types are spelled as format_type() prints them with
 * search_path = public.
 *
 * Ownership: the catalog owns every object and string in it. Pointers
 * returned by lookups and adders are borrowed, valid until that object is
 * dropped or the catalog released. Arguments are always copied.
 * Order: objects keep creation order, which is also the order of records.
 */
#ifndef MIGSAFE_CATALOG_H
#define MIGSAFE_CATALOG_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct cat_column {
	char *name;
	char *type; /* format_type() spelling */
	bool nullable;
	char *def;	 /* default expression text, or NULL */
	char *identity;	 /* "always", "by default", or NULL */
	char *generated; /* generation expression, or NULL */
};

/* A trigger of a table, and the tables its function writes (the targets of
 * the INSERT/UPDATE/DELETE/MERGE statements in its PL/pgSQL body, when the
 * trigger was created), which PostgreSQL locks ROW EXCLUSIVE when it fires. */
struct cat_trigger {
	char *name;
	char *timing;	     /* "before", "after", "instead of" */
	char *level;	     /* "row", "statement" */
	struct strv events;  /* "insert", "update", "delete", "truncate" */
	struct strv columns; /* UPDATE OF columns, empty when any */
	char *function;	     /* qname */
	struct strv writes;  /* qnames */
};

struct cat_table {
	char *schema, *name, *qname;
	struct cat_column *cols;
	size_t ncols, capcols;
	struct strv pk;		   /* primary key columns, in key order */
	char *pk_name;		   /* constraint name of the primary key, or NULL */
	double rows;		   /* estimate, < 0 when unknown */
	char *partition_of;	   /* qname of the parent, or NULL */
	char *partition_by;	   /* "range", "list", "hash", or NULL */
	struct strv partition_key; /* with partition_by: key columns ("" for an expression) */
	char *partition_bound;	   /* with partition_of: "FOR VALUES ..." or "DEFAULT", as
				* pg_get_expr(relpartbound) writes it; NULL when unknown */
	bool unlogged;
	struct cat_trigger *trigs; /* in creation order */
	size_t ntrigs;
};

struct cat_index {
	char *schema, *name; /* index name as stored; its schema is its table's */
	char *table;	     /* qname */
	struct strv columns; /* column names, or expression text, in key order */
	bool unique, primary;
	char *method;	  /* btree, gin, ... */
	char *predicate;  /* partial index WHERE text, or NULL */
	char *constraint; /* name of the PK/UNIQUE/EXCLUDE constraint it backs, or NULL */
};

struct cat_fk {
	char *name, *table;
	struct strv columns;
	char *ref_table;
	struct strv ref_columns;
	char *on_delete, *on_update; /* "no action", "restrict", "cascade", "set null", "set default" */
	bool validated;
};

struct cat_check {
	char *name, *table, *expression;
	bool validated;
};

struct cat_view {
	char *schema, *name, *qname;
	bool materialized;
	struct strv depends_on; /* qnames of tables and views */
	char *definition;	/* SQL text, or NULL when unknown (Prisma views) */
};

struct cat_enum {
	char *schema, *name, *qname;
	struct strv values;
};

/* A function (PL/pgSQL), for the tables its body writes. */
struct cat_function {
	char *schema, *name, *qname;
	struct strv writes; /* qnames */
};

/* A domain: its base type and constraints (a domain with constraints makes
 * ADD COLUMN rewrite the table). check_names and checks run in step. */
struct cat_domain {
	char *schema, *name, *qname;
	char *base_type; /* format_type() spelling */
	bool not_null;
	struct strv check_names, checks;
};

#define CAT_ARRAY(T, f) \
	T **f;          \
	size_t n##f, cap##f

struct catalog {
	CAT_ARRAY(struct cat_table, tables);
	CAT_ARRAY(struct cat_index, indexes);
	CAT_ARRAY(struct cat_fk, fks);
	CAT_ARRAY(struct cat_check, checks);
	CAT_ARRAY(struct cat_view, views);
	CAT_ARRAY(struct cat_enum, enums);
	CAT_ARRAY(struct cat_function, functions);
	CAT_ARRAY(struct cat_domain, domains);
	struct strv schemas; /* schemas known to exist ("public" always) */
	/* lookup indexes by name, made by catalog_init and kept in step by
	 * the functions below (see catalog_touch) */
	struct cat_lookup *lk;
};

void catalog_init(struct catalog *c);
void catalog_release(struct catalog *c);
/* catalog_touch: call after changing a name, schema, qname or table of an
 * object directly (not through the functions here): the lookup indexes are
 * rebuilt at the next lookup. */
void catalog_touch(struct catalog *c);

/* qname: "schema.name", caller frees. */
char *cat_qname(const char *schema, const char *name);
/* cat_split_qname: split "s.n" at the first dot; *schema and *name are new strings. */
void cat_split_qname(const char *qname, char **schema, char **name);

/* --- tables and columns --- */
struct cat_table *catalog_table(const struct catalog *c, const char *schema, const char *name);
struct cat_table *catalog_table_q(const struct catalog *c, const char *qname);
/* catalog_add_table: a new, empty table; NULL when the name is taken. */
struct cat_table *catalog_add_table(struct catalog *c, const char *schema, const char *name);
struct cat_column *table_column(const struct cat_table *t, const char *name);
/* table_add_column: NULL when the column exists. nullable starts true. */
struct cat_column *table_add_column(struct cat_table *t, const char *name, const char *type);
/* column setters copy their argument; NULL clears. */
void column_set_type(struct cat_column *col, const char *type);
void column_set_default(struct cat_column *col, const char *def);
void column_set_identity(struct cat_column *col, const char *identity);
void column_set_generated(struct cat_column *col, const char *expr);
/* catalog_drop_column: removes the column and every index, constraint and
 * (with cascade) view that depends on it. Returns -1 if there is no column. */
int catalog_drop_column(struct catalog *c, struct cat_table *t, const char *name, bool cascade);
int catalog_rename_column(struct catalog *c, struct cat_table *t, const char *from, const char *to);
/* catalog_drop_table: removes the table, its indexes and constraints, foreign
 * keys of other tables that reference it, its partitions, and (cascade) the
 * views that depend on it. */
void catalog_drop_table(struct catalog *c, struct cat_table *t, bool cascade);
/* catalog_rename_table / catalog_move_table: rename or change schema, and
 * follow every reference (indexes, constraints, views, partitions). */
void catalog_rename_table(struct catalog *c, struct cat_table *t, const char *schema, const char *name);

/* --- indexes --- */
struct cat_index *catalog_index(const struct catalog *c, const char *schema, const char *name);
struct cat_index *catalog_add_index(struct catalog *c, const char *schema, const char *name,
				    const char *table);
void catalog_drop_index(struct catalog *c, struct cat_index *ix);
/* Renames in place that keep the lookup maps in step (no catalog_touch
 * needed): an index, a view, an enum (and its schema), a foreign key or a
 * check. They change the object only: references to it are the caller's. */
void catalog_rename_index(struct catalog *c, struct cat_index *ix, const char *name);
void catalog_rename_view(struct catalog *c, struct cat_view *v, const char *name);
void catalog_rename_enum(struct catalog *c, struct cat_enum *e, const char *schema, const char *name);
void catalog_rename_fk(struct catalog *c, struct cat_fk *fk, const char *name);
void catalog_rename_check(struct catalog *c, struct cat_check *ck, const char *name);
/* the primary-key index of a table, or NULL */
struct cat_index *catalog_pk_index(const struct catalog *c, const char *table);

/* --- constraints --- */
struct cat_fk *catalog_fk(const struct catalog *c, const char *table, const char *name);
/* catalog_fks_of: the foreign keys of table (a qname), in creation order;
 * *n is their number. Valid until the next change of the catalog. */
struct cat_fk *const *catalog_fks_of(const struct catalog *c, const char *table, size_t *n);
struct cat_fk *catalog_add_fk(struct catalog *c, const char *table, const char *name);
void catalog_drop_fk(struct catalog *c, struct cat_fk *fk);
struct cat_check *catalog_check(const struct catalog *c, const char *table, const char *name);
struct cat_check *catalog_add_check(struct catalog *c, const char *table, const char *name,
				    const char *expr);
void catalog_drop_check(struct catalog *c, struct cat_check *ck);
/* catalog_constraint_exists: any constraint of that name in schema (PK,
 * unique, exclusion, FK, check), as PostgreSQL's ConstraintNameIsUsed. */
bool catalog_constraint_exists(const struct catalog *c, const char *schema, const char *name);
/* catalog_relname_exists: a table, view, index (or sequence named by
 * catalog_note_relname) of that name in schema. */
bool catalog_relname_exists(const struct catalog *c, const char *schema, const char *name);

/* --- views and enums --- */
struct cat_view *catalog_view(const struct catalog *c, const char *schema, const char *name);
struct cat_view *catalog_add_view(struct catalog *c, const char *schema, const char *name);
void catalog_drop_view(struct catalog *c, struct cat_view *v, bool cascade);
struct cat_enum *catalog_enum(const struct catalog *c, const char *schema, const char *name);
struct cat_enum *catalog_add_enum(struct catalog *c, const char *schema, const char *name);
void catalog_drop_enum(struct catalog *c, struct cat_enum *e);

/* --- functions, triggers and domains (catalog_code.c) --- */
struct cat_function *catalog_function(const struct catalog *c, const char *schema, const char *name);
/* catalog_add_function: the function, new or (CREATE OR REPLACE) emptied;
 * catalog_function_done: its writes are set, copy them onto its triggers. */
struct cat_function *catalog_add_function(struct catalog *c, const char *schema, const char *name);
void catalog_function_done(struct catalog *c, const struct cat_function *f);
struct cat_trigger *table_trigger(const struct cat_table *t, const char *name);
/* table_add_trigger: a new trigger (replacing one of that name). */
struct cat_trigger *table_add_trigger(struct cat_table *t, const char *name);
int table_drop_trigger(struct cat_table *t, const char *name);
void cat_triggers_release(struct cat_table *t);
struct cat_domain *catalog_domain(const struct catalog *c, const char *schema, const char *name);
/* catalog_domain_of_type: the domain a column type spelling names, or NULL. */
struct cat_domain *catalog_domain_of_type(const struct catalog *c, const char *type);
struct cat_domain *catalog_add_domain(struct catalog *c, const char *schema, const char *name);
void catalog_drop_domain(struct catalog *c, struct cat_domain *d);
bool domain_has_constraints(const struct cat_domain *d);
void cat_code_release(struct catalog *c);
/* cat_code_rename_refs: a table was renamed: follow it in the writes. */
void cat_code_rename_refs(struct catalog *c, const char *from, const char *to);

/* --- names as PostgreSQL chooses them --- */
/* makeObjectName: name1_name2_label cut to 63 bytes the way PostgreSQL cuts. */
char *cat_make_object_name(const char *name1, const char *name2, const char *label);
/* ChooseRelationName / ChooseConstraintName: the same, made unique in schema
 * by appending 1, 2, ... to the label. */
char *catalog_choose_relname(const struct catalog *c, const char *schema, const char *name1,
			     const char *name2, const char *label);
char *catalog_choose_conname(const struct catalog *c, const char *schema, const char *name1,
			     const char *name2, const char *label);
/* cat_quote_ident: as PostgreSQL's quote_ident (quotes unless lower-case
 * identifier that is not a reserved keyword); caller frees. */
char *cat_quote_ident(const char *s);
/* cat_type_name: the format_type() spelling of a user type named schema.name
 * (unqualified when schema is public), with "[]" when array; caller frees. */
char *cat_type_name(const char *schema, const char *name, bool array);

/* --- records --- */
/* catalog_to_json: every object as a record (enums, domains, tables, indexes, foreign
 * keys, checks, views), in that order; calls emit for each, which takes the
 * object. */
void catalog_to_json(const struct catalog *c, void (*emit)(cJSON *rec, void *arg), void *arg);
cJSON *cat_table_json(const struct cat_table *t);
cJSON *cat_index_json(const struct cat_index *ix);
cJSON *cat_fk_json(const struct cat_fk *fk);
cJSON *cat_check_json(const struct cat_check *ck);
cJSON *cat_view_json(const struct cat_view *v);
cJSON *cat_enum_json(const struct cat_enum *e);
cJSON *cat_domain_json(const struct cat_domain *d);
/* catalog_load_record: if rec is a DAG record (table, index, foreign_key,
 * check, view, enum, domain), add it and return 1; 0 for other kinds; -1 with
 * *err set (static string) when a DAG record is malformed, or when a piece
 * of SQL it carries is not exactly one expression (column default and
 * generated, check and domain check expressions, index predicate), one type
 * name (column type, domain base type) or one SELECT (view definition), or
 * an index method or foreign-key action is not one of PostgreSQL's words
 * (see sql_is_one_expr): nothing built from a catalog carries a statement
 * its records smuggled in. */
int catalog_load_record(struct catalog *c, const cJSON *rec, const char **err);
/* catalog_load_record_trusted: the same, for records a program made from a
 * catalog it built itself (a copy): no vetting. */
int catalog_load_record_trusted(struct catalog *c, const cJSON *rec, const char **err);

/* --- copies (catalog_copy.c) --- */
/* catalog_clone: dst (uninitialised) becomes a deep copy of src, made
 * through src's records; dst is released by catalog_release. */
void catalog_clone(struct catalog *dst, const struct catalog *src);
/* catalog_digest: a canonical text of a catalog, without row estimates:
 * two catalogs with the same digest have the same schema whatever the
 * order their columns were added in; caller frees. */
char *catalog_digest(const struct catalog *c);

#endif
