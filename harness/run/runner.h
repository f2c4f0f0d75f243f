/*
 * The runner: repeats x tasks, each task as one or both forms (monolithic,
 * decomposed), each form one episode (episode.h: its attempts, each a
 * conversation of calls answered from the task's tool table). It wires the
 * stages: this thread reads the workload into a bounded queue of work and
 * drains the sink (sink.h); loop threads (loop.h) run the episodes, -c at
 * once in all, on --threads event loops.
 */
#ifndef AP_RUNNER_H
#define AP_RUNNER_H

#include <stdbool.h>

#include "backend.h"
#include "energy.h"
#include "results.h"
#include "resume.h"
#include "shard.h"
#include "summary.h"
#include "workload.h"
#include "load/schedule.h"
#include "load/slo.h"

struct run_opts {
	struct workload *wl;
	struct backend *be;
	int repeats;            /* -r */
	int concurrency;        /* parallel episodes */
	int threads;            /* loop threads; 0: enough for the load, at most the CPUs */
	int warmup;             /* tasks run once before measuring, not counted */
	bool forms[FORM_COUNT]; /* which forms run */
	const char *filter;     /* fnmatch pattern on task id, or NULL */
	const char *category;   /* only this category, or NULL */
	bool seed_set, temp_set;
	long seed;
	int seed_policy;        /* enum seed_policy: per-attempt (default) or fixed */
	double temperature;
	struct energy *energy;  /* NULL: no energy measurement */
	struct results *out;    /* NULL: report only (stat) */
	bool quiet;             /* no progress line */
	/* --resume: (repeat, seq, form) already on disk are not run again (resume.h) */
	const struct resume_set *skip;
	/* --shard: only this shard's (repeat, task) units run (shard.h); NULL: all */
	const struct shard *shard;
	/* Open loop (--rate R > 0): tasks arrive on a schedule (load/schedule.h),
	 * seeded by --seed, whatever the server does; -c caps those in flight and
	 * the rest wait in a queue, their latency counted from the arrival.
	 * --duration S > 0: the schedule runs S seconds, cycling the workload. */
	int arrival;            /* enum arrival; ARRIVAL_CLOSED without --rate */
	double rate;            /* tasks per second */
	double duration_s;      /* 0: once through the workload */
	/* --ramp S > 0 (closed loop only): the first -c tasks of a pass start
	 * S/c apart, not together, so that c replies do not all come back in
	 * the same instant (a thundering herd measures the burst); each keeps
	 * its ramp time as its scheduled start (t_sched_s) */
	double ramp_s;
	const struct slo *slo;  /* --slo: tasks judged (tasks.csv slo_met); NULL: not */
	double tool_latency_ms; /* --tool-latency: default tool latency (ms) */
	/* Shown each task the first counting pass selects, in file order, before
	 * shards and --resume leave any out, as workload_next gave it; then NULL
	 * once, when that pass reaches the file's end (an interrupted pass or
	 * one that --duration stops early never does). From the feeder thread;
	 * NULL: nobody looks. So that what wants the selected tasks (the best
	 * prefix hit rate) needs no parse of its own. */
	void (*seen)(void *ctx, const struct task *t);
	void *seen_ctx;
};

struct run_state {
	struct run_agg agg;
	uint64_t t0_ns;         /* run clock zero */
	long tasks_done, tasks_total;
	int repeats_done;
	bool interrupted;
	long selected;          /* tasks per repeat after filters */
	long shard_units;       /* (repeat, task) units of this shard (all of them unsharded) */
	bool any_decomposed;    /* some selected task has a decomposed form */
	int threads;            /* loop threads used */
};

/* Runs everything; 0 even if calls failed (they are recorded), -errno on setup errors. */
int run_workload(const struct run_opts *o, struct run_state *st, struct ap_error *err);
void run_state_free(struct run_state *st);
/* Tasks of o->wl that o's filters (-t, --category) select, counted before anything runs;
 * *decomposed (may be NULL): whether one of them has a decomposed form. */
int run_count_selected(const struct run_opts *o, long *n, bool *decomposed, struct ap_error *err);

#endif
