#include "summary.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int run_agg_init(struct run_agg *r, int repeats)
{
	memset(r, 0, sizeof(*r));
	r->repeats = repeats;
	r->a = calloc((size_t)repeats * AGG_SLOTS, sizeof(*r->a));
	r->elapsed_s = calloc((size_t)repeats, sizeof(*r->elapsed_s));
	if (!r->a || !r->elapsed_s) {
		run_agg_free(r);
		return -ENOMEM;
	}
	for (int i = 0; i < repeats; i++)
		r->elapsed_s[i] = NAN;
	return 0;
}

/* Strings of the units: blocks that never move (pointers into them stay
 * valid), each category stored once. */
#define STR_BLOCK (256u << 10)
#define STR_CATS 64
struct unit_strs {
	struct str_block {
		struct str_block *next;
		size_t used, cap;
		char s[];
	} *blocks;
	const char *cats[STR_CATS];
	int n_cats;
};

static const char *strs_put(struct unit_strs *st, const char *s)
{
	size_t n = strlen(s) + 1;
	struct str_block *b = st->blocks;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > STR_BLOCK ? n : STR_BLOCK;
		if (!(b = malloc(sizeof(*b) + cap)))
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = st->blocks;
		st->blocks = b;
	}
	char *p = memcpy(b->s + b->used, s, n);
	b->used += n;
	return p;
}

static const char *strs_category(struct unit_strs *st, const char *c)
{
	for (int i = st->n_cats - 1; i >= 0; i--)
		if (!strcmp(st->cats[i], c))
			return st->cats[i];
	const char *p = strs_put(st, c);
	if (p && st->n_cats < STR_CATS)
		st->cats[st->n_cats++] = p;
	return p;
}

void run_agg_free(struct run_agg *r)
{
	free(r->a);
	free(r->elapsed_s);
	ap_arena_free(&r->units_mem);
	if (r->strs) {
		for (struct str_block *b = r->strs->blocks, *n; b; b = n) {
			n = b->next;
			free(b);
		}
		free(r->strs);
		r->strs = NULL;
	}
	r->units = NULL;
	r->n_units = 0;
	r->a = NULL;
	r->elapsed_s = NULL;
}

struct form_agg *run_agg_get(struct run_agg *r, int repeat, int form)
{
	if (repeat < 1 || repeat > r->repeats || form < 0 || form >= AGG_SLOTS)
		return NULL;
	return &r->a[(repeat - 1) * AGG_SLOTS + form];
}

static void agg_task(struct run_agg *r, const struct task_rec *t, int slot)
{
	struct form_agg *a = run_agg_get(r, t->repeat, slot);
	if (!a)
		return;
	r->ran[slot] = true;
	/* An interrupted task is neither a success nor a failure of the model. */
	if (!strcmp(t->outcome, "interrupted")) {
		a->interrupted++;
		return;
	}
	a->tasks++;
	a->attempts += t->attempts;
	if (!isnan(t->duration_s))
		a->task_s += t->duration_s;
	double q = isnan(t->queue_s) ? 0 : t->queue_s;
	hist_add(&a->queue, q);
	if (q > a->queue_max_s)
		a->queue_max_s = q;
	if (!isnan(t->duration_s))
		hist_add(&a->task_sched, q + t->duration_s);
	if (t->slo_met >= 0) {
		a->slo_judged++;
		a->slo_met += t->slo_met;
		a->slo_successes += t->slo_met && t->success;
	}
	if (!isnan(t->tool_wait_s))
		a->tool_wait_s += t->tool_wait_s;
	if (t->tool_energy_valid)
		a->tool_energy_j += t->tool_energy_j;
	else if (t->tool_wait_s > 0)
		a->tool_energy_missing++;
	a->ctx_tokens_est += t->ctx_tokens_est * t->calls;
	if (t->attempts > a->max_k)
		a->max_k = t->attempts > MAX_K ? MAX_K : t->attempts;
	if (t->success) {
		a->successes++;
		for (int k = t->k_success < 1 ? 1 : t->k_success; k <= MAX_K; k++)
			a->within[k]++;
	}
}

/* Out of memory loses the unit only: the aggregates above stay exact. */
static void keep_unit(struct run_agg *r, const struct task_rec *t)
{
	if (t->repeat < 1 || t->repeat > r->repeats || !strcmp(t->outcome, "interrupted"))
		return;
	if (!r->strs && !(r->strs = calloc(1, sizeof(*r->strs))))
		return;
	struct task_unit u = {
		.task_id = strs_put(r->strs, t->task_id),
		.category = strs_category(r->strs, t->category),
		.prompt_tokens = t->prompt_tokens,
		.completion_tokens = t->completion_tokens,
		.cached_tokens = t->cached_tokens,
		.energy_j = t->energy_j,
		.duration_s = t->duration_s,
		.repeat = t->repeat,
		.attempts = t->attempts,
		.calls = t->calls,
		.form = (signed char)t->form,
		.success = t->success,
		.energy_valid = t->energy_valid,
	};
	if (!u.task_id || !u.category || !ap_arena_put(&r->units_mem, &u, sizeof(u)))
		return;
	r->units = (struct task_unit *)(void *)r->units_mem.base;
	r->n_units++;
}

void run_agg_task(struct run_agg *r, const struct task_rec *t)
{
	keep_unit(r, t);
	agg_task(r, t, t->form);
	if (t->form == FORM_MONO && t->paired)
		agg_task(r, t, AGG_MONO_PAIRED);
}

static void agg_call(struct run_agg *r, const struct call_rec *c, int slot)
{
	struct form_agg *a = run_agg_get(r, c->repeat, slot);
	if (!a)
		return;
	a->calls++;
	a->prompt_tokens += c->prompt_tokens;
	a->completion_tokens += c->completion_tokens;
	a->cached_tokens += c->cached_tokens;
	a->retries += c->retries;
	if (c->status >= 0 && c->status < CALL_STATUS_COUNT)
		a->by_status[c->status]++;
	if (c->status != CALL_OK) {
		a->failed_calls++;
	} else {
		if (!c->usage)
			a->calls_no_usage++;
		if (c->usage && c->n_chunks >= 0 && !c->n_tool_calls) {
			a->calls_chunk_checked++;
			long d = c->n_chunks - c->completion_tokens;
			a->calls_chunk_mismatch += d > 1 || d < -1;
		}
		hist_add(&a->ttft, c->ttft_s);
		hist_add(&a->e2e, c->e2e_s);
		double q = isnan(c->queue_s) ? 0 : c->queue_s;
		if (!isnan(c->ttft_s))
			hist_add(&a->ttft_sched, q + c->ttft_s);
		hist_add(&a->e2e_sched, q + c->e2e_s);
		if (!isnan(c->itl_s))
			hist_add(&a->itl, c->itl_s);
		if (!isnan(c->out_tps)) {
			a->tps_sum += c->out_tps;
			a->tps_n++;
		}
		if (!isnan(c->srv_gen_tps) && !isnan(c->srv_prompt_tps)) {
			a->srv_prompt_tps_sum += c->srv_prompt_tps;
			a->srv_gen_tps_sum += c->srv_gen_tps;
			a->srv_n++;
		}
	}
	if (c->energy_valid) {
		a->energy_j += c->energy_j;
		a->idle_j += c->idle_j;
		a->energy_calls++;
	} else {
		a->energy_calls_missing++;
	}
}

void run_agg_call(struct run_agg *r, const struct call_rec *c)
{
	agg_call(r, c, c->form);
	if (c->form == FORM_MONO && c->paired)
		agg_call(r, c, AGG_MONO_PAIRED);
}

void run_agg_attempt(struct run_agg *r, const struct attempt_rec *at)
{
	struct form_agg *a = run_agg_get(r, at->repeat, at->form);
	/* An interrupted attempt is not the model's failure (as for tasks). */
	if (!a || at->status == CALL_ERR_INTERRUPTED)
		return;
	if (!isnan(at->duration_s))
		a->attempt_s += at->duration_s;
	if (at->success)
		return;
	a->failed_attempts++;
	a->failed_calls_n += at->calls;
	a->failed_prompt_tokens += at->prompt_tokens;
	a->failed_completion_tokens += at->completion_tokens;
	a->failed_cached_tokens += at->cached_tokens;
	if (!isnan(at->duration_s))
		a->failed_attempt_s += at->duration_s;
	if (at->energy_valid)
		a->failed_energy_j += at->energy_j;
	else
		a->failed_energy_missing++;
}

static const char *const metric_names[M_COUNT] = {
	"tasks", "successes", "success_rate", "pass_at_1", "attempts", "attempts_per_success",
	"calls", "calls_per_success", "prompt_tokens", "prompt_tokens_per_success",
	"completion_tokens", "completion_tokens_per_success", "cached_tokens", "ttft_p50_s",
	"ttft_p95_s", "e2e_p50_s", "e2e_p95_s", "itl_p50_s", "output_tokens_per_s", "energy_j",
	"energy_j_per_success", "net_energy_j_per_success", "elapsed_s",
};

const char *metric_name(enum metric m)
{
	return (unsigned)m < M_COUNT ? metric_names[m] : "?";
}

static double per_success(double x, long succ)
{
	return succ > 0 ? x / (double)succ : NAN;
}

double form_metric(const struct run_agg *r, int repeat, int form, enum metric m)
{
	const struct form_agg *a = run_agg_get((struct run_agg *)r, repeat, form);
	if (!a || !r->ran[form])
		return NAN;
	double energy_ok = a->energy_calls > 0 && a->energy_calls_missing == 0;
	switch (m) {
	case M_TASKS: return (double)a->tasks;
	case M_SUCCESSES: return (double)a->successes;
	case M_SUCCESS_RATE: return a->tasks ? (double)a->successes / (double)a->tasks : NAN;
	case M_PASS1: return a->tasks ? (double)a->within[1] / (double)a->tasks : NAN;
	case M_ATTEMPTS: return (double)a->attempts;
	case M_ATTEMPTS_PER_SUCCESS: return per_success((double)a->attempts, a->successes);
	case M_CALLS: return (double)a->calls;
	case M_CALLS_PER_SUCCESS: return per_success((double)a->calls, a->successes);
	case M_PROMPT: return (double)a->prompt_tokens;
	case M_PROMPT_PER_SUCCESS: return per_success((double)a->prompt_tokens, a->successes);
	case M_COMPLETION: return (double)a->completion_tokens;
	case M_COMPLETION_PER_SUCCESS: return per_success((double)a->completion_tokens, a->successes);
	case M_CACHED: return (double)a->cached_tokens;
	case M_TTFT_P50: return hist_pct(&a->ttft, 50);
	case M_TTFT_P95: return hist_pct(&a->ttft, 95);
	case M_E2E_P50: return hist_pct(&a->e2e, 50);
	case M_E2E_P95: return hist_pct(&a->e2e, 95);
	case M_ITL_P50: return hist_pct(&a->itl, 50);
	case M_OUT_TPS: return a->tps_n ? a->tps_sum / (double)a->tps_n : NAN;
	case M_ENERGY_J: return energy_ok ? a->energy_j : NAN;
	case M_ENERGY_PER_SUCCESS: return energy_ok ? per_success(a->energy_j, a->successes) : NAN;
	case M_NET_ENERGY_PER_SUCCESS:
		return energy_ok ? per_success(a->energy_j - a->idle_j, a->successes) : NAN;
	case M_ELAPSED: return r->elapsed_s[repeat - 1];
	case M_COUNT: break;
	}
	return NAN;
}

struct welford run_metric(const struct run_agg *r, int form, enum metric m)
{
	struct welford w = { 0 };
	for (int i = 1; i <= r->repeats; i++) {
		double v = form_metric(r, i, form, m);
		if (!isnan(v))
			welford_add(&w, v);
	}
	return w;
}
