#include "nd.h"

#include <errno.h>
#include <limits.h>
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
	r->max_line = ND_MAX_LINE_DEFAULT;
	const char *env = getenv("MIGSAFE_MAX_LINE");
	if (env && *env) {
		char *end;
		unsigned long long v = strtoull(env, &end, 10);
		if (*end == '\0' && v > 0)
			r->max_line = (size_t)v;
	}
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

static void queue(const char *s, size_t len)
{
	if (!out.s)
		buf_init(&out);
	buf_add(&out, s, len);
	buf_addc(&out, '\n');
	if (out.len >= ND_SPILL)
		spill_out();
}

void nd_emit(cJSON *rec)
{
	char *s = cJSON_PrintUnformatted(rec);
	if (!s)
		die_code(EXIT_RUNTIME, "out of memory");
	queue(s, strlen(s));
	free(s);
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
