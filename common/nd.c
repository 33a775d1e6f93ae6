#include "nd.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msg.h"
#include "xalloc.h"

static struct buf out = BUF_INIT;
static size_t line_start; /* where in out the line being added begins */

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

/* read_line: the next line into r->line; 0 at EOF, 1 otherwise, -1 with
 * *err. A byte at a time (getc_unlocked), so that a NUL byte is kept and
 * seen, never taken for the line's end; stops reading (an error) as soon
 * as the line passes the limit, so a huge line never has to fit in
 * memory. */
static int read_line(struct nd_reader *r, struct msg_err *err)
{
	int c = EOF;
	bool any = false;
	buf_reset(&r->line);
	flockfile(r->f);
	while ((c = getc_unlocked(r->f)) != EOF) {
		any = true;
		if (c == '\n')
			break;
		if (r->line.len >= r->max_line) {
			funlockfile(r->f);
			return err_set_at(err, EXIT_INPUT, r->name, r->lineno + 1, "line longer than %zu bytes",
					  r->max_line);
		}
		buf_addc(&r->line, (char)c);
	}
	funlockfile(r->f);
	if (ferror(r->f))
		return err_set_at(err, EXIT_RUNTIME, r->name, r->lineno + 1, "read error: %s", strerror(errno));
	if (!any)
		return 0;
	r->lineno++;
	if (r->line.len && r->line.s[r->line.len - 1] == '\r')
		r->line.s[--r->line.len] = '\0';
	return 1;
}

/* What a record may not hold, though cJSON would take it: bytes that are
 * not UTF-8, escapes that decode to NUL (a C string would end there) or to
 * half a surrogate pair, and a key twice in one object (readers disagree
 * on which one counts: cJSON the first, jq the last). */

static char why_text[160];

/* hex4: the value of the 4 hex digits at p (JSON already checked them) */
static unsigned hex4(const char *p)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/* bad_escape: why the \\u escapes of a line that parsed are refused, or
 * NULL. Outside strings a backslash is not valid JSON, so every one seen
 * here starts an escape inside a string. */
static const char *bad_escape(const char *s, size_t len)
{
	const char *end = s + len;
	for (const char *p = memchr(s, '\\', len); p; p = memchr(p, '\\', (size_t)(end - p))) {
		if (p[1] != 'u') {
			p += 2;
			continue;
		}
		unsigned u = hex4(p + 2);
		p += 6;
		if (u == 0)
			return "string holds \\u0000 (a NUL character)";
		if (u >= 0xDC00 && u <= 0xDFFF)
			return "string holds a lone surrogate escape (\\udc00-\\udfff)";
		if (u >= 0xD800 && u <= 0xDBFF) {
			if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2) < 0xDC00 || hex4(p + 2) > 0xDFFF)
				return "string holds a lone surrogate escape (\\ud800-\\udbff)";
			p += 6;
		}
	}
	return NULL;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* dup_key: a key found twice in one object of the tree at it, or NULL */
static const char *dup_key(const cJSON *it)
{
	size_t n = 0;
	for (const cJSON *c = it->child; c; c = c->next) {
		n++;
		const char *d = cJSON_IsObject(c) || cJSON_IsArray(c) ? dup_key(c) : NULL;
		if (d)
			return d;
	}
	if (!cJSON_IsObject(it) || n < 2)
		return NULL;
	const char **keys = xmalloc(n * sizeof(*keys)), *d = NULL;
	size_t i = 0;
	for (const cJSON *c = it->child; c; c = c->next)
		keys[i++] = c->string ? c->string : "";
	qsort(keys, n, sizeof(*keys), cmp_key);
	for (i = 1; i < n && !d; i++)
		if (!strcmp(keys[i - 1], keys[i]))
			d = keys[i];
	free(keys);
	return d;
}

/* lies: why a line that parsed as rec is still refused, or NULL */
static const char *lies(const char *s, size_t len, const cJSON *rec)
{
	size_t bad = utf8_invalid(s, len);
	if (bad < len) {
		snprintf(why_text, sizeof why_text, "invalid UTF-8 (byte 0x%02x at byte %zu of the line)",
			 (unsigned char)s[bad], bad + 1);
		return why_text;
	}
	const char *e = bad_escape(s, len);
	if (e)
		return e;
	const char *d = dup_key(rec);
	if (d) {
		snprintf(why_text, sizeof why_text, "duplicate key \"%.60s%s\" in an object", d,
			 strlen(d) > 60 ? "..." : "");
		return why_text;
	}
	return NULL;
}

cJSON *nd_parse_line(const char *s, size_t len, const char **err)
{
	const char *end = NULL;
	if (memchr(s, '\0', len))
		return *err = "NUL byte in record", NULL;
	cJSON *rec = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (!rec) {
		size_t bad = utf8_invalid(s, len);
		return *err = bad < len ? "invalid UTF-8" : "invalid JSON", NULL;
	}
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
	const char *lie = lies(s, len, rec);
	if (lie) {
		cJSON_Delete(rec);
		return *err = lie, NULL;
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

cJSON *nd_read(struct nd_reader *r, struct msg_err *err)
{
	int got;
	while ((got = read_line(r, err)) > 0) {
		const char *p = r->line.s, *end = p + r->line.len;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			continue;
		const char *why;
		cJSON *rec = nd_parse_line(r->line.s, r->line.len, &why);
		if (!rec)
			err_set_at(err, EXIT_INPUT, r->name, r->lineno, "%s", why);
		return rec;
	}
	return NULL;
}

/* What is queued beyond ND_SPILL bytes moves to an unlinked temporary file,
 * so a long stream costs bounded memory and still reaches stdout only at
 * commit. */
#define ND_SPILL (8u << 20)
static FILE *spill;
/* The first error of the queue (a temporary file that failed, a record
 * that is not UTF-8): from then on nothing more is queued, and the next
 * nd_commit or nd_finish returns it without writing anything. */
static struct msg_err queue_err;

static void spill_out(void)
{
	if (!spill && !(spill = tmpfile()))
		err_set(&queue_err, EXIT_RUNTIME, "cannot create a temporary file for the output: %s", strerror(errno));
	else if (fwrite(out.s, 1, out.len, spill) != out.len)
		err_set(&queue_err, EXIT_RUNTIME, "write error on the temporary output file: %s", strerror(errno));
	buf_reset(&out);
	line_start = 0;
}

/* end_line: the line just added to the queue is complete. A record that
 * is not valid UTF-8 is a bug of the program (its inputs are checked), and
 * is never written: every reader down the pipe would have to guess. */
static void end_line(void)
{
	size_t n = out.len - line_start, bad = utf8_invalid(out.s + line_start, n);
	if (queue_err.text) {
		out.len = line_start; /* queued after an error: dropped */
		return;
	}
	if (bad < n) {
		err_set(&queue_err, EXIT_RUNTIME,
			"internal error: a record to write holds invalid UTF-8 (byte 0x%02x at byte %zu); "
			"nothing written",
			(unsigned char)out.s[line_start + bad], bad + 1);
		out.len = line_start;
		return;
	}
	buf_addc(&out, '\n');
	line_start = out.len;
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
	int vi = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN
							       : (int)d;
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
	default: BUG("a JSON value of unknown type %d", it->type);
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

/* ---- committing: whole lines or nothing ----
 * The queue goes to stdout's descriptor with write(2) (stdio's buffer is
 * flushed first, so the order holds). When a write fails part-way and
 * stdout is a regular file the batch was appended to, the file is cut back
 * to its size before the batch: no partial line is left at its end. On a
 * pipe or a terminal what was written cannot be taken back; the failure
 * there is in practice EPIPE (the reader has gone, and sees nothing
 * more). Either way it is an error (EXIT_RUNTIME) for the program. */

static off_t batch_start = -1; /* stdout's size before the batch, when it can be cut back */

static int begin_batch(struct msg_err *err)
{
	struct stat st;
	int fd = fileno(stdout);
	if (fflush(stdout) != 0)
		return err_set(err, EXIT_RUNTIME, "write error on stdout: %s", strerror(errno));
	off_t pos = lseek(fd, 0, SEEK_CUR);
	int fl = fcntl(fd, F_GETFL);
	batch_start = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ((fl >= 0 && (fl & O_APPEND)) || pos == st.st_size))
		batch_start = st.st_size;
	return 0;
}

static int batch_failed(struct msg_err *err)
{
	int e = errno, fd = fileno(stdout);
	if (batch_start >= 0 && ftruncate(fd, batch_start) == 0)
		(void)lseek(fd, batch_start, SEEK_SET);
	return err_set(err, EXIT_RUNTIME, "write error on stdout: %s%s", strerror(e),
		       batch_start >= 0 ? " (what this run wrote of the batch was removed)" : "");
}

static int put(const char *p, size_t n, struct msg_err *err)
{
	int fd = fileno(stdout);
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return batch_failed(err);
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int copy_spill(struct msg_err *err)
{
	char chunk[1 << 16];
	size_t n;

	if (fflush(spill) != 0 || fseek(spill, 0, SEEK_SET) != 0)
		return err_set(err, EXIT_RUNTIME, "cannot read back the temporary output file: %s", strerror(errno));
	while ((n = fread(chunk, 1, sizeof chunk, spill)) > 0)
		if (put(chunk, n, err) < 0)
			return -1;
	if (ferror(spill))
		return err_set(err, EXIT_RUNTIME, "cannot read back the temporary output file: %s", strerror(errno));
	fclose(spill);
	spill = NULL;
	return 0;
}

int nd_commit(struct msg_err *err)
{
	if (queue_err.text) {
		nd_discard();
		*err = queue_err;
		queue_err = (struct msg_err)MSG_ERR_INIT;
		return -1;
	}
	if (!spill && !out.len)
		return 0;
	if (begin_batch(err) < 0 || (spill && copy_spill(err) < 0) || put(out.s, out.len, err) < 0) {
		nd_discard();
		return -1;
	}
	buf_reset(&out);
	line_start = 0;
	return 0;
}

void nd_discard(void)
{
	if (spill)
		fclose(spill);
	spill = NULL;
	buf_reset(&out);
	line_start = 0;
}

int nd_finish(struct msg_err *err)
{
	int rc = nd_commit(err);
	buf_release(&out);
	line_start = 0;
	if (rc < 0)
		return -1;
	if (fflush(stdout) != 0 || ferror(stdout))
		return err_set(err, EXIT_RUNTIME, "write error on stdout: %s", strerror(errno));
	if (fclose(stdout) != 0)
		return err_set(err, EXIT_RUNTIME, "write error on stdout: %s", strerror(errno));
	return 0;
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
