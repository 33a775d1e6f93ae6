/*
 * spool: an append-only byte store that stays in memory while it is small
 * and moves to an unlinked temporary file once it passes a limit, so that
 * a program can keep what it must revisit (every statement of a
 * million-statement migration) with its memory bounded.
 *
 * Appends come first; reads (at any offset, any number of times) may
 * follow, and appends may resume after them. A failed write or read of the
 * temporary file is the spool's error (EXIT_RUNTIME), naming what failed,
 * kept in s->err: from then on appends only count their bytes and reads
 * give zeros (NULL strings), so the caller must check spool_error() before
 * it lets anything read from the spool reach its output: a full disk is
 * an error, never a silent loss.
 *
 * The memory limit is SPOOL_MEM_DEFAULT (4 MiB) unless MIGSAFE_SPOOL_MEM
 * (bytes) says otherwise; 0 sends everything to the file (tests use it).
 *
 * Values are written in the machine's own byte order: a spool never
 * outlives the process that wrote it.
 */
#ifndef MIGSAFE_SPOOL_H
#define MIGSAFE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "msg.h"

#define SPOOL_MEM_DEFAULT ((size_t)4 << 20)
/* the limit in use: SIZE_MAX until the first spool reads the environment
 * (tests set it directly) */
extern size_t spool_mem_limit;

struct spool {
	char *mem; /* in memory: the bytes; in a file: the write buffer */
	size_t len, cap;
	FILE *f;       /* the temporary file, once past the limit */
	uint64_t size; /* bytes appended in all */
	char *blk;     /* read cache of the file: one block */
	uint64_t blk_off;
	size_t blk_len;
	struct msg_err err; /* the first failure, if any */
};

#define SPOOL_INIT                                            \
	{                                                     \
		NULL, 0, 0, NULL, 0, NULL, 0, 0, MSG_ERR_INIT \
	}

void spool_add(struct spool *s, const void *p, size_t n);
/* spool_read: n bytes at off into p (zeros after a failure); reading past
 * what was appended is a bug (BUG). */
void spool_read(struct spool *s, uint64_t off, void *p, size_t n);
/* spool_error: 0, or -1 with *err a copy of the spool's first failure. */
int spool_error(const struct spool *s, struct msg_err *err);
/* spool_release: drop everything (and the file); s is empty and reusable. */
void spool_release(struct spool *s);
/* spool_in_file: has it moved to a temporary file? */
bool spool_in_file(const struct spool *s);

/* Typed values, appended, and read back through a cursor. Strings may be
 * NULL; what spool_get_str returns is the caller's to free. */
struct spool_cur {
	struct spool *s;
	uint64_t off;
};

void spool_put_u64(struct spool *s, uint64_t v);
void spool_put_f64(struct spool *s, double v);
void spool_put_str(struct spool *s, const char *str);
uint64_t spool_get_u64(struct spool_cur *c);
double spool_get_f64(struct spool_cur *c);
char *spool_get_str(struct spool_cur *c);

#endif
