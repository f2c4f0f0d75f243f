/*
 * make bench (scripts/bench.sh) end to end: the managed llama-server with the
 * tiny model as "local" and the loopback fake server as the OpenAI-compatible
 * "remote" (OPENAI_BASE_URL), one workload, one repeat. Checks that both runs
 * are written, that local is diffed against the remote (diff CSVs kept for
 * the frontier's cascade line), that the plots are drawn, and that the
 * planted API key is in nothing written. Needs $LLAMA_SERVER (make test sets
 * it) and a tiny model; skips with the reason where either is missing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "testutil.h"

#define PLANTED_KEY "sk-agentperf-bench-planted-9c1e4f"

static bool exists(const char *dir, const char *name)
{
	char p[1024];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0 && st.st_size > 0;
}

static void test_bench_local_and_remote(void **state)
{
	(void)state;
	const char *srv = getenv("LLAMA_SERVER"), *m = getenv("AGENTPERF_TEST_MODEL");
	const char *model = m && *m ? m : "../shared/models/stories260K.gguf";
	if (!srv || access(srv, X_OK) || access(model, R_OK)) {
		print_message("SKIPPED: %s\n", !srv || access(srv, X_OK)
						    ? "no llama-server: LLAMA_SERVER unset (make test sets it)"
						    : "no tiny model: ../shared/models absent and AGENTPERF_TEST_MODEL unset");
		skip();
	}
	struct tu_server s;
	assert_int_equal(tu_fake_start(&s, "tests/fake/faults.rules"), 0);
	char id[64], base[128], url[128], out[256], err[256];
	snprintf(id, sizeof(id), "test-bench-%d", (int)getpid());
	snprintf(base, sizeof(base), "results/%s", id);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", s.port);
	char *d = tu_tmpdir();
	snprintf(out, sizeof(out), "%s/out", d);
	snprintf(err, sizeof(err), "%s/err", d);
	setenv("BENCH_ID", id, 1);
	setenv("REPEATS", "1", 1);
	setenv("WORKLOADS", "workloads/smoke.jsonl", 1);
	setenv("MODEL", model, 1);
	setenv("OPENAI_API_KEY", PLANTED_KEY, 1);
	setenv("OPENAI_BASE_URL", url, 1);
	/* A model workloads/profiles/ has a profile for: make bench's default PROFILES
	 * give both sides a profile, so the diff has $ rows. */
	setenv("OPENAI_MODEL", "gpt-4o-mini", 1);
	unsetenv("PROFILES");
	unsetenv("ANTHROPIC_API_KEY");
	char *argv[] = { "scripts/bench.sh", NULL };
	int rc = tu_run(argv, out, err);
	tu_fake_stop(&s);
	char *o = tu_slurp(out), *e = tu_slurp(err);
	if (rc)
		fprintf(stderr, "bench exited %d\nstdout:\n%s\nstderr:\n%s\n", rc, o ? o : "", e ? e : "");
	assert_int_equal(rc, 0);
	assert_non_null(strstr(e, "skipped anthropic: set ANTHROPIC_API_KEY"));

	char p[512];
	snprintf(p, sizeof(p), "%s/local", base);
	assert_true(exists(p, "meta.json") && exists(p, "tasks.csv") && exists(p, "calls.csv"));
	assert_true(exists(p, "plots/power.png") && exists(p, "plots/attempts.svg"));
	snprintf(p, sizeof(p), "%s/openai", base);
	assert_true(exists(p, "meta.json") && exists(p, "calls.csv"));
	/* The remote answered every call (the fake's normal answer). */
	char *calls = tu_slurp(strcat(p, "/calls.csv"));
	assert_non_null(calls);
	assert_int_equal(tu_count(calls, ",ok,"), tu_count(calls, "\n") - 1);
	free(calls);
	/* local is diffed against the remote, and the CSVs are kept. */
	assert_non_null(strstr(o, "agentperf diff (monolithic form)"));
	assert_non_null(strstr(o, "cascade what-if"));
	snprintf(p, sizeof(p), "%s/diff-local-vs-openai", base);
	assert_true(exists(p, "diff.csv") && exists(p, "cascade.csv") && exists(p, "sensitivity.csv"));
	assert_null(strstr(e, "no cost profile"));
	/* Each side ran with its default profile (meta.json keeps it), so the diff can
	 * price both as soon as they have successes. */
	snprintf(p, sizeof(p), "%s/openai/meta.json", base);
	char *mj = tu_slurp(p);
	assert_non_null(mj);
	assert_non_null(strstr(mj, "\"name\":\t\"gpt-4o-mini\""));
	free(mj);
	snprintf(p, sizeof(p), "%s/local/meta.json", base);
	mj = tu_slurp(p);
	assert_non_null(mj);
	assert_non_null(strstr(mj, "\"name\":\t\"workstation-cpu\""));
	free(mj);

	/* The key is in no file of the bench and in nothing it printed. */
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "grep -r -l -F '%s' '%s' >/dev/null 2>&1", PLANTED_KEY, base);
	assert_int_not_equal(system(cmd), 0);
	assert_null(strstr(o, PLANTED_KEY));
	assert_null(strstr(e, PLANTED_KEY));

	free(o);
	free(e);
	tu_rmrf(base);
	tu_rmrf(d);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bench_local_and_remote),
	};
	return cmocka_run_group_tests_name("make bench (local llama-server and a fake remote)", tests,
					   NULL, NULL);
}
