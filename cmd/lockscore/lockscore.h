/* lockscore internals: the lock model (locks.c), the rules (rules.c), the
 * output formats (format.c). */
#ifndef LOCKSCORE_H
#define LOCKSCORE_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "buf.h"
#include "catalog.h"
#include "replay.h"
#include "sql.h"
#include "strmap.h"

/* The eight table lock modes, weakest first (pg_locks.mode spellings). */
enum lockmode { LM_NONE, LM_AS, LM_RS, LM_RE, LM_SUE, LM_S, LM_SRE, LM_E, LM_AE };
const char *lockmode_name(enum lockmode m);
enum lockmode lockmode_parse(const char *name);
/* Does a lock held in mode m block plain reads / writes of the application? */
bool lockmode_blocks_reads(enum lockmode m);
bool lockmode_blocks_writes(enum lockmode m);

/* What a statement costs while it holds its locks. */
enum work { W_META, W_SCAN, W_INDEX, W_REWRITE, W_DML };

struct lock_entry {
	char *table;
	enum lockmode mode;
};

/* The effect of one statement, predicted from the parse tree and the DAG
 * (static) or observed on the shadow (traced). */
struct effect {
	struct lock_entry *locks;
	size_t nlocks, caplocks;
	struct strv rewrites, scans, created;
	enum work work;
	double work_rows;  /* rows the work touches; < 0 when unknown */
	bool notx;	   /* cannot run inside a transaction block */
	bool destroys;	   /* destroys data */
	bool unmodelled;   /* procedural code, dynamic SQL: effects unknown */
};

void effect_lock(struct effect *e, const char *table, enum lockmode m);
enum lockmode effect_mode(const struct effect *e, const char *table);
enum lockmode effect_max_mode(const struct effect *e);
void effect_release(struct effect *e);

/* What a transaction-control statement does. */
enum txkind { TXK_NONE, TXK_BEGIN, TXK_END, TXK_OTHER };

/* A statement's parse tree lives only while it is analysed (statements are
 * parsed one at a time); what the migration-wide rules need afterwards is
 * kept in the fields below node. */
struct stmt {
	size_t index;	  /* 0-based within its migration */
	int line;
	char *sql;	  /* the text, while it is analysed; then NULL */
	size_t sql_off, sql_len; /* the text's place in the migration's text */
	char *type;	  /* parse node name */
	const cJSON *node; /* NULL once the statement has been analysed */
	enum txkind txk;
	bool sets_lock_timeout; /* SET lock_timeout */
	bool validates;	  /* ALTER TABLE ... VALIDATE CONSTRAINT */
	struct effect eff;
	bool in_tx;	  /* runs inside a transaction block (implicit or explicit) */
	int tx;		  /* transaction number within the migration */
	double est_ms;	  /* estimated duration in production; < 0 unknown */
	double est_lock_ms; /* how long its locks are held: to the end of its transaction */
	bool traced;
	double shadow_blocked_read_ms, shadow_blocked_write_ms; /* from the trace; < 0 unknown */
	struct strv ignore; /* rules suppressed by -- migsafe:ignore comments */
};

struct finding {
	char *rule, *severity, *table, *message, *fix;
	char *what; /* set while the severity waits for the lock time (rules.c) */
	size_t stmt;
	int line;
};

struct migration {
	char *id, *file; /* file: where lines point (a path, or the id) */
	const char *text; /* the SQL, borrowed */
	struct stmt *stmts;
	size_t n, cap;
	struct finding *findings;
	size_t nfindings, capfindings;
	int score;
	const char *level;
	struct strv reasons;
};

struct opts {
	int pg_version;
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
 * rules_migration runs once all statements are known. */
void rules_stmt(struct catalog *cat, const struct opts *o, struct migration *m, struct stmt *st,
		const struct strmap *created);
void rules_migration(const struct opts *o, struct migration *m);
void finding_add(struct migration *m, const struct stmt *st, const char *rule, const char *severity,
		 const char *table, char *message_take, char *fix_take);
void risk_score(struct migration *m);
int severity_rank(const char *sev);

/* format.c */
void format_text(const struct migration *ms, size_t n, struct buf *out);
void format_github(const struct migration *ms, size_t n, struct buf *out);
void format_sarif(const struct migration *ms, size_t n, struct buf *out);

#endif
