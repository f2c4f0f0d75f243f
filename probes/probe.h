/*
 * Probes: sources of energy, power, utilization and temperature. Each is a
 * const struct probe_ops in the one table of probes/registry.c. A probe that
 * cannot work here (no hardware, no library, no permission) still opens
 * "successfully" and says why in its status and reason, so `agentperf list`
 * and the report can print it the way perf prints <not supported>.
 *
 * The contract that keeps the energy core simple: every channel whose unit is
 * "J" reports a CUMULATIVE energy since the probe was opened, already
 * unwrapped (RAPL) or integrated (power-only sources); the core only ever
 * subtracts two readings. Other channels report an instantaneous value in
 * their unit, or a cumulative one where `cumulative` says so (CPU seconds).
 */
#ifndef AP_PROBE_H
#define AP_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "energy.h"

#define PROBE_MAX_CHANNELS 48
#define PROBE_REASON_LEN 192

/* What the core does with a channel beyond recording it. */
enum probe_role {
	ROLE_NONE = 0,
	ROLE_ENERGY,        /* device energy source (J, cumulative) */
	ROLE_MACHINE_BUSY,  /* busy CPU-seconds of the whole machine (cumulative) */
	ROLE_MACHINE_NCPU,  /* number of CPUs (constant) */
	ROLE_SELF_CPU,      /* agentperf's own CPU-seconds (cumulative) */
	ROLE_WATCHED_CPU,   /* a watched process's CPU-seconds (cumulative) */
};

/* Which energy domains overlap: the core sums only non-overlapping ones. */
enum probe_domain {
	DOM_NONE = 0,
	DOM_PACKAGE,  /* CPU socket: contains core and uncore */
	DOM_CORE,     /* inside package */
	DOM_UNCORE,   /* inside package */
	DOM_DRAM,     /* separate from package */
	DOM_PSYS,     /* whole SoC/platform: contains package (and more) */
	DOM_GPU,      /* a discrete accelerator */
	DOM_OTHER,    /* hwmon power/energy input of unknown coverage */
	DOM_ESTIMATE, /* the estimator's whole-machine model */
};

struct probe_channel {
	char name[64];         /* channel name inside its probe, e.g. "package-0/dram" */
	char unit[8];          /* "J", "W", "%", "s", "C", "B", "" */
	bool cumulative;       /* value is a running total (J, CPU s) */
	enum probe_role role;
	enum probe_domain domain;
	int status;            /* enum energy_status */
	char reason[PROBE_REASON_LEN];
	double scale;          /* raw unit to `unit`, for meta.json (e.g. 1e-6 for uJ) */
	char raw_unit[16];     /* what the source reports, e.g. "uJ", "mW" */
	char source[160];      /* file or API the value comes from */
	int socket;            /* package number for RAPL domains, GPU index, else -1 */
};

/* Everything a probe may need to open: roots, library paths, profile figures. */
struct probe_env {
	char sysfs_root[512];  /* prefix under which "sys/..." lives; "" means "/" */
	char procfs_root[512]; /* the proc directory itself, e.g. "/proc" */
	char nvml_lib[512];
	double watts_per_core; /* estimator figures; 0: documented defaults */
	double idle_watts;
};

struct probe;

struct probe_ops {
	const char *name;
	const char *description;
	/* Shortest sampling interval that gives meaningful readings. */
	double min_interval_s;
	/*
	 * Fills p->status/reason and p->ch[]; returns 0 even when the probe is
	 * unavailable (status says why), -errno only for failures of the program
	 * itself (out of memory).
	 */
	int (*open)(struct probe *p, const struct probe_env *env);
	/*
	 * Reads every channel at time t_ns (CLOCK_MONOTONIC, or the caller's
	 * timeline in manual sampling): vals[i] for p->ch[i]. A channel that
	 * fails is marked ENERGY_LOST with the reason and keeps its last value.
	 */
	int (*read)(struct probe *p, uint64_t t_ns, double *vals);
	void (*close)(struct probe *p);
};

struct probe {
	const struct probe_ops *ops;
	int status; /* enum energy_status: ok if any channel works */
	char reason[PROBE_REASON_LEN];
	size_t n_ch;
	struct probe_channel ch[PROBE_MAX_CHANNELS];
	void *priv;
};

/* The one table of probes, in preference order. */
extern const struct probe_ops *const probe_table[];
extern const size_t probe_table_len;

extern const struct probe_ops probe_rapl_perf;
extern const struct probe_ops probe_rapl_powercap;
extern const struct probe_ops probe_nvml;
extern const struct probe_ops probe_sensors;
extern const struct probe_ops probe_procfs;
extern const struct probe_ops probe_estimator;

/* --- helpers shared by probes (probes/registry.c) --- */

void probe_env_init(struct probe_env *env, const struct energy_opts *o);
bool probe_env_default_sysfs(const struct probe_env *env);
/* "<sysfs_root>/sys/<rel>" */
int probe_sys_path(char *buf, size_t n, const struct probe_env *env, const char *rel);
void probe_set_status(struct probe *p, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Appends a channel (NULL when full); status ok, scale 1, socket -1. */
struct probe_channel *probe_add_channel(struct probe *p, const char *name, const char *unit);
void probe_chan_lost(struct probe_channel *c, int err, const char *what);
/* Maps an errno to ENERGY_NO_PERMISSION / ENERGY_NOT_SUPPORTED. */
int probe_errno_status(int err);

/*
 * open(2) used by every probe for sysfs/procfs files. Tests running as root
 * (where mode 000 does not stop a read) install a hook that makes permission
 * checks behave as for an unprivileged user: it returns 0 to let the open
 * proceed or -errno to fail it. NULL in production.
 */
extern int (*probe_open_hook)(const char *path, int flags);
int probe_open_file(const char *path, int flags); /* fd or -errno */
/* pread of a small text file from offset 0; NUL-terminated; -errno. */
int probe_pread_text(int fd, char *buf, size_t n);
/* Reads a whole small file by path; -errno. Trailing newline stripped. */
int probe_read_text(const char *path, char *buf, size_t n);
int probe_read_u64(const char *path, uint64_t *out);

/*
 * /proc/stat: busy and total jiffies of the aggregate "cpu" line, read with
 * pread from an open fd (busy = user nice system irq softirq; steal is the
 * hypervisor's time given to someone else, so it counts as neither).
 */
int probe_proc_stat_read(int fd, unsigned long long *busy, unsigned long long *total);
/* Number of "cpuN" lines in a /proc/stat file; 0 when unreadable. */
int probe_count_cpus(const char *stat_path);

/* procfs: tells the CPU-time probe about a process to watch. */
int procfs_watch_pid(struct probe *p, pid_t pid);

/*
 * libpfm4 event encoding for perf_event_open (rapl_perf.c). Returns 0 and
 * fills *type and *config, -ENOENT when libpfm does not know the event here,
 * -ENOTSUP when built without libpfm; err gets a message.
 */
int pfm_encode(const char *event, uint32_t *type, uint64_t *config, char *err, size_t errlen);

#endif
