/*
 * JSON values in an arena (see arena.h).  A bump allocator of a few
 * lines rather than glibc's obstack: obstack ends the process when a
 * chunk cannot be had, and here out of memory is an ordinary error (the
 * line's document is not made, the batch exits 3).
 */
#include "report/arena.h"

#include <jansson.h>
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>

/* A line's values fit in one chunk (its report and document take some
 * tens of KiB); more take more chunks, a value larger than a chunk one of
 * its own. */
#define ARENA_CHUNK (64 * 1024)
/* What malloc aligns to, and so each value here. */
#define ARENA_ALIGN alignof(max_align_t)

struct arena_chunk {
	struct arena_chunk *prev;
	char *end;
	alignas(ARENA_ALIGN) char data[];
};

static __thread sd_json_arena *arena;

static void *arena_malloc(size_t n)
{
	sd_json_arena *a = arena;
	if (!a)
		return malloc(n);
	if (n > ((size_t)-1) / 2)
		return NULL;
	n = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (n > (size_t)(a->end - a->next)) {
		size_t size = sizeof(struct arena_chunk) + n;
		struct arena_chunk *c = malloc(size > ARENA_CHUNK ? size :
		    ARENA_CHUNK);
		if (!c)
			return NULL;
		c->prev = a->chunks;
		c->end = (char *)c + (size > ARENA_CHUNK ? size : ARENA_CHUNK);
		a->chunks = c;
		a->next = c->data;
		a->end = c->end;
	}
	void *p = a->next;
	a->next += n;
	return p;
}

/* Was p made in a (in one of its chunks)? */
static int made_in(const sd_json_arena *a, const void *p)
{
	for (const struct arena_chunk *c = a->chunks; c; c = c->prev)
		if ((const char *)p >= c->data && (const char *)p < c->end)
			return 1;
	return 0;
}

/* A value made in the arena goes with it; any other is malloc's. */
static void arena_free(void *p)
{
	sd_json_arena *a = arena;
	if (p && !(a && made_in(a, p)))
		free(p);
}

static void install(void)
{
	json_set_alloc_funcs(arena_malloc, arena_free);
}

void sd_json_arena_install(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install);
}

void sd_json_arena_enter(sd_json_arena *a)
{
	arena = a;
}

void sd_json_arena_leave(sd_json_arena *a)
{
	if (arena == a)
		arena = NULL;
	while (a->chunks) {
		struct arena_chunk *prev = a->chunks->prev;
		free(a->chunks);
		a->chunks = prev;
	}
	a->next = a->end = NULL;
}

int sd_json_arena_active(void)
{
	return arena != NULL;
}
