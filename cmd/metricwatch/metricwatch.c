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
 * --apply runs the forward migration itself (one transaction unless it
 * cannot be one; lock_timeout and retries with backoff).
 *
 * Writes `watch` records: sample, breach, cooldown (a breach ended or
 * outlasted the cooldown: outcome recovered|sustained|ended),
 * migration_started|migration_retry|migration_done|migration_failed (with
 * --apply), rollback_started, rollback_done, rollback_failed, all_clear.
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
 * under --apply, or the rollback failed; 4 invalid input.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
	"  --datadog-window T     how far back each query looks (default 5m)\n"
	"  --sentry ORG/PROJECT   Sentry error counts (SENTRY_AUTH_TOKEN; base $SENTRY_URL)\n"
	"The migration:\n"
	"  --apply                run the forward SQL (lock_timeout, retries with backoff)\n"
	"  --pid N                the migration's backend, when another tool runs it\n"
	"  --app-name NAME        ... or find it by application_name\n"
	"  --duration T           with no backend to follow: the migration runs this long\n"
	"  --lock-timeout T       lock_timeout of each --apply attempt (default 2s)\n"
	"  --lock-retries N       attempts after a lock timeout (default 5)\n"
	"  --retry-backoff T      first wait between attempts, doubled each time (default 1s)\n"
	"Rules:\n"
	"  --interval T           sampling period (default 1s)\n"
	"  --baseline T           error-rate baseline measured before the migration (default 10s)\n"
	"  --max-lock-wait T      lock wait that is a breach (default 5s)\n"
	"  --error-spike X        error rate above baseline times X is a breach (default 3)\n"
	"  --error-floor X        ... and above X per second (default 1)\n"
	"  --error-window T       PostgreSQL error rate averaged over T (default 10s)\n"
	"  --cooldown T           a breach must last this long before action (default 30s)\n"
	"  --settle T             quiet time after the migration before all_clear (default 30s)\n"
	"Rollback (both flags, or alert only):\n"
	"  --auto-rollback        cancel the migration and run its rollback SQL\n"
	"  --pitr-enabled         the operator states point-in-time recovery is on\n"
	"  --rollback-lock-timeout T  lock_timeout of the rollback (default 2s)\n"
	"  --cancel-timeout T     wait for pg_cancel_backend before terminating (default 5s)\n"
	"  --http-timeout T       per request to Datadog, Sentry, Slack (default 5s)\n"
	"  -h, --help             this help\n"
	"T is seconds (\"1.5\", \"1.5s\"), milliseconds (\"200ms\") or minutes (\"2m\").\n"
	"Passwords belong in PGPASSWORD or a PGPASSFILE, not on the command line: other users\n"
	"see them there (ps) until the program has started and hidden them.\n"
	"Notifications: SLACK_WEBHOOK_URL. Exit: 0 all clear, 1 rolled back (or a sustained\n"
	"breach in alert-only mode), 2 usage, 3 could not watch / apply / roll back, 4 bad input.\n";

/* ---- time and output ---- */

double mw_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void mw_sleep(double s)
{
	if (s <= 0)
		return;
	struct timespec t = {(time_t)s, (long)((s - floor(s)) * 1e9)};
	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

char *mw_ts(void)
{
	struct timespec t;
	struct tm tm;
	char b[32];
	clock_gettime(CLOCK_REALTIME, &t);
	gmtime_r(&t.tv_sec, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	return xasprintf("%s.%03ldZ", b, t.tv_nsec / 1000000);
}

static bool live;	    /* the watch has started: records go out as they happen */
static bool out_broken;
static struct buf pre = BUF_INIT; /* output before the watch starts */

/* out_line: one whole line to stdout, flushed (or kept until the start). */
static void out_line(const char *s, size_t n)
{
	if (!live) {
		buf_add(&pre, s, n);
		buf_addc(&pre, '\n');
		return;
	}
	if (out_broken)
		return;
	char *line = xmalloc(n + 1);
	memcpy(line, s, n);
	line[n] = '\n';
	if (fwrite(line, 1, n + 1, stdout) != n + 1 || fflush(stdout) == EOF) {
		error("error: write error on stdout: %s; watching goes on", strerror(errno));
		out_broken = true;
	}
	free(line);
}

static void go_live(void)
{
	live = true;
	if (pre.len && (fwrite(pre.s, 1, pre.len, stdout) != pre.len || fflush(stdout) == EOF)) {
		error("error: write error on stdout: %s; watching goes on", strerror(errno));
		out_broken = true;
	}
	buf_release(&pre);
}

void mw_emit(cJSON *rec)
{
	char *s = cJSON_PrintUnformatted(rec);
	out_line(s, strlen(s));
	free(s);
	cJSON_Delete(rec);
}

/* mw_event: a new watch record (the caller adds fields, then mw_emit). */
cJSON *mw_event(struct watch *w, const char *event)
{
	cJSON *r = nd_record("watch");
	char *ts = mw_ts();
	cJSON_AddStringToObject(r, "event", event);
	cJSON_AddStringToObject(r, "migration", w->id ? w->id : "");
	cJSON_AddStringToObject(r, "ts", ts);
	cJSON_AddNumberToObject(r, "elapsed_s", round((mw_now() - w->t0) * 1000) / 1000);
	free(ts);
	return r;
}

/* ---- options ---- */

/* parse_time: "1.5", "1.5s", "200ms", "2m" as seconds; -1 if invalid. */
static double parse_time(const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || v < 0 || !isfinite(v))
		return -1;
	if (!strcmp(end, "ms"))
		return v / 1000;
	if (!*end || !strcmp(end, "s"))
		return v;
	if (!strcmp(end, "m"))
		return v * 60;
	return -1;
}

static double opt_time(const char *name, const char *arg)
{
	double v = parse_time(arg);
	if (v < 0)
		usage_error("--%s takes a duration such as 1.5s, 200ms or 2m, not '%s'", name, arg);
	return v;
}

static double opt_num(const char *name, const char *arg, double min)
{
	char *end;
	double v = strtod(arg, &end);
	if (end == arg || *end || !isfinite(v) || v < min)
		usage_error("--%s takes a number of at least %g, not '%s'", name, min, arg);
	return v;
}

enum {
	O_PG = 256, O_NOPG, O_APPLY, O_PID, O_APP, O_DUR, O_LT, O_LR, O_RB, O_INT, O_BASE, O_MLW, O_SPIKE,
	O_FLOOR, O_EWIN, O_COOL, O_SETTLE, O_AUTO, O_PITR, O_RBLT, O_CANCEL, O_HTTP, O_DD, O_DDSITE, O_DDWIN,
	O_SENTRY,
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
	if (o->interval < 0.01)
		usage_error("--interval must be at least 10ms");
	if (o->apply && !o->pg_url)
		usage_error("--apply needs a database: --pg URL or PROD_DATABASE_URL");
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
		{"pg", required_argument, NULL, O_PG}, {"no-pg", no_argument, NULL, O_NOPG},
		{"apply", no_argument, NULL, O_APPLY}, {"pid", required_argument, NULL, O_PID},
		{"app-name", required_argument, NULL, O_APP}, {"duration", required_argument, NULL, O_DUR},
		{"lock-timeout", required_argument, NULL, O_LT}, {"lock-retries", required_argument, NULL, O_LR},
		{"retry-backoff", required_argument, NULL, O_RB}, {"interval", required_argument, NULL, O_INT},
		{"baseline", required_argument, NULL, O_BASE}, {"max-lock-wait", required_argument, NULL, O_MLW},
		{"error-spike", required_argument, NULL, O_SPIKE}, {"error-floor", required_argument, NULL, O_FLOOR},
		{"error-window", required_argument, NULL, O_EWIN}, {"cooldown", required_argument, NULL, O_COOL},
		{"settle", required_argument, NULL, O_SETTLE}, {"auto-rollback", no_argument, NULL, O_AUTO},
		{"pitr-enabled", no_argument, NULL, O_PITR},
		{"rollback-lock-timeout", required_argument, NULL, O_RBLT},
		{"cancel-timeout", required_argument, NULL, O_CANCEL},
		{"http-timeout", required_argument, NULL, O_HTTP}, {"datadog", required_argument, NULL, O_DD},
		{"datadog-site", required_argument, NULL, O_DDSITE},
		{"datadog-window", required_argument, NULL, O_DDWIN}, {"sentry", required_argument, NULL, O_SENTRY},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	bool no_pg = false;
	int ch;
	set_defaults(o);
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case O_PG: o->pg_url = optarg; break;
		case O_NOPG: no_pg = true; break;
		case O_APPLY: o->apply = true; break;
		case O_PID: o->pid = (int)opt_num("pid", optarg, 1); break;
		case O_APP: o->app_name = optarg; break;
		case O_DUR: o->duration = opt_time("duration", optarg); break;
		case O_LT: o->lock_timeout = opt_time("lock-timeout", optarg); break;
		case O_LR: o->lock_retries = (int)opt_num("lock-retries", optarg, 0); break;
		case O_RB: o->retry_backoff = opt_time("retry-backoff", optarg); break;
		case O_INT: o->interval = opt_time("interval", optarg); break;
		case O_BASE: o->baseline = opt_time("baseline", optarg); break;
		case O_MLW: o->max_lock_wait = opt_time("max-lock-wait", optarg); break;
		case O_SPIKE: o->error_spike = opt_num("error-spike", optarg, 1); break;
		case O_FLOOR: o->error_floor = opt_num("error-floor", optarg, 0); break;
		case O_EWIN: o->error_window = opt_time("error-window", optarg); break;
		case O_COOL: o->cooldown = opt_time("cooldown", optarg); break;
		case O_SETTLE: o->settle = opt_time("settle", optarg); break;
		case O_AUTO: o->auto_rollback = true; break;
		case O_PITR: o->pitr_enabled = true; break;
		case O_RBLT: o->rollback_lock_timeout = opt_time("rollback-lock-timeout", optarg); break;
		case O_CANCEL: o->cancel_timeout = opt_time("cancel-timeout", optarg); break;
		case O_HTTP: o->http_timeout = opt_time("http-timeout", optarg); break;
		case O_DD: o->datadog_query = optarg; break;
		case O_DDSITE: o->datadog_site = optarg; break;
		case O_DDWIN: o->datadog_window = opt_time("datadog-window", optarg); break;
		case O_SENTRY: o->sentry = optarg; break;
		case 'h': fputs(usage_text, stdout); exit(EXIT_OK);
		default: usage_error("unknown option");
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s': records come on stdin", argv[optind]);
	check_opts(o, no_pg);
}

/* ---- rules ---- */

static struct metric *metric_get(struct watch *w, const char *name, enum metric_class cls)
{
	for (size_t i = 0; i < w->nmetrics; i++)
		if (!strcmp(w->metrics[i].name, name))
			return &w->metrics[i];
	w->metrics = xrealloc(w->metrics, (w->nmetrics + 1) * sizeof(*w->metrics));
	struct metric *m = &w->metrics[w->nmetrics++];
	memset(m, 0, sizeof(*m));
	m->name = xstrdup(name);
	m->cls = cls;
	m->breach_since = -1;
	return m;
}

static double threshold_of(const struct watch *w, const struct metric *m)
{
	switch (m->cls) {
	case MC_LOCK: return w->o->max_lock_wait;
	case MC_ERROR: {
		double base = m->base_n ? m->base_sum / (double)m->base_n : 0;
		return fmax(base * w->o->error_spike, w->o->error_floor);
	}
	case MC_FIXED: return m->threshold;
	case MC_NONE: break;
	}
	return NAN;
}

static void add_num_or_null(cJSON *r, const char *k, double v)
{
	if (isnan(v))
		cJSON_AddNullToObject(r, k);
	else
		cJSON_AddNumberToObject(r, k, round(v * 1000) / 1000);
}

static struct metric *trigger; /* the metric whose breach outlasted the cooldown */
static double last_breach_end = -1;

static void breach_event(struct watch *w, struct metric *m, const char *event, double value, double thr,
			 const char *outcome)
{
	cJSON *r = mw_event(w, event);
	cJSON_AddStringToObject(r, "metric", m->name);
	add_num_or_null(r, "value", value);
	add_num_or_null(r, "threshold", thr);
	if (outcome) {
		cJSON_AddStringToObject(r, "outcome", outcome);
		add_num_or_null(r, "breach_s", mw_now() - m->breach_since);
		add_num_or_null(r, "peak", m->breach_peak);
		if (!strcmp(outcome, "sustained"))
			cJSON_AddStringToObject(r, "action", w->o->auto_rollback && w->o->pitr_enabled
								      ? "rollback"
								      : "alert_only");
	}
	mw_emit(r);
}

static void evaluate(struct watch *w, struct metric *m, double v, double thr)
{
	double now = mw_now();
	bool over = v > thr;
	if (over && m->breach_since < 0) {
		m->breach_since = now, m->breach_peak = v, m->sustained = false;
		breach_event(w, m, "breach", v, thr, NULL);
		char *t = xasprintf("breach: %s = %g (threshold %g); acting only if it lasts %gs", m->name, v, thr,
				    w->o->cooldown);
		api_slack(w, "breach", t);
		free(t);
	}
	if (over) {
		m->breach_peak = fmax(m->breach_peak, v);
		if (!m->sustained && now - m->breach_since >= w->o->cooldown) {
			m->sustained = true;
			w->sustained_any = true;
			breach_event(w, m, "cooldown", v, thr, "sustained");
			if (!trigger)
				trigger = m;
		}
		return;
	}
	if (m->breach_since >= 0) {
		breach_event(w, m, "cooldown", v, thr, m->sustained ? "ended" : "recovered");
		m->breach_since = -1;
		last_breach_end = now;
	}
}

/* mw_sample: one sample of one metric: a `sample` record, then the rule. */
void mw_sample(struct watch *w, const char *name, const char *source, double value, cJSON *labels,
	       enum metric_class cls, double fixed_threshold)
{
	struct metric *m = metric_get(w, name, cls);
	if (cls == MC_FIXED)
		m->threshold = fixed_threshold;
	if (w->in_baseline && !isnan(value)) {
		m->base_sum += value;
		m->base_n++;
	}
	double thr = threshold_of(w, m);
	cJSON *r = mw_event(w, "sample");
	cJSON_AddStringToObject(r, "metric", name);
	add_num_or_null(r, "value", value);
	add_num_or_null(r, "threshold", thr);
	cJSON_AddStringToObject(r, "source", source);
	if (w->in_baseline)
		cJSON_AddBoolToObject(r, "baseline", true);
	if (labels)
		cJSON_AddItemToObject(r, "labels", labels);
	mw_emit(r);
	if (isnan(value) || isnan(thr) || (w->in_baseline && cls == MC_ERROR))
		return;
	evaluate(w, m, value, thr);
}

static bool any_breach(const struct watch *w)
{
	for (size_t i = 0; i < w->nmetrics; i++)
		if (w->metrics[i].breach_since >= 0)
			return true;
	return false;
}

/* ---- stdin ---- */

struct input {
	int fd;
	bool eof;
	long lineno;
	struct buf part; /* an incomplete line */
	cJSON *migration;
	cJSON *pending;	 /* metric records read before the watch started */
};

static enum metric_class class_of(const char *name)
{
	if (strstr(name, "lock_wait"))
		return MC_LOCK;
	if (strstr(name, "error"))
		return MC_ERROR;
	return MC_NONE;
}

/* metric_record: a metric record as a sample. */
static void metric_record(struct watch *w, const cJSON *rec)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "value");
	const cJSON *thr = cJSON_GetObjectItemCaseSensitive(rec, "threshold");
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(rec, "labels");
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(rec, "ts");
	const char *name = nd_get_str(rec, "name");
	cJSON *l = labels ? cJSON_Duplicate(labels, 1) : cJSON_CreateObject();
	if (ts)
		cJSON_AddItemToObject(l, "source_ts", cJSON_Duplicate(ts, 1));
	mw_sample(w, name, "stdin", cJSON_IsNumber(v) ? v->valuedouble : NAN, l,
		  cJSON_IsNumber(thr) ? MC_FIXED : class_of(name), cJSON_IsNumber(thr) ? thr->valuedouble : 0);
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
		if (!live)
			die_at(EXIT_INPUT, "<stdin>", in->lineno, "%s", err);
		warning_at("<stdin>", in->lineno, "%s; record skipped", err);
		cJSON_Delete(rec);
		return;
	}
	out_line(s, n);
	if (!strcmp(nd_kind(rec), "migration") && !in->migration) {
		in->migration = rec;
		return;
	}
	if (!strcmp(nd_kind(rec), "metric")) {
		if (live)
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
		die_code(live ? EXIT_RUNTIME : EXIT_INPUT, "<stdin>: read error: %s", strerror(errno));
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
		die_at(live ? EXIT_RUNTIME : EXIT_INPUT, "<stdin>", in->lineno + 1, "line longer than %zu bytes",
		       nd_max_line());
	memmove(in->part.s, in->part.s + start, in->part.len - start);
	in->part.len -= start;
	in->part.s[in->part.len] = '\0';
}

/* read_start: everything up to the migration record (the whole input when
 * stdin is a file), so bad input is refused before anything happens. */
static void read_start(struct watch *w, struct input *in)
{
	struct stat st;
	bool file = fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode);
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
			return error("error: %s failed 3 times in a row: cannot watch", names[i]);
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

/* act: the breach of trigger outlasted the cooldown. Returns the exit code
 * when the watch ends here, or -1 to go on watching (alert only). */
static int act(struct watch *w, PGconn *act_conn)
{
	struct metric *m = trigger;
	double thr = threshold_of(w, m);
	if (!(w->o->auto_rollback && w->o->pitr_enabled)) {
		char *t = xasprintf("ALERT: %s breach lasted %.1fs (peak %g, threshold %g). Not rolling back: %s. "
				    "The database was not touched.",
				    m->name, mw_now() - m->breach_since, m->breach_peak, thr,
				    !w->o->auto_rollback ? "--auto-rollback not given" : "--pitr-enabled not given");
		api_slack(w, "alert", t);
		free(t);
		trigger = NULL;
		return -1;
	}
	double t_start = mw_now();
	cJSON *ev = mw_event(w, "rollback_started");
	cJSON_AddStringToObject(ev, "metric", m->name);
	add_num_or_null(ev, "value", m->breach_peak);
	add_num_or_null(ev, "threshold", thr);
	add_num_or_null(ev, "breach_s", t_start - m->breach_since);
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
	cJSON *r = mw_event(w, rc == 0 ? "rollback_done" : "rollback_failed");
	cJSON_AddStringToObject(r, "metric", m->name);
	add_num_or_null(r, "value", m->breach_peak);
	add_num_or_null(r, "threshold", thr);
	add_num_or_null(r, "breach_to_done_s", mw_now() - m->breach_since);
	add_num_or_null(r, "rollback_s", mw_now() - t_start);
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
	add_num_or_null(r, "settle_s", w->o->settle);
	cJSON_AddBoolToObject(r, "after_sustained_breach", w->sustained_any);
	mw_emit(r);
	notify(w, "all_clear", w->sustained_any ? "migration finished; metrics normal for %.1fs, after an alert (%.0f)"
						: "ALL CLEAR: migration finished; metrics normal for %.1fs (%.0f)",
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
			error("error: interrupted (signal %d)%s", (int)interrupted,
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
			return trigger ? act(w, act_conn) : EXIT_RUNTIME;
		if (trigger && act_conn) {
			int rc = act(w, act_conn);
			if (rc >= 0)
				return rc;
		} else if (trigger) {
			act(w, NULL);
		}
		if (w->started_at > 0 && finished(w, now) && !any_breach(w) &&
		    now - fmax(w->finished_at, last_breach_end) >= w->o->settle)
			return all_clear(w);
		if (w->mig_finished && w->sustained_any && now - w->finished_at >= w->o->settle) {
			/* alert only, and still in breach a settle period after the
			 * migration ended: the alert stands; watching on helps no one */
			error("error: metrics still in breach %.1fs after the migration finished; alert sent, "
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
	PGconn *c = db_connect(url, &dbo);
	if (!c)
		exit(EXIT_RUNTIME);
	return c;
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
	in.fd = STDIN_FILENO;
	in.pending = cJSON_CreateArray();
	buf_init(&in.part);
	signal(SIGPIPE, SIG_IGN);
	read_start(&w, &in);
	if (!in.migration)
		die_at(EXIT_INPUT, "<stdin>", 0, "no migration record on stdin (metricwatch watches one migration)");
	w.id = nd_get_str(in.migration, "id");
	w.forward = nd_get_str(in.migration, "forward");
	w.rollback = str_or_null(in.migration, "rollback");
	w.irreversible = cJSON_GetObjectItemCaseSensitive(in.migration, "irreversible");
	w.mig_pid = o.pid;
	if (o.auto_rollback && o.pitr_enabled && (!w.rollback || !*w.rollback) && !o.apply)
		warning("migration %s has no rollback SQL: a rollback can only cancel it", w.id);
	if (o.auto_rollback && o.pitr_enabled && rollback_check(&w) < 0)
		return EXIT_INPUT;
	if (o.apply && apply_init(&w.ap, w.forward, o.pg_url, &o) < 0)
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
	go_live();
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
	cJSON_Delete(in.migration);
	buf_release(&in.part);
	if (out_broken && rc == EXIT_OK)
		rc = EXIT_RUNTIME;
	return rc;
}
