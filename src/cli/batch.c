/* The batch driver (see batch.h). */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/batch.h"
#include "probe/jobs.h"
#include "report/arena.h"
#include "report/report.h"
#include "util/util.h"

/* Lines held at once per worker: enough that a slow line does not idle
 * the other workers while its successors wait to be written. */
#define WINDOW_PER_WORKER 4
/* How often the progress line on a terminal is redrawn, and the longest
 * a written line stays in the output's buffer while others run. */
#define PROGRESS_EVERY_MS 250
/* The output's buffer (not a terminal): many lines a write.  The C
 * library takes the size only with the memory (with NULL it keeps its
 * own, a page for a pipe); the stream may outlive the batch (exit
 * flushes it), so the memory is static. */
static char out_buffer[64 * 1024];
/* No bound of the batch's own on a line's text (as json_dumps has none):
 * the report's text budget bounds what a document holds. */
#define LINE_TEXT_MAX ((size_t)1 << 30)

typedef struct batch batch;

typedef struct slot {
	batch *b;
	unsigned long number;   /* 0-based line number in the input */
	char *text;             /* the line as read (malloc'd) */
	int too_long;           /* the line was cut at SD_BATCH_LINE_MAX */
	char *out;              /* the line's JSON text, once done */
	int done;
} slot;

struct batch {
	const sd_cli *cli;
	sd_batch_fn fn;
	sd_resolver *res;
	FILE *out;
	slot *slots;
	size_t window;
	sd_jobgroup *lines;     /* a job a line, --concurrency at once */
	/* sequence numbers of kept lines: [head, tail) not yet written */
	unsigned long head, tail;
	unsigned long running;
	unsigned how;           /* SD_BATCH_* */
	int writing;            /* a thread is writing the lines at the head */
	int flush_each;         /* the input may keep the reader waiting */
	int64_t flushed_at;     /* the output's buffer last emptied */
	int feeder_waits;       /* the reader waits for free slots */
	int failed;             /* a line could not be rendered */
	int abandoned;          /* a line's checks outlived its deadline */
	unsigned long written;
	int progress;           /* draw a progress line on stderr */
	int64_t t0, drawn_at;
	pthread_mutex_t lock;
	pthread_cond_t space;   /* a slot was freed (CLOCK_MONOTONIC) */
};

int sd_cli_shard_parse(const char *s, unsigned *i, unsigned *n)
{
	char *end;
	errno = 0;
	unsigned long a = strtoul(s, &end, 10);
	if (end == s || *end != '/' || s[0] == '-' || errno)
		return 0;
	const char *t = end + 1;
	unsigned long b = strtoul(t, &end, 10);
	if (end == t || *end || t[0] == '-' || errno || b == 0 || a >= b ||
	    b > 1000000)
		return 0;
	*i = (unsigned)a;
	*n = (unsigned)b;
	return 1;
}

int sd_cli_batch_options(const sd_cli *cli)
{
	if (!cli->batch && (cli->concurrency || cli->shard))
		return sd_cli_usage_error(cli, "--%s works with --batch only",
		    cli->shard ? "shard" : "concurrency");
	return -1;
}

/* "input": the line's number and its text, escaped (it may be any bytes). */
static json_t *input_object(const slot *s)
{
	char *t = sd_sanitize(s->text, strlen(s->text), SD_BATCH_LINE_MAX);
	json_t *o = json_object();
	/* a member a call (json_pack would read a format for each line) */
	json_object_set_new(o, "line", json_integer((json_int_t)s->number));
	json_object_set_new(o, "text", json_string(t ? t : ""));
	free(t);
	return o;
}

/* jansson hands the text over in pieces, most a few bytes long (a quote,
 * a colon, a key): those are copied here, without a call */
static int put_text(const char *p, size_t n, void *arg)
{
	sd_buf *t = arg;
	if (n < t->cap - t->len) {
		char *o = t->buf + t->len;
		if (n <= 8)
			for (size_t i = 0; i < n; i++)
				o[i] = p[i];
		else
			memcpy(o, p, n);
		t->len += n;
		o[n] = '\0';
		return 0;
	}
	sd_buf_put(t, p, n, LINE_TEXT_MAX);
	return t->failed ? -1 : 0;
}

/* doc as one line of JSON, written by jansson (json_dumps' text) into one
 * buffer sized for a line at once, rather than grown from 16 bytes and
 * copied; doc is released (in an arena, with it).  NULL when out of
 * memory. */
static char *line_text(json_t *doc)
{
	sd_buf t = { 0 };
	int rc = doc ? json_dump_callback(doc, put_text, &t, JSON_COMPACT |
	    JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : -1;
	if (!sd_json_arena_active())
		json_decref(doc);
	if (rc != 0 || t.failed || !t.buf) {
		free(t.buf);
		return NULL;
	}
	return t.buf;
}

static char *error_line(const slot *s, const char *msg)
{
	return line_text(json_pack("{s:s, s:o, s:{s:s, s:s}}", "schema",
	    SD_SCHEMA, "input", input_object(s), "error", "code", "usage",
	    "message", msg));
}

/* Runs one line and renders it as one line of JSON. */
static char *evaluate(batch *b, slot *s)
{
	char err[512] = "";
	if (s->too_long) {
		snprintf(err, sizeof err, "the line is longer than %d bytes",
		    SD_BATCH_LINE_MAX);
		return error_line(s, err);
	}
	char *work = strdup(s->text);
	sd_report *r = work ? b->fn(b->cli, b->res, work, err, sizeof err) :
	    NULL;
	free(work);
	if (!r)
		return error_line(s, err[0] ? err : "out of memory");
	json_t *doc = sd_report_json_doc(r);
	if (sd_fact_get(r->facts, "domain.deadline")) {
		pthread_mutex_lock(&b->lock);
		b->abandoned = 1;
		pthread_mutex_unlock(&b->lock);
	}
	sd_report_free(r);
	if (!doc)
		return NULL;
	json_object_set_new(doc, "input", input_object(s));
	return line_text(doc);
}

/* A line's JSON values in an arena of its thread when they stay there
 * (SD_BATCH_ONE_THREAD): the hundreds of them are gone at once with it. */
static char *run_line(batch *b, slot *s)
{
	if (!(b->how & SD_BATCH_ONE_THREAD))
		return evaluate(b, s);
	sd_json_arena a = { 0 };
	sd_json_arena_enter(&a);
	char *out = evaluate(b, s);
	sd_json_arena_leave(&a);
	return out;
}

static void draw_progress(batch *b, int last)
{
	int64_t now = sd_now_ms();
	if (!b->progress || (!last && now - b->drawn_at < PROGRESS_EVERY_MS))
		return;
	b->drawn_at = now;
	double secs = (double)(now - b->t0) / 1000.0;
	if (last)
		fputs("\r\033[K", stderr);
	else
		fprintf(stderr, "\r\033[Ksmtpdoctor: %lu lines done, %lu "
		    "running, %.0f a second", b->written, b->running,
		    secs > 0 ? (double)b->written / secs : 0.0);
	fflush(stderr);
}

/* Under the lock: is it time to empty the output's buffer?  After every
 * line when the reader may wait for input, else when no line is left
 * running and a quarter second after the last time, so that no written
 * line waits in the buffer longer. */
static int flush_due(batch *b)
{
	int64_t now = sd_now_ms();
	if (!b->flush_each && b->head < b->tail &&
	    now - b->flushed_at < PROGRESS_EVERY_MS)
		return 0;
	b->flushed_at = now;
	return 1;
}

/* Under the lock, from the reader's wakeups (four a second at least while
 * lines run): what the output's buffer holds leaves now, unless a writer
 * is at work (it flushes when it is done, if it is time). */
static void flush_now(batch *b)
{
	if (b->writing)
		return;
	b->flushed_at = sd_now_ms();
	fflush(b->out);
}

/* Under the lock: is the line at the head finished? */
static int head_done(const batch *b)
{
	return b->head < b->tail && b->slots[b->head % b->window].done;
}

/*
 * Under the lock: writes the finished lines at the head, in order.  One
 * thread writes at a time, without the lock, so the threads finishing
 * other lines do not wait for the output; a line finished meanwhile is
 * written by that thread before it leaves.
 */
static void write_ready(batch *b)
{
	if (b->writing)
		return;
	b->writing = 1;
	while (head_done(b)) {
		slot *s = &b->slots[b->head % b->window];
		char *out = s->out;
		if (!out)
			b->failed = 1;
		free(s->text);
		memset(s, 0, sizeof *s);
		b->head++;
		b->written++;
		pthread_mutex_unlock(&b->lock);
		if (out) {
			fputs(out, b->out);
			putc('\n', b->out);
			free(out);
		}
		pthread_mutex_lock(&b->lock);
		if (head_done(b) || !flush_due(b))
			continue;
		pthread_mutex_unlock(&b->lock);
		fflush(b->out);
		/* a line finished meanwhile is this thread's to write */
		pthread_mutex_lock(&b->lock);
	}
	b->writing = 0;
	draw_progress(b, 0);
	/* the reader refills a quarter of the window at a time */
	if (b->feeder_waits && b->window - (b->tail - b->head) >=
	    (b->window + 3) / 4)
		pthread_cond_signal(&b->space);
}

/* A line's job: its report, rendered, then what is ready is written. */
static void line_run(void *arg)
{
	slot *s = arg;
	batch *b = s->b;
	pthread_mutex_lock(&b->lock);
	b->running++;
	pthread_mutex_unlock(&b->lock);
	char *out = run_line(b, s);
	pthread_mutex_lock(&b->lock);
	b->running--;
	s->out = out;
	s->done = 1;
	write_ready(b);
	pthread_mutex_unlock(&b->lock);
}

/* A line that could not be queued: written as failed, in its turn. */
static void line_drop(void *arg)
{
	slot *s = arg;
	pthread_mutex_lock(&s->b->lock);
	s->done = 1;
	write_ready(s->b);
	pthread_mutex_unlock(&s->b->lock);
}

/*
 * Reads one line into buf (at most SD_BATCH_LINE_MAX bytes kept; the rest
 * of a longer line is read and dropped, *too_long set).  Returns 0 at the
 * end of the input, -1 on a read error.
 */
static int read_line(FILE *in, char *buf, int *too_long)
{
	*too_long = 0;
	if (!fgets(buf, SD_BATCH_LINE_MAX + 2, in))
		return ferror(in) ? -1 : 0;
	size_t n = strlen(buf);
	if (n && buf[n - 1] == '\n') {
		buf[--n] = '\0';
	} else if (n > SD_BATCH_LINE_MAX) {
		*too_long = 1;
		int c;
		while ((c = getc(in)) != EOF && c != '\n')
			;
		buf[SD_BATCH_LINE_MAX] = '\0';
		n = SD_BATCH_LINE_MAX;
	}
	if (n && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return 1;
}

/* Blank and comment lines give no output but keep their number. */
static int skipped(const char *line)
{
	line += strspn(line, " \t");
	return line[0] == '\0' || line[0] == '#';
}

/* The reader: hands the kept lines to the workers, a window at a time. */
static int feed(batch *b, FILE *in, unsigned shard_i, unsigned shard_n)
{
	static char buf[SD_BATCH_LINE_MAX + 2];
	unsigned long number = 0;
	int rc, too_long;
	while ((rc = read_line(in, buf, &too_long)) > 0) {
		unsigned long n = number++;
		if (n % shard_n != shard_i || skipped(buf))
			continue;
		char *text = strdup(buf);
		if (!text)
			return -1;
		pthread_mutex_lock(&b->lock);
		while (b->tail - b->head >= b->window) {
			/* the lines before hold every slot; each ends by its
			 * own deadline, and the progress line moves meanwhile */
			struct timespec ts;
			sd_deadline_timespec(sd_now_ms() + PROGRESS_EVERY_MS,
			    &ts);
			b->feeder_waits = 1;
			pthread_cond_timedwait(&b->space, &b->lock, &ts);
			b->feeder_waits = 0;
			flush_now(b);
			draw_progress(b, 0);
		}
		slot *s = &b->slots[b->tail++ % b->window];
		s->b = b;
		s->number = n;
		s->text = text;
		s->too_long = too_long;
		pthread_mutex_unlock(&b->lock);
		sd_jobgroup_add(b->lines, line_run, line_drop, s);
	}
	return rc;
}

/* Checks the options a batch takes; 0, or the usage error's status. */
static int batch_usage(const sd_cli *cli, unsigned *si, unsigned *sn)
{
	if (cli->format_set && cli->format != SD_FORMAT_JSON)
		return sd_cli_usage_error(cli, "--batch writes JSON Lines: "
		    "--format must be json");
	if (cli->n_positional)
		return sd_cli_usage_error(cli, "%s --batch takes no other "
		    "arguments (one evaluation a line of FILE)", cli->command);
	*si = 0;
	*sn = 1;
	if (cli->shard && !sd_cli_shard_parse(cli->shard, si, sn))
		return sd_cli_usage_error(cli, "--shard: expected I/N with "
		    "0 <= I < N, got '%s'", cli->shard);
	return 0;
}

/* Waits for the lines still running, redrawing the progress line; each
 * line ends by its own deadline. */
static void finish_lines(batch *b)
{
	while (sd_jobgroup_wait(b->lines, sd_now_ms() + PROGRESS_EVERY_MS)) {
		pthread_mutex_lock(&b->lock);
		flush_now(b);
		draw_progress(b, 0);
		pthread_mutex_unlock(&b->lock);
	}
}

int sd_cli_batch(sd_cli *cli, sd_batch_fn fn, sd_batch_resolver_fn make_res,
    unsigned how)
{
	unsigned shard_i, shard_n;
	int rc = batch_usage(cli, &shard_i, &shard_n);
	FILE *in = NULL, *out = NULL;
	sd_resolver *res = NULL;
	if (rc)
		goto close_in;
	in = strcmp(cli->batch, "-") == 0 ? stdin : fopen(cli->batch, "r");
	if (!in) {
		rc = sd_cli_usage_error(cli, "--batch: cannot read '%s': %s",
		    cli->batch, strerror(errno));
		goto close_in;
	}
	out = cli->output ? fopen(cli->output, "w") : stdout;
	if (!out) {
		rc = sd_cli_usage_error(cli, "--output: cannot write '%s': %s",
		    cli->output, strerror(errno));
		goto close_in;
	}
	const char *err = NULL;
	res = make_res ? make_res(cli, &err) : sd_resolver_new_unbound(
	    cli->opt.resolvers, cli->opt.n_resolvers, cli->opt.trust_anchor,
	    &err);
	if (!res) {
		fprintf(stderr, "smtpdoctor: the DNS resolver could not be set "
		    "up: %s\n", err ? err : "unknown error");
		rc = 3;
		goto close_out;
	}
	size_t workers = cli->concurrency ? cli->concurrency : 64;
	batch b = {
		.cli = cli, .fn = fn, .res = res, .out = out, .how = how,
		.window = workers * WINDOW_PER_WORKER,
		.progress = isatty(STDERR_FILENO) && cli->opt.verbose >= 0,
		.t0 = sd_now_ms(),
	};
	/* a file read never keeps the reader waiting: the written lines
	 * leave in large writes (flush_due); a pipe or a terminal may */
	struct stat st;
	b.flush_each = fstat(fileno(in), &st) != 0 || !S_ISREG(st.st_mode);
	if (!b.flush_each && !isatty(fileno(out)))
		setvbuf(out, out_buffer, _IOFBF, sizeof out_buffer);
	b.flushed_at = b.t0;
	b.slots = calloc(b.window, sizeof *b.slots);
	b.lines = sd_jobgroup_new(workers);
	if (how & SD_BATCH_CPU_BOUND)
		sd_jobgroup_keep_to_cpus(b.lines);
	if (how & SD_BATCH_ONE_THREAD)
		sd_json_arena_install();
	pthread_mutex_init(&b.lock, NULL);
	sd_cond_init_monotonic(&b.space);
	int started = b.slots && b.lines;
	int frc = started ? feed(&b, in, shard_i, shard_n) : -1;
	if (started)
		finish_lines(&b);
	draw_progress(&b, 1);
	if (frc < 0)
		fprintf(stderr, "smtpdoctor: --batch: %s\n", started ?
		    "reading the input failed" : "out of memory");
	rc = frc < 0 ? (started ? 2 : 3) : b.failed ? 3 : 0;
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "smtpdoctor: writing the output failed: %s\n",
		    strerror(errno));
		rc = 3;
	}
	if (b.abandoned) {
		/* checks cut off by a line's deadline still hold the resolver
		 * and OpenSSL: leave without running library destructors */
		fflush(stderr);
		_exit(rc);
	}
	sd_jobgroup_close(b.lines);
	free(b.slots);
close_out:
	if (out != stdout)
		fclose(out);
close_in:
	sd_resolver_free(res);
	if (in && in != stdin)
		fclose(in);
	return rc;
}
