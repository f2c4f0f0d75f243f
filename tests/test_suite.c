/* Sanity of the shipped workload suite (the .jsonl files in workloads/): every file opens
 * and streams with the real loader, carries provenance, and the suite files
 * keep the shape the README promises (>= 20 tasks each, decomposed forms,
 * multi-step tool tables, a long-context prompt of ~25k tokens). Run from the
 * repository root, as tests/run-tests.sh does. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workload.h"

/* The suite README.md documents; each must exist and hold >= 20 tasks. */
static const char *const suite[] = {
	"workloads/tool-routing.jsonl", "workloads/extraction.jsonl",
	"workloads/multistep.jsonl",    "workloads/decomposition.jsonl",
	"workloads/long-context.jsonl", "workloads/codegen.jsonl",
};

/* "Meta content before any work": the long-context file must really carry
 * about 25k tokens (bytes/4) of system prompt and tools on every task. */
#define LONG_CONTEXT_MIN_BYTES 80000

static struct workload *open_ok(const char *path)
{
	struct workload *wl = NULL;
	struct ap_error err = { 0 };
	int rc = workload_open(&wl, path, NULL, &err);
	if (rc)
		fail_msg("%s: %s", path, err.msg);
	return wl;
}

static void test_every_file_opens_with_provenance(void **state)
{
	(void)state;
	glob_t g;
	assert_int_equal(glob("workloads/*.jsonl", 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= sizeof(suite) / sizeof(suite[0]));
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct workload *wl = open_ok(g.gl_pathv[i]);
		assert_true(wl->format == WL_NATIVE);
		assert_non_null(wl->name);
		assert_true(wl->name[0] && wl->version[0] && wl->source[0] && wl->license[0]);
		assert_non_null(wl->description);
		/* Streaming must agree with the count taken at open. */
		size_t n = 0;
		struct task *t;
		struct ap_error err = { 0 };
		int rc;
		while ((rc = workload_next(wl, &t, &err)) == 0) {
			n++;
			task_free(t);
		}
		if (rc != 1)
			fail_msg("%s: %s", g.gl_pathv[i], err.msg);
		assert_int_equal(n, wl->n_tasks);
		workload_close(wl);
	}
	globfree(&g);
}

static void test_suite_files_have_20_tasks(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(suite) / sizeof(suite[0]); i++) {
		struct workload *wl = open_ok(suite[i]);
		if (wl->n_tasks < 20)
			fail_msg("%s: %zu tasks, the suite promises >= 20", suite[i], wl->n_tasks);
		assert_true(strlen(wl->description) > 40);
		/* Written for this project, so free to redistribute with results. */
		assert_true(!strcmp(wl->license, "CC0-1.0") || !strcmp(wl->license, "MIT"));
		workload_close(wl);
	}
}

/* Calls fn on every task of path. */
static void each_task(const char *path, void (*fn)(const struct task *))
{
	struct workload *wl = open_ok(path);
	struct task *t;
	struct ap_error err = { 0 };
	int rc;
	while ((rc = workload_next(wl, &t, &err)) == 0) {
		fn(t);
		task_free(t);
	}
	assert_int_equal(rc, 1);
	workload_close(wl);
}

static void long_context_task(const struct task *t)
{
	assert_non_null(t->system_prompt);
	assert_non_null(t->tools);
	char *tools = cJSON_PrintUnformatted(t->tools);
	assert_non_null(tools);
	size_t bytes = strlen(t->system_prompt) + strlen(tools);
	free(tools);
	if (bytes < LONG_CONTEXT_MIN_BYTES)
		fail_msg("task %s: system prompt + tools = %zu bytes, want >= %d", t->id, bytes,
			 LONG_CONTEXT_MIN_BYTES);
}

static void test_long_context_size(void **state)
{
	(void)state;
	each_task("workloads/long-context.jsonl", long_context_task);
}

static void decomposition_task(const struct task *t)
{
	if (t->n_subs < 2)
		fail_msg("task %s: %zu sub-calls, want a decomposed form of >= 2", t->id, t->n_subs);
	/* Overhead is read per category, so every task needs one. */
	assert_true(t->category && t->category[0]);
}

static void test_decomposition_has_both_forms(void **state)
{
	(void)state;
	each_task("workloads/decomposition.jsonl", decomposition_task);
}

static void multistep_task(const struct task *t)
{
	/* 2-4 tool calls before the answer need tools, canned answers and room. */
	assert_non_null(t->tools);
	if (t->n_answers < 2 || t->policy.max_steps < 3)
		fail_msg("task %s: %zu tool answers, max_steps %d", t->id, t->n_answers,
			 t->policy.max_steps);
}

static void test_multistep_has_tool_tables(void **state)
{
	(void)state;
	each_task("workloads/multistep.jsonl", multistep_task);
}

/* The committed long-context file must be what its generator writes, so
 * nobody edits the 100 kB line by hand and loses reproducibility. */
static void test_long_context_reproducible(void **state)
{
	(void)state;
	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		skip(); /* cmocka prints SKIPPED */
		return;
	}
	int rc = system("python3 scripts/gen-long-context.py | cmp -s - workloads/long-context.jsonl");
	if (rc != 0)
		fail_msg("workloads/long-context.jsonl differs from scripts/gen-long-context.py's output");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_file_opens_with_provenance),
		cmocka_unit_test(test_suite_files_have_20_tasks),
		cmocka_unit_test(test_long_context_size),
		cmocka_unit_test(test_decomposition_has_both_forms),
		cmocka_unit_test(test_multistep_has_tool_tables),
		cmocka_unit_test(test_long_context_reproducible),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
