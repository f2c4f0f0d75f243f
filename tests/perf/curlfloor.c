/*
 * `make perf` section 1's floor: what libcurl's multi interface alone costs
 * per call on this machine, before agentperf does anything of its own.
 * libcurl's plain multi-socket loop (curl_multi_socket_action on epoll, one
 * thread: harness/run/loop.c's, without its parked sockets, so this floor
 * makes one epoll_ctl a call more; a copy on purpose, so that no agentperf
 * code is in it), the same transfer options as harness/run/http.c (a parsed URL
 * handle, agentperf's headers, no signal, TCP_NODELAY, no proxy lookup), the
 * same body posted N times with C in flight; replies are counted and dropped.
 * No workload, no episode, no parsing, no results. A try that got nothing
 * back on a reused connection (the server closed it while idle: llama-server
 * does after every stream) goes again at once on a new one, as agentperf's
 * stale keep-alive reconnect does (harness/run/http.c), so that section 4 of
 * make perf can set this floor beside agentperf against llama-server. Prints
 *
 *   curlfloor calls=N failed=F seconds=S cpu_s=C reconnects=R
 *
 * (S: first add to last completion, as agentperf's "seconds time elapsed";
 * C: user + sys of the process, getrusage). agentperf at concurrency C can be
 * no faster than this, and the distance between the two is agentperf's own.
 *
 *   curlfloor URL BODY_FILE CALLS CONCURRENCY
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

struct floor {
	CURLM *multi;
	int epfd;
	long timeout_ms; /* curl's timer: -1 none */
	long started, done, failed, total, reconnects;
};

static int on_socket(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp)
{
	(void)e;
	struct floor *f = ud;
	struct epoll_event ev = { .data.fd = fd };
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(f->epfd, EPOLL_CTL_DEL, fd, NULL);
		curl_multi_assign(f->multi, fd, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (sockp) {
		epoll_ctl(f->epfd, EPOLL_CTL_MOD, fd, &ev);
	} else {
		if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev) && errno == EEXIST)
			epoll_ctl(f->epfd, EPOLL_CTL_MOD, fd, &ev);
		curl_multi_assign(f->multi, fd, f);
	}
	return 0;
}

static int on_timer(CURLM *m, long ms, void *ud)
{
	(void)m;
	((struct floor *)ud)->timeout_ms = ms;
	return 0;
}

static size_t on_body(char *p, size_t s, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return s * n;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: curlfloor URL BODY_FILE CALLS CONCURRENCY\n");
		return 2;
	}
	struct floor f = { .timeout_ms = -1, .total = atol(argv[3]) };
	int conc = atoi(argv[4]);
	static char body[65536];
	FILE *bf = fopen(argv[2], "rb");
	size_t blen = bf ? fread(body, 1, sizeof(body) - 1, bf) : 0;
	if (bf)
		fclose(bf);
	if (!blen || f.total <= 0 || conc <= 0) {
		fprintf(stderr, "curlfloor: no body in %s, or bad CALLS/CONCURRENCY\n", argv[2]);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* harness/run/http.c's header list (the backend adds Content-Type) */
	struct curl_slist *h = NULL;
	h = curl_slist_append(h, "Expect:");
	h = curl_slist_append(h, "Accept:");
	h = curl_slist_append(h, "User-Agent: agentperf/0.1.0");
	h = curl_slist_append(h, "Content-Type: application/json");
	f.multi = curl_multi_init();
	f.epfd = epoll_create1(EPOLL_CLOEXEC);
	curl_multi_setopt(f.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(f.multi, CURLMOPT_SOCKETDATA, &f);
	curl_multi_setopt(f.multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(f.multi, CURLMOPT_TIMERDATA, &f);
	curl_multi_setopt(f.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conc);
	curl_multi_setopt(f.multi, CURLMOPT_MAXCONNECTS, (long)conc);
	CURL **easy = calloc((size_t)conc, sizeof(*easy));
	CURLU *u = curl_url();
	if (!easy || !u || !h || f.epfd < 0 || curl_url_set(u, CURLUPART_URL, argv[1], 0)) {
		fprintf(stderr, "curlfloor: setup failed (URL %s)\n", argv[1]);
		return 1;
	}
	double t0 = now_s(), t_end = t0;
	for (int i = 0; i < conc && f.started < f.total; i++) {
		CURL *e = easy[i] = curl_easy_init();
		curl_easy_setopt(e, CURLOPT_CURLU, u);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(e, CURLOPT_NOPROGRESS, 1L);
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 600000L);
		curl_easy_setopt(e, CURLOPT_PROXY, "");
		curl_easy_setopt(e, CURLOPT_NOPROXY, "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)blen);
		curl_multi_add_handle(f.multi, e);
		f.started++;
	}
	int running = 0;
	curl_multi_socket_action(f.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	while (f.done < f.total) {
		struct epoll_event evs[64];
		int n = epoll_wait(f.epfd, evs, 64, f.timeout_ms < 0 ? 1000 : (int)f.timeout_ms);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			int what = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
				   (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
				   (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
			curl_multi_socket_action(f.multi, evs[i].data.fd, what, &running);
		}
		if (n <= 0)
			curl_multi_socket_action(f.multi, CURL_SOCKET_TIMEOUT, 0, &running);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(f.multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			CURL *e = m->easy_handle;
			CURLcode cc = m->data.result;
			long code = 0, connects = 1;
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
			curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &connects);
			curl_multi_remove_handle(f.multi, e);
			if ((cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING) &&
			    !connects && !code) {
				/* the same call again, on a new connection */
				f.reconnects++;
				curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
				curl_multi_add_handle(f.multi, e);
				continue;
			}
			curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 0L);
			f.done++;
			if (cc != CURLE_OK || code != 200)
				f.failed++;
			if (f.started < f.total) {
				curl_multi_add_handle(f.multi, e);
				f.started++;
			}
		}
		if (f.done == f.total)
			t_end = now_s();
		else if (f.started == f.done && f.started < f.total)
			break; /* nothing in flight: cannot happen unless adds failed */
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	printf("curlfloor calls=%ld failed=%ld seconds=%.6f cpu_s=%.3f reconnects=%ld\n", f.done,
	       f.failed, t_end - t0, cpu, f.reconnects);
	for (int i = 0; i < conc; i++) {
		if (easy[i]) {
			curl_multi_remove_handle(f.multi, easy[i]);
			curl_easy_cleanup(easy[i]);
		}
	}
	curl_multi_cleanup(f.multi);
	curl_url_cleanup(u);
	curl_slist_free_all(h);
	free(easy);
	curl_global_cleanup();
	return f.done == f.total && !f.failed ? 0 : 1;
}
