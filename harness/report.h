#ifndef AP_REPORT_H
#define AP_REPORT_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "summary.h"

/* Prints the perf-stat-like report from meta.json's object and the aggregates. */
void report_print(FILE *f, const cJSON *meta, const struct run_agg *a);

/* What report_print takes, for callbacks (results_write_text's print). */
struct report_input {
	const cJSON *meta;
	const struct run_agg *agg;
};
/* report_print(f, in->meta, in->agg) with in a struct report_input *. */
void report_print_to(FILE *f, void *in);

/* The report's cost block (report_cost.c); prints nothing when meta.json has no profiles. */
void cost_report(FILE *f, const cJSON *meta, const struct run_agg *a);

/* The report's server lines (metrics, cache, fit: report_srv.c), from meta.json and the
 * aggregates that measure/srvview.c collected. */
void srvview_report_print(FILE *f, const cJSON *meta, const struct run_agg *a);

/* One perf-stat style line: value, unit, name, then an optional '# comment'
 * and, with w over 2 or more repeats, its "( +- x% )". */
void report_line(FILE *f, const char *value, const char *unit, const char *name,
		 const char *comment, const struct welford *w);

/* --percentiles LIST: comma-separated percentiles in (0, 100] for the latency
 * lines (default 50,95); at most REPORT_MAX_PCT. -EINVAL with a message in err. */
#define REPORT_MAX_PCT 16
int report_set_percentiles(const char *list, char *err, size_t n);
size_t report_percentiles(const double **out);

#endif
