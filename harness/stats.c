#include "stats.h"

#include <math.h>

void welford_add(struct welford *w, double x)
{
	w->n++;
	double d = x - w->mean;
	w->mean += d / (double)w->n;
	w->m2 += d * (x - w->mean);
}

double welford_stddev(const struct welford *w)
{
	return w->n > 1 ? sqrt(w->m2 / (double)(w->n - 1)) : 0.0;
}

double welford_rse_pct(const struct welford *w)
{
	if (w->n < 2 || w->mean == 0)
		return 0.0;
	return 100.0 * welford_stddev(w) / sqrt((double)w->n) / fabs(w->mean);
}

#define HIST_MIN 1e-6
#define HIST_GROWTH 1.02

static int bucket(double s)
{
	if (!(s > HIST_MIN))
		return 0;
	int i = (int)(log(s / HIST_MIN) / log(HIST_GROWTH)) + 1;
	return i >= HIST_BUCKETS ? HIST_BUCKETS - 1 : i;
}

void hist_add(struct hist *h, double s)
{
	if (isnan(s))
		return;
	if (!h->n || s < h->min)
		h->min = s;
	if (!h->n || s > h->max)
		h->max = s;
	h->n++;
	h->b[bucket(s)]++;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	if (!src->n)
		return;
	if (!dst->n || src->min < dst->min)
		dst->min = src->min;
	if (!dst->n || src->max > dst->max)
		dst->max = src->max;
	dst->n += src->n;
	for (int i = 0; i < HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
}

double hist_pct(const struct hist *h, double p)
{
	if (!h->n)
		return NAN;
	uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)h->n);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (int i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			/* Geometric middle of the bucket, clamped to what was seen. */
			double lo = i ? HIST_MIN * pow(HIST_GROWTH, i - 1) : 0;
			double hi = HIST_MIN * pow(HIST_GROWTH, i);
			double v = i ? sqrt(lo * hi) : h->min;
			return v < h->min ? h->min : v > h->max ? h->max : v;
		}
	}
	return h->max;
}
