/*
 * Shared state of the energy module's three files: energy.c (probes, device
 * selection, baseline, summaries), sampler.c (the sampler thread, samples.csv)
 * and attrib.c (call windows and their shares). Not for other modules.
 */
#ifndef AP_ENERGY_INTERNAL_H
#define AP_ENERGY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "energy.h"
#include "probe.h"

#define ENERGY_MAX_PROBES 8
/*
 * Samples the attribution has not consumed yet. The sampler consumes all but
 * those younger than ATTRIB_SETTLE_NS, so a handful suffices; if it ever
 * fills, the oldest is consumed early (worst case: a late call registration
 * is clamped, counted in n_late).
 */
#define ENERGY_RING 256
/*
 * How long after a sample the attribution waits before splitting its
 * interval between calls: a worker takes its timestamp and registers it a
 * moment later, and an interval must not be split before every call that
 * overlaps it has been registered.
 */
#define ATTRIB_SETTLE_NS 20000000ull

struct energy_probe {
	struct probe p;
	bool opened;
	double vals[PROBE_MAX_CHANNELS];  /* last reading of each channel */
	double first[PROBE_MAX_CHANNELS]; /* reading at the run's first sample */
	double sum[PROBE_MAX_CHANNELS];   /* sum of instantaneous readings, for means */
	size_t nsum[PROBE_MAX_CHANNELS];
	double max[PROBE_MAX_CHANNELS];   /* largest instantaneous reading (GPU memory peak) */
	bool in_total[PROBE_MAX_CHANNELS];
	char note[PROBE_MAX_CHANNELS][96]; /* why a working energy channel is not summed */
};

struct energy_call {
	uint64_t key;
	uint64_t start, end;
	bool ended;
	double j;       /* device energy attributed so far */
	double share_s; /* integral of 1/(active calls) so far */
};

struct ring_sample {
	uint64_t t;
	double e; /* device energy, cumulative (J) */
};

struct energy {
	struct energy_opts o;
	struct probe_env env;
	char samples_csv[1024];
	struct energy_probe pr[ENERGY_MAX_PROBES];
	size_t n_pr;

	double interval_s;
	bool have_device, estimated;
	char device_prov[256];
	char estimate_reason[256];
	char estimate_reason_full[1024];

	pthread_mutex_t lock; /* everything below, and probe reads */
	double idle_w, idle_s;
	/* --settle (measure/validity.c): requested S, time waited, outcome */
	double settle_s, settle_waited_s, settle_var;
	bool settle_done, settled;

	/* samples of the run */
	bool started, stopped;
	size_t n_samples;
	uint64_t t_first, t_last;
	double e_first, e_last;
	struct ring_sample ring[ENERGY_RING];
	size_t ring_head, ring_len;

	/* attribution: everything before `frontier` is split between calls */
	uint64_t frontier;
	double e_frontier;
	struct energy_call *calls;
	size_t n_calls, cap_calls;
	uint64_t *points; /* scratch for one interval's breakpoints: 2*cap_calls+2 */
	double attributed_j, unattributed_j;
	size_t n_late;

	/* sampler thread */
	pthread_t thr;
	bool thr_running;
	atomic_bool stop;
	double sampler_cpu_s;
	FILE *csv;
	int csv_err;
};

/* energy.c */
double energy_device_now(struct energy *e);
/* sampler.c: reads every probe at t (lock held); updates vals only. */
void energy_read_probes(struct energy *e, uint64_t t);
/* sampler.c: one sample of the run at t (lock held). */
void energy_take_sample(struct energy *e, uint64_t t);
/* attrib.c (lock held) */
int attrib_init(struct energy *e);
void attrib_free(struct energy *e);
void attrib_push(struct energy *e, uint64_t t, double dev_j);
void attrib_advance(struct energy *e, uint64_t upto);
void attrib_end_all(struct energy *e, uint64_t t);
size_t attrib_active(const struct energy *e, uint64_t t);

#endif
