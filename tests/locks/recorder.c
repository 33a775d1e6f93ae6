/*
 * recorder.c — records lock truth from a real PostgreSQL (tests/locks).
 *
 *   recorder [options] URL [cases.sql] > expected.ndjson
 *
 * Builds a template database from setup.sql once, then for each case of
 * cases.sql clones a fresh database from it, runs the case and writes one
 * JSON object per case, in file order:
 *
 *   {"case":"name","sql":"...","notx":false,
 *    "locks":[{"table":"public.orders","mode":"AccessExclusiveLock"}],
 *    "rewrites":["public.orders"],"scans":["public.orders"],"error":null}
 *
 * Transactional cases run inside BEGIN ... ROLLBACK on one connection; the
 * locks are that backend's pg_locks rows after the case, the rewrites the
 * tables whose relfilenode changed, the scans the tables whose rows a
 * sequential scan read (seq_scan > 0 and seq_tup_read > 0 in
 * pg_stat_xact_user_tables: an index build over an empty heap, as after
 * TRUNCATE, is no scan). A case that fails gets its locks read from a
 * second connection while the failed transaction is still open.
 *
 * "-- notx" cases run in autocommit. Each of the case's "-- blocker:" lines
 * runs first in its own session, in an open transaction; the case runs on
 * another session; an observer polls until the case waits on a lock held by
 * a blocker, reads the case session's pg_locks (granted or not), and rolls
 * back the blockers it waits for; and so on until the case finishes. The
 * locks are the union of what was seen at the waits. Rewrites are compared
 * after it finishes; scans are unknown (null). A transactional case may
 * have blockers too (to see the locks of a statement that then fails).
 *
 * Tables are named as they were before the case ran (a case that renames
 * orders still reports public.orders); tables the case creates are named as
 * created. Only relations of kind r, p, m, v, f in user schemas count;
 * rewrites count kinds r and m.
 *
 * Exit: 0 ok; 1 every case recorded but some did not go as the file says
 * (an unexpected error or success, a notx case that never waited); 2 usage;
 * 3 database failure; 4 invalid cases or setup file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <pg_query.h>

enum { EXIT_OK = 0,
       EXIT_MISMATCH = 1,
       EXIT_USAGE = 2,
       EXIT_RUNTIME = 3,
       EXIT_INPUT = 4 };

static const char *prog = "record";

/* ---- small utilities ---------------------------------------------------- */

static void die(int code, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void warnx(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die(EXIT_RUNTIME, "out of memory");
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die(EXIT_RUNTIME, "out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xmalloc(n);
	memcpy(p, s, n);
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		die(EXIT_RUNTIME, "out of memory");
	return s;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t len = 0, cap = 65536, n;
	if (!f)
		die(EXIT_INPUT, "%s: %s", path, strerror(errno));
	buf = xmalloc(cap);
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	if (ferror(f))
		die(EXIT_INPUT, "%s: read error", path);
	fclose(f);
	buf[len] = '\0';
	if (strlen(buf) != len)
		die(EXIT_INPUT, "%s: contains a NUL byte", path);
	return buf;
}

/* 1-based line of byte offset off in text. */
static int line_of(const char *text, int off)
{
	int line = 1;
	for (int i = 0; i < off && text[i]; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

/* ---- lock modes ----------------------------------------------------------- */

static const char *const modes[] = {
	"AccessShareLock",
	"RowShareLock",
	"RowExclusiveLock",
	"ShareUpdateExclusiveLock",
	"ShareLock",
	"ShareRowExclusiveLock",
	"ExclusiveLock",
	"AccessExclusiveLock",
};

static int mode_rank(const char *m)
{
	for (int i = 0; i < 8; i++)
		if (strcmp(m, modes[i]) == 0)
			return i + 1;
	return 0;
}

/* ---- the cases file ------------------------------------------------------- */

struct kase {
	char *name;
	int line; /* line of "-- case:" */
	int notx;
	int expect_error;
	char *blocker; /* joined "-- blocker:" SQL, or NULL */
	char *sql;     /* trimmed */
	int sql_line;  /* line where sql starts */
};

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/* After leading spaces, does the line start with "--"? */
static int is_comment(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i + 1 < n && s[i] == '-' && s[i + 1] == '-';
}

/* If line (len n) is "-- KEY" or "-- KEY: rest" (with colon true, only the
 * latter), return rest (or "" for no colon form), trimmed, as a new string;
 * else NULL. */
static char *directive(const char *s, size_t n, const char *key, int colon)
{
	size_t i = 0, k = strlen(key);
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i + 2 > n || s[i] != '-' || s[i + 1] != '-')
		return NULL;
	i += 2;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (n - i < k || strncmp(s + i, key, k) != 0)
		return NULL;
	i += k;
	if (i < n && s[i] == ':')
		i++;
	else if (colon)
		return NULL;
	else if (i < n && !(s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		return NULL; /* "-- notxyz" is not "-- notx" */
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	while (n > i && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	return xstrndup(s + i, n - i);
}

static int valid_name(const char *s)
{
	if (!*s || *s == '-')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	return 1;
}

struct cases {
	struct kase *v;
	size_t n;
};

static void finish_case(struct kase *k, const char *text, size_t sql_start, size_t sql_end,
			const char *path)
{
	/* sql_start..sql_end spans whole lines; drop trailing blank and comment
	 * lines (section headers that precede the next case). */
	size_t end = sql_end;
	for (;;) {
		size_t ls;
		size_t le = end;
		if (le <= sql_start)
			break;
		if (text[le - 1] == '\n')
			le--;
		ls = le;
		while (ls > sql_start && text[ls - 1] != '\n')
			ls--;
		if (is_blank(text + ls, le - ls) || is_comment(text + ls, le - ls))
			end = ls;
		else
			break;
	}
	while (end > sql_start && (text[end - 1] == '\n' || text[end - 1] == '\r' ||
				   text[end - 1] == ' ' || text[end - 1] == '\t'))
		end--;
	if (end <= sql_start)
		die(EXIT_INPUT, "%s:%d: case %s has no SQL", path, k->line, k->name);
	k->sql = xstrndup(text + sql_start, end - sql_start);
	if (k->notx && !k->blocker)
		die(EXIT_INPUT, "%s:%d: case %s: a -- notx case needs a -- blocker: line", path,
		    k->line, k->name);
}

static struct cases parse_cases(const char *text, const char *path)
{
	struct cases cs = {NULL, 0};
	size_t pos = 0, len = strlen(text);
	int line = 0;
	struct kase *cur = NULL;
	int in_header = 0; /* still reading directives of cur */
	size_t sql_start = 0;

	while (pos < len) {
		size_t eol = pos;
		char *d;
		while (eol < len && text[eol] != '\n')
			eol++;
		line++;
		const char *s = text + pos;
		size_t n = eol - pos;
		size_t next = eol < len ? eol + 1 : eol;

		if ((d = directive(s, n, "case", 1)) != NULL) {
			if (cur)
				finish_case(cur, text, in_header ? pos : sql_start, pos, path);
			if (!valid_name(d))
				die(EXIT_INPUT, "%s:%d: case name '%s' is not kebab-case ([a-z0-9-])",
				    path, line, d);
			for (size_t i = 0; i < cs.n; i++)
				if (strcmp(cs.v[i].name, d) == 0)
					die(EXIT_INPUT, "%s:%d: duplicate case name '%s' (first at line %d)",
					    path, line, d, cs.v[i].line);
			cs.v = xrealloc(cs.v, (cs.n + 1) * sizeof *cs.v);
			cur = &cs.v[cs.n++];
			memset(cur, 0, sizeof *cur);
			cur->name = d;
			cur->line = line;
			in_header = 1;
			sql_start = next;
		} else if (cur && in_header) {
			free(d);
			if ((d = directive(s, n, "notx", 0)) != NULL && d[0] == '\0') {
				cur->notx = 1;
			} else if (d) {
				die(EXIT_INPUT, "%s:%d: -- notx takes no argument", path, line);
			} else if ((d = directive(s, n, "expect-error", 0)) != NULL && d[0] == '\0') {
				cur->expect_error = 1;
			} else if ((d = directive(s, n, "blocker", 1)) != NULL) {
				if (!d[0])
					die(EXIT_INPUT, "%s:%d: empty -- blocker:", path, line);
				if (cur->blocker) {
					char *j = xasprintf("%s\n%s", cur->blocker, d);
					free(cur->blocker);
					cur->blocker = j;
				} else {
					cur->blocker = xstrdup(d);
				}
			} else if (is_blank(s, n) || is_comment(s, n)) {
				/* a description line */
			} else {
				in_header = 0;
				sql_start = pos;
				cur->sql_line = line;
			}
			free(d);
			d = NULL;
		} else {
			free(d);
		}
		pos = next;
	}
	if (cur)
		finish_case(cur, text, in_header ? len : sql_start, len, path);
	if (cs.n == 0)
		die(EXIT_INPUT, "%s: no '-- case: NAME' blocks", path);
	return cs;
}

/* Split SQL into statements with libpg_query. Returns count; *out gets
 * malloc'd strings. If the parser rejects the text (a newer server's
 * syntax), the whole text is one statement. */
static size_t split_sql(const char *sql, char ***out)
{
	PgQuerySplitResult r = pg_query_split_with_parser(sql);
	char **v;
	size_t n = 0;
	if (r.error || r.n_stmts <= 0) {
		pg_query_free_split_result(r);
		v = xmalloc(sizeof *v);
		v[0] = xstrdup(sql);
		*out = v;
		return 1;
	}
	v = xmalloc((size_t)r.n_stmts * sizeof *v);
	for (int i = 0; i < r.n_stmts; i++) {
		const char *s = sql + r.stmts[i]->stmt_location;
		size_t l = (size_t)r.stmts[i]->stmt_len;
		if (l == 0)
			l = strlen(s);
		v[n++] = xstrndup(s, l);
	}
	pg_query_free_split_result(r);
	*out = v;
	return n;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- database helpers ----------------------------------------------------- */

static const char *g_url;

static void no_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static const char *session_setup =
	"SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres';"
	"SET client_min_messages = warning; SET statement_timeout = '300s';"
	"SET search_path = \"$user\", public";

static PGconn *connect_db(const char *dbname)
{
	const char *keys[4] = {"dbname", NULL, NULL, NULL};
	const char *vals[4] = {g_url, NULL, NULL, NULL};
	int i = 1;
	PGconn *c;
	PGresult *r;
	if (dbname) {
		keys[i] = "dbname";
		vals[i++] = dbname;
	}
	keys[i] = "fallback_application_name";
	vals[i] = "migsafe-locks-record";
	c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		char *e = xstrdup(c ? PQerrorMessage(c) : "out of memory");
		size_t l = strlen(e);
		while (l && (e[l - 1] == '\n' || e[l - 1] == ' '))
			e[--l] = '\0';
		die(EXIT_RUNTIME, "cannot connect%s%s: %s", dbname ? " to " : "", dbname ? dbname : "", e);
	}
	PQsetNoticeProcessor(c, no_notice, NULL);
	r = PQexec(c, session_setup);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die(EXIT_RUNTIME, "session setup: %s", PQerrorMessage(c));
	PQclear(r);
	/* English messages where allowed (needs superuser; ignored otherwise). */
	PQclear(PQexec(c, "SET lc_messages = 'C'"));
	return c;
}

/* Run sql; die unless it succeeds. Returns the result (caller clears). */
static PGresult *must(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		die(EXIT_RUNTIME, "query failed: %s\n  %s", PQresultErrorMessage(r), sql);
	return r;
}

static PGresult *must1(PGconn *c, const char *sql, const char *p1)
{
	PGresult *r = PQexecParams(c, sql, 1, NULL, &p1, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		die(EXIT_RUNTIME, "query failed: %s\n  %s", PQresultErrorMessage(r), sql);
	return r;
}

static void run(PGconn *c, const char *sql)
{
	PQclear(must(c, sql));
}

/* The primary message of a failed result, as a new string. */
static char *error_message(const PGresult *r)
{
	const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	if (m)
		return xstrdup(m);
	m = PQresultErrorMessage(r);
	if (m && *m) {
		char *s = xstrdup(m);
		size_t n = strlen(s);
		while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
			s[--n] = '\0';
		return s;
	}
	return xstrdup("unknown error");
}

/* ---- relations ------------------------------------------------------------ */

struct rel {
	unsigned long oid;
	char *name; /* schema.table */
	char kind;
	unsigned long filenode;
};

struct snap {
	struct rel *v;
	size_t n;
};

static const char *snap_sql =
	"SELECT c.oid::int8, n.nspname || '.' || c.relname, c.relkind, c.relfilenode::int8 "
	"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' "
	"AND n.nspname !~ '^pg_(toast|temp_)' AND c.relkind IN ('r','p','m','v','f') "
	"ORDER BY 1";

static struct snap take_snap(PGconn *c)
{
	PGresult *r = must(c, snap_sql);
	struct snap s;
	s.n = (size_t)PQntuples(r);
	s.v = xmalloc(s.n * sizeof *s.v);
	for (size_t i = 0; i < s.n; i++) {
		s.v[i].oid = strtoul(PQgetvalue(r, (int)i, 0), NULL, 10);
		s.v[i].name = xstrdup(PQgetvalue(r, (int)i, 1));
		s.v[i].kind = PQgetvalue(r, (int)i, 2)[0];
		s.v[i].filenode = strtoul(PQgetvalue(r, (int)i, 3), NULL, 10);
	}
	PQclear(r);
	return s;
}

static void free_snap(struct snap *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].name);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static const struct rel *snap_find(const struct snap *s, unsigned long oid)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->v[mid].oid == oid)
			return &s->v[mid];
		if (s->v[mid].oid < oid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- per-case result -------------------------------------------------------- */

struct lockent {
	char *table;
	int rank;
};

struct result {
	struct lockent *locks;
	size_t nlocks;
	char **rewrites;
	size_t nrewrites;
	int rewrites_known;
	char **scans;
	size_t nscans;
	int scans_known;
	char *error;   /* PostgreSQL's message */
	char *problem; /* the recorder's own trouble, reported on stderr */
};

static void add_lock(struct result *res, const char *table, int rank)
{
	for (size_t i = 0; i < res->nlocks; i++)
		if (strcmp(res->locks[i].table, table) == 0) {
			if (rank > res->locks[i].rank)
				res->locks[i].rank = rank;
			return;
		}
	res->locks = xrealloc(res->locks, (res->nlocks + 1) * sizeof *res->locks);
	res->locks[res->nlocks].table = xstrdup(table);
	res->locks[res->nlocks].rank = rank;
	res->nlocks++;
}

static void add_name(char ***v, size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], name) == 0)
			return;
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = xstrdup(name);
}

static int cmp_lock(const void *a, const void *b)
{
	return strcmp(((const struct lockent *)a)->table, ((const struct lockent *)b)->table);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int kind_counts(char k)
{
	return k == 'r' || k == 'p' || k == 'm' || k == 'v' || k == 'f';
}

/*
 * Read the relation locks of backend pid (on conn c, which must be in the
 * same database) into res. Relations known before the case keep their old
 * names; others are taken from pg_class as c sees it.
 */
static const char *locks_sql =
	"SELECT l.relation::int8, l.mode, n.nspname, c.relname, c.relkind "
	"FROM pg_catalog.pg_locks l "
	"LEFT JOIN pg_catalog.pg_class c ON c.oid = l.relation "
	"LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"WHERE l.pid = $1::int4 AND l.locktype = 'relation' "
	"AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d "
	"                  WHERE d.datname = pg_catalog.current_database())";

static void read_locks(PGconn *c, int pid, const struct snap *before, struct result *res)
{
	char pidbuf[16];
	PGresult *r;
	snprintf(pidbuf, sizeof pidbuf, "%d", pid);
	r = must1(c, locks_sql, pidbuf);
	for (int i = 0; i < PQntuples(r); i++) {
		unsigned long oid = strtoul(PQgetvalue(r, i, 0), NULL, 10);
		int rank = mode_rank(PQgetvalue(r, i, 1));
		const struct rel *known = snap_find(before, oid);
		if (!rank)
			continue;
		if (known) {
			if (kind_counts(known->kind))
				add_lock(res, known->name, rank);
		} else if (!PQgetisnull(r, i, 3)) {
			const char *nsp = PQgetvalue(r, i, 2);
			char kind = PQgetvalue(r, i, 4)[0];
			if (!kind_counts(kind) || strcmp(nsp, "pg_catalog") == 0 ||
			    strcmp(nsp, "information_schema") == 0 || strncmp(nsp, "pg_toast", 8) == 0 ||
			    strncmp(nsp, "pg_temp_", 8) == 0)
				continue;
			char *name = xasprintf("%s.%s", nsp, PQgetvalue(r, i, 3));
			add_lock(res, name, rank);
			free(name);
		}
	}
	PQclear(r);
}

static void read_rewrites(PGconn *c, const struct snap *before, struct result *res)
{
	struct snap after = take_snap(c);
	for (size_t i = 0; i < before->n; i++) {
		const struct rel *b = &before->v[i], *a;
		if (b->kind != 'r' && b->kind != 'm')
			continue;
		a = snap_find(&after, b->oid);
		if (a && a->filenode != b->filenode)
			add_name(&res->rewrites, &res->nrewrites, b->name);
	}
	res->rewrites_known = 1;
	free_snap(&after);
}

static void read_scans(PGconn *c, const struct snap *before, struct result *res)
{
	PGresult *r = must(c, "SELECT relid::int8, schemaname || '.' || relname "
			      "FROM pg_catalog.pg_stat_xact_user_tables "
			      "WHERE seq_scan > 0 AND seq_tup_read > 0");
	for (int i = 0; i < PQntuples(r); i++) {
		const struct rel *known = snap_find(before, strtoul(PQgetvalue(r, i, 0), NULL, 10));
		add_name(&res->scans, &res->nscans, known ? known->name : PQgetvalue(r, i, 1));
	}
	res->scans_known = 1;
	PQclear(r);
}

/* ---- running a case --------------------------------------------------------- */

static char g_tpl[64];
static PGconn *g_maint;
static volatile sig_atomic_t g_stop;
static int g_verbose;
static char g_cur_db[96]; /* the case database that exists now, if any */
static pid_t g_parent;	  /* only the parent drops the template */
static int g_tpl_made;

static void drop_db(const char *db);

/* On any exit (die() included): drop what this process created. */
static void cleanup(void)
{
	if (!g_maint || PQstatus(g_maint) != CONNECTION_OK)
		return;
	if (g_cur_db[0]) {
		drop_db(g_cur_db);
		g_cur_db[0] = '\0';
	}
	if (g_tpl_made && getpid() == g_parent) {
		drop_db(g_tpl);
		g_tpl_made = 0;
	}
}

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void create_case_db(const char *db)
{
	/* FILE_COPY (PostgreSQL 15+) copies the files instead of WAL-logging
	 * every page: several times faster for a small template. */
	char *sql = xasprintf("CREATE DATABASE %s TEMPLATE %s%s", db, g_tpl,
			      PQserverVersion(g_maint) >= 150000 ? " STRATEGY FILE_COPY" : "");
	PGresult *r;
	/* An autovacuum worker or a slow disconnect can hold the template for a
	 * moment ("source database is being accessed by other users"): retry. */
	for (int attempt = 0;; attempt++) {
		r = PQexec(g_maint, sql);
		if (PQresultStatus(r) == PGRES_COMMAND_OK)
			break;
		if (attempt >= 20)
			die(EXIT_RUNTIME, "%s: %s", sql, PQresultErrorMessage(r));
		PQclear(r);
		sleep_ms(250);
	}
	PQclear(r);
	free(sql);
}

/* Wait (up to 2 s) until no backend is connected to db: closed connections'
 * backends exit asynchronously, and CREATE/DROP DATABASE would otherwise
 * sleep in steps of 100 ms for them. */
static void wait_db_idle(const char *db)
{
	double t0 = now_s();
	for (;;) {
		PGresult *r = must1(g_maint, "SELECT count(*) FROM pg_catalog.pg_stat_activity "
					     "WHERE datname = $1",
				    db);
		int busy = strcmp(PQgetvalue(r, 0, 0), "0") != 0;
		PQclear(r);
		if (!busy || now_s() - t0 > 2.0)
			return;
		sleep_ms(1);
	}
}

static void drop_db(const char *db)
{
	char *sql;
	wait_db_idle(db);
	sql = xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
	PGresult *r = PQexec(g_maint, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		warnx("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	free(sql);
}

/* Transactional case: BEGIN; case; observe; ROLLBACK. */
static void run_tx_case(const struct kase *k, const char *db, struct result *res)
{
	PGconn *b = connect_db(db), *m = connect_db(db);
	struct snap before = take_snap(b);
	char **stmts;
	size_t n = split_sql(k->sql, &stmts);
	PGresult *r;
	int failed = 0;

	run(b, "SET lock_timeout = '60s'");
	run(b, "BEGIN");
	for (size_t i = 0; i < n && !failed; i++) {
		ExecStatusType st;
		r = PQexec(b, stmts[i]);
		st = PQresultStatus(r);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
			if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
				res->problem = xstrdup("COPY FROM STDIN / TO STDOUT is not supported in cases");
				PQclear(r);
				PQfinish(b);
				PQfinish(m);
				free_strv(stmts, n);
				free_snap(&before);
				return;
			}
			res->error = error_message(r);
			failed = 1;
		}
		PQclear(r);
	}
	if (failed) {
		/* The failed transaction still holds its locks: read them from m. */
		read_locks(m, PQbackendPID(b), &before, res);
	} else if (PQtransactionStatus(b) != PQTRANS_INTRANS) {
		res->problem = xstrdup("the case ended the recorder's transaction "
				       "(no BEGIN/COMMIT/ROLLBACK in cases)");
	} else {
		read_locks(b, PQbackendPID(b), &before, res);
		read_rewrites(b, &before, res);
		read_scans(b, &before, res);
	}
	PQclear(PQexec(b, "ROLLBACK"));
	PQfinish(b);
	PQfinish(m);
	free_strv(stmts, n);
	free_snap(&before);
}

static void free_result(struct result *res);

/* The pids that block backend pid now, as a malloc'd array; returns the
 * count. pg_blocking_pids() reads the lock manager: unlike wait_event in
 * pg_stat_activity, which lags until the woken backend runs, it is empty as
 * soon as the awaited lock is released. */
static size_t blocking_pids(PGconn *m, int pid, int **out)
{
	char pidbuf[16];
	PGresult *r;
	size_t n = 0;
	int *v = NULL;
	snprintf(pidbuf, sizeof pidbuf, "%d", pid);
	r = must1(m, "SELECT pg_catalog.array_to_string("
		     "pg_catalog.pg_blocking_pids($1::int4), ' ')",
		  pidbuf);
	if (PQntuples(r) == 1) {
		const char *p = PQgetvalue(r, 0, 0);
		char *end;
		for (;;) {
			long x = strtol(p, &end, 10);
			if (end == p)
				break;
			v = xrealloc(v, (n + 1) * sizeof *v);
			v[n++] = (int)x;
			p = end;
		}
	}
	PQclear(r);
	*out = v;
	return n;
}

/*
 * A case with blockers. Each "-- blocker:" line runs in its own session, in
 * an open transaction; the case runs on session b (in autocommit for a notx
 * case, else inside BEGIN ... ROLLBACK); m observes. Each time b waits on a
 * lock held by one of the blockers, b's relation locks (granted or
 * requested) are added to the result and exactly the blockers b waits for
 * roll back, so b runs on to its next wait or to its end. The locks
 * recorded are thus the union of b's lock sets at its waits, a
 * deterministic sample, complete when the blockers stop b at each phase;
 * a transactional case that succeeds adds the locks it holds at its end.
 */
static void run_blocked_case(const struct kase *k, const char *db, struct result *res)
{
	PGconn *b = connect_db(db), *m = connect_db(db);
	struct snap before = take_snap(m);
	char **stmts, **blk;
	size_t n = split_sql(k->sql, &stmts), nblk = 0;
	PGconn **a;
	int *a_open;
	int bpid = PQbackendPID(b), observed = 0, failed = 0;
	PGresult *r;
	const char *p = k->blocker;

	/* one session per blocker line */
	blk = NULL;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		blk = xrealloc(blk, (nblk + 1) * sizeof *blk);
		blk[nblk++] = xstrndup(p, l);
		p += l;
		if (*p == '\n')
			p++;
	}
	a = xmalloc(nblk * sizeof *a);
	a_open = xmalloc(nblk * sizeof *a_open);
	for (size_t i = 0; i < nblk; i++) {
		a[i] = connect_db(db);
		a_open[i] = 0;
	}
	for (size_t i = 0; i < nblk; i++) {
		run(a[i], "BEGIN");
		a_open[i] = 1;
		r = PQexec(a[i], blk[i]);
		if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
			char *e = error_message(r);
			res->problem = xasprintf("blocker %zu failed: %s", i + 1, e);
			free(e);
			PQclear(r);
			goto out;
		}
		PQclear(r);
	}

	if (!k->notx)
		run(b, "BEGIN");
	for (size_t i = 0; i < n && !failed && !g_stop; i++) {
		double t0 = now_s();
		if (!PQsendQuery(b, stmts[i]))
			die(EXIT_RUNTIME, "cannot send the case: %s", PQerrorMessage(b));
		for (;;) {
			if (!PQconsumeInput(b))
				die(EXIT_RUNTIME, "case connection lost: %s", PQerrorMessage(b));
			if (!PQisBusy(b))
				break;
			{
				struct result tmp;
				int *pids, *pids2, ours = 0;
				size_t np, np2;
				memset(&tmp, 0, sizeof tmp);
				/* Blocked by one of ours before and after the read (by the
				 * same pids; only we release them): the set read is the set
				 * b holds and requests at this wait. */
				np = blocking_pids(m, bpid, &pids);
				for (size_t j = 0; j < nblk; j++)
					for (size_t q = 0; q < np; q++)
						if (a_open[j] && PQbackendPID(a[j]) == pids[q])
							ours = 1;
				if (ours) {
					read_locks(m, bpid, &before, &tmp);
					np2 = blocking_pids(m, bpid, &pids2);
					if (np2 != np || memcmp(pids, pids2, np * sizeof *pids) != 0)
						ours = 0;
					free(pids2);
				}
				if (ours) {
					if (getenv("LOCKS_RECORD_DEBUG")) {
						fprintf(stderr, "%s: %s: wait:", prog, k->name);
						for (size_t j = 0; j < tmp.nlocks; j++)
							fprintf(stderr, " %s=%s", tmp.locks[j].table,
								modes[tmp.locks[j].rank - 1]);
						fputc('\n', stderr);
					}
					for (size_t j = 0; j < tmp.nlocks; j++)
						add_lock(res, tmp.locks[j].table, tmp.locks[j].rank);
					observed = 1;
					for (size_t j = 0; j < nblk; j++)
						for (size_t q = 0; q < np; q++)
							if (a_open[j] && PQbackendPID(a[j]) == pids[q]) {
								run(a[j], "ROLLBACK");
								a_open[j] = 0;
							}
				}
				free(pids);
				free_result(&tmp);
				if (ours)
					continue;
			}
			if ((now_s() - t0 > 120.0 || g_stop) && !res->problem) {
				PGcancel *cn = PQgetCancel(b);
				char eb[256];
				if (cn) {
					PQcancel(cn, eb, sizeof eb);
					PQfreeCancel(cn);
				}
				res->problem = xstrdup(g_stop ? "interrupted"
							      : "the case did not finish within 120 s");
			}
			sleep_ms(2);
		}
		while ((r = PQgetResult(b)) != NULL) {
			ExecStatusType st = PQresultStatus(r);
			if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY &&
			    !res->error) {
				res->error = error_message(r);
				failed = 1;
			}
			PQclear(r);
		}
	}
	if (!observed && !failed && !res->problem)
		res->problem = xstrdup("the case never waited on a blocker, so its locks could not "
				       "be observed (make a blocker conflict with it)");
	if (!k->notx && !failed && !res->problem) {
		if (PQtransactionStatus(b) != PQTRANS_INTRANS) {
			res->problem = xstrdup("the case ended the recorder's transaction "
					       "(no BEGIN/COMMIT/ROLLBACK in cases)");
		} else {
			read_locks(b, bpid, &before, res);
			read_rewrites(b, &before, res);
			read_scans(b, &before, res);
		}
	} else if (!failed && !res->problem) {
		read_rewrites(m, &before, res);
	}
out:
	if (!k->notx)
		PQclear(PQexec(b, "ROLLBACK"));
	for (size_t i = 0; i < nblk; i++) {
		if (a_open[i])
			PQclear(PQexec(a[i], "ROLLBACK"));
		PQfinish(a[i]);
	}
	free(a);
	free(a_open);
	free_strv(blk, nblk);
	PQfinish(b);
	PQfinish(m);
	free_strv(stmts, n);
	free_snap(&before);
}

static char *result_json(const struct kase *k, struct result *res)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	char *s;
	cJSON_AddStringToObject(o, "case", k->name);
	cJSON_AddStringToObject(o, "sql", k->sql);
	cJSON_AddBoolToObject(o, "notx", k->notx);
	if (res->nlocks > 1)
		qsort(res->locks, res->nlocks, sizeof *res->locks, cmp_lock);
	arr = cJSON_AddArrayToObject(o, "locks");
	for (size_t i = 0; i < res->nlocks; i++) {
		cJSON *l = cJSON_CreateObject();
		cJSON_AddStringToObject(l, "table", res->locks[i].table);
		cJSON_AddStringToObject(l, "mode", modes[res->locks[i].rank - 1]);
		cJSON_AddItemToArray(arr, l);
	}
	if (res->rewrites_known) {
		if (res->nrewrites > 1)
			qsort(res->rewrites, res->nrewrites, sizeof *res->rewrites, cmp_str);
		arr = cJSON_AddArrayToObject(o, "rewrites");
		for (size_t i = 0; i < res->nrewrites; i++)
			cJSON_AddItemToArray(arr, cJSON_CreateString(res->rewrites[i]));
	} else {
		cJSON_AddNullToObject(o, "rewrites");
	}
	if (res->scans_known) {
		if (res->nscans > 1)
			qsort(res->scans, res->nscans, sizeof *res->scans, cmp_str);
		arr = cJSON_AddArrayToObject(o, "scans");
		for (size_t i = 0; i < res->nscans; i++)
			cJSON_AddItemToArray(arr, cJSON_CreateString(res->scans[i]));
	} else {
		cJSON_AddNullToObject(o, "scans");
	}
	if (res->error)
		cJSON_AddStringToObject(o, "error", res->error);
	else
		cJSON_AddNullToObject(o, "error");
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		die(EXIT_RUNTIME, "out of memory");
	return s;
}

static void free_result(struct result *res)
{
	for (size_t i = 0; i < res->nlocks; i++)
		free(res->locks[i].table);
	free(res->locks);
	free_strv(res->rewrites, res->nrewrites);
	free_strv(res->scans, res->nscans);
	free(res->error);
	free(res->problem);
}

/* Record case idx; returns the JSON line (malloc'd); *mismatch set when the
 * outcome disagrees with the file (message already on stderr). */
static char *record_case(const struct kase *k, size_t idx, const char *cases_path, int *mismatch)
{
	char db[96];
	struct result res;
	char *line;
	memset(&res, 0, sizeof res);
	snprintf(db, sizeof db, "%s_c%zu", g_tpl, idx + 1);
	double t0 = now_s(), t1, t2;
	create_case_db(db);
	snprintf(g_cur_db, sizeof g_cur_db, "%s", db);
	t1 = now_s();
	if (k->blocker)
		run_blocked_case(k, db, &res);
	else
		run_tx_case(k, db, &res);
	t2 = now_s();
	g_cur_db[0] = '\0';
	drop_db(db);
	if (getenv("LOCKS_RECORD_DEBUG"))
		fprintf(stderr, "%s: %s: create %.0f ms, run %.0f ms, drop %.0f ms\n", prog, k->name,
			(t1 - t0) * 1e3, (t2 - t1) * 1e3, (now_s() - t2) * 1e3);

	*mismatch = 0;
	if (res.problem) {
		warnx("%s:%d: case %s: %s", cases_path, k->line, k->name, res.problem);
		*mismatch = 1;
	} else if (res.error && !k->expect_error) {
		warnx("%s:%d: case %s: unexpected error: %s", cases_path, k->line, k->name, res.error);
		*mismatch = 1;
	} else if (!res.error && k->expect_error) {
		warnx("%s:%d: case %s: marked -- expect-error but succeeded", cases_path, k->line,
		      k->name);
		*mismatch = 1;
	}
	if (g_verbose)
		fprintf(stderr, "%s: [%zu] %s\n", prog, idx + 1, k->name);
	line = result_json(k, &res);
	free_result(&res);
	return line;
}

/* ---- the template ------------------------------------------------------------ */

static void build_template(const char *setup_path)
{
	char *text = read_file(setup_path), *sql;
	PgQuerySplitResult sp;
	PGconn *t;

	sql = xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", g_tpl);
	run(g_maint, sql);
	free(sql);
	sql = xasprintf("CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' "
			"LC_COLLATE 'C' LC_CTYPE 'C'",
			g_tpl);
	run(g_maint, sql);
	g_tpl_made = 1;
	free(sql);

	sp = pg_query_split_with_parser(text);
	if (sp.error)
		die(EXIT_INPUT, "%s:%d: %s", setup_path, line_of(text, sp.error->cursorpos - 1),
		    sp.error->message);
	t = connect_db(g_tpl);
	for (int i = 0; i < sp.n_stmts; i++) {
		int loc = sp.stmts[i]->stmt_location;
		char *stmt = xstrndup(text + loc, (size_t)sp.stmts[i]->stmt_len);
		PGresult *r = PQexec(t, stmt);
		ExecStatusType st = PQresultStatus(r);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
			/* point at the first non-blank line of the statement */
			while (text[loc] == '\n' || text[loc] == ' ' || text[loc] == '\t')
				loc++;
			char *e = error_message(r);
			PQfinish(t);
			die(EXIT_INPUT, "%s:%d: %s", setup_path, line_of(text, loc), e);
		}
		PQclear(r);
		free(stmt);
	}
	pg_query_free_split_result(sp);
	PQfinish(t);
	free(text);

	/* The setup session's row counts reach the statistics system when its
	 * backend exits, after setup's ANALYZE: autovacuum would then keep
	 * visiting the template, and every CREATE DATABASE from it would have
	 * to stop that worker first. Reset the counters once they are in, and
	 * close the template to connections (autovacuum aside). */
	wait_db_idle(g_tpl);
	t = connect_db(g_tpl);
	PQclear(PQexec(t, "SELECT pg_catalog.pg_stat_reset()")); /* superuser only: best effort */
	PQfinish(t);
	wait_db_idle(g_tpl);
	sql = xasprintf("ALTER DATABASE %s WITH ALLOW_CONNECTIONS false", g_tpl);
	run(g_maint, sql);
	free(sql);
}

/* ---- main -------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [options] URL [cases.sql] > expected.ndjson\n"
		"\n"
		"Records, from the PostgreSQL at URL, the locks, rewrites and scans of every\n"
		"case in cases.sql (tests/locks/record defaults to tests/locks/cases.sql),\n"
		"each in a fresh database cloned from a template built from setup.sql, as\n"
		"one JSON object per case, in file order. Creates and drops databases named\n"
		"locks_tpl_PID and locks_tpl_PID_cN on that server.\n"
		"\n"
		"  -s, --setup FILE   schema and data for the template (default: setup.sql\n"
		"                     in the directory of cases.sql)\n"
		"  -c, --case NAME    record only this case (repeatable)\n"
		"  -j, --jobs N       record N cases at a time (default 4; output order is\n"
		"                     always file order)\n"
		"  -v, --verbose      name each case on stderr as it is recorded\n"
		"  -h, --help         this help\n"
		"\n"
		"Exit: 0 ok; 1 recorded, but some case did not behave as the file says;\n"
		"2 usage; 3 database failure; 4 invalid cases or setup file.\n",
		prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"setup", required_argument, NULL, 's'},
		{"case", required_argument, NULL, 'c'},
		{"jobs", required_argument, NULL, 'j'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *setup = NULL, *cases_path = NULL;
	char **only = NULL, *text, *default_setup = NULL;
	size_t nonly = 0, nsel = 0, *sel;
	int jobs = 4, opt, mismatches = 0;
	struct cases cs;
	char **lines;
	struct sigaction sa;

	if (getenv("LOCKS_RECORD_PROG"))
		prog = getenv("LOCKS_RECORD_PROG");
	while ((opt = getopt_long(argc, argv, "s:c:j:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 's': setup = optarg; break;
		case 'c':
			only = xrealloc(only, (nonly + 1) * sizeof *only);
			only[nonly++] = optarg;
			break;
		case 'j': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 64) {
				fprintf(stderr, "%s: --jobs: not a number from 1 to 64: %s\n", prog, optarg);
				return EXIT_USAGE;
			}
			jobs = (int)v;
			break;
		}
		case 'v': g_verbose = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		fprintf(stderr, "%s: expected URL [cases.sql]\n", prog);
		usage(stderr);
		return EXIT_USAGE;
	}
	g_url = argv[optind];
	cases_path = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (!cases_path) {
		fprintf(stderr, "%s: no cases file given\n", prog);
		return EXIT_USAGE;
	}
	if (!setup) {
		const char *slash = strrchr(cases_path, '/');
		default_setup = slash ? xasprintf("%.*s/setup.sql", (int)(slash - cases_path), cases_path)
				      : xstrdup("setup.sql");
		setup = default_setup;
	}

	text = read_file(cases_path);
	cs = parse_cases(text, cases_path);
	sel = xmalloc(cs.n * sizeof *sel);
	for (size_t i = 0; i < cs.n; i++) {
		int want = nonly == 0;
		for (size_t j = 0; j < nonly; j++)
			if (strcmp(only[j], cs.v[i].name) == 0)
				want = 1;
		if (want)
			sel[nsel++] = i;
	}
	for (size_t j = 0; j < nonly; j++) {
		int found = 0;
		for (size_t i = 0; i < cs.n; i++)
			found |= strcmp(only[j], cs.v[i].name) == 0;
		if (!found)
			die(EXIT_USAGE, "--case %s: no such case in %s", only[j], cases_path);
	}

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	g_parent = getpid();
	snprintf(g_tpl, sizeof g_tpl, "locks_tpl_%ld", (long)g_parent);
	atexit(cleanup);
	g_maint = connect_db(NULL);
	build_template(setup);

	lines = xmalloc(cs.n * sizeof *lines);
	memset(lines, 0, cs.n * sizeof *lines);
	if (jobs == 1 || nsel < 2) {
		for (size_t s = 0; s < nsel && !g_stop; s++) {
			int mm;
			lines[sel[s]] = record_case(&cs.v[sel[s]], sel[s], cases_path, &mm);
			mismatches += mm;
		}
	} else {
		/* Workers take every jobs-th selected case and write each JSON line,
		 * prefixed by its index and mismatch flag, to their own pipe. */
		int(*fds)[2] = xmalloc((size_t)jobs * sizeof *fds);
		pid_t *pids = xmalloc((size_t)jobs * sizeof *pids);
		fflush(stdout);
		fflush(stderr);
		for (int w = 0; w < jobs; w++) {
			if (pipe(fds[w]) != 0)
				die(EXIT_RUNTIME, "pipe: %s", strerror(errno));
			pids[w] = fork();
			if (pids[w] < 0)
				die(EXIT_RUNTIME, "fork: %s", strerror(errno));
			if (pids[w] == 0) {
				FILE *out;
				close(fds[w][0]);
				out = fdopen(fds[w][1], "w");
				for (int o = 0; o < w; o++)
					close(fds[o][0]);
				g_maint = NULL; /* the parent's: never use it here */
				g_maint = connect_db(NULL);
				for (size_t s = (size_t)w; s < nsel && !g_stop; s += (size_t)jobs) {
					int mm;
					char *l = record_case(&cs.v[sel[s]], sel[s], cases_path, &mm);
					fprintf(out, "%zu %d %s\n", sel[s], mm, l);
					fflush(out);
					free(l);
				}
				fclose(out);
				PQfinish(g_maint);
				_exit(0);
			}
			close(fds[w][1]);
		}
		/* Read every pipe as data comes (a full pipe would stall its
		 * worker); a worker that fails stops the others. */
		{
			struct pollfd *pf = xmalloc((size_t)jobs * sizeof *pf);
			char **acc = xmalloc((size_t)jobs * sizeof *acc);
			size_t *alen = xmalloc((size_t)jobs * sizeof *alen);
			int open_n = jobs, failed_w = -1;
			for (int w = 0; w < jobs; w++) {
				pf[w].fd = fds[w][0];
				pf[w].events = POLLIN;
				acc[w] = NULL;
				alen[w] = 0;
			}
			while (open_n > 0) {
				if (poll(pf, (nfds_t)jobs, -1) < 0) {
					if (errno == EINTR) {
						if (g_stop) /* pass a signal sent to us alone on */
							for (int w = 0; w < jobs; w++)
								kill(pids[w], SIGTERM);
						continue;
					}
					die(EXIT_RUNTIME, "poll: %s", strerror(errno));
				}
				for (int w = 0; w < jobs; w++) {
					char chunk[65536];
					ssize_t got;
					char *nl;
					if (pf[w].fd < 0 || !(pf[w].revents & (POLLIN | POLLHUP | POLLERR)))
						continue;
					got = read(pf[w].fd, chunk, sizeof chunk);
					if (got < 0 && errno == EINTR)
						continue;
					if (got <= 0) {
						close(pf[w].fd);
						pf[w].fd = -1;
						open_n--;
						continue;
					}
					acc[w] = xrealloc(acc[w], alen[w] + (size_t)got + 1);
					memcpy(acc[w] + alen[w], chunk, (size_t)got);
					alen[w] += (size_t)got;
					acc[w][alen[w]] = '\0';
					while ((nl = memchr(acc[w], '\n', alen[w])) != NULL) {
						size_t idx, used = (size_t)(nl - acc[w]) + 1;
						int mm, off;
						*nl = '\0';
						if (sscanf(acc[w], "%zu %d %n", &idx, &mm, &off) != 2 || idx >= cs.n)
							die(EXIT_RUNTIME, "worker %d: bad line", w);
						lines[idx] = xstrdup(acc[w] + off);
						mismatches += mm;
						memmove(acc[w], acc[w] + used, alen[w] - used + 1);
						alen[w] -= used;
					}
				}
			}
			for (int w = 0; w < jobs; w++) {
				int st;
				if (waitpid(pids[w], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
					if (failed_w < 0)
						for (int o = 0; o < jobs; o++)
							if (o != w)
								kill(pids[o], SIGTERM);
					failed_w = w;
				}
				free(acc[w]);
			}
			free(pf);
			free(acc);
			free(alen);
			if (failed_w >= 0)
				die(EXIT_RUNTIME, "a worker failed");
		}
		free(fds);
		free(pids);
	}

	cleanup();
	PQfinish(g_maint);
	g_maint = NULL;
	if (g_stop)
		die(EXIT_RUNTIME, "interrupted");
	for (size_t s = 0; s < nsel; s++) {
		if (!lines[sel[s]])
			die(EXIT_RUNTIME, "case %s was not recorded", cs.v[sel[s]].name);
		puts(lines[sel[s]]);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		die(EXIT_RUNTIME, "write error on stdout");
	for (size_t i = 0; i < cs.n; i++) {
		free(lines[i]);
		free(cs.v[i].name);
		free(cs.v[i].blocker);
		free(cs.v[i].sql);
	}
	free(lines);
	free(cs.v);
	free(sel);
	free(only);
	free(text);
	free(default_setup);
	if (mismatches) {
		warnx("%d case(s) did not behave as %s says (see above)", mismatches, cases_path);
		return EXIT_MISMATCH;
	}
	return EXIT_OK;
}
