/*
 * catalog_code: functions, triggers and domains, the objects whose code or
 * constraints change what a statement locks or rewrites. Few per schema:
 * looked up by a linear search, not through the lookup maps of catalog.c.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "xalloc.h"

#define PUSH(arr, n, x)                                              \
	do {                                                         \
		(arr) = xrealloc((arr), ((n) + 1) * sizeof(*(arr))); \
		(arr)[(n)++] = (x);                                  \
	} while (0)

static void set_str(char **dst, const char *src)
{
	char *copy = src ? xstrdup(src) : NULL;
	free(*dst);
	*dst = copy;
}

/* ---- functions ---- */

struct cat_function *catalog_function(const struct catalog *c, const char *schema, const char *name)
{
	for (size_t i = 0; i < c->nfunctions; i++)
		if (!strcmp(c->functions[i]->schema, schema) && !strcmp(c->functions[i]->name, name))
			return c->functions[i];
	return NULL;
}

struct cat_function *catalog_add_function(struct catalog *c, const char *schema, const char *name)
{
	struct cat_function *f = catalog_function(c, schema, name);
	if (f) {
		strv_release(&f->writes);
		return f;
	}
	f = xcalloc(1, sizeof(*f));
	f->schema = xstrdup(schema);
	f->name = xstrdup(name);
	f->qname = cat_qname(schema, name);
	PUSH(c->functions, c->nfunctions, f);
	return f;
}

/* A trigger keeps the writes its function had: a replaced function
 * changes them for every trigger that runs it. */
void catalog_function_done(struct catalog *c, const struct cat_function *f)
{
	for (size_t i = 0; i < c->ntables; i++)
		for (size_t k = 0; k < c->tables[i]->ntrigs; k++) {
			struct cat_trigger *tg = &c->tables[i]->trigs[k];
			if (!strcmp(tg->function, f->qname)) {
				strv_release(&tg->writes);
				for (size_t w = 0; w < f->writes.n; w++)
					strv_push(&tg->writes, f->writes.v[w]);
			}
		}
}

static void function_free(struct cat_function *f)
{
	free(f->schema);
	free(f->name);
	free(f->qname);
	strv_release(&f->writes);
	free(f);
}

/* ---- triggers ---- */

struct cat_trigger *table_trigger(const struct cat_table *t, const char *name)
{
	for (size_t i = 0; i < t->ntrigs; i++)
		if (!strcmp(t->trigs[i].name, name))
			return &t->trigs[i];
	return NULL;
}

static void trigger_release(struct cat_trigger *tg)
{
	free(tg->name);
	free(tg->timing);
	free(tg->level);
	free(tg->function);
	strv_release(&tg->events);
	strv_release(&tg->columns);
	strv_release(&tg->writes);
}

struct cat_trigger *table_add_trigger(struct cat_table *t, const char *name)
{
	table_drop_trigger(t, name);
	struct cat_trigger tg = {0};
	tg.name = xstrdup(name);
	tg.timing = xstrdup("after");
	tg.level = xstrdup("statement");
	tg.function = xstrdup("");
	PUSH(t->trigs, t->ntrigs, tg);
	return &t->trigs[t->ntrigs - 1];
}

int table_drop_trigger(struct cat_table *t, const char *name)
{
	struct cat_trigger *tg = table_trigger(t, name);
	if (!tg)
		return -1;
	size_t at = (size_t)(tg - t->trigs);
	trigger_release(tg);
	memmove(t->trigs + at, t->trigs + at + 1, (t->ntrigs - at - 1) * sizeof(*t->trigs));
	t->ntrigs--;
	return 0;
}

void cat_triggers_release(struct cat_table *t)
{
	for (size_t i = 0; i < t->ntrigs; i++)
		trigger_release(&t->trigs[i]);
	free(t->trigs);
	t->trigs = NULL;
	t->ntrigs = 0;
}

/* ---- domains ---- */

struct cat_domain *catalog_domain(const struct catalog *c, const char *schema, const char *name)
{
	for (size_t i = 0; i < c->ndomains; i++)
		if (!strcmp(c->domains[i]->schema, schema) && !strcmp(c->domains[i]->name, name))
			return c->domains[i];
	return NULL;
}

struct cat_domain *catalog_domain_of_type(const struct catalog *c, const char *type)
{
	for (size_t i = 0; type && i < c->ndomains; i++) {
		char *ty = cat_type_name(c->domains[i]->schema, c->domains[i]->name, false);
		bool same = !strcmp(ty, type);
		free(ty);
		if (same)
			return c->domains[i];
	}
	return NULL;
}

struct cat_domain *catalog_add_domain(struct catalog *c, const char *schema, const char *name)
{
	struct cat_domain *d = xcalloc(1, sizeof(*d));
	d->schema = xstrdup(schema);
	d->name = xstrdup(name);
	d->qname = cat_qname(schema, name);
	set_str(&d->base_type, "unknown");
	PUSH(c->domains, c->ndomains, d);
	return d;
}

static void domain_free(struct cat_domain *d)
{
	free(d->schema);
	free(d->name);
	free(d->qname);
	free(d->base_type);
	strv_release(&d->check_names);
	strv_release(&d->checks);
	free(d);
}

void catalog_drop_domain(struct catalog *c, struct cat_domain *d)
{
	for (size_t i = 0; i < c->ndomains; i++)
		if (c->domains[i] == d) {
			memmove(c->domains + i, c->domains + i + 1, (c->ndomains - i - 1) * sizeof(*c->domains));
			c->ndomains--;
			break;
		}
	domain_free(d);
}

bool domain_has_constraints(const struct cat_domain *d)
{
	return d->not_null || d->checks.n > 0;
}

/* ---- the catalog's share ---- */

void cat_code_release(struct catalog *c)
{
	for (size_t i = 0; i < c->nfunctions; i++)
		function_free(c->functions[i]);
	for (size_t i = 0; i < c->ndomains; i++)
		domain_free(c->domains[i]);
	free(c->functions);
	free(c->domains);
	c->functions = NULL;
	c->domains = NULL;
	c->nfunctions = c->ndomains = 0;
}

static void rename_in(struct strv *sv, const char *from, const char *to)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], from))
			set_str(&sv->v[i], to);
}

void cat_code_rename_refs(struct catalog *c, const char *from, const char *to)
{
	for (size_t i = 0; i < c->nfunctions; i++)
		rename_in(&c->functions[i]->writes, from, to);
	for (size_t i = 0; i < c->ntables; i++)
		for (size_t k = 0; k < c->tables[i]->ntrigs; k++)
			rename_in(&c->tables[i]->trigs[k].writes, from, to);
}
