/*
 * Bad input through the real command line (issue 6): workloads, profiles,
 * backend specs and options with wrong types, missing fields, unknown keys,
 * huge values, invalid UTF-8 and cycles in references. Each case must exit
 * with status 2, name the place (file:line, task id or option) and the
 * field in its message, and leave no results folder behind. The loaders'
 * own unit tests (test_workload.c, test_cost.c) cover more shapes; this
 * checks the path a user takes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "runutil.h"

static char dir[256];

#define HDR "{\"agentperf_workload\":1,\"name\":\"bad\",\"version\":\"1\",\"source\":\"t\"," \
	    "\"license\":\"CC0-1.0\"}\n"
#define CHK "\"check\":{\"kind\":\"contains\",\"value\":\"x\"}"

struct wcase {
	const char *name;
	const char *text;   /* file content (may hold invalid UTF-8) */
	const char *expect; /* all of these, '|'-separated, in stderr */
};

static const struct wcase workloads[] = {
	{ "wrong-type",
	  "{\"agentperf_workload\":1,\"name\":\"b\",\"version\":\"1\",\"source\":\"t\",\"license\":"
	  "\"x\",\"defaults\":{\"max_attempts\":\"three\"}}\n{\"id\":\"a\",\"prompt\":\"p\"," CHK "}\n",
	  "wrong-type.jsonl:1:|defaults.max_attempts" },
	{ "missing-check", HDR "{\"id\":\"a\",\"prompt\":\"p\"}\n", "missing-check.jsonl:2:|check" },
	{ "missing-id", HDR "{\"prompt\":\"p\"," CHK "}\n", "missing-id.jsonl:2:|id" },
	{ "unknown-key", HDR "{\"id\":\"a\",\"promtp\":\"p\"," CHK "}\n",
	  "unknown-key.jsonl:2:|promtp|unknown key" },
	{ "huge-value",
	  "{\"agentperf_workload\":1,\"name\":\"b\",\"version\":\"1\",\"source\":\"t\",\"license\":"
	  "\"x\",\"defaults\":{\"max_attempts\":1e12}}\n{\"id\":\"a\",\"prompt\":\"p\"," CHK "}\n",
	  "huge-value.jsonl:1:|max_attempts" },
	{ "huge-steps", HDR "{\"id\":\"a\",\"prompt\":\"p\",\"max_steps\":99999999999," CHK "}\n",
	  "huge-steps.jsonl:2:|max_steps" },
	{ "bad-utf8", HDR "{\"id\":\"a\",\"prompt\":\"caf\xe9 \xff\"," CHK "}\n",
	  "bad-utf8.jsonl:2:|UTF-8" },
	{ "cycle",
	  HDR "{\"id\":\"a\",\"prompt\":\"p\"," CHK ",\"decomposed\":[{\"id\":\"s1\",\"prompt\":"
	      "\"{{s2}}\"},{\"id\":\"s2\",\"prompt\":\"{{s1}}\"}]}\n",
	  "cycle.jsonl:2:|decomposed[0].prompt|{{s2}}" },
	{ "self-reference",
	  HDR "{\"id\":\"a\",\"prompt\":\"p\"," CHK ",\"decomposed\":[{\"id\":\"s1\",\"prompt\":"
	      "\"{{s1}}\"}]}\n",
	  "self-reference.jsonl:2:|{{s1}}" },
	{ "duplicate-id", HDR "{\"id\":\"a\",\"prompt\":\"p\"," CHK "}\n{\"id\":\"a\",\"prompt\":\"q\"," CHK "}\n",
	  "duplicate-id.jsonl:3:|id|'a'" },
	{ "truncated-json", HDR "{\"id\":\"a\",\"prompt\":\"p\"," CHK "\n",
	  "truncated-json.jsonl:2:|JSON" },
	{ "bad-regex", HDR "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"regex\",\"value\":\"(\"}}\n",
	  "bad-regex.jsonl:2:|check" },
	{ "empty", "", "empty.jsonl|empty" },
};

static const char *const PROFILE_OK =
	"{\"agentperf_profile\":1,\"kind\":\"local\",\"name\":\"t\",\"params\":{"
	"\"psu_efficiency\":{\"value\":0.8,\"source\":\"s\",\"date\":\"2025-01-01\"},"
	"\"pue\":{\"value\":%s,\"source\":\"s\",\"date\":\"2025-01-01\"%s},"
	"\"utilization\":{\"value\":0.5,\"source\":\"s\",\"date\":\"2025-01-01\"}}%s}\n";

static int setup(void **state)
{
	(void)state;
	char *d = tu_tmpdir();
	if (!d)
		return -1;
	snprintf(dir, sizeof(dir), "%s", d);
	free(d);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmrf(dir);
	return 0;
}

/* Runs record with extra args; asserts exit 2, every expected piece, no results folder. */
static void expect_refused(const char *what, const char *expect, char *const extra[])
{
	char res[300], out[300], err[300];
	snprintf(res, sizeof(res), "%s/results", dir);
	snprintf(out, sizeof(out), "%s/stdout", dir);
	snprintf(err, sizeof(err), "%s/stderr", dir);
	char *argv[40] = { (char *)tu_agentperf(), "record", "-q", "--no-energy", "-o", res };
	int n = 6;
	for (int i = 0; extra[i] && n < 38; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	int rc = tu_run(argv, out, err);
	char *e = tu_slurp(err);
	assert_non_null(e);
	if (rc != 2)
		fail_msg("%s: exit %d, expected 2; stderr: %s", what, rc, e);
	char want[512];
	snprintf(want, sizeof(want), "%s", expect);
	for (char *save = NULL, *p = strtok_r(want, "|", &save); p; p = strtok_r(NULL, "|", &save))
		if (!strstr(e, p))
			fail_msg("%s: stderr lacks '%s': %s", what, p, e);
	/* Everything is validated before anything is created. */
	struct stat sb;
	if (!stat(res, &sb))
		fail_msg("%s: a results folder was created", what);
	free(e);
}

static void test_bad_workloads(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		char path[400];
		snprintf(path, sizeof(path), "%s/%s.jsonl", dir, workloads[i].name);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(workloads[i].text, f);
		fclose(f);
		char *extra[] = { "-w", path, "-b", "openai:url=http://127.0.0.1:9/v1", NULL };
		expect_refused(workloads[i].name, workloads[i].expect, extra);
	}
}

/* A workload far over any sane size, one huge line: refused, memory bounded by the limit. */
static void test_huge_workload_line(void **state)
{
	(void)state;
	char path[400];
	snprintf(path, sizeof(path), "%s/huge-line.jsonl", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(HDR "{\"id\":\"a\",\"prompt\":\"", f);
	/* 80 MB of prompt: over the loader's per-line bound. */
	char block[65536];
	memset(block, 'x', sizeof(block));
	for (int i = 0; i < 80 * 16; i++)
		fwrite(block, 1, sizeof(block), f);
	fputs("\"," CHK "}\n", f);
	fclose(f);
	char *extra[] = { "-w", path, "-b", "openai:url=http://127.0.0.1:9/v1", NULL };
	expect_refused("huge-line", "huge-line.jsonl:2", extra);
	unlink(path);
}

static void test_bad_profiles(void **state)
{
	(void)state;
	const struct {
		const char *name, *pue, *pue_extra, *top_extra, *expect;
	} cases[] = {
		{ "wrong-type", "\"high\"", "", "", "wrong-type.json|params.pue" },
		{ "missing-source", "1.2", "", "", "" }, /* filled below: source removed */
		{ "unknown-key", "1.2", "", ",\"colour\":1", "unknown-key.json|colour|unknown key" },
		{ "unknown-param-key", "1.2", ",\"bogus\":1", "", "params.pue.bogus|unknown key" },
		{ "huge-value", "1e308", "", "", "huge-value.json|pue" },
		{ "negative", "-3", "", "", "negative.json|pue" },
	};
	char wl[300];
	snprintf(wl, sizeof(wl), "%s/ok.jsonl", dir);
	FILE *f = fopen(wl, "w");
	fputs(HDR "{\"id\":\"a\",\"prompt\":\"p\"," CHK "}\n", f);
	fclose(f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[400], text[2048];
		snprintf(path, sizeof(path), "%s/%s.json", dir, cases[i].name);
		snprintf(text, sizeof(text), PROFILE_OK, cases[i].pue, cases[i].pue_extra,
			 cases[i].top_extra);
		const char *expect = cases[i].expect;
		if (!strcmp(cases[i].name, "missing-source")) {
			/* Drop pue's "source": a number without its source is refused. */
			char *s = strstr(text, "\"pue\":{\"value\":1.2,\"source\":\"s\",");
			assert_non_null(s);
			char *src = strstr(s, "\"source\"");
			memmove(src, src + 13, strlen(src + 13) + 1);
			expect = "missing-source.json|params.pue|source";
		}
		f = fopen(path, "w");
		fputs(text, f);
		fclose(f);
		char *extra[] = { "-w", wl, "-b", "openai:url=http://127.0.0.1:9/v1", "--profile", path,
				  NULL };
		expect_refused(cases[i].name, expect, extra);
	}
	/* Invalid UTF-8 in a profile, with its line. */
	char path[400];
	snprintf(path, sizeof(path), "%s/utf8.json", dir);
	f = fopen(path, "w");
	fputs("{\"agentperf_profile\":1,\n\"kind\":\"local\",\n\"name\":\"caf\xe9\"}\n", f);
	fclose(f);
	char *extra[] = { "-w", wl, "-b", "openai:url=http://127.0.0.1:9/v1", "--profile", path, NULL };
	expect_refused("profile-utf8", "utf8.json:3|UTF-8", extra);
}

static void test_bad_options(void **state)
{
	(void)state;
	char wl[300];
	snprintf(wl, sizeof(wl), "%s/ok.jsonl", dir);
	FILE *f = fopen(wl, "w");
	fputs(HDR "{\"id\":\"a\",\"prompt\":\"p\"," CHK "}\n", f);
	fclose(f);
	const char *B = "openai:url=http://127.0.0.1:9/v1";
	const struct {
		const char *opt, *val, *expect;
	} cases[] = {
		{ "-r", "abc", "--repeat|abc" },
		{ "-r", "0", "--repeat" },
		{ "-r", "99999999999999999999", "--repeat" },
		{ "-c", "-1", "--concurrency" },
		{ "-c", "1e9", "--concurrency" },
		{ "--temperature", "nan", "--temperature" },
		{ "--seed", "-5", "--seed" },
		{ "--form", "bogus", "--form|bogus" },
		{ "--run-id", "../escape", "--run-id" },
		{ "--idle", "1e300", "--idle" },
		{ "-I", "0", "--interval" },
		{ "--pue", "abc", "--pue" },
		{ "--bogus-option", NULL, "unrecognized option" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *extra[] = { "-w", wl, "-b", (char *)B, (char *)cases[i].opt, (char *)cases[i].val,
				  NULL };
		expect_refused(cases[i].opt, cases[i].expect, extra);
	}
	const struct {
		const char *spec, *expect;
	} specs[] = {
		{ "nosuch:url=http://x", "unknown kind 'nosuch'" },
		{ "openai:colour=red", "unknown option 'colour'" },
		{ "openai:timeout=1e400", "timeout" },
		{ "openai:retries=-1", "retries" },
		{ "openai:max_body=99999999999999999999", "max_body" },
		{ "openai:stream=maybe", "stream" },
		{ "openai:url=ftp://example.org/v1", "url|ftp://" },
		{ "openai:url=file:///etc/passwd", "url|file://" },
		{ "openai:url=http://a/v1,url=http://b/v1", "url given twice" },
		{ "openai:insecure=maybe", "insecure" },
		{ "llama-server:threads=2", "model" },
	};
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		char *extra[] = { "-w", wl, "-b", (char *)specs[i].spec, NULL };
		expect_refused(specs[i].spec, specs[i].expect, extra);
	}
	/* A workload that does not exist, and --resume of a folder that is not a run. */
	char *extra1[] = { "-w", "/nonexistent/w.jsonl", "-b", (char *)B, NULL };
	expect_refused("missing workload", "/nonexistent/w.jsonl", extra1);
	char *extra2[] = { "--resume", dir, NULL };
	expect_refused("resume non-run", "meta.json", extra2);
	char *extra3[] = { "--resume", dir, "-w", wl, NULL };
	expect_refused("resume plus workload", "--resume", extra3);
}

/* TLS verification: on by default; insecure=1 turns it off and says so everywhere. */
static void test_tls_verify_reported(void **state)
{
	(void)state;
	struct tu_server s;
	char wl[300], res[300], out[300], err[300], spec[256], meta[400];
	snprintf(wl, sizeof(wl), "%s/tls.jsonl", dir);
	FILE *f = fopen(wl, "w");
	fputs(HDR "{\"id\":\"a\",\"prompt\":\"p\",\"check\":{\"kind\":\"contains\",\"value\":\"Paris\"}}\n", f);
	fclose(f);
	snprintf(res, sizeof(res), "%s/tls-results", dir);
	snprintf(out, sizeof(out), "%s/stdout", dir);
	snprintf(err, sizeof(err), "%s/stderr", dir);
	assert_int_equal(tu_fake_start(&s, "tests/fake/openai-basic.rules"), 0);
	for (int insecure = 0; insecure <= 1; insecure++) {
		snprintf(spec, sizeof(spec), "openai:url=http://127.0.0.1:%d/v1,stream=0%s", s.port,
			 insecure ? ",insecure=1" : "");
		char *argv[] = { (char *)tu_agentperf(), "record", "-q", "--no-energy", "-w", wl, "-b",
				 spec, "-o", res, "--run-id", insecure ? "insecure" : "secure", NULL };
		assert_int_equal(tu_run(argv, out, err), 0);
		char *o = tu_slurp(out), *e = tu_slurp(err);
		snprintf(meta, sizeof(meta), "%s/%s/meta.json", res, insecure ? "insecure" : "secure");
		char *m = tu_slurp(meta);
		assert_non_null(m);
		if (insecure) {
			assert_non_null(strstr(e, "TLS verification is OFF"));
			assert_non_null(strstr(o, "TLS VERIFICATION OFF"));
			assert_non_null(strstr(m, "\"tls_verify\":\tfalse"));
		} else {
			assert_null(strstr(e, "TLS"));
			assert_null(strstr(o, "TLS VERIFICATION OFF"));
			assert_non_null(strstr(m, "\"tls_verify\":\ttrue"));
		}
		free(o);
		free(e);
		free(m);
	}
	tu_fake_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_workloads),
		cmocka_unit_test(test_huge_workload_line),
		cmocka_unit_test(test_bad_profiles),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_tls_verify_reported),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
