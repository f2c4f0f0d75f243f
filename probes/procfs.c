/*
 * CPU time from /proc: the whole machine (/proc/stat), agentperf itself
 * (/proc/self/stat) and any watched process (the model server), so that a
 * local server's share of the machine can be attributed to it. Files stay
 * open and are pread at offset 0, which makes procfs regenerate them.
 */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

enum { CH_BUSY, CH_UTIL, CH_NCPU, CH_SELF, CH_FIRST_PID };

struct pf_priv {
	double tck;                         /* USER_HZ: /proc/stat's unit */
	int fd[PROBE_MAX_CHANNELS];         /* CH_BUSY shares its fd with CH_UTIL */
	double base[PROBE_MAX_CHANNELS];    /* reading at open (or at watch) */
	unsigned long long last_busy, last_total;
	double ncpu;
	char root[512];
};

static int read_machine(int fd, unsigned long long *busy, unsigned long long *total)
{
	return probe_proc_stat_read(fd, busy, total);
}

/* utime + stime of a /proc/<pid>/stat, in ticks. comm may hold spaces and
 * parentheses, so fields are counted after the last ')'. */
static int read_pid_ticks(int fd, unsigned long long *ticks)
{
	char buf[1024];
	int rc = probe_pread_text(fd, buf, sizeof(buf));
	if (rc)
		return rc;
	if (!buf[0])
		return -ESRCH;
	const char *p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	unsigned long long ut, st;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -EINVAL;
	*ticks = ut + st;
	return 0;
}

static int pf_open(struct probe *p, const struct probe_env *env)
{
	char path[600];
	struct pf_priv *pv = calloc(1, sizeof(*pv));
	if (!pv)
		return -ENOMEM;
	p->priv = pv;
	for (size_t i = 0; i < PROBE_MAX_CHANNELS; i++)
		pv->fd[i] = -1;
	snprintf(pv->root, sizeof(pv->root), "%s", env->procfs_root);
	long tck = sysconf(_SC_CLK_TCK);
	pv->tck = tck > 0 ? (double)tck : 100.0;

	struct probe_channel *busy = probe_add_channel(p, "machine/busy", "s");
	struct probe_channel *util = probe_add_channel(p, "machine/util", "%");
	struct probe_channel *ncpu = probe_add_channel(p, "machine/ncpu", "");
	struct probe_channel *self = probe_add_channel(p, "self/cpu", "s");
	busy->cumulative = self->cumulative = true;
	busy->role = ROLE_MACHINE_BUSY;
	ncpu->role = ROLE_MACHINE_NCPU;
	self->role = ROLE_SELF_CPU;
	busy->scale = self->scale = 1.0 / pv->tck;
	snprintf(busy->raw_unit, sizeof(busy->raw_unit), "USER_HZ");
	snprintf(self->raw_unit, sizeof(self->raw_unit), "USER_HZ");

	snprintf(path, sizeof(path), "%s/stat", env->procfs_root);
	snprintf(busy->source, sizeof(busy->source), "%.140s (cpu line)", path);
	snprintf(util->source, sizeof(util->source), "%.140s (cpu line)", path);
	snprintf(ncpu->source, sizeof(ncpu->source), "%.140s (cpuN lines)", path);
	int fd = probe_open_file(path, O_RDONLY);
	unsigned long long b = 0, t = 0;
	int rc = fd < 0 ? fd : read_machine(fd, &b, &t);
	if (rc) {
		if (fd >= 0)
			close(fd);
		int st = probe_errno_status(-rc);
		busy->status = util->status = ncpu->status = st;
		snprintf(busy->reason, sizeof(busy->reason), "%.150s: %s", path, strerror(-rc));
		snprintf(util->reason, sizeof(util->reason), "%s", busy->reason);
		snprintf(ncpu->reason, sizeof(ncpu->reason), "%s", busy->reason);
	} else {
		pv->fd[CH_BUSY] = fd;
		pv->base[CH_BUSY] = (double)b;
		pv->last_busy = b;
		pv->last_total = t;
		pv->ncpu = probe_count_cpus(path);
	}

	snprintf(path, sizeof(path), "%s/self/stat", env->procfs_root);
	snprintf(self->source, sizeof(self->source), "%.140s (utime+stime)", path);
	unsigned long long ticks = 0;
	fd = probe_open_file(path, O_RDONLY);
	rc = fd < 0 ? fd : read_pid_ticks(fd, &ticks);
	if (rc) {
		if (fd >= 0)
			close(fd);
		self->status = probe_errno_status(-rc);
		snprintf(self->reason, sizeof(self->reason), "%.150s: %s", path, strerror(-rc));
	} else {
		pv->fd[CH_SELF] = fd;
		pv->base[CH_SELF] = (double)ticks;
	}

	if (busy->status == ENERGY_OK)
		probe_set_status(p, ENERGY_OK, "CPU time from %s (%g CPUs, %g ticks/s)",
				 env->procfs_root, pv->ncpu, pv->tck);
	else
		probe_set_status(p, busy->status, "%s", busy->reason);
	return 0;
}

int procfs_watch_pid(struct probe *p, pid_t pid)
{
	if (p->ops != &probe_procfs || !p->priv)
		return -EINVAL;
	struct pf_priv *pv = p->priv;
	char path[600], name[64];
	snprintf(path, sizeof(path), "%.500s/%d/stat", pv->root, (int)pid);
	int fd = probe_open_file(path, O_RDONLY);
	if (fd < 0)
		return fd;
	unsigned long long ticks;
	int rc = read_pid_ticks(fd, &ticks);
	if (rc) {
		close(fd);
		return rc;
	}
	snprintf(name, sizeof(name), "pid-%d/cpu", (int)pid);
	struct probe_channel *c = probe_add_channel(p, name, "s");
	if (!c) {
		close(fd);
		return -ENOSPC;
	}
	c->cumulative = true;
	c->role = ROLE_WATCHED_CPU;
	c->scale = 1.0 / pv->tck;
	snprintf(c->raw_unit, sizeof(c->raw_unit), "USER_HZ");
	snprintf(c->source, sizeof(c->source), "%.140s (utime+stime)", path);
	pv->fd[p->n_ch - 1] = fd;
	pv->base[p->n_ch - 1] = (double)ticks;
	return 0;
}

static int pf_read(struct probe *p, uint64_t t_ns, double *vals)
{
	(void)t_ns;
	struct pf_priv *pv = p->priv;
	if (p->ch[CH_BUSY].status == ENERGY_OK) {
		unsigned long long b, t;
		int rc = read_machine(pv->fd[CH_BUSY], &b, &t);
		if (rc) {
			probe_chan_lost(&p->ch[CH_BUSY], -rc, p->ch[CH_BUSY].source);
			probe_chan_lost(&p->ch[CH_UTIL], -rc, p->ch[CH_BUSY].source);
		} else {
			vals[CH_BUSY] = ((double)b - pv->base[CH_BUSY]) / pv->tck;
			unsigned long long db = b - pv->last_busy, dt = t - pv->last_total;
			/* No tick elapsed: keep the previous utilisation rather than 0/0. */
			if (dt)
				vals[CH_UTIL] = 100.0 * (double)db / (double)dt;
			pv->last_busy = b;
			pv->last_total = t;
		}
		vals[CH_NCPU] = pv->ncpu;
	}
	for (size_t i = CH_SELF; i < p->n_ch; i++) {
		if (p->ch[i].status != ENERGY_OK)
			continue;
		unsigned long long ticks;
		int rc = read_pid_ticks(pv->fd[i], &ticks);
		if (rc) {
			probe_chan_lost(&p->ch[i], -rc, p->ch[i].source);
			continue;
		}
		vals[i] = ((double)ticks - pv->base[i]) / pv->tck;
	}
	return 0;
}

static void pf_close(struct probe *p)
{
	struct pf_priv *pv = p->priv;
	if (!pv)
		return;
	for (size_t i = 0; i < PROBE_MAX_CHANNELS; i++)
		if (pv->fd[i] >= 0)
			close(pv->fd[i]);
	free(pv);
	p->priv = NULL;
}

const struct probe_ops probe_procfs = {
	.name = "procfs",
	.description = "CPU time and utilization from /proc: machine, agentperf, watched processes",
	/* /proc counts in USER_HZ ticks (10 ms); 50 ms keeps one core's share within 20%. */
	.min_interval_s = 0.05,
	.open = pf_open,
	.read = pf_read,
	.close = pf_close,
};
