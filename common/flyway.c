/*
 * flyway.c — a Flyway project as Flyway itself sees it: the configuration
 * (flyway.toml or flyway.conf), the SQL migrations in the order that
 * `flyway migrate` applies them to an empty database, and the ${placeholder}
 * replacement done on each script before it is parsed.
 *
 * Modelled on flyway-core (ResourceNameParser, MigrationVersion,
 * CompositeMigrationResolver, PlaceholderReplacingReader, ConfigUtils):
 *  - a migration is named <prefix><version><separator><description><suffix>;
 *    the suffix is matched case-insensitively, the longest prefix first and
 *    case-sensitively, the split is at the first separator, and `_` in the
 *    description reads as a space. Names that do not fit are ignored, as
 *    Flyway does without validateMigrationNaming, with one exception: a
 *    versioned name whose version starts with a digit but is not a version
 *    (V1.2a__x.sql) is an error, because it is almost surely a typo.
 *  - versions: `_` reads as `.`, parts are unbounded integers (compared as
 *    digit strings), missing and trailing parts count as zero.
 *  - order: versioned ascending, then repeatables by description. Two
 *    versions that compare equal, or two repeatables with one description,
 *    are an error, as in Flyway.
 *  - undo (U) files are never applied. Baseline (B) files: on an empty
 *    database Flyway applies the latest baseline and then only the versioned
 *    migrations above it; this is what is modelled.
 * Not modelled: Java migrations, callbacks (they start in lower case and so
 * never match the default prefixes), wildcard and classpath: locations,
 * per-script .conf files, flyway.user.toml, target and outOfOrder (the
 * state built is always "everything applied").
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "flyway.h"
#include "xalloc.h"

#define MAX_DEPTH 32 /* folders below a location; also stops symlink loops */

enum fw_kind { FW_NONE,
	       FW_VERSIONED,
	       FW_UNDO,
	       FW_REPEATABLE,
	       FW_BASELINE };

/* Settings from a config file, keyed as in flyway.conf without "flyway."
 * (e.g. "locations", "placeholders.schema"); lists are comma-separated.
 * A later value for a key replaces an earlier one. */
struct fw_conf {
	struct strv keys, vals;
	char *path;  /* the file read, NULL when there is none */
	bool in_dir; /* it sits in the folder given as the location */
};

/* The migration naming settings, prefixes longest first. */
struct fw_naming {
	const char *prefix[4];
	enum fw_kind kind[4];
	const char *separator;
	struct strv suffixes;
};

/* A migration file found on disk, before ordering. */
struct fw_cand {
	char *path, *version, *description;
	enum fw_kind kind;
};

struct fw_list {
	struct fw_cand *v;
	size_t n, cap;
};

/* ---------- small helpers ---------- */

static bool is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* path_join: dir/name without doubling a slash; caller frees. */
static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir);
	if (!strcmp(dir, "."))
		return xstrdup(name);
	return xasprintf("%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
}

/* path_parent: the parent folder of path, worked out on the text where
 * that is safe ("a/b" -> "a") and with "/.." otherwise; caller frees. */
static char *path_parent(const char *path)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	const char *slash = memrchr(path, '/', n);
	const char *last = slash ? slash + 1 : path;
	size_t lastn = n - (size_t)(last - path);
	if ((lastn == 1 && *last == '.') || (lastn == 2 && !strncmp(last, "..", 2)))
		return n == 1 ? xstrdup("..") : xasprintf("%.*s/..", (int)n, path);
	if (!slash)
		return xstrdup(".");
	return slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
}

/* same_dir: whether two paths name the same folder. */
static bool same_dir(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* kv_set: set key to a copy of val in keys/vals, replacing an earlier value
 * (compared case-insensitively when nocase). */
static void kv_set(struct strv *keys, struct strv *vals, const char *key, const char *val,
		   bool nocase)
{
	for (size_t i = 0; i < keys->n; i++) {
		if (nocase ? strcasecmp(keys->v[i], key) : strcmp(keys->v[i], key))
			continue;
		free(vals->v[i]);
		vals->v[i] = xstrdup(val);
		return;
	}
	strv_push(keys, key);
	strv_push(vals, val);
}

/* kv_get: the value of key, or NULL. */
static const char *kv_get(const struct strv *keys, const struct strv *vals, const char *key,
			  bool nocase)
{
	for (size_t i = keys->n; i-- > 0;)
		if (!(nocase ? strcasecmp(keys->v[i], key) : strcmp(keys->v[i], key)))
			return vals->v[i];
	return NULL;
}

static const char *conf_get(const struct fw_conf *cf, const char *key, const char *dflt)
{
	const char *v = kv_get(&cf->keys, &cf->vals, key, false);
	return v && *v ? v : dflt;
}

/* conf_list: the comma-separated setting key, items trimmed, empty ones
 * dropped, appended to out; dflt when the setting is absent. */
static void conf_list(const struct fw_conf *cf, const char *key, const char *dflt, struct strv *out)
{
	const char *s = conf_get(cf, key, dflt);
	while (s && *s) {
		size_t n = strcspn(s, ",");
		const char *a = s, *b = s + n;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (b > a)
			strv_push_take(out, xstrndup(a, (size_t)(b - a)));
		s += n + (s[n] == ',');
	}
}

/* env_expand: value with each ${NAME} (letters, digits, _) from the
 * environment, an unset one as empty; with env_dot only ${env.NAME} counts
 * (flyway.toml's resolver syntax). Caller frees. */
static char *env_expand(const char *val, bool env_dot)
{
	const char *open = env_dot ? "${env." : "${";
	size_t on = strlen(open);
	struct buf b;
	buf_init(&b);
	const char *s = val, *p;
	while ((p = strstr(s, open))) {
		size_t n = strspn(p + on, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
		buf_add(&b, s, (size_t)(p - s));
		if (n && p[on + n] == '}') {
			char *name = xstrndup(p + on, n);
			const char *e = getenv(name);
			buf_adds(&b, e ? e : "");
			free(name);
			s = p + on + n + 1;
		} else {
			buf_add(&b, p, on);
			s = p + on;
		}
	}
	buf_adds(&b, s);
	return buf_detach(&b);
}

/* ---------- versions ---------- */

/* version_valid: digits, with single dots (or underscores) between them:
 * what MigrationVersion accepts once `_` is read as `.`. */
static bool version_valid(const char *v)
{
	for (;;) {
		if (!isdigit((unsigned char)*v))
			return false;
		while (isdigit((unsigned char)*v))
			v++;
		if (!*v)
			return true;
		if (*v != '.' && *v != '_')
			return false;
		v++;
	}
}

/* version_part: the next part of *p as digits without leading zeros (an
 * exhausted version gives empty parts, i.e. zero); *p moves past it. */
static void version_part(const char **p, const char **digits, size_t *n)
{
	const char *s = *p;
	while (*s == '0')
		s++;
	*digits = s;
	while (isdigit((unsigned char)*s))
		s++;
	*n = (size_t)(s - *digits);
	if (*s) /* the dot, or anything else: never stall on bad input */
		s++;
	*p = s;
}

/* flyway_compare_versions: part by part as unbounded integers: a longer
 * digit string (without leading zeros) is larger, equal lengths compare
 * byte-wise. Missing parts are zero, so 1 == 1.0 == 1_0 == 001. */
int flyway_compare_versions(const char *a, const char *b)
{
	while (*a || *b) {
		const char *da, *db;
		size_t na, nb;
		version_part(&a, &da, &na);
		version_part(&b, &db, &nb);
		if (na != nb)
			return na < nb ? -1 : 1;
		int c = memcmp(da, db, na);
		if (c)
			return c < 0 ? -1 : 1;
	}
	return 0;
}

/* ---------- flyway.conf ---------- */

/* conf_property: one logical line "flyway.key = value" (or ':' or blank
 * between); keys without the "flyway." prefix are not Flyway's. */
static void conf_property(struct fw_conf *cf, const char *s)
{
	size_t kn = strcspn(s, "=: \t\f");
	const char *v = s + kn;
	v += strspn(v, " \t\f");
	if (*v == '=' || *v == ':')
		v += 1 + strspn(v + 1, " \t\f");
	if (kn <= 7 || strncmp(s, "flyway.", 7))
		return;
	char *key = xstrndup(s + 7, kn - 7);
	char *val = env_expand(v, false);
	if (strcmp(key, "password")) /* never kept: secrets stay out of everything */
		kv_set(&cf->keys, &cf->vals, key, val, false);
	free(key);
	free(val);
}

/* conf_parse: flyway.conf as Flyway's ConfigUtils reads it: each line
 * trimmed; '#' or '!' starts a comment line; a trailing backslash joins the
 * next line; other backslashes are literal (Flyway doubles them before
 * java.util.Properties sees the text). */
static void conf_parse(struct fw_conf *cf, const char *text)
{
	struct buf logical;
	buf_init(&logical);
	for (const char *s = text; *s;) {
		const char *e = s + strcspn(s, "\n");
		const char *a = s, *b = e;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		bool comment = !logical.len && a < b && (*a == '#' || *a == '!');
		bool cont = !comment && b > a && b[-1] == '\\';
		if (!comment)
			buf_add(&logical, a, (size_t)(b - a) - cont);
		if (!cont && logical.len) {
			conf_property(cf, logical.s);
			buf_reset(&logical);
		}
		s = *e ? e + 1 : e;
	}
	if (logical.len)
		conf_property(cf, logical.s);
	buf_release(&logical);
}

/* ---------- flyway.toml ---------- */

/* A TOML reader: the whole of TOML's syntax is parsed (a syntax error is
 * an error naming file and line: toml_fail records the first one in
 * t->err and every parsing function returns as soon as t->failed), and every value is kept as text under its
 * full key path, the parts joined by '\x1f'. Arrays keep their scalar items
 * joined by ','; arrays of tables get an index part; values inside arrays
 * of arrays or tables are parsed and dropped. */
struct toml {
	const char *file, *s;
	long line;
	int discard;		    /* > 0 while inside an array: values are not kept */
	struct strv table, headers; /* current [table]; [[array]] headers seen */
	struct strv *keys, *vals;
	struct msg_err *err;
	bool failed;
};

static void toml_fail(struct toml *t, const char *what)
{
	if (!t->failed)
		err_set_at(t->err, EXIT_INPUT, t->file, t->line, "TOML syntax error: %s", what);
	t->failed = true;
}

static void toml_ws(struct toml *t)
{
	t->s += strspn(t->s, " \t");
}

/* toml_newline: step over one line ending, if there is one. */
static bool toml_newline(struct toml *t)
{
	if (*t->s == '\r' && t->s[1] == '\n')
		t->s++;
	if (*t->s != '\n')
		return false;
	t->s++;
	t->line++;
	return true;
}

/* toml_eol: the rest of a line must be blank or a comment. */
static void toml_eol(struct toml *t)
{
	toml_ws(t);
	if (*t->s == '#')
		t->s += strcspn(t->s, "\n");
	if (!toml_newline(t) && *t->s)
		toml_fail(t, "expected the end of the line");
}

/* toml_blank: skip blanks, comments and line endings. */
static void toml_blank(struct toml *t)
{
	do {
		toml_ws(t);
		if (*t->s == '#')
			t->s += strcspn(t->s, "\n");
	} while (toml_newline(t));
}

/* toml_utf8: code point cp as UTF-8. */
static void toml_utf8(struct buf *out, unsigned long cp)
{
	if (cp < 0x80) {
		buf_addc(out, (char)cp);
	} else if (cp < 0x800) {
		buf_addc(out, (char)(0xC0 | cp >> 6));
		buf_addc(out, (char)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		buf_addc(out, (char)(0xE0 | cp >> 12));
		buf_addc(out, (char)(0x80 | (cp >> 6 & 0x3F)));
		buf_addc(out, (char)(0x80 | (cp & 0x3F)));
	} else {
		buf_addc(out, (char)(0xF0 | cp >> 18));
		buf_addc(out, (char)(0x80 | (cp >> 12 & 0x3F)));
		buf_addc(out, (char)(0x80 | (cp >> 6 & 0x3F)));
		buf_addc(out, (char)(0x80 | (cp & 0x3F)));
	}
}

/* toml_unicode: \uXXXX or \UXXXXXXXX at t->s (the backslash). */
static void toml_unicode(struct toml *t, struct buf *out)
{
	int n = t->s[1] == 'u' ? 4 : 8;
	unsigned long cp = 0;
	for (int i = 0; i < n; i++) {
		char c = t->s[2 + i];
		if (!isxdigit((unsigned char)c)) {
			toml_fail(t, "bad \\u escape");
			return;
		}
		cp = cp * 16 + (unsigned long)(isdigit((unsigned char)c) ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
		toml_fail(t, "\\u escape is not a Unicode scalar value");
		return;
	}
	toml_utf8(out, cp);
	t->s += 2 + n;
}

/* toml_escape: a backslash escape in a basic string, at t->s. In a
 * multi-line string a backslash ending a line swallows the line break and
 * the whitespace after it. */
static void toml_escape(struct toml *t, struct buf *out, bool multi)
{
	static const char from[] = "btnfre\"\\", to[] = "\b\t\n\f\r\033\"\\";
	const char *k = t->s[1] ? strchr(from, t->s[1]) : NULL;
	if (k) {
		buf_addc(out, to[k - from]);
		t->s += 2;
	} else if (t->s[1] == 'u' || t->s[1] == 'U') {
		toml_unicode(t, out);
	} else if (multi) {
		t->s++;
		toml_ws(t);
		if (!toml_newline(t)) {
			toml_fail(t, "invalid escape in string");
			return;
		}
		while (isspace((unsigned char)*t->s))
			if (!toml_newline(t))
				t->s++;
	} else {
		toml_fail(t, "invalid escape in string");
	}
}

/* toml_close: whether t->s closes a string opened with q (tripled when
 * multi); a multi-line string may end in one or two extra quotes. */
static bool toml_close(struct toml *t, char q, bool multi)
{
	if (!multi)
		return *t->s == q;
	return t->s[0] == q && t->s[1] == q && t->s[2] == q && t->s[3] != q;
}

/* toml_string: a basic ("), literal ('), or multi-line string at t->s. */
static void toml_string(struct toml *t, struct buf *out)
{
	char q = *t->s;
	bool multi = t->s[1] == q && t->s[2] == q;
	t->s += multi ? 3 : 1;
	if (multi)
		toml_newline(t);
	while (!toml_close(t, q, multi)) {
		if (!*t->s) {
			toml_fail(t, "unterminated string");
			return;
		}
		if (*t->s == '\\' && q == '"') {
			toml_escape(t, out, multi);
			if (t->failed)
				return;
		} else if (*t->s == '\n' || *t->s == '\r') {
			if (!multi) {
				toml_fail(t, "unterminated string");
				return;
			}
			buf_addc(out, '\n');
			if (!toml_newline(t))
				t->s++;
		} else {
			buf_addc(out, *t->s++);
		}
	}
	t->s += multi ? 3 : 1;
}

/* toml_key: a dotted key (bare or quoted parts), appended to path. */
static void toml_key(struct toml *t, struct strv *path)
{
	for (;;) {
		struct buf b;
		buf_init(&b);
		toml_ws(t);
		char q = *t->s;
		if ((q == '"' || q == '\'') && !(t->s[1] == q && t->s[2] == q)) {
			toml_string(t, &b);
		} else {
			size_t n = strspn(t->s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						"0123456789_-");
			if (!n)
				toml_fail(t, "expected a key");
			buf_add(&b, t->s, n);
			t->s += n;
		}
		if (t->failed) {
			buf_release(&b);
			return;
		}
		strv_push_take(path, buf_detach(&b));
		toml_ws(t);
		if (*t->s != '.')
			return;
		t->s++;
	}
}

/* toml_scalar_ok: whether a bare token is a boolean, number or date. */
static bool toml_scalar_ok(const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "false"))
		return true;
	if (*s == '+' || *s == '-')
		s++;
	return isdigit((unsigned char)*s) || !strcmp(s, "inf") || !strcmp(s, "nan");
}

/* toml_scalar: a string, or a bare boolean, number or date-time (whose
 * date and time may be split by a space). */
static void toml_scalar(struct toml *t, struct buf *out)
{
	if (*t->s == '"' || *t->s == '\'') {
		toml_string(t, out);
		return;
	}
	const char *start = t->s;
	for (;;) {
		t->s += strspn(t->s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				     "0123456789_+-.:");
		bool date = t->s - start == 10 && start[4] == '-' && start[7] == '-';
		if (!(date && *t->s == ' ' && isdigit((unsigned char)t->s[1])))
			break;
		t->s++;
	}
	buf_add(out, start, (size_t)(t->s - start));
	if (!out->len)
		toml_fail(t, "expected a value");
	else if (!toml_scalar_ok(out->s))
		toml_fail(t, "not a value (strings need quotes)");
}

/* toml_store: keep val (taken) under path; a key set twice is an error. */
static void toml_store(struct toml *t, const struct strv *path, char *val)
{
	if (t->discard) {
		free(val);
		return;
	}
	char *key = strv_join(path, "\x1f");
	if (strv_index(t->keys, key) >= 0) {
		char *dotted = strv_join(path, ".");
		if (!t->failed)
			err_set_at(t->err, EXIT_INPUT, t->file, t->line, "TOML: key %s is defined twice", dotted);
		t->failed = true;
		free(dotted);
		free(key);
		free(val);
		return;
	}
	strv_push_take(t->keys, key);
	strv_push_take(t->vals, val);
}

static void toml_value(struct toml *t, const struct strv *path);

/* toml_array: items separated by commas, across lines, a trailing comma
 * allowed; scalar items go to out joined by ','. */
static void toml_array(struct toml *t, struct buf *out)
{
	size_t n = 0;
	t->s++;
	t->discard++;
	for (;;) {
		toml_blank(t);
		if (*t->s == ']')
			break;
		if (*t->s == '[' || *t->s == '{') {
			toml_value(t, &t->table);
		} else {
			if (n++)
				buf_addc(out, ',');
			toml_scalar(t, out);
		}
		if (t->failed)
			return;
		toml_blank(t);
		if (*t->s == ']')
			break;
		if (*t->s++ != ',') {
			toml_fail(t, "expected ',' or ']' in an array");
			return;
		}
	}
	t->s++;
	t->discard--;
}

static void toml_keyval(struct toml *t, const struct strv *base);

/* toml_inline: { key = value, ... } on one line, flattened under path. */
static void toml_inline(struct toml *t, const struct strv *path)
{
	t->s++;
	toml_ws(t);
	if (*t->s == '}') {
		t->s++;
		return;
	}
	for (;;) {
		toml_keyval(t, path);
		if (t->failed)
			return;
		if (*t->s == '}')
			break;
		if (*t->s++ != ',') {
			toml_fail(t, "expected ',' or '}' in an inline table");
			return;
		}
	}
	t->s++;
}

/* toml_value: the value at t->s for path. */
static void toml_value(struct toml *t, const struct strv *path)
{
	struct buf b;
	buf_init(&b);
	if (*t->s == '{') {
		toml_inline(t, path);
		buf_release(&b);
		return;
	}
	if (*t->s == '[')
		toml_array(t, &b);
	else
		toml_scalar(t, &b);
	if (t->failed)
		buf_release(&b);
	else
		toml_store(t, path, buf_detach(&b));
}

/* toml_keyval: key = value, the key relative to base; ends after blanks. */
static void toml_keyval(struct toml *t, const struct strv *base)
{
	struct strv path = STRV_INIT;
	strv_copy(&path, base);
	toml_key(t, &path);
	if (!t->failed && *t->s != '=')
		toml_fail(t, "expected '=' after a key");
	if (!t->failed) {
		t->s++;
		toml_ws(t);
		toml_value(t, &path);
		toml_ws(t);
	}
	strv_release(&path);
}

/* toml_header: [table] or [[array of tables]]; the latter gets an index
 * part so that each element's keys stay apart. */
static void toml_header(struct toml *t)
{
	bool aot = t->s[1] == '[';
	t->s += aot ? 2 : 1;
	strv_release(&t->table);
	toml_key(t, &t->table);
	if (!t->failed && (*t->s != ']' || (aot && t->s[1] != ']')))
		toml_fail(t, "expected ']' after a table name");
	if (t->failed)
		return;
	t->s += aot ? 2 : 1;
	if (aot) {
		char *name = strv_join(&t->table, "\x1f");
		size_t count = 0;
		for (size_t i = 0; i < t->headers.n; i++)
			count += !strcmp(t->headers.v[i], name);
		strv_push_take(&t->headers, name);
		strv_push_take(&t->table, xasprintf("%zu", count));
	}
	toml_eol(t);
}

/* toml_parse: a whole TOML document into keys/vals (see struct toml); 0,
 * or -1 with *err. */
static int toml_parse(const char *file, const char *text, struct strv *keys, struct strv *vals,
		      struct msg_err *err)
{
	struct toml t = {.file = file, .s = text, .line = 1, .keys = keys, .vals = vals, .err = err};
	if (!strncmp(t.s, "\xEF\xBB\xBF", 3))
		t.s += 3;
	for (;;) {
		toml_blank(&t);
		if (!*t.s)
			break;
		if (*t.s == '[') {
			toml_header(&t);
		} else {
			toml_keyval(&t, &t.table);
			if (!t.failed)
				toml_eol(&t);
		}
		if (t.failed)
			break;
	}
	strv_release(&t.table);
	strv_release(&t.headers);
	return t.failed ? -1 : 0;
}

/* toml_under: the rest of key after the path prefix (parts joined by
 * '\x1f', prefix included), or NULL when key is not below it. */
static const char *toml_under(const char *key, const char *prefix)
{
	size_t n = strlen(prefix);
	return !strncmp(key, prefix, n) && key[n] == '\x1f' ? key + n + 1 : NULL;
}

/* toml_setting: rest (a key path below [flyway]) as a flyway.conf key. */
static void toml_setting(struct fw_conf *cf, const char *rest, const char *val)
{
	char *key = xstrdup(rest);
	for (char *p = key; *p; p++)
		if (*p == '\x1f')
			*p = '.';
	char *v = env_expand(val, true);
	if (strcmp(key, "password"))
		kv_set(&cf->keys, &cf->vals, key, v, false);
	free(key);
	free(v);
}

/* toml_settings: [flyway], then the chosen environment's own keys (url,
 * user, schemas, ...), then its [environments.X.flyway] overrides. */
static void toml_settings(struct fw_conf *cf, const struct strv *keys, const struct strv *vals)
{
	const char *envname = kv_get(keys, vals, "flyway\x1f"
						 "environment",
				     false);
	char *env = xasprintf("environments\x1f%s", envname ? envname : "default");
	char *envfw = xasprintf("%s\x1f"
				"flyway",
				env);
	const char *rest;
	for (size_t i = 0; i < keys->n; i++)
		if ((rest = toml_under(keys->v[i], "flyway")))
			toml_setting(cf, rest, vals->v[i]);
	for (size_t i = 0; i < keys->n; i++)
		if ((rest = toml_under(keys->v[i], env)) && !strchr(rest, '\x1f'))
			toml_setting(cf, rest, vals->v[i]);
	for (size_t i = 0; i < keys->n; i++)
		if ((rest = toml_under(keys->v[i], envfw)))
			toml_setting(cf, rest, vals->v[i]);
	free(env);
	free(envfw);
}

/* ---------- finding and reading the config ---------- */

static void conf_release(struct fw_conf *cf);

/* conf_find: flyway.toml, else flyway.conf, in dir or in one of its three
 * nearest parent folders; NULL when there is none. */
static char *conf_find(const char *dir, bool *in_dir)
{
	char *d = xstrdup(dir);
	char *found = NULL;
	for (int level = 0; level <= 3 && !found; level++) {
		char *toml = path_join(d, "flyway.toml"), *conf = path_join(d, "flyway.conf");
		found = is_file(toml) ? xstrdup(toml) : is_file(conf) ? xstrdup(conf)
								      : NULL;
		*in_dir = found && level == 0;
		char *up = path_parent(d);
		free(toml);
		free(conf);
		free(d);
		d = up;
	}
	free(d);
	return found;
}

/* conf_load: read the config named, or else the one found near dir; 0,
 * or -1 with *err (cf is then released). */
static int conf_load(struct fw_conf *cf, const char *dir, const char *conf, struct msg_err *err)
{
	memset(cf, 0, sizeof(*cf));
	if (conf) {
		cf->path = xstrdup(conf);
		char *cdir = path_parent(conf);
		cf->in_dir = same_dir(cdir, dir);
		free(cdir);
	} else {
		cf->path = conf_find(dir, &cf->in_dir);
	}
	if (!cf->path)
		return 0;
	char *text = read_file(cf->path, err);
	int rc = text ? 0 : -1;
	size_t n = strlen(cf->path);
	if (text && n >= 5 && !strcasecmp(cf->path + n - 5, ".toml")) {
		struct strv keys = STRV_INIT, vals = STRV_INIT;
		rc = toml_parse(cf->path, text, &keys, &vals, err);
		if (!rc)
			toml_settings(cf, &keys, &vals);
		strv_release(&keys);
		strv_release(&vals);
	} else if (text) {
		conf_parse(cf, text);
	}
	free(text);
	if (rc)
		conf_release(cf);
	return rc;
}

static void conf_release(struct fw_conf *cf)
{
	strv_release(&cf->keys);
	strv_release(&cf->vals);
	free(cf->path);
}

/* ---------- names ---------- */

/* naming_init: the prefixes (longest first, as Flyway tries them), the
 * separator and the suffixes from the settings. */
static void naming_init(struct fw_naming *nm, const struct fw_conf *cf)
{
	memset(nm, 0, sizeof(*nm));
	nm->prefix[0] = conf_get(cf, "sqlMigrationPrefix", "V");
	nm->prefix[1] = conf_get(cf, "baselineMigrationPrefix", "B");
	nm->prefix[2] = conf_get(cf, "undoSqlMigrationPrefix", "U");
	nm->prefix[3] = conf_get(cf, "repeatableSqlMigrationPrefix", "R");
	enum fw_kind kinds[4] = {FW_VERSIONED, FW_BASELINE, FW_UNDO, FW_REPEATABLE};
	memcpy(nm->kind, kinds, sizeof(kinds));
	for (int i = 1; i < 4; i++) /* stable insertion sort by length, longest first */
		for (int j = i; j > 0 && strlen(nm->prefix[j]) > strlen(nm->prefix[j - 1]); j--) {
			const char *p = nm->prefix[j];
			nm->prefix[j] = nm->prefix[j - 1];
			nm->prefix[j - 1] = p;
			enum fw_kind k = nm->kind[j];
			nm->kind[j] = nm->kind[j - 1];
			nm->kind[j - 1] = k;
		}
	nm->separator = conf_get(cf, "sqlMigrationSeparator", "__");
	conf_list(cf, "sqlMigrationSuffixes", ".sql", &nm->suffixes);
}

/* name_stem: the length of name without the first matching suffix (any
 * case), or -1 when no suffix matches. */
static long name_stem(const struct fw_naming *nm, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < nm->suffixes.n; i++) {
		size_t sn = strlen(nm->suffixes.v[i]);
		if (sn <= n && !strcasecmp(name + n - sn, nm->suffixes.v[i]))
			return (long)(n - sn);
	}
	return -1;
}

/* name_parse: the kind of migration name is, with its raw version and
 * its description (`_` as space) for the caller to free; FW_NONE when
 * Flyway would not take it as a migration. */
static enum fw_kind name_parse(const struct fw_naming *nm, const char *name, char **version,
			       char **desc)
{
	long stem = name_stem(nm, name);
	size_t plen = 0;
	int i;
	for (i = 0; stem >= 0 && i < 4; i++) {
		plen = strlen(nm->prefix[i]);
		if (plen <= (size_t)stem && !strncmp(name, nm->prefix[i], plen))
			break;
	}
	if (stem < 0 || i == 4)
		return FW_NONE;
	const char *rest = name + plen;
	size_t rn = (size_t)stem - plen;
	const char *sep = memmem(rest, rn, nm->separator, strlen(nm->separator));
	size_t vn = sep ? (size_t)(sep - rest) : rn;
	const char *d = sep ? sep + strlen(nm->separator) : rest + rn;
	if ((nm->kind[i] == FW_REPEATABLE) != (vn == 0))
		return FW_NONE; /* a repeatable has no version, the rest need one */
	*version = xstrndup(rest, vn);
	*desc = xstrndup(d, (size_t)(rest + rn - d));
	for (char *p = *desc; *p; p++)
		if (*p == '_')
			*p = ' ';
	return nm->kind[i];
}

/* ---------- discovery ---------- */

/* consider_file: add path (named name) to out when it is a migration; 0,
 * or -1 with *err on a bad version. */
static int consider_file(const struct fw_naming *nm, const char *path, const char *name,
			 struct fw_list *out, struct msg_err *err)
{
	char *version = NULL, *desc = NULL;
	enum fw_kind k = name_parse(nm, name, &version, &desc);
	if (k == FW_NONE)
		return 0;
	if (k != FW_REPEATABLE && !version_valid(version)) {
		int rc = 0;
		if (isdigit((unsigned char)*version))
			rc = err_set(err, EXIT_INPUT, "%s: invalid version '%s' in a migration name: a version may only "
						      "contain 0..9 and . (dot)",
				     path, version);
		free(version);
		free(desc);
		return rc; /* "Vacuum.sql": not a migration, as in Flyway */
	}
	if (k == FW_REPEATABLE) {
		free(version);
		version = NULL;
	}
	for (char *p = version; p && *p; p++)
		if (*p == '_')
			*p = '.';
	xgrow(&out->v, &out->cap, out->n + 1, sizeof(*out->v));
	out->v[out->n++] = (struct fw_cand){xstrdup(path), version, desc, k};
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(const struct fw_naming *nm, const char *dir, int depth, struct fw_list *out,
		struct msg_err *err);

/* walk_entry: one directory entry: a visible folder is walked, a file
 * considered. */
static int walk_entry(const struct fw_naming *nm, const char *dir, const char *name, int depth,
		      struct fw_list *out, struct msg_err *err)
{
	char *path = path_join(dir, name);
	struct stat st;
	int rc = 0;
	if (stat(path, &st) != 0)
		warning("%s: %s", path, strerror(errno));
	else if (S_ISDIR(st.st_mode) && name[0] != '.' && depth < MAX_DEPTH)
		rc = walk(nm, path, depth + 1, out, err);
	else if (S_ISREG(st.st_mode))
		rc = consider_file(nm, path, name, out, err);
	free(path);
	return rc;
}

/* walk: every file below dir (hidden folders skipped, as Flyway's
 * FileSystemScanner does), in name order so that results are stable. */
static int walk(const struct fw_naming *nm, const char *dir, int depth, struct fw_list *out,
		struct msg_err *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return err_set(err, EXIT_INPUT, "%s: %s", dir, strerror(errno));
	struct strv names = STRV_INIT;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			strv_push(&names, e->d_name);
	closedir(d);
	if (names.n > 1)
		qsort(names.v, names.n, sizeof(*names.v), cmp_name);
	int rc = 0;
	for (size_t i = 0; i < names.n && !rc; i++)
		rc = walk_entry(nm, dir, names.v[i], depth, out, err);
	strv_release(&names);
	return rc;
}

/* locations: the folders to scan. dir itself, unless dir holds the config
 * and the config lists filesystem: locations (relative ones are taken
 * from that folder); missing ones of those are warned about and skipped. */
static void locations(const struct fw_conf *cf, const char *dir, struct strv *out)
{
	struct strv locs = STRV_INIT;
	if (cf->in_dir)
		conf_list(cf, "locations", NULL, &locs);
	for (size_t i = 0; i < locs.n; i++) {
		const char *loc = locs.v[i];
		if (strncmp(loc, "filesystem:", 11))
			continue;
		loc += 11;
		char *path = *loc == '/' ? xstrdup(loc) : path_join(dir, loc);
		struct stat st;
		if (strpbrk(loc, "*?"))
			warning("%s: location filesystem:%s: wildcards are not supported", cf->path, loc);
		else if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
			warning("%s: location filesystem:%s: no such folder", cf->path, loc);
		else
			strv_push(out, path);
		free(path);
	}
	if (!locs.n || !out->n)
		strv_push(out, dir);
	strv_release(&locs);
}

/* ---------- order ---------- */

static int cmp_version(const void *a, const void *b)
{
	const struct fw_cand *x = a, *y = b;
	int c = flyway_compare_versions(x->version, y->version);
	return c ? c : strcmp(x->path, y->path);
}

static int cmp_description(const void *a, const void *b)
{
	const struct fw_cand *x = a, *y = b;
	int c = strcmp(x->description, y->description);
	return c ? c : strcmp(x->path, y->path);
}

/* order: sort list; -1 with *err (EXIT_INPUT) on two entries that Flyway
 * would take for one. */
static int order(const char *dir, struct fw_list *l, bool repeatable, struct msg_err *err)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), repeatable ? cmp_description : cmp_version);
	for (size_t i = 1; i < l->n; i++) {
		const struct fw_cand *a = &l->v[i - 1], *b = &l->v[i];
		if (repeatable && !strcmp(a->description, b->description))
			return err_set(err, EXIT_INPUT, "%s: found more than one repeatable migration with description '%s': "
							"%s and %s",
				       dir, a->description, a->path, b->path);
		if (!repeatable && !flyway_compare_versions(a->version, b->version))
			return err_set(err, EXIT_INPUT, "%s: found more than one %smigration with version %s: %s and %s", dir,
				       a->kind == FW_BASELINE ? "baseline " : "", a->version, a->path, b->path);
	}
	return 0;
}

/* split: the candidates by kind, undo migrations dropped. */
static void split(struct fw_list *all, struct fw_list *v, struct fw_list *b, struct fw_list *r)
{
	for (size_t i = 0; i < all->n; i++) {
		struct fw_cand *c = &all->v[i];
		struct fw_list *to = c->kind == FW_VERSIONED ? v : c->kind == FW_BASELINE ? b
							   : c->kind == FW_REPEATABLE	  ? r
											  : NULL;
		if (!to) {
			free(c->path);
			free(c->version);
			free(c->description);
			continue;
		}
		xgrow(&to->v, &to->cap, to->n + 1, sizeof(*to->v));
		to->v[to->n++] = *c;
	}
	free(all->v);
}

static void set_add(struct flyway_set *set, struct fw_cand *c)
{
	xgrow(&set->files, &set->cap, set->n + 1, sizeof(*set->files));
	set->files[set->n++] = (struct flyway_file){c->path, c->version, c->description};
}

static void cand_free(struct fw_cand *c)
{
	free(c->path);
	free(c->version);
	free(c->description);
}

/* list_free: the candidates of l and l's array */
static void list_free(struct fw_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		cand_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* fill: set->files in the order of a migrate on an empty database: the
 * latest baseline if any, the versioned migrations above it, then the
 * repeatables. Takes the candidates' strings. */
static void fill(struct flyway_set *set, struct fw_list *v, struct fw_list *b, struct fw_list *r)
{
	struct fw_cand *base = b->n ? &b->v[b->n - 1] : NULL;
	for (size_t i = 0; i + 1 < b->n; i++)
		cand_free(&b->v[i]);
	if (base)
		set_add(set, base);
	for (size_t i = 0; i < v->n; i++) {
		if (base && flyway_compare_versions(v->v[i].version, base->version) <= 0)
			cand_free(&v->v[i]);
		else
			set_add(set, &v->v[i]);
	}
	for (size_t i = set->n; i-- > 0;)
		if (set->files[i].version) {
			set->latest_version = xstrdup(set->files[i].version);
			break;
		}
	for (size_t i = 0; i < r->n; i++)
		set_add(set, &r->v[i]);
}

/* ---------- placeholders ---------- */

/* url_database: the database name of a JDBC (or libpq) URL, or NULL. */
static char *url_database(const char *url)
{
	const char *p = url ? strstr(url, "://") : NULL;
	if (!p || !(p = strchr(p + 3, '/')))
		return NULL;
	p++;
	size_t n = strcspn(p, "?;&");
	return n ? xstrndup(p, n) : NULL;
}

/* placeholders_init: the configured placeholders, the built-in
 * ${flyway:...} ones, and the placeholder syntax (see the top comment).
 * A user or database not configured is taken as libpq would take it. */
static void placeholders_init(struct flyway_set *set, const struct fw_conf *cf)
{
	struct strv *k = &set->placeholder_keys, *v = &set->placeholder_values;
	struct strv schemas = STRV_INIT;
	conf_list(cf, "schemas", NULL, &schemas);
	const char *envuser = getenv("PGUSER") ? getenv("PGUSER") : getenv("USER");
	const char *user = conf_get(cf, "user", envuser ? envuser : "postgres");
	char *db = url_database(conf_get(cf, "url", NULL));
	const char *envdb = getenv("PGDATABASE");
	set->default_schema = xstrdup(conf_get(cf, "defaultSchema", schemas.n ? schemas.v[0] : "public"));
	kv_set(k, v, "flyway:defaultSchema", set->default_schema, true);
	kv_set(k, v, "flyway:user", user, true);
	kv_set(k, v, "flyway:database", db ? db : envdb ? envdb
							: user,
	       true);
	kv_set(k, v, "flyway:table", conf_get(cf, "table", "flyway_schema_history"), true);
	kv_set(k, v, "flyway:environment", conf_get(cf, "environment", "default"), true);
	for (size_t i = 0; i < cf->keys.n; i++)
		if (!strncmp(cf->keys.v[i], "placeholders.", 13))
			kv_set(k, v, cf->keys.v[i] + 13, cf->vals.v[i], true);
	set->placeholder_prefix = xstrdup(conf_get(cf, "placeholderPrefix", "${"));
	set->placeholder_suffix = xstrdup(conf_get(cf, "placeholderSuffix", "}"));
	set->placeholder_replacement = !strcasecmp(conf_get(cf, "placeholderReplacement", "true"), "true");
	free(db);
	strv_release(&schemas);
}

/* placeholder_value: the value of placeholder name in file, or NULL when
 * it has none; the per-file built-ins are worked out here. Caller frees. */
static char *placeholder_value(const struct flyway_set *set, const char *file, const char *name)
{
	const char *v = kv_get(&set->placeholder_keys, &set->placeholder_values, name, true);
	if (v)
		return xstrdup(v);
	if (!strcasecmp(name, "flyway:filename")) {
		const char *slash = strrchr(file, '/');
		return xstrdup(slash ? slash + 1 : file);
	}
	if (!strcasecmp(name, "flyway:workingDirectory")) {
		char *cwd = getcwd(NULL, 0);
		char *r = xstrdup(cwd ? cwd : ".");
		free(cwd);
		return r;
	}
	if (strcasecmp(name, "flyway:timestamp"))
		return NULL;
	const char *sde = getenv("SOURCE_DATE_EPOCH"); /* reproducible builds */
	time_t now = sde ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
	struct tm tm;
	char out[32];
	struct tm *t = sde ? gmtime_r(&now, &tm) : localtime_r(&now, &tm);
	strftime(out, sizeof(out), "%Y-%m-%d %H:%M:%S", t);
	return xstrdup(out);
}

static long count_lines(const char *a, const char *b)
{
	long n = 0;
	for (; a < b; a++)
		n += *a == '\n';
	return n;
}

/* flyway_expand: text with every prefix-name-suffix replaced by the value
 * of name, as PlaceholderReplacingReader does; an opening prefix without a
 * suffix after it is left as it is. NULL with *err (EXIT_INPUT) naming file
 * and the line of a placeholder that has no value. Caller frees the
 * result. */
char *flyway_expand(const struct flyway_set *set, const char *file, const char *text, struct msg_err *err)
{
	const char *pre = set->placeholder_prefix ? set->placeholder_prefix : "${";
	const char *suf = set->placeholder_suffix ? set->placeholder_suffix : "}";
	if (!set->placeholder_replacement || !*pre || !*suf)
		return xstrdup(text);
	struct buf out;
	buf_init(&out);
	long line = 1;
	const char *s = text, *p, *q;
	while ((p = strstr(s, pre)) && (q = strstr(p + strlen(pre), suf))) {
		line += count_lines(s, p);
		char *name = xstrndup(p + strlen(pre), (size_t)(q - p) - strlen(pre));
		char *val = placeholder_value(set, file, name);
		if (!val) {
			err_set_at(err, EXIT_INPUT, file, line, "no value provided for placeholder %s%s%s", pre,
				   name, suf);
			free(name);
			buf_release(&out);
			return NULL;
		}
		buf_add(&out, s, (size_t)(p - s));
		buf_adds(&out, val);
		free(val);
		free(name);
		line += count_lines(p, q);
		s = q + strlen(suf);
	}
	buf_adds(&out, s);
	return buf_detach(&out);
}

/* ---------- the set ---------- */

/* gather: every migration below the locations, by kind, each kind in
 * Flyway's order; -1 with *err (the lists then empty) when there are none
 * or on an error of walk or order. */
static int gather(const char *dir, const struct fw_conf *cf, struct fw_list *v, struct fw_list *b,
		  struct fw_list *r, bool empty_ok, struct msg_err *err)
{
	struct fw_naming nm;
	struct strv locs = STRV_INIT;
	struct fw_list all = {0};
	int rc = 0;
	naming_init(&nm, cf);
	locations(cf, dir, &locs);
	for (size_t i = 0; i < locs.n && !rc; i++)
		rc = walk(&nm, locs.v[i], 0, &all, err);
	split(&all, v, b, r);
	strv_release(&locs);
	strv_release(&nm.suffixes);
	if (!rc && !v->n && !b->n && !r->n && !empty_ok)
		rc = err_set(err, EXIT_INPUT, "%s: no Flyway migrations found (names like V1__description.sql)", dir);
	if (!rc && (order(dir, v, false, err) < 0 || order(dir, b, false, err) < 0 || order(dir, r, true, err) < 0))
		rc = -1;
	if (rc) {
		list_free(v);
		list_free(b);
		list_free(r);
	}
	return rc;
}

/* flyway_collect: see flyway.h. -1 with *err (EXIT_INPUT) on a missing or
 * unreadable location, on no migrations at all (unless empty_ok), on a bad version in a
 * migration name, on colliding versions or descriptions, and on a config
 * file that cannot be read or parsed. */
int flyway_collect(struct flyway_set *set, const char *dir, const char *conf, bool empty_ok,
		   struct msg_err *err)
{
	struct fw_conf cf;
	struct fw_list v = {0}, b = {0}, r = {0};
	struct stat st;
	memset(set, 0, sizeof(*set));
	if (stat(dir, &st) != 0)
		return err_set(err, EXIT_INPUT, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(err, EXIT_INPUT, "%s: not a folder (--flyway takes the folder of the migrations)", dir);
	if (conf_load(&cf, dir, conf, err) < 0)
		return -1;
	if (gather(dir, &cf, &v, &b, &r, empty_ok, err) < 0) {
		conf_release(&cf);
		return -1;
	}
	fill(set, &v, &b, &r);
	placeholders_init(set, &cf);
	set->conf_path = cf.path ? xstrdup(cf.path) : NULL;
	free(v.v);
	free(b.v);
	free(r.v);
	conf_release(&cf);
	return 0;
}

int flyway_settings(struct flyway_set *set, const char *dir, const char *conf, struct msg_err *err)
{
	struct fw_conf cf;
	struct stat st;
	bool has_dir = dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
	memset(set, 0, sizeof(*set));
	if (!(conf || has_dir))
		memset(&cf, 0, sizeof(cf));
	else if (conf_load(&cf, has_dir ? dir : ".", conf, err) < 0)
		return -1;
	placeholders_init(set, &cf);
	set->conf_path = cf.path ? xstrdup(cf.path) : NULL;
	conf_release(&cf);
	return 0;
}

void flyway_release(struct flyway_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		free(set->files[i].path);
		free(set->files[i].version);
		free(set->files[i].description);
	}
	free(set->files);
	strv_release(&set->placeholder_keys);
	strv_release(&set->placeholder_values);
	free(set->placeholder_prefix);
	free(set->placeholder_suffix);
	free(set->default_schema);
	free(set->latest_version);
	free(set->conf_path);
	memset(set, 0, sizeof(*set));
}

char *migration_id_of_path(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	if (n > 4 && !strcmp(base + n - 4, ".sql"))
		n -= 4;
	if (n == 9 && !strncmp(base, "migration", 9) && base > path + 1) {
		const char *dir = base - 1;
		while (dir > path && dir[-1] != '/')
			dir--;
		return xstrndup(dir, (size_t)(base - 1 - dir));
	}
	return xstrndup(base, n);
}
