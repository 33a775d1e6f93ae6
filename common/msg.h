/*
 * msg: diagnostics and exit codes.
 *
 * Every diagnostic goes to stderr as "prog: message" or, when it is about a
 * place in an input, "prog: file:line: message". Stdout is never touched.
 * die() and friends exit; error() returns -1 so callers can write
 * `return error(...)`. msg_set_prog() must be called first (main does);
 * it also catches SIGPIPE, so that a closed stdout is an error the program
 * reports (write error, EXIT_RUNTIME) instead of a silent death.
 */
#ifndef MIGSAFE_MSG_H
#define MIGSAFE_MSG_H

enum exit_code {
	EXIT_OK = 0,
	EXIT_FINDINGS = 1, /* findings at or above --fail-on, violations, rolled back */
	EXIT_USAGE = 2,
	EXIT_RUNTIME = 3, /* database, network, out of memory */
	EXIT_INPUT = 4,	  /* invalid input */
};

#define MSG_PRINTF(a, b) __attribute__((format(printf, a, b)))

void msg_set_prog(const char *argv0);
const char *msg_prog(void);

/* die: print and exit EXIT_INPUT (the common case for a tool fed bad input). */
_Noreturn void die(const char *fmt, ...) MSG_PRINTF(1, 2);
_Noreturn void die_code(int code, const char *fmt, ...) MSG_PRINTF(2, 3);
/* die_at: "prog: file:line: message" then exit with code. line 0 omits it. */
_Noreturn void die_at(int code, const char *file, long line, const char *fmt, ...)
	MSG_PRINTF(4, 5);
int error(const char *fmt, ...) MSG_PRINTF(1, 2);
int error_at(const char *file, long line, const char *fmt, ...) MSG_PRINTF(3, 4);
void warning(const char *fmt, ...) MSG_PRINTF(1, 2);
void warning_at(const char *file, long line, const char *fmt, ...) MSG_PRINTF(3, 4);
/* usage_error: "prog: message" plus a hint to --help, exit EXIT_USAGE. */
_Noreturn void usage_error(const char *fmt, ...) MSG_PRINTF(1, 2);
/* BUG: an internal invariant broke. */
_Noreturn void msg_bug(const char *file, int line, const char *fmt, ...) MSG_PRINTF(3, 4);
#define BUG(...) msg_bug(__FILE__, __LINE__, __VA_ARGS__)

#endif
