#include "msg.h"
#include "nl2mig.h"
void write_files(const struct opts *o, const struct catalog *cat, struct mig *m, const char *slug)
{
	(void)o; (void)cat; (void)m; (void)slug;
	die_code(EXIT_RUNTIME, "not yet");
}
