/*
 * A fake libnvidia-ml for the NVML probe's tests: two GPUs, the first with
 * the total-energy counter (Volta and later), the second without it
 * (NVML_ERROR_NOT_SUPPORTED), so the probe must integrate its power. Tests
 * set readings through fakenvml_set(), found with dlsym on the same handle.
 */
#include <stdio.h>
#include <string.h>

#define NVML_SUCCESS 0
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_UNINITIALIZED 1

struct fake_gpu {
	const char *name;
	int has_energy;
	unsigned long long energy_mj;
	unsigned int power_mw;
	unsigned int util;
	unsigned long long mem_used, mem_total;
};

typedef struct {
	unsigned int gpu, memory;
} nvmlUtilization_t;
typedef struct {
	unsigned long long total, free, used;
} nvmlMemory_t;

static struct fake_gpu gpus[2] = {
	{ "Fake GPU V100", 1, 1000000, 50000, 10, 1ull << 30, 16ull << 30 },
	{ "Fake GPU P4", 0, 0, 40000, 20, 2ull << 30, 8ull << 30 },
};
static int inited;

void fakenvml_set(unsigned int i, unsigned long long energy_mj, unsigned int power_mw,
		  unsigned int util)
{
	if (i < 2) {
		gpus[i].energy_mj = energy_mj;
		gpus[i].power_mw = power_mw;
		gpus[i].util = util;
	}
}

int nvmlInit_v2(void)
{
	inited++;
	return NVML_SUCCESS;
}

int nvmlShutdown(void)
{
	if (!inited)
		return NVML_ERROR_UNINITIALIZED;
	inited--;
	return NVML_SUCCESS;
}

const char *nvmlErrorString(int r)
{
	return r == NVML_ERROR_NOT_SUPPORTED ? "Not Supported" : r ? "Fake error" : "Success";
}

int nvmlDeviceGetCount_v2(unsigned int *n)
{
	if (!inited)
		return NVML_ERROR_UNINITIALIZED;
	*n = 2;
	return NVML_SUCCESS;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int i, struct fake_gpu **h)
{
	if (i >= 2)
		return NVML_ERROR_INVALID_ARGUMENT;
	*h = &gpus[i];
	return NVML_SUCCESS;
}

int nvmlDeviceGetName(struct fake_gpu *g, char *name, unsigned int len)
{
	snprintf(name, len, "%s", g->name);
	return NVML_SUCCESS;
}

int nvmlDeviceGetTotalEnergyConsumption(struct fake_gpu *g, unsigned long long *mj)
{
	if (!g->has_energy)
		return NVML_ERROR_NOT_SUPPORTED;
	*mj = g->energy_mj;
	return NVML_SUCCESS;
}

int nvmlDeviceGetPowerUsage(struct fake_gpu *g, unsigned int *mw)
{
	*mw = g->power_mw;
	return NVML_SUCCESS;
}

int nvmlDeviceGetUtilizationRates(struct fake_gpu *g, nvmlUtilization_t *u)
{
	u->gpu = g->util;
	u->memory = g->util / 2;
	return NVML_SUCCESS;
}

int nvmlDeviceGetMemoryInfo(struct fake_gpu *g, nvmlMemory_t *m)
{
	m->total = g->mem_total;
	m->used = g->mem_used;
	m->free = g->mem_total - g->mem_used;
	return NVML_SUCCESS;
}
