/*
 * The probe engine's job model (probe/jobs.c): every job runs or is
 * dropped exactly once, a group's limit holds, the owner's wait ends at its
 * deadline however long the jobs take, a job may run a group of its
 * own, and a group kept to the CPUs runs one job per CPU, more while jobs
 * wait.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "probe/jobs.h"
#include "util/util.h"

static atomic_int ran, dropped, now_running, most_running;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void reset(void)
{
	ran = dropped = now_running = most_running = 0;
}

/* arg: milliseconds to take */
static void slow(void *arg)
{
	int n = ++now_running;
	int m = most_running;
	while (n > m && !atomic_compare_exchange_weak(&most_running, &m, n))
		;
	sleep_ms((long)(intptr_t)arg);
	now_running--;
	ran++;
}

static void drop(void *arg)
{
	(void)arg;
	dropped++;
}

static void all_run(void **state)
{
	(void)state;
	reset();
	sd_jobgroup *g = sd_jobgroup_new(0);
	assert_non_null(g);
	for (int i = 0; i < 100; i++)
		assert_int_equal(sd_jobgroup_add(g, slow, drop,
		    (void *)(intptr_t)40), 0);
	int64_t t0 = sd_now_ms();
	assert_int_equal(sd_jobgroup_wait(g, t0 + 10000), 0);
	/* side by side: 100 waits of 40 ms take a little over 40 ms, one
	 * after the other 4 s */
	assert_true(sd_now_ms() - t0 < 2000);
	sd_jobgroup_close(g);
	assert_int_equal(ran, 100);
	assert_int_equal(dropped, 0);
}

static void limit_holds(void **state)
{
	(void)state;
	reset();
	sd_jobgroup *g = sd_jobgroup_new(3);
	/* jobs long enough that a loaded machine starts a second worker
	 * before the first job ends */
	for (int i = 0; i < 12; i++)
		sd_jobgroup_add(g, slow, drop, (void *)(intptr_t)50);
	assert_int_equal(sd_jobgroup_wait(g, sd_now_ms() + 10000), 0);
	sd_jobgroup_close(g);
	assert_int_equal(ran, 12);
	assert_true(most_running <= 3);
	assert_true(most_running >= 2);
}

static void deadline_first(void **state)
{
	(void)state;
	reset();
	sd_jobgroup *g = sd_jobgroup_new(2);
	for (int i = 0; i < 10; i++)
		sd_jobgroup_add(g, slow, drop, (void *)(intptr_t)3000);
	int64_t t0 = sd_now_ms();
	assert_int_equal(sd_jobgroup_wait(g, t0 + 200), 1);
	int64_t took = sd_now_ms() - t0;
	/* the deadline's 200 ms, not the running jobs' 3 s */
	assert_true(took >= 190 && took < 1500);
	sd_jobgroup_close(g);
	/* the two running finish on their own; the eight queued never run */
	assert_int_equal(dropped, 8);
	for (int i = 0; i < 600 && ran < 2; i++)
		sleep_ms(10);
	assert_int_equal(ran, 2);
	assert_int_equal(dropped, 8);
}

static void join_outlived(void **state)
{
	(void)state;
	reset();
	/* the jobs' memory is the caller's: join stays until they end, and
	 * says they outlived its deadline */
	sd_jobgroup *g = sd_jobgroup_new(0);
	/* jobs long enough to be running still when join is called (a
	 * stall here between adding them and the call would end them) */
	for (int i = 0; i < 3; i++)
		sd_jobgroup_add(g, slow, drop, (void *)(intptr_t)1500);
	int64_t t0 = sd_now_ms();
	assert_int_equal(sd_jobgroup_join(g, t0 + 100), 1);
	assert_true(sd_now_ms() - t0 >= 1490);
	assert_int_equal(ran, 3);
	assert_int_equal(now_running, 0);
	/* in time: 0 */
	g = sd_jobgroup_new(0);
	sd_jobgroup_add(g, slow, drop, (void *)(intptr_t)10);
	assert_int_equal(sd_jobgroup_join(g, sd_now_ms() + 2000), 0);
	assert_int_equal(ran, 4);
	/* no group (out of memory): the job runs on the caller's thread */
	assert_int_equal(sd_jobgroup_add(NULL, slow, drop,
	    (void *)(intptr_t)1), 0);
	assert_int_equal(ran, 5);
	assert_int_equal(sd_jobgroup_join(NULL, 0), 0);
}

struct nested {
	int inner_late;
};

static void outer(void *arg)
{
	struct nested *n = arg;
	sd_jobgroup *g = sd_jobgroup_new(0);
	for (int i = 0; i < 5; i++)
		sd_jobgroup_add(g, slow, drop, (void *)(intptr_t)5);
	n->inner_late = sd_jobgroup_wait(g, sd_now_ms() + 5000);
	sd_jobgroup_close(g);
}

static void groups_in_jobs(void **state)
{
	(void)state;
	reset();
	struct nested n[40] = { 0 };
	sd_jobgroup *g = sd_jobgroup_new(0);
	for (int i = 0; i < 40; i++)
		sd_jobgroup_add(g, outer, NULL, &n[i]);
	assert_int_equal(sd_jobgroup_wait(g, sd_now_ms() + 10000), 0);
	sd_jobgroup_close(g);
	for (int i = 0; i < 40; i++)
		assert_int_equal(n[i].inner_late, 0);
	assert_int_equal(ran, 200);
}

/* arg: milliseconds to take, unless the run is cancelled first; a nested
 * group of its own sees the same cancel */
static atomic_int saw_cancel, nested_late, sleeping;

/* arg: milliseconds to take, unless the run is cancelled first */
static void sleeper(void *arg)
{
	int64_t until = sd_now_ms() + (intptr_t)arg;
	sleeping++;
	while (sd_now_ms() < until && !sd_cancelled())
		sleep_ms(2);
	if (sd_cancelled())
		saw_cancel++;
}

static void heeding(void *arg)
{
	now_running++;
	sd_jobgroup *inner = sd_jobgroup_new(0);
	sd_jobgroup_add(inner, sleeper, drop, arg);
	sleeper(arg);
	/* the nested owner's wait ends at once (its scope is the run's),
	 * or its job has already seen the cancel and ended */
	int64_t t = sd_now_ms();
	sd_jobgroup_wait(inner, t + 5000);
	if (sd_now_ms() - t > 2500)    /* its 5 s deadline, or its job's */
		nested_late++;
	sd_jobgroup_close(inner);
	now_running--;
	ran++;
}

static void cancel_scope(void **state)
{
	(void)state;
	reset();
	saw_cancel = nested_late = sleeping = 0;
	sd_cancel *run = sd_cancel_new();
	sd_cancel *prev = sd_cancel_enter(run);
	sd_cancel *child = sd_cancel_new();
	sd_jobgroup *g = sd_jobgroup_new(2);
	sd_cancel_enter(prev);
	assert_false(sd_cancelled());
	for (int i = 0; i < 6; i++)
		sd_jobgroup_add(g, heeding, drop, (void *)(intptr_t)5000);
	/* two jobs running (the group's limit), each with its nested one */
	for (int i = 0; i < 500 && sleeping < 4; i++)
		sleep_ms(10);
	assert_int_equal(sleeping, 4);
	int64_t t0 = sd_now_ms();
	sd_cancel_fire(run);
	assert_true(sd_cancel_fired(child));
	/* the owner's wait ends at once, long before its deadline */
	assert_int_equal(sd_jobgroup_wait(g, sd_now_ms() + 10000), 1);
	assert_true(sd_now_ms() - t0 < 2500);   /* the jobs' 5 s: < 2.5 s */
	sd_jobgroup_close(g);
	/* the two running saw the cancel and end; the four queued are
	 * dropped (none starts after the cancel); the jobs of their nested
	 * groups, on other workers, see the cancel too */
	for (int i = 0; i < 300 && ran < 2; i++)
		sleep_ms(10);
	assert_int_equal(ran, 2);
	assert_int_equal(dropped, 4);
	assert_int_equal(nested_late, 0);
	assert_true(sd_now_ms() - t0 < 2500);
	for (int i = 0; i < 300 && (sd_jobs_orphans() || saw_cancel < 4); i++)
		sleep_ms(10);
	assert_int_equal(sd_jobs_orphans(), 0);
	assert_int_equal(saw_cancel, 4);
	sd_cancel_unref(child);
	sd_cancel_unref(run);
}

static void *fire_later(void *arg)
{
	sleep_ms(100);
	sd_cancel_fire(arg);
	return NULL;
}

/* An owner already asleep in its wait wakes when the run's scope (a
 * parent of its group's) is fired, though its one job, deaf to the cancel,
 * runs on for four seconds. */
static void cancel_wakes_owner(void **state)
{
	(void)state;
	reset();
	sd_cancel *run = sd_cancel_new();
	sd_cancel *prev = sd_cancel_enter(run);
	sd_cancel *child = sd_cancel_new();
	sd_cancel_enter(child);
	sd_jobgroup *g = sd_jobgroup_new(0);
	sd_cancel_enter(prev);
	assert_int_equal(sd_jobgroup_add(g, slow, drop,
	    (void *)(intptr_t)4000), 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, fire_later, run), 0);
	int64_t t0 = sd_now_ms();
	assert_int_equal(sd_jobgroup_wait(g, t0 + 10000), 1);
	/* woken by the fire at 100 ms, not by the job's end at 4 s */
	assert_true(sd_now_ms() - t0 < 2000);
	pthread_join(t, NULL);
	sd_jobgroup_close(g);
	for (int i = 0; i < 700 && sd_jobs_orphans(); i++)
		sleep_ms(10);
	assert_int_equal(sd_jobs_orphans(), 0);
	assert_int_equal(ran, 1);
	sd_cancel_unref(child);
	sd_cancel_unref(run);
}

/* arg: milliseconds to wait, told (sd_wait_begin) as a lookup tells it */
static void told_wait(void *arg)
{
	sd_wait_begin();
	slow(arg);
	sd_wait_end();
}

static void kept_to_cpus(void **state)
{
	(void)state;
	/* one CPU for this process (and the workers it starts from now on) */
	cpu_set_t was, one;
	assert_int_equal(sched_getaffinity(0, sizeof was, &was), 0);
	CPU_ZERO(&one);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &was)) {
			CPU_SET(c, &one);
			break;
		}
	assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);

	/* jobs that do not tell their waits run one at a time */
	reset();
	sd_jobgroup *g = sd_jobgroup_new(8);
	sd_jobgroup_keep_to_cpus(g);
	for (int i = 0; i < 6; i++)
		sd_jobgroup_add(g, slow, drop, (void *)(intptr_t)20);
	int64_t t0 = sd_now_ms();
	assert_int_equal(sd_jobgroup_wait(g, t0 + 10000), 0);
	assert_true(sd_now_ms() - t0 >= 6 * 20 - 5);
	sd_jobgroup_close(g);
	assert_int_equal(ran, 6);
	assert_int_equal(most_running, 1);

	/* jobs that tell them wait side by side, within the group's limit */
	reset();
	g = sd_jobgroup_new(5);
	sd_jobgroup_keep_to_cpus(g);
	for (int i = 0; i < 10; i++)
		sd_jobgroup_add(g, told_wait, drop, (void *)(intptr_t)400);
	t0 = sd_now_ms();
	assert_int_equal(sd_jobgroup_wait(g, t0 + 10000), 0);
	/* two rounds of five (0.8 s), not ten waits one after the other
	 * (4 s) */
	assert_true(sd_now_ms() - t0 < 2400);
	sd_jobgroup_close(g);
	assert_int_equal(ran, 10);
	assert_true(most_running <= 5);
	assert_true(most_running >= 3);
	assert_int_equal(sched_setaffinity(0, sizeof was, &was), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(all_run),
		cmocka_unit_test(limit_holds),
		cmocka_unit_test(deadline_first),
		cmocka_unit_test(groups_in_jobs),
		cmocka_unit_test(join_outlived),
		cmocka_unit_test(cancel_scope),
		cmocka_unit_test(cancel_wakes_owner),
		cmocka_unit_test(kept_to_cpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
