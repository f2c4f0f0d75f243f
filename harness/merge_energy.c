/* merge: the per-host energy rule for shards (merge.h). Computes, never prints. */
#include "merge.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int find(int *p, int i)
{
	while (p[i] != i)
		i = p[i] = p[p[i]];
	return i;
}

static bool spans_overlap(const struct me_shard *x, const struct me_shard *y)
{
	return x->start < y->end && y->start < x->end;
}

int merge_overlap_groups(struct me_shard *s, size_t n)
{
	int *p = malloc((n ? n : 1) * sizeof(*p)), *size = calloc(n ? n : 1, sizeof(*size));
	int groups = 0;
	if (!p || !size) {
		free(p);
		free(size);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		p[i] = (int)i;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(s[i].host, s[j].host) && spans_overlap(&s[i], &s[j]))
				p[find(p, (int)i)] = find(p, (int)j);
	for (size_t i = 0; i < n; i++)
		size[find(p, (int)i)]++;
	/* Number the groups of two or more in the order of their first member;
	 * size[] of a root becomes -(its id + 1) once it has one. */
	for (size_t i = 0; i < n; i++) {
		int r = find(p, (int)i);
		if (size[r] > 0 && size[r] < 2) {
			s[i].group = -1;
			continue;
		}
		if (size[r] > 0)
			size[r] = -(++groups);
		s[i].group = -size[r] - 1;
	}
	free(p);
	free(size);
	return groups;
}

/* Cumulative energy at wall time t, linear between samples, clamped at the ends. */
static double curve_at(const struct me_shard *s, double t)
{
	if (t <= s->st[0])
		return s->sv[0];
	if (t >= s->st[s->ns - 1])
		return s->sv[s->ns - 1];
	size_t lo = 0, hi = s->ns - 1;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (s->st[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	double dt = s->st[hi] - s->st[lo];
	return dt > 0 ? s->sv[lo] + (s->sv[hi] - s->sv[lo]) * (t - s->st[lo]) / dt : s->sv[lo];
}

static double busy(const struct me_shard *s, double a, double b)
{
	double sum = 0;
	for (size_t i = 0; i < s->nc; i++) {
		double x = fmax(a, s->ca[i]), y = fmin(b, s->cb[i]);
		if (y > x)
			sum += y - x;
	}
	return sum;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int add_seg(struct me_shard *s, double a, double b, double f)
{
	struct me_seg *n = realloc(s->segs, (s->nsegs + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->segs = n;
	s->segs[s->nsegs++] = (struct me_seg){ a, b, f };
	return 0;
}

/* One overlap group whose members all have samples: split each shared stretch by time share. */
static int attribute_group(struct me_shard *s, size_t n, int g)
{
	size_t nb = 0;
	double *bd = malloc(2 * n * sizeof(*bd));
	size_t *act = malloc(n * sizeof(*act));
	double *d = malloc(n * sizeof(*d));
	int rc = 0;
	if (!bd || !act || !d) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (s[i].group == g) {
			bd[nb++] = s[i].start;
			bd[nb++] = s[i].end;
			s[i].energy_j = s[i].device_j;
		}
	qsort(bd, nb, sizeof(*bd), cmp_double);
	for (size_t k = 0; k + 1 < nb; k++) {
		double a = bd[k], b = bd[k + 1], sum_d = 0, sum_busy = 0;
		size_t na = 0;
		if (b <= a)
			continue;
		for (size_t i = 0; i < n; i++)
			if (s[i].group == g && s[i].start <= a && s[i].end >= b)
				act[na++] = i;
		if (na < 2)
			continue; /* one shard alone: its own reading stands */
		for (size_t j = 0; j < na; j++) {
			d[j] = curve_at(&s[act[j]], b) - curve_at(&s[act[j]], a);
			sum_d += d[j];
			sum_busy += busy(&s[act[j]], a, b);
		}
		/* They read the same counters: the stretch's energy is their mean reading. */
		double seg_e = sum_d / (double)na;
		for (size_t j = 0; j < na; j++) {
			struct me_shard *x = &s[act[j]];
			/* Time share of the calls in flight; an even split where none was. */
			double share = sum_busy > 0 ? busy(x, a, b) / sum_busy : 1.0 / (double)na;
			double mine = share * seg_e;
			x->energy_j -= d[j] - mine;
			if ((rc = add_seg(x, a, b, d[j] > 0 ? mine / d[j] : share)))
				goto out;
		}
	}
out:
	free(bd);
	free(act);
	free(d);
	return rc;
}

int merge_energy(struct me_shard *s, size_t n, struct me_result *r)
{
	int rc;
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(s[i].host, s[j].host);
		r->hosts += !seen;
		s[i].energy_j = s[i].device_j;
	}
	if ((rc = merge_overlap_groups(s, n)) < 0)
		return rc;
	r->groups = rc;
	int flagged_groups = 0;
	for (int g = 0; g < r->groups; g++) {
		bool samples = true;
		for (size_t i = 0; i < n; i++)
			if (s[i].group == g && (s[i].ns < 2 || !isfinite(s[i].start) || !isfinite(s[i].end)))
				samples = false;
		if (!samples) {
			flagged_groups++;
			continue;
		}
		if ((rc = attribute_group(s, n, g)))
			return rc;
		r->attributed = true;
	}
	r->flagged = flagged_groups > 0;
	for (size_t i = 0; i < n; i++)
		r->device_j += s[i].energy_j;
	if (!r->groups)
		snprintf(r->note, sizeof(r->note),
			 "%zu shards on %d host(s), none overlapping another on its host: their "
			 "device energies add up",
			 n, r->hosts);
	else if (!r->flagged)
		snprintf(r->note, sizeof(r->note),
			 "%zu shards on %d host(s); %d group(s) ran on one host at overlapping times "
			 "and read the same counters: each shared stretch's energy is split by the "
			 "calls' time share",
			 n, r->hosts, r->groups);
	else
		snprintf(r->note, sizeof(r->note),
			 "OVERLAPPING: %d of %d group(s) of shards ran on one host at overlapping "
			 "times without the samples to split them, so their device energies are "
			 "summed and count the shared time more than once (an upper bound)%s",
			 flagged_groups, r->groups,
			 r->attributed ? "; the other groups are split by the calls' time share" : "");
	return 0;
}

double merge_energy_factor(const struct me_shard *s, double a, double b)
{
	if (!s->nsegs)
		return 1;
	if (!(b > a)) {
		for (size_t i = 0; i < s->nsegs; i++)
			if (a >= s->segs[i].a && a < s->segs[i].b)
				return s->segs[i].factor;
		return 1;
	}
	double covered = 0, sum = 0;
	for (size_t i = 0; i < s->nsegs; i++) {
		double x = fmax(a, s->segs[i].a), y = fmin(b, s->segs[i].b);
		if (y > x) {
			covered += y - x;
			sum += (y - x) * s->segs[i].factor;
		}
	}
	return (sum + (b - a - covered)) / (b - a);
}

void merge_energy_free(struct me_shard *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].segs);
		s[i].segs = NULL;
		s[i].nsegs = 0;
	}
}
