/*
 * The energy module's front: opens every registered probe, decides which
 * energy channels make up the device figure (never two that overlap, never
 * the estimate beside a measurement), measures the idle baseline, and turns
 * the run into summaries, meta.json and `agentperf list`.
 * The sampler thread is in sampler.c, attribution to calls in attrib.c.
 */
#include <errno.h>
#include <stdatomic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "energy_internal.h"

/* Set by the signal handlers (harness/run/http.c): Ctrl-C ends the baseline. */
extern atomic_int ap_interrupted; /* backend.h; energy.c does not include it */
#include "util.h"

static bool is_rapl(const struct energy_probe *ep)
{
	return ep->p.ops == &probe_rapl_perf || ep->p.ops == &probe_rapl_powercap;
}

static bool want_probe(const char *list, const char *name)
{
	if (!list || !*list)
		return true;
	size_t n = strlen(name);
	for (const char *s = list; *s;) {
		const char *end = strchr(s, ',');
		size_t l = end ? (size_t)(end - s) : strlen(s);
		if (l == n && !strncmp(s, name, n))
			return true;
		if (!end)
			break;
		s = end + 1;
	}
	return false;
}

int energy_probes_check(const char *list, char *err, size_t n)
{
	for (const char *s = list; s && *s;) {
		size_t l = strcspn(s, ",");
		bool known = false;
		for (size_t i = 0; i < probe_table_len && !known; i++)
			known = strlen(probe_table[i]->name) == l && !strncmp(s, probe_table[i]->name, l);
		if (!known) {
			struct sbuf names = { 0 };
			for (size_t i = 0; i < probe_table_len; i++)
				sbuf_addf(&names, "%s%s", i ? ", " : "", probe_table[i]->name);
			snprintf(err, n, "--probes: unknown probe '%.*s' (known: %s)", (int)l, s,
				 names.s ? names.s : "");
			sbuf_free(&names);
			return -EINVAL;
		}
		s += l;
		if (*s == ',')
			s++;
	}
	return 0;
}

/*
 * First clause of a reason, without paths, for the one-line summary; the full
 * text is in meta.json and `agentperf list`.
 */
static void short_reason(char *dst, size_t n, const char *reason)
{
	int len = (int)strlen(reason);
	const char *cuts[] = { " (", " in /", ": /" };
	for (size_t i = 0; i < AP_ARRAY_SIZE(cuts); i++) {
		const char *c = strstr(reason, cuts[i]);
		if (c && c - reason < len)
			len = (int)(c - reason);
	}
	snprintf(dst, n, "%.*s", len, reason);
}

/* Copies with a visible "..." where the text did not fit. */
static void trunc_copy(char *dst, size_t n, const char *src)
{
	size_t l = strlen(src);
	if (l < n) {
		memcpy(dst, src, l + 1);
		return;
	}
	memcpy(dst, src, n - 4);
	memcpy(dst + n - 4, "...", 4);
}

/*
 * Chooses the channels summed into the device figure:
 *  - RAPL: packages and dram (psys only where no package is readable, since it
 *    contains them; core and uncore are inside the package); a domain that
 *    rapl-perf already supplies is not taken again from powercap;
 *  - GPUs: each one;
 *  - hwmon inputs: only when nothing else measures, since what they cover
 *    (a CPU, a board, the whole system) is unknown and may overlap;
 *  - the estimator: only when no measured channel works.
 */
static void select_device(struct energy *e)
{
	bool have_pkg = false, have_measured = false;
	for (size_t i = 0; i < e->n_pr; i++) {
		struct energy_probe *ep = &e->pr[i];
		for (size_t c = 0; c < ep->p.n_ch; c++)
			if (ep->p.ch[c].status == ENERGY_OK && ep->p.ch[c].domain == DOM_PACKAGE)
				have_pkg = true;
	}
	bool have_rapl_gpu = false;
	for (size_t i = 0; i < e->n_pr; i++) {
		struct energy_probe *ep = &e->pr[i];
		if (!ep->opened || ep->p.status != ENERGY_OK)
			continue;
		for (size_t c = 0; c < ep->p.n_ch; c++) {
			struct probe_channel *ch = &ep->p.ch[c];
			if (ch->status != ENERGY_OK || ch->role != ROLE_ENERGY)
				continue;
			bool dup = false;
			for (size_t j = 0; j < i && is_rapl(ep); j++) {
				const struct energy_probe *o = &e->pr[j];
				if (!is_rapl(o) || o->p.status != ENERGY_OK)
					continue;
				for (size_t k = 0; k < o->p.n_ch; k++)
					if (o->p.ch[k].status == ENERGY_OK &&
					    !strcmp(o->p.ch[k].name, ch->name)) {
						dup = true;
						snprintf(ep->note[c], sizeof(ep->note[c]),
							 "not summed: taken from %s", o->p.ops->name);
					}
			}
			if (dup)
				continue;
			switch (ch->domain) {
			case DOM_PACKAGE:
			case DOM_DRAM:
				ep->in_total[c] = true;
				break;
			case DOM_PSYS:
				ep->in_total[c] = !have_pkg;
				if (have_pkg)
					snprintf(ep->note[c], sizeof(ep->note[c]),
						 "not summed: psys contains the packages");
				break;
			case DOM_CORE:
			case DOM_UNCORE:
				snprintf(ep->note[c], sizeof(ep->note[c]),
					 "not summed: inside its package");
				break;
			case DOM_GPU:
				ep->in_total[c] = true;
				break;
			default:
				break;
			}
			if (ep->in_total[c])
				have_rapl_gpu = have_measured = true;
		}
	}
	/* hwmon inputs: summed only as the sole measured source. */
	for (size_t i = 0; i < e->n_pr; i++) {
		struct energy_probe *ep = &e->pr[i];
		if (ep->p.ops != &probe_sensors || ep->p.status != ENERGY_OK)
			continue;
		for (size_t c = 0; c < ep->p.n_ch; c++) {
			struct probe_channel *ch = &ep->p.ch[c];
			if (ch->status != ENERGY_OK || ch->role != ROLE_ENERGY)
				continue;
			if (have_rapl_gpu)
				snprintf(ep->note[c], sizeof(ep->note[c]),
					 "not summed: coverage unknown, may overlap RAPL/GPU");
			else
				ep->in_total[c] = have_measured = true;
		}
	}

	struct sbuf prov = { 0 }, why = { 0 }, why_short = { 0 };
	sbuf_adds(&prov, "measured:");
	size_t n_in = 0;
	for (size_t i = 0; i < e->n_pr; i++) {
		struct energy_probe *ep = &e->pr[i];
		for (size_t c = 0; c < ep->p.n_ch; c++) {
			if (ep->p.ch[c].domain == DOM_ESTIMATE || !ep->in_total[c])
				continue;
			sbuf_addf(&prov, "%s%s:%s", n_in++ ? "+" : "", ep->p.ops->name,
				  ep->p.ch[c].name);
		}
	}
	struct energy_probe *est = NULL;
	for (size_t i = 0; i < e->n_pr; i++)
		if (e->pr[i].p.ops == &probe_estimator)
			est = &e->pr[i];
	if (have_measured) {
		e->have_device = true;
		snprintf(e->device_prov, sizeof(e->device_prov), "%s", prov.s ? prov.s : "");
		if (est && est->p.n_ch)
			snprintf(est->note[0], sizeof(est->note[0]),
				 "standby: not used, measured counters work");
	} else {
		for (size_t i = 0; i < e->n_pr; i++) {
			const struct energy_probe *ep = &e->pr[i];
			if (ep->p.ops == &probe_procfs || ep->p.ops == &probe_estimator)
				continue;
			char sr[160];
			const char *full = ep->p.reason;
			if (!ep->opened)
				full = "not selected (--probes)";
			else if (ep->p.status == ENERGY_OK)
				full = "no readable energy or power input";
			short_reason(sr, sizeof(sr), full);
			sbuf_addf(&why, "%s%s: %s", why.len ? "; " : "", ep->p.ops->name, full);
			sbuf_addf(&why_short, "%s%s: %s", why_short.len ? "; " : "",
				  ep->p.ops->name, sr);
		}
		snprintf(e->estimate_reason_full, sizeof(e->estimate_reason_full),
			 "no energy counter readable: %s", why.s ? why.s : "");
		char tmp[1024];
		snprintf(tmp, sizeof(tmp), "no energy counter readable: %s",
			 why_short.s ? why_short.s : "");
		trunc_copy(e->estimate_reason, sizeof(e->estimate_reason), tmp);
		if (est && est->opened && est->p.status == ENERGY_OK) {
			est->in_total[0] = true;
			e->have_device = e->estimated = true;
			snprintf(e->device_prov, sizeof(e->device_prov),
				 "estimated:cpu-time-model (%.200s)", est->p.ch[0].reason);
		} else {
			snprintf(e->device_prov, sizeof(e->device_prov),
				 "none: no counter and no CPU time to estimate from");
		}
	}
	sbuf_free(&prov);
	sbuf_free(&why);
	sbuf_free(&why_short);
}

double energy_device_now(struct energy *e)
{
	double sum = 0;
	for (size_t i = 0; i < e->n_pr; i++)
		for (size_t c = 0; c < e->pr[i].p.n_ch; c++)
			if (e->pr[i].in_total[c])
				sum += e->pr[i].vals[c];
	return sum;
}

static int open_all(struct energy **out, const struct energy_opts *o, bool check_interval)
{
	int rc = 0;
	struct energy *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	if (o)
		e->o = *o;
	probe_env_init(&e->env, o);
	/* Keep our own copies: the caller's strings need not outlive energy_open. */
	snprintf(e->samples_csv, sizeof(e->samples_csv), "%s",
		 o && o->samples_csv ? o->samples_csv : "");
	e->o.sysfs_root = e->o.procfs_root = e->o.nvml_lib = e->o.probes = NULL;
	e->o.samples_csv = NULL;
	e->idle_w = NAN;
	pthread_mutex_init(&e->lock, NULL);
	if ((rc = attrib_init(e)))
		goto out;

	double min_iv = 0;
	for (size_t i = 0; i < probe_table_len && e->n_pr < ENERGY_MAX_PROBES; i++) {
		struct energy_probe *ep = &e->pr[e->n_pr++];
		ep->p.ops = probe_table[i];
		if (!want_probe(o ? o->probes : NULL, probe_table[i]->name)) {
			probe_set_status(&ep->p, ENERGY_NOT_SUPPORTED, "not selected (probe list)");
			continue;
		}
		ep->opened = true;
		if ((rc = probe_table[i]->open(&ep->p, &e->env)))
			goto out;
	}
	select_device(e);
	/* The estimator on standby (counters work) does not constrain the interval. */
	for (size_t i = 0; i < e->n_pr; i++) {
		const struct energy_probe *ep = &e->pr[i];
		bool standby = ep->p.ops == &probe_estimator && !e->estimated;
		if (ep->p.status == ENERGY_OK && !standby && ep->p.ops->min_interval_s > min_iv)
			min_iv = ep->p.ops->min_interval_s;
	}

	double iv = o ? o->interval_s : 0;
	if (iv <= 0)
		iv = min_iv > 0 ? min_iv : 0.1;
	if (check_interval && iv < min_iv) {
		const char *slow = "?";
		for (size_t i = 0; i < e->n_pr; i++)
			if (e->pr[i].p.status == ENERGY_OK && e->pr[i].p.ops->min_interval_s == min_iv &&
			    (e->pr[i].p.ops != &probe_estimator || e->estimated))
				slow = e->pr[i].p.ops->name;
		ap_err("energy: sampling interval %g s is below %g s, the shortest that probe %s "
		       "can resolve",
		       iv, min_iv, slow);
		rc = -EINVAL;
		goto out;
	}
	e->interval_s = iv;
out:
	if (rc) {
		energy_close(e);
		e = NULL;
	}
	*out = e;
	return rc;
}

int energy_open(struct energy **out, const struct energy_opts *o)
{
	return open_all(out, o, true);
}

void energy_close(struct energy *e)
{
	if (!e)
		return;
	if (e->started && !e->stopped)
		energy_stop(e);
	for (size_t i = 0; i < e->n_pr; i++)
		if (e->pr[i].opened && e->pr[i].p.ops->close)
			e->pr[i].p.ops->close(&e->pr[i].p);
	if (e->csv)
		fclose(e->csv);
	attrib_free(e);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

int energy_watch_pid(struct energy *e, pid_t pid)
{
	int rc = -ENOENT;
	if (!e)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->n_pr; i++) {
		struct energy_probe *ep = &e->pr[i];
		if (ep->p.ops != &probe_procfs || !ep->opened || ep->p.status != ENERGY_OK)
			continue;
		rc = procfs_watch_pid(&ep->p, pid);
		/* The channel counts from now; its reference reading is zero. */
		if (!rc)
			ep->first[ep->p.n_ch - 1] = ep->vals[ep->p.n_ch - 1] = 0;
	}
	pthread_mutex_unlock(&e->lock);
	if (rc)
		ap_warn("energy: cannot watch pid %d: %s", (int)pid, strerror(-rc));
	return rc;
}

int energy_baseline(struct energy *e)
{
	if (!e)
		return -EINVAL;
	if (e->started)
		return -EBUSY;
	if (e->o.manual_sampling) {
		/* The baseline runs on the real clock; the manual timeline is the caller's. */
		ap_err("energy: no measured baseline with manual sampling; use energy_set_idle");
		return -EINVAL;
	}
	if (!(e->o.idle_s > 0))
		return 0;
	if (!e->have_device) {
		ap_warn("energy: no energy source, no idle baseline");
		return 0;
	}
	uint64_t period = (uint64_t)(e->interval_s * 1e9);
	uint64_t t0 = ap_now_ns(), end = t0 + (uint64_t)(e->o.idle_s * 1e9);
	pthread_mutex_lock(&e->lock);
	energy_read_probes(e, t0);
	double e0 = energy_device_now(e);
	pthread_mutex_unlock(&e->lock);
	uint64_t t = t0;
	/* Read all along, not only at both ends: RAPL must be read once per wrap. */
	/* Ctrl-C ends the baseline at once (the sleep is cut in slices of 50 ms
	 * at most, since a signal may land between the flag test and the sleep). */
	while (t < end && !ap_interrupted) {
		uint64_t next = t + period < end ? t + period : end;
		for (uint64_t now = ap_now_ns(); now < next && !ap_interrupted; now = ap_now_ns()) {
			uint64_t wake = next - now > 50000000ull ? now + 50000000ull : next;
			struct timespec ts = { (time_t)(wake / 1000000000ull),
					       (long)(wake % 1000000000ull) };
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
		t = ap_now_ns();
		pthread_mutex_lock(&e->lock);
		energy_read_probes(e, t);
		pthread_mutex_unlock(&e->lock);
	}
	pthread_mutex_lock(&e->lock);
	double e1 = energy_device_now(e);
	e->idle_s = (double)(t - t0) * 1e-9;
	e->idle_w = e->idle_s > 0 ? (e1 - e0) / e->idle_s : NAN;
	pthread_mutex_unlock(&e->lock);
	ap_info("energy: idle baseline %.3f W over %.2f s (%s)", e->idle_w, e->idle_s,
		e->device_prov);
	return 0;
}

void energy_set_idle(struct energy *e, double idle_w, double idle_s)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	e->idle_w = idle_w;
	e->idle_s = idle_s;
	pthread_mutex_unlock(&e->lock);
}

static void channel_provenance(const struct energy_probe *ep, size_t c, char *buf, size_t n)
{
	if (ep->p.ch[c].domain == DOM_ESTIMATE)
		snprintf(buf, n, "estimated:cpu-time-model");
	else
		snprintf(buf, n, "measured:%s:%s", ep->p.ops->name, ep->p.ch[c].name);
}

static void fill_channel(const struct energy *e, const struct energy_probe *ep, size_t c,
			 struct energy_channel_summary *cs, double dur)
{
	const struct probe_channel *ch = &ep->p.ch[c];
	memset(cs, 0, sizeof(*cs));
	snprintf(cs->name, sizeof(cs->name), "%.20s:%.42s", ep->p.ops->name, ch->name);
	channel_provenance(ep, c, cs->provenance, sizeof(cs->provenance));
	snprintf(cs->unit, sizeof(cs->unit), "%s", ch->unit);
	cs->status = ch->status;
	snprintf(cs->reason, sizeof(cs->reason), "%s%s%s", ch->reason,
		 *ch->reason && *ep->note[c] ? "; " : "", ep->note[c]);
	cs->in_device_total = ep->in_total[c];
	if (!e->n_samples) {
		cs->total = cs->avg_w = cs->max = NAN;
		return;
	}
	cs->max = NAN;
	if (ch->cumulative) {
		cs->total = ep->vals[c] - ep->first[c];
	} else {
		cs->total = ep->nsum[c] ? ep->sum[c] / (double)ep->nsum[c] : NAN;
		cs->max = ep->nsum[c] ? ep->max[c] : NAN;
	}
	cs->avg_w = !strcmp(ch->unit, "J") && dur > 0 ? cs->total / dur : NAN;
}

void energy_summarize(struct energy *e, struct energy_summary *s)
{
	memset(s, 0, sizeof(*s));
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	s->n_samples = e->n_samples;
	s->interval_s = e->interval_s;
	s->duration_s = e->n_samples ? (double)(e->t_last - e->t_first) * 1e-9 : 0;
	s->have_device = e->have_device;
	s->estimated = e->estimated;
	snprintf(s->device_provenance, sizeof(s->device_provenance), "%s", e->device_prov);
	snprintf(s->estimate_reason, sizeof(s->estimate_reason), "%s", e->estimate_reason);
	s->device_j = e->n_samples ? e->e_last - e->e_first : 0;
	s->attributed_j = e->attributed_j;
	/* Intervals not yet split (run still going) count as unattributed so far. */
	s->unattributed_j = s->device_j - e->attributed_j;
	s->idle_w = e->idle_w;
	s->idle_s = e->idle_s;
	s->sampler_cpu_s = e->sampler_cpu_s;
	s->n_late = e->n_late;
	snprintf(s->attribution_key, sizeof(s->attribution_key), "time-share");
	s->cpu_util_machine = NAN;
	double busy = NAN, ncpu = NAN;
	/* Energy channels first: if the table is full, the rest are the ones left out. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < e->n_pr; i++) {
			const struct energy_probe *ep = &e->pr[i];
			if (!ep->opened)
				continue;
			for (size_t c = 0; c < ep->p.n_ch; c++) {
				bool en = ep->p.ch[c].role == ROLE_ENERGY;
				if (en != (pass == 0))
					continue;
				if (s->n_channels < ENERGY_MAX_CHANNELS)
					fill_channel(e, ep, c, &s->ch[s->n_channels++], s->duration_s);
			}
		}
	for (size_t i = 0; i < e->n_pr && e->n_samples; i++) {
		const struct energy_probe *ep = &e->pr[i];
		for (size_t c = 0; c < ep->p.n_ch; c++) {
			const struct probe_channel *ch = &ep->p.ch[c];
			if (ch->status != ENERGY_OK && ch->status != ENERGY_LOST)
				continue;
			double d = ep->vals[c] - ep->first[c];
			switch (ch->role) {
			case ROLE_MACHINE_BUSY: busy = d; break;
			case ROLE_MACHINE_NCPU: ncpu = ep->vals[c]; break;
			case ROLE_SELF_CPU: s->cpu_s_self += d; break;
			case ROLE_WATCHED_CPU: s->cpu_s_watched += d; break;
			default: break;
			}
		}
	}
	if (s->duration_s > 0 && ncpu > 0 && !isnan(busy))
		s->cpu_util_machine = busy / (s->duration_s * ncpu);
	pthread_mutex_unlock(&e->lock);
}

cJSON *energy_meta_json(const struct energy *ce)
{
	struct energy *e = (struct energy *)ce; /* locking only; nothing is changed */
	cJSON *j = cJSON_CreateObject();
	if (!j || !e)
		return j;
	pthread_mutex_lock(&e->lock);
	cJSON_AddNumberToObject(j, "interval_s", e->interval_s);
	cJSON_AddStringToObject(j, "attribution_key", "time-share");
	cJSON *dev = cJSON_AddObjectToObject(j, "device");
	cJSON_AddBoolToObject(dev, "available", e->have_device);
	cJSON_AddBoolToObject(dev, "estimated", e->estimated);
	cJSON_AddStringToObject(dev, "provenance", e->device_prov);
	if (e->estimated)
		cJSON_AddStringToObject(dev, "estimate_reason", e->estimate_reason_full);
	cJSON *idle = cJSON_AddObjectToObject(j, "idle_baseline");
	if (isnan(e->idle_w))
		cJSON_AddNullToObject(idle, "watts");
	else
		cJSON_AddNumberToObject(idle, "watts", e->idle_w);
	cJSON_AddNumberToObject(idle, "seconds", e->idle_s);
	cJSON *probes = cJSON_AddArrayToObject(j, "probes");
	for (size_t i = 0; i < e->n_pr; i++) {
		const struct energy_probe *ep = &e->pr[i];
		cJSON *pj = cJSON_CreateObject();
		cJSON_AddItemToArray(probes, pj);
		cJSON_AddStringToObject(pj, "name", ep->p.ops->name);
		cJSON_AddStringToObject(pj, "description", ep->p.ops->description);
		cJSON_AddStringToObject(pj, "status", energy_status_str(ep->p.status));
		cJSON_AddStringToObject(pj, "reason", ep->p.reason);
		cJSON_AddNumberToObject(pj, "min_interval_s", ep->p.ops->min_interval_s);
		cJSON *chs = cJSON_AddArrayToObject(pj, "channels");
		for (size_t c = 0; c < ep->p.n_ch; c++) {
			const struct probe_channel *ch = &ep->p.ch[c];
			char prov[160];
			channel_provenance(ep, c, prov, sizeof(prov));
			cJSON *cj = cJSON_CreateObject();
			cJSON_AddItemToArray(chs, cj);
			cJSON_AddStringToObject(cj, "name", ch->name);
			cJSON_AddStringToObject(cj, "unit", ch->unit);
			cJSON_AddStringToObject(cj, "raw_unit", ch->raw_unit);
			cJSON_AddNumberToObject(cj, "scale", ch->scale);
			cJSON_AddBoolToObject(cj, "cumulative", ch->cumulative);
			cJSON_AddStringToObject(cj, "source", ch->source);
			cJSON_AddStringToObject(cj, "provenance", prov);
			cJSON_AddStringToObject(cj, "status", energy_status_str(ch->status));
			cJSON_AddStringToObject(cj, "reason", ch->reason);
			cJSON_AddBoolToObject(cj, "in_device_total", ep->in_total[c]);
			if (*ep->note[c])
				cJSON_AddStringToObject(cj, "note", ep->note[c]);
		}
	}
	pthread_mutex_unlock(&e->lock);
	return j;
}

void energy_print_list(FILE *f, const struct energy_opts *o)
{
	struct energy *e = NULL;
	int rc = open_all(&e, o, false);
	if (rc) {
		fprintf(f, "energy probes: cannot open: %s\n", strerror(-rc));
		return;
	}
	fprintf(f, "Energy probes (device figure: %s)\n", e->device_prov);
	if (e->estimated)
		fprintf(f, "  estimated because %s\n", e->estimate_reason_full);
	fprintf(f, "\n");
	for (size_t i = 0; i < e->n_pr; i++) {
		const struct energy_probe *ep = &e->pr[i];
		fprintf(f, "  %-16s %-15s %s\n", ep->p.ops->name,
			energy_status_str(ep->p.status), ep->p.ops->description);
		if (*ep->p.reason)
			fprintf(f, "  %-16s %-15s # %s\n", "", "", ep->p.reason);
		for (size_t c = 0; c < ep->p.n_ch; c++) {
			const struct probe_channel *ch = &ep->p.ch[c];
			char what[160];
			snprintf(what, sizeof(what), "%s%s%s", ch->reason,
				 *ch->reason && *ep->note[c] ? "; " : "", ep->note[c]);
			fprintf(f, "    %-30s %-3s %-14s %-6s %s\n", ch->name, ch->unit,
				energy_status_str(ch->status),
				ep->in_total[c] ? "[sum]" : "", what);
		}
	}
	fprintf(f, "\n  sampler interval: %g s (shortest allowed by the working probes)\n",
		e->interval_s);
	energy_close(e);
}
