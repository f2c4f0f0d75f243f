/*
 * The server's side of a run (issue 18): token provenance against a
 * fakeserver that sends no usage, the chunk cross-check, the Prometheus
 * parser on output captured from a real llama-server, the metrics channels
 * in samples.csv of a managed llama-server run with its fit block, and the
 * prefix cache cold versus warm on the real server. Real-server tests skip
 * with the reason where llama-server or the model is missing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include <cjson/cJSON.h>

#include "jsonv.h"
#include "measure/prom.h"
#include "measure/srvmetrics.h"
#include "measure/srvview.h"
#include "runutil.h"
#include "testutil.h"
#include "util.h"
#include "workload.h"

static char server_bin[1024], model[1024];

static bool have_llama(void)
{
	const char *s = getenv("LLAMA_SERVER");
	const char *m = getenv("AGENTPERF_TEST_MODEL");
	snprintf(server_bin, sizeof(server_bin), "%s", s ? s : "");
	snprintf(model, sizeof(model), "%s", m && *m ? m : "../shared/models/stories260K.gguf");
	if (!*server_bin || access(server_bin, X_OK)) {
		print_message("SKIPPED: no llama-server (LLAMA_SERVER unset: make llama-server)\n");
		return false;
	}
	if (access(model, R_OK)) {
		print_message("SKIPPED: model %s not readable\n", model);
		return false;
	}
	return true;
}

/* Sum of a numeric column of a CSV over its rows (empty cells count 0). */
static double col_sum(const char *csv, const char *col, int *rows)
{
	int ci = ru_col(csv, col);
	double s = 0;
	*rows = 0;
	const char *l = strchr(csv, '\n');
	for (l = l ? l + 1 : NULL; l && *l && ci >= 0; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char f[128];
		ru_field(l, ci, f, sizeof(f));
		s += atof(f);
		(*rows)++;
	}
	return s;
}

static char *read_in(const char *dir, const char *name)
{
	char p[1000];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return tu_slurp(p);
}

static cJSON *meta_of(const char *dir)
{
	char *t = read_in(dir, "meta.json");
	cJSON *j = t ? cJSON_Parse(t) : NULL;
	free(t);
	return j;
}

static int record(const char *dir, const char *wl, const char *backend, const char *extra1,
		  const char *extra2, const char *repeats)
{
	char out[700];
	snprintf(out, sizeof(out), "%s/out.txt", dir);
	char *argv[] = { (char *)tu_agentperf(), "record", "-w", (char *)wl, "-b", (char *)backend,
			 "-o", (char *)dir, "--run-id", "run", "-r", (char *)repeats, "--idle", "0",
			 "-q", (char *)extra1, (char *)extra2, NULL };
	if (!extra1)
		argv[15] = NULL;
	else if (!extra2)
		argv[16] = NULL;
	return tu_run(argv, out, NULL);
}

/* A server without usage: counts estimated by bytes / 4 and labelled so; no /metrics. */
static void test_provenance_no_usage(void **state)
{
	(void)state;
	for (int stream = 0; stream < 2; stream++) {
		struct tu_server fs;
		assert_int_equal(tu_fake_start(&fs, "tests/fake/openai-nousage.rules"), 0);
		char *d = tu_tmpdir(), wl[600], be[300], run[700];
		snprintf(wl, sizeof(wl), "%s/w.jsonl", d);
		const char *const prompts[] = { "What is the capital of France?" };
		assert_int_equal(ru_workload(wl, "nousage", prompts, 1, 1), 0);
		/* streamed: a metrics_url that answers 404; not streamed: none given */
		int n = snprintf(be, sizeof(be), "openai:url=http://127.0.0.1:%d/v1,model=m,stream=%d",
				 fs.port, stream);
		if (stream)
			snprintf(be + n, sizeof(be) - (size_t)n,
				 ",metrics_url=http://127.0.0.1:%d/metrics", fs.port);
		assert_int_equal(record(d, wl, be, NULL, NULL, "1"), 0);
		snprintf(run, sizeof(run), "%s/run", d);
		char *calls = read_in(run, "calls.csv"), f[64];
		assert_non_null(calls);
		assert_true(ru_get(calls, "t00", "tokens_source", f, sizeof(f)));
		assert_string_equal(f, "estimated:bytes/4");
		ru_get(calls, "t00", "usage_reported", f, sizeof(f));
		assert_string_equal(f, "0");
		/* 30 bytes of prompt, 31 of answer: 8 and 8 */
		ru_get(calls, "t00", "prompt_tokens", f, sizeof(f));
		assert_string_equal(f, "8");
		ru_get(calls, "t00", "completion_tokens", f, sizeof(f));
		assert_string_equal(f, "8");
		ru_get(calls, "t00", "content_chunks", f, sizeof(f));
		assert_string_equal(f, stream ? "2" : "");
		char *rep = read_in(run, "report.txt");
		assert_non_null(rep);
		assert_non_null(strstr(rep, "calls-without-usage"));
		assert_non_null(strstr(rep, "ESTIMATED (bytes / 4)"));
		/* the fakeserver has no /metrics: not supported, and why */
		cJSON *m = meta_of(run);
		const cJSON *sm = cJSON_GetObjectItemCaseSensitive(m, "server_metrics");
		assert_string_equal(jv_str_or(sm, "status", ""), "not supported");
		assert_non_null(strstr(jv_str_or(sm, "reason", ""), stream ? "HTTP 404" : "no metrics_url"));
		assert_non_null(strstr(rep, "<not supported>        server-metrics"));
		/* without metrics_url= the server got only the chat completion */
		char *slog = tu_slurp(fs.log);
		/* one scrape when it is given (a failed first scrape is the last) */
		assert_int_equal(tu_count(slog, "GET /metrics"), stream ? 1 : 0);
		assert_int_equal(tu_count(slog, "GET /props"), 0);
		free(slog);
		cJSON_Delete(m);
		free(rep);
		free(calls);
		tu_fake_stop(&fs);
		tu_rmrf(d);
		free(d);
	}
}

/* Server usage, streamed: 3 content chunks against completion_tokens 8 is flagged. */
static void test_chunk_mismatch(void **state)
{
	(void)state;
	struct tu_server fs;
	assert_int_equal(tu_fake_start(&fs, "tests/fake/openai-stream.rules"), 0);
	char *d = tu_tmpdir(), wl[600], be[300], run[700];
	snprintf(wl, sizeof(wl), "%s/w.jsonl", d);
	const char *const prompts[] = { "What is the capital of France?", "And of Italy?" };
	assert_int_equal(ru_workload(wl, "stream", prompts, 2, 1), 0);
	snprintf(be, sizeof(be), "openai:url=http://127.0.0.1:%d/v1,model=m,stream=1", fs.port);
	assert_int_equal(record(d, wl, be, NULL, NULL, "1"), 0);
	snprintf(run, sizeof(run), "%s/run", d);
	char *calls = read_in(run, "calls.csv"), f[64];
	ru_get(calls, "t00", "tokens_source", f, sizeof(f));
	assert_string_equal(f, "server");
	ru_get(calls, "t00", "content_chunks", f, sizeof(f));
	assert_string_equal(f, "3");
	char *rep = read_in(run, "report.txt");
	assert_true(tu_report_value(rep, "token-count-mismatch") == 2);
	assert_non_null(strstr(rep, "of 2 streamed"));
	free(rep);
	free(calls);
	tu_fake_stop(&fs);
	tu_rmrf(d);
	free(d);
}

/* ---- real llama-server ---- */

struct names {
	int n;
	char name[64][96];
	int type[64];
};

static int collect_names(const struct prom_sample *s, void *ud)
{
	struct names *n = ud;
	if (n->n < 64) {
		snprintf(n->name[n->n], sizeof(n->name[0]), "%s", s->name);
		n->type[n->n++] = s->type;
	}
	return 0;
}

/*
 * Captures /metrics from a real llama-server started with --metrics, after
 * one completion, and parses it; the kept capture in tests/data (parsed by
 * test_prom offline) must name the same metrics.
 */
static void test_real_metrics_capture(void **state)
{
	(void)state;
	if (!have_llama())
		skip();
	int port = ru_free_port();
	char ps[16], url[128];
	snprintf(ps, sizeof(ps), "%d", port);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execl(server_bin, server_bin, "-m", model, "--host", "127.0.0.1", "--port", ps, "-c",
		      "1024", "-t", "1", "-np", "1", "--no-webui", "--metrics", (char *)NULL);
		_exit(127);
	}
	struct sbuf b = { 0 };
	long st = 0;
	char err[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", port);
	for (int i = 0; i < 600; i++) {
		if (!srv_http(url, NULL, 1, &b, &st, err, sizeof(err)) && st == 200)
			break;
		ru_sleep_ms(100);
	}
	assert_int_equal(st, 200);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/completion", port);
	assert_int_equal(srv_http(url, "{\"prompt\":\"Once upon a time\",\"n_predict\":4}", 30, &b, &st,
				  err, sizeof(err)),
			 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
	assert_int_equal(srv_http(url, NULL, 5, &b, &st, err, sizeof(err)), 0);
	assert_int_equal(st, 200);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	struct names live = { 0 }, kept = { 0 };
	struct prom_error pe;
	assert_int_equal(prom_parse(b.s, b.len, collect_names, &live, &pe), 0);
	assert_true(live.n >= 10);
	bool prompt = false;
	for (int i = 0; i < live.n; i++)
		if (!strcmp(live.name[i], "llamacpp:prompt_tokens_total")) {
			prompt = true;
			assert_int_equal(live.type[i], PROM_COUNTER);
		}
	assert_true(prompt);
	char *t = tu_slurp("tests/data/llama-server-metrics.txt");
	assert_non_null(t);
	assert_int_equal(prom_parse(t, strlen(t), collect_names, &kept, &pe), 0);
	assert_int_equal(kept.n, live.n);
	for (int i = 0; i < live.n; i++)
		assert_string_equal(kept.name[i], live.name[i]);
	free(t);
	sbuf_free(&b);
}

/* A managed run: server:* channels in samples.csv, server_metrics and fit in meta.json. */
static void test_managed_metrics_channels(void **state)
{
	(void)state;
	if (!have_llama())
		skip();
	char *d = tu_tmpdir(), wl[600], be[1400], run[800];
	snprintf(wl, sizeof(wl), "%s/w.jsonl", d);
	const char *const prompts[] = { "Once upon a time", "The little dog", "A girl named Lily",
					"One day a cat" };
	assert_int_equal(ru_workload(wl, "metrics", prompts, 4, 1), 0);
	snprintf(be, sizeof(be), "llama-server:model=%s,ctx=2048,threads=1", model);
	assert_int_equal(record(d, wl, be, "--metrics-interval", "0.1", "2"), 0);
	snprintf(run, sizeof(run), "%s/run", d);
	char *s = read_in(run, "samples.csv");
	assert_non_null(s);
	assert_true(tu_count(s, ",server:requests-running,") >= 3);
	assert_true(tu_count(s, ",server:prompt-tokens,") >= 3);
	assert_true(tu_count(s, ",server:generated-tokens-rate,") >= 3);
	assert_non_null(strstr(s, ",server:requests-running,1,,ok"));
	cJSON *m = meta_of(run);
	const cJSON *sm = cJSON_GetObjectItemCaseSensitive(m, "server_metrics");
	assert_string_equal(jv_str_or(sm, "status", ""), "ok");
	assert_true(jv_num_or(sm, "scrapes", 0) >= 3);
	const cJSON *ch;
	double gen = NAN;
	cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(sm, "channels"))
		if (!strcmp(jv_str_or(ch, "name", ""), "generated-tokens"))
			gen = jv_num_or(ch, "total", NAN);
	/* the server's generated tokens over the run are the calls' completion tokens */
	char *calls = read_in(run, "calls.csv");
	int rows;
	double compl = col_sum(calls, "completion_tokens", &rows);
	assert_int_equal(rows, 8);
	assert_true(gen > 0 && fabs(gen - compl) <= rows);
	const cJSON *fit = cJSON_GetObjectItemCaseSensitive(m, "fit");
	assert_true(jv_num_or(fit, "server_peak_rss_bytes", 0) > 1e6);
	assert_true(jv_num_or(fit, "n_ctx_total", 0) == 2048);
	assert_true(jv_num_or(fit, "kv_cache_bytes", 0) > 0);
	char *rep = read_in(run, "report.txt");
	assert_non_null(strstr(rep, "server-peak-rss"));
	assert_non_null(strstr(rep, "server-requests-running"));
	free(rep);
	free(calls);
	cJSON_Delete(m);
	free(s);
	tu_rmrf(d);
	free(d);
}

/* Tasks sharing a long system prompt: cached tokens near zero cold, not warm. */
static void test_cache_cold_warm(void **state)
{
	(void)state;
	if (!have_llama())
		skip();
	char *d = tu_tmpdir(), wl[600], be[1400], run[800];
	snprintf(wl, sizeof(wl), "%s/w.jsonl", d);
	FILE *f = fopen(wl, "w");
	assert_non_null(f);
	fprintf(f, "{\"agentperf_workload\":1,\"name\":\"cache\",\"version\":\"1\",\"source\":\"tests\","
		   "\"license\":\"CC0-1.0\",\"defaults\":{\"max_attempts\":1,\"max_steps\":1,"
		   "\"max_tokens\":8,\"system_prompt\":\"");
	for (int i = 0; i < 40; i++)
		fprintf(f, "Once upon a time there was a little girl who liked to play in the park. ");
	fprintf(f, "\"}}\n");
	const char *q[] = { "Lily saw a dog.", "Tom had a red ball.", "The sun was hot." };
	for (int i = 0; i < 3; i++)
		fprintf(f, "{\"id\":\"t%d\",\"prompt\":\"%s\",\"check\":{\"kind\":\"contains\","
			   "\"value\":\"a\"}}\n", i, q[i]);
	fclose(f);
	/* 8192: the 40-sentence prompt fits the smoke model's byte tokenizer too (a fresh
	 * clone has no stories260K: make test uses make smoke-model's model). */
	snprintf(be, sizeof(be), "llama-server:model=%s,ctx=8192,threads=1", model);
	double cached[2] = { 0 }, prompt[2] = { 0 };
	for (int cold = 0; cold < 2; cold++) {
		char sub[600];
		snprintf(sub, sizeof(sub), "%s/%s", d, cold ? "cold" : "warm");
		mkdir(sub, 0755);
		assert_int_equal(record(sub, wl, be, "--cache", cold ? "cold" : "warm", "2"), 0);
		snprintf(run, sizeof(run), "%s/run", sub);
		char *calls = read_in(run, "calls.csv");
		int rows;
		cached[cold] = col_sum(calls, "cached_tokens", &rows);
		assert_int_equal(rows, 6);
		prompt[cold] = col_sum(calls, "prompt_tokens", &rows);
		free(calls);
		cJSON *m = meta_of(run);
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "cache");
		assert_string_equal(jv_str_or(c, "mode", ""), cold ? "cold" : "warm");
		/* the offline bound: the shared system prompt, and all of the second repeat */
		double best = jv_num_or(c, "best_hit_rate", NAN);
		assert_true(best > 0.8 && best < 1);
		cJSON_Delete(m);
		print_message("%s: %.0f of %.0f prompt tokens cached (best possible %.1f %%)\n",
			      cold ? "cold" : "warm", cached[cold], prompt[cold], best * 100);
	}
	assert_true(prompt[0] > 3000 && fabs(prompt[0] - prompt[1]) < 10);
	assert_true(cached[0] > 0.5 * prompt[0]); /* warm: most of it reused */
	assert_true(cached[1] <= 6);              /* cold: near zero (at most one a call) */
	tu_rmrf(d);
	free(d);
}

/*
 * The best hit rate comes from the run's own first pass (srvview_seen): it
 * must equal what prefix_best_hit computes by reading the workload again,
 * with a filter, with a category and on a shard (a shard's pass still sees
 * every selected task), and with a second repeat.
 */
static void test_best_hit_from_pass(void **state)
{
	(void)state;
	struct tu_server fs;
	assert_int_equal(tu_fake_start(&fs, "tests/fake/openai-basic.rules"), 0);
	char *d = tu_tmpdir(), wl[600], be[300], out[700];
	snprintf(wl, sizeof(wl), "%s/w.jsonl", d);
	snprintf(out, sizeof(out), "%s/out.txt", d);
	FILE *f = fopen(wl, "w");
	assert_non_null(f);
	fputs("{\"agentperf_workload\":1,\"name\":\"hit\",\"version\":\"1\",\"source\":\"tests\","
	      "\"license\":\"CC0-1.0\",\"defaults\":{\"max_attempts\":1,\"max_steps\":1,"
	      "\"system_prompt\":\"You answer questions about cities.\"}}\n", f);
	for (int i = 0; i < 40; i++)
		fprintf(f, "{\"id\":\"t%d\",\"category\":\"%s\",%s\"prompt\":\"What is the %s of "
			   "city %d?\",\"check\":{\"kind\":\"none\"}}\n",
			i, i % 3 ? "a" : "b", i % 7 ? "" : "\"system_prompt\":\"Short.\",",
			i % 2 ? "capital" : "population", i % 5);
	fclose(f);
	snprintf(be, sizeof(be), "openai:url=http://127.0.0.1:%d/v1,stream=false", fs.port);
	struct {
		const char *filter, *category, *shard, *repeats;
	} runs[] = {
		{ NULL, NULL, NULL, "1" },
		{ "t1*", NULL, NULL, "1" },
		{ NULL, "b", "2/3", "1" },
		{ NULL, "a", NULL, "2" },
	};
	for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
		char id[32], run[800];
		snprintf(id, sizeof(id), "run%zu", r);
		const char *argv[24] = { tu_agentperf(), "record", "-q", "--no-energy", "--idle", "0",
					 "-w", wl, "-b", be, "-o", d, "--run-id", id,
					 "-r", runs[r].repeats };
		int k = 16;
		if (runs[r].filter) {
			argv[k++] = "-t";
			argv[k++] = runs[r].filter;
		}
		if (runs[r].category) {
			argv[k++] = "--category";
			argv[k++] = runs[r].category;
		}
		if (runs[r].shard) {
			argv[k++] = "--shard";
			argv[k++] = runs[r].shard;
		}
		assert_int_equal(tu_run((char **)argv, out, NULL), 0);
		snprintf(run, sizeof(run), "%s/%s", d, id);
		cJSON *m = meta_of(run);
		assert_non_null(m);
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "cache");
		struct workload *w = NULL;
		struct ap_error err = { { 0 } };
		assert_int_equal(workload_open(&w, wl, NULL, &err), 0);
		double share = NAN;
		size_t n = 0;
		assert_int_equal(prefix_best_hit(w, runs[r].filter, runs[r].category, &share, &n), 0);
		workload_close(w);
		assert_true(n > 0 && share > 0 && share < 1);
		assert_int_equal((size_t)jv_num_or(c, "best_hit_requests", -1), n);
		assert_string_equal(jv_str_or(c, "best_hit_requests_from", ""), "the run's first pass");
		assert_true(fabs(jv_num_or(c, "best_hit_rate_one_pass", NAN) - share) < 1e-12);
		print_message("%s: best hit %.4f over %zu requests\n", id, share, n);
		cJSON_Delete(m);
	}
	tu_fake_stop(&fs);
	tu_rmrf(d);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_provenance_no_usage),
		cmocka_unit_test(test_best_hit_from_pass),
		cmocka_unit_test(test_chunk_mismatch),
		cmocka_unit_test(test_real_metrics_capture),
		cmocka_unit_test(test_managed_metrics_channels),
		cmocka_unit_test(test_cache_cold_warm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
