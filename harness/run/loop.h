/*
 * The loop: one thread driving many episodes (episode.h) through one libcurl
 * multi handle, with curl_multi_socket_action on epoll. Each episode in
 * flight holds one slot; a slot's try is one easy handle; connections are
 * kept alive and reused through the multi handle (at most `capacity` to the
 * host: CURLMOPT_MAX_HOST_CONNECTIONS). Transport-retry waits and scheduled
 * starts are timers in one heap; the loop never sleeps except in epoll_wait.
 *
 * Work comes from a source (runner.c): next() hands the loop an episode to
 * start, optionally at a later time (start_at: an open-loop arrival), and
 * done() takes it back finished, flush() ends a batch of done()s. All are
 * called on the loop's thread.
 *
 * Threads: loop_run runs on one thread; loop_wake may be called from any
 * thread (an eventfd), to say that work arrived, the source ran dry, or the
 * run is being interrupted (ap_interrupted), after which every call in flight
 * ends as interrupted, pending waits fire at once and nothing new starts.
 */
#ifndef AP_LOOP_H
#define AP_LOOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "energy.h"
#include "episode.h"

struct loop;

struct loop_src {
	/*
	 * The next episode for loop l, or NULL: *more false when nothing more
	 * will come in this pass; when true, the source wakes l once it has work.
	 * *user is passed back to done(); *start_at (0: now) delays the start.
	 */
	struct episode *(*next)(void *ctx, struct loop *l, void **user, uint64_t *start_at,
				bool *more);
	/* e returned EP_DONE, or never started (an interrupt before its start_at:
	 * episode_started says which); now the source's. */
	void (*done)(void *ctx, struct episode *e, void *user);
	/* Before the loop sleeps (and when it returns): what done() took since
	 * the last flush may be handed on now. Batching the hand-off this way
	 * costs one lock and at most one wake-up per loop iteration, not one
	 * per task, and a finished task still leaves the loop before it
	 * sleeps (kill -9 loses only calls in flight). NULL: nothing to flush. */
	void (*flush)(void *ctx, struct loop *l);
	void *ctx;
};

struct loop_pass {
	struct loop_src src;
	struct energy *energy;          /* NULL: calls are not measured (warm-up, --no-energy) */
	atomic_uint_fast64_t *next_key; /* energy keys, shared by the loops of a run */
};

/* A loop for up to capacity episodes at once; -errno. */
int loop_new(struct loop **out, const struct backend *be, int capacity);
void loop_free(struct loop *l);
/* Runs until the source has nothing more and every episode is done; 0 or -errno. */
int loop_run(struct loop *l, const struct loop_pass *p);
/* From any thread: l re-checks its source and ap_interrupted. */
void loop_wake(struct loop *l);

#endif
