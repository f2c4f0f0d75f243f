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

/* The report's row for name: its tasks, accuracy (%) and tokens per task. */
static void expect_row(const char *report, const char *block, const char *name, long tasks,
		       double acc, double tokens)
{
	const char *b = strstr(report, block);
	assert_non_null(b);
	char key[64];
	snprintf(key, sizeof(key), "\n   %s ", name);
	const char *r = strstr(b, key);
	if (!r)
		fail_msg("no row '%s' after '%s'", name, block);
	long t = 0;
	double a = 0, k = 0;
	if (sscanf(r + strlen(key), "%ld %lf%% %lf", &t, &a, &k) != 3)
		fail_msg("row '%s' unreadable: %.120s", name, r);
	assert_int_equal(t, tasks);
	assert_float_equal(a, acc, 0.005);
	assert_float_equal(k, tokens, 0.05);
}

/* bfcl:DIR runs every single-turn category (the multi-turn file refused in
 * one line) and the report has BFCL's leaderboard shape. */
static void test_folder_and_category_table(void **state)
{
	(void)state;
	struct tu_server s;
	struct run r = { 0 };
	assert_int_equal(tu_fake_start(&s, "tests/fake/bfcl-v4.rules"), 0);
	run_agentperf(&r, "record", "bfcl:tests/data/bfcl/v4", spec_for(&s, "openai", "stream=0"), NULL);
	if (r.rc)
		fprintf(stderr, "stderr: %s\n", r.stderr_txt);
	assert_int_equal(r.rc, 0);
	/* One line for the refused file, one warning (once) for the empty list. */
	assert_int_equal(tu_count(r.stderr_txt, "not run: BFCL category 'multi_turn_base'"), 1);
	assert_int_equal(tu_count(r.stderr_txt, "1 of 10 tasks can never pass: an expected argument "
						"has an empty list of acceptable values"), 1);
	char *meta = res_file(&r, "meta.json");
	cJSON *m = cJSON_Parse(meta);
	const cJSON *w = cJSON_GetObjectItem(m, "workload");
	assert_int_equal(cJSON_GetObjectItem(w, "unsatisfiable_tasks")->valueint, 1);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(w, "not_run")), 1);
	assert_string_equal(cJSON_GetObjectItem(w, "spec")->valuestring, "bfcl:tests/data/bfcl/v4");
	cJSON_Delete(m);
	free(meta);
	char v[32];
	assert_true(task_col(&r, "simple_java_0", "success", v, sizeof(v)));
	assert_string_equal(v, "1");
	assert_true(task_col(&r, "live_simple_0-0-0", "success", v, sizeof(v)));
	assert_string_equal(v, "0");
	const char *cats = "BFCL categories, as BFCL's leaderboard scores them";
	const char *rep = r.stdout_txt;
	expect_row(rep, cats, "simple_java", 1, 100, 110);
	expect_row(rep, cats, "simple_javascript", 1, 100, 110);
	expect_row(rep, cats, "irrelevance", 2, 50, 110);
	expect_row(rep, cats, "live_simple", 2, 50, 110);
	expect_row(rep, cats, "multiple", 1, 0, 110);
	const char *sum = "\n   summary ";
	/* simple = mean(python, java, js); non-live = mean(simple, multiple,
	 * parallel, irrelevance) with parallel_multiple not run; live weighted. */
	expect_row(rep, sum, "non-live simple", 3, 100, 110);
	expect_row(rep, sum, "non-live AST", 5, 100.0 * 2 / 3, 110);
	expect_row(rep, sum, "non-live overall", 7, 62.5, 110);
	expect_row(rep, sum, "live overall", 3, 100.0 * 2 / 3, 110);
	expect_row(rep, sum, "overall (single-turn)", 10, (62.5 + 200.0 / 3) / 2, 110);
	assert_non_null(strstr(rep, "not run: parallel_multiple"));
	/* Energy per success on every row, with its source named. */
	assert_non_null(strstr(rep, "J: device energy of all attempts per successful task"));
	/* `report DIR` prints the same table from the files. */
	char dir[400], out[400];
	snprintf(dir, sizeof(dir), "%s/results/r", r.dir);
	snprintf(out, sizeof(out), "%s/again.txt", r.dir);
	char *argv[] = { (char *)tu_agentperf(), "report", dir, NULL };
	assert_int_equal(tu_run(argv, out, NULL), 0);
	char *again = tu_slurp(out);
	expect_row(again, sum, "non-live overall", 7, 62.5, 110);
	free(again);
	run_free(&r);
	tu_fake_stop(&s);

	/* A single refused file: one clear line, exit 2. */
	run_agentperf(&r, "stat", "tests/data/bfcl/v4/BFCL_v4_multi_turn_base.json", "openai:", NULL);
	assert_int_equal(r.rc, 2);
	assert_non_null(strstr(r.stderr_txt, "BFCL category 'multi_turn_base' cannot run here"));
	run_free(&r);
}

/* --resume keeps the attempt policy of the run it continues. */
static void test_policy_resume(void **state)
{
	(void)state;
	struct tu_server s;
	struct run r = { 0 };
	assert_int_equal(tu_fake_start(&s, "tests/fake/bfcl-flaky.rules"), 0);
	run_agentperf(&r, "record", TRIANGLE, spec_for(&s, "openai", NULL), "-t", "simple_0",
		      "--max-attempts", "3", NULL);
	assert_int_equal(r.rc, 0);
	tu_fake_stop(&s);
	/* Forget the finished task, as if the run had been killed before it. */
	char p[400];
	const char *names[] = { "tasks.csv", "attempts.csv", "calls.csv" };
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/results/r/%s", r.dir, names[i]);
		char *t = tu_slurp(p);
		assert_non_null(t);
		char *nl = strchr(t, '\n');
		FILE *f = fopen(p, "w");
		assert_non_null(f);
		fwrite(t, 1, (size_t)(nl - t + 1), f);
		fclose(f);
		free(t);
	}
	assert_int_equal(tu_fake_start(&s, "tests/fake/bfcl-flaky.rules"), 0);
	snprintf(p, sizeof(p), "%s/results/r", r.dir);
	/* The resumed run's backend is the recorded one: point it at the new port. */
	char meta_path[450];
	snprintf(meta_path, sizeof(meta_path), "%s/meta.json", p);
	char *meta = tu_slurp(meta_path);
	cJSON *m = cJSON_Parse(meta);
	free(meta);
	cJSON *be = cJSON_GetObjectItem(m, "backend");
	cJSON_ReplaceItemInObject(be, "spec", cJSON_CreateString(spec_for(&s, "openai", NULL)));
	cJSON *av = cJSON_GetObjectItem(m, "argv");
	for (cJSON *x = av->child; x; x = x->next)
		if (strstr(x->valuestring, "openai:url="))
			cJSON_SetValuestring(x, spec_for(&s, "openai", NULL));
	char *txt = cJSON_Print(m);
	FILE *f = fopen(meta_path, "w");
	fputs(txt, f);
	fclose(f);
	free(txt);
	cJSON_Delete(m);
	char out[450], errp[450];
	snprintf(out, sizeof(out), "%s/resume.out", r.dir);
	snprintf(errp, sizeof(errp), "%s/resume.err", r.dir);
	char *argv[] = { (char *)tu_agentperf(), "record", "-q", "--resume", p, NULL };
	int rc = tu_run(argv, out, errp);
	if (rc) {
		char *e = tu_slurp(errp);
		fprintf(stderr, "resume: %s\n", e);
		free(e);
	}
	assert_int_equal(rc, 0);
	/* Three attempts again: the policy came back with the run's options. */
	expect_task(&r, "simple_0", "3", "1", "3");
	char *rep = tu_slurp(out);
	assert_non_null(strstr(rep, "policy    max_attempts 3, retry plain, max_steps 1 "
				    "(command line: max_attempts)"));
	free(rep);
	run_free(&r);
	tu_fake_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_max_attempts),
		cmocka_unit_test(test_policy_repair_message),
		cmocka_unit_test(test_policy_resume),
		cmocka_unit_test(test_folder_and_category_table),
	};
	return cmocka_run_group_tests_name("bfcl (fake server)", tests, NULL, NULL);
}
