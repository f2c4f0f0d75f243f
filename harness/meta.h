#ifndef AP_META_H
#define AP_META_H

#include <cjson/cJSON.h>

#include "energy.h"
#include "runner.h"

/* meta.json at the start of a run (status "running"). */
cJSON *meta_new(int argc, char **argv, const char *run_id, const struct run_opts *o,
		const struct run_state *st);
/* Energy summary as meta.json's "energy" object (what the report reads). */
cJSON *energy_summary_json(const struct energy_summary *s, cJSON *probes);
/* Final status, repeats done, elapsed times, energy (ownership taken). */
void meta_finish(cJSON *m, const struct run_opts *o, const struct run_state *st, cJSON *energy);

#endif
