/*
 * The faults found from outside (issue 15), each against the guarantee the
 * README makes, through the real command line and the fake server: an
 * immutable workload, masked secrets, redacted URL credentials, bounded
 * reads of regular files only, the one safe open in a run folder, resume
 * checks (layout, lock), \u0000 in workloads, timeouts below 1 ms, and the
 * small validation items. Test names carry the item number.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include <dirent.h>

#include "runutil.h"

#define KEY "sk-test-Zq8WvR3kT5mN1pX7"

struct ctx {
	char dir[256], wl[300], res[300], out[300], err[300];
	struct tu_server s;
	bool server;
};

static void ctx_init(struct ctx *c)
{
	memset(c, 0, sizeof(*c));
	char *d = tu_tmpdir();
	assert_non_null(d);
	snprintf(c->dir, sizeof(c->dir), "%s", d);
	free(d);
	snprintf(c->wl, sizeof(c->wl), "%s/w.jsonl", c->dir);
	snprintf(c->res, sizeof(c->res), "%s/results", c->dir);
	snprintf(c->out, sizeof(c->out), "%s/stdout", c->dir);
	snprintf(c->err, sizeof(c->err), "%s/stderr", c->dir);
}

static void ctx_free(struct ctx *c)
{
	if (c->server)
		tu_fake_stop(&c->s);
	tu_rmrf(c->dir);
}

/* Writes text to dir/name; returns the path in buf. */
static const char *put(const struct ctx *c, const char *name, const char *text, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", c->dir, name);
	FILE *f = fopen(buf, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void start_server(struct ctx *c, const char *rules_text)
{
	char p[400];
	put(c, "rules", rules_text, p, sizeof(p));
	assert_int_equal(tu_fake_start(&c->s, p), 0);
	c->server = true;
}

static void start_rules_file(struct ctx *c, const char *rules)
{
	assert_int_equal(tu_fake_start(&c->s, rules), 0);
	c->server = true;
}

/* Runs agentperf with argv (NULL-terminated, without argv[0]); returns its exit status. */
static int run(const struct ctx *c, const char *const args[])
{
	char *argv[64] = { (char *)tu_agentperf() };
	int n = 1;
	for (int i = 0; args[i] && n < 63; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	return tu_run(argv, c->out, c->err);
}

static pid_t spawn(const struct ctx *c, const char *const args[])
{
	char *argv[64] = { (char *)tu_agentperf() };
	int n = 1;
	for (int i = 0; args[i] && n < 63; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	return ru_spawn(argv, c->out, c->err);
}

static char *file_in(const char *dir, const char *name)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return tu_slurp(p);
}

static char *stderr_of(const struct ctx *c)
{
	char *e = tu_slurp(c->err);
	assert_non_null(e);
	return e;
}

static void assert_has(const char *hay, const char *needle, const char *what)
{
	if (!hay || !strstr(hay, needle))
		fail_msg("%s lacks '%s': %s", what, needle, hay ? hay : "(no file)");
}

static void assert_lacks(const char *hay, const char *needle, const char *what)
{
	if (hay && strstr(hay, needle))
		fail_msg("%s holds '%s': %s", what, needle, hay);
}

static const char *status_of(cJSON *meta)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(meta, "status");
	return cJSON_IsString(s) ? s->valuestring : "";
}

static cJSON *meta_of(const char *rdir)
{
	char *m = file_in(rdir, "meta.json");
	assert_non_null(m);
	cJSON *j = cJSON_Parse(m);
	free(m);
	assert_non_null(j);
	return j;
}

static void spec_for(const struct ctx *c, char *buf, size_t n, const char *extra)
{
	snprintf(buf, n, "openai:url=http://127.0.0.1:%d/v1,stream=0,retries=0%s", c->s.port,
		 extra ? extra : "");
}

static void paris_workload(const struct ctx *c, const char *path, const char *prefix, int n)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\"agentperf_workload\":1,\"name\":\"w\",\"version\":\"1\",\"source\":\"tests\","
		   "\"license\":\"CC0-1.0\",\"defaults\":{\"max_steps\":1}}\n");
	for (int i = 0; i < n; i++)
		fprintf(f, "{\"id\":\"%s%02d\",\"prompt\":\"What is the capital of France?\","
			   "\"check\":{\"kind\":\"contains\",\"value\":\"Paris\"}}\n",
			prefix, i);
	assert_int_equal(fclose(f), 0);
	(void)c;
}

/* Waits until dir/name holds at least rows rows after its header. */
static void wait_rows(const char *rdir, const char *name, int rows)
{
	for (int i = 0; i < 3000; i++) {
		char *t = file_in(rdir, name);
		int n = t ? ru_rows(t, NULL, NULL) : 0;
		free(t);
		if (n >= rows)
			return;
		ru_sleep_ms(5);
	}
	fail_msg("%s/%s never reached %d rows", rdir, name, rows);
}

/* ---- 2: the workload is read once; a change mid-run fails the run ---- */

static void change_mid_run(bool truncate_it)
{
	struct ctx c;
	ctx_init(&c);
	start_rules_file(&c, "tests/fake/slow.rules");
	paris_workload(&c, c.wl, "t", 4);
	char spec[256], rdir[400];
	spec_for(&c, spec, sizeof(spec), NULL);
	snprintf(rdir, sizeof(rdir), "%s/r", c.res);
	const char *args[] = { "record", "-q", "--no-energy", "-w", c.wl, "-b", spec, "-r", "3",
			       "-o", c.res, "--run-id", "r", NULL };
	pid_t p = spawn(&c, args);
	wait_rows(rdir, "tasks.csv", 1);
	/* Rewritten (other tasks) or truncated while repeat 1 runs. */
	if (truncate_it)
		assert_int_equal(truncate(c.wl, 0), 0);
	else
		paris_workload(&c, c.wl, "x", 6);
	int rc = ru_wait(p, NULL);
	char *e = stderr_of(&c), *tasks = file_in(rdir, "tasks.csv");
	if (rc == 0)
		fail_msg("exit 0 after the workload changed mid-run; stderr: %s", e);
	assert_has(e, "changed during the run", "stderr");
	/* Only the tasks read at the start ran, and no repeat ran zero tasks. */
	assert_non_null(tasks);
	assert_lacks(tasks, ",x0", "tasks.csv");
	assert_true(ru_rows(tasks, "task_id", "t00") >= 1);
	assert_true(ru_rows(tasks, NULL, NULL) <= 4);
	cJSON *m = meta_of(rdir);
	assert_string_equal(status_of(m), "failed");
	cJSON_Delete(m);
	free(e);
	free(tasks);
	ctx_free(&c);
}

static void test_02_workload_rewritten_mid_run(void **state)
{
	(void)state;
	change_mid_run(false);
}

static void test_02_workload_truncated_mid_run(void **state)
{
	(void)state;
	change_mid_run(true);
}

/* ---- 3: a key the server echoes is masked everywhere ---- */

static void test_03_echoed_key_masked(void **state)
{
	(void)state;
	struct ctx c;
	ctx_init(&c);
	start_server(&c,
		     "rule echo-401\nmatch_path /v1/chat/completions\nmatch_body_not \"stream\":true\n"
		     "status 401\nbody {\"error\":{\"message\":\"Incorrect API key provided: Bearer "
		     KEY "\",\"type\":\"invalid_request_error\"}}\nend\n"
		     "rule echo-stream\nmatch_path /v1/chat/completions\n"
		     "sse data: {\"error\":{\"message\":\"bad key " KEY "\"}}\nend\n");
	paris_workload(&c, c.wl, "t", 1);
	char spec[256], spec2[256];
	spec_for(&c, spec, sizeof(spec), ",key_env=REL_TEST_KEY");
	snprintf(spec2, sizeof(spec2), "openai:url=http://127.0.0.1:%d/v1,retries=0,key_env=REL_TEST_KEY",
		 c.s.port);
	setenv("REL_TEST_KEY", KEY, 1);
	const char *args[] = { "record", "-vv", "--no-energy", "-w", c.wl, "-b", spec, "-b", spec2,
			       "-o", c.res, "--run-id", "r", NULL };
	run(&c, args);
	unsetenv("REL_TEST_KEY");
	/* The key did reach the server (so it was configured), and nothing we wrote holds it. */
	char *log = tu_slurp(c.s.log);
	assert_has(log, KEY, "the fake server's log");
	free(log);
	const char *files[] = { "meta.json", "calls.csv", "attempts.csv", "tasks.csv", "report.txt",
				"summary.csv" };
	int seen401 = 0;
	DIR *d = opendir(c.res);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char rdir[600];
		snprintf(rdir, sizeof(rdir), "%s/%s", c.res, de->d_name);
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			char *t = file_in(rdir, files[i]);
			assert_lacks(t, KEY, files[i]);
			if (t && !strcmp(files[i], "calls.csv") && strstr(t, "Bearer ***"))
				seen401++;
			free(t);
		}
	}
	closedir(d);
	char *e = stderr_of(&c), *o = tu_slurp(c.out);
	assert_lacks(e, KEY, "stderr (-vv)");
	assert_lacks(o, KEY, "stdout");
	/* The echo was recorded, masked: the error says what the server said. */
	assert_true(seen401 >= 1);
	free(e);
	free(o);
	ctx_free(&c);
}

/* ---- 4: credentials in a URL are redacted; the path goes before the query ---- */

static void test_04_url_credentials_redacted(void **state)
{
	(void)state;
	struct ctx c;
	ctx_init(&c);
	start_rules_file(&c, "tests/fake/openai-basic.rules");
	paris_workload(&c, c.wl, "t", 1);
	char spec[300], rdir[400];
	snprintf(spec, sizeof(spec),
		 "openai:url=http://user:PassW0rdSecret@127.0.0.1:%d/v1?api-version=2024&api-key="
		 "QueryKeySecret9,stream=0,retries=0",
		 c.s.port);
	snprintf(rdir, sizeof(rdir), "%s/r", c.res);
	const char *args[] = { "record", "--no-energy", "-w", c.wl, "-b", spec, "-o", c.res,
			       "--run-id", "r", NULL };
	int rc = run(&c, args);
	char *e = stderr_of(&c);
	if (rc)
		fail_msg("exit %d: %s", rc, e);
	/* The request went to /v1/chat/completions?api-version=...: the path before the query. */
	char *log = tu_slurp(c.s.log);
	assert_has(log, "POST /v1/chat/completions?api-version=2024&api-key=QueryKeySecret9 ",
		   "the fake server's log");
	free(log);
	const char *secrets[] = { "PassW0rdSecret", "QueryKeySecret9", "user:" };
	char *texts[] = { file_in(rdir, "meta.json"), file_in(rdir, "report.txt"),
			  tu_slurp(c.out), e, file_in(rdir, "calls.csv") };
	const char *names[] = { "meta.json", "report.txt", "stdout", "stderr", "calls.csv" };
	for (size_t i = 0; i < 5; i++) {
		assert_non_null(texts[i]);
		for (size_t k = 0; k < 3; k++)
			assert_lacks(texts[i], secrets[k], names[i]);
	}
	/* meta.json keeps the URL with *** in place of each credential (argv, spec, url). */
	assert_has(texts[0], "http://***@127.0.0.1", "meta.json");
	assert_has(texts[0], "api-key=***", "meta.json");
	assert_has(texts[0], "api-version=2024", "meta.json");
	for (size_t i = 0; i < 5; i++)
		free(texts[i]);
	/* A resume of it is refused: meta.json does not keep the credentials. */
	const char *rargs[] = { "record", "--resume", rdir, NULL };
	assert_int_equal(run(&c, rargs), 2);
	e = stderr_of(&c);
	assert_has(e, "credentials", "stderr");
	free(e);
	ctx_free(&c);
}

/* ---- 5: bounded reads, regular files only ---- */

static void test_05_non_regular_and_huge_files(void **state)
{
	(void)state;
	struct ctx c;
	ctx_init(&c);
	paris_workload(&c, c.wl, "t", 1);
	char fifo[400], big[400];
	snprintf(fifo, sizeof(fifo), "%s/fifo.jsonl", c.dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	const char *bad[] = { "/dev/zero", fifo, c.dir };
	for (size_t i = 0; i < 3; i++) {
		const char *a1[] = { "stat", "-q", "--no-energy", "-w", bad[i], "-b",
				     "openai:url=http://127.0.0.1:9/v1", NULL };
		uint64_t t0 = (uint64_t)time(NULL);
		assert_int_equal(run(&c, a1), 2);
		assert_true((uint64_t)time(NULL) - t0 < 10);
		char *e = stderr_of(&c);
		assert_has(e, bad[i], "stderr");
		assert_has(e, "not a regular file", "stderr");
		free(e);
		/* The same through a profile. */
		const char *a2[] = { "stat", "-q", "--no-energy", "-w", c.wl, "-b",
				     "openai:url=http://127.0.0.1:9/v1", "--profile", bad[i], NULL };
		assert_int_equal(run(&c, a2), 2);
		e = stderr_of(&c);
		assert_has(e, bad[i], "stderr");
		assert_has(e, "not a regular file", "stderr");
		free(e);
	}
	/* 256 MiB without a newline (sparse: costs no disk): refused at the line bound,
	 * memory bounded by it, not by the file. */
	snprintf(big, sizeof(big), "%s/big.jsonl", c.dir);
	int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"agentperf_workload\":1,\"x\":\"", 30), 30);
	assert_int_equal(ftruncate(fd, 256L << 20), 0);
	close(fd);
	const char *a3[] = { "stat", "-q", "--no-energy", "-w", big, "-b",
			     "openai:url=http://127.0.0.1:9/v1", NULL };
	char *argv[16] = { (char *)tu_agentperf() };
	for (int i = 0; a3[i]; i++)
		argv[i + 1] = (char *)a3[i];
	long rss = 0;
	pid_t p = ru_spawn(argv, c.out, c.err);
	assert_int_equal(ru_wait(p, &rss), 2);
	char *e = stderr_of(&c);
	assert_has(e, "longer than 16 MiB", "stderr");
	free(e);
	if (rss > 96 * 1024)
		fail_msg("peak RSS %ld KiB reading a 256 MiB line: not bounded", rss);
	ctx_free(&c);
}

/* ---- 9: --resume checks the layout; 16: a folder without calls.csv exits 2 ---- */

static void make_run(struct ctx *c, const char *rdir)
{
	char spec[256];
	spec_for(c, spec, sizeof(spec), NULL);
	const char *args[] = { "record", "-q", "--no-energy", "-w", c->wl, "-b", spec, "-o", c->res,
			       "--run-id", strrchr(rdir, '/') + 1, NULL };
	assert_int_equal(run(c, args), 0);
}

static void expect_resume_refused(struct ctx *c, const char *rdir, const char *why)
{
	char *before = file_in(rdir, "tasks.csv");
	const char *args[] = { "record", "--resume", rdir, "-q", NULL };
	int rc = run(c, args);
	char *e = stderr_of(c), *after = file_in(rdir, "tasks.csv");
	if (rc != 2)
		fail_msg("resume exit %d, expected 2: %s", rc, e);
	assert_has(e, why, "stderr");
	/* Nothing ran, nothing was appended. */
	if (before && after)
		assert_string_equal(before, after);
	free(e);
	free(before);
	free(after);
}

static void test_09_resume_checks_layout(void **state)
{
	(void)state;
	struct ctx c;
	ctx_init(&c);
	start_rules_file(&c, "tests/fake/openai-basic.rules");
	paris_workload(&c, c.wl, "t", 2);
	char r1[400], r2[400], r3[400], p[700];
	snprintf(r1, sizeof(r1), "%s/fmt", c.res);
	snprintf(r2, sizeof(r2), "%s/hdr", c.res);
	snprintf(r3, sizeof(r3), "%s/nocalls", c.res);
	make_run(&c, r1);
	make_run(&c, r2);
	make_run(&c, r3);
	/* Another csv_format in meta.json. */
	char *m = file_in(r1, "meta.json");
	char *f = strstr(m, "\"csv_format\":\t1");
	assert_non_null(f);
	f[strlen("\"csv_format\":\t")] = '7';
	snprintf(p, sizeof(p), "%s/meta.json", r1);
	FILE *o = fopen(p, "w");
	fputs(m, o);
	fclose(o);
	free(m);
	expect_resume_refused(&c, r1, "csv_format");
	/* Another header layout in tasks.csv (a column renamed). */
	char *t = file_in(r2, "tasks.csv");
	char *h = strstr(t, "outcome");
	assert_non_null(h);
	memcpy(h, "OUTCOME", 7);
	snprintf(p, sizeof(p), "%s/tasks.csv", r2);
	o = fopen(p, "w");
	fputs(t, o);
	fclose(o);
	free(t);
	expect_resume_refused(&c, r2, "layout");
	/* No calls.csv. */
	snprintf(p, sizeof(p), "%s/calls.csv", r3);
	assert_int_equal(unlink(p), 0);
	expect_resume_refused(&c, r3, "calls.csv");
	ctx_free(&c);
}

/* ---- 13: \u0000 in a workload string is refused, naming the field ---- */

static void test_13_nul_escape_refused(void **state)
{
	(void)state;
	struct ctx c;
	ctx_init(&c);
	const char *hdr = "{\"agentperf_workload\":1,\"name\":\"n\",\"version\":\"1\",\"source\":\"t\","
			  "\"license\":\"CC0-1.0\"}\n";
	const struct {
		const char *line, *field;
	} cases[] = {
		{ "{\"id\":\"a\",\"prompt\":\"cut\\u0000here\",\"check\":{\"kind\":\"contains\","
		  "\"value\":\"x\"}}\n",
		  ":2: prompt:" },
		{ "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"exact\",\"value\":\"Par\\u0000is\"}}\n",
		  ":2: check.value:" },
	};
	for (size_t i = 0; i < 2; i++) {
		char text[1024], p[400];
		snprintf(text, sizeof(text), "%s%s", hdr, cases[i].line);
		put(&c, "nul.jsonl", text, p, sizeof(p));
		const char *args[] = { "stat", "-q", "--no-energy", "-w", p, "-b",
				       "openai:url=http://127.0.0.1:9/v1", NULL };
		assert_int_equal(run(&c, args), 2);
		char *e = stderr_of(&c);
		assert_has(e, cases[i].field, "stderr");
		assert_has(e, "\\u0000", "stderr");
		free(e);
	}
	/* An escaped backslash before u0000 is ordinary text. */
	char text[1024], p[400];
	snprintf(text, sizeof(text),
		 "%s{\"id\":\"a\",\"prompt\":\"a\\\\u0000b\",\"check\":{\"kind\":\"contains\","
		 "\"value\":\"x\"}}\n",
		 hdr);
	put(&c, "ok.jsonl", text, p, sizeof(p));
	const char *args[] = { "list", c.dir, NULL };
	assert_int_equal(run(&c, args), 0);
	char *o = tu_slurp(c.out);
	assert_lacks(o, "ok.jsonl                             INVALID", "list");
	assert_has(o, "nul.jsonl", "list");
	free(o);
	ctx_free(&c);
}

/* ---- 15: timeouts below 1 ms are refused ---- */

static void test_15_sub_ms_timeouts_refused(void **state)
{
	(void)state;
	struct ctx c;
	ctx_init(&c);
	paris_workload(&c, c.wl, "t", 1);
	const char *bad[] = { "timeout=0.0004", "connect_timeout=0.0001", "timeout=1e-9" };
	for (size_t i = 0; i < 3; i++) {
		char spec[200];
		snprintf(spec, sizeof(spec), "openai:url=http://127.0.0.1:9/v1,%s", bad[i]);
		const char *args[] = { "stat", "-q", "--no-energy", "-w", c.wl, "-b", spec, NULL };
		assert_int_equal(run(&c, args), 2);
		char *e = stderr_of(&c);
		assert_has(e, "0.001", "stderr");
		free(e);
	}
	ctx_free(&c);
}

/* ---- 16: the small validation items ---- */

static void test_16_validation_items(void **state)
{
	(void)state;
	struct ctx c;
	ctx_init(&c);
	paris_workload(&c, c.wl, "t", 1);
	/* anthropic_version with CR/LF would inject a header. */
	const char *a1[] = { "stat", "-q", "--no-energy", "-w", c.wl, "-b",
			     "anthropic:url=http://127.0.0.1:9/v1,anthropic_version=2023\r\nX-Evil: 1",
			     NULL };
	assert_int_equal(run(&c, a1), 2);
	char *e = stderr_of(&c);
	assert_has(e, "anthropic_version", "stderr");
	free(e);
	/* "repeats": 1e10 in a hand-edited meta.json: refused by report, no undefined behaviour. */
	start_rules_file(&c, "tests/fake/openai-basic.rules");
	char rdir[400], p[700];
	snprintf(rdir, sizeof(rdir), "%s/r", c.res);
	make_run(&c, rdir);
	char *m = file_in(rdir, "meta.json");
	char *r = strstr(m, "\n\t\"repeats\":\t1,");
	assert_non_null(r);
	r += 2;
	snprintf(p, sizeof(p), "%s/meta.json", rdir);
	FILE *o = fopen(p, "w");
	fprintf(o, "%.*s\"repeats\":\t1e10,%s", (int)(r - m), m, r + strlen("\"repeats\":\t1,"));
	fclose(o);
	free(m);
	const char *a2[] = { "report", rdir, NULL };
	assert_int_not_equal(run(&c, a2), 0);
	e = stderr_of(&c);
	assert_has(e, "repeats", "stderr");
	free(e);
	ctx_free(&c);
}

/* ---- 17: one agentperf per run folder ---- */

static void test_17_folder_locked(void **state)
{
	(void)state;
	struct ctx c;
	ctx_init(&c);
	start_rules_file(&c, "tests/fake/slow.rules");
	paris_workload(&c, c.wl, "t", 6);
	char spec[256], rdir[400];
	spec_for(&c, spec, sizeof(spec), NULL);
	snprintf(rdir, sizeof(rdir), "%s/r", c.res);
	const char *args[] = { "record", "-q", "--no-energy", "-w", c.wl, "-b", spec, "-o", c.res,
			       "--run-id", "r", NULL };
	pid_t p = spawn(&c, args);
	wait_rows(rdir, "tasks.csv", 1);
	/* A resume while the record runs is refused, and touches nothing. */
	struct ctx c2 = c;
	snprintf(c2.out, sizeof(c2.out), "%s/stdout2", c.dir);
	snprintf(c2.err, sizeof(c2.err), "%s/stderr2", c.dir);
	const char *rargs[] = { "record", "--resume", rdir, "-q", NULL };
	int rc = run(&c2, rargs);
	char *e = stderr_of(&c2);
	if (rc != 2)
		fail_msg("resume during the run: exit %d, expected 2: %s", rc, e);
	assert_has(e, "another agentperf", "stderr");
	free(e);
	/* The record goes on and finishes whole. */
	assert_int_equal(ru_wait(p, NULL), 0);
	char *t = file_in(rdir, "tasks.csv");
	assert_int_equal(ru_rows(t, NULL, NULL), 6);
	free(t);
	cJSON *m = meta_of(rdir);
	assert_string_equal(status_of(m), "complete");
	cJSON_Delete(m);
	/* Once it is done, the folder can be resumed (nothing left to run). */
	assert_int_equal(run(&c, rargs), 0);
	ctx_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_02_workload_rewritten_mid_run),
		cmocka_unit_test(test_02_workload_truncated_mid_run),
		cmocka_unit_test(test_03_echoed_key_masked),
		cmocka_unit_test(test_04_url_credentials_redacted),
		cmocka_unit_test(test_05_non_regular_and_huge_files),
		cmocka_unit_test(test_09_resume_checks_layout),
		cmocka_unit_test(test_13_nul_escape_refused),
		cmocka_unit_test(test_15_sub_ms_timeouts_refused),
		cmocka_unit_test(test_16_validation_items),
		cmocka_unit_test(test_17_folder_locked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
