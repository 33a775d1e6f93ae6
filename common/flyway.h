/*
 * flyway: a Flyway location read as Flyway reads it: file naming
 * (V<version>__<desc>.sql, R__, undo U files ignored), version order and
 * collisions, flyway.conf / flyway.toml, placeholders, defaultSchema.
 */
#ifndef MIGSAFE_FLYWAY_H
#define MIGSAFE_FLYWAY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* The migrations of a Flyway location, in Flyway's order. */
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
/* flyway_collect: the migrations of location dir (conf: a config file, or
 * NULL to look for flyway.conf/flyway.toml), with its settings. A location
 * without migrations is an error unless empty_ok (a project's first
 * migration under review leaves none before it). 0, or -1 with *err
 * (EXIT_INPUT; set then holds nothing). */
int flyway_collect(struct flyway_set *set, const char *dir, const char *conf, bool empty_ok,
		   struct msg_err *err);
/* flyway_settings: only the settings of a location (conf, or the
 * flyway.conf/flyway.toml in dir when conf is NULL; dir may be NULL or
 * gone): placeholders and the default schema, no files. -1 with *err like
 * flyway_collect on a config that cannot be read or parsed. */
int flyway_settings(struct flyway_set *set, const char *dir, const char *conf, struct msg_err *err);
void flyway_release(struct flyway_set *set);
/* flyway_expand: text with ${placeholders} replaced; NULL with *err
 * (EXIT_INPUT) on unknown ones. */
char *flyway_expand(const struct flyway_set *set, const char *file, const char *text, struct msg_err *err);
/* flyway_compare_versions: <0, 0, >0 as Flyway's MigrationVersion.compareTo */
int flyway_compare_versions(const char *a, const char *b);

/* migration_id_of_path: a migration file's own id: its name without .sql
 * (V3__purge_old_customers), or for Prisma's <folder>/migration.sql the
 * folder's name. The caller frees it. */
char *migration_id_of_path(const char *path);

#endif
