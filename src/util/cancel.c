/*
 * Cancel scopes (util.h): a flag for one run, seen by everything the run
 * does on any thread.  A thread says which run it works for with
 * sd_cancel_enter(); the job model (probe/jobs.c) carries the scope from a
 * group's owner to the workers that run its jobs, so a check's lookups,
 * connections and nested groups all see the flag of the run they serve.
 *
 * A scope made under another is its child: firing the parent (the
 * exporter gives up on a probe) stops the child's work too (the domain
 * audit a check runs), and firing the child stops only its own.
 *
 * Waits (util.h) are told to the thread's listener the same way: the job
 * model listens on the threads that run the jobs of a group it keeps to
 * the CPUs.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "util/util.h"

struct sd_cancel {
	atomic_int fired;
	atomic_int refs;
	atomic_int watchers;    /* waits watching it or a child of it */
	sd_cancel *parent;      /* a reference of its own, or NULL */
};

static __thread sd_cancel *current;
/* Wakes the watching waits (the job pool's), or NULL. */
static void (*_Atomic on_fire)(void);

sd_cancel *sd_cancel_new(void)
{
	sd_cancel *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	atomic_init(&c->fired, 0);
	atomic_init(&c->refs, 1);
	atomic_init(&c->watchers, 0);
	c->parent = sd_cancel_ref(current);
	return c;
}

sd_cancel *sd_cancel_ref(sd_cancel *c)
{
	if (c)
		atomic_fetch_add(&c->refs, 1);
	return c;
}

void sd_cancel_unref(sd_cancel *c)
{
	/* a chain of parents, each freed with its last child: no recursion */
	while (c && atomic_fetch_sub(&c->refs, 1) == 1) {
		sd_cancel *parent = c->parent;
		free(c);
		c = parent;
	}
}

/*
 * A fire wakes the waits watching the scope or a child of it, and only
 * those (a domain fires its own scope once it has stopped waiting: no
 * one to wake).  The flag is stored before the count is read, and a
 * watcher counts itself before it reads the flag, so one of the two sees
 * the other: a wait that missed the flag is woken.
 */
void sd_cancel_fire(sd_cancel *c)
{
	if (!c)
		return;
	atomic_store(&c->fired, 1);
	void (*wake)(void) = atomic_load(&on_fire);
	if (wake && atomic_load(&c->watchers) > 0)
		wake();
}

void sd_cancel_watch(sd_cancel *c, int delta)
{
	for (; c; c = c->parent)
		atomic_fetch_add(&c->watchers, delta);
}

void sd_cancel_on_fire(void (*wake)(void))
{
	atomic_store(&on_fire, wake);
}

int sd_cancel_fired(const sd_cancel *c)
{
	for (; c; c = c->parent)
		if (atomic_load(&c->fired))
			return 1;
	return 0;
}

sd_cancel *sd_cancel_enter(sd_cancel *c)
{
	sd_cancel *prev = current;
	current = c;
	return prev;
}

sd_cancel *sd_cancel_current(void)
{
	return current;
}

int sd_cancelled(void)
{
	return sd_cancel_fired(current);
}

static __thread sd_wait_fn wait_listener;

sd_wait_fn sd_wait_listen(sd_wait_fn fn)
{
	sd_wait_fn prev = wait_listener;
	wait_listener = fn;
	return prev;
}

void sd_wait_begin(void)
{
	if (wait_listener)
		wait_listener(1);
}

void sd_wait_end(void)
{
	if (wait_listener)
		wait_listener(0);
}
