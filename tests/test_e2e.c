/*
 * End-to-end runs of the real agentperf binary against the loopback fake
 * server (tests/fakeserver.c): both protocols, streaming and not, tool-use
 * episodes, repair attempts, transport retries and failures, the results
 * folder, `report DIR`, a golden report, and a planted API key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "e2eutil.h"

static void tools_episode(const char *kind, const char *rules, const char *stream)
{
	struct tu_server s;
	struct run r = { 0 };
	assert_int_equal(tu_fake_start(&s, rules), 0);
	run_agentperf(&r, "record", "tests/data/e2e-tools.jsonl", spec_for(&s, kind, stream), NULL);
	if (r.rc)
		fprintf(stderr, "stderr: %s\n", r.stderr_txt);
	assert_int_equal(r.rc, 0);
	/* One task, solved in one attempt of two calls (tool call, then answer). */
	assert_non_null(strstr(r.stdout_txt, "100.00 % success rate"));
	assert_true(tu_report_value(r.stdout_txt, "calls") == 2);
	char *calls = res_file(&r, "calls.csv");
	char *tasks = res_file(&r, "tasks.csv");
	assert_non_null(calls);
	assert_non_null(tasks);
	assert_int_equal(tu_count(calls, "\n"), 3); /* header + 2 calls */
	assert_int_equal(tu_count(tasks, "\n"), 2);
	assert_non_null(strstr(tasks, ",success,1,1,1,2,"));
	/* The canned tool result reached the server in the second request. */
	char *log = tu_slurp(s.log);
	assert_non_null(log);
	assert_non_null(strstr(log, "18"));
	assert_true(tu_count(log, " body ") >= 2);
	free(log);
	free(calls);
	free(tasks);
	tu_fake_stop(&s);
	run_free(&r);
}

static void test_openai_tools_stream(void **state)
{
	(void)state;
	tools_episode("openai", "tests/fake/openai-tools.rules", "stream=1");
}

static void test_openai_tools_nonstream(void **state)
{
	(void)state;
	tools_episode("openai", "tests/fake/openai-tools.rules", "stream=0");
}

static void test_anthropic_tools_stream(void **state)
{
	(void)state;
	tools_episode("anthropic", "tests/fake/anthropic.rules", "stream=1");
}

static void test_anthropic_tools_nonstream(void **state)
{
	(void)state;
	tools_episode("anthropic", "tests/fake/anthropic.rules", "stream=0");
}

static void test_stream_timings_and_usage(void **state)
{
	(void)state;
	struct tu_server s;
	struct run r = { 0 };
	assert_int_equal(tu_fake_start(&s, "tests/fake/openai-stream.rules"), 0);
	run_agentperf(&r, "record", "tests/data/e2e-simple.jsonl", spec_for(&s, "openai", "stream=1"),
		      NULL);
	assert_int_equal(r.rc, 0);
	char *calls = res_file(&r, "calls.csv");
	assert_non_null(calls);
	/* ttft_s >= the server's 20 ms first delay; finish and usage parsed. */
	struct csv_line {
		double ttft, e2e;
	} c = { 0, 0 };
	char *row = strchr(calls, '\n') + 1;
	int field = 0;
	for (char *p = row; *p && *p != '\n'; p++) {
		if (*p == ',') {
			field++;
			if (field == 10)
				c.ttft = strtod(p + 1, NULL);
			if (field == 12)
				c.e2e = strtod(p + 1, NULL);
		}
	}
	assert_true(c.ttft >= 0.019);
	assert_true(c.e2e >= c.ttft);
	assert_non_null(strstr(row, ",stop,"));
	assert_non_null(strstr(r.stdout_txt, "output-rate"));
	/* report.txt is the report exactly as printed. */
	char *rep = res_file(&r, "report.txt");
	assert_non_null(rep);
	assert_non_null(strstr(rep, "seconds time elapsed"));
	assert_memory_equal(r.stdout_txt, rep, strlen(rep));
	free(rep);
	free(calls);
	tu_fake_stop(&s);
	run_free(&r);
}

static void test_repair_attempts(void **state)
{
	(void)state;
	struct tu_server s;
	struct run r = { 0 };
	assert_int_equal(tu_fake_start(&s, "tests/fake/repair.rules"), 0);
	run_agentperf(&r, "record", "tests/data/e2e-repair.jsonl", spec_for(&s, "openai", "stream=0"),
		      NULL);
	assert_int_equal(r.rc, 0);
	char *att = res_file(&r, "attempts.csv");
	assert_non_null(att);
	assert_int_equal(tu_count(att, "\n"), 3); /* header + failed + repaired */
	assert_non_null(strstr(r.stdout_txt, "2.00 attempts per success"));
	assert_true(tu_report_value(r.stdout_txt, "pass@1") == 0);
	/* Repair mode fed the failure back to the model. */
	char *log = tu_slurp(s.log);
	assert_non_null(strstr(log, "not accepted"));
	free(log);
	free(att);
	tu_fake_stop(&s);
	run_free(&r);
}

static void test_transport_retries_and_failures(void **state)
{
	(void)state;
	struct tu_server s;
	struct run r = { 0 };
	assert_int_equal(tu_fake_start(&s, "tests/fake/faults.rules"), 0);
	run_agentperf(&r, "record", "tests/data/e2e-faults.jsonl",
		      spec_for(&s, "openai", "stream=0,timeout=3,retries=2,retry_wait_max=0.05"), NULL);
	if (r.rc)
		fprintf(stderr, "stderr: %s\n", r.stderr_txt);
	assert_int_equal(r.rc, 0);
	char *calls = res_file(&r, "calls.csv");
	assert_non_null(calls);
	/* The 500 burst is absorbed by 2 transport retries and the call succeeds. */
	assert_non_null(strstr(calls, "burst"));
	assert_non_null(strstr(calls, ",ok,2,"));
	assert_non_null(strstr(calls, ",http_5xx,2,"));
	assert_non_null(strstr(calls, ",malformed,"));
	assert_non_null(strstr(calls, ",timeout,"));
	assert_non_null(strstr(r.stdout_txt, "failed-calls"));
	free(calls);
	tu_fake_stop(&s);
	run_free(&r);
}

static void test_stream_faults(void **state)
{
	(void)state;
	struct tu_server s;
	struct run r = { 0 };
	assert_int_equal(tu_fake_start(&s, "tests/fake/faults.rules"), 0);
	run_agentperf(&r, "record", "tests/data/e2e-stream-faults.jsonl",
		      spec_for(&s, "openai", "stream=1,timeout=5,retries=0,max_body=1000000"), NULL);
	assert_int_equal(r.rc, 0);
	char *calls = res_file(&r, "calls.csv");
	assert_non_null(calls);
	assert_non_null(strstr(calls, ",truncated,"));
	assert_non_null(strstr(calls, ",transport,"));
	assert_non_null(strstr(calls, ",too_large,"));
	free(calls);
	tu_fake_stop(&s);
	run_free(&r);
}

static void test_connect_refused(void **state)
{
	(void)state;
	struct run r = { 0 };
	/* Port 9 (discard) on loopback: nothing listens there in the test sandbox. */
	run_agentperf(&r, "stat", "tests/data/e2e-simple.jsonl",
		      "openai:url=http://127.0.0.1:9/v1,retries=1,retry_wait_max=0.01", NULL);
	/* Every call failed: the report still prints, and the exit status says so (issue 14). */
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr(r.stderr_txt, "every call failed"));
	assert_non_null(strstr(r.stdout_txt, "connect 1"));
	assert_non_null(strstr(r.stdout_txt, "0.00 % success rate"));
	run_free(&r);
}

/* Replaces the values that vary between runs so the report can be compared. */
static void normalize(char *s)
{
	char *line = s;
	while (line && *line) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		bool timing = false;
		const char *marks[] = { "msec", "tok/s", "time elapsed", "results in", "' (" };
		for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
			char *m = strstr(line, marks[i]);
			if (m && (size_t)(m - line) < len)
				timing = true;
		}
		if (timing)
			memset(line, '~', len);
		line = nl ? nl + 1 : NULL;
	}
}

static void test_golden_report_and_report_dir(void **state)
{
	(void)state;
	struct tu_server s;
	struct run r = { 0 };
	assert_int_equal(tu_fake_start(&s, "tests/fake/openai-tools.rules"), 0);
	run_agentperf(&r, "record", "tests/data/e2e-tools.jsonl", spec_for(&s, "openai", "stream=1"),
		      "-r", "3", NULL);
	assert_int_equal(r.rc, 0);
	/* `report DIR` prints the same report from the files alone. */
	char dir[400], out[400];
	snprintf(dir, sizeof(dir), "%s/results/r", r.dir);
	snprintf(out, sizeof(out), "%s/report.txt", r.dir);
	char *argv[] = { (char *)tu_agentperf(), "report", dir, NULL };
	assert_int_equal(tu_run(argv, out, NULL), 0);
	char *again = tu_slurp(out);
	char *live = strdup(r.stdout_txt);
	normalize(again);
	normalize(live);
	/* The live report ends with the results line the stored one lacks. */
	assert_true(strncmp(live, again, strlen(again) - 2) == 0);
	char *golden = tu_slurp("tests/golden/openai-tools-r3.txt");
	if (!golden) {
		FILE *f = fopen("tests/golden/openai-tools-r3.txt.new", "w");
		if (f) {
			fputs(again, f);
			fclose(f);
		}
		fail_msg("no golden report: wrote tests/golden/openai-tools-r3.txt.new");
	}
	/* The header names the command line, which holds temp paths: compare the rest. */
	const char *g = strstr(golden, "   backend");
	const char *a = strstr(again, "   backend");
	assert_non_null(g);
	assert_non_null(a);
	/* The port differs from run to run. */
	const char *g2 = strchr(g, '\n'), *a2 = strchr(a, '\n');
	assert_string_equal(g2, a2);
	free(golden);
	free(again);
	free(live);
	tu_fake_stop(&s);
	run_free(&r);
}

static void test_secret_never_written(void **state)
{
	(void)state;
	struct tu_server s;
	struct run r = { 0 };
	const char *secret = "sk-agentperf-test-PLANTED-4242";
	setenv("AP_TEST_KEY", secret, 1);
	assert_int_equal(tu_fake_start(&s, "tests/fake/openai-tools.rules"), 0);
	run_agentperf(&r, "record", "tests/data/e2e-tools.jsonl",
		      spec_for(&s, "openai", "stream=1,key_env=AP_TEST_KEY"), "-v", NULL);
	assert_int_equal(r.rc, 0);
	/* The server got it ... */
	char *log = tu_slurp(s.log);
	assert_non_null(strstr(log, secret));
	free(log);
	/* ... and nothing agentperf wrote or printed holds it. */
	char cmd[600], out[400];
	snprintf(cmd, sizeof(cmd), "%s", r.dir);
	snprintf(out, sizeof(out), "%s/grep.out", r.dir);
	char *argv[] = { "/bin/grep", "-r", "-l", (char *)secret, cmd, "--exclude=grep.out", NULL };
	assert_int_equal(tu_run(argv, out, NULL), 1); /* grep: 1 = no match */
	unsetenv("AP_TEST_KEY");
	tu_fake_stop(&s);
	run_free(&r);
}

static void test_bad_input_rejected_before_run(void **state)
{
	(void)state;
	struct run r = { 0 };
	run_agentperf(&r, "record", "tests/data/e2e-tools.jsonl", "nosuch:url=x", NULL);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.stderr_txt, "unknown kind 'nosuch'"));
	/* Nothing half-written. */
	char p[400];
	snprintf(p, sizeof(p), "%s/results", r.dir);
	struct stat sb;
	assert_int_not_equal(stat(p, &sb), 0);
	run_free(&r);
	run_agentperf(&r, "stat", "tests/data/e2e-tools.jsonl", "openai:retries=many", NULL);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.stderr_txt, "backend retries"));
	run_free(&r);
}

static void test_bfcl_pair_judged_by_possible_answers(void **state)
{
	(void)state;
	struct tu_server s;
	struct run r = { 0 };
	assert_int_equal(tu_fake_start(&s, "tests/fake/bfcl.rules"), 0);
	run_agentperf(&r, "record", "tests/data/bfcl/BFCL_v3_simple.json",
		      spec_for(&s, "openai", "stream=0"), NULL);
	if (r.rc)
		fprintf(stderr, "stderr: %s\n", r.stderr_txt);
	assert_int_equal(r.rc, 0);
	char *tasks = res_file(&r, "tasks.csv");
	char *att = res_file(&r, "attempts.csv");
	assert_non_null(tasks);
	assert_non_null(att);
	/* Six BFCL entries; only the triangle call matches its ground truth
	 * (base 10, height 5, the optional unit omitted; a height of 5.0 would be a
	 * float, which BFCL's type check refuses for an integer parameter). */
	assert_int_equal(tu_count(tasks, "\n"), 7);
	assert_non_null(strstr(tasks, ",simple_0,"));
	assert_int_equal(tu_count(tasks, ",success,1,"), 1);
	assert_non_null(strstr(strstr(tasks, ",simple_0,"), ",success,1,"));
	/* The wrong factorial argument is named in the failure reason. */
	char *fact = strstr(att, ",simple_1,");
	assert_non_null(fact);
	char *eol = strchr(fact, '\n');
	*eol = '\0';
	assert_non_null(strstr(fact, "number"));
	free(tasks);
	free(att);
	tu_fake_stop(&s);
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openai_tools_stream),
		cmocka_unit_test(test_openai_tools_nonstream),
		cmocka_unit_test(test_anthropic_tools_stream),
		cmocka_unit_test(test_anthropic_tools_nonstream),
		cmocka_unit_test(test_stream_timings_and_usage),
		cmocka_unit_test(test_repair_attempts),
		cmocka_unit_test(test_transport_retries_and_failures),
		cmocka_unit_test(test_stream_faults),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_golden_report_and_report_dir),
		cmocka_unit_test(test_secret_never_written),
		cmocka_unit_test(test_bad_input_rejected_before_run),
		cmocka_unit_test(test_bfcl_pair_judged_by_possible_answers),
	};
	return cmocka_run_group_tests_name("e2e (fake server)", tests, NULL, NULL);
}
