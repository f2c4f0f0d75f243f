#ifndef AP_REPORT_H
#define AP_REPORT_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "summary.h"

/* Prints the perf-stat-like report from meta.json's object and the aggregates. */
void report_print(FILE *f, const cJSON *meta, const struct run_agg *a);

/* One perf-stat style line: value, unit, name, then an optional '# comment'
 * and, with w over 2 or more repeats, its "( +- x% )". */
void report_line(FILE *f, const char *value, const char *unit, const char *name,
		 const char *comment, const struct welford *w);

#endif
