/*
 * lint.c — lockscore's rules on a migration: bin/lockscore (found beside
 * this program) runs on the forward SQL with the DAG on its stdin; its
 * finding records of severity medium or high are kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msg.h"
#include "nd.h"
#include "nl2mig.h"
#include "wfile.h"
#include "xalloc.h"

extern char **environ;

static char *lockscore_path(void)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return NULL;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (!slash)
		return NULL;
	*slash = 0;
	char *p = xasprintf("%s/lockscore", self);
	if (access(p, X_OK) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

/* write_text: a new file in the run's private directory (wfile.h) */
static void write_text(const char *path, const char *text, size_t len)
{
	struct msg_err werr = MSG_ERR_INIT;
	if (wfile_write(path, text, len, WFILE_NEW) != 0)
		die_err(wfile_error(&werr, path, errno));
}

static void dag_line(cJSON *rec, void *arg)
{
	nd_print_json(arg, rec);
	buf_addc(arg, '\n');
	cJSON_Delete(rec);
}

static cJSON *read_findings(const char *path)
{
	cJSON *out = cJSON_CreateArray(), *rec;
	FILE *f = fopen(path, "r");
	struct nd_reader rd;
	if (!f)
		return out;
	struct msg_err rerr = MSG_ERR_INIT;
	nd_reader_init(&rd, f, "lockscore output");
	while ((rec = nd_read(&rd, &rerr))) {
		const char *sev = nd_get_str(rec, "severity");
		if (!strcmp(nd_kind(rec), "finding") && sev && (!strcmp(sev, "medium") || !strcmp(sev, "high"))) {
			cJSON *x = cJSON_CreateObject();
			const char *k[] = {"rule", "severity", "table", "message", "fix"};
			for (int i = 0; i < 5; i++)
				if (nd_get_str(rec, k[i]))
					cJSON_AddStringToObject(x, k[i], nd_get_str(rec, k[i]));
			cJSON_AddItemToArray(out, x);
		}
		cJSON_Delete(rec);
	}
	if (rerr.text)
		die_err(&rerr);
	nd_reader_release(&rd);
	fclose(f);
	return out;
}

cJSON *lint_forward(const struct catalog *cat, const char *forward)
{
	char *ls = lockscore_path();
	if (!ls)
		return NULL;
	char dir[] = "/tmp/nl2mig-lint-XXXXXX";
	if (!mkdtemp(dir))
		die_code(EXIT_RUNTIME, "mkdtemp: %s", strerror(errno));
	char *sql = xasprintf("%s/migration.sql", dir), *dag = xasprintf("%s/dag.ndjson", dir),
	     *out = xasprintf("%s/out.ndjson", dir);
	write_text(sql, forward, strlen(forward));
	struct buf dagtext = BUF_INIT;
	buf_adds(&dagtext, "");
	catalog_to_json(cat, dag_line, &dagtext);
	write_text(dag, dagtext.s, dagtext.len);
	buf_release(&dagtext);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, dag, O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *argv[] = {ls, "--no-transaction", sql, NULL};
	pid_t pid;
	int st = 0;
	cJSON *res = NULL;
	if (posix_spawn(&pid, ls, &fa, NULL, argv, environ) == 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) <= 1)
		res = read_findings(out);
	else
		warning("lockscore could not check the migration");
	posix_spawn_file_actions_destroy(&fa);
	unlink(sql);
	unlink(dag);
	unlink(out);
	rmdir(dir);
	free(sql);
	free(dag);
	free(out);
	free(ls);
	return res;
}
