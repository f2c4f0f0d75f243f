/*
 * The episode state machine (harness/run/episode.h) driven by hand, with no
 * server and no clock: each test feeds it try outcomes and timer firings at
 * times it chooses, and asserts the requests it makes (new call or retry,
 * the body it would send, the wait it asks for) and the records it produces.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "episode.h"
#include "testutil.h"
#include "workload.h"

#define S 1000000000ull /* one second in ns */

struct fx {
	char *dir;
	struct workload *wl;
	struct task *t;
	struct backend *be;
	struct episode *e;
	struct task_run *tr;
	struct call_result r;
};

/* A one-task workload from its header's defaults and its task line. */
static void fx_open(struct fx *f, const char *defaults, const char *task, const char *spec)
{
	memset(f, 0, sizeof(*f));
	f->dir = tu_tmpdir();
	assert_non_null(f->dir);
	char path[512];
	snprintf(path, sizeof(path), "%s/w.jsonl", f->dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "{\"agentperf_workload\":1,\"name\":\"ep\",\"version\":\"1\",\"source\":\"tests\","
		    "\"license\":\"CC0-1.0\",\"defaults\":%s}\n%s\n", defaults, task);
	fclose(fp);
	struct ap_error err = { { 0 } };
	int rc = workload_open(&f->wl, path, NULL, &err);
	if (rc)
		fail_msg("workload: %s", err.msg);
	assert_int_equal(workload_next(f->wl, &f->t, &err), 0);
	rc = backend_parse(&f->be, spec, &err);
	if (rc)
		fail_msg("backend: %s", err.msg);
	call_result_reset(&f->r);
}

static void fx_start(struct fx *f, int form, struct ep_req *req)
{
	struct ep_cfg cfg = { .task = f->t, .be = f->be, .seq = 7, .repeat = 1, .form = form,
			      .t0_ns = 100 * S };
	assert_int_equal(episode_new(&f->e, &cfg), 0);
	episode_start(f->e, 100 * S, req);
}

static void fx_close(struct fx *f)
{
	task_run_free(f->tr);
	episode_free(f->e);
	call_result_free(&f->r);
	task_free(f->t);
	workload_close(f->wl);
	backend_free(f->be);
	tu_rmrf(f->dir);
	free(f->dir);
}

/* A try outcome: sent at t, ended 0.5 s later, with this status and text. */
static const struct call_result *reply(struct fx *f, uint64_t t, enum call_status st, int http,
				       const char *text)
{
	call_result_reset(&f->r);
	f->r.status = st;
	f->r.http_status = http;
	f->r.t_start = f->r.t_send = t;
	f->r.t_first = t + S / 10;
	f->r.t_end = t + S / 2;
	if (text)
		sbuf_adds(&f->r.text, text);
	if (st != CALL_OK)
		snprintf(f->r.error, sizeof(f->r.error), "HTTP %d", http);
	f->r.prompt_tokens = 10;
	f->r.completion_tokens = 3;
	f->r.usage_reported = true;
	return &f->r;
}

static bool body_has(const struct ep_req *req, const char *s)
{
	return req->body && req->body->s && strstr(req->body->s, s);
}

static const char *const SIMPLE_DEF = "{\"max_attempts\":1,\"max_steps\":1}";
static const char *const SIMPLE_TASK =
	"{\"id\":\"capital\",\"prompt\":\"What is the capital of France?\","
	"\"check\":{\"kind\":\"contains\",\"value\":\"Paris\"}}";
static const char *const SPEC = "openai:url=http://127.0.0.1:9/v1,model=m,stream=0,retries=2,"
				"retry_wait_max=5";

static void test_one_call_success(void **state)
{
	(void)state;
	struct fx f;
	struct ep_req req;
	fx_open(&f, SIMPLE_DEF, SIMPLE_TASK, SPEC);
	fx_start(&f, FORM_MONO, &req);
	assert_int_equal(req.kind, EP_SEND);
	assert_true(req.new_call);
	assert_false(req.ended);
	assert_true(body_has(&req, "What is the capital of France?"));
	assert_true(body_has(&req, "\"model\":\"m\""));
	episode_feed(f.e, reply(&f, 101 * S, CALL_OK, 200, "It is Paris."), 42, 102 * S, &req);
	assert_int_equal(req.kind, EP_DONE);
	assert_true(req.ended);
	assert_int_equal(req.ended_key, 42);
	assert_int_equal(req.ended_t_end, 101 * S + S / 2);
	f.tr = episode_take(f.e);
	assert_int_equal(f.tr->nc, 1);
	assert_int_equal(f.tr->na, 1);
	assert_string_equal(f.tr->t.outcome, "success");
	assert_int_equal(f.tr->t.k_success, 1);
	assert_int_equal(f.tr->t.seq, 7);
	assert_int_equal(f.tr->t.calls, 1);
	assert_int_equal(f.tr->t.prompt_tokens, 10);
	const struct call_rec *c = &f.tr->c[0];
	assert_int_equal(c->status, CALL_OK);
	assert_int_equal(c->key, 42);
	assert_int_equal(c->retries, 0);
	assert_true(fabs(c->e2e_s - 0.5) < 1e-9);
	assert_true(fabs(c->ttft_s - 0.1) < 1e-9);
	assert_true(fabs(c->t_start_s - 0.0) < 1e-9);
	assert_true(fabs(f.tr->t.duration_s - 2.0) < 1e-9);
	fx_close(&f);
}

/* 429 with Retry-After 1: a 1 s timer, then the same body again (not a new call). */
static void test_retry_after_is_a_timer(void **state)
{
	(void)state;
	struct fx f;
	struct ep_req req;
	fx_open(&f, SIMPLE_DEF, SIMPLE_TASK, SPEC);
	fx_start(&f, FORM_MONO, &req);
	const struct sbuf *body = req.body;
	const struct call_result *r = reply(&f, 100 * S, CALL_ERR_HTTP_429, 429, NULL);
	f.r.retry_after_s = 1;
	episode_feed(f.e, r, 5, 100 * S + S / 2, &req);
	assert_int_equal(req.kind, EP_WAIT);
	assert_false(req.ended); /* the call goes on: its energy window stays open */
	assert_int_equal(req.wake_ns, 101 * S + S / 2);
	episode_timer(f.e, 101 * S + S / 2, &req);
	assert_int_equal(req.kind, EP_SEND);
	assert_false(req.new_call);
	assert_ptr_equal(req.body, body);
	episode_feed(f.e, reply(&f, 102 * S, CALL_OK, 200, "Paris"), 5, 103 * S, &req);
	assert_int_equal(req.kind, EP_DONE);
	assert_true(req.ended);
	f.tr = episode_take(f.e);
	assert_int_equal(f.tr->nc, 1);
	assert_int_equal(f.tr->c[0].retries, 1);
	assert_int_equal(f.tr->c[0].status, CALL_OK);
	assert_non_null(strstr(f.tr->c[0].error, "recovered by transport retries; last: http_429"));
	/* The call's start is its first try; e2e is the final try's. */
	assert_true(fabs(f.tr->c[0].t_start_s) < 1e-9);
	assert_true(fabs(f.tr->c[0].e2e_s - 0.5) < 1e-9);
	fx_close(&f);
}

/* No Retry-After: 0.25 s, then 0.5 s; after retries=2 the failure is the record. */
static void test_backoff_then_give_up(void **state)
{
	(void)state;
	struct fx f;
	struct ep_req req;
	fx_open(&f, SIMPLE_DEF, SIMPLE_TASK, SPEC);
	fx_start(&f, FORM_MONO, &req);
	uint64_t t = 100 * S;
	episode_feed(f.e, reply(&f, t, CALL_ERR_HTTP_5XX, 500, NULL), 1, t, &req);
	assert_int_equal(req.kind, EP_WAIT);
	assert_int_equal(req.wake_ns, t + S / 4);
	episode_timer(f.e, t + S / 4, &req);
	assert_int_equal(req.kind, EP_SEND);
	episode_feed(f.e, reply(&f, t, CALL_ERR_HTTP_5XX, 500, NULL), 1, t, &req);
	assert_int_equal(req.kind, EP_WAIT);
	assert_int_equal(req.wake_ns, t + S / 2);
	episode_timer(f.e, t + S / 2, &req);
	episode_feed(f.e, reply(&f, t, CALL_ERR_HTTP_5XX, 500, NULL), 1, t, &req);
	assert_int_equal(req.kind, EP_DONE);
	f.tr = episode_take(f.e);
	assert_int_equal(f.tr->c[0].status, CALL_ERR_HTTP_5XX);
	assert_int_equal(f.tr->c[0].retries, 2);
	assert_string_equal(f.tr->t.outcome, "failed");
	assert_int_equal(f.tr->a[0].status, CALL_ERR_HTTP_5XX);
	assert_non_null(strstr(f.tr->a[0].why, "call failed (http_5xx)"));
	fx_close(&f);
}

/* A 4xx is not retried; a wait longer than retry_wait_max is capped. */
static void test_no_retry_for_4xx_and_cap(void **state)
{
	(void)state;
	struct fx f;
	struct ep_req req;
	fx_open(&f, SIMPLE_DEF, SIMPLE_TASK, SPEC);
	fx_start(&f, FORM_MONO, &req);
	episode_feed(f.e, reply(&f, 100 * S, CALL_ERR_HTTP_4XX, 401, NULL), 1, 100 * S, &req);
	assert_int_equal(req.kind, EP_DONE);
	f.tr = episode_take(f.e);
	assert_int_equal(f.tr->c[0].retries, 0);
	episode_free(f.e);
	f.e = NULL;
	fx_start(&f, FORM_MONO, &req);
	const struct call_result *r = reply(&f, 100 * S, CALL_ERR_HTTP_429, 429, NULL);
	f.r.retry_after_s = 3600;
	episode_feed(f.e, r, 1, 100 * S, &req);
	assert_int_equal(req.kind, EP_WAIT);
	assert_int_equal(req.wake_ns, 105 * S); /* retry_wait_max=5 */
	fx_close(&f);
}

/* An interrupt during a retry's wait ends the call as interrupted, no more attempts. */
static void test_interrupt_during_wait(void **state)
{
	(void)state;
	struct fx f;
	struct ep_req req;
	fx_open(&f, "{\"max_attempts\":3,\"max_steps\":1}", SIMPLE_TASK, SPEC);
	fx_start(&f, FORM_MONO, &req);
	episode_feed(f.e, reply(&f, 100 * S, CALL_ERR_HTTP_5XX, 503, NULL), 1, 100 * S, &req);
	assert_int_equal(req.kind, EP_WAIT);
	episode_interrupt(f.e);
	episode_timer(f.e, 100 * S + 1, &req);
	assert_int_equal(req.kind, EP_DONE);
	assert_true(req.ended);
	f.tr = episode_take(f.e);
	assert_int_equal(f.tr->na, 1);
	assert_int_equal(f.tr->c[0].status, CALL_ERR_INTERRUPTED);
	assert_int_equal(f.tr->c[0].retries, 0);
	assert_string_equal(f.tr->t.outcome, "interrupted");
	fx_close(&f);
}

/* Repair: the failed check's reason goes back to the model in the next attempt. */
static void test_repair_feedback(void **state)
{
	(void)state;
	struct fx f;
	struct ep_req req;
	fx_open(&f, "{\"max_attempts\":3,\"retry\":\"repair\",\"max_steps\":1}", SIMPLE_TASK, SPEC);
	fx_start(&f, FORM_MONO, &req);
	episode_feed(f.e, reply(&f, 100 * S, CALL_OK, 200, "Lyon"), 1, 101 * S, &req);
	assert_int_equal(req.kind, EP_SEND);
	assert_true(req.new_call);
	assert_true(req.ended);
	assert_true(body_has(&req, "Your previous answer was not accepted"));
	assert_true(body_has(&req, "Lyon")); /* the assistant turn is kept */
	episode_feed(f.e, reply(&f, 101 * S, CALL_OK, 200, "Paris"), 2, 102 * S, &req);
	assert_int_equal(req.kind, EP_DONE);
	f.tr = episode_take(f.e);
	assert_int_equal(f.tr->na, 2);
	assert_int_equal(f.tr->nc, 2);
	assert_false(f.tr->a[0].success);
	assert_true(f.tr->a[1].success);
	assert_int_equal(f.tr->a[1].attempt, 2);
	assert_int_equal(f.tr->t.k_success, 2);
	assert_int_equal(f.tr->t.attempts, 2);
	assert_int_equal(f.tr->c[1].attempt, 2);
	fx_close(&f);
}

/*
 * The attempt's conversation is the task's own messages until something is
 * added to it (episode.c's conv_borrowed): a repair attempt's request holds
 * the reply and the feedback after the prompt, in order, and the task is left
 * as it was, so the next episode of it (a repeat) sends only the prompt.
 */
static void test_repair_leaves_task_untouched(void **state)
{
	(void)state;
	struct fx f;
	struct ep_req req;
	fx_open(&f, "{\"max_attempts\":2,\"retry\":\"repair\",\"max_steps\":1}", SIMPLE_TASK, SPEC);
	fx_start(&f, FORM_MONO, &req);
	char *first = strdup(req.body->s);
	assert_non_null(first);
	episode_feed(f.e, reply(&f, 100 * S, CALL_OK, 200, "Lyon"), 1, 101 * S, &req);
	assert_int_equal(req.kind, EP_SEND);
	const char *u = strstr(req.body->s, "{\"role\":\"user\",\"content\":\"What is the capital");
	const char *a = strstr(req.body->s, "{\"role\":\"assistant\",\"content\":\"Lyon\"}");
	const char *fb = strstr(req.body->s, "Your previous answer was not accepted");
	assert_true(u && a && fb && u < a && a < fb);
	assert_int_equal(cJSON_GetArraySize(f.t->messages), 1);
	episode_feed(f.e, reply(&f, 101 * S, CALL_OK, 200, "Marseille"), 2, 102 * S, &req);
	assert_int_equal(req.kind, EP_DONE);
	f.tr = episode_take(f.e);
	episode_free(f.e);
	task_run_free(f.tr);
	f.tr = NULL;
	/* a second episode of the same task: the first request again, byte for byte */
	fx_start(&f, FORM_MONO, &req);
	assert_string_equal(req.body->s, first);
	free(first);
	fx_close(&f);
}

/* Tool calls answered from the tool table: a second step carries the tool result. */
static void test_tool_step(void **state)
{
	(void)state;
	struct fx f;
	struct ep_req req;
	fx_open(&f,
		"{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
		"\"parameters\":{\"type\":\"object\",\"properties\":{\"location\":{\"type\":"
		"\"string\"}}}}}],\"max_attempts\":1,\"max_steps\":4}",
		"{\"id\":\"w\",\"prompt\":\"Weather in Paris?\",\"tool_table\":[{\"name\":"
		"\"get_weather\",\"args\":{\"location\":\"Paris\"},\"result\":\"{\\\"t\\\": 18}\"}],"
		"\"check\":{\"kind\":\"all\",\"checks\":[{\"kind\":\"tool_call\",\"name\":"
		"\"get_weather\",\"args\":{\"location\":[\"Paris\"]}},{\"kind\":\"contains\","
		"\"value\":\"18\"}]}}",
		SPEC);
	fx_start(&f, FORM_MONO, &req);
	assert_true(body_has(&req, "get_weather"));
	const struct call_result *r = reply(&f, 100 * S, CALL_OK, 200, NULL);
	assert_int_equal(call_result_tool_delta(&f.r, 0, "c1", "get_weather",
						"{\"location\":\"Paris\"}"),
			 0);
	episode_feed(f.e, r, 1, 101 * S, &req);
	assert_int_equal(req.kind, EP_SEND);
	assert_true(req.new_call);
	assert_true(body_has(&req, "\"tool_call_id\":\"c1\""));
	assert_true(body_has(&req, "{\\\"t\\\": 18}"));
	episode_feed(f.e, reply(&f, 101 * S, CALL_OK, 200, "It is 18 degrees."), 2, 102 * S, &req);
	assert_int_equal(req.kind, EP_DONE);
	f.tr = episode_take(f.e);
	assert_int_equal(f.tr->nc, 2);
	assert_int_equal(f.tr->c[0].step, 1);
	assert_int_equal(f.tr->c[0].n_tool_calls, 1);
	assert_int_equal(f.tr->c[1].step, 2);
	assert_string_equal(f.tr->t.outcome, "success");
	fx_close(&f);
}

/* Decomposed: each sub-call its own check, later prompts fed earlier outputs. */
static void test_decomposed_subcalls(void **state)
{
	(void)state;
	struct fx f;
	struct ep_req req;
	fx_open(&f, "{\"max_attempts\":2,\"max_steps\":1}",
		"{\"id\":\"d\",\"prompt\":\"Sum 2 and 3, as words.\",\"check\":{\"kind\":\"contains\","
		"\"value\":\"five\"},\"decomposed\":[{\"id\":\"sum\",\"prompt\":\"2+3?\",\"check\":"
		"{\"kind\":\"contains\",\"value\":\"5\"}},{\"id\":\"words\",\"prompt\":\"Spell {{sum}}"
		"\",\"check\":{\"kind\":\"contains\",\"value\":\"five\"}}]}",
		SPEC);
	fx_start(&f, FORM_DECOMP, &req);
	assert_true(body_has(&req, "2+3?"));
	episode_feed(f.e, reply(&f, 100 * S, CALL_OK, 200, "6"), 1, 101 * S, &req);
	/* Failed sub-call check: its second attempt, same prompt. */
	assert_int_equal(req.kind, EP_SEND);
	assert_true(body_has(&req, "2+3?"));
	episode_feed(f.e, reply(&f, 101 * S, CALL_OK, 200, "5"), 2, 102 * S, &req);
	assert_int_equal(req.kind, EP_SEND);
	assert_true(body_has(&req, "Spell 5"));
	episode_feed(f.e, reply(&f, 102 * S, CALL_OK, 200, "five"), 3, 103 * S, &req);
	assert_int_equal(req.kind, EP_DONE);
	f.tr = episode_take(f.e);
	assert_int_equal(f.tr->na, 3);
	assert_int_equal(f.tr->nc, 3);
	assert_int_equal(f.tr->a[0].sub, 0);
	assert_string_equal(f.tr->a[0].sub_id, "sum");
	assert_int_equal(f.tr->a[2].sub, 1);
	assert_string_equal(f.tr->t.outcome, "success");
	assert_int_equal(f.tr->t.k_success, 2); /* the largest k over sub-calls */
	assert_int_equal(f.tr->t.form, FORM_DECOMP);
	fx_close(&f);
}

/* max_steps reached with tool calls pending is the attempt's failure reason. */
static void test_max_steps(void **state)
{
	(void)state;
	struct fx f;
	struct ep_req req;
	fx_open(&f,
		"{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
		"\"parameters\":{\"type\":\"object\",\"properties\":{}}}}],"
		"\"max_attempts\":1,\"max_steps\":1}",
		"{\"id\":\"w\",\"prompt\":\"Weather?\",\"tool_table\":[{\"name\":\"f\",\"args\":{},"
		"\"result\":\"ok\"}],\"check\":{\"kind\":\"contains\",\"value\":\"x\"}}",
		SPEC);
	fx_start(&f, FORM_MONO, &req);
	const struct call_result *r = reply(&f, 100 * S, CALL_OK, 200, NULL);
	call_result_tool_delta(&f.r, 0, NULL, "f", "{}");
	episode_feed(f.e, r, 1, 101 * S, &req);
	assert_int_equal(req.kind, EP_DONE);
	f.tr = episode_take(f.e);
	assert_non_null(strstr(f.tr->a[0].why, "max_steps (1) reached"));
	fx_close(&f);
}

/* Tool latency (issue 12): the episode waits latency_ms (a timer with its
 * own energy window) before the next call; the wait is in the records. */
static void test_tool_latency_wait(void **state)
{
	(void)state;
	struct fx f;
	struct ep_req req;
	fx_open(&f,
		"{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
		"\"parameters\":{\"type\":\"object\",\"properties\":{}}}}],\"max_attempts\":1,"
		"\"max_steps\":4,\"tool_latency_ms\":100}",
		"{\"id\":\"w\",\"prompt\":\"Weather?\",\"tool_table\":[{\"name\":\"get_weather\","
		"\"result\":\"18\",\"latency_ms\":1500}],\"check\":{\"kind\":\"contains\","
		"\"value\":\"18\"}}",
		SPEC);
	fx_start(&f, FORM_MONO, &req);
	const struct call_result *r = reply(&f, 100 * S, CALL_OK, 200, NULL);
	call_result_tool_delta(&f.r, 0, "c1", "get_weather", "{}");
	episode_feed(f.e, r, 1, 101 * S, &req);
	/* the entry's 1500 ms wins over the workload's 100 ms default */
	assert_int_equal(req.kind, EP_WAIT);
	assert_true(req.tool_wait);
	assert_true(req.ended && req.ended_key == 1);
	assert_true(req.wake_ns == 101 * S + 1500000000ull);
	episode_wait_key(f.e, 42);
	episode_timer(f.e, 102 * S + S / 2, &req);
	/* the wait's window ends as the next call begins */
	assert_true(req.ended && req.ended_key == 42 && req.ended_t_end == 102 * S + S / 2);
	assert_int_equal(req.kind, EP_SEND);
	assert_true(req.new_call);
	assert_true(body_has(&req, "\"tool_call_id\":\"c1\""));
	episode_feed(f.e, reply(&f, 102 * S + S / 2, CALL_OK, 200, "18 degrees"), 2, 103 * S, &req);
	assert_int_equal(req.kind, EP_DONE);
	f.tr = episode_take(f.e);
	assert_int_equal(f.tr->nw, 1);
	assert_true(f.tr->w[0].key == 42);
	assert_true(fabs(f.tr->w[0].dur_s - 1.5) < 1e-9);
	assert_true(fabs(f.tr->a[0].tool_wait_s - 1.5) < 1e-9);
	assert_true(fabs(f.tr->t.tool_wait_s - 1.5) < 1e-9);
	/* the second call started after the wait, not at the first one's end */
	assert_true(fabs(f.tr->c[1].t_start_s - 2.5) < 1e-9);
	assert_string_equal(f.tr->t.outcome, "success");
	fx_close(&f);
}

/* Open loop: the task's queueing delay is measured from its scheduled
 * arrival, carried by its first call, and judged by the SLO. */
static void test_schedule_queue_and_slo(void **state)
{
	(void)state;
	struct fx f;
	struct ep_req req;
	struct slo slo;
	char msg[128];
	assert_int_equal(slo_parse(&slo, "e2e=1,task=3", msg, sizeof(msg)), 0);
	fx_open(&f, SIMPLE_DEF, SIMPLE_TASK, SPEC);
	/* arrived at 100 s, started at 102 s: 2 s in the queue */
	struct ep_cfg cfg = { .task = f.t, .be = f.be, .seq = 7, .repeat = 1, .form = FORM_MONO,
			      .t0_ns = 100 * S, .sched_ns = 100 * S, .slo = &slo };
	assert_int_equal(episode_new(&f.e, &cfg), 0);
	episode_start(f.e, 102 * S, &req);
	episode_feed(f.e, reply(&f, 102 * S, CALL_OK, 200, "Paris"), 1, 102 * S + S / 2, &req);
	assert_int_equal(req.kind, EP_DONE);
	f.tr = episode_take(f.e);
	assert_true(fabs(f.tr->t.t_sched_s - 0) < 1e-9);
	assert_true(fabs(f.tr->t.queue_s - 2) < 1e-9);
	assert_true(fabs(f.tr->c[0].queue_s - 2) < 1e-9);
	/* service e2e 0.5 s meets e2e=1, but 2.5 s from the schedule does not */
	assert_true(f.tr->c[0].e2e_s < 1);
	assert_int_equal(f.tr->t.slo_met, 0);
	task_run_free(f.tr);
	f.tr = NULL;
	episode_free(f.e);
	/* the same task on time meets it; without --slo it is not judged */
	cfg.sched_ns = 102 * S;
	assert_int_equal(episode_new(&f.e, &cfg), 0);
	episode_start(f.e, 102 * S, &req);
	episode_feed(f.e, reply(&f, 102 * S, CALL_OK, 200, "Paris"), 1, 102 * S + S / 2, &req);
	f.tr = episode_take(f.e);
	assert_int_equal(f.tr->t.slo_met, 1);
	assert_true(f.tr->t.queue_s == 0);
	task_run_free(f.tr);
	f.tr = NULL;
	episode_free(f.e);
	cfg.slo = NULL;
	cfg.sched_ns = 0;
	assert_int_equal(episode_new(&f.e, &cfg), 0);
	episode_start(f.e, 102 * S, &req);
	episode_feed(f.e, reply(&f, 102 * S, CALL_OK, 200, "Paris"), 1, 102 * S + S / 2, &req);
	f.tr = episode_take(f.e);
	assert_int_equal(f.tr->t.slo_met, -1);
	assert_true(f.tr->t.t_sched_s == f.tr->t.t_start_s);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_call_success),
		cmocka_unit_test(test_retry_after_is_a_timer),
		cmocka_unit_test(test_backoff_then_give_up),
		cmocka_unit_test(test_no_retry_for_4xx_and_cap),
		cmocka_unit_test(test_interrupt_during_wait),
		cmocka_unit_test(test_repair_feedback),
		cmocka_unit_test(test_repair_leaves_task_untouched),
		cmocka_unit_test(test_tool_step),
		cmocka_unit_test(test_decomposed_subcalls),
		cmocka_unit_test(test_max_steps),
		cmocka_unit_test(test_tool_latency_wait),
		cmocka_unit_test(test_schedule_queue_and_slo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
