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

/* ---- redaction ----
 *
 * A scan finds the spans of a text that hold secrets, in three passes:
 *  1. the text as written: the ":password" of postgres:// URLs, and
 *     "name=value" where name, percent-decoded and in any case, is a secret
 *     keyword (after '?' or '&' a URI query parameter; elsewhere a key=value
 *     pair, 'quoted' or not, with backslash escapes);
 *  2. libpq's own reading (PQconninfoParse) of the whole text and of every
 *     URL in it: the values of the options whose dispchar is '*';
 *  3. every secret of 1 and 2 (raw and decoded) wherever else it occurs,
 *     literally, percent-encoded (any bytes, either hex case) or
 *     backslash-escaped.
 * Invariant: every span lies within the text and [vstart, vend) within
 * [start, end); spans may overlap, and are sorted before they are used. */

struct span {
	size_t start, end;   /* what messages lose ("***" in its place if mask) */
	size_t vstart, vend; /* the secret's own bytes (overwritten in argv) */
	bool mask;
};

struct scan {
	const char *s;
	struct span *v;
	size_t n, cap;
	struct strv secrets;  /* every secret value seen, raw and decoded */
	struct strv keywords; /* libpq's secret keywords, and ours */
};

static bool is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* pct_at: the byte the escape %XX at s stands for, or -1 when s holds no
 * valid escape. Reads no further than a NUL. */
static int pct_at(const char *s)
{
	if (s[0] != '%' || hexval(s[1]) < 0 || hexval(s[2]) < 0)
		return -1;
	return hexval(s[1]) * 16 + hexval(s[2]);
}

/* pct_decode: the n bytes at s percent-decoded; a bad escape stays as it
 * is (so that a value libpq refuses is still found). Caller frees. */
static char *pct_decode(const char *s, size_t n)
{
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		int c = i + 2 < n ? pct_at(s + i) : -1;
		buf_addc(&b, c >= 0 ? (char)c : s[i]);
		i += c >= 0 ? 2 : 0;
	}
	return buf_detach(&b);
}

/* kv_unescape: the n bytes at s without their backslash escapes (libpq's
 * key=value reading). Caller frees. */
static char *kv_unescape(const char *s, size_t n)
{
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		buf_addc(&b, s[i]);
	}
	return buf_detach(&b);
}

/* secret_keywords: the options libpq displays as '*' (password,
 * sslpassword, ...), plus the two we know of, in case of an older libpq. */
static void secret_keywords(struct strv *kw)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse("", &err);
	strv_push(kw, "password");
	strv_push(kw, "sslpassword");
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (o->dispchar && o->dispchar[0] == '*' && strv_index(kw, o->keyword) < 0)
			strv_push(kw, o->keyword);
	PQconninfoFree(opts);
	if (err)
		PQfreemem(err);
}

static bool is_secret_keyword(const struct scan *sc, const char *name)
{
	for (size_t k = 0; k < sc->keywords.n; k++)
		if (!strcasecmp(name, sc->keywords.v[k]))
			return true;
	return false;
}

static void add_span(struct scan *sc, size_t start, size_t end, size_t vstart, size_t vend, bool mask)
{
	if (sc->n == sc->cap) {
		sc->cap = sc->cap ? 2 * sc->cap : 8;
		sc->v = xrealloc(sc->v, sc->cap * sizeof(*sc->v));
	}
	sc->v[sc->n++] = (struct span){start, end, vstart, vend, mask};
}

/* push_secret: v (taken) into the secrets, unless empty or known. */
static void push_secret(struct scan *sc, char *v)
{
	if (*v && strv_index(&sc->secrets, v) < 0)
		strv_push_take(&sc->secrets, v);
	else
		free(v);
}

/* add_secret: remember the n bytes at raw as a secret, with what they
 * decode to; and, since a message may quote the value ("...'pw':"), both
 * without the quotes and punctuation they end with. */
static void add_secret(struct scan *sc, const char *raw, size_t n, char *(*decode)(const char *, size_t))
{
	size_t t = n;
	while (t > 0 && strchr("\"'),.;:]", raw[t - 1]))
		t--;
	push_secret(sc, xstrndup(raw, n));
	push_secret(sc, decode(raw, n));
	if (t < n) {
		push_secret(sc, xstrndup(raw, t));
		push_secret(sc, decode(raw, t));
	}
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

/* scan_userinfo: at i, just after "scheme://", find the ":password" of
 * the userinfo as libpq reads it (up to the first '@' before any '/'); when
 * there is none that way, conservatively, up to the first '@' before any
 * '?' or white space (a password with a raw '/', which libpq misreads). */
static void scan_userinfo(struct scan *sc, size_t i)
{
	const char *s = sc->s + i;
	size_t at = strcspn(s, "@/");
	if (s[at] != '@') {
		at = strcspn(s, "@? \t\r\n");
		if (s[at] != '@')
			return;
	}
	const char *colon = memchr(s, ':', at);
	if (!colon)
		return;
	size_t c = (size_t)(colon - s);
	add_span(sc, i + c, i + at, i + c + 1, i + at, false);
	add_secret(sc, colon + 1, at - c - 1, pct_decode);
}

/* name_at: length of the parameter name at s (letters, digits, '_' and
 * %XX escapes); its decoded text in *name, which the caller frees. */
static size_t name_at(const char *s, char **name)
{
	size_t n = 0;
	while (is_word_char(s[n]) || pct_at(s + n) >= 0)
		n += s[n] == '%' ? 3 : 1;
	*name = pct_decode(s, n);
	return n;
}

/* param_value: end of the URI query value at s+i (up to '&' or a space). */
static size_t param_value(const char *s, size_t i)
{
	return i + strcspn(s + i, "& \t\r\n");
}

/* kv_value: end of the key=value value starting at s+i (leading spaces
 * skipped), as libpq reads it: 'quoted' or up to a space, with backslash
 * escapes. The bounds of the value proper go to *vs, *ve. */
static size_t kv_value(const char *s, size_t i, size_t *vs, size_t *ve)
{
	while (s[i] == ' ' || s[i] == '\t')
		i++;
	bool quoted = s[i] == '\'';
	*vs = i += quoted;
	while (s[i]) {
		if (s[i] == '\\' && s[i + 1]) {
			i += 2;
			continue;
		}
		if (quoted ? s[i] == '\'' : isspace((unsigned char)s[i]))
			break;
		i++;
	}
	*ve = i;
	return i + (quoted && s[i] == '\'');
}

/* scan_param: the secret parameter whose name is [i, i+k), its '=' at eq:
 * a URI query parameter goes with one '&' after it, or else the separator
 * before it; a key=value pair with the spaces after it. */
static void scan_param(struct scan *sc, size_t i, size_t eq)
{
	const char *s = sc->s;
	size_t vs = eq + 1, ve, end;
	if (i > 0 && (s[i - 1] == '?' || s[i - 1] == '&')) {
		ve = end = param_value(s, vs);
		if (s[end] == '&')
			end++;
		else
			i--;
		add_secret(sc, s + vs, ve - vs, pct_decode);
	} else {
		end = kv_value(s, vs, &vs, &ve);
		while (s[end] == ' ' || s[end] == '\t')
			end++;
		add_secret(sc, s + vs, ve - vs, kv_unescape);
	}
	add_span(sc, i, end, vs, ve, false);
}

/* scan_text: pass 1, over the text as it is written. */
static void scan_text(struct scan *sc)
{
	const char *s = sc->s;
	size_t i = 0;
	while (s[i]) {
		size_t n = uri_prefix(s + i);
		if (n) {
			scan_userinfo(sc, i + n);
			i += n;
			continue;
		}
		if (i > 0 && (is_word_char(s[i - 1]) || s[i - 1] == '%')) {
			i++;
			continue;
		}
		char *name;
		size_t k = name_at(s + i, &name), eq = i + k;
		while (k && (s[eq] == ' ' || s[eq] == '\t'))
			eq++;
		if (k && s[eq] == '=' && is_secret_keyword(sc, name))
			scan_param(sc, i, eq);
		free(name);
		i += k ? k : 1;
	}
}

/* libpq_secrets: pass 2 for the n bytes at s, when libpq can parse them. */
static void libpq_secrets(struct scan *sc, const char *s, size_t n)
{
	char *text = xstrndup(s, n), *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(text, &err);
	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		bool secret = (o->dispchar && o->dispchar[0] == '*') || is_secret_keyword(sc, o->keyword);
		if (secret && o->val && *o->val && strv_index(&sc->secrets, o->val) < 0)
			strv_push(&sc->secrets, o->val);
	}
	PQconninfoFree(opts);
	if (err)
		PQfreemem(err);
	free(text);
}

/* scan_libpq: pass 2: the whole text, and each URL in it both up to the
 * next space or quote (in a message) and up to the end (an argument). */
static void scan_libpq(struct scan *sc)
{
	const char *s = sc->s;
	libpq_secrets(sc, s, strlen(s));
	for (size_t i = 0; s[i]; i++) {
		if (!uri_prefix(s + i) || (i > 0 && isalpha((unsigned char)s[i - 1])))
			continue;
		libpq_secrets(sc, s + i, strcspn(s + i, " \t\r\n\"'"));
		libpq_secrets(sc, s + i, strlen(s + i));
	}
}

/* match_secret: length of the text at t that spells sec, each byte
 * literally, as a %XX escape or after a backslash; 0 when it does not. */
static size_t match_secret(const char *t, const char *sec)
{
	if (!*sec)
		return 0;
	size_t n = 0;
	if (*t == *sec && (!sec[1] || (n = match_secret(t + 1, sec + 1))))
		return n + 1;
	if (pct_at(t) == (unsigned char)*sec && (!sec[1] || (n = match_secret(t + 3, sec + 1))))
		return n + 3;
	if (*t == '\\' && t[1] == *sec && (!sec[1] || (n = match_secret(t + 2, sec + 1))))
		return n + 2;
	return 0;
}

/* scan_matches: pass 3. */
static void scan_matches(struct scan *sc)
{
	for (size_t i = 0; sc->s[i]; i++)
		for (size_t k = 0; k < sc->secrets.n; k++) {
			if (strlen(sc->secrets.v[k]) < SCRUB_MIN_LEN)
				continue;
			size_t n = match_secret(sc->s + i, sc->secrets.v[k]);
			if (n)
				add_span(sc, i, i + n, i, i + n, true);
		}
}

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* scan_run: the three passes over s, with extra (may be NULL) as more
 * secrets; spans sorted. Release with scan_release. */
static void scan_run(struct scan *sc, const char *s, const struct strv *extra)
{
	memset(sc, 0, sizeof(*sc));
	sc->s = s;
	secret_keywords(&sc->keywords);
	for (size_t k = 0; extra && k < extra->n; k++)
		strv_push(&sc->secrets, extra->v[k]);
	scan_text(sc);
	scan_libpq(sc);
	scan_matches(sc);
	if (sc->n)
		qsort(sc->v, sc->n, sizeof(*sc->v), span_cmp);
}

static void scan_release(struct scan *sc)
{
	free(sc->v);
	strv_release(&sc->secrets);
	strv_release(&sc->keywords);
}

/* redact: s without its spans; a run of overlapping spans becomes "***"
 * when all of them are matches, and nothing when one is a parameter. */
static char *redact(const char *s, const struct strv *extra)
{
	struct scan sc;
	struct buf out;
	size_t i = 0;
	scan_run(&sc, s, extra);
	buf_init(&out);
	for (size_t k = 0; k < sc.n;) {
		size_t end = sc.v[k].end;
		bool mask = true;
		buf_add(&out, s + i, sc.v[k].start - i);
		for (; k < sc.n && sc.v[k].start < end; k++) {
			end = sc.v[k].end > end ? sc.v[k].end : end;
			mask = mask && sc.v[k].mask;
		}
		if (mask)
			buf_adds(&out, "***");
		i = end;
	}
	buf_adds(&out, s + i);
	scan_release(&sc);
	return buf_detach(&out);
}

char *db_redact_url(const char *s)
{
	return redact(s, NULL);
}

/* hide_secrets: overwrite the secret bytes of s with 'x', in place; true
 * when there were any. */
static bool hide_secrets(char *s)
{
	struct scan sc;
	scan_run(&sc, s, NULL);
	bool any = false;
	for (size_t k = 0; k < sc.n; k++)
		for (size_t j = sc.v[k].vstart; j < sc.v[k].vend; j++)
			s[j] = 'x', any = true;
	scan_release(&sc);
	return any;
}

void db_hide_argv_secrets(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *copy = xstrdup(argv[i]);
		if (hide_secrets(argv[i]))
			argv[i] = copy;
		else
			free(copy);
	}
}

/* report: *err (EXIT_RUNTIME) = what, newline-stripped, with no secret of
 * its own nor any of secrets (may be NULL); -1. */
static int report(struct msg_err *err, const char *what, const struct strv *secrets)
{
	char *clean = redact(what, secrets);
	size_t n = strlen(clean);
	while (n > 0 && (clean[n - 1] == '\n' || clean[n - 1] == '\r'))
		clean[--n] = '\0';
	err_set(err, EXIT_RUNTIME, "%s", clean);
	free(clean);
	return -1;
}

/* url_secrets: every secret of url (NULL is fine) into out. */
static void url_secrets(const char *url, struct strv *out)
{
	struct scan sc;
	if (!url)
		return;
	scan_run(&sc, url, NULL);
	strv_copy(out, &sc.secrets);
	scan_release(&sc);
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

PGconn *db_connect(const char *url, const struct db_opts *o, struct msg_err *err)
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
		err_set(err, EXIT_RUNTIME, "out of memory connecting to the database");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		struct strv secrets = STRV_INIT;
		url_secrets(url, &secrets);
		if (o && o->password && *o->password)
			strv_push(&secrets, o->password);
		report(err, PQerrorMessage(conn), &secrets);
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

PGresult *db_query(PGconn *conn, const char *sql, int nparams, const char *const *params, struct msg_err *err)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	char *what = xasprintf("query failed: %s", res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	PQclear(res);
	report(err, what, NULL);
	free(what);
	return NULL;
}

int db_exec(PGconn *conn, const char *sql, struct msg_err *err)
{
	PGresult *res = db_query(conn, sql, 0, NULL, err);
	PQclear(res);
	return res ? 0 : -1;
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

char *db_quote_ident(PGconn *conn, const char *ident, struct msg_err *err)
{
	char *q = PQescapeIdentifier(conn, ident, strlen(ident));
	if (!q) {
		report(err, PQerrorMessage(conn), NULL);
		return NULL;
	}
	char *copy = xstrdup(q);
	PQfreemem(q);
	return copy;
}

char *db_quote_qualified(PGconn *conn, const char *qname, struct msg_err *err)
{
	const char *dot = strchr(qname, '.');
	if (!dot)
		return db_quote_ident(conn, qname, err);
	char *sch = xstrndup(qname, (size_t)(dot - qname));
	char *qs = db_quote_ident(conn, sch, err), *qn = qs ? db_quote_ident(conn, dot + 1, err) : NULL;
	char *q = qn ? xasprintf("%s.%s", qs, qn) : NULL;
	free(sch);
	free(qs);
	free(qn);
	return q;
}
