/*
 * msg: diagnostics and exit codes.
 *
 * Every diagnostic goes to stderr as "prog: message" or, when it is about a
 * place in an input, "prog: file:line: message". Stdout is never touched.
 * die() and friends exit; error() returns -1 so callers can write
 * `return error(...)`. msg_set_prog() must be called first (main does);
 * it also catches SIGPIPE, so that a closed stdout is an error the program
 * reports (write error, EXIT_RUNTIME) instead of a silent death.
 *
 * Errors in common/: no function of common/ ends the process; only
 * programs decide to exit. (Exceptions by design: xalloc.c on out of
 * memory, and BUG() here on a broken internal invariant, a programming
 * error, which aborts.) A common/ function that can fail on its input or
 * at run time takes a `struct msg_err *err`, returns -1 (or NULL, as its
 * header says) and fills *err with the message, "file:line: text" when it
 * is about a place in an input, and its exit class, EXIT_INPUT or
 * EXIT_RUNTIME. It prints nothing. The caller hands the error up the same
 * way, or decides: die_err() prints "prog: message" and exits with the
 * class; error_err() prints it and returns -1 (a worker thread's pool, a
 * caller that goes on). Programs use die(), die_code(), die_at() and
 * error() directly for their own errors.
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

/* See "Errors in common/" above. err_set/err_set_at fill *e (replacing
 * an earlier error) and return -1; die_err prints and exits e->code;
 * error_err prints, releases e and returns -1; err_release frees the text
 * and clears e (an error-free e is a no-op). */
struct msg_err {
	int code;   /* EXIT_INPUT or EXIT_RUNTIME; 0 while there is no error */
	char *text; /* the message without "prog: ", malloc'd; NULL when none */
};
#define MSG_ERR_INIT    \
	{               \
		0, NULL \
	}
int err_set(struct msg_err *e, int code, const char *fmt, ...) MSG_PRINTF(3, 4);
int err_set_at(struct msg_err *e, int code, const char *file, long line, const char *fmt, ...)
	MSG_PRINTF(5, 6);
_Noreturn void die_err(struct msg_err *e);
int error_err(struct msg_err *e);
void err_release(struct msg_err *e);

#endif
