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
#include "bfcl_match.h"
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
				     "{\"base\":10,\"height\":5,\"unit\":\"Units\"}" } };
	/* 10.0 is a float: BFCL's type check refuses it for an integer parameter. */
	struct tool_call c0e[] = { { "1", "calculate_triangle_area", "{\"base\":10.0,\"height\":5}" } };
	struct tool_call c0c[] = { { "1", "calculate_triangle_area",
				     "{\"base\":10,\"height\":5,\"color\":\"red\"}" } };
	struct tool_call c0d[] = { { "1", "calculate_triangle_area", "{\"base\":10}" } };
	assert_true(judge(t[0], c0, 1));
	assert_true(judge(t[0], c0b, 1)); /* BFCL string normalization */
	assert_false(judge(t[0], c0e, 1));
	assert_non_null(strstr(why, "Incorrect type for parameter 'base'. Expected type integer, got "
				    "float. Parameter value: 10.0."));
	assert_false(judge(t[0], c0c, 1));
	assert_non_null(strstr(why, "Unexpected parameter: 'color'."));
	assert_false(judge(t[0], c0d, 1));
	assert_non_null(strstr(why, "Missing required parameter: 'height'."));
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
	/* BFCL pairs greedily in answer order: expected call 0 (x in [1, 2]) takes
	 * call 0 (x = 1), and expected call 1 (x in [1]) finds none left, although
	 * the other pairing would fit; native exact_calls finds that pairing. */
#define GREEDY(M) "{\"kind\":\"all\",\"exact_calls\":true,\"checks\":[" \
		  "{\"kind\":\"tool_call\",\"name\":\"f\",\"args\":{\"x\":[1,2]}," M "}," \
		  "{\"kind\":\"tool_call\",\"name\":\"f\",\"args\":{\"x\":[1]}," M "}]}"
	static const char *const greedy[] = {
		GREEDY("\"match\":\"exact\""),
		GREEDY("\"match\":\"bfcl\",\"parameters\":{\"properties\":{\"x\":{\"type\":\"integer\"}}}"),
	};
#undef GREEDY
	struct tool_call gc[] = { { "1", "f", "{\"x\":1}" }, { "2", "f", "{\"x\":2}" } };
	struct episode_output go = { "", gc, 2 };
	for (int bfcl = 0; bfcl < 2; bfcl++) {
		cJSON *j = cJSON_Parse(greedy[bfcl]);
		struct check gck;
		assert_int_equal(check_parse(&gck, j, "t", 1, "check", &err), 0);
		assert_int_equal(check_eval(&gck, &go, why, sizeof(why)), !bfcl);
		if (bfcl)
			assert_non_null(strstr(why, "Could not find a matching function"));
		check_free(&gck);
		cJSON_Delete(j);
	}

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

#define V4 "tests/data/bfcl/v4/"

/* The first task of a one-category v4 fixture. */
static struct task *first_task(const char *spec, struct workload **wl)
{
	struct task *t = NULL;
	if (workload_open(wl, spec, NULL, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(workload_next(*wl, &t, &err), 0);
	return t;
}

static const char *tool_desc(const struct task *t, const char *param_name)
{
	const cJSON *fn = cJSON_GetObjectItem(cJSON_GetArrayItem(t->tools, 0), "function");
	const cJSON *d = cJSON_GetObjectItem(param_name ? param(t, 0, param_name) : fn, "description");
	return d ? d->valuestring : "";
}

/* Java: every parameter asked for as a string literal, converted as BFCL's
 * java_type_converter does before judging. */
static void test_bfcl_java(void **state)
{
	(void)state;
	struct workload *wl = NULL;
	struct task *t = first_task("bfcl:" V4 "BFCL_v4_simple_java.json", &wl);
	assert_string_equal(t->category, "simple_java");
	assert_true(strstr(tool_desc(t, NULL), "Note that the provided function is in Java 8 SDK syntax."));
	assert_string_equal(type_of(param(t, 0, "timeoutMs")), "string");
	assert_string_equal(type_of(param(t, 0, "label")), "string"); /* an empty type */
	assert_non_null(strstr(tool_desc(t, "timeoutMs"), "This is Java long type parameter in string "
							  "representation."));
	assert_non_null(strstr(tool_desc(t, "hosts"), "The list elements are of type String"));
	assert_null(cJSON_GetObjectItem(param(t, 0, "hosts"), "items"));
	const char *good = "{\"timeoutMs\":\"3000L\",\"retry\":\"true\",\"hosts\":\"new ArrayList<>("
			   "Arrays.asList(\\\"db1\\\", \\\"DB-2\\\"))\",\"ratio\":\"0.50\",\"options\":"
			   "\"new HashMap<String, String>() {{ put(\\\"mode\\\", \\\"Fast\\\"); }}\"}";
	struct tool_call c[] = { { "1", "ConnectionPool_configure", (char *)good } };
	/* "DB-2" and "Fast" pass BFCL's string normalization, 0.50 == 0.5. */
	assert_true(judge(t, c, 1));
	struct tool_call ok[] = { { "1", "ConnectionPool_configure",
				    "{\"timeoutMs\":\"3000L\",\"retry\":\"true\",\"label\":\"Main\"}" } };
	assert_true(judge(t, ok, 1));
	struct tool_call bad[] = { { "1", "ConnectionPool_configure",
				     "{\"timeoutMs\":\"3000L\",\"retry\":\"false\"}" } };
	assert_false(judge(t, bad, 1));
	assert_non_null(strstr(why, "Invalid value for parameter 'retry': false."));
	/* A long without its L stays a string: BFCL's type error. */
	struct tool_call nol[] = { { "1", "ConnectionPool_configure",
				     "{\"timeoutMs\":\"3000\",\"retry\":\"true\"}" } };
	assert_false(judge(t, nol, 1));
	assert_non_null(strstr(why, "Incorrect type for parameter 'timeoutMs'. Expected type long, got str"));
	/* A JSON boolean is not a Java literal string. */
	struct tool_call js[] = { { "1", "ConnectionPool_configure", "{\"timeoutMs\":\"3000L\",\"retry\":true}" } };
	assert_false(judge(t, js, 1));
	assert_non_null(strstr(why, "Expected type String, got bool"));
	task_free(t);
	workload_close(wl);

	/* The converters alone. */
	cJSON *v = bfcl_convert(BFCL_JAVA, "new int[]{1, 2, 3}", "Array", "integer");
	char *txt = cJSON_PrintUnformatted(v);
	assert_string_equal(txt, "[1,2,3]");
	free(txt);
	cJSON_Delete(v);
	v = bfcl_convert(BFCL_JAVA, "3.5f", "float", NULL);
	assert_true(bfcl_is_float(v));
	cJSON_Delete(v);
	v = bfcl_convert(BFCL_JAVA, "3.5", "float", NULL); /* no f: a string */
	assert_true(cJSON_IsString(v));
	cJSON_Delete(v);
	v = bfcl_convert(BFCL_JAVA, "new ArrayList<Integer>() {{ add(1); add(2); }}", "ArrayList",
			 "integer");
	txt = cJSON_PrintUnformatted(v);
	assert_string_equal(txt, "[1,2]");
	free(txt);
	cJSON_Delete(v);
}

/* JavaScript: Boolean (the type that refused the whole file), Bigint, arrays, dicts. */
static void test_bfcl_javascript(void **state)
{
	(void)state;
	struct workload *wl = NULL;
	struct task *t = first_task("bfcl:" V4 "BFCL_v4_simple_javascript.json", &wl);
	assert_string_equal(type_of(param(t, 0, "isComplete")), "string");
	assert_non_null(strstr(tool_desc(t, "isComplete"), "This is JavaScript Boolean type parameter"));
	assert_true(strstr(tool_desc(t, NULL), "Note that the provided function is in JavaScript syntax."));
	/* A dict's own schema goes into the description, as Python's json.dumps writes it. */
	assert_null(cJSON_GetObjectItem(param(t, 0, "config"), "properties"));
	assert_non_null(strstr(tool_desc(t, "config"),
			       "Settings. This is JavaScript dict type parameter in string representation. "
			       "The dictionary entries have the following schema; they are not in string "
			       "representation. {\"theme\": {\"type\": \"String\", \"description\": "
			       "\"Colour th\\u00e9me.\"}}"));
	struct tool_call ok[] = { { "1", "updateTask",
				    "{\"isComplete\":\"true\",\"count\":\"3\",\"tags\":\"['a', 'b']\","
				    "\"config\":\"{theme: 'dark'}\",\"bigId\":\"42n\"}" } };
	assert_true(judge(t, ok, 1));
	struct tool_call f1[] = { { "1", "updateTask", "{\"isComplete\":\"yes\",\"count\":\"3\"}" } };
	assert_false(judge(t, f1, 1));
	assert_non_null(strstr(why, "Incorrect type for parameter 'isComplete'. Expected type Boolean, got str"));
	struct tool_call f2[] = { { "1", "updateTask", "{\"isComplete\":\"false\",\"count\":\"3\"}" } };
	assert_false(judge(t, f2, 1));
	assert_non_null(strstr(why, "Invalid value for parameter 'isComplete': false"));
	struct tool_call f3[] = { { "1", "updateTask",
				    "{\"isComplete\":\"true\",\"count\":\"3\",\"config\":\"{theme: 'light'}\"}" } };
	assert_false(judge(t, f3, 1));
	assert_non_null(strstr(why, "Invalid value for parameter 'theme'"));
	task_free(t);
	workload_close(wl);
	cJSON *v = bfcl_convert(BFCL_JAVASCRIPT, "[[1, 2], [3, 4]]", "array", "array");
	char *txt = cJSON_PrintUnformatted(v);
	assert_string_equal(txt, "[[1,2],[3,4]]");
	free(txt);
	cJSON_Delete(v);
	v = bfcl_convert(BFCL_JAVASCRIPT, "{'k1': 123, 'k2': 'v', 'k3': false}", "dict", NULL);
	txt = cJSON_PrintUnformatted(v);
	assert_string_equal(txt, "{\"k1\":123,\"k2\":\"v\",\"k3\":false}");
	free(txt);
	cJSON_Delete(v);
}

/* Python types as BFCL checks them: an int for a float, not a float for an
 * int; nested list element types; "" optional; an empty acceptable list. */
static void test_bfcl_python_rules(void **state)
{
	(void)state;
	struct workload *wl = NULL;
	if (workload_open(&wl, "bfcl:" V4 "BFCL_v4_live_simple.json", NULL, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(wl->n_unsatisfiable, 1);
	struct task *t[4];
	size_t n = load_all(wl, t, 4);
	assert_int_equal(n, 2);
	assert_true(t[0]->unsatisfiable);
	assert_false(t[1]->unsatisfiable);
	/* The empty list: no value, and no omission, passes. */
	struct tool_call e1[] = { { "1", "set_auto_loan", "{\"amount\":250,\"auto_loan_payment_start\":\"x\"}" } };
	struct tool_call e2[] = { { "1", "set_auto_loan", "{\"amount\":250}" } };
	assert_false(judge(t[0], e1, 1));
	assert_false(judge(t[0], e2, 1));
	assert_non_null(strstr(why, "Optional parameter 'auto_loan_payment_start' not provided"));
	/* Normalized strings: "oslo" matches "Oslo". */
	struct tool_call o[] = { { "1", "get_weather", "{\"location\":\"oslo\"}" } };
	assert_true(judge(t[1], o, 1));
	struct tool_call o2[] = { { "1", "get_weather", "{\"location\":7}" } };
	assert_false(judge(t[1], o2, 1));
	assert_non_null(strstr(why, "Expected type string, got int"));
	for (size_t i = 0; i < n; i++)
		task_free(t[i]);
	workload_close(wl);

	/* Direct: a float where an integer is expected is a type error; nested list types. */
	cJSON *params = cJSON_Parse("{\"properties\":{\"n\":{\"type\":\"integer\"},\"xs\":{\"type\":"
				    "\"array\",\"items\":{\"type\":\"integer\"}},\"d\":{\"type\":\"dict\"}},"
				    "\"required\":[\"n\"]}");
	/* xs is not optional: with "" among its answers BFCL's nested check passes
	 * vacuously and the value check fails instead. */
	cJSON *ans = cJSON_Parse("{\"n\":[2],\"xs\":[[1,2]],\"d\":[{\"a\":[\"x\"],\"b\":[1,\"\"]},\"\"]}");
	cJSON *a1 = cJSON_Parse("{\"n\":2.5}");
	cJSON *a2 = cJSON_Parse("{\"n\":2,\"xs\":[1,\"2\"]}");
	cJSON *a3 = cJSON_Parse("{\"n\":2,\"xs\":[1,2],\"d\":{\"a\":\"X\"}}");
	cJSON *a4 = cJSON_Parse("{\"n\":2,\"xs\":[1,2],\"d\":{\"a\":\"x\",\"c\":1}}");
	char m[300];
	assert_false(bfcl_args_match(params, BFCL_PYTHON, ans, a1, m, sizeof(m)));
	assert_non_null(strstr(m, "Expected type integer, got float"));
	assert_false(bfcl_args_match(params, BFCL_PYTHON, ans, a2, m, sizeof(m)));
	assert_non_null(strstr(m, "Nested type checking failed for parameter 'xs'"));
	assert_true(bfcl_args_match(params, BFCL_PYTHON, ans, a3, m, sizeof(m)));
	assert_false(bfcl_args_match(params, BFCL_PYTHON, ans, a4, m, sizeof(m)));
	assert_non_null(strstr(m, "Unexpected dict key parameter: 'c'."));
	cJSON_Delete(params), cJSON_Delete(ans), cJSON_Delete(a1), cJSON_Delete(a2);
	cJSON_Delete(a3), cJSON_Delete(a4);
}

/* Irrelevance has no answer file; relevance wants some call; a forced category. */
static void test_bfcl_relevance(void **state)
{
	(void)state;
	struct workload *wl = NULL;
	struct task *t[4];
	if (workload_open(&wl, V4 "BFCL_v4_irrelevance.json", NULL, &err))
		fail_msg("%s", err.msg);
	assert_null(wl->answers_path);
	size_t n = load_all(wl, t, 4);
	assert_int_equal(n, 2);
	struct tool_call c[] = { { "1", "get_stock", "{\"ticker\":\"X\"}" } };
	assert_true(judge(t[0], NULL, 0));
	assert_false(judge(t[0], c, 1));
	assert_non_null(strstr(why, "expected no tool call, got 1: get_stock("));
	for (size_t i = 0; i < n; i++)
		task_free(t[i]);
	workload_close(wl);
	if (workload_open(&wl, V4 "BFCL_v4_live_relevance.json", NULL, &err))
		fail_msg("%s", err.msg);
	n = load_all(wl, t, 4);
	assert_false(judge(t[0], NULL, 0));
	assert_non_null(strstr(why, "expected at least 1 tool call, got 0"));
	struct tool_call s[] = { { "1", "search_images", "{\"query\":\"dogs\"}" } };
	assert_true(judge(t[0], s, 1)); /* any call: its arguments are not judged */
	task_free(t[0]);
	workload_close(wl);
	/* A file named otherwise, forced to be irrelevance: no answers asked for. */
	char *irr = tu_slurp(V4 "BFCL_v4_irrelevance.json");
	const char *p = write_tmp("mine.json", irr);
	free(irr);
	assert_int_not_equal(workload_open(&wl, p, NULL, &err), 0);
	assert_non_null(strstr(err.msg, "cannot open the BFCL possible_answer file"));
	char spec[600];
	snprintf(spec, sizeof(spec), "bfcl/irrelevance:%s", p);
	if (workload_open(&wl, spec, NULL, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(wl->n_tasks, 2);
	workload_close(wl);
	/* Multi-turn: refused with one clear line. */
	assert_int_equal(workload_open(&wl, V4 "BFCL_v4_multi_turn_base.json", NULL, &err), -ENOTSUP);
	assert_string_equal(err.msg, V4 "BFCL_v4_multi_turn_base.json: BFCL category 'multi_turn_base' "
				     "cannot run here: multi-turn entries need BFCL's executable backends "
				     "(its Python API simulators answer every call and hold the state "
				     "each turn is judged on)");
}

/* bfcl:DIR: every runnable category, the refused ones as notes, and the
 * errors of a malformed file still name that file and line. */
static void test_bfcl_folder(void **state)
{
	(void)state;
	struct workload *wl = NULL;
	if (workload_open(&wl, "bfcl:" V4, NULL, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(wl->n_tasks, 10);
	assert_int_equal(wl->n_unsatisfiable, 1);
	assert_int_equal(wl->n_notes, 1);
	assert_non_null(strstr(wl->notes[0], "BFCL_v4_multi_turn_base.json: not run: BFCL category "
					     "'multi_turn_base': multi-turn entries need"));
	assert_string_equal(wl->name, "BFCL_v4");
	assert_string_equal(wl->answers_path, "tests/data/bfcl/v4/possible_answer");
	struct task *t[16];
	size_t n = load_all(wl, t, 16);
	assert_int_equal(n, 10);
	/* Name order; each task's category from its file. */
	assert_string_equal(t[0]->id, "irrelevance_0");
	assert_string_equal(t[7]->category, "simple_java");
	assert_int_equal(t[9]->check.kind, CHECK_ALL);
	for (size_t i = 0; i < n; i++)
		task_free(t[i]);
	/* Rewound, the same tasks again. */
	assert_int_equal(workload_rewind(wl), 0);
	n = load_all(wl, t, 16);
	assert_int_equal(n, 10);
	for (size_t i = 0; i < n; i++)
		task_free(t[i]);
	workload_close(wl);

	/* A folder with a malformed file: the error is that file's, line and field. */
	write_tmp("d/BFCL_v4_simple_python.json",
		  "{\"id\": \"simple_python_0\", \"question\": \"hi\", \"function\": [{\"name\": \"f\"}]}\n"
		  "{\"id\": \"simple_python_1\", \"question\": \"hi\", \"function\": [{\"name\": \"f\", "
		  "\"parameters\": {\"type\": \"dict\", \"properties\": {\"x\": {\"type\": \"quaternion\"}}}}]}\n");
	write_tmp("d/possible_answer/BFCL_v4_simple_python.json",
		  "{\"id\": \"simple_python_0\", \"ground_truth\": [{\"f\": {}}]}\n"
		  "{\"id\": \"simple_python_1\", \"ground_truth\": [{\"f\": {}}]}\n");
	char dir[600], want[800];
	snprintf(dir, sizeof(dir), "bfcl:%s/d", tmp);
	assert_int_not_equal(workload_open(&wl, dir, NULL, &err), 0);
	snprintf(want, sizeof(want), "%s/d/BFCL_v4_simple_python.json:2: "
				     "function[0].parameters.properties.x.type: unknown BFCL parameter "
				     "type 'quaternion'", tmp);
	assert_string_equal(err.msg, want);
	/* Refused by its name before its content is read: format_sensitivity is
	 * one pretty-printed JSON object, not JSON Lines. */
	const char *fs = write_tmp("BFCL_v4_format_sensitivity.json", "{\n    \"simple_python\": [\"simple_python_58\"]\n}\n");
	assert_int_equal(workload_open(&wl, fs, NULL, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "BFCL_v4_format_sensitivity.json: BFCL category "
				       "'format_sensitivity' cannot run here: format-sensitivity re-asks"));
	/* Only refused categories: nothing to run, said so. */
	write_tmp("e/BFCL_v4_web_search.json", "{\"id\": \"web_search_0\"}\n");
	snprintf(dir, sizeof(dir), "bfcl:%s/e", tmp);
	assert_int_not_equal(workload_open(&wl, dir, NULL, &err), 0);
	assert_non_null(strstr(err.msg, "no BFCL question file to run here"));
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
		cmocka_unit_test(test_bfcl_java),
		cmocka_unit_test(test_bfcl_javascript),
		cmocka_unit_test(test_bfcl_python_rules),
		cmocka_unit_test(test_bfcl_relevance),
		cmocka_unit_test(test_bfcl_folder),
		cmocka_unit_test(test_openai_log),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
