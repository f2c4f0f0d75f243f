/* Unit tests of the importers: BFCL question/possible_answer pairs and logged
 * OpenAI chat-completion requests. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "workload.h"

#define BFCL_Q "tests/data/bfcl/BFCL_v3_simple.json"
#define BFCL_A "tests/data/bfcl/possible_answer/BFCL_v3_simple.json"

static char *tmp;
static struct ap_error err;
static char why[1024];

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

static const char *write_tmp(const char *name, const char *content)
{
	static char path[512];
	char dir[512];
	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	mkdir(dir, 0755);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	return path;
}

/* Every task of the workload, in order (the files here are small). */
static size_t load_all(struct workload *wl, struct task **out, size_t max)
{
	size_t n = 0;
	struct task *t;
	int rc;
	while ((rc = workload_next(wl, &t, &err)) == 0) {
		assert_true(n < max);
		out[n++] = t;
	}
	assert_int_equal(rc, 1);
	return n;
}

static bool judge(const struct task *t, const struct tool_call *calls, size_t n)
{
	struct episode_output o = { "", calls, n };
	return check_eval(&t->check, &o, why, sizeof(why));
}

static const cJSON *param(const struct task *t, size_t tool, const char *name)
{
	const cJSON *fn = cJSON_GetObjectItem(cJSON_GetArrayItem(t->tools, (int)tool), "function");
	const cJSON *p = cJSON_GetObjectItem(fn, "parameters");
	return name ? cJSON_GetObjectItem(cJSON_GetObjectItem(p, "properties"), name) : p;
}

static const char *type_of(const cJSON *schema)
{
	const cJSON *t = cJSON_GetObjectItem(schema, "type");
	return t ? t->valuestring : "(none)";
}

static void test_bfcl(void **state)
{
	(void)state;
	struct workload *wl = NULL;
	struct task *t[16];
	if (workload_open(&wl, BFCL_Q, NULL, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(wl->format, WL_BFCL);
	assert_string_equal(wl->answers_path, BFCL_A);
	assert_string_equal(wl->name, "BFCL_v3_simple");
	assert_string_equal(wl->version, "v3");
	assert_string_equal(wl->license, "Apache-2.0");
	char qhex[65];
	assert_int_equal(ap_sha256_file(BFCL_Q, qhex), 0);
	assert_string_not_equal(wl->sha256, qhex); /* answers are hashed too */
	assert_int_equal(strlen(wl->sha256), 64);
	size_t n = load_all(wl, t, 16);
	assert_int_equal(n, 6);

	/* simple_0: dict -> object, one call, optional "unit". */
	assert_string_equal(t[0]->id, "simple_0");
	assert_string_equal(t[0]->category, "simple");
	assert_int_equal(t[0]->policy.max_steps, 1);
	assert_int_equal(t[0]->policy.max_attempts, 1);
	assert_string_equal(type_of(param(t[0], 0, NULL)), "object");
	assert_int_equal(t[0]->check.kind, CHECK_ALL);
	assert_true(t[0]->check.exact_calls);
	assert_int_equal(t[0]->check.n_sub, 1);
	assert_true(t[0]->check.sub[0].strict_args);
	assert_true(t[0]->check.sub[0].bfcl);
	struct tool_call c0[] = { { "1", "calculate_triangle_area", "{\"base\":10,\"height\":5}" } };
	struct tool_call c0b[] = { { "1", "calculate_triangle_area",
				     "{\"base\":10.0,\"height\":5,\"unit\":\"Units\"}" } };
	struct tool_call c0c[] = { { "1", "calculate_triangle_area",
				     "{\"base\":10,\"height\":5,\"color\":\"red\"}" } };
	struct tool_call c0d[] = { { "1", "calculate_triangle_area", "{\"base\":10}" } };
	assert_true(judge(t[0], c0, 1));
	assert_true(judge(t[0], c0b, 1)); /* 10.0 == 10, BFCL string normalization */
	assert_false(judge(t[0], c0c, 1));
	assert_non_null(strstr(why, "unexpected argument 'color'"));
	assert_false(judge(t[0], c0d, 1));
	assert_non_null(strstr(why, "argument 'height' is missing"));
	struct tool_call twice[] = { c0[0], c0[0] };
	assert_false(judge(t[0], twice, 2));
	assert_non_null(strstr(why, "expected 1 tool call, got 2"));

	/* simple_1: dotted name mapped to an OpenAI-valid one. */
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(t[1]->tools, 0),
								    "function"), "name")->valuestring,
			    "math_factorial");
	struct tool_call c1[] = { { "1", "math_factorial", "{\"number\":5}" } };
	struct tool_call c1b[] = { { "1", "math.factorial", "{\"number\":5}" } };
	assert_true(judge(t[1], c1, 1));
	assert_false(judge(t[1], c1b, 1));

	/* simple_2: system message apart, float -> number, 70 matches 70.0. */
	assert_string_equal(t[2]->system_prompt, "You help with health calculations.");
	assert_int_equal(cJSON_GetArraySize(t[2]->messages), 1);
	assert_string_equal(type_of(param(t[2], 0, "weight")), "number");
	struct tool_call c2[] = { { "1", "health_calculate_bmi", "{\"weight\":70,\"height\":1.75}" } };
	assert_true(judge(t[2], c2, 1));

	/* simple_3: nested dict, tuple -> array, any -> untyped. */
	const cJSON *pass = param(t[3], 0, "passenger");
	assert_string_equal(type_of(pass), "object");
	assert_string_equal(type_of(cJSON_GetObjectItem(cJSON_GetObjectItem(pass, "properties"), "age")),
			    "integer");
	assert_string_equal(type_of(param(t[3], 0, "route")), "array");
	assert_string_equal(type_of(param(t[3], 0, "notes")), "(none)");
	struct tool_call c3[] = { { "1", "book_flight",
				    "{\"passenger\":{\"name\":\"ana silva\"},\"route\":[\"Lisbon\",\"Oslo\"]}" } };
	struct tool_call c3b[] = { { "1", "book_flight",
				     "{\"passenger\":{\"name\":\"Ana Silva\",\"age\":30},\"route\":[\"Oslo\",\"Lisbon\"]}" } };
	struct tool_call c3c[] = { { "1", "book_flight",
				     "{\"passenger\":{\"name\":\"Ana Silva\",\"age\":30.0},\"route\":[\"Lisbon\",\"Oslo\"],"
				     "\"window\":[\"June 1\",\"June 3\"]}" } };
	assert_true(judge(t[3], c3, 1));
	assert_false(judge(t[3], c3b, 1)); /* lists keep their order */
	assert_true(judge(t[3], c3c, 1));

	/* parallel_0: several calls, any order, one each. */
	assert_string_equal(t[4]->category, "parallel");
	assert_int_equal(t[4]->check.n_sub, 2);
	struct tool_call c4[] = { { "1", "get_current_weather", "{\"city\":\"Tokyo\",\"unit\":\"celsius\"}" },
				  { "2", "get_current_weather", "{\"city\":\"Paris\"}" } };
	assert_true(judge(t[4], c4, 2));
	assert_false(judge(t[4], c4, 1));
	assert_non_null(strstr(why, "expected 2 tool calls, got 1"));
	struct tool_call c4b[] = { c4[0], c4[0] };
	assert_false(judge(t[4], c4b, 2));

	/* multiple_0: two functions offered, one expected. */
	assert_int_equal(cJSON_GetArraySize(t[5]->tools), 2);
	struct tool_call c5[] = { { "1", "currency_convert",
				    "{\"amount\":100,\"from_currency\":\"eur\",\"to_currency\":\"JPY\"}" } };
	struct tool_call c5b[] = { { "1", "stock_price", "{\"ticker\":\"EUR\"}" } };
	assert_true(judge(t[5], c5, 1));
	assert_false(judge(t[5], c5b, 1));
	assert_non_null(strstr(why, "but the model called stock_price({\"ticker\":\"EUR\"})"));

	for (size_t i = 0; i < n; i++)
		task_free(t[i]);
	workload_close(wl);
}

static void test_bfcl_paths(void **state)
{
	(void)state;
	struct workload *wl = NULL;
	/* The prefix forces the format; the answers path may be given. */
	if (workload_open(&wl, "bfcl:" BFCL_Q, BFCL_A, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(wl->n_tasks, 6);
	workload_close(wl);

	/* Missing answer for an id: names the id and the answers file. */
	char q[600], a[600];
	snprintf(q, sizeof(q), "%s", write_tmp("BFCL_v3_x.json",
		"{\"id\": \"x_0\", \"question\": [[{\"role\": \"user\", \"content\": \"hi\"}]], "
		"\"function\": [{\"name\": \"f\", \"parameters\": {\"type\": \"dict\", "
		"\"properties\": {}}}]}\n"
		"{\"id\": \"x_1\", \"question\": [[{\"role\": \"user\", \"content\": \"hi\"}]], "
		"\"function\": [{\"name\": \"f\", \"parameters\": {\"type\": \"dict\", "
		"\"properties\": {}}}]}\n"));
	snprintf(a, sizeof(a), "%s", write_tmp("possible_answer/BFCL_v3_x.json",
		"{\"id\": \"x_0\", \"ground_truth\": [{\"f\": {}}]}\n"));
	assert_int_equal(workload_open(&wl, q, NULL, &err), -EINVAL);
	char want[1400];
	snprintf(want, sizeof(want), "%s:2: id: no possible answer for 'x_1' in %s", q, a);
	assert_string_equal(err.msg, want);

	/* No answers file at all. */
	snprintf(q, sizeof(q), "%s", write_tmp("lonely.json",
		"{\"id\": \"x_0\", \"question\": [[{\"role\": \"user\", \"content\": \"hi\"}]], "
		"\"function\": []}\n"));
	assert_int_equal(workload_open(&wl, q, NULL, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "possible_answer/lonely.json: cannot open the BFCL "
					"possible_answer file: No such file or directory"));

	/* Unknown parameter type, and a call to a function not offered. */
	snprintf(q, sizeof(q), "%s", write_tmp("t.json",
		"{\"id\": \"t_0\", \"question\": [[{\"role\": \"user\", \"content\": \"hi\"}]], "
		"\"function\": [{\"name\": \"f\", \"parameters\": {\"type\": \"dict\", "
		"\"properties\": {\"a\": {\"type\": \"quaternion\"}}}}]}\n"));
	write_tmp("possible_answer/t.json", "{\"id\": \"t_0\", \"ground_truth\": [{\"f\": {}}]}\n");
	assert_int_equal(workload_open(&wl, q, NULL, &err), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:1: function[0].parameters.properties.a.type: unknown BFCL parameter type "
		 "'quaternion'",
		 q);
	assert_string_equal(err.msg, want);

	snprintf(q, sizeof(q), "%s", write_tmp("u.json",
		"{\"id\": \"u_0\", \"question\": [[{\"role\": \"user\", \"content\": \"hi\"}]], "
		"\"function\": [{\"name\": \"f\", \"parameters\": {\"type\": \"dict\", "
		"\"properties\": {}}}]}\n"));
	snprintf(a, sizeof(a), "%s", write_tmp("possible_answer/u.json",
		"\n{\"id\": \"u_0\", \"ground_truth\": [{\"g\": {}}]}\n"));
	assert_int_equal(workload_open(&wl, q, NULL, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: ground_truth[0].g: 'g' is not among the question's "
				     "functions", a);
	assert_string_equal(err.msg, want);

	/* Duplicate answer ids. */
	write_tmp("possible_answer/u.json", "{\"id\": \"u_0\", \"ground_truth\": [{\"f\": {}}]}\n"
					    "{\"id\": \"u_0\", \"ground_truth\": [{\"f\": {}}]}\n");
	assert_int_equal(workload_open(&wl, q, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "u.json:2: id: duplicate answer id 'u_0' (also on line 1)"));
}

static void test_openai_log(void **state)
{
	(void)state;
	struct workload *wl = NULL;
	struct task *t[8];
	if (workload_open(&wl, "tests/data/openai-log.jsonl", NULL, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(wl->format, WL_OPENAI_LOG);
	assert_string_equal(workload_format_name(wl->format), "openai-log");
	assert_string_equal(wl->name, "openai-log");
	size_t n = load_all(wl, t, 8);
	assert_int_equal(n, 4);

	assert_string_equal(t[0]->id, "line-1");
	assert_string_equal(t[0]->category, "openai-log");
	assert_non_null(t[0]->raw_request);
	assert_string_equal(cJSON_GetObjectItem(t[0]->raw_request, "model")->valuestring,
			    "gpt-4o-mini");
	assert_string_equal(t[0]->system_prompt, "You are terse.");
	assert_int_equal(cJSON_GetArraySize(t[0]->messages), 1);
	assert_int_equal(t[0]->max_tokens, 16);
	assert_int_equal(t[0]->check.kind, CHECK_NONE);
	assert_int_equal(t[0]->policy.max_steps, 1);

	assert_string_equal(t[1]->id, "rome-weather");
	assert_int_equal(cJSON_GetArraySize(t[1]->tools), 1);
	assert_int_equal(t[1]->check.kind, CHECK_TOOL_CALL);
	assert_string_equal(t[1]->check.tool, "get_weather");
	assert_null(t[1]->check.args);
	struct tool_call c[] = { { "1", "get_weather", "{\"city\":\"Roma\"}" } };
	struct episode_output o = { "", c, 1 };
	assert_true(check_eval(&t[1]->check, &o, why, sizeof(why)));
	/* The raw request keeps the wrapper's inner body only. */
	assert_null(cJSON_GetObjectItem(t[1]->raw_request, "response"));
	assert_non_null(cJSON_GetObjectItem(t[1]->raw_request, "tool_choice"));

	assert_string_equal(t[2]->id, "line-3");
	assert_int_equal(t[2]->check.kind, CHECK_NONE); /* text answer: completion suffices */

	assert_string_equal(t[3]->id, "batch-7");
	assert_int_equal(t[3]->max_tokens, 8);
	for (size_t i = 0; i < n; i++)
		task_free(t[i]);
	workload_close(wl);

	/* Errors name file, line and field. */
	const char *p = write_tmp("log.jsonl",
		"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}\n"
		"{\"request\":{\"model\":\"m\"}}\n");
	assert_int_equal(workload_open(&wl, p, NULL, &err), -EINVAL);
	char want[700];
	snprintf(want, sizeof(want), "%s:2: request.messages: missing required field", p);
	assert_string_equal(err.msg, want);
	p = write_tmp("log2.jsonl",
		"{\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]},\"extra\":1}\n");
	assert_int_equal(workload_open(&wl, p, NULL, &err), -EINVAL);
	snprintf(want, sizeof(want), "%s:1: extra: unknown key (expected request, response, id, "
				     "metadata)", p);
	assert_string_equal(err.msg, want);
	p = write_tmp("log3.jsonl",
		"{\"request\":{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]},"
		"\"response\":{\"error\":\"boom\"}}\n");
	assert_int_equal(workload_open(&wl, p, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "log3.jsonl:1: response.choices: expected a non-empty "
					"array (a non-streamed chat.completion)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bfcl),
		cmocka_unit_test(test_bfcl_paths),
		cmocka_unit_test(test_openai_log),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
