/* Unit tests of the success checks: parsing, every kind passing and failing,
 * and the failure reasons that become repair messages. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "check.h"

static char why[1024];
static struct ap_error err;

/* Parses a check from JSON text; fails the test on a parse error. */
static void mk(struct check *c, const char *json)
{
	cJSON *j = cJSON_Parse(json);
	assert_non_null(j);
	int rc = check_parse(c, j, "t.jsonl", 3, "check", &err);
	if (rc)
		fail_msg("check_parse: %s", err.msg);
	cJSON_Delete(j);
}

/* Parse error text for a check that must be refused. */
static const char *bad(const char *json)
{
	struct check c;
	cJSON *j = cJSON_Parse(json);
	assert_non_null(j);
	memset(&err, 0, sizeof(err));
	assert_int_not_equal(check_parse(&c, j, "t.jsonl", 3, "check", &err), 0);
	cJSON_Delete(j);
	return err.msg;
}

static bool ev_text(const struct check *c, const char *text)
{
	struct episode_output o = { text, NULL, 0 };
	return check_eval(c, &o, why, sizeof(why));
}

static bool ev_calls(const struct check *c, const struct tool_call *calls, size_t n)
{
	struct episode_output o = { "", calls, n };
	return check_eval(c, &o, why, sizeof(why));
}

static void test_exact(void **state)
{
	(void)state;
	struct check c;
	mk(&c, "{\"kind\":\"exact\",\"value\":\"PONG\"}");
	assert_true(ev_text(&c, "  PONG\n"));
	assert_false(ev_text(&c, "pong"));
	assert_string_equal(why, "expected exactly 'PONG', got: 'pong'");
	check_free(&c);
	mk(&c, "{\"kind\":\"exact\",\"value\":\"PONG\",\"ignore_case\":true}");
	assert_true(ev_text(&c, "pong"));
	assert_false(ev_text(&c, "pong!"));
	check_free(&c);
}

static void test_contains(void **state)
{
	(void)state;
	struct check c;
	mk(&c, "{\"kind\":\"contains\",\"value\":\"42\"}");
	assert_int_equal(c.kind, CHECK_CONTAINS);
	assert_true(ev_text(&c, "The answer is 42."));
	assert_false(ev_text(&c, "The answer is forty-two."));
	assert_string_equal(why, "expected text containing '42', got: 'The answer is forty-two.'");
	/* Long answers are cut in the reason, on one line. */
	char big[600];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[5] = '\n';
	assert_false(ev_text(&c, big));
	assert_non_null(strstr(why, "...(truncated)"));
	assert_null(strchr(why, '\n'));
	assert_true(strlen(why) < 260);
	check_free(&c);
	mk(&c, "{\"kind\":\"contains\",\"value\":\"canberra\",\"ignore_case\":true}");
	assert_true(ev_text(&c, "It is CANBERRA."));
	check_free(&c);
}

static void test_regex(void **state)
{
	(void)state;
	struct check c;
	mk(&c, "{\"kind\":\"regex\",\"value\":\"(^|[^0-9])2025-07-04([^0-9]|$)\"}");
	assert_non_null(c.re);
	assert_true(ev_text(&c, "2025-07-04"));
	assert_true(ev_text(&c, "The date is 2025-07-04."));
	assert_false(ev_text(&c, "12025-07-04"));
	assert_string_equal(why, "expected text matching /(^|[^0-9])2025-07-04([^0-9]|$)/, got: "
				 "'12025-07-04'");
	check_free(&c);
	mk(&c, "{\"kind\":\"regex\",\"value\":\"^yes\",\"ignore_case\":true}");
	assert_true(ev_text(&c, "YES, it is"));
	assert_false(ev_text(&c, "no"));
	check_free(&c);
	const char *m = bad("{\"kind\":\"regex\",\"value\":\"a(b\"}");
	assert_non_null(strstr(m, "t.jsonl:3: check.value: invalid regular expression: "));
	/* Shapes that cost glibc's regcomp seconds and gigabytes: PCRE2 refuses both,
	 * at once, with the reason. */
	assert_string_equal(bad("{\"kind\":\"regex\",\"value\":\"((a{200}){200}){50}\"}"),
			    "t.jsonl:3: check.value: invalid regular expression: regular "
			    "expression is too large at offset 19");
	assert_non_null(strstr(bad("{\"kind\":\"regex\",\"value\":\"^[5-9][0-9]++?++++++++++++;\"}"),
			       "quantifier does not follow a repeatable item at offset 13"));
	mk(&c, "{\"kind\":\"regex\",\"value\":\"^[0-9]{1,3}([.][0-9]{1,3}){3}$|(ab{2,}c?)*\"}");
	assert_true(ev_text(&c, "10.0.0.255"));
	check_free(&c);
	/* Catastrophic backtracking meets the match limit: a failed check that
	 * says so, in bounded time. */
	mk(&c, "{\"kind\":\"regex\",\"value\":\"^(a|aa)+$\"}");
	char text[64];
	memset(text, 'a', 60);
	strcpy(text + 60, "b");
	assert_false(ev_text(&c, text));
	assert_non_null(strstr(why, "regex /^(a|aa)+$/ gave up (match limit exceeded) on: 'aaa"));
	check_free(&c);
	/* Invalid UTF-8 in a reply is matched, not an error. */
	mk(&c, "{\"kind\":\"regex\",\"value\":\"caf. \",\"ignore_case\":true}");
	assert_true(ev_text(&c, "Le CAF\xc3\xa9 \xff\xfe"));
	check_free(&c);
}

static void test_json_field(void **state)
{
	(void)state;
	struct check c;
	mk(&c, "{\"kind\":\"json_field\",\"path\":\"person.ages[1]\",\"value\":5}");
	assert_true(ev_text(&c, "{\"person\":{\"ages\":[3,5.0]}}"));
	/* JSON inside prose or a code fence is found. */
	assert_true(ev_text(&c, "Here:\n```json\n{\"person\": {\"ages\": [3, 5]}}\n```"));
	assert_false(ev_text(&c, "{\"person\":{\"ages\":[3,6]}}"));
	assert_string_equal(why, "expected person.ages[1] == 5, got 6");
	assert_false(ev_text(&c, "{\"person\":{}}"));
	assert_string_equal(why, "expected the JSON answer to have field 'person.ages[1]', got: "
				 "{\"person\":{}}");
	assert_false(ev_text(&c, "no json here"));
	assert_string_equal(why, "expected a JSON answer, found no JSON object or array in: "
				 "'no json here'");
	check_free(&c);
	mk(&c, "{\"kind\":\"json_field\",\"path\":\"city\",\"value\":\"Valencia\"}");
	assert_true(ev_text(&c, "Sure! {\"name\": \"Maria\", \"city\": \"Valencia\"} done"));
	assert_false(ev_text(&c, "{\"city\": \"valencia\"}"));
	check_free(&c);
	mk(&c, "{\"kind\":\"json_field\",\"value\":{\"a\":[1,{\"b\":null}]}}");
	assert_true(ev_text(&c, "{\"a\":[1.0,{\"b\":null}]}"));
	assert_false(ev_text(&c, "{\"a\":[1,{\"b\":null}],\"c\":1}"));
	check_free(&c);
	assert_string_equal(bad("{\"kind\":\"json_field\",\"path\":\"a..b\",\"value\":1}"),
			    "t.jsonl:3: check.path: invalid path 'a..b' (expected keys joined by "
			    "'.', with [n] indexes, e.g. \"a.b[0].c\")");
	assert_string_equal(bad("{\"kind\":\"json_field\",\"path\":\"a\"}"),
			    "t.jsonl:3: check.value: missing required field");
}

static void test_numeric(void **state)
{
	(void)state;
	struct check c;
	mk(&c, "{\"kind\":\"numeric\",\"value\":72,\"tolerance\":0.01}");
	assert_true(ev_text(&c, "72 km/h"));
	assert_true(ev_text(&c, "about 72.004"));
	assert_false(ev_text(&c, "Speed = 180 / 2.5 = 72"));
	assert_string_equal(why, "expected a number within 0.01 of 72, got 180");
	assert_false(ev_text(&c, "I do not know"));
	assert_string_equal(why, "expected a number within 0.01 of 72, found no number in: "
				 "'I do not know'");
	check_free(&c);
	mk(&c, "{\"kind\":\"numeric\",\"value\":72,\"which\":\"last\"}");
	assert_true(ev_text(&c, "Speed = 180 / 2.5 = 72"));
	check_free(&c);
	mk(&c, "{\"kind\":\"numeric\",\"value\":-1234.5}");
	assert_true(ev_text(&c, "a loss of -1,234.5 dollars"));
	assert_false(ev_text(&c, "gpt4 says 3-4"));
	assert_string_equal(why, "expected a number within 0 of -1234.5, got 3");
	check_free(&c);
	mk(&c, "{\"kind\":\"numeric\",\"path\":\"total\",\"value\":1e3}");
	assert_true(ev_text(&c, "{\"total\": 1000}"));
	assert_true(ev_text(&c, "{\"total\": \"1,000 EUR\"}"));
	assert_false(ev_text(&c, "{\"sum\": 1000}"));
	check_free(&c);
	assert_string_equal(bad("{\"kind\":\"numeric\",\"value\":1,\"tolerance\":-1}"),
			    "t.jsonl:3: check.tolerance: expected a number from 0 to 1e+300, "
			    "got -1");
	assert_string_equal(bad("{\"kind\":\"numeric\",\"value\":\"1\"}"),
			    "t.jsonl:3: check.value: expected a number from -1e+300 to 1e+300, "
			    "got string");
}

static void test_tool_call(void **state)
{
	(void)state;
	struct check c;
	mk(&c, "{\"kind\":\"tool_call\",\"name\":\"get_weather\","
	       "\"args\":{\"city\":[\"Paris\"],\"unit\":[\"celsius\",\"\"]}}");
	struct tool_call ok[] = { { "c1", "get_weather", "{\"city\":\"Paris\"}" } };
	struct tool_call ok2[] = { { "c1", "get_time", "{}" },
				   { "c2", "get_weather", "{\"unit\":\"celsius\",\"city\":\"Paris\"}" } };
	struct tool_call wrong_name[] = { { "c1", "get_time", "{\"tz\":\"CET\"}" } };
	struct tool_call wrong_arg[] = { { "c1", "get_weather", "{\"city\":\"London\"}" } };
	struct tool_call missing[] = { { "c1", "get_weather", "{\"unit\":\"celsius\"}" } };
	struct tool_call extra[] = { { "c1", "get_weather", "{\"city\":\"Paris\",\"x\":1}" } };
	struct tool_call garbage[] = { { "c1", "get_weather", "{\"city\":" } };
	assert_true(ev_calls(&c, ok, 1));
	assert_true(ev_calls(&c, ok2, 2));
	assert_true(ev_calls(&c, extra, 1)); /* not strict */
	assert_false(ev_calls(&c, wrong_name, 1));
	assert_string_equal(why, "expected a call to get_weather(city in [\"Paris\"], unit in "
				 "[\"celsius\", (omitted)]) but the model called "
				 "get_time({\"tz\":\"CET\"})");
	assert_false(ev_calls(&c, wrong_arg, 1));
	assert_string_equal(why, "expected a call to get_weather(city in [\"Paris\"], unit in "
				 "[\"celsius\", (omitted)]) but the model called "
				 "get_weather({\"city\":\"London\"}): argument 'city' = \"London\" "
				 "is not an acceptable value");
	assert_false(ev_calls(&c, missing, 1));
	assert_non_null(strstr(why, ": argument 'city' is missing"));
	assert_false(ev_calls(&c, garbage, 1));
	assert_non_null(strstr(why, ": arguments are not a JSON object"));
	struct episode_output none = { "It is sunny.", NULL, 0 };
	assert_false(check_eval(&c, &none, why, sizeof(why)));
	assert_string_equal(why, "expected a call to get_weather(city in [\"Paris\"], unit in "
				 "[\"celsius\", (omitted)]) but the model made no tool call and "
				 "answered: 'It is sunny.'");
	check_free(&c);

	mk(&c, "{\"kind\":\"tool_call\",\"name\":\"get_weather\",\"strict_args\":true,"
	       "\"args\":{\"city\":[\"Paris\"]}}");
	assert_false(ev_calls(&c, extra, 1));
	assert_non_null(strstr(why, ": unexpected argument 'x'"));
	check_free(&c);

	/* No args: any arguments, but they must still be JSON. */
	mk(&c, "{\"kind\":\"tool_call\",\"name\":\"get_weather\"}");
	assert_true(ev_calls(&c, wrong_arg, 1));
	assert_false(ev_calls(&c, garbage, 1));
	assert_false(ev_calls(&c, wrong_name, 1));
	assert_non_null(strstr(why, "get_weather(any arguments)"));
	check_free(&c);
}

static void test_tool_call_values(void **state)
{
	(void)state;
	struct check c;
	/* 5 matches 5.0, lists in order, nested objects recursively. */
	mk(&c, "{\"kind\":\"tool_call\",\"name\":\"f\",\"args\":{\"n\":[5],\"xs\":[[1,2]],"
	       "\"o\":[{\"a\":\"x\",\"b\":[true]}]}}");
	struct tool_call a[] = { { "1", "f", "{\"n\":5.0,\"xs\":[1,2.0],\"o\":{\"b\":[true],\"a\":\"x\"}}" } };
	struct tool_call b[] = { { "1", "f", "{\"n\":5,\"xs\":[2,1],\"o\":{\"a\":\"x\",\"b\":[true]}}" } };
	struct tool_call s[] = { { "1", "f", "{\"n\":\"5\",\"xs\":[1,2],\"o\":{\"a\":\"x\",\"b\":[true]}}" } };
	struct tool_call d[] = { { "1", "f", "{\"n\":5,\"xs\":[1,2],\"o\":{\"a\":\"X\",\"b\":[true]}}" } };
	assert_true(ev_calls(&c, a, 1));
	assert_false(ev_calls(&c, b, 1));
	assert_false(ev_calls(&c, s, 1)); /* a string is not a number */
	assert_false(ev_calls(&c, d, 1)); /* exact strings by default */
	check_free(&c);

	/* BFCL matching: strings normalized, nested objects hold acceptable lists. */
	mk(&c, "{\"kind\":\"tool_call\",\"name\":\"f\",\"match\":\"bfcl\",\"args\":{"
	       "\"city\":[\"New York, NY\"],\"o\":[{\"a\":[\"x\",\"y\"],\"b\":[1,\"\"]}]}}");
	assert_true(c.bfcl);
	struct tool_call e[] = { { "1", "f", "{\"city\":\"new york ny\",\"o\":{\"a\":\"Y\"}}" } };
	struct tool_call g[] = { { "1", "f", "{\"city\":\"New-York,NY\",\"o\":{\"a\":\"x\",\"b\":1.0}}" } };
	struct tool_call h[] = { { "1", "f", "{\"city\":\"New York\",\"o\":{\"a\":\"z\"}}" } };
	struct tool_call k[] = { { "1", "f", "{\"city\":\"New York\",\"o\":{\"b\":1}}" } };
	assert_true(ev_calls(&c, e, 1));
	assert_true(ev_calls(&c, g, 1));
	assert_false(ev_calls(&c, h, 1));
	assert_false(ev_calls(&c, k, 1)); /* o.a may not be omitted */
	assert_true(check_json_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(c.args, "city"), 0),
				     cJSON_GetArrayItem(cJSON_GetObjectItem(c.args, "city"), 0)));
	check_free(&c);
}

static void test_all_any(void **state)
{
	(void)state;
	struct check c;
	mk(&c, "{\"kind\":\"all\",\"checks\":[{\"kind\":\"contains\",\"value\":\"18\"},"
	       "{\"kind\":\"regex\",\"value\":\"rain\"}]}");
	assert_int_equal(c.n_sub, 2);
	assert_true(ev_text(&c, "18 degrees and rain"));
	assert_false(ev_text(&c, "18 degrees and sun"));
	assert_string_equal(why, "expected text matching /rain/, got: '18 degrees and sun'");
	check_free(&c);
	mk(&c, "{\"kind\":\"any\",\"checks\":[{\"kind\":\"contains\",\"value\":\"yes\"},"
	       "{\"kind\":\"contains\",\"value\":\"oui\"}]}");
	assert_true(ev_text(&c, "oui"));
	assert_false(ev_text(&c, "nein"));
	assert_string_equal(why, "none of 2 alternatives passed: expected text containing 'yes', "
				 "got: 'nein'; or expected text containing 'oui', got: 'nein'");
	check_free(&c);
	mk(&c, "{\"kind\":\"none\"}");
	assert_true(ev_text(&c, ""));
	check_free(&c);
}

static void test_exact_calls(void **state)
{
	(void)state;
	struct check c;
	mk(&c, "{\"kind\":\"all\",\"exact_calls\":true,\"checks\":["
	       "{\"kind\":\"tool_call\",\"name\":\"w\",\"args\":{\"city\":[\"Paris\"]}},"
	       "{\"kind\":\"tool_call\",\"name\":\"w\",\"args\":{\"city\":[\"Paris\",\"Tokyo\"]}}]}");
	struct tool_call two[] = { { "1", "w", "{\"city\":\"Tokyo\"}" },
				   { "2", "w", "{\"city\":\"Paris\"}" } };
	struct tool_call same[] = { { "1", "w", "{\"city\":\"Paris\"}" },
				    { "2", "w", "{\"city\":\"Paris\"}" } };
	struct tool_call tokyo2[] = { { "1", "w", "{\"city\":\"Tokyo\"}" },
				      { "2", "w", "{\"city\":\"Tokyo\"}" } };
	assert_true(ev_calls(&c, two, 2));   /* any order */
	assert_true(ev_calls(&c, same, 2));  /* Paris twice satisfies both */
	assert_false(ev_calls(&c, tokyo2, 2));
	assert_non_null(strstr(why, "expected a call to w(city in [\"Paris\"])"));
	assert_false(ev_calls(&c, two, 1));
	assert_string_equal(why, "expected 2 tool calls, got 1: w({\"city\":\"Tokyo\"}); expected a "
				 "call to w(city in [\"Paris\"]) but the model called "
				 "w({\"city\":\"Tokyo\"}): argument 'city' = \"Tokyo\" is not an "
				 "acceptable value");
	check_free(&c);
	/* One-to-one: two identical expectations need two calls. */
	mk(&c, "{\"kind\":\"all\",\"exact_calls\":true,\"checks\":["
	       "{\"kind\":\"tool_call\",\"name\":\"w\",\"args\":{\"city\":[\"Paris\"]}},"
	       "{\"kind\":\"tool_call\",\"name\":\"w\",\"args\":{\"city\":[\"Paris\"]}}]}");
	struct tool_call mixed[] = { { "1", "w", "{\"city\":\"Paris\"}" },
				     { "2", "w", "{\"city\":\"Tokyo\"}" } };
	assert_false(ev_calls(&c, mixed, 2));
	assert_non_null(strstr(why, "one to one"));
	check_free(&c);
	assert_string_equal(bad("{\"kind\":\"all\",\"exact_calls\":true,\"checks\":["
				"{\"kind\":\"contains\",\"value\":\"x\"}]}"),
			    "t.jsonl:3: check.checks[0]: exact_calls needs every sub-check to be a "
			    "tool_call, got contains");
}

static void test_parse_errors(void **state)
{
	(void)state;
	assert_string_equal(bad("{\"kind\":\"regexx\",\"value\":\"a\"}"),
			    "t.jsonl:3: check.kind: unknown check kind 'regexx' (expected exact, "
			    "contains, regex, json_field, numeric, tool_call, all, any, call_count, none)");
	assert_string_equal(bad("{\"value\":\"a\"}"), "t.jsonl:3: check.kind: missing required field");
	assert_string_equal(bad("{\"kind\":\"contains\",\"valu\":\"a\"}"),
			    "t.jsonl:3: check.valu: unknown key (expected kind, value, ignore_case, runtime)");
	assert_string_equal(bad("{\"kind\":\"contains\",\"value\":\"a\",\"value\":\"b\"}"),
			    "t.jsonl:3: check.value: duplicate key");
	assert_string_equal(bad("{\"kind\":\"contains\",\"value\":\"\"}"),
			    "t.jsonl:3: check.value: must not be empty");
	assert_string_equal(bad("{\"kind\":\"contains\",\"value\":7}"),
			    "t.jsonl:3: check.value: expected a string, got number");
	assert_string_equal(bad("{\"kind\":\"all\",\"checks\":[]}"),
			    "t.jsonl:3: check.checks: expected an array of 1 to 256 checks, got an "
			    "empty array");
	assert_string_equal(bad("{\"kind\":\"any\",\"checks\":[{\"kind\":\"exact\"}]}"),
			    "t.jsonl:3: check.checks[0].value: missing required field");
	assert_string_equal(bad("{\"kind\":\"tool_call\",\"name\":\"f\",\"args\":{\"a\":1}}"),
			    "t.jsonl:3: check.args.a: expected a non-empty array of acceptable "
			    "values, got number");
	assert_string_equal(bad("{\"kind\":\"tool_call\",\"name\":\"f\",\"match\":\"fuzzy\"}"),
			    "t.jsonl:3: check.match: expected \"exact\" or \"bfcl\", got 'fuzzy'");
	assert_string_equal(bad("[1]"), "t.jsonl:3: check: expected an object, got array");
	/* Nesting is bounded. */
	char deep[2048] = "";
	for (int i = 0; i < 12; i++)
		strcat(deep, "{\"kind\":\"all\",\"checks\":[");
	strcat(deep, "{\"kind\":\"none\"}");
	for (int i = 0; i < 12; i++)
		strcat(deep, "]}");
	assert_non_null(strstr(bad(deep), "checks nested deeper than 8"));
	assert_string_equal(check_kind_name(CHECK_JSON_FIELD), "json_field");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),	     cmocka_unit_test(test_contains),
		cmocka_unit_test(test_regex),	     cmocka_unit_test(test_json_field),
		cmocka_unit_test(test_numeric),	     cmocka_unit_test(test_tool_call),
		cmocka_unit_test(test_tool_call_values), cmocka_unit_test(test_all_any),
		cmocka_unit_test(test_exact_calls),  cmocka_unit_test(test_parse_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
