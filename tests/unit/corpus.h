/* corpus.h: the unit tests' walk over ../shared/corpus (or $CORPUS). */
#ifndef MIGSAFE_TEST_CORPUS_H
#define MIGSAFE_TEST_CORPUS_H
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "msg.h"
#include "xalloc.h"

/* corpus_sql: call fn with the path and the text of every .sql file under
 * dir (recursively, in directory order) */
static inline void corpus_sql(const char *dir, void (*fn)(void *ctx, const char *path, const char *text), void *ctx)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *path = xasprintf("%s/%s", dir, e->d_name);
		struct stat sb;
		size_t len = strlen(e->d_name);
		if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			corpus_sql(path, fn, ctx);
		} else if (len > 4 && !strcmp(e->d_name + len - 4, ".sql")) {
			struct msg_err err = MSG_ERR_INIT;
			char *text = read_file(path, &err);
			if (!text)
				die_err(&err);
			fn(ctx, path, text);
			free(text);
		}
		free(path);
	}
	closedir(d);
}

/* the corpus directory: $CORPUS (tests/lib.sh exports it), else ../shared/corpus */
static inline const char *corpus_dir(void)
{
	const char *c = getenv("CORPUS");
	return c ? c : "../shared/corpus";
}
#endif
