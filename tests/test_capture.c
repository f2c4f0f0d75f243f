/*
 * Captures (issue 17) without a server: the judge modes, the grouping into
 * kinds of call (and the capture workload built on it), and the replaceable
 * share's arithmetic checked against figures worked out by hand.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "capshare.h"
#include "capture.h"
#include "judge.h"
#include "profile.h"
#include "workload.h"

static cJSON *ref(const char *text, const char *calls_json)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "text", text);
	cJSON_AddItemToObject(r, "tool_calls", cJSON_Parse(calls_json ? calls_json : "[]"));
	return r;
}

static bool judge(enum judge_mode m, const cJSON *r, const char *text, const struct tool_call *c,
		  size_t n)
{
	struct episode_output o = { .text = text, .calls = c, .n_calls = n };
	char why[256];
	bool ok = judge_eval(m, r, &o, why, sizeof(why));
	assert_true(ok || why[0]); /* a disagreement always says why */
	return ok;
}

static void test_judge_tools(void **state)
{
	(void)state;
	cJSON *r = ref("", "[{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\",\\\"unit\\\":\\\"c\\\"}\"},"
			   "{\"name\":\"get_time\",\"arguments\":\"{\\\"tz\\\":\\\"CET\\\"}\"}]");
	/* parallel calls in the other order, keys in another order and spacing: agree */
	struct tool_call same[] = { { "1", "get_time", "{ \"tz\": \"CET\" }" },
				    { "2", "get_weather", "{\"unit\":\"c\",\"city\":\"Paris\"}" } };
	assert_true(judge(JUDGE_TOOLS, r, "", same, 2));
	assert_true(judge(JUDGE_AUTO, r, "", same, 2));
	struct tool_call other_args[] = { { "1", "get_time", "{\"tz\":\"CET\"}" },
					  { "2", "get_weather", "{\"city\":\"Lyon\",\"unit\":\"c\"}" } };
	assert_false(judge(JUDGE_TOOLS, r, "", other_args, 2));
	assert_false(judge(JUDGE_TOOLS, r, "", same, 1)); /* one call short */
	struct tool_call twice[] = { { "1", "get_time", "{\"tz\":\"CET\"}" },
				     { "2", "get_time", "{\"tz\":\"CET\"}" } };
	assert_false(judge(JUDGE_TOOLS, r, "", twice, 2)); /* one call cannot match two */
	assert_false(judge(JUDGE_TOOLS, r, "It is sunny.", NULL, 0));
	cJSON_Delete(r);
	/* a reference without tool calls agrees, under tools, with a reply without any */
	r = ref("Hello.", NULL);
	assert_true(judge(JUDGE_TOOLS, r, "Something else", NULL, 0));
	assert_false(judge(JUDGE_TOOLS, r, "", same, 1));
	cJSON_Delete(r);
}

static void test_judge_json_exact_auto(void **state)
{
	(void)state;
	cJSON *r = ref("{\"a\": 1, \"b\": [1, 2.0]}", NULL);
	assert_int_equal(judge_resolve(JUDGE_AUTO, r), JUDGE_JSON);
	assert_true(judge(JUDGE_JSON, r, "```json\n{\"b\":[1,2],\"a\":1.0}\n```", NULL, 0));
	assert_true(judge(JUDGE_AUTO, r, "  {\"b\":[1,2],\"a\":1}  ", NULL, 0));
	assert_false(judge(JUDGE_JSON, r, "{\"b\":[2,1],\"a\":1}", NULL, 0)); /* arrays in order */
	assert_false(judge(JUDGE_JSON, r, "a is 1", NULL, 0));
	/* exact on JSON text: the bytes (white space aside) must match */
	assert_false(judge(JUDGE_EXACT, r, "{\"b\":[1,2],\"a\":1}", NULL, 0));
	assert_false(judge(JUDGE_EXACT, r, "{\"a\":1, \"b\": [1, 2.0]}", NULL, 0)); /* a space less */
	assert_true(judge(JUDGE_EXACT, r, " {\"a\": 1,\n \"b\":\t[1, 2.0]} ", NULL, 0));
	cJSON_Delete(r);
	r = ref("The capital of France\n is  Paris.", NULL);
	assert_int_equal(judge_resolve(JUDGE_AUTO, r), JUDGE_EXACT);
	assert_true(judge(JUDGE_AUTO, r, "  The capital of France is Paris.\n", NULL, 0));
	assert_false(judge(JUDGE_AUTO, r, "The capital of France is paris.", NULL, 0));
	assert_false(judge(JUDGE_JSON, r, "The capital of France is Paris.", NULL, 0));
	/* a bare number is text, not JSON */
	assert_int_equal(reply_kind_of("42", 0), REPLY_TEXT);
	assert_int_equal(reply_kind_of("[1]", 0), REPLY_JSON);
	assert_int_equal(reply_kind_of("", 1), REPLY_TOOLS);
	char *n = judge_normalize_ws("  a \t b\n\nc  ");
	assert_string_equal(n, "a b c");
	free(n);
	cJSON_Delete(r);
	assert_int_equal(judge_mode_parse("tools"), JUDGE_TOOLS);
	assert_true(judge_mode_parse("fuzzy") < 0);
}

/* ---- a capture written by hand ---- */

#define SYS1 "You are a planner. Plan the steps, then call tools."
#define SYS2 "Extract the fields as JSON."
#define TOOLS_SF "[{\"type\":\"function\",\"function\":{\"name\":\"search\"}},{\"type\":\"function\",\"function\":{\"name\":\"fetch\"}}]"
#define TOOLS_FS "[{\"type\":\"function\",\"function\":{\"name\":\"fetch\"}},{\"type\":\"function\",\"function\":{\"name\":\"search\"}}]"

static void line(FILE *f, int seq, const char *status, const char *sys, const char *tools,
		 const char *reply, int pin, int pout)
{
	fprintf(f,
		"{\"agentperf_capture\":1,\"seq\":%d,\"protocol\":\"openai\",\"path\":\"/v1/chat/"
		"completions\",\"status\":\"%s\",\"http_status\":%d,\"model\":\"big-model\","
		"\"request\":{\"model\":\"big\",\"temperature\":0.3,\"messages\":[{\"role\":\"system\","
		"\"content\":\"%s\"},{\"role\":\"user\",\"content\":\"q%d\"}]%s%s},\"reply\":%s,"
		"\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"cached_tokens\":0}}\n",
		seq, status, strcmp(status, "ok") ? 500 : 200, sys, seq, tools ? ",\"tools\":" : "",
		tools ? tools : "", reply, pin, pout);
}

#define R_SEARCH "{\"text\":\"\",\"tool_calls\":[{\"id\":\"c\",\"name\":\"search\",\"arguments\":\"{}\"}],\"finish_reason\":\"tool_calls\"}"
#define R_FETCH "{\"text\":\"\",\"tool_calls\":[{\"id\":\"c\",\"name\":\"fetch\",\"arguments\":\"{}\"}],\"finish_reason\":\"tool_calls\"}"
#define R_TEXT "{\"text\":\"Done.\",\"tool_calls\":[],\"finish_reason\":\"stop\"}"
#define R_JSON "{\"text\":\"{\\\"a\\\":1}\",\"tool_calls\":[],\"finish_reason\":\"stop\"}"

static char cap_path[64];

static int write_capture(void **state)
{
	(void)state;
	snprintf(cap_path, sizeof(cap_path), "/tmp/agentperf-capture-XXXXXX");
	int fd = mkstemp(cap_path);
	FILE *f = fdopen(fd, "w");
	line(f, 1, "ok", SYS1, TOOLS_SF, R_SEARCH, 100, 10);
	line(f, 2, "ok", SYS1, TOOLS_FS, R_FETCH, 100, 10); /* same tools, other order */
	line(f, 3, "ok", SYS1, TOOLS_SF, R_SEARCH, 100, 10);
	line(f, 4, "ok", SYS1, TOOLS_SF, R_TEXT, 50, 50);
	line(f, 5, "ok", SYS2, NULL, R_JSON, 20, 5);
	line(f, 6, "http_5xx", SYS2, NULL, "{\"text\":\"\",\"tool_calls\":[]}", 0, 0);
	line(f, 7, "ok", SYS2, NULL, R_JSON, 20, 5);
	fclose(f);
	return 0;
}

static int remove_capture(void **state)
{
	(void)state;
	unlink(cap_path);
	return 0;
}

static void test_grouping(void **state)
{
	(void)state;
	struct capture_index ix;
	struct ap_error err = { { 0 } };
	assert_int_equal(capture_index_load(cap_path, &ix, &err), 0);
	assert_int_equal(ix.n_lines, 7);
	assert_int_equal(ix.n_failed, 1);
	assert_int_equal(ix.n_calls, 6);
	assert_int_equal(ix.n_kinds, 3);
	assert_string_equal(ix.kinds[0].name, "tool:search"); /* most frequent tool: 2 of 3 */
	assert_string_equal(ix.kinds[0].tools, "fetch,search");
	assert_int_equal(ix.kinds[0].calls, 3);
	assert_string_equal(ix.kinds[1].name, "text:You are a planner. Plan");
	assert_string_equal(ix.kinds[1].sys_hash, ix.kinds[0].sys_hash);
	assert_int_equal(ix.kinds[1].calls, 1);
	assert_string_equal(ix.kinds[2].name, "json:Extract the fields as JSON.");
	assert_string_equal(ix.kinds[2].tools, "");
	assert_int_equal(ix.kinds[2].calls, 2);
	assert_int_equal(strlen(ix.kinds[0].sys_hash), 16);
	assert_string_not_equal(ix.kinds[0].sys_hash, ix.kinds[2].sys_hash);
	assert_string_equal(ix.model, "big-model");
	assert_non_null(capture_index_find(&ix, 7));
	assert_null(capture_index_find(&ix, 6)); /* the failed call */
	capture_index_free(&ix);

	/* as a workload: the failed call left out, categories = kinds, a reference check */
	struct workload *wl;
	char spec[96];
	snprintf(spec, sizeof(spec), "capture:%s", cap_path);
	capture_set_judge(JUDGE_TOOLS);
	assert_int_equal(workload_open(&wl, spec, NULL, &err), 0);
	assert_int_equal(wl->n_tasks, 6);
	assert_non_null(strstr(wl->description, "1 failed captured calls left out"));
	struct task *t;
	const char *want[] = { "tool:search", "tool:search", "tool:search",
			       "text:You are a planner. Plan", "json:Extract the fields as JSON.",
			       "json:Extract the fields as JSON." };
	const char *ids[] = { "line-1", "line-2", "line-3", "line-4", "line-5", "line-7" };
	for (int i = 0; i < 6; i++) {
		assert_int_equal(workload_next(wl, &t, &err), 0);
		assert_string_equal(t->id, ids[i]);
		assert_string_equal(t->category, want[i]);
		assert_int_equal(t->check.kind, CHECK_REFERENCE);
		assert_int_equal(t->check.judge, JUDGE_TOOLS);
		assert_int_equal(t->policy.max_steps, 1);
		/* the request as captured, sampling included */
		assert_true(cJSON_GetObjectItem(t->raw_request, "temperature")->valuedouble == 0.3);
		task_free(t);
	}
	assert_int_equal(workload_next(wl, &t, &err), 1);
	workload_close(wl);
	capture_set_judge(JUDGE_AUTO);
	/* detected without the prefix too */
	assert_int_equal(workload_open(&wl, cap_path, NULL, &err), 0);
	assert_int_equal(wl->format, WL_CAPTURE);
	workload_close(wl);
}

static void test_bad_capture(void **state)
{
	(void)state;
	char p[64] = "/tmp/agentperf-badcap-XXXXXX";
	int fd = mkstemp(p);
	FILE *f = fdopen(fd, "w");
	line(f, 1, "ok", SYS2, NULL, R_JSON, 1, 1);
	fputs("{\"agentperf_capture\":1,\"protocol\":\"gemini\",\"status\":\"ok\",\"request\":{},\"reply\":{}}\n", f);
	fclose(f);
	struct capture_index ix;
	struct ap_error err = { { 0 } };
	assert_int_not_equal(capture_index_load(p, &ix, &err), 0);
	assert_non_null(strstr(err.msg, ":2: protocol"));
	f = fopen(p, "w");
	fputs("{\"agentperf_capture\":1,\"protocol\":\"openai\",\"status\":\"ok\",\"reply\":{}}\n", f);
	fclose(f);
	assert_int_not_equal(capture_index_load(p, &ix, &err), 0);
	assert_non_null(strstr(err.msg, ":1: request"));
	f = fopen(p, "w");
	fputs("{\"agentperf_capture\":1,\"protocol\":\"openai\",\"status\":\"transport\"}\n", f);
	fclose(f);
	assert_int_not_equal(capture_index_load(p, &ix, &err), 0);
	assert_non_null(strstr(err.msg, "no successful captured call (1 failed)"));
	unlink(p);
}

static struct casc_task task(const char *id, bool ok, double j, double usd)
{
	struct casc_task t = { .repeat = 1, .success = ok, .attempts = 1, .device_j = j };
	snprintf(t.id, sizeof(t.id), "%s", id);
	t.cum_j[1] = 1000 * j; /* facility J with a profile: the share uses device J */
	t.cum_usd[1] = usd;
	return t;
}

static void setp(struct profile *p, int k, double v)
{
	p->p[k].set = true;
	p->p[k].v = v;
}

/*
 * By hand. Kinds: A tool:search 3 calls, 3 x (100 + 10) = 330 tokens; B text 1 call, 100 tokens;
 * C json 2 calls, 2 x 25 = 50 tokens. 6 calls, 480 tokens. Replay: A 3/3, B 0/1, C 1/2.
 * Captured side, a remote profile of 0.001 Wh per output token (3.6 J), PUE 1, $1 / $10 per
 * million input / output tokens: A 30 out = 108 J, 300 in + 30 out = $0.000600; B 180 J,
 * $0.000550; C 36 J, $0.000140. Totals 324 J, $0.001290.
 * At 0.9 only A: calls 3/6 = 0.5, tokens 330/480 = 0.6875, J 108/324 = 1/3, $ 600/1290.
 * At 0.5 A and C: calls 5/6, tokens 380/480, J 144/324, $ 740/1290.
 */
static void test_share_by_hand(void **state)
{
	(void)state;
	struct capture_index ix;
	struct ap_error err = { { 0 } };
	assert_int_equal(capture_index_load(cap_path, &ix, &err), 0);
	struct profile prof = { .loaded = true, .kind = PROFILE_REMOTE };
	setp(&prof, PP_WH_PER_OUTPUT_TOKEN, 0.001);
	setp(&prof, PP_PUE, 1.0);
	setp(&prof, PP_USD_MTOK_INPUT, 1.0);
	setp(&prof, PP_USD_MTOK_OUTPUT, 10.0);
	struct cost_ctx cc = { .remote = &prof, .idle_w = NAN };
	struct casc_task t[] = {
		task("line-1", true, 2.0, 0.0001), task("line-2", true, 2.0, 0.0001),
		task("line-3", true, 2.0, 0.0001), task("line-4", false, 3.0, 0.0002),
		task("line-5", true, 1.0, 0.0001), task("line-7", false, 1.0, 0.0001),
		task("line-99", true, 9.0, 0.9), /* from another capture: counted apart */
	};
	struct share_result r;
	assert_int_equal(capshare_compute(&ix, t, 7, &cc, 0.9, &r), 0);
	assert_int_equal(r.calls, 6);
	assert_int_equal(r.tokens, 480);
	assert_int_equal(r.unmatched, 1);
	assert_int_equal(r.n_failed, 1);
	assert_true(r.kinds[0].replaceable && !r.kinds[1].replaceable && !r.kinds[2].replaceable);
	assert_true(fabs(r.kinds[0].agreement - 1.0) < 1e-12);
	assert_true(fabs(r.kinds[1].agreement - 0.0) < 1e-12);
	assert_true(fabs(r.kinds[2].agreement - 0.5) < 1e-12);
	assert_true(fabs(r.kinds[0].call_share - 0.5) < 1e-12);
	assert_true(fabs(r.kinds[2].token_share - 50.0 / 480) < 1e-12);
	assert_true(fabs(r.kinds[0].cap_j - 108) < 1e-9);
	assert_true(fabs(r.kinds[1].cap_j - 180) < 1e-9);
	assert_true(fabs(r.kinds[2].cap_usd - 0.000140) < 1e-12);
	assert_true(fabs(r.cap_j - 324) < 1e-9);
	assert_true(fabs(r.kinds[0].rep_j - 6.0) < 1e-12); /* 3 x 2 J measured */
	assert_true(fabs(r.share_calls - 0.5) < 1e-12);
	assert_true(fabs(r.share_tokens - 0.6875) < 1e-12);
	assert_true(fabs(r.share_j - 1.0 / 3) < 1e-12);
	assert_true(fabs(r.share_usd - 600.0 / 1290) < 1e-9);
	capshare_free(&r);
	assert_int_equal(capshare_compute(&ix, t, 7, &cc, 0.5, &r), 0);
	assert_true(fabs(r.share_calls - 5.0 / 6) < 1e-12);
	assert_true(fabs(r.share_tokens - 380.0 / 480) < 1e-12);
	assert_true(fabs(r.share_j - 144.0 / 324) < 1e-12);
	assert_true(fabs(r.share_usd - 740.0 / 1290) < 1e-9);
	/* the printed block and the CSV carry the same figures */
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	capshare_print(m, &r, "hand", "estimated:cpu-time-model");
	capshare_csv(m, &r);
	fclose(m);
	assert_non_null(strstr(buf, "83.3 %  of calls"));
	assert_non_null(strstr(buf, "44.4 %  of joules"));
	assert_non_null(strstr(buf, "MetaGPT ~60 %, Open Operator ~40 %, Cradle ~70 %"));
	assert_non_null(strstr(buf, "1,tool:search,"));
	assert_non_null(strstr(buf, ",\"fetch,search\",tool,3,0.5,330,0.6875,3,3,1,36,0.0002,2,0.0001,0.5,1\n"));
	free(buf);
	capshare_free(&r);
	/* without a profile for the captured side: joules and dollars not counted, never 0 */
	assert_int_equal(capshare_compute(&ix, t, 6, NULL, 0.9, &r), 0);
	assert_true(isnan(r.share_j) && isnan(r.share_usd) && isnan(r.kinds[0].cap_j));
	assert_true(fabs(r.share_calls - 0.5) < 1e-12);
	capshare_free(&r);
	/* nothing replaceable: a share of 0 */
	assert_int_equal(capshare_compute(&ix, t, 6, &cc, 1.01, &r), 0);
	assert_true(r.share_calls == 0 && r.share_j == 0);
	capshare_free(&r);
	capture_index_free(&ix);
}

static void test_kmeans(void **state)
{
	(void)state;
	const float x[] = { 0, 0, 0.1f, 0, 0, 0.1f, 5, 5, 5.1f, 5, 5, 5.2f };
	int a[6], b[6];
	assert_int_equal(capture_kmeans(x, 6, 2, 2, 7, a), 0);
	assert_true(a[0] == a[1] && a[1] == a[2] && a[3] == a[4] && a[4] == a[5] && a[0] != a[3]);
	assert_int_equal(capture_kmeans(x, 6, 2, 2, 7, b), 0);
	assert_memory_equal(a, b, sizeof(a)); /* seeded: the same again */
	assert_int_equal(capture_kmeans(x, 6, 2, 10, 7, b), 0); /* K > n: at most n groups */
	for (int i = 0; i < 6; i++)
		assert_true(b[i] >= 0 && b[i] < 6);
	assert_int_not_equal(capture_kmeans(x, 0, 2, 2, 7, b), 0);
}

/* --cluster embed:2 against the fake server's /v1/embeddings; a server without them refused. */
static void test_cluster_embed(void **state)
{
	(void)state;
	struct tu_server fs;
	assert_int_equal(tu_fake_start(&fs, "tests/fake/embeddings.rules"), 0);
	char url[64], err[512];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", fs.port);
	assert_int_not_equal(capture_set_cluster("embed:0", url, NULL, NULL, 1, err, sizeof(err)), 0);
	assert_int_not_equal(capture_set_cluster("embed:2,color=red", url, NULL, NULL, 1, err,
						 sizeof(err)), 0);
	assert_int_not_equal(capture_set_cluster("embed:2", NULL, NULL, NULL, 1, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "url="));
	assert_int_equal(capture_set_cluster("embed:2", url, "m", NULL, 1, err, sizeof(err)), 0);
	struct workload *wl;
	struct ap_error e = { { 0 } };
	assert_int_equal(workload_open(&wl, cap_path, NULL, &e), 0);
	assert_non_null(strstr(wl->description, "k-means of embeddings"));
	const char *want[] = { "embed:search", "embed:search", "embed:search", "embed:search",
			       "embed:Extract the fields as JSON.", "embed:Extract the fields as JSON." };
	struct task *t;
	for (int i = 0; i < 6; i++) {
		assert_int_equal(workload_next(wl, &t, &e), 0);
		assert_string_equal(t->category, want[i]);
		task_free(t);
	}
	workload_close(wl);
	/* the report's side: the index regrouped by the replay's categories */
	struct capture_index ix;
	assert_int_equal(capture_index_load(cap_path, &ix, &e), 0);
	int assign[6] = { 0, 0, 0, 0, 1, 1 };
	const char *names[] = { "embed:search", "embed:Extract the fields as JSON." };
	assert_int_equal(capture_index_regroup(&ix, assign, NULL, names), 0);
	assert_int_equal(ix.n_kinds, 2);
	assert_int_equal(ix.kinds[0].calls, 4);
	assert_true(ix.kinds[0].mixed); /* tool and text replies under one system prompt */
	assert_false(ix.kinds[1].mixed);
	assert_int_equal(ix.kinds[1].prompt_tokens, 40);
	capture_index_free(&ix);
	tu_fake_stop(&fs);
	/* a backend that does not serve embeddings */
	assert_int_equal(tu_fake_start(&fs, "tests/fake/openai-basic.rules"), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", fs.port);
	assert_int_equal(capture_set_cluster("embed:2", url, NULL, NULL, 1, err, sizeof(err)), 0);
	assert_int_not_equal(workload_open(&wl, cap_path, NULL, &e), 0);
	assert_non_null(strstr(e.msg, "HTTP 404 (the backend must serve /v1/embeddings"));
	capture_clear_cluster();
	tu_fake_stop(&fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge_tools),
		cmocka_unit_test(test_judge_json_exact_auto),
		cmocka_unit_test(test_grouping),
		cmocka_unit_test(test_bad_capture),
		cmocka_unit_test(test_share_by_hand),
		cmocka_unit_test(test_kmeans),
		cmocka_unit_test(test_cluster_embed),
	};
	return cmocka_run_group_tests(tests, write_capture, remove_capture);
}
