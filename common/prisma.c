/*
 * prisma.c — the Prisma schema reader: schema.prisma (or a folder of .prisma
 * files) into the catalog, as the database `prisma migrate diff --from-empty`
 * would create on PostgreSQL looks when introspected.
 *
 * Three stages. (1) The lexer and parser follow prisma-engines' pest grammar
 * (psl/schema-ast/src/parser/datamodel.pest): line-oriented blocks (a field,
 * attribute or key = value per line), attributes with argument lists,
 * expressions (string, number, constant, call, array, object). A syntax
 * error dies as "file:line: column N: message". (2) Resolution: the one
 * datasource (its name is the native-type prefix, its schemas the allowed
 * @@schema values), block names, database names (@map, @@map), field types.
 * (3) Building: enums; a table per model with columns, primary key, unique
 * indexes and indexes; a view per view block; foreign keys; implicit
 * many-to-many join tables. Default names follow Prisma's
 * constraint_names.rs (database names as input, cut to 63 bytes at a UTF-8
 * boundary); identifiers longer than 63 bytes are cut as PostgreSQL cuts
 * them. Invalid schemas die (EXIT_INPUT) naming file and line.
 *
 * Ownership: the parse tree (struct psl and everything under it) owns its
 * strings and is freed by psl_release; the catalog copies what it keeps.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog.h"
#include "msg.h"
#include "prisma.h"
#include "sql.h"
#include "xalloc.h"

#define PG_MAXNAME 63 /* NAMEDATALEN - 1, and Prisma's max_identifier_length */

/* PUSH: a new zeroed element at the end of array v (n used, cap allocated). */
#define PUSH(v, n, cap)                              \
	(xgrow(&(v), &(cap), (n) + 1, sizeof(*(v))), \
	 memset(&(v)[n], 0, sizeof(*(v))), &(v)[(n)++])

struct pos {
	const char *file;
	int line, col;
};

/* ---------------------------------------------------------------- errors */

/* The parser and the checks after it are deep and many (one error ends
 * the load), so an error unwinds to prisma_load at once: fail() and
 * syntax() fill load_err and longjmp to load_jmp, both set by prisma_load
 * for the thread. prisma_load then releases the parse state; what a
 * function between held in locals is not freed (the program exits). */
static __thread jmp_buf *load_jmp;
static __thread struct msg_err *load_err;

/* fail: a schema that parses but is invalid: "file:line: message", EXIT_INPUT. */
static _Noreturn void fail(const struct pos *p, const char *fmt, ...) MSG_PRINTF(2, 3);
static _Noreturn void fail(const struct pos *p, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set_at(load_err, EXIT_INPUT, p->file, p->line, "%s", msg);
	longjmp(*load_jmp, 1);
}

/* syntax: "file:line: column N: message", EXIT_INPUT. */
static _Noreturn void syntax(const struct pos *p, const char *fmt, ...) MSG_PRINTF(2, 3);
static _Noreturn void syntax(const struct pos *p, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set_at(load_err, EXIT_INPUT, p->file, p->line, "column %d: %s", p->col, msg);
	longjmp(*load_jmp, 1);
}

/* fail_plain: "message" (no place), EXIT_INPUT, unwinding like fail. */
static _Noreturn void fail_plain(const char *fmt, ...) MSG_PRINTF(1, 2);
static _Noreturn void fail_plain(const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set(load_err, EXIT_INPUT, "%s", msg);
	longjmp(*load_jmp, 1);
}

/* cut: s cut to at most max bytes without splitting a UTF-8 character, as
 * Rust's floor_char_boundary and PostgreSQL's pg_mbcliplen cut. */
static char *cut(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return xstrndup(s, n);
}

/* ----------------------------------------------------------------- lexer */

enum tkind { T_EOF,
	     T_NL,
	     T_WORD,
	     T_NUM,
	     T_STR,
	     T_PUNCT,
	     T_ATAT };

/* The lexer hands out one token at a time (the current one). Comments are
 * skipped (they never reach the database); newlines are tokens, because
 * the grammar is line-oriented. */
struct lexer {
	const char *file, *s;
	size_t at, bol; /* read offset; offset where the current line begins */
	int line;
	enum tkind kind; /* the current token: */
	struct buf text; /* word, number, or decoded string */
	char punct;
	struct pos pos;
};

/* Byte length of a Unicode space separator (or tab) at p, 0 if none. */
static size_t space_len(const unsigned char *p)
{
	if (*p == ' ' || *p == '\t')
		return 1;
	if (p[0] == 0xC2 && p[1] == 0xA0)
		return 2;
	if (p[0] == 0xE2 && p[1] == 0x80 && (p[2] <= 0x8A || p[2] == 0xAF))
		return 3;
	if ((p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0x9F) ||
	    (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) ||
	    (p[0] == 0xE1 && p[1] == 0x9A && p[2] == 0x80))
		return 3;
	return 0;
}

/* skip_block_comment: a comment from the slash-star at lx->at to its star-slash,
 * counting the lines inside. */
static void skip_block_comment(struct lexer *lx)
{
	struct pos start = {lx->file, lx->line, 0};
	start.col = (int)(lx->at - lx->bol) + 1;
	const char *end = strstr(lx->s + lx->at + 2, "*/");
	if (!end)
		syntax(&start, "unterminated /* comment");
	for (size_t i = lx->at; i < (size_t)(end - lx->s); i++) {
		if (lx->s[i] == '\n' || (lx->s[i] == '\r' && lx->s[i + 1] != '\n')) {
			lx->line++;
			lx->bol = i + 1;
		}
	}
	lx->at = (size_t)(end - lx->s) + 2;
}

/* Skip blanks and comments up to the next token. A block comment that
 * follows a token on its line must end that line (Prisma takes it as a
 * trailing comment, nothing more may follow). */
static void lex_skip(struct lexer *lx)
{
	bool trailing = false;
	for (;;) {
		const char *p = lx->s + lx->at;
		size_t n = space_len((const unsigned char *)p);
		if (n) {
			lx->at += n;
		} else if (p[0] == '/' && p[1] == '/') {
			while (lx->s[lx->at] && lx->s[lx->at] != '\n' && lx->s[lx->at] != '\r')
				lx->at++;
		} else if (p[0] == '/' && p[1] == '*') {
			trailing |= lx->kind != T_NL && lx->pos.line == lx->line;
			skip_block_comment(lx);
		} else {
			break;
		}
	}
	const char *p = lx->s + lx->at;
	if (trailing && *p && *p != '\n' && *p != '\r') {
		struct pos at = {lx->file, lx->line, (int)(lx->at - lx->bol) + 1};
		syntax(&at, "a /* */ comment after a field or attribute must end the line");
	}
}

/* Column of offset at on the current line, counting characters. */
static int lex_col(const struct lexer *lx, size_t at)
{
	int col = 1;
	for (size_t i = lx->bol; i < at; i++)
		if (((unsigned char)lx->s[i] & 0xC0) != 0x80)
			col++;
	return col;
}

/* lex_newline: a NEWLINE token (\n, \r\n or \r); the next line begins. */
static void lex_newline(struct lexer *lx)
{
	if (lx->s[lx->at] == '\r' && lx->s[lx->at + 1] == '\n')
		lx->at++;
	lx->at++;
	lx->line++;
	lx->bol = lx->at;
	lx->kind = T_NL;
}

/* \uXXXX (with a surrogate pair) as UTF-8; returns bytes consumed after
 * the backslash-u, or 0 when malformed. */
static size_t lex_unicode(struct buf *b, const char *p)
{
	unsigned long cp;
	char hex[5] = {0};
	for (int i = 0; i < 4; i++)
		if (!isxdigit((unsigned char)(hex[i] = p[i])))
			return 0;
	cp = strtoul(hex, NULL, 16);
	size_t used = 4;
	if (cp >= 0xD800 && cp < 0xDC00 && p[4] == '\\' && p[5] == 'u') {
		char lo[5] = {0};
		for (int i = 0; i < 4; i++)
			if (!isxdigit((unsigned char)(lo[i] = p[6 + i])))
				return 0;
		unsigned long low = strtoul(lo, NULL, 16);
		if (low < 0xDC00 || low > 0xDFFF)
			return 0;
		cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
		used = 10;
	}
	if (cp >= 0xD800 && cp <= 0xDFFF)
		return 0; /* a lone surrogate is no character */
	char u[4];
	size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2
			   : cp < 0x10000     ? 3
					      : 4;
	static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
	for (size_t i = n - 1; i > 0; i--, cp >>= 6)
		u[i] = (char)(0x80 | (cp & 0x3F));
	u[0] = (char)(n == 1 ? cp : (lead[n] | cp));
	buf_add(b, u, n);
	return used;
}

/* One escape sequence after a backslash at p; returns bytes consumed. */
static size_t lex_escape(struct lexer *lx, const char *p)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e = *p ? strchr(from, *p) : NULL;
	if (e) {
		buf_addc(&lx->text, to[e - from]);
		return 1;
	}
	size_t n = *p == 'u' ? lex_unicode(&lx->text, p + 1) : 0;
	if (!n) {
		struct pos at = {lx->file, lx->line, lex_col(lx, (size_t)(p - lx->s)) - 1};
		syntax(&at, "unknown escape sequence in string");
	}
	return n + 1;
}

/* A string literal, JSON syntax: escapes decoded, no control characters. */
static void lex_string(struct lexer *lx)
{
	const char *p = lx->s + lx->at + 1;
	for (;;) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '"')
			break;
		if (ch == '\0' || ch == '\n' || ch == '\r')
			syntax(&lx->pos, "unterminated string");
		if (ch < 0x20) {
			struct pos at = {lx->file, lx->line, lex_col(lx, (size_t)(p - lx->s))};
			syntax(&at, "control character in string");
		}
		if (ch == '\\')
			p += 1 + lex_escape(lx, p + 1);
		else
			buf_addc(&lx->text, *p++);
	}
	lx->at = (size_t)(p + 1 - lx->s);
	lx->kind = T_STR;
}

/* Identifiers are Unicode alphanumerics (any non-ASCII byte that is not
 * part of a space separator counts), digits, '_', '-'; paths add '.'. */
static bool is_word_start(const char *p)
{
	return isalnum((unsigned char)*p) ||
	       ((unsigned char)*p >= 0x80 && !space_len((const unsigned char *)p));
}

static bool is_word_char(const char *p)
{
	return is_word_start(p) || *p == '_' || *p == '-' || *p == '.';
}

/* Does s spell a numeric literal, -?[0-9]+(\.[0-9]+)? ? */
static bool is_number(const char *s)
{
	const char *p = s + (*s == '-');
	size_t n = strspn(p, "0123456789");
	if (!n)
		return false;
	p += n;
	if (*p == '.') {
		n = strspn(++p, "0123456789");
		if (!n)
			return false;
		p += n;
	}
	return *p == '\0';
}

/* A word: an identifier or dotted path (db.VarChar), or a number. */
static void lex_word(struct lexer *lx)
{
	size_t start = lx->at;
	lx->at++;
	while (is_word_char(lx->s + lx->at))
		lx->at++;
	buf_add(&lx->text, lx->s + start, lx->at - start);
	if (is_number(lx->text.s))
		lx->kind = T_NUM;
	else if (lx->text.s[0] == '-')
		syntax(&lx->pos, "invalid number '%s'", lx->text.s);
	else
		lx->kind = T_WORD;
}

/* lex_next: advance to the next token. */
static void lex_next(struct lexer *lx)
{
	lex_skip(lx);
	const char *p = lx->s + lx->at;
	lx->pos = (struct pos){lx->file, lx->line, lex_col(lx, lx->at)};
	buf_reset(&lx->text);
	if (!*p) {
		lx->kind = T_EOF;
	} else if (*p == '\n' || *p == '\r') {
		lex_newline(lx);
	} else if (*p == '"') {
		lex_string(lx);
	} else if (is_word_start(p) || (*p == '-' && isdigit((unsigned char)p[1]))) {
		lex_word(lx);
	} else if (p[0] == '@' && p[1] == '@') {
		lx->kind = T_ATAT;
		lx->at += 2;
	} else if (strchr("{}()[],:=?!@", *p)) {
		lx->kind = T_PUNCT;
		lx->punct = *p;
		lx->at++;
	} else if (isprint((unsigned char)*p)) {
		syntax(&lx->pos, "unexpected character '%c'", *p);
	} else {
		syntax(&lx->pos, "unexpected byte 0x%02x", (unsigned char)*p);
	}
}

/* What the current token is, for "expected X, found Y" messages. */
static const char *tok_desc(const struct lexer *lx)
{
	static char d[96];
	switch (lx->kind) {
	case T_EOF: return "end of file";
	case T_NL: return "end of line";
	case T_ATAT: return "'@@'";
	case T_STR: return "a string";
	case T_PUNCT: snprintf(d, sizeof(d), "'%c'", lx->punct); return d;
	default: snprintf(d, sizeof(d), "'%.80s'", lx->text.s); return d;
	}
}

static bool is_punct(const struct lexer *lx, char c)
{
	return lx->kind == T_PUNCT && lx->punct == c;
}

static void expect_punct(struct lexer *lx, char c, const char *context)
{
	if (!is_punct(lx, c))
		syntax(&lx->pos, "expected '%c' %s, found %s", c, context, tok_desc(lx));
	lex_next(lx);
}

/* expect_eol: the current line must end here (a comment may follow). */
static void expect_eol(struct lexer *lx, const char *context)
{
	if (lx->kind == T_EOF)
		return;
	if (lx->kind != T_NL)
		syntax(&lx->pos, "unexpected %s %s", tok_desc(lx), context);
	lex_next(lx);
}

static void skip_newlines(struct lexer *lx)
{
	while (lx->kind == T_NL)
		lex_next(lx);
}

/* check_ident: a name (not a dotted path) as Prisma accepts it. */
static void check_ident(const struct pos *at, const char *s)
{
	if (strchr(s, '.'))
		syntax(at, "'%s' is not a valid name: the character '.' is not allowed", s);
	if (isdigit((unsigned char)s[0]))
		syntax(at, "'%s' is not a valid name: it must not start with a number", s);
	if (strchr(s, '-'))
		syntax(at, "'%s' is not a valid name: the character '-' is not allowed", s);
}

/* take_word: the current token as a new string (must be a word); advance.
 * Identifiers may not hold dots; paths (attribute names) may. */
static char *take_word(struct lexer *lx, const char *what, bool path)
{
	if (lx->kind != T_WORD)
		syntax(&lx->pos, "expected %s, found %s", what, tok_desc(lx));
	if (!path)
		check_ident(&lx->pos, lx->text.s);
	char *w = xstrdup(lx->text.s);
	lex_next(lx);
	return w;
}

/* ------------------------------------------------------------ parse tree */

enum xkind { X_STR,
	     X_NUM,
	     X_CONST,
	     X_CALL,
	     X_ARRAY,
	     X_OBJECT };

struct psl_expr;

struct psl_arg {
	char *name; /* NULL for a positional argument or an array item */
	struct psl_expr *value;
};

struct psl_args {
	struct psl_arg *v;
	size_t n, cap;
};

struct psl_expr {
	enum xkind kind;
	char *text;	      /* string value, number, constant, or function name */
	struct psl_args args; /* call arguments, array items, object members */
	struct pos pos;
};

struct psl_attr {
	char *name; /* without the @ or @@: "id", "db.VarChar", "index" */
	struct psl_args args;
	struct pos pos;
};

struct psl_attrs {
	struct psl_attr *v;
	size_t n, cap;
};

enum fkind { F_SCALAR,
	     F_ENUM,
	     F_RELATION,
	     F_UNSUPPORTED };

struct psl_block;

/* A model or view field, or an enum value (type NULL). */
struct psl_field {
	char *name, *type; /* type: identifier, or Unsupported's text */
	bool optional, list, unsupported;
	struct psl_attrs attrs;
	struct pos pos;
	/* resolved */
	enum fkind kind;
	char *dbname;		  /* after @map, as Prisma names things with it */
	char *col;		  /* dbname as PostgreSQL stores it (63 bytes) */
	struct psl_block *owner;  /* the block it belongs to */
	struct psl_block *target; /* enum or model of its type */
	const char *relname;	  /* @relation name, or NULL */
	struct psl_field *peer;	  /* the opposite relation field */
	bool done;		  /* m-n join table made */
};

enum bkind { B_MODEL,
	     B_VIEW,
	     B_TYPE,
	     B_ENUM,
	     B_DATASOURCE,
	     B_GENERATOR };

struct psl_block {
	enum bkind kind;
	char *name;
	struct psl_field *fields;
	size_t nfields, capfields;
	struct psl_attrs attrs; /* block attributes (@@) */
	struct psl_args config; /* datasource and generator: key = value */
	struct pos pos;
	/* resolved */
	char *schema, *dbname;	 /* dbname after @@map, full length */
	struct cat_table *table; /* models */
	struct cat_enum *en;	 /* enums */
};

/* The whole schema, every file of it. */
struct psl {
	struct catalog *cat;
	struct strv paths; /* files read; pos.file points into these strings */
	struct psl_block **blocks;
	size_t nblocks, capblocks;
	const struct psl_block *ds; /* the datasource */
	struct strv schemas;	    /* datasource schemas = [...], or empty */
	struct strv previews;	    /* generators' previewFeatures */
	struct strv views;	    /* view blocks' "schema.name": checked, never in the DAG */
	const char *default_schema;
	bool fks; /* false under relationMode = "prisma" */
};

static void expr_free(struct psl_expr *e);

static void args_release(struct psl_args *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].name);
		expr_free(a->v[i].value);
	}
	free(a->v);
}

static void expr_free(struct psl_expr *e)
{
	if (!e)
		return;
	free(e->text);
	args_release(&e->args);
	free(e);
}

static void attrs_release(struct psl_attrs *as)
{
	for (size_t i = 0; i < as->n; i++) {
		free(as->v[i].name);
		args_release(&as->v[i].args);
	}
	free(as->v);
}

static void block_free(struct psl_block *b)
{
	for (size_t i = 0; i < b->nfields; i++) {
		struct psl_field *f = &b->fields[i];
		free(f->name);
		free(f->type);
		free(f->dbname);
		free(f->col);
		attrs_release(&f->attrs);
	}
	free(b->fields);
	attrs_release(&b->attrs);
	args_release(&b->config);
	free(b->name);
	free(b->schema);
	free(b->dbname);
	free(b);
}

static void psl_release(struct psl *p)
{
	for (size_t i = 0; i < p->nblocks; i++)
		block_free(p->blocks[i]);
	free(p->blocks);
	strv_release(&p->paths);
	strv_release(&p->schemas);
	strv_release(&p->previews);
	strv_release(&p->views);
}

/* ---------------------------------------------------------------- parser */

static struct psl_expr *parse_expr(struct lexer *lx);

static struct psl_expr *new_expr(enum xkind kind, char *text, const struct pos *pos)
{
	struct psl_expr *e = xcalloc(1, sizeof(*e));
	e->kind = kind;
	e->text = text;
	e->pos = *pos;
	return e;
}

static bool parse_items(struct lexer *lx, char close, int named, struct psl_args *out);

/* expr_after_word: a constant, or a call when "(" follows the word w
 * (already read, at position at; the expression takes it). */
static struct psl_expr *expr_after_word(struct lexer *lx, char *w, const struct pos *at)
{
	if (!is_punct(lx, '('))
		return new_expr(X_CONST, w, at);
	struct psl_expr *e = new_expr(X_CALL, w, at);
	lex_next(lx);
	if (parse_items(lx, ')', 1, &e->args))
		fail(at, "Trailing commas are not valid in attribute arguments, please remove the "
			 "comma.");
	return e;
}

/* parse_item: one item of a list: "name: expr" (when named is 1: allowed,
 * or 2: required) or "expr". */
static void parse_item(struct lexer *lx, char close, int named, struct psl_arg *a)
{
	struct pos at = lx->pos;
	if (lx->kind != T_WORD) {
		a->value = parse_expr(lx);
	} else {
		char *w = take_word(lx, "a name", true);
		if (!is_punct(lx, ':')) {
			a->value = expr_after_word(lx, w, &at);
		} else {
			a->name = w;
			if (!named)
				syntax(&at, "a named argument cannot stand here");
			lex_next(lx);
			if (is_punct(lx, ',') || is_punct(lx, close))
				syntax(&lx->pos, "argument '%s' has no value", w);
			a->value = parse_expr(lx);
		}
	}
	if (named == 2 && !a->name)
		syntax(&at, "expected 'name: value' in an object");
}

/* parse_items: the items of a list whose opening bracket was read, up to
 * close, separated by commas. Returns whether a trailing comma ended them. */
static bool parse_items(struct lexer *lx, char close, int named, struct psl_args *out)
{
	bool comma = false;
	while (!is_punct(lx, close)) {
		parse_item(lx, close, named, PUSH(out->v, out->n, out->cap));
		comma = is_punct(lx, ',');
		if (!comma)
			break;
		lex_next(lx);
	}
	if (!is_punct(lx, close))
		syntax(&lx->pos, "expected ',' or '%c', found %s", close, tok_desc(lx));
	lex_next(lx);
	return comma;
}

/* parse_expr: string, number, constant, call, [array] or {object}. */
static struct psl_expr *parse_expr(struct lexer *lx)
{
	struct pos at = lx->pos;
	struct psl_expr *e;
	if (lx->kind == T_STR || lx->kind == T_NUM) {
		e = new_expr(lx->kind == T_STR ? X_STR : X_NUM, xstrdup(lx->text.s), &at);
		lex_next(lx);
	} else if (lx->kind == T_WORD) {
		char *w = take_word(lx, "a value", true);
		e = expr_after_word(lx, w, &at);
	} else if (is_punct(lx, '[') || is_punct(lx, '{')) {
		bool arr = is_punct(lx, '[');
		e = new_expr(arr ? X_ARRAY : X_OBJECT, NULL, &at);
		lex_next(lx);
		struct pos close = lx->pos;
		if (parse_items(lx, arr ? ']' : '}', arr ? 0 : 2, &e->args))
			syntax(&close, "a trailing comma is not allowed in %s", arr ? "a list" : "an object");
	} else {
		syntax(&at, "expected a value, found %s", tok_desc(lx));
	}
	return e;
}

/* parse_attr: "@name(args)" or "@@name(args)"; the current token is the @. */
static void parse_attr(struct lexer *lx, struct psl_attrs *out)
{
	struct psl_attr *a = PUSH(out->v, out->n, out->cap);
	a->pos = lx->pos;
	lex_next(lx);
	a->name = take_word(lx, "an attribute name", true);
	if (is_punct(lx, '(')) {
		lex_next(lx);
		struct pos open = lx->pos;
		if (parse_items(lx, ')', 1, &a->args))
			fail(&open, "Trailing commas are not valid in attribute arguments, please "
				    "remove the comma.");
	}
}

/* parse_type: the field type and its modifiers: T, T?, T[], Unsupported("x"). */
static void parse_type(struct lexer *lx, struct psl_field *f)
{
	if (is_punct(lx, '['))
		syntax(&lx->pos, "to declare a list, write 'Type[]', not '[Type]'");
	if (lx->kind != T_WORD)
		syntax(&lx->pos, "field '%s' has no type (found %s)", f->name, tok_desc(lx));
	f->type = take_word(lx, "a type", false);
	if (!strcmp(f->type, "Unsupported") && is_punct(lx, '(')) {
		lex_next(lx);
		if (lx->kind != T_STR)
			syntax(&lx->pos, "Unsupported takes a string, found %s", tok_desc(lx));
		free(f->type);
		f->type = xstrdup(lx->text.s);
		f->unsupported = true;
		lex_next(lx);
		expect_punct(lx, ')', "after Unsupported(\"...\"");
	}
	if (is_punct(lx, '[')) {
		struct pos open = lx->pos;
		lex_next(lx);
		if (!is_punct(lx, ']') || lx->pos.line != open.line || lx->pos.col != open.col + 1)
			syntax(&open, "a list type is written 'Type[]'");
		lex_next(lx);
		f->list = true;
	}
	if (is_punct(lx, '?')) {
		if (f->list)
			syntax(&lx->pos, "optional lists ('%s[]?') are not supported", f->type);
		f->optional = true;
		lex_next(lx);
	} else if (is_punct(lx, '!')) {
		syntax(&lx->pos, "fields are required by default, '!' is not needed");
	}
}

/* parse_field: "name Type attrs", one line of a model or view. */
static void parse_field(struct lexer *lx, struct psl_block *b)
{
	struct psl_field *f = PUSH(b->fields, b->nfields, b->capfields);
	f->pos = lx->pos;
	f->name = take_word(lx, "a field name", false);
	if (is_punct(lx, ':'))
		syntax(&lx->pos, "field declarations do not take a ':'");
	parse_type(lx, f);
	while (is_punct(lx, '@'))
		parse_attr(lx, &f->attrs);
	if (lx->kind == T_ATAT)
		syntax(&lx->pos, "block attributes (@@) go on a line of their own");
	expect_eol(lx, "after the field");
}

/* parse_enum_value: "NAME attrs", one line of an enum. */
static void parse_enum_value(struct lexer *lx, struct psl_block *b)
{
	struct psl_field *f = PUSH(b->fields, b->nfields, b->capfields);
	f->pos = lx->pos;
	f->name = take_word(lx, "an enum value", false);
	while (is_punct(lx, '@'))
		parse_attr(lx, &f->attrs);
	expect_eol(lx, "after the enum value");
}

/* parse_key_value: "key = expr", one line of a datasource or generator. */
static void parse_key_value(struct lexer *lx, struct psl_block *b)
{
	for (size_t i = 0; lx->kind == T_WORD && i < b->config.n; i++)
		if (!strcmp(b->config.v[i].name, lx->text.s))
			syntax(&lx->pos, "Key \"%s\" is already defined in %s \"%s\".", lx->text.s,
			       b->kind == B_DATASOURCE ? "datasource" : "generator", b->name);
	struct psl_arg *a = PUSH(b->config.v, b->config.n, b->config.cap);
	a->name = take_word(lx, "a property name", false);
	expect_punct(lx, '=', "after the property name");
	a->value = parse_expr(lx);
	expect_eol(lx, "after the property value");
}

/* parse_body: the lines of a block after "{" up to and including "}". */
static void parse_body(struct lexer *lx, struct psl_block *b)
{
	for (;;) {
		skip_newlines(lx);
		if (is_punct(lx, '}')) {
			lex_next(lx);
			return;
		}
		if (lx->kind == T_EOF)
			syntax(&lx->pos, "missing '}' to close %s (line %d)", b->name, b->pos.line);
		if (lx->kind == T_ATAT && (b->kind == B_DATASOURCE || b->kind == B_GENERATOR))
			syntax(&lx->pos, "attributes are not allowed in a %s block",
			       b->kind == B_DATASOURCE ? "datasource" : "generator");
		if (lx->kind == T_ATAT) {
			parse_attr(lx, &b->attrs);
			expect_eol(lx, "after the block attribute");
		} else if (lx->kind != T_WORD) {
			syntax(&lx->pos, "this line is not a valid field or attribute definition");
		} else if (b->kind == B_ENUM) {
			parse_enum_value(lx, b);
		} else if (b->kind == B_DATASOURCE || b->kind == B_GENERATOR) {
			parse_key_value(lx, b);
		} else {
			parse_field(lx, b);
		}
	}
}

/* Block keywords in the order Prisma's grammar tries them. */
static const struct {
	const char *word;
	enum bkind kind;
} block_keywords[] = {
	{"model", B_MODEL},
	{"type", B_TYPE},
	{"view", B_VIEW},
	{"enum", B_ENUM},
	{"datasource", B_DATASOURCE},
	{"generator", B_GENERATOR},
};

/* block_keyword: the index of the keyword the current word starts with,
 * or -1. The grammar lets a keyword run into the name ("modelUser" is
 * model User), and so do we, with a warning. */
static int block_keyword(const struct lexer *lx)
{
	if (lx->kind != T_WORD)
		return -1;
	for (size_t k = 0; k < sizeof(block_keywords) / sizeof(*block_keywords); k++) {
		size_t n = strlen(block_keywords[k].word);
		if (!strncmp(lx->text.s, block_keywords[k].word, n) &&
		    (!lx->text.s[n] || is_word_start(lx->text.s + n)))
			return (int)k;
	}
	return -1;
}

/* skip_rest_of_line: after a block's "{", Prisma's grammar takes anything
 * up to the end of the line and ignores it; so do we, with a warning when
 * it is more than a comment (model A { id Int) loses that text). */
static void skip_rest_of_line(struct lexer *lx)
{
	size_t end = lx->at + strcspn(lx->s + lx->at, "\r\n"), at = lx->at;
	while (at < end && space_len((const unsigned char *)lx->s + at))
		at += space_len((const unsigned char *)lx->s + at);
	if (at < end && strncmp(lx->s + at, "//", 2) && strncmp(lx->s + at, "/*", 2))
		warning_at(lx->file, lx->line, "column %d: text after '{' is ignored, as Prisma ignores it",
			   lex_col(lx, at));
	lx->at = end;
	lex_next(lx);
}

/* parse_block: "keyword Name {" then the body; the current token is the keyword. */
static void parse_block(struct lexer *lx, struct psl *p)
{
	int k = block_keyword(lx);
	if (k < 0)
		syntax(&lx->pos, "this line is invalid: it does not start with a Prisma schema keyword "
				 "(model, enum, view, type, datasource, generator)");
	struct psl_block *b = xcalloc(1, sizeof(*b));
	*PUSH(p->blocks, p->nblocks, p->capblocks) = b;
	b->kind = block_keywords[k].kind;
	b->pos = lx->pos;
	const char *glued = lx->text.s + strlen(block_keywords[k].word);
	if (*glued) {
		warning_at(lx->file, lx->line, "column %d: '%s' is read as '%s %s', as Prisma reads it",
			   lx->pos.col, lx->text.s, block_keywords[k].word, glued);
		check_ident(&lx->pos, glued);
		b->name = xstrdup(glued);
		lex_next(lx);
	} else {
		lex_next(lx);
		b->name = take_word(lx, "a name", false);
	}
	if (b->kind == B_TYPE && is_punct(lx, '='))
		syntax(&lx->pos, "type aliases are not supported");
	if (!is_punct(lx, '{'))
		syntax(&lx->pos, "expected '{' to open the block, found %s", tok_desc(lx));
	skip_rest_of_line(lx);
	parse_body(lx, b);
}

/* parse_text: every block of one file's text into p. */
static void parse_text(struct psl *p, const char *file, const char *text)
{
	struct lexer lx = {.file = file, .s = text, .line = 1};
	buf_init(&lx.text);
	if (!strncmp(text, "\xEF\xBB\xBF", 3))
		lx.at = lx.bol = 3; /* a UTF-8 byte order mark */
	lex_next(&lx);
	for (;;) {
		skip_newlines(&lx);
		if (lx.kind == T_EOF)
			break;
		parse_block(&lx, p);
	}
	buf_release(&lx.text);
}

/* ----------------------------------------------------------------- files */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/* find_prisma_files: every *.prisma file under dir, recursively, into out.
 * Hidden entries (.git, ...) are skipped. */
static void find_prisma_files(const char *dir, struct strv *out)
{
	DIR *d = opendir(dir);
	if (!d)
		fail_plain("%s: %s", dir, strerror(errno));
	const char *sep = has_suffix(dir, "/") ? "" : "/";
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *path = xasprintf("%s%s%s", dir, sep, e->d_name);
		struct stat st;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			find_prisma_files(path, out);
		else if (has_suffix(e->d_name, ".prisma"))
			strv_push(out, path);
		free(path);
	}
	closedir(d);
}

/* schema_paths: the files of a schema: path itself, or the .prisma files
 * in the folder path, sorted. Dies when there are none. */
static void schema_paths(const char *path, struct strv *out)
{
	struct stat st;
	if (stat(path, &st) != 0)
		fail_plain("%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode)) {
		strv_push(out, path);
		return;
	}
	find_prisma_files(path, out);
	if (!out->n)
		fail_plain("%s: no .prisma files in this folder", path);
	qsort(out->v, out->n, sizeof(*out->v), cmp_str);
}

/* ------------------------------------------------------------ attributes */

/* One attribute's signature: its parameters, space-separated; "_x" marks
 * the parameter x that may also be given without a name. */
struct sig {
	const char *name, *params;
	bool repeat;
};

static const struct sig field_sigs[] = {
	{"id", "map length sort clustered", false},
	{"default", "_value map", false},
	{"unique", "map length sort clustered", false},
	{"relation", "_name fields references onDelete onUpdate map", false},
	{"map", "_name", false},
	{"updatedAt", "", false},
	{"ignore", "", false},
};

static const struct sig model_sigs[] = {
	{"id", "_fields name map length sort clustered", false},
	{"unique", "_fields name map length sort clustered where", true},
	{"index", "_fields name map type clustered where", true},
	{"map", "_name", false},
	{"ignore", "", false},
	{"schema", "_name", false},
};

static const struct sig value_sigs[] = {{"map", "_name", false}};
static const struct sig enum_sigs[] = {{"map", "_name", false}, {"schema", "_name", false}};

#define NSIGS(a) (sizeof(a) / sizeof(*(a)))

/* sig_has: is name one of the space-separated words of params (a leading
 * "_" ignored)? Also used for small sets of names. */
static bool sig_has(const char *params, const char *name)
{
	size_t n = strlen(name);
	for (const char *w = params; *w; w += strspn(w, " ")) {
		size_t len = strcspn(w, " ");
		if (*w == '_')
			w++, len--;
		if (len == n && !strncmp(w, name, n))
			return true;
		w += len;
	}
	return false;
}

/* attr_check: a's arguments against its signature. The positional argument
 * is given its parameter's name, so lookups are by name only. */
static void attr_check(struct psl_attr *a, const struct sig *s, const char *at)
{
	for (size_t i = 0; i < a->args.n; i++) {
		struct psl_arg *g = &a->args.v[i];
		if (!g->name && s->params[0] != '_')
			fail(&g->value->pos, "%s%s takes no unnamed argument", at, a->name);
		if (!g->name)
			g->name = xstrndup(s->params + 1, strcspn(s->params + 1, " "));
		if (!sig_has(s->params, g->name))
			fail(&g->value->pos, "%s%s has no argument '%s'", at, a->name, g->name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(a->args.v[j].name, g->name))
				fail(&g->value->pos, "%s%s: argument '%s' is given twice", at, a->name,
				     g->name);
	}
}

static const struct psl_attr *attr_find(const struct psl_attrs *as, const char *name)
{
	for (size_t i = 0; i < as->n; i++)
		if (!strcmp(as->v[i].name, name))
			return &as->v[i];
	return NULL;
}

/* arg: the argument called name (see attr_check), or NULL. */
static const struct psl_expr *arg(const struct psl_attr *a, const char *name)
{
	for (size_t i = 0; i < a->args.n; i++)
		if (a->args.v[i].name && !strcmp(a->args.v[i].name, name))
			return a->args.v[i].value;
	return NULL;
}

/* arg_str: the string argument called name, or NULL; never empty. */
static const char *arg_str(const struct psl_attr *a, const char *name)
{
	const struct psl_expr *e = arg(a, name);
	if (!e)
		return NULL;
	if (e->kind != X_STR)
		fail(&e->pos, "argument '%s' of @%s must be a string", name, a->name);
	if (!e->text[0])
		fail(&e->pos, "argument '%s' of @%s cannot be an empty string", name, a->name);
	return e->text;
}

/* map_arg: the map: argument of a key attribute (a constraint name), or NULL. */
static const char *map_arg(const struct psl_attr *a, const char *key, const char *at)
{
	const char *s = arg_str(a, key);
	if (s && strlen(s) > PG_MAXNAME)
		fail(&a->pos,
		     "The constraint name '%s' specified in the `%s` argument for the `%s%s` "
		     "constraint is too long for your chosen provider. The maximum allowed length "
		     "is %d bytes.",
		     s, key, at, a->name, PG_MAXNAME);
	return s;
}

/* native_prefix: is a a native type attribute (@db.X)? Dies when its prefix
 * is not the datasource's name. */
static bool native_prefix(const struct psl *p, const struct psl_attr *a)
{
	const char *dot = strchr(a->name, '.');
	if (!dot)
		return false;
	size_t n = (size_t)(dot - a->name);
	if (strlen(p->ds->name) != n || strncmp(a->name, p->ds->name, n))
		fail(&a->pos,
		     "The prefix %.*s is invalid. It must be equal to the name of an existing "
		     "datasource e.g. %s. Did you mean to use %s.%s?",
		     (int)n, a->name, p->ds->name, p->ds->name, dot + 1);
	return true;
}

/* check_attrs: every attribute in as is known (or, on a field, a native
 * type), takes the arguments given, and stands once unless it may repeat. */
static void check_attrs(const struct psl *p, struct psl_attrs *as, const struct sig *sigs,
			size_t nsigs, const char *at)
{
	size_t natives = 0;
	for (size_t i = 0; i < as->n; i++) {
		struct psl_attr *a = &as->v[i];
		size_t k = 0;
		while (k < nsigs && strcmp(sigs[k].name, a->name))
			k++;
		if (k == nsigs && sigs == field_sigs && native_prefix(p, a)) {
			if (natives++)
				fail(&a->pos, "a field can have only one native type attribute");
			continue;
		}
		if (k == nsigs)
			fail(&a->pos, "Attribute not known: \"%s%s\".", at, a->name);
		attr_check(a, &sigs[k], at);
		for (size_t j = 0; j < i && !sigs[k].repeat; j++)
			if (!strcmp(as->v[j].name, a->name))
				fail(&a->pos, "Attribute \"%s%s\" can only be defined once.", at, a->name);
	}
}

/* check_block_attrs: the attributes of a block and of its fields or values. */
static void check_block_attrs(const struct psl *p, struct psl_block *b)
{
	bool is_enum = b->kind == B_ENUM;
	if (b->kind != B_ENUM && b->kind != B_MODEL && b->kind != B_VIEW)
		return;
	check_attrs(p, &b->attrs, is_enum ? enum_sigs : model_sigs,
		    is_enum ? NSIGS(enum_sigs) : NSIGS(model_sigs), "@@");
	for (size_t i = 0; i < b->nfields; i++)
		check_attrs(p, &b->fields[i].attrs, is_enum ? value_sigs : field_sigs,
			    is_enum ? NSIGS(value_sigs) : NSIGS(field_sigs), "@");
}

/* ------------------------------------------------------------ datasource */

/* url_schema: the schema= parameter of a literal connection URL (Prisma 6
 * puts tables there), or NULL. */
static char *url_schema(const char *url)
{
	const char *q = strchr(url, '?');
	while (q) {
		q++;
		if (!strncmp(q, "schema=", 7) && q[7] && q[7] != '&')
			return xstrndup(q + 7, strcspn(q + 7, "&#"));
		q = strchr(q, '&');
	}
	return NULL;
}

/* ds_property: one "key = value" of the datasource. Keys that do not
 * shape the database (directUrl, extensions, ...) are skipped. */
static void ds_property(struct psl *p, const struct psl_arg *kv, char **url_default)
{
	const struct psl_expr *v = kv->value;
	if (!strcmp(kv->name, "provider")) {
		if (v->kind != X_STR)
			fail(&v->pos, "provider must be a string");
		if (strcmp(v->text, "postgresql") && strcmp(v->text, "postgres"))
			fail(&v->pos, "provider \"%s\" is not supported: only PostgreSQL schemas are read",
			     v->text);
	} else if (!strcmp(kv->name, "schemas")) {
		for (size_t i = 0; v->kind == X_ARRAY && i < v->args.n; i++) {
			const struct psl_expr *s = v->args.v[i].value;
			if (s->kind != X_STR)
				fail(&s->pos, "schemas must be a list of strings");
			strv_push(&p->schemas, s->text);
		}
		if (v->kind != X_ARRAY)
			fail(&v->pos, "schemas must be a list of strings");
	} else if (!strcmp(kv->name, "relationMode")) {
		if (v->kind != X_STR || (strcmp(v->text, "prisma") && strcmp(v->text, "foreignKeys")))
			fail(&v->pos, "relationMode must be \"prisma\" or \"foreignKeys\"");
		p->fks = !strcmp(v->text, "foreignKeys");
	} else if (!strcmp(kv->name, "url") && v->kind == X_STR && !*url_default) {
		*url_default = url_schema(v->text);
	} else if (!strcmp(kv->name, "extensions") &&
		   strv_index(&p->previews, "postgresqlExtensions") < 0) {
		fail(&v->pos, "The `extensions` property is only available with the "
			      "`postgresqlExtensions` preview feature.");
	} else if (!sig_has("url directUrl shadowDatabaseUrl extensions", kv->name)) {
		fail(&v->pos, "Property not known: \"%s\".", kv->name);
	}
}

/* generator: a generator block needs a provider; its previewFeatures
 * switch on views and partial indexes. */
static void generator(struct psl *p, const struct psl_block *g)
{
	bool provider = false;
	for (size_t i = 0; i < g->config.n; i++) {
		const struct psl_expr *v = g->config.v[i].value;
		provider |= !strcmp(g->config.v[i].name, "provider");
		if (strcmp(g->config.v[i].name, "previewFeatures"))
			continue;
		if (v->kind != X_ARRAY)
			fail(&v->pos, "previewFeatures must be a list of strings");
		for (size_t k = 0; k < v->args.n; k++)
			if (v->args.v[k].value->kind == X_STR)
				strv_push(&p->previews, v->args.v[k].value->text);
	}
	if (!provider)
		fail(&g->pos, "Argument \"provider\" is missing in generator block \"%s\".", g->name);
}

/* resolve_datasource: the one datasource block (PostgreSQL), its schemas
 * and relation mode; the generators' preview features; composite types
 * are refused here. */
static void resolve_datasource(struct psl *p, const char *path, char **url_default)
{
	for (size_t i = 0; i < p->nblocks; i++) {
		const struct psl_block *b = p->blocks[i];
		if (b->kind == B_TYPE)
			fail(&b->pos, "Composite types are not supported on Postgres.");
		if (b->kind == B_GENERATOR)
			generator(p, b);
		if (b->kind != B_DATASOURCE)
			continue;
		if (p->ds)
			fail(&b->pos, "You defined more than one datasource. This is not allowed yet "
				      "because support for multiple databases has not been implemented yet.");
		p->ds = b;
	}
	if (!p->ds)
		fail_plain("%s: there is no datasource in the schema", path);
	bool provider = false;
	for (size_t i = 0; i < p->ds->config.n; i++) {
		ds_property(p, &p->ds->config.v[i], url_default);
		provider |= !strcmp(p->ds->config.v[i].name, "provider");
	}
	if (!provider)
		fail(&p->ds->pos, "the datasource has no provider");
}

/* ----------------------------------------------------------------- names */

static const char *kind_name(enum bkind k)
{
	static const char *const names[] = {"model", "view", "type", "enum", "datasource", "generator"};
	return names[k];
}

static struct psl_block *find_block(const struct psl *p, const char *name)
{
	for (size_t i = 0; i < p->nblocks; i++) {
		struct psl_block *b = p->blocks[i];
		if (b->kind <= B_ENUM && !strcmp(b->name, name))
			return b;
	}
	return NULL;
}

/* schema_of: the schema of a model, view or enum (@@schema, or the default). */
static char *schema_of(const struct psl *p, const struct psl_block *b)
{
	const struct psl_attr *a = attr_find(&b->attrs, "schema");
	if (!a) {
		if (p->schemas.n)
			fail(&b->pos, "This %s is missing an `@@schema` attribute.", kind_name(b->kind));
		return cut(p->default_schema, PG_MAXNAME);
	}
	const char *s = arg_str(a, "name");
	if (!s || strv_index(&p->schemas, s) < 0)
		fail(&a->pos, "This schema is not defined in the datasource. Read more on `@@schema` "
			      "at https://pris.ly/d/multi-schema");
	return cut(s, PG_MAXNAME);
}

/* map_name: the @map / @@map name of a field, value or block, or dflt. */
static const char *map_name(const struct psl_attrs *as, const char *dflt)
{
	const struct psl_attr *a = attr_find(as, "map");
	const char *s = a ? arg_str(a, "name") : NULL;
	if (a && !s)
		fail(&a->pos, "@map needs a name");
	return s ? s : dflt;
}

static const char *scalar_sql(const char *type);

/* resolve_block: a unique name, and the schema and database name of a
 * model, view or enum. */
static void resolve_block(struct psl *p, size_t i)
{
	struct psl_block *b = p->blocks[i];
	if (b->kind > B_ENUM)
		return;
	for (size_t j = 0; j < i; j++) {
		const struct psl_block *o = p->blocks[j];
		if (o->kind <= B_ENUM && !strcmp(o->name, b->name))
			fail(&b->pos, "The %s \"%s\" cannot be defined because a %s with that name "
				      "already exists (%s:%d).",
			     kind_name(b->kind), b->name, kind_name(o->kind), o->pos.file, o->pos.line);
	}
	if (scalar_sql(b->name) || !strcmp(b->name, "Unsupported"))
		fail(&b->pos, "The %s name `%s` is invalid. It is a reserved name.", kind_name(b->kind),
		     b->name);
	check_block_attrs(p, b);
	b->schema = schema_of(p, b);
	b->dbname = xstrdup(map_name(&b->attrs, b->name));
}

static const struct {
	const char *name, *sql;
} scalars[] = {
	{"String", "text"},
	{"Boolean", "boolean"},
	{"Int", "integer"},
	{"BigInt", "bigint"},
	{"Float", "double precision"},
	{"Decimal", "numeric(65,30)"},
	{"DateTime", "timestamp(3) without time zone"},
	{"Json", "jsonb"},
	{"Bytes", "bytea"},
};

/* scalar_sql: the default column type of a Prisma scalar type, or NULL. */
static const char *scalar_sql(const char *type)
{
	for (size_t i = 0; i < sizeof(scalars) / sizeof(*scalars); i++)
		if (!strcmp(scalars[i].name, type))
			return scalars[i].sql;
	return NULL;
}

/* resolve_field: f's database name, and what its type is. */
static void resolve_field(const struct psl *p, struct psl_block *b, struct psl_field *f)
{
	f->owner = b;
	f->dbname = xstrdup(map_name(&f->attrs, f->name));
	f->col = cut(f->dbname, PG_MAXNAME);
	if (b->kind == B_ENUM)
		return;
	if (f->unsupported) {
		f->kind = F_UNSUPPORTED;
	} else if (scalar_sql(f->type)) {
		f->kind = F_SCALAR;
	} else if (!(f->target = find_block(p, f->type))) {
		fail(&f->pos, "Type \"%s\" is neither a built-in type, nor refers to another model, "
			      "composite type, or enum.",
		     f->type);
	} else {
		f->kind = f->target->kind == B_ENUM ? F_ENUM : F_RELATION;
	}
	const struct psl_attr *rel = attr_find(&f->attrs, "relation");
	if (rel && f->kind != F_RELATION)
		fail(&rel->pos, "@relation can only stand on a field whose type is a model");
	for (size_t i = 0; f->kind == F_RELATION && i < f->attrs.n; i++)
		if (strcmp(f->attrs.v[i].name, "relation") && strcmp(f->attrs.v[i].name, "ignore"))
			fail(&f->attrs.v[i].pos, "The attribute `@%s` cannot be used on relation fields.",
			     f->attrs.v[i].name);
	if (rel)
		f->relname = arg_str(rel, "name");
}

/* ----------------------------------------------------------------- types */

/* PostgreSQL native types (@db.X): the Prisma type each fits, how many
 * arguments it takes (2: none or both), and its format_type() spelling
 * without arguments and with them. */
static const struct native {
	const char *name, *scalar;
	int maxargs;
	const char *bare, *fmt;
} natives[] = {
	{"SmallInt", "Int", 0, "smallint", NULL},
	{"Integer", "Int", 0, "integer", NULL},
	{"BigInt", "BigInt", 0, "bigint", NULL},
	{"Decimal", "Decimal", 2, "numeric", "numeric(%s,%s)"},
	{"Money", "Decimal", 0, "money", NULL},
	{"Inet", "String", 0, "inet", NULL},
	{"Oid", "Int", 0, "oid", NULL},
	{"Citext", "String", 0, "citext", NULL},
	{"Real", "Float", 0, "real", NULL},
	{"DoublePrecision", "Float", 0, "double precision", NULL},
	{"VarChar", "String", 1, "character varying", "character varying(%s)"},
	{"Char", "String", 1, "character(1)", "character(%s)"},
	{"Text", "String", 0, "text", NULL},
	{"ByteA", "Bytes", 0, "bytea", NULL},
	{"Timestamp", "DateTime", 1, "timestamp without time zone", "timestamp(%s) without time zone"},
	{"Timestamptz", "DateTime", 1, "timestamp with time zone", "timestamp(%s) with time zone"},
	{"Date", "DateTime", 0, "date", NULL},
	{"Time", "DateTime", 1, "time without time zone", "time(%s) without time zone"},
	{"Timetz", "DateTime", 1, "time with time zone", "time(%s) with time zone"},
	{"Boolean", "Boolean", 0, "boolean", NULL},
	{"Bit", "String", 1, "bit(1)", "bit(%s)"},
	{"VarBit", "String", 1, "bit varying", "bit varying(%s)"},
	{"Uuid", "String", 0, "uuid", NULL},
	{"Xml", "String", 0, "xml", NULL},
	{"Json", "Json", 0, "json", NULL},
	{"JsonB", "Json", 0, "jsonb", NULL},
};

/* native_attr: f's @db.X attribute, or NULL. */
static const struct psl_attr *native_attr(const struct psl_field *f)
{
	for (size_t i = 0; i < f->attrs.n; i++)
		if (strchr(f->attrs.v[i].name, '.'))
			return &f->attrs.v[i];
	return NULL;
}

/* native_spelling: the type of a native type attribute with its arguments. */
static char *native_spelling(const struct native *n, const struct psl_attr *a)
{
	const char *v[2] = {"", ""};
	size_t argc = a->args.n;
	if (argc == 0)
		return xstrdup(n->bare);
	bool bad = argc > 2 || (n->maxargs == 2 ? argc != 2 : argc > (size_t)n->maxargs);
	for (size_t i = 0; i < argc && !bad; i++) {
		const struct psl_expr *e = a->args.v[i].value;
		bad = a->args.v[i].name || e->kind != X_NUM || strspn(e->text, "0123456789") != strlen(e->text);
		v[i] = e->text;
	}
	if (bad && n->maxargs == 0)
		fail(&a->pos, "Native type %s takes no arguments.", n->name);
	if (bad)
		fail(&a->pos, "Native type %s expects %s.", n->name,
		     n->maxargs == 2 ? "two nonnegative integers" : "one nonnegative integer");
	return xasprintf(n->fmt, v[0], v[1]);
}

/* scalar_type: the column type of a scalar field: its native type or the
 * Prisma default. */
static char *scalar_type(const struct psl_field *f)
{
	const struct psl_attr *a = native_attr(f);
	if (!a)
		return xstrdup(scalar_sql(f->type));
	const char *name = strchr(a->name, '.') + 1;
	for (size_t i = 0; i < sizeof(natives) / sizeof(*natives); i++) {
		const struct native *n = &natives[i];
		if (strcmp(n->name, name))
			continue;
		if (strcmp(n->scalar, f->type))
			fail(&a->pos, "Native type %s is not compatible with declared field type %s, "
				      "expected field type %s.",
			     name, f->type, n->scalar);
		return native_spelling(n, a);
	}
	fail(&a->pos, "Native type %s is not supported for postgresql connector.", name);
}

/* Type names PostgreSQL accepts, and how format_type() prints them. */
static const struct {
	const char *alias, *head, *tail;
} pg_aliases[] = {
	{"int", "integer", ""},
	{"int4", "integer", ""},
	{"integer", "integer", ""},
	{"int2", "smallint", ""},
	{"smallint", "smallint", ""},
	{"int8", "bigint", ""},
	{"bigint", "bigint", ""},
	{"float4", "real", ""},
	{"real", "real", ""},
	{"float8", "double precision", ""},
	{"double precision", "double precision", ""},
	{"bool", "boolean", ""},
	{"boolean", "boolean", ""},
	{"varchar", "character varying", ""},
	{"char varying", "character varying", ""},
	{"character varying", "character varying", ""},
	{"char", "character", ""},
	{"character", "character", ""},
	{"decimal", "numeric", ""},
	{"numeric", "numeric", ""},
	{"timestamp", "timestamp", " without time zone"},
	{"timestamp without time zone", "timestamp", " without time zone"},
	{"timestamptz", "timestamp", " with time zone"},
	{"timestamp with time zone", "timestamp", " with time zone"},
	{"time", "time", " without time zone"},
	{"time without time zone", "time", " without time zone"},
	{"timetz", "time", " with time zone"},
	{"time with time zone", "time", " with time zone"},
	{"varbit", "bit varying", ""},
	{"bit varying", "bit varying", ""},
};

/* squeeze: s lower-cased with runs of blanks made one space, trimmed;
 * inside (...) blanks are dropped. */
static char *squeeze(const char *s, size_t n)
{
	struct buf b;
	buf_init(&b);
	int depth = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		depth += (c == '(') - (c == ')');
		if (isspace((unsigned char)c)) {
			if (!depth && b.len && b.s[b.len - 1] != ' ')
				buf_addc(&b, ' ');
			continue;
		}
		if ((c == '(' || c == '[') && b.len && b.s[b.len - 1] == ' ')
			b.len--;
		buf_addc(&b, (char)tolower((unsigned char)c));
	}
	while (b.len && b.s[b.len - 1] == ' ')
		b.s[--b.len] = '\0';
	return buf_detach(&b);
}

/* pg_canonical: format_type()'s spelling of type name key (no modifiers)
 * with modifiers mods ("" for none). */
static char *pg_canonical(const char *key, const char *mods)
{
	if (!strncmp(key, "public.", 7) || !strncmp(key, "pg_catalog.", 11))
		key = strchr(key, '.') + 1;
	if (!strcmp(key, "float") && *mods)
		return xstrdup(atoi(mods) <= 24 ? "real" : "double precision");
	if (!strcmp(key, "float"))
		return xstrdup("double precision");
	if (!strcmp(key, "bpchar") && *mods)
		key = "character";
	if (!strcmp(key, "bit") || !strcmp(key, "char") || !strcmp(key, "character"))
		return xasprintf("%s(%s)", strcmp(key, "bit") ? "character" : "bit", *mods ? mods : "1");
	for (size_t i = 0; i < sizeof(pg_aliases) / sizeof(*pg_aliases); i++) {
		if (strcmp(pg_aliases[i].alias, key))
			continue;
		bool scale = !strcmp(pg_aliases[i].head, "numeric") && *mods && !strchr(mods, ',');
		return xasprintf("%s%s%s%s%s%s", pg_aliases[i].head, *mods ? "(" : "", mods,
				 scale ? ",0" : "", *mods ? ")" : "", pg_aliases[i].tail);
	}
	return *mods ? xasprintf("%s(%s)", key, mods) : xstrdup(key);
}

/* pg_type_spelling: a type written in SQL (Unsupported("...")) as
 * format_type() prints it: aliases resolved (int4 → integer, varchar(n) →
 * character varying(n), timestamptz → timestamp with time zone), case
 * folded, any array suffix printed as one "[]". Quoted names stay as written. */
static char *pg_type_spelling(const char *raw)
{
	if (strchr(raw, '"'))
		return xstrdup(raw);
	const char *br = strchr(raw, '[');
	char *s = squeeze(raw, br ? (size_t)(br - raw) : strlen(raw));
	char *open = strchr(s, '('), *close = open ? strchr(open, ')') : NULL;
	char *mods = xstrdup(""), *key = s;
	if (open && close) {
		free(mods);
		mods = xstrndup(open + 1, (size_t)(close - open - 1));
		key = xasprintf("%.*s%s", (int)(open - s), s, close + 1);
	}
	char *r = pg_canonical(key, mods);
	if (key != s)
		free(key);
	free(s);
	free(mods);
	if (!br)
		return r;
	char *arr = xasprintf("%s[]", r);
	free(r);
	return arr;
}

/* column_type: the format_type() spelling of a field's column. */
static char *column_type(const struct psl_field *f)
{
	char *base;
	if (f->kind == F_ENUM)
		return cat_type_name(f->target->schema, f->target->en->name, f->list);
	if (f->kind == F_UNSUPPORTED)
		base = pg_type_spelling(f->type);
	else
		base = scalar_type(f);
	if (!f->list)
		return base;
	char *t = xasprintf("%s[]", base);
	free(base);
	return t;
}

/* -------------------------------------------------------------- defaults */

/* cast_name: the type a literal is cast to in pg_get_expr()'s output: the
 * column type without its modifiers (character(n) is bpchar). */
static char *cast_name(const char *type)
{
	const char *open = strchr(type, '(');
	const char *close = open ? strchr(open, ')') : NULL;
	if (!close)
		return xstrdup(type);
	if (!strncmp(type, "character(", 10))
		return xasprintf("bpchar%s", close + 1);
	return xasprintf("%.*s%s", (int)(open - type), type, close + 1);
}

/* quoted_sql: 'text'::type, quotes doubled. */
static char *quoted_sql(const char *text, const char *type)
{
	struct buf b;
	buf_init(&b);
	buf_addc(&b, '\'');
	for (const char *s = text; *s; s++) {
		if (*s == '\'')
			buf_addc(&b, '\'');
		buf_addc(&b, *s);
	}
	char *cast = cast_name(type);
	buf_addf(&b, "'::%s", cast);
	free(cast);
	return buf_detach(&b);
}

/* b64_value: one base64 digit's value, -1 if c is not one. */
static int b64_value(char c)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *d = c ? strchr(digits, c) : NULL;
	return d ? (int)(d - digits) : -1;
}

/* bytes_sql: a base64 Bytes default as '\x..'::bytea. */
static char *bytes_sql(const struct psl_expr *v)
{
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "'\\x");
	unsigned long acc = 0;
	int bits = 0;
	for (const char *s = v->text; *s && *s != '='; s++) {
		int d = b64_value(*s);
		if (d < 0)
			fail(&v->pos, "the default of a Bytes field must be base64");
		acc = (acc << 6) | (unsigned long)d;
		if ((bits += 6) >= 8) {
			bits -= 8;
			buf_addf(&b, "%02x", (unsigned)((acc >> bits) & 0xFF));
			acc &= (1UL << bits) - 1;
		}
	}
	buf_adds(&b, "'::bytea");
	return buf_detach(&b);
}

/* number_sql: a numeric literal as pg_get_expr() prints it: negative and
 * out-of-int4 constants are quoted and cast. */
static char *number_sql(const char *num)
{
	bool integral = !strchr(num, '.');
	bool big = integral && strlen(num + (*num == '-')) >= 10 &&
		   (strlen(num + (*num == '-')) > 10 || strcmp(num + (*num == '-'), "2147483647") > 0);
	if (*num != '-' && !big)
		return xstrdup(num);
	return xasprintf("'%s'::%s", num, !integral ? "numeric" : big ? "bigint"
								      : "integer");
}

/* enum_value_sql: a default naming an enum value, as 'label'::"Enum". */
static char *enum_value_sql(const struct psl_field *f, const struct psl_expr *v, const char *type)
{
	const struct psl_block *e = f->target;
	for (size_t i = 0; v->kind == X_CONST && i < e->nfields; i++)
		if (!strcmp(e->fields[i].name, v->text))
			return quoted_sql(e->fields[i].dbname, type);
	fail(&v->pos, "The defined default value `%s` is not a valid value of the enum %s.",
	     v->kind == X_ARRAY ? "[...]" : v->text ? v->text
						    : "",
	     e->name);
}

/* literal_sql: one literal default value of the type of f (an element of
 * a list default for a list field); type is the element's column type. */
static char *literal_sql(const struct psl_field *f, const struct psl_expr *v, const char *type)
{
	const char *t = f->type;
	if (f->kind == F_ENUM)
		return enum_value_sql(f, v, type);
	if (!strcmp(t, "Boolean")) {
		if (v->kind != X_CONST || (strcmp(v->text, "true") && strcmp(v->text, "false")))
			fail(&v->pos, "a Boolean default must be true or false");
		return xstrdup(v->text);
	}
	bool numeric = !strcmp(t, "Int") || !strcmp(t, "BigInt") || !strcmp(t, "Float") ||
		       !strcmp(t, "Decimal");
	if (numeric && (v->kind == X_NUM || (v->kind == X_STR && is_number(v->text) &&
					     !strcmp(t, "Decimal")))) {
		if ((!strcmp(t, "Int") || !strcmp(t, "BigInt")) && strchr(v->text, '.'))
			fail(&v->pos, "the default of an %s field must be an integer", t);
		return number_sql(v->text);
	}
	if (numeric || v->kind != X_STR)
		fail(&v->pos, "the default value does not fit the type %s of field %s", t, f->name);
	if (!strcmp(t, "Bytes"))
		return bytes_sql(v);
	return quoted_sql(v->text, type);
}

/* list_sql: a list default, ARRAY[...] or ARRAY[]::type[]. */
static char *list_sql(const struct psl_field *f, const struct psl_expr *v, const char *type)
{
	if (v->kind != X_ARRAY)
		fail(&v->pos, "the default of a list field must be a list [...]");
	if (!v->args.n)
		return xasprintf("ARRAY[]::%s", type);
	char *elem = xstrndup(type, strlen(type) - 2);
	struct buf b;
	buf_init(&b);
	buf_adds(&b, "ARRAY[");
	for (size_t i = 0; i < v->args.n; i++) {
		char *item = literal_sql(f, v->args.v[i].value, elem);
		buf_addf(&b, "%s%s", i ? ", " : "", item);
		free(item);
	}
	buf_addc(&b, ']');
	free(elem);
	return buf_detach(&b);
}

/* serial_sql: the default of an autoincrement column, the nextval() of
 * the sequence PostgreSQL names {table}_{column}_seq. */
static char *serial_sql(const struct psl_block *m, const struct psl_field *f)
{
	char *seq = cat_make_object_name(m->table->name, f->col, "seq");
	char *q = cat_quote_ident(seq), *r;
	if (!strcmp(m->schema, "public")) {
		r = xasprintf("nextval('%s'::regclass)", q);
	} else {
		char *s = cat_quote_ident(m->schema);
		r = xasprintf("nextval('%s.%s'::regclass)", s, q);
		free(s);
	}
	free(q);
	free(seq);
	return r;
}

/* need_type: dies unless f is a scalar (not list) field of one of the
 * types (space-separated) a default function applies to. */
static void need_type(const struct psl_field *f, const struct psl_expr *v, const char *types)
{
	if (f->kind == F_SCALAR && !f->list && sig_has(types, f->type))
		return;
	fail(&v->pos, "The function %s() cannot be used on fields of type %s%s.", v->text,
	     f->type, f->list ? "[]" : "");
}

/* call_sql: a function default: autoincrement(), now(), dbgenerated("..."),
 * or a client-side generator (uuid(), cuid(), nanoid(), ulid()): NULL. */
static char *call_sql(const struct psl_block *m, const struct psl_field *f,
		      const struct psl_expr *v)
{
	const char *fn = v->text;
	if (!strcmp(fn, "dbgenerated")) {
		const struct psl_expr *e = v->args.n ? v->args.v[0].value : NULL;
		if (e && (e->kind != X_STR || !e->text[0] || v->args.n > 1))
			fail(&v->pos, "dbgenerated() takes one non-empty string");
		if (e && !sql_is_one_expr(e->text))
			fail(&v->pos, "dbgenerated(\"%s\") is not one SQL expression: Prisma writes it into the "
				      "migration as it is, where it would be more than a default",
			     e->text);
		return e ? xstrdup(e->text) : NULL;
	}
	if (f->kind == F_UNSUPPORTED)
		fail(&v->pos, "Only @default(dbgenerated(\"...\")) can be used for Unsupported types.");
	if (!strcmp(fn, "autoincrement")) {
		need_type(f, v, "Int BigInt");
		return serial_sql(m, f);
	}
	if (!strcmp(fn, "now")) {
		need_type(f, v, "DateTime");
		return xstrdup("CURRENT_TIMESTAMP");
	}
	if (sig_has("uuid cuid nanoid ulid", fn)) {
		need_type(f, v, "String");
		return NULL;
	}
	fail(&v->pos, "Unknown function in @default(): `%s` is not known.", fn);
}

/* default_sql: the column default of f as PostgreSQL's pg_get_expr()
 * prints it (close to it: the conformance tests compare its presence), or
 * NULL when the database has none (client-side generators, @updatedAt). */
static char *default_sql(const struct psl_block *m, const struct psl_field *f, const char *type)
{
	const struct psl_attr *a = attr_find(&f->attrs, "default");
	if (!a)
		return NULL;
	if (arg(a, "map"))
		fail(&a->pos, "You defined a database name for the default value of a field on the "
			      "model. This is not supported by the provider.");
	const struct psl_expr *v = arg(a, "value");
	if (!v)
		fail(&a->pos, "@default needs a value");
	if (v->kind == X_CALL)
		return call_sql(m, f, v);
	if (f->kind == F_UNSUPPORTED)
		fail(&v->pos, "Only @default(dbgenerated(\"...\")) can be used for Unsupported types.");
	return f->list ? list_sql(f, v, type) : literal_sql(f, v, type);
}

/* ------------------------------------------------------------------ keys */

/* The fields a key, index or relation names. */
struct fieldv {
	struct psl_field **v;
	size_t n, cap;
};

static struct psl_field *field_named(const struct psl_block *m, const char *name)
{
	for (size_t i = 0; i < m->nfields; i++)
		if (!strcmp(m->fields[i].name, name))
			return &m->fields[i];
	return NULL;
}

/* Prisma's operator classes (ops: X); raw("...") names any other. */
static const char operator_classes[] =
	"InetOps JsonbOps JsonbPathOps ArrayOps TextOps BitMinMaxOps VarBitMinMaxOps "
	"BpcharBloomOps BpcharMinMaxOps ByteaBloomOps ByteaMinMaxOps DateBloomOps DateMinMaxOps "
	"DateMinMaxMultiOps Float4BloomOps Float4MinMaxOps Float4MinMaxMultiOps Float8BloomOps "
	"Float8MinMaxOps Float8MinMaxMultiOps InetInclusionOps InetBloomOps InetMinMaxOps "
	"InetMinMaxMultiOps Int2BloomOps Int2MinMaxOps Int2MinMaxMultiOps Int4BloomOps "
	"Int4MinMaxOps Int4MinMaxMultiOps Int8BloomOps Int8MinMaxOps Int8MinMaxMultiOps "
	"NumericBloomOps NumericMinMaxOps NumericMinMaxMultiOps OidBloomOps OidMinMaxOps "
	"OidMinMaxMultiOps TextBloomOps TextMinMaxOps TimestampBloomOps TimestampMinMaxOps "
	"TimestampMinMaxMultiOps TimestampTzBloomOps TimestampTzMinMaxOps TimestampTzMinMaxMultiOps "
	"TimeBloomOps TimeMinMaxOps TimeMinMaxMultiOps TimeTzBloomOps TimeTzMinMaxOps "
	"TimeTzMinMaxMultiOps UuidBloomOps UuidMinMaxOps UuidMinMaxMultiOps";

/* check_ops: an ops: argument is a known operator class or raw("name"). */
static void check_ops(const struct psl_expr *e)
{
	if (e->kind == X_CONST && sig_has(operator_classes, e->text))
		return;
	if (e->kind == X_CALL && !strcmp(e->text, "raw") && e->args.n == 1 &&
	    e->args.v[0].value->kind == X_STR)
		return;
	fail(&e->pos, "Invalid operator class: %s",
	     e->kind == X_CONST || e->kind == X_CALL ? e->text : "(not a name)");
}

/* key_item: one field of a key: a name, or name(sort: .., length: .., ops: ..).
 * Other arguments are ignored, as Prisma ignores them. */
static struct psl_field *key_item(const struct psl_block *m, const struct psl_expr *it,
				  const char *what)
{
	if (it->kind != X_CONST && it->kind != X_CALL)
		fail(&it->pos, "expected a field name in the %s", what);
	for (size_t i = 0; it->kind == X_CALL && i < it->args.n; i++) {
		const char *name = it->args.v[i].name ? it->args.v[i].name : "";
		const struct psl_expr *v = it->args.v[i].value;
		if (!strcmp(name, "sort") && (v->kind != X_CONST || !sig_has("Asc Desc", v->text)))
			fail(&v->pos, "Unexpected token. Expected one of: Asc, Desc");
		if (!strcmp(name, "length"))
			fail(&it->pos, "The length argument is not supported in an index definition "
				       "with the current connector");
		if (!strcmp(name, "sort") && !strcmp(what, "id definition"))
			fail(&it->pos, "The sort argument is not supported in the primary key with the "
				       "current connector");
		if (!strcmp(name, "ops"))
			check_ops(it->args.v[i].value);
	}
	struct psl_field *f = field_named(m, it->text);
	if (!f)
		fail(&it->pos, "The %s refers to the unknown field %s in %s %s.", what, it->text,
		     kind_name(m->kind), m->name);
	if (f->kind == F_RELATION)
		fail(&it->pos, "The %s refers to the relation field %s; name its scalar fields instead.",
		     what, it->text);
	return f;
}

/* key_fields: the fields an argument names ([a, b(sort: Desc)], or one
 * name), each a scalar field of m, none twice. */
static void key_fields(const struct psl_block *m, const struct psl_expr *e, const struct pos *at,
		       const char *what, struct fieldv *out)
{
	if (!e || (e->kind == X_ARRAY && !e->args.n))
		fail(at, "The %s needs at least one field.", what);
	size_t n = e->kind == X_ARRAY ? e->args.n : 1;
	for (size_t i = 0; i < n; i++) {
		const struct psl_expr *it = e->kind == X_ARRAY ? e->args.v[i].value : e;
		struct psl_field *f = key_item(m, it, what);
		for (size_t j = 0; j < out->n; j++)
			if (out->v[j] == f)
				fail(&it->pos, "The %s refers to the field %s multiple times.", what, f->name);
		*PUSH(out->v, out->n, out->cap) = f;
	}
}

/* check_key_args: arguments of @id, @unique, @@id, @@unique, @@index that
 * PostgreSQL has no use for and Prisma refuses there. */
static void check_key_args(const struct psl_attr *a, bool pk)
{
	if (arg(a, "clustered"))
		fail(&a->pos, "Defining clustering is not supported in the current connector.");
	if (arg(a, "length"))
		fail(&a->pos, "The length argument is not supported in an index definition with the "
			      "current connector");
	if (pk && arg(a, "sort"))
		fail(&a->pos, "The sort argument is not supported in the primary key with the current "
			      "connector");
}

/* default_name: Prisma's {table}_{col1}_{col2}...{suffix} from database
 * names, the part before the suffix cut to fit in 63 bytes. */
static char *default_name(const char *table, const struct fieldv *fv, const char *suffix)
{
	struct buf b;
	buf_init(&b);
	buf_adds(&b, table);
	for (size_t i = 0; fv && i < fv->n; i++)
		buf_addf(&b, "_%s", fv->v[i]->dbname);
	char *head = cut(b.s, PG_MAXNAME - strlen(suffix));
	char *name = xasprintf("%s%s", head, suffix);
	free(head);
	buf_release(&b);
	return name;
}

/* new_index: an index named name on table t; dies when the name is taken
 * in the schema (PostgreSQL would refuse it, Prisma refuses it too). */
static struct cat_index *new_index(struct psl *p, const struct cat_table *t, const char *name,
				   const struct pos *at)
{
	if (catalog_table(p->cat, t->schema, name) || catalog_view(p->cat, t->schema, name))
		fail(at, "The index name `%s` is the name of a table or view in schema %s: PostgreSQL "
			 "cannot create both. Please provide a different name using the `map` argument.",
		     name, t->schema);
	if (catalog_index(p->cat, t->schema, name))
		fail(at, "The given constraint name `%s` has to be unique in the following namespace: "
			 "global for primary key, indexes and unique constraints. Please provide a "
			 "different name using the `map` argument.",
		     name);
	return catalog_add_index(p->cat, t->schema, name, t->qname);
}

/* set_primary_key: t's primary key constraint, and the index behind it. */
static void set_primary_key(struct psl *p, struct cat_table *t, const char *name,
			    const struct strv *cols, const struct pos *at)
{
	struct cat_index *ix = new_index(p, t, name, at);
	ix->unique = ix->primary = true;
	ix->constraint = xstrdup(name);
	strv_copy(&ix->columns, cols);
	strv_copy(&t->pk, cols);
	t->pk_name = xstrdup(name);
	for (size_t i = 0; i < cols->n; i++)
		table_column(t, cols->v[i])->nullable = false;
}

/* id_attr: the @id of a field (pushed to fv) or the @@id of m, or NULL;
 * dies when there is more than one. */
static const struct psl_attr *id_attr(struct psl_block *m, struct fieldv *fv)
{
	const struct psl_attr *block = attr_find(&m->attrs, "id"), *found = NULL;
	for (size_t i = 0; i < m->nfields; i++) {
		const struct psl_attr *fa = attr_find(&m->fields[i].attrs, "id");
		if (!fa)
			continue;
		if (block)
			fail(&fa->pos, "Each model must have at most one id criteria. You can't have "
				       "`@id` and `@@id` at the same time.");
		if (found)
			fail(&fa->pos, "At most one field must be marked as the id field with the "
				       "`@id` attribute.");
		found = fa;
		*PUSH(fv->v, fv->n, fv->cap) = &m->fields[i];
	}
	return found ? found : block;
}

/* add_primary_key: @id on a field or @@id on the model. */
static void add_primary_key(struct psl *p, struct psl_block *m)
{
	struct fieldv fv = {0};
	const struct psl_attr *a = id_attr(m, &fv);
	if (!a)
		return;
	if (m->kind == B_VIEW)
		fail(&a->pos, "Views cannot have primary keys.");
	check_key_args(a, true);
	if (!fv.n)
		key_fields(m, arg(a, "fields"), &a->pos, "id definition", &fv);
	struct strv cols = STRV_INIT;
	for (size_t i = 0; i < fv.n; i++) {
		if (fv.v[i]->optional || fv.v[i]->kind == F_UNSUPPORTED)
			fail(&a->pos, "Fields that are marked as id must be required (%s).", fv.v[i]->name);
		strv_push(&cols, fv.v[i]->col);
	}
	const char *map = map_arg(a, "map", a == attr_find(&m->attrs, "id") ? "@@" : "@");
	char *name = map ? xstrdup(map) : default_name(m->dbname, NULL, "_pkey");
	set_primary_key(p, m->table, name, &cols, &a->pos);
	free(name);
	strv_release(&cols);
	free(fv.v);
}

/* ---------------------------------------------------------------- indexes */

/* index_method: the access method of @@index(type: X). */
static const char *index_method(const struct psl_expr *e)
{
	static const char *const types[][2] = {
		{"BTree", "btree"},
		{"Hash", "hash"},
		{"Gist", "gist"},
		{"Gin", "gin"},
		{"SpGist", "spgist"},
		{"Brin", "brin"},
	};
	if (!e)
		return "btree";
	for (size_t i = 0; e->kind == X_CONST && i < sizeof(types) / sizeof(*types); i++)
		if (!strcmp(types[i][0], e->text))
			return types[i][1];
	fail(&e->pos, "index type must be one of BTree, Hash, Gist, Gin, SpGist, Brin");
}

/* where_value: one condition of a where: {field: value} object. */
static void where_value(struct buf *b, const char *col, const struct psl_expr *v, bool not )
{
	if (v->kind == X_OBJECT) {
		if (v->args.n != 1 || strcmp(v->args.v[0].name, "not"))
			fail(&v->pos, "Only 'not' is supported in a nested where clause object.");
		where_value(b, col, v->args.v[0].value, !not );
	} else if (v->kind == X_CONST && !strcmp(v->text, "null")) {
		buf_addf(b, "%s IS %sNULL", col, not ? "NOT " : "");
	} else if (v->kind == X_STR) {
		char *q = quoted_sql(v->text, "text");
		buf_addf(b, "%s %s %s", col, not ? "<>" : "=", q);
		free(q);
	} else if (v->kind == X_NUM || (v->kind == X_CONST && sig_has("true false", v->text))) {
		buf_addf(b, "%s %s %s", col, not ? "<>" : "=", v->text);
	} else {
		fail(&v->pos, "a where clause value must be null, a boolean, a number or a string");
	}
}

/* index_predicate: the WHERE of a partial index: raw("sql") or an object
 * of conditions on the model's fields, joined with AND; parenthesized as
 * pg_get_expr() prints it (the text itself stays as written). */
static char *index_predicate(const struct psl_block *m, const struct psl_expr *e)
{
	if (!e)
		return NULL;
	if (e->kind == X_CALL && !strcmp(e->text, "raw") && e->args.n == 1 &&
	    e->args.v[0].value->kind == X_STR) {
		if (!sql_is_one_expr(e->args.v[0].value->text))
			fail(&e->pos, "where: raw(\"%s\") is not one SQL expression", e->args.v[0].value->text);
		return xasprintf("(%s)", e->args.v[0].value->text);
	}
	if (e->kind != X_OBJECT || !e->args.n)
		fail(&e->pos, "where: takes raw(\"...\") or an object such as { field: { not: null } }");
	struct buf b;
	buf_init(&b);
	bool many = e->args.n > 1;
	for (size_t i = 0; i < e->args.n; i++) {
		const struct psl_arg *g = &e->args.v[i];
		const struct psl_field *f = field_named(m, g->name);
		if (!f || f->kind == F_RELATION)
			fail(&g->value->pos, "where: refers to the unknown field %s", g->name);
		char *col = cat_quote_ident(f->col);
		buf_adds(&b, i ? ") AND (" : many ? "(("
						  : "(");
		where_value(&b, col, g->value, false);
		free(col);
	}
	buf_adds(&b, many ? "))" : ")");
	return buf_detach(&b);
}

/* add_key_index: a unique index (@unique, @@unique) or index (@@index) on
 * fields fv, named map or by Prisma's default. */
static struct cat_index *add_key_index(struct psl *p, struct psl_block *m, const struct fieldv *fv,
				       const char *map, bool unique, const struct pos *at)
{
	char *name = map ? xstrdup(map) : default_name(m->dbname, fv, unique ? "_key" : "_idx");
	struct cat_index *ix = new_index(p, m->table, name, at);
	ix->unique = unique;
	for (size_t i = 0; i < fv->n; i++)
		strv_push(&ix->columns, fv->v[i]->col);
	free(name);
	return ix;
}

/* add_field_uniques: the unique index of every @unique field. */
static void add_field_uniques(struct psl *p, struct psl_block *m)
{
	for (size_t i = 0; i < m->nfields; i++) {
		const struct psl_attr *a = attr_find(&m->fields[i].attrs, "unique");
		if (!a)
			continue;
		if (m->fields[i].kind == F_RELATION)
			fail(&a->pos, "@unique cannot stand on a relation field");
		check_key_args(a, false);
		struct fieldv fv = {0};
		*PUSH(fv.v, fv.n, fv.cap) = &m->fields[i];
		add_key_index(p, m, &fv, map_arg(a, "map", "@"), true, &a->pos);
		free(fv.v);
	}
}

/* add_block_index: one @@unique or @@index. @@index(name: "x") is the
 * pre-3.0 spelling of map:; @@unique(name:) names the key in the client. */
static void add_block_index(struct psl *p, struct psl_block *m, const struct psl_attr *a)
{
	bool unique = !strcmp(a->name, "unique");
	struct fieldv fv = {0};
	check_key_args(a, false);
	key_fields(m, arg(a, "fields"), &a->pos, unique ? "unique index definition" : "index definition",
		   &fv);
	const char *map = map_arg(a, "map", "@@");
	if (!map && !unique)
		map = map_arg(a, "name", "@@");
	struct cat_index *ix = add_key_index(p, m, &fv, map, unique, &a->pos);
	free(ix->method);
	ix->method = xstrdup(index_method(arg(a, "type")));
	if (arg(a, "where") && strv_index(&p->previews, "partialIndexes") < 0)
		fail(&a->pos, "Partial indexes are a preview feature. Add \"partialIndexes\" to "
			      "previewFeatures in your generator block.");
	ix->predicate = index_predicate(m, arg(a, "where"));
	free(fv.v);
}

/* check_unique_criteria: Prisma refuses a model (unless @@ignore) with no
 * primary key and no unique index over required fields only. */
static void check_unique_criteria(const struct psl *p, const struct psl_block *m)
{
	const struct cat_table *t = m->table;
	if (attr_find(&m->attrs, "ignore") || t->pk.n)
		return;
	for (size_t i = 0; i < p->cat->nindexes; i++) {
		const struct cat_index *ix = p->cat->indexes[i];
		bool ok = ix->unique && !ix->predicate && !strcmp(ix->table, t->qname);
		for (size_t k = 0; ok && k < ix->columns.n; k++)
			ok = !table_column(t, ix->columns.v[k])->nullable;
		if (ok)
			return;
	}
	fail(&m->pos, "Each model must have at least one unique criteria that has only required "
		      "fields. Either mark a single field with `@id`, `@unique` or add a multi field "
		      "criterion with `@@id([])` or `@@unique([])` to the model.");
}

/* ----------------------------------------------------------------- build */

/* need_schema: Prisma creates the schema of each table and enum (only
 * those: a schema of the datasource that holds neither is not created). */
static void need_schema(struct psl *p, const char *schema)
{
	if (strv_index(&p->cat->schemas, schema) < 0)
		strv_push(&p->cat->schemas, schema);
}

/* build_enum: CREATE TYPE ... AS ENUM with the values' database names. */
static void build_enum(struct psl *p, struct psl_block *b)
{
	need_schema(p, b->schema);
	char *name = cut(b->dbname, PG_MAXNAME);
	if (catalog_enum(p->cat, b->schema, name))
		fail(&b->pos, "type %s.%s is defined twice (check @@map)", b->schema, name);
	b->en = catalog_add_enum(p->cat, b->schema, name);
	free(name);
	if (!b->nfields)
		fail(&b->pos, "An enum must have at least one value.");
	for (size_t i = 0; i < b->nfields; i++) {
		const struct psl_field *v = &b->fields[i];
		if (strlen(v->dbname) > PG_MAXNAME)
			fail(&v->pos, "enum value \"%s\" is longer than %d bytes", v->dbname, PG_MAXNAME);
		if (strv_index(&b->en->values, v->dbname) >= 0)
			fail(&v->pos, "Value \"%s\" is already defined on enum \"%s\".", v->dbname, b->name);
		strv_push(&b->en->values, v->dbname);
	}
}

/* add_column: the column of a scalar, enum or Unsupported field. */
static void add_column(struct psl_block *m, const struct psl_field *f)
{
	const struct psl_attr *native = native_attr(f), *upd = attr_find(&f->attrs, "updatedAt");
	if (native && f->kind != F_SCALAR)
		fail(&native->pos, "Native types can only be used on fields of a scalar type.");
	if (upd && (f->kind != F_SCALAR || strcmp(f->type, "DateTime") || f->list))
		fail(&upd->pos, "Fields that are marked with @updatedAt must be of type DateTime.");
	char *type = column_type(f);
	if (!sql_is_one_type(type))
		fail(&f->pos, "the type of field %s (%s) is not one SQL type name", f->name, type);
	struct cat_column *col = table_add_column(m->table, f->col, type);
	if (!col)
		fail(&f->pos, "column \"%s\" is defined twice in %s %s (check @map)", f->col,
		     kind_name(m->kind), m->name);
	col->nullable = f->optional || f->list;
	col->def = default_sql(m, f, type);
	free(type);
}

/* build_table: the table of a model, with its columns. */
static void build_table(struct psl *p, struct psl_block *m)
{
	need_schema(p, m->schema);
	char *name = cut(m->dbname, PG_MAXNAME);
	if (catalog_table(p->cat, m->schema, name))
		fail(&m->pos, "The model with database name \"%s\" could not be defined because "
			      "another model with this name exists in schema %s (check @@map).",
		     name, m->schema);
	m->table = catalog_add_table(p->cat, m->schema, name);
	free(name);
	for (size_t i = 0; i < m->nfields; i++)
		if (m->fields[i].kind != F_RELATION)
			add_column(m, &m->fields[i]);
}

/* build_keys: the primary key and indexes of a model's table. */
static void build_keys(struct psl *p, struct psl_block *m)
{
	add_primary_key(p, m);
	add_field_uniques(p, m);
	for (size_t i = 0; i < m->attrs.n; i++)
		if (!strcmp(m->attrs.v[i].name, "unique") || !strcmp(m->attrs.v[i].name, "index"))
			add_block_index(p, m, &m->attrs.v[i]);
	check_unique_criteria(p, m);
}

/* build_view: a view block. Prisma creates no view (its SQL is written by
 * hand, in a migration), so the database a Prisma schema describes has
 * none, and neither has the DAG: the block is checked as Prisma checks it
 * (its fields as a model's, on a scratch table), then left out, with a
 * warning. */
static void build_view(struct psl *p, struct psl_block *v)
{
	if (strv_index(&p->previews, "views") < 0)
		fail(&v->pos, "View definitions are only available with the `views` preview feature.");
	char *name = cut(v->dbname, PG_MAXNAME);
	char *q = cat_qname(v->schema, name);
	bool taken = strv_index(&p->views, q) >= 0;
	strv_push_take(&p->views, q);
	if (taken || catalog_table(p->cat, v->schema, name))
		fail(&v->pos, "The view with database name \"%s\" could not be defined because "
			      "another model or view with this name exists in schema %s (check @@map).",
		     name, v->schema);
	struct cat_table scratch = {.schema = v->schema, .name = name, .qname = name};
	v->table = &scratch;
	for (size_t i = 0; i < v->nfields; i++)
		if (v->fields[i].kind != F_RELATION)
			add_column(v, &v->fields[i]);
	struct fieldv fv = {0};
	const struct psl_attr *id = id_attr(v, &fv);
	if (id)
		fail(&id->pos, "Views cannot have primary keys.");
	for (size_t i = 0; i < scratch.ncols; i++) {
		free(scratch.cols[i].name);
		free(scratch.cols[i].type);
		free(scratch.cols[i].def);
	}
	free(scratch.cols);
	v->table = NULL;
	warning_at(v->pos.file, v->pos.line,
		   "view %s.%s: Prisma creates no view (its SQL is written by hand in a migration): not in the DAG",
		   v->schema, name);
	free(name);
}

/* ------------------------------------------------------------- relations */

static bool same_name(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* find_peer: the opposite side of relation field f: the one field of the
 * target pointing back at f's model under the same relation name (which a
 * self-relation must have). */
static struct psl_field *find_peer(struct psl_field *f)
{
	struct psl_block *n = f->target;
	struct psl_field *found = NULL;
	for (size_t i = 0; i < n->nfields; i++) {
		struct psl_field *g = &n->fields[i];
		if (g == f || g->kind != F_RELATION || g->target != f->owner ||
		    !same_name(g->relname, f->relname))
			continue;
		if (found)
			fail(&g->pos, "Ambiguous relation detected. The fields `%s` and `%s` in model "
				      "`%s` both refer to `%s`. Please provide different relation names for "
				      "them by adding `@relation(<name>).",
			     found->name, g->name, n->name, f->owner->name);
		found = g;
	}
	if (found && n == f->owner && !f->relname)
		fail(&f->pos, "Ambiguous self relation detected. The fields `%s` and `%s` in model `%s` "
			      "both refer to `%s`. If they are part of the same relation add the same "
			      "relation name for them with `@relation(<name>)`.",
		     f->name, found->name, n->name, n->name);
	if (!found)
		fail(&f->pos, "The relation field `%s` on model `%s` is missing an opposite relation "
			      "field on the model `%s`.",
		     f->name, f->owner->name, n->name);
	return found;
}

/* holds_fk: does f's @relation name the foreign key's fields? */
static const struct psl_attr *holds_fk(const struct psl_field *f)
{
	const struct psl_attr *a = attr_find(&f->attrs, "relation");
	if (!a || (!arg(a, "fields") && !arg(a, "references")))
		return NULL;
	if (!arg(a, "fields") || !arg(a, "references"))
		fail(&a->pos, "@relation needs both fields: and references:");
	return a;
}

/* action: a referential action (onDelete:, onUpdate:) as pg_constraint
 * spells it, or dflt when not given. */
static const char *action(const struct psl_expr *e, const char *dflt)
{
	static const char *const names[][2] = {
		{"Cascade", "cascade"},
		{"Restrict", "restrict"},
		{"NoAction", "no action"},
		{"SetNull", "set null"},
		{"SetDefault", "set default"},
	};
	if (!e)
		return dflt;
	for (size_t i = 0; e->kind == X_CONST && i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(names[i][0], e->text))
			return names[i][1];
	fail(&e->pos, "Invalid referential action. Allowed values: (`Cascade`, `Restrict`, "
		      "`NoAction`, `SetNull`, `SetDefault`)");
}

/* same_columns: do the indexed columns of ix equal the set of fields fv? */
static bool same_columns(const struct strv *cols, const struct fieldv *fv)
{
	if (cols->n != fv->n)
		return false;
	for (size_t i = 0; i < fv->n; i++)
		if (strv_index(cols, fv->v[i]->col) < 0)
			return false;
	return true;
}

/* check_references: the referenced fields of a foreign key must be a
 * unique criterion of the target, of the types of the referencing fields. */
static void check_references(const struct psl *p, const struct psl_attr *a,
			     const struct fieldv *from, const struct fieldv *to)
{
	const struct psl_block *n = to->v[0]->owner;
	if (from->n != to->n)
		fail(&a->pos, "You must specify the same number of fields in `fields` and `references`.");
	for (size_t i = 0; i < from->n; i++)
		if (strcmp(from->v[i]->type, to->v[i]->type))
			fail(&a->pos, "The type of the field `%s` in the model `%s` is not matching the "
				      "type of the referenced field `%s` in model `%s`.",
			     from->v[i]->name, from->v[0]->owner->name, to->v[i]->name, n->name);
	if (!n->table)
		return;
	for (size_t i = 0; i < p->cat->nindexes; i++) {
		const struct cat_index *ix = p->cat->indexes[i];
		if (ix->unique && !ix->predicate && !strcmp(ix->table, n->table->qname) &&
		    same_columns(&ix->columns, to))
			return;
	}
	fail(&a->pos, "The argument `references` must refer to a unique criterion in the related "
		      "model `%s`. Consider adding an `@unique` attribute to the referenced field.",
	     n->name);
}

/* add_fk: the foreign key of t (columns from) to table ref (columns to),
 * actions del and upd; at is the attribute that makes it. */
static void add_fk(struct psl *p, struct cat_table *t, const char *name, const struct strv *from,
		   const struct cat_table *ref, const struct strv *to, const char *del,
		   const char *upd, const struct pos *at)
{
	if (catalog_fk(p->cat, t->qname, name))
		fail(at, "The given constraint name `%s` has to be unique on table %s. Please provide "
			 "a different name using the `map` argument.",
		     name, t->qname);
	struct cat_fk *fk = catalog_add_fk(p->cat, t->qname, name);
	strv_copy(&fk->columns, from);
	strv_copy(&fk->ref_columns, to);
	free(fk->ref_table);
	fk->ref_table = xstrdup(ref->qname);
	free(fk->on_delete);
	fk->on_delete = xstrdup(del);
	free(fk->on_update);
	fk->on_update = xstrdup(upd);
}

/* fk_arity: whether every referencing field is optional; dies when one is
 * and the relation field is not. */
static bool fk_arity(const struct psl_field *f, const struct fieldv *from)
{
	bool any = false, all = true;
	for (size_t i = 0; i < from->n; i++) {
		any |= from->v[i]->optional;
		all &= from->v[i]->optional;
	}
	if (any && !f->optional)
		fail(&f->pos, "The relation field `%s` uses the scalar fields %s. At least one of those "
			      "fields is optional. Hence the relation field must be optional as well.",
		     f->name, from->v[0]->name);
	return all;
}

static void push_cols(struct strv *sv, const struct fieldv *fv)
{
	for (size_t i = 0; i < fv->n; i++)
		strv_push(sv, fv->v[i]->col);
}

/* build_fk: the foreign key a relation field with fields:/references: makes.
 * Defaults: onDelete SetNull when every referencing field is optional,
 * else Restrict; onUpdate Cascade. Views get none. */
static void build_fk(struct psl *p, struct psl_field *f, const struct psl_attr *a)
{
	struct fieldv from = {0}, to = {0};
	if (f->list || holds_fk(f->peer))
		fail(&a->pos, "only the non-list side of a one-to-one or one-to-many relation takes "
			      "fields: and references: (relation field %s)",
		     f->name);
	key_fields(f->owner, arg(a, "fields"), &a->pos, "relation", &from);
	key_fields(f->target, arg(a, "references"), &a->pos, "relation", &to);
	check_references(p, a, &from, &to);
	bool optional = fk_arity(f, &from);
	const char *map = map_arg(a, "map", "@");
	char *name = map ? xstrdup(map) : default_name(f->owner->dbname, &from, "_fkey");
	struct strv cols = STRV_INIT, refs = STRV_INIT;
	push_cols(&cols, &from);
	push_cols(&refs, &to);
	if (p->fks && f->owner->kind == B_MODEL && f->target->kind == B_MODEL)
		add_fk(p, f->owner->table, name, &cols, f->target->table, &refs,
		       action(arg(a, "onDelete"), optional ? "set null" : "restrict"),
		       action(arg(a, "onUpdate"), "cascade"), &a->pos);
	free(name);
	strv_release(&cols);
	strv_release(&refs);
	free(from.v);
	free(to.v);
}

/* join_column: column A or B of a join table: the type of the id of m. */
static void join_column(struct cat_table *t, const char *col, const struct psl_block *m,
			const struct psl_field *f)
{
	if (!m->table || m->table->pk.n != 1)
		fail(&f->pos, "Implicit many-to-many relations must always reference the id field of "
			      "the related model: model `%s` has no single-field id.",
		     m->name);
	const struct cat_column *id = table_column(m->table, m->table->pk.v[0]);
	table_add_column(t, col, id->type)->nullable = false;
}

/* join_keys: the primary key (A, B), the index on B, and the foreign keys
 * of a join table, named from its (cut) name as Prisma names them. */
static void join_keys(struct psl *p, struct cat_table *t, const struct psl_block *a,
		      const struct psl_block *b, const struct pos *at)
{
	char *pk = default_name(t->name, NULL, "_AB_pkey");
	char *ixname = default_name(t->name, NULL, "_B_index");
	struct strv cols = STRV_INIT, one = STRV_INIT, ref = STRV_INIT;
	strv_push(&cols, "A");
	strv_push(&cols, "B");
	set_primary_key(p, t, pk, &cols, at);
	struct cat_index *ix = new_index(p, t, ixname, at);
	strv_push(&ix->columns, "B");
	for (int side = 0; side < 2 && p->fks; side++) {
		const struct psl_block *m = side ? b : a;
		char *fk = default_name(t->name, NULL, side ? "_B_fkey" : "_A_fkey");
		strv_push(&one, side ? "B" : "A");
		strv_push(&ref, m->table->pk.v[0]);
		add_fk(p, t, fk, &one, m->table, &ref, "cascade", "cascade", at);
		strv_release(&one);
		strv_release(&ref);
		free(fk);
	}
	strv_release(&cols);
	free(pk);
	free(ixname);
}

/* build_join_table: the table of an implicit many-to-many relation:
 * _{relation name} (by default {A}To{B}, model names in byte order), in
 * the schema of model A; A and B reference the ids of the two models. */
static void build_join_table(struct psl *p, struct psl_field *f)
{
	struct psl_block *a = f->owner, *b = f->target;
	f->done = f->peer->done = true;
	if (a->kind != B_MODEL || b->kind != B_MODEL)
		return;
	if (strcmp(a->name, b->name) > 0) {
		a = f->target;
		b = f->owner;
	}
	char *full = f->relname ? xasprintf("_%s", f->relname) : xasprintf("_%sTo%s", a->name, b->name);
	char *name = cut(full, PG_MAXNAME);
	if (catalog_relname_exists(p->cat, a->schema, name))
		fail(&f->pos, "the join table %s.%s of this many-to-many relation exists already",
		     a->schema, name);
	struct cat_table *t = catalog_add_table(p->cat, a->schema, name);
	join_column(t, "A", a, f);
	join_column(t, "B", b, f);
	join_keys(p, t, a, b, &f->pos);
	free(full);
	free(name);
}

/* build_relation: what one relation field makes: a foreign key (the side
 * with fields:), a join table (both sides lists), or nothing (the other side). */
static void build_relation(struct psl *p, struct psl_field *f)
{
	const struct psl_attr *a = holds_fk(f);
	if (a) {
		build_fk(p, f, a);
	} else if (f->list && f->peer->list) {
		if (!f->done)
			build_join_table(p, f);
	} else if (!holds_fk(f->peer)) {
		fail(&f->pos, "The relation fields `%s` on model `%s` and `%s` on model `%s` do not "
			      "provide the `fields` argument in the @relation attribute. You have to "
			      "provide it on one of the two fields.",
		     f->name, f->owner->name, f->peer->name, f->peer->owner->name);
	}
}

/* ------------------------------------------------------------ the reader */

/* resolve: datasource, names, schemas and field types of every block. */
static void resolve(struct psl *p, const char *path)
{
	char *url_default = NULL;
	resolve_datasource(p, path, &url_default);
	if (url_default)
		p->default_schema = url_default;
	for (size_t i = 0; i < p->nblocks; i++)
		resolve_block(p, i);
	for (size_t i = 0; i < p->nblocks; i++)
		for (size_t k = 0; p->blocks[i]->kind <= B_ENUM && k < p->blocks[i]->nfields; k++)
			resolve_field(p, p->blocks[i], &p->blocks[i]->fields[k]);
	free(url_default);
	p->default_schema = NULL;
}

/* build: enums first (columns use them), then tables and views, their
 * keys and indexes, then relations, which need every table and key. */
static void build(struct psl *p)
{
	for (size_t i = 0; i < p->nblocks; i++)
		if (p->blocks[i]->kind == B_ENUM)
			build_enum(p, p->blocks[i]);
	for (size_t i = 0; i < p->nblocks; i++)
		if (p->blocks[i]->kind == B_MODEL)
			build_table(p, p->blocks[i]);
	for (size_t i = 0; i < p->nblocks; i++)
		if (p->blocks[i]->kind == B_VIEW)
			build_view(p, p->blocks[i]);
	for (size_t i = 0; i < p->nblocks; i++)
		if (p->blocks[i]->kind == B_MODEL)
			build_keys(p, p->blocks[i]);
	for (size_t i = 0; i < p->nblocks; i++) {
		struct psl_block *m = p->blocks[i];
		for (size_t k = 0; (m->kind == B_MODEL || m->kind == B_VIEW) && k < m->nfields; k++)
			if (m->fields[k].kind == F_RELATION)
				m->fields[k].peer = find_peer(&m->fields[k]);
	}
	for (size_t i = 0; i < p->nblocks; i++) {
		struct psl_block *m = p->blocks[i];
		for (size_t k = 0; (m->kind == B_MODEL || m->kind == B_VIEW) && k < m->nfields; k++)
			if (m->fields[k].kind == F_RELATION)
				build_relation(p, &m->fields[k]);
	}
}

int prisma_load(struct catalog *c, const char *path, struct strv *files, struct msg_err *err)
{
	struct psl *p = xmalloc(sizeof(*p));
	*p = (struct psl){.cat = c, .fks = true, .default_schema = "public"};
	char *volatile text = NULL;
	jmp_buf jb, *volatile outer = load_jmp;
	struct msg_err *volatile outer_err = load_err;
	int rc = 0;
	load_jmp = &jb;
	load_err = err;
	if (setjmp(jb)) {
		rc = -1;
	} else {
		schema_paths(path, &p->paths);
		for (size_t i = 0; i < p->paths.n; i++) {
			if (!(text = read_file(p->paths.v[i], err)))
				longjmp(jb, 1);
			strv_push(files, p->paths.v[i]);
			parse_text(p, p->paths.v[i], text);
			free(text);
			text = NULL;
		}
		resolve(p, path);
		build(p);
	}
	free(text);
	load_jmp = outer;
	load_err = outer_err;
	psl_release(p);
	free(p);
	return rc;
}
