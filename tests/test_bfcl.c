/*
 * BFCL as its users run it, end to end against the fake server: the attempt
 * policy overrides (--max-attempts, --retry, --max-steps) on an imported
 * workload, every single-turn category shape (tests/data/bfcl/v4/), a whole
 * data folder with a refused multi-turn file, and the per-category table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "testutil.h"
#include "e2eutil.h"
#include "runutil.h"

#include <cjson/cJSON.h>

#define TRIANGLE "tests/data/bfcl/BFCL_v3_simple.json"

/* Column col of the tasks.csv row of task id (NULL-safe on a missing row). */
static bool task_col(const struct run *r, const char *id, const char *col, char *out, size_t n)
{
	char *csv = res_file(r, "tasks.csv");
	bool ok = csv && ru_get(csv, id, col, out, n);
	free(csv);
	return ok;
}

/* The task's attempts, success and k_success columns in tasks.csv. */
static void expect_task(const struct run *r, const char *id, const char *attempts,
			const char *success, const char *k)
{
	char v[64];
	assert_true(task_col(r, id, "attempts", v, sizeof(v)));
	assert_string_equal(v, attempts);
	assert_true(task_col(r, id, "success", v, sizeof(v)));
	assert_string_equal(v, success);
	assert_true(task_col(r, id, "k_success", v, sizeof(v)));
	assert_string_equal(v, k);
}

/* A model wrong on its first 2 calls: success on attempt 3 when allowed. */
static void test_policy_max_attempts(void **state)
{
	(void)state;
	struct tu_server s;
	struct run r = { 0 };
	/* The imported policy is one attempt: the task fails. */
	assert_int_equal(tu_fake_start(&s, "tests/fake/bfcl-flaky.rules"), 0);
	run_agentperf(&r, "record", TRIANGLE, spec_for(&s, "openai", NULL), "-t", "simple_0", NULL);
	assert_int_equal(r.rc, 0);
	expect_task(&r, "simple_0", "1", "0", "0");
	assert_non_null(strstr(r.stdout_txt, "policy    max_attempts 1, retry plain, max_steps 1 "
					     "(the workload's defaults)"));
	run_free(&r);
	tu_fake_stop(&s);

	/* k = 2 failures, --max-attempts 3: success within 3, 3 attempts per success. */
	assert_int_equal(tu_fake_start(&s, "tests/fake/bfcl-flaky.rules"), 0);
	run_agentperf(&r, "record", TRIANGLE, spec_for(&s, "openai", NULL), "-t", "simple_0",
		      "--max-attempts", "3", NULL);
	assert_int_equal(r.rc, 0);
	expect_task(&r, "simple_0", "3", "1", "3");
	assert_float_equal(tu_report_value(r.stdout_txt, "success-within-3"), 100.0, 1e-9);
	assert_float_equal(tu_report_value(r.stdout_txt, "pass@1"), 0.0, 1e-9);
	assert_non_null(strstr(r.stdout_txt, "3.00 attempts per success"));
	assert_non_null(strstr(r.stdout_txt, "policy    max_attempts 3, retry plain, max_steps 1 "
					     "(command line: max_attempts)"));
	char *meta = res_file(&r, "meta.json");
	assert_non_null(meta);
	cJSON *m = cJSON_Parse(meta);
	const cJSON *pol = cJSON_GetObjectItem(m, "policy");
	assert_int_equal(cJSON_GetObjectItem(pol, "max_attempts")->valueint, 3);
	assert_string_equal(cJSON_GetObjectItem(pol, "retry")->valuestring, "plain");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(pol, "from_command_line")), 1);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(pol, "workload_default"),
					     "max_attempts")->valueint, 1);
	cJSON_Delete(m);
	free(meta);
	run_free(&r);
	tu_fake_stop(&s);

	/* --max-attempts 2 stops one short: no success, 2 attempts. */
	assert_int_equal(tu_fake_start(&s, "tests/fake/bfcl-flaky.rules"), 0);
	run_agentperf(&r, "record", TRIANGLE, spec_for(&s, "openai", NULL), "-t", "simple_0",
		      "--max-attempts", "2", NULL);
	assert_int_equal(r.rc, 0);
	expect_task(&r, "simple_0", "2", "0", "0");
	assert_non_null(strstr(r.stdout_txt, "attempts per success: no success"));
	run_free(&r);
	tu_fake_stop(&s);
}

/* --retry repair: the model is told the BFCL check's own failure message. */
static void test_policy_repair_message(void **state)
{
	(void)state;
	struct tu_server s;
	struct run r = { 0 };
	assert_int_equal(tu_fake_start(&s, "tests/fake/bfcl-flaky.rules"), 0);
	run_agentperf(&r, "record", TRIANGLE, spec_for(&s, "openai", NULL), "-t", "simple_0",
		      "--max-attempts", "3", "--retry", "repair", "--max-steps", "2", NULL);
	assert_int_equal(r.rc, 0);
	char *att = res_file(&r, "attempts.csv");
	char *log = tu_slurp(s.log);
	assert_non_null(att);
	assert_non_null(log);
	/* The reason recorded for attempt 1 ... */
	char why[300];
	int col = ru_col(att, "reason");
	assert_true(col >= 0);
	const char *row = strstr(att, "\n1,1,0,simple_0,");
	assert_non_null(row);
	ru_field(row + 1, col, why, sizeof(why));
	assert_non_null(strstr(why, "base"));
	/* ... is what the repair request tells the model, after the first
	 * attempt's calls and their tool results (an unanswerable call gets
	 * {"error": "no result for this call"} and its episode goes on, so the
	 * repair is the first request of attempt 2, not necessarily request 2). */
	const char *b2 = strstr(log, "Your previous answer was not accepted: ");
	while (b2 && b2 > log && b2[-1] != '\n')
		b2--;
	assert_non_null(b2);
	assert_non_null(strstr(b2, " body "));
	const char *eol = strchr(b2 + 1, '\n');
	char *body = strndup(b2, eol ? (size_t)(eol - b2) : strlen(b2));
	assert_non_null(strstr(body, "Your previous answer was not accepted: "));
	char probe[200];
	snprintf(probe, sizeof(probe), "%.60s", why);
	assert_non_null(strstr(body, probe));
	assert_non_null(strstr(body, "\\\\\"base\\\\\": 11")); /* the log escapes backslashes */
	free(body);
	assert_non_null(strstr(r.stdout_txt, "policy    max_attempts 3, retry repair, max_steps 2 "
					     "(command line: max_attempts, retry, max_steps)"));
	expect_task(&r, "simple_0", "3", "1", "3");
	free(att);
	free(log);
	run_free(&r);
	tu_fake_stop(&s);

	/* Bad values are refused with the option's name. */
	run_agentperf(&r, "stat", TRIANGLE, "openai:", "--retry", "twice", NULL);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.stderr_txt, "--retry: expected plain or repair, got 'twice'"));
	run_free(&r);
	run_agentperf(&r, "stat", TRIANGLE, "openai:", "--max-attempts", "0", NULL);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.stderr_txt, "--max-attempts: expected an integer in [1, 1000]"));
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_max_attempts),
		cmocka_unit_test(test_policy_repair_message),
	};
	return cmocka_run_group_tests_name("bfcl (fake server)", tests, NULL, NULL);
}
