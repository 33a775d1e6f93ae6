/*
 * pool: --jobs N worker threads taking tasks 0..n-1 in order from a shared
 * counter. The caller gives each worker its own connections (indexed by the
 * worker number); shared state the tasks touch is guarded by pool_lock().
 * With one job (or one task) everything runs on the calling thread.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mkshadow.h"
#include "msg.h"
#include "xalloc.h"

static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;

void pool_lock(void)
{
	pthread_mutex_lock(&shared);
}

void pool_unlock(void)
{
	pthread_mutex_unlock(&shared);
}

/* While the main thread creates the shadow, a worker's fatal error waits
 * for it (see pool_defer_fatal). */
static struct {
	pthread_mutex_t mu;
	bool on;
	pthread_t main;
	int code;
	char *msg; /* the first error */
} deferred = {PTHREAD_MUTEX_INITIALIZER, false, 0, 0, NULL};

/* park: a thread whose error is deferred stops here for good. It must not
 * end: a pool worker's thread may be the one running pool_run, whose
 * stack holds the pool the other workers use, and which joins them. The
 * main thread exits the process with the recorded error. */
static _Noreturn void park(void)
{
	for (;;)
		pause();
}

/* deferred_failed: another thread's error is deferred, and this thread,
 * not the main one, should stop too (the main thread never parks). */
static bool deferred_failed(void)
{
	pthread_mutex_lock(&deferred.mu);
	bool failed = deferred.on && deferred.msg && !pthread_equal(pthread_self(), deferred.main);
	pthread_mutex_unlock(&deferred.mu);
	return failed;
}

void pool_fatal(int code, const char *fmt, ...)
{
	static pthread_mutex_t dying = PTHREAD_MUTEX_INITIALIZER;
	va_list ap;
	va_start(ap, fmt);
	char *m = NULL;
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	pthread_mutex_lock(&deferred.mu);
	if (deferred.on && !pthread_equal(pthread_self(), deferred.main)) {
		if (!deferred.msg)
			deferred.code = code, deferred.msg = m ? m : xstrdup("out of memory");
		else
			free(m);
		pthread_mutex_unlock(&deferred.mu);
		park();
	}
	pthread_mutex_unlock(&deferred.mu);
	pthread_mutex_lock(&dying); /* never released: one thread exits */
	shadow_forget_conn();
	error("%s", m ? m : "out of memory");
	exit(code);
}

void pool_defer_fatal(bool on)
{
	pthread_mutex_lock(&deferred.mu);
	deferred.on = on;
	deferred.main = pthread_self();
	char *m = on ? NULL : deferred.msg;
	int code = deferred.code;
	pthread_mutex_unlock(&deferred.mu);
	if (m)
		pool_fatal(code, "%s", m);
}

struct pool {
	pool_fn fn;
	void *ctx;
	size_t ntasks, next;
	pthread_mutex_t mu;
};

struct worker_arg {
	struct pool *p;
	int id;
};

static void *worker(void *arg)
{
	struct worker_arg *w = arg;
	struct pool *p = w->p;
	for (;;) {
		if (deferred_failed())
			park(); /* another worker failed: no more reads */
		pthread_mutex_lock(&p->mu);
		size_t t = p->next < p->ntasks ? p->next++ : p->ntasks;
		pthread_mutex_unlock(&p->mu);
		if (t == p->ntasks)
			return NULL;
		p->fn(p->ctx, w->id, t);
	}
}

void pool_run(int jobs, size_t ntasks, pool_fn fn, void *ctx)
{
	struct pool p = {fn, ctx, ntasks, 0, PTHREAD_MUTEX_INITIALIZER};
	int n = jobs < 1 ? 1 : (size_t)jobs > ntasks ? (int)ntasks
						     : jobs;
	if (n <= 1) {
		for (size_t t = 0; t < ntasks; t++)
			fn(ctx, 0, t);
		return;
	}
	pthread_t *th = xcalloc((size_t)n, sizeof(*th));
	struct worker_arg *args = xcalloc((size_t)n, sizeof(*args));
	for (int i = 1; i < n; i++) {
		args[i] = (struct worker_arg){&p, i};
		if (pthread_create(&th[i], NULL, worker, &args[i]))
			die_code(EXIT_RUNTIME, "cannot start a worker thread");
	}
	args[0] = (struct worker_arg){&p, 0};
	worker(&args[0]);
	for (int i = 1; i < n; i++)
		pthread_join(th[i], NULL);
	free(th);
	free(args);
}
