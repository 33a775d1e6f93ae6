/*
 * strmap: a hash map from strings to pointers (open addressing, linear
 * probing, deletion by backward shift: no tombstones).
 *
 * The map owns a copy of each key; values are borrowed. Lookups, inserts and
 * deletes are O(1) on average. An empty map (STRMAP_INIT or all zeroes)
 * allocates nothing until the first insert.
 */
#ifndef MIGSAFE_STRMAP_H
#define MIGSAFE_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap_slot {
	char *key; /* NULL: empty */
	size_t hash;
	void *val;
};

struct strmap {
	struct strmap_slot *slots;
	size_t n, cap; /* cap: 0 or a power of two */
};

#define STRMAP_INIT        \
	{                  \
		NULL, 0, 0 \
	}

void strmap_release(struct strmap *m);
/* strmap_get: the value of key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);
/* strmap_put: set key to val (replacing any value it had). */
void strmap_put(struct strmap *m, const char *key, void *val);
/* strmap_del: remove key; returns its value, or NULL when absent. */
void *strmap_del(struct strmap *m, const char *key);

#endif
