/* opt: see opt.h. */
#include "opt.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "msg.h"
#include "pgvocab.h"

/* Whether s is [-]digits[.digits]: what strtod may read here (not nan,
 * inf, hex, exponents or leading space). */
static bool plain_decimal(const char *s, bool fraction)
{
	const char *p = s + (*s == '-');
	size_t n = strspn(p, "0123456789");
	if (!n)
		return false;
	p += n;
	if (fraction && *p == '.') {
		n = strspn(++p, "0123456789");
		if (!n)
			return false;
		p += n;
	}
	return !*p;
}

long long opt_int(const char *opt, const char *s, long long min, long long max)
{
	char *end;
	errno = 0;
	long long v = plain_decimal(s, false) ? strtoll(s, &end, 10) : 0;
	if (!plain_decimal(s, false) || errno || v < min || v > max)
		usage_error("%s: '%s' is not a whole number from %lld to %lld", opt, s, min, max);
	return v;
}

/* A finite number within [min, max] (above min when open); else a usage error. */
static double num_in(const char *opt, const char *s, double min, double max, bool open)
{
	double v = plain_decimal(s, true) ? strtod(s, NULL) : NAN;
	if (isfinite(v) && (open ? v > min : v >= min) && v <= max)
		return v;
	if (isinf(max))
		usage_error("%s: '%s' is not a number %s %g", opt, s, open ? "above" : "of at least", min);
	usage_error("%s: '%s' is not a number %s %g and at most %g", opt, s, open ? "above" : "from", min, max);
}

double opt_num(const char *opt, const char *s, double min, double max)
{
	return num_in(opt, s, min, max, false);
}

double opt_num_above(const char *opt, const char *s, double min, double max)
{
	return num_in(opt, s, min, max, true);
}

double opt_duration(const char *opt, const char *s, double min_ms, double max_ms)
{
	double ms;
	if (*s == '-' && !pgv_duration_parse(s + 1, &ms))
		ms = -ms; /* a negative duration: said as too short, below */
	else if (pgv_duration_parse(s, &ms))
		usage_error("%s: '%s' is not a duration: a number and ms, s, min or h (a bare number is seconds)",
			    opt, s);
	if (ms >= min_ms && ms <= max_ms)
		return ms;
	struct buf b = BUF_INIT;
	pgv_duration_pg(&b, ms < min_ms ? min_ms : max_ms);
	usage_error("%s: '%s' is %s than %s", opt, s, ms < min_ms ? "shorter" : "longer", b.s);
}

int opt_enum(const char *opt, const char *s, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(s, list[i]))
			return i;
	struct buf b = BUF_INIT;
	for (int i = 0; list[i]; i++)
		buf_addf(&b, "%s%s", i ? ", " : "", list[i]);
	usage_error("%s: '%s' is not one of %s", opt, s, b.s);
}
