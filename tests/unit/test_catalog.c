/* Unit tests for common/strmap and the catalog's lookups by name: every
 * lookup answers what a linear search of the arrays answers, through adds,
 * drops, renames, direct renames with catalog_touch, and colliding keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "msg.h"
#include "strmap.h"
#include "tap.h"
#include "xalloc.h"

/* strmap against a plain array of (key, present) as the reference */
static void test_strmap(void)
{
	enum { N = 5000 };
	struct strmap m = STRMAP_INIT;
	static char keys[N][16];
	static int present[N];
	for (int i = 0; i < N; i++)
		snprintf(keys[i], sizeof(keys[i]), "k%d", i * 7919 % 100003);
	OK(strmap_get(&m, "k1") == NULL, "strmap: empty map finds nothing");
	for (int i = 0; i < N; i++) {
		strmap_put(&m, keys[i], keys[i]);
		present[i] = 1;
	}
	/* delete every third, then every fifth of the rest, re-add some */
	for (int i = 0; i < N; i += 3) {
		void *v = strmap_del(&m, keys[i]);
		if (v != keys[i])
			break;
		present[i] = 0;
	}
	for (int i = 1; i < N; i += 5)
		if (present[i]) {
			strmap_del(&m, keys[i]);
			present[i] = 0;
		}
	for (int i = 0; i < N; i += 9) {
		strmap_put(&m, keys[i], keys[i]);
		present[i] = 1;
	}
	int wrong = 0;
	size_t count = 0;
	for (int i = 0; i < N; i++) {
		void *v = strmap_get(&m, keys[i]);
		wrong += present[i] ? v != keys[i] : v != NULL;
		count += present[i];
	}
	OK(wrong == 0, "strmap: %d keys agree with the reference after puts and deletes (%d wrong)",
	   N, wrong);
	OK(m.n == count, "strmap: count %zu == %zu", m.n, count);
	OK(strmap_del(&m, "absent") == NULL, "strmap: deleting an absent key returns NULL");
	strmap_put(&m, keys[0], keys[1]);
	OK(strmap_get(&m, keys[0]) == keys[1], "strmap: put replaces the value");
	strmap_release(&m);
	OK(m.n == 0 && strmap_get(&m, keys[0]) == NULL, "strmap: released map is empty");
}

static struct cat_table *linear_table(const struct catalog *c, const char *s, const char *n)
{
	for (size_t i = 0; i < c->ntables; i++)
		if (!strcmp(c->tables[i]->schema, s) && !strcmp(c->tables[i]->name, n))
			return c->tables[i];
	return NULL;
}

static struct cat_index *linear_index(const struct catalog *c, const char *s, const char *n)
{
	for (size_t i = 0; i < c->nindexes; i++)
		if (!strcmp(c->indexes[i]->schema, s) && !strcmp(c->indexes[i]->name, n))
			return c->indexes[i];
	return NULL;
}

/* every table and index name ever used, looked up both ways */
static int disagreements(const struct catalog *c, int ntab)
{
	int bad = 0;
	char n[64];
	const char *schemas[] = {"public", "app", "a.b", "a"};
	for (int s = 0; s < 4; s++)
		for (int i = 0; i < ntab; i++) {
			snprintf(n, sizeof(n), "t%d", i);
			bad += catalog_table(c, schemas[s], n) != linear_table(c, schemas[s], n);
			snprintf(n, sizeof(n), "r%d", i);
			bad += catalog_table(c, schemas[s], n) != linear_table(c, schemas[s], n);
			snprintf(n, sizeof(n), "t%d_idx", i);
			bad += catalog_index(c, schemas[s], n) != linear_index(c, schemas[s], n);
		}
	bad += catalog_table(c, "a", "b.t1") != linear_table(c, "a", "b.t1");
	bad += catalog_table(c, "a.b", "t1") != linear_table(c, "a.b", "t1");
	return bad;
}

static void test_lookups(void)
{
	enum { T = 400 };
	struct catalog c;
	catalog_init(&c);
	char n[64], q[80];
	for (int i = 0; i < T; i++) {
		snprintf(n, sizeof(n), "t%d", i);
		catalog_add_table(&c, i % 2 ? "public" : "app", n);
		snprintf(q, sizeof(q), "%s.t%d", i % 2 ? "public" : "app", i);
		snprintf(n, sizeof(n), "t%d_idx", i);
		catalog_add_index(&c, i % 2 ? "public" : "app", n, q);
		if (i) {
			char ref[80];
			snprintf(ref, sizeof(ref), "%s.t%d", (i - 1) % 2 ? "public" : "app", i - 1);
			struct cat_fk *fk = catalog_add_fk(&c, q, "fk");
			free(fk->ref_table);
			fk->ref_table = xstrdup(ref);
		}
	}
	OK(disagreements(&c, T) == 0, "catalog: %d tables and indexes found as a linear search finds them", T);
	OK(catalog_add_table(&c, "public", "t1") == NULL, "catalog: a taken table name is refused");

	/* a duplicate index name, then drop the first: the second is found */
	struct cat_index *first = catalog_index(&c, "public", "t1_idx");
	struct cat_index *dup = catalog_add_index(&c, "public", "t1_idx", "public.t3");
	OK(catalog_index(&c, "public", "t1_idx") == first, "catalog: with a duplicate index name, the first is found");
	catalog_drop_index(&c, first);
	OK(catalog_index(&c, "public", "t1_idx") == dup, "catalog: dropping it, the duplicate is found");

	/* colliding keys: schema "a.b" table "t1" and schema "a" table "b.t1" */
	struct cat_table *x = catalog_add_table(&c, "a.b", "t1"), *y = catalog_add_table(&c, "a", "b.t1");
	OK(x && y && catalog_table(&c, "a.b", "t1") == x && catalog_table(&c, "a", "b.t1") == y,
	   "catalog: colliding qnames a.b|t1 and a|b.t1 are told apart");

	/* drops and renames, some in the catalog, some direct with touch */
	for (int i = 0; i < T; i += 7)
		catalog_drop_table(&c, catalog_table(&c, i % 2 ? "public" : "app", (snprintf(n, sizeof(n), "t%d", i), n)), false);
	OK(disagreements(&c, T) == 0, "catalog: after dropping every 7th table");
	for (int i = 3; i < T; i += 11) {
		struct cat_table *t = catalog_table(&c, i % 2 ? "public" : "app", (snprintf(n, sizeof(n), "t%d", i), n));
		if (!t)
			continue;
		snprintf(n, sizeof(n), "r%d", i);
		catalog_rename_table(&c, t, i % 3 ? t->schema : "a", n);
	}
	OK(disagreements(&c, T) == 0, "catalog: after renaming and moving tables");
	struct cat_index *ix = catalog_index(&c, "public", "t5_idx");
	free(ix->name);
	ix->name = xstrdup("t6_idx"); /* as replay renames an index */
	catalog_touch(&c);
	OK(disagreements(&c, T) == 0 && catalog_index(&c, "public", "t6_idx") != NULL,
	   "catalog: a direct rename followed by catalog_touch");

	/* constraint names: foreign keys, checks, constraint indexes, as a
	 * linear search of the arrays says */
	struct cat_check *ck = catalog_add_check(&c, "public.t7", "t7_name_check", "name <> ''");
	int bad = 0;
	const char *probe[] = {"fk", "t7_name_check", "t1_idx", "t3_idx", "nope", "t6_idx"};
	const char *schemas[] = {"public", "app", "a"};
	for (int round = 0; round < 2; round++) {
		for (size_t p = 0; p < 6; p++)
			for (size_t sc = 0; sc < 3; sc++) {
				bool want = false;
				size_t ns = strlen(schemas[sc]);
				for (size_t i = 0; i < c.nindexes; i++)
					want |= c.indexes[i]->constraint && !strcmp(c.indexes[i]->constraint, probe[p]) &&
						!strcmp(c.indexes[i]->schema, schemas[sc]);
				for (size_t i = 0; i < c.nfks; i++)
					want |= !strcmp(c.fks[i]->name, probe[p]) && !strncmp(c.fks[i]->table, schemas[sc], ns) &&
						c.fks[i]->table[ns] == '.';
				for (size_t i = 0; i < c.nchecks; i++)
					want |= !strcmp(c.checks[i]->name, probe[p]) &&
						!strncmp(c.checks[i]->table, schemas[sc], ns) && c.checks[i]->table[ns] == '.';
				bad += catalog_constraint_exists(&c, schemas[sc], probe[p]) != want;
			}
		struct cat_index *t3 = catalog_index(&c, "app", "t4_idx");
		if (t3) {
			free(t3->constraint);
			t3->constraint = xstrdup(t3->name); /* as replay marks a constraint's index */
		}
		if (round == 0)
			catalog_drop_check(&c, ck);
	}
	OK(bad == 0, "catalog: constraint names found as a linear search finds them (%d wrong)", bad);

	/* foreign keys of a table follow renames and drops */
	size_t nfk;
	struct cat_table *r = catalog_table(&c, "public", "r25");
	struct cat_fk *const *fks = r ? catalog_fks_of(&c, r->qname, &nfk) : NULL;
	OK(r && nfk == 1 && !strcmp(fks[0]->ref_table, "app.t24"), "catalog: a renamed table keeps its foreign key");
	catalog_drop_fk(&c, fks[0]);
	fks = catalog_fks_of(&c, r->qname, &nfk);
	OK(nfk == 0, "catalog: a dropped foreign key is gone from catalog_fks_of");
	size_t total = 0, listed = 0;
	for (size_t i = 0; i < c.ntables; i++) {
		catalog_fks_of(&c, c.tables[i]->qname, &nfk);
		listed += nfk;
	}
	for (size_t i = 0; i < c.nfks; i++)
		total += catalog_table_q(&c, c.fks[i]->table) != NULL;
	OK(listed == total, "catalog: catalog_fks_of lists every foreign key of existing tables (%zu)", total);
	catalog_release(&c);
}

/* renames in place keep the maps in step: the new name is found, the old
 * one is not, with no catalog_touch */
static void test_renames(void)
{
	struct catalog c;
	catalog_init(&c);
	catalog_add_table(&c, "public", "t");
	struct cat_index *ix = catalog_add_index(&c, "public", "t_idx", "public.t");
	struct cat_view *v = catalog_add_view(&c, "public", "v");
	struct cat_enum *e = catalog_add_enum(&c, "public", "mood");
	struct cat_fk *fk = catalog_add_fk(&c, "public.t", "t_fk");
	struct cat_check *ck = catalog_add_check(&c, "public.t", "t_ck", "x > 0");
	/* a lookup first, so the maps are built and live */
	OK(catalog_index(&c, "public", "t_idx") == ix && catalog_view(&c, "public", "v") == v &&
		   catalog_enum(&c, "public", "mood") == e && catalog_constraint_exists(&c, "public", "t_fk"),
	   "catalog renames: everything found under its first name");
	catalog_rename_index(&c, ix, "t_idx2");
	catalog_rename_view(&c, v, "v2");
	catalog_rename_enum(&c, e, "app", "feeling");
	catalog_rename_fk(&c, fk, "t_fk2");
	catalog_rename_check(&c, ck, "t_ck2");
	OK(catalog_index(&c, "public", "t_idx2") == ix && !catalog_index(&c, "public", "t_idx"),
	   "catalog renames: an index under its new name only");
	OK(catalog_view(&c, "public", "v2") == v && !catalog_view(&c, "public", "v") && !strcmp(v->qname, "public.v2"),
	   "catalog renames: a view under its new name only, its qname too");
	OK(catalog_enum(&c, "app", "feeling") == e && !catalog_enum(&c, "public", "mood") && !strcmp(e->qname, "app.feeling"),
	   "catalog renames: an enum under its new schema and name only");
	OK(catalog_constraint_exists(&c, "public", "t_fk2") && !catalog_constraint_exists(&c, "public", "t_fk") &&
		   catalog_constraint_exists(&c, "public", "t_ck2") && !catalog_constraint_exists(&c, "public", "t_ck"),
	   "catalog renames: a foreign key and a check under their new names only");
	catalog_rename_index(&c, ix, ix->name); /* to itself: the name aliases the object's own */
	OK(catalog_index(&c, "public", "t_idx2") == ix, "catalog renames: renaming to its own name keeps it");
	catalog_release(&c);
}

int main(int argc, char **argv)
{
	(void)argc;
	msg_set_prog(argv[0]);
	test_strmap();
	test_lookups();
	test_renames();
	return tap_done();
}
