/* tap.h: a minimal TAP producer for the unit tests (one file each). */
#ifndef MIGSAFE_TAP_H
#define MIGSAFE_TAP_H
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

/* cond is evaluated once: it is often the call under test */
#define OK(cond, ...)                                           \
	do {                                                    \
		int ok_ = !!(cond);                             \
		tap_n++;                                        \
		if (!ok_)                                       \
			tap_failed++;                           \
		printf("%sok %d - ", ok_ ? "" : "not ", tap_n); \
		printf(__VA_ARGS__);                            \
		printf("\n");                                   \
	} while (0)

#define IS_STR(got, want, name)                                                        \
	do {                                                                           \
		const char *g_ = (got), *w_ = (want);                                  \
		int same_ = g_ && w_ ? !strcmp(g_, w_) : g_ == w_;                     \
		OK(same_, "%s", name);                                                 \
		if (!same_)                                                            \
			printf("#   got:  '%s'\n#   want: '%s'\n", g_ ? g_ : "(null)", \
			       w_ ? w_ : "(null)");                                    \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
#endif
