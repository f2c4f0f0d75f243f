/*
 * The one table of command-line options, its parser and every help text.
 * The profile overrides (--pue, --utilization ...) are profile.c's table
 * profile_options, taken by every command in SC_ACCT.
 */
#include "cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "capture.h"
#include "compare.h"
#include "energy.h"
#include "load/pad.h"
#include "load/schedule.h"
#include "load/slo.h"
#include "report.h"
#include "seed.h"
#include "workload.h"

#define FIELD(c, o, type) ((type *)((char *)(c) + (o)->off))
#define OFF(f) offsetof(struct cli_args, f)

int opt_str(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	*FIELD(c, o, const char *) = v;
	return 0;
}

int opt_flag(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	(void)v;
	*FIELD(c, o, bool) = true;
	return 0;
}

static int parse_range_long(const struct cli_opt *o, const char *v, long *out)
{
	long x;
	if (ap_parse_long(v, &x) || x < (long)o->lo || x > (long)o->hi) {
		ap_err("--%s: expected an integer in [%ld, %ld], got '%s'", o->name, (long)o->lo,
		       (long)o->hi, v);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

int opt_int(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	long x;
	if (parse_range_long(o, v, &x))
		return -EINVAL;
	*FIELD(c, o, int) = (int)x;
	return 0;
}

int opt_long(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	long x;
	if (parse_range_long(o, v, &x))
		return -EINVAL;
	*FIELD(c, o, long) = x;
	return 0;
}

static int parse_range_num(const struct cli_opt *o, const char *v, double *out)
{
	double x;
	if (ap_parse_double(v, &x) || x < o->lo || x > o->hi) {
		ap_err("--%s: expected a number in [%g, %g], got '%s'", o->name, o->lo, o->hi, v);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

int opt_num(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	double x;
	if (parse_range_num(o, v, &x))
		return -EINVAL;
	*FIELD(c, o, double) = x;
	return 0;
}

/* ---- the option-specific setters ---- */

static int set_workload(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	(void)o;
	if (c->n_workloads >= (int)AP_ARRAY_SIZE(c->workloads))
		return ap_err("--workload: at most %zu", AP_ARRAY_SIZE(c->workloads)), -EINVAL;
	c->workloads[c->n_workloads++] = v;
	return 0;
}

static int set_backend(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	(void)o;
	if (c->n_backends >= (int)AP_ARRAY_SIZE(c->backends))
		return ap_err("--backend: at most %zu", AP_ARRAY_SIZE(c->backends)), -EINVAL;
	c->backends[c->n_backends++] = v;
	return 0;
}

static int set_form(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	(void)o;
	if (!strcmp(v, "both")) {
		c->s.o.forms[FORM_MONO] = c->s.o.forms[FORM_DECOMP] = true;
	} else if (form_parse(v) >= 0) {
		c->s.o.forms[FORM_MONO] = c->s.o.forms[FORM_DECOMP] = false;
		c->s.o.forms[form_parse(v)] = true;
	} else {
		ap_err("--form: expected mono, decomp or both, got '%s'", v);
		return -EINVAL;
	}
	c->form_name = v;
	return 0;
}

static int set_seed(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	c->s.o.seed_set = true;
	return opt_long(c, o, v);
}

static int set_seed_policy(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	(void)o;
	if ((c->s.o.seed_policy = seed_policy_parse(v)) < 0) {
		ap_err("--seed-policy: expected per-attempt or fixed, got '%s'", v);
		return -EINVAL;
	}
	return 0;
}

static int set_escalate(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	(void)o;
	if ((c->escalate = escalate_parse(v)) < 0) {
		ap_err("--escalate-on: detectable or oracle (got '%s')", v);
		return -EINVAL;
	}
	return 0;
}

static int set_temperature(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	c->s.o.temp_set = true;
	return opt_num(c, o, v);
}

static int set_rate(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	if (!c->s.o.arrival)
		c->s.o.arrival = ARRIVAL_POISSON;
	return opt_num(c, o, v);
}

static int set_arrival(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	(void)o;
	int a = arrival_parse(v);
	if (a < 0) {
		ap_err("--arrival: expected poisson or constant, got '%s'", v);
		return -EINVAL;
	}
	c->s.o.arrival = a;
	return 0;
}

static int set_slo(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	(void)o;
	char msg[200];
	if (slo_parse(&c->slo, v, msg, sizeof(msg))) {
		ap_err("--slo: %s", msg);
		return -EINVAL;
	}
	c->s.o.slo = &c->slo;
	return 0;
}

static int set_run_id(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	if (!*v || strchr(v, '/') || !strcmp(v, ".") || !strcmp(v, "..")) {
		ap_err("--run-id: must be a plain folder name, got '%s'", v);
		return -EINVAL;
	}
	return opt_str(c, o, v);
}

static int set_interval(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	double ms;
	if (parse_range_num(o, v, &ms))
		return -EINVAL;
	c->s.eo.interval_s = ms / 1000.0;
	return 0;
}

static int set_watch(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	long pid;
	if (c->s.n_watch >= (int)AP_ARRAY_SIZE(c->s.watch))
		return ap_err("--watch-pid: at most %zu", AP_ARRAY_SIZE(c->s.watch)), -EINVAL;
	if (parse_range_long(o, v, &pid))
		return -EINVAL;
	c->s.watch[c->s.n_watch++] = (pid_t)pid;
	return 0;
}

static int set_cache(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	(void)o;
	if (strcmp(v, "warm") && strcmp(v, "cold"))
		return ap_err("--cache: expected warm or cold, got '%s'", v), -EINVAL;
	c->s.sv.cache_cold = !strcmp(v, "cold");
	return 0;
}

static int set_profile(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	(void)o;
	char err[512];
	if (profile_cli_add(&c->s.pc, v, err, sizeof(err)))
		return ap_err("%s", err), -EINVAL;
	return 0;
}

static int set_percentiles(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	(void)c, (void)o;
	char err[512];
	if (report_set_percentiles(v, err, sizeof(err)))
		return ap_err("%s", err), -EINVAL;
	return 0;
}

static int set_context(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	(void)o;
	if (pad_parse_size(v, &c->context)) {
		ap_err("--context: expected tokens, e.g. 5k or 25000 (at most 10M), got '%s'", v);
		return -EINVAL;
	}
	return 0;
}

static int set_retry(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	(void)o;
	if ((c->pov.retry = retry_mode_parse(v)) < 0) {
		ap_err("--retry: expected plain or repair, got '%s'", v);
		return -EINVAL;
	}
	return 0;
}

static int set_probes(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	char err[512];
	if (energy_probes_check(v, err, sizeof(err)))
		return ap_err("%s", err), -EINVAL;
	return opt_str(c, o, v);
}

static int set_judge(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	(void)c, (void)o;
	int m = judge_mode_parse(v);
	if (m < 0)
		return ap_err("--judge %s: expected tools, json, exact or auto", v), -EINVAL;
	capture_set_judge((enum judge_mode)m);
	return 0;
}

/* --agree and --capture-profile: only for replays of a capture (cmd/report.c checks). */
static int set_share_num(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	c->share_opts = true;
	return opt_num(c, o, v);
}

static int set_share_str(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	c->share_opts = true;
	return opt_str(c, o, v);
}

static int set_verbose(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	(void)c, (void)o, (void)v;
	ap_verbose++;
	return 0;
}

/* --help is handled by the parser itself (it needs the command). */
static int set_help(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	(void)c, (void)o, (void)v;
	return 1;
}

const struct cli_opt cli_options[] = {
	{ "workload", 'w', "FILE", SC_RUN,
	  "workload (native .jsonl, BFCL questions, or logged OpenAI requests;\n"
	  "prefix bfcl: / openai-log: to force; NAME = workloads/NAME.jsonl); repeatable",
	  set_workload },
	{ "answers", 0, "FILE", SC_RUN, "BFCL possible_answer file (default: possible_answer/<name>)",
	  opt_str, OFF(answers) },
	{ "judge", 0, "MODE", SC_RUN,
	  "capture replays (-w capture:FILE, from agentperf proxy): judge each reply against the "
	  "captured one by tools, json, exact or auto (default)",
	  set_judge },
	{ "cluster", 0, "embed:K", SC_RUN,
	  "capture replays: kinds of call by seeded k-means (K clusters, --seed) of the last user\n"
	  "messages' embeddings from the backend's /v1/embeddings (embed:K,url=URL,model=M for\n"
	  "another server)",
	  opt_str, OFF(cluster) },
	{ "backend", 'b', "SPEC", SC_RUN,
	  "KIND:key=value,... e.g. openai:url=http://127.0.0.1:8080/v1; repeatable\n"
	  "(kinds and their keys below, and in `agentperf list`)",
	  set_backend },
	{ "repeat", 'r', "N", SC_RUN, "repeat the whole workload N times (default 1)", opt_int,
	  OFF(s.o.repeats), 1, 100000 },
	{ "concurrency", 'c', "N", SC_RUN, "parallel episodes (default 1)", opt_int,
	  OFF(s.o.concurrency), 1, 4096 },
	{ "threads", 0, "N", SC_RUN,
	  "event-loop threads running the episodes (default: one per 256 episodes,\n"
	  "at most the CPUs and 3)",
	  opt_int, OFF(s.o.threads), 1, 256 },
	{ "warmup", 0, "N", SC_RUN, "run N tasks first, not counted (default 0)", opt_int,
	  OFF(s.o.warmup), 0, 1000000 },
	{ "form", 0, "F", SC_RUN | CMDBIT(CMD_DIFF),
	  "mono, decomp or both (default mono; decomp needs tasks with a decomposed\n"
	  "form; diff: mono or decomp)",
	  set_form },
	{ "tasks", 't', "GLOB", SC_RUN, "only tasks whose id matches GLOB", opt_str, OFF(s.o.filter) },
	{ "shard", 0, "I/N", SC_RUN,
	  "only shard I (0-based) of N of the (repeat, task) units; default: from a Slurm array "
	  "or a Kubernetes Indexed Job (SLURM_ARRAY_TASK_ID/COUNT, JOB_COMPLETION_INDEX with "
	  "AGENTPERF_SHARDS); join the folders with 'merge'",
	  opt_str, OFF(shard_opt) },
	{ "category", 0, "NAME", SC_RUN, "only tasks of this category", opt_str, OFF(s.o.category) },
	{ "seed", 0, "N", SC_RUN,
	  "base seed: each repeat and attempt gets its own, derived from it\n"
	  "(harness/seed.h; recorded per call in calls.csv)",
	  set_seed, OFF(s.o.seed), 0, 4294967295.0 },
	{ "seed-policy", 0, "P", SC_RUN, "per-attempt (default) or fixed (N on every call)",
	  set_seed_policy },
	{ "temperature", 0, "T", SC_RUN, "temperature passed to the backend", set_temperature,
	  OFF(s.o.temperature), 0, 10 },
	{ "max-attempts", 0, "N", SC_RUN, "attempts per task (overrides the workload's own)", opt_int,
	  OFF(pov.max_attempts), 1, 1000 },
	{ "retry", 0, "MODE", SC_RUN,
	  "plain (start again) or repair (tell the model why the check failed); overrides the "
	  "workload's own",
	  set_retry },
	{ "max-steps", 0, "N", SC_RUN, "model calls per attempt (overrides the workload's own)",
	  opt_int, OFF(pov.max_steps), 1, 1000 },
	{ "output", 'o', "DIR", SC_RUN, "results base folder (default results)", opt_str,
	  OFF(s.output) },
	{ "run-id", 0, "ID", SC_RUN,
	  "results folder name (default: time-backend-model-workload; with several\n"
	  "backends or workloads ID-LABEL-WORKLOAD, LABEL the backend's label= or kind)",
	  set_run_id, OFF(s.run_id) },
	{ "rate", 0, "R", SC_RUN,
	  "open loop: start tasks at R per second on a schedule (--arrival), whatever\n"
	  "the server does; -c caps those in flight, the rest queue (latency counts\n"
	  "from the arrival)",
	  set_rate, OFF(s.o.rate), 1e-6, 1e6 },
	{ "arrival", 0, "KIND", SC_RUN,
	  "poisson (default; seeded by --seed) or constant (one every 1/R s)", set_arrival },
	{ "duration", 0, "S", SC_RUN,
	  "with --rate: run the schedule for S seconds, cycling the workload", opt_num,
	  OFF(s.o.duration_s), 0.001, 31536000 },
	{ "ramp", 0, "S", SC_RUN,
	  "closed loop: start the first -c tasks of each pass evenly over S seconds\n"
	  "(one every S/c), not all at once; later tasks keep that stagger",
	  opt_num, OFF(s.o.ramp_s), 0.001, 3600 },
	{ "slo", 0, "LIST", SC_RUN,
	  "ttft=S,itl=S,e2e=S,task=S (any subset; ms suffix for milliseconds): judge each\n"
	  "task from its scheduled start; the report gives goodput",
	  set_slo },
	{ "tool-latency", 0, "MS", SC_RUN,
	  "a tool takes MS before it answers, where the workload says nothing\n"
	  "(tool_table latency_ms, tool_latency_ms)",
	  opt_num, OFF(s.o.tool_latency_ms), 0, 3600000 },
	{ "context", 0, "N", SC_RUN,
	  "pad each task's system prompt and tools to about N tokens (bytes/4) with neutral "
	  "material (5k, 25k)",
	  set_context },
	{ "resume", 0, "DIR", CMDBIT(CMD_RECORD),
	  "continue the run in DIR with its own options (finished tasks are not\n"
	  "run again; only -q and -v may be added)",
	  opt_str, OFF(s.resume) },
	{ "no-energy", 0, NULL, SC_RUN, "do not open energy probes", opt_flag, OFF(s.no_energy) },
	{ "probes", 0, "LIST", SC_RUN, "only these probes (comma list, see list)", set_probes,
	  OFF(s.eo.probes) },
	{ "interval", 'I', "MS", SC_RUN, "sampler interval (default: the probes' own minimum)",
	  set_interval, 0, 0.001, 3600000 },
	{ "idle", 0, "SECONDS", SC_RUN, "idle baseline before the run (default 2; 0 skips)", opt_num,
	  OFF(s.eo.idle_s), 0, 3600 },
	{ "watch-pid", 0, "PID", SC_RUN, "attribute this process's CPU time (the model server)",
	  set_watch, 0, 1, 4194304 },
	{ "watts-per-core", 0, "W", SC_RUN, "estimator: W per busy core (default: see list)", opt_num,
	  OFF(s.eo.watts_per_core), 0, 10000 },
	{ "idle-watts", 0, "W", SC_RUN, "estimator: machine idle W", opt_num, OFF(s.eo.idle_watts), 0,
	  100000 },
	{ "settle", 0, "S", SC_RUN,
	  "before the idle baseline, wait until device power varies by < 5 % over S s\n"
	  "(at most max(60, 10 S) s; meta.json energy.settle says how long)",
	  opt_num, OFF(s.settle_s), 0.1, 600 },
	{ "metrics-interval", 0, "S", SC_RUN,
	  "scrape the server's Prometheus /metrics every S s (default 1) into\n"
	  "samples.csv as server:* channels",
	  opt_num, OFF(s.sv.metrics_interval_s), 0.05, 3600 },
	{ "cache", 0, "MODE", SC_RUN,
	  "prefix cache: warm (the server's default) or cold (\"cache_prompt\": false in\n"
	  "every request: llama-server recomputes each prompt)",
	  set_cache },
	{ "profile", 0, "FILE", SC_ACCT,
	  "cost/energy profile: a local deployment and/or remote models\n"
	  "(NAME = workloads/profiles/NAME.json); repeatable",
	  set_profile },
	{ "sensitivity", 0, "FILE", CMDBIT(CMD_REPORT), "write J and $ over utilization x PUE as CSV",
	  opt_str, OFF(sensitivity) },
	{ "agree", 0, "X", CMDBIT(CMD_REPORT) | CMDBIT(CMD_DIFF),
	  "capture replays: the agreement share in [0, 1] a kind of call needs to count as "
	  "replaceable (default 0.9)",
	  set_share_num, OFF(agree), 0, 1 },
	{ "capture-profile", 0, "NAME", CMDBIT(CMD_REPORT) | CMDBIT(CMD_DIFF),
	  "capture replays: the profile of the captured (large) model", set_share_str,
	  OFF(cap_profile) },
	{ "csv", 0, "DIR", CMDBIT(CMD_REPORT) | CMDBIT(CMD_DIFF),
	  "write the figures as CSV files into DIR (diff: diff.csv, cascade.csv, sensitivity.csv, "
	  "paired.csv, over-tasks.csv; overrides honoured)",
	  opt_str, OFF(csv_dir) },
	{ "json", 0, "FILE", CMDBIT(CMD_REPORT) | CMDBIT(CMD_DIFF),
	  "write the report (diff: both runs, rows, paired tests, cascade) as JSON", opt_str,
	  OFF(json) },
	{ "escalate-on", 0, "WHEN", CMDBIT(CMD_DIFF),
	  "cascade: detectable (default: only failures visible at run time escalate;\n"
	  "silent wrong answers are delivered) or oracle (the ground-truth upper bound)",
	  set_escalate },
	{ "percentiles", 0, "LIST", SC_RUN | CMDBIT(CMD_REPORT) | CMDBIT(CMD_DIFF),
	  "latency percentiles to print, e.g. 50,90,99 (default 50,95)", set_percentiles },
	{ "quiet", 'q', NULL, SC_RUN, "no progress line", opt_flag, OFF(s.o.quiet) },
	{ "verbose", 'v', NULL, SC_ALL, "more messages (twice: debug)", set_verbose },
	{ "help", 'h', NULL, SC_ALL, "this help", set_help },
	{ NULL },
};

void cli_defaults(struct cli_args *c)
{
	memset(c, 0, sizeof(*c));
	c->s.o.repeats = 1;
	c->s.o.concurrency = 1;
	c->s.o.forms[FORM_MONO] = true;
	c->s.output = "results";
	c->s.eo.idle_s = 2;
	c->form_name = "mono";
	c->agree = 0.9;
	c->pov = (struct policy_override){ 0, -1, 0 };
}

FILE *cli_open_out(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		ap_err("cannot write %s: %s", path, strerror(errno));
	return f;
}

/* ---- did you mean ---- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 99;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *cli_did_you_mean(const char *s, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t bd = 99, lim = strlen(s) / 3 + 1;
	if (lim > 3)
		lim = 3;
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(s, names[i]);
		/* A prefix ("--conc") is a near miss too. */
		if (strlen(s) >= 3 && !strncmp(names[i], s, strlen(s)))
			d = 1;
		if (d < bd) {
			bd = d;
			best = names[i];
		}
	}
	return bd <= lim ? best : NULL;
}

/* ---- parser ---- */

static bool in_scope(uint32_t scope, const struct command *cmd)
{
	return scope & CMDBIT(cmd->id);
}

static bool takes_profile_options(const struct command *cmd)
{
	return in_scope(SC_ACCT, cmd);
}

/* The long names a command takes, for "did you mean"; returns how many. */
static size_t scope_names(const struct command *cmd, const char **names, size_t max)
{
	size_t n = 0;
	for (const struct cli_opt *o = cli_options; o->name && n < max; o++)
		if (in_scope(o->scope, cmd))
			names[n++] = o->name;
	for (const struct profile_option *p = profile_options; takes_profile_options(cmd) && p->name && n < max; p++)
		names[n++] = p->name;
	return n;
}

static void commands_taking(char *buf, size_t n, uint32_t scope)
{
	buf[0] = '\0';
	for (const struct command *c = commands; c->name; c++)
		if (scope & CMDBIT(c->id))
			snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", buf[0] ? ", " : "", c->name);
}

static int unknown_option(const struct command *cmd, const char *given, const char *name)
{
	for (const struct cli_opt *o = cli_options; o->name; o++)
		if (!strcmp(o->name, name)) {
			char which[256];
			commands_taking(which, sizeof(which), o->scope);
			ap_err("%s: option '%s' is not one of its options (it is for: %s); see "
			       "'agentperf %s --help'",
			       cmd->name, given, which, cmd->name);
			return -EINVAL;
		}
	for (const struct profile_option *p = profile_options; p->name; p++)
		if (!strcmp(p->name, name)) {
			ap_err("%s: option '%s' is not one of its options (profile overrides are for: "
			       "stat, record, report, diff)", cmd->name, given);
			return -EINVAL;
		}
	const char *names[256];
	size_t n = scope_names(cmd, names, AP_ARRAY_SIZE(names));
	const char *near = cli_did_you_mean(name, names, n);
	if (near)
		ap_err("%s: unrecognized option '%s'; did you mean '--%s'?", cmd->name, given, near);
	else
		ap_err("%s: unrecognized option '%s' (see 'agentperf %s --help')", cmd->name, given,
		       cmd->name);
	return -EINVAL;
}

/* Applies one option with its value (NULL for a flag); 1: --help. */
static int apply(struct cli_args *c, const struct cli_opt *o, const char *v)
{
	return o->set(c, o, v);
}

static int apply_profile(struct cli_args *c, const char *name, const char *v)
{
	char err[512];
	if (profile_override_set(&c->s.pc.ov, name, v, err, sizeof(err)))
		return ap_err("%s", err), -EINVAL;
	return 0;
}

static int parse_long_opt(const struct command *cmd, struct cli_args *c, int argc, char **argv,
			  int *i)
{
	const char *a = argv[*i];
	char name[128];
	const char *eq = strchr(a + 2, '=');
	size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
	if (len >= sizeof(name))
		len = sizeof(name) - 1;
	memcpy(name, a + 2, len);
	name[len] = '\0';
	const struct cli_opt *o = NULL;
	for (const struct cli_opt *x = cli_options; x->name; x++)
		if (!strcmp(x->name, name) && in_scope(x->scope, cmd)) {
			o = x;
			break;
		}
	bool prof = false;
	if (!o && takes_profile_options(cmd))
		for (const struct profile_option *p = profile_options; p->name; p++)
			if (!strcmp(p->name, name))
				prof = true;
	if (!o && !prof)
		return unknown_option(cmd, a, name);
	const char *v = NULL;
	if (prof || o->arg) {
		if (eq) {
			v = eq + 1;
		} else if (*i + 1 < argc) {
			v = argv[++*i];
		} else {
			ap_err("--%s needs a value (%s)", name, prof ? "a number" : o->arg);
			return -EINVAL;
		}
	} else if (eq) {
		ap_err("--%s takes no value, got '%s'", name, a);
		return -EINVAL;
	}
	return prof ? apply_profile(c, name, v) : apply(c, o, v);
}

static int parse_short_opts(const struct command *cmd, struct cli_args *c, int argc, char **argv,
			    int *i)
{
	const char *a = argv[*i];
	for (const char *p = a + 1; *p; p++) {
		const struct cli_opt *o = NULL;
		for (const struct cli_opt *x = cli_options; x->name; x++)
			if (x->short_name == *p && in_scope(x->scope, cmd)) {
				o = x;
				break;
			}
		if (!o) {
			char given[3] = { '-', *p, '\0' };
			for (const struct cli_opt *x = cli_options; x->name; x++)
				if (x->short_name == *p)
					return unknown_option(cmd, given, x->name);
			ap_err("%s: unrecognized option '%s' (see 'agentperf %s --help')", cmd->name,
			       given, cmd->name);
			return -EINVAL;
		}
		if (!o->arg) {
			int rc = apply(c, o, NULL);
			if (rc)
				return rc;
			continue;
		}
		/* -r3 or -r 3: the rest of this word, else the next one. */
		const char *v = p[1] ? p + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
		if (!v) {
			ap_err("-%c (--%s) needs a value (%s)", *p, o->name, o->arg);
			return -EINVAL;
		}
		return apply(c, o, v);
	}
	return 0;
}

int cli_parse(const struct command *cmd, int argc, char **argv, struct cli_args *c)
{
	bool opts_done = false;
	c->cmd = cmd;
	c->n_pos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc = 0;
		if (!opts_done && !strcmp(a, "--")) {
			opts_done = true;
			continue;
		}
		if (opts_done || a[0] != '-' || !a[1]) {
			if (c->n_pos >= CLI_MAX_POS)
				return ap_err("%s: too many arguments", cmd->name), -EINVAL;
			c->pos[c->n_pos++] = a;
			continue;
		}
		rc = a[1] == '-' ? parse_long_opt(cmd, c, argc, argv, &i)
				 : parse_short_opts(cmd, c, argc, argv, &i);
		if (rc == 1) {
			cli_command_help(stdout, cmd);
			return 1;
		}
		if (rc)
			return rc;
	}
	if (c->n_pos < cmd->min_pos || c->n_pos > cmd->max_pos) {
		if (c->n_pos > cmd->max_pos)
			ap_err("%s: unexpected argument '%s'", cmd->name, c->pos[cmd->max_pos]);
		else
			ap_err("%s: expected %s", cmd->name, cmd->args);
		ap_err("usage: agentperf %s%s%s [options] (see 'agentperf %s --help')", cmd->name,
		       cmd->args[0] ? " " : "", cmd->args, cmd->name);
		return -EINVAL;
	}
	return 0;
}

/* ---- help ---- */

/* Words of text from column col on, wrapped at 79 columns with `indent` spaces. */
static void print_wrapped(FILE *f, const char *text, int col, int indent)
{
	const char *p = text;
	bool first = true;
	while (*p) {
		while (*p == ' ' || *p == '\n')
			p++;
		size_t w = strcspn(p, " \n");
		if (!w)
			break;
		if (!first && col + 1 + (int)w > 79) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (!first) {
			fputc(' ', f);
			col++;
		}
		first = false;
		fprintf(f, "%.*s", (int)w, p);
		col += (int)w;
		p += w;
	}
	fputc('\n', f);
}

static void print_opt(FILE *f, const char *name, char short_name, const char *arg, const char *help)
{
	char head[96];
	snprintf(head, sizeof(head), "%c%c%s--%s%s%s", short_name ? '-' : ' ',
		 short_name ? short_name : ' ', short_name ? ", " : "  ", name, arg ? " " : "",
		 arg ? arg : "");
	int col = strlen(head) > 24 ? fprintf(f, "  %s\n%27s", head, "") - (int)strlen(head) - 3
				    : fprintf(f, "  %-24s ", head);
	print_wrapped(f, help, col, 27);
}

static void print_backend_kinds(FILE *f)
{
	fprintf(f, "\nbackend kinds and their keys (-b KIND:key=value,...):\n");
	for (const struct backend_kind *k = backend_kinds; k->name; k++) {
		fprintf(f, "  %s: ", k->name);
		print_wrapped(f, k->desc, (int)strlen(k->name) + 4, 4);
		fprintf(f, "   ");
		int col = 3;
		for (const struct backend_key *bk = backend_keys; bk->name; bk++) {
			if (!(bk->kinds & k->bit))
				continue;
			int w = (int)strlen(bk->name) + 1;
			if (col + w > 78) {
				fprintf(f, "\n   ");
				col = 3;
			}
			fprintf(f, " %s", bk->name);
			col += w;
		}
		fputc('\n', f);
	}
}

/* The options of the commands in `scope` whose scope is exactly `exact`. */
static void print_opts_of(FILE *f, const struct command *cmd)
{
	for (const struct cli_opt *o = cli_options; o->name; o++)
		if (in_scope(o->scope, cmd) && o->scope != SC_ALL)
			print_opt(f, o->name, o->short_name, o->arg, o->help);
	if (takes_profile_options(cmd)) {
		fprintf(f, "\ncost and energy accounting (overrides of the profiles' values):\n");
		for (const struct profile_option *p = profile_options; p->name; p++)
			print_opt(f, p->name, 0, "X", p->help);
	}
	fprintf(f, "\n");
	for (const struct cli_opt *o = cli_options; o->name; o++)
		if (o->scope == SC_ALL)
			print_opt(f, o->name, o->short_name, o->arg, o->help);
}

void cli_command_help(FILE *f, const struct command *cmd)
{
	fprintf(f, "usage: agentperf %s%s%s [options]\n\n", cmd->name, cmd->args[0] ? " " : "",
		cmd->args);
	print_wrapped(f, cmd->summary, 0, 0);
	if (cmd->help)
		print_wrapped(f, cmd->help, 0, 0);
	fprintf(f, "\noptions:\n");
	print_opts_of(f, cmd);
	if (in_scope(SC_RUN, cmd))
		print_backend_kinds(f);
}

void cli_main_help(FILE *f)
{
	fprintf(f, "usage: agentperf <command> [options]  (agentperf <command> --help: its options)\n"
		   "\ncommands:\n");
	for (const struct command *c = commands; c->name; c++) {
		char head[64];
		snprintf(head, sizeof(head), "%s%s%s", c->name, c->args[0] ? " " : "", c->args);
		print_wrapped(f, c->summary, fprintf(f, "  %-20s ", head), 23);
	}
	/* Every option once, under the commands that take it. */
	uint32_t done[64];
	size_t n_done = 0;
	for (const struct cli_opt *o = cli_options; o->name; o++) {
		bool seen = false;
		for (size_t i = 0; i < n_done; i++)
			seen |= done[i] == o->scope;
		if (seen || n_done >= AP_ARRAY_SIZE(done))
			continue;
		done[n_done++] = o->scope;
		char which[256];
		if (o->scope == SC_ALL)
			snprintf(which, sizeof(which), "every command");
		else
			commands_taking(which, sizeof(which), o->scope);
		fprintf(f, "\noptions of %s:\n", which);
		for (const struct cli_opt *x = o; x->name; x++)
			if (x->scope == o->scope)
				print_opt(f, x->name, x->short_name, x->arg, x->help);
		if (o->scope == SC_ACCT)
			for (const struct profile_option *p = profile_options; p->name; p++)
				print_opt(f, p->name, 0, "X", p->help);
	}
	print_backend_kinds(f);
	fprintf(f, "\n  --version                    the version and commit\n");
}
