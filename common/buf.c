#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "xalloc.h"

void buf_init(struct buf *b)
{
	b->s = NULL;
	b->len = b->cap = 0;
	buf_add(b, "", 0);
}

void buf_release(struct buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

void buf_add(struct buf *b, const void *data, size_t n)
{
	xgrow(&b->s, &b->cap, b->len + n + 1, 1);
	if (n)
		memcpy(b->s + b->len, data, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_add_int(struct buf *b, long long v)
{
	char tmp[24];
	int n = sizeof(tmp);
	unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
	do
		tmp[--n] = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		tmp[--n] = '-';
	buf_add(b, tmp + n, sizeof(tmp) - (size_t)n);
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	xgrow(&b->s, &b->cap, b->len + (size_t)n + 1, 1);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

char *buf_detach(struct buf *b)
{
	char *s = b->s ? b->s : xstrdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void strv_push(struct strv *sv, const char *s)
{
	strv_push_take(sv, xstrdup(s));
}

void strv_push_take(struct strv *sv, char *s)
{
	xgrow(&sv->v, &sv->cap, sv->n + 1, sizeof(*sv->v));
	sv->v[sv->n++] = s;
}

void strv_release(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

void strv_copy(struct strv *dst, const struct strv *src)
{
	for (size_t i = 0; i < src->n; i++)
		strv_push(dst, src->v[i]);
}

long strv_index(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return (long)i;
	return -1;
}

void strv_remove(struct strv *sv, size_t i)
{
	if (i >= sv->n)
		return;
	free(sv->v[i]);
	memmove(sv->v + i, sv->v + i + 1, (sv->n - i - 1) * sizeof(*sv->v));
	sv->n--;
}

bool strv_equal(const struct strv *a, const struct strv *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

char *strv_join(const struct strv *sv, const char *sep)
{
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < sv->n; i++) {
		if (i)
			buf_adds(&b, sep);
		buf_adds(&b, sv->v[i]);
	}
	return buf_detach(&b);
}

char *read_file(const char *path, struct msg_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		err_set(err, EXIT_INPUT, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct buf b;
	buf_init(&b);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	int failed = ferror(f) ? errno : 0;
	fclose(f);
	if (failed)
		err_set(err, EXIT_INPUT, "%s: read error: %s", path, strerror(failed));
	else if (memchr(b.s, '\0', b.len))
		err_set(err, EXIT_INPUT, "%s: binary file (NUL byte)", path);
	else if (text_check_utf8(path, b.s, 0, b.len, err) == 0)
		return buf_detach(&b);
	buf_release(&b);
	return NULL;
}

int text_check_utf8(const char *path, const char *text, size_t from, size_t upto, struct msg_err *err)
{
	size_t bad = from + utf8_invalid(text + from, upto - from);
	if (bad < upto)
		return err_set_at(err, EXIT_INPUT, path, utf8_line(text, bad),
				  "invalid UTF-8 (byte 0x%02x): not a UTF-8 text file", (unsigned char)text[bad]);
	return 0;
}

/* utf8_seq: the length of the well-formed sequence at p (with end bytes
 * left), or 0 */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t k;
	unsigned char lo = 0x80, hi = 0xBF; /* the second byte's range */
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		k = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		k = 3;
		lo = c == 0xE0 ? 0xA0 : 0x80; /* E0: no overlong form */
		hi = c == 0xED ? 0x9F : 0xBF; /* ED: no surrogate */
	} else if (c >= 0xF0 && c <= 0xF4) {
		k = 4;
		lo = c == 0xF0 ? 0x90 : 0x80; /* F0: no overlong form */
		hi = c == 0xF4 ? 0x8F : 0xBF; /* F4: nothing past U+10FFFF */
	} else {
		return 0; /* C0, C1, F5..FF, or a continuation byte */
	}
	if (left < k || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < k; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	return k;
}

size_t utf8_invalid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		uint64_t w;
		if (n - i >= 8 && (memcpy(&w, p + i, 8), !(w & 0x8080808080808080ull))) {
			i += 8; /* eight ASCII bytes at once: most text is ASCII */
			continue;
		}
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = utf8_seq(p + i, n - i);
		if (!k)
			return i;
		i += k;
	}
	return n;
}

long utf8_line(const char *text, size_t off)
{
	long line = 1;
	for (const char *p = text, *end = text + off; (p = memchr(p, '\n', (size_t)(end - p))); p++)
		line++;
	return line;
}

/* hidden_len: how many bytes at s (n left) buf_add_visible rewrites, 0
 * when the character there is shown as it is; *len is its length */
static size_t hidden_len(const unsigned char *s, size_t n, size_t *len)
{
	unsigned char c = s[0];
	*len = 1;
	if (c >= 0x20 && c < 0x7f)
		return 0;
	if (c == '\n' || c == '\t')
		return 0;
	if (c < 0x80)
		return 1;
	size_t k = utf8_seq(s, n);
	if (!k)
		return 1;
	*len = k;
	return c == 0xC2 && s[1] <= 0x9F ? 2 : 0;
}

bool text_visible(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0, len; i < n; i += len)
		if (hidden_len(p + i, n - i, &len))
			return false;
	return true;
}

void buf_add_visible(struct buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0, len; i < n; i += len) {
		size_t h = hidden_len(p + i, n - i, &len);
		if (!h)
			buf_add(b, s + i, len);
		else if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		else if (h == 2)
			buf_addf(b, "\\u%04x", p[i + 1]);
		else
			buf_addf(b, "\\x%02x", p[i]);
	}
}
