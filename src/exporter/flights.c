/*
 * Probes in flight.  Two scrapes of one target at once (two Prometheus
 * servers, a retry, a person with curl) get the answer of one probe: one
 * login, one set of connections.  And at most `slots` probes run at once,
 * so a burst of scrapes queues instead of opening thousands of sockets.
 *
 * A probe runs on a thread of its own, not on a scrape's: each scrape
 * waits for the answer until its own deadline and is then answered with
 * what is known (the caller's "timed out" page), however late the probe
 * is.  A probe keeps its slot until it has really ended, so probes that
 * overran their deadline still count against the bound and never pile
 * up; once its last scrape has given up it is cancelled (its cancel scope
 * fired: its lookups fail at once, its connections and job groups stop
 * waiting) and its answer, made of cancelled work, is given to nobody.
 *
 * When the exporter itself lags (the machine short of CPU: its waits wake
 * late, its answers go out late), a scrape stops waiting earlier than its
 * deadline by the lag reserve (sd_lag_reserve_ms), so that its answer,
 * late by that lag, still comes by the deadline.  The waits sample the lag:
 * each wakes at least every SD_LAG_STEP_MS, and a timed wake that came
 * late says by how much.
 *
 * Once its wait has ended a scrape allocates nothing and frees nothing:
 * its answer borrows the flight's (held until sd_flights_release), and the
 * flights' own sentences are constants.  The allocator's locks are shared
 * with the probes' threads, and one of those (nice 10) held up while
 * holding one held the answers up past their deadline.
 *
 * A flight lives from the first scrape of its key until its probe ended
 * and the last scrape holding its answer released it; a scrape that comes after the
 * probe ended starts a new one (nothing is cached: a scrape always sees a
 * probe that began after it was asked for, or one in flight when it was).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "exporter/exporter.h"
#include "util/util.h"

typedef struct flight {
	struct flight *next;
	char *key;
	int done;               /* the answer is in (or there will be none) */
	int refs;               /* scrapes waiting, and the probe's thread */
	int waiters;            /* scrapes waiting */
	sd_flight_answer answer;
	int answer_static;      /* its body is one of the sentences below */
	sd_flights *f;
	/* the probe: run by its own thread, which frees arg */
	sd_flight_fn fn;
	void *arg;
	void (*arg_free)(void *arg);
	int64_t deadline_ms;    /* the probe's own */
	double deadline_s;      /* the same, as shown */
	int64_t landed_ms;      /* when the answer came in */
	double started_unix;    /* 0 until the probe took a slot */
	int overran;            /* a scrape was answered before its end */
	sd_cancel *scope;       /* the probe's: fired when nobody waits */
} flight;

struct sd_flights {
	pthread_mutex_t lock;
	pthread_cond_t changed;   /* a flight ended or a slot came free */
	flight *list;             /* flights whose probe has not ended */
	unsigned slots, running, waiting, overrunning;
	uint64_t probes, shared, late, timed_out, cancelled;
	int64_t offset_ms;        /* what the lag reserve leaves to the offset */
	sd_lag lag;
};

sd_flights *sd_flights_new(unsigned slots)
{
	sd_flights *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	/* deadlines are CLOCK_MONOTONIC (sd_now_ms) */
	sd_cond_init_monotonic(&f->changed);
	pthread_mutex_init(&f->lock, NULL);
	f->slots = slots ? slots : 1;
	f->offset_ms = SD_FLIGHT_OFFSET_MS;
	return f;
}

void sd_flights_set_offset(sd_flights *f, int64_t offset_ms)
{
	pthread_mutex_lock(&f->lock);
	f->offset_ms = offset_ms;
	pthread_mutex_unlock(&f->lock);
}

/* Under the lock: the lag reserve of a scrape of span_ms, now. */
static int64_t reserve(sd_flights *f, int64_t span_ms)
{
	return sd_lag_reserve_ms(sd_lag_recent(&f->lag, sd_now_ms()),
	    f->offset_ms, span_ms / 2);
}

int64_t sd_flights_reserve_ms(sd_flights *f, int64_t span_ms)
{
	pthread_mutex_lock(&f->lock);
	int64_t r = reserve(f, span_ms);
	pthread_mutex_unlock(&f->lock);
	return r;
}

void sd_flights_lag(sd_flights *f, int64_t lag_ms)
{
	pthread_mutex_lock(&f->lock);
	sd_lag_add(&f->lag, sd_now_ms(), lag_ms);
	pthread_mutex_unlock(&f->lock);
}

int sd_flights_free(sd_flights *f, int64_t deadline_ms)
{
	if (!f)
		return 0;
	pthread_mutex_lock(&f->lock);
	for (flight *fl = f->list; fl; fl = fl->next)
		sd_cancel_fire(fl->scope);
	struct timespec ts;
	sd_deadline_timespec(deadline_ms, &ts);
	while (f->running && pthread_cond_timedwait(&f->changed, &f->lock,
	    &ts) == 0)
		;
	int left = (int)f->running;
	pthread_mutex_unlock(&f->lock);
	/* a probe still running holds f: leave it to the process's end */
	if (left)
		return left;
	pthread_cond_destroy(&f->changed);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return 0;
}

static const char no_memory[] = "out of memory\n";
static const char no_slot[] = "every probe slot (--concurrency) stayed busy "
    "until this scrape's deadline\n";
static const char no_thread[] = "the probe could not be started\n";

/* One of the sentences above as an answer (never freed). */
static void set_text(sd_flight_answer *a, int status, const char *text)
{
	a->status = status;
	a->body = (char *)text;
	a->len = strlen(text);
}

/* Drops one reference (under the lock); 1 when it was the last, and the
 * caller then frees fl (outside the lock: nobody else can reach it). */
static int release(flight *fl)
{
	return --fl->refs == 0;
}

static void free_flight(flight *fl)
{
	if (!fl->answer_static)
		free(fl->answer.body);
	free(fl->key);
	sd_cancel_unref(fl->scope);
	free(fl);
}

void sd_flights_release(sd_flights *f, sd_flight_wait *w)
{
	flight *fl = w->held;
	if (!fl)
		return;
	w->held = NULL;
	pthread_mutex_lock(&f->lock);
	int last = release(fl);
	pthread_mutex_unlock(&f->lock);
	if (last)
		free_flight(fl);
}

static void unlink_flight(sd_flights *f, flight *fl)
{
	for (flight **pp = &f->list; *pp; pp = &(*pp)->next)
		if (*pp == fl) {
			*pp = fl->next;
			return;
		}
}

/* Under the lock: the flight has its answer (or will have none). */
static void land(sd_flights *f, flight *fl)
{
	fl->done = 1;
	fl->landed_ms = sd_now_ms();
	unlink_flight(f, fl);
	pthread_cond_broadcast(&f->changed);
}

/* The probe's thread: runs it under its scope, hands the answer over and
 * gives the slot back only now, however late. */
static void *probe_thread(void *arg)
{
	flight *fl = arg;
	sd_flights *f = fl->f;
	sd_flight_answer a = { 0, NULL, 0 };
	/* the nice value is the thread's own on Linux, and the pool's
	 * workers it starts inherit it: when CPU is short, the threads that
	 * answer scrapes go first, and the answers stay on time */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SD_FLIGHT_NICE);
	sd_cancel_enter(fl->scope);
	fl->fn(fl->arg, fl->deadline_ms, &a);
	sd_cancel_enter(NULL);
	if (fl->arg_free)
		fl->arg_free(fl->arg);
	/* nothing is allocated or freed under the lock here: this thread runs
	 * at nice 10, and one held up while holding the lock would hold up
	 * the scrapes waiting for it */
	pthread_mutex_lock(&f->lock);
	f->running--;
	if (fl->overran)
		f->overrunning--;
	if (!sd_cancel_fired(fl->scope)) {
		fl->answer = a;
		a.body = NULL;
		if (!fl->answer.body) {
			set_text(&fl->answer, 500, no_memory);
			fl->answer_static = 1;
		}
	}
	/* else cut short: what it says is the cut, not the target */
	land(f, fl);
	int last = release(fl);
	pthread_mutex_unlock(&f->lock);
	if (last)
		free_flight(fl);
	free(a.body);
	return NULL;
}

/* Waits (under the lock) for a change, until until_ms at most and
 * SD_LAG_STEP_MS at a time; a timed wake's lateness is a lag sample.  0
 * once until_ms has passed. */
static int wait_until(sd_flights *f, int64_t until_ms)
{
	int64_t called = sd_now_ms(), wake = called + SD_LAG_STEP_MS;
	if (wake > until_ms)
		wake = until_ms;
	struct timespec ts;
	sd_deadline_timespec(wake, &ts);
	int rc = pthread_cond_timedwait(&f->changed, &f->lock, &ts);
	int64_t now = sd_now_ms();
	if (rc == ETIMEDOUT && wake > called)
		sd_lag_add(&f->lag, now, now - wake);
	return now < until_ms;
}

/* One scrape's wait: asked at asked_ms, due by deadline_ms. */
typedef struct scrape {
	int64_t asked_ms, deadline_ms;
} scrape;

/* Under the lock: when the scrape stops waiting, its lag reserve taken
 * off its deadline (counted anew at each wake). */
static int64_t wait_end(sd_flights *f, const scrape *s)
{
	return s->deadline_ms - reserve(f, s->deadline_ms - s->asked_ms);
}

/* Under the lock: a slot by the scrape's deadline, and the probe's thread
 * started; 0 when neither (fl's answer then says why). */
static int start(sd_flights *f, flight *fl, const scrape *s)
{
	f->waiting++;
	while (f->running >= f->slots && wait_until(f, wait_end(f, s)))
		;
	f->waiting--;
	if (f->running >= f->slots) {
		f->late++;
		set_text(&fl->answer, 503, no_slot);
		fl->answer_static = 1;
		return 0;
	}
	pthread_attr_t attr;
	pthread_t t;
	int ok = pthread_attr_init(&attr) == 0;
	if (ok) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		fl->refs++;
		fl->started_unix = sd_wall_now();
		ok = pthread_create(&t, &attr, probe_thread, fl) == 0;
		pthread_attr_destroy(&attr);
		if (!ok) {
			fl->refs--;
			fl->started_unix = 0;
		}
	}
	if (!ok) {
		set_text(&fl->answer, 500, no_thread);
		fl->answer_static = 1;
		return 0;
	}
	f->running++;
	f->probes++;
	return 1;
}

/* Under the lock: one scrape's wait for fl's answer, by its deadline less
 * the lag reserve; the answer borrowed, fl held (w->held).  A probe none
 * of whose scrapes waits any more is cancelled. */
static void await(sd_flights *f, flight *fl, const scrape *s,
    sd_flight_answer *out, sd_flight_wait *w)
{
	int64_t end = wait_end(f, s);
	while (!fl->done && wait_until(f, end))
		end = wait_end(f, s);
	fl->waiters--;
	w->started_unix = fl->started_unix;
	w->deadline_s = fl->deadline_s;
	w->ended_ms = fl->done ? fl->landed_ms : end;
	w->held = fl;
	if (fl->done && fl->answer.body) {
		*out = fl->answer;
	} else {
		w->timed_out = 1;
		f->timed_out++;
		if (!fl->done && !fl->overran) {
			fl->overran = 1;
			f->overrunning++;
		}
		/* the last scrape that could take its answer has gone */
		if (!fl->done && !fl->waiters && !sd_cancel_fired(fl->scope)) {
			sd_cancel_fire(fl->scope);
			f->cancelled++;
		}
	}
}

/* Under the lock: a new flight for key, on the list; NULL when out of
 * memory. */
static flight *new_flight(sd_flights *f, const char *key,
    const sd_flight_probe *p)
{
	flight *fl = calloc(1, sizeof *fl);
	sd_cancel *prev = sd_cancel_enter(NULL);
	if (fl) {
		fl->key = strdup(key);
		fl->scope = sd_cancel_new();
	}
	sd_cancel_enter(prev);
	if (fl && (!fl->key || !fl->scope)) {
		free(fl->key);
		sd_cancel_unref(fl->scope);
		free(fl);
		fl = NULL;
	}
	if (!fl)
		return NULL;
	fl->refs = 1;
	fl->waiters = 1;
	fl->f = f;
	fl->fn = p->fn;
	fl->arg = p->arg;
	fl->arg_free = p->arg_free;
	fl->deadline_ms = p->deadline_ms;
	fl->deadline_s = p->deadline_s;
	fl->next = f->list;
	f->list = fl;
	return fl;
}

void sd_flights_run(sd_flights *f, const char *key, int64_t deadline_ms,
    const sd_flight_probe *p, sd_flight_answer *out, sd_flight_wait *w)
{
	memset(w, 0, sizeof *w);
	memset(out, 0, sizeof *out);
	scrape s = { sd_now_ms(), deadline_ms };
	pthread_mutex_lock(&f->lock);
	flight *fl = f->list;
	while (fl && strcmp(fl->key, key) != 0)
		fl = fl->next;
	if (fl) {
		/* its probe is another scrape's: this one's arg is not needed */
		if (p->arg_free)
			p->arg_free(p->arg);
		w->shared = 1;
		f->shared++;
		fl->refs++;
		fl->waiters++;
		await(f, fl, &s, out, w);
		pthread_mutex_unlock(&f->lock);
		return;
	}
	fl = new_flight(f, key, p);
	if (!fl) {
		pthread_mutex_unlock(&f->lock);
		if (p->arg_free)
			p->arg_free(p->arg);
		set_text(out, 500, no_memory);
		return;
	}
	if (!start(f, fl, &s)) {
		if (p->arg_free)
			p->arg_free(p->arg);
		land(f, fl);
		w->ended_ms = fl->landed_ms;
		*out = fl->answer;
		w->held = fl;
		pthread_mutex_unlock(&f->lock);
		return;
	}
	await(f, fl, &s, out, w);
	pthread_mutex_unlock(&f->lock);
}

void sd_flights_stats(sd_flights *f, sd_flight_stats *s)
{
	pthread_mutex_lock(&f->lock);
	s->probes = f->probes;
	s->shared = f->shared;
	s->late = f->late;
	s->timed_out = f->timed_out;
	s->cancelled = f->cancelled;
	s->running = f->running;
	s->overrunning = f->overrunning;
	s->waiting = f->waiting;
	s->slots = f->slots;
	s->lag_ms = sd_lag_recent(&f->lag, sd_now_ms());
	s->reserve_ms = sd_lag_reserve_ms(s->lag_ms, f->offset_ms, INT64_MAX);
	pthread_mutex_unlock(&f->lock);
}
