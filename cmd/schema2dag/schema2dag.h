/* schema2dag's internal interfaces: one reader per input kind. Each reader
 * adds to the catalog and dies (EXIT_INPUT, with file and line) on bad input. */
#ifndef SCHEMA2DAG_H
#define SCHEMA2DAG_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "buf.h"
#include "catalog.h"

/* prisma.c: a schema.prisma file, or a folder of .prisma files (recursive).
 * Adds every path read to files. */
void prisma_load(struct catalog *c, const char *path, struct strv *files);

#include "replay.h"

/* flyway.c: the migrations of a Flyway location, in Flyway's order. */
struct flyway_file {
	char *path;
	char *version; /* normalised, NULL for repeatables */
	char *description;
};
struct flyway_set {
	struct flyway_file *files;
	size_t n, cap;
	struct strv placeholder_keys, placeholder_values;
	char *placeholder_prefix, *placeholder_suffix; /* "${" and "}" by default */
	bool placeholder_replacement;
	char *default_schema; /* defaultSchema, else the first of schemas, else public */
	char *latest_version;
	char *conf_path;
};
void flyway_collect(struct flyway_set *set, const char *dir, const char *conf);
void flyway_release(struct flyway_set *set);
/* flyway_expand: text with ${placeholders} replaced; dies on unknown ones. */
char *flyway_expand(const struct flyway_set *set, const char *file, const char *text);
/* flyway_compare_versions: <0, 0, >0 as Flyway's MigrationVersion.compareTo */
int flyway_compare_versions(const char *a, const char *b);

/* introspect.c: a live database, read-only. Fills source with
 * server_version. Dies with EXIT_RUNTIME when the database cannot be read. */
void introspect_db(struct catalog *c, const char *url, cJSON *source);

/* dot.c: a Graphviz ER diagram of the catalog. */
void dot_write(const struct catalog *c, struct buf *out);


#endif
