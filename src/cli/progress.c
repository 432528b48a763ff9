/*
 * Progress on stderr while a run waits: on a terminal, one line that says
 * what is being waited for ("waiting for 192.0.2.10:587 (connect, 3.1 s
 * of 5)"), redrawn a few times a second and cleared before the report;
 * with -v, each stage's result as it ends.  Never on a pipe (the line
 * would be noise in a log), with -q, or with JSON output.
 *
 * The library only calls the hook (from its probing threads); all the
 * drawing is here.
 */
#include "cli/progress.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/util.h"

/* Probes waiting at once: the configured path, the other ports of each
 * address, the controls; more are counted but not kept. */
#define MAX_WAITS 96
/* How often the line is redrawn. */
#define TICK_MS 150

typedef struct wait_entry {
	char target[80];
	char what[24];
	int main_path;
	double limit_s;
	int64_t since;
} wait_entry;

struct sd_cli_progress {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t ticker;
	int ticking;        /* the ticker thread runs */
	int stop;
	int line;           /* draw the waiting line (stderr is a terminal) */
	int steps;          /* print each stage as it ends (-v) */
	int drawn;          /* a line is on the screen: clear it first */
	wait_entry waits[MAX_WAITS];
	size_t n_waits;
};

static void clear_line(sd_cli_progress *p)
{
	if (p->drawn) {
		fputs("\r\033[K", stderr);
		p->drawn = 0;
	}
}

static int columns(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		return ws.ws_col;
	return 80;
}

/* The wait to show: the configured path's first, then the oldest. */
static const wait_entry *pick(const sd_cli_progress *p)
{
	const wait_entry *best = NULL;
	for (size_t i = 0; i < p->n_waits; i++) {
		const wait_entry *w = &p->waits[i];
		if (!best || (w->main_path && !best->main_path) ||
		    (w->main_path == best->main_path && w->since < best->since))
			best = w;
	}
	return best;
}

static void draw(sd_cli_progress *p)
{
	const wait_entry *w = pick(p);
	clear_line(p);
	if (!w)
		return;
	char line[400];
	double took = (double)(sd_now_ms() - w->since) / 1000.0;
	int whole = w->limit_s == (double)(long)w->limit_s;
	int n = snprintf(line, sizeof line, "waiting for %s (%s, %.1f s of "
	    "%.*f)", w->target, w->what, took, whole ? 0 : 1, w->limit_s);
	if (p->n_waits > 1 && n > 0 && (size_t)n < sizeof line)
		snprintf(line + n, sizeof line - (size_t)n, "; %zu more "
		    "probe%s running", p->n_waits - 1,
		    p->n_waits == 2 ? "" : "s");
	/* one screen line, or \r no longer returns to its start */
	size_t max = (size_t)columns() - 1;
	if (strlen(line) > max)
		line[max] = '\0';
	fputs(line, stderr);
	fflush(stderr);
	p->drawn = 1;
}

static void *tick(void *arg)
{
	sd_cli_progress *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		draw(p);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->wake, &p->lock, &ts);
	}
	clear_line(p);
	fflush(stderr);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static wait_entry *find(sd_cli_progress *p, const char *target)
{
	for (size_t i = 0; i < p->n_waits; i++)
		if (strcmp(p->waits[i].target, target) == 0)
			return &p->waits[i];
	return NULL;
}

static void on_wait(sd_cli_progress *p, const sd_progress *ev)
{
	wait_entry *w = find(p, ev->target);
	if (ev->kind == SD_PROGRESS_DONE) {
		if (w)
			*w = p->waits[--p->n_waits];
		return;
	}
	if (!w) {
		if (p->n_waits == MAX_WAITS)
			return;
		w = &p->waits[p->n_waits++];
		snprintf(w->target, sizeof w->target, "%s", ev->target);
	}
	snprintf(w->what, sizeof w->what, "%s", ev->what);
	w->main_path = ev->main_path;
	w->limit_s = ev->limit_s;
	w->since = sd_now_ms();
}

/* -v: one line per stage as it ends; the detail may quote a peer */
static void on_step(sd_cli_progress *p, const sd_progress *ev)
{
	char *clean = sd_sanitize(ev->detail, strlen(ev->detail), 600);
	if (!clean)
		return;
	clear_line(p);
	fprintf(stderr, "  %s %s\n", ev->ok == 1 ? "ok" : ev->ok == 0 ?
	    "!!" : "- ", clean);
	free(clean);
}

static void hook(void *arg, const sd_progress *ev)
{
	sd_cli_progress *p = arg;
	if (!ev || (ev->kind != SD_PROGRESS_STEP && !ev->target))
		return;
	pthread_mutex_lock(&p->lock);
	if (ev->kind == SD_PROGRESS_STEP) {
		if (p->steps && ev->detail)
			on_step(p, ev);
	} else {
		on_wait(p, ev);
	}
	pthread_mutex_unlock(&p->lock);
}

sd_cli_progress *sd_cli_progress_start(sd_options *opt, int json)
{
	int line = !json && opt->verbose >= 0 && isatty(STDERR_FILENO);
	int steps = !json && opt->verbose > 0;
	if (!line && !steps)
		return NULL;
	sd_cli_progress *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	p->line = line;
	p->steps = steps;
	if (line)
		p->ticking = pthread_create(&p->ticker, NULL, tick, p) == 0;
	opt->progress = hook;
	opt->progress_arg = p;
	return p;
}

void sd_cli_progress_stop(sd_cli_progress *p, sd_options *opt)
{
	if (!p)
		return;
	opt->progress = NULL;
	opt->progress_arg = NULL;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	if (p->ticking)
		pthread_join(p->ticker, NULL);
	/* probes abandoned at the deadline may still call the hook: it
	 * stays valid (and silent) until the process ends */
	pthread_mutex_lock(&p->lock);
	p->steps = 0;
	p->n_waits = 0;
	pthread_mutex_unlock(&p->lock);
}
