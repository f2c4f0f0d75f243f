/*
 * A real agent no one here wrote (issue 17): tests/agent/agent.mjs, a small
 * tool-using agent on the OpenAI Agents SDK for JavaScript (@openai/agents,
 * pinned in tests/agent/package.json, installed by `npm ci` there), runs
 * through `agentperf proxy` with the fake server as its large model, once not
 * streamed and once streamed. The capture is then replayed on a real
 * llama-server with the tiny test model, and the report must show two kinds
 * of call with agreement near zero (the tiny model cannot call tools or say
 * the weather), and a planted key nowhere but in the fake server's log.
 * Skips, with the reason, without node, the SDK, llama-server or a model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "runutil.h"

#define KEY "sk-planted-agent-4c1d9e07b2aa"

static char server[1024], model[1024];
/* Stopped by the teardown too, so a failed assertion leaves nothing running. */
static struct tu_server fs;
static pid_t proxy;

static int teardown(void **state)
{
	(void)state;
	if (proxy > 0) {
		kill(proxy, SIGKILL);
		waitpid(proxy, NULL, 0);
	}
	tu_fake_stop(&fs);
	return 0;
}

static bool have_node(void)
{
	char *argv[] = { "/usr/bin/env", "node", "--version", NULL };
	return tu_run(argv, "/dev/null", "/dev/null") == 0;
}

static bool available(void)
{
	if (!have_node()) {
		printf("SKIPPED: no node on PATH (Debian: apt-get install nodejs npm)\n");
		return false;
	}
	if (access("tests/agent/node_modules/@openai/agents/package.json", R_OK)) {
		printf("SKIPPED: the Agents SDK is not installed: run 'npm ci' in tests/agent "
		       "(.ci/run does)\n");
		return false;
	}
	const char *s = getenv("LLAMA_SERVER");
	snprintf(server, sizeof(server), "%s", s ? s : "");
	if (!*server || access(server, X_OK)) {
		printf("SKIPPED: LLAMA_SERVER is not set (make test builds it with "
		       "scripts/build-llama-server.sh)\n");
		return false;
	}
	const char *m = getenv("AGENTPERF_TEST_MODEL");
	const char *cands[] = { m && *m ? m : NULL, "../shared/models/stories260K.gguf",
				"models/agentperf-tiny-random.gguf" };
	for (size_t i = 0; i < 3; i++)
		if (cands[i] && !access(cands[i], R_OK)) {
			snprintf(model, sizeof(model), "%s", cands[i]);
			return true;
		}
	printf("SKIPPED: no test model (../shared/models is absent; 'make smoke-model' makes one)\n");
	return false;
}

static void no_key(const char *path)
{
	char *s = tu_slurp(path);
	if (s)
		assert_null(strstr(s, KEY));
	free(s);
}

static void test_real_agent_capture_replay(void **state)
{
	(void)state;
	if (!available()) {
		skip();
		return;
	}
	assert_int_equal(tu_fake_start(&fs, "tests/fake/openai-tools.rules"), 0);
	char *dir = tu_tmpdir();
	char cap[400], perr[400], pport[400], up[64], out[400], err[400];
	snprintf(cap, sizeof(cap), "%s/agent.capture.jsonl", dir);
	snprintf(perr, sizeof(perr), "%s/proxy.err", dir);
	snprintf(pport, sizeof(pport), "%s/proxy.port", dir);
	snprintf(up, sizeof(up), "http://127.0.0.1:%d/v1", fs.port);
	snprintf(out, sizeof(out), "%s/agent.out", dir);
	snprintf(err, sizeof(err), "%s/agent.err", dir);
	char *pargv[] = { (char *)tu_agentperf(), "proxy", "--listen", "127.0.0.1:0", "--upstream", up,
			  "-o", cap, "--port-file", pport, "-v", NULL };
	char pout[400];
	snprintf(pout, sizeof(pout), "%s/proxy.out", dir);
	proxy = ru_spawn(pargv, pout, perr);
	int port = 0;
	for (int i = 0; i < 1000 && !port; i++) {
		FILE *f = fopen(pport, "r");
		if (f) {
			if (fscanf(f, "%d", &port) != 1)
				port = 0;
			fclose(f);
		}
		ru_sleep_ms(5);
	}
	assert_true(port > 0);

	/* 1. the agent, unmodified, with its base URL on the proxy */
	char base[64];
	snprintf(base, sizeof(base), "http://127.0.0.1:%d/v1", port);
	setenv("OPENAI_BASE_URL", base, 1);
	setenv("OPENAI_API_KEY", KEY, 1);
	char *nargv[] = { "/usr/bin/env", "node", "tests/agent/agent.mjs", NULL };
	int rc = tu_run(nargv, out, err);
	char *ao = tu_slurp(out), *ae = tu_slurp(err);
	if (rc)
		fprintf(stderr, "agent stdout:\n%s\nagent stderr:\n%s\n", ao, ae);
	assert_int_equal(rc, 0);
	assert_int_equal(tu_count(ao, "18 degrees Celsius in Paris"), 2);
	free(ao);
	free(ae);
	unsetenv("OPENAI_API_KEY");
	kill(proxy, SIGINT);
	rc = ru_wait(proxy, NULL);
	proxy = 0;
	assert_int_equal(rc, 0);

	/* the capture: 2 runs x (tool call, final answer), streamed and not, the SDK's settings kept */
	char *c = tu_slurp(cap);
	assert_non_null(c);
	assert_int_equal(tu_count(c, "\n"), 4);
	assert_int_equal(tu_count(c, "\"status\":\"ok\""), 4);
	assert_int_equal(tu_count(c, "\"stream\":true,\"http_status\""), 2);
	/* the replies' tool calls (the requests' history holds them too, as "function":{...}) */
	assert_int_equal(tu_count(c, "\",\"name\":\"get_weather\",\"arguments\""), 2);
	assert_int_equal(tu_count(c, "\"max_tokens\":48"), 4);
	free(c);
	char *flog = tu_slurp(fs.log);
	assert_int_equal(tu_count(flog, "Bearer " KEY), 4); /* it went upstream */
	free(flog);
	tu_fake_stop(&fs);

	/* 2. replay on a real llama-server with the tiny model */
	char w[420], b[2200], res[400];
	snprintf(w, sizeof(w), "capture:%s", cap);
	snprintf(b, sizeof(b), "llama-server:model=%s,bin=%s,threads=1,ctx=2048", model, server);
	snprintf(res, sizeof(res), "%s/results", dir);
	char rout[400], rerr[400];
	snprintf(rout, sizeof(rout), "%s/record.out", dir);
	snprintf(rerr, sizeof(rerr), "%s/record.err", dir);
	char *rargv[] = { (char *)tu_agentperf(), "record", "-q", "-w", w, "-b", b, "--idle", "0",
			  "-o", res, "--run-id", "tiny", NULL };
	rc = tu_run(rargv, rout, rerr);
	if (rc) {
		char *e = tu_slurp(rerr);
		fprintf(stderr, "record stderr:\n%s\n", e);
		free(e);
	}
	assert_int_equal(rc, 0);

	/* 3. the report, by kind */
	char run[420], csvdir[420], kinds[440], rep[420];
	snprintf(run, sizeof(run), "%s/tiny", res);
	snprintf(csvdir, sizeof(csvdir), "%s/csv", dir);
	snprintf(kinds, sizeof(kinds), "%s/kinds.csv", csvdir);
	snprintf(rep, sizeof(rep), "%s/report.txt", dir);
	char *qargv[] = { (char *)tu_agentperf(), "report", run, "--agree", "0.9",
			  "--capture-profile", "gpt-4o", "--csv", csvdir, NULL };
	assert_int_equal(tu_run(qargv, rep, "/dev/null"), 0);
	char *r = tu_slurp(rep);
	printf("%s", strstr(r, "kinds of call") ? strstr(r, "kinds of call") - 4 : r);
	assert_non_null(strstr(r, "captured: 4 calls"));
	assert_non_null(strstr(r, "tool:get_weather"));
	assert_non_null(strstr(r, "text:You are a weather assistant."));
	assert_non_null(strstr(r, "MetaGPT ~60 %"));
	/* the tiny model agrees with none (near zero: at most one reply by chance) */
	char *k = tu_slurp(kinds);
	assert_non_null(k);
	assert_int_equal(tu_count(k, "\n"), 3);
	long agreed = 0, replayed = 0;
	for (char *l = strchr(k, '\n') + 1; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char f[64];
		ru_field(l, 9, f, sizeof(f));
		replayed += atol(f);
		ru_field(l, 10, f, sizeof(f));
		agreed += atol(f);
	}
	assert_int_equal(replayed, 4);
	assert_true(agreed <= 1);
	assert_non_null(strstr(r, agreed ? "of calls" : "0.0 %  of calls"));
	free(k);
	free(r);
	/* the planted key: nowhere agentperf wrote */
	no_key(cap);
	no_key(perr);
	no_key(rout);
	no_key(rerr);
	no_key(rep);
	char p[600];
	const char *files[] = { "meta.json", "calls.csv", "attempts.csv", "tasks.csv", "report.txt" };
	for (size_t i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "%s/%s", run, files[i]);
		no_key(p);
	}
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_real_agent_capture_replay, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
