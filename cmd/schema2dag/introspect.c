/* TEMPORARY stub: replaced by the database reader. */
#include "msg.h"
#include "schema2dag.h"
void introspect_db(struct catalog *c, const char *url, cJSON *source)
{
	(void)c; (void)url; (void)source;
	die_code(EXIT_RUNTIME, "--db is not built yet");
}
