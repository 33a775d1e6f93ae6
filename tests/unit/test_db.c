/* Unit tests for common/db: password redaction, always; and, when PGURL
 * names a database (tests/db.t sets it), the session db_connect sets up. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "msg.h"
#include "tap.h"
#include "xalloc.h"

static void test_redact(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"postgresql://nobody:s3cret@/nodb?host=/nonexistent", "postgresql://nobody@/nodb?host=/nonexistent"},
		{"postgres://u:p%40ss@db.example.com:5432/app", "postgres://u@db.example.com:5432/app"},
		{"POSTGRESQL://u:pw@h/d", "POSTGRESQL://u@h/d"},
		{"postgresql://u:pa?ss@h/d", "postgresql://u@h/d"},
		{"postgresql://u:p:w@h1:5432,h2:5433/d", "postgresql://u@h1:5432,h2:5433/d"},
		{"postgresql://u@h/d", "postgresql://u@h/d"},
		{"postgresql://h:5432/d", "postgresql://h:5432/d"},
		{"postgresql://h/d?user=u&password=x&sslmode=require", "postgresql://h/d?user=u&sslmode=require"},
		{"postgresql://h/d?password=x&sslmode=require", "postgresql://h/d?sslmode=require"},
		{"postgresql://h/d?sslmode=require&password=x", "postgresql://h/d?sslmode=require"},
		{"postgresql://h/d?password=x", "postgresql://h/d"},
		{"host=h password=secret dbname=d", "host=h dbname=d"},
		{"host=h password = 'it\\'s a secret' dbname=d", "host=h dbname=d"},
		{"host=h dbname=d password=se\\ cret", "host=h dbname=d "},
		{"PASSWORD=x host=h", "host=h"},
		{"host=h old_password=x", "host=h old_password=x"},
		{"password authentication failed for user \"u\"", "password authentication failed for user \"u\""},
		{"invalid URI: \"postgresql://u:pw@[::1\"", "invalid URI: \"postgresql://u@[::1\""},
		{"", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *got = db_redact_url(cases[i].in);
		IS_STR(got, cases[i].want, cases[i].in);
		free(got);
	}
}

/* A failed connection names no password, even where libpq quotes it. */
static void test_connect_error(void)
{
	static const char *const urls[] = {
		"postgresql://nobody:s3cret@/nodb?host=/nonexistent",
		"postgresql://nobody:s3%zzcret@/nodb?host=/nonexistent",
		"postgresql://nobody@/nodb?host=/nonexistent&password=s3%zzcret",
		"host=/nonexistent password=s3cret dbname=x port=notaport",
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(*urls); i++) {
		char path[] = "/tmp/test_db.XXXXXX";
		int fd = mkstemp(path), saved = dup(2);
		fflush(stderr);
		dup2(fd, 2);
		PGconn *c = db_connect(urls[i], NULL);
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		char msg[4096] = "";
		ssize_t n = pread(fd, msg, sizeof(msg) - 1, 0);
		msg[n > 0 ? n : 0] = '\0';
		close(fd);
		unlink(path);
		OK(c == NULL, "connect fails: %s", urls[i]);
		OK(strstr(msg, "test_db: error: ") == msg, "message starts with prog: error:");
		msg[strcspn(msg, "\n")] = '\0';
		OK(!strstr(msg, "s3cret") && !strstr(msg, "s3%zzcret"), "no password in: %s", msg);
	}
}

static void is_setting(PGconn *c, const char *guc, const char *want)
{
	const char *params[] = {guc};
	PGresult *r = db_query(c, "SELECT pg_catalog.current_setting($1)", 1, params);
	IS_STR(PQgetvalue(r, 0, 0), want, guc);
	PQclear(r);
}

static void test_session(const char *url)
{
	struct db_opts o = {
		.read_only = true,
		.statement_timeout_ms = 60000,
		.search_path = "public, \"My Schema\"",
	};
	PGconn *c = db_connect(url, &o);
	OK(c != NULL, "connects to PGURL");
	if (!c)
		return;
	is_setting(c, "default_transaction_read_only", "on");
	is_setting(c, "statement_timeout", "1min");
	is_setting(c, "search_path", "public, \"My Schema\"");
	is_setting(c, "application_name", "test_db");
	is_setting(c, "client_encoding", "UTF8");
	PGresult *r = PQexec(c, "CREATE TABLE db_t_should_fail (a int)");
	OK(PQresultStatus(r) == PGRES_FATAL_ERROR, "writes are refused");
	PQclear(r);
	const char *p[] = {"it's", NULL};
	r = db_query(c, "SELECT $1::text, $2::text IS NULL", 2, p);
	IS_STR(db_get(r, 0, "text"), "it's", "parameters pass values as they are");
	OK(db_get_bool(r, 0, "?column?"), "a NULL parameter is SQL NULL");
	PQclear(r);
	char *q = db_quote_ident(c, "Ord\"ers");
	IS_STR(q, "\"Ord\"\"ers\"", "db_quote_ident");
	free(q);
	char *v = db_server_version(c);
	OK(strchr(v, '.') && atoi(v) >= 10, "server version %s", v);
	free(v);
	db_close(c);
}

/* The URL's own options are kept, but cannot undo read-only. */
static void test_url_options(const char *url)
{
	if (strncmp(url, "postgres", 8))
		return;
	char *u = xasprintf("%s%soptions=-c%%20work_mem%%3D7MB%%20-c%%20default_transaction_read_only%%3Doff",
			    url, strchr(url, '?') ? "&" : "?");
	struct db_opts o = {.read_only = true};
	PGconn *c = db_connect(u, &o);
	OK(c != NULL, "connects with options in the URL");
	if (c) {
		is_setting(c, "work_mem", "7MB");
		is_setting(c, "default_transaction_read_only", "on");
	}
	db_close(c);
	free(u);
}

int main(void)
{
	msg_set_prog("test_db");
	test_redact();
	test_connect_error();
	const char *url = getenv("PGURL");
	if (url && *url) {
		test_session(url);
		test_url_options(url);
	}
	return tap_done();
}
