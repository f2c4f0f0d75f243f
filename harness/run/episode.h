/*
 * An episode: one task in one form (monolithic, or decomposed into sub-calls),
 * every attempt of it, as a state machine that does no I/O. It is fed the
 * outcome of each HTTP try and the firing of its timers, and answers with what
 * it needs next: a call to send (the request body is built here), a timer
 * (a transport retry's backoff or Retry-After), or done, with the records of
 * the task, its attempts and its calls.
 *
 * What it decides: the conversation (system prompt, user turn, assistant
 * turns, tool answers from the task's tool table), checks, repair feedback,
 * the sub-calls of the decomposed form with earlier outputs rendered into
 * later prompts, transport retries (which statuses, how many, how long to
 * wait: Retry-After or 0.25 s doubling, capped by the backend's retry_wait_max)
 * and the outcome. What the caller (loop.c) does: the HTTP tries, timers,
 * energy bookkeeping (ep_req.new_call says when a call begins, ep_req.ended
 * when the previous one ended), and handing the finished records to the sink.
 *
 * Contract: every function takes the time now (CLOCK_MONOTONIC ns) from the
 * caller; nothing here reads a clock, sleeps, or touches a socket or a file.
 * One episode is driven by one thread at a time.
 */
#ifndef AP_EPISODE_H
#define AP_EPISODE_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "load/slo.h"
#include "record.h"
#include "workload.h"

/* What one task in one form produced: handed to the sink when done. */
struct task_run {
	struct task_rec t;
	struct attempt_rec *a;
	size_t na, cap_a;
	struct call_rec *c;
	size_t nc, cap_c;
	/* tool-latency waits, each its own energy window (key), attributed by
	 * the sink like a call's and reported apart from the calls' energy */
	struct wait_rec {
		uint64_t key;
		int aidx;
		double dur_s;
		bool energy_valid;
		double energy_j;
	} *w;
	size_t nw, cap_w;
	struct task_run *next; /* the sink's queue */
};
void task_run_free(struct task_run *tr);

struct ep_cfg {
	const struct task *task;   /* outlives the episode */
	const struct backend *be;
	long seq;
	int repeat;                /* 0 in warm-up */
	int form;                  /* enum form */
	bool paired;
	uint64_t t0_ns;            /* the run's clock zero */
	/* overrides of the task's sampling (-s/--temperature); NULL: the task's own */
	bool seed_set, temp_set;
	long seed;
	double temperature;
	/* open loop: the task's scheduled arrival (CLOCK_MONOTONIC ns), 0: closed loop */
	uint64_t sched_ns;
	/* --slo: judged per task at its end (NULL or unset: not judged) */
	const struct slo *slo;
	/* --tool-latency: ms a tool takes where the task and its table say nothing */
	double tool_latency_ms;
	int seed_policy;           /* enum seed_policy (seed.h): per-attempt or fixed */
};

enum ep_kind {
	EP_SEND,  /* send body (again, if !new_call: a transport retry or its first try) */
	EP_WAIT,  /* call episode_timer at wake_ns (a transport retry's wait, or a
		   * tool's latency when tool_wait: an energy window of its own,
		   * whose key the caller gives with episode_wait_key) */
	EP_DONE,  /* take the records with episode_take */
};

struct ep_req {
	enum ep_kind kind;
	bool new_call;             /* EP_SEND: the first try of a new call */
	bool ended;                /* the call fed last has ended (its record is made) */
	uint64_t ended_t_end;      /* ...at this time (its last byte) */
	uint64_t ended_key;        /* ...under this energy key */
	const struct sbuf *body;   /* EP_SEND: the request body, valid until the next feed */
	uint64_t wake_ns;          /* EP_WAIT */
	bool tool_wait;            /* EP_WAIT: a tool's latency, not a transport retry */
};

struct episode;

/* A new episode; -ENOMEM. cfg is copied. */
int episode_new(struct episode **out, const struct ep_cfg *cfg);
void episode_free(struct episode *e);

/* Starts the episode at now: its first request (EP_SEND, or EP_DONE at once). */
void episode_start(struct episode *e, uint64_t now, struct ep_req *req);
/*
 * Feeds the outcome of the try sent for the last EP_SEND; key is the energy
 * key the caller gave that call (the same for every try of one call). r is
 * only read. Fills the next request.
 */
void episode_feed(struct episode *e, const struct call_result *r, uint64_t key, uint64_t now,
		  struct ep_req *req);
/* The timer of the last EP_WAIT fired (or was cut short by an interrupt). */
void episode_timer(struct episode *e, uint64_t now, struct ep_req *req);
/*
 * The run is being interrupted (SIGINT/SIGTERM): no further attempt starts,
 * a pending wait ends the call as interrupted at its timer, and the outcome
 * says interrupted. The caller still finishes the call in flight (it fails
 * as interrupted) and fires a pending timer at once.
 */
void episode_interrupt(struct episode *e);
/* The energy key the caller began for the tool wait it was just asked for. */
void episode_wait_key(struct episode *e, uint64_t key);
/* Whether episode_start was called. */
bool episode_started(const struct episode *e);
/* After EP_DONE: the records, now the caller's (task_run_free). */
struct task_run *episode_take(struct episode *e);

#endif
