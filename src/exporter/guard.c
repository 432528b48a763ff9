/*
 * The lockout guard: monitoring must never lock an account out.  A check
 * tries one login at most, but a scrape every 15 seconds is four logins a
 * minute, and servers lock accounts after a handful of failures (Dovecot
 * delays, Exchange and Gmail lock).  So after the server rejected an
 * account's credentials, they are not sent again until the file they come
 * from changes (the password was fixed) or --auth-retry-after passes.
 *
 * The table is bounded (SD_GUARD_MAX accounts held at once).  When a
 * rejection finds it full, even after the holds whose time is up are
 * dropped, the guard fails closed: it cannot remember which account was
 * rejected, so for --auth-retry-after it holds back the credentials of
 * every account it does not hold already (SD_GUARD_FULL_CAUSE), and the
 * login the rejection should have stopped is never tried again early.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exporter/exporter.h"
#include "report/report.h"
#include "util/util.h"

void sd_file_ids_add(sd_file_ids *ids, const char *path)
{
	struct stat sb;
	if (ids->n >= SD_GUARD_FILES)
		return;
	sd_file_id *f = &ids->f[ids->n++];
	memset(f, 0, sizeof *f);
	if (!path || stat(path, &sb) != 0)
		return;
	f->exists = 1;
	f->dev = sb.st_dev;
	f->ino = sb.st_ino;
	f->size = sb.st_size;
	f->mtime = sb.st_mtim;
	f->ctime = sb.st_ctim;
}

static int same_file(const sd_file_id *a, const sd_file_id *b)
{
	return a->exists == b->exists && a->dev == b->dev &&
	    a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec &&
	    a->ctime.tv_sec == b->ctime.tv_sec &&
	    a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static int same_files(const sd_file_ids *a, const sd_file_ids *b)
{
	if (a->n != b->n)
		return 0;
	for (int i = 0; i < a->n; i++)
		if (!same_file(&a->f[i], &b->f[i]))
			return 0;
	return 1;
}

/* AUTH results of the session probe that mean the credentials never left
 * (src/probe/session.c); any other result of a fact naming a mechanism
 * means they did.  A result added later counts as sent: the safe side. */
static const char *const not_sent[] = {
	"no_secret", "not_offered", "mechanism_unsupported",
	"plaintext_refused", "no_time", "skipped_once", "offer_cut", NULL,
};

sd_auth_outcome sd_exporter_auth_outcome(const sd_report *r)
{
	sd_auth_outcome out = SD_AUTH_NOT_SENT;
	size_t i;
	json_t *f;
	json_array_foreach(r->facts, i, f) {
		const char *stage = json_string_value(json_object_get(f,
		    "stage"));
		const char *result = json_string_value(json_object_get(f,
		    "result"));
		if (!stage || strcmp(stage, "auth") != 0 || !result ||
		    !json_object_get(f, "mech"))
			continue;
		int sent = 1;
		for (int k = 0; not_sent[k]; k++)
			if (strcmp(result, not_sent[k]) == 0)
				sent = 0;
		if (!sent)
			continue;
		if (strcmp(result, "ok") != 0)
			return SD_AUTH_REJECTED;
		out = SD_AUTH_ACCEPTED;
	}
	return out;
}

typedef struct held {
	char account[SD_XQ_VALUE_MAX + 1];
	sd_file_ids ids;        /* the files as they were read */
	int64_t since_ms;
	char cause[64];
} held;

struct sd_guard {
	pthread_mutex_t lock;
	int64_t retry_after_ms;
	held *h;
	size_t n, cap;
	int full;               /* a rejection found the table full ... */
	int64_t full_since_ms;  /* ... last at this time */
};

/* Under the lock: the table was full within --auth-retry-after. */
static int full_now(const sd_guard *g, int64_t now_ms)
{
	return g->full && now_ms - g->full_since_ms < g->retry_after_ms;
}

/* Under the lock: drops the holds whose time is up (room for new ones). */
static void purge(sd_guard *g, int64_t now_ms)
{
	size_t k = 0;
	for (size_t i = 0; i < g->n; i++)
		if (now_ms - g->h[i].since_ms < g->retry_after_ms)
			g->h[k++] = g->h[i];
	g->n = k;
}

sd_guard *sd_guard_new(int64_t retry_after_ms)
{
	sd_guard *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	pthread_mutex_init(&g->lock, NULL);
	g->retry_after_ms = retry_after_ms;
	return g;
}

void sd_guard_free(sd_guard *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->lock);
	free(g->h);
	free(g);
}

static held *find(sd_guard *g, const char *account)
{
	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->h[i].account, account) == 0)
			return &g->h[i];
	return NULL;
}

static void forget(sd_guard *g, held *h)
{
	*h = g->h[--g->n];
}

int sd_guard_held(sd_guard *g, const char *account, const sd_file_ids *ids,
    int64_t now_ms, sd_guard_hold *hold)
{
	int rc = 0;
	pthread_mutex_lock(&g->lock);
	held *h = find(g, account);
	if (h && (now_ms - h->since_ms >= g->retry_after_ms ||
	    !same_files(&h->ids, ids)))
		forget(g, h);
	else if (h) {
		hold->until_ms = h->since_ms + g->retry_after_ms;
		snprintf(hold->cause, sizeof hold->cause, "%s", h->cause);
		rc = 1;
	}
	if (!rc && full_now(g, now_ms)) {
		/* maybe the account whose rejection could not be kept */
		hold->until_ms = g->full_since_ms + g->retry_after_ms;
		snprintf(hold->cause, sizeof hold->cause, "%s",
		    SD_GUARD_FULL_CAUSE);
		rc = 1;
	}
	pthread_mutex_unlock(&g->lock);
	return rc;
}

int sd_guard_record(sd_guard *g, const char *account, const sd_file_ids *ids,
    int64_t now_ms, sd_auth_outcome outcome, const char *cause)
{
	int rc = 0;
	if (outcome == SD_AUTH_NOT_SENT)
		return 0;
	pthread_mutex_lock(&g->lock);
	held *h = find(g, account);
	if (outcome == SD_AUTH_ACCEPTED) {
		if (h)
			forget(g, h);
	} else {
		if (!h && g->n == SD_GUARD_MAX)
			purge(g, now_ms);
		if (!h && g->n == g->cap && g->cap < SD_GUARD_MAX) {
			size_t cap = g->cap ? g->cap * 2 : 8;
			held *more = realloc(g->h, cap * sizeof *more);
			if (more) {
				g->h = more;
				g->cap = cap;
			}
		}
		if (!h && g->n < g->cap)
			h = &g->h[g->n++];
		if (h) {
			snprintf(h->account, sizeof h->account, "%s", account);
			h->ids = *ids;
			h->since_ms = now_ms;
			snprintf(h->cause, sizeof h->cause, "%s",
			    cause ? cause : "");
		} else {
			g->full = 1;
			g->full_since_ms = now_ms;
			rc = -1;
		}
	}
	pthread_mutex_unlock(&g->lock);
	return rc;
}

int sd_guard_full(sd_guard *g, int64_t now_ms)
{
	pthread_mutex_lock(&g->lock);
	int rc = full_now(g, now_ms);
	pthread_mutex_unlock(&g->lock);
	return rc;
}

size_t sd_guard_count(sd_guard *g, int64_t now_ms)
{
	size_t n = 0;
	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->n; i++)
		n += now_ms - g->h[i].since_ms < g->retry_after_ms;
	pthread_mutex_unlock(&g->lock);
	return n;
}
