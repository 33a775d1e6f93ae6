/* lockscore internals: the lock model (locks.c), the rules (rules.c), the
 * output formats (format.c). */
#ifndef LOCKSCORE_H
#define LOCKSCORE_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "buf.h"
#include "catalog.h"
#include "mapfile.h"
#include "replay.h"
#include "spool.h"
#include "sql.h"
#include "strmap.h"

/* The eight table lock modes, weakest first (pg_locks.mode spellings). */
enum lockmode { LM_NONE,
		LM_AS,
		LM_RS,
		LM_RE,
		LM_SUE,
		LM_S,
		LM_SRE,
		LM_E,
		LM_AE };
const char *lockmode_name(enum lockmode m);
enum lockmode lockmode_parse(const char *name);
/* Does a lock held in mode m block plain reads / writes of the application? */
bool lockmode_blocks_reads(enum lockmode m);
bool lockmode_blocks_writes(enum lockmode m);

/* What a statement costs while it holds its locks. */
enum work { W_META,
	    W_SCAN,
	    W_INDEX,
	    W_REWRITE,
	    W_DML };

struct lock_entry {
	char *table;
	enum lockmode mode;
};

/* One INSERT, UPDATE, DELETE or MERGE a statement runs: the statement
 * itself, or one nested in it (a data-modifying WITH, the query of
 * EXPLAIN ANALYZE, COPY (...) TO or CREATE TABLE AS). */
struct dml {
	char *table;	  /* its target */
	const char *verb; /* "INSERT", "UPDATE", "DELETE", "MERGE" */
	bool deletes;	  /* DELETE, or MERGE with a DELETE action */
	struct strv fan;  /* tables its foreign keys' actions write */
};

/* The effect of one statement, predicted from the parse tree and the DAG
 * (static) or observed on the shadow (traced). */
struct effect {
	struct lock_entry *locks;
	size_t nlocks, caplocks;
	struct strv rewrites, scans, created;
	struct strv fired; /* tables written by the triggers the statement fires */
	enum work work;
	double work_rows;   /* rows the work touches; < 0 when unknown */
	bool notx;	    /* cannot run inside a transaction block */
	bool destroys;	    /* destroys data */
	bool unmodelled;    /* procedural code, dynamic SQL: effects unknown */
	struct strv routed; /* partitions an INSERT's rows are routed to */
	char *no_partition; /* the partitioned table no partition of which takes a row */
	struct dml *dml;    /* the DML it runs, its own first; not spooled */
	size_t ndml, capdml;
};

void effect_lock(struct effect *e, const char *table, enum lockmode m);
enum lockmode effect_mode(const struct effect *e, const char *table);
enum lockmode effect_max_mode(const struct effect *e);
void effect_release(struct effect *e);

/* route_insert (route.c): the partitions, at every level, that the rows of
 * INSERT ... VALUES insert (its fields; src the text its locations index)
 * into partitioned table go to, pushed onto parts. ROUTE_UNKNOWN when some
 * row's way cannot be told statically (the others are pushed still);
 * ROUTE_NONE, with *none the partitioned table, when no partition takes a
 * row: PostgreSQL refuses it and the INSERT fails. */
enum route { ROUTE_KNOWN,
	     ROUTE_UNKNOWN,
	     ROUTE_NONE };
enum route route_insert(const struct catalog *cat, const char *table, const cJSON *insert, const char *src,
			struct strv *parts, const char **none);

/* What a transaction-control statement does. */
enum txkind { TXK_NONE,
	      TXK_BEGIN,
	      TXK_END,
	      TXK_OTHER };

/* A statement's parse tree lives only while it is analysed (statements are
 * parsed one at a time); what the migration-wide rules need afterwards is
 * kept in the fields below node. */
struct stmt {
	size_t index; /* 0-based within its migration */
	int line;
	char *sql;		 /* the text, while it is analysed; then NULL */
	size_t sql_off, sql_len; /* the text's place in the migration's text */
	char *type;		 /* parse node name */
	const cJSON *node;	 /* NULL once the statement has been analysed */
	const char *src;	 /* with node: the text its parse locations index */
	enum txkind txk;
	bool sets_lock_timeout;	  /* sets a lock_timeout within --max-lock-timeout */
	bool clears_lock_timeout; /* switches it off: 0, DEFAULT, RESET (ALL), too long */
	bool rolls_back;	  /* with txk TXK_END: ROLLBACK (or ABORT) */
	bool validates;		  /* ALTER TABLE ... VALIDATE CONSTRAINT */
	struct effect eff;
	bool in_tx;	    /* runs inside a transaction block (implicit or explicit) */
	int tx;		    /* transaction number within the migration */
	double est_ms;	    /* estimated duration in production; < 0 unknown */
	double est_lock_ms; /* how long its locks are held: to the end of its transaction */
	bool traced;
	double shadow_blocked_read_ms, shadow_blocked_write_ms; /* from the trace; < 0 unknown */
	struct strv ignore;					/* rules suppressed by -- migsafe:ignore comments */
};

struct finding {
	char *rule, *severity, *table, *message, *fix;
	char *what;	    /* set while the severity waits for the lock time (rules.c) */
	bool rollback;	    /* found in the migration's rollback SQL: stmt, line are there */
	enum lockmode mode; /* with what: the statement's lock on table */
	double rows;	    /* with what: the rows its work touches, < 0 unknown */
	size_t stmt;
	int line;
};

/* A migration is walked statement by statement; each analysed statement
 * and its findings are kept in spools (memory, then a temporary file), so
 * memory stays bounded however many statements there are. What depends on
 * later statements (how long a lock is held, the migration-wide rules, the
 * risk) is worked out in passes over the spools once the walk is over. */
struct migration {
	char *id, *file;     /* file: where lines point (a path, or the id) */
	char *rollback_file; /* where lines of rollback findings point, or NULL */
	/* lowercase hex SHA-256 of the forward and rollback SQL as given (the
	 * deploy runs only SQL with these digests); rollback "" when none */
	char digest_forward[65], digest_rollback[65];
	const cJSON *outside; /* the record's outside_allow_list[] (borrowed), or NULL */
	const char *text;     /* the SQL, borrowed */
	struct mapped *map;   /* the file text is mapped from, or NULL */
	size_t n;	      /* statements so far */
	struct stmt *win;     /* statements not kept yet: those waiting, the one analysed */
	size_t nwin, capwin;
	struct finding *findings; /* findings not kept yet */
	size_t nfindings, capfindings;
	struct spool stmts; /* keep_stmt records, in order */
	struct spool times; /* per statement: est_ms, tx (struct stmt_time) */
	struct spool holds; /* per statement, last first: est_lock_ms, last (struct stmt_hold) */
	struct spool found; /* findings of the walk, then of the migration-wide rules */
	size_t nfound;
	int score;
	const char *level;
	struct strv reasons;
};

struct stmt_time {
	double est_ms;
	int64_t tx;
};

struct stmt_hold {
	double est_lock_ms;
	uint64_t last; /* index of the last statement of its transaction */
};

/* keep.c: statements and findings into and out of spools */
void keep_stmt(struct spool *s, const struct stmt *st);
void load_stmt(struct spool_cur *c, struct stmt *st);
void stmt_release(struct stmt *st);
void keep_finding(struct spool *s, const struct finding *f);
void load_finding(struct spool_cur *c, struct finding *f);
void finding_release(struct finding *f);

struct opts {
	int pg_version;
	double max_lock_timeout_ms;	 /* a longer lock_timeout switches it off */
	double max_statement_timeout_ms; /* likewise statement_timeout, idle_in_transaction_session_timeout */
	bool no_transaction;
	struct strv disabled;
	const char *fail_on;
	const char *format;
};

/* locks.c: predict the effect of st against the catalog as it stands
 * before st runs. */
void locks_predict(struct catalog *cat, const struct opts *o, struct stmt *st, const char *search_schema);
/* locks_reset: forget session settings (call at each migration's start) */
void locks_reset(void);
/* rows of a table from the DAG, < 0 when unknown */
double table_rows(const struct catalog *cat, const char *qname);
/* estimated milliseconds for work over rows */
double work_ms(enum work w, double rows);

/* rules.c: rules_stmt runs before st is applied to cat (so cat is the
 * schema st sees); created lists the tables this migration created so far.
 * The migration-wide rules then see every statement in order, with its
 * est_lock_ms known: mrules_stmt (findings of the statement), mrules_tx
 * (transaction control; its findings come last), mrules_end. */
void rules_stmt(struct catalog *cat, const struct opts *o, struct migration *m, struct stmt *st,
		const struct strmap *created);
/* rules_session: the statement's escapes from the deploy's session and
 * transaction (timeouts switched off, role or search_path changed,
 * two-phase commit); also run on the rollback SQL. */
void rules_session(const struct opts *o, struct migration *m, const struct stmt *st);
/* What st (type, node) does to the session's lock_timeout. */
enum lt_effect { LT_NONE,
		 LT_SETS,
		 LT_CLEARS };
enum lt_effect lock_timeout_effect(const struct opts *o, const char *type, const cJSON *node);
/* rule_tx_end: a COMMIT, ROLLBACK or PREPARE TRANSACTION (st->txk ==
 * TXK_END) in a file the deploy runs in one transaction, with more
 * (`later`) statements after it, or a ROLLBACK. */
void rule_tx_end(const struct opts *o, struct migration *m, const struct stmt *st, bool later);
struct mrules {
	bool lock_timeout, warned;
	size_t real, seen; /* statements that are not transaction control: all, so far */
	bool wrapped;	   /* the tool runs the file in one transaction */
	int64_t vtx;	   /* the transaction vtable was seen in */
	char *vtable;	   /* first table held in ShareRowExclusive or above in vtx */
	enum lockmode vmode;
	int depth;
	bool open;	     /* an explicit BEGIN was seen: open_at is it */
	struct stmt open_at; /* index, line, ignore only */
};
void mrules_init(struct mrules *r, const struct opts *o, size_t real);
void mrules_stmt(struct mrules *r, const struct opts *o, struct migration *m, const struct stmt *st, size_t last);
void mrules_tx(struct mrules *r, const struct opts *o, struct migration *m, const struct stmt *st);
void mrules_end(struct mrules *r, const struct opts *o, struct migration *m);
/* rules_outside: rule outside-allow-list, one finding for each note nl2mig
 * wrote on a person's file (m->outside): a statement that model output
 * would have been refused for, with the note's severity and fix. */
void rules_outside(const struct opts *o, struct migration *m);
/* finding_finalise: a finding that waited for its statement's lock time */
void finding_finalise(struct finding *f, double est_lock_ms);

/* The rules: every rule a finding can name is in rule_table (rules.c),
 * once, in the order of this enum (by id). --disable, `-- migsafe:ignore`,
 * --list-rules, --explain and the README's rule table all read it. */
enum rule_id {
	RULE_ADD_CHECK_WITHOUT_NOT_VALID,
	RULE_ADD_COLUMN_CONSTRAINED_DOMAIN,
	RULE_ADD_COLUMN_GENERATED_STORED,
	RULE_ADD_COLUMN_REQUIRED,
	RULE_ADD_COLUMN_SERIAL_OR_IDENTITY,
	RULE_ADD_COLUMN_VOLATILE_DEFAULT,
	RULE_ADD_EXCLUSION_CONSTRAINT,
	RULE_ADD_FK_WITHOUT_NOT_VALID,
	RULE_ADD_PRIMARY_KEY,
	RULE_ADD_UNIQUE_CONSTRAINT,
	RULE_ATTACH_PARTITION_SCAN,
	RULE_AUTHZ_CHANGE,
	RULE_BACKFILL_IN_MIGRATION,
	RULE_CASCADING_DELETE,
	RULE_CHANGE_COLUMN_TYPE,
	RULE_CHAR_TYPE,
	RULE_CONCURRENT_INDEX_ON_PARTITIONED,
	RULE_CONCURRENTLY_IN_TRANSACTION,
	RULE_CREATE_INDEX_NON_CONCURRENTLY,
	RULE_CREATE_TABLE_MANY_FKS,
	RULE_DETACH_PARTITION_NON_CONCURRENTLY,
	RULE_DETACH_PARTITION_SCAN,
	RULE_DOMAIN_CONSTRAINT_SCAN,
	RULE_DROP_COLUMN,
	RULE_DROP_FOREIGN_KEY,
	RULE_DROP_INDEX_NON_CONCURRENTLY,
	RULE_DROP_NOT_NULL,
	RULE_DROP_SCHEMA,
	RULE_DROP_TABLE,
	RULE_DROP_VIEW,
	RULE_ENUM_ADD_VALUE_UNORDERED,
	RULE_EXPLICIT_LOCK_TABLE,
	RULE_JSON_COLUMN,
	RULE_LOCK_TIMEOUT_MISSING,
	RULE_OUTSIDE_ALLOW_LIST,
	RULE_PARTITION_OF_WITH_DEFAULT,
	RULE_PK_USING_INDEX_ON_NULLABLE,
	RULE_PREFER_TIMESTAMPTZ,
	RULE_RAW_SQL_UNINSPECTABLE,
	RULE_REFRESH_MATVIEW_NON_CONCURRENTLY,
	RULE_REINDEX_NON_CONCURRENTLY,
	RULE_RENAME_COLUMN,
	RULE_RENAME_ENUM_VALUE,
	RULE_RENAME_TABLE,
	RULE_RENAME_VIEW,
	RULE_SEARCH_PATH_CHANGE,
	RULE_SESSION_ROLE_CHANGE,
	RULE_SET_NOT_NULL_EXISTING_COLUMN,
	RULE_STATEMENT_WILL_FAIL,
	RULE_TABLE_REWRITE,
	RULE_TIMEOUT_DISABLED,
	RULE_TRACE_DISAGREEMENT,
	RULE_TRANSACTION_ENDED_IN_FILE,
	RULE_TRANSACTION_NESTING,
	RULE_TRUNCATE,
	RULE_TRUNCATE_CASCADE,
	RULE_TWO_PHASE_COMMIT,
	RULE_TYPE_CHANGE_WITH_CHECK_CONSTRAINTS,
	RULE_UNCOMMITTED_TRANSACTION,
	RULE_VACUUM_FULL_OR_CLUSTER,
	RULE_VALIDATE_IN_SAME_TRANSACTION,
	RULE_WORK_AFTER_ACCESS_EXCLUSIVE,
	RULE_COUNT
};
struct rule_info {
	const char *id;
	/* the severity it is given; with by_time, the one it has when the
	 * time is unknown: it grows with how long the application is blocked
	 * (under 1 s low, under 30 s medium, longer high) */
	const char *severity;
	bool by_time;
	const char *summary; /* one line */
	const char *explain; /* what is detected, and why it matters */
	const char *example; /* SQL that triggers it */
	const char *fix;     /* what to do instead */
};
extern const struct rule_info rule_table[RULE_COUNT];
/* rule_find: the rule named id, or NULL when there is none */
const struct rule_info *rule_find(const char *id);
/* rules_list: the table, one rule a line ("id  severity  summary"), or as
 * the Markdown table of the README when markdown */
void rules_list(struct buf *out, bool markdown);
/* rule_explain: one rule's documentation, with its example and its fix */
void rule_explain(struct buf *out, const struct rule_info *ri);

/* risk: accumulated over the statements and the (final) findings */
struct risk {
	int top, highs, mediums;
	bool destroys;
	double longest;
	struct strv reasons[4]; /* the first 8 of each severity */
};
void risk_stmt(struct risk *r, const struct stmt *st);
void risk_finding(struct risk *r, const struct finding *f);
/* risk_score: score, level and reasons into m; releases r */
void risk_score(struct risk *r, struct migration *m);
void finding_add(struct migration *m, const struct stmt *st, const char *rule, const char *severity,
		 const char *table, char *message_take, char *fix_take);

/* format.c */
void format_text_finding(const char *file, const struct finding *f, struct buf *out);
void format_text_risk(const struct migration *m, struct buf *out);
void format_github_finding(const char *file, const struct finding *f, struct buf *out);
void format_sarif(const struct migration *ms, size_t n, struct buf *out);

#endif
