/*
 * fuzz_rt.c — the harnesses' runtime (see fuzz.h): exit() caught as a
 * longjmp, and the allocations of one input tracked so that a caught exit
 * can release them.
 *
 * common/msg.c is compiled with -Dexit=fuzz_exit and common/xalloc.c with
 * -Dmalloc=fuzz_malloc (and calloc, realloc), so the project's own code is
 * unchanged. Tracking uses the sanitizer allocator hooks: every block
 * allocated while an input runs is entered in an open-addressing table
 * (its slot valid only for the current generation, so starting an input
 * costs nothing), and removed when freed.
 */
#include "fuzz.h"

#include <errno.h>
#include <pthread.h>
#include <sanitizer/allocator_interface.h>
#include <sanitizer/lsan_interface.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

jmp_buf fuzz_jmp;
int fuzz_exit_code = -1;

static bool armed;
static pthread_t armed_thread;
static unsigned allowed = 1u << 4; /* EXIT_INPUT */
static _Thread_local int in_x;	   /* inside the xmalloc family */

#define TBITS 22
#define TSIZE (1u << TBITS)
#define TMAX (TSIZE / 2)

struct slot {
	uintptr_t p; /* 0: a tombstone when gen is current */
	uint32_t gen;
	uint8_t ours;
};
/* mmap'ed, not static: LeakSanitizer scans globals for pointers, and must
 * neither take the table's entries for references nor spend its time
 * scanning 64 MiB at every leak check */
static struct slot *table;
static uint32_t *used; /* slots filled in this generation */
static size_t nused;
static uint32_t gen = 1;
static bool overflow;

static uint32_t hash(uintptr_t p)
{
	return (uint32_t)(((uint64_t)(p >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - TBITS));
}

static bool tracking(void)
{
	return armed && pthread_equal(pthread_self(), armed_thread);
}

static void on_malloc(const volatile void *ptr, size_t size)
{
	(void)size;
	if (!ptr || !tracking())
		return;
	if (nused >= TMAX) {
		overflow = true;
		return;
	}
	uint32_t h = hash((uintptr_t)ptr);
	while (table[h].gen == gen && table[h].p)
		h = (h + 1) & (TSIZE - 1);
	if (table[h].gen != gen)
		used[nused++] = h;
	table[h] = (struct slot){(uintptr_t)ptr, gen, (uint8_t)(in_x > 0)};
}

static void on_free(const volatile void *ptr)
{
	if (!ptr || !tracking())
		return;
	for (uint32_t h = hash((uintptr_t)ptr); table[h].gen == gen; h = (h + 1) & (TSIZE - 1))
		if (table[h].p == (uintptr_t)ptr) {
			table[h].p = 0;
			return;
		}
}

__attribute__((constructor)) static void fuzz_rt_init(void)
{
	table = mmap(NULL, TSIZE * sizeof(*table), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	used = mmap(NULL, TMAX * sizeof(*used), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (table == MAP_FAILED || used == MAP_FAILED)
		abort();
	__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}

void fuzz_allow_exit(unsigned mask)
{
	allowed = mask;
}

void fuzz_begin(void)
{
	gen++;
	nused = 0;
	overflow = false;
	fuzz_exit_code = -1;
	armed_thread = pthread_self();
	armed = true;
}

void fuzz_end(bool died)
{
	armed = false;
	if (!died)
		return;
	if (overflow) {
		fprintf(stderr, "fuzz_rt: more than %u blocks live in one input: cannot release them\n", TMAX);
		abort();
	}
	for (size_t i = 0; i < nused; i++) {
		struct slot *s = &table[used[i]];
		if (s->gen != gen || !s->p)
			continue;
		if (s->ours)
			free((void *)s->p);
		else
			__lsan_ignore_object((void *)s->p);
		s->p = 0;
	}
}

/* fuzz_exit: what msg.c's exit() became. */
_Noreturn void fuzz_exit(int code);
_Noreturn void fuzz_exit(int code)
{
	if (!armed)
		exit(code);
	fuzz_exit_code = code;
	if (code < 0 || code > 31 || !(allowed & (1u << code))) {
		fprintf(stderr, "fuzz_rt: exit code %d is not an allowed answer to this input\n", code);
		abort();
	}
	longjmp(fuzz_jmp, 1);
}

/* The xmalloc family's allocator, marked as the project's own. */
void *fuzz_malloc(size_t n);
void *fuzz_calloc(size_t a, size_t b);
void *fuzz_realloc(void *p, size_t n);

void *fuzz_malloc(size_t n)
{
	in_x++;
	void *p = malloc(n);
	in_x--;
	return p;
}

void *fuzz_calloc(size_t a, size_t b)
{
	in_x++;
	void *p = calloc(a, b);
	in_x--;
	return p;
}

void *fuzz_realloc(void *p, size_t n)
{
	in_x++;
	void *q = realloc(p, n);
	in_x--;
	return q;
}

char *fuzz_cstr(const uint8_t *data, size_t size)
{
	size_t n = strnlen((const char *)data, size);
	char *s = malloc(n + 1);
	if (!s)
		abort();
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

void fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
		fprintf(stderr, "fuzz_rt: %s: %s\n", path, strerror(errno));
		abort();
	}
}

/* The folder is fuzz/out/tmp/<pid>, removed by run.sh (and by make clean). */
const char *fuzz_tmpdir(void)
{
	static char dir[4096];
	if (!dir[0]) {
		snprintf(dir, sizeof dir, "%s/fuzz/out/tmp", FUZZ_REPO);
		mkdir(dir, 0755);
		snprintf(dir, sizeof dir, "%s/fuzz/out/tmp/%ld", FUZZ_REPO, (long)getpid());
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			fprintf(stderr, "fuzz_rt: %s: %s\n", dir, strerror(errno));
			abort();
		}
	}
	return dir;
}

const char *fuzz_repo(void)
{
	return FUZZ_REPO;
}

FILE *fuzz_stderr;

__attribute__((constructor)) static void fuzz_quiet_init(void)
{
	const char *v = getenv("FUZZ_VERBOSE");
	fuzz_stderr = v && *v == '1' ? stderr : fopen("/dev/null", "w");
	if (!fuzz_stderr)
		abort();
}

/* libpg_query 15-4.0.0 leaks one byte (the parse's stderr buffer) when
 * pg_query_parse_plpgsql meets a syntax error (fixed upstream later, see
 * pganalyze/libpg_query's pg_query_parse_plpgsql_internal); replay.c hands
 * it the DO blocks and function bodies of every migration. Linked with
 * -Wl,--wrap=pg_query_parse_plpgsql, so only that call is exempt from leak
 * detection. */
#include <pg_query.h>
PgQueryPlpgsqlParseResult __real_pg_query_parse_plpgsql(const char *input);
PgQueryPlpgsqlParseResult __wrap_pg_query_parse_plpgsql(const char *input);
PgQueryPlpgsqlParseResult __wrap_pg_query_parse_plpgsql(const char *input)
{
	__lsan_disable();
	PgQueryPlpgsqlParseResult r = __real_pg_query_parse_plpgsql(input);
	__lsan_enable();
	return r;
}

/* ---- fixtures the harnesses share ---- */

#include "catalog.h"
#include "nd.h"
#include "sql.h"
#include "xalloc.h"

void fuzz_shop_catalog(struct catalog *cat)
{
	char *path = xasprintf("%s/tests/fixtures/lockscore/shop-50m.ndjson", fuzz_repo());
	FILE *f = fopen(path, "r");
	if (!f)
		abort();
	struct nd_reader rd;
	cJSON *rec;
	const char *err;
	catalog_init(cat);
	struct msg_err rerr = MSG_ERR_INIT;
	nd_reader_init(&rd, f, path);
	while ((rec = nd_read(&rd, &rerr))) {
		if (catalog_load_record(cat, rec, &err) < 0)
			abort();
		cJSON_Delete(rec);
	}
	err_release(&rerr);
	nd_reader_release(&rd);
	fclose(f);
	free(path);
	struct sql_script s;
	struct sql_error e;
	if (sql_parse(&s, "SELECT 1", &e) == 0)
		sql_script_release(&s);
}
