/*
 * Helpers for the fault, interruption and resume tests (test_faults.c,
 * test_resume.c, test_badinput.c): agentperf in the background with its
 * rusage, the fake server on a chosen port (restarts), workloads written on
 * the fly, and small readers for calls.csv / tasks.csv.
 */
#ifndef AP_RUNUTIL_H
#define AP_RUNUTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "testutil.h"

/* A loopback port nothing listens on right now (bound, then released). */
static inline int ru_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &l)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(a.sin_port);
}

static inline void ru_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Writes a native workload: a header line, then one task per prompt. */
static inline int ru_workload(const char *path, const char *name, const char *const prompts[],
			      int n, int max_attempts)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f,
		"{\"agentperf_workload\":1,\"name\":\"%s\",\"version\":\"1\",\"source\":\"written by "
		"agentperf's tests\",\"license\":\"CC0-1.0\",\"defaults\":{\"max_attempts\":%d,"
		"\"max_steps\":1}}\n",
		name, max_attempts);
	for (int i = 0; i < n; i++)
		fprintf(f,
			"{\"id\":\"t%02d\",\"category\":\"c\",\"prompt\":\"%s\",\"check\":{\"kind\":"
			"\"contains\",\"value\":\"Paris\"}}\n",
			i, prompts[i]);
	return fclose(f) ? -1 : 0;
}

/* agentperf in the background: stdout and stderr to files. Returns the pid. */
static inline pid_t ru_spawn(char *const argv[], const char *out_path, const char *err_path)
{
	pid_t p = fork();
	if (p == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	return p;
}

/* Waits for pid; the exit status (128+signal when killed) and its max RSS in KiB. */
static inline int ru_wait(pid_t pid, long *maxrss_kb)
{
	int st;
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	if (wait4(pid, &st, 0, &ru) != pid)
		return -1;
	if (maxrss_kb)
		*maxrss_kb = ru.ru_maxrss;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Field i (0-based) of a CSV line of our own writer, unquoted; "" past the end. */
static inline void ru_field(const char *line, int idx, char *out, size_t n)
{
	const char *p = line;
	size_t w = 0;
	for (int i = 0; *p && *p != '\n'; i++) {
		bool q = *p == '"';
		if (q)
			p++;
		while (*p && *p != '\n') {
			if (q && *p == '"' && p[1] == '"')
				p++;
			else if (q && *p == '"') {
				p++;
				q = false;
				continue;
			} else if (!q && *p == ',')
				break;
			if (i == idx && w + 1 < n)
				out[w++] = *p;
			p++;
		}
		if (i == idx)
			break;
		if (*p == ',')
			p++;
		else
			break;
	}
	out[w] = '\0';
}

/* Column index of name in the header line of a CSV text, or -1. */
static inline int ru_col(const char *csv, const char *name)
{
	char f[64];
	for (int i = 0; i < 64; i++) {
		ru_field(csv, i, f, sizeof(f));
		if (!*f)
			return -1;
		if (!strcmp(f, name))
			return i;
	}
	return -1;
}

/* Rows (after the header) whose column col equals value; value NULL counts all rows. */
static inline int ru_rows(const char *csv, const char *col, const char *value)
{
	int ci = col ? ru_col(csv, col) : -1, n = 0;
	const char *l = strchr(csv, '\n');
	for (l = l ? l + 1 : NULL; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char f[256];
		if (value) {
			ru_field(l, ci, f, sizeof(f));
			if (strcmp(f, value))
				continue;
		}
		n++;
	}
	return n;
}

/* The value of column col in the first row whose column keycol is key, into out. */
static inline bool ru_get_by(const char *csv, const char *keycol, const char *id, const char *col,
			     char *out, size_t n)
{
	int ti = ru_col(csv, keycol), ci = ru_col(csv, col);
	const char *l = strchr(csv, '\n');
	out[0] = '\0';
	for (l = l ? l + 1 : NULL; l && *l && ci >= 0; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char f[128];
		ru_field(l, ti, f, sizeof(f));
		if (!strcmp(f, id)) {
			ru_field(l, ci, out, n);
			return true;
		}
	}
	return false;
}

/* The value of column col in the row whose task_id is id (first one), into out. */
static inline bool ru_get(const char *csv, const char *id, const char *col, char *out, size_t n)
{
	return ru_get_by(csv, "task_id", id, col, out, n);
}

#endif
