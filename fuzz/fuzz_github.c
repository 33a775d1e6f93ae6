/*
 * fuzz_github — mkrunbook's GitHub client (cmd/mkrunbook/github.c) on
 * arbitrary answers: the input is a script of HTTP responses (fake_http.h)
 * played to, in turn, github_comment (list the PR's comments page by page,
 * then update or create the sticky comment), github_release, and the PR
 * number read from a GitHub event file (the first response's body). Bad
 * answers must end in EXIT_RUNTIME with a message (never the token), a
 * missing PR number in EXIT_USAGE; nothing may crash, hang or leak.
 */
#include <stdlib.h>
#include <string.h>

#include "fake_http.h"
#include "fuzz.h"
#include "mkrunbook.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char event_path[4200];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	msg_set_prog("fuzz_github");
	xalloc_init_cjson();
	setenv("GITHUB_TOKEN", "ghp_fuzzSECRETtoken", 1);
	setenv("GITHUB_REPOSITORY", "acme/shop", 1);
	setenv("GITHUB_API_URL", "http://127.0.0.1:9/api/", 1);
	setenv("GITHUB_SHA", "0123456789abcdef", 1);
	snprintf(event_path, sizeof event_path, "%s/event.json", fuzz_tmpdir());
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct opts o;
	memset(&o, 0, sizeof(o));
	o.gh_comment = true;
	o.pr = 7;
	o.marker = "migsafe-review";
	o.gh_release = "v1.2.3";
	fuzz_allow_exit(1u << EXIT_RUNTIME);
	fake_http_script((const char *)data, size);
	FUZZ_RUN(github_comment(&o, "## migsafe review\n\nlow risk"));
	FUZZ_RUN(github_release(&o, "# Runbook\n"));

	/* the event file: the first response's body */
	const char *s = (const char *)data, *end = memmem(s, size, "\n@@@\n", 5);
	size_t first = end ? (size_t)(end - s) : size;
	const char *nl = memchr(s, '\n', first);
	size_t from = nl ? (size_t)(nl + 1 - s) : first;
	fuzz_write_file(event_path, data + from, first - from);
	setenv("GITHUB_EVENT_PATH", event_path, 1);
	o.pr = 0;
	fuzz_allow_exit(1u << EXIT_USAGE | 1u << EXIT_INPUT);
	FUZZ_RUN(github_check(&o));
	unsetenv("GITHUB_EVENT_PATH");
	return 0;
}
