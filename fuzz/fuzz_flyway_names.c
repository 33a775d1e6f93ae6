/*
 * fuzz_flyway_names — Flyway migration file names and versions
 * (common/flyway.c, included whole for its static helpers): the input is
 * an optional flyway.conf text, a line "---", then one file name per line
 * (or only names). Each name goes through consider_file (name_parse,
 * version_valid), then the lists are split, ordered and filled as
 * flyway_collect does. A bad version or two migrations Flyway would take
 * for one are errors returned (EXIT_INPUT). Properties checked: the version comparison
 * is a consistent order (antisymmetric, reflexive), and the set comes out
 * in strictly increasing version order.
 */
#include "../common/flyway.c"

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	msg_set_prog("fuzz_flyway_names");
	xalloc_init_cjson();
	return 0;
}

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

static void check_order(const struct fw_list *l)
{
	for (size_t i = 0; i < l->n && i < 24; i++)
		for (size_t j = 0; j < l->n && j < 24; j++) {
			const char *a = l->v[i].version, *b = l->v[j].version;
			if (!a || !b)
				continue;
			if (sign(flyway_compare_versions(a, b)) != -sign(flyway_compare_versions(b, a)) ||
			    flyway_compare_versions(a, a)) {
				fprintf(stderr, "flyway_compare_versions is not an order: '%s' '%s'\n", a, b);
				abort();
			}
		}
}

static void run(char *text)
{
	struct fw_conf cf;
	struct fw_naming nm;
	struct fw_list all = {0}, v = {0}, b = {0}, r = {0};
	struct flyway_set set;
	struct msg_err err = MSG_ERR_INIT;
	int rc = 0;
	memset(&cf, 0, sizeof(cf));
	memset(&set, 0, sizeof(set));
	char *names = text, *sep = strstr(text, "\n---\n");
	if (sep) {
		*sep = '\0';
		conf_parse(&cf, text);
		names = sep + 5;
	}
	naming_init(&nm, &cf);
	for (char *line = names; *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (*line && !strchr(line, '/')) {
			char *path = xasprintf("db/migration/%s", line);
			rc = consider_file(&nm, path, line, &all, &err);
			free(path);
		}
		if (!nl || rc)
			break;
		line = nl + 1;
	}
	check_order(&all);
	split(&all, &v, &b, &r);
	if (rc || order("db/migration", &v, false, &err) < 0 || order("db/migration", &b, false, &err) < 0 ||
	    order("db/migration", &r, true, &err) < 0) {
		list_free(&v), list_free(&b), list_free(&r);
		strv_release(&nm.suffixes);
		conf_release(&cf);
		err_release(&err);
		return;
	}
	fill(&set, &v, &b, &r);
	for (size_t i = 1; i < set.n; i++)
		if (set.files[i - 1].version && set.files[i].version &&
		    flyway_compare_versions(set.files[i - 1].version, set.files[i].version) >= 0) {
			fprintf(stderr, "out of order: %s before %s\n", set.files[i - 1].version,
				set.files[i].version);
			abort();
		}
	free(v.v), free(b.v), free(r.v);
	strv_release(&nm.suffixes);
	flyway_release(&set);
	conf_release(&cf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	run(text);
	free(text);
	return 0;
}
