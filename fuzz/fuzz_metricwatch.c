/*
 * fuzz_metricwatch — metricwatch's HTTP sources on arbitrary answers: the
 * input is a script of responses (fake_http.h) played to api_datadog (a
 * v1 query answer: status, error, series[].pointlist) and api_sentry (a
 * project stats answer: [[ts, count], ...]), and to the Slack webhook
 * whenever a sample breaches; linked with metricwatch's files other than
 * its main (the sample records and rules: rules.c, out.c). A bad answer is
 * a warning and a failed sample (-1), never an exit; every sample record
 * must be a valid NDJSON record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_http.h"
#include "fuzz.h"
#include "metricwatch.h"
#include "msg.h"
#include "nd.h"
#include "xalloc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	msg_set_prog("fuzz_metricwatch");
	xalloc_init_cjson();
	setenv("DD_API_KEY", "dd-secret", 1);
	setenv("DD_APP_KEY", "dd-app-secret", 1);
	setenv("SENTRY_AUTH_TOKEN", "sntrys_secret", 1);
	setenv("SENTRY_URL", "http://127.0.0.1:9/", 1);
	setenv("SLACK_WEBHOOK_URL", "http://127.0.0.1:9/services/T/B/secret", 1);
	return 0;
}

/* check_pre: every line metricwatch queued is a record; then forget them */
static void check_pre(void)
{
	struct buf *q = mw_queued();
	if (!q->len)
		return;
	const char *s = q->s, *end = q->s + q->len;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *err = NULL;
		cJSON *rec = nd_parse_line(s, (size_t)(nl - s), &err);
		if (!rec) {
			fprintf(stderr, "metricwatch wrote a line that is not a record (%s): %.*s\n", err,
				(int)(nl - s), s);
			abort();
		}
		cJSON_Delete(rec);
		s = nl + 1;
	}
	buf_reset(q);
}

static void fuzz_watch(struct watch *w)
{
	api_datadog(w);
	api_sentry(w);
	api_datadog(w);
	check_pre();
	for (size_t i = 0; i < w->nmetrics; i++)
		free(w->metrics[i].name);
	free(w->metrics);
	w->metrics = NULL;
	w->nmetrics = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct opts o;
	memset(&o, 0, sizeof(o));
	/* metricwatch's defaults for what the sources and the rules read */
	o.interval = 1, o.max_lock_wait = 5, o.error_spike = 3, o.error_floor = 1;
	o.datadog_query = "sum:trace.http.request.errors{service:shop}.as_rate()";
	o.datadog_site = "http://127.0.0.1:9";
	o.datadog_window = 60;
	o.sentry = "acme/shop";
	o.http_timeout = 1;
	o.cooldown = 0;
	struct watch w;
	memset(&w, 0, sizeof(w));
	w.o = &o;
	w.id = "V1__fuzz";
	w.last_breach_end = -1;
	w.in_baseline = size % 2;
	w.t0 = mw_now();
	fake_http_script((const char *)data, size);
	fuzz_allow_exit(0);
	FUZZ_RUN(fuzz_watch(&w));
	return 0;
}
