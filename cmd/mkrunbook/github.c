/*
 * github: publish a document through GitHub's REST API (version
 * 2022-11-28): one sticky pull-request comment, found again by its hidden
 * marker and updated in place, or a release whose body is the runbook.
 *
 * Configuration comes from the environment, as GitHub Actions sets it:
 * GITHUB_TOKEN (required; never printed, and scrubbed from any echo of it
 * in an error), GITHUB_REPOSITORY (owner/name), GITHUB_API_URL (default
 * https://api.github.com), GITHUB_EVENT_PATH (the PR number, unless --pr).
 * The comment updated is only one the token's own identity wrote (GET
 * /user; github-actions[bot] for the Actions token): a marked comment by
 * anyone else is left alone and a new one is posted.
 * A missing setting is a usage error (exit 2); a failed request prints the
 * method, the URL without its query, GitHub's status and message, and
 * exits 3.
 */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "mkrunbook.h"
#include "msg.h"
#include "nd.h"
#include "xalloc.h"

#define PER_PAGE 100
#define MAX_PAGES 50

struct gh {
	char *base, *repo;
	const char *token;
	char *auth;
	const char *headers[7];
	long timeout_ms; /* per request (--http-timeout) */
};

static void gh_init(struct gh *g, const struct opts *o)
{
	g->timeout_ms = (long)o->http_timeout_ms;
	const char *tok = getenv("GITHUB_TOKEN"), *repo = getenv("GITHUB_REPOSITORY");
	const char *api = getenv("GITHUB_API_URL");
	if (!tok || !*tok)
		usage_error("publishing to GitHub needs GITHUB_TOKEN in the environment");
	if (!repo || !*repo)
		usage_error("publishing to GitHub needs GITHUB_REPOSITORY (owner/name) in the environment");
	const char *slash = strchr(repo, '/');
	if (!slash || slash == repo || !slash[1] || strchr(slash + 1, '/') ||
	    strspn(repo, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/") != strlen(repo))
		usage_error("GITHUB_REPOSITORY must be owner/name, not '%s'", repo);
	g->base = xstrdup(api && *api ? api : "https://api.github.com");
	for (size_t n = strlen(g->base); n && g->base[n - 1] == '/';)
		g->base[--n] = '\0';
	g->repo = xstrdup(repo);
	g->token = tok;
	g->auth = xasprintf("Authorization: Bearer %s", tok);
	g->headers[0] = g->auth;
	g->headers[1] = "Accept: application/vnd.github+json";
	g->headers[2] = "X-GitHub-Api-Version: 2022-11-28";
	g->headers[3] = "User-Agent: migsafe-mkrunbook/1.0";
	g->headers[4] = "Content-Type: application/json";
	g->headers[5] = NULL;
}

static void gh_release(struct gh *g)
{
	free(g->base);
	free(g->repo);
	free(g->auth);
}

/* The text with every occurrence of the token replaced: a server may echo
 * a header back in its error. */
static char *scrub(const char *s, const char *token)
{
	struct buf b = BUF_INIT;
	size_t tn = strlen(token);
	buf_adds(&b, "");
	while (*s) {
		if (tn && !strncmp(s, token, tn)) {
			buf_adds(&b, "***");
			s += tn;
		} else {
			buf_addc(&b, *s == '\n' || *s == '\r' ? ' ' : *s);
			s++;
		}
	}
	return buf_detach(&b);
}

static _Noreturn void gh_fail(const struct gh *g, const struct http_req *rq, const struct http_resp *rs)
{
	char *url = http_url_for_message(rq->url);
	if (rs->status == 0) {
		char *why = scrub(rs->error ? rs->error : "no response", g->token);
		die_code(EXIT_RUNTIME, "GitHub %s %s: %s", rq->method, url, why);
	}
	cJSON *j = cJSON_Parse(rs->body.s ? rs->body.s : "");
	struct buf msg = BUF_INIT;
	const char *m = nd_get_str(j, "message");
	if (m)
		buf_adds(&msg, m);
	else
		buf_add(&msg, rs->body.s ? rs->body.s : "", rs->body.len > 200 ? 200 : rs->body.len);
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "errors"))
	{
		const char *code = nd_get_str(e, "code"), *field = nd_get_str(e, "field"), *em = nd_get_str(e, "message");
		buf_addf(&msg, " (%s%s%s)", field ? field : "", field ? ": " : "", em ? em : code ? code
												  : "?");
	}
	if (rs->status == 403 || rs->status == 404)
		buf_adds(&msg, rs->status == 403 ? "; does the token have pull-requests: write (comments) or contents: write (releases)?"
						 : "; check GITHUB_REPOSITORY, the PR number and the token's access");
	char *clean = scrub(msg.s ? msg.s : "", g->token);
	die_code(EXIT_RUNTIME, "GitHub %s %s: %ld %s", rq->method, url, rs->status, clean);
}

/* gh_call_or: one request; dies unless the status is want or also (0:
 * none), which *got tells. The response body is parsed JSON owned by the
 * caller (NULL when there is none). */
static cJSON *gh_call_or(const struct gh *g, const char *method, const char *url, const char *body, long want,
			 long also, long *got)
{
	struct http_req rq = HTTP_REQ_INIT;
	struct http_resp rs = HTTP_RESP_INIT;
	rq.method = method;
	rq.url = url;
	rq.headers = g->headers;
	rq.body = body;
	rq.retries = strcmp(method, "POST") ? 2 : 0; /* a retried POST could post twice */
	rq.timeout_ms = g->timeout_ms;
	if (http_do(&rq, &rs) < 0 || (rs.status != want && (!also || rs.status != also)))
		gh_fail(g, &rq, &rs);
	if (got)
		*got = rs.status;
	cJSON *j = rs.body.len ? cJSON_Parse(rs.body.s) : NULL;
	http_resp_release(&rs);
	return j;
}

/* gh_call: one request; dies unless the status is want. */
static cJSON *gh_call(const struct gh *g, const char *method, const char *url, const char *body, long want)
{
	return gh_call_or(g, method, url, body, want, 0, NULL);
}

static long pr_number(const struct opts *o)
{
	if (o->pr > 0)
		return o->pr;
	const char *ev = getenv("GITHUB_EVENT_PATH");
	if (!ev || !*ev)
		usage_error("--github-comment needs --pr N, or GITHUB_EVENT_PATH from a pull_request event");
	struct msg_err err = MSG_ERR_INIT;
	char *text = read_file(ev, &err);
	if (!text)
		die_err(&err);
	cJSON *j = cJSON_Parse(text);
	const cJSON *pr = cJSON_GetObjectItemCaseSensitive(j, "pull_request");
	if (!pr)
		pr = cJSON_GetObjectItemCaseSensitive(j, "issue");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(pr, "number");
	/* a PR number is a positive integer; anything else (8.9e109, 1.5, NaN)
	 * is refused before the cast, which would be undefined outside long */
	double d = cJSON_IsNumber(n) ? n->valuedouble : 0;
	long num = d >= 1 && d <= 2147483647.0 && d == (double)(long)d ? (long)d : 0;
	cJSON_Delete(j);
	free(text);
	if (num <= 0)
		usage_error("%s has no pull_request.number: give --pr N", ev);
	return num;
}

/* Whose comments the token may update: its own only. A marked comment by
 * anyone else could be edited by its author into a false report after we
 * stop looking, so it is never taken over. GET /user names a user token's
 * account (a personal or fine-grained token); the Actions GITHUB_TOKEN, an
 * app installation token, gets 403 there and comments as the bot
 * github-actions[bot] (type "Bot": no user can hold a login with '[').
 * Asked once, and only when a marked comment turns up. */
struct author {
	char *login; /* NULL until asked */
	bool bot;
};

static void gh_whoami(const struct gh *g, struct author *me)
{
	char *url = xasprintf("%s/user", g->base);
	long got = 0;
	cJSON *u = gh_call_or(g, "GET", url, NULL, 200, 403, &got);
	const char *login = nd_get_str(u, "login");
	if (got == 200 && (!login || !*login))
		die_code(EXIT_RUNTIME, "GitHub GET %s/user: no login in the answer", g->base);
	me->bot = got != 200;
	me->login = xstrdup(got == 200 ? login : "github-actions[bot]");
	cJSON_Delete(u);
	free(url);
}

/* own: the comment c was written by me */
static bool own(const cJSON *c, const struct author *me)
{
	const cJSON *user = cJSON_GetObjectItemCaseSensitive(c, "user");
	const char *login = nd_get_str(user, "login"), *type = nd_get_str(user, "type");
	if (!login || strcmp(login, me->login))
		return false;
	return !me->bot || (type && !strcmp(type, "Bot"));
}

/* marked: the first comment of list with the marker tag written by me,
 * else NULL; the others with it are named on stderr, and left alone */
static const cJSON *marked(const struct gh *g, const cJSON *list, const char *tag, struct author *me)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, list)
	{
		const char *body = nd_get_str(c, "body");
		if (!body || !strstr(body, tag))
			continue;
		if (!me->login)
			gh_whoami(g, me);
		if (own(c, me))
			return c;
		const char *who = nd_get_str(cJSON_GetObjectItemCaseSensitive(c, "user"), "login");
		warning("comment %.0f by %s carries the marker but was not written by %s: left alone", num_or(c, "id", 0),
			who ? who : "(unknown)", me->login);
	}
	return NULL;
}

/* The id of the first comment carrying the marker written by the token's
 * own identity, or 0; every page of comments is read until it is found. */
static double find_comment(const struct gh *g, long pr, const char *marker)
{
	char *tag = xasprintf("<!-- %s -->", marker);
	struct author me = {NULL, false};
	double id = 0;
	for (int page = 1; page <= MAX_PAGES && !id; page++) {
		char *url = xasprintf("%s/repos/%s/issues/%ld/comments?per_page=%d&page=%d", g->base, g->repo, pr, PER_PAGE, page);
		cJSON *list = gh_call(g, "GET", url, NULL, 200);
		free(url);
		int n = cJSON_GetArraySize(list);
		const cJSON *c = marked(g, list, tag, &me);
		if (c)
			id = num_or(c, "id", 0);
		cJSON_Delete(list);
		if (n < PER_PAGE)
			break;
	}
	free(me.login);
	free(tag);
	return id;
}

static char *body_json(const char *key, const char *text)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, key, text);
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* github_check: the settings publishing needs are there (else exit 2),
 * checked before anything is written. */
void github_check(const struct opts *o)
{
	struct gh g;
	gh_init(&g, o);
	if (o->gh_comment)
		pr_number(o);
	gh_release(&g);
}

void github_comment(const struct opts *o, const char *body)
{
	struct gh g;
	gh_init(&g, o);
	long pr = pr_number(o);
	double id = find_comment(&g, pr, o->marker);
	char *json = body_json("body", body), *url;
	cJSON *res;
	if (id > 0) {
		url = xasprintf("%s/repos/%s/issues/comments/%.0f", g.base, g.repo, id);
		res = gh_call(&g, "PATCH", url, json, 200);
	} else {
		url = xasprintf("%s/repos/%s/issues/%ld/comments", g.base, g.repo, pr);
		res = gh_call(&g, "POST", url, json, 201);
	}
	const char *link = nd_get_str(res, "html_url");
	fprintf(stderr, "%s: %s comment %.0f on #%ld%s%s\n", msg_prog(), id > 0 ? "updated" : "created",
		num_or(res, "id", 0), pr, link ? ": " : "", link ? link : "");
	cJSON_Delete(res);
	free(url);
	free(json);
	gh_release(&g);
}

void github_release(const struct opts *o, const char *body)
{
	struct gh g;
	gh_init(&g, o);
	cJSON *rq = cJSON_CreateObject();
	cJSON_AddStringToObject(rq, "tag_name", o->gh_release);
	const char *sha = getenv("GITHUB_SHA");
	if (sha && *sha)
		cJSON_AddStringToObject(rq, "target_commitish", sha);
	char *name = xasprintf("Runbook %s", o->gh_release);
	cJSON_AddStringToObject(rq, "name", name);
	cJSON_AddStringToObject(rq, "body", body);
	cJSON_AddFalseToObject(rq, "draft");
	cJSON_AddFalseToObject(rq, "prerelease");
	char *json = cJSON_PrintUnformatted(rq);
	char *url = xasprintf("%s/repos/%s/releases", g.base, g.repo);
	cJSON *res = gh_call(&g, "POST", url, json, 201);
	const char *link = nd_get_str(res, "html_url");
	fprintf(stderr, "%s: created release %s%s%s\n", msg_prog(), o->gh_release, link ? ": " : "", link ? link : "");
	cJSON_Delete(res);
	cJSON_Delete(rq);
	free(name);
	free(json);
	free(url);
	gh_release(&g);
}
