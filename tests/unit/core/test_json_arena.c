/*
 * JSON values in an arena (report/arena.c): what a thread makes in its
 * arena is freed when it leaves, released or not; a value made outside it
 * may be released inside; a value larger than a chunk fits; threads in
 * arenas of their own make values side by side; out of one, malloc again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/arena.h"

static size_t in_use(void)
{
	return mallinfo2().uordblks;
}

/* Does malloc's own count see a block?  Not under AddressSanitizer, whose
 * allocator leaves mallinfo2() at zero: there its leak check at the exit
 * is what finds a chunk the arena did not free. */
static int counted(void)
{
	size_t before = in_use();
	void *volatile p = malloc(4096);
	int seen = in_use() > before;
	free(p);
	return seen;
}

/* a report's worth of values: objects, arrays, strings, integers */
static json_t *some_values(int n)
{
	json_t *facts = json_array();
	for (int i = 0; i < n; i++) {
		char id[40];
		snprintf(id, sizeof id, "dns.TXT.e%d.example.com", i);
		json_t *f = json_pack("{s:s, s:s, s:i, s:[s, s]}", "id", id,
		    "stage", "domain", "took_ms", i, "answers", "v=spf1 -all",
		    "v=spf1 +all");
		json_array_append_new(facts, f);
	}
	return facts;
}

static void left_behind_is_freed(void **state)
{
	(void)state;
	sd_json_arena_install();
	json_t *before = some_values(5);     /* made with malloc */
	size_t used = in_use();
	sd_json_arena a = { 0 };
	sd_json_arena_enter(&a);
	assert_true(sd_json_arena_active());
	json_t *kept = some_values(2000);    /* never released */
	json_t *dropped = some_values(50);
	json_decref(dropped);                /* released: nothing to do */
	json_decref(before);                 /* made outside: freed now */
	/* larger than a chunk */
	char *big = malloc(300 * 1024);
	memset(big, 'x', 300 * 1024 - 1);
	big[300 * 1024 - 1] = '\0';
	json_t *s = json_string(big);
	free(big);
	assert_non_null(s);
	assert_int_equal(json_string_length(s), 300 * 1024 - 1);
	assert_int_equal(json_array_size(kept), 2000);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    kept, 1999), "id")), "dns.TXT.e1999.example.com");
	sd_json_arena_leave(&a);
	assert_false(sd_json_arena_active());
	/* 2,000 facts and a 300 KiB string are gone, and `before` too */
	if (counted())
		assert_true(in_use() <= used);
	/* out of the arena: malloc and free as before */
	json_t *after = some_values(100);
	if (counted())
		assert_true(in_use() > used);
	json_decref(after);
}

static void *one_thread(void *arg)
{
	int *ok = arg;
	for (int round = 0; round < 50; round++) {
		sd_json_arena a = { 0 };
		sd_json_arena_enter(&a);
		json_t *v = some_values(200);
		char *text = json_dumps(json_array_get(v, 150), JSON_COMPACT);
		*ok &= text && strstr(text, "\"dns.TXT.e150.example.com\"") &&
		    json_array_size(v) == 200;
		sd_json_arena_leave(&a);
	}
	return NULL;
}

static void threads_side_by_side(void **state)
{
	(void)state;
	sd_json_arena_install();
	pthread_t t[4];
	int ok[4] = { 1, 1, 1, 1 };
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, one_thread,
		    &ok[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_true(ok[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(left_behind_is_freed),
		cmocka_unit_test(threads_side_by_side),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
