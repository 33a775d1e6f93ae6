/*
 * test_flyway — unit tests for common/flyway.c (included whole, so
 * that its static helpers can be tested too): version comparison, migration
 * names, flyway.conf and flyway.toml, placeholders, discovery and order,
 * and the errors (in a child process, checking exit code and message).
 * Prints TAP. The corpus checks are skipped when ../shared/corpus is absent.
 */
#include "../../common/flyway.c"

#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <sys/wait.h>

static struct msg_err test_err = MSG_ERR_INIT; /* errors where none is expected */
static int ntest, nfail;

static void ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ok: one TAP line. */
static void ok(bool cond, const char *fmt, ...)
{
	va_list ap;
	printf("%sok %d - ", cond ? "" : "not ", ++ntest);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	nfail += !cond;
}

/* is_str: ok when got equals want (both may be NULL), else a diagnostic. */
static void is_str(const char *got, const char *want, const char *name)
{
	bool same = got && want ? !strcmp(got, want) : got == want;
	ok(same, "%s", name);
	if (!same)
		printf("#      got: '%s'\n# expected: '%s'\n", got ? got : "(null)", want ? want : "(null)");
}

/* A call that is expected to die: fn(arg) runs in a child process whose
 * stderr is captured. */
struct death {
	int code;
	char err[2048];
};

static void run_dying(void (*fn)(void *), void *arg, struct death *d)
{
	int fd[2];
	fflush(stdout);
	if (pipe(fd) != 0)
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd[1], 2);
		close(fd[0]);
		fn(arg);
		_exit(0);
	}
	close(fd[1]);
	ssize_t n, len = 0;
	while ((n = read(fd[0], d->err + len, sizeof(d->err) - 1 - (size_t)len)) > 0)
		len += n;
	d->err[len] = '\0';
	close(fd[0]);
	int st;
	waitpid(pid, &st, 0);
	d->code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* dies: ok when fn(arg) exits with code and its stderr contains want. */
static void dies(void (*fn)(void *), void *arg, int code, const char *want, const char *name)
{
	struct death d;
	run_dying(fn, arg, &d);
	bool good = d.code == code && strstr(d.err, want);
	ok(good, "%s", name);
	if (!good)
		printf("# exit %d, stderr: %s# expected exit %d and: %s\n", d.code, d.err, code, want);
}

/* ---------- a scratch folder ---------- */

static char scratch[] = "/tmp/test_flyway.XXXXXX";

/* put: write text to scratch/rel, creating its folders. */
static void put(const char *rel, const char *text)
{
	char *path = path_join(scratch, rel);
	for (char *p = path + strlen(scratch) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
	free(path);
}

/* quiet/loud: stderr off and back on around a call that warns. */
static int quiet(void)
{
	int saved = dup(2), null = open("/dev/null", O_WRONLY);
	fflush(stderr);
	dup2(null, 2);
	close(null);
	return saved;
}

static void loud(int saved)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

static char *at(const char *rel)
{
	return path_join(scratch, rel);
}

/* ---------- versions ---------- */

static void test_versions(void)
{
	ok(flyway_compare_versions("1.10", "1.9") > 0, "1.10 > 1.9");
	ok(flyway_compare_versions("6.5.0.10", "6.5.0.2") > 0, "6.5.0.10 > 6.5.0.2");
	ok(!flyway_compare_versions("1", "1.0") && !flyway_compare_versions("1.0", "1_0") &&
		   !flyway_compare_versions("1_0", "001") && !flyway_compare_versions("001", "1.0.0"),
	   "1 == 1.0 == 1_0 == 001 == 1.0.0");
	ok(flyway_compare_versions("2023.10.19.1", "2.20230821134818") > 0,
	   "2023.10.19.1 > 2.20230821134818");
	ok(flyway_compare_versions("1.99999999999999999999999", "1.9999999999999999999999") > 0 &&
		   flyway_compare_versions("0.000123456789012345678901", "0.123456789012345678901") == 0,
	   "parts beyond 64 bits compare as integers, leading zeros ignored");
	ok(flyway_compare_versions("1.2", "1.2.0.1") < 0 && flyway_compare_versions("2", "1.9.9") > 0,
	   "missing parts count as zero");
	ok(version_valid("1") && version_valid("7.0_2019_06_14") && !version_valid("1.") &&
		   !version_valid("1..2") && !version_valid(".1") && !version_valid("1.2a") &&
		   !version_valid("") && !version_valid("-1"),
	   "version syntax: digits separated by single dots or underscores");
}

/* ---------- names ---------- */

/* name_is: parse name with the default naming and compare kind, version
 * (raw) and description. */
static void name_is(const struct fw_naming *nm, const char *name, enum fw_kind kind,
		    const char *version, const char *desc)
{
	char *v = NULL, *d = NULL;
	enum fw_kind k = name_parse(nm, name, &v, &d);
	bool good = k == kind && (kind == FW_NONE || (!strcmp(v, version) && !strcmp(d, desc)));
	ok(good, "name %s", name);
	if (!good)
		printf("# got kind %d version '%s' description '%s'\n", k, v ? v : "", d ? d : "");
	free(v);
	free(d);
}

static void test_names(void)
{
	struct fw_conf cf = {0};
	struct fw_naming nm;
	naming_init(&nm, &cf);
	name_is(&nm, "V1_1__add_soft_delete.sql", FW_VERSIONED, "1_1", "add soft delete");
	name_is(&nm, "R__refresh_views.sql", FW_REPEATABLE, "", "refresh views");
	name_is(&nm, "U2__undo_x.sql", FW_UNDO, "2", "undo x");
	name_is(&nm, "B5__baseline.sql", FW_BASELINE, "5", "baseline");
	name_is(&nm, "V6.5.0.10.sql", FW_VERSIONED, "6.5.0.10", "");
	name_is(&nm, "V1.0.0.7.0__sources.sql.sql", FW_VERSIONED, "1.0.0.7.0", "sources.sql");
	name_is(&nm, "V2__Upper_Case.SQL", FW_VERSIONED, "2", "Upper Case");
	name_is(&nm, "V3__a__b.sql", FW_VERSIONED, "3", "a  b");
	name_is(&nm, "update-sequences.sql", FW_NONE, NULL, NULL);
	name_is(&nm, "1.0.0.1__schema-drop_spring_batch.sql", FW_NONE, NULL, NULL);
	name_is(&nm, "v1__lower_prefix.sql", FW_NONE, NULL, NULL);
	name_is(&nm, "V1__x.txt", FW_NONE, NULL, NULL);
	name_is(&nm, "R1__versioned_repeatable.sql", FW_NONE, NULL, NULL);
	name_is(&nm, "V__no_version.sql", FW_NONE, NULL, NULL);
	name_is(&nm, "beforeMigrate.sql", FW_NONE, NULL, NULL);
	strv_release(&nm.suffixes);

	kv_set(&cf.keys, &cf.vals, "sqlMigrationPrefix", "M", false);
	kv_set(&cf.keys, &cf.vals, "repeatableSqlMigrationPrefix", "RM", false);
	kv_set(&cf.keys, &cf.vals, "sqlMigrationSeparator", "-", false);
	kv_set(&cf.keys, &cf.vals, "sqlMigrationSuffixes", ".psql, .pgsql", false);
	naming_init(&nm, &cf);
	name_is(&nm, "M1.2-custom_naming.PGSQL", FW_VERSIONED, "1.2", "custom naming");
	name_is(&nm, "RM-views.psql", FW_REPEATABLE, "", "views");
	name_is(&nm, "M1__x.sql", FW_NONE, NULL, NULL);
	strv_release(&nm.suffixes);
	conf_release(&cf);
}

/* ---------- configuration ---------- */

static void test_conf(void)
{
	struct fw_conf cf = {0};
	setenv("TEST_FLYWAY_SCHEMA", "from_env", 1);
	conf_parse(&cf, "# a comment\n"
			"! another\n"
			"  flyway.locations = filesystem:sql, \\\n"
			"      filesystem:more\n"
			"flyway.placeholders.Schema: ${TEST_FLYWAY_SCHEMA}\n"
			"flyway.placeholders.unset=${TEST_FLYWAY_NOT_SET}x\n"
			"flyway.placeholders.path=C:\\temp\\dir\n"
			"flyway.password=secret\n"
			"other.key=ignored\n"
			"# flyway.table=commented \\\n"
			"flyway.table history\r\n");
	struct strv locs = STRV_INIT;
	conf_list(&cf, "locations", NULL, &locs);
	ok(locs.n == 2 && !strcmp(locs.v[0], "filesystem:sql") && !strcmp(locs.v[1], "filesystem:more"),
	   "conf: continued comma list");
	is_str(conf_get(&cf, "placeholders.Schema", NULL), "from_env", "conf: key: value, ${ENV}");
	is_str(conf_get(&cf, "placeholders.unset", NULL), "x", "conf: unset ${ENV} is empty");
	is_str(conf_get(&cf, "placeholders.path", NULL), "C:\\temp\\dir", "conf: backslashes are literal");
	is_str(conf_get(&cf, "table", NULL), "history",
	       "conf: blank separator, CRLF, comment not continued");
	ok(!conf_get(&cf, "password", NULL) && !conf_get(&cf, "other.key", NULL) && cf.keys.n == 5,
	   "conf: password and non-flyway keys are not kept");
	strv_release(&locs);
	conf_release(&cf);
}

static const char toml_sample[] =
	"# Flyway Desktop writes root keys\n"
	"id = \"2d8c6c1e\"\n"
	"databaseType = 'PostgreSql'\n"
	"[flywayDesktop]\n"
	"developmentEnvironment = \"development\"\n"
	"  [flywayDesktop.generate]\n"
	"  undoScripts = true\n"
	"[redgateCompare.postgresql.options.ignores]\n"
	"ignoreNewlinesInTextObjects = \"off\"\n"
	"[flyway]\n"
	"environment = \"dev\"  # the one to use\n"
	"locations = [\n"
	"  \"filesystem:migrations\", # first\n"
	"  'filesystem:C:\\seed',\n"
	"]\n"
	"sqlMigrationSuffixes = [\".sql\", \".pgsql\"]\n"
	"outOfOrder = true\n"
	"connectRetries = 1_000\n"
	"validateOnMigrate = false\n"
	"baselineVersion = \"001_20230821140817\"\n"
	"placeholders.inline = { a = \"1\", b.c = 2 }\n"
	"\"quoted.key\" = 'lit'\n"
	"when = 1979-05-27 07:32:00Z\n"
	"nested = [[1, 2], [\"a\"], {x = 1}]\n"
	"[flyway.placeholders]\n"
	"schema = \"tab\\there \\u00e9\\\"q\\\"\"\n"
	"multi = \"\"\"\n"
	"line one\n"
	"line \\\n"
	"    two\"\"\"\n"
	"raw = '''C:\\no\\escapes'''\n"
	"fromEnv = \"${env.TEST_FLYWAY_USER}!\"\n"
	"[environments.default]\n"
	"url = \"jdbc:postgresql://localhost/wrong\"\n"
	"[environments.dev]\n"
	"url = \"jdbc:postgresql://db.example:5432/appdb?ssl=true\"\n"
	"user = \"${env.TEST_FLYWAY_USER}\"\n"
	"password = \"${env.TEST_FLYWAY_PASSWORD}\"\n"
	"schemas = [\"app\", \"audit\"]\n"
	"[environments.dev.flyway]\n"
	"sqlMigrationPrefix = \"M\"\n"
	"placeholders.schema = \"override\"\n"
	"[[products]]\n"
	"name = \"a\"\n"
	"[[products]]\n"
	"name = \"b\"\n";

static void test_toml(void)
{
	struct strv keys = STRV_INIT, vals = STRV_INIT;
	struct fw_conf cf = {0};
	setenv("TEST_FLYWAY_USER", "alice", 1);
	struct msg_err err = MSG_ERR_INIT;
	ok(toml_parse("flyway.toml", toml_sample, &keys, &vals, &err) == 0, "toml: the sample parses");
	is_str(kv_get(&keys, &vals, "flyway\x1f"
				    "locations",
		      false),
	       "filesystem:migrations,filesystem:C:\\seed",
	       "toml: multi-line array, comments, trailing comma, literal string");
	is_str(kv_get(&keys, &vals, "flyway\x1f"
				    "placeholders\x1f"
				    "schema",
		      false),
	       "tab\there \xc3\xa9\"q\"", "toml: basic string escapes");
	is_str(kv_get(&keys, &vals, "flyway\x1f"
				    "placeholders\x1f"
				    "multi",
		      false),
	       "line one\nline two",
	       "toml: multi-line basic string, line-ending backslash");
	is_str(kv_get(&keys, &vals, "flyway\x1f"
				    "placeholders\x1f"
				    "raw",
		      false),
	       "C:\\no\\escapes",
	       "toml: multi-line literal string");
	is_str(kv_get(&keys, &vals, "flyway\x1f"
				    "placeholders\x1f"
				    "inline\x1f"
				    "b\x1f"
				    "c",
		      false),
	       "2",
	       "toml: inline table with a dotted key");
	is_str(kv_get(&keys, &vals, "flyway\x1f"
				    "quoted.key",
		      false),
	       "lit", "toml: quoted key");
	is_str(kv_get(&keys, &vals, "flyway\x1f"
				    "when",
		      false),
	       "1979-05-27 07:32:00Z",
	       "toml: date-time");
	is_str(kv_get(&keys, &vals, "products\x1f"
				    "1\x1f"
				    "name",
		      false),
	       "b", "toml: array of tables");
	is_str(kv_get(&keys, &vals, "flywayDesktop\x1f"
				    "generate\x1f"
				    "undoScripts",
		      false),
	       "true",
	       "toml: indented sub-table, boolean");
	toml_settings(&cf, &keys, &vals);
	is_str(conf_get(&cf, "sqlMigrationPrefix", NULL), "M", "toml: [environments.X.flyway] overrides");
	is_str(conf_get(&cf, "placeholders.schema", NULL), "override",
	       "toml: environment placeholder wins");
	is_str(conf_get(&cf, "placeholders.fromEnv", NULL), "alice!", "toml: ${env.NAME}");
	is_str(conf_get(&cf, "url", NULL), "jdbc:postgresql://db.example:5432/appdb?ssl=true",
	       "toml: the chosen environment's url");
	is_str(conf_get(&cf, "schemas", NULL), "app,audit", "toml: environment schemas");
	ok(!conf_get(&cf, "password", NULL), "toml: password is not kept");
	strv_release(&keys);
	strv_release(&vals);
	conf_release(&cf);
}

static void parse_toml_arg(void *arg)
{
	struct strv keys = STRV_INIT, vals = STRV_INIT;
	struct msg_err err = MSG_ERR_INIT;
	if (toml_parse("bad.toml", arg, &keys, &vals, &err) < 0)
		die_err(&err);
}

static void test_toml_errors(void)
{
	dies(parse_toml_arg, "[flyway]\nlocations = [\"a\"\n\nx = 1\n", EXIT_INPUT,
	     "schema2dag: bad.toml:4: TOML syntax error", "toml: unclosed array names file:line");
	dies(parse_toml_arg, "[flyway]\n\nlocations = sql\n", EXIT_INPUT,
	     "bad.toml:3: TOML syntax error: not a value", "toml: bare word value");
	dies(parse_toml_arg, "a = \"x\n", EXIT_INPUT, "bad.toml:1: TOML syntax error: unterminated string",
	     "toml: unterminated string");
	dies(parse_toml_arg, "[flyway]\nx = 1\n[flyway]\nx = 2\n", EXIT_INPUT,
	     "bad.toml:4: TOML: key flyway.x is defined twice", "toml: duplicate key");
	dies(parse_toml_arg, "a = 1 b = 2\n", EXIT_INPUT,
	     "bad.toml:1: TOML syntax error: expected the end",
	     "toml: two values on a line");
	dies(parse_toml_arg, "a = \"\\q\"\n", EXIT_INPUT, "invalid escape", "toml: bad escape");
}

/* ---------- placeholders ---------- */

static void expand_arg(void *arg)
{
	struct flyway_set *set = arg;
	struct msg_err err = MSG_ERR_INIT;
	if (!flyway_expand(set, "dir/V2__x.sql", "select 1;\n-- ${known}\nselect '${Missing}';\n", &err))
		die_err(&err);
}

static void test_placeholders(void)
{
	struct flyway_set set = {0};
	struct fw_conf cf = {0};
	kv_set(&cf.keys, &cf.vals, "placeholders.ohdsiSchema", "webapi", false);
	kv_set(&cf.keys, &cf.vals, "placeholders.known", "k", false);
	kv_set(&cf.keys, &cf.vals, "schemas", "app, audit", false);
	kv_set(&cf.keys, &cf.vals, "url", "jdbc:postgresql://h:5432/shop", false);
	kv_set(&cf.keys, &cf.vals, "user", "bob", false);
	placeholders_init(&set, &cf);
	char *s = flyway_expand(&set, "db/V1__x.sql",
				"create table ${ohdsiSchema}.a (); ${OHDSISCHEMA} ${flyway:defaultSchema} "
				"${flyway:user}@${flyway:database} ${flyway:table} ${flyway:filename} ${open",
				&test_err);
	is_str(s, "create table webapi.a (); webapi app bob@shop flyway_schema_history V1__x.sql ${open",
	       "expand: names case-insensitive, built-ins, unclosed prefix kept");
	free(s);
	setenv("SOURCE_DATE_EPOCH", "0", 1);
	s = flyway_expand(&set, "f.sql", "${flyway:timestamp}", &test_err);
	is_str(s, "1970-01-01 00:00:00", "expand: ${flyway:timestamp}");
	free(s);
	dies(expand_arg, &set, EXIT_INPUT,
	     "schema2dag: dir/V2__x.sql:3: no value provided for placeholder ${Missing}\n",
	     "expand: unknown placeholder names file and line");
	free(set.placeholder_prefix);
	free(set.placeholder_suffix);
	set.placeholder_prefix = xstrdup("#[");
	set.placeholder_suffix = xstrdup("]");
	s = flyway_expand(&set, "f.sql", "#[known] ${known}", &test_err);
	is_str(s, "k ${known}", "expand: placeholderPrefix/Suffix");
	free(s);
	set.placeholder_replacement = false;
	s = flyway_expand(&set, "f.sql", "#[unknown]", &test_err);
	is_str(s, "#[unknown]", "expand: placeholderReplacement=false leaves text alone");
	free(s);
	flyway_release(&set);
	conf_release(&cf);

	placeholders_init(&set, &cf);
	s = flyway_expand(&set, "f.sql", "${flyway:defaultSchema} ${flyway:table}", &test_err);
	is_str(s, "public flyway_schema_history", "expand: defaults of the built-ins");
	free(s);
	flyway_release(&set);
}

/* ---------- discovery and order ---------- */

/* files_are: the set's files, as paths relative to scratch joined by ' '. */
static void files_are(const struct flyway_set *set, const char *want, const char *name)
{
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < set->n; i++)
		buf_addf(&b, "%s%s", i ? " " : "", set->files[i].path + strlen(scratch) + 1);
	is_str(b.s, want, name);
	buf_release(&b);
}

static void test_collect(void)
{
	struct flyway_set set;
	put("a/V1.10__ten.sql", "");
	put("a/V1.9__nine.sql", "");
	put("a/sub/V1.2__two.sql", "");
	put("a/sub/deeper/V1_1_1__oneoneone.sql", "");
	put("a/.hidden/V9__hidden.sql", "");
	put("a/R__b_view.sql", "");
	put("a/R__a_view.sql", "");
	put("a/U1.9__undo.sql", "");
	put("a/update-sequences.sql", "");
	put("a/V1.9__nine.sql.conf", "");
	put("a/V2.sql", "");
	char *a = at("a");
	flyway_collect(&set, a, NULL, false, &test_err);
	files_are(&set,
		  "a/sub/deeper/V1_1_1__oneoneone.sql a/sub/V1.2__two.sql a/V1.9__nine.sql "
		  "a/V1.10__ten.sql a/V2.sql a/R__a_view.sql a/R__b_view.sql",
		  "collect: versions ascending, then repeatables; recursive, hidden folders skipped");
	is_str(set.latest_version, "2", "collect: latest_version");
	ok(set.files[0].version && !strcmp(set.files[0].version, "1.1.1") && !set.files[5].version &&
		   !strcmp(set.files[5].description, "a view"),
	   "collect: versions normalised, repeatables without one");
	ok(!set.conf_path, "collect: no config");
	flyway_release(&set);
	free(a);
}

static void test_baseline(void)
{
	struct flyway_set set;
	put("b/V1__one.sql", "");
	put("b/V2__two.sql", "");
	put("b/V3__three.sql", "");
	put("b/B1__base_one.sql", "");
	put("b/B2__base_two.sql", "");
	put("b/R__r.sql", "");
	char *b = at("b");
	flyway_collect(&set, b, NULL, false, &test_err);
	files_are(&set, "b/B2__base_two.sql b/V3__three.sql b/R__r.sql",
		  "baseline: latest B, then the versions above it, then repeatables");
	is_str(set.latest_version, "3", "baseline: latest_version");
	flyway_release(&set);
	put("c/B4__only.sql", "");
	free(b);
	b = at("c");
	flyway_collect(&set, b, NULL, false, &test_err);
	files_are(&set, "c/B4__only.sql", "baseline: a baseline alone");
	is_str(set.latest_version, "4", "baseline: its version is the latest");
	flyway_release(&set);
	free(b);
}

static void collect_arg(void *arg)
{
	struct flyway_set set;
	struct msg_err err = MSG_ERR_INIT;
	if (flyway_collect(&set, arg, NULL, false, &err) < 0)
		die_err(&err);
}

static void test_config_found(void)
{
	struct flyway_set set;
	put("proj/flyway.toml", "[flyway]\n"
				"locations = [\"filesystem:db/migration\", \"filesystem:missing\","
				" \"classpath:db/x\"]\n"
				"sqlMigrationPrefix = \"M\"\n"
				"[flyway.placeholders]\nschema = \"app\"\n");
	put("proj/db/migration/M1__one.sql", "");
	put("proj/other/M0__not_scanned.sql", "");
	put("proj/db/migration/V2__not_ours.sql", "");
	char *p = at("proj"), *loc = at("proj/db/migration");
	flyway_collect(&set, loc, NULL, false, &test_err);
	files_are(&set, "proj/db/migration/M1__one.sql", "config: found in a parent, its prefix used");
	char *want = path_join(p, "flyway.toml");
	is_str(set.conf_path, want, "config: conf_path names the flyway.toml found");
	free(want);
	char *s = flyway_expand(&set, "x.sql", "${schema}", &test_err);
	is_str(s, "app", "config: its placeholders");
	free(s);
	flyway_release(&set);
	int saved = quiet();
	flyway_collect(&set, p, NULL, false, &test_err);
	loud(saved);
	files_are(&set, "proj/db/migration/M1__one.sql",
		  "config: in the project root, its filesystem: locations are scanned");
	flyway_release(&set);
	dies(collect_arg, p, 0, "flyway.toml: location filesystem:missing: no such folder\n",
	     "config: a missing location is warned about");
	put("proj/db/migration/flyway.conf", "flyway.sqlMigrationPrefix=V\n");
	flyway_collect(&set, loc, NULL, false, &test_err);
	files_are(&set, "proj/db/migration/V2__not_ours.sql", "config: the nearest one wins");
	flyway_release(&set);
	char *explicit = at("proj/flyway.toml");
	flyway_collect(&set, loc, explicit, false, &test_err);
	files_are(&set, "proj/db/migration/M1__one.sql", "config: --conf wins over one found");
	is_str(set.conf_path, explicit, "config: conf_path is --conf");
	flyway_release(&set);
	free(explicit);
	free(p);
	free(loc);
}

static void test_collect_errors(void)
{
	char *d = at("dup");
	put("dup/V1__a.sql", "");
	put("dup/sub/V1.0__b.sql", "");
	char *want = xasprintf("schema2dag: %s: found more than one migration with version 1: "
			       "%s/V1__a.sql and %s/sub/V1.0__b.sql\n",
			       d, d, d);
	dies(collect_arg, d, EXIT_INPUT, want, "collision: V1 and V1.0, both named");
	free(want);
	free(d);
	d = at("dupr");
	put("dupr/R__same.sql", "");
	put("dupr/x/R__same.sql", "");
	dies(collect_arg, d, EXIT_INPUT,
	     "found more than one repeatable migration with description 'same'",
	     "collision: two repeatables with one description");
	free(d);
	d = at("badv");
	put("badv/V1.2a__typo.sql", "");
	want = xasprintf("schema2dag: %s/V1.2a__typo.sql: invalid version '1.2a'", d);
	dies(collect_arg, d, EXIT_INPUT, want, "a non-numeric version part names the file");
	free(want);
	free(d);
	d = at("empty");
	put("empty/README.txt", "");
	put("empty/V1__x.txt", "");
	dies(collect_arg, d, EXIT_INPUT, "no Flyway migrations found", "no migrations");
	free(d);
	d = at("missing");
	dies(collect_arg, d, EXIT_INPUT, "missing: No such file or directory", "a missing folder");
	free(d);
}

/* ---------- the corpora ---------- */

/* corpus_is: collect a corpus folder and check count, ends and latest. */
static void corpus_is(const char *name, const char *conf, size_t n, const char *first,
		      const char *last, const char *latest)
{
	const char *root = getenv("MIGSAFE_ROOT") ? getenv("MIGSAFE_ROOT") : ".";
	char *dir = xasprintf("%s/../shared/corpus/flyway/%s", root, name);
	char *cpath = conf ? xasprintf("%s/%s", root, conf) : NULL;
	struct stat st;
	if (stat(dir, &st) != 0 || (cpath && !is_file(cpath))) {
		printf("ok %d # SKIP %s: no corpus (run from the repository root)\n", ++ntest, name);
		free(dir);
		free(cpath);
		return;
	}
	struct flyway_set set;
	flyway_collect(&set, dir, cpath, false, &test_err);
	const char *f = set.n ? strrchr(set.files[0].path, '/') + 1 : "";
	const char *l = set.n ? strrchr(set.files[set.n - 1].path, '/') + 1 : "";
	bool good = set.n == n && !strcmp(f, first) && !strcmp(l, last) && set.latest_version &&
		    !strcmp(set.latest_version, latest);
	ok(good, "corpus %s: %zu migrations, %s ... %s, latest %s", name, n, first, last, latest);
	if (!good)
		printf("# got %zu, %s ... %s, latest %s\n", set.n, f, l, set.latest_version);
	flyway_release(&set);
	free(dir);
	free(cpath);
}

int main(void)
{
	msg_set_prog("schema2dag");
	if (!mkdtemp(scratch))
		abort();
	test_versions();
	test_names();
	test_conf();
	test_toml();
	test_toml_errors();
	test_placeholders();
	test_collect();
	test_baseline();
	test_config_found();
	test_collect_errors();
	corpus_is("dspace", NULL, 66, "V1.1__Initial_DSpace_1.1_database_schema.sql",
		  "V10.0_2026.02.18__add_columns_security_level_metadata_value.sql", "10.0.2026.02.18");
	corpus_is("ohdsi-webapi", "tests/fixtures/flyway/ohdsi-webapi.conf", 196,
		  "V1.0.0.1__schema-create_spring_batch.sql",
		  "V2.15.0.20241203000001__webapi_cache_permission.sql", "2.15.0.20241203000001");
	nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	printf("1..%d\n", ntest);
	return nfail != 0;
}
