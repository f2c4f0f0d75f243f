/*
 * The estimator: for machines where no energy counter is readable (VMs,
 * locked-down hosts), whole-machine energy is modelled from CPU time:
 *
 *     E(t) = idle_watts * t + watts_per_core * busy CPU-seconds
 *
 * Its figures come from the deployment profile. Without one, the defaults
 * are Cloud Carbon Footprint's AWS averages derived from SPECpower_ssj2008
 * (https://www.cloudcarbonfootprint.org/docs/methodology/): 0.74 W per vCPU
 * at 0% utilisation and 3.5 W per vCPU at 100%, i.e. idle 0.74 W x vCPUs and
 * 2.76 W per busy vCPU-second. They are a fleet average, not this machine, so
 * the channel's provenance always says "estimated" and names the figures.
 * energy.c uses this probe only when no measured energy channel works.
 */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define CCF_MIN_W_PER_VCPU 0.74
#define CCF_MAX_W_PER_VCPU 3.5

struct est_priv {
	int fd;
	double tck;
	double idle_w, w_per_core;
	bool started;
	uint64_t t0_ns;
	unsigned long long busy0;
	double last;
};

static int read_busy(int fd, unsigned long long *busy)
{
	unsigned long long total;
	return probe_proc_stat_read(fd, busy, &total);
}

static int est_open(struct probe *p, const struct probe_env *env)
{
	char path[600];
	struct est_priv *pv = calloc(1, sizeof(*pv));
	if (!pv)
		return -ENOMEM;
	p->priv = pv;
	pv->fd = -1;
	long tck = sysconf(_SC_CLK_TCK);
	pv->tck = tck > 0 ? (double)tck : 100.0;

	struct probe_channel *c = probe_add_channel(p, "cpu-time-model", "J");
	c->cumulative = true;
	c->role = ROLE_ENERGY;
	c->domain = DOM_ESTIMATE;
	snprintf(c->raw_unit, sizeof(c->raw_unit), "J");

	snprintf(path, sizeof(path), "%s/stat", env->procfs_root);
	int fd = probe_open_file(path, O_RDONLY);
	unsigned long long b;
	int rc = fd < 0 ? fd : read_busy(fd, &b);
	if (rc) {
		if (fd >= 0)
			close(fd);
		c->status = probe_errno_status(-rc);
		snprintf(c->reason, sizeof(c->reason), "no CPU time to model from: %.120s: %s",
			 path, strerror(-rc));
		probe_set_status(p, c->status, "%s", c->reason);
		return 0;
	}
	pv->fd = fd;
	int ncpu = probe_count_cpus(path);
	if (ncpu <= 0)
		ncpu = 1;
	bool dfl_idle = !(env->idle_watts > 0), dfl_core = !(env->watts_per_core > 0);
	pv->idle_w = dfl_idle ? CCF_MIN_W_PER_VCPU * ncpu : env->idle_watts;
	pv->w_per_core = dfl_core ? CCF_MAX_W_PER_VCPU - CCF_MIN_W_PER_VCPU : env->watts_per_core;
	snprintf(c->source, sizeof(c->source), "%.140s (busy CPU-seconds)", path);
	snprintf(c->reason, sizeof(c->reason),
		 "model: %.3g W idle%s + %.3g W per busy CPU-second%s", pv->idle_w,
		 dfl_idle ? " (0.74 W x vCPUs, CCF default)" : " (profile)", pv->w_per_core,
		 dfl_core ? " (CCF AWS average, SPECpower)" : " (profile)");
	probe_set_status(p, ENERGY_OK, "estimated:cpu-time-model, %s", c->reason);
	return 0;
}

static int est_read(struct probe *p, uint64_t t_ns, double *vals)
{
	struct est_priv *pv = p->priv;
	struct probe_channel *c = &p->ch[0];
	if (c->status != ENERGY_OK)
		return 0;
	unsigned long long b;
	int rc = read_busy(pv->fd, &b);
	if (rc) {
		probe_chan_lost(c, -rc, c->source);
		return 0;
	}
	/* The model's clock starts at the first sample, on the sampler's timeline. */
	if (!pv->started) {
		pv->started = true;
		pv->t0_ns = t_ns;
		pv->busy0 = b;
	}
	double t = (double)(t_ns - pv->t0_ns) * 1e-9;
	double busy_s = (double)(b - pv->busy0) / pv->tck;
	pv->last = pv->idle_w * t + pv->w_per_core * busy_s;
	vals[0] = pv->last;
	return 0;
}

static void est_close(struct probe *p)
{
	struct est_priv *pv = p->priv;
	if (!pv)
		return;
	if (pv->fd >= 0)
		close(pv->fd);
	free(pv);
	p->priv = NULL;
}

const struct probe_ops probe_estimator = {
	.name = "estimator",
	.description = "whole-machine energy estimated from CPU time (idle W + W per busy core)",
	.min_interval_s = 0.05,
	.open = est_open,
	.read = est_read,
	.close = est_close,
};
