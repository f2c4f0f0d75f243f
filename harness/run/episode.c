/*
 * The episode state machine (episode.h). The nesting the old thread-per-
 * episode runner had as loops (checks > attempts > steps > transport tries)
 * is kept as explicit state: each begin_* function moves one level in and
 * each end_* one level out, and every path ends in a request for the caller.
 */
#include "episode.h"
#include "cost.h"
#include "measure/tokens.h"
#include "seed.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* What the model is told when repair mode feeds a failed check back. */
#define REPAIR_FMT "Your previous answer was not accepted: %s. Please try again."

struct episode {
	struct ep_cfg cfg;
	struct task_run *tr;
	cJSON *sampling;           /* task's sampling with the run's overrides */
	/* the check being attempted: the whole task (sub -1) or one sub-call */
	int sub;
	const struct check *check;
	int att;                   /* attempt of this check, 1-based */
	long long seed_base, seed; /* seed.h: the base (-1: none yet), this attempt's (-1: none) */
	int k_max;                 /* decomposed: largest k over the sub-calls */
	char **outs;               /* decomposed: outputs of the sub-calls so far */
	struct sbuf prompt;        /* decomposed: the sub-call's rendered prompt */
	cJSON *conv;               /* the conversation of this attempt */
	/* conv is the task's own messages, not a copy (a task with neither system
	 * prompt nor sub-calls): copied by conv_own before anything is added */
	bool conv_borrowed;
	/* the last reply (text only: e->text) is not in conv yet; conv_own adds
	 * it. A reply without tool calls ends its attempt, and only a repair
	 * attempt reads the conversation after it. */
	bool reply_pending;
	int aidx;                  /* attempt record of this attempt */
	uint64_t a0;               /* attempt start */
	uint64_t task_t0;          /* task start */
	int step, max_steps;
	char why[512];
	/* the final assistant text and every tool call of the attempt (for its check) */
	struct sbuf text;
	struct tool_call *calls;
	size_t n_calls, cap_calls;
	/* the call in flight */
	struct sbuf body;
	uint64_t call_t0;          /* first try began */
	uint64_t call_key;
	int retries;               /* transport retries done */
	char retry_error[160];
	/* the failed try a retry waits on (scalars only); made at the first retry:
	 * 3 KB inline made every episode too big for malloc's per-thread cache */
	struct call_result *last;
	bool interrupted;
	/* a tool's latency being waited through (tr->w[widx]) */
	bool in_tool_wait;
	uint64_t wait_t0;
	size_t widx;
	bool started, done;
	int rc;                    /* 1 success, 0 failed, -EINTR, -ENOMEM */
};

void task_run_free(struct task_run *tr)
{
	if (!tr)
		return;
	free(tr->a);
	free(tr->c);
	free(tr->w);
	free(tr);
}

static void *grow(void *p, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return p;
	/* Start at one: most tasks have one attempt of one call, and a finished task
	 * waits ~70 ms in the sink's queue for its energy, so at 10k calls/s a few KB
	 * of unused slots per task came to tens of MB of peak RSS. */
	size_t nc = *cap ? *cap * 2 : 1;
	void *q = realloc(p, nc * sz);
	if (q)
		*cap = nc;
	return q;
}

static double since(uint64_t t, uint64_t t0)
{
	return t >= t0 ? (double)(t - t0) / 1e9 : 0;
}

static cJSON *merged_sampling(const struct ep_cfg *c, const struct task *t)
{
	cJSON *s = t->sampling ? cJSON_Duplicate(t->sampling, 1) : cJSON_CreateObject();
	if (!s)
		return NULL;
	if (c->temp_set) {
		cJSON_DeleteItemFromObjectCaseSensitive(s, "temperature");
		cJSON_AddNumberToObject(s, "temperature", c->temperature);
	}
	if (c->seed_set) {
		cJSON_DeleteItemFromObjectCaseSensitive(s, "seed");
		cJSON_AddNumberToObject(s, "seed", (double)c->seed);
	}
	return s;
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

static void conv_drop(struct episode *e)
{
	if (!e->conv_borrowed)
		cJSON_Delete(e->conv);
	e->conv = NULL;
	e->conv_borrowed = e->reply_pending = false;
}

/*
 * The attempt's first conversation. Where it would be a copy of the task's
 * messages and nothing else, it is the task's messages themselves until
 * something is added: most tasks end on their first reply, and the copy and
 * its deletion were a dozen allocations a call. 0 or -ENOMEM.
 */
static int conv_base(struct episode *e, const char *user_prompt)
{
	const struct task *t = e->cfg.task;
	conv_drop(e);
	if (!user_prompt && !(t->system_prompt && *t->system_prompt) && cJSON_IsArray(t->messages)) {
		e->conv = (cJSON *)t->messages;
		e->conv_borrowed = true;
		return 0;
	}
	e->conv = base_messages(t, user_prompt);
	return e->conv ? 0 : -ENOMEM;
}

static void add_message(cJSON *conv, const char *role, const char *content);

/* conv made the episode's own, with the pending reply added: 0 or -ENOMEM. */
static int conv_own(struct episode *e)
{
	if (e->conv_borrowed) {
		cJSON *c = cJSON_Duplicate(e->conv, 1);
		if (!c)
			return -ENOMEM;
		e->conv = c;
		e->conv_borrowed = false;
	}
	if (e->reply_pending) {
		/* what answer_tools adds for a reply without tool calls */
		add_message(e->conv, "assistant", e->text.s ? e->text.s : "");
		e->reply_pending = false;
	}
	return 0;
}

static void add_message(cJSON *conv, const char *role, const char *content)
{
	cJSON *u = cJSON_CreateObject();
	cJSON_AddStringToObject(u, "role", role);
	cJSON_AddStringToObject(u, "content", content);
	cJSON_AddItemToArray(conv, u);
}

static void free_calls(struct episode *e)
{
	for (size_t i = 0; i < e->n_calls; i++) {
		free(e->calls[i].id);
		free(e->calls[i].name);
		free(e->calls[i].arguments);
	}
	e->n_calls = 0;
}

int episode_new(struct episode **out, const struct ep_cfg *cfg)
{
	struct episode *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->cfg = *cfg;
	e->seed_base = e->seed = -1;
	e->tr = calloc(1, sizeof(*e->tr));
	e->sampling = merged_sampling(cfg, cfg->task);
	if (!e->tr || !e->sampling) {
		episode_free(e);
		return -ENOMEM;
	}
	*out = e;
	return 0;
}

void episode_free(struct episode *e)
{
	if (!e)
		return;
	task_run_free(e->tr);
	cJSON_Delete(e->sampling);
	conv_drop(e);
	free(e->last);
	if (e->outs)
		for (size_t s = 0; s < e->cfg.task->n_subs; s++)
			free(e->outs[s]);
	free(e->outs);
	sbuf_free(&e->prompt);
	sbuf_free(&e->text);
	free_calls(e);
	free(e->calls);
	sbuf_free(&e->body);
	free(e);
}

struct task_run *episode_take(struct episode *e)
{
	struct task_run *tr = e->tr;
	e->tr = NULL;
	return tr;
}

bool episode_started(const struct episode *e)
{
	return e->started;
}

void episode_interrupt(struct episode *e)
{
	e->interrupted = true;
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

static void set_done(struct episode *e, int rc, uint64_t now, struct ep_req *req);
static void begin_check(struct episode *e, uint64_t now, struct ep_req *req);
static void begin_attempt(struct episode *e, uint64_t now, struct ep_req *req);
static void begin_step(struct episode *e, uint64_t now, struct ep_req *req);
static void end_call(struct episode *e, const struct call_result *r, enum call_status st,
		     uint64_t now, struct ep_req *req);

void episode_start(struct episode *e, uint64_t now, struct ep_req *req)
{
	struct task_rec *tk = &e->tr->t;
	const struct task *t = e->cfg.task;
	memset(req, 0, sizeof(*req));
	e->started = true;
	tk->repeat = e->cfg.repeat;
	tk->seq = e->cfg.seq;
	ap_scopy(tk->task_id, sizeof(tk->task_id), t->id);
	ap_scopy(tk->category, sizeof(tk->category), t->category);
	tk->form = e->cfg.form;
	tk->paired = e->cfg.paired;
	/* What every call repeats, estimated once per task. */
	tk->ctx_tokens_est = cost_context_tokens_est(t->system_prompt, t->tools, t->raw_request);
	tk->t_start_s = since(now, e->cfg.t0_ns);
	/* Open loop: latency counts from the arrival, so the wait for a free
	 * slot is not hidden (coordinated omission). */
	if (e->cfg.sched_ns) {
		tk->t_sched_s = since(e->cfg.sched_ns, e->cfg.t0_ns);
		tk->queue_s = since(now, e->cfg.sched_ns);
	} else {
		tk->t_sched_s = tk->t_start_s;
		tk->queue_s = 0;
	}
	tk->slo_met = -1;
	e->task_t0 = e->a0 = now;
	e->sub = e->cfg.form == FORM_MONO ? -1 : 0;
	if (e->cfg.form != FORM_MONO) {
		e->outs = calloc(t->n_subs ? t->n_subs : 1, sizeof(*e->outs));
		if (!e->outs) {
			set_done(e, -ENOMEM, now, req);
			return;
		}
		if (!t->n_subs) {
			set_done(e, 1, now, req);
			return;
		}
	}
	begin_check(e, now, req);
}

static void begin_check(struct episode *e, uint64_t now, struct ep_req *req)
{
	const struct task *t = e->cfg.task;
	e->att = 0;
	conv_drop(e);
	if (e->sub < 0) {
		e->check = &t->check;
	} else {
		subcall_render(t, (size_t)e->sub, (const char *const *)e->outs, &e->prompt);
		e->check = &t->subs[e->sub].check;
	}
	begin_attempt(e, now, req);
}

static void begin_attempt(struct episode *e, uint64_t now, struct ep_req *req)
{
	const struct task *t = e->cfg.task;
	e->att++;
	if (!e->conv || t->policy.retry == RETRY_PLAIN) {
		if (conv_base(e, e->sub < 0 ? NULL : (e->prompt.s ? e->prompt.s : ""))) {
			set_done(e, -ENOMEM, now, req);
			return;
		}
	} else {
		char msg[700];
		if (conv_own(e)) {
			set_done(e, -ENOMEM, now, req);
			return;
		}
		snprintf(msg, sizeof(msg), REPAIR_FMT, e->why);
		add_message(e->conv, "user", msg);
	}
	struct attempt_rec *a = push_attempt(e->tr);
	if (!a) {
		set_done(e, -ENOMEM, now, req);
		return;
	}
	e->aidx = (int)(a - e->tr->a);
	a->repeat = e->cfg.repeat;
	a->seq = e->cfg.seq;
	ap_scopy(a->task_id, sizeof(a->task_id), t->id);
	ap_scopy(a->category, sizeof(a->category), t->category);
	a->form = e->cfg.form;
	a->sub = e->sub;
	ap_scopy(a->sub_id, sizeof(a->sub_id), e->sub >= 0 ? t->subs[e->sub].id : NULL);
	a->attempt = e->att;
	e->seed = seed_apply(e->sampling, e->cfg.seed_policy, &e->seed_base, e->cfg.repeat, e->cfg.seq,
			     e->cfg.form, e->sub, e->att);
	if (e->att > 1 && t->policy.retry == RETRY_PLAIN)
		seed_warn_plain_retry(e->sampling, e->cfg.seed_policy, e->seed, t->id);
	e->a0 = now;
	a->t_start_s = since(now, e->cfg.t0_ns);
	sbuf_reset(&e->text);
	free_calls(e);
	e->why[0] = '\0';
	e->step = 0;
	e->max_steps = t->raw_request ? 1 : t->policy.max_steps;
	begin_step(e, now, req);
}

static void begin_step(struct episode *e, uint64_t now, struct ep_req *req)
{
	const struct task *t = e->cfg.task;
	const struct backend *be = e->cfg.be;
	e->step++;
	e->retries = 0;
	e->retry_error[0] = '\0';
	e->call_t0 = now;
	struct call_input in = {
		.messages = e->conv,
		.tools = t->tools,
		.sampling = e->sampling,
		.max_tokens = t->max_tokens,
		.raw = t->raw_request,
	};
	sbuf_reset(&e->body);
	if (be->ops->build_body(be, &in, be->stream, &e->body)) {
		/* Recorded as the call's failure, never retried: no try was made. */
		struct call_result r;
		memset(&r, 0, sizeof(r));
		r.status = CALL_ERR_TRANSPORT;
		r.srv_prompt_tps = r.srv_gen_tps = NAN;
		snprintf(r.error, sizeof(r.error), "could not build the request body");
		r.t_start = r.t_send = r.t_end = now;
		/* No energy key was begun for it: what req says ended is an earlier call. */
		bool had = req->ended;
		uint64_t k = req->ended_key, te = req->ended_t_end;
		e->call_key = 0;
		end_call(e, &r, r.status, now, req);
		req->ended = had;
		req->ended_key = k;
		req->ended_t_end = te;
		return;
	}
	req->kind = EP_SEND;
	req->new_call = true;
	req->body = &e->body;
}

static bool retryable(enum call_status s)
{
	return s == CALL_ERR_CONNECT || s == CALL_ERR_TIMEOUT || s == CALL_ERR_HTTP_429 ||
	       s == CALL_ERR_HTTP_5XX || s == CALL_ERR_TRANSPORT;
}

void episode_feed(struct episode *e, const struct call_result *r, uint64_t key, uint64_t now,
		  struct ep_req *req)
{
	const struct backend *be = e->cfg.be;
	memset(req, 0, sizeof(*req));
	e->call_key = key;
	if (r->status != CALL_OK && retryable(r->status) && e->retries < be->max_retries &&
	    !e->interrupted) {
		double wait = r->retry_after_s >= 0 ? r->retry_after_s : ldexp(0.25, e->retries);
		if (wait > be->max_retry_wait_s)
			wait = be->max_retry_wait_s;
		/* Kept for the record should the wait be interrupted; text and tool calls
		 * of a failed try are never used. No memory for it: no retry. */
		if (!e->last && !(e->last = malloc(sizeof(*e->last)))) {
			end_call(e, r, r->status, now, req);
			return;
		}
		snprintf(e->retry_error, sizeof(e->retry_error), "%s: %.140s",
			 call_status_name(r->status), r->error);
		*e->last = *r;
		e->last->text = (struct sbuf){ 0 };
		e->last->calls = NULL;
		e->last->n_calls = 0;
		req->kind = EP_WAIT;
		req->wake_ns = now + (uint64_t)(wait * 1e9);
		return;
	}
	end_call(e, r, r->status, now, req);
}

void episode_wait_key(struct episode *e, uint64_t key)
{
	if (e->in_tool_wait)
		e->tr->w[e->widx].key = key;
}

static void end_attempt(struct episode *e, int result, bool call_failed, uint64_t now,
			struct ep_req *req);

void episode_timer(struct episode *e, uint64_t now, struct ep_req *req)
{
	memset(req, 0, sizeof(*req));
	if (e->in_tool_wait) {
		struct wait_rec *w = &e->tr->w[e->widx];
		struct attempt_rec *a = &e->tr->a[e->aidx];
		e->in_tool_wait = false;
		w->dur_s = since(now, e->wait_t0);
		a->tool_wait_s += w->dur_s;
		req->ended = true;
		req->ended_key = w->key;
		req->ended_t_end = now;
		if (e->interrupted) {
			a->status = CALL_ERR_INTERRUPTED;
			snprintf(e->why, sizeof(e->why), "interrupted while a tool was answering");
			end_attempt(e, -EINTR, true, now, req);
			return;
		}
		begin_step(e, now, req);
		return;
	}
	if (e->interrupted) {
		end_call(e, e->last, CALL_ERR_INTERRUPTED, now, req);
		return;
	}
	e->retries++;
	req->kind = EP_SEND;
	req->body = &e->body;
}

/* The reply's text, which the check reads and a repair attempt sends back: 0 or -ENOMEM. */
static int keep_text(struct episode *e, const struct call_result *r)
{
	sbuf_reset(&e->text);
	return sbuf_adds(&e->text, r->text.s ? r->text.s : "") ? -ENOMEM : 0;
}

/*
 * Appends the assistant turn and a tool result for every call: the table's
 * answer, or {"error": "no result for this call"} for a call it cannot answer
 * (SCHEMA.md). Returns 1 when the episode goes on (whenever the model called
 * tools), 0 when the attempt ends, -ENOMEM.
 */
static int answer_tools(struct episode *e, const struct call_result *r)
{
	const struct task *t = e->cfg.task;
	if (!r->n_calls) {
		/* The attempt ends here: the reply joins the conversation only if a
		 * repair attempt comes (conv_own). */
		if (keep_text(e, r))
			return -ENOMEM;
		e->reply_pending = true;
		return 0;
	}
	/* conv_own first: a pending reply it adds is the text kept before this one */
	if (conv_own(e) || keep_text(e, r))
		return -ENOMEM;
	cJSON *conv = e->conv;
	cJSON *msg = cJSON_CreateObject();
	cJSON_AddStringToObject(msg, "role", "assistant");
	if (r->text.len)
		cJSON_AddStringToObject(msg, "content", r->text.s ? r->text.s : "");
	else
		cJSON_AddNullToObject(msg, "content");
	cJSON *tcs = cJSON_AddArrayToObject(msg, "tool_calls");
	size_t first = e->n_calls;
	for (size_t i = 0; i < r->n_calls; i++) {
		const struct tool_call *c = &r->calls[i];
		char id[48];
		if (!c->id)
			snprintf(id, sizeof(id), "call_%d_%zu", e->step, i);
		const char *cid = c->id ? c->id : id;
		const char *name = c->name ? c->name : "";
		const char *args = c->arguments ? c->arguments : "{}";
		cJSON *tc = cJSON_CreateObject();
		cJSON_AddStringToObject(tc, "id", cid);
		cJSON_AddStringToObject(tc, "type", "function");
		cJSON *fn = cJSON_AddObjectToObject(tc, "function");
		cJSON_AddStringToObject(fn, "name", name);
		cJSON_AddStringToObject(fn, "arguments", args);
		cJSON_AddItemToArray(tcs, tc);
		/* The check sees every call of the episode, in order. */
		struct tool_call *nc = grow(e->calls, &e->cap_calls, e->n_calls, sizeof(*nc));
		if (nc) {
			e->calls = nc;
			nc[e->n_calls].id = ap_strdup(cid);
			nc[e->n_calls].name = ap_strdup(name);
			nc[e->n_calls].arguments = ap_strdup(args);
			e->n_calls++;
		}
	}
	cJSON_AddItemToArray(conv, msg);
	for (size_t i = first; i < e->n_calls; i++) {
		const struct tool_call *c = &e->calls[i];
		const struct tool_answer *ans = task_find_answer(t, c->name, c->arguments);
		cJSON *tm = cJSON_CreateObject();
		cJSON_AddStringToObject(tm, "role", "tool");
		cJSON_AddStringToObject(tm, "tool_call_id", c->id ? c->id : "");
		cJSON_AddStringToObject(tm, "content",
					ans ? ans->result : "{\"error\": \"no result for this call\"}");
		cJSON_AddItemToArray(conv, tm);
	}
	return 1;
}

/* The longest latency among the tool calls of this step (they run side by side). */
static double step_tool_latency_ms(const struct episode *e, size_t first)
{
	const struct task *t = e->cfg.task;
	double mx = 0;
	for (size_t i = first; i < e->n_calls; i++) {
		const struct tool_answer *a =
			task_find_answer(t, e->calls[i].name, e->calls[i].arguments);
		double ms = a && a->latency_set       ? a->latency_ms
			    : t->policy.tool_latency_set ? t->policy.tool_latency_ms
							 : e->cfg.tool_latency_ms;
		if (ms > mx)
			mx = ms;
	}
	return mx;
}

/* The call has its final try: its record, then the next step or the attempt's end. */
static void end_call(struct episode *e, const struct call_result *r, enum call_status st,
		     uint64_t now, struct ep_req *req)
{
	const struct backend *be = e->cfg.be;
	struct task_run *tr = e->tr;
	req->ended = true;
	req->ended_key = e->call_key;
	req->ended_t_end = r->t_end;
	struct call_rec *c = push_call(tr);
	if (!c) {
		set_done(e, -ENOMEM, now, req);
		return;
	}
	struct attempt_rec *a = &tr->a[e->aidx];
	c->key = e->call_key;
	c->aidx = e->aidx;
	c->repeat = e->cfg.repeat;
	c->seq = e->cfg.seq;
	ap_scopy(c->task_id, sizeof(c->task_id), e->cfg.task->id);
	c->form = e->cfg.form;
	c->paired = e->cfg.paired;
	c->sub = e->sub;
	c->attempt = e->att;
	c->seed = e->seed;
	c->step = e->step;
	c->t_start_s = since(e->call_t0, e->cfg.t0_ns);
	/* the task's first call carries its queueing delay; later ones are sent when due */
	c->queue_s = tr->nc == 1 ? tr->t.queue_s : 0;
	c->e2e_s = since(r->t_end, r->t_send);
	c->ttft_s = r->t_first ? since(r->t_first, r->t_send) : NAN;
	c->itl_s = r->n_chunks > 1 ? r->gap_sum_s / (double)(r->n_chunks - 1) : NAN;
	double gen = be->stream && !isnan(c->ttft_s) ? c->e2e_s - c->ttft_s : c->e2e_s;
	c->out_tps = st == CALL_OK && r->completion_tokens > 0 && gen > 0
			     ? (double)r->completion_tokens / gen
			     : NAN;
	c->prompt_tokens = r->prompt_tokens;
	c->completion_tokens = r->completion_tokens;
	c->cached_tokens = r->cached_tokens;
	c->usage = r->usage_reported;
	c->http_status = r->http_status;
	c->status = st;
	c->retries = e->retries;
	ap_scopy(c->finish, sizeof(c->finish), r->finish_reason);
	c->n_tool_calls = (int)r->n_calls;
	c->srv_prompt_tps = r->srv_prompt_tps;
	c->srv_gen_tps = r->srv_gen_tps;
	if (st == CALL_OK && e->retries)
		snprintf(c->error, sizeof(c->error), "recovered by transport retries; last: %.120s",
			 e->retry_error);
	else
		ap_scopy(c->error, sizeof(c->error), r->error);
	/* Out-of-range token counts are recorded as not reported, with the reason. */
	if (r->usage_invalid && !c->error[0])
		ap_scopy(c->error, sizeof(c->error), r->usage_why);
	/* Where the counts came from; estimated when the server sent none. The
	 * conversation is still as sent: tool results are appended after this. */
	const struct call_input in = { .messages = e->conv, .tools = e->cfg.task->tools,
				       .raw = e->cfg.task->raw_request };
	tokens_provenance(c, r, &in, be->stream);

	a->calls++;
	a->steps = e->step;
	a->prompt_tokens += c->prompt_tokens;
	a->completion_tokens += c->completion_tokens;
	a->cached_tokens += c->cached_tokens;
	if (st != CALL_OK) {
		a->status = st;
		snprintf(e->why, sizeof(e->why), "call failed (%s): %s", call_status_name(st), r->error);
		end_attempt(e, st == CALL_ERR_INTERRUPTED ? -EINTR : 0, true, now, req);
		return;
	}
	size_t first = e->n_calls;
	int more = answer_tools(e, r);
	if (more < 0) {
		set_done(e, -ENOMEM, now, req);
		return;
	}
	if (more && e->step < e->max_steps) {
		double ms = step_tool_latency_ms(e, first);
		struct wait_rec *w = ms > 0 && !e->interrupted
					     ? grow(tr->w, &tr->cap_w, tr->nw, sizeof(*tr->w))
					     : NULL;
		if (w) {
			/* The tools take their time; the model server idles meanwhile. */
			tr->w = w;
			e->widx = tr->nw++;
			memset(&tr->w[e->widx], 0, sizeof(*tr->w));
			tr->w[e->widx].aidx = e->aidx;
			e->in_tool_wait = true;
			e->wait_t0 = now;
			req->kind = EP_WAIT;
			req->tool_wait = true;
			req->wake_ns = now + (uint64_t)(ms * 1e6);
			return;
		}
		begin_step(e, now, req);
		return;
	}
	if (more)
		snprintf(e->why, sizeof(e->why), "max_steps (%d) reached with tool calls pending",
			 e->max_steps);
	end_attempt(e, 0, false, now, req);
}

static void end_check(struct episode *e, int rc, uint64_t now, struct ep_req *req);

static void end_attempt(struct episode *e, int result, bool call_failed, uint64_t now,
			struct ep_req *req)
{
	const struct task *t = e->cfg.task;
	struct attempt_rec *a = &e->tr->a[e->aidx];
	/* Already set: a failed call, or steps ran out (end_call's why). */
	bool seen = call_failed || e->why[0];
	if (!call_failed) {
		struct episode_output out = {
			.text = e->text.s ? e->text.s : "",
			.calls = e->calls,
			.n_calls = e->n_calls,
		};
		char cwhy[512];
		bool ok = check_eval(e->check, &out, cwhy, sizeof(cwhy));
		a->visible = ok ? -1 : seen || check_failure_visible(e->check, &out, t->tools);
		size_t wl = strlen(e->why);
		if (ok)
			result = 1;
		else if (!wl)
			ap_scopy(e->why, sizeof(e->why), cwhy);
		else if (wl + 2 < sizeof(e->why)) {
			memcpy(e->why + wl, "; ", 3);
			ap_scopy(e->why + wl + 2, sizeof(e->why) - wl - 2, cwhy);
		}
	}
	if (call_failed)
		a->visible = 1; /* transport failures and timeouts are seen at once */
	a->success = result == 1;
	a->duration_s = since(now, e->a0);
	ap_scopy(a->why, sizeof(a->why), a->success ? "" : e->why);
	e->tr->t.attempts++;
	if (result == 1) {
		e->k_max = e->att > e->k_max ? e->att : e->k_max;
		end_check(e, 1, now, req);
	} else if (result < 0 || e->interrupted || e->att >= t->policy.max_attempts) {
		end_check(e, result, now, req);
	} else {
		begin_attempt(e, now, req);
	}
}

static void end_check(struct episode *e, int rc, uint64_t now, struct ep_req *req)
{
	const struct task *t = e->cfg.task;
	if (rc == 1 && e->sub >= 0) {
		e->outs[e->sub] = strdup(e->text.s ? e->text.s : "");
		/* Errors compound: the decomposed form succeeds only if every sub-call does. */
		if ((size_t)++e->sub < t->n_subs) {
			begin_check(e, now, req);
			return;
		}
	}
	set_done(e, rc, now, req);
}

static void set_done(struct episode *e, int rc, uint64_t now, struct ep_req *req)
{
	struct task_run *tr = e->tr;
	struct task_rec *tk = &tr->t;
	e->done = true;
	e->rc = rc;
	req->kind = EP_DONE;
	tk->success = rc == 1;
	tk->k_success = rc == 1 ? e->k_max : 0;
	if (rc == -EINTR || (e->interrupted && rc != 1))
		ap_scopy(tk->outcome, sizeof(tk->outcome), "interrupted");
	else if (rc < 0)
		ap_scopy(tk->outcome, sizeof(tk->outcome), "error");
	else
		ap_scopy(tk->outcome, sizeof(tk->outcome), rc == 1 ? "success" : "failed");
	for (size_t i = 0; i < tr->na; i++) {
		tk->calls += tr->a[i].calls;
		tk->prompt_tokens += tr->a[i].prompt_tokens;
		tk->completion_tokens += tr->a[i].completion_tokens;
		tk->cached_tokens += tr->a[i].cached_tokens;
	}
	tk->duration_s = since(now, e->task_t0);
	for (size_t i = 0; i < tr->na; i++)
		tk->tool_wait_s += tr->a[i].tool_wait_s;
	/* --slo: every call within the limits from its scheduled start, and the
	 * task within its own from the arrival (slo.h) */
	const struct slo *slo = e->cfg.slo;
	if (slo && slo->set && tk->outcome[0] != 'i') {
		bool met = slo_task_ok(slo, tk->queue_s + tk->duration_s) && tr->nc > 0;
		for (size_t i = 0; met && i < tr->nc; i++) {
			const struct call_rec *c = &tr->c[i];
			met = c->status == CALL_OK &&
			      slo_call_ok(slo, isnan(c->ttft_s) ? NAN : c->queue_s + c->ttft_s, c->itl_s,
					  c->queue_s + c->e2e_s);
		}
		tk->slo_met = met;
	}
}
