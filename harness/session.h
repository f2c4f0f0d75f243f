/*
 * The life of one run: results folder, energy probes and idle baseline,
 * the managed llama-server, the runner, meta.json, summary.csv and the
 * report. The command line (harness/cmd/run.c) validates everything first
 * and then calls session_run once per (workload, backend) pair.
 */
#ifndef AP_SESSION_H
#define AP_SESSION_H

#include <stdbool.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "energy.h"
#include "measure/srvview.h"
#include "profile.h"
#include "runner.h"

struct session_opts {
	struct run_opts o;      /* wl and be are set per pair by session_run */
	bool record;            /* write results/<run-id>/ (record) or only print (stat) */
	const char *output;     /* results base folder */
	const char *run_id;     /* --run-id, or NULL for time-backend-model-workload */
	bool no_energy;
	struct energy_opts eo;
	pid_t watch[16];
	int n_watch;
	struct srvview_opts sv; /* --metrics-interval, --cache (measure/srvview.h) */
	double settle_s;        /* --settle S: 0 none */
	struct profile_cli pc;  /* --profile and overrides */
	/* --resume DIR: the folder, and its meta.json (the run's own options). */
	const char *resume;
	const cJSON *resume_meta;
	/* The command line meta.json records. */
	int argc;
	char **argv;
};

/* What session_run did, for the command's exit status. */
struct session_outcome {
	long calls, calls_failed; /* measured calls and those that failed */
	long tasks;               /* task runs counted */
	bool refused;             /* the run folder could not be made or resumed: exit 2 */
};

/*
 * Runs workload wl against backend be. `name` is the run folder's name
 * (record; ignored on --resume, which reuses the folder). Prints the
 * report. Returns 0 or -errno (the error printed); out is filled either way.
 */
int session_run(const struct session_opts *s, struct workload *wl, struct backend *be,
		const char *name, struct session_outcome *out);

#endif
