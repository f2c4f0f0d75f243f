/* The one table of probes, and the small helpers every probe shares. */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/*
 * Preference order matters: where two probes see the same RAPL domain, the
 * first one that works supplies it and the later one is recorded but not
 * summed (energy.c). rapl-perf comes first because the kernel unwraps it.
 */
const struct probe_ops *const probe_table[] = {
	&probe_rapl_perf,
	&probe_rapl_powercap,
	&probe_nvml,
	&probe_sensors,
	&probe_procfs,
	&probe_estimator,
};
const size_t probe_table_len = AP_ARRAY_SIZE(probe_table);

int (*probe_open_hook)(const char *path, int flags);

const char *energy_status_str(int status)
{
	switch (status) {
	case ENERGY_OK: return "ok";
	case ENERGY_NOT_SUPPORTED: return "not supported";
	case ENERGY_NO_PERMISSION: return "no permission";
	case ENERGY_LOST: return "lost";
	}
	return "unknown";
}

static void copy_opt(char *dst, size_t n, const char *opt, const char *env, const char *dfl)
{
	const char *e = env ? getenv(env) : NULL;
	/* An explicit option wins over the environment, which wins over the default. */
	const char *v = opt && *opt ? opt : e && *e ? e : dfl;
	snprintf(dst, n, "%s", v);
}

void probe_env_init(struct probe_env *env, const struct energy_opts *o)
{
	memset(env, 0, sizeof(*env));
	copy_opt(env->sysfs_root, sizeof(env->sysfs_root), o ? o->sysfs_root : NULL,
		 "AGENTPERF_SYSFS_ROOT", "/");
	copy_opt(env->procfs_root, sizeof(env->procfs_root), o ? o->procfs_root : NULL,
		 "AGENTPERF_PROCFS_ROOT", "/proc");
	copy_opt(env->nvml_lib, sizeof(env->nvml_lib), o ? o->nvml_lib : NULL,
		 "AGENTPERF_NVML_LIB", "libnvidia-ml.so.1");
	/* Strip trailing slashes so joined paths print cleanly in reasons. */
	for (char *r = env->sysfs_root; *r;) {
		size_t l = strlen(r);
		if (l > 0 && r[l - 1] == '/')
			r[l - 1] = '\0';
		else
			break;
	}
	if (o) {
		env->watts_per_core = o->watts_per_core;
		env->idle_watts = o->idle_watts;
	}
}

bool probe_env_default_sysfs(const struct probe_env *env)
{
	return env->sysfs_root[0] == '\0';
}

int probe_sys_path(char *buf, size_t n, const struct probe_env *env, const char *rel)
{
	int w = snprintf(buf, n, "%s/sys/%s", env->sysfs_root, rel);
	return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

void probe_set_status(struct probe *p, int status, const char *fmt, ...)
{
	p->status = status;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
}

struct probe_channel *probe_add_channel(struct probe *p, const char *name, const char *unit)
{
	if (p->n_ch >= PROBE_MAX_CHANNELS) {
		ap_warn("probe %s: more than %d channels, ignoring %s", p->ops->name,
			PROBE_MAX_CHANNELS, name);
		return NULL;
	}
	struct probe_channel *c = &p->ch[p->n_ch++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->unit, sizeof(c->unit), "%s", unit);
	c->scale = 1.0;
	c->socket = -1;
	c->status = ENERGY_OK;
	return c;
}

void probe_chan_lost(struct probe_channel *c, int err, const char *what)
{
	if (c->status == ENERGY_LOST)
		return;
	c->status = ENERGY_LOST;
	snprintf(c->reason, sizeof(c->reason), "lost during the run: %s: %s", what,
		 strerror(err));
	ap_warn("energy channel %s %s", c->name, c->reason);
}

int probe_errno_status(int err)
{
	return err == EACCES || err == EPERM ? ENERGY_NO_PERMISSION : ENERGY_NOT_SUPPORTED;
}

int probe_open_file(const char *path, int flags)
{
	if (probe_open_hook) {
		/* The hook only vets (0 or -errno); the real open follows. */
		int rc = probe_open_hook(path, flags);
		if (rc < 0)
			return rc;
	}
	int fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int probe_pread_text(int fd, char *buf, size_t n)
{
	ssize_t r;
	do
		r = pread(fd, buf, n - 1, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	buf[r] = '\0';
	while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == ' '))
		buf[--r] = '\0';
	return 0;
}

int probe_read_text(const char *path, char *buf, size_t n)
{
	int fd = probe_open_file(path, O_RDONLY);
	if (fd < 0)
		return fd;
	int rc = probe_pread_text(fd, buf, n);
	close(fd);
	return rc;
}

int probe_read_u64(const char *path, uint64_t *out)
{
	char buf[64];
	int rc = probe_read_text(path, buf, sizeof(buf));
	if (rc)
		return rc;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 0);
	if (errno || end == buf)
		return -EINVAL;
	*out = v;
	return 0;
}

int probe_proc_stat_read(int fd, unsigned long long *busy, unsigned long long *total)
{
	char buf[512];
	int rc = probe_pread_text(fd, buf, sizeof(buf));
	if (rc)
		return rc;
	unsigned long long v[8] = { 0 };
	if (strncmp(buf, "cpu ", 4))
		return -EINVAL;
	int n = sscanf(buf + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		       &v[3], &v[4], &v[5], &v[6], &v[7]);
	if (n < 4)
		return -EINVAL;
	*busy = v[0] + v[1] + v[2] + v[5] + v[6];
	*total = *busy + v[3] + v[4];
	return 0;
}

int probe_count_cpus(const char *stat_path)
{
	char *text = NULL;
	int n = 0;
	if (ap_read_file(stat_path, &text, NULL))
		return 0;
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, "cpu", 3) && l[3] >= '0' && l[3] <= '9')
			n++;
	free(text);
	return n;
}
