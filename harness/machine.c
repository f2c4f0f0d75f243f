#include "machine.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonv.h"
#include "overtasks.h"
#include "report.h"
#include "util.h"

const char RUN_IDENT_CSV_COLS[] =
	",run_id,backend_label,model,model_sha256,workload,workload_sha256,agentperf_version";

void run_ident_from_meta(const cJSON *meta, struct run_ident *id)
{
	const cJSON *be = cJSON_GetObjectItemCaseSensitive(meta, "backend");
	const cJSON *wl = cJSON_GetObjectItemCaseSensitive(meta, "workload");
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(meta, "model"); /* managed runs */
	memset(id, 0, sizeof(*id));
	ap_scopy(id->run_id, sizeof(id->run_id), jv_str_or(meta, "run_id", ""));
	ap_scopy(id->label, sizeof(id->label), jv_str_or(be, "label", ""));
	const char *model = jv_str_or(be, "model", NULL);
	if (!model)
		model = jv_str_or(md, "general_name", NULL);
	if (!model)
		model = jv_str_or(md, "file", "");
	ap_scopy(id->model, sizeof(id->model), model);
	/* A remote model has no file to hash: empty, not a made-up value. */
	ap_scopy(id->model_sha256, sizeof(id->model_sha256), jv_str_or(md, "sha256", ""));
	ap_scopy(id->workload, sizeof(id->workload), jv_str_or(wl, "name", ""));
	ap_scopy(id->workload_sha256, sizeof(id->workload_sha256), jv_str_or(wl, "sha256", ""));
	ap_scopy(id->version, sizeof(id->version), jv_str_or(meta, "agentperf_version", ""));
}

void csv_cell_str(FILE *f, const char *s)
{
	struct sbuf b = { 0 };
	csv_field(&b, s);
	fputc(',', f);
	fputs(b.s ? b.s : "", f);
	sbuf_free(&b);
}

void run_ident_csv(FILE *f, const struct run_ident *id)
{
	const char *v[] = { id->run_id, id->label, id->model, id->model_sha256,
			    id->workload, id->workload_sha256, id->version };
	for (size_t i = 0; i < AP_ARRAY_SIZE(v); i++)
		csv_cell_str(f, v[i]);
}

void csv_cell_num(FILE *f, double v)
{
	if (isnan(v))
		fputs(",", f);
	else if (isinf(v))
		fputs(",inf", f);
	else
		fprintf(f, ",%.9g", v);
}

static void cost_col_name(FILE *f, enum cost_fig c)
{
	/* The context share is a share of input tokens, not a per-success figure;
	 * the headline figure must not take the name of the device-energy metric. */
	if (c == CF_CTX_SHARE)
		fprintf(f, ",%s", cost_fig_name(c));
	else if (c == CF_HEADLINE_J)
		fputs(",total_energy_j_per_success", f);
	else
		fprintf(f, ",%s_per_success", cost_fig_name(c));
}

void summary_csv_write(FILE *f, const struct run_ident *id, const struct run_agg *agg,
		       const struct cost_ctx *cc)
{
	fputs("v,form,repeat", f);
	for (int m = 0; m < M_COUNT; m++)
		fprintf(f, ",%s", metric_name(m));
	for (int c = 0; c < CF_COUNT; c++)
		cost_col_name(f, c);
	fprintf(f, "%s\n", RUN_IDENT_CSV_COLS);
	for (int form = 0; form < AGG_SLOTS; form++) {
		if (!agg->ran[form])
			continue;
		for (int i = 1; i <= agg->repeats; i++) {
			fprintf(f, "%d,%s,%d", CSV_VERSION, form_name(form), i);
			for (int m = 0; m < M_COUNT; m++)
				csv_cell_num(f, form_metric(agg, i, form, m));
			for (int c = 0; c < CF_COUNT; c++)
				csv_cell_num(f, cc ? cost_figure(cc, agg, i, form, c) : NAN);
			run_ident_csv(f, id);
			fputc('\n', f);
		}
		const char *rows[] = { "mean", "stddev", "rse_pct" };
		for (int k = 0; k < 3; k++) {
			fprintf(f, "%d,%s,%s", CSV_VERSION, form_name(form), rows[k]);
			for (int m = 0; m < M_COUNT + CF_COUNT; m++) {
				struct welford w = m < M_COUNT ? run_metric(agg, form, m)
					: cc ? cost_run_figure(cc, agg, form, m - M_COUNT)
					     : (struct welford){ 0 };
				csv_cell_num(f, !w.n ? NAN : k == 0 ? w.mean : k == 1 ? welford_stddev(&w)
									 : welford_rse_pct(&w));
			}
			run_ident_csv(f, id);
			fputc('\n', f);
		}
	}
}

static void ci_cells(FILE *f, const struct ts_ci *c)
{
	csv_cell_num(f, c->est);
	csv_cell_num(f, c->lo);
	csv_cell_num(f, c->hi);
}

static void overtasks_row(FILE *f, const struct run_ident *id, int form, const char *cat,
			  const struct ot_fig *x)
{
	fprintf(f, "%d,%s", CSV_VERSION, form_name(form));
	csv_cell_str(f, cat);
	fprintf(f, ",%ld,%ld,%ld", x->tasks, x->clusters, x->successes);
	ci_cells(f, &x->rate);
	ci_cells(f, &x->j);
	fputs(x->j_total ? ",total" : ",device", f);
	ci_cells(f, &x->usd);
	run_ident_csv(f, id);
	fputc('\n', f);
}

void overtasks_csv(FILE *f, bool header, const struct run_ident *id, const struct run_agg *agg,
		   const struct cost_ctx *cc)
{
	const struct ts_boot *b = &ts_boot_default;
	if (header)
		fprintf(f, "v,form,category,tasks,task_ids,successes,success_rate,success_rate_lo,"
			   "success_rate_hi,energy_j_per_success,energy_j_lo,energy_j_hi,energy_boundary,"
			   "usd_per_success,usd_lo,usd_hi%s\n", RUN_IDENT_CSV_COLS);
	for (int form = 0; form < FORM_COUNT; form++) {
		if (!agg->ran[form])
			continue;
		struct ot_fig x;
		if (!ot_compute(agg, cc, form, NULL, b, &x))
			overtasks_row(f, id, form, "all", &x);
		const char **cats = NULL;
		long nc = ot_categories(agg, form, &cats);
		for (long i = 0; nc > 1 && i < nc; i++)
			if (!ot_compute(agg, cc, form, cats[i], b, &x))
				overtasks_row(f, id, form, cats[i], &x);
		free(cats);
	}
}

/* ---- JSON ---- */

static void jnum(cJSON *o, const char *k, double v)
{
	if (isnan(v) || isinf(v))
		cJSON_AddNullToObject(o, k);
	else
		cJSON_AddNumberToObject(o, k, v);
}

static cJSON *jci(const struct ts_ci *c)
{
	cJSON *o = cJSON_CreateObject();
	jnum(o, "estimate", c->est);
	jnum(o, "lo", c->lo);
	jnum(o, "hi", c->hi);
	if (isinf(c->hi))
		cJSON_AddTrueToObject(o, "unbounded");
	return o;
}

static cJSON *jw(const struct welford *w)
{
	cJSON *o = cJSON_CreateObject();
	jnum(o, "mean", w->n ? w->mean : NAN);
	jnum(o, "stddev", w->n > 1 ? welford_stddev(w) : NAN);
	jnum(o, "rse_pct", w->n > 1 ? welford_rse_pct(w) : NAN);
	cJSON_AddNumberToObject(o, "n", (double)w->n);
	return o;
}

static cJSON *jfig(const struct ot_fig *x)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "tasks", (double)x->tasks);
	cJSON_AddNumberToObject(o, "task_ids", (double)x->clusters);
	cJSON_AddNumberToObject(o, "successes", (double)x->successes);
	cJSON_AddItemToObject(o, "success_rate_wilson95", jci(&x->rate));
	cJSON_AddItemToObject(o, "energy_j_per_success_bootstrap95", jci(&x->j));
	cJSON_AddStringToObject(o, "energy_boundary", x->j_total ? "total" : "device");
	cJSON_AddItemToObject(o, "usd_per_success_bootstrap95", jci(&x->usd));
	return o;
}

static cJSON *jident(const struct run_ident *id)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "run_id", id->run_id);
	cJSON_AddStringToObject(o, "backend_label", id->label);
	cJSON_AddStringToObject(o, "model", id->model);
	cJSON_AddStringToObject(o, "model_sha256", id->model_sha256);
	cJSON_AddStringToObject(o, "workload", id->workload);
	cJSON_AddStringToObject(o, "workload_sha256", id->workload_sha256);
	cJSON_AddStringToObject(o, "agentperf_version", id->version);
	return o;
}

static cJSON *percentiles_json(const struct run_agg *agg, int form)
{
	const double *p;
	size_t np = report_percentiles(&p);
	cJSON *o = cJSON_CreateObject();
	const char *names[] = { "ttft_s", "e2e_s", "itl_s" };
	for (int which = 0; which < 3; which++) {
		cJSON *m = cJSON_AddObjectToObject(o, names[which]);
		for (size_t i = 0; i < np; i++) {
			struct welford w = { 0 };
			for (int r = 1; r <= agg->repeats; r++) {
				const struct form_agg *x = run_agg_get((struct run_agg *)agg, r, form);
				const struct hist *h = !x ? NULL : which == 0 ? &x->ttft : which == 1 ? &x->e2e
											: &x->itl;
				double q = h ? hist_pct(h, p[i]) : NAN;
				if (!isnan(q))
					welford_add(&w, q);
			}
			char k[24];
			snprintf(k, sizeof(k), "p%g", p[i]);
			cJSON_AddItemToObject(m, k, jw(&w));
		}
	}
	return o;
}

cJSON *report_json(const cJSON *meta, const struct run_agg *agg, const struct cost_ctx *cc)
{
	struct run_ident id;
	run_ident_from_meta(meta, &id);
	const struct ts_boot *b = &ts_boot_default;
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "agentperf_json", 1);
	cJSON_AddItemToObject(o, "run", jident(&id));
	cJSON_AddStringToObject(o, "status", jv_str_or(meta, "status", "complete"));
	cJSON_AddNumberToObject(o, "repeats", agg->repeats);
	const cJSON *prof = cJSON_GetObjectItemCaseSensitive(meta, "profiles");
	if (prof)
		cJSON_AddItemToObject(o, "profiles", cJSON_Duplicate(prof, 1));
	const cJSON *en = cJSON_GetObjectItemCaseSensitive(meta, "energy");
	cJSON_AddStringToObject(o, "device_energy_provenance",
				jv_str_or(en, "device_provenance", "none"));
	cJSON *bo = cJSON_AddObjectToObject(o, "bootstrap");
	cJSON_AddNumberToObject(bo, "resamples", b->resamples);
	cJSON_AddNumberToObject(bo, "seed", (double)b->seed);
	cJSON_AddStringToObject(bo, "generator", "splitmix64");
	cJSON_AddNumberToObject(bo, "level", b->level);
	cJSON *forms = cJSON_AddObjectToObject(o, "forms");
	for (int form = 0; form < AGG_SLOTS; form++) {
		if (!agg->ran[form])
			continue;
		cJSON *fo = cJSON_AddObjectToObject(forms, form_name(form));
		cJSON *mo = cJSON_AddObjectToObject(fo, "over_repeats");
		for (int m = 0; m < M_COUNT; m++) {
			struct welford w = run_metric(agg, form, m);
			cJSON_AddItemToObject(mo, metric_name(m), jw(&w));
		}
		if (cc) {
			for (int c = 0; c < CF_COUNT; c++) {
				struct welford w = cost_run_figure(cc, agg, form, c);
				char k[64];
				snprintf(k, sizeof(k), "%s%s", c == CF_HEADLINE_J ? "total_energy_j" : cost_fig_name(c),
					 c == CF_CTX_SHARE ? "" : "_per_success");
				cJSON_AddItemToObject(mo, k, jw(&w));
			}
		}
		cJSON_AddItemToObject(fo, "latency_percentiles", percentiles_json(agg, form));
		if (form >= FORM_COUNT)
			continue;
		struct ot_fig x;
		if (ot_compute(agg, cc, form, NULL, b, &x))
			continue;
		cJSON *ot = jfig(&x);
		cJSON_AddItemToObject(fo, "over_tasks", ot);
		cJSON *cats = cJSON_AddObjectToObject(ot, "categories");
		const char **cv = NULL;
		long nc = ot_categories(agg, form, &cv);
		for (long i = 0; nc > 1 && i < nc; i++)
			if (!ot_compute(agg, cc, form, cv[i], b, &x))
				cJSON_AddItemToObject(cats, cv[i], jfig(&x));
		free(cv);
	}
	return o;
}

int json_write_file(const char *path, const cJSON *j)
{
	char tmp[4200];
	char *s = cJSON_Print(j);
	if (!s)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	int rc = 0;
	if (!f) {
		rc = -errno;
		goto out;
	}
	if (fputs(s, f) < 0 || fputc('\n', f) < 0 || fflush(f))
		rc = -EIO;
	if (fclose(f) && !rc)
		rc = -EIO;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
out:
	free(s);
	return rc;
}

static FILE *open_in(const char *dir, const char *name, int *rc)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f) {
		*rc = -errno;
		ap_err("cannot write %s: %s", p, strerror(errno));
	}
	return f;
}

int report_csv_dir(const char *dir, const cJSON *meta, const struct run_agg *agg,
		   const struct cost_ctx *cc)
{
	int rc = 0;
	if (mkdir(dir, 0755) && errno != EEXIST) {
		ap_err("cannot create %s: %s", dir, strerror(errno));
		return -errno;
	}
	struct run_ident id;
	run_ident_from_meta(meta, &id);
	FILE *f = open_in(dir, "summary.csv", &rc);
	if (!f)
		return rc;
	summary_csv_write(f, &id, agg, cc);
	if (fclose(f))
		rc = -EIO;
	if (!(f = open_in(dir, "over-tasks.csv", &rc)))
		return rc;
	overtasks_csv(f, true, &id, agg, cc);
	if (fclose(f))
		rc = -EIO;
	return rc;
}

/* ---- diff's paired comparison ---- */

static cJSON *jpaired(const struct ot_paired *p)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "pairs", (double)p->pairs);
	cJSON_AddNumberToObject(o, "task_ids", (double)p->clusters);
	cJSON_AddNumberToObject(o, "both", (double)p->both);
	cJSON_AddNumberToObject(o, "a_only", (double)p->a_only);
	cJSON_AddNumberToObject(o, "b_only", (double)p->b_only);
	cJSON_AddNumberToObject(o, "neither", (double)p->neither);
	jnum(o, "mcnemar_exact_p", p->mcnemar_p);
	cJSON_AddItemToObject(o, "energy_per_success_ratio_b_a", jci(&p->j_ratio));
	jnum(o, "energy_ratio_p", p->j_p);
	cJSON_AddItemToObject(o, "usd_per_success_ratio_b_a", jci(&p->usd_ratio));
	jnum(o, "usd_ratio_p", p->usd_p);
	cJSON_AddItemToObject(o, "energy_j_per_task_diff_b_a", jci(&p->j_diff));
	cJSON_AddItemToObject(o, "usd_per_task_diff_b_a", jci(&p->usd_diff));
	return o;
}

cJSON *paired_json(const struct run_agg *A, const struct cost_ctx *ca, const struct run_agg *B,
		   const struct cost_ctx *cb, int form)
{
	struct ot_paired p;
	if (ot_paired(A, ca, B, cb, form, NULL, &ts_boot_default, &p))
		return NULL;
	cJSON *o = jpaired(&p);
	cJSON *cats = cJSON_AddObjectToObject(o, "categories");
	const char **cv = NULL;
	long nc = ot_categories(A, form, &cv);
	for (long i = 0; nc > 1 && i < nc; i++)
		if (!ot_paired(A, ca, B, cb, form, cv[i], &ts_boot_default, &p))
			cJSON_AddItemToObject(cats, cv[i], jpaired(&p));
	free(cv);
	return o;
}

static void paired_row(FILE *f, int form, const char *cat, const struct ot_paired *p)
{
	fprintf(f, "%d,%s", CSV_VERSION, form_name(form));
	csv_cell_str(f, cat);
	fprintf(f, ",%ld,%ld,%ld,%ld,%ld,%ld", p->pairs, p->clusters, p->both, p->a_only, p->b_only,
		p->neither);
	csv_cell_num(f, p->mcnemar_p);
	ci_cells(f, &p->j_ratio);
	csv_cell_num(f, p->j_p);
	ci_cells(f, &p->usd_ratio);
	csv_cell_num(f, p->usd_p);
	fputc('\n', f);
}

void paired_csv(FILE *f, const struct run_agg *A, const struct cost_ctx *ca,
		const struct run_agg *B, const struct cost_ctx *cb, int form)
{
	fputs("v,form,category,pairs,task_ids,both,a_only,b_only,neither,mcnemar_p,"
	      "energy_ratio_b_a,energy_ratio_lo,energy_ratio_hi,energy_ratio_p,usd_ratio_b_a,"
	      "usd_ratio_lo,usd_ratio_hi,usd_ratio_p\n", f);
	struct ot_paired p;
	if (!ot_paired(A, ca, B, cb, form, NULL, &ts_boot_default, &p))
		paired_row(f, form, "all", &p);
	const char **cv = NULL;
	long nc = ot_categories(A, form, &cv);
	for (long i = 0; nc > 1 && i < nc; i++)
		if (!ot_paired(A, ca, B, cb, form, cv[i], &ts_boot_default, &p))
			paired_row(f, form, cv[i], &p);
	free(cv);
}
