#include "msg.h"

#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static const char *prog = "migsafe";
static volatile int dying; /* the program is exiting on an error */

/* LeakSanitizer (make SAN=1) calls this at exit to ask whether to look for
 * leaks. Not when the program exits on an error (status 2, 3, 4: die()
 * and the error paths exit at once, by design, with whatever they hold;
 * nothing is unwound); a run that finishes, successfully or with findings
 * (0, 1), is checked. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return dying;
}

/* note_status: an on_exit handler (registered after LeakSanitizer's own
 * atexit check, so it runs before it) that learns the exit status. */
static void note_status(int status, void *arg)
{
	(void)arg;
	if (status >= EXIT_USAGE)
		dying = 1;
}

/* on_sigpipe: nothing; the write that raised it fails with EPIPE, and
 * the writer reports it ("write error on stdout: Broken pipe", exit 3). */
static void on_sigpipe(int sig)
{
	(void)sig;
}

void msg_set_prog(const char *argv0)
{
	const char *s = strrchr(argv0, '/');
	prog = s ? s + 1 : argv0;
	/* A handler, not SIG_IGN: programs this one runs (pg_dump, psql, ...)
	 * get the default disposition back at exec. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigpipe;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGPIPE, &sa, NULL);
	static bool registered;
	if (!registered)
		on_exit(note_status, NULL);
	registered = true;
}

const char *msg_prog(void)
{
	return prog;
}

/* put_escaped: s to stderr, made visible (buf_add_visible): text from a
 * model, a record or a file reaches diagnostics, and ESC [2J must not
 * clear the screen nor an OSC sequence retitle it. */
static void put_escaped(const char *s, size_t n)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	buf_add_visible(&b, s, n);
	fwrite(b.s, 1, b.len, stderr);
	buf_release(&b);
}

static void vreport(const char *kind, const char *file, long line, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	buf_addf(&b, "%s: ", prog);
	if (file && line > 0)
		buf_addf(&b, "%s:%ld: ", file, line);
	else if (file)
		buf_addf(&b, "%s: ", file);
	if (kind)
		buf_addf(&b, "%s: ", kind);
	char *m = NULL;
	if (vasprintf(&m, fmt, ap) >= 0) {
		buf_adds(&b, m);
		free(m);
	}
	buf_addc(&b, '\n');
	put_escaped(b.s, b.len);
	buf_release(&b);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(NULL, NULL, 0, fmt, ap);
	va_end(ap);
	dying = 1;
	exit(EXIT_INPUT);
}

void die_code(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(NULL, NULL, 0, fmt, ap);
	va_end(ap);
	dying = 1;
	exit(code);
}

void die_at(int code, const char *file, long line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(NULL, file, line, fmt, ap);
	va_end(ap);
	dying = 1;
	exit(code);
}

int error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(NULL, NULL, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int error_at(const char *file, long line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(NULL, file, line, fmt, ap);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("warning", NULL, 0, fmt, ap);
	va_end(ap);
}

void warning_at(const char *file, long line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("warning", file, line, fmt, ap);
	va_end(ap);
}

void usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(NULL, NULL, 0, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: try '%s --help'\n", prog, prog);
	dying = 1;
	exit(EXIT_USAGE);
}

void msg_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = NULL;
	fprintf(stderr, "%s: BUG at %s:%d: ", prog, file, line);
	if (vasprintf(&m, fmt, ap) >= 0)
		put_escaped(m, strlen(m));
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static int verr_set(struct msg_err *e, int code, const char *file, long line, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;
	buf_init(&b);
	if (file && line > 0)
		buf_addf(&b, "%s:%ld: ", file, line);
	else if (file)
		buf_addf(&b, "%s: ", file);
	char *m = NULL;
	if (vasprintf(&m, fmt, ap) >= 0) {
		buf_adds(&b, m);
		free(m);
	}
	free(e->text);
	e->text = buf_detach(&b);
	e->code = code;
	return -1;
}

int err_set(struct msg_err *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr_set(e, code, NULL, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int err_set_at(struct msg_err *e, int code, const char *file, long line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr_set(e, code, file, line, fmt, ap);
	va_end(ap);
	return -1;
}

void err_release(struct msg_err *e)
{
	free(e->text);
	e->text = NULL;
	e->code = 0;
}

int error_err(struct msg_err *e)
{
	error("%s", e->text ? e->text : "unknown error");
	err_release(e);
	return -1;
}

void die_err(struct msg_err *e)
{
	int code = e->code ? e->code : EXIT_RUNTIME;
	die_code(code, "%s", e->text ? e->text : "unknown error");
}
