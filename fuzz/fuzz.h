/*
 * fuzz.h — what every libFuzzer harness here shares (fuzz_rt.c).
 *
 * The programs die on bad input (die(), die_at(): print, then exit), and a
 * dying program frees nothing: the process ends. A harness runs in one
 * process for millions of inputs, so fuzz_rt.c turns that exit into a
 * longjmp back to FUZZ_RUN and does what the end of the process would have
 * done: every block allocated by the project's own xmalloc family while the
 * input ran and still live is freed, and blocks allocated by libraries
 * (libpg_query, libc) are marked for LeakSanitizer as not leaked. A leak on
 * a path that returns normally is still a leak, and is reported.
 *
 * An exit with a code the harness did not allow (fuzz_allow_exit) is a
 * failure: abort(), so libFuzzer saves the input. msg_bug() aborts too.
 */
#ifndef MIGSAFE_FUZZ_H
#define MIGSAFE_FUZZ_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern jmp_buf fuzz_jmp;
extern int fuzz_exit_code; /* the code of the last exit caught, else -1 */

/* fuzz_begin: start tracking allocations; exits now longjmp to fuzz_jmp. */
void fuzz_begin(void);
/* fuzz_end: stop tracking; after an exit, free what the input left. */
void fuzz_end(bool died);
/* fuzz_allow_exit: exit codes that are a correct answer to bad input
 * (a bit mask of 1 << code); any other one aborts. Default: EXIT_INPUT. */
void fuzz_allow_exit(unsigned mask);

/* FUZZ_RUN: run the statement body; true when it ended in an exit. The body
 * must not leave anything that outlives it except through its own frees. */
#define FUZZ_RUN(body)                           \
	({                                       \
		volatile bool fuzz_died_ = true; \
		fuzz_begin();                    \
		if (!setjmp(fuzz_jmp)) {         \
			body;                    \
			fuzz_died_ = false;      \
		}                                \
		fuzz_end(fuzz_died_);            \
		fuzz_died_;                      \
	})

/* fuzz_cstr: data as a NUL-terminated string (cut at the first NUL, as a
 * file with a NUL is refused by read_file anyway); caller frees. */
char *fuzz_cstr(const uint8_t *data, size_t size);
/* fuzz_write_file: data into path (created, truncated); aborts on failure. */
void fuzz_write_file(const char *path, const uint8_t *data, size_t size);
/* fuzz_tmpdir: a private folder for this process, created once. */
const char *fuzz_tmpdir(void);
/* fuzz_repo: the repository root (compiled in), for fixtures read at init. */
const char *fuzz_repo(void);

struct catalog;
/* fuzz_shop_catalog: cat loaded with the shop fixture's DAG
 * (tests/fixtures/lockscore/shop-50m.ndjson), and libpg_query's memory
 * contexts made, before any input is tracked; aborts when it cannot. */
void fuzz_shop_catalog(struct catalog *cat);

#endif
