/*
 * Helpers for tests that drive the real agentperf binary against the
 * loopback fake server or a real llama-server: start a server, run a
 * command, read what it wrote.
 */
#ifndef AP_TESTUTIL_H
#define AP_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline const char *tu_build(void)
{
	const char *b = getenv("BUILD");
	return b && *b ? b : "build";
}

static inline const char *tu_agentperf(void)
{
	const char *a = getenv("AGENTPERF");
	return a && *a ? a : "./agentperf";
}

static inline char *tu_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	if (s)
		s[n] = '\0';
	fclose(f);
	return s;
}

static inline int tu_count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The value on the report line for event name (perf-style "value [unit] name"), or NAN. */
static inline double tu_report_value(const char *report, const char *name)
{
	for (const char *l = report; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char a[64], b[64], c[64];
		int n = sscanf(l, "%63s %63s %63s", a, b, c);
		if ((n >= 2 && !strcmp(b, name)) || (n >= 3 && !strcmp(c, name)))
			return strtod(a, NULL);
	}
	return 0.0 / 0.0;
}

/* A temporary folder for one test. */
static inline char *tu_tmpdir(void)
{
	char *d = strdup("/tmp/agentperf-test-XXXXXX");
	return mkdtemp(d) ? d : NULL;
}

static inline void tu_rmrf(const char *dir)
{
	pid_t p = fork();
	if (p == 0) {
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
		_exit(127);
	}
	if (p > 0)
		waitpid(p, NULL, 0);
}

struct tu_server {
	pid_t pid;
	int port;
	char dir[256];
	char log[300];
};

/*
 * Starts tests/fakeserver with a rules file on port (0: any free one);
 * returns 0 or -1. With restart, s->dir is kept from the last start (its
 * port file and log stay there) and the server's stderr is silenced.
 * --max-seconds only reaps a server a crashed test left behind: it is long
 * enough for the slowest user (test_bench's llama-server run before its
 * remote calls, several minutes on a loaded 2-core machine or under valgrind).
 */
static inline int tu_fake_start_on(struct tu_server *s, const char *rules, int port, bool restart)
{
	char exe[512], portfile[300], portstr[16];
	if (!restart) {
		char *d = tu_tmpdir();
		if (!d)
			return -1;
		snprintf(s->dir, sizeof(s->dir), "%s", d);
		free(d);
	}
	snprintf(exe, sizeof(exe), "%s/tests/fakeserver", tu_build());
	snprintf(portfile, sizeof(portfile), "%s/port", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/log", s->dir);
	snprintf(portstr, sizeof(portstr), "%d", port);
	unlink(portfile);
	pid_t parent = getpid();
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		/* A test that fails an assertion exits without stopping its server:
		 * the server goes with it rather than holding the test's output
		 * pipe (and CI) open until --max-seconds. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		if (restart)
			dup2(null, 2);
		execl(exe, exe, "--script", rules, "--port", portstr, "--port-file", portfile, "--log",
		      s->log, "--max-seconds", "900", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen(portfile, "r");
		if (f) {
			int ok = fscanf(f, "%d", &s->port) == 1;
			fclose(f);
			if (ok)
				return 0;
		}
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
	return -1;
}

static inline int tu_fake_start(struct tu_server *s, const char *rules)
{
	return tu_fake_start_on(s, rules, 0, false);
}

static inline void tu_fake_stop(struct tu_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	tu_rmrf(s->dir);
}

/*
 * Runs argv (argv[0] is looked up as given), stdout to out_path, stderr to
 * err_path (either may be NULL). Returns the exit status, or 128+signal.
 */
static inline int tu_run(char *const argv[], const char *out_path, const char *err_path)
{
	pid_t p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		if (out_path) {
			int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			dup2(fd, 1);
		}
		if (err_path) {
			int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#endif
