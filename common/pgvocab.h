/*
 * pgvocab: the PostgreSQL and review vocabulary every program shares, defined
 * once: lock modes, severities, durations, the sample's scale-up, a monotonic
 * clock, a quiet libpq notice processor and a string list as JSON.
 *
 * Lock modes are numbered by strength, 1 (AccessShareLock) to 8
 * (AccessExclusiveLock); 0 is "no lock". Severities rank 1 low, 2 medium,
 * 3 high; 0 is "not a severity".
 *
 * Durations have one spelling. Read: a decimal number (no sign, no exponent,
 * no space) and a unit: ms, s, min (m is read as min), h; a bare number is
 * seconds. Written for people: "250 ms", "1.5 s", "1 min 30 s", "2 h 05 min",
 * "unknown" when negative. Written for PostgreSQL's SET (and in messages
 * about options): "500ms", "2s", "5min", "1h".
 */
#ifndef MIGSAFE_PGVOCAB_H
#define MIGSAFE_PGVOCAB_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

struct strv;
struct buf;

enum { PGV_LOCK_NONE = 0,
       PGV_LOCK_MAX = 8 };

/* The mode as pg_locks prints it ("AccessExclusiveLock"); NULL out of 1..8. */
const char *pgv_lock_name(int mode);
/* The mode as the review and LOCK TABLE print it ("ACCESS EXCLUSIVE"); NULL out of 1..8. */
const char *pgv_lock_short(int mode);
/* The rank of a pg_locks name, 0 when it is none (NULL included). */
int pgv_lock_parse(const char *name);
/* PostgreSQL's conflict table: whether modes a and b conflict (0 conflicts with nothing). */
bool pgv_lock_conflicts(int a, int b);
/* Conflicts with a plain SELECT's AccessShareLock. */
bool pgv_lock_blocks_reads(int mode);
/* Conflicts with INSERT/UPDATE/DELETE's RowExclusiveLock. */
bool pgv_lock_blocks_writes(int mode);

/* "low" 1, "medium" 2, "high" 3; 0 for anything else, NULL included. */
int pgv_severity_rank(const char *sev);
/* "low", "medium", "high", NULL: rank i + 1 at index i (a list for opt_enum). */
extern const char *const pgv_severity_list[4];
/* The name of rank 1..3; NULL otherwise. */
const char *pgv_severity_name(int rank);

/* Parse a duration (rule above) into *ms; 0, or -1 when it is not one. */
int pgv_duration_parse(const char *s, double *ms);
/* Append ms as people read it (rule above). */
void pgv_duration_text(struct buf *b, double ms);
/* Append ms rounded to whole ms as SET reads it, in the largest unit that
 * divides it: "1h", "5min", "2s", "500ms". */
void pgv_duration_pg(struct buf *b, double ms);

/* What a time measured on a sample of sample_percent is multiplied by for
 * the whole table: 100 / sample_percent, 1 when it is not above 0. */
double pgv_sample_scale(double sample_percent);

/* Milliseconds on the monotonic clock (only differences mean anything). */
double pgv_now_ms(void);

/* A libpq notice processor that drops notices ("drop cascades to ..."). */
void pgv_notice_quiet(void *arg, const char *message);

/* A new JSON array of sv's strings (the caller owns it). */
cJSON *pgv_strv_json(const struct strv *sv);

#endif
