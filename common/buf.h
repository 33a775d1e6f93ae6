/*
 * buf: a growable byte string, and strv: a growable array of strings.
 *
 * Invariants: buf.s is always NUL-terminated once any function has touched
 * the buf (buf_init leaves it at an empty string), buf.len excludes the NUL.
 * A strv owns every string in it. buf_release/strv_release free the
 * contents and leave an empty, reusable object; buf_detach hands the string
 * to the caller.
 */
#ifndef MIGSAFE_BUF_H
#define MIGSAFE_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *s;
	size_t len, cap;
};

#define BUF_INIT {NULL, 0, 0}

void buf_init(struct buf *b);
void buf_release(struct buf *b);
void buf_add(struct buf *b, const void *data, size_t n);
void buf_adds(struct buf *b, const char *s);
/* buf_addc: one byte; inline, for the byte-at-a-time loops (COPY text,
 * JSON escaping) where a call per byte showed in profiles. */
static inline void buf_addc(struct buf *b, char c)
{
	if (b->len + 2 <= b->cap) {
		b->s[b->len++] = c;
		b->s[b->len] = '\0';
	} else {
		buf_add(b, &c, 1);
	}
}
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* buf_add_int: v in decimal, without printf (for loops over many numbers). */
void buf_add_int(struct buf *b, long long v);
void buf_reset(struct buf *b);
/* buf_detach: the string (never NULL), which the caller frees; b is reset. */
char *buf_detach(struct buf *b);
/* read_file: the whole file as a NUL-terminated string the caller frees;
 * dies (EXIT_INPUT) naming the file when it cannot be read or holds a NUL. */
char *read_file(const char *path);

struct strv {
	char **v;
	size_t n, cap;
};

#define STRV_INIT {NULL, 0, 0}

void strv_push(struct strv *sv, const char *s);
/* strv_push_take: append s without copying; the strv now owns it. */
void strv_push_take(struct strv *sv, char *s);
void strv_release(struct strv *sv);
void strv_copy(struct strv *dst, const struct strv *src);
/* strv_index: position of s (exact match), or -1. */
long strv_index(const struct strv *sv, const char *s);
void strv_remove(struct strv *sv, size_t i);
bool strv_equal(const struct strv *a, const struct strv *b);
/* strv_join: the strings joined by sep, caller frees. */
char *strv_join(const struct strv *sv, const char *sep);

#endif
