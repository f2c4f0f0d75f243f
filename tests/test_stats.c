/* Statistics: Welford over repeats, histogram percentiles, derived metrics. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "summary.h"
#include "overtasks.h"
#include "taskstat.h"

static void test_welford_matches_two_pass(void **state)
{
	(void)state;
	const double x[] = { 2, 4, 4, 4, 5, 5, 7, 9 };
	struct welford w = { 0 };
	for (size_t i = 0; i < 8; i++)
		welford_add(&w, x[i]);
	/* mean 5; sample variance 32/7 */
	assert_int_equal(w.n, 8);
	assert_true(fabs(w.mean - 5.0) < 1e-12);
	assert_true(fabs(welford_stddev(&w) - sqrt(32.0 / 7.0)) < 1e-12);
	/* perf's +-: stddev / sqrt(n) / mean, in percent */
	assert_true(fabs(welford_rse_pct(&w) - 100.0 * sqrt(32.0 / 7.0) / sqrt(8.0) / 5.0) < 1e-9);
}

static void test_welford_degenerate(void **state)
{
	(void)state;
	struct welford w = { 0 };
	assert_true(welford_stddev(&w) == 0);
	welford_add(&w, 3);
	assert_true(welford_rse_pct(&w) == 0); /* one run: no spread to report */
	struct welford z = { 0 };
	welford_add(&z, 0);
	welford_add(&z, 0);
	assert_true(welford_rse_pct(&z) == 0); /* mean 0: no division */
}

static void test_hist_percentiles_within_bucket_error(void **state)
{
	(void)state;
	static struct hist h;
	memset(&h, 0, sizeof(h));
	assert_true(isnan(hist_pct(&h, 50)));
	/* 1..1000 ms: p50 = 500 ms, p95 = 950 ms, within the 2% bucket width. */
	for (int i = 1; i <= 1000; i++)
		hist_add(&h, i / 1000.0);
	assert_true(fabs(hist_pct(&h, 50) - 0.5) / 0.5 < 0.02);
	assert_true(fabs(hist_pct(&h, 95) - 0.95) / 0.95 < 0.02);
	assert_true(hist_pct(&h, 100) <= 1.0);
	assert_true(hist_pct(&h, 0) >= 0.001);
	hist_add(&h, NAN); /* ignored, not counted */
	assert_int_equal(h.n, 1000);
}

static void test_hist_merge(void **state)
{
	(void)state;
	static struct hist a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	hist_add(&a, 0.010);
	hist_add(&b, 0.020);
	hist_add(&b, 0.030);
	hist_merge(&a, &b);
	assert_int_equal(a.n, 3);
	assert_true(a.min == 0.010 && a.max == 0.030);
	assert_true(fabs(hist_pct(&a, 50) - 0.020) / 0.020 < 0.02);
}

static struct task_rec task(int repeat, int form, bool success, int attempts, int k)
{
	struct task_rec t = { .repeat = repeat, .form = form, .success = success,
			      .attempts = attempts, .k_success = k };
	snprintf(t.outcome, sizeof(t.outcome), "%s", success ? "success" : "failed");
	return t;
}

static void test_metrics_hand_computed(void **state)
{
	(void)state;
	struct run_agg r;
	assert_int_equal(run_agg_init(&r, 2), 0);
	/* Repeat 1: 4 tasks; successes at attempt 1 and 3; 2 failures of 3 attempts. */
	struct task_rec ts[] = { task(1, FORM_MONO, true, 1, 1), task(1, FORM_MONO, true, 3, 3),
				 task(1, FORM_MONO, false, 3, 0), task(1, FORM_MONO, false, 3, 0),
				 /* Repeat 2: 4 tasks, 3 successes, all first try, 1 interrupted. */
				 task(2, FORM_MONO, true, 1, 1), task(2, FORM_MONO, true, 1, 1),
				 task(2, FORM_MONO, true, 1, 1), task(2, FORM_MONO, false, 1, 0) };
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++)
		run_agg_task(&r, &ts[i]);
	struct task_rec intr = task(2, FORM_MONO, false, 1, 0);
	snprintf(intr.outcome, sizeof(intr.outcome), "interrupted");
	run_agg_task(&r, &intr);
	struct call_rec c = { .repeat = 1, .form = FORM_MONO, .prompt_tokens = 100,
			      .completion_tokens = 10, .usage = true, .ttft_s = 0.1, .e2e_s = 0.5,
			      .itl_s = NAN, .out_tps = 25, .srv_prompt_tps = NAN, .srv_gen_tps = NAN,
			      .energy_valid = true, .energy_j = 6, .idle_j = 2 };
	for (int i = 0; i < 10; i++)
		run_agg_call(&r, &c);
	assert_true(form_metric(&r, 1, FORM_MONO, M_TASKS) == 4);
	assert_true(form_metric(&r, 1, FORM_MONO, M_SUCCESS_RATE) == 0.5);
	assert_true(form_metric(&r, 1, FORM_MONO, M_PASS1) == 0.25);
	assert_true(form_metric(&r, 1, FORM_MONO, M_ATTEMPTS_PER_SUCCESS) == 10.0 / 2);
	assert_true(form_metric(&r, 1, FORM_MONO, M_CALLS_PER_SUCCESS) == 10.0 / 2);
	assert_true(form_metric(&r, 1, FORM_MONO, M_PROMPT_PER_SUCCESS) == 1000.0 / 2);
	/* All joules of all attempts, failed ones included, over successes. */
	assert_true(form_metric(&r, 1, FORM_MONO, M_ENERGY_PER_SUCCESS) == 60.0 / 2);
	assert_true(form_metric(&r, 1, FORM_MONO, M_NET_ENERGY_PER_SUCCESS) == 40.0 / 2);
	/* The interrupted task counts neither way. */
	assert_true(form_metric(&r, 2, FORM_MONO, M_TASKS) == 4);
	assert_true(form_metric(&r, 2, FORM_MONO, M_SUCCESS_RATE) == 0.75);
	/* Repeat 2 has no calls: no energy figure at all, not zero. */
	assert_true(isnan(form_metric(&r, 2, FORM_MONO, M_ENERGY_J)));
	struct welford w = run_metric(&r, FORM_MONO, M_SUCCESS_RATE);
	assert_int_equal(w.n, 2);
	assert_true(fabs(w.mean - 0.625) < 1e-12);
	/* A form that never ran has no figures. */
	assert_true(isnan(form_metric(&r, 1, FORM_DECOMP, M_TASKS)));
	run_agg_free(&r);
}

static void test_no_success_is_not_zero_or_infinity(void **state)
{
	(void)state;
	struct run_agg r;
	assert_int_equal(run_agg_init(&r, 1), 0);
	struct task_rec t = task(1, FORM_MONO, false, 2, 0);
	run_agg_task(&r, &t);
	assert_true(isnan(form_metric(&r, 1, FORM_MONO, M_ATTEMPTS_PER_SUCCESS)));
	assert_true(isnan(form_metric(&r, 1, FORM_MONO, M_ENERGY_PER_SUCCESS)));
	assert_true(form_metric(&r, 1, FORM_MONO, M_SUCCESS_RATE) == 0);
	run_agg_free(&r);
}

static void test_paired_slot_only_counts_tasks_with_both_forms(void **state)
{
	(void)state;
	struct run_agg r;
	assert_int_equal(run_agg_init(&r, 1), 0);
	struct task_rec a = task(1, FORM_MONO, true, 1, 1), b = task(1, FORM_MONO, true, 1, 1);
	a.paired = true;
	run_agg_task(&r, &a);
	run_agg_task(&r, &b);
	assert_true(form_metric(&r, 1, FORM_MONO, M_TASKS) == 2);
	assert_true(form_metric(&r, 1, AGG_MONO_PAIRED, M_TASKS) == 1);
	run_agg_free(&r);
}


#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) < (tol))

/* Wilson intervals worked by hand (z = 1.96): 8/10 -> [0.4902, 0.9433],
 * 0/10 -> [0, z^2/(n+z^2)] = [0, 0.2775], 10/10 -> [n/(n+z^2), 1] = [0.7225, 1]. */
static void test_wilson_hand_computed(void **state)
{
	(void)state;
	struct ts_ci w = ts_wilson(8, 10, 1.96);
	NEAR(w.est, 0.8, 1e-12);
	NEAR(w.lo, 0.49016, 1e-4);
	NEAR(w.hi, 0.94332, 1e-4);
	w = ts_wilson(0, 10, 1.96);
	NEAR(w.lo, 0, 1e-12);
	NEAR(w.hi, 3.8416 / 13.8416, 1e-4);
	w = ts_wilson(10, 10, 1.96);
	NEAR(w.lo, 10 / 13.8416, 1e-4);
	NEAR(w.hi, 1, 1e-12);
	w = ts_wilson(2, 4, 1.96);
	NEAR(w.lo, 0.15004, 1e-4);
	NEAR(w.hi, 0.84996, 1e-4);
	assert_true(isnan(ts_wilson(0, 0, 1.96).est)); /* no tasks: no rate, not 0 */
}

/* Exact McNemar: b = 1, c = 6 -> 2 * (C(7,0) + C(7,1)) / 2^7 = 2 * 8/128 = 0.125;
 * b = 0, c = 10 -> 2/1024; b = c -> 1 (capped); no discordant pair -> 1. */
static void test_mcnemar_hand_computed(void **state)
{
	(void)state;
	NEAR(ts_mcnemar_exact_p(1, 6), 0.125, 1e-12);
	NEAR(ts_mcnemar_exact_p(6, 1), 0.125, 1e-12);
	NEAR(ts_mcnemar_exact_p(0, 10), 2.0 / 1024, 1e-12);
	NEAR(ts_mcnemar_exact_p(5, 5), 1.0, 1e-12);
	NEAR(ts_mcnemar_exact_p(0, 0), 1.0, 1e-12);
	/* b + c = 2000 stays finite (log space), and a 1000/1000 split is no evidence. */
	NEAR(ts_mcnemar_exact_p(1000, 1000), 1.0, 1e-9);
	assert_true(ts_mcnemar_exact_p(900, 1100) < 1e-4);
}

/*
 * Two tasks, J 1 and 3, one success each: a resample is {1,1} (ratio 1,
 * probability 1/4), {1,3} (2, 1/2) or {3,3} (3, 1/4), so the 95% interval
 * is [1, 3] around 2. J 2 and 2 with successes 0 and 1: {t1,t1} has no
 * success (probability 1/4): the upper end is unbounded, the lower 2.
 */
static void test_bootstrap_ratio_hand_computed(void **state)
{
	(void)state;
	const double j[] = { 1, 3 }, s[] = { 1, 1 };
	struct ts_ci ci;
	assert_int_equal(ts_boot_ratio(j, s, 2, &ts_boot_default, &ci), 0);
	NEAR(ci.est, 2, 1e-12);
	NEAR(ci.lo, 1, 1e-12);
	NEAR(ci.hi, 3, 1e-12);
	const double j2[] = { 2, 2 }, s2[] = { 0, 1 };
	assert_int_equal(ts_boot_ratio(j2, s2, 2, &ts_boot_default, &ci), 0);
	NEAR(ci.est, 4, 1e-12);
	NEAR(ci.lo, 2, 1e-12);
	assert_true(isinf(ci.hi));
	/* Equal tasks: no spread whatever is drawn. */
	const double j3[] = { 5, 5, 5 }, s3[] = { 1, 1, 1 };
	assert_int_equal(ts_boot_ratio(j3, s3, 3, &ts_boot_default, &ci), 0);
	NEAR(ci.lo, 5, 1e-12);
	NEAR(ci.hi, 5, 1e-12);
	/* Seeded: the same call gives the same interval. */
	const double j4[] = { 1, 7, 2, 9, 4 }, s4[] = { 1, 0, 1, 1, 1 };
	struct ts_ci c1, c2;
	ts_boot_ratio(j4, s4, 5, &ts_boot_default, &c1);
	ts_boot_ratio(j4, s4, 5, &ts_boot_default, &c2);
	assert_true(c1.lo == c2.lo && c1.hi == c2.hi);
	assert_true(c1.lo <= c1.est && c1.est <= c1.hi);
	/* A task without a figure: not counted, never 0. */
	const double j5[] = { 1, NAN };
	assert_int_equal(ts_boot_ratio(j5, s, 2, &ts_boot_default, &ci), 0);
	assert_true(isnan(ci.est) && isnan(ci.lo));
}

/*
 * Paired: B costs exactly twice A on every task -> ratio 2 in every resample,
 * p at its floor 1/2000; identical runs -> ratio 1, p = 1. Per-task
 * differences 1 and 3 -> mean difference 2 in [1, 3].
 */
static void test_paired_bootstrap_hand_computed(void **state)
{
	(void)state;
	const double aj[] = { 1, 3 }, as[] = { 1, 1 }, bj[] = { 2, 6 }, bs[] = { 1, 1 };
	struct ts_ci r, d;
	double p;
	assert_int_equal(ts_boot_paired(aj, as, bj, bs, 2, &ts_boot_default, &r, &p, &d), 0);
	NEAR(r.est, 2, 1e-12);
	NEAR(r.lo, 2, 1e-12);
	NEAR(r.hi, 2, 1e-12);
	NEAR(p, 1.0 / TS_BOOT_RESAMPLES, 1e-12);
	NEAR(d.est, 2, 1e-12);
	NEAR(d.lo, 1, 1e-12);
	NEAR(d.hi, 3, 1e-12);
	assert_int_equal(ts_boot_paired(aj, as, aj, as, 2, &ts_boot_default, &r, &p, &d), 0);
	NEAR(r.est, 1, 1e-12);
	NEAR(r.lo, 1, 1e-12);
	NEAR(r.hi, 1, 1e-12);
	NEAR(p, 1, 1e-12);
}

static void add_unit(struct run_agg *a, int rep, const char *id, const char *cat, bool ok, double j)
{
	struct task_rec t = { 0 };
	t.repeat = rep;
	snprintf(t.task_id, sizeof(t.task_id), "%s", id);
	snprintf(t.category, sizeof(t.category), "%s", cat);
	t.form = FORM_MONO;
	t.success = ok;
	t.attempts = 1;
	t.k_success = ok;
	t.calls = 1;
	t.energy_valid = true;
	t.energy_j = j;
	t.duration_s = 1;
	snprintf(t.outcome, sizeof(t.outcome), "%s", ok ? "success" : "failed");
	run_agg_task(a, &t);
}

/* Four tasks of 2 J, two succeed: rate 0.5 in Wilson [0.150, 0.850], 4 J per
 * success; by category "x" (both successes) 2 J per success. Paired with a
 * run that solves t1..t3: A-only 0, B-only 1, McNemar p = 1. */
static void test_overtasks_from_records(void **state)
{
	(void)state;
	struct run_agg a, b;
	assert_int_equal(run_agg_init(&a, 1), 0);
	assert_int_equal(run_agg_init(&b, 1), 0);
	add_unit(&a, 1, "t1", "x", true, 2);
	add_unit(&a, 1, "t2", "x", true, 2);
	add_unit(&a, 1, "t3", "y", false, 2);
	add_unit(&a, 1, "t4", "y", false, 2);
	add_unit(&b, 1, "t1", "x", true, 4);
	add_unit(&b, 1, "t2", "x", true, 4);
	add_unit(&b, 1, "t3", "y", true, 4);
	add_unit(&b, 1, "t4", "y", false, 4);
	struct task_rec intr = { .repeat = 1, .form = FORM_MONO, .outcome = "interrupted" };
	run_agg_task(&a, &intr); /* not a task of the statistics */
	struct ot_fig f;
	assert_int_equal(ot_compute(&a, NULL, FORM_MONO, NULL, &ts_boot_default, &f), 0);
	assert_int_equal(f.tasks, 4);
	assert_int_equal(f.successes, 2);
	NEAR(f.rate.lo, 0.15004, 1e-4);
	NEAR(f.j.est, 4, 1e-12);
	assert_true(isnan(f.usd.est)); /* no profile: no dollars, not $0 */
	assert_int_equal(ot_compute(&a, NULL, FORM_MONO, "x", &ts_boot_default, &f), 0);
	NEAR(f.j.est, 2, 1e-12);
	NEAR(f.j.lo, 2, 1e-12);
	const char **cats;
	assert_int_equal(ot_categories(&a, FORM_MONO, &cats), 2);
	assert_string_equal(cats[0], "x");
	assert_string_equal(cats[1], "y");
	free(cats);
	struct ot_paired p;
	assert_int_equal(ot_paired(&a, NULL, &b, NULL, FORM_MONO, NULL, &ts_boot_default, &p), 0);
	assert_int_equal(p.pairs, 4);
	assert_int_equal(p.both, 2);
	assert_int_equal(p.a_only, 0);
	assert_int_equal(p.b_only, 1);
	assert_int_equal(p.neither, 1);
	NEAR(p.mcnemar_p, 1.0, 1e-12);
	/* A: 8 J / 2 successes = 4; B: 16 J / 3 = 5.333: ratio 4/3. */
	NEAR(p.j_ratio.est, 16.0 / 3 / 4, 1e-12);
	NEAR(p.j_diff.est, 2, 1e-12);
	run_agg_free(&a);
	run_agg_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_welford_matches_two_pass),
		cmocka_unit_test(test_welford_degenerate),
		cmocka_unit_test(test_hist_percentiles_within_bucket_error),
		cmocka_unit_test(test_hist_merge),
		cmocka_unit_test(test_metrics_hand_computed),
		cmocka_unit_test(test_no_success_is_not_zero_or_infinity),
		cmocka_unit_test(test_paired_slot_only_counts_tasks_with_both_forms),
		cmocka_unit_test(test_wilson_hand_computed),
		cmocka_unit_test(test_mcnemar_hand_computed),
		cmocka_unit_test(test_bootstrap_ratio_hand_computed),
		cmocka_unit_test(test_paired_bootstrap_hand_computed),
		cmocka_unit_test(test_overtasks_from_records),
	};
	return cmocka_run_group_tests_name("statistics", tests, NULL, NULL);
}
