/* Statistics: Welford over repeats, histogram percentiles, derived metrics. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "stats.h"
#include "summary.h"

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
	};
	return cmocka_run_group_tests_name("statistics", tests, NULL, NULL);
}
