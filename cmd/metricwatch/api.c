/*
 * api: the HTTP sources and the notification sink.
 *
 * Datadog: GET {site}/api/v1/query?from=&to=&query= (seconds; DD-API-KEY and
 * DD-APPLICATION-KEY headers); the value is the newest non-null point of
 * each series, the largest across series; an error signal (baseline x
 * spike). A point counts once: one not newer than the last used of its
 * series, or older than the max age (mw_max_age: by default two of the
 * series' intervals) by its own timestamp, is no point; a poll with none
 * is "no data" (never a breach). Sentry: GET {SENTRY_URL}/api/0/projects/{org}/{project}/stats/
 * ?stat=received&since=&until=&resolution=10s (Bearer token), the project
 * stats that take ORG/PROJECT slugs and have 10-second buckets; the value is
 * the newest complete bucket (the last one is still filling) per second,
 * once per bucket and only while fresh (by default 20 s: two buckets).
 * Slack: POST {text, blocks} to SLACK_WEBHOOK_URL; success is 200 "ok".
 *
 * Every request has --http-timeout; the GETs are retried once. A failure is
 * a warning (the caller counts failures in a row). Secrets: keys travel in
 * headers only, the Slack webhook URL (itself the secret) is never printed.
 */
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "metricwatch.h"
#include "msg.h"
#include "xalloc.h"

static char *escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	if (!e)
		die_code(EXIT_RUNTIME, "out of memory");
	char *r = xstrdup(e);
	curl_free(e);
	return r;
}

/* base_url: a site ("datadoghq.eu") as https://api.<site>, a URL as given,
 * without trailing slashes. */
static char *base_url(const char *site)
{
	char *b = strstr(site, "://") ? xstrdup(site) : xasprintf("https://api.%s", site);
	size_t n = strlen(b);
	while (n > 0 && b[n - 1] == '/')
		b[--n] = '\0';
	return b;
}

/* get_json: GET url with headers; the parsed body of a 200, or NULL after
 * a warning naming who failed and why (never a header or a query string). */
static cJSON *get_json(const struct watch *w, const char *who, const char *url, const char *const *headers)
{
	struct http_req req = HTTP_REQ_INIT;
	struct http_resp resp = HTTP_RESP_INIT;
	req.url = url;
	req.headers = headers;
	req.timeout_ms = (long)(w->o->http_timeout * 1000);
	req.connect_timeout_ms = req.timeout_ms;
	req.retries = 1;
	req.backoff_ms = 200;
	req.max_body = 4u << 20;
	cJSON *j = NULL;
	if (http_do(&req, &resp) < 0) {
		warning("%s: %s", who, resp.error);
	} else if (resp.status != 200) {
		warning("%s: HTTP %ld: %.200s", who, resp.status, resp.body.s);
	} else if (!(j = cJSON_Parse(resp.body.s))) {
		warning("%s: the answer is not JSON", who);
	}
	http_resp_release(&resp);
	return j;
}

/* newest_point: the newest point with a value of a pointlist ([ms, value]
 * pairs, oldest first): its value, and its time in epoch seconds in *ts. */
static double newest_point(const cJSON *pointlist, double *ts)
{
	double v = NAN;
	const cJSON *p;
	*ts = NAN;
	cJSON_ArrayForEach(p, pointlist)
	{
		const cJSON *t = cJSON_GetArrayItem(p, 0), *val = cJSON_GetArrayItem(p, 1);
		if (cJSON_IsNumber(val) && cJSON_IsNumber(t))
			v = val->valuedouble, *ts = t->valuedouble / 1000;
	}
	return v;
}

/* series_value: the newest point of series number i, if it is new (not
 * used before) and fresh; else NaN and *why. */
static double series_value(struct watch *w, const cJSON *s, int i, const char **why)
{
	double ts, v = newest_point(cJSON_GetObjectItemCaseSensitive(s, "pointlist"), &ts);
	if (isnan(v)) {
		*why = "only null points";
		return NAN;
	}
	const cJSON *iv = cJSON_GetObjectItemCaseSensitive(s, "interval");
	double cadence = cJSON_IsNumber(iv) ? iv->valuedouble : 0;
	const char *expr = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "expression"));
	const char *scope = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "scope"));
	char *key = xasprintf("datadog\x1f%d\x1f%s\x1f%s", i, expr ? expr : "", scope ? scope : "");
	double age = mw_max_age(w, cadence);
	const char *not = mw_point(w, key, ts, age);
	free(key);
	mw_max_gap(w, "datadog_error_rate", MC_ERROR, age);
	if (not ) {
		*why = not ;
		return NAN;
	}
	return v;
}

int api_datadog(struct watch *w)
{
	char *base = base_url(w->o->datadog_site), *q = escape(w->o->datadog_query);
	long to = (long)time(NULL), from = to - (long)ceil(w->o->datadog_window);
	char *url = xasprintf("%s/api/v1/query?from=%ld&to=%ld&query=%s", base, from, to, q);
	char *k1 = xasprintf("DD-API-KEY: %s", getenv("DD_API_KEY"));
	char *k2 = xasprintf("DD-APPLICATION-KEY: %s", getenv("DD_APP_KEY"));
	const char *headers[] = {k1, k2, "Accept: application/json", NULL};
	cJSON *j = get_json(w, "Datadog", url, headers);
	free(k1), free(k2), free(url), free(q), free(base);
	if (!j)
		return -1;
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "status"));
	const char *err = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "error"));
	if ((status && strcmp(status, "ok")) || (err && *err)) {
		warning("Datadog: query status %s: %.200s", status ? status : "?", err ? err : "");
		cJSON_Delete(j);
		return -1;
	}
	double v = NAN;
	const char *why = "no series";
	const cJSON *s;
	int i = 0;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(j, "series"))
	{
		double p = series_value(w, s, i++, &why);
		if (!isnan(p) && (isnan(v) || p > v))
			v = p;
	}
	cJSON *labels = cJSON_CreateObject();
	cJSON_AddStringToObject(labels, "query", w->o->datadog_query);
	cJSON_AddNumberToObject(labels, "series", cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "series")));
	if (isnan(v)) {
		char *msg = xstrdup(why);
		cJSON_Delete(j);
		mw_no_data(w, "datadog_error_rate", "datadog", msg, labels, MC_ERROR, 0);
		free(msg);
		return 0;
	}
	cJSON_Delete(j);
	mw_sample(w, "datadog_error_rate", "datadog", v, labels, MC_ERROR, 0);
	return 0;
}

int api_sentry(struct watch *w)
{
	const char *base_env = getenv("SENTRY_URL");
	char *base = base_url(base_env && *base_env ? base_env : "https://sentry.io");
	const char *slash = strchr(w->o->sentry, '/');
	char *org_raw = xstrndup(w->o->sentry, (size_t)(slash - w->o->sentry));
	char *org = escape(org_raw), *proj = escape(slash + 1);
	long until = (long)time(NULL), since = until - 600;
	char *url = xasprintf("%s/api/0/projects/%s/%s/stats/?stat=received&since=%ld&until=%ld&resolution=10s",
			      base, org, proj, since, until);
	char *auth = xasprintf("Authorization: Bearer %s", getenv("SENTRY_AUTH_TOKEN"));
	const char *headers[] = {auth, "Accept: application/json", NULL};
	cJSON *j = get_json(w, "Sentry", url, headers);
	free(auth), free(url), free(org), free(org_raw), free(proj), free(base);
	if (!j)
		return -1;
	int n = cJSON_GetArraySize(j);
	if (!cJSON_IsArray(j)) {
		warning("Sentry: the answer is not a list of [timestamp, count]");
		cJSON_Delete(j);
		return -1;
	}
	const cJSON *bucket = cJSON_GetArrayItem(j, n >= 2 ? n - 2 : 0);
	const cJSON *count = cJSON_GetArrayItem(bucket, 1), *ts = cJSON_GetArrayItem(bucket, 0);
	double age = mw_max_age(w, 10);
	const char *why = !cJSON_IsNumber(count) || !cJSON_IsNumber(ts) ? "no complete bucket with a count"
									: mw_point(w, "sentry", ts->valuedouble, age);
	double v = why ? NAN : count->valuedouble / 10;
	cJSON *labels = cJSON_CreateObject();
	cJSON_AddStringToObject(labels, "project", w->o->sentry);
	if (cJSON_IsNumber(count))
		cJSON_AddNumberToObject(labels, "count", count->valuedouble);
	if (cJSON_IsNumber(ts))
		cJSON_AddNumberToObject(labels, "bucket_ts", ts->valuedouble);
	char *msg = why ? xstrdup(why) : NULL;
	cJSON_Delete(j);
	mw_max_gap(w, "sentry_error_rate", MC_ERROR, age);
	if (msg)
		mw_no_data(w, "sentry_error_rate", "sentry", msg, labels, MC_ERROR, 0);
	else
		mw_sample(w, "sentry_error_rate", "sentry", v, labels, MC_ERROR, 0);
	free(msg);
	return 0;
}

/* api_slack: tell the team. Failure is a warning: the watch goes on. */
void api_slack(const struct watch *w, const char *event, const char *text)
{
	const char *hook = getenv("SLACK_WEBHOOK_URL");
	if (!hook || !*hook)
		return;
	char *full = xasprintf("metricwatch: migration %s: %s", w->id ? w->id : "?", text);
	cJSON *body = cJSON_CreateObject(), *blocks = cJSON_AddArrayToObject(body, "blocks");
	cJSON_AddStringToObject(body, "text", full);
	cJSON *sec = cJSON_CreateObject(), *t = cJSON_AddObjectToObject(sec, "text");
	cJSON_AddStringToObject(sec, "type", "section");
	cJSON_AddStringToObject(t, "type", "mrkdwn");
	char *md = xasprintf("*%s* `%s`\n%s", event, w->id ? w->id : "?", text);
	cJSON_AddStringToObject(t, "text", md);
	cJSON_AddItemToArray(blocks, sec);
	char *json = cJSON_PrintUnformatted(body);
	struct http_req req = HTTP_REQ_INIT;
	struct http_resp resp = HTTP_RESP_INIT;
	const char *headers[] = {"Content-Type: application/json", NULL};
	req.method = "POST";
	req.url = hook;
	req.headers = headers;
	req.body = json;
	req.timeout_ms = (long)(w->o->http_timeout * 1000);
	req.connect_timeout_ms = req.timeout_ms;
	req.retries = 1; /* only 429/5xx/transport: Slack drops duplicates poorly, once is enough */
	req.backoff_ms = 500;
	if (http_do(&req, &resp) < 0) {
		/* the error names the URL, and the webhook URL is the secret: keep the reason only */
		const char *why = resp.error ? strrchr(resp.error, ':') : NULL;
		warning("Slack webhook: no answer (%s)", why ? why + 2 : "request failed");
	} else if (resp.status != 200) {
		warning("Slack webhook: HTTP %ld: %.100s", resp.status, resp.body.s);
	}
	http_resp_release(&resp);
	free(json);
	free(md);
	free(full);
	cJSON_Delete(body);
}
