/* TEMPORARY stub */
#include <stdlib.h>
#include "msg.h"
#include "schema2dag.h"
#include "xalloc.h"
void replay_init(struct replay *r, struct catalog *c) { r->cat = c; r->search_schema = xstrdup("public"); }
void replay_release(struct replay *r) { free(r->search_schema); }
void replay_sql(struct replay *r, const char *file, const char *text) { (void)r; (void)text; die("%s: replay not built yet", file); }
