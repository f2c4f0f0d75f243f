/*
 * Fake sysfs and procfs trees for the probe and energy tests, built at run
 * time under a mkdtemp folder. Counter files are rewritten in place (same
 * inode), as the kernel's are, so probes that keep them open see new values.
 */
#ifndef AP_FAKESYS_H
#define AP_FAKESYS_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe.h"

static inline void fs_mkdirs(const char *path)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	mkdir(buf, 0755);
}

/* Writes "<root>/<rel>" with printf content, creating folders. */
static inline void fs_write(const char *root, const char *rel, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline void fs_write(const char *root, const char *rel, const char *fmt, ...)
{
	char path[1024], dir[1024];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		fs_mkdirs(dir);
	}
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "fakesys: cannot write %s: %s\n", path, strerror(errno));
		abort();
	}
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static inline char *fs_mkroot(void)
{
	char tmpl[] = "/tmp/agentperf-fakesys-XXXXXX";
	char *d = mkdtemp(tmpl);
	if (!d)
		abort();
	return strdup(d);
}

static inline void fs_rmroot(char *root)
{
	char cmd[1200];
	/* Only ever a folder this test created under /tmp. */
	if (root && !strncmp(root, "/tmp/agentperf-fakesys-", 23)) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			fprintf(stderr, "fakesys: could not remove %s\n", root);
	}
	free(root);
}

/* A RAPL zone: name, range and initial counter, all in microjoules. */
static inline void fs_rapl_zone(const char *root, const char *zone, const char *name,
				uint64_t range_uj, uint64_t energy_uj)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "sys/class/powercap/%s/name", zone);
	fs_write(root, rel, "%s\n", name);
	snprintf(rel, sizeof(rel), "sys/class/powercap/%s/max_energy_range_uj", zone);
	fs_write(root, rel, "%llu\n", (unsigned long long)range_uj);
	snprintf(rel, sizeof(rel), "sys/class/powercap/%s/energy_uj", zone);
	fs_write(root, rel, "%llu\n", (unsigned long long)energy_uj);
}

static inline void fs_rapl_set(const char *root, const char *zone, uint64_t energy_uj)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "sys/class/powercap/%s/energy_uj", zone);
	fs_write(root, rel, "%llu\n", (unsigned long long)energy_uj);
}

/*
 * As root, mode 000 does not stop a read, so the permission check an
 * unprivileged user would meet is emulated: a file with no read bit at all
 * fails with EACCES, as it would for them.
 */
static inline int fs_perm_hook(const char *path, int flags)
{
	struct stat st;
	(void)flags;
	if (stat(path, &st) == 0 && !(st.st_mode & (S_IRUSR | S_IRGRP | S_IROTH)))
		return -EACCES;
	return 0;
}

static inline void fs_install_perm_hook(void)
{
	if (geteuid() == 0) {
		printf("note: running as root, where mode 000 does not stop reads: "
		       "emulating the unprivileged permission check with probe_open_hook\n");
		probe_open_hook = fs_perm_hook;
	}
}

/* A fake /proc: stat with `busy` user ticks on ncpu CPUs, and self/stat. */
static inline void fs_proc_stat(const char *root, unsigned long long user,
				unsigned long long idle, int ncpu)
{
	char buf[2048];
	int n = snprintf(buf, sizeof(buf), "cpu  %llu 0 0 %llu 0 0 0 0 0 0\n", user, idle);
	for (int i = 0; i < ncpu && n < (int)sizeof(buf) - 64; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "cpu%d %llu 0 0 %llu 0 0 0 0 0 0\n",
			      i, user / (unsigned long long)ncpu, idle / (unsigned long long)ncpu);
	snprintf(buf + n, sizeof(buf) - (size_t)n, "intr 0\nctxt 0\n");
	fs_write(root, "proc/stat", "%s", buf);
}

static inline void fs_proc_pid(const char *root, const char *pid, unsigned long long utime,
			       unsigned long long stime)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "proc/%s/stat", pid);
	/* comm with a space and a parenthesis: fields are counted after the last ')'. */
	fs_write(root, rel,
		 "%s (llama) server) R 1 1 1 0 -1 4194304 100 0 0 0 %llu %llu 0 0 20 0 8 0 "
		 "100 1000 100\n",
		 strcmp(pid, "self") ? pid : "77", utime, stime);
}

#endif
