/*
 * lm-sensors: power and energy inputs of every detected hwmon chip (and
 * temperatures, for the record). Power inputs are integrated by trapezoids
 * into an energy channel beside them.
 *
 * libsensors always reads the real /sys/class/hwmon, so under a configured
 * sysfs root (fake trees in tests) or in a build without libsensors the same
 * inputs are read straight from <sysfs>/class/hwmon/hwmon* files, which is
 * what libsensors itself reads (uW, uJ, millidegrees).
 */
#include "probe.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_LIBSENSORS
#include <sensors/sensors.h>
#endif

#include "util.h"

#define MAX_TEMPS 16 /* a many-core coretemp lists one per core; the record needs few */

enum sn_kind { SN_ENERGY, SN_POWER, SN_TEMP };

struct sn_input {
	enum sn_kind kind;
	size_t ch;  /* value channel */
	size_t ech; /* power: the integrated energy channel */
	int fd;     /* hwmon file, or -1 with libsensors */
	double scale;
#ifdef HAVE_LIBSENSORS
	const sensors_chip_name *chip;
	int subnr;
#endif
	bool have_base;
	double base;
	bool have_prev;
	double prev_w;
	uint64_t prev_ns;
	double acc_j;
};

struct sn_priv {
	bool libsensors;
	size_t n;
	struct sn_input in[PROBE_MAX_CHANNELS];
	size_t n_temps;
};

static struct sn_input *add_input(struct probe *p, struct sn_priv *pv, enum sn_kind kind,
				  const char *chip, const char *label, const char *source)
{
	char name[64];
	if (kind == SN_TEMP && pv->n_temps >= MAX_TEMPS)
		return NULL;
	if (pv->n >= PROBE_MAX_CHANNELS || p->n_ch + (kind == SN_POWER ? 2 : 1) > PROBE_MAX_CHANNELS)
		return NULL;
	struct sn_input *in = &pv->in[pv->n];
	memset(in, 0, sizeof(*in));
	in->kind = kind;
	in->fd = -1;
	snprintf(name, sizeof(name), "%.30s/%.30s", chip, label);
	struct probe_channel *c =
		probe_add_channel(p, name, kind == SN_ENERGY ? "J" : kind == SN_POWER ? "W" : "C");
	in->ch = p->n_ch - 1;
	snprintf(c->source, sizeof(c->source), "%.159s", source);
	if (kind == SN_ENERGY) {
		c->cumulative = true;
		c->role = ROLE_ENERGY;
		c->domain = DOM_OTHER;
	} else if (kind == SN_POWER) {
		snprintf(name, sizeof(name), "%.30s/%.24s/energy", chip, label);
		struct probe_channel *e = probe_add_channel(p, name, "J");
		in->ech = p->n_ch - 1;
		e->cumulative = true;
		e->role = ROLE_ENERGY;
		e->domain = DOM_OTHER;
		snprintf(e->source, sizeof(e->source), "%.130s integrated", source);
		snprintf(e->raw_unit, sizeof(e->raw_unit), "W");
	} else {
		pv->n_temps++;
	}
	pv->n++;
	return in;
}

/* ---- direct hwmon reading (fake roots, or no libsensors) ---- */

static int hwmon_filter(const struct dirent *d)
{
	return !strncmp(d->d_name, "hwmon", 5);
}

static int input_filter(const struct dirent *d)
{
	const char *n = d->d_name;
	size_t l = strlen(n);
	bool in = l > 6 && !strcmp(n + l - 6, "_input");
	bool avg = l > 8 && !strcmp(n + l - 8, "_average");
	return (!strncmp(n, "power", 5) && (in || avg)) || (!strncmp(n, "energy", 6) && in) ||
	       (!strncmp(n, "temp", 4) && in);
}

static void hwmon_scan_one(struct probe *p, struct sn_priv *pv, const char *dir)
{
	char path[1024], chip[64], label[64];
	struct dirent **ents = NULL;
	snprintf(path, sizeof(path), "%.900s/name", dir);
	if (probe_read_text(path, chip, sizeof(chip)))
		snprintf(chip, sizeof(chip), "%.63s", strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir);
	int n = scandir(dir, &ents, input_filter, versionsort);
	for (int i = 0; i < n; i++) {
		const char *f = ents[i]->d_name;
		enum sn_kind k = f[0] == 'e' ? SN_ENERGY : f[0] == 'p' ? SN_POWER : SN_TEMP;
		char base[64];
		snprintf(base, sizeof(base), "%.63s", f);
		char *us = strchr(base, '_');
		if (us)
			*us = '\0';
		/* power1_input and power1_average both exist on some chips: take input. */
		if (k == SN_POWER && strstr(f, "_average")) {
			char alt[1100];
			snprintf(alt, sizeof(alt), "%.900s/%.60s_input", dir, base);
			if (access(alt, F_OK) == 0)
				continue;
		}
		snprintf(path, sizeof(path), "%.900s/%.60s_label", dir, base);
		if (probe_read_text(path, label, sizeof(label)))
			snprintf(label, sizeof(label), "%s", base);
		snprintf(path, sizeof(path), "%.900s/%.100s", dir, f);
		struct sn_input *in = add_input(p, pv, k, chip, label, path);
		if (!in)
			continue;
		in->scale = k == SN_TEMP ? 1e-3 : 1e-6;
		struct probe_channel *c = &p->ch[in->ch];
		c->scale = in->scale;
		snprintf(c->raw_unit, sizeof(c->raw_unit), "%s",
			 k == SN_ENERGY ? "uJ" : k == SN_POWER ? "uW" : "mC");
		int fd = probe_open_file(path, O_RDONLY);
		if (fd < 0) {
			c->status = probe_errno_status(-fd);
			snprintf(c->reason, sizeof(c->reason), "open: %s", strerror(-fd));
			if (k == SN_POWER) {
				p->ch[in->ech].status = c->status;
				memcpy(p->ch[in->ech].reason, c->reason, sizeof(c->reason));
			}
			continue;
		}
		in->fd = fd;
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
}

static int hwmon_scan(struct probe *p, struct sn_priv *pv, const struct probe_env *env,
		      char *dir, size_t dirlen)
{
	int rc = probe_sys_path(dir, dirlen, env, "class/hwmon");
	if (rc)
		return rc;
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, hwmon_filter, versionsort);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		char sub[1024];
		snprintf(sub, sizeof(sub), "%.700s/%.100s", dir, ents[i]->d_name);
		hwmon_scan_one(p, pv, sub);
		free(ents[i]);
	}
	free(ents);
	return 0;
}

static int read_hwmon(struct sn_input *in, double *v)
{
	char buf[64];
	int rc = probe_pread_text(in->fd, buf, sizeof(buf));
	if (rc)
		return rc;
	char *end;
	double x = strtod(buf, &end);
	if (end == buf)
		return -EIO;
	*v = x * in->scale;
	return 0;
}

/* ---- libsensors ---- */

#ifdef HAVE_LIBSENSORS
static int lib_scan(struct probe *p, struct sn_priv *pv)
{
	int rc = sensors_init(NULL);
	if (rc)
		return -EIO;
	pv->libsensors = true;
	const sensors_chip_name *chip;
	int cnr = 0;
	while ((chip = sensors_get_detected_chips(NULL, &cnr))) {
		char cname[64];
		if (sensors_snprintf_chip_name(cname, sizeof(cname), chip) < 0)
			snprintf(cname, sizeof(cname), "%s", chip->prefix ? chip->prefix : "chip");
		const sensors_feature *f;
		int fnr = 0;
		while ((f = sensors_get_features(chip, &fnr))) {
			enum sn_kind k;
			const sensors_subfeature *sf = NULL;
			if (f->type == SENSORS_FEATURE_ENERGY) {
				k = SN_ENERGY;
				sf = sensors_get_subfeature(chip, f, SENSORS_SUBFEATURE_ENERGY_INPUT);
			} else if (f->type == SENSORS_FEATURE_POWER) {
				k = SN_POWER;
				sf = sensors_get_subfeature(chip, f, SENSORS_SUBFEATURE_POWER_INPUT);
				if (!sf)
					sf = sensors_get_subfeature(chip, f,
								    SENSORS_SUBFEATURE_POWER_AVERAGE);
			} else if (f->type == SENSORS_FEATURE_TEMP) {
				k = SN_TEMP;
				sf = sensors_get_subfeature(chip, f, SENSORS_SUBFEATURE_TEMP_INPUT);
			} else {
				continue;
			}
			if (!sf || !(sf->flags & SENSORS_MODE_R))
				continue;
			char *label = sensors_get_label(chip, f);
			char src[160];
			snprintf(src, sizeof(src), "libsensors %s %s", cname, sf->name);
			struct sn_input *in = add_input(p, pv, k, cname, label ? label : f->name, src);
			free(label);
			if (!in)
				continue;
			in->chip = chip;
			in->subnr = sf->number;
			in->scale = 1.0; /* libsensors already converts to J, W, degrees C */
		}
	}
	return 0;
}

static int read_lib(struct sn_input *in, double *v)
{
	double x;
	int rc = sensors_get_value(in->chip, in->subnr, &x);
	if (rc)
		return -EIO;
	*v = x;
	return 0;
}
#endif

static int sn_open(struct probe *p, const struct probe_env *env)
{
	char dir[600] = "";
	struct sn_priv *pv = calloc(1, sizeof(*pv));
	if (!pv)
		return -ENOMEM;
	p->priv = pv;
	int rc;
	const char *how;
#ifdef HAVE_LIBSENSORS
	if (probe_env_default_sysfs(env)) {
		how = "libsensors";
		snprintf(dir, sizeof(dir), "/sys/class/hwmon");
		rc = lib_scan(p, pv);
	} else
#endif
	{
		how = "hwmon files";
		rc = hwmon_scan(p, pv, env, dir, sizeof(dir));
	}
	if (rc == -ENOMEM)
		return rc;
	if (rc) {
		probe_set_status(p, ENERGY_NOT_SUPPORTED, "no hwmon power/energy input (%s: %.100s: %s)", how, dir,
				 strerror(-rc));
		return 0;
	}
	size_t energy = 0, ok = 0;
	for (size_t i = 0; i < p->n_ch; i++) {
		if (p->ch[i].status == ENERGY_OK)
			ok++;
		if (p->ch[i].status == ENERGY_OK && p->ch[i].role == ROLE_ENERGY)
			energy++;
	}
	if (!ok)
		probe_set_status(p, ENERGY_NOT_SUPPORTED,
				 "no hwmon power/energy input (%s: no chip with power, energy or temperature inputs in %.100s)",
				 how, dir);
	else
		probe_set_status(p, ENERGY_OK, "%s: %zu inputs, %zu energy/power", how, ok, energy);
	return 0;
}

static int sn_read(struct probe *p, uint64_t t_ns, double *vals)
{
	struct sn_priv *pv = p->priv;
	for (size_t i = 0; i < pv->n; i++) {
		struct sn_input *in = &pv->in[i];
		struct probe_channel *c = &p->ch[in->ch];
		if (c->status != ENERGY_OK)
			continue;
		double v;
		int rc;
#ifdef HAVE_LIBSENSORS
		if (pv->libsensors)
			rc = read_lib(in, &v);
		else
#endif
			rc = read_hwmon(in, &v);
		if (rc) {
			probe_chan_lost(c, -rc, c->source);
			if (in->kind == SN_POWER)
				probe_chan_lost(&p->ch[in->ech], -rc, c->source);
			continue;
		}
		switch (in->kind) {
		case SN_ENERGY:
			if (!in->have_base) {
				in->have_base = true;
				in->base = v;
			}
			vals[in->ch] = v - in->base;
			break;
		case SN_POWER:
			vals[in->ch] = v;
			if (in->have_prev && t_ns > in->prev_ns)
				in->acc_j += 0.5 * (v + in->prev_w) * (double)(t_ns - in->prev_ns) * 1e-9;
			in->have_prev = true;
			in->prev_w = v;
			in->prev_ns = t_ns;
			vals[in->ech] = in->acc_j;
			break;
		case SN_TEMP:
			vals[in->ch] = v;
			break;
		}
	}
	return 0;
}

static void sn_close(struct probe *p)
{
	struct sn_priv *pv = p->priv;
	if (!pv)
		return;
	for (size_t i = 0; i < pv->n; i++)
		if (pv->in[i].fd >= 0)
			close(pv->in[i].fd);
#ifdef HAVE_LIBSENSORS
	if (pv->libsensors)
		sensors_cleanup();
#endif
	free(pv);
	p->priv = NULL;
}

const struct probe_ops probe_sensors = {
	.name = "sensors",
	.description = "lm-sensors hwmon power/energy inputs (and temperatures) via libsensors",
	/* hwmon drivers typically refresh every 100 ms to 1 s. */
	.min_interval_s = 0.1,
	.open = sn_open,
	.read = sn_read,
	.close = sn_close,
};
