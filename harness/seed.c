#include "seed.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static const char *const names[] = { "per-attempt", "fixed" };

int seed_policy_parse(const char *s)
{
	for (int i = 0; i < 2; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -EINVAL;
}

const char *seed_policy_name(int p)
{
	return p == SEED_FIXED ? names[1] : names[0];
}

static uint64_t mix(uint64_t x)
{
	uint64_t z = x + 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint32_t seed_derive(uint64_t base, int repeat, long seq, int form, int sub, int attempt)
{
	const uint64_t v[] = { (uint64_t)repeat, (uint64_t)seq, (uint64_t)form, (uint64_t)(sub + 1),
			       (uint64_t)attempt };
	uint64_t h = base;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		h = mix(h ^ v[i]);
	return (uint32_t)(h & 0x7fffffffu);
}

long long seed_apply(cJSON *sampling, int policy, long long *base, int repeat, long seq, int form,
		     int sub, int attempt)
{
	cJSON *s = cJSON_GetObjectItemCaseSensitive(sampling, "seed");
	if (*base < 0) {
		if (!cJSON_IsNumber(s) || s->valuedouble < 0 || !isfinite(s->valuedouble))
			return -1;
		*base = (long long)s->valuedouble;
	}
	long long v = policy == SEED_FIXED ? *base
					   : (long long)seed_derive((uint64_t)*base, repeat, seq, form,
								    sub, attempt);
	if (s)
		cJSON_SetNumberValue(s, (double)v);
	return v;
}

void seed_warn_plain_retry(const cJSON *sampling, int policy, long long seed, const char *task_id)
{
	static atomic_bool warned;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(sampling, "temperature");
	if (!cJSON_IsNumber(t) || t->valuedouble != 0 || atomic_exchange(&warned, true))
		return;
	ap_warn("task %s: a plain retry at temperature 0%s can only repeat the answer of a "
		"deterministic model, so the retry tax is measured on retries that cannot succeed "
		"(greedy decoding ignores the seed; use --retry repair or a temperature above 0)",
		task_id, policy == SEED_FIXED && seed >= 0 ? " with a fixed seed" : "");
}
