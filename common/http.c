/*
 * http: one HTTP request with libcurl. See http.h.
 */
#include "http.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "msg.h"
#include "xalloc.h"

struct sink {
	struct buf *body;
	size_t max;
	bool over;
	char **retry_after;
};

/* http_global_init: false when libcurl cannot be initialised */
static bool http_global_init(void)
{
	static bool done;

	if (!done && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		done = true;
	return done;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	if (s->body->len + len > s->max) {
		s->over = true;
		return 0; /* aborts the transfer */
	}
	buf_add(s->body, data, len);
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;
	static const char name[] = "retry-after:";

	if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		const char *v = data + sizeof(name) - 1;
		size_t vl = len - (sizeof(name) - 1);

		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		free(*s->retry_after);
		*s->retry_after = xmalloc(vl + 1);
		memcpy(*s->retry_after, v, vl);
		(*s->retry_after)[vl] = '\0';
	}
	return len;
}

char *http_url_for_message(const char *url)
{
	const char *scheme = strstr(url, "://");
	const char *host = scheme ? scheme + 3 : url;
	const char *end = host + strcspn(host, "/?#");
	const char *at = memchr(host, '@', (size_t)(end - host));
	size_t pathlen;
	const char *path;

	if (at)
		host = at + 1;
	path = end;
	pathlen = strcspn(path, "?#");
	return xasprintf("%.*s%.*s%.*s", scheme ? (int)(scheme + 3 - url) : 0, url,
			 (int)(end - host), host, (int)pathlen, path);
}

void http_resp_release(struct http_resp *resp)
{
	buf_release(&resp->body);
	free(resp->retry_after);
	free(resp->error);
	resp->retry_after = NULL;
	resp->error = NULL;
	resp->status = 0;
	resp->attempts = 0;
}

/* make_headers: the request's headers for curl; NULL when curl runs out
 * of memory */
static struct curl_slist *make_headers(const struct http_req *req)
{
	struct curl_slist *list = NULL, *n;

	for (size_t i = 0; req->headers && req->headers[i]; i++) {
		n = curl_slist_append(list, req->headers[i]);
		if (!n) {
			curl_slist_free_all(list);
			return NULL;
		}
		list = n;
	}
	/* curl adds "Expect: 100-continue" to large POSTs; APIs do not want it */
	n = curl_slist_append(list, "Expect:");
	if (!n)
		curl_slist_free_all(list);
	return n;
}

/* one attempt; 0 with resp->status set, or -1 with resp->error set */
static int attempt(CURL *c, const struct http_req *req, struct http_resp *resp)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct sink s = {&resp->body, req->max_body ? req->max_body : 16u << 20, false,
			 &resp->retry_after};
	CURLcode rc;

	buf_reset(&resp->body);
	free(resp->retry_after);
	resp->retry_after = NULL;
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
	resp->attempts++;
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
		return 0;
	}
	free(resp->error);
	if (s.over) {
		resp->error = xasprintf("response larger than %zu bytes", s.max);
	} else {
		resp->error = xstrdup(errbuf[0] ? errbuf : curl_easy_strerror(rc));
	}
	resp->status = 0;
	return -1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

static long wait_before_retry(const struct http_resp *resp, long backoff)
{
	if (resp->retry_after) {
		char *end;
		long s = strtol(resp->retry_after, &end, 10);

		if (end != resp->retry_after && *end == '\0' && s >= 0)
			return (s > 30 ? 30 : s) * 1000;
	}
	return backoff;
}

int http_do(const struct http_req *req, struct http_resp *resp)
{
	const char *method = req->method ? req->method : "GET";
	long backoff = req->backoff_ms > 0 ? req->backoff_ms : 500;
	struct curl_slist *hdrs;
	CURL *c;
	int rc;

	http_resp_release(resp);
	buf_init(&resp->body);
	c = http_global_init() ? curl_easy_init() : NULL;
	if (!c) {
		resp->error = xstrdup("cannot initialise libcurl");
		return -1;
	}
	if (!(hdrs = make_headers(req))) {
		curl_easy_cleanup(c);
		resp->error = xstrdup("out of memory");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "migsafe/1");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 30000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 10000L);
	if (req->body) {
		size_t n = req->body_len ? req->body_len : strlen(req->body);

		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	if (getenv("MIGSAFE_HTTP_TRACE")) {
		char *u = http_url_for_message(req->url);

		fprintf(stderr, "%s: http: %s %s\n", msg_prog(), method, u);
		free(u);
	}
	for (int left = req->retries;; left--) {
		rc = attempt(c, req, resp);
		bool again = rc < 0 || resp->status == 429 || resp->status >= 500;

		if (!again || left <= 0)
			break;
		sleep_ms(wait_before_retry(resp, backoff));
		backoff *= 2;
	}
	if (rc < 0) {
		char *u = http_url_for_message(req->url);
		char *e = xasprintf("%s %s: %s", method, u, resp->error);

		free(resp->error);
		resp->error = e;
		free(u);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc;
}
