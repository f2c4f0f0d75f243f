#ifndef AP_REPORT_H
#define AP_REPORT_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "summary.h"

/* Prints the perf-stat-like report from meta.json's object and the aggregates. */
void report_print(FILE *f, const cJSON *meta, const struct run_agg *a);

#endif
