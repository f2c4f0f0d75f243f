#include "runner.h"
#include "cost.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the model is told when repair mode feeds a failed check back. */
#define REPAIR_FMT "Your previous answer was not accepted: %s. Please try again."

struct task_run {
	struct task_rec t;
	struct attempt_rec *a;
	size_t na, cap_a;
	struct call_rec *c;
	size_t nc, cap_c;
	struct task_run *next;
};

struct runner {
	const struct run_opts *o;
	struct run_state *st;
	pthread_mutex_t mu;     /* guards the workload stream and the sink */
	int repeat;
	long next_seq;
	bool counting;          /* false during warm-up: results are discarded */
	long warm_left;
	bool stream_done;
	struct task_run *head, *tail; /* finished tasks waiting for their energy */
	atomic_uint_fast64_t next_key;
	int fatal;              /* first sink error (disk full ...) */
	int input_error;        /* the workload could not be read, or changed, mid-run */
};

struct worker {
	struct runner *R;
	pthread_t th;
	struct http_client *http;
	struct call_result res;
};

static void task_run_free(struct task_run *tr)
{
	if (!tr)
		return;
	free(tr->a);
	free(tr->c);
	free(tr);
}

static void *grow(void *p, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return p;
	/* Start at one: most tasks have one attempt of one call, and a finished task
	 * waits ~70 ms in the queue for its energy, so at 10k calls/s a few KB
	 * of unused slots per task came to tens of MB of peak RSS. */
	size_t nc = *cap ? *cap * 2 : 1;
	void *q = realloc(p, nc * sz);
	if (q)
		*cap = nc;
	return q;
}

static struct attempt_rec *push_attempt(struct task_run *tr)
{
	struct attempt_rec *a = grow(tr->a, &tr->cap_a, tr->na, sizeof(*a));
	if (!a)
		return NULL;
	tr->a = a;
	memset(&a[tr->na], 0, sizeof(*a));
	return &a[tr->na++];
}

static struct call_rec *push_call(struct task_run *tr)
{
	struct call_rec *c = grow(tr->c, &tr->cap_c, tr->nc, sizeof(*c));
	if (!c)
		return NULL;
	tr->c = c;
	memset(&c[tr->nc], 0, sizeof(*c));
	return &c[tr->nc++];
}

/* ---- the sink: energy attribution, CSV rows, aggregates ---- */

static void finalize(struct runner *R, struct task_run *tr)
{
	bool have_energy = R->o->energy != NULL;
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
	if (R->o->out && !R->fatal) {
		int rc = results_write_task(R->o->out, &tr->t, tr->a, tr->na, tr->c, tr->nc);
		if (rc) {
			R->fatal = rc;
			ap_err("writing results to %s failed: %s; the run stops", results_dir(R->o->out),
			       strerror(-rc));
			ap_interrupted = 1;
		}
	}
	run_agg_task(&R->st->agg, &tr->t);
	for (size_t i = 0; i < tr->na; i++)
		run_agg_attempt(&R->st->agg, &tr->a[i]);
	for (size_t i = 0; i < tr->nc; i++)
		run_agg_call(&R->st->agg, &tr->c[i]);
	R->st->tasks_done++;
}

/* Writes out, in order, the finished tasks whose calls all have their energy. */
static void flush_pending(struct runner *R, bool final)
{
	while (R->head) {
		struct task_run *tr = R->head;
		for (size_t i = 0; i < tr->nc; i++) {
			struct call_rec *c = &tr->c[i];
			if (c->attributed)
				continue;
			if (!R->o->energy) {
				c->attributed = true;
				continue;
			}
			struct energy_share sh;
			int rc = energy_attribute(R->o->energy, c->key, &sh);
			if (rc == -EAGAIN && !final)
				return;
			c->attributed = true;
			c->energy_valid = rc == 0 && sh.valid;
			c->energy_j = c->energy_valid ? sh.device_j : 0;
			c->idle_j = c->energy_valid ? sh.idle_j : 0;
		}
		R->head = tr->next;
		if (!R->head)
			R->tail = NULL;
		finalize(R, tr);
		task_run_free(tr);
	}
}

static void submit(struct runner *R, struct task_run *tr)
{
	pthread_mutex_lock(&R->mu);
	if (!R->counting) {
		task_run_free(tr);
	} else {
		tr->next = NULL;
		if (R->tail)
			R->tail->next = tr;
		else
			R->head = tr;
		R->tail = tr;
		flush_pending(R, false);
	}
	pthread_mutex_unlock(&R->mu);
}

/* ---- episodes ---- */

static double since(uint64_t t, uint64_t t0)
{
	return t >= t0 ? (double)(t - t0) / 1e9 : 0;
}

static cJSON *base_messages(const struct task *t, const char *user_prompt)
{
	cJSON *m = cJSON_CreateArray();
	if (!m)
		return NULL;
	if (t->system_prompt && *t->system_prompt) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "role", "system");
		cJSON_AddStringToObject(s, "content", t->system_prompt);
		cJSON_AddItemToArray(m, s);
	}
	if (user_prompt) {
		cJSON *u = cJSON_CreateObject();
		cJSON_AddStringToObject(u, "role", "user");
		cJSON_AddStringToObject(u, "content", user_prompt);
		cJSON_AddItemToArray(m, u);
	} else {
		const cJSON *x;
		cJSON_ArrayForEach(x, t->messages)
			cJSON_AddItemToArray(m, cJSON_Duplicate(x, 1));
	}
	return m;
}

static void add_message(cJSON *conv, const char *role, const char *content)
{
	cJSON *u = cJSON_CreateObject();
	cJSON_AddStringToObject(u, "role", role);
	cJSON_AddStringToObject(u, "content", content);
	cJSON_AddItemToArray(conv, u);
}

struct episode {
	struct sbuf text;          /* final assistant text */
	struct tool_call *calls;   /* every tool call of the episode */
	size_t n_calls, cap_calls;
};

static void episode_free(struct episode *e)
{
	sbuf_free(&e->text);
	for (size_t i = 0; i < e->n_calls; i++) {
		free(e->calls[i].id);
		free(e->calls[i].name);
		free(e->calls[i].arguments);
	}
	free(e->calls);
	memset(e, 0, sizeof(*e));
}

/*
 * Appends the assistant turn and, where the tool table has answers for every
 * call, the tool results. Returns true when the episode goes on.
 */
static bool answer_tools(const struct task *t, cJSON *conv, struct call_result *r, int step,
			 struct episode *ep)
{
	cJSON *msg = cJSON_CreateObject();
	cJSON_AddStringToObject(msg, "role", "assistant");
	if (r->text.len || !r->n_calls)
		cJSON_AddStringToObject(msg, "content", r->text.s ? r->text.s : "");
	else
		cJSON_AddNullToObject(msg, "content");
	bool all_answered = r->n_calls > 0;
	cJSON *tcs = r->n_calls ? cJSON_AddArrayToObject(msg, "tool_calls") : NULL;
	for (size_t i = 0; i < r->n_calls; i++) {
		struct tool_call *c = &r->calls[i];
		if (!c->id) {
			char id[48];
			snprintf(id, sizeof(id), "call_%d_%zu", step, i);
			c->id = strdup(id);
		}
		cJSON *tc = cJSON_CreateObject();
		cJSON_AddStringToObject(tc, "id", c->id ? c->id : "");
		cJSON_AddStringToObject(tc, "type", "function");
		cJSON *fn = cJSON_AddObjectToObject(tc, "function");
		cJSON_AddStringToObject(fn, "name", c->name ? c->name : "");
		cJSON_AddStringToObject(fn, "arguments", c->arguments ? c->arguments : "{}");
		cJSON_AddItemToArray(tcs, tc);
		if (!task_find_answer(t, c->name ? c->name : "", c->arguments ? c->arguments : "{}"))
			all_answered = false;
		/* The check sees every call of the episode, in order. */
		struct tool_call *nc = grow(ep->calls, &ep->cap_calls, ep->n_calls, sizeof(*nc));
		if (nc) {
			ep->calls = nc;
			nc[ep->n_calls].id = ap_strdup(c->id);
			nc[ep->n_calls].name = ap_strdup(c->name ? c->name : "");
			nc[ep->n_calls].arguments = ap_strdup(c->arguments ? c->arguments : "{}");
			ep->n_calls++;
		}
	}
	cJSON_AddItemToArray(conv, msg);
	for (size_t i = 0; i < r->n_calls; i++) {
		struct tool_call *c = &r->calls[i];
		const struct tool_answer *ans =
			task_find_answer(t, c->name ? c->name : "", c->arguments ? c->arguments : "{}");
		cJSON *tm = cJSON_CreateObject();
		cJSON_AddStringToObject(tm, "role", "tool");
		cJSON_AddStringToObject(tm, "tool_call_id", c->id ? c->id : "");
		cJSON_AddStringToObject(tm, "content",
					ans ? ans->result : "{\"error\": \"no result for this call\"}");
		cJSON_AddItemToArray(conv, tm);
	}
	sbuf_reset(&ep->text);
	sbuf_adds(&ep->text, r->text.s ? r->text.s : "");
	return all_answered;
}

struct attempt_ctx {
	const struct task *t;
	long seq;
	int form, sub;
	const char *sub_id;
	const struct check *check;
	int attempt;
	const cJSON *sampling;
};

/* One attempt = one episode. Returns 1 success, 0 failure, -EINTR interrupted. */
static int run_attempt(struct worker *w, struct task_run *tr, const struct attempt_ctx *ax,
		       cJSON *conv, struct episode *ep, char *why, size_t whylen)
{
	struct runner *R = w->R;
	const struct run_opts *o = R->o;
	const struct task *t = ax->t;
	struct attempt_rec *a = push_attempt(tr);
	if (!a)
		return -ENOMEM;
	int aidx = (int)(a - tr->a);
	a->repeat = R->repeat;
	a->seq = ax->seq;
	snprintf(a->task_id, sizeof(a->task_id), "%s", t->id);
	snprintf(a->category, sizeof(a->category), "%s", t->category ? t->category : "");
	a->form = ax->form;
	a->sub = ax->sub;
	snprintf(a->sub_id, sizeof(a->sub_id), "%s", ax->sub_id ? ax->sub_id : "");
	a->attempt = ax->attempt;
	uint64_t a0 = ap_now_ns();
	a->t_start_s = since(a0, R->st->t0_ns);
	episode_free(ep);
	why[0] = '\0';
	int result = 0;
	bool call_failed = false;
	/* Warm-up calls are not measured: the sampler may not even be running. */
	struct energy *E = R->counting ? o->energy : NULL;
	int max_steps = t->raw_request ? 1 : t->policy.max_steps;
	for (int step = 1; step <= max_steps; step++) {
		struct call_input in = {
			.messages = conv,
			.tools = t->tools,
			.sampling = ax->sampling,
			.max_tokens = t->max_tokens,
			.raw = t->raw_request,
		};
		uint64_t key = atomic_fetch_add(&R->next_key, 1) + 1;
		if (E)
			energy_call_begin(E, key, ap_now_ns());
		http_call(w->http, o->be, &in, &w->res);
		struct call_result *r = &w->res;
		if (E)
			energy_call_end(E, key, r->t_end);
		struct call_rec *c = push_call(tr);
		if (!c)
			return -ENOMEM;
		a = &tr->a[aidx]; /* push_call does not move attempts, but keep it obvious */
		c->key = key;
		c->aidx = aidx;
		c->repeat = R->repeat;
		c->seq = ax->seq;
		snprintf(c->task_id, sizeof(c->task_id), "%s", t->id);
		c->form = ax->form;
		c->paired = tr->t.paired;
		c->sub = ax->sub;
		c->attempt = ax->attempt;
		c->step = step;
		c->t_start_s = since(r->t_start, R->st->t0_ns);
		c->e2e_s = since(r->t_end, r->t_send);
		c->ttft_s = r->t_first ? since(r->t_first, r->t_send) : NAN;
		c->itl_s = r->n_chunks > 1 ? r->gap_sum_s / (double)(r->n_chunks - 1) : NAN;
		double gen = o->be->stream && !isnan(c->ttft_s) ? c->e2e_s - c->ttft_s : c->e2e_s;
		c->out_tps = r->status == CALL_OK && r->completion_tokens > 0 && gen > 0
				     ? (double)r->completion_tokens / gen
				     : NAN;
		c->prompt_tokens = r->prompt_tokens;
		c->completion_tokens = r->completion_tokens;
		c->cached_tokens = r->cached_tokens;
		c->usage = r->usage_reported;
		c->http_status = r->http_status;
		c->status = r->status;
		c->retries = r->transport_retries;
		snprintf(c->finish, sizeof(c->finish), "%s", r->finish_reason);
		c->n_tool_calls = (int)r->n_calls;
		c->srv_prompt_tps = r->srv_prompt_tps;
		c->srv_gen_tps = r->srv_gen_tps;
		if (r->status == CALL_OK && r->transport_retries)
			snprintf(c->error, sizeof(c->error), "recovered by transport retries; last: %.120s",
				 r->retry_error);
		else
			ap_scopy(c->error, sizeof(c->error), r->error);
		/* Out-of-range token counts are recorded as not reported, with the reason. */
		if (r->usage_invalid && !c->error[0])
			ap_scopy(c->error, sizeof(c->error), r->usage_why);

		a->calls++;
		a->steps = step;
		a->prompt_tokens += r->prompt_tokens;
		a->completion_tokens += r->completion_tokens;
		a->cached_tokens += r->cached_tokens;
		if (r->status != CALL_OK) {
			a->status = r->status;
			snprintf(why, whylen, "call failed (%s): %s", call_status_name(r->status), r->error);
			call_failed = true;
			result = r->status == CALL_ERR_INTERRUPTED ? -EINTR : 0;
			break;
		}
		bool more = answer_tools(t, conv, r, step, ep);
		if (!more)
			break;
		if (step == max_steps)
			snprintf(why, whylen, "max_steps (%d) reached with tool calls pending", max_steps);
	}
	if (!call_failed) {
		struct episode_output out = {
			.text = ep->text.s ? ep->text.s : "",
			.calls = ep->calls,
			.n_calls = ep->n_calls,
		};
		char cwhy[512];
		bool ok = check_eval(ax->check, &out, cwhy, sizeof(cwhy));
		if (ok)
			result = 1;
		else if (!why[0])
			ap_scopy(why, whylen, cwhy);
		else if (strlen(why) + 2 < whylen) {
			strcat(why, "; ");
			ap_scopy(why + strlen(why), whylen - strlen(why), cwhy);
		}
	}
	a->success = result == 1;
	a->duration_s = since(ap_now_ns(), a0);
	ap_scopy(a->why, sizeof(a->why), a->success ? "" : why);
	return result;
}

/* Attempts of one check (the whole task, or one sub-call): 1 success, 0 failed, -EINTR. */
static int run_attempts(struct worker *w, struct task_run *tr, struct attempt_ctx *ax,
			const char *user_prompt, struct episode *ep, int *k_success)
{
	const struct task *t = ax->t;
	cJSON *conv = NULL;
	char why[512];
	int rc = 0;
	for (int att = 1; att <= t->policy.max_attempts; att++) {
		if (!conv || t->policy.retry == RETRY_PLAIN) {
			cJSON_Delete(conv);
			conv = base_messages(t, user_prompt);
			if (!conv) {
				rc = -ENOMEM;
				break;
			}
		} else {
			char msg[700];
			snprintf(msg, sizeof(msg), REPAIR_FMT, why);
			add_message(conv, "user", msg);
		}
		ax->attempt = att;
		rc = run_attempt(w, tr, ax, conv, ep, why, sizeof(why));
		tr->t.attempts++;
		if (rc == 1) {
			*k_success = att;
			break;
		}
		if (rc < 0 || ap_interrupted)
			break;
	}
	cJSON_Delete(conv);
	return rc;
}

static cJSON *merged_sampling(const struct run_opts *o, const struct task *t)
{
	cJSON *s = t->sampling ? cJSON_Duplicate(t->sampling, 1) : cJSON_CreateObject();
	if (!s)
		return NULL;
	if (o->temp_set) {
		cJSON_DeleteItemFromObjectCaseSensitive(s, "temperature");
		cJSON_AddNumberToObject(s, "temperature", o->temperature);
	}
	if (o->seed_set) {
		cJSON_DeleteItemFromObjectCaseSensitive(s, "seed");
		cJSON_AddNumberToObject(s, "seed", (double)o->seed);
	}
	return s;
}

static void run_form(struct worker *w, const struct task *t, long seq, int form, bool paired)
{
	struct runner *R = w->R;
	struct task_run *tr = calloc(1, sizeof(*tr));
	if (!tr)
		return;
	struct task_rec *tk = &tr->t;
	tk->repeat = R->repeat;
	tk->seq = seq;
	snprintf(tk->task_id, sizeof(tk->task_id), "%s", t->id);
	snprintf(tk->category, sizeof(tk->category), "%s", t->category ? t->category : "");
	tk->form = form;
	tk->paired = paired;
	/* Once per task, before its clock starts: what every call repeats. */
	tk->ctx_tokens_est = cost_context_tokens_est(t->system_prompt, t->tools, t->raw_request);
	uint64_t t0 = ap_now_ns();
	tk->t_start_s = since(t0, R->st->t0_ns);
	cJSON *sampling = merged_sampling(R->o, t);
	struct episode ep = { 0 };
	struct attempt_ctx ax = { .t = t, .seq = seq, .form = form, .sampling = sampling };
	int rc = 0;
	if (form == FORM_MONO) {
		ax.sub = -1;
		ax.check = &t->check;
		rc = run_attempts(w, tr, &ax, NULL, &ep, &tk->k_success);
	} else {
		char **outs = calloc(t->n_subs, sizeof(*outs));
		struct sbuf prompt = { 0 };
		int kmax = 0;
		rc = outs ? 1 : -ENOMEM;
		for (size_t s = 0; outs && s < t->n_subs && rc == 1; s++) {
			int k = 0;
			subcall_render(t, s, (const char *const *)outs, &prompt);
			ax.sub = (int)s;
			ax.sub_id = t->subs[s].id;
			ax.check = &t->subs[s].check;
			rc = run_attempts(w, tr, &ax, prompt.s ? prompt.s : "", &ep, &k);
			if (rc == 1) {
				outs[s] = strdup(ep.text.s ? ep.text.s : "");
				kmax = k > kmax ? k : kmax;
			}
		}
		/* Errors compound: the decomposed form succeeds only if every sub-call does. */
		tk->k_success = rc == 1 ? kmax : 0;
		for (size_t s = 0; outs && s < t->n_subs; s++)
			free(outs[s]);
		free(outs);
		sbuf_free(&prompt);
	}
	episode_free(&ep);
	cJSON_Delete(sampling);
	tk->success = rc == 1;
	if (rc == -EINTR || (ap_interrupted && rc != 1))
		snprintf(tk->outcome, sizeof(tk->outcome), "interrupted");
	else if (rc < 0)
		snprintf(tk->outcome, sizeof(tk->outcome), "error");
	else
		snprintf(tk->outcome, sizeof(tk->outcome), "%s", rc == 1 ? "success" : "failed");
	if (!tk->success)
		tk->k_success = 0;
	for (size_t i = 0; i < tr->na; i++) {
		tk->calls += tr->a[i].calls;
		tk->prompt_tokens += tr->a[i].prompt_tokens;
		tk->completion_tokens += tr->a[i].completion_tokens;
		tk->cached_tokens += tr->a[i].cached_tokens;
	}
	tk->duration_s = since(ap_now_ns(), t0);
	submit(R, tr);
}

static bool selected(const struct run_opts *o, const struct task *t)
{
	if (o->filter && fnmatch(o->filter, t->id, 0))
		return false;
	if (o->category && (!t->category || strcmp(o->category, t->category)))
		return false;
	return true;
}

/* Next selected task under the lock; NULL at the end. */
static struct task *next_task(struct runner *R, long *seq)
{
	struct task *t = NULL;
	struct ap_error err = { { 0 } };
	pthread_mutex_lock(&R->mu);
	while (!R->stream_done && !ap_interrupted && !R->fatal && !R->input_error) {
		if (!R->counting && R->warm_left <= 0)
			break;
		int rc = workload_next(R->o->wl, &t, &err);
		if (rc) {
			/* A read error or a changed workload mid-run fails the run. */
			if (rc < 0) {
				ap_err("%s", err.msg);
				R->input_error = rc;
			}
			R->stream_done = true;
			t = NULL;
			break;
		}
		if (selected(R->o, t)) {
			*seq = R->next_seq++;
			/* seq counts every selected task, so a shard's rows keep the
			 * unsharded run's (repeat, seq) and merge needs no renumbering. */
			if (R->counting && !shard_has(R->o->shard, t->id, R->repeat)) {
				task_free(t);
				t = NULL;
				continue;
			}
			if (!R->counting)
				R->warm_left--;
			break;
		}
		task_free(t);
		t = NULL;
	}
	pthread_mutex_unlock(&R->mu);
	return t;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct runner *R = w->R;
	long seq;
	struct task *t;
	while ((t = next_task(R, &seq))) {
		bool paired = R->o->forms[FORM_MONO] && R->o->forms[FORM_DECOMP] && t->n_subs > 0;
		for (int f = 0; f < FORM_COUNT && !ap_interrupted; f++) {
			if (!R->o->forms[f] || (f == FORM_DECOMP && !t->n_subs))
				continue;
			if (!R->counting && f != FORM_MONO)
				continue;
			/* Resumed run: seq is the task's place among the selected ones, stable
			 * for an unchanged workload and filter, so this skips exactly what is on disk. */
			if (R->counting && resume_done(R->o->skip, R->repeat, seq, f))
				continue;
			run_form(w, t, seq, f, paired);
		}
		task_free(t);
		if (R->counting && !R->o->quiet && isatty(STDERR_FILENO)) {
			pthread_mutex_lock(&R->mu);
			fprintf(stderr, "\r[repeat %d/%d] %ld tasks done ", R->repeat, R->o->repeats,
				R->st->tasks_done);
			pthread_mutex_unlock(&R->mu);
		}
	}
	return NULL;
}

static int run_pass(struct runner *R, struct worker *ws, int n)
{
	int started = 0, rc = 0;
	R->stream_done = false;
	R->next_seq = 0;
	if ((rc = workload_rewind(R->o->wl)))
		return rc;
	for (; started < n; started++) {
		if (pthread_create(&ws[started].th, NULL, worker_main, &ws[started])) {
			rc = -EAGAIN;
			break;
		}
	}
	for (int i = 0; i < started; i++)
		pthread_join(ws[i].th, NULL);
	return rc;
}

/* Counts the selected tasks (and whether any has a decomposed form). */
static int survey(const struct run_opts *o, struct run_state *st, struct ap_error *err)
{
	int rc = workload_rewind(o->wl);
	struct task *t;
	while (!rc && (rc = workload_next(o->wl, &t, err)) == 0) {
		if (selected(o, t)) {
			st->selected++;
			st->any_decomposed |= t->n_subs > 0;
			for (int r = 1; r <= o->repeats; r++)
				st->shard_units += shard_has(o->shard, t->id, r);
		}
		task_free(t);
	}
	return rc < 0 ? rc : 0;
}

int run_count_selected(const struct run_opts *o, long *n, struct ap_error *err)
{
	struct run_state st = { 0 };
	int rc = survey(o, &st, err);
	*n = st.selected;
	return rc;
}

int run_workload(const struct run_opts *o, struct run_state *st, struct ap_error *err)
{
	int rc, n = o->concurrency > 0 ? o->concurrency : 1;
	struct runner R = { .o = o, .st = st };
	struct worker *ws = calloc((size_t)n, sizeof(*ws));
	memset(st, 0, sizeof(*st));
	if (!ws)
		return -ENOMEM;
	pthread_mutex_init(&R.mu, NULL);
	atomic_init(&R.next_key, 0);
	if ((rc = run_agg_init(&st->agg, o->repeats)))
		goto out;
	if ((rc = survey(o, st, err)))
		goto out;
	if (!st->selected) {
		ap_error_set(err, o->wl->path, 0, NULL, "no task matches the filter");
		rc = -ENOENT;
		goto out;
	}
	/* A shard may hold no unit (more shards than units): it runs nothing and says so. */
	st->tasks_total = st->shard_units;
	if (!st->shard_units)
		ap_warn("shard %d/%d holds none of the %ld units: nothing to run", o->shard->index,
			o->shard->count, st->selected * o->repeats);
	for (int i = 0; i < n; i++) {
		ws[i].R = &R;
		if ((rc = http_client_new(&ws[i].http, o->be))) {
			ap_error_set(err, NULL, 0, "backend", "cannot set up the HTTP client");
			goto out;
		}
	}
	if (o->warmup > 0) {
		R.counting = false;
		R.warm_left = o->warmup;
		R.repeat = 0;
		st->t0_ns = ap_now_ns();
		run_pass(&R, ws, n);
	}
	R.counting = true;
	st->t0_ns = ap_now_ns();
	for (int rep = 1; rep <= o->repeats && !ap_interrupted && !R.fatal && !R.input_error;
	     rep++) {
		R.repeat = rep;
		uint64_t r0 = ap_now_ns();
		rc = run_pass(&R, ws, n);
		st->agg.elapsed_s[rep - 1] = since(ap_now_ns(), r0);
		if (rc)
			goto out;
		if (!ap_interrupted && !R.input_error)
			st->repeats_done = rep;
	}
	if (!o->quiet && isatty(STDERR_FILENO))
		fputc('\n', stderr);
	/* Stop the sampler first: attribution of the last calls needs its last sample. */
	if (o->energy)
		energy_stop(o->energy);
	pthread_mutex_lock(&R.mu);
	flush_pending(&R, true);
	pthread_mutex_unlock(&R.mu);
	st->interrupted = ap_interrupted != 0;
	rc = R.fatal ? R.fatal : R.input_error;
out:
	for (int i = 0; i < n; i++) {
		http_client_free(ws[i].http);
		call_result_free(&ws[i].res);
	}
	while (R.head) {
		struct task_run *tr = R.head;
		R.head = tr->next;
		task_run_free(tr);
	}
	free(ws);
	pthread_mutex_destroy(&R.mu);
	return rc;
}

void run_state_free(struct run_state *st)
{
	run_agg_free(&st->agg);
}
