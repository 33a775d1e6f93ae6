/*
 * util: what applyexplain's files share: the schema unqualified names
 * resolve in, a session on the shadow, and progress lines on stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "applyexplain.h"
#include "db.h"
#include "msg.h"
#include "pgvocab.h"
#include "xalloc.h"

const char *ae_schema = "public";

PGconn *connect_shadow_as(const char *url, const struct opts *o, const char *app, const char *user,
			  const char *password)
{
	struct db_opts dbo = DB_OPTS_INIT;
	dbo.statement_timeout_ms = o->statement_timeout_ms;
	dbo.connect_timeout_s = 10;
	dbo.user = user;
	dbo.password = password;
	struct msg_err cerr = MSG_ERR_INIT;
	PGconn *c = db_connect(url, &dbo, &cerr);
	if (!c)
		die_err(&cerr);
	PQsetNoticeProcessor(c, pgv_notice_quiet, NULL);
	char *set = xasprintf("SET application_name = '%s'", app);
	db_exec_or_die(c, set);
	free(set);
	return c;
}

void progress(const struct opts *o, const char *fmt, ...)
{
	va_list ap;
	if (!o->progress)
		return;
	fprintf(stderr, "\r\033[K%s: ", msg_prog());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

void progress_done(const struct opts *o)
{
	if (o->progress)
		fputs("\r\033[K", stderr);
}
