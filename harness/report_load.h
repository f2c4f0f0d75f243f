/*
 * The report's load block (issue 12): for a run with an arrival schedule
 * (--rate), an SLO (--slo) or tool latency, the latency from each call's
 * scheduled start beside the service latency the form block gives, the
 * tasks' queueing delay, the SLO's goodput with J and $ per SLO-meeting
 * success, and the time and energy spent waiting on tools, apart from the
 * calls'. Prints nothing for a closed-loop run without SLO or tool waits.
 */
#ifndef AP_REPORT_LOAD_H
#define AP_REPORT_LOAD_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "summary.h"

void report_load_print(FILE *f, const cJSON *meta, const struct run_agg *a, int form);

#endif
