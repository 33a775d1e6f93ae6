/*
 * llm.c — the HTTP providers.
 *  anthropic: the Messages API (POST {base}/v1/messages), a tool whose
 *    input_schema is the answer, forced with tool_choice {"type":"tool"}.
 *  openai: Chat Completions (POST {base}/chat/completions) with a strict
 *    json_schema response_format; OPENAI_BASE_URL points it at Ollama, vLLM
 *    or llama.cpp's server (no key needed there).
 * The answer is {forward_sql, rollback_sql, summary, risks[]}. The prompt
 * carries only the relevant part of the DAG: the tables the request names,
 * their foreign-key neighbours, within PROMPT_BUDGET bytes.
 *
 * Whatever comes back is untrusted: this file only checks its shape; the
 * SQL goes through check.c's allow-list (m->untrusted) like any file.
 * Failures (no answer, an HTTP error, a refusal, a truncated or malformed
 * answer) die EXIT_RUNTIME with the provider's own message. The API key is
 * read from the environment, sent in a header, and blanked out of every
 * message that could echo it.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "msg.h"
#include "nd.h"
#include "nl2mig.h"
#include "sql.h"
#include "xalloc.h"

#define TOOL_NAME "write_migration"
#define PROMPT_BUDGET 24000 /* bytes of DAG records in the prompt */
#define HTTP_RETRIES 2	    /* after the first attempt: 429, 529, 5xx, transport */

struct provider {
	const char *name, *key_env, *base_env, *default_base, *default_model, *path;
};

static const struct provider providers[] = {
	{"anthropic", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "https://api.anthropic.com", "claude-sonnet-4-5",
	 "/v1/messages"},
	{"openai", "OPENAI_API_KEY", "OPENAI_BASE_URL", "https://api.openai.com/v1", "gpt-4o", "/chat/completions"},
};

/* the key, to blank out of anything printed */
static const char *api_key;

/* redact: s with every occurrence of the API key replaced; caller frees */
static char *redact(const char *s)
{
	struct buf b = BUF_INIT;
	size_t kl = api_key ? strlen(api_key) : 0;
	buf_init(&b);
	for (const char *p = s; *p;) {
		if (kl >= 4 && !strncmp(p, api_key, kl)) {
			buf_adds(&b, "[redacted]");
			p += kl;
		} else {
			buf_addc(&b, *p == '\n' || *p == '\r' ? ' ' : *p);
			p++;
		}
	}
	return buf_detach(&b);
}

_Noreturn static void fail(const struct provider *pv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* fail: die EXIT_RUNTIME with "<provider>: message", the key blanked */
_Noreturn static void fail(const struct provider *pv, const char *fmt, ...)
{
	va_list ap;
	char s[2048];
	va_start(ap, fmt);
	vsnprintf(s, sizeof s, fmt, ap);
	va_end(ap);
	char *r = redact(s);
	die_code(EXIT_RUNTIME, "%s: %s", pv->name, r);
}

/* ---------- the DAG excerpt ---------- */

/* norm: lower case, without underscores and quotes, for name matching */
static char *norm(const char *s, size_t n)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	for (size_t i = 0; i < n && s[i]; i++)
		if (s[i] != '_' && s[i] != '"')
			buf_addc(&b, (char)tolower((unsigned char)s[i]));
	return buf_detach(&b);
}

/* singular: strip a plural ending (categories -> category, boxes -> box,
 * orders -> order) in place */
static void singular(char *s)
{
	size_t n = strlen(s);
	if (n > 4 && !strcmp(s + n - 3, "ies"))
		strcpy(s + n - 3, "y");
	else if (n > 4 && (!strcmp(s + n - 4, "sses") || !strcmp(s + n - 3, "xes")))
		s[n - 2] = 0;
	else if (n > 3 && s[n - 1] == 's' && s[n - 2] != 's')
		s[n - 1] = 0;
}

static bool same_name(const char *word, size_t wl, const char *name)
{
	char *a = norm(word, wl), *b = norm(name, strlen(name));
	bool eq = *a && !strcmp(a, b);
	if (!eq && *a) {
		singular(a);
		singular(b);
		eq = !strcmp(a, b);
	}
	free(a);
	free(b);
	return eq;
}

/* word_names: does this word of the request name table t? "orders",
 * "Order", "OrderItem", "public.orders", "orders.status" all name it. */
static bool word_names(const char *w, const struct cat_table *t)
{
	const char *dot = strchr(w, '.');
	if (!dot)
		return same_name(w, strlen(w), t->name);
	if (same_name(w, (size_t)(dot - w), t->schema) && same_name(dot + 1, strcspn(dot + 1, "."), t->name))
		return true;
	return same_name(w, (size_t)(dot - w), t->name); /* table.column */
}

static void named_tables(const struct catalog *cat, const char *req, bool *named)
{
	const char *p = req;
	while (*p) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.\"");
		if (!n) {
			p++;
			continue;
		}
		char *w = xstrndup(p, n);
		for (size_t i = 0; i < cat->ntables; i++)
			if (word_names(w, cat->tables[i]))
				named[i] = true;
		free(w);
		p += n;
	}
}

static size_t table_index(const struct catalog *cat, const char *qname)
{
	for (size_t i = 0; i < cat->ntables; i++)
		if (!strcmp(cat->tables[i]->qname, qname))
			return i;
	return (size_t)-1;
}

static void add_rec(struct buf *b, cJSON *rec)
{
	char *s = cJSON_PrintUnformatted(rec);
	buf_addf(b, "%s\n", s);
	free(s);
	cJSON_Delete(rec);
}

/* table_records: t, its indexes, checks, foreign keys, enums of its columns
 * (full: a named table) or t and its keys to named tables (a neighbour) */
static void table_records(const struct catalog *cat, const struct cat_table *t, bool full, const bool *named,
			  struct strv *enums_done, struct buf *b)
{
	for (size_t i = 0; full && i < t->ncols; i++)
		for (size_t k = 0; k < cat->nenums; k++) {
			const struct cat_enum *e = cat->enums[k];
			char *tn = cat_type_name(e->schema, e->name, false);
			if ((!strcmp(t->cols[i].type, tn) || !strcmp(t->cols[i].type, e->qname)) &&
			    strv_index(enums_done, e->qname) < 0) {
				strv_push(enums_done, e->qname);
				add_rec(b, cat_enum_json(e));
			}
			free(tn);
		}
	add_rec(b, cat_table_json(t));
	for (size_t i = 0; full && i < cat->nindexes; i++)
		if (!strcmp(cat->indexes[i]->table, t->qname))
			add_rec(b, cat_index_json(cat->indexes[i]));
	for (size_t i = 0; full && i < cat->nchecks; i++)
		if (!strcmp(cat->checks[i]->table, t->qname))
			add_rec(b, cat_check_json(cat->checks[i]));
	for (size_t i = 0; i < cat->nfks; i++) {
		const struct cat_fk *fk = cat->fks[i];
		size_t r = table_index(cat, fk->ref_table);
		if (!strcmp(fk->table, t->qname) && (full || (r != (size_t)-1 && named[r])))
			add_rec(b, cat_fk_json(fk));
	}
}

/* dag_excerpt: the records the model needs, as NDJSON; *omitted counts
 * the relevant tables left out for the budget */
static char *dag_excerpt(const struct catalog *cat, const char *req, int *omitted)
{
	bool *named = xmalloc(cat->ntables + 1), any = false;
	struct buf b = BUF_INIT;
	struct strv enums_done = STRV_INIT;
	buf_init(&b);
	memset(named, 0, cat->ntables + 1);
	named_tables(cat, req, named);
	*omitted = 0;
	for (size_t i = 0; i < cat->ntables; i++) {
		if (!named[i])
			continue;
		any = true;
		size_t mark = b.len;
		table_records(cat, cat->tables[i], true, named, &enums_done, &b);
		if (b.len > PROMPT_BUDGET && mark) {
			b.s[b.len = mark] = 0;
			(*omitted)++;
		}
	}
	/* neighbours: tables a named one references, or that reference one */
	for (size_t i = 0; i < cat->ntables; i++) {
		if (named[i])
			continue;
		bool near = false;
		for (size_t k = 0; k < cat->nfks && !near; k++) {
			size_t a = table_index(cat, cat->fks[k]->table), r = table_index(cat, cat->fks[k]->ref_table);
			near = (a == i && r != (size_t)-1 && named[r]) || (r == i && a != (size_t)-1 && named[a]);
		}
		if (!near)
			continue;
		size_t mark = b.len;
		table_records(cat, cat->tables[i], false, named, &enums_done, &b);
		if (b.len > PROMPT_BUDGET) {
			b.s[b.len = mark] = 0;
			(*omitted)++;
		}
	}
	for (size_t i = 0; i < cat->nviews; i++) {
		const struct cat_view *v = cat->views[i];
		bool dep = false;
		for (size_t k = 0; k < v->depends_on.n && !dep; k++) {
			size_t t = table_index(cat, v->depends_on.v[k]);
			dep = t != (size_t)-1 && named[t];
		}
		size_t mark = b.len;
		if (dep)
			add_rec(&b, cat_view_json(v));
		if (b.len > PROMPT_BUDGET)
			b.s[b.len = mark] = 0;
	}
	if (!any) /* a new table, say: the names it could refer to */
		for (size_t i = 0; i < cat->ntables && b.len < PROMPT_BUDGET; i++) {
			cJSON *r = nd_record("table");
			cJSON_AddStringToObject(r, "name", cat->tables[i]->qname);
			add_rec(&b, r);
		}
	strv_release(&enums_done);
	free(named);
	return buf_detach(&b);
}

/* ---------- the prompt ---------- */

static char *system_prompt(const struct opts *o)
{
	return xasprintf(
		"You write PostgreSQL 15 schema migrations that run on busy production databases. "
		"Answer with forward_sql, rollback_sql, summary and risks only.\n"
		"Rules for forward_sql:\n"
		"- Plain SQL statements, each ending with a semicolon. No BEGIN/COMMIT, no psql meta-commands, no "
		"DO blocks or functions.\n"
		"- Start with SET lock_timeout = '%s';\n"
		"- Safe forms: CREATE INDEX CONCURRENTLY and DROP INDEX CONCURRENTLY; foreign keys and checks added "
		"NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT in a statement of its own; before SET NOT NULL, "
		"a CHECK (col IS NOT NULL) NOT VALID, validated, then SET NOT NULL, then the check dropped; no "
		"volatile defaults or type changes that rewrite a large table; backfills in batches.\n"
		"- Only the tables of the request and of the schema excerpt. Never roles, grants, databases, "
		"tablespaces, extensions, COPY, ALTER SYSTEM or server settings.\n"
		"rollback_sql undoes forward_sql: the inverse of each statement in reverse order.\n"
		"summary: one line under 80 characters, such as \"add column soft_delete to orders\".\n"
		"risks: what could go wrong in production (locks, rewrites, data loss), one sentence each; empty "
		"when none.",
		o->lock_timeout);
}

static char *user_prompt(const struct catalog *cat, const char *request, const char *feedback)
{
	int omitted;
	char *dag = dag_excerpt(cat, request, &omitted);
	char *s = xasprintf("Request: %s\n\nThe relevant part of the current schema (one JSON record per line: the "
			    "tables the request names, their foreign-key neighbours)%s:\n%s%s%s",
			    request, omitted ? " (some tables left out for size)" : "", dag,
			    feedback ? "\nYour previous answer needs a correction. " : "", feedback ? feedback : "");
	free(dag);
	return s;
}

/* the answer's JSON Schema: strict (every property required, no others) */
static cJSON *answer_schema(void)
{
	cJSON *s = cJSON_CreateObject(), *p, *req = cJSON_CreateArray();
	const char *const str[][2] = {
		{"forward_sql", "the migration: SQL statements, each ending with a semicolon"},
		{"rollback_sql", "SQL that undoes forward_sql"},
		{"summary", "one line, under 80 characters"},
	};
	cJSON_AddStringToObject(s, "type", "object");
	p = cJSON_AddObjectToObject(s, "properties");
	for (int i = 0; i < 3; i++) {
		cJSON *f = cJSON_AddObjectToObject(p, str[i][0]);
		cJSON_AddStringToObject(f, "type", "string");
		cJSON_AddStringToObject(f, "description", str[i][1]);
		cJSON_AddItemToArray(req, cJSON_CreateString(str[i][0]));
	}
	cJSON *r = cJSON_AddObjectToObject(p, "risks");
	cJSON_AddStringToObject(r, "type", "array");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "items"), "type", "string");
	cJSON_AddStringToObject(r, "description", "risks in production, one sentence each");
	cJSON_AddItemToArray(req, cJSON_CreateString("risks"));
	cJSON_AddItemToObject(s, "required", req);
	cJSON_AddFalseToObject(s, "additionalProperties");
	return s;
}

static cJSON *message(const char *role, const char *content)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", role);
	cJSON_AddStringToObject(m, "content", content);
	return m;
}

static cJSON *anthropic_body(const char *model, const char *sys, const char *user)
{
	cJSON *b = cJSON_CreateObject(), *tools = cJSON_AddArrayToObject(b, "tools"), *tool = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "model", model);
	cJSON_AddNumberToObject(b, "max_tokens", 4096);
	cJSON_AddNumberToObject(b, "temperature", 0);
	cJSON_AddStringToObject(b, "system", sys);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(b, "messages"), message("user", user));
	cJSON_AddStringToObject(tool, "name", TOOL_NAME);
	cJSON_AddStringToObject(tool, "description", "Record the migration: forward SQL, rollback SQL, summary, risks.");
	cJSON_AddItemToObject(tool, "input_schema", answer_schema());
	cJSON_AddItemToArray(tools, tool);
	cJSON *tc = cJSON_AddObjectToObject(b, "tool_choice");
	cJSON_AddStringToObject(tc, "type", "tool");
	cJSON_AddStringToObject(tc, "name", TOOL_NAME);
	return b;
}

/* reasoning models (o1, o3, gpt-5...) take no temperature */
static bool takes_temperature(const char *model)
{
	return !(model[0] == 'o' && isdigit((unsigned char)model[1])) && strncmp(model, "gpt-5", 5);
}

static cJSON *openai_body(const char *model, const char *sys, const char *user)
{
	cJSON *b = cJSON_CreateObject(), *msgs;
	cJSON_AddStringToObject(b, "model", model);
	msgs = cJSON_AddArrayToObject(b, "messages");
	cJSON_AddItemToArray(msgs, message("system", sys));
	cJSON_AddItemToArray(msgs, message("user", user));
	if (takes_temperature(model))
		cJSON_AddNumberToObject(b, "temperature", 0);
	cJSON *rf = cJSON_AddObjectToObject(b, "response_format");
	cJSON_AddStringToObject(rf, "type", "json_schema");
	cJSON *js = cJSON_AddObjectToObject(rf, "json_schema");
	cJSON_AddStringToObject(js, "name", "migration");
	cJSON_AddTrueToObject(js, "strict");
	cJSON_AddItemToObject(js, "schema", answer_schema());
	return b;
}

/* ---------- the call ---------- */

/* error_text: the provider's message from an error body: Anthropic's and
 * OpenAI's {"error": {"type", "message"}}, Ollama's {"error": "..."}, or
 * the start of the body. Caller frees. */
static char *error_text(const char *body)
{
	cJSON *j = cJSON_Parse(body);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	char *s;
	if (cJSON_IsObject(e) && nd_get_str(e, "message"))
		s = nd_get_str(e, "type") ? xasprintf("%s: %s", nd_get_str(e, "type"), nd_get_str(e, "message"))
					  : xstrdup(nd_get_str(e, "message"));
	else if (cJSON_IsString(e))
		s = xstrdup(e->valuestring);
	else
		s = xasprintf("%.200s", *body ? body : "(empty body)");
	cJSON_Delete(j);
	return s;
}

static cJSON *call(const struct provider *pv, const struct opts *o, const char *base, cJSON *body)
{
	char *url = xasprintf("%s%s", base, pv->path), *json = cJSON_PrintUnformatted(body);
	char *auth = NULL;
	const char *hdr[5] = {"content-type: application/json", NULL, NULL, NULL, NULL};
	int nh = 1;
	if (!strcmp(pv->name, "anthropic")) {
		auth = xasprintf("x-api-key: %s", api_key);
		hdr[nh++] = auth;
		hdr[nh++] = "anthropic-version: 2023-06-01";
	} else if (api_key) {
		auth = xasprintf("Authorization: Bearer %s", api_key);
		hdr[nh++] = auth;
	}
	struct http_req req = HTTP_REQ_INIT;
	struct http_resp resp = HTTP_RESP_INIT;
	req.method = "POST";
	req.url = url;
	req.headers = hdr;
	req.body = json;
	req.timeout_ms = o->timeout_ms;
	req.retries = HTTP_RETRIES;
	int rc = http_do(&req, &resp);
	free(auth);
	free(json);
	if (rc < 0)
		fail(pv, "no answer after %d attempt(s): %s", resp.attempts, resp.error);
	if (resp.status != 200) {
		char *e = error_text(resp.body.s);
		if (resp.attempts > 1)
			fail(pv, "HTTP %ld: %s (after %d attempts)", resp.status, e, resp.attempts);
		fail(pv, "HTTP %ld: %s", resp.status, e);
	}
	cJSON *j = cJSON_Parse(resp.body.s);
	if (!j)
		fail(pv, "malformed response: not JSON: %.80s", resp.body.s);
	http_resp_release(&resp);
	free(url);
	return j;
}

/* ---------- the answer ---------- */

static const cJSON *anthropic_answer(const struct provider *pv, const cJSON *r)
{
	const char *stop = nd_get_str(r, "stop_reason");
	const cJSON *c, *content = cJSON_GetObjectItemCaseSensitive(r, "content");
	struct buf text = BUF_INIT;
	buf_init(&text);
	if (stop && !strcmp(stop, "max_tokens"))
		fail(pv, "the answer was cut off at max_tokens: no complete migration");
	cJSON_ArrayForEach(c, content)
	{
		const char *ty = nd_get_str(c, "type");
		if (ty && !strcmp(ty, "tool_use") && nd_get_str(c, "name") && !strcmp(nd_get_str(c, "name"), TOOL_NAME) &&
		    (!stop || strcmp(stop, "refusal"))) {
			buf_release(&text);
			return cJSON_GetObjectItemCaseSensitive(c, "input");
		}
		if (ty && !strcmp(ty, "text") && nd_get_str(c, "text"))
			buf_addf(&text, "%s%.300s", text.len ? " " : "", nd_get_str(c, "text"));
	}
	if (stop && !strcmp(stop, "refusal"))
		fail(pv, "the model refused the request%s%s", text.len ? ": " : "", text.s);
	if (!cJSON_IsArray(content))
		fail(pv, "malformed response: no content array (is the base URL an Anthropic Messages API?)");
	fail(pv, "malformed response: no %s tool call (stop_reason %s)%s%s", TOOL_NAME, stop ? stop : "missing",
	     text.len ? ": " : "", text.s);
}

/* openai_answer: the parsed content; *owned is what the caller deletes */
static const cJSON *openai_answer(const struct provider *pv, const cJSON *r, cJSON **owned)
{
	const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r, "choices"), 0);
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(ch, "message");
	const char *fin = nd_get_str(ch, "finish_reason"), *refusal = nd_get_str(msg, "refusal");
	const char *content = nd_get_str(msg, "content");
	if (!msg)
		fail(pv, "malformed response: no choices[0].message (is the base URL a Chat Completions API?)");
	if (refusal)
		fail(pv, "the model refused the request: %.300s", refusal);
	if (fin && !strcmp(fin, "content_filter"))
		fail(pv, "the answer was withheld by the provider's content filter");
	if (fin && !strcmp(fin, "length"))
		fail(pv, "the answer was cut off (finish_reason length): no complete migration");
	if (!content)
		fail(pv, "malformed response: choices[0].message.content is not a string");
	const char *end = NULL;
	*owned = cJSON_ParseWithOpts(content, &end, true);
	if (!*owned)
		fail(pv, "malformed answer: the message content is not the JSON asked for (at byte %ld): %.80s",
		     end ? (long)(end - content) : 0L, content);
	return *owned;
}

static char *trimmed(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

/* has_lock_timeout: the first statement is SET lock_timeout (or the SQL
 * does not parse: check.c reports that) */
static bool has_lock_timeout(const char *sql)
{
	struct sql_script s = {0};
	struct sql_error err = {0};
	bool yes = true;
	if (sql_parse(&s, sql, &err) == 0 && s.n)
		yes = !strcmp(s.stmts[0].type, "VariableSetStmt") && sql_jstr(s.stmts[0].node, "name") &&
		      !strcmp(sql_jstr(s.stmts[0].node, "name"), "lock_timeout");
	sql_script_release(&s);
	sql_error_release(&err);
	return yes;
}

static void take_answer(const struct provider *pv, const struct opts *o, const cJSON *a, struct mig *m)
{
	const char *fwd = nd_get_str(a, "forward_sql"), *rb = nd_get_str(a, "rollback_sql");
	const char *sum = nd_get_str(a, "summary");
	const cJSON *risks = cJSON_GetObjectItemCaseSensitive(a, "risks"), *x;
	if (!cJSON_IsObject(a))
		fail(pv, "malformed answer: not a JSON object");
	if (!fwd || strspn(fwd, " \t\r\n;") == strlen(fwd))
		fail(pv, "malformed answer: forward_sql is missing or empty");
	if (risks && !cJSON_IsArray(risks))
		fail(pv, "malformed answer: risks is not an array");
	/* every text of the answer goes into records, which are UTF-8 */
	const char *texts[] = {fwd, rb, sum};
	for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++)
		if (texts[i] && utf8_invalid(texts[i], strlen(texts[i])) != strlen(texts[i]))
			fail(pv, "malformed answer: its %s is not UTF-8", i == 0 ? "forward_sql" : i == 1 ? "rollback_sql"
													  : "summary");
	cJSON_ArrayForEach(x, risks) if (cJSON_IsString(x) && utf8_invalid(x->valuestring, strlen(x->valuestring)) !=
								      strlen(x->valuestring))
		fail(pv, "malformed answer: a risk is not UTF-8");
	free(m->forward);
	char *f = trimmed(fwd);
	m->forward = has_lock_timeout(f) ? xasprintf("%s\n", f) : xasprintf("SET lock_timeout = '%s';\n%s\n", o->lock_timeout, f);
	free(f);
	free(m->rollback);
	m->rollback = rb && strspn(rb, " \t\r\n;") != strlen(rb) ? xstrdup(rb) : NULL;
	free(m->description);
	m->description = sum && *sum ? xstrndup(sum, strcspn(sum, "\r\n")) : NULL;
	cJSON_ArrayForEach(x, risks) if (cJSON_IsString(x) && *x->valuestring) strv_push(&m->risks, x->valuestring);
	m->untrusted = true;
}

void llm_translate(const struct opts *o, const struct catalog *cat, const char *request, const char *feedback,
		   struct mig *m)
{
	const struct provider *pv = &providers[strcmp(o->provider, "anthropic") ? 1 : 0];
	const char *key = getenv(pv->key_env), *env_base = getenv(pv->base_env);
	api_key = key && *key ? key : NULL;
	char *base = xstrdup(o->base_url ? o->base_url : env_base && *env_base ? env_base
									       : pv->default_base);
	for (size_t n = strlen(base); n && base[n - 1] == '/'; n--)
		base[n - 1] = 0;
	if (!api_key && (!strcmp(pv->name, "anthropic") || !strcmp(base, pv->default_base)))
		die_code(EXIT_USAGE, "--provider %s needs %s in the environment", pv->name, pv->key_env);
	const char *model = o->model ? o->model : pv->default_model;
	char *sys = system_prompt(o), *user = user_prompt(cat, request, feedback);
	cJSON *body = pv == &providers[0] ? anthropic_body(model, sys, user) : openai_body(model, sys, user);
	cJSON *r = call(pv, o, base, body), *owned = NULL;
	const cJSON *a = pv == &providers[0] ? anthropic_answer(pv, r) : openai_answer(pv, r, &owned);
	take_answer(pv, o, a, m);
	cJSON_Delete(owned);
	cJSON_Delete(r);
	cJSON_Delete(body);
	free(sys);
	free(user);
	free(base);
}
