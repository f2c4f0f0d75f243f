/*
 * agentperf table RUN... [--md|--latex|--csv] [--by category] [--form F]:
 * many runs in one table of the headline figures with their uncertainty
 * over tasks (docs/statistics.md): success rate with its Wilson interval,
 * attempts per success, J and $ per successful task with bootstrap
 * intervals. Each run's stored profiles are used (report DIR --profile ...
 * re-settles them). Output layer: formats what overtasks.c computes.
 */
#include "table.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cost.h"
#include "jsonv.h"
#include "machine.h"
#include "overtasks.h"
#include "report_tasks.h"
#include "results.h"
#include "util.h"

enum tfmt { T_TEXT, T_MD, T_LATEX, T_CSV };

#define T_COLS 9
static const char *const t_head[T_COLS] = {
	"backend", "model", "workload", "category", "tasks", "success % [95 % CI]",
	"attempts/success", "J/success [95 % CI]", "$/success [95 % CI]",
};
static const char *const t_head_csv =
	"v,backend,model,workload,category,form,tasks,task_ids,successes,success_rate,"
	"success_rate_lo,success_rate_hi,attempts_per_success,energy_j_per_success,energy_j_lo,"
	"energy_j_hi,energy_boundary,usd_per_success,usd_lo,usd_hi,run_dir\n";

struct trow {
	char c[T_COLS][96];
};

static void latex_cell(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (strchr("&%$#_{}", *s))
			fputc('\\', f);
		if (*s == '~' || *s == '^' || *s == '\\' || *s == '<' || *s == '>')
			fputs(*s == '~'    ? "\\textasciitilde{}"
			      : *s == '^'  ? "\\textasciicircum{}"
			      : *s == '<'  ? "\\textless{}"
			      : *s == '>'  ? "\\textgreater{}"
					   : "\\textbackslash{}",
			      f);
		else
			fputc(*s, f);
	}
}

static void md_cell(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', f);
		fputc(*s, f);
	}
}

static void emit(FILE *f, enum tfmt fmt, const struct trow *rows, size_t n)
{
	size_t w[T_COLS];
	for (int i = 0; i < T_COLS; i++) {
		w[i] = strlen(t_head[i]);
		for (size_t r = 0; r < n; r++)
			w[i] = strlen(rows[r].c[i]) > w[i] ? strlen(rows[r].c[i]) : w[i];
	}
	if (fmt == T_LATEX)
		fputs("\\begin{tabular}{llllrrrrr}\n\\hline\n", f);
	for (size_t r = 0; r <= n; r++) {
		const char *const *cells = r ? NULL : t_head;
		for (int i = 0; i < T_COLS; i++) {
			const char *s = r ? rows[r - 1].c[i] : cells[i];
			switch (fmt) {
			case T_MD:
				fputs(i ? " | " : "| ", f);
				md_cell(f, s);
				break;
			case T_LATEX:
				if (i)
					fputs(" & ", f);
				latex_cell(f, s);
				break;
			default:
				fprintf(f, i < 4 ? "%-*s  " : "%*s  ", (int)w[i], s);
			}
		}
		fputs(fmt == T_MD ? " |\n" : fmt == T_LATEX ? " \\\\\n" : "\n", f);
		if (!r && fmt == T_MD) {
			for (int i = 0; i < T_COLS; i++)
				fputs(i < 4 ? "| --- " : "| ---: ", f);
			fputs("|\n", f);
		}
		if (!r && fmt == T_LATEX)
			fputs("\\hline\n", f);
	}
	if (fmt == T_LATEX)
		fputs("\\hline\n\\end{tabular}\n", f);
}

static void est_ci(char *buf, size_t n, const struct ts_ci *c, double scale, int prec,
		   const char *none)
{
	char ci[64];
	if (isnan(c->est)) {
		snprintf(buf, n, "%s", none);
		return;
	}
	ci_format(ci, sizeof(ci), c, scale, prec);
	if (prec < 0)
		snprintf(buf, n, "%.*f %s", -prec, c->est * scale, ci);
	else
		snprintf(buf, n, "%.*g %s", prec, c->est * scale, ci);
}

struct trun {
	const char *dir;
	struct run_agg agg;
	cJSON *meta;
	struct profile_set ps;
	struct cost_ctx c;
	bool have_c;
};

static void add_row(FILE *csv, struct trow *row, const struct trun *t, int form, const char *cat,
		    const struct ot_fig *x)
{
	const cJSON *be = cJSON_GetObjectItemCaseSensitive(t->meta, "backend");
	const cJSON *wl = cJSON_GetObjectItemCaseSensitive(t->meta, "workload");
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(t->meta, "model");
	const char *model = jv_str_or(be, "model", jv_str_or(md, "general_name", "?"));
	long att = 0;
	for (size_t i = 0; i < t->agg.n_units; i++) {
		const struct task_unit *u = &t->agg.units[i];
		if (u->form == form && (!cat || !strcmp(cat, u->category)))
			att += u->attempts;
	}
	double aps = x->successes ? (double)att / (double)x->successes : NAN;
	const char *none = x->successes ? "<not counted>" : "no success";
	if (csv) {
		fprintf(csv, "%d", CSV_VERSION);
		csv_cell_str(csv, jv_str_or(be, "label", ""));
		csv_cell_str(csv, model);
		csv_cell_str(csv, jv_str_or(wl, "name", ""));
		csv_cell_str(csv, cat ? cat : "all");
		fprintf(csv, ",%s,%ld,%ld,%ld", form_name(form), x->tasks, x->clusters, x->successes);
		csv_cell_num(csv, x->rate.est);
		csv_cell_num(csv, x->rate.lo);
		csv_cell_num(csv, x->rate.hi);
		csv_cell_num(csv, aps);
		csv_cell_num(csv, x->j.est);
		csv_cell_num(csv, x->j.lo);
		csv_cell_num(csv, x->j.hi);
		fputs(x->j_total ? ",total" : ",device", csv);
		csv_cell_num(csv, x->usd.est);
		csv_cell_num(csv, x->usd.lo);
		csv_cell_num(csv, x->usd.hi);
		csv_cell_str(csv, t->dir);
		fputc('\n', csv);
		return;
	}
	snprintf(row->c[0], sizeof(row->c[0]), "%s", jv_str_or(be, "label", "?"));
	snprintf(row->c[1], sizeof(row->c[1]), "%s", model);
	snprintf(row->c[2], sizeof(row->c[2]), "%s", jv_str_or(wl, "name", "?"));
	snprintf(row->c[3], sizeof(row->c[3]), "%s", cat ? (cat[0] ? cat : "(none)") : "all");
	snprintf(row->c[4], sizeof(row->c[4]), "%ld", x->tasks);
	est_ci(row->c[5], sizeof(row->c[5]), &x->rate, 100, -1, "-");
	if (isnan(aps))
		snprintf(row->c[6], sizeof(row->c[6]), "%s", none);
	else
		snprintf(row->c[6], sizeof(row->c[6]), "%.2f", aps);
	est_ci(row->c[7], sizeof(row->c[7]), &x->j, 1, 4, none);
	if (!isnan(x->j.est))
		strncat(row->c[7], x->j_total ? " total" : " device",
			sizeof(row->c[7]) - strlen(row->c[7]) - 1);
	est_ci(row->c[8], sizeof(row->c[8]), &x->usd, 1, 4, x->successes ? "no profile" : none);
}

static void usage(void)
{
	ap_err("usage: agentperf table RUN... [--md | --latex | --csv] [--by category] "
	       "[--form mono|decomp]");
}

int table_main(int argc, char **argv)
{
	enum { O_MD = 300, O_LATEX, O_CSV, O_BY, O_FORM, O_HELP };
	static const struct option opts[] = {
		{ "md", no_argument, 0, O_MD },
		{ "latex", no_argument, 0, O_LATEX },
		{ "csv", no_argument, 0, O_CSV },
		{ "by", required_argument, 0, O_BY },
		{ "form", required_argument, 0, O_FORM },
		{ "help", no_argument, 0, O_HELP },
		{ 0, 0, 0, 0 },
	};
	enum tfmt fmt = T_TEXT;
	bool by_cat = false;
	int form = FORM_MONO, ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case O_MD: fmt = T_MD; break;
		case O_LATEX: fmt = T_LATEX; break;
		case O_CSV: fmt = T_CSV; break;
		case O_BY:
			if (strcmp(optarg, "category")) {
				ap_err("--by: only 'category' (got '%s')", optarg);
				return 2;
			}
			by_cat = true;
			break;
		case O_FORM:
			if ((form = form_parse(optarg)) < 0) {
				ap_err("--form: mono or decomp (got '%s')", optarg);
				return 2;
			}
			break;
		case O_HELP:
			printf("usage: agentperf table RUN... [--md | --latex | --csv] [--by category] "
			       "[--form mono|decomp]\n\n"
			       "  One row per run (and per category with --by category): success rate with\n"
			       "  its 95 %% Wilson interval, attempts per success, J and $ per successful\n"
			       "  task with 95 %% bootstrap intervals over task ids (docs/statistics.md).\n");
			return 0;
		default: usage(); return 2;
		}
	}
	int n = argc - optind;
	if (n < 1) {
		usage();
		return 2;
	}
	struct trun *runs = calloc((size_t)n, sizeof(*runs));
	struct trow *rows = NULL;
	size_t nrows = 0, cap = 0;
	int rc = 0;
	if (!runs)
		return 1;
	for (int i = 0; i < n && !rc; i++) {
		struct ap_error err = { { 0 } };
		char perr[512];
		struct trun *t = &runs[i];
		t->dir = argv[optind + i];
		if (results_load(t->dir, &t->agg, &t->meta, &err)) {
			ap_err("%s", err.msg);
			rc = 1;
			break;
		}
		if (cost_ctx_from_meta(&t->c, &t->ps, t->meta, perr, sizeof(perr))) {
			ap_err("%s: %s", t->dir, perr);
			rc = 1;
			break;
		}
		t->have_c = true;
	}
	FILE *csv = fmt == T_CSV ? stdout : NULL;
	if (csv && !rc)
		fputs(t_head_csv, csv);
	for (int i = 0; i < n && !rc; i++) {
		struct trun *t = &runs[i];
		if (!t->agg.ran[form]) {
			ap_warn("%s: no %s-form tasks: left out", t->dir, form_name(form));
			continue;
		}
		const char **cats = NULL;
		long nc = by_cat ? ot_categories(&t->agg, form, &cats) : 0;
		for (long k = -1; k < (nc > 1 ? nc : 0); k++) {
			struct ot_fig x;
			const char *cat = k < 0 ? NULL : cats[k];
			if (ot_compute(&t->agg, t->have_c ? &t->c : NULL, form, cat, &ts_boot_default, &x)) {
				rc = 1;
				break;
			}
			if (nrows == cap) {
				size_t nc2 = cap ? 2 * cap : 16;
				struct trow *nr = realloc(rows, nc2 * sizeof(*nr));
				if (!nr) {
					rc = 1;
					break;
				}
				rows = nr;
				cap = nc2;
			}
			add_row(csv, &rows[nrows], t, form, cat, &x);
			if (!csv)
				nrows++;
		}
		free(cats);
	}
	if (!rc && !csv)
		emit(stdout, fmt, rows, nrows);
	if (!rc && fmt == T_TEXT)
		printf("\n95 %% intervals over tasks: Wilson (success), bootstrap of %d resamples of task "
		       "ids, seed %llu (J, $);\nJ is the cost block's total where the run has a profile, "
		       "else device energy (docs/statistics.md)\n",
		       ts_boot_default.resamples, (unsigned long long)ts_boot_default.seed);
	for (int i = 0; i < n; i++) {
		if (runs[i].meta)
			run_agg_free(&runs[i].agg);
		cJSON_Delete(runs[i].meta);
	}
	free(runs);
	free(rows);
	return rc;
}
