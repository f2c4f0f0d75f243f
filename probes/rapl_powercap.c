/*
 * RAPL through the powercap sysfs interface: <sysfs>/class/powercap/intel-rapl:*
 * (the kernel uses the intel-rapl name for AMD's RAPL too). One channel per
 * zone: packages, their core/uncore/dram sub-zones, and psys.
 *
 * energy_uj is a 32-bit hardware counter scaled to microjoules, which wraps
 * at max_energy_range_uj (minutes at full load on some parts); each read is
 * unwrapped into a 64-bit accumulator, which is exact as long as the sampler
 * reads at least once per wrap period, however many wraps the run spans.
 */
#include "probe.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

struct pc_chan {
	int fd;
	uint64_t range_uj; /* 0: unknown, a backwards step is then treated as lost */
	uint64_t last_uj;
	uint64_t acc_uj;
};

struct pc_priv {
	struct pc_chan c[PROBE_MAX_CHANNELS];
};

static int zone_filter(const struct dirent *d)
{
	unsigned a, b;
	char tail;
	/* "intel-rapl" alone is the control type; intel-rapl-mmio duplicates package. */
	return sscanf(d->d_name, "intel-rapl:%u:%u%c", &a, &b, &tail) == 2 ||
	       sscanf(d->d_name, "intel-rapl:%u%c", &a, &tail) == 1;
}

static enum probe_domain domain_of(const char *name)
{
	if (!strncmp(name, "package", 7))
		return DOM_PACKAGE;
	if (!strcmp(name, "core"))
		return DOM_CORE;
	if (!strcmp(name, "uncore"))
		return DOM_UNCORE;
	if (!strcmp(name, "dram"))
		return DOM_DRAM;
	if (!strcmp(name, "psys"))
		return DOM_PSYS;
	return DOM_OTHER;
}

static int read_raw(int fd, uint64_t *out)
{
	char buf[32];
	int rc = probe_pread_text(fd, buf, sizeof(buf));
	if (rc)
		return rc;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return -EIO;
	/* A removed zone keeps an open fd readable on tmpfs; an unlinked file means gone. */
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_nlink == 0)
		return -ENODEV;
	*out = v;
	return 0;
}

static void open_zone(struct probe *p, struct pc_priv *pv, const char *dir, const char *zone)
{
	char path[1024], name[64], pname[64] = "", chname[64];
	unsigned a, b;
	bool sub = sscanf(zone, "intel-rapl:%u:%u", &a, &b) == 2;
	if (!sub)
		sscanf(zone, "intel-rapl:%u", &a);

	snprintf(path, sizeof(path), "%s/%s/name", dir, zone);
	if (probe_read_text(path, name, sizeof(name)))
		snprintf(name, sizeof(name), "%.63s", zone);
	if (sub) {
		snprintf(path, sizeof(path), "%s/intel-rapl:%u/name", dir, a);
		if (probe_read_text(path, pname, sizeof(pname)))
			snprintf(pname, sizeof(pname), "intel-rapl:%u", a);
		snprintf(chname, sizeof(chname), "%.30s/%.30s", pname, name);
	} else {
		snprintf(chname, sizeof(chname), "%s", name);
	}

	struct probe_channel *c = probe_add_channel(p, chname, "J");
	if (!c)
		return;
	struct pc_chan *pc = &pv->c[p->n_ch - 1];
	pc->fd = -1;
	c->cumulative = true;
	c->role = ROLE_ENERGY;
	c->domain = domain_of(name);
	c->scale = 1e-6;
	snprintf(c->raw_unit, sizeof(c->raw_unit), "uJ");
	/* Sub-zones belong to their parent package's socket. */
	const char *sock_name = sub ? pname : name;
	int sock;
	if (sscanf(sock_name, "package-%d", &sock) == 1)
		c->socket = sock;

	snprintf(path, sizeof(path), "%s/%s/max_energy_range_uj", dir, zone);
	if (probe_read_u64(path, &pc->range_uj))
		pc->range_uj = 0;

	snprintf(path, sizeof(path), "%s/%s/energy_uj", dir, zone);
	snprintf(c->source, sizeof(c->source), "%.159s", path);
	int fd = probe_open_file(path, O_RDONLY);
	if (fd < 0) {
		c->status = probe_errno_status(-fd);
		if (c->status == ENERGY_NO_PERMISSION)
			snprintf(c->reason, sizeof(c->reason),
				 "energy_uj is root-only (PLATYPUS fix); grant read: sudo chmod o+r "
				 "/sys/class/powercap/intel-rapl:*/energy_uj, or a udev rule");
		else
			snprintf(c->reason, sizeof(c->reason), "open %.120s: %s", path, strerror(-fd));
		return;
	}
	int rc = read_raw(fd, &pc->last_uj);
	if (rc) {
		close(fd);
		c->status = probe_errno_status(-rc);
		snprintf(c->reason, sizeof(c->reason), "read %.120s: %s", path, strerror(-rc));
		return;
	}
	pc->fd = fd;
	if (!pc->range_uj)
		snprintf(c->reason, sizeof(c->reason),
			 "no max_energy_range_uj: a wrap will mark the channel lost");
}

static int pc_open(struct probe *p, const struct probe_env *env)
{
	int rc = 0;
	char dir[600];
	struct dirent **ents = NULL;
	int n = 0;
	struct pc_priv *pv = calloc(1, sizeof(*pv));
	if (!pv)
		return -ENOMEM;
	p->priv = pv;
	if ((rc = probe_sys_path(dir, sizeof(dir), env, "class/powercap")))
		goto out;

	n = scandir(dir, &ents, zone_filter, versionsort);
	if (n < 0) {
		probe_set_status(p, ENERGY_NOT_SUPPORTED,
				 "no RAPL zones in %s (%s: no intel_rapl driver, or a VM that hides RAPL)",
				 dir, strerror(errno));
		n = 0;
		goto out;
	}
	if (n == 0) {
		probe_set_status(p, ENERGY_NOT_SUPPORTED, "no intel-rapl:* zone under %s", dir);
		goto out;
	}
	for (int i = 0; i < n; i++)
		open_zone(p, pv, dir, ents[i]->d_name);

	int first_bad = ENERGY_NOT_SUPPORTED;
	const char *why = "";
	size_t ok = 0;
	for (size_t i = 0; i < p->n_ch; i++) {
		if (p->ch[i].status == ENERGY_OK)
			ok++;
		else if (!*why || p->ch[i].status == ENERGY_NO_PERMISSION) {
			first_bad = p->ch[i].status;
			why = p->ch[i].reason;
		}
	}
	if (ok)
		probe_set_status(p, ENERGY_OK, "%zu of %zu RAPL zones readable under %s%s%s", ok,
				 p->n_ch, dir, ok < p->n_ch ? "; " : "", ok < p->n_ch ? why : "");
	else
		probe_set_status(p, first_bad, "%s", why);
out:
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

static int pc_read(struct probe *p, uint64_t t_ns, double *vals)
{
	(void)t_ns;
	struct pc_priv *pv = p->priv;
	for (size_t i = 0; i < p->n_ch; i++) {
		struct probe_channel *c = &p->ch[i];
		struct pc_chan *pc = &pv->c[i];
		if (c->status == ENERGY_OK) {
			uint64_t raw;
			int rc = read_raw(pc->fd, &raw);
			if (rc) {
				probe_chan_lost(c, -rc, c->source);
			} else if (raw < pc->last_uj && !pc->range_uj) {
				probe_chan_lost(c, ERANGE, "counter went backwards, range unknown");
			} else {
				/* At most one wrap between reads: the sampler reads often enough. */
				uint64_t d = raw >= pc->last_uj ? raw - pc->last_uj
								: raw + pc->range_uj - pc->last_uj;
				pc->acc_uj += d;
				pc->last_uj = raw;
			}
		}
		vals[i] = (double)pc->acc_uj * 1e-6;
	}
	return 0;
}

static void pc_close(struct probe *p)
{
	struct pc_priv *pv = p->priv;
	if (!pv)
		return;
	for (size_t i = 0; i < p->n_ch; i++)
		if (pv->c[i].fd >= 0)
			close(pv->c[i].fd);
	free(pv);
	p->priv = NULL;
}

const struct probe_ops probe_rapl_powercap = {
	.name = "rapl-powercap",
	.description = "RAPL energy counters via /sys/class/powercap (package, core, uncore, dram, psys)",
	/* The counters update about every 1 ms; 10 ms keeps quantisation under 10%. */
	.min_interval_s = 0.01,
	.open = pc_open,
	.read = pc_read,
	.close = pc_close,
};
