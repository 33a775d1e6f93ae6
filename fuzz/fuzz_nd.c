/*
 * fuzz_nd — the NDJSON reader (common/nd.c) and the DAG records it feeds
 * (catalog_load_record), as every stage reads its stdin.
 *
 * The input is a stream of lines. (1) Each line through nd_parse_line: a
 * record or a static error text, never both, and a record always has a
 * string kind and an integer v >= 1. (2) The whole stream through nd_read
 * (fmemopen) with a small line limit: it either returns every record or
 * is an error nd_read returns (bad line, line too long). (3) The records it gave
 * are loaded into a catalog; what loads is written back as records
 * (catalog_to_json), which must parse and load again: a stage's output is
 * the next stage's input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "fuzz.h"
#include "msg.h"
#include "nd.h"
#include "xalloc.h"

static FILE *stream; /* fmemopen'ed by the last input; closed by the next */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	msg_set_prog("fuzz_nd");
	xalloc_init_cjson();
	return 0;
}

static void check_lines(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		const char *err = NULL;
		cJSON *rec = nd_parse_line(s, n, &err);
		if (rec) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, "v");
			if (err || !nd_kind(rec) || !cJSON_IsNumber(v) || v->valuedouble < 1)
				abort();
			cJSON_Delete(rec);
		} else if (!err) {
			abort();
		}
		s += n + 1;
	}
}

static void reload(cJSON *rec, void *arg)
{
	struct catalog *c = arg;
	char *text = cJSON_PrintUnformatted(rec);
	const char *err = NULL;
	cJSON *back = nd_parse_line(text, strlen(text), &err);
	if (!back) {
		fprintf(stderr, "catalog_to_json wrote a line nd_parse_line refuses (%s): %s\n", err, text);
		abort();
	}
	if (catalog_load_record(c, back, &err) < 0) {
		fprintf(stderr, "catalog_to_json wrote a record catalog_load_record refuses (%s): %s\n", err, text);
		abort();
	}
	cJSON_Delete(back);
	free(text);
	cJSON_Delete(rec);
}

static void read_stream(void)
{
	struct nd_reader rd;
	struct catalog cat, again;
	cJSON *rec;
	catalog_init(&cat);
	struct msg_err rerr = MSG_ERR_INIT;
	nd_reader_init(&rd, stream, "<fuzz>");
	rd.max_line = 4096;
	while ((rec = nd_read(&rd, &rerr))) {
		const char *err = NULL;
		(void)catalog_load_record(&cat, rec, &err); /* a refusal is the caller's to report */
		cJSON_Delete(rec);
	}
	err_release(&rerr);
	catalog_init(&again);
	catalog_to_json(&cat, reload, &again);
	catalog_release(&again);
	catalog_release(&cat);
	nd_reader_release(&rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (stream)
		fclose(stream);
	stream = NULL;
	check_lines(data, size);
	if (!size)
		return 0;
	stream = fmemopen((void *)data, size, "r");
	if (!stream)
		abort();
	read_stream(); /* nd_read returns its errors: no FUZZ_RUN */
	fclose(stream);
	stream = NULL;
	return 0;
}
