/* Unit tests for common/db: password redaction, always; and, when PGURL
 * names a database (tests/db.t sets it), the session db_connect sets up. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
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

/* leaks: text holds secret, literally, percent-encoded in any way, or
 * backslash-escaped (checked by decoding text, not by db.c's matcher). */
static bool leaks(const char *text, const char *secret)
{
	char *pct = xstrdup(text), *esc = xstrdup(text);
	size_t j = 0, k = 0;
	for (size_t i = 0; text[i]; i++) {
		unsigned x;
		if (text[i] == '%' && sscanf(text + i + 1, "%2x", &x) == 1 && isxdigit((unsigned char)text[i + 2]))
			pct[j++] = (char)x, i += 2;
		else
			pct[j++] = text[i];
	}
	pct[j] = '\0';
	for (size_t i = 0; text[i]; i++)
		esc[k++] = text[i] == '\\' && text[i + 1] ? text[++i] : text[i];
	esc[k] = '\0';
	bool found = strstr(text, secret) || strstr(pct, secret) || strstr(esc, secret);
	free(pct);
	free(esc);
	return found;
}

/* Every spelling of a secret parameter: none survives, in any form. */
static void test_redact_spellings(void)
{
	static const struct {
		const char *in, *secret;
	} cases[] = {
		{"postgresql://u:s3cr3tpw@h/db", "s3cr3tpw"},
		{"postgresql://u@h/db?password=s3cr3tpw", "s3cr3tpw"},
		{"postgresql://u@h/db?sslpassword=s3cr3tpw&sslmode=require", "s3cr3tpw"},
		{"postgresql://u@h/db?sslmode=require&SSLPassword=s3cr3tpw", "s3cr3tpw"},
		{"postgresql://u@h/db?pass%77ord=s3cr3tpw", "s3cr3tpw"},
		{"postgresql://u@h/db?%70%61%73%73%77%6f%72%64=s3cr3tpw", "s3cr3tpw"},
		{"postgresql://u@h/db?ssl%50ASSWORD=s3cr3tpw", "s3cr3tpw"},
		{"postgresql://u:%73%33cr3tpw@h/db", "s3cr3tpw"},
		{"postgresql://u@h/db?password=s%33cr%33tpw", "s3cr3tpw"},
		{"postgresql://u:s3cr3tpw@h1:5432,h2:5433,h3/db?target_session_attrs=any", "s3cr3tpw"},
		{"postgresql://u:pa/ss3cr3t@h/db", "pa/ss3cr3t"},
		{"host=h password='s3 cr3t\\'pw' dbname=d", "s3 cr3t'pw"},
		{"host=h sslpassword=s3cr\\ 3tpw dbname=d", "s3cr 3tpw"},
		{"host=h SSLPASSWORD = 's3cr3tpw'", "s3cr3tpw"},
		{"postgresql://u:p%40%3A%2F%25%26%20w0rd@h/db", "p@:/%& w0rd"},
		{"postgresql://u@h/db?password=p%40%3a%2f%25%26%20w0rd", "p@:/%& w0rd"},
		{"host=h password='p@:/%& w0rd' dbname=d", "p@:/%& w0rd"},
		{"could not parse \"postgresql://u:s3cr3tpw@h/db\": bad token \"s%33cr3tpw\"", "s3cr3tpw"},
		{"error in 'host=h sslpassword=s3cr3tpw': near s3cr3tpw", "s3cr3tpw"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *got = db_redact_url(cases[i].in);
		OK(!leaks(got, cases[i].secret), "no secret in any form: %s -> %s", cases[i].in, got);
		free(got);
	}
	char *got = db_redact_url("postgresql://u:pw1xx@h/db?sslpassword=pw2yy&application_name=a");
	OK(!leaks(got, "pw1xx") && !leaks(got, "pw2yy"), "two secrets in one URL: %s", got);
	free(got);
}

/* Redaction keeps the rest of the text readable. */
static void test_redact_shapes(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"postgresql://u@h/db?pass%77ord=s3cr3tpw&sslmode=require", "postgresql://u@h/db?sslmode=require"},
		{"postgresql://u@h/db?sslmode=require&sslpassword=s3cr3tpw", "postgresql://u@h/db?sslmode=require"},
		{"postgresql://u:s3cr3tpw@h1:5432,h2:5433/db", "postgresql://u@h1:5432,h2:5433/db"},
		{"host=h sslpassword='a b\\'c' dbname=d", "host=h dbname=d"},
		{"postgresql://h/db?passfile=/x/.pgpass&sslkey=/x/k", "postgresql://h/db?passfile=/x/.pgpass&sslkey=/x/k"},
		{"postgresql://h:5432/db?application_name=a@b", "postgresql://h:5432/db?application_name=a@b"},
		{"bad token \"s3cr3tpw\" in postgresql://u:s3cr3tpw@h/db", "bad token \"***\" in postgresql://u@h/db"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *got = db_redact_url(cases[i].in);
		IS_STR(got, cases[i].want, cases[i].in);
		free(got);
	}
}

/* The original bytes of argv (what /proc/PID/cmdline shows) lose their
 * secrets; argv points to copies the program reads unchanged. */
static void test_hide_argv(void)
{
	static const struct {
		const char *arg, *shown;
	} cases[] = {
		{"--db=postgresql://u:s3cr3tpw@h/db", "--db=postgresql://u:xxxxxxxx@h/db"},
		{"postgres://u@h/db?pass%77ord=s3%63r3tpw&sslmode=require", "postgres://u@h/db?pass%77ord=xxxxxxxxxx&sslmode=require"},
		{"host=h password='s3 cr3t' dbname=d", "host=h password='xxxxxxx' dbname=d"},
		{"host=h sslpassword=s3cr\\ 3tpw", "host=h sslpassword=xxxxxxxxxx"},
		{"postgresql://u:p%40%3A%2F%25%26%20w0rd@h1,h2/db", "postgresql://u:xxxxxxxxxxxxxxxxxxxxxxx@h1,h2/db"},
		{"--format", "--format"},
	};
	size_t n = sizeof(cases) / sizeof(*cases);
	char *orig[sizeof(cases) / sizeof(*cases) + 1], *argv[sizeof(cases) / sizeof(*cases) + 2];
	argv[0] = "prog";
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = orig[i] = xstrdup(cases[i].arg);
	argv[n + 1] = NULL;
	db_hide_argv_secrets((int)n + 1, argv);
	for (size_t i = 0; i < n; i++) {
		IS_STR(orig[i], cases[i].shown, "cmdline shows no secret");
		IS_STR(argv[i + 1], cases[i].arg, "the program still reads the argument");
		if (argv[i + 1] != orig[i])
			free(argv[i + 1]);
		free(orig[i]);
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
		struct msg_err err = MSG_ERR_INIT;
		PGconn *c = db_connect(urls[i], NULL, &err);
		char msg[4096] = "";
		snprintf(msg, sizeof(msg), "%s", err.text ? err.text : "");
		OK(c == NULL, "connect fails: %s", urls[i]);
		OK(err.code == EXIT_RUNTIME && *msg && strncmp(msg, "error: ", 7),
		   "the error, a runtime one, is returned, without \"error: \"");
		msg[strcspn(msg, "\n")] = '\0';
		OK(!strstr(msg, "s3cret") && !strstr(msg, "s3%zzcret"), "no password in: %s", msg);
		err_release(&err);
	}
}

static void is_setting(PGconn *c, const char *guc, const char *want)
{
	const char *params[] = {guc};
	struct msg_err err = MSG_ERR_INIT;
	PGresult *r = db_query(c, "SELECT pg_catalog.current_setting($1)", 1, params, &err);
	if (!r)
		die_err(&err);
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
	struct msg_err err = MSG_ERR_INIT;
	PGconn *c = db_connect(url, &o, &err);
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
	r = db_query(c, "SELECT $1::text, $2::text IS NULL", 2, p, &err);
	if (!r)
		die_err(&err);
	IS_STR(db_get(r, 0, "text"), "it's", "parameters pass values as they are");
	OK(db_get_bool(r, 0, "?column?"), "a NULL parameter is SQL NULL");
	PQclear(r);
	char *q = db_quote_ident(c, "Ord\"ers", &err);
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
	struct msg_err err = MSG_ERR_INIT;
	PGconn *c = db_connect(u, &o, &err);
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
	test_redact_spellings();
	test_redact_shapes();
	test_hide_argv();
	test_connect_error();
	const char *url = getenv("PGURL");
	if (url && *url) {
		test_session(url);
		test_url_options(url);
	}
	return tap_done();
}
