/*
 * The event loop (loop.h): curl_multi_socket_action on epoll, an eventfd for
 * wake-ups from other threads, and a binary heap of timers (transport-retry
 * waits, delayed starts). Every episode lives in a slot until it is done.
 */
#include "loop.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

enum slot_state { SLOT_FREE, SLOT_XFER, SLOT_WAIT, SLOT_START };

struct slot {
	struct episode *e;
	void *user;
	struct http_xfer *x;   /* made on first use, kept for the slot's next episodes */
	uint64_t key;          /* energy key of the call in flight */
	uint64_t wake_ns;      /* SLOT_WAIT / SLOT_START */
	int heap_idx;          /* -1: not in the heap */
	enum slot_state state;
};

struct loop {
	const struct backend *be;
	const struct loop_pass *p;
	CURLM *multi;
	struct curl_slist *headers;
	int epfd, evfd;
	uint64_t curl_deadline;  /* curl's timer, absolute; 0: none */
	unsigned char *sock;     /* [fd]: what epoll holds for it, SOCK_* (see on_socket) */
	int n_sock;              /* the array's length */
	struct slot *slots;
	int cap, live;
	int *free_idx, n_free;   /* stack of free slot indexes */
	int *heap, n_heap;       /* slot indexes by wake_ns */
	bool more;               /* the source may have more */
	bool keep_parked;        /* a parked socket asked for as it is held needs no MOD (on_socket) */
	bool interrupted;
};

/* ---- timers ---- */

static bool heap_less(struct loop *l, int a, int b)
{
	return l->slots[l->heap[a]].wake_ns < l->slots[l->heap[b]].wake_ns;
}

static void heap_swap(struct loop *l, int a, int b)
{
	int t = l->heap[a];
	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->slots[l->heap[a]].heap_idx = a;
	l->slots[l->heap[b]].heap_idx = b;
}

static void heap_up(struct loop *l, int i)
{
	while (i > 0 && heap_less(l, i, (i - 1) / 2)) {
		heap_swap(l, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct loop *l, int i)
{
	for (;;) {
		int m = i, a = 2 * i + 1, b = a + 1;
		if (a < l->n_heap && heap_less(l, a, m))
			m = a;
		if (b < l->n_heap && heap_less(l, b, m))
			m = b;
		if (m == i)
			return;
		heap_swap(l, i, m);
		i = m;
	}
}

static void heap_push(struct loop *l, int si, uint64_t when)
{
	l->slots[si].wake_ns = when;
	l->slots[si].heap_idx = l->n_heap;
	l->heap[l->n_heap++] = si;
	heap_up(l, l->n_heap - 1);
}

static void heap_remove(struct loop *l, int si)
{
	int i = l->slots[si].heap_idx;
	if (i < 0)
		return;
	l->slots[si].heap_idx = -1;
	if (i != --l->n_heap) {
		l->heap[i] = l->heap[l->n_heap];
		l->slots[l->heap[i]].heap_idx = i;
		heap_down(l, i);
		heap_up(l, i);
	}
}

/* ---- curl's callbacks ---- */

/*
 * The sockets' bookkeeping: for each fd curl gave the loop, the events epoll
 * holds for it (EPOLLIN and EPOLLOUT fit in the low bits), whether it is a
 * TCP socket (SOCK_TCP: AF_INET or AF_INET6, asked once when it is ADDed)
 * and whether it is parked (SOCK_PARKED: curl REMOVEd it, epoll still has it).
 */
#define SOCK_PARKED 0x80u
#define SOCK_TCP 0x40u
#define SOCK_EVENTS (EPOLLIN | EPOLLOUT)

/* fd's entry; 0 (nothing known) past the array's end. */
static unsigned char sock_of(const struct loop *l, int fd)
{
	return fd >= 0 && fd < l->n_sock ? l->sock[fd] : 0;
}

static bool is_parked(const struct loop *l, int fd)
{
	return sock_of(l, fd) & SOCK_PARKED;
}

/* fd's entry, the array grown to hold it; NULL when it cannot grow. */
static unsigned char *sock_at(struct loop *l, int fd)
{
	if (fd < 0)
		return NULL;
	if (fd >= l->n_sock) {
		int n = l->n_sock ? l->n_sock : 64;
		while (n <= fd)
			n *= 2;
		unsigned char *p = realloc(l->sock, (size_t)n);
		if (!p)
			return NULL;
		memset(p + l->n_sock, 0, (size_t)(n - l->n_sock));
		l->sock = p;
		l->n_sock = n;
	}
	return &l->sock[fd];
}

/* One getsockopt: curl's own socketpairs (the threaded resolver's) are AF_UNIX. */
static bool is_tcp(int fd)
{
	int dom = 0;
	socklen_t len = sizeof(dom);
	return !getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) &&
	       (dom == AF_INET || dom == AF_INET6);
}

/*
 * epoll_ctl, and the entry kept in step with what epoll now holds: an ADD
 * (a socket epoll did not have under that number), or a MOD of one the loop
 * knew nothing of (the MOD after an ADD that met EEXIST), asks what it is;
 * any other MOD keeps what was known of the socket epoll has.
 */
static int sock_ctl(struct loop *l, int op, int fd, struct epoll_event *ev)
{
	int rc = epoll_ctl(l->epfd, op, fd, ev);
	int err = errno;
	bool held = !rc && op != EPOLL_CTL_DEL;
	unsigned char *e = held ? sock_at(l, fd) : fd >= 0 && fd < l->n_sock ? &l->sock[fd] : NULL;
	if (e && held) {
		bool ask = op == EPOLL_CTL_ADD || !(*e & SOCK_EVENTS);
		unsigned char tcp = ask ? (is_tcp(fd) ? SOCK_TCP : 0) : *e & SOCK_TCP;
		*e = (unsigned char)(tcp | (ev->events & SOCK_EVENTS));
	} else if (e) {
		*e = 0;
	}
	errno = err;
	return rc;
}

/*
 * curl closes a socket (CURLOPT_CLOSESOCKETFUNCTION of every transfer, its
 * data the loop, which outlives the multi handle's connections): the loop
 * forgets it before the close lets its number be reused, and epoll forgets
 * it with the close.
 */
static int on_closesocket(void *ud, curl_socket_t fd)
{
	struct loop *l = ud;
	if (sock_of(l, fd))
		l->sock[fd] = 0;
	return close(fd);
}

/*
 * curl's wishes for a socket, kept in epoll. A keep-alive connection is
 * REMOVEd when its transfer ends and ADDed again when the next one reuses it:
 * two epoll_ctl calls a call. So a REMOVE only parks the socket (left in
 * epoll, marked here), and the next ADD of that number asks epoll again only
 * for what it does not already hold: a socket parked while reading and asked
 * to read again (the reused connection's next response) costs no syscall at
 * all; otherwise it is one MOD. A parked number can meanwhile have been
 * closed (epoll forgets a closed socket) and reused by a new one: then the
 * MOD fails with ENOENT and it is ADDed. An event on a parked socket (the
 * server closed an idle connection) removes it then: curl wants nothing of
 * it until it asks again. This rests on a close dropping the socket from
 * epoll, i.e. on nobody else holding it: the TCP sockets are opened CLOEXEC
 * (http.c), so a child started mid-run cannot (nothing forks during a run).
 *
 * Only TCP sockets are parked (curl's others, the threaded resolver's
 * socketpairs, are deleted at their REMOVE as before), and leaving one alone
 * needs its number still to be the socket that was parked. libcurl 7.88
 * closes a connection's socket through CURLOPT_CLOSESOCKETFUNCTION, whose
 * on_closesocket forgets the number first; it closes without that callback
 * only a happy-eyeballs attempt that never became the connection's, which
 * only ever asked to write, so it is never parked reading. A number such a
 * socket leaves behind, taken by a new socket, gets a MOD, its ENOENT and an
 * ADD, and every ADD asks afresh whether the socket is TCP (docs/engine.md
 * has the two weaker marks that reviews found unsafe). The TLS layer must
 * not close the socket itself: OpenSSL's and GnuTLS's do not (they go
 * through curl's BIO and push/pull functions), NSS's does (nss_close,
 * PR_Close), so keep_parked is set for those two and for builds without TLS
 * only, and with any other a parked socket's reuse is always a MOD.
 */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *ud, void *sockp)
{
	(void)easy;
	struct loop *l = ud;
	struct epoll_event ev = { .data.fd = fd };
	if (what == CURL_POLL_REMOVE) {
		if (sock_of(l, fd) & SOCK_TCP)
			l->sock[fd] |= SOCK_PARKED;
		else
			sock_ctl(l, EPOLL_CTL_DEL, fd, NULL);
		curl_multi_assign(l->multi, fd, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (sockp) {
		/* ENOENT: a number curl still had in its socket hash was closed
		 * meanwhile and taken by a new socket; epoll must have that one. */
		if (sock_ctl(l, EPOLL_CTL_MOD, fd, &ev) && errno == ENOENT)
			sock_ctl(l, EPOLL_CTL_ADD, fd, &ev);
		return 0;
	}
	bool done = false;
	if (is_parked(l, fd)) {
		if (l->keep_parked && ev.events == EPOLLIN &&
		    l->sock[fd] == (SOCK_TCP | SOCK_PARKED | EPOLLIN)) {
			l->sock[fd] = SOCK_TCP | EPOLLIN;
			done = true;
		} else {
			done = !sock_ctl(l, EPOLL_CTL_MOD, fd, &ev);
		}
	}
	/* A socket curl reopened under a number epoll still knows: MOD it. */
	if (!done && sock_ctl(l, EPOLL_CTL_ADD, fd, &ev) && errno == EEXIST)
		sock_ctl(l, EPOLL_CTL_MOD, fd, &ev);
	curl_multi_assign(l->multi, fd, l);
	return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *ud)
{
	(void)m;
	struct loop *l = ud;
	l->curl_deadline = timeout_ms < 0 ? 0 : ap_now_ns() + (uint64_t)timeout_ms * 1000000u;
	if (timeout_ms == 0)
		l->curl_deadline = 1; /* as soon as possible */
	return 0;
}

int loop_new(struct loop **out, const struct backend *be, int capacity)
{
	int rc = -ENOMEM;
	struct loop *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->be = be;
	l->cap = capacity > 0 ? capacity : 1;
	l->epfd = l->evfd = -1;
	l->slots = calloc((size_t)l->cap, sizeof(*l->slots));
	l->free_idx = calloc((size_t)l->cap, sizeof(*l->free_idx));
	l->heap = calloc((size_t)l->cap, sizeof(*l->heap));
	if (!l->slots || !l->free_idx || !l->heap)
		goto fail;
	for (int i = 0; i < l->cap; i++) {
		l->slots[i].heap_idx = -1;
		l->free_idx[l->n_free++] = l->cap - 1 - i;
	}
	if ((rc = http_headers_new(be, &l->headers)))
		goto fail;
	const char *tls = curl_version_info(CURLVERSION_NOW)->ssl_version;
	l->keep_parked = !tls || !strncmp(tls, "OpenSSL", 7) || !strncmp(tls, "GnuTLS", 6);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->epfd < 0 || l->evfd < 0) {
		rc = -errno;
		goto fail;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = l->evfd };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev)) {
		rc = -errno;
		goto fail;
	}
	rc = -ENOMEM;
	if (!(l->multi = curl_multi_init()))
		goto fail;
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)l->cap);
	curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, (long)l->cap);
	*out = l;
	return 0;
fail:
	loop_free(l);
	return rc;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->cap && l->slots; i++) {
		if (l->slots[i].state == SLOT_XFER)
			curl_multi_remove_handle(l->multi, http_xfer_easy(l->slots[i].x));
		http_xfer_free(l->slots[i].x);
	}
	if (l->multi)
		curl_multi_cleanup(l->multi);
	curl_slist_free_all(l->headers);
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->evfd >= 0)
		close(l->evfd);
	free(l->sock);
	free(l->slots);
	free(l->free_idx);
	free(l->heap);
	free(l);
}

void loop_wake(struct loop *l)
{
	uint64_t one = 1;
	ssize_t n = write(l->evfd, &one, sizeof(one));
	(void)n; /* EAGAIN: the counter is already non-zero, so the loop wakes anyway */
}

/* ---- driving episodes ---- */

static void release(struct loop *l, int si)
{
	struct slot *s = &l->slots[si];
	l->p->src.done(l->p->src.ctx, s->e, s->user);
	s->e = NULL;
	s->user = NULL;
	s->state = SLOT_FREE;
	l->free_idx[l->n_free++] = si;
	l->live--;
}

/* Carries out req for slot si, and what follows from it, until the episode waits on I/O. */
static void drive(struct loop *l, int si, struct ep_req *req, uint64_t now)
{
	struct slot *s = &l->slots[si];
	struct energy *E = l->p->energy;
	for (;;) {
		if (req->ended && E)
			energy_call_end(E, req->ended_key, req->ended_t_end);
		switch (req->kind) {
		case EP_SEND:
			if (req->new_call) {
				s->key = atomic_fetch_add(l->p->next_key, 1) + 1;
				if (E)
					energy_call_begin(E, s->key, now);
			}
			if (!s->x && !http_xfer_new(&s->x, l->be, l->headers, (void *)(intptr_t)si)) {
				CURL *h = http_xfer_easy(s->x);
				curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, on_closesocket);
				curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, l);
			}
			if (!s->x) {
				/* No handle for the try: the episode still gets an outcome, and the
				 * run goes on; a failed calloc here is the machine's, not the server's. */
				struct call_result r;
				memset(&r, 0, sizeof(r));
				r.status = CALL_ERR_TRANSPORT;
				r.retry_after_s = -1;
				r.t_start = r.t_send = r.t_end = now;
				snprintf(r.error, sizeof(r.error), "out of memory for a transfer");
				episode_feed(s->e, &r, s->key, now, req);
				continue;
			}
			http_xfer_prepare(s->x, req->body, false, now);
			if (l->interrupted) {
				http_xfer_abort(s->x, CALL_ERR_INTERRUPTED, now);
				episode_feed(s->e, http_xfer_result(s->x), s->key, now, req);
				continue;
			}
			s->state = SLOT_XFER;
			curl_multi_add_handle(l->multi, http_xfer_easy(s->x));
			return;
		case EP_WAIT:
			if (req->tool_wait) {
				/* a window of its own: the energy of the wait is the task's,
				 * reported apart from its calls' */
				uint64_t k = atomic_fetch_add(l->p->next_key, 1) + 1;
				if (E)
					energy_call_begin(E, k, now);
				episode_wait_key(s->e, k);
			} else if (s->x) {
				const struct call_result *r = http_xfer_result(s->x);
				ap_debug("call to %s failed (%s: %s), transport retry in %.2f s", l->be->label,
					 call_status_name(r->status), r->error,
					 req->wake_ns > now ? (double)(req->wake_ns - now) / 1e9 : 0.0);
			}
			if (l->interrupted) {
				episode_timer(s->e, now, req);
				continue;
			}
			s->state = SLOT_WAIT;
			heap_push(l, si, req->wake_ns);
			return;
		case EP_DONE:
			release(l, si);
			return;
		}
	}
}

static void start(struct loop *l, int si, uint64_t now)
{
	struct ep_req req;
	struct slot *s = &l->slots[si];
	if (l->interrupted)
		episode_interrupt(s->e);
	episode_start(s->e, now, &req);
	drive(l, si, &req, now);
}

/* Takes episodes from the source while there are free slots. */
static void fill(struct loop *l)
{
	while (l->n_free && l->more && !l->interrupted) {
		void *user = NULL;
		uint64_t at = 0;
		struct episode *e = l->p->src.next(l->p->src.ctx, l, &user, &at, &l->more);
		if (!e)
			return;
		int si = l->free_idx[--l->n_free];
		struct slot *s = &l->slots[si];
		s->e = e;
		s->user = user;
		l->live++;
		uint64_t now = ap_now_ns();
		if (at > now) {
			s->state = SLOT_START;
			heap_push(l, si, at);
		} else {
			start(l, si, now);
		}
	}
}

static void fire(struct loop *l, int si, uint64_t now)
{
	struct slot *s = &l->slots[si];
	struct ep_req req;
	heap_remove(l, si);
	if (s->state == SLOT_START) {
		start(l, si, now);
		return;
	}
	episode_timer(s->e, now, &req);
	drive(l, si, &req, now);
}

/* A transfer that curl finished (or the loop cut) goes to its episode. */
static void finish(struct loop *l, struct http_xfer *x, CURLcode cc)
{
	CURL *easy = http_xfer_easy(x);
	int si = (int)(intptr_t)http_xfer_user(x);
	struct slot *s = &l->slots[si];
	uint64_t now = ap_now_ns();
	if (http_xfer_done(x, cc, now)) {
		/* Stale keep-alive connection: the same try again at once, fresh. */
		http_xfer_prepare(x, NULL, true, now);
		curl_multi_add_handle(l->multi, easy);
		return;
	}
	struct ep_req req;
	if (l->interrupted)
		episode_interrupt(s->e);
	episode_feed(s->e, http_xfer_result(x), s->key, now, &req);
	drive(l, si, &req, now);
}

static void reap(struct loop *l)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(l->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *easy = m->easy_handle;
		CURLcode cc = m->data.result;
		struct http_xfer *x = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(l->multi, easy);
		if (x)
			finish(l, x, cc);
	}
}

/*
 * Streams whose answer is whole ([DONE] came) but whose server keeps the
 * connection open: cut at their deadline and finished as complete. Scanned
 * only while this thread has such a transfer (normally none, or for an
 * instant). Returns the earliest deadline still ahead, 0 for none.
 */
static uint64_t cut_lingering(struct loop *l, uint64_t now, bool *cut)
{
	uint64_t next = 0;
	*cut = false;
	if (!http_lingering())
		return 0;
	for (int si = 0; si < l->cap; si++) {
		struct slot *s = &l->slots[si];
		uint64_t d = s->state == SLOT_XFER && s->x ? http_xfer_linger_deadline(s->x) : 0;
		if (!d)
			continue;
		if (d <= now) {
			curl_multi_remove_handle(l->multi, http_xfer_easy(s->x));
			finish(l, s->x, CURLE_OK);
			*cut = true;
		} else if (!next || d < next) {
			next = d;
		}
	}
	return next;
}

/* Every call in flight ends as interrupted; every wait fires now. */
static void interrupt_all(struct loop *l)
{
	l->interrupted = true;
	uint64_t now = ap_now_ns();
	for (int si = 0; si < l->cap; si++) {
		struct slot *s = &l->slots[si];
		if (s->state == SLOT_FREE)
			continue;
		if (s->state == SLOT_START) {
			/* Never started: handed back as it is, the source records nothing. */
			heap_remove(l, si);
			release(l, si);
			continue;
		}
		episode_interrupt(s->e);
		struct ep_req req;
		if (s->state == SLOT_XFER) {
			curl_multi_remove_handle(l->multi, http_xfer_easy(s->x));
			http_xfer_abort(s->x, CALL_ERR_INTERRUPTED, now);
			episode_feed(s->e, http_xfer_result(s->x), s->key, now, &req);
			drive(l, si, &req, now);
		} else {
			fire(l, si, now);
		}
	}
}

int loop_run(struct loop *l, const struct loop_pass *p)
{
	struct epoll_event evs[64];
	int running = 0, rc = 0;
	l->p = p;
	l->more = true;
	l->interrupted = false;
	for (;;) {
		if (ap_interrupted && !l->interrupted)
			interrupt_all(l);
		fill(l);
		if (!l->live && (!l->more || l->interrupted))
			break;
		uint64_t now = ap_now_ns();
		bool did_cut;
		uint64_t cut = cut_lingering(l, now, &did_cut);
		if (did_cut)
			continue; /* episodes moved on: fill and check for the end again */
		uint64_t next = l->curl_deadline;
		if (l->n_heap && (!next || l->slots[l->heap[0]].wake_ns < next))
			next = l->slots[l->heap[0]].wake_ns;
		if (cut && (!next || cut < next))
			next = cut;
		int timeout = -1;
		if (next)
			timeout = next <= now ? 0 : (int)((next - now + 999999) / 1000000);
		if (p->src.flush)
			p->src.flush(p->src.ctx, l);
		int n = epoll_wait(l->epfd, evs, 64, timeout);
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == l->evfd) {
				uint64_t v;
				ssize_t r = read(l->evfd, &v, sizeof(v));
				(void)r;
				continue;
			}
			if (is_parked(l, evs[i].data.fd)) {
				sock_ctl(l, EPOLL_CTL_DEL, evs[i].data.fd, NULL);
				continue;
			}
			int what = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
				   (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
				   (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
			curl_multi_socket_action(l->multi, evs[i].data.fd, what, &running);
		}
		now = ap_now_ns();
		if (l->curl_deadline && l->curl_deadline <= now) {
			l->curl_deadline = 0;
			curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		}
		reap(l);
		now = ap_now_ns();
		while (l->n_heap && l->slots[l->heap[0]].wake_ns <= now)
			fire(l, l->heap[0], now);
	}
	if (p->src.flush)
		p->src.flush(p->src.ctx, l);
	l->p = NULL;
	return rc;
}
