/*
 * fake_http.h — for the harnesses of the HTTP integrations: common/http.c
 * is included with http_do renamed, and http_do answers from a script
 * taken from the fuzz input instead of the network, so the programs' own
 * response handling (status checks, JSON parsing, error messages) runs on
 * arbitrary answers.
 *
 * The script: responses separated by lines "@@@". Each starts with a line
 * holding the status ("200"); a first line that is not a number means no
 * response (a transport error, as http_do reports a reset or a timeout).
 * When the script runs out, every further request gets no response. A body
 * over the request's max_body is refused as http_do refuses it.
 */
#define http_do http_do_real
#include "../common/http.c"
#undef http_do

int http_do(const struct http_req *req, struct http_resp *resp);

static const char *script, *script_end;

static void fake_http_script(const char *s, size_t n)
{
	script = s;
	script_end = s + n;
}

int http_do(const struct http_req *req, struct http_resp *resp)
{
	http_resp_release(resp);
	resp->attempts = 1;
	if (!script || script >= script_end) {
		char *u = http_url_for_message(req->url);
		resp->error = xasprintf("%s %s: Connection reset by peer", req->method ? req->method : "GET", u);
		free(u);
		return -1;
	}
	const char *end = memmem(script, (size_t)(script_end - script), "\n@@@\n", 5);
	const char *next = end ? end + 5 : script_end;
	end = end ? end : script_end;
	const char *nl = memchr(script, '\n', (size_t)(end - script));
	const char *body = nl ? nl + 1 : end;
	char line[16], *endp; /* the script is not NUL-terminated: strtol on a copy */
	size_t ln = (size_t)((nl ? nl : end) - script);
	bool numeric = ln > 0 && ln < sizeof line;
	long status = 0;
	if (numeric) {
		memcpy(line, script, ln);
		line[ln] = '\0';
		status = strtol(line, &endp, 10);
		numeric = endp != line && (*endp == '\0' || *endp == '\r');
	}
	script = next;
	size_t max = req->max_body ? req->max_body : 16u << 20;
	if (!numeric || status <= 0 || status > 999 || (size_t)(end - body) > max) {
		resp->error = xstrdup(numeric ? "response body over the size limit" : "Operation timed out");
		return -1;
	}
	resp->status = status;
	buf_init(&resp->body);
	buf_add(&resp->body, body, (size_t)(end - body));
	return 0;
}
