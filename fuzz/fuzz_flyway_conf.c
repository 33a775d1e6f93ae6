/*
 * fuzz_flyway_conf — flyway.conf and flyway.toml as common/flyway.c reads
 * them (the file is included whole, as tests/unit/test_flyway.c does, to
 * reach its static parsers). The first byte picks the format (odd: TOML);
 * the rest is the file. The settings read then drive what they drive in a
 * real run: the migration naming (prefixes, separator, suffixes) applied to
 * a set of file names, the locations, and the placeholders expanded in a
 * script. TOML syntax errors, colliding versions and unknown placeholders
 * are errors returned (EXIT_INPUT; common/ never exits, so no FUZZ_RUN);
 * nothing may crash, hang or leak, on the error paths either.
 */
#include "../common/flyway.c"

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	"V1__init.sql",
	"V1.1__add_x.sql",
	"V2_0_1__more.SQL",
	"R__views.sql",
	"U2__undo.sql",
	"B1.1__baseline.sql",
	"V3__a.psql",
	"Vx__not.sql",
	"V10__ten.sql",
	"ver4-four.sql",
	"M5__m.sql",
	"R__other_view.sql",
	"V 6__space.sql",
	"V7__.sql",
	"V8.sql",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	msg_set_prog("fuzz_flyway_conf");
	xalloc_init_cjson();
	setenv("FLYWAY_FUZZ", "from-env", 1);
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	return 0;
}

static void use(struct fw_conf *cf)
{
	struct fw_naming nm;
	struct fw_list all = {0}, v = {0}, b = {0}, r = {0};
	struct flyway_set set;
	struct strv locs = STRV_INIT;
	memset(&set, 0, sizeof(set));
	struct msg_err err = MSG_ERR_INIT;
	int rc = 0;
	naming_init(&nm, cf);
	for (size_t i = 0; i < sizeof(names) / sizeof(*names) && !rc; i++)
		rc = consider_file(&nm, names[i], names[i], &all, &err);
	split(&all, &v, &b, &r);
	if (rc || order("<fuzz>", &v, false, &err) < 0 || order("<fuzz>", &b, false, &err) < 0 ||
	    order("<fuzz>", &r, true, &err) < 0) {
		list_free(&v), list_free(&b), list_free(&r);
		strv_release(&nm.suffixes);
		err_release(&err);
		return;
	}
	fill(&set, &v, &b, &r);
	free(v.v), free(b.v), free(r.v);
	strv_release(&nm.suffixes);
	cf->in_dir = true;
	locations(cf, "/nonexistent-fuzz-dir", &locs);
	strv_release(&locs);
	placeholders_init(&set, cf);
	struct buf text = BUF_INIT;
	buf_adds(&text, "SELECT 1;\n");
	for (size_t i = 0; i < set.placeholder_keys.n; i++)
		if (strncmp(set.placeholder_keys.v[i], "flyway:", 7))
			buf_addf(&text, "-- %s%s%s\n", set.placeholder_prefix, set.placeholder_keys.v[i],
				 set.placeholder_suffix);
	buf_addf(&text, "%sflyway:filename%s %sflyway:timestamp%s %sflyway:defaultSchema%s\n",
		 set.placeholder_prefix, set.placeholder_suffix, set.placeholder_prefix,
		 set.placeholder_suffix, set.placeholder_prefix, set.placeholder_suffix);
	char *out = flyway_expand(&set, "V1__init.sql", text.s, &err);
	free(out);
	err_release(&err);
	buf_release(&text);
	flyway_release(&set);
}

static void run(bool toml, const char *text)
{
	struct fw_conf cf;
	memset(&cf, 0, sizeof(cf));
	if (toml) {
		struct strv keys = STRV_INIT, vals = STRV_INIT;
		struct msg_err err = MSG_ERR_INIT;
		bool ok = toml_parse("flyway.toml", text, &keys, &vals, &err) == 0;
		if (ok)
			toml_settings(&cf, &keys, &vals);
		strv_release(&keys);
		strv_release(&vals);
		err_release(&err);
		if (!ok) {
			conf_release(&cf);
			return;
		}
	} else {
		conf_parse(&cf, text);
	}
	use(&cf);
	conf_release(&cf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	char *text = fuzz_cstr(data + 1, size - 1);
	run(data[0] & 1, text);
	free(text);
	return 0;
}
