#include "sink.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

struct sink {
	pthread_mutex_t mu;          /* guards in_head/in_tail only */
	struct task_run *in_head, *in_tail;
	/* the consumer's own: finished tasks waiting for their energy, in order */
	struct task_run *head, *tail;
	struct energy *energy;
	struct results *out;
	struct run_agg *agg;
	long done;
	int fatal;
};

int sink_new(struct sink **out, struct energy *energy, struct results *res, struct run_agg *agg)
{
	struct sink *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	s->energy = energy;
	s->out = res;
	s->agg = agg;
	*out = s;
	return 0;
}

static void free_list(struct task_run *tr)
{
	while (tr) {
		struct task_run *n = tr->next;
		task_run_free(tr);
		tr = n;
	}
}

void sink_free(struct sink *s)
{
	if (!s)
		return;
	free_list(s->in_head);
	free_list(s->head);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

bool sink_push(struct sink *s, struct task_run *head, struct task_run *tail)
{
	tail->next = NULL;
	pthread_mutex_lock(&s->mu);
	bool was_empty = !s->in_head;
	if (s->in_tail)
		s->in_tail->next = head;
	else
		s->in_head = head;
	s->in_tail = tail;
	pthread_mutex_unlock(&s->mu);
	return was_empty;
}

long sink_tasks_done(const struct sink *s)
{
	return s->done;
}

static void finalize(struct sink *s, struct task_run *tr)
{
	bool have_energy = s->energy != NULL;
	for (size_t i = 0; i < tr->na; i++) {
		tr->a[i].energy_valid = have_energy;
		tr->a[i].energy_j = tr->a[i].idle_j = 0;
	}
	tr->t.energy_valid = have_energy && tr->nc > 0;
	tr->t.energy_j = tr->t.idle_j = 0;
	for (size_t i = 0; i < tr->nc; i++) {
		struct call_rec *c = &tr->c[i];
		struct attempt_rec *a = &tr->a[c->aidx];
		if (!c->energy_valid) {
			a->energy_valid = false;
			tr->t.energy_valid = false;
			continue;
		}
		a->energy_j += c->energy_j;
		a->idle_j += c->idle_j;
		tr->t.energy_j += c->energy_j;
		tr->t.idle_j += c->idle_j;
	}
	tr->t.tool_energy_valid = have_energy;
	tr->t.tool_energy_j = 0;
	for (size_t i = 0; i < tr->nw; i++) {
		if (!tr->w[i].energy_valid)
			tr->t.tool_energy_valid = false;
		else
			tr->t.tool_energy_j += tr->w[i].energy_j;
	}
	if (s->out && !s->fatal) {
		int rc = results_write_task(s->out, &tr->t, tr->a, tr->na, tr->c, tr->nc);
		if (rc) {
			s->fatal = rc;
			ap_err("writing results to %s failed: %s; the run stops", results_dir(s->out),
			       strerror(-rc));
			ap_interrupted = 1;
		}
	}
	run_agg_task(s->agg, &tr->t);
	for (size_t i = 0; i < tr->na; i++)
		run_agg_attempt(s->agg, &tr->a[i]);
	for (size_t i = 0; i < tr->nc; i++)
		run_agg_call(s->agg, &tr->c[i]);
	s->done++;
}

int sink_drain(struct sink *s, bool final)
{
	pthread_mutex_lock(&s->mu);
	struct task_run *in = s->in_head;
	struct task_run *in_tail = s->in_tail;
	s->in_head = s->in_tail = NULL;
	pthread_mutex_unlock(&s->mu);
	if (in) {
		if (s->tail)
			s->tail->next = in;
		else
			s->head = in;
		s->tail = in_tail;
	}
	/* In order: a task is written once all its calls have their energy. */
	while (s->head) {
		struct task_run *tr = s->head;
		for (size_t i = 0; i < tr->nc; i++) {
			struct call_rec *c = &tr->c[i];
			if (c->attributed)
				continue;
			if (!s->energy) {
				c->attributed = true;
				continue;
			}
			struct energy_share sh;
			int rc = energy_attribute(s->energy, c->key, &sh);
			if (rc == -EAGAIN && !final)
				return s->fatal;
			c->attributed = true;
			c->energy_valid = rc == 0 && sh.valid;
			c->energy_j = c->energy_valid ? sh.device_j : 0;
			c->idle_j = c->energy_valid ? sh.idle_j : 0;
		}
		for (size_t i = 0; i < tr->nw; i++) {
			struct wait_rec *w = &tr->w[i];
			if (!s->energy || w->energy_valid || !w->key)
				continue;
			struct energy_share sh;
			int rc = energy_attribute(s->energy, w->key, &sh);
			if (rc == -EAGAIN && !final)
				return s->fatal;
			w->energy_valid = rc == 0 && sh.valid;
			w->energy_j = w->energy_valid ? sh.device_j : 0;
			w->key = 0; /* attributed */
		}
		s->head = tr->next;
		if (!s->head)
			s->tail = NULL;
		finalize(s, tr);
		task_run_free(tr);
	}
	return s->fatal;
}
