/*
 * split_stmts — every statement of SQL files, one file each, for seeding the
 * SQL harnesses with grammar-valid input (a statement of a real history
 * reaches code that random bytes take long to find).
 *
 * usage: split_stmts OUTDIR FILE...
 *
 * Splits with libpg_query's parser (a file it cannot parse is split by its
 * scanner instead); each statement goes to OUTDIR/stmt-<FNV-1a of its
 * text>, so a statement met in many files is kept once. Prints how many
 * were written. Exit 2 on a usage or I/O error.
 */
#include <pg_query.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t n = 0, cap = 1 << 16, got;
	char *b = malloc(cap);
	while (b && (got = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (n + 1 == cap)
			b = realloc(b, cap *= 2);
	}
	fclose(f);
	if (b)
		b[n] = 0;
	return b;
}

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: split_stmts OUTDIR FILE...\n");
		return 2;
	}
	long written = 0;
	for (int a = 2; a < argc; a++) {
		char *text = slurp(argv[a]);
		if (!text) {
			perror(argv[a]);
			return 2;
		}
		PgQuerySplitResult r = pg_query_split_with_parser(text);
		if (r.error) {
			pg_query_free_split_result(r);
			r = pg_query_split_with_scanner(text);
		}
		for (int i = 0; !r.error && i < r.n_stmts; i++) {
			const char *s = text + r.stmts[i]->stmt_location;
			size_t n = (size_t)r.stmts[i]->stmt_len;
			if (!n)
				n = strlen(s);
			while (n && (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r'))
				s++, n--;
			if (!n)
				continue;
			char path[4096];
			snprintf(path, sizeof(path), "%s/stmt-%016llx", argv[1], (unsigned long long)fnv1a(s, n));
			FILE *o = fopen(path, "wb");
			if (!o || fwrite(s, 1, n, o) != n || fputs(";\n", o) == EOF || fclose(o)) {
				perror(path);
				return 2;
			}
			written++;
		}
		pg_query_free_split_result(r);
		free(text);
	}
	printf("%ld\n", written);
	return 0;
}
