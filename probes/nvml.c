/*
 * NVIDIA GPUs through NVML, loaded at run time with dlopen so that agentperf
 * builds and runs where no driver is installed (nvml.h is not needed either:
 * the few types and prototypes used are declared here, as in the NVML ABI).
 *
 * One energy channel per GPU: the driver's total-energy counter (mJ, Volta
 * and later) where the GPU has one, otherwise power samples (mW) integrated
 * by trapezoids on the sampler's timeline. Power, utilization and memory in
 * use are recorded beside it.
 */
#include "probe.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct {
	unsigned int gpu, memory;
} nvmlUtilization_t;
typedef struct {
	unsigned long long total, free, used;
} nvmlMemory_t;

#define NVML_SUCCESS 0
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NO_PERMISSION 4
#define NVML_MAX_GPUS 8 /* 4 channels each within PROBE_MAX_CHANNELS */

struct nvml_api {
	nvmlReturn_t (*init)(void);
	nvmlReturn_t (*shutdown)(void);
	const char *(*error_string)(nvmlReturn_t);
	nvmlReturn_t (*count)(unsigned int *);
	nvmlReturn_t (*handle)(unsigned int, nvmlDevice_t *);
	nvmlReturn_t (*name)(nvmlDevice_t, char *, unsigned int);
	nvmlReturn_t (*energy)(nvmlDevice_t, unsigned long long *);
	nvmlReturn_t (*power)(nvmlDevice_t, unsigned int *);
	nvmlReturn_t (*util)(nvmlDevice_t, nvmlUtilization_t *);
	nvmlReturn_t (*mem)(nvmlDevice_t, nvmlMemory_t *);
};

struct nvml_gpu {
	nvmlDevice_t dev;
	bool has_counter;
	unsigned long long mj0;
	bool have_prev;
	double prev_w;
	uint64_t prev_ns;
	double acc_j;
	size_t ch; /* index of the energy channel; power, util, mem follow */
};

struct nvml_priv {
	void *dl;
	bool inited;
	struct nvml_api api;
	unsigned int n;
	struct nvml_gpu gpu[NVML_MAX_GPUS];
};

static const char *nv_err(const struct nvml_priv *pv, nvmlReturn_t r)
{
	static char buf[32];
	if (pv->api.error_string)
		return pv->api.error_string(r);
	snprintf(buf, sizeof(buf), "NVML error %d", r);
	return buf;
}

#define LOAD(field, sym)                                                          \
	do {                                                                      \
		*(void **)(&pv->api.field) = dlsym(pv->dl, sym);                  \
		if (!pv->api.field && required) {                                 \
			probe_set_status(p, ENERGY_NOT_SUPPORTED, "%s lacks %s",  \
					 env->nvml_lib, sym);                     \
			return 0;                                                 \
		}                                                                 \
	} while (0)

static int nv_open(struct probe *p, const struct probe_env *env)
{
	struct nvml_priv *pv = calloc(1, sizeof(*pv));
	if (!pv)
		return -ENOMEM;
	p->priv = pv;
	pv->dl = dlopen(env->nvml_lib, RTLD_NOW | RTLD_LOCAL);
	if (!pv->dl) {
		const char *e = dlerror();
		probe_set_status(p, ENERGY_NOT_SUPPORTED, "no NVIDIA driver: cannot load %.100s (%.150s)",
				 env->nvml_lib, e ? e : "dlopen failed");
		return 0;
	}
	bool required = true;
	LOAD(init, "nvmlInit_v2");
	LOAD(shutdown, "nvmlShutdown");
	LOAD(count, "nvmlDeviceGetCount_v2");
	LOAD(handle, "nvmlDeviceGetHandleByIndex_v2");
	LOAD(power, "nvmlDeviceGetPowerUsage");
	required = false;
	LOAD(error_string, "nvmlErrorString");
	LOAD(name, "nvmlDeviceGetName");
	LOAD(energy, "nvmlDeviceGetTotalEnergyConsumption");
	LOAD(util, "nvmlDeviceGetUtilizationRates");
	LOAD(mem, "nvmlDeviceGetMemoryInfo");

	nvmlReturn_t r = pv->api.init();
	if (r != NVML_SUCCESS) {
		probe_set_status(p, r == NVML_ERROR_NO_PERMISSION ? ENERGY_NO_PERMISSION
								  : ENERGY_NOT_SUPPORTED,
				 "nvmlInit: %s", nv_err(pv, r));
		return 0;
	}
	pv->inited = true;
	unsigned int n = 0;
	if ((r = pv->api.count(&n)) != NVML_SUCCESS || n == 0) {
		probe_set_status(p, ENERGY_NOT_SUPPORTED, "NVML sees no GPU%s%s",
				 r ? ": " : "", r ? nv_err(pv, r) : "");
		return 0;
	}
	if (n > NVML_MAX_GPUS) {
		ap_warn("nvml: %u GPUs, measuring the first %d", n, NVML_MAX_GPUS);
		n = NVML_MAX_GPUS;
	}
	size_t ok = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct nvml_gpu *g = &pv->gpu[pv->n];
		char gname[96] = "?", chn[64];
		snprintf(chn, sizeof(chn), "gpu%u", i);
		struct probe_channel *ce = probe_add_channel(p, chn, "J");
		snprintf(chn, sizeof(chn), "gpu%u/power", i);
		struct probe_channel *cp = probe_add_channel(p, chn, "W");
		snprintf(chn, sizeof(chn), "gpu%u/util", i);
		struct probe_channel *cu = probe_add_channel(p, chn, "%");
		snprintf(chn, sizeof(chn), "gpu%u/mem", i);
		struct probe_channel *cm = probe_add_channel(p, chn, "B");
		if (!ce || !cp || !cu || !cm)
			break;
		g->ch = p->n_ch - 4;
		pv->n++;
		ce->cumulative = true;
		ce->role = ROLE_ENERGY;
		ce->domain = DOM_GPU;
		ce->socket = cp->socket = cu->socket = cm->socket = (int)i;
		cp->scale = 1e-3;
		snprintf(cp->raw_unit, sizeof(cp->raw_unit), "mW");

		r = pv->api.handle(i, &g->dev);
		if (r == NVML_SUCCESS && pv->api.name)
			pv->api.name(g->dev, gname, sizeof(gname));
		if (r != NVML_SUCCESS) {
			for (int k = 0; k < 4; k++) {
				p->ch[g->ch + k].status = ENERGY_NOT_SUPPORTED;
				snprintf(p->ch[g->ch + k].reason, sizeof(p->ch[0].reason),
					 "nvmlDeviceGetHandleByIndex(%u): %s", i, nv_err(pv, r));
			}
			continue;
		}
		unsigned long long mj;
		r = pv->api.energy ? pv->api.energy(g->dev, &mj) : NVML_ERROR_NOT_SUPPORTED;
		if (r == NVML_SUCCESS) {
			g->has_counter = true;
			g->mj0 = mj;
			ce->scale = 1e-3;
			snprintf(ce->raw_unit, sizeof(ce->raw_unit), "mJ");
			snprintf(ce->source, sizeof(ce->source),
				 "nvmlDeviceGetTotalEnergyConsumption (%.80s)", gname);
		} else {
			/* Pre-Volta or a driver without the counter: integrate power. */
			snprintf(ce->raw_unit, sizeof(ce->raw_unit), "mW");
			snprintf(ce->source, sizeof(ce->source),
				 "nvmlDeviceGetPowerUsage integrated by trapezoids (%.80s)", gname);
			snprintf(ce->reason, sizeof(ce->reason),
				 "no total-energy counter (%s): power samples integrated",
				 nv_err(pv, r));
		}
		snprintf(cp->source, sizeof(cp->source), "nvmlDeviceGetPowerUsage (%.80s)", gname);
		snprintf(cu->source, sizeof(cu->source), "nvmlDeviceGetUtilizationRates (%.80s)",
			 gname);
		snprintf(cm->source, sizeof(cm->source), "nvmlDeviceGetMemoryInfo used (%.80s)",
			 gname);
		unsigned int mw;
		r = pv->api.power(g->dev, &mw);
		if (r != NVML_SUCCESS) {
			cp->status = ENERGY_NOT_SUPPORTED;
			snprintf(cp->reason, sizeof(cp->reason), "nvmlDeviceGetPowerUsage: %s",
				 nv_err(pv, r));
			if (!g->has_counter) {
				ce->status = cp->status;
				snprintf(ce->reason, sizeof(ce->reason),
					 "neither energy counter nor power reading: %s", nv_err(pv, r));
			}
		}
		if (!pv->api.util) {
			cu->status = ENERGY_NOT_SUPPORTED;
			snprintf(cu->reason, sizeof(cu->reason), "no nvmlDeviceGetUtilizationRates");
		}
		if (!pv->api.mem) {
			cm->status = ENERGY_NOT_SUPPORTED;
			snprintf(cm->reason, sizeof(cm->reason), "no nvmlDeviceGetMemoryInfo");
		}
		if (ce->status == ENERGY_OK)
			ok++;
	}
	if (ok)
		probe_set_status(p, ENERGY_OK, "%zu of %u GPUs measured through %s", ok, n,
				 env->nvml_lib);
	else
		probe_set_status(p, ENERGY_NOT_SUPPORTED, "no GPU gives energy or power: %s",
				 p->n_ch ? p->ch[0].reason : "");
	return 0;
}

static int nv_read(struct probe *p, uint64_t t_ns, double *vals)
{
	struct nvml_priv *pv = p->priv;
	for (unsigned int i = 0; i < pv->n; i++) {
		struct nvml_gpu *g = &pv->gpu[i];
		struct probe_channel *ce = &p->ch[g->ch], *cp = ce + 1, *cu = ce + 2, *cm = ce + 3;
		nvmlReturn_t r;
		if (cp->status == ENERGY_OK) {
			unsigned int mw;
			if ((r = pv->api.power(g->dev, &mw)) != NVML_SUCCESS) {
				cp->status = ENERGY_LOST;
				snprintf(cp->reason, sizeof(cp->reason), "lost: %s", nv_err(pv, r));
			} else {
				double w = mw * 1e-3;
				vals[g->ch + 1] = w;
				if (!g->has_counter && ce->status == ENERGY_OK) {
					if (g->have_prev && t_ns > g->prev_ns)
						g->acc_j += 0.5 * (w + g->prev_w) *
							    (double)(t_ns - g->prev_ns) * 1e-9;
					g->have_prev = true;
					g->prev_w = w;
					g->prev_ns = t_ns;
				}
			}
		}
		if (ce->status == ENERGY_OK) {
			if (g->has_counter) {
				unsigned long long mj;
				if ((r = pv->api.energy(g->dev, &mj)) != NVML_SUCCESS) {
					ce->status = ENERGY_LOST;
					snprintf(ce->reason, sizeof(ce->reason), "lost: %s",
						 nv_err(pv, r));
				} else {
					vals[g->ch] = (double)(mj - g->mj0) * 1e-3;
				}
			} else if (cp->status == ENERGY_OK) {
				vals[g->ch] = g->acc_j;
			} else {
				ce->status = ENERGY_LOST;
				snprintf(ce->reason, sizeof(ce->reason), "lost with its power reading");
			}
		}
		if (cu->status == ENERGY_OK) {
			nvmlUtilization_t u;
			if (pv->api.util(g->dev, &u) == NVML_SUCCESS)
				vals[g->ch + 2] = u.gpu;
		}
		if (cm->status == ENERGY_OK) {
			nvmlMemory_t m;
			if (pv->api.mem(g->dev, &m) == NVML_SUCCESS)
				vals[g->ch + 3] = (double)m.used;
		}
	}
	return 0;
}

static void nv_close(struct probe *p)
{
	struct nvml_priv *pv = p->priv;
	if (!pv)
		return;
	if (pv->inited && pv->api.shutdown)
		pv->api.shutdown();
	if (pv->dl)
		dlclose(pv->dl);
	free(pv);
	p->priv = NULL;
}

const struct probe_ops probe_nvml = {
	.name = "nvml",
	.description = "NVIDIA GPU energy, power, utilization, memory via NVML (dlopen)",
	/* NVML refreshes power about every 20-100 ms; faster reads repeat values. */
	.min_interval_s = 0.05,
	.open = nv_open,
	.read = nv_read,
	.close = nv_close,
};
