/* schema2dag's internal interfaces: one reader per input kind. Each reader
 * adds to the catalog and dies (EXIT_INPUT, with file and line) on bad input. */
#ifndef SCHEMA2DAG_H
#define SCHEMA2DAG_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "buf.h"
#include "catalog.h"

#include "flyway.h"
#include "prisma.h"
#include "replay.h"

/* introspect.c: a live database, read-only. Fills source with
 * server_version. Dies with EXIT_RUNTIME when the database cannot be read. */
void introspect_db(struct catalog *c, const char *url, cJSON *source);

/* dot.c: a Graphviz ER diagram of the catalog. */
void dot_write(const struct catalog *c, struct buf *out);

#endif
