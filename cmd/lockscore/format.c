/* format: findings as compiler lines, GitHub annotations, or SARIF 2.1.0. */
#include <stdlib.h>
#include <string.h>

#include "lockscore.h"
#include "pgvocab.h"
#include "xalloc.h"

/* text: "file:line: severity: rule: message", then the fix indented. */
void format_text_finding(const char *file, const struct finding *f, struct buf *out)
{
	buf_addf(out, "%s:%d: %s: %s: %s\n", file, f->line, f->severity, f->rule, f->message);
	if (f->fix) {
		buf_adds(out, "  fix: ");
		for (const char *p = f->fix; *p; p++) {
			buf_addc(out, *p);
			if (*p == '\n')
				buf_adds(out, "       ");
		}
		buf_addc(out, '\n');
	}
}

void format_text_risk(const struct migration *m, struct buf *out)
{
	buf_addf(out, "%s: risk %s (%d/100)\n", m->file, m->level, m->score);
}

/* GitHub workflow commands escape %, CR and LF in the message, and also
 * : and , in properties. */
static void gh_escape(struct buf *out, const char *s, bool property)
{
	for (; *s; s++) {
		if (*s == '%')
			buf_adds(out, "%25");
		else if (*s == '\r')
			buf_adds(out, "%0D");
		else if (*s == '\n')
			buf_adds(out, "%0A");
		else if (property && *s == ':')
			buf_adds(out, "%3A");
		else if (property && *s == ',')
			buf_adds(out, "%2C");
		else
			buf_addc(out, *s);
	}
}

void format_github_finding(const char *file, const struct finding *f, struct buf *out)
{
	int r = pgv_severity_rank(f->severity);
	buf_addf(out, "::%s file=", r == 3 ? "error" : r == 2 ? "warning"
							      : "notice");
	gh_escape(out, file, true);
	buf_addf(out, ",line=%d,title=", f->line);
	gh_escape(out, f->rule, true);
	buf_adds(out, "::");
	gh_escape(out, f->message, false);
	if (f->fix) {
		buf_adds(out, "%0AFix: ");
		gh_escape(out, f->fix, false);
	}
	buf_addc(out, '\n');
}

static cJSON *sarif_rule_list(const struct migration *ms, size_t n)
{
	cJSON *rules = cJSON_CreateArray();
	struct strv seen = STRV_INIT;
	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < ms[k].nfindings; i++) {
			const char *id = ms[k].findings[i].rule;
			if (strv_index(&seen, id) >= 0)
				continue;
			strv_push(&seen, id);
			cJSON *r = cJSON_CreateObject();
			cJSON_AddStringToObject(r, "id", id);
			cJSON *sd = cJSON_AddObjectToObject(r, "shortDescription");
			cJSON_AddStringToObject(sd, "text", id);
			cJSON_AddItemToArray(rules, r);
		}
	strv_release(&seen);
	return rules;
}

static cJSON *sarif_result(const struct migration *m, const struct finding *f)
{
	static const char *const level[] = {"none", "note", "warning", "error"};
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "ruleId", f->rule);
	cJSON_AddStringToObject(r, "level", level[pgv_severity_rank(f->severity)]);
	cJSON *msg = cJSON_AddObjectToObject(r, "message");
	char *text = f->fix ? xasprintf("%s\nFix: %s", f->message, f->fix) : xstrdup(f->message);
	cJSON_AddStringToObject(msg, "text", text);
	free(text);
	cJSON *locs = cJSON_AddArrayToObject(r, "locations"), *loc = cJSON_CreateObject();
	cJSON *phys = cJSON_AddObjectToObject(loc, "physicalLocation");
	cJSON *art = cJSON_AddObjectToObject(phys, "artifactLocation");
	cJSON_AddStringToObject(art, "uri", m->file);
	cJSON *region = cJSON_AddObjectToObject(phys, "region");
	cJSON_AddNumberToObject(region, "startLine", f->line > 0 ? f->line : 1);
	cJSON_AddItemToArray(locs, loc);
	return r;
}

void format_sarif(const struct migration *ms, size_t n, struct buf *out)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
	cJSON_AddStringToObject(doc, "version", "2.1.0");
	cJSON *runs = cJSON_AddArrayToObject(doc, "runs"), *run = cJSON_CreateObject();
	cJSON *driver = cJSON_AddObjectToObject(cJSON_AddObjectToObject(run, "tool"), "driver");
	cJSON_AddStringToObject(driver, "name", "lockscore");
	cJSON_AddStringToObject(driver, "informationUri", "https://github.com/migsafe/migsafe");
	cJSON_AddItemToObject(driver, "rules", sarif_rule_list(ms, n));
	cJSON *results = cJSON_AddArrayToObject(run, "results");
	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < ms[k].nfindings; i++)
			cJSON_AddItemToArray(results, sarif_result(&ms[k], &ms[k].findings[i]));
	cJSON_AddItemToArray(runs, run);
	char *s = cJSON_Print(doc);
	buf_adds(out, s);
	buf_addc(out, '\n');
	free(s);
	cJSON_Delete(doc);
}
