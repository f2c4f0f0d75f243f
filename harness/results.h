/*
 * results/<run-id>/: meta.json, calls.csv, attempts.csv, tasks.csv,
 * summary.csv (samples.csv comes from the energy side). Rows are appended and
 * flushed as each task finishes, so an interrupted or killed run leaves
 * readable files. Columns are documented in results/README.md.
 */
#ifndef AP_RESULTS_H
#define AP_RESULTS_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "cost.h"
#include "record.h"
#include "summary.h"
#include "util.h"


struct results;

/* Creates base/run_id (refusing an existing one) and the CSV files with headers. */
int results_create(struct results **out, const char *base, const char *run_id,
		   struct ap_error *err);
/*
 * Opens an existing run folder and locks it (resume: see resume.h); the
 * CSVs are opened for appending by results_reopen_csvs, once repaired.
 * Both results_create and this hold an exclusive flock on the folder until
 * results_close: a second record or resume of the folder gets -EBUSY.
 */
int results_open_existing(struct results **out, const char *dir, struct ap_error *err);
int results_reopen_csvs(struct results *r, struct ap_error *err);
/* The header line (with its newline) this version writes for name, or NULL. */
const char *results_csv_header(const char *name);
const char *results_dir(const struct results *r);
/* Path of a file inside the results folder (static per call site is not safe: caller's buffer). */
int results_path(const struct results *r, const char *name, char *buf, size_t len);
void results_set_energy_source(struct results *r, const char *src);
int results_write_task(struct results *r, const struct task_rec *t, const struct attempt_rec *a,
		       size_t na, const struct call_rec *c, size_t nc);
/* Writes meta.json atomically (temp file, then rename). */
int results_write_meta(struct results *r, const cJSON *meta);
/* cc: the run's cost context (profiles); its per-success columns are empty
 * where it counts nothing (no profile, no energy) or cc is NULL. */
int results_write_summary(struct results *r, const struct run_agg *agg, const struct cost_ctx *cc);
/* Writes the text file `name` (report.txt) atomically like meta.json: print(f, arg) writes it,
 * so the folder's owner never calls the printer (report.h's report_print_to). */
int results_write_text(struct results *r, const char *name, void (*print)(FILE *f, void *arg),
		       void *arg);
void results_close(struct results *r);

/* A minimal CSV reader for our own files: header-indexed, quoted fields. */
struct csv_reader {
	FILE *f;
	char *line;
	size_t cap;
	char **field;
	size_t n, nalloc;
	char **header;
	size_t nheader;
	size_t lineno;
	const char *path;
};
int csv_open(struct csv_reader *c, const char *path);
/* Next row: 0, 1 at end, -errno. */
int csv_next(struct csv_reader *c);
/* Field by column name, or "" when the file has no such column. */
const char *csv_get(const struct csv_reader *c, const char *col);
void csv_close(struct csv_reader *c);

/* Reads a results folder back into records and aggregates. */
int results_load(const char *dir, struct run_agg *agg, cJSON **meta, struct ap_error *err);

#endif
