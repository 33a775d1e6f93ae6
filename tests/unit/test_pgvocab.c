/* Unit tests for common/pgvocab: lock modes and PostgreSQL's conflict table,
 * severities, the one spelling of durations (read and written), the sample
 * scale-up and strv_json. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "pgvocab.h"
#include "tap.h"

/* the conflict table as PostgreSQL's documentation prints it: row a, column b */
static const char *const conflict_rows[9] = {
	"",
	"       X",
	"      XX",
	"    XXXX",
	"   XXXXX",
	"  XX XXX",
	"  XXXXXX",
	" XXXXXXX",
	"XXXXXXXX",
};

static void test_locks(void)
{
	IS_STR(pgv_lock_name(8), "AccessExclusiveLock", "mode 8 is AccessExclusiveLock");
	IS_STR(pgv_lock_short(4), "SHARE UPDATE EXCLUSIVE", "mode 4 is SHARE UPDATE EXCLUSIVE");
	OK(!pgv_lock_name(0) && !pgv_lock_name(9) && !pgv_lock_short(-1), "no name out of 1..8");
	for (int m = 1; m <= 8; m++)
		OK(pgv_lock_parse(pgv_lock_name(m)) == m, "parse(name(%d)) == %d", m, m);
	OK(!pgv_lock_parse(NULL) && !pgv_lock_parse("ACCESS EXCLUSIVE") && !pgv_lock_parse("accessexclusivelock"),
	   "only pg_locks spellings parse");
	int wrong = 0;
	for (int a = 1; a <= 8; a++)
		for (int b = 1; b <= 8; b++)
			wrong += pgv_lock_conflicts(a, b) != (conflict_rows[a][b - 1] == 'X') ||
				 pgv_lock_conflicts(a, b) != pgv_lock_conflicts(b, a);
	OK(!wrong, "conflict table is PostgreSQL's and symmetric (%d wrong)", wrong);
	OK(!pgv_lock_conflicts(0, 8) && !pgv_lock_conflicts(8, 9), "no lock conflicts with nothing");
	OK(pgv_lock_blocks_reads(8) && !pgv_lock_blocks_reads(7), "only ACCESS EXCLUSIVE blocks reads");
	OK(pgv_lock_blocks_writes(5) && !pgv_lock_blocks_writes(4) && pgv_lock_blocks_writes(8),
	   "SHARE and stronger block writes, SHARE UPDATE EXCLUSIVE does not");
}

static void test_severities(void)
{
	OK(pgv_severity_rank("low") == 1 && pgv_severity_rank("medium") == 2 && pgv_severity_rank("high") == 3,
	   "low < medium < high");
	OK(!pgv_severity_rank(NULL) && !pgv_severity_rank("HIGH") && !pgv_severity_rank("critical"),
	   "anything else ranks 0");
	IS_STR(pgv_severity_name(2), "medium", "rank 2 is medium");
	OK(!pgv_severity_name(0) && !pgv_severity_name(4), "no name out of 1..3");
}

static void parses(const char *s, double want)
{
	double ms = -42;
	OK(!pgv_duration_parse(s, &ms) && fabs(ms - want) < 1e-9, "'%s' is %g ms (got %g)", s, want, ms);
}

static void test_duration_parse(void)
{
	parses("500ms", 500);
	parses("2s", 2000);
	parses("1.5s", 1500);
	parses("5min", 300000);
	parses("5m", 300000);
	parses("1h", 3600000);
	parses("90", 90000);
	parses("0.25", 250);
	static const char *const bad[] = {"", "5 sec", "5sec", "5mins", " 5s", "5s ", "-1s", "+1s", "1e3",
					  "nan", "inf", "0x10", "1.", "s", "5S", "1d", "1.5.2s"};
	double ms;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		OK(pgv_duration_parse(bad[i], &ms) == -1, "'%s' is not a duration", bad[i]);
	OK(pgv_duration_parse(NULL, &ms) == -1, "NULL is not a duration");
}

static void text_is(void (*fn)(struct buf *, double), double ms, const char *want)
{
	struct buf b = BUF_INIT;
	fn(&b, ms);
	IS_STR(b.s, want, want);
	buf_release(&b);
}

static void test_duration_format(void)
{
	text_is(pgv_duration_text, 90000, "1 min 30 s");
	text_is(pgv_duration_text, 1500, "1.5 s");
	text_is(pgv_duration_text, 250, "250 ms");
	text_is(pgv_duration_text, 0.5, "0.50 ms");
	text_is(pgv_duration_text, 7500000, "2 h 05 min");
	text_is(pgv_duration_text, -1, "unknown");
	text_is(pgv_duration_pg, 2000, "2s");
	text_is(pgv_duration_pg, 500, "500ms");
	text_is(pgv_duration_pg, 300000, "5min");
	text_is(pgv_duration_pg, 3600000, "1h");
	text_is(pgv_duration_pg, 1500, "1500ms");
	/* what pgv_duration_pg writes reads back as the same time */
	static const double round_trip[] = {1, 999, 1000, 61000, 60000, 5400000, 7200000};
	for (size_t i = 0; i < sizeof round_trip / sizeof *round_trip; i++) {
		struct buf b = BUF_INIT;
		double ms = -1;
		pgv_duration_pg(&b, round_trip[i]);
		OK(!pgv_duration_parse(b.s, &ms) && ms == round_trip[i], "%g ms -> '%s' -> %g ms", round_trip[i], b.s, ms);
		buf_release(&b);
	}
}

static void test_misc(void)
{
	OK(pgv_sample_scale(5) == 20 && pgv_sample_scale(100) == 1, "5%% sample scales by 20, 100%% by 1");
	OK(pgv_sample_scale(0) == 1 && pgv_sample_scale(-3) == 1, "no sample percent: no scale-up");
	double a = pgv_now_ms(), b = pgv_now_ms();
	OK(b >= a && a > 0, "the monotonic clock does not go back");
	struct strv sv = STRV_INIT;
	strv_push(&sv, "a");
	strv_push(&sv, "b\"c");
	cJSON *j = pgv_strv_json(&sv);
	char *s = cJSON_PrintUnformatted(j);
	IS_STR(s, "[\"a\",\"b\\\"c\"]", "strv_json");
	free(s);
	cJSON_Delete(j);
	strv_release(&sv);
}

int main(void)
{
	test_locks();
	test_severities();
	test_duration_parse();
	test_duration_format();
	test_misc();
	return tap_done();
}
