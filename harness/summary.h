/*
 * Aggregates records into per-repeat, per-form figures and derives the
 * metrics the report prints (formulas in README.md). The live run and
 * `agentperf report DIR` feed the same functions, so they agree.
 */
#ifndef AP_SUMMARY_H
#define AP_SUMMARY_H

#include <stdbool.h>

#include "record.h"
#include "stats.h"
#include "util.h"

#define MAX_K 32

struct form_agg {
	long tasks, successes, interrupted;
	long within[MAX_K + 1];    /* [k]: tasks that succeeded within k attempts */
	int max_k;                 /* largest attempt count seen */
	long attempts, calls;
	long prompt_tokens, completion_tokens, cached_tokens;
	long calls_no_usage, retries, failed_calls;
	/* streamed calls whose content chunks were set against completion_tokens,
	 * and those that differ by more than one (measure/tokens.h) */
	long calls_chunk_checked, calls_chunk_mismatch;
	long by_status[CALL_STATUS_COUNT];
	struct hist ttft, e2e, itl;
	double tps_sum;
	long tps_n;
	double srv_prompt_tps_sum, srv_gen_tps_sum;
	long srv_n;
	double energy_j, idle_j;
	long energy_calls, energy_calls_missing;
	/* Cost accounting (cost.c): busy time, the failed attempts (retry tax),
	 * and the estimated system prompt + tool tokens (context overhead). */
	double task_s;             /* sum of task durations */
	long ctx_tokens_est;       /* per-call estimate x calls, summed over tasks */
	double attempt_s;
	long failed_attempts, failed_calls_n;
	long failed_prompt_tokens, failed_completion_tokens, failed_cached_tokens;
	double failed_attempt_s, failed_energy_j;
	long failed_energy_missing;
	/* Load (issue 12): latency from each call's scheduled start (queueing
	 * delay + service), the tasks' queueing delay, SLO judgement, tool waits. */
	struct hist ttft_sched, e2e_sched, task_sched, queue;
	double queue_max_s;
	long slo_judged, slo_met, slo_successes;
	double tool_wait_s, tool_energy_j;
	long tool_energy_missing;
};

/*
 * What the statistics over tasks (overtasks.h, the BFCL table, `table`) read
 * of one task run: 72 bytes, where keeping the whole task_rec (360, doubled
 * by realloc) made a run's peak RSS grow 0.4 KB a task (56 MB at 100,000).
 */
struct task_unit {
	const char *task_id, *category; /* in the run_agg's string blocks */
	long prompt_tokens, completion_tokens, cached_tokens;
	double energy_j, duration_s;
	int repeat, attempts, calls;
	signed char form;
	bool success, energy_valid;
};

struct run_agg {
	int repeats;
	/* Every task but the interrupted ones, in arrival order, kept for the
	 * statistics over tasks (taskstat.h, overtasks.h): an array in units_mem
	 * (outside the heap, so its pages go back when freed), the strings in
	 * blocks that never move. */
	struct task_unit *units;
	size_t n_units;
	struct ap_arena units_mem;
	struct unit_strs *strs;
	struct form_agg *a;        /* [repeat * AGG_SLOTS + slot]; slot: form or AGG_MONO_PAIRED */
	double *elapsed_s;         /* [repeat] */
	bool ran[AGG_SLOTS];
};

int run_agg_init(struct run_agg *r, int repeats);
void run_agg_free(struct run_agg *r);
void run_agg_task(struct run_agg *r, const struct task_rec *t);
void run_agg_call(struct run_agg *r, const struct call_rec *c);
/* Attempts feed only the retry-tax figures; tasks and calls feed everything else. */
void run_agg_attempt(struct run_agg *r, const struct attempt_rec *a);
struct form_agg *run_agg_get(struct run_agg *r, int repeat, int form);

/* The derived metrics of one repeat and form; NAN where undefined. */
enum metric {
	M_TASKS, M_SUCCESSES, M_SUCCESS_RATE, M_PASS1, M_ATTEMPTS, M_ATTEMPTS_PER_SUCCESS,
	M_CALLS, M_CALLS_PER_SUCCESS, M_PROMPT, M_PROMPT_PER_SUCCESS, M_COMPLETION,
	M_COMPLETION_PER_SUCCESS, M_CACHED, M_TTFT_P50, M_TTFT_P95, M_E2E_P50, M_E2E_P95,
	M_ITL_P50, M_OUT_TPS, M_ENERGY_J, M_ENERGY_PER_SUCCESS, M_NET_ENERGY_PER_SUCCESS,
	M_ELAPSED, M_COUNT
};
const char *metric_name(enum metric m);
double form_metric(const struct run_agg *r, int repeat, int form, enum metric m);

/* Mean and +- over repeats of one metric (repeats where it is NAN skipped). */
struct welford run_metric(const struct run_agg *r, int form, enum metric m);

#endif
