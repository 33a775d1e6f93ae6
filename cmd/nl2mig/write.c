/*
 * write.c — --write DIR: the migration as files where the project's tool
 * expects them.
 *  Flyway: V<version>__<slug>.sql in the configured location (flyway.toml
 *  or flyway.conf `locations`, first filesystem: one; else DIR), the version
 *  after the latest by Flyway's own comparison, never colliding; the
 *  rollback in DIR/migrations/rollbacks/U<version>__<slug>.sql.
 *  Prisma: prisma/migrations/<timestamp>_<slug>/migration.sql and a
 *  down.sql beside it, and schema.prisma updated with the change (prisma_edit.c;
 *  the record's prisma_diff is the unified diff).
 * Statements that cannot run in a transaction (CREATE/DROP INDEX
 * CONCURRENTLY) go in a file of their own, alone, since both tools run a
 * file as one transaction or as one multi-statement query: the next
 * version (V<version>.1) or the next second's folder.
 * Files are created exclusively: an existing file is never overwritten
 * (but schema.prisma, which is replaced atomically), and every file is
 * written whole or not at all, never through a symbolic link (wfile.h).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flyway.h"
#include "msg.h"
#include "nl2mig.h"
#include "sql.h"
#include "wfile.h"
#include "xalloc.h"

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static void mkdirs(const char *path)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0777);
			*s = '/';
		}
	if (mkdir(p, 0777) != 0 && errno != EEXIST)
		die_code(EXIT_RUNTIME, "%s: %s", p, strerror(errno));
	free(p);
}

/* write_new: a new file, whole or not at all (wfile.h: never through a
 * symbolic link, never over an existing file) */
static void write_new(const char *path, const char *text, struct mig *m)
{
	struct msg_err werr = MSG_ERR_INIT;
	if (wfile_write(path, text, strlen(text), WFILE_NEW) != 0)
		die_err(wfile_error(&werr, path, errno));
	strv_push(&m->files, path);
}

/* ---------- units: the files a migration needs ---------- */

static bool non_transactional(const struct sql_stmt *st)
{
	return (!strcmp(st->type, "IndexStmt") || !strcmp(st->type, "DropStmt")) && sql_jbool(st->node, "concurrent");
}

/* split_units: forward SQL into file texts; SET statements at the top are
 * repeated in every transactional file. */
static void split_units(const char *sql, struct strv *units)
{
	struct sql_script s = {0};
	struct sql_error err = {0};
	struct buf head = BUF_INIT, cur = BUF_INIT;
	buf_init(&head);
	buf_init(&cur);
	if (sql_parse(&s, sql, &err) < 0)
		BUG("forward SQL no longer parses: %s", err.message);
	size_t i = 0;
	for (; i < s.n && !strcmp(s.stmts[i].type, "VariableSetStmt"); i++) {
		char *t = sql_stmt_text(&s, &s.stmts[i]);
		buf_addf(&head, "%s;\n", t);
		free(t);
	}
	for (; i < s.n; i++) {
		char *t = sql_stmt_text(&s, &s.stmts[i]);
		if (non_transactional(&s.stmts[i])) {
			if (cur.len)
				strv_push_take(units, xasprintf("%s%s", head.s, cur.s));
			buf_reset(&cur);
			strv_push_take(units, xasprintf("-- runs outside a transaction: alone in its file\n%s;\n", t));
		} else {
			buf_addf(&cur, "%s;\n", t);
		}
		free(t);
	}
	if (cur.len || !units->n)
		strv_push_take(units, xasprintf("%s%s", head.s, cur.s));
	buf_release(&head);
	buf_release(&cur);
	sql_script_release(&s);
}

/* ---------- Flyway ---------- */

/* the first filesystem: location of flyway.toml / flyway.conf in dir */
static char *flyway_location(const char *dir)
{
	const char *names[] = {"flyway.toml", "flyway.conf"};
	for (int k = 0; k < 2; k++) {
		char *p = xasprintf("%s/%s", dir, names[k]);
		if (!is_file(p)) {
			free(p);
			continue;
		}
		struct msg_err err = MSG_ERR_INIT;
		char *text = read_file(p, &err);
		if (!text)
			die_err(&err);
		char *hit = strstr(text, "filesystem:"), *loc = NULL;
		if (hit) {
			hit += 11;
			size_t n = strcspn(hit, "\"',] \t\r\n");
			char *rel = xstrndup(hit, n);
			loc = rel[0] == '/' ? xstrdup(rel) : xasprintf("%s/%s", dir, rel);
			free(rel);
		}
		free(text);
		free(p);
		if (loc)
			return loc;
	}
	char *dm = xasprintf("%s/db/migration", dir);
	if (is_dir(dm))
		return dm;
	free(dm);
	return xstrdup(dir);
}

static bool has_versioned(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *p = xasprintf("%s/%s", dir, e->d_name);
		if (e->d_name[0] == 'V' && isdigit((unsigned char)e->d_name[1]) && strstr(e->d_name, ".sql"))
			found = true;
		else if (depth < 8 && is_dir(p))
			found = has_versioned(p, depth + 1);
		free(p);
	}
	closedir(d);
	return found;
}

static void write_flyway(const struct opts *o, struct mig *m, const char *slug)
{
	char *loc = flyway_location(o->write_dir), *latest = NULL;
	if (has_versioned(loc, 0)) {
		struct flyway_set set;
		struct msg_err err = MSG_ERR_INIT;
		if (flyway_collect(&set, o->write_dir, NULL, false, &err) < 0)
			die_err(&err);
		latest = set.latest_version ? xstrdup(set.latest_version) : NULL;
		flyway_release(&set);
	}
	char *version = o->version ? xstrdup(o->version) : utc_timestamp();
	for (char *p = version; *p; p++)
		if (*p == '_')
			*p = '.';
	if (strspn(version, "0123456789.") != strlen(version) || !isdigit((unsigned char)version[0]))
		die_code(EXIT_USAGE, "--version '%s': Flyway versions are digits and dots", o->version);
	if (latest && flyway_compare_versions(version, latest) <= 0) {
		if (o->version)
			die("--version %s is not after the latest migration's version %s", version, latest);
		free(version);
		version = xasprintf("%s.1", latest); /* a timestamp behind a later scheme: just after */
	}
	struct strv units = STRV_INIT;
	split_units(m->forward, &units);
	mkdirs(loc);
	for (size_t i = 0; i < units.n; i++) {
		char *v = i ? xasprintf("%s.%zu", version, i) : xstrdup(version);
		char *path = xasprintf("%s/V%s__%s.sql", loc, v, slug);
		write_new(path, units.v[i], m);
		if (!i)
			m->file_forward = xstrdup(path);
		free(path);
		free(v);
	}
	char *rbdir = xasprintf("%s/migrations/rollbacks", o->write_dir);
	mkdirs(rbdir);
	m->file_rollback = xasprintf("%s/U%s__%s.sql", rbdir, version, slug);
	write_new(m->file_rollback, m->rollback, m);
	m->id = xasprintf("V%s__%s", version, slug);
	strv_release(&units);
	free(rbdir);
	free(version);
	free(latest);
	free(loc);
}

/* ---------- Prisma ---------- */

static char *prisma_dir(const char *dir)
{
	char *p = xasprintf("%s/prisma", dir);
	if (is_dir(p))
		return p;
	free(p);
	return xstrdup(dir);
}

/* the 14-digit prefix of the latest migration folder, or 0 */
static long long latest_prisma(const char *mdir)
{
	DIR *d = opendir(mdir);
	struct dirent *e;
	long long best = 0;
	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strspn(e->d_name, "0123456789") == 14)
			if (strtoll(e->d_name, NULL, 10) > best)
				best = strtoll(e->d_name, NULL, 10);
	closedir(d);
	return best;
}

/* ts + s seconds, as YYYYMMDDHHMMSS */
static long long ts_add(long long ts, int s)
{
	struct tm tm = {0};
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", ts);
	if (!strptime(buf, "%Y%m%d%H%M%S", &tm))
		return ts + s;
	time_t t = timegm(&tm) + s;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
	return strtoll(buf, NULL, 10);
}

/* prisma_schema_path: the project's schema.prisma, or NULL. A symbolic
 * link there is refused now, before anything is written, as replace_file
 * would refuse it at the end. */
static char *prisma_schema_path(const char *dir)
{
	const char *cands[] = {"prisma/schema.prisma", "schema.prisma"};
	for (int i = 0; i < 2; i++) {
		char *p = xasprintf("%s/%s", dir, cands[i]);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode))
			die_code(EXIT_INPUT, "%s: %s", p, wfile_why(ELOOP));
		if (is_file(p))
			return p;
		free(p);
	}
	return NULL;
}

/* replace_file: path's content replaced atomically (wfile.h: a temporary
 * file of a random name beside it, renamed over it; a symbolic link there
 * is refused) */
static void replace_file(const char *path, const char *text)
{
	struct msg_err werr = MSG_ERR_INIT;
	if (wfile_write(path, text, strlen(text), 0) != 0)
		die_err(wfile_error(&werr, path, errno));
}

static void write_prisma(const struct opts *o, const struct catalog *cat, struct mig *m, const char *slug)
{
	char *pd = prisma_dir(o->write_dir), *md = xasprintf("%s/migrations", pd);
	/* the schema's new text first: nothing is written if that fails */
	char *schema = prisma_schema_path(o->write_dir), *schema_text = NULL;
	if (schema) {
		const char *label = schema + strlen(o->write_dir);
		while (*label == '/')
			label++;
		free(m->prisma_diff);
		schema_text = prisma_edit_schema(cat, m->forward, schema, label, &m->prisma_diff);
	}
	char *now = o->version ? xstrdup(o->version) : utc_timestamp();
	if (strlen(now) != 14 || strspn(now, "0123456789") != 14)
		die_code(EXIT_USAGE, "--version '%s': Prisma migration folders start with 14 digits", now);
	long long ts = strtoll(now, NULL, 10), last = latest_prisma(md);
	if (ts <= last) {
		if (o->version)
			die("--version %s is not after the latest migration %lld", now, last);
		ts = ts_add(last, 1);
	}
	struct strv units = STRV_INIT;
	split_units(m->forward, &units);
	char *folder = NULL;
	for (size_t i = 0; i < units.n; i++) {
		free(folder);
		folder = xasprintf("%s/%lld_%s", md, ts_add(ts, (int)i), slug);
		if (is_dir(folder))
			die("%s: exists already", folder);
		mkdirs(folder);
		char *path = xasprintf("%s/migration.sql", folder);
		write_new(path, units.v[i], m);
		if (!i) {
			m->file_forward = xstrdup(path);
			m->id = xasprintf("%lld_%s", ts, slug);
		}
		free(path);
	}
	m->file_rollback = xasprintf("%s/down.sql", folder);
	write_new(m->file_rollback, m->rollback, m);
	if (schema && m->prisma_diff) {
		replace_file(schema, schema_text);
		strv_push(&m->files, schema);
	}
	free(schema);
	free(schema_text);
	if (o->prisma_generate) {
		char *cmd = xasprintf("cd '%s' && npx --no-install prisma generate >&2", o->write_dir);
		if (strchr(o->write_dir, '\'') || system(cmd) != 0)
			warning("prisma generate failed or is not installed in %s", o->write_dir);
		free(cmd);
	}
	strv_release(&units);
	free(folder);
	free(now);
	free(md);
	free(pd);
}

static bool looks_prisma(const char *dir)
{
	const char *cands[] = {"prisma/schema.prisma", "schema.prisma", "prisma/migrations"};
	for (int i = 0; i < 3; i++) {
		char *p = xasprintf("%s/%s", dir, cands[i]);
		bool y = is_file(p) || is_dir(p);
		free(p);
		if (y)
			return true;
	}
	return false;
}

void write_files(const struct opts *o, const struct catalog *cat, struct mig *m, const char *slug)
{
	if (!is_dir(o->write_dir))
		die("%s: not a folder (--write takes the project's folder)", o->write_dir);
	const char *tool = o->tool ? o->tool : looks_prisma(o->write_dir) ? "prisma"
									  : "flyway";
	if (!strcmp(tool, "prisma"))
		write_prisma(o, cat, m, slug);
	else
		write_flyway(o, m, slug);
}
