/*
 * The headline figures of a run over its tasks, with intervals (taskstat.h):
 * success rate (Wilson), energy and dollars per successful task (bootstrap
 * over task ids), per form and per category, and the paired comparison of
 * two runs on the same tasks. Energy is the report's boundary: the total
 * (facility + idle share, or remote provider facility + client) when the
 * run has a profile, else the device energy. Computes structs; prints nothing.
 */
#ifndef AP_OVERTASKS_H
#define AP_OVERTASKS_H

#include "cost.h"
#include "summary.h"
#include "taskstat.h"

struct ot_fig {
	long tasks, successes, clusters; /* tasks: units (task x repeat); clusters: task ids */
	struct ts_ci rate, j, usd;       /* j, usd: per successful task */
	bool j_total;                    /* j is the profile's total energy, not device energy */
};

/* c may be NULL (no profile: device energy, no $). category NULL: all tasks. */
int ot_compute(const struct run_agg *a, const struct cost_ctx *c, int form, const char *category,
	       const struct ts_boot *b, struct ot_fig *out);

/* The categories of one form's tasks, sorted, each once; *out is malloc'ed
 * (pointers into a's units). Returns the count, or -ENOMEM. */
long ot_categories(const struct run_agg *a, int form, const char ***out);

struct ot_paired {
	long pairs;                       /* matched units: same task id (and repeat where both have it) */
	long both, a_only, b_only, neither;
	double mcnemar_p;
	long clusters;                    /* matched task ids, for the bootstrap */
	struct ts_ci j_ratio, usd_ratio;  /* B/A per successful task */
	double j_p, usd_p;
	struct ts_ci j_diff, usd_diff;    /* B - A, mean per task */
};
int ot_paired(const struct run_agg *A, const struct cost_ctx *ca, const struct run_agg *B,
	      const struct cost_ctx *cb, int form, const char *category, const struct ts_boot *b,
	      struct ot_paired *out);

#endif
