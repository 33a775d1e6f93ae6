/* pgvocab: see pgvocab.h. */
#include "pgvocab.h"

#include <string.h>
#include <time.h>

#include "buf.h"

static const char *const lock_names[PGV_LOCK_MAX + 1] = {
	NULL,
	"AccessShareLock",
	"RowShareLock",
	"RowExclusiveLock",
	"ShareUpdateExclusiveLock",
	"ShareLock",
	"ShareRowExclusiveLock",
	"ExclusiveLock",
	"AccessExclusiveLock",
};
static const char *const lock_shorts[PGV_LOCK_MAX + 1] = {
	NULL,
	"ACCESS SHARE",
	"ROW SHARE",
	"ROW EXCLUSIVE",
	"SHARE UPDATE EXCLUSIVE",
	"SHARE",
	"SHARE ROW EXCLUSIVE",
	"EXCLUSIVE",
	"ACCESS EXCLUSIVE",
};
/* PostgreSQL's "Conflicting Lock Modes" table: bit m set when the row's mode
 * conflicts with mode m. */
#define B(m) (1u << (m))
static const unsigned lock_conflicts[PGV_LOCK_MAX + 1] = {
	0,
	B(8),
	B(7) | B(8),
	B(5) | B(6) | B(7) | B(8),
	B(4) | B(5) | B(6) | B(7) | B(8),
	B(3) | B(4) | B(6) | B(7) | B(8),
	B(3) | B(4) | B(5) | B(6) | B(7) | B(8),
	B(2) | B(3) | B(4) | B(5) | B(6) | B(7) | B(8),
	B(1) | B(2) | B(3) | B(4) | B(5) | B(6) | B(7) | B(8),
};
#undef B

static bool lock_valid(int mode)
{
	return mode >= 1 && mode <= PGV_LOCK_MAX;
}

const char *pgv_lock_name(int mode)
{
	return lock_valid(mode) ? lock_names[mode] : NULL;
}

const char *pgv_lock_short(int mode)
{
	return lock_valid(mode) ? lock_shorts[mode] : NULL;
}

int pgv_lock_parse(const char *name)
{
	for (int i = 1; name && i <= PGV_LOCK_MAX; i++)
		if (!strcmp(name, lock_names[i]))
			return i;
	return PGV_LOCK_NONE;
}

bool pgv_lock_conflicts(int a, int b)
{
	return lock_valid(a) && lock_valid(b) && (lock_conflicts[a] >> b & 1u);
}

bool pgv_lock_blocks_reads(int mode)
{
	return pgv_lock_conflicts(mode, 1);
}

bool pgv_lock_blocks_writes(int mode)
{
	return pgv_lock_conflicts(mode, 3);
}

const char *const pgv_severity_list[4] = {"low", "medium", "high", NULL};

int pgv_severity_rank(const char *sev)
{
	for (int i = 0; sev && i < 3; i++)
		if (!strcmp(sev, pgv_severity_list[i]))
			return i + 1;
	return 0;
}

const char *pgv_severity_name(int rank)
{
	return rank >= 1 && rank <= 3 ? pgv_severity_list[rank - 1] : NULL;
}

/* digits [. digits]: the number at the start of s, its end in *end; -1 if none. */
static double duration_number(const char *s, const char **end)
{
	double v = 0, scale = 1;
	const char *p = s;
	int digits = 0;
	for (; *p >= '0' && *p <= '9'; p++, digits++)
		v = v * 10 + (*p - '0');
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			v += (*p - '0') * (scale /= 10);
	*end = p;
	return digits && p[-1] != '.' ? v : -1;
}

int pgv_duration_parse(const char *s, double *ms)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = {{"", 1000}, {"ms", 1}, {"s", 1000}, {"min", 60000}, {"m", 60000}, {"h", 3600000}};
	const char *end;
	double v = s ? duration_number(s, &end) : -1;
	for (size_t i = 0; v >= 0 && i < sizeof units / sizeof *units; i++)
		if (!strcmp(end, units[i].unit)) {
			*ms = v * units[i].ms;
			return 0;
		}
	return -1;
}

void pgv_duration_text(struct buf *b, double ms)
{
	if (ms < 0)
		buf_adds(b, "unknown");
	else if (ms > 0 && ms < 1)
		buf_addf(b, "%.2f ms", ms);
	else if (ms < 10 && ms != (double)(long)ms)
		buf_addf(b, "%.1f ms", ms);
	else if (ms < 1000)
		buf_addf(b, "%.0f ms", ms);
	else if (ms < 60000)
		buf_addf(b, "%.1f s", ms / 1000);
	else if (ms < 3600000) {
		long s = (long)(ms / 1000 + 0.5);
		buf_addf(b, "%ld min %02ld s", s / 60, s % 60);
	} else {
		long mn = (long)(ms / 60000 + 0.5);
		buf_addf(b, "%ld h %02ld min", mn / 60, mn % 60);
	}
}

void pgv_duration_pg(struct buf *b, double ms)
{
	long v = (long)(ms + 0.5);
	if (v >= 3600000 && v % 3600000 == 0)
		buf_addf(b, "%ldh", v / 3600000);
	else if (v >= 60000 && v % 60000 == 0)
		buf_addf(b, "%ldmin", v / 60000);
	else if (v >= 1000 && v % 1000 == 0)
		buf_addf(b, "%lds", v / 1000);
	else
		buf_addf(b, "%ldms", v);
}

double pgv_sample_scale(double sample_percent)
{
	return sample_percent > 0 ? 100 / sample_percent : 1;
}

double pgv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void pgv_notice_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

cJSON *pgv_strv_json(const struct strv *sv)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < sv->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(sv->v[i]));
	return a;
}
