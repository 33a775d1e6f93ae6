/*
 * opt: the values of command-line options, checked one way in every program.
 *
 * Each function returns the value of option opt (its name with the dashes,
 * "--top") given as s, or, when s is not a valid value, exits EXIT_USAGE
 * through usage_error() with "prog: --opt: what was wrong" and the
 * program's "try 'prog --help'" line. Bounds are inclusive unless the name
 * says "above".
 *
 *   opt_int       a whole number in decimal: no sign other than a leading
 *                 '-', no exponent, no trailing text, no overflow
 *   opt_num       a finite decimal number (nan, inf and hex are refused)
 *   opt_duration  a duration as pgvocab.h reads it (bare number = seconds),
 *                 in milliseconds
 *   opt_enum      one of a NULL-terminated list; returns its index, and the
 *                 error names the whole list
 */
#ifndef MIGSAFE_OPT_H
#define MIGSAFE_OPT_H

#define OPT_WEEK_MS (7 * 86400000.0)

long long opt_int(const char *opt, const char *s, long long min, long long max);
double opt_num(const char *opt, const char *s, double min, double max);
/* opt_num_above: as opt_num, but the value must be greater than min. */
double opt_num_above(const char *opt, const char *s, double min, double max);
double opt_duration(const char *opt, const char *s, double min_ms, double max_ms);
int opt_enum(const char *opt, const char *s, const char *const *list);

#endif
