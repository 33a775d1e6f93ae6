#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* FNV-1a, 64 bits */
static size_t hash_str(const char *s)
{
	size_t h = (size_t)1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * (size_t)1099511628211ULL;
	return h;
}

void strmap_release(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	m->slots = NULL;
	m->n = m->cap = 0;
}

static size_t find(const struct strmap *m, const char *key, size_t h)
{
	size_t mask = m->cap - 1, i = h & mask;
	while (m->slots[i].key && (m->slots[i].hash != h || strcmp(m->slots[i].key, key)))
		i = (i + 1) & mask;
	return i;
}

void *strmap_get(const struct strmap *m, const char *key)
{
	if (!m->n)
		return NULL;
	size_t i = find(m, key, hash_str(key));
	return m->slots[i].key ? m->slots[i].val : NULL;
}

static void grow(struct strmap *m)
{
	struct strmap_slot *old = m->slots;
	size_t oldcap = m->cap;
	m->cap = oldcap ? oldcap * 2 : 16;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			m->slots[find(m, old[i].key, old[i].hash)] = old[i];
	free(old);
}

void strmap_put(struct strmap *m, const char *key, void *val)
{
	if ((m->n + 1) * 4 > m->cap * 3)
		grow(m);
	size_t h = hash_str(key), i = find(m, key, h);
	if (!m->slots[i].key) {
		m->slots[i].key = xstrdup(key);
		m->slots[i].hash = h;
		m->n++;
	}
	m->slots[i].val = val;
}

void *strmap_del(struct strmap *m, const char *key)
{
	if (!m->n)
		return NULL;
	size_t mask = m->cap - 1, i = find(m, key, hash_str(key));
	if (!m->slots[i].key)
		return NULL;
	void *val = m->slots[i].val;
	free(m->slots[i].key);
	m->slots[i].key = NULL;
	m->n--;
	/* backward shift: move later entries of the run into the hole when
	 * their home slot is not between the hole and themselves */
	for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t home = m->slots[j].hash & mask;
		bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (stays)
			continue;
		m->slots[i] = m->slots[j];
		m->slots[j].key = NULL;
		i = j;
	}
	return val;
}
