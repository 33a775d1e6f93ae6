/* TEMPORARY stub: replaced by the Prisma reader. */
#include "msg.h"
#include "schema2dag.h"
void prisma_load(struct catalog *c, const char *path, struct strv *files)
{
	(void)c; (void)files;
	die("%s: the Prisma reader is not built yet", path);
}
