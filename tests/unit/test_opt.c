/* Unit tests for common/opt: the values every program's options take, and
 * the one usage error ("prog: --opt: ...", exit 2) for those they refuse.
 * A refusal exits, so each is run in a child process. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "msg.h"
#include "opt.h"
#include "tap.h"

enum kind { K_INT,
	    K_NUM,
	    K_ABOVE,
	    K_DUR,
	    K_ENUM };

static const char *const colours[] = {"red", "green", "blue", NULL};

static double call(enum kind k, const char *s)
{
	switch (k) {
	case K_INT: return (double)opt_int("--n", s, -5, 1000);
	case K_NUM: return opt_num("--x", s, 1, HUGE_VAL);
	case K_ABOVE: return opt_num_above("--pct", s, 0, 100);
	case K_DUR: return opt_duration("--wait", s, 1, 3600000);
	case K_ENUM: return opt_enum("--colour", s, colours);
	}
	return 0;
}

/* refused K S WANT: the child's exit status is 2 and its first stderr line is WANT. */
static void refused(enum kind k, const char *s, const char *want)
{
	int fd[2];
	if (pipe(fd))
		abort();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd[1], 2);
		call(k, s);
		_exit(0);
	}
	close(fd[1]);
	char got[512] = "";
	size_t len = 0;
	ssize_t n;
	while (len < sizeof got - 1 && (n = read(fd[0], got + len, sizeof got - 1 - len)) > 0)
		len += (size_t)n;
	got[len] = 0;
	close(fd[0]);
	int st;
	waitpid(pid, &st, 0);
	char *nl = strchr(got, '\n');
	bool hint = nl && !strcmp(nl + 1, "test_opt: try 'test_opt --help'\n");
	if (nl)
		*nl = 0;
	OK(WIFEXITED(st) && WEXITSTATUS(st) == EXIT_USAGE && hint, "'%s' refused with exit 2 and the hint", s);
	IS_STR(got, want, want);
}

static void accepted(enum kind k, const char *s, double want)
{
	OK(call(k, s) == want, "'%s' is %g", s, want);
}

int main(void)
{
	msg_set_prog("test_opt");
	accepted(K_INT, "42", 42);
	accepted(K_INT, "-5", -5);
	accepted(K_INT, "1000", 1000);
	refused(K_INT, "1e12", "test_opt: --n: '1e12' is not a whole number from -5 to 1000");
	refused(K_INT, "1001", "test_opt: --n: '1001' is not a whole number from -5 to 1000");
	refused(K_INT, "-6", "test_opt: --n: '-6' is not a whole number from -5 to 1000");
	refused(K_INT, "1.5", "test_opt: --n: '1.5' is not a whole number from -5 to 1000");
	refused(K_INT, "99999999999999999999", "test_opt: --n: '99999999999999999999' is not a whole number from -5 to 1000");
	refused(K_INT, " 7", "test_opt: --n: ' 7' is not a whole number from -5 to 1000");
	refused(K_INT, "7x", "test_opt: --n: '7x' is not a whole number from -5 to 1000");
	refused(K_INT, "", "test_opt: --n: '' is not a whole number from -5 to 1000");
	accepted(K_NUM, "2.5", 2.5);
	accepted(K_NUM, "1", 1);
	refused(K_NUM, "nan", "test_opt: --x: 'nan' is not a number of at least 1");
	refused(K_NUM, "inf", "test_opt: --x: 'inf' is not a number of at least 1");
	refused(K_NUM, "0x10", "test_opt: --x: '0x10' is not a number of at least 1");
	refused(K_NUM, "0.5", "test_opt: --x: '0.5' is not a number of at least 1");
	refused(K_NUM, "1e400", "test_opt: --x: '1e400' is not a number of at least 1");
	accepted(K_ABOVE, "100", 100);
	accepted(K_ABOVE, "0.01", 0.01);
	refused(K_ABOVE, "0", "test_opt: --pct: '0' is not a number above 0 and at most 100");
	refused(K_ABOVE, "100.5", "test_opt: --pct: '100.5' is not a number above 0 and at most 100");
	accepted(K_DUR, "1h", 3600000);
	accepted(K_DUR, "2", 2000);
	accepted(K_DUR, "1ms", 1);
	refused(K_DUR, "5 sec", "test_opt: --wait: '5 sec' is not a duration: a number and ms, s, min or h (a bare number is seconds)");
	refused(K_DUR, "0", "test_opt: --wait: '0' is shorter than 1ms");
	refused(K_DUR, "-2s", "test_opt: --wait: '-2s' is shorter than 1ms");
	refused(K_DUR, "2h", "test_opt: --wait: '2h' is longer than 1h");
	accepted(K_ENUM, "red", 0);
	accepted(K_ENUM, "blue", 2);
	refused(K_ENUM, "Red", "test_opt: --colour: 'Red' is not one of red, green, blue");
	return tap_done();
}
