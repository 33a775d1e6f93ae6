/*
 * rules: metricwatch's samples and breaches. Each fresh sample of a metric
 * is a `sample` record and is held against its threshold (a lock wait, an
 * error rate above its baseline, or a fixed one); a breach that outlasts
 * --cooldown is sustained, and the first sustained one is the watch's
 * trigger.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metricwatch.h"
#include "nd.h"
#include "xalloc.h"

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
	m->max_gap = mw_max_age(w, 0);
	return m;
}

double mw_threshold(const struct watch *w, const struct metric *m)
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

void mw_add_num(cJSON *r, const char *k, double v)
{
	if (isnan(v))
		cJSON_AddNullToObject(r, k);
	else
		cJSON_AddNumberToObject(r, k, round(v * 1000) / 1000);
}

static void breach_event(struct watch *w, struct metric *m, const char *event, double value, double thr,
			 const char *outcome)
{
	cJSON *r = mw_event(w, event);
	cJSON_AddStringToObject(r, "metric", m->name);
	mw_add_num(r, "value", value);
	mw_add_num(r, "threshold", thr);
	if (outcome) {
		cJSON_AddStringToObject(r, "outcome", outcome);
		mw_add_num(r, "breach_s", mw_now() - m->breach_since);
		mw_add_num(r, "peak", m->breach_peak);
		if (!strcmp(outcome, "sustained"))
			cJSON_AddStringToObject(r, "action", w->o->auto_rollback && w->o->pitr_enabled ? "rollback" : "alert_only");
	}
	mw_emit(r);
}

/* evaluate: the rule, on a fresh sample. A breach is sustained only by
 * samples no further apart than the source's max age: after a longer
 * stretch without data the breach starts over at this sample. */
static void evaluate(struct watch *w, struct metric *m, double v, double thr)
{
	double now = mw_now();
	bool over = v > thr;
	bool gap = m->last_fresh > 0 && now - m->last_fresh > m->max_gap;
	m->last_fresh = now;
	if (over && gap && m->breach_since >= 0 && !m->sustained)
		m->breach_since = now, m->breach_peak = v;
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
			if (!w->trigger)
				w->trigger = m;
		}
		return;
	}
	if (m->breach_since >= 0) {
		breach_event(w, m, "cooldown", v, thr, m->sustained ? "ended" : "recovered");
		m->breach_since = -1;
		w->last_breach_end = now;
	}
}

/* data_gap: a breach of m that has had no fresh sample for longer than its
 * max gap ends unresolved (cooldown, outcome no_data): a silent source
 * neither sustains a breach nor holds the watch open. */
static void data_gap(struct watch *w, struct metric *m, double thr)
{
	double now = mw_now();
	if (m->breach_since < 0 || m->last_fresh <= 0 || now - m->last_fresh <= m->max_gap)
		return;
	breach_event(w, m, "cooldown", NAN, thr, "no_data");
	m->breach_since = -1;
	w->last_breach_end = now;
}

/* sample: one sample of one metric (value NaN: no data, for the reason
 * no_data): a `sample` record, then the rule for a value. */
static void sample(struct watch *w, const char *name, const char *source, double value, cJSON *labels,
		   enum metric_class cls, double fixed_threshold, const char *no_data)
{
	struct metric *m = metric_get(w, name, cls);
	if (cls == MC_FIXED)
		m->threshold = fixed_threshold;
	if (w->in_baseline && !isnan(value)) {
		m->base_sum += value;
		m->base_n++;
	}
	double thr = mw_threshold(w, m);
	cJSON *r = mw_event(w, "sample");
	cJSON_AddStringToObject(r, "metric", name);
	mw_add_num(r, "value", value);
	mw_add_num(r, "threshold", thr);
	cJSON_AddStringToObject(r, "source", source);
	if (w->in_baseline)
		cJSON_AddBoolToObject(r, "baseline", true);
	if (isnan(value))
		cJSON_AddStringToObject(r, "no_data", no_data ? no_data : "no value");
	if (labels)
		cJSON_AddItemToObject(r, "labels", labels);
	mw_emit(r);
	if (isnan(value))
		data_gap(w, m, thr);
	if (isnan(value) || isnan(thr) || (w->in_baseline && cls == MC_ERROR))
		return;
	evaluate(w, m, value, thr);
}

/* mw_sample: a fresh sample (NaN: no data). The source has checked its
 * point with mw_point; the longest gap between fresh samples of a breach is
 * set with mw_max_gap before. */
void mw_sample(struct watch *w, const char *name, const char *source, double value, cJSON *labels,
	       enum metric_class cls, double fixed_threshold)
{
	sample(w, name, source, value, labels, cls, fixed_threshold, NULL);
}

/* mw_no_data: a poll that gave no new, fresh point: recorded, never a
 * breach (nor the end of one). */
void mw_no_data(struct watch *w, const char *name, const char *source, const char *why, cJSON *labels,
		enum metric_class cls, double fixed_threshold)
{
	sample(w, name, source, NAN, labels, cls, fixed_threshold, why);
}

/* mw_max_age: how old a point may be (seconds), for a source whose points
 * come every cadence seconds (0: a live reading): --max-age, else twice
 * --interval and at least two of the source's buckets. */
double mw_max_age(const struct watch *w, double cadence)
{
	if (w->o->max_age > 0)
		return w->o->max_age;
	return fmax(2 * w->o->interval, 2 * cadence);
}

/* The newest point used of each series (a point is used once): keys and
 * their epoch seconds. Static: one watch per process. */
static struct strv seen_keys = STRV_INIT;
static double *seen_ts;

static double wall_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* mw_point: may the point at ts (epoch seconds) of series key be used?
 * NULL, and it is remembered as the newest used; or why not: it is not
 * newer than the last point used of that series (each point counts once),
 * or older than max_age by its own timestamp. */
const char *mw_point(struct watch *w, const char *key, double ts, double max_age)
{
	static char why[128];
	(void)w;
	long i = strv_index(&seen_keys, key);
	if (i >= 0 && ts <= seen_ts[i])
		return "no point newer than the last one used";
	double age = wall_now() - ts;
	if (age > max_age) {
		snprintf(why, sizeof(why), "stale: the newest point is %.1fs old (max age %gs)", age, max_age);
		return why;
	}
	if (i < 0) {
		size_t n = seen_keys.n;
		strv_push(&seen_keys, key);
		seen_ts = xrealloc(seen_ts, (n + 1) * sizeof(double));
		i = (long)n;
	}
	seen_ts[i] = ts;
	return NULL;
}

/* mw_max_gap: the longest time between two fresh samples of one breach of
 * metric name (see evaluate). */
void mw_max_gap(struct watch *w, const char *name, enum metric_class cls, double gap)
{
	metric_get(w, name, cls)->max_gap = gap;
}

bool mw_any_breach(const struct watch *w)
{
	for (size_t i = 0; i < w->nmetrics; i++)
		if (w->metrics[i].breach_since >= 0)
			return true;
	return false;
}

void mw_points_release(void)
{
	strv_release(&seen_keys);
	free(seen_ts);
	seen_ts = NULL;
}
