/*
 * The runner: repeats, warm-up and wiring. This (the calling) thread is the
 * feeder and the sink's consumer: it parses the workload into a bounded
 * queue of (task, form) work items outside any lock the loops need, wakes
 * loops that ran dry, and drains the sink as soon as a finished task is
 * queued in an empty sink (so a kill -9 loses only what was in flight), and
 * every SINK_TICK_MS for energy that settles later. Busy (its last drain
 * took SINK_BUSY_TASKS or more), it sleeps SINK_SOON_US at a time and
 * nobody wakes it: a finished task then waits at most that long for the
 * disk (a kill -9 loses those too, with the many calls in flight), and the
 * loops stop paying a futex wake and two context switches for every task
 * (measured at -c 64 against a null endpoint: 1.1-1.3 futex calls and
 * 1.0-1.2 context switches a call before, 0.15 and 0.5 after; 4-8 % of the
 * client's CPU). Loop threads
 * take items from the queue (a short critical section), turn them into
 * episodes and hand the finished ones back through done().
 */
#include "runner.h"
#include "episode.h"
#include "loop.h"
#include "sink.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* How often the feeder drains the sink and looks at ap_interrupted. */
#define SINK_TICK_MS 20
/* Busy: the last drain took this many tasks or more. Then the feeder wakes
 * every SINK_SOON_US by itself, and a finished task reaches the disk that
 * soon; below it (a few calls in flight, as in the kill -9 tests) every
 * task that finishes into an empty sink wakes it at once. */
#define SINK_BUSY_TASKS 4
/* 2 ms, not 0.5: the feeder's own wake-ups were most of its context switches
 * at -c 64 (0.14 futex calls a call at 0.5 ms, 0.08 at 2 ms), and at 40k
 * calls/s 2 ms of finished tasks is about the 64 calls in flight anyway. */
#define SINK_SOON_US 2000
/* Episodes one loop thread is given before another is worth its CPU and
 * wake-ups. One loop drives about 45k calls/s here (tests/perf/curlfloor.c),
 * more than a model server answers, and on a machine the server shares, a
 * second loop that is not busy only takes CPU and context switches from it:
 * on 2 vCPUs against nginx at -c 64 (2026-12-03, 5 alternating pairs of
 * 100,000 calls) one loop made 35.4k calls/s not streaming and 34.2k
 * streaming, two 32.0k and 32.6k. Many episodes are another matter: their
 * replies come in bursts (a round of 1,000 answered in the same
 * millisecond), which two loops take in parallel: at -c 1000 with 0.5 s
 * replies, one loop gave a p99 overhead of 2.0-4.0 ms (max 5.9-6.6), two
 * 2.0-2.5 (max 3.4-4.8). Until 2026-12-03 this was 32 (two loops at -c 64). */
#define EPISODES_PER_THREAD 256
/* The default's ceiling: three loops drive more calls than any model server
 * answers, and the process stays at four threads (with the feeder) however
 * many episodes run. --threads goes past it. */
#define MAX_DEFAULT_LOOPS 3

/* One task, shared by the episodes of its forms. */
struct job {
	struct task *t;
	long seq;
	bool paired;
	atomic_int refs;
	struct job *next;      /* finished: on a loop's, then the runner's, list to free */
};


struct item {
	struct job *j;
	int form;
	double sched_s;        /* open loop: arrival, seconds after the pass began; -1: none */
};

struct runner {
	const struct run_opts *o;
	struct run_state *st;
	struct sink *sink;
	struct loop **loops;
	int n_loops;
	atomic_uint_fast64_t next_key;
	/* the pass being run */
	int repeat;
	bool counting;          /* false during warm-up: results are discarded */
	long warm_left;
	long next_seq;
	long ramped;            /* --ramp: tasks given a staggered start this pass */
	struct schedule sched;  /* open loop: this pass's arrivals */
	uint64_t pass_t0;       /* the pass's clock zero (arrivals count from it) */
	bool stream_done;       /* the feeder read the last task */
	bool seen_end;          /* o->seen was told the first pass's end of file */
	int input_error;        /* the workload could not be read, or changed, mid-run */
	/* the queue: guarded by mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;      /* the feeder's: queue low, a loop finished */
	struct item *q;
	size_t q_cap, q_head, q_len;
	bool q_closed;          /* nothing more this pass */
	bool *hungry;           /* [loop]: found the queue empty with room to spare */
	struct job *dead;       /* finished jobs the feeder frees (it allocated them) */
	int loops_running;
	bool feeder_waiting;    /* in its timed wait; a signaller clears it: one signal a wait */
	bool sink_wake;         /* a finished task is waiting for the sink */
	long pushed;            /* tasks the loops gave the sink */
	bool sink_busy;         /* the last drain took SINK_BUSY_TASKS or more */
};

/* Under mu: wakes the feeder unless it is busy, when it wakes by itself
 * within SINK_SOON_US (its wait is that short then). */
static void wake_feeder(struct runner *R)
{
	if (R->feeder_waiting && !R->sink_busy) {
		R->feeder_waiting = false;
		pthread_cond_signal(&R->cv);
	}
}

static double since(uint64_t t, uint64_t t0)
{
	return t >= t0 ? (double)(t - t0) / 1e9 : 0;
}

/* One loop thread, and what it finished since its last flush (its own: no lock). */
struct loop_thread {
	struct runner *R;
	struct loop *l;
	int idx;
	struct loop_pass pass;
	pthread_t th;
	int rc;
	struct task_run *out_head, *out_tail;
	long n_out;            /* tasks on that list */
	struct job *dead;
};

static void job_free_list(struct job *j)
{
	while (j) {
		struct job *n = j->next;
		task_free(j->t);
		free(j);
		j = n;
	}
}

/*
 * The last form of a task done: its job goes back to the feeder, which
 * frees it. Freeing here, on a loop thread, what the feeder's parse
 * allocated made both threads take each other's malloc arena locks, which
 * showed up as futex waits in the profile.
 */
static void job_put(struct loop_thread *lt, struct job *j)
{
	if (atomic_fetch_sub(&j->refs, 1) == 1) {
		j->next = lt->dead;
		lt->dead = j;
	}
}

/* ---- the loops' side of the queue (loop_src) ---- */

static struct episode *src_next(void *ctx, struct loop *l, void **user, uint64_t *start_at,
				bool *more)
{
	struct loop_thread *lt = ctx;
	struct runner *R = lt->R;
	(void)l;
	struct item it = { 0 };
	bool have = false;
	*start_at = 0;
	pthread_mutex_lock(&R->mu);
	if (R->q_len) {
		it = R->q[R->q_head];
		R->q_head = (R->q_head + 1) % R->q_cap;
		R->q_len--;
		have = true;
		if (R->q_len <= R->q_cap / 2 && !R->q_closed && R->feeder_waiting) {
			R->feeder_waiting = false;
			pthread_cond_signal(&R->cv);
		}
	} else if (R->q_closed || ap_interrupted) {
		*more = false;
	} else {
		R->hungry[lt->idx] = true;
		if (R->feeder_waiting) {
			R->feeder_waiting = false;
			pthread_cond_signal(&R->cv);
		}
	}
	pthread_mutex_unlock(&R->mu);
	if (!have)
		return NULL;
	struct ep_cfg cfg = {
		.task = it.j->t,
		.be = R->o->be,
		.seq = it.j->seq,
		.repeat = R->repeat,
		.form = it.form,
		.paired = it.j->paired,
		.t0_ns = R->st->t0_ns,
		.seed_set = R->o->seed_set,
		.temp_set = R->o->temp_set,
		.seed = R->o->seed,
		.temperature = R->o->temperature,
		.seed_policy = R->o->seed_policy,
		.slo = R->o->slo,
		.tool_latency_ms = R->o->tool_latency_ms,
	};
	if (it.sched_s >= 0) {
		cfg.sched_ns = R->pass_t0 + (uint64_t)(it.sched_s * 1e9);
		*start_at = cfg.sched_ns;
	}
	struct episode *e = NULL;
	if (episode_new(&e, &cfg)) {
		ap_err("out of memory starting task %s", it.j->t->id);
		job_put(lt, it.j);
		ap_interrupted = 1;
		*more = false;
		return NULL;
	}
	*user = it.j;
	return e;
}

static void src_done(void *ctx, struct episode *e, void *user)
{
	struct loop_thread *lt = ctx;
	struct task_run *tr = episode_started(e) ? episode_take(e) : NULL;
	episode_free(e);
	if (tr && lt->R->counting) {
		tr->next = NULL;
		if (lt->out_tail)
			lt->out_tail->next = tr;
		else
			lt->out_head = tr;
		lt->out_tail = tr;
		lt->n_out++;
	} else {
		task_run_free(tr);
	}
	job_put(lt, user);
}

/* The loop is about to sleep: its finished tasks go to the sink, its jobs to the feeder. */
static void src_flush(void *ctx, struct loop *l)
{
	struct loop_thread *lt = ctx;
	struct runner *R = lt->R;
	(void)l;
	if (!lt->out_head && !lt->dead)
		return;
	bool was_empty = lt->out_head && sink_push(R->sink, lt->out_head, lt->out_tail);
	long n = lt->n_out;
	lt->out_head = lt->out_tail = NULL;
	lt->n_out = 0;
	pthread_mutex_lock(&R->mu);
	R->pushed += n;
	if (lt->dead) {
		struct job *last = lt->dead;
		while (last->next)
			last = last->next;
		last->next = R->dead;
		R->dead = lt->dead;
		lt->dead = NULL;
	}
	if (was_empty) {
		R->sink_wake = true;
		wake_feeder(R);
	}
	pthread_mutex_unlock(&R->mu);
}

/* ---- the feeder ---- */

static bool selected(const struct run_opts *o, const char *id, const char *category)
{
	if (o->filter && fnmatch(o->filter, id, 0))
		return false;
	if (o->category && (!category || strcmp(o->category, category)))
		return false;
	return true;
}

/* Reads the next selected task into at most FORM_COUNT items; 0 at the end. */
static int read_items(struct runner *R, struct item *out)
{
	const struct run_opts *o = R->o;
	struct ap_error err = { { 0 } };
	while (!R->stream_done && !ap_interrupted) {
		struct task *t = NULL;
		if (!R->counting && R->warm_left <= 0) {
			R->stream_done = true;
			break;
		}
		int rc = workload_next(o->wl, &t, &err);
		bool first_pass = R->counting && R->repeat == 1 && o->seen;
		if (rc == 1 && first_pass && !R->seen_end) {
			R->seen_end = true;
			o->seen(o->seen_ctx, NULL);
		}
		/* --duration: the schedule goes on past the file's end, from its start */
		if (rc == 1 && R->counting && o->duration_s > 0 && R->next_seq > 0 && !ap_interrupted) {
			if ((rc = workload_rewind(o->wl)) == 0)
				continue;
			ap_err("%s: cannot read it again for --duration: %s", o->wl->path,
			       strerror(-rc));
		}
		if (rc) {
			/* A read error or a changed workload mid-run fails the run. */
			if (rc < 0) {
				ap_err("%s", err.msg);
				R->input_error = rc;
			}
			R->stream_done = true;
			break;
		}
		if (!selected(o, t->id, t->category)) {
			task_free(t);
			continue;
		}
		if (first_pass && !R->seen_end)
			o->seen(o->seen_ctx, t);
		long seq = R->next_seq++;
		/* seq counts every selected task, so a shard's rows keep the
		 * unsharded run's (repeat, seq) and merge needs no renumbering. */
		if (R->counting && !shard_has(o->shard, t->id, R->repeat)) {
			task_free(t);
			continue;
		}
		if (!R->counting)
			R->warm_left--;
		double sched_s = -1;
		if (R->counting && o->rate > 0) {
			sched_s = schedule_next(&R->sched);
			if (o->duration_s > 0 && sched_s >= o->duration_s) {
				task_free(t);
				R->stream_done = true;
				break;
			}
		}
		int n = 0;
		bool paired = o->forms[FORM_MONO] && o->forms[FORM_DECOMP] && t->n_subs > 0;
		for (int f = 0; f < FORM_COUNT; f++) {
			if (!o->forms[f] || (f == FORM_DECOMP && !t->n_subs))
				continue;
			if (!R->counting && f != FORM_MONO)
				continue;
			/* Resumed run: seq is the task's place among the selected ones, stable
			 * for an unchanged workload and filter, so this skips exactly what is on disk. */
			if (R->counting && resume_done(o->skip, R->repeat, seq, f))
				continue;
			out[n++].form = f;
		}
		if (!n) {
			task_free(t);
			continue;
		}
		/* --ramp: the first c tasks this pass runs (after shards and resume
		 * skips) start S/c apart; the loop holds each until its time */
		int c = o->concurrency > 0 ? o->concurrency : 1;
		if (R->counting && o->ramp_s > 0 && R->ramped < c)
			sched_s = o->ramp_s * (double)R->ramped++ / c;
		struct job *j = calloc(1, sizeof(*j));
		if (!j) {
			task_free(t);
			ap_err("out of memory reading the workload");
			ap_interrupted = 1;
			break;
		}
		j->t = t;
		j->seq = seq;
		j->paired = paired;
		atomic_init(&j->refs, n);
		for (int i = 0; i < n; i++) {
			out[i].j = j;
			out[i].sched_s = sched_s;
		}
		return n;
	}
	return 0;
}

static void progress(struct runner *R, long *shown)
{
	long done = sink_tasks_done(R->sink);
	if (!R->counting || R->o->quiet || done == *shown || !isatty(STDERR_FILENO))
		return;
	*shown = done;
	fprintf(stderr, "\r[repeat %d/%d] %ld tasks done ", R->repeat, R->o->repeats, done);
}

static void *loop_main(void *arg)
{
	struct loop_thread *lt = arg;
	struct runner *R = lt->R;
	lt->rc = loop_run(lt->l, &lt->pass);
	pthread_mutex_lock(&R->mu);
	R->loops_running--;
	pthread_cond_signal(&R->cv);
	pthread_mutex_unlock(&R->mu);
	return NULL;
}

static void wake_all(struct runner *R)
{
	for (int i = 0; i < R->n_loops; i++)
		loop_wake(R->loops[i]);
}

/* One pass over the workload: a repeat, or the warm-up. */
static int run_pass(struct runner *R)
{
	int rc = 0;
	struct loop_thread *lts = calloc((size_t)R->n_loops, sizeof(*lts));
	if (!lts)
		return -ENOMEM;
	R->stream_done = false;
	R->next_seq = 0;
	R->ramped = 0;
	R->q_head = R->q_len = 0;
	R->q_closed = false;
	memset(R->hungry, 0, (size_t)R->n_loops * sizeof(*R->hungry));
	if ((rc = workload_rewind(R->o->wl))) {
		free(lts);
		return rc;
	}
	/* Each repeat replays the same arrivals (same seed), so repeats differ by
	 * the server alone. */
	schedule_init(&R->sched, R->o->rate > 0 ? R->o->arrival : ARRIVAL_CLOSED, R->o->rate,
		      R->o->seed_set ? (uint64_t)R->o->seed : 0);
	R->pass_t0 = ap_now_ns();
	R->loops_running = 0;
	for (int i = 0; i < R->n_loops; i++) {
		lts[i] = (struct loop_thread){
			.R = R,
			.l = R->loops[i],
			.idx = i,
			.pass = { .src = { .next = src_next, .done = src_done, .flush = src_flush,
					   .ctx = &lts[i] },
				  .energy = R->counting ? R->o->energy : NULL,
				  .next_key = &R->next_key },
		};
		if (pthread_create(&lts[i].th, NULL, loop_main, &lts[i])) {
			rc = -EAGAIN;
			break;
		}
		pthread_mutex_lock(&R->mu);
		R->loops_running++;
		pthread_mutex_unlock(&R->mu);
	}
	int started = 0;
	for (int i = 0; i < R->n_loops && lts[i].th; i++)
		started++;
	if (rc) {
		/* Nothing will be fed: the loops that did start see a closed queue. */
		pthread_mutex_lock(&R->mu);
		R->q_closed = true;
		pthread_mutex_unlock(&R->mu);
		wake_all(R);
	}
	struct item batch[64 * FORM_COUNT];
	long shown = -1;
	bool woke_for_interrupt = false;
	uint64_t next_drain = 0;
	long drained_at = -1; /* R->pushed at this pass's last drain; -1: none yet */
	bool busy = false;
	for (;;) {
		/* Read outside the lock, then append under it. */
		size_t room;
		pthread_mutex_lock(&R->mu);
		room = R->q_closed ? 0 : R->q_cap - R->q_len;
		pthread_mutex_unlock(&R->mu);
		size_t nb = 0;
		while (room >= FORM_COUNT && nb + FORM_COUNT <= sizeof(batch) / sizeof(batch[0])) {
			int n = read_items(R, batch + nb);
			if (!n)
				break;
			nb += (size_t)n;
			room -= (size_t)n;
		}
		bool wake[R->n_loops > 0 ? R->n_loops : 1];
		bool any_wake = false;
		pthread_mutex_lock(&R->mu);
		for (size_t i = 0; i < nb; i++)
			R->q[(R->q_head + R->q_len++) % R->q_cap] = batch[i];
		if (!R->q_closed && (R->stream_done || ap_interrupted))
			R->q_closed = true;
		for (int i = 0; i < R->n_loops; i++) {
			wake[i] = R->hungry[i] && (R->q_len || R->q_closed);
			if (wake[i])
				R->hungry[i] = false;
			any_wake |= wake[i];
		}
		bool closed = R->q_closed;
		pthread_mutex_unlock(&R->mu);
		if (any_wake)
			for (int i = 0; i < R->n_loops; i++)
				if (wake[i])
					loop_wake(R->loops[i]);
		if (ap_interrupted && !woke_for_interrupt) {
			woke_for_interrupt = true;
			wake_all(R);
		}
		uint64_t now = ap_now_ns();
		pthread_mutex_lock(&R->mu);
		bool sink_wake = R->sink_wake;
		R->sink_wake = false;
		long pushed = R->pushed;
		struct job *dead = R->dead;
		R->dead = NULL;
		pthread_mutex_unlock(&R->mu);
		job_free_list(dead);
		if (now >= next_drain || sink_wake) {
			/* busy: what the loops pushed since the last drain (under mu below) */
			busy = drained_at >= 0 && pushed - drained_at >= SINK_BUSY_TASKS;
			drained_at = pushed;
			sink_drain(R->sink, false);
			progress(R, &shown);
			next_drain = now + SINK_TICK_MS * 1000000ull;
		}
		pthread_mutex_lock(&R->mu);
		R->sink_busy = busy;
		if (!R->loops_running) {
			pthread_mutex_unlock(&R->mu);
			break;
		}
		/* Sleep unless there is room to fill and something to fill it with. */
		bool can_feed = !closed && R->q_len <= R->q_cap / 2;
		bool hungry = false;
		for (int i = 0; i < R->n_loops; i++)
			hungry |= R->hungry[i];
		if (!can_feed && !hungry && !R->sink_wake && (!ap_interrupted || woke_for_interrupt)) {
			struct timespec ts;
			long wait_ns = busy ? SINK_SOON_US * 1000L : SINK_TICK_MS * 1000000L;
			clock_gettime(CLOCK_MONOTONIC, &ts); /* the cv's clock (run_workload) */
			ts.tv_nsec += wait_ns;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			R->feeder_waiting = true;
			pthread_cond_timedwait(&R->cv, &R->mu, &ts);
			R->feeder_waiting = false;
		}
		pthread_mutex_unlock(&R->mu);
	}
	for (int i = 0; i < started; i++) {
		pthread_join(lts[i].th, NULL);
		if (!rc && lts[i].rc)
			rc = lts[i].rc;
	}
	/* The feeder reads ahead, so its end-of-file check (a workload changed
	 * mid-run fails the run) may have come before the change: look again now
	 * that the pass has run, as a reader that kept pace with the calls would. */
	if (R->stream_done && !R->input_error && !ap_interrupted) {
		struct task *t = NULL;
		struct ap_error err = { { 0 } };
		int wrc = workload_next(R->o->wl, &t, &err);
		task_free(t);
		if (wrc < 0) {
			ap_err("%s", err.msg);
			R->input_error = wrc;
		}
	}
	/* Items never taken (interrupted): their tasks are not run. */
	while (R->q_len) {
		struct job *j = R->q[R->q_head].j;
		if (atomic_fetch_sub(&j->refs, 1) == 1) {
			j->next = R->dead;
			R->dead = j;
		}
		R->q_head = (R->q_head + 1) % R->q_cap;
		R->q_len--;
	}
	job_free_list(R->dead);
	R->dead = NULL;
	sink_drain(R->sink, false);
	free(lts);
	return rc;
}

/*
 * Counts the selected tasks (and whether any has a decomposed form) from the
 * workload's index: no parse of the file.
 */
static int survey(const struct run_opts *o, struct run_state *st, struct ap_error *err)
{
	struct task_ref_iter it = { 0 };
	struct task_ref t;
	int rc;
	while ((rc = workload_ref_next(o->wl, &it, &t, err)) == 0) {
		if (selected(o, t.id, t.category)) {
			st->selected++;
			st->any_decomposed |= t.decomposed;
			for (int r = 1; r <= o->repeats; r++)
				st->shard_units += shard_has(o->shard, t.id, r);
		}
	}
	return rc < 0 ? rc : 0;
}

int run_count_selected(const struct run_opts *o, long *n, bool *decomposed, struct ap_error *err)
{
	struct run_state st = { 0 };
	int rc = survey(o, &st, err);
	*n = st.selected;
	if (decomposed)
		*decomposed = st.any_decomposed;
	return rc;
}

/* --threads, or enough loops for the load: one per EPISODES_PER_THREAD, at
 * most the CPUs and MAX_DEFAULT_LOOPS. */
static int loop_count(const struct run_opts *o, int c)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int n = o->threads > 0 ? o->threads : (c + EPISODES_PER_THREAD - 1) / EPISODES_PER_THREAD;
	if (o->threads <= 0 && cpus > 0 && n > cpus)
		n = (int)cpus;
	if (o->threads <= 0 && n > MAX_DEFAULT_LOOPS)
		n = MAX_DEFAULT_LOOPS;
	if (n > c)
		n = c;
	return n > 0 ? n : 1;
}

/* c connections need c descriptors: the soft limit (often 1024) is raised toward the hard one. */
static void raise_fd_limit(int c)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)c + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		ap_warn("cannot raise the open-file limit to %llu: %s", (unsigned long long)want,
			strerror(errno));
}

int run_workload(const struct run_opts *o, struct run_state *st, struct ap_error *err)
{
	int rc, c = o->concurrency > 0 ? o->concurrency : 1;
	struct runner R = { .o = o, .st = st };
	memset(st, 0, sizeof(*st));
	pthread_mutex_init(&R.mu, NULL);
	/* Timed waits on the monotonic clock: a step of the wall clock must not
	 * stretch the feeder's sleep (a busy sink is drained by it alone). */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&R.cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&R.next_key, 0);
	raise_fd_limit(c);
	R.n_loops = loop_count(o, c);
	st->threads = R.n_loops;
	R.q_cap = (size_t)(2 * c > 64 ? 2 * c : 64) + FORM_COUNT;
	R.q = calloc(R.q_cap, sizeof(*R.q));
	R.loops = calloc((size_t)R.n_loops, sizeof(*R.loops));
	R.hungry = calloc((size_t)R.n_loops, sizeof(*R.hungry));
	if (!R.q || !R.loops || !R.hungry) {
		rc = -ENOMEM;
		goto out;
	}
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
	if ((rc = sink_new(&R.sink, o->energy, o->out, &st->agg)))
		goto out;
	for (int i = 0; i < R.n_loops; i++) {
		int share = c / R.n_loops + (i < c % R.n_loops);
		if ((rc = loop_new(&R.loops[i], o->be, share))) {
			ap_error_set(err, NULL, 0, "backend", "cannot set up the HTTP client: %s",
				     strerror(-rc));
			goto out;
		}
	}
	if (o->warmup > 0) {
		R.counting = false;
		R.warm_left = o->warmup;
		R.repeat = 0;
		st->t0_ns = ap_now_ns();
		if ((rc = run_pass(&R)))
			goto out;
	}
	R.counting = true;
	st->t0_ns = ap_now_ns();
	for (int rep = 1; rep <= o->repeats && !ap_interrupted && !R.input_error; rep++) {
		R.repeat = rep;
		uint64_t r0 = ap_now_ns();
		rc = run_pass(&R);
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
	rc = sink_drain(R.sink, true);
	st->interrupted = ap_interrupted != 0;
	if (!rc)
		rc = R.input_error;
out:
	for (int i = 0; R.loops && i < R.n_loops; i++)
		loop_free(R.loops[i]);
	sink_free(R.sink);
	free(R.loops);
	free(R.hungry);
	free(R.q);
	pthread_cond_destroy(&R.cv);
	pthread_mutex_destroy(&R.mu);
	return rc;
}

void run_state_free(struct run_state *st)
{
	run_agg_free(&st->agg);
}
