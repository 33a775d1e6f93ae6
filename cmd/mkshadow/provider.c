/*
 * provider: where a shadow runs, and how it is created, marked, found and
 * removed.
 *
 *   local   a throwaway cluster (initdb, pg_ctl; scripts/pg-tmp's recipe):
 *           a private directory holding data, log and the Unix socket,
 *           fsync off, run as the postgres user when we are root. It goes
 *           in --dir, else $TMPDIR, else /dev/shm when that is a tmpfs
 *           with room for twice the expected size (memory: initdb alone is
 *           about 3 times faster there than on ext4), else /tmp.
 *   url     a fresh, uniquely named database on an existing server; where
 *           the role lacks CREATEDB, a fresh, uniquely named schema of the
 *           server's database instead (a schema shadow: production's one
 *           user schema mapped to it, remap.c; every session's search_path
 *           is that schema, through libpq's options in the record's url).
 *   docker  a postgres container, when a Docker engine answers.
 *
 * Every shadow database carries COMMENT ON DATABASE 'migsafe shadow {json}'
 * (state creating|ready, provider, pid, host, created, seal), a schema
 * shadow COMMENT ON SCHEMA with the same text, a local cluster's directory
 * a .migsafe-shadow file with the same JSON, and a container the labels
 * migsafe.nonce and migsafe.seal. The seal (common/seal.h) is keyed with
 * the operator's seal key over the shadow's identity (server system
 * identifier, database, schema; directory; nonce), so a migration that
 * writes a comment, or a forged record, cannot make one: --gc finds
 * shadows by the mark, and --destroy and --gc touch only what carries a
 * valid seal (a local directory must also be ours, with no symbolic link
 * where the cluster is), and applyexplain runs migrations only there. Until shadow_handover(), an
 * atexit handler removes the shadow being built, so a run that dies leaves
 * nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "mkshadow.h"
#include "msg.h"
#include "nd.h"
#include "pgvocab.h"
#include "seal.h"
#include "wfile.h"
#include "xalloc.h"

#define MARK_PREFIX "migsafe shadow"
#define MARK_FILE ".migsafe-shadow"
#define LOCAL_PORT "5432" /* the socket directory is private: no collisions */

static struct shadow *pending; /* being built: removed if we exit before handover */

/* ---- running programs ---- */

/* drain: read fds[0..1] until both close, into outs (NULL: discard). */
static void drain(int fds[2], struct buf *outs[2])
{
	struct pollfd pf[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
	int open = 2;
	char chunk[65536];
	while (open > 0) {
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(pf[i].fd, chunk, sizeof(chunk));
			if (n > 0 && outs[i])
				buf_add(outs[i], chunk, (size_t)n);
			if (n <= 0 && !(n < 0 && errno == EINTR)) {
				close(pf[i].fd);
				pf[i].fd = -1;
				open--;
			}
		}
	}
}

static void become_postgres(void)
{
	struct passwd *pw = getpwnam("postgres");
	if (!pw || initgroups("postgres", pw->pw_gid) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		fprintf(stderr, "%s: cannot run as the postgres user (running as root needs it)\n",
			msg_prog());
		_exit(127);
	}
}

int run_cmd(char *const argv[], bool as_pg, struct buf *out, struct buf *err, char *const envp[])
{
	int po[2], pe[2];
	/* close-on-exec: a program another thread starts meanwhile must not
	 * hold these open (our drain would wait for it too) */
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC))
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (as_pg && geteuid() == 0)
			become_postgres();
		/* killed with us (after setuid, which clears it): an initdb must not
		 * outlive a crashed run; a started server is pg_ctl's grandchild and
		 * does not inherit this */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(127);
		if (chdir("/")) {
		}
		dup2(po[1], 1), dup2(pe[1], 2);
		close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		if (envp)
			execve(argv[0], argv, envp);
		else
			execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(po[1]), close(pe[1]);
	int fds[2] = {po[0], pe[0]};
	struct buf *outs[2] = {out, err};
	drain(fds, outs);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

const char *pg_bindir(int major)
{
	static _Thread_local char dir[4096]; /* pg_dump's thread and the cluster's */
	struct stat st;
	if (major > 0) {
		snprintf(dir, sizeof(dir), "/usr/lib/postgresql/%d/bin", major);
		return stat(dir, &st) == 0 ? dir : NULL;
	}
	struct buf out = BUF_INIT;
	buf_init(&out);
	char *const argv[] = {"pg_config", "--bindir", NULL};
	if (run_cmd(argv, false, &out, NULL, NULL) == 0 && out.len) {
		out.s[strcspn(out.s, "\n")] = '\0';
		snprintf(dir, sizeof(dir), "%s/initdb", out.s);
		if (stat(dir, &st) == 0) {
			snprintf(dir, sizeof(dir), "%s", out.s);
			buf_release(&out);
			return dir;
		}
	}
	buf_release(&out);
	for (int v = 20; v >= 10; v--) {
		snprintf(dir, sizeof(dir), "/usr/lib/postgresql/%d/bin/initdb", v);
		if (stat(dir, &st) == 0) {
			snprintf(dir, sizeof(dir), "/usr/lib/postgresql/%d/bin", v);
			return dir;
		}
	}
	return NULL;
}

/* ---- marks ---- */

/* the_key: the seal key (seal.h), made on first use; dies without one. */
static const unsigned char *the_key(void)
{
	static unsigned char key[SEAL_KEY_LEN];
	static bool have;
	char *why;
	if (!have && seal_key(true, key, &why) < 0)
		die_code(EXIT_RUNTIME, "%s", why);
	have = true;
	return key;
}

/* server_sysid: c's server's system identifier, "" when the role may not
 * read it (the seal then binds the names only, and still needs the key). */
static char *server_sysid(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT system_identifier::text FROM pg_catalog.pg_control_system()");
	char *id = xstrdup(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return id;
}

/* db_seal: the seal of database db (with schema: of that schema of it) on
 * c's server. */
static char *db_seal(PGconn *c, const char *db, const char *schema)
{
	char *sys = server_sysid(c), *seal = seal_of(the_key(), schema ? "schema" : "database", sys, db, schema);
	free(sys);
	return seal;
}

/* dir_seal: the seal of a local cluster's directory (its real path). */
static char *dir_seal(const char *dir)
{
	char *real = realpath(dir, NULL);
	char *seal = seal_of(the_key(), "local", real ? real : dir, NULL, NULL);
	free(real);
	return seal;
}

static char *mark_json(const struct shadow *s, const char *state, const char *seal)
{
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "state", state);
	cJSON_AddStringToObject(o, "provider", s->provider);
	cJSON_AddNumberToObject(o, "pid", (double)getpid());
	cJSON_AddStringToObject(o, "host", host);
	cJSON_AddNumberToObject(o, "created", (double)time(NULL));
	if (seal)
		cJSON_AddStringToObject(o, "seal", seal);
	char *j = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return j;
}

/* abandoned: a mark whose run died while building (same host, pid gone),
 * or older than max_age seconds (max_age >= 0). */
static bool abandoned(const char *json, long max_age, char *why, size_t whylen)
{
	cJSON *o = cJSON_Parse(json);
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	const char *state = nd_get_str(o, "state"), *h = nd_get_str(o, "host");
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(o, "pid");
	const cJSON *created = cJSON_GetObjectItemCaseSensitive(o, "created");
	bool gone = false;
	if (state && !strcmp(state, "creating") && h && !strcmp(h, host) && cJSON_IsNumber(pid))
		gone = kill((pid_t)pid->valuedouble, 0) < 0 && errno == ESRCH;
	long age = cJSON_IsNumber(created) ? (long)(time(NULL) - (time_t)created->valuedouble) : 0;
	if (gone)
		snprintf(why, whylen, "its run (pid %d) died while building it", (int)pid->valuedouble);
	else if (max_age >= 0 && age >= max_age)
		snprintf(why, whylen, "%ld s old", age);
	cJSON_Delete(o);
	return gone || (max_age >= 0 && age >= max_age);
}

static int write_mark_file(const struct shadow *s, const char *state)
{
	char *seal = dir_seal(s->dir);
	char *path = xasprintf("%s/%s", s->dir, MARK_FILE), *j = mark_json(s, state, seal);
	free(seal);
	/* the directory belongs to postgres once handed over: a link planted
	 * there must not take this (maybe root) process's write elsewhere */
	int rc = wfile_write(path, j, strlen(j), 0);
	free(path), free(j);
	return rc;
}

static char *quote_ident(PGconn *c, const char *s)
{
	char *q = PQescapeIdentifier(c, s, strlen(s));
	char *r = xstrdup(q ? q : "\"?\"");
	PQfreemem(q);
	return r;
}

/* mark_database: COMMENT ON DATABASE (utility statements take no
 * parameters, so the text is quoted by libpq). */
static void mark_database(PGconn *admin, const struct shadow *s, const char *state)
{
	char *seal = db_seal(admin, s->database, NULL);
	char *j = mark_json(s, state, seal), *text = xasprintf(MARK_PREFIX " %s", j);
	free(seal);
	char *lit = PQescapeLiteral(admin, text, strlen(text)), *q = quote_ident(admin, s->database);
	char *sql = xasprintf("COMMENT ON DATABASE %s IS %s", q, lit ? lit : "''");
	db_exec_or_die(admin, sql);
	PQfreemem(lit);
	free(j), free(text), free(q), free(sql);
}

/* mark_schema: COMMENT ON SCHEMA, on a session in the schema's database. */
static void mark_schema(PGconn *conn, const struct shadow *s, const char *state)
{
	char *seal = db_seal(conn, s->database, s->schema);
	char *j = mark_json(s, state, seal), *text = xasprintf(MARK_PREFIX " %s", j);
	free(seal);
	char *lit = PQescapeLiteral(conn, text, strlen(text)), *q = quote_ident(conn, s->schema);
	char *sql = xasprintf("COMMENT ON SCHEMA %s IS %s", q, lit ? lit : "''");
	db_exec_or_die(conn, sql);
	PQfreemem(lit);
	free(j), free(text), free(q), free(sql);
}

/* ---- connections ---- */

/* search_path_option: libpq's options value that makes schema the
 * session's search_path (a shadow's name needs no escaping). */
static char *search_path_option(const char *schema)
{
	return xasprintf("-csearch_path=%s", schema);
}

/* conninfo_with_db: url with its database replaced by db (and, for a schema
 * shadow, its sessions' search_path set to schema), as a key=value string
 * (keeps the password, for connecting only; never print it). */
static char *conninfo_with_db(const char *url, const char *db, const char *schema)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(url && *url ? url : "", &err);
	struct buf b = BUF_INIT;
	buf_init(&b);
	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		const char *v = !strcmp(o->keyword, "dbname") ? db : o->val;
		char *opt = NULL;
		if (schema && !strcmp(o->keyword, "options")) {
			char *sp = search_path_option(schema);
			v = opt = xasprintf("%s%s%s", v ? v : "", v && *v ? " " : "", sp);
			free(sp);
		}
		if (!v || !*v)
			continue;
		buf_addf(&b, "%s%s='", b.len ? " " : "", o->keyword);
		for (const char *p = v; *p; p++) {
			if (*p == '\'' || *p == '\\')
				buf_addc(&b, '\\');
			buf_addc(&b, *p);
		}
		buf_addc(&b, '\'');
		free(opt);
	}
	PQconninfoFree(opts);
	PQfreemem(err);
	return buf_detach(&b);
}

static void add_uri_enc(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c))
			buf_addc(b, (char)c);
		else
			buf_addf(b, "%%%02X", c);
	}
}

/* shadow_url: a URL to database db on admin's server, without password;
 * for a schema shadow, sessions get search_path = schema. */
static char *shadow_url(PGconn *admin, const char *admin_url, const char *db, const char *schema)
{
	struct buf b = BUF_INIT;
	const char *host = PQhost(admin), *port = PQport(admin), *user = PQuser(admin);
	buf_init(&b);
	buf_adds(&b, "postgresql://");
	add_uri_enc(&b, user);
	buf_addc(&b, '@');
	bool socket = !host || !*host || host[0] == '/';
	if (!socket) {
		buf_adds(&b, strchr(host, ':') ? "[" : "");
		buf_adds(&b, host);
		buf_adds(&b, strchr(host, ':') ? "]" : "");
		buf_addf(&b, ":%s", port);
	}
	buf_addc(&b, '/');
	add_uri_enc(&b, db);
	if (socket) {
		buf_adds(&b, "?host=");
		add_uri_enc(&b, host ? host : "/tmp");
		buf_addf(&b, "&port=%s", port);
	}
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(admin_url && *admin_url ? admin_url : "", &err);
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (!strcmp(o->keyword, "sslmode") && o->val && *o->val) {
			buf_adds(&b, socket ? "&sslmode=" : "?sslmode=");
			add_uri_enc(&b, o->val);
		}
	PQconninfoFree(opts);
	PQfreemem(err);
	if (schema) {
		char *sp = search_path_option(schema);
		buf_adds(&b, strchr(b.s, '?') ? "&options=" : "?options=");
		add_uri_enc(&b, sp);
		free(sp);
	}
	return buf_detach(&b);
}

static PGconn *admin_connect(const char *url)
{
	struct db_opts o = DB_OPTS_INIT;
	o.connect_timeout_s = 10;
	struct msg_err cerr = MSG_ERR_INIT;
	PGconn *c = db_connect(url, &o, &cerr);
	if (!c)
		die_err(&cerr);
	return c;
}

static int major_of(const char *version)
{
	return atoi(version);
}

static void check_version(const struct shadow_opts *o, const char *prod_version, const char *shadow_version)
{
	if (!o->want_major || major_of(shadow_version) == o->want_major)
		return;
	if (!o->allow_mismatch)
		die_code(EXIT_RUNTIME,
			 "production runs PostgreSQL %s but the shadow would run %s: major versions must match "
			 "(--allow-version-mismatch overrides)",
			 prod_version, shadow_version);
	warning("production runs PostgreSQL %s but the shadow runs %s: EXPLAIN OUTPUT, LOCKS AND "
		"TIMINGS ON THIS SHADOW WILL MISLEAD",
		prod_version, shadow_version);
}

/* refuse_production: the target server is production's (the same system
 * identifier: the same cluster, or a copy of it). The check fails closed:
 * when either side's identifier cannot be read (pg_control_system() revoked
 * from the role), nothing is created. */
static void refuse_production(PGconn *admin, const struct prod *p)
{
	if (!p)
		return;
	PGresult *res = PQexec(admin, "SELECT system_identifier::text FROM pg_catalog.pg_control_system()");
	char *mine = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)
			     ? xstrdup(PQgetvalue(res, 0, 0))
			     : NULL;
	PQclear(res);
	if (!mine || !p->sysid) {
		free(mine);
		die_code(EXIT_RUNTIME,
			 "cannot tell whether the shadow target is the production server: "
			 "pg_control_system() is not readable on %s; refusing to create a shadow (GRANT EXECUTE ON "
			 "FUNCTION pg_catalog.pg_control_system() TO the role there)",
			 mine ? "production" : "the shadow target");
	}
	bool same = !strcmp(mine, p->sysid);
	free(mine);
	if (same)
		die_code(EXIT_RUNTIME, "the shadow target is the production server (same system identifier); "
				       "refusing to create a shadow there");
}

/* unique_name: migsafe_shadow_<UTC stamp>_<8 random hex digits>. */
static char *unique_name(void)
{
	unsigned char r[4] = {0};
	FILE *f = fopen("/dev/urandom", "r");
	if (!f || fread(r, 1, sizeof(r), f) != sizeof(r))
		r[0] = (unsigned char)getpid(), r[1] = (unsigned char)time(NULL);
	if (f)
		fclose(f);
	char stamp[32];
	time_t now = time(NULL);
	strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", gmtime(&now));
	return xasprintf("migsafe_shadow_%s_%02x%02x%02x%02x", stamp, r[0], r[1], r[2], r[3]);
}

/* create_database: a fresh, marked database on admin's server; false
 * (nothing created) when the role lacks the privilege and schema_ok (the
 * caller falls back to a schema shadow). */
static bool create_database(struct shadow *s, PGconn *admin, const char *encoding, bool schema_ok)
{
	char *name = unique_name();
	char *q = quote_ident(admin, name);
	char *enc = PQescapeLiteral(admin, encoding ? encoding : "UTF8", strlen(encoding ? encoding : "UTF8"));
	char *sql = xasprintf("CREATE DATABASE %s TEMPLATE template0 ENCODING %s", q, enc);
	PGresult *res = PQexec(admin, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (schema_ok && state && !strcmp(state, "42501")) {
			PQclear(res);
			PQfreemem(enc);
			free(q), free(sql), free(name);
			return false;
		}
		char *m = db_redact_url(PQresultErrorMessage(res));
		m[strcspn(m, "\n")] = '\0';
		die_code(EXIT_RUNTIME, "cannot create the shadow database: %s%s", m,
			 state && !strcmp(state, "42501") ? " (the role needs CREATEDB; or give --url a server where it has it)" : "");
	}
	PQclear(res);
	s->database = name;
	mark_database(admin, s, "creating");
	PQfreemem(enc);
	free(q), free(sql);
	return true;
}

/* create_schema: a fresh schema in admin's database, created and marked in
 * one transaction (a crash leaves no unmarked schema). */
static void create_schema(struct shadow *s, PGconn *admin, const char *no_schema_shadow)
{
	if (no_schema_shadow)
		die_code(EXIT_RUNTIME, "the role cannot create a shadow database (no CREATEDB), and a schema "
				       "shadow cannot hold production: %s",
			 no_schema_shadow);
	char *name = unique_name(), *q = quote_ident(admin, name), *sql = xasprintf("CREATE SCHEMA %s", q);
	db_exec_or_die(admin, "BEGIN");
	PGresult *res = PQexec(admin, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		char *m = db_redact_url(PQresultErrorMessage(res));
		m[strcspn(m, "\n")] = '\0';
		die_code(EXIT_RUNTIME, "cannot create a shadow: the role has no CREATEDB, and no schema in database %s: %s%s",
			 PQdb(admin), m, state && !strcmp(state, "42501") ? " (it needs CREATEDB, or CREATE on that database)" : "");
	}
	PQclear(res);
	s->database = xstrdup(PQdb(admin));
	s->schema = name;
	mark_schema(admin, s, "creating");
	db_exec_or_die(admin, "COMMIT");
	free(q), free(sql);
}

PGconn *shadow_connect(const struct shadow *s)
{
	char *ci = conninfo_with_db(s->admin_url, s->database, s->schema);
	struct db_opts o = DB_OPTS_INIT;
	o.connect_timeout_s = 10;
	struct msg_err cerr = MSG_ERR_INIT;
	PGconn *c = db_connect(ci, &o, &cerr);
	free(ci);
	if (!c)
		die_err(&cerr);
	/* mkshadow's own sessions only (the shadow's settings, which EXPLAIN
	 * sees later, stay as they are): --jobs sessions already keep the
	 * cores busy, and parallel workers on top of them only compete */
	PQclear(db_query_or_die(c, "SELECT set_config('synchronous_commit', 'off', false), "
				   "set_config('maintenance_work_mem', '256MB', false), "
				   "set_config('max_parallel_workers_per_gather', '0', false), "
				   "set_config('max_parallel_maintenance_workers', '0', false)",
				0, NULL));
	return c;
}

static void connect_shadow(struct shadow *s)
{
	s->conn = shadow_connect(s);
	s->version = db_server_version(s->conn);
	s->major = major_of(s->version);
}

void shadow_forget_conn(void)
{
	if (pending)
		pending->conn = NULL;
}

static void on_exit_cleanup(void)
{
	if (pending) {
		struct shadow *s = pending;
		pending = NULL;
		shadow_destroy(s);
	}
}

/* SIGINT, SIGTERM and SIGHUP end the run with EXIT_RUNTIME, and the
 * half-built shadow goes (on_exit_cleanup). Not from the handler, which
 * only does what is async-signal-safe: it writes the signal into a pipe,
 * and sig_watch, a thread of its own, exits in an ordinary context. */
static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	if (write(sig_pipe[1], &b, 1) < 0) {
		/* nothing to do in a handler */
	}
	errno = saved;
}

static void *sig_watch(void *arg)
{
	unsigned char b;
	(void)arg;
	while (read(sig_pipe[0], &b, 1) < 0 && errno == EINTR)
		;
	exit(EXIT_RUNTIME); /* runs on_exit_cleanup: the half-built shadow goes */
}

/* catch_signals: the handlers and their thread; without a pipe or a
 * thread, the signals keep their default action (no cleanup). */
static void catch_signals(void)
{
	pthread_t th;
	if (pipe2(sig_pipe, O_CLOEXEC) < 0)
		return;
	if (pthread_create(&th, NULL, sig_watch, NULL)) {
		close(sig_pipe[0]), close(sig_pipe[1]);
		return;
	}
	pthread_detach(th);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static void set_pending(struct shadow *s)
{
	static bool registered;
	if (!registered) {
		atexit(on_exit_cleanup);
		catch_signals();
		registered = true;
	}
	pending = s;
}

void shadow_handover(struct shadow *s)
{
	if (pending == s)
		pending = NULL;
}

/* ---- local ---- */

static char *binary_version(const char *bindir)
{
	char *path = xasprintf("%s/postgres", bindir);
	char *const argv[] = {path, "--version", NULL};
	struct buf out = BUF_INIT;
	buf_init(&out);
	int rc = run_cmd(argv, false, &out, NULL, NULL);
	free(path);
	const char *v = rc == 0 ? strstr(out.s, ") ") : NULL; /* "postgres (PostgreSQL) 15.8 ..." */
	char *ver = v ? xstrndup(v + 2, strcspn(v + 2, " \n")) : NULL;
	buf_release(&out);
	return ver;
}

/* server_env: the whole environment of initdb and of the shadow's server
 * (pg_ctl passes its own on): what PostgreSQL needs, and nothing of ours. A
 * migration on the shadow must find no secret there (PROD_DATABASE_URL,
 * MIGSAFE_MASK_KEY, tokens, API keys), whatever it manages to run. */
static char **server_env(void)
{
	static char path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
	static char lc[] = "LC_ALL=C";
	static char tz[256];
	static char *env[4];
	int n = 0;
	env[n++] = path;
	env[n++] = lc;
	const char *t = getenv("TZ"); /* the cluster's default time zone, as initdb reads it */
	if (t && *t && strlen(t) < sizeof(tz) - 3 && !strpbrk(t, "\n")) {
		snprintf(tz, sizeof(tz), "TZ=%s", t);
		env[n++] = tz;
	}
	env[n] = NULL;
	return env;
}

static void run_or_die(char *const argv[], bool as_pg, const char *what, const char *logpath)
{
	struct buf err = BUF_INIT;
	buf_init(&err);
	if (run_cmd(argv, as_pg, NULL, &err, server_env()) == 0) {
		buf_release(&err);
		return;
	}
	char *last = err.len ? err.s : "";
	while (err.len && err.s[err.len - 1] == '\n')
		err.s[--err.len] = '\0';
	char *nl = strrchr(last, '\n');
	die_code(EXIT_RUNTIME, "%s failed: %s%s%s", what, nl ? nl + 1 : last,
		 logpath ? "; see " : "", logpath ? logpath : "");
}

/* The shared-memory tmpfs, when it is one and we may write to it. */
#define SHM_DIR "/dev/shm"

static bool shm_room(double bytes)
{
	struct statfs fs;
	if (statfs(SHM_DIR, &fs) || fs.f_type != TMPFS_MAGIC || access(SHM_DIR, W_OK | X_OK))
		return false;
	return (double)fs.f_bavail * (double)fs.f_bsize >= 2 * bytes;
}

/* local_parent: where a local cluster goes (see the header comment). */
static const char *local_parent(const char *dir, double est_bytes)
{
	const char *tmp = getenv("TMPDIR");
	if (dir && *dir)
		return dir;
	if (tmp && *tmp)
		return tmp;
	/* a cluster starts at about 40 MB; never count on less than 256 MB */
	return shm_room(est_bytes > 256e6 ? est_bytes : 256e6) ? SHM_DIR : "/tmp";
}

static void create_local(struct shadow *s, const struct shadow_opts *o, const char *encoding)
{
	const char *bin = o->bindir ? o->bindir : pg_bindir(o->want_major);
	if (!bin)
		bin = pg_bindir(0);
	if (!bin)
		die_code(EXIT_RUNTIME, "no PostgreSQL server programs found (install postgresql-15, or use --url)");
	char *ver = binary_version(bin);
	if (!ver)
		die_code(EXIT_RUNTIME, "cannot run %s/postgres --version", bin);
	check_version(o, o->prod ? o->prod->version : "", ver);
	free(ver);

	char *tmpl = xasprintf("%s/migsafe-shadow.XXXXXX", local_parent(o->dir, o->est_bytes));
	if (!mkdtemp(tmpl))
		die_code(EXIT_RUNTIME, "cannot create %s: %s", tmpl, strerror(errno));
	s->dir = tmpl;
	set_pending(s);
	char *pgtmp = xasprintf("%s/.pg-tmp", s->dir); /* scripts/pg-tmp stop works on it too */
	(void)wfile_write(pgtmp, "", 0, WFILE_NEW);
	free(pgtmp);
	if (write_mark_file(s, "creating"))
		die_code(EXIT_RUNTIME, "cannot write %s/%s", s->dir, MARK_FILE);
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("postgres");
		if (!pw)
			die_code(EXIT_RUNTIME, "running as root needs the postgres user (initdb refuses root)");
		if (chown(s->dir, pw->pw_uid, pw->pw_gid) || chmod(s->dir, 0755))
			die_code(EXIT_RUNTIME, "cannot hand %s to postgres: %s", s->dir, strerror(errno));
	}
	char *initdb = xasprintf("%s/initdb", bin), *pgctl = xasprintf("%s/pg_ctl", bin);
	char *data = xasprintf("%s/data", s->dir), *log = xasprintf("%s/log", s->dir);
	char *enc = xasprintf("--encoding=%s", encoding ? encoding : "UTF8");
	char *const initdb_argv[] = {initdb, "--nosync", "-A", "trust", "-U", "postgres", enc, "--no-locale",
				     "-D", data, NULL};
	run_or_die(initdb_argv, true, "initdb", NULL);
	char *pss = xasprintf("%s/../lib/pg_stat_statements.so", bin);
	struct stat st;
	/* dynamic shared memory in files of the data directory, not in
	 * /dev/shm: a server killed with SIGKILL leaves its segments behind,
	 * and there they go with the directory */
	char *opts = xasprintf("-p " LOCAL_PORT " -F -c fsync=off -c full_page_writes=off "
			       "-c synchronous_commit=off -c wal_level=minimal -c max_wal_senders=0 "
			       "-c max_wal_size=4GB -c autovacuum=off -c dynamic_shared_memory_type=mmap "
			       "-c listen_addresses='' -k '%s'%s",
			       s->dir, stat(pss, &st) == 0 ? " -c shared_preload_libraries=pg_stat_statements" : "");
	char *const start_argv[] = {pgctl, "-D", data, "-w", "-t", "60", "-l", log, "-o", opts, "start", NULL};
	run_or_die(start_argv, true, "starting the shadow cluster", log);
	struct buf u = BUF_INIT;
	buf_init(&u);
	buf_adds(&u, "postgresql://postgres@/postgres?host=");
	add_uri_enc(&u, s->dir);
	buf_adds(&u, "&port=" LOCAL_PORT);
	s->admin_url = buf_detach(&u);
	free(initdb), free(pgctl), free(data), free(log), free(enc), free(pss), free(opts);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* local_owner_ok: st is owned by us, or (as root) by postgres, to whom
 * create_local hands the directory. */
static bool local_owner_ok(const struct stat *st)
{
	if (st->st_uid == geteuid())
		return true;
	struct passwd *pw = geteuid() == 0 ? getpwnam("postgres") : NULL;
	return pw && st->st_uid == pw->pw_uid;
}

/* local_dir_sealed: dir is a real directory (no symlink anywhere we look),
 * ours, whose mark file is ours and carries its seal; else why not. */
static const char *local_dir_sealed(const char *dir)
{
	struct stat st;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return "not a directory (or a symbolic link)";
	if (!local_owner_ok(&st))
		return "not owned by this user";
	char *data = xasprintf("%s/data", dir), *mark = xasprintf("%s/%s", dir, MARK_FILE);
	bool data_ok = lstat(data, &st) < 0 ? errno == ENOENT : S_ISDIR(st.st_mode) && local_owner_ok(&st);
	int fd = open(mark, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(data), free(mark);
	if (!data_ok) {
		if (fd >= 0)
			close(fd);
		return "its data directory is a symbolic link or not its own";
	}
	char json[4096];
	ssize_t n = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && local_owner_ok(&st)
			    ? read(fd, json, sizeof(json) - 1)
			    : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return "no mark file of its own (" MARK_FILE ")";
	json[n] = '\0';
	char *text = xasprintf(MARK_PREFIX " %s", json), *seal = dir_seal(dir);
	bool ok = seal_mark_ok(text, seal);
	free(text), free(seal);
	return ok ? NULL : "its mark has no valid seal (not made by mkshadow with this seal key)";
}

static int destroy_local_dir(const char *dir)
{
	char *pid = xasprintf("%s/data/postmaster.pid", dir);
	struct stat st;
	const char *why;
	int rc = 0;
	if (lstat(dir, &st) < 0) {
		warning("%s: already gone", dir);
	} else if ((why = local_dir_sealed(dir))) {
		rc = error("refusing to remove %s: %s", dir, why);
	} else {
		if (lstat(pid, &st) == 0 && S_ISREG(st.st_mode)) {
			const char *bin = pg_bindir(0);
			char *pgctl = xasprintf("%s/pg_ctl", bin ? bin : "/usr/lib/postgresql/15/bin");
			char *data = xasprintf("%s/data", dir);
			char *const argv[] = {pgctl, "-D", data, "-m", "immediate", "-w", "stop", NULL};
			if (run_cmd(argv, true, NULL, NULL, server_env()) != 0)
				warning("pg_ctl stop failed for %s", dir);
			free(pgctl), free(data);
		}
		if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
			rc = error("cannot remove %s: %s", dir, strerror(errno));
	}
	free(pid);
	return rc;
}

/* ---- docker ---- */

static char *docker(char *const argv[], const char *what, bool fatal)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	buf_init(&out), buf_init(&err);
	int rc = run_cmd(argv, false, &out, &err, NULL);
	buf_release(&err);
	if (rc != 0) {
		buf_release(&out);
		if (fatal)
			die_code(EXIT_RUNTIME, "%s failed", what);
		return NULL;
	}
	while (out.len && (out.s[out.len - 1] == '\n' || out.s[out.len - 1] == ' '))
		out.s[--out.len] = '\0';
	return buf_detach(&out);
}

static void create_docker(struct shadow *s, const struct shadow_opts *o)
{
	char *const info[] = {"docker", "info", "--format", "{{.ServerVersion}}", NULL};
	char *v = docker(info, "docker info", false);
	if (!v)
		die_code(EXIT_RUNTIME, "no Docker engine answers (docker info failed); use the local "
				       "provider (the default) or --url SERVER");
	free(v);
	/* labels that --destroy checks: a nonce, and its seal */
	char *nonce = seal_random_hex(16);
	if (!nonce)
		die_code(EXIT_RUNTIME, "cannot read /dev/urandom");
	char *seal = seal_of(the_key(), "docker", nonce, NULL, NULL);
	char *nonce_label = xasprintf("migsafe.nonce=%s", nonce), *seal_label = xasprintf("migsafe.seal=%s", seal);
	char *const run[] = {"docker", "run", "-d", "--rm", "--label", "migsafe.shadow=1", "--label", nonce_label,
			     "--label", seal_label, "-e", "POSTGRES_HOST_AUTH_METHOD=trust", "-p", "127.0.0.1::5432",
			     (char *)o->image, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c",
			     "full_page_writes=off", NULL};
	s->container = docker(run, "docker run", true);
	free(nonce), free(seal), free(nonce_label), free(seal_label);
	set_pending(s);
	char *const port[] = {"docker", "port", s->container, "5432/tcp", NULL};
	char *hp = docker(port, "docker port", true);
	hp[strcspn(hp, "\n")] = '\0';
	const char *colon = strrchr(hp, ':');
	s->admin_url = xasprintf("postgresql://postgres@127.0.0.1:%s/postgres?connect_timeout=5", colon ? colon + 1 : "5432");
	free(hp);
	for (int i = 0; i < 120; i++) { /* the image runs initdb first */
		PGconn *c = PQconnectdb(s->admin_url);
		bool up = PQstatus(c) == CONNECTION_OK;
		PQfinish(c);
		if (up)
			return;
		usleep(500000);
	}
	die_code(EXIT_RUNTIME, "the container's server did not come up in 60 s");
}

/* ---- the provider interface ---- */

void shadow_create(struct shadow *s, const struct shadow_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->provider = xstrdup(o->provider);
	const char *enc = o->prod ? o->prod->encoding : NULL;
	if (!strcmp(o->provider, "local")) {
		create_local(s, o, enc);
	} else if (!strcmp(o->provider, "docker")) {
		create_docker(s, o);
	} else {
		s->admin_url = xstrdup(o->url);
	}
	PGconn *admin = admin_connect(s->admin_url);
	char *ver = db_server_version(admin);
	if (strcmp(o->provider, "local"))
		check_version(o, o->prod ? o->prod->version : "", ver);
	free(ver);
	if (!strcmp(o->provider, "url"))
		refuse_production(admin, o->prod);
	set_pending(s);
	if (!strcmp(o->provider, "local")) {
		/* the cluster is ours, and initdb made its postgres database in
		 * production's encoding: a CREATE DATABASE more would only copy
		 * template0's files again (a third of a second or more) */
		s->database = xstrdup(PQdb(admin));
		mark_database(admin, s, "creating");
	} else if (!create_database(s, admin, enc, !strcmp(o->provider, "url"))) {
		create_schema(s, admin, o->no_schema_shadow);
	}
	s->url = shadow_url(admin, s->admin_url, s->database, s->schema);
	db_close(admin);
	connect_shadow(s);
	if (s->dir)
		write_mark_file(s, "creating");
}

void shadow_mark_ready(struct shadow *s)
{
	if (s->schema) {
		mark_schema(s->conn, s, "ready");
		return;
	}
	PGconn *admin = admin_connect(s->admin_url);
	mark_database(admin, s, "ready");
	db_close(admin);
	if (s->dir)
		write_mark_file(s, "ready");
}

/* drop_marked: on c, drop_fmt's DROP of the `kind` (database, schema)
 * named name, after mark_sql ($1 = name) shows it carries the shadow mark.
 * label names it in the message when it is already gone. */
static int drop_marked(PGconn *c, const char *kind, const char *name, const char *label, const char *mark_sql,
		       const char *drop_fmt, const char *expected)
{
	const char *params[] = {name};
	PGresult *res = PQexecParams(c, mark_sql, 1, NULL, params, NULL, NULL, 0);
	int rc = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = error("%s", PQresultErrorMessage(res));
	} else if (PQntuples(res) == 0) {
		warning("%s: already gone", label);
	} else if (PQgetisnull(res, 0, 0) || strncmp(PQgetvalue(res, 0, 0), MARK_PREFIX, strlen(MARK_PREFIX))) {
		rc = error("refusing to drop %s %s: it is not marked as a shadow", kind, name);
	} else if (!seal_mark_ok(PQgetvalue(res, 0, 0), expected)) {
		rc = error("refusing to drop %s %s: its shadow mark has no valid seal (not made by mkshadow "
			   "with this seal key)",
			   kind, name);
	} else {
		char *q = quote_ident(c, name), *sql = xasprintf(drop_fmt, q);
		PGresult *r2 = PQexec(c, sql);
		if (PQresultStatus(r2) != PGRES_COMMAND_OK) {
			char *m = xstrdup(PQresultErrorMessage(r2));
			m[strcspn(m, "\n")] = '\0';
			rc = error("dropping %s %s: %s", kind, name, m);
			free(m);
		}
		PQclear(r2);
		free(q), free(sql);
	}
	PQclear(res);
	return rc;
}

/* drop_database: DROP ... WITH (FORCE) after checking the mark. */
static int drop_database(const char *admin_url, const char *db)
{
	PGconn *admin = admin_connect(admin_url);
	char *label = xasprintf("database %s", db), *seal = db_seal(admin, db, NULL);
	int rc = drop_marked(admin, "database", db, label,
			     "SELECT shobj_description(oid, 'pg_database') AS mark FROM pg_database WHERE datname = $1",
			     "DROP DATABASE %s WITH (FORCE)", seal);
	if (rc == 0) { /* the role applyexplain made to run migrations there, owning nothing now */
		char *role = xasprintf("migsafe_m_%.53s", db);
		const char *params[1] = {role};
		PGresult *r = db_query_or_die(admin, "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", 1, params);
		bool exists = PQntuples(r) == 1;
		PQclear(r);
		if (exists) {
			char *q = quote_ident(admin, role), *sql = xasprintf("DROP ROLE %s", q);
			r = PQexec(admin, sql);
			if (PQresultStatus(r) != PGRES_COMMAND_OK)
				warning("role %s stays: %s", role, PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
			PQclear(r);
			free(q), free(sql);
		}
		free(role);
	}
	free(label), free(seal);
	db_close(admin);
	return rc;
}

/* drop_schema: DROP SCHEMA ... CASCADE after checking the mark, in
 * database db of admin_url's server. */
static int drop_schema(const char *admin_url, const char *db, const char *schema)
{
	char *ci = conninfo_with_db(admin_url, db, NULL);
	PGconn *c = admin_connect(ci);
	free(ci);
	PQsetNoticeProcessor(c, pgv_notice_quiet, NULL); /* "drop cascades to ..." */
	char *label = xasprintf("schema %s of database %s", schema, db), *seal = db_seal(c, db, schema);
	int rc = drop_marked(c, "schema", schema, label,
			     "SELECT obj_description(oid, 'pg_namespace') AS mark FROM pg_namespace WHERE nspname = $1",
			     "DROP SCHEMA %s CASCADE", seal);
	free(label), free(seal);
	db_close(c);
	return rc;
}

int shadow_destroy(struct shadow *s)
{
	if (pending == s)
		pending = NULL;
	db_close(s->conn);
	s->conn = NULL;
	if (s->dir)
		return destroy_local_dir(s->dir);
	if (s->container) {
		/* only a container whose labels carry a valid seal */
		char *const inspect[] = {"docker", "inspect", "--type", "container", "--format",
					 "{{index .Config.Labels \"migsafe.nonce\"}} {{index .Config.Labels \"migsafe.seal\"}}",
					 s->container, NULL};
		char *labels = docker(inspect, "docker inspect", false), *sp = labels ? strchr(labels, ' ') : NULL;
		char *want = NULL;
		if (sp) {
			*sp = '\0';
			want = *labels ? seal_of(the_key(), "docker", labels, NULL, NULL) : NULL;
		}
		bool ok = want && seal_equal(sp + 1, want);
		free(labels), free(want);
		if (!ok)
			return error("refusing to remove container %s: it carries no valid migsafe seal label "
				     "(not a shadow mkshadow made with this seal key)",
				     s->container);
		char *const rm[] = {"docker", "rm", "-f", s->container, NULL};
		char *out = docker(rm, "docker rm", false);
		free(out);
		return out ? 0 : error("docker rm -f %s failed", s->container);
	}
	if (s->schema && s->database && s->admin_url)
		return drop_schema(s->admin_url, s->database, s->schema);
	if (s->database && s->admin_url)
		return drop_database(s->admin_url, s->database);
	return 0;
}

cJSON *shadow_record(const struct shadow *s)
{
	cJSON *r = nd_record("shadow"), *d = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "url", s->url);
	cJSON_AddStringToObject(r, "server_version", s->version);
	cJSON_AddStringToObject(r, "provider", s->provider);
	cJSON_AddStringToObject(r, "database", s->database);
	if (s->schema) {
		cJSON_AddStringToObject(r, "schema", s->schema);
		cJSON_AddStringToObject(r, "maps_schema", s->maps_schema ? s->maps_schema : "public");
	}
	cJSON_AddStringToObject(d, "provider", s->provider);
	cJSON_AddStringToObject(d, "database", s->database);
	if (s->schema)
		cJSON_AddStringToObject(d, "schema", s->schema);
	char *admin = db_redact_url(s->admin_url);
	cJSON_AddStringToObject(d, "admin_url", admin);
	free(admin);
	if (s->dir)
		cJSON_AddStringToObject(d, "dir", s->dir);
	if (s->container)
		cJSON_AddStringToObject(d, "container", s->container);
	cJSON_AddItemToObject(r, "destroy", d);
	return r;
}

int shadow_from_record(struct shadow *s, const cJSON *rec, const char *admin_override)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(rec, "destroy");
	memset(s, 0, sizeof(*s));
	const char *prov = nd_get_str(d, "provider"), *dir = nd_get_str(d, "dir");
	const char *db = nd_get_str(d, "database"), *admin = nd_get_str(d, "admin_url");
	const char *ctr = nd_get_str(d, "container"), *schema = nd_get_str(d, "schema");
	if (!prov || (!dir && !ctr && !(db && (admin || admin_override))))
		return -1;
	s->provider = xstrdup(prov);
	s->dir = dir ? xstrdup(dir) : NULL;
	s->container = ctr ? xstrdup(ctr) : NULL;
	s->database = db ? xstrdup(db) : NULL;
	s->schema = schema ? xstrdup(schema) : NULL;
	/* a password never travels in records: the url provider's comes from
	 * --url / SHADOW_DATABASE_URL (or libpq's PGPASSWORD, .pgpass) */
	s->admin_url = xstrdup(admin_override && !strcmp(prov, "url") ? admin_override : admin ? admin
											       : "");
	return 0;
}

void shadow_release(struct shadow *s)
{
	db_close(s->conn);
	free(s->provider), free(s->admin_url), free(s->database), free(s->url);
	free(s->dir), free(s->container), free(s->version), free(s->schema), free(s->maps_schema);
	memset(s, 0, sizeof(*s));
}

/* ---- gc ---- */

/* gc_in: the local shadows left in directory parent. */
static int gc_in(const char *parent, long max_age, bool dry_run)
{
	char *pat = xasprintf("%s/migsafe-shadow.*", parent);
	glob_t g;
	int n = 0;
	if (glob(pat, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			char *mark = xasprintf("%s/%s", g.gl_pathv[i], MARK_FILE), why[128] = "";
			FILE *f = fopen(mark, "r");
			char json[4096] = "";
			size_t len = f ? fread(json, 1, sizeof(json) - 1, f) : 0;
			json[len] = '\0';
			if (f)
				fclose(f);
			if (f && abandoned(json, max_age, why, sizeof(why))) {
				fprintf(stderr, "%s: %s local shadow %s (%s)\n", msg_prog(),
					dry_run ? "would remove" : "removing", g.gl_pathv[i], why);
				if (dry_run || destroy_local_dir(g.gl_pathv[i]) == 0)
					n++;
			}
			free(mark);
		}
		globfree(&g);
	}
	free(pat);
	return n;
}

static int gc_server(const char *url, long max_age, bool dry_run)
{
	PGconn *admin = admin_connect(url);
	PGresult *res = db_query_or_die(admin,
					"SELECT datname, substr(shobj_description(oid, 'pg_database'), "
					"length('" MARK_PREFIX "') + 2) AS mark FROM pg_database "
					"WHERE shobj_description(oid, 'pg_database') LIKE '" MARK_PREFIX "%' ORDER BY 1",
					0, NULL);
	int n = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		char why[128] = "";
		const char *db = PQgetvalue(res, i, 0);
		if (!abandoned(PQgetvalue(res, i, 1), max_age, why, sizeof(why)))
			continue;
		fprintf(stderr, "%s: %s shadow database %s (%s)\n", msg_prog(), dry_run ? "would drop" : "dropping",
			db, why);
		if (dry_run || drop_database(url, db) == 0)
			n++;
	}
	PQclear(res);
	/* schema shadows live in the server's own database */
	res = db_query_or_die(admin,
			      "SELECT nspname, substr(obj_description(oid, 'pg_namespace'), length('" MARK_PREFIX "') + 2) "
			      "AS mark FROM pg_namespace WHERE obj_description(oid, 'pg_namespace') LIKE '" MARK_PREFIX
			      "%' ORDER BY 1",
			      0, NULL);
	for (int i = 0; i < PQntuples(res); i++) {
		char why[128] = "";
		const char *sch = PQgetvalue(res, i, 0);
		if (!abandoned(PQgetvalue(res, i, 1), max_age, why, sizeof(why)))
			continue;
		fprintf(stderr, "%s: %s shadow schema %s of database %s (%s)\n", msg_prog(),
			dry_run ? "would drop" : "dropping", sch, PQdb(admin), why);
		if (dry_run || drop_schema(url, PQdb(admin), sch) == 0)
			n++;
	}
	PQclear(res);
	db_close(admin);
	return n;
}

/* gc_local: every place a local shadow may have been put under the same
 * settings: --dir, and $TMPDIR, or, without TMPDIR, /dev/shm and /tmp. */
static int gc_local(const char *dir, long max_age, bool dry_run)
{
	const char *tmp = getenv("TMPDIR");
	const char *where[3] = {dir && *dir ? dir : NULL, tmp && *tmp ? tmp : SHM_DIR, tmp && *tmp ? NULL : "/tmp"};
	int n = 0;
	for (int i = 0; i < 3; i++) {
		bool seen = !where[i];
		for (int k = 0; k < i && !seen; k++)
			seen = where[k] && !strcmp(where[k], where[i]);
		if (!seen)
			n += gc_in(where[i], max_age, dry_run);
	}
	return n;
}

int shadow_gc(const char *server_url, const char *dir, long max_age, bool dry_run)
{
	int n = gc_local(dir, max_age, dry_run);
	if (server_url)
		n += gc_server(server_url, max_age, dry_run);
	return n;
}
