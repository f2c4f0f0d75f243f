/*
 * Seeds per call (harness/seed.h): the documented derivation against values
 * worked out independently (a Python transcription of the formula), the
 * seed of every call in calls.csv of a real run against the fakeserver
 * (each repeat and attempt its own; --seed-policy fixed: the base on all),
 * and the warning for plain retries at temperature 0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "seed.h"
#include "testutil.h"

static void test_derive_known_values(void **state)
{
	(void)state;
	/* h = 42; for v in (1, 0, 0, 0 + 1, 1): h = splitmix64(h ^ v); h & 0x7fffffff */
	assert_int_equal(seed_derive(42, 1, 0, 0, -1, 1), 671595233u);
	assert_int_equal(seed_derive(42, 1, 0, 0, -1, 2), 2133820942u);
	assert_int_equal(seed_derive(42, 2, 0, 0, -1, 1), 1843273985u);
	assert_int_equal(seed_derive(0, 1, 0, 0, -1, 1), 392087801u);
	assert_int_equal(seed_policy_parse("fixed"), SEED_FIXED);
	assert_int_equal(seed_policy_parse("per-attempt"), SEED_PER_ATTEMPT);
	assert_true(seed_policy_parse("random") < 0);
	/* seed_apply: none without a base; fixed keeps the base; per-attempt derives. */
	cJSON *s = cJSON_CreateObject();
	long long base = -1;
	assert_true(seed_apply(s, SEED_PER_ATTEMPT, &base, 1, 0, 0, -1, 1) == -1);
	assert_null(cJSON_GetObjectItem(s, "seed"));
	cJSON_AddNumberToObject(s, "seed", 42);
	assert_true(seed_apply(s, SEED_PER_ATTEMPT, &base, 1, 0, 0, -1, 2) == 2133820942LL);
	assert_true(cJSON_GetObjectItem(s, "seed")->valuedouble == 2133820942.0);
	/* The base survives the rewrite of the request's seed. */
	assert_true(seed_apply(s, SEED_PER_ATTEMPT, &base, 1, 0, 0, -1, 1) == 671595233LL);
	assert_true(seed_apply(s, SEED_FIXED, &base, 2, 5, 0, -1, 3) == 42);
	cJSON_Delete(s);
}

static int record(const char *base, const char *id, const char *e1, const char *e2,
		  const char *e3, const char *e4, const char *err)
{
	struct tu_server s;
	if (tu_fake_start(&s, "tests/fake/cascade-small.rules"))
		return -1;
	char spec[256];
	snprintf(spec, sizeof(spec), "openai:url=http://127.0.0.1:%d/v1,model=small,stream=0", s.port);
	char *argv[32] = { (char *)tu_agentperf(), "record", "-q", "-w", "tests/data/cascade.jsonl",
			   "-b", spec, "-r", "2", "-o", (char *)base, "--run-id", (char *)id,
			   "--no-energy", "--seed", "42" };
	int n = 16;
	const char *extra[] = { e1, e2, e3, e4 };
	for (int i = 0; i < 4; i++)
		if (extra[i])
			argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	int rc = tu_run(argv, "/dev/null", err);
	tu_fake_stop(&s);
	return rc;
}

/* Every call of the run: its seed is the derivation of its own coordinates. */
static void check_calls(const char *dir, bool fixed, long *rows, long *distinct2)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/calls.csv", dir);
	struct csv_reader r;
	assert_int_equal(csv_open(&r, p), 0);
	long n = 0;
	long long first = -1;
	*distinct2 = 0;
	while (csv_next(&r) == 0) {
		int rep = atoi(csv_get(&r, "repeat")), att = atoi(csv_get(&r, "attempt"));
		long seq = atol(csv_get(&r, "seq"));
		int sub = atoi(csv_get(&r, "sub"));
		int form = form_parse(csv_get(&r, "form"));
		long long got = atoll(csv_get(&r, "seed"));
		assert_true(*csv_get(&r, "seed"));
		long long want = fixed ? 42 : (long long)seed_derive(42, rep, seq, form, sub, att);
		if (got != want)
			fail_msg("%s row %ld: seed %lld, want %lld", p, n, got, want);
		if (first < 0)
			first = got;
		else if (got != first)
			(*distinct2)++;
		n++;
	}
	csv_close(&r);
	*rows = n;
}

static void test_seeds_per_attempt_in_calls_csv(void **state)
{
	(void)state;
	char *d = tu_tmpdir();
	assert_non_null(d);
	char base[300], dir[400];
	snprintf(base, sizeof(base), "%s/results", d);
	assert_int_equal(record(base, "per", NULL, NULL, NULL, NULL, "/dev/null"), 0);
	snprintf(dir, sizeof(dir), "%s/per", base);
	long rows, differ;
	check_calls(dir, false, &rows, &differ);
	/* 4 tasks x 2 repeats, medium-1 and hard-1 with 2 attempts: 12 calls, all seeds distinct
	 * from the first one. */
	assert_int_equal(rows, 12);
	assert_int_equal(differ, 11);
	assert_int_equal(record(base, "fixed", "--seed-policy", "fixed", NULL, NULL, "/dev/null"), 0);
	snprintf(dir, sizeof(dir), "%s/fixed", base);
	check_calls(dir, true, &rows, &differ);
	assert_int_equal(rows, 12);
	assert_int_equal(differ, 0);
	snprintf(dir, sizeof(dir), "%s/fixed/meta.json", base);
	char *m = tu_slurp(dir);
	assert_non_null(strstr(m, "\"seed_policy\":\t\"fixed\""));
	free(m);
	/* A plain retry at temperature 0 with a fixed seed is warned about, once. */
	char err[400];
	snprintf(err, sizeof(err), "%s/err.txt", d);
	assert_int_equal(record(base, "t0", "--seed-policy", "fixed", "--temperature", "0", err), 0);
	char *e = tu_slurp(err);
	assert_non_null(e);
	/* cascade.jsonl retries by repair: no warning there */
	assert_null(strstr(e, "can only repeat the answer"));
	free(e);
	struct tu_server s;
	assert_int_equal(tu_fake_start(&s, "tests/fake/cascade-small.rules"), 0);
	char spec[256];
	snprintf(spec, sizeof(spec), "openai:url=http://127.0.0.1:%d/v1,model=small,stream=0", s.port);
	char *argv[] = { (char *)tu_agentperf(), "stat", "-q", "-w", "tests/data/cascade.jsonl", "-b",
			 spec, "--no-energy", "--seed", "42", "--seed-policy", "fixed", "--temperature",
			 "0", "--retry", "plain", NULL };
	assert_int_equal(tu_run(argv, "/dev/null", err), 0);
	tu_fake_stop(&s);
	e = tu_slurp(err);
	assert_non_null(e);
	assert_non_null(strstr(e, "a plain retry at temperature 0 with a fixed seed can only repeat the "
				  "answer"));
	assert_int_equal(tu_count(e, "can only repeat"), 1);
	free(e);
	tu_rmrf(d);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derive_known_values),
		cmocka_unit_test(test_seeds_per_attempt_in_calls_csv),
	};
	return cmocka_run_group_tests_name("seeds per call", tests, NULL, NULL);
}
