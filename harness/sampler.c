/*
 * The one sampler thread: reads every open probe on a fixed CLOCK_MONOTONIC
 * schedule (absolute deadlines, so the period does not drift with the time a
 * read takes), hands each sample to the attribution and streams it to
 * samples.csv. Nothing here allocates once the run has started.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "energy_internal.h"
#include "guard.h"
#include "util.h"

#define SAMPLES_CSV_VERSION 1

void energy_read_probes(struct energy *e, uint64_t t)
{
	for (size_t i = 0; i < e->n_pr; i++) {
		struct energy_probe *ep = &e->pr[i];
		if (ep->opened && ep->p.status == ENERGY_OK)
			ep->p.ops->read(&ep->p, t, ep->vals);
	}
}

static void csv_row_n(struct energy *e, size_t sample, uint64_t t, const char *probe,
		      const char *ch, double v, const char *unit, const char *status)
{
	if (!e->csv)
		return;
	/* Signed: another source's row may predate the first sample by a hair. */
	double ts = (double)((int64_t)(t - e->t_first)) * 1e-9;
	int n;
	if (isnan(v))
		n = fprintf(e->csv, "%d,%zu,%.9f,%s:%s,,%s,%s\n", SAMPLES_CSV_VERSION, sample,
			    ts, probe, ch, unit, status);
	else
		n = fprintf(e->csv, "%d,%zu,%.9f,%s:%s,%.9g,%s,%s\n", SAMPLES_CSV_VERSION,
			    sample, ts, probe, ch, v, unit, status);
	if (n < 0 && !e->csv_err) {
		e->csv_err = errno ? errno : EIO;
		ap_warn("samples.csv: write failed: %s; no further samples written",
			strerror(e->csv_err));
	}
}

static void csv_row(struct energy *e, uint64_t t, const char *probe, const char *ch, double v,
		    const char *unit, const char *status)
{
	csv_row_n(e, e->n_samples, t, probe, ch, v, unit, status);
}

void energy_csv_rows(struct energy *e, uint64_t t, size_t seq, const struct energy_row *rows,
		     size_t n)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	if (e->csv && !e->csv_err && e->n_samples && !e->stopped) {
		for (size_t i = 0; i < n; i++)
			csv_row_n(e, seq, t, rows[i].probe, rows[i].channel, rows[i].value,
				  rows[i].unit, rows[i].status);
	}
	pthread_mutex_unlock(&e->lock);
}

static void csv_sample(struct energy *e, uint64_t t, double dev, double dev_w)
{
	if (!e->csv || e->csv_err)
		return;
	for (size_t i = 0; i < e->n_pr; i++) {
		const struct energy_probe *ep = &e->pr[i];
		if (!ep->opened || ep->p.status != ENERGY_OK)
			continue;
		for (size_t c = 0; c < ep->p.n_ch; c++) {
			const struct probe_channel *ch = &ep->p.ch[c];
			if (ch->status == ENERGY_OK)
				csv_row(e, t, ep->p.ops->name, ch->name,
					ch->cumulative ? ep->vals[c] - ep->first[c] : ep->vals[c],
					ch->unit, "ok");
			else if (ch->status == ENERGY_LOST)
				csv_row(e, t, ep->p.ops->name, ch->name, NAN, ch->unit, "lost");
		}
	}
	if (e->have_device) {
		csv_row(e, t, "device", "energy", dev - e->e_first, "J", "ok");
		csv_row(e, t, "device", "power", dev_w, "W", isnan(dev_w) ? "first" : "ok");
	}
	csv_row(e, t, "device", "active-calls", (double)attrib_active(e, t), "", "ok");
}

void energy_take_sample(struct energy *e, uint64_t t)
{
	energy_read_probes(e, t);
	double dev = energy_device_now(e);
	double dev_w = NAN;
	if (!e->n_samples) {
		e->t_first = t;
		e->e_first = dev;
		e->frontier = t;
		e->e_frontier = dev;
		for (size_t i = 0; i < e->n_pr; i++)
			memcpy(e->pr[i].first, e->pr[i].vals, sizeof(e->pr[i].first));
	} else {
		if (t > e->t_last)
			dev_w = (dev - e->e_last) / ((double)(t - e->t_last) * 1e-9);
		attrib_push(e, t, dev);
	}
	for (size_t i = 0; i < e->n_pr; i++) {
		struct energy_probe *ep = &e->pr[i];
		for (size_t c = 0; c < ep->p.n_ch; c++)
			if (!ep->p.ch[c].cumulative && ep->p.ch[c].status == ENERGY_OK) {
				ep->sum[c] += ep->vals[c];
				if (!ep->nsum[c] || ep->vals[c] > ep->max[c])
					ep->max[c] = ep->vals[c];
				ep->nsum[c]++;
			}
	}
	e->t_last = t;
	e->e_last = dev;
	csv_sample(e, t, dev, dev_w);
	e->n_samples++;
}

static void *sampler_main(void *arg)
{
	struct energy *e = arg;
	/* samples.csv is C-locale whatever the embedding program set. */
	locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (c_loc)
		uselocale(c_loc);
	uint64_t period = (uint64_t)(e->interval_s * 1e9);
	pthread_mutex_lock(&e->lock);
	uint64_t next = e->t_last;
	pthread_mutex_unlock(&e->lock);
	while (!atomic_load(&e->stop)) {
		next += period;
		struct timespec ts = { (time_t)(next / 1000000000ull), (long)(next % 1000000000ull) };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		if (atomic_load(&e->stop))
			break;
		uint64_t now = ap_now_ns();
		pthread_mutex_lock(&e->lock);
		energy_take_sample(e, now);
		attrib_advance(e, now - ATTRIB_SETTLE_NS);
		e->sampler_cpu_s = ap_thread_cpu_s();
		pthread_mutex_unlock(&e->lock);
		/* Overslept by more than a period (suspend, overload): resume the grid from now. */
		if (now > next + period)
			next = now;
	}
	pthread_mutex_lock(&e->lock);
	e->sampler_cpu_s = ap_thread_cpu_s();
	pthread_mutex_unlock(&e->lock);
	if (c_loc) {
		uselocale(LC_GLOBAL_LOCALE);
		freelocale(c_loc);
	}
	return NULL;
}

int energy_start(struct energy *e)
{
	int rc = 0;
	if (!e)
		return -EINVAL;
	if (e->started)
		return -EALREADY;
	if (e->samples_csv[0]) {
		/* O_NOFOLLOW: never write through a symlink planted in the results folder.
		 * O_APPEND: a resumed run adds its session's samples after the first's. */
		int fd = ap_open_path(e->samples_csv, O_WRONLY | O_CREAT | O_APPEND);
		struct stat sb;
		if (fd < 0)
			errno = -fd;
		e->csv = fd >= 0 ? fdopen(fd, "a") : NULL;
		if (!e->csv) {
			rc = -errno;
			if (fd >= 0)
				close(fd);
			ap_err("samples.csv: cannot create %s: %s", e->samples_csv, strerror(-rc));
			return rc;
		}
		if (!fstat(fd, &sb) && sb.st_size == 0)
			fputs("version,sample,t_s,channel,value,unit,status\n", e->csv);
	}
	e->started = true;
	if (e->o.manual_sampling)
		return 0;
	pthread_mutex_lock(&e->lock);
	energy_take_sample(e, ap_now_ns());
	pthread_mutex_unlock(&e->lock);
	atomic_store(&e->stop, false);
	rc = -pthread_create(&e->thr, NULL, sampler_main, e);
	if (rc) {
		ap_err("energy: cannot start the sampler thread: %s", strerror(-rc));
		return rc;
	}
	e->thr_running = true;
	return 0;
}

int energy_sample(struct energy *e, uint64_t t_ns)
{
	int rc = 0;
	if (!e || !e->o.manual_sampling || !e->started || e->stopped)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	if (e->n_samples && t_ns < e->t_last) {
		rc = -EINVAL;
		goto out;
	}
	energy_take_sample(e, t_ns);
	/* The caller registers its calls before sampling, so nothing needs to settle. */
	attrib_advance(e, t_ns);
out:
	pthread_mutex_unlock(&e->lock);
	return rc;
}

int energy_stop(struct energy *e)
{
	int rc = 0;
	if (!e || !e->started)
		return -EINVAL;
	if (e->stopped)
		return 0;
	if (e->thr_running) {
		atomic_store(&e->stop, true);
		pthread_join(e->thr, NULL);
		e->thr_running = false;
		pthread_mutex_lock(&e->lock);
		energy_take_sample(e, ap_now_ns());
		pthread_mutex_unlock(&e->lock);
	}
	pthread_mutex_lock(&e->lock);
	if (e->n_samples) {
		attrib_end_all(e, e->t_last);
		attrib_advance(e, UINT64_MAX);
	}
	e->stopped = true;
	pthread_mutex_unlock(&e->lock);
	if (e->csv) {
		if (fclose(e->csv) && !e->csv_err)
			rc = -errno;
		e->csv = NULL;
		if (e->csv_err)
			rc = -e->csv_err;
	}
	return rc;
}

double energy_interval(const struct energy *e)
{
	return e ? e->interval_s : 0;
}
