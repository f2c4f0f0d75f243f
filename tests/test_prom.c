/*
 * The Prometheus text parser (harness/measure/prom.c) on hand-made edge
 * cases and on real llama-server /metrics output. The real output is
 * captured by test_srvmetrics.c from a running llama-server and kept in
 * tests/data/llama-server-metrics.txt, so this program also checks it
 * offline; a fresh capture is parsed there too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure/prom.h"
#include "util.h"

#define MAXS 64

struct one {
		char name[96], family[96], help[96];
		enum prom_type type;
		size_t n_labels;
		char lk[4][32], lv[4][64];
		double v;
		bool has_ts;
		int64_t ts;
};

struct got {
	size_t n;
	struct one s[MAXS];
};

static int collect(const struct prom_sample *m, void *ud)
{
	struct got *g = ud;
	if (g->n == MAXS)
		return 1;
	struct one *x = &g->s[g->n++];
	snprintf(x->name, sizeof(x->name), "%s", m->name);
	snprintf(x->family, sizeof(x->family), "%s", m->family);
	snprintf(x->help, sizeof(x->help), "%s", m->help);
	x->type = m->type;
	x->n_labels = m->n_labels;
	for (size_t i = 0; i < m->n_labels && i < 4; i++) {
		snprintf(x->lk[i], sizeof(x->lk[i]), "%s", m->labels[i].name);
		snprintf(x->lv[i], sizeof(x->lv[i]), "%s", m->labels[i].value);
	}
	x->v = m->value;
	x->has_ts = m->has_ts;
	x->ts = m->ts_ms;
	return 0;
}

static int parse(const char *t, struct got *g, struct prom_error *e)
{
	memset(g, 0, sizeof(*g));
	return prom_parse(t, strlen(t), collect, g, e);
}

static void test_types_help_labels(void **state)
{
	(void)state;
	const char *t = "# a plain comment\n"
			"# HELP http_requests_total The total number of \\\\ requests.\\nSecond line\n"
			"# TYPE http_requests_total counter\n"
			"http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
			"http_requests_total{method=\"post\",code=\"400\",}    3 1395066363000\r\n"
			"\n"
			"  # TYPE rpc histogram\n"
			"rpc_bucket{le=\"0.05\"} 24054\n"
			"rpc_bucket{le=\"+Inf\"} 144320\n"
			"rpc_sum 53423\n"
			"rpc_count 144320\n"
			"msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n"
			"metric_without_timestamp_and_labels 12.47\n"
			"something_weird{problem=\"division by zero\"} +Inf -3982045\n"
			"minus_inf -Inf\n"
			"not_a_number NaN\n"
			"lower_nan nan\n"
			"vllm:num_requests_running{model_name=\"m\",engine=\"0\"} 2.0\n"
			"empty_braces{} 7\n"
			"spaced { a = \"b\" } 8\n"
			"hexval 0x10";
	struct got g;
	struct prom_error e;
	assert_int_equal(parse(t, &g, &e), 0);
	assert_int_equal(g.n, 16);
	assert_string_equal(g.s[0].name, "http_requests_total");
	assert_int_equal(g.s[0].type, PROM_COUNTER);
	assert_string_equal(g.s[0].help, "The total number of \\ requests.\nSecond line");
	assert_int_equal(g.s[0].n_labels, 2);
	assert_string_equal(g.s[0].lk[0], "method");
	assert_string_equal(g.s[0].lv[1], "200");
	assert_true(g.s[0].has_ts);
	assert_true(g.s[0].ts == 1395066363000LL);
	assert_int_equal(g.s[1].n_labels, 2); /* trailing comma */
	assert_true(g.s[1].v == 3);
	assert_int_equal(g.s[2].type, PROM_HISTOGRAM);
	assert_string_equal(g.s[2].family, "rpc");
	assert_string_equal(g.s[2].help, "");
	assert_string_equal(g.s[3].lv[0], "+Inf");
	assert_int_equal(g.s[4].type, PROM_HISTOGRAM); /* rpc_sum */
	assert_int_equal(g.s[5].type, PROM_HISTOGRAM); /* rpc_count */
	assert_string_equal(g.s[6].lv[0], "C:\\DIR\\FILE.TXT");
	assert_string_equal(g.s[6].lv[1], "Cannot find file:\n\"FILE.TXT\"");
	assert_true(g.s[6].v == 1.458255915e9);
	assert_int_equal(g.s[6].type, PROM_UNTYPED);
	assert_false(g.s[7].has_ts);
	assert_true(g.s[8].v == INFINITY);
	assert_true(g.s[8].ts == -3982045);
	assert_true(g.s[9].v == -INFINITY);
	assert_true(isnan(g.s[10].v));
	assert_true(isnan(g.s[11].v));
	assert_string_equal(g.s[12].name, "vllm:num_requests_running");
	assert_string_equal(g.s[12].lv[1], "0");
	assert_int_equal(g.s[13].n_labels, 0);
	assert_string_equal(g.s[14].lv[0], "b");
	assert_true(g.s[15].v == 16);
}

/* Each bad line is an error naming its line; nothing after it is reported. */
static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text, *msg;
		size_t line;
	} bad[] = {
		{ "ok 1\n9bad 1\n", "expected a metric name", 2 },
		{ "m{a=\"b\" 1\n", "expected ',' or '}'", 1 },
		{ "m{a=\"b} 1\n", "unterminated value", 1 },
		{ "m{a=b} 1\n", "quoted value", 1 },
		{ "m{a=\"\\x\"} 1\n", "bad escape", 1 },
		{ "m{a=\"1\",a=\"2\"} 1\n", "given twice", 1 },
		{ "m{=\"1\"} 1\n", "expected a label name", 1 },
		{ "m\n", "no value", 1 },
		{ "m one\n", "bad value", 1 },
		{ "m 1 2.5\n", "bad timestamp", 1 },
		{ "m 1 2 3\n", "junk after", 1 },
		{ "# TYPE m countr\n", "unknown type", 1 },
		{ "# TYPE m counter extra\n", "more than one word", 1 },
		{ "# HELP \n", "without a metric name", 1 },
		{ "m{a=\"1\"}1\n", "blank before the value", 1 },
		{ "m-x 1\n", "bad character", 1 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct got g;
		struct prom_error e;
		int rc = parse(bad[i].text, &g, &e);
		if (rc != -EPROTO || !strstr(e.msg, bad[i].msg) || e.line != bad[i].line)
			fail_msg("case %zu '%s': rc %d line %zu msg '%s'", i, bad[i].text, rc, e.line,
				 e.msg);
	}
	/* NUL inside the text */
	struct got g;
	struct prom_error e;
	memset(&g, 0, sizeof(g));
	assert_int_equal(prom_parse("a 1\nb\0 2\n", 9, collect, &g, &e), -EPROTO);
	assert_int_equal(e.line, 2);
	assert_int_equal(g.n, 0);
	/* too many labels */
	struct sbuf b = { 0 };
	sbuf_adds(&b, "m{");
	for (int i = 0; i <= PROM_MAX_LABELS; i++)
		sbuf_addf(&b, "l%d=\"v\",", i);
	sbuf_adds(&b, "} 1\n");
	assert_int_equal(parse(b.s, &g, &e), -EPROTO);
	assert_non_null(strstr(e.msg, "more than"));
	sbuf_free(&b);
	/* empty text and only comments: no samples, no error */
	assert_int_equal(parse("", &g, &e), 0);
	assert_int_equal(parse("# x\n\n  \n", &g, &e), 0);
	assert_int_equal(g.n, 0);
	/* the callback stops the parse with its own value */
	memset(&g, 0, sizeof(g));
	g.n = MAXS;
	assert_int_equal(prom_parse("a 1\n", 4, collect, &g, NULL), 1);
}

/* The output of a real llama-server (kept from test_srvmetrics' capture). */
static void test_llama_server_capture(void **state)
{
	(void)state;
	char *t = NULL;
	size_t len;
	const char *path = "tests/data/llama-server-metrics.txt";
	if (ap_read_file(path, &t, &len)) {
		fail_msg("%s missing (written by test_srvmetrics from the real server)", path);
	}
	struct got g;
	struct prom_error e;
	memset(&g, 0, sizeof(g));
	assert_int_equal(prom_parse(t, len, collect, &g, &e), 0);
	bool seen_running = false, seen_prompt = false;
	for (size_t i = 0; i < g.n; i++) {
		if (!strcmp(g.s[i].name, "llamacpp:requests_processing")) {
			seen_running = true;
			assert_int_equal(g.s[i].type, PROM_GAUGE);
		}
		if (!strcmp(g.s[i].name, "llamacpp:prompt_tokens_total")) {
			seen_prompt = true;
			assert_int_equal(g.s[i].type, PROM_COUNTER);
			assert_true(g.s[i].v > 0);
			assert_non_null(strstr(g.s[i].help, "prompt tokens"));
		}
	}
	assert_true(seen_running && seen_prompt);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types_help_labels),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_llama_server_capture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
