/*
 * Statistics over tasks (account stage): what the "+- x%" over repeats cannot
 * say. A deterministic backend repeats every answer, so its spread over
 * repeats is 0 while the figures still depend on which tasks were drawn.
 * These functions give intervals over the tasks instead:
 *
 *   Wilson score interval   success rate: "how well would this model do on
 *                           other tasks like these?"
 *   bootstrap (percentile)  J and $ per successful task, a ratio of sums
 *                           (cost of all tasks / successes): resamples task
 *                           ids with replacement (all repeats of a task move
 *                           together), so it answers the same question for
 *                           the per-success figures
 *   McNemar (exact)         diff: "do A and B succeed on different tasks
 *                           more often one way than the other?" on the
 *                           discordant pairs of the same tasks
 *   paired bootstrap        diff: the ratio B/A of cost per success with
 *                           the same resampled tasks on both sides
 *
 * Resampling is seeded (splitmix64, seed TS_BOOT_SEED, TS_BOOT_RESAMPLES
 * resamples unless told otherwise): the same inputs give the same interval on
 * every machine. Pure functions: nothing here prints or reads files.
 */
#ifndef AP_TASKSTAT_H
#define AP_TASKSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TS_BOOT_RESAMPLES 2000
#define TS_BOOT_SEED 1u
#define TS_Z95 1.959963984540054

/* An estimate with its interval; lo/hi INFINITY when unbounded (a resample
 * with no success), NAN when not computable (no tasks, no figure). */
struct ts_ci {
	double est, lo, hi;
	long n; /* units (clusters) it was computed over */
};

struct ts_boot {
	int resamples;
	uint64_t seed;
	double level; /* e.g. 0.95 */
};
extern const struct ts_boot ts_boot_default;

/* splitmix64 (Steele, Lea, Flood 2014): the documented generator behind every resample. */
uint64_t ts_splitmix64(uint64_t *state);
/* Uniform integer in [0, n), n > 0 (Lemire's multiply, no modulo bias worth counting at n < 2^32). */
size_t ts_uniform(uint64_t *state, size_t n);

/* Wilson score interval for k successes in n trials at normal quantile z. */
struct ts_ci ts_wilson(long k, long n, double z);

/*
 * Exact two-sided McNemar test: b pairs where only A succeeded, c where only
 * B did. p = min(1, 2 * P(X <= min(b, c))), X ~ Binomial(b + c, 1/2); 1 when
 * there is no discordant pair.
 */
double ts_mcnemar_exact_p(long b, long c);

/*
 * Percentile bootstrap of sum(num) / sum(den) over n clusters (cluster i
 * contributes num[i] and den[i]). A resample whose den sums to 0 counts as
 * +INFINITY (no success: unbounded cost per success). est = the ratio on all
 * clusters (NAN when den sums to 0). Returns -ENOMEM/-EINVAL or 0.
 */
int ts_boot_ratio(const double *num, const double *den, size_t n, const struct ts_boot *b,
		  struct ts_ci *out);

/*
 * Paired bootstrap over n matched clusters: the ratio
 * (sum nb / sum db) / (sum na / sum da) with the same resampled clusters on
 * both sides, and a two-sided p-value for "ratio = 1":
 * 2 * min(share of resamples <= 1, share >= 1), at least 1/resamples.
 * diff_out: the same for the mean per-cluster difference nb - na.
 */
int ts_boot_paired(const double *na, const double *da, const double *nb, const double *db,
		   size_t n, const struct ts_boot *b, struct ts_ci *ratio, double *p_ratio,
		   struct ts_ci *diff_out);

/* Quantile q in [0,1] of sorted v[0..n) with linear interpolation (type 7). */
double ts_quantile_sorted(const double *v, size_t n, double q);

#endif
