/* bench/parse_only.c — the bare cost of parsing a SQL file with libpg_query,
 * the floor under lockscore's time: read the whole file, hand it to
 * pg_query_parse at once (as common/sql.c does: whole text to a JSON parse
 * tree), free. With --split, only cut it into statements with
 * pg_query_split_with_scanner (for information: the scanner alone).
 *
 *   cc -O2 -o parse_only bench/parse_only.c -lpg_query
 *   parse_only [--split] FILE.sql
 *
 * Prints one line on stdout: the number of bytes of the JSON parse tree
 * (parse) or the number of statements (split), so a caller can check that
 * work was done. Exit 0 ok, 2 usage, 3 cannot read, 4 the SQL does not parse.
 */
#include <pg_query.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, len = 0;
	char *s = malloc(cap);
	for (size_t n; s && (n = fread(s + len, 1, cap - len - 1, f)) > 0;) {
		len += n;
		if (cap - len - 1 == 0) {
			char *t = realloc(s, cap *= 2);
			if (!t) {
				free(s);
				s = NULL;
			} else {
				s = t;
			}
		}
	}
	if (s)
		s[len] = '\0';
	fclose(f);
	return s;
}

int main(int argc, char **argv)
{
	int split = argc == 3 && !strcmp(argv[1], "--split");
	if (argc != 2 + split) {
		fprintf(stderr, "usage: parse_only [--split] FILE.sql\n");
		return 2;
	}
	const char *path = argv[1 + split];
	char *text = read_all(path);
	if (!text) {
		fprintf(stderr, "parse_only: %s: cannot read\n", path);
		return 3;
	}
	int rc = 0;
	if (split) {
		PgQuerySplitResult r = pg_query_split_with_scanner(text);
		if (r.error) {
			fprintf(stderr, "parse_only: %s: %s (at %d)\n", path, r.error->message,
				r.error->cursorpos);
			rc = 4;
		} else {
			printf("%d\n", r.n_stmts);
		}
		pg_query_free_split_result(r);
	} else {
		PgQueryParseResult r = pg_query_parse(text);
		if (r.error) {
			fprintf(stderr, "parse_only: %s: %s (at %d)\n", path, r.error->message,
				r.error->cursorpos);
			rc = 4;
		} else {
			printf("%zu\n", strlen(r.parse_tree));
		}
		pg_query_free_parse_result(r);
	}
	free(text);
	return rc;
}
