/*
 * Measurement-validity fields of meta.json's energy block, and the settle
 * step before the idle baseline (energy.h: energy_settle,
 * energy_validity_add). Here because they judge the measurement rather
 * than take it; they read the energy module's state under its lock.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h" /* ap_interrupted */
#include "energy_internal.h"
#include "jsonv.h"
#include "util.h"

#define SETTLE_SUBWINDOWS 10
#define SETTLE_MAX_VAR 0.05 /* the 5 % */
/* A baseline this much above the machine's last known idle is flagged warm. */
#define WARM_FACTOR 1.25

static double device_now_locked(struct energy *e, uint64_t t)
{
	pthread_mutex_lock(&e->lock);
	energy_read_probes(e, t);
	double v = energy_device_now(e);
	pthread_mutex_unlock(&e->lock);
	return v;
}

int energy_settle(struct energy *e, double settle_s, double max_wait_s)
{
	if (!e || !(settle_s > 0))
		return -EINVAL;
	if (e->started || e->o.manual_sampling)
		return -EBUSY;
	e->settle_s = settle_s;
	e->settle_done = true;
	e->settle_var = NAN;
	if (!e->have_device) {
		ap_warn("energy: no energy source, nothing to settle");
		return 0;
	}
	/* Power over sub-windows of S/10 (never shorter than a sampler interval):
	 * settled when the last ten vary by under 5 % of their mean. */
	double sub = settle_s / SETTLE_SUBWINDOWS;
	if (sub < e->interval_s)
		sub = e->interval_s;
	size_t need = (size_t)ceil(settle_s / sub);
	if (need < 2)
		need = 2;
	double *w = calloc(need, sizeof(*w));
	if (!w)
		return -ENOMEM;
	uint64_t step = (uint64_t)(sub * 1e9), t0 = ap_now_ns(), t = t0;
	uint64_t limit = t0 + (uint64_t)(max_wait_s * 1e9);
	double prev = device_now_locked(e, t);
	size_t n = 0;
	int rc = -ETIMEDOUT;
	while (t < limit) {
		uint64_t next = t + step;
		struct timespec ts = { (time_t)(next / 1000000000ull), (long)(next % 1000000000ull) };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		if (ap_interrupted) {
			rc = -EINTR;
			break;
		}
		uint64_t now = ap_now_ns();
		double cur = device_now_locked(e, now);
		double p = (cur - prev) / ((double)(now - t) * 1e-9);
		prev = cur;
		t = now;
		memmove(w, w + 1, (need - 1) * sizeof(*w));
		w[need - 1] = p;
		if (++n < need)
			continue;
		double lo = w[0], hi = w[0], sum = 0;
		for (size_t i = 0; i < need; i++) {
			lo = w[i] < lo ? w[i] : lo;
			hi = w[i] > hi ? w[i] : hi;
			sum += w[i];
		}
		double mean = sum / (double)need;
		e->settle_var = mean > 0 ? (hi - lo) / mean : NAN;
		if (mean > 0 && (hi - lo) / mean < SETTLE_MAX_VAR) {
			rc = 0;
			break;
		}
	}
	free(w);
	e->settle_waited_s = (double)(t - t0) * 1e-9;
	e->settled = rc == 0;
	if (rc == 0)
		ap_info("energy: power settled after %.1f s (varies %.1f %% over %.1f s)",
			e->settle_waited_s, e->settle_var * 100, settle_s);
	else if (rc == -ETIMEDOUT)
		ap_warn("energy: power did not settle within %.1f s (varies %.1f %% over %.1f s); "
			"the baseline is taken anyway and flagged", max_wait_s, e->settle_var * 100,
			settle_s);
	return rc;
}

/* ---- the machine's last known idle: a small state file ---- */

static void idle_state_path(char *buf, size_t n)
{
	const char *p = getenv("AGENTPERF_IDLE_STATE");
	if (p && *p) {
		snprintf(buf, n, "%s", p);
		return;
	}
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char host[128] = "host";
	gethostname(host, sizeof(host) - 1);
	if (xdg && *xdg)
		snprintf(buf, n, "%s/agentperf/idle-%s.json", xdg, host);
	else if (home && *home)
		snprintf(buf, n, "%s/.cache/agentperf/idle-%s.json", home, host);
	else
		buf[0] = '\0';
}

/* The last baseline not flagged warm for this device figure, or NAN. */
static double last_idle(const char *path, const char *prov)
{
	char *t = NULL;
	size_t len;
	if (!*path || ap_read_file(path, &t, &len))
		return NAN;
	cJSON *j = cJSON_Parse(t);
	free(t);
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, prov);
	double v = jv_num_or(o, "idle_w", NAN);
	cJSON_Delete(j);
	return v;
}

static void store_idle(const char *path, const char *prov, double idle_w)
{
	if (!*path)
		return;
	char *t = NULL;
	size_t len;
	cJSON *j = NULL;
	if (!ap_read_file(path, &t, &len))
		j = cJSON_Parse(t);
	free(t);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		j = cJSON_CreateObject();
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "idle_w", idle_w);
	cJSON_AddNumberToObject(o, "wall_s", (double)(ap_wall_ns() / 1000000000ull));
	cJSON_DeleteItemFromObjectCaseSensitive(j, prov);
	cJSON_AddItemToObject(j, prov, o);
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!s)
		return;
	/* Written beside and renamed: two runs at once never leave half a file. */
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	FILE *f = fopen(tmp, "w");
	if (f) {
		bool ok = fputs(s, f) >= 0;
		ok = !fclose(f) && ok;
		if (!ok || rename(tmp, path))
			unlink(tmp);
	}
	free(s);
}

void energy_validity_add(cJSON *blk, struct energy *e, const struct energy_summary *s)
{
	if (!blk || !e || !s)
		return;
	/* How the device figure was obtained. */
	bool counters = false, powers = false;
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->n_pr; i++)
		for (size_t c = 0; c < e->pr[i].p.n_ch; c++)
			if (e->pr[i].in_total[c] && e->pr[i].p.ch[c].domain != DOM_ESTIMATE) {
				if (e->pr[i].p.ch[c].cumulative)
					counters = true;
				else
					powers = true;
			}
	double settle_s = e->settle_s, waited = e->settle_waited_s, var = e->settle_var;
	bool settle_done = e->settle_done, settled = e->settled;
	pthread_mutex_unlock(&e->lock);
	const char *method = !s->have_device ? "none"
			     : s->estimated  ? "estimated: CPU time x watts per core + idle watts "
					       "(cpu-time-model; no counter readable)"
			     : counters && powers
				     ? "measured: energy counter deltas and power samples integrated "
				       "by trapezoids"
			     : counters ? "measured: energy counter deltas"
					: "measured: power samples integrated by trapezoids";
	cJSON_AddStringToObject(blk, "measurement_method", method);
	jv_add_num_or_null(blk, "sampling_rate_hz",
		s->duration_s > 0 && s->n_samples > 1 ? (double)(s->n_samples - 1) / s->duration_s
						      : NAN);
	jv_add_num_or_null(blk, "sampling_rate_nominal_hz", s->interval_s > 0 ? 1 / s->interval_s : NAN);
	cJSON *at = cJSON_AddObjectToObject(blk, "attribution");
	cJSON_AddStringToObject(at, "policy", s->attribution_key);
	cJSON_AddStringToObject(at, "rule",
				"a call gets the integral of device power over its window; where "
				"calls overlap each instant's power is split equally between the "
				"calls in flight; energy with no call in flight is unattributed");
	cJSON_AddStringToObject(at, "boundary", "device (non-overlapping domains summed)");
	cJSON *st = cJSON_AddObjectToObject(blk, "settle");
	if (settle_done) {
		cJSON_AddNumberToObject(st, "requested_s", settle_s);
		cJSON_AddNumberToObject(st, "waited_s", waited);
		cJSON_AddBoolToObject(st, "settled", settled);
		jv_add_num_or_null(st, "variation_pct", var * 100);
		cJSON_AddNumberToObject(st, "threshold_pct", SETTLE_MAX_VAR * 100);
	} else {
		cJSON_AddStringToObject(st, "status", "not requested (--settle S)");
	}
	/* Baseline against the machine's last known idle. */
	char path[4096];
	idle_state_path(path, sizeof(path));
	cJSON *bl = cJSON_AddObjectToObject(blk, "baseline");
	double last = s->have_device ? last_idle(path, s->device_provenance) : NAN;
	jv_add_num_or_null(bl, "idle_w", s->idle_w);
	jv_add_num_or_null(bl, "last_known_idle_w", last);
	if (!isnan(s->idle_w) && s->have_device) {
		bool warm = !isnan(last) && s->idle_w > last * WARM_FACTOR;
		cJSON_AddBoolToObject(bl, "warm", warm);
		cJSON_AddNumberToObject(bl, "warm_factor", WARM_FACTOR);
		if (warm)
			cJSON_AddStringToObject(bl, "warning",
						"idle baseline far above this machine's last known "
						"idle: the machine was busy or warm; net-of-idle "
						"figures are low");
		else if (!s->estimated)
			store_idle(path, s->device_provenance, s->idle_w);
	} else {
		cJSON_AddNullToObject(bl, "warm");
	}
	cJSON_AddStringToObject(bl, "state_file", path);
	/* The estimator beside a measured counter: its error on this machine. */
	double est = NAN;
	for (size_t i = 0; i < s->n_channels; i++)
		if (!strcmp(s->ch[i].provenance, "estimated:cpu-time-model") &&
		    s->ch[i].status == ENERGY_OK && !s->ch[i].in_device_total)
			est = s->ch[i].total;
	if (s->have_device && !s->estimated && !isnan(est) && s->device_j > 0) {
		cJSON *d = cJSON_AddObjectToObject(blk, "estimator_check");
		cJSON_AddNumberToObject(d, "estimated_j", est);
		cJSON_AddNumberToObject(d, "measured_j", s->device_j);
		cJSON_AddNumberToObject(d, "disagreement_pct", 100 * (est - s->device_j) / s->device_j);
	} else {
		cJSON_AddStringToObject(blk, "estimator_check",
					s->estimated ? "not possible: no measured counter"
						     : "not possible: the estimator did not run");
	}
}
