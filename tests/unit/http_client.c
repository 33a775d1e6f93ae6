/*
 * http_client: drives common/http for tests/http.t (not a TAP test of its
 * own: unit.t leaves it out).
 *   http_client METHOD URL BODY HEADER [RETRIES]
 * Prints "status S attempts N body B" and exits 0 when a response came,
 * prints the error on stderr and exits 1 when none did. MAX_BODY and
 * TIMEOUT_MS in the environment set the limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "msg.h"

int main(int argc, char **argv)
{
	struct http_req req = HTTP_REQ_INIT;
	struct http_resp resp = HTTP_RESP_INIT;
	const char *hdrs[3] = {NULL, NULL, NULL};
	int n = 0;

	msg_set_prog(argv[0]);
	if (argc < 5)
		return 2;
	if (argv[4][0])
		hdrs[n++] = argv[4];
	if (argv[3][0])
		hdrs[n++] = "Content-Type: application/json";
	req.method = argv[1];
	req.url = argv[2];
	req.body = argv[3][0] ? argv[3] : NULL;
	req.headers = hdrs;
	req.retries = argc > 5 ? atoi(argv[5]) : 0;
	req.backoff_ms = 10;
	req.max_body = getenv("MAX_BODY") ? strtoul(getenv("MAX_BODY"), NULL, 10) : 0;
	req.timeout_ms = getenv("TIMEOUT_MS") ? atol(getenv("TIMEOUT_MS")) : 0;
	if (http_do(&req, &resp) < 0) {
		fprintf(stderr, "%s\n", resp.error);
		http_resp_release(&resp);
		return 1;
	}
	if (resp.status == 599)
		printf("status %ld attempts %d body-starts %.31s\n", resp.status, resp.attempts, resp.body.s);
	else
		printf("status %ld attempts %d body %s\n", resp.status, resp.attempts, resp.body.s);
	http_resp_release(&resp);
	return 0;
}
