#include "buf.h"

#include <errno.h>
#include <stdarg.h>
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

char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("%s: %s", path, strerror(errno));
	struct buf b;
	buf_init(&b);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	if (ferror(f))
		die("%s: read error: %s", path, strerror(errno));
	fclose(f);
	if (memchr(b.s, '\0', b.len))
		die("%s: binary file (NUL byte)", path);
	return buf_detach(&b);
}
