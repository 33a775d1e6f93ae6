/*
 * metricwatch: the parts shared by its files.
 *
 * Times are seconds as doubles: "now" is the monotonic clock (mw_now), so
 * a change of the wall clock never shortens a cooldown; record timestamps
 * are wall-clock RFC 3339 text (mw_ts).
 *
 * Ownership: every struct here is owned by main's struct watch and lives
 * for the whole run; functions borrow what they are given.
 */
#ifndef METRICWATCH_H
#define METRICWATCH_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct opts {
	const char *pg_url; /* NULL: no PostgreSQL source */
	bool apply, auto_rollback, pitr_enabled;
	int pid;	      /* --pid: the migration's backend */
	const char *app_name; /* --app-name: find the backend by application_name */
	double interval, cooldown, settle, baseline, max_lock_wait, duration;
	double error_spike, error_floor, error_window;
	double lock_timeout, retry_backoff, rollback_lock_timeout, cancel_timeout;
	double statement_timeout; /* 0: none */
	double max_age;		  /* a point older than this is stale; 0: 2 x interval */
	int lock_retries;
	bool unreviewed; /* --apply without a matching risk record */
	const char *datadog_query, *datadog_site;
	double datadog_window;
	const char *sentry; /* ORG/PROJECT */
	double http_timeout;
};

/* What a metric's rule compares against. */
enum metric_class {
	MC_NONE,  /* recorded only */
	MC_LOCK,  /* seconds of lock wait against --max-lock-wait */
	MC_ERROR, /* a rate against baseline x --error-spike (at least --error-floor) */
	MC_FIXED, /* a threshold given with the metric record itself */
};

struct metric {
	char *name;
	enum metric_class cls;
	double threshold; /* MC_FIXED: given; others computed */
	double base_sum;  /* baseline: sum and count of samples */
	long base_n;
	double breach_since; /* mw_now() when the breach began, or -1 */
	double breach_peak;
	bool sustained;	   /* this breach already outlasted the cooldown */
	double last_fresh; /* mw_now() of the last fresh sample, or 0 */
	double max_gap;	   /* the longest gap between the fresh samples of a breach */
};

/* A forward migration run by --apply, one statement at a time, on its own
 * connection, so the watch loop never waits for it. */
enum apply_state { AP_WAIT,
		   AP_RUNNING,
		   AP_DONE,
		   AP_FAILED,
		   AP_STOPPED };

struct apply {
	PGconn *conn;
	int pid;
	struct strv sql;      /* statements to send, wrapper included */
	int *line;	      /* their lines in the forward SQL (0: the wrapper's) */
	int *stmt;	      /* their numbers in the forward SQL, from 1 (0: the wrapper's) */
	size_t xid_at;	      /* index of SELECT txid_current() (wrapped), else SIZE_MAX */
	char *xid;	      /* its answer: the transaction's id, to ask txid_status */
	bool wrapped;	      /* BEGIN ... COMMIT around the file */
	size_t next;	      /* index of the statement sent (or to send) */
	size_t committed;     /* statements before this index are committed */
	bool maybe_committed; /* the connection died while COMMIT was in flight */
	enum apply_state state;
	int attempt;
	double retry_at;
	int own_aborts; /* transactions we rolled back (not the workload's errors) */
	char *error;
	bool cancelled;
	double lock_cancelled; /* the lock wait after which metricwatch cancelled the statement, or 0 */
};

struct watch {
	struct opts *o;
	const char *id; /* the migration's id */
	const char *forward, *rollback;
	cJSON *irreversible; /* borrowed from the migration record */
	/* the forward statement each rollback statement undoes (nl2mig's
	 * rollback_of; -1: serves the whole rollback), or NULL: unknown.
	 * Borrowed; checked against the rollback by rollback_check. */
	const cJSON *rollback_of;
	PGconn *pg;	      /* read-only watch connection */
	unsigned *table_oids; /* the migration's tables, resolved */
	size_t ntables;
	int mig_pid; /* the migration's backend, 0 when unknown */
	bool mig_seen, mig_finished;
	double finished_at, started_at, t0;
	struct metric *metrics;
	size_t nmetrics;
	bool in_baseline;
	/* pg error rate: xact_rollback samples in a ring for the window */
	double *err_t, *err_v;
	size_t err_n, err_cap;
	struct apply ap;
	bool sustained_any, rolled_back;
	int source_failures[3]; /* consecutive failures: pg, datadog, sentry */
	struct metric *trigger; /* the first metric whose breach outlasted the cooldown, or NULL */
	double last_breach_end; /* mw_now() when the last breach ended, or -1 */
};

/* out.c: clocks and output */
double mw_now(void);
char *mw_ts(void);
void mw_sleep(double s);
/* mw_out_line: one line (s, n, without its newline) to stdout, or to the
 * queue until mw_go_live; a write error is said once, and the watch goes
 * on (mw_out_broken). */
void mw_out_line(const char *s, size_t n);
/* mw_go_live: write the queue; from now on lines go out as they come. */
void mw_go_live(void);
bool mw_live(void);
bool mw_out_broken(void);
/* mw_queued: the lines queued before mw_go_live (each ends in a newline). */
struct buf *mw_queued(void);
/* mw_emit: rec as one line (mw_out_line); takes rec. */
void mw_emit(cJSON *rec);
cJSON *mw_event(struct watch *w, const char *event);

/* rules.c: samples, thresholds and breaches */
void mw_sample(struct watch *w, const char *name, const char *source, double value, cJSON *labels,
	       enum metric_class cls, double fixed_threshold);
double mw_max_age(const struct watch *w, double cadence);
void mw_max_gap(struct watch *w, const char *name, enum metric_class cls, double gap);
const char *mw_point(struct watch *w, const char *key, double ts, double max_age);
void mw_no_data(struct watch *w, const char *name, const char *source, const char *why, cJSON *labels,
		enum metric_class cls, double fixed_threshold);
/* mw_threshold: a metric's threshold now (NaN when it has none). */
double mw_threshold(const struct watch *w, const struct metric *m);
/* mw_add_num: rec's field k, v rounded to the millisecond, or null when NaN. */
void mw_add_num(cJSON *rec, const char *k, double v);
/* mw_any_breach: some metric is in breach now. */
bool mw_any_breach(const struct watch *w);
/* mw_points_release: forget the points mw_point remembered. */
void mw_points_release(void);

/* pgwatch.c */
int pgw_resolve_tables(struct watch *w);
int pgw_poll(struct watch *w);
int pgw_find_backend(struct watch *w);
int pgw_cancel(struct watch *w, PGconn *act, int pid, cJSON *ev);
bool pgw_not_there(const char *sqlstate);
double pgw_lock_wait(struct watch *w, int pid);

/* apply.c */
int apply_init(struct apply *ap, const char *forward, const char *url);
void apply_step(struct watch *w);
void apply_release(struct apply *ap);
void apply_lock_backstop(struct watch *w, double wait_s);
/* rollback_run: 0 rolled back (or nothing to roll back), -1 failed, 1
 * skipped (what committed is unknown: no SQL run); details go into done. */
int rollback_run(struct watch *w, PGconn *act, cJSON *done);
int rollback_check(const struct watch *w);
void timeouts_set(PGconn *c, const struct opts *o, bool rollback);
int timeouts_check(struct watch *w, PGconn *c, bool rollback, int stmt, int line);

/* api.c */
int api_datadog(struct watch *w);
int api_sentry(struct watch *w);
void api_slack(const struct watch *w, const char *event, const char *text);

#endif
