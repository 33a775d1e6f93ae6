/*
 * prisma: the Prisma schema language read into the catalog, with names as
 * Prisma chooses them (tables, columns, indexes, foreign keys, enums).
 */
#ifndef MIGSAFE_PRISMA_H
#define MIGSAFE_PRISMA_H

#include "buf.h"
#include "catalog.h"

/* prisma_load: a schema.prisma file, or a folder of .prisma files (recursive).
 * Adds every path read to files. 0, or -1 with *err (EXIT_INPUT) on a file
 * that cannot be read or a schema that is invalid. */
struct msg_err;
int prisma_load(struct catalog *c, const char *path, struct strv *files, struct msg_err *err);

#endif
