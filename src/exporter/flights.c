/*
 * Probes in flight.  Two scrapes of one target at once (two Prometheus
 * servers, a retry, a person with curl) get the answer of one probe: one
 * login, one set of connections.  And at most `slots` probes run at once,
 * so a burst of scrapes queues instead of opening thousands of sockets.
 *
 * A flight lives from the first scrape of its key until its probe ended
 * and the last scrape waiting on it took its copy of the answer; a scrape
 * that comes after the probe ended starts a new one (nothing is cached:
 * a scrape always sees a probe that began after it was asked for, or one
 * in flight when it was).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/exporter.h"
#include "util/util.h"

typedef struct flight {
	struct flight *next;
	char *key;
	int done;               /* the answer is in */
	int refs;               /* scrapes holding it, the runner included */
	sd_flight_answer answer;
} flight;

struct sd_flights {
	pthread_mutex_t lock;
	pthread_cond_t changed;   /* a flight ended or a slot came free */
	flight *list;             /* flights whose probe has not ended */
	unsigned slots, running, waiting;
	uint64_t probes, shared, late;
};

sd_flights *sd_flights_new(unsigned slots)
{
	sd_flights *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	/* deadlines are CLOCK_MONOTONIC (sd_now_ms) */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->changed, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&f->lock, NULL);
	f->slots = slots ? slots : 1;
	return f;
}

void sd_flights_free(sd_flights *f)
{
	if (!f)
		return;
	pthread_cond_destroy(&f->changed);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static void set_text(sd_flight_answer *a, int status, const char *text)
{
	a->status = status;
	a->body = strdup(text);
	a->len = a->body ? strlen(a->body) : 0;
}

static void copy_answer(const sd_flight_answer *from, sd_flight_answer *to)
{
	to->status = from->status;
	to->body = from->body ? malloc(from->len + 1) : NULL;
	to->len = to->body ? from->len : 0;
	if (to->body)
		memcpy(to->body, from->body, from->len + 1);
	else
		set_text(to, 500, "out of memory\n");
}

/* Drops one reference (under the lock); the last one frees. */
static void release(flight *fl)
{
	if (--fl->refs > 0)
		return;
	free(fl->answer.body);
	free(fl->key);
	free(fl);
}

static void unlink_flight(sd_flights *f, flight *fl)
{
	for (flight **pp = &f->list; *pp; pp = &(*pp)->next)
		if (*pp == fl) {
			*pp = fl->next;
			return;
		}
}

/* Waits (under the lock) until cond() or the deadline; 0 at the deadline. */
static int wait_until(sd_flights *f, int64_t deadline_ms)
{
	struct timespec ts;
	sd_deadline_timespec(deadline_ms, &ts);
	return pthread_cond_timedwait(&f->changed, &f->lock, &ts) == 0 ||
	    sd_now_ms() < deadline_ms;
}

static void join(sd_flights *f, flight *fl, int64_t until_ms,
    sd_flight_answer *out)
{
	fl->refs++;
	f->shared++;
	while (!fl->done && wait_until(f, until_ms))
		;
	if (fl->done) {
		copy_answer(&fl->answer, out);
	} else {
		f->late++;
		set_text(out, 503, "the probe of this target that another "
		    "scrape started did not end within this scrape's deadline\n");
	}
	release(fl);
}

/* The runner's part: a slot, the probe, the answer for every sharer. */
static void run(sd_flights *f, flight *fl, int64_t deadline_ms,
    sd_flight_fn fn, void *arg, sd_flight_answer *out)
{
	f->waiting++;
	while (f->running >= f->slots && wait_until(f, deadline_ms))
		;
	f->waiting--;
	if (f->running >= f->slots) {
		f->late++;
		set_text(&fl->answer, 503, "every probe slot (--concurrency) "
		    "stayed busy until this scrape's deadline\n");
	} else {
		f->running++;
		f->probes++;
		pthread_mutex_unlock(&f->lock);
		sd_flight_answer a = { 0, NULL, 0 };
		fn(arg, deadline_ms, &a);
		pthread_mutex_lock(&f->lock);
		f->running--;
		fl->answer = a;
		if (!a.body)
			set_text(&fl->answer, 500, "out of memory\n");
	}
	fl->done = 1;
	unlink_flight(f, fl);
	pthread_cond_broadcast(&f->changed);
	copy_answer(&fl->answer, out);
	release(fl);
}

void sd_flights_run(sd_flights *f, const char *key, int64_t deadline_ms,
    int64_t grace_ms, sd_flight_fn fn, void *arg, sd_flight_answer *out,
    int *shared)
{
	*shared = 0;
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&f->lock);
	flight *fl = f->list;
	while (fl && strcmp(fl->key, key) != 0)
		fl = fl->next;
	if (fl) {
		*shared = 1;
		join(f, fl, deadline_ms + grace_ms, out);
		pthread_mutex_unlock(&f->lock);
		return;
	}
	fl = calloc(1, sizeof *fl);
	if (fl && !(fl->key = strdup(key))) {
		free(fl);
		fl = NULL;
	}
	if (!fl) {
		pthread_mutex_unlock(&f->lock);
		set_text(out, 500, "out of memory\n");
		return;
	}
	fl->refs = 1;
	fl->next = f->list;
	f->list = fl;
	run(f, fl, deadline_ms, fn, arg, out);
	pthread_mutex_unlock(&f->lock);
}

void sd_flights_stats(sd_flights *f, sd_flight_stats *s)
{
	pthread_mutex_lock(&f->lock);
	s->probes = f->probes;
	s->shared = f->shared;
	s->late = f->late;
	s->running = f->running;
	s->waiting = f->waiting;
	s->slots = f->slots;
	pthread_mutex_unlock(&f->lock);
}
