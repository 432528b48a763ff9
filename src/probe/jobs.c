/*
 * The process's pool of probe workers (see jobs.h).
 *
 * One mutex guards the pool and every group: jobs last milliseconds to
 * seconds (they wait on the network), so the lock is never the bottleneck,
 * and one lock keeps the rules simple.  Each group keeps its own queue; the
 * groups with queued jobs form the ready list, oldest group first.
 *
 * An owner waiting for its group sleeps until a job ends, its deadline
 * comes, or its cancel scope is fired: it watches the scope (util.h), and
 * a fire wakes the watching owners.  (It used to look at the scope every
 * 20 ms: a batch's 128 domains waking 50 times a second each, a third of
 * the process's context switches.)
 */
#include "probe/jobs.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "util/util.h"

/* Worker stack: OpenSSL, libcurl and the SPF evaluator need more than a
 * few pages; only the pages touched cost memory. */
#define JOBS_STACK (1024 * 1024)
typedef struct job {
	sd_job_fn run, drop;
	void *arg;
	struct job *next;
} job;

struct sd_jobgroup {
	unsigned long seq;        /* creation order: older groups first */
	job *head, *tail;         /* queued */
	size_t queued, running;
	size_t max_running;       /* 0: no limit of its own */
	size_t cpus;              /* 0, or running outside a wait at most */
	size_t waiting;           /* running jobs inside a wait (cpus only) */
	int closed;               /* the owner has left */
	int ready;                /* on the pool's ready list */
	sd_cancel *scope;         /* the run the group works for (its owner's) */
	pthread_cond_t idle;      /* queued and running reached 0 */
	sd_jobgroup *next_ready;
	/* on the watching list: its owner waits on its scope */
	sd_jobgroup *next_watching, *prev_watching;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;      /* a job was queued */
	sd_jobgroup *ready;       /* groups with queued jobs, by seq */
	sd_jobgroup *watching;    /* groups whose owner waits on a scope */
	unsigned long seq;
	size_t threads, idle;     /* started, and waiting for work */
	size_t queued;            /* jobs queued in all groups */
	size_t orphans;           /* jobs running whose owner has left */
	int inited;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The group whose job this thread runs (for the waits it tells). */
static __thread sd_jobgroup *running_group;

/* A cancel scope was fired: every owner watching one looks at its own. */
static void wake_watching(void)
{
	pthread_mutex_lock(&pool.lock);
	for (sd_jobgroup *g = pool.watching; g; g = g->next_watching)
		pthread_cond_broadcast(&g->idle);
	pthread_mutex_unlock(&pool.lock);
}

/* Under the lock: the pool's condition variable, made once. */
static void pool_init_locked(void)
{
	if (pool.inited)
		return;
	sd_cond_init_monotonic(&pool.work);
	sd_cancel_on_fire(wake_watching);
	pool.inited = 1;
}

/* Under the lock: g's owner starts (on 1) or stops watching g's scope. */
static void watch_locked(sd_jobgroup *g, int on)
{
	sd_cancel_watch(g->scope, on ? 1 : -1);
	if (on) {
		g->prev_watching = NULL;
		g->next_watching = pool.watching;
		if (pool.watching)
			pool.watching->prev_watching = g;
		pool.watching = g;
		return;
	}
	if (g->prev_watching)
		g->prev_watching->next_watching = g->next_watching;
	else
		pool.watching = g->next_watching;
	if (g->next_watching)
		g->next_watching->prev_watching = g->prev_watching;
	g->next_watching = g->prev_watching = NULL;
}

static int can_run(const sd_jobgroup *g)
{
	return g->head && (!g->max_running || g->running < g->max_running) &&
	    (!g->cpus || g->running - g->waiting < g->cpus);
}

static void ready_insert_locked(sd_jobgroup *g)
{
	if (g->ready)
		return;
	sd_jobgroup **p = &pool.ready;
	while (*p && (*p)->seq < g->seq)
		p = &(*p)->next_ready;
	g->next_ready = *p;
	*p = g;
	g->ready = 1;
}

static void ready_remove_locked(sd_jobgroup *g)
{
	if (!g->ready)
		return;
	sd_jobgroup **p = &pool.ready;
	while (*p && *p != g)
		p = &(*p)->next_ready;
	if (*p)
		*p = g->next_ready;
	g->ready = 0;
	g->next_ready = NULL;
}

/* Under the lock: takes g's first queued job and counts it running. */
static job *take_locked(sd_jobgroup *g)
{
	job *j = g->head;
	g->head = j->next;
	if (!g->head) {
		g->tail = NULL;
		ready_remove_locked(g);
	}
	g->queued--;
	pool.queued--;
	g->running++;
	return j;
}

static void group_free(sd_jobgroup *g)
{
	pthread_cond_destroy(&g->idle);
	sd_cancel_unref(g->scope);
	free(g);
}

static void job_waits(int waiting);
static sd_jobgroup *next_group_locked(void);

/* Runs j (taken from g) without the lock, under g's cancel scope; returns
 * with the lock held.  A job of a cancelled run that can be dropped is
 * dropped: its owner has stopped waiting for it.  `worker`: the caller
 * looks for the next job itself afterwards. */
static void run_locked(sd_jobgroup *g, job *j, int worker)
{
	pthread_mutex_unlock(&pool.lock);
	sd_cancel *prev = sd_cancel_enter(g->scope);
	sd_jobgroup *prev_g = running_group;
	sd_wait_fn prev_w = sd_wait_listen(g->cpus ? job_waits : NULL);
	running_group = g;
	if (j->drop && sd_cancel_fired(g->scope))
		j->drop(j->arg);
	else
		j->run(j->arg);
	running_group = prev_g;
	sd_wait_listen(prev_w);
	sd_cancel_enter(prev);
	free(j);
	pthread_mutex_lock(&pool.lock);
	g->running--;
	if (g->closed)
		pool.orphans--;
	if (g->closed && !g->running && !g->queued) {
		group_free(g);
		return;
	}
	if (!g->running && !g->queued)
		pthread_cond_broadcast(&g->idle);
	/* a group at its limit may take its next job now: a worker that
	 * takes it next needs no other woken (a CPU's job ended, one starts) */
	if (can_run(g) && !(g->cpus && worker && next_group_locked() == g))
		pthread_cond_signal(&pool.work);
}

/* Under the lock: the oldest group with a job that may start. */
static sd_jobgroup *next_group_locked(void)
{
	for (sd_jobgroup *g = pool.ready; g; g = g->next_ready)
		if (can_run(g))
			return g;
	return NULL;
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		sd_jobgroup *g = next_group_locked();
		if (g) {
			run_locked(g, take_locked(g), 1);
			continue;
		}
		struct timespec ts;
		sd_deadline_timespec(sd_now_ms() + SD_JOBS_IDLE_MS, &ts);
		pool.idle++;
		int rc = pthread_cond_timedwait(&pool.work, &pool.lock, &ts);
		pool.idle--;
		if (rc != 0 && !next_group_locked())
			break;    /* idle too long: leave */
	}
	pool.threads--;
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

/* Under the lock: one more worker when jobs wait and no worker is free
 * (for g, a group kept to the CPUs: when g's next job may start). */
static void maybe_spawn_locked(const sd_jobgroup *g)
{
	size_t want = g->cpus ? (size_t)can_run(g) : pool.queued;
	if (pool.idle >= want || pool.threads >= SD_JOBS_THREADS_MAX)
		return;
	pthread_attr_t attr;
	pthread_t t;
	if (pthread_attr_init(&attr) != 0)
		return;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, JOBS_STACK);
	if (pthread_create(&t, &attr, worker, NULL) == 0)
		pool.threads++;
	pthread_attr_destroy(&attr);
}

/* A job of a group kept to the CPUs begins (1) or ends (0) a wait: while
 * it waits, another job of its group may use its CPU. */
static void job_waits(int waiting)
{
	sd_jobgroup *g = running_group;
	pthread_mutex_lock(&pool.lock);
	if (waiting)
		g->waiting++;
	else
		g->waiting--;
	if (waiting && can_run(g)) {
		maybe_spawn_locked(g);
		pthread_cond_signal(&pool.work);
	}
	pthread_mutex_unlock(&pool.lock);
}

/* The CPUs this process may run on. */
static size_t cpus_here(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return (size_t)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (size_t)n : 1;
}

void sd_jobgroup_keep_to_cpus(sd_jobgroup *g)
{
	if (!g)
		return;
	size_t n = cpus_here();
	pthread_mutex_lock(&pool.lock);
	g->cpus = n;
	pthread_mutex_unlock(&pool.lock);
}

sd_jobgroup *sd_jobgroup_new(size_t max_running)
{
	sd_jobgroup *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	sd_cond_init_monotonic(&g->idle);
	g->max_running = max_running;
	g->scope = sd_cancel_ref(sd_cancel_current());
	pthread_mutex_lock(&pool.lock);
	pool_init_locked();
	g->seq = pool.seq++;
	pthread_mutex_unlock(&pool.lock);
	return g;
}

int sd_jobgroup_add(sd_jobgroup *g, sd_job_fn run, sd_job_fn drop,
    void *arg)
{
	if (!g) {
		run(arg);
		return 0;
	}
	job *j = calloc(1, sizeof *j);
	pthread_mutex_lock(&pool.lock);
	if (!j || g->closed) {
		pthread_mutex_unlock(&pool.lock);
		free(j);
		if (drop)
			drop(arg);
		return -1;
	}
	j->run = run;
	j->drop = drop;
	j->arg = arg;
	if (g->tail)
		g->tail->next = j;
	else
		g->head = j;
	g->tail = j;
	g->queued++;
	pool.queued++;
	ready_insert_locked(g);
	maybe_spawn_locked(g);
	if (can_run(g))
		pthread_cond_signal(&pool.work);
	pthread_mutex_unlock(&pool.lock);
	return 0;
}

/* Under the lock: sd_jobgroup_wait's loop; with `cancellable`, a fired
 * scope ends it as the deadline does. */
static int wait_locked(sd_jobgroup *g, int64_t deadline_ms, int cancellable)
{
	int late = 0;
	/* counted as a watcher before the flag is read (cancel.c) */
	int watch = cancellable && g->scope;
	if (watch)
		watch_locked(g, 1);
	while (g->queued || g->running) {
		if (sd_remaining_ms(deadline_ms) <= 0 ||
		    (cancellable && sd_cancel_fired(g->scope))) {
			late = 1;
			break;
		}
		if (can_run(g) && (!pool.threads ||
		    (pool.threads >= SD_JOBS_THREADS_MAX && !pool.idle))) {
			/* no worker could be started, or every worker is busy
			 * (with jobs that may be waiting for this very group):
			 * run one here.  Only then: a job run here could
			 * outlast the owner's deadline */
			run_locked(g, take_locked(g), 0);
			continue;
		}
		struct timespec ts;
		sd_deadline_timespec(deadline_ms, &ts);
		pthread_cond_timedwait(&g->idle, &pool.lock, &ts);
	}
	if (watch)
		watch_locked(g, 0);
	return late;
}

int sd_jobgroup_wait(sd_jobgroup *g, int64_t deadline_ms)
{
	pthread_mutex_lock(&pool.lock);
	int late = wait_locked(g, deadline_ms, 1);
	pthread_mutex_unlock(&pool.lock);
	return late;
}

int sd_jobgroup_join(sd_jobgroup *g, int64_t deadline_ms)
{
	if (!g)
		return 0;
	pthread_mutex_lock(&pool.lock);
	int late = wait_locked(g, deadline_ms, 1);
	/* the jobs' memory is the caller's: stay until the last has ended
	 * (a cancelled run's jobs end soon: their waits see the cancel) */
	while (late && wait_locked(g, sd_now_ms() + 1000, 0))
		;
	pthread_mutex_unlock(&pool.lock);
	sd_jobgroup_close(g);
	return late;
}

size_t sd_jobs_orphans(void)
{
	pthread_mutex_lock(&pool.lock);
	size_t n = pool.orphans;
	pthread_mutex_unlock(&pool.lock);
	return n;
}

void sd_jobgroup_close(sd_jobgroup *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&pool.lock);
	job *q = g->head;
	pool.queued -= g->queued;
	g->head = g->tail = NULL;
	g->queued = 0;
	ready_remove_locked(g);
	g->closed = 1;
	pool.orphans += g->running;
	int last = !g->running;
	pthread_mutex_unlock(&pool.lock);
	while (q) {
		job *n = q->next;
		if (q->drop)
			q->drop(q->arg);
		free(q);
		q = n;
	}
	if (last)
		group_free(g);
}
