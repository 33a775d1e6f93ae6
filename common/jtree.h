#ifndef MIGSAFE_JTREE_H
#define MIGSAFE_JTREE_H

/* jtree: JSON parsed in place into cJSON nodes, for libpg_query's parse
 * trees (several megabytes of JSON per megabyte of SQL, read once).
 *
 * The text is modified (strings are unescaped where they lie and
 * NUL-terminated) and must outlive the tree: object keys and string values
 * point into it. Nodes come from alloc(ctx, size) (an arena: the tree is
 * released as a whole, never with cJSON_Delete; cJSON_Duplicate makes an
 * ordinary copy, keys and strings included). Numbers are parsed as
 * cJSON does (valuedouble, valueint saturated), integers without strtod.
 *
 * The tree reads as cJSON_ParseWithOpts(text, NULL, 1)'s would: the same
 * types, keys, values and order, and NULL for the same texts (malformed
 * JSON, nesting deeper than cJSON's limit, anything after the value). tests/unit compares the two on every corpus parse tree, and
 * fuzz/fuzz_jtree on whatever libFuzzer makes. */

#include <stddef.h>

#include <cjson/cJSON.h>

cJSON *jtree_parse(char *text, void *(*alloc)(void *ctx, size_t n), void *ctx);

#endif
