/*
 * The measuring side as the runner sees it: opens the probes, measures an
 * idle baseline, runs the one sampler thread, and attributes energy to call
 * windows. Probes themselves live in probes/.
 *
 * Attribution: a call's energy is the integral of device power over its
 * window; where calls overlap, each instant's power is split equally between
 * the calls active at that instant ("time share"). Energy while no call is
 * active is unattributed. attributed + unattributed == total to rounding.
 */
#ifndef AP_ENERGY_H
#define AP_ENERGY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

struct energy;

struct energy_opts {
	const char *sysfs_root;   /* NULL: "/" (env AGENTPERF_SYSFS_ROOT overrides) */
	const char *procfs_root;  /* NULL: "/proc" (env AGENTPERF_PROCFS_ROOT) */
	const char *nvml_lib;     /* NULL: "libnvidia-ml.so.1" (env AGENTPERF_NVML_LIB) */
	const char *probes;       /* comma list of probe names to use; NULL: all that work */
	double interval_s;        /* sampler interval; 0: default (the probes' own minimum allowed) */
	double idle_s;            /* idle baseline length before the run; 0: skip */
	double watts_per_core;    /* estimator: W per busy core-second (from the profile) */
	double idle_watts;        /* estimator: machine idle W (from the profile) */
	const char *samples_csv;  /* path of samples.csv to stream to, or NULL */
	/*
	 * No sampler thread: the caller takes every sample with energy_sample()
	 * on its own timeline (tests; replaying a trace). Call windows are then
	 * on that timeline too.
	 */
	bool manual_sampling;
};

/* Status of a probe or channel (energy_channel_summary.status). */
enum energy_status {
	ENERGY_OK = 0,
	ENERGY_NOT_SUPPORTED = 1, /* no hardware, library or driver */
	ENERGY_NO_PERMISSION = 2, /* exists but this user may not read it */
	ENERGY_LOST = 3,          /* worked, then failed during the run */
};
const char *energy_status_str(int status); /* "ok", "not supported", ... */

/* Energy attributed to one call. */
struct energy_share {
	double device_j; /* gross, device boundary (non-overlapping domains summed) */
	double idle_j;   /* idle baseline power x the call's time share; NAN without a baseline */
	double share_s;  /* the call's time share: integral of 1/(calls active) over its window */
	bool valid;      /* false: no energy source at all (report <not supported>) */
};

#define ENERGY_MAX_CHANNELS 64

struct energy_channel_summary {
	char name[64];        /* "<probe>:<channel>", e.g. "rapl-powercap:package-0" */
	char provenance[128]; /* "measured:rapl-powercap:package-0", "estimated:cpu-time-model" */
	char unit[8];         /* "J", "W", "%", "s", "C", "B" */
	int status;           /* 0 ok, else not supported / no permission (see reason) */
	char reason[192];
	bool in_device_total; /* summed into the device figure (no overlap with others) */
	double total;         /* J for energy channels; mean for others */
	double avg_w;         /* energy channels: total / duration */
	double max;           /* instantaneous channels: largest reading; NAN for others */
};

struct energy_summary {
	double duration_s;         /* sampled span of the run */
	size_t n_samples;
	double interval_s;
	size_t n_channels;
	struct energy_channel_summary ch[ENERGY_MAX_CHANNELS];
	bool have_device;          /* some energy source (measured or estimated) exists */
	bool estimated;            /* device figure is estimated, not measured */
	char device_provenance[256];
	char estimate_reason[256]; /* why no counter was used, when estimated */
	double device_j;           /* gross device energy over the run */
	double attributed_j, unattributed_j;
	double idle_w;             /* baseline power (device boundary), NAN if no baseline */
	double idle_s;             /* baseline length */
	double cpu_util_machine;   /* share of all cores busy, 0..1, NAN if unknown */
	double cpu_s_self, cpu_s_watched; /* CPU seconds of agentperf and of watched PIDs */
	double sampler_cpu_s;      /* the sampler thread's own CPU time */
	size_t n_late;             /* call begin/end registered after the sampler had
				      accounted past their timestamp (clamped) */
	char attribution_key[32];  /* how overlapping calls share a window: "time-share" */
};

int energy_open(struct energy **out, const struct energy_opts *o);
/* Tells the CPU-time probe about a process (e.g. the model server). */
int energy_watch_pid(struct energy *e, pid_t pid);
/* Measures idle power for opts.idle_s seconds (nothing else should run). */
int energy_baseline(struct energy *e);
int energy_start(struct energy *e);
void energy_call_begin(struct energy *e, uint64_t key, uint64_t t_start_ns);
void energy_call_end(struct energy *e, uint64_t key, uint64_t t_end_ns);
/* 0 and *out filled (call then forgotten), or -EAGAIN until samples cover the window. */
int energy_attribute(struct energy *e, uint64_t key, struct energy_share *out);
/* Takes a final sample and joins the sampler; energy_attribute then never says -EAGAIN. */
int energy_stop(struct energy *e);
void energy_summarize(struct energy *e, struct energy_summary *s);
/*
 * Manual sampling (opts.manual_sampling): reads every probe now and stamps
 * the sample t_ns, which must not go backwards. Returns 0 or -errno.
 */
int energy_sample(struct energy *e, uint64_t t_ns);
/*
 * Uses a known idle power instead of measuring one (e.g. the baseline of an
 * earlier run on the same machine); idle_s is recorded as its length.
 */
void energy_set_idle(struct energy *e, double idle_w, double idle_s);
/*
 * Rows of another source (the server metrics scraper) in samples.csv, stamped
 * t (CLOCK_MONOTONIC ns, on the run's clock) and numbered seq by that
 * source. Takes the energy lock only to write; nothing is written before the
 * first sample or after energy_stop. The caller's thread sets the C locale.
 */
struct energy_row {
	const char *probe, *channel, *unit, *status;
	double value; /* NAN: empty cell */
};
void energy_csv_rows(struct energy *e, uint64_t t, size_t seq, const struct energy_row *rows,
		     size_t n);
/*
 * --settle S (measure/validity.c): before energy_baseline, waits until device
 * power varies by under 5 % ((max - min) / mean of ten sub-windows of S/10)
 * over S seconds, at most max_wait_s. Returns 0 settled, -ETIMEDOUT not
 * settled (the caller goes on; meta.json says so), -EINTR on Ctrl-C.
 */
int energy_settle(struct energy *e, double settle_s, double max_wait_s);
/*
 * Adds to meta.json's energy block: measurement_method, sampling_rate_hz,
 * attribution {policy, rule}, settle {requested_s, waited_s, settled},
 * baseline {idle_w, last_known_idle_w, warm}, and estimator_check (the
 * CPU-time estimator's disagreement with the measured device figure, %).
 * The last known idle is kept in $AGENTPERF_IDLE_STATE or
 * ~/.cache/agentperf/idle-<host>.json, per device provenance.
 */
void energy_validity_add(cJSON *blk, struct energy *e, const struct energy_summary *s);
/* The sampler interval in use (after defaults and probe minimums). */
double energy_interval(const struct energy *e);
cJSON *energy_meta_json(const struct energy *e);
void energy_close(struct energy *e);

/* `agentperf list`: every registered probe and channel, with status and reason. */
void energy_print_list(FILE *f, const struct energy_opts *o);

/* Every name in a --probes list (comma-separated) is a known probe: 0, or -EINVAL with err. */
int energy_probes_check(const char *list, char *err, size_t n);

#endif
