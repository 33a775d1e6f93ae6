#include "db.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "msg.h"
#include "xalloc.h"

/* Passwords shorter than this are not blanked out of free text: doing so
 * would shred the message, and they protect nothing anyway. */
#define SCRUB_MIN_LEN 3

/* ---- redaction ---- */

static bool is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* uri_prefix: length of "postgresql://" or "postgres://" at s, or 0. */
static size_t uri_prefix(const char *s)
{
	if (!strncasecmp(s, "postgresql://", 13))
		return 13;
	if (!strncasecmp(s, "postgres://", 11))
		return 11;
	return 0;
}

/* userinfo: copy the userinfo at s (just after "scheme://") to out without
 * its ":password", as libpq reads it: up to the first '@' that comes before
 * any '/'. Records the password in found. Returns the bytes consumed. */
static size_t redact_userinfo(const char *s, struct buf *out, struct strv *found)
{
	size_t at = strcspn(s, "@/");
	if (s[at] != '@')
		return 0;
	const char *colon = memchr(s, ':', at);
	if (!colon)
		return 0;
	buf_add(out, s, (size_t)(colon - s));
	if (found)
		strv_push_take(found, xstrndup(colon + 1, at - (size_t)(colon - s) - 1));
	return at;
}

/* password_key: if s (at a word boundary) is "password" then optional
 * spaces and '=', the length up to and including '='; else 0. */
static size_t password_key(const char *s)
{
	if (strncasecmp(s, "password", 8))
		return 0;
	size_t n = 8;
	while (s[n] == ' ' || s[n] == '\t')
		n++;
	return s[n] == '=' ? n + 1 : 0;
}

/* kv_value: length of a key=value value at s (leading spaces included), as
 * libpq's conninfo parser reads it: 'quoted' or up to a space, with
 * backslash escapes. The value's text goes to found. */
static size_t kv_value(const char *s, struct strv *found)
{
	size_t i = 0, start;
	while (s[i] == ' ' || s[i] == '\t')
		i++;
	bool quoted = s[i] == '\'';
	start = i += quoted;
	while (s[i]) {
		if (s[i] == '\\' && s[i + 1]) {
			i += 2;
			continue;
		}
		if (quoted ? s[i] == '\'' : isspace((unsigned char)s[i]))
			break;
		i++;
	}
	if (found)
		strv_push_take(found, xstrndup(s + start, i - start));
	if (quoted && s[i] == '\'')
		i++;
	return i;
}

/* redact_param: s is at "password=" after '?' or '&' of a URL: skip the
 * parameter and one '&' after it (or drop the separator already written). */
static size_t redact_param(const char *s, size_t keylen, struct buf *out, struct strv *found)
{
	size_t n = keylen + strcspn(s + keylen, "& \t\r\n");
	if (found)
		strv_push_take(found, xstrndup(s + keylen, n - keylen));
	if (s[n] == '&')
		return n + 1;
	if (out->len && (out->s[out->len - 1] == '&' || out->s[out->len - 1] == '?'))
		out->s[--out->len] = '\0';
	return n;
}

/* redact: the work of db_redact_url; also collects the passwords it
 * removed into found (when not NULL), so that db_connect can blank them out
 * wherever libpq quoted them. */
static char *redact(const char *s, struct strv *found)
{
	struct buf out;
	buf_init(&out);
	size_t i = 0;
	while (s[i]) {
		size_t n = uri_prefix(s + i), k;
		if (n) {
			buf_add(&out, s + i, n);
			i += n;
			i += redact_userinfo(s + i, &out, found);
			continue;
		}
		if ((i == 0 || !is_word_char(s[i - 1])) && (k = password_key(s + i))) {
			if (i > 0 && (s[i - 1] == '?' || s[i - 1] == '&')) {
				i += redact_param(s + i, k, &out, found);
			} else {
				i += k + kv_value(s + i + k, found);
				while (s[i] == ' ' || s[i] == '\t')
					i++;
			}
			continue;
		}
		buf_addc(&out, s[i++]);
	}
	return buf_detach(&out);
}

char *db_redact_url(const char *s)
{
	return redact(s, NULL);
}

/* scrub: every occurrence of each secret in text replaced by "***". */
static char *scrub(const char *text, const struct strv *secrets)
{
	char *cur = xstrdup(text);
	for (size_t k = 0; k < secrets->n; k++) {
		const char *sec = secrets->v[k];
		size_t len = strlen(sec);
		if (len < SCRUB_MIN_LEN)
			continue;
		struct buf out;
		buf_init(&out);
		const char *p = cur, *hit;
		while ((hit = strstr(p, sec))) {
			buf_add(&out, p, (size_t)(hit - p));
			buf_adds(&out, "***");
			p = hit + len;
		}
		buf_adds(&out, p);
		free(cur);
		cur = buf_detach(&out);
	}
	return cur;
}

/* report: "prog: error: <what>", newline-stripped and redacted. */
static void report(const char *what, const struct strv *secrets)
{
	char *red = redact(what, NULL);
	char *clean = secrets ? scrub(red, secrets) : xstrdup(red);
	size_t n = strlen(clean);
	while (n > 0 && (clean[n - 1] == '\n' || clean[n - 1] == '\r'))
		clean[--n] = '\0';
	error("error: %s", clean);
	free(clean);
	free(red);
}

/* ---- connecting ---- */

/* add_option: "-c name=value" for the options parameter, where a space or
 * a backslash in value must be backslash-escaped. */
static void add_option(struct buf *b, const char *name, const char *value)
{
	if (b->len)
		buf_addc(b, ' ');
	buf_addf(b, "-c %s=", name);
	for (const char *p = value; *p; p++) {
		if (*p == ' ' || *p == '\\')
			buf_addc(b, '\\');
		buf_addc(b, *p);
	}
}

/* conninfo_get: keyword's value in url (a URI or key=value string), or
 * NULL when url does not parse or does not set it. Caller frees. */
static char *conninfo_get(const char *url, const char *keyword)
{
	char *err = NULL;
	PQconninfoOption *opts = url && *url ? PQconninfoParse(url, &err) : NULL;
	char *v = NULL;
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (!strcmp(o->keyword, keyword) && o->val && *o->val)
			v = xstrdup(o->val);
	PQconninfoFree(opts);
	if (err)
		PQfreemem(err);
	return v;
}

/* session_options: the URL's options (or PGOPTIONS), then ours, which thus
 * win. NULL when there is nothing to send. Caller frees. */
static char *session_options(const char *url, const struct db_opts *o)
{
	struct buf b;
	char *theirs = conninfo_get(url, "options");
	const char *env = getenv("PGOPTIONS");
	buf_init(&b);
	if (theirs)
		buf_adds(&b, theirs);
	else if (env)
		buf_adds(&b, env);
	free(theirs);
	if (o && o->read_only)
		add_option(&b, "default_transaction_read_only", "on");
	if (o && o->statement_timeout_ms > 0) {
		char ms[32];
		snprintf(ms, sizeof(ms), "%d", o->statement_timeout_ms);
		add_option(&b, "statement_timeout", ms);
	}
	if (o && o->search_path)
		add_option(&b, "search_path", o->search_path);
	if (b.len == 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

PGconn *db_connect(const char *url, const struct db_opts *o)
{
	const char *keys[10], *vals[10];
	int n = 0;
	char timeout[32];
	char *options = session_options(url, o);
	if (o && o->connect_timeout_s > 0 && !getenv("PGCONNECT_TIMEOUT")) {
		/* before dbname, so that the URL's own connect_timeout wins */
		snprintf(timeout, sizeof(timeout), "%d", o->connect_timeout_s);
		keys[n] = "connect_timeout", vals[n++] = timeout;
	}
	keys[n] = "fallback_application_name", vals[n++] = msg_prog();
	keys[n] = "dbname", vals[n++] = url && *url ? url : NULL;
	/* records are JSON: text must arrive as UTF-8 whatever the database's encoding */
	keys[n] = "client_encoding", vals[n++] = "UTF8";
	if (o && o->user) { /* after dbname: they override the URL's */
		keys[n] = "user", vals[n++] = o->user;
		keys[n] = "password", vals[n++] = o->password ? o->password : "";
	}
	if (options)
		keys[n] = "options", vals[n++] = options;
	keys[n] = NULL, vals[n] = NULL;

	PGconn *conn = PQconnectdbParams(keys, vals, 1);
	free(options);
	if (!conn) {
		error("error: out of memory connecting to the database");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		struct strv secrets = STRV_INIT;
		char *pw = conninfo_get(url, "password");
		if (url)
			free(redact(url, &secrets)); /* for the passwords it finds */
		if (pw)
			strv_push_take(&secrets, pw);
		if (o && o->password && *o->password)
			strv_push(&secrets, o->password);
		report(PQerrorMessage(conn), &secrets);
		strv_release(&secrets);
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

void db_close(PGconn *conn)
{
	if (conn)
		PQfinish(conn);
}

/* ---- queries ---- */

PGresult *db_query(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	char *what = xasprintf("query failed: %s", res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	PQclear(res);
	report(what, NULL);
	free(what);
	exit(EXIT_RUNTIME);
}

void db_exec(PGconn *conn, const char *sql)
{
	PQclear(db_query(conn, sql, 0, NULL));
}

const char *db_get(const PGresult *res, int row, const char *field)
{
	int col = PQfnumber(res, field);
	if (col < 0)
		BUG("query result has no column \"%s\"", field);
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

bool db_get_bool(const PGresult *res, int row, const char *field)
{
	const char *v = db_get(res, row, field);
	return v && !strcmp(v, "t");
}

char *db_server_version(const PGconn *conn)
{
	int v = PQserverVersion(conn);
	if (v <= 0)
		return xstrdup("unknown");
	if (v >= 100000)
		return xasprintf("%d.%d", v / 10000, v % 10000);
	return xasprintf("%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
}

char *db_quote_ident(PGconn *conn, const char *ident)
{
	char *q = PQescapeIdentifier(conn, ident, strlen(ident));
	if (!q) {
		report(PQerrorMessage(conn), NULL);
		exit(EXIT_RUNTIME);
	}
	char *copy = xstrdup(q);
	PQfreemem(q);
	return copy;
}

char *db_quote_qualified(PGconn *conn, const char *qname)
{
	const char *dot = strchr(qname, '.');
	if (!dot)
		return db_quote_ident(conn, qname);
	char *sch = xstrndup(qname, (size_t)(dot - qname));
	char *qs = db_quote_ident(conn, sch), *qn = db_quote_ident(conn, dot + 1);
	char *q = xasprintf("%s.%s", qs, qn);
	free(sch);
	free(qs);
	free(qn);
	return q;
}
