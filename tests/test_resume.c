/*
 * Interruption and resume (issue 6): SIGINT/SIGTERM mid-run leave complete,
 * parseable files and exit 130; kill -9 then `record --resume DIR` finishes
 * the run with every (repeat, task, form) exactly once; torn last lines are
 * repaired; a changed workload is refused; planted symlinks are never
 * followed. The fake server answers every call after 300 ms
 * (tests/fake/slow.rules), so signals land while calls are in flight.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "runutil.h"

#define NTASKS 12

struct rr {
	char dir[256], wl[300], res[300], rdir[320], out[300], err[300];
	char spec[256];
	struct tu_server s;
};

static void rr_setup(struct rr *r)
{
	char *d = tu_tmpdir();
	assert_non_null(d);
	snprintf(r->dir, sizeof(r->dir), "%s", d);
	free(d);
	snprintf(r->wl, sizeof(r->wl), "%s/w.jsonl", r->dir);
	snprintf(r->res, sizeof(r->res), "%s/results", r->dir);
	snprintf(r->rdir, sizeof(r->rdir), "%s/r", r->res);
	snprintf(r->out, sizeof(r->out), "%s/stdout", r->dir);
	snprintf(r->err, sizeof(r->err), "%s/stderr", r->dir);
	const char *prompts[NTASKS];
	for (int i = 0; i < NTASKS; i++)
		prompts[i] = "What is the capital of France?";
	assert_int_equal(ru_workload(r->wl, "resume", prompts, NTASKS, 1), 0);
	assert_int_equal(tu_fake_start(&r->s, "tests/fake/slow.rules"), 0);
	snprintf(r->spec, sizeof(r->spec), "openai:url=http://127.0.0.1:%d/v1,stream=0,retries=0",
		 r->s.port);
}

static void rr_free(struct rr *r)
{
	tu_fake_stop(&r->s);
	tu_rmrf(r->dir);
}

static pid_t rr_start(struct rr *r)
{
	char *argv[] = { (char *)tu_agentperf(), "record", "-q", "--no-energy", "-w", r->wl, "-b",
			 r->spec, "-r", "2", "-c", "2", "-o", r->res, "--run-id", "r", NULL };
	return ru_spawn(argv, r->out, r->err);
}

static int rr_resume(struct rr *r)
{
	char *argv[] = { (char *)tu_agentperf(), "record", "--resume", r->rdir, "-q", NULL };
	return tu_run(argv, r->out, r->err);
}

static char *rfile(const struct rr *r, const char *name)
{
	char p[400];
	snprintf(p, sizeof(p), "%s/%s", r->rdir, name);
	return tu_slurp(p);
}

/* Waits until tasks.csv holds at least n rows (calls are finishing). */
static void wait_rows(const struct rr *r, int n)
{
	for (int i = 0; i < 2000; i++) {
		char *t = rfile(r, "tasks.csv");
		int rows = t ? ru_rows(t, NULL, NULL) : 0;
		free(t);
		if (rows >= n)
			return;
		ru_sleep_ms(5);
	}
	fail_msg("tasks.csv never reached %d rows", n);
}

/* Every line of a CSV ends with its newline and has the header's field count. */
static void assert_csv_complete(const char *csv)
{
	assert_non_null(csv);
	size_t len = strlen(csv);
	assert_true(len > 0 && csv[len - 1] == '\n');
	int cols = 0;
	char f[256];
	while (ru_field(csv, cols, f, sizeof(f)), *f)
		cols++;
	for (const char *l = strchr(csv, '\n') + 1; *l; l = strchr(l, '\n') + 1) {
		/* The last column may be empty: count separators outside quotes. */
		int n = 1;
		bool q = false;
		for (const char *p = l; *p && *p != '\n'; p++) {
			if (*p == '"')
				q = !q;
			else if (*p == ',' && !q)
				n++;
		}
		assert_int_equal(n, cols);
	}
}

/*
 * Each (repeat, seq, form) exactly once in tasks.csv and, with one call per
 * task, in calls.csv; returns the number of tasks.
 */
static int assert_exactly_once(const char *csv)
{
	int rep = ru_col(csv, "repeat"), seq = ru_col(csv, "seq"), form = ru_col(csv, "form");
	char seen[3][NTASKS][2];
	memset(seen, 0, sizeof(seen));
	int n = 0;
	for (const char *l = strchr(csv, '\n') + 1; *l; l = strchr(l, '\n') + 1) {
		char a[32], b[32], c[32];
		ru_field(l, rep, a, sizeof(a));
		ru_field(l, seq, b, sizeof(b));
		ru_field(l, form, c, sizeof(c));
		int ri = atoi(a), si = atoi(b), fi = !strcmp(c, "decomp");
		assert_true(ri >= 1 && ri <= 2 && si >= 0 && si < NTASKS);
		if (seen[ri][si][fi])
			fail_msg("repeat %d seq %d %s appears twice", ri, si, c);
		seen[ri][si][fi] = 1;
		n++;
	}
	return n;
}

static cJSON *load_meta(const struct rr *r)
{
	char *m = rfile(r, "meta.json");
	assert_non_null(m);
	cJSON *j = cJSON_Parse(m);
	free(m);
	assert_non_null(j);
	return j;
}

static void interrupt_with(int sig)
{
	struct rr r;
	rr_setup(&r);
	pid_t p = rr_start(&r);
	wait_rows(&r, 3);
	kill(p, sig);
	int rc = ru_wait(p, NULL);
	assert_int_equal(rc, 130);
	char *calls = rfile(&r, "calls.csv"), *tasks = rfile(&r, "tasks.csv"),
	     *att = rfile(&r, "attempts.csv"), *out = tu_slurp(r.out);
	assert_csv_complete(calls);
	assert_csv_complete(tasks);
	assert_csv_complete(att);
	/* Two workers were mid-call: those calls say so. */
	assert_true(ru_rows(calls, "status", "interrupted") >= 1);
	assert_true(ru_rows(tasks, "outcome", "interrupted") >= 1);
	assert_true(ru_rows(tasks, NULL, NULL) < 2 * NTASKS);
	cJSON *m = load_meta(&r);
	assert_string_equal(cJSON_GetObjectItem(m, "status")->valuestring, "interrupted");
	cJSON_Delete(m);
	/* The report printed what was measured, interrupted tasks apart. */
	assert_non_null(strstr(out, "tasks"));
	assert_non_null(strstr(out, "interrupted-tasks"));
	assert_non_null(strstr(out, "interrupted 1") ? out : strstr(out, "interrupted 2"));
	/* report DIR reads the same folder back. */
	char *argv[] = { (char *)tu_agentperf(), "report", r.rdir, NULL };
	assert_int_equal(tu_run(argv, "/dev/null", NULL), 0);
	free(calls);
	free(tasks);
	free(att);
	free(out);
	rr_free(&r);
}

static void test_sigint_mid_run(void **state)
{
	(void)state;
	interrupt_with(SIGINT);
}

static void test_sigterm_mid_run(void **state)
{
	(void)state;
	interrupt_with(SIGTERM);
}

/* Finishes an interrupted or killed folder and checks exactly-once. */
static void resume_and_check(struct rr *r)
{
	int rc = rr_resume(r);
	char *err = tu_slurp(r->err);
	if (rc)
		fprintf(stderr, "resume exited %d: %s\n", rc, err);
	free(err);
	assert_int_equal(rc, 0);
	char *calls = rfile(r, "calls.csv"), *tasks = rfile(r, "tasks.csv"),
	     *att = rfile(r, "attempts.csv"), *out = tu_slurp(r->out);
	assert_csv_complete(calls);
	assert_csv_complete(tasks);
	assert_int_equal(assert_exactly_once(tasks), 2 * NTASKS);
	assert_int_equal(assert_exactly_once(calls), 2 * NTASKS);
	assert_int_equal(assert_exactly_once(att), 2 * NTASKS);
	assert_int_equal(ru_rows(tasks, "outcome", "success"), 2 * NTASKS);
	assert_int_equal(ru_rows(calls, "status", "interrupted"), 0);
	/* The report counts each task once: 12 per repeat, all successful. */
	assert_true(tu_report_value(out, "tasks") == NTASKS);
	assert_non_null(strstr(out, "100.00 % success rate"));
	cJSON *m = load_meta(r);
	assert_string_equal(cJSON_GetObjectItem(m, "status")->valuestring, "complete");
	assert_true(cJSON_GetObjectItem(m, "resumed")->valuedouble >= 1);
	/* The original command line stays the run's record. */
	char *av = cJSON_PrintUnformatted(cJSON_GetObjectItem(m, "argv"));
	assert_null(strstr(av, "--resume"));
	free(av);
	cJSON_Delete(m);
	/* Resuming a complete run runs nothing and changes no count. */
	assert_int_equal(rr_resume(r), 0);
	char *tasks2 = rfile(r, "tasks.csv");
	assert_string_equal(tasks, tasks2);
	free(tasks2);
	free(calls);
	free(tasks);
	free(att);
	free(out);
}

static void test_kill9_then_resume(void **state)
{
	(void)state;
	struct rr r;
	rr_setup(&r);
	pid_t p = rr_start(&r);
	wait_rows(&r, 5);
	kill(p, SIGKILL);
	assert_int_equal(ru_wait(p, NULL), 128 + SIGKILL);
	/* What was on disk at the kill: whole rows only, meta.json still "running". */
	char *tasks = rfile(&r, "tasks.csv");
	int before = ru_rows(tasks, NULL, NULL);
	assert_true(before >= 5 && before < 2 * NTASKS);
	free(tasks);
	cJSON *m = load_meta(&r);
	assert_string_equal(cJSON_GetObjectItem(m, "status")->valuestring, "running");
	cJSON_Delete(m);
	resume_and_check(&r);
	/* Only the missing tasks were sent again: the server saw every task once,
	 * plus at most the two calls that were in flight when the kill landed. */
	char *log = tu_slurp(r.s.log);
	int requests = tu_count(log, " POST /v1/chat/completions ");
	fprintf(stderr, "  kill -9 at %d finished tasks: %d requests for %d tasks\n", before,
		requests, 2 * NTASKS);
	assert_true(requests >= 2 * NTASKS && requests <= 2 * NTASKS + 2);
	free(log);
	rr_free(&r);
}

static void test_sigint_then_resume(void **state)
{
	(void)state;
	struct rr r;
	rr_setup(&r);
	pid_t p = rr_start(&r);
	wait_rows(&r, 4);
	kill(p, SIGINT);
	assert_int_equal(ru_wait(p, NULL), 130);
	/* The interrupted tasks' rows are dropped and the tasks run again. */
	resume_and_check(&r);
	rr_free(&r);
}

/* A line cut short by a kill (no newline) is dropped, and its task re-run. */
static void test_torn_last_lines_repaired(void **state)
{
	(void)state;
	struct rr r;
	rr_setup(&r);
	pid_t p = rr_start(&r);
	wait_rows(&r, 6);
	kill(p, SIGKILL);
	ru_wait(p, NULL);
	const char *names[] = { "calls.csv", "attempts.csv", "tasks.csv" };
	for (int i = 0; i < 3; i++) {
		char path[400];
		snprintf(path, sizeof(path), "%s/%s", r.rdir, names[i]);
		FILE *f = fopen(path, "a");
		assert_non_null(f);
		fputs("1,2,11,t11,c,mono,0,succ", f); /* torn: no newline */
		fclose(f);
	}
	resume_and_check(&r);
	rr_free(&r);
}

static void test_resume_refuses_changed_workload(void **state)
{
	(void)state;
	struct rr r;
	rr_setup(&r);
	pid_t p = rr_start(&r);
	wait_rows(&r, 2);
	kill(p, SIGKILL);
	ru_wait(p, NULL);
	char *before = rfile(&r, "tasks.csv");
	FILE *f = fopen(r.wl, "a");
	fputs("{\"id\":\"extra\",\"prompt\":\"x\",\"check\":{\"kind\":\"regex\",\"value\":\".\"}}\n", f);
	fclose(f);
	assert_int_equal(rr_resume(&r), 2);
	char *err = tu_slurp(r.err);
	assert_non_null(strstr(err, "changed since the run"));
	char *after = rfile(&r, "tasks.csv");
	assert_string_equal(before, after);
	free(err);
	free(before);
	free(after);
	rr_free(&r);
}

/* A symlink planted in place of calls.csv: resume refuses, the target is untouched. */
static void test_resume_refuses_planted_symlink(void **state)
{
	(void)state;
	struct rr r;
	rr_setup(&r);
	pid_t p = rr_start(&r);
	wait_rows(&r, 2);
	kill(p, SIGKILL);
	ru_wait(p, NULL);
	char calls[400], victim[400];
	snprintf(calls, sizeof(calls), "%s/calls.csv", r.rdir);
	snprintf(victim, sizeof(victim), "%s/victim.txt", r.dir);
	FILE *f = fopen(victim, "w");
	fputs("precious\n", f);
	fclose(f);
	unlink(calls);
	assert_int_equal(symlink(victim, calls), 0);
	int rc = rr_resume(&r);
	assert_int_not_equal(rc, 0);
	char *err = tu_slurp(r.err);
	assert_non_null(strstr(err, "calls.csv"));
	char *v = tu_slurp(victim);
	assert_string_equal(v, "precious\n");
	free(v);
	free(err);
	rr_free(&r);
}

/* results/<run-id> planted as a symlink (or already there): record refuses. */
static void test_record_refuses_planted_run_folder(void **state)
{
	(void)state;
	struct rr r;
	rr_setup(&r);
	char target[400];
	snprintf(target, sizeof(target), "%s/elsewhere", r.dir);
	assert_int_equal(mkdir(target, 0755), 0);
	assert_int_equal(mkdir(r.res, 0755), 0);
	assert_int_equal(symlink(target, r.rdir), 0);
	pid_t p = rr_start(&r);
	int rc = ru_wait(p, NULL);
	assert_int_not_equal(rc, 0);
	char *err = tu_slurp(r.err);
	assert_non_null(strstr(err, "File exists"));
	free(err);
	/* Nothing was written through the link. */
	char probe[450];
	snprintf(probe, sizeof(probe), "%s/calls.csv", target);
	assert_int_not_equal(access(probe, F_OK), 0);
	snprintf(probe, sizeof(probe), "%s/meta.json", target);
	assert_int_not_equal(access(probe, F_OK), 0);
	rr_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigint_mid_run),
		cmocka_unit_test(test_sigterm_mid_run),
		cmocka_unit_test(test_kill9_then_resume),
		cmocka_unit_test(test_sigint_then_resume),
		cmocka_unit_test(test_torn_last_lines_repaired),
		cmocka_unit_test(test_resume_refuses_changed_workload),
		cmocka_unit_test(test_resume_refuses_planted_symlink),
		cmocka_unit_test(test_record_refuses_planted_run_folder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
