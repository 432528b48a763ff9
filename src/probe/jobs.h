/*
 * The probe engine's one job model: probes are jobs, the jobs of one run
 * (a check, a domain, a batch's lines) form a group, and a pool of worker
 * threads shared by the whole process runs them.
 *
 * Probes wait on the network, not the CPU, so the pool starts a thread
 * whenever jobs wait and no thread is free, up to SD_JOBS_THREADS_MAX, and
 * a thread idle for SD_JOBS_IDLE_MS leaves.  Threads are reused from one
 * run to the next: a batch of a hundred thousand domains starts a few
 * hundred threads, not millions.
 *
 * Every wait has a deadline.  A group's owner waits with
 * sd_jobgroup_wait(); when every worker of the pool is busy it runs its own
 * group's queued jobs itself, so a job may run a group of its own (a batch
 * line runs a domain probe) and never waits for a thread that cannot come.  When the deadline comes
 * first, the owner closes the group: jobs not started are dropped (their
 * `drop` runs instead), jobs running finish on their own deadlines.
 *
 * Groups are served oldest first: the lines of a batch that started first
 * finish first, so the batch writes its lines in order without holding
 * many finished ones.
 *
 * A group works for the cancel scope (util.h) of the thread that made it,
 * and its jobs run under that scope on whichever thread runs them, so
 * their groups, lookups and connections see the same flag.  When the
 * scope is fired, the owner's wait ends at once (as at its deadline),
 * jobs not yet started that have a `drop` are dropped, and the waits of
 * jobs running end at their next look at the flag.  Jobs still running
 * after their owner has left are counted (sd_jobs_orphans).
 */
#ifndef SD_PROBE_JOBS_H
#define SD_PROBE_JOBS_H

#include <stddef.h>
#include <stdint.h>

/* Worker threads the process's pool starts at most. */
#define SD_JOBS_THREADS_MAX 512
/* A worker idle this long leaves. */
#define SD_JOBS_IDLE_MS 2000
/* Jobs end by their own deadlines; sd_jobgroup_join's callers give them
 * this much more before calling them late. */
#define SD_JOBS_JOIN_GRACE_MS 1000

typedef struct sd_jobgroup sd_jobgroup;
typedef void (*sd_job_fn)(void *arg);

/*
 * A new group of jobs on the process's pool, at most max_running of them
 * running at once (0: as many as the pool has threads); NULL when out of
 * memory.
 */
sd_jobgroup *sd_jobgroup_new(size_t max_running);

/*
 * For a group whose jobs use the CPU but where they say they wait
 * (sd_wait_begin(), util.h; the stub resolver's questions do): at most as
 * many of them run outside such a wait as the process may use CPUs, the
 * others wait their turn in the queue, within the group's own limit.  A
 * batch of lines answered from the cache then runs on a thread a CPU, not
 * on dozens that take the CPUs from each other; lines that wait for
 * answers still wait side by side.  Only for jobs that wait nowhere else
 * (a wait not told holds its CPU's turn).  Call it before the first add.
 */
void sd_jobgroup_keep_to_cpus(sd_jobgroup *g);

/*
 * Queues run(arg) in group g.  When the group is closed, or memory runs
 * out, drop(arg) runs at once instead (drop may be NULL) and -1 is
 * returned.  Each job gets exactly one of run and drop.  With g NULL (a
 * group that could not be made), run(arg) runs at once on this thread.
 */
int sd_jobgroup_add(sd_jobgroup *g, sd_job_fn run, sd_job_fn drop,
    void *arg);

/*
 * Waits until every job of g has run (0), or until deadline_ms (monotonic
 * milliseconds, sd_now_ms()) passes or g's cancel scope is fired (1).  Runs g's queued jobs on the
 * calling thread while every worker of the pool is busy.
 */
int sd_jobgroup_wait(sd_jobgroup *g, int64_t deadline_ms);


/*
 * For jobs whose memory is the caller's (on its stack, say): waits for
 * every job of g, then closes g.  Each job ends by its own deadline, so
 * the wait ends soon after deadline_ms; returns 1 when the jobs outlived
 * it.  g may be NULL (nothing to wait for).
 */
int sd_jobgroup_join(sd_jobgroup *g, int64_t deadline_ms);

/* Jobs running now whose group's owner has left (closed it at its
 * deadline): the work a run left behind, each piece ending by its own
 * deadline. */
size_t sd_jobs_orphans(void);

/*
 * Ends the owner's use of g: queued jobs are dropped, running ones finish
 * and the group's memory goes with the last of them.  g is not to be used
 * afterwards.
 */
void sd_jobgroup_close(sd_jobgroup *g);

#endif
