/* Statistics: Welford mean/variance over repeats, and log-bucket histograms
 * for latency percentiles whose memory does not grow with the call count. */
#ifndef AP_STATS_H
#define AP_STATS_H

#include <stddef.h>
#include <stdint.h>

struct welford {
	long n;
	double mean, m2;
};
void welford_add(struct welford *w, double x);
double welford_stddev(const struct welford *w);
/* Relative standard error of the mean in percent (perf's "+- x%"); 0 if n < 2. */
double welford_rse_pct(const struct welford *w);

/* Buckets grow by 2% from 1 us to about 3 hours: 2% is the worst-case error. */
#define HIST_BUCKETS 1200
struct hist {
	uint64_t n;
	uint32_t b[HIST_BUCKETS];
	double min, max;
};
void hist_add(struct hist *h, double seconds);
void hist_merge(struct hist *dst, const struct hist *src);
/* p in [0,100]; NAN when empty. */
double hist_pct(const struct hist *h, double p);

#endif
