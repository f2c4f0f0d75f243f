/* agentperf: the command line. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "energy.h"
#include "guard.h"
#include "managed.h"
#include "compare.h"
#include "table.h"
#include "jsonv.h"
#include "cost.h"
#include "meta.h"
#include "proxy.h"
#include "capture.h"
#include "report.h"
#include "results.h"
#include "resume.h"
#include "merge.h"
#include "runner.h"
#include "shard.h"
#include "workload.h"
#include "load/pad.h"
#include "load/sweep.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: agentperf <command> [options]\n"
		"\n"
		"commands:\n"
		"  list                 backends, workloads found, energy probes and their status\n"
		"  stat                 run workload(s) against backend(s), print the report\n"
		"  record               like stat, and write results/<run-id>/\n"
		"  report DIR           print the report of a results folder again; with profile\n"
		"                       options, recompute cost and energy under other values\n"
		"                       (--sensitivity FILE writes J and $ over utilization x PUE;\n"
		"                       --json FILE, --csv DIR, --percentiles LIST)\n"
		"  merge OUT DIR...     join the folders of a sharded run into one run in OUT\n"
		"                       (--allow-partial: some shards missing)\n"
		"  diff A B             two results folders side by side: per-success J and $ with\n"
		"                       ratio and noise, breakeven success rate, cascade what-if\n"
		"                       (--csv DIR writes diff.csv, cascade.csv, sensitivity.csv,\n"
		"                       paired.csv, over-tasks.csv; --json FILE)\n"
		"  table RUN...         many runs in one table with 95 %% intervals over tasks\n"
		"                       (--md, --latex, --csv, --by category; table --help)\n"
		"  proxy                capture an agent's model calls: a pass-through proxy\n"
		"                       (agentperf proxy --help)\n"
		"\n"
		"stat/record options:\n"
		"  -w, --workload FILE    workload (native .jsonl, BFCL questions, or logged OpenAI\n"
		"                         requests; prefix bfcl: / openai-log: to force); repeatable\n"
		"      --answers FILE     BFCL possible_answer file (default: possible_answer/<name>)\n"
		"      --judge MODE       capture: replays (-w capture:FILE, from agentperf proxy):\n"
		"                         judge each reply against the captured one by tools,\n"
		"                         json, exact or auto (default)\n"
		"  -b, --backend SPEC     kind:key=value,... e.g. openai:url=http://127.0.0.1:8080/v1\n"
		"                         (keys: url model key_env stream timeout connect_timeout\n"
		"                         retries retry_wait_max insecure max_body label); repeatable\n"
		"                         or llama-server:model=PATH.gguf[,threads=N,ctx=N,np=N,\n"
		"                         bin=PATH,startup_timeout=S] (np: slots, default -c): agentperf starts and stops the server\n"
		"  -r, --repeat N         repeat the whole workload N times (default 1)\n"
		"  -c, --concurrency N    parallel episodes (default 1)\n"
		"      --warmup N         run N tasks first, not counted (default 0)\n"
		"      --form F           mono, decomp or both (default mono; decomp needs tasks\n"
		"                         with a decomposed form)\n"
		"  -t, --tasks GLOB       only tasks whose id matches GLOB\n"
		"      --shard I/N        only shard I (0-based) of N of the (repeat, task) units;\n"
		"                         default: from a Slurm array or a Kubernetes Indexed Job\n"
		"                         (SLURM_ARRAY_TASK_ID/COUNT, JOB_COMPLETION_INDEX with\n"
		"                         AGENTPERF_SHARDS); join the folders with 'merge'\n"
		"      --category NAME    only tasks of this category\n"
		"      --seed N           seed passed to the backend\n"
		"      --temperature T    temperature passed to the backend\n"
		"      --max-attempts N   attempts per task (overrides the workload's own)\n"
		"      --retry MODE       plain (start again) or repair (tell the model why the\n"
		"                         check failed); overrides the workload's own\n"
		"      --max-steps N      model calls per attempt (overrides the workload's own)\n"
		"  -o, --output DIR       results base folder (default results)\n"
		"      --run-id ID        results folder name (default: time-backend-workload)\n"
		"      --context N        pad each task's system prompt and tools to about N\n"
		"                         tokens (bytes/4) with neutral material (5k, 25k)\n"
		"      --resume DIR       record: continue the run in DIR (its own options;\n"
		"                         finished tasks are not run again)\n"
		"      --no-energy        do not open energy probes\n"
		"      --probes LIST      only these probes (see list)\n"
		"  -I, --interval MS      sampler interval (default: the probes' own minimum)\n"
		"      --idle SECONDS     idle baseline before the run (default 2; 0 skips)\n"
		"      --watch-pid PID    attribute this process's CPU time (the model server)\n"
		"      --watts-per-core W estimator: W per busy core (default: see list)\n"
		"      --idle-watts W     estimator: machine idle W\n"
		"  -q, --quiet            no progress line\n"
		"  -v, --verbose          more messages (twice: debug)\n"
		"\ncost and energy accounting (stat, record, report, diff):\n");
	profile_cli_usage(f);
}

static volatile sig_atomic_t signals_seen;
static void on_signal(int sig)
{
	(void)sig;
	ap_interrupted = 1;
	/* A second Ctrl-C means "now": the partial results are already on disk. */
	if (++signals_seen >= 2)
		_exit(130);
}

struct cli {
	const char *workloads[32];
	int n_workloads;
	const char *answers;
	const char *backends[32];
	int n_backends;
	struct run_opts o;
	const char *output;
	const char *run_id;
	bool no_energy;
	struct energy_opts eo;
	pid_t watch[16];
	int n_watch;
	struct profile_cli pc; /* --profile and overrides (profile.c) */
	long context;          /* --context: pad tasks to this many tokens, 0: no */
	struct policy_override pov; /* --max-attempts, --retry, --max-steps */
	const char *shard_opt; /* --shard I/N, or NULL: from the environment */
	struct shard shard;
	/* --resume DIR: the options come from DIR/meta.json's argv (kept alive here,
	 * getopt's optarg points into it); see resume_cli(). */
	const char *resume;
	bool refused; /* a run folder could not be made or resumed: exit 2 */
	cJSON *resume_meta;
	char **resume_argv;
	int resume_argc;
};

static int parse_int(const char *opt, const char *v, long lo, long hi, long *out)
{
	long x;
	if (ap_parse_long(v, &x) || x < lo || x > hi) {
		ap_err("%s: expected an integer in [%ld, %ld], got '%s'", opt, lo, hi, v);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

static int parse_num(const char *opt, const char *v, double lo, double hi, double *out)
{
	double x;
	if (ap_parse_double(v, &x) || x < lo || x > hi) {
		ap_err("%s: expected a number in [%g, %g], got '%s'", opt, lo, hi, v);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

static int parse_run_args(int argc, char **argv, struct cli *c)
{
	enum { O_ANSWERS = 256, O_WARMUP, O_FORM, O_CATEGORY, O_SEED, O_TEMP, O_RUNID, O_NOENERGY,
	       O_PROBES, O_IDLE, O_WATCH, O_WPC, O_IDLEW, O_RESUME, O_PROFILE, O_CONTEXT,
	       O_PROFOPT, O_MAXATT, O_RETRY, O_MAXSTEPS, O_SHARD, O_JUDGE };
	static const struct option opts[] = {
		{ "workload", required_argument, 0, 'w' },
		{ "answers", required_argument, 0, O_ANSWERS },
		{ "judge", required_argument, 0, O_JUDGE },
		{ "backend", required_argument, 0, 'b' },
		{ "repeat", required_argument, 0, 'r' },
		{ "concurrency", required_argument, 0, 'c' },
		{ "warmup", required_argument, 0, O_WARMUP },
		{ "form", required_argument, 0, O_FORM },
		{ "tasks", required_argument, 0, 't' },
		{ "shard", required_argument, 0, O_SHARD },
		{ "category", required_argument, 0, O_CATEGORY },
		{ "seed", required_argument, 0, O_SEED },
		{ "temperature", required_argument, 0, O_TEMP },
		{ "max-attempts", required_argument, 0, O_MAXATT },
		{ "retry", required_argument, 0, O_RETRY },
		{ "max-steps", required_argument, 0, O_MAXSTEPS },
		{ "output", required_argument, 0, 'o' },
		{ "run-id", required_argument, 0, O_RUNID },
		{ "no-energy", no_argument, 0, O_NOENERGY },
		{ "probes", required_argument, 0, O_PROBES },
		{ "interval", required_argument, 0, 'I' },
		{ "idle", required_argument, 0, O_IDLE },
		{ "watch-pid", required_argument, 0, O_WATCH },
		{ "watts-per-core", required_argument, 0, O_WPC },
		{ "idle-watts", required_argument, 0, O_IDLEW },
		{ "resume", required_argument, 0, O_RESUME },
		{ "context", required_argument, 0, O_CONTEXT },
		{ "profile", required_argument, 0, O_PROFILE },
		PROFILE_GETOPT_ENTRIES(O_PROFOPT),
		{ "quiet", no_argument, 0, 'q' },
		{ "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	long l;
	double d;
	int ch;
	c->o.repeats = 1;
	c->o.concurrency = 1;
	c->o.forms[FORM_MONO] = true;
	c->output = "results";
	c->eo.idle_s = 2;
	c->pov = (struct policy_override){ 0, -1, 0 };
	optind = 1;
	int li = 0;
	char perr[512];
	while ((ch = getopt_long(argc, argv, "w:b:r:c:t:o:I:qvh", opts, &li)) != -1) {
		switch (ch) {
		case 'w':
			if (c->n_workloads >= 32)
				return ap_err("too many workloads"), -EINVAL;
			c->workloads[c->n_workloads++] = optarg;
			break;
		case O_ANSWERS: c->answers = optarg; break;
		case O_JUDGE: {
			int m = judge_mode_parse(optarg);
			if (m < 0)
				return ap_err("--judge %s: expected tools, json, exact or auto", optarg),
				       -EINVAL;
			capture_set_judge((enum judge_mode)m);
			break;
		}
		case 'b':
			if (c->n_backends >= 32)
				return ap_err("too many backends"), -EINVAL;
			c->backends[c->n_backends++] = optarg;
			break;
		case 'r':
			if (parse_int("--repeat", optarg, 1, 100000, &l))
				return -EINVAL;
			c->o.repeats = (int)l;
			break;
		case 'c':
			if (parse_int("--concurrency", optarg, 1, 4096, &l))
				return -EINVAL;
			c->o.concurrency = (int)l;
			break;
		case O_WARMUP:
			if (parse_int("--warmup", optarg, 0, 1000000, &l))
				return -EINVAL;
			c->o.warmup = (int)l;
			break;
		case O_FORM:
			if (!strcmp(optarg, "both")) {
				c->o.forms[FORM_MONO] = c->o.forms[FORM_DECOMP] = true;
			} else if (form_parse(optarg) >= 0) {
				c->o.forms[FORM_MONO] = c->o.forms[FORM_DECOMP] = false;
				c->o.forms[form_parse(optarg)] = true;
			} else {
				ap_err("--form: expected mono, decomp or both, got '%s'", optarg);
				return -EINVAL;
			}
			break;
		case 't': c->o.filter = optarg; break;
		case O_SHARD: c->shard_opt = optarg; break;
		case O_CATEGORY: c->o.category = optarg; break;
		case O_SEED:
			if (parse_int("--seed", optarg, 0, 4294967295L, &l))
				return -EINVAL;
			c->o.seed = l;
			c->o.seed_set = true;
			break;
		case O_TEMP:
			if (parse_num("--temperature", optarg, 0, 10, &d))
				return -EINVAL;
			c->o.temperature = d;
			c->o.temp_set = true;
			break;
		case O_MAXATT:
			if (parse_int("--max-attempts", optarg, 1, 1000, &l))
				return -EINVAL;
			c->pov.max_attempts = (int)l;
			break;
		case O_RETRY:
			if ((c->pov.retry = retry_mode_parse(optarg)) < 0) {
				ap_err("--retry: expected plain or repair, got '%s'", optarg);
				return -EINVAL;
			}
			break;
		case O_MAXSTEPS:
			if (parse_int("--max-steps", optarg, 1, 1000, &l))
				return -EINVAL;
			c->pov.max_steps = (int)l;
			break;
		case 'o': c->output = optarg; break;
		case O_RUNID:
			if (!*optarg || strchr(optarg, '/') || !strcmp(optarg, ".") || !strcmp(optarg, "..")) {
				ap_err("--run-id: must be a plain folder name, got '%s'", optarg);
				return -EINVAL;
			}
			c->run_id = optarg;
			break;
		case O_NOENERGY: c->no_energy = true; break;
		case O_PROBES:
			if (energy_probes_check(optarg, perr, sizeof(perr))) {
				ap_err("%s", perr);
				return -EINVAL;
			}
			c->eo.probes = optarg;
			break;
		case 'I':
			if (parse_num("--interval", optarg, 0.001, 3600000, &d))
				return -EINVAL;
			c->eo.interval_s = d / 1000.0;
			break;
		case O_IDLE:
			if (parse_num("--idle", optarg, 0, 3600, &d))
				return -EINVAL;
			c->eo.idle_s = d;
			break;
		case O_WATCH:
			if (c->n_watch >= 16 || parse_int("--watch-pid", optarg, 1, 4194304, &l))
				return -EINVAL;
			c->watch[c->n_watch++] = (pid_t)l;
			break;
		case O_WPC:
			if (parse_num("--watts-per-core", optarg, 0, 10000, &d))
				return -EINVAL;
			c->eo.watts_per_core = d;
			break;
		case O_IDLEW:
			if (parse_num("--idle-watts", optarg, 0, 100000, &d))
				return -EINVAL;
			c->eo.idle_watts = d;
			break;
		case O_RESUME: c->resume = optarg; break;
		case O_CONTEXT:
			if (pad_parse_size(optarg, &c->context)) {
				ap_err("--context: expected tokens, e.g. 5k or 25000 (at most 10M), got '%s'",
				       optarg);
				return -EINVAL;
			}
			break;
		case O_PROFILE:
		case O_PROFOPT:
			if ((ch == O_PROFILE ? profile_cli_add(&c->pc, optarg, perr, sizeof(perr))
					     : profile_override_set(&c->pc.ov, opts[li].name, optarg, perr,
								    sizeof(perr)))) {
				ap_err("%s", perr);
				return -EINVAL;
			}
			break;
		case 'q': c->o.quiet = true; break;
		case 'v': ap_verbose++; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		ap_err("unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (shard_resolve(&c->shard, c->shard_opt, perr, sizeof(perr))) {
		ap_err("%s", perr);
		return -EINVAL;
	}
	if (c->shard.count)
		c->o.shard = &c->shard;
	if (c->resume) {
		if (c->n_workloads || c->n_backends) {
			ap_err("--resume: the workload and backend come from the run's meta.json; "
			       "give only --resume DIR (and -q, -v)");
			return -EINVAL;
		}
		return 0;
	}
	if (!c->n_workloads) {
		ap_err("no workload: give one with -w FILE (see 'agentperf list')");
		return -EINVAL;
	}
	if (!c->n_backends) {
		ap_err("no backend: give one with -b SPEC, e.g. -b openai:url=http://127.0.0.1:8080/v1");
		return -EINVAL;
	}
	return 0;
}

static void sanitize(char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			*s = '_';
}

static void make_run_id(char *buf, size_t n, const struct backend *b, const struct workload *wl)
{
	time_t t = time(NULL);
	struct tm tm;
	char ts[32];
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y%m%d-%H%M%S", &tm);
	snprintf(buf, n, "%s-%s-%s-%s", ts, b->managed ? "llama-server" : b->ops->name, b->model, wl->name ? wl->name : "workload");
	sanitize(buf);
}

static void resume_cli_free(struct cli *c)
{
	for (int i = 0; c->resume_argv && i < c->resume_argc; i++)
		free(c->resume_argv[i]);
	free(c->resume_argv);
	cJSON_Delete(c->resume_meta);
}

/*
 * --resume DIR: re-parses the run's own command line from meta.json, so
 * every option (repeats, seed, forms, filter, energy ...) is the original
 * one, then pins the workload and backend to the ones this folder recorded
 * (a multi-workload command wrote one folder per pair). Returns 0 or -errno.
 */
static int resume_cli(struct cli *c)
{
	struct ap_error err = { { 0 } };
	struct cli r = { 0 };
	const cJSON *x;
	int rc = resume_read_meta(c->resume, &r.resume_meta, &err);
	if (rc) {
		ap_err("--resume: %s", err.msg);
		return rc;
	}
	const cJSON *av = cJSON_GetObjectItemCaseSensitive(r.resume_meta, "argv");
	r.resume_argv = calloc((size_t)cJSON_GetArraySize(av) + 1, sizeof(char *));
	if (!r.resume_argv) {
		rc = -ENOMEM;
		goto fail;
	}
	cJSON_ArrayForEach(x, av)
		if (!(r.resume_argv[r.resume_argc++] = strdup(x->valuestring))) {
			rc = -ENOMEM;
			goto fail;
		}
	if (strcmp(r.resume_argv[1], "record")) {
		ap_err("--resume: %s/meta.json was not written by 'agentperf record'", c->resume);
		rc = -EINVAL;
		goto fail;
	}
	int verbose = ap_verbose;
	if ((rc = parse_run_args(r.resume_argc - 1, r.resume_argv + 1, &r))) {
		ap_err("--resume: the recorded command line no longer parses");
		goto fail;
	}
	ap_verbose = verbose > ap_verbose ? verbose : ap_verbose;
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(r.resume_meta, "workload");
	const cJSON *ans = cJSON_GetObjectItemCaseSensitive(w, "answers_path");
	r.workloads[0] = cJSON_GetObjectItemCaseSensitive(w, "path")->valuestring;
	r.n_workloads = 1;
	r.answers = cJSON_IsString(ans) ? ans->valuestring : NULL;
	r.backends[0] = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(r.resume_meta, "backend"), "spec")
				->valuestring;
	if (strstr(r.backends[0], AP_REDACTED)) {
		ap_err("--resume: the run's URL held credentials, which meta.json does not keep "
		       "(%s); give the key with key_env=VAR and start a new run", r.backends[0]);
		rc = -EINVAL;
		goto fail;
	}
	r.n_backends = 1;
	r.resume = c->resume;
	r.o.quiet |= c->o.quiet;
	/* A shard taken from the environment is not in argv: take it from meta.json. */
	const cJSON *sh = cJSON_GetObjectItemCaseSensitive(r.resume_meta, "shard");
	if (sh) {
		r.shard.index = (int)jv_num_or(sh, "index", 0);
		r.shard.count = (int)jv_num_or(sh, "count", 0);
		r.shard.source = shard_source_parse(jv_str_or(sh, "source", "option"));
		snprintf(r.shard.detail, sizeof(r.shard.detail), "resumed from %s/meta.json", c->resume);
		r.o.shard = r.shard.count ? &r.shard : NULL;
	}
	*c = r;
	if (c->o.shard)
		c->o.shard = &c->shard;
	return 0;
fail:
	resume_cli_free(&r);
	return rc;
}

/* A resumed run's meta.json keeps the first start and counts the resumes. */
static void resume_meta_merge(cJSON *meta, const cJSON *old)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(old, "started_utc");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(old, "resumed");
	if (cJSON_IsString(st))
		cJSON_ReplaceItemInObjectCaseSensitive(meta, "started_utc",
						       cJSON_CreateString(st->valuestring));
	cJSON_AddNumberToObject(meta, "resumed", cJSON_IsNumber(n) ? n->valuedouble + 1 : 1);
}

/* One workload against one backend. */
static int run_one(int argc, char **argv, struct cli *c, struct workload *wl, struct backend *be,
		   bool record)
{
	int rc = 0;
	struct ap_error err = { { 0 } };
	struct results *res = NULL;
	struct energy *en = NULL;
	struct run_state st = { 0 };
	cJSON *meta = NULL;
	char run_id[256], samples[4400];
	struct run_opts o = c->o;
	struct resume_set *skip = NULL;
	struct managed_server *ms = NULL;
	o.wl = wl;
	o.be = be;
	if (record && c->resume) {
		/* The folder is locked (results_open_existing) before its CSVs are repaired. */
		if ((rc = results_open_existing(&res, c->resume, &err)) ||
		    (rc = resume_prepare(c->resume, &skip, &err)) ||
		    (rc = results_reopen_csvs(res, &err))) {
			ap_err("--resume: %s", err.msg);
			c->refused = true; /* nothing ran: a usage error, exit 2 */
			goto out;
		}
		ap_info("resuming %s: %zu tasks already finished, %zu partial rows dropped", c->resume,
			resume_finished(skip), resume_dropped(skip));
		o.out = res;
		o.skip = skip;
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(c->resume_meta, "run_id");
		snprintf(run_id, sizeof(run_id), "%s", cJSON_IsString(id) ? id->valuestring : "");
	} else if (record) {
		if (c->run_id && (c->n_workloads > 1 || c->n_backends > 1)) {
			snprintf(run_id, sizeof(run_id), "%s-%s-%s", c->run_id, be->managed ? "llama-server" : be->ops->name,
				 wl->name ? wl->name : "w");
			sanitize(run_id);
		} else if (c->run_id) {
			snprintf(run_id, sizeof(run_id), "%s", c->run_id);
		} else {
			make_run_id(run_id, sizeof(run_id), be, wl);
		}
		if ((rc = results_create(&res, c->output, run_id, &err))) {
			ap_err("%s", err.msg);
			c->refused = true;
			goto out;
		}
		o.out = res;
	}
	if (!c->no_energy) {
		struct energy_opts eo = c->eo;
		if (res && !results_path(res, "samples.csv", samples, sizeof(samples)))
			eo.samples_csv = samples;
		if ((rc = energy_open(&en, &eo))) {
			ap_err("energy probes: %s", strerror(-rc));
			goto out;
		}
		for (int i = 0; i < c->n_watch; i++)
			energy_watch_pid(en, c->watch[i]);
		o.energy = en;
		if (res) {
			/* The CSVs carry the short provenance tag; meta.json the full text. */
			struct energy_summary es;
			energy_summarize(en, &es);
			char tag[128];
			ap_scopy(tag, sizeof(tag), es.have_device ? es.device_provenance : "none");
			tag[strcspn(tag, " ")] = '\0';
			results_set_energy_source(res, tag);
		}
	}
	meta = meta_new(argc, argv, record ? run_id : NULL, &o, &st);
	if (!meta) {
		rc = -ENOMEM;
		goto out;
	}
	if (c->pc.n_files) {
		/* In meta.json so that `report` can recompute under other values. */
		struct profile_set ps;
		char perr[512];
		if ((rc = profile_cli_resolve(&c->pc, be->model, be->url, &ps, perr, sizeof(perr)))) {
			ap_err("%s", perr);
			goto out;
		}
		profile_set_store(meta, &ps);
	}
	if (skip)
		resume_meta_merge(meta, c->resume_meta);
	if (res && (rc = results_write_meta(res, meta))) {
		ap_err("cannot write meta.json: %s", strerror(-rc));
		goto out;
	}
	double samples_zero = NAN;
	if (en) {
		if (c->eo.idle_s > 0 && (rc = energy_baseline(en))) {
			ap_err("idle baseline failed: %s", strerror(-rc));
			goto out;
		}
		/* Read just before the first sample: merge lines shards' samples up by it. */
		samples_zero = (double)ap_wall_ns() * 1e-9;
		if ((rc = energy_start(en))) {
			ap_err("cannot start the sampler: %s", strerror(-rc));
			goto out;
		}
	}
	/* A managed llama-server loads its model after the baseline, inside the sampled span. */
	bool stopped_early = false;
	if (be->managed && !ap_interrupted &&
	    (rc = managed_run_begin(&ms, be, be->managed->np ? be->managed->np : o.concurrency,
				    res, en, meta, &err))) {
		ap_err("%s", err.msg);
		if (!ap_interrupted)
			goto out;
		stopped_early = true; /* Ctrl-C during the load: an interrupted run, written whole */
	}
	if (!stopped_early && ap_interrupted)
		stopped_early = true; /* Ctrl-C during the idle baseline */
	if (stopped_early) {
		rc = run_agg_init(&st.agg, o.repeats);
		st.interrupted = true;
	} else {
		rc = run_workload(&o, &st, &err);
		if (rc && err.msg[0])
			ap_err("%s", err.msg);
	}
	cJSON *ej = NULL;
	if (en) {
		struct energy_summary es;
		energy_stop(en);
		managed_collect_energy(ms, en);
		energy_summarize(en, &es);
		managed_energy_adjust(ms, &es);
		ej = energy_summary_json(&es, energy_meta_json(en));
	}
	/* meta_new counted no tasks yet; the run did. */
	cJSON *w = cJSON_GetObjectItemCaseSensitive(meta, "workload");
	cJSON_ReplaceItemInObjectCaseSensitive(w, "selected", cJSON_CreateNumber((double)st.selected));
	if (skip && st.agg.elapsed_s) {
		/* Each repeat's elapsed time is the sum over the sessions that ran it. */
		const cJSON *el;
		int i = 0;
		cJSON_ArrayForEach(el, cJSON_GetObjectItemCaseSensitive(c->resume_meta, "elapsed_s"))
			if (i < o.repeats && cJSON_IsNumber(el))
				st.agg.elapsed_s[i++] += el->valuedouble;
	}
	meta_finish(meta, &o, &st, ej);
	if (rc && !st.interrupted)
		cJSON_ReplaceItemInObjectCaseSensitive(meta, "status", cJSON_CreateString("failed"));
	shard_meta_finish(meta, st.shard_units, st.selected * o.repeats,
			  (double)ap_wall_ns() * 1e-9 - (double)(ap_now_ns() - st.t0_ns) * 1e-9,
			  samples_zero);
	rc = managed_run_end(&ms, meta, rc);
	if (res) {
		int wr = results_write_meta(res, meta);
		/* Resumed: the report and summary count what is on disk, each task once. */
		if (!wr && skip) {
			cJSON *dm = NULL;
			run_agg_free(&st.agg);
			if ((wr = results_load(results_dir(res), &st.agg, &dm, &err)))
				ap_err("%s", err.msg);
			cJSON_Delete(dm);
		}
		if (!wr && st.agg.a) {
			struct profile_set cps;
			struct cost_ctx cc;
			char cerr[256];
			bool have_cost = !cost_ctx_from_meta(&cc, &cps, meta, cerr, sizeof(cerr));
			wr = results_write_summary(res, &st.agg, have_cost ? &cc : NULL);
			if (!wr)
				wr = results_write_report(res, meta, &st.agg);
		}
		if (wr)
			ap_err("writing %s failed: %s", results_dir(res), strerror(-wr));
		rc = rc ? rc : wr;
	}
	if (st.agg.a)
		report_print(stdout, meta, &st.agg);
	if (res)
		printf(" results in %s/\n\n", results_dir(res));
	fflush(stdout);
out:
	managed_stop(ms, true);
	cJSON_Delete(meta);
	resume_free(skip);
	run_state_free(&st);
	energy_close(en);
	results_close(res);
	return rc;
}

static int cmd_run(int argc, char **argv, bool record)
{
	struct cli c = { 0 };
	struct ap_error err = { { 0 } };
	int rc = parse_run_args(argc - 1, argv + 1, &c);
	if (rc)
		return 2;
	if (c.resume && (!record || resume_cli(&c))) {
		if (!record)
			ap_err("--resume works with 'record' only");
		resume_cli_free(&c);
		return 2;
	}
	if (c.resume) {
		/* meta.json keeps the original command line, not "record --resume". */
		argc = c.resume_argc;
		argv = c.resume_argv;
	}
	struct workload *wls[32] = { 0 };
	struct backend *bes[32] = { 0 };
	/* Everything is validated before anything runs. */
	for (int i = 0; i < c.n_workloads; i++) {
		if ((rc = workload_open(&wls[i], c.workloads[i], c.answers, &err))) {
			ap_err("%s", err.msg);
			rc = 2;
			goto out;
		}
		char corpus[4096];
		if (c.context && (pad_default_corpus(corpus, sizeof(corpus)) ||
				  workload_set_context(wls[i], corpus, c.context,
						       c.o.seed_set ? (uint64_t)c.o.seed : 0, &err))) {
			ap_err("--context: %s", err.msg[0] ? err.msg :
			       "no padding corpus (workloads/padding/corpus.json) found");
			rc = 2;
			goto out;
		}
		/* On the workload, where tasks are loaded: every runner sees it. */
		workload_set_policy_override(wls[i], &c.pov);
		if (wls[i]->n_unsatisfiable)
			ap_warn("%s: %zu of %zu tasks can never pass: an expected argument has an "
				"empty list of acceptable values (BFCL's checker fails them too)",
				wls[i]->path, wls[i]->n_unsatisfiable, wls[i]->n_tasks);
		/* A filter that selects nothing is a usage error, before any folder exists. */
		struct run_opts so = c.o;
		long n = 0;
		so.wl = wls[i];
		if ((rc = run_count_selected(&so, &n, &err)) || !n) {
			if (rc)
				ap_err("%s", err.msg);
			else
				ap_err("%s: no task matches%s%s%s%s%s", wls[i]->path,
				       c.o.filter ? " --tasks '" : "", c.o.filter ? c.o.filter : "",
				       c.o.filter ? "'" : "", c.o.category ? " --category " : "",
				       c.o.category ? c.o.category : "");
			rc = 2;
			goto out;
		}
	}
	if (c.resume) {
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(c.resume_meta, "workload");
		const char *was = cJSON_GetObjectItemCaseSensitive(w, "sha256")->valuestring;
		if (strcmp(was, wls[0]->sha256)) {
			ap_err("--resume: %s changed since the run (sha256 %.12s..., now %.12s...); "
			       "resuming would mix two workloads", wls[0]->path, was, wls[0]->sha256);
			rc = 2;
			goto out;
		}
	}
	for (int i = 0; i < c.n_backends; i++) {
		if ((rc = backend_parse(&bes[i], c.backends[i], &err))) {
			ap_err("%s", err.msg);
			rc = 2;
			goto out;
		}
		if (bes[i]->key_env && (!getenv(bes[i]->key_env) || !*getenv(bes[i]->key_env)) &&
		    strncmp(bes[i]->url, "http://127.", 11) && strncmp(bes[i]->url, "http://localhost", 16))
			ap_warn("backend %s: %s is not set; calls go without an API key", bes[i]->label,
				bes[i]->key_env);
		if (bes[i]->insecure)
			ap_warn("backend %s: TLS verification is OFF", bes[i]->label);
		struct profile_set ps;
		char perr[512];
		if (c.pc.ov.any && !c.pc.n_files) {
			ap_err("profile overrides (--pue ...) need a profile: add --profile FILE");
			rc = 2;
			goto out;
		}
		if (profile_cli_resolve(&c.pc, bes[i]->model, bes[i]->url, &ps, perr, sizeof(perr))) {
			ap_err("backend %s: %s", bes[i]->label, perr);
			rc = 2;
			goto out;
		}
	}
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (int b = 0; b < c.n_backends && !ap_interrupted; b++)
		for (int w = 0; w < c.n_workloads && !ap_interrupted; w++)
			if ((rc = run_one(argc, argv, &c, wls[w], bes[b], record)))
				rc = c.refused ? 2 : 1;
	if (ap_interrupted && !rc)
		rc = 130;
out:
	for (int i = 0; i < c.n_workloads; i++)
		workload_close(wls[i]);
	for (int i = 0; i < c.n_backends; i++)
		backend_free(bes[i]);
	resume_cli_free(&c);
	return rc;
}

/* report DIR [profile options]: compare.c, which recomputes the cost block. */
static int cmd_report(int argc, char **argv)
{
	return report_main(argc, argv);
}

static void list_workloads(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		printf("  (no %s/ folder here)\n", dir);
		return;
	}
	struct dirent *e;
	char path[4096];
	int n = 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 7 || strcmp(e->d_name + l - 6, ".jsonl"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct workload *wl = NULL;
		struct ap_error err = { { 0 } };
		if (workload_open(&wl, path, NULL, &err)) {
			printf("  %-36s INVALID: %s\n", path, err.msg);
			continue;
		}
		printf("  %-36s %-24s %6zu tasks  %s\n", path, wl->name ? wl->name : "?", wl->n_tasks,
		       workload_format_name(wl->format));
		workload_close(wl);
		n++;
	}
	closedir(d);
	if (!n)
		printf("  (no .jsonl workload in %s/)\n", dir);
}

static int cmd_list(int argc, char **argv)
{
	const char *wdir = argc > 1 ? argv[1] : "workloads";
	printf("backends:\n");
	for (size_t i = 0; backend_table[i]; i++) {
		const struct backend_ops *b = backend_table[i];
		const char *key = b->default_key_env;
		printf("  %-10s %s\n  %-10s default url %s%s", b->name, b->desc, "", b->default_url, b->path);
		if (key)
			printf(", key from $%s (%s)", key, getenv(key) && *getenv(key) ? "set" : "not set");
		else
			printf(", key from key_env=VAR if the server needs one");
		printf("\n");
	}
	printf("\nworkloads in %s/:\n", wdir);
	list_workloads(wdir);
	printf("\nenergy probes:\n");
	struct energy_opts eo = { 0 };
	energy_print_list(stdout, &eo);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "list"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(cmd, "stat"))
		return cmd_run(argc, argv, false);
	if (!strcmp(cmd, "record"))
		return cmd_run(argc, argv, true);
	if (!strcmp(cmd, "report"))
		return cmd_report(argc - 1, argv + 1);
	if (!strcmp(cmd, "sweep"))
		return sweep_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "diff"))
		return diff_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "table"))
		return table_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "proxy"))
		return proxy_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "merge"))
		return merge_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("agentperf %s\n", AGENTPERF_VERSION);
		return 0;
	}
	ap_err("unknown command '%s'", cmd);
	usage(stderr);
	return 2;
}
