#include "msg.h"
#include "nl2mig.h"
void llm_translate(const struct opts *o, const struct catalog *cat, const char *request, const char *feedback,
		   struct mig *m)
{
	(void)o; (void)cat; (void)request; (void)feedback; (void)m;
	die_code(EXIT_RUNTIME, "not yet");
}
