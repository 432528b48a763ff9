/*
 * Replays a fuzz harness's seeds as a regression test: every file below the
 * folder given is fed once to LLVMFuzzerTestOneInput, one TAP line each.
 * A crash or sanitizer report aborts the run and fails the test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s SEED_DIR\n", argv[0]);
		return 2;
	}
	DIR *d = opendir(argv[1]);
	if (!d) {
		perror(argv[1]);
		return 1;
	}
	char *names[4096];
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < sizeof names / sizeof names[0]) {
		if (e->d_name[0] != '.')
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof names[0], cmp);
	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
		FILE *f = fopen(path, "rb");
		struct stat st;
		if (!f || fstat(fileno(f), &st) != 0) {
			printf("not ok %zu - %s: unreadable\n", i + 1, names[i]);
			if (f)
				fclose(f);
			continue;
		}
		size_t len = (size_t)st.st_size;
		uint8_t *buf = malloc(len ? len : 1);
		size_t got = buf ? fread(buf, 1, len, f) : 0;
		fclose(f);
		if (!buf || got != len) {
			printf("not ok %zu - %s: short read\n", i + 1, names[i]);
			free(buf);
			continue;
		}
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
		printf("ok %zu - %s\n", i + 1, names[i]);
		fflush(stdout);
		free(names[i]);
	}
	return 0;
}
