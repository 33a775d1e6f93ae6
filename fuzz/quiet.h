/* quiet.h — force-included (-include) into every source built for fuzzing:
 * the code's stderr becomes fuzz_stderr, /dev/null unless FUZZ_VERBOSE=1
 * (fuzz_rt.c), so a million "file:line: syntax error" lines do not drown
 * libFuzzer's own output. Sanitizer reports are not affected. */
#include <stdio.h>
extern FILE *fuzz_stderr;
#undef stderr
#define stderr fuzz_stderr
