/*
 * nd: newline-delimited JSON records, read strictly and written atomically.
 *
 * Reading: one JSON object per line, with a string "kind" and an integer
 * "v"; anything else (invalid JSON, trailing garbage, a line over the size
 * limit, a non-object) is an error, "file:line: what was wrong" in the
 * caller's struct msg_err (msg.h), class EXIT_INPUT. So is a line that parses but could be read two ways: a NUL
 * byte, bytes that are not UTF-8 (overlong forms, surrogates, cut
 * sequences, bytes over F4), a \u0000 escape (a C string would end there)
 * or half a surrogate pair (\ud800 alone), and a key twice in one object
 * at any depth. Blank lines are skipped. The raw text of the last line read
 * stays available (nd_reader.line) so records can be forwarded unchanged.
 *
 * Writing: records are collected (in memory, then past 8 MiB in an unlinked
 * temporary file, so memory stays bounded) and reach stdout only at
 * nd_commit()/nd_finish(), so a program that dies half-way leaves nothing
 * half-written on stdout. A record that is not valid UTF-8 is never
 * written (EXIT_RUNTIME: a bug): like a failed temporary file, it is
 * kept as the queue's error, which the next nd_commit/nd_finish returns
 * (dropping the queue). A write that fails part-way (a full
 * disk, a closed pipe) is an error (EXIT_RUNTIME), never silent
 * truncation, and when stdout is a regular file the failed batch is cut
 * off again, so the file ends after the last whole batch; on a pipe the
 * reader may have had part of the batch (it has usually gone: EPIPE).
 */
#ifndef MIGSAFE_ND_H
#define MIGSAFE_ND_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "buf.h"
#include "msg.h"

#define ND_MAX_LINE_DEFAULT (64u << 20) /* 64 MiB; MIGSAFE_MAX_LINE overrides */
/* nd_max_line: the longest record line accepted (MIGSAFE_MAX_LINE, else
 * ND_MAX_LINE_DEFAULT). */
size_t nd_max_line(void);

struct nd_reader {
	FILE *f;
	const char *name; /* for diagnostics, e.g. "<stdin>" */
	long lineno;	  /* line number of the last line read */
	struct buf line;  /* raw text of the last record, without newline */
	size_t max_line;
};

void nd_reader_init(struct nd_reader *r, FILE *f, const char *name);
void nd_reader_release(struct nd_reader *r);
/* nd_read: the next record, owned by the caller (cJSON_Delete); NULL at
 * end of input (err->text stays NULL) or with *err on invalid input, as
 * described above (EXIT_INPUT), or a read error (EXIT_RUNTIME). */
cJSON *nd_read(struct nd_reader *r, struct msg_err *err);
/* nd_parse_line: parse one line as a record; NULL with *err set (static
 * text) when it is not one. Exposed for tests and for fuzzing. */
cJSON *nd_parse_line(const char *s, size_t len, const char **err);

/* nd_emit: queue rec (taken) for stdout. */
void nd_emit(cJSON *rec);
/* nd_print_json: it as cJSON_PrintUnformatted prints it, appended to b. */
void nd_print_json(struct buf *b, const cJSON *it);
/* Writing a record straight into the queue, without a cJSON tree, in the
 * bytes nd_emit would print for the same tree: append the record's text to
 * nd_line_begin()'s buffer (nd_json_string, nd_json_number for values),
 * then nd_line_end(). */
struct buf *nd_line_begin(void);
void nd_line_end(void);
void nd_json_string(struct buf *b, const char *s);
/* nd_json_string_n: the n bytes at s (or up to a NUL among them) */
void nd_json_string_n(struct buf *b, const char *s, size_t n);
/* nd_json_number: d as cJSON prints a number it created from d */
void nd_json_number(struct buf *b, double d);
/* nd_emit_cb: nd_emit with the signature catalog_to_json wants. */
void nd_emit_cb(cJSON *rec, void *unused);
/* nd_forward: queue a raw record line (as read) unchanged. */
void nd_forward(const char *line, size_t len);
/* nd_commit: write what is queued to stdout now (streaming programs); 0,
 * or -1 with *err (EXIT_RUNTIME; the queue is dropped). */
int nd_commit(struct msg_err *err);
/* nd_discard: drop what is queued (the run failed). */
void nd_discard(void);
/* nd_finish: commit, flush and check stdout; -1 with *err (EXIT_RUNTIME)
 * on a write error. Call once, at the end of main. */
int nd_finish(struct msg_err *err);

/* Helpers for building records. */
cJSON *nd_record(const char *kind);
const char *nd_kind(const cJSON *rec);
const char *nd_get_str(const cJSON *o, const char *key);

#endif
