/*
 * Shards: a deterministic slice of a run's (repeat, task) units, so that N
 * copies of `agentperf record` started by a cluster's own engine (a Slurm
 * array, a Kubernetes Indexed Job) run every unit exactly once between them,
 * and `agentperf merge` joins their folders into one run.
 *
 * The split (stable across machines, builds and versions; results/README.md
 * documents it, test_shard.c pins values):
 *
 *   h(id)            = FNV-1a 64 of the task id's bytes (offset basis
 *                      0xcbf29ce484222325, prime 0x100000001b3)
 *   shard(id, r, N)  = (h(id) mod N + (r - 1) mod N) mod N    (r = repeat, from 1)
 *
 * A task's repeats rotate over consecutive shards, so a workload with fewer
 * tasks than shards still spreads when it has repeats. Indices are 0-based:
 * shard I of N holds the units with shard(id, r, N) == I.
 */
#ifndef AP_SHARD_H
#define AP_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHARD_MAX 100000

/* Where the shard numbers came from (meta.json "shard.source"). */
enum shard_source { SHARD_NONE, SHARD_OPTION, SHARD_SLURM, SHARD_KUBERNETES };

struct shard {
	int index, count;       /* 0 <= index < count; count 0: not sharded */
	enum shard_source source;
	char detail[160];       /* the variables read, e.g. "SLURM_ARRAY_TASK_ID=2 ..." */
};

uint64_t shard_hash(const char *task_id);
int shard_of(const char *task_id, int repeat, int count);
/* True when the unit belongs to s (always, for an unsharded run). */
bool shard_has(const struct shard *s, const char *task_id, int repeat);
const char *shard_source_name(enum shard_source s);
/* The enum for a name shard_source_name gave; SHARD_OPTION for anything else. */
enum shard_source shard_source_parse(const char *name);

/*
 * Resolves the shard: from the option's "I/N" when opt is non-NULL,
 * otherwise from the environment (getenv): SLURM_ARRAY_TASK_ID with
 * SLURM_ARRAY_TASK_COUNT (or _MIN/_MAX/_STEP), then JOB_COMPLETION_INDEX
 * with AGENTPERF_SHARDS. No shard anywhere: count 0, returns 0.
 * Returns 0 or -EINVAL with the reason in err.
 */
int shard_resolve(struct shard *s, const char *opt, char *err, size_t n);

#endif

#include <cjson/cJSON.h>

/*
 * meta.json's "shard" object at the start of a sharded run: index, count,
 * source and the variables read, hostname, host_id (AGENTPERF_HOST_ID, else
 * /etc/machine-id, else /var/lib/dbus/machine-id; null with host_id_reason),
 * job ids (SLURM_ARRAY_JOB_ID, SLURM_JOB_ID, AGENTPERF_JOB_ID) and
 * started_unix_s. NULL on allocation failure.
 */
cJSON *shard_meta_json(const struct shard *s);
/* At the end: finished_unix_s, the units run, and the wall-clock times of
 * the run's clock zero (calls' t_start_s) and of the first energy sample
 * (samples.csv t_s; NAN: no sampler), which merge needs to line shards up. */
void shard_meta_finish(cJSON *meta, long units, long units_total, double clock_zero_unix_s,
		       double samples_zero_unix_s);
