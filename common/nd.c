#include "nd.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "xalloc.h"

static struct buf out = BUF_INIT;

void nd_reader_init(struct nd_reader *r, FILE *f, const char *name)
{
	memset(r, 0, sizeof(*r));
	r->f = f;
	r->name = name;
	buf_init(&r->line);
	r->max_line = nd_max_line();
}

size_t nd_max_line(void)
{
	const char *env = getenv("MIGSAFE_MAX_LINE");
	if (env && *env) {
		char *end;
		unsigned long long v = strtoull(env, &end, 10);
		if (*end == '\0' && v > 0)
			return (size_t)v;
	}
	return ND_MAX_LINE_DEFAULT;
}

void nd_reader_release(struct nd_reader *r)
{
	buf_release(&r->line);
}

/* read_line: the next line into r->line; 0 at EOF, 1 otherwise. Stops
 * reading (and dies) as soon as the line passes the limit, so a huge line
 * never has to fit in memory. */
static int read_line(struct nd_reader *r)
{
	char chunk[65536];
	buf_reset(&r->line);
	bool any = false;
	while (fgets(chunk, sizeof(chunk), r->f)) {
		any = true;
		size_t n = strlen(chunk);
		bool eol = n && chunk[n - 1] == '\n';
		if (eol)
			n--;
		if (r->line.len + n > r->max_line)
			die_at(EXIT_INPUT, r->name, r->lineno + 1, "line longer than %zu bytes",
			       r->max_line);
		buf_add(&r->line, chunk, n);
		if (eol)
			break;
	}
	if (ferror(r->f))
		die_at(EXIT_RUNTIME, r->name, r->lineno + 1, "read error: %s", strerror(errno));
	if (!any)
		return 0;
	r->lineno++;
	if (r->line.len && r->line.s[r->line.len - 1] == '\r')
		r->line.s[--r->line.len] = '\0';
	return 1;
}

cJSON *nd_parse_line(const char *s, size_t len, const char **err)
{
	const char *end = NULL;
	if (memchr(s, '\0', len))
		return *err = "NUL byte in record", NULL;
	cJSON *rec = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (!rec)
		return *err = "invalid JSON", NULL;
	while (end < s + len && (*end == ' ' || *end == '\t'))
		end++;
	if (end != s + len) {
		cJSON_Delete(rec);
		return *err = "trailing characters after the JSON object", NULL;
	}
	if (!cJSON_IsObject(rec)) {
		cJSON_Delete(rec);
		return *err = "record is not a JSON object", NULL;
	}
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "v");
	if (!nd_kind(rec)) {
		cJSON_Delete(rec);
		return *err = "record has no string \"kind\"", NULL;
	}
	/* range first: converting a double outside int's range is undefined */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= INT_MAX) ||
	    v->valuedouble != (double)(int)v->valuedouble) {
		cJSON_Delete(rec);
		return *err = "record has no integer \"v\" (schema version)", NULL;
	}
	return rec;
}

cJSON *nd_read(struct nd_reader *r)
{
	while (read_line(r)) {
		const char *p = r->line.s;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			continue;
		const char *err;
		cJSON *rec = nd_parse_line(r->line.s, r->line.len, &err);
		if (!rec)
			die_at(EXIT_INPUT, r->name, r->lineno, "%s", err);
		return rec;
	}
	return NULL;
}

/* What is queued beyond ND_SPILL bytes moves to an unlinked temporary file,
 * so a long stream costs bounded memory and still reaches stdout only at
 * commit. */
#define ND_SPILL (8u << 20)
static FILE *spill;

static void spill_out(void)
{
	if (!spill && !(spill = tmpfile()))
		die_code(EXIT_RUNTIME, "cannot create a temporary file for the output: %s", strerror(errno));
	if (fwrite(out.s, 1, out.len, spill) != out.len)
		die_code(EXIT_RUNTIME, "write error on the temporary output file: %s", strerror(errno));
	buf_reset(&out);
}

/* end_line: the line just added to the queue is complete */
static void end_line(void)
{
	buf_addc(&out, '\n');
	if (out.len >= ND_SPILL)
		spill_out();
}

static void queue(const char *s, size_t len)
{
	buf_add(&out, s, len);
	end_line();
}

/* ---- printing: the bytes cJSON_PrintUnformatted (1.7.15) prints, without
 * its intermediate buffer and its sprintf/sscanf round trip for integers ---- */

/* the n bytes at s (a NUL among them ends the string), quoted and escaped */
static void print_string_n(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	buf_addc(b, '"');
	const char *run = s ? s : "", *start = run;
	for (const unsigned char *p = (const unsigned char *)run;; p++) {
		unsigned char ch = (size_t)((const char *)p - start) < n ? *p : 0;
		if (ch >= 32 && ch != '"' && ch != '\\')
			continue;
		buf_add(b, run, (size_t)((const char *)p - run));
		if (!ch)
			break;
		run = (const char *)p + 1;
		char esc[7] = {'\\', 0};
		size_t k = 2;
		switch (ch) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			k = 6;
		}
		buf_add(b, esc, k);
	}
	buf_addc(b, '"');
}

static void print_string(struct buf *b, const char *s)
{
	print_string_n(b, s, SIZE_MAX);
}

/* d, whose int value (cJSON's valueint) is vi */
static void print_num(struct buf *b, double d, int vi)
{
	char num[32];
	if (isnan(d) || isinf(d)) {
		buf_adds(b, "null");
	} else if (d == (double)vi && !(d == 0 && signbit(d))) {
		/* an int (what %1.15g prints as digits): digits by hand */
		long long v = vi;
		bool neg = v < 0;
		unsigned long long u = neg ? (unsigned long long)(-v) : (unsigned long long)v;
		char *e = num + sizeof(num), *p = e;
		do
			*--p = (char)('0' + u % 10);
		while (u /= 10);
		if (neg)
			*--p = '-';
		buf_add(b, p, (size_t)(e - p));
	} else {
		snprintf(num, sizeof(num), "%1.15g", d);
		double test = strtod(num, NULL);
		double max = fabs(test) > fabs(d) ? fabs(test) : fabs(d);
		if (!(fabs(test - d) <= max * DBL_EPSILON))
			snprintf(num, sizeof(num), "%1.17g", d);
		buf_adds(b, num);
	}
}

static void print_number(struct buf *b, const cJSON *it)
{
	print_num(b, it->valuedouble, it->valueint);
}

void nd_json_string(struct buf *b, const char *s)
{
	print_string(b, s);
}

void nd_json_string_n(struct buf *b, const char *s, size_t n)
{
	print_string_n(b, s, n);
}

void nd_json_number(struct buf *b, double d)
{
	/* valueint as cJSON_CreateNumber sets it: saturated, truncated */
	int vi = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN : (int)d;
	print_num(b, d, vi);
}

struct buf *nd_line_begin(void)
{
	return &out;
}

void nd_line_end(void)
{
	end_line();
}

void nd_print_json(struct buf *b, const cJSON *it)
{
	switch (it->type & 0xFF) {
	case cJSON_NULL: buf_adds(b, "null"); break;
	case cJSON_False: buf_adds(b, "false"); break;
	case cJSON_True: buf_adds(b, "true"); break;
	case cJSON_Number: print_number(b, it); break;
	case cJSON_Raw: buf_adds(b, it->valuestring ? it->valuestring : ""); break;
	case cJSON_String: print_string(b, it->valuestring); break;
	case cJSON_Array:
	case cJSON_Object: {
		bool obj = (it->type & 0xFF) == cJSON_Object;
		buf_addc(b, obj ? '{' : '[');
		for (const cJSON *c = it->child; c; c = c->next) {
			if (c != it->child)
				buf_addc(b, ',');
			if (obj) {
				print_string(b, c->string);
				buf_addc(b, ':');
			}
			nd_print_json(b, c);
		}
		buf_addc(b, obj ? '}' : ']');
		break;
	}
	default: die_code(EXIT_RUNTIME, "internal error: a JSON value of unknown type %d", it->type);
	}
}

void nd_emit(cJSON *rec)
{
	nd_print_json(&out, rec);
	end_line();
	cJSON_Delete(rec);
}

void nd_emit_cb(cJSON *rec, void *unused)
{
	(void)unused;
	nd_emit(rec);
}

void nd_forward(const char *line, size_t len)
{
	queue(line, len);
}

static void copy_spill(void)
{
	char chunk[1 << 16];
	size_t n;

	if (fflush(spill) != 0 || fseek(spill, 0, SEEK_SET) != 0)
		die_code(EXIT_RUNTIME, "cannot read back the temporary output file: %s", strerror(errno));
	while ((n = fread(chunk, 1, sizeof chunk, spill)) > 0)
		if (fwrite(chunk, 1, n, stdout) != n)
			die_code(EXIT_RUNTIME, "write error on stdout: %s", strerror(errno));
	if (ferror(spill))
		die_code(EXIT_RUNTIME, "cannot read back the temporary output file: %s", strerror(errno));
	fclose(spill);
	spill = NULL;
}

void nd_commit(void)
{
	if (spill)
		copy_spill();
	if (out.len && fwrite(out.s, 1, out.len, stdout) != out.len)
		die_code(EXIT_RUNTIME, "write error on stdout: %s", strerror(errno));
	buf_reset(&out);
}

void nd_discard(void)
{
	if (spill)
		fclose(spill);
	spill = NULL;
	buf_reset(&out);
}

void nd_finish(void)
{
	nd_commit();
	buf_release(&out);
	if (fflush(stdout) != 0 || ferror(stdout))
		die_code(EXIT_RUNTIME, "write error on stdout: %s", strerror(errno));
	if (fclose(stdout) != 0)
		die_code(EXIT_RUNTIME, "write error on stdout: %s", strerror(errno));
}

cJSON *nd_record(const char *kind)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddNumberToObject(o, "v", 1);
	return o;
}

const char *nd_kind(const cJSON *rec)
{
	return nd_get_str(rec, "kind");
}

const char *nd_get_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}
