/*
 * llm.c — the HTTP providers (anthropic, openai). Not implemented yet: the
 * request shapes are in ../shared/reference/apis.md, common/http.h does the
 * transport; until then a clear refusal, never a silent fallback.
 */
#include "msg.h"
#include "nl2mig.h"

void llm_translate(const struct opts *o, const struct catalog *cat, const char *request, const char *feedback,
		   struct mig *m)
{
	(void)cat;
	(void)request;
	(void)feedback;
	(void)m;
	die_code(EXIT_RUNTIME, "--provider %s is not implemented yet; use --provider builtin or --sql FILE",
		 o->provider);
}
