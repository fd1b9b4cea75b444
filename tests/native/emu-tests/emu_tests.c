/* Runner: `emu_tests --list`, `--run NAME`, `--run-all`. Exit 0 pass, 1 fail, 2 unknown test. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_test.h"

#define MAX_TESTS 512

static struct {
	const char *name;
	void (*fn)(void);
} tests[MAX_TESTS];
static int ntests;
static int failed;

void et_register(const char *name, void (*fn)(void))
{
	if (ntests < MAX_TESTS) {
		tests[ntests].name = name;
		tests[ntests].fn = fn;
		ntests++;
	}
}

void et_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s:%d: ", file, line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failed = 1;
}

int et_failed(void)
{
	return failed;
}

int et_memdiff(const void *a, const void *b, size_t n, const char *file, int line)
{
	const uint8_t *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i]) {
			et_fail(file, line, "bytes differ at offset %zu: got 0x%02x, expected 0x%02x", i, x[i], y[i]);
			return 1;
		}
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int run_one(int i)
{
	emu_reset();
	et_ndone = 0;
	et_on_completion = NULL;
	failed = 0;
	tests[i].fn();
	if (!failed && emu_violation_count() && strncmp(tests[i].name, "lifecycle_", 10) != 0 &&
	    strncmp(tests[i].name, "strict_", 7) != 0) {
		/* Tests outside the lifecycle group must use the API correctly. */
		et_fail(__FILE__, __LINE__, "unexpected lifecycle violation: %s", emu_last_violation());
	}
	emu_reset();
	return failed;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--list") == 0) {
		const char *names[MAX_TESTS];
		for (int i = 0; i < ntests; i++)
			names[i] = tests[i].name;
		qsort(names, (size_t)ntests, sizeof names[0], cmp);
		for (int i = 0; i < ntests; i++)
			printf("%s\n", names[i]);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "--run") == 0) {
		for (int i = 0; i < ntests; i++)
			if (strcmp(tests[i].name, argv[2]) == 0) {
				int f = run_one(i);
				printf("%s %s (gen %c, %s)\n", f ? "FAIL" : "PASS", tests[i].name, emu_generation(),
				       doca_version_runtime());
				return f;
			}
		fprintf(stderr, "unknown test %s\n", argv[2]);
		return 2;
	}
	if (argc >= 2 && strcmp(argv[1], "--run-all") == 0) {
		int nf = 0;
		for (int i = 0; i < ntests; i++) {
			int f = run_one(i);
			printf("%s %s\n", f ? "FAIL" : "PASS", tests[i].name);
			nf += f;
		}
		printf("gen %c: %d passed, %d failed\n", emu_generation(), ntests - nf, nf);
		return nf ? 1 : 0;
	}
	fprintf(stderr, "usage: %s --list | --run NAME | --run-all\n", argv[0]);
	return 2;
}
