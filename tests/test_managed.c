/*
 * The managed llama-server backend (llama-server:model=PATH), driven through
 * the real agentperf binary: a healthy run with model_load and the server's
 * CPU time; a binary that exits at once; a server killed mid-run; a bad
 * model path. Needs the cached llama-server ($LLAMA_SERVER, set by make test)
 * and a tiny model (../shared/models, or $AGENTPERF_TEST_MODEL); skips with
 * the reason where either is missing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "managed.h"
#include "results.h"
#include "testutil.h"

static char server[1024], model[1024];

static const char *skip_reason(void)
{
	if (!*server || access(server, X_OK))
		return "no llama-server: LLAMA_SERVER unset (make test sets it from the cached build)";
	if (access(model, R_OK))
		return "no tiny model: ../shared/models/stories260K.gguf absent and AGENTPERF_TEST_MODEL unset";
	return NULL;
}

#define NEED_SERVER()                                                        \
	do {                                                                  \
		const char *why_ = skip_reason();                             \
		if (why_) {                                                   \
			print_message("SKIPPED: %s\n", why_);                 \
			skip();                                               \
		}                                                             \
	} while (0)

static cJSON *read_meta(const char *dir)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/meta.json", dir);
	char *s = tu_slurp(p);
	cJSON *m = s ? cJSON_Parse(s) : NULL;
	free(s);
	return m;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* Every tasks.csv row parses; returns the row count, -1 on a parse error. */
static int tasks_rows(const char *dir, int *failed)
{
	char p[1024];
	struct csv_reader c = { 0 };
	int n = 0, rc;
	snprintf(p, sizeof(p), "%s/tasks.csv", dir);
	if (csv_open(&c, p))
		return -1;
	*failed = 0;
	while ((rc = csv_next(&c)) == 0) {
		n++;
		if (!strcmp(csv_get(&c, "outcome"), "failed"))
			(*failed)++;
	}
	csv_close(&c);
	return rc == 1 ? n : -1;
}

static int setup(void **state)
{
	(void)state;
	const char *s = getenv("LLAMA_SERVER"), *m = getenv("AGENTPERF_TEST_MODEL");
	snprintf(server, sizeof(server), "%s", s ? s : "");
	snprintf(model, sizeof(model), "%s", m && *m ? m : "../shared/models/stories260K.gguf");
	return 0;
}

static void test_healthy_run(void **state)
{
	(void)state;
	NEED_SERVER();
	char *d = tu_tmpdir(), spec[2200], out[512], err[512], dir[512];
	snprintf(spec, sizeof(spec), "llama-server:model=%s,bin=%s,threads=1", model, server);
	snprintf(out, sizeof(out), "%s/out", d);
	snprintf(err, sizeof(err), "%s/err", d);
	snprintf(dir, sizeof(dir), "%s/r/ok", d);
	char base[512];
	snprintf(base, sizeof(base), "%s/r", d);
	char *argv[] = { (char *)tu_agentperf(), "record", "-o", base, "--run-id", "ok", "-w",
			 "workloads/smoke.jsonl", "-b", spec, "-t", "capital", "--seed", "1",
			 "--temperature", "0", "--idle", "0", "-q", NULL };
	assert_int_equal(tu_run(argv, out, err), 0);
	cJSON *m = read_meta(dir);
	assert_non_null(m);
	assert_string_equal(jstr(m, "status"), "complete");
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(m, "model_load");
	const cJSON *sec = cJSON_GetObjectItemCaseSensitive(l, "seconds");
	assert_true(cJSON_IsNumber(sec) && sec->valuedouble > 0 && sec->valuedouble < 300);
	/* Either measured/estimated energy with its provenance, or null with a reason. */
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(l, "energy_j");
	assert_true(cJSON_IsNumber(j) ? j->valuedouble >= 0 : cJSON_IsNull(j));
	assert_true(strlen(jstr(l, "provenance")) > 0);
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(m, "model");
	assert_int_equal(strlen(jstr(md, "sha256")), 64);
	const cJSON *be = cJSON_GetObjectItemCaseSensitive(m, "backend");
	assert_string_equal(jstr(be, "kind"), "llama-server");
	assert_true(!strncmp(jstr(be, "url"), "http://127.0.0.1:", 17));
	/* Provenance: the real server names its build in /props (llama.cpp's "bNNNN-commit"). */
	const cJSON *srv = cJSON_GetObjectItemCaseSensitive(m, "server");
	const char *bi = jstr(srv, "build_info");
	assert_non_null(bi);
	assert_true(bi[0] == 'b' && strchr(bi, '-') != NULL);
	if (!strcmp(jstr(md, "sha256"), "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"))
		assert_non_null(strstr(jstr(m, "model_note"), "smoke-test model"));
	cJSON_Delete(m);
	char p[600];
	struct stat sb;
	snprintf(p, sizeof(p), "%s/llama-server.log", dir);
	assert_int_equal(stat(p, &sb), 0);
	assert_true(sb.st_size > 0);
	char *rep = tu_slurp(out);
	assert_non_null(rep);
	assert_true(tu_report_value(rep, "cpu-time-model-server") > 0);
	assert_true(tu_report_value(rep, "model-load-time") > 0);
	assert_non_null(strstr(rep, "server says"));
	free(rep);
	tu_rmrf(d);
	free(d);
}

static void test_server_exits_at_once(void **state)
{
	(void)state;
	NEED_SERVER();
	char *d = tu_tmpdir(), spec[2200], err[512], base[512], dir[600];
	snprintf(spec, sizeof(spec), "llama-server:model=%s,bin=/bin/false", model);
	snprintf(err, sizeof(err), "%s/err", d);
	snprintf(base, sizeof(base), "%s/r", d);
	snprintf(dir, sizeof(dir), "%s/x", base);
	char *argv[] = { (char *)tu_agentperf(), "record", "-o", base, "--run-id", "x", "-w",
			 "workloads/smoke.jsonl", "-b", spec, "--idle", "0", "-q", NULL };
	assert_int_not_equal(tu_run(argv, NULL, err), 0);
	char *e = tu_slurp(err);
	assert_non_null(e);
	assert_non_null(strstr(e, "exited with status 1 before becoming healthy"));
	assert_non_null(strstr(e, "llama-server.log"));
	free(e);
	cJSON *m = read_meta(dir);
	assert_non_null(m); /* complete JSON, not a half-written file */
	assert_string_equal(jstr(m, "status"), "failed");
	assert_non_null(strstr(jstr(m, "error"), "before becoming healthy"));
	cJSON_Delete(m);
	int failed;
	assert_int_equal(tasks_rows(dir, &failed), 0); /* header only, parseable */
	tu_rmrf(d);
	free(d);
}

static void test_server_killed_mid_run(void **state)
{
	(void)state;
	NEED_SERVER();
	char *d = tu_tmpdir(), spec[2200], out[512], err[512], base[512], dir[600];
	snprintf(spec, sizeof(spec), "llama-server:model=%s,bin=%s,threads=1,retries=1", model, server);
	snprintf(out, sizeof(out), "%s/out", d);
	snprintf(err, sizeof(err), "%s/err", d);
	snprintf(base, sizeof(base), "%s/r", d);
	snprintf(dir, sizeof(dir), "%s/k", base);
	char *argv[] = { (char *)tu_agentperf(), "record", "-o", base, "--run-id", "k", "-w",
			 "workloads/smoke.jsonl", "-b", spec, "-r", "20", "--idle", "0", "-q", NULL };
	pid_t run = fork();
	assert_true(run >= 0);
	if (run == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fe, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	/* meta.json names the server's PID as soon as it is healthy; wait for a
	 * few finished tasks, then kill it. */
	long spid = 0;
	char tp[700];
	snprintf(tp, sizeof(tp), "%s/tasks.csv", dir);
	for (int i = 0; i < 1200; i++) {
		cJSON *m = read_meta(dir);
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(m, "server"), "pid");
		char *t = tu_slurp(tp);
		int rows = t ? tu_count(t, "\n") - 1 : 0;
		free(t);
		if (cJSON_IsNumber(p) && rows >= 2)
			spid = (long)p->valuedouble;
		cJSON_Delete(m);
		if (spid > 0)
			break;
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
	}
	assert_true(spid > 0);
	assert_int_equal(kill((pid_t)spid, SIGKILL), 0);
	int st;
	waitpid(run, &st, 0);
	assert_true(WIFEXITED(st));
	assert_int_not_equal(WEXITSTATUS(st), 0);
	char *e = tu_slurp(err);
	assert_non_null(e);
	assert_non_null(strstr(e, "killed by signal 9"));
	assert_non_null(strstr(e, "llama-server.log"));
	free(e);
	cJSON *m = read_meta(dir);
	assert_non_null(m);
	assert_string_equal(jstr(m, "status"), "failed");
	cJSON_Delete(m);
	int failed, rows = tasks_rows(dir, &failed);
	assert_true(rows >= 2);
	assert_true(failed >= 1);
	char *rep = tu_slurp(out);
	assert_non_null(rep);
	assert_non_null(strstr(rep, "SERVER DIED"));
	assert_non_null(strstr(rep, "connect"));
	free(rep);
	tu_rmrf(d);
	free(d);
}

static void test_bad_model_path(void **state)
{
	(void)state;
	char *d = tu_tmpdir(), err[512], base[512];
	snprintf(err, sizeof(err), "%s/err", d);
	snprintf(base, sizeof(base), "%s/r", d);
	char *argv[] = { (char *)tu_agentperf(), "record", "-o", base, "-w", "workloads/smoke.jsonl",
			 "-b", "llama-server:model=/nonexistent/model.gguf", "-q", NULL };
	assert_int_equal(tu_run(argv, NULL, err), 2);
	char *e = tu_slurp(err);
	assert_non_null(e);
	assert_non_null(strstr(e, "/nonexistent/model.gguf"));
	assert_non_null(strstr(e, "cannot read the model"));
	free(e);
	/* Refused before anything ran: no results folder. */
	struct stat sb;
	assert_int_not_equal(stat(base, &sb), 0);
	tu_rmrf(d);
	free(d);
}

static void test_not_a_gguf(void **state)
{
	(void)state;
	NEED_SERVER();
	char *d = tu_tmpdir(), err[512], base[512], spec[2200];
	snprintf(err, sizeof(err), "%s/err", d);
	snprintf(base, sizeof(base), "%s/r", d);
	/* A readable file that is no GGUF: refused with the reason, not passed to the server. */
	snprintf(spec, sizeof(spec), "llama-server:model=workloads/smoke.jsonl,bin=%s", server);
	char *argv[] = { (char *)tu_agentperf(), "record", "-o", base, "--run-id", "g", "-w",
			 "workloads/smoke.jsonl", "-b", spec, "--idle", "0", "-q", NULL };
	assert_int_not_equal(tu_run(argv, NULL, err), 0);
	char *e = tu_slurp(err);
	assert_non_null(e);
	assert_non_null(strstr(e, "not a GGUF"));
	free(e);
	tu_rmrf(d);
	free(d);
}

/* A GGUF header alone (tensor infos, no data): gguf_inspect reads no further. */
static void write_gguf(const char *path, const char *name, uint64_t width, uint64_t layers)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	uint32_t v3 = 3, t_str = 8, t_f32 = 0, nd = 2;
	uint64_t n_tensors = layers, n_kv = 1, off = 0;
	const char *key = "general.name";
	uint64_t klen = strlen(key), nlen = strlen(name);
	fwrite("GGUF", 1, 4, f);
	fwrite(&v3, 4, 1, f);
	fwrite(&n_tensors, 8, 1, f);
	fwrite(&n_kv, 8, 1, f);
	fwrite(&klen, 8, 1, f);
	fwrite(key, 1, klen, f);
	fwrite(&t_str, 4, 1, f);
	fwrite(&nlen, 8, 1, f);
	fwrite(name, 1, nlen, f);
	for (uint64_t i = 0; i < layers; i++) {
		uint64_t tl = 1, dims[2] = { width, 12 * width };
		fwrite(&tl, 8, 1, f);
		fwrite("w", 1, 1, f);
		fwrite(&nd, 4, 1, f);
		fwrite(dims, 8, 2, f);
		fwrite(&t_f32, 4, 1, f);
		fwrite(&off, 8, 1, f);
	}
	assert_int_equal(fclose(f), 0);
}

static void test_smoke_model_detection(void **state)
{
	(void)state;
	char *d = tu_tmpdir(), path[512];
	snprintf(path, sizeof(path), "%s/m.gguf", d);
	struct gguf_info g;
	struct ap_error err = { { 0 } };
	/* tools/mkmodel.c's SLM-sized random model: above the parameter floor
	 * (12 x 768 x 9216 = 85M), flagged by its name. */
	write_gguf(path, "agentperf-random-768x12", 768, 12);
	assert_int_equal(gguf_inspect(path, &g, &err), 0);
	assert_true(g.params > 80e6);
	assert_true(g.smoke);
	assert_string_equal(g.smoke_why, "agentperf-random-768x12: random weights made by "
					 "agentperf's tools/mkmodel.c");
	/* The same shape under another name is taken as a real model. */
	write_gguf(path, "SmolLM2 135M Instruct", 768, 12);
	assert_int_equal(gguf_inspect(path, &g, &err), 0);
	assert_false(g.smoke);
	/* Below the floor, any name: a smoke-test model, with the count. */
	write_gguf(path, "tiny", 64, 2);
	assert_int_equal(gguf_inspect(path, &g, &err), 0);
	assert_true(g.smoke);
	assert_non_null(strstr(g.smoke_why, "98304 parameters, under the 20M"));
	tu_rmrf(d);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smoke_model_detection),
		cmocka_unit_test(test_bad_model_path),
		cmocka_unit_test(test_not_a_gguf),
		cmocka_unit_test(test_server_exits_at_once),
		cmocka_unit_test(test_healthy_run),
		cmocka_unit_test(test_server_killed_mid_run),
	};
	return cmocka_run_group_tests_name("managed llama-server", tests, setup, NULL);
}
