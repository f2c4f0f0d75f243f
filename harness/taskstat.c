#include "taskstat.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

const struct ts_boot ts_boot_default = { TS_BOOT_RESAMPLES, TS_BOOT_SEED, 0.95 };

uint64_t ts_splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

size_t ts_uniform(uint64_t *s, size_t n)
{
	uint64_t x = ts_splitmix64(s) >> 32;
	return (size_t)((x * (uint64_t)n) >> 32);
}

struct ts_ci ts_wilson(long k, long n, double z)
{
	struct ts_ci r = { NAN, NAN, NAN, n };
	if (n <= 0 || k < 0 || k > n)
		return r;
	double p = (double)k / (double)n, nn = (double)n, z2 = z * z;
	double den = 1 + z2 / nn;
	double centre = (p + z2 / (2 * nn)) / den;
	double half = z / den * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
	r.est = p;
	r.lo = fmax(0.0, centre - half);
	r.hi = fmin(1.0, centre + half);
	return r;
}

double ts_mcnemar_exact_p(long b, long c)
{
	long n = b + c, m = b < c ? b : c;
	if (n <= 0)
		return 1.0;
	/* Sum in log space: C(n, i) / 2^n stays finite for any n. */
	double lg_n1 = lgamma((double)n + 1), s = 0;
	for (long i = 0; i <= m; i++)
		s += exp(lg_n1 - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) -
			 (double)n * M_LN2);
	return fmin(1.0, 2 * s);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double ts_quantile_sorted(const double *v, size_t n, double q)
{
	if (!n)
		return NAN;
	double h = (double)(n - 1) * q;
	size_t i = (size_t)floor(h);
	if (i + 1 >= n)
		return v[n - 1];
	if (isinf(v[i]) || isinf(v[i + 1]))
		return h - (double)i > 0 ? v[i + 1] : v[i];
	return v[i] + (h - (double)i) * (v[i + 1] - v[i]);
}

static double ratio(double num, double den)
{
	return den > 0 ? num / den : INFINITY;
}

static void ends(double *v, size_t n, const struct ts_boot *b, struct ts_ci *out)
{
	qsort(v, n, sizeof(*v), cmp_d);
	double a = (1 - b->level) / 2;
	out->lo = ts_quantile_sorted(v, n, a);
	out->hi = ts_quantile_sorted(v, n, 1 - a);
}

int ts_boot_ratio(const double *num, const double *den, size_t n, const struct ts_boot *b,
		  struct ts_ci *out)
{
	out->est = out->lo = out->hi = NAN;
	out->n = (long)n;
	if (!n)
		return 0;
	if (!b || b->resamples < 1 || !(b->level > 0 && b->level < 1))
		return -EINVAL;
	double sn = 0, sd = 0;
	for (size_t i = 0; i < n; i++) {
		if (isnan(num[i]))
			return 0; /* a task without a figure: the figure is not counted */
		sn += num[i];
		sd += den[i];
	}
	out->est = sd > 0 ? sn / sd : NAN;
	double *v = malloc((size_t)b->resamples * sizeof(*v));
	if (!v)
		return -ENOMEM;
	uint64_t st = b->seed;
	for (int r = 0; r < b->resamples; r++) {
		double rn = 0, rd = 0;
		for (size_t i = 0; i < n; i++) {
			size_t j = ts_uniform(&st, n);
			rn += num[j];
			rd += den[j];
		}
		v[r] = ratio(rn, rd);
	}
	ends(v, (size_t)b->resamples, b, out);
	free(v);
	return 0;
}

int ts_boot_paired(const double *na, const double *da, const double *nb, const double *db,
		   size_t n, const struct ts_boot *b, struct ts_ci *rat, double *p_ratio,
		   struct ts_ci *dif)
{
	rat->est = rat->lo = rat->hi = NAN;
	dif->est = dif->lo = dif->hi = NAN;
	rat->n = dif->n = (long)n;
	*p_ratio = NAN;
	if (!n)
		return 0;
	if (!b || b->resamples < 1 || !(b->level > 0 && b->level < 1))
		return -EINVAL;
	double s[4] = { 0 };
	for (size_t i = 0; i < n; i++) {
		if (isnan(na[i]) || isnan(nb[i]))
			return 0;
		s[0] += na[i];
		s[1] += da[i];
		s[2] += nb[i];
		s[3] += db[i];
	}
	double ra = ratio(s[0], s[1]), rb = ratio(s[2], s[3]);
	rat->est = isinf(ra) || isinf(rb) || ra == 0 ? NAN : rb / ra;
	dif->est = (s[2] - s[0]) / (double)n;
	size_t R = (size_t)b->resamples;
	double *v = malloc(2 * R * sizeof(*v));
	if (!v)
		return -ENOMEM;
	double *w = v + R;
	uint64_t st = b->seed;
	long below = 0, above = 0;
	for (size_t r = 0; r < R; r++) {
		double x[4] = { 0 };
		for (size_t i = 0; i < n; i++) {
			size_t j = ts_uniform(&st, n);
			x[0] += na[j];
			x[1] += da[j];
			x[2] += nb[j];
			x[3] += db[j];
		}
		double a = ratio(x[0], x[1]), bb = ratio(x[2], x[3]);
		/* A resample where A has no success makes B infinitely cheaper (ratio 0),
		 * one where B has none infinitely dearer; both: no ratio, counted as 1. */
		double q = isinf(a) && isinf(bb) ? 1.0 : isinf(a) ? 0.0 : isinf(bb) ? INFINITY
			 : a == 0 ? (bb == 0 ? 1.0 : INFINITY) : bb / a;
		v[r] = q;
		below += q <= 1.0;
		above += q >= 1.0;
		w[r] = (x[2] - x[0]) / (double)n;
	}
	ends(v, R, b, rat);
	ends(w, R, b, dif);
	double p = 2.0 * (double)(below < above ? below : above) / (double)R;
	*p_ratio = fmin(1.0, fmax(p, 1.0 / (double)R));
	free(v);
	return 0;
}
