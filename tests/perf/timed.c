/*
 * `make perf`'s stopwatch: runs a command and writes its wall time, user and
 * system CPU seconds and peak RSS, from wait4's rusage of the child, to a
 * file. As /usr/bin/time -f '%e %U %S %M' -o FILE, but to the microsecond:
 * GNU time prints CPU seconds with two decimals, so a sum of user and system
 * time carries up to 10 ms of rounding, 7 % of the 0.15 s a llama-server
 * section run costs the client.
 *
 *   timed OUTFILE COMMAND [ARG...]     (exit status: the command's; 128+N
 *                                       if signal N ended it)
 *
 * OUTFILE gets one line: "WALL_S USER_S SYS_S MAXRSS_KB".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double tv_s(struct timeval t)
{
	return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: timed OUTFILE COMMAND [ARG...]\n");
		return 2;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t p = fork();
	if (p < 0) {
		perror("timed: fork");
		return 2;
	}
	if (p == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "timed: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	int st = 0;
	struct rusage ru;
	while (wait4(p, &st, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("timed: wait4");
			return 2;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	FILE *f = fopen(argv[1], "w");
	if (!f) {
		fprintf(stderr, "timed: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	fprintf(f, "%.6f %.6f %.6f %ld\n",
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		tv_s(ru.ru_utime), tv_s(ru.ru_stime), ru.ru_maxrss);
	if (fclose(f)) {
		perror("timed: write");
		return 2;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
