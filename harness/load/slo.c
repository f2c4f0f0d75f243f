/* SLO parsing and judgement (slo.h). */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slo.h"

static const struct {
	const char *name;
	size_t off;
} slo_keys[] = {
	{ "ttft", offsetof(struct slo, ttft_s) },
	{ "itl", offsetof(struct slo, itl_s) },
	{ "e2e", offsetof(struct slo, e2e_s) },
	{ "task", offsetof(struct slo, task_s) },
};
#define N_SLO_KEYS (sizeof(slo_keys) / sizeof(slo_keys[0]))

static double *slo_field(struct slo *s, size_t i)
{
	return (double *)((char *)s + slo_keys[i].off);
}

int slo_parse(struct slo *s, const char *spec, char *msg, unsigned n)
{
	s->ttft_s = s->itl_s = s->e2e_s = s->task_s = NAN;
	s->set = false;
	const char *p = spec;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t i;
		if (!eq) {
			snprintf(msg, n, "'%.*s': expected NAME=SECONDS (ttft, itl, e2e, task)",
				 (int)len, p);
			return -EINVAL;
		}
		for (i = 0; i < N_SLO_KEYS; i++)
			if (strlen(slo_keys[i].name) == (size_t)(eq - p) &&
			    !strncmp(p, slo_keys[i].name, (size_t)(eq - p)))
				break;
		if (i == N_SLO_KEYS) {
			snprintf(msg, n, "unknown SLO '%.*s' (ttft, itl, e2e, task)", (int)(eq - p), p);
			return -EINVAL;
		}
		char num[64];
		size_t vlen = len - (size_t)(eq + 1 - p);
		if (vlen == 0 || vlen >= sizeof(num)) {
			snprintf(msg, n, "%s: missing or overlong value", slo_keys[i].name);
			return -EINVAL;
		}
		memcpy(num, eq + 1, vlen);
		num[vlen] = 0;
		double scale = 1.0;
		if (vlen > 2 && !strcmp(num + vlen - 2, "ms")) {
			num[vlen - 2] = 0;
			scale = 1e-3;
		} else if (vlen > 1 && num[vlen - 1] == 's') {
			num[vlen - 1] = 0;
		}
		char *e;
		double v = strtod(num, &e);
		if (*e || !isfinite(v) || v <= 0) {
			snprintf(msg, n, "%s=%s: expected seconds > 0 (or milliseconds with 'ms')",
				 slo_keys[i].name, eq + 1 < p + len ? num : "");
			return -EINVAL;
		}
		*slo_field(s, i) = v * scale;
		s->set = true;
		p = end ? end + 1 : p + len;
	}
	if (!s->set) {
		snprintf(msg, n, "empty SLO: give at least one of ttft, itl, e2e, task");
		return -EINVAL;
	}
	return 0;
}

void slo_format(const struct slo *s, char *buf, unsigned n)
{
	size_t used = 0;
	buf[0] = 0;
	for (size_t i = 0; i < N_SLO_KEYS; i++) {
		double v = *slo_field((struct slo *)s, i);
		if (isnan(v))
			continue;
		int w = snprintf(buf + used, n - used, "%s%s=%gs", used ? "," : "",
				 slo_keys[i].name, v);
		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
	}
	if (!used)
		snprintf(buf, n, "none");
}

/* A limit holds when it is not set, or the value is known and within it. */
static bool within(double limit, double v, bool missing_fails)
{
	if (isnan(limit))
		return true;
	if (isnan(v))
		return !missing_fails;
	return v <= limit;
}

bool slo_call_ok(const struct slo *s, double ttft_s, double itl_s, double e2e_s)
{
	return within(s->ttft_s, ttft_s, true) && within(s->itl_s, itl_s, false) &&
	       within(s->e2e_s, e2e_s, true);
}

bool slo_task_ok(const struct slo *s, double duration_from_sched_s)
{
	return within(s->task_s, duration_from_sched_s, true);
}
