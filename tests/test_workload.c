/* Unit tests of the native workload format: every field, every error path
 * (file, line, field), streaming, and the task helpers the runner uses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "workload.h"

static char *tmp;
static struct ap_error err;

#define HDR "{\"agentperf_workload\":1,\"name\":\"t\",\"version\":\"1\",\"source\":\"tests\"," \
	    "\"license\":\"CC0-1.0\"}\n"
#define WEATHER "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"," \
		"\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}"
#define HDR_TOOLS "{\"agentperf_workload\":1,\"name\":\"t\",\"version\":\"1\",\"source\":\"s\"," \
		  "\"license\":\"MIT\",\"defaults\":{\"tools\":[" WEATHER "]}}\n"

static const char *write_tmp(const char *name, const char *content)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	return path;
}

/* Opening content must fail; returns the message with "<tmp>/" removed. */
static const char *open_fails(const char *content)
{
	static char msg[600];
	struct workload *wl = NULL;
	const char *p = write_tmp("w.jsonl", content);
	memset(&err, 0, sizeof(err));
	int rc = workload_open(&wl, p, NULL, &err);
	if (rc == 0) {
		workload_close(wl);
		fail_msg("opened a bad workload: %s", content);
	}
	assert_null(wl);
	size_t n = strlen(tmp);
	snprintf(msg, sizeof(msg), "%s", strncmp(err.msg, tmp, n) ? err.msg : err.msg + n + 1);
	return msg;
}

static struct workload *open_ok(const char *content)
{
	struct workload *wl = NULL;
	const char *p = write_tmp("ok.jsonl", content);
	if (workload_open(&wl, p, NULL, &err))
		fail_msg("workload_open: %s", err.msg);
	return wl;
}

static int setup(void **state)
{
	(void)state;
	tmp = tu_tmpdir();
	return tmp ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmrf(tmp);
	free(tmp);
	return 0;
}

static const char *tool_name(const cJSON *tool)
{
	return cJSON_GetObjectItem(cJSON_GetObjectItem(tool, "function"), "name")->valuestring;
}

static void test_smoke(void **state)
{
	(void)state;
	struct workload *wl = NULL;
	struct task *t;
	if (workload_open(&wl, "workloads/smoke.jsonl", NULL, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(wl->format, WL_NATIVE);
	assert_string_equal(workload_format_name(wl->format), "native");
	assert_string_equal(wl->name, "smoke");
	assert_string_equal(wl->license, "CC0-1.0");
	assert_int_equal(wl->n_tasks, 8);
	char hex[65];
	assert_int_equal(ap_sha256_file("workloads/smoke.jsonl", hex), 0);
	assert_string_equal(wl->sha256, hex);
	assert_int_equal(cJSON_GetArraySize(wl->tools), 2);
	size_t n = 0, kinds = 0;
	bool seen_sub = false, seen_repair = false, seen_table = false;
	while (workload_next(wl, &t, &err) == 0) {
		n++;
		kinds |= 1u << t->check.kind;
		assert_non_null(t->system_prompt);
		assert_int_equal(t->max_tokens, 256);
		assert_int_equal(cJSON_GetObjectItem(t->sampling, "temperature")->valuedouble, 0);
		if (t->n_subs) {
			seen_sub = true;
			assert_int_equal(t->n_subs, 2);
			assert_string_equal(t->subs[0].id, "count");
			assert_int_equal(t->subs[1].check.kind, CHECK_NUMERIC);
		}
		if (t->policy.retry == RETRY_REPAIR) {
			seen_repair = true;
			assert_int_equal(t->policy.max_attempts, 3);
		}
		if (t->n_answers) {
			seen_table = true;
			assert_int_equal(cJSON_GetArraySize(t->tools), 1);
		} else if (!strcmp(t->id, "capital")) {
			assert_null(t->tools); /* "tools": [] */
		}
		task_free(t);
	}
	assert_int_equal(n, 8);
	assert_true(seen_sub && seen_repair && seen_table);
	assert_true(kinds & (1u << CHECK_CONTAINS));
	assert_true(kinds & (1u << CHECK_REGEX));
	assert_true(kinds & (1u << CHECK_NUMERIC));
	assert_true(kinds & (1u << CHECK_ALL));
	assert_true(kinds & (1u << CHECK_EXACT));
	/* Rewind gives the same stream again. */
	assert_int_equal(workload_rewind(wl), 0);
	assert_int_equal(workload_next(wl, &t, &err), 0);
	assert_string_equal(t->id, "capital");
	assert_int_equal(t->line, 2);
	task_free(t);
	workload_close(wl);
}

static void test_every_field(void **state)
{
	(void)state;
	struct workload *wl = open_ok(
		"\n"
		"{\"agentperf_workload\":1,\"name\":\"all\",\"version\":\"2.1\",\"source\":\"src\","
		"\"license\":\"MIT\",\"description\":\"d\",\"defaults\":{\"system_prompt\":\"SYS\","
		"\"tools\":[" WEATHER ",{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}],"
		"\"sampling\":{\"temperature\":0.7,\"top_p\":0.9,\"seed\":-3},\"max_tokens\":100,"
		"\"max_attempts\":2,\"retry\":\"repair\",\"max_steps\":5}}\n"
		"\n"
		"{\"id\":\"a\",\"category\":\"cat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
		"{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":"
		"\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]},"
		"{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"noon\"}],"
		"\"system_prompt\":null,\"tools\":[\"get_weather\",{\"type\":\"function\",\"function\":"
		"{\"name\":\"extra\",\"description\":\"x\",\"parameters\":{\"type\":\"object\"}}}],"
		"\"tool_table\":[{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"},\"result\":"
		"{\"t\":18}},{\"name\":\"get_weather\",\"result\":\"unknown city\"},{\"name\":\"extra\","
		"\"args\":{\"n\":5},\"result\":\"five\"}],"
		"\"check\":{\"kind\":\"tool_call\",\"name\":\"extra\"},"
		"\"decomposed\":[{\"id\":\"s1\",\"prompt\":\"first\"},{\"id\":\"s2\",\"prompt\":"
		"\"use {{s1}} and {{prev}} and {{ nope }} {\\\"k\\\": {{s1}}}\",\"check\":{\"kind\":"
		"\"contains\",\"value\":\"x\"}}],"
		"\"max_attempts\":7,\"retry\":\"plain\",\"max_steps\":9,\"max_tokens\":33,"
		"\"sampling\":{\"top_p\":0.5,\"stop\":[\"END\"]}}\n"
		"{\"id\":\"b\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"},\"system_prompt\":\"own\"}\n");
	struct task *t = NULL;
	assert_string_equal(wl->version, "2.1");
	assert_string_equal(wl->description, "d");
	assert_string_equal(wl->system_prompt, "SYS");
	assert_int_equal(wl->policy.max_attempts, 2);
	assert_int_equal(wl->policy.retry, RETRY_REPAIR);
	assert_int_equal(wl->policy.max_steps, 5);
	assert_int_equal(wl->max_tokens, 100);
	assert_int_equal(wl->n_tasks, 2);

	assert_int_equal(workload_next(wl, &t, &err), 0);
	assert_string_equal(t->id, "a");
	assert_string_equal(t->category, "cat");
	assert_int_equal(t->line, 4);
	assert_null(t->system_prompt); /* null overrides the default */
	assert_int_equal(cJSON_GetArraySize(t->messages), 3);
	assert_int_equal(cJSON_GetArraySize(t->tools), 2);
	assert_string_equal(tool_name(cJSON_GetArrayItem(t->tools, 0)), "get_weather");
	assert_string_equal(tool_name(cJSON_GetArrayItem(t->tools, 1)), "extra");
	assert_int_equal(t->n_answers, 3);
	assert_string_equal(t->answers[0].result, "{\"t\":18}");
	assert_null(t->answers[1].args);
	assert_int_equal(t->policy.max_attempts, 7);
	assert_int_equal(t->policy.retry, RETRY_PLAIN);
	assert_int_equal(t->policy.max_steps, 9);
	assert_int_equal(t->max_tokens, 33);
	/* Sampling: task keys override default keys one by one. */
	assert_float_equal(cJSON_GetObjectItem(t->sampling, "temperature")->valuedouble, 0.7, 1e-12);
	assert_float_equal(cJSON_GetObjectItem(t->sampling, "top_p")->valuedouble, 0.5, 1e-12);
	/* assert_int_equal converts to unsigned: compare as doubles (UBSan). */
	assert_true(cJSON_GetObjectItem(t->sampling, "seed")->valuedouble == -3);
	assert_non_null(cJSON_GetObjectItem(t->sampling, "stop"));
	assert_int_equal(t->check.kind, CHECK_TOOL_CALL);
	assert_int_equal(t->n_subs, 2);
	assert_int_equal(t->subs[0].check.kind, CHECK_NONE);
	assert_int_equal(t->subs[1].check.kind, CHECK_CONTAINS);

	/* Tool table: args match (extra call args ignored), then the fallback. */
	const struct tool_answer *a = task_find_answer(t, "get_weather", "{\"city\":\"Paris\"}");
	assert_non_null(a);
	assert_string_equal(a->result, "{\"t\":18}");
	a = task_find_answer(t, "get_weather", "{\"unit\":\"celsius\",\"city\":\"Paris\"}");
	assert_string_equal(a->result, "{\"t\":18}");
	a = task_find_answer(t, "get_weather", "{\"city\":\"paris\"}");
	assert_string_equal(a->result, "unknown city");
	a = task_find_answer(t, "get_weather", "not json");
	assert_string_equal(a->result, "unknown city");
	assert_string_equal(task_find_answer(t, "extra", "{\"n\":5.0}")->result, "five");
	assert_null(task_find_answer(t, "extra", "{\"n\":6}"));
	assert_null(task_find_answer(t, "get_time", "{}"));

	/* Sub-call prompts. */
	struct sbuf b = { 0 };
	const char *outs[] = { "ONE" };
	assert_int_equal(subcall_render(t, 0, NULL, &b), 0);
	assert_string_equal(b.s, "first");
	assert_int_equal(subcall_render(t, 1, outs, &b), 0);
	assert_string_equal(b.s, "use ONE and ONE and {{ nope }} {\"k\": ONE}");
	sbuf_free(&b);

	cJSON *m = task_messages(t);
	assert_int_equal(cJSON_GetArraySize(m), 3); /* no system prompt */
	cJSON_Delete(m);
	task_free(t);

	assert_int_equal(workload_next(wl, &t, &err), 0);
	assert_string_equal(t->id, "b");
	assert_string_equal(t->category, "");
	assert_string_equal(t->system_prompt, "own");
	assert_int_equal(t->policy.max_attempts, 2); /* defaults */
	assert_int_equal(t->policy.retry, RETRY_REPAIR);
	assert_int_equal(t->max_tokens, 100);
	assert_int_equal(cJSON_GetArraySize(t->tools), 2);
	m = task_messages(t);
	assert_int_equal(cJSON_GetArraySize(m), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "role")->valuestring,
			    "system");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 1), "content")->valuestring,
			    "p");
	cJSON_Delete(m);
	task_free(t);
	assert_int_equal(workload_next(wl, &t, &err), 1);
	assert_null(t);
	workload_close(wl);
}

struct bad_case {
	const char *content;
	const char *msg;
};

static void test_errors(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
		{ "", "w.jsonl: empty workload file" },
		{ "{\"hello\":1}\n",
		  "w.jsonl:1: cannot tell the workload format: expected a native header "
		  "{\"agentperf_workload\": 1, ...}, a BFCL question line {\"id\", \"question\", "
		  "\"function\"}, a logged chat-completion request {\"messages\", ...} or an "
		  "agentperf proxy capture line {\"agentperf_capture\": 1, ...} (or force one with "
		  "a native:, bfcl:, openai-log: or capture: prefix)" },
		{ "{\"agentperf_workload\":2}\n",
		  "w.jsonl:1: agentperf_workload: unsupported format version 2 (this agentperf "
		  "reads 1)" },
		{ "{\"agentperf_workload\":1,\"name\":\"t\",\"version\":\"1\",\"source\":\"s\"}\n",
		  "w.jsonl:1: license: missing required field" },
		{ "{\"agentperf_workload\":1,\"name\":\"t\",\"version\":1,\"source\":\"s\",\"license\":\"l\"}\n",
		  "w.jsonl:1: version: expected a string, got number" },
		{ "{\"agentperf_workload\":1,\"nme\":\"t\"}\n",
		  "w.jsonl:1: nme: unknown key (expected agentperf_workload, name, version, source, "
		  "license, description, defaults)" },
		{ HDR, "w.jsonl: the workload has no tasks" },
		{ "{\"agentperf_workload\":1,\"name\":\"t\",\"version\":\"1\",\"source\":\"s\","
		  "\"license\":\"l\",\"defaults\":{\"max_attempts\":5000}}\n",
		  "w.jsonl:1: defaults.max_attempts: expected an integer from 1 to 1000, got 5000" },
		{ "{\"agentperf_workload\":1,\"name\":\"t\",\"version\":\"1\",\"source\":\"s\","
		  "\"license\":\"l\",\"defaults\":{\"retries\":2}}\n",
		  "w.jsonl:1: defaults.retries: unknown key (expected system_prompt, tools, sampling, "
		  "max_tokens, max_attempts, retry, max_steps, tool_latency_ms)" },
		{ "{\"agentperf_workload\":1,\"name\":\"t\",\"version\":\"1\",\"source\":\"s\","
		  "\"license\":\"l\",\"defaults\":{\"sampling\":{\"temperature\":50}}}\n",
		  "w.jsonl:1: defaults.sampling.temperature: expected a number from 0 to 10, got 50" },
		{ "{\"agentperf_workload\":1,\"name\":\"t\",\"version\":\"1\",\"source\":\"s\","
		  "\"license\":\"l\",\"defaults\":{\"sampling\":{\"model\":\"x\"}}}\n",
		  "w.jsonl:1: defaults.sampling.model: unknown key (expected temperature, top_p, "
		  "top_k, min_p, typical_p, seed, presence_penalty, frequency_penalty, "
		  "repeat_penalty, stop, tool_choice, parallel_tool_calls, response_format)" },
		{ "{\"agentperf_workload\":1,\"name\":\"t\",\"version\":\"1\",\"source\":\"s\","
		  "\"license\":\"l\",\"defaults\":{\"tools\":[{\"type\":\"function\",\"function\":"
		  "{\"name\":\"math.sqrt\"}}]}}\n",
		  "w.jsonl:1: defaults.tools[0].function.name: invalid tool name 'math.sqrt' (1 to "
		  "64 letters, digits, '_' or '-')" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"regexx\"}}\n",
		  "w.jsonl:2: check.kind: unknown check kind 'regexx' (expected exact, contains, "
		  "regex, json_field, numeric, tool_call, all, any, call_count, none)" },
		{ HDR "\n\n{\"id\":\"a\",\"promt\":\"p\",\"check\":{\"kind\":\"none\"}}\n",
		  "w.jsonl:4: promt: unknown key (expected id, category, messages, prompt, "
		  "system_prompt, tools, tool_table, check, decomposed, max_attempts, retry, "
		  "max_steps, max_tokens, sampling, tool_latency_ms)" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"p\"}\n",
		  "w.jsonl:2: check: missing required field (use {\"kind\": \"none\"} to count any "
		  "completed answer as success)" },
		{ HDR "{\"prompt\":\"p\",\"check\":{\"kind\":\"none\"}}\n",
		  "w.jsonl:2: id: missing required field" },
		{ HDR "{\"id\":\"\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"}}\n",
		  "w.jsonl:2: id: must be 1 to 256 bytes long" },
		{ HDR "{\"id\":\"a\",\"check\":{\"kind\":\"none\"}}\n",
		  "w.jsonl:2: messages: missing required field (or prompt)" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"p\",\"messages\":[],\"check\":{\"kind\":\"none\"}}\n",
		  "w.jsonl:2: prompt: give either messages or prompt, not both" },
		{ HDR "{\"id\":\"a\",\"messages\":[{\"role\":\"system\",\"content\":\"x\"}],"
		      "\"check\":{\"kind\":\"none\"}}\n",
		  "w.jsonl:2: messages[0].role: 'system' is not allowed in messages; use "
		  "system_prompt" },
		{ HDR "{\"id\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"extra\":1}],"
		      "\"check\":{\"kind\":\"none\"}}\n",
		  "w.jsonl:2: messages[0].extra: unknown key (expected role, content, name, "
		  "tool_calls, tool_call_id)" },
		{ HDR "{\"id\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":"
		      "\"assistant\",\"content\":\"y\"}],\"check\":{\"kind\":\"none\"}}\n",
		  "w.jsonl:2: messages[1]: the conversation must end with a user or tool message, "
		  "for the model to answer" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"}}\n"
		      "{\"id\":\"b\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"}}\n"
		      "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"}}\n",
		  "w.jsonl:4: id: duplicate task id 'a' (first on line 2)" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"},\"max_attempts\":0}\n",
		  "w.jsonl:2: max_attempts: expected an integer from 1 to 1000, got 0" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"},\"max_steps\":2.5}\n",
		  "w.jsonl:2: max_steps: expected an integer from 1 to 1000, got 2.5" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"},\"retry\":\"again\"}\n",
		  "w.jsonl:2: retry: unknown retry mode 'again' (expected plain, repair)" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"},\"max_tokens\":1e9}\n",
		  "w.jsonl:2: max_tokens: expected an integer from 1 to 10000000, got 1e+09" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"},\"tools\":[\"nope\"]}\n",
		  "w.jsonl:2: tools[0]: no tool named 'nope' in defaults.tools" },
		{ HDR_TOOLS "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"},"
			    "\"tools\":[\"get_weather\"," WEATHER "]}\n",
		  "w.jsonl:2: tools[1]: duplicate tool name 'get_weather'" },
		{ HDR_TOOLS "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"tool_call\","
			    "\"name\":\"get_time\"}}\n",
		  "w.jsonl:2: check.name: the task has no tool named 'get_time'" },
		{ HDR_TOOLS "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"},"
			    "\"tool_table\":[{\"name\":\"get_time\",\"result\":\"x\"}]}\n",
		  "w.jsonl:2: tool_table[0].name: the task has no tool named 'get_time'" },
		{ HDR_TOOLS "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"},"
			    "\"tool_table\":[{\"name\":\"get_weather\"}]}\n",
		  "w.jsonl:2: tool_table[0].result: missing required field" },
		{ HDR_TOOLS "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"},"
			    "\"tool_table\":[{\"name\":\"get_weather\",\"args\":{\"city\":\"P\"},"
			    "\"result\":1},{\"name\":\"get_weather\",\"args\":{\"city\":\"P\"},"
			    "\"result\":2}]}\n",
		  "w.jsonl:2: tool_table[1]: duplicate entry for get_weather with the same args "
		  "(first at tool_table[0])" },
		{ HDR_TOOLS "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"},"
			    "\"tool_table\":[{\"name\":\"get_weather\",\"result\":1,\"when\":2}]}\n",
		  "w.jsonl:2: tool_table[0].when: unknown key (expected name, args, result, latency_ms)" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"},\"decomposed\":["
		      "{\"id\":\"s1\",\"prompt\":\"x {{s2}}\"},{\"id\":\"s2\",\"prompt\":\"y\"}]}\n",
		  "w.jsonl:2: decomposed[0].prompt: {{s2}} refers to a later sub-call; only earlier "
		  "outputs can be used" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"},\"decomposed\":["
		      "{\"id\":\"s1\",\"prompt\":\"x\"},{\"id\":\"s2\",\"prompt\":\"y {{s2}}\"}]}\n",
		  "w.jsonl:2: decomposed[1].prompt: {{s2}} refers to this sub-call itself; only "
		  "earlier outputs can be used" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"},\"decomposed\":["
		      "{\"id\":\"s1\",\"prompt\":\"x {{typo}}\"}]}\n",
		  "w.jsonl:2: decomposed[0].prompt: {{typo}} names no earlier sub-call (ids of "
		  "earlier sub-calls, or prev)" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"},\"decomposed\":["
		      "{\"id\":\"s1\",\"prompt\":\"x {{prev}}\"}]}\n",
		  "w.jsonl:2: decomposed[0].prompt: {{prev}} in the first sub-call: there is no "
		  "previous output" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"},\"decomposed\":["
		      "{\"id\":\"s1\",\"prompt\":\"x\"},{\"id\":\"s1\",\"prompt\":\"y\"}]}\n",
		  "w.jsonl:2: decomposed[1].id: duplicate sub-call id 's1' (first at decomposed[0])" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"},\"decomposed\":["
		      "{\"id\":\"s1\",\"prompt\":\"x\",\"check\":{\"kind\":\"numeric\"}}]}\n",
		  "w.jsonl:2: decomposed[0].check.value: missing required field" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"}} x\n",
		  "w.jsonl:2: invalid JSON: unexpected text after the value at byte 49" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"p\",\n",
		  "w.jsonl:2: invalid JSON near byte 23" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"caf\xc3\",\"check\":{\"kind\":\"none\"}}\n",
		  "w.jsonl:2: invalid UTF-8 (or a NUL byte) at byte 24" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"\xc0\xaf\",\"check\":{\"kind\":\"none\"}}\n",
		  "w.jsonl:2: invalid UTF-8 (or a NUL byte) at byte 21" },
		{ HDR "{\"id\":\"a\",\"prompt\":\"\xed\xa0\x80\",\"check\":{\"kind\":\"none\"}}\n",
		  "w.jsonl:2: invalid UTF-8 (or a NUL byte) at byte 21" },
		{ HDR "{\"id\":\"a\",\"id\":\"b\",\"prompt\":\"p\",\"check\":{\"kind\":\"none\"}}\n",
		  "w.jsonl:2: id: duplicate key" },
		{ HDR HDR, "w.jsonl:2: agentperf_workload: unknown key (expected id, category, "
			   "messages, prompt, system_prompt, tools, tool_table, check, decomposed, "
			   "max_attempts, retry, max_steps, max_tokens, sampling, tool_latency_ms)" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *m = open_fails(cases[i].content);
		if (strcmp(m, cases[i].msg))
			fail_msg("case %zu:\n  got  %s\n  want %s", i, m, cases[i].msg);
	}
}

static void test_open_errors(void **state)
{
	(void)state;
	struct workload *wl = NULL;
	assert_int_equal(workload_open(&wl, "tests/data/no-such-file.jsonl", NULL, &err),
			 -ENOENT);
	assert_string_equal(err.msg, "tests/data/no-such-file.jsonl: cannot open: No such file "
				     "or directory");
	/* A forced format must match the content. */
	const char *p = write_tmp("f.jsonl", "{\"id\":\"a\",\"prompt\":\"p\"}\n");
	char forced[600];
	snprintf(forced, sizeof(forced), "native:%s", p);
	assert_int_equal(workload_open(&wl, forced, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "f.jsonl:1: agentperf_workload: missing required field"));
	/* A NUL byte in a line is refused like bad UTF-8. */
	p = write_tmp("nul.jsonl", HDR);
	FILE *f = fopen(p, "ab");
	fwrite("{\"id\":\"a\0\"}\n", 1, 12, f);
	fclose(f);
	assert_int_equal(workload_open(&wl, p, NULL, &err), -EILSEQ);
	assert_non_null(strstr(err.msg, "nul.jsonl:2: invalid UTF-8 (or a NUL byte) at byte 9"));
}

/* 20,000 tasks open and stream; memory stays flat (ids only at open). */
static void test_stream_many(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof(path), "%s/many.jsonl", tmp);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(HDR_TOOLS, f);
	for (int i = 0; i < 20000; i++)
		fprintf(f,
			"{\"id\":\"task-%d\",\"category\":\"c%d\",\"prompt\":\"What is %d + %d?\","
			"\"tools\":[],\"check\":{\"kind\":\"numeric\",\"value\":%d}}\n",
			i, i % 7, i, i, 2 * i);
	fclose(f);
	struct workload *wl = NULL;
	if (workload_open(&wl, path, NULL, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(wl->n_tasks, 20000);
	for (int pass = 0; pass < 2; pass++) {
		struct task *t;
		int n = 0, rc;
		while ((rc = workload_next(wl, &t, &err)) == 0) {
			if (n == 12345) {
				assert_string_equal(t->id, "task-12345");
				assert_int_equal(t->check.number, 24690);
				assert_int_equal(t->line, 12347);
			}
			n++;
			task_free(t);
		}
		assert_int_equal(rc, 1);
		assert_int_equal(n, 20000);
		assert_int_equal(workload_rewind(wl), 0);
	}
	workload_close(wl);
}

/*
 * The index the open keeps (workload_ref_next) names the same tasks, in the
 * same order, as workload_next: ids, categories (absent, repeated, changing)
 * and decomposed forms; CRLF line ends, blank lines, a last line without a
 * newline and lines longer than the reader's chunk are read alike.
 */
static void test_index_matches_stream(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof(path), "%s/index.jsonl", tmp);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(HDR_TOOLS, f);
	static char big[70000 + 1];
	memset(big, 'x', sizeof(big) - 1);
	for (int i = 0; i < 3000; i++) {
		const char *cat = i % 5 == 0 ? "" : i % 3 ? ",\"category\":\"alpha\"" : ",\"category\":\"b\"";
		fprintf(f, "{\"id\":\"t-%d\"%s,\"prompt\":\"%s\",\"check\":{\"kind\":\"none\"}%s}%s",
			i, cat, i % 1000 == 7 ? big : "p",
			i % 4 == 1 ? ",\"decomposed\":[{\"id\":\"s1\",\"prompt\":\"q\"}]" : "",
			i == 2999 ? "" : i % 2 ? "\r\n\n" : "\n");
	}
	fclose(f);
	struct workload *wl = NULL;
	if (workload_open(&wl, path, NULL, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(wl->n_tasks, 3000);
	struct task_ref_iter it = { 0 };
	struct task_ref r;
	struct task *t;
	int n = 0, rc;
	while ((rc = workload_next(wl, &t, &err)) == 0) {
		assert_int_equal(workload_ref_next(wl, &it, &r, &err), 0);
		assert_string_equal(r.id, t->id);
		if (t->category)
			assert_string_equal(r.category, t->category);
		else
			assert_null(r.category);
		assert_int_equal(r.decomposed, t->n_subs > 0);
		if (n % 1000 == 7)
			assert_int_equal(strlen(t->messages->child->child->next->valuestring), 70000);
		n++;
		task_free(t);
	}
	assert_int_equal(rc, 1);
	assert_int_equal(n, 3000);
	assert_int_equal(workload_ref_next(wl, &it, &r, &err), 1);
	/* A second walk of the index starts over, whatever the stream did. */
	struct task_ref_iter again = { 0 };
	assert_int_equal(workload_ref_next(wl, &again, &r, &err), 0);
	assert_string_equal(r.id, "t-0");
	assert_string_equal(r.category, ""); /* native: a task without one has "" */
	workload_close(wl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smoke), cmocka_unit_test(test_index_matches_stream),	    cmocka_unit_test(test_every_field),
		cmocka_unit_test(test_errors),	    cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_stream_many),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
