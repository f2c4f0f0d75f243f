/*
 * Comparing runs: `agentperf diff A B` (per-success figures side by side
 * with ratio and noise), the breakeven success rate, the cascade what-if
 * (small model first up to k attempts, then the large one), the
 * sensitivity table over utilization and PUE, and `agentperf report DIR`
 * with profile overrides. Reads results folders with results_load and
 * the CSV reader; the arithmetic is cost.c's.
 */
#ifndef AP_COMPARE_H
#define AP_COMPARE_H

#include <stdbool.h>
#include <stdio.h>

#include "cost.h"
#include "record.h"

/* One task of one repeat, monolithic form, with what its attempts cost. */
struct casc_task {
	int repeat;
	char id[REC_ID];
	char category[64];
	bool success;
	int k_success, attempts;
	double cum_j[MAX_K + 1];   /* [i]: energy of its first i attempts (facility, J) */
	double cum_usd[MAX_K + 1]; /* [i]: dollars of its first i attempts */
	double device_j;           /* tasks.csv energy_j: device energy, measured or estimated; NAN */
	signed char ok[MAX_K + 1];  /* [i]: attempt i succeeded */
	signed char vis[MAX_K + 1]; /* [i]: attempt i's failure visible at run time: 1, 0, -1 unknown */
};

/* When the cascade escalates from A to B (diff --escalate-on). */
enum escalate_on {
	ESC_DETECTABLE = 0, /* only failures a deployed system can see; silent wrong answers ship */
	ESC_ORACLE,         /* whenever the ground-truth check fails: an upper bound */
};
int escalate_parse(const char *s);
const char *escalate_name(int e);

struct casc_row {
	int k;
	long tasks, successes, small_handled, unmatched;
	long silent;   /* wrong answers delivered (detectable mode; 0 under the oracle) */
	double j, usd; /* totals over the tasks */
};

/*
 * Small model (a) first, up to k attempts, then the large one (b). Only
 * tasks of `category` (NULL: all). b's task is the one with the same id and
 * repeat, else the same id in any repeat.
 *   ESC_ORACLE: a stops at its first success; a task it has not solved
 *     within k attempts goes to b, whose recorded outcome and whole cost count.
 *   ESC_DETECTABLE: a stops at its first success or its first silent
 *     failure (a wrong answer nobody can see: delivered, counted in silent);
 *     only after k visible failures does the task go to b, which is walked
 *     the same way through its recorded attempts (a failure whose
 *     visibility is unknown counts as visible, i.e. as the oracle would).
 */
void cascade_compute(const struct casc_task *a, size_t na, const struct casc_task *b, size_t nb,
		     int k, const char *category, int escalate, struct casc_row *row);

/* Breakeven of a against b: success rate and attempts per success at
 * which a's cost per success equals b's, from a's cost per task and per
 * attempt (assumed independent of success). NAN when not computable. */
struct breakeven {
	double success_rate, attempts_per_success;
};
struct breakeven breakeven_compute(double a_total, long a_tasks, long a_attempts,
				   double b_per_success);

/* Loads a folder's monolithic tasks with their per-attempt costs. */
int casc_load(const char *dir, const struct cost_ctx *c, const struct run_agg *agg,
	      struct casc_task **out, size_t *n, char *err, size_t errlen);

/* A CSV number field: %.6g, empty for NAN (no comma written). */
void csv_num(FILE *f, double v);

/* Sensitivity rows of one run over utilization x PUE (header when header is true). */
void sensitivity_csv(FILE *f, bool header, const char *run, const struct profile_set *ps,
		     const struct cost_ctx *c, const struct run_agg *a);

/* One results folder loaded for report and diff, with its profiles settled. */
struct run_data {
	const char *dir;
	struct run_agg agg;
	cJSON *meta;
	struct profile_set ps;
	struct cost_ctx c;
	char label[200];
	bool loaded;
};
/*
 * Loads a folder and settles its profiles: --profile files replace the
 * stored ones (resolved for this run's model and URL), overrides apply on
 * top, and the result is written into the in-memory meta.json so the report
 * prints what was used. Returns 0 or -errno with the error printed.
 */
int run_data_load(struct run_data *d, const char *dir, const struct profile_cli *pc);
void run_data_free(struct run_data *d);

#endif
