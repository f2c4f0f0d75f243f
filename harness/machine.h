/*
 * Machine-readable output (output stage): the identity of a run as CSV
 * columns, summary.csv, and the JSON and CSV files `report --json/--csv`
 * and `diff --json/--csv` write. Every writer takes the cost context the
 * caller settled (stored profiles with --profile and overrides applied), so
 * the files say what the printed report says. Numbers: NAN is an empty CSV
 * cell or JSON null, never 0; an unbounded interval end is "inf" in CSV
 * and null with "unbounded": true in JSON. Formats in results/README.md.
 */
#ifndef AP_MACHINE_H
#define AP_MACHINE_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "cost.h"
#include "summary.h"

struct run_ident {
	char run_id[256], label[256], model[256], model_sha256[80];
	char workload[128], workload_sha256[80], version[32];
};
void run_ident_from_meta(const cJSON *meta, struct run_ident *id);
/* ",run_id,backend_label,...": the columns appended to summary.csv and the other CSVs. */
extern const char RUN_IDENT_CSV_COLS[];
void run_ident_csv(FILE *f, const struct run_ident *id);
/* ",value": a CSV cell, quoted where needed; a number's NAN empty, infinity "inf". */
void csv_cell_str(FILE *f, const char *s);
void csv_cell_num(FILE *f, double v);

/* summary.csv: one row per repeat and form, then mean/stddev/rse_pct rows. cc may be NULL. */
void summary_csv_write(FILE *f, const struct run_ident *id, const struct run_agg *agg,
		       const struct cost_ctx *cc);

/* over-tasks.csv rows (form, category "all" and each category): Wilson and bootstrap intervals. */
void overtasks_csv(FILE *f, bool header, const struct run_ident *id, const struct run_agg *agg,
		   const struct cost_ctx *cc);

/* The whole report as one JSON object (run identity, profiles, per form: metrics and cost
 * figures over repeats, latency percentiles, figures over tasks by category). */
cJSON *report_json(const cJSON *meta, const struct run_agg *agg, const struct cost_ctx *cc);
/* Writes a cJSON object to path atomically-enough for our use (temp + rename). */
int json_write_file(const char *path, const cJSON *j);

/* report --csv DIR: summary.csv and over-tasks.csv of the settled run. */
int report_csv_dir(const char *dir, const cJSON *meta, const struct run_agg *agg,
		   const struct cost_ctx *cc);

/* diff's paired comparison, as JSON and as paired.csv rows (all + each category). */
cJSON *paired_json(const struct run_agg *A, const struct cost_ctx *ca, const struct run_agg *B,
		   const struct cost_ctx *cb, int form);
void paired_csv(FILE *f, const struct run_agg *A, const struct cost_ctx *ca,
		const struct run_agg *B, const struct cost_ctx *cb, int form);

#endif
