/*
 * mkshadow internals: the production model (tables, columns, keys, foreign
 * keys), masking rules, the COPY pipeline and the shadow providers.
 *
 * Ownership: a struct prod owns every table, column, key and foreign key in
 * it; pointers between them are borrowed. A struct shadow owns its strings.
 * Errors: functions die (EXIT_RUNTIME for servers, EXIT_USAGE for bad
 * options, EXIT_INPUT for bad records); the atexit handler in mkshadow.c
 * removes a shadow that was not handed over, so dying never leaves one.
 */
#ifndef MIGSAFE_MKSHADOW_H
#define MIGSAFE_MKSHADOW_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "sha256.h"
#include "sql.h"

/* ---- masking ---- */

enum mask_kind { MASK_KEEP,
		 MASK_NULL,
		 MASK_FIXED,
		 MASK_HASH,
		 MASK_EMAIL,
		 MASK_NAME,
		 MASK_DIGITS,
		 MASK_IP,
		 MASK_DATE };

/* How a column's values are walked: whole, element by element (a text
 * array's elements), or string by string (a json/jsonb value's strings;
 * keys, brackets and numbers kept, except numbers under a key named like
 * a phone or an id number). */
enum mask_shape { MASK_WHOLE,
		  MASK_ARRAY,
		  MASK_JSON };

/* Why a column is masked, for the sample records. */
enum mask_why {
	MASK_WHY_NONE,	   /* not masked (yet) */
	MASK_WHY_NAME,	   /* its name (any case, separators, compounds) */
	MASK_WHY_TYPE,	   /* an array or json column: walked for personal data */
	MASK_WHY_CONTENT,  /* a text column scanned value by value */
	MASK_WHY_DENY,	   /* --mask-default deny */
	MASK_WHY_EXPLICIT, /* --mask or the mask file */
	MASK_WHY_FKEY,	   /* the other end of a foreign key is masked */
};

/* A rule. Invariants: kind NULL or FIXED only with shape WHOLE and scan
 * off (they replace the value, they do not walk it); numeric only with
 * kind DIGITS. A rule is active (mask_active) when it can change a value. */
struct mask_rule {
	enum mask_kind kind;
	char *fixed;	/* MASK_FIXED: the value */
	bool automatic; /* recognised by name and type, not asked for */
	enum mask_shape shape;
	/* scan: personal data found in the text (e-mail addresses, phone,
	 * card and id numbers, IBANs, IP addresses) is masked by its own rule:
	 * span by span when kind is KEEP; when kind is not KEEP, a value that
	 * is one such item whole takes that item's rule, any other value kind */
	bool scan;
	bool numeric; /* DIGITS of a number: digits only, never above the original */
	enum mask_why why;
};

/* mask_parse_rule: "keep", "null", "fixed:VALUE", "hash", "email", "name",
 * "digits", "ip", "date" into r (why EXPLICIT); -1 when unknown. */
int mask_parse_rule(const char *s, struct mask_rule *r);
const char *mask_kind_name(enum mask_kind k);
/* mask_why_name: "name", "type", "content", "deny-default", "explicit",
 * "foreign-key" (NULL for NONE). */
const char *mask_why_name(enum mask_why w);
/* mask_name_norm: name lower-cased, its words joined by '_': split at
 * '_', '-', ' ', '.', camelCase boundaries and between letters and digits
 * ("E-Mail" -> "e_mail", "emailAddress" -> "email_address", "HTTPServer2"
 * -> "http_server_2"). Cut to cap - 1 bytes. */
void mask_name_norm(const char *name, char *out, size_t cap);
/* mask_guess: the rule for a column recognised as personal data by its
 * name, its table's name and its type class, or MASK_KEEP. Names match
 * normalised (mask_name_norm), word by word, and known words inside a
 * compound ("contactemail", "homephone", "emailaddress"; not "emailed"). */
enum mask_kind mask_guess(const char *table, const char *column, char typclass);
/* mask_fits: whether rule k can produce a value of type class typclass
 * ('S' text, 'D' date/time, 'I' network, other: PostgreSQL's typcategory). */
bool mask_fits(enum mask_kind k, char typclass);
/* mask_apply: the masked value of val (decoded text) under r's kind, into
 * out; returns false when the result is SQL NULL. maxlen > 0 cuts the
 * result to that many characters (varchar(n), char(n)). Ignores shape and
 * scan: mask_value applies a whole rule. */
bool mask_apply(const struct hmac_sha256_key *key, const struct mask_rule *r, const char *val,
		size_t len, int maxlen, struct buf *out);
/* mask_value: val under the whole rule r (shape, scan, kind), into out;
 * false when the result is SQL NULL. *found is set when walking or
 * scanning masked something in this value. */
bool mask_value(const struct hmac_sha256_key *key, const struct mask_rule *r, const char *val, size_t len,
		int maxlen, struct buf *out, bool *found);
/* mask_active: whether r can change a value. */
bool mask_active(const struct mask_rule *r);
/* mask_may_find: whether scanning could find an item of personal data in
 * s (false when s has no '@', no digit and no ':'). Holds for a COPY text
 * field as for its value: COPY escapes none of those characters, and an
 * escape only adds a backslash and letters or digits. */
bool mask_may_find(const char *s, size_t len);
/* mask_detect: the rule for the item of personal data that val (trimmed)
 * is, whole, or MASK_KEEP. */
enum mask_kind mask_detect(const char *val, size_t len);

struct column;
/* mask_auto: c's rule from its name, its table's name and its type (text,
 * text arrays, json/jsonb, numbers named like phone or id numbers), or
 * left as it is when nothing is recognised. */
void mask_auto(const char *table, struct column *c);
/* mask_default: for a column no rule names (why NONE): scan its text
 * values (scan), or, with deny, mask every text-like value (hash, unless a
 * value is an item of personal data whole). Explicit rules are left. */
void mask_default(struct column *c, bool scan, bool deny);
/* mask_text_like: c holds text (text, varchar, char, a text array, json). */
bool mask_text_like(const struct column *c);

/* ---- keys: sets of key tuples, as COPY text fields joined by tabs ---- */

/* A key of one integer column is kept as a number (ints): one probe of one
 * array, no string to allocate or compare. */
struct keyset {
	bool ints; /* set before the first key: keys are integers */
	char **slot;
	size_t *hash;	/* of each slot's key: most probes end on it, not on strncmp */
	long long *iv;	/* ints: the keys, KEYSET_EMPTY in free slots */
	bool has_empty; /* ints: KEYSET_EMPTY itself is in the set */
	size_t cap, n;
};
#define KEYSET_EMPTY (-9223372036854775807LL - 1)

void keyset_release(struct keyset *s);
/* keyset_has, keyset_add: k is the key as COPY text (an integer's decimal
 * digits in an ints set). keyset_add: true when k was new. */
bool keyset_has(const struct keyset *s, const char *k, size_t len);
bool keyset_add(struct keyset *s, const char *k, size_t len);
bool keyset_has_int(const struct keyset *s, long long v);
bool keyset_add_int(struct keyset *s, long long v);

/* ---- the production model ---- */

struct column {
	char *name, *type; /* type as format_type() prints it, schema-qualified */
	char typclass;	   /* 'S' text-like, 'D' date/time, 'I' network, else typcategory */
	int maxlen;	   /* varchar(n)/char(n): n; else 0 */
	bool notnull, generated;
	int field; /* position in the COPY row, -1 for generated columns */
	struct mask_rule mask;
	long found; /* values walking or scanning changed (atomic adds) */
};

struct table;

/* A set of columns some foreign key references (or the primary key): its
 * tuples loaded so far, and the tuples children want that are not loaded. */
struct refkey {
	struct table *t;
	int *cols; /* column indexes */
	size_t ncols;
	struct keyset loaded, wanted;
};

struct fkey {
	char *name;
	struct table *child;
	int *cols; /* child column indexes, in the order of ref->cols */
	struct refkey *ref;
};

struct table {
	char *schema, *name, *qname;
	double reltuples; /* estimate, < 0 unknown */
	double bytes;	  /* pg_total_relation_size */
	struct column *cols;
	size_t ncols;
	int nfields;	      /* columns in the COPY row (not generated) */
	struct refkey **keys; /* keys of this table others reference (and its PK) */
	size_t nkeys;
	struct fkey **fks; /* foreign keys of this table */
	size_t nfks;
	char *pk; /* comma-separated column names, or NULL */
	/* results */
	long sampled, closure;
	double ms;
	bool masked;
};

struct prod {
	PGconn *conn;
	char *url;	/* as given (may hold a password: never print it) */
	int timeout_ms; /* statement_timeout of every production session */
	char *version;	/* "15.8" */
	int major;
	char *snapshot; /* pg_export_snapshot() */
	char *sysid;	/* pg_control_system().system_identifier, or NULL */
	char *encoding;
	struct table **tables; /* in load order: referenced tables first */
	size_t ntables;
	struct refkey **keys;
	size_t nkeys;
	struct fkey **fks;
	size_t nfks;
	/* copying's results */
	double sample_ms, closure_ms; /* wall time of the two phases */
	double copy_ms;		      /* from copy_start until every row was in the shadow */
	int closure_rounds;
};

/* prod_open: connect read-only, open the REPEATABLE READ snapshot, export
 * it, and read the model. Dies (EXIT_RUNTIME) when unreachable or when a
 * table cannot be read. */
void prod_open(struct prod *p, const char *url, int timeout_ms);
void prod_close(struct prod *p);
/* prod_user_schema: the one schema production's own objects (tables,
 * types, functions not from an extension) live in ("public" when none);
 * NULL, with why (caller frees) saying which, when there are several. */
char *prod_user_schema(const struct prod *p, char **why);
/* prod_dump_schema: pg_dump --schema-only --section=SECTION in the
 * snapshot, without psql meta-commands; caller frees. NULL when pg_dump
 * fails, with *err (caller frees) its message: it never dies, so it may
 * run in a thread of its own. */
char *prod_dump_schema(const struct prod *p, const char *section, char **err);

/* ---- the shadow ---- */

struct shadow {
	char *provider;	 /* "local", "url", "docker" */
	char *admin_url; /* server's maintenance database (may hold a password) */
	char *database;
	char *url;	   /* the shadow database, without password */
	char *dir;	   /* local: the cluster's directory */
	char *container;   /* docker: the container id */
	char *schema;	   /* url without CREATEDB: the shadow is this schema of database */
	char *maps_schema; /* with schema: production's schema it stands for */
	char *version;
	int major;
	PGconn *conn; /* to the shadow database */
};

struct shadow_opts {
	const char *provider;
	const char *url;    /* url provider's server */
	const char *image;  /* docker image */
	const char *bindir; /* PostgreSQL binaries for local; NULL: guess */
	int want_major;	    /* production's major, 0 when unknown */
	bool allow_mismatch;
	const struct prod *prod; /* for the production-as-target check; may be NULL */
	/* url provider: why a schema shadow (the fallback without CREATEDB)
	 * cannot hold production, or NULL when it can */
	const char *no_schema_shadow;
	const char *dir;  /* local: the directory to create the cluster in (--dir), or NULL */
	double est_bytes; /* local: how big the shadow may grow, for choosing where */
};

/* shadow_create: a fresh, marked, empty shadow database; dies on failure
 * after removing whatever it created. */
void shadow_create(struct shadow *s, const struct shadow_opts *o);
/* shadow_handover: s is complete and handed to the caller's records: it
 * is no longer removed at exit. */
void shadow_handover(struct shadow *s);
/* shadow_mark_ready: the mark says the shadow is complete. */
void shadow_mark_ready(struct shadow *s);
/* shadow_destroy: remove what s names; returns -1 (after a message) when
 * something could not be removed. */
int shadow_destroy(struct shadow *s);
/* shadow_from_record: s from a shadow record's destroy object; -1 when it
 * names nothing removable. */
int shadow_from_record(struct shadow *s, const cJSON *rec, const char *admin_override);
cJSON *shadow_record(const struct shadow *s);
void shadow_release(struct shadow *s);
/* shadow_gc: remove shadows left behind (crashed runs, or older than
 * max_age seconds; max_age < 0: only crashed ones); returns how many. */
int shadow_gc(const char *server_url, const char *dir, long max_age, bool dry_run);
/* pg_bindir: the directory of PostgreSQL major version major's programs
 * (0: whatever is installed); NULL when none. Static storage, one per
 * thread. */
const char *pg_bindir(int major);

/* run_cmd: run argv (as the postgres user when as_pg and we are root),
 * stdout into out (NULL: discarded), stderr into err (NULL: discarded);
 * returns the exit status, or -1 when it could not run. */
int run_cmd(char *const argv[], bool as_pg, struct buf *out, struct buf *err, char *const envp[]);

/* shadow_forget_conn: the shadow being built is removed at exit without
 * closing its main session, which another thread may be using. */
void shadow_forget_conn(void);
/* shadow_connect: one more session on the shadow database (a worker's). */
PGconn *shadow_connect(const struct shadow *s);

/* ---- workers (pool.c) ---- */

/* pool_fn: run task number task on worker number worker (0..jobs-1). */
typedef void (*pool_fn)(void *ctx, int worker, size_t task);
/* pool_run: tasks 0..ntasks-1 on min(jobs, ntasks) threads, the calling
 * thread being worker 0; returns when all are done. */
void pool_run(int jobs, size_t ntasks, pool_fn fn, void *ctx);
/* pool_lock: the one lock over state tasks share (key sets, counters). */
void pool_lock(void);
void pool_unlock(void);
/* pool_fatal: die from any thread: the first caller prints the message and
 * exits (removing the shadow being built); later callers wait for that. */
_Noreturn void pool_fatal(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* pool_defer_fatal(true), from the main thread: until pool_defer_fatal(false),
 * a fatal error in another thread is recorded and stops that thread for
 * good (and every pool worker, at its next task), so that nothing removes
 * the shadow while the main thread is creating it (a half-started cluster
 * removed under its pg_ctl could outlive us).
 * pool_defer_fatal(false) dies with the first recorded error, if any. */
void pool_defer_fatal(bool on);

/* ---- copying ---- */

struct copier;

struct copy_opts {
	double percent;
	long seed;
	const struct hmac_sha256_key *key;
	bool progress;
	int jobs;	   /* sessions on production (and on the shadow) */
	size_t hold_bytes; /* rows a worker holds before the shadow exists (--memory) */
	/* the shadow, being created while copying starts: read only once
	 * copy_join says it is ready (its sessions, a schema shadow's schema) */
	const struct shadow *shadow;
};

/* copy_start: sample every table and close over foreign keys, in a thread
 * of its own, while the caller creates the shadow: rows wait in memory (a
 * bounded amount, then the workers wait) until copy_join. Workers open
 * their own production sessions in p's exported snapshot (SET TRANSACTION
 * SNAPSHOT), so every row comes from one point in time. Until copy_join, a
 * worker's fatal error waits for the caller (pool_defer_fatal). */
struct copier *copy_start(struct prod *p, const struct copy_opts *o);
/* copy_join: the shadow has production's tables: the rows held go in on
 * shadow (the caller's session), the rest straight from the workers;
 * returns when every row is in. Fills each table's sampled/closure/ms and
 * p's phase times. */
void copy_join(struct copier *c, PGconn *shadow);

/* ---- after the rows (post.c) ---- */

/* post_data: pg_dump's post-data script on the shadow: indexes and primary
 * and unique keys on jobs sessions (one table's on one session), then
 * everything else (foreign keys, triggers, ...) in the script's order. */
void post_data(const struct shadow *s, const char *script, int jobs, bool progress);
/* analyze: ANALYZE every table of the shadow, on jobs sessions. */
void analyze(const struct shadow *s, int jobs);

/* ---- a schema shadow (remap.c) ---- */

/* Production's one user schema `from` stands for the shadow schema; qto is
 * the shadow schema's name, quoted. */
struct remap {
	const char *from;
	char *qto;
};

/* remap_stmt: statement st (its text) for a schema shadow: its names of
 * m->from rewritten to m->qto; NULL when the statement is to be left out
 * (COMMENT ON SCHEMA/EXTENSION, CREATE SCHEMA of the mapped schema). Dies
 * (EXIT_RUNTIME, naming where) on what cannot be mapped. Caller frees. */
char *remap_stmt(const struct remap *m, const struct sql_stmt *st, const char *text, const char *where);
/* remap_script: every statement of script through remap_stmt, as one
 * script; CREATE EXTENSION statements are left out, their extensions' names
 * pushed to extensions (the caller creates them in the shadow schema when
 * the database lacks them, and when the role may). Caller frees. */
char *remap_script(const struct remap *m, const char *script, const char *where, struct strv *extensions);

struct timings {
	double create, schema, post_data, analyze, total;
};
double now_ms(void);
/* phase: "mkshadow: WHAT: N.N s" on stderr when progress is on. */
void phase(bool progress, const char *what, double ms);

#endif
