/*
 * xalloc: allocation that never returns NULL.
 *
 * Out of memory is fatal in exactly one place: these functions print
 * "prog: out of memory" and exit with EXIT_RUNTIME. cJSON's hooks are pointed
 * here by xalloc_init_cjson(), so cJSON allocations obey the same rule.
 * Every result belongs to the caller and is released with free().
 */
#ifndef MIGSAFE_XALLOC_H
#define MIGSAFE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* xstrndup: the first n bytes of s (or fewer, up to its NUL), NUL-terminated. */
char *xstrndup(const char *s, size_t n);
/* xasprintf: a printf-formatted string the caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Grow *p (an array of *cap elements of size sz) so it holds at least need. */
void xgrow(void *pp, size_t *cap, size_t need, size_t sz);
/* Point cJSON's allocator at xmalloc/free. Call once, before any cJSON use. */
void xalloc_init_cjson(void);

#endif
