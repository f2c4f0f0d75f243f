/*
 * Cost and energy accounting (harness/cost.c, harness/profile.c) against
 * numbers worked out by hand in the comments. The test profile
 * tests/data/profile-local.json: PSU efficiency 0.8, PUE 1.25, utilization
 * 0.5, 0.36 $/kWh, 400 g/kWh, capex 3155.76 $ over 1 year, idle 10 W.
 * 3155.76 $ / (365.25 x 86400 s) = 1e-4 $ per second of hardware time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "cost.h"
#include "profile.h"

#define EPS 1e-9
/* NAN never passes: an unknown figure must not look like an expected one. */
#define assert_near(a, b, eps)                                                            \
	do {                                                                              \
		double a_ = (a), b_ = (b);                                                \
		if (!(fabs(a_ - b_) <= (eps)))                                             \
			fail_msg("%s = %.12g, expected %.12g", #a, a_, b_);               \
	} while (0)

static void load(struct profile *p, const char *path)
{
	char err[512] = "";
	int rc = profile_load(p, path, err, sizeof(err));
	if (rc)
		fail_msg("%s", err);
}

static void test_local_boundaries(void **state)
{
	(void)state;
	struct profile L;
	load(&L, "tests/data/profile-local.json");
	struct cost_ctx c = { .local = &L, .idle_w = 10 };
	struct cost_slice s = { .calls = 3, .device_j = 100, .busy_s = 10 };
	struct cost_out o;
	cost_compute(&c, &s, &o);
	/* wall = 100 / 0.8 = 125 J; facility = 125 x 1.25 = 156.25 J */
	assert_near(o.wall_j, 125.0, EPS);
	assert_near(o.facility_j, 156.25, EPS);
	/* idle share: 10 W x 10 s x (1/0.5 - 1) = 100 J at the device, / 0.8 x 1.25 = 156.25 J */
	assert_near(o.idle_share_j, 156.25, EPS);
	assert_near(o.local_total_j, 312.5, EPS);
	/* electricity: 312.5 J / 3.6e6 J/kWh x 0.36 $/kWh = 3.125e-5 $ */
	assert_near(o.energy_usd, 3.125e-5, 1e-15);
	/* capital: 1e-4 $/s x 10 s / 0.5 = 2e-3 $ */
	assert_near(o.capital_usd, 2e-3, 1e-12);
	assert_near(o.usd, 2.03125e-3, 1e-12);
	/* carbon: 312.5 / 3.6e6 x 400 = 0.0347222... g */
	assert_near(o.gco2e_local, 312.5 / 3.6e6 * 400, 1e-12);
	assert_true(isnan(o.api_usd));
	assert_true(isnan(o.provider_it_j));
	assert_near(o.headline_j, 312.5, EPS);

	/* u = 0.25 changes exactly the idle and capital shares (and what is priced on them):
	 * idle 10 x 10 x 3 = 300 J -> 468.75 J; capital 1e-4 x 10 / 0.25 = 4e-3 $. */
	struct profile_overrides ov = { 0 };
	char err[256];
	assert_int_equal(profile_override_set(&ov, "utilization", "0.25", err, sizeof(err)), 0);
	profile_apply(&L, &ov);
	assert_string_equal(L.p[PP_UTILIZATION].source, "command line --utilization");
	struct cost_out o2;
	cost_compute(&c, &s, &o2);
	assert_near(o2.device_j, o.device_j, EPS);
	assert_near(o2.wall_j, o.wall_j, EPS);
	assert_near(o2.facility_j, o.facility_j, EPS);
	assert_near(o2.idle_share_j, 468.75, EPS);
	assert_near(o2.capital_usd, 4e-3, 1e-12);

	/* No energy measured: the energy lines are unknown (NAN), never 0; capital still counts. */
	s.device_j = NAN;
	cost_compute(&c, &s, &o);
	assert_true(isnan(o.facility_j) && isnan(o.local_total_j) && isnan(o.energy_usd));
	assert_near(o.usd, 4e-3, 1e-12);
}

static void test_remote_modeled(void **state)
{
	(void)state;
	struct profile L, R;
	load(&L, "tests/data/profile-local.json");
	load(&R, "tests/data/profile-large.json");
	struct cost_ctx c = { .local = &L, .remote = &R, .idle_w = 10 };
	/* 2 calls, 200 prompt tokens (80 cached), 20 completion; client device 8 J over 3 s */
	struct cost_slice s = { .calls = 2, .prompt_tokens = 200, .cached_tokens = 80,
				.completion_tokens = 20, .device_j = 8, .busy_s = 3 };
	struct cost_out o;
	cost_compute(&c, &s, &o);
	/* price: (120 x 1 + 80 x 0.5 + 20 x 4) / 1e6 = 2.4e-4 $ */
	assert_near(o.api_usd, 2.4e-4, 1e-15);
	/* provider IT: 3600 x (2 x 0.01 + 200 x 1e-4 + 20 x 1e-3) Wh = 3600 x 0.06 = 216 J; x 1.1 */
	assert_near(o.provider_it_j, 216.0, 1e-9);
	assert_near(o.provider_facility_j, 237.6, 1e-9);
	/* provider carbon: 237.6 / 3.6e6 x 100 g/kWh = 0.0066 g */
	assert_near(o.gco2e_provider, 0.0066, 1e-12);
	/* client: 8 / 0.8 x 1.25 = 12.5 J; no idle or capital share for a client */
	assert_near(o.facility_j, 12.5, EPS);
	assert_true(isnan(o.idle_share_j) && isnan(o.capital_usd));
	/* $: api + client electricity 12.5 / 3.6e6 x 0.36 = 1.25e-6 -> 2.4125e-4 */
	assert_near(o.usd, 2.4125e-4, 1e-15);
	/* the labelled total: modeled provider 237.6 + client 12.5 */
	assert_near(o.headline_j, 250.1, 1e-9);
}

/* Run-level figures from records: per success, retry tax, context overhead. */
static void test_run_figures(void **state)
{
	(void)state;
	struct profile L;
	load(&L, "tests/data/profile-local.json");
	struct profile_set ps = { .local = L };
	struct cost_ctx c = { .local = &ps.local, .remote = &ps.remote, .idle_w = 10 };
	struct run_agg a;
	assert_int_equal(run_agg_init(&a, 1), 0);
	a.elapsed_s[0] = 10;
	/* task 1: success at attempt 1, one call of 40 J, 4 s; task 2: failed twice, 30 J and 3 s each */
	struct task_rec t1 = { .repeat = 1, .form = FORM_MONO, .success = true, .attempts = 1,
			       .k_success = 1, .calls = 1, .duration_s = 4, .ctx_tokens_est = 10 };
	struct task_rec t2 = { .repeat = 1, .form = FORM_MONO, .attempts = 2, .calls = 2,
			       .duration_s = 6, .ctx_tokens_est = 10 };
	snprintf(t1.outcome, sizeof(t1.outcome), "success");
	snprintf(t2.outcome, sizeof(t2.outcome), "failed");
	run_agg_task(&a, &t1);
	run_agg_task(&a, &t2);
	struct attempt_rec a1 = { .repeat = 1, .form = FORM_MONO, .success = true, .calls = 1,
				  .prompt_tokens = 20, .duration_s = 4, .energy_valid = true,
				  .energy_j = 40 };
	struct attempt_rec a2 = { .repeat = 1, .form = FORM_MONO, .calls = 1, .prompt_tokens = 20,
				  .duration_s = 3, .energy_valid = true, .energy_j = 30 };
	run_agg_attempt(&a, &a1);
	run_agg_attempt(&a, &a2);
	run_agg_attempt(&a, &a2);
	struct call_rec c1 = { .repeat = 1, .form = FORM_MONO, .prompt_tokens = 20,
			       .energy_valid = true, .energy_j = 40 };
	struct call_rec c2 = c1;
	c2.energy_j = 30;
	run_agg_call(&a, &c1);
	run_agg_call(&a, &c2);
	run_agg_call(&a, &c2);
	/* 100 J over 10 s of busy time (task durations sum to the elapsed 10 s: scale 1):
	 * the same 312.5 J and 2.03125e-3 $ as test_local_boundaries, all on 1 success. */
	assert_near(cost_busy_scale(&a, 1), 1.0, EPS);
	assert_near(cost_figure(&c, &a, 1, FORM_MONO, CF_HEADLINE_J), 312.5, 1e-9);
	assert_near(cost_figure(&c, &a, 1, FORM_MONO, CF_USD), 2.03125e-3, 1e-12);
	/* retry tax: failed attempts 60 J, 6 s: facility 60/0.8x1.25 = 93.75, idle 10x6x1 = 60 J
	 * -> 93.75, total 187.5 J; $: 187.5/3.6e6x0.36 = 1.875e-5 + capital 1e-4x6/0.5 = 1.2e-3 */
	assert_near(cost_figure(&c, &a, 1, FORM_MONO, CF_RETRY_J), 187.5, 1e-9);
	assert_near(cost_figure(&c, &a, 1, FORM_MONO, CF_RETRY_USD), 1.21875e-3, 1e-12);
	/* context: 10 est. tokens x 1 call + 10 x 2 calls = 30 of 60 prompt tokens */
	assert_near(cost_total(&c, &a, 1, FORM_MONO, CF_CTX_SHARE), 0.5, EPS);
	assert_near(cost_figure(&c, &a, 1, FORM_MONO, CF_CTX_TOKENS), 30, EPS);

	/* Concurrency: if the repeat took 5 s of wall time for 10 s of task time, the
	 * hardware is charged 5 s: idle 10 x 5 x 1 = 50 J -> 78.125 J; total 234.375 J. */
	a.elapsed_s[0] = 5;
	assert_near(cost_busy_scale(&a, 1), 0.5, EPS);
	assert_near(cost_figure(&c, &a, 1, FORM_MONO, CF_HEADLINE_J), 234.375, 1e-9);

	/* No success: per-success figures are NAN ("no success"), never 0 or infinity. */
	struct run_agg z;
	assert_int_equal(run_agg_init(&z, 1), 0);
	run_agg_task(&z, &t2);
	run_agg_call(&z, &c2);
	assert_true(isnan(cost_figure(&c, &z, 1, FORM_MONO, CF_HEADLINE_J)));
	run_agg_free(&z);
	run_agg_free(&a);
}

static void test_profile_rules(void **state)
{
	(void)state;
	char err[512];
	struct profile p;
	/* A number without its source is refused. */
	cJSON *j = cJSON_Parse("{\"agentperf_profile\":1,\"kind\":\"local\",\"name\":\"x\",\"params\":"
			       "{\"pue\":{\"value\":1.1,\"date\":\"2025-01-01\"}}}");
	assert_int_equal(profile_from_json(&p, j, "x.json", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "params.pue"));
	cJSON_Delete(j);
	/* PUE below 1 is refused. */
	j = cJSON_Parse("{\"agentperf_profile\":1,\"kind\":\"local\",\"name\":\"x\",\"params\":{"
			"\"pue\":{\"value\":0.9,\"source\":\"s\",\"date\":\"d\"},"
			"\"psu_efficiency\":{\"value\":0.9,\"source\":\"s\",\"date\":\"d\"},"
			"\"utilization\":{\"value\":0.5,\"source\":\"s\",\"date\":\"d\"}}}");
	assert_int_equal(profile_from_json(&p, j, "x.json", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "pue"));
	cJSON_Delete(j);
	/* Round trip through meta.json. */
	struct profile_set ps = { 0 }, back;
	load(&ps.local, "tests/data/profile-local.json");
	load(&ps.remote, "tests/data/profile-large.json");
	cJSON *meta = cJSON_CreateObject();
	profile_set_store(meta, &ps);
	assert_int_equal(profile_set_from_meta(&back, meta, err, sizeof(err)), 0);
	assert_near(back.local.p[PP_CAPEX_USD].v, 3155.76, EPS);
	assert_true(profile_matches_model(&back.remote, "large"));
	cJSON_Delete(meta);
	/* A remote backend whose model has no profile: an error naming the file to add. */
	struct profile_cli pc = { 0 };
	assert_int_equal(profile_cli_add(&pc, "tests/data/profile-large.json", err, sizeof(err)), 0);
	assert_int_equal(profile_cli_resolve(&pc, "gpt-9", "https://api.example.com/v1", &back, err,
					     sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "workloads/profiles/gpt-9.json"));
	assert_int_equal(profile_cli_resolve(&pc, "large", "https://api.example.com/v1", &back, err,
					     sizeof(err)), 0);
	assert_true(back.remote.loaded);
	/* Every shipped profile loads, so every number in it has a source and a date. */
	static const char *const shipped[] = { "home-gpu", "workstation-cpu", "datacenter-gpu",
					       "gpt-4o", "gpt-4o-mini", "claude-sonnet-4",
					       "class-frontier-epoch", "class-gemini-median",
					       "class-ecologits-8b" };
	for (size_t i = 0; i < sizeof(shipped) / sizeof(shipped[0]); i++)
		load(&p, shipped[i]);
	/* Context estimate: bytes / 4, rounded up: 8 bytes of prompt + tools JSON. */
	cJSON *tools = cJSON_Parse("[{\"a\":1}]"); /* 9 bytes unformatted */
	assert_int_equal(cost_context_tokens_est("12345678", tools, NULL), (8 + 9 + 3) / 4);
	cJSON_Delete(tools);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_boundaries),
		cmocka_unit_test(test_remote_modeled),
		cmocka_unit_test(test_run_figures),
		cmocka_unit_test(test_profile_rules),
	};
	return cmocka_run_group_tests_name("cost accounting", tests, NULL, NULL);
}
