/*
 * The report's BFCL block: per-category accuracy in the shape of BFCL's
 * leaderboard (each category, non-live and live summaries, overall), with
 * tokens per task and joules per successful task. Prints nothing for runs
 * of other formats.
 */
#ifndef AP_REPORT_BFCL_H
#define AP_REPORT_BFCL_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "summary.h"

void report_bfcl_print(FILE *f, const cJSON *meta, const struct run_agg *a);

#endif
