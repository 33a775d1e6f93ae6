/*
 * metricwatch — watch a migration in production; roll back when it hurts.
 *
 * usage: metricwatch [options] < records.ndjson
 * Reads a `migration` record {id, forward, rollback, irreversible} (exactly
 * one), `metric` records {name, value, ts, labels, threshold} from anything
 * that can feed them, and forwards every record it reads. Samples lock waits
 * and the error rate from PostgreSQL (--pg), Datadog (--datadog) and Sentry
 * (--sentry) every --interval. A breach is a lock wait above --max-lock-wait,
 * or an error rate above the baseline (measured for --baseline before the
 * migration starts) times --error-spike and above --error-floor. A breach
 * that outlasts --cooldown is acted on: with --auto-rollback AND
 * --pitr-enabled, the migration's backend is cancelled (then terminated) and
 * the rollback SQL is run for what committed, with a lock_timeout and
 * retries; otherwise it is an alert and the database is never written.
 * Rollback SQL runs only for what metricwatch knows committed (what it ran
 * with --apply); when it cannot know (another tool's backend, a COMMIT
 * whose connection was lost and whose txid_status is not settled) the
 * rollback is skipped (rollback_skipped, exit 3) and a human decides.
 * --apply runs the forward migration itself (one transaction unless it
 * cannot be one; lock_timeout and retries with backoff). It reads all of
 * stdin first and applies only what lockscore reviewed: one `risk` record
 * for the migration whose digest (SHA-256 of forward and rollback) matches,
 * else exit 4 before connecting (--unreviewed: apply anyway, a warning).
 * Its timeouts are set again before every forward and rollback statement;
 * a statement that changed them is reported (timeout_override); one that
 * waits for a lock past them anyway is cancelled by metricwatch.
 *
 * Points: each is used once per series (Datadog series, Sentry bucket,
 * stdin metric name and labels, by "ts"); one not newer than the last used,
 * or older than --max-age by its own timestamp, is no data (a sample with
 * value null and "no_data"), never a breach. A breach is sustained only by
 * fresh samples no further apart than the max age; one whose metric falls
 * silent that long ends (cooldown, outcome no_data).
 *
 * Writes `watch` records: sample, breach, cooldown (a breach ended or
 * outlasted the cooldown: outcome recovered|sustained|ended|no_data),
 * migration_started|migration_retry|migration_done|migration_failed (with
 * --apply), timeout_override, rollback_started, rollback_done,
 * rollback_failed, rollback_skipped, all_clear.
 * Slack (SLACK_WEBHOOK_URL) hears of breaches, rollbacks and the all-clear.
 *
 * Output: records read before the watch starts are checked first (a bad
 * line is fatal, exit 4, nothing on stdout). From then on the output is a
 * live log: each record is written whole, one write of one line, and
 * flushed, so a reader (tail -f, jq --seq) never sees half a record; if the
 * run dies, what is on stdout is a true prefix of the events. A bad record
 * arriving on stdin during the watch is reported and skipped: a log tailer's
 * stray line must not abort a deployment. A closed stdout is reported and
 * the watch goes on (the database matters more than the log).
 *
 * Exit: 0 all clear; 1 rolled back (or, without the rollback flags, a
 * breach outlasted the cooldown); 2 usage; 3 could not watch (a source
 * failed 3 times in a row, the database went away), the migration failed
 * under --apply, or the rollback failed or was skipped; 4 invalid input
 * (or, with --apply, a migration that does not match its review).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "metricwatch.h"
#include "msg.h"
#include "nd.h"
#include "opt.h"
#include "pgvocab.h"
#include "sha256.h"
#include "xalloc.h"

static const char usage_text[] =
	"usage: metricwatch [options] < records.ndjson\n"
	"Watch a migration in production: sample lock waits and error rates, and roll back\n"
	"(only with --auto-rollback and --pitr-enabled) when a breach outlasts the cooldown.\n"
	"\n"
	"Sources (combine freely; `metric` records on stdin always count):\n"
	"  --pg URL               poll PostgreSQL (default $PROD_DATABASE_URL, then $DATABASE_URL)\n"
	"  --no-pg                do not connect to PostgreSQL at all\n"
	"  --datadog QUERY        Datadog metrics query (DD_API_KEY, DD_APP_KEY), an error signal\n"
	"  --datadog-site URL     Datadog API base (default $DD_SITE, else https://api.datadoghq.com)\n"
	"  --datadog-window T     how far back each query looks (default 5min)\n"
	"  --sentry ORG/PROJECT   Sentry error counts (SENTRY_AUTH_TOKEN; base $SENTRY_URL)\n"
	"The migration:\n"
	"  --apply                run the forward SQL (lock_timeout, retries with backoff); reads all of\n"
	"                         stdin first and needs lockscore's risk record with a matching digest\n"
	"  --pid N                the migration's backend, when another tool runs it\n"
	"  --app-name NAME        ... or find it by application_name\n"
	"  --duration T           with no backend to follow: the migration runs this long\n"
	"  --lock-timeout T       lock_timeout of each --apply statement, set again before each (default 2s)\n"
	"  --lock-retries N       attempts after a lock timeout (default 5)\n"
	"  --retry-backoff T      first wait between attempts, doubled each time (default 1s)\n"
	"  --statement-timeout T  statement_timeout of each --apply and rollback statement (default none)\n"
	"  --unreviewed           --apply without a matching lockscore risk record (a warning)\n"
	"Rules:\n"
	"  --interval T           sampling period, 10ms to 1min (default 1s)\n"
	"  --baseline T           error-rate baseline measured before the migration (default 10s)\n"
	"  --max-lock-wait T      lock wait that is a breach (default 5s)\n"
	"  --error-spike X        error rate above baseline times X is a breach (default 3)\n"
	"  --error-floor X        ... and above X per second (default 1)\n"
	"  --error-window T       PostgreSQL error rate averaged over T (default 10s)\n"
	"  --cooldown T           a breach must last this long before action (default 30s)\n"
	"  --max-age T            a point older than T (by its own timestamp) is stale, no data; also the\n"
	"                         longest gap between the samples of one breach (default 2 x --interval,\n"
	"                         at least 2 buckets for Datadog and Sentry)\n"
	"  --settle T             quiet time after the migration before all_clear (default 30s)\n"
	"Rollback (both flags, or alert only):\n"
	"  --auto-rollback        cancel the migration and run its rollback SQL\n"
	"  --pitr-enabled         the operator states point-in-time recovery is on\n"
	"  --rollback-lock-timeout T  lock_timeout of the rollback (default 2s)\n"
	"  --cancel-timeout T     wait for pg_cancel_backend before terminating (default 5s)\n"
	"  --http-timeout T       per request to Datadog, Sentry, Slack (default 5s)\n"
	"  -h, --help             this help\n"
	"T is a number of seconds, or with a unit: 500ms, 1.5s, 5min (or 5m), 1h.\n"
	"Passwords belong in PGPASSWORD or a PGPASSFILE, not on the command line: other users\n"
	"see them there (ps) until the program has started and hidden them.\n"
	"Notifications: SLACK_WEBHOOK_URL. Exit: 0 all clear, 1 rolled back (or a sustained\n"
	"breach in alert-only mode), 2 usage, 3 could not watch / apply / roll back (or what\n"
	"committed is unknown: rollback skipped), 4 bad input or not what was reviewed.\n";

/* ---- options ---- */

/* A duration option in seconds, from min_ms to a week. */
static double opt_time(const char *name, const char *arg, double min_ms)
{
	return opt_duration(name, arg, min_ms, OPT_WEEK_MS) / 1000;
}

enum {
	O_PG = 256,
	O_NOPG,
	O_APPLY,
	O_PID,
	O_APP,
	O_DUR,
	O_LT,
	O_LR,
	O_RB,
	O_INT,
	O_BASE,
	O_MLW,
	O_SPIKE,
	O_FLOOR,
	O_EWIN,
	O_COOL,
	O_SETTLE,
	O_AUTO,
	O_PITR,
	O_RBLT,
	O_CANCEL,
	O_HTTP,
	O_DD,
	O_DDSITE,
	O_DDWIN,
	O_SENTRY,
	O_STMT,
	O_MAXAGE,
	O_UNREV,
};

static void set_defaults(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->interval = 1, o->cooldown = 30, o->settle = 30, o->baseline = 10, o->max_lock_wait = 5;
	o->error_spike = 3, o->error_floor = 1, o->error_window = 10;
	o->lock_timeout = 2, o->lock_retries = 5, o->retry_backoff = 1;
	o->rollback_lock_timeout = 2, o->cancel_timeout = 5, o->http_timeout = 5, o->datadog_window = 300;
	const char *u = getenv("PROD_DATABASE_URL");
	if (!u || !*u)
		u = getenv("DATABASE_URL");
	o->pg_url = u && *u ? u : NULL;
}

static void check_opts(struct opts *o, bool no_pg)
{
	if (no_pg)
		o->pg_url = NULL;
	if (o->apply && !o->pg_url)
		usage_error("--apply needs a database: --pg URL or PROD_DATABASE_URL");
	if (o->unreviewed && !o->apply)
		usage_error("--unreviewed goes with --apply");
	if ((o->pid || o->app_name) && !o->pg_url)
		usage_error("--pid and --app-name need a database: --pg URL or PROD_DATABASE_URL");
	if (o->apply + !!o->pid + !!o->app_name > 1)
		usage_error("give one of --apply, --pid and --app-name");
	if (!o->apply && !o->pid && !o->app_name && o->duration <= 0)
		usage_error("no migration to follow: give --apply, --pid, --app-name or --duration");
	if (o->sentry && (!strchr(o->sentry, '/') || strchr(o->sentry, '/') == o->sentry ||
			  !strchr(o->sentry, '/')[1] || strchr(strchr(o->sentry, '/') + 1, '/')))
		usage_error("--sentry takes ORG/PROJECT, not '%s'", o->sentry);
	if (o->datadog_query && (!getenv("DD_API_KEY") || !getenv("DD_APP_KEY")))
		usage_error("--datadog needs DD_API_KEY and DD_APP_KEY in the environment");
	if (o->sentry && !getenv("SENTRY_AUTH_TOKEN"))
		usage_error("--sentry needs SENTRY_AUTH_TOKEN in the environment");
	if (!o->datadog_site) {
		const char *s = getenv("DD_SITE");
		o->datadog_site = s && *s ? s : "https://api.datadoghq.com";
	}
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{"pg", required_argument, NULL, O_PG},
		{"no-pg", no_argument, NULL, O_NOPG},
		{"apply", no_argument, NULL, O_APPLY},
		{"pid", required_argument, NULL, O_PID},
		{"app-name", required_argument, NULL, O_APP},
		{"duration", required_argument, NULL, O_DUR},
		{"lock-timeout", required_argument, NULL, O_LT},
		{"lock-retries", required_argument, NULL, O_LR},
		{"retry-backoff", required_argument, NULL, O_RB},
		{"interval", required_argument, NULL, O_INT},
		{"baseline", required_argument, NULL, O_BASE},
		{"max-lock-wait", required_argument, NULL, O_MLW},
		{"error-spike", required_argument, NULL, O_SPIKE},
		{"error-floor", required_argument, NULL, O_FLOOR},
		{"error-window", required_argument, NULL, O_EWIN},
		{"cooldown", required_argument, NULL, O_COOL},
		{"settle", required_argument, NULL, O_SETTLE},
		{"auto-rollback", no_argument, NULL, O_AUTO},
		{"pitr-enabled", no_argument, NULL, O_PITR},
		{"rollback-lock-timeout", required_argument, NULL, O_RBLT},
		{"cancel-timeout", required_argument, NULL, O_CANCEL},
		{"http-timeout", required_argument, NULL, O_HTTP},
		{"datadog", required_argument, NULL, O_DD},
		{"datadog-site", required_argument, NULL, O_DDSITE},
		{"datadog-window", required_argument, NULL, O_DDWIN},
		{"sentry", required_argument, NULL, O_SENTRY},
		{"statement-timeout", required_argument, NULL, O_STMT},
		{"max-age", required_argument, NULL, O_MAXAGE},
		{"unreviewed", no_argument, NULL, O_UNREV},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool no_pg = false;
	int ch;
	set_defaults(o);
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case O_PG: o->pg_url = optarg; break;
		case O_NOPG: no_pg = true; break;
		case O_APPLY: o->apply = true; break;
		case O_PID: o->pid = (int)opt_int("--pid", optarg, 1, INT_MAX); break;
		case O_APP: o->app_name = optarg; break;
		case O_DUR: o->duration = opt_time("--duration", optarg, 0); break;
		case O_LT: o->lock_timeout = opt_time("--lock-timeout", optarg, 1); break;
		case O_LR: o->lock_retries = (int)opt_int("--lock-retries", optarg, 0, INT_MAX); break;
		case O_RB: o->retry_backoff = opt_time("--retry-backoff", optarg, 0); break;
		case O_INT: o->interval = opt_duration("--interval", optarg, 10, 60000) / 1000; break;
		case O_BASE: o->baseline = opt_time("--baseline", optarg, 0); break;
		case O_MLW: o->max_lock_wait = opt_time("--max-lock-wait", optarg, 0); break;
		case O_SPIKE: o->error_spike = opt_num("--error-spike", optarg, 1, HUGE_VAL); break;
		case O_FLOOR: o->error_floor = opt_num("--error-floor", optarg, 0, HUGE_VAL); break;
		case O_EWIN: o->error_window = opt_time("--error-window", optarg, 0); break;
		case O_COOL: o->cooldown = opt_time("--cooldown", optarg, 0); break;
		case O_SETTLE: o->settle = opt_time("--settle", optarg, 0); break;
		case O_AUTO: o->auto_rollback = true; break;
		case O_PITR: o->pitr_enabled = true; break;
		case O_RBLT: o->rollback_lock_timeout = opt_time("--rollback-lock-timeout", optarg, 1); break;
		case O_CANCEL: o->cancel_timeout = opt_time("--cancel-timeout", optarg, 0); break;
		case O_HTTP: o->http_timeout = opt_time("--http-timeout", optarg, 1); break;
		case O_DD: o->datadog_query = optarg; break;
		case O_DDSITE: o->datadog_site = optarg; break;
		case O_DDWIN: o->datadog_window = opt_time("--datadog-window", optarg, 0); break;
		case O_SENTRY: o->sentry = optarg; break;
		case O_STMT: o->statement_timeout = opt_time("--statement-timeout", optarg, 0); break;
		case O_MAXAGE: o->max_age = opt_time("--max-age", optarg, 0); break;
		case O_UNREV: o->unreviewed = true; break;
		case 'h': fputs(usage_text, stdout); exit(EXIT_OK);
		default: usage_error("unknown option");
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s': records come on stdin", argv[optind]);
	check_opts(o, no_pg);
}

/* ---- stdin ---- */

struct input {
	int fd;
	bool eof;
	long lineno;
	struct buf part; /* an incomplete line */
	cJSON *migration;
	cJSON *pending; /* metric records read before the watch started */
	cJSON *risks;	/* risk records read before the watch started */
};

static enum metric_class class_of(const char *name)
{
	if (strstr(name, "lock_wait"))
		return MC_LOCK;
	if (strstr(name, "error"))
		return MC_ERROR;
	return MC_NONE;
}

/* parse_ts: a metric record's "ts", RFC 3339 text (2026-01-02T03:04:05.678Z,
 * or with +hh:mm) or epoch seconds, as epoch seconds; NaN if neither. */
static double parse_ts(const cJSON *ts)
{
	if (cJSON_IsNumber(ts))
		return isfinite(ts->valuedouble) ? ts->valuedouble : NAN;
	if (!cJSON_IsString(ts))
		return NAN;
	struct tm tm = {0};
	const char *s = ts->valuestring;
	char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (!end)
		return NAN;
	double frac = 0;
	if (*end == '.') {
		char *e2;
		frac = strtod(end, &e2);
		end = e2;
	}
	double off = 0;
	int hh, mm, n = 0;
	if ((*end == '+' || *end == '-') && sscanf(end + 1, "%2d:%2d%n", &hh, &mm, &n) == 2 && !end[1 + n])
		off = (*end == '-' ? -1 : 1) * (hh * 3600.0 + mm * 60.0);
	else if (!((*end == 'Z' || *end == 'z') && !end[1]))
		return NAN;
	return (double)timegm(&tm) + frac - off;
}

/* metric_record: a metric record as a sample. Its series is its name and
 * labels; its "ts" (if any) is the point's time: a point not newer than
 * the last one used of its series, or older than the max age, is no data.
 * Without "ts" a record is a new point as it arrives. */
static void metric_record(struct watch *w, const cJSON *rec)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "value");
	const cJSON *thr = cJSON_GetObjectItemCaseSensitive(rec, "threshold");
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(rec, "labels");
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(rec, "ts");
	const char *name = nd_get_str(rec, "name");
	enum metric_class cls = cJSON_IsNumber(thr) ? MC_FIXED : class_of(name);
	double fixed = cJSON_IsNumber(thr) ? thr->valuedouble : 0;
	cJSON *l = labels ? cJSON_Duplicate(labels, 1) : cJSON_CreateObject();
	const char *why = NULL;
	if (ts) {
		char *lj = cJSON_PrintUnformatted(labels ? labels : l);
		char *key = xasprintf("stdin\x1f%s\x1f%s", name, lj);
		why = mw_point(w, key, parse_ts(ts), mw_max_age(w, 0));
		free(key);
		free(lj);
		cJSON_AddItemToObject(l, "source_ts", cJSON_Duplicate(ts, 1));
	}
	if (why || !cJSON_IsNumber(v))
		mw_no_data(w, name, "stdin", why ? why : "the record's value is null", l, cls, fixed);
	else
		mw_sample(w, name, "stdin", v->valuedouble, l, cls, fixed);
}

/* check_record: why rec cannot be used, or NULL. */
static const char *check_record(const cJSON *rec, const struct input *in)
{
	const char *kind = nd_kind(rec);
	if (!strcmp(kind, "metric")) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "value");
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(rec, "labels");
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(rec, "threshold");
		if (!nd_get_str(rec, "name") || !*nd_get_str(rec, "name"))
			return "metric record needs a string \"name\"";
		if (!cJSON_IsNumber(v) && !cJSON_IsNull(v))
			return "metric record needs a numeric (or null) \"value\"";
		if (l && !cJSON_IsObject(l))
			return "metric \"labels\" must be an object";
		if (t && !cJSON_IsNumber(t))
			return "metric \"threshold\" must be a number";
		if (cJSON_GetObjectItemCaseSensitive(rec, "ts") &&
		    isnan(parse_ts(cJSON_GetObjectItemCaseSensitive(rec, "ts"))))
			return "metric \"ts\" must be RFC 3339 text or epoch seconds";
	}
	if (!strcmp(kind, "migration")) {
		const cJSON *rb = cJSON_GetObjectItemCaseSensitive(rec, "rollback");
		if (!nd_get_str(rec, "id") || !nd_get_str(rec, "forward"))
			return "migration record needs \"id\" and \"forward\"";
		if (rb && !cJSON_IsString(rb) && !cJSON_IsNull(rb))
			return "migration \"rollback\" must be a string or null";
		if (in->migration)
			return "a second migration record: metricwatch watches one migration";
	}
	return NULL;
}

/* take_line: one complete line. Before the watch a bad line is fatal;
 * during it, reported and skipped. */
static void take_line(struct watch *w, struct input *in, const char *s, size_t n)
{
	in->lineno++;
	if (n && s[n - 1] == '\r')
		n--;
	size_t sp = 0;
	while (sp < n && (s[sp] == ' ' || s[sp] == '\t'))
		sp++;
	if (sp == n)
		return;
	const char *err = NULL;
	cJSON *rec = nd_parse_line(s, n, &err);
	if (rec)
		err = check_record(rec, in);
	if (err) {
		if (!mw_live())
			die_at(EXIT_INPUT, "<stdin>", in->lineno, "%s", err);
		warning_at("<stdin>", in->lineno, "%s; record skipped", err);
		cJSON_Delete(rec);
		return;
	}
	mw_out_line(s, n);
	if (!strcmp(nd_kind(rec), "migration") && !in->migration) {
		in->migration = rec;
		return;
	}
	if (!strcmp(nd_kind(rec), "risk") && !mw_live()) {
		cJSON_AddItemToArray(in->risks, rec);
		return;
	}
	if (!strcmp(nd_kind(rec), "metric")) {
		if (mw_live())
			metric_record(w, rec);
		else {
			cJSON_AddItemToArray(in->pending, rec);
			return;
		}
	}
	cJSON_Delete(rec);
}

/* pump: read what stdin has (blocking when block), and take whole lines. */
static void pump(struct watch *w, struct input *in, bool block)
{
	char chunk[65536];
	if (in->eof)
		return;
	if (!block) {
		struct pollfd p = {in->fd, POLLIN, 0};
		if (poll(&p, 1, 0) <= 0)
			return;
	}
	ssize_t r = read(in->fd, chunk, sizeof(chunk));
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r < 0)
		die_code(mw_live() ? EXIT_RUNTIME : EXIT_INPUT, "<stdin>: read error: %s", strerror(errno));
	if (r == 0) {
		in->eof = true;
		if (in->part.len)
			take_line(w, in, in->part.s, in->part.len);
		buf_reset(&in->part);
		return;
	}
	buf_add(&in->part, chunk, (size_t)r);
	size_t start = 0;
	for (char *nl; (nl = memchr(in->part.s + start, '\n', in->part.len - start));) {
		size_t n = (size_t)(nl - (in->part.s + start));
		if (n > nd_max_line())
			break; /* refused below, as a line that goes on */
		take_line(w, in, in->part.s + start, n);
		start = (size_t)(nl - in->part.s) + 1;
	}
	if (in->part.len - start > nd_max_line())
		die_at(mw_live() ? EXIT_RUNTIME : EXIT_INPUT, "<stdin>", in->lineno + 1, "line longer than %zu bytes",
		       nd_max_line());
	memmove(in->part.s, in->part.s + start, in->part.len - start);
	in->part.len -= start;
	in->part.s[in->part.len] = '\0';
}

/* read_start: everything up to the migration record (the whole input when
 * stdin is a file, or with --apply, which needs every risk record), so bad
 * input is refused before anything happens. */
static void read_start(struct watch *w, struct input *in)
{
	struct stat st;
	bool file = (fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode)) || w->o->apply;
	if (isatty(in->fd)) {
		in->eof = true;
		return;
	}
	while (!in->eof && (file || !in->migration))
		pump(w, in, true);
}

/* ---- the watch ---- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

/* sample_all: one round of every source. A source that fails three times
 * in a row means we are no longer watching. */
static int sample_all(struct watch *w)
{
	int rc[3] = {0, 0, 0};
	if (w->pg)
		rc[0] = pgw_poll(w);
	if (w->o->datadog_query)
		rc[1] = api_datadog(w);
	if (w->o->sentry)
		rc[2] = api_sentry(w);
	for (int i = 0; i < 3; i++) {
		w->source_failures[i] = rc[i] < 0 ? w->source_failures[i] + 1 : 0;
		if (w->source_failures[i] >= 3) {
			static const char *names[] = {"PostgreSQL", "Datadog", "Sentry"};
			return error("%s failed 3 times in a row: cannot watch", names[i]);
		}
	}
	return 0;
}

/* wait_tick: sleep until next, waking for stdin and the --apply connection. */
static void wait_tick(struct watch *w, struct input *in, double next)
{
	for (;;) {
		double left = next - mw_now();
		if (left <= 0 || interrupted)
			return;
		struct pollfd p[2];
		int n = 0;
		if (!in->eof)
			p[n++] = (struct pollfd){in->fd, POLLIN, 0};
		if (w->ap.conn && w->ap.state == AP_RUNNING)
			p[n++] = (struct pollfd){PQsocket(w->ap.conn), POLLIN, 0};
		int r = poll(p, (nfds_t)n, (int)ceil(left * 1000));
		if (r > 0) {
			pump(w, in, false);
			apply_step(w);
		}
	}
}

static void notify(const struct watch *w, const char *event, const char *fmt, double a, double b)
{
	char *t = xasprintf(fmt, a, b);
	api_slack(w, event, t);
	free(t);
}

/* act: the breach of w->trigger outlasted the cooldown. Returns the exit code
 * when the watch ends here, or -1 to go on watching (alert only). */
static int act(struct watch *w, PGconn *act_conn)
{
	struct metric *m = w->trigger;
	double thr = mw_threshold(w, m);
	if (!(w->o->auto_rollback && w->o->pitr_enabled)) {
		char *t = xasprintf("ALERT: %s breach lasted %.1fs (peak %g, threshold %g). Not rolling back: %s. "
				    "The database was not touched.",
				    m->name, mw_now() - m->breach_since, m->breach_peak, thr,
				    !w->o->auto_rollback ? "--auto-rollback not given" : "--pitr-enabled not given");
		api_slack(w, "alert", t);
		free(t);
		w->trigger = NULL;
		return -1;
	}
	double t_start = mw_now();
	cJSON *ev = mw_event(w, "rollback_started");
	cJSON_AddStringToObject(ev, "metric", m->name);
	mw_add_num(ev, "value", m->breach_peak);
	mw_add_num(ev, "threshold", thr);
	mw_add_num(ev, "breach_s", t_start - m->breach_since);
	mw_emit(ev);
	notify(w, "rollback_started", "ROLLING BACK: breach lasted %.1fs past threshold %g", t_start - m->breach_since,
	       thr);
	cJSON *done = cJSON_CreateObject();
	int pid = w->ap.conn ? w->ap.pid : w->mig_pid;
	bool running = !w->mig_finished;
	if (w->ap.conn) {
		w->ap.cancelled = true; /* no further statement, no retry */
		if (w->ap.state == AP_WAIT)
			w->ap.state = AP_STOPPED;
		running = w->ap.state == AP_RUNNING;
	}
	if (pid && running)
		pgw_cancel(w, act_conn, pid, done);
	int rc = rollback_run(w, act_conn, done);
	cJSON *r = mw_event(w, rc == 0 ? "rollback_done" : rc > 0 ? "rollback_skipped"
								  : "rollback_failed");
	cJSON_AddStringToObject(r, "metric", m->name);
	mw_add_num(r, "value", m->breach_peak);
	mw_add_num(r, "threshold", thr);
	mw_add_num(r, "breach_to_done_s", mw_now() - m->breach_since);
	mw_add_num(r, "rollback_s", mw_now() - t_start);
	cJSON *it;
	while ((it = done->child)) {
		cJSON_DetachItemViaPointer(done, it);
		cJSON_AddItemToObject(r, it->string, it);
	}
	cJSON_Delete(done);
	const cJSON *ran = cJSON_GetObjectItemCaseSensitive(r, "ran_rollback_sql");
	mw_emit(r);
	if (rc == 0)
		notify(w, "rollback_done",
		       cJSON_IsTrue(ran) ? "ROLLED BACK: rollback SQL done %.1fs after the breach began (%.1fs of work)"
					 : "ROLLED BACK: the migration was cancelled before it committed, so PostgreSQL "
					   "undid it; %.1fs after the breach began (%.1fs of work)",
		       mw_now() - m->breach_since, mw_now() - t_start);
	else if (rc > 0)
		notify(w, "rollback_skipped",
		       "ROLLBACK SKIPPED %.1fs after the breach began (%.0f): what of the migration committed is unknown, "
		       "so no rollback SQL was run; a human is needed",
		       mw_now() - m->breach_since, 0);
	else
		notify(w, "rollback_failed", "ROLLBACK FAILED %.1fs after the breach began (%.0f): a human is needed",
		       mw_now() - m->breach_since, 0);
	w->rolled_back = rc == 0;
	return rc == 0 ? EXIT_FINDINGS : EXIT_RUNTIME;
}

static bool finished(struct watch *w, double now)
{
	if (w->ap.conn) {
		if (w->ap.state == AP_DONE && !w->mig_finished)
			w->mig_finished = true, w->finished_at = now;
	} else if (w->o->pid || w->o->app_name) {
		pgw_find_backend(w);
	} else if (!w->mig_finished && now - w->started_at >= w->o->duration) {
		w->mig_finished = true, w->finished_at = now;
	}
	return w->mig_finished;
}

static int all_clear(struct watch *w)
{
	cJSON *r = mw_event(w, "all_clear");
	cJSON_AddNullToObject(r, "metric");
	cJSON_AddNullToObject(r, "value");
	cJSON_AddNullToObject(r, "threshold");
	mw_add_num(r, "settle_s", w->o->settle);
	cJSON_AddBoolToObject(r, "after_sustained_breach", w->sustained_any);
	mw_emit(r);
	notify(w, "all_clear", w->sustained_any ? "migration finished; metrics normal for %.1fs, after an alert (%.0f)" : "ALL CLEAR: migration finished; metrics normal for %.1fs (%.0f)",
	       w->o->settle, 0);
	return w->sustained_any ? EXIT_FINDINGS : EXIT_OK;
}

/* run: baseline, then the migration, until all clear or a rollback. */
static int run(struct watch *w, struct input *in, PGconn *act_conn)
{
	double next = mw_now();
	w->in_baseline = w->o->baseline > 0;
	for (;;) {
		double now = mw_now();
		if (interrupted) {
			error("interrupted (signal %d)%s", (int)interrupted,
			      w->ap.conn && w->ap.state == AP_RUNNING ? "; cancelling the migration we started" : "");
			if (w->ap.conn && w->ap.state == AP_RUNNING)
				PQrequestCancel(w->ap.conn);
			return EXIT_RUNTIME;
		}
		if (w->in_baseline && now - w->t0 >= w->o->baseline)
			w->in_baseline = false;
		if (!w->in_baseline && w->started_at <= 0) {
			w->started_at = now;
			if (w->ap.conn)
				apply_step(w); /* sends the first statement */
		}
		if (now >= next) {
			if (sample_all(w) < 0) {
				if (w->ap.conn && w->ap.state == AP_RUNNING)
					PQrequestCancel(w->ap.conn);
				api_slack(w, "watch_failed", "cannot watch any more: a metric source keeps failing");
				return EXIT_RUNTIME;
			}
			next = now + w->o->interval;
		}
		apply_step(w);
		if (w->ap.conn && w->ap.state == AP_FAILED)
			return w->trigger ? act(w, act_conn) : EXIT_RUNTIME;
		if (w->trigger && act_conn) {
			int rc = act(w, act_conn);
			if (rc >= 0)
				return rc;
		} else if (w->trigger) {
			act(w, NULL);
		}
		if (w->started_at > 0 && finished(w, now) && !mw_any_breach(w) &&
		    now - fmax(w->finished_at, w->last_breach_end) >= w->o->settle)
			return all_clear(w);
		if (w->mig_finished && w->sustained_any && now - w->finished_at >= w->o->settle) {
			/* alert only, and still in breach a settle period after the
			 * migration ended: the alert stands; watching on helps no one */
			error("metrics still in breach %.1fs after the migration finished; alert sent, "
			      "nothing rolled back",
			      now - w->finished_at);
			return EXIT_FINDINGS;
		}
		wait_tick(w, in, fmin(next, mw_now() + 0.05 + (w->ap.state == AP_WAIT ? 0 : w->o->interval)));
	}
}

static PGconn *connect_or_die(const char *url, bool read_only)
{
	struct db_opts dbo = DB_OPTS_INIT;
	dbo.read_only = read_only;
	dbo.statement_timeout_ms = read_only ? 5000 : 0;
	dbo.connect_timeout_s = 10;
	struct msg_err cerr = MSG_ERR_INIT;
	PGconn *c = db_connect(url, &dbo, &cerr);
	if (!c)
		die_err(&cerr);
	return c;
}

/* sha256_hex: lowercase hex SHA-256 of s, or NULL for NULL; caller frees. */
static char *sha256_hex(const char *s)
{
	unsigned char d[SHA256_LEN];
	if (!s)
		return NULL;
	sha256(s, strlen(s), d);
	char *h = xmalloc(2 * SHA256_LEN + 1);
	for (int i = 0; i < SHA256_LEN; i++)
		snprintf(h + 2 * i, 3, "%02x", d[i]);
	return h;
}

/* digest_differs: why the review's digest d (a string or null) is not the
 * one of what metricwatch was given (want, NULL for none), or NULL. */
static const char *digest_differs(const cJSON *d, const char *want)
{
	if (!want)
		return cJSON_IsNull(d) ? NULL : "the review saw a rollback SQL, the migration record has none";
	if (!cJSON_IsString(d))
		return cJSON_IsNull(d) ? "the review saw no rollback SQL, the migration record has one"
				       : "the review's digest is missing or not a string";
	return strcmp(d->valuestring, want) ? "its SHA-256 differs from the one lockscore reviewed" : NULL;
}

/* check_reviewed: --apply deploys exactly what lockscore reviewed: one
 * risk record for the migration whose digest (SHA-256 of forward and of
 * rollback, null for none) matches what is to be run; otherwise exit 4,
 * before any connection. --unreviewed skips this, with a warning. */
static void check_reviewed(const struct watch *w, const struct input *in)
{
	if (w->o->unreviewed) {
		warning("--unreviewed: applying migration %s without checking it against a review", w->id);
		return;
	}
	const cJSON *rec, *risk = NULL;
	int n = 0;
	cJSON_ArrayForEach(rec, in->risks)
	{
		const char *m = nd_get_str(rec, "migration");
		if (m && !strcmp(m, w->id))
			risk = rec, n++;
	}
	if (n == 0)
		die_code(EXIT_INPUT, "migration %s: no lockscore risk record for it: --apply deploys only what "
				     "was reviewed (--unreviewed to apply anyway)",
			 w->id);
	if (n > 1)
		die_code(EXIT_INPUT, "migration %s: %d risk records for it: which review is meant is unclear", w->id, n);
	const cJSON *dg = cJSON_GetObjectItemCaseSensitive(risk, "digest");
	if (!cJSON_IsObject(dg))
		die_code(EXIT_INPUT, "migration %s: its risk record has no \"digest\" (reviewed by an older "
				     "lockscore?): review it again",
			 w->id);
	char *f = sha256_hex(w->forward), *r = sha256_hex(w->rollback);
	const cJSON *df = cJSON_GetObjectItemCaseSensitive(dg, "forward");
	const char *wf = cJSON_IsString(df) ? digest_differs(df, f) : "the review's digest is missing or not a string";
	const char *wr = digest_differs(cJSON_GetObjectItemCaseSensitive(dg, "rollback"), r);
	free(f);
	free(r);
	if (wf)
		die_code(EXIT_INPUT, "migration %s: the forward SQL is not what was reviewed: %s", w->id, wf);
	if (wr)
		die_code(EXIT_INPUT, "migration %s: the rollback SQL is not what was reviewed: %s", w->id, wr);
}

static const char *str_or_null(const cJSON *rec, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct watch w;
	struct input in = {0};
	PGconn *act_conn = NULL;
	msg_set_prog(argv[0]);
	db_hide_argv_secrets(argc, argv);
	xalloc_init_cjson();
	parse_opts(&o, argc, argv);
	memset(&w, 0, sizeof(w));
	w.o = &o;
	w.t0 = mw_now();
	w.last_breach_end = -1;
	in.fd = STDIN_FILENO;
	in.pending = cJSON_CreateArray();
	in.risks = cJSON_CreateArray();
	buf_init(&in.part);
	signal(SIGPIPE, SIG_IGN);
	read_start(&w, &in);
	if (!in.migration)
		die_at(EXIT_INPUT, "<stdin>", 0, "no migration record on stdin (metricwatch watches one migration)");
	w.id = nd_get_str(in.migration, "id");
	w.forward = nd_get_str(in.migration, "forward");
	w.rollback = str_or_null(in.migration, "rollback");
	w.irreversible = cJSON_GetObjectItemCaseSensitive(in.migration, "irreversible");
	w.rollback_of = cJSON_GetObjectItemCaseSensitive(in.migration, "rollback_of");
	if (cJSON_IsNull(w.rollback_of))
		w.rollback_of = NULL;
	w.mig_pid = o.pid;
	if (o.apply)
		check_reviewed(&w, &in);
	if (o.auto_rollback && o.pitr_enabled && (!w.rollback || !*w.rollback) && !o.apply)
		warning("migration %s has no rollback SQL: a rollback can only cancel it", w.id);
	if (o.auto_rollback && o.pitr_enabled && rollback_check(&w) < 0)
		return EXIT_INPUT;
	if (o.apply && apply_init(&w.ap, w.forward, o.pg_url) < 0)
		return EXIT_INPUT;
	if (o.apply)
		w.mig_pid = w.ap.pid;
	if (o.pg_url) {
		w.pg = connect_or_die(o.pg_url, true);
		if (pgw_resolve_tables(&w) < 0)
			return EXIT_INPUT;
	}
	if (o.pg_url && o.auto_rollback && o.pitr_enabled)
		act_conn = connect_or_die(o.pg_url, false);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	mw_go_live();
	const cJSON *rec;
	cJSON_ArrayForEach(rec, in.pending) metric_record(&w, rec);
	int rc = run(&w, &in, act_conn);
	apply_release(&w.ap);
	db_close(act_conn);
	db_close(w.pg);
	for (size_t i = 0; i < w.nmetrics; i++)
		free(w.metrics[i].name);
	free(w.metrics);
	free(w.table_oids);
	free(w.err_t);
	free(w.err_v);
	cJSON_Delete(in.pending);
	cJSON_Delete(in.risks);
	mw_points_release();
	cJSON_Delete(in.migration);
	buf_release(&in.part);
	if (mw_out_broken() && rc == EXIT_OK)
		rc = EXIT_RUNTIME;
	return rc;
}
