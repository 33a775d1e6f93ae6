/* spool: memory first, then an unlinked temporary file (see spool.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "spool.h"
#include "xalloc.h"

#define SPOOL_BLOCK ((size_t)64 << 10)

size_t spool_mem_limit = SIZE_MAX;

static size_t mem_limit(void)
{
	if (spool_mem_limit == SIZE_MAX) {
		const char *e = getenv("MIGSAFE_SPOOL_MEM");
		char *end;
		unsigned long long v = e && *e ? strtoull(e, &end, 10) : 0;
		spool_mem_limit = e && *e && !*end && v < SIZE_MAX ? (size_t)v : SPOOL_MEM_DEFAULT;
	}
	return spool_mem_limit;
}

bool spool_in_file(const struct spool *s)
{
	return s->f != NULL;
}

/* failed: record the spool's first failure; its bytes are lost */
static void failed(struct spool *s, const char *what, int e)
{
	if (!s->err.text)
		err_set(&s->err, EXIT_RUNTIME, "%s: %s", what, e ? strerror(e) : "short read");
}

int spool_error(const struct spool *s, struct msg_err *err)
{
	if (!s->err.text)
		return 0;
	return err_set(err, s->err.code, "%s", s->err.text);
}

static void to_file(struct spool *s)
{
	if (!(s->f = tmpfile()))
		failed(s, "cannot create a temporary file", errno);
	else if (s->len && fwrite(s->mem, 1, s->len, s->f) != s->len)
		failed(s, "write error on a temporary file", errno);
	free(s->mem);
	s->mem = NULL;
	s->len = s->cap = 0;
}

void spool_add(struct spool *s, const void *p, size_t n)
{
	if (!n)
		return; /* p may be NULL then */
	if (!s->err.text && !s->f && s->len + n > mem_limit())
		to_file(s);
	if (s->err.text) {
		/* lost: only counted */
	} else if (s->f) {
		if (fwrite(p, 1, n, s->f) != n)
			failed(s, "write error on a temporary file", errno);
	} else {
		xgrow(&s->mem, &s->cap, s->len + n, 1);
		memcpy(s->mem + s->len, p, n);
		s->len += n;
	}
	s->size += n;
}

/* fill: the cache block holding off; -1 after a failure */
static int fill(struct spool *s, uint64_t off)
{
	if (!s->blk)
		s->blk = xmalloc(SPOOL_BLOCK);
	if (fflush(s->f) != 0) {
		failed(s, "write error on a temporary file", errno);
		return -1;
	}
	uint64_t start = off - off % SPOOL_BLOCK;
	size_t want = s->size - start < SPOOL_BLOCK ? (size_t)(s->size - start) : SPOOL_BLOCK, got = 0;
	while (got < want) {
		ssize_t r = pread(fileno(s->f), s->blk + got, want - got, (off_t)(start + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			failed(s, "read error on a temporary file", r < 0 ? errno : 0);
			return -1;
		}
		got += (size_t)r;
	}
	s->blk_off = start;
	s->blk_len = got;
	return 0;
}

void spool_read(struct spool *s, uint64_t off, void *p, size_t n)
{
	if (off > s->size || n > s->size - off)
		BUG("spool read past its end (%llu + %zu > %llu)", (unsigned long long)off, n,
		    (unsigned long long)s->size);
	if (s->err.text) {
		memset(p, 0, n);
		return;
	}
	if (!s->f) {
		memcpy(p, s->mem + off, n);
		return;
	}
	char *d = p;
	while (n > 0) {
		if ((!s->blk || off < s->blk_off || off >= s->blk_off + s->blk_len) && fill(s, off) < 0) {
			memset(d, 0, n);
			return;
		}
		size_t at = (size_t)(off - s->blk_off), k = s->blk_len - at < n ? s->blk_len - at : n;
		memcpy(d, s->blk + at, k);
		d += k;
		off += k;
		n -= k;
	}
}

void spool_release(struct spool *s)
{
	if (s->f)
		fclose(s->f);
	free(s->mem);
	free(s->blk);
	err_release(&s->err);
	*s = (struct spool)SPOOL_INIT;
}

void spool_put_u64(struct spool *s, uint64_t v)
{
	spool_add(s, &v, sizeof v);
}

void spool_put_f64(struct spool *s, double v)
{
	spool_add(s, &v, sizeof v);
}

/* a string: its length plus one (0 for NULL), then its bytes */
void spool_put_str(struct spool *s, const char *str)
{
	size_t n = str ? strlen(str) : 0;
	spool_put_u64(s, str ? n + 1 : 0);
	spool_add(s, str, n);
}

uint64_t spool_get_u64(struct spool_cur *c)
{
	uint64_t v;
	spool_read(c->s, c->off, &v, sizeof v);
	c->off += sizeof v;
	return v;
}

double spool_get_f64(struct spool_cur *c)
{
	double v;
	spool_read(c->s, c->off, &v, sizeof v);
	c->off += sizeof v;
	return v;
}

char *spool_get_str(struct spool_cur *c)
{
	uint64_t n = spool_get_u64(c);
	if (!n)
		return NULL;
	if (n - 1 > c->s->size - c->off)
		BUG("a spooled string runs past the spool's end");
	char *str = xmalloc((size_t)n);
	spool_read(c->s, c->off, str, (size_t)(n - 1));
	str[n - 1] = '\0';
	c->off += n - 1;
	return str;
}
