/*
 * Load sweeps: `agentperf sweep --vary AXIS=V1,V2,... [record options]`.
 *
 * Each point is an ordinary recorded run (`agentperf record`, started as a
 * child process with the varied option appended: -c N, --rate R or
 * --context N) into DIR/<axis>-<value>/, so every point has the full set of
 * files that report, diff and the plots read, and a sweep interrupted or
 * killed goes on where it stopped when started again with the same DIR
 * (complete points are kept, an unfinished one is resumed with
 * `record --resume`). After each point the sweep reads the point's own files
 * (summary.csv, tasks.csv, calls.csv, meta.json) and appends its row to
 * DIR/sweep.csv, so sweep.csv never disagrees with the points' reports.
 *
 * The per-point figures and the measured-versus-modeled comparison are
 * sweep_point_load()'s and sweep_model()'s, kept apart from the process
 * handling so the tests can check them on folders they write.
 */
#ifndef AP_SWEEP_H
#define AP_SWEEP_H

#include <stdbool.h>

#include "slo.h"

enum sweep_axis { AXIS_CONCURRENCY = 0, AXIS_RATE, AXIS_CONTEXT, AXIS_COUNT };

/* One point's figures; NAN where not known (empty cells in sweep.csv). */
struct sweep_point {
	char name[64];          /* folder name, e.g. concurrency-4 */
	enum sweep_axis axis;
	double value;           /* the varied value (tokens for context) */
	char status[24];        /* meta.json status, or "failed" when it has none */
	int exit_code;          /* of the record process; -1 when reused */
	double concurrency, rate;   /* offered: -c and --rate (NAN: closed loop) */
	double context_tokens;      /* --context, NAN when not padded */
	long tasks, successes, completion_tokens, calls, calls_ok;
	double elapsed_s, tasks_per_s, successes_per_h;
	long slo_tasks_met, slo_successes;  /* -1: no SLO given */
	double slo_attainment, goodput_per_h;
	double energy_j;            /* attributed device energy (summary.csv energy_j) */
	char energy_source[160];
	double j_per_task, j_per_completion_token, j_per_success;
	double device_j_per_success, wall_j_per_success, facility_j_per_success, usd_per_success;
	double j_per_slo_success;
	double ttft_p50_s, ttft_p99_s, e2e_p50_s, e2e_p99_s; /* from schedule */
	double queue_p99_s;
	double device_power_w, idle_power_w, cpu_util, gpu_util;
	double completion_tps, server_gen_tps;
	/* measured-versus-modeled utilization (sweep_model) */
	double model_u, model_j_per_task, model_err_pct;
};

/* "concurrency" / "rate" / "context" -> axis; -EINVAL otherwise. */
int sweep_axis_parse(const char *s);
const char *sweep_axis_name(enum sweep_axis a);
/* The option a point appends to record's arguments for this axis. */
const char *sweep_axis_option(enum sweep_axis a);

/*
 * Reads a finished point's folder into *p (name, axis, value and exit_code
 * already set by the caller). slo (may be NULL or unset) judges each task
 * from calls.csv and tasks.csv: every call within the limits from its
 * scheduled start, the task within `task` of its scheduled start (slo.h).
 * 0, or -errno with msg (size n) naming the file.
 */
int sweep_point_load(struct sweep_point *p, const char *dir, const struct slo *slo,
		     char *msg, unsigned n);

/*
 * What the profile's utilization formula predicts from the lowest-load point
 * (pts[0]): a task costs its net energy there plus idle power over its busy
 * time divided by the utilization u that a point's load implies when tasks
 * are served one after another at the lowest point's speed:
 *
 *   b1 = elapsed_1 / tasks_1                (busy seconds per task, point 1)
 *   N1 = energy_1 / tasks_1 - P_idle x b1   (net J per task, point 1)
 *   u_i = min(1, tasks_i x b1 / elapsed_i)
 *   modeled J/task_i = N1 + P_idle x b1 / u_i
 *
 * and the measured J per task's difference from it in percent. Batching is
 * what the formula cannot see: where the server served tasks faster than one
 * after another, the measured figure falls below the modeled one.
 */
void sweep_model(struct sweep_point *pts, int n);

/* Writes sweep.csv (header and every point) atomically into dir. */
int sweep_write_csv(const char *dir, const struct sweep_point *pts, int n);

/* The command: agentperf sweep [sweep options] [record options]. */
int sweep_main(int argc, char **argv);

#endif
