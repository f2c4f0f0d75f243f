#include "report_tasks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "overtasks.h"

/* prec > 0: significant digits; prec < 0: -prec decimals. */
static void num(char *buf, size_t n, double v, int prec)
{
	if (prec < 0)
		snprintf(buf, n, "%.*f", -prec, v);
	else
		snprintf(buf, n, "%.*g", prec, v);
}

void ci_format(char *buf, size_t n, const struct ts_ci *ci, double scale, int prec)
{
	char lo[32], hi[32];
	if (isnan(ci->lo) || isnan(ci->hi)) {
		snprintf(buf, n, "<not counted>");
		return;
	}
	num(lo, sizeof(lo), ci->lo * scale, prec);
	if (isinf(ci->hi))
		snprintf(hi, sizeof(hi), "unbounded");
	else
		num(hi, sizeof(hi), ci->hi * scale, prec);
	snprintf(buf, n, "[%s, %s]", lo, hi);
}

static void est_format(char *buf, size_t n, double v, int prec, const char *none)
{
	if (isnan(v))
		snprintf(buf, n, "%s", none);
	else
		num(buf, n, v, prec);
}

static void fig_row(FILE *f, const char *name, const struct ot_fig *x)
{
	char r[24], rc[40], j[24], jc[48], u[24], uc[48];
	est_format(r, sizeof(r), x->rate.est * 100, -2, "-");
	ci_format(rc, sizeof(rc), &x->rate, 100, -1);
	const char *none = x->successes ? "<not counted>" : "no success";
	est_format(j, sizeof(j), x->j.est, 4, none);
	ci_format(jc, sizeof(jc), &x->j, 1, 4);
	est_format(u, sizeof(u), x->usd.est, 4, none);
	ci_format(uc, sizeof(uc), &x->usd, 1, 4);
	fprintf(f, "   %-20.20s %6ld %8s %-14s %13s %-24s %13s %s\n", name, x->tasks, r, rc, j,
		isnan(x->j.est) ? "" : jc, u, isnan(x->usd.est) ? "" : uc);
}

void report_tasks_print(FILE *f, const cJSON *meta, const struct run_agg *a)
{
	struct profile_set ps;
	struct cost_ctx c, *cp = NULL;
	char err[512];
	if (cJSON_GetObjectItemCaseSensitive(meta, "profiles") &&
	    !cost_ctx_from_meta(&c, &ps, meta, err, sizeof(err)))
		cp = &c;
	const struct ts_boot *b = &ts_boot_default;
	for (int form = 0; form < FORM_COUNT; form++) {
		if (!a->ran[form])
			continue;
		struct ot_fig all;
		if (ot_compute(a, cp, form, NULL, b, &all))
			continue;
		fprintf(f, "\n   over tasks, %s form (%ld task runs over %ld task ids; 95 %% intervals: Wilson for\n"
			   "   the success rate, bootstrap of %d resamples of task ids, seed %llu, for the\n"
			   "   per-success figures; energy: %s):\n\n",
			form == FORM_MONO ? "monolithic" : "decomposed", all.tasks, all.clusters,
			b->resamples, (unsigned long long)b->seed,
			all.j_total ? "total, the cost block's boundary" : "device, as measured/estimated");
		fprintf(f, "   %-20s %6s %8s %-14s %13s %-24s %13s %s\n", "category", "tasks", "success%",
			"[95 %]", "J/success", "[95 %]", "$/success", "[95 %]");
		fig_row(f, "all", &all);
		const char **cats = NULL;
		long nc = ot_categories(a, form, &cats);
		for (long i = 0; nc > 1 && i < nc; i++) {
			struct ot_fig x;
			if (!ot_compute(a, cp, form, cats[i], b, &x))
				fig_row(f, cats[i][0] ? cats[i] : "(none)", &x);
		}
		free(cats);
	}
}

static void paired_line(FILE *f, const char *what, const struct ts_ci *r, double p)
{
	char v[24], ci[48];
	est_format(v, sizeof(v), r->est, 4, "<not counted>");
	ci_format(ci, sizeof(ci), r, 1, 4);
	fprintf(f, "   %-22s %12s %-26s", what, v, isnan(r->est) ? "" : ci);
	if (!isnan(p) && !isnan(r->est))
		fprintf(f, " paired bootstrap p = %.4g", p);
	fputc('\n', f);
}

void diff_tasks_print(FILE *f, const struct run_agg *A, const struct cost_ctx *ca,
		      const struct run_agg *B, const struct cost_ctx *cb, int form)
{
	const struct ts_boot *b = &ts_boot_default;
	struct ot_paired p;
	if (ot_paired(A, ca, B, cb, form, NULL, b, &p))
		return;
	fprintf(f, "\n   paired over the same tasks (%ld task x repeat pairs, %ld task ids; exact McNemar on\n"
		   "   per-task success, paired bootstrap of %d resamples of task ids, seed %llu, 95 %%):\n\n",
		p.pairs, p.clusters, b->resamples, (unsigned long long)b->seed);
	if (!p.pairs) {
		fprintf(f, "   <not counted>: the runs share no task id\n");
		return;
	}
	fprintf(f, "   success: both %ld, A only %ld, B only %ld, neither %ld; McNemar p = %.4g (%s)\n",
		p.both, p.a_only, p.b_only, p.neither, p.mcnemar_p,
		p.mcnemar_p < 0.05 ? "the success rates differ" : "no evidence they differ");
	paired_line(f, "J/success B/A", &p.j_ratio, p.j_p);
	paired_line(f, "$/success B/A", &p.usd_ratio, p.usd_p);
	paired_line(f, "J per task B-A (mean)", &p.j_diff, NAN);
	paired_line(f, "$ per task B-A (mean)", &p.usd_diff, NAN);
	const char **cats = NULL;
	long nc = ot_categories(A, form, &cats);
	if (nc > 1) {
		fprintf(f, "\n   %-20s %6s %10s %10s %7s %7s %11s %11s %s\n", "by category", "pairs",
			"A success%", "B success%", "A only", "B only", "McNemar p", "J B/A", "[95 %]");
		for (long i = 0; i < nc; i++) {
			struct ot_paired q;
			if (ot_paired(A, ca, B, cb, form, cats[i], b, &q) || !q.pairs)
				continue;
			char v[24], ci[48];
			est_format(v, sizeof(v), q.j_ratio.est, 4, "-");
			ci_format(ci, sizeof(ci), &q.j_ratio, 1, 4);
			fprintf(f, "   %-20.20s %6ld %10.2f %10.2f %7ld %7ld %11.4g %11s %s\n",
				cats[i][0] ? cats[i] : "(none)", q.pairs,
				100.0 * (double)(q.both + q.a_only) / (double)q.pairs,
				100.0 * (double)(q.both + q.b_only) / (double)q.pairs, q.a_only, q.b_only,
				q.mcnemar_p, v, isnan(q.j_ratio.est) ? "" : ci);
		}
	}
	free(cats);
}
