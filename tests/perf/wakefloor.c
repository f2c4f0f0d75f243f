/*
 * `make perf` section 4's floor: what one streamed token costs a client on
 * this machine before any HTTP or parsing. A writer process sends one
 * SSE-sized message every GAP_US over TCP loopback (TCP_NODELAY), as
 * llama-server sends a token; the reader sleeps in epoll_wait, reads it with
 * recv and, as libcurl 7.88 does after every read, asks poll() whether more
 * is pending. Prints the reader's CPU time (getrusage, user + sys) per
 * wake-up: agentperf's CPU per token cannot go below it, and on a VM, where
 * each sleep and wake-up costs exits to the hypervisor, it is most of it.
 *
 *   wakefloor [MESSAGES [GAP_US]]     (default 5000 messages, 400 us apart)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double cpu_us(const struct rusage *r)
{
	return (double)(r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1e6 +
	       (double)(r->ru_utime.tv_usec + r->ru_stime.tv_usec);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 5000, gap = argc > 2 ? atoi(argv[2]) : 400;
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0), rd, wr;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (n <= 0 || gap < 0 || lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lfd, 1) || getsockname(lfd, (struct sockaddr *)&a, &al) ||
	    (rd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(rd, (struct sockaddr *)&a, sizeof(a)) || (wr = accept(lfd, NULL, NULL)) < 0) {
		perror("wakefloor: loopback socket pair");
		return 1;
	}
	setsockopt(wr, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* the size of a llama-server content chunk */
	char msg[300];
	memset(msg, 'x', sizeof(msg));
	pid_t w = fork();
	if (w < 0) {
		perror("wakefloor: fork");
		return 1;
	}
	if (!w) {
		struct timespec ts = { 0, gap * 1000L };
		for (int i = 0; i < n; i++) {
			nanosleep(&ts, NULL);
			if (write(wr, msg, sizeof(msg)) != (ssize_t)sizeof(msg))
				_exit(1);
		}
		_exit(0);
	}
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = rd };
	epoll_ctl(ep, EPOLL_CTL_ADD, rd, &ev);
	struct rusage r0, r1;
	getrusage(RUSAGE_SELF, &r0);
	char buf[16384];
	long got = 0, wakes = 0;
	while (got < (long)n * (long)sizeof(msg)) {
		struct epoll_event e;
		if (epoll_wait(ep, &e, 1, -1) != 1)
			continue;
		wakes++;
		ssize_t k = recv(rd, buf, sizeof(buf), 0);
		if (k <= 0)
			break;
		got += k;
		struct pollfd p = { rd, POLLIN, 0 };
		poll(&p, 1, 0);
	}
	getrusage(RUSAGE_SELF, &r1);
	waitpid(w, NULL, 0);
	printf("%.1f us CPU per wake-up (%ld wake-ups for %d messages %d us apart)\n",
	       wakes ? (cpu_us(&r1) - cpu_us(&r0)) / (double)wakes : 0.0, wakes, n, gap);
	return 0;
}
