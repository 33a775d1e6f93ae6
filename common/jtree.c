#include "jtree.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct jp {
	char *p;
	void *(*alloc)(void *ctx, size_t n);
	void *ctx;
	int depth;
};

static cJSON *value(struct jp *j);

/* whitespace as cJSON skips it: every control character and the blank */
static void skip(struct jp *j)
{
	while (*j->p && (unsigned char)*j->p <= 32)
		j->p++;
}

static cJSON *node(struct jp *j, int type)
{
	cJSON *n = j->alloc(j->ctx, sizeof(*n));
	memset(n, 0, sizeof(*n));
	n->type = type;
	return n;
}

/* four hex digits; 0 when one is not (cJSON reads them so) */
static unsigned hex4(const char *s)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return 0;
	}
	return v;
}

/* put code point cp as UTF-8 at *out */
static void utf8(char **out, unsigned long cp)
{
	char *o = *out;
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xC0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xE0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*o++ = (char)(0xF0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3F));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	}
	*out = o;
}

/* string: j->p at the opening quote; the string unescaped in place and
 * NUL-terminated (an escape is never shorter than what it stands for, and
 * the closing quote leaves room for the NUL). NULL when malformed. The
 * rules are cJSON's: the string ends at the first quote not after a
 * backslash; a \u escape needs six characters before that end, and its
 * hex digits read as 0 when one is not a digit (\u0000, like any NUL,
 * ends the string early). */
static char *string(struct jp *j)
{
	char *start = ++j->p, *end = start;
	bool escaped = false;
	while (*end != '"') {
		if (*end == '\0')
			return NULL;
		if (*end == '\\') {
			escaped = true;
			if (*++end == '\0')
				return NULL;
		}
		end++;
	}
	j->p = end + 1;
	if (!escaped) { /* the usual case: nothing moves */
		*end = '\0';
		return start;
	}
	/* the closing quote stays until the end: a backslash just before it
	 * (after a \u that took the one escaping it) reads it, as in cJSON */
	char *in = start, *out = start;
	while (in < end) {
		if (*in != '\\') {
			*out++ = *in++;
			continue;
		}
		switch (in[1]) {
		case '"': *out++ = '"'; break;
		case '\\': *out++ = '\\'; break;
		case '/': *out++ = '/'; break;
		case 'b': *out++ = '\b'; break;
		case 'f': *out++ = '\f'; break;
		case 'n': *out++ = '\n'; break;
		case 'r': *out++ = '\r'; break;
		case 't': *out++ = '\t'; break;
		case 'u': {
			if (end - in < 6)
				return NULL;
			unsigned long cp = hex4(in + 2);
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return NULL;
			if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair */
				if (end - in < 12 || in[6] != '\\' || in[7] != 'u')
					return NULL;
				unsigned long lo = hex4(in + 8);
				if (lo < 0xDC00 || lo > 0xDFFF)
					return NULL;
				cp = 0x10000 + ((cp & 0x3FF) << 10 | (lo & 0x3FF));
				in += 6;
			}
			utf8(&out, cp);
			in += 6;
			continue;
		}
		default:
			return NULL;
		}
		in += 2;
	}
	*out = '\0';
	return start;
}

static bool number(struct jp *j, cJSON *n)
{
	char *s = j->p, *q = s;
	bool neg = *q == '-';
	if (neg)
		q++;
	uint64_t v = 0;
	int digits = 0;
	while (*q >= '0' && *q <= '9' && digits < 18)
		v = v * 10 + (uint64_t)(*q++ - '0'), digits++;
	double d;
	if (digits > 0 && !(*q >= '0' && *q <= '9') && *q != '.' && *q != 'e' && *q != 'E') {
		d = neg ? -(double)v : (double)v;
		j->p = q;
	} else {
		/* a fraction, an exponent or many digits: as cJSON does, strtod
		 * on the run of characters a JSON number can hold (so never
		 * "inf", "nan" or hexadecimal) */
		size_t len = strspn(s, "0123456789+-eE.");
		char small[64], *num = len < sizeof small ? small : xmalloc(len + 1), *end;
		memcpy(num, s, len);
		num[len] = '\0';
		d = strtod(num, &end);
		size_t used = (size_t)(end - num);
		if (num != small)
			free(num);
		if (used == 0)
			return false;
		j->p = s + used;
	}
	n->valuedouble = d;
	n->valueint = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN
								    : (int)d;
	return true;
}

/* the members of an object or elements of an array, up to close */
static bool items(struct jp *j, cJSON *parent, char close, bool keyed)
{
	if (j->depth >= CJSON_NESTING_LIMIT)
		return false;
	j->depth++;
	j->p++;
	skip(j);
	cJSON *last = NULL;
	if (*j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		char *key = NULL;
		if (keyed) {
			if (*j->p != '"' || !(key = string(j)))
				return false;
			skip(j);
			if (*j->p != ':')
				return false;
			j->p++;
			skip(j);
		}
		cJSON *v = value(j);
		if (!v)
			return false;
		if (keyed)
			v->string = key; /* not flagged const: cJSON_Duplicate then copies it */
		if (last) {
			last->next = v;
			v->prev = last;
		} else {
			parent->child = v;
		}
		last = v;
		skip(j);
		if (*j->p == ',') {
			j->p++;
			skip(j);
			continue;
		}
		if (*j->p != close)
			return false;
		j->p++;
		break;
	}
	parent->child->prev = last; /* as cJSON keeps it: the first's prev is the last */
	j->depth--;
	return true;
}

static cJSON *value(struct jp *j)
{
	cJSON *n;
	switch (*j->p) {
	case '{':
		n = node(j, cJSON_Object);
		return items(j, n, '}', true) ? n : NULL;
	case '[':
		n = node(j, cJSON_Array);
		return items(j, n, ']', false) ? n : NULL;
	case '"':
		n = node(j, cJSON_String);
		return (n->valuestring = string(j)) ? n : NULL;
	case 't':
		if (strncmp(j->p, "true", 4) != 0)
			return NULL;
		j->p += 4;
		n = node(j, cJSON_True);
		n->valueint = 1;
		return n;
	case 'f':
		if (strncmp(j->p, "false", 5) != 0)
			return NULL;
		j->p += 5;
		return node(j, cJSON_False);
	case 'n':
		if (strncmp(j->p, "null", 4) != 0)
			return NULL;
		j->p += 4;
		return node(j, cJSON_NULL);
	default:
		if (*j->p != '-' && !(*j->p >= '0' && *j->p <= '9'))
			return NULL;
		n = node(j, cJSON_Number);
		return number(j, n) ? n : NULL;
	}
}

cJSON *jtree_parse(char *text, void *(*alloc)(void *ctx, size_t n), void *ctx)
{
	struct jp j = {text, alloc, ctx, 0};
	if (!strncmp(j.p, "\xEF\xBB\xBF", 3))
		j.p += 3; /* a byte order mark, skipped as cJSON does */
	skip(&j);
	cJSON *root = value(&j);
	if (!root)
		return NULL;
	skip(&j);
	return *j.p == '\0' ? root : NULL;
}
