/* util: small helpers the files of nl2mig share. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nl2mig.h"
#include "xalloc.h"

void mig_release(struct mig *m)
{
	free(m->description);
	free(m->forward);
	free(m->rollback);
	cJSON_Delete(m->rollback_of);
	strv_release(&m->irreversible);
	strv_release(&m->risks);
	strv_release(&m->named_schemas);
	cJSON_Delete(m->findings);
	free(m->prisma_diff);
	free(m->file_forward);
	free(m->file_rollback);
	strv_release(&m->files);
	free(m->id);
	strv_release(&m->destructive_why);
	cJSON_Delete(m->outside);
	free(m->search_schema);
}

char *make_slug(const char *text)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	for (const char *p = text; *p && b.len < 60; p++) {
		unsigned char c = (unsigned char)*p;
		if (isalnum(c))
			buf_addc(&b, (char)tolower(c));
		else if (b.len && b.s[b.len - 1] != '_')
			buf_addc(&b, '_');
	}
	while (b.len && b.s[b.len - 1] == '_')
		b.s[--b.len] = 0;
	if (!b.len)
		buf_adds(&b, "migration");
	return buf_detach(&b);
}

/* utc_timestamp: YYYYMMDDHHMMSS, from SOURCE_DATE_EPOCH when set
 * (reproducible runs and tests), else now. */
char *utc_timestamp(void)
{
	const char *e = getenv("SOURCE_DATE_EPOCH");
	time_t t = e && *e ? (time_t)strtoll(e, NULL, 10) : time(NULL);
	struct tm tm;
	char s[32];
	gmtime_r(&t, &tm);
	strftime(s, sizeof s, "%Y%m%d%H%M%S", &tm);
	return xstrdup(s);
}

char *qualified(const char *schema, const char *name)
{
	char *n = cat_quote_ident(name);
	if (!schema || !strcmp(schema, "public"))
		return n;
	char *s = cat_quote_ident(schema), *r = xasprintf("%s.%s", s, n);
	free(s);
	free(n);
	return r;
}
