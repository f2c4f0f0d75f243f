/*
 * RAPL through perf_event: the `power` PMU that the kernel's rapl perf driver
 * registers under <sysfs>/bus/event_source/devices/power, one counter per
 * package (the PMU's cpumask names one CPU per package). The kernel keeps a
 * 64-bit count, so unlike powercap nothing needs unwrapping here; that is why
 * the registry prefers this probe where both work.
 *
 * Event configs come from sysfs (events/energy-*), cross-checked with libpfm4
 * where its tables know the CPU (rapl::RAPL_ENERGY_PKG ...), and each count is
 * multiplied by its sysfs .scale to get joules.
 */
#include "probe.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef HAVE_LIBPFM
#include <perfmon/pfmlib_perf_event.h>
#endif

#include "util.h"

#define MAX_CPUS_LISTED 16

#ifdef HAVE_LIBPFM
static pthread_once_t pfm_once = PTHREAD_ONCE_INIT;
static int pfm_init_rc;

static void pfm_init_once(void)
{
	pfm_init_rc = pfm_initialize();
}
#endif

int pfm_encode(const char *event, uint32_t *type, uint64_t *config, char *err, size_t errlen)
{
#ifdef HAVE_LIBPFM
	pthread_once(&pfm_once, pfm_init_once);
	if (pfm_init_rc != PFM_SUCCESS) {
		snprintf(err, errlen, "pfm_initialize: %s", pfm_strerror(pfm_init_rc));
		return -ENOTSUP;
	}
	struct perf_event_attr attr;
	pfm_perf_encode_arg_t arg;
	memset(&attr, 0, sizeof(attr));
	memset(&arg, 0, sizeof(arg));
	arg.attr = &attr;
	arg.size = sizeof(arg);
	int rc = pfm_get_os_event_encoding(event, PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT, &arg);
	if (rc != PFM_SUCCESS) {
		snprintf(err, errlen, "libpfm4 cannot encode %s: %s", event, pfm_strerror(rc));
		return -ENOENT;
	}
	*type = attr.type;
	*config = attr.config;
	return 0;
#else
	(void)type;
	(void)config;
	snprintf(err, errlen, "built without libpfm4 (cannot encode %s)", event);
	return -ENOTSUP;
#endif
}

struct rp_chan {
	int fd;
	double scale;
};

struct rp_priv {
	struct rp_chan c[PROBE_MAX_CHANNELS];
};

static const struct {
	const char *event;    /* sysfs name */
	const char *suffix;   /* channel name after "package-N" */
	const char *pfm;      /* libpfm4 name */
	enum probe_domain dom;
} rapl_events[] = {
	{ "energy-pkg", "", "rapl::RAPL_ENERGY_PKG", DOM_PACKAGE },
	{ "energy-cores", "/core", "rapl::RAPL_ENERGY_CORES", DOM_CORE },
	{ "energy-gpu", "/uncore", "rapl::RAPL_ENERGY_GPU", DOM_UNCORE },
	{ "energy-ram", "/dram", "rapl::RAPL_ENERGY_DRAM", DOM_DRAM },
	{ "energy-psys", NULL, "rapl::RAPL_ENERGY_PSYS", DOM_PSYS },
};

static long perf_open(struct perf_event_attr *a, int cpu)
{
	return syscall(SYS_perf_event_open, a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/* "0" or "0,18" or "0-1": the first CPU of each package the PMU counts on. */
static int parse_cpus(const char *s, int *cpus, int max)
{
	int n = 0;
	while (*s && n < max) {
		char *end;
		long a = strtol(s, &end, 10), b = a;
		if (end == s)
			break;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		for (long c = a; c <= b && n < max; c++)
			cpus[n++] = (int)c;
		s = *end == ',' ? end + 1 : end;
		if (*end != ',')
			break;
	}
	return n;
}

static int perm_hint(char *buf, size_t n)
{
	char paranoid[16] = "?";
	probe_read_text("/proc/sys/kernel/perf_event_paranoid", paranoid, sizeof(paranoid));
	return snprintf(buf, n,
			"system-wide perf events need CAP_PERFMON or "
			"`sudo sysctl kernel.perf_event_paranoid=0` (now %s)",
			paranoid);
}

/*
 * A counter that the power PMU lists but that never moves is not a measurement:
 * some hypervisors expose the PMU (energy-psys, here) without backing it, and
 * every read returns 0. Hardware RAPL updates about once a millisecond, so a
 * live counter advances within a few ms even on an idle machine; one that has
 * not moved in LIVE_WAIT_MS is marked not supported, so that the run falls
 * back to the estimator and says why instead of reporting 0 J as measured.
 * Returns how many counters stay open.
 */
#define LIVE_WAIT_MS 100
#define LIVE_STEP_MS 5

static size_t rp_drop_dead(struct probe *p, struct rp_priv *pv)
{
	uint64_t first[PROBE_MAX_CHANNELS];
	bool moved[PROBE_MAX_CHANNELS] = { false };
	size_t open_n = 0, moved_n = 0;
	for (size_t i = 0; i < p->n_ch; i++) {
		if (pv->c[i].fd < 0)
			continue;
		if (read(pv->c[i].fd, &first[i], sizeof(first[i])) != (ssize_t)sizeof(first[i]))
			first[i] = UINT64_MAX; /* unreadable now: judged by the loop below */
		open_n++;
	}
	for (int waited = 0; moved_n < open_n && waited < LIVE_WAIT_MS; waited += LIVE_STEP_MS) {
		ap_sleep_ns((uint64_t)LIVE_STEP_MS * 1000000);
		for (size_t i = 0; i < p->n_ch; i++) {
			uint64_t v;
			if (pv->c[i].fd < 0 || moved[i])
				continue;
			if (read(pv->c[i].fd, &v, sizeof(v)) == (ssize_t)sizeof(v) &&
			    first[i] != UINT64_MAX && v != first[i]) {
				moved[i] = true;
				moved_n++;
			}
		}
	}
	for (size_t i = 0; i < p->n_ch; i++) {
		if (pv->c[i].fd < 0 || moved[i])
			continue;
		struct probe_channel *c = &p->ch[i];
		c->status = ENERGY_NOT_SUPPORTED;
		snprintf(c->reason, sizeof(c->reason),
			 "did not advance in %d ms (reads %llu): listed by the power PMU but "
			 "not backed, as under a hypervisor",
			 LIVE_WAIT_MS, first[i] == UINT64_MAX ? 0ULL : (unsigned long long)first[i]);
		close(pv->c[i].fd);
		pv->c[i].fd = -1;
	}
	return moved_n;
}

static int rp_open(struct probe *p, const struct probe_env *env)
{
	char dir[600], path[800], buf[128];
	struct rp_priv *pv = calloc(1, sizeof(*pv));
	if (!pv)
		return -ENOMEM;
	p->priv = pv;
	for (size_t i = 0; i < PROBE_MAX_CHANNELS; i++)
		pv->c[i].fd = -1;
	int rc = probe_sys_path(dir, sizeof(dir), env, "bus/event_source/devices");
	if (rc)
		return rc;

	uint64_t type;
	snprintf(path, sizeof(path), "%s/power/type", dir);
	rc = probe_read_u64(path, &type);
	if (rc) {
		probe_set_status(p, ENERGY_NOT_SUPPORTED, "no power PMU in %s (%s)", dir,
				 strerror(-rc));
		return 0;
	}
	int cpus[MAX_CPUS_LISTED];
	int ncpu = 0;
	snprintf(path, sizeof(path), "%s/power/cpumask", dir);
	if (probe_read_text(path, buf, sizeof(buf)) == 0)
		ncpu = parse_cpus(buf, cpus, MAX_CPUS_LISTED);
	if (ncpu == 0) {
		cpus[0] = 0;
		ncpu = 1;
	}

	int last_err = 0;
	char last_reason[PROBE_REASON_LEN] = "";
	size_t ok = 0;
	for (size_t e = 0; e < AP_ARRAY_SIZE(rapl_events); e++) {
		char ev[80], unit[32] = "";
		snprintf(path, sizeof(path), "%s/power/events/%s", dir, rapl_events[e].event);
		if (probe_read_text(path, ev, sizeof(ev)))
			continue; /* this CPU lacks the domain */
		unsigned long long cfg = 0;
		const char *q = strstr(ev, "event=");
		if (!q || sscanf(q + 6, "%lli", &cfg) != 1)
			continue;
		double scale = 0;
		snprintf(path, sizeof(path), "%s/power/events/%s.scale", dir, rapl_events[e].event);
		if (probe_read_text(path, buf, sizeof(buf)) == 0)
			scale = strtod(buf, NULL);
		snprintf(path, sizeof(path), "%s/power/events/%s.unit", dir, rapl_events[e].event);
		probe_read_text(path, unit, sizeof(unit));
		/* libpfm4 knows the event only on CPUs in its tables; sysfs is authoritative. */
		uint32_t pt;
		uint64_t pc;
		char perr[160];
		bool by_pfm = pfm_encode(rapl_events[e].pfm, &pt, &pc, perr, sizeof(perr)) == 0 &&
			      pt == (uint32_t)type && pc == cfg;

		int n_sock = rapl_events[e].suffix ? ncpu : 1; /* psys is platform-wide */
		for (int s = 0; s < n_sock; s++) {
			char name[64];
			if (rapl_events[e].suffix)
				snprintf(name, sizeof(name), "package-%d%s", s, rapl_events[e].suffix);
			else
				snprintf(name, sizeof(name), "psys");
			struct probe_channel *c = probe_add_channel(p, name, "J");
			if (!c)
				break;
			c->cumulative = true;
			c->role = ROLE_ENERGY;
			c->domain = rapl_events[e].dom;
			c->socket = rapl_events[e].suffix ? s : -1;
			c->scale = scale;
			snprintf(c->raw_unit, sizeof(c->raw_unit), "count");
			snprintf(c->source, sizeof(c->source),
				 "perf_event type %llu config 0x%llx cpu %d (%s)%s",
				 (unsigned long long)type, cfg, cpus[s], rapl_events[e].event,
				 by_pfm ? " = libpfm4" : "");
			if (!(scale > 0) || (*unit && strcmp(unit, "Joules"))) {
				c->status = ENERGY_NOT_SUPPORTED;
				snprintf(c->reason, sizeof(c->reason), "%s: bad scale/unit (%g %s)",
					 rapl_events[e].event, scale, unit);
				continue;
			}
			struct perf_event_attr a;
			memset(&a, 0, sizeof(a));
			a.size = sizeof(a);
			a.type = (uint32_t)type;
			a.config = cfg;
			long fd = perf_open(&a, cpus[s]);
			if (fd < 0) {
				int err = errno;
				c->status = probe_errno_status(err);
				if (c->status == ENERGY_NO_PERMISSION)
					perm_hint(c->reason, sizeof(c->reason));
				else
					snprintf(c->reason, sizeof(c->reason),
						 "perf_event_open(type %llu, config 0x%llx, cpu %d): %s",
						 (unsigned long long)type, cfg, cpus[s], strerror(err));
				last_err = c->status;
				snprintf(last_reason, sizeof(last_reason), "%s", c->reason);
				continue;
			}
			pv->c[p->n_ch - 1].fd = (int)fd;
			pv->c[p->n_ch - 1].scale = scale;
			ok++;
		}
	}
	size_t opened = ok;
	if (ok)
		ok = rp_drop_dead(p, pv);
	if (ok)
		probe_set_status(p, ENERGY_OK, "%zu RAPL counters via perf_event (power PMU type %llu)",
				 ok, (unsigned long long)type);
	else if (opened)
		probe_set_status(p, ENERGY_NOT_SUPPORTED,
				 "%zu RAPL counter%s did not advance in %d ms (the power PMU is listed "
				 "but not backed, as under a hypervisor)",
				 opened, opened == 1 ? "" : "s", LIVE_WAIT_MS);
	else if (last_err)
		probe_set_status(p, last_err, "%s", last_reason);
	else
		probe_set_status(p, ENERGY_NOT_SUPPORTED, "power PMU in %s lists no energy-* event",
				 dir);
	return 0;
}

static int rp_read(struct probe *p, uint64_t t_ns, double *vals)
{
	(void)t_ns;
	struct rp_priv *pv = p->priv;
	for (size_t i = 0; i < p->n_ch; i++) {
		struct probe_channel *c = &p->ch[i];
		uint64_t count = 0;
		if (c->status != ENERGY_OK)
			continue; /* vals[i] keeps the caller's previous value */
		ssize_t r = read(pv->c[i].fd, &count, sizeof(count));
		if (r != (ssize_t)sizeof(count)) {
			probe_chan_lost(c, r < 0 ? errno : EIO, "read perf counter");
			continue;
		}
		vals[i] = (double)count * pv->c[i].scale;
	}
	return 0;
}

static void rp_close(struct probe *p)
{
	struct rp_priv *pv = p->priv;
	if (!pv)
		return;
	for (size_t i = 0; i < PROBE_MAX_CHANNELS; i++)
		if (pv->c[i].fd >= 0)
			close(pv->c[i].fd);
	free(pv);
	p->priv = NULL;
}

const struct probe_ops probe_rapl_perf = {
	.name = "rapl-perf",
	.description = "RAPL energy counters via perf_event (power PMU, libpfm4 encoding)",
	.min_interval_s = 0.01,
	.open = rp_open,
	.read = rp_read,
	.close = rp_close,
};
