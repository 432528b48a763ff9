/*
 * JSON values in an arena (arena.c): a batch line's report and document,
 * made by the hundred and all dropped once the line is written, come from
 * one arena of the thread that runs the line instead of a malloc and a
 * free each, and leaving the arena frees them at once, with no walk over
 * the tree.
 *
 * sd_json_arena_install() makes jansson allocate through the arenas, once
 * for the process, before threads use jansson side by side: a thread that
 * is in no arena allocates and frees with malloc as before, and a value
 * made outside an arena may be released inside one.  Everything made in
 * an arena must be gone when the thread leaves it: for work whose JSON
 * values never leave the thread that makes them (spf --batch lines).  What
 * jansson hands out made in an arena (json_dumps' text) is the arena's
 * too, never to be passed to free().
 */
#ifndef SD_REPORT_ARENA_H
#define SD_REPORT_ARENA_H

typedef struct sd_json_arena {
	struct arena_chunk *chunks;   /* the newest first */
	char *next, *end;             /* the newest one's free room */
} sd_json_arena;

void sd_json_arena_install(void);

/* The calling thread's JSON values come from a (zeroed by the caller)
 * until it leaves. */
void sd_json_arena_enter(sd_json_arena *a);

/* Frees every value made in a; the thread allocates with malloc again. */
void sd_json_arena_leave(sd_json_arena *a);

/* Is the calling thread in an arena (a value it made need not be
 * released: leaving frees it)? */
int sd_json_arena_active(void);

#endif
