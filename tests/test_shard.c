/*
 * Shards and merge (issue 16): the split (every unit in exactly one shard for
 * N = 1..64, pinned values), where the numbers come from (option, Slurm,
 * Kubernetes), the same-host overlap rule for energy, and `agentperf merge`
 * on real shard folders recorded against the fake server: the merged run
 * equals an unsharded one in tasks, successes, attempts and tokens, and each
 * refusal names the folders and the field.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include <cjson/cJSON.h>

#include "merge.h"
#include "results.h"
#include "shard.h"
#include "runutil.h"

/* ---- the split ---- */

static void test_hash_pinned(void **state)
{
	(void)state;
	/* FNV-1a 64 test vectors: the hash is the documented one, on every machine. */
	assert_true(shard_hash("") == 0xcbf29ce484222325ull);
	assert_true(shard_hash("a") == 0xaf63dc4c8601ec8cull);
	assert_true(shard_hash("foobar") == 0x85944171f73967e8ull);
	/* Pinned shard numbers: changing them would split old runs differently. */
	assert_int_equal(shard_of("a", 1, 4), (int)(0xaf63dc4c8601ec8cull % 4));
	assert_int_equal(shard_of("a", 1, 4), 0);
	assert_int_equal(shard_of("a", 2, 4), 1);
	assert_int_equal(shard_of("foobar", 1, 7), (int)(0x85944171f73967e8ull % 7));
	assert_int_equal(shard_of("foobar", 1, 7), 6);
	assert_int_equal(shard_of("capital", 1, 4), 3);
	assert_int_equal(shard_of("capital", 3, 4), 1);
	assert_int_equal(shard_of("task-07", 1, 16), 10);
	assert_int_equal(shard_of("anything", 5, 1), 0);
}

static void test_every_unit_once(void **state)
{
	(void)state;
	char id[32];
	for (int n = 1; n <= 64; n++) {
		int *per = calloc((size_t)n, sizeof(int));
		assert_non_null(per);
		for (int t = 0; t < 300; t++) {
			snprintf(id, sizeof(id), "t%03d-%d", t, t * 7919);
			for (int r = 1; r <= 3; r++) {
				int owners = 0;
				for (int i = 0; i < n; i++) {
					struct shard s = { .index = i, .count = n };
					if (shard_has(&s, id, r)) {
						owners++;
						per[i]++;
					}
				}
				assert_int_equal(owners, 1);
			}
		}
		/* 900 units: every shard gets some (a split that starved one would show). */
		for (int i = 0; i < n; i++)
			assert_true(per[i] > 0);
		free(per);
	}
}

static void clear_env(void)
{
	static const char *const v[] = { "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT",
					 "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX",
					 "SLURM_ARRAY_TASK_STEP", "JOB_COMPLETION_INDEX",
					 "AGENTPERF_SHARDS" };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		unsetenv(v[i]);
}

static void test_resolve(void **state)
{
	(void)state;
	struct shard s;
	char err[512];
	clear_env();
	assert_int_equal(shard_resolve(&s, NULL, err, sizeof(err)), 0);
	assert_int_equal(s.count, 0);
	assert_int_equal(shard_resolve(&s, "2/5", err, sizeof(err)), 0);
	assert_int_equal(s.index, 2);
	assert_int_equal(s.count, 5);
	assert_int_equal(s.source, SHARD_OPTION);
	static const char *const bad[] = { "5/5", "1", "a/2", "1/0", "-1/3", "1/2x", "/3", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(shard_resolve(&s, bad[i], err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--shard"));

	/* Slurm: --array=0-3 */
	setenv("SLURM_ARRAY_TASK_ID", "3", 1);
	setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
	setenv("SLURM_ARRAY_TASK_MIN", "0", 1);
	setenv("SLURM_ARRAY_TASK_MAX", "3", 1);
	assert_int_equal(shard_resolve(&s, NULL, err, sizeof(err)), 0);
	assert_int_equal(s.source, SHARD_SLURM);
	assert_int_equal(s.index, 3);
	assert_int_equal(s.count, 4);
	/* The option wins over the environment. */
	assert_int_equal(shard_resolve(&s, "0/1", err, sizeof(err)), 0);
	assert_int_equal(s.count, 1);
	/* --array=1-8:2 (ids 1 3 5 7): index (id - min) / step */
	setenv("SLURM_ARRAY_TASK_ID", "5", 1);
	setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
	setenv("SLURM_ARRAY_TASK_MIN", "1", 1);
	setenv("SLURM_ARRAY_TASK_MAX", "7", 1);
	setenv("SLURM_ARRAY_TASK_STEP", "2", 1);
	assert_int_equal(shard_resolve(&s, NULL, err, sizeof(err)), 0);
	assert_int_equal(s.index, 2);
	assert_int_equal(s.count, 4);
	/* No COUNT: from min and max. */
	unsetenv("SLURM_ARRAY_TASK_COUNT");
	assert_int_equal(shard_resolve(&s, NULL, err, sizeof(err)), 0);
	assert_int_equal(s.count, 4);
	/* --array=1,4,9: no arithmetic index, refused. */
	unsetenv("SLURM_ARRAY_TASK_STEP");
	setenv("SLURM_ARRAY_TASK_ID", "4", 1);
	setenv("SLURM_ARRAY_TASK_COUNT", "3", 1);
	setenv("SLURM_ARRAY_TASK_MIN", "1", 1);
	setenv("SLURM_ARRAY_TASK_MAX", "9", 1);
	assert_int_equal(shard_resolve(&s, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--shard I/N"));
	clear_env();

	/* Kubernetes Indexed Job: the index, and the count from AGENTPERF_SHARDS. */
	setenv("JOB_COMPLETION_INDEX", "1", 1);
	assert_int_equal(shard_resolve(&s, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "AGENTPERF_SHARDS"));
	setenv("AGENTPERF_SHARDS", "3", 1);
	assert_int_equal(shard_resolve(&s, NULL, err, sizeof(err)), 0);
	assert_int_equal(s.source, SHARD_KUBERNETES);
	assert_int_equal(s.index, 1);
	assert_int_equal(s.count, 3);
	setenv("JOB_COMPLETION_INDEX", "3", 1);
	assert_int_equal(shard_resolve(&s, NULL, err, sizeof(err)), -EINVAL);
	clear_env();
}

/* ---- the energy rule ---- */

static void test_overlap_groups(void **state)
{
	(void)state;
	struct me_shard s[5] = {
		{ .host = "A", .start = 0, .end = 10 },
		{ .host = "A", .start = 5, .end = 15 },  /* overlaps 0 */
		{ .host = "B", .start = 0, .end = 10 },  /* other host: never overlaps */
		{ .host = "A", .start = 20, .end = 30 }, /* same host, later: no overlap */
		{ .host = "A", .start = 14, .end = 21 }, /* bridges 1 and 3: one group */
	};
	assert_int_equal(merge_overlap_groups(s, 5), 1);
	assert_int_equal(s[0].group, 0);
	assert_int_equal(s[1].group, 0);
	assert_int_equal(s[2].group, -1);
	assert_int_equal(s[3].group, 0);
	assert_int_equal(s[4].group, 0);
	/* Touching spans (one ends as the next starts) do not overlap. */
	struct me_shard t[3] = {
		{ .host = "A", .start = 0, .end = 10 },
		{ .host = "A", .start = 10, .end = 20 },
		{ .host = "B", .start = 5, .end = 6 },
	};
	assert_int_equal(merge_overlap_groups(t, 3), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(t[i].group, -1);
}

static void test_energy_rule(void **state)
{
	(void)state;
	/* Different hosts add up, whatever their times. */
	struct me_shard d[2] = {
		{ .host = "A", .start = 0, .end = 10, .has_energy = true, .device_j = 100 },
		{ .host = "B", .start = 0, .end = 10, .has_energy = true, .device_j = 50 },
	};
	struct me_result r;
	assert_int_equal(merge_energy(d, 2, &r), 0);
	assert_float_equal(r.device_j, 150, 1e-9);
	assert_int_equal(r.hosts, 2);
	assert_false(r.flagged);
	assert_false(r.attributed);
	merge_energy_free(d, 2);

	/*
	 * One host, both shards over [0, 10] reading the same 10 W counter (100 J
	 * each). A's calls are in flight 8 s, B's 2 s: A gets 80 J, B 20 J, the
	 * total is 100 J (not 200), and a row of B's is scaled by 0.2.
	 */
	static const double st[] = { 0, 5, 10 }, sv[] = { 0, 50, 100 };
	static const double aa[] = { 0, 5 }, ab[] = { 4, 9 };
	static const double ba[] = { 1 }, bb[] = { 3 };
	struct me_shard s[2] = {
		{ .host = "H", .start = 0, .end = 10, .has_energy = true, .device_j = 100, .st = st,
		  .sv = sv, .ns = 3, .ca = aa, .cb = ab, .nc = 2 },
		{ .host = "H", .start = 0, .end = 10, .has_energy = true, .device_j = 100, .st = st,
		  .sv = sv, .ns = 3, .ca = ba, .cb = bb, .nc = 1 },
	};
	assert_int_equal(merge_energy(s, 2, &r), 0);
	assert_int_equal(r.groups, 1);
	assert_true(r.attributed);
	assert_false(r.flagged);
	assert_float_equal(s[0].energy_j, 80, 1e-9);
	assert_float_equal(s[1].energy_j, 20, 1e-9);
	assert_float_equal(r.device_j, 100, 1e-9);
	assert_float_equal(merge_energy_factor(&s[1], 1, 3), 0.2, 1e-9);
	assert_float_equal(merge_energy_factor(&s[0], 0, 4), 0.8, 1e-9);
	assert_non_null(strstr(r.note, "time share"));
	merge_energy_free(s, 2);

	/* Partial overlap: [0,10] and [5,15]; the shared [5,10] is split, the rest each keeps. */
	static const double s2t[] = { 5, 10, 15 }, s2v[] = { 0, 50, 100 };
	static const double ca2[] = { 5 }, cb2[] = { 10 }, ca3[] = { 5 }, cb3[] = { 10 };
	struct me_shard p[2] = {
		{ .host = "H", .start = 0, .end = 10, .has_energy = true, .device_j = 100, .st = st,
		  .sv = sv, .ns = 3, .ca = ca2, .cb = cb2, .nc = 1 },
		{ .host = "H", .start = 5, .end = 15, .has_energy = true, .device_j = 100, .st = s2t,
		  .sv = s2v, .ns = 3, .ca = ca3, .cb = cb3, .nc = 1 },
	};
	assert_int_equal(merge_energy(p, 2, &r), 0);
	/* [5,10] read 50 J by each; equal busy time: 25 J each. Totals 75 + 75 = 150. */
	assert_float_equal(p[0].energy_j, 75, 1e-9);
	assert_float_equal(p[1].energy_j, 75, 1e-9);
	assert_float_equal(r.device_j, 150, 1e-9);
	assert_float_equal(merge_energy_factor(&p[0], 0, 5), 1, 1e-9);
	assert_float_equal(merge_energy_factor(&p[0], 5, 10), 0.5, 1e-9);
	merge_energy_free(p, 2);

	/* Without samples the overlap cannot be split: summed, flagged, said. */
	struct me_shard f[2] = {
		{ .host = "H", .start = 0, .end = 10, .has_energy = true, .device_j = 100 },
		{ .host = "H", .start = 2, .end = 8, .has_energy = true, .device_j = 60 },
	};
	assert_int_equal(merge_energy(f, 2, &r), 0);
	assert_true(r.flagged);
	assert_float_equal(r.device_j, 160, 1e-9);
	assert_non_null(strstr(r.note, "OVERLAPPING"));
	assert_float_equal(merge_energy_factor(&f[0], 0, 10), 1, 1e-9);
	merge_energy_free(f, 2);
}

/* ---- merge on real shard folders ---- */

#define NT 10
#define SHARDS 3

struct mf {
	char dir[256], wl[300], res[300], out[300], err[300], spec[256];
	struct tu_server s;
};

static struct mf M;

/* Tasks t00..t09; the even ones fail their check (2 attempts each), the odd ones pass. */
static int write_workload(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "{\"agentperf_workload\":1,\"name\":\"shards\",\"version\":\"1\",\"source\":"
		   "\"agentperf's tests\",\"license\":\"CC0-1.0\",\"defaults\":{\"max_attempts\":2,"
		   "\"max_steps\":1}}\n");
	for (int i = 0; i < NT; i++)
		fprintf(f,
			"{\"id\":\"t%02d\",\"category\":\"c\",\"prompt\":\"q%d\",\"check\":{\"kind\":"
			"\"contains\",\"value\":\"%s\"}}\n",
			i, i, i % 2 ? "Paris" : "Berlin");
	return fclose(f);
}

static int record(const char *run_id, const char *shard, const char *extra)
{
	char *argv[24] = { (char *)tu_agentperf(), "record", "-q", "--idle", "0", "-w", M.wl, "-b",
			   M.spec, "-r", "2", "--seed", "7", "-o", M.res, "--run-id",
			   (char *)run_id };
	int n = 17;
	if (shard) {
		argv[n++] = "--shard";
		argv[n++] = (char *)shard;
	}
	if (extra) {
		argv[n++] = "--temperature";
		argv[n++] = (char *)extra;
	}
	argv[n] = NULL;
	return tu_run(argv, M.out, M.err);
}

static int setup(void **state)
{
	(void)state;
	char *d = tu_tmpdir();
	if (!d)
		return -1;
	snprintf(M.dir, sizeof(M.dir), "%s", d);
	free(d);
	snprintf(M.wl, sizeof(M.wl), "%s/w.jsonl", M.dir);
	snprintf(M.res, sizeof(M.res), "%s/res", M.dir);
	snprintf(M.out, sizeof(M.out), "%s/stdout", M.dir);
	snprintf(M.err, sizeof(M.err), "%s/stderr", M.dir);
	if (write_workload(M.wl) || tu_fake_start(&M.s, "tests/fake/openai-basic.rules"))
		return -1;
	snprintf(M.spec, sizeof(M.spec), "openai:url=http://127.0.0.1:%d/v1,stream=0,retries=0",
		 M.s.port);
	char id[16], sh[16];
	if (record("full", NULL, NULL))
		return -1;
	for (int i = 0; i < SHARDS; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		snprintf(sh, sizeof(sh), "%d/%d", i, SHARDS);
		if (record(id, sh, NULL))
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_fake_stop(&M.s);
	tu_rmrf(M.dir);
	return 0;
}

/* agentperf merge OUT dirs... (names under M.res); returns the exit status. */
static int merge(const char *out, const char *const dirs[], int n, bool partial)
{
	char *argv[16], paths[12][400], o[400];
	int k = 0;
	argv[k++] = (char *)tu_agentperf();
	argv[k++] = "merge";
	argv[k++] = "-q";
	if (partial)
		argv[k++] = "--allow-partial";
	snprintf(o, sizeof(o), "%s/%s", M.res, out);
	argv[k++] = o;
	for (int i = 0; i < n; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s/%s", M.res, dirs[i]);
		argv[k++] = paths[i];
	}
	argv[k] = NULL;
	return tu_run(argv, M.out, M.err);
}

struct totals {
	long rows, successes, attempts, prompt, completion;
	char ids[NT * 2 * 8];
};

/* Sums over tasks.csv, and the set of (repeat, task) units as a sorted string. */
static void totals(const char *run, struct totals *t)
{
	char path[400];
	struct csv_reader c;
	bool seen[3][NT] = { { 0 } };
	memset(t, 0, sizeof(*t));
	snprintf(path, sizeof(path), "%s/%s/tasks.csv", M.res, run);
	assert_int_equal(csv_open(&c, path), 0);
	while (csv_next(&c) == 0) {
		int r = atoi(csv_get(&c, "repeat")), i = atoi(csv_get(&c, "task_id") + 1);
		assert_true(r >= 1 && r <= 2 && i >= 0 && i < NT);
		assert_false(seen[r][i]);
		seen[r][i] = true;
		t->rows++;
		t->successes += atol(csv_get(&c, "success"));
		t->attempts += atol(csv_get(&c, "attempts"));
		t->prompt += atol(csv_get(&c, "prompt_tokens"));
		t->completion += atol(csv_get(&c, "completion_tokens"));
	}
	csv_close(&c);
	for (int r = 1; r <= 2; r++)
		for (int i = 0; i < NT; i++)
			strcat(t->ids, seen[r][i] ? "1" : "0");
}

static void test_merge_equals_unsharded(void **state)
{
	(void)state;
	static const char *const d[] = { "s2", "s0", "s1" };
	assert_int_equal(merge("m", d, 3, false), 0);
	struct totals a, b;
	totals("full", &a);
	totals("m", &b);
	assert_int_equal(a.rows, 2 * NT);
	assert_string_equal(a.ids, b.ids);
	assert_int_equal(a.rows, b.rows);
	assert_int_equal(a.successes, b.successes);
	assert_int_equal(a.successes, NT); /* 5 tasks x 2 repeats */
	assert_int_equal(a.attempts, b.attempts);
	assert_int_equal(a.attempts, NT + 2 * NT);
	assert_int_equal(a.prompt, b.prompt);
	assert_int_equal(a.completion, b.completion);
	/* The shards together ran each unit once; each on its own ran fewer. */
	struct totals s;
	totals("s0", &s);
	assert_true(s.rows > 0 && s.rows < 2 * NT);
	char path[400];
	snprintf(path, sizeof(path), "%s/m/meta.json", M.res);
	char *txt = tu_slurp(path);
	assert_non_null(txt);
	cJSON *m = cJSON_Parse(txt);
	free(txt);
	assert_non_null(m);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(m, "shards")), SHARDS);
	assert_string_equal(cJSON_GetObjectItem(m, "status")->valuestring, "complete");
	assert_null(cJSON_GetObjectItem(m, "shard"));
	cJSON_Delete(m);
	/* Each shard's samples and meta kept; summary and report written; report reads it. */
	static const char *const files[] = { "shards/0/meta.json", "shards/2/samples.csv",
					     "summary.csv", "report.txt" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/m/%s", M.res, files[i]);
		assert_int_equal(access(path, R_OK), 0);
	}
	snprintf(path, sizeof(path), "%s/m/report.txt", M.res);
	txt = tu_slurp(path);
	assert_non_null(strstr(txt, "3 of 3 merged"));
	/* All shards ran here, at overlapping times: the same-host rule says what it did. */
	assert_non_null(strstr(txt, "overlapping"));
	free(txt);
	snprintf(path, sizeof(path), "%s/m", M.res);
	char full[400];
	snprintf(full, sizeof(full), "%s/full", M.res);
	char *rep[] = { (char *)tu_agentperf(), "report", path, NULL };
	assert_int_equal(tu_run(rep, M.out, M.err), 0);
	char *dif[] = { (char *)tu_agentperf(), "diff", full, path, NULL };
	assert_int_equal(tu_run(dif, M.out, M.err), 0);
	/* An existing OUT is never overwritten. */
	assert_int_equal(merge("m", d, 3, false), 1);
	txt = tu_slurp(M.err);
	assert_non_null(strstr(txt, "new folder"));
	free(txt);
}

/* Copies shard folder from to to (cp -r), then sets meta.json's field (dotted) to v. */
static void forge(const char *from, const char *to, const char *field, cJSON *v)
{
	char a[400], b[400], path[450];
	snprintf(a, sizeof(a), "%s/%s", M.res, from);
	snprintf(b, sizeof(b), "%s/%s", M.res, to);
	tu_rmrf(b);
	char *cp[] = { "/bin/cp", "-r", a, b, NULL };
	assert_int_equal(tu_run(cp, NULL, NULL), 0);
	snprintf(path, sizeof(path), "%s/meta.json", b);
	char *txt = tu_slurp(path);
	cJSON *m = cJSON_Parse(txt);
	free(txt);
	assert_non_null(m);
	char key[64];
	cJSON *o = m;
	const char *p = field;
	for (;;) {
		size_t l = strcspn(p, ".");
		snprintf(key, sizeof(key), "%.*s", (int)l, p);
		if (!p[l]) {
			if (cJSON_GetObjectItem(o, key))
				cJSON_ReplaceItemInObject(o, key, v);
			else
				cJSON_AddItemToObject(o, key, v);
			break;
		}
		cJSON *n = cJSON_GetObjectItem(o, key);
		if (!n)
			n = cJSON_AddObjectToObject(o, key);
		o = n;
		p += l + 1;
	}
	txt = cJSON_Print(m);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(txt, f);
	fclose(f);
	free(txt);
	cJSON_Delete(m);
}

static void expect_refusal(const char *const dirs[], int n, const char *needle)
{
	assert_int_equal(merge("refused", dirs, n, false), 1);
	char *e = tu_slurp(M.err);
	assert_non_null(e);
	if (!strstr(e, needle))
		fail_msg("expected '%s' in: %s", needle, e);
	char path[400];
	snprintf(path, sizeof(path), "%s/refused", M.res);
	tu_rmrf(path);
	free(e);
}

/* RUN/report.txt (under M.res) holds both lines. */
static void expect_report(const char *run, const char *a, const char *b)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%s/report.txt", M.res, run);
	char *txt = tu_slurp(path);
	assert_non_null(txt);
	if (!strstr(txt, a) || !strstr(txt, b))
		fail_msg("expected '%s' and '%s' in %s:\n%s", a, b, path, txt);
	free(txt);
}

static void test_merge_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *field;
		const char *json;
		const char *says;
	} cases[] = {
		{ "workload.sha256", "\"00ff\"", "workload hash" },
		{ "agentperf_version", "\"9.9.9\"", "agentperf version" },
		{ "backend.model", "\"other-model\"", "backend model" },
		{ "model.sha256", "\"abcd\"", "model file hash" },
		{ "profiles", "{\"local\":{}}", "profiles" },
		{ "repeats", "3", "repeats" },
		{ "options.seed", "8", "options.seed" },
		{ "options.temperature", "0.5", "options.temperature" },
		{ "options.forms", "[\"decomp\"]", "options.forms" },
		{ "policy.max_attempts", "5", "policy (attempt policy)" },
		{ "slo", "{\"ttft_s\":0.5}", "slo (SLO)" },
		{ "options.context_tokens", "5000", "options.context_tokens" },
		{ "shard.count", "4", "shard count" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		forge("s1", "x1", cases[i].field, cJSON_Parse(cases[i].json));
		const char *const d[] = { "s0", "x1", "s2" };
		expect_refusal(d, 3, cases[i].says);
	}
	/* The message names the folders. */
	forge("s1", "x1", "options.seed", cJSON_CreateNumber(99));
	const char *const d1[] = { "s0", "x1", "s2" };
	expect_refusal(d1, 3, "/s0 and ");
	expect_refusal(d1, 3, "/x1 differ in options.seed");
	/* Two shards with one index. */
	const char *const dup[] = { "s0", "s1", "s1", "s2" };
	expect_refusal(dup, 4, "are both shard 1 of 3");
	/* A missing shard, unless --allow-partial (the report then says so). */
	const char *const part[] = { "s0", "s2" };
	expect_refusal(part, 2, "shard(s) 1 of 3 missing");
	assert_int_equal(merge("p", part, 2, true), 0);
	expect_report("p", "PARTIAL", "status    partial");
	/* Not a shard at all. */
	const char *const ns[] = { "full", "s1" };
	expect_refusal(ns, 2, "not a shard");
	/* A folder whose rows are not the shard its meta.json says. */
	forge("s1", "x1", "shard.index", cJSON_CreateNumber(0));
	const char *const lie[] = { "x1", "s1", "s2" };
	expect_refusal(lie, 3, "belongs to shard");
}

/* An interrupted shard is merged as what it is: the merged run says interrupted. */
static void test_merge_interrupted(void **state)
{
	(void)state;
	forge("s1", "i1", "status", cJSON_CreateString("interrupted"));
	const char *const d[] = { "s0", "i1", "s2" };
	assert_int_equal(merge("mi", d, 3, false), 0);
	expect_report("mi", "status    interrupted", "merged as it is");
}

/*
 * A shard killed with -9 and resumed outside its array (no Slurm variables,
 * no --shard) keeps its shard: it finishes its own units and no other's.
 */
static void test_resume_keeps_shard(void **state)
{
	(void)state;
	struct tu_server slow = { 0 };
	char spec[256], dir[400];
	assert_int_equal(tu_fake_start(&slow, "tests/fake/slow.rules"), 0);
	snprintf(spec, sizeof(spec), "openai:url=http://127.0.0.1:%d/v1,stream=0,retries=0",
		 slow.port);
	snprintf(dir, sizeof(dir), "%s/k1", M.res);
	char *argv[] = { (char *)tu_agentperf(), "record", "-q", "--idle", "0", "-w", M.wl, "-b",
			 spec, "-r", "2", "--seed", "7", "-o", M.res, "--run-id", "k1", NULL };
	setenv("SLURM_ARRAY_TASK_ID", "1", 1);
	setenv("SLURM_ARRAY_TASK_COUNT", "3", 1);
	pid_t pid = ru_spawn(argv, M.out, M.err);
	unsetenv("SLURM_ARRAY_TASK_ID");
	unsetenv("SLURM_ARRAY_TASK_COUNT");
	/* Killed as soon as its first task is on disk (others are in flight: 300 ms a call). */
	char tasks[450];
	snprintf(tasks, sizeof(tasks), "%s/tasks.csv", dir);
	for (int i = 0; i < 3000; i++) {
		char *txt = tu_slurp(tasks);
		int rows = txt ? tu_count(txt, "\n") : 0;
		free(txt);
		if (rows >= 2)
			break;
		ru_sleep_ms(10);
	}
	kill(pid, SIGKILL);
	assert_int_equal(ru_wait(pid, NULL), 128 + SIGKILL);
	struct totals t;
	totals("k1", &t);
	int before = (int)t.rows;
	char *res[] = { (char *)tu_agentperf(), "record", "-q", "--resume", dir, NULL };
	int rc = tu_run(res, M.out, M.err);
	tu_fake_stop(&slow);
	if (rc) {
		char *e = tu_slurp(M.err);
		fail_msg("record --resume exited %d: %s", rc, e ? e : "");
	}
	int want = 0;
	char id[8];
	for (int r = 1; r <= 2; r++)
		for (int i = 0; i < NT; i++) {
			snprintf(id, sizeof(id), "t%02d", i);
			want += shard_of(id, r, SHARDS) == 1;
		}
	assert_true(before < want); /* the kill landed mid-run */
	totals("k1", &t); /* asserts each unit at most once */
	assert_int_equal(t.rows, want);
	for (int r = 1; r <= 2; r++)
		for (int i = 0; i < NT; i++) {
			snprintf(id, sizeof(id), "t%02d", i);
			assert_int_equal(t.ids[(r - 1) * NT + i] == '1', shard_of(id, r, SHARDS) == 1);
		}
	/* It merges with the other two shards as shard 1, from Slurm. */
	static const char *const d[] = { "s0", "k1", "s2" };
	if (merge("mk", d, 3, false)) {
		char *e = tu_slurp(M.err);
		fail_msg("merge: %s", e ? e : "");
	}
	char path[450];
	snprintf(path, sizeof(path), "%s/meta.json", dir);
	char *txt = tu_slurp(path);
	assert_non_null(strstr(txt, "\"slurm\""));
	free(txt);
}

int main(void)
{
	const struct CMUnitTest unit[] = {
		cmocka_unit_test(test_hash_pinned),
		cmocka_unit_test(test_every_unit_once),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_overlap_groups),
		cmocka_unit_test(test_energy_rule),
	};
	const struct CMUnitTest folders[] = {
		cmocka_unit_test(test_merge_equals_unsharded),
		cmocka_unit_test(test_merge_refusals),
		cmocka_unit_test(test_merge_interrupted),
		cmocka_unit_test(test_resume_keeps_shard),
	};
	int rc = cmocka_run_group_tests_name("shard", unit, NULL, NULL);
	return rc | cmocka_run_group_tests_name("merge", folders, setup, teardown);
}
