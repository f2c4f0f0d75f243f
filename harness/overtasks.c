#include "overtasks.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool has_profile(const struct cost_ctx *c)
{
	return c && ((c->local && c->local->loaded) || (c->remote && c->remote->loaded));
}

/* One task's energy and dollars, counted as the run-level figures count them. */
static void unit_cost(const struct run_agg *a, const struct cost_ctx *c, const struct task_unit *u,
		      double *j, double *usd)
{
	if (!has_profile(c)) {
		*j = u->energy_valid ? u->energy_j : NAN;
		*usd = NAN;
		return;
	}
	struct cost_slice s = {
		.calls = u->calls,
		.prompt_tokens = u->prompt_tokens,
		.completion_tokens = u->completion_tokens,
		.cached_tokens = u->cached_tokens,
		.device_j = u->energy_valid ? u->energy_j : NAN,
		.busy_s = u->duration_s * cost_busy_scale(a, u->repeat),
	};
	struct cost_out o;
	cost_compute(c, &s, &o);
	*j = o.headline_j;
	*usd = o.usd;
}

static int cmp_unit_id(const void *x, const void *y)
{
	const struct task_unit *a = *(const struct task_unit *const *)x;
	const struct task_unit *b = *(const struct task_unit *const *)y;
	int d = strcmp(a->task_id, b->task_id);
	return d ? d : a->repeat - b->repeat;
}

/* The units of one form (and category), sorted by task id then repeat. */
static long select_units(const struct run_agg *a, int form, const char *category,
			 const struct task_unit ***out)
{
	const struct task_unit **v = malloc((a->n_units + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	long n = 0;
	for (size_t i = 0; i < a->n_units; i++) {
		const struct task_unit *u = &a->units[i];
		if (u->form == form && (!category || !strcmp(category, u->category)))
			v[n++] = u;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_unit_id);
	*out = v;
	return n;
}

/* Sums per task id: num (J or $) and den (successes); returns the cluster count. */
static size_t clusters(const struct run_agg *a, const struct cost_ctx *c,
		       const struct task_unit **v, long n, double *j, double *usd, double *succ,
		       const char **ids)
{
	size_t k = 0;
	for (long i = 0; i < n; i++) {
		if (!i || strcmp(v[i]->task_id, v[i - 1]->task_id)) {
			j[k] = usd[k] = succ[k] = 0;
			ids[k] = v[i]->task_id;
			k++;
		}
		double uj, uu;
		unit_cost(a, c, v[i], &uj, &uu);
		j[k - 1] += uj;
		usd[k - 1] += uu;
		succ[k - 1] += v[i]->success;
	}
	return k;
}

int ot_compute(const struct run_agg *a, const struct cost_ctx *c, int form, const char *category,
	       const struct ts_boot *b, struct ot_fig *out)
{
	const struct task_unit **v = NULL;
	double *buf = NULL;
	const char **ids = NULL;
	int rc = 0;
	memset(out, 0, sizeof(*out));
	out->j_total = has_profile(c);
	long n = select_units(a, form, category, &v);
	if (n < 0)
		return (int)n;
	for (long i = 0; i < n; i++)
		out->successes += v[i]->success;
	out->tasks = n;
	out->rate = ts_wilson(out->successes, n, TS_Z95);
	buf = malloc(3 * ((size_t)n + 1) * sizeof(*buf));
	ids = malloc(((size_t)n + 1) * sizeof(*ids));
	if (!buf || !ids) {
		rc = -ENOMEM;
		goto out;
	}
	double *j = buf, *usd = buf + n + 1, *succ = buf + 2 * (n + 1);
	size_t k = clusters(a, c, v, n, j, usd, succ, ids);
	out->clusters = (long)k;
	if ((rc = ts_boot_ratio(j, succ, k, b, &out->j)))
		goto out;
	rc = ts_boot_ratio(usd, succ, k, b, &out->usd);
out:
	free(v);
	free(buf);
	free(ids);
	return rc;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

long ot_categories(const struct run_agg *a, int form, const char ***out)
{
	const char **v = malloc((a->n_units + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	long n = 0;
	for (size_t i = 0; i < a->n_units; i++)
		if (a->units[i].form == form)
			v[n++] = a->units[i].category;
	qsort(v, (size_t)n, sizeof(*v), cmp_str);
	long k = 0;
	for (long i = 0; i < n; i++)
		if (!k || strcmp(v[i], v[k - 1]))
			v[k++] = v[i];
	*out = v;
	return k;
}

int ot_paired(const struct run_agg *A, const struct cost_ctx *ca, const struct run_agg *B,
	      const struct cost_ctx *cb, int form, const char *category, const struct ts_boot *b,
	      struct ot_paired *out)
{
	const struct task_unit **va = NULL, **vb = NULL;
	double *buf = NULL;
	int rc = 0;
	memset(out, 0, sizeof(*out));
	out->mcnemar_p = out->j_p = out->usd_p = NAN;
	long na = select_units(A, form, category, &va);
	long nb = na < 0 ? 0 : select_units(B, form, category, &vb);
	if (na < 0 || nb < 0) {
		rc = -ENOMEM;
		goto out;
	}
	size_t cap = (size_t)(na < nb ? na : nb) + 1;
	buf = malloc(6 * cap * sizeof(*buf));
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	double *aj = buf, *au = buf + cap, *as = buf + 2 * cap, *bj = buf + 3 * cap;
	double *bu = buf + 4 * cap, *bs = buf + 5 * cap;
	size_t k = 0;
	/* Merge-join the two sorted lists on task id. */
	long i = 0, j = 0;
	while (i < na && j < nb) {
		int d = strcmp(va[i]->task_id, vb[j]->task_id);
		if (d) {
			d < 0 ? i++ : j++;
			continue;
		}
		long i2 = i, j2 = j;
		while (i2 < na && !strcmp(va[i2]->task_id, va[i]->task_id))
			i2++;
		while (j2 < nb && !strcmp(vb[j2]->task_id, vb[j]->task_id))
			j2++;
		aj[k] = au[k] = as[k] = bj[k] = bu[k] = bs[k] = 0;
		for (long x = i; x < i2; x++) {
			double uj, uu;
			unit_cost(A, ca, va[x], &uj, &uu);
			aj[k] += uj;
			au[k] += uu;
			as[k] += va[x]->success;
			/* McNemar pairs: B's unit of the same repeat, else B's first. */
			const struct task_unit *m = vb[j];
			for (long y = j; y < j2; y++)
				if (vb[y]->repeat == va[x]->repeat)
					m = vb[y];
			out->pairs++;
			if (va[x]->success && m->success)
				out->both++;
			else if (va[x]->success)
				out->a_only++;
			else if (m->success)
				out->b_only++;
			else
				out->neither++;
		}
		for (long y = j; y < j2; y++) {
			double uj, uu;
			unit_cost(B, cb, vb[y], &uj, &uu);
			bj[k] += uj;
			bu[k] += uu;
			bs[k] += vb[y]->success;
		}
		/* Clusters of unequal repeat counts: per-task means keep the pair comparable. */
		double ra = (double)(i2 - i), rb = (double)(j2 - j);
		aj[k] /= ra, au[k] /= ra, as[k] /= ra;
		bj[k] /= rb, bu[k] /= rb, bs[k] /= rb;
		k++;
		i = i2;
		j = j2;
	}
	out->clusters = (long)k;
	out->mcnemar_p = out->pairs ? ts_mcnemar_exact_p(out->a_only, out->b_only) : NAN;
	if ((rc = ts_boot_paired(aj, as, bj, bs, k, b, &out->j_ratio, &out->j_p, &out->j_diff)))
		goto out;
	rc = ts_boot_paired(au, as, bu, bs, k, b, &out->usd_ratio, &out->usd_p, &out->usd_diff);
out:
	free(va);
	free(vb);
	free(buf);
	return rc;
}
