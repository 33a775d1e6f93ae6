/*
 * out: metricwatch's clocks and its output. Records go to stdout one whole
 * line at a time, flushed; before the watch starts (mw_go_live) they are
 * kept, so that a run refused on its input writes nothing.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metricwatch.h"
#include "msg.h"
#include "nd.h"
#include "pgvocab.h"
#include "xalloc.h"

double mw_now(void)
{
	return pgv_now_ms() / 1000;
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

static bool live; /* the watch has started: records go out as they happen */
static bool out_broken;
static struct buf pre = BUF_INIT; /* output before the watch starts */

/* mw_out_line: one whole line to stdout, flushed (or kept until the start). */
void mw_out_line(const char *s, size_t n)
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

void mw_go_live(void)
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
	mw_out_line(s, strlen(s));
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

bool mw_live(void)
{
	return live;
}

bool mw_out_broken(void)
{
	return out_broken;
}

struct buf *mw_queued(void)
{
	return &pre;
}
