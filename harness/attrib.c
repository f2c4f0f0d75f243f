/*
 * Attribution of device energy to call windows ("time share").
 *
 * Between two consecutive samples the device power is taken as constant
 * (energy delta / time delta). Each such interval is cut at every call start
 * and end inside it; in each piece, the energy is split equally between the
 * calls active in the whole piece, or goes to "unattributed" when none is.
 * So a call shorter than the interval gets the interval's power times its
 * duration (divided by its company), never zero, and attributed plus
 * unattributed equals the device total by construction.
 *
 * Intervals are consumed in order up to `frontier`; a call whose end is at or
 * before the frontier is complete and can be handed out, then forgotten.
 * Memory is the set of calls in flight or complete but not yet collected,
 * which the runner's concurrency bounds.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "energy_internal.h"
#include "util.h"

int attrib_init(struct energy *e)
{
	e->cap_calls = 64;
	e->calls = calloc(e->cap_calls, sizeof(*e->calls));
	e->points = calloc(2 * e->cap_calls + 2, sizeof(*e->points));
	return e->calls && e->points ? 0 : -ENOMEM;
}

void attrib_free(struct energy *e)
{
	free(e->calls);
	free(e->points);
	e->calls = NULL;
	e->points = NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Splits the energy dj of the interval [a, b] between the calls active in it. */
static void account(struct energy *e, uint64_t a, uint64_t b, double dj)
{
	if (b <= a) {
		e->unattributed_j += dj;
		return;
	}
	double w_per_ns = dj / (double)(b - a);
	size_t np = 0;
	e->points[np++] = a;
	e->points[np++] = b;
	for (size_t i = 0; i < e->n_calls; i++) {
		const struct energy_call *c = &e->calls[i];
		if (c->start > a && c->start < b)
			e->points[np++] = c->start;
		if (c->ended && c->end > a && c->end < b)
			e->points[np++] = c->end;
	}
	qsort(e->points, np, sizeof(*e->points), cmp_u64);
	for (size_t k = 0; k + 1 < np; k++) {
		uint64_t x = e->points[k], y = e->points[k + 1];
		if (y == x)
			continue;
		size_t n = 0;
		for (size_t i = 0; i < e->n_calls; i++) {
			const struct energy_call *c = &e->calls[i];
			if (c->start <= x && (!c->ended || c->end >= y))
				n++;
		}
		double piece = w_per_ns * (double)(y - x);
		if (!n) {
			e->unattributed_j += piece;
			continue;
		}
		double each = piece / (double)n, share = (double)(y - x) * 1e-9 / (double)n;
		for (size_t i = 0; i < e->n_calls; i++) {
			struct energy_call *c = &e->calls[i];
			if (c->start <= x && (!c->ended || c->end >= y)) {
				c->j += each;
				c->share_s += share;
			}
		}
		e->attributed_j += piece;
	}
}

void attrib_advance(struct energy *e, uint64_t upto)
{
	while (e->ring_len && e->ring[e->ring_head].t <= upto) {
		const struct ring_sample *s = &e->ring[e->ring_head];
		account(e, e->frontier, s->t, s->e - e->e_frontier);
		e->frontier = s->t;
		e->e_frontier = s->e;
		e->ring_head = (e->ring_head + 1) % ENERGY_RING;
		e->ring_len--;
	}
}

void attrib_push(struct energy *e, uint64_t t, double dev_j)
{
	if (e->ring_len == ENERGY_RING)
		attrib_advance(e, e->ring[e->ring_head].t);
	e->ring[(e->ring_head + e->ring_len) % ENERGY_RING] = (struct ring_sample){ t, dev_j };
	e->ring_len++;
}

static struct energy_call *find(struct energy *e, uint64_t key)
{
	for (size_t i = 0; i < e->n_calls; i++)
		if (e->calls[i].key == key)
			return &e->calls[i];
	return NULL;
}

static int grow(struct energy *e)
{
	size_t cap = e->cap_calls * 2;
	struct energy_call *c = realloc(e->calls, cap * sizeof(*c));
	if (!c)
		return -ENOMEM;
	e->calls = c;
	uint64_t *p = realloc(e->points, (2 * cap + 2) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	e->points = p;
	e->cap_calls = cap;
	return 0;
}

void energy_call_begin(struct energy *e, uint64_t key, uint64_t t_start_ns)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	if (find(e, key)) {
		ap_warn("energy: call key %llu begun twice; ignoring the second",
			(unsigned long long)key);
		goto out;
	}
	/* Grows only while concurrency grows: finished calls leave the table. */
	if (e->n_calls == e->cap_calls && grow(e)) {
		ap_err("energy: out of memory tracking call %llu", (unsigned long long)key);
		goto out;
	}
	if (e->n_samples && t_start_ns < e->frontier) {
		/* Registered after its interval was split: it joins from the frontier on. */
		e->n_late++;
		t_start_ns = e->frontier;
	}
	e->calls[e->n_calls++] = (struct energy_call){ .key = key, .start = t_start_ns };
out:
	pthread_mutex_unlock(&e->lock);
}

void energy_call_end(struct energy *e, uint64_t key, uint64_t t_end_ns)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	struct energy_call *c = find(e, key);
	if (!c) {
		ap_warn("energy: call key %llu ended but never begun", (unsigned long long)key);
		goto out;
	}
	if (t_end_ns < c->start)
		t_end_ns = c->start;
	if (e->n_samples && t_end_ns < e->frontier) {
		/* Its share up to the frontier is already given; the end cannot move back. */
		e->n_late++;
		t_end_ns = e->frontier;
	}
	c->end = t_end_ns;
	c->ended = true;
out:
	pthread_mutex_unlock(&e->lock);
}

int energy_attribute(struct energy *e, uint64_t key, struct energy_share *out)
{
	int rc = 0;
	memset(out, 0, sizeof(*out));
	if (!e)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	struct energy_call *c = find(e, key);
	if (!c) {
		rc = -ENOENT;
		goto out;
	}
	/* The caller may be ahead of the sampler's settle lag: consume what has settled. */
	if (e->thr_running)
		attrib_advance(e, ap_now_ns() - ATTRIB_SETTLE_NS);
	if (!c->ended || !e->n_samples || c->end > e->frontier) {
		rc = -EAGAIN;
		goto out;
	}
	out->valid = e->have_device;
	out->device_j = c->j;
	out->share_s = c->share_s;
	out->idle_j = isnan(e->idle_w) ? NAN : e->idle_w * c->share_s;
	*c = e->calls[--e->n_calls];
out:
	pthread_mutex_unlock(&e->lock);
	return rc;
}

void attrib_end_all(struct energy *e, uint64_t t)
{
	for (size_t i = 0; i < e->n_calls; i++) {
		struct energy_call *c = &e->calls[i];
		if (!c->ended) {
			ap_warn("energy: call %llu still open at stop; ended there",
				(unsigned long long)c->key);
			c->end = t > c->start ? t : c->start;
			c->ended = true;
		}
	}
}

size_t attrib_active(const struct energy *e, uint64_t t)
{
	size_t n = 0;
	for (size_t i = 0; i < e->n_calls; i++)
		if (e->calls[i].start <= t && (!e->calls[i].ended || e->calls[i].end > t))
			n++;
	return n;
}
