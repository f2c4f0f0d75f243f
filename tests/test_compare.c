/*
 * Comparison (harness/compare.c): the cascade and breakeven arithmetic on
 * hand-made tasks, then `agentperf record` of a "small model" that fails
 * some tasks (tests/fake/cascade-small.rules) and a "large model" that
 * succeeds (cascade-large.rules) on tests/data/cascade.jsonl, followed by
 * `agentperf diff` and `agentperf report --utilization`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include <math.h>

#include "compare.h"
#include "runutil.h"

static struct casc_task mk(const char *id, const char *cat, bool ok, int k, int attempts,
			   double per_attempt)
{
	struct casc_task t = { .repeat = 1, .success = ok, .k_success = k, .attempts = attempts };
	snprintf(t.id, sizeof(t.id), "%s", id);
	snprintf(t.category, sizeof(t.category), "%s", cat);
	for (int i = 1; i <= attempts; i++) {
		t.cum_j[i] = per_attempt * i;
		t.cum_usd[i] = per_attempt * i / 1000;
	}
	return t;
}

static void test_cascade_by_hand(void **state)
{
	(void)state;
	/* Small model: t1 right at attempt 1, t2 at attempt 2, t3 never (2 attempts);
	 * each attempt costs 1 J. Large: all right at once, 10 J each. */
	struct casc_task a[] = { mk("t1", "x", true, 1, 1, 1), mk("t2", "x", true, 2, 2, 1),
				 mk("t3", "y", false, 0, 2, 1) };
	struct casc_task b[] = { mk("t1", "x", true, 1, 1, 10), mk("t2", "x", true, 1, 1, 10),
				 mk("t3", "y", true, 1, 1, 10) };
	struct casc_row r;
	/* k = 0: the large model alone: 30 J, 3 successes, nothing handled small. */
	cascade_compute(a, 3, b, 3, 0, NULL, ESC_ORACLE, &r);
	assert_int_equal(r.tasks, 3);
	assert_int_equal(r.successes, 3);
	assert_int_equal(r.small_handled, 0);
	assert_true(fabs(r.j - 30) < 1e-12);
	/* k = 1: t1 small (1 J); t2 1 J + 10 J; t3 1 J + 10 J = 23 J; one handled small. */
	cascade_compute(a, 3, b, 3, 1, NULL, ESC_ORACLE, &r);
	assert_int_equal(r.small_handled, 1);
	assert_true(fabs(r.j - 23) < 1e-12);
	assert_true(fabs(r.usd - 0.023) < 1e-12);
	/* k = 2: t1 1 J; t2 2 J; t3 2 J + 10 J = 15 J; two handled small. */
	cascade_compute(a, 3, b, 3, 2, NULL, ESC_ORACLE, &r);
	assert_int_equal(r.small_handled, 2);
	assert_int_equal(r.successes, 3);
	assert_true(fabs(r.j - 15) < 1e-12);
	/* By category, k = 2: x fully small, y not at all. */
	cascade_compute(a, 3, b, 3, 2, "x", ESC_ORACLE, &r);
	assert_int_equal(r.tasks, 2);
	assert_int_equal(r.small_handled, 2);
	cascade_compute(a, 3, b, 3, 2, "y", ESC_ORACLE, &r);
	assert_int_equal(r.tasks, 1);
	assert_int_equal(r.small_handled, 0);
	/* A task the large run lacks is left out and counted. */
	cascade_compute(a, 3, b, 2, 1, NULL, ESC_ORACLE, &r);
	assert_int_equal(r.unmatched, 1);
	assert_int_equal(r.tasks, 2);
}

static void test_breakeven_by_hand(void **state)
{
	(void)state;
	/* A spent 20 J on 4 tasks in 8 attempts: 5 J a task, 2.5 J an attempt. B: 10 J per
	 * success. A equals B at 5 / 10 = 50 % success, or 10 / 2.5 = 4 attempts per success. */
	struct breakeven be = breakeven_compute(20, 4, 8, 10);
	assert_true(fabs(be.success_rate - 0.5) < 1e-12);
	assert_true(fabs(be.attempts_per_success - 4) < 1e-12);
	/* A task of A costs more than a success of B: breakeven above 100 %, said as such. */
	be = breakeven_compute(60, 4, 8, 10);
	assert_true(be.success_rate > 1);
	/* No figure for B: not computable, never 0. */
	be = breakeven_compute(20, 4, 8, NAN);
	assert_true(isnan(be.success_rate));
}

/* Records one run of a workload against a fake server; returns 0 on success. */
static int record_w(const char *workload, const char *rules, const char *base, const char *id,
		    const char *model, const char *extra1, const char *extra2)
{
	struct tu_server s;
	if (tu_fake_start(&s, rules))
		return -1;
	char spec[256];
	snprintf(spec, sizeof(spec), "openai:url=http://127.0.0.1:%d/v1,model=%s,stream=0", s.port,
		 model);
	char *argv[32] = { (char *)tu_agentperf(), "record", "-q", "-w", (char *)workload,
			   "-b", spec, "-r", "2", "-o", (char *)base, "--run-id", (char *)id,
			   "--no-energy", "--profile", "tests/data/profile-local.json" };
	int n = 16;
	if (extra1)
		argv[n++] = (char *)extra1;
	if (extra2)
		argv[n++] = (char *)extra2;
	argv[n] = NULL;
	int rc = tu_run(argv, "/dev/null", NULL);
	tu_fake_stop(&s);
	return rc;
}

/* dir/name exists and contains want. */
static void file_has(const char *dir, const char *name, const char *want)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	char *txt = tu_slurp(p);
	if (!txt || !strstr(txt, want))
		fail_msg("%s: no '%s' in:\n%s", p, want, txt ? txt : "(unreadable)");
	free(txt);
}

static int record(const char *rules, const char *base, const char *id, const char *model,
		  const char *extra1, const char *extra2)
{
	return record_w("tests/data/cascade.jsonl", rules, base, id, model, extra1, extra2);
}

/*
 * Detectable against oracle by hand: A costs 1 J per attempt, B 10. a1 right
 * at once; a2 fails twice visibly; a3 fails silently, then is right. k = 2:
 * detectable: a1 (1 J), a2 to B (2 + 10), a3 delivered wrong (1): 2 successes,
 * 1 silent, 14 J. Oracle: a3 right at its 2nd attempt (2 J): 3, 0 silent, 15 J.
 */
static void test_cascade_detectable_by_hand(void **state)
{
	(void)state;
	struct casc_task a[3] = { mk("a1", "", true, 1, 1, 1), mk("a2", "", false, 0, 2, 1),
				  mk("a3", "", true, 2, 2, 1) };
	struct casc_task b[3] = { mk("a1", "", true, 1, 1, 10), mk("a2", "", true, 1, 1, 10),
				  mk("a3", "", true, 1, 1, 10) };
	a[0].ok[1] = 1;
	a[1].vis[1] = a[1].vis[2] = 1;
	a[2].vis[1] = 0;
	a[2].ok[2] = 1;
	for (int i = 0; i < 3; i++)
		b[i].ok[1] = 1;
	struct casc_row r;
	cascade_compute(a, 3, b, 3, 2, NULL, ESC_DETECTABLE, &r);
	assert_int_equal(r.successes, 2);
	assert_int_equal(r.silent, 1);
	assert_int_equal(r.small_handled, 2);
	assert_true(fabs(r.j - 14) < 1e-12);
	cascade_compute(a, 3, b, 3, 2, NULL, ESC_ORACLE, &r);
	assert_int_equal(r.successes, 3);
	assert_int_equal(r.silent, 0);
	assert_true(fabs(r.j - 15) < 1e-12);
	/* Visibility unknown (a run before failure_visible): counted as visible, as the oracle. */
	a[2].vis[1] = -1;
	cascade_compute(a, 3, b, 3, 2, NULL, ESC_DETECTABLE, &r);
	assert_int_equal(r.successes, 3);
	assert_int_equal(r.silent, 0);
	assert_int_equal(escalate_parse("oracle"), ESC_ORACLE);
	assert_true(escalate_parse("truth") < 0);
}

/*
 * End to end on a fakeserver whose wrong answers are partly detectable
 * (tests/fake/cascade-detect-small.rules): of 5 tasks, 1 right, 3 visible
 * failures (no JSON, empty answer, a runtime-verifiable check) and 1 silent
 * wrong JSON value. Detectable: 4 of 5 succeed, 1 silent, A handles 2 (its
 * success and the delivered wrong answer); oracle: 5 of 5, A handles 1.
 */
static void test_cascade_detectable_end_to_end(void **state)
{
	(void)state;
	char *d = tu_tmpdir();
	assert_non_null(d);
	char base[300], a[400], b[400], csv[400], out[400];
	snprintf(base, sizeof(base), "%s/results", d);
	assert_int_equal(record_w("tests/data/cascade-detect.jsonl", "tests/fake/cascade-detect-small.rules",
				  base, "small", "small", NULL, NULL), 0);
	assert_int_equal(record_w("tests/data/cascade-detect.jsonl", "tests/fake/cascade-detect-large.rules",
				  base, "large", "large", NULL, NULL), 0);
	snprintf(a, sizeof(a), "%s/small", base);
	snprintf(b, sizeof(b), "%s/large", base);
	/* attempts.csv: visible 1 on prose/empty/verified, 0 on wrong, empty for the success. */
	file_has(a, "attempts.csv", ",prose,json,mono,-1,,1,0,");
	char p[500];
	snprintf(p, sizeof(p), "%s/attempts.csv", a);
	char *at = tu_slurp(p);
	assert_non_null(at);
	/* by column: more columns may follow failure_visible */
	assert_int_equal(ru_rows(at, "failure_visible", "1"), 2 * 2 * 3); /* 3 tasks x 2 attempts x 2 repeats */
	assert_int_equal(ru_rows(at, "failure_visible", "0"), 2 * 2);
	free(at);
	snprintf(csv, sizeof(csv), "%s/det", d);
	snprintf(out, sizeof(out), "%s/det.txt", d);
	char *argv[] = { (char *)tu_agentperf(), "diff", a, b, "--csv", csv, NULL };
	assert_int_equal(tu_run(argv, out, NULL), 0);
	file_has(d, "det.txt", "--escalate-on detectable");
	file_has(csv, "cascade.csv", "\n1,0,all,10,10,1,0,0,");
	file_has(csv, "cascade.csv", "\n1,1,all,10,8,0.8,4,0.4,");
	file_has(csv, "cascade.csv", ",0,2,0.2,detectable\n1,1,json,");
	file_has(csv, "cascade.csv", "\n1,2,all,10,8,0.8,4,0.4,");
	snprintf(csv, sizeof(csv), "%s/orc", d);
	snprintf(out, sizeof(out), "%s/orc.txt", d);
	char *argv2[] = { (char *)tu_agentperf(), "diff", a, b, "--csv", csv, "--escalate-on",
			  "oracle", NULL };
	assert_int_equal(tu_run(argv2, out, NULL), 0);
	file_has(d, "orc.txt", "UPPER BOUND");
	file_has(csv, "cascade.csv", "\n1,1,all,10,10,1,2,0.2,");
	file_has(csv, "cascade.csv", ",0,0,0,oracle\n");
	char *bad[] = { (char *)tu_agentperf(), "diff", a, b, "--escalate-on", "truth", NULL };
	assert_int_equal(tu_run(bad, "/dev/null", out), 2);
	file_has(d, "orc.txt", "--escalate-on: detectable or oracle");
	tu_rmrf(d);
	free(d);
}

static void test_diff_end_to_end(void **state)
{
	(void)state;
	char *d = tu_tmpdir();
	assert_non_null(d);
	char base[300], a[400], b[400], csv[400], out[400], p[500];
	snprintf(base, sizeof(base), "%s/results", d);
	assert_int_equal(record("tests/fake/cascade-small.rules", base, "small", "small", NULL, NULL), 0);
	assert_int_equal(record("tests/fake/cascade-large.rules", base, "large", "large", "--profile",
				"tests/data/profile-large.json"), 0);
	snprintf(a, sizeof(a), "%s/small", base);
	snprintf(b, sizeof(b), "%s/large", base);
	snprintf(csv, sizeof(csv), "%s/cmp", d);
	snprintf(out, sizeof(out), "%s/diff.txt", d);
	char *argv[] = { (char *)tu_agentperf(), "diff", a, b, "--csv", csv, "--escalate-on", "oracle",
			 NULL };
	assert_int_equal(tu_run(argv, out, NULL), 0);
	char *txt = tu_slurp(out);
	assert_non_null(txt);
	assert_non_null(strstr(txt, "breakeven"));
	assert_non_null(strstr(txt, "cascade what-if"));
	/* Paired over the 8 task runs: A (small) fails hard-1 in both repeats where B
	 * succeeds: b = 0, c = 2, exact McNemar p = 2 x 1/4 = 0.5. */
	assert_non_null(strstr(txt, "success: both 6, A only 0, B only 2, neither 0; McNemar p = 0.5 "));
	assert_non_null(strstr(txt, "$/success B/A"));
	free(txt);

	/* cascade.csv: 4 tasks x 2 repeats. easy-1, easy-2 pass at attempt 1, medium-1 at 2,
	 * hard-1 never: A handles 4/8 at k=1, 6/8 at k=2; arith 2/4 then 4/4; logic 2/4, 2/4. */
	snprintf(p, sizeof(p), "%s/cascade.csv", csv);
	char *cc = tu_slurp(p);
	assert_non_null(cc);
	assert_non_null(strstr(cc, "\n1,0,all,8,8,1,0,0,"));
	assert_non_null(strstr(cc, "\n1,1,all,8,8,1,4,0.5,"));
	assert_non_null(strstr(cc, "\n1,2,all,8,8,1,6,0.75,"));
	assert_non_null(strstr(cc, "\n1,2,arith,4,4,1,4,1,"));
	assert_non_null(strstr(cc, "\n1,2,logic,4,4,1,2,0.5,"));
	/* k = 0 is the large model alone: per call (60 x 1 + 40 x 0.5 + 10 x 4) / 1e6 =
	 * 1.2e-4 $; modeled 3600 x (0.01 + 100 x 1e-4 + 10 x 1e-3) x 1.1 = 118.8 J. */
	assert_non_null(strstr(cc, "\n1,0,all,8,8,1,0,0,118.8,0.00012,0,0,0,oracle\n"));
	free(cc);

	/* diff.csv: success rates 0.75 (6 of 8) and 1, both without spread. */
	snprintf(p, sizeof(p), "%s/diff.csv", csv);
	char *dc = tu_slurp(p);
	assert_non_null(dc);
	assert_non_null(strstr(dc, "\n1,mono,success-rate,0.75,0,2,1,0,2,1.33333333,0,"));
	assert_non_null(strstr(dc, "\n1,mono,cost-$,"));
	free(dc);
	snprintf(p, sizeof(p), "%s/sensitivity.csv", csv);
	char *sc = tu_slurp(p);
	assert_non_null(sc);
	/* 7 utilizations x 5 PUEs for each run, plus the header. */
	assert_int_equal(tu_count(sc, "\n"), 1 + 2 * 35);
	free(sc);

	/* plots/plot.sh takes the diff folder too: the cascade settings become a line of
	 * points on the $ frontier, k = 0..2, from the "all" rows above. */
	char pdir[420], plog[420];
	snprintf(pdir, sizeof(pdir), "%s/plots", d);
	snprintf(plog, sizeof(plog), "%s/plot.txt", d);
	/* A run with no success is drawn as such, not dropped (plot.sh's data selection). */
	char none[400];
	assert_int_equal(record("tests/fake/always-wrong.rules", base, "none", "none", NULL, NULL), 0);
	snprintf(none, sizeof(none), "%s/none", base);
	char *pargv[] = { "plots/plot.sh", "-o", pdir, "--size", "single", a, b, none, csv, NULL };
	if (tu_run(pargv, plog, plog)) {
		char *l = tu_slurp(plog);
		fail_msg("plots/plot.sh failed (gnuplot-nox missing? scripts/deps.sh installs it):\n%s",
			 l ? l : "");
	}
	snprintf(p, sizeof(p), "%s/frontier-cascade-1.csv", pdir);
	char *fc = tu_slurp(p);
	assert_non_null(fc);
	/* k = 0 is exact (the large model's API price); from k = 1 the small model's
	 * share costs its measured wall time, so only the shape is fixed: cheaper
	 * with each k as it takes more tasks. */
	const char *want = "k,success_pct,x\n0,100,0.00012\n1,100,";
	assert_memory_equal(fc, want, strlen(want));
	assert_int_equal(tu_count(fc, "\n"), 4);
	double x1 = strtod(strstr(fc, "\n1,100,") + 7, NULL);
	double x2 = strtod(strstr(fc, "\n2,100,") + 7, NULL);
	assert_true(x1 > 0 && x1 < 0.00012 && x2 > 0 && x2 < x1);
	free(fc);
	/* energy-per-success.csv: the remote run at the report's total, 118.8 J of
	 * MODELED provider facility energy (no client energy: --no-energy), named by
	 * its model, not its run id; the run without a success flagged, not left out. */
	file_has(pdir, "energy-per-success.csv", "\nlarge,remote,0,0,0,0,0,118.8,118.8,0,0,100,0,0.00012,");
	file_has(pdir, "energy-per-success.csv", "\nnone,local,0,0,0,0,0,0,0,0,1,0,0,,");
	file_has(pdir, "frontier.csv", "\nnone,0,0,,,1\n");
	file_has(pdir, "frontier.csv", "\nlarge,100,0,0.00012,0,0\n");
	struct stat st;
	snprintf(p, sizeof(p), "%s/frontier-energy.png", pdir);
	assert_int_equal(stat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/frontier.png", pdir);
	assert_int_equal(stat(p, &st), 0);
	assert_true(st.st_size > 1000);

	/* report --utilization 0.25 recomputes from the files: same tokens, new u in the text. */
	char *rargv[] = { (char *)tu_agentperf(), "report", a, "--utilization", "0.25", NULL };
	assert_int_equal(tu_run(rargv, out, NULL), 0);
	txt = tu_slurp(out);
	assert_non_null(txt);
	assert_non_null(strstr(txt, "busy / u"));
	/* Over tasks: logic is 2 of 4 task runs, Wilson [15.0, 85.0] %; arith 4 of 4. */
	assert_non_null(strstr(txt, "over tasks, monolithic form (8 task runs over 4 task ids"));
	assert_non_null(strstr(txt, "   logic                     4    50.00 [15.0, 85.0]  "));
	assert_non_null(strstr(txt, "   arith                     4   100.00 [51.0, 100.0]"));
	assert_non_null(strstr(txt, "<not supported> J      device-energy"));
	free(txt);

	/* report --json/--csv take the override too, and name the run in every row. */
	char js[420], rc_dir[420];
	snprintf(js, sizeof(js), "%s/r.json", d);
	snprintf(rc_dir, sizeof(rc_dir), "%s/rcsv", d);
	char *jargv[] = { (char *)tu_agentperf(), "report", a, "--utilization", "0.25", "--json", js,
			  "--csv", rc_dir, "--percentiles", "50,99", NULL };
	assert_int_equal(tu_run(jargv, out, NULL), 0);
	txt = tu_slurp(out);
	assert_non_null(strstr(txt, "ttft-p99"));
	assert_null(strstr(txt, "ttft-p95"));
	free(txt);
	txt = tu_slurp(js);
	assert_non_null(txt);
	cJSON *j = cJSON_Parse(txt);
	assert_non_null(j);
	free(txt);
	const cJSON *run = cJSON_GetObjectItem(j, "run");
	assert_string_equal(cJSON_GetObjectItem(run, "run_id")->valuestring, "small");
	assert_string_equal(cJSON_GetObjectItem(run, "model")->valuestring, "small");
	assert_string_equal(cJSON_GetObjectItem(run, "workload")->valuestring, "cascade");
	const cJSON *u = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(j, "profiles"), "local"), "params"),
		"utilization"), "value");
	assert_true(fabs(u->valuedouble - 0.25) < 1e-12);
	const cJSON *ot = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "forms"),
								  "mono"), "over_tasks");
	const cJSON *w = cJSON_GetObjectItem(ot, "success_rate_wilson95");
	/* 6 of 8: Wilson [0.4093, 0.9285] */
	assert_true(fabs(cJSON_GetObjectItem(w, "lo")->valuedouble - 0.40928) < 1e-4);
	assert_true(fabs(cJSON_GetObjectItem(w, "hi")->valuedouble - 0.92852) < 1e-4);
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(ot, "categories"), "logic"));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(ot,
		"energy_j_per_success_bootstrap95"), "estimate"))); /* no energy: null, not 0 */
	cJSON_Delete(j);
	file_has(rc_dir, "summary.csv", ",run_id,backend_label,model,model_sha256,workload,"
				       "workload_sha256,agentperf_version\n");
	file_has(rc_dir, "summary.csv", ",small,openai:small@127.0.0.1:");
	file_has(rc_dir, "over-tasks.csv",
		 "\n1,mono,logic,4,2,2,0.5,0.150038989,0.849961011,,,,total,");
	/* The run's own summary.csv has the identity columns too. */
	file_has(a, "summary.csv", ",small,openai:small@127.0.0.1:");
	/* diff --csv adds paired.csv: b = 0, c = 2, McNemar p 0.5; --json parses. */
	file_has(csv, "paired.csv", "\n1,mono,all,8,4,6,0,2,0,0.5,");
	char *dargv[] = { (char *)tu_agentperf(), "diff", a, b, "--json", js, NULL };
	assert_int_equal(tu_run(dargv, out, NULL), 0);
	txt = tu_slurp(js);
	j = cJSON_Parse(txt);
	free(txt);
	assert_non_null(j);
	assert_true(fabs(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "paired"), "mcnemar_exact_p")
				 ->valuedouble - 0.5) < 1e-12);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "cascade")), 3);
	cJSON_Delete(j);
	/* table: both runs in one Markdown table, the same figures as CSV, by category. */
	snprintf(p, sizeof(p), "%s/table.md", d);
	char *targv[] = { (char *)tu_agentperf(), "table", a, b, "--md", NULL };
	assert_int_equal(tu_run(targv, p, NULL), 0);
	file_has(d, "table.md", "| --- | --- | --- | --- | ---: |");
	file_has(d, "table.md", "| small | cascade | all | 8 | 75.0 [40.9, 92.9] | 2.00 |");
	file_has(d, "table.md", "| large | cascade | all | 8 | 100.0 [67.6, 100.0] | 1.00 |");
	snprintf(p, sizeof(p), "%s/table.csv", d);
	char *t2[] = { (char *)tu_agentperf(), "table", a, b, "--csv", "--by", "category", NULL };
	assert_int_equal(tu_run(t2, p, NULL), 0);
	file_has(d, "table.csv", ",small,cascade,logic,mono,4,2,2,0.5,0.150038989,0.849961011,3,");
	snprintf(p, sizeof(p), "%s/table.tex", d);
	char *t3[] = { (char *)tu_agentperf(), "table", a, "--latex", NULL };
	assert_int_equal(tu_run(t3, p, NULL), 0);
	file_has(d, "table.tex", "success \\% [95 \\% CI]");
	file_has(d, "table.tex", "\\textless{}not counted\\textgreater{}");
	char *t4[] = { (char *)tu_agentperf(), "table", NULL };
	assert_int_equal(tu_run(t4, "/dev/null", "/dev/null"), 2);
	/* A remote-looking backend whose model has no profile is refused, naming the file. */
	char *bad[] = { (char *)tu_agentperf(), "stat", "-q", "-w", "tests/data/cascade.jsonl",
			"-b", "openai:url=https://api.example.invalid/v1,model=nope", "--profile",
			"tests/data/profile-local.json", NULL };
	snprintf(p, sizeof(p), "%s/err.txt", d);
	assert_int_equal(tu_run(bad, NULL, p), 2);
	txt = tu_slurp(p);
	assert_non_null(txt);
	assert_non_null(strstr(txt, "workloads/profiles/nope.json"));
	free(txt);
	tu_rmrf(d);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cascade_by_hand),
		cmocka_unit_test(test_breakeven_by_hand),
		cmocka_unit_test(test_diff_end_to_end),
		cmocka_unit_test(test_cascade_detectable_by_hand),
		cmocka_unit_test(test_cascade_detectable_end_to_end),
	};
	return cmocka_run_group_tests_name("compare (diff, breakeven, cascade)", tests, NULL, NULL);
}
