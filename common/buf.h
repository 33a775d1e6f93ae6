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

struct msg_err; /* msg.h */

struct buf {
	char *s;
	size_t len, cap;
};

#define BUF_INIT           \
	{                  \
		NULL, 0, 0 \
	}

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
 * NULL with *err (EXIT_INPUT, naming the file) when it cannot be read,
 * holds a NUL or is not UTF-8 (text_check_utf8). */
char *read_file(const char *path, struct msg_err *err);
/* text_check_utf8: -1 with *err (EXIT_INPUT) "path:line: invalid UTF-8 ..."
 * when text[from..upto) is not valid UTF-8 (the line is counted from
 * text). Text read from files becomes records, which must be UTF-8
 * (nd.h), and PostgreSQL would refuse it too. */
int text_check_utf8(const char *path, const char *text, size_t from, size_t upto, struct msg_err *err);

/* utf8_invalid: the offset of the first byte of s[0..n) that does not
 * begin a well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
 * surrogates U+D800..U+DFFF, nothing above U+10FFFF, no sequence cut
 * short), or n when all of it is valid. A NUL byte is valid UTF-8. */
size_t utf8_invalid(const char *s, size_t n);
/* utf8_line: the 1-based line of text that holds byte offset off. */
long utf8_line(const char *text, size_t off);

/* buf_add_visible: s[0..n) appended to b with what could drive a
 * terminal made visible text: C0 control characters but newline and tab
 * (and a CR just before a newline, which is dropped), DEL and bytes that
 * are not UTF-8 as \xHH, the C1 controls U+0080..U+009F as \u00HH. For
 * text from files, records and models on its way to a terminal. */
void buf_add_visible(struct buf *b, const char *s, size_t n);
/* text_visible: whether buf_add_visible would copy s[0..n) unchanged */
bool text_visible(const char *s, size_t n);

struct strv {
	char **v;
	size_t n, cap;
};

#define STRV_INIT          \
	{                  \
		NULL, 0, 0 \
	}

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
