/*
 * A run against a real llama.cpp llama-server with a tiny real model from
 * ../shared/models/. Skips, with the reason, where either is missing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "testutil.h"

static char server[1024], model[1024];
static pid_t server_pid;
static int port;

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || getsockname(fd, (struct sockaddr *)&a, &l)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(a.sin_port);
}

static int healthy(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return 0;
	}
	const char req[] = "GET /health HTTP/1.0\r\n\r\n";
	char buf[256] = "";
	ssize_t n = write(fd, req, sizeof(req) - 1) > 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	close(fd);
	return n > 12 && strstr(buf, " 200 ");
}

static int setup(void **state)
{
	(void)state;
	const char *s = getenv("LLAMA_SERVER");
	const char *m = getenv("AGENTPERF_TEST_MODEL");
	snprintf(server, sizeof(server), "%s", s ? s : "");
	snprintf(model, sizeof(model), "%s", m && *m ? m : "../shared/models/stories260K.gguf");
	if (!*server || access(server, X_OK) || access(model, R_OK))
		return 0; /* the tests skip with the reason */
	port = free_port();
	char portstr[16];
	snprintf(portstr, sizeof(portstr), "%d", port);
	server_pid = fork();
	if (server_pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		/* An argument vector, never a shell. */
		execl(server, server, "-m", model, "--host", "127.0.0.1", "--port", portstr, "-c", "2048",
		      "-t", "1", "-np", "1", "--no-webui", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 600 && !healthy(); i++) {
		struct timespec ts = { 0, 100000000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
	}
	return 0;
}

static bool available(void)
{
	if (!*server) {
		printf("SKIPPED: LLAMA_SERVER is not set (make test builds it with "
		       "scripts/build-llama-server.sh; that needs the npm registry)\n");
		return false;
	}
	if (access(model, R_OK)) {
		printf("SKIPPED: no test model at %s (../shared/models is absent here)\n", model);
		return false;
	}
	return true;
}

static void test_real_llama_server_run(void **state)
{
	(void)state;
	if (!available()) {
		skip();
		return;
	}
	assert_true(healthy());
	char *dir = tu_tmpdir();
	char spec[256], pid[16], out[400], err[400], res[400], p[600];
	snprintf(spec, sizeof(spec), "openai:url=http://127.0.0.1:%d/v1,model=stories260K,stream=1", port);
	snprintf(pid, sizeof(pid), "%d", (int)server_pid);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	snprintf(res, sizeof(res), "%s/results", dir);
	char *argv[] = { (char *)tu_agentperf(), "record", "-q", "-w", "workloads/smoke.jsonl", "-b", spec,
			 "-r", "2", "--seed", "7", "--temperature", "0", "--watch-pid", pid, "--idle",
			 "0.5", "-o", res, "--run-id", "llama", "--form", "both", NULL };
	int rc = tu_run(argv, out, err);
	char *o = tu_slurp(out), *e = tu_slurp(err);
	if (rc)
		fprintf(stderr, "stdout:\n%s\nstderr:\n%s\n", o, e);
	assert_int_equal(rc, 0);
	printf("%s", o);
	/* Real tokens from a real server, on every call. */
	snprintf(p, sizeof(p), "%s/llama/calls.csv", res);
	char *calls = tu_slurp(p);
	assert_non_null(calls);
	assert_int_equal(tu_count(calls, ",ok,"), tu_count(calls, "\n") - 1);
	/* llama-server closes the connection after each stream without saying so;
	 * a request sent on it as it closes is sent again on a new connection, not
	 * counted as a transport retry (before: 1-3 per run of this workload). */
	assert_int_equal(tu_count(calls, "recovered by transport retries"), 0);
	assert_int_equal(tu_count(calls, ",0,0,0,1,200,"), 0); /* no call without tokens */
	/* The report names the run and a CPU-time figure for the server. */
	assert_non_null(strstr(o, "tasks"));
	assert_non_null(strstr(o, "cpu-time-model-server"));
	assert_non_null(strstr(o, "estimated") ? strstr(o, "estimated") : strstr(o, "measured"));
	/* Temperature 0 and a fixed seed: both repeats produce the same token counts. */
	snprintf(p, sizeof(p), "%s/llama/tasks.csv", res);
	char *tasks = tu_slurp(p);
	assert_non_null(tasks);
	char r1[8192] = "", r2[8192] = "";
	for (char *line = strchr(tasks, '\n') + 1; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		int v, rep;
		long seq;
		char id[128], rest[512];
		if (sscanf(line, "%d,%d,%ld,%127[^,],%511[^\n]", &v, &rep, &seq, id, rest) != 5)
			continue;
		/* Keep id, form and token columns; drop times and energy. */
		char *f = rest;
		int col = 0;
		char keep[512] = "";
		for (char *tok = strsep(&f, ","); tok; tok = strsep(&f, ","), col++)
			if (col == 1 || col == 7 || col == 8) { /* form, prompt and completion tokens: cached counts differ once the server cache is warm */
				strncat(keep, tok, sizeof(keep) - strlen(keep) - 2);
				strcat(keep, ",");
			}
		char *dst = rep == 1 ? r1 : r2;
		strncat(dst, id, 8191 - strlen(dst));
		strncat(dst, ":", 8191 - strlen(dst));
		strncat(dst, keep, 8191 - strlen(dst));
		strncat(dst, "\n", 8191 - strlen(dst));
	}
	assert_true(strlen(r1) > 0);
	assert_string_equal(r1, r2);
	free(tasks);
	free(calls);
	free(o);
	free(e);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_llama_server_run),
	};
	return cmocka_run_group_tests_name("real llama-server", tests, setup, teardown);
}
