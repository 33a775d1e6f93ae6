/*
 * http: one HTTP request with libcurl, for the API integrations (LLM
 * providers, GitHub, Slack, Datadog, Sentry), in the manner of curl's own
 * examples: curl_global_init once, an error buffer, a growable response
 * buffer, explicit timeouts.
 *
 * Ownership: the request is borrowed. The response's body and error belong
 * to the caller and are freed with http_resp_release().
 *
 * Errors: http_do() never dies. It returns 0 when an HTTP response arrived
 * (whatever its status) and -1 when none did (DNS, refused, reset, timeout,
 * a body over the limit), with a one-line reason in resp->error. Secrets:
 * the reason names the URL without its query string (where API keys
 * sometimes travel), and header values are never printed.
 *
 * Retries: with req->retries > 0, a transport failure, 429 and 5xx are
 * retried after req->backoff_ms, doubled each time (or after Retry-After
 * seconds when the server sends one, capped at 30 s). Only idempotent
 * requests should ask for retries; the caller decides.
 *
 * Tests point the programs at a local server through each program's base
 * URL option or environment variable (for example OPENAI_BASE_URL); the
 * variable MIGSAFE_HTTP_TRACE=1 prints each request line on stderr.
 */
#ifndef MIGSAFE_HTTP_H
#define MIGSAFE_HTTP_H

#include "buf.h"

struct http_req {
	const char *method; /* "GET", "POST", "PATCH", ...; NULL is GET */
	const char *url;
	const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
	const char *body;	    /* NULL: no body */
	size_t body_len;	    /* 0 with a body: strlen(body) */
	long timeout_ms;	    /* whole request; 0: 30 s */
	long connect_timeout_ms;    /* 0: 10 s */
	int retries;		    /* extra attempts on transport errors, 429, 5xx */
	long backoff_ms;	    /* first wait between attempts; 0: 500 ms */
	size_t max_body;	    /* response size limit; 0: 16 MiB */
};

#define HTTP_REQ_INIT                                    \
	{                                                \
		NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0 \
	}

struct http_resp {
	long status;	   /* 0 when no response arrived */
	struct buf body;   /* the response body, NUL-terminated */
	char *retry_after; /* the Retry-After header, or NULL */
	char *error;	   /* when http_do returned -1: why */
	int attempts;	   /* how many requests were made */
};

#define HTTP_RESP_INIT                     \
	{                                  \
		0, BUF_INIT, NULL, NULL, 0 \
	}

/* http_do: perform req, filling resp (released and refilled if reused).
 * Returns 0 when a response arrived, -1 otherwise (resp->error says why). */
int http_do(const struct http_req *req, struct http_resp *resp);

/* http_resp_release: free what resp holds; it can be reused. */
void http_resp_release(struct http_resp *resp);

/* http_url_for_message: url without its query string and userinfo, for
 * error messages. The caller frees it. */
char *http_url_for_message(const char *url);

#endif
