/*
 * Printers of the statistics over tasks (overtasks.h): the report's
 * "over tasks" table (all tasks and each category) and diff's paired block.
 * Output layer: formats what overtasks.c computed.
 */
#ifndef AP_REPORT_TASKS_H
#define AP_REPORT_TASKS_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "cost.h"
#include "summary.h"
#include "taskstat.h"

/* "[lo, hi]" (prec > 0: %.*g digits, < 0: %.*f decimals) with "unbounded" for an infinite end, "<not counted>" for NAN. */
void ci_format(char *buf, size_t n, const struct ts_ci *ci, double scale, int prec);

/* The report's block; builds the cost context from meta's profiles itself. */
void report_tasks_print(FILE *f, const cJSON *meta, const struct run_agg *a);

/* diff's paired block for one form. */
void diff_tasks_print(FILE *f, const struct run_agg *A, const struct cost_ctx *ca,
		      const struct run_agg *B, const struct cost_ctx *cb, int form);

#endif
